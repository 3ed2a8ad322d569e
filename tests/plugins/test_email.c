/* The SMTP e-mail plugin against the fake host: MIME structure, QP and
 * RFC 2047 encodings, headers, one-click unsubscribe, SMTP reply classes,
 * the inbound reply webhook; the built message is also checked by Python's
 * `email` package (tests/integration/check_mail.py). */
#include "../unit/cm.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "crypto.h"
#include "fakehost.h"
#include "mime.h"

const dg_plugin_descriptor *email_LTX_dg_plugin_query(void);

#define SECRET "unsub-secret-for-tests-0123456789"
#define INSECRET "inbound-secret-0123456789"
#define PUB "https://dunning.example.test"
#define UNSUB_PATH "/webhooks/email/mail_main/unsubscribe"
#define INBOUND_PATH "/webhooks/email/mail_main/inbound"

static const char *SUBJECT = "Rappel : commande #1001, solde dû é 中文";
static const char *TEXT =
    "Bonjour José,\n\nIl reste 42,00 € à régler pour « Robe en lin (M, bleu) ». "
    "Ce paragraphe est volontairement très long pour forcer des retours à la ligne "
    "souples en quoted-printable : éééééééééééééééééééééééééééééé 中文中文中文中文中文 fin.\n"
    ".a line starting with a dot\nFrom the shop\ntrailing blank \nlast=line";
static const char *HTML = "<html><body><p>Bonjour José,</p><p>Il reste <b>42,00&nbsp;€</b> "
                          "à régler. <a href=\"https://shop.test/pay?o=1001&amp;k=x\">Payer</a>"
                          "</p><p>中文</p></body></html>";

typedef struct t {
    fh *h;
    const dg_plugin_descriptor *d;
    void *self;
} t;

static void up(t *x, const char *extra)
{
    char conf[1024], err[256] = "";
    snprintf(conf, sizeof conf,
             "{\"smtp_url\":\"smtp://mail.example.test:587\",\"username\":\"mailer\","
             "\"password\":\"smtp-pass-XYZ\",\"from_address\":\"billing@shop.example\","
             "\"from_name\":\"Boutique Éla\",\"reply_to\":\"help@shop.example\"%s%s}",
             extra ? "," : "", extra ? extra : "");
    x->d = email_LTX_dg_plugin_query();
    x->h = fh_new("mail_main", conf);
    assert_non_null(x->h);
    x->self = NULL;
    if (fh_create_start(x->h, x->d, &x->self, err, sizeof err) != 0)
        fail_msg("start: %s", err);
}

static void down(t *x)
{
    assert_int_equal(fh_stop_destroy(x->h, x->d, x->self, 0), 0);
    assert_int_equal(fh_double_completions(x->h), 0);
    assert_null(strstr(fh_log_text(x->h), "smtp-pass-XYZ"));
    assert_null(strstr(fh_log_text(x->h), SECRET));
    fh_free(x->h);
}

static dg_op send_mail(t *x, const char *to, const char *name, const char *subject,
                       const char *text, const char *html)
{
    dg_outbound_message m;
    dg_op op = fh_new_op(x->h);
    DG_INIT(&m);
    m.touch_id = 5;
    m.attempt = 1;
    m.to_email = to;
    m.to_name = name;
    m.subject = subject;
    m.text = text;
    m.html = html;
    assert_int_equal(x->d->channel->send(x->self, &m, op), DG_PENDING);
    return op;
}

/* Value of header `name` in a message (unfolded), into out. */
static int header(const char *msg, const char *name, char *out, size_t cap)
{
    size_t nl = strlen(name), o = 0;
    const char *end = strstr(msg, "\r\n\r\n");
    for (const char *p = msg; p && p < end; p = strstr(p, "\r\n") ? strstr(p, "\r\n") + 2 : NULL) {
        if (strncasecmp(p, name, nl) == 0 && p[nl] == ':') {
            p += nl + 1;
            while (*p == ' ')
                p++;
            for (;;) {
                size_t n = strcspn(p, "\r");
                if (o + n + 1 > cap)
                    return -1;
                memcpy(out + o, p, n);
                o += n;
                p += n + 2;
                if (*p != ' ' && *p != '\t')
                    break;
                while (*p == ' ' || *p == '\t')
                    p++;
            }
            out[o] = '\0';
            return 0;
        }
    }
    return -1;
}

/* Decode a header value made of =?UTF-8?B?..?= words. */
static void decode_words(const char *v, char *out, size_t cap)
{
    size_t o = 0;
    while ((v = strstr(v, "=?UTF-8?B?")) != NULL) {
        v += 10;
        const char *e = strstr(v, "?=");
        assert_non_null(e);
        assert_true(e - v + 12 <= 75);
        int n = dg_base64_decode(v, (size_t)(e - v), (unsigned char *)out + o, cap - o - 1);
        assert_true(n > 0);
        o += (size_t)n;
        v = e + 2;
    }
    out[o] = '\0';
}

static int qp_value(int c)
{
    return c >= '0' && c <= '9' ? c - '0' : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
}

