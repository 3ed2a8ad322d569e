/* Order events, channel events and operator actions: each one transaction,
 * committed before the caller gets DG_OK. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine_int.h"
#include "error.h"
#include "instance.h"
#include "log.h"

#define CP(dst, src) snprintf((dst), sizeof(dst), "%s", (src) ? (src) : "")

static void fill_case(dg_case *c, const dg_order_event *ev)
{
    const dg_customer *cu = &ev->customer;
    CP(c->store, ev->store);
    CP(c->order_id, ev->order_id);
    CP(c->order_name, ev->order_name ? ev->order_name : ev->order_id);
    c->amount_minor = ev->amount_owed_minor;
    c->total_minor = ev->order_total_minor;
    CP(c->currency, ev->currency);
    if (ev->due_at)
        c->due_at = ev->due_at;
    if (ev->created_at)
        c->created_at = ev->created_at;
    if (ev->close_at)
        c->close_at = ev->close_at;
    c->updated_at = ev->updated_at;
    CP(c->pay_link, ev->pay_link);
    CP(c->items_summary, ev->items_summary);
    c->n_items = 0;
    for (size_t i = 0; i < ev->n_items; i++)
        c->n_items += ev->items[i].quantity > 0 ? ev->items[i].quantity : 1;
    c->seg_hints = ev->segment_hints;
    if (cu->struct_size) {
        CP(c->cust_id, cu->id);
        CP(c->first_name, cu->first_name);
        CP(c->last_name, cu->last_name);
        CP(c->phone, cu->phone);
        CP(c->email, cu->email);
        CP(c->locale, cu->locale);
        CP(c->tz, cu->tz_hint);
        CP(c->country, cu->country);
        CP(c->province, cu->province);
        c->orders_count = cu->orders_count;
        c->paid_orders_count = cu->paid_orders_count;
    }
}

static void history(dg_engine *e, const dg_case *c, const char *event, int64_t now)
{
    char key[128];
    dg__customer_key(c, key, sizeof key);
    e->ph_epoch = 0; /* the memo may be stale now */
    e->st->vt->history_add(e->st, key, c->order_id, event, c->amount_minor, now);
}

static int end_paid(dg_engine *e, dg_case *c, int status, const char *why, int64_t now)
{
    if (c->status == DG_CASE_PAID || c->status == DG_CASE_CANCELLED)
        return 0;
    if (status == DG_CASE_PAID) {
        history(e, c, "paid", now);
        if (c->status == DG_CASE_PROMISED || c->promise_at)
            history(e, c, c->promise_at && now > c->promise_at ? "promise_late" : "promise_kept",
                    now);
    }
    dg__end_case(e, c, status, why, now);
    return e->st->vt->case_put(e->st, c);
}

