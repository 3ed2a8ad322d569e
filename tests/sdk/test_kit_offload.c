/* The conformance kit's run_off_loop (ABI 1.2): the work runs on a thread
 * of its own and may call only the pure helpers; its done comes at the next
 * turn of the loop; work still unfinished when stop finishes is a violation. */
#include "../unit/cm.h"

#include <pthread.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "kithost.h"

typedef struct job {
    pthread_t main;
    const dg_host *H;
    dg_instance *inst;
    int misbehave; /* call host->log from the work */
    int ran, off_main, hmac_ok, done;
} job;

static void fn(void *ud)
{
    job *j = ud;
    unsigned char mac[32];
    j->ran++;
    j->off_main = !pthread_equal(pthread_self(), j->main);
    j->hmac_ok = j->H->hmac(DG_HMAC_SHA256, "key", 3, "body", 4, mac, sizeof mac) == 32;
    if (j->misbehave)
        j->H->log(j->inst, DG_LOG_INFO, "from_the_work", NULL, 0);
}

static void done(void *ud) { ((job *)ud)->done++; }

static dg_kit *kit_up(job *j)
{
    dg_kit *k = dg_kit_new(DG_PLUGIN_CHANNEL, NULL, cJSON_CreateObject());
    assert_non_null(k);
    memset(j, 0, sizeof *j);
    j->main = pthread_self();
    j->H = dg_kit_host();
    j->inst = dg_kit_inst(k);
    return k;
}

static int violated(dg_kit *k, const char *needle)
{
    for (size_t i = 0; i < dg_kit_n_violations(k); i++)
        if (strstr(dg_kit_violation_at(k, i), needle))
            return 1;
    return 0;
}

static void kit_down(dg_kit *k)
{
    dg_kit_destroyed(k);
    dg_kit_free(k);
}

static void test_work_off_the_loop_then_done(void **state)
{
    (void)state;
    job j;
    dg_kit *k = kit_up(&j);
    assert_true(DG_HOST_HAS(j.H, run_off_loop) && j.H->run_off_loop);
    assert_int_equal(j.H->run_off_loop(j.inst, fn, done, &j), DG_OK);
    assert_int_equal(j.ran, 1);
    assert_true(j.off_main);
    assert_true(j.hmac_ok); /* a pure helper: allowed there */
    assert_int_equal(j.done, 0); /* never from inside run_off_loop */
    dg_kit_advance(k, 0);
    assert_int_equal(j.done, 1);
    assert_int_equal(j.H->run_off_loop(j.inst, NULL, done, &j), DG_EINVAL);
    dg_kit_stopped(k);
    assert_int_equal(dg_kit_n_violations(k), 0);
    kit_down(k);
}

static void test_rejects_host_calls_from_the_work(void **state)
{
    (void)state;
    job j;
    dg_kit *k = kit_up(&j);
    j.misbehave = 1;
    assert_int_equal(j.H->run_off_loop(j.inst, fn, done, &j), DG_OK);
    dg_kit_advance(k, 0);
    assert_true(violated(k, "host->log called from run_off_loop work"));
    dg_kit_stopped(k);
    kit_down(k);
}

static void test_rejects_work_unfinished_at_stop(void **state)
{
    (void)state;
    job j;
    dg_kit *k = kit_up(&j);
    assert_int_equal(j.H->run_off_loop(j.inst, fn, done, &j), DG_OK);
    dg_kit_stopped(k); /* the plugin's stop did not wait for the done */
    assert_true(violated(k, "1 run_off_loop item(s) still unfinished when stop finished"));
    assert_int_equal(j.done, 0);
    kit_down(k);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_work_off_the_loop_then_done),
        cmocka_unit_test(test_rejects_host_calls_from_the_work),
        cmocka_unit_test(test_rejects_work_unfinished_at_stop),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
