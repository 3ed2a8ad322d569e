/* The simulator's Shopify persona alone (signed deliveries, retry schedule,
 * GraphQL filter/pagination/throttle/orderCancel) and in a closed loop with
 * the Shopify plugin through the fake host. */
#include "../unit/cm.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../plugins/shopify/sp.h"
#include "../../sim/shopify_sim.h"
#include "clock.h"
#include "crypto.h"
#include "fakehost.h"
#include "shopify_t.h"

#define TOKEN "shpat_test_token"

static int64_t g_now;
static int64_t now_static(void *ud)
{
    (void)ud;
    return g_now;
}
static int64_t now_fh(void *ud)
{
    return fh_now(ud);
}

static dg_shopsim *sim_new(double max, double restore, dg_shopsim_now_fn now, void *ud)
{
    dg_shopsim_config c = {SHOP, SECRET, TOKEN, "2025-10", max, restore, 0, 42, now, ud};
    dg_shopsim *s = dg_shopsim_new(&c);
    assert_non_null(s);
    return s;
}

static void add_small(dg_shopsim *s, const char *id, const char *status, const char *extra)
{
    char b[1024];
    const char *cancelled =
        extra && strstr(extra, "cancelled") ? "\"2026-03-01T11:00:00Z\"" : "null";
    const char *closed = extra && strstr(extra, "closed") ? "\"2026-03-01T11:00:00Z\"" : "null";
    snprintf(b, sizeof b,
             "{\"id\":%s,\"name\":\"#%.4s\",\"financial_status\":\"%s\",\"currency\":\"USD\","
             "\"total_price\":\"50.00\",\"total_outstanding\":\"%s\",\"created_at\":"
             "\"2026-03-01T10:00:00Z\",\"updated_at\":\"2026-03-01T10:00:00Z\",\"cancelled_at\":"
             "%s,\"closed_at\":%s,\"tags\":\"pre-order\",\"customer\":{\"id\":"
             "115310627314723954,\"first_name\":\"Bo\",\"orders_count\":1},\"line_items\":[{"
             "\"title\":\"Mug\",\"quantity\":2,\"price\":\"25.00\"}]}",
             id, id, status, strcmp(status, "paid") == 0 ? "0.00" : "25.00", cancelled, closed);
    assert_int_equal(dg_shopsim_add_order(s, b, strlen(b), 0), 0);
}

static const char *hdr(const dg_shopsim_delivery *d, const char *name)
{
    for (size_t i = 0; d->headers[i]; i += 2)
        if (strcmp(d->headers[i], name) == 0)
            return d->headers[i + 1];
    return NULL;
}

static cJSON *gql(dg_shopsim *s, const char *body, int *status)
{
    dg_shopsim_reply r;
    dg_shopsim_graphql(s, TOKEN, body, strlen(body), &r);
    *status = r.status;
    cJSON *o = cJSON_Parse(r.body);
    free(r.body);
    assert_non_null(o);
    return o;
}

static const char *err_code(const cJSON *r)
{
    return cJSON_GetStringValue(cJSON_GetObjectItem(
        cJSON_GetObjectItem(cJSON_GetArrayItem(cJSON_GetObjectItem(r, "errors"), 0), "extensions"),
        "code"));
}

/* ----------------------------------------------------------- the sim */

