/* The Shopify plugin with the host's durable inbox (ABI 1.1): the 200 only
 * after the body is on disk, and everything else (parse, dedupe, stale
 * guard, emit) when the host hands the entry back. With a 1.2 host the
 * signature of a large body is checked on a worker thread first. */
#include "../unit/cm.h"

#include <stdlib.h>
#include <string.h>

#include "shopify_t.h"

static const char *jstr(const cJSON *o, const char *k)
{
    return cJSON_GetStringValue(cJSON_GetObjectItem(o, k));
}

static void up(env *e)
{
    env_up(e, NULL);
    fh_inbox_enable(e->h);
}

/* Deliver a signed webhook that the plugin hands to the inbox. */
static void post(env *e, const char *topic, const char *body, const char *whid, const char *evid)
{
    fh_response r;
    assert_int_equal(deliver(e, topic, body, SECRET, whid, evid, &r), DG_PENDING);
}

static int answer(env *e, fh_response *r)
{
    memset(r, 0, sizeof *r);
    return fh_pending_response(e->h, r);
}

static size_t process(env *e, int *rc)
{
    return fh_inbox_deliver(e->h, e->d->store->inbox_process, e->self, rc);
}

static void test_ack_after_sync_then_processed(void **state)
{
    (void)state;
    env e;
    fh_response r;
    char *body = load("order_presale.json");
    up(&e);
    post(&e, "orders/create", body, "wh-1", "ev-1");
    /* nothing answered and nothing parsed before the entry is on disk */
    assert_int_equal(answer(&e, &r), DG_PENDING);
    assert_int_equal(fh_inbox_len(e.h), 1);
    assert_int_equal(fh_n_orders(e.h), 0);
    assert_int_equal(fh_inbox_sync(e.h, DG_OK), 1);
    assert_int_equal(answer(&e, &r), 0);
    assert_int_equal(r.status, 200);
    assert_string_equal(r.body, "{\"ok\":true}");
    assert_int_equal(fh_n_orders(e.h), 0);
    int rc = -99;
    assert_int_equal(process(&e, &rc), 1);
    assert_int_equal(rc, DG_OK);
    assert_int_equal(fh_n_orders(e.h), 1);
    assert_string_equal(jstr(fh_order(e.h, 0), "order_id"), "820982911946154508");
    assert_string_equal(jstr(fh_order(e.h, 0), "dedupe_key"), "orders/create:wh-1");
    free(body);
    env_down(&e);
}

static void test_duplicates_and_stale_at_processing(void **state)
{
    (void)state;
    env e;
    fh_response r;
    char *create = load("order_presale.json"), *paid = load("order_presale_paid.json");
    up(&e);
    /* Shopify retried before it saw our 200; both are acknowledged */
    post(&e, "orders/paid", paid, "wh-p", "ev-p");
    fh_inbox_sync(e.h, DG_OK);
    assert_int_equal(answer(&e, &r), 0);
    post(&e, "orders/paid", paid, "wh-p", "ev-p");
    fh_inbox_sync(e.h, DG_OK);
    assert_int_equal(answer(&e, &r), 0);
    assert_int_equal(r.status, 200);
    /* and the older create arrives last */
    post(&e, "orders/create", create, "wh-c", "ev-c");
    fh_inbox_sync(e.h, DG_OK);
    assert_int_equal(answer(&e, &r), 0);
    assert_int_equal(process(&e, NULL), 3);
    assert_int_equal(fh_n_orders(e.h), 1); /* the paid event only */
    assert_true(fh_metric(e.h, "dg_shopify_webhook_duplicates_total") == 1);
    assert_true(fh_metric(e.h, "dg_shopify_webhook_stale_total") == 1);
    free(create);
    free(paid);
    env_down(&e);
}

static void test_store_failure_and_slow_store(void **state)
{
    (void)state;
    env e;
    fh_response r;
    const char *body = "{\"id\":1001,\"name\":\"#1001\",\"updated_at\":\"2026-03-01T10:00:00Z\"}";
    up(&e);
    /* the journal could not be written: 503, Shopify retries */
    post(&e, "orders/create", body, "wh-1", "ev-1");
    fh_inbox_sync(e.h, DG_EIO);
    assert_int_equal(answer(&e, &r), 0);
    assert_int_equal(r.status, 503);
    assert_int_equal(fh_inbox_len(e.h), 0);
    /* a store slower than Shopify's patience: 503 before the 5 s */
    post(&e, "orders/create", body, "wh-2", "ev-2");
    fh_advance(e.h, 4000);
    assert_int_equal(answer(&e, &r), 0);
    assert_int_equal(r.status, 503);
    assert_int_equal(fh_log_count(e.h, DG_LOG_WARN, "shopify.webhook_store_slow"), 1);
    /* not parsed yet: the log names the delivery by its webhook id */
    assert_non_null(strstr(fh_log_text(e.h), "webhook_id=wh-2"));
    /* it lands later all the same (no second answer) and is processed */
    assert_int_equal(fh_inbox_sync(e.h, DG_OK), 1);
    assert_int_equal(process(&e, NULL), 1);
    assert_int_equal(fh_n_orders(e.h), 1);
    env_down(&e);
}

static void test_bad_input_never_reaches_the_inbox(void **state)
{
    (void)state;
    env e;
    fh_response r;
    const char *body = "{\"id\":1001}";
    up(&e);
    assert_int_equal(deliver(&e, "orders/create", body, "wrong-secret", "wh-1", "ev-1", &r), 0);
    assert_int_equal(r.status, 401);
    assert_int_equal(deliver(&e, "orders/create", body, NULL, "wh-1", "ev-1", &r), 0);
    assert_int_equal(r.status, 401);
    assert_int_equal(deliver(&e, "carts/update", body, SECRET, "wh-1", "ev-1", &r), 0);
    assert_int_equal(r.status, 200); /* a topic we do not handle is acknowledged, ignored */
    assert_int_equal(fh_inbox_len(e.h), 0);
    env_down(&e);
}

