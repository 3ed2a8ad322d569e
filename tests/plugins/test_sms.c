/* The Twilio SMS plugin against the fake host: request bodies, signature
 * vectors (protocols.md §B6), webhooks, error classes (§B7), keywords (§B8). */
#include "../unit/cm.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crypto.h"
#include "fakehost.h"
#include "form.h"
#include "twilio_sig.h"

const dg_plugin_descriptor *sms_LTX_dg_plugin_query(void);

#define SID "AC00000000000000000000000000000001"
#define SM1 "SM00000000000000000000000000000001"
#define TOKEN "test_auth_token"
#define PUB "https://dunning.example.test"
#define STATUS_PATH "/webhooks/sms/sms_main/status"
#define INBOUND_PATH "/webhooks/sms/sms_main/inbound"

typedef struct t {
    fh *h;
    const dg_plugin_descriptor *d;
    void *self;
} t;

static void up(t *x, const char *extra)
{
    char conf[1024], err[256] = "";
    snprintf(conf, sizeof conf,
             "{\"account_sid\":\"" SID "\",\"auth_token\":\"" TOKEN "\",%s"
             "\"help_text\":\"Acme Shop: help@acme.test, +1 555 0100 <Mon-Fri>\"}",
             extra ? extra : "\"from\":\"+15005550006\",");
    x->d = sms_LTX_dg_plugin_query();
    x->h = fh_new("sms_main", conf);
    assert_non_null(x->h);
    x->self = NULL;
    assert_int_equal(fh_create_start(x->h, x->d, &x->self, err, sizeof err), 0);
    assert_int_equal(fh_n_routes(x->h), 2);
}

static void down(t *x)
{
    assert_int_equal(fh_stop_destroy(x->h, x->d, x->self, 0), 0);
    assert_int_equal(fh_double_completions(x->h), 0);
    assert_null(strstr(fh_log_text(x->h), TOKEN));
    fh_free(x->h);
}

static dg_op send_text(t *x, const char *to, const char *text, int64_t touch, int attempt,
                       int segments)
{
    dg_outbound_message m;
    dg_op op = fh_new_op(x->h);
    DG_INIT(&m);
    m.touch_id = touch;
    m.attempt = attempt;
    m.to_phone = to;
    m.text = text;
    m.sms_segments = segments;
    assert_int_equal(x->d->channel->send(x->self, &m, op), DG_PENDING);
    return op;
}

/* POST a form to a route, signed over `url` unless sig is given. */
static int post_signed(t *x, const char *path, const char *url, const char *const *kv,
                       const char *sig_override, fh_response *resp)
{
    dg__tw_buf body = {0};
    const char *names[32], *values[32];
    char sig[64];
    size_t n = 0;
    for (; kv[2 * n]; n++) {
        names[n] = kv[2 * n];
        values[n] = kv[2 * n + 1];
        assert_int_equal(dg__tw_buf_form(&body, names[n], values[n]), 0);
    }
    assert_int_equal(
        dg__tw_signature(dg_hmac, dg_base64_encode, TOKEN, url, names, values, n, sig, sizeof sig),
        0);
    const char *hdr[] = {"X-Twilio-Signature", sig_override ? sig_override : sig, "Content-Type",
                         "application/x-www-form-urlencoded", NULL};
    int rc = fh_request(x->h, "POST", path, "", sig_override && !*sig_override ? hdr + 2 : hdr,
                        body.p ? body.p : "", body.len, resp);
    dg__tw_buf_free(&body);
    return rc;
}

static const char *ev_str(const cJSON *e, const char *k)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(e, k);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}
static double ev_num(const cJSON *e, const char *k)
{
    return cJSON_GetObjectItemCaseSensitive(e, k)->valuedouble;
}

/* ------------------------------------------------------------ vectors */

