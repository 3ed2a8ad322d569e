/* Webhooks on /webhooks/whatsapp/<instance> (protocols.md A6).
 *
 * GET: the verification handshake (hub.mode=subscribe + our verify token ->
 * 200 with the raw challenge, else 403).
 * POST: X-Hub-Signature-256 over the exact received bytes, compared in
 * constant time (missing 401, wrong 403, unparsable JSON 400). Every entry,
 * change, status and message of a batch is handled; unknown fields and
 * other webhook fields are ignored. Statuses become SENT/DELIVERED/READ/
 * FAILED events keyed "wamid:status" (duplicates are dropped by the host,
 * order is the engine's business); inbound messages refresh the 24 h window
 * and become REPLIED, or OPTED_OUT for a STOP-family word. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wa.h"

/* ------------------------------------------------------- STOP words */

/* Whole-message matches after trimming and upper-casing. CANCEL is left out
 * on purpose: in a payment reminder it usually means "cancel my order", a
 * question for a person, not an opt-out. */
static const char *const stop_en[] = {"STOP",   "STOPALL", "STOP ALL", "UNSUBSCRIBE",
                                      "OPTOUT", "OPT OUT", "OPT-OUT",  "QUIT",
                                      "END",    "REVOKE",  NULL};
static const char *const stop_es[] = {"PARAR",
                                      "PARA",
                                      "ALTO",
                                      "BAJA",
                                      "DAR DE BAJA",
                                      "DETENER",
                                      "NO MAS",
                                      "NO MÁS",
                                      "DESUSCRIBIR",
                                      "CANCELAR SUSCRIPCIÓN",
                                      "CANCELAR SUSCRIPCION",
                                      NULL};
static const char *const stop_zh[] = {"退订",     "取消订阅", "停止", "停止发送",
                                      "不要再发", "TD",       "退出", NULL};

/* Opt back in (lifts our suppression). YES is left out: "yes, I will pay". */
static const char *const start_words[] = {"START", "UNSTOP",   "SUBSCRIBE", "ALTA", "REANUDAR",
                                          "订阅",  "恢复订阅", "重新订阅",  NULL};

/* Upper-case ASCII and Latin-1 letters (á -> Á); trim spaces and final
 * punctuation. Other scripts compare as they are. */
static void normalize(const char *in, char *out, size_t cap)
{
    size_t n = 0;
    const unsigned char *s = (const unsigned char *)in;
    while (*s == ' ' || *s == '\t' || *s == '\r' || *s == '\n')
        s++;
    for (; *s && n + 1 < cap; s++) {
        unsigned char c = *s;
        if (c >= 'a' && c <= 'z')
            c = (unsigned char)(c - 32);
        else if (n > 0 && (unsigned char)out[n - 1] == 0xC3 && c >= 0xA0 && c <= 0xBE && c != 0xB7)
            c = (unsigned char)(c - 0x20);
        out[n++] = (char)c;
    }
    out[n] = '\0';
    for (;;) {
        if (n && strchr(" \t\r\n.!", out[n - 1])) {
            out[--n] = '\0';
        } else if (n >= 3 && (memcmp(out + n - 3, "\xE3\x80\x82", 3) == 0 ||  /* 。 */
                              memcmp(out + n - 3, "\xEF\xBC\x81", 3) == 0)) { /* ！ */
            n -= 3;
            out[n] = '\0';
        } else {
            break;
        }
    }
}

static int in_list(const char *norm, const char *const *list)
{
    for (; *list; list++)
        if (strcmp(norm, *list) == 0)
            return 1;
    return 0;
}

int wa_is_stop_word(const wa *w, const char *text)
{
    char norm[128], word[128];
    const cJSON *loc, *it, *extra = w ? w->stop_extra : NULL;
    if (!text || strlen(text) >= sizeof norm)
        return 0;
    normalize(text, norm, sizeof norm);
    if (!*norm)
        return 0;
    if (in_list(norm, stop_en) || in_list(norm, stop_es) || in_list(norm, stop_zh))
        return 1;
    cJSON_ArrayForEach(loc, extra)
    {
        cJSON_ArrayForEach(it, loc)
        {
            if (!cJSON_IsString(it))
                continue;
            normalize(it->valuestring, word, sizeof word);
            if (*word && strcmp(norm, word) == 0)
                return 1;
        }
    }
    return 0;
}

