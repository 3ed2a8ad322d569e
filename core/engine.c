/* The engine's ladder: planning, due actions, sending, completions. Order
 * and channel events and operator actions are in engine_events.c. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine_int.h"
#include "error.h"
#include "instance.h"
#include "log.h"

#define MIN_MS 60000LL

int dg_render_unavailable(void *ud, const char *template_id, const char *channel_kind,
                          const dg_msg_facts *facts, dg_rendered *out, char *err, size_t len)
{
    (void)ud, (void)facts, (void)out;
    dg_errf(err, len, "no template layer wired in (template %s, %s)", template_id, channel_kind);
    return DG_ENOTSUP;
}

/* ------------------------------------------------------------ helpers */

void dg__note(dg_engine *e, const dg_case *c, const char *what, const char *why)
{
    if (e->obs.on_note)
        e->obs.on_note(e->obs.ud, c, what, why);
}

int dg__tx_begin(dg_engine *e)
{
    e->epoch++;
    return e->st->vt->begin(e->st);
}

int dg__tx_end(dg_engine *e, int rc)
{
    if (rc < 0 && rc != DG_ENOTFOUND && rc != DG_EEXIST && rc != DG_ESTATE) {
        e->st->vt->rollback(e->st);
        return rc;
    }
    e->stats.transactions++;
    if (e->st->vt->commit(e->st) != 0) {
        e->st->vt->rollback(e->st);
        return DG_EIO;
    }
    return rc;
}

uint64_t dg__rnd(dg_engine *e)
{
    uint64_t x = e->rng;
    x ^= x << 13, x ^= x >> 7, x ^= x << 17;
    return e->rng = x;
}

void dg__customer_key(const dg_case *c, char *out, size_t len)
{
    snprintf(out, len, "%s:%s", c->store,
             c->cust_id[0] ? c->cust_id
             : c->phone[0] ? c->phone
                           : c->email);
}

int64_t dg__paid_history(dg_engine *e, const dg_case *c)
{
    char key[128];
    int64_t n = 0;
    dg__customer_key(c, key, sizeof key);
    if (e->ph_epoch == e->epoch && strcmp(key, e->ph_key) == 0)
        return e->ph_val;
    e->st->vt->history_count(e->st, key, "paid", &n);
    memcpy(e->ph_key, key, sizeof key);
    e->ph_epoch = e->epoch;
    e->ph_val = n;
    return n;
}

int dg__case_zones(const dg_engine *e, const dg_case *c, dg_zones *z)
{
    dg_tz_resolve(c->tz, c->country, c->province, c->phone, e->cfg.store_tz, z);
    return z->n;
}

const char *dg_engine_channel_kind(const dg_engine *e, const dg_instance *inst)
{
    uint32_t caps;
    for (int i = 0; i < e->cfg.n_kinds; i++)
        if (strcmp(e->cfg.kind_inst[i], inst->name) == 0)
            return e->cfg.kind_name[i];
    caps = inst->plugin->channel.capabilities;
    if (caps & DG_CAP_TEMPLATES)
        return DG_CHANNEL_KIND_WHATSAPP;
    if (caps & DG_CAP_EMAIL)
        return DG_CHANNEL_KIND_EMAIL;
    return DG_CHANNEL_KIND_SMS;
}

/* A channel entry of a step is an instance name or a kind; for a kind the
 * started instance of that kind with the smallest name is used. */
static dg_instance *resolve_channel(dg_engine *e, const char *entry, const char **kind)
{
    dg_instance *best = NULL;
    for (dg_instance *i = e->rt->instances; i; i = i->next) {
        if (dg_instance_kind(i) != DG_PLUGIN_CHANNEL || i->state != DG_INST_STARTED || !i->healthy)
            continue;
        if (strcmp(i->name, entry) == 0) {
            best = i;
            break;
        }
        if (strcmp(dg_engine_channel_kind(e, i), entry) == 0 &&
            (!best || strcmp(i->name, best->name) < 0))
            best = i;
    }
    if (best)
        *kind = dg_engine_channel_kind(e, best);
    return best;
}

