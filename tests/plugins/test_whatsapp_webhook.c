/* WhatsApp plugin, webhook side: handshake, signatures, the pywa fixtures,
 * statuses with error classes, replies, STOP words, the 24 h window. */
#include "../unit/cm.h"

#include "wa_testutil.h"

#define VECTOR_BODY "{\"object\":\"whatsapp_business_account\",\"entry\":[]}"
#define VECTOR_SIG "sha256=dec6a680679a968e7e0319355b23599cbfc54502c0784668e9618baa0c633756"

static int get(wat *t, const char *query, fh_response *r)
{
    return fh_request(t->h, "GET", WA_TEST_ROUTE, query, NULL, NULL, 0, r);
}

static void test_handshake(void **state)
{
    (void)state;
    wat t = wat_start("wa1", "");
    fh_response r;
    assert_int_equal(get(&t,
                         "hub.mode=subscribe&hub.challenge=1158201444&"
                         "hub.verify_token=vt-SECRET-b2",
                         &r),
                     0);
    assert_int_equal(r.status, 200);
    assert_string_equal(r.body, "1158201444");
    assert_int_equal(get(&t, "hub.mode=subscribe&hub.challenge=1&hub.verify_token=wrong", &r), 0);
    assert_int_equal(r.status, 403);
    assert_int_equal(
        get(&t, "hub.mode=unsubscribe&hub.challenge=1&hub.verify_token=vt-SECRET-b2", &r), 0);
    assert_int_equal(r.status, 403);
    assert_int_equal(get(&t, "", &r), 0);
    assert_int_equal(r.status, 403);
    assert_null(strstr(fh_log_text(t.h), "vt-SECRET"));
    wat_end(&t);
}

static void test_signature_vector_and_refusals(void **state)
{
    (void)state;
    wat t = wat_start("wa1", "");
    fh_response r;
    char sig[80];
    const char *body = VECTOR_BODY;
    /* the vector of protocols.md A6 */
    wat_sign("test_app_secret", body, strlen(body), sig);
    assert_string_equal(sig, VECTOR_SIG);
    const char *good[] = {"X-Hub-Signature-256", VECTOR_SIG, NULL};
    assert_int_equal(fh_request(t.h, "POST", WA_TEST_ROUTE, NULL, good, body, strlen(body), &r), 0);
    assert_int_equal(r.status, 200);
    /* header names are case-insensitive */
    const char *lower[] = {"x-hub-signature-256", VECTOR_SIG, NULL};
    assert_int_equal(fh_request(t.h, "POST", WA_TEST_ROUTE, NULL, lower, body, strlen(body), &r),
                     0);
    assert_int_equal(r.status, 200);
    /* missing -> 401 */
    assert_int_equal(fh_request(t.h, "POST", WA_TEST_ROUTE, NULL, NULL, body, strlen(body), &r), 0);
    assert_int_equal(r.status, 401);
    /* one byte of the body changed -> 403 */
    const char *tampered = "{\"object\":\"whatsapp_business_account\",\"entry\":[ ]}";
    assert_int_equal(
        fh_request(t.h, "POST", WA_TEST_ROUTE, NULL, good, tampered, strlen(tampered), &r), 0);
    assert_int_equal(r.status, 403);
    /* wrong prefix, truncated, upper-case hex -> 403 */
    const char *bad_sigs[] = {
        "sha1=dec6a680679a968e7e0319355b23599cbfc54502c0784668e9618baa0c633756",
        "sha256=dec6a680679a968e7e0319355b23599cbfc54502c0784668e9618baa0c6337",
        "sha256=DEC6A680679A968E7E0319355B23599CBFC54502C0784668E9618BAA0C633756", ""};
    for (size_t i = 0; i < 4; i++) {
        const char *h[] = {"X-Hub-Signature-256", bad_sigs[i], NULL};
        assert_int_equal(fh_request(t.h, "POST", WA_TEST_ROUTE, NULL, h, body, strlen(body), &r),
                         0);
        assert_int_equal(r.status, 403);
    }
    /* a signed body that is not JSON -> 400 */
    assert_int_equal(wat_webhook(&t, WA_TEST_ROUTE, "test_app_secret", "{not json"), 400);
    assert_int_equal(fh_n_events(t.h), 0);
    wat_end(&t);
}

/* ------------------------------------------------------------- fixtures */

