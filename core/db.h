/* The SQLite database every durable piece of state lives in (WAL mode).
 * Each module owns its tables and applies its own numbered migrations with
 * dg_db_migrate; each migration runs in one transaction, once. */
#ifndef DG_CORE_DB_H
#define DG_CORE_DB_H

#include <stddef.h>
#include <sqlite3.h>

typedef struct dg_db {
    sqlite3 *sql;
    char *path;
} dg_db;

/* ":memory:" works for tests. synchronous=FULL unless `relaxed` (NORMAL). */
int dg_db_open(const char *path, int relaxed, dg_db **out, char *err, size_t err_len);
void dg_db_close(dg_db *db);

/* Apply migrations[i] (SQL, possibly several statements) for versions
 * 1..n of `component` that are not yet applied. */
int dg_db_migrate(dg_db *db, const char *component, const char *const *migrations, size_t n,
                  char *err, size_t err_len);

/* Run SQL with no result rows; returns 0 or DG_EIO with err set. */
int dg_db_exec(dg_db *db, const char *sql, char *err, size_t err_len);

#endif
