/* The Shopify store plugin through the fake host: signed webhooks (HMAC,
 * rotation, dedupe, stale retries), the order mapping on realistic payloads,
 * the parsing helpers, and the Admin GraphQL client (pagination, THROTTLED,
 * 429, orderCancel user errors, re-read). */
#include "../unit/cm.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../plugins/shopify/sp.h"
#include "clock.h"
#include "crypto.h"
#include "fakehost.h"
#include "shopify_t.h"

static const char *jstr(const cJSON *o, const char *k)
{
    return cJSON_GetStringValue(cJSON_GetObjectItem(o, k));
}

static double jnum(const cJSON *o, const char *k)
{
    return cJSON_GetNumberValue(cJSON_GetObjectItem(o, k));
}

static int64_t iso(const char *s)
{
    int64_t t = 0;
    assert_int_equal(dg_parse_iso8601(s, &t), 0);
    return t;
}

/* ------------------------------------------------------------ webhooks */

static void test_hmac_vector(void **state)
{
    (void)state;
    env e;
    fh_response r;
    const char *body =
        "{\"id\":820982911946154508,\"name\":\"#9999\",\"financial_status\":\"partially_paid\"}";
    char mac[64];
    sign(SECRET, body, mac, sizeof mac);
    assert_string_equal(mac, "dCdMVLGHe1ZXy4IgcYI95dgc0YyPOna5WykhNVTqVcc=");
    env_up(&e, NULL);
    assert_int_equal(deliver(&e, "orders/create", body, SECRET, "wh-1", "ev-1", &r), 0);
    assert_int_equal(r.status, 200);
    assert_string_equal(r.content_type, "application/json");
    assert_int_equal(fh_n_orders(e.h), 1);
    const cJSON *o = fh_order(e.h, 0);
    assert_string_equal(jstr(o, "order_id"), "820982911946154508");
    assert_string_equal(jstr(o, "order_name"), "#9999");
    assert_string_equal(jstr(o, "dedupe_key"), "orders/create:wh-1");
    assert_int_equal(jnum(o, "kind"), DG_ORDER_UPSERT);
    env_down(&e);
}

static void test_rotation(void **state)
{
    (void)state;
    env e;
    fh_response r;
    const char *body = "{\"id\":1001,\"name\":\"#1001\",\"financial_status\":\"pending\"}";
    env_up(&e, NULL);
    /* 09:00: the previous secret is still accepted (rotation until 10:00) */
    assert_int_equal(deliver(&e, "orders/create", body, OLD_SECRET, "wh-a", "ev-a", &r), 0);
    assert_int_equal(r.status, 200);
    assert_int_equal(fh_n_orders(e.h), 1);
    fh_advance(e.h, 3600 * 1000);
    assert_int_equal(deliver(&e, "orders/updated", body, OLD_SECRET, "wh-b", "ev-b", &r), 0);
    assert_int_equal(r.status, 401);
    assert_non_null(strstr(r.body, "\"error\""));
    assert_int_equal(deliver(&e, "orders/updated", body, SECRET, "wh-b", "ev-b", &r), 0);
    assert_int_equal(r.status, 200);
    assert_int_equal(fh_n_orders(e.h), 2);
    env_down(&e);
}

static void test_rejections(void **state)
{
    (void)state;
    env e;
    fh_response r;
    const char *body = "{\"id\":1001,\"name\":\"#1001\"}";
    env_up(&e, NULL);
    assert_int_equal(deliver(&e, "orders/create", body, NULL, "wh-1", "ev-1", &r), 0);
    assert_int_equal(r.status, 401);
    assert_non_null(strstr(r.body, "missing"));
    assert_int_equal(deliver(&e, "orders/create", body, "not_the_secret", "wh-1", "ev-1", &r), 0);
    assert_int_equal(r.status, 401);
    assert_non_null(strstr(r.body, "{\"error\":\"invalid HMAC"));
    /* a valid signature over an empty body is still refused */
    assert_int_equal(deliver(&e, "orders/create", "", SECRET, "wh-1", "ev-1", &r), 0);
    assert_int_equal(r.status, 401);
    /* signed, but the webhook id header is missing */
    char mac[64];
    sign(SECRET, body, mac, sizeof mac);
    const char *hdr[] = {"X-Shopify-Topic",
                         "orders/create",
                         "X-Shopify-Shop-Domain",
                         SHOP,
                         "X-Shopify-Hmac-Sha256",
                         mac,
                         NULL};
    assert_int_equal(fh_request(e.h, "POST", PATH, NULL, hdr, body, strlen(body), &r), 0);
    assert_int_equal(r.status, 400);
    /* signed, but not JSON */
    assert_int_equal(deliver(&e, "orders/create", "{\"id\":", SECRET, "wh-2", "ev-2", &r), 0);
    assert_int_equal(r.status, 400);
    /* a topic we do not handle is acknowledged and ignored */
    assert_int_equal(deliver(&e, "orders/fulfilled", body, SECRET, "wh-3", "ev-3", &r), 0);
    assert_int_equal(r.status, 200);
    assert_int_equal(fh_n_orders(e.h), 0);
    assert_true(fh_metric(e.h, "dg_shopify_webhook_bad_signature_total") == 1);
    env_down(&e);
}

