#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <uv.h>

#include "admin.h"
#include "daemon.h"
#include "engine.h"
#include "error.h"
#include "http_client.h"
#include "http_server.h"
#include "inbox.h"
#include "instance.h"
#include "kv.h"
#include "log.h"
#include "offload.h"
#include "template.h"
#include "testclock.h"

#ifndef DG_PLUGINDIR
#define DG_PLUGINDIR "/usr/local/lib/duegate/plugins"
#endif

/* Worker threads for plugins' pure work (dg_host.run_off_loop): two keep a
 * webhook burst's HMACs off the loop on a small machine without oversubscribing it. */
#define OFFLOAD_THREADS 2

int dg_daemon_make_loader(const dg_config *cfg, const char *const *extra, size_t n_extra,
                          dg_loader **out, char *err, size_t len)
{
    const char *dirs[64];
    size_t n = 0;
    char *envcopy = NULL;
    const char *env = getenv("DUEGATE_PLUGIN_PATH");
    int rc;
    for (size_t i = 0; i < n_extra && n < 60; i++)
        dirs[n++] = extra[i];
    for (size_t i = 0; cfg && i < cfg->n_plugin_dirs && n < 60; i++)
        dirs[n++] = cfg->plugin_dirs[i];
    if (env && *env && (envcopy = strdup(env)) != NULL) {
        char *save = NULL;
        for (char *t = strtok_r(envcopy, ":", &save); t && n < 62; t = strtok_r(NULL, ":", &save))
            dirs[n++] = t;
    }
    dirs[n++] = DG_PLUGINDIR;
    rc = dg_loader_new(out, dirs, n, err, len);
    free(envcopy);
    return rc;
}

/* Load every enabled instance's plugin and validate its section. */
static int load_plugins(const dg_config *cfg, dg_loader *ld, char *err, size_t len)
{
    for (size_t i = 0; i < cfg->n_instances; i++) {
        const dg_instance_cfg *ic = &cfg->instances[i];
        const dg_plugin *p;
        char perr[768];
        int rc;
        if (!ic->enabled)
            continue;
        rc = dg_loader_load(ld, ic->plugin, &p, perr, sizeof perr);
        if (rc) {
            dg_errf(err, len, "%s:%d: %s.%s.plugin: %s", cfg->path,
                    dg_json_line_of(cfg->text, ""), ic->kind == DG_PLUGIN_CHANNEL ? "channels"
                                                                                   : "stores",
                    ic->name, perr);
            return rc;
        }
    }
    return 0;
}

int dg_daemon_check_config(const dg_daemon_opts *o, FILE *out)
{
    dg_config *cfg = NULL;
    dg_loader *ld = NULL;
    char err[1024];
    size_t n_ch = 0, n_st = 0;
    int rc = dg_config_load(o->config_path, &cfg, err, sizeof err);
    if (!rc)
        rc = dg_daemon_make_loader(cfg, o->plugin_dirs, o->n_plugin_dirs, &ld, err, sizeof err);
    if (!rc)
        rc = load_plugins(cfg, ld, err, sizeof err);
    for (size_t i = 0; !rc && i < cfg->n_instances; i++) {
        const dg_instance_cfg *ic = &cfg->instances[i];
        const dg_plugin *p;
        cJSON *resolved = NULL;
        char path[128];
        static const char *const reserved[] = {"plugin", "enabled", NULL};
        if (!ic->enabled)
            continue;
        dg_loader_load(ld, ic->plugin, &p, err, sizeof err);
        if (p->desc->kind != ic->kind) {
            dg_errf(err, sizeof err, "%s:%d: %s.%s.plugin: '%s' is not a %s plugin", cfg->path,
                    dg_json_line_of(cfg->text, ""),
                    ic->kind == DG_PLUGIN_CHANNEL ? "channels" : "stores", ic->name, ic->plugin,
                    ic->kind == DG_PLUGIN_CHANNEL ? "channel" : "store");
            rc = DG_ECONFIG;
            break;
        }
        snprintf(path, sizeof path, "%s.%s", ic->kind == DG_PLUGIN_CHANNEL ? "channels" : "stores",
                 ic->name);
        rc = dg_config_apply_schema(cfg, p->desc->config_schema, ic->json, path, reserved,
                                    &resolved, err, sizeof err);
        cJSON_Delete(resolved);
        if (ic->kind == DG_PLUGIN_CHANNEL)
            n_ch++;
        else
            n_st++;
    }
    if (!rc) { /* engine, playbooks, segments, quiet_hours */
        dg_engine_cfg ec;
        rc = dg_engine_cfg_load(cfg, &ec, err, sizeof err);
    }
    if (!rc) { /* the message templates the engine will render */
        dg_templates *t = NULL;
        rc = dg_templates_load_config(cfg, NULL, NULL, NULL, &t, err, sizeof err);
        dg_templates_free(t);
    }
    if (rc)
        fprintf(stderr, "duegate: %s\n", err);
    else
        fprintf(out, "%s: configuration OK (%zu channel and %zu store instances)\n",
                o->config_path, n_ch, n_st);
    dg_loader_free(ld);
    dg_config_free(cfg);
    return rc ? 1 : 0;
}

