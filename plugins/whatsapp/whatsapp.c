/* whatsapp: the WhatsApp Business Cloud API channel (protocols.md section A).
 *
 * send: a template message (always allowed) or free-form text (only inside
 * the customer's 24 h window, which we track from inbound webhooks in the
 * host state store). The touch id rides in biz_opaque_callback_data. Sends
 * are paced (wa_pace.c); responses and failed-status webhooks are
 * classified by error code (wa_errors.c). Codes that block the whole sender
 * (368, 190, 131048, ...) stop the instance from sending: health goes down
 * with the reason, and every later send fails at once with STOP_SENDER
 * until the instance is restarted. Webhooks: wa_webhook.c. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wa.h"

/* ------------------------------------------------------------- helpers */

static char *dupstr(const char *s)
{
    size_t n = s ? strlen(s) + 1 : 0;
    char *d = s ? malloc(n) : NULL;
    if (d)
        memcpy(d, s, n);
    return d;
}

void wa_item_free(wa_item *it)
{
    if (!it)
        return;
    free(it->to);
    free(it->body);
    free(it->fallback);
    free(it);
}

void wa_complete(wa *w, dg_op op, int status, dg_error_class cls, int64_t retry_after_ms,
                 const char *provider_id, const char *code, const char *msg)
{
    dg_result r;
    DG_INIT(&r);
    r.status = status;
    r.error_class = status == DG_OK ? DG_ERRC_NONE : cls;
    r.retry_after_ms = retry_after_ms;
    r.provider_id = provider_id;
    r.error_code = code;
    r.error_message = msg;
    w->host->complete(w->inst, op, &r);
    if (status != DG_OK) {
        dg_kv kv[3] = {w->label,
                       {"code", code ? code : "", DG_KV_PLAIN},
                       {"class",
                        cls == DG_ERRC_RETRYABLE     ? "retryable"
                        : cls == DG_ERRC_WAIT        ? "wait"
                        : cls == DG_ERRC_PERMANENT   ? "permanent"
                        : cls == DG_ERRC_CONFIG      ? "config"
                        : cls == DG_ERRC_STOP_SENDER ? "stop_sender"
                                                     : "other",
                        DG_KV_PLAIN}};
        w->host->metric_add(w->inst, "duegate_whatsapp_send_errors_total", kv, 3, 1);
    }
}

/* Finish an item: complete its op, or, for a template we sent on our own
 * after a late 131047 (no op), report a failure as a channel event. */
void wa_item_finish(wa *w, wa_item *it, int status, dg_error_class cls, int64_t retry_after_ms,
                    const char *provider_id, const char *code, const char *msg)
{
    dg_channel_event ev;
    char dedupe[64];
    if (!it->no_op) {
        wa_complete(w, it->op, status, cls, retry_after_ms, provider_id, code, msg);
        return;
    }
    if (status == DG_OK)
        return; /* its statuses arrive by webhook with the touch id */
    DG_INIT(&ev);
    ev.kind = DG_CHEV_FAILED;
    ev.touch_id = it->touch_id;
    ev.address = it->to;
    ev.error_class = cls;
    ev.error_code = code;
    ev.error_message = msg;
    ev.retry_after_ms = retry_after_ms;
    ev.occurred_at = w->host->now_ms(w->inst);
    snprintf(dedupe, sizeof dedupe, "touch%lld:fallback:failed", (long long)it->touch_id);
    ev.dedupe_key = dedupe;
    w->host->emit_channel_event(w->inst, &ev, NULL, NULL);
}

void wa_stop_sender(wa *w, long code, const char *why)
{
    char c[24];
    if (w->sender_stopped)
        return;
    w->sender_stopped = 1;
    snprintf(w->stop_reason, sizeof w->stop_reason, "WhatsApp error %ld: %s; sending stopped", code,
             why && *why ? why : "sender blocked");
    snprintf(c, sizeof c, "%ld", code);
    dg_kv kv[2] = {{"code", c, DG_KV_PLAIN}, {"reason", w->stop_reason, DG_KV_PLAIN}};
    w->host->log(w->inst, DG_LOG_ERROR, "whatsapp_sender_stopped", kv, 2);
    w->host->set_health(w->inst, 0, w->stop_reason);
    w->host->metric_set(w->inst, "duegate_whatsapp_sender_stopped", &w->label, 1, 1);
    wa_pump(w); /* queued sends fail with STOP_SENDER */
}

