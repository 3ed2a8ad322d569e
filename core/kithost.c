/* The conformance kit's instrumented host table; see kithost.h. */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "kithost_config.h"
#include "kithost_http.h"
#include "kithost_inbox.h"
#include "kithost_state.h"
#include "log.h"

#define KIT_MAX_LINES 64
#define KIT_MAX_OPS 256
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

typedef struct line {
    char *text;
    unsigned count;
} line;

typedef struct jtext {
    char *text;
    struct jtext *next;
} jtext;

struct dg_kit {
    dg_plugin_kind kind;
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
    dg_kit_http *http;
    dg_kit_state *state;
    jtext *jtexts;
    size_t n_emitted;
    char *log; /* masked log text */
    size_t log_len;
    line violations[KIT_MAX_LINES], notes[KIT_MAX_LINES];
    size_t n_violations, n_notes;
    struct kwork *works, *works_tail; /* run_off_loop: done not run yet */
    size_t n_works;
    dg_kit_inbox *inbox;
    int stop_asked; /* a "stop" op was made: the daemon delivers no more */
};

static dg_kit *g_kit; /* the one live kit (free/form helpers take no instance) */

dg_kit *dg__kit_current(void)
{
    return g_kit;
}
dg_kit_http *dg__kit_http(dg_kit *k)
{
    return k->http;
}

dg_kit_state *dg__kit_state(dg_kit *k)
{
    return k->state;
}

dg_kit_inbox *dg__kit_inbox(dg_kit *k)
{
    return k->inbox;
}

const cJSON *dg__kit_conf(dg_kit *k)
{
    return k->conf;
}

const dg_config_field *dg__kit_schema(dg_kit *k)
{
    return k->schema;
}

const char *dg__kit_keep(dg_kit *k, char *text)
{
    jtext *j;
    if (!text || !(j = calloc(1, sizeof *j))) {
        free(text);
        return NULL;
    }
    j->text = text;
    j->next = k->jtexts;
    k->jtexts = j;
    return text;
}

void dg_kit_set_inbox(dg_kit *k, dg_kit_inbox_fn process, void *self)
{
    dg__kit_inbox_set(k->inbox, process, self);
}

size_t dg_kit_inbox_waiting(dg_kit *k)
{
    return dg__kit_inbox_waiting(k->inbox);
}

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

size_t dg_kit_n_violations(dg_kit *k)
{
    return k->n_violations;
}
size_t dg_kit_n_notes(dg_kit *k)
{
    return k->n_notes;
}

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
const char *dg_kit_note_at(dg_kit *k, size_t i)
{
    return line_at(k->notes, k->n_notes, i);
}
size_t dg_kit_n_emitted(dg_kit *k)
{
    return k->n_emitted;
}
const char *dg_kit_log_text(dg_kit *k)
{
    return k->log ? k->log : "";
}

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
/* Set on the thread that runs run_off_loop work: only the pure helpers may
 * be called there. */
static _Thread_local int in_work;

