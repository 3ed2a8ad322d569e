/* The simulator's Shopify persona (see shopify_sim.h). */
#include "shopify_sim.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "../plugins/shopify/sp.h"
#include "crypto.h"

#define MAX_RETRIES 8

typedef struct sorder {
    char *id;
    cJSON *o; /* REST shape; big ids held as digit strings */
    int deleted;
} sorder;

typedef struct sdeliv {
    dg_shopsim_delivery pub;
    char *topic, *body;
    char *hv[18]; /* name, value pairs + NULL */
    struct sdeliv *next;
} sdeliv;

struct dg_shopsim {
    char *shop, *secret, *token, *version;
    double bucket_max, restore, node_cost, bucket;
    int64_t bucket_at;
    dg_shopsim_now_fn now;
    void *now_ud;
    uint64_t rng, next_id;
    sorder *orders;
    size_t n_orders, cap_orders;
    sdeliv *queue;
    size_t dropped;
    int fail_status;
    int64_t fail_retry_ms;
};

static int64_t now_of(const dg_shopsim *s) { return s->now ? s->now(s->now_ud) : 0; }

static char *dupz(const char *v, const char *def) { return strdup(v ? v : def); }

dg_shopsim *dg_shopsim_new(const dg_shopsim_config *c)
{
    dg_shopsim *s = calloc(1, sizeof *s);
    if (!s || !c)
        return s;
    s->shop = dupz(c->shop_domain, "duegate-demo.myshopify.com");
    s->secret = dupz(c->client_secret, "shpss_test_secret");
    s->token = dupz(c->access_token, "shpat_test_token");
    s->version = dupz(c->api_version, "2025-10");
    s->bucket_max = c->bucket_max > 0 ? c->bucket_max : 1000;
    s->restore = c->restore_rate > 0 ? c->restore_rate : 100;
    s->node_cost = c->node_cost > 0 ? c->node_cost : 45;
    s->bucket = s->bucket_max;
    s->now = c->now;
    s->now_ud = c->now_ud;
    s->bucket_at = now_of(s);
    s->rng = c->seed ? c->seed : 0x9E3779B97F4A7C15ULL;
    return s;
}

static void deliv_free(sdeliv *d)
{
    for (int i = 0; d->hv[i]; i++)
        free(d->hv[i]);
    free(d->topic);
    free(d->body);
    free(d);
}

void dg_shopsim_free(dg_shopsim *s)
{
    if (!s)
        return;
    for (size_t i = 0; i < s->n_orders; i++) {
        free(s->orders[i].id);
        cJSON_Delete(s->orders[i].o);
    }
    free(s->orders);
    while (s->queue) {
        sdeliv *d = s->queue;
        s->queue = d->next;
        deliv_free(d);
    }
    free(s->shop);
    free(s->secret);
    free(s->token);
    free(s->version);
    free(s);
}

/* ------------------------------------------------------------- helpers */

static uint64_t rnd(dg_shopsim *s)
{
    uint64_t x = s->rng; /* xorshift64* */
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    s->rng = x;
    return x * 0x2545F4914F6CDD1DULL;
}

static void uuid(dg_shopsim *s, char out[37])
{
    uint64_t a = rnd(s), b = rnd(s);
    a = (a & ~0xF000ULL) | 0x4000ULL;                   /* version 4 */
    b = (b & 0x3FFFFFFFFFFFFFFFULL) | 0x8000000000000000ULL; /* variant */
    snprintf(out, 37, "%08x-%04x-%04x-%04x-%012llx", (unsigned)(a >> 32),
             (unsigned)((a >> 16) & 0xFFFF), (unsigned)(a & 0xFFFF), (unsigned)(b >> 48),
             (unsigned long long)(b & 0xFFFFFFFFFFFFULL));
}

static void iso_now(dg_shopsim *s, char *out, size_t cap) { sp_time_format(now_of(s), out, cap); }

static void set_str(cJSON *o, const char *k, const char *v)
{
    cJSON *n = v ? cJSON_CreateString(v) : cJSON_CreateNull();
    if (cJSON_HasObjectItem(o, k))
        cJSON_ReplaceItemInObjectCaseSensitive(o, k, n);
    else
        cJSON_AddItemToObject(o, k, n);
}

static const char *gs(const cJSON *o, const char *k)
{
    return cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(o, k));
}

