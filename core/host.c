/* The host API table (<duegate/host.h>) implemented over the runtime. */
#include <stdlib.h>
#include <string.h>

#include "crypto.h"
#include "error.h"
#include "form.h"
#include "host_http.h"
#include "inbox.h"
#include "instance.h"
#include "kv.h"
#include "log.h"
#include "offload.h"

/* --------------------------------------------------------------- logging */

static void h_log(dg_instance *inst, dg_log_level level, const char *event, const dg_kv *kv,
                  size_t n)
{
    dg_log(level, inst ? inst->name : "plugin", event, kv, n);
}

/* ---------------------------------------------------------------- config */

struct dg_jcache {
    char *key;
    char *text;
    struct dg_jcache *next;
};

static const char *h_instance_name(dg_instance *inst) { return inst->name; }

static const cJSON *conf_item(dg_instance *inst, const char *key)
{
    return cJSON_GetObjectItemCaseSensitive(inst->conf, key);
}

static const char *h_config_string(dg_instance *inst, const char *key)
{
    const cJSON *v = conf_item(inst, key);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

static int h_config_int(dg_instance *inst, const char *key, int64_t *out)
{
    const cJSON *v = conf_item(inst, key);
    if (!v)
        return DG_ENOTFOUND;
    if (!cJSON_IsNumber(v))
        return DG_EINVAL;
    *out = (int64_t)v->valuedouble;
    return 0;
}

static int h_config_bool(dg_instance *inst, const char *key, int *out)
{
    const cJSON *v = conf_item(inst, key);
    if (!v)
        return DG_ENOTFOUND;
    if (!cJSON_IsBool(v))
        return DG_EINVAL;
    *out = cJSON_IsTrue(v);
    return 0;
}

static int h_config_double(dg_instance *inst, const char *key, double *out)
{
    const cJSON *v = conf_item(inst, key);
    if (!v)
        return DG_ENOTFOUND;
    if (!cJSON_IsNumber(v))
        return DG_EINVAL;
    *out = v->valuedouble;
    return 0;
}

static size_t h_config_array_len(dg_instance *inst, const char *key)
{
    const cJSON *v = conf_item(inst, key);
    return cJSON_IsArray(v) ? (size_t)cJSON_GetArraySize(v) : 0;
}

static const char *h_config_array_string(dg_instance *inst, const char *key, size_t idx)
{
    const cJSON *v = conf_item(inst, key);
    const cJSON *e = cJSON_IsArray(v) ? cJSON_GetArrayItem(v, (int)idx) : NULL;
    return cJSON_IsString(e) ? e->valuestring : NULL;
}

static const char *h_config_json(dg_instance *inst, const char *key)
{
    const cJSON *v = conf_item(inst, key);
    struct dg_jcache *c;
    if (!v)
        return NULL;
    for (c = inst->jcache; c; c = c->next)
        if (strcmp(c->key, key) == 0)
            return c->text;
    c = calloc(1, sizeof *c);
    if (!c)
        return NULL;
    c->key = strdup(key);
    c->text = cJSON_PrintUnformatted(v);
    if (!c->key || !c->text) {
        free(c->key);
        free(c->text);
        free(c);
        return NULL;
    }
    c->next = inst->jcache;
    inst->jcache = c;
    return c->text;
}

void dg_host_instance_free_caches(dg_instance *inst)
{
    while (inst->jcache) {
        struct dg_jcache *c = inst->jcache;
        inst->jcache = c->next;
        free(c->key);
        free(c->text);
        free(c);
    }
}

static const char *h_public_url(dg_instance *inst)
{
    const dg_config *cfg = inst->rt->cfg;
    return cfg && cfg->public_url ? cfg->public_url : "http://127.0.0.1:8080";
}

/* ------------------------------------------------------------ completion */

static void h_complete(dg_instance *inst, dg_op op, const dg_result *res)
{
    dg_instance_complete(inst, op, res);
}

/* ---------------------------------------------------------------- timers */

struct dg_timer { /* the plugin's view; wraps a clock timer */
    dg_ctimer *ct;
    dg_instance *inst;
    dg_timer_cb cb;
    void *ud;
    int repeat;
    int firing, stopped;
    dg_timer *prev, *next;
};
#define TIMERS(inst) ((inst)->timers)

static void timer_unlink(dg_timer *t)
{
    if (t->prev)
        t->prev->next = t->next;
    else if (TIMERS(t->inst) == t)
        TIMERS(t->inst) = t->next;
    if (t->next)
        t->next->prev = t->prev;
}

static void on_timer(void *ud)
{
    dg_timer *t = ud;
    if (t->inst->state != DG_INST_STARTED && t->inst->state != DG_INST_STOPPING)
        return;
    t->firing = 1;
    t->cb(t->ud);
    t->firing = 0;
    if (t->stopped || !t->repeat) {
        if (!t->stopped)
            timer_unlink(t); /* one-shot: the clock frees its timer itself */
        free(t);
    }
}

static dg_timer *h_timer_start(dg_instance *inst, int64_t delay_ms, int64_t repeat_ms,
                               dg_timer_cb cb, void *ud)
{
    dg_timer *t;
    if (!cb || inst->state == DG_INST_STOPPED)
        return NULL;
    t = calloc(1, sizeof *t);
    if (!t)
        return NULL;
    t->inst = inst;
    t->cb = cb;
    t->ud = ud;
    t->repeat = repeat_ms > 0;
    t->ct = dg_ctimer_start(inst->rt->clock, delay_ms, repeat_ms, on_timer, t);
    if (!t->ct) {
        free(t);
        return NULL;
    }
    t->next = TIMERS(inst);
    if (t->next)
        t->next->prev = t;
    TIMERS(inst) = t;
    return t;
}

static void h_timer_stop(dg_timer *t)
{
    if (!t || t->stopped)
        return;
    t->stopped = 1;
    timer_unlink(t);
    dg_ctimer_stop(t->ct);
    if (!t->firing)
        free(t);
}

void dg_host_timers_instance_gone(dg_instance *inst)
{
    while (TIMERS(inst))
        h_timer_stop(TIMERS(inst));
}

/* ---------------------------------------------------------------- events */

static int h_emit_order(dg_instance *inst, const dg_order_event *ev, dg_emit_done_cb done,
                        void *ud)
{
    dg_order_event copy;
    if (!ev || ev->struct_size < offsetof(dg_order_event, reserved) || !ev->order_id)
        return DG_EINVAL;
    if (dg_instance_kind(inst) != DG_PLUGIN_STORE) {
        dg_instance_violation(inst, "a channel plugin emitted an order event");
        return DG_EINVAL;
    }
    if (inst->state != DG_INST_STARTED && inst->state != DG_INST_STOPPING)
        return DG_ESTATE;
    copy = *ev;
    copy.struct_size = sizeof copy;
    copy.store = inst->name;
    if (!inst->rt->sink.order)
        return DG_ENOTSUP;
    return inst->rt->sink.order(inst->rt->sink.ud, inst, &copy, done, ud);
}

static int h_emit_channel_event(dg_instance *inst, const dg_channel_event *ev,
                                dg_emit_done_cb done, void *ud)
{
    dg_channel_event copy;
    if (!ev || ev->struct_size < offsetof(dg_channel_event, reserved))
        return DG_EINVAL;
    if (dg_instance_kind(inst) != DG_PLUGIN_CHANNEL) {
        dg_instance_violation(inst, "a store plugin emitted a channel event");
        return DG_EINVAL;
    }
    if (inst->state != DG_INST_STARTED && inst->state != DG_INST_STOPPING)
        return DG_ESTATE;
    copy = *ev;
    copy.struct_size = sizeof copy;
    copy.channel = inst->name;
    if (!inst->rt->sink.channel)
        return DG_ENOTSUP;
    return inst->rt->sink.channel(inst->rt->sink.ud, inst, &copy, done, ud);
}

/* ----------------------------------------------------------------- inbox */

typedef int (*inbox_op)(void *, const dg_kv *, size_t, const void *, size_t);

static inbox_op inbox_op_of(dg_instance *inst)
{
    const dg_plugin_descriptor *d = inst->plugin->desc;
    if (d->kind == DG_PLUGIN_STORE)
        return DG_HAS_FIELD(d->store, dg_store_ops, inbox_process) ? d->store->inbox_process
                                                                   : NULL;
    return DG_HAS_FIELD(d->channel, dg_channel_ops, inbox_process) ? d->channel->inbox_process
                                                                   : NULL;
}

static int h_inbox_append(dg_instance *inst, const dg_kv *attrs, size_t n_attrs,
                          const void *data, size_t len, dg_emit_done_cb done, void *ud)
{
    if (!inst->rt->inbox || !inbox_op_of(inst))
        return DG_ENOTSUP;
    if (!done)
        return DG_EINVAL;
    if (inst->state != DG_INST_STARTED && inst->state != DG_INST_STOPPING)
        return DG_ESTATE;
    return dg_inbox_append(inst->rt->inbox, inst->name, attrs, n_attrs, data, len, done, ud);
}

static int h_run_off_loop(dg_instance *inst, void (*fn)(void *), void (*done)(void *), void *ud)
{
    if (!inst->rt->offload)
        return DG_ENOTSUP;
    if (inst->state != DG_INST_STARTED && inst->state != DG_INST_STOPPING)
        return DG_ESTATE;
    return dg_offload_submit(inst->rt->offload, inst, fn, done, ud);
}

int dg_host_inbox_deliver(void *ud, const char *owner, const dg_kv *attrs, size_t n_attrs,
                          const void *data, size_t len)
{
    dg_runtime *rt = ud;
    dg_instance *inst = dg_instance_find(rt, owner);
    inbox_op op = inst ? inbox_op_of(inst) : NULL;
    if (!op) {
        dg_logf(DG_LOG_WARN, "inbox", "inbox.owner_gone", "instance", owner, NULL);
        return DG_OK; /* dropped: nobody can process it any more */
    }
    if (inst->state != DG_INST_STARTED)
        return DG_EIO; /* wait for it */
    return op(inst->self, attrs, n_attrs, data, len);
}

/* ----------------------------------------------------------------- state */

static int h_state_get(dg_instance *inst, const char *key, char **value, size_t *len)
{
    if (!inst->rt->db)
        return DG_ENOTSUP;
    if (!key || !value)
        return DG_EINVAL;
    return dg_kv_get(inst->rt->db, inst->name, key, dg_clock_now(inst->rt->clock), value, len);
}

static int h_state_put(dg_instance *inst, const char *key, const void *value, size_t len,
                       int64_t ttl_ms)
{
    if (!inst->rt->db)
        return DG_ENOTSUP;
    if (!key || (!value && len))
        return DG_EINVAL;
    /* joins the open write batch, if any: committed with it this iteration */
    int joined = dg_db_join(inst->rt->db) == 0;
    int rc =
        dg_kv_put(inst->rt->db, inst->name, key, value, len, dg_clock_now(inst->rt->clock), ttl_ms);
    return joined ? dg_db_leave(inst->rt->db, rc, NULL, NULL) : rc;
}

static int h_state_del(dg_instance *inst, const char *key)
{
    if (!inst->rt->db)
        return DG_ENOTSUP;
    return dg_kv_del(inst->rt->db, inst->name, key);
}

static void h_free(void *p) { free(p); }

/* --------------------------------------------------------------- metrics */

/* Every plugin series carries its instance as a label. */
static int with_instance(dg_instance *inst, const dg_kv *labels, size_t n, dg_kv *out)
{
    if (n > 15)
        return -1;
    if (n)
        memcpy(out, labels, n * sizeof *labels);
    out[n].key = "instance";
    out[n].value = inst->name;
    out[n].flags = 0;
    return (int)n + 1;
}

static void h_metric_add(dg_instance *inst, const char *name, const dg_kv *labels, size_t n,
                         double delta)
{
    dg_kv l[16];
    int k = with_instance(inst, labels, n, l);
    if (k > 0 && inst->rt->metrics)
        dg_metrics_add(inst->rt->metrics, name, l, (size_t)k, delta);
}

static void h_metric_set(dg_instance *inst, const char *name, const dg_kv *labels, size_t n,
                         double value)
{
    dg_kv l[16];
    int k = with_instance(inst, labels, n, l);
    if (k > 0 && inst->rt->metrics)
        dg_metrics_set(inst->rt->metrics, name, l, (size_t)k, value);
}

static void h_metric_observe(dg_instance *inst, const char *name, const dg_kv *labels, size_t n,
                             double value)
{
    dg_kv l[16];
    int k = with_instance(inst, labels, n, l);
    if (k > 0 && inst->rt->metrics)
        dg_metrics_observe(inst->rt->metrics, name, l, (size_t)k, value);
}

static void h_set_health(dg_instance *inst, int healthy, const char *reason)
{
    /* Log and count transitions only (and a changed reason while unhealthy). */
    if (healthy && inst->healthy)
        return;
    if (!healthy && !inst->healthy && reason && inst->health_reason &&
        strcmp(reason, inst->health_reason) == 0)
        return;
    inst->healthy = !!healthy;
    free(inst->health_reason);
    inst->health_reason = (!healthy && reason) ? strdup(reason) : NULL;
    if (healthy)
        dg_logf(DG_LOG_INFO, inst->name, "instance_healthy", NULL);
    else
        dg_logf(DG_LOG_ERROR, inst->name, "instance_unhealthy", "reason",
                reason ? reason : "unspecified", NULL);
    if (inst->rt->metrics) {
        dg_kv l[] = {{"instance", inst->name, 0}};
        dg_metrics_set(inst->rt->metrics, "duegate_instance_healthy", l, 1, healthy ? 1 : 0);
    }
}

static int64_t h_now_ms(dg_instance *inst) { return dg_clock_now(inst->rt->clock); }

/* ----------------------------------------------------------------- table */

static const dg_host g_host = {
    .struct_size = sizeof(dg_host),
    .abi_major = DG_ABI_MAJOR,
    .abi_minor = DG_ABI_MINOR,
    .log = h_log,
    .strerror = dg_strerror,
    .instance_name = h_instance_name,
    .config_string = h_config_string,
    .config_int = h_config_int,
    .config_bool = h_config_bool,
    .config_double = h_config_double,
    .config_array_len = h_config_array_len,
    .config_array_string = h_config_array_string,
    .config_json = h_config_json,
    .public_url = h_public_url,
    .complete = h_complete,
    .now_ms = h_now_ms,
    .timer_start = h_timer_start,
    .timer_stop = h_timer_stop,
    .emit_order = h_emit_order,
    .inbox_append = h_inbox_append,
    .run_off_loop = h_run_off_loop,
    .emit_channel_event = h_emit_channel_event,
    .state_get = h_state_get,
    .state_put = h_state_put,
    .state_del = h_state_del,
    .free = h_free,
    .metric_add = h_metric_add,
    .metric_set = h_metric_set,
    .metric_observe = h_metric_observe,
    .set_health = h_set_health,
    .http_route = dg_host_http_route,
    .http_req_method = dg_host_http_req_method,
    .http_req_path = dg_host_http_req_path,
    .http_req_query = dg_host_http_req_query,
    .http_req_header = dg_host_http_req_header,
    .http_req_body = dg_host_http_req_body,
    .http_respond = dg_host_http_respond,
    .http_request = dg_host_http_request,
    .http_cancel = dg_host_http_cancel,
    .smtp_send = dg_host_smtp_send,
    .hmac = dg_hmac,
    .ct_equal = dg_ct_equal,
    .base64_encode = dg_base64_encode,
    .hex_encode = dg_hex_encode,
    .form_parse = dg_form_parse,
    .form_count = dg_form_count,
    .form_name = dg_form_name,
    .form_value = dg_form_value,
    .form_get = dg_form_get,
    .form_free = dg_form_free,
};

const dg_host *dg_host_table(void) { return &g_host; }
