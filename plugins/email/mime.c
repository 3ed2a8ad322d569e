#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "mime.h"

void dg__mbuf_add(dg__mbuf *b, const char *s, size_t n)
{
    if (b->oom)
        return;
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 1024;
        while (cap < b->len + n + 1)
            cap *= 2;
        char *p = realloc(b->p, cap);
        if (!p) {
            b->oom = 1;
            return;
        }
        b->p = p;
        b->cap = cap;
    }
    if (n)
        memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = '\0';
}

void dg__mbuf_str(dg__mbuf *b, const char *s)
{
    dg__mbuf_add(b, s, strlen(s));
}

void dg__mbuf_free(dg__mbuf *b)
{
    free(b->p);
    memset(b, 0, sizeof *b);
}

static const char HEX[] = "0123456789ABCDEF";

/* Length of the UTF-8 sequence starting with lead byte c (1 for invalid). */
static size_t u8len(unsigned char c)
{
    if (c >= 0xF0 && c < 0xF8)
        return 4;
    if (c >= 0xE0)
        return c < 0xF0 ? 3 : 1;
    if (c >= 0xC0)
        return 2;
    return 1;
}

static void qp_line(dg__mbuf *b, const unsigned char *s, size_t n)
{
    size_t col = 0, i = 0;
    while (i < n) {
        char tok[16];
        size_t tl = 0, k = 1;
        unsigned char c = s[i];
        int literal = c >= 33 && c <= 126 && c != '=';
        if (c == ' ' || c == '\t')
            literal = i + 1 < n; /* a blank ending the line is escaped */
        if (col == 0 && (c == '.' || (c == 'F' && n - i >= 5 && memcmp(s + i, "From ", 5) == 0)))
            literal = 0; /* SMTP dot and mbox "From " safety */
        if (literal)
            tok[tl++] = (char)c;
        else {
            if (c >= 0x80) {
                k = u8len(c);
                if (i + k > n)
                    k = 1;
                for (size_t j = 1; j < k; j++)
                    if ((s[i + j] & 0xC0) != 0x80)
                        k = 1;
            }
            for (size_t j = 0; j < k; j++) {
                tok[tl++] = '=';
                tok[tl++] = HEX[s[i + j] >> 4];
                tok[tl++] = HEX[s[i + j] & 15];
            }
        }
        /* The last token may fill the line to 76; others leave room for '='. */
        size_t limit = i + k == n ? 76 : 75;
        if (col + tl > limit) {
            dg__mbuf_add(b, "=\r\n", 3);
            col = 0;
            if (literal && c == '.') { /* re-check the leading dot */
                tl = 0;
                tok[tl++] = '=';
                tok[tl++] = '2';
                tok[tl++] = 'E';
            }
        }
        dg__mbuf_add(b, tok, tl);
        col += tl;
        i += k;
    }
}

void dg__mime_qp(dg__mbuf *b, const char *text)
{
    const char *p = text;
    while (*p) {
        size_t n = strcspn(p, "\r\n");
        qp_line(b, (const unsigned char *)p, n);
        p += n;
        if (*p == '\r' && p[1] == '\n')
            p += 2;
        else if (*p)
            p++;
        else
            break;
        dg__mbuf_add(b, "\r\n", 2);
    }
}

int dg__mime_is_ascii(const char *s)
{
    for (; *s; s++)
        if ((unsigned char)*s < 32 || (unsigned char)*s > 126)
            return 0;
    return 1;
}