static int order_tx(dg_engine *e, const dg_order_event *ev, int64_t now)
{
    dg_case c;
    int found, rc;
    const dg_playbook *pb;
    int flow = ev->flow;
    memset(&c, 0, sizeof c);
    rc = e->st->vt->case_by_order(e->st, ev->store, ev->order_id, &c);
    if (rc != 0 && rc != DG_ENOTFOUND)
        return rc;
    found = rc == 0;
    if (found && ev->updated_at && c.updated_at > ev->updated_at)
        return 0; /* stale: the store has sent something newer already */
    if (ev->kind == DG_ORDER_PAID || (ev->kind == DG_ORDER_UPSERT && ev->amount_owed_minor <= 0)) {
        if (found)
            return end_paid(e, &c, DG_CASE_PAID, "paid", now);
        fill_case(&c, ev);
        history(e, &c, "paid", now);
        return 0;
    }
    if (ev->kind == DG_ORDER_CANCELLED || ev->kind == DG_ORDER_DELETED)
        return found ? end_paid(e, &c, DG_CASE_CANCELLED, "order cancelled in the store", now) : 0;
    if (ev->kind != DG_ORDER_UPSERT)
        return DG_EINVAL;
    if (found) {
        int64_t old_due = c.due_at, old_close = c.close_at;
        if (!dg_case_status_live((int)c.status) && c.status != DG_CASE_PAUSED)
            return 0; /* ended: a new debt on the same order is a person's call */
        fill_case(&c, ev);
        /* a new due date or closing time re-plans the stage not yet sent */
        if (c.status == DG_CASE_OPEN && c.next_kind == DG_NEXT_STEP &&
            (old_due != c.due_at || old_close != c.close_at)) {
            if (c.touches_used == 0)
                dg__plan_first(e, &c, now);
            else
                dg__plan_stage_from(e, &c, (int)c.step, now);
        }
        c.changed_at = now;
        return e->st->vt->case_put(e->st, &c);
    }
    if (flow == DG_FLOW_UNKNOWN)
        flow = ev->due_at ? DG_FLOW_PRESALE_BALANCE : DG_FLOW_UNPAID_ORDER;
    if (!(pb = dg_engine_cfg_for_flow(&e->cfg, flow)))
        return 0;
    if (flow == DG_FLOW_PRESALE_BALANCE && !ev->due_at)
        return 0; /* no due date: nothing to plan against */
    fill_case(&c, ev);
    if (!c.created_at)
        c.created_at = now;
    if (flow == DG_FLOW_UNPAID_ORDER && !c.close_at && pb->close_after)
        c.close_at = c.created_at + pb->close_after;
    if (flow == DG_FLOW_UNPAID_ORDER && c.close_at && c.close_at <= now)
        return 0; /* already closed */
    CP(c.playbook, pb->name);
    c.flow = flow;
    c.status = DG_CASE_OPEN;
    c.changed_at = now;
    dg__plan_first(e, &c, now);
    {
        dg_seg_eff eff;
        dg_segments_compute(&e->cfg, &c, dg__paid_history(e, &c), &eff);
        CP(c.segment, dg_segment_names[eff.primary]);
        CP(c.coupon, eff.coupon);
    }
    rc = e->st->vt->case_put(e->st, &c);
    if (!rc)
        dg__note(e, &c, "created", c.next_step);
    return rc;
}

int dg_engine_order(dg_engine *e, dg_instance *inst, const dg_order_event *ev)
{
    int64_t now = dg_clock_now(e->rt->clock);
    char key[256];
    int rc;
    (void)inst;
    if (!ev || !ev->order_id || !ev->store)
        return DG_EINVAL;
    if ((rc = dg__tx_begin(e)) != 0)
        return rc;
    if (ev->dedupe_key && *ev->dedupe_key) {
        snprintf(key, sizeof key, "o:%s:%s", ev->store, ev->dedupe_key);
        if ((rc = e->st->vt->inbound_add(e->st, key, now)) == DG_EEXIST) {
            dg__tx_end(e, 0);
            return DG_EEXIST;
        }
    }
    if (!rc)
        rc = order_tx(e, ev, now);
    rc = dg__tx_end(e, rc);
    dg__arm(e);
    return rc < 0 ? rc : DG_OK;
}

/* ------------------------------------------------------ channel events */

static int word_eq(const char *text, const char *const *words)
{
    char buf[64];
    size_t n = 0;
    while (*text && isspace((unsigned char)*text))
        text++;
    for (; *text && n < sizeof buf - 1; text++)
        buf[n++] = (char)toupper((unsigned char)*text);
    while (n && (isspace((unsigned char)buf[n - 1]) || buf[n - 1] == '.' || buf[n - 1] == '!'))
        n--;
    buf[n] = '\0';
    for (; *words; words++)
        if (strcmp(buf, *words) == 0)
            return 1;
    return 0;
}

static const char *const stop_words[] = {
    "STOP",    "STOPALL", "UNSUBSCRIBE", "CANCEL", "END",   "QUIT", "OPTOUT", "OPT-OUT",
    "OPT OUT", "REVOKE",  "ARRET",       "ARRÊT",  "PARAR", "BAJA", "退订",   NULL};
static const char *const paid_words[] = {
    "PAID",   "I PAID",   "I HAVE PAID", "I'VE PAID", "ALREADY PAID", "JUST PAID", "DONE, PAID",
    "PAGADO", "YA PAGUÉ", "PAGUEI",      "JÁ PAGUEI", "BEZAHLT",      "PAYÉ",      "已付",
    "已付款", "已支付",   NULL};

