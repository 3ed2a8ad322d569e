/* The Cloud API simulator core, driven directly on a manual clock. */
#include "../unit/cm.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crypto.h"
#include "wa_sim.h"

#define PATH "/v21.0/1122334455667/messages"
#define T0 1772442000000LL

typedef struct clk {
    int64_t now;
} clk;

static int64_t clk_now(void *ud)
{
    return ((clk *)ud)->now;
}

static const char *AUTH[] = {"Authorization", "Bearer tok-1", NULL};

static const char *SCRIPT =
    "{\"templates\": ["
    " {\"name\": \"payment_reminder\", \"language\": \"en_US\", \"params\": 2,"
    "  \"buttons\": [\"url\", \"quick_reply\"]},"
    " {\"name\": \"payment_reminder_named\", \"language\": \"es\","
    "  \"param_names\": [\"first_name\", \"order\"]}],"
    " \"customers\": ["
    " {\"phone\": \"+14155550001\", \"behaviour\": \"reply_text\", \"after_ms\": 60000,"
    "  \"text\": \"Can I pay on Friday?\"},"
    " {\"phone\": \"+14155550002\", \"behaviour\": \"reply_button\", \"after_ms\": 30000,"
    "  \"payload\": \"DG_PAID\", \"text\": \"I paid\"},"
    " {\"phone\": \"+14155550003\", \"behaviour\": \"never_reply\"},"
    " {\"phone\": \"+14155550004\", \"behaviour\": \"not_on_whatsapp\"},"
    " {\"phone\": \"+14155550005\", \"behaviour\": \"stop\", \"after_ms\": 1000}]}";

static wa_sim *mk(clk *c, int rate, const char *extra)
{
    wa_sim_config cfg = {0};
    char err[200] = "";
    wa_sim *s;
    c->now = T0;
    cfg.phone_number_id = "1122334455667";
    cfg.access_token = "tok-1";
    cfg.app_secret = "test_app_secret";
    cfg.rate_per_second = rate;
    cfg.seed = 42;
    cfg.now = clk_now;
    cfg.now_ud = c;
    s = wa_sim_new(&cfg);
    assert_non_null(s);
    assert_int_equal(wa_sim_script(s, SCRIPT, err, sizeof err), 0);
    if (extra)
        assert_int_equal(wa_sim_script(s, extra, err, sizeof err), 0);
    return s;
}

static char *tpl_body(const char *to, const char *cb)
{
    char *b = malloc(1024);
    snprintf(b, 1024,
             "{\"messaging_product\":\"whatsapp\",\"recipient_type\":\"individual\",\"to\":\"%s\","
             "\"type\":\"template\",\"biz_opaque_callback_data\":\"%s\",\"template\":{\"name\":"
             "\"payment_reminder\",\"language\":{\"code\":\"en_US\"},\"components\":["
             "{\"type\":\"body\",\"parameters\":[{\"type\":\"text\",\"text\":\"Ana\"},"
             "{\"type\":\"text\",\"text\":\"#1\"}]},{\"type\":\"button\",\"sub_type\":\"url\","
             "\"index\":0,\"parameters\":[{\"type\":\"text\",\"text\":\"p/1\"}]}]}}",
             to, cb);
    return b;
}

/* POST body; returns the status, *code the Graph error code (0 if none),
 * wamid the accepted id. */
static int post(wa_sim *s, const char *const *hdr, const char *body, long *code, char *wamid)
{
    wa_sim_response r;
    int st = wa_sim_handle(s, "POST", PATH, hdr, body, strlen(body), &r);
    cJSON *j = r.body ? cJSON_Parse(r.body) : NULL;
    const cJSON *c = cJSON_GetObjectItem(cJSON_GetObjectItem(j, "error"), "code");
    const cJSON *id =
        cJSON_GetObjectItem(cJSON_GetArrayItem(cJSON_GetObjectItem(j, "messages"), 0), "id");
    *code = cJSON_IsNumber(c) ? (long)c->valuedouble : 0;
    if (wamid)
        snprintf(wamid, 64, "%s", cJSON_IsString(id) ? id->valuestring : "");
    cJSON_Delete(j);
    wa_sim_response_clear(&r);
    return st;
}

