/* The conformance kit's report and static checks; see kitcheck.h. */
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "error.h"
#include "kitcheck.h"

/* ------------------------------------------------------------- report */

static void vcheck(dg_kit_run *r, int verdict, const char *name, const char *fmt, va_list ap)
{
    static const char *const tag[] = {"FAIL", "PASS", "SKIP"};
    fprintf(r->out, "  %s  %-18s ", tag[verdict], name);
    vfprintf(r->out, fmt, ap);
    fputc('\n', r->out);
    if (verdict == 1)
        r->passed++;
    else if (verdict == 0)
        r->failed++;
    else
        r->skipped++;
}

void dg_kit_check(dg_kit_run *r, int ok, const char *name, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vcheck(r, ok ? 1 : 0, name, fmt, ap);
    va_end(ap);
}

void dg_kit_skip(dg_kit_run *r, const char *name, const char *why)
{
    fprintf(r->out, "  SKIP  %-18s %s\n", name, why);
    r->skipped++;
}

void dg_kit_detail(dg_kit_run *r, const char *mark, const char *fmt, ...)
{
    va_list ap;
    fprintf(r->out, "        %s ", mark);
    va_start(ap, fmt);
    vfprintf(r->out, fmt, ap);
    va_end(ap);
    fputc('\n', r->out);
}

void dg_kit_append(char **buf, size_t *len, const char *fmt, ...)
{
    va_list ap;
    int n;
    char *nb;
    va_start(ap, fmt);
    n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0 || !(nb = realloc(*buf, *len + (size_t)n + 1)))
        return;
    va_start(ap, fmt);
    vsnprintf(nb + *len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    *buf = nb;
    *len += (size_t)n;
}

/* -------------------------------------------------------- descriptor */

