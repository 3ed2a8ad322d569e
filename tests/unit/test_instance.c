#include "cm.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "instance.h"
#include "kv.h"
#include "loader.h"

typedef struct fx {
    dg_runtime rt;
    dg_loader *loader;
    int orders;
} fx;

typedef struct got {
    int calls;
    int status;
    dg_error_class cls;
    char provider[64];
} got;

static void on_done(void *ud, dg_instance *inst, const dg_result *res)
{
    got *g = ud;
    (void)inst;
    g->calls++;
    g->status = res->status;
    g->cls = res->error_class;
    snprintf(g->provider, sizeof g->provider, "%s", res->provider_id ? res->provider_id : "");
}

static int sink_order(void *ud, dg_instance *inst, const dg_order_event *ev, dg_emit_done_cb d,
                      void *dud)
{
    fx *f = ud;
    (void)inst, (void)d, (void)dud;
    assert_string_equal(ev->store, "shop");
    assert_string_equal(ev->order_id, "820982911946154508");
    f->orders++;
    return DG_OK;
}

static int setup(void **state)
{
    fx *f = calloc(1, sizeof *f);
    char err[512];
    const char *d = getenv("DG_FAKE_PLUGIN_DIR");
    const char *dirs[] = {d ? d : "tests/fakeplugins"};
    assert_int_equal(dg_runtime_init(&f->rt), 0);
    f->rt.clock = dg_clock_new(NULL, DG_CLOCK_MANUAL, 1000000, 1);
    f->rt.metrics = dg_metrics_new();
    assert_int_equal(dg_db_open(":memory:", 1, &f->rt.db, err, sizeof err), 0);
    assert_int_equal(dg_kv_init(f->rt.db, err, sizeof err), 0);
    f->rt.sink.order = sink_order;
    f->rt.sink.ud = f;
    assert_int_equal(dg_loader_new(&f->loader, dirs, 1, err, sizeof err), 0);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fx *f = *state;
    while (f->rt.instances)
        dg_instance_destroy(f->rt.instances);
    dg_loader_free(f->loader);
    dg_clock_free(f->rt.clock);
    dg_metrics_free(f->rt.metrics);
    dg_db_close(f->rt.db);
    dg_runtime_cleanup(&f->rt);
    free(f);
    return 0;
}

static dg_instance *make(fx *f, const char *plugin, const char *name, const char *conf)
{
    const dg_plugin *p;
    dg_instance *inst = NULL;
    char err[512] = "";
    assert_int_equal(dg_loader_load(f->loader, plugin, &p, err, sizeof err), 0);
    assert_int_equal(dg_instance_create_json(&f->rt, name, p, cJSON_Parse(conf), &inst, err,
                                             sizeof err),
                     0);
    assert_int_equal(dg_instance_start(inst, err, sizeof err), 0);
    return inst;
}

static dg_outbound_message msg(const char *phone)
{
    dg_outbound_message m;
    DG_INIT(&m);
    m.case_id = 1;
    m.touch_id = 7;
    m.to_phone = phone;
    m.text = "hello";
    return m;
}

static void test_sync_send_completes_once(void **state)
{
    fx *f = *state;
    dg_instance *inst = make(f, "fake_good", "wa", "{}");
    dg_outbound_message m = msg("+14155550123");
    got g = {0};
    assert_int_equal(dg_instance_send(inst, &m, on_done, &g), DG_PENDING);
    assert_int_equal(g.calls, 1);
    assert_int_equal(g.status, DG_OK);
    assert_string_equal(g.provider, "fake-1");
    assert_int_equal(inst->pending, 0);
    m = msg("+19999999999");
    assert_int_equal(dg_instance_send(inst, &m, on_done, &g), DG_PENDING);
    assert_int_equal(g.calls, 2);
    assert_int_equal(g.cls, DG_ERRC_PERMANENT);
    /* refused synchronously: error returned, callback never called */
    m = msg("+10000000000");
    assert_int_equal(dg_instance_send(inst, &m, on_done, &g), DG_EINVAL);
    assert_int_equal(g.calls, 2);
    assert_int_equal(inst->pending, 0);
    assert_int_equal(f->rt.violations, 0);
}

