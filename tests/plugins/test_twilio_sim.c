/* The simulator's Twilio persona: REST behaviour, signed callbacks,
 * scripted replies, faults, determinism; and a closed loop with the SMS
 * plugin through the fake host (plugin -> sim -> signed webhooks -> plugin). */
#include "../unit/cm.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "crypto.h"
#include "fakehost.h"
#include "form.h"
#include "twilio_sig.h"
#include "twilio_sim.h"

const dg_plugin_descriptor *sms_LTX_dg_plugin_query(void);

#define SID "AC00000000000000000000000000000001"
#define TOKEN "test_auth_token"
#define T0 1772442000000LL /* 2026-03-02T09:00:00Z, the fake host's start */
#define CB "https://dunning.example.test/webhooks/sms/sms_main/status"
#define INB "https://dunning.example.test/webhooks/sms/sms_main/inbound"
#define MSG_PATH "/2010-04-01/Accounts/" SID "/Messages.json"

static dg_twsim *sim_new(uint64_t seed)
{
    dg_twsim_config c = {SID, TOKEN, seed, T0, INB, 1000, 3000, 0};
    dg_twsim *s = dg_twsim_new(&c);
    assert_non_null(s);
    return s;
}

static int create(dg_twsim *s, const char *body, dg_twsim_response *r)
{
    return dg_twsim_handle(s, "POST", MSG_PATH, SID, TOKEN, body, strlen(body), r);
}

static int code_of(const dg_twsim_response *r)
{
    cJSON *j = cJSON_Parse(r->body);
    int c = cJSON_GetObjectItem(j, "code") ? cJSON_GetObjectItem(j, "code")->valueint : 0;
    cJSON_Delete(j);
    return c;
}

/* Verify a webhook's signature the way Twilio's SDKs do. */
static void assert_signed(const dg_twsim_webhook *w)
{
    dg_form *f = dg_form_parse(w->body, strlen(w->body));
    const char *n[32], *v[32];
    char sig[64];
    size_t k = dg_form_count(f);
    assert_true(k < 32);
    for (size_t i = 0; i < k; i++) {
        n[i] = dg_form_name(f, i);
        v[i] = dg_form_value(f, i);
    }
    assert_int_equal(
        dg__tw_signature(dg_hmac, dg_base64_encode, TOKEN, w->url, n, v, k, sig, sizeof sig), 0);
    assert_string_equal(sig, w->signature);
    dg_form_free(f);
}

static const char *wh_get(const dg_twsim_webhook *w, const char *name, char *out, size_t cap)
{
    dg_form *f = dg_form_parse(w->body, strlen(w->body));
    const char *v = dg_form_get(f, name);
    if (v)
        snprintf(out, cap, "%s", v);
    dg_form_free(f);
    return v ? out : NULL;
}

/* ------------------------------------------------------------ REST */