static void test_dedupe(void **state)
{
    (void)state;
    env e;
    fh_response r;
    const char *body = "{\"id\":1001,\"name\":\"#1001\",\"updated_at\":\"2026-03-01T10:00:00Z\"}";
    env_up(&e, NULL);
    /* a failed store answers 503 and does not mark the delivery as seen */
    fh_set_emit_result(e.h, DG_EIO);
    assert_int_equal(deliver(&e, "orders/create", body, SECRET, "wh-1", "ev-1", &r), 0);
    assert_int_equal(r.status, 503);
    fh_set_emit_result(e.h, DG_OK);
    assert_int_equal(deliver(&e, "orders/create", body, SECRET, "wh-1", "ev-1", &r), 0);
    assert_int_equal(r.status, 200);
    size_t n = fh_n_orders(e.h);
    /* the retry with the same webhook id is not emitted again */
    assert_int_equal(deliver(&e, "orders/create", body, SECRET, "wh-1", "ev-1", &r), 0);
    assert_int_equal(r.status, 200);
    assert_non_null(strstr(r.body, "duplicate"));
    /* another subscription's delivery of the same event (same event id) */
    assert_int_equal(deliver(&e, "orders/create", body, SECRET, "wh-9", "ev-1", &r), 0);
    assert_int_equal(r.status, 200);
    assert_int_equal(fh_n_orders(e.h), n);
    /* the core reporting a duplicate dedupe_key is a success too */
    fh_set_emit_result(e.h, DG_EEXIST);
    assert_int_equal(deliver(&e, "orders/updated", body, SECRET, "wh-2", "ev-2", &r), 0);
    assert_int_equal(r.status, 200);
    assert_true(fh_metric(e.h, "dg_shopify_webhook_duplicates_total") == 2);
    env_down(&e);
}

static void test_stale_retry_ignored(void **state)
{
    (void)state;
    env e;
    fh_response r;
    char *create = load("order_presale.json"), *paid = load("order_presale_paid.json");
    env_up(&e, NULL);
    assert_int_equal(deliver(&e, "orders/paid", paid, SECRET, "wh-p", "ev-p", &r), 0);
    assert_int_equal(r.status, 200);
    assert_int_equal(fh_n_orders(e.h), 1);
    assert_int_equal(jnum(fh_order(e.h, 0), "kind"), DG_ORDER_PAID);
    assert_int_equal(jnum(fh_order(e.h, 0), "amount_owed_minor"), 0);
    /* the create retried hours later carries an older updated_at */
    assert_int_equal(deliver(&e, "orders/create", create, SECRET, "wh-c", "ev-c", &r), 0);
    assert_int_equal(r.status, 200);
    assert_non_null(strstr(r.body, "stale"));
    assert_int_equal(fh_n_orders(e.h), 1);
    /* same updated_at from another topic is not stale */
    assert_int_equal(deliver(&e, "orders/updated", paid, SECRET, "wh-u", "ev-u", &r), 0);
    assert_int_equal(fh_n_orders(e.h), 2);
    free(create);
    free(paid);
    env_down(&e);
}

static void test_slow_store_answers_503_in_time(void **state)
{
    (void)state;
    env e;
    fh_response r;
    const char *body = "{\"id\":1001,\"name\":\"#1001\"}";
    env_up(&e, NULL);
    fh_set_emit_result(e.h, DG_PENDING);
    assert_int_equal(deliver(&e, "orders/create", body, SECRET, "wh-1", "ev-1", &r), DG_PENDING);
    assert_int_equal(fh_pending_response(e.h, &r), DG_PENDING);
    fh_advance(e.h, 3999);
    assert_int_equal(fh_pending_response(e.h, &r), DG_PENDING);
    fh_advance(e.h, 1);
    assert_int_equal(fh_pending_response(e.h, &r), 0);
    assert_int_equal(r.status, 503);
    env_down(&e);
}

/* A host whose store answers later: emit_order records the event in the
 * fake host, keeps the callback and returns DG_PENDING (or calls it at once
 * when g_sync_status is set). */
static const dg_host *g_base;
static dg_emit_done_cb g_done;
static void *g_done_ud;
static int g_sync_status = 1;
static int async_emit(dg_instance *inst, const dg_order_event *ev, dg_emit_done_cb done, void *ud)
{
    g_base->emit_order(inst, ev, NULL, NULL);
    if (g_sync_status != 1) {
        done(ud, g_sync_status);
        return DG_PENDING;
    }
    g_done = done;
    g_done_ud = ud;
    return DG_PENDING;
}

