/* WhatsApp plugin, send side: request bodies, the 24 h window, error
 * classes from synchronous responses, pacing, sender stop, instances. */
#include "../unit/cm.h"

#include "wa_testutil.h"

static const char *OK_BODY =
    "{\"messaging_product\":\"whatsapp\",\"contacts\":[{\"input\":\"14155550123\","
    "\"wa_id\":\"14155550123\"}],\"messages\":[{\"id\":\"wamid.OK1\","
    "\"message_status\":\"accepted\"}]}";

static void assert_json_equal(const char *got, const char *want)
{
    cJSON *g = cJSON_Parse(got), *w = cJSON_Parse(want);
    assert_non_null(g);
    assert_non_null(w);
    if (!cJSON_Compare(g, w, 1)) {
        char *ws = cJSON_PrintUnformatted(w);
        fprintf(stderr, "got:  %s\nwant: %s\n", got, ws);
        free(ws);
        fail();
    }
    cJSON_Delete(g);
    cJSON_Delete(w);
}

static void test_template_positional_with_buttons(void **state)
{
    (void)state;
    wat t = wat_start("wa1", "");
    dg_outbound_message m;
    dg_template_param p[2];
    dg_template_button b[2];
    wat_msg(&m, p, "+14155550123", 4242);
    DG_INIT(&b[0]);
    DG_INIT(&b[1]);
    b[0].kind = DG_BUTTON_URL;
    b[0].index = 0;
    b[0].value = "p/AbC123";
    b[1].kind = DG_BUTTON_QUICK_REPLY;
    b[1].index = 1;
    b[1].value = DG_PAYLOAD_PAID;
    m.buttons = b;
    m.n_buttons = 2;
    dg_op op = wat_send(&t, &m);
    assert_int_equal(fh_n_outbound(t.h), 1);
    fh_outbound *o = fh_outbound_at(t.h, 0);
    assert_string_equal(o->method, "POST");
    assert_string_equal(o->url, WA_TEST_URL);
    assert_string_equal(o->bearer, "tok-SECRET-a1");
    assert_string_equal(cJSON_GetObjectItem(o->headers, "Content-Type")->valuestring,
                        "application/json");
    assert_json_equal(
        o->body,
        "{\"messaging_product\":\"whatsapp\",\"recipient_type\":\"individual\","
        "\"to\":\"14155550123\",\"type\":\"template\",\"biz_opaque_callback_data\":\"4242\","
        "\"template\":{\"name\":\"payment_reminder\",\"language\":{\"code\":\"en_US\"},"
        "\"components\":[{\"type\":\"body\",\"parameters\":[{\"type\":\"text\",\"text\":\"Ana\"},"
        "{\"type\":\"text\",\"text\":\"#1001\"}]},"
        "{\"type\":\"button\",\"sub_type\":\"url\",\"index\":0,"
        "\"parameters\":[{\"type\":\"text\",\"text\":\"p/AbC123\"}]},"
        "{\"type\":\"button\",\"sub_type\":\"quick_reply\",\"index\":1,"
        "\"parameters\":[{\"type\":\"payload\",\"payload\":\"DG_PAID\"}]}]}}");
    assert_null(fh_completion_for(t.h, op));
    fh_reply(t.h, 0, 200, NULL, OK_BODY, DG_HTTP_OK, -1);
    const fh_completion *c = fh_completion_for(t.h, op);
    assert_non_null(c);
    assert_int_equal(c->status, DG_OK);
    assert_string_equal(c->provider_id, "wamid.OK1");
    assert_string_equal(fh_state_get(t.h, "wamid:wamid.OK1"), "4242");
    wat_end(&t);
}