static int valid_key(const char *s)
{
    size_t n = s ? strlen(s) : 0;
    if (n == 0 || n > 48)
        return 0;
    for (; *s; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') || *s == '_'))
            return 0;
    return 1;
}

static int all_zero(void *const *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (p[i])
            return 0;
    return 1;
}

void dg_kit_check_descriptor(dg_kit_run *r)
{
    const dg_plugin_descriptor *d = r->p->desc;
    char caps[160];
    int ok = 1;
    uint32_t known = DG_CAP_DELIVERY_RECEIPTS | DG_CAP_READ_RECEIPTS | DG_CAP_INBOUND_REPLIES |
                     DG_CAP_SESSION_WINDOW | DG_CAP_TEMPLATES | DG_CAP_PHONE | DG_CAP_EMAIL;
    if (d->kind == DG_PLUGIN_CHANNEL)
        dg_caps_string(r->p->channel.capabilities, caps, sizeof caps);
    else
        snprintf(caps, sizeof caps, "backfill%s%s", r->p->store.act ? ",act" : "",
                 d->store->inbox_process ? ",inbox" : "");
    dg_kit_check(r, 1, "descriptor/ABI", "%s %s, ABI %u.%u (this duegate: %d.%d), %s: %s", d->name,
                 d->version, d->abi_major, d->abi_minor, DG_ABI_MAJOR, DG_ABI_MINOR,
                 d->kind == DG_PLUGIN_CHANNEL ? "channel" : "store", caps);
    if (!all_zero(d->reserved, sizeof d->reserved / sizeof d->reserved[0]))
        ok = 0, dg_kit_detail(r, "!", "descriptor reserved slots must be zero");
    if (d->kind == DG_PLUGIN_CHANNEL) {
        const dg_channel_ops *o = d->channel;
        if (o->struct_size >= sizeof *o &&
            !all_zero(o->reserved, sizeof o->reserved / sizeof o->reserved[0]))
            ok = 0, dg_kit_detail(r, "!", "channel ops reserved slots must be zero");
        if (o->capabilities & ~known)
            ok = 0, dg_kit_detail(r, "!", "unknown capability bits 0x%x", o->capabilities & ~known);
        if (!(o->capabilities & (DG_CAP_PHONE | DG_CAP_EMAIL)))
            dg_kit_detail(r, "note:",
                          "neither DG_CAP_PHONE nor DG_CAP_EMAIL: the core cannot address "
                          "customers through it");
    } else {
        const dg_store_ops *o = d->store;
        if (o->struct_size >= sizeof *o &&
            !all_zero(o->reserved, sizeof o->reserved / sizeof o->reserved[0]))
            ok = 0, dg_kit_detail(r, "!", "store ops reserved slots must be zero");
        if (o->capabilities)
            ok = 0, dg_kit_detail(r, "!", "store ops capabilities are reserved and must be 0");
    }
    if (!d->description || !*d->description)
        dg_kit_detail(r, "note:", "no one-line description (shown by `duegate plugins`)");
    if (!ok)
        dg_kit_check(r, 0, "descriptor/fields", "reserved fields or flags misused (see above)");
}

/* ------------------------------------------------------------- schema */

static const char *type_word(dg_config_type t)
{
    static const char *const w[] = {"?",      "string",      "int",   "bool",
                                    "double", "string list", "object"};
    return t >= DG_CFG_STRING && t <= DG_CFG_OBJECT ? w[t] : w[0];
}

static int default_matches(const dg_config_field *f, const cJSON *v)
{
    const cJSON *it;
    switch (f->type) {
    case DG_CFG_STRING:
        return cJSON_IsString(v);
    case DG_CFG_INT:
        if (!cJSON_IsNumber(v) || v->valuedouble != (double)(int64_t)v->valuedouble)
            return 0;
        return !(f->min < f->max) ||
               ((int64_t)v->valuedouble >= f->min && (int64_t)v->valuedouble <= f->max);
    case DG_CFG_BOOL:
        return cJSON_IsBool(v);
    case DG_CFG_DOUBLE:
        return cJSON_IsNumber(v);
    case DG_CFG_STRING_LIST:
        if (!cJSON_IsArray(v))
            return 0;
        cJSON_ArrayForEach(it, v) if (!cJSON_IsString(it)) return 0;
        return 1;
    case DG_CFG_OBJECT:
        return cJSON_IsObject(v);
    }
    return 0;
}

void dg_kit_check_schema(dg_kit_run *r)
{
    const dg_config_field *s = r->p->desc->config_schema;
    int ok = 1, n = 0;
    if (!s) {
        dg_kit_check(r, 1, "config schema", "none (the plugin takes no configuration)");
        return;
    }
    for (const dg_config_field *f = s; f->key; f++, n++) {
        const char *k = f->key;
        if (!valid_key(k))
            ok = 0,
            dg_kit_detail(r, "!", "key '%s': names are 1-48 characters of a-z, 0-9 and _", k);
        if (strcmp(k, "plugin") == 0 || strcmp(k, "enabled") == 0)
            ok = 0, dg_kit_detail(r, "!", "key '%s' is reserved by the configuration file", k);
        for (const dg_config_field *g = s; g != f; g++)
            if (strcmp(g->key, k) == 0)
                ok = 0, dg_kit_detail(r, "!", "key '%s' is declared twice", k);
        if (f->type < DG_CFG_STRING || f->type > DG_CFG_OBJECT)
            ok = 0, dg_kit_detail(r, "!", "key '%s': unknown type %d", k, (int)f->type);
        if (f->flags & ~(uint32_t)(DG_CFGF_REQUIRED | DG_CFGF_SECRET))
            ok = 0, dg_kit_detail(r, "!", "key '%s': unknown flag bits 0x%x", k,
                                  f->flags & ~(uint32_t)(DG_CFGF_REQUIRED | DG_CFGF_SECRET));
        if ((f->flags & DG_CFGF_SECRET) && f->type != DG_CFG_STRING)
            ok = 0, dg_kit_detail(r, "!", "key '%s': only string keys can be secrets", k);
        if ((f->flags & DG_CFGF_REQUIRED) && f->default_value)
            ok = 0, dg_kit_detail(r, "!",
                                  "key '%s' is required but has a default (it can never be "
                                  "missing: drop one of the two)",
                                  k);
        if ((f->flags & DG_CFGF_SECRET) && f->default_value)
            ok = 0, dg_kit_detail(r, "!", "key '%s': a secret must not have a default", k);
        if (f->default_value) {
            cJSON *v = cJSON_Parse(f->default_value);
            if (!v)
                ok = 0, dg_kit_detail(r, "!",
                                      "key '%s': default %s is not valid JSON (strings need "
                                      "quotes: \"\\\"x\\\"\")",
                                      k, f->default_value);
            else if (!default_matches(f, v))
                ok = 0,
                dg_kit_detail(r, "!", "key '%s': default %s is not a valid %s%s", k,
                              f->default_value, type_word(f->type),
                              f->type == DG_CFG_INT && f->min < f->max ? " within its bounds" : "");
            cJSON_Delete(v);
        }
        if (f->type == DG_CFG_INT && f->min > f->max)
            dg_kit_detail(r, "note:", "key '%s': min > max, so no bounds are enforced", k);
        if (!f->description || !*f->description)
            dg_kit_detail(r, "note:", "key '%s' has no description", k);
        if (!all_zero(f->reserved, 2))
            ok = 0, dg_kit_detail(r, "!", "key '%s': reserved fields must be zero", k);
    }
    dg_kit_check(r, ok, "config schema",
                 ok ? "%d key(s), types, flags and defaults valid" : "%d key(s), problems above",
                 n);
}

/* ------------------------------------------------------------- config */

static char *read_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    char *buf = NULL;
    size_t len = 0, cap = 0, n;
    if (!f)
        return NULL;
    do {
        if (len + 4096 + 1 > cap) {
            char *nb = realloc(buf, cap = cap * 2 + 8192);
            if (!nb) {
                free(buf);
                fclose(f);
                return NULL;
            }
            buf = nb;
        }
        n = fread(buf + len, 1, 4096, f);
        len += n;
    } while (n > 0 && len < 16 * 1024 * 1024);
    fclose(f);
    buf[len] = '\0';
    return buf;
}

