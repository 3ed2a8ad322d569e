/* Admin GraphQL client of the Shopify plugin: calls with cost-based
 * throttling (extensions.cost.throttleStatus, THROTTLED, HTTP 429 +
 * Retry-After) on host timers; backfill/reconcile of open orders with a
 * balance (cursor pagination); acts (re-read an order, orderCancel). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sp.h"

#define SP_MAX_ATTEMPTS 10
#define SP_OPEN_QUERY "financial_status:partially_paid OR financial_status:pending status:open"

#define SP_ORDER_FIELDS                                                                            \
    "fragment DgOrderFields on Order { id legacyResourceId name createdAt updatedAt "              \
    "cancelledAt closedAt displayFinancialStatus test tags email phone customerLocale "            \
    "statusPageUrl currencyCode presentmentCurrencyCode customAttributes { key value } "           \
    "totalOutstandingSet { shopMoney { amount currencyCode } presentmentMoney { amount "           \
    "currencyCode } } currentTotalPriceSet { shopMoney { amount currencyCode } "                   \
    "presentmentMoney { amount currencyCode } } paymentCollectionDetails { "                       \
    "additionalPaymentCollectionUrl } paymentTerms { paymentTermsType dueInDays "                  \
    "paymentSchedules(first: 3) { nodes { issuedAt dueAt completedAt } } } customer { id "         \
    "legacyResourceId firstName lastName email phone numberOfOrders locale defaultAddress { "      \
    "countryCodeV2 provinceCode phone } } billingAddress { firstName lastName phone "              \
    "countryCodeV2 provinceCode } shippingAddress { firstName lastName phone countryCodeV2 "       \
    "provinceCode } lineItems(first: 10) { nodes { title variantTitle sku quantity "               \
    "currentQuantity originalUnitPriceSet { presentmentMoney { amount currencyCode } } } } }"

static const char Q_ORDERS[] =
    "query DgOrders($first: Int!, $after: String, $query: String) { orders(first: $first, "
    "after: $after, query: $query, sortKey: UPDATED_AT) { pageInfo { hasNextPage endCursor } "
    "nodes { ...DgOrderFields } } } " SP_ORDER_FIELDS;
static const char Q_ORDER[] =
    "query DgOrder($id: ID!) { order(id: $id) { ...DgOrderFields } } " SP_ORDER_FIELDS;
static const char Q_CANCEL[] =
    "mutation DgOrderCancel($orderId: ID!, $reason: OrderCancelReason!, $restock: Boolean!, "
    "$notifyCustomer: Boolean, $staffNote: String, $refund: Boolean!) { orderCancel(orderId: "
    "$orderId, reason: $reason, restock: $restock, notifyCustomer: $notifyCustomer, "
    "staffNote: $staffNote, refundMethod: { originalPaymentMethodsRefund: $refund }) { job { "
    "id done } orderCancelUserErrors { field message code } } }";

/* ------------------------------------------------------------ calls */

typedef void (*gql_cb)(sp *s, void *ud, int status, const cJSON *root, const char *msg);

struct sp_gcall {
    sp *s;
    char *body;
    int attempts;
    double cost_hint;
    dg_timer *timer;
    dg_http_call *call;
    gql_cb cb;
    void *ud;
    int mutation;
    sp_gcall *next;
};

static void gcall_send(sp_gcall *g);

static void gcall_finish(sp_gcall *g, int status, const cJSON *root, const char *msg)
{
    sp *s = g->s;
    for (sp_gcall **pp = &s->gcalls; *pp; pp = &(*pp)->next)
        if (*pp == g) {
            *pp = g->next;
            break;
        }
    g->cb(s, g->ud, status, root, msg);
    free(g->body);
    free(g);
    sp_stop_maybe_done(s);
}

static void gcall_fire(void *ud)
{
    sp_gcall *g = ud;
    g->timer = NULL;
    gcall_send(g);
}

