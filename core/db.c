#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <uv.h>

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

/* ------------------------------------------------ background checkpoints */

struct dg__db_ckpt {
    uv_thread_t th;
    uv_mutex_t mu;
    uv_cond_t cv;   /* a request or quit, for the thread */
    uv_cond_t idle; /* the thread finished one, for dg_db_checkpoint_wait */
    int started, want, busy, quit;
    uint64_t runs;
    char *path;
};

static void ckpt_main(void *arg)
{
    struct dg__db_ckpt *k = arg;
    sqlite3 *sql = NULL;
    uv_mutex_lock(&k->mu);
    for (;;) {
        while (!k->want && !k->quit)
            uv_cond_wait(&k->cv, &k->mu);
        if (k->quit)
            break;
        k->want = 0;
        k->busy = 1;
        uv_mutex_unlock(&k->mu);
        /* Its own connection, on this thread only. A checkpoint syncs the
         * WAL before it copies pages into the database and the database
         * before the WAL may restart (synchronous FULL). A failed or busy
         * one leaves the WAL as it is: the next request tries again. */
        if (!sql && sqlite3_open_v2(k->path, &sql, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX,
                                    NULL) == SQLITE_OK) {
            sqlite3_busy_timeout(sql, 5000);
            sqlite3_exec(sql, "PRAGMA synchronous=FULL", NULL, NULL, NULL);
        }
        if (sql)
            sqlite3_wal_checkpoint_v2(sql, NULL, SQLITE_CHECKPOINT_PASSIVE, NULL, NULL);
        uv_mutex_lock(&k->mu);
        k->busy = 0;
        k->runs++;
        uv_cond_broadcast(&k->idle);
    }
    uv_mutex_unlock(&k->mu);
    if (sql)
        sqlite3_close_v2(sql);
}

/* 0: the thread will checkpoint; -1: it cannot (no thread). */
static int ckpt_request(struct dg__db_ckpt *k)
{
    int rc = 0;
    uv_mutex_lock(&k->mu);
    if (!k->started && !k->quit) {
        if (uv_thread_create(&k->th, ckpt_main, k) == 0)
            k->started = 1;
    }
    if (k->started) {
        k->want = 1;
        uv_cond_signal(&k->cv);
    } else {
        rc = -1;
    }
    uv_mutex_unlock(&k->mu);
    return rc;
}

/* sqlite3_wal_hook: after each commit, with the WAL's size in frames. */
static int wal_hook(void *ud, sqlite3 *sql, const char *name, int frames)
{
    dg_db *db = ud;
    if (frames < DG_DB_CKPT_FRAMES)
        return SQLITE_OK;
    if (frames >= DG_DB_CKPT_FRAMES_MAX || !db->ckpt || ckpt_request(db->ckpt) != 0)
        sqlite3_wal_checkpoint_v2(sql, name, SQLITE_CHECKPOINT_PASSIVE, NULL, NULL);
    return SQLITE_OK;
}

static void ckpt_free(struct dg__db_ckpt *k)
{
    if (!k)
        return;
    uv_mutex_lock(&k->mu);
    k->quit = 1;
    uv_cond_signal(&k->cv);
    uv_mutex_unlock(&k->mu);
    if (k->started)
        uv_thread_join(&k->th);
    uv_cond_destroy(&k->idle);
    uv_cond_destroy(&k->cv);
    uv_mutex_destroy(&k->mu);
    free(k->path);
    free(k);
}

static struct dg__db_ckpt *ckpt_new(const char *path)
{
    struct dg__db_ckpt *k = calloc(1, sizeof *k);
    if (!k || !(k->path = strdup(path))) {
        free(k);
        return NULL;
    }
    if (uv_mutex_init(&k->mu) != 0) {
        free(k->path);
        free(k);
        return NULL;
    }
    if (uv_cond_init(&k->cv) != 0) {
        uv_mutex_destroy(&k->mu);
        free(k->path);
        free(k);
        return NULL;
    }
    if (uv_cond_init(&k->idle) != 0) {
        uv_cond_destroy(&k->cv);
        uv_mutex_destroy(&k->mu);
        free(k->path);
        free(k);
        return NULL;
    }
    return k;
}

uint64_t dg_db_checkpoint_wait(dg_db *db)
{
    struct dg__db_ckpt *k = db ? db->ckpt : NULL;
    uint64_t n;
    if (!k)
        return 0;
    uv_mutex_lock(&k->mu);
    while (k->started && (k->want || k->busy))
        uv_cond_wait(&k->idle, &k->mu);
    n = k->runs;
    uv_mutex_unlock(&k->mu);
    return n;
}