static void test_signature_vectors(void **state)
{
    (void)state;
    char sig[64], alt[256];
    const char *n1[] = {"To", "From", "Digits", "Caller", "CallSid"};
    const char *v1[] = {"+18005551212", "+12349013030", "1234", "+12349013030",
                        "CA1234567890ABCDE"};
    assert_int_equal(dg__tw_signature(dg_hmac, dg_base64_encode, "12345",
                                      "https://mycompany.com/myapp.php?foo=1&bar=2", n1, v1, 5, sig,
                                      sizeof sig),
                     0);
    assert_string_equal(sig, "0/KCTR6DLpKmkAf8muzZqo1nDgQ=");
    /* The documented body carries %2B: decoding it gives the signed '+'. */
    const char *body = "CallSid=CA1234567890ABCDE&Caller=%2B12349013030&Digits=1234"
                       "&From=%2B12349013030&To=%2B18005551212";
    dg_form *f = dg_form_parse(body, strlen(body));
    assert_non_null(f);
    assert_string_equal(dg_form_get(f, "Caller"), "+12349013030");
    dg_form_free(f);

    const char *n2[] = {"AccountSid", "ApiVersion",    "ErrorCode", "From", "MessageSid",
                        "SmsSid",     "MessageStatus", "SmsStatus", "To"};
    const char *v2[] = {SID, "2010-04-01",  "30003",       "+15005550006", SM1,
                        SM1, "undelivered", "undelivered", "+15558675310"};
    assert_int_equal(dg__tw_signature(dg_hmac, dg_base64_encode, TOKEN,
                                      "https://dunning.example.test/twilio/status", n2, v2, 9, sig,
                                      sizeof sig),
                     0);
    assert_string_equal(sig, "Df5x/Dmj38xo2bA8SQi5viB1BEQ=");

    assert_int_equal(dg__tw_url_port_variant("https://a.test/x?y=1", alt, sizeof alt), 0);
    assert_string_equal(alt, "https://a.test:443/x?y=1");
    assert_int_equal(dg__tw_url_port_variant("https://a.test:443/x", alt, sizeof alt), 0);
    assert_string_equal(alt, "https://a.test/x");
    assert_int_equal(dg__tw_url_port_variant("http://a.test:80/x", alt, sizeof alt), 0);
    assert_string_equal(alt, "http://a.test/x");
    assert_int_equal(dg__tw_url_port_variant("http://a.test", alt, sizeof alt), 0);
    assert_string_equal(alt, "http://a.test:80");
    assert_int_equal(dg__tw_url_port_variant("https://a.test:8443/x", alt, sizeof alt),
                     DG_ENOTFOUND);
}

/* ------------------------------------------------------------ sending */

static void test_send_request_body(void **state)
{
    (void)state;
    t x;
    up(&x, NULL);
    dg_op op = send_text(&x, "+15558675310", "Hi Ana & co: 100% = €42+tax? é", 77, 1, 1);
    assert_int_equal(fh_n_outbound(x.h), 1);
    fh_outbound *o = fh_outbound_at(x.h, 0);
    assert_string_equal(o->method, "POST");
    assert_string_equal(o->url, "https://api.twilio.com/2010-04-01/Accounts/" SID "/Messages.json");
    assert_string_equal(o->basic_user, SID);
    assert_string_equal(o->basic_password, TOKEN);
    /* Properly encoded: no raw reserved characters, decodes back exactly. */
    assert_null(strchr(o->body, ' '));
    assert_non_null(
        strstr(o->body, "Body=Hi+Ana+%26+co%3A+100%25+%3D+%E2%82%AC42%2Btax%3F+%C3%A9"));
    dg_form *f = dg_form_parse(o->body, o->body_len);
    assert_non_null(f);
    assert_int_equal(dg_form_count(f), 4);
    assert_string_equal(dg_form_get(f, "To"), "+15558675310");
    assert_string_equal(dg_form_get(f, "From"), "+15005550006");
    assert_null(dg_form_get(f, "MessagingServiceSid"));
    assert_string_equal(dg_form_get(f, "Body"), "Hi Ana & co: 100% = €42+tax? é");
    assert_string_equal(dg_form_get(f, "StatusCallback"), PUB STATUS_PATH);
    dg_form_free(f);
    assert_null(fh_completion_for(x.h, op));
    assert_int_equal(fh_reply(x.h, 0, 201, NULL,
                              "{\"sid\":\"" SM1 "\",\"status\":\"queued\",\"num_segments\":\"1\"}",
                              DG_HTTP_OK, -1),
                     0);
    const fh_completion *c = fh_completion_for(x.h, op);
    assert_non_null(c);
    assert_int_equal(c->status, DG_OK);
    assert_string_equal(c->provider_id, SM1);
    assert_non_null(fh_state_get(x.h, "sid:" SM1));
    down(&x);
}

