/* Property test: thousands of random orders and random event sequences on
 * the virtual clock; every send is checked against the invariants when it
 * happens, and the ladders at the end:
 *  - no message after payment, cancellation, STOP or an operator close;
 *    none while paused by a reply or sleeping on a promise;
 *  - never more stages than the touch cap, never more messages than the cap;
 *  - nothing inside quiet hours (in every zone of the customer), SMS inside
 *    the legal window, presale touches of a known zone in golden hours;
 *  - nothing to a suppressed address; nothing after an unpaid order closes;
 *  - intervals between stages growing (for ladders no one interrupted). */
#include "efix.h"

#define N_ORDERS 1500
#define T0 1772452800000LL /* 2026-03-02T12:00:00Z */

typedef struct ord {
    int64_t case_id;
    int flow, busy;
    int64_t close_at;
    int ended, paused, interrupted;
    int64_t promise_until;
    int stages, msgs;
    int64_t stage_at[8];
    char last_stage[40];
    char phone[24];
} ord;

typedef struct ev {
    int64_t at;
    int order, type; /* 0 paid 1 cancel 2 reply 3 stop 4 promise 5 resume 6 wont_pay
                        7 delivered 8 read 9 failed (permanent) 10 failed (retryable) */
} ev;

static ord orders[N_ORDERS];
static ev events[N_ORDERS * 4];
static int n_events;
static uint64_t rng = 0x9e3779b97f4a7c15ULL;
static int64_t idx_of_case[N_ORDERS + 8];
static long violations, sends_checked;

static uint64_t rnd(void)
{
    rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17;
    return rng;
}

static const struct {
    const char *phone, *country, *province, *tz;
} people[] = {
    {"+1212555", "US", "NY", NULL}, {"+1310555", "US", "CA", NULL},
    {"+1415555", "US", NULL, NULL}, {"+4915112", "DE", NULL, NULL},
    {"+8613800", NULL, NULL, NULL}, {"+6140000", "AU", "NSW", NULL},
    {"+5511900", "BR", "SP", NULL}, {"+4477009", NULL, NULL, "Europe/London"},
    {"+5255123", "MX", NULL, NULL}, {"+8190123", "JP", NULL, NULL},
};

static void fail_if(int bad, const char *what, int o)
{
    if (bad) {
        violations++;
        if (violations < 20 || getenv("DG_TEST_VERBOSE"))
            fprintf(stderr, "violation: %s (order %d)\n", what, o);
    }
}

static int prop_hook(void *ud, dg_instance *inst, const dg_outbound_message *m, dg_op op,
                     dg_result *res)
{
    efix *f = ud;
    int o = (int)idx_of_case[m->case_id];
    ord *x = &orders[o];
    dg_case c;
    dg_zones z;
    int64_t now = dg_clock_now(f->rt.clock);
    const char *kind = dg_engine_channel_kind(f->e, inst);
    const char *addr = m->to_phone ? m->to_phone : m->to_email;
    char key[40];
    (void)op;
    sends_checked++;
    fail_if(x->ended, "message after payment/cancel/stop/close", o);
    fail_if(x->paused, "message while paused by a reply", o);
    fail_if(x->promise_until && now < x->promise_until, "message before the promised date", o);
    fail_if(f->st->vt->is_suppressed(f->st, kind, addr) != 0, "message to a suppressed address", o);
    fail_if(x->close_at && now >= x->close_at, "message after the order closed", o);
    f->st->vt->case_get(f->st, m->case_id, &c);
    dg_tz_resolve(c.tz, c.country, c.province, c.phone, f->cfg.store_tz, &z);
    fail_if(!dg_sched_inside(&z, f->cfg.awake, now), "message inside quiet hours", o);
    if (strcmp(kind, "sms") == 0 && (!strcmp(c.country, "US") || !strncmp(c.phone, "+1", 2))) {
        dg_window w = dg_engine_cfg_sms_window(&f->cfg, "US");
        fail_if(!dg_sched_inside(&z, w, now), "SMS outside the US legal window", o);
    }
    if (x->flow == DG_FLOW_PRESALE_BALANCE && z.n == 1)
        fail_if(!dg_sched_inside(&z, f->cfg.golden, now), "presale touch outside golden hours", o);
    snprintf(key, sizeof key, "%d:%s", (int)m->step, m->stage);
    if (strcmp(key, x->last_stage) != 0) {
        if (x->stages < 8)
            x->stage_at[x->stages] = now;
        x->stages++;
        snprintf(x->last_stage, sizeof x->last_stage, "%s", key);
    }
    if (m->attempt == 1) /* a retry is the same message again */
        x->msgs++;
    fail_if(x->stages > (x->busy ? 1 : f->cfg.max_touches), "more stages than the touch cap", o);
    fail_if(x->msgs > f->cfg.max_messages, "more messages than the cap", o);
    /* channels misbehave at random */
    if (inst == f->wa && rnd() % 10 == 0) {
        res->status = DG_EIO;
        res->error_class = DG_ERRC_PERMANENT;
    } else if (inst == f->sms && rnd() % 8 == 0) {
        res->status = DG_EIO;
        res->error_class = DG_ERRC_RETRYABLE;
        res->retry_after_ms = (int64_t)(rnd() % 600000);
    }
    return 0;
}