static int post_tpl(wa_sim *s, const char *to, long *code, char *wamid)
{
    char *b = tpl_body(to, "77");
    int st = post(s, AUTH, b, code, wamid);
    free(b);
    return st;
}

static void test_auth_path_and_accept(void **state)
{
    (void)state;
    clk c;
    wa_sim *s = mk(&c, 0, NULL);
    long code;
    char w1[64], w2[64], *b = tpl_body("+14155550009", "77");
    const char *none[] = {NULL};
    const char *wrong[] = {"authorization", "Bearer nope", NULL};
    assert_int_equal(post(s, none, b, &code, NULL), 401);
    assert_int_equal(code, 190);
    assert_int_equal(post(s, wrong, b, &code, NULL), 401);
    assert_int_equal(code, 190);
    wa_sim_response r;
    assert_int_equal(wa_sim_handle(s, "POST", "/v21.0/999/messages", AUTH, b, strlen(b), &r), 400);
    assert_non_null(strstr(r.body, "\"code\":100"));
    wa_sim_response_clear(&r);
    assert_int_equal(post(s, AUTH, b, &code, w1), 200);
    assert_int_equal(code, 0);
    assert_memory_equal(w1, "wamid.", 6);
    /* the success shape of A3 */
    assert_int_equal(wa_sim_handle(s, "POST", PATH, AUTH, b, strlen(b), &r), 400); /* spacing */
    wa_sim_response_clear(&r);
    c.now += 6000;
    assert_int_equal(wa_sim_handle(s, "POST", PATH, AUTH, b, strlen(b), &r), 200);
    cJSON *j = cJSON_Parse(r.body);
    assert_string_equal(cJSON_GetObjectItem(j, "messaging_product")->valuestring, "whatsapp");
    const cJSON *ct = cJSON_GetArrayItem(cJSON_GetObjectItem(j, "contacts"), 0);
    assert_string_equal(cJSON_GetObjectItem(ct, "input")->valuestring, "+14155550009");
    assert_string_equal(cJSON_GetObjectItem(ct, "wa_id")->valuestring, "14155550009");
    const cJSON *m = cJSON_GetArrayItem(cJSON_GetObjectItem(j, "messages"), 0);
    snprintf(w2, sizeof w2, "%s", cJSON_GetObjectItem(m, "id")->valuestring);
    assert_string_equal(cJSON_GetObjectItem(m, "message_status")->valuestring, "accepted");
    assert_string_not_equal(w1, w2);
    cJSON_Delete(j);
    wa_sim_response_clear(&r);
    /* same seed, same inputs: same wamid */
    clk c2;
    wa_sim *s2 = mk(&c2, 0, NULL);
    char w3[64];
    assert_int_equal(post(s2, none, b, &code, NULL), 401);
    assert_int_equal(post(s2, wrong, b, &code, NULL), 401);
    assert_int_equal(wa_sim_handle(s2, "POST", "/v21.0/999/messages", AUTH, b, strlen(b), &r), 400);
    wa_sim_response_clear(&r);
    assert_int_equal(post(s2, AUTH, b, &code, w3), 200);
    assert_string_equal(w1, w3);
    assert_int_equal(wa_sim_n_requests(s), 6);
    assert_int_equal(wa_sim_count(s, 0), 2);
    assert_int_equal(wa_sim_count(s, 190), 2);
    assert_int_equal(wa_sim_count(s, 131056), 1);
    char *rq = wa_sim_request_json(s, 3);
    assert_non_null(strstr(rq, "\"wamid\":\"wamid."));
    assert_non_null(strstr(rq, "payment_reminder"));
    free(rq);
    free(b);
    wa_sim_free(s);
    wa_sim_free(s2);
}