static void fmt_minor(int64_t v, int exp, char *out, size_t cap)
{
    int64_t p = 1;
    for (int i = 0; i < exp; i++)
        p *= 10;
    if (exp == 0)
        snprintf(out, cap, "%lld", (long long)v);
    else
        snprintf(out, cap, "%lld.%0*lld", (long long)(v / p), exp, (long long)(v % p));
}

static int is_id_key(const char *k)
{
    size_t n = k ? strlen(k) : 0;
    return n && (strcmp(k, "id") == 0 || (n > 3 && strcmp(k + n - 3, "_id") == 0));
}

/* Turn long digit strings under id keys back into bare JSON integers. */
static void ids_to_raw(cJSON *o)
{
    cJSON *c;
    cJSON_ArrayForEach(c, o)
    {
        if (cJSON_IsString(c) && is_id_key(c->string)) {
            const char *v = c->valuestring;
            size_t n = strlen(v), i = 0;
            while (i < n && isdigit((unsigned char)v[i]))
                i++;
            if (n >= 16 && i == n) {
                cJSON *raw = cJSON_CreateRaw(v);
                cJSON_ReplaceItemInObjectCaseSensitive(o, c->string, raw);
                c = raw;
            }
        } else if (cJSON_IsObject(c) || cJSON_IsArray(c)) {
            ids_to_raw(c);
        }
    }
}

static char *render_rest(const cJSON *o)
{
    cJSON *d = cJSON_Duplicate(o, 1);
    char *out;
    if (!d)
        return NULL;
    ids_to_raw(d);
    out = cJSON_PrintUnformatted(d);
    cJSON_Delete(d);
    return out;
}

static sorder *find(dg_shopsim *s, const char *id)
{
    for (size_t i = 0; id && i < s->n_orders; i++)
        if (!s->orders[i].deleted && strcmp(s->orders[i].id, id) == 0)
            return &s->orders[i];
    return NULL;
}

/* ------------------------------------------------------------ webhooks */

int64_t dg_shopsim_retry_delay(int n)
{
    /* 1+2+4+8+16+32+60+117 minutes = 4 hours */
    static const int64_t min[MAX_RETRIES] = {1, 2, 4, 8, 16, 32, 60, 117};
    return n >= 1 && n <= MAX_RETRIES ? min[n - 1] * 60000 : -1;
}

static void queue(dg_shopsim *s, const char *topic, char *body /* taken */)
{
    sdeliv *d = calloc(1, sizeof *d), **pp;
    unsigned char mac[32];
    char b64[64], whid[37], evid[37], at[40], trig[48];
    if (!d || !body) {
        free(d);
        free(body);
        return;
    }
    d->topic = strdup(topic);
    d->body = body;
    dg_hmac(DG_HMAC_SHA256, s->secret, strlen(s->secret), body, strlen(body), mac, sizeof mac);
    dg_base64_encode(mac, 32, b64, sizeof b64);
    uuid(s, whid);
    uuid(s, evid);
    iso_now(s, at, sizeof at); /* 2026-03-02T09:00:00.000Z -> nanoseconds as Shopify sends */
    snprintf(trig, sizeof trig, "%.23s000000Z", at);
    const char *hv[] = {"Content-Type", "application/json", "X-Shopify-Topic", topic,
                        "X-Shopify-Hmac-Sha256", b64, "X-Shopify-Shop-Domain", s->shop,
                        "X-Shopify-API-Version", s->version, "X-Shopify-Webhook-Id", whid,
                        "X-Shopify-Event-Id", evid, "X-Shopify-Triggered-At", trig, NULL};
    for (int i = 0; hv[i]; i++)
        d->hv[i] = strdup(hv[i]);
    d->pub.id = ++s->next_id;
    d->pub.topic = d->topic;
    d->pub.body = d->body;
    d->pub.body_len = strlen(d->body);
    d->pub.headers = (const char *const *)d->hv;
    d->pub.attempt = 1;
    d->pub.due_at = now_of(s);
    for (pp = &s->queue; *pp; pp = &(*pp)->next)
        ;
    *pp = d;
}

static void queue_order(dg_shopsim *s, const char *topic, const sorder *o)
{
    queue(s, topic, render_rest(o->o));
}

const dg_shopsim_delivery *dg_shopsim_next_due(dg_shopsim *s)
{
    int64_t now = now_of(s);
    sdeliv *best = NULL;
    for (sdeliv *d = s->queue; d; d = d->next)
        if (d->pub.due_at <= now && (!best || d->pub.due_at < best->pub.due_at))
            best = d;
    return best ? &best->pub : NULL;
}