static void test_async_store_ack(void **state)
{
    (void)state;
    fh_response r;
    char err[256];
    void *self = NULL;
    const char *body = "{\"id\":1001,\"name\":\"#1001\",\"updated_at\":\"2026-03-01T10:00:00Z\"}";
    const dg_plugin_descriptor *d = shopify_LTX_dg_plugin_query();
    fh *h = fh_new("shop", CONF);
    dg_host host = *fh_host(h);
    g_base = fh_host(h);
    host.emit_order = async_emit;
    env e = {h, NULL, d};
    assert_int_equal(d->store->create(&host, fh_inst(h), &self, err, sizeof err), 0);
    assert_int_equal(d->store->start(self, err, sizeof err), 0);
    e.self = self;
    /* stored later: the 200 waits for it */
    g_sync_status = 1;
    assert_int_equal(deliver(&e, "orders/create", body, SECRET, "wh-1", "ev-1", &r), DG_PENDING);
    fh_advance(h, 1000);
    assert_int_equal(fh_pending_response(h, &r), DG_PENDING);
    g_done(g_done_ud, DG_OK);
    assert_int_equal(fh_pending_response(h, &r), 0);
    assert_int_equal(r.status, 200);
    fh_advance(h, 10000); /* the deadline timer was released: nothing more happens */
    /* now remembered: a retry is a duplicate */
    assert_int_equal(deliver(&e, "orders/create", body, SECRET, "wh-1", "ev-1", &r), 0);
    assert_non_null(strstr(r.body, "duplicate"));
    /* failed later: 503 so Shopify retries */
    assert_int_equal(deliver(&e, "orders/updated", body, SECRET, "wh-2", "ev-2", &r), DG_PENDING);
    g_done(g_done_ud, DG_EIO);
    assert_int_equal(fh_pending_response(h, &r), 0);
    assert_int_equal(r.status, 503);
    /* stored too late: 503 at 4 s, the late success is still remembered */
    assert_int_equal(deliver(&e, "orders/updated", body, SECRET, "wh-3", "ev-3", &r), DG_PENDING);
    fh_advance(h, 4000);
    assert_int_equal(fh_pending_response(h, &r), 0);
    assert_int_equal(r.status, 503);
    g_done(g_done_ud, DG_OK);
    assert_int_equal(deliver(&e, "orders/updated", body, SECRET, "wh-3", "ev-3", &r), 0);
    assert_non_null(strstr(r.body, "duplicate"));
    /* the callback called from inside emit_order */
    g_sync_status = DG_OK;
    assert_int_equal(deliver(&e, "orders/paid", body, SECRET, "wh-4", "ev-4", &r), 0);
    assert_int_equal(r.status, 200);
    g_sync_status = DG_EIO;
    assert_int_equal(deliver(&e, "orders/paid", body, SECRET, "wh-5", "ev-5", &r), 0);
    assert_int_equal(r.status, 503);
    /* a delivery still waiting when the instance stops gets its answer */
    g_sync_status = 1;
    assert_int_equal(deliver(&e, "orders/cancelled", body, SECRET, "wh-6", "ev-6", &r), DG_PENDING);
    assert_int_equal(d->store->stop(self, fh_new_op(h)), DG_OK);
    assert_int_equal(fh_pending_response(h, &r), 0);
    assert_int_equal(r.status, 503);
    d->store->destroy(self);
    fh_free(h);
}

/* ------------------------------------------------------------- mapping */

static void test_presale_mapping(void **state)
{
    (void)state;
    env e;
    fh_response r;
    char *body = load("order_presale.json");
    assert_true(strlen(body) > 8000 && strlen(body) < 20500);
    env_up(&e, NULL);
    assert_int_equal(deliver(&e, "orders/create", body, SECRET, "wh-1", "ev-1", &r), 0);
    assert_int_equal(r.status, 200);
    const cJSON *o = fh_order(e.h, 0), *c = cJSON_GetObjectItem(o, "customer");
    assert_string_equal(jstr(o, "order_id"), "820982911946154508");
    assert_string_equal(jstr(c, "id"), "115310627314723954");
    assert_int_equal(jnum(o, "flow"), DG_FLOW_PRESALE_BALANCE);
    assert_string_equal(jstr(o, "currency"), "EUR");
    /* 1271.93 USD owed of 1817.03 USD = 1671.67 EUR: 1170.18 EUR */
    assert_int_equal(jnum(o, "amount_owed_minor"), 117018);
    assert_int_equal(jnum(o, "order_total_minor"), 167167);
    assert_int_equal(jnum(o, "due_at"), iso("2026-03-10T17:00:00Z"));
    assert_int_equal(jnum(o, "created_at"), iso("2026-02-20T15:15:00Z"));
    assert_int_equal(jnum(o, "updated_at"), iso("2026-02-20T15:16:30Z"));
    assert_int_equal(jnum(o, "close_at"), 0);
    assert_string_equal(jstr(c, "first_name"), "Ana");
    assert_string_equal(jstr(c, "phone"), "+15555550123");
    assert_string_equal(jstr(c, "email"), "ana.silva@example.com");
    assert_string_equal(jstr(c, "locale"), "pt-BR");
    assert_string_equal(jstr(c, "country"), "US");
    assert_string_equal(jstr(c, "province"), "KY");
    assert_string_equal(jstr(c, "tz_hint"), "America/New_York");
    assert_int_equal(jnum(c, "orders_count"), 2); /* 3 including this one: returning */
    assert_non_null(strstr(jstr(o, "pay_link"), "/authenticate?key="));
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(o, "items")), 20);
    const cJSON *it = cJSON_GetArrayItem(cJSON_GetObjectItem(o, "items"), 0);
    assert_string_equal(jstr(it, "title"), "Knit beanie");
    assert_string_equal(jstr(it, "variant"), "S / blue");
    assert_int_equal(jnum(it, "unit_price_minor"), 4599);
    const char *want = "Knit beanie (S / blue) \xc3\x97"
                       "1, Denim jacket \xc3\x97"
                       "3, ";
    assert_int_equal(strncmp(jstr(o, "items_summary"), want, strlen(want)), 0);
    const cJSON *tags = cJSON_GetObjectItem(o, "tags");
    assert_int_equal(cJSON_GetArraySize(tags), 2);
    assert_string_equal(cJSON_GetArrayItem(tags, 1)->valuestring, "VIP");
    free(body);
    env_down(&e);
}

