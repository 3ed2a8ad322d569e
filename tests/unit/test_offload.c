/* Work off the loop thread: fn on a worker, done on the loop thread; an
 * owner's items all finish (in submission order) before it goes away; close
 * finishes everything. */
#include "cm.h"

#include <stdlib.h>
#include <string.h>

#include <duegate/types.h>

#include "offload.h"

typedef struct job {
    uv_thread_t main;
    int fn_ran, fn_off_main, done_ran, done_on_main;
    int order;           /* position among the dones */
    int *counter;        /* shared: next position */
    uv_sem_t *started;   /* posted by fn when set */
    uv_sem_t *go;        /* fn waits for it when set */
} job;

static void fn(void *ud)
{
    job *j = ud;
    uv_thread_t self = uv_thread_self();
    j->fn_off_main = !uv_thread_equal(&self, &j->main);
    if (j->started)
        uv_sem_post(j->started);
    if (j->go)
        uv_sem_wait(j->go);
    j->fn_ran++;
}

static void done(void *ud)
{
    job *j = ud;
    uv_thread_t self = uv_thread_self();
    j->done_on_main = uv_thread_equal(&self, &j->main);
    j->done_ran++;
    j->order = (*j->counter)++;
}

static void init_jobs(job *v, size_t n, int *counter)
{
    memset(v, 0, n * sizeof *v);
    for (size_t i = 0; i < n; i++) {
        v[i].main = uv_thread_self();
        v[i].counter = counter;
    }
}

static void close_all(uv_loop_t *loop, dg_offload *o)
{
    dg_offload_close(o);
    uv_run(loop, UV_RUN_DEFAULT);
    assert_int_equal(uv_loop_close(loop), 0);
}

static void test_fn_on_a_worker_done_on_the_loop(void **state)
{
    (void)state;
    uv_loop_t loop;
    dg_offload *o;
    job v[50];
    int counter = 0, owner;
    init_jobs(v, 50, &counter);
    assert_int_equal(uv_loop_init(&loop), 0);
    assert_int_equal(dg_offload_open(&loop, 2, &o), DG_OK);
    for (int i = 0; i < 50; i++)
        assert_int_equal(dg_offload_submit(o, &owner, fn, done, &v[i]), DG_OK);
    assert_int_equal(dg_offload_pending(o), 50);
    /* pending work keeps the loop running until every done has run, then
     * nothing of the offload keeps it alive */
    uv_run(&loop, UV_RUN_DEFAULT);
    assert_int_equal(dg_offload_pending(o), 0);
    for (int i = 0; i < 50; i++) {
        assert_int_equal(v[i].fn_ran, 1);
        assert_true(v[i].fn_off_main);
        assert_int_equal(v[i].done_ran, 1);
        assert_true(v[i].done_on_main);
    }
    assert_int_equal(counter, 50);
    close_all(&loop, o);
}