int dg__is_stop_word(const char *t);
int dg__is_stop_word(const char *t)
{
    return t && word_eq(t, stop_words);
}

static int says_paid(const dg_channel_event *ev)
{
    if (ev->payload && strcmp(ev->payload, DG_PAYLOAD_PAID) == 0)
        return 1;
    return ev->text && (word_eq(ev->text, paid_words) || strstr(ev->text, "already paid") ||
                        strstr(ev->text, "I have paid") || strstr(ev->text, "I paid"));
}

static int rank(int s)
{
    switch (s) {
    case DG_TOUCH_SCHEDULED:
        return 0;
    case DG_TOUCH_SENDING:
        return 1;
    case DG_TOUCH_SENT:
        return 2;
    case DG_TOUCH_DELIVERED:
        return 3;
    case DG_TOUCH_READ:
        return 4;
    case DG_TOUCH_REPLIED:
        return 5;
    default:
        return 6; /* failed, expired: final */
    }
}

static void advance_touch(dg_engine *e, dg_touch *t, int status, int64_t now)
{
    if (rank(status) <= rank((int)t->status))
        return; /* statuses never move backwards */
    t->status = status;
    t->updated_at = now;
    dg__count(e, "duegate_touches_total", "channel", t->kind, "status",
              dg_touch_status_name(status));
    e->st->vt->touch_put(e->st, t);
}

