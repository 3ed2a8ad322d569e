/* email: SMTP channel (protocols.md §D1) through host->smtp_send.
 *
 * send      builds the RFC 5322 message itself (mime.c): multipart/
 *           alternative, text first, HTML last, quoted-printable UTF-8,
 *           RFC 2047 subject and names, Date, Message-ID (the provider id),
 *           List-Unsubscribe + List-Unsubscribe-Post (RFC 8058).
 * webhooks  GET  /webhooks/email/<instance>/unsubscribe?t=TOKEN  confirmation page
 *           POST /webhooks/email/<instance>/unsubscribe?t=TOKEN  opt-out (one click)
 *           POST /webhooks/email/<instance>/inbound  parsed-mail webhook (optional)
 * The token is hex(address) "." hex(HMAC-SHA256(secret, address))[0..32]:
 * only we can mint it, so nobody unsubscribes someone else. The secret is
 * `unsubscribe_secret` from the config, else 32 random bytes kept in state. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>

#include <cjson/cJSON.h>
#include <duegate/plugin.h>

#include "email_int.h"
#include "mime.h"

/* -------------------------------------------------------------- helpers */

void em_logkv(em *e, dg_log_level lvl, const char *ev, const char *k, const char *v, int fl)
{
    dg_kv kv[1] = {{k, v, fl}};
    e->host->log(e->inst, lvl, ev, kv, k ? 1 : 0);
}

static const char *cfg_str(em *e, const char *key, const char *def)
{
    const char *v = e->host->config_string(e->inst, key);
    return v && *v ? v : def;
}

static int cfg_bool(em *e, const char *key, int def)
{
    int v;
    return e->host->config_bool(e->inst, key, &v) == DG_OK ? v : def;
}

static int64_t cfg_int(em *e, const char *key, int64_t def)
{
    int64_t v;
    return e->host->config_int(e->inst, key, &v) == DG_OK ? v : def;
}

static void hex(const unsigned char *in, size_t n, char *out)
{
    static const char H[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = H[in[i] >> 4];
        out[2 * i + 1] = H[in[i] & 15];
    }
    out[2 * n] = '\0';
}

static int unhex(const char *in, size_t n, char *out, size_t cap)
{
    if (n % 2 || n / 2 + 1 > cap)
        return -1;
    for (size_t i = 0; i < n; i += 2) {
        int v = 0;
        for (int j = 0; j < 2; j++) {
            char c = (char)tolower((unsigned char)in[i + j]);
            v = v * 16 + (c >= '0' && c <= '9'   ? c - '0'
                          : c >= 'a' && c <= 'f' ? c - 'a' + 10
                                                 : -999);
        }
        if (v <= 0 || v > 255)
            return -1;
        out[i / 2] = (char)v;
    }
    out[n / 2] = '\0';
    return 0;
}

static void lower(char *s)
{
    for (; *s; s++)
        *s = (char)tolower((unsigned char)*s);
}

/* Unforgeable unsubscribe token for addr (already lowercased). */
int em_make_token(em *e, const char *addr, char *out, size_t cap)
{
    unsigned char mac[32];
    size_t n = strlen(addr);
    if (2 * n + 1 + 32 + 1 > cap)
        return DG_EINVAL;
    if (e->host->hmac(DG_HMAC_SHA256, e->secret, strlen(e->secret), addr, n, mac, sizeof mac) != 32)
        return DG_EINVAL;
    hex((const unsigned char *)addr, n, out);
    out[2 * n] = '.';
    hex(mac, 16, out + 2 * n + 1);
    return DG_OK;
}

/* The address a token stands for, or -1 if it was not minted by us. */
int em_check_token(em *e, const char *tok, char *addr, size_t cap)
{
    const char *dot = tok ? strchr(tok, '.') : NULL;
    char want[700];
    if (!dot || unhex(tok, (size_t)(dot - tok), addr, cap) != 0 || !dg__mime_addr_ok(addr))
        return -1;
    lower(addr);
    if (em_make_token(e, addr, want, sizeof want) != DG_OK)
        return -1;
    return e->host->ct_equal(want, strlen(want), tok, strlen(tok)) ? 0 : -1;
}