static const char *address_for(const dg_case *c, const char *kind)
{
    return strcmp(kind, DG_CHANNEL_KIND_EMAIL) == 0 ? c->email : c->phone;
}

static const dg_playbook *pb_of(const dg_engine *e, const dg_case *c)
{
    return dg_engine_cfg_playbook(&e->cfg, c->playbook);
}

/* The windows to try, most wanted first (see schedule.h). */
static int windows_for(const dg_engine *e, const dg_playbook *pb, const char *kind,
                       const dg_case *c, const dg_zones *z, dg_window *ws)
{
    dg_window base = e->cfg.awake, n = {0, 0};
    int k = 0;
    if (strcmp(kind, DG_CHANNEL_KIND_SMS) == 0) {
        const char *country = c->country;
        char cc[4] = "";
        if (!country[0] && c->phone[0] == '+' && c->phone[1] == '1')
            country = strcpy(cc, "US"); /* +1 numbers: apply the US rule */
        base = dg_engine_cfg_sms_window(&e->cfg, country);
    }
    if (pb->golden) {
        ws[k++] = dg_window_and(e->cfg.golden, base);
        if (z->n > 1) {
            n.start = e->cfg.golden.start;
            n.end = base.end;
            ws[k++] = dg_window_and(n, base);
        }
    }
    ws[k++] = base;
    return k;
}

/* -------------------------------------------------------------- plans */

static int64_t anchor_of(const dg_case *c, int anchor)
{
    switch (anchor) {
    case DG_ANCHOR_CREATED:
        return c->created_at;
    case DG_ANCHOR_CLOSE:
        return c->close_at;
    default:
        return c->due_at;
    }
}

/* Nominal time of step s, intervals scaled by the segments' cadence
 * relative to the playbook's first step. */
static int64_t nominal(const dg_engine *e, const dg_case *c, const dg_playbook *pb, int s,
                       double cadence)
{
    int64_t t0 = anchor_of(c, pb->steps[0].anchor) + pb->steps[0].offset;
    int64_t t = anchor_of(c, pb->steps[s].anchor) + pb->steps[s].offset;
    (void)e;
    if (cadence != 1.0 && s > 0 && pb->steps[s].anchor != DG_ANCHOR_CLOSE)
        t = t0 + (int64_t)((double)(t - t0) * cadence);
    return t;
}

void dg__set_next(dg_case *c, int kind, int64_t at, const char *fmt, ...)
{
    va_list ap;
    c->next_kind = kind;
    c->next_at = at;
    va_start(ap, fmt);
    vsnprintf(c->next_step, sizeof c->next_step, fmt, ap);
    va_end(ap);
}

/* Plan the expiry (no step left). */
static void plan_expiry(dg_engine *e, dg_case *c, const dg_playbook *pb, int64_t now)
{
    int64_t at;
    if (pb->flow == DG_FLOW_UNPAID_ORDER || c->close_at) {
        at = c->close_at > now ? c->close_at : now;
        dg__set_next(c, DG_NEXT_EXPIRE, at, "expire when the store closes the order%s", "");
    } else {
        at = (c->last_touch_at ? c->last_touch_at : now) + pb->final_window;
        if (at < now)
            at = now;
        dg__set_next(c, DG_NEXT_EXPIRE, at, "expire after the final window%s", "");
    }
    c->expire_at = at;
    (void)e;
}

/* Plan the next stage starting at step `from`, re-planned from what really
 * happened: each interval longer than the last, never after close. */
