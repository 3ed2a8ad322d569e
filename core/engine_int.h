/* Internal to the engine modules (engine.c, engine_events.c). */
#ifndef DG_CORE_ENGINE_INT_H
#define DG_CORE_ENGINE_INT_H

#include "engine.h"
#include "segments.h"
#include "tz.h"

/* A unit of work started after a commit. */
typedef struct dg__job {
    int kind; /* 1 send, 2 store act */
    dg_case c;
    dg_touch t;
    dg_rendered r;
    int act;       /* dg_store_action_kind */
    uint64_t mark; /* the store's write mark of the case once the batch committed, or 0 */
} dg__job;

/* One send handed to a channel: its touch, and copies of the case and the
 * touch as committed with the store's write mark then (mark 0: none). */
typedef struct dg__send {
    dg_engine *e;
    int64_t touch_id, started;
    const dg__job *job;
    uint64_t mark;
    dg_case c;
    dg_touch t;
} dg__send;

typedef struct dg__done {
    int64_t touch_id;
    const dg__job *job; /* the batch's copy of case and touch, when still current */
    dg__send *send;     /* owned: its copies, current while the mark is unchanged */
    int status;
    int error_class;
    int64_t retry_after;
    char provider_id[128];
    char error_code[64];
} dg__done;

struct dg_engine {
    dg_runtime *rt;
    dg_store *st;
    dg_engine_cfg cfg;
    dg_render_fn render;
    void *render_ud;
    dg_engine_observer obs;
    dg_ctimer *timer;
    int64_t timer_at;
    int started, in_dispatch, in_tick;
    uint64_t epoch, batch_epoch; /* transactions begun; value after the batch commit */
    char ph_key[128];            /* memo of the last paid-history count (per transaction) */
    uint64_t ph_epoch;
    int64_t ph_val;
    uint64_t rng;
    size_t batch;
    size_t sending, max_sending; /* sends handed to channels, not completed; the cap */
    dg__job *jobs;
    size_t n_jobs;
    dg__done *dq;
    size_t n_dq, cap_dq;
    dg_engine_stats stats;
    struct dg__gc *gc; /* group commit of asynchronous completions (with a loop) */
};

/* engine.c */
uint64_t dg__rnd(dg_engine *e);
void dg__set_next(dg_case *c, int kind, int64_t at, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
void dg__process_case(dg_engine *e, int64_t id, int64_t now);
/* engine_send.c */
void dg__flush_done(dg_engine *e);
void dg__gc_release(dg_engine *e);
int dg__tx_begin(dg_engine *e);
int dg__tx_end(dg_engine *e, int rc);
void dg__arm(dg_engine *e);
void dg__note(dg_engine *e, const dg_case *c, const char *what, const char *why);
/* +1 on a counter of the runtime's metrics with one or two labels (k2 NULL: one). */
void dg__count(dg_engine *e, const char *name, const char *k1, const char *v1, const char *k2,
               const char *v2);
int dg__plan_after_send(dg_engine *e, dg_case *c, int64_t now);
void dg__plan_stage_from(dg_engine *e, dg_case *c, int from, int64_t now);
int dg__plan_first(dg_engine *e, dg_case *c, int64_t now);
int dg__end_case(dg_engine *e, dg_case *c, int status, const char *why, int64_t now);
/* Too many sends in flight to take another batch of due actions. */
int dg__throttled(const dg_engine *e);
/* flush: record completions now and drop the jobs (else run_due does). */
void dg__dispatch(dg_engine *e, int flush);
dg__job *dg__job_add(dg_engine *e, int kind);
int dg__case_zones(const dg_engine *e, const dg_case *c, dg_zones *z);
int64_t dg__paid_history(dg_engine *e, const dg_case *c);
void dg__customer_key(const dg_case *c, char *out, size_t len);

/* A growable list of touches, filled by dg__touch_collect (a store visitor);
 * the caller frees v. */
typedef struct dg__tlist {
    dg_touch *v;
    size_t n, cap;
} dg__tlist;
void dg__touch_collect(void *ud, const dg_touch *t);

#endif
