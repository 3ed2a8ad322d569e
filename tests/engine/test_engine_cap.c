/* The engine's cap on sends in flight (dg_engine_opts.max_sending): a burst
 * of due touches waits in the store while a channel has not answered, and
 * goes on, a batch at a time, as completions come back. And the store's
 * write marks that let a completion skip re-reading an unchanged case. */
#include "efix.h"

/* 2026-03-02T12:00:00Z, a Monday. */
#define T0 1772452800000LL

static void engine_with_cap(efix *f, size_t batch, size_t max_sending)
{
    dg_engine_opts o;
    char err[256];
    memset(&o, 0, sizeof o);
    o.rt = &f->rt;
    o.store = f->st;
    o.cfg = &f->cfg;
    o.render = fx_render;
    o.render_ud = f;
    o.seed = 42;
    o.batch = batch;
    o.max_sending = max_sending;
    assert_int_equal(dg_engine_new(&o, &f->e, err, sizeof err), 0);
    f->rt.sink = dg_engine_sink(f->e);
    assert_int_equal(dg_engine_start(f->e), 0);
}

static int count_status(efix *f, int status)
{
    int n = 0;
    for (int i = 0; i < f->n_log; i++) {
        dg_touch t;
        assert_int_equal(f->st->vt->touch_get(f->st, f->log[i].touch_id, &t), 0);
        n += t.status == status;
    }
    return n;
}

static void complete(efix *f, int i)
{
    dg_result res;
    char pid[32];
    DG_INIT(&res);
    snprintf(pid, sizeof pid, "wamid.%d", i);
    res.provider_id = pid;
    dg_simchan_complete(f->pend_inst[i], f->pend[i], &res);
}

/* Ten cases due at once, batch 2, cap 4: four sends go out, the rest wait
 * (no touch written for them); one completion is not enough room for a
 * batch, two are; finally every case gets exactly one touch. */
static void burst_waits_for_completions(void **state)
{
    efix *f = fx_new(T0, NULL);
    char oid[16], phone[24];
    int64_t due = T0 + 3 * D;
    (void)state;
    engine_with_cap(f, 2, 4);
    f->async = 1;
    for (int i = 0; i < 10; i++) {
        snprintf(oid, sizeof oid, "b%d", i);
        snprintf(phone, sizeof phone, "+1212555%04d", i);
        fx_order(f, oid, DG_FLOW_PRESALE_BALANCE, due, phone, "US", "NY", "America/New_York", 5000);
    }
    /* to the moment the first step of all ten is due (and its window open) */
    for (int64_t t = dg_clock_now(f->rt.clock); f->n_log == 0 && t < due; t += M)
        fx_run(f, t);
    assert_int_equal(f->n_log, 4);
    assert_int_equal(f->n_pend, 4);
    assert_int_equal(count_status(f, DG_TOUCH_SENDING), 4);

    complete(f, 0); /* 3 in flight: a batch of 2 would make 5 */
    fx_run(f, dg_clock_now(f->rt.clock) + 1);
    assert_int_equal(f->n_log, 4);
    complete(f, 1); /* 2 in flight: room for one batch */
    fx_run(f, dg_clock_now(f->rt.clock) + 1);
    assert_int_equal(f->n_log, 6);
    assert_int_equal(count_status(f, DG_TOUCH_SENT), 2);
    assert_int_equal(count_status(f, DG_TOUCH_SENDING), 4);

    /* drain: complete whatever is pending until all ten went out */
    for (int done = 2; done < f->n_pend; done++) {
        complete(f, done);
        fx_run(f, dg_clock_now(f->rt.clock) + 1);
    }
    assert_int_equal(f->n_log, 10);
    assert_int_equal(f->n_pend, 10);
    assert_int_equal(count_status(f, DG_TOUCH_SENT), 10);
    for (int i = 0; i < 10; i++)
        for (int j = i + 1; j < 10; j++)
            assert_int_not_equal(f->log[i].case_id, f->log[j].case_id);
    fx_free(f);
}

