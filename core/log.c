#include <stdarg.h>
#include <string.h>
#include <time.h>
#include <sys/time.h>

#include "log.h"

static dg_log_level g_level = DG_LOG_INFO;
static FILE *g_stream;

void dg_log_set_level(dg_log_level level) { g_level = level; }
dg_log_level dg_log_get_level(void) { return g_level; }
void dg_log_set_stream(FILE *stream) { g_stream = stream; }

static const char *const level_names[] = {"error", "warn", "info", "debug"};

const char *dg_log_level_name(dg_log_level level)
{
    if ((int)level < 0 || level > DG_LOG_DEBUG)
        return "info";
    return level_names[level];
}

int dg_log_parse_level(const char *s, dg_log_level *out)
{
    for (int i = 0; i <= DG_LOG_DEBUG; i++) {
        if (s && strcmp(s, level_names[i]) == 0) {
            *out = (dg_log_level)i;
            return 0;
        }
    }
    return DG_EINVAL;
}

void dg_mask_phone(const char *phone, char *out, size_t len)
{
    size_t n = phone ? strlen(phone) : 0;
    size_t keep_head = 0, keep_tail = 0, o = 0;
    if (len == 0)
        return;
    /* Keep the country prefix (up to 3 digits after '+') and the last 3. */
    if (n > 7) {
        keep_head = (phone[0] == '+') ? 3 : 2;
        keep_tail = 3;
    }
    for (size_t i = 0; i < n && o + 1 < len; i++)
        out[o++] = (i < keep_head || i >= n - keep_tail) ? phone[i] : '*';
    out[o] = '\0';
}

void dg_mask_email(const char *email, char *out, size_t len)
{
    const char *at = email ? strchr(email, '@') : NULL;
    if (len == 0)
        return;
    if (!at || at == email) {
        snprintf(out, len, "***");
        return;
    }
    snprintf(out, len, "%c***%s", email[0], at);
}

/* Append to buf with bounds; returns new offset (clamped). */
static size_t put(char *buf, size_t cap, size_t off, const char *s, size_t n)
{
    if (off >= cap)
        return off;
    if (n > cap - off - 1)
        n = cap - off - 1;
    memcpy(buf + off, s, n);
    buf[off + n] = '\0';
    return off + n;
}

static size_t put_value(char *buf, size_t cap, size_t off, const char *v)
{
    int quote = (*v == '\0');
    for (const char *p = v; *p && !quote; p++)
        if (*p == ' ' || *p == '"' || *p == '=' || (unsigned char)*p < 0x20)
            quote = 1;
    if (!quote)
        return put(buf, cap, off, v, strlen(v));
    off = put(buf, cap, off, "\"", 1);
    for (const char *p = v; *p; p++) {
        char esc[8];
        unsigned char c = (unsigned char)*p;
        if (c == '"' || c == '\\') {
            esc[0] = '\\';
            esc[1] = (char)c;
            off = put(buf, cap, off, esc, 2);
        } else if (c < 0x20) {
            snprintf(esc, sizeof esc, "\\x%02x", c);
            off = put(buf, cap, off, esc, strlen(esc));
        } else {
            off = put(buf, cap, off, p, 1);
        }
    }
    return put(buf, cap, off, "\"", 1);
}

void dg_log(dg_log_level level, const char *component, const char *event, const dg_kv *kv,
            size_t n_kv)
{
    char line[4096];
    char ts[40];
    struct timeval tv;
    struct tm tm;
    size_t off = 0;
    FILE *out = g_stream ? g_stream : stderr;

    if (level > g_level)
        return;
    gettimeofday(&tv, NULL);
    gmtime_r(&tv.tv_sec, &tm);
    strftime(ts, sizeof ts, "%Y-%m-%dT%H:%M:%S", &tm);
    off = (size_t)snprintf(line, sizeof line, "%s.%03dZ %s %s ", ts, (int)(tv.tv_usec / 1000),
                           dg_log_level_name(level), component ? component : "core");
    off = put_value(line, sizeof line, off, event ? event : "-");
    for (size_t i = 0; i < n_kv; i++) {
        char masked[256];
        const char *v = kv[i].value ? kv[i].value : "";
        if (!kv[i].key)
            continue;
        switch (kv[i].flags) {
        case DG_KV_PHONE:
            dg_mask_phone(v, masked, sizeof masked);
            v = masked;
            break;
        case DG_KV_EMAIL:
            dg_mask_email(v, masked, sizeof masked);
            v = masked;
            break;
        case DG_KV_SECRET:
            v = "[redacted]";
            break;
        case DG_KV_TEXT:
            snprintf(masked, sizeof masked, "[%zu bytes]", strlen(v));
            v = masked;
            break;
        default:
            break;
        }
        off = put(line, sizeof line, off, " ", 1);
        off = put(line, sizeof line, off, kv[i].key, strlen(kv[i].key));
        off = put(line, sizeof line, off, "=", 1);
        off = put_value(line, sizeof line, off, v);
    }
    off = put(line, sizeof line, off, "\n", 1);
    fwrite(line, 1, off, out);
    fflush(out);
}

void dg_logf(dg_log_level level, const char *component, const char *event, ...)
{
    dg_kv kv[32];
    size_t n = 0;
    va_list ap;
    if (level > g_level)
        return;
    va_start(ap, event);
    while (n < 32) {
        const char *k = va_arg(ap, const char *);
        if (!k)
            break;
        kv[n].key = k;
        kv[n].value = va_arg(ap, const char *);
        kv[n].flags = DG_KV_PLAIN;
        n++;
    }
    va_end(ap);
    dg_log(level, component, event, kv, n);
}