int dg__kit_guard(dg_kit *k, const char *fn)
{
    if (!k)
        return 1;
    if (in_work) {
        static const char *const pure[] = {"hmac", "ct_equal", "base64_encode", "hex_encode"};
        for (size_t i = 0; i < sizeof pure / sizeof pure[0]; i++)
            if (strcmp(fn, pure[i]) == 0)
                return 0;
        dg_kit_violation(k,
                         "host->%s called from run_off_loop work (only hmac, ct_equal, "
                         "base64_encode and hex_encode may be called there)",
                         fn);
        return 1;
    }
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
    if (dg__kit_guard(k, "log"))
        return;
    off = (size_t)snprintf(buf, sizeof buf, "%s %s", dg_log_level_name(level),
                           event ? event : "(null)");
    for (size_t i = 0; i < n && off < sizeof buf; i++) {
        const char *v = kv[i].value ? kv[i].value : "";
        if (kv[i].flags != DG_KV_SECRET && dg_kit_has_secret(k, v))
            dg_kit_violation(k, "log event '%s': key '%s' shows a secret (flag it DG_KV_SECRET)",
                             event ? event : "", kv[i].key ? kv[i].key : "");
        switch (kv[i].flags) {
        case DG_KV_SECRET:
            snprintf(val, sizeof val, "****");
            break;
        case DG_KV_PHONE:
            dg_mask_phone(v, val, sizeof val);
            break;
        case DG_KV_EMAIL:
            dg_mask_email(v, val, sizeof val);
            break;
        case DG_KV_TEXT:
            snprintf(val, sizeof val, "(%zu bytes)", strlen(v));
            break;
        default:
            snprintf(val, sizeof val, "%s", v);
            break;
        }
        off += (size_t)snprintf(buf + off, sizeof buf - off, " %s=%s", kv[i].key ? kv[i].key : "?",
                                val);
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
    dg__kit_guard(g_kit, "strerror");
    return dg_strerror(code);
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
    if (strcmp(what, "stop") == 0)
        k->stop_asked = 1;
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
    if (dg__kit_guard(k, "complete"))
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
    snprintf(o->provider_id, sizeof o->provider_id, "%s", res->provider_id ? res->provider_id : "");
    snprintf(o->error_message, sizeof o->error_message, "%s%s%s",
             res->error_code ? res->error_code : "", res->error_code ? " " : "",
             res->error_message ? res->error_message : "");
    if (dg_kit_has_secret(k, res->error_message) || dg_kit_has_secret(k, res->error_code))
        dg_kit_violation(k, "op %llu (%s): the result's error text shows a secret",
                         (unsigned long long)op, o->what);
}

/* --------------------------------------------------------- clock, timers */

int64_t dg_kit_now(dg_kit *k)
{
    return k->now;
}

static int64_t k_now_ms(dg_instance *inst)
{
    dg_kit *k = KIT(inst);
    dg__kit_guard(k, "now_ms");
    return k->now;
}

static dg_timer *k_timer_start(dg_instance *inst, int64_t delay, int64_t repeat, dg_timer_cb cb,
                               void *ud)
{
    dg_kit *k = KIT(inst);
    struct dg_timer *t;
    if (dg__kit_guard(k, "timer_start"))
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
    if (!t || dg__kit_guard(t->k, "timer_stop"))
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

/* ------------------------------------------------ work off the loop */

typedef struct kwork {
    void (*fn)(void *);
    void (*done)(void *);
    void *ud;
    struct kwork *next;
} kwork;

static void *work_main(void *arg)
{
    kwork *w = arg;
    in_work = 1;
    w->fn(w->ud);
    return NULL;
}

/* fn runs at once on a thread of its own (so a call it makes to anything
 * but the pure helpers is caught), done at the next turn of the loop
 * (dg_kit_advance), never from inside run_off_loop. */
static int k_run_off_loop(dg_instance *inst, void (*fn)(void *), void (*done)(void *), void *ud)
{
    dg_kit *k = KIT(inst);
    pthread_t th;
    kwork *w;
    if (dg__kit_guard(k, "run_off_loop"))
        return DG_ESTATE;
    if (!fn || !done)
        return DG_EINVAL;
    if (!(w = calloc(1, sizeof *w)))
        return DG_ENOMEM;
    *w = (kwork){.fn = fn, .done = done, .ud = ud};
    if (pthread_create(&th, NULL, work_main, w) != 0) {
        free(w);
        return DG_ENOMEM;
    }
    pthread_join(th, NULL);
    if (k->works_tail)
        k->works_tail->next = w;
    else
        k->works = w;
    k->works_tail = w;
    k->n_works++;
    return DG_OK;
}

/* Run the done of every finished work item, in order. */
static void run_works(dg_kit *k)
{
    while (k->works) {
        kwork *w = k->works;
        if (!(k->works = w->next))
            k->works_tail = NULL;
        k->n_works--;
        w->done(w->ud);
        free(w);
    }
}

int dg_kit_advance(dg_kit *k, int64_t ms)
{
    int64_t end = k->now + ms;
    int fired = 0;
    run_works(k);
    dg__kit_inbox_turn(k, k->phase == DG_KIT_RUNNING && !k->stop_asked);
    for (;;) {
        struct dg_timer *next = NULL;
        for (struct dg_timer *t = k->timers; t; t = t->next)
            if (t->state == T_ARMED && t->due <= end && (!next || t->due < next->due))
                next = t;
        if (!next)
            break;
        if (fired >= 10000) {
            dg_kit_violation(k, "timer storm: more than 10000 timer callbacks in one stretch of "
                                "virtual time (a timer re-arming itself with no delay?)");
            break;
        }
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

static int k_emit_order(dg_instance *inst, const dg_order_event *ev, dg_emit_done_cb done, void *ud)
{
    dg_kit *k = KIT(inst);
    (void)done, (void)ud;
    if (dg__kit_guard(k, "emit_order"))
        return DG_ESTATE;
    if (!ev || ev->struct_size < offsetof(dg_order_event, reserved)) {
        dg_kit_violation(k, "host->emit_order with a NULL event or a short struct_size");
        return DG_EINVAL;
    }
    if (k->kind != DG_PLUGIN_STORE)
        dg_kit_violation(k, "host->emit_order from a channel plugin (stores emit orders)");
    if (!ev->order_id)
        dg_kit_violation(k, "host->emit_order: event without order_id");
    k->n_emitted++;
    return DG_OK;
}

static int k_emit_channel_event(dg_instance *inst, const dg_channel_event *ev, dg_emit_done_cb done,
                                void *ud)
{
    dg_kit *k = KIT(inst);
    (void)done, (void)ud;
    if (dg__kit_guard(k, "emit_channel_event"))
        return DG_ESTATE;
    if (!ev || ev->struct_size < offsetof(dg_channel_event, reserved)) {
        dg_kit_violation(k, "host->emit_channel_event with a NULL event or a short struct_size");
        return DG_EINVAL;
    }
    if (k->kind != DG_PLUGIN_CHANNEL)
        dg_kit_violation(k, "host->emit_channel_event from a store plugin");
    if (ev->kind < DG_CHEV_SENT || ev->kind > DG_CHEV_OPTED_IN)
        dg_kit_violation(k, "host->emit_channel_event: unknown kind %d", (int)ev->kind);
    k->n_emitted++;
    return DG_OK;
}

/* ------------------------------------------------------ metrics, health */

static void k_metric(dg_instance *inst, const char *name, const dg_kv *labels, size_t n, double v)
{
    (void)labels, (void)n, (void)v;
    if (!dg__kit_guard(KIT(inst), "metric_*") && (!name || !*name))
        dg_kit_violation(KIT(inst), "host->metric_* with an empty metric name");
}

static void k_set_health(dg_instance *inst, int healthy, const char *reason)
{
    dg_kit *k = KIT(inst);
    if (dg__kit_guard(k, "set_health"))
        return;
    if (!healthy)
        dg_kit_note(k, "plugin reported itself unhealthy: %s", reason ? reason : "(no reason)");
}

/* --------------------------------------------------------------- table */

static const dg_host kit_host = {
    .struct_size = sizeof(dg_host),
    .abi_major = DG_ABI_MAJOR,
    .abi_minor = DG_ABI_MINOR,
    .log = k_log,
    .strerror = k_strerror,
    .instance_name = dg__kit_instance_name,
    .config_string = dg__kit_config_string,
    .config_int = dg__kit_config_int,
    .config_bool = dg__kit_config_bool,
    .config_double = dg__kit_config_double,
    .config_array_len = dg__kit_config_array_len,
    .config_array_string = dg__kit_config_array_string,
    .config_json = dg__kit_config_json,
    .public_url = dg__kit_public_url,
    .complete = k_complete,
    .now_ms = k_now_ms,
    .timer_start = k_timer_start,
    .timer_stop = k_timer_stop,
    .emit_order = k_emit_order,
    .emit_channel_event = k_emit_channel_event,
    .state_get = dg__kit_state_get,
    .state_put = dg__kit_state_put,
    .state_del = dg__kit_state_del,
    .free = dg__kit_free,
    .metric_add = k_metric,
    .metric_set = k_metric,
    .metric_observe = k_metric,
    .set_health = k_set_health,
    .http_route = dg__kit_http_route,
    .http_req_method = dg__kit_req_method,
    .http_req_path = dg__kit_req_path,
    .http_req_query = dg__kit_req_query,
    .http_req_header = dg__kit_req_header,
    .http_req_body = dg__kit_req_body,
    .http_respond = dg__kit_respond,
    .http_request = dg__kit_http_request,
    .http_cancel = dg__kit_http_cancel,
    .smtp_send = dg__kit_smtp_send,
    .hmac = dg__kit_hmac,
    .ct_equal = dg__kit_ct_equal,
    .base64_encode = dg__kit_b64,
    .hex_encode = dg__kit_hex,
    .run_off_loop = k_run_off_loop,
    .inbox_append = dg__kit_inbox_append,
    .form_parse = dg__kit_form_parse,
    .form_count = dg__kit_form_count,
    .form_name = dg__kit_form_name,
    .form_value = dg__kit_form_value,
    .form_get = dg__kit_form_get,
    .form_free = dg__kit_form_free,
};

const dg_host *dg_kit_host(void)
{
    return &kit_host;
}
dg_instance *dg_kit_inst(dg_kit *k)
{
    return (dg_instance *)(void *)k;
}

/* ----------------------------------------------------------- lifecycle */

dg_kit *dg_kit_new(dg_plugin_kind kind, const dg_config_field *schema, cJSON *conf)
{
    dg_kit *k = calloc(1, sizeof *k);
    if (!k) {
        cJSON_Delete(conf);
        return NULL;
    }
    k->kind = kind;
    k->schema = schema;
    k->conf = conf;
    k->loop_thread = pthread_self();
    k->now = KIT_START_MS;
    if (!(k->http = dg__kit_http_new()) || !(k->state = dg__kit_state_new()) ||
        !(k->inbox = dg__kit_inbox_new())) {
        dg__kit_state_free(k->state);
        dg__kit_http_free(k->http);
        cJSON_Delete(conf);
        free(k);
        return NULL;
    }
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
    size_t armed = 0;
    dg__kit_inbox_stopped(k); /* before the phase changes: done may answer its request */
    for (struct dg_timer *t = k->timers; t; t = t->next)
        armed += t->state == T_ARMED;
    for (size_t i = 0; i < k->n_ops; i++)
        if (k->ops[i].completions == 0 && strcmp(k->ops[i].what, "stop") != 0)
            dg_kit_violation(k, "op %llu (%s) was still pending when stop finished",
                             (unsigned long long)k->ops[i].id, k->ops[i].what);
    if (armed)
        dg_kit_violation(k,
                         "leak: %zu host timer(s) still armed when stop finished "
                         "(timer_stop them in stop)",
                         armed);
    if (k->n_works)
        dg_kit_violation(k,
                         "%zu run_off_loop item(s) still unfinished when stop finished "
                         "(stop must wait for their done)",
                         k->n_works);
    dg__kit_http_stopped(k);
    k->phase = DG_KIT_STOPPED;
}

void dg_kit_start_failed(dg_kit *k)
{
    for (struct dg_timer *t = k->timers; t; t = t->next)
        if (t->state == T_ARMED)
            t->state = T_DROPPED;
    k->phase = DG_KIT_STOPPED;
}

void dg_kit_destroyed(dg_kit *k)
{
    while (k->works) { /* reported at stop; the daemon runs them before destroy */
        kwork *w = k->works;
        k->works = w->next;
        free(w);
    }
    k->works_tail = NULL;
    k->n_works = 0;
    dg__kit_state_destroyed(k);
    k->phase = DG_KIT_DESTROYED;
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
    while (k->works) {
        kwork *w = k->works;
        k->works = w->next;
        free(w);
    }
    while (k->jtexts) {
        jtext *j = k->jtexts;
        k->jtexts = j->next;
        free(j->text);
        free(j);
    }
    dg__kit_inbox_free(k->inbox);
    dg__kit_state_free(k->state);
    dg__kit_http_free(k->http);
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