static void test_unpaid_jpy_mapping(void **state)
{
    (void)state;
    env e;
    fh_response r;
    char *body = load("order_unpaid_jpy.json");
    env_up(&e, NULL);
    assert_int_equal(deliver(&e, "orders/create", body, SECRET, "wh-1", "ev-1", &r), 0);
    const cJSON *o = fh_order(e.h, 0), *c = cJSON_GetObjectItem(o, "customer");
    assert_string_equal(jstr(o, "order_id"), "450789469123456789");
    assert_int_equal(jnum(o, "flow"), DG_FLOW_UNPAID_ORDER);
    assert_string_equal(jstr(o, "currency"), "JPY");
    assert_int_equal(jnum(o, "amount_owed_minor"), 1662250);
    assert_int_equal(jnum(o, "close_at"), iso("2026-03-01T23:00:00Z") + 1440 * 60000LL);
    assert_string_equal(jstr(c, "phone"), "+819012345678");
    assert_string_equal(jstr(c, "tz_hint"), "Asia/Tokyo");
    assert_int_equal(jnum(c, "orders_count"), 0); /* first order: new customer */
    free(body);
    env_down(&e);
}

/* ------------------------------------------------------------- helpers */

/* ------------------------------------------------------------- GraphQL */

static char *node(const char *id, const char *status, const char *owed, const char *updated)
{
    char *b = malloc(4096);
    snprintf(
        b, 4096,
        "{\"id\":\"gid://shopify/Order/%s\",\"legacyResourceId\":\"%s\",\"name\":\"#%.4s\","
        "\"createdAt\":\"2026-02-20T10:00:00Z\",\"updatedAt\":\"%s\",\"cancelledAt\":null,"
        "\"displayFinancialStatus\":\"%s\",\"tags\":[\"pre-order\"],\"customAttributes\":[],"
        "\"currencyCode\":\"USD\",\"presentmentCurrencyCode\":\"USD\",\"statusPageUrl\":"
        "\"https://shop.test/status/%s\",\"customerLocale\":\"en\",\"totalOutstandingSet\":{"
        "\"shopMoney\":{\"amount\":\"%s\",\"currencyCode\":\"USD\"},\"presentmentMoney\":{"
        "\"amount\":\"%s\",\"currencyCode\":\"USD\"}},\"currentTotalPriceSet\":{\"shopMoney\":"
        "{\"amount\":\"100.00\",\"currencyCode\":\"USD\"},\"presentmentMoney\":{\"amount\":"
        "\"100.00\",\"currencyCode\":\"USD\"}},\"paymentCollectionDetails\":{"
        "\"additionalPaymentCollectionUrl\":\"https://shop.test/pay/%s\"},\"paymentTerms\":{"
        "\"paymentTermsType\":\"FIXED\",\"dueInDays\":null,\"paymentSchedules\":{\"nodes\":[{"
        "\"issuedAt\":\"2026-02-20T10:00:00Z\",\"dueAt\":\"2026-03-10T12:00:00Z\","
        "\"completedAt\":null}]}},\"customer\":{\"id\":\"gid://shopify/Customer/"
        "115310627314723954\",\"legacyResourceId\":\"115310627314723954\",\"firstName\":"
        "\"Ana\",\"lastName\":\"Silva\",\"email\":\"ana@example.com\",\"phone\":\"+14155550123\","
        "\"numberOfOrders\":\"1\",\"locale\":\"en\",\"defaultAddress\":{\"countryCodeV2\":"
        "\"US\",\"provinceCode\":\"CA\",\"phone\":null}},\"billingAddress\":null,"
        "\"shippingAddress\":{\"firstName\":\"Ana\",\"lastName\":\"Silva\",\"phone\":null,"
        "\"countryCodeV2\":\"US\",\"provinceCode\":\"CA\"},\"lineItems\":{\"nodes\":[{"
        "\"title\":\"Linen dress\",\"variantTitle\":\"M\",\"sku\":\"LD-M\",\"quantity\":1,"
        "\"currentQuantity\":1,\"originalUnitPriceSet\":{\"presentmentMoney\":{\"amount\":"
        "\"100.00\",\"currencyCode\":\"USD\"}}}]}}",
        id, id, id, updated, status, id, owed, owed, id);
    return b;
}