/* ------------------------------------------- window and wamid mapping */

void wa_window_touch(wa *w, const char *e164, int64_t t)
{
    char key[64], val[32], *old = NULL;
    int64_t now = w->host->now_ms(w->inst);
    if (t <= 0 || t > now)
        t = now;
    snprintf(key, sizeof key, "win:%s", e164);
    if (w->host->state_get(w->inst, key, &old, NULL) == DG_OK) {
        int64_t prev = strtoll(old, NULL, 10);
        w->host->free(old);
        if (prev >= t)
            return; /* a late webhook never shortens the window */
    }
    if (t + w->window_ms <= now)
        return;
    snprintf(val, sizeof val, "%lld", (long long)t);
    w->host->state_put(w->inst, key, val, strlen(val), t + w->window_ms - now);
}

int wa_window_open(wa *w, const char *e164)
{
    char key[64], *v = NULL;
    int open = 0;
    snprintf(key, sizeof key, "win:%s", e164);
    if (w->host->state_get(w->inst, key, &v, NULL) == DG_OK) {
        open = strtoll(v, NULL, 10) + w->window_ms > w->host->now_ms(w->inst);
        w->host->free(v);
    }
    return open;
}

static void window_close(wa *w, const char *e164)
{
    char key[64];
    snprintf(key, sizeof key, "win:%s", e164);
    w->host->state_del(w->inst, key);
}

int64_t wa_touch_for_wamid(wa *w, const char *wamid)
{
    char key[300], *v = NULL;
    int64_t t = 0;
    if (!wamid || strlen(wamid) > 256)
        return 0;
    snprintf(key, sizeof key, "wamid:%s", wamid);
    if (w->host->state_get(w->inst, key, &v, NULL) == DG_OK) {
        t = strtoll(v, NULL, 10);
        w->host->free(v);
    }
    return t;
}

static void remember_wamid(wa *w, const char *wamid, int64_t touch)
{
    char key[300], val[32];
    if (!touch || strlen(wamid) > 256)
        return;
    snprintf(key, sizeof key, "wamid:%s", wamid);
    snprintf(val, sizeof val, "%lld", (long long)touch);
    w->host->state_put(w->inst, key, val, strlen(val), WA_WAMID_TTL_MS);
}

/* A free-form text Meta accepted may still fail later with 131047 (the
 * window closed meanwhile). Keep its template form for a day so the touch
 * can still go out on WhatsApp, as a template. */
static void keep_fallback(wa *w, const char *wamid, const char *body)
{
    char key[300];
    if (strlen(wamid) > 256)
        return;
    snprintf(key, sizeof key, "fb:%s", wamid);
    w->host->state_put(w->inst, key, body, strlen(body), WA_DAY_MS);
}

/* Returns 1 when the template was queued now or for an earlier copy of the
 * same status (so the failure is not reported), 0 when there is none. */
int wa_fallback_131047(wa *w, const char *wamid, const char *e164, int64_t touch)
{
    char key[300], *body = NULL;
    wa_item *it;
    if (!wamid || !e164 || strlen(wamid) > 256 || w->stopping || w->sender_stopped)
        return 0;
    snprintf(key, sizeof key, "fb:%s", wamid);
    if (w->host->state_get(w->inst, key, &body, NULL) != DG_OK)
        return 0;
    if (strcmp(body, "queued") == 0) { /* a repeated status: already handled */
        w->host->free(body);
        return 1;
    }
    w->host->state_put(w->inst, key, "queued", 6, WA_DAY_MS);
    it = calloc(1, sizeof *it);
    if (it) {
        it->w = w;
        it->no_op = 1;
        it->touch_id = touch;
        it->to = dupstr(e164);
        it->body = dupstr(body);
    }
    w->host->free(body);
    if (!it || !it->to || !it->body) {
        wa_item_free(it);
        return 0;
    }
    dg_kv kv[1] = {{"wamid", wamid, DG_KV_PLAIN}};
    w->host->log(w->inst, DG_LOG_INFO, "whatsapp_template_fallback", kv, 1);
    wa_queue_push(w, it, 0);
    wa_pump(w);
    return 1;
}