static void test_send_via_messaging_service(void **state)
{
    (void)state;
    t x;
    up(&x, "\"messaging_service_sid\":\"MG0123\",\"api_base\":\"http://127.0.0.1:9999\",");
    send_text(&x, "+15558675310", "hello", 1, 1, 1);
    fh_outbound *o = fh_outbound_at(x.h, 0);
    assert_string_equal(o->url, "http://127.0.0.1:9999/2010-04-01/Accounts/" SID "/Messages.json");
    dg_form *f = dg_form_parse(o->body, o->body_len);
    assert_string_equal(dg_form_get(f, "MessagingServiceSid"), "MG0123");
    assert_null(dg_form_get(f, "From"));
    dg_form_free(f);
    fh_reply(x.h, 0, 201, NULL, "{\"sid\":\"SM2\"}", DG_HTTP_OK, -1);
    down(&x);
}

static void test_config_errors(void **state)
{
    (void)state;
    const dg_plugin_descriptor *d = sms_LTX_dg_plugin_query();
    const char *bad[] = {"{\"auth_token\":\"x\",\"from\":\"+1\"}",
                         "{\"account_sid\":\"AC\",\"auth_token\":\"x\"}",
                         "{\"account_sid\":\"AC\",\"auth_token\":\"x\",\"from\":\"+1\","
                         "\"messaging_service_sid\":\"MG\"}",
                         NULL};
    for (int i = 0; bad[i]; i++) {
        fh *h = fh_new("sms_main", bad[i]);
        void *self = NULL;
        char err[256] = "";
        assert_int_equal(fh_create_start(h, d, &self, err, sizeof err), DG_ECONFIG);
        assert_true(strlen(err) > 0);
        d->channel->destroy(self);
        fh_free(h);
    }
}

static void test_segments_and_missing_fields(void **state)
{
    (void)state;
    t x;
    up(&x, "\"from\":\"+15005550006\",\"max_segments\":3,");
    dg_op op = send_text(&x, "+15558675310", "long text", 1, 1, 4);
    const fh_completion *c = fh_completion_for(x.h, op);
    assert_non_null(c);
    assert_int_equal(c->error_class, DG_ERRC_CONFIG);
    op = send_text(&x, "+15558675310", "three segments", 1, 1, 3);
    assert_null(fh_completion_for(x.h, op));
    fh_reply(x.h, 0, 201, NULL, "{\"sid\":\"SM3\"}", DG_HTTP_OK, -1);
    op = send_text(&x, NULL, "no phone", 1, 1, 1);
    assert_int_equal(fh_completion_for(x.h, op)->error_class, DG_ERRC_PERMANENT);
    assert_int_equal(fh_n_outbound(x.h), 1);
    down(&x);
}

typedef struct errcase {
    int http;
    const char *body;
    dg_transport_error te;
    int64_t retry_after;
    int attempt;
    dg_error_class want;
    int64_t want_retry;
    const char *want_code;
} errcase;