void dg__plan_stage_from(dg_engine *e, dg_case *c, int from, int64_t now)
{
    const dg_playbook *pb = pb_of(e, c);
    dg_seg_eff eff;
    if (!pb) {
        dg__set_next(c, DG_NEXT_NONE, 0, "no playbook%s", "");
        return;
    }
    dg_segments_compute(&e->cfg, c, dg__paid_history(e, c), &eff);
    if (c->touches_used >= eff.max_touches || c->followup_done ||
        c->messages_sent >= e->cfg.max_messages) {
        plan_expiry(e, c, pb, now);
        return;
    }
    for (int s = from; s < pb->n_steps; s++) {
        int64_t t = nominal(e, c, pb, s, eff.cadence);
        if (c->last_touch_at) {
            int64_t min_t = c->last_touch_at + c->last_interval + MIN_MS;
            if (t < min_t)
                t = min_t;
        }
        if (t < now)
            t = now;
        if (c->close_at && t >= c->close_at)
            continue; /* no touch after close */
        c->step = s;
        c->ch_idx = 0;
        dg__set_next(c, DG_NEXT_STEP, t, "%s", pb->steps[s].stage);
        return;
    }
    plan_expiry(e, c, pb, now);
}

int dg__plan_first(dg_engine *e, dg_case *c, int64_t now)
{
    const dg_playbook *pb = pb_of(e, c);
    dg_seg_eff eff;
    int first = 0;
    if (!pb)
        return DG_ENOTFOUND;
    dg_segments_compute(&e->cfg, c, dg__paid_history(e, c), &eff);
    /* Steps superseded by a later one that is also due are skipped. */
    for (int s = 1; s < pb->n_steps; s++)
        if (nominal(e, c, pb, s, eff.cadence) <= now)
            first = s;
    c->last_touch_at = 0;
    c->last_interval = 0;
    dg__plan_stage_from(e, c, first, now);
    return 0;
}

/* Is there a usable channel after index `from` in the step? */
static int has_channel_after(dg_engine *e, const dg_case *c, const dg_step *st, int from)
{
    for (int i = from + 1; i < st->n_channels; i++) {
        const char *kind;
        dg_instance *inst = resolve_channel(e, st->channels[i], &kind);
        const char *addr;
        if (!inst)
            continue;
        addr = address_for(c, kind);
        if (addr[0] && e->st->vt->is_suppressed(e->st, kind, addr) == 0)
            return 1;
    }
    return 0;
}

int dg__plan_after_send(dg_engine *e, dg_case *c, int64_t now)
{
    const dg_playbook *pb = pb_of(e, c);
    int64_t fb = 0;
    const dg_step *st;
    dg_case probe;
    if (!pb || c->step >= pb->n_steps)
        return DG_ENOTFOUND;
    st = &pb->steps[c->step];
    /* A fallback may not eat the messages later stages need: one message
     * per stage still to come stays reserved under the cap. */
    {
        dg_seg_eff eff;
        int64_t later;
        dg_segments_compute(&e->cfg, c, dg__paid_history(e, c), &eff);
        later = c->followup_done ? 0 : pb->n_steps - c->step - 1;
        if (later > eff.max_touches - c->touches_used)
            later = eff.max_touches - c->touches_used;
        if (later < 0)
            later = 0;
        if (c->messages_sent + later < e->cfg.max_messages &&
            has_channel_after(e, c, st, (int)c->ch_idx))
            fb = now + st->answer_window;
    }
    probe = *c;
    dg__plan_stage_from(e, &probe, c->followup_done ? pb->n_steps : (int)c->step + 1, now);
    if (fb && (probe.next_kind != DG_NEXT_STEP || fb < probe.next_at) &&
        (!c->close_at || fb < c->close_at)) {
        dg__set_next(c, DG_NEXT_FALLBACK, fb, "next channel if no answer to %s", st->stage);
        return 0;
    }
    c->step = probe.step;
    c->ch_idx = probe.ch_idx;
    c->next_kind = probe.next_kind;
    c->next_at = probe.next_at;
    c->expire_at = probe.expire_at;
    memcpy(c->next_step, probe.next_step, sizeof c->next_step);
    return 0;
}

/* ---------------------------------------------------------- sending */

dg__job *dg__job_add(dg_engine *e, int kind)
{
    dg__job *j;
    if (e->n_jobs >= e->batch * 2 + 8)
        return NULL;
    j = &e->jobs[e->n_jobs++];
    memset(j, 0, sizeof *j);
    j->kind = kind;
    return j;
}

/* The template a touch uses: follow-up, overdue variant, new angle after
 * a read-but-unanswered touch, then segment overrides. */