static void gcall_retry(sp_gcall *g, int64_t delay_ms, const char *why)
{
    char d[32];
    if (g->s->stopping) {
        gcall_finish(g, DG_ECANCELED, NULL, "stopped");
        return;
    }
    if (++g->attempts >= SP_MAX_ATTEMPTS) {
        gcall_finish(g, DG_ETIMEDOUT, NULL, why);
        return;
    }
    snprintf(d, sizeof d, "%lld", (long long)delay_ms);
    sp_log(g->s, DG_LOG_INFO, "shopify.api_wait", "reason", why, "delay_ms", d);
    sp_count(g->s, "dg_shopify_api_waits_total");
    g->timer = g->s->host->timer_start(g->s->inst, delay_ms, 0, gcall_fire, g);
    if (!g->timer)
        gcall_finish(g, DG_ENOMEM, NULL, "cannot arm a timer");
}

static double bucket_now(sp *s)
{
    double el = (double)(s->host->now_ms(s->inst) - s->thr_seen_at) / 1000.0;
    double v = s->thr_available + el * s->thr_restore;
    return v > s->thr_max ? s->thr_max : v;
}

/* ms to wait until `cost` points are available at the restore rate */
static int64_t wait_for(double need, double restore)
{
    if (need <= 0)
        return 0;
    if (restore <= 0)
        restore = 50;
    return (int64_t)ceil(need / restore * 1000.0);
}

static void on_http(void *ud, const dg_http_response *r);

static void gcall_send(sp_gcall *g)
{
    sp *s = g->s;
    if (s->thr_seen_at && g->cost_hint > 0) {
        double avail = bucket_now(s);
        if (avail < g->cost_hint && g->cost_hint <= s->thr_max) {
            int64_t ms = wait_for(g->cost_hint - avail, s->thr_restore);
            g->timer = s->host->timer_start(s->inst, ms, 0, gcall_fire, g);
            if (g->timer)
                return;
        }
    }
    dg_kv hdr[2] = {{"Content-Type", "application/json", DG_KV_PLAIN},
                    {"X-Shopify-Access-Token", s->access_token, DG_KV_SECRET}};
    dg_http_request req;
    DG_INIT(&req);
    req.method = "POST";
    req.url = s->graphql_url;
    req.headers = hdr;
    req.n_headers = 2;
    req.body = g->body;
    req.body_len = strlen(g->body);
    req.timeout_ms = 15000;
    int rc = s->host->http_request(s->inst, &req, on_http, g, &g->call);
    if (rc != DG_OK)
        gcall_finish(g, rc, NULL, "cannot start the HTTP request");
}

static void note_throttle(sp *s, const cJSON *root, double *requested)
{
    const cJSON *cost = cJSON_GetObjectItem(cJSON_GetObjectItem(root, "extensions"), "cost");
    const cJSON *ts = cJSON_GetObjectItem(cost, "throttleStatus");
    const cJSON *rq = cJSON_GetObjectItem(cost, "requestedQueryCost");
    const cJSON *mx = cJSON_GetObjectItem(ts, "maximumAvailable");
    const cJSON *av = cJSON_GetObjectItem(ts, "currentlyAvailable");
    const cJSON *rr = cJSON_GetObjectItem(ts, "restoreRate");
    if (cJSON_IsNumber(rq) && requested)
        *requested = rq->valuedouble;
    if (cJSON_IsNumber(mx) && cJSON_IsNumber(av) && cJSON_IsNumber(rr)) {
        s->thr_max = mx->valuedouble;
        s->thr_available = av->valuedouble;
        s->thr_restore = rr->valuedouble;
        s->thr_seen_at = s->host->now_ms(s->inst);
        s->host->metric_set(s->inst, "dg_shopify_api_points_available", sp_no_labels, 0,
                            av->valuedouble);
    }
}

