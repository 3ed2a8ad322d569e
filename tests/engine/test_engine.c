/* The engine's rules on a manual clock with simulated channels. */
#include "efix.h"

/* 2026-03-02T12:00:00Z, a Monday. */
#define T0 1772452800000LL

static int64_t iso(const char *s)
{
    int64_t t;
    assert_int_equal(dg_parse_iso8601(s, &t), 0);
    return t;
}

/* DG_TEST_VERBOSE=1 prints what was sent (for debugging a failure). */
static void dump(efix *f)
{
    char t[32];
    if (!getenv("DG_TEST_VERBOSE"))
        return;
    for (int i = 0; i < f->n_log; i++) {
        dg_format_iso8601(f->log[i].at, t, sizeof t);
        fprintf(stderr, "  %s case %lld %s %s %s #%d\n", t, (long long)f->log[i].case_id,
                f->log[i].channel, f->log[i].stage, f->log[i].tmpl, f->log[i].attempt);
    }
}

/* Indexes of the first message of each stage, in order. */
static int stage_starts(efix *f, int64_t case_id, int *idx, int max)
{
    int n = 0;
    for (int i = 0; i < f->n_log; i++) {
        if (f->log[i].case_id != case_id)
            continue;
        if (n == 0 || strcmp(f->log[idx[n - 1]].stage, f->log[i].stage) != 0) {
            if (n < max)
                idx[n] = i;
            n++;
        }
    }
    return n;
}

/* Presale: gentle T-2d, formal T0, final T+4d, in NY golden hours, growing
 * intervals, re-read before the final, expiry 48 h after the final. */
static void test_presale_ladder(void **state)
{
    efix *f = fx_new(T0, NULL);
    int64_t due = iso("2026-03-10T16:00:00Z");
    dg_case c;
    (void)state;
    fx_engine(f);
    fx_order(f, "p1", DG_FLOW_PRESALE_BALANCE, due, "+12125550100", "US", "NY", NULL, 5000);
    fx_run(f, due + 10 * D);
    dump(f);
    {
        int st[8], n = stage_starts(f, 1, st, 8);
        assert_int_equal(n, 3);
        assert_string_equal(f->log[st[0]].tmpl, "presale/gentle");
        assert_string_equal(f->log[st[1]].tmpl, "presale/formal-overdue"); /* 16:00Z = 12:00 EDT */
        assert_string_equal(f->log[st[2]].tmpl, "presale/final");
        for (int i = 0; i < 3; i++)
            assert_string_equal(f->log[st[i]].channel, "wa");
        assert_true(f->log[st[0]].at >= due - 3 * D && f->log[st[0]].at <= due - D);
        assert_true(f->log[st[2]].at - f->log[st[1]].at > f->log[st[1]].at - f->log[st[0]].at);
        /* the gentle touch fell back to SMS after its 4 h answer window */
        assert_string_equal(f->log[st[0] + 1].channel, "sms");
        assert_true(f->log[st[0] + 1].at >= f->log[st[0]].at + 4 * H);
    }
    for (int i = 0; i < f->n_log; i++) {
        int m = fx_local_minute("America/New_York", f->log[i].at);
        assert_true(m >= 9 * 60 && m < 11 * 60);
    }
    assert_true(f->n_log <= 6);
    assert_int_equal(f->rereads, 1);
    c = fx_case(f, "p1");
    assert_int_equal(c.status, DG_CASE_EXPIRED);
    assert_int_equal(c.touches_used, 3);
    fx_free(f);
}

/* Paid ends the case at once: nothing after, nothing scheduled. */
static void test_paid_stops(void **state)
{
    efix *f = fx_new(T0, NULL);
    int64_t due = iso("2026-03-10T16:00:00Z"), at;
    (void)state;
    fx_engine(f);
    fx_order(f, "p2", DG_FLOW_PRESALE_BALANCE, due, "+12125550101", "US", "NY", NULL, 5000);
    fx_run(f, due - D);
    assert_int_equal(f->n_log, 1);
    fx_paid(f, "p2");
    assert_int_equal(f->st->vt->next_due(f->st, &at), DG_ENOTFOUND);
    fx_run(f, due + 10 * D);
    assert_int_equal(f->n_log, 1);
    assert_int_equal(fx_case(f, "p2").status, DG_CASE_PAID);
    fx_free(f);
}