/* Quoted-printable decoder (CRLF -> LF), for round trips. */
static char *qp_decode(const char *s, size_t n)
{
    char *out = malloc(n + 1);
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '=' && i + 2 < n + 1 && s[i + 1] == '\r' && s[i + 2] == '\n')
            i += 2;
        else if (s[i] == '=') {
            assert_true(qp_value(s[i + 1]) >= 0 && qp_value(s[i + 2]) >= 0);
            out[o++] = (char)(qp_value(s[i + 1]) * 16 + qp_value(s[i + 2]));
            i += 2;
        } else if (s[i] == '\r' && s[i + 1] == '\n') {
            out[o++] = '\n';
            i++;
        } else
            out[o++] = s[i];
    }
    out[o] = '\0';
    return out;
}

static void assert_lines_max(const char *s, size_t n, size_t max)
{
    size_t col = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '\r') {
            assert_true(i + 1 < n && s[i + 1] == '\n');
            col = 0;
            i++;
            continue;
        }
        assert_true(s[i] != '\n'); /* no bare LF */
        if (++col > max)
            fail_msg("line longer than %zu near '%.30s'", max, s + i - col + 1);
    }
}

/* -------------------------------------------------------- mime encoders */

static void test_qp_encoding(void **state)
{
    (void)state;
    struct {
        const char *in, *out;
    } cs[] = {
        {"a=b", "a=3Db"},
        {"trailing space ", "trailing space=20"},
        {"tab\t\nx", "tab=09\r\nx"},
        {"é", "=C3=A9"},
        {"中", "=E4=B8=AD"},
        {".dot\n.dot", "=2Edot\r\n=2Edot"},
        {"From me", "=46rom me"},
        {"crlf\r\nlf\n", "crlf\r\nlf\r\n"},
        {"ctl\x01", "ctl=01"},
    };
    for (size_t i = 0; i < sizeof cs / sizeof cs[0]; i++) {
        dg__mbuf b = {0};
        dg__mime_qp(&b, cs[i].in);
        assert_string_equal(b.p ? b.p : "", cs[i].out);
        dg__mbuf_free(&b);
    }
    /* Soft breaks at 76 characters, exactly. */
    char in[301];
    memset(in, 'a', 300);
    in[300] = '\0';
    dg__mbuf b = {0};
    dg__mime_qp(&b, in);
    assert_int_equal(strncmp(b.p + 75, "=\r\n", 3), 0);
    assert_lines_max(b.p, b.len, 76);
    char *back = qp_decode(b.p, b.len);
    assert_string_equal(back, in);
    free(back);
    dg__mbuf_free(&b);
    /* 76 characters fit on one line without a soft break. */
    in[76] = '\0';
    dg__mime_qp(&b, in);
    assert_string_equal(b.p, in);
    dg__mbuf_free(&b);
    /* A UTF-8 sequence is never cut by a soft break. */
    memset(in, 'a', 74);
    strcpy(in + 74, "é");
    dg__mime_qp(&b, in);
    assert_non_null(strstr(b.p, "a=\r\n=C3=A9"));
    dg__mbuf_free(&b);
    /* Long UTF-8 text round-trips, every line within 76. */
    dg__mime_qp(&b, TEXT);
    assert_lines_max(b.p, b.len, 76);
    back = qp_decode(b.p, b.len);
    assert_string_equal(back, TEXT);
    free(back);
    for (const char *p = b.p; (p = strstr(p, "=\r\n")) != NULL; p += 3) {
        /* After a soft break, never a continuation byte. */
        assert_false(p[3] == '=' && p[4] == '8');
        assert_false(p[3] == '=' && (p[4] == '9' || p[4] == 'A' || p[4] == 'B'));
    }
    dg__mbuf_free(&b);
}

