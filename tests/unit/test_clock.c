#include "cm.h"

#include <string.h>
#include <time.h>

#include <duegate/types.h>

#include "clock.h"

typedef struct rec {
    int64_t at[16];
    int n;
    dg_clock *c;
    dg_ctimer *self;
    int stop_after;
} rec;

static void cb(void *ud)
{
    rec *r = ud;
    r->at[r->n++] = dg_clock_now(r->c);
    if (r->stop_after && r->n >= r->stop_after)
        dg_ctimer_stop(r->self);
}

static void test_manual_timers_fire_in_order(void **state)
{
    (void)state;
    dg_clock *c = dg_clock_new(NULL, DG_CLOCK_MANUAL, 1000, 1);
    rec a = {.c = c}, b = {.c = c};
    dg_ctimer_start(c, 500, 0, cb, &b);
    dg_ctimer_start(c, 100, 0, cb, &a);
    assert_int_equal(dg_clock_next_due(c), 1100);
    assert_int_equal(dg_clock_advance(c, 50), 0);
    assert_int_equal(dg_clock_now(c), 1050);
    assert_int_equal(dg_clock_advance(c, 1000), 2);
    assert_int_equal(a.n, 1);
    assert_int_equal(a.at[0], 1100); /* each callback sees its own due time */
    assert_int_equal(b.at[0], 1500);
    assert_int_equal(dg_clock_now(c), 2050);
    assert_int_equal(dg_clock_next_due(c), -1);
    dg_clock_free(c);
}

static void test_repeat_and_stop_inside_callback(void **state)
{
    (void)state;
    dg_clock *c = dg_clock_new(NULL, DG_CLOCK_MANUAL, 5000, 1);
    rec r = {.c = c, .stop_after = 3};
    r.self = dg_ctimer_start(c, 10, 10, cb, &r);
    assert_int_equal(dg_clock_advance(c, 1000), 3);
    assert_int_equal(r.at[2], 5030);
    assert_int_equal(dg_clock_next_due(c), -1);
    assert_int_equal(dg_clock_advance(c, -1), DG_EINVAL);
    dg_clock_free(c);
}

static void test_stop_before_due(void **state)
{
    (void)state;
    dg_clock *c = dg_clock_new(NULL, DG_CLOCK_MANUAL, 1, 1);
    rec r = {.c = c};
    dg_ctimer *t = dg_ctimer_start(c, 10, 0, cb, &r);
    dg_ctimer_stop(t);
    assert_int_equal(dg_clock_advance(c, 100), 0);
    assert_int_equal(r.n, 0);
    dg_clock_free(c);
}

static void test_iso8601(void **state)
{
    (void)state;
    int64_t t;
    char buf[32];
    assert_int_equal(dg_parse_iso8601("2026-03-08T06:30:00Z", &t), 0);
    assert_int_equal(t, 1772951400000LL);
    dg_format_iso8601(t, buf, sizeof buf);
    assert_string_equal(buf, "2026-03-08T06:30:00Z");
    assert_int_equal(dg_parse_iso8601("2026-03-08T01:30:00-05:00", &t), 0);
    assert_int_equal(t, 1772951400000LL);
    assert_int_equal(dg_parse_iso8601("2025-10-11T05:27:13.653518304Z", &t), 0);
    assert_int_equal(t % 1000, 653);
    assert_int_equal(dg_parse_iso8601("2026-02-30", &t), 0);
    assert_int_not_equal(dg_parse_iso8601("2026-13-01T00:00:00Z", &t), 0);
    assert_int_not_equal(dg_parse_iso8601("yesterday", &t), 0);
    assert_int_not_equal(dg_parse_iso8601("2026-03-08T06:30:00", &t), 0); /* zone required */
}

static void test_scaled_clock_runs_faster(void **state)
{
    (void)state;
    uv_loop_t loop;
    uv_loop_init(&loop);
    dg_clock *c = dg_clock_new(&loop, DG_CLOCK_SCALED, 1000000, 3600);
    int64_t a = dg_clock_now(c);
    assert_true(a >= 1000000 && a < 1000000 + 3600 * 1000);
    assert_int_equal(dg_clock_advance(c, 10), DG_EINVAL);
    dg_clock_free(c);
    uv_run(&loop, UV_RUN_DEFAULT);
    assert_int_equal(uv_loop_close(&loop), 0);
}

static int64_t wall_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Two scaled clocks made at different moments but anchored to one wall
 * instant read the same virtual time: the demo's simulator and daemon. The
 * anchor lies in the past instead of the test waiting. */
static void test_scaled_clock_anchor(void **state)
{
    (void)state;
    const int64_t start = INT64_C(1772550000000), rate = 3600, real_s = 1000; /* 1 s real */
    uv_loop_t loop;
    uv_loop_init(&loop);
    int64_t anchor = wall_now_ms() - 2000; /* the first process started 2 s ago */
    dg_clock *a = dg_clock_new(&loop, DG_CLOCK_SCALED, start, (double)rate);
    dg_clock *b = dg_clock_new(&loop, DG_CLOCK_SCALED, start, (double)rate);
    assert_int_equal(dg_clock_anchor(a, anchor), DG_OK);
    assert_int_equal(dg_clock_anchor(b, anchor), DG_OK);
    int64_t na = dg_clock_now(a), nb = dg_clock_now(b);
    /* 2 s of real time x 3600 after start, give or take this test's own run */
    assert_true(na >= start + 2000 * rate - 10 * rate && na < start + 2000 * rate + real_s * rate);
    assert_true(nb >= na && nb - na < real_s * rate);
    /* without an anchor a clock starts at `start` when it is made */
    dg_clock *c = dg_clock_new(&loop, DG_CLOCK_SCALED, start, (double)rate);
    assert_true(dg_clock_now(c) < start + real_s * rate);
    /* an anchor still ahead: virtual time is before start until then */
    assert_int_equal(dg_clock_anchor(c, wall_now_ms() + 60000), DG_OK);
    assert_true(dg_clock_now(c) < start - 59 * 1000 * rate);
    dg_clock_free(a);
    dg_clock_free(b);
    dg_clock_free(c);
    /* only a scaled clock has one */
    dg_clock *m = dg_clock_new(NULL, DG_CLOCK_MANUAL, start, 1);
    assert_int_equal(dg_clock_anchor(m, anchor), DG_EINVAL);
    dg_clock_free(m);
    uv_run(&loop, UV_RUN_DEFAULT);
    assert_int_equal(uv_loop_close(&loop), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_manual_timers_fire_in_order),
        cmocka_unit_test(test_repeat_and_stop_inside_callback),
        cmocka_unit_test(test_stop_before_due),
        cmocka_unit_test(test_iso8601),
        cmocka_unit_test(test_scaled_clock_runs_faster),
        cmocka_unit_test(test_scaled_clock_anchor),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