typedef struct fx_case {
    const char *file, *name, *phone_id;
    int n_events;
    dg_channel_event_kind kind;
    const char *text, *payload, *error_code;
    dg_error_class cls;
} fx_case;

#define PID "1122334455667"
static const fx_case FX[] = {
    {"message_status.json", "sent", PID, 1, DG_CHEV_SENT, NULL, NULL, NULL, 0},
    {"message_status.json", "delivered", PID, 1, DG_CHEV_DELIVERED, NULL, NULL, NULL, 0},
    {"message_status.json", "read", PID, 1, DG_CHEV_READ, NULL, NULL, NULL, 0},
    {"message_status.json", "played", PID, 0, 0, NULL, NULL, NULL, 0},
    {"message_status.json", "failed", PID, 1, DG_CHEV_FAILED, NULL, NULL, "130472",
     DG_ERRC_PERMANENT},
    {"message_status.json", "with_tracker", PID, 1, DG_CHEV_SENT, NULL, NULL, NULL, 0},
    {"message_status.json", "group", PID, 0, 0, NULL, NULL, NULL, 0}, /* other number */
    {"message.json", "text", PID, 1, DG_CHEV_REPLIED, "Body Text", NULL, NULL, 0},
    {"message.json", "image", PID, 1, DG_CHEV_REPLIED, "[image]", NULL, NULL, 0},
    {"message.json", "media_with_url", PID, 1, DG_CHEV_REPLIED, "[image]", NULL, NULL, 0},
    {"message.json", "video", PID, 1, DG_CHEV_REPLIED, "caption", NULL, NULL, 0},
    {"message.json", "document", PID, 1, DG_CHEV_REPLIED, "caption", NULL, NULL, 0},
    {"message.json", "audio", PID, 1, DG_CHEV_REPLIED, "[audio]", NULL, NULL, 0},
    {"message.json", "voice", PID, 1, DG_CHEV_REPLIED, "[audio]", NULL, NULL, 0},
    {"message.json", "static_sticker", PID, 1, DG_CHEV_REPLIED, "[sticker]", NULL, NULL, 0},
    {"message.json", "animated_sticker", PID, 1, DG_CHEV_REPLIED, "[sticker]", NULL, NULL, 0},
    {"message.json", "reaction", PID, 1, DG_CHEV_REPLIED, "\xF0\x9F\x98\xAE", NULL, NULL, 0},
    {"message.json", "unreaction_empty", PID, 0, 0, NULL, NULL, NULL, 0},
    {"message.json", "unreaction_no_emoji", PID, 0, 0, NULL, NULL, NULL, 0},
    {"message.json", "current_location", PID, 1, DG_CHEV_REPLIED, "[location]", NULL, NULL, 0},
    {"message.json", "chosen_location", PID, 1, DG_CHEV_REPLIED, "[location]", NULL, NULL, 0},
    {"message.json", "contacts", PID, 1, DG_CHEV_REPLIED, "[contacts]", NULL, NULL, 0},
    {"message.json", "order", PID, 1, DG_CHEV_REPLIED, "[order]", NULL, NULL, 0},
    {"message.json", "unsupported", PID, 1, DG_CHEV_REPLIED, "[unsupported]", NULL, NULL, 0},
    {"message.json", "unsupported_with_type", PID, 1, DG_CHEV_REPLIED, "[unsupported]", NULL, NULL,
     0},
    {"message.json", "reply", PID, 1, DG_CHEV_REPLIED, "replied text", NULL, NULL, 0},
    {"message.json", "forwarded", PID, 1, DG_CHEV_REPLIED, "forwarded text", NULL, NULL, 0},
    {"message.json", "forwarded_many_times", PID, 1, DG_CHEV_REPLIED, "text forwarded many times",
     NULL, NULL, 0},
    {"message.json", "interactive_message_with_err", PID, 1, DG_CHEV_REPLIED, NULL, NULL, NULL, 0},
    {"message.json", "referral", PID, 1, DG_CHEV_REPLIED, "BODY", NULL, NULL, 0},
    {"callback_button.json", "button", PID, 1, DG_CHEV_REPLIED, "title", "callback_data", NULL, 0},
    {"callback_button.json", "quick_reply", PID, 1, DG_CHEV_REPLIED, "title", "callback_data", NULL,
     0},
    {"callback_button.json", "quick_reply_without_context", PID, 1, DG_CHEV_REPLIED, "title",
     "callback_data", NULL, 0},
    {"callback_selection.json", "callback", PID, 1, DG_CHEV_REPLIED, "title", "callback_data", NULL,
     0},
    {"callback_selection.json", "description", PID, 1, DG_CHEV_REPLIED, "title", "callback_data",
     NULL, 0},
    {"system.json", "phone_number_change", PID, 0, 0, NULL, NULL, NULL, 0},
    {"system.json", "identity_change", PID, 0, 0, NULL, NULL, NULL, 0},
    {"deleted_message.json", "revoke", "<BUSINESS_PHONE_NUMBER_ID>", 0, 0, NULL, NULL, NULL, 0},
    {"edited_message.json", "image", "106540352242922", 1, DG_CHEV_REPLIED, "Updated image caption",
     NULL, NULL, 0},
    {"template_status_update.json", "approved", PID, 0, 0, NULL, NULL, NULL, 0},
    {"template_status_update.json", "rejected", PID, 0, 0, NULL, NULL, NULL, 0},
    {"user_marketing_preferences.json", "resume", "106540352242922", 0, 0, NULL, NULL, NULL, 0},
    {"user_marketing_preferences.json", "signup", "106540352242922", 0, 0, NULL, NULL, NULL, 0},
};

