/* shopify: the store plugin for Shopify (protocols.md section C).
 * Lifecycle and configuration, and the webhook endpoint
 * /webhooks/shopify/<instance>: HMAC check (with the previous secret during a
 * rotation), dedupe on webhook/event id and on (order id, updated_at), the
 * event emitted and durably stored before the 200. GraphQL is in sp_gql.c. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sp.h"

#define SP_ACK_DEADLINE_MS 4000 /* Shopify gives up after 5 s */
#define SP_SEEN_TTL_MS (90LL * 86400000)

struct sp_pending {
    sp *s;
    dg_http_req *req; /* NULL once answered */
    dg_timer *timer;
    char *wh_key, *ev_key, *order_id;
    char *webhook_id; /* for the logs when the order is not parsed yet (inbox path) */
    int64_t updated_at;
    int in_emit, got_done, done_status; /* done may run inside emit_order */
    sp_pending *next;
};

const dg_kv sp_no_labels[1] = {{NULL, NULL, DG_KV_PLAIN}};

void sp_count(sp *s, const char *metric)
{
    s->host->metric_add(s->inst, metric, sp_no_labels, 0, 1);
}

void sp_log(sp *s, dg_log_level lvl, const char *event, const char *k1, const char *v1,
            const char *k2, const char *v2)
{
    dg_kv kv[2] = {{k1, v1, DG_KV_PLAIN}, {k2, v2, DG_KV_PLAIN}};
    s->host->log(s->inst, lvl, event, kv, k2 ? 2 : k1 ? 1 : 0);
}

static void respond(sp *s, dg_http_req *req, int status, const char *json)
{
    dg_kv h = {"Content-Type", "application/json", DG_KV_PLAIN};
    s->host->http_respond(req, status, &h, 1, json, strlen(json));
}

/* -------------------------------------------------------- seen / stale */

int sp_is_stale(sp *s, const char *order_id, int64_t updated_at)
{
    char key[96], *v = NULL;
    int stale = 0;
    if (!order_id || !updated_at)
        return 0;
    snprintf(key, sizeof key, "upd:%s", order_id);
    if (s->host->state_get(s->inst, key, &v, NULL) == DG_OK && v) {
        stale = updated_at < strtoll(v, NULL, 10);
        s->host->free(v);
    }
    return stale;
}

void sp_mark_seen(sp *s, const char *order_id, int64_t updated_at)
{
    char key[96], val[32];
    if (!order_id || !updated_at || sp_is_stale(s, order_id, updated_at))
        return;
    snprintf(key, sizeof key, "upd:%s", order_id);
    snprintf(val, sizeof val, "%lld", (long long)updated_at);
    s->host->state_put(s->inst, key, val, strlen(val), SP_SEEN_TTL_MS);
}

static int seen_key(sp *s, const char *key)
{
    char *v = NULL;
    if (!key || s->host->state_get(s->inst, key, &v, NULL) != DG_OK)
        return 0;
    s->host->free(v);
    return 1;
}

static void remember(sp *s, const char *wh_key, const char *ev_key, const char *order_id,
                     int64_t updated_at)
{
    if (wh_key)
        s->host->state_put(s->inst, wh_key, "1", 1, s->dedupe_ttl_ms);
    if (ev_key)
        s->host->state_put(s->inst, ev_key, "1", 1, s->dedupe_ttl_ms);
    sp_mark_seen(s, order_id, updated_at);
}

/* ------------------------------------------------------ pending acks */

static void pending_free(sp_pending *p)
{
    free(p->wh_key);
    free(p->ev_key);
    free(p->order_id);
    free(p->webhook_id);
    free(p);
}

static void pending_unlink(sp *s, sp_pending *p)
{
    for (sp_pending **pp = &s->pending; *pp; pp = &(*pp)->next)
        if (*pp == p) {
            *pp = p->next;
            return;
        }
}

static void pending_timeout(void *ud)
{
    sp_pending *p = ud;
    p->timer = NULL; /* one-shot: released by the host */
    if (p->req) {
        respond(p->s, p->req, 503, "{\"error\":\"not stored in time, retry\"}");
        p->req = NULL;
    }
    sp_log(p->s, DG_LOG_WARN, "shopify.webhook_store_slow", p->order_id ? "order_id" : "webhook_id",
           p->order_id ? p->order_id : p->webhook_id, NULL, NULL);
}