static void fill_random(em *e, unsigned char *buf, size_t n)
{
    if (getrandom(buf, n, 0) == (ssize_t)n)
        return;
    /* No kernel randomness: derive from the secret, time and a counter. */
    char in[96];
    unsigned char mac[32];
    snprintf(in, sizeof in, "%lld:%llu", (long long)e->host->now_ms(e->inst),
             (unsigned long long)++e->seq);
    e->host->hmac(DG_HMAC_SHA256, e->secret, strlen(e->secret), in, strlen(in), mac, sizeof mac);
    memcpy(buf, mac, n < 32 ? n : 32);
}

/* -------------------------------------------------------- classification */

typedef struct klass {
    int status;
    dg_error_class ec;
    int64_t retry_after_ms;
    const char *why;
} klass;

static klass classify(em *e, const dg_http_response *r)
{
    klass k = {DG_EPROTO, DG_ERRC_PERMANENT, 0, "rejected by the SMTP server"};
    int c = r->status;
    if (r->transport_error != DG_HTTP_OK) {
        k.status = r->transport_error == DG_HTTP_ETIMEOUT ? DG_ETIMEDOUT : DG_EIO;
        k.ec = DG_ERRC_RETRYABLE;
        k.retry_after_ms = e->tempfail_retry_ms;
        k.why = "cannot reach the SMTP server";
    } else if (c >= 200 && c < 300) {
        k.status = DG_OK;
        k.ec = DG_ERRC_NONE;
        k.why = NULL;
    } else if (c >= 400 && c < 500) {
        k.ec = DG_ERRC_RETRYABLE;
        k.retry_after_ms = r->retry_after_ms > 0 ? r->retry_after_ms : e->tempfail_retry_ms;
        k.why = "temporary SMTP failure";
    } else if (c == 550 || c == 551 || c == 553 || c == 501 || c == 552 || c == 556) {
        k.why = "mailbox unavailable or address rejected";
    } else if (c == 530 || c == 534 || c == 535 || c == 538) {
        k.ec = DG_ERRC_STOP_SENDER;
        k.why = "SMTP authentication refused: check username/password";
    } else if (c >= 500 && c < 600) {
        k.why = "message refused by the SMTP server";
    } else {
        k.ec = DG_ERRC_RETRYABLE;
        k.retry_after_ms = e->tempfail_retry_ms;
        k.why = "unexpected SMTP reply";
    }
    return k;
}

/* ------------------------------------------------------------------ send */

static void ctx_unlink(send_ctx *c)
{
    em *e = c->e;
    if (c->prev)
        c->prev->next = c->next;
    else
        e->inflight = c->next;
    if (c->next)
        c->next->prev = c->prev;
}

static void on_smtp_done(void *ud, const dg_http_response *r)
{
    send_ctx *c = ud;
    em *e = c->e;
    dg_result res;
    char code[16];
    klass k = classify(e, r);
    DG_INIT(&res);
    c->call = NULL;
    res.status = k.status;
    res.error_class = k.ec;
    res.retry_after_ms = k.retry_after_ms;
    if (k.status == DG_OK) {
        res.provider_id = c->message_id;
        e->host->metric_add(e->inst, "duegate_email_sent_total", NULL, 0, 1);
    } else {
        snprintf(code, sizeof code, "%d", r->status);
        res.error_code = r->transport_error == DG_HTTP_OK ? code : NULL;
        res.error_message = k.why;
        em_logkv(e, DG_LOG_WARN, "email_send_failed", "reply",
              r->transport_error == DG_HTTP_OK ? code : r->error_message, 0);
        e->host->metric_add(e->inst, "duegate_email_failed_total", NULL, 0, 1);
    }
    ctx_unlink(c);
    e->host->complete(e->inst, c->op, &res);
    free(c);
    if (e->stopping && !e->inflight) {
        e->stopping = 0;
        e->host->complete(e->inst, e->stop_op, NULL);
    }
}

static int fail_now(em *e, dg_op op, dg_error_class ec, const char *why)
{
    dg_result res;
    DG_INIT(&res);
    res.status = DG_EINVAL;
    res.error_class = ec;
    res.error_message = why;
    e->host->complete(e->inst, op, &res);
    return DG_PENDING;
}

