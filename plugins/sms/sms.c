/* sms: Twilio Programmable Messaging channel (protocols.md §B).
 *
 * send      POST {api_base}/2010-04-01/Accounts/{sid}/Messages.json, form
 *           body, Basic auth; 201 + "sid" -> the provider id.
 * webhooks  POST /webhooks/sms/<instance>/status   delivery statuses
 *           POST /webhooks/sms/<instance>/inbound  customer messages
 *           both verified with X-Twilio-Signature (§B6), 403 otherwise.
 * Errors are classified (§B7); retries belong to the core. Every piece of
 * state lives in the instance struct or the host's state store. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <cjson/cJSON.h>
#include <duegate/plugin.h>

#include "twilio_sig.h"

#define SID_TTL_MS (8LL * 24 * 3600 * 1000) /* callbacks come within days */

typedef struct sms sms;

typedef struct send_ctx {
    sms *s;
    dg_op op;
    dg_http_call *call;
    int64_t touch_id;
    int32_t attempt;
    struct send_ctx *prev, *next;
} send_ctx;

struct sms {
    const dg_host *host;
    dg_instance *inst;
    const char *account_sid, *auth_token, *from, *service_sid, *api_base, *help_text;
    int64_t max_segments, unreachable_retry_ms, rate_limit_retry_ms, timeout_ms;
    char status_path[160], inbound_path[160];
    char *status_url; /* public URL of status_path */
    send_ctx *inflight;
    int stopping;
    dg_op stop_op;
};

/* ------------------------------------------------------------ helpers */

static void logkv(sms *s, dg_log_level lvl, const char *ev, const char *k1, const char *v1, int f1,
                  const char *k2, const char *v2)
{
    dg_kv kv[2] = {{k1, v1, f1}, {k2, v2, DG_KV_PLAIN}};
    s->host->log(s->inst, lvl, ev, kv, k1 ? (k2 ? 2 : 1) : 0);
}

static const char *cfg_str(sms *s, const char *key, const char *def)
{
    const char *v = s->host->config_string(s->inst, key);
    return v && *v ? v : def;
}

static int64_t cfg_int(sms *s, const char *key, int64_t def)
{
    int64_t v;
    return s->host->config_int(s->inst, key, &v) == DG_OK ? v : def;
}

static int is_one_of(const char *word, const char *const *list)
{
    for (; *list; list++)
        if (strcasecmp(word, *list) == 0)
            return 1;
    return 0;
}

/* The body as one keyword: trimmed, a single word, else "" (§B8). */
static void keyword_of(const char *body, char *out, size_t cap)
{
    size_t n;
    out[0] = '\0';
    if (!body)
        return;
    while (isspace((unsigned char)*body))
        body++;
    n = strlen(body);
    while (n && isspace((unsigned char)body[n - 1]))
        n--;
    if (n == 0 || n >= cap)
        return;
    for (size_t i = 0; i < n; i++)
        if (isspace((unsigned char)body[i]))
            return;
    memcpy(out, body, n);
    out[n] = '\0';
}

static const char *const kw_stop[] = {"STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END",
                                      "QUIT", "REVOKE",  "OPTOUT",      NULL};
static const char *const kw_start[] = {"START", "YES", "UNSTOP", NULL};
static const char *const kw_help[] = {"HELP", "INFO", NULL};

/* ------------------------------------------------------- classification */

typedef struct klass {
    dg_error_class ec;
    int64_t retry_after_ms;
    const char *why;
} klass;

/* §B7. `code` is Twilio's error code (0 when absent), `http` the HTTP status
 * of a synchronous error (0 for callbacks), attempt the try number. */
