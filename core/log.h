/* Structured logging: one event per line,
 *   2026-11-23T21:47:12.123Z info component event key=value key="two words"
 * Values flagged DG_KV_PHONE / DG_KV_EMAIL are masked, DG_KV_SECRET never
 * printed, DG_KV_TEXT reduced to its length. Timestamps are wall-clock UTC.
 * Single-threaded: call from the loop thread. */
#ifndef DG_CORE_LOG_H
#define DG_CORE_LOG_H

#include <stdio.h>

#include <duegate/host.h>

/* Set the threshold (default DG_LOG_INFO) and the stream (default stderr). */
void dg_log_set_level(dg_log_level level);
dg_log_level dg_log_get_level(void);
void dg_log_set_stream(FILE *stream);
/* Parse "error|warn|info|debug"; returns 0 or DG_EINVAL. */
int dg_log_parse_level(const char *s, dg_log_level *out);
const char *dg_log_level_name(dg_log_level level);

/* Log one event. `component` is e.g. "core", "loader", or an instance name. */
void dg_log(dg_log_level level, const char *component, const char *event, const dg_kv *kv,
            size_t n_kv);
/* Convenience: key/value pairs as a NULL-terminated list of plain strings. */
void dg_logf(dg_log_level level, const char *component, const char *event, ...);

/* Masking used by the logger, exposed for tests and the admin API.
 * Write into out (always NUL-terminated). */
void dg_mask_phone(const char *phone, char *out, size_t len);
void dg_mask_email(const char *email, char *out, size_t len);

#endif
