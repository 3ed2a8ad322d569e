/* Request bodies for POST /{phone-number-id}/messages (protocols.md A1/A2). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wa.h"

#define WA_TEXT_MAX 4096 /* free-form body limit (A2) */

/* Template text parameters may not carry newlines, tabs or runs of spaces
 * (A2): fold them into single spaces rather than provoke 132008. */
static char *clean_param(const char *v)
{
    size_t n = strlen(v), o = 0;
    char *s = malloc(n + 1);
    int space = 0;
    if (!s)
        return NULL;
    for (size_t i = 0; i < n; i++) {
        char c = v[i];
        if (c == '\n' || c == '\r' || c == '\t')
            c = ' ';
        if (c == ' ') {
            if (space)
                continue;
            space = 1;
        } else {
            space = 0;
        }
        s[o++] = c;
    }
    s[o] = '\0';
    return s;
}

/* The bodies are written straight into one buffer (not built as a cJSON
 * tree and printed: that was a few dozen allocations per send). The output
 * is byte for byte what cJSON_PrintUnformatted gives for the same object:
 * members in the same order, strings escaped the same way (", \ and
 * control characters; \u00xx in lower case; other bytes as they are). */
typedef struct jbuf {
    char *p;
    size_t n, cap;
    int oom;
} jbuf;

static void jb_raw(jbuf *b, const char *s, size_t n)
{
    if (b->oom)
        return;
    if (b->n + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 512;
        char *np;
        while (cap < b->n + n + 1)
            cap *= 2;
        if (!(np = realloc(b->p, cap))) {
            b->oom = 1;
            return;
        }
        b->p = np;
        b->cap = cap;
    }
    memcpy(b->p + b->n, s, n);
    b->n += n;
    b->p[b->n] = '\0';
}

static void jb_lit(jbuf *b, const char *s)
{
    jb_raw(b, s, strlen(s));
}

static void jb_str(jbuf *b, const char *s)
{
    const unsigned char *u = (const unsigned char *)(s ? s : ""), *run = u;
    jb_raw(b, "\"", 1);
    for (; *u; u++) {
        char esc[8];
        if (*u >= 32 && *u != '"' && *u != '\\')
            continue;
        jb_raw(b, (const char *)run, (size_t)(u - run));
        switch (*u) {
        case '"':
            jb_raw(b, "\\\"", 2);
            break;
        case '\\':
            jb_raw(b, "\\\\", 2);
            break;
        case '\b':
            jb_raw(b, "\\b", 2);
            break;
        case '\f':
            jb_raw(b, "\\f", 2);
            break;
        case '\n':
            jb_raw(b, "\\n", 2);
            break;
        case '\r':
            jb_raw(b, "\\r", 2);
            break;
        case '\t':
            jb_raw(b, "\\t", 2);
            break;
        default:
            snprintf(esc, sizeof esc, "\\u%04x", *u);
            jb_raw(b, esc, 6);
        }
        run = u + 1;
    }
    jb_raw(b, (const char *)run, (size_t)(u - run));
    jb_raw(b, "\"", 1);
}

/* ,"key":"value" (no comma when first) */
static void jb_kv(jbuf *b, int first, const char *key, const char *val)
{
    if (!first)
        jb_raw(b, ",", 1);
    jb_str(b, key);
    jb_raw(b, ":", 1);
    jb_str(b, val);
}

static void envelope(jbuf *b, const dg_outbound_message *m, const char *to, const char *type)
{
    char touch[32];
    jb_raw(b, "{", 1);
    jb_kv(b, 1, "messaging_product", "whatsapp");
    jb_kv(b, 0, "recipient_type", "individual");
    jb_kv(b, 0, "to", to);
    jb_kv(b, 0, "type", type);
    if (m->touch_id) {
        /* echoed in every status webhook: maps statuses back to the touch */
        snprintf(touch, sizeof touch, "%lld", (long long)m->touch_id);
        jb_kv(b, 0, "biz_opaque_callback_data", touch);
    }
}

static int finish(jbuf *b, char **out, char *err, size_t len)
{
    jb_raw(b, "}", 1);
    if (b->oom) {
        free(b->p);
        snprintf(err, len, "out of memory");
        return DG_ENOMEM;
    }
    *out = b->p;
    return 0;
}