static void on_http(void *ud, const dg_http_response *r)
{
    sp_gcall *g = ud;
    sp *s = g->s;
    char msg[200];
    g->call = NULL;
    if (r->transport_error != DG_HTTP_OK) {
        gcall_retry(g, 1000LL << (g->attempts < 6 ? g->attempts : 6), "transport error");
        return;
    }
    if (r->status == 429) {
        int64_t ms = r->retry_after_ms >= 0 ? r->retry_after_ms : 2000;
        gcall_retry(g, ms > 0 ? ms : 1000, "HTTP 429");
        return;
    }
    if (r->status >= 500) {
        gcall_retry(g, 1000LL << (g->attempts < 6 ? g->attempts : 6), "HTTP 5xx");
        return;
    }
    if (r->status == 401 || r->status == 403) {
        s->host->set_health(s->inst, 0, "Shopify refused the access token");
        snprintf(msg, sizeof msg, "Shopify answered HTTP %d (access token or scopes)", r->status);
        gcall_finish(g, DG_ECONFIG, NULL, msg);
        return;
    }
    if (r->status != 200) {
        snprintf(msg, sizeof msg, "Shopify answered HTTP %d", r->status);
        gcall_finish(g, DG_EPROTO, NULL, msg);
        return;
    }
    cJSON *root = sp_json_parse(r->body, r->body_len);
    if (!root) {
        gcall_finish(g, DG_EPROTO, NULL, "GraphQL response is not JSON");
        return;
    }
    double requested = 0;
    note_throttle(s, root, &requested);
    const cJSON *errs = cJSON_GetObjectItem(root, "errors"), *e;
    const char *first = NULL;
    int throttled = 0;
    cJSON_ArrayForEach(e, errs)
    {
        const char *code =
            cJSON_GetStringValue(cJSON_GetObjectItem(cJSON_GetObjectItem(e, "extensions"), "code"));
        if (code && strcmp(code, "THROTTLED") == 0)
            throttled = 1;
        if (!first)
            first = cJSON_GetStringValue(cJSON_GetObjectItem(e, "message"));
    }
    if (throttled) {
        double need = (requested > 0 ? requested : g->cost_hint) - s->thr_available;
        if (requested > 0)
            g->cost_hint = requested;
        int64_t ms = wait_for(need, s->thr_restore);
        cJSON_Delete(root);
        gcall_retry(g, ms > 0 ? ms : 1000, "THROTTLED");
        return;
    }
    if (cJSON_IsString(errs) ||
        (cJSON_GetArraySize(errs) > 0 && !cJSON_IsObject(cJSON_GetObjectItem(root, "data")))) {
        snprintf(msg, sizeof msg, "GraphQL error: %s",
                 first                  ? first
                 : cJSON_IsString(errs) ? errs->valuestring
                                        : "unknown");
        gcall_finish(g, DG_EPROTO, root, msg);
        cJSON_Delete(root);
        return;
    }
    s->host->set_health(s->inst, 1, NULL);
    gcall_finish(g, DG_OK, root, NULL);
    cJSON_Delete(root);
}

static int gql_call(sp *s, const char *query, cJSON *vars, double cost_hint, gql_cb cb, void *ud)
{
    cJSON *o = cJSON_CreateObject();
    sp_gcall *g = calloc(1, sizeof *g);
    if (!o || !g) {
        cJSON_Delete(o);
        cJSON_Delete(vars);
        free(g);
        return DG_ENOMEM;
    }
    cJSON_AddStringToObject(o, "query", query);
    cJSON_AddItemToObject(o, "variables", vars);
    g->body = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    if (!g->body) {
        free(g);
        return DG_ENOMEM;
    }
    g->s = s;
    g->cb = cb;
    g->ud = ud;
    g->cost_hint = cost_hint;
    g->mutation = strncmp(query, "mutation", 8) == 0;
    g->next = s->gcalls;
    s->gcalls = g;
    gcall_send(g);
    return DG_OK;
}

int sp_gql_mutations_in_flight(const sp *s)
{
    int n = 0;
    for (const sp_gcall *o = s->gcalls; o; o = o->next)
        if (o->mutation && o->call)
            n++;
    return n;
}