static int channel_tx(dg_engine *e, dg_instance *inst, const dg_channel_event *ev, int64_t now)
{
    dg_touch t;
    dg_case c;
    int have_t = 0, have_c = 0;
    const char *kind = inst ? dg_engine_channel_kind(e, inst) : DG_CHANNEL_KIND_SMS;
    memset(&t, 0, sizeof t);
    if (ev->touch_id && e->st->vt->touch_get(e->st, ev->touch_id, &t) == 0 &&
        (!ev->channel || strcmp(t.channel, ev->channel) == 0))
        have_t = 1;
    else if (ev->provider_message_id &&
             e->st->vt->touch_by_provider(e->st, ev->channel, ev->provider_message_id, &t) == 0)
        have_t = 1;
    if (have_t)
        kind = t.kind;
    if (have_t && e->st->vt->case_get(e->st, t.case_id, &c) == 0)
        have_c = 1;
    else if (ev->address && e->st->vt->case_by_address(e->st, ev->address, &c) == 0)
        have_c = 1;
    switch (ev->kind) {
    case DG_CHEV_SENT:
    case DG_CHEV_DELIVERED:
    case DG_CHEV_READ:
        if (have_t)
            advance_touch(e, &t,
                          ev->kind == DG_CHEV_SENT        ? DG_TOUCH_SENT
                          : ev->kind == DG_CHEV_DELIVERED ? DG_TOUCH_DELIVERED
                                                          : DG_TOUCH_READ,
                          now);
        return 0;
    case DG_CHEV_FAILED:
        if (!have_t || rank((int)t.status) >= rank(DG_TOUCH_DELIVERED))
            return 0;
        t.status = DG_TOUCH_FAILED;
        t.error_class = ev->error_class;
        dg__count(e, "duegate_touches_total", "channel", t.kind, "status", "failed");
        CP(t.error_code, ev->error_code);
        t.updated_at = now;
        e->st->vt->touch_put(e->st, &t);
        if (ev->error_class == DG_ERRC_SUPPRESSED && t.address[0])
            e->st->vt->suppress(e->st, t.kind, t.address, "provider: opted out", now);
        if (have_c && c.status == DG_CASE_OPEN && c.active_touch == t.id) {
            const dg_playbook *pb = dg_engine_cfg_playbook(&e->cfg, c.playbook);
            int idx = 0;
            if (!pb || t.step >= pb->n_steps)
                return 0;
            for (int i = 0; i < pb->steps[t.step].n_channels; i++)
                if (strcmp(pb->steps[t.step].channels[i], t.channel) == 0 ||
                    strcmp(pb->steps[t.step].channels[i], t.kind) == 0)
                    idx = i;
            /* back to this stage: its next channel, at once */
            c.step = t.step;
            c.ch_idx = idx;
            c.next_kind = DG_NEXT_FALLBACK;
            c.next_at = now;
            snprintf(c.next_step, sizeof c.next_step, "next channel: %s failed", t.channel);
            dg__note(e, &c, "failed", ev->error_code ? ev->error_code : "failed");
            c.changed_at = now;
            e->st->vt->case_put(e->st, &c);
        }
        return 0;
    case DG_CHEV_OPTED_OUT:
        dg__count(e, "duegate_opt_outs_total", "channel", kind, NULL, NULL);
        if (ev->address && *ev->address)
            e->st->vt->suppress(e->st, kind, ev->address, "customer opted out", now);
        if (have_c && (dg_case_status_live((int)c.status) || c.status == DG_CASE_PAUSED)) {
            dg__end_case(e, &c, DG_CASE_OPTED_OUT, "customer opted out", now);
            e->st->vt->case_put(e->st, &c);
        }
        return 0;
    case DG_CHEV_OPTED_IN:
        if (ev->address && *ev->address)
            e->st->vt->unsuppress(e->st, kind, ev->address);
        return 0;
    case DG_CHEV_REPLIED:
        break;
    default:
        return DG_EINVAL;
    }
    /* a reply */
    dg__count(e, "duegate_replies_total", "channel", kind, NULL, NULL);
    if (have_t)
        advance_touch(e, &t, DG_TOUCH_REPLIED, now);
    if (dg__is_stop_word(ev->text)) {
        const char *addr = ev->address && *ev->address ? ev->address : have_t ? t.address : "";
        dg__count(e, "duegate_opt_outs_total", "channel", kind, NULL, NULL);
        if (*addr)
            e->st->vt->suppress(e->st, kind, addr, "customer sent STOP", now);
        if (have_c && (dg_case_status_live((int)c.status) || c.status == DG_CASE_PAUSED)) {
            dg__end_case(e, &c, DG_CASE_OPTED_OUT, "customer sent STOP", now);
            e->st->vt->case_put(e->st, &c);
        }
        return 0;
    }
    if (!have_c)
        return 0;
    c.last_contact_at = now;
    CP(c.feedback, ev->text ? ev->text : ev->payload);
    if (!dg_case_status_live((int)c.status) && c.status != DG_CASE_PAUSED) {
        c.changed_at = now;
        return e->st->vt->case_put(e->st, &c);
    }
    c.needs_person = 1;
    if (says_paid(ev)) {
        dg__job *j;
        CP(c.pause_reason, "customer says paid: re-reading the order");
        dg__end_case(e, &c, DG_CASE_PAUSED, "customer says paid: re-reading the order", now);
        if ((j = dg__job_add(e, 2)) != NULL) {
            j->c = c;
            j->act = DG_ACT_REREAD_ORDER;
        }
    } else {
        CP(c.pause_reason, "customer replied: a person should answer");
        dg__end_case(e, &c, DG_CASE_PAUSED, "customer replied: a person should answer", now);
    }
    return e->st->vt->case_put(e->st, &c);
}

int dg_engine_channel(dg_engine *e, dg_instance *inst, const dg_channel_event *ev)
{
    int64_t now = dg_clock_now(e->rt->clock);
    char key[256];
    int rc;
    if (!ev)
        return DG_EINVAL;
    size_t jobs_before = e->n_jobs;
    if ((rc = dg__tx_begin(e)) != 0)
        return rc;
    if (ev->dedupe_key && *ev->dedupe_key) {
        snprintf(key, sizeof key, "c:%s:%s", ev->channel ? ev->channel : "", ev->dedupe_key);
        if ((rc = e->st->vt->inbound_add(e->st, key, now)) == DG_EEXIST) {
            dg__tx_end(e, 0);
            return DG_EEXIST;
        }
    }
    if (!rc)
        rc = channel_tx(e, inst, ev, now);
    rc = dg__tx_end(e, rc);
    if (rc < 0)
        e->n_jobs = jobs_before;
    else if (!e->in_dispatch) /* else the dispatch under way picks them up */
        dg__dispatch(e, 1);   /* store re-reads asked for by "I paid" */
    dg__arm(e);
    return rc < 0 ? rc : DG_OK;
}

