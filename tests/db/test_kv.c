/* core/kv.c (the plugins' state store) and dg_db_stmt, the statement cache
 * it uses: values round-trip, expired entries read as absent and are
 * purged, an absent key stays absent, and a cached statement is reused. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <duegate/types.h>

#include "db.h"
#include "kv.h"

static dg_db *open_kv(void)
{
    dg_db *db = NULL;
    char err[256];
    assert_int_equal(dg_db_open(":memory:", 1, &db, err, sizeof err), 0);
    assert_int_equal(dg_kv_init(db, err, sizeof err), 0);
    return db;
}

static int64_t rows(dg_db *db)
{
    sqlite3_stmt *st;
    int64_t n = -1;
    assert_int_equal(
        sqlite3_prepare_v2(db->sql, "SELECT count(*) FROM plugin_state", -1, &st, NULL), SQLITE_OK);
    if (sqlite3_step(st) == SQLITE_ROW)
        n = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    return n;
}

static void round_trip_and_namespaces(void **state)
{
    dg_db *db = open_kv();
    char *v = NULL;
    size_t len = 0;
    (void)state;
    assert_int_equal(dg_kv_put(db, "wa", "wamid:1", "42", 2, 1000, 0), 0);
    assert_int_equal(dg_kv_put(db, "wa2", "wamid:1", "7", 1, 1000, 0), 0);
    assert_int_equal(dg_kv_get(db, "wa", "wamid:1", 2000, &v, &len), 0);
    assert_string_equal(v, "42");
    assert_int_equal(len, 2);
    free(v);
    assert_int_equal(dg_kv_get(db, "wa2", "wamid:1", 2000, &v, &len), 0);
    assert_string_equal(v, "7");
    free(v);
    /* overwrite in place */
    assert_int_equal(dg_kv_put(db, "wa", "wamid:1", "43", 2, 1000, 0), 0);
    assert_int_equal(dg_kv_get(db, "wa", "wamid:1", 2000, &v, NULL), 0);
    assert_string_equal(v, "43");
    free(v);
    assert_int_equal(rows(db), 2);
    assert_int_equal(dg_kv_del(db, "wa", "wamid:1"), 0);
    assert_int_equal(dg_kv_get(db, "wa", "wamid:1", 2000, &v, NULL), DG_ENOTFOUND);
    assert_int_equal(rows(db), 1);
    dg_db_close(db);
}

static void expiry_purges_only_expired_rows(void **state)
{
    dg_db *db = open_kv();
    char *v = NULL;
    (void)state;
    assert_int_equal(dg_kv_put(db, "wa", "win:+1", "5", 1, 1000, 500), 0); /* until 1500 */
    assert_int_equal(dg_kv_get(db, "wa", "win:+1", 1499, &v, NULL), 0);
    assert_string_equal(v, "5");
    free(v);
    assert_int_equal(rows(db), 1);
    assert_int_equal(dg_kv_get(db, "wa", "win:+1", 1500, &v, NULL), DG_ENOTFOUND);
    assert_int_equal(rows(db), 0); /* purged by the read */
    /* an absent key: not found, nothing written */
    assert_int_equal(dg_kv_get(db, "wa", "win:+2", 1500, &v, NULL), DG_ENOTFOUND);
    assert_int_equal(rows(db), 0);
    dg_db_close(db);
}

static const char q_one[] = "SELECT ?1 + 1";
static const char q_two[] = "SELECT ?1 * 2";

static int64_t eval(dg_db *db, const char *q, int64_t x, sqlite3_stmt **used)
{
    sqlite3_stmt *st = dg_db_stmt(db, q);
    int64_t r = -1;
    assert_non_null(st);
    *used = st;
    sqlite3_bind_int64(st, 1, x);
    if (sqlite3_step(st) == SQLITE_ROW)
        r = sqlite3_column_int64(st, 0);
    sqlite3_reset(st);
    return r;
}

static void statements_are_cached_per_sql(void **state)
{
    dg_db *db = open_kv();
    sqlite3_stmt *a, *b, *c;
    (void)state;
    assert_int_equal(eval(db, q_one, 1, &a), 2);
    assert_int_equal(eval(db, q_one, 10, &b), 11);
    assert_ptr_equal(a, b); /* prepared once */
    assert_int_equal(eval(db, q_two, 10, &c), 20);
    assert_ptr_not_equal(a, c);
    /* bindings are cleared on the way out: an unbound ?1 is NULL */
    b = dg_db_stmt(db, q_one);
    assert_int_equal(sqlite3_step(b), SQLITE_ROW);
    assert_int_equal(sqlite3_column_type(b, 0), SQLITE_NULL);
    sqlite3_reset(b);
    assert_null(dg_db_stmt(db, "SELECT FROM nowhere")); /* a bad statement */
    dg_db_close(db);                                    /* finalizes them (ASan: no leak) */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(round_trip_and_namespaces),
        cmocka_unit_test(expiry_purges_only_expired_rows),
        cmocka_unit_test(statements_are_cached_per_sql),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
