/* The durable inbox: acknowledged only once on disk, delivered in order,
 * exactly once across restarts (checkpoint in the same commit), a torn tail
 * cut off, a transient failure retried with its writes rolled back. */
#include "cm.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "db.h"
#include "inbox.h"
#include "log.h"

typedef struct fx {
    char dir[256], inbox[300], dbpath[300];
    uv_loop_t loop;
    dg_db *db;
    dg_inbox *ib;
    int acked, failed;
    int delivered;
    char got[64][64]; /* "owner|topic|data" of each delivery */
    int fail_at;      /* deliver returns DG_EIO for this delivery number (1-based), once */
    int stop_at;      /* uv_stop the loop after this many deliveries */
    uv_async_t poke_h;
    uv_async_t *poke; /* sent from the first delivery: I/O becomes ready */
    char trace[64];   /* 'd' per delivery, 'A' when the poke's callback runs */
} fx;

static void trace(fx *f, char c)
{
    size_t n = strlen(f->trace);
    if (n + 1 < sizeof f->trace)
        f->trace[n] = c;
}

static void on_done(void *ud, int status)
{
    fx *f = ud;
    if (status == DG_OK)
        f->acked++;
    else
        f->failed++;
}

static int deliver(void *ud, const char *owner, const dg_kv *attrs, size_t n, const void *data,
                   size_t len)
{
    fx *f = ud;
    const char *topic = n ? attrs[0].value : "";
    char sql[160];
    /* a write of our own, which must commit (or roll back) with the entry */
    snprintf(sql, sizeof sql, "INSERT INTO seen(v) VALUES('%.*s')", (int)len, (const char *)data);
    if (dg_db_exec(f->db, sql, NULL, 0) != 0)
        return DG_EIO;
    if (f->fail_at && f->delivered + 1 == f->fail_at) {
        f->fail_at = 0;
        return DG_EIO;
    }
    if (f->delivered < 64)
        snprintf(f->got[f->delivered], sizeof f->got[0], "%s|%s|%.*s", owner, topic, (int)len,
                 (const char *)data);
    f->delivered++;
    trace(f, 'd');
    if (f->poke && f->delivered == 1)
        uv_async_send(f->poke);
    if (f->stop_at && f->delivered == f->stop_at)
        uv_stop(&f->loop);
    return DG_OK;
}

static void open_all(fx *f)
{
    char err[256] = "";
    assert_int_equal(uv_loop_init(&f->loop), 0);
    assert_int_equal(dg_db_open(f->dbpath, 0, &f->db, err, sizeof err), 0);
    assert_int_equal(dg_db_exec(f->db, "CREATE TABLE IF NOT EXISTS seen(v TEXT)", NULL, 0), 0);
    dg_db_set_loop(f->db, &f->loop);
    int rc = dg_inbox_open(&f->loop, f->db, f->inbox, deliver, f, &f->ib, err, sizeof err);
    if (rc)
        fprintf(stderr, "open: %s\n", err);
    assert_int_equal(rc, 0);
}

static void close_all(fx *f)
{
    if (f->poke) { /* a test that failed half-way */
        uv_close((uv_handle_t *)f->poke, NULL);
        f->poke = NULL;
    }
    dg_inbox_close(f->ib);
    dg_db_set_loop(f->db, NULL);
    uv_run(&f->loop, UV_RUN_DEFAULT);
    assert_int_equal(uv_loop_close(&f->loop), 0);
    dg_db_close(f->db);
    f->ib = NULL;
    f->db = NULL;
}

