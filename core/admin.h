/* The admin side of the daemon: a JSON API, Prometheus metrics, health
 * checks and the operator console, on their own HTTP listener
 * (daemon.admin_listen, default 127.0.0.1:8081). docs/admin.md lists every
 * route.
 *
 * Promises:
 *  - every /api/... and /metrics request needs `Authorization: Bearer <token>`
 *    (compared in constant time), else 401 JSON; /healthz, /readyz and the
 *    console's static files (no data in them) are open;
 *  - no CORS headers: browsers only reach it from the console's own origin;
 *  - operator actions go through the engine (dg_engine_*), which records who
 *    and when; who = the X-Duegate-Operator header (sanitised, 64 bytes) or
 *    the token's label;
 *  - errors: 400 bad input, 404 no such case, 409 not allowed in the case's
 *    state, 503 store failure; each {"error": ..., "detail": ...}.
 *
 * Ownership: rt, store and engine are borrowed and must outlive the admin
 * server; token, label and console_dir are copied. Loop thread only.
 * dg_admin_free closes the listener and connections (run the loop after). */
#ifndef DG_CORE_ADMIN_H
#define DG_CORE_ADMIN_H

#include <stdio.h>

#include "engine.h"
#include "runtime.h"
#include "store.h"

typedef struct dg_admin dg_admin;

typedef struct dg_admin_opts {
    dg_runtime *rt;
    dg_store *store;
    dg_engine *engine;
    const char *token;       /* required, non-empty */
    const char *token_label; /* who when no operator header; NULL: "admin" */
    const char *console_dir; /* static files; NULL: the installed console */
} dg_admin_opts;

int dg_admin_new(const dg_admin_opts *o, dg_admin **out, char *err, size_t err_len);
/* Listen on "host:port" (port 0: a free one). */
int dg_admin_listen(dg_admin *a, const char *hostport, char *err, size_t err_len);
int dg_admin_port(const dg_admin *a);
void dg_admin_free(dg_admin *a);

/* The daemon's start: with daemon.admin_token set and daemon.admin_listen
 * non-empty, create and listen (*out set); without a token the admin API
 * stays off (*out NULL, a warning logged) so a daemon never serves its
 * cases unauthenticated. */
int dg_admin_start_for(dg_runtime *rt, dg_store *st, dg_engine *eng, dg_admin **out, char *err,
                       size_t err_len);

/* The directory of the installed console (DG_CONSOLEDIR, or
 * $DUEGATE_CONSOLE_DIR when set). */
const char *dg_admin_console_dir(void);

/* `duegate cases [--status S] [--url U] [--token T]` and `duegate case ID`
 * (core/cmd_cases.c): read the admin API and print. */
int dg_cmd_cases(int argc, char **argv, FILE *out);
int dg_cmd_case(int argc, char **argv, FILE *out);

#endif