static void test_rfc2047_headers(void **state)
{
    (void)state;
    dg__mbuf b = {0};
    char dec[512];
    dg__mime_header(&b, "Subject", "é 中文");
    assert_string_equal(b.p, "Subject: =?UTF-8?B?w6kg5Lit5paH?=\r\n");
    dg__mbuf_free(&b);
    dg__mime_header(&b, "Subject", "plain ascii subject");
    assert_string_equal(b.p, "Subject: plain ascii subject\r\n");
    dg__mbuf_free(&b);
    /* Header injection: CR/LF become blanks. */
    dg__mime_header(&b, "Subject", "hi\r\nBcc: victim@example.com");
    assert_string_equal(b.p, "Subject: hi Bcc: victim@example.com\r\n");
    dg__mbuf_free(&b);
    /* Long: several encoded-words, folded, each <= 75, lines <= 78. */
    const char *longs =
        "Votre commande « Robe en lin » : il reste un solde à régler 中文中文中文中文";
    dg__mime_header(&b, "Subject", longs);
    assert_lines_max(b.p, b.len, 78);
    decode_words(b.p, dec, sizeof dec);
    assert_string_equal(dec, longs);
    dg__mbuf_free(&b);
    /* Long ASCII folds at blanks. */
    const char *la = "A reminder about your order number 1001 and the balance that is still "
                     "open on it, with a link to pay";
    dg__mime_header(&b, "Subject", la);
    assert_lines_max(b.p, b.len, 78);
    assert_non_null(strstr(b.p, "\r\n "));
    dg__mbuf_free(&b);
    /* Addresses. */
    dg__mime_address(&b, "Ana \"Q\" Silva", "ana@x.test");
    assert_string_equal(b.p, "\"Ana \\\"Q\\\" Silva\" <ana@x.test>");
    dg__mbuf_free(&b);
    dg__mime_address(&b, "José", "j@x.test");
    assert_string_equal(b.p, "=?UTF-8?B?Sm9zw6k=?= <j@x.test>");
    dg__mbuf_free(&b);
    char d[64];
    dg__mime_date(1772442000000LL, d, sizeof d); /* 2026-03-02T09:00:00Z */
    assert_string_equal(d, "Mon, 02 Mar 2026 09:00:00 +0000");
    assert_true(dg__mime_addr_ok("a.b+c@d.example"));
    assert_false(dg__mime_addr_ok("a@b"));
    assert_false(dg__mime_addr_ok("a b@c.d"));
    assert_false(dg__mime_addr_ok("a@c.d>\r\nBcc:x"));
    assert_false(dg__mime_addr_ok("a@b@c.d"));
}

/* --------------------------------------------------------------- sending */

static void test_message_structure(void **state)
{
    (void)state;
    t x;
    char v[1024], dec[512], boundary[128], delim[140];
    up(&x, "\"unsubscribe_secret\":\"" SECRET "\"");
    dg_op op = send_mail(&x, "Jose.Silva@Example.com", "José 中文", SUBJECT, TEXT, HTML);
    assert_int_equal(fh_n_outbound(x.h), 1);
    fh_outbound *o = fh_outbound_at(x.h, 0);
    assert_true(o->smtp);
    assert_string_equal(o->url, "smtp://mail.example.test:587");
    assert_string_equal(o->mail_from, "billing@shop.example");
    assert_string_equal(o->basic_user, "mailer");
    assert_string_equal(o->basic_password, "smtp-pass-XYZ");
    assert_int_equal(cJSON_GetArraySize(o->rcpt), 1);
    assert_string_equal(cJSON_GetArrayItem(o->rcpt, 0)->valuestring, "Jose.Silva@Example.com");
    const char *m = o->body;
    assert_lines_max(m, o->body_len, 998);
    /* Headers. */
    assert_int_equal(header(m, "Date", v, sizeof v), 0);
    assert_string_equal(v, "Mon, 02 Mar 2026 09:00:00 +0000");
    assert_int_equal(header(m, "MIME-Version", v, sizeof v), 0);
    assert_string_equal(v, "1.0");
    assert_int_equal(header(m, "Subject", v, sizeof v), 0);
    decode_words(v, dec, sizeof dec);
    assert_string_equal(dec, SUBJECT);
    assert_int_equal(header(m, "From", v, sizeof v), 0);
    assert_non_null(strstr(v, "<billing@shop.example>"));
    decode_words(v, dec, sizeof dec);
    assert_string_equal(dec, "Boutique Éla");
    assert_int_equal(header(m, "To", v, sizeof v), 0);
    assert_non_null(strstr(v, "<Jose.Silva@Example.com>"));
    decode_words(v, dec, sizeof dec);
    assert_string_equal(dec, "José 中文");
    assert_int_equal(header(m, "Reply-To", v, sizeof v), 0);
    assert_string_equal(v, "<help@shop.example>");
    assert_int_equal(header(m, "List-Unsubscribe-Post", v, sizeof v), 0);
    assert_string_equal(v, "List-Unsubscribe=One-Click");
    assert_int_equal(header(m, "List-Unsubscribe", v, sizeof v), 0);
    assert_int_equal(strncmp(v, "<" PUB UNSUB_PATH "?t=", strlen(PUB UNSUB_PATH) + 4), 0);
    char msgid[256];
    assert_int_equal(header(m, "Message-ID", msgid, sizeof msgid), 0);
    assert_true(msgid[0] == '<' && strstr(msgid, "@shop.example>"));
    /* Structure: one multipart/alternative, text/plain first, HTML last. */
    assert_int_equal(header(m, "Content-Type", v, sizeof v), 0);
    assert_int_equal(sscanf(v, "multipart/alternative; boundary=\"%127[^\"]\"", boundary), 1);
    snprintf(delim, sizeof delim, "\r\n--%s\r\n", boundary);
    const char *p1 = strstr(m, delim), *p2 = p1 ? strstr(p1 + 1, delim) : NULL;
    assert_non_null(p1);
    assert_non_null(p2);
    assert_null(strstr(p2 + 1, delim));
    snprintf(delim, sizeof delim, "\r\n--%s--\r\n", boundary);
    const char *pend = strstr(m, delim);
    assert_non_null(pend);
    assert_true(pend > p2);
    assert_int_equal(strcmp(pend + strlen(delim), ""), 0);
    const char *tp = strstr(p1, "Content-Type: text/plain; charset=UTF-8\r\n"
                                "Content-Transfer-Encoding: quoted-printable\r\n\r\n");
    const char *hp = strstr(p2, "Content-Type: text/html; charset=UTF-8\r\n"
                                "Content-Transfer-Encoding: quoted-printable\r\n\r\n");
    assert_true(tp && tp < p2);
    assert_non_null(hp);
    /* Both parts decode back to what was sent; QP lines within 76. */
    const char *tb = strstr(tp, "\r\n\r\n") + 4, *hb = strstr(hp, "\r\n\r\n") + 4;
    assert_lines_max(tb, (size_t)(p2 - tb), 76);
    assert_lines_max(hb, (size_t)(pend - hb), 76);
    char *td = qp_decode(tb, (size_t)(p2 - tb)), *hd = qp_decode(hb, (size_t)(pend - hb));
    assert_string_equal(td, TEXT);
    assert_string_equal(hd, HTML);
    free(td);
    free(hd);
    /* 250: done, the Message-ID is the provider id. */
    assert_null(fh_completion_for(x.h, op));
    fh_reply(x.h, 0, 250, NULL, NULL, DG_HTTP_OK, -1);
    const fh_completion *c = fh_completion_for(x.h, op);
    assert_int_equal(c->status, DG_OK);
    assert_string_equal(c->provider_id, msgid);
    /* A second message gets another Message-ID and boundary. */
    send_mail(&x, "b@example.com", NULL, "ascii", "plain text only", NULL);
    o = fh_outbound_at(x.h, 1);
    assert_int_equal(header(o->body, "Message-ID", v, sizeof v), 0);
    assert_string_not_equal(v, msgid);
    assert_int_equal(header(o->body, "Content-Type", v, sizeof v), 0);
    assert_string_equal(v, "text/plain; charset=UTF-8");
    assert_int_equal(header(o->body, "To", v, sizeof v), 0);
    assert_string_equal(v, "<b@example.com>");
    fh_reply(x.h, 1, 250, NULL, NULL, DG_HTTP_OK, -1);
    down(&x);
}