int sp_gql_stop(sp *s)
{
    for (;;) {
        sp_gcall *g = s->gcalls;
        int kept = 0;
        while (g && g->mutation && g->call && !s->destroying) {
            g = g->next;
            kept++;
        }
        if (!g)
            return kept;
        if (g->call)
            s->host->http_cancel(g->call);
        if (g->timer)
            s->host->timer_stop(g->timer);
        g->call = NULL;
        g->timer = NULL;
        gcall_finish(g, DG_ECANCELED, NULL, "stopped");
    }
}

/* ------------------------------------------------- node -> REST shape */

static void cp(cJSON *dst, const char *dk, const cJSON *src, const char *sk)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(src, sk);
    if (v && !cJSON_IsNull(v))
        cJSON_AddItemToObject(dst, dk, cJSON_Duplicate(v, 1));
}

static cJSON *money_set(const cJSON *set)
{
    cJSON *o = cJSON_CreateObject();
    const char *names[2][2] = {{"shopMoney", "shop_money"},
                               {"presentmentMoney", "presentment_money"}};
    for (int i = 0; i < 2; i++) {
        const cJSON *m = cJSON_GetObjectItem(set, names[i][0]);
        if (!cJSON_IsObject(m))
            continue;
        cJSON *x = cJSON_AddObjectToObject(o, names[i][1]);
        cp(x, "amount", m, "amount");
        cp(x, "currency_code", m, "currencyCode");
    }
    return o;
}

static cJSON *address(const cJSON *a)
{
    cJSON *o = cJSON_CreateObject();
    cp(o, "first_name", a, "firstName");
    cp(o, "last_name", a, "lastName");
    cp(o, "phone", a, "phone");
    cp(o, "country_code", a, "countryCodeV2");
    cp(o, "province_code", a, "provinceCode");
    return o;
}

