/* The conformance kit's durable inbox (ABI 1.1): inbox_append copies and
 * answers DG_PENDING, done(DG_OK) comes at the next turn of the kit's loop,
 * then inbox_process gets the entries in order; DG_EIO hands the same entry
 * over again, another negative code drops it (a note), a positive one is a
 * violation; once stop is asked for nothing more is processed, and the
 * appends still waiting are answered when stop finishes. */
#include "../unit/cm.h"

#include <string.h>

#include <cjson/cJSON.h>

#include "kithost.h"

typedef struct plug {
    const dg_host *H;
    dg_instance *inst;
    int acks, ack_status;
    int processed;
    char seen[8][64]; /* "attr=value:data" per processed entry */
    int fail_eio;     /* return DG_EIO this many times */
    int answer;       /* what to return otherwise */
    int append_from_done;
} plug;

static void on_done(void *ud, int status)
{
    plug *p = ud;
    p->acks++;
    p->ack_status = status;
    if (p->append_from_done) {
        p->append_from_done = 0;
        dg_kv kv = {"n", "late", 0};
        assert_int_equal(p->H->inbox_append(p->inst, &kv, 1, "z", 1, on_done, p), DG_PENDING);
    }
}

static int process(void *self, const dg_kv *attrs, size_t n_attrs, const void *data, size_t len)
{
    plug *p = self;
    if (p->fail_eio > 0) {
        p->fail_eio--;
        return DG_EIO;
    }
    if (p->processed < 8)
        snprintf(p->seen[p->processed], sizeof p->seen[0], "%s=%s:%.*s",
                 n_attrs ? attrs[0].key : "", n_attrs ? attrs[0].value : "", (int)len,
                 (const char *)data);
    p->processed++;
    return p->answer;
}

static dg_kit *kit_up(plug *p, int with_inbox)
{
    dg_kit *k = dg_kit_new(DG_PLUGIN_STORE, NULL, cJSON_CreateObject());
    assert_non_null(k);
    memset(p, 0, sizeof *p);
    p->H = dg_kit_host();
    p->inst = dg_kit_inst(k);
    if (with_inbox)
        dg_kit_set_inbox(k, process, p);
    return k;
}

static void kit_down(dg_kit *k)
{
    dg_kit_destroyed(k);
    dg_kit_free(k);
}

static int append(plug *p, const char *n, const char *data)
{
    dg_kv kv = {"n", n, 0};
    return p->H->inbox_append(p->inst, &kv, 1, data, strlen(data), on_done, p);
}

static int said(dg_kit *k, int violation, const char *needle)
{
    size_t n = violation ? dg_kit_n_violations(k) : dg_kit_n_notes(k);
    for (size_t i = 0; i < n; i++)
        if (strstr(violation ? dg_kit_violation_at(k, i) : dg_kit_note_at(k, i), needle))
            return 1;
    return 0;
}

static void test_acknowledged_then_processed_in_order(void **state)
{
    (void)state;
    plug p;
    dg_kit *k = kit_up(&p, 1);
    char body[] = "first";
    assert_true(DG_HOST_HAS(p.H, inbox_append) && p.H->inbox_append);
    assert_int_equal(append(&p, "1", body), DG_PENDING);
    memcpy(body, "XXXXX", 5); /* the kit kept its own copy */
    assert_int_equal(append(&p, "2", "second"), DG_PENDING);
    assert_int_equal(p.acks, 0); /* never inside inbox_append */
    assert_int_equal(dg_kit_inbox_waiting(k), 2);
    dg_kit_advance(k, 0);
    assert_int_equal(p.acks, 2);
    assert_int_equal(p.ack_status, DG_OK);
    assert_int_equal(p.processed, 2);
    assert_string_equal(p.seen[0], "n=1:first");
    assert_string_equal(p.seen[1], "n=2:second");
    assert_int_equal(dg_kit_inbox_waiting(k), 0);
    dg_kit_stopped(k);
    assert_int_equal(dg_kit_n_violations(k), 0);
    assert_int_equal(dg_kit_n_notes(k), 0);
    kit_down(k);
}