static void test_template_named_and_cleaned(void **state)
{
    (void)state;
    wat t = wat_start("wa1", "");
    dg_outbound_message m;
    dg_template_param p[2];
    wat_msg(&m, p, "14155550123", 9);
    p[0].name = "first_name";
    p[1].name = "order";
    p[1].value = "#1001\n\tLinen    dress";
    m.template_language = NULL;
    m.locale = "pt-BR"; /* no explicit language: the negotiated locale, Meta style */
    wat_send(&t, &m);
    assert_json_equal(
        fh_outbound_at(t.h, 0)->body,
        "{\"messaging_product\":\"whatsapp\",\"recipient_type\":\"individual\","
        "\"to\":\"14155550123\",\"type\":\"template\",\"biz_opaque_callback_data\":\"9\","
        "\"template\":{\"name\":\"payment_reminder\",\"language\":{\"code\":\"pt_BR\"},"
        "\"components\":[{\"type\":\"body\",\"parameters\":["
        "{\"type\":\"text\",\"parameter_name\":\"first_name\",\"text\":\"Ana\"},"
        "{\"type\":\"text\",\"parameter_name\":\"order\",\"text\":\"#1001 Linen dress\"}]}]}}");
    wat_end(&t);
}

static void test_mixed_params_is_config_error(void **state)
{
    (void)state;
    wat t = wat_start("wa1", "");
    dg_outbound_message m;
    dg_template_param p[2];
    wat_msg(&m, p, "+14155550123", 9);
    p[0].name = "first_name";
    dg_op op = wat_send(&t, &m);
    assert_int_equal(fh_n_outbound(t.h), 0);
    assert_int_equal(fh_completion_for(t.h, op)->error_class, DG_ERRC_CONFIG);
    wat_end(&t);
}

static void open_window(wat *t, const char *e164, int64_t ago_ms)
{
    char key[64], val[32];
    snprintf(key, sizeof key, "win:%s", e164);
    snprintf(val, sizeof val, "%lld", (long long)(fh_now(t->h) - ago_ms));
    fh_state_put(t->h, key, val);
}

static void test_free_form_inside_window(void **state)
{
    (void)state;
    wat t = wat_start("wa1", "");
    dg_outbound_message m;
    dg_template_param p[2];
    wat_msg(&m, p, "+14155550123", 77);
    m.text = "Hi Ana, your balance for #1001 is ready: https://pay.example/p/1";
    open_window(&t, "+14155550123", 3600 * 1000);
    wat_send(&t, &m);
    assert_json_equal(fh_outbound_at(t.h, 0)->body,
                      "{\"messaging_product\":\"whatsapp\",\"recipient_type\":\"individual\","
                      "\"to\":\"14155550123\",\"type\":\"text\",\"biz_opaque_callback_data\":"
                      "\"77\",\"text\":{\"preview_url\":false,\"body\":\"Hi Ana, your balance "
                      "for #1001 is ready: https://pay.example/p/1\"}}");
    wat_end(&t);
}

static void test_outside_window_uses_template_or_refuses(void **state)
{
    (void)state;
    wat t = wat_start("wa1", "");
    dg_outbound_message m;
    dg_template_param p[2];
    wat_msg(&m, p, "+14155550123", 78);
    m.text = "free-form text";
    open_window(&t, "+14155550123", 24LL * 3600 * 1000 + 1); /* just expired */
    wat_send(&t, &m);
    assert_int_equal(fh_n_outbound(t.h), 1);
    assert_non_null(strstr(fh_outbound_at(t.h, 0)->body, "\"type\":\"template\""));
    /* text only: never sent outside the window */
    m.template_name = NULL;
    m.to_phone = "+14155550999";
    dg_op op = wat_send(&t, &m);
    assert_int_equal(fh_n_outbound(t.h), 1);
    const fh_completion *c = fh_completion_for(t.h, op);
    assert_non_null(c);
    assert_int_equal(c->error_class, DG_ERRC_PERMANENT);
    assert_string_equal(c->error_code, "window_closed");
    wat_end(&t);
}

static void test_131047_resends_as_template(void **state)
{
    (void)state;
    wat t = wat_start("wa1", "");
    dg_outbound_message m;
    dg_template_param p[2];
    wat_msg(&m, p, "+14155550123", 79);
    m.text = "free-form text";
    open_window(&t, "+14155550123", 1000);
    dg_op op = wat_send(&t, &m);
    assert_non_null(strstr(fh_outbound_at(t.h, 0)->body, "\"type\":\"text\""));
    fh_reply(t.h, 0, 400, NULL,
             "{\"error\":{\"message\":\"(#131047) Re-engagement message\",\"type\":"
             "\"OAuthException\",\"code\":131047,\"fbtrace_id\":\"x\"}}",
             DG_HTTP_OK, -1);
    assert_null(fh_completion_for(t.h, op));
    assert_null(fh_state_get(t.h, "win:+14155550123"));
    fh_advance(t.h, 6000); /* recipient spacing */
    assert_int_equal(fh_n_outbound(t.h), 2);
    assert_non_null(strstr(fh_outbound_at(t.h, 1)->body, "\"type\":\"template\""));
    fh_reply(t.h, 1, 200, NULL, OK_BODY, DG_HTTP_OK, -1);
    assert_int_equal(fh_completion_for(t.h, op)->status, DG_OK);
    wat_end(&t);
}

