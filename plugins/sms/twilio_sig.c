#include <stdlib.h>
#include <string.h>

#include "twilio_sig.h"

int dg__tw_buf_add(dg__tw_buf *b, const char *s, size_t n)
{
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        while (cap < b->len + n + 1)
            cap *= 2;
        char *p = realloc(b->p, cap);
        if (!p)
            return DG_ENOMEM;
        b->p = p;
        b->cap = cap;
    }
    if (n)
        memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = '\0';
    return 0;
}

int dg__tw_buf_str(dg__tw_buf *b, const char *s)
{
    return dg__tw_buf_add(b, s, strlen(s));
}

void dg__tw_buf_free(dg__tw_buf *b)
{
    free(b->p);
    b->p = NULL;
    b->len = b->cap = 0;
}

static int form_escape(dg__tw_buf *b, const char *s)
{
    static const char hex[] = "0123456789ABCDEF";
    for (const unsigned char *c = (const unsigned char *)s; *c; c++) {
        char e[3];
        int rc;
        if ((*c >= 'A' && *c <= 'Z') || (*c >= 'a' && *c <= 'z') || (*c >= '0' && *c <= '9') ||
            *c == '-' || *c == '.' || *c == '_' || *c == '~')
            rc = dg__tw_buf_add(b, (const char *)c, 1);
        else if (*c == ' ')
            rc = dg__tw_buf_add(b, "+", 1);
        else {
            e[0] = '%';
            e[1] = hex[*c >> 4];
            e[2] = hex[*c & 15];
            rc = dg__tw_buf_add(b, e, 3);
        }
        if (rc)
            return rc;
    }
    return 0;
}

int dg__tw_buf_form(dg__tw_buf *b, const char *name, const char *value)
{
    if ((b->len && dg__tw_buf_add(b, "&", 1)) || form_escape(b, name) ||
        dg__tw_buf_add(b, "=", 1) || form_escape(b, value ? value : ""))
        return DG_ENOMEM;
    return 0;
}

int dg__tw_buf_xml(dg__tw_buf *b, const char *s)
{
    for (; *s; s++) {
        const char *r = NULL;
        switch (*s) {
        case '&':
            r = "&amp;";
            break;
        case '<':
            r = "&lt;";
            break;
        case '>':
            r = "&gt;";
            break;
        case '"':
            r = "&quot;";
            break;
        case '\'':
            r = "&apos;";
            break;
        }
        if (r ? dg__tw_buf_str(b, r) : dg__tw_buf_add(b, s, 1))
            return DG_ENOMEM;
    }
    return 0;
}

typedef struct pair {
    const char *name, *value;
} pair;

static int pair_cmp(const void *a, const void *b)
{
    const pair *x = a, *y = b;
    int c = strcmp(x->name, y->name); /* byte order, like both SDKs */
    return c ? c : strcmp(x->value, y->value);
}

int dg__tw_signature(dg__tw_hmac_fn hmac, dg__tw_b64_fn b64, const char *token, const char *url,
                     const char *const *names, const char *const *values, size_t n, char *out,
                     size_t cap)
{
    dg__tw_buf data = {0};
    pair *ps = NULL;
    unsigned char mac[20];
    int rc = DG_ENOMEM, len;
    if (!hmac || !b64 || !token || !url || (n && (!names || !values)))
        return DG_EINVAL;
    if (n && !(ps = calloc(n, sizeof *ps)))
        return DG_ENOMEM;
    for (size_t i = 0; i < n; i++) {
        ps[i].name = names[i] ? names[i] : "";
        ps[i].value = values[i] ? values[i] : "";
    }
    if (n)
        qsort(ps, n, sizeof *ps, pair_cmp);
    if (dg__tw_buf_str(&data, url))
        goto done;
    for (size_t i = 0; i < n; i++)
        if (dg__tw_buf_str(&data, ps[i].name) || dg__tw_buf_str(&data, ps[i].value))
            goto done;
    len = hmac(DG_HMAC_SHA1, token, strlen(token), data.p, data.len, mac, sizeof mac);
    if (len != 20) {
        rc = DG_EINVAL;
        goto done;
    }
    rc = b64(mac, sizeof mac, out, cap) < 0 ? DG_EINVAL : 0;
done:
    free(ps);
    dg__tw_buf_free(&data);
    return rc;
}

int dg__tw_url_port_variant(const char *url, char *out, size_t cap)
{
    const char *def, *host, *end, *colon;
    size_t hlen;
    if (strncmp(url, "https://", 8) == 0) {
        def = "443";
        host = url + 8;
    } else if (strncmp(url, "http://", 7) == 0) {
        def = "80";
        host = url + 7;
    } else
        return DG_ENOTFOUND;
    end = host + strcspn(host, "/?#");
    hlen = (size_t)(end - host);
    colon = memchr(host, ':', hlen);
    if (host[0] == '[') /* IPv6 literal: the port colon follows ']' */
        colon = memchr(host, ']', hlen) ? strchr(memchr(host, ']', hlen), ':') : NULL;
    if (colon && colon >= end)
        colon = NULL;
    if (colon) {
        size_t plen = (size_t)(end - colon - 1);
        if (plen != strlen(def) || memcmp(colon + 1, def, plen) != 0)
            return DG_ENOTFOUND;
        /* Remove ":443". */
        size_t need = strlen(url) - plen - 1 + 1;
        if (need > cap)
            return DG_EINVAL;
        size_t pre = (size_t)(colon - url);
        memcpy(out, url, pre);
        strcpy(out + pre, end);
        return 0;
    }
    size_t pre = (size_t)(end - url);
    if (strlen(url) + 1 + strlen(def) + 1 > cap)
        return DG_EINVAL;
    memcpy(out, url, pre);
    out[pre] = ':';
    strcpy(out + pre + 1, def);
    strcat(out, end);
    return 0;
}
