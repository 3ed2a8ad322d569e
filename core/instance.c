#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "host_http.h"
#include "instance.h"
#include "log.h"
#include "offload.h"

/* ------------------------------------------------------------ op table */

typedef struct op_rec {
    uint64_t id;
    dg_instance *inst;
    dg_op_done_cb cb;
    void *ud;
    struct op_rec *next;
} op_rec;

struct dg_opmap {
    op_rec **b;
    size_t cap, n;
};

int dg_runtime_init(dg_runtime *rt)
{
    rt->ops = calloc(1, sizeof *rt->ops);
    if (!rt->ops)
        return DG_ENOMEM;
    rt->ops->cap = 1024;
    rt->ops->b = calloc(rt->ops->cap, sizeof(op_rec *));
    if (!rt->ops->b) {
        free(rt->ops);
        rt->ops = NULL;
        return DG_ENOMEM;
    }
    rt->next_op = 1;
    return 0;
}

void dg_runtime_cleanup(dg_runtime *rt)
{
    if (!rt->ops)
        return;
    for (size_t i = 0; i < rt->ops->cap; i++)
        for (op_rec *r = rt->ops->b[i], *nx; r; r = nx) {
            nx = r->next;
            free(r);
        }
    free(rt->ops->b);
    free(rt->ops);
    rt->ops = NULL;
}

static size_t slot(const struct dg_opmap *m, uint64_t id)
{
    return (size_t)((id * 11400714819323198485ull) >> 20) & (m->cap - 1);
}

static int op_grow(struct dg_opmap *m)
{
    size_t cap = m->cap * 2;
    op_rec **b = calloc(cap, sizeof *b);
    if (!b)
        return DG_ENOMEM;
    for (size_t i = 0; i < m->cap; i++)
        for (op_rec *r = m->b[i], *nx; r; r = nx) {
            nx = r->next;
            size_t s = (size_t)((r->id * 11400714819323198485ull) >> 20) & (cap - 1);
            r->next = b[s];
            b[s] = r;
        }
    free(m->b);
    m->b = b;
    m->cap = cap;
    return 0;
}

static op_rec *op_new(dg_instance *inst, dg_op_done_cb cb, void *ud)
{
    struct dg_opmap *m = inst->rt->ops;
    op_rec *r;
    if (m->n >= m->cap && op_grow(m) != 0)
        return NULL;
    r = calloc(1, sizeof *r);
    if (!r)
        return NULL;
    r->id = inst->rt->next_op++;
    r->inst = inst;
    r->cb = cb;
    r->ud = ud;
    r->next = m->b[slot(m, r->id)];
    m->b[slot(m, r->id)] = r;
    m->n++;
    inst->pending++;
    return r;
}

/* Unlink and return the record, or NULL if unknown. */
static op_rec *op_take(dg_runtime *rt, uint64_t id)
{
    struct dg_opmap *m = rt->ops;
    for (op_rec **pp = &m->b[slot(m, id)]; *pp; pp = &(*pp)->next) {
        if ((*pp)->id == id) {
            op_rec *r = *pp;
            *pp = r->next;
            m->n--;
            r->inst->pending--;
            return r;
        }
    }
    return NULL;
}

void dg_instance_violation(dg_instance *inst, const char *what)
{
    dg_kv kv[] = {{"plugin", inst->plugin->desc->name, 0}, {"violation", what, 0}};
    inst->rt->violations++;
    dg_log(DG_LOG_ERROR, inst->name, "plugin_contract_violation", kv, 2);
    if (inst->rt->metrics)
        dg_metrics_add(inst->rt->metrics, "duegate_plugin_violations_total", kv, 1, 1);
}

static void finish_stop(dg_instance *inst, const dg_result *res);

void dg_instance_complete(dg_instance *inst, dg_op op, const dg_result *res)
{
    op_rec *r;
    dg_result ok;
    if (!inst) {
        return;
    }
    if (inst->state == DG_INST_STOPPED) {
        dg_instance_violation(inst, "complete called after stop completed");
        return;
    }
    if (op == inst->stop_op && inst->state == DG_INST_STOPPING) {
        if (!res) {
            DG_INIT(&ok);
            res = &ok;
        }
        finish_stop(inst, res);
        return;
    }
    r = op_take(inst->rt, op);
    if (!r || r->inst != inst) {
        dg_instance_violation(inst, "complete called for an unknown or already completed op");
        if (r) { /* completed through the wrong instance: deliver anyway */
            r->cb(r->ud, r->inst, res);
            free(r);
        }
        return;
    }
    if (!res) {
        DG_INIT(&ok);
        res = &ok;
    }
    r->cb(r->ud, inst, res);
    free(r);
}

/* Fail every pending op of inst with DG_ECANCELED. */
static void fail_pending(dg_instance *inst)
{
    struct dg_opmap *m = inst->rt->ops;
    dg_result res;
    DG_INIT(&res);
    res.status = DG_ECANCELED;
    res.error_class = DG_ERRC_RETRYABLE;
    res.error_message = "instance stopped before the operation completed";
    while (inst->pending > 0) {
        op_rec *found = NULL;
        for (size_t i = 0; i < m->cap && !found; i++)
            for (op_rec *r = m->b[i]; r; r = r->next)
                if (r->inst == inst) {
                    found = r;
                    break;
                }
        if (!found)
            break;
        found = op_take(inst->rt, found->id);
        found->cb(found->ud, inst, &res);
        free(found);
    }
}

