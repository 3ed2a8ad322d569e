/* The pieces of the running daemon the host API reaches: loop, clock,
 * database, metrics, the event sink (the engine) and the HTTP sides.
 * Owned by whoever builds it (daemon, simulate, tests); the host table and
 * instances only borrow it. */
#ifndef DG_CORE_RUNTIME_H
#define DG_CORE_RUNTIME_H

#include <uv.h>

#include <duegate/host.h>

#include "clock.h"
#include "config.h"
#include "db.h"
#include "metrics.h"

/* Where events emitted by plugins go. Same contract as host->emit_*. */
typedef struct dg_event_sink {
    int (*order)(void *ud, dg_instance *inst, const dg_order_event *ev, dg_emit_done_cb done,
                 void *done_ud);
    int (*channel)(void *ud, dg_instance *inst, const dg_channel_event *ev,
                   dg_emit_done_cb done, void *done_ud);
    void *ud;
} dg_event_sink;

struct dg_opmap;
struct dg_inbox;

typedef struct dg_runtime {
    uv_loop_t *loop;
    dg_clock *clock;
    const dg_config *cfg; /* may be NULL in tests */
    dg_db *db;            /* may be NULL: state_* then fail with DG_ENOTSUP */
    dg_metrics *metrics;
    dg_event_sink sink;
    void *http_server;    /* dg_http_server * (core/http_server.h), NULL: routes DG_ENOTSUP */
    void *http_client;    /* dg_http_client * (core/http_client.h); both created and
                           * freed by whoever builds the runtime (daemon, tests) */
    struct dg_inbox *inbox; /* core/inbox.h; NULL: host->inbox_append is DG_ENOTSUP.
                             * Built by whoever builds the runtime, delivering
                             * through dg_host_inbox_deliver (instance.h). */
    struct dg_offload *offload; /* core/offload.h; NULL: host->run_off_loop is DG_ENOTSUP.
                                 * Built and closed by whoever builds the runtime. */
    dg_instance *instances;
    struct dg_opmap *ops;
    uint64_t next_op;
    uint64_t violations;  /* plugin contract violations seen (logged) */
} dg_runtime;

/* Initialise the op table; the rest is filled in by the caller. */
int dg_runtime_init(dg_runtime *rt);
void dg_runtime_cleanup(dg_runtime *rt);

#endif