/* ------------------------------------------------------ the HTTP answer */

static void maybe_finish_stop(wa *w)
{
    if (w->stopping && w->inflight == 0 && w->stop_op) {
        dg_op op = w->stop_op;
        w->stop_op = 0;
        w->host->complete(w->inst, op, NULL);
    }
}

/* In-flight items hang on their own list so destroy can cancel them. */
static void fl_add(wa *w, wa_item *it)
{
    it->prev = NULL;
    it->next = w->fl_head;
    if (w->fl_head)
        w->fl_head->prev = it;
    w->fl_head = it;
    w->inflight++;
}

static void fl_remove(wa *w, wa_item *it)
{
    if (it->prev)
        it->prev->next = it->next;
    else
        w->fl_head = it->next;
    if (it->next)
        it->next->prev = it->prev;
    it->prev = it->next = NULL;
    w->inflight--;
}

static void on_http_done(void *ud, const dg_http_response *r)
{
    wa_item *it = ud;
    wa *w = it->w;
    cJSON *j = NULL;
    const cJSON *e, *id;
    it->call = NULL;
    fl_remove(w, it);
    if (r->transport_error != DG_HTTP_OK) {
        /* never reached Meta (or we cannot know): retry; the idempotency of
         * the touch is the core's business */
        wa_item_finish(w, it, DG_EIO, DG_ERRC_RETRYABLE, 0, NULL, "transport",
                       r->error_message ? r->error_message : "transport error");
        goto done;
    }
    j = cJSON_ParseWithLength(r->body ? r->body : "", r->body_len);
    id = cJSON_GetObjectItemCaseSensitive(
        cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(j, "messages"), 0), "id");
    e = cJSON_GetObjectItemCaseSensitive(j, "error");
    if (r->status >= 200 && r->status < 300 && cJSON_IsString(id) && !e) {
        remember_wamid(w, id->valuestring, it->touch_id);
        if (it->is_text && it->fallback)
            keep_fallback(w, id->valuestring, it->fallback);
        w->host->metric_add(w->inst, "duegate_whatsapp_sent_total", &w->label, 1, 1);
        wa_item_finish(w, it, DG_OK, DG_ERRC_NONE, 0, id->valuestring, NULL, NULL);
        goto done;
    }
    {
        const cJSON *c = cJSON_GetObjectItemCaseSensitive(e, "code");
        const cJSON *tr = cJSON_GetObjectItemCaseSensitive(e, "is_transient");
        const cJSON *m = cJSON_GetObjectItemCaseSensitive(e, "message");
        long code = cJSON_IsNumber(c) ? (long)c->valuedouble : 0;
        char cs[24], msg[200];
        wa_class k = wa_classify(w, code, r->status, cJSON_IsBool(tr) ? cJSON_IsTrue(tr) : -1,
                                 r->retry_after_ms);
        if (code)
            snprintf(cs, sizeof cs, "%ld", code);
        else
            snprintf(cs, sizeof cs, "http_%d", r->status);
        snprintf(msg, sizeof msg, "%s",
                 cJSON_IsString(m)                     ? m->valuestring
                 : r->status >= 200 && r->status < 300 ? "response without a message id"
                                                       : "error without a Graph error body");
        if (code == 131047) {
            /* Our window bookkeeping was wrong: forget it. With a template
             * at hand the touch still goes out now, as a template. */
            window_close(w, it->to);
            if (it->fallback && !w->stopping) {
                free(it->body);
                it->body = it->fallback;
                it->fallback = NULL;
                it->is_text = 0;
                if (w->in_dispatch == it)
                    it->answered = 1; /* queued again: wa_dispatch leaves it alone */
                wa_queue_push(w, it, 1);
                cJSON_Delete(j);
                wa_pump(w);
                maybe_finish_stop(w);
                return;
            }
        }
        wa_item_finish(w, it, DG_EPROTO, k.cls, k.retry_after_ms, NULL, cs, msg);
        if (k.cls == DG_ERRC_STOP_SENDER)
            wa_stop_sender(w, code, msg);
        else if (code == 130429 || code == 4 || code == 80007 || (!code && r->status == 429))
            wa_pace_throttled(w, NULL, k.retry_after_ms);
        else if (code == 131056)
            wa_pace_throttled(w, it->to, k.retry_after_ms);
    }