static void test_unusable_text_falls_back_or_is_refused(void **state)
{
    (void)state;
    wat t = wat_start("wa1", "");
    dg_outbound_message m;
    dg_template_param p[2];
    char *big = malloc(5000);
    memset(big, 'a', 4999);
    big[4999] = '\0';
    open_window(&t, "+14155550123", 1000);
    /* text over the 4096 limit: the template goes instead */
    wat_msg(&m, p, "+14155550123", 80);
    m.text = big;
    wat_send(&t, &m);
    assert_int_equal(fh_n_outbound(t.h), 1);
    assert_non_null(strstr(fh_outbound_at(t.h, 0)->body, "\"type\":\"template\""));
    /* ... and without a template it is our message's fault */
    m.template_name = NULL;
    m.to_phone = "+14155550124";
    open_window(&t, "+14155550124", 1000);
    dg_op op = wat_send(&t, &m);
    assert_int_equal(fh_completion_for(t.h, op)->error_class, DG_ERRC_CONFIG);
    /* neither text nor template */
    m.text = NULL;
    op = wat_send(&t, &m);
    assert_int_equal(fh_completion_for(t.h, op)->error_class, DG_ERRC_CONFIG);
    assert_int_equal(fh_n_outbound(t.h), 1);
    free(big);
    wat_end(&t);
}

/* ------------------------------------------------ error classification */

typedef struct code_case {
    long code;
    int http;
    dg_error_class cls;
    int64_t retry_ms; /* -1: not checked */
} code_case;

/* Every code of protocols.md A7 with the class the product needs. */
static const code_case A7[] = {
    {131047, 400, DG_ERRC_PERMANENT, -1},   {131026, 400, DG_ERRC_PERMANENT, -1},
    {130429, 400, DG_ERRC_RETRYABLE, 1000}, {131056, 400, DG_ERRC_RETRYABLE, 6000},
    {131048, 400, DG_ERRC_STOP_SENDER, -1}, {131049, 400, DG_ERRC_WAIT, 86400000},
    {131050, 400, DG_ERRC_PERMANENT, -1},   {132000, 400, DG_ERRC_CONFIG, -1},
    {132001, 404, DG_ERRC_CONFIG, -1},      {132005, 400, DG_ERRC_CONFIG, -1},
    {132007, 400, DG_ERRC_CONFIG, -1},      {132008, 400, DG_ERRC_CONFIG, -1},
    {132012, 400, DG_ERRC_CONFIG, -1},      {132015, 400, DG_ERRC_CONFIG, -1},
    {132016, 400, DG_ERRC_CONFIG, -1},      {368, 403, DG_ERRC_STOP_SENDER, -1},
    {131031, 403, DG_ERRC_STOP_SENDER, -1}, {130497, 403, DG_ERRC_STOP_SENDER, -1},
    {190, 401, DG_ERRC_STOP_SENDER, -1},    {4, 400, DG_ERRC_RETRYABLE, 60000},
    {80007, 400, DG_ERRC_RETRYABLE, 60000}, {131000, 500, DG_ERRC_RETRYABLE, 5000},
    {131016, 503, DG_ERRC_RETRYABLE, 5000}, {131042, 400, DG_ERRC_STOP_SENDER, -1},
    {131030, 400, DG_ERRC_PERMANENT, -1},   {100, 400, DG_ERRC_PERMANENT, -1},
    {131008, 400, DG_ERRC_PERMANENT, -1},   {131009, 400, DG_ERRC_PERMANENT, -1},
    {130472, 400, DG_ERRC_PERMANENT, -1},
};