int64_t dg_shopsim_next_due_at(const dg_shopsim *s)
{
    int64_t t = -1;
    for (sdeliv *d = s->queue; d; d = d->next)
        if (t < 0 || d->pub.due_at < t)
            t = d->pub.due_at;
    return t;
}

void dg_shopsim_delivered(dg_shopsim *s, uint64_t id, int status)
{
    for (sdeliv **pp = &s->queue; *pp; pp = &(*pp)->next) {
        sdeliv *d = *pp;
        if (d->pub.id != id)
            continue;
        if (status >= 200 && status < 300) {
            *pp = d->next;
            deliv_free(d);
        } else if (d->pub.attempt > MAX_RETRIES) {
            *pp = d->next;
            deliv_free(d);
            s->dropped++;
        } else {
            d->pub.due_at = now_of(s) + dg_shopsim_retry_delay(d->pub.attempt);
            d->pub.attempt++;
        }
        return;
    }
}

size_t dg_shopsim_queued(const dg_shopsim *s)
{
    size_t n = 0;
    for (sdeliv *d = s->queue; d; d = d->next)
        n++;
    return n;
}

size_t dg_shopsim_dropped(const dg_shopsim *s) { return s->dropped; }

/* -------------------------------------------------------------- orders */

int dg_shopsim_add_order(dg_shopsim *s, const char *json, size_t len, int notify)
{
    char idb[64];
    cJSON *o = sp_json_parse(json, len);
    const char *id = o ? sp_json_id(cJSON_GetObjectItemCaseSensitive(o, "id"), idb, sizeof idb) : NULL;
    if (!id || find(s, id)) {
        cJSON_Delete(o);
        return -1;
    }
    if (s->n_orders == s->cap_orders) {
        size_t cap = s->cap_orders ? s->cap_orders * 2 : 16;
        sorder *n = realloc(s->orders, cap * sizeof *n);
        if (!n) {
            cJSON_Delete(o);
            return -1;
        }
        s->orders = n;
        s->cap_orders = cap;
    }
    sorder *so = &s->orders[s->n_orders++];
    so->id = strdup(id);
    so->o = o;
    so->deleted = 0;
    if (notify)
        queue_order(s, "orders/create", so);
    return 0;
}

size_t dg_shopsim_order_count(const dg_shopsim *s)
{
    size_t n = 0;
    for (size_t i = 0; i < s->n_orders; i++)
        n += !s->orders[i].deleted;
    return n;
}

char *dg_shopsim_order_json(dg_shopsim *s, const char *id)
{
    sorder *o = find(s, id);
    return o ? render_rest(o->o) : NULL;
}

static void zero_outstanding(cJSON *o)
{
    char z[16];
    fmt_minor(0, sp_currency_exponent(gs(o, "currency")), z, sizeof z);
    set_str(o, "total_outstanding", z);
}

int dg_shopsim_pay(dg_shopsim *s, const char *id)
{
    sorder *o = find(s, id);
    char at[40];
    cJSON *ps;
    if (!o)
        return -1;
    iso_now(s, at, sizeof at);
    set_str(o->o, "financial_status", "paid");
    zero_outstanding(o->o);
    set_str(o->o, "updated_at", at);
    cJSON_ArrayForEach(ps, cJSON_GetObjectItem(cJSON_GetObjectItem(o->o, "payment_terms"),
                                               "payment_schedules"))
        set_str(ps, "completed_at", at);
    queue_order(s, "orders/updated", o);
    queue_order(s, "orders/paid", o);
    return 0;
}

int dg_shopsim_cancel(dg_shopsim *s, const char *id, const char *reason)
{
    sorder *o = find(s, id);
    char at[40], low[32];
    size_t i = 0;
    if (!o)
        return -1;
    if (gs(o->o, "cancelled_at"))
        return -2;
    for (; reason && reason[i] && i < sizeof low - 1; i++)
        low[i] = (char)tolower((unsigned char)reason[i]);
    low[i] = '\0';
    iso_now(s, at, sizeof at);
    set_str(o->o, "cancelled_at", at);
    set_str(o->o, "closed_at", at);
    set_str(o->o, "cancel_reason", i ? low : "other");
    set_str(o->o, "updated_at", at);
    if (sp_ieq(gs(o->o, "financial_status"), "pending")) {
        set_str(o->o, "financial_status", "voided");
        zero_outstanding(o->o);
    }
    queue_order(s, "orders/cancelled", o);
    queue_order(s, "orders/updated", o);
    return 0;
}

