/* The console's browser test server: the real admin listener, engine and
 * SQLite store (in memory, manual clock), seeded with cases: three open
 * orders after their first WhatsApp touch, one whose customer replied
 * (needs a person), one paid after a touch. Prints "PORT <n>" on stdout and
 * serves until SIGTERM/SIGINT. Argument: the console directory. */
#include "../engine/efix.h"

#include <signal.h>

#include "admin.h"
#include "metrics.h"

#define T0 1772452800000LL /* 2026-03-02T12:00:00Z */

static uv_signal_t s_term, s_int;
static dg_admin *g_admin;

static void on_stop(uv_signal_t *s, int sig)
{
    (void)sig, (void)s;
    dg_admin_free(g_admin);
    g_admin = NULL;
    uv_close((uv_handle_t *)&s_term, NULL);
    uv_close((uv_handle_t *)&s_int, NULL);
}

static void seed(void **state)
{
    const char *dir = *state;
    efix *f = fx_new(T0, NULL);
    int64_t due = T0 + 3 * D;
    uv_loop_t loop;
    dg_admin_opts o;
    char err[256];
    dg_case c;
    uv_loop_init(&loop);
    f->rt.loop = &loop;
    f->rt.metrics = dg_metrics_new();
    fx_engine(f);
    fx_order(f, "#1001", DG_FLOW_PRESALE_BALANCE, due, "+12125550100", "US", "NY", NULL, 5000);
    fx_order(f, "#1002", DG_FLOW_PRESALE_BALANCE, due, "+12125550101", "US", "NY", NULL, 12000);
    fx_order(f, "#1003", DG_FLOW_PRESALE_BALANCE, due, "+12125550102", "US", "NY", NULL, 7500);
    fx_order(f, "#1004", DG_FLOW_PRESALE_BALANCE, due + D, "+12125550103", "US", "NY", NULL, 9900);
    fx_order(f, "#1005", DG_FLOW_PRESALE_BALANCE, due, "+12125550104", "US", "NY", NULL, 4200);
    c = fx_case(f, "#1002");
    snprintf(c.first_name, sizeof c.first_name, "Bea");
    snprintf(c.last_name, sizeof c.last_name, "Ortiz");
    snprintf(c.items_summary, sizeof c.items_summary, "Walnut desk (pre-order)");
    assert_int_equal(f->st->vt->case_put(f->st, &c), 0);
    fx_run(f, due - D);
    fx_reply(f, f->wa, "+12125550101", "Can I pay half now and half next week?", NULL);
    fx_paid(f, "#1003");
    memset(&o, 0, sizeof o);
    o.rt = &f->rt;
    o.store = f->st;
    o.engine = f->e;
    o.token = getenv("DG_ADMIN_TOKEN") ? getenv("DG_ADMIN_TOKEN") : "browser-test-token";
    o.token_label = "browser-test";
    o.console_dir = dir;
    assert_int_equal(dg_admin_new(&o, &g_admin, err, sizeof err), 0);
    assert_int_equal(dg_admin_listen(g_admin, "127.0.0.1:0", err, sizeof err), 0);
    uv_signal_init(&loop, &s_term);
    uv_signal_init(&loop, &s_int);
    uv_signal_start(&s_term, on_stop, SIGTERM);
    uv_signal_start(&s_int, on_stop, SIGINT);
    printf("PORT %d\n", dg_admin_port(g_admin));
    fflush(stdout);
    uv_run(&loop, UV_RUN_DEFAULT);
    assert_int_equal(uv_loop_close(&loop), 0);
    dg_metrics *m = f->rt.metrics;
    fx_free(f);
    dg_metrics_free(m);
}

int main(int argc, char **argv)
{
    const struct CMUnitTest t[] = {cmocka_unit_test_prestate(seed, argc > 1 ? argv[1] : "console")};
    return cmocka_run_group_tests(t, NULL, NULL);
}
