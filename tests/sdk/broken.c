/* One small webhook channel, built correct (BROKEN_NONE) or with exactly
 * one deliberate contract breach, for the conformance kit's tests. Each
 * build defines MODULE (the file's base name) and one BROKEN_* switch:
 *
 *   BROKEN_TWICE        completes a send twice
 *   BROKEN_AFTER_STOP   parks sends; stop returns DG_OK; a timer completes
 *                       the parked op after stop
 *   BROKEN_MAJOR        declares the next ABI major
 *   BROKEN_NO_SEND      lacks the mandatory send op
 *   BROKEN_LEAK_TIMER   starts a repeating timer and never stops it
 *   BROKEN_THREAD       completes a send from a thread of its own
 *   BROKEN_LOG_SECRET   logs its token as a plain value
 *   BROKEN_RETRY        ignores Retry-After and calls a 503 permanent
 *   BROKEN_OPEN_CALL    stop returns DG_OK without canceling the call in flight
 *   BROKEN_STATE_LEAK   never host->free's a state_get buffer
 *   BROKEN_FORM_LEAK    never form_free's a parsed form
 *   BROKEN_NO_ANSWER    registers a webhook route that never answers
 *   BROKEN_KEEP_MSG     keeps the borrowed message text and posts it later
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <duegate/plugin.h>

typedef struct br {
    const dg_host *host;
    dg_instance *inst;
    const char *url, *token;
    dg_op parked;
    dg_timer *timer;
    dg_http_call *call;
    dg_op call_op;
    const char *kept_text; /* BROKEN_KEEP_MSG: a borrowed pointer, kept */
} br;

static int b_create(const dg_host *host, dg_instance *inst, void **self, char *err, size_t len)
{
    br *b = calloc(1, sizeof *b);
    (void)err, (void)len;
    if (!b)
        return DG_ENOMEM;
    b->host = host;
    b->inst = inst;
    b->url = host->config_string(inst, "url");
    b->token = host->config_string(inst, "token");
    *self = b;
    return DG_OK;
}

static void tick(void *ud)
{
    (void)ud; /* touches nothing: only the leak is wrong */
}

static void silent(void *ud, dg_http_req *req)
{
    (void)ud, (void)req;
}

static int b_start(void *self, char *err, size_t len)
{
    br *b = self;
    (void)err, (void)len;
#ifdef BROKEN_NO_ANSWER
    b->host->http_route(b->inst, "POST", "/hooks/broken", silent, b);
#else
    (void)silent;
#endif
#ifdef BROKEN_LEAK_TIMER
    b->timer = b->host->timer_start(b->inst, 1000, 1000, tick, b);
#else
    (void)tick;
    (void)b;
#endif
    return DG_OK;
}

static void late(void *ud)
{
    br *b = ud;
    dg_result res;
    DG_INIT(&res);
    res.provider_id = "late";
    b->host->complete(b->inst, b->parked, &res);
}

static int b_stop(void *self, dg_op op)
{
    br *b = self;
    (void)op;
#ifdef BROKEN_OPEN_CALL
    if (b->call) /* forgets the call: its callback will run after stop */
        return DG_OK;
#endif
    if (b->call) {
        dg_result res;
        DG_INIT(&res);
        res.status = DG_ECANCELED;
        res.error_class = DG_ERRC_RETRYABLE;
        b->host->http_cancel(b->call);
        b->host->complete(b->inst, b->call_op, &res);
        b->call = NULL;
    }
    return DG_OK; /* BROKEN_AFTER_STOP: returns OK with its timer armed */
}

static void b_destroy(void *self)
{
    free(self);
}

static void on_resp(void *ud, const dg_http_response *r)
{
    br *b = ud;
    dg_result res;
    dg_op op = b->call_op;
    DG_INIT(&res);
    b->call = NULL;
    if (r->transport_error != DG_HTTP_OK) {
        res.status = DG_EIO;
        res.error_class = DG_ERRC_RETRYABLE;
    } else if (r->status >= 200 && r->status < 300) {
        res.provider_id = "broken-1";
    } else if (r->status >= 500) {
        res.status = DG_EIO;
#ifdef BROKEN_RETRY
        res.error_class = DG_ERRC_PERMANENT;
#else
        res.error_class = DG_ERRC_RETRYABLE;
        res.retry_after_ms = r->retry_after_ms > 0 ? r->retry_after_ms : 0;
#endif
    } else {
        res.status = DG_EIO;
        res.error_class = DG_ERRC_PERMANENT;
    }
    b->host->complete(b->inst, op, &res);
#ifdef BROKEN_TWICE
    b->host->complete(b->inst, op, &res);
#endif
}