static void test_every_code_from_send_response(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof A7 / sizeof A7[0]; i++) {
        /* a 200 status must not fool the classifier either: branch on code */
        for (int pass = 0; pass < 2; pass++) {
            wat t = wat_start("wa1", "");
            dg_outbound_message m;
            dg_template_param p[2];
            char body[256], code[24];
            wat_msg(&m, p, "+14155550123", 5);
            dg_op op = wat_send(&t, &m);
            snprintf(body, sizeof body,
                     "{\"error\":{\"message\":\"(#%ld) x\",\"type\":\"OAuthException\","
                     "\"code\":%ld,\"error_data\":{\"messaging_product\":\"whatsapp\","
                     "\"details\":\"d\"},\"fbtrace_id\":\"f\"}}",
                     A7[i].code, A7[i].code);
            fh_reply(t.h, 0, pass ? 200 : A7[i].http, NULL, body, DG_HTTP_OK, -1);
            const fh_completion *c = fh_completion_for(t.h, op);
            assert_non_null(c);
            snprintf(code, sizeof code, "%ld", A7[i].code);
            if (c->error_class != A7[i].cls)
                fprintf(stderr, "code %ld: class %d, want %d\n", A7[i].code, c->error_class,
                        A7[i].cls);
            assert_int_equal(c->error_class, A7[i].cls);
            assert_int_not_equal(c->status, DG_OK);
            assert_string_equal(c->error_code, code);
            if (A7[i].retry_ms >= 0)
                assert_int_equal(c->retry_after_ms, A7[i].retry_ms);
            assert_int_equal(fh_healthy(t.h), A7[i].cls == DG_ERRC_STOP_SENDER ? 0 : 1);
            wat_end(&t);
        }
    }
}

static void test_retry_after_transient_and_transport(void **state)
{
    (void)state;
    struct {
        int http;
        const char *body;
        dg_transport_error te;
        int64_t retry_hdr;
        dg_error_class cls;
        int64_t retry_ms;
    } cases[] = {
        /* Retry-After wins over the default */
        {429, "{\"error\":{\"code\":130429,\"message\":\"m\"}}", DG_HTTP_OK, 7000,
         DG_ERRC_RETRYABLE, 7000},
        /* an unknown code flagged transient is retried */
        {400, "{\"error\":{\"code\":999999,\"is_transient\":true}}", DG_HTTP_OK, -1,
         DG_ERRC_RETRYABLE, 5000},
        /* an unknown code not flagged transient is final for the channel */
        {400, "{\"error\":{\"code\":999999,\"is_transient\":false}}", DG_HTTP_OK, -1,
         DG_ERRC_PERMANENT, -1},
        /* a config code flagged transient is retried */
        {400, "{\"error\":{\"code\":132001,\"is_transient\":true}}", DG_HTTP_OK, -1,
         DG_ERRC_RETRYABLE, -1},
        {502, "<html>bad gateway</html>", DG_HTTP_OK, -1, DG_ERRC_RETRYABLE, 5000},
        {404, "not found", DG_HTTP_OK, -1, DG_ERRC_CONFIG, -1},
        {0, NULL, DG_HTTP_ETIMEOUT, -1, DG_ERRC_RETRYABLE, -1},
        {0, NULL, DG_HTTP_ECONNECT, -1, DG_ERRC_RETRYABLE, -1},
        {200, "{\"messages\":[]}", DG_HTTP_OK, -1, DG_ERRC_RETRYABLE, -1},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        wat t = wat_start("wa1", "");
        dg_outbound_message m;
        dg_template_param p[2];
        wat_msg(&m, p, "+14155550123", 5);
        dg_op op = wat_send(&t, &m);
        fh_reply(t.h, 0, cases[i].http, NULL, cases[i].body, cases[i].te, cases[i].retry_hdr);
        const fh_completion *c = fh_completion_for(t.h, op);
        assert_non_null(c);
        assert_int_not_equal(c->status, DG_OK);
        assert_int_equal(c->error_class, cases[i].cls);
        if (cases[i].retry_ms >= 0)
            assert_int_equal(c->retry_after_ms, cases[i].retry_ms);
        assert_int_equal(fh_healthy(t.h), 1);
        wat_end(&t);
    }
}

/* ---------------------------------------------------------------- pacing */