static void test_retry_keeps_the_order(void **state)
{
    (void)state;
    plug p;
    dg_kit *k = kit_up(&p, 1);
    p.fail_eio = 1;
    assert_int_equal(append(&p, "1", "a"), DG_PENDING);
    assert_int_equal(append(&p, "2", "b"), DG_PENDING);
    dg_kit_advance(k, 0);
    assert_int_equal(p.acks, 2);
    assert_int_equal(p.processed, 0); /* the first failed: the second waits behind it */
    dg_kit_advance(k, 0);
    assert_int_equal(p.processed, 2);
    assert_string_equal(p.seen[0], "n=1:a");
    assert_string_equal(p.seen[1], "n=2:b");
    /* an entry that keeps failing is worth a note, not a violation */
    p.fail_eio = 5;
    assert_int_equal(append(&p, "3", "c"), DG_PENDING);
    for (int i = 0; i < 5; i++)
        dg_kit_advance(k, 0);
    assert_true(said(k, 0, "for the same entry 3 times"));
    dg_kit_advance(k, 0);
    assert_int_equal(p.processed, 3);
    dg_kit_stopped(k);
    assert_int_equal(dg_kit_n_violations(k), 0);
    kit_down(k);
}

static void test_drop_is_a_note_positive_is_a_violation(void **state)
{
    (void)state;
    plug p;
    dg_kit *k = kit_up(&p, 1);
    p.answer = DG_EINVAL;
    assert_int_equal(append(&p, "1", "bad"), DG_PENDING);
    dg_kit_advance(k, 0);
    assert_int_equal(p.processed, 1);
    assert_int_equal(dg_kit_inbox_waiting(k), 0);
    assert_true(said(k, 0, "inbox_process dropped an entry"));
    assert_int_equal(dg_kit_n_violations(k), 0);
    p.answer = DG_PENDING;
    assert_int_equal(append(&p, "2", "later"), DG_PENDING);
    dg_kit_advance(k, 0);
    assert_true(said(k, 1, "inbox_process returned 1"));
    dg_kit_stopped(k);
    kit_down(k);
}

static void test_arguments_and_no_process_op(void **state)
{
    (void)state;
    plug p;
    dg_kit *k = kit_up(&p, 0);
    assert_int_equal(append(&p, "1", "x"), DG_ENOTSUP); /* as a daemon: do the work inline */
    dg_kit_set_inbox(k, process, &p);
    dg_kv nokey = {NULL, "v", 0};
    assert_int_equal(p.H->inbox_append(p.inst, NULL, 0, "x", 1, NULL, &p), DG_EINVAL);
    assert_int_equal(p.H->inbox_append(p.inst, &nokey, 1, "x", 1, on_done, &p), DG_EINVAL);
    assert_int_equal(p.H->inbox_append(p.inst, NULL, 0, NULL, 3, on_done, &p), DG_EINVAL);
    assert_int_equal(p.H->inbox_append(p.inst, NULL, 0, NULL, 0, on_done, &p), DG_PENDING);
    dg_kit_advance(k, 0);
    assert_int_equal(p.processed, 1);
    assert_string_equal(p.seen[0], "=:");
    dg_kit_stopped(k);
    assert_int_equal(dg_kit_n_violations(k), 0);
    kit_down(k);
}

static void test_stop_answers_appends_and_processes_nothing(void **state)
{
    (void)state;
    plug p;
    dg_kit *k = kit_up(&p, 1);
    p.append_from_done = 1;
    assert_int_equal(append(&p, "1", "a"), DG_PENDING);
    dg_kit_advance(k, 0);
    assert_int_equal(p.acks, 1); /* the append made from done waits for the next turn */
    assert_int_equal(p.processed, 1);
    assert_int_equal(dg_kit_inbox_waiting(k), 1);
    dg_kit_new_op(k, "stop"); /* the daemon pauses delivery once it shuts down */
    dg_kit_advance(k, 0);
    assert_int_equal(p.acks, 2);
    assert_int_equal(p.processed, 1);
    assert_int_equal(append(&p, "2", "b"), DG_PENDING); /* while stopping: still stored */
    dg_kit_stopped(k); /* answered now; processed after the next start */
    assert_int_equal(p.acks, 3);
    assert_int_equal(p.processed, 1);
    assert_int_equal(dg_kit_inbox_waiting(k), 2);
    assert_int_equal(append(&p, "3", "c"), DG_ESTATE); /* after stop: a violation */
    assert_true(said(k, 1, "inbox_append"));
    kit_down(k);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_acknowledged_then_processed_in_order),
        cmocka_unit_test(test_retry_keeps_the_order),
        cmocka_unit_test(test_drop_is_a_note_positive_is_a_violation),
        cmocka_unit_test(test_arguments_and_no_process_op),
        cmocka_unit_test(test_stop_answers_appends_and_processes_nothing),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