cJSON *sp_gql_node_to_rest(const cJSON *n)
{
    cJSON *o = cJSON_CreateObject(), *x;
    const cJSON *v, *e;
    char tags[2048] = "";
    if (!o || !cJSON_IsObject(n)) {
        cJSON_Delete(o);
        return NULL;
    }
    v = cJSON_GetObjectItem(n, "legacyResourceId");
    cp(o, "id", n, v && !cJSON_IsNull(v) ? "legacyResourceId" : "id");
    cp(o, "admin_graphql_api_id", n, "id");
    cp(o, "name", n, "name");
    cp(o, "created_at", n, "createdAt");
    cp(o, "updated_at", n, "updatedAt");
    cp(o, "cancelled_at", n, "cancelledAt");
    cp(o, "closed_at", n, "closedAt");
    cp(o, "email", n, "email");
    cp(o, "phone", n, "phone");
    cp(o, "customer_locale", n, "customerLocale");
    cp(o, "order_status_url", n, "statusPageUrl");
    cp(o, "currency", n, "currencyCode");
    cp(o, "presentment_currency", n, "presentmentCurrencyCode");
    const char *fs = cJSON_GetStringValue(cJSON_GetObjectItem(n, "displayFinancialStatus"));
    if (fs) {
        char low[64];
        size_t i = 0;
        for (; fs[i] && i < sizeof low - 1; i++)
            low[i] = (char)(fs[i] >= 'A' && fs[i] <= 'Z' ? fs[i] + 32 : fs[i]);
        low[i] = '\0';
        cJSON_AddStringToObject(o, "financial_status", low);
    }
    cJSON_ArrayForEach(e, cJSON_GetObjectItem(n, "tags"))
    {
        if (cJSON_IsString(e) && strlen(tags) + strlen(e->valuestring) + 3 < sizeof tags) {
            if (tags[0])
                strcat(tags, ", ");
            strcat(tags, e->valuestring);
        }
    }
    cJSON_AddStringToObject(o, "tags", tags);
    x = cJSON_AddArrayToObject(o, "note_attributes");
    cJSON_ArrayForEach(e, cJSON_GetObjectItem(n, "customAttributes"))
    {
        cJSON *a = cJSON_CreateObject();
        cp(a, "name", e, "key");
        cp(a, "value", e, "value");
        cJSON_AddItemToArray(x, a);
    }
    v = cJSON_GetObjectItem(n, "totalOutstandingSet");
    if (cJSON_IsObject(v)) {
        cJSON_AddItemToObject(o, "total_outstanding_set", money_set(v));
        cp(o, "total_outstanding", cJSON_GetObjectItem(v, "shopMoney"), "amount");
    }
    v = cJSON_GetObjectItem(n, "currentTotalPriceSet");
    if (cJSON_IsObject(v)) {
        cJSON_AddItemToObject(o, "current_total_price_set", money_set(v));
        cp(o, "current_total_price", cJSON_GetObjectItem(v, "shopMoney"), "amount");
    }
    v = cJSON_GetObjectItem(n, "paymentCollectionDetails");
    if (cJSON_IsObject(v)) {
        x = cJSON_AddObjectToObject(o, "payment_collection_details");
        cp(x, "additional_payment_collection_url", v, "additionalPaymentCollectionUrl");
    }
    v = cJSON_GetObjectItem(n, "paymentTerms");
    if (cJSON_IsObject(v)) {
        cJSON *pt = cJSON_AddObjectToObject(o, "payment_terms"), *arr;
        cp(pt, "payment_terms_type", v, "paymentTermsType");
        cp(pt, "due_in_days", v, "dueInDays");
        arr = cJSON_AddArrayToObject(pt, "payment_schedules");
        cJSON_ArrayForEach(e,
                           cJSON_GetObjectItem(cJSON_GetObjectItem(v, "paymentSchedules"), "nodes"))
        {
            cJSON *ps = cJSON_CreateObject();
            cp(ps, "issued_at", e, "issuedAt");
            cp(ps, "due_at", e, "dueAt");
            cp(ps, "completed_at", e, "completedAt");
            cJSON_AddItemToArray(arr, ps);
        }
    }
    v = cJSON_GetObjectItem(n, "customer");
    if (cJSON_IsObject(v)) {
        const cJSON *lid = cJSON_GetObjectItem(v, "legacyResourceId");
        x = cJSON_AddObjectToObject(o, "customer");
        cp(x, "id", v, lid && !cJSON_IsNull(lid) ? "legacyResourceId" : "id");
        cp(x, "first_name", v, "firstName");
        cp(x, "last_name", v, "lastName");
        cp(x, "email", v, "email");
        cp(x, "phone", v, "phone");
        cp(x, "locale", v, "locale");
        cp(x, "orders_count", v, "numberOfOrders");
        if (cJSON_IsObject(cJSON_GetObjectItem(v, "defaultAddress")))
            cJSON_AddItemToObject(x, "default_address",
                                  address(cJSON_GetObjectItem(v, "defaultAddress")));
    }
    if (cJSON_IsObject(cJSON_GetObjectItem(n, "billingAddress")))
        cJSON_AddItemToObject(o, "billing_address",
                              address(cJSON_GetObjectItem(n, "billingAddress")));
    if (cJSON_IsObject(cJSON_GetObjectItem(n, "shippingAddress")))
        cJSON_AddItemToObject(o, "shipping_address",
                              address(cJSON_GetObjectItem(n, "shippingAddress")));
    x = cJSON_AddArrayToObject(o, "line_items");
    cJSON_ArrayForEach(e, cJSON_GetObjectItem(cJSON_GetObjectItem(n, "lineItems"), "nodes"))
    {
        cJSON *li = cJSON_CreateObject();
        cp(li, "title", e, "title");
        cp(li, "variant_title", e, "variantTitle");
        cp(li, "sku", e, "sku");
        cp(li, "quantity", e, "quantity");
        cp(li, "current_quantity", e, "currentQuantity");
        v = cJSON_GetObjectItem(e, "originalUnitPriceSet");
        if (cJSON_IsObject(v))
            cJSON_AddItemToObject(li, "price_set", money_set(v));
        cJSON_AddItemToArray(x, li);
    }
    return o;
}