/* Payment while the send is in flight: case stays paid, no later touch. */
static void test_payment_race(void **state)
{
    efix *f = fx_new(T0, NULL);
    int64_t due = iso("2026-03-10T16:00:00Z");
    dg_result res;
    dg_touch t;
    (void)state;
    fx_engine(f);
    f->async = 1;
    fx_order(f, "p3", DG_FLOW_PRESALE_BALANCE, due, "+12125550102", "US", "NY", NULL, 5000);
    fx_run(f, due - D);
    assert_int_equal(f->n_log, 1);
    assert_int_equal(f->n_pend, 1);
    assert_int_equal(f->st->vt->touch_get(f->st, f->log[0].touch_id, &t), 0);
    assert_int_equal(t.status, DG_TOUCH_SENDING); /* committed before the channel ran */
    fx_paid(f, "p3");
    DG_INIT(&res);
    res.provider_id = "wamid.1";
    dg_simchan_complete(f->pend_inst[0], f->pend[0], &res);
    f->async = 0;
    fx_run(f, due + 10 * D);
    assert_int_equal(f->n_log, 1);
    assert_int_equal(fx_case(f, "p3").status, DG_CASE_PAID);
    assert_int_equal(f->st->vt->touch_get(f->st, f->log[0].touch_id, &t), 0);
    assert_int_equal(t.status, DG_TOUCH_SENT);
    fx_free(f);
}

/* Golden hours across DST changes: the opening is 09:00 local on both
 * sides of the switch. */
static void test_golden_dst(void **state)
{
    static const struct {
        const char *zone, *before, *after, *open_before, *open_after;
    } cases[] = {
        {"America/New_York", "2026-03-07T05:00:00Z", "2026-03-08T05:00:00Z", "2026-03-07T14:00:00Z",
         "2026-03-08T13:00:00Z"},
        {"Europe/Berlin", "2026-03-28T00:00:00Z", "2026-03-29T00:00:00Z", "2026-03-28T08:00:00Z",
         "2026-03-29T07:00:00Z"},
        {"Australia/Sydney", "2026-04-03T14:00:00Z", "2026-04-04T14:00:00Z", "2026-04-03T22:00:00Z",
         "2026-04-04T23:00:00Z"},
        {"Asia/Shanghai", "2026-03-07T17:00:00Z", "2026-03-08T17:00:00Z", "2026-03-08T01:00:00Z",
         "2026-03-09T01:00:00Z"},
    };
    dg_window w = {9 * 60, 11 * 60};
    (void)state;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        dg_zones z = {{cases[i].zone}, 1, "hint"};
        assert_int_equal(dg_sched_next_open(&z, w, iso(cases[i].before)),
                         iso(cases[i].open_before));
        assert_int_equal(dg_sched_next_open(&z, w, iso(cases[i].after)), iso(cases[i].open_after));
    }
    /* End to end: a NY gentle touch due across the spring-forward night
     * goes out at 09:00 EDT, and the re-planned ladder keeps growing. */
    {
        efix *f = fx_new(iso("2026-03-01T12:00:00Z"), NULL);
        fx_engine(f);
        fx_order(f, "dst", DG_FLOW_PRESALE_BALANCE, iso("2026-03-10T04:00:00Z"), "+12125550199",
                 NULL, NULL, "America/New_York", 5000);
        fx_run(f, iso("2026-03-30T00:00:00Z"));
        dump(f);
        {
            int st[8], n = stage_starts(f, 1, st, 8);
            assert_int_equal(n, 3);
            assert_int_equal(f->log[0].at, iso("2026-03-08T13:00:00Z"));
            assert_true(f->log[st[2]].at - f->log[st[1]].at > f->log[st[1]].at - f->log[st[0]].at);
        }
        for (int k = 0; k < f->n_log; k++) {
            int m = fx_local_minute("America/New_York", f->log[k].at);
            assert_true(m >= 540 && m < 660);
        }
        fx_free(f);
    }
}