static char *page(const char *n1, const char *n2, int more, const char *cursor)
{
    char *b = malloc(10000);
    snprintf(b, 10000,
             "{\"data\":{\"orders\":{\"pageInfo\":{\"hasNextPage\":%s,\"endCursor\":\"%s\"},"
             "\"nodes\":[%s%s%s]}},\"extensions\":{\"cost\":{\"requestedQueryCost\":52,"
             "\"actualQueryCost\":12,\"throttleStatus\":{\"maximumAvailable\":2000.0,"
             "\"currentlyAvailable\":1988,\"restoreRate\":100.0}}}}",
             more ? "true" : "false", cursor, n1, n2 ? "," : "", n2 ? n2 : "");
    return b;
}

static cJSON *vars_of(env *e, size_t i)
{
    fh_outbound *o = fh_outbound_at(e->h, i);
    assert_non_null(o);
    cJSON *b = cJSON_Parse(o->body);
    assert_non_null(b);
    cJSON *v = cJSON_DetachItemFromObject(b, "variables");
    assert_non_null(strstr(jstr(b, "query"), "DgOrder"));
    cJSON_Delete(b);
    return v;
}

static void test_backfill_pagination(void **state)
{
    (void)state;
    env e;
    char *n[5], *p;
    const char *ids[5] = {"820982911946154508", "820982911946154509", "1003", "1004", "1005"};
    for (int i = 0; i < 5; i++)
        n[i] = node(ids[i], i == 4 ? "PENDING" : "PARTIALLY_PAID", "70.00", "2026-03-01T10:00:00Z");
    env_up(&e, NULL);
    dg_op op = fh_new_op(e.h);
    assert_int_equal(e.d->store->backfill(e.self, op), DG_PENDING);
    assert_int_equal(fh_n_outbound(e.h), 1);
    fh_outbound *o = fh_outbound_at(e.h, 0);
    assert_string_equal(o->method, "POST");
    assert_string_equal(o->url, "http://127.0.0.1:8089/admin/api/2025-10/graphql.json");
    assert_string_equal(jstr(o->headers, "X-Shopify-Access-Token"), "shpat_test_token");
    cJSON *v = vars_of(&e, 0);
    assert_string_equal(jstr(v, "query"),
                        "financial_status:partially_paid OR financial_status:pending status:open");
    assert_int_equal(jnum(v, "first"), 2);
    assert_true(cJSON_IsNull(cJSON_GetObjectItem(v, "after")));
    cJSON_Delete(v);
    const char *cursors[] = {"Y3Vyc29yMQ==", "Y3Vyc29yMg=="};
    for (int pg = 0; pg < 3; pg++) {
        p = page(n[pg * 2], pg < 2 ? n[pg * 2 + 1] : NULL, pg < 2, pg < 2 ? cursors[pg] : "");
        assert_int_equal(fh_reply(e.h, (size_t)pg, 200, NULL, p, DG_HTTP_OK, -1), 0);
        free(p);
        if (pg < 2) {
            assert_null(fh_completion_for(e.h, op));
            assert_int_equal(fh_n_outbound(e.h), (size_t)pg + 2);
            v = vars_of(&e, (size_t)pg + 1);
            assert_string_equal(jstr(v, "after"), cursors[pg]);
            cJSON_Delete(v);
        }
    }
    const fh_completion *c = fh_completion_for(e.h, op);
    assert_non_null(c);
    assert_int_equal(c->status, DG_OK);
    assert_int_equal(fh_n_orders(e.h), 5);
    const cJSON *ord = fh_order(e.h, 0), *cu = cJSON_GetObjectItem(ord, "customer");
    assert_string_equal(jstr(ord, "order_id"), "820982911946154508");
    assert_string_equal(jstr(cu, "id"), "115310627314723954");
    assert_int_equal(jnum(ord, "amount_owed_minor"), 7000);
    assert_int_equal(jnum(ord, "flow"), DG_FLOW_PRESALE_BALANCE);
    assert_string_equal(jstr(ord, "pay_link"), "https://shop.test/pay/820982911946154508");
    assert_string_equal(jstr(cu, "tz_hint"), "America/Los_Angeles");
    assert_int_equal(jnum(ord, "due_at"), iso("2026-03-10T12:00:00Z"));
    assert_string_equal(jstr(ord, "items_summary"), "Linen dress (M) \xc3\x97"
                                                    "1");
    for (int i = 0; i < 5; i++)
        free(n[i]);
    env_down(&e);
}