static void test_error_classes(void **state)
{
    (void)state;
    const errcase cases[] = {
        {400, "{\"code\":21610,\"message\":\"unsubscribed\",\"status\":400}", DG_HTTP_OK, -1, 1,
         DG_ERRC_SUPPRESSED, 0, "21610"},
        {400, "{\"code\":21211,\"message\":\"invalid To\"}", DG_HTTP_OK, -1, 1, DG_ERRC_PERMANENT,
         0, "21211"},
        {400, "{\"code\":21614,\"message\":\"not mobile\"}", DG_HTTP_OK, -1, 1, DG_ERRC_PERMANENT,
         0, "21614"},
        {400, "{\"code\":21635,\"message\":\"landline\"}", DG_HTTP_OK, -1, 1, DG_ERRC_PERMANENT, 0,
         "21635"},
        {400, "{\"code\":30006}", DG_HTTP_OK, -1, 1, DG_ERRC_PERMANENT, 0, "30006"},
        {400, "{\"code\":30005}", DG_HTTP_OK, -1, 1, DG_ERRC_PERMANENT, 0, "30005"},
        {400, "{\"code\":30003}", DG_HTTP_OK, -1, 1, DG_ERRC_RETRYABLE, 1800000, "30003"},
        {400, "{\"code\":30003}", DG_HTTP_OK, -1, 2, DG_ERRC_PERMANENT, 0, "30003"},
        {400, "{\"code\":30008}", DG_HTTP_OK, -1, 1, DG_ERRC_RETRYABLE, 1800000, "30008"},
        {429, "{\"code\":20429,\"message\":\"Too Many Requests\"}", DG_HTTP_OK, 7000, 1,
         DG_ERRC_RETRYABLE, 7000, "20429"},
        {429, "", DG_HTTP_OK, -1, 1, DG_ERRC_RETRYABLE, 5000, "429"},
        {500, "oops", DG_HTTP_OK, -1, 1, DG_ERRC_RETRYABLE, 0, "500"},
        {503, "", DG_HTTP_OK, 2000, 1, DG_ERRC_RETRYABLE, 2000, "503"},
        {401, "{\"code\":20003,\"message\":\"Authenticate\"}", DG_HTTP_OK, -1, 1,
         DG_ERRC_STOP_SENDER, 0, "20003"},
        {400, "{\"code\":21606,\"message\":\"bad From\"}", DG_HTTP_OK, -1, 1, DG_ERRC_CONFIG, 0,
         "21606"},
        {400, "{\"code\":21999}", DG_HTTP_OK, -1, 1, DG_ERRC_PERMANENT, 0, "21999"},
        {0, NULL, DG_HTTP_ETIMEOUT, -1, 1, DG_ERRC_RETRYABLE, 0, NULL},
        {0, NULL, DG_HTTP_ECONNECT, -1, 1, DG_ERRC_RETRYABLE, 0, NULL},
    };
    t x;
    up(&x, NULL);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const errcase *e = &cases[i];
        dg_op op = send_text(&x, "+15558675310", "hi", 5, e->attempt, 1);
        assert_int_equal(
            fh_reply(x.h, fh_n_outbound(x.h) - 1, e->http, NULL, e->body, e->te, e->retry_after),
            0);
        const fh_completion *c = fh_completion_for(x.h, op);
        assert_non_null(c);
        assert_true(c->status < 0);
        if (c->error_class != e->want)
            fail_msg("case %zu: class %d, want %d", i, c->error_class, e->want);
        assert_int_equal(c->retry_after_ms, e->want_retry);
        if (e->want_code)
            assert_string_equal(c->error_code, e->want_code);
    }
    down(&x);
}

/* ----------------------------------------------------------- webhooks */

static const char *const status_v2[] = {
    "AccountSid",  SID,    "ApiVersion",    "2010-04-01",  "ErrorCode",
    "30003",       "From", "+15005550006",  "MessageSid",  SM1,
    "SmsSid",      SM1,    "MessageStatus", "undelivered", "SmsStatus",
    "undelivered", "To",   "+15558675310",  NULL};

static void test_status_callback_vector(void **state)
{
    (void)state;
    t x;
    fh_response r;
    up(&x, NULL);
    send_text(&x, "+15558675310", "hi", 77, 1, 1);
    fh_reply(x.h, 0, 201, NULL, "{\"sid\":\"" SM1 "\"}", DG_HTTP_OK, -1);
    /* Independently computed (Python hmac) for the plugin's public route. */
    assert_int_equal(post_signed(&x, STATUS_PATH, PUB STATUS_PATH, status_v2,
                                 "Ig7Z5i8Gnwv9EUbnf8txNd9CPs8=", &r),
                     0);
    assert_int_equal(r.status, 200);
    assert_int_equal(fh_n_events(x.h), 1);
    const cJSON *e = fh_event(x.h, 0);
    assert_int_equal(ev_num(e, "kind"), DG_CHEV_FAILED);
    assert_int_equal(ev_num(e, "touch_id"), 77);
    assert_int_equal(ev_num(e, "error_class"), DG_ERRC_RETRYABLE);
    assert_int_equal(ev_num(e, "retry_after_ms"), 1800000);
    assert_string_equal(ev_str(e, "error_code"), "30003");
    assert_string_equal(ev_str(e, "provider_message_id"), SM1);
    assert_string_equal(ev_str(e, "dedupe_key"), SM1 ":undelivered");
    assert_string_equal(ev_str(e, "address"), "+15558675310");
    down(&x);
}