static void test_create_and_errors(void **state)
{
    (void)state;
    dg_twsim *s = sim_new(7);
    dg_twsim_response r;
    /* Auth and path. */
    assert_int_equal(dg_twsim_handle(s, "POST", MSG_PATH, SID, "wrong", "", 0, &r), 0);
    assert_int_equal(r.status, 401);
    assert_int_equal(code_of(&r), 20003);
    dg_twsim_response_free(&r);
    assert_int_equal(dg_twsim_handle(s, "POST", MSG_PATH, NULL, NULL, "", 0, &r), 0);
    assert_int_equal(r.status, 401);
    dg_twsim_response_free(&r);
    assert_int_equal(dg_twsim_handle(s, "POST", "/2010-04-01/Accounts/ACother/Messages.json", SID,
                                     TOKEN, "", 0, &r),
                     0);
    assert_int_equal(r.status, 404);
    dg_twsim_response_free(&r);
    /* Validation. */
    struct {
        const char *body;
        int code;
    } cs[] = {
        {"From=%2B15005550006&Body=hi", 21604},
        {"To=5558675310&From=%2B15005550006&Body=hi", 21211},
        {"To=%2B1555&From=%2B15005550006&Body=hi", 21211},
        {"To=%2B15558675310&Body=hi", 21603},
        {"To=%2B15558675310&From=%2B15005550006", 21602},
        {"To=%2B15558675310&From=%2B15005550006&Body=%ZZ", 21000},
    };
    for (size_t i = 0; i < sizeof cs / sizeof cs[0]; i++) {
        assert_int_equal(create(s, cs[i].body, &r), 0);
        assert_int_equal(r.status, 400);
        assert_int_equal(code_of(&r), cs[i].code);
        dg_twsim_response_free(&r);
    }
    char big[2000] = "To=%2B15558675310&From=%2B15005550006&Body=";
    memset(big + strlen(big), 'x', 1601);
    assert_int_equal(create(s, big, &r), 0);
    assert_int_equal(code_of(&r), 21617);
    dg_twsim_response_free(&r);
    /* Per-number rule: landline refused synchronously. */
    dg_twsim_number(s, "+15550000001", 21614, NULL, 0);
    assert_int_equal(create(s, "To=%2B15550000001&From=%2B15005550006&Body=hi", &r), 0);
    assert_int_equal(r.status, 400);
    assert_int_equal(code_of(&r), 21614);
    dg_twsim_response_free(&r);
    /* Success: 201 and the Message resource shape (§B2). */
    assert_int_equal(create(s, "To=%2B15558675310&From=%2B15005550006&Body=Hi+%C3%A9", &r), 0);
    assert_int_equal(r.status, 201);
    cJSON *j = cJSON_Parse(r.body);
    assert_non_null(j);
    const char *sid = cJSON_GetObjectItem(j, "sid")->valuestring;
    assert_int_equal(strlen(sid), 34);
    assert_int_equal(strncmp(sid, "SM", 2), 0);
    assert_string_equal(cJSON_GetObjectItem(j, "account_sid")->valuestring, SID);
    assert_string_equal(cJSON_GetObjectItem(j, "status")->valuestring, "queued");
    assert_string_equal(cJSON_GetObjectItem(j, "to")->valuestring, "+15558675310");
    assert_string_equal(cJSON_GetObjectItem(j, "from")->valuestring, "+15005550006");
    assert_string_equal(cJSON_GetObjectItem(j, "body")->valuestring, "Hi é");
    assert_string_equal(cJSON_GetObjectItem(j, "num_segments")->valuestring, "1");
    assert_string_equal(cJSON_GetObjectItem(j, "direction")->valuestring, "outbound-api");
    assert_string_equal(cJSON_GetObjectItem(j, "date_created")->valuestring,
                        "Mon, 02 Mar 2026 09:00:00 +0000");
    assert_true(cJSON_IsNull(cJSON_GetObjectItem(j, "error_code")));
    assert_true(cJSON_IsNull(cJSON_GetObjectItem(j, "messaging_service_sid")));
    cJSON_Delete(j);
    dg_twsim_response_free(&r);
    /* With a Messaging Service: accepted, from null, 0 segments at first. */
    assert_int_equal(create(s, "To=%2B15558675310&MessagingServiceSid=MG1&Body=hi", &r), 0);
    j = cJSON_Parse(r.body);
    assert_string_equal(cJSON_GetObjectItem(j, "status")->valuestring, "accepted");
    assert_true(cJSON_IsNull(cJSON_GetObjectItem(j, "from")));
    assert_string_equal(cJSON_GetObjectItem(j, "messaging_service_sid")->valuestring, "MG1");
    assert_string_equal(cJSON_GetObjectItem(j, "num_segments")->valuestring, "0");
    cJSON_Delete(j);
    dg_twsim_response_free(&r);
    assert_int_equal(dg_twsim_n_messages(s), 2);
    /* No StatusCallback, no callbacks. */
    assert_int_equal(dg_twsim_next_due(s), -1);
    /* Faults. */
    dg_twsim_fault(s, 2, 429, 3);
    for (int i = 0; i < 2; i++) {
        assert_int_equal(create(s, "To=%2B15558675310&From=%2B1500&Body=hi", &r), 0);
        assert_int_equal(r.status, 429);
        assert_int_equal(code_of(&r), 20429);
        assert_int_equal(r.retry_after_s, 3);
        dg_twsim_response_free(&r);
    }
    dg_twsim_fault(s, 1, 500, 0);
    assert_int_equal(create(s, "To=%2B15558675310&From=%2B1500&Body=hi", &r), 0);
    assert_int_equal(r.status, 500);
    dg_twsim_response_free(&r);
    assert_int_equal(create(s, "To=%2B15558675310&From=%2B1500&Body=hi", &r), 0);
    assert_int_equal(r.status, 201);
    dg_twsim_response_free(&r);
    assert_int_equal(dg_twsim_n_messages(s), 3);
    dg_twsim_free(s);

    /* Segments. */
    char t[400];
    memset(t, 'a', 160);
    t[160] = '\0';
    assert_int_equal(dg_twsim_segments(t), 1);
    t[160] = 'a';
    t[161] = '\0';
    assert_int_equal(dg_twsim_segments(t), 2);
    assert_int_equal(dg_twsim_segments("é"), 1);
    char u[300] = "";
    for (int i = 0; i < 71; i++)
        strcat(u, "é");
    assert_int_equal(dg_twsim_segments(u), 2);
    char user[64], pass[64];
    assert_int_equal(
        dg_twsim_parse_basic("Basic dXNlcjpwYTpzcw==", user, sizeof user, pass, sizeof pass), 0);
    assert_string_equal(user, "user");
    assert_string_equal(pass, "pa:ss");
    assert_int_equal(dg_twsim_parse_basic("Bearer x", user, sizeof user, pass, sizeof pass), -1);
}