/* A reply pauses, records feedback, needs a person; resume continues. */
static void test_reply_and_resume(void **state)
{
    efix *f = fx_new(T0, NULL);
    int64_t due = iso("2026-03-10T16:00:00Z"), n = 0;
    dg_case c;
    (void)state;
    fx_engine(f);
    fx_order(f, "r1", DG_FLOW_PRESALE_BALANCE, due, "+12125550103", "US", "NY", NULL, 5000);
    fx_run(f, due - D);
    assert_int_equal(f->n_log, 1);
    fx_reply(f, f->wa, "+12125550103", "Does it come in blue?", NULL);
    c = fx_case(f, "r1");
    assert_int_equal(c.status, DG_CASE_PAUSED);
    assert_int_equal(c.needs_person, 1);
    assert_string_equal(c.feedback, "Does it come in blue?");
    fx_run(f, due + 3 * D);
    assert_int_equal(f->n_log, 1);
    assert_int_equal(dg_engine_resume(f->e, c.id, "ops@shop"), 0);
    f->st->vt->action_count(f->st, c.id, &n);
    assert_int_equal(n, 1);
    fx_run(f, due + 20 * D);
    assert_true(f->n_log >= 2);
    assert_string_not_equal(f->log[1].tmpl, "presale/gentle"); /* not repeated */
    fx_free(f);
}

/* Promise to pay: sleeps until the date, then exactly one follow-up. */
static void test_promise(void **state)
{
    efix *f = fx_new(T0, NULL);
    int64_t due = iso("2026-03-10T16:00:00Z"), n = 0;
    dg_case c;
    char key[64];
    (void)state;
    fx_engine(f);
    fx_order(f, "pr", DG_FLOW_PRESALE_BALANCE, due, "+12125550104", "US", "NY", NULL, 5000);
    fx_run(f, due - D);
    fx_reply(f, f->wa, "+12125550104", "I'll pay on Thursday", NULL);
    c = fx_case(f, "pr");
    assert_int_equal(dg_engine_promise(f->e, c.id, "ops@shop", due + 2 * D), 0);
    fx_run(f, due + 2 * D - 1);
    assert_int_equal(f->n_log, 1);
    fx_run(f, due + 30 * D);
    dump(f);
    assert_true(f->n_log >= 2);
    assert_int_equal(f->log[1].at, iso("2026-03-13T13:00:00Z")); /* 12:00 EDT: next golden */
    for (int i = 1; i < f->n_log; i++) { /* one follow-up touch (maybe on several channels) */
        assert_string_equal(f->log[i].tmpl, "scenario/promise-passed");
        assert_string_equal(f->log[i].stage, "followup");
        for (int k = 1; k < i; k++)
            assert_string_not_equal(f->log[i].channel, f->log[k].channel);
    }
    c = fx_case(f, "pr");
    assert_int_equal(c.status, DG_CASE_EXPIRED);
    snprintf(key, sizeof key, "shop:pr");
    f->st->vt->history_count(f->st, key, "promise_broken", &n);
    assert_int_equal(n, 1);
    fx_free(f);
}

/* STOP suppresses the address on that channel forever. */
static void test_stop(void **state)
{
    efix *f = fx_new(T0, NULL);
    int64_t due = iso("2026-03-10T16:00:00Z");
    (void)state;
    fx_engine(f);
    fx_order(f, "s1", DG_FLOW_PRESALE_BALANCE, due, "+12125550105", "US", "NY", NULL, 5000);
    fx_run(f, due - D);
    fx_reply(f, f->wa, "+12125550105", " stop ", NULL);
    assert_int_equal(fx_case(f, "s1").status, DG_CASE_OPTED_OUT);
    assert_int_equal(f->st->vt->is_suppressed(f->st, "whatsapp", "+12125550105"), 1);
    fx_order(f, "s2", DG_FLOW_PRESALE_BALANCE, due + 10 * D, "+12125550105", "US", "NY", NULL,
             5000);
    fx_run(f, due + 30 * D);
    for (int i = 1; i < f->n_log; i++)
        assert_string_not_equal(f->log[i].channel, "wa");
    assert_true(f->n_log > 1);
    fx_free(f);
}