static void test_signature_with_and_without_port(void **state)
{
    (void)state;
    fh_response r;
    const dg_plugin_descriptor *d = sms_LTX_dg_plugin_query();
    /* Public URL configured with :443, Twilio signed without it. */
    fh *h = fh_new("sms_main", "{\"account_sid\":\"" SID "\",\"auth_token\":\"" TOKEN
                               "\",\"from\":\"+1500\",\"__public_url\":"
                               "\"https://dunning.example.test:443\"}");
    void *self;
    char err[128];
    t x = {h, d, NULL};
    assert_int_equal(fh_create_start(h, d, &self, err, sizeof err), 0);
    x.self = self;
    assert_int_equal(
        post_signed(&x, STATUS_PATH, "", status_v2, "Ig7Z5i8Gnwv9EUbnf8txNd9CPs8=", &r), 0);
    assert_int_equal(r.status, 200);
    /* ... and signed with it. */
    assert_int_equal(
        post_signed(&x, STATUS_PATH, "", status_v2, "IQwBsb49QUGdC5h7kIy+nXVaDYQ=", &r), 0);
    assert_int_equal(r.status, 200);
    down(&x);
    /* Public URL without the port, Twilio signed with it. */
    up(&x, NULL);
    assert_int_equal(
        post_signed(&x, STATUS_PATH, "", status_v2, "IQwBsb49QUGdC5h7kIy+nXVaDYQ=", &r), 0);
    assert_int_equal(r.status, 200);
    assert_int_equal(fh_n_events(x.h), 1);
    down(&x);
}

static void test_bad_signature_is_403(void **state)
{
    (void)state;
    t x;
    fh_response r;
    up(&x, NULL);
    /* Wrong signature. */
    assert_int_equal(
        post_signed(&x, STATUS_PATH, "", status_v2, "Df5x/Dmj38xo2bA8SQi5viB1BEQ=", &r), 0);
    assert_int_equal(r.status, 403);
    /* Missing header. */
    assert_int_equal(post_signed(&x, STATUS_PATH, "", status_v2, "", &r), 0);
    assert_int_equal(r.status, 403);
    /* Signed for another URL (e.g. another instance's route). */
    assert_int_equal(
        post_signed(&x, STATUS_PATH, PUB "/webhooks/sms/other/status", status_v2, NULL, &r), 0);
    assert_int_equal(r.status, 403);
    /* Tampered parameter: signature of the original, body changed. */
    const char *const tampered[] = {
        "AccountSid",  SID,    "ApiVersion",    "2010-04-01", "ErrorCode",
        "30003",       "From", "+15005550006",  "MessageSid", SM1,
        "SmsSid",      SM1,    "MessageStatus", "delivered",  "SmsStatus",
        "undelivered", "To",   "+15558675310",  NULL};
    assert_int_equal(post_signed(&x, STATUS_PATH, "", tampered, "Ig7Z5i8Gnwv9EUbnf8txNd9CPs8=", &r),
                     0);
    assert_int_equal(r.status, 403);
    /* Inbound too. */
    const char *const in[] = {"From", "+15558675310", "Body", "STOP", NULL};
    assert_int_equal(post_signed(&x, INBOUND_PATH, "", in, "AAAA", &r), 0);
    assert_int_equal(r.status, 403);
    assert_int_equal(fh_n_events(x.h), 0);
    assert_true(fh_metric(x.h, "duegate_webhook_rejected_total") >= 5);
    down(&x);
}