static void pending_done(void *ud, int status)
{
    sp_pending *p = ud;
    sp *s = p->s;
    int ok = (status == DG_OK || status == DG_EEXIST) && !s->stopping;
    if (p->in_emit) { /* called from inside emit_order: on_webhook finishes */
        p->got_done = 1;
        p->done_status = status;
        return;
    }
    if (ok)
        remember(s, p->wh_key, p->ev_key, p->order_id, p->updated_at);
    if (p->req)
        respond(s, p->req, ok ? 200 : 503, ok ? "{\"ok\":true}" : "{\"error\":\"store failed\"}");
    if (p->timer)
        s->host->timer_stop(p->timer);
    pending_unlink(s, p);
    pending_free(p);
}

/* -------------------------------------------------------------- webhook */

static int topic_known(sp *s, const char *t)
{
    static const char *const topics[] = {"orders/create",    "orders/updated", "orders/paid",
                                         "orders/cancelled", "orders/delete",  NULL};
    for (int i = 0; topics[i]; i++)
        if (strcmp(t, topics[i]) == 0)
            return 1;
    return s->payment_schedules_due && strcmp(t, "payment_schedules/due") == 0;
}

/* What a verified webhook amounts to, before anything is emitted. */
typedef enum sp_outcome {
    SP_EMIT,      /* e is filled in: emit it, then remember its keys */
    SP_DUPLICATE, /* webhook or event id seen before */
    SP_STALE,     /* older than what we have for the order (keys remembered) */
    SP_SCHEDULE,  /* payment_schedules/due: a reconciliation was started */
    SP_BAD,       /* not JSON, or not an order we can use (logged) */
    SP_NOMEM
} sp_outcome;

typedef struct sp_keys {
    char wh[256], ev[256], dedupe[256];
    int has_ev;
} sp_keys;

/* Dedupe, parse and map one verified webhook of a known topic. */
static sp_outcome sp_prepare(sp *s, const char *topic, const char *whid, const char *evid,
                             const char *body, size_t len, sp_keys *k, sp_event *e)
{
    char err[160];
    memset(e, 0, sizeof *e);
    snprintf(k->wh, sizeof k->wh, "wh:%s:%s", topic, whid);
    snprintf(k->ev, sizeof k->ev, "ev:%s:%s", topic, evid ? evid : "");
    snprintf(k->dedupe, sizeof k->dedupe, "%s:%s", topic, whid);
    k->has_ev = evid && evid[0];
    if (seen_key(s, k->wh) || (k->has_ev && seen_key(s, k->ev))) {
        sp_count(s, "dg_shopify_webhook_duplicates_total");
        return SP_DUPLICATE;
    }
    if (strcmp(topic, "payment_schedules/due") == 0) {
        /* the payload names a payment schedule, not its order: reconcile now */
        int rc = sp_gql_backfill(s, 0, 1);
        remember(s, k->wh, k->has_ev ? k->ev : NULL, NULL, 0);
        sp_log(s, DG_LOG_INFO, "shopify.payment_schedule_due", "reconcile",
               rc == DG_PENDING ? "started" : "failed", NULL, NULL);
        return SP_SCHEDULE;
    }
    cJSON *root = sp_json_parse(body, len);
    if (!root) {
        sp_log(s, DG_LOG_WARN, "shopify.webhook_unusable", "reason", "body is not JSON", NULL,
               NULL);
        return SP_BAD;
    }
    int rc = sp_map_order(root, topic, &s->map, e, err, sizeof err);
    cJSON_Delete(root);
    if (rc != DG_OK) {
        sp_event_free(e);
        if (rc == DG_ENOMEM)
            return SP_NOMEM;
        sp_log(s, DG_LOG_WARN, "shopify.webhook_unusable", "reason", err, NULL, NULL);
        return SP_BAD;
    }
    if (e->ev.kind != DG_ORDER_DELETED && sp_is_stale(s, e->ev.order_id, e->ev.updated_at)) {
        sp_count(s, "dg_shopify_webhook_stale_total");
        sp_log(s, DG_LOG_INFO, "shopify.webhook_stale", "order_id", e->ev.order_id, "topic",
               topic);
        remember(s, k->wh, k->has_ev ? k->ev : NULL, NULL, 0);
        sp_event_free(e);
        return SP_STALE;
    }
    e->ev.dedupe_key = k->dedupe;
    return SP_EMIT;
}