static void test_double_completion_is_a_violation(void **state)
{
    fx *f = *state;
    dg_instance *inst = make(f, "fake_double", "wa2", "{}");
    dg_outbound_message m = msg("+14155550123");
    got g = {0};
    assert_int_equal(dg_instance_send(inst, &m, on_done, &g), DG_PENDING);
    assert_int_equal(g.calls, 1);
    assert_int_equal(f->rt.violations, 1);
    assert_int_equal(dg_metrics_get(f->rt.metrics, "duegate_plugin_violations_total",
                                    (dg_kv[]){{"plugin", "fake_double", 0}}, 1),
                     1);
}

static void test_async_send_and_draining_stop(void **state)
{
    fx *f = *state;
    dg_instance *inst = make(f, "fake_good", "wa", "{\"async_ms\": 100, \"drain_ms\": 50}");
    dg_outbound_message m = msg("+14155550123");
    got g1 = {0}, g2 = {0}, stopped = {0};
    assert_int_equal(dg_instance_send(inst, &m, on_done, &g1), DG_PENDING);
    assert_int_equal(dg_instance_send(inst, &m, on_done, &g2), DG_PENDING);
    assert_int_equal(inst->pending, 2);
    assert_int_equal(g1.calls, 0);
    /* stop drains: DG_PENDING, then completes once the parked sends complete */
    assert_int_equal(dg_instance_stop(inst, on_done, &stopped), DG_PENDING);
    assert_int_equal(inst->state, DG_INST_STOPPING);
    dg_clock_advance(f->rt.clock, 100);
    assert_int_equal(g1.calls, 1);
    assert_int_equal(g2.calls, 1);
    assert_string_equal(g1.provider, "fake-async");
    assert_int_equal(stopped.calls, 1);
    assert_int_equal(inst->state, DG_INST_STOPPED);
    /* nothing reaches a stopped instance */
    assert_int_equal(dg_instance_send(inst, &m, on_done, &g1), DG_ESTATE);
    assert_int_equal(f->rt.violations, 0);
}

static void test_forced_stop_fails_pending(void **state)
{
    fx *f = *state;
    dg_instance *inst = make(f, "fake_good", "wa", "{\"async_ms\": 100000, \"drain_ms\": 100000}");
    dg_outbound_message m = msg("+14155550123");
    got g = {0}, stopped = {0};
    assert_int_equal(dg_instance_send(inst, &m, on_done, &g), DG_PENDING);
    assert_int_equal(dg_instance_stop(inst, on_done, &stopped), DG_PENDING);
    dg_instance_force_stopped(inst);
    assert_int_equal(g.calls, 1);
    assert_int_equal(g.status, DG_ECANCELED);
    assert_int_equal(g.cls, DG_ERRC_RETRYABLE);
    assert_int_equal(stopped.calls, 1);
    assert_int_equal(stopped.status, DG_ETIMEDOUT);
    /* its timers died with it: advancing the clock calls nothing */
    assert_int_equal(dg_clock_next_due(f->rt.clock), -1);
}

static void test_store_backfill_reaches_sink(void **state)
{
    fx *f = *state;
    dg_instance *inst = make(f, "fake_store", "shop", "{}");
    got g = {0};
    dg_outbound_message m = msg("+1");
    assert_int_equal(dg_instance_backfill(inst, on_done, &g), DG_PENDING);
    assert_int_equal(g.calls, 1);
    assert_int_equal(f->orders, 1);
    assert_int_equal(dg_instance_send(inst, &m, on_done, &g), DG_ENOTSUP);
}

static void test_create_refused_and_duplicate(void **state)
{
    fx *f = *state;
    const dg_plugin *p;
    dg_instance *inst = NULL;
    char err[512];
    assert_int_equal(dg_loader_load(f->loader, "fake_good", &p, err, sizeof err), 0);
    assert_int_not_equal(dg_instance_create_json(&f->rt, "x", p,
                                                 cJSON_Parse("{\"refuse\": \"no token\"}"), &inst,
                                                 err, sizeof err),
                         0);
    assert_non_null(strstr(err, "x: plugin fake_good refused its configuration: refused: no token"));
    make(f, "fake_good", "dup", "{}");
    assert_int_equal(dg_instance_create_json(&f->rt, "dup", p, cJSON_Parse("{}"), &inst, err,
                                             sizeof err),
                     DG_EEXIST);
}