/* Synchronous channels never count against the cap: one run sends all. */
static void synchronous_channels_are_not_capped(void **state)
{
    efix *f = fx_new(T0, NULL);
    char oid[16], phone[24];
    int64_t due = T0 + 3 * D;
    (void)state;
    engine_with_cap(f, 2, 4);
    for (int i = 0; i < 9; i++) {
        snprintf(oid, sizeof oid, "s%d", i);
        snprintf(phone, sizeof phone, "+1212556%04d", i);
        fx_order(f, oid, DG_FLOW_PRESALE_BALANCE, due, phone, "US", "NY", "America/New_York", 5000);
    }
    for (int64_t t = dg_clock_now(f->rt.clock); f->n_log == 0 && t < due; t += M)
        fx_run(f, t);
    assert_int_equal(f->n_log, 9);
    assert_int_equal(count_status(f, DG_TOUCH_SENT), 9);
    fx_free(f);
}

/* The store's write marks, which let a completion reuse the engine's copies:
 * they change with every write of the case or one of its touches, differ
 * between cases, and are unknown (0) after forget. A completion after the
 * case was written meanwhile (paid) still sees the paid case. */
static void write_marks(void **state)
{
    efix *f = fx_new(T0, NULL);
    int64_t due = T0 + 3 * D;
    dg_case a, b;
    dg_touch t;
    uint64_t ma, mb, m2;
    int64_t n = 0;
    (void)state;
    engine_with_cap(f, 2, 4);
    fx_order(f, "m1", DG_FLOW_PRESALE_BALANCE, due, "+12125557001", "US", "NY", "America/New_York",
             5000);
    fx_order(f, "m2", DG_FLOW_PRESALE_BALANCE, due, "+12125557002", "US", "NY", "America/New_York",
             5000);
    a = fx_case(f, "m1");
    b = fx_case(f, "m2");
    ma = f->st->vt->write_mark(f->st, a.id);
    mb = f->st->vt->write_mark(f->st, b.id);
    assert_true(ma != 0 && mb != 0 && ma != mb);
    assert_true(f->st->vt->write_mark(f->st, a.id) == ma); /* reads change nothing */
    a.changed_at++;
    assert_int_equal(f->st->vt->case_put(f->st, &a), 0);
    m2 = f->st->vt->write_mark(f->st, a.id);
    assert_true(m2 != 0 && m2 != ma);
    assert_true(f->st->vt->write_mark(f->st, b.id) == mb);
    memset(&t, 0, sizeof t);
    t.case_id = b.id;
    snprintf(t.idem_key, sizeof t.idem_key, "mark-test");
    assert_int_equal(f->st->vt->touch_put(f->st, &t), 0);
    assert_true(f->st->vt->write_mark(f->st, b.id) != mb);
    assert_int_equal(f->st->vt->forget(f->st, "shop", "+19995550000", &n), 0); /* nobody */
    assert_true(f->st->vt->write_mark(f->st, a.id) == 0);
    assert_true(f->st->vt->write_mark(f->st, b.id) == 0);

    /* in flight, then paid, then the send completes: the case stays paid */
    f->async = 1;
    for (int64_t x = dg_clock_now(f->rt.clock); f->n_log == 0 && x < due; x += M)
        fx_run(f, x);
    assert_int_equal(f->n_log, 2);
    fx_paid(f, "m2");
    complete(f, 0);
    complete(f, 1);
    assert_int_equal(fx_case(f, "m2").status, DG_CASE_PAID);
    assert_int_equal(fx_case(f, "m1").status, DG_CASE_OPEN);
    assert_int_equal(count_status(f, DG_TOUCH_SENT), 2);
    fx_free(f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(burst_waits_for_completions),
        cmocka_unit_test(synchronous_channels_are_not_capped),
        cmocka_unit_test(write_marks),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
