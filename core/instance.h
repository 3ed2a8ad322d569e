/* A configured plugin instance: its validated config, the plugin's state
 * pointer, its lifecycle, its pending async ops and timers.
 *
 * The core calls the plugin only through these functions; they enforce the
 * contract of <duegate/plugin.h>: each op completes once, nothing reaches
 * the plugin after its stop completed, timers die with the instance. */
#ifndef DG_CORE_INSTANCE_H
#define DG_CORE_INSTANCE_H

#include <cjson/cJSON.h>
#include <duegate/plugin.h>

#include "loader.h"
#include "runtime.h"

typedef enum dg_inst_state {
    DG_INST_CREATED = 0,
    DG_INST_STARTED = 1,
    DG_INST_STOPPING = 2,
    DG_INST_STOPPED = 3
} dg_inst_state;

/* Called when an op of the core's completes (or is failed by the host). */
typedef void (*dg_op_done_cb)(void *ud, dg_instance *inst, const dg_result *res);

struct dg_jcache;

struct dg_instance {
    dg_runtime *rt;
    char *name;
    const dg_plugin *plugin;
    void *self;            /* the plugin's state */
    cJSON *conf;           /* validated config, defaults applied, secrets resolved */
    dg_inst_state state;
    int healthy;
    char *health_reason;
    size_t pending;        /* ops not yet completed */
    uint64_t stop_op;
    dg_op_done_cb stop_cb;
    void *stop_ud;
    dg_timer *timers;      /* armed host timers (host.c) */
    struct dg_jcache *jcache;
    void *http;            /* routes and calls, owned by core/host_http.c */
    dg_instance *next;
};

/* Validate cfg against the plugin's schema and call the plugin's create.
 * On success the instance is linked into rt->instances. */
int dg_instance_create(dg_runtime *rt, const dg_config *cfg, const dg_instance_cfg *ic,
                       const dg_plugin *plugin, dg_instance **out, char *err, size_t err_len);
/* Same with an already-validated config object (ownership of conf passes). */
int dg_instance_create_json(dg_runtime *rt, const char *name, const dg_plugin *plugin,
                            cJSON *conf, dg_instance **out, char *err, size_t err_len);
int dg_instance_start(dg_instance *inst, char *err, size_t err_len);
/* DG_OK: stopped now. DG_PENDING: cb(ud, inst, res) when drained. */
int dg_instance_stop(dg_instance *inst, dg_op_done_cb cb, void *ud);
/* Give up on draining: fail every pending op with DG_ECANCELED, mark stopped. */
void dg_instance_force_stopped(dg_instance *inst);
/* Calls the plugin's destroy (stopping it first if needed) and frees. */
void dg_instance_destroy(dg_instance *inst);

/* Async ops. DG_PENDING: cb will be called exactly once. Negative: failed
 * at once (cb never called). */
int dg_instance_send(dg_instance *inst, const dg_outbound_message *msg, dg_op_done_cb cb,
                     void *ud);
int dg_instance_backfill(dg_instance *inst, dg_op_done_cb cb, void *ud);
int dg_instance_act(dg_instance *inst, const dg_store_action *act, dg_op_done_cb cb, void *ud);

dg_instance *dg_instance_find(dg_runtime *rt, const char *name);
dg_plugin_kind dg_instance_kind(const dg_instance *inst);

/* The inbox's deliver function (core/inbox.h; ud is the dg_runtime): hands
 * an entry to the inbox_process op of the instance named `owner`. An entry
 * of an instance that no longer exists is logged and dropped; one of an
 * instance that is not started waits (DG_EIO). */
int dg_host_inbox_deliver(void *ud, const char *owner, const dg_kv *attrs, size_t n_attrs,
                          const void *data, size_t len);

/* The host table handed to plugins. */
const dg_host *dg_host_table(void);

/* Internal to host.c / host_http.c: note a contract violation. */
void dg_instance_violation(dg_instance *inst, const char *what);
/* host.c: host->complete lands in dg_instance_complete; per-instance
 * timers and config caches are released when the instance stops/dies. */
void dg_instance_complete(dg_instance *inst, dg_op op, const dg_result *res);
void dg_host_timers_instance_gone(dg_instance *inst);
void dg_host_instance_free_caches(dg_instance *inst);

#endif