static klass classify(sms *s, int code, int http, int64_t retry_after_ms, int32_t attempt)
{
    klass k = {DG_ERRC_PERMANENT, 0, "rejected by Twilio"};
    switch (code) {
    case 21610:
        k.ec = DG_ERRC_SUPPRESSED;
        k.why = "recipient opted out (STOP)";
        return k;
    case 21211:
    case 21614:
    case 21635:
    case 30005:
    case 30006:
        k.why = "number cannot receive SMS";
        return k;
    case 21408:
    case 21612:
        k.why = "destination not reachable from this account";
        return k;
    case 30007:
        k.why = "carrier filtered the message";
        return k;
    case 30003:
    case 30008:
        /* Twilio suggests a single retry: the second failure moves on. */
        if (attempt >= 2) {
            k.why = "handset unreachable again";
            return k;
        }
        k.ec = DG_ERRC_RETRYABLE;
        k.retry_after_ms = s->unreachable_retry_ms;
        k.why = "handset unreachable";
        return k;
    case 20003:
    case 20005:
        k.ec = DG_ERRC_STOP_SENDER;
        k.why = "Twilio refused our credentials";
        return k;
    case 21602:
    case 21603:
    case 21606:
    case 21617:
    case 21701:
        k.ec = DG_ERRC_CONFIG;
        k.why = "request refused: check from/messaging_service_sid and the template";
        return k;
    case 20429:
        http = 429;
        break;
    default:
        break;
    }
    if (http == 429) {
        k.ec = DG_ERRC_RETRYABLE;
        k.retry_after_ms = retry_after_ms > 0 ? retry_after_ms : s->rate_limit_retry_ms;
        k.why = "rate limited";
    } else if (http == 401 || http == 403) {
        k.ec = DG_ERRC_STOP_SENDER;
        k.why = "Twilio refused our credentials";
    } else if (http >= 500 || http == 408) {
        k.ec = DG_ERRC_RETRYABLE;
        k.retry_after_ms = retry_after_ms > 0 ? retry_after_ms : 0;
        k.why = "Twilio server error";
    }
    return k;
}

/* ----------------------------------------------------------------- send */

static void ctx_unlink(send_ctx *c)
{
    sms *s = c->s;
    if (c->prev)
        c->prev->next = c->next;
    else
        s->inflight = c->next;
    if (c->next)
        c->next->prev = c->prev;
}

static void finish(send_ctx *c, const dg_result *res)
{
    sms *s = c->s;
    ctx_unlink(c);
    s->host->complete(s->inst, c->op, res);
    free(c);
    if (s->stopping && !s->inflight) {
        s->stopping = 0;
        s->host->complete(s->inst, s->stop_op, NULL);
    }
}

static void remember_sid(sms *s, const char *sid, int64_t touch_id, int32_t attempt)
{
    char key[96], val[64];
    snprintf(key, sizeof key, "sid:%s", sid);
    snprintf(val, sizeof val, "%lld %d", (long long)touch_id, (int)attempt);
    s->host->state_put(s->inst, key, val, strlen(val), SID_TTL_MS);
}

static int recall_sid(sms *s, const char *sid, int64_t *touch_id, int32_t *attempt)
{
    char key[96], *val = NULL;
    long long t = 0;
    int a = 1;
    snprintf(key, sizeof key, "sid:%s", sid);
    if (s->host->state_get(s->inst, key, &val, NULL) != DG_OK)
        return DG_ENOTFOUND;
    if (sscanf(val, "%lld %d", &t, &a) < 1)
        t = 0;
    s->host->free(val);
    *touch_id = t;
    *attempt = a;
    return DG_OK;
}