/* Not on WhatsApp (permanent failure): the SMS goes at once, same touch. */
static void test_not_on_whatsapp(void **state)
{
    efix *f = fx_new(T0, NULL);
    int64_t due = iso("2026-03-10T16:00:00Z");
    dg_case c;
    (void)state;
    fx_engine(f);
    f->wa_permanent = 1;
    fx_order(f, "w1", DG_FLOW_PRESALE_BALANCE, due, "+12125550106", "US", "NY", NULL, 5000);
    fx_run(f, due - D);
    assert_int_equal(f->n_log, 2);
    assert_string_equal(f->log[0].channel, "wa");
    assert_string_equal(f->log[1].channel, "sms");
    assert_int_equal(f->log[1].at, f->log[0].at);
    c = fx_case(f, "w1");
    assert_int_equal(c.touches_used, 1);
    assert_int_equal(c.messages_sent, 2);
    fx_free(f);
}

/* Retryable failures: capped jittered backoff honouring retry-after, then
 * dead-lettered and the next channel. */
static void test_retries_exhausted(void **state)
{
    efix *f = fx_new(T0, NULL);
    int64_t due = iso("2026-03-10T16:00:00Z");
    int sms = 0, last = -1;
    dg_engine_stats st;
    (void)state;
    f->wa_permanent = 1;
    f->sms_retryable = 1;
    f->sms_retry_after = 2 * M;
    fx_engine(f);
    fx_order(f, "x1", DG_FLOW_PRESALE_BALANCE, due, "+12125550107", "US", "NY", NULL, 5000);
    fx_run(f, due - D);
    for (int i = 0; i < f->n_log; i++) {
        if (strcmp(f->log[i].channel, "sms") == 0) {
            if (last >= 0)
                assert_true(f->log[i].at - f->log[last].at >= 2 * M);
            last = i;
            sms++;
            assert_int_equal(f->log[i].attempt, sms);
        }
    }
    assert_int_equal(sms, 5);
    assert_string_equal(f->log[f->n_log - 1].channel, "email");
    dg_engine_get_stats(f->e, &st);
    assert_int_equal(st.dead_letters, 1);
    fx_free(f);
}

/* Restart in the middle of a ladder: the state in the SQLite file gives
 * the same remaining timeline. */
static void test_restart(void **state)
{
    char a[] = "/tmp/dg_eng_a_XXXXXX", b[64];
    int64_t due = iso("2026-03-10T16:00:00Z"), cut = due - D;
    sent rest_a[16];
    int na = 0, first_a;
    efix *f;
    int fd = mkstemp(a);
    (void)state;
    close(fd);
    unlink(a);
    snprintf(b, sizeof b, "%s.copy", a);
    f = fx_new(T0, a);
    fx_engine(f);
    fx_order(f, "re", DG_FLOW_PRESALE_BALANCE, due, "+12125550108", "US", "NY", NULL, 5000);
    fx_run(f, cut);
    first_a = f->n_log;
    assert_int_equal(first_a, 1);
    {
        char sql[200], err[128];
        snprintf(sql, sizeof sql, "VACUUM INTO '%s'", b);
        assert_int_equal(dg_db_exec(f->db, sql, err, sizeof err), 0);
    }
    fx_run(f, due + 10 * D);
    for (int i = first_a; i < f->n_log && na < 16; i++)
        rest_a[na++] = f->log[i];
    fx_free(f);
    f = fx_new(cut, b);
    fx_engine(f);
    fx_run(f, due + 10 * D);
    assert_int_equal(f->n_log, na);
    for (int i = 0; i < na; i++) {
        assert_int_equal(f->log[i].at, rest_a[i].at);
        assert_string_equal(f->log[i].tmpl, rest_a[i].tmpl);
        assert_string_equal(f->log[i].channel, rest_a[i].channel);
    }
    fx_free(f);
    unlink(a);
    unlink(b);
    {
        char w[80];
        snprintf(w, sizeof w, "%s-wal", a), unlink(w);
        snprintf(w, sizeof w, "%s-shm", a), unlink(w);
    }
}