/* ----------------------------------------------------------- lifecycle */

static const char *const instance_reserved[] = {"plugin", "enabled", NULL};

int dg_instance_create(dg_runtime *rt, const dg_config *cfg, const dg_instance_cfg *ic,
                       const dg_plugin *plugin, dg_instance **out, char *err, size_t len)
{
    char path[128];
    cJSON *conf = NULL;
    int rc;
    if (plugin->desc->kind != ic->kind) {
        dg_errf(err, len, "%s:%d: %s.%s.plugin: '%s' is a %s plugin", cfg->path,
                dg_json_line_of(cfg->text, ""), ic->kind == DG_PLUGIN_CHANNEL ? "channels" : "stores",
                ic->name, plugin->desc->name,
                plugin->desc->kind == DG_PLUGIN_CHANNEL ? "channel" : "store");
        return DG_ECONFIG;
    }
    snprintf(path, sizeof path, "%s.%s", ic->kind == DG_PLUGIN_CHANNEL ? "channels" : "stores",
             ic->name);
    rc = dg_config_apply_schema(cfg, plugin->desc->config_schema, ic->json, path,
                                instance_reserved, &conf, err, len);
    if (rc)
        return rc;
    return dg_instance_create_json(rt, ic->name, plugin, conf, out, err, len);
}

int dg_instance_create_json(dg_runtime *rt, const char *name, const dg_plugin *plugin,
                            cJSON *conf, dg_instance **out, char *err, size_t len)
{
    dg_instance *inst;
    char perr[512] = "";
    int rc;
    if (dg_instance_find(rt, name)) {
        cJSON_Delete(conf);
        dg_errf(err, len, "instance '%s' already exists", name);
        return DG_EEXIST;
    }
    inst = calloc(1, sizeof *inst);
    if (!inst || !(inst->name = strdup(name))) {
        free(inst);
        cJSON_Delete(conf);
        return DG_ENOMEM;
    }
    inst->rt = rt;
    inst->plugin = plugin;
    inst->conf = conf;
    inst->healthy = 1;
    inst->state = DG_INST_CREATED;
    rc = plugin->desc->kind == DG_PLUGIN_CHANNEL
             ? plugin->channel.create(dg_host_table(), inst, &inst->self, perr, sizeof perr)
             : plugin->store.create(dg_host_table(), inst, &inst->self, perr, sizeof perr);
    if (rc != 0) {
        dg_errf(err, len, "%s: plugin %s refused its configuration: %s", name,
                plugin->desc->name, perr[0] ? perr : dg_strerror(rc));
        dg_host_http_instance_gone(inst);
        cJSON_Delete(inst->conf);
        free(inst->name);
        free(inst);
        return rc < 0 ? rc : DG_ECONFIG;
    }
    inst->next = rt->instances;
    rt->instances = inst;
    *out = inst;
    return 0;
}

int dg_instance_start(dg_instance *inst, char *err, size_t len)
{
    char perr[512] = "";
    int rc;
    if (inst->state != DG_INST_CREATED)
        return DG_ESTATE;
    inst->state = DG_INST_STARTED; /* so routes and timers set up in start work */
    rc = dg_instance_kind(inst) == DG_PLUGIN_CHANNEL
             ? inst->plugin->channel.start(inst->self, perr, sizeof perr)
             : inst->plugin->store.start(inst->self, perr, sizeof perr);
    if (rc != 0) {
        inst->state = DG_INST_STOPPED;
        dg_host_http_instance_gone(inst);
        dg_errf(err, len, "%s: start failed: %s", inst->name, perr[0] ? perr : dg_strerror(rc));
        return rc < 0 ? rc : DG_EIO;
    }
    dg_logf(DG_LOG_INFO, inst->name, "instance_started", "plugin", inst->plugin->desc->name,
            "version", inst->plugin->desc->version, NULL);
    return 0;
}

static void finish_stop(dg_instance *inst, const dg_result *res)
{
    dg_op_done_cb cb = inst->stop_cb;
    void *ud = inst->stop_ud;
    fail_pending(inst);
    inst->state = DG_INST_STOPPED;
    inst->stop_op = 0;
    inst->stop_cb = NULL;
    dg_host_timers_instance_gone(inst);
    dg_host_http_instance_gone(inst);
    dg_logf(DG_LOG_INFO, inst->name, "instance_stopped", NULL);
    if (cb)
        cb(ud, inst, res);
}