static void on_sent(void *ud, const dg_http_response *r)
{
    send_ctx *c = ud;
    sms *s = c->s;
    dg_result res;
    cJSON *j = NULL;
    char codebuf[32] = "";
    DG_INIT(&res);
    c->call = NULL;
    if (r->transport_error != DG_HTTP_OK) {
        res.status = DG_EIO;
        res.error_class = DG_ERRC_RETRYABLE;
        res.error_message = "cannot reach Twilio";
        logkv(s, DG_LOG_WARN, "sms_transport_error", "error", r->error_message, 0, NULL, NULL);
        finish(c, &res);
        return;
    }
    j = cJSON_ParseWithLength(r->body ? r->body : "", r->body_len);
    if (r->status >= 200 && r->status < 300) {
        const cJSON *sid = cJSON_GetObjectItemCaseSensitive(j, "sid");
        if (cJSON_IsString(sid) && sid->valuestring[0]) {
            res.provider_id = sid->valuestring;
            remember_sid(s, sid->valuestring, c->touch_id, c->attempt);
            s->host->metric_add(s->inst, "duegate_sms_sent_total", NULL, 0, 1);
        } else {
            /* Accepted without an id: do not retry (it would send twice). */
            logkv(s, DG_LOG_WARN, "sms_no_sid", "status", "2xx", 0, NULL, NULL);
        }
        finish(c, &res);
        cJSON_Delete(j);
        return;
    }
    const cJSON *code = cJSON_GetObjectItemCaseSensitive(j, "code");
    const cJSON *msg = cJSON_GetObjectItemCaseSensitive(j, "message");
    int icode = cJSON_IsNumber(code) ? code->valueint : 0;
    klass k = classify(s, icode, r->status, r->retry_after_ms, c->attempt);
    snprintf(codebuf, sizeof codebuf, "%d", icode ? icode : r->status);
    res.status = DG_EPROTO;
    res.error_class = k.ec;
    res.retry_after_ms = k.retry_after_ms;
    res.error_code = codebuf;
    res.error_message = cJSON_IsString(msg) ? msg->valuestring : k.why;
    logkv(s, DG_LOG_WARN, "sms_send_failed", "code", codebuf, 0, "class", k.why);
    s->host->metric_add(s->inst, "duegate_sms_failed_total", NULL, 0, 1);
    finish(c, &res);
    cJSON_Delete(j);
}

static int fail_now(sms *s, dg_op op, int status, dg_error_class ec, const char *why)
{
    dg_result res;
    DG_INIT(&res);
    res.status = status;
    res.error_class = ec;
    res.error_message = why;
    s->host->complete(s->inst, op, &res);
    return DG_PENDING;
}

static int sms_send(void *self, const dg_outbound_message *m, dg_op op)
{
    sms *s = self;
    dg__tw_buf body = {0}, url = {0};
    send_ctx *c;
    dg_http_request rq;
    dg_kv hdr[1] = {{"Accept", "application/json", DG_KV_PLAIN}};
    int rc;
    if (s->stopping)
        return DG_ESTATE;
    if (!m->to_phone || m->to_phone[0] != '+')
        return fail_now(s, op, DG_EINVAL, DG_ERRC_PERMANENT, "no E.164 phone number");
    if (!m->text || !m->text[0])
        return fail_now(s, op, DG_EINVAL, DG_ERRC_CONFIG, "no SMS text rendered");
    if (s->max_segments > 0 && m->sms_segments > s->max_segments)
        return fail_now(s, op, DG_EINVAL, DG_ERRC_CONFIG,
                        "text needs more segments than max_segments");
    c = calloc(1, sizeof *c);
    if (!c)
        return DG_ENOMEM;
    c->s = s;
    c->op = op;
    c->touch_id = m->touch_id;
    c->attempt = m->attempt > 0 ? m->attempt : 1;
    if (dg__tw_buf_form(&body, "To", m->to_phone) ||
        (s->service_sid ? dg__tw_buf_form(&body, "MessagingServiceSid", s->service_sid)
                        : dg__tw_buf_form(&body, "From", s->from)) ||
        dg__tw_buf_form(&body, "Body", m->text) ||
        dg__tw_buf_form(&body, "StatusCallback", s->status_url) ||
        dg__tw_buf_str(&url, s->api_base) || dg__tw_buf_str(&url, "/2010-04-01/Accounts/") ||
        dg__tw_buf_str(&url, s->account_sid) || dg__tw_buf_str(&url, "/Messages.json")) {
        rc = DG_ENOMEM;
        goto fail;
    }
    DG_INIT(&rq);
    rq.method = "POST";
    rq.url = url.p;
    rq.headers = hdr;
    rq.n_headers = 1;
    rq.body = body.p;
    rq.body_len = body.len;
    rq.basic_user = s->account_sid;
    rq.basic_password = s->auth_token;
    rq.timeout_ms = s->timeout_ms;
    /* Link first: the host may call back from inside http_request. */
    c->next = s->inflight;
    if (c->next)
        c->next->prev = c;
    s->inflight = c;
    rc = s->host->http_request(s->inst, &rq, on_sent, c, &c->call);
    if (rc < 0) {
        ctx_unlink(c);
        goto fail;
    }
    dg__tw_buf_free(&body);
    dg__tw_buf_free(&url);
    return DG_PENDING;
fail:
    free(c);
    dg__tw_buf_free(&body);
    dg__tw_buf_free(&url);
    return rc;
}

