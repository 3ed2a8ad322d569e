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

static cJSON *envelope(const dg_outbound_message *m, const char *to, const char *type)
{
    cJSON *o = cJSON_CreateObject();
    char touch[32];
    if (!o)
        return NULL;
    cJSON_AddStringToObject(o, "messaging_product", "whatsapp");
    cJSON_AddStringToObject(o, "recipient_type", "individual");
    cJSON_AddStringToObject(o, "to", to);
    cJSON_AddStringToObject(o, "type", type);
    if (m->touch_id) {
        /* echoed in every status webhook: maps statuses back to the touch */
        snprintf(touch, sizeof touch, "%lld", (long long)m->touch_id);
        cJSON_AddStringToObject(o, "biz_opaque_callback_data", touch);
    }
    return o;
}

static int finish(cJSON *o, char **out, char *err, size_t len)
{
    *out = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    if (!*out) {
        snprintf(err, len, "out of memory");
        return DG_ENOMEM;
    }
    return 0;
}

static int add_params(cJSON *body, const dg_outbound_message *m, char *err, size_t len)
{
    cJSON *arr = cJSON_AddArrayToObject(body, "parameters");
    size_t named = 0;
    for (size_t i = 0; i < m->n_params; i++)
        if (m->params[i].name)
            named++;
    if (named && named != m->n_params) {
        snprintf(err, len, "template %s mixes named and positional parameters", m->template_name);
        return DG_EINVAL;
    }
    for (size_t i = 0; i < m->n_params; i++) {
        const dg_template_param *p = &m->params[i];
        cJSON *po = cJSON_CreateObject();
        char *v;
        if (!p->value) {
            cJSON_Delete(po);
            snprintf(err, len, "template %s parameter %zu has no value", m->template_name, i + 1);
            return DG_EINVAL;
        }
        v = clean_param(p->value);
        cJSON_AddStringToObject(po, "type", "text");
        if (p->name)
            cJSON_AddStringToObject(po, "parameter_name", p->name);
        cJSON_AddStringToObject(po, "text", v ? v : "");
        free(v);
        cJSON_AddItemToArray(arr, po);
    }
    return 0;
}

static int add_button(cJSON *comps, const dg_outbound_message *m, const dg_template_button *b,
                      char *err, size_t len)
{
    cJSON *c = cJSON_CreateObject(), *params, *p;
    if (!b->value || b->index < 0 ||
        (b->kind != DG_BUTTON_URL && b->kind != DG_BUTTON_QUICK_REPLY)) {
        cJSON_Delete(c);
        snprintf(err, len, "template %s has an invalid button", m->template_name);
        return DG_EINVAL;
    }
    cJSON_AddStringToObject(c, "type", "button");
    cJSON_AddStringToObject(c, "sub_type", b->kind == DG_BUTTON_URL ? "url" : "quick_reply");
    cJSON_AddNumberToObject(c, "index", b->index);
    params = cJSON_AddArrayToObject(c, "parameters");
    p = cJSON_CreateObject();
    if (b->kind == DG_BUTTON_URL) {
        cJSON_AddStringToObject(p, "type", "text");
        cJSON_AddStringToObject(p, "text", b->value); /* dynamic URL suffix */
    } else {
        cJSON_AddStringToObject(p, "type", "payload");
        cJSON_AddStringToObject(p, "payload", b->value);
    }
    cJSON_AddItemToArray(params, p);
    cJSON_AddItemToArray(comps, c);
    return 0;
}

int wa_body_template(const dg_outbound_message *m, const char *to, char **out, char *err,
                     size_t len)
{
    cJSON *o, *t, *comps;
    char lang[32];
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
    o = envelope(m, to, "template");
    if (!o)
        goto nomem;
    t = cJSON_AddObjectToObject(o, "template");
    cJSON_AddStringToObject(t, "name", m->template_name);
    cJSON_AddStringToObject(cJSON_AddObjectToObject(t, "language"), "code", lang);
    comps = cJSON_AddArrayToObject(t, "components");
    if (m->n_params) {
        cJSON *body = cJSON_CreateObject();
        cJSON_AddStringToObject(body, "type", "body");
        cJSON_AddItemToArray(comps, body);
        if (add_params(body, m, err, len) < 0) {
            cJSON_Delete(o);
            return DG_EINVAL;
        }
    }
    for (size_t i = 0; i < m->n_buttons; i++)
        if (add_button(comps, m, &m->buttons[i], err, len) < 0) {
            cJSON_Delete(o);
            return DG_EINVAL;
        }
    return finish(o, out, err, len);
nomem:
    snprintf(err, len, "out of memory");
    return DG_ENOMEM;
}

int wa_body_text(const dg_outbound_message *m, const char *to, char **out, char *err, size_t len)
{
    cJSON *o, *t;
    *out = NULL;
    if (!m->text || !*m->text) {
        snprintf(err, len, "no free-form text for this message");
        return DG_EINVAL;
    }
    if (strlen(m->text) > WA_TEXT_MAX) {
        snprintf(err, len, "free-form text longer than %d bytes", WA_TEXT_MAX);
        return DG_EINVAL;
    }
    o = envelope(m, to, "text");
    if (!o) {
        snprintf(err, len, "out of memory");
        return DG_ENOMEM;
    }
    t = cJSON_AddObjectToObject(o, "text");
    cJSON_AddBoolToObject(t, "preview_url", 0);
    cJSON_AddStringToObject(t, "body", m->text);
    return finish(o, out, err, len);
}
