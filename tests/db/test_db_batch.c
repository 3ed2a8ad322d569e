/* Group commit (core/db.c): writers of one loop iteration share one COMMIT,
 * their callbacks run only after it, a failed COMMIT fails all of them and
 * stores nothing, a writer's own transaction is a savepoint inside the batch,
 * and a transaction of a non-writer commits the open batch first. */
#include "../unit/cm.h"

#include <stdio.h>
#include <string.h>
#include <uv.h>

#include <duegate/types.h>

#include "db.h"

typedef struct {
    int calls, status;
} seen;

static void on_done(void *ud, int status)
{
    seen *s = ud;
    s->calls++;
    s->status = status;
}

static dg_db *open_db(void)
{
    dg_db *db;
    char err[256];
    assert_int_equal(dg_db_open(":memory:", 0, &db, err, sizeof err), 0);
    assert_int_equal(dg_db_exec(db,
                                "CREATE TABLE p(id INTEGER PRIMARY KEY);"
                                "CREATE TABLE t(v TEXT NOT NULL, p INTEGER"
                                " REFERENCES p(id) DEFERRABLE INITIALLY DEFERRED);",
                                err, sizeof err),
                     0);
    return db;
}

static int count(dg_db *db, const char *where)
{
    sqlite3_stmt *st;
    char sql[128];
    int n = -1;
    snprintf(sql, sizeof sql, "SELECT count(*) FROM t WHERE %s", where);
    assert_int_equal(sqlite3_prepare_v2(db->sql, sql, -1, &st, NULL), SQLITE_OK);
    if (sqlite3_step(st) == SQLITE_ROW)
        n = sqlite3_column_int(st, 0);
    sqlite3_finalize(st);
    return n;
}

static int put(dg_db *db, const char *sql)
{
    char err[256];
    return dg_db_exec(db, sql, err, sizeof err);
}

static void finish(uv_loop_t *loop, dg_db *db)
{
    dg_db_set_loop(db, NULL);
    uv_run(loop, UV_RUN_DEFAULT); /* the timer handle closes */
    assert_int_equal(uv_loop_close(loop), 0);
    dg_db_close(db);
}

static void no_loop_is_synchronous(void **state)
{
    (void)state;
    dg_db *db = open_db();
    assert_int_equal(dg_db_join(db), DG_ENOTSUP);
    assert_int_equal(dg_db_tx_begin(db), 0);
    assert_int_equal(put(db, "INSERT INTO t(v) VALUES('a')"), 0);
    assert_int_equal(dg_db_tx_commit(db), 0);
    assert_int_equal(sqlite3_get_autocommit(db->sql), 1); /* committed */
    assert_int_equal(count(db, "v='a'"), 1);
    dg_db_close(db);
}

static void one_commit_per_iteration(void **state)
{
    (void)state;
    uv_loop_t loop;
    seen a = {0, 0}, b = {0, 0};
    dg_db *db = open_db();
    uv_loop_init(&loop);
    dg_db_set_loop(db, &loop);

    assert_int_equal(dg_db_join(db), 0);
    assert_int_equal(put(db, "INSERT INTO t(v) VALUES('a')"), 0);
    assert_int_equal(dg_db_leave(db, DG_OK, on_done, &a), DG_PENDING);
    assert_int_equal(dg_db_join(db), 0);
    /* a writer's transaction is a savepoint: its rollback keeps the rest */
    assert_int_equal(dg_db_tx_begin(db), 0);
    assert_int_equal(put(db, "INSERT INTO t(v) VALUES('undone')"), 0);
    assert_int_equal(dg_db_tx_rollback(db), 0);
    assert_int_equal(dg_db_tx_begin(db), 0);
    assert_int_equal(put(db, "INSERT INTO t(v) VALUES('b')"), 0);
    assert_int_equal(dg_db_tx_commit(db), 0);
    assert_int_equal(dg_db_leave(db, DG_EEXIST, on_done, &b), DG_PENDING);

    /* read-your-writes inside the open batch; nothing committed, nobody told */
    assert_int_equal(count(db, "v IN ('a','b')"), 2);
    assert_int_equal(sqlite3_get_autocommit(db->sql), 0);
    assert_int_equal(a.calls + b.calls, 0);
    assert_int_equal(db->commits, 0);

    uv_run(&loop, UV_RUN_NOWAIT);
    assert_int_equal(db->commits, 1);
    assert_int_equal(sqlite3_get_autocommit(db->sql), 1);
    assert_int_equal(a.calls, 1);
    assert_int_equal(a.status, DG_OK);
    assert_int_equal(b.calls, 1);
    assert_int_equal(b.status, DG_EEXIST); /* each writer's own status */
    assert_int_equal(count(db, "v='undone'"), 0);
    assert_int_equal(count(db, "v IN ('a','b')"), 2);

    /* a writer that failed is answered at once and waits for nothing */
    assert_int_equal(dg_db_join(db), 0);
    assert_int_equal(dg_db_leave(db, DG_EIO, on_done, &a), DG_EIO);
    assert_int_equal(a.calls, 1);
    finish(&loop, db);
}

/* A batch opened for reading: reads run inside it, a batch nobody wrote to
 * commits free, and a transaction of a non-writer still commits the batch
 * (with what a writer joined meanwhile) and then its own. */