static void test_template_registry(void **state)
{
    (void)state;
    clk c;
    wa_sim *s = mk(&c, -1, NULL);
    struct {
        const char *tpl;
        long code;
    } cases[] = {
        {"{\"name\":\"nope\",\"language\":{\"code\":\"en_US\"},\"components\":[]}", 132001},
        {"{\"name\":\"payment_reminder\",\"language\":{\"code\":\"fr\"},\"components\":[]}",
         132001},
        {"{\"name\":\"payment_reminder\",\"language\":{\"code\":\"en_US\"},\"components\":["
         "{\"type\":\"body\",\"parameters\":[{\"type\":\"text\",\"text\":\"Ana\"}]}]}",
         132000},
        {"{\"name\":\"payment_reminder\",\"language\":{\"code\":\"en_US\"},\"components\":["
         "{\"type\":\"body\",\"parameters\":[{\"type\":\"text\",\"text\":\"a\"},"
         "{\"type\":\"text\",\"text\":\"b\"}]},{\"type\":\"button\",\"sub_type\":\"url\","
         "\"index\":1,\"parameters\":[{\"type\":\"text\",\"text\":\"x\"}]}]}",
         132000},
        {"{\"name\":\"payment_reminder\",\"language\":{\"code\":\"en_US\"},\"components\":["
         "{\"type\":\"body\",\"parameters\":[{\"type\":\"text\",\"text\":\"a\"},"
         "{\"type\":\"text\",\"text\":\"b\"}]},{\"type\":\"button\",\"sub_type\":\"quick_reply\","
         "\"index\":1,\"parameters\":[{\"type\":\"payload\",\"payload\":\"DG_PAID\"}]}]}",
         0},
        {"{\"name\":\"payment_reminder_named\",\"language\":{\"code\":\"es\"},\"components\":["
         "{\"type\":\"body\",\"parameters\":[{\"type\":\"text\",\"parameter_name\":\"first_name\","
         "\"text\":\"a\"},{\"type\":\"text\",\"parameter_name\":\"total\",\"text\":\"b\"}]}]}",
         132000},
        {"{\"name\":\"payment_reminder_named\",\"language\":{\"code\":\"es\"},\"components\":["
         "{\"type\":\"body\",\"parameters\":[{\"type\":\"text\",\"parameter_name\":\"first_name\","
         "\"text\":\"a\"},{\"type\":\"text\",\"parameter_name\":\"order\",\"text\":\"b\"}]}]}",
         0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char body[1024], to[32];
        long code;
        snprintf(to, sizeof to, "1415555%04zu", i + 100);
        snprintf(body, sizeof body,
                 "{\"messaging_product\":\"whatsapp\",\"to\":\"%s\",\"type\":\"template\","
                 "\"template\":%s}",
                 to, cases[i].tpl);
        int st = post(s, AUTH, body, &code, NULL);
        assert_int_equal(code, cases[i].code);
        assert_int_equal(st, cases[i].code == 0 ? 200 : cases[i].code == 132001 ? 404 : 400);
    }
    wa_sim_free(s);
}

static void test_bucket_and_pair_spacing(void **state)
{
    (void)state;
    clk c;
    wa_sim *s = mk(&c, 80, NULL);
    char to[32];
    long code;
    for (int i = 0; i < 80; i++) {
        snprintf(to, sizeof to, "1415556%04d", i);
        assert_int_equal(post_tpl(s, to, &code, NULL), 200);
    }
    assert_int_equal(post_tpl(s, "14155569999", &code, NULL), 400);
    assert_int_equal(code, 130429);
    c.now += 12; /* 80/s: one token every 12.5 ms */
    assert_int_equal(post_tpl(s, "14155569999", &code, NULL), 400);
    c.now += 1;
    assert_int_equal(post_tpl(s, "14155569999", &code, NULL), 200);
    /* the same pair inside 6 s */
    c.now += 5999;
    assert_int_equal(post_tpl(s, "14155569999", &code, NULL), 400);
    assert_int_equal(code, 131056);
    c.now += 1;
    assert_int_equal(post_tpl(s, "14155569999", &code, NULL), 200);
    wa_sim_free(s);
}

/* Pop every webhook due at the current time, verify its signature, return
 * the statuses and messages found, in order, as one JSON array. */
static cJSON *drain(wa_sim *s, size_t *n_posts)
{
    cJSON *all = cJSON_CreateArray();
    wa_sim_webhook w;
    while (wa_sim_pop_webhook(s, &w)) {
        unsigned char mac[32];
        char hex[65], sig[80];
        dg_hmac(DG_HMAC_SHA256, "test_app_secret", 15, w.body, strlen(w.body), mac, 32);
        dg_hex_encode(mac, 32, hex, sizeof hex);
        snprintf(sig, sizeof sig, "sha256=%s", hex);
        assert_string_equal(w.signature, sig);
        cJSON *j = cJSON_Parse(w.body), *x;
        const cJSON *v = cJSON_GetObjectItem(
            cJSON_GetArrayItem(
                cJSON_GetObjectItem(cJSON_GetArrayItem(cJSON_GetObjectItem(j, "entry"), 0),
                                    "changes"),
                0),
            "value");
        assert_string_equal(
            cJSON_GetObjectItem(cJSON_GetObjectItem(v, "metadata"), "phone_number_id")->valuestring,
            "1122334455667");
        cJSON_ArrayForEach(x, cJSON_GetObjectItem(v, "statuses"))
            cJSON_AddItemToArray(all, cJSON_Duplicate(x, 1));
        cJSON_ArrayForEach(x, cJSON_GetObjectItem(v, "messages"))
            cJSON_AddItemToArray(all, cJSON_Duplicate(x, 1));
        cJSON_Delete(j);
        wa_sim_webhook_clear(&w);
        if (n_posts)
            (*n_posts)++;
    }
    return all;
}

static const char *kind_of(const cJSON *e)
{
    const cJSON *st = cJSON_GetObjectItem(e, "status");
    return st ? st->valuestring : cJSON_GetObjectItem(e, "type")->valuestring;
}

static void test_customers_and_statuses(void **state)
{
    (void)state;
    clk c;
    wa_sim *s = mk(&c, -1, NULL);
    long code;
    char w[6][64];
    for (int i = 1; i <= 5; i++) {
        char to[32];
        snprintf(to, sizeof to, "+1415555000%d", i);
        assert_int_equal(post_tpl(s, to, &code, w[i]), 200);
    }
    assert_int_equal(wa_sim_next_due(s), T0 + 100);
    c.now = T0 + 120 * 1000;
    cJSON *ev = drain(s, NULL), *e;
    char seq[6][128] = {{0}};
    cJSON_ArrayForEach(e, ev)
    {
        const cJSON *r = cJSON_GetObjectItem(e, "recipient_id");
        const char *who = r ? r->valuestring : cJSON_GetObjectItem(e, "from")->valuestring;
        int i = who[strlen(who) - 1] - '0';
        strcat(seq[i], kind_of(e));
        strcat(seq[i], " ");
        if (r) /* statuses echo our callback data */
            assert_string_equal(cJSON_GetObjectItem(e, "biz_opaque_callback_data")->valuestring,
                                "77");
        if (cJSON_GetObjectItem(e, "type") && strcmp(kind_of(e), "button") == 0) {
            assert_string_equal(
                cJSON_GetObjectItem(cJSON_GetObjectItem(e, "context"), "id")->valuestring, w[2]);
            assert_string_equal(
                cJSON_GetObjectItem(cJSON_GetObjectItem(e, "button"), "payload")->valuestring,
                "DG_PAID");
        }
        if (r && strcmp(kind_of(e), "failed") == 0)
            assert_int_equal(
                cJSON_GetObjectItem(cJSON_GetArrayItem(cJSON_GetObjectItem(e, "errors"), 0), "code")
                    ->valuedouble,
                131026);
    }
    assert_string_equal(seq[1], "sent delivered read text ");
    assert_string_equal(seq[2], "sent delivered read button ");
    assert_string_equal(seq[3], "sent delivered ");
    assert_string_equal(seq[4], "failed ");
    assert_string_equal(seq[5], "sent delivered text read ");
    cJSON_Delete(ev);
    assert_int_equal(wa_sim_next_due(s), -1);
    wa_sim_free(s);
}

static void test_window_async_and_sync(void **state)
{
    (void)state;
    clk c;
    wa_sim *s = mk(&c, -1, NULL);
    long code;
    const char *text = "{\"messaging_product\":\"whatsapp\",\"to\":\"14155550007\","
                       "\"type\":\"text\",\"text\":{\"preview_url\":false,\"body\":\"hi\"}}";
    /* outside the window: accepted, then failed 131047 by webhook (Meta's way) */
    assert_int_equal(post(s, AUTH, text, &code, NULL), 200);
    c.now += 1000;
    cJSON *ev = drain(s, NULL);
    assert_int_equal(cJSON_GetArraySize(ev), 1);
    assert_string_equal(kind_of(cJSON_GetArrayItem(ev, 0)), "failed");
    char *evs = cJSON_PrintUnformatted(ev);
    assert_non_null(strstr(evs, "\"code\":131047"));
    free(evs);
    cJSON_Delete(ev);
    /* the customer writes: the window opens, the text is delivered */
    assert_int_equal(wa_sim_customer_says(s, "+14155550007", "hello?"), 0);
    ev = drain(s, NULL);
    assert_string_equal(kind_of(cJSON_GetArrayItem(ev, 0)), "text");
    cJSON_Delete(ev);
    c.now += 6000;
    assert_int_equal(post(s, AUTH, text, &code, NULL), 200);
    c.now += 1000;
    ev = drain(s, NULL);
    assert_string_equal(kind_of(cJSON_GetArrayItem(ev, 0)), "sent");
    cJSON_Delete(ev);
    /* 24 h later it is closed again; synchronous mode answers 400 131047 */
    char err[100];
    assert_int_equal(wa_sim_script(s, "{\"webhooks\":{\"window_error_sync\":true}}", err, 100), 0);
    c.now += 24LL * 3600 * 1000;
    assert_int_equal(post(s, AUTH, text, &code, NULL), 400);
    assert_int_equal(code, 131047);
    wa_sim_free(s);
}

static void test_duplicates_reordering_batching(void **state)
{
    (void)state;
    clk c;
    wa_sim *s = mk(&c, -1, "{\"webhooks\":{\"duplicate\":1.0,\"reorder\":1.0,\"batch\":50}}");
    long code;
    assert_int_equal(post_tpl(s, "+14155550003", &code, NULL), 200); /* never_reply */
    c.now += 10000;
    size_t posts = 0;
    cJSON *ev = drain(s, &posts), *e;
    assert_int_equal(posts, 1); /* all in one batched body */
    char seq[128] = "";
    cJSON_ArrayForEach(e, ev)
    {
        strcat(seq, kind_of(e));
        strcat(seq, " ");
    }
    /* never_reply has no read; delivered comes at read time, twice each */
    assert_string_equal(seq, "sent sent delivered delivered ");
    cJSON_Delete(ev);
    assert_int_equal(post_tpl(s, "+14155550009", &code, NULL), 200); /* reads */
    c.now += 10000;
    ev = drain(s, NULL);
    seq[0] = '\0';
    cJSON_ArrayForEach(e, ev)
    {
        strcat(seq, kind_of(e));
        strcat(seq, " ");
    }
    assert_string_equal(seq, "sent sent read read delivered delivered ");
    cJSON_Delete(ev);
    wa_sim_free(s);
}

static void test_faults(void **state)
{
    (void)state;
    clk c;
    wa_sim *s = mk(&c, -1, "{\"faults\":{\"http_500\":0.2,\"http_429\":0.2}}");
    size_t n500 = 0, n429 = 0, ok = 0;
    for (int i = 0; i < 1000; i++) {
        char to[32], *b;
        wa_sim_response r;
        snprintf(to, sizeof to, "1415557%04d", i);
        b = tpl_body(to, "1");
        wa_sim_handle(s, "POST", PATH, AUTH, b, strlen(b), &r);
        free(b);
        if (r.status == 500) {
            n500++;
            assert_non_null(strstr(r.body, "131000"));
        } else if (r.status == 429) {
            n429++;
            assert_int_equal(r.retry_after_s, 1);
        } else {
            assert_int_equal(r.status, 200);
            ok++;
        }
        wa_sim_response_clear(&r);
    }
    assert_true(n500 > 150 && n500 < 250);
    assert_true(n429 > 150 && n429 < 250);
    assert_int_equal(ok + n500 + n429, 1000);
    assert_int_equal(wa_sim_count(s, -1), n500 + n429);
    assert_int_equal(wa_sim_count(s, 0), ok);
    char *st = wa_sim_stats_json(s);
    cJSON *j = cJSON_Parse(st);
    assert_int_equal(cJSON_GetObjectItem(j, "accepted")->valuedouble, (double)ok);
    cJSON_Delete(j);
    free(st);
    char err[100];
    assert_int_equal(
        wa_sim_script(s, "{\"faults\":{\"http_500\":0,\"http_429\":0,\"timeout\":1}}", err, 100),
        0);
    wa_sim_response r;
    char *b = tpl_body("14155558888", "1");
    wa_sim_handle(s, "POST", PATH, AUTH, b, strlen(b), &r);
    assert_int_equal(r.drop, 1);
    assert_null(r.body);
    assert_int_equal(
        wa_sim_script(s, "{\"faults\":{\"timeout\":0,\"slow\":1,\"slow_ms\":2500}}", err, 100), 0);
    wa_sim_handle(s, "POST", PATH, AUTH, b, strlen(b), &r);
    assert_int_equal(r.status, 200); /* slow, but processed */
    assert_int_equal(r.delay_ms, 2500);
    wa_sim_response_clear(&r);
    assert_int_equal(wa_sim_script(s, "{\"customers\":[{\"phone\":\"1\"}]}", err, 100), -1);
    assert_int_equal(wa_sim_script(s, "[]", err, 100), -1);
    free(b);
    wa_sim_free(s);
}

static int ctl(wa_sim *s, const char *method, const char *path, const char *body, cJSON **out)
{
    wa_sim_response r;
    int st = wa_sim_handle(s, method, path, NULL, body, body ? strlen(body) : 0, &r);
    *out = r.body ? cJSON_Parse(r.body) : NULL;
    wa_sim_response_clear(&r);
    return st;
}

static void test_control_api(void **state)
{
    (void)state;
    clk c;
    wa_sim *s = mk(&c, -1, "{\"faults\":{\"http_500\":1.0}}");
    cJSON *o;
    long code;
    /* control paths need no token and are never faulted */
    assert_int_equal(ctl(s, "POST", "/_sim/script", "{\"faults\":{\"http_500\":0}}", &o), 200);
    cJSON_Delete(o);
    assert_int_equal(ctl(s, "POST", "/_sim/script", "{\"customers\":[{}]}", &o), 400);
    assert_non_null(cJSON_GetObjectItem(o, "error"));
    cJSON_Delete(o);
    assert_int_equal(post_tpl(s, "+14155550031", &code, NULL), 200);
    assert_int_equal(post_tpl(s, "+14155550032", &code, NULL), 200);
    assert_int_equal(ctl(s, "GET", "/_sim/requests?from=1&limit=5", NULL, &o), 200);
    assert_int_equal(cJSON_GetObjectItem(o, "total")->valuedouble, 2);
    cJSON *reqs = cJSON_GetObjectItem(o, "requests");
    assert_int_equal(cJSON_GetArraySize(reqs), 1);
    assert_string_equal(cJSON_GetObjectItem(cJSON_GetArrayItem(reqs, 0), "to")->valuestring,
                        "+14155550032");
    cJSON_Delete(o);
    assert_int_equal(ctl(s, "GET", "/_sim/stats", NULL, &o), 200);
    assert_int_equal(cJSON_GetObjectItem(o, "accepted")->valuedouble, 2);
    cJSON_Delete(o);
    /* a customer writes through the control API: the window opens */
    assert_int_equal(
        ctl(s, "POST", "/_sim/customers/+14155550033/messages", "{\"text\": \"hello\"}", &o), 200);
    cJSON_Delete(o);
    cJSON *ev = drain(s, NULL);
    assert_string_equal(kind_of(cJSON_GetArrayItem(ev, 0)), "text");
    cJSON_Delete(ev);
    const char *text = "{\"messaging_product\":\"whatsapp\",\"to\":\"14155550033\","
                       "\"type\":\"text\",\"text\":{\"body\":\"hi\"}}";
    char err[64];
    assert_int_equal(wa_sim_script(s, "{\"webhooks\":{\"window_error_sync\":true}}", err, 64), 0);
    assert_int_equal(post(s, AUTH, text, &code, NULL), 200);
    assert_int_equal(ctl(s, "POST", "/_sim/customers/x/messages", "{}", &o), 400);
    cJSON_Delete(o);
    assert_int_equal(ctl(s, "GET", "/_sim/nothing", NULL, &o), 404);
    cJSON_Delete(o);
    wa_sim_free(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_auth_path_and_accept),
        cmocka_unit_test(test_template_registry),
        cmocka_unit_test(test_bucket_and_pair_spacing),
        cmocka_unit_test(test_customers_and_statuses),
        cmocka_unit_test(test_window_async_and_sync),
        cmocka_unit_test(test_duplicates_reordering_batching),
        cmocka_unit_test(test_faults),
        cmocka_unit_test(test_control_api),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