static void test_smtp_reply_classes(void **state)
{
    (void)state;
    struct {
        int code;
        dg_transport_error te;
        dg_error_class want;
    } cs[] = {
        {421, DG_HTTP_OK, DG_ERRC_RETRYABLE},     {450, DG_HTTP_OK, DG_ERRC_RETRYABLE},
        {451, DG_HTTP_OK, DG_ERRC_RETRYABLE},     {452, DG_HTTP_OK, DG_ERRC_RETRYABLE},
        {550, DG_HTTP_OK, DG_ERRC_PERMANENT},     {551, DG_HTTP_OK, DG_ERRC_PERMANENT},
        {553, DG_HTTP_OK, DG_ERRC_PERMANENT},     {554, DG_HTTP_OK, DG_ERRC_PERMANENT},
        {552, DG_HTTP_OK, DG_ERRC_PERMANENT},     {535, DG_HTTP_OK, DG_ERRC_STOP_SENDER},
        {530, DG_HTTP_OK, DG_ERRC_STOP_SENDER},   {0, DG_HTTP_ECONNECT, DG_ERRC_RETRYABLE},
        {0, DG_HTTP_ETIMEOUT, DG_ERRC_RETRYABLE}, {0, DG_HTTP_ETLS, DG_ERRC_RETRYABLE},
        {0, DG_HTTP_EDNS, DG_ERRC_RETRYABLE},
    };
    t x;
    up(&x, "\"tempfail_retry_ms\":60000");
    for (size_t i = 0; i < sizeof cs / sizeof cs[0]; i++) {
        dg_op op = send_mail(&x, "a@example.com", NULL, "s", "t", "<p>t</p>");
        fh_reply(x.h, fh_n_outbound(x.h) - 1, cs[i].code, NULL, NULL, cs[i].te, -1);
        const fh_completion *c = fh_completion_for(x.h, op);
        assert_non_null(c);
        assert_true(c->status < 0);
        if (c->error_class != cs[i].want)
            fail_msg("reply %d/%d: class %d want %d", cs[i].code, cs[i].te, c->error_class,
                     cs[i].want);
        if (cs[i].want == DG_ERRC_RETRYABLE)
            assert_int_equal(c->retry_after_ms, 60000);
        if (cs[i].code) {
            char code[8];
            snprintf(code, sizeof code, "%d", cs[i].code);
            assert_string_equal(c->error_code, code);
        }
    }
    /* Unusable input never reaches SMTP. */
    size_t n = fh_n_outbound(x.h);
    dg_op op = send_mail(&x, "not-an-address", NULL, "s", "t", NULL);
    assert_int_equal(fh_completion_for(x.h, op)->error_class, DG_ERRC_PERMANENT);
    op = send_mail(&x, "a@example.com>\r\nRCPT TO:<b@c.d", NULL, "s", "t", NULL);
    assert_int_equal(fh_completion_for(x.h, op)->error_class, DG_ERRC_PERMANENT);
    op = send_mail(&x, "a@example.com", NULL, "s", "", NULL);
    assert_int_equal(fh_completion_for(x.h, op)->error_class, DG_ERRC_CONFIG);
    assert_int_equal(fh_n_outbound(x.h), n);
    down(&x);
}