static void test_host_state_store_and_config(void **state)
{
    fx *f = *state;
    dg_instance *a = make(f, "fake_good", "a", "{\"labels\": [\"x\", \"y\"], \"ratio\": 0.25,"
                                                " \"extra\": {\"k\": 1}}");
    dg_instance *b = make(f, "fake_good", "b", "{}");
    const dg_host *h = dg_host_table();
    char *v = NULL;
    size_t len = 0;
    double r;
    assert_int_equal(h->struct_size, sizeof(dg_host));
    assert_int_equal(h->state_put(a, "last_inbound:+1415", "123", 3, 0), 0);
    assert_int_equal(h->state_get(a, "last_inbound:+1415", &v, &len), 0);
    assert_string_equal(v, "123");
    assert_int_equal(len, 3);
    h->free(v);
    /* namespaced per instance */
    assert_int_equal(h->state_get(b, "last_inbound:+1415", &v, &len), DG_ENOTFOUND);
    /* expiry follows the host clock */
    assert_int_equal(h->state_put(a, "ttl", "x", 1, 1000), 0);
    dg_clock_advance(f->rt.clock, 999);
    assert_int_equal(h->state_get(a, "ttl", &v, &len), 0);
    h->free(v);
    dg_clock_advance(f->rt.clock, 1);
    assert_int_equal(h->state_get(a, "ttl", &v, &len), DG_ENOTFOUND);
    assert_int_equal(h->state_del(a, "last_inbound:+1415"), 0);
    assert_int_equal(h->state_get(a, "last_inbound:+1415", &v, &len), DG_ENOTFOUND);
    /* config getters */
    assert_int_equal(h->config_array_len(a, "labels"), 2);
    assert_string_equal(h->config_array_string(a, "labels", 1), "y");
    assert_null(h->config_array_string(a, "labels", 2));
    assert_int_equal(h->config_double(a, "ratio", &r), 0);
    assert_true(r == 0.25);
    assert_string_equal(h->config_json(a, "extra"), "{\"k\":1}");
    assert_int_equal(h->config_double(a, "nope", &r), DG_ENOTFOUND);
    assert_string_equal(h->instance_name(b), "b");
    assert_int_equal(h->now_ms(a), dg_clock_now(f->rt.clock));
    /* HTTP slots exist; until the HTTP server is wired they say so */
    assert_non_null(h->http_route);
    assert_non_null(h->http_request);
    /* metrics get the instance label */
    h->metric_add(a, "plugin_things_total", NULL, 0, 2);
    assert_int_equal(dg_metrics_get(f->rt.metrics, "plugin_things_total",
                                    (dg_kv[]){{"instance", "a", 0}}, 1),
                     2);
    h->set_health(a, 0, "token expired (190)");
    assert_int_equal(a->healthy, 0);
    assert_string_equal(a->health_reason, "token expired (190)");
    h->set_health(a, 1, NULL);
    assert_null(a->health_reason);
}

static void timer_cb(void *ud) { (*(int *)ud)++; }

static void test_timers_die_with_instance(void **state)
{
    fx *f = *state;
    dg_instance *a = make(f, "fake_good", "a", "{}");
    const dg_host *h = dg_host_table();
    int fired = 0;
    dg_timer *t = h->timer_start(a, 10, 10, timer_cb, &fired);
    assert_non_null(t);
    dg_clock_advance(f->rt.clock, 35);
    assert_int_equal(fired, 3);
    assert_int_equal(dg_instance_stop(a, NULL, NULL), DG_OK);
    dg_clock_advance(f->rt.clock, 100);
    assert_int_equal(fired, 3);
    assert_null(h->timer_start(a, 10, 0, timer_cb, &fired));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_sync_send_completes_once, setup, teardown),
        cmocka_unit_test_setup_teardown(test_double_completion_is_a_violation, setup, teardown),
        cmocka_unit_test_setup_teardown(test_async_send_and_draining_stop, setup, teardown),
        cmocka_unit_test_setup_teardown(test_forced_stop_fails_pending, setup, teardown),
        cmocka_unit_test_setup_teardown(test_store_backfill_reaches_sink, setup, teardown),
        cmocka_unit_test_setup_teardown(test_create_refused_and_duplicate, setup, teardown),
        cmocka_unit_test_setup_teardown(test_host_state_store_and_config, setup, teardown),
        cmocka_unit_test_setup_teardown(test_timers_die_with_instance, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