/* A value a required key gets when no instance file is given. */
static cJSON *placeholder(dg_kit_run *r, const dg_config_field *f)
{
    char buf[512];
    switch (f->type) {
    case DG_CFG_STRING:
        if (f->flags & DG_CFGF_SECRET)
            snprintf(buf, sizeof buf, "kit-secret-%s-0123456789", f->key);
        else if (strstr(f->key, "smtp"))
            snprintf(buf, sizeof buf, "smtp://mail.duegate-kit.example:587");
        else if (strstr(f->key, "url") || strstr(f->key, "endpoint"))
            snprintf(buf, sizeof buf, "https://peer.duegate-kit.example/%s", f->key);
        else if (strstr(f->key, "path") || strstr(f->key, "file") || strstr(f->key, "dir"))
            snprintf(buf, sizeof buf, "%s/%s", r->tmpdir, f->key);
        else if (strstr(f->key, "mail") || strstr(f->key, "address"))
            snprintf(buf, sizeof buf, "kit@duegate-kit.example");
        else if (strstr(f->key, "phone") || strstr(f->key, "from") || strstr(f->key, "sender"))
            snprintf(buf, sizeof buf, "+14155550100");
        else
            snprintf(buf, sizeof buf, "kit-%s", f->key);
        return cJSON_CreateString(buf);
    case DG_CFG_INT:
        return cJSON_CreateNumber(f->min < f->max ? (double)f->min : 1);
    case DG_CFG_BOOL:
        return cJSON_CreateFalse();
    case DG_CFG_DOUBLE:
        return cJSON_CreateNumber(1.0);
    case DG_CFG_STRING_LIST: {
        cJSON *a = cJSON_CreateArray();
        if (a)
            cJSON_AddItemToArray(a, cJSON_CreateString("kit"));
        return a;
    }
    case DG_CFG_OBJECT:
        return cJSON_CreateObject();
    }
    return NULL;
}