done:
    cJSON_Delete(j);
    if (w->in_dispatch == it)
        it->answered = 2; /* wa_dispatch frees it once http_request returns */
    else
        wa_item_free(it);
    maybe_finish_stop(w);
}

void wa_dispatch(wa *w, wa_item *it)
{
    dg_http_request req;
    dg_kv hdr[1] = {{"Content-Type", "application/json", DG_KV_PLAIN}};
    dg_http_call *call = NULL;
    int rc;
    DG_INIT(&req);
    req.method = "POST";
    req.url = w->url;
    req.headers = hdr;
    req.n_headers = 1;
    req.body = it->body;
    req.body_len = strlen(it->body);
    req.bearer_token = w->access_token;
    fl_add(w, it);
    it->answered = 0;
    w->in_dispatch = it;
    rc = w->host->http_request(w->inst, &req, on_http_done, it, &call);
    w->in_dispatch = NULL;
    if (it->answered) {
        /* the host answered inside http_request: the callback has done
         * everything; the item is either finished or queued again */
        if (it->answered == 2)
            wa_item_free(it);
        return;
    }
    if (rc < 0) {
        fl_remove(w, it);
        wa_item_finish(w, it, rc, DG_ERRC_RETRYABLE, 1000, NULL, "http_client",
                       w->host->strerror(rc));
        wa_item_free(it);
        maybe_finish_stop(w);
        return;
    }
    it->call = call;
}

/* ---------------------------------------------------------------- send */

/* "+14155550123" or "14155550123" -> digits; 0 if not a plausible number. */
static int phone_digits(const char *in, char *out, size_t cap)
{
    size_t n = 0;
    if (!in)
        return 0;
    if (*in == '+')
        in++;
    for (; *in; in++) {
        if (*in < '0' || *in > '9' || n + 1 >= cap)
            return 0;
        out[n++] = *in;
    }
    out[n] = '\0';
    return n >= 7 && n <= 15;
}

static int wa_send(void *self, const dg_outbound_message *m, dg_op op)
{
    wa *w = self;
    char digits[20], e164[24], err[200] = "";
    wa_item *it;
    int rc;
    if (w->stopping || !w->started)
        return DG_ESTATE;
    if (w->sender_stopped) {
        wa_complete(w, op, DG_ESTATE, DG_ERRC_STOP_SENDER, 0, NULL, "sender_stopped",
                    w->stop_reason);
        return DG_PENDING;
    }
    if (!phone_digits(m->to_phone, digits, sizeof digits)) {
        wa_complete(w, op, DG_EINVAL, DG_ERRC_PERMANENT, 0, NULL, "no_phone",
                    "no valid phone number for WhatsApp");
        return DG_PENDING;
    }
    snprintf(e164, sizeof e164, "+%s", digits);
    it = calloc(1, sizeof *it);
    if (!it)
        return DG_ENOMEM;
    it->w = w;
    it->op = op;
    it->touch_id = m->touch_id;
    it->to = dupstr(e164);
    rc = DG_EINVAL;
    snprintf(err, sizeof err, "message has neither a template nor text");
    if (m->text && *m->text && wa_window_open(w, e164)) {
        rc = wa_body_text(m, digits, &it->body, err, sizeof err);
        it->is_text = rc == 0;
        if (rc == 0 && m->template_name) {
            char e2[200];
            if (wa_body_template(m, digits, &it->fallback, e2, sizeof e2) < 0)
                it->fallback = NULL; /* the text is fine; no usable fallback */
        }
    } else if (m->text && *m->text && !m->template_name) {
        /* free-form only, outside the window: never sent */
        wa_item_free(it);
        wa_complete(w, op, DG_EINVAL, DG_ERRC_PERMANENT, 0, NULL, "window_closed",
                    "free-form text outside the 24 h window and no template");
        return DG_PENDING;
    }
    if (!it->body && m->template_name) /* outside the window, or the text cannot go */
        rc = wa_body_template(m, digits, &it->body, err, sizeof err);
    if (rc < 0 || !it->to) {
        wa_item_free(it);
        if (rc == DG_ENOMEM || rc == 0)
            return DG_ENOMEM;
        wa_complete(w, op, rc, DG_ERRC_CONFIG, 0, NULL, "bad_message", err);
        return DG_PENDING;
    }
    wa_queue_push(w, it, 0);
    wa_pump(w);
    return DG_PENDING;
}

