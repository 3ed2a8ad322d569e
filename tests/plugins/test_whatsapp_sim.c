/* Closed loop without sockets: the plugin's requests (recorded by the fake
 * host) are answered by the simulator core, and the simulator's signed
 * webhooks are posted back to the plugin's route, on one manual clock. */
#include "../unit/cm.h"

#include "wa_sim.h"
#include "wa_testutil.h"

#define BASE "https://graph.example.test"

typedef struct loop {
    wat t;
    wa_sim *s;
    size_t answered;
    size_t posts;
} loop;

static int64_t fh_clock(void *ud)
{
    return fh_now(((loop *)ud)->t.h);
}

static const char *SCRIPT =
    "{\"templates\": [{\"name\": \"payment_reminder\", \"language\": \"en_US\", \"params\": 2,"
    "  \"buttons\": [\"url\", \"quick_reply\"]}],"
    " \"customers\": ["
    " {\"phone\": \"+14155550001\", \"behaviour\": \"reply_text\", \"after_ms\": 60000,"
    "  \"text\": \"Can I pay on Friday?\"},"
    " {\"phone\": \"+14155550002\", \"behaviour\": \"reply_button\", \"after_ms\": 30000,"
    "  \"payload\": \"DG_PAID\", \"text\": \"I paid\"},"
    " {\"phone\": \"+14155550004\", \"behaviour\": \"not_on_whatsapp\"},"
    " {\"phone\": \"+14155550005\", \"behaviour\": \"stop\", \"after_ms\": 1000}]}";

static void loop_start(loop *l, const char *plugin_extra, const char *token, const char *script)
{
    wa_sim_config c = {0};
    char err[200] = "";
    memset(l, 0, sizeof *l);
    l->t = wat_start("wa1", plugin_extra);
    c.phone_number_id = "1122334455667";
    c.access_token = token ? token : "tok-SECRET-a1";
    c.app_secret = "test_app_secret";
    c.seed = 7;
    c.now = fh_clock;
    c.now_ud = l;
    l->s = wa_sim_new(&c);
    assert_non_null(l->s);
    assert_int_equal(wa_sim_script(l->s, SCRIPT, err, sizeof err), 0);
    if (script)
        assert_int_equal(wa_sim_script(l->s, script, err, sizeof err), 0);
}

static void loop_end(loop *l)
{
    wat_end(&l->t);
    wa_sim_free(l->s);
}

/* Answer every request the plugin made; post every webhook that is due. */
static void serve(loop *l)
{
    fh *h = l->t.h;
    wa_sim_webhook w;
    while (l->answered < fh_n_outbound(h)) {
        fh_outbound *o = fh_outbound_at(h, l->answered);
        char auth[256], ra[24];
        wa_sim_response r;
        assert_memory_equal(o->url, BASE, strlen(BASE));
        snprintf(auth, sizeof auth, "Bearer %s", o->bearer ? o->bearer : "");
        const char *hdr[] = {"Authorization", auth, "Content-Type", "application/json", NULL};
        wa_sim_handle(l->s, o->method, o->url + strlen(BASE), hdr, o->body, o->body_len, &r);
        size_t i = l->answered++;
        if (r.drop) {
            fh_reply(h, i, 0, NULL, NULL, DG_HTTP_ETIMEOUT, -1);
        } else {
            snprintf(ra, sizeof ra, "%lld", (long long)r.retry_after_s);
            const char *rh[] = {"Retry-After", ra, NULL};
            fh_reply(h, i, r.status, r.retry_after_s >= 0 ? rh : NULL, r.body, DG_HTTP_OK,
                     r.retry_after_s >= 0 ? r.retry_after_s * 1000 : -1);
        }
        wa_sim_response_clear(&r);
    }
    while (wa_sim_pop_webhook(l->s, &w)) {
        fh_response resp;
        const char *hdr[] = {"X-Hub-Signature-256", w.signature, NULL};
        assert_int_equal(
            fh_request(h, "POST", WA_TEST_ROUTE, NULL, hdr, w.body, strlen(w.body), &resp), 0);
        assert_int_equal(resp.status, 200);
        l->posts++;
        wa_sim_webhook_clear(&w);
    }
}