static cJSON *load_fixture(const char *file)
{
    const char *top = getenv("DG_TOP_SRCDIR");
    char path[1024];
    FILE *f;
    long n;
    char *buf;
    cJSON *j;
    snprintf(path, sizeof path, "%s/tests/plugins/fixtures/whatsapp/%s", top ? top : "..", file);
    f = fopen(path, "rb");
    assert_non_null(f);
    fseek(f, 0, SEEK_END);
    n = ftell(f);
    fseek(f, 0, SEEK_SET);
    buf = malloc((size_t)n + 1);
    assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
    buf[n] = '\0';
    fclose(f);
    j = cJSON_Parse(buf);
    free(buf);
    assert_non_null(j);
    return j;
}

static void test_fixtures(void **state)
{
    (void)state;
    size_t covered = 0, total = 0;
    const char *files[] = {"message_status.json",
                           "message.json",
                           "callback_button.json",
                           "callback_selection.json",
                           "system.json",
                           "deleted_message.json",
                           "edited_message.json",
                           "template_status_update.json",
                           "user_marketing_preferences.json"};
    for (size_t f = 0; f < sizeof files / sizeof files[0]; f++) {
        cJSON *all = load_fixture(files[f]), *c;
        cJSON_ArrayForEach(c, all) total++;
        cJSON_Delete(all);
    }
    for (size_t i = 0; i < sizeof FX / sizeof FX[0]; i++) {
        const fx_case *x = &FX[i];
        char extra[128];
        cJSON *all = load_fixture(x->file);
        cJSON *body = cJSON_GetObjectItemCaseSensitive(all, x->name);
        assert_non_null(body);
        char *raw = cJSON_Print(body); /* pretty, as Meta's bytes differ from ours anyway */
        snprintf(extra, sizeof extra, ",\"phone_number_id\":\"%s\"", x->phone_id);
        wat t = wat_start("wa1", extra);
        assert_int_equal(wat_webhook(&t, WA_TEST_ROUTE, "test_app_secret", raw), 200);
        if ((int)fh_n_events(t.h) != x->n_events)
            fprintf(stderr, "%s/%s: %zu events\n", x->file, x->name, fh_n_events(t.h));
        assert_int_equal(fh_n_events(t.h), x->n_events);
        if (x->n_events) {
            const cJSON *ev = fh_event(t.h, 0);
            assert_int_equal(ev_num(ev, "kind"), x->kind);
            if (x->text)
                assert_string_equal(ev_str(ev, "text"), x->text);
            if (x->payload)
                assert_string_equal(ev_str(ev, "payload"), x->payload);
            else
                assert_null(ev_str(ev, "payload"));
            if (x->error_code) {
                assert_string_equal(ev_str(ev, "error_code"), x->error_code);
                assert_int_equal(ev_num(ev, "error_class"), x->cls);
            }
            assert_non_null(ev_str(ev, "provider_message_id"));
            assert_non_null(ev_str(ev, "dedupe_key"));
            assert_true(ev_num(ev, "occurred_at") > 1.6e12);
            assert_int_equal(ev_str(ev, "address")[0], '+');
        }
        free(raw);
        cJSON_Delete(all);
        wat_end(&t);
        covered++;
    }
    assert_int_equal(covered, total); /* every fixture case has an expectation */
}