static void test_status_mapping(void **state)
{
    (void)state;
    t x;
    fh_response r;
    up(&x, NULL);
    send_text(&x, "+15558675310", "hi", 90, 2, 1);
    fh_reply(x.h, 0, 201, NULL, "{\"sid\":\"SMb\"}", DG_HTTP_OK, -1);
    struct {
        const char *status, *code;
        int kind;
        dg_error_class ec;
    } cs[] = {
        {"queued", NULL, 0, 0},
        {"sending", NULL, 0, 0},
        {"sent", NULL, DG_CHEV_SENT, 0},
        {"delivered", NULL, DG_CHEV_DELIVERED, 0},
        {"read", NULL, DG_CHEV_READ, 0},
        {"failed", "30006", DG_CHEV_FAILED, DG_ERRC_PERMANENT},
        {"undelivered", "30003", DG_CHEV_FAILED, DG_ERRC_PERMANENT}, /* attempt 2: no retry */
        {"undelivered", "30007", DG_CHEV_FAILED, DG_ERRC_PERMANENT},
        {"failed", "21610", DG_CHEV_FAILED, DG_ERRC_SUPPRESSED},
    };
    size_t nev = 0;
    for (size_t i = 0; i < sizeof cs / sizeof cs[0]; i++) {
        const char *kv[] = {"MessageSid",
                            "SMb",
                            "MessageStatus",
                            cs[i].status,
                            "To",
                            "+15558675310",
                            cs[i].code ? "ErrorCode" : NULL,
                            cs[i].code,
                            NULL};
        assert_int_equal(post_signed(&x, STATUS_PATH, PUB STATUS_PATH, kv, NULL, &r), 0);
        assert_int_equal(r.status, 200);
        if (!cs[i].kind) {
            assert_int_equal(fh_n_events(x.h), nev);
            continue;
        }
        assert_int_equal(fh_n_events(x.h), ++nev);
        const cJSON *e = fh_event(x.h, nev - 1);
        assert_int_equal(ev_num(e, "kind"), cs[i].kind);
        assert_int_equal(ev_num(e, "touch_id"), 90);
        if (cs[i].kind == DG_CHEV_FAILED)
            assert_int_equal(ev_num(e, "error_class"), cs[i].ec);
        char dk[64];
        snprintf(dk, sizeof dk, "SMb:%s", cs[i].status);
        assert_string_equal(ev_str(e, "dedupe_key"), dk);
    }
    /* A duplicate the core already has is still acknowledged with 2xx. */
    fh_set_emit_result(x.h, DG_EEXIST);
    const char *dup[] = {"MessageSid", "SMb", "MessageStatus", "sent", NULL};
    assert_int_equal(post_signed(&x, STATUS_PATH, PUB STATUS_PATH, dup, NULL, &r), 0);
    assert_int_equal(r.status, 200);
    /* Storage failure: 500 so Twilio delivers it again. */
    fh_set_emit_result(x.h, DG_EIO);
    assert_int_equal(post_signed(&x, STATUS_PATH, PUB STATUS_PATH, dup, NULL, &r), 0);
    assert_int_equal(r.status, 500);
    fh_set_emit_result(x.h, DG_OK);
    /* Missing MessageStatus. */
    const char *bad[] = {"MessageSid", "SMb", NULL};
    assert_int_equal(post_signed(&x, STATUS_PATH, PUB STATUS_PATH, bad, NULL, &r), 0);
    assert_int_equal(r.status, 400);
    down(&x);
}

