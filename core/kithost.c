/* The conformance kit's instrumented host table; see kithost.h. */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "crypto.h"
#include "error.h"
#include "form.h"
#include "kithost.h"
#include "log.h"

#define KIT_MAX_LINES 64
#define KIT_MAX_OPS 256
#define KIT_MAX_ROUTES 32
#define KIT_START_MS 1772442000000LL /* 2026-03-02T09:00:00Z */

typedef enum { T_ARMED, T_FIRED, T_STOPPED, T_DROPPED } timer_state;

struct dg_timer {
    dg_kit *k;
    int64_t due, repeat;
    dg_timer_cb cb;
    void *ud;
    timer_state state;
    struct dg_timer *next;
};

struct dg_http_req {
    dg_kit *k;
    const dg_kit_route *route;
    char *body;
    int answered;
    int status;
    struct dg_http_req *next;
};

typedef struct line {
    char *text;
    unsigned count;
} line;

typedef struct tracked { /* a form or a state buffer handed to the plugin */
    void *p;
    struct tracked *next;
} tracked;

typedef struct state_kv {
    char *key, *value;
    size_t len;
    int64_t expires; /* 0: never */
    struct state_kv *next;
} state_kv;

typedef struct jtext {
    char *text;
    struct jtext *next;
} jtext;

struct dg_kit {
    const dg_config_field *schema;
    cJSON *conf;
    char *secrets[16];
    size_t n_secrets;
    pthread_t loop_thread;
    dg_kit_phase phase;
    int64_t now;
    dg_op next_op;
    dg_kit_op ops[KIT_MAX_OPS];
    size_t n_ops;
    struct dg_timer *timers;
    dg_kit_route routes[KIT_MAX_ROUTES];
    size_t n_routes;
    dg_kit_call *calls, *calls_tail;
    struct dg_http_req *reqs;
    size_t n_calls;
    dg_kit_peer peer;
    tracked *forms, *buffers;
    state_kv *state;
    jtext *jtexts;
    size_t n_emitted;
    char *log; /* masked log text */
    size_t log_len;
    line violations[KIT_MAX_LINES], notes[KIT_MAX_LINES];
    size_t n_violations, n_notes;
};

static dg_kit *g_kit; /* the one live kit (free/form helpers take no instance) */

/* ------------------------------------------------------------- records */

static void add_line(line *arr, size_t *n, const char *fmt, va_list ap)
{
    char buf[512];
    vsnprintf(buf, sizeof buf, fmt, ap);
    for (size_t i = 0; i < *n; i++)
        if (strcmp(arr[i].text, buf) == 0) {
            arr[i].count++;
            return;
        }
    if (*n >= KIT_MAX_LINES)
        return;
    arr[*n].text = strdup(buf);
    if (arr[*n].text) {
        arr[*n].count = 1;
        (*n)++;
    }
}

void dg_kit_violation(dg_kit *k, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    add_line(k->violations, &k->n_violations, fmt, ap);
    va_end(ap);
}

void dg_kit_note(dg_kit *k, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    add_line(k->notes, &k->n_notes, fmt, ap);
    va_end(ap);
}

size_t dg_kit_n_violations(dg_kit *k) { return k->n_violations; }
size_t dg_kit_n_notes(dg_kit *k) { return k->n_notes; }

static const char *line_at(line *arr, size_t n, size_t i)
{
    static char buf[600];
    if (i >= n)
        return NULL;
    if (arr[i].count == 1)
        return arr[i].text;
    snprintf(buf, sizeof buf, "%s (x%u)", arr[i].text, arr[i].count);
    return buf;
}

const char *dg_kit_violation_at(dg_kit *k, size_t i)
{
    return line_at(k->violations, k->n_violations, i);
}
const char *dg_kit_note_at(dg_kit *k, size_t i) { return line_at(k->notes, k->n_notes, i); }

int dg_kit_has_secret(dg_kit *k, const char *s)
{
    for (size_t i = 0; s && i < k->n_secrets; i++)
        if (strstr(s, k->secrets[i]))
            return 1;
    return 0;
}

char *dg_kit_mask(dg_kit *k, const char *s)
{
    char *out = strdup(s ? s : ""), *p;
    for (size_t i = 0; out && i < k->n_secrets; i++) {
        size_t sl = strlen(k->secrets[i]);
        while ((p = strstr(out, k->secrets[i])) != NULL) {
            char *n = malloc(strlen(out) - sl + 5);
            if (!n) {
                free(out);
                return NULL;
            }
            memcpy(n, out, (size_t)(p - out));
            strcpy(n + (p - out), "****");
            strcat(n, p + sl);
            free(out);
            out = n;
        }
    }
    return out;
}