static int add_params(jbuf *b, const dg_outbound_message *m, char *err, size_t len)
{
    size_t named = 0;
    for (size_t i = 0; i < m->n_params; i++)
        if (m->params[i].name)
            named++;
    if (named && named != m->n_params) {
        snprintf(err, len, "template %s mixes named and positional parameters", m->template_name);
        return DG_EINVAL;
    }
    jb_lit(b, ",\"parameters\":[");
    for (size_t i = 0; i < m->n_params; i++) {
        const dg_template_param *p = &m->params[i];
        char *v;
        if (!p->value) {
            snprintf(err, len, "template %s parameter %zu has no value", m->template_name, i + 1);
            return DG_EINVAL;
        }
        v = clean_param(p->value);
        if (!v)
            b->oom = 1;
        jb_lit(b, i ? ",{" : "{");
        jb_kv(b, 1, "type", "text");
        if (p->name)
            jb_kv(b, 0, "parameter_name", p->name);
        jb_kv(b, 0, "text", v ? v : "");
        jb_raw(b, "}", 1);
        free(v);
    }
    jb_raw(b, "]", 1);
    return 0;
}

static int add_button(jbuf *b, int first, const dg_outbound_message *m,
                      const dg_template_button *bt, char *err, size_t len)
{
    char idx[24];
    if (!bt->value || bt->index < 0 ||
        (bt->kind != DG_BUTTON_URL && bt->kind != DG_BUTTON_QUICK_REPLY)) {
        snprintf(err, len, "template %s has an invalid button", m->template_name);
        return DG_EINVAL;
    }
    jb_lit(b, first ? "{" : ",{");
    jb_kv(b, 1, "type", "button");
    jb_kv(b, 0, "sub_type", bt->kind == DG_BUTTON_URL ? "url" : "quick_reply");
    snprintf(idx, sizeof idx, ",\"index\":%d", (int)bt->index);
    jb_lit(b, idx);
    jb_lit(b, ",\"parameters\":[{");
    if (bt->kind == DG_BUTTON_URL) {
        jb_kv(b, 1, "type", "text");
        jb_kv(b, 0, "text", bt->value); /* dynamic URL suffix */
    } else {
        jb_kv(b, 1, "type", "payload");
        jb_kv(b, 0, "payload", bt->value);
    }
    jb_lit(b, "}]}");
    return 0;
}

int wa_body_template(const dg_outbound_message *m, const char *to, char **out, char *err,
                     size_t len)
{
    jbuf b = {NULL, 0, 0, 0};
    char lang[32];
    int first = 1;
    const char *l = m->template_language ? m->template_language : m->locale;
    *out = NULL;
    if (!m->template_name || !*m->template_name) {
        snprintf(err, len, "no WhatsApp template for this message");
        return DG_EINVAL;
    }
    if (!l || !*l || strlen(l) >= sizeof lang) {
        snprintf(err, len, "template %s has no language", m->template_name);
        return DG_EINVAL;
    }
    /* Meta spells languages en_US; a BCP 47 locale uses a hyphen. */
    snprintf(lang, sizeof lang, "%s", l);
    for (char *p = lang; *p; p++)
        if (*p == '-')
            *p = '_';
    envelope(&b, m, to, "template");
    jb_lit(&b, ",\"template\":{");
    jb_kv(&b, 1, "name", m->template_name);
    jb_lit(&b, ",\"language\":{");
    jb_kv(&b, 1, "code", lang);
    jb_lit(&b, "},\"components\":[");
    if (m->n_params) {
        jb_lit(&b, "{\"type\":\"body\"");
        if (add_params(&b, m, err, len) < 0) {
            free(b.p);
            return DG_EINVAL;
        }
        jb_raw(&b, "}", 1);
        first = 0;
    }
    for (size_t i = 0; i < m->n_buttons; i++, first = 0)
        if (add_button(&b, first, m, &m->buttons[i], err, len) < 0) {
            free(b.p);
            return DG_EINVAL;
        }
    jb_lit(&b, "]}");
    return finish(&b, out, err, len);
}

int wa_body_text(const dg_outbound_message *m, const char *to, char **out, char *err, size_t len)
{
    jbuf b = {NULL, 0, 0, 0};
    *out = NULL;
    if (!m->text || !*m->text) {
        snprintf(err, len, "no free-form text for this message");
        return DG_EINVAL;
    }
    if (strlen(m->text) > WA_TEXT_MAX) {
        snprintf(err, len, "free-form text longer than %d bytes", WA_TEXT_MAX);
        return DG_EINVAL;
    }
    envelope(&b, m, to, "text");
    jb_lit(&b, ",\"text\":{\"preview_url\":false");
    jb_kv(&b, 0, "body", m->text);
    jb_raw(&b, "}", 1);
    return finish(&b, out, err, len);
}