static void test_callbacks_and_replies(void **state)
{
    (void)state;
    dg_twsim *s = sim_new(11);
    dg_twsim_response r;
    dg_twsim_webhook w;
    char v[128], sid[40];
    dg_twsim_number(s, "+15550000003", 0, "undelivered", 30003);
    dg_twsim_script_reply(s, "+15558675310", "Can I pay on Friday?", 60000);
    assert_int_equal(
        create(s,
               "To=%2B15558675310&From=%2B15005550006&Body=hi&StatusCallback="
               "https%3A%2F%2Fdunning.example.test%2Fwebhooks%2Fsms%2Fsms_main%2Fstatus",
               &r),
        0);
    cJSON *j = cJSON_Parse(r.body);
    snprintf(sid, sizeof sid, "%s", cJSON_GetObjectItem(j, "sid")->valuestring);
    cJSON_Delete(j);
    dg_twsim_response_free(&r);
    assert_int_equal(
        create(s,
               "To=%2B15550000003&From=%2B15005550006&Body=hi&StatusCallback="
               "https%3A%2F%2Fdunning.example.test%2Fwebhooks%2Fsms%2Fsms_main%2Fstatus",
               &r),
        0);
    dg_twsim_response_free(&r);
    /* Nothing before it is due. */
    assert_int_equal(dg_twsim_next_due(s), T0 + 1000);
    assert_int_equal(dg_twsim_pop_webhook(s, &w), 0);
    dg_twsim_set_now(s, T0 + 1000);
    /* sent, sent (in queueing order). */
    assert_int_equal(dg_twsim_pop_webhook(s, &w), 1);
    assert_string_equal(w.url, CB);
    assert_signed(&w);
    assert_string_equal(wh_get(&w, "MessageStatus", v, sizeof v), "sent");
    assert_string_equal(wh_get(&w, "MessageSid", v, sizeof v), sid);
    assert_string_equal(wh_get(&w, "SmsSid", v, sizeof v), sid);
    assert_string_equal(wh_get(&w, "AccountSid", v, sizeof v), SID);
    dg_twsim_webhook_free(&w);
    assert_int_equal(dg_twsim_pop_webhook(s, &w), 1);
    assert_string_equal(wh_get(&w, "To", v, sizeof v), "+15550000003");
    dg_twsim_webhook_free(&w);
    assert_int_equal(dg_twsim_pop_webhook(s, &w), 0);
    dg_twsim_set_now(s, T0 + 4000);
    assert_int_equal(dg_twsim_pop_webhook(s, &w), 1);
    assert_string_equal(wh_get(&w, "MessageStatus", v, sizeof v), "delivered");
    assert_null(wh_get(&w, "ErrorCode", v, sizeof v));
    assert_signed(&w);
    dg_twsim_webhook_free(&w);
    assert_int_equal(dg_twsim_pop_webhook(s, &w), 1);
    assert_string_equal(wh_get(&w, "MessageStatus", v, sizeof v), "undelivered");
    assert_string_equal(wh_get(&w, "ErrorCode", v, sizeof v), "30003");
    dg_twsim_webhook_free(&w);
    assert_string_equal(dg_twsim_message_at(s, 0)->status, "delivered");
    assert_string_equal(dg_twsim_message_at(s, 1)->status, "undelivered");
    /* The scripted reply follows the delivery. */
    assert_int_equal(dg_twsim_next_due(s), T0 + 64000);
    dg_twsim_set_now(s, T0 + 64000);
    assert_int_equal(dg_twsim_pop_webhook(s, &w), 1);
    assert_int_equal(w.kind, 2);
    assert_string_equal(w.url, INB);
    assert_signed(&w);
    assert_string_equal(wh_get(&w, "From", v, sizeof v), "+15558675310");
    assert_string_equal(wh_get(&w, "To", v, sizeof v), "+15005550006");
    assert_string_equal(wh_get(&w, "Body", v, sizeof v), "Can I pay on Friday?");
    dg_twsim_webhook_free(&w);
    /* STOP opts the number out: later sends fail with 21610; START lifts it. */
    dg_twsim_inbound(s, "+15558675310", "+15005550006", " stop ");
    assert_true(dg_twsim_opted_out(s, "+15558675310"));
    assert_int_equal(dg_twsim_pop_webhook(s, &w), 1);
    dg_twsim_webhook_free(&w);
    assert_int_equal(create(s, "To=%2B15558675310&From=%2B15005550006&Body=hi", &r), 0);
    assert_int_equal(code_of(&r), 21610);
    dg_twsim_response_free(&r);
    dg_twsim_inbound(s, "+15558675310", "+15005550006", "START");
    assert_false(dg_twsim_opted_out(s, "+15558675310"));
    assert_int_equal(dg_twsim_pop_webhook(s, &w), 1);
    dg_twsim_webhook_free(&w);
    assert_int_equal(create(s, "To=%2B15558675310&From=%2B15005550006&Body=hi", &r), 0);
    assert_int_equal(r.status, 201);
    dg_twsim_response_free(&r);
    dg_twsim_free(s);
}