int dg_instance_stop(dg_instance *inst, dg_op_done_cb cb, void *ud)
{
    int rc;
    dg_result ok;
    if (inst->state == DG_INST_STOPPED || inst->state == DG_INST_CREATED) {
        inst->state = DG_INST_STOPPED;
        dg_host_timers_instance_gone(inst);
        dg_host_http_instance_gone(inst);
        return DG_OK;
    }
    if (inst->state == DG_INST_STOPPING)
        return DG_ESTATE;
    inst->state = DG_INST_STOPPING;
    inst->stop_op = inst->rt->next_op++;
    inst->stop_cb = cb;
    inst->stop_ud = ud;
    rc = dg_instance_kind(inst) == DG_PLUGIN_CHANNEL
             ? inst->plugin->channel.stop(inst->self, inst->stop_op)
             : inst->plugin->store.stop(inst->self, inst->stop_op);
    if (rc == DG_PENDING)
        return inst->state == DG_INST_STOPPED ? DG_PENDING /* completed inside stop */
                                              : DG_PENDING;
    /* Stopped at once (or failed: treat as stopped, nothing else to do). */
    if (inst->state == DG_INST_STOPPING) {
        inst->stop_cb = NULL; /* the caller learns from the return code */
        DG_INIT(&ok);
        ok.status = rc < 0 ? rc : DG_OK;
        finish_stop(inst, &ok);
    }
    return DG_OK;
}

void dg_instance_force_stopped(dg_instance *inst)
{
    dg_result res;
    if (inst->state == DG_INST_STOPPED)
        return;
    dg_logf(DG_LOG_WARN, inst->name, "stop_deadline_passed", NULL);
    DG_INIT(&res);
    res.status = DG_ETIMEDOUT;
    finish_stop(inst, &res);
}

void dg_instance_destroy(dg_instance *inst)
{
    dg_runtime *rt;
    if (!inst)
        return;
    rt = inst->rt;
    if (inst->state != DG_INST_STOPPED) {
        if (dg_instance_stop(inst, NULL, NULL) == DG_PENDING)
            dg_instance_force_stopped(inst);
    }
    dg_offload_drain_owner(rt->offload, inst); /* its work's done callbacks run first */
    if (dg_instance_kind(inst) == DG_PLUGIN_CHANNEL)
        inst->plugin->channel.destroy(inst->self);
    else
        inst->plugin->store.destroy(inst->self);
    for (dg_instance **pp = &rt->instances; *pp; pp = &(*pp)->next)
        if (*pp == inst) {
            *pp = inst->next;
            break;
        }
    dg_host_instance_free_caches(inst);
    cJSON_Delete(inst->conf);
    free(inst->health_reason);
    free(inst->name);
    free(inst);
}

/* ------------------------------------------------------------------ ops */

typedef int (*op_call)(dg_instance *inst, const void *arg, dg_op op);

static int run_op(dg_instance *inst, op_call call, const void *arg, dg_op_done_cb cb, void *ud)
{
    op_rec *r;
    uint64_t id;
    int rc;
    if (inst->state != DG_INST_STARTED)
        return DG_ESTATE;
    r = op_new(inst, cb, ud);
    if (!r)
        return DG_ENOMEM;
    id = r->id;
    rc = call(inst, arg, id);
    if (rc == DG_PENDING)
        return DG_PENDING;
    /* Failed at once; the op must not have been completed. */
    r = op_take(inst->rt, id);
    if (!r) {
        dg_instance_violation(inst, "op completed but the op returned an error");
        return DG_PENDING; /* the callback already ran */
    }
    free(r);
    if (rc == DG_OK) {
        dg_instance_violation(inst, "op returned DG_OK instead of DG_PENDING");
        rc = DG_EPROTO;
    }
    return rc < 0 ? rc : DG_EPROTO;
}

static int call_send(dg_instance *inst, const void *arg, dg_op op)
{
    return inst->plugin->channel.send(inst->self, arg, op);
}

static int call_backfill(dg_instance *inst, const void *arg, dg_op op)
{
    (void)arg;
    return inst->plugin->store.backfill(inst->self, op);
}

static int call_act(dg_instance *inst, const void *arg, dg_op op)
{
    return inst->plugin->store.act(inst->self, arg, op);
}

int dg_instance_send(dg_instance *inst, const dg_outbound_message *msg, dg_op_done_cb cb,
                     void *ud)
{
    if (dg_instance_kind(inst) != DG_PLUGIN_CHANNEL)
        return DG_ENOTSUP;
    return run_op(inst, call_send, msg, cb, ud);
}

int dg_instance_backfill(dg_instance *inst, dg_op_done_cb cb, void *ud)
{
    if (dg_instance_kind(inst) != DG_PLUGIN_STORE)
        return DG_ENOTSUP;
    return run_op(inst, call_backfill, NULL, cb, ud);
}

int dg_instance_act(dg_instance *inst, const dg_store_action *act, dg_op_done_cb cb, void *ud)
{
    if (dg_instance_kind(inst) != DG_PLUGIN_STORE || !inst->plugin->store.act)
        return DG_ENOTSUP;
    return run_op(inst, call_act, act, cb, ud);
}

dg_instance *dg_instance_find(dg_runtime *rt, const char *name)
{
    for (dg_instance *i = rt->instances; i; i = i->next)
        if (strcmp(i->name, name) == 0)
            return i;
    return NULL;
}

dg_plugin_kind dg_instance_kind(const dg_instance *inst) { return inst->plugin->desc->kind; }