int dg_shopsim_delete(dg_shopsim *s, const char *id)
{
    sorder *o = find(s, id);
    char body[64];
    if (!o)
        return -1;
    o->deleted = 1;
    snprintf(body, sizeof body, "{\"id\":%s}", o->id);
    queue(s, "orders/delete", strdup(body));
    return 0;
}

/* ------------------------------------------------- GraphQL: the nodes */

static void cpv(cJSON *dst, const char *dk, const cJSON *src, const char *sk)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(src, sk);
    cJSON_AddItemToObject(dst, dk, v ? cJSON_Duplicate(v, 1) : cJSON_CreateNull());
}

static cJSON *money(const char *amount, const char *cur)
{
    cJSON *m = cJSON_CreateObject();
    cJSON_AddStringToObject(m, "amount", amount ? amount : "0.00");
    cJSON_AddStringToObject(m, "currencyCode", cur ? cur : "USD");
    return m;
}

static cJSON *money_bag(const char *shop_amt, const char *shop_cur, const char *pres_amt,
                        const char *pres_cur)
{
    cJSON *b = cJSON_CreateObject();
    cJSON_AddItemToObject(b, "shopMoney", money(shop_amt, shop_cur));
    cJSON_AddItemToObject(b, "presentmentMoney", money(pres_amt, pres_cur));
    return b;
}

static cJSON *gaddress(const cJSON *a)
{
    cJSON *o;
    if (!cJSON_IsObject(a))
        return cJSON_CreateNull();
    o = cJSON_CreateObject();
    cpv(o, "firstName", a, "first_name");
    cpv(o, "lastName", a, "last_name");
    cpv(o, "phone", a, "phone");
    cpv(o, "countryCodeV2", a, "country_code");
    cpv(o, "provinceCode", a, "province_code");
    return o;
}

static char *upper(const char *v, char *buf, size_t cap)
{
    size_t i = 0;
    for (; v && v[i] && i < cap - 1; i++)
        buf[i] = (char)toupper((unsigned char)v[i]);
    buf[i] = '\0';
    return buf;
}