typedef struct read_probe {
    int read;
} read_probe;

static void probe_read(void *ud, const dg_touch *t)
{
    read_probe *p = ud;
    if (t->status == DG_TOUCH_READ)
        p->read = 1;
}

static const char *pick_template(dg_engine *e, const dg_case *c, const dg_step *st, int64_t now,
                                 unsigned seg_mask)
{
    const char *id = st->tmpl;
    if (c->followup_done)
        id = e->cfg.followup_template;
    else if (st->tmpl_overdue[0] && c->due_at && now > c->due_at)
        id = st->tmpl_overdue;
    else if (st->tmpl_no_reply[0]) {
        read_probe p = {0};
        e->st->vt->touches_of_case(e->st, c->id, probe_read, &p);
        if (p.read)
            id = st->tmpl_no_reply;
    }
    return dg_segments_template(&e->cfg, seg_mask, id);
}

static int render_for(dg_engine *e, const dg_case *c, const dg_step *st, const char *kind,
                      const char *tmpl, const dg_seg_eff *eff, const dg_zones *z, int64_t now,
                      dg_rendered *r, char *err, size_t len)
{
    dg_msg_facts f;
    char full[160];
    const dg_playbook *pb = pb_of(e, c);
    memset(&f, 0, sizeof f);
    snprintf(full, sizeof full, "%s%s%s", c->first_name, c->last_name[0] ? " " : "", c->last_name);
    f.locale = c->locale[0] ? c->locale : NULL;
    f.tz = z->z[0];
    f.first_name = c->first_name;
    f.full_name = full;
    f.order_name = c->order_name;
    f.items_summary = c->items_summary;
    f.amount_minor = c->amount_minor;
    f.currency = c->currency;
    f.deadline_ms = c->due_at ? c->due_at : c->close_at;
    f.close_ms = c->close_at;
    f.now_ms = now;
    if (pb && c->step == pb->n_steps - 1 && pb->flow == DG_FLOW_PRESALE_BALANCE)
        f.final_window_ms = pb->final_window;
    f.pay_link = c->pay_link;
    f.store_name = c->store;
    f.coupon = eff->coupon[0] ? eff->coupon : NULL;
    f.segment = dg_segment_names[eff->primary];
    f.last_reply = c->feedback[0] ? c->feedback : NULL;
    f.promise_ms = c->promise_at;
    (void)st;
    memset(r, 0, sizeof *r);
    return e->render(e->render_ud, tmpl, kind, &f, r, err, len);
}

enum {
    START_SENT = 0,
    START_MOVED = 1,
    START_NONE = 2,
    START_CAPPED = 3,
    START_CLOSED = 4,
    START_ERR = -1
};

/* Start (or retry) the touch of the case's current step on channel
 * c->ch_idx or the next usable one. `retry`: the active touch, retried. */