#ifdef BROKEN_THREAD
typedef struct job {
    br *b;
    dg_op op;
} job;
static void *worker(void *arg)
{
    job *j = arg;
    dg_result res;
    DG_INIT(&res);
    res.provider_id = "from-a-thread";
    j->b->host->complete(j->b->inst, j->op, &res);
    return NULL;
}
#endif

static int post(br *b, const char *text, dg_op op);

static void deferred(void *ud)
{
    br *b = ud;
    if (post(b, b->kept_text, b->parked) != DG_PENDING) {
        dg_result res;
        DG_INIT(&res);
        res.status = DG_EIO;
        res.error_class = DG_ERRC_RETRYABLE;
        b->host->complete(b->inst, b->parked, &res);
    }
}

static int b_send(void *self, const dg_outbound_message *m, dg_op op)
{
    br *b = self;
#ifdef BROKEN_STATE_LEAK
    {
        char *v = NULL;
        b->host->state_put(b->inst, "last", "x", 1, 0);
        b->host->state_get(b->inst, "last", &v, NULL); /* never freed */
    }
#endif
#ifdef BROKEN_FORM_LEAK
    b->host->form_parse("a=1&b=2", 7); /* never freed */
#endif
#ifdef BROKEN_LOG_SECRET
    dg_kv kv[] = {{"token", b->token ? b->token : "", DG_KV_PLAIN}};
    b->host->log(b->inst, DG_LOG_INFO, "sending", kv, 1);
#endif
#ifdef BROKEN_THREAD
    {
        pthread_t t;
        job j = {b, op};
        if (pthread_create(&t, NULL, worker, &j) != 0)
            return DG_EIO;
        pthread_join(t, NULL);
        return DG_PENDING;
    }
#endif
#ifdef BROKEN_AFTER_STOP
    b->parked = op;
    b->timer = b->host->timer_start(b->inst, 5000, 0, late, b);
    return DG_PENDING;
#else
    (void)late;
#endif
#ifdef BROKEN_KEEP_MSG
    b->kept_text = m->text; /* wrong: m is only valid during this call */
    b->parked = op;
    b->host->timer_start(b->inst, 0, 0, deferred, b);
    return DG_PENDING;
#else
    (void)deferred;
#endif
    return post(b, m->text, op);
}

static int post(br *b, const char *text, dg_op op)
{
    dg_http_request req;
    dg_kv h[1];
    if (b->call)
        return DG_ESTATE; /* one at a time is enough for the kit */
    DG_INIT(&req);
    req.method = "POST";
    req.url = b->url;
    h[0] = (dg_kv){"X-Api-Key", b->token ? b->token : "", DG_KV_SECRET};
    req.headers = h;
    req.n_headers = 1;
    req.body = text;
    req.body_len = text ? strlen(text) : 0;
    b->call_op = op;
    if (b->host->http_request(b->inst, &req, on_resp, b, &b->call) != DG_OK)
        return DG_EIO;
    return DG_PENDING;
}

static const dg_config_field b_schema[] = {
    {"url", DG_CFG_STRING, DG_CFGF_REQUIRED, NULL, "where to POST", 0, 0, {0}},
    {"token", DG_CFG_STRING, DG_CFGF_SECRET | DG_CFGF_REQUIRED, NULL, "API key", 0, 0, {0}},
    {NULL, 0, 0, NULL, NULL, 0, 0, {0}}};

static const dg_channel_ops b_ops = {
    .struct_size = sizeof(dg_channel_ops),
    .capabilities = DG_CAP_PHONE,
    .create = b_create,
    .start = b_start,
    .stop = b_stop,
    .destroy = b_destroy,
#ifndef BROKEN_NO_SEND
    .send = b_send,
#endif
};

/* Keeps b_send referenced in the variant that leaves it out of the table. */
void *broken_keep_ref(void);
void *broken_keep_ref(void)
{
    return (void *)(uintptr_t)b_send;
}

#define STR2(x) #x
#define STR(x) STR2(x)

static const dg_plugin_descriptor b_desc = {
    .struct_size = sizeof(dg_plugin_descriptor),
#ifdef BROKEN_MAJOR
    .abi_major = DG_ABI_MAJOR + 1,
#else
    .abi_major = DG_ABI_MAJOR,
#endif
    .abi_minor = DG_ABI_MINOR,
    .kind = DG_PLUGIN_CHANNEL,
    .name = STR(MODULE),
    .version = "0.0.1",
    .description = "a deliberately broken plugin for the conformance kit's tests",
    .config_schema = b_schema,
    .channel = &b_ops,
};

#define DEFINE2(m, d) DG_PLUGIN_DEFINE(m, d)
DEFINE2(MODULE, b_desc)