/* ----------------------------------------------------------- lifecycle */

static int64_t cfg_int(wa *w, const char *key, int64_t def)
{
    int64_t v = def;
    if (w->host->config_int(w->inst, key, &v) != DG_OK)
        v = def;
    return v;
}

static int wa_create(const dg_host *host, dg_instance *inst, void **self, char *err, size_t len)
{
    wa *w = calloc(1, sizeof *w);
    const char *base, *ver, *extra;
    int64_t hours;
    *self = w;
    if (!w) {
        snprintf(err, len, "out of memory");
        return DG_ENOMEM;
    }
    w->host = host;
    w->inst = inst;
    w->name = host->instance_name(inst);
    w->phone_number_id = host->config_string(inst, "phone_number_id");
    w->access_token = host->config_string(inst, "access_token");
    w->app_secret = host->config_string(inst, "app_secret");
    w->verify_token = host->config_string(inst, "verify_token");
    base = host->config_string(inst, "api_base");
    ver = host->config_string(inst, "api_version");
    if (!base)
        base = "https://graph.facebook.com";
    if (!ver)
        ver = "v21.0";
    const char *missing = !w->phone_number_id ? "phone_number_id"
                          : !w->access_token  ? "access_token"
                          : !w->app_secret    ? "app_secret"
                          : !w->verify_token  ? "verify_token"
                                              : NULL;
    if (missing) {
        snprintf(err, len, "%s is required", missing);
        return DG_ECONFIG;
    }
    w->label = (dg_kv){"phone_number_id", w->phone_number_id, DG_KV_PLAIN};
    int maj = 0, min = 0, used = 0;
    if (sscanf(ver, "v%d.%d%n", &maj, &min, &used) != 2 || ver[used] != '\0') {
        snprintf(err, len, "api_version must look like v21.0");
        return DG_ECONFIG;
    }
    size_t bl = strlen(base);
    while (bl && base[bl - 1] == '/')
        bl--;
    if ((size_t)snprintf(w->url, sizeof w->url, "%.*s/%s/%s/messages", (int)bl, base, ver,
                         w->phone_number_id) >= sizeof w->url ||
        (size_t)snprintf(w->route, sizeof w->route, "/webhooks/whatsapp/%s", w->name) >=
            sizeof w->route) {
        snprintf(err, len, "api_base or instance name too long");
        return DG_ECONFIG;
    }
    w->rate = cfg_int(w, "rate_per_second", 80);
    w->spacing_ms = cfg_int(w, "recipient_spacing_ms", 6000);
    hours = cfg_int(w, "window_hours", 24);
    if (w->rate < 0 || w->rate > 1000 || w->spacing_ms < 0 || hours < 1 || hours > 24) {
        snprintf(err, len,
                 "rate_per_second 0..1000, recipient_spacing_ms >= 0, "
                 "window_hours 1..24");
        return DG_ECONFIG;
    }
    w->window_ms = hours * 3600 * 1000;
    extra = host->config_json(inst, "stop_keywords");
    if (extra) {
        w->stop_extra = cJSON_Parse(extra);
        if (!cJSON_IsObject(w->stop_extra)) {
            snprintf(err, len, "stop_keywords must be an object of locale -> [words]");
            return DG_ECONFIG;
        }
    }
    if (wa_pace_init(w) < 0) {
        snprintf(err, len, "out of memory");
        return DG_ENOMEM;
    }
    return DG_OK;
}

static int wa_start(void *self, char *err, size_t len)
{
    wa *w = self;
    int rc = wa_webhook_routes(w);
    if (rc < 0) {
        snprintf(err, len, "cannot register %s: %s", w->route, w->host->strerror(rc));
        return rc;
    }
    w->started = 1;
    w->host->set_health(w->inst, 1, NULL);
    return DG_OK;
}