static void test_status_fields_and_touch_mapping(void **state)
{
    (void)state;
    wat t = wat_start("wa1", "");
    char *b;
    fh_state_put(t.h, "wamid:wamid.T1", "555");
    /* touch id from biz_opaque_callback_data */
    b = wat_status_body("wamid.T1", "delivered", "14155550123", "4242", 0);
    assert_int_equal(wat_webhook(&t, WA_TEST_ROUTE, "test_app_secret", b), 200);
    free(b);
    /* touch id from the wamid we stored when the send was accepted */
    b = wat_status_body("wamid.T1", "read", "14155550123", NULL, 0);
    assert_int_equal(wat_webhook(&t, WA_TEST_ROUTE, "test_app_secret", b), 200);
    /* the same status again: same dedupe key; the host drops it, we still answer 200 */
    fh_set_emit_result(t.h, DG_EEXIST);
    assert_int_equal(wat_webhook(&t, WA_TEST_ROUTE, "test_app_secret", b), 200);
    /* the store failing makes Meta retry */
    fh_set_emit_result(t.h, DG_EIO);
    assert_int_equal(wat_webhook(&t, WA_TEST_ROUTE, "test_app_secret", b), 500);
    fh_set_emit_result(t.h, DG_OK);
    free(b);
    assert_int_equal(fh_n_events(t.h), 4);
    const cJSON *e0 = fh_event(t.h, 0), *e1 = fh_event(t.h, 1), *e2 = fh_event(t.h, 2);
    assert_int_equal(ev_num(e0, "kind"), DG_CHEV_DELIVERED);
    assert_int_equal(ev_num(e0, "touch_id"), 4242);
    assert_string_equal(ev_str(e0, "address"), "+14155550123");
    assert_string_equal(ev_str(e0, "dedupe_key"), "wamid.T1:delivered");
    assert_int_equal(ev_num(e0, "occurred_at"), 1772442000000.0);
    assert_int_equal(ev_num(e1, "kind"), DG_CHEV_READ);
    assert_int_equal(ev_num(e1, "touch_id"), 555);
    assert_string_equal(ev_str(e1, "dedupe_key"), "wamid.T1:read");
    assert_string_equal(ev_str(e2, "dedupe_key"), ev_str(e1, "dedupe_key"));
    wat_end(&t);
}

/* The A7 table again, this time as failed-status webhooks. */
static const struct {
    long code;
    dg_error_class cls;
} A7[] = {
    {131047, DG_ERRC_PERMANENT}, {131026, DG_ERRC_PERMANENT},   {130429, DG_ERRC_RETRYABLE},
    {131056, DG_ERRC_RETRYABLE}, {131048, DG_ERRC_STOP_SENDER}, {131049, DG_ERRC_WAIT},
    {131050, DG_ERRC_PERMANENT}, {132000, DG_ERRC_CONFIG},      {132001, DG_ERRC_CONFIG},
    {132005, DG_ERRC_CONFIG},    {132007, DG_ERRC_CONFIG},      {132008, DG_ERRC_CONFIG},
    {132012, DG_ERRC_CONFIG},    {132015, DG_ERRC_CONFIG},      {132016, DG_ERRC_CONFIG},
    {368, DG_ERRC_STOP_SENDER},  {131031, DG_ERRC_STOP_SENDER}, {130497, DG_ERRC_STOP_SENDER},
    {190, DG_ERRC_STOP_SENDER},  {4, DG_ERRC_RETRYABLE},        {80007, DG_ERRC_RETRYABLE},
    {131000, DG_ERRC_RETRYABLE}, {131016, DG_ERRC_RETRYABLE},   {131042, DG_ERRC_STOP_SENDER},
    {131030, DG_ERRC_PERMANENT}, {100, DG_ERRC_PERMANENT},      {131008, DG_ERRC_PERMANENT},
    {131009, DG_ERRC_PERMANENT}, {130472, DG_ERRC_PERMANENT},
};