/* ---------------------------------------------------------------- run */

typedef struct dgd {
    dg_runtime rt;
    dg_config *cfg;
    dg_loader *loader;
    uv_loop_t loop;
    uv_signal_t sigint, sigterm;
    uv_timer_t deadline;
    int deadline_armed;
    size_t stopping;
    int shutting_down;
    int exit_code;
    dg_store *store;
    dg_engine *engine;
    dg_templates *templates; /* the engine renders every message with them */
    dg_admin *admin;         /* admin API + console (off without admin_token) */
} dgd;


static void on_close_noop(uv_handle_t *h) { (void)h; }


static void on_backfill_done(void *ud, dg_instance *inst, const dg_result *res)
{
    (void)ud;
    if (res->status == DG_OK)
        dg_logf(DG_LOG_INFO, inst->name, "backfill_done", NULL);
    else
        dg_logf(DG_LOG_WARN, inst->name, "backfill_failed", "error",
                res->error_message ? res->error_message : dg_strerror(res->status), NULL);
}

/* Ask every store for the open orders that owe money (the plugins keep
 * reconciling on their own schedule afterwards). */
static void backfill_stores(dgd *d)
{
    for (dg_instance *i = d->rt.instances; i; i = i->next) {
        int rc;
        if (dg_instance_kind(i) != DG_PLUGIN_STORE || i->state != DG_INST_STARTED)
            continue;
        rc = dg_instance_backfill(i, on_backfill_done, d);
        if (rc != DG_PENDING)
            dg_logf(DG_LOG_WARN, i->name, "backfill_failed", "error", dg_strerror(rc), NULL);
    }
}

static void finalize(dgd *d)
{
    /* entries not yet on disk get there (their senders are answered); the
     * unprocessed rest waits in the journal for the next start */
    dg_inbox_close(d->rt.inbox);
    d->rt.inbox = NULL;
    dg_db_set_loop(d->rt.db, NULL); /* commit the open batch, answer its writers */
    dg_admin_free(d->admin); /* first: its actions reach the engine */
    d->admin = NULL;
    dg_engine_stop(d->engine);
    while (d->rt.instances) /* pending sends complete (canceled) into the engine */
        dg_instance_destroy(d->rt.instances);
    dg_engine_free(d->engine);
    d->engine = NULL;
    dg_templates_free(d->templates);
    d->templates = NULL;
    if (d->store)
        d->store->vt->close(d->store);
    d->store = NULL;
    uv_close((uv_handle_t *)&d->sigint, on_close_noop);
    uv_close((uv_handle_t *)&d->sigterm, on_close_noop);
    uv_close((uv_handle_t *)&d->deadline, on_close_noop);
    /* Instances are gone: stop accepting, close connections and the client
     * (their handles finish closing while the loop runs out). */
    dg_offload_close(d->rt.offload); /* nothing of the instances is left in it */
    d->rt.offload = NULL;
    dg_http_server_free(d->rt.http_server);
    d->rt.http_server = NULL;
    dg_http_client_free(d->rt.http_client);
    d->rt.http_client = NULL;
    dg_clock_free(d->rt.clock);
    d->rt.clock = NULL;
}

