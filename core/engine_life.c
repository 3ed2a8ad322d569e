/* The engine's lifecycle: create, start (reconcile touches a crash left in
 * `sending`, then arm the timer), stop, free, and its counters. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine_int.h"
#include "error.h"
#include "instance.h"
#include "log.h"

/* ----------------------------------------------------------- lifecycle */

int dg_engine_new(const dg_engine_opts *o, dg_engine **out, char *err, size_t len)
{
    dg_engine *e;
    if (!o || !o->rt || !o->rt->clock || !o->store || !o->cfg || !o->render) {
        dg_errf(err, len, "engine: runtime, clock, store, config and renderer are required");
        return DG_EINVAL;
    }
    if (!(e = calloc(1, sizeof *e)))
        return DG_ENOMEM;
    e->rt = o->rt;
    e->st = o->store;
    e->cfg = *o->cfg;
    e->render = o->render;
    e->render_ud = o->render_ud;
    e->obs = o->obs;
    e->batch = o->batch ? o->batch : 256;
    e->max_sending = o->max_sending ? o->max_sending : 4 * e->batch;
    if (e->max_sending < e->batch)
        e->max_sending = e->batch;
    e->rng = o->seed ? o->seed : (uint64_t)dg_clock_now(o->rt->clock) * 2654435761u + 1;
    e->jobs = calloc(e->batch * 2 + 8, sizeof *e->jobs);
    if (!e->jobs) {
        free(e);
        return DG_ENOMEM;
    }
    *out = e;
    return 0;
}

static void reconcile(dg_engine *e, const dg_touch *t)
{
    int64_t now = dg_clock_now(e->rt->clock);
    dg_touch x = *t;
    dg_case c;
    x.status = DG_TOUCH_SENT;
    snprintf(x.error_code, sizeof x.error_code, "reconciled-unknown");
    x.updated_at = now;
    e->st->vt->touch_put(e->st, &x);
    e->stats.reconciled++;
    dg_logf(DG_LOG_WARN, "engine", "touch_reconciled", "touch", x.idem_key, "rule",
            "unknown outcome after restart: counted as sent, never re-sent", NULL);
    if (e->st->vt->case_get(e->st, x.case_id, &c) == 0 && dg_case_status_live((int)c.status) &&
        c.active_touch == x.id && c.next_kind == DG_NEXT_NONE) {
        dg__plan_after_send(e, &c, x.created_at > 0 && x.created_at < now ? x.created_at : now);
        if (c.next_at && c.next_at < now)
            c.next_at = now;
        e->st->vt->case_put(e->st, &c);
    }
}

int dg_engine_start(dg_engine *e)
{
    dg__tlist l = {NULL, 0, 0};
    int rc = dg__tx_begin(e);
    if (rc)
        return rc;
    rc = e->st->vt->touches_in_status(e->st, DG_TOUCH_SENDING, dg__touch_collect, &l);
    for (size_t i = 0; !rc && i < l.n; i++)
        reconcile(e, &l.v[i]);
    free(l.v);
    if ((rc = dg__tx_end(e, rc)) != 0)
        return rc;
    e->started = 1;
    dg__arm(e);
    return 0;
}

void dg_engine_stop(dg_engine *e)
{
    if (!e)
        return;
    e->started = 0;
    if (e->timer)
        dg_ctimer_stop(e->timer);
    e->timer = NULL;
}

void dg_engine_free(dg_engine *e)
{
    if (!e)
        return;
    dg_engine_stop(e);
    dg__gc_release(e);
    dg__flush_done(e);
    for (size_t i = 0; i < e->n_dq; i++) /* left when the flush could not begin */
        free(e->dq[i].send);
    for (size_t i = 0; i < e->n_jobs; i++)
        dg_rendered_clear(&e->jobs[i].r);
    free(e->jobs);
    free(e->dq);
    free(e);
}

void dg_engine_get_stats(const dg_engine *e, dg_engine_stats *out)
{
    *out = e->stats;
}
