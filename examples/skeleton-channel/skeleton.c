/* skeleton: a complete duegate channel plugin to copy from.
 *
 * It POSTs each message as a small JSON document to a webhook URL you
 * configure, and accepts two signed webhooks back: delivery receipts and
 * customer replies. Replace the JSON shapes with your provider's API and
 * you have a channel (Telegram, LINE, Viber, a local SMS gateway...).
 *
 * Read docs/writing-a-channel-plugin.md next to this file. The rules that
 * trip newcomers are marked "NOTE:" below.
 *
 * Build out of tree:  make            (uses pkg-config duegate-plugin)
 * Test it:            duegate plugin-test ./skeleton.so
 *
 * NOTE: a plugin gets everything from the host table (`host->...`): it opens
 * no sockets, starts no threads and links nothing from duegate. That is why
 * `pkg-config --libs duegate-plugin` is empty and why this file has a tiny
 * JSON writer/reader of its own instead of a library. A real plugin may link
 * a JSON library of its choice (link it into the .so). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <duegate/plugin.h>

/* One instance of the channel. NOTE: one .so may back several instances
 * (two webhooks, two accounts), so every piece of state lives in this
 * struct, never in a static variable. */
typedef struct skeleton {
    const dg_host *host; /* valid until destroy returns */
    dg_instance *inst;   /* our handle for host calls */
    /* NOTE: strings from host->config_* are owned by the host and live as
     * long as the instance: keep the pointers, no need to copy. */
    const char *url, *token, *webhook_secret;
    int64_t timeout_ms;
    char receipt_path[160], reply_path[160];
    struct sk_send *in_flight; /* sends waiting for the peer's answer */
} skeleton;

/* One send waiting for its HTTP answer. */
typedef struct sk_send {
    skeleton *sk;
    dg_op op;           /* the core's op: complete it exactly once */
    dg_http_call *call; /* to cancel it on stop */
    struct sk_send *next;
} sk_send;

/* ------------------------------------------------------- tiny JSON writer */

typedef struct buf {
    char *p;
    size_t len, cap;
    int oom;
} buf;

static void put(buf *b, const char *s, size_t n)
{
    if (b->oom)
        return;
    if (b->len + n + 1 > b->cap) {
        size_t cap = (b->cap + n + 1) * 2;
        char *np = realloc(b->p, cap);
        if (!np) {
            b->oom = 1;
            return;
        }
        b->p = np;
        b->cap = cap;
    }
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = '\0';
}

static void puts_(buf *b, const char *s)
{
    put(b, s, strlen(s));
}

/* "key":"escaped value", -- skipped when the value is NULL. */
static void put_str(buf *b, const char *key, const char *v)
{
    char esc[8];
    if (!v)
        return;
    if (b->len > 1)
        puts_(b, ",");
    puts_(b, "\"");
    puts_(b, key);
    puts_(b, "\":\"");
    for (const unsigned char *c = (const unsigned char *)v; *c; c++) {
        if (*c == '"' || *c == '\\') {
            esc[0] = '\\', esc[1] = (char)*c;
            put(b, esc, 2);
        } else if (*c < 0x20) { /* control characters must be escaped in JSON */
            snprintf(esc, sizeof esc, "\\u%04x", *c);
            puts_(b, esc);
        } else {
            put(b, (const char *)c, 1); /* UTF-8 passes through unchanged */
        }
    }
    puts_(b, "\"");
}

static void put_int(buf *b, const char *key, long long v)
{
    char num[32];
    snprintf(num, sizeof num, "%lld", v);
    if (b->len > 1)
        puts_(b, ",");
    puts_(b, "\"");
    puts_(b, key);
    puts_(b, "\":");
    puts_(b, num);
}

/* ------------------------------------------------------- tiny JSON reader
 * Finds "key": "string" or "key": number at any depth of a flat document.
 * Good enough for the fixed shapes of this example; use a real parser for a
 * real provider. Returns 1 when found (out NUL-terminated, truncated). */