/* "$peer": {"status": N, "content_type": "...", "body": "..." | {...}} */
static int take_peer(dg_kit_run *r, cJSON *obj, char *err, size_t len)
{
    cJSON *p = cJSON_DetachItemFromObjectCaseSensitive(obj, "$peer");
    const cJSON *st, *ct, *body;
    if (!p)
        return 0;
    st = cJSON_GetObjectItemCaseSensitive(p, "status");
    ct = cJSON_GetObjectItemCaseSensitive(p, "content_type");
    body = cJSON_GetObjectItemCaseSensitive(p, "body");
    if (!cJSON_IsObject(p) ||
        (st && (!cJSON_IsNumber(st) || st->valueint < 200 || st->valueint > 299))) {
        cJSON_Delete(p);
        dg_errf(err, len, "$peer must be an object; its status a 2xx number");
        return DG_ECONFIG;
    }
    if (st)
        r->ok_peer.status = st->valueint;
    if (cJSON_IsString(ct) && (r->ok_ctype = strdup(ct->valuestring)))
        r->ok_peer.content_type = r->ok_ctype;
    if (body) {
        r->ok_body =
            cJSON_IsString(body) ? strdup(body->valuestring) : cJSON_PrintUnformatted(body);
        r->ok_peer.body = r->ok_body;
    }
    cJSON_Delete(p);
    return 0;
}

int dg_kit_build_config(dg_kit_run *r, const char *file)
{
    static const char *const reserved[] = {"plugin", "enabled", NULL};
    const dg_config_field *schema = r->p->desc->config_schema;
    dg_config *cfg = NULL;
    cJSON *obj = NULL;
    char err[1024] = "", *text = NULL, *shown;
    int rc;
    if (file) {
        if (!(text = read_file(file))) {
            dg_kit_check(r, 0, "config", "cannot read %s: %s", file, strerror(errno));
            return DG_EIO;
        }
        obj = cJSON_Parse(text);
        free(text);
        if (!cJSON_IsObject(obj)) {
            cJSON_Delete(obj);
            dg_kit_check(r, 0, "config", "%s: not a JSON object (one instance section expected)",
                         file);
            return DG_ECONFIG;
        }
        if ((rc = take_peer(r, obj, err, sizeof err)) != 0) {
            cJSON_Delete(obj);
            dg_kit_check(r, 0, "config", "%s: %s", file, err);
            return rc;
        }
    } else {
        obj = cJSON_CreateObject();
        for (const dg_config_field *f = schema; obj && f && f->key; f++)
            if ((f->flags & DG_CFGF_REQUIRED) && !f->default_value)
                cJSON_AddItemToObject(obj, f->key, placeholder(r, f));
    }
    rc =
        obj ? dg_config_parse(file ? file : "plugin-test", "{}", &cfg, err, sizeof err) : DG_ENOMEM;
    if (rc == 0)
        rc = dg_config_apply_schema(cfg, schema, obj, "instance", reserved, &r->conf, err,
                                    sizeof err);
    dg_config_free(cfg);
    cJSON_Delete(obj);
    if (rc) {
        dg_kit_check(r, 0, "config", "%s", err[0] ? err : dg_strerror(rc));
        return rc;
    }
    /* Show it with secrets masked. */
    dg_kit *k = dg_kit_new(r->p->desc->kind, schema, cJSON_Duplicate(r->conf, 1));
    char *printed = cJSON_PrintUnformatted(r->conf);
    shown = k && printed ? dg_kit_mask(k, printed) : NULL;
    dg_kit_check(r, 1, "config", "%s %s",
                 file ? file : "schema defaults + placeholders:", shown ? shown : "");
    free(shown);
    free(printed);
    dg_kit_free(k);
    return 0;
}
