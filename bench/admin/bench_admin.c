/* bench/admin: the admin API over N cases (default 20,000, one touch each)
 * in an in-memory SQLite store. Prints milliseconds per request for a page
 * of the tracking table (default sort), a search, the CSV export and
 * /metrics; the list scans every case, so this shows where that stops being
 * comfortable. Usage: bench_admin (env DG_BENCH_CASES, DG_BENCH_REPEAT). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "admin.h"
#include "error.h"
#include "http_client.h"
#include "log.h"

static double mono(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static long envl(const char *k, long d)
{
    const char *v = getenv(k);
    return v && *v ? strtol(v, NULL, 10) : d;
}

typedef struct got {
    int done, status;
    size_t len;
} got;

static void on_resp(void *ud, const dg_http_response *r)
{
    got *g = ud;
    g->status = r->status;
    g->len = r->body_len;
    g->done = 1;
}

static int get(uv_loop_t *loop, dg_http_client *c, const char *url, size_t *len)
{
    dg_http_request r;
    got g = {0, 0, 0};
    DG_INIT(&r);
    r.method = "GET";
    r.url = url;
    r.bearer_token = "bench";
    if (dg_http_client_request(c, NULL, &r, on_resp, &g, NULL) != 0)
        return -1;
    while (!g.done)
        uv_run(loop, UV_RUN_ONCE);
    *len = g.len;
    return g.status;
}

#define T_NOW 1772618400000LL /* 2026-03-04T10:00:00Z */

int main(void)
{
    long n = envl("DG_BENCH_CASES", 20000), rep = envl("DG_BENCH_REPEAT", 5);
    static const char *const paths[] = {"/api/cases?limit=50", "/api/cases?q=order-77&limit=50",
                                        "/api/cases.csv", "/metrics"};
    char err[512], base[64], url[256];
    uv_loop_t loop;
    dg_runtime rt;
    dg_store *st;
    dg_engine *eng;
    dg_engine_cfg cfg;
    dg_engine_opts eo;
    dg_admin_opts ao;
    dg_admin *a;
    dg_http_client *cli;
    double t0;
    dg_log_set_level(DG_LOG_ERROR);
    uv_loop_init(&loop);
    if (dg_runtime_init(&rt) != 0)
        return 1;
    rt.loop = &loop;
    rt.metrics = dg_metrics_new();
    rt.clock = dg_clock_new(NULL, DG_CLOCK_MANUAL, T_NOW, 1);
    if (dg_db_open(":memory:", 1, &rt.db, err, sizeof err) ||
        dg_store_sqlite_open(rt.db, &st, err, sizeof err) ||
        dg_engine_cfg_load(NULL, &cfg, err, sizeof err)) {
        fprintf(stderr, "bench_admin: %s\n", err);
        return 1;
    }
    memset(&eo, 0, sizeof eo);
    eo.rt = &rt;
    eo.store = st;
    eo.cfg = &cfg;
    eo.render = dg_render_unavailable;
    if (dg_engine_new(&eo, &eng, err, sizeof err) != 0)
        return 1;
    t0 = mono();
    st->vt->begin(st);
    for (long i = 0; i < n; i++) {
        dg_case c;
        dg_touch t;
        memset(&c, 0, sizeof c);
        snprintf(c.store, sizeof c.store, "shop");
        snprintf(c.order_id, sizeof c.order_id, "order-%ld", i);
        snprintf(c.order_name, sizeof c.order_name, "#%ld", 1000 + i);
        snprintf(c.first_name, sizeof c.first_name, "Customer %ld", i % 997);
        snprintf(c.playbook, sizeof c.playbook, "presale_balance");
        snprintf(c.currency, sizeof c.currency, "USD");
        snprintf(c.next_step, sizeof c.next_step, "formal reminder on the due date");
        c.status = i % 10 == 0 ? DG_CASE_PAID : DG_CASE_OPEN;
        c.amount_minor = 1000 + i % 50000;
        c.due_at = T_NOW + (i % 30) * 86400000LL;
        c.next_at = c.status == DG_CASE_OPEN ? c.due_at : 0;
        c.next_kind = c.next_at ? DG_NEXT_STEP : DG_NEXT_NONE;
        st->vt->case_put(st, &c);
        memset(&t, 0, sizeof t);
        t.case_id = c.id;
        snprintf(t.stage, sizeof t.stage, "gentle");
        snprintf(t.channel, sizeof t.channel, "wa");
        snprintf(t.kind, sizeof t.kind, "whatsapp");
        snprintf(t.idem_key, sizeof t.idem_key, "k%ld", i);
        t.status = DG_TOUCH_SENT;
        st->vt->touch_put(st, &t);
    }
    st->vt->commit(st);
    printf("cases: %ld (seeded in %.2f s, not a target)\n", n, mono() - t0);
    memset(&ao, 0, sizeof ao);
    ao.rt = &rt;
    ao.store = st;
    ao.engine = eng;
    ao.token = "bench";
    if (dg_admin_new(&ao, &a, err, sizeof err) ||
        dg_admin_listen(a, "127.0.0.1:0", err, sizeof err) ||
        dg_http_client_new(&loop, NULL, &cli)) {
        fprintf(stderr, "bench_admin: %s\n", err);
        return 1;
    }
    snprintf(base, sizeof base, "http://127.0.0.1:%d", dg_admin_port(a));
    for (size_t p = 0; p < sizeof paths / sizeof *paths; p++) {
        size_t len = 0;
        int status = 0;
        snprintf(url, sizeof url, "%s%s", base, paths[p]);
        t0 = mono();
        for (long r = 0; r < rep; r++)
            status = get(&loop, cli, url, &len);
        printf("%-32s %8.1f ms/request  (HTTP %d, %zu bytes)\n", paths[p],
               (mono() - t0) * 1000.0 / (double)rep, status, len);
    }
    dg_admin_free(a);
    dg_http_client_free(cli);
    uv_run(&loop, UV_RUN_DEFAULT);
    dg_engine_free(eng);
    st->vt->close(st);
    dg_db_close(rt.db);
    dg_clock_free(rt.clock);
    dg_metrics_free(rt.metrics);
    dg_runtime_cleanup(&rt);
    uv_loop_close(&loop);
    return 0;
}