static void run_for(loop *l, int64_t ms)
{
    serve(l);
    for (int64_t t = 0; t < ms; t += 50) {
        fh_advance(l->t.h, 50);
        serve(l);
    }
}

static const cJSON *find_event(loop *l, int kind, const char *address, size_t *count)
{
    const cJSON *found = NULL;
    size_t n = 0;
    for (size_t i = 0; i < fh_n_events(l->t.h); i++) {
        const cJSON *e = fh_event(l->t.h, i);
        if ((int)ev_num(e, "kind") == kind &&
            (!address || (ev_str(e, "address") && strcmp(ev_str(e, "address"), address) == 0))) {
            if (!found)
                found = e;
            n++;
        }
    }
    if (count)
        *count = n;
    return found;
}

static void test_reply_opens_window_and_free_form_goes(void **state)
{
    (void)state;
    loop l;
    dg_outbound_message m;
    dg_template_param p[2];
    dg_template_button b;
    loop_start(&l, "", NULL, NULL);
    wat_msg(&m, p, "+14155550001", 501);
    DG_INIT(&b);
    b.kind = DG_BUTTON_URL;
    b.index = 0;
    b.value = "p/501";
    m.buttons = &b;
    m.n_buttons = 1;
    dg_op op = wat_send(&l.t, &m);
    run_for(&l, 70000);
    const fh_completion *c = fh_completion_for(l.t.h, op);
    assert_non_null(c);
    assert_int_equal(c->status, DG_OK);
    assert_memory_equal(c->provider_id, "wamid.", 6);
    const cJSON *e = find_event(&l, DG_CHEV_SENT, "+14155550001", NULL);
    assert_non_null(e);
    assert_int_equal(ev_num(e, "touch_id"), 501);
    assert_string_equal(ev_str(e, "provider_message_id"), c->provider_id);
    assert_non_null(find_event(&l, DG_CHEV_DELIVERED, "+14155550001", NULL));
    assert_non_null(find_event(&l, DG_CHEV_READ, "+14155550001", NULL));
    e = find_event(&l, DG_CHEV_REPLIED, "+14155550001", NULL);
    assert_non_null(e);
    assert_string_equal(ev_str(e, "text"), "Can I pay on Friday?");
    /* the reply opened the window on both sides: a free-form answer is accepted */
    m.template_name = NULL;
    m.n_buttons = 0;
    m.touch_id = 502;
    m.text = "Friday is fine, here is your link: https://pay.example/p/501";
    op = wat_send(&l.t, &m);
    run_for(&l, 10000);
    assert_int_equal(fh_completion_for(l.t.h, op)->status, DG_OK);
    assert_non_null(strstr(fh_outbound_at(l.t.h, 1)->body, "\"type\":\"text\""));
    size_t n;
    find_event(&l, DG_CHEV_DELIVERED, "+14155550001", &n);
    assert_int_equal(n, 2);
    assert_int_equal(wa_sim_count(l.s, 0), 2);
    loop_end(&l);
}

static void test_button_stop_and_not_on_whatsapp(void **state)
{
    (void)state;
    loop l;
    dg_outbound_message m;
    dg_template_param p[2];
    dg_template_button b;
    loop_start(&l, "", NULL, NULL);
    const char *to[] = {"+14155550002", "+14155550004", "+14155550005"};
    dg_op ops[3];
    for (int i = 0; i < 3; i++) {
        wat_msg(&m, p, to[i], 600 + i);
        DG_INIT(&b);
        b.kind = DG_BUTTON_QUICK_REPLY;
        b.index = 1;
        b.value = DG_PAYLOAD_PAID;
        m.buttons = &b;
        m.n_buttons = 1;
        ops[i] = wat_send(&l.t, &m);
    }
    run_for(&l, 40000);
    for (int i = 0; i < 3; i++)
        assert_int_equal(fh_completion_for(l.t.h, ops[i])->status, DG_OK);
    const cJSON *e = find_event(&l, DG_CHEV_REPLIED, "+14155550002", NULL);
    assert_non_null(e);
    assert_string_equal(ev_str(e, "payload"), DG_PAYLOAD_PAID);
    assert_int_equal(ev_num(e, "touch_id"), 600); /* context.id -> our wamid -> touch */
    e = find_event(&l, DG_CHEV_FAILED, "+14155550004", NULL);
    assert_non_null(e);
    assert_string_equal(ev_str(e, "error_code"), "131026");
    assert_int_equal(ev_num(e, "error_class"), DG_ERRC_PERMANENT);
    assert_int_equal(ev_num(e, "touch_id"), 601);
    assert_non_null(find_event(&l, DG_CHEV_OPTED_OUT, "+14155550005", NULL));
    assert_null(find_event(&l, DG_CHEV_REPLIED, "+14155550005", NULL));
    assert_int_equal(fh_healthy(l.t.h), 1);
    loop_end(&l);
}