int wa_is_start_word(const char *text)
{
    char norm[128];
    if (!text || strlen(text) >= sizeof norm)
        return 0;
    normalize(text, norm, sizeof norm);
    return *norm && in_list(norm, start_words);
}

/* --------------------------------------------------------- helpers */

static void respond(wa *w, dg_http_req *req, int status, const char *body)
{
    dg_kv h[1] = {{"Content-Type", "text/plain; charset=utf-8", DG_KV_PLAIN}};
    w->host->http_respond(req, status, h, 1, body, strlen(body));
}

static const char *jstr(const cJSON *o, const char *k)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

static int64_t ts_ms(const cJSON *o)
{
    const char *t = jstr(o, "timestamp");
    return t ? strtoll(t, NULL, 10) * 1000 : 0;
}

/* Emit one event; remembers whether the store failed (then we answer 500
 * so Meta retries; duplicates are dropped by dedupe_key). */
static void emit(wa *w, dg_channel_event *ev, int *failed)
{
    int rc = w->host->emit_channel_event(w->inst, ev, NULL, NULL);
    if (rc < 0 && rc != DG_EEXIST)
        *failed = 1;
}

/* ---------------------------------------------------------- statuses */

static void on_status(wa *w, const cJSON *s, int *failed)
{
    const char *id = jstr(s, "id"), *st = jstr(s, "status"), *rcpt = jstr(s, "recipient_id");
    const char *cb = jstr(s, "biz_opaque_callback_data");
    dg_channel_event ev;
    char addr[32], dedupe[320], code[24] = "", msg[200] = "";
    if (!id || !st || strlen(id) > 256)
        return;
    DG_INIT(&ev);
    if (strcmp(st, "sent") == 0)
        ev.kind = DG_CHEV_SENT;
    else if (strcmp(st, "delivered") == 0)
        ev.kind = DG_CHEV_DELIVERED;
    else if (strcmp(st, "read") == 0)
        ev.kind = DG_CHEV_READ;
    else if (strcmp(st, "failed") == 0)
        ev.kind = DG_CHEV_FAILED;
    else
        return; /* played, deleted, ...: nothing for dunning */
    ev.provider_message_id = id;
    if (cb) {
        char *end = NULL;
        long long t = strtoll(cb, &end, 10);
        if (end && *end == '\0' && t > 0)
            ev.touch_id = t;
    }
    if (!ev.touch_id)
        ev.touch_id = wa_touch_for_wamid(w, id);
    if (rcpt && strlen(rcpt) < 20 && strspn(rcpt, "0123456789") == strlen(rcpt)) {
        snprintf(addr, sizeof addr, "+%s", rcpt);
        ev.address = addr;
    }
    ev.occurred_at = ts_ms(s);
    snprintf(dedupe, sizeof dedupe, "%s:%s", id, st);
    ev.dedupe_key = dedupe;
    if (ev.kind == DG_CHEV_FAILED) {
        const cJSON *e = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(s, "errors"), 0);
        const cJSON *c = cJSON_GetObjectItemCaseSensitive(e, "code");
        const char *m = jstr(e, "message") ? jstr(e, "message") : jstr(e, "title");
        long n = cJSON_IsNumber(c) ? (long)c->valuedouble : 0;
        wa_class k = wa_classify(w, n, 0, -1, -1);
        ev.error_class = k.cls;
        ev.retry_after_ms = k.retry_after_ms;
        if (n)
            snprintf(code, sizeof code, "%ld", n);
        snprintf(msg, sizeof msg, "%s", m ? m : "failed");
        ev.error_code = n ? code : NULL;
        ev.error_message = msg;
        if (n == 131047 && ev.address) {
            char key[64];
            snprintf(key, sizeof key, "win:%s", ev.address);
            w->host->state_del(w->inst, key);
            /* the window closed before Meta processed our text: the touch
             * goes out as its template instead, and is not a failure */
            if (wa_fallback_131047(w, id, ev.address, ev.touch_id))
                return;
        }
        if (k.cls == DG_ERRC_STOP_SENDER)
            wa_stop_sender(w, n, msg);
    }
    emit(w, &ev, failed);
}

