/* Helpers shared by the WhatsApp plugin tests (header-only, static). */
#ifndef DG_TESTS_WA_TESTUTIL_H
#define DG_TESTS_WA_TESTUTIL_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crypto.h"
#include "fakehost.h"

const dg_plugin_descriptor *whatsapp_LTX_dg_plugin_query(void);

#define WA_TEST_CONF                                                                               \
    "{\"__first\": 0%s, \"phone_number_id\": \"1122334455667\","                                   \
    " \"access_token\": \"tok-SECRET-a1\", \"app_secret\": \"test_app_secret\","                   \
    " \"verify_token\": \"vt-SECRET-b2\", \"api_base\": \"https://graph.example.test\","           \
    " \"api_version\": \"v21.0\"}"
#define WA_TEST_URL "https://graph.example.test/v21.0/1122334455667/messages"
#define WA_TEST_ROUTE "/webhooks/whatsapp/wa1"

typedef struct wat {
    fh *h;
    void *self;
    const dg_plugin_descriptor *d;
} wat;

/* Start an instance named `name` with WA_TEST_CONF; `extra` (",\"k\": v" or "") comes
 * first, so its keys win over the defaults (cJSON finds the first match). */
static inline wat wat_start(const char *name, const char *extra)
{
    wat t;
    char conf[1024], err[256] = "";
    snprintf(conf, sizeof conf, WA_TEST_CONF, extra ? extra : "");
    t.h = fh_new(name, conf);
    t.d = whatsapp_LTX_dg_plugin_query();
    t.self = NULL;
    if (fh_create_start(t.h, t.d, &t.self, err, sizeof err) != 0) {
        fprintf(stderr, "start failed: %s\n", err);
        abort();
    }
    return t;
}

static inline void wat_end(wat *t)
{
    fh_stop_destroy(t->h, t->d, t->self, 60000);
    fh_free(t->h);
}

static inline dg_op wat_send(wat *t, const dg_outbound_message *m)
{
    dg_op op = fh_new_op(t->h);
    int rc = t->d->channel->send(t->self, m, op);
    if (rc != DG_PENDING) {
        fprintf(stderr, "send returned %d\n", rc);
        abort();
    }
    return op;
}

/* A template message: payment_reminder (en_US), 2 positional params. */
static inline void wat_msg(dg_outbound_message *m, dg_template_param *p, const char *to,
                           int64_t touch)
{
    DG_INIT(m);
    DG_INIT(&p[0]);
    DG_INIT(&p[1]);
    p[0].value = "Ana";
    p[1].value = "#1001";
    m->touch_id = touch;
    m->case_id = 7;
    m->to_phone = to;
    m->template_name = "payment_reminder";
    m->template_language = "en_US";
    m->params = p;
    m->n_params = 2;
}

/* X-Hub-Signature-256 value of body under secret. */
static inline void wat_sign(const char *secret, const char *body, size_t len, char out[80])
{
    unsigned char mac[32];
    char hex[65];
    dg_hmac(DG_HMAC_SHA256, secret, strlen(secret), body, len, mac, sizeof mac);
    dg_hex_encode(mac, 32, hex, sizeof hex);
    snprintf(out, 80, "sha256=%s", hex);
}

/* POST a signed webhook body; returns the HTTP status. */
static inline int wat_webhook(wat *t, const char *route, const char *secret, const char *body)
{
    char sig[80];
    fh_response r;
    wat_sign(secret, body, strlen(body), sig);
    const char *hdr[] = {"X-Hub-Signature-256", sig, "Content-Type", "application/json", NULL};
    if (fh_request(t->h, "POST", route, NULL, hdr, body, strlen(body), &r) != 0)
        return -1;
    return r.status;
}

/* A status webhook body for one status. */
static inline char *wat_status_body(const char *wamid, const char *status, const char *rcpt,
                                    const char *cb, long err_code)
{
    char *b = malloc(2048);
    char cbf[128] = "", errs[256] = "";
    if (cb)
        snprintf(cbf, sizeof cbf, ",\"biz_opaque_callback_data\":\"%s\"", cb);
    if (err_code)
        snprintf(errs, sizeof errs,
                 ",\"errors\":[{\"code\":%ld,\"title\":\"t\",\"message\":\"m%ld\","
                 "\"error_data\":{\"details\":\"d\"}}]",
                 err_code, err_code);
    snprintf(b, 2048,
             "{\"object\":\"whatsapp_business_account\",\"entry\":[{\"id\":\"1\",\"changes\":[{"
             "\"field\":\"messages\",\"value\":{\"messaging_product\":\"whatsapp\","
             "\"metadata\":{\"display_phone_number\":\"15550001\",\"phone_number_id\":"
             "\"1122334455667\"},\"statuses\":[{\"id\":\"%s\",\"status\":\"%s\","
             "\"timestamp\":\"1772442000\",\"recipient_id\":\"%s\"%s%s}]}}]}]}",
             wamid, status, rcpt, cbf, errs);
    return b;
}

/* An inbound text message webhook body. */
static inline char *wat_text_body(const char *from, const char *wamid, const char *text,
                                  const char *ctx_wamid, const char *ts)
{
    char *b = malloc(2048), ctx[200] = "";
    if (ctx_wamid)
        snprintf(ctx, sizeof ctx, "\"context\":{\"from\":\"15550001\",\"id\":\"%s\"},", ctx_wamid);
    snprintf(b, 2048,
             "{\"object\":\"whatsapp_business_account\",\"entry\":[{\"id\":\"1\",\"changes\":[{"
             "\"field\":\"messages\",\"value\":{\"messaging_product\":\"whatsapp\","
             "\"metadata\":{\"display_phone_number\":\"15550001\",\"phone_number_id\":"
             "\"1122334455667\"},\"messages\":[{%s\"from\":\"%s\",\"id\":\"%s\","
             "\"timestamp\":\"%s\",\"type\":\"text\",\"text\":{\"body\":\"%s\"}}]}}]}]}",
             ctx, from, wamid, ts, text);
    return b;
}

static inline const char *ev_str(const cJSON *ev, const char *k)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(ev, k);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

static inline double ev_num(const cJSON *ev, const char *k)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(ev, k);
    return cJSON_IsNumber(v) ? v->valuedouble : -1;
}

#endif