/* Without the host's inbox (a 1.0 host, a database in memory): parse and
 * emit now, and answer once the event is stored. */
static void handle_now(sp *s, dg_http_req *req, const char *topic, const char *whid,
                       const char *evid, const char *body, size_t len)
{
    const dg_host *H = s->host;
    sp_keys k;
    sp_event e;
    switch (sp_prepare(s, topic, whid, evid, body, len, &k, &e)) {
    case SP_EMIT:
        break;
    case SP_DUPLICATE:
        respond(s, req, 200, "{\"ok\":true,\"duplicate\":true}");
        return;
    case SP_STALE:
        respond(s, req, 200, "{\"ok\":true,\"stale\":true}");
        return;
    case SP_SCHEDULE:
        respond(s, req, 200, "{\"ok\":true}");
        return;
    case SP_BAD:
        respond(s, req, 400, "{\"error\":\"unusable order payload\"}");
        return;
    case SP_NOMEM:
        respond(s, req, 503, "{\"error\":\"out of memory\"}");
        return;
    }
    sp_pending *p = calloc(1, sizeof *p);
    if (!p) {
        sp_event_free(&e);
        respond(s, req, 503, "{\"error\":\"out of memory\"}");
        return;
    }
    p->s = s;
    p->wh_key = strdup(k.wh);
    p->ev_key = k.has_ev ? strdup(k.ev) : NULL;
    p->order_id = strdup(e.ev.order_id);
    p->updated_at = e.ev.updated_at;
    p->in_emit = 1;
    int rc = H->emit_order(s->inst, &e.ev, pending_done, p);
    p->in_emit = 0;
    sp_event_free(&e);
    if (rc == DG_PENDING && p->got_done)
        rc = p->done_status;
    if (rc == DG_PENDING) {
        p->req = req;
        p->timer = H->timer_start(s->inst, SP_ACK_DEADLINE_MS, 0, pending_timeout, p);
        p->next = s->pending;
        s->pending = p;
        return;
    }
    if (rc == DG_OK || rc == DG_EEXIST) {
        remember(s, p->wh_key, p->ev_key, p->order_id, p->updated_at);
        respond(s, req, 200, rc == DG_OK ? "{\"ok\":true}" : "{\"ok\":true,\"duplicate\":true}");
    } else {
        sp_log(s, DG_LOG_ERROR, "shopify.webhook_store_failed", "error", H->strerror(rc), NULL,
               NULL);
        respond(s, req, 503, "{\"error\":\"store failed, retry\"}");
    }
    pending_free(p);
}

/* The inbox has the body on disk (or could not store it). */
static void inbox_done(void *ud, int status)
{
    sp_pending *p = ud;
    sp *s = p->s;
    if (p->req)
        respond(s, p->req, status == DG_OK ? 200 : 503,
                status == DG_OK ? "{\"ok\":true}" : "{\"error\":\"store failed, retry\"}");
    if (status != DG_OK)
        sp_log(s, DG_LOG_ERROR, "shopify.webhook_store_failed", "error",
               s->host->strerror(status), NULL, NULL);
    if (p->timer)
        s->host->timer_stop(p->timer);
    pending_unlink(s, p);
    pending_free(p);
}

/* Hand the verified body to the host's inbox; the 200 goes out once it is
 * on disk. Returns 0 if the request is taken care of, DG_ENOTSUP if the host
 * keeps no inbox. */