/* REST order -> the node the plugin's DgOrderFields fragment selects. */
static cJSON *gql_node(const sorder *so)
{
    const cJSON *o = so->o, *e;
    cJSON *n = cJSON_CreateObject(), *x;
    char gid[96], buf[64], amt[48];
    const char *shop_cur = gs(o, "currency"), *pres_cur = gs(o, "presentment_currency");
    if (!pres_cur)
        pres_cur = shop_cur;
    snprintf(gid, sizeof gid, "gid://shopify/Order/%s", so->id);
    cJSON_AddStringToObject(n, "id", gid);
    cJSON_AddStringToObject(n, "legacyResourceId", so->id);
    cpv(n, "name", o, "name");
    cpv(n, "createdAt", o, "created_at");
    cpv(n, "updatedAt", o, "updated_at");
    cpv(n, "cancelledAt", o, "cancelled_at");
    cpv(n, "closedAt", o, "closed_at");
    cJSON_AddStringToObject(n, "displayFinancialStatus",
                            upper(gs(o, "financial_status"), buf, sizeof buf));
    cJSON_AddBoolToObject(n, "test", cJSON_IsTrue(cJSON_GetObjectItem(o, "test")));
    x = cJSON_AddArrayToObject(n, "tags");
    const char *tags = gs(o, "tags");
    while (tags && *tags) {
        const char *end = strchr(tags, ',');
        size_t len = end ? (size_t)(end - tags) : strlen(tags);
        while (len && isspace((unsigned char)*tags))
            tags++, len--;
        while (len && isspace((unsigned char)tags[len - 1]))
            len--;
        if (len) {
            char t[128];
            snprintf(t, sizeof t, "%.*s", (int)len, tags);
            cJSON_AddItemToArray(x, cJSON_CreateString(t));
        }
        tags = end ? end + 1 : NULL;
    }
    cpv(n, "email", o, "email");
    cpv(n, "phone", o, "phone");
    cpv(n, "customerLocale", o, "customer_locale");
    cpv(n, "statusPageUrl", o, "order_status_url");
    cpv(n, "currencyCode", o, "currency");
    cJSON_AddStringToObject(n, "presentmentCurrencyCode", pres_cur ? pres_cur : "USD");
    x = cJSON_AddArrayToObject(n, "customAttributes");
    cJSON_ArrayForEach(e, cJSON_GetObjectItem(o, "note_attributes"))
    {
        cJSON *a = cJSON_CreateObject();
        cpv(a, "key", e, "name");
        cpv(a, "value", e, "value");
        cJSON_AddItemToArray(x, a);
    }
    /* totals: the presentment outstanding in the proportion of the totals */
    const cJSON *tset = cJSON_GetObjectItem(o, "current_total_price_set");
    if (!cJSON_IsObject(tset))
        tset = cJSON_GetObjectItem(o, "total_price_set");
    const char *ts = gs(cJSON_GetObjectItem(tset, "shop_money"), "amount");
    const char *tp = gs(cJSON_GetObjectItem(tset, "presentment_money"), "amount");
    if (!ts)
        ts = gs(o, "current_total_price") ? gs(o, "current_total_price") : gs(o, "total_price");
    if (!tp)
        tp = ts;
    const char *owed_s = gs(o, "total_outstanding");
    int es = sp_currency_exponent(shop_cur), ep = sp_currency_exponent(pres_cur);
    int64_t os = 0, vs = 0, vp = 0, op = 0;
    if (owed_s)
        sp_money_parse(owed_s, es, &os);
    if (ts && tp && sp_money_parse(ts, es, &vs) == 0 && sp_money_parse(tp, ep, &vp) == 0 && vs > 0)
        op = (os * vp + vs / 2) / vs;
    else
        op = os;
    fmt_minor(op, ep, amt, sizeof amt);
    cJSON_AddItemToObject(n, "totalOutstandingSet",
                          money_bag(owed_s ? owed_s : "0.00", shop_cur, amt, pres_cur));
    cJSON_AddItemToObject(n, "currentTotalPriceSet", money_bag(ts, shop_cur, tp, pres_cur));
    x = cJSON_AddObjectToObject(n, "paymentCollectionDetails");
    cpv(x, "additionalPaymentCollectionUrl",
        cJSON_GetObjectItem(o, "payment_collection_details"), "additional_payment_collection_url");
    const cJSON *pt = cJSON_GetObjectItem(o, "payment_terms");
    if (cJSON_IsObject(pt)) {
        cJSON *t = cJSON_AddObjectToObject(n, "paymentTerms"), *nodes;
        cJSON_AddStringToObject(t, "paymentTermsType",
                                upper(gs(pt, "payment_terms_type"), buf, sizeof buf));
        cpv(t, "dueInDays", pt, "due_in_days");
        nodes = cJSON_AddArrayToObject(cJSON_AddObjectToObject(t, "paymentSchedules"), "nodes");
        int k = 0;
        cJSON_ArrayForEach(e, cJSON_GetObjectItem(pt, "payment_schedules"))
        {
            if (k++ >= 3)
                break;
            cJSON *ps = cJSON_CreateObject();
            cpv(ps, "issuedAt", e, "issued_at");
            cpv(ps, "dueAt", e, "due_at");
            cpv(ps, "completedAt", e, "completed_at");
            cJSON_AddItemToArray(nodes, ps);
        }
    } else {
        cJSON_AddNullToObject(n, "paymentTerms");
    }
    const cJSON *cu = cJSON_GetObjectItem(o, "customer");
    if (cJSON_IsObject(cu)) {
        char cid[64], cgid[96];
        x = cJSON_AddObjectToObject(n, "customer");
        if (sp_json_id(cJSON_GetObjectItem(cu, "id"), cid, sizeof cid)) {
            snprintf(cgid, sizeof cgid, "gid://shopify/Customer/%s", cid);
            cJSON_AddStringToObject(x, "id", cgid);
            cJSON_AddStringToObject(x, "legacyResourceId", cid);
        }
        cpv(x, "firstName", cu, "first_name");
        cpv(x, "lastName", cu, "last_name");
        cpv(x, "email", cu, "email");
        cpv(x, "phone", cu, "phone");
        const cJSON *oc = cJSON_GetObjectItem(cu, "orders_count");
        if (cJSON_IsNumber(oc)) { /* UnsignedInt64 is a string in GraphQL */
            snprintf(buf, sizeof buf, "%.0f", oc->valuedouble);
            cJSON_AddStringToObject(x, "numberOfOrders", buf);
        } else {
            cJSON_AddStringToObject(x, "numberOfOrders", "0");
        }
        cpv(x, "locale", cu, "locale");
        cJSON_AddItemToObject(x, "defaultAddress", gaddress(cJSON_GetObjectItem(cu, "default_address")));
    } else {
        cJSON_AddNullToObject(n, "customer");
    }
    cJSON_AddItemToObject(n, "billingAddress", gaddress(cJSON_GetObjectItem(o, "billing_address")));
    cJSON_AddItemToObject(n, "shippingAddress", gaddress(cJSON_GetObjectItem(o, "shipping_address")));
    x = cJSON_AddArrayToObject(cJSON_AddObjectToObject(n, "lineItems"), "nodes");
    int k = 0;
    cJSON_ArrayForEach(e, cJSON_GetObjectItem(o, "line_items"))
    {
        if (k++ >= 10)
            break;
        cJSON *li = cJSON_CreateObject(), *ups;
        cpv(li, "title", e, "title");
        cpv(li, "variantTitle", e, "variant_title");
        cpv(li, "sku", e, "sku");
        cpv(li, "quantity", e, "quantity");
        cpv(li, "currentQuantity", e, cJSON_HasObjectItem(e, "current_quantity") ? "current_quantity"
                                                                                 : "quantity");
        const cJSON *pm = cJSON_GetObjectItem(cJSON_GetObjectItem(e, "price_set"), "presentment_money");
        ups = cJSON_AddObjectToObject(li, "originalUnitPriceSet");
        cJSON_AddItemToObject(ups, "presentmentMoney",
                              money(pm ? gs(pm, "amount") : gs(e, "price"),
                                    pm ? gs(pm, "currency_code") : pres_cur));
        cJSON_AddItemToArray(x, li);
    }
    return n;
}