static void test_signed_delivery(void **state)
{
    (void)state;
    char *body = load("order_presale.json"), b64[64];
    unsigned char mac[32];
    g_now = 1772442000000; /* 2026-03-02T09:00:00Z */
    dg_shopsim *s = sim_new(0, 0, now_static, NULL);
    assert_int_equal(dg_shopsim_add_order(s, body, strlen(body), 1), 0);
    assert_int_equal(dg_shopsim_add_order(s, body, strlen(body), 1), -1); /* same id */
    const dg_shopsim_delivery *d = dg_shopsim_next_due(s);
    assert_non_null(d);
    assert_string_equal(d->topic, "orders/create");
    assert_string_equal(hdr(d, "X-Shopify-Topic"), "orders/create");
    assert_string_equal(hdr(d, "X-Shopify-Shop-Domain"), SHOP);
    assert_string_equal(hdr(d, "X-Shopify-API-Version"), "2025-10");
    assert_int_equal(strlen(hdr(d, "X-Shopify-Webhook-Id")), 36);
    assert_int_equal(strlen(hdr(d, "X-Shopify-Event-Id")), 36);
    assert_string_equal(hdr(d, "X-Shopify-Triggered-At"), "2026-03-02T09:00:00.000000000Z");
    dg_hmac(DG_HMAC_SHA256, SECRET, strlen(SECRET), d->body, d->body_len, mac, 32);
    dg_base64_encode(mac, 32, b64, sizeof b64);
    assert_string_equal(hdr(d, "X-Shopify-Hmac-Sha256"), b64);
    /* ids leave as exact bare integers */
    assert_non_null(strstr(d->body, "\"id\":820982911946154508,"));
    assert_non_null(strstr(d->body, "\"id\":115310627314723954,"));
    assert_int_equal(dg_shopsim_pay(s, "820982911946154508"), 0);
    assert_int_equal(dg_shopsim_queued(s), 3);
    char *now = dg_shopsim_order_json(s, "820982911946154508");
    assert_non_null(strstr(now, "\"financial_status\":\"paid\""));
    assert_non_null(strstr(now, "\"total_outstanding\":\"0.00\""));
    free(now);
    free(body);
    dg_shopsim_free(s);
}

static void test_retry_schedule(void **state)
{
    (void)state;
    g_now = 1772442000000;
    int64_t start = g_now, total = 0;
    dg_shopsim *s = sim_new(0, 0, now_static, NULL);
    add_small(s, "1001", "pending", NULL);
    assert_int_equal(dg_shopsim_delete(s, "1001"), 0);
    const dg_shopsim_delivery *d = dg_shopsim_next_due(s);
    assert_string_equal(d->topic, "orders/delete");
    assert_string_equal(d->body, "{\"id\":1001}");
    uint64_t id = d->id;
    char whid[40];
    snprintf(whid, sizeof whid, "%s", hdr(d, "X-Shopify-Webhook-Id"));
    for (int attempt = 1; attempt <= 9; attempt++) {
        d = dg_shopsim_next_due(s);
        assert_non_null(d);
        assert_int_equal(d->attempt, attempt);
        assert_string_equal(hdr(d, "X-Shopify-Webhook-Id"), whid); /* stable across retries */
        dg_shopsim_delivered(s, id, attempt % 2 ? 503 : 0);
        if (attempt <= 8) {
            int64_t delay = dg_shopsim_retry_delay(attempt);
            total += delay;
            g_now += delay - 1;
            assert_null(dg_shopsim_next_due(s));
            g_now += 1;
        }
    }
    assert_int_equal(total, 4 * 3600 * 1000); /* 8 retries over 4 hours */
    assert_int_equal(g_now - start, total);
    assert_int_equal(dg_shopsim_queued(s), 0);
    assert_int_equal(dg_shopsim_dropped(s), 1);
    assert_int_equal(dg_shopsim_retry_delay(9), -1);
    dg_shopsim_free(s);
}

#define Q_PAGE(after)                                                                              \
    "{\"query\":\"query DgOrders($first: Int!) { ... }\",\"variables\":{\"first\":2,"              \
    "\"after\":" after ",\"query\":\"financial_status:partially_paid OR "                          \
    "financial_status:pending status:open\"}}"

