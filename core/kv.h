/* The small per-instance key/value store plugins get through the host
 * (host->state_get/put/del), kept in the SQLite database. Expired entries
 * read as absent and are purged lazily. */
#ifndef DG_CORE_KV_H
#define DG_CORE_KV_H

#include <stddef.h>
#include <stdint.h>

#include "db.h"

int dg_kv_init(dg_db *db, char *err, size_t err_len); /* applies migrations */
/* *value is malloc'd and NUL-terminated (caller frees); DG_ENOTFOUND if absent. */
int dg_kv_get(dg_db *db, const char *ns, const char *key, int64_t now_ms, char **value,
              size_t *len);
/* ttl_ms <= 0: no expiry. */
int dg_kv_put(dg_db *db, const char *ns, const char *key, const void *value, size_t len,
              int64_t now_ms, int64_t ttl_ms);
int dg_kv_del(dg_db *db, const char *ns, const char *key);

#endif