static void log_append(dg_kit *k, const char *s)
{
    size_t n = strlen(s);
    char *nl = realloc(k->log, k->log_len + n + 1);
    if (!nl)
        return;
    memcpy(nl + k->log_len, s, n + 1);
    k->log = nl;
    k->log_len += n;
}

/* --------------------------------------------------------------- guard */

/* Every slot starts here: the right thread, and nothing after stop. Returns
 * 1 when the call must be ignored. */
static int guard(dg_kit *k, const char *fn)
{
    if (!k)
        return 1;
    if (!pthread_equal(pthread_self(), k->loop_thread))
        dg_kit_violation(k, "host->%s called from a thread other than the loop thread", fn);
    if (k->phase != DG_KIT_RUNNING && strcmp(fn, "free") != 0) {
        dg_kit_violation(k, "host->%s called after stop completed (only host->free is allowed)",
                         fn);
        return 1;
    }
    return 0;
}

#define KIT(inst) ((dg_kit *)(void *)(inst))

/* ------------------------------------------------------------- logging */

static void k_log(dg_instance *inst, dg_log_level level, const char *event, const dg_kv *kv,
                  size_t n)
{
    dg_kit *k = KIT(inst);
    char buf[1024], val[256];
    size_t off;
    if (guard(k, "log"))
        return;
    off = (size_t)snprintf(buf, sizeof buf, "%s %s", dg_log_level_name(level),
                           event ? event : "(null)");
    for (size_t i = 0; i < n && off < sizeof buf; i++) {
        const char *v = kv[i].value ? kv[i].value : "";
        if (kv[i].flags != DG_KV_SECRET && dg_kit_has_secret(k, v))
            dg_kit_violation(k, "log event '%s': key '%s' shows a secret (flag it DG_KV_SECRET)",
                             event ? event : "", kv[i].key ? kv[i].key : "");
        switch (kv[i].flags) {
        case DG_KV_SECRET: snprintf(val, sizeof val, "****"); break;
        case DG_KV_PHONE: dg_mask_phone(v, val, sizeof val); break;
        case DG_KV_EMAIL: dg_mask_email(v, val, sizeof val); break;
        case DG_KV_TEXT: snprintf(val, sizeof val, "(%zu bytes)", strlen(v)); break;
        default: snprintf(val, sizeof val, "%s", v); break;
        }
        off += (size_t)snprintf(buf + off, sizeof buf - off, " %s=%s",
                                kv[i].key ? kv[i].key : "?", val);
    }
    char *masked = dg_kit_mask(k, buf);
    if (masked) {
        log_append(k, masked);
        log_append(k, "\n");
    }
    free(masked);
}

static const char *k_strerror(int code)
{
    guard(g_kit, "strerror");
    return dg_strerror(code);
}

/* -------------------------------------------------------------- config */

static const cJSON *conf_item(dg_kit *k, const char *key, const char *fn)
{
    int known = 0;
    if (guard(k, fn) || !key)
        return NULL;
    for (const dg_config_field *f = k->schema; f && f->key; f++)
        known |= strcmp(f->key, key) == 0;
    if (!known)
        dg_kit_note(k, "host->%s(\"%s\"): key not declared in the config schema", fn, key);
    return cJSON_GetObjectItemCaseSensitive(k->conf, key);
}

static const char *k_instance_name(dg_instance *inst)
{
    return guard(KIT(inst), "instance_name") ? NULL : "kit";
}