static void test_burst_is_paced_below_the_limits(void **state)
{
    (void)state;
    loop l;
    dg_outbound_message m;
    dg_template_param p[2];
    dg_op ops[200];
    char to[32];
    loop_start(&l, "", NULL, NULL);
    for (int i = 0; i < 200; i++) {
        /* every 10th message goes to a recipient already messaged */
        snprintf(to, sizeof to, "+1415559%04d", i % 10 == 9 ? i - 1 : i);
        wat_msg(&m, p, to, 1000 + i);
        ops[i] = wat_send(&l.t, &m);
    }
    run_for(&l, 20000);
    for (int i = 0; i < 200; i++) {
        const fh_completion *c = fh_completion_for(l.t.h, ops[i]);
        assert_non_null(c);
        assert_int_equal(c->status, DG_OK);
    }
    assert_int_equal(wa_sim_count(l.s, 130429), 0);
    assert_int_equal(wa_sim_count(l.s, 131056), 0);
    assert_int_equal(wa_sim_count(l.s, 0), 200);
    loop_end(&l);
}

static void test_faults_end_sent_without_duplicates(void **state)
{
    (void)state;
    loop l;
    dg_outbound_message m;
    dg_template_param p[2];
    enum { N = 150 };
    dg_op ops[N];
    char to[N][32];
    int done[N] = {0}, attempts = 0;
    loop_start(&l, ",\"recipient_spacing_ms\": 0", NULL,
               "{\"faults\":{\"http_500\":0.2,\"http_429\":0.2},"
               "\"webhooks\":{\"duplicate\":0.3,\"reorder\":0.3}}");
    for (int i = 0; i < N; i++) {
        snprintf(to[i], sizeof to[i], "+1415558%04d", i);
        wat_msg(&m, p, to[i], 2000 + i);
        ops[i] = wat_send(&l.t, &m);
        attempts++;
    }
    /* play the core: retry what comes back retryable, until all are sent */
    for (int round = 0; round < 30; round++) {
        run_for(&l, 2000);
        int left = 0;
        for (int i = 0; i < N; i++) {
            if (done[i])
                continue;
            const fh_completion *c = fh_completion_for(l.t.h, ops[i]);
            assert_non_null(c);
            if (c->status == DG_OK) {
                done[i] = 1;
                continue;
            }
            assert_int_equal(c->error_class, DG_ERRC_RETRYABLE);
            wat_msg(&m, p, to[i], 2000 + i);
            ops[i] = wat_send(&l.t, &m);
            attempts++;
            left++;
        }
        if (!left)
            break;
    }
    for (int i = 0; i < N; i++)
        assert_true(done[i]);
    assert_true(attempts > N);                 /* faults did happen */
    assert_int_equal(wa_sim_count(l.s, 0), N); /* and nothing went out twice */
    run_for(&l, 10000);
    /* duplicated and reordered statuses: one event per (wamid, status) key
     * once the host drops repeated dedupe keys */
    cJSON *keys = cJSON_CreateObject();
    size_t dups = 0;
    for (size_t i = 0; i < fh_n_events(l.t.h); i++) {
        const char *k = ev_str(fh_event(l.t.h, i), "dedupe_key");
        assert_non_null(k);
        if (cJSON_GetObjectItemCaseSensitive(keys, k))
            dups++;
        else
            cJSON_AddNumberToObject(keys, k, 1);
    }
    assert_true(dups > 0);
    assert_int_equal(cJSON_GetArraySize(keys), 3 * N); /* sent, delivered, read */
    cJSON_Delete(keys);
    loop_end(&l);
}