/* Crash with a touch left `sending`: reconciled as sent, never re-sent;
 * the ladder goes on (answer window, fallback). */
static void test_crash_reconcile(void **state)
{
    char a[] = "/tmp/dg_eng_c_XXXXXX";
    int64_t due = iso("2026-03-10T16:00:00Z"), crash;
    dg_touch t;
    dg_engine_stats st;
    efix *f;
    int fd = mkstemp(a);
    (void)state;
    close(fd);
    unlink(a);
    f = fx_new(T0, a);
    fx_engine(f);
    f->async = 1; /* the send never completes: we "crash" */
    fx_order(f, "cr", DG_FLOW_PRESALE_BALANCE, due, "+12125550109", "US", "NY", NULL, 5000);
    fx_run(f, due - D);
    assert_int_equal(f->n_log, 1);
    crash = dg_clock_now(f->rt.clock);
    {
        char sql[200], err[128], b[64];
        snprintf(b, sizeof b, "%s.copy", a);
        snprintf(sql, sizeof sql, "VACUUM INTO '%s'", b);
        assert_int_equal(dg_db_exec(f->db, sql, err, sizeof err), 0);
        f->n_pend = 0;
        fx_free(f);
        f = fx_new(crash, b);
        snprintf(f->dbpath, sizeof f->dbpath, "%s", b);
    }
    fx_engine(f);
    dg_engine_get_stats(f->e, &st);
    assert_int_equal(st.reconciled, 1);
    assert_int_equal(f->st->vt->touch_get(f->st, 1, &t), 0);
    assert_int_equal(t.status, DG_TOUCH_SENT);
    assert_string_equal(t.error_code, "reconciled-unknown");
    fx_run(f, due + 10 * D);
    dump(f);
    for (int i = 0; i < f->n_log; i++) /* never re-sent on the same channel */
        assert_false(strcmp(f->log[i].tmpl, "presale/gentle") == 0 &&
                     strcmp(f->log[i].channel, "wa") == 0);
    assert_true(f->n_log >= 1);
    unlink(f->dbpath);
    fx_free(f);
    unlink(a);
}

/* Unpaid order: +30 min, +3 h, close - 1 h; nothing after close. */
static void test_unpaid_ladder(void **state)
{
    int64_t start = iso("2026-03-02T14:00:00Z"); /* 09:00 in New York */
    efix *f = fx_new(start, NULL);
    dg_case c;
    (void)state;
    fx_engine(f);
    fx_order(f, "u1", DG_FLOW_UNPAID_ORDER, start + 24 * H, "+12125550110", "US", "NY", NULL, 3000);
    fx_run(f, start + 48 * H);
    dump(f);
    {
        int st[8], n = stage_starts(f, 1, st, 8);
        assert_int_equal(n, 3);
        assert_int_equal(f->log[st[0]].at, start + 30 * M);
        assert_string_equal(f->log[st[0]].tmpl, "unpaid/30min");
        assert_int_equal(f->log[st[1]].at, start + 3 * H);
        assert_string_equal(f->log[st[1]].tmpl, "unpaid/value");
        assert_int_equal(f->log[st[2]].at, start + 23 * H);
        assert_string_equal(f->log[st[2]].tmpl, "unpaid/last-chance");
        assert_int_equal(f->log[st[0] + 1].at, start + 50 * M); /* 20 min answer window */
    }
    for (int i = 0; i < f->n_log; i++)
        assert_true(f->log[i].at < start + 24 * H);
    assert_true(f->n_log <= 6);
    c = fx_case(f, "u1");
    assert_int_equal(c.status, DG_CASE_EXPIRED);
    fx_free(f);
}

