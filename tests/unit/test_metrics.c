#include "cm.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "metrics.h"

static void test_counters_gauges_render(void **state)
{
    (void)state;
    dg_metrics *m = dg_metrics_new();
    dg_kv a[] = {{"channel", "whatsapp", 0}, {"status", "sent", 0}};
    dg_kv b[] = {{"status", "sent", 0}, {"channel", "sms", 0}};
    dg_kv q[] = {{"reason", "say \"hi\"\n", 0}};
    char *out;
    assert_int_equal(dg_metrics_add(m, "duegate_touches_total", a, 2, 2), 0);
    assert_int_equal(dg_metrics_add(m, "duegate_touches_total", b, 2, 1), 0);
    assert_int_equal(dg_metrics_add(m, "duegate_touches_total", a, 2, 1), 0);
    assert_int_equal(dg_metrics_get(m, "duegate_touches_total", a, 2), 3);
    assert_int_equal(dg_metrics_set(m, "duegate_cases", NULL, 0, 7), 0);
    assert_int_equal(dg_metrics_set(m, "duegate_touches_total", NULL, 0, 1), DG_EINVAL);
    assert_int_equal(dg_metrics_add(m, "bad name", NULL, 0, 1), DG_EINVAL);
    assert_int_equal(dg_metrics_add(m, "duegate_touches_total", a, 2, -1), DG_EINVAL);
    assert_int_equal(dg_metrics_set(m, "duegate_unhealthy", q, 1, 1), 0);
    assert_int_equal(dg_metrics_render(m, &out, NULL), 0);
    assert_non_null(strstr(out, "# TYPE duegate_touches_total counter\n"));
    assert_non_null(strstr(out, "duegate_touches_total{channel=\"sms\",status=\"sent\"} 1\n"));
    assert_non_null(strstr(out, "duegate_touches_total{channel=\"whatsapp\",status=\"sent\"} 3\n"));
    assert_non_null(strstr(out, "duegate_cases 7\n"));
    assert_non_null(strstr(out, "reason=\"say \\\"hi\\\"\\n\""));
    free(out);
    dg_metrics_free(m);
}

/* Lookups go through a memo of recent (name, labels) keys: the same label
 * set in either order is one series, keys that only a naive concatenation
 * would confuse stay apart, a type clash is still refused after a hit, and
 * more series than the memo holds keep their own counts. */
static void test_lookup_memo(void **state)
{
    (void)state;
    dg_metrics *m = dg_metrics_new();
    dg_kv ab[] = {{"a", "b", 0}, {"c", "", 0}};
    dg_kv ba[] = {{"c", NULL, 0}, {"a", "b", 0}};
    dg_kv x[] = {{"a", "", 0}, {"c", "b", 0}};
    dg_kv y[] = {{"a", "bc", 0}};
    char val[16];
    dg_kv v[] = {{"n", val, 0}};
    for (int i = 0; i < 3; i++) {
        assert_int_equal(dg_metrics_add(m, "t_total", ab, 2, 1), 0);
        assert_int_equal(dg_metrics_add(m, "t_total", ba, 2, 1), 0);
        assert_int_equal(dg_metrics_add(m, "t_total", x, 2, 1), 0);
        assert_int_equal(dg_metrics_add(m, "t_total", y, 1, 1), 0);
    }
    assert_int_equal(dg_metrics_get(m, "t_total", ab, 2), 6);
    assert_int_equal(dg_metrics_get(m, "t_total", x, 2), 3);
    assert_int_equal(dg_metrics_get(m, "t_total", y, 1), 3);
    assert_int_equal(dg_metrics_observe(m, "t_total", ab, 2, 1), DG_EINVAL);
    assert_int_equal(dg_metrics_set(m, "t_total", ba, 2, 1), DG_EINVAL);
    for (int r = 0; r < 3; r++)
        for (int i = 0; i < 100; i++) {
            snprintf(val, sizeof val, "%d", i);
            assert_int_equal(dg_metrics_add(m, "u_total", v, 1, (double)i), 0);
        }
    for (int i = 0; i < 100; i++) {
        snprintf(val, sizeof val, "%d", i);
        assert_int_equal(dg_metrics_get(m, "u_total", v, 1), 3 * i);
    }
    dg_metrics_free(m);
}

static void test_histogram(void **state)
{
    (void)state;
    dg_metrics *m = dg_metrics_new();
    char *out;
    dg_metrics_observe(m, "duegate_send_seconds", NULL, 0, 0.003);
    dg_metrics_observe(m, "duegate_send_seconds", NULL, 0, 0.2);
    dg_metrics_observe(m, "duegate_send_seconds", NULL, 0, 100);
    assert_int_equal(dg_metrics_get(m, "duegate_send_seconds", NULL, 0), 3);
    assert_int_equal(dg_metrics_render(m, &out, NULL), 0);
    assert_non_null(strstr(out, "# TYPE duegate_send_seconds histogram\n"));
    assert_non_null(strstr(out, "duegate_send_seconds_bucket{le=\"0.001\"} 0\n"));
    assert_non_null(strstr(out, "duegate_send_seconds_bucket{le=\"0.005\"} 1\n"));
    assert_non_null(strstr(out, "duegate_send_seconds_bucket{le=\"0.25\"} 2\n"));
    assert_non_null(strstr(out, "duegate_send_seconds_bucket{le=\"+Inf\"} 3\n"));
    assert_non_null(strstr(out, "duegate_send_seconds_count 3\n"));
    free(out);
    dg_metrics_free(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_counters_gauges_render),
        cmocka_unit_test(test_histogram),
        cmocka_unit_test(test_lookup_memo),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