static int json_find(const char *json, size_t len, const char *key, char *out, size_t cap)
{
    char pat[64];
    const char *p, *end;
    size_t o = 0, pl = (size_t)snprintf(pat, sizeof pat, "\"%s\"", key);
    if (!json || pl >= sizeof pat)
        return 0;
    /* NOTE: a request body is raw bytes with a length, not a C string: never
     * strstr/strlen it; stay within [json, json + len). */
    for (p = json, end = json + len; (size_t)(end - p) >= pl; p++) {
        if (memcmp(p, pat, pl) != 0)
            continue;
        p += pl;
        while (p < end && (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r'))
            p++;
        if (p >= end || *p != ':')
            continue; /* it was a value, not a key */
        p++;
        while (p < end && (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r'))
            p++;
        if (p < end && *p == '"') {
            for (p++; p < end && *p != '"' && o + 1 < cap; p++) {
                if (*p == '\\' && p + 1 < end)
                    p++; /* keep the escaped character as is */
                out[o++] = *p;
            }
        } else {
            while (p < end && (*p == '-' || (*p >= '0' && *p <= '9')) && o + 1 < cap)
                out[o++] = *p++;
        }
        out[o] = '\0';
        return o > 0;
    }
    return 0;
}

/* ------------------------------------------------------------- lifecycle */

static int sk_create(const dg_host *host, dg_instance *inst, void **self, char *err, size_t err_len)
{
    skeleton *sk;
    const char *name = host->instance_name(inst);
    /* NOTE: create reads configuration and allocates; no I/O, no routes, no
     * timers yet (those belong in start). The host has already validated the
     * config against sk_schema below: required keys are present, types are
     * right, defaults applied, {"env": ...} secrets resolved. */
    if (!(sk = calloc(1, sizeof *sk))) {
        snprintf(err, err_len, "out of memory");
        return DG_ENOMEM;
    }
    sk->host = host;
    sk->inst = inst;
    sk->url = host->config_string(inst, "url");
    sk->token = host->config_string(inst, "token"); /* NULL when not configured */
    sk->webhook_secret = host->config_string(inst, "webhook_secret");
    if (host->config_int(inst, "timeout_ms", &sk->timeout_ms) != DG_OK)
        sk->timeout_ms = 10000;
    if (strncmp(sk->url, "https://", 8) != 0 && strncmp(sk->url, "http://", 7) != 0) {
        /* NOTE: one line, no secret in it: the daemon prints it as is. */
        snprintf(err, err_len, "url must start with https:// or http://");
        free(sk);
        return DG_ECONFIG;
    }
    /* Paths are exact and global to the daemon: put the instance name in
     * them so two instances of this plugin do not collide. */
    snprintf(sk->receipt_path, sizeof sk->receipt_path, "/hooks/%s/receipt", name);
    snprintf(sk->reply_path, sizeof sk->reply_path, "/hooks/%s/reply", name);
    *self = sk;
    return DG_OK;
}

/* Verify X-Skeleton-Signature: hex(HMAC-SHA256(webhook_secret, raw body)).
 * NOTE: sign and compare the RAW bytes (never a re-serialised copy) and
 * compare with host->ct_equal, never strcmp (timing leaks the signature). */
static int signature_ok(skeleton *sk, dg_http_req *req, const void *body, size_t len)
{
    const dg_host *h = sk->host;
    const char *got = h->http_req_header(req, "X-Skeleton-Signature");
    unsigned char mac[32];
    char hex[65];
    int n;
    if (!got)
        return 0;
    if (strncmp(got, "sha256=", 7) == 0)
        got += 7;
    n = h->hmac(DG_HMAC_SHA256, sk->webhook_secret, strlen(sk->webhook_secret), body, len, mac,
                sizeof mac);
    if (n != 32 || h->hex_encode(mac, 32, hex, sizeof hex) < 0)
        return 0;
    return h->ct_equal(hex, 64, got, strlen(got));
}

static void respond(const dg_host *h, dg_http_req *req, int status, const char *text)
{
    dg_kv hd[] = {{"Content-Type", "text/plain; charset=utf-8", DG_KV_PLAIN}};
    h->http_respond(req, status, hd, 1, text, strlen(text));
}

/* A webhook waiting for its event to be stored. */
typedef struct sk_answer {
    const dg_host *host;
    dg_http_req *req; /* valid until we answer it */
} sk_answer;

/* 200 once the event is stored or known (so the provider stops retrying),
 * 503 when storing failed (so the provider delivers it again later). */
static void answer_emitted(const dg_host *h, dg_http_req *req, int status)
{
    if (status == DG_OK || status == DG_EEXIST)
        respond(h, req, 200, "ok\n");
    else
        respond(h, req, 503, "try again\n");
}

static void emitted(void *ud, int status)
{
    sk_answer *a = ud;
    answer_emitted(a->host, a->req, status);
    free(a);
}

/* NOTE: answer a webhook only once its event is durably stored: if emit
 * returns DG_PENDING, the answer goes out from the done callback. Every
 * request must be answered exactly once. */
static void emit_and_answer(skeleton *sk, dg_http_req *req, const dg_channel_event *ev)
{
    sk_answer *a = malloc(sizeof *a);
    int rc;
    if (!a) {
        respond(sk->host, req, 503, "try again\n");
        return;
    }
    a->host = sk->host;
    a->req = req;
    rc = sk->host->emit_channel_event(sk->inst, ev, emitted, a);
    if (rc != DG_PENDING) { /* decided now: the callback will not run */
        free(a);
        answer_emitted(sk->host, req, rc);
    }
}

/* POST /hooks/<instance>/receipt  {"id": "...", "status": "delivered|read|failed",
 *                                   "touch_id": 4201, "error": "..."} */
static void on_receipt(void *ud, dg_http_req *req)
{
    skeleton *sk = ud;
    size_t len = 0;
    const char *body = sk->host->http_req_body(req, &len);
    char id[128], status[32], touch[32], error[128], dedupe[192];
    dg_channel_event ev;
    if (!signature_ok(sk, req, body, len)) {
        respond(sk->host, req, 401, "bad signature\n");
        return;
    }
    if (!json_find(body, len, "id", id, sizeof id) ||
        !json_find(body, len, "status", status, sizeof status)) {
        respond(sk->host, req, 400, "id and status are required\n");
        return;
    }
    DG_INIT(&ev); /* NOTE: always DG_INIT shared structs: sets struct_size, zeroes the rest */
    ev.provider_message_id = id;
    if (json_find(body, len, "touch_id", touch, sizeof touch))
        ev.touch_id = strtoll(touch, NULL, 10);
    if (strcmp(status, "delivered") == 0)
        ev.kind = DG_CHEV_DELIVERED;
    else if (strcmp(status, "read") == 0)
        ev.kind = DG_CHEV_READ;
    else if (strcmp(status, "failed") == 0) {
        ev.kind = DG_CHEV_FAILED;
        ev.error_class = DG_ERRC_PERMANENT;
        if (json_find(body, len, "error", error, sizeof error))
            ev.error_message = error;
    } else {
        respond(sk->host, req, 200, "ignored\n"); /* unknown statuses: acknowledge, do nothing */
        return;
    }
    /* Providers deliver webhooks at least once: the dedupe key makes a
     * repeat harmless (emit returns DG_EEXIST). */
    snprintf(dedupe, sizeof dedupe, "%s:%s", id, status);
    ev.dedupe_key = dedupe;
    ev.occurred_at = sk->host->now_ms(sk->inst);
    emit_and_answer(sk, req, &ev);
}

/* POST /hooks/<instance>/reply  {"id": "...", "from": "+1...", "text": "...",
 *                                 "payload": "DG_PAID"} */
static void on_reply(void *ud, dg_http_req *req)
{
    skeleton *sk = ud;
    size_t len = 0;
    const char *body = sk->host->http_req_body(req, &len);
    char id[128], from[64], text[1024], payload[64], dedupe[160];
    dg_channel_event ev;
    if (!signature_ok(sk, req, body, len)) {
        respond(sk->host, req, 401, "bad signature\n");
        return;
    }
    if (!json_find(body, len, "id", id, sizeof id) ||
        !json_find(body, len, "from", from, sizeof from)) {
        respond(sk->host, req, 400, "id and from are required\n");
        return;
    }
    DG_INIT(&ev);
    ev.kind = DG_CHEV_REPLIED;
    ev.address = from; /* E.164; the core matches it to the open case */
    if (json_find(body, len, "text", text, sizeof text))
        ev.text = text;
    if (json_find(body, len, "payload", payload, sizeof payload))
        ev.payload = payload; /* e.g. DG_PAID from a quick-reply button */
    snprintf(dedupe, sizeof dedupe, "reply:%s", id);
    ev.dedupe_key = dedupe;
    ev.occurred_at = sk->host->now_ms(sk->inst);
    emit_and_answer(sk, req, &ev);
}

static int sk_start(void *self, char *err, size_t err_len)
{
    skeleton *sk = self;
    int rc;
    /* NOTE: routes are removed by the host when the instance stops; you
     * never unregister them yourself. */
    if ((rc = sk->host->http_route(sk->inst, "POST", sk->receipt_path, on_receipt, sk)) != DG_OK ||
        (rc = sk->host->http_route(sk->inst, "POST", sk->reply_path, on_reply, sk)) != DG_OK) {
        snprintf(err, err_len, "cannot register webhook routes: %s", sk->host->strerror(rc));
        return rc;
    }
    return DG_OK;
}

/* --------------------------------------------------------------- sending */

static void unlink_send(skeleton *sk, sk_send *s)
{
    for (sk_send **pp = &sk->in_flight; *pp; pp = &(*pp)->next)
        if (*pp == s) {
            *pp = s->next;
            return;
        }
}

/* The peer answered (or the transport failed). Classify, complete, done.
 * NOTE: `resp` and everything in it is only valid during this call. */
static void on_response(void *ud, const dg_http_response *resp)
{
    sk_send *s = ud;
    skeleton *sk = s->sk;
    dg_result res;
    char id[128], code[32];
    DG_INIT(&res);
    unlink_send(sk, s);
    if (resp->transport_error != DG_HTTP_OK)
        snprintf(code, sizeof code, "transport-%d", (int)resp->transport_error);
    else
        snprintf(code, sizeof code, "http-%d", resp->status);
    if (resp->transport_error != DG_HTTP_OK) {
        /* DNS, refused, timeout, TLS: nothing reached the provider, or we do
         * not know. Retryable: the idempotency key makes a repeat safe. */
        res.status = DG_EIO;
        res.error_class = DG_ERRC_RETRYABLE;
        res.error_message = resp->error_message ? resp->error_message : "transport error";
    } else if (resp->status >= 200 && resp->status < 300) {
        res.status = DG_OK;
        /* The provider's id of the message: receipts are matched by it. */
        if (json_find(resp->body, resp->body_len, "id", id, sizeof id))
            res.provider_id = id;
    } else if (resp->status == 408 || resp->status == 429 || resp->status >= 500) {
        /* Busy or broken right now: retryable. NOTE: honour Retry-After by
         * passing it on; the host already parsed it (seconds or HTTP date)
         * into retry_after_ms, -1 when absent. Retrying is the core's job:
         * never loop or sleep here. */
        res.status = DG_EIO;
        res.error_class = DG_ERRC_RETRYABLE;
        res.retry_after_ms = resp->retry_after_ms > 0 ? resp->retry_after_ms : 0;
        res.error_code = code;
        res.error_message = "the webhook is unavailable";
    } else if (resp->status >= 400) {
        /* The peer refused this message for good: the core moves on to the
         * next channel. (A real provider tells you more: a blocked sender
         * is DG_ERRC_STOP_SENDER, a bad template DG_ERRC_CONFIG, an opted
         * out recipient DG_ERRC_SUPPRESSED.) */
        res.status = DG_EIO;
        res.error_class = DG_ERRC_PERMANENT;
        res.error_code = code;
        res.error_message = "the webhook refused the message";
    } else {
        /* 1xx/3xx: redirects are not followed; the URL is wrong. */
        res.status = DG_EPROTO;
        res.error_class = DG_ERRC_CONFIG;
        res.error_code = code;
        res.error_message = "unexpected status from the webhook (check url)";
    }
    if (res.status != DG_OK) {
        dg_kv kv[] = {
            {"status", code, DG_KV_PLAIN},
            {"class", res.error_class == DG_ERRC_RETRYABLE ? "retryable" : "final", DG_KV_PLAIN}};
        sk->host->log(sk->inst, DG_LOG_WARN, "send_failed", kv, 2);
    }
    /* NOTE: exactly once per op, on the loop thread: here, in the host's
     * callback. The host copies the result (and id) before returning. */
    sk->host->complete(sk->inst, s->op, &res);
    free(s);
}

static int sk_send_msg(void *self, const dg_outbound_message *m, dg_op op)
{
    skeleton *sk = self;
    buf b = {0};
    sk_send *s;
    dg_http_request req;
    dg_kv headers[2];
    int rc;
    /* NOTE: `m` and its strings are borrowed until send returns: what we need
     * later must be copied. Here everything goes into the body right away. */
    puts_(&b, "{");
    put_str(&b, "idempotency_key", m->idempotency_key);
    put_int(&b, "case_id", (long long)m->case_id);
    put_int(&b, "touch_id", (long long)m->touch_id);
    put_int(&b, "attempt", m->attempt);
    put_str(&b, "stage", m->stage);
    put_str(&b, "locale", m->locale);
    put_str(&b, "template", m->template_id);
    put_str(&b, "to_phone", m->to_phone);
    put_str(&b, "to_email", m->to_email);
    put_str(&b, "to_name", m->to_name);
    put_str(&b, "subject", m->subject);
    put_str(&b, "text", m->text);
    puts_(&b, "}");
    if (b.oom || !(s = calloc(1, sizeof *s))) {
        free(b.p);
        return DG_ENOMEM; /* NOTE: a negative return means "failed now, never completed" */
    }
    s->sk = sk;
    s->op = op;

    DG_INIT(&req);
    req.method = "POST";
    req.url = sk->url;
    headers[0] = (dg_kv){"Content-Type", "application/json", DG_KV_PLAIN};
    /* Lets the receiver drop a retried duplicate. */
    headers[1] =
        (dg_kv){"Idempotency-Key", m->idempotency_key ? m->idempotency_key : "", DG_KV_PLAIN};
    req.headers = headers;
    req.n_headers = 2;
    req.body = b.p; /* copied by the host */
    req.body_len = b.len;
    req.bearer_token = sk->token; /* NULL: no Authorization header */
    req.timeout_ms = sk->timeout_ms;
    rc = sk->host->http_request(sk->inst, &req, on_response, s, &s->call);
    free(b.p);
    if (rc != DG_OK) {
        free(s);
        return rc; /* the host could not even queue it */
    }
    s->next = sk->in_flight;
    sk->in_flight = s;
    /* NOTE: DG_PENDING = "I will call host->complete(op) exactly once". */
    return DG_PENDING;
}

static int sk_stop(void *self, dg_op op)
{
    skeleton *sk = self;
    (void)op;
    /* Two correct ways to stop with sends in flight: drain (return
     * DG_PENDING, complete `op` when the last answer arrived) or cancel.
     * We cancel: after http_cancel the callback never runs, so the op must
     * be completed here, once, as retryable (the core sends it again after
     * restart; the idempotency key protects against a double delivery). */
    while (sk->in_flight) {
        sk_send *s = sk->in_flight;
        dg_result res;
        sk->in_flight = s->next;
        sk->host->http_cancel(s->call);
        DG_INIT(&res);
        res.status = DG_ECANCELED;
        res.error_class = DG_ERRC_RETRYABLE;
        res.error_message = "instance stopping";
        sk->host->complete(sk->inst, s->op, &res);
        free(s);
    }
    /* NOTE: after stop the plugin must not call the host at all (only
     * host->free); the host removes our routes itself. */
    return DG_OK;
}

static void sk_destroy(void *self)
{
    free(self);
}

/* ---------------------------------------------------------- descriptor */

/* NOTE: defaults are JSON text: strings need their quotes ("\"x\""). A
 * required key has no default. Secrets may be given as {"env": "NAME"} or
 * {"file": "/path"} in the config file and are never logged. */
static const dg_config_field sk_schema[] = {
    {"url",
     DG_CFG_STRING,
     DG_CFGF_REQUIRED,
     NULL,
     "webhook URL each message is POSTed to as JSON",
     0,
     0,
     {0}},
    {"token",
     DG_CFG_STRING,
     DG_CFGF_SECRET,
     NULL,
     "bearer token sent in the Authorization header (optional)",
     0,
     0,
     {0}},
    {"webhook_secret",
     DG_CFG_STRING,
     DG_CFGF_REQUIRED | DG_CFGF_SECRET,
     NULL,
     "shared secret: receipts and replies carry X-Skeleton-Signature = hex HMAC-SHA256 of the "
     "body",
     0,
     0,
     {0}},
    {"timeout_ms", DG_CFG_INT, 0, "10000", "timeout of each POST", 1000, 120000, {0}},
    {NULL, 0, 0, NULL, NULL, 0, 0, {0}}};

static const dg_channel_ops sk_ops = {
    .struct_size = sizeof(dg_channel_ops),
    /* What the core may rely on: we report delivery and read receipts and
     * customer replies, and address customers by phone or e-mail (whatever
     * the webhook does with them). No DG_CAP_TEMPLATES (we send free text)
     * and no DG_CAP_SESSION_WINDOW (no 24 h rule). */
    .capabilities = DG_CAP_DELIVERY_RECEIPTS | DG_CAP_READ_RECEIPTS | DG_CAP_INBOUND_REPLIES |
                    DG_CAP_PHONE | DG_CAP_EMAIL,
    .create = sk_create,
    .start = sk_start,
    .stop = sk_stop,
    .destroy = sk_destroy,
    .send = sk_send_msg,
};

static const dg_plugin_descriptor sk_desc = {
    .struct_size = sizeof(dg_plugin_descriptor),
    /* NOTE: the ABI you compiled against, from the headers: never hard-code. */
    .abi_major = DG_ABI_MAJOR,
    .abi_minor = DG_ABI_MINOR,
    .kind = DG_PLUGIN_CHANNEL,
    .name = "skeleton", /* [a-z0-9_]+, what users write in "plugin": "..." */
    .version = "1.0.0",
    .description = "POSTs each message as JSON to a webhook; signed receipts and replies",
    .config_schema = sk_schema,
    .channel = &sk_ops,
};

/* NOTE: the first argument is the module's FILE name without extension:
 * this must be built as skeleton.so. The macro exports the only public
 * symbol, skeleton_LTX_dg_plugin_query. */
DG_PLUGIN_DEFINE(skeleton, sk_desc)