/* Segments: busy gets one touch; high value gets the coupon. */
static void test_segments_caps(void **state)
{
    efix *f = fx_new(T0, NULL);
    int64_t due = iso("2026-03-10T16:00:00Z");
    dg_order_event ev;
    dg_case c;
    (void)state;
    fx_engine(f);
    DG_INIT(&ev);
    DG_INIT(&ev.customer);
    ev.kind = DG_ORDER_UPSERT;
    ev.flow = DG_FLOW_PRESALE_BALANCE;
    ev.store = "shop";
    ev.order_id = "busy1";
    ev.customer.phone = "+12125550111";
    ev.customer.country = "US";
    ev.customer.province = "NY";
    ev.amount_owed_minor = 90000;
    ev.due_at = due;
    ev.segment_hints = DG_SEGHINT_BUSY;
    assert_int_equal(dg_engine_order(f->e, f->shop, &ev), DG_OK);
    fx_run(f, due + 20 * D);
    {
        int st[4];
        assert_int_equal(stage_starts(f, 1, st, 4), 1);
    }
    c = fx_case(f, "busy1");
    assert_string_equal(c.segment, "busy");
    assert_int_equal(c.touches_used, 1);
    fx_free(f);
}

/* Dedupe, "I paid" re-read, monotonic statuses, forget. */
static void test_events_misc(void **state)
{
    efix *f = fx_new(T0, NULL);
    int64_t due = iso("2026-03-10T16:00:00Z"), n = 0;
    dg_order_event ev;
    dg_channel_event ch;
    dg_touch t;
    dg_case c;
    (void)state;
    fx_engine(f);
    DG_INIT(&ev);
    ev.kind = DG_ORDER_UPSERT;
    ev.store = "shop";
    ev.order_id = "m1";
    ev.due_at = due;
    ev.amount_owed_minor = 100;
    ev.dedupe_key = "wh-1";
    DG_INIT(&ev.customer);
    ev.customer.phone = "+12125550112";
    ev.customer.id = "cust-9";
    ev.customer.first_name = "Bo";
    assert_int_equal(dg_engine_order(f->e, f->shop, &ev), DG_OK);
    assert_int_equal(dg_engine_order(f->e, f->shop, &ev), DG_EEXIST);
    fx_run(f, due - D);
    dump(f);
    assert_true(f->n_log >= 1);
    DG_INIT(&ch);
    ch.kind = DG_CHEV_READ;
    ch.channel = "wa";
    ch.touch_id = f->log[0].touch_id;
    assert_int_equal(dg_engine_channel(f->e, f->wa, &ch), DG_OK);
    ch.kind = DG_CHEV_DELIVERED;
    assert_int_equal(dg_engine_channel(f->e, f->wa, &ch), DG_OK);
    f->st->vt->touch_get(f->st, f->log[0].touch_id, &t);
    assert_int_equal(t.status, DG_TOUCH_READ);
    f->reread_paid = 1;
    fx_reply(f, f->wa, "+12125550112", NULL, DG_PAYLOAD_PAID);
    assert_int_equal(f->rereads, 1);
    c = fx_case(f, "m1");
    assert_int_equal(c.status, DG_CASE_PAID);
    assert_int_equal(dg_engine_forget(f->e, "shop", "cust-9", "ops", &n), 0);
    assert_int_equal(n, 1);
    c = fx_case(f, "m1");
    assert_string_equal(c.phone, "");
    assert_string_equal(c.first_name, "");
    f->st->vt->touch_get(f->st, f->log[0].touch_id, &t);
    assert_string_equal(t.address, "");
    fx_free(f);
}

/* Operator pause / resolve / won't pay; OPTED_OUT event; stale order
 * events; channel event dedupe; the new angle after a read, unanswered touch. */