static int wa_stop(void *self, dg_op op)
{
    wa *w = self;
    w->stopping = 1;
    /* Queued sends never left: fail them as retryable for the core. */
    while (w->head) {
        wa_item *it = w->head;
        wa_queue_remove(w, it);
        wa_item_finish(w, it, DG_ECANCELED, DG_ERRC_RETRYABLE, 0, NULL, "stopping",
                       "instance stopping");
        wa_item_free(it);
    }
    if (w->timer)
        w->host->timer_stop(w->timer);
    w->timer = NULL;
    if (w->inflight == 0)
        return DG_OK;
    w->stop_op = op; /* drain the sends already on the wire */
    return DG_PENDING;
}

static void wa_destroy(void *self)
{
    wa *w = self;
    if (!w)
        return;
    while (w->head) {
        wa_item *it = w->head;
        wa_queue_remove(w, it);
        wa_item_free(it);
    }
    while (w->fl_head) {
        wa_item *it = w->fl_head;
        if (it->call)
            w->host->http_cancel(it->call);
        fl_remove(w, it);
        wa_item_free(it);
    }
    wa_pace_free(w);
    cJSON_Delete(w->stop_extra);
    free(w);
}

static const dg_config_field wa_schema[] = {
    {"phone_number_id",
     DG_CFG_STRING,
     DG_CFGF_REQUIRED,
     NULL,
     "the business phone number's id in the Cloud API",
     0,
     0,
     {0}},
    {"access_token",
     DG_CFG_STRING,
     DG_CFGF_REQUIRED | DG_CFGF_SECRET,
     NULL,
     "system-user access token (Bearer)",
     0,
     0,
     {0}},
    {"app_secret",
     DG_CFG_STRING,
     DG_CFGF_REQUIRED | DG_CFGF_SECRET,
     NULL,
     "Meta app secret: verifies X-Hub-Signature-256",
     0,
     0,
     {0}},
    {"verify_token",
     DG_CFG_STRING,
     DG_CFGF_REQUIRED | DG_CFGF_SECRET,
     NULL,
     "token of the webhook verification handshake",
     0,
     0,
     {0}},
    {"api_base",
     DG_CFG_STRING,
     0,
     "\"https://graph.facebook.com\"",
     "Graph API base URL (the simulator's in tests)",
     0,
     0,
     {0}},
    {"api_version", DG_CFG_STRING, 0, "\"v21.0\"", "Graph API version, e.g. v21.0", 0, 0, {0}},
    {"rate_per_second",
     DG_CFG_INT,
     0,
     "80",
     "sends per second for this number (Meta: 80, upgraded 1000); 0 = no limit",
     0,
     1000,
     {0}},
    {"recipient_spacing_ms",
     DG_CFG_INT,
     0,
     "6000",
     "minimum time between two sends to one customer; 0 = off",
     0,
     86400000,
     {0}},
    {"window_hours", DG_CFG_INT, 0, "24", "customer service window", 1, 24, {0}},
    {"stop_keywords",
     DG_CFG_OBJECT,
     0,
     NULL,
     "extra opt-out words per locale: {\"fr\": [\"ARRET\"]}",
     0,
     0,
     {0}},
    {NULL, 0, 0, NULL, NULL, 0, 0, {0}}};

static const dg_channel_ops wa_ops = {
    .struct_size = sizeof(dg_channel_ops),
    .capabilities = DG_CAP_DELIVERY_RECEIPTS | DG_CAP_READ_RECEIPTS | DG_CAP_INBOUND_REPLIES |
                    DG_CAP_SESSION_WINDOW | DG_CAP_TEMPLATES | DG_CAP_PHONE,
    .create = wa_create,
    .start = wa_start,
    .stop = wa_stop,
    .destroy = wa_destroy,
    .send = wa_send,
};

static const dg_plugin_descriptor wa_desc = {
    .struct_size = sizeof(dg_plugin_descriptor),
    .abi_major = DG_ABI_MAJOR,
    .abi_minor = DG_ABI_MINOR,
    .kind = DG_PLUGIN_CHANNEL,
    .name = "whatsapp",
    .version = "1.0.0",
    .description = "WhatsApp Business Cloud API: templates, 24 h window, receipts, replies",
    .config_schema = wa_schema,
    .channel = &wa_ops,
};

DG_PLUGIN_DEFINE(whatsapp, wa_desc)