int dg_db_open(const char *path, int relaxed, dg_db **out, char *err, size_t len)
{
    static int configured;
    dg_db *db = calloc(1, sizeof *db);
    int rc;
    if (!configured) {
        /* No memory statistics (nothing reads them): without them SQLite's
         * every malloc and free takes no global mutex. Only possible before
         * SQLite initializes; refused (and harmless) after. */
        configured = 1;
        sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
    }
    if (!db || !(db->path = strdup(path))) {
        free(db);
        return DG_ENOMEM;
    }
    /* NOMUTEX: a connection is only ever used by the loop's thread (the
     * inbox writer thread does no SQLite), so its mutex is pure cost. */
    if (sqlite3_open_v2(path, &db->sql,
                        SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
                        NULL) != SQLITE_OK) {
        dg_errf(err, len, "%s: cannot open database: %s", path,
                db->sql ? sqlite3_errmsg(db->sql) : "out of memory");
        dg_db_close(db);
        return DG_EIO;
    }
    sqlite3_busy_timeout(db->sql, 5000);
    db->relaxed = relaxed;
    /* temp_store=MEMORY: the sub-journal of a SAVEPOINT inside the write
     * batch (every engine transaction that joins it) stays in memory; as a
     * temp file it was created, written page by page and unlinked again
     * once it outgrew 64 KiB. It only serves ROLLBACK TO; durability is the
     * WAL's. */
    rc = dg_db_exec(db, "PRAGMA journal_mode=WAL; PRAGMA foreign_keys=ON;"
                        " PRAGMA temp_store=MEMORY;", err, len);
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
    if (!rc && strcmp(path, ":memory:") != 0 && path[0]) {
        /* checkpoints off this thread (see db.h); this replaces SQLite's
         * autocheckpoint hook. Without the thread: SQLite's own. */
        if ((db->ckpt = ckpt_new(path)) != NULL)
            sqlite3_wal_hook(db->sql, wal_hook, db);
    }
    if (rc) {
        dg_db_close(db);
        return rc;
    }
    *out = db;
    return 0;
}

struct dg__db_stmt {
    const char *key; /* the caller's sql (a literal: compared by address first) */
    sqlite3_stmt *st;
};

sqlite3_stmt *dg_db_stmt(dg_db *db, const char *sql)
{
    sqlite3_stmt *st = NULL;
    for (size_t i = 0; i < db->n_stmts; i++)
        if (db->stmts[i].key == sql) {
            sqlite3_clear_bindings(db->stmts[i].st);
            return db->stmts[i].st;
        }
    if (db->n_stmts == db->cap_stmts) {
        size_t cap = db->cap_stmts ? db->cap_stmts * 2 : 8;
        struct dg__db_stmt *n = realloc(db->stmts, cap * sizeof *n);
        if (!n)
            return NULL;
        db->stmts = n;
        db->cap_stmts = cap;
    }
    if (sqlite3_prepare_v3(db->sql, sql, -1, SQLITE_PREPARE_PERSISTENT, &st, NULL) != SQLITE_OK)
        return NULL;
    db->stmts[db->n_stmts].key = sql;
    db->stmts[db->n_stmts++].st = st;
    return st;
}