static void test_failed_goes_straight_to_failed(void **state)
{
    (void)state;
    dg_twsim *s = sim_new(5);
    dg_twsim_response r;
    dg_twsim_webhook w;
    char v[64];
    dg_twsim_number(s, "+15550000006", 0, "failed", 30006);
    assert_int_equal(create(s,
                            "To=%2B15550000006&MessagingServiceSid=MG9&Body=hi&"
                            "StatusCallback=https%3A%2F%2Fx.test%2Fs",
                            &r),
                     0);
    assert_int_equal(r.status, 201);
    dg_twsim_response_free(&r);
    dg_twsim_set_now(s, T0 + 60000);
    assert_int_equal(dg_twsim_pop_webhook(s, &w), 1);
    assert_int_equal(w.due_at, T0 + 4000);
    assert_string_equal(wh_get(&w, "MessageStatus", v, sizeof v), "failed");
    assert_string_equal(wh_get(&w, "ErrorCode", v, sizeof v), "30006");
    assert_signed(&w);
    dg_twsim_webhook_free(&w);
    assert_int_equal(dg_twsim_pop_webhook(s, &w), 0); /* no "sent" before "failed" */
    assert_string_equal(dg_twsim_message_at(s, 0)->status, "failed");
    dg_twsim_free(s);
}

static void test_deterministic(void **state)
{
    (void)state;
    char bodies[2][3][4096];
    for (int run = 0; run < 2; run++) {
        dg_twsim_config c = {SID, TOKEN, 42, T0, INB, 1000, 3000, 700};
        dg_twsim *s = dg_twsim_new(&c);
        dg_twsim_response r;
        dg_twsim_webhook w;
        create(s, "To=%2B15558675310&From=%2B1500&Body=a&StatusCallback=https%3A%2F%2Fx.test%2Fs",
               &r);
        snprintf(bodies[run][0], sizeof bodies[run][0], "%s", r.body);
        dg_twsim_response_free(&r);
        dg_twsim_set_now(s, T0 + 10000);
        for (int i = 1; i < 3; i++) {
            assert_int_equal(dg_twsim_pop_webhook(s, &w), 1);
            snprintf(bodies[run][i], sizeof bodies[run][i], "%lld %s %s", (long long)w.due_at,
                     w.signature, w.body);
            dg_twsim_webhook_free(&w);
        }
        dg_twsim_free(s);
    }
    for (int i = 0; i < 3; i++)
        assert_string_equal(bodies[0][i], bodies[1][i]);
}

/* ------------------------------------------------ closed loop with the plugin */

typedef struct loop {
    fh *h;
    const dg_plugin_descriptor *d;
    void *self;
    dg_twsim *s;
    size_t answered; /* outbound calls answered so far */
} loop;