static void test_throttled_and_429(void **state)
{
    (void)state;
    env e;
    char *n1 = node("1001", "PARTIALLY_PAID", "10.00", "2026-03-01T10:00:00Z"), *p;
    env_up(&e, NULL);
    dg_op op = fh_new_op(e.h);
    assert_int_equal(e.d->store->backfill(e.self, op), DG_PENDING);
    /* THROTTLED: 502 requested, 2 available, 100/s -> wait 5 s */
    assert_int_equal(
        fh_reply(e.h, 0, 200, NULL,
                 "{\"errors\":[{\"message\":\"Throttled\",\"extensions\":{\"code\":\"THROTTLED\","
                 "\"documentation\":\"https://shopify.dev/api/usage/rate-limits\"}}],"
                 "\"extensions\":{\"cost\":{\"requestedQueryCost\":502,\"actualQueryCost\":null,"
                 "\"throttleStatus\":{\"maximumAvailable\":1000.0,\"currentlyAvailable\":2,"
                 "\"restoreRate\":100.0}}}}",
                 DG_HTTP_OK, -1),
        0);
    assert_int_equal(fh_n_outbound(e.h), 1);
    fh_advance(e.h, 4999);
    assert_int_equal(fh_n_outbound(e.h), 1);
    fh_advance(e.h, 1);
    assert_int_equal(fh_n_outbound(e.h), 2);
    /* HTTP 429 with Retry-After: 2.5 s */
    assert_int_equal(fh_reply(e.h, 1, 429, (const char *[]){"Retry-After", "2.5", NULL},
                              "{\"errors\":\"Exceeded 2 calls per second\"}", DG_HTTP_OK, 2500),
                     0);
    fh_advance(e.h, 2499);
    assert_int_equal(fh_n_outbound(e.h), 2);
    fh_advance(e.h, 1);
    assert_int_equal(fh_n_outbound(e.h), 3);
    assert_null(fh_completion_for(e.h, op));
    p = page(n1, NULL, 0, "");
    assert_int_equal(fh_reply(e.h, 2, 200, NULL, p, DG_HTTP_OK, -1), 0);
    free(p);
    assert_int_equal(fh_completion_for(e.h, op)->status, DG_OK);
    assert_int_equal(fh_n_orders(e.h), 1);
    assert_int_equal(fh_metric(e.h, "dg_shopify_api_waits_total"), 2);
    free(n1);
    env_down(&e);
}

static void test_bucket_wait_before_sending(void **state)
{
    (void)state;
    env e;
    env_up(&e, "{\"shop_domain\":\"" SHOP "\",\"access_token\":\"shpat_test_token\","
               "\"client_secret\":\"" SECRET "\",\"reconcile_interval_s\":60}");
    /* the reconcile timer starts a pass every minute */
    fh_advance(e.h, 60000);
    assert_int_equal(fh_n_outbound(e.h), 1);
    assert_string_equal(fh_outbound_at(e.h, 0)->url,
                        "https://" SHOP "/admin/api/2025-10/graphql.json");
    /* a page that leaves the bucket nearly empty: the next page waits for points */
    assert_int_equal(
        fh_reply(e.h, 0, 200, NULL,
                 "{\"data\":{\"orders\":{\"pageInfo\":{\"hasNextPage\":true,\"endCursor\":\"c1\"},"
                 "\"nodes\":[]}},\"extensions\":{\"cost\":{\"requestedQueryCost\":300,"
                 "\"actualQueryCost\":300,\"throttleStatus\":{\"maximumAvailable\":1000.0,"
                 "\"currentlyAvailable\":100,\"restoreRate\":50.0}}}}",
                 DG_HTTP_OK, -1),
        0);
    assert_int_equal(fh_n_outbound(e.h), 1);
    fh_advance(e.h, 3999);
    assert_int_equal(fh_n_outbound(e.h), 1);
    fh_advance(e.h, 1);
    assert_int_equal(fh_n_outbound(e.h), 2);
    env_down(&e);
}

static void test_cancel(void **state)
{
    (void)state;
    env e;
    dg_store_action a;
    env_up(&e, NULL);
    DG_INIT(&a);
    a.kind = DG_ACT_CANCEL_ORDER;
    a.order_id = "820982911946154508";
    a.reason = "customer";
    a.restock = 1;
    a.notify_customer = 0;
    a.staff_note = "expired: balance not paid";
    dg_op op = fh_new_op(e.h);
    assert_int_equal(e.d->store->act(e.self, &a, op), DG_PENDING);
    cJSON *v = vars_of(&e, 0);
    assert_non_null(strstr(fh_outbound_at(e.h, 0)->body, "orderCancel"));
    assert_string_equal(jstr(v, "orderId"), "gid://shopify/Order/820982911946154508");
    assert_string_equal(jstr(v, "reason"), "CUSTOMER");
    assert_true(cJSON_IsTrue(cJSON_GetObjectItem(v, "restock")));
    assert_true(cJSON_IsFalse(cJSON_GetObjectItem(v, "notifyCustomer")));
    assert_string_equal(jstr(v, "staffNote"), "expired: balance not paid");
    cJSON_Delete(v);
    assert_int_equal(
        fh_reply(e.h, 0, 200, NULL,
                 "{\"data\":{\"orderCancel\":{\"job\":null,\"orderCancelUserErrors\":[{\"field\":"
                 "[\"orderId\"],\"message\":\"Cannot cancel an order with pending authorizations\","
                 "\"code\":\"INVALID\"}]}}}",
                 DG_HTTP_OK, -1),
        0);
    const fh_completion *c = fh_completion_for(e.h, op);
    assert_non_null(c);
    assert_int_equal(c->status, DG_EPROTO);
    assert_int_equal(c->error_class, DG_ERRC_PERMANENT);
    assert_string_equal(c->error_code, "INVALID");
    assert_string_equal(c->error_message, "Cannot cancel an order with pending authorizations");
    /* accepted: the job id comes back as the provider id */
    op = fh_new_op(e.h);
    a.reason = "weird";
    assert_int_equal(e.d->store->act(e.self, &a, op), DG_PENDING);
    v = vars_of(&e, 1);
    assert_string_equal(jstr(v, "reason"), "OTHER");
    cJSON_Delete(v);
    assert_int_equal(fh_reply(e.h, 1, 200, NULL,
                              "{\"data\":{\"orderCancel\":{\"job\":{\"id\":\"gid://shopify/Job/"
                              "abc\",\"done\":false},\"orderCancelUserErrors\":[]}}}",
                              DG_HTTP_OK, -1),
                     0);
    c = fh_completion_for(e.h, op);
    assert_int_equal(c->status, DG_OK);
    assert_string_equal(c->provider_id, "gid://shopify/Job/abc");
    /* a rejected token is a configuration problem */
    op = fh_new_op(e.h);
    assert_int_equal(e.d->store->act(e.self, &a, op), DG_PENDING);
    assert_int_equal(
        fh_reply(e.h, 2, 401, NULL, "{\"errors\":\"[API] Invalid API key\"}", DG_HTTP_OK, -1), 0);
    assert_int_equal(fh_completion_for(e.h, op)->error_class, DG_ERRC_CONFIG);
    assert_false(fh_healthy(e.h));
    env_down(&e);
}

