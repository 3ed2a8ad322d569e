/* The engine's sending side: handing touches to channels, recording
 * completions (batched while working through due actions), retries with
 * backoff, and the single timer on the earliest due action. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine_int.h"
#include "error.h"
#include "instance.h"
#include "log.h"

/* ------------------------------------------------------ completions */

void dg__count(dg_engine *e, const char *name, const char *k1, const char *v1, const char *k2,
               const char *v2)
{
    dg_kv l[2] = {{k1, v1 ? v1 : "", 0}, {k2, v2 ? v2 : "", 0}};
    if (e->rt->metrics)
        dg_metrics_add(e->rt->metrics, name, l, k2 ? 2 : 1, 1);
}

static const char *const errc_names[] = {"none",       "retryable", "wait",  "permanent",
                                         "suppressed", "stop_sender", "config"};

static void on_send_done(void *ud, dg_instance *inst, const dg_result *res);

/* `send` (may be NULL) is owned from here on. */
static void queue_done(dg_engine *e, int64_t touch_id, const dg_result *res, int status,
                       const dg__job *job, dg__send *send)
{
    dg__done *d;
    if (e->n_dq == e->cap_dq) {
        size_t cap = e->cap_dq ? e->cap_dq * 2 : 64;
        dg__done *n = realloc(e->dq, cap * sizeof *n);
        if (!n) {
            free(send);
            return; /* the touch stays `sending`: reconciled at next start */
        }
        e->dq = n;
        e->cap_dq = cap;
    }
    d = &e->dq[e->n_dq++];
    memset(d, 0, sizeof *d);
    d->send = send;
    d->touch_id = touch_id;
    d->job = job && job->t.id == touch_id ? job : NULL;
    d->status = res ? res->status : status;
    if (res) {
        d->error_class = res->error_class;
        d->retry_after = res->retry_after_ms;
        snprintf(d->provider_id, sizeof d->provider_id, "%s",
                 res->provider_id ? res->provider_id : "");
        snprintf(d->error_code, sizeof d->error_code, "%s", res->error_code ? res->error_code : "");
    } else {
        d->error_class =
            status == DG_ESTATE || status == DG_ENOMEM ? DG_ERRC_RETRYABLE : DG_ERRC_PERMANENT;
    }
}

static int64_t backoff(dg_engine *e, int64_t attempt, int64_t retry_after)
{
    int64_t d = e->cfg.retry_base;
    for (int64_t i = 1; i < attempt && d < e->cfg.retry_cap; i++)
        d *= 2;
    if (d > e->cfg.retry_cap)
        d = e->cfg.retry_cap;
    d = d / 2 + (int64_t)(dg__rnd(e) % (uint64_t)(d / 2 + 1)); /* jitter: 50-100% */
    return retry_after > d ? retry_after : d;
}