/* ------------------------------------------------------------- webhooks */

static void respond(sms *s, dg_http_req *req, int status, const char *ctype, const char *body)
{
    dg_kv h[1] = {{"Content-Type", ctype, DG_KV_PLAIN}};
    s->host->http_respond(req, status, h, 1, body, strlen(body));
}

static void respond_twiml(sms *s, dg_http_req *req, const char *message)
{
    dg__tw_buf b = {0};
    if (!message) {
        respond(s, req, 200, "text/xml", "<Response/>");
        return;
    }
    if (dg__tw_buf_str(&b, "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Response><Message>") ||
        dg__tw_buf_xml(&b, message) || dg__tw_buf_str(&b, "</Message></Response>")) {
        dg__tw_buf_free(&b);
        respond(s, req, 500, "text/plain", "out of memory");
        return;
    }
    respond(s, req, 200, "text/xml", b.p);
    dg__tw_buf_free(&b);
}

/* Verify X-Twilio-Signature over the public URL (with and without the
 * default port) and the decoded form params. 1 = valid. */
static int verify(sms *s, dg_http_req *req, const dg_form *f)
{
    const dg_host *H = s->host;
    const char *sig = H->http_req_header(req, "X-Twilio-Signature");
    const char *q = H->http_req_query(req);
    const char *pub = H->public_url(s->inst);
    size_t n = f ? H->form_count(f) : 0, ulen;
    const char **names = NULL, **values = NULL;
    char *url = NULL, *alt = NULL, mine[64];
    int ok = 0;
    if (!sig || !*sig)
        return 0;
    ulen = strlen(pub) + strlen(H->http_req_path(req)) + (q ? strlen(q) : 0) + 16;
    url = malloc(ulen);
    alt = malloc(ulen);
    names = calloc(n + 1, sizeof *names);
    values = calloc(n + 1, sizeof *values);
    if (!url || !alt || !names || !values)
        goto done;
    snprintf(url, ulen, "%s%s%s%s", pub, H->http_req_path(req), q && *q ? "?" : "", q ? q : "");
    for (size_t i = 0; i < n; i++) {
        names[i] = H->form_name(f, i);
        values[i] = H->form_value(f, i);
    }
    if (dg__tw_signature(H->hmac, H->base64_encode, s->auth_token, url, names, values, n, mine,
                         sizeof mine) == 0 &&
        H->ct_equal(mine, strlen(mine), sig, strlen(sig)))
        ok = 1;
    if (!ok && dg__tw_url_port_variant(url, alt, ulen) == 0 &&
        dg__tw_signature(H->hmac, H->base64_encode, s->auth_token, alt, names, values, n, mine,
                         sizeof mine) == 0 &&
        H->ct_equal(mine, strlen(mine), sig, strlen(sig)))
        ok = 1;
done:
    free(url);
    free(alt);
    free(names);
    free(values);
    return ok;
}

/* Parse and verify; on failure answers the request and returns NULL. */
static dg_form *verified_form(sms *s, dg_http_req *req)
{
    size_t len = 0;
    const char *body = s->host->http_req_body(req, &len);
    dg_form *f = s->host->form_parse(body ? body : "", body ? len : 0);
    if (!f) {
        respond(s, req, 400, "text/plain", "malformed form body");
        return NULL;
    }
    if (!verify(s, req, f)) {
        s->host->form_free(f);
        s->host->metric_add(s->inst, "duegate_webhook_rejected_total", NULL, 0, 1);
        logkv(s, DG_LOG_WARN, "sms_bad_signature", "path", s->host->http_req_path(req), 0, NULL,
              NULL);
        respond(s, req, 403, "text/plain", "invalid signature");
        return NULL;
    }
    return f;
}

