/* examples/skeleton-channel/skeleton.c against the fake host: the JSON it
 * POSTs, how it classifies answers, its cancel-on-stop, and its signed
 * receipt and reply webhooks. */
#include "../unit/cm.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crypto.h"
#include "../plugins/fakehost.h"

const dg_plugin_descriptor *skeleton_LTX_dg_plugin_query(void);

#define CONF                                                                                       \
    "{\"url\": \"https://hooks.example.org/dg\", \"token\": \"tok-123456\", "                      \
    "\"webhook_secret\": \"whsec-abcdef\", \"timeout_ms\": 5000}"

typedef struct ctx {
    fh *h;
    const dg_plugin_descriptor *d;
    void *self;
} ctx;

static int setup(void **state)
{
    ctx *c = calloc(1, sizeof *c);
    char err[256] = "";
    c->d = skeleton_LTX_dg_plugin_query();
    c->h = fh_new("hook", CONF);
    if (fh_create_start(c->h, c->d, &c->self, err, sizeof err) != 0) {
        fprintf(stderr, "start: %s\n", err);
        return -1;
    }
    *state = c;
    return 0;
}

static int teardown(void **state)
{
    ctx *c = *state;
    fh_stop_destroy(c->h, c->d, c->self, 0);
    assert_int_equal(fh_double_completions(c->h), 0);
    fh_free(c->h);
    free(c);
    return 0;
}

static dg_op send_one(ctx *c)
{
    dg_outbound_message m;
    dg_op op = fh_new_op(c->h);
    char text[] = "Hi \"Ana\"\nyour balance";
    DG_INIT(&m);
    m.case_id = 42;
    m.touch_id = 4201;
    m.attempt = 1;
    m.idempotency_key = "dg-42-4201";
    m.to_phone = "+14155550123";
    m.text = text;
    assert_int_equal(c->d->channel->send(c->self, &m, op), DG_PENDING);
    memset(text, 'X', sizeof text - 1); /* borrowed only during send */
    return op;
}

static void test_posts_json_with_headers(void **state)
{
    ctx *c = *state;
    dg_op op = send_one(c);
    fh_outbound *o;
    cJSON *body;
    assert_int_equal(fh_n_outbound(c->h), 1);
    o = fh_outbound_at(c->h, 0);
    assert_string_equal(o->method, "POST");
    assert_string_equal(o->url, "https://hooks.example.org/dg");
    assert_string_equal(o->bearer, "tok-123456");
    assert_string_equal(cJSON_GetObjectItem(o->headers, "Idempotency-Key")->valuestring,
                        "dg-42-4201");
    body = cJSON_Parse(o->body);
    assert_non_null(body);
    assert_string_equal(cJSON_GetObjectItem(body, "text")->valuestring, "Hi \"Ana\"\nyour balance");
    assert_int_equal(cJSON_GetObjectItem(body, "touch_id")->valuedouble, 4201);
    assert_string_equal(cJSON_GetObjectItem(body, "to_phone")->valuestring, "+14155550123");
    cJSON_Delete(body);
    assert_null(fh_completion_for(c->h, op));
    assert_int_equal(
        fh_reply(c->h, 0, 200, NULL, "{\"status\": \"queued\", \"id\": \"msg-9\"}", DG_HTTP_OK, -1),
        0);
    assert_int_equal(fh_completion_for(c->h, op)->status, DG_OK);
    assert_string_equal(fh_completion_for(c->h, op)->provider_id, "msg-9");
}

static void answer(ctx *c, int status, dg_transport_error te, int64_t retry_after,
                   const fh_completion **out)
{
    dg_op op = send_one(c);
    const char *hdr[] = {"Retry-After", "30", NULL};
    assert_int_equal(fh_reply(c->h, fh_n_outbound(c->h) - 1, status, retry_after > 0 ? hdr : NULL,
                              "{}", te, retry_after),
                     0);
    *out = fh_completion_for(c->h, op);
    assert_non_null(*out);
}

static void test_classifies_answers(void **state)
{
    ctx *c = *state;
    const fh_completion *r;
    answer(c, 503, DG_HTTP_OK, 30000, &r);
    assert_int_equal(r->error_class, DG_ERRC_RETRYABLE);
    assert_int_equal(r->retry_after_ms, 30000);
    assert_string_equal(r->error_code, "http-503");
    answer(c, 429, DG_HTTP_OK, -1, &r);
    assert_int_equal(r->error_class, DG_ERRC_RETRYABLE);
    assert_int_equal(r->retry_after_ms, 0);
    answer(c, 404, DG_HTTP_OK, -1, &r);
    assert_true(r->status < 0);
    assert_int_equal(r->error_class, DG_ERRC_PERMANENT);
    answer(c, 0, DG_HTTP_ECONNECT, -1, &r);
    assert_int_equal(r->error_class, DG_ERRC_RETRYABLE);
    answer(c, 301, DG_HTTP_OK, -1, &r);
    assert_int_equal(r->error_class, DG_ERRC_CONFIG);
    assert_true(fh_log_count(c->h, DG_LOG_WARN, "send_failed") >= 5);
    assert_null(strstr(fh_log_text(c->h), "tok-123456"));
}

static void test_stop_cancels_in_flight(void **state)
{
    ctx *c = *state;
    dg_op op = send_one(c);
    assert_int_equal(c->d->channel->stop(c->self, fh_new_op(c->h)), DG_OK);
    assert_true(fh_outbound_at(c->h, 0)->canceled);
    assert_int_equal(fh_completion_for(c->h, op)->status, DG_ECANCELED);
    assert_int_equal(fh_completion_for(c->h, op)->error_class, DG_ERRC_RETRYABLE);
}

