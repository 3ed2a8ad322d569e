/* The SQLite database every durable piece of state lives in (WAL mode).
 * Each module owns its tables and applies its own numbered migrations with
 * dg_db_migrate; each migration runs in one transaction, once. */
#ifndef DG_CORE_DB_H
#define DG_CORE_DB_H

#include <stddef.h>
#include <stdint.h>
#include <sqlite3.h>

struct uv_loop_s;
struct dg__db_batch;
struct dg__db_waiter;
struct dg__db_stmt;
struct dg__db_ckpt;

/* Called once the write batch a writer joined is committed (status: the
 * writer's own status, DG_OK or DG_EEXIST) or failed (negative: nothing of
 * the batch is stored). */
typedef void (*dg_db_done_cb)(void *ud, int status);

typedef struct dg_db {
    sqlite3 *sql;
    char *path;
    /* group commit (see dg_db_join); private to db.c */
    struct uv_loop_s *loop;
    struct dg__db_batch *batch;
    struct dg__db_waiter *w;
    size_t n_w, cap_w;
    int open, joined, tx_mode;
    int relaxed;               /* opened with synchronous=NORMAL */
    int relax_depth;           /* inside dg_db_relax_begin/end */
    int strict;                /* the open batch has a writer that needs its fsync */
    uint64_t commits;          /* batch commits, for tests and benches */
    struct dg__db_stmt *stmts; /* dg_db_stmt's cache; private to db.c */
    size_t n_stmts, cap_stmts;
    struct dg__db_ckpt *ckpt; /* the background checkpointer; private to db.c */
} dg_db;

/* ":memory:" works for tests. synchronous=FULL unless `relaxed` (NORMAL).
 * A database in a file is checkpointed off the caller's thread: once a
 * commit leaves DG_DB_CKPT_FRAMES frames in the WAL, a thread of the
 * connection (its own SQLite connection, started on first use) runs a
 * PASSIVE checkpoint, with SQLite's syncs, while the caller goes on; should
 * the WAL still reach DG_DB_CKPT_FRAMES_MAX frames, the committing caller
 * checkpoints itself, as SQLite's autocheckpoint did. dg_db_close stops the
 * thread first. */
#define DG_DB_CKPT_FRAMES 1000
#define DG_DB_CKPT_FRAMES_MAX 10000
int dg_db_open(const char *path, int relaxed, dg_db **out, char *err, size_t err_len);
void dg_db_close(dg_db *db);
/* Wait until no background checkpoint is asked for or running; returns how
 * many have run (for tests and benches). */
uint64_t dg_db_checkpoint_wait(dg_db *db);

/* Apply migrations[i] (SQL, possibly several statements) for versions
 * 1..n of `component` that are not yet applied. */
int dg_db_migrate(dg_db *db, const char *component, const char *const *migrations, size_t n,
                  char *err, size_t err_len);

/* Run SQL with no result rows; returns 0 or DG_EIO with err set. */
int dg_db_exec(dg_db *db, const char *sql, char *err, size_t err_len);

/* A prepared statement for `sql`, cached on the connection (prepared once,
 * SQLITE_PREPARE_PERSISTENT; finalized by dg_db_close), with its bindings
 * cleared. `sql` must have static storage (a literal): the cache is keyed by
 * its address. The caller binds, steps, and must sqlite3_reset it when done (an
 * unreset statement holds its read transaction open). Not re-entrant for one
 * sql. NULL on error (sqlite3_errmsg says why). */
sqlite3_stmt *dg_db_stmt(dg_db *db, const char *sql);

/* Group commit. Without a loop (the default: unit tests, simulate) every
 * writer commits on its own, as before. With dg_db_set_loop, dg_db_join opens
 * (or joins) one write transaction for the current loop iteration; a zero
 * timer COMMITs it once on the next iteration and then calls the done
 * callbacks of the writers that joined (a failed COMMIT fails every one of
 * them: none may be acknowledged). Any transaction begun with dg_db_tx_begin
 * by a writer that has not joined first commits the open batch, so work that
 * acts outside the process (sends) never rests on unpersisted data.
 * dg_db_set_loop(db, NULL) commits what is open, runs the callbacks and
 * releases the timer (call it while the loop still runs). */
void dg_db_set_loop(dg_db *db, struct uv_loop_s *loop);
/* 0: joined (statements now run inside the batch); DG_ENOTSUP: no loop,
 * write synchronously; DG_EIO: the batch could not be opened. */
int dg_db_join(dg_db *db);
/* Leave after writing; `rc` is the writer's status. With rc >= 0 or
 * DG_EEXIST (the original may be in this very batch) and `done`,
 * returns DG_PENDING and `done` is called after the commit; otherwise
 * returns rc (or the status of an immediate commit when memory ran out). */
int dg_db_leave(dg_db *db, int rc, dg_db_done_cb done, void *ud);
/* Open the batch (or keep the open one) for reading only: statements run
 * inside it, without taking and dropping SQLite's file locks each, but the
 * caller is no writer: a transaction begun with dg_db_tx_begin still
 * commits the batch first and then commits on its own, and the batch's
 * strictness is left alone. A batch nobody wrote to commits free. 0, or
 * DG_ENOTSUP (no loop, or inside a dg_db_tx) / DG_EIO. */
int dg_db_batch_open(dg_db *db);
/* Commit the open batch now, with fsync (its callbacks still run from the
 * timer). */
int dg_db_flush(dg_db *db);

/* Writers that join between dg_db_relax_begin and dg_db_relax_end have
 * their durability elsewhere (the inbox journal replays them after a
 * crash): a batch that only they joined commits without fsync. Any other
 * writer, dg_db_require_sync, or a dg_db_flush makes the commit fsync,
 * which also makes every earlier commit durable. */
void dg_db_relax_begin(dg_db *db);
void dg_db_relax_end(dg_db *db);
void dg_db_require_sync(dg_db *db);

/* One transaction: a SAVEPOINT inside the batch when joined, else (after
 * committing any open batch) BEGIN IMMEDIATE ... COMMIT. Not nested. */
int dg_db_tx_begin(dg_db *db);
int dg_db_tx_commit(dg_db *db);
int dg_db_tx_rollback(dg_db *db);

#endif