/* Apply one completion; inside a transaction. */
static void apply_done(dg_engine *e, const dg__done *d, int64_t now, int clean)
{
    dg_touch t;
    dg_case c;
    int active;
    e->stats.completions++;
    if (clean && d->job) {
        /* nothing committed since the batch wrote them: the copies are current */
        t = d->job->t;
        c = d->job->c;
    } else if (d->send && d->send->mark && d->send->t.id == d->touch_id &&
               e->st->vt->write_mark(e->st, d->send->c.id) == d->send->mark) {
        /* nothing of the case written since its batch committed */
        t = d->send->t;
        c = d->send->c;
    } else if (e->st->vt->touch_get(e->st, d->touch_id, &t) != 0 ||
               e->st->vt->case_get(e->st, t.case_id, &c) != 0) {
        return;
    }
    if (d->status == DG_ECANCELED)
        return; /* shutdown: outcome unknown, reconciled at the next start */
    active = c.status == DG_CASE_OPEN && c.active_touch == t.id && c.next_kind == DG_NEXT_NONE;
    t.updated_at = now;
    if (d->status != DG_OK)
        dg__count(e, "duegate_provider_errors_total", "channel", t.kind, "class",
                  errc_names[d->error_class >= 0 && d->error_class <= 6 ? d->error_class : 0]);
    if (d->status == DG_OK) {
        dg__count(e, "duegate_touches_total", "channel", t.kind, "status", "sent");
        if (t.status < DG_TOUCH_SENT || t.status == DG_TOUCH_SCHEDULED)
            t.status = DG_TOUCH_SENT;
        t.sent_at = now;
        snprintf(t.provider_id, sizeof t.provider_id, "%s", d->provider_id);
        e->st->vt->touch_put(e->st, &t);
        if (active) {
            dg__plan_after_send(e, &c, now);
            c.changed_at = now;
            e->st->vt->case_put(e->st, &c);
        }
        return;
    }
    t.error_class = d->error_class;
    snprintf(t.error_code, sizeof t.error_code, "%s", d->error_code);
    if ((d->error_class == DG_ERRC_RETRYABLE || d->error_class == DG_ERRC_WAIT) &&
        t.attempt < e->cfg.retry_max) {
        t.status = DG_TOUCH_SCHEDULED;
        dg__count(e, "duegate_touches_total", "channel", t.kind, "status", "retry");
        e->st->vt->touch_put(e->st, &t);
        if (active) {
            int64_t at = now + backoff(e, t.attempt, d->retry_after);
            dg__set_next(&c, DG_NEXT_RETRY, at, "retry %s", t.channel);
            dg__note(e, &c, "retry", t.error_code[0] ? t.error_code : "retryable failure");
        }
    } else {
        if (d->error_class == DG_ERRC_RETRYABLE || d->error_class == DG_ERRC_WAIT) {
            snprintf(t.why, sizeof t.why, "dead-lettered after %lld attempts",
                     (long long)t.attempt);
            e->stats.dead_letters++;
        }
        if (d->error_class == DG_ERRC_SUPPRESSED && t.address[0])
            e->st->vt->suppress(e->st, t.kind, t.address, "provider: opted out", now);
        t.status = DG_TOUCH_FAILED;
        dg__count(e, "duegate_touches_total", "channel", t.kind, "status", "failed");
        e->st->vt->touch_put(e->st, &t);
        if (active) { /* the next channel of the step, at once */
            dg__set_next(&c, DG_NEXT_FALLBACK, now, "next channel: %s failed", t.channel);
            dg__note(e, &c, "failed", t.why[0] ? t.why : t.error_code);
        }
    }
    if (active) {
        c.changed_at = now;
        e->st->vt->case_put(e->st, &c);
    }
}

static void apply_all(dg_engine *e, int64_t now, int clean)
{
    for (size_t i = 0; i < e->n_dq; i++) {
        apply_done(e, &e->dq[i], now, clean);
        free(e->dq[i].send);
    }
    e->n_dq = 0;
}

void dg__flush_done(dg_engine *e)
{
    int64_t now = dg_clock_now(e->rt->clock);
    int clean = e->epoch == e->batch_epoch;
    if (!e->n_dq)
        return;
    if (dg__tx_begin(e) != 0)
        return;
    apply_all(e, now, clean);
    dg__tx_end(e, 0);
}

/* Group commit: completions that arrive outside a dispatch (asynchronous
 * channels: every HTTP send) are recorded together in one transaction on
 * the next loop iteration instead of one transaction (and sync) each, which
 * bounded a burst at about one send per commit. Without a loop (tests,
 * simulate) they are recorded at once, as before. */
struct dg__gc {
    uv_timer_t t;
    dg_engine *e; /* NULL once the engine is gone (the handle is closing) */
    int armed;
};

/* The completions join the database's write batch (dg_db_join) when there
 * is one: committed with the plugins' state writes of the same iteration
 * (the WhatsApp wamid mapping) in one COMMIT instead of two. Sends still
 * never rest on it: run_due's transaction commits the batch first. */
static void gc_fire(uv_timer_t *t)
{
    struct dg__gc *g = t->data;
    g->armed = 0;
    if (g->e) {
        dg_db *db = g->e->rt->db;
        int joined = db && dg_db_join(db) == 0;
        dg__flush_done(g->e);
        if (joined)
            dg_db_leave(db, 0, NULL, NULL);
        dg__arm(g->e);
    }
}

static void gc_closed(uv_handle_t *h)
{
    free(h->data);
}

static int gc_defer(dg_engine *e)
{
    if (!e->rt->loop)
        return -1;
    if (!e->gc) {
        if (!(e->gc = calloc(1, sizeof *e->gc)))
            return -1;
        uv_timer_init(e->rt->loop, &e->gc->t);
        e->gc->t.data = e->gc;
        e->gc->e = e;
    }
    if (!e->gc->armed && uv_timer_start(&e->gc->t, gc_fire, 0, 0) == 0)
        e->gc->armed = 1;
    return e->gc->armed ? 0 : -1;
}