static int setup(void **state)
{
    fx *f = calloc(1, sizeof *f);
    snprintf(f->dir, sizeof f->dir, "/tmp/dg-inbox-XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    snprintf(f->inbox, sizeof f->inbox, "%s/inbox", f->dir);
    snprintf(f->dbpath, sizeof f->dbpath, "%s/state.db", f->dir);
    dg_log_set_level(DG_LOG_ERROR);
    open_all(f);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fx *f = *state;
    char cmd[300];
    if (f->ib)
        close_all(f);
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", f->dir);
    assert_int_equal(system(cmd), 0);
    free(f);
    return 0;
}

static void append(fx *f, const char *topic, const char *data)
{
    dg_kv a[1] = {{"topic", topic, DG_KV_PLAIN}};
    assert_int_equal(dg_inbox_append(f->ib, "shop", a, 1, data, strlen(data), on_done, f),
                     DG_PENDING);
}

static int count_seen(fx *f)
{
    sqlite3_stmt *st;
    int n = -1;
    assert_int_equal(sqlite3_prepare_v2(f->db->sql, "SELECT COUNT(*) FROM seen", -1, &st, NULL),
                     SQLITE_OK);
    if (sqlite3_step(st) == SQLITE_ROW)
        n = sqlite3_column_int(st, 0);
    sqlite3_finalize(st);
    return n;
}

/* Let the group-commit timer (0 ms) commit what delivery wrote. */
static void commit(fx *f)
{
    dg_db_flush(f->db);
    uv_run(&f->loop, UV_RUN_NOWAIT);
}

static void test_ack_only_when_durable_then_in_order(void **state)
{
    fx *f = *state;
    char d[16];
    for (int i = 0; i < 20; i++) {
        snprintf(d, sizeof d, "order-%02d", i);
        append(f, i % 2 ? "orders/paid" : "orders/create", d);
    }
    assert_int_equal(f->acked, 0); /* nothing is acknowledged before the writer syncs */
    assert_int_equal(dg_inbox_backlog(f->ib), 20);
    assert_int_equal(dg_inbox_sync(f->ib), DG_OK);
    assert_int_equal(f->acked, 20);
    assert_int_equal(f->failed, 0);
    assert_int_equal(dg_inbox_drain(f->ib, 5), 5);
    assert_int_equal(dg_inbox_drain(f->ib, 100), 15);
    assert_int_equal(dg_inbox_drain(f->ib, 100), 0);
    assert_int_equal(f->delivered, 20);
    assert_string_equal(f->got[0], "shop|orders/create|order-00");
    assert_string_equal(f->got[1], "shop|orders/paid|order-01");
    assert_string_equal(f->got[19], "shop|orders/paid|order-19");
    assert_int_equal(dg_inbox_backlog(f->ib), 0);
    commit(f);
    assert_int_equal(count_seen(f), 20);
}

static void test_restart_delivers_the_rest_once(void **state)
{
    fx *f = *state;
    char d[16];
    for (int i = 0; i < 10; i++) {
        snprintf(d, sizeof d, "e%d", i);
        append(f, "orders/create", d);
    }
    assert_int_equal(dg_inbox_sync(f->ib), DG_OK);
    assert_int_equal(dg_inbox_drain(f->ib, 4), 4);
    commit(f);
    close_all(f);

    f->delivered = 0;
    open_all(f);
    assert_int_equal(dg_inbox_backlog(f->ib), 6);
    assert_int_equal(dg_inbox_drain(f->ib, 100), 6);
    assert_string_equal(f->got[0], "shop|orders/create|e4");
    assert_string_equal(f->got[5], "shop|orders/create|e9");
    commit(f);
    assert_int_equal(count_seen(f), 10); /* 4 + 6: nothing twice */
    close_all(f);

    f->delivered = 0;
    open_all(f);
    assert_int_equal(dg_inbox_backlog(f->ib), 0);
    assert_int_equal(dg_inbox_drain(f->ib, 100), 0);
}

static void test_uncommitted_delivery_is_delivered_again(void **state)
{
    fx *f = *state;
    append(f, "orders/create", "a");
    append(f, "orders/create", "b");
    assert_int_equal(dg_inbox_sync(f->ib), DG_OK);
    /* a child process delivers both, then dies before the batch commits */
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0)
        _exit(dg_inbox_drain(f->ib, 100) == 2 && count_seen(f) == 2 ? 0 : 1);
    int st = 0;
    assert_int_equal(waitpid(pid, &st, 0), pid);
    assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    close_all(f);
    f->delivered = 0;
    open_all(f);
    assert_int_equal(count_seen(f), 0);
    assert_int_equal(dg_inbox_backlog(f->ib), 2);
    assert_int_equal(dg_inbox_drain(f->ib, 100), 2);
    assert_string_equal(f->got[0], "shop|orders/create|a");
    commit(f);
    assert_int_equal(count_seen(f), 2);
}

