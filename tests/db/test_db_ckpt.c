/* Background checkpoints (core/db.c): once commits leave DG_DB_CKPT_FRAMES
 * frames in the WAL, the connection's thread copies them into the database
 * file while the writer goes on; the data stays whole across a reopen. */
#include "../unit/cm.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <duegate/types.h>

#include "db.h"

static long long file_size(const char *p)
{
    struct stat sb;
    return stat(p, &sb) == 0 ? (long long)sb.st_size : -1;
}

static long long one(dg_db *db, const char *sql)
{
    sqlite3_stmt *st;
    long long v = -1;
    assert_int_equal(sqlite3_prepare_v2(db->sql, sql, -1, &st, NULL), SQLITE_OK);
    if (sqlite3_step(st) == SQLITE_ROW)
        v = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    return v;
}

static void test_checkpoint_in_background(void **state)
{
    char dir[] = "/tmp/dg_ckpt_XXXXXX", path[128], wal[140], err[256];
    dg_db *db;
    long long small, big, rows = 0;
    (void)state;
    assert_non_null(mkdtemp(dir));
    snprintf(path, sizeof path, "%s/t.db", dir);
    snprintf(wal, sizeof wal, "%s-wal", path);
    assert_int_equal(dg_db_open(path, 0, &db, err, sizeof err), 0);
    assert_int_equal(dg_db_exec(db, "CREATE TABLE b(id INTEGER PRIMARY KEY, v BLOB)", err,
                                sizeof err),
                     0);
    assert_int_equal(dg_db_checkpoint_wait(db), 0);
    small = file_size(path);
    /* about one page per row, 40 rows a commit: well past the threshold */
    for (int c = 0; c < 2 * DG_DB_CKPT_FRAMES / 40; c++) {
        assert_int_equal(dg_db_exec(db, "BEGIN IMMEDIATE", err, sizeof err), 0);
        for (int i = 0; i < 40; i++, rows++)
            assert_int_equal(dg_db_exec(db, "INSERT INTO b(v) VALUES(randomblob(3000))", err,
                                        sizeof err),
                             0);
        assert_int_equal(dg_db_exec(db, "COMMIT", err, sizeof err), 0);
    }
    assert_true(dg_db_checkpoint_wait(db) >= 1);
    big = file_size(path);
    /* the rows' pages are in the database file now, not only in the WAL */
    assert_true(big >= small + (long long)DG_DB_CKPT_FRAMES * 3000);
    assert_true(file_size(wal) > 0);
    assert_int_equal(one(db, "SELECT count(*) FROM b"), rows);
    assert_int_equal(one(db, "SELECT sum(length(v)) FROM b"), rows * 3000);
    dg_db_close(db);
    assert_int_equal(dg_db_open(path, 0, &db, err, sizeof err), 0);
    assert_int_equal(one(db, "SELECT count(*) FROM b"), rows);
    assert_int_equal(one(db, "SELECT sum(length(v)) FROM b"), rows * 3000);
    {
        sqlite3_stmt *st;
        assert_int_equal(sqlite3_prepare_v2(db->sql, "PRAGMA integrity_check", -1, &st, NULL),
                         SQLITE_OK);
        assert_int_equal(sqlite3_step(st), SQLITE_ROW);
        assert_string_equal((const char *)sqlite3_column_text(st, 0), "ok");
        sqlite3_finalize(st);
    }
    dg_db_close(db);
    unlink(path);
    unlink(wal);
    snprintf(wal, sizeof wal, "%s-shm", path);
    unlink(wal);
    rmdir(dir);
}

/* An in-memory database has no WAL and no checkpointer. */
static void test_memory_has_none(void **state)
{
    dg_db *db;
    char err[256];
    (void)state;
    assert_int_equal(dg_db_open(":memory:", 1, &db, err, sizeof err), 0);
    assert_null(db->ckpt);
    assert_int_equal(dg_db_checkpoint_wait(db), 0);
    dg_db_close(db);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_checkpoint_in_background),
        cmocka_unit_test(test_memory_has_none),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