static int start_touch(dg_engine *e, dg_case *c, int new_stage, dg_touch *retry, int64_t now)
{
    const dg_playbook *pb = pb_of(e, c);
    const dg_step *st;
    dg_seg_eff eff;
    dg_zones z;
    if (!pb || c->step >= pb->n_steps)
        return START_NONE;
    st = &pb->steps[c->step];
    dg_segments_compute(&e->cfg, c, dg__paid_history(e, c), &eff);
    dg__case_zones(e, c, &z);
    if (new_stage && c->touches_used >= eff.max_touches)
        return START_CAPPED;
    for (int ch = (int)c->ch_idx; ch < st->n_channels; ch++) {
        const char *kind = NULL, *addr, *tmpl;
        dg_instance *inst = resolve_channel(e, st->channels[ch], &kind);
        dg_window ws[3];
        int nw, used = 0;
        int64_t open;
        char err[256];
        dg__job *j;
        dg_touch t;
        if (!inst)
            continue;
        addr = address_for(c, kind);
        if (!addr[0] || e->st->vt->is_suppressed(e->st, kind, addr) != 0)
            continue;
        if (retry && strcmp(retry->channel, inst->name) != 0)
            retry = NULL; /* the retried channel is gone: a fresh touch */
        nw = windows_for(e, pb, kind, c, &z, ws);
        open = dg_sched_next_open_multi(&z, ws, nw, now, &used);
        if (c->close_at && (open < 0 ? now : open) >= c->close_at)
            return START_CLOSED; /* no touch after the store closes the order */
        if (open != now) {
            char why[120];
            /* come back to this very channel: a fallback increments first */
            c->ch_idx = c->next_kind == DG_NEXT_FALLBACK ? ch - 1 : ch;
            if (open < 0)
                open = now + 3600000; /* no window in 8 days: look again in an hour */
            c->next_at = open;
            snprintf(why, sizeof why, "%s moved into the %s window (%s)",
                     c->followup_done ? "followup" : st->stage,
                     used == 0 && pb->golden ? "golden-hours" : "allowed", z.source);
            snprintf(c->next_step, sizeof c->next_step, "%s", why);
            dg__note(e, c, "moved", why);
            return START_MOVED;
        }
        if (!retry && c->messages_sent >= e->cfg.max_messages)
            return START_CAPPED;
        tmpl = pick_template(e, c, st, now, eff.mask);
        j = dg__job_add(e, 1);
        if (!j)
            return START_ERR;
        if (render_for(e, c, st, kind, tmpl, &eff, &z, now, &j->r, err, sizeof err) != 0) {
            dg_rendered_clear(&j->r);
            e->n_jobs--;
            memset(&t, 0, sizeof t);
            t.case_id = c->id;
            t.step = c->step;
            snprintf(t.stage, sizeof t.stage, "%s", c->followup_done ? "followup" : st->stage);
            snprintf(t.channel, sizeof t.channel, "%s", inst->name);
            snprintf(t.kind, sizeof t.kind, "%s", kind);
            snprintf(t.template_id, sizeof t.template_id, "%s", tmpl);
            snprintf(t.idem_key, sizeof t.idem_key, "c%lld-s%lld-%s%s-render%lld", (long long)c->id,
                     (long long)c->step, c->followup_done ? "f-" : "", inst->name, (long long)now);
            t.status = DG_TOUCH_FAILED;
            t.error_class = DG_ERRC_CONFIG;
            snprintf(t.error_code, sizeof t.error_code, "render");
            snprintf(t.why, sizeof t.why, "%.150s", err);
            t.created_at = t.updated_at = now;
            e->st->vt->touch_put(e->st, &t);
            dg_logf(DG_LOG_WARN, "engine", "render_failed", "template", tmpl, "channel", kind,
                    "error", err, NULL);
            continue;
        }
        if (retry) {
            t = *retry;
            t.attempt++;
        } else {
            memset(&t, 0, sizeof t);
            t.case_id = c->id;
            t.step = c->step;
            snprintf(t.stage, sizeof t.stage, "%s", c->followup_done ? "followup" : st->stage);
            snprintf(t.channel, sizeof t.channel, "%s", inst->name);
            snprintf(t.kind, sizeof t.kind, "%s", kind);
            snprintf(t.idem_key, sizeof t.idem_key, "c%lld-s%lld-%s%s", (long long)c->id,
                     (long long)c->step, c->followup_done ? "f-" : "", inst->name);
            snprintf(t.address, sizeof t.address, "%s", addr);
            t.attempt = 1;
            t.created_at = now;
            c->messages_sent++;
        }
        snprintf(t.template_id, sizeof t.template_id, "%s", tmpl);
        snprintf(t.why, sizeof t.why, "%s",
                 retry                              ? "retry"
                 : c->next_kind == DG_NEXT_FALLBACK ? "fallback: no answer in the window"
                 : new_stage                        ? "stage due"
                                                    : "next channel");
        t.status = DG_TOUCH_SENDING;
        t.updated_at = now;
        if (e->st->vt->touch_put(e->st, &t) != 0) {
            dg_rendered_clear(&j->r);
            e->n_jobs--;
            return START_ERR;
        }
        if (new_stage) {
            c->last_interval = c->last_touch_at ? now - c->last_touch_at : 0;
            c->last_touch_at = now;
            c->touches_used++;
            new_stage = 0;
        }
        c->ch_idx = ch;
        c->active_touch = t.id;
        c->last_contact_at = now;
        dg__set_next(c, DG_NEXT_NONE, 0, "waiting for %s to accept the message", inst->name);
        j->t = t;
        j->c = *c;
        return START_SENT;
    }
    return START_NONE;
}