/* Emit, then answer: 2xx once stored (or a duplicate), 500 so Twilio retries. */
typedef struct pending_answer {
    sms *s;
    dg_http_req *req;
    int twiml;
    int in_call, called, status; /* done may run inside emit itself */
} pending_answer;

static void answer(sms *s, dg_http_req *req, int twiml, int rc)
{
    if (rc == DG_OK || rc == DG_EEXIST) {
        if (twiml)
            respond_twiml(s, req, NULL);
        else
            respond(s, req, 200, "text/plain", "");
    } else
        respond(s, req, 500, "text/plain", "cannot store the event");
}

static void on_emitted(void *ud, int status)
{
    pending_answer *p = ud;
    if (p->in_call) {
        p->called = 1;
        p->status = status;
        return;
    }
    answer(p->s, p->req, p->twiml, status);
    free(p);
}

static void emit_and_answer(sms *s, dg_http_req *req, const dg_channel_event *ev, int twiml)
{
    pending_answer *p = calloc(1, sizeof *p);
    int rc;
    if (!p) {
        respond(s, req, 500, "text/plain", "out of memory");
        return;
    }
    p->s = s;
    p->req = req;
    p->twiml = twiml;
    p->in_call = 1;
    rc = s->host->emit_channel_event(s->inst, ev, on_emitted, p);
    p->in_call = 0;
    if (p->called)
        rc = p->status;
    else if (rc == DG_PENDING)
        return; /* on_emitted answers */
    free(p);
    answer(s, req, twiml, rc);
}

static void on_status(void *ud, dg_http_req *req)
{
    sms *s = ud;
    const dg_host *H = s->host;
    dg_form *f = verified_form(s, req);
    dg_channel_event ev;
    char dedupe[160];
    const char *sid, *st, *code;
    int32_t attempt = 1;
    if (!f)
        return;
    sid = H->form_get(f, "MessageSid");
    if (!sid)
        sid = H->form_get(f, "SmsSid");
    st = H->form_get(f, "MessageStatus");
    if (!st)
        st = H->form_get(f, "SmsStatus");
    code = H->form_get(f, "ErrorCode");
    if (!sid || !st) {
        respond(s, req, 400, "text/plain", "MessageSid and MessageStatus required");
        goto out;
    }
    DG_INIT(&ev);
    if (strcmp(st, "sent") == 0)
        ev.kind = DG_CHEV_SENT;
    else if (strcmp(st, "delivered") == 0)
        ev.kind = DG_CHEV_DELIVERED;
    else if (strcmp(st, "read") == 0)
        ev.kind = DG_CHEV_READ;
    else if (strcmp(st, "failed") == 0 || strcmp(st, "undelivered") == 0 ||
             strcmp(st, "canceled") == 0)
        ev.kind = DG_CHEV_FAILED;
    else {
        /* queued, accepted, sending, scheduled...: nothing the engine uses. */
        respond(s, req, 200, "text/plain", "");
        goto out;
    }
    recall_sid(s, sid, &ev.touch_id, &attempt);
    if (ev.kind == DG_CHEV_FAILED) {
        klass k = classify(s, code ? atoi(code) : 0, 0, 0, attempt);
        ev.error_class = k.ec;
        ev.retry_after_ms = k.retry_after_ms;
        ev.error_code = code && *code ? code : NULL;
        ev.error_message = H->form_get(f, "ErrorMessage");
        if (!ev.error_message)
            ev.error_message = k.why;
    }
    snprintf(dedupe, sizeof dedupe, "%s:%s", sid, st);
    ev.provider_message_id = sid;
    ev.address = H->form_get(f, "To");
    ev.occurred_at = H->now_ms(s->inst);
    ev.dedupe_key = dedupe;
    emit_and_answer(s, req, &ev, 0);
out:
    H->form_free(f);
}