static void test_config(void **state)
{
    (void)state;
    const dg_plugin_descriptor *d = email_LTX_dg_plugin_query();
    const char *bad[] = {
        "{\"smtp_url\":\"http://x\",\"from_address\":\"a@b.c\"}",
        "{\"smtp_url\":\"smtp://x:25\",\"from_address\":\"not an address\"}",
        "{\"smtp_url\":\"smtp://x:25\",\"from_address\":\"a@b.c\",\"inbound_enabled\":true}",
        "{\"smtp_url\":\"smtp://x:25\",\"from_address\":\"a@b.c\",\"reply_to\":\"<x>\"}", NULL};
    for (int i = 0; bad[i]; i++) {
        fh *h = fh_new("mail_main", bad[i]);
        void *self = NULL;
        char err[256] = "";
        assert_int_equal(fh_create_start(h, d, &self, err, sizeof err), DG_ECONFIG);
        assert_true(strlen(err) > 0);
        d->channel->destroy(self);
        fh_free(h);
    }
    /* Plain SMTP without TLS is allowed but warned about; the generated
     * unsubscribe key is kept in state; without inbound no inbound route. */
    t x;
    up(&x, "\"require_tls\":false,\"list_unsubscribe\":false");
    assert_int_equal(fh_log_count(x.h, DG_LOG_WARN, "email_plaintext_smtp"), 1);
    const char *s = fh_state_get(x.h, "unsubscribe_secret");
    assert_non_null(s);
    assert_int_equal(strlen(s), 64);
    assert_int_equal(fh_n_routes(x.h), 2);
    send_mail(&x, "a@example.com", NULL, "s", "t", NULL);
    assert_null(strstr(fh_outbound_at(x.h, 0)->body, "List-Unsubscribe"));
    fh_reply(x.h, 0, 250, NULL, NULL, DG_HTTP_OK, -1);
    down(&x);
}

/* ----------------------------------------------------------- unsubscribe */

static void token_of(t *x, size_t i, char *tok, size_t cap)
{
    char v[1024];
    assert_int_equal(header(fh_outbound_at(x->h, i)->body, "List-Unsubscribe", v, sizeof v), 0);
    const char *q = strstr(v, "?t=");
    assert_non_null(q);
    snprintf(tok, cap, "%.*s", (int)strcspn(q + 3, ">"), q + 3);
}