static void test_stop_lets_cancel_land(void **state)
{
    (void)state;
    env e;
    dg_store_action a;
    env_up(&e, NULL);
    DG_INIT(&a);
    a.kind = DG_ACT_CANCEL_ORDER;
    a.order_id = "1001";
    a.reason = "other";
    /* a cancel waiting out a 429 was never applied: canceled at once */
    dg_op waiting = fh_new_op(e.h);
    assert_int_equal(e.d->store->act(e.self, &a, waiting), DG_PENDING);
    assert_int_equal(fh_reply(e.h, 0, 429, NULL, "{}", DG_HTTP_OK, 5000), 0);
    /* a cancel already sent: its outcome is unknown, so stop waits for it */
    dg_op sent = fh_new_op(e.h);
    assert_int_equal(e.d->store->act(e.self, &a, sent), DG_PENDING);
    dg_op stop = fh_new_op(e.h);
    assert_int_equal(e.d->store->stop(e.self, stop), DG_PENDING);
    assert_int_equal(fh_completion_for(e.h, waiting)->status, DG_ECANCELED);
    assert_null(fh_completion_for(e.h, sent));
    assert_null(fh_completion_for(e.h, stop));
    assert_false(fh_outbound_at(e.h, 1)->canceled);
    assert_int_equal(fh_n_outbound(e.h), 2);
    assert_int_equal(fh_reply(e.h, 1, 200, NULL,
                              "{\"data\":{\"orderCancel\":{\"job\":{\"id\":\"gid://shopify/Job/"
                              "j1\",\"done\":false},\"orderCancelUserErrors\":[]}}}",
                              DG_HTTP_OK, -1),
                     0);
    assert_int_equal(fh_completion_for(e.h, sent)->status, DG_OK);
    assert_non_null(fh_completion_for(e.h, stop));
    e.d->store->destroy(e.self);
    assert_int_equal(fh_double_completions(e.h), 0);
    fh_free(e.h);
    /* the host gives up waiting and destroys: nothing is called any more */
    env_up(&e, NULL);
    sent = fh_new_op(e.h);
    assert_int_equal(e.d->store->act(e.self, &a, sent), DG_PENDING);
    assert_int_equal(e.d->store->stop(e.self, fh_new_op(e.h)), DG_PENDING);
    size_t done = fh_n_completed(e.h);
    e.d->store->destroy(e.self);
    assert_int_equal(fh_n_completed(e.h), done);
    assert_true(fh_outbound_at(e.h, 0)->canceled);
    fh_free(e.h);
}

static void test_reread(void **state)
{
    (void)state;
    env e;
    dg_store_action a;
    char *n1 = node("820982911946154508", "PAID", "0.00", "2026-03-05T10:00:00Z"), body[8192];
    env_up(&e, NULL);
    DG_INIT(&a);
    a.kind = DG_ACT_REREAD_ORDER;
    a.order_id = "820982911946154508";
    dg_op op = fh_new_op(e.h);
    assert_int_equal(e.d->store->act(e.self, &a, op), DG_PENDING);
    cJSON *v = vars_of(&e, 0);
    assert_string_equal(jstr(v, "id"), "gid://shopify/Order/820982911946154508");
    cJSON_Delete(v);
    snprintf(body, sizeof body, "{\"data\":{\"order\":%s}}", n1);
    assert_int_equal(fh_reply(e.h, 0, 200, NULL, body, DG_HTTP_OK, -1), 0);
    assert_int_equal(fh_completion_for(e.h, op)->status, DG_OK);
    assert_int_equal(fh_n_orders(e.h), 1);
    assert_int_equal(jnum(fh_order(e.h, 0), "kind"), DG_ORDER_PAID);
    /* unknown order */
    op = fh_new_op(e.h);
    assert_int_equal(e.d->store->act(e.self, &a, op), DG_PENDING);
    assert_int_equal(fh_reply(e.h, 1, 200, NULL, "{\"data\":{\"order\":null}}", DG_HTTP_OK, -1), 0);
    assert_int_equal(fh_completion_for(e.h, op)->status, DG_ENOTFOUND);
    /* transport failures are retried, then give up as retryable */
    op = fh_new_op(e.h);
    assert_int_equal(e.d->store->act(e.self, &a, op), DG_PENDING);
    for (size_t i = 2; !fh_completion_for(e.h, op) && i < 40; i++) {
        assert_int_equal(fh_reply(e.h, i, 0, NULL, NULL, DG_HTTP_ECONNECT, -1), 0);
        fh_advance(e.h, 120000);
    }
    assert_int_equal(fh_completion_for(e.h, op)->error_class, DG_ERRC_RETRYABLE);
    /* stopping cancels what is in flight and completes its op */
    op = fh_new_op(e.h);
    assert_int_equal(e.d->store->act(e.self, &a, op), DG_PENDING);
    dg_op stop_op = fh_new_op(e.h);
    assert_int_equal(e.d->store->stop(e.self, stop_op), DG_OK);
    assert_int_equal(fh_completion_for(e.h, op)->status, DG_ECANCELED);
    assert_true(fh_outbound_at(e.h, fh_n_outbound(e.h) - 1)->canceled);
    e.d->store->destroy(e.self);
    assert_int_equal(fh_double_completions(e.h), 0);
    fh_free(e.h);
    free(n1);
}