static void b64(dg__mbuf *b, const unsigned char *in, size_t n)
{
    static const char A[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    for (size_t i = 0; i < n; i += 3) {
        unsigned v = (unsigned)in[i] << 16;
        char o[4];
        if (i + 1 < n)
            v |= (unsigned)in[i + 1] << 8;
        if (i + 2 < n)
            v |= in[i + 2];
        o[0] = A[(v >> 18) & 63];
        o[1] = A[(v >> 12) & 63];
        o[2] = i + 1 < n ? A[(v >> 6) & 63] : '=';
        o[3] = i + 2 < n ? A[v & 63] : '=';
        dg__mbuf_add(b, o, 4);
    }
}

/* Copy with CR, LF and other controls replaced by spaces (header safety). */
static char *clean(const char *s)
{
    char *c = strdup(s ? s : "");
    if (!c)
        return NULL;
    for (char *p = c; *p; p++)
        if ((unsigned char)*p < 32 || *p == 127)
            *p = ' ';
    return c;
}

/* Encoded-words of at most 39 input bytes (52 base64 characters), cut at
 * UTF-8 boundaries, joined by folding: "=?UTF-8?B?...?=\r\n =?UTF-8?B?...?=". */
static void encoded_words(dg__mbuf *b, const char *s)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t n = strlen(s), i = 0;
    int first = 1;
    while (i < n) {
        size_t take = 0;
        while (i + take < n) {
            size_t k = u8len(p[i + take]);
            if (take + k > 39)
                break;
            take += k;
        }
        if (take == 0)
            take = 1;
        if (i + take > n)
            take = n - i;
        if (!first)
            dg__mbuf_add(b, "\r\n ", 3);
        dg__mbuf_str(b, "=?UTF-8?B?");
        b64(b, p + i, take);
        dg__mbuf_str(b, "?=");
        first = 0;
        i += take;
    }
}

void dg__mime_header(dg__mbuf *b, const char *name, const char *value)
{
    char *v = clean(value);
    if (!v) {
        b->oom = 1;
        return;
    }
    dg__mbuf_str(b, name);
    dg__mbuf_str(b, ": ");
    if (!dg__mime_is_ascii(v) || strstr(v, "=?")) {
        encoded_words(b, v);
    } else {
        /* Fold at blanks so lines stay under 78 characters. */
        size_t col = strlen(name) + 2;
        char *p = v;
        int first = 1;
        while (*p) {
            size_t w = strcspn(p, " ");
            if (!first && col + 1 + w > 76) {
                dg__mbuf_add(b, "\r\n ", 3);
                col = 1;
            } else if (!first) {
                dg__mbuf_add(b, " ", 1);
                col++;
            }
            dg__mbuf_add(b, p, w);
            col += w;
            first = 0;
            p += w;
            while (*p == ' ')
                p++;
        }
    }
    dg__mbuf_add(b, "\r\n", 2);
    free(v);
}

void dg__mime_address(dg__mbuf *b, const char *name, const char *addr)
{
    char *n = name && *name ? clean(name) : NULL;
    if (n && !dg__mime_is_ascii(n)) {
        encoded_words(b, n);
        dg__mbuf_str(b, " ");
    } else if (n) {
        dg__mbuf_add(b, "\"", 1);
        for (const char *p = n; *p; p++) {
            if (*p == '"' || *p == '\\')
                dg__mbuf_add(b, "\\", 1);
            dg__mbuf_add(b, p, 1);
        }
        dg__mbuf_str(b, "\" ");
    }
    dg__mbuf_str(b, "<");
    dg__mbuf_str(b, addr);
    dg__mbuf_str(b, ">");
    free(n);
}