/* ---------------------------------------------------------- messages */

static void on_message(wa *w, const cJSON *m, int *failed)
{
    const char *from = jstr(m, "from"), *id = jstr(m, "id"), *type = jstr(m, "type");
    const cJSON *ctx = cJSON_GetObjectItemCaseSensitive(m, "context");
    const char *text = NULL, *payload = NULL;
    char addr[32], dedupe[320], label[48];
    dg_channel_event ev;
    if (!from || !id || !type || strlen(from) >= 20 || strlen(id) > 256 ||
        strspn(from, "0123456789") != strlen(from))
        return;
    snprintf(addr, sizeof addr, "+%s", from);
    if (strcmp(type, "system") == 0 || strcmp(type, "revoke") == 0)
        return; /* not something the customer said to us */
    /* Any customer message (re)opens the 24 h window. */
    wa_window_touch(w, addr, ts_ms(m));
    if (strcmp(type, "text") == 0) {
        text = jstr(cJSON_GetObjectItemCaseSensitive(m, "text"), "body");
    } else if (strcmp(type, "button") == 0) { /* template quick reply */
        const cJSON *b = cJSON_GetObjectItemCaseSensitive(m, "button");
        payload = jstr(b, "payload");
        text = jstr(b, "text");
    } else if (strcmp(type, "interactive") == 0) {
        const cJSON *i = cJSON_GetObjectItemCaseSensitive(m, "interactive"), *r;
        r = cJSON_GetObjectItemCaseSensitive(i, "button_reply");
        if (!r)
            r = cJSON_GetObjectItemCaseSensitive(i, "list_reply");
        payload = jstr(r, "id");
        text = jstr(r, "title");
    } else if (strcmp(type, "reaction") == 0) {
        text = jstr(cJSON_GetObjectItemCaseSensitive(m, "reaction"), "emoji");
        if (!text || !*text)
            return; /* a reaction taken back */
    } else if (strcmp(type, "edit") == 0) {
        const cJSON *em = cJSON_GetObjectItemCaseSensitive(
            cJSON_GetObjectItemCaseSensitive(m, "edit"), "message");
        const char *et = jstr(em, "type");
        text = et ? jstr(cJSON_GetObjectItemCaseSensitive(em, et), "body") : NULL;
        if (!text && et)
            text = jstr(cJSON_GetObjectItemCaseSensitive(em, et), "caption");
    } else {
        /* image, audio (voice notes), video, document, sticker, location,
         * contacts, order, unsupported...: still an answer from the customer */
        text = jstr(cJSON_GetObjectItemCaseSensitive(m, type), "caption");
        if (!text) {
            snprintf(label, sizeof label, "[%.40s]", type);
            text = label;
        }
    }
    DG_INIT(&ev);
    ev.provider_message_id = id;
    ev.address = addr;
    ev.text = text;
    ev.payload = payload;
    ev.occurred_at = ts_ms(m);
    ev.touch_id = wa_touch_for_wamid(w, jstr(ctx, "id"));
    /* a typed STOP or a quick-reply button labelled STOP */
    ev.kind = wa_is_stop_word(w, text) ? DG_CHEV_OPTED_OUT
              : wa_is_start_word(text) ? DG_CHEV_OPTED_IN
                                       : DG_CHEV_REPLIED;
    snprintf(dedupe, sizeof dedupe, "%s:inbound", id);
    ev.dedupe_key = dedupe;
    emit(w, &ev, failed);
}

/* System-level errors (value.errors[]) have no message to attach to. */
static void on_value_error(wa *w, const cJSON *e)
{
    const cJSON *c = cJSON_GetObjectItemCaseSensitive(e, "code");
    long n = cJSON_IsNumber(c) ? (long)c->valuedouble : 0;
    const char *m = jstr(e, "message") ? jstr(e, "message") : jstr(e, "title");
    char cs[24];
    snprintf(cs, sizeof cs, "%ld", n);
    dg_kv kv[2] = {{"code", cs, DG_KV_PLAIN}, {"message", m ? m : "", DG_KV_PLAIN}};
    w->host->log(w->inst, DG_LOG_WARN, "whatsapp_webhook_error", kv, 2);
    if (wa_code_stops_sender(n))
        wa_stop_sender(w, n, m);
}