/* ------------------------------------------------ backfill/reconcile */

struct sp_job {
    sp *s;
    dg_op op;
    int has_op, reconcile;
    char *cursor;
    int pages, emitted, skipped, failed;
    double page_cost;
    sp_job *next;
};

static int64_t last_seen(sp *s, const char *order_id)
{
    char key[96], *v = NULL;
    int64_t t = 0;
    snprintf(key, sizeof key, "upd:%s", order_id);
    if (s->host->state_get(s->inst, key, &v, NULL) == DG_OK && v) {
        t = strtoll(v, NULL, 10);
        s->host->free(v);
    }
    return t;
}

/* Map and emit one GraphQL order node. 1 emitted, 0 skipped, <0 error. */
static int emit_node(sp *s, const cJSON *node, int only_newer)
{
    char err[160];
    sp_event e;
    cJSON *rest = sp_gql_node_to_rest(node);
    int rc;
    if (!rest)
        return DG_EINVAL;
    rc = sp_map_order(rest, NULL, &s->map, &e, err, sizeof err);
    cJSON_Delete(rest);
    if (rc == DG_OK && only_newer && e.ev.updated_at &&
        e.ev.updated_at <= last_seen(s, e.ev.order_id)) {
        sp_event_free(&e);
        return 0;
    }
    if (rc == DG_OK) {
        rc = s->host->emit_order(s->inst, &e.ev, NULL, NULL);
        if (rc == DG_OK || rc == DG_EEXIST || rc == DG_PENDING) {
            sp_mark_seen(s, e.ev.order_id, e.ev.updated_at);
            rc = 1;
        }
    }
    sp_event_free(&e);
    return rc;
}

static void job_page(sp_job *j);

static void job_finish(sp_job *j, int status, const char *msg)
{
    sp *s = j->s;
    char n[32], f[32];
    for (sp_job **pp = &s->jobs; *pp; pp = &(*pp)->next)
        if (*pp == j) {
            *pp = j->next;
            break;
        }
    if (s->destroying) {
        free(j->cursor);
        free(j);
        return;
    }
    snprintf(n, sizeof n, "%d", j->emitted);
    snprintf(f, sizeof f, "%d", j->failed);
    sp_log(s, status == DG_OK ? DG_LOG_INFO : DG_LOG_WARN,
           j->reconcile ? "shopify.reconcile_done" : "shopify.backfill_done", "emitted", n,
           "failed", f);
    if (j->has_op) {
        dg_result r;
        DG_INIT(&r);
        r.status = status;
        if (status != DG_OK) {
            r.error_class = status == DG_ECONFIG ? DG_ERRC_CONFIG : DG_ERRC_RETRYABLE;
            r.error_message = msg ? msg : "backfill failed";
        }
        s->host->complete(s->inst, j->op, &r);
    }
    free(j->cursor);
    free(j);
}

static void job_on_page(sp *s, void *ud, int status, const cJSON *root, const char *msg)
{
    sp_job *j = ud;
    (void)s;
    if (status != DG_OK) {
        job_finish(j, status, msg);
        return;
    }
    const cJSON *orders = cJSON_GetObjectItem(cJSON_GetObjectItem(root, "data"), "orders"), *n;
    const cJSON *pi = cJSON_GetObjectItem(orders, "pageInfo");
    const cJSON *cost = cJSON_GetObjectItem(cJSON_GetObjectItem(root, "extensions"), "cost");
    const cJSON *rq = cJSON_GetObjectItem(cost, "requestedQueryCost");
    if (!cJSON_IsObject(orders)) {
        job_finish(j, DG_EPROTO, "GraphQL answer without data.orders");
        return;
    }
    if (cJSON_IsNumber(rq))
        j->page_cost = rq->valuedouble;
    j->pages++;
    cJSON_ArrayForEach(n, cJSON_GetObjectItem(orders, "nodes"))
    {
        int rc = emit_node(j->s, n, j->reconcile);
        if (rc > 0)
            j->emitted++;
        else if (rc == 0)
            j->skipped++;
        else
            j->failed++;
    }
    const char *end = cJSON_GetStringValue(cJSON_GetObjectItem(pi, "endCursor"));
    if (cJSON_IsTrue(cJSON_GetObjectItem(pi, "hasNextPage")) && end && end[0]) {
        free(j->cursor);
        j->cursor = strdup(end);
        job_page(j);
        return;
    }
    job_finish(j, j->failed ? DG_EIO : DG_OK, j->failed ? "some orders could not be stored" : NULL);
}