static void batch_open_for_reading(void **state)
{
    (void)state;
    uv_loop_t loop;
    seen a = {0, 0};
    dg_db *db = open_db();
    uv_loop_init(&loop);
    dg_db_set_loop(db, &loop);

    assert_int_equal(dg_db_batch_open(db), 0);
    assert_int_equal(sqlite3_get_autocommit(db->sql), 0);
    assert_int_equal(count(db, "1"), 0);
    uv_run(&loop, UV_RUN_NOWAIT);
    assert_int_equal(sqlite3_get_autocommit(db->sql), 1);
    assert_int_equal(db->commits, 1);

    assert_int_equal(dg_db_batch_open(db), 0);
    assert_int_equal(dg_db_join(db), 0); /* a writer joins the reader's batch */
    assert_int_equal(put(db, "INSERT INTO t(v) VALUES('w')"), 0);
    assert_int_equal(dg_db_leave(db, DG_OK, on_done, &a), DG_PENDING);
    assert_int_equal(dg_db_batch_open(db), 0);
    assert_int_equal(dg_db_tx_begin(db), 0); /* not joined: commits the batch first */
    assert_int_equal(db->commits, 2);
    assert_int_equal(put(db, "INSERT INTO t(v) VALUES('own')"), 0);
    assert_int_equal(dg_db_tx_commit(db), 0);
    assert_int_equal(sqlite3_get_autocommit(db->sql), 1); /* its own, committed */
    assert_int_equal(count(db, "v IN ('w','own')"), 2);
    uv_run(&loop, UV_RUN_NOWAIT);
    assert_int_equal(a.calls, 1);
    assert_int_equal(a.status, DG_OK);

    assert_int_equal(dg_db_tx_begin(db), 0);
    assert_int_equal(dg_db_batch_open(db), DG_ENOTSUP); /* inside a transaction */
    assert_int_equal(dg_db_tx_rollback(db), 0);
    finish(&loop, db);
}

static void failed_commit_fails_every_writer(void **state)
{
    (void)state;
    uv_loop_t loop;
    seen a = {0, 0}, b = {0, 0};
    dg_db *db = open_db();
    uv_loop_init(&loop);
    dg_db_set_loop(db, &loop);

    assert_int_equal(dg_db_join(db), 0);
    assert_int_equal(put(db, "INSERT INTO t(v) VALUES('good')"), 0);
    assert_int_equal(dg_db_leave(db, DG_OK, on_done, &a), DG_PENDING);
    assert_int_equal(dg_db_join(db), 0); /* deferred FK: COMMIT will fail */
    assert_int_equal(put(db, "INSERT INTO t(v, p) VALUES('orphan', 42)"), 0);
    assert_int_equal(dg_db_leave(db, DG_OK, on_done, &b), DG_PENDING);

    uv_run(&loop, UV_RUN_NOWAIT);
    assert_int_equal(a.calls, 1);
    assert_true(a.status < 0);
    assert_int_equal(b.calls, 1);
    assert_true(b.status < 0);
    assert_int_equal(db->commits, 0);
    assert_int_equal(sqlite3_get_autocommit(db->sql), 1);
    assert_int_equal(count(db, "1"), 0); /* nothing of the batch stored */

    /* the next batch works again */
    assert_int_equal(dg_db_join(db), 0);
    assert_int_equal(put(db, "INSERT INTO t(v) VALUES('again')"), 0);
    assert_int_equal(dg_db_leave(db, DG_OK, on_done, &a), DG_PENDING);
    uv_run(&loop, UV_RUN_NOWAIT);
    assert_int_equal(a.calls, 2);
    assert_int_equal(a.status, DG_OK);
    assert_int_equal(count(db, "v='again'"), 1);
    finish(&loop, db);
}

static void outside_transaction_commits_batch_first(void **state)
{
    (void)state;
    uv_loop_t loop;
    seen a = {0, 0};
    dg_db *db = open_db();
    uv_loop_init(&loop);
    dg_db_set_loop(db, &loop);

    assert_int_equal(dg_db_join(db), 0);
    assert_int_equal(put(db, "INSERT INTO t(v) VALUES('event')"), 0);
    assert_int_equal(dg_db_leave(db, DG_OK, on_done, &a), DG_PENDING);
    /* e.g. a send's transaction: the batch is durable before it begins */
    assert_int_equal(dg_db_tx_begin(db), 0);
    assert_int_equal(db->commits, 1);
    assert_int_equal(put(db, "INSERT INTO t(v) VALUES('sending')"), 0);
    assert_int_equal(dg_db_tx_rollback(db), 0);
    assert_int_equal(count(db, "v='event'"), 1); /* not undone by that rollback */
    assert_int_equal(count(db, "v='sending'"), 0);
    assert_int_equal(a.calls, 0); /* callbacks still run from the loop */
    uv_run(&loop, UV_RUN_NOWAIT);
    assert_int_equal(a.calls, 1);
    assert_int_equal(a.status, DG_OK);

    /* detaching commits what is open and answers its writers */
    assert_int_equal(dg_db_join(db), 0);
    assert_int_equal(put(db, "INSERT INTO t(v) VALUES('last')"), 0);
    assert_int_equal(dg_db_leave(db, DG_OK, on_done, &a), DG_PENDING);
    dg_db_set_loop(db, NULL);
    assert_int_equal(a.calls, 2);
    assert_int_equal(a.status, DG_OK);
    assert_int_equal(count(db, "v='last'"), 1);
    assert_int_equal(dg_db_join(db), DG_ENOTSUP);
    finish(&loop, db);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(no_loop_is_synchronous),
        cmocka_unit_test(one_commit_per_iteration),
        cmocka_unit_test(batch_open_for_reading),
        cmocka_unit_test(failed_commit_fails_every_writer),
        cmocka_unit_test(outside_transaction_commits_batch_first),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