static void test_bucket_81st_waits_for_the_next_second(void **state)
{
    (void)state;
    wat t = wat_start("wa1", "");
    dg_outbound_message m;
    dg_template_param p[2];
    char to[32];
    dg_op ops[81];
    for (int i = 0; i < 81; i++) {
        snprintf(to, sizeof to, "+1415555%04d", i);
        wat_msg(&m, p, to, 100 + i);
        ops[i] = wat_send(&t, &m);
    }
    assert_int_equal(fh_n_outbound(t.h), 80);
    assert_int_equal(fh_metric(t.h, "duegate_whatsapp_queue_depth"), 1);
    fh_advance(t.h, 999);
    assert_int_equal(fh_n_outbound(t.h), 80);
    fh_advance(t.h, 1);
    assert_int_equal(fh_n_outbound(t.h), 81);
    assert_non_null(strstr(fh_outbound_at(t.h, 80)->body, "14155550080"));
    for (int i = 0; i < 81; i++)
        fh_reply(t.h, (size_t)i, 200, NULL, OK_BODY, DG_HTTP_OK, -1);
    for (int i = 0; i < 81; i++)
        assert_int_equal(fh_completion_for(t.h, ops[i])->status, DG_OK);
    wat_end(&t);
}

static void test_custom_rate_and_recipient_spacing(void **state)
{
    (void)state;
    wat t = wat_start("wa1", ",\"rate_per_second\": 2, \"recipient_spacing_ms\": 6000");
    dg_outbound_message m;
    dg_template_param p[2];
    wat_msg(&m, p, "+14155550001", 1);
    wat_send(&t, &m);
    wat_send(&t, &m); /* same recipient: must wait 6 s */
    wat_msg(&m, p, "+14155550002", 2);
    wat_send(&t, &m); /* another recipient: goes now */
    wat_msg(&m, p, "+14155550003", 3);
    wat_send(&t, &m); /* third in the same second: rate 2 */
    assert_int_equal(fh_n_outbound(t.h), 2);
    assert_non_null(strstr(fh_outbound_at(t.h, 1)->body, "14155550002"));
    fh_advance(t.h, 1000);
    assert_int_equal(fh_n_outbound(t.h), 3);
    assert_non_null(strstr(fh_outbound_at(t.h, 2)->body, "14155550003"));
    fh_advance(t.h, 4999);
    assert_int_equal(fh_n_outbound(t.h), 3);
    fh_advance(t.h, 1);
    assert_int_equal(fh_n_outbound(t.h), 4);
    assert_non_null(strstr(fh_outbound_at(t.h, 3)->body, "14155550001"));
    wat_end(&t);
}

static void test_throttle_errors_hold_the_queue(void **state)
{
    (void)state;
    wat t = wat_start("wa1", "");
    dg_outbound_message m;
    dg_template_param p[2];
    wat_msg(&m, p, "+14155550001", 1);
    wat_send(&t, &m);
    fh_reply(t.h, 0, 400, NULL, "{\"error\":{\"code\":130429,\"message\":\"mps\"}}", DG_HTTP_OK,
             2000);
    /* Meta said the number is over its rate: nothing goes for 2 s */
    wat_msg(&m, p, "+14155550002", 2);
    wat_send(&t, &m);
    assert_int_equal(fh_n_outbound(t.h), 1);
    fh_advance(t.h, 1999);
    assert_int_equal(fh_n_outbound(t.h), 1);
    fh_advance(t.h, 1);
    assert_int_equal(fh_n_outbound(t.h), 2);
    /* 131056 restarts the spacing of that customer only */
    fh_advance(t.h, 10000);
    wat_msg(&m, p, "+14155550003", 3);
    wat_send(&t, &m);
    fh_reply(t.h, 2, 400, NULL, "{\"error\":{\"code\":131056,\"message\":\"pair\"}}", DG_HTTP_OK,
             -1);
    fh_advance(t.h, 3000);
    wat_send(&t, &m); /* the same customer again: waits 6 s from the 131056 */
    wat_msg(&m, p, "+14155550004", 4);
    wat_send(&t, &m); /* another one: goes now */
    assert_int_equal(fh_n_outbound(t.h), 4);
    assert_non_null(strstr(fh_outbound_at(t.h, 3)->body, "14155550004"));
    fh_advance(t.h, 2999);
    assert_int_equal(fh_n_outbound(t.h), 4);
    fh_advance(t.h, 1);
    assert_int_equal(fh_n_outbound(t.h), 5);
    assert_non_null(strstr(fh_outbound_at(t.h, 4)->body, "14155550003"));
    wat_end(&t);
}