static void on_inbound(void *ud, dg_http_req *req)
{
    sms *s = ud;
    const dg_host *H = s->host;
    dg_form *f = verified_form(s, req);
    dg_channel_event ev;
    const char *from, *body, *sid, *opt;
    char kw[32], dedupe[160];
    if (!f)
        return;
    from = H->form_get(f, "From");
    body = H->form_get(f, "Body");
    sid = H->form_get(f, "MessageSid");
    opt = H->form_get(f, "OptOutType"); /* Advanced Opt-Out, when enabled */
    if (!from) {
        respond(s, req, 400, "text/plain", "From required");
        goto out;
    }
    keyword_of(body, kw, sizeof kw);
    DG_INIT(&ev);
    ev.address = from;
    ev.provider_message_id = sid;
    ev.occurred_at = H->now_ms(s->inst);
    if ((opt && strcasecmp(opt, "STOP") == 0) || is_one_of(kw, kw_stop))
        ev.kind = DG_CHEV_OPTED_OUT;
    else if ((opt && strcasecmp(opt, "START") == 0) || is_one_of(kw, kw_start))
        ev.kind = DG_CHEV_OPTED_IN;
    else if ((opt && strcasecmp(opt, "HELP") == 0) || is_one_of(kw, kw_help)) {
        logkv(s, DG_LOG_INFO, "sms_help", "from", from, DG_KV_PHONE, NULL, NULL);
        respond_twiml(s, req, s->help_text);
        goto out;
    } else {
        ev.kind = DG_CHEV_REPLIED;
        ev.text = body ? body : "";
    }
    if (sid) {
        snprintf(dedupe, sizeof dedupe, "%s:inbound", sid);
        ev.dedupe_key = dedupe;
    }
    logkv(s, DG_LOG_INFO, "sms_inbound", "from", from, DG_KV_PHONE, "kind",
          ev.kind == DG_CHEV_REPLIED     ? "reply"
          : ev.kind == DG_CHEV_OPTED_OUT ? "opt_out"
                                         : "opt_in");
    emit_and_answer(s, req, &ev, 1);
out:
    H->form_free(f);
}

/* ------------------------------------------------------------ lifecycle */

static int sms_create(const dg_host *host, dg_instance *inst, void **self, char *err, size_t len)
{
    sms *s = calloc(1, sizeof *s);
    const char *name, *pub;
    size_t n;
    if (!s) {
        snprintf(err, len, "out of memory");
        return DG_ENOMEM;
    }
    *self = s;
    s->host = host;
    s->inst = inst;
    s->account_sid = cfg_str(s, "account_sid", NULL);
    s->auth_token = cfg_str(s, "auth_token", NULL);
    s->from = cfg_str(s, "from", NULL);
    s->service_sid = cfg_str(s, "messaging_service_sid", NULL);
    s->api_base = cfg_str(s, "api_base", "https://api.twilio.com");
    s->help_text = cfg_str(s, "help_text",
                           "Questions about your order? Reply to this message and we will "
                           "get back to you. Reply STOP to opt out.");
    s->max_segments = cfg_int(s, "max_segments", 10);
    s->unreachable_retry_ms = cfg_int(s, "unreachable_retry_ms", 30LL * 60 * 1000);
    s->rate_limit_retry_ms = cfg_int(s, "rate_limit_retry_ms", 5000);
    s->timeout_ms = cfg_int(s, "timeout_ms", 0);
    if (!s->account_sid || !s->auth_token) {
        snprintf(err, len, "account_sid and auth_token are required");
        return DG_ECONFIG;
    }
    if (!s->from == !s->service_sid) {
        snprintf(err, len, "set exactly one of from and messaging_service_sid");
        return DG_ECONFIG;
    }
    if (strncmp(s->api_base, "https://", 8) != 0 && strncmp(s->api_base, "http://", 7) != 0) {
        snprintf(err, len, "api_base must be an http(s) URL");
        return DG_ECONFIG;
    }
    name = host->instance_name(inst);
    snprintf(s->status_path, sizeof s->status_path, "/webhooks/sms/%s/status", name);
    snprintf(s->inbound_path, sizeof s->inbound_path, "/webhooks/sms/%s/inbound", name);
    pub = host->public_url(inst);
    n = strlen(pub) + strlen(s->status_path) + 1;
    s->status_url = malloc(n);
    if (!s->status_url) {
        snprintf(err, len, "out of memory");
        return DG_ENOMEM;
    }
    snprintf(s->status_url, n, "%s%s", pub, s->status_path);
    return DG_OK;
}