static int em_send(void *self, const dg_outbound_message *m, dg_op op)
{
    em *e = self;
    dg__mail mail = {0};
    dg__mbuf msg = {0};
    dg_smtp_message sm;
    send_ctx *c;
    unsigned char rnd[12];
    char rhex[25], boundary[48], to[256], token[700], *url = NULL;
    const char *rcpt[1];
    int rc;
    if (e->stopping)
        return DG_ESTATE;
    if (!m->to_email || strlen(m->to_email) >= sizeof to || !dg__mime_addr_ok(m->to_email))
        return fail_now(e, op, DG_ERRC_PERMANENT, "no usable e-mail address");
    if (!m->text || !m->text[0])
        return fail_now(e, op, DG_ERRC_CONFIG, "no e-mail text rendered");
    c = calloc(1, sizeof *c);
    if (!c)
        return DG_ENOMEM;
    c->e = e;
    c->op = op;
    fill_random(e, rnd, sizeof rnd);
    hex(rnd, sizeof rnd, rhex);
    snprintf(c->message_id, sizeof c->message_id, "<%lld.%llu.%s@%s>",
             (long long)e->host->now_ms(e->inst), (unsigned long long)++e->seq, rhex, e->domain);
    snprintf(boundary, sizeof boundary, "=_dg_%s", rhex);
    snprintf(to, sizeof to, "%s", m->to_email);
    lower(to);
    if (e->list_unsubscribe) {
        size_t n;
        if (em_make_token(e, to, token, sizeof token) != DG_OK) {
            free(c);
            return fail_now(e, op, DG_ERRC_PERMANENT, "address too long");
        }
        n = strlen(e->unsub_url) + strlen(token) + 4;
        url = malloc(n);
        if (!url) {
            free(c);
            return DG_ENOMEM;
        }
        snprintf(url, n, "%s?t=%s", e->unsub_url, token);
    }
    mail.from_address = e->from_address;
    mail.from_name = e->from_name;
    mail.to_address = m->to_email;
    mail.to_name = m->to_name;
    mail.reply_to = e->reply_to;
    mail.subject = m->subject;
    mail.text = m->text;
    mail.html = m->html && m->html[0] ? m->html : NULL;
    mail.message_id = c->message_id;
    mail.boundary = boundary;
    mail.unsubscribe_url = url;
    mail.date_ms = e->host->now_ms(e->inst);
    if (dg__mail_build(&mail, &msg) != 0) {
        rc = DG_ENOMEM;
        goto fail;
    }
    rcpt[0] = m->to_email;
    DG_INIT(&sm);
    sm.url = e->smtp_url;
    sm.username = e->username;
    sm.password = e->password;
    sm.require_tls = e->require_tls;
    sm.verify_peer = e->verify_peer;
    sm.mail_from = e->from_address;
    sm.rcpt = rcpt;
    sm.n_rcpt = 1;
    sm.data = msg.p;
    sm.data_len = msg.len;
    sm.timeout_ms = e->timeout_ms;
    c->next = e->inflight;
    if (c->next)
        c->next->prev = c;
    e->inflight = c;
    rc = e->host->smtp_send(e->inst, &sm, on_smtp_done, c, &c->call);
    if (rc < 0) {
        ctx_unlink(c);
        goto fail;
    }
    dg__mbuf_free(&msg);
    free(url);
    return DG_PENDING;
fail:
    free(c);
    dg__mbuf_free(&msg);
    free(url);
    return rc;
}

/* ------------------------------------------------------------- lifecycle */

