#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <duegate/types.h>

#include "db.h"
#include "error.h"

int dg_db_exec(dg_db *db, const char *sql, char *err, size_t len)
{
    char *msg = NULL;
    if (sqlite3_exec(db->sql, sql, NULL, NULL, &msg) != SQLITE_OK) {
        dg_errf(err, len, "%s: %s", db->path, msg ? msg : sqlite3_errmsg(db->sql));
        sqlite3_free(msg);
        return DG_EIO;
    }
    return 0;
}

int dg_db_open(const char *path, int relaxed, dg_db **out, char *err, size_t len)
{
    dg_db *db = calloc(1, sizeof *db);
    int rc;
    if (!db || !(db->path = strdup(path))) {
        free(db);
        return DG_ENOMEM;
    }
    if (sqlite3_open_v2(path, &db->sql, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL) !=
        SQLITE_OK) {
        dg_errf(err, len, "%s: cannot open database: %s", path,
                db->sql ? sqlite3_errmsg(db->sql) : "out of memory");
        dg_db_close(db);
        return DG_EIO;
    }
    sqlite3_busy_timeout(db->sql, 5000);
    rc = dg_db_exec(db, "PRAGMA journal_mode=WAL; PRAGMA foreign_keys=ON;", err, len);
    if (!rc)
        rc = dg_db_exec(db, relaxed ? "PRAGMA synchronous=NORMAL;" : "PRAGMA synchronous=FULL;",
                        err, len);
    if (!rc)
        rc = dg_db_exec(db,
                        "CREATE TABLE IF NOT EXISTS schema_migrations("
                        " component TEXT NOT NULL, version INTEGER NOT NULL,"
                        " applied_at INTEGER NOT NULL DEFAULT (strftime('%s','now')),"
                        " PRIMARY KEY(component, version));",
                        err, len);
    if (rc) {
        dg_db_close(db);
        return rc;
    }
    *out = db;
    return 0;
}

void dg_db_close(dg_db *db)
{
    if (!db)
        return;
    if (db->sql)
        sqlite3_close_v2(db->sql);
    free(db->path);
    free(db);
}

int dg_db_migrate(dg_db *db, const char *component, const char *const *migrations, size_t n,
                  char *err, size_t len)
{
    sqlite3_stmt *st = NULL;
    int current = 0;
    if (sqlite3_prepare_v2(db->sql,
                           "SELECT COALESCE(MAX(version),0) FROM schema_migrations"
                           " WHERE component=?",
                           -1, &st, NULL) != SQLITE_OK) {
        dg_errf(err, len, "%s: %s", db->path, sqlite3_errmsg(db->sql));
        return DG_EIO;
    }
    sqlite3_bind_text(st, 1, component, -1, SQLITE_STATIC);
    if (sqlite3_step(st) == SQLITE_ROW)
        current = sqlite3_column_int(st, 0);
    sqlite3_finalize(st);
    if ((size_t)current > n) {
        dg_errf(err, len,
                "%s: %s schema is at version %d, newer than this duegate knows (%zu)",
                db->path, component, current, n);
        return DG_EIO;
    }
    for (size_t v = (size_t)current + 1; v <= n; v++) {
        char rec[256];
        int rc = dg_db_exec(db, "BEGIN IMMEDIATE", err, len);
        if (!rc)
            rc = dg_db_exec(db, migrations[v - 1], err, len);
        if (!rc) {
            char *q = sqlite3_mprintf(
                "INSERT INTO schema_migrations(component, version) VALUES(%Q, %d)", component,
                (int)v);
            rc = q ? dg_db_exec(db, q, err, len) : DG_ENOMEM;
            sqlite3_free(q);
        }
        if (!rc)
            rc = dg_db_exec(db, "COMMIT", err, len);
        if (rc) {
            snprintf(rec, sizeof rec, "%s", err);
            sqlite3_exec(db->sql, "ROLLBACK", NULL, NULL, NULL);
            dg_errf(err, len, "migration %s/%zu failed: %s", component, v, rec);
            return rc;
        }
    }
    return 0;
}