/* Our window bookkeeping says open, Meta's says closed: the simulator
 * accepts the text and fails it by webhook (131047); the plugin sends the
 * template form instead, and only a text-only touch is reported FAILED. */
static void test_stale_window_falls_back_to_template(void **state)
{
    (void)state;
    loop l;
    dg_outbound_message m;
    dg_template_param p[2];
    char win[32];
    loop_start(&l, "", NULL, NULL);
    snprintf(win, sizeof win, "%lld", (long long)(fh_now(l.t.h) - 1000));
    fh_state_put(l.t.h, "win:+14155550011", win);
    fh_state_put(l.t.h, "win:+14155550012", win);
    wat_msg(&m, p, "+14155550011", 701);
    m.text = "Hi Ana, your link: https://pay.example/p/701";
    dg_op a = wat_send(&l.t, &m);
    m.template_name = NULL;
    m.to_phone = "+14155550012";
    m.touch_id = 702;
    dg_op b = wat_send(&l.t, &m);
    run_for(&l, 20000);
    assert_int_equal(fh_completion_for(l.t.h, a)->status, DG_OK);
    assert_int_equal(fh_completion_for(l.t.h, b)->status, DG_OK);
    assert_int_equal(wa_sim_count(l.s, 0), 3); /* two texts, one template */
    assert_non_null(strstr(fh_outbound_at(l.t.h, 2)->body, "\"type\":\"template\""));
    assert_null(find_event(&l, DG_CHEV_FAILED, "+14155550011", NULL));
    const cJSON *e = find_event(&l, DG_CHEV_DELIVERED, "+14155550011", NULL);
    assert_non_null(e);
    assert_int_equal(ev_num(e, "touch_id"), 701);
    e = find_event(&l, DG_CHEV_FAILED, "+14155550012", NULL);
    assert_non_null(e);
    assert_int_equal(ev_num(e, "touch_id"), 702);
    assert_string_equal(ev_str(e, "error_code"), "131047");
    assert_int_equal(ev_num(e, "error_class"), DG_ERRC_PERMANENT);
    loop_end(&l);
}

static void test_wrong_token_stops_sender(void **state)
{
    (void)state;
    loop l;
    dg_outbound_message m;
    dg_template_param p[2];
    loop_start(&l, "", "another-token", NULL);
    wat_msg(&m, p, "+14155550001", 1);
    dg_op op = wat_send(&l.t, &m);
    run_for(&l, 100);
    assert_int_equal(fh_completion_for(l.t.h, op)->error_class, DG_ERRC_STOP_SENDER);
    assert_string_equal(fh_completion_for(l.t.h, op)->error_code, "190");
    assert_int_equal(fh_healthy(l.t.h), 0);
    /* an unknown template is our configuration's fault */
    loop_end(&l);
    loop_start(&l, "", NULL, NULL);
    wat_msg(&m, p, "+14155550001", 1);
    m.template_name = "not_approved";
    op = wat_send(&l.t, &m);
    run_for(&l, 100);
    assert_int_equal(fh_completion_for(l.t.h, op)->error_class, DG_ERRC_CONFIG);
    assert_string_equal(fh_completion_for(l.t.h, op)->error_code, "132001");
    assert_int_equal(fh_healthy(l.t.h), 1);
    loop_end(&l);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_reply_opens_window_and_free_form_goes),
        cmocka_unit_test(test_button_stop_and_not_on_whatsapp),
        cmocka_unit_test(test_burst_is_paced_below_the_limits),
        cmocka_unit_test(test_faults_end_sent_without_duplicates),
        cmocka_unit_test(test_stale_window_falls_back_to_template),
        cmocka_unit_test(test_wrong_token_stops_sender),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
