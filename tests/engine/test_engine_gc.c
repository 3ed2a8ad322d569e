/* Group commit through the engine's order sink: with a loop on the database
 * an emitted order returns DG_PENDING and `done` runs only after the batch
 * is committed (the case is there, durably); a duplicate waits for the same
 * commit; without a loop the sink is synchronous; a transaction that is not
 * part of the batch (here: an operator's pause) commits it first. */
#include <uv.h>

#include "efix.h"

typedef struct {
    int calls, status;
} seen;

static void on_done(void *ud, int status)
{
    seen *s = ud;
    s->calls++;
    s->status = status;
}

static dg_order_event order(const char *oid, const char *dedupe)
{
    dg_order_event ev;
    DG_INIT(&ev);
    DG_INIT(&ev.customer);
    ev.kind = DG_ORDER_UPSERT;
    ev.flow = DG_FLOW_UNPAID_ORDER;
    ev.created_at = ev.updated_at = 1700000000000;
    ev.close_at = ev.created_at + 3 * 86400000LL;
    ev.pay_link = "https://pay.example.com/x";
    ev.store = "shop";
    ev.order_id = oid;
    ev.order_name = oid;
    ev.dedupe_key = dedupe;
    ev.customer.id = oid;
    ev.customer.phone = "+5511987654321";
    ev.customer.country = "BR";
    ev.customer.orders_count = -1;
    ev.customer.paid_orders_count = -1;
    ev.amount_owed_minor = 1000;
    ev.currency = "BRL";
    return ev;
}

static int has_case(efix *f, const char *oid)
{
    dg_case c;
    return f->st->vt->case_by_order(f->st, "shop", oid, &c) == 0;
}

static void test_sink_acks_after_commit(void **state)
{
    (void)state;
    efix *f = fx_new(1700000000000, NULL);
    uv_loop_t loop;
    seen a = {0, 0}, b = {0, 0}, dup = {0, 0};
    dg_order_event e1 = order("1001", "w1"), e2 = order("1002", "w2"), e3 = order("1001", "w1");
    fx_engine(f);
    uv_loop_init(&loop);
    dg_db_set_loop(f->db, &loop);

    assert_int_equal(f->rt.sink.order(f->rt.sink.ud, f->shop, &e1, on_done, &a), DG_PENDING);
    assert_int_equal(f->rt.sink.order(f->rt.sink.ud, f->shop, &e2, on_done, &b), DG_PENDING);
    assert_int_equal(f->rt.sink.order(f->rt.sink.ud, f->shop, &e3, on_done, &dup), DG_PENDING);
    /* stored in the open batch, not committed, nobody acknowledged */
    assert_true(has_case(f, "1001") && has_case(f, "1002"));
    assert_int_equal(sqlite3_get_autocommit(f->db->sql), 0);
    assert_int_equal(a.calls + b.calls + dup.calls, 0);

    uv_run(&loop, UV_RUN_NOWAIT);
    assert_int_equal(f->db->commits, 1); /* three events, one commit */
    assert_int_equal(sqlite3_get_autocommit(f->db->sql), 1);
    assert_int_equal(a.calls, 1);
    assert_int_equal(a.status, DG_OK);
    assert_int_equal(b.calls, 1);
    assert_int_equal(b.status, DG_OK);
    assert_int_equal(dup.calls, 1);
    assert_int_equal(dup.status, DG_EEXIST);

    /* an engine transaction outside the batch commits it before it begins */
    e1 = order("1003", "w3");
    assert_int_equal(f->rt.sink.order(f->rt.sink.ud, f->shop, &e1, on_done, &a), DG_PENDING);
    assert_int_equal(dg_engine_pause(f->e, fx_case(f, "1001").id, "ops", "checking"), 0);
    assert_int_equal(f->db->commits, 2);
    assert_int_equal(a.calls, 1); /* told from the loop, not from inside the tick */
    uv_run(&loop, UV_RUN_NOWAIT);
    assert_int_equal(a.calls, 2);
    assert_int_equal(a.status, DG_OK);

    /* without a loop: synchronous, done unused */
    dg_db_set_loop(f->db, NULL);
    uv_run(&loop, UV_RUN_DEFAULT);
    assert_int_equal(uv_loop_close(&loop), 0);
    e1 = order("1004", "w4");
    assert_int_equal(f->rt.sink.order(f->rt.sink.ud, f->shop, &e1, on_done, &a), DG_OK);
    assert_int_equal(a.calls, 2);
    assert_int_equal(sqlite3_get_autocommit(f->db->sql), 1);
    assert_true(has_case(f, "1004"));
    fx_free(f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sink_acks_after_commit),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