static int defer_to_inbox(sp *s, dg_http_req *req, const char *topic, const char *whid,
                          const char *evid, const char *body, size_t len)
{
    const dg_host *H = s->host;
    dg_kv attrs[3] = {{"topic", topic, DG_KV_PLAIN},
                      {"webhook_id", whid, DG_KV_PLAIN},
                      {"event_id", evid ? evid : "", DG_KV_PLAIN}};
    sp_pending *p;
    if (!H->inbox_append)
        return DG_ENOTSUP;
    if (!(p = calloc(1, sizeof *p))) {
        respond(s, req, 503, "{\"error\":\"out of memory\"}");
        return 0;
    }
    p->s = s;
    p->webhook_id = strdup(whid);
    int rc = H->inbox_append(s->inst, attrs, 3, body, len, inbox_done, p);
    if (rc != DG_PENDING) {
        pending_free(p);
        if (rc == DG_ENOTSUP)
            return rc;
        sp_log(s, DG_LOG_ERROR, "shopify.webhook_store_failed", "error", H->strerror(rc), NULL,
               NULL);
        respond(s, req, 503, "{\"error\":\"store failed, retry\"}");
        return 0;
    }
    p->req = req;
    p->timer = H->timer_start(s->inst, SP_ACK_DEADLINE_MS, 0, pending_timeout, p);
    p->next = s->pending;
    s->pending = p;
    return 0;
}

static const char *attr(const dg_kv *a, size_t n, const char *key)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(a[i].key, key) == 0)
            return a[i].value;
    return NULL;
}

/* An entry of the inbox: the work handle_now does, without the request.
 * Everything written here commits with the entry's "processed". */
static int sp_inbox_process(void *self, const dg_kv *attrs, size_t n, const void *data,
                            size_t len)
{
    sp *s = self;
    const char *topic = attr(attrs, n, "topic"), *whid = attr(attrs, n, "webhook_id");
    const char *evid = attr(attrs, n, "event_id");
    sp_keys k;
    sp_event e;
    if (!topic || !whid)
        return DG_EINVAL;
    switch (sp_prepare(s, topic, whid, evid, data, len, &k, &e)) {
    case SP_EMIT:
        break;
    case SP_NOMEM:
        return DG_ENOMEM;
    case SP_BAD:
        return DG_EPROTO;
    default:
        return DG_OK;
    }
    int rc = s->host->emit_order(s->inst, &e.ev, NULL, NULL);
    if (rc == DG_OK || rc == DG_EEXIST || rc == DG_PENDING)
        remember(s, k.wh, k.has_ev ? k.ev : NULL, e.ev.order_id, e.ev.updated_at);
    else
        sp_log(s, DG_LOG_ERROR, "shopify.webhook_store_failed", "error", s->host->strerror(rc),
               NULL, NULL);
    sp_event_free(&e);
    return rc == DG_PENDING || rc == DG_EEXIST ? DG_OK : rc;
}

static void verified(sp *s, dg_http_req *req, int which);

static void on_webhook(void *ud, dg_http_req *req)
{
    sp *s = ud;
    const dg_host *H = s->host;
    size_t len = 0;
    const char *body = H->http_req_body(req, &len);
    const char *mac = H->http_req_header(req, "X-Shopify-Hmac-Sha256");
    sp_count(s, "dg_shopify_webhooks_total");
    if (s->stopping) {
        respond(s, req, 503, "{\"error\":\"shutting down\"}");
        return;
    }
    if (!mac || !mac[0]) {
        respond(s, req, 401, "{\"error\":\"missing X-Shopify-Hmac-Sha256\"}");
        return;
    }
    if (!body || len == 0) {
        respond(s, req, 401, "{\"error\":\"empty body\"}");
        return;
    }
    sp_verify(s, req, body, len, mac, verified);
}