static void test_every_code_from_status_webhook(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof A7 / sizeof A7[0]; i++) {
        wat t = wat_start("wa1", "");
        char code[24], *b = wat_status_body("wamid.F", "failed", "14155550123", "9", A7[i].code);
        assert_int_equal(wat_webhook(&t, WA_TEST_ROUTE, "test_app_secret", b), 200);
        free(b);
        assert_int_equal(fh_n_events(t.h), 1);
        const cJSON *ev = fh_event(t.h, 0);
        snprintf(code, sizeof code, "%ld", A7[i].code);
        assert_int_equal(ev_num(ev, "kind"), DG_CHEV_FAILED);
        assert_string_equal(ev_str(ev, "error_code"), code);
        if (ev_num(ev, "error_class") != A7[i].cls)
            fprintf(stderr, "webhook code %ld: class %g\n", A7[i].code, ev_num(ev, "error_class"));
        assert_int_equal(ev_num(ev, "error_class"), A7[i].cls);
        assert_int_equal(ev_num(ev, "touch_id"), 9);
        int stops = A7[i].cls == DG_ERRC_STOP_SENDER;
        assert_int_equal(fh_healthy(t.h), !stops);
        if (stops) { /* later sends refused without a request */
            dg_outbound_message m;
            dg_template_param p[2];
            wat_msg(&m, p, "+14155550123", 10);
            dg_op op = wat_send(&t, &m);
            assert_int_equal(fh_n_outbound(t.h), 0);
            assert_int_equal(fh_completion_for(t.h, op)->error_class, DG_ERRC_STOP_SENDER);
            assert_int_equal(fh_log_count(t.h, DG_LOG_ERROR, "whatsapp_sender_stopped"), 1);
        }
        wat_end(&t);
    }
}

static void test_batched_entries(void **state)
{
    (void)state;
    wat t = wat_start("wa1", "");
    const char *b =
        "{\"object\":\"whatsapp_business_account\",\"entry\":["
        "{\"id\":\"1\",\"changes\":[{\"field\":\"messages\",\"value\":{\"metadata\":"
        "{\"phone_number_id\":\"1122334455667\"},\"statuses\":["
        "{\"id\":\"wamid.A\",\"status\":\"sent\",\"timestamp\":\"1772442000\",\"recipient_id\":"
        "\"1\"},"
        "{\"id\":\"wamid.B\",\"status\":\"read\",\"timestamp\":\"1772442001\",\"recipient_id\":"
        "\"2\"},"
        "{\"id\":\"wamid.A\",\"status\":\"delivered\",\"timestamp\":\"1772442002\","
        "\"recipient_id\":\"1\"}]}},"
        "{\"field\":\"messages\",\"value\":{\"metadata\":{\"phone_number_id\":\"1122334455667\"},"
        "\"messages\":[{\"from\":\"14155550123\",\"id\":\"wamid.IN1\",\"timestamp\":\"1772442000\","
        "\"type\":\"text\",\"text\":{\"body\":\"Is it still available?\"}}]}}]},"
        "{\"id\":\"2\",\"changes\":[{\"field\":\"messages\",\"value\":{\"metadata\":"
        "{\"phone_number_id\":\"1122334455667\"},\"messages\":[{\"from\":\"14155550124\","
        "\"id\":\"wamid.IN2\",\"timestamp\":\"1772442000\",\"type\":\"button\",\"button\":"
        "{\"payload\":\"DG_PAID\",\"text\":\"I paid\"}}]}}]}]}";
    assert_int_equal(wat_webhook(&t, WA_TEST_ROUTE, "test_app_secret", b), 200);
    assert_int_equal(fh_n_events(t.h), 5);
    assert_int_equal(ev_num(fh_event(t.h, 0), "kind"), DG_CHEV_SENT);
    assert_int_equal(ev_num(fh_event(t.h, 1), "kind"), DG_CHEV_READ);
    assert_int_equal(ev_num(fh_event(t.h, 2), "kind"), DG_CHEV_DELIVERED);
    assert_int_equal(ev_num(fh_event(t.h, 3), "kind"), DG_CHEV_REPLIED);
    assert_string_equal(ev_str(fh_event(t.h, 3), "text"), "Is it still available?");
    assert_string_equal(ev_str(fh_event(t.h, 4), "payload"), DG_PAYLOAD_PAID);
    assert_string_equal(ev_str(fh_event(t.h, 4), "address"), "+14155550124");
    /* customer text is never logged */
    assert_null(strstr(fh_log_text(t.h), "still available"));
    wat_end(&t);
}