static void on_instance_stopped(void *ud, dg_instance *inst, const dg_result *res)
{
    dgd *d = ud;
    (void)inst, (void)res;
    if (d->stopping > 0 && --d->stopping == 0) {
        uv_timer_stop(&d->deadline);
        finalize(d);
    }
}

static void on_deadline(uv_timer_t *t)
{
    dgd *d = t->data;
    for (dg_instance *i = d->rt.instances; i; i = i->next)
        if (i->state == DG_INST_STOPPING)
            dg_instance_force_stopped(i); /* calls on_instance_stopped */
}

static void begin_shutdown(dgd *d, const char *why)
{
    if (d->shutting_down)
        return;
    d->shutting_down = 1;
    dg_logf(DG_LOG_INFO, "core", "shutdown_requested", "signal", why, NULL);
    uv_signal_stop(&d->sigint);
    uv_signal_stop(&d->sigterm);
    dg_engine_stop(d->engine); /* no new sends; completions are still recorded */
    dg_inbox_pause(d->rt.inbox); /* the backlog waits for the next start */
    dg_admin_free(d->admin);   /* no operator action on a stopping engine */
    d->admin = NULL;
    d->stopping = 1; /* guard while we iterate */
    for (dg_instance *i = d->rt.instances; i; i = i->next) {
        if (i->state != DG_INST_STARTED)
            continue;
        d->stopping++;
        if (dg_instance_stop(i, on_instance_stopped, d) != DG_PENDING)
            d->stopping--;
    }
    if (d->stopping > 1)
        uv_timer_start(&d->deadline, on_deadline, (uint64_t)d->cfg->shutdown_timeout_ms, 0);
    on_instance_stopped(d, NULL, NULL); /* drop the guard */
}

static void on_signal(uv_signal_t *s, int signum)
{
    begin_shutdown(s->data, signum == SIGINT ? "SIGINT" : "SIGTERM");
}

static void close_walk(uv_handle_t *h, void *arg)
{
    (void)arg;
    if (!uv_is_closing(h))
        uv_close(h, NULL);
}

/* A public_url ending in ":0" (tests that listen on port 0) takes the bound
 * port, so the callback URLs plugins hand to providers reach us. */
static int public_url_port(dg_config *cfg, const char *port)
{
    char *u = cfg->public_url, *nu;
    size_t n = u ? strlen(u) : 0;
    if (n < 2 || strcmp(u + n - 2, ":0") != 0)
        return 0;
    if (!(nu = malloc(n + strlen(port))))
        return DG_ENOMEM;
    snprintf(nu, n + strlen(port), "%.*s%s", (int)(n - 1), u, port);
    free(u);
    cfg->public_url = nu;
    return 0;
}

/* The webhook server on daemon.listen and the provider client, before any
 * instance exists (plugins register routes in create/start). */
