/* The plugin conformance kit: checks and scenarios; see conformance.h. */
#include <dirent.h>
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "conformance.h"
#include "error.h"
#include "kithost_http.h"
#include "loader.h"

#define DRAIN_LIMIT_MS (10 * 60 * 1000) /* virtual time a pending op may take */
#define PROBE_AFTER_STOP_MS (60 * 1000) /* virtual time watched after stop */

typedef enum { EXP_OK, EXP_RETRY_AFTER, EXP_RETRYABLE, EXP_ANY } expectation;

typedef struct scenario {
    const char *name;
    dg_kit_peer peer;
    int exercise_routes;
    int stop_in_flight; /* call stop before the peer answers */
    expectation expect;
} scenario;

typedef struct run {
    FILE *out;
    int passed, failed, skipped;
    const dg_plugin *p;
    cJSON *conf;         /* resolved instance config */
    dg_kit_peer ok_peer; /* how a successful send is answered */
    char *ok_body;       /* owned copy for "$peer" */
    char *ok_ctype;
    char tmpdir[256];
    char *requests; /* recorded requests of every scenario */
    size_t req_len;
    size_t n_requests;
    char *logs;
    size_t logs_len;
    int made_calls, smtp;
} run;

/* ------------------------------------------------------------- report */

static void vcheck(run *r, int verdict, const char *name, const char *fmt, va_list ap)
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