/* --------------------------------------------- GraphQL: search filter */

static int term_matches(const cJSON *o, const char *term)
{
    const char *colon = strchr(term, ':');
    char key[64];
    if (!colon || colon == term || (size_t)(colon - term) >= sizeof key)
        return 1; /* free text and unknown syntax: Shopify ignores, so do we */
    snprintf(key, sizeof key, "%.*s", (int)(colon - term), term);
    const char *v = colon + 1;
    if (strcmp(key, "financial_status") == 0)
        return sp_ieq(gs(o, "financial_status"), v);
    if (strcmp(key, "status") == 0) {
        int cancelled = gs(o, "cancelled_at") != NULL, closed = gs(o, "closed_at") != NULL;
        if (sp_ieq(v, "open"))
            return !cancelled && !closed;
        if (sp_ieq(v, "closed"))
            return closed;
        if (sp_ieq(v, "cancelled"))
            return cancelled;
        return 1; /* any */
    }
    return 1;
}

/* "a b OR c": OR of groups, each group an AND of terms. */
static int query_matches(const cJSON *o, const char *q)
{
    char buf[512], *save = NULL, *tok;
    int group_ok = 1, any = 0;
    if (!q || !q[0])
        return 1;
    snprintf(buf, sizeof buf, "%s", q);
    for (tok = strtok_r(buf, " \t", &save); tok; tok = strtok_r(NULL, " \t", &save)) {
        if (strcmp(tok, "OR") == 0) {
            if (group_ok)
                return 1;
            group_ok = 1;
            any = 0;
            continue;
        }
        if (strcmp(tok, "AND") == 0)
            continue;
        any = 1;
        group_ok = group_ok && term_matches(o, tok);
    }
    return group_ok || !any;
}

/* ------------------------------------------------- GraphQL: dispatcher */

static char *print_free(cJSON *o)
{
    char *s = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    return s;
}

static cJSON *error_doc(const char *message, const char *code)
{
    cJSON *r = cJSON_CreateObject(), *errs = cJSON_AddArrayToObject(r, "errors");
    cJSON *e = cJSON_CreateObject();
    cJSON_AddStringToObject(e, "message", message);
    if (code)
        cJSON_AddStringToObject(cJSON_AddObjectToObject(e, "extensions"), "code", code);
    cJSON_AddItemToArray(errs, e);
    return r;
}

static void add_cost(dg_shopsim *s, cJSON *r, double requested, double actual, int has_actual)
{
    cJSON *c = cJSON_AddObjectToObject(cJSON_AddObjectToObject(r, "extensions"), "cost");
    cJSON_AddNumberToObject(c, "requestedQueryCost", requested);
    if (has_actual)
        cJSON_AddNumberToObject(c, "actualQueryCost", actual);
    else
        cJSON_AddNullToObject(c, "actualQueryCost");
    cJSON *t = cJSON_AddObjectToObject(c, "throttleStatus");
    cJSON_AddNumberToObject(t, "maximumAvailable", s->bucket_max);
    cJSON_AddNumberToObject(t, "currentlyAvailable", (double)(int64_t)s->bucket);
    cJSON_AddNumberToObject(t, "restoreRate", s->restore);
}