static void test_payment_schedule_due(void **state)
{
    (void)state;
    env e;
    fh_response r;
    const char *body =
        "{\"id\":25855885488,\"payment_terms_id\":25855885488,\"amount\":\"12.00\","
        "\"currency\":\"USD\",\"due_at\":\"2026-03-02T09:00:00Z\",\"completed_at\":null}";
    env_up(&e, NULL); /* not enabled: acknowledged, nothing done */
    assert_int_equal(deliver(&e, "payment_schedules/due", body, SECRET, "wh-1", "ev-1", &r), 0);
    assert_int_equal(r.status, 200);
    assert_non_null(strstr(r.body, "ignored"));
    assert_int_equal(fh_n_outbound(e.h), 0);
    env_down(&e);
    env_up(&e, "{\"shop_domain\":\"" SHOP "\",\"access_token\":\"shpat_test_token\","
               "\"client_secret\":\"" SECRET "\",\"reconcile_interval_s\":0,"
               "\"payment_schedules_due\":true}");
    /* enabled: the payload names no order, so a reconciliation pass starts */
    assert_int_equal(deliver(&e, "payment_schedules/due", body, SECRET, "wh-1", "ev-1", &r), 0);
    assert_int_equal(r.status, 200);
    assert_int_equal(fh_n_outbound(e.h), 1);
    assert_non_null(strstr(fh_outbound_at(e.h, 0)->body, "query DgOrders"));
    /* the retry of the same delivery does not start another */
    assert_int_equal(deliver(&e, "payment_schedules/due", body, SECRET, "wh-1", "ev-1", &r), 0);
    assert_int_equal(fh_n_outbound(e.h), 1);
    env_down(&e);
}

static void test_config_errors(void **state)
{
    (void)state;
    const dg_plugin_descriptor *d = shopify_LTX_dg_plugin_query();
    const char *confs[] = {
        "{\"shop_domain\":\"" SHOP "\",\"access_token\":\"shpat_x\"}",
        "{\"shop_domain\":\"" SHOP "\",\"access_token\":\"shpat_x\",\"client_secret\":\"s\","
        "\"previous_client_secret\":\"old\"}",
        "{\"shop_domain\":\"" SHOP "\",\"access_token\":\"shpat_x\",\"client_secret\":\"s\","
        "\"previous_client_secret\":\"old\",\"rotation_until\":\"tomorrow\"}",
        "{\"shop_domain\":\"" SHOP "\",\"access_token\":\"shpat_x\",\"client_secret\":\"s\","
        "\"page_size\":0}"};
    const char *why[] = {"required", "needs rotation_until", "ISO-8601", "page_size"};
    for (size_t i = 0; i < 4; i++) {
        fh *h = fh_new("shop", confs[i]);
        void *self = (void *)1;
        char err[256] = "";
        assert_int_equal(fh_create_start(h, d, &self, err, sizeof err), DG_ECONFIG);
        assert_null(self);
        assert_non_null(strstr(err, why[i]));
        fh_free(h);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_hmac_vector),
        cmocka_unit_test(test_rotation),
        cmocka_unit_test(test_rejections),
        cmocka_unit_test(test_dedupe),
        cmocka_unit_test(test_stale_retry_ignored),
        cmocka_unit_test(test_slow_store_answers_503_in_time),
        cmocka_unit_test(test_async_store_ack),
        cmocka_unit_test(test_presale_mapping),
        cmocka_unit_test(test_unpaid_jpy_mapping),
        cmocka_unit_test(test_backfill_pagination),
        cmocka_unit_test(test_throttled_and_429),
        cmocka_unit_test(test_bucket_wait_before_sending),
        cmocka_unit_test(test_cancel),
        cmocka_unit_test(test_stop_lets_cancel_land),
        cmocka_unit_test(test_reread),
        cmocka_unit_test(test_payment_schedule_due),
        cmocka_unit_test(test_config_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