/* The signature is checked (which: 0 bad, 1 current secret, 2 previous). */
static void verified(sp *s, dg_http_req *req, int which)
{
    const dg_host *H = s->host;
    size_t len = 0;
    const char *body = H->http_req_body(req, &len);
    const char *topic = H->http_req_header(req, "X-Shopify-Topic");
    const char *shop = H->http_req_header(req, "X-Shopify-Shop-Domain");
    const char *whid = H->http_req_header(req, "X-Shopify-Webhook-Id");
    const char *evid = H->http_req_header(req, "X-Shopify-Event-Id");
    if (!which) {
        sp_count(s, "dg_shopify_webhook_bad_signature_total");
        sp_log(s, DG_LOG_WARN, "shopify.webhook_bad_hmac", "topic", topic, NULL, NULL);
        respond(s, req, 401, "{\"error\":\"invalid HMAC signature\"}");
        return;
    }
    if (s->stopping) { /* stop came while the signature was being checked */
        respond(s, req, 503, "{\"error\":\"shutting down\"}");
        return;
    }
    if (which == 2)
        sp_log(s, DG_LOG_INFO, "shopify.webhook_previous_secret", "topic", topic, NULL, NULL);
    if (!topic || !topic[0] || !shop || !shop[0] || !whid || !whid[0]) {
        respond(s, req, 400,
                "{\"error\":\"missing X-Shopify-Topic, -Shop-Domain or -Webhook-Id\"}");
        return;
    }
    if (!sp_ieq(shop, s->shop_domain)) {
        sp_log(s, DG_LOG_WARN, "shopify.webhook_wrong_shop", "shop", shop, NULL, NULL);
        respond(s, req, 401, "{\"error\":\"unknown shop domain\"}");
        return;
    }
    if (!topic_known(s, topic)) {
        sp_log(s, DG_LOG_INFO, "shopify.webhook_topic_ignored", "topic", topic, NULL, NULL);
        respond(s, req, 200, "{\"ok\":true,\"ignored\":true}");
        return;
    }
    if (defer_to_inbox(s, req, topic, whid, evid, body, len) == DG_ENOTSUP)
        handle_now(s, req, topic, whid, evid, body, len);
}

/* ------------------------------------------------------------ lifecycle */

static int64_t cfg_int(sp *s, const char *key, int64_t def)
{
    int64_t v;
    return s->host->config_int(s->inst, key, &v) == DG_OK ? v : def;
}

static int cfg_bool(sp *s, const char *key, int def)
{
    int v;
    return s->host->config_bool(s->inst, key, &v) == DG_OK ? v : def;
}

static const char *cfg_str(sp *s, const char *key, const char *def)
{
    const char *v = s->host->config_string(s->inst, key);
    return v && v[0] ? v : def;
}

static void sp_destroy(void *self);

static int sp_configure(sp *s, const dg_host *host, dg_instance *inst, char *err, size_t len)
{
    char buf[512];
    s->host = host;
    s->inst = inst;
    s->shop_domain = cfg_str(s, "shop_domain", NULL);
    s->access_token = cfg_str(s, "access_token", NULL);
    s->client_secret = cfg_str(s, "client_secret", NULL);
    s->prev_secret = cfg_str(s, "previous_client_secret", NULL);
    s->api_version = cfg_str(s, "api_version", "2025-10");
    if (!s->shop_domain || !s->access_token || !s->client_secret) {
        snprintf(err, len, "shop_domain, access_token and client_secret are required");
        return DG_ECONFIG;
    }
    const char *ru = cfg_str(s, "rotation_until", NULL);
    if (ru && sp_time_parse(ru, &s->rotation_until) != DG_OK) {
        snprintf(err, len, "rotation_until is not an ISO-8601 time");
        return DG_ECONFIG;
    }
    if (s->prev_secret && !ru) {
        snprintf(err, len, "previous_client_secret needs rotation_until");
        return DG_ECONFIG;
    }
    const char *base = cfg_str(s, "admin_base", NULL);
    if (base)
        snprintf(buf, sizeof buf, "%s/admin/api/%s/graphql.json", base, s->api_version);
    else
        snprintf(buf, sizeof buf, "https://%s/admin/api/%s/graphql.json", s->shop_domain,
                 s->api_version);
    s->graphql_url = strdup(buf);
    snprintf(buf, sizeof buf, "/webhooks/shopify/%s", host->instance_name(inst));
    s->route_path = strdup(buf);
    size_t n = host->config_array_len(inst, "presale_tags");
    int have_list = host->config_json(inst, "presale_tags") != NULL;
    s->presale_tags = calloc(n ? n : 2, sizeof *s->presale_tags);
    if (!s->graphql_url || !s->route_path || !s->presale_tags) {
        snprintf(err, len, "out of memory");
        return DG_ENOMEM;
    }
    for (size_t i = 0; i < n; i++)
        if ((s->presale_tags[s->n_presale_tags] =
                 host->config_array_string(inst, "presale_tags", i)))
            s->n_presale_tags++;
    if (!have_list) {
        s->presale_tags[0] = "pre-order";
        s->presale_tags[1] = "deposit";
        s->n_presale_tags = 2;
    }
    s->map.presale_tags = s->presale_tags;
    s->map.n_presale_tags = s->n_presale_tags;
    s->map.presale_note_attribute = cfg_str(s, "presale_note_attribute", NULL);
    s->map.unpaid_close_after_ms = cfg_int(s, "unpaid_close_after_minutes", 1440) * 60000;
    s->map.default_timezone = cfg_str(s, "default_timezone", NULL);
    s->reconcile_ms = cfg_int(s, "reconcile_interval_s", 900) * 1000;
    s->payment_schedules_due = cfg_bool(s, "payment_schedules_due", 0);
    s->dedupe_ttl_ms = cfg_int(s, "dedupe_ttl_hours", 72) * 3600000;
    s->page_size = (int)cfg_int(s, "page_size", 10);
    s->refund_on_cancel = cfg_bool(s, "refund_on_cancel", 0);
    if (s->page_size < 1 || s->page_size > 250 || s->reconcile_ms < 0 ||
        s->map.unpaid_close_after_ms <= 0) {
        snprintf(err, len, "page_size must be 1..250, intervals positive");
        return DG_ECONFIG;
    }
    return DG_OK;
}