/* -------------------------------------------------------- due actions */

void dg__touch_collect(void *ud, const dg_touch *t)
{
    dg__tlist *l = ud;
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 8;
        dg_touch *n = realloc(l->v, cap * sizeof *n);
        if (!n)
            return;
        l->v = n;
        l->cap = cap;
    }
    l->v[l->n++] = *t;
}

int dg__end_case(dg_engine *e, dg_case *c, int status, const char *why, int64_t now)
{
    c->status = status;
    c->next_at = 0;
    c->next_kind = DG_NEXT_NONE;
    snprintf(c->next_step, sizeof c->next_step, "none: %s", why);
    c->changed_at = now;
    dg__tlist l = {NULL, 0, 0};
    int rc;
    dg__note(e, c, dg_case_status_name(status), why);
    rc = e->st->vt->touches_of_case(e->st, c->id, dg__touch_collect, &l);
    for (size_t i = 0; i < l.n; i++) {
        if (l.v[i].status == DG_TOUCH_SCHEDULED) {
            l.v[i].status = DG_TOUCH_EXPIRED;
            l.v[i].updated_at = now;
            e->st->vt->touch_put(e->st, &l.v[i]);
        }
    }
    free(l.v);
    return rc;
}

static void history(dg_engine *e, const dg_case *c, const char *event, int64_t now)
{
    char key[128];
    dg__customer_key(c, key, sizeof key);
    e->ph_epoch = 0; /* the memo may be stale now */
    e->st->vt->history_add(e->st, key, c->order_id, event, c->amount_minor, now);
}

static void after_no_send(dg_engine *e, dg_case *c, int r, int64_t now)
{
    const dg_playbook *pb = pb_of(e, c);
    if (r == START_CAPPED || r == START_CLOSED) {
        plan_expiry(e, c, pb, now);
        dg__note(e, c, r == START_CAPPED ? "capped" : "closing",
                 r == START_CAPPED ? "touch or message cap reached"
                                   : "no touch after the store closes the order");
    } else if (r == START_NONE) {
        if (c->active_touch && c->next_kind == DG_NEXT_FALLBACK)
            dg__plan_after_send(e, c, now); /* no channel left: wait for the next stage */
        else
            dg__plan_stage_from(e, c, (int)c->step + 1, now);
        dg__note(e, c, "skipped", "no usable channel for this stage");
    }
    if (c->next_kind == DG_NEXT_FALLBACK && c->next_at <= now) /* nothing after it */
        dg__plan_stage_from(e, c, (int)c->step + 1, now);
}

/* The stage is anchored before the due time, has no overdue wording, and the due time passed. */
static int stale_pre_due(const dg_playbook *pb, const dg_case *c, int64_t now)
{
    const dg_step *st = pb && c->step >= 0 && c->step < pb->n_steps ? &pb->steps[c->step] : NULL;
    return st && !c->followup_done && c->due_at && now >= c->due_at &&
           st->anchor == DG_ANCHOR_DUE && st->offset < 0 && !st->tmpl_overdue[0];
}