static int sms_start(void *self, char *err, size_t len)
{
    sms *s = self;
    int rc = s->host->http_route(s->inst, "POST", s->status_path, on_status, s);
    if (rc == DG_OK)
        rc = s->host->http_route(s->inst, "POST", s->inbound_path, on_inbound, s);
    if (rc != DG_OK) {
        snprintf(err, len, "cannot register webhook routes: %s", s->host->strerror(rc));
        return rc;
    }
    return DG_OK;
}

static int sms_stop(void *self, dg_op op)
{
    sms *s = self;
    if (!s->inflight)
        return DG_OK;
    s->stopping = 1;
    s->stop_op = op;
    return DG_PENDING;
}

static void sms_destroy(void *self)
{
    sms *s = self;
    if (!s)
        return;
    while (s->inflight) {
        send_ctx *c = s->inflight;
        s->inflight = c->next;
        if (c->call)
            s->host->http_cancel(c->call);
        free(c);
    }
    free(s->status_url);
    free(s);
}

static const dg_config_field sms_schema[] = {
    {"account_sid", DG_CFG_STRING, DG_CFGF_REQUIRED, NULL, "Twilio Account SID (AC...)", 0, 0, {0}},
    {"auth_token",
     DG_CFG_STRING,
     DG_CFGF_REQUIRED | DG_CFGF_SECRET,
     NULL,
     "Auth Token: Basic auth password and webhook signing key",
     0,
     0,
     {0}},
    {"from",
     DG_CFG_STRING,
     0,
     NULL,
     "sender number in E.164 (or use messaging_service_sid)",
     0,
     0,
     {0}},
    {"messaging_service_sid", DG_CFG_STRING, 0, NULL, "Messaging Service SID (MG...)", 0, 0, {0}},
    {"api_base", DG_CFG_STRING, 0, "\"https://api.twilio.com\"", "REST API base URL", 0, 0, {0}},
    {"help_text", DG_CFG_STRING, 0, NULL, "answer to HELP/INFO (the store's contact)", 0, 0, {0}},
    {"max_segments",
     DG_CFG_INT,
     0,
     "10",
     "refuse texts longer than this many segments",
     1,
     100,
     {0}},
    {"unreachable_retry_ms",
     DG_CFG_INT,
     0,
     "1800000",
     "delay of the one retry after 30003/30008",
     0,
     86400000,
     {0}},
    {"rate_limit_retry_ms",
     DG_CFG_INT,
     0,
     "5000",
     "backoff after 429 without Retry-After",
     0,
     3600000,
     {0}},
    {"timeout_ms", DG_CFG_INT, 0, "0", "REST call timeout (0: host default)", 0, 600000, {0}},
    {NULL, 0, 0, NULL, NULL, 0, 0, {0}}};

static const dg_channel_ops sms_ops = {
    .struct_size = sizeof(dg_channel_ops),
    .capabilities = DG_CAP_DELIVERY_RECEIPTS | DG_CAP_INBOUND_REPLIES | DG_CAP_PHONE,
    .create = sms_create,
    .start = sms_start,
    .stop = sms_stop,
    .destroy = sms_destroy,
    .send = sms_send,
};

static const dg_plugin_descriptor sms_desc = {
    .struct_size = sizeof(dg_plugin_descriptor),
    .abi_major = DG_ABI_MAJOR,
    .abi_minor = DG_ABI_MINOR,
    .kind = DG_PLUGIN_CHANNEL,
    .name = "sms",
    .version = "1.0.0",
    .description = "SMS through Twilio Programmable Messaging",
    .config_schema = sms_schema,
    .channel = &sms_ops,
};

DG_PLUGIN_DEFINE(sms, sms_desc)