void dg__gc_release(dg_engine *e)
{
    if (!e->gc)
        return;
    e->gc->e = NULL;
    uv_timer_stop(&e->gc->t);
    uv_close((uv_handle_t *)&e->gc->t, gc_closed);
    e->gc = NULL;
}

static void on_send_done(void *ud, dg_instance *inst, const dg_result *res)
{
    dg__send *s = ud;
    dg_engine *e = s->e;
    if (e->rt->metrics && inst) { /* on the engine's clock (manual in tests) */
        dg_kv l = {"channel", dg_engine_channel_kind(e, inst), 0};
        dg_metrics_observe(e->rt->metrics, "duegate_send_duration_seconds", &l, 1,
                           (double)(dg_clock_now(e->rt->clock) - s->started) / 1000.0);
    }
    queue_done(e, s->touch_id, res, res ? res->status : DG_EIO, e->in_dispatch ? s->job : NULL, s);
    if (e->sending)
        e->sending--;
    if (!e->in_dispatch && gc_defer(e) != 0) {
        dg__flush_done(e);
        dg__arm(e);
    }
}

static void on_act_done(void *ud, dg_instance *inst, const dg_result *res)
{
    (void)ud;
    if (res && res->status != DG_OK)
        dg_logf(DG_LOG_WARN, inst->name, "store_action_failed", "error", dg_strerror(res->status),
                NULL);
}

static void send_one(dg_engine *e, dg__job *j)
{
    dg_outbound_message m;
    dg_instance *inst = dg_instance_find(e->rt, j->t.channel);
    dg__send *s;
    int rc;
    char full[160];
    DG_INIT(&m);
    snprintf(full, sizeof full, "%s%s%s", j->c.first_name, j->c.last_name[0] ? " " : "",
             j->c.last_name);
    m.case_id = j->c.id;
    m.touch_id = j->t.id;
    m.step = (int32_t)j->t.step;
    m.attempt = (int32_t)j->t.attempt;
    m.stage = j->t.stage;
    m.channel = j->t.channel;
    m.locale = j->r.locale;
    m.template_id = j->t.template_id;
    m.idempotency_key = j->t.idem_key;
    if (strcmp(j->t.kind, DG_CHANNEL_KIND_EMAIL) == 0)
        m.to_email = j->t.address;
    else
        m.to_phone = j->t.address;
    m.to_name = full;
    m.text = j->r.text;
    m.subject = j->r.subject;
    m.html = j->r.html;
    m.template_name = j->r.wa_template_name;
    m.template_language = j->r.wa_language;
    m.params = j->r.params;
    m.n_params = j->r.n_params;
    m.buttons = j->r.buttons;
    m.n_buttons = j->r.n_buttons;
    m.sms_segments = j->r.sms_segments;
    e->stats.sends++;
    if (e->obs.on_send)
        e->obs.on_send(e->obs.ud, &j->c, &j->t, &m);
    if (!inst || !(s = malloc(sizeof *s))) {
        queue_done(e, j->t.id, NULL, inst ? DG_ENOMEM : DG_ESTATE, j, NULL);
        return;
    }
    s->e = e;
    s->touch_id = j->t.id;
    s->started = dg_clock_now(e->rt->clock);
    s->job = j;
    s->mark = j->mark;
    if (s->mark) { /* copies for the completion: no re-read while still current */
        s->c = j->c;
        s->t = j->t;
    }
    e->sending++; /* before the call: a synchronous channel completes inside it */
    rc = dg_instance_send(inst, &m, on_send_done, s);
    if (rc != DG_PENDING && rc != DG_OK) {
        free(s);
        if (e->sending)
            e->sending--;
        queue_done(e, j->t.id, NULL, rc, j, NULL);
    }
}

void dg__dispatch(dg_engine *e, int flush)
{
    /* The sends run inside the database's next write batch, opened for
     * reading (the touches they carry are committed already): plugins read
     * state while sending (the WhatsApp window), and inside a transaction
     * each read no longer takes and drops SQLite's file locks on its own.
     * The dispatch is no writer: a plugin's state_put joins the batch on its
     * own (and makes it sync), and an event handled during a send commits
     * the batch and then its own transaction before its jobs can act, as
     * before. A batch nobody wrote to commits free. */
    if (e->rt->db)
        dg_db_batch_open(e->rt->db);
    e->in_dispatch = 1;
    for (size_t i = 0; i < e->n_jobs; i++) { /* events during a send may add jobs */
        dg__job *j = &e->jobs[i];
        if (j->kind == 1) {
            send_one(e, j);
        } else {
            dg_instance *s = dg_instance_find(e->rt, j->c.store);
            dg_store_action a;
            DG_INIT(&a);
            a.kind = (dg_store_action_kind)j->act;
            a.order_id = j->c.order_id;
            a.reason = "other";
            a.staff_note = "duegate: balance not paid within the final window";
            if (s && dg_instance_kind(s) == DG_PLUGIN_STORE && s->plugin->store.act)
                dg_instance_act(s, &a, on_act_done, e);
        }
        dg_rendered_clear(&j->r);
    }
    e->in_dispatch = 0;
    if (flush) {
        dg__flush_done(e); /* before the jobs go: completions may use their copies */
        e->n_jobs = 0;
    }
}