static int start_http(dgd *d, char *err, size_t len)
{
    dg_http_server_opts so;
    dg_http_server *s = NULL;
    dg_http_client *c = NULL;
    char port[16];
    int rc;
    memset(&so, 0, sizeof so);
    so.max_body_bytes = (size_t)d->cfg->max_body_bytes;
    so.max_header_bytes = (size_t)d->cfg->http_max_header_bytes;
    so.header_timeout_ms = (uint64_t)d->cfg->http_header_timeout_ms;
    so.body_timeout_ms = (uint64_t)d->cfg->http_body_timeout_ms;
    so.idle_timeout_ms = (uint64_t)d->cfg->http_idle_timeout_ms;
    so.max_connections = (size_t)d->cfg->http_max_connections;
    so.name = "webhooks";
    if ((rc = dg_http_server_new(d->rt.loop, &so, &s)) != 0) {
        dg_errf(err, len, "cannot create the webhook server: %s", dg_strerror(rc));
        return rc;
    }
    d->rt.http_server = s;
    if ((rc = dg_http_server_listen(s, d->cfg->listen, err, len)) != 0)
        return rc;
    /* At most 64 provider calls in flight: a burst of due touches waits in
     * the client's FIFO instead of opening one socket per message (which
     * exhausts descriptors and the provider's connection limit). */
    if ((rc = dg_http_client_new(d->rt.loop, &(dg_http_client_opts){.max_in_flight = 64},
                                 &c)) != 0) {
        dg_errf(err, len, "cannot create the HTTP client: %s", dg_strerror(rc));
        return rc;
    }
    d->rt.http_client = c;
    snprintf(port, sizeof port, "%d", dg_http_server_port(s));
    if ((rc = public_url_port(d->cfg, port)) != 0)
        return rc;
    if (d->cfg->clock_mode == DG_CLOCK_MANUAL && (rc = dg_testclock_route(s, d->rt.clock)) != 0) {
        dg_errf(err, len, "cannot route /_duegate/clock: %s", dg_strerror(rc));
        return rc;
    }
    dg_logf(DG_LOG_INFO, "core", "http_listening", "addr", d->cfg->listen, "port", port, NULL);
    return 0;
}