static void sign(const char *body, char *hex)
{
    unsigned char mac[32];
    assert_int_equal(dg_hmac(DG_HMAC_SHA256, "whsec-abcdef", 12, body, strlen(body), mac, 32), 32);
    memcpy(hex, "sha256=", 7);
    assert_int_equal(dg_hex_encode(mac, 32, hex + 7, 65), 64);
}

static int post(ctx *c, const char *path, const char *body, const char *sig)
{
    const char *hdr[] = {"X-Skeleton-Signature", sig, NULL};
    fh_response r;
    assert_int_equal(fh_request(c->h, "POST", path, NULL, sig ? hdr : NULL, body, strlen(body), &r),
                     0);
    return r.status;
}

static void test_receipt_webhook(void **state)
{
    ctx *c = *state;
    const char *body = "{\"id\": \"msg-9\", \"status\": \"delivered\", \"touch_id\": 4201}";
    char sig[80];
    const cJSON *ev;
    sign(body, sig);
    assert_int_equal(fh_n_routes(c->h), 2);
    assert_int_equal(post(c, "/hooks/hook/receipt", body, NULL), 401);
    assert_int_equal(post(c, "/hooks/hook/receipt", body, "sha256=00"), 401);
    assert_int_equal(fh_n_events(c->h), 0);
    assert_int_equal(post(c, "/hooks/hook/receipt", body, sig), 200);
    assert_int_equal(fh_n_events(c->h), 1);
    ev = fh_event(c->h, 0);
    assert_int_equal(cJSON_GetObjectItem(ev, "kind")->valueint, DG_CHEV_DELIVERED);
    assert_string_equal(cJSON_GetObjectItem(ev, "provider_message_id")->valuestring, "msg-9");
    assert_int_equal(cJSON_GetObjectItem(ev, "touch_id")->valuedouble, 4201);
    assert_string_equal(cJSON_GetObjectItem(ev, "dedupe_key")->valuestring, "msg-9:delivered");
    /* A duplicate is acknowledged; a storage failure asks for a retry. */
    fh_set_emit_result(c->h, DG_EEXIST);
    assert_int_equal(post(c, "/hooks/hook/receipt", body, sig), 200);
    fh_set_emit_result(c->h, DG_EIO);
    assert_int_equal(post(c, "/hooks/hook/receipt", body, sig), 503);
    fh_set_emit_result(c->h, DG_OK);
    /* failed receipts carry the provider's reason, permanent */
    body = "{\"id\": \"msg-10\", \"status\": \"failed\", \"error\": \"unreachable\"}";
    sign(body, sig);
    assert_int_equal(post(c, "/hooks/hook/receipt", body, sig), 200);
    ev = fh_event(c->h, fh_n_events(c->h) - 1);
    assert_int_equal(cJSON_GetObjectItem(ev, "kind")->valueint, DG_CHEV_FAILED);
    assert_int_equal(cJSON_GetObjectItem(ev, "error_class")->valueint, DG_ERRC_PERMANENT);
    assert_string_equal(cJSON_GetObjectItem(ev, "error_message")->valuestring, "unreachable");
    body = "{\"status\": \"read\"}";
    sign(body, sig);
    assert_int_equal(post(c, "/hooks/hook/receipt", body, sig), 400);
}

static void test_reply_webhook(void **state)
{
    ctx *c = *state;
    const char *body = "{\"id\": \"r-1\", \"from\": \"+14155550123\", \"text\": \"paid it\", "
                       "\"payload\": \"DG_PAID\"}";
    char sig[80];
    const cJSON *ev;
    sign(body, sig);
    assert_int_equal(post(c, "/hooks/hook/reply", body, sig), 200);
    ev = fh_event(c->h, 0);
    assert_int_equal(cJSON_GetObjectItem(ev, "kind")->valueint, DG_CHEV_REPLIED);
    assert_string_equal(cJSON_GetObjectItem(ev, "address")->valuestring, "+14155550123");
    assert_string_equal(cJSON_GetObjectItem(ev, "text")->valuestring, "paid it");
    assert_string_equal(cJSON_GetObjectItem(ev, "payload")->valuestring, "DG_PAID");
    assert_string_equal(cJSON_GetObjectItem(ev, "dedupe_key")->valuestring, "reply:r-1");
}

static void test_rejects_non_http_url(void **state)
{
    (void)state;
    const dg_plugin_descriptor *d = skeleton_LTX_dg_plugin_query();
    fh *h = fh_new("hook", "{\"url\": \"ftp://x\", \"webhook_secret\": \"s\"}");
    void *self = NULL;
    char err[256] = "";
    assert_int_equal(d->channel->create(fh_host(h), fh_inst(h), &self, err, sizeof err),
                     DG_ECONFIG);
    assert_string_equal(err, "url must start with https:// or http://");
    fh_free(h);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_posts_json_with_headers, setup, teardown),
        cmocka_unit_test_setup_teardown(test_classifies_answers, setup, teardown),
        cmocka_unit_test_setup_teardown(test_stop_cancels_in_flight, setup, teardown),
        cmocka_unit_test_setup_teardown(test_receipt_webhook, setup, teardown),
        cmocka_unit_test_setup_teardown(test_reply_webhook, setup, teardown),
        cmocka_unit_test(test_rejects_non_http_url),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