static void refill(dg_shopsim *s)
{
    int64_t now = now_of(s);
    s->bucket += (double)(now - s->bucket_at) / 1000.0 * s->restore;
    if (s->bucket > s->bucket_max)
        s->bucket = s->bucket_max;
    s->bucket_at = now;
}

double dg_shopsim_bucket(dg_shopsim *s)
{
    refill(s);
    return s->bucket;
}

void dg_shopsim_fail_next(dg_shopsim *s, int status, int64_t retry_after_ms)
{
    s->fail_status = status;
    s->fail_retry_ms = retry_after_ms;
}

static void cursor_of(size_t idx, char *out, size_t cap)
{
    char raw[32];
    snprintf(raw, sizeof raw, "sim:%zu", idx);
    dg_base64_encode(raw, strlen(raw), out, cap);
}

static int cursor_parse(const char *c, size_t *idx)
{
    unsigned char raw[48];
    int n = c ? dg_base64_decode(c, strlen(c), raw, sizeof raw - 1) : -1;
    if (n <= 4)
        return -1;
    raw[n] = '\0';
    if (strncmp((char *)raw, "sim:", 4) != 0 || !isdigit(raw[4]))
        return -1;
    *idx = (size_t)strtoull((char *)raw + 4, NULL, 10);
    return 0;
}

static cJSON *run_orders(dg_shopsim *s, const cJSON *vars, double *actual)
{
    const cJSON *fv = cJSON_GetObjectItem(vars, "first");
    const char *after = gs(vars, "after"), *q = gs(vars, "query");
    int first = cJSON_IsNumber(fv) ? (int)fv->valuedouble : 0, got = 0;
    size_t start = 0, last = 0, i;
    if (first < 1 || first > 250)
        return error_doc("first must be between 1 and 250", "BAD_REQUEST");
    if (after) {
        if (cursor_parse(after, &start) != 0)
            return error_doc("Invalid cursor for current pagination sort.", "BAD_REQUEST");
        start++;
    }
    cJSON *r = cJSON_CreateObject();
    cJSON *orders = cJSON_AddObjectToObject(cJSON_AddObjectToObject(r, "data"), "orders");
    cJSON *pi = cJSON_AddObjectToObject(orders, "pageInfo");
    cJSON *nodes = cJSON_AddArrayToObject(orders, "nodes");
    int more = 0;
    for (i = start; i < s->n_orders; i++) {
        if (s->orders[i].deleted || !query_matches(s->orders[i].o, q))
            continue;
        if (got == first) {
            more = 1;
            break;
        }
        cJSON_AddItemToArray(nodes, gql_node(&s->orders[i]));
        last = i;
        got++;
    }
    cJSON_AddBoolToObject(pi, "hasNextPage", more);
    if (got) {
        char c[64];
        cursor_of(last, c, sizeof c);
        cJSON_AddStringToObject(pi, "endCursor", c);
    } else {
        cJSON_AddNullToObject(pi, "endCursor");
    }
    *actual = 2 + got * s->node_cost;
    return r;
}

static cJSON *run_order(dg_shopsim *s, const cJSON *vars, double *actual)
{
    char id[64];
    const char *gid = gs(vars, "id");
    cJSON *r = cJSON_CreateObject(), *d = cJSON_AddObjectToObject(r, "data");
    sorder *o = sp_json_id(cJSON_GetObjectItem(vars, "id"), id, sizeof id) &&
                        gid && strncmp(gid, "gid://shopify/Order/", 20) == 0
                    ? find(s, id)
                    : NULL;
    if (o) {
        cJSON_AddItemToObject(d, "order", gql_node(o));
        *actual = 1 + s->node_cost;
    } else {
        cJSON_AddNullToObject(d, "order");
        *actual = 1;
    }
    return r;
}