/* Answer every outbound call the plugin made with the simulator's reply. */
static void pump_rest(loop *l)
{
    for (; l->answered < fh_n_outbound(l->h); l->answered++) {
        fh_outbound *o = fh_outbound_at(l->h, l->answered);
        const char *path = strstr(o->url, "/2010-04-01/");
        dg_twsim_response r;
        char ra[16];
        assert_non_null(path);
        assert_int_equal(dg_twsim_handle(l->s, o->method, path, o->basic_user, o->basic_password,
                                         o->body, o->body_len, &r),
                         0);
        snprintf(ra, sizeof ra, "%d", r.retry_after_s);
        const char *hdr[] = {"Content-Type", "application/json", "Retry-After", ra, NULL};
        if (r.retry_after_s <= 0)
            hdr[2] = NULL;
        fh_reply(l->h, l->answered, r.status, hdr, r.body, DG_HTTP_OK,
                 r.retry_after_s > 0 ? r.retry_after_s * 1000LL : -1);
        dg_twsim_response_free(&r);
    }
}

/* Move both clocks to t, delivering every due webhook to the plugin. */
static void run_until(loop *l, int64_t t)
{
    for (;;) {
        int64_t due = dg_twsim_next_due(l->s);
        if (due < 0 || due > t)
            break;
        if (due > fh_now(l->h))
            fh_set_now(l->h, due);
        dg_twsim_set_now(l->s, due);
        dg_twsim_webhook w;
        while (dg_twsim_pop_webhook(l->s, &w) == 1) {
            const char *path = strstr(w.url, "/webhooks/");
            const char *hdr[] = {"X-Twilio-Signature", w.signature, "Content-Type",
                                 "application/x-www-form-urlencoded", NULL};
            fh_response resp;
            assert_int_equal(fh_request(l->h, "POST", path, "", hdr, w.body, strlen(w.body), &resp),
                             0);
            assert_int_equal(resp.status, 200);
            dg_twsim_webhook_free(&w);
        }
    }
    fh_set_now(l->h, t);
    dg_twsim_set_now(l->s, t);
}

static dg_op send_to(loop *l, const char *to, int64_t touch, int attempt)
{
    dg_outbound_message m;
    dg_op op = fh_new_op(l->h);
    DG_INIT(&m);
    m.touch_id = touch;
    m.attempt = attempt;
    m.to_phone = to;
    m.text = "Hi Ana, 42.00 EUR are still open on order #1001: https://shop.test/p/1001";
    m.sms_segments = 1;
    assert_int_equal(l->d->channel->send(l->self, &m, op), DG_PENDING);
    pump_rest(l);
    return op;
}

static int count_events(loop *l, int kind, int64_t touch)
{
    int n = 0;
    for (size_t i = 0; i < fh_n_events(l->h); i++) {
        const cJSON *e = fh_event(l->h, i);
        if (cJSON_GetObjectItem(e, "kind")->valueint == kind &&
            (touch < 0 || (int64_t)cJSON_GetObjectItem(e, "touch_id")->valuedouble == touch))
            n++;
    }
    return n;
}

static const cJSON *last_event(loop *l, int kind)
{
    for (size_t i = fh_n_events(l->h); i-- > 0;)
        if (cJSON_GetObjectItem(fh_event(l->h, i), "kind")->valueint == kind)
            return fh_event(l->h, i);
    return NULL;
}