/* ------------------------------------------------------------- timer */

static void on_timer(void *ud)
{
    dg_engine *e = ud;
    e->timer = NULL;
    e->timer_at = 0;
    dg_engine_run_due(e);
}

/* A batch more would exceed the cap: wait for completions (each flush of
 * completions calls dg__arm again). */
int dg__throttled(const dg_engine *e)
{
    return e->sending + e->batch > e->max_sending;
}

void dg__arm(dg_engine *e)
{
    int64_t at, now;
    if (!e->started || e->in_tick)
        return;
    if (dg__throttled(e)) {
        if (e->timer)
            dg_ctimer_stop(e->timer);
        e->timer = NULL;
        e->timer_at = 0;
        return;
    }
    if (e->st->vt->next_due(e->st, &at) != 0) {
        if (e->timer)
            dg_ctimer_stop(e->timer);
        e->timer = NULL;
        return;
    }
    if (e->timer && e->timer_at == at)
        return;
    if (e->timer)
        dg_ctimer_stop(e->timer);
    now = dg_clock_now(e->rt->clock);
    e->timer = dg_ctimer_start(e->rt->clock, at > now ? at - now : 0, 0, on_timer, e);
    e->timer_at = at;
}

/* Work through due actions in batches. The completions of one batch are
 * recorded in the transaction of the next one (one commit per batch, and
 * the pages both touch are written once); the last ones get their own.
 * With a write batch open (dg_db_join) a round is a savepoint inside it and
 * the batch is committed, with fsync, before the round's sends leave: one
 * commit per round instead of two (the batch's, then the round's own). */
void dg_engine_run_due(dg_engine *e)
{
    int64_t *ids = malloc(e->batch * sizeof *ids);
    dg_db *db = e->rt->db;
    if (!ids)
        return;
    e->in_tick = 1;
    for (int rounds = 0; rounds < 100000; rounds++) {
        int64_t now = dg_clock_now(e->rt->clock);
        int clean = e->epoch == e->batch_epoch;
        size_t n = 0;
        int joined, rc;
        if (dg__throttled(e))
            break; /* the rest when completions come back (dg__arm) */
        joined = db && dg_db_join(db) == 0;
        if (dg__tx_begin(e) != 0) {
            if (joined)
                dg_db_leave(db, 0, NULL, NULL);
            break;
        }
        apply_all(e, now, clean); /* the previous batch's completions */
        e->n_jobs = 0;
        e->batch_epoch = 0;
        if (e->st->vt->due(e->st, now, ids, e->batch, &n) != 0)
            n = 0;
        for (size_t i = 0; i < n; i++)
            dg__process_case(e, ids[i], now);
        rc = dg__tx_end(e, 0);
        if (joined) {
            dg_db_leave(db, 0, NULL, NULL);
            if (rc == 0 && e->n_jobs && dg_db_flush(db) != 0)
                rc = DG_EIO; /* rolled back: nothing of it may act outside */
        }
        if (rc != 0) {
            for (size_t i = 0; i < e->n_jobs; i++)
                dg_rendered_clear(&e->jobs[i].r);
            e->n_jobs = 0;
            break;
        }
        if (n == 0)
            break;
        e->batch_epoch = e->epoch;
        for (size_t i = 0; i < e->n_jobs; i++) /* the state the copies hold, committed */
            if (e->jobs[i].kind == 1 && e->st->vt->write_mark)
                e->jobs[i].mark = e->st->vt->write_mark(e->st, e->jobs[i].c.id);
        dg__dispatch(e, 0);
    }
    e->in_tick = 0;
    dg__flush_done(e);
    e->n_jobs = 0;
    e->batch_epoch = 0;
    free(ids);
    dg__arm(e);
}