/* Group commit: with a loop, the event joins the database's write batch and
 * `done` runs once that batch is committed (the webhook is acknowledged only
 * then); without one (tests, simulate), or without `done`, it commits now. */
static int sink_order(void *ud, dg_instance *inst, const dg_order_event *ev, dg_emit_done_cb done,
                      void *done_ud)
{
    dg_engine *e = ud;
    dg_db *db = e->rt->db;
    if (!done || !db || dg_db_join(db) != 0)
        return dg_engine_order(e, inst, ev);
    return dg_db_leave(db, dg_engine_order(e, inst, ev), done, done_ud);
}

static int sink_channel(void *ud, dg_instance *inst, const dg_channel_event *ev,
                        dg_emit_done_cb done, void *done_ud)
{
    (void)done, (void)done_ud;
    return dg_engine_channel(ud, inst, ev);
}

dg_event_sink dg_engine_sink(dg_engine *e)
{
    dg_event_sink s = {sink_order, sink_channel, e};
    return s;
}

/* ---------------------------------------------------- operator actions */

typedef int (*op_fn)(dg_engine *e, dg_case *c, const void *arg, int64_t now);

static int operate(dg_engine *e, int64_t id, const char *who, const char *what, const char *argtxt,
                   op_fn fn, const void *arg)
{
    int64_t now = dg_clock_now(e->rt->clock);
    dg_case c;
    int rc = dg__tx_begin(e);
    if (rc)
        return rc;
    rc = e->st->vt->case_get(e->st, id, &c);
    if (!rc)
        rc = fn(e, &c, arg, now);
    if (!rc) {
        c.changed_at = now;
        rc = e->st->vt->case_put(e->st, &c);
    }
    if (!rc)
        rc = e->st->vt->action_add(e->st, id, who, what, argtxt, now);
    if (rc)
        e->st->vt->rollback(e->st);
    else
        rc = dg__tx_end(e, 0);
    dg__arm(e);
    return rc;
}

static int op_resume(dg_engine *e, dg_case *c, const void *arg, int64_t now)
{
    dg_touch t;
    int from = (int)c->step;
    (void)arg;
    if (c->status != DG_CASE_PAUSED && c->status != DG_CASE_PROMISED)
        return DG_ESTATE;
    c->status = DG_CASE_OPEN;
    c->needs_person = 0;
    c->pause_reason[0] = '\0';
    c->promise_at = 0;
    if (c->active_touch && e->st->vt->touch_get(e->st, c->active_touch, &t) == 0 &&
        t.step == c->step)
        from++; /* this stage already went out */
    c->ch_idx = 0;
    dg__plan_stage_from(e, c, from, now);
    dg__note(e, c, "resumed", c->next_step);
    return 0;
}

static int op_pause(dg_engine *e, dg_case *c, const void *arg, int64_t now)
{
    if (!dg_case_status_live((int)c->status))
        return DG_ESTATE;
    CP(c->pause_reason, arg ? (const char *)arg : "paused by an operator");
    return dg__end_case(e, c, DG_CASE_PAUSED, c->pause_reason, now);
}

static int op_promise(dg_engine *e, dg_case *c, const void *arg, int64_t now)
{
    int64_t at = *(const int64_t *)arg;
    const dg_playbook *pb = dg_engine_cfg_playbook(&e->cfg, c->playbook);
    if (!dg_case_status_live((int)c->status) && c->status != DG_CASE_PAUSED)
        return DG_ESTATE;
    if (at <= now)
        return DG_EINVAL;
    dg__end_case(e, c, DG_CASE_PROMISED, "promise to pay", now);
    c->promise_at = at;
    c->needs_person = 0;
    c->followup_done = 0;
    c->pause_reason[0] = '\0';
    if (pb && c->step >= pb->n_steps)
        c->step = pb->n_steps - 1;
    c->next_kind = DG_NEXT_FOLLOWUP;
    c->next_at = at;
    snprintf(c->next_step, sizeof c->next_step,
             "one follow-up if still unpaid on the promised date");
    return 0;
}

