/* In-process metrics registry rendered in the Prometheus text format.
 * A series is a name plus a label set; its type (counter, gauge,
 * histogram) is fixed by its first use. Loop thread only. */
#ifndef DG_CORE_METRICS_H
#define DG_CORE_METRICS_H

#include <stddef.h>

#include <duegate/types.h>

typedef struct dg_metrics dg_metrics;

dg_metrics *dg_metrics_new(void);
void dg_metrics_free(dg_metrics *m);

/* Return 0, or DG_EINVAL for a bad name or a type clash, DG_ENOMEM. */
int dg_metrics_add(dg_metrics *m, const char *name, const dg_kv *labels, size_t n, double delta);
int dg_metrics_set(dg_metrics *m, const char *name, const dg_kv *labels, size_t n, double value);
/* Histogram with buckets suited to latencies in seconds (1 ms .. 30 s). */
int dg_metrics_observe(dg_metrics *m, const char *name, const dg_kv *labels, size_t n,
                       double value);
/* Current value of a counter/gauge (histogram: count); 0 if absent. */
double dg_metrics_get(dg_metrics *m, const char *name, const dg_kv *labels, size_t n);

/* The HELP text of a family (first call wins; text without newlines or
 * backslashes). Families without one get their name as HELP. */
int dg_metrics_help(dg_metrics *m, const char *name, const char *text);

/* Render every series; *out is malloc'd (caller frees). */
int dg_metrics_render(dg_metrics *m, char **out, size_t *len);

#endif
