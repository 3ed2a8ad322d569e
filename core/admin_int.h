/* Internal to the admin modules (admin.c, admin_cases.c). */
#ifndef DG_CORE_ADMIN_INT_H
#define DG_CORE_ADMIN_INT_H

#include <cjson/cJSON.h>

#include "admin.h"
#include "http_server.h"

struct dg_admin {
    dg_runtime *rt;
    dg_store *st;
    dg_engine *eng;
    dg_http_server *srv;
    char *token, *label, *console;
    unsigned char key[32], mac[32]; /* HMAC of the token under a random key */
};

/* A case as the tracking table shows it, with its last touch. */
typedef struct dga_row {
    dg_case c;
    char stage[32], channel[48], kind[12];
    int64_t last_touch_status, n_touches;
    int fetched; /* last touch read (only for the rows shown or filtered on) */
} dga_row;

typedef struct dga_rows {
    dga_row *v;
    size_t n, cap;
    int64_t total; /* rows matching before pagination */
} dga_rows;

/* Filters and sort of GET /api/cases (and the CSV). 0 or 400 with detail. */
int dga_list(dg_admin *a, const char *query, int paginate, dga_rows *out, int64_t *offset,
             int64_t *limit, char *detail, size_t len);
void dga_rows_free(dga_rows *r);
cJSON *dga_row_json(const dga_row *r);
/* The whole case with its timeline; DG_ENOTFOUND. */
int dga_case_json(dg_admin *a, int64_t id, cJSON **out);
/* The tracking table as RFC 4180 CSV (malloc'd). */
char *dga_csv(const dga_rows *r, size_t *len);
/* Cases by status and recovered amount by stage/channel/currency. */
cJSON *dga_summary(dg_admin *a);
/* Same numbers into the metrics registry (gauges). */
void dga_summary_metrics(dg_admin *a);

void dga_iso(int64_t ms, char *out, size_t len); /* "" for 0 */

#endif