static int em_create(const dg_host *host, dg_instance *inst, void **self, char *err, size_t len)
{
    em *e = calloc(1, sizeof *e);
    const char *name, *pub, *at;
    size_t n;
    if (!e) {
        snprintf(err, len, "out of memory");
        return DG_ENOMEM;
    }
    *self = e;
    e->host = host;
    e->inst = inst;
    e->smtp_url = cfg_str(e, "smtp_url", NULL);
    e->username = cfg_str(e, "username", NULL);
    e->password = cfg_str(e, "password", NULL);
    e->from_address = cfg_str(e, "from_address", NULL);
    e->from_name = cfg_str(e, "from_name", NULL);
    e->reply_to = cfg_str(e, "reply_to", NULL);
    e->require_tls = cfg_bool(e, "require_tls", 1);
    e->verify_peer = cfg_bool(e, "verify_peer", 1);
    e->list_unsubscribe = cfg_bool(e, "list_unsubscribe", 1);
    e->inbound_enabled = cfg_bool(e, "inbound_enabled", 0);
    e->inbound_secret = cfg_str(e, "inbound_secret", NULL);
    e->timeout_ms = cfg_int(e, "timeout_ms", 0);
    e->tempfail_retry_ms = cfg_int(e, "tempfail_retry_ms", 300000);
    if (!e->smtp_url ||
        (strncmp(e->smtp_url, "smtp://", 7) != 0 && strncmp(e->smtp_url, "smtps://", 8) != 0)) {
        snprintf(err, len, "smtp_url must be smtp://host:port or smtps://host:port");
        return DG_ECONFIG;
    }
    if (!dg__mime_addr_ok(e->from_address)) {
        snprintf(err, len, "from_address must be a plain address (user@domain)");
        return DG_ECONFIG;
    }
    if (e->reply_to && !dg__mime_addr_ok(e->reply_to)) {
        snprintf(err, len, "reply_to must be a plain address (user@domain)");
        return DG_ECONFIG;
    }
    if (e->inbound_enabled && (!e->inbound_secret || strlen(e->inbound_secret) < 16)) {
        snprintf(err, len, "inbound_enabled needs an inbound_secret of 16+ characters");
        return DG_ECONFIG;
    }
    at = strrchr(e->from_address, '@');
    e->domain = at + 1;
    name = host->instance_name(inst);
    snprintf(e->unsub_path, sizeof e->unsub_path, "/webhooks/email/%s/unsubscribe", name);
    snprintf(e->inbound_path, sizeof e->inbound_path, "/webhooks/email/%s/inbound", name);
    pub = host->public_url(inst);
    n = strlen(pub) + strlen(e->unsub_path) + 1;
    e->unsub_url = malloc(n);
    if (!e->unsub_url) {
        snprintf(err, len, "out of memory");
        return DG_ENOMEM;
    }
    snprintf(e->unsub_url, n, "%s%s", pub, e->unsub_path);
    return DG_OK;
}

/* The token key: configured, else kept in state (created on first start). */
static int load_secret(em *e, char *err, size_t len)
{
    const char *conf = cfg_str(e, "unsubscribe_secret", NULL);
    char *v = NULL;
    size_t vl = 0;
    unsigned char rnd[32];
    if (conf) {
        snprintf(e->secret, sizeof e->secret, "%s", conf);
        return DG_OK;
    }
    if (e->host->state_get(e->inst, "unsubscribe_secret", &v, &vl) == DG_OK && vl >= 32 &&
        vl < sizeof e->secret) {
        memcpy(e->secret, v, vl);
        e->secret[vl] = '\0';
        e->host->free(v);
        return DG_OK;
    }
    if (v)
        e->host->free(v);
    if (getrandom(rnd, sizeof rnd, 0) != (ssize_t)sizeof rnd) {
        snprintf(err, len, "no randomness for the unsubscribe secret; set unsubscribe_secret");
        return DG_EIO;
    }
    hex(rnd, sizeof rnd, e->secret);
    if (e->host->state_put(e->inst, "unsubscribe_secret", e->secret, strlen(e->secret), 0) !=
        DG_OK) {
        snprintf(err, len, "cannot store the unsubscribe secret");
        return DG_EIO;
    }
    return DG_OK;
}

static int em_start(void *self, char *err, size_t len)
{
    em *e = self;
    int rc = load_secret(e, err, len);
    if (rc != DG_OK)
        return rc;
    if (strncmp(e->smtp_url, "smtp://", 7) == 0 && !e->require_tls)
        em_logkv(e, DG_LOG_WARN, "email_plaintext_smtp", "hint",
              "require_tls is false: credentials and mail may travel in clear", 0);
    rc = e->host->http_route(e->inst, "GET", e->unsub_path, em_on_unsub_get, e);
    if (rc == DG_OK)
        rc = e->host->http_route(e->inst, "POST", e->unsub_path, em_on_unsub_post, e);
    if (rc == DG_OK && e->inbound_enabled)
        rc = e->host->http_route(e->inst, "POST", e->inbound_path, em_on_inbound, e);
    if (rc != DG_OK) {
        snprintf(err, len, "cannot register webhook routes: %s", e->host->strerror(rc));
        return rc;
    }
    return DG_OK;
}