static void test_torn_tail_is_cut(void **state)
{
    fx *f = *state;
    char seg[400];
    append(f, "orders/create", "kept-1");
    append(f, "orders/create", "kept-2");
    assert_int_equal(dg_inbox_sync(f->ib), DG_OK);
    close_all(f);
    /* a crash in the middle of the next batch: a header promising 4000
     * bytes, and only some of them */
    snprintf(seg, sizeof seg, "%s/00000001.log", f->inbox);
    int fd = open(seg, O_RDWR);
    assert_true(fd >= 0);
    off_t end = 0;
    {
        /* the valid end: right after the two entries */
        unsigned char h[12];
        while (pread(fd, h, 12, end) == 12 && memcmp(h, "DGI1", 4) == 0)
            end += 12 + (off_t)(h[4] | h[5] << 8 | h[6] << 16 | (uint32_t)h[7] << 24);
    }
    unsigned char torn[64] = {'D', 'G', 'I', '1', 0xa0, 0x0f, 0, 0, 1, 2, 3, 4, 's', 'h'};
    assert_int_equal(pwrite(fd, torn, sizeof torn, end), (ssize_t)sizeof torn);
    close(fd);

    open_all(f);
    assert_int_equal(dg_inbox_backlog(f->ib), 2);
    append(f, "orders/paid", "after");
    assert_int_equal(dg_inbox_sync(f->ib), DG_OK);
    assert_int_equal(dg_inbox_drain(f->ib, 100), 3);
    assert_string_equal(f->got[1], "shop|orders/create|kept-2");
    assert_string_equal(f->got[2], "shop|orders/paid|after");
}

static void test_transient_failure_rolls_back_and_retries(void **state)
{
    fx *f = *state;
    append(f, "orders/create", "x1");
    append(f, "orders/create", "x2");
    append(f, "orders/create", "x3");
    assert_int_equal(dg_inbox_sync(f->ib), DG_OK);
    f->fail_at = 2;
    assert_int_equal(dg_inbox_drain(f->ib, 100), DG_EIO);
    assert_int_equal(f->delivered, 1);
    assert_int_equal(dg_inbox_drain(f->ib, 100), 2);
    assert_int_equal(f->delivered, 3);
    assert_string_equal(f->got[1], "shop|orders/create|x2");
    commit(f);
    assert_int_equal(count_seen(f), 3); /* x2's first, failed write was rolled back */
}

static void test_binary_data_and_many_attrs(void **state)
{
    fx *f = *state;
    unsigned char data[3000];
    dg_kv a[3] = {{"topic", "orders/updated", DG_KV_PLAIN},
                  {"webhook_id", "", DG_KV_PLAIN},
                  {"event_id", "ev-1", DG_KV_PLAIN}};
    for (size_t i = 0; i < sizeof data; i++)
        data[i] = (unsigned char)(i * 31);
    assert_int_equal(dg_inbox_append(f->ib, "shop", a, 3, data, sizeof data, on_done, f),
                     DG_PENDING);
    assert_int_equal(dg_inbox_append(f->ib, NULL, a, 3, data, 1, on_done, f), DG_EINVAL);
    assert_int_equal(dg_inbox_append(f->ib, "shop", a, 3, data, 1, NULL, f), DG_EINVAL);
    assert_int_equal(dg_inbox_sync(f->ib), DG_OK);
    assert_int_equal(f->acked, 1);
}

/* Without drain: once resumed, the loop delivers the backlog by itself
 * (in a lull) and stops when there is nothing left. */
static void test_resumed_inbox_delivers_by_itself(void **state)
{
    fx *f = *state;
    char d[16];
    for (int i = 0; i < 50; i++) {
        snprintf(d, sizeof d, "auto-%d", i);
        append(f, "orders/create", d);
    }
    f->stop_at = 50;
    dg_inbox_resume(f->ib);
    uv_run(&f->loop, UV_RUN_DEFAULT); /* until the 50th delivery stops it */
    assert_int_equal(f->acked, 50);
    assert_int_equal(f->delivered, 50);
    assert_string_equal(f->got[49], "shop|orders/create|auto-49");
    uv_run(&f->loop, UV_RUN_NOWAIT); /* the commit */
    assert_int_equal(count_seen(f), 50);
}

static void on_poke(uv_async_t *a) { trace(a->data, 'A'); }

/* Delivery uses idle time but gives way between entries: once I/O is ready
 * on the loop (here a wake-up from another thread, as the writer's
 * acknowledgements are), the next entry waits until the loop has served it. */