static cJSON *run_cancel(dg_shopsim *s, const cJSON *vars, double *actual)
{
    char id[64], job[37], jgid[80];
    static const char *const reasons[] = {"CUSTOMER", "DECLINED", "FRAUD", "INVENTORY",
                                          "OTHER", "STAFF", NULL};
    const char *reason = gs(vars, "reason");
    int ok_reason = 0;
    cJSON *r = cJSON_CreateObject(), *oc, *errs;
    *actual = 10;
    for (int i = 0; reason && reasons[i]; i++)
        ok_reason |= strcmp(reason, reasons[i]) == 0;
    if (!ok_reason || !cJSON_IsBool(cJSON_GetObjectItem(vars, "restock"))) {
        cJSON_Delete(r);
        return error_doc("Variable $reason or $restock of the wrong type", "INVALID_VARIABLE");
    }
    oc = cJSON_AddObjectToObject(cJSON_AddObjectToObject(r, "data"), "orderCancel");
    errs = cJSON_CreateArray();
    const char *msg = NULL, *code = NULL;
    int rc = sp_json_id(cJSON_GetObjectItem(vars, "orderId"), id, sizeof id)
                 ? dg_shopsim_cancel(s, id, reason)
                 : -1;
    if (rc == -1)
        msg = "Order does not exist", code = "NOT_FOUND";
    else if (rc == -2)
        msg = "Order has already been cancelled", code = "INVALID";
    if (msg) {
        cJSON *e = cJSON_CreateObject(), *f = cJSON_AddArrayToObject(e, "field");
        cJSON_AddItemToArray(f, cJSON_CreateString("orderId"));
        cJSON_AddStringToObject(e, "message", msg);
        cJSON_AddStringToObject(e, "code", code);
        cJSON_AddItemToArray(errs, e);
        cJSON_AddNullToObject(oc, "job");
    } else {
        cJSON *j = cJSON_AddObjectToObject(oc, "job");
        uuid(s, job);
        snprintf(jgid, sizeof jgid, "gid://shopify/Job/%s", job);
        cJSON_AddStringToObject(j, "id", jgid);
        cJSON_AddBoolToObject(j, "done", 0);
    }
    cJSON_AddItemToObject(oc, "orderCancelUserErrors", errs);
    return r;
}

void dg_shopsim_graphql(dg_shopsim *s, const char *token, const char *body, size_t len,
                        dg_shopsim_reply *out)
{
    cJSON *req = NULL, *r = NULL;
    const cJSON *vars;
    const char *q;
    double requested, actual = 0;
    memset(out, 0, sizeof *out);
    out->status = 200;
    if (!token || strcmp(token, s->token) != 0) {
        out->status = 401;
        out->body = strdup("{\"errors\":\"[API] Invalid API key or access token (unrecognized "
                           "login or wrong password)\"}");
        return;
    }
    if (s->fail_status) {
        out->status = s->fail_status;
        out->retry_after_ms = s->fail_retry_ms;
        out->body = strdup(s->fail_status == 429 ? "{\"errors\":\"Exceeded 2 calls per second "
                                                   "for api client. Reduce request rates to "
                                                   "resume uninterrupted service.\"}"
                                                 : "{\"errors\":\"Internal error\"}");
        s->fail_status = 0;
        return;
    }
    req = cJSON_ParseWithLength(body, len);
    q = gs(req, "query");
    vars = cJSON_GetObjectItem(req, "variables");
    if (!q) {
        out->status = 400;
        out->body = print_free(error_doc("No query string was present", NULL));
        cJSON_Delete(req);
        return;
    }
    const cJSON *first = cJSON_GetObjectItem(vars, "first");
    if (strstr(q, "query DgOrders"))
        requested = 2 + (cJSON_IsNumber(first) ? first->valuedouble : 0) * s->node_cost;
    else if (strstr(q, "query DgOrder"))
        requested = 1 + s->node_cost;
    else if (strstr(q, "mutation DgOrderCancel"))
        requested = 10;
    else {
        out->body = print_free(error_doc("operation not supported by the simulator", NULL));
        cJSON_Delete(req);
        return;
    }
    if (requested > s->bucket_max) {
        char m[160];
        snprintf(m, sizeof m, "Query cost is %.0f, which exceeds the single query max cost "
                 "limit (%.0f).", requested, s->bucket_max);
        r = error_doc(m, "MAX_COST_EXCEEDED");
        add_cost(s, r, requested, 0, 0);
    } else {
        refill(s);
        if (s->bucket < requested) {
            r = error_doc("Throttled", "THROTTLED");
            add_cost(s, r, requested, 0, 0);
        } else {
            if (strstr(q, "query DgOrders"))
                r = run_orders(s, vars, &actual);
            else if (strstr(q, "query DgOrder"))
                r = run_order(s, vars, &actual);
            else
                r = run_cancel(s, vars, &actual);
            if (actual > requested)
                actual = requested;
            s->bucket -= actual;
            add_cost(s, r, requested, actual, 1);
        }
    }
    out->body = print_free(r);
    cJSON_Delete(req);
}