static int em_stop(void *self, dg_op op)
{
    em *e = self;
    if (!e->inflight)
        return DG_OK;
    e->stopping = 1;
    e->stop_op = op;
    return DG_PENDING;
}

static void em_destroy(void *self)
{
    em *e = self;
    if (!e)
        return;
    while (e->inflight) {
        send_ctx *c = e->inflight;
        e->inflight = c->next;
        if (c->call)
            e->host->http_cancel(c->call);
        free(c);
    }
    free(e->unsub_url);
    free(e);
}

static const dg_config_field em_schema[] = {
    {"smtp_url",
     DG_CFG_STRING,
     DG_CFGF_REQUIRED,
     NULL,
     "smtp://host:587 (STARTTLS) or smtps://host:465",
     0,
     0,
     {0}},
    {"username", DG_CFG_STRING, 0, NULL, "SMTP AUTH user (none: no AUTH)", 0, 0, {0}},
    {"password", DG_CFG_STRING, DG_CFGF_SECRET, NULL, "SMTP AUTH password", 0, 0, {0}},
    {"require_tls", DG_CFG_BOOL, 0, "true", "refuse smtp:// without STARTTLS", 0, 0, {0}},
    {"verify_peer", DG_CFG_BOOL, 0, "true", "verify the server certificate", 0, 0, {0}},
    {"from_address",
     DG_CFG_STRING,
     DG_CFGF_REQUIRED,
     NULL,
     "sender address (envelope and From)",
     0,
     0,
     {0}},
    {"from_name", DG_CFG_STRING, 0, NULL, "sender display name", 0, 0, {0}},
    {"reply_to", DG_CFG_STRING, 0, NULL, "Reply-To address", 0, 0, {0}},
    {"list_unsubscribe",
     DG_CFG_BOOL,
     0,
     "true",
     "add RFC 8058 one-click unsubscribe headers",
     0,
     0,
     {0}},
    {"unsubscribe_secret",
     DG_CFG_STRING,
     DG_CFGF_SECRET,
     NULL,
     "key of unsubscribe tokens (default: random, kept in state)",
     0,
     0,
     {0}},
    {"inbound_enabled", DG_CFG_BOOL, 0, "false", "serve the parsed-mail reply webhook", 0, 0, {0}},
    {"inbound_secret",
     DG_CFG_STRING,
     DG_CFGF_SECRET,
     NULL,
     "shared secret of the reply webhook (X-Duegate-Secret header)",
     0,
     0,
     {0}},
    {"timeout_ms", DG_CFG_INT, 0, "0", "SMTP timeout (0: host default)", 0, 600000, {0}},
    {"tempfail_retry_ms",
     DG_CFG_INT,
     0,
     "300000",
     "retry delay after 4xx / transport errors",
     0,
     86400000,
     {0}},
    {NULL, 0, 0, NULL, NULL, 0, 0, {0}}};

static const dg_channel_ops em_ops = {
    .struct_size = sizeof(dg_channel_ops),
    .capabilities = DG_CAP_EMAIL | DG_CAP_INBOUND_REPLIES,
    .create = em_create,
    .start = em_start,
    .stop = em_stop,
    .destroy = em_destroy,
    .send = em_send,
};

static const dg_plugin_descriptor em_desc = {
    .struct_size = sizeof(dg_plugin_descriptor),
    .abi_major = DG_ABI_MAJOR,
    .abi_minor = DG_ABI_MINOR,
    .kind = DG_PLUGIN_CHANNEL,
    .name = "email",
    .version = "1.0.0",
    .description = "e-mail through SMTP (MIME text + HTML, one-click unsubscribe)",
    .config_schema = em_schema,
    .channel = &em_ops,
};

DG_PLUGIN_DEFINE(email, em_desc)