static void test_inbound_keywords(void **state)
{
    (void)state;
    t x;
    fh_response r;
    up(&x, NULL);
    struct {
        const char *body;
        int kind; /* 0: HELP answer */
    } cs[] = {
        {"STOP", DG_CHEV_OPTED_OUT},
        {"stop", DG_CHEV_OPTED_OUT},
        {"  Unsubscribe\n", DG_CHEV_OPTED_OUT},
        {"StopAll", DG_CHEV_OPTED_OUT},
        {"cancel", DG_CHEV_OPTED_OUT},
        {"END", DG_CHEV_OPTED_OUT},
        {"quit", DG_CHEV_OPTED_OUT},
        {"REVOKE", DG_CHEV_OPTED_OUT},
        {"optout", DG_CHEV_OPTED_OUT},
        {"START", DG_CHEV_OPTED_IN},
        {"yes", DG_CHEV_OPTED_IN},
        {"Unstop", DG_CHEV_OPTED_IN},
        {"HELP", 0},
        {"info", 0},
        {"stop please", DG_CHEV_REPLIED},
        {"Can I pay on Friday?", DG_CHEV_REPLIED},
        {"STOP.", DG_CHEV_REPLIED},
        {"", DG_CHEV_REPLIED},
    };
    size_t nev = 0;
    for (size_t i = 0; i < sizeof cs / sizeof cs[0]; i++) {
        char sid[16];
        snprintf(sid, sizeof sid, "SMin%zu", i);
        const char *kv[] = {
            "MessageSid", sid, "From", "+15558675310", "To", "+15005550006", "Body", cs[i].body,
            "NumMedia",   "0", NULL};
        assert_int_equal(post_signed(&x, INBOUND_PATH, PUB INBOUND_PATH, kv, NULL, &r), 0);
        assert_int_equal(r.status, 200);
        assert_string_equal(r.content_type, "text/xml");
        if (cs[i].kind == 0) {
            assert_non_null(strstr(r.body, "<Response><Message>Acme Shop: help@acme.test, "
                                           "+1 555 0100 &lt;Mon-Fri&gt;</Message></Response>"));
            assert_int_equal(fh_n_events(x.h), nev);
            continue;
        }
        assert_string_equal(r.body, "<Response/>");
        assert_int_equal(fh_n_events(x.h), ++nev);
        const cJSON *e = fh_event(x.h, nev - 1);
        if ((int)ev_num(e, "kind") != cs[i].kind)
            fail_msg("body '%s': kind %d want %d", cs[i].body, (int)ev_num(e, "kind"), cs[i].kind);
        assert_string_equal(ev_str(e, "address"), "+15558675310");
        if (cs[i].kind == DG_CHEV_REPLIED)
            assert_string_equal(ev_str(e, "text"), cs[i].body);
        char dk[32];
        snprintf(dk, sizeof dk, "%s:inbound", sid);
        assert_string_equal(ev_str(e, "dedupe_key"), dk);
    }
    /* Advanced Opt-Out tells us the type directly. */
    const char *kv[] = {"MessageSid", "SMadv", "From", "+15558675310", "Body", "arrêter",
                        "OptOutType", "STOP",  NULL};
    assert_int_equal(post_signed(&x, INBOUND_PATH, PUB INBOUND_PATH, kv, NULL, &r), 0);
    assert_int_equal(ev_num(fh_event(x.h, fh_n_events(x.h) - 1), "kind"), DG_CHEV_OPTED_OUT);
    /* Repeated parameter names are signed value-sorted. */
    const char *rep[] = {"MessageSid",   "SM1",  "From", "+15558675310", "To",
                         "+15005550006", "Body", "STOP", "Tag",          "b",
                         "Tag",          "a",    NULL};
    assert_int_equal(post_signed(&x, INBOUND_PATH, "", rep, "/q/8VfovpGeA21GmX+l+Ba47ODA=", &r), 0);
    assert_int_equal(r.status, 200);
    /* Phones never reach the logs in clear. */
    assert_null(strstr(fh_log_text(x.h), "+15558675310"));
    down(&x);
}

static void test_stop_drains_inflight(void **state)
{
    (void)state;
    t x;
    up(&x, NULL);
    dg_op send_op = send_text(&x, "+15558675310", "hi", 1, 1, 1);
    dg_op stop_op = fh_new_op(x.h);
    assert_int_equal(x.d->channel->stop(x.self, stop_op), DG_PENDING);
    assert_null(fh_completion_for(x.h, stop_op));
    dg_outbound_message m;
    DG_INIT(&m);
    m.to_phone = "+1555";
    m.text = "x";
    assert_int_equal(x.d->channel->send(x.self, &m, fh_new_op(x.h)), DG_ESTATE);
    fh_reply(x.h, 0, 201, NULL, "{\"sid\":\"SMz\"}", DG_HTTP_OK, -1);
    assert_non_null(fh_completion_for(x.h, send_op));
    assert_non_null(fh_completion_for(x.h, stop_op));
    x.d->channel->destroy(x.self);
    assert_int_equal(fh_double_completions(x.h), 0);
    fh_free(x.h);
}