void dg__mime_date(int64_t ms, char *out, size_t cap)
{
    static const char *days[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
    static const char *mons[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                 "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
    time_t t = (time_t)(ms / 1000);
    struct tm tm;
    gmtime_r(&t, &tm);
    snprintf(out, cap, "%s, %02d %s %04d %02d:%02d:%02d +0000", days[tm.tm_wday], tm.tm_mday,
             mons[tm.tm_mon], tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec);
}

int dg__mime_addr_ok(const char *a)
{
    const char *at;
    if (!a || !*a || strlen(a) > 254)
        return 0;
    for (const char *p = a; *p; p++)
        if ((unsigned char)*p <= 32 || *p == 127 || strchr("<>()[],;:\"\\", *p))
            return 0;
    at = strrchr(a, '@');
    return at && at != a && at[1] && strchr(at + 1, '.') && strchr(a, '@') == at;
}

static void part(dg__mbuf *b, const char *boundary, const char *type, const char *content)
{
    dg__mbuf_str(b, "--");
    dg__mbuf_str(b, boundary);
    dg__mbuf_str(b, "\r\nContent-Type: ");
    dg__mbuf_str(b, type);
    dg__mbuf_str(b, "; charset=UTF-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n");
    dg__mime_qp(b, content);
    dg__mbuf_str(b, "\r\n");
}

int dg__mail_build(const dg__mail *m, dg__mbuf *b)
{
    char date[64];
    dg__mime_date(m->date_ms, date, sizeof date);
    dg__mbuf_str(b, "Date: ");
    dg__mbuf_str(b, date);
    dg__mbuf_str(b, "\r\nFrom: ");
    dg__mime_address(b, m->from_name, m->from_address);
    dg__mbuf_str(b, "\r\nTo: ");
    dg__mime_address(b, m->to_name, m->to_address);
    dg__mbuf_str(b, "\r\n");
    if (m->reply_to) {
        dg__mbuf_str(b, "Reply-To: ");
        dg__mime_address(b, NULL, m->reply_to);
        dg__mbuf_str(b, "\r\n");
    }
    dg__mime_header(b, "Subject", m->subject ? m->subject : "");
    dg__mbuf_str(b, "Message-ID: ");
    dg__mbuf_str(b, m->message_id);
    dg__mbuf_str(b, "\r\nMIME-Version: 1.0\r\n");
    if (m->unsubscribe_url) {
        dg__mbuf_str(b, "List-Unsubscribe: <");
        dg__mbuf_str(b, m->unsubscribe_url);
        dg__mbuf_str(b, ">\r\nList-Unsubscribe-Post: List-Unsubscribe=One-Click\r\n");
    }
    if (!m->html) {
        dg__mbuf_str(b, "Content-Type: text/plain; charset=UTF-8\r\n"
                        "Content-Transfer-Encoding: quoted-printable\r\n\r\n");
        dg__mime_qp(b, m->text);
        dg__mbuf_str(b, "\r\n");
    } else {
        dg__mbuf_str(b, "Content-Type: multipart/alternative;\r\n boundary=\"");
        dg__mbuf_str(b, m->boundary);
        dg__mbuf_str(b, "\"\r\n\r\nThis is a multi-part message in MIME format.\r\n\r\n");
        /* RFC 2046: the last alternative is the preferred one. */
        part(b, m->boundary, "text/plain", m->text);
        part(b, m->boundary, "text/html", m->html);
        dg__mbuf_str(b, "--");
        dg__mbuf_str(b, m->boundary);
        dg__mbuf_str(b, "--\r\n");
    }
    return b->oom ? -1 : 0;
}

/* ------------------------------------------------------ parsing replies */

/* "Name <a@b>" or "a@b" -> a@b (lowercased) in out. */
int dg__mail_extract_address(const char *from, char *out, size_t cap)
{
    const char *lt = from ? strrchr(from, '<') : NULL;
    size_t n;
    if (!from)
        return -1;
    if (lt) {
        const char *gt = strchr(lt, '>');
        if (!gt)
            return -1;
        from = lt + 1;
        n = (size_t)(gt - from);
    } else {
        while (isspace((unsigned char)*from))
            from++;
        n = strlen(from);
        while (n && isspace((unsigned char)from[n - 1]))
            n--;
    }
    if (n == 0 || n >= cap)
        return -1;
    memcpy(out, from, n);
    out[n] = '\0';
    for (char *p = out; *p; p++)
        *p = (char)tolower((unsigned char)*p);
    return dg__mime_addr_ok(out) ? 0 : -1;
}

/* First non-blank line of s (or s after "Re:" prefixes when subject) is a
 * single opt-out word. */
int dg__mail_is_optout(const char *s, int subject)
{
    static const char *const words[] = {"STOP",   "STOPALL", "UNSUBSCRIBE",
                                        "OPTOUT", "OPT-OUT", NULL};
    char w[32];
    size_t n;
    if (!s)
        return 0;
    while (isspace((unsigned char)*s))
        s++;
    while (subject && strncasecmp(s, "re:", 3) == 0) {
        s += 3;
        while (isspace((unsigned char)*s))
            s++;
    }
    n = strcspn(s, "\r\n");
    while (n && isspace((unsigned char)s[n - 1]))
        n--;
    if (n == 0 || n >= sizeof w)
        return 0;
    memcpy(w, s, n);
    w[n] = '\0';
    while (n && (w[n - 1] == '.' || w[n - 1] == '!'))
        w[--n] = '\0';
    for (int i = 0; words[i]; i++)
        if (strcasecmp(w, words[i]) == 0)
            return 1;
    return 0;
}