void dg__process_case(dg_engine *e, int64_t id, int64_t now)
{
    dg_case c;
    int r = START_NONE;
    const dg_playbook *pb;
    size_t jobs_before = e->n_jobs;
    if (e->st->vt->case_get(e->st, id, &c) != 0)
        return;
    e->stats.due_actions++;
    pb = pb_of(e, &c);
    if (!dg_case_status_live((int)c.status) || !pb ||
        (c.status == DG_CASE_PROMISED && c.next_kind != DG_NEXT_FOLLOWUP)) {
        c.next_at = 0;
        c.next_kind = DG_NEXT_NONE;
        e->st->vt->case_put(e->st, &c);
        return;
    }
    switch (c.next_kind) {
    case DG_NEXT_STEP:
        if (c.step == pb->n_steps - 1 && pb->flow == DG_FLOW_PRESALE_BALANCE &&
            e->cfg.reread_before_final && !c.final_checked) {
            dg_instance *s = dg_instance_find(e->rt, c.store);
            c.final_checked = 1;
            if (s && dg_instance_kind(s) == DG_PLUGIN_STORE && s->plugin->store.act) {
                dg__job *j = dg__job_add(e, 2);
                if (j) {
                    j->c = c;
                    j->act = DG_ACT_REREAD_ORDER;
                    c.next_at = now + e->cfg.reread_wait;
                    snprintf(c.next_step, sizeof c.next_step, "final: re-reading the order first");
                    dg__note(e, &c, "reread", "store re-read before the final notice");
                    break;
                }
            }
        }
        r = start_touch(e, &c, 1, NULL, now);
        if (r != START_SENT && r != START_MOVED)
            after_no_send(e, &c, r, now);
        break;
    case DG_NEXT_FALLBACK:
        if (stale_pre_due(pb, &c, now)) { /* "due in N days" after the due time: next stage */
            dg__note(e, &c, "skipped", "due time passed: no fallback of a pre-due reminder");
            dg__plan_stage_from(e, &c, (int)c.step + 1, now);
            break;
        }
        dg__count(e, "duegate_fallbacks_total", "stage",
                  c.step < pb->n_steps ? pb->steps[c.step].stage : "", NULL, NULL);
        c.ch_idx++;
        r = start_touch(e, &c, 0, NULL, now);
        if (r != START_SENT && r != START_MOVED)
            after_no_send(e, &c, r, now);
        break;
    case DG_NEXT_RETRY: {
        dg_touch t;
        if (e->st->vt->touch_get(e->st, c.active_touch, &t) != 0 ||
            t.status != DG_TOUCH_SCHEDULED) {
            dg__plan_after_send(e, &c, now);
            break;
        }
        r = start_touch(e, &c, 0, &t, now);
        if (r != START_SENT && r != START_MOVED) {
            t.status = DG_TOUCH_FAILED;
            e->st->vt->touch_put(e->st, &t);
            after_no_send(e, &c, r, now);
        }
        break;
    }
    case DG_NEXT_FOLLOWUP:
        if (!c.followup_done) {
            history(e, &c, "promise_broken", now);
            c.ch_idx = 0;
        }
        c.status = DG_CASE_OPEN;
        c.followup_done = 1;
        r = start_touch(e, &c, 1, NULL, now);
        if (r == START_CAPPED) {
            c.needs_person = 1;
            dg__end_case(e, &c, DG_CASE_PAUSED,
                         "promise date passed, touch cap reached: "
                         "a person should call",
                         now);
        } else if (r != START_SENT && r != START_MOVED) {
            after_no_send(e, &c, r, now);
        }
        break;
    case DG_NEXT_EXPIRE:
        history(e, &c, "expired", now);
        dg__end_case(e, &c, DG_CASE_EXPIRED,
                     pb->flow == DG_FLOW_UNPAID_ORDER ? "the store closes the order"
                                                      : "final window over",
                     now);
        if (pb->cancel_on_expire) {
            dg__job *j = dg__job_add(e, 2);
            if (j) {
                j->c = c;
                j->act = DG_ACT_CANCEL_ORDER;
            }
        }
        break;
    default:
        c.next_at = 0;
        break;
    }
    if (c.next_at && c.next_at <= now) {
        /* never leave a case due now: that would spin */
        dg_logf(DG_LOG_WARN, "engine", "due_again", "order", c.order_id, NULL);
        c.next_at = now + MIN_MS;
    }
    c.changed_at = now;
    e->st->vt->case_put(e->st, &c);
    for (size_t i = jobs_before; i < e->n_jobs; i++) /* keep the batch copy exact */
        if (e->jobs[i].kind == 1 && e->jobs[i].c.id == c.id)
            e->jobs[i].c = c;
}