static void test_drain_owner_finishes_its_items_in_order(void **state)
{
    (void)state;
    uv_loop_t loop;
    dg_offload *o;
    job a[3], b[2];
    int counter = 0, ca = 0, owner_a, owner_b;
    uv_sem_t started, go;
    init_jobs(a, 3, &ca);
    init_jobs(b, 2, &counter);
    assert_int_equal(uv_sem_init(&started, 0), 0);
    assert_int_equal(uv_sem_init(&go, 0), 0);
    assert_int_equal(uv_loop_init(&loop), 0);
    assert_int_equal(dg_offload_open(&loop, 1, &o), DG_OK);
    /* a[0] goes to the worker and blocks there; a[1], b[0] wait behind it in
     * the queue; a[2], b[1] are not even handed over yet */
    a[0].started = &started;
    a[0].go = &go;
    assert_int_equal(dg_offload_submit(o, &owner_a, fn, done, &a[0]), DG_OK);
    assert_int_equal(dg_offload_submit(o, &owner_a, fn, done, &a[1]), DG_OK);
    assert_int_equal(dg_offload_submit(o, &owner_b, fn, done, &b[0]), DG_OK);
    uv_run(&loop, UV_RUN_NOWAIT); /* the iteration's end hands them over */
    uv_sem_wait(&started);        /* a[0] runs on the worker */
    assert_int_equal(dg_offload_submit(o, &owner_a, fn, done, &a[2]), DG_OK);
    assert_int_equal(dg_offload_submit(o, &owner_b, fn, done, &b[1]), DG_OK);
    uv_sem_post(&go); /* a[0] may finish before or during the drain */
    dg_offload_drain_owner(o, &owner_a);
    for (int i = 0; i < 3; i++) {
        assert_int_equal(a[i].fn_ran, 1);
        assert_int_equal(a[i].done_ran, 1);
        assert_true(a[i].done_on_main);
        assert_int_equal(a[i].order, i); /* submission order */
    }
    assert_true(a[0].fn_off_main);
    assert_false(a[2].fn_off_main); /* never handed over: run here */
    assert_int_equal(b[0].done_ran + b[1].done_ran, 0); /* another owner's: untouched */
    assert_int_equal(dg_offload_pending(o), 2);
    uv_run(&loop, UV_RUN_DEFAULT);
    assert_int_equal(b[0].done_ran, 1);
    assert_int_equal(b[1].done_ran, 1);
    assert_true(b[0].fn_off_main && b[1].fn_off_main);
    close_all(&loop, o);
    uv_sem_destroy(&started);
    uv_sem_destroy(&go);
}

static void test_close_finishes_everything_then_refuses(void **state)
{
    (void)state;
    uv_loop_t loop;
    dg_offload *o;
    job v[5];
    int counter = 0, owner;
    init_jobs(v, 5, &counter);
    assert_int_equal(uv_loop_init(&loop), 0);
    assert_int_equal(dg_offload_open(&loop, 2, &o), DG_OK);
    for (int i = 0; i < 5; i++)
        assert_int_equal(dg_offload_submit(o, &owner, fn, done, &v[i]), DG_OK);
    dg_offload_close(o);
    for (int i = 0; i < 5; i++) {
        assert_int_equal(v[i].fn_ran, 1);
        assert_int_equal(v[i].done_ran, 1);
        assert_int_equal(v[i].order, i);
    }
    assert_int_equal(dg_offload_submit(o, &owner, fn, done, &v[0]), DG_ESTATE);
    uv_run(&loop, UV_RUN_DEFAULT); /* the handles close, the memory goes */
    assert_int_equal(uv_loop_close(&loop), 0);
}

static void test_bad_arguments(void **state)
{
    (void)state;
    uv_loop_t loop;
    dg_offload *o = NULL;
    job j;
    int counter = 0;
    init_jobs(&j, 1, &counter);
    assert_int_equal(uv_loop_init(&loop), 0);
    assert_int_equal(dg_offload_open(&loop, 0, &o), DG_EINVAL);
    assert_int_equal(dg_offload_open(&loop, 17, &o), DG_EINVAL);
    assert_int_equal(dg_offload_open(&loop, 1, &o), DG_OK);
    assert_int_equal(dg_offload_submit(o, NULL, NULL, done, &j), DG_EINVAL);
    assert_int_equal(dg_offload_submit(o, NULL, fn, NULL, &j), DG_EINVAL);
    assert_int_equal(dg_offload_submit(NULL, NULL, fn, done, &j), DG_EINVAL);
    dg_offload_drain_owner(o, &counter); /* nothing of it: a no-op */
    close_all(&loop, o);
    dg_offload_close(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fn_on_a_worker_done_on_the_loop),
        cmocka_unit_test(test_drain_owner_finishes_its_items_in_order),
        cmocka_unit_test(test_close_finishes_everything_then_refuses),
        cmocka_unit_test(test_bad_arguments),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