static void test_graphql_filter_pages(void **state)
{
    (void)state;
    int st;
    char body[512];
    g_now = 1772442000000;
    dg_shopsim *s = sim_new(0, 0, now_static, NULL);
    add_small(s, "1001", "partially_paid", NULL);
    add_small(s, "1002", "paid", NULL);
    add_small(s, "1003", "pending", NULL);
    add_small(s, "1004", "pending", "cancelled closed");
    add_small(s, "1005", "partially_paid", "closed");
    add_small(s, "1006", "pending", NULL);
    /* partially_paid OR (pending AND open): 1001, 1003, 1005, 1006 */
    const char *want[] = {"1001", "1003", "1005", "1006"};
    size_t k = 0;
    char after[80] = "null";
    for (int pg = 0; pg < 2; pg++) {
        snprintf(body, sizeof body,
                 "{\"query\":\"query DgOrders($first: Int!) { x }\",\"variables\":{\"first\":2,"
                 "\"after\":%s,\"query\":\"financial_status:partially_paid OR "
                 "financial_status:pending status:open\"}}",
                 after);
        cJSON *r = gql(s, body, &st);
        assert_int_equal(st, 200);
        const cJSON *o = cJSON_GetObjectItem(cJSON_GetObjectItem(r, "data"), "orders"), *n;
        cJSON_ArrayForEach(n, cJSON_GetObjectItem(o, "nodes"))
            assert_string_equal(cJSON_GetObjectItem(n, "legacyResourceId")->valuestring, want[k++]);
        const cJSON *pi = cJSON_GetObjectItem(o, "pageInfo");
        assert_int_equal(cJSON_IsTrue(cJSON_GetObjectItem(pi, "hasNextPage")), pg == 0);
        snprintf(after, sizeof after, "\"%s\"", cJSON_GetObjectItem(pi, "endCursor")->valuestring);
        const cJSON *cost = cJSON_GetObjectItem(cJSON_GetObjectItem(r, "extensions"), "cost");
        assert_int_equal(cJSON_GetObjectItem(cost, "requestedQueryCost")->valuedouble, 92);
        cJSON_Delete(r);
    }
    assert_int_equal(k, 4);
    /* a node in the plugin's shape */
    cJSON *r = gql(s,
                   "{\"query\":\"query DgOrder($id: ID!) { }\",\"variables\":{\"id\":"
                   "\"gid://shopify/Order/1001\"}}",
                   &st);
    const cJSON *n = cJSON_GetObjectItem(cJSON_GetObjectItem(r, "data"), "order");
    assert_string_equal(cJSON_GetObjectItem(n, "displayFinancialStatus")->valuestring,
                        "PARTIALLY_PAID");
    assert_string_equal(
        cJSON_GetObjectItem(cJSON_GetObjectItem(n, "customer"), "legacyResourceId")->valuestring,
        "115310627314723954");
    assert_string_equal(
        cJSON_GetObjectItem(cJSON_GetObjectItem(n, "customer"), "numberOfOrders")->valuestring,
        "1");
    cJSON_Delete(r);
    r = gql(s, Q_PAGE("\"bm90LWEtY3Vyc29y\""), &st);
    assert_string_equal(err_code(r), "BAD_REQUEST");
    cJSON_Delete(r);
    dg_shopsim_reply rep;
    dg_shopsim_graphql(s, "shpat_wrong", "{}", 2, &rep);
    assert_int_equal(rep.status, 401);
    free(rep.body);
    dg_shopsim_free(s);
}

static void test_throttle(void **state)
{
    (void)state;
    int st;
    g_now = 1772442000000;
    dg_shopsim *s = sim_new(200, 10, now_static, NULL);
    for (int i = 0; i < 6; i++) {
        char id[8];
        snprintf(id, sizeof id, "%d", 2001 + i);
        add_small(s, id, "pending", NULL);
    }
    cJSON *r = gql(s, Q_PAGE("null"), &st); /* 92 requested, 92 actual: 108 left */
    assert_null(cJSON_GetObjectItem(r, "errors"));
    cJSON_Delete(r);
    r = gql(s, Q_PAGE("null"), &st); /* 16 left */
    assert_null(cJSON_GetObjectItem(r, "errors"));
    cJSON_Delete(r);
    r = gql(s, Q_PAGE("null"), &st);
    assert_int_equal(st, 200);
    assert_string_equal(err_code(r), "THROTTLED");
    const cJSON *c = cJSON_GetObjectItem(cJSON_GetObjectItem(r, "extensions"), "cost");
    assert_true(cJSON_IsNull(cJSON_GetObjectItem(c, "actualQueryCost")));
    assert_int_equal(
        cJSON_GetObjectItem(cJSON_GetObjectItem(c, "throttleStatus"), "currentlyAvailable")
            ->valuedouble,
        16);
    cJSON_Delete(r);
    g_now += 7600; /* 16 + 76 = 92 */
    r = gql(s, Q_PAGE("null"), &st);
    assert_null(cJSON_GetObjectItem(r, "errors"));
    cJSON_Delete(r);
    /* a page that can never fit */
    r = gql(s, "{\"query\":\"query DgOrders\",\"variables\":{\"first\":10}}", &st);
    assert_string_equal(err_code(r), "MAX_COST_EXCEEDED");
    cJSON_Delete(r);
    dg_shopsim_fail_next(s, 429, 2000);
    dg_shopsim_reply rep;
    dg_shopsim_graphql(s, TOKEN, "{}", 2, &rep);
    assert_int_equal(rep.status, 429);
    assert_int_equal(rep.retry_after_ms, 2000);
    free(rep.body);
    dg_shopsim_free(s);
}