/* ---------------------------------------------------------- handlers */

static void on_get(void *ud, dg_http_req *req)
{
    wa *w = ud;
    const char *q = w->host->http_req_query(req);
    dg_form *f = w->host->form_parse(q ? q : "", q ? strlen(q) : 0);
    const char *mode = f ? w->host->form_get(f, "hub.mode") : NULL;
    const char *tok = f ? w->host->form_get(f, "hub.verify_token") : NULL;
    const char *ch = f ? w->host->form_get(f, "hub.challenge") : NULL;
    if (mode && tok && ch && strcmp(mode, "subscribe") == 0 &&
        w->host->ct_equal(tok, strlen(tok), w->verify_token, strlen(w->verify_token))) {
        w->host->log(w->inst, DG_LOG_INFO, "whatsapp_webhook_verified", NULL, 0);
        respond(w, req, 200, ch);
    } else {
        w->host->log(w->inst, DG_LOG_WARN, "whatsapp_webhook_verify_refused", NULL, 0);
        respond(w, req, 403, "forbidden");
    }
    if (f)
        w->host->form_free(f);
}

static void on_post(void *ud, dg_http_req *req)
{
    wa *w = ud;
    size_t len = 0;
    const char *body = w->host->http_req_body(req, &len);
    const char *sig = w->host->http_req_header(req, "X-Hub-Signature-256");
    unsigned char mac[32];
    char hex[65];
    int failed = 0;
    cJSON *j;
    const cJSON *entry, *change, *x;
    if (!sig) {
        respond(w, req, 401, "missing signature");
        return;
    }
    if (w->host->hmac(DG_HMAC_SHA256, w->app_secret, strlen(w->app_secret), body ? body : "", len,
                      mac, sizeof mac) != 32 ||
        w->host->hex_encode(mac, 32, hex, sizeof hex) != 64 || strncmp(sig, "sha256=", 7) != 0 ||
        !w->host->ct_equal(sig + 7, strlen(sig + 7), hex, 64)) {
        w->host->log(w->inst, DG_LOG_WARN, "whatsapp_webhook_bad_signature", NULL, 0);
        respond(w, req, 403, "bad signature");
        return;
    }
    j = cJSON_ParseWithLength(body ? body : "", len);
    if (!cJSON_IsObject(j)) {
        cJSON_Delete(j);
        respond(w, req, 400, "bad json");
        return;
    }
    w->host->metric_add(w->inst, "duegate_whatsapp_webhooks_total", &w->label, 1, 1);
    cJSON_ArrayForEach(entry, cJSON_GetObjectItemCaseSensitive(j, "entry"))
    {
        cJSON_ArrayForEach(change, cJSON_GetObjectItemCaseSensitive(entry, "changes"))
        {
            const cJSON *v = cJSON_GetObjectItemCaseSensitive(change, "value");
            const char *field = jstr(change, "field");
            const char *pid =
                jstr(cJSON_GetObjectItemCaseSensitive(v, "metadata"), "phone_number_id");
            if (!field || strcmp(field, "messages") != 0)
                continue; /* template updates, preferences, ...: not ours */
            if (pid && strcmp(pid, w->phone_number_id) != 0)
                continue; /* another number's event */
            cJSON_ArrayForEach(x, cJSON_GetObjectItemCaseSensitive(v, "statuses"))
                on_status(w, x, &failed);
            cJSON_ArrayForEach(x, cJSON_GetObjectItemCaseSensitive(v, "messages"))
                on_message(w, x, &failed);
            cJSON_ArrayForEach(x, cJSON_GetObjectItemCaseSensitive(v, "errors"))
                on_value_error(w, x);
        }
    }
    cJSON_Delete(j);
    respond(w, req, failed ? 500 : 200, failed ? "retry" : "ok");
}

int wa_webhook_routes(wa *w)
{
    int rc = w->host->http_route(w->inst, "GET", w->route, on_get, w);
    if (rc < 0)
        return rc;
    return w->host->http_route(w->inst, "POST", w->route, on_post, w);
}