static void test_operator_and_misc(void **state)
{
    int64_t start = iso("2026-03-02T14:00:00Z");
    efix *f = fx_new(start, NULL);
    dg_channel_event ch;
    dg_order_event ev;
    dg_case c;
    int64_t n = 0;
    char key[64];
    (void)state;
    fx_engine(f);
    fx_order(f, "a1", DG_FLOW_UNPAID_ORDER, start + 24 * H, "+12125550120", "US", "NY", NULL, 100);
    fx_order(f, "a2", DG_FLOW_UNPAID_ORDER, start + 24 * H, "+12125550121", "US", "NY", NULL, 100);
    fx_order(f, "a3", DG_FLOW_UNPAID_ORDER, start + 24 * H, "+12125550122", "US", "NY", NULL, 100);
    fx_run(f, start + 31 * M);
    assert_int_equal(f->n_log, 3);
    /* a1: read, no reply -> the value touch changes angle */
    DG_INIT(&ch);
    ch.kind = DG_CHEV_READ;
    ch.channel = "wa";
    ch.touch_id = f->log[0].touch_id;
    ch.dedupe_key = "wamid.a1:read";
    assert_int_equal(dg_engine_channel(f->e, f->wa, &ch), DG_OK);
    assert_int_equal(dg_engine_channel(f->e, f->wa, &ch), DG_EEXIST);
    /* a2: paused by an operator, then resolved */
    c = fx_case(f, "a2");
    assert_int_equal(dg_engine_pause(f->e, c.id, "ops@shop", "calling the customer"), 0);
    assert_int_equal(fx_case(f, "a2").status, DG_CASE_PAUSED);
    assert_int_equal(dg_engine_resolve(f->e, c.id, "ops@shop"), 0);
    assert_int_equal(fx_case(f, "a2").status, DG_CASE_RESOLVED);
    assert_int_equal(dg_engine_resume(f->e, c.id, "ops@shop"), DG_ESTATE);
    f->st->vt->action_count(f->st, c.id, &n);
    assert_int_equal(n, 2);
    /* a3: provider reports an opt-out; then a stale upsert changes nothing */
    DG_INIT(&ch);
    ch.kind = DG_CHEV_OPTED_OUT;
    ch.channel = "sms";
    ch.address = "+12125550122";
    assert_int_equal(dg_engine_channel(f->e, f->sms, &ch), DG_OK);
    assert_int_equal(f->st->vt->is_suppressed(f->st, "sms", "+12125550122"), 1);
    assert_int_equal(fx_case(f, "a3").status, DG_CASE_OPTED_OUT);
    DG_INIT(&ev);
    ev.kind = DG_ORDER_UPSERT;
    ev.store = "shop";
    ev.order_id = "a1";
    ev.amount_owed_minor = 0;  /* would mean paid... */
    ev.updated_at = start - H; /* ...but it is older than what we have */
    assert_int_equal(dg_engine_order(f->e, f->shop, &ev), DG_OK);
    assert_int_equal(fx_case(f, "a1").status, DG_CASE_OPEN);
    fx_run(f, start + 48 * H);
    dump(f);
    for (int i = 3; i < f->n_log; i++) {
        assert_int_equal(f->log[i].case_id, fx_case(f, "a1").id);
        if (strcmp(f->log[i].stage, "value") == 0)
            assert_string_equal(f->log[i].tmpl, "scenario/no-reply-new-angle");
    }
    c = fx_case(f, "a1");
    assert_int_equal(c.status, DG_CASE_EXPIRED); /* the store closed it */
    assert_int_equal(dg_engine_close_wont_pay(f->e, c.id, "ops@shop"), 0);
    assert_int_equal(fx_case(f, "a1").status, DG_CASE_WONT_PAY);
    snprintf(key, sizeof key, "shop:a2");
    f->st->vt->history_count(f->st, key, "resolved", &n);
    assert_int_equal(n, 1);
    fx_free(f);
}

/* Expiry with the store action turned on; a segment's template override and
 * coupon reach the renderer. */
static void test_expire_action_and_segment_template(void **state)
{
    efix *f = fx_new(T0, NULL);
    int64_t due = iso("2026-03-10T16:00:00Z");
    dg_playbook *pb = (dg_playbook *)dg_engine_cfg_playbook(&f->cfg, "presale_balance");
    dg_segment_cfg *hv = &f->cfg.seg[DG_SEG_HIGH_VALUE];
    (void)state;
    pb->cancel_on_expire = 1;
    snprintf(hv->coupon, sizeof hv->coupon, "THANKS5");
    snprintf(hv->tmpl_from[0], sizeof hv->tmpl_from[0], "presale/gentle");
    snprintf(hv->tmpl_to[0], sizeof hv->tmpl_to[0], "presale/gentle-vip");
    hv->n_tmpl = 1;
    fx_engine(f);
    fx_order(f, "v1", DG_FLOW_PRESALE_BALANCE, due, "+12125550130", "US", "NY", NULL, 90000);
    fx_run(f, due - D);
    assert_string_equal(f->log[0].tmpl, "presale/gentle-vip");
    assert_string_equal(f->last_coupon, "THANKS5");
    assert_string_equal(f->last_segment, "high_value");
    assert_int_equal(f->cancels, 0);
    fx_run(f, due + 20 * D);
    assert_int_equal(fx_case(f, "v1").status, DG_CASE_EXPIRED);
    assert_int_equal(f->cancels, 1);
    fx_free(f);
}