static void check(run *r, int ok, const char *name, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static void check(run *r, int ok, const char *name, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vcheck(r, ok ? 1 : 0, name, fmt, ap);
    va_end(ap);
}

static void skip(run *r, const char *name, const char *why)
{
    fprintf(r->out, "  SKIP  %-18s %s\n", name, why);
    r->skipped++;
}

static void detail(run *r, const char *mark, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void detail(run *r, const char *mark, const char *fmt, ...)
{
    va_list ap;
    fprintf(r->out, "        %s ", mark);
    va_start(ap, fmt);
    vfprintf(r->out, fmt, ap);
    va_end(ap);
    fputc('\n', r->out);
}

static void append(char **buf, size_t *len, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void append(char **buf, size_t *len, const char *fmt, ...)
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

static void check_descriptor(run *r)
{
    const dg_plugin_descriptor *d = r->p->desc;
    char caps[160];
    int ok = 1;
    uint32_t known = DG_CAP_DELIVERY_RECEIPTS | DG_CAP_READ_RECEIPTS | DG_CAP_INBOUND_REPLIES |
                     DG_CAP_SESSION_WINDOW | DG_CAP_TEMPLATES | DG_CAP_PHONE | DG_CAP_EMAIL;
    if (d->kind == DG_PLUGIN_CHANNEL)
        dg_caps_string(r->p->channel.capabilities, caps, sizeof caps);
    else
        snprintf(caps, sizeof caps, "backfill%s", r->p->store.act ? ",act" : "");
    check(r, 1, "descriptor/ABI", "%s %s, ABI %u.%u (this duegate: %d.%d), %s: %s", d->name,
          d->version, d->abi_major, d->abi_minor, DG_ABI_MAJOR, DG_ABI_MINOR,
          d->kind == DG_PLUGIN_CHANNEL ? "channel" : "store", caps);
    if (!all_zero(d->reserved, sizeof d->reserved / sizeof d->reserved[0]))
        ok = 0, detail(r, "!", "descriptor reserved slots must be zero");
    if (d->kind == DG_PLUGIN_CHANNEL) {
        const dg_channel_ops *o = d->channel;
        if (o->struct_size >= sizeof *o && !all_zero(o->reserved, 8))
            ok = 0, detail(r, "!", "channel ops reserved slots must be zero");
        if (o->capabilities & ~known)
            ok = 0, detail(r, "!", "unknown capability bits 0x%x", o->capabilities & ~known);
        if (!(o->capabilities & (DG_CAP_PHONE | DG_CAP_EMAIL)))
            detail(r, "note:",
                   "neither DG_CAP_PHONE nor DG_CAP_EMAIL: the core cannot address "
                   "customers through it");
    } else {
        const dg_store_ops *o = d->store;
        if (o->struct_size >= sizeof *o && !all_zero(o->reserved, 8))
            ok = 0, detail(r, "!", "store ops reserved slots must be zero");
        if (o->capabilities)
            ok = 0, detail(r, "!", "store ops capabilities are reserved and must be 0");
    }
    if (!d->description || !*d->description)
        detail(r, "note:", "no one-line description (shown by `duegate plugins`)");
    if (!ok)
        check(r, 0, "descriptor/fields", "reserved fields or flags misused (see above)");
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

static void check_schema(run *r)
{
    const dg_config_field *s = r->p->desc->config_schema;
    int ok = 1, n = 0;
    if (!s) {
        check(r, 1, "config schema", "none (the plugin takes no configuration)");
        return;
    }
    for (const dg_config_field *f = s; f->key; f++, n++) {
        const char *k = f->key;
        if (!valid_key(k))
            ok = 0, detail(r, "!", "key '%s': names are 1-48 characters of a-z, 0-9 and _", k);
        if (strcmp(k, "plugin") == 0 || strcmp(k, "enabled") == 0)
            ok = 0, detail(r, "!", "key '%s' is reserved by the configuration file", k);
        for (const dg_config_field *g = s; g != f; g++)
            if (strcmp(g->key, k) == 0)
                ok = 0, detail(r, "!", "key '%s' is declared twice", k);
        if (f->type < DG_CFG_STRING || f->type > DG_CFG_OBJECT)
            ok = 0, detail(r, "!", "key '%s': unknown type %d", k, (int)f->type);
        if (f->flags & ~(uint32_t)(DG_CFGF_REQUIRED | DG_CFGF_SECRET))
            ok = 0, detail(r, "!", "key '%s': unknown flag bits 0x%x", k,
                           f->flags & ~(uint32_t)(DG_CFGF_REQUIRED | DG_CFGF_SECRET));
        if ((f->flags & DG_CFGF_SECRET) && f->type != DG_CFG_STRING)
            ok = 0, detail(r, "!", "key '%s': only string keys can be secrets", k);
        if ((f->flags & DG_CFGF_REQUIRED) && f->default_value)
            ok = 0, detail(r, "!",
                           "key '%s' is required but has a default (it can never be "
                           "missing: drop one of the two)",
                           k);
        if ((f->flags & DG_CFGF_SECRET) && f->default_value)
            ok = 0, detail(r, "!", "key '%s': a secret must not have a default", k);
        if (f->default_value) {
            cJSON *v = cJSON_Parse(f->default_value);
            if (!v)
                ok = 0, detail(r, "!",
                               "key '%s': default %s is not valid JSON (strings need "
                               "quotes: \"\\\"x\\\"\")",
                               k, f->default_value);
            else if (!default_matches(f, v))
                ok = 0,
                detail(r, "!", "key '%s': default %s is not a valid %s%s", k, f->default_value,
                       type_word(f->type),
                       f->type == DG_CFG_INT && f->min < f->max ? " within its bounds" : "");
            cJSON_Delete(v);
        }
        if (f->type == DG_CFG_INT && f->min > f->max)
            detail(r, "note:", "key '%s': min > max, so no bounds are enforced", k);
        if (!f->description || !*f->description)
            detail(r, "note:", "key '%s' has no description", k);
        if (!all_zero(f->reserved, 2))
            ok = 0, detail(r, "!", "key '%s': reserved fields must be zero", k);
    }
    check(r, ok, "config schema",
          ok ? "%d key(s), types, flags and defaults valid" : "%d key(s), problems above", n);
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
static cJSON *placeholder(run *r, const dg_config_field *f)
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
static int take_peer(run *r, cJSON *obj, char *err, size_t len)
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

static int build_config(run *r, const char *file)
{
    static const char *const reserved[] = {"plugin", "enabled", NULL};
    const dg_config_field *schema = r->p->desc->config_schema;
    dg_config *cfg = NULL;
    cJSON *obj = NULL;
    char err[1024] = "", *text = NULL, *shown;
    int rc;
    if (file) {
        if (!(text = read_file(file))) {
            check(r, 0, "config", "cannot read %s: %s", file, strerror(errno));
            return DG_EIO;
        }
        obj = cJSON_Parse(text);
        free(text);
        if (!cJSON_IsObject(obj)) {
            cJSON_Delete(obj);
            check(r, 0, "config", "%s: not a JSON object (one instance section expected)", file);
            return DG_ECONFIG;
        }
        if ((rc = take_peer(r, obj, err, sizeof err)) != 0) {
            cJSON_Delete(obj);
            check(r, 0, "config", "%s: %s", file, err);
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
        check(r, 0, "config", "%s", err[0] ? err : dg_strerror(rc));
        return rc;
    }
    /* Show it with secrets masked. */
    dg_kit *k = dg_kit_new(r->p->desc->kind, schema, cJSON_Duplicate(r->conf, 1));
    char *printed = cJSON_PrintUnformatted(r->conf);
    shown = k && printed ? dg_kit_mask(k, printed) : NULL;
    check(r, 1, "config", "%s %s",
          file ? file : "schema defaults + placeholders:", shown ? shown : "");
    free(shown);
    free(printed);
    dg_kit_free(k);
    return 0;
}

/* ---------------------------------------------------------- scenarios */

static const dg_template_param sample_params[] = {
    {sizeof(dg_template_param), NULL, "Ana", {0}},
    {sizeof(dg_template_param), NULL, "$120.00", {0}}};
static const dg_template_button sample_buttons[] = {
    {sizeof(dg_template_button), DG_BUTTON_URL, 0, "pay/abc123", {0}}};

static void sample_message(dg_outbound_message *m)
{
    DG_INIT(m);
    m->case_id = 42;
    m->touch_id = 4201;
    m->step = 0;
    m->attempt = 1;
    m->stage = "gentle";
    m->channel = "kit";
    m->locale = "en";
    m->template_id = "presale/gentle";
    m->idempotency_key = "dg-42-4201";
    m->to_phone = "+14155550123";
    m->to_email = "ana@example.com";
    m->to_name = "Ana Silva";
    m->text = "Hi Ana, the balance of $120.00 for order #1001 is due Friday: "
              "https://pay.example.com/p/abc123";
    m->subject = "Your order #1001: balance due Friday";
    m->html = "<p>Hi Ana, the balance of $120.00 for order #1001 is due Friday.</p>";
    m->template_name = "dg_presale_gentle";
    m->template_language = "en";
    m->params = sample_params;
    m->n_params = 2;
    m->buttons = sample_buttons;
    m->n_buttons = 1;
    m->sms_segments = 1;
}

/* Pump answers and fire timers until op completes; 1 if it did. */
static int drive(dg_kit *k, dg_op op, int64_t limit_ms)
{
    int64_t waited = 0;
    for (int guard = 0; guard < 100000; guard++) {
        const dg_kit_op *o = dg_kit_op_get(k, op);
        int64_t next;
        if (o && o->completions)
            return 1;
        if (dg_kit_pump(k) > 0)
            continue;
        next = dg_kit_next_timer_in(k);
        if (next < 0 || waited + next > limit_ms)
            return 0;
        dg_kit_advance(k, next);
        waited += next;
    }
    return 0;
}

/* Start an async op; returns its id, or 0 when it failed at once. */
/* The message handed to send lives in the heap and is poisoned once send
 * returns: a plugin that keeps a pointer into it (it is borrowed for the
 * call) then sends or logs POISON, which the kit looks for. */
#define POISON "#########"
#define N_MSG_STRINGS 16

typedef struct held_msg {
    dg_outbound_message m;
    char *s[N_MSG_STRINGS];
    size_t n;
} held_msg;

static const char *hold(held_msg *h, const char *v)
{
    char *c = v && h->n < N_MSG_STRINGS ? strdup(v) : NULL;
    if (!c)
        return v;
    h->s[h->n++] = c;
    return c;
}

static dg_outbound_message *held_message(held_msg *h)
{
    dg_outbound_message *m = &h->m;
    sample_message(m);
    m->stage = hold(h, m->stage);
    m->locale = hold(h, m->locale);
    m->template_id = hold(h, m->template_id);
    m->idempotency_key = hold(h, m->idempotency_key);
    m->to_phone = hold(h, m->to_phone);
    m->to_email = hold(h, m->to_email);
    m->to_name = hold(h, m->to_name);
    m->text = hold(h, m->text);
    m->subject = hold(h, m->subject);
    m->html = hold(h, m->html);
    m->template_name = hold(h, m->template_name);
    return m;
}

static void poison_message(held_msg *h)
{
    for (size_t i = 0; i < h->n; i++)
        memset(h->s[i], '#', strlen(h->s[i]));
    memset(&h->m, 0, sizeof h->m);
    h->m.text = h->m.to_phone = h->m.to_email = h->m.idempotency_key = POISON;
}

static void free_held(held_msg *h)
{
    if (!h)
        return;
    for (size_t i = 0; i < h->n; i++)
        free(h->s[i]);
    free(h);
}

static int poisoned(const char *s)
{
    return s && strstr(s, POISON) != NULL;
}

/* Did anything the plugin produced after send returned carry the poison? */
static void check_borrowed(dg_kit *k)
{
    int seen = poisoned(dg_kit_log_text(k));
    for (dg_kit_call *c = dg_kit_calls(k); c; c = c->next)
        seen |= poisoned(c->url) || poisoned(c->headers) || poisoned(c->body);
    if (seen)
        dg_kit_violation(k, "message data used after send returned (the message and its "
                            "strings are borrowed for the call: copy what you keep)");
}

static dg_op start_op(run *r, dg_kit *k, void *self, const char *what, held_msg **held, char *why,
                      size_t len)
{
    dg_op op = dg_kit_new_op(k, what);
    dg_store_action act;
    int rc;
    if (strcmp(what, "send") == 0) {
        held_msg *h = calloc(1, sizeof *h);
        if (!h) {
            snprintf(why, len, "out of memory");
            return 0;
        }
        rc = r->p->channel.send(self, held_message(h), op);
        poison_message(h);
        *held = h;
    } else if (strcmp(what, "backfill") == 0) {
        rc = r->p->store.backfill(self, op);
    } else {
        DG_INIT(&act);
        act.kind = DG_ACT_REREAD_ORDER;
        act.order_id = "820982911946154508";
        rc = r->p->store.act(self, &act, op);
    }
    if (rc == DG_PENDING)
        return op;
    if (rc >= 0) {
        dg_kit_violation(k, "%s returned %d: an op returns DG_PENDING or a negative code", what,
                         rc);
        return op;
    }
    if (dg_kit_op_get(k, op)->completions)
        dg_kit_violation(k, "%s returned %s and also completed its op", what, dg_strerror(rc));
    snprintf(why, len, "%s refused at once: %s", what, dg_strerror(rc));
    return 0;
}

static const char *class_name(dg_error_class c)
{
    static const char *const n[] = {"none",       "retryable",   "wait",  "permanent",
                                    "suppressed", "stop-sender", "config"};
    return c <= DG_ERRC_CONFIG ? n[c] : "?";
}

/* Judge a completed op against the scenario's expectation. */
static int judge(run *r, dg_kit *k, const scenario *s, const dg_kit_op *o, char *out, size_t len)
{
    int ok = 1;
    (void)r;
    if (!o->completions) {
        snprintf(out, len, "%s never completed", o->what);
        return 0;
    }
    if (o->status > 0) {
        dg_kit_violation(k, "%s completed with status %d: DG_OK or a negative DG_E* code", o->what,
                         o->status);
        ok = 0;
    }
    if (o->status < 0 && o->error_class == DG_ERRC_NONE && strcmp(o->what, "send") == 0) {
        dg_kit_violation(k,
                         "send failed (%s) without an error class: the core cannot tell "
                         "whether to retry",
                         dg_strerror(o->status));
        ok = 0;
    }
    char times[32];
    if (o->completions == 1)
        snprintf(times, sizeof times, "once");
    else
        snprintf(times, sizeof times, "%d times", o->completions);
    if (o->status == DG_OK)
        snprintf(out, len, "%s completed %s: OK%s%s%s", o->what, times,
                 o->provider_id[0] ? ", provider id \"" : "", o->provider_id,
                 o->provider_id[0] ? "\"" : "");
    else
        snprintf(out, len, "%s completed %s: %s, class %s, retry_after_ms %lld%s%s", o->what, times,
                 dg_strerror(o->status), class_name(o->error_class), (long long)o->retry_after_ms,
                 o->error_message[0] ? ", " : "", o->error_message);
    switch (s->expect) {
    case EXP_OK:
        if (o->status != DG_OK)
            ok = 0, dg_kit_violation(k,
                                     "the peer accepted the %s (%d) but it did not complete "
                                     "with DG_OK",
                                     o->what, s->peer.status);
        else if (strcmp(o->what, "send") == 0 && !o->provider_id[0])
            dg_kit_note(k, "a successful send should carry the provider's message id (receipts "
                           "are matched by it)");
        break;
    case EXP_RETRY_AFTER:
    case EXP_RETRYABLE:
        if (o->status >= 0 || o->error_class != DG_ERRC_RETRYABLE)
            ok = 0,
            dg_kit_violation(k, "%s must complete with an error of class retryable", s->name);
        else if (s->expect == EXP_RETRY_AFTER && !r->smtp &&
                 o->retry_after_ms != s->peer.retry_after_ms)
            ok = 0, dg_kit_violation(k,
                                     "Retry-After: %s not honoured: retry_after_ms is %lld, "
                                     "expected %lld",
                                     s->peer.retry_after, (long long)o->retry_after_ms,
                                     (long long)s->peer.retry_after_ms);
        break;
    case EXP_ANY:
        break;
    }
    return ok;
}

/* The body, its lines indented, cut after 600 characters. */
static void append_body(run *r, const char *body)
{
    size_t len = strlen(body), shown = len > 600 ? 600 : len;
    const char *b = body, *stop = body + shown;
    if (!len)
        append(&r->requests, &r->req_len, "\n");
    while (b < stop) {
        size_t n = strcspn(b, "\r\n");
        if (n > (size_t)(stop - b))
            n = (size_t)(stop - b);
        append(&r->requests, &r->req_len, "%s%.*s\n", b == body ? " " : "         ", (int)n, b);
        b += n;
        b += (b < stop && *b == '\r') ? 1 : 0;
        b += (b < stop && *b == '\n') ? 1 : 0;
    }
    if (len > shown)
        append(&r->requests, &r->req_len, "         ...\n");
}

static void record_calls(run *r, dg_kit *k, const scenario *s)
{
    for (dg_kit_call *c = dg_kit_calls(k); c; c = c->next) {
        r->n_requests++;
        append(&r->requests, &r->req_len, "  #%zu [%s] %s %s\n", r->n_requests, s->name, c->method,
               c->url);
        for (char *h = c->headers; h && *h;) {
            char *nl = strchr(h, '\n');
            size_t n = nl ? (size_t)(nl - h) : strlen(h);
            append(&r->requests, &r->req_len, "       %.*s\n", (int)n, h);
            h += n + (nl ? 1 : 0);
        }
        append(&r->requests, &r->req_len, "       body (%zu bytes):", c->body_len);
        append_body(r, c->body);
        if (c->canceled)
            append(&r->requests, &r->req_len, "       -> canceled by the plugin\n");
        else if (!c->answered)
            append(&r->requests, &r->req_len, "       -> never answered\n");
        else if (c->transport != DG_HTTP_OK)
            append(&r->requests, &r->req_len, "       -> transport error (simulated)\n");
        else
            append(&r->requests, &r->req_len, "       -> %d\n", c->status);
    }
    const char *log = dg_kit_log_text(k);
    if (*log)
        append(&r->logs, &r->logs_len, "  [%s]\n", s->name);
    while (*log) {
        size_t n = strcspn(log, "\n");
        append(&r->logs, &r->logs_len, "       %.*s\n", (int)n, log);
        log += n + (log[n] ? 1 : 0);
    }
}

static void run_scenario(run *r, const scenario *s)
{
    int channel = r->p->desc->kind == DG_PLUGIN_CHANNEL;
    dg_kit *k =
        dg_kit_new(r->p->desc->kind, r->p->desc->config_schema, cJSON_Duplicate(r->conf, 1));
    const dg_host *host = dg_kit_host();
    void *self = NULL;
    char err[512] = "", why[256] = "", summary[768] = "", routes[512] = "";
    dg_op work = 0, act = 0, stop;
    held_msg *held = NULL;
    int ok = 1, rc;
    if (!k) {
        check(r, 0, s->name, "out of memory");
        return;
    }
    dg_kit_set_peer(k, &s->peer);
    rc = channel ? r->p->channel.create(host, dg_kit_inst(k), &self, err, sizeof err)
                 : r->p->store.create(host, dg_kit_inst(k), &self, err, sizeof err);
    if (rc != DG_OK) {
        check(r, 0, s->name, "create failed: %s: %s", dg_strerror(rc),
              err[0] ? err : "(no message)");
        for (size_t i = 0; i < dg_kit_n_violations(k); i++)
            detail(r, "!", "%s", dg_kit_violation_at(k, i));
        dg_kit_free(k);
        return;
    }
    rc = channel ? r->p->channel.start(self, err, sizeof err)
                 : r->p->store.start(self, err, sizeof err);
    if (rc != DG_OK) {
        snprintf(summary, sizeof summary, "start failed: %s: %s", dg_strerror(rc),
                 err[0] ? err : "(no message)");
        ok = 0;
        dg_kit_start_failed(k); /* the daemon drops what a failed start set up */
        goto destroy;
    }
    if (s->exercise_routes) {
        size_t off = 0;
        for (size_t i = 0; i < dg_kit_n_routes(k) && off < sizeof routes; i++) {
            const dg_kit_route *rt = dg_kit_route_at(k, i);
            int st = dg_kit_inject(k, rt, "{}");
            char answer[32];
            if (st > 0)
                snprintf(answer, sizeof answer, "%d", st);
            else
                snprintf(answer, sizeof answer, "%s", st ? dg_strerror(st) : "no answer yet");
            off += (size_t)snprintf(routes + off, sizeof routes - off, "%s%s %s -> %s",
                                    i ? ", " : "", rt->method, rt->path, answer);
        }
    }
    work = start_op(r, k, self, channel ? "send" : "backfill", &held, why, sizeof why);
    if (!work)
        ok = 0;
    else if (!s->stop_in_flight && !drive(k, work, DRAIN_LIMIT_MS))
        ok = 0, snprintf(why, sizeof why, "%s never completed (%d s of virtual time)",
                         channel ? "send" : "backfill", DRAIN_LIMIT_MS / 1000);
    if (!channel && r->p->store.act && work) {
        char act_why[256] = ""; /* act may refuse a re-read at once: allowed */
        if ((act = start_op(r, k, self, "act", &held, act_why, sizeof act_why)) != 0 &&
            !drive(k, act, DRAIN_LIMIT_MS))
            dg_kit_violation(k, "act never completed (%d s of virtual time)",
                             DRAIN_LIMIT_MS / 1000);
    }
    if (work && !s->stop_in_flight)
        ok &= judge(r, k, s, dg_kit_op_get(k, work), summary, sizeof summary);
    stop = dg_kit_new_op(k, "stop");
    rc = channel ? r->p->channel.stop(self, stop) : r->p->store.stop(self, stop);
    if (rc == DG_PENDING) {
        if (!drive(k, stop, DRAIN_LIMIT_MS))
            dg_kit_violation(k, "stop returned DG_PENDING but never completed its op");
    } else if (rc == DG_OK) {
        if (dg_kit_op_get(k, stop)->completions)
            dg_kit_violation(k, "stop returned DG_OK and also completed its op");
    } else {
        dg_kit_violation(k, "stop returned %s: it returns DG_OK or DG_PENDING", dg_strerror(rc));
    }
    if (work && s->stop_in_flight) {
        const dg_kit_op *o = dg_kit_op_get(k, work);
        if (o->completions == 1)
            snprintf(summary, sizeof summary,
                     "in-flight send completed once before stop finished (%s)",
                     o->status == DG_OK ? "OK" : dg_strerror(o->status));
        else if (o->completions > 1)
            snprintf(summary, sizeof summary, "in-flight send completed %d times", o->completions);
        else
            snprintf(summary, sizeof summary,
                     "the in-flight send was not completed when stop finished");
    }
    dg_kit_stopped(k);
    /* Whatever the plugin left behind gets its chance to misbehave now. */
    dg_kit_pump(k);
    dg_kit_advance(k, PROBE_AFTER_STOP_MS);
    dg_kit_pump(k);
destroy:
    if (channel)
        r->p->channel.destroy(self);
    else
        r->p->store.destroy(self);
    dg_kit_destroyed(k);
    if (held)
        check_borrowed(k);
    free_held(held);
    ok &= dg_kit_n_violations(k) == 0;
    check(r, ok, s->name, "%s", why[0] ? why : summary[0] ? summary : "completed");
    if (routes[0])
        detail(r, "routes:", "%s", routes);
    if (!channel && dg_kit_n_emitted(k))
        detail(r, "emitted:", "%zu event(s)", dg_kit_n_emitted(k));
    for (size_t i = 0; i < dg_kit_n_violations(k); i++)
        detail(r, "!", "%s", dg_kit_violation_at(k, i));
    for (size_t i = 0; i < dg_kit_n_notes(k); i++)
        detail(r, "note:", "%s", dg_kit_note_at(k, i));
    if (s->exercise_routes) {
        r->made_calls = dg_kit_n_calls(k) > 0;
        r->smtp = r->made_calls && dg_kit_calls(k)->smtp;
    }
    record_calls(r, k, s);
    dg_kit_free(k);
}

static void run_scenarios(run *r)
{
    scenario s[4];
    memset(s, 0, sizeof s);
    s[0].name = r->p->desc->kind == DG_PLUGIN_CHANNEL ? "lifecycle + send" : "lifecycle";
    s[0].peer = r->ok_peer;
    s[0].exercise_routes = 1;
    s[0].expect = r->p->desc->kind == DG_PLUGIN_CHANNEL ? EXP_OK : EXP_ANY;
    run_scenario(r, &s[0]);
    if (r->p->desc->kind != DG_PLUGIN_CHANNEL)
        return;

    s[1].name = "503 + Retry-After";
    s[1].peer = (dg_kit_peer){503, 451,  "application/json", "{\"error\":\"overloaded\"}",
                              "7", 7000, DG_HTTP_OK};
    s[1].expect = EXP_RETRY_AFTER;
    s[2].name = "transport error";
    s[2].peer = (dg_kit_peer){0, 0, NULL, NULL, NULL, -1, DG_HTTP_ECONNECT};
    s[2].expect = EXP_RETRYABLE;
    s[3].name = "stop in flight";
    s[3].peer = r->ok_peer;
    s[3].stop_in_flight = 1;
    s[3].expect = EXP_ANY;
    for (int i = 1; i < 3; i++) {
        if (r->made_calls)
            run_scenario(r, &s[i]);
        else
            skip(r, s[i].name, "the plugin made no outbound call when sending");
    }
    run_scenario(r, &s[3]); /* parked work (timers) counts too */
}

/* ------------------------------------------------------------- driver */

static void rm_tmpdir(const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    char p[600];
    while (d && (e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        snprintf(p, sizeof p, "%s/%s", dir, e->d_name);
        unlink(p);
    }
    if (d)
        closedir(d);
    rmdir(dir);
}

int dg_conformance_run(const char *path, const dg_conformance_opts *o)
{
    run r;
    dg_loader *ld = NULL;
    char err[1024] = "", file[1024];
    const char *tmp = getenv("TMPDIR");
    int rc;
    memset(&r, 0, sizeof r);
    r.out = o->out;
    r.ok_peer = (dg_kit_peer){200,
                              250,
                              "application/json",
                              "{\"id\":\"kit-msg-1\",\"message_id\":\"kit-msg-1\","
                              "\"sid\":\"kit-msg-1\",\"messages\":[{\"id\":\"kit-msg-1\"}]}",
                              NULL,
                              -1,
                              DG_HTTP_OK};
    /* A path without a slash would be searched for as a plugin name. */
    snprintf(file, sizeof file, "%s%s", strchr(path, '/') ? "" : "./", path);
    fprintf(r.out, "duegate plugin-test %s\n", path);
    if ((rc = dg_loader_new(&ld, NULL, 0, err, sizeof err)) != 0) {
        fprintf(r.out, "  FAIL  %-18s %s\n", "load", err);
        return rc;
    }
    if (dg_loader_load(ld, file, &r.p, err, sizeof err) != 0) {
        check(&r, 0, "load/ABI", "%s", err);
        goto done;
    }
    snprintf(r.tmpdir, sizeof r.tmpdir, "%s/dg-plugin-test-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    if (!mkdtemp(r.tmpdir)) {
        check(&r, 0, "setup", "cannot create a temporary directory: %s", strerror(errno));
        r.tmpdir[0] = '\0';
        goto done;
    }
    check_descriptor(&r);
    check_schema(&r);
    if (build_config(&r, o->instance_file) == 0)
        run_scenarios(&r);
done:
    if (r.n_requests)
        fprintf(r.out, "\nRecorded outbound requests (secrets masked):\n%s", r.requests);
    if (r.logs)
        fprintf(r.out, "\nPlugin log (masked as the daemon would):\n%s", r.logs);
    fprintf(r.out, "\n%s: %d passed, %d failed, %d skipped\n", r.failed ? "FAILED" : "PASSED",
            r.passed, r.failed, r.skipped);
    if (r.tmpdir[0])
        rm_tmpdir(r.tmpdir);
    free(r.requests);
    free(r.logs);
    free(r.ok_body);
    free(r.ok_ctype);
    cJSON_Delete(r.conf);
    dg_loader_free(ld);
    return r.failed;
}