static void job_page(sp_job *j)
{
    cJSON *v = cJSON_CreateObject();
    if (!v) {
        job_finish(j, DG_ENOMEM, "out of memory");
        return;
    }
    cJSON_AddNumberToObject(v, "first", j->s->page_size);
    if (j->cursor)
        cJSON_AddStringToObject(v, "after", j->cursor);
    else
        cJSON_AddNullToObject(v, "after");
    cJSON_AddStringToObject(v, "query", SP_OPEN_QUERY);
    if (gql_call(j->s, Q_ORDERS, v, j->page_cost, job_on_page, j) != DG_OK)
        job_finish(j, DG_ENOMEM, "out of memory");
}

int sp_gql_backfill(sp *s, dg_op op, int reconcile)
{
    sp_job *j;
    if (s->stopping)
        return DG_ESTATE;
    if (reconcile)
        for (j = s->jobs; j; j = j->next)
            if (j->reconcile)
                return DG_PENDING; /* one reconcile pass at a time */
    j = calloc(1, sizeof *j);
    if (!j)
        return DG_ENOMEM;
    j->s = s;
    j->op = op;
    j->has_op = !reconcile;
    j->reconcile = reconcile;
    j->next = s->jobs;
    s->jobs = j;
    job_page(j);
    return DG_PENDING;
}

/* ------------------------------------------------------------- acts */

typedef struct act_ctx {
    dg_op op;
    dg_store_action_kind kind;
} act_ctx;

static void act_complete(sp *s, act_ctx *c, int status, dg_error_class cls, const char *code,
                         const char *msg, const char *provider_id)
{
    dg_result r;
    if (s->destroying) {
        free(c);
        return;
    }
    DG_INIT(&r);
    r.status = status;
    r.error_class = status == DG_OK ? DG_ERRC_NONE : cls;
    r.error_code = code;
    r.error_message = msg;
    r.provider_id = provider_id;
    s->host->complete(s->inst, c->op, &r);
    free(c);
}

static dg_error_class class_of(int status)
{
    return status == DG_ECONFIG  ? DG_ERRC_CONFIG
           : status == DG_EPROTO ? DG_ERRC_PERMANENT
                                 : DG_ERRC_RETRYABLE;
}

static void on_reread(sp *s, void *ud, int status, const cJSON *root, const char *msg)
{
    act_ctx *c = ud;
    if (status != DG_OK) {
        act_complete(s, c, status, class_of(status), NULL, msg, NULL);
        return;
    }
    const cJSON *node = cJSON_GetObjectItem(cJSON_GetObjectItem(root, "data"), "order");
    if (!cJSON_IsObject(node)) {
        act_complete(s, c, DG_ENOTFOUND, DG_ERRC_PERMANENT, NULL, "no such order in the store",
                     NULL);
        return;
    }
    int rc = emit_node(s, node, 0);
    if (rc > 0)
        act_complete(s, c, DG_OK, DG_ERRC_NONE, NULL, NULL, NULL);
    else
        act_complete(s, c, rc < 0 ? rc : DG_EIO, DG_ERRC_RETRYABLE, NULL,
                     "the order could not be stored", NULL);
}