static void test_order_cancel(void **state)
{
    (void)state;
    int st;
    g_now = 1772442000000;
    dg_shopsim *s = sim_new(0, 0, now_static, NULL);
    add_small(s, "1001", "pending", NULL);
#define QC                                                                                         \
    "{\"query\":\"mutation DgOrderCancel { }\",\"variables\":{\"orderId\":"                        \
    "\"gid://shopify/Order/%s\",\"reason\":\"CUSTOMER\",\"restock\":true,"                         \
    "\"notifyCustomer\":false,\"staffNote\":null,\"refund\":false}}"
    char body[512];
    snprintf(body, sizeof body, QC, "9999");
    cJSON *r = gql(s, body, &st);
    const cJSON *oc = cJSON_GetObjectItem(cJSON_GetObjectItem(r, "data"), "orderCancel");
    const cJSON *ue = cJSON_GetArrayItem(cJSON_GetObjectItem(oc, "orderCancelUserErrors"), 0);
    assert_string_equal(cJSON_GetObjectItem(ue, "code")->valuestring, "NOT_FOUND");
    cJSON_Delete(r);
    snprintf(body, sizeof body, QC, "1001");
    r = gql(s, body, &st);
    oc = cJSON_GetObjectItem(cJSON_GetObjectItem(r, "data"), "orderCancel");
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(oc, "orderCancelUserErrors")), 0);
    assert_non_null(strstr(cJSON_GetObjectItem(cJSON_GetObjectItem(oc, "job"), "id")->valuestring,
                           "gid://shopify/Job/"));
    cJSON_Delete(r);
    const dg_shopsim_delivery *d = dg_shopsim_next_due(s);
    assert_string_equal(d->topic, "orders/cancelled");
    assert_non_null(strstr(d->body, "\"cancel_reason\":\"customer\""));
    assert_non_null(strstr(d->body, "\"financial_status\":\"voided\""));
    r = gql(s, body, &st);
    oc = cJSON_GetObjectItem(cJSON_GetObjectItem(r, "data"), "orderCancel");
    ue = cJSON_GetArrayItem(cJSON_GetObjectItem(oc, "orderCancelUserErrors"), 0);
    assert_string_equal(cJSON_GetObjectItem(ue, "message")->valuestring,
                        "Order has already been cancelled");
    cJSON_Delete(r);
    dg_shopsim_free(s);
}

/* ------------------------------------------------------ closed loop */

/* Answer every GraphQL call of the plugin with the simulator, letting the
 * clock run while the plugin waits (throttle). Returns the calls answered. */