static int cmp_ev(const void *a, const void *b)
{
    const ev *x = a, *y = b;
    return x->at < y->at ? -1 : x->at > y->at;
}

static void test_invariants(void **state)
{
    efix *f = fx_new(T0, NULL);
    int64_t horizon = T0;
    (void)state;
    fx_engine(f);
    dg_simchan_set_hook(f->wa, prop_hook, f);
    dg_simchan_set_hook(f->sms, prop_hook, f);
    dg_simchan_set_hook(f->email, prop_hook, f);
    for (int i = 0; i < N_ORDERS; i++) {
        ord *x = &orders[i];
        int p = (int)(rnd() % (sizeof people / sizeof people[0]));
        char oid[16];
        int64_t created = T0 + (int64_t)(rnd() % (5 * D)), due;
        dg_order_event e;
        dg_clock_advance_to(
            f->rt.clock, created > dg_clock_now(f->rt.clock) ? created : dg_clock_now(f->rt.clock));
        created = dg_clock_now(f->rt.clock);
        x->flow = rnd() % 3 ? DG_FLOW_PRESALE_BALANCE : DG_FLOW_UNPAID_ORDER;
        due = x->flow == DG_FLOW_PRESALE_BALANCE ? created + (int64_t)(rnd() % (8 * D)) + H
                                                 : created + 2 * H + (int64_t)(rnd() % (46 * H));
        snprintf(oid, sizeof oid, "o%d", i);
        snprintf(x->phone, sizeof x->phone, "%s%04d", people[p].phone, i);
        DG_INIT(&e);
        DG_INIT(&e.customer);
        e.kind = DG_ORDER_UPSERT;
        e.flow = x->flow;
        e.store = "shop";
        e.order_id = oid;
        e.customer.phone = x->phone;
        e.customer.email = rnd() % 2 ? "c@example.com" : NULL;
        e.customer.country = people[p].country;
        e.customer.province = people[p].province;
        e.customer.tz_hint = people[p].tz;
        e.customer.paid_orders_count = (int32_t)(rnd() % 3);
        e.amount_owed_minor = 1000 + (int64_t)(rnd() % 50000);
        e.created_at = created;
        if (x->flow == DG_FLOW_PRESALE_BALANCE)
            e.due_at = due;
        else
            e.close_at = x->close_at = due;
        e.segment_hints = (uint32_t)(rnd() % 16 == 0 ? DG_SEGHINT_BUSY : 0) |
                          (uint32_t)(rnd() % 8 == 0 ? DG_SEGHINT_HESITANT : 0);
        x->busy = (e.segment_hints & DG_SEGHINT_BUSY) != 0;
        assert_int_equal(dg_engine_order(f->e, f->shop, &e), DG_OK);
        x->case_id = fx_case(f, oid).id;
        idx_of_case[x->case_id] = i;
        if (due + 8 * D > horizon)
            horizon = due + 8 * D;
        for (int k = (int)(rnd() % 4); k > 0; k--) {
            ev *v = &events[n_events++];
            v->order = i;
            v->at = created + (int64_t)(rnd() % (uint64_t)(due - created + 4 * D));
            v->type = (int)(rnd() % 11);
        }
    }
    qsort(events, (size_t)n_events, sizeof *events, cmp_ev);
    for (int i = 0; i < n_events; i++) {
        ev *v = &events[i];
        ord *x = &orders[v->order];
        char oid[16];
        dg_case c;
        if (v->at > dg_clock_now(f->rt.clock))
            dg_clock_advance_to(f->rt.clock, v->at);
        snprintf(oid, sizeof oid, "o%d", v->order);
        c = fx_case(f, oid);
        switch (v->type) {
        case 0:
            fx_paid(f, oid);
            x->ended = 1;
            break;
        case 1: {
            dg_order_event e;
            DG_INIT(&e);
            e.kind = DG_ORDER_CANCELLED;
            e.store = "shop";
            e.order_id = oid;
            assert_int_equal(dg_engine_order(f->e, f->shop, &e), DG_OK);
            x->ended = 1;
            break;
        }
        case 2:
            fx_reply(f, f->wa, x->phone, "is the blue one in stock?", NULL);
            if (dg_case_status_live((int)c.status))
                x->paused = 1;
            x->interrupted = 1;
            break;
        case 3:
            fx_reply(f, f->sms, x->phone, "STOP", NULL);
            if (c.status != DG_CASE_PAID && c.status != DG_CASE_CANCELLED)
                x->ended = 1;
            x->interrupted = 1;
            break;
        case 4:
            if (dg_engine_promise(f->e, c.id, "prop", v->at + (int64_t)(rnd() % (3 * D)) + H) ==
                0) {
                x->paused = 0;
                x->promise_until = fx_case(f, oid).promise_at;
            }
            x->interrupted = 1;
            break;
        case 5:
            if (dg_engine_resume(f->e, c.id, "prop") == 0)
                x->paused = 0, x->promise_until = 0;
            x->interrupted = 1;
            break;
        case 6:
            if (dg_engine_close_wont_pay(f->e, c.id, "prop") == 0)
                x->ended = 1;
            break;
        default: { /* a late provider status on the case's latest touch */
            dg_channel_event ce;
            dg_touch t;
            if (!c.active_touch || f->st->vt->touch_get(f->st, c.active_touch, &t) != 0)
                break;
            DG_INIT(&ce);
            ce.kind = v->type == 7   ? DG_CHEV_DELIVERED
                      : v->type == 8 ? DG_CHEV_READ
                                     : DG_CHEV_FAILED;
            ce.error_class = v->type == 9 ? DG_ERRC_PERMANENT : DG_ERRC_RETRYABLE;
            ce.channel = t.channel;
            ce.touch_id = t.id;
            assert_int_equal(dg_engine_channel(f->e, dg_instance_find(&f->rt, t.channel), &ce),
                             DG_OK);
            break;
        }
        }
    }
    dg_clock_advance_to(f->rt.clock, horizon);
    for (int i = 0; i < N_ORDERS; i++) {
        ord *x = &orders[i];
        if (x->interrupted || x->stages < 3)
            continue;
        fail_if(!(x->stage_at[1] - x->stage_at[0] < x->stage_at[2] - x->stage_at[1]),
                "intervals not growing", i);
    }
    fprintf(stderr, "property test: %d orders, %d events, %ld sends checked, %ld violations\n",
            N_ORDERS, n_events, sends_checked, violations);
    assert_true(sends_checked > N_ORDERS);
    assert_int_equal(violations, 0);
    fx_free(f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_invariants)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