static void test_unsubscribe(void **state)
{
    (void)state;
    t x;
    fh_response r;
    char tok[700], query[720], forged[720];
    up(&x, "\"unsubscribe_secret\":\"" SECRET "\"");
    send_mail(&x, "Ana@Example.com", "Ana", "s", "t", "<p>t</p>");
    send_mail(&x, "bob@example.com", "Bob", "s", "t", "<p>t</p>");
    token_of(&x, 0, tok, sizeof tok);
    snprintf(query, sizeof query, "t=%s", tok);
    /* GET: a confirmation page, nothing changes. */
    assert_int_equal(fh_request(x.h, "GET", UNSUB_PATH, query, NULL, "", 0, &r), 0);
    assert_int_equal(r.status, 200);
    assert_non_null(strstr(r.content_type, "text/html"));
    assert_non_null(strstr(r.body, "ana@example.com"));
    assert_non_null(strstr(r.body, "<form method=\"post\""));
    assert_int_equal(fh_n_events(x.h), 0);
    /* Forged: Bob's address with Ana's MAC; a MAC from another key; junk. */
    char bobtok[700];
    token_of(&x, 1, bobtok, sizeof bobtok);
    snprintf(forged, sizeof forged, "t=%.*s%s", (int)(strchr(bobtok, '.') - bobtok), bobtok,
             strchr(tok, '.'));
    const char *bad[] = {
        forged, "t=616e61406578616d706c652e636f6d.00000000000000000000000000000000",
        "t=zz", "t=",
        "",     "x=1",
        NULL};
    for (int i = 0; bad[i]; i++) {
        assert_int_equal(
            fh_request(x.h, "POST", UNSUB_PATH, bad[i], NULL, "List-Unsubscribe=One-Click", 26, &r),
            0);
        assert_int_equal(r.status, 403);
        assert_int_equal(fh_request(x.h, "GET", UNSUB_PATH, bad[i], NULL, "", 0, &r), 0);
        assert_int_equal(r.status, 403);
    }
    assert_int_equal(fh_n_events(x.h), 0);
    /* RFC 8058 one-click POST. */
    const char *hdr[] = {"Content-Type", "application/x-www-form-urlencoded", NULL};
    assert_int_equal(
        fh_request(x.h, "POST", UNSUB_PATH, query, hdr, "List-Unsubscribe=One-Click", 26, &r), 0);
    assert_int_equal(r.status, 200);
    assert_int_equal(fh_n_events(x.h), 1);
    const cJSON *e = fh_event(x.h, 0);
    assert_int_equal(cJSON_GetObjectItem(e, "kind")->valueint, DG_CHEV_OPTED_OUT);
    assert_string_equal(cJSON_GetObjectItem(e, "address")->valuestring, "ana@example.com");
    assert_string_equal(cJSON_GetObjectItem(e, "dedupe_key")->valuestring,
                        "unsubscribe:ana@example.com");
    /* The token may also come in the body (the confirmation page's form). */
    char body[720];
    snprintf(body, sizeof body, "t=%s", bobtok);
    assert_int_equal(fh_request(x.h, "POST", UNSUB_PATH, "", hdr, body, strlen(body), &r), 0);
    assert_int_equal(r.status, 200);
    assert_string_equal(cJSON_GetObjectItem(fh_event(x.h, 1), "address")->valuestring,
                        "bob@example.com");
    /* Twice is fine (the core deduplicates). */
    fh_set_emit_result(x.h, DG_EEXIST);
    assert_int_equal(
        fh_request(x.h, "POST", UNSUB_PATH, query, hdr, "List-Unsubscribe=One-Click", 26, &r), 0);
    assert_int_equal(r.status, 200);
    fh_set_emit_result(x.h, DG_EIO);
    assert_int_equal(
        fh_request(x.h, "POST", UNSUB_PATH, query, hdr, "List-Unsubscribe=One-Click", 26, &r), 0);
    assert_int_equal(r.status, 500);
    fh_set_emit_result(x.h, DG_OK);
    fh_reply(x.h, 0, 250, NULL, NULL, DG_HTTP_OK, -1);
    fh_reply(x.h, 1, 250, NULL, NULL, DG_HTTP_OK, -1);
    assert_null(strstr(fh_log_text(x.h), "ana@example.com"));
    down(&x);

    /* Another instance with another key refuses the token. */
    up(&x, "\"unsubscribe_secret\":\"another-secret-entirely-000000000\"");
    assert_int_equal(
        fh_request(x.h, "POST", UNSUB_PATH, query, hdr, "List-Unsubscribe=One-Click", 26, &r), 0);
    assert_int_equal(r.status, 403);
    down(&x);
}

/* --------------------------------------------------------------- inbound */

static void test_inbound_webhook(void **state)
{
    (void)state;
    t x;
    fh_response r;
    up(&x, "\"inbound_enabled\":true,\"inbound_secret\":\"" INSECRET "\"");
    assert_int_equal(fh_n_routes(x.h), 3);
    const char *ok[] = {"X-Duegate-Secret", INSECRET, "Content-Type", "application/json", NULL};
    const char *bearer[] = {"Authorization", "Bearer " INSECRET, NULL};
    const char *wrong[] = {"X-Duegate-Secret", "nope", NULL};
    const char *j1 = "{\"from\":\"Ana Silva <ANA@Example.com>\",\"subject\":\"Re: your order\","
                     "\"text\":\"Can I pay on Friday?\\n> quoted\",\"message_id\":\"<m1@x>\"}";
    assert_int_equal(fh_request(x.h, "POST", INBOUND_PATH, "", wrong, j1, strlen(j1), &r), 0);
    assert_int_equal(r.status, 403);
    assert_int_equal(fh_request(x.h, "POST", INBOUND_PATH, "", NULL, j1, strlen(j1), &r), 0);
    assert_int_equal(r.status, 401);
    assert_int_equal(fh_n_events(x.h), 0);
    assert_int_equal(fh_request(x.h, "POST", INBOUND_PATH, "", ok, j1, strlen(j1), &r), 0);
    assert_int_equal(r.status, 200);
    const cJSON *e = fh_event(x.h, 0);
    assert_int_equal(cJSON_GetObjectItem(e, "kind")->valueint, DG_CHEV_REPLIED);
    assert_string_equal(cJSON_GetObjectItem(e, "address")->valuestring, "ana@example.com");
    assert_string_equal(cJSON_GetObjectItem(e, "text")->valuestring,
                        "Can I pay on Friday?\n> quoted");
    assert_string_equal(cJSON_GetObjectItem(e, "dedupe_key")->valuestring, "<m1@x>:inbound");
    const char *j2 = "{\"from\":\"bob@example.com\",\"subject\":\"x\",\"text\":\"  Unsubscribe.\\n"
                     "\\nOn Monday you wrote:\"}";
    assert_int_equal(fh_request(x.h, "POST", INBOUND_PATH, "", bearer, j2, strlen(j2), &r), 0);
    assert_int_equal(r.status, 200);
    assert_int_equal(cJSON_GetObjectItem(fh_event(x.h, 1), "kind")->valueint, DG_CHEV_OPTED_OUT);
    const char *j3 = "{\"from\":\"bob@example.com\",\"subject\":\"Re: STOP\",\"text\":\"\"}";
    fh_request(x.h, "POST", INBOUND_PATH, "", ok, j3, strlen(j3), &r);
    assert_int_equal(cJSON_GetObjectItem(fh_event(x.h, 2), "kind")->valueint, DG_CHEV_OPTED_OUT);
    const char *j4 = "{\"from\":\"bob@example.com\",\"text\":\"please stop by the shop\"}";
    fh_request(x.h, "POST", INBOUND_PATH, "", ok, j4, strlen(j4), &r);
    assert_int_equal(cJSON_GetObjectItem(fh_event(x.h, 3), "kind")->valueint, DG_CHEV_REPLIED);
    /* A provider posting a form (Mailgun-style field names). */
    const char *form[] = {"X-Duegate-Secret", INSECRET, "Content-Type",
                          "application/x-www-form-urlencoded", NULL};
    const char *f1 = "sender=carla%40example.com&subject=Re%3A+order&body-plain=Thanks%2C+paid";
    fh_request(x.h, "POST", INBOUND_PATH, "", form, f1, strlen(f1), &r);
    assert_int_equal(r.status, 200);
    e = fh_event(x.h, 4);
    assert_string_equal(cJSON_GetObjectItem(e, "address")->valuestring, "carla@example.com");
    assert_string_equal(cJSON_GetObjectItem(e, "text")->valuestring, "Thanks, paid");
    /* No usable sender. */
    const char *j5 = "{\"from\":\"nobody\",\"text\":\"x\"}";
    fh_request(x.h, "POST", INBOUND_PATH, "", ok, j5, strlen(j5), &r);
    assert_int_equal(r.status, 400);
    assert_int_equal(fh_n_events(x.h), 5);
    assert_null(strstr(fh_log_text(x.h), INSECRET));
    down(&x);
}