/* The host does not call destroy after a failed create: clean up here. */
static int sp_create(const dg_host *host, dg_instance *inst, void **self, char *err, size_t len)
{
    sp *s = calloc(1, sizeof *s);
    int rc;
    *self = NULL;
    if (!s) {
        snprintf(err, len, "out of memory");
        return DG_ENOMEM;
    }
    rc = sp_configure(s, host, inst, err, len);
    if (rc != DG_OK) {
        sp_destroy(s);
        return rc;
    }
    *self = s;
    return DG_OK;
}

static void reconcile_tick(void *ud)
{
    sp *s = ud;
    if (!s->stopping)
        sp_gql_backfill(s, 0, 1);
}

static int sp_start(void *self, char *err, size_t len)
{
    sp *s = self;
    int rc = s->host->http_route(s->inst, "POST", s->route_path, on_webhook, s);
    if (rc != DG_OK) {
        snprintf(err, len, "cannot route %s: %s", s->route_path, s->host->strerror(rc));
        return rc;
    }
    if (s->reconcile_ms > 0)
        s->reconcile_timer =
            s->host->timer_start(s->inst, s->reconcile_ms, s->reconcile_ms, reconcile_tick, s);
    s->started = 1;
    return DG_OK;
}

static int sp_stop(void *self, dg_op op)
{
    sp *s = self;
    s->stopping = 1;
    if (s->reconcile_timer)
        s->host->timer_stop(s->reconcile_timer);
    s->reconcile_timer = NULL;
    for (sp_pending *p = s->pending; p; p = p->next) {
        if (p->timer)
            s->host->timer_stop(p->timer);
        p->timer = NULL;
        if (p->req)
            respond(s, p->req, 503, "{\"error\":\"shutting down\"}");
        p->req = NULL;
    }
    if (sp_gql_stop(s) > 0 || s->verifying) {
        s->stop_op = op;
        s->stop_pending = 1;
        return DG_PENDING; /* an orderCancel in flight (let it land) or a signature check */
    }
    return DG_OK;
}

void sp_stop_maybe_done(sp *s)
{
    if (!s->stop_pending || s->destroying || s->verifying || sp_gql_mutations_in_flight(s))
        return;
    s->stop_pending = 0;
    s->host->complete(s->inst, s->stop_op, NULL);
}

static void sp_destroy(void *self)
{
    sp *s = self;
    if (!s)
        return;
    while (s->pending) {
        sp_pending *p = s->pending;
        s->pending = p->next;
        pending_free(p);
    }
    s->destroying = 1;
    sp_gql_stop(s); /* frees what is left, calls nothing */
    free(s->graphql_url);
    free(s->route_path);
    free(s->presale_tags);
    free(s);
}