static const char *k_config_string(dg_instance *inst, const char *key)
{
    const cJSON *v = conf_item(KIT(inst), key, "config_string");
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

static int k_config_int(dg_instance *inst, const char *key, int64_t *out)
{
    const cJSON *v = conf_item(KIT(inst), key, "config_int");
    if (!v)
        return DG_ENOTFOUND;
    if (!cJSON_IsNumber(v))
        return DG_EINVAL;
    *out = (int64_t)v->valuedouble;
    return 0;
}

static int k_config_bool(dg_instance *inst, const char *key, int *out)
{
    const cJSON *v = conf_item(KIT(inst), key, "config_bool");
    if (!v)
        return DG_ENOTFOUND;
    if (!cJSON_IsBool(v))
        return DG_EINVAL;
    *out = cJSON_IsTrue(v);
    return 0;
}

static int k_config_double(dg_instance *inst, const char *key, double *out)
{
    const cJSON *v = conf_item(KIT(inst), key, "config_double");
    if (!v)
        return DG_ENOTFOUND;
    if (!cJSON_IsNumber(v))
        return DG_EINVAL;
    *out = v->valuedouble;
    return 0;
}

static size_t k_config_array_len(dg_instance *inst, const char *key)
{
    const cJSON *v = conf_item(KIT(inst), key, "config_array_len");
    return cJSON_IsArray(v) ? (size_t)cJSON_GetArraySize(v) : 0;
}

static const char *k_config_array_string(dg_instance *inst, const char *key, size_t idx)
{
    const cJSON *v = conf_item(KIT(inst), key, "config_array_string");
    const cJSON *e = cJSON_IsArray(v) ? cJSON_GetArrayItem(v, (int)idx) : NULL;
    return cJSON_IsString(e) ? e->valuestring : NULL;
}

static const char *k_config_json(dg_instance *inst, const char *key)
{
    dg_kit *k = KIT(inst);
    const cJSON *v = conf_item(k, key, "config_json");
    jtext *j;
    if (!v || !(j = calloc(1, sizeof *j)))
        return NULL;
    if (!(j->text = cJSON_PrintUnformatted(v))) {
        free(j);
        return NULL;
    }
    j->next = k->jtexts;
    k->jtexts = j;
    return j->text;
}

static const char *k_public_url(dg_instance *inst)
{
    return guard(KIT(inst), "public_url") ? NULL : "https://duegate-kit.example";
}

/* ----------------------------------------------------------------- ops */

dg_op dg_kit_new_op(dg_kit *k, const char *what)
{
    dg_kit_op *o;
    if (k->n_ops >= KIT_MAX_OPS)
        return 0;
    o = &k->ops[k->n_ops++];
    memset(o, 0, sizeof *o);
    o->id = ++k->next_op + 1000; /* not 0, not 1: catch plugins that invent ids */
    o->what = what;
    return o->id;
}

const dg_kit_op *dg_kit_op_get(dg_kit *k, dg_op id)
{
    for (size_t i = 0; i < k->n_ops; i++)
        if (k->ops[i].id == id)
            return &k->ops[i];
    return NULL;
}

static void k_complete(dg_instance *inst, dg_op op, const dg_result *res)
{
    dg_kit *k = KIT(inst);
    dg_kit_op *o;
    if (guard(k, "complete"))
        return;
    o = (dg_kit_op *)dg_kit_op_get(k, op);
    if (!o) {
        dg_kit_violation(k, "host->complete of unknown op %llu", (unsigned long long)op);
        return;
    }
    if (++o->completions > 1) {
        dg_kit_violation(k, "op %llu (%s) completed %d times (exactly once is the rule)",
                         (unsigned long long)op, o->what, o->completions);
        return;
    }
    if (!res) {
        o->status = DG_OK;
        return;
    }
    if (res->struct_size < offsetof(dg_result, reserved))
        dg_kit_violation(k, "op %llu (%s): dg_result.struct_size %u is too small (use DG_INIT)",
                         (unsigned long long)op, o->what, (unsigned)res->struct_size);
    o->status = res->status;
    o->error_class = res->error_class;
    o->retry_after_ms = res->retry_after_ms;
    snprintf(o->provider_id, sizeof o->provider_id, "%s",
             res->provider_id ? res->provider_id : "");
    snprintf(o->error_message, sizeof o->error_message, "%s%s%s",
             res->error_code ? res->error_code : "", res->error_code ? " " : "",
             res->error_message ? res->error_message : "");
    if (dg_kit_has_secret(k, res->error_message) || dg_kit_has_secret(k, res->error_code))
        dg_kit_violation(k, "op %llu (%s): the result's error text shows a secret",
                         (unsigned long long)op, o->what);
}

/* --------------------------------------------------------- clock, timers */

int64_t dg_kit_now(dg_kit *k) { return k->now; }

static int64_t k_now_ms(dg_instance *inst)
{
    dg_kit *k = KIT(inst);
    guard(k, "now_ms");
    return k->now;
}

static dg_timer *k_timer_start(dg_instance *inst, int64_t delay, int64_t repeat, dg_timer_cb cb,
                               void *ud)
{
    dg_kit *k = KIT(inst);
    struct dg_timer *t;
    if (guard(k, "timer_start"))
        return NULL;
    if (!cb || delay < 0 || repeat < 0) {
        dg_kit_violation(k, "host->timer_start with a NULL callback or a negative delay");
        return NULL;
    }
    if (!(t = calloc(1, sizeof *t)))
        return NULL;
    t->k = k;
    t->due = k->now + delay;
    t->repeat = repeat;
    t->cb = cb;
    t->ud = ud;
    t->next = k->timers;
    k->timers = t;
    return t;
}

static void k_timer_stop(dg_timer *t)
{
    if (!t || guard(t->k, "timer_stop"))
        return;
    if (t->state == T_FIRED)
        dg_kit_violation(t->k, "host->timer_stop on a one-shot timer that already fired "
                               "(it released itself: a use after free in the daemon)");
    else if (t->state == T_STOPPED)
        dg_kit_violation(t->k, "host->timer_stop called twice on the same timer");
    else
        t->state = T_STOPPED;
}

int64_t dg_kit_next_timer_in(dg_kit *k)
{
    int64_t best = -1;
    for (struct dg_timer *t = k->timers; t; t = t->next)
        if (t->state == T_ARMED && (best < 0 || t->due - k->now < best))
            best = t->due - k->now < 0 ? 0 : t->due - k->now;
    return best;
}

int dg_kit_advance(dg_kit *k, int64_t ms)
{
    int64_t end = k->now + ms;
    int fired = 0;
    for (;;) {
        struct dg_timer *next = NULL;
        for (struct dg_timer *t = k->timers; t; t = t->next)
            if (t->state == T_ARMED && t->due <= end && (!next || t->due < next->due))
                next = t;
        if (!next)
            break;
        if (next->due > k->now)
            k->now = next->due;
        if (next->repeat > 0)
            next->due += next->repeat;
        else
            next->state = T_FIRED;
        fired++;
        next->cb(next->ud);
    }
    k->now = end;
    return fired;
}

/* -------------------------------------------------------------- events */

static int k_emit_order(dg_instance *inst, const dg_order_event *ev, dg_emit_done_cb done,
                        void *ud)
{
    dg_kit *k = KIT(inst);
    (void)done, (void)ud;
    if (guard(k, "emit_order"))
        return DG_ESTATE;
    if (!ev || ev->struct_size < offsetof(dg_order_event, reserved)) {
        dg_kit_violation(k, "host->emit_order with a NULL event or a short struct_size");
        return DG_EINVAL;
    }
    if (!ev->order_id)
        dg_kit_violation(k, "host->emit_order: event without order_id");
    k->n_emitted++;
    return DG_OK;
}

static int k_emit_channel_event(dg_instance *inst, const dg_channel_event *ev,
                                dg_emit_done_cb done, void *ud)
{
    dg_kit *k = KIT(inst);
    (void)done, (void)ud;
    if (guard(k, "emit_channel_event"))
        return DG_ESTATE;
    if (!ev || ev->struct_size < offsetof(dg_channel_event, reserved)) {
        dg_kit_violation(k, "host->emit_channel_event with a NULL event or a short struct_size");
        return DG_EINVAL;
    }
    if (ev->kind < DG_CHEV_SENT || ev->kind > DG_CHEV_OPTED_IN)
        dg_kit_violation(k, "host->emit_channel_event: unknown kind %d", (int)ev->kind);
    k->n_emitted++;
    return DG_OK;
}

/* --------------------------------------------------------------- state */

static void track(tracked **list, void *p)
{
    tracked *t = calloc(1, sizeof *t);
    if (!t)
        return;
    t->p = p;
    t->next = *list;
    *list = t;
}

static int untrack(tracked **list, void *p)
{
    for (tracked **pp = list; *pp; pp = &(*pp)->next)
        if ((*pp)->p == p) {
            tracked *t = *pp;
            *pp = t->next;
            free(t);
            return 1;
        }
    return 0;
}

static state_kv *state_find(dg_kit *k, const char *key)
{
    for (state_kv *s = k->state; s; s = s->next)
        if (strcmp(s->key, key) == 0 && (!s->expires || s->expires > k->now))
            return s;
    return NULL;
}

static int k_state_get(dg_instance *inst, const char *key, char **value, size_t *len)
{
    dg_kit *k = KIT(inst);
    state_kv *s;
    if (guard(k, "state_get"))
        return DG_ESTATE;
    if (!key || !value)
        return DG_EINVAL;
    if (!(s = state_find(k, key)))
        return DG_ENOTFOUND;
    if (!(*value = malloc(s->len + 1)))
        return DG_ENOMEM;
    memcpy(*value, s->value, s->len + 1);
    if (len)
        *len = s->len;
    track(&k->buffers, *value);
    return DG_OK;
}

static int k_state_del(dg_instance *inst, const char *key)
{
    dg_kit *k = KIT(inst);
    if (guard(k, "state_del"))
        return DG_ESTATE;
    for (state_kv **pp = &k->state; *pp; pp = &(*pp)->next)
        if (strcmp((*pp)->key, key) == 0) {
            state_kv *s = *pp;
            *pp = s->next;
            free(s->key);
            free(s->value);
            free(s);
            return DG_OK;
        }
    return DG_ENOTFOUND;
}

static int k_state_put(dg_instance *inst, const char *key, const void *value, size_t len,
                       int64_t ttl_ms)
{
    dg_kit *k = KIT(inst);
    state_kv *s;
    if (guard(k, "state_put"))
        return DG_ESTATE;
    if (!key || (!value && len))
        return DG_EINVAL;
    k_state_del(inst, key);
    if (!(s = calloc(1, sizeof *s)) || !(s->key = strdup(key)) ||
        !(s->value = malloc(len + 1))) {
        if (s)
            free(s->key);
        free(s);
        return DG_ENOMEM;
    }
    if (len)
        memcpy(s->value, value, len);
    s->value[len] = '\0';
    s->len = len;
    s->expires = ttl_ms > 0 ? k->now + ttl_ms : 0;
    s->next = k->state;
    k->state = s;
    return DG_OK;
}

static void k_free(void *p)
{
    if (!p)
        return;
    guard(g_kit, "free");
    if (g_kit && !untrack(&g_kit->buffers, p)) {
        dg_kit_violation(g_kit, "host->free of a pointer the host did not hand out");
        return; /* not ours: freeing it could corrupt the heap */
    }
    free(p);
}

/* ------------------------------------------------------ metrics, health */

static void k_metric(dg_instance *inst, const char *name, const dg_kv *labels, size_t n,
                     double v)
{
    (void)labels, (void)n, (void)v;
    if (!guard(KIT(inst), "metric_*") && (!name || !*name))
        dg_kit_violation(KIT(inst), "host->metric_* with an empty metric name");
}

static void k_set_health(dg_instance *inst, int healthy, const char *reason)
{
    dg_kit *k = KIT(inst);
    if (guard(k, "set_health"))
        return;
    if (!healthy)
        dg_kit_note(k, "plugin reported itself unhealthy: %s", reason ? reason : "(no reason)");
}

/* ------------------------------------------------------------- inbound */

static int k_http_route(dg_instance *inst, const char *method, const char *path,
                        dg_http_handler handler, void *ud)
{
    dg_kit *k = KIT(inst);
    dg_kit_route *r;
    if (guard(k, "http_route"))
        return DG_ESTATE;
    if (!method || !path || path[0] != '/' || !handler)
        return DG_EINVAL;
    for (size_t i = 0; i < k->n_routes; i++)
        if (strcmp(k->routes[i].method, method) == 0 && strcmp(k->routes[i].path, path) == 0)
            return DG_EEXIST;
    if (k->n_routes >= KIT_MAX_ROUTES)
        return DG_ENOMEM;
    r = &k->routes[k->n_routes];
    if (!(r->method = strdup(method)) || !(r->path = strdup(path))) {
        free(r->method);
        return DG_ENOMEM;
    }
    r->handler = handler;
    r->ud = ud;
    k->n_routes++;
    return DG_OK;
}

size_t dg_kit_n_routes(dg_kit *k) { return k->n_routes; }
const dg_kit_route *dg_kit_route_at(dg_kit *k, size_t i)
{
    return i < k->n_routes ? &k->routes[i] : NULL;
}

static int req_ok(dg_http_req *r, const char *fn)
{
    if (!r || guard(r->k, fn))
        return 0;
    if (r->answered) {
        dg_kit_violation(r->k, "host->%s after the request was answered (its data is gone)", fn);
        return 0;
    }
    return 1;
}

static const char *k_req_method(dg_http_req *r)
{
    return req_ok(r, "http_req_method") ? r->route->method : NULL;
}
static const char *k_req_path(dg_http_req *r)
{
    return req_ok(r, "http_req_path") ? r->route->path : NULL;
}
static const char *k_req_query(dg_http_req *r) { return req_ok(r, "http_req_query") ? "" : NULL; }
static const char *k_req_header(dg_http_req *r, const char *name)
{
    if (!req_ok(r, "http_req_header") || !name)
        return NULL;
    return strcasecmp(name, "Content-Type") == 0 ? "application/json" : NULL;
}
static const void *k_req_body(dg_http_req *r, size_t *len)
{
    if (!req_ok(r, "http_req_body"))
        return NULL;
    if (len)
        *len = strlen(r->body);
    return r->body;
}

static int k_respond(dg_http_req *r, int status, const dg_kv *h, size_t nh, const void *body,
                     size_t len)
{
    (void)h, (void)nh, (void)body, (void)len;
    if (!req_ok(r, "http_respond"))
        return DG_ESTATE;
    if (status < 100 || status > 599)
        dg_kit_violation(r->k, "host->http_respond with status %d", status);
    r->answered = 1;
    r->status = status;
    return DG_OK;
}

int dg_kit_inject(dg_kit *k, const dg_kit_route *rt, const char *body)
{
    struct dg_http_req *req = calloc(1, sizeof *req);
    if (!req || !(req->body = strdup(body ? body : ""))) {
        free(req);
        return DG_ENOMEM;
    }
    req->k = k;
    req->route = rt;
    req->next = k->reqs; /* kept until dg_kit_free: it may be answered later */
    k->reqs = req;
    rt->handler(rt->ud, req);
    return req->answered ? req->status : 0;
}

/* ------------------------------------------------------------ outbound */

static void add_header(char **buf, size_t *len, const char *name, const char *value)
{
    size_t n = strlen(name) + strlen(value) + 4;
    char *nb = realloc(*buf, *len + n + 1);
    if (!nb)
        return;
    *len += (size_t)sprintf(nb + *len, "%s: %s\n", name, value);
    *buf = nb;
}

static dg_kit_call *record(dg_kit *k, int smtp, const char *method, const char *url,
                           const void *body, size_t body_len, dg_http_done_cb done, void *ud)
{
    dg_kit_call *c = calloc(1, sizeof *c);
    char *raw = malloc(body_len + 1);
    if (!c || !raw) {
        free(c);
        free(raw);
        return NULL;
    }
    if (body_len)
        memcpy(raw, body, body_len);
    raw[body_len] = '\0';
    c->kit = k;
    c->smtp = smtp;
    c->method = strdup(method);
    c->url = dg_kit_mask(k, url);
    c->body = dg_kit_mask(k, raw);
    c->body_len = body_len;
    c->done = done;
    c->ud = ud;
    free(raw);
    if (k->calls_tail)
        k->calls_tail->next = c;
    else
        k->calls = c;
    k->calls_tail = c;
    k->n_calls++;
    return c;
}

static int k_http_request(dg_instance *inst, const dg_http_request *req, dg_http_done_cb done,
                          void *ud, dg_http_call **call)
{
    dg_kit *k = KIT(inst);
    dg_kit_call *c;
    size_t hl = 0;
    if (call)
        *call = NULL;
    if (guard(k, "http_request"))
        return DG_ESTATE;
    if (!req || !req->method || !req->url || !done) {
        dg_kit_violation(k, "host->http_request without a request, method, URL or callback");
        return DG_EINVAL;
    }
    if (req->struct_size < offsetof(dg_http_request, reserved))
        dg_kit_violation(k, "dg_http_request.struct_size %u is too small (use DG_INIT)",
                         (unsigned)req->struct_size);
    if (!(c = record(k, 0, req->method, req->url, req->body, req->body_len, done, ud)))
        return DG_ENOMEM;
    for (size_t i = 0; i < req->n_headers; i++) {
        const char *v = req->headers[i].value ? req->headers[i].value : "";
        if (req->headers[i].flags != DG_KV_SECRET && dg_kit_has_secret(k, v))
            dg_kit_note(k, "request header %s carries a secret but is not flagged DG_KV_SECRET",
                        req->headers[i].key);
        char *m = req->headers[i].flags == DG_KV_SECRET ? strdup("****") : dg_kit_mask(k, v);
        add_header(&c->headers, &hl, req->headers[i].key ? req->headers[i].key : "?",
                   m ? m : "");
        free(m);
    }
    if (req->bearer_token)
        add_header(&c->headers, &hl, "Authorization", "Bearer ****");
    if (req->basic_user) {
        char *u = dg_kit_mask(k, req->basic_user);
        char v[300];
        snprintf(v, sizeof v, "Basic %s:****", u ? u : "");
        add_header(&c->headers, &hl, "Authorization", v);
        free(u);
    }
    if (call)
        *call = (dg_http_call *)(void *)c;
    return DG_OK;
}

static int k_smtp_send(dg_instance *inst, const dg_smtp_message *m, dg_http_done_cb done,
                       void *ud, dg_http_call **call)
{
    dg_kit *k = KIT(inst);
    dg_kit_call *c;
    size_t hl = 0;
    if (call)
        *call = NULL;
    if (guard(k, "smtp_send"))
        return DG_ESTATE;
    if (!m || !m->url || !m->mail_from || !m->n_rcpt || !m->data || !done) {
        dg_kit_violation(k, "host->smtp_send without URL, sender, recipients, data or callback");
        return DG_EINVAL;
    }
    if (!(c = record(k, 1, "SMTP", m->url, m->data, m->data_len, done, ud)))
        return DG_ENOMEM;
    add_header(&c->headers, &hl, "MAIL FROM", m->mail_from);
    for (size_t i = 0; i < m->n_rcpt; i++)
        add_header(&c->headers, &hl, "RCPT TO", m->rcpt[i] ? m->rcpt[i] : "");
    if (call)
        *call = (dg_http_call *)(void *)c;
    return DG_OK;
}

static void k_http_cancel(dg_http_call *call)
{
    dg_kit_call *c = (dg_kit_call *)(void *)call;
    if (!c || guard(c->kit, "http_cancel"))
        return;
    if (c->answered)
        dg_kit_note(c->kit, "host->http_cancel on a call whose callback already ran");
    else if (c->canceled)
        dg_kit_violation(c->kit, "host->http_cancel called twice on the same call");
    c->canceled = 1;
}

void dg_kit_set_peer(dg_kit *k, const dg_kit_peer *p) { k->peer = *p; }

int dg_kit_pump(dg_kit *k)
{
    int n = 0;
    for (dg_kit_call *c = k->calls; c; c = c->next) {
        dg_http_response r;
        dg_kv h[2];
        size_t nh = 0;
        const dg_kit_peer *p = &k->peer;
        if (c->answered || c->canceled)
            continue;
        DG_INIT(&r);
        c->answered = 1;
        c->transport = p->transport;
        if (p->transport == DG_HTTP_OK) {
            if (p->content_type && !c->smtp)
                h[nh++] = (dg_kv){"Content-Type", p->content_type, 0};
            if (p->retry_after && !c->smtp)
                h[nh++] = (dg_kv){"Retry-After", p->retry_after, 0};
            r.status = c->status = p->status;
            r.headers = h;
            r.n_headers = nh;
            r.body = p->body ? p->body : "";
            r.body_len = strlen(r.body);
            r.retry_after_ms = p->retry_after ? p->retry_after_ms : -1;
        } else {
            r.transport_error = p->transport;
            r.error_message = "connection refused (simulated by the conformance kit)";
            r.body = "";
            r.retry_after_ms = -1;
        }
        r.elapsed_ms = 12;
        n++;
        c->done(c->ud, &r);
    }
    return n;
}

dg_kit_call *dg_kit_calls(dg_kit *k) { return k->calls; }
size_t dg_kit_n_calls(dg_kit *k) { return k->n_calls; }
size_t dg_kit_n_emitted(dg_kit *k) { return k->n_emitted; }
const char *dg_kit_log_text(dg_kit *k) { return k->log ? k->log : ""; }

/* ------------------------------------------------------------- helpers */

static int k_hmac(dg_hmac_alg alg, const void *key, size_t kl, const void *d, size_t l,
                  unsigned char *out, size_t cap)
{
    guard(g_kit, "hmac");
    return dg_hmac(alg, key, kl, d, l, out, cap);
}
static int k_ct_equal(const void *a, size_t al, const void *b, size_t bl)
{
    guard(g_kit, "ct_equal");
    return dg_ct_equal(a, al, b, bl);
}
static int k_b64(const void *in, size_t l, char *out, size_t cap)
{
    guard(g_kit, "base64_encode");
    return dg_base64_encode(in, l, out, cap);
}
static int k_hex(const void *in, size_t l, char *out, size_t cap)
{
    guard(g_kit, "hex_encode");
    return dg_hex_encode(in, l, out, cap);
}
static dg_form *k_form_parse(const char *d, size_t l)
{
    dg_form *f;
    if (guard(g_kit, "form_parse"))
        return NULL;
    if ((f = dg_form_parse(d, l)) != NULL)
        track(&g_kit->forms, f);
    return f;
}
static size_t k_form_count(const dg_form *f)
{
    guard(g_kit, "form_count");
    return dg_form_count(f);
}
static const char *k_form_name(const dg_form *f, size_t i)
{
    guard(g_kit, "form_name");
    return dg_form_name(f, i);
}
static const char *k_form_value(const dg_form *f, size_t i)
{
    guard(g_kit, "form_value");
    return dg_form_value(f, i);
}
static const char *k_form_get(const dg_form *f, const char *n)
{
    guard(g_kit, "form_get");
    return dg_form_get(f, n);
}
static void k_form_free(dg_form *f)
{
    if (!f)
        return;
    guard(g_kit, "form_free"); /* after stop: flagged, but freed anyway */
    if (g_kit && !untrack(&g_kit->forms, f)) {
        dg_kit_violation(g_kit, "host->form_free of a form the host did not hand out");
        return;
    }
    dg_form_free(f);
}

/* --------------------------------------------------------------- table */

static const dg_host kit_host = {
    .struct_size = sizeof(dg_host),
    .abi_major = DG_ABI_MAJOR,
    .abi_minor = DG_ABI_MINOR,
    .log = k_log,
    .strerror = k_strerror,
    .instance_name = k_instance_name,
    .config_string = k_config_string,
    .config_int = k_config_int,
    .config_bool = k_config_bool,
    .config_double = k_config_double,
    .config_array_len = k_config_array_len,
    .config_array_string = k_config_array_string,
    .config_json = k_config_json,
    .public_url = k_public_url,
    .complete = k_complete,
    .now_ms = k_now_ms,
    .timer_start = k_timer_start,
    .timer_stop = k_timer_stop,
    .emit_order = k_emit_order,
    .emit_channel_event = k_emit_channel_event,
    .state_get = k_state_get,
    .state_put = k_state_put,
    .state_del = k_state_del,
    .free = k_free,
    .metric_add = k_metric,
    .metric_set = k_metric,
    .metric_observe = k_metric,
    .set_health = k_set_health,
    .http_route = k_http_route,
    .http_req_method = k_req_method,
    .http_req_path = k_req_path,
    .http_req_query = k_req_query,
    .http_req_header = k_req_header,
    .http_req_body = k_req_body,
    .http_respond = k_respond,
    .http_request = k_http_request,
    .http_cancel = k_http_cancel,
    .smtp_send = k_smtp_send,
    .hmac = k_hmac,
    .ct_equal = k_ct_equal,
    .base64_encode = k_b64,
    .hex_encode = k_hex,
    .form_parse = k_form_parse,
    .form_count = k_form_count,
    .form_name = k_form_name,
    .form_value = k_form_value,
    .form_get = k_form_get,
    .form_free = k_form_free,
};

const dg_host *dg_kit_host(void) { return &kit_host; }
dg_instance *dg_kit_inst(dg_kit *k) { return (dg_instance *)(void *)k; }

/* ----------------------------------------------------------- lifecycle */

dg_kit *dg_kit_new(const dg_config_field *schema, cJSON *conf)
{
    dg_kit *k = calloc(1, sizeof *k);
    if (!k) {
        cJSON_Delete(conf);
        return NULL;
    }
    k->schema = schema;
    k->conf = conf;
    k->loop_thread = pthread_self();
    k->now = KIT_START_MS;
    k->peer.status = 200;
    for (const dg_config_field *f = schema; f && f->key; f++) {
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(conf, f->key);
        if ((f->flags & DG_CFGF_SECRET) && cJSON_IsString(v) && strlen(v->valuestring) >= 4 &&
            k->n_secrets < 16)
            k->secrets[k->n_secrets++] = strdup(v->valuestring);
    }
    g_kit = k;
    return k;
}

void dg_kit_stopped(dg_kit *k)
{
    size_t armed = 0, open_calls = 0, forms = 0;
    for (struct dg_timer *t = k->timers; t; t = t->next)
        armed += t->state == T_ARMED;
    for (dg_kit_call *c = k->calls; c; c = c->next)
        open_calls += !c->answered && !c->canceled;
    for (tracked *t = k->forms; t; t = t->next)
        forms++;
    for (struct dg_http_req *r = k->reqs; r; r = r->next)
        if (!r->answered)
            dg_kit_violation(k, "inbound request to %s %s never answered by the time stop "
                                "finished", r->route->method, r->route->path);
    for (size_t i = 0; i < k->n_ops; i++)
        if (k->ops[i].completions == 0 && strcmp(k->ops[i].what, "stop") != 0)
            dg_kit_violation(k, "op %llu (%s) was still pending when stop finished",
                             (unsigned long long)k->ops[i].id, k->ops[i].what);
    if (armed)
        dg_kit_violation(k, "leak: %zu host timer(s) still armed when stop finished "
                            "(timer_stop them in stop)", armed);
    if (open_calls)
        dg_kit_violation(k, "leak: %zu outbound call(s) neither answered nor canceled when stop "
                            "finished (http_cancel them, or drain before completing stop)",
                         open_calls);
    if (forms)
        dg_kit_violation(k, "leak: %zu form(s) from host->form_parse never freed", forms);
    k->phase = DG_KIT_STOPPED;
}

void dg_kit_destroyed(dg_kit *k)
{
    size_t bufs = 0;
    for (tracked *t = k->buffers; t; t = t->next)
        bufs++;
    if (bufs)
        dg_kit_violation(k, "leak: %zu buffer(s) from host->state_get never released with "
                            "host->free", bufs);
    k->phase = DG_KIT_DESTROYED;
}

static void free_tracked(tracked *t, int form)
{
    while (t) {
        tracked *n = t->next;
        if (form)
            dg_form_free(t->p);
        else
            free(t->p);
        free(t);
        t = n;
    }
}

void dg_kit_free(dg_kit *k)
{
    if (!k)
        return;
    while (k->timers) {
        struct dg_timer *t = k->timers;
        k->timers = t->next;
        free(t);
    }
    while (k->calls) {
        dg_kit_call *c = k->calls;
        k->calls = c->next;
        free(c->method);
        free(c->url);
        free(c->headers);
        free(c->body);
        free(c);
    }
    while (k->reqs) {
        struct dg_http_req *r = k->reqs;
        k->reqs = r->next;
        free(r->body);
        free(r);
    }
    while (k->state) {
        state_kv *s = k->state;
        k->state = s->next;
        free(s->key);
        free(s->value);
        free(s);
    }
    while (k->jtexts) {
        jtext *j = k->jtexts;
        k->jtexts = j->next;
        free(j->text);
        free(j);
    }
    free_tracked(k->forms, 1);
    free_tracked(k->buffers, 0);
    for (size_t i = 0; i < k->n_routes; i++) {
        free(k->routes[i].method);
        free(k->routes[i].path);
    }
    for (size_t i = 0; i < k->n_violations; i++)
        free(k->violations[i].text);
    for (size_t i = 0; i < k->n_notes; i++)
        free(k->notes[i].text);
    for (size_t i = 0; i < k->n_secrets; i++)
        free(k->secrets[i]);
    free(k->log);
    cJSON_Delete(k->conf);
    if (g_kit == k)
        g_kit = NULL;
    free(k);
}