/* A host whose HTTP client answers inside http_request (and, worse, also
 * returns an error after answering): every op still completes exactly once. */
static fh *g_sync_fh;
static const char *g_sync_body;
static int g_sync_status, g_sync_rc;
static int sync_http(dg_instance *inst, const dg_http_request *req, dg_http_done_cb done, void *ud,
                     dg_http_call **call)
{
    int rc = fh_host(g_sync_fh)->http_request(inst, req, done, ud, call);
    if (rc == 0)
        fh_reply(g_sync_fh, fh_n_outbound(g_sync_fh) - 1, g_sync_status, NULL, g_sync_body,
                 DG_HTTP_OK, -1);
    return g_sync_rc;
}

static void test_host_answering_inside_http_request(void **state)
{
    (void)state;
    const dg_plugin_descriptor *d = whatsapp_LTX_dg_plugin_query();
    char conf[1024], err[256];
    snprintf(conf, sizeof conf, WA_TEST_CONF, "");
    fh *h = fh_new("wa1", conf);
    dg_host host = *fh_host(h);
    void *self = NULL;
    dg_outbound_message m;
    dg_template_param p[2];
    host.http_request = sync_http;
    g_sync_fh = h;
    assert_int_equal(d->channel->create(&host, fh_inst(h), &self, err, sizeof err), 0);
    assert_int_equal(d->channel->start(self, err, sizeof err), 0);
    /* accepted at once */
    g_sync_status = 200;
    g_sync_rc = 0;
    g_sync_body = "{\"messages\":[{\"id\":\"wamid.S1\"}]}";
    wat_msg(&m, p, "+14155550001", 1);
    dg_op a = fh_new_op(h);
    assert_int_equal(d->channel->send(self, &m, a), DG_PENDING);
    assert_string_equal(fh_completion_for(h, a)->provider_id, "wamid.S1");
    /* refused at once, and the host also returns an error */
    g_sync_status = 400;
    g_sync_rc = DG_EIO;
    g_sync_body = "{\"error\":{\"code\":132001,\"message\":\"x\"}}";
    wat_msg(&m, p, "+14155550002", 2);
    dg_op b = fh_new_op(h);
    assert_int_equal(d->channel->send(self, &m, b), DG_PENDING);
    assert_int_equal(fh_completion_for(h, b)->error_class, DG_ERRC_CONFIG);
    /* a free-form text refused 131047 at once: requeued as its template */
    char win[32];
    snprintf(win, sizeof win, "%lld", (long long)fh_now(h));
    fh_state_put(h, "win:+14155550003", win);
    g_sync_rc = 0;
    g_sync_body = "{\"error\":{\"code\":131047,\"message\":\"window\"}}";
    wat_msg(&m, p, "+14155550003", 3);
    m.text = "free-form";
    dg_op c = fh_new_op(h);
    assert_int_equal(d->channel->send(self, &m, c), DG_PENDING);
    assert_null(fh_completion_for(h, c));
    g_sync_status = 200;
    g_sync_body = "{\"messages\":[{\"id\":\"wamid.S3\"}]}";
    fh_advance(h, 6000);
    assert_string_equal(fh_completion_for(h, c)->provider_id, "wamid.S3");
    assert_int_equal(fh_n_outbound(h), 4);
    assert_int_equal(fh_double_completions(h), 0);
    dg_op stop = fh_new_op(h);
    assert_int_equal(d->channel->stop(self, stop), DG_OK);
    d->channel->destroy(self);
    fh_free(h);
}

/* ---------------------------------------------------------- sender stop */

