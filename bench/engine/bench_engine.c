/* bench/engine: N open cases (default 1,000,000) in a SQLite file.
 * Prints: setup time (not a target), time to load/schedule at start (open
 * the database, apply migrations, create the engine, reconcile, arm the one
 * timer), RSS after start, and due actions per second with a no-op
 * in-process channel, durable state (synchronous=FULL, WAL) with batched
 * commits. Usage: bench_engine [DBFILE] (env DG_BENCH_CASES, DG_BENCH_DUE,
 * DG_BENCH_BATCH). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "engine.h"
#include "error.h"
#include "instance.h"
#include "log.h"
#include "simchan.h"

static double mono(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double cpu(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static long rss_kb(const char *field)
{
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    long v = -1;
    size_t n = strlen(field);
    while (f && fgets(line, sizeof line, f))
        if (strncmp(line, field, n) == 0)
            v = strtol(line + n + 1, NULL, 10);
    if (f)
        fclose(f);
    return v;
}

static long envl(const char *k, long d)
{
    const char *v = getenv(k);
    return v && *v ? strtol(v, NULL, 10) : d;
}

static int render(void *ud, const char *id, const char *kind, const dg_msg_facts *f,
                  dg_rendered *out, char *err, size_t len)
{
    (void)ud, (void)kind, (void)f, (void)err, (void)len;
    out->text = strdup(id);
    return out->text ? 0 : DG_ENOMEM;
}

#define T_NOW 1772618400000LL /* 2026-03-04T10:00:00Z */

int main(int argc, char **argv)
{
    const char *path = argc > 1 ? argv[1] : "/tmp/duegate-bench-engine.db";
    long n_cases = envl("DG_BENCH_CASES", 1000000), n_due = envl("DG_BENCH_DUE", 100000);
    size_t batch = (size_t)envl("DG_BENCH_BATCH", 1000);
    char err[512], w[300];
    dg_db *db;
    dg_store *st;
    dg_engine_cfg cfg;
    double t0, t1;
    dg_log_set_level(DG_LOG_ERROR);
    for (const char *sfx = ""; sfx; sfx = !*sfx ? "-wal" : sfx[1] == 'w' ? "-shm" : NULL) {
        snprintf(w, sizeof w, "%s%s", path, sfx);
        unlink(w);
    }
    if (dg_engine_cfg_load(NULL, &cfg, err, sizeof err) != 0)
        return 1;
    /* ---- setup: n_cases open unpaid-order cases, n_due of them due now */
    t0 = mono();
    if (dg_db_open(path, 1, &db, err, sizeof err) ||
        dg_store_sqlite_open(db, &st, err, sizeof err)) {
        fprintf(stderr, "bench: %s\n", err);
        return 1;
    }
    st->vt->begin(st);
    for (long i = 0; i < n_cases; i++) {
        dg_case c;
        memset(&c, 0, sizeof c);
        snprintf(c.store, sizeof c.store, "shop");
        snprintf(c.order_id, sizeof c.order_id, "%ld", 100000000 + i);
        snprintf(c.order_name, sizeof c.order_name, "#%ld", i);
        snprintf(c.playbook, sizeof c.playbook, "unpaid_order");
        c.flow = DG_FLOW_UNPAID_ORDER;
        c.status = DG_CASE_OPEN;
        c.next_kind = DG_NEXT_STEP;
        c.created_at = T_NOW - 30 * 60000;
        c.close_at = T_NOW + 24 * 3600000LL;
        /* the first n_due are due now, the rest over the next 20 hours */
        c.next_at = i < n_due ? T_NOW - (i % 1000) : T_NOW + 1000 + (i % 72000) * 1000;
        c.amount_minor = 4200;
        snprintf(c.currency, sizeof c.currency, "USD");
        snprintf(c.phone, sizeof c.phone, "+1555%07ld", i);
        snprintf(c.tz, sizeof c.tz, "UTC");
        snprintf(c.cust_id, sizeof c.cust_id, "c%ld", i);
        c.paid_orders_count = -1;
        if (st->vt->case_put(st, &c) != 0) {
            fprintf(stderr, "bench: insert failed\n");
            return 1;
        }
        if (i % 20000 == 19999) {
            st->vt->commit(st);
            st->vt->begin(st);
        }
    }
    st->vt->commit(st);
    st->vt->close(st);
    dg_db_close(db);
    t1 = mono();
    printf("setup: %ld cases written in %.1f s\n", n_cases, t1 - t0);

    /* ---- start: what the daemon does at boot */
    {
        dg_runtime rt;
        dg_engine *e;
        dg_engine_opts o;
        dg_instance *wa;
        dg_engine_stats s;
        long rss0 = rss_kb("VmRSS:");
        memset(&rt, 0, sizeof rt);
        t0 = mono();
        dg_runtime_init(&rt);
        rt.clock = dg_clock_new(NULL, DG_CLOCK_MANUAL, T_NOW, 1);
        if (dg_db_open(path, 0, &db, err, sizeof err) ||
            dg_store_sqlite_open(db, &st, err, sizeof err)) {
            fprintf(stderr, "bench: %s\n", err);
            return 1;
        }
        rt.db = db;
        dg_instance_create_json(&rt, "wa", dg_simchan_plugin("whatsapp"), cJSON_CreateObject(), &wa,
                                err, sizeof err);
        dg_instance_start(wa, err, sizeof err);
        memset(&o, 0, sizeof o);
        o.rt = &rt;
        o.store = st;
        o.cfg = &cfg;
        o.render = render;
        o.seed = 1;
        o.batch = batch;
        if (dg_engine_new(&o, &e, err, sizeof err) || dg_engine_start(e)) {
            fprintf(stderr, "bench: engine start failed\n");
            return 1;
        }
        rt.sink = dg_engine_sink(e);
        t1 = mono();
        printf("start: load and schedule %ld open cases: %.3f s (target <= 5 s)\n", n_cases,
               t1 - t0);
        printf("rss after start: %.1f MB (process before start %.1f MB; target <= 150 MB)\n",
               (double)rss_kb("VmRSS:") / 1024, (double)rss0 / 1024);
        /* ---- throughput: every due case sends its first touch */
        double c0 = cpu(), c1;
        t0 = mono();
        dg_clock_advance_to(rt.clock, T_NOW);
        t1 = mono();
        c1 = cpu();
        dg_engine_get_stats(e, &s);
        printf("due actions: %llu in %.2f s = %.0f/s; sends %llu, completions %llu, "
               "transactions %llu (batch %zu, synchronous=FULL; target >= 20000/s)\n",
               (unsigned long long)s.due_actions, t1 - t0, (double)s.due_actions / (t1 - t0),
               (unsigned long long)s.sends, (unsigned long long)s.completions,
               (unsigned long long)s.transactions, batch);
        printf("due actions per CPU second: %.0f/s (%.2f s CPU; wall figures vary with the "
               "load of a shared machine)\n",
               (double)s.due_actions / (c1 - c0), c1 - c0);
        printf("peak rss: %.1f MB\n", (double)rss_kb("VmHWM:") / 1024);
        while (rt.instances)
            dg_instance_destroy(rt.instances);
        dg_engine_free(e);
        st->vt->close(st);
        dg_db_close(db);
        dg_clock_free(rt.clock);
        dg_runtime_cleanup(&rt);
    }
    for (const char *sfx = ""; sfx; sfx = !*sfx ? "-wal" : sfx[1] == 'w' ? "-shm" : NULL) {
        snprintf(w, sizeof w, "%s%s", path, sfx);
        unlink(w);
    }
    return 0;
}