static void test_unusable_and_transient_entries(void **state)
{
    (void)state;
    env e;
    fh_response r;
    int rc = 0;
    up(&e);
    /* signed, but not JSON: dropped at processing with a log line */
    post(&e, "orders/create", "not json at all", "wh-x", "ev-x");
    fh_inbox_sync(e.h, DG_OK);
    assert_int_equal(answer(&e, &r), 0);
    assert_int_equal(process(&e, &rc), 1);
    assert_int_equal(rc, DG_EPROTO);
    assert_int_equal(fh_log_count(e.h, DG_LOG_WARN, "shopify.webhook_unusable"), 1);
    /* the core cannot store right now: the entry stays for the next turn,
     * and nothing marks it as seen */
    post(&e, "orders/create", "{\"id\":77,\"updated_at\":\"2026-03-01T10:00:00Z\"}", "wh-t",
         "ev-t");
    fh_inbox_sync(e.h, DG_OK);
    assert_int_equal(answer(&e, &r), 0);
    fh_set_emit_result(e.h, DG_EIO);
    assert_int_equal(process(&e, &rc), 0);
    assert_int_equal(rc, DG_EIO);
    assert_int_equal(fh_inbox_len(e.h), 1);
    fh_set_emit_result(e.h, DG_OK);
    assert_int_equal(process(&e, &rc), 1);
    assert_int_equal(rc, DG_OK);
    /* emitted again (the fake host records both calls), not taken for a duplicate */
    assert_int_equal(fh_n_orders(e.h), 2);
    assert_true(fh_metric(e.h, "dg_shopify_webhook_duplicates_total") == 0);
    env_down(&e);
}

/* ---- with a 1.2 host: the signature is checked on a worker thread */

static void test_signature_checked_off_the_loop(void **state)
{
    (void)state;
    env e;
    fh_response r;
    char *body = load("order_presale.json"); /* 19 KB */
    up(&e);
    fh_offload_enable(e.h);
    post(&e, "orders/create", body, "wh-1", "ev-1");
    /* the check is queued: nothing answered, nothing appended yet */
    assert_int_equal(fh_offload_queued(e.h), 1);
    assert_int_equal(answer(&e, &r), DG_PENDING);
    assert_int_equal(fh_inbox_len(e.h), 0);
    assert_int_equal(fh_offload_run(e.h), 1);
    assert_int_equal(fh_inbox_len(e.h), 1);
    assert_int_equal(answer(&e, &r), DG_PENDING); /* not on disk yet */
    assert_int_equal(fh_inbox_sync(e.h, DG_OK), 1);
    assert_int_equal(answer(&e, &r), 0);
    assert_int_equal(r.status, 200);

    /* a forged body: 401 once the worker has looked, nothing stored */
    assert_int_equal(deliver(&e, "orders/create", body, "not-the-secret", "wh-2", "ev-2", &r),
                     DG_PENDING);
    assert_int_equal(fh_offload_run(e.h), 1);
    assert_int_equal(answer(&e, &r), 0);
    assert_int_equal(r.status, 401);
    assert_non_null(strstr(r.body, "invalid HMAC"));
    assert_int_equal(fh_inbox_len(e.h), 1);
    assert_true(fh_metric(e.h, "dg_shopify_webhook_bad_signature_total") == 1);

    /* a small body costs less than the hand-over: checked inline */
    const char *tiny = "{\"id\":1}";
    assert_int_equal(deliver(&e, "orders/create", tiny, SECRET, "wh-3", "ev-3", &r), DG_PENDING);
    assert_int_equal(fh_offload_queued(e.h), 0);
    assert_int_equal(fh_inbox_len(e.h), 2);
    assert_int_equal(fh_inbox_sync(e.h, DG_OK), 1);
    assert_int_equal(answer(&e, &r), 0);
    assert_int_equal(r.status, 200);
    free(body);
    env_down(&e);
}

static void test_stop_waits_for_a_signature_check(void **state)
{
    (void)state;
    env e;
    fh_response r;
    char *body = load("order_presale.json");
    up(&e);
    fh_offload_enable(e.h);
    post(&e, "orders/create", body, "wh-1", "ev-1");
    assert_int_equal(fh_offload_queued(e.h), 1);
    /* the worker still reads the request: stop waits, nobody answers it yet */
    dg_op op = fh_new_op(e.h);
    assert_int_equal(e.d->store->stop(e.self, op), DG_PENDING);
    assert_null(fh_completion_for(e.h, op));
    assert_int_equal(answer(&e, &r), DG_PENDING);
    /* the check lands: the sender is told to retry, and stop completes */
    assert_int_equal(fh_offload_run(e.h), 1);
    assert_int_equal(answer(&e, &r), 0);
    assert_int_equal(r.status, 503);
    assert_int_equal(fh_inbox_len(e.h), 0);
    assert_non_null(fh_completion_for(e.h, op));
    e.d->store->destroy(e.self);
    assert_int_equal(fh_double_completions(e.h), 0);
    fh_free(e.h);
    free(body);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ack_after_sync_then_processed),
        cmocka_unit_test(test_duplicates_and_stale_at_processing),
        cmocka_unit_test(test_store_failure_and_slow_store),
        cmocka_unit_test(test_bad_input_never_reaches_the_inbox),
        cmocka_unit_test(test_unusable_and_transient_entries),
        cmocka_unit_test(test_signature_checked_off_the_loop),
        cmocka_unit_test(test_stop_waits_for_a_signature_check),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
