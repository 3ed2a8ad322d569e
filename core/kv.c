#include <stdlib.h>
#include <string.h>

#include <duegate/types.h>

#include "kv.h"

static const char *const kv_migrations[] = {
    "CREATE TABLE plugin_state("
    " ns TEXT NOT NULL, key TEXT NOT NULL, value BLOB NOT NULL,"
    " expires_at INTEGER NOT NULL DEFAULT 0,"
    " PRIMARY KEY(ns, key)) WITHOUT ROWID;"};

int dg_kv_init(dg_db *db, char *err, size_t len)
{
    return dg_db_migrate(db, "kv", kv_migrations, 1, err, len);
}

/* Statements are prepared once per connection (dg_db_stmt). */
static const char q_get[] = "SELECT value, expires_at FROM plugin_state WHERE ns=? AND key=?";
static const char q_put[] = "INSERT INTO plugin_state(ns, key, value, expires_at) VALUES(?,?,?,?)"
                            " ON CONFLICT(ns, key) DO UPDATE SET value=excluded.value,"
                            " expires_at=excluded.expires_at";
static const char q_del[] = "DELETE FROM plugin_state WHERE ns=? AND key=?";

int dg_kv_get(dg_db *db, const char *ns, const char *key, int64_t now, char **value, size_t *len)
{
    sqlite3_stmt *st = dg_db_stmt(db, q_get);
    int rc = DG_ENOTFOUND, expired = 0;
    if (!st)
        return DG_EIO;
    sqlite3_bind_text(st, 1, ns, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, key, -1, SQLITE_STATIC);
    if (sqlite3_step(st) == SQLITE_ROW) {
        int64_t exp = sqlite3_column_int64(st, 1);
        expired = !(exp == 0 || exp > now);
        if (!expired) {
            int n = sqlite3_column_bytes(st, 0);
            const void *b = sqlite3_column_blob(st, 0);
            char *v = malloc((size_t)n + 1);
            if (!v) {
                rc = DG_ENOMEM;
            } else {
                if (n)
                    memcpy(v, b, (size_t)n);
                v[n] = '\0';
                *value = v;
                if (len)
                    *len = (size_t)n;
                rc = 0;
            }
        }
    }
    sqlite3_reset(st);
    if (expired) /* purge the expired row */
        dg_kv_del(db, ns, key);
    return rc;
}

int dg_kv_put(dg_db *db, const char *ns, const char *key, const void *value, size_t len,
              int64_t now, int64_t ttl_ms)
{
    sqlite3_stmt *st = dg_db_stmt(db, q_put);
    int rc;
    if (!st)
        return DG_EIO;
    sqlite3_bind_text(st, 1, ns, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, key, -1, SQLITE_STATIC);
    sqlite3_bind_blob(st, 3, len ? value : "", (int)len, SQLITE_STATIC);
    sqlite3_bind_int64(st, 4, ttl_ms > 0 ? now + ttl_ms : 0);
    rc = sqlite3_step(st) == SQLITE_DONE ? 0 : DG_EIO;
    sqlite3_reset(st);
    return rc;
}

int dg_kv_del(dg_db *db, const char *ns, const char *key)
{
    sqlite3_stmt *st = dg_db_stmt(db, q_del);
    int rc;
    if (!st)
        return DG_EIO;
    sqlite3_bind_text(st, 1, ns, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, key, -1, SQLITE_STATIC);
    rc = sqlite3_step(st) == SQLITE_DONE ? 0 : DG_EIO;
    sqlite3_reset(st);
    return rc;
}
