/* The conformance kit's report and static checks (core/conformance.c runs
 * the scenarios): one PASS/FAIL/SKIP line per check with detail lines under
 * it; the descriptor and config-schema checks; the instance configuration
 * the scenarios use (schema defaults and placeholders, or the caller's
 * instance section with its optional "$peer"). A dg_kit_run is owned by
 * dg_conformance_run; everything in it is freed there. */
#ifndef DG_CORE_KITCHECK_H
#define DG_CORE_KITCHECK_H

#include <stdio.h>

#include <cjson/cJSON.h>

#include "kithost.h"
#include "loader.h"

typedef struct dg_kit_run {
    FILE *out;
    int passed, failed, skipped;
    const dg_plugin *p;
    cJSON *conf;         /* resolved instance config */
    dg_kit_peer ok_peer; /* how a successful send is answered */
    char *ok_body;       /* owned copy for "$peer" */
    char *ok_ctype;
    char tmpdir[256]; /* for path-like placeholders; removed at the end */
    char *requests;   /* recorded requests of every scenario */
    size_t req_len;
    size_t n_requests;
    char *logs;
    size_t logs_len;
    int made_calls, smtp; /* what the first scenario showed */
} dg_kit_run;

/* Report lines: a check (counted as passed or failed), a skipped check, a
 * detail line under the last check. */
void dg_kit_check(dg_kit_run *r, int ok, const char *name, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
void dg_kit_skip(dg_kit_run *r, const char *name, const char *why);
void dg_kit_detail(dg_kit_run *r, const char *mark, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* printf into a growing buffer (*buf malloc'd; left as is on no memory). */
void dg_kit_append(char **buf, size_t *len, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* The descriptor (reserved fields, capability bits, description) and the
 * config schema (names, types, flags, defaults), as report lines. */
void dg_kit_check_descriptor(dg_kit_run *r);
void dg_kit_check_schema(dg_kit_run *r);
/* Fill r->conf (and r->ok_peer from "$peer"); file may be NULL. Returns 0,
 * or a negative code after a FAIL line. */
int dg_kit_build_config(dg_kit_run *r, const char *file);

#endif