int dg_daemon_run(const dg_daemon_opts *o)
{
    dgd d;
    char err[1024];
    int rc;
    char *dbpath = NULL;

    memset(&d, 0, sizeof d);
    rc = dg_config_load(o->config_path, &d.cfg, err, sizeof err);
    if (rc) {
        fprintf(stderr, "duegate: %s\n", err);
        return 1;
    }
    dg_log_set_level(d.cfg->log_level);
    if (uv_loop_init(&d.loop) != 0 || dg_runtime_init(&d.rt) != 0) {
        fprintf(stderr, "duegate: cannot initialise the event loop\n");
        dg_config_free(d.cfg);
        return 1;
    }
    d.rt.loop = &d.loop;
    d.rt.cfg = d.cfg;
    d.rt.metrics = dg_metrics_new();
    d.rt.clock = dg_clock_new(&d.loop, d.cfg->clock_mode, d.cfg->clock_start_ms, d.cfg->clock_rate);
    if (d.rt.clock && d.cfg->clock_anchor_ms) /* config checked: a scaled clock */
        dg_clock_anchor(d.rt.clock, d.cfg->clock_anchor_ms);
    uv_signal_init(&d.loop, &d.sigint);
    uv_signal_init(&d.loop, &d.sigterm);
    uv_timer_init(&d.loop, &d.deadline);
    d.sigint.data = d.sigterm.data = d.deadline.data = &d;

    rc = (!d.rt.metrics || !d.rt.clock) ? DG_ENOMEM : 0;
    if (!rc && !(dbpath = dg_config_resolve_path(d.cfg, d.cfg->state_db)))
        rc = DG_ENOMEM;
    if (!rc)
        rc = dg_db_open(dbpath, 0, &d.rt.db, err, sizeof err);
    if (!rc)
        dg_db_set_loop(d.rt.db, &d.loop); /* group commit */
    if (!rc)
        rc = dg_kv_init(d.rt.db, err, sizeof err);
    if (!rc && strcmp(dbpath, ":memory:") != 0) {
        /* webhook bodies wait here between their 200 and their processing */
        char *dir = malloc(strlen(dbpath) + 8);
        if (!dir)
            rc = DG_ENOMEM;
        else {
            sprintf(dir, "%s-inbox", dbpath);
            rc = dg_inbox_open(&d.loop, d.rt.db, dir, dg_host_inbox_deliver, &d.rt, &d.rt.inbox,
                               err, sizeof err);
            free(dir);
        }
    }
    if (!rc && (rc = dg_offload_open(&d.loop, OFFLOAD_THREADS, &d.rt.offload)) != 0)
        dg_errf(err, sizeof err, "cannot start the worker threads: %s", dg_strerror(rc));
    if (!rc)
        rc = dg_store_sqlite_open(d.rt.db, &d.store, err, sizeof err);
    if (!rc)
        rc = dg_templates_load_config(d.cfg, NULL, NULL, NULL, &d.templates, err, sizeof err);
    if (!rc) {
        dg_engine_cfg ecfg;
        dg_engine_opts eo;
        rc = dg_engine_cfg_load(d.cfg, &ecfg, err, sizeof err);
        memset(&eo, 0, sizeof eo);
        eo.rt = &d.rt;
        eo.store = d.store;
        eo.cfg = &ecfg;
        eo.render = dg_templates_render;
        eo.render_ud = d.templates;
        if (!rc)
            rc = dg_engine_new(&eo, &d.engine, err, sizeof err);
        if (!rc)
            d.rt.sink = dg_engine_sink(d.engine);
    }
    if (!rc)
        rc = start_http(&d, err, sizeof err);
    if (!rc)
        rc = dg_daemon_make_loader(d.cfg, o->plugin_dirs, o->n_plugin_dirs, &d.loader, err,
                                   sizeof err);
    if (!rc)
        rc = load_plugins(d.cfg, d.loader, err, sizeof err);
    for (size_t i = 0; !rc && i < d.cfg->n_instances; i++) {
        const dg_instance_cfg *ic = &d.cfg->instances[i];
        const dg_plugin *p;
        dg_instance *inst;
        if (!ic->enabled)
            continue;
        rc = dg_loader_load(d.loader, ic->plugin, &p, err, sizeof err);
        if (!rc)
            rc = dg_instance_create(&d.rt, d.cfg, ic, p, &inst, err, sizeof err);
    }
    /* Start in configuration order (the list is built in reverse). */
    for (size_t i = 0; !rc && i < d.cfg->n_instances; i++) {
        dg_instance *inst = dg_instance_find(&d.rt, d.cfg->instances[i].name);
        if (inst)
            rc = dg_instance_start(inst, err, sizeof err);
    }
    if (!rc && (rc = dg_engine_start(d.engine)) != 0)
        dg_errf(err, sizeof err, "engine: cannot start: %s", dg_strerror(rc));
    if (!rc)
        rc = dg_admin_start_for(&d.rt, d.store, d.engine, &d.admin, err, sizeof err);
    if (rc) {
        dg_logf(DG_LOG_ERROR, "core", "startup_failed", "error", err, NULL);
        fprintf(stderr, "duegate: %s\n", err);
        d.exit_code = 1;
        d.shutting_down = 1;
        finalize(&d);
    } else {
        char n[32];
        snprintf(n, sizeof n, "%zu", d.cfg->n_instances);
        uv_signal_start(&d.sigint, on_signal, SIGINT);
        uv_signal_start(&d.sigterm, on_signal, SIGTERM);
        dg_logf(DG_LOG_INFO, "core", "ready", "instances", n, "config", d.cfg->path, NULL);
        /* what the last run acknowledged, then the new; webhook traffic first */
        dg_inbox_resume(d.rt.inbox);
        backfill_stores(&d);
    }
    uv_run(&d.loop, UV_RUN_DEFAULT);
    if (uv_loop_close(&d.loop) == UV_EBUSY) {
        dg_logf(DG_LOG_WARN, "core", "handles_left_open_at_exit", NULL);
        uv_walk(&d.loop, close_walk, NULL);
        uv_run(&d.loop, UV_RUN_DEFAULT);
        uv_loop_close(&d.loop);
    }
    if (!d.exit_code)
        dg_logf(DG_LOG_INFO, "core", "stopped", NULL);
    dg_loader_free(d.loader);
    dg_db_close(d.rt.db);
    dg_metrics_free(d.rt.metrics);
    dg_runtime_cleanup(&d.rt);
    dg_config_free(d.cfg);
    free(dbpath);
    return d.exit_code;
}