static int pump(fh *h, dg_shopsim *s, size_t *next)
{
    int answered = 0;
    for (int guard = 0; guard < 100000; guard++) {
        if (*next < fh_n_outbound(h)) {
            fh_outbound *o = fh_outbound_at(h, *next);
            if (!o->answered && !o->canceled) {
                dg_shopsim_reply r;
                const cJSON *tok = cJSON_GetObjectItem(o->headers, "X-Shopify-Access-Token");
                dg_shopsim_graphql(s, cJSON_GetStringValue(tok), o->body, o->body_len, &r);
                assert_int_equal(fh_reply(h, *next, r.status, NULL, r.body, DG_HTTP_OK,
                                          r.retry_after_ms > 0 ? r.retry_after_ms : -1),
                                 0);
                free(r.body);
                answered++;
            }
            (*next)++;
            continue;
        }
        if (!fh_timers_armed(h))
            break;
        fh_advance(h, 100);
    }
    return answered;
}

/* Deliver what the simulator has due to the plugin's endpoint. */
static int deliver_due(fh *h, dg_shopsim *s, int *last_status)
{
    const dg_shopsim_delivery *d;
    int n = 0;
    while ((d = dg_shopsim_next_due(s))) {
        fh_response r;
        uint64_t id = d->id;
        int rc = fh_request(h, "POST", "/webhooks/shopify/shop", NULL, d->headers, d->body,
                            d->body_len, &r);
        *last_status = rc == 0 ? r.status : 0;
        dg_shopsim_delivered(s, id, *last_status);
        n++;
        if (*last_status != 200)
            break;
    }
    return n;
}

static const cJSON *last_order(fh *h)
{
    return fh_order(h, fh_n_orders(h) - 1);
}