static void test_closed_loop_with_plugin(void **state)
{
    (void)state;
    loop l = {0};
    char err[256] = "";
    l.d = sms_LTX_dg_plugin_query();
    l.h = fh_new("sms_main", "{\"account_sid\":\"" SID "\",\"auth_token\":\"" TOKEN
                             "\",\"from\":\"+15005550006\",\"api_base\":\"http://127.0.0.1:1\"}");
    assert_int_equal(fh_create_start(l.h, l.d, &l.self, err, sizeof err), 0);
    l.s = sim_new(3);
    assert_int_equal(fh_now(l.h), T0);
    dg_twsim_number(l.s, "+15550000002", 0, "undelivered", 30003);
    dg_twsim_number(l.s, "+15550000004", 21614, NULL, 0);
    dg_twsim_script_reply(l.s, "+15558675310", "Can I pay on Friday?", 120000);
    dg_twsim_script_reply(l.s, "+15550000005", "STOP", 30000);

    /* Delivered, then the customer answers. */
    dg_op a = send_to(&l, "+15558675310", 1, 1);
    const fh_completion *c = fh_completion_for(l.h, a);
    assert_int_equal(c->status, DG_OK);
    assert_string_equal(c->provider_id, dg_twsim_message_at(l.s, 0)->sid);
    /* Handset unreachable: one retry allowed, then permanent. */
    dg_op b = send_to(&l, "+15550000002", 2, 1);
    assert_int_equal(fh_completion_for(l.h, b)->status, DG_OK);
    /* Landline: refused at once, next channel. */
    dg_op d = send_to(&l, "+15550000004", 3, 1);
    assert_int_equal(fh_completion_for(l.h, d)->error_class, DG_ERRC_PERMANENT);
    assert_string_equal(fh_completion_for(l.h, d)->error_code, "21614");
    /* Replies STOP. */
    dg_op e = send_to(&l, "+15550000005", 4, 1);
    assert_int_equal(fh_completion_for(l.h, e)->status, DG_OK);

    run_until(&l, T0 + 10 * 60 * 1000);
    assert_int_equal(count_events(&l, DG_CHEV_SENT, 1), 1);
    assert_int_equal(count_events(&l, DG_CHEV_DELIVERED, 1), 1);
    assert_int_equal(count_events(&l, DG_CHEV_SENT, 2), 1);
    assert_int_equal(count_events(&l, DG_CHEV_FAILED, 2), 1);
    const cJSON *f = last_event(&l, DG_CHEV_FAILED);
    assert_int_equal(cJSON_GetObjectItem(f, "error_class")->valueint, DG_ERRC_RETRYABLE);
    assert_string_equal(cJSON_GetObjectItem(f, "error_code")->valuestring, "30003");
    const cJSON *rep = last_event(&l, DG_CHEV_REPLIED);
    assert_non_null(rep);
    assert_string_equal(cJSON_GetObjectItem(rep, "text")->valuestring, "Can I pay on Friday?");
    assert_string_equal(cJSON_GetObjectItem(rep, "address")->valuestring, "+15558675310");
    const cJSON *out = last_event(&l, DG_CHEV_OPTED_OUT);
    assert_non_null(out);
    assert_string_equal(cJSON_GetObjectItem(out, "address")->valuestring, "+15550000005");

    /* The retry of touch 2 fails again: now permanent. */
    dg_op b2 = send_to(&l, "+15550000002", 2, 2);
    assert_int_equal(fh_completion_for(l.h, b2)->status, DG_OK);
    run_until(&l, T0 + 20 * 60 * 1000);
    f = last_event(&l, DG_CHEV_FAILED);
    assert_int_equal(cJSON_GetObjectItem(f, "error_class")->valueint, DG_ERRC_PERMANENT);

    /* After STOP Twilio refuses: the send is classified SUPPRESSED. */
    dg_op e2 = send_to(&l, "+15550000005", 5, 1);
    assert_int_equal(fh_completion_for(l.h, e2)->error_class, DG_ERRC_SUPPRESSED);

    /* Throttled: retryable with the simulator's Retry-After. */
    dg_twsim_fault(l.s, 1, 429, 2);
    dg_op g = send_to(&l, "+15558675310", 6, 1);
    assert_int_equal(fh_completion_for(l.h, g)->error_class, DG_ERRC_RETRYABLE);
    assert_int_equal(fh_completion_for(l.h, g)->retry_after_ms, 2000);
    dg_twsim_fault(l.s, 1, 500, 0);
    dg_op g2 = send_to(&l, "+15558675310", 6, 2);
    assert_int_equal(fh_completion_for(l.h, g2)->error_class, DG_ERRC_RETRYABLE);

    /* Every webhook was accepted (run_until asserts 200) and none rejected. */
    assert_int_equal(fh_metric(l.h, "duegate_webhook_rejected_total"), 0);
    assert_int_equal(fh_stop_destroy(l.h, l.d, l.self, 0), 0);
    assert_int_equal(fh_double_completions(l.h), 0);
    dg_twsim_free(l.s);
    fh_free(l.h);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_create_and_errors),
        cmocka_unit_test(test_callbacks_and_replies),
        cmocka_unit_test(test_failed_goes_straight_to_failed),
        cmocka_unit_test(test_deterministic),
        cmocka_unit_test(test_closed_loop_with_plugin),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