static int op_end(dg_engine *e, dg_case *c, const void *arg, int64_t now)
{
    int status = *(const int *)arg;
    if (c->status == DG_CASE_PAID || c->status == DG_CASE_CANCELLED)
        return DG_ESTATE;
    history(e, c, status == DG_CASE_RESOLVED ? "resolved" : "wont_pay", now);
    c->needs_person = 0;
    return dg__end_case(
        e, c, status, status == DG_CASE_RESOLVED ? "resolved by an operator" : "closed: won't pay",
        now);
}

int dg_engine_resume(dg_engine *e, int64_t id, const char *who)
{
    return operate(e, id, who, "resume", NULL, op_resume, NULL);
}

int dg_engine_pause(dg_engine *e, int64_t id, const char *who, const char *reason)
{
    return operate(e, id, who, "pause", reason, op_pause, reason);
}

int dg_engine_promise(dg_engine *e, int64_t id, const char *who, int64_t at)
{
    char txt[32];
    dg_format_iso8601(at, txt, sizeof txt);
    return operate(e, id, who, "promise", txt, op_promise, &at);
}

int dg_engine_resolve(dg_engine *e, int64_t id, const char *who)
{
    int s = DG_CASE_RESOLVED;
    return operate(e, id, who, "resolve", NULL, op_end, &s);
}

int dg_engine_close_wont_pay(dg_engine *e, int64_t id, const char *who)
{
    int s = DG_CASE_WONT_PAY;
    return operate(e, id, who, "wont_pay", NULL, op_end, &s);
}

/* Send now: the waiting time is skipped; the rules (send windows, opt-outs,
 * caps) still apply when the due action runs (it may be moved again). */
static int op_send_now(dg_engine *e, dg_case *c, const void *arg, int64_t now)
{
    (void)e, (void)arg;
    if (c->status != DG_CASE_OPEN || c->next_at <= 0 ||
        (c->next_kind != DG_NEXT_STEP && c->next_kind != DG_NEXT_FALLBACK &&
         c->next_kind != DG_NEXT_RETRY))
        return DG_ESTATE;
    if (c->next_at > now)
        c->next_at = now;
    return 0;
}

/* A person answered the customer: the flag clears; a paused case goes back
 * to its schedule when asked (arg: int resume). */
static int op_handled(dg_engine *e, dg_case *c, const void *arg, int64_t now)
{
    if (!c->needs_person)
        return DG_ESTATE;
    c->needs_person = 0;
    if (*(const int *)arg && c->status == DG_CASE_PAUSED)
        return op_resume(e, c, NULL, now);
    return 0;
}

int dg_engine_reply_handled(dg_engine *e, int64_t id, const char *who, const char *note,
                            int resume)
{
    return operate(e, id, who, "reply_handled", note, op_handled, &resume);
}

int dg_engine_send_now(dg_engine *e, int64_t id, const char *who)
{
    int rc = operate(e, id, who, "send_now", NULL, op_send_now, NULL);
    if (!rc)
        dg_engine_run_due(e);
    return rc;
}

int dg_engine_forget(dg_engine *e, const char *store, const char *customer, const char *who,
                     int64_t *n)
{
    int64_t now = dg_clock_now(e->rt->clock), cnt = 0;
    int rc;
    if (!store || !customer || !*customer)
        return DG_EINVAL;
    if ((rc = dg__tx_begin(e)) != 0)
        return rc;
    rc = e->st->vt->forget(e->st, store, customer, &cnt);
    if (!rc) /* the action row names no personal data */
        rc = e->st->vt->action_add(e->st, 0, who, "forget", store, now);
    if (rc)
        e->st->vt->rollback(e->st);
    else
        rc = dg__tx_end(e, 0);
    if (n)
        *n = cnt;
    return rc;
}