static void on_cancel(sp *s, void *ud, int status, const cJSON *root, const char *msg)
{
    act_ctx *c = ud;
    char buf[256] = "", code[64] = "";
    if (status != DG_OK) {
        act_complete(s, c, status, class_of(status), NULL, msg, NULL);
        return;
    }
    const cJSON *oc = cJSON_GetObjectItem(cJSON_GetObjectItem(root, "data"), "orderCancel"), *e;
    if (!cJSON_IsObject(oc)) {
        act_complete(s, c, DG_EPROTO, DG_ERRC_PERMANENT, NULL, "orderCancel returned nothing",
                     NULL);
        return;
    }
    size_t used = 0;
    cJSON_ArrayForEach(e, cJSON_GetObjectItem(oc, "orderCancelUserErrors"))
    {
        const char *m = cJSON_GetStringValue(cJSON_GetObjectItem(e, "message"));
        const char *cd = cJSON_GetStringValue(cJSON_GetObjectItem(e, "code"));
        if (!code[0] && cd)
            snprintf(code, sizeof code, "%s", cd);
        if (used < sizeof buf - 1) {
            int w = snprintf(buf + used, sizeof buf - used, "%s%s", used ? "; " : "",
                             m ? m : "user error");
            used += w > 0 ? (size_t)w : 0;
        }
    }
    if (buf[0]) {
        sp_log(s, DG_LOG_WARN, "shopify.cancel_refused", "code", code, "message", buf);
        act_complete(s, c, DG_EPROTO, DG_ERRC_PERMANENT, code[0] ? code : NULL, buf, NULL);
        return;
    }
    const char *job =
        cJSON_GetStringValue(cJSON_GetObjectItem(cJSON_GetObjectItem(oc, "job"), "id"));
    act_complete(s, c, DG_OK, DG_ERRC_NONE, NULL, NULL, job);
}

static const char *cancel_reason(const char *r)
{
    static const char *const ok[] = {"CUSTOMER", "DECLINED", "FRAUD", "INVENTORY",
                                     "OTHER",    "STAFF",    NULL};
    for (int i = 0; r && ok[i]; i++)
        if (sp_ieq(r, ok[i]))
            return ok[i];
    return "OTHER";
}

int sp_gql_act(sp *s, const dg_store_action *a, dg_op op)
{
    char gid[96];
    act_ctx *c;
    cJSON *v;
    int rc;
    if (!a || !a->order_id || !a->order_id[0])
        return DG_EINVAL;
    if (s->stopping)
        return DG_ESTATE;
    if (a->kind != DG_ACT_CANCEL_ORDER && a->kind != DG_ACT_REREAD_ORDER)
        return DG_ENOTSUP;
    if (strncmp(a->order_id, "gid://", 6) == 0)
        snprintf(gid, sizeof gid, "%s", a->order_id);
    else
        snprintf(gid, sizeof gid, "gid://shopify/Order/%s", a->order_id);
    c = calloc(1, sizeof *c);
    v = cJSON_CreateObject();
    if (!c || !v) {
        free(c);
        cJSON_Delete(v);
        return DG_ENOMEM;
    }
    c->op = op;
    c->kind = a->kind;
    if (a->kind == DG_ACT_REREAD_ORDER) {
        cJSON_AddStringToObject(v, "id", gid);
        rc = gql_call(s, Q_ORDER, v, 0, on_reread, c);
    } else {
        cJSON_AddStringToObject(v, "orderId", gid);
        cJSON_AddStringToObject(v, "reason", cancel_reason(a->reason));
        cJSON_AddBoolToObject(v, "restock", a->restock != 0);
        cJSON_AddBoolToObject(v, "notifyCustomer", a->notify_customer != 0);
        if (a->staff_note)
            cJSON_AddStringToObject(v, "staffNote", a->staff_note);
        else
            cJSON_AddNullToObject(v, "staffNote");
        cJSON_AddBoolToObject(v, "refund", s->refund_on_cancel != 0);
        rc = gql_call(s, Q_CANCEL, v, 10, on_cancel, c);
    }
    if (rc != DG_OK) {
        free(c);
        return rc;
    }
    return DG_PENDING;
}