static void test_stop_sender_refuses_later_sends(void **state)
{
    (void)state;
    wat t = wat_start("wa1", ",\"rate_per_second\": 1");
    dg_outbound_message m;
    dg_template_param p[2];
    wat_msg(&m, p, "+14155550001", 1);
    dg_op first = wat_send(&t, &m);
    wat_msg(&m, p, "+14155550002", 2);
    dg_op queued = wat_send(&t, &m); /* waits for the next second */
    assert_int_equal(fh_n_outbound(t.h), 1);
    fh_reply(t.h, 0, 403, NULL,
             "{\"error\":{\"message\":\"(#368) Temporarily blocked for policy violations\","
             "\"type\":\"OAuthException\",\"code\":368,\"fbtrace_id\":\"x\"}}",
             DG_HTTP_OK, -1);
    assert_int_equal(fh_completion_for(t.h, first)->error_class, DG_ERRC_STOP_SENDER);
    assert_int_equal(fh_completion_for(t.h, queued)->error_class, DG_ERRC_STOP_SENDER);
    assert_int_equal(fh_healthy(t.h), 0);
    assert_non_null(strstr(fh_health_reason(t.h), "368"));
    assert_int_equal(fh_log_count(t.h, DG_LOG_ERROR, "whatsapp_sender_stopped"), 1);
    wat_msg(&m, p, "+14155550003", 3);
    dg_op later = wat_send(&t, &m);
    fh_advance(t.h, 5000);
    assert_int_equal(fh_n_outbound(t.h), 1);
    assert_int_equal(fh_completion_for(t.h, later)->error_class, DG_ERRC_STOP_SENDER);
    assert_string_equal(fh_completion_for(t.h, later)->error_code, "sender_stopped");
    /* secrets never reach the logs */
    assert_null(strstr(fh_log_text(t.h), "tok-SECRET"));
    assert_null(strstr(fh_log_text(t.h), "test_app_secret"));
    assert_int_equal(fh_double_completions(t.h), 0);
    wat_end(&t);
}

static void test_two_instances_are_independent(void **state)
{
    (void)state;
    wat a = wat_start("wa1", "");
    wat b = wat_start("wa2", "");
    dg_outbound_message m;
    dg_template_param p[2];
    wat_msg(&m, p, "+14155550001", 1);
    wat_send(&a, &m);
    wat_send(&b, &m); /* same recipient, other number: no spacing between them */
    assert_int_equal(fh_n_outbound(a.h), 1);
    assert_int_equal(fh_n_outbound(b.h), 1);
    fh_reply(a.h, 0, 401, NULL, "{\"error\":{\"code\":190,\"message\":\"token expired\"}}",
             DG_HTTP_OK, -1);
    fh_reply(b.h, 0, 200, NULL, OK_BODY, DG_HTTP_OK, -1);
    assert_int_equal(fh_healthy(a.h), 0);
    assert_int_equal(fh_healthy(b.h), 1);
    wat_msg(&m, p, "+14155550002", 2);
    dg_op oa = wat_send(&a, &m), ob = wat_send(&b, &m);
    assert_int_equal(fh_completion_for(a.h, oa)->error_class, DG_ERRC_STOP_SENDER);
    assert_null(fh_completion_for(b.h, ob));
    assert_int_equal(fh_n_outbound(b.h), 2);
    fh_response r;
    assert_int_equal(fh_request(a.h, "GET", "/webhooks/whatsapp/wa1",
                                "hub.mode=subscribe&"
                                "hub.verify_token=vt-SECRET-b2&hub.challenge=1",
                                NULL, NULL, 0, &r),
                     0);
    assert_int_equal(fh_request(b.h, "GET", "/webhooks/whatsapp/wa1", "", NULL, NULL, 0, &r),
                     DG_ENOTFOUND);
    assert_int_equal(fh_request(b.h, "GET", "/webhooks/whatsapp/wa2",
                                "hub.mode=subscribe&"
                                "hub.verify_token=vt-SECRET-b2&hub.challenge=2",
                                NULL, NULL, 0, &r),
                     0);
    assert_string_equal(r.body, "2");
    fh_reply(b.h, 1, 200, NULL, OK_BODY, DG_HTTP_OK, -1);
    wat_end(&a);
    wat_end(&b);
}