static int sp_backfill(void *self, dg_op op)
{
    return sp_gql_backfill(self, op, 0);
}
static int sp_act(void *self, const dg_store_action *a, dg_op op)
{
    return sp_gql_act(self, a, op);
}

static const dg_config_field sp_schema[] = {
    {"shop_domain", DG_CFG_STRING, DG_CFGF_REQUIRED, NULL, "name.myshopify.com", 0, 0, {0}},
    {"access_token",
     DG_CFG_STRING,
     DG_CFGF_REQUIRED | DG_CFGF_SECRET,
     NULL,
     "Admin API access token (shpat_...)",
     0,
     0,
     {0}},
    {"client_secret",
     DG_CFG_STRING,
     DG_CFGF_REQUIRED | DG_CFGF_SECRET,
     NULL,
     "app client secret: webhook HMAC key",
     0,
     0,
     {0}},
    {"previous_client_secret",
     DG_CFG_STRING,
     DG_CFGF_SECRET,
     NULL,
     "secret before a rotation, accepted until rotation_until",
     0,
     0,
     {0}},
    {"rotation_until", DG_CFG_STRING, 0, NULL, "ISO-8601 end of the rotation period", 0, 0, {0}},
    {"api_version", DG_CFG_STRING, 0, "\"2025-10\"", "Admin API version", 0, 0, {0}},
    {"admin_base",
     DG_CFG_STRING,
     0,
     NULL,
     "API base URL (default https://<shop_domain>)",
     0,
     0,
     {0}},
    {"presale_tags",
     DG_CFG_STRING_LIST,
     0,
     "[\"pre-order\",\"deposit\"]",
     "order tags that mark a pre-sale",
     0,
     0,
     {0}},
    {"presale_note_attribute",
     DG_CFG_STRING,
     0,
     NULL,
     "note attribute that marks a pre-sale",
     0,
     0,
     {0}},
    {"unpaid_close_after_minutes",
     DG_CFG_INT,
     0,
     "1440",
     "store closes pending orders after",
     1,
     525600,
     {0}},
    {"default_timezone",
     DG_CFG_STRING,
     0,
     NULL,
     "IANA zone when the address says nothing",
     0,
     0,
     {0}},
    {"reconcile_interval_s",
     DG_CFG_INT,
     0,
     "900",
     "re-list open orders every (0: never)",
     0,
     604800,
     {0}},
    {"payment_schedules_due", DG_CFG_BOOL, 0, "false", "accept payment_schedules/due", 0, 0, {0}},
    {"page_size",
     DG_CFG_INT,
     0,
     "10",
     "orders per GraphQL page (about 45 cost points each)",
     1,
     250,
     {0}},
    {"refund_on_cancel", DG_CFG_BOOL, 0, "false", "refund payments when cancelling", 0, 0, {0}},
    {"dedupe_ttl_hours",
     DG_CFG_INT,
     0,
     "72",
     "how long webhook/event ids are remembered",
     1,
     8760,
     {0}},
    {NULL, 0, 0, NULL, NULL, 0, 0, {0}}};

static const dg_store_ops sp_ops = {
    .struct_size = sizeof(dg_store_ops),
    .create = sp_create,
    .start = sp_start,
    .stop = sp_stop,
    .destroy = sp_destroy,
    .backfill = sp_backfill,
    .act = sp_act,
    .inbox_process = sp_inbox_process,
};

static const dg_plugin_descriptor sp_desc = {
    .struct_size = sizeof(dg_plugin_descriptor),
    .abi_major = DG_ABI_MAJOR,
    .abi_minor = DG_ABI_MINOR,
    .kind = DG_PLUGIN_STORE,
    .name = "shopify",
    .version = "1.0.0",
    .description = "Shopify orders: signed webhooks, GraphQL backfill, orderCancel",
    .config_schema = sp_schema,
    .store = &sp_ops,
};

DG_PLUGIN_DEFINE(shopify, sp_desc)