/* --------------------------------------------- Python's email package */

static int write_file(const char *path, const char *data, size_t n)
{
    FILE *f = fopen(path, "wb");
    if (!f)
        return -1;
    size_t w = fwrite(data, 1, n, f);
    fclose(f);
    return w == n ? 0 : -1;
}

static int run_checker(const char *dir, const char *extra)
{
    const char *src = getenv("DG_TOP_SRCDIR");
    const char *py = getenv("DG_PYTHON3");
    char cmd[4096];
    snprintf(cmd, sizeof cmd,
             "%s '%s/tests/integration/check_mail.py' '%s/m.eml' --text-file '%s/t.txt' "
             "--html-file '%s/h.html' %s",
             py && *py ? py : "python3", src, dir, dir, dir, extra);
    int st = system(cmd);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static void test_python_email_package_accepts_it(void **state)
{
    (void)state;
    const char *src = getenv("DG_TOP_SRCDIR");
    char dir[] = "/tmp/dg_mail_XXXXXX", path[256], extra[2048], msgid[256];
    t x;
    if (!src) {
        skip();
        return;
    }
    assert_non_null(mkdtemp(dir));
    up(&x, "\"unsubscribe_secret\":\"" SECRET "\"");
    send_mail(&x, "jose@example.com", "José 中文", SUBJECT, TEXT, HTML);
    fh_outbound *o = fh_outbound_at(x.h, 0);
    assert_int_equal(header(o->body, "Message-ID", msgid, sizeof msgid), 0);
    snprintf(path, sizeof path, "%s/m.eml", dir);
    assert_int_equal(write_file(path, o->body, o->body_len), 0);
    snprintf(path, sizeof path, "%s/t.txt", dir);
    assert_int_equal(write_file(path, TEXT, strlen(TEXT)), 0);
    snprintf(path, sizeof path, "%s/h.html", dir);
    assert_int_equal(write_file(path, HTML, strlen(HTML)), 0);
    snprintf(extra, sizeof extra,
             "--subject '%s' --from billing@shop.example --from-name 'Boutique Éla' "
             "--to jose@example.com --to-name 'José 中文' --reply-to help@shop.example "
             "--unsubscribe-prefix '" PUB UNSUB_PATH "?t=' --message-id '%s'",
             SUBJECT, msgid);
    assert_int_equal(run_checker(dir, extra), 0);
    /* The checker is not blind: LF line ends and a wrong subject fail. */
    char *lf = malloc(o->body_len + 1);
    size_t n = 0;
    for (size_t i = 0; i < o->body_len; i++)
        if (o->body[i] != '\r')
            lf[n++] = o->body[i];
    snprintf(path, sizeof path, "%s/m.eml", dir);
    assert_int_equal(write_file(path, lf, n), 0);
    free(lf);
    assert_int_not_equal(run_checker(dir, ""), 0);
    assert_int_equal(write_file(path, o->body, o->body_len), 0);
    assert_int_not_equal(run_checker(dir, "--subject 'something else'"), 0);
    assert_int_equal(run_checker(dir, ""), 0);
    fh_reply(x.h, 0, 250, NULL, NULL, DG_HTTP_OK, -1);
    down(&x);
    const char *files[] = {"m.eml", "t.txt", "h.html"};
    for (int i = 0; i < 3; i++) {
        snprintf(path, sizeof path, "%s/%s", dir, files[i]);
        unlink(path);
    }
    rmdir(dir);
}

/* A real SMTP server (aiosmtpd through tests/integration/smtp_sink.py)
 * receives the plugin's message, sent here by Python's smtplib as a
 * stand-in for the core's SMTP client (not built yet); the stored copy must
 * still pass check_mail.py. Skipped when no Python has aiosmtpd. */
static const char *python_with_aiosmtpd(void)
{
    static char found[512];
    const char *cands[] = {getenv("DG_PYTHON3"), "/usr/bin/python3", "python3", NULL};
    for (int i = 0; i < 3; i++) {
        char cmd[600];
        if (!cands[i] || !*cands[i])
            continue;
        snprintf(cmd, sizeof cmd, "%s -c 'import aiosmtpd' >/dev/null 2>&1", cands[i]);
        if (system(cmd) == 0) {
            snprintf(found, sizeof found, "%s", cands[i]);
            return found;
        }
    }
    return NULL;
}

static void test_message_through_aiosmtpd(void **state)
{
    (void)state;
    const char *src = getenv("DG_TOP_SRCDIR"), *py = python_with_aiosmtpd();
    char dir[] = "/tmp/dg_sink_XXXXXX", path[512], sink[512], cmd[4096], line[64];
    int in[2], out[2], port = 0;
    if (!src || !py) {
        skip();
        return;
    }
    assert_non_null(mkdtemp(dir));
    snprintf(sink, sizeof sink, "%s/tests/integration/smtp_sink.py", src);
    snprintf(path, sizeof path, "%s/out", dir);
    assert_int_equal(pipe(in), 0);
    assert_int_equal(pipe(out), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        dup2(in[0], 0);
        dup2(out[1], 1);
        close(in[1]);
        close(out[0]);
        execlp(py, py, sink, "--dir", path, "--port", "0", (char *)NULL);
        _exit(127);
    }
    close(in[0]);
    close(out[1]);
    FILE *po = fdopen(out[0], "r");
    assert_non_null(po);
    /* The sink prints its port once it listens. */
    assert_non_null(fgets(line, sizeof line, po));
    assert_int_equal(sscanf(line, "PORT %d", &port), 1);

    t x;
    up(&x, "\"unsubscribe_secret\":\"" SECRET "\"");
    send_mail(&x, "jose@example.com", "José 中文", SUBJECT, TEXT, HTML);
    fh_outbound *o = fh_outbound_at(x.h, 0);
    char sent[512];
    snprintf(sent, sizeof sent, "%s/sent.eml", dir);
    assert_int_equal(write_file(sent, o->body, o->body_len), 0);
    snprintf(cmd, sizeof cmd,
             "%s -c 'import smtplib,sys; s=smtplib.SMTP(\"127.0.0.1\",%d); "
             "s.sendmail(sys.argv[1], [sys.argv[2]], open(sys.argv[3],\"rb\").read()); s.quit()' "
             "'%s' jose@example.com '%s'",
             py, port, o->mail_from, sent);
    assert_int_equal(system(cmd), 0);
    /* smtplib returns after the 250, which the sink sends once the file is complete. */
    char got[512], want_text[512], want_html[512];
    snprintf(got, sizeof got, "%s/out/0001.eml", dir);
    FILE *g = fopen(got, "rb");
    assert_non_null(g);
    fclose(g);
    snprintf(want_text, sizeof want_text, "%s/t.txt", dir);
    assert_int_equal(write_file(want_text, TEXT, strlen(TEXT)), 0);
    snprintf(want_html, sizeof want_html, "%s/h.html", dir);
    assert_int_equal(write_file(want_html, HTML, strlen(HTML)), 0);
    snprintf(cmd, sizeof cmd,
             "%s '%s/tests/integration/check_mail.py' '%s' --text-file '%s' --html-file '%s' "
             "--subject '%s' --to jose@example.com --to-name 'José 中文' "
             "--unsubscribe-prefix '" PUB UNSUB_PATH "?t='",
             py, src, got, want_text, want_html, SUBJECT);
    assert_int_equal(system(cmd), 0);
    fh_reply(x.h, 0, 250, NULL, NULL, DG_HTTP_OK, -1);
    down(&x);
    /* EOF on its stdin stops the sink. */
    close(in[1]);
    fclose(po);
    int st = 0;
    assert_int_equal(waitpid(pid, &st, 0), pid);
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    assert_int_equal(system(cmd), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_qp_encoding),
        cmocka_unit_test(test_rfc2047_headers),
        cmocka_unit_test(test_message_structure),
        cmocka_unit_test(test_smtp_reply_classes),
        cmocka_unit_test(test_config),
        cmocka_unit_test(test_unsubscribe),
        cmocka_unit_test(test_inbound_webhook),
        cmocka_unit_test(test_python_email_package_accepts_it),
        cmocka_unit_test(test_message_through_aiosmtpd),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