void dg_db_close(dg_db *db)
{
    if (!db)
        return;
    dg_db_set_loop(db, NULL); /* normally done already, while the loop ran */
    dg_db_flush(db);
    ckpt_free(db->ckpt); /* before the last connection closes (and checkpoints) */
    db->ckpt = NULL;
    for (size_t i = 0; i < db->n_stmts; i++)
        sqlite3_finalize(db->stmts[i].st);
    free(db->stmts);
    free(db->w);
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
    dg_db_flush(db);
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

/* ------------------------------------------------------------ group commit */

struct dg__db_waiter {
    dg_db_done_cb cb;
    void *ud;
    int status; /* DG_PENDING while its batch is open */
    int ok;     /* the writer's status, reported when the batch commits */
};

struct dg__db_batch {
    uv_timer_t t;
    dg_db *db; /* NULL once detached (the handle is closing) */
    int armed;
};

static void batch_closed(uv_handle_t *h)
{
    free(h->data);
}

static int raw(dg_db *db, const char *sql)
{
    return sqlite3_exec(db->sql, sql, NULL, NULL, NULL) == SQLITE_OK ? 0 : DG_EIO;
}

void dg_db_relax_begin(dg_db *db)
{
    if (db)
        db->relax_depth++;
}

void dg_db_relax_end(dg_db *db)
{
    if (db && db->relax_depth > 0)
        db->relax_depth--;
}

void dg_db_require_sync(dg_db *db)
{
    if (db)
        db->strict = 1;
}

/* COMMIT the batch; without fsync when allowed and nobody needs it. */
static int commit_batch(dg_db *db, int may_relax)
{
    int rc;
    if (!db || !db->open)
        return 0;
    db->open = 0;
    if (may_relax && !db->strict && !db->relaxed) {
        raw(db, "PRAGMA synchronous=NORMAL");
        rc = raw(db, "COMMIT");
        raw(db, "PRAGMA synchronous=FULL");
    } else {
        rc = raw(db, "COMMIT");
    }
    db->strict = 0;
    if (rc)
        sqlite3_exec(db->sql, "ROLLBACK", NULL, NULL, NULL);
    else
        db->commits++;
    for (size_t i = 0; i < db->n_w; i++)
        if (db->w[i].status == DG_PENDING)
            db->w[i].status = rc ? rc : db->w[i].ok;
    return rc;
}

int dg_db_flush(dg_db *db)
{
    return commit_batch(db, 0);
}

static void run_waiters(dg_db *db)
{
    while (db->n_w) { /* callbacks may join a new batch */
        struct dg__db_waiter *w = db->w;
        size_t n = db->n_w, i;
        for (i = 0; i < n && w[i].status != DG_PENDING; i++)
            ;
        if (i < n)
            return; /* a batch is open again: the timer runs them */
        db->w = NULL;
        db->n_w = db->cap_w = 0;
        for (i = 0; i < n; i++)
            w[i].cb(w[i].ud, w[i].status);
        free(w);
    }
}

static void batch_fire(uv_timer_t *t)
{
    struct dg__db_batch *b = t->data;
    b->armed = 0;
    if (!b->db)
        return;
    commit_batch(b->db, 1);
    run_waiters(b->db);
}

static void batch_arm(dg_db *db)
{
    if (db->batch && !db->batch->armed && uv_timer_start(&db->batch->t, batch_fire, 0, 0) == 0)
        db->batch->armed = 1;
}

void dg_db_set_loop(dg_db *db, struct uv_loop_s *loop)
{
    if (!db)
        return;
    if (db->batch) {
        dg_db_flush(db);
        run_waiters(db);
        db->batch->db = NULL;
        uv_close((uv_handle_t *)&db->batch->t, batch_closed);
        db->batch = NULL;
    }
    db->loop = NULL;
    if (!loop || !(db->batch = calloc(1, sizeof *db->batch)))
        return;
    uv_timer_init(loop, &db->batch->t);
    db->batch->t.data = db->batch;
    db->batch->db = db;
    db->loop = loop;
}

int dg_db_join(dg_db *db)
{
    int rc = dg_db_batch_open(db);
    if (rc)
        return rc;
    db->joined++;
    if (!db->relax_depth)
        db->strict = 1;
    return 0;
}

int dg_db_batch_open(dg_db *db)
{
    if (!db || !db->loop || !db->batch || db->tx_mode)
        return DG_ENOTSUP;
    if (!db->open) {
        if (raw(db, "BEGIN IMMEDIATE"))
            return DG_EIO;
        db->open = 1;
    }
    batch_arm(db);
    return 0;
}

int dg_db_leave(dg_db *db, int rc, dg_db_done_cb done, void *ud)
{
    if (db->joined > 0)
        db->joined--;
    if ((rc < 0 && rc != DG_EEXIST) || !done) /* a duplicate waits too: its */
        return rc;                            /* original may be in this batch */
    if (db->n_w == db->cap_w) {
        size_t cap = db->cap_w ? db->cap_w * 2 : 16;
        struct dg__db_waiter *w = realloc(db->w, cap * sizeof *w);
        if (!w) { /* cannot wait: commit now and answer at once */
            int frc = dg_db_flush(db);
            return frc ? frc : rc;
        }
        db->w = w;
        db->cap_w = cap;
    }
    db->w[db->n_w].cb = done;
    db->w[db->n_w].ud = ud;
    db->w[db->n_w].ok = rc;
    db->w[db->n_w].status = DG_PENDING;
    db->n_w++;
    if (!db->open) /* a transaction of the writer committed the batch */
        db->w[db->n_w - 1].status = rc;
    batch_arm(db);
    return DG_PENDING;
}

int dg_db_tx_begin(dg_db *db)
{
    int rc;
    if (db->joined && db->open) {
        if ((rc = raw(db, "SAVEPOINT dg_tx")) == 0)
            db->tx_mode = 1;
        return rc;
    }
    dg_db_flush(db); /* the batch's writers learn its outcome; ours is separate */
    if ((rc = raw(db, "BEGIN IMMEDIATE")) == 0)
        db->tx_mode = 2;
    return rc;
}

int dg_db_tx_commit(dg_db *db)
{
    int mode = db->tx_mode;
    db->tx_mode = 0;
    return raw(db, mode == 1 ? "RELEASE dg_tx" : "COMMIT");
}

int dg_db_tx_rollback(dg_db *db)
{
    int mode = db->tx_mode;
    db->tx_mode = 0;
    return raw(db, mode == 1 ? "ROLLBACK TO dg_tx; RELEASE dg_tx" : "ROLLBACK");
}