static void test_closed_loop(void **state)
{
    (void)state;
    const dg_plugin_descriptor *d = shopify_LTX_dg_plugin_query();
    fh *h = fh_new("shop", "{\"shop_domain\":\"" SHOP "\",\"access_token\":\"" TOKEN "\","
                           "\"client_secret\":\"" SECRET "\",\"reconcile_interval_s\":0,"
                           "\"admin_base\":\"http://127.0.0.1:8089\",\"page_size\":3}");
    void *self = NULL;
    char err[256];
    size_t next = 0;
    int st = 0;
    assert_int_equal(fh_create_start(h, d, &self, err, sizeof err), 0);
    /* a bucket of 300 points restoring 20/s: pages of 3 (137 points) must wait */
    dg_shopsim *s = sim_new(300, 20, now_fh, h);
    char *presale = load("order_presale.json"), *jpy = load("order_unpaid_jpy.json");
    assert_int_equal(dg_shopsim_add_order(s, presale, strlen(presale), 0), 0);
    assert_int_equal(dg_shopsim_add_order(s, jpy, strlen(jpy), 0), 0);
    for (int i = 0; i < 7; i++) {
        char id[8];
        snprintf(id, sizeof id, "%d", 3001 + i);
        add_small(s, id, i == 3 ? "paid" : "partially_paid", NULL);
    }
    /* backfill: 8 open orders with a balance in pages of 3, throttled */
    dg_op op = fh_new_op(h);
    int64_t t0 = fh_now(h);
    assert_int_equal(d->store->backfill(self, op), DG_PENDING);
    assert_true(pump(h, s, &next) >= 3);
    assert_int_equal(fh_completion_for(h, op)->status, DG_OK);
    assert_int_equal(fh_n_orders(h), 8);
    /* two pages of 137 points leave 26: the third waits (137 - 26) / 20 = 5.55 s */
    assert_true(fh_now(h) - t0 >= 5550);
    const cJSON *o = fh_order(h, 0);
    assert_string_equal(cJSON_GetObjectItem(o, "order_id")->valuestring, "820982911946154508");
    assert_int_equal(cJSON_GetObjectItem(o, "amount_owed_minor")->valuedouble, 117018);
    assert_int_equal(cJSON_GetObjectItem(o, "flow")->valuedouble, DG_FLOW_PRESALE_BALANCE);
    o = fh_order(h, 1);
    assert_string_equal(cJSON_GetObjectItem(o, "order_id")->valuestring, "450789469123456789");
    assert_int_equal(cJSON_GetObjectItem(o, "amount_owed_minor")->valuedouble, 1662250);
    assert_int_equal(cJSON_GetObjectItem(o, "flow")->valuedouble, DG_FLOW_UNPAID_ORDER);

    /* the pre-sale customer pays: orders/updated then orders/paid reach the plugin */
    assert_int_equal(dg_shopsim_pay(s, "820982911946154508"), 0);
    assert_int_equal(deliver_due(h, s, &st), 2);
    assert_int_equal(st, 200);
    assert_int_equal(cJSON_GetObjectItem(last_order(h), "kind")->valuedouble, DG_ORDER_PAID);
    assert_int_equal(cJSON_GetObjectItem(last_order(h), "amount_owed_minor")->valuedouble, 0);
    assert_int_equal(dg_shopsim_queued(s), 0);

    /* the unpaid order expires: the plugin cancels it in the store */
    dg_store_action a;
    DG_INIT(&a);
    a.kind = DG_ACT_CANCEL_ORDER;
    a.order_id = "450789469123456789";
    a.reason = "other";
    a.restock = 1;
    op = fh_new_op(h);
    assert_int_equal(d->store->act(self, &a, op), DG_PENDING);
    pump(h, s, &next);
    assert_int_equal(fh_completion_for(h, op)->status, DG_OK);
    /* the store's webhook fails once (storage down): Shopify retries a minute later */
    size_t before = fh_n_orders(h);
    fh_set_emit_result(h, DG_EIO);
    assert_int_equal(deliver_due(h, s, &st), 1);
    assert_int_equal(st, 503);
    fh_set_emit_result(h, DG_OK);
    assert_int_equal(deliver_due(h, s, &st), 1); /* orders/updated goes through */
    assert_int_equal(st, 200);
    assert_null(dg_shopsim_next_due(s));
    fh_advance(h, dg_shopsim_retry_delay(1));
    assert_int_equal(deliver_due(h, s, &st), 1); /* the retried orders/cancelled */
    assert_int_equal(st, 200);
    assert_int_equal(dg_shopsim_queued(s), 0);
    assert_int_equal(fh_n_orders(h), before + 3); /* failed try + updated + cancelled */
    assert_int_equal(cJSON_GetObjectItem(last_order(h), "kind")->valuedouble, DG_ORDER_CANCELLED);
    assert_int_equal(strncmp(cJSON_GetObjectItem(last_order(h), "dedupe_key")->valuestring,
                             "orders/cancelled:", 17),
                     0);
    /* cancelling again: the store's user error reaches the operator */
    op = fh_new_op(h);
    assert_int_equal(d->store->act(self, &a, op), DG_PENDING);
    pump(h, s, &next);
    assert_string_equal(fh_completion_for(h, op)->error_message,
                        "Order has already been cancelled");

    /* "I paid": re-read the order from the store */
    a.kind = DG_ACT_REREAD_ORDER;
    a.order_id = "820982911946154508";
    op = fh_new_op(h);
    assert_int_equal(d->store->act(self, &a, op), DG_PENDING);
    pump(h, s, &next);
    assert_int_equal(fh_completion_for(h, op)->status, DG_OK);
    assert_int_equal(cJSON_GetObjectItem(last_order(h), "kind")->valuedouble, DG_ORDER_PAID);

    /* a 429 from the store is waited out */
    dg_shopsim_fail_next(s, 429, 1500);
    op = fh_new_op(h);
    int64_t t1 = fh_now(h);
    assert_int_equal(d->store->act(self, &a, op), DG_PENDING);
    pump(h, s, &next);
    assert_int_equal(fh_completion_for(h, op)->status, DG_OK);
    assert_true(fh_now(h) - t1 >= 1500);

    assert_int_equal(fh_stop_destroy(h, d, self, 0), 0);
    assert_int_equal(fh_double_completions(h), 0);
    free(presale);
    free(jpy);
    dg_shopsim_free(s);
    fh_free(h);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_signed_delivery),      cmocka_unit_test(test_retry_schedule),
        cmocka_unit_test(test_graphql_filter_pages), cmocka_unit_test(test_throttle),
        cmocka_unit_test(test_order_cancel),         cmocka_unit_test(test_closed_loop),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