/* A host whose emit completes later (DG_PENDING then done) or calls done
 * from inside emit: the webhook is answered exactly once, after storage. */
static const dg_host *g_real;
static dg_emit_done_cb g_done;
static void *g_ud;
static int g_mode; /* 0: pending, 1: done inside emit then DG_OK */

static int wrap_emit(dg_instance *inst, const dg_channel_event *ev, dg_emit_done_cb done, void *ud)
{
    g_real->emit_channel_event(inst, ev, NULL, NULL); /* record it */
    if (g_mode == 1) {
        done(ud, DG_OK);
        return DG_OK;
    }
    g_done = done;
    g_ud = ud;
    return DG_PENDING;
}

static void test_async_emit(void **state)
{
    (void)state;
    fh *h = fh_new("sms_main", "{\"account_sid\":\"" SID "\",\"auth_token\":\"" TOKEN
                               "\",\"from\":\"+15005550006\"}");
    dg_host host = *fh_host(h);
    const dg_plugin_descriptor *d = sms_LTX_dg_plugin_query();
    void *self = NULL;
    char err[128];
    fh_response r;
    g_real = fh_host(h);
    host.emit_channel_event = wrap_emit;
    assert_int_equal(d->channel->create(&host, fh_inst(h), &self, err, sizeof err), 0);
    assert_int_equal(d->channel->start(self, err, sizeof err), 0);
    t x = {h, d, self};
    const char *kv[] = {"MessageSid", "SMa", "MessageStatus", "delivered", NULL};
    g_mode = 0;
    assert_int_equal(post_signed(&x, STATUS_PATH, PUB STATUS_PATH, kv, NULL, &r), DG_PENDING);
    assert_int_equal(fh_pending_response(h, &r), DG_PENDING); /* not before it is stored */
    g_done(g_ud, DG_OK);
    assert_int_equal(fh_pending_response(h, &r), 0);
    assert_int_equal(r.status, 200);
    /* Storage failed later: 500, Twilio retries. */
    assert_int_equal(post_signed(&x, STATUS_PATH, PUB STATUS_PATH, kv, NULL, &r), DG_PENDING);
    g_done(g_ud, DG_EIO);
    assert_int_equal(fh_pending_response(h, &r), 0);
    assert_int_equal(r.status, 500);
    /* done inside emit. */
    g_mode = 1;
    const char *in[] = {"MessageSid", "SMi", "From", "+15558675310", "Body", "hello", NULL};
    assert_int_equal(post_signed(&x, INBOUND_PATH, PUB INBOUND_PATH, in, NULL, &r), 0);
    assert_int_equal(r.status, 200);
    assert_string_equal(r.body, "<Response/>");
    assert_int_equal(fh_n_events(h), 3);
    assert_int_equal(fh_double_completions(h), 0); /* also counts double answers */
    d->channel->stop(self, fh_new_op(h));
    d->channel->destroy(self);
    fh_free(h);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_signature_vectors),
        cmocka_unit_test(test_send_request_body),
        cmocka_unit_test(test_send_via_messaging_service),
        cmocka_unit_test(test_config_errors),
        cmocka_unit_test(test_segments_and_missing_fields),
        cmocka_unit_test(test_error_classes),
        cmocka_unit_test(test_status_callback_vector),
        cmocka_unit_test(test_signature_with_and_without_port),
        cmocka_unit_test(test_bad_signature_is_403),
        cmocka_unit_test(test_status_mapping),
        cmocka_unit_test(test_inbound_keywords),
        cmocka_unit_test(test_stop_drains_inflight),
        cmocka_unit_test(test_async_emit),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