/* The store moves the due date: the stage not yet sent follows it. */
static void test_due_date_moved(void **state)
{
    efix *f = fx_new(T0, NULL);
    int64_t due = iso("2026-03-10T16:00:00Z"), due2 = due + 5 * D;
    dg_case c;
    dg_playbook *pb = (dg_playbook *)dg_engine_cfg_playbook(&f->cfg, "presale_balance");
    (void)state;
    pb->steps[0].n_channels = 1; /* gentle on WhatsApp only: the formal stage is next */
    fx_engine(f);
    fx_order(f, "d1", DG_FLOW_PRESALE_BALANCE, due, "+12125550140", "US", "NY", NULL, 5000);
    fx_run(f, due - D); /* gentle went out on 03-09 09:00 EDT */
    assert_int_equal(f->n_log, 1);
    fx_order(f, "d1", DG_FLOW_PRESALE_BALANCE, due2, "+12125550140", "US", "NY", NULL, 5000);
    c = fx_case(f, "d1");
    assert_int_equal(c.next_kind, DG_NEXT_STEP);
    assert_true(c.next_at >= due2); /* re-planned from the new due date */
    fx_run(f, due2 - H);
    assert_int_equal(f->n_log, 1);
    fx_run(f, due2 + 2 * D);
    c = fx_case(f, "d1");
    assert_true(c.touches_used >= 2);
    fx_free(f);
}

/* A gentle (pre-due) touch whose fallback would go out after the due time
 * is not sent: its wording says "due in N days". The formal stage follows. */
static void test_no_pre_due_fallback_after_due(void **state)
{
    efix *f = fx_new(T0, NULL);
    int64_t due = iso("2026-03-10T12:00:00Z"); /* 08:00 EDT: before golden hours */
    int gentle = 0;
    (void)state;
    fx_engine(f);
    fx_order(f, "g1", DG_FLOW_PRESALE_BALANCE, due, "+12125550140", "US", "NY", NULL, 5000);
    fx_run(f, due + 10 * D);
    dump(f);
    for (int i = 0; i < f->n_log; i++) {
        if (strcmp(f->log[i].stage, "gentle") == 0) {
            gentle++;
            assert_true(f->log[i].at < due);
        }
    }
    assert_int_equal(gentle, 2); /* WhatsApp, then SMS the next morning; no e-mail */
    {
        int st[8], n = stage_starts(f, 1, st, 8);
        assert_int_equal(n, 3);
        assert_string_equal(f->log[st[1]].stage, "formal");
    }
    assert_int_equal(fx_case(f, "g1").status, DG_CASE_EXPIRED);
    fx_free(f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_presale_ladder),
        cmocka_unit_test(test_paid_stops),
        cmocka_unit_test(test_payment_race),
        cmocka_unit_test(test_golden_dst),
        cmocka_unit_test(test_reply_and_resume),
        cmocka_unit_test(test_promise),
        cmocka_unit_test(test_stop),
        cmocka_unit_test(test_not_on_whatsapp),
        cmocka_unit_test(test_retries_exhausted),
        cmocka_unit_test(test_restart),
        cmocka_unit_test(test_crash_reconcile),
        cmocka_unit_test(test_unpaid_ladder),
        cmocka_unit_test(test_segments_caps),
        cmocka_unit_test(test_events_misc),
        cmocka_unit_test(test_operator_and_misc),
        cmocka_unit_test(test_expire_action_and_segment_template),
        cmocka_unit_test(test_due_date_moved),
        cmocka_unit_test(test_no_pre_due_fallback_after_due),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