static void test_stop_drains_and_cancels_queue(void **state)
{
    (void)state;
    wat t = wat_start("wa1", ",\"rate_per_second\": 1");
    dg_outbound_message m;
    dg_template_param p[2];
    wat_msg(&m, p, "+14155550001", 1);
    dg_op a = wat_send(&t, &m);
    wat_msg(&m, p, "+14155550002", 2);
    dg_op b = wat_send(&t, &m);
    dg_op stop = fh_new_op(t.h);
    assert_int_equal(t.d->channel->stop(t.self, stop), DG_PENDING);
    assert_int_equal(fh_completion_for(t.h, b)->status, DG_ECANCELED);
    assert_int_equal(fh_completion_for(t.h, b)->error_class, DG_ERRC_RETRYABLE);
    assert_null(fh_completion_for(t.h, stop));
    fh_reply(t.h, 0, 200, NULL, OK_BODY, DG_HTTP_OK, -1);
    assert_int_equal(fh_completion_for(t.h, a)->status, DG_OK);
    assert_non_null(fh_completion_for(t.h, stop));
    t.d->channel->destroy(t.self);
    assert_int_equal(fh_double_completions(t.h), 0);
    fh_free(t.h);
}

static void test_config_is_checked(void **state)
{
    (void)state;
    const dg_plugin_descriptor *d = whatsapp_LTX_dg_plugin_query();
    const char *bad[] = {
        "{\"access_token\":\"t\",\"app_secret\":\"s\",\"verify_token\":\"v\"}",
        "{\"phone_number_id\":\"1\",\"access_token\":\"t\",\"app_secret\":\"s\","
        "\"verify_token\":\"v\",\"api_version\":\"21\"}",
        "{\"phone_number_id\":\"1\",\"access_token\":\"t\",\"app_secret\":\"s\","
        "\"verify_token\":\"v\",\"rate_per_second\":5000}",
        "{\"phone_number_id\":\"1\",\"access_token\":\"t\",\"app_secret\":\"s\","
        "\"verify_token\":\"v\",\"stop_keywords\":[\"x\"]}",
    };
    assert_int_equal(d->channel->capabilities, DG_CAP_DELIVERY_RECEIPTS | DG_CAP_READ_RECEIPTS |
                                                   DG_CAP_INBOUND_REPLIES | DG_CAP_SESSION_WINDOW |
                                                   DG_CAP_TEMPLATES | DG_CAP_PHONE);
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        fh *h = fh_new("wa1", bad[i]);
        void *self = NULL;
        char err[256] = "";
        assert_int_equal(d->channel->create(fh_host(h), fh_inst(h), &self, err, sizeof err),
                         DG_ECONFIG);
        assert_true(strlen(err) > 0);
        d->channel->destroy(self);
        fh_free(h);
    }
}

static void test_bad_phone_is_permanent(void **state)
{
    (void)state;
    wat t = wat_start("wa1", "");
    dg_outbound_message m;
    dg_template_param p[2];
    wat_msg(&m, p, "not a phone", 1);
    dg_op op = wat_send(&t, &m);
    assert_int_equal(fh_completion_for(t.h, op)->error_class, DG_ERRC_PERMANENT);
    assert_int_equal(fh_n_outbound(t.h), 0);
    wat_end(&t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_template_positional_with_buttons),
        cmocka_unit_test(test_template_named_and_cleaned),
        cmocka_unit_test(test_mixed_params_is_config_error),
        cmocka_unit_test(test_free_form_inside_window),
        cmocka_unit_test(test_outside_window_uses_template_or_refuses),
        cmocka_unit_test(test_131047_resends_as_template),
        cmocka_unit_test(test_unusable_text_falls_back_or_is_refused),
        cmocka_unit_test(test_every_code_from_send_response),
        cmocka_unit_test(test_retry_after_transient_and_transport),
        cmocka_unit_test(test_bucket_81st_waits_for_the_next_second),
        cmocka_unit_test(test_custom_rate_and_recipient_spacing),
        cmocka_unit_test(test_throttle_errors_hold_the_queue),
        cmocka_unit_test(test_host_answering_inside_http_request),
        cmocka_unit_test(test_stop_sender_refuses_later_sends),
        cmocka_unit_test(test_two_instances_are_independent),
        cmocka_unit_test(test_stop_drains_and_cancels_queue),
        cmocka_unit_test(test_config_is_checked),
        cmocka_unit_test(test_bad_phone_is_permanent),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