static void test_delivery_yields_to_ready_io(void **state)
{
    fx *f = *state;
    char d[16];
    for (int i = 0; i < 5; i++) {
        snprintf(d, sizeof d, "y-%d", i);
        append(f, "orders/create", d);
    }
    assert_int_equal(dg_inbox_sync(f->ib), DG_OK); /* acknowledged: nobody waits */
    assert_int_equal(f->acked, 5);
    assert_int_equal(uv_async_init(&f->loop, &f->poke_h, on_poke), 0);
    f->poke_h.data = f;
    f->poke = &f->poke_h;
    uv_run(&f->loop, UV_RUN_NOWAIT); /* a poll registers its descriptor, as in a running daemon */
    f->stop_at = 5;
    dg_inbox_resume(f->ib);
    uv_run(&f->loop, UV_RUN_DEFAULT);
    /* without yielding: "dddddA"; the poke is served within the next entry
     * (the first one may already have been under way when it became ready) */
    const char *a = strchr(f->trace, 'A');
    assert_non_null(a);
    assert_true(a - f->trace <= 2);
    assert_int_equal(f->delivered, 5);
    uv_close((uv_handle_t *)f->poke, NULL);
    f->poke = NULL;
    uv_run(&f->loop, UV_RUN_NOWAIT);
}

/* Batches of webhook-sized entries (20 KB, 2 MB in all: the segment grows
 * piece by piece, in a batch and between batches; each batch's write is
 * padded to its block and the next one starts inside that block). After a
 * restart every entry is found again, each with its CRC. */
static void test_large_batches_survive_restart(void **state)
{
    fx *f = *state;
    enum { ROUNDS = 10, PER = 10, SIZE = 20000 };
    char *data = malloc(SIZE);
    dg_kv a[1] = {{"topic", "orders/create", DG_KV_PLAIN}};
    char path[400];
    struct stat sb;
    assert_non_null(data);
    for (int r = 0; r < ROUNDS; r++) {
        for (int i = 0; i < PER; i++) {
            memset(data, 'a' + (r * PER + i) % 26, SIZE);
            assert_int_equal(dg_inbox_append(f->ib, "shop", a, 1, data, SIZE - r, on_done, f),
                             DG_PENDING);
        }
        assert_int_equal(dg_inbox_sync(f->ib), DG_OK);
        assert_int_equal(f->acked, (r + 1) * PER);
    }
    free(data);
    assert_int_equal(dg_inbox_backlog(f->ib), ROUNDS * PER);
    close_all(f);
    snprintf(path, sizeof path, "%s/00000001.log", f->inbox);
    assert_int_equal(stat(path, &sb), 0);
    assert_true(sb.st_size >= ROUNDS * PER * (SIZE - ROUNDS));
    assert_int_equal(sb.st_size % 4096, 0); /* grown in whole blocks of zeros */

    open_all(f);
    assert_int_equal(dg_inbox_backlog(f->ib), ROUNDS * PER);
    assert_int_equal(f->failed, 0);
}

/* Entries share disk blocks across batches and restarts: each batch is
 * written as whole blocks (direct I/O), so the bytes of its first block that
 * earlier batches wrote must be carried over: from the writer's memory within
 * a run, read back from the segment after a restart. */
static void test_batches_sharing_a_block_keep_each_other(void **state)
{
    fx *f = *state;
    char d[16];
    for (int round = 0; round < 3; round++) {
        for (int i = 0; i < 4; i++) { /* two batches of two short entries */
            snprintf(d, sizeof d, "r%dn%d", round, i);
            append(f, "orders/paid", d);
            if (i % 2)
                assert_int_equal(dg_inbox_sync(f->ib), DG_OK);
        }
        close_all(f);
        open_all(f);
    }
    assert_int_equal(f->failed, 0);
    assert_int_equal(f->acked, 12);
    assert_int_equal(dg_inbox_backlog(f->ib), 12);
    assert_int_equal(dg_inbox_drain(f->ib, 100), 12);
    for (int i = 0; i < 12; i++) {
        char want[64];
        snprintf(want, sizeof want, "shop|orders/paid|r%dn%d", i / 4, i % 4);
        assert_string_equal(f->got[i], want);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_ack_only_when_durable_then_in_order, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_restart_delivers_the_rest_once, setup, teardown),
        cmocka_unit_test_setup_teardown(test_uncommitted_delivery_is_delivered_again, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_torn_tail_is_cut, setup, teardown),
        cmocka_unit_test_setup_teardown(test_transient_failure_rolls_back_and_retries, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_binary_data_and_many_attrs, setup, teardown),
        cmocka_unit_test_setup_teardown(test_resumed_inbox_delivers_by_itself, setup, teardown),
        cmocka_unit_test_setup_teardown(test_large_batches_survive_restart, setup, teardown),
        cmocka_unit_test_setup_teardown(test_batches_sharing_a_block_keep_each_other, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_delivery_yields_to_ready_io, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