static void test_stop_words(void **state)
{
    (void)state;
    wat t = wat_start("wa1", ",\"stop_keywords\":{\"fr\":[\"ARRÊT\",\"stop pub\"]}");
    struct {
        const char *text;
        int stop;
    } cases[] = {
        {"STOP", 1},
        {" stop! ", 1},
        {"Unsubscribe.", 1},
        {"opt out", 1},
        {"Baja", 1},
        {"no más", 1},
        {"NO MAS", 1},
        {"parar", 1},
        {"退订", 1},
        {"停止。", 1},
        {"td", 1},
        {"arrêt", 1},
        {"Stop pub", 1},
        {"stop by tomorrow?", 0},
        {"cancel", 0},
        {"I paid", 0},
        {"", 0},
        {"¿cuándo llega?", 0},
        {"START", 2},
        {"unstop", 2},
        {"Alta", 2},
        {"订阅", 2},
        {"yes", 0},
        {"什么时候发货", 0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char id[32], *b;
        snprintf(id, sizeof id, "wamid.S%zu", i);
        b = wat_text_body("14155550123", id, cases[i].text, NULL, "1772442000");
        assert_int_equal(wat_webhook(&t, WA_TEST_ROUTE, "test_app_secret", b), 200);
        free(b);
        assert_int_equal(fh_n_events(t.h), i + 1);
        int kind = (int)ev_num(fh_event(t.h, i), "kind");
        int want = cases[i].stop == 1   ? DG_CHEV_OPTED_OUT
                   : cases[i].stop == 2 ? DG_CHEV_OPTED_IN
                                        : DG_CHEV_REPLIED;
        if (kind != want)
            fprintf(stderr, "'%s' -> %d\n", cases[i].text, kind);
        assert_int_equal(kind, want);
    }
    /* a quick-reply button labelled STOP opts out too */
    const char *btn =
        "{\"object\":\"whatsapp_business_account\",\"entry\":[{\"id\":\"1\",\"changes\":[{"
        "\"field\":\"messages\",\"value\":{\"messages\":[{\"from\":\"14155550123\",\"id\":"
        "\"wamid.BS\",\"timestamp\":\"1772442000\",\"type\":\"button\",\"button\":"
        "{\"payload\":\"DG_STOP\",\"text\":\"Stop\"}}]}}]}]}";
    assert_int_equal(wat_webhook(&t, WA_TEST_ROUTE, "test_app_secret", btn), 200);
    assert_int_equal(ev_num(fh_event(t.h, fh_n_events(t.h) - 1), "kind"), DG_CHEV_OPTED_OUT);
    wat_end(&t);
}

static void test_inbound_opens_window_for_free_form(void **state)
{
    (void)state;
    wat t = wat_start("wa1", "");
    char ts[32], *b;
    dg_outbound_message m;
    dg_template_param p[2];
    fh_state_put(t.h, "wamid:wamid.OUT", "31");
    snprintf(ts, sizeof ts, "%lld", (long long)(fh_now(t.h) / 1000 - 60));
    b = wat_text_body("14155550123", "wamid.IN", "when does it ship?", "wamid.OUT", ts);
    assert_int_equal(wat_webhook(&t, WA_TEST_ROUTE, "test_app_secret", b), 200);
    free(b);
    const cJSON *ev = fh_event(t.h, 0);
    assert_int_equal(ev_num(ev, "kind"), DG_CHEV_REPLIED);
    assert_int_equal(ev_num(ev, "touch_id"), 31); /* context.id -> our template's touch */
    assert_string_equal(ev_str(ev, "dedupe_key"), "wamid.IN:inbound");
    assert_non_null(fh_state_get(t.h, "win:+14155550123"));
    /* free-form text only: goes now because the window is open */
    wat_msg(&m, p, "+14155550123", 32);
    m.template_name = NULL;
    m.text = "It ships on Monday.";
    wat_send(&t, &m);
    assert_int_equal(fh_n_outbound(t.h), 1);
    assert_non_null(strstr(fh_outbound_at(t.h, 0)->body, "\"type\":\"text\""));
    fh_reply(t.h, 0, 200, NULL, "{\"messages\":[{\"id\":\"wamid.R\"}]}", DG_HTTP_OK, -1);
    /* 24 h after the customer's message the window is closed again */
    fh_advance(t.h, 24LL * 3600 * 1000 - 60 * 1000);
    m.to_phone = "+14155550123";
    dg_op op = wat_send(&t, &m);
    assert_int_equal(fh_completion_for(t.h, op)->error_class, DG_ERRC_PERMANENT);
    assert_int_equal(fh_n_outbound(t.h), 1);
    wat_end(&t);
}

/* Meta accepted our free-form text, then the status says 131047 (the window
 * closed meanwhile): the template form goes out instead, with no FAILED. */
static void test_late_131047_sends_the_template(void **state)
{
    (void)state;
    wat t = wat_start("wa1", "");
    dg_outbound_message m;
    dg_template_param p[2];
    char win[32], *b;
    snprintf(win, sizeof win, "%lld", (long long)(fh_now(t.h) - 1000));
    fh_state_put(t.h, "win:+14155550123", win);
    fh_state_put(t.h, "win:+14155550124", win);
    wat_msg(&m, p, "+14155550123", 91);
    m.text = "free-form";
    dg_op op = wat_send(&t, &m);
    assert_non_null(strstr(fh_outbound_at(t.h, 0)->body, "\"type\":\"text\""));
    fh_reply(t.h, 0, 200, NULL, "{\"messages\":[{\"id\":\"wamid.TX\"}]}", DG_HTTP_OK, -1);
    assert_int_equal(fh_completion_for(t.h, op)->status, DG_OK);
    b = wat_status_body("wamid.TX", "failed", "14155550123", "91", 131047);
    assert_int_equal(wat_webhook(&t, WA_TEST_ROUTE, "test_app_secret", b), 200);
    free(b);
    assert_int_equal(fh_n_events(t.h), 0);
    assert_null(fh_state_get(t.h, "win:+14155550123"));
    assert_int_equal(fh_log_count(t.h, DG_LOG_INFO, "whatsapp_template_fallback"), 1);
    fh_advance(t.h, 6000); /* recipient spacing */
    assert_int_equal(fh_n_outbound(t.h), 2);
    assert_non_null(strstr(fh_outbound_at(t.h, 1)->body, "\"type\":\"template\""));
    assert_non_null(strstr(fh_outbound_at(t.h, 1)->body, "\"biz_opaque_callback_data\":\"91\""));
    fh_reply(t.h, 1, 200, NULL, "{\"messages\":[{\"id\":\"wamid.TPL\"}]}", DG_HTTP_OK, -1);
    assert_string_equal(fh_state_get(t.h, "wamid:wamid.TPL"), "91");
    assert_int_equal(fh_n_events(t.h), 0);
    /* the same again, but the template fails: that is reported as FAILED */
    wat_msg(&m, p, "+14155550124", 92);
    m.text = "free-form";
    wat_send(&t, &m);
    fh_reply(t.h, 2, 200, NULL, "{\"messages\":[{\"id\":\"wamid.TX2\"}]}", DG_HTTP_OK, -1);
    b = wat_status_body("wamid.TX2", "failed", "14155550124", "92", 131047);
    assert_int_equal(wat_webhook(&t, WA_TEST_ROUTE, "test_app_secret", b), 200);
    /* a duplicate of the failed status: still no FAILED, no second template */
    assert_int_equal(wat_webhook(&t, WA_TEST_ROUTE, "test_app_secret", b), 200);
    free(b);
    assert_int_equal(fh_n_events(t.h), 0);
    fh_advance(t.h, 6000);
    assert_int_equal(fh_n_outbound(t.h), 4);
    fh_reply(t.h, 3, 404, NULL, "{\"error\":{\"code\":132001,\"message\":\"no such template\"}}",
             DG_HTTP_OK, -1);
    fh_advance(t.h, 60000);
    assert_int_equal(fh_n_outbound(t.h), 4);
    assert_int_equal(fh_n_events(t.h), 1);
    const cJSON *ev = fh_event(t.h, 0);
    assert_int_equal(ev_num(ev, "kind"), DG_CHEV_FAILED);
    assert_int_equal(ev_num(ev, "touch_id"), 92);
    assert_int_equal(ev_num(ev, "error_class"), DG_ERRC_CONFIG);
    assert_string_equal(ev_str(ev, "error_code"), "132001");
    assert_int_equal(fh_double_completions(t.h), 0);
    wat_end(&t);
}

static void test_other_number_and_other_fields_ignored(void **state)
{
    (void)state;
    wat t = wat_start("wa1", "");
    const char *b =
        "{\"object\":\"whatsapp_business_account\",\"entry\":[{\"id\":\"1\",\"changes\":["
        "{\"field\":\"messages\",\"value\":{\"metadata\":{\"phone_number_id\":\"999\"},"
        "\"statuses\":[{\"id\":\"wamid.X\",\"status\":\"failed\",\"recipient_id\":\"1\","
        "\"errors\":[{\"code\":368}]}]}},"
        "{\"field\":\"message_template_status_update\",\"value\":{\"event\":\"APPROVED\"}}]}]}";
    assert_int_equal(wat_webhook(&t, WA_TEST_ROUTE, "test_app_secret", b), 200);
    assert_int_equal(fh_n_events(t.h), 0);
    assert_int_equal(fh_healthy(t.h), 1);
    /* a sender that is not a phone number is not a customer we can address */
    char *m = wat_text_body("US.13491208655302741918", "wamid.U", "hi", NULL, "1772442000");
    assert_int_equal(wat_webhook(&t, WA_TEST_ROUTE, "test_app_secret", m), 200);
    free(m);
    assert_int_equal(fh_n_events(t.h), 0);
    /* value.errors with a stop code stops the sender */
    const char *e =
        "{\"object\":\"whatsapp_business_account\",\"entry\":[{\"id\":\"1\",\"changes\":["
        "{\"field\":\"messages\",\"value\":{\"metadata\":{\"phone_number_id\":\"1122334455667\"},"
        "\"errors\":[{\"code\":131031,\"title\":\"Business account locked\"}]}}]}]}";
    assert_int_equal(wat_webhook(&t, WA_TEST_ROUTE, "test_app_secret", e), 200);
    assert_int_equal(fh_healthy(t.h), 0);
    assert_non_null(strstr(fh_health_reason(t.h), "131031"));
    wat_end(&t);
}

/* Signed but mangled bodies (truncated, bytes changed, strings turned into
 * numbers): always a clean 200 or 400, one answer, no crash (ASan runs). */
static void test_mangled_bodies(void **state)
{
    (void)state;
    uint64_t rng = 12345;
    const char *files[] = {"message_status.json", "message.json", "callback_button.json"};
    wat t = wat_start("wa1", "");
    size_t runs = 0;
    for (size_t f = 0; f < 3; f++) {
        cJSON *all = load_fixture(files[f]), *c;
        cJSON_ArrayForEach(c, all)
        {
            char *raw = cJSON_PrintUnformatted(c);
            size_t n = strlen(raw);
            for (int k = 0; k < 40; k++) {
                char *b = strdup(raw);
                rng = rng * 6364136223846793005ull + 1442695040888963407ull;
                size_t at = (size_t)(rng >> 33) % n;
                switch (k % 4) {
                case 0:
                    b[at] = '\0'; /* truncated */
                    break;
                case 1:
                    b[at] = (char)(rng >> 20); /* any byte */
                    if (!b[at])
                        b[at] = '{';
                    break;
                case 2:
                    for (size_t i = at; i < n; i++) /* a string becomes a number */
                        if (b[i] == '"') {
                            b[i] = '1';
                            break;
                        }
                    break;
                default:
                    for (size_t i = at; i < n; i++) /* an array becomes null */
                        if (b[i] == '[') {
                            memcpy(b + i, "null", i + 4 <= n ? 4 : n - i);
                            break;
                        }
                    break;
                }
                int st = wat_webhook(&t, WA_TEST_ROUTE, "test_app_secret", b);
                assert_true(st == 200 || st == 400);
                free(b);
                runs++;
            }
            free(raw);
        }
        cJSON_Delete(all);
    }
    assert_true(runs > 1000);
    assert_int_equal(fh_double_completions(t.h), 0);
    wat_end(&t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_handshake),
        cmocka_unit_test(test_signature_vector_and_refusals),
        cmocka_unit_test(test_fixtures),
        cmocka_unit_test(test_status_fields_and_touch_mapping),
        cmocka_unit_test(test_every_code_from_status_webhook),
        cmocka_unit_test(test_batched_entries),
        cmocka_unit_test(test_stop_words),
        cmocka_unit_test(test_inbound_opens_window_for_free_form),
        cmocka_unit_test(test_late_131047_sends_the_template),
        cmocka_unit_test(test_other_number_and_other_fields_ignored),
        cmocka_unit_test(test_mangled_bodies),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
