/* The simulator's Shopify persona: Admin GraphQL (see shopify_sim.h). */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "../plugins/shopify/sp.h"
#include "crypto.h"
#include "shopify_sim.h"
#include "shopify_sim_int.h"

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
    const char *shop_cur = shopsim_gs(o, "currency"),
               *pres_cur = shopsim_gs(o, "presentment_currency");
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
                            upper(shopsim_gs(o, "financial_status"), buf, sizeof buf));
    cJSON_AddBoolToObject(n, "test", cJSON_IsTrue(cJSON_GetObjectItem(o, "test")));
    x = cJSON_AddArrayToObject(n, "tags");
    const char *tags = shopsim_gs(o, "tags");
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
    const char *ts = shopsim_gs(cJSON_GetObjectItem(tset, "shop_money"), "amount");
    const char *tp = shopsim_gs(cJSON_GetObjectItem(tset, "presentment_money"), "amount");
    if (!ts)
        ts = shopsim_gs(o, "current_total_price") ? shopsim_gs(o, "current_total_price")
                                                  : shopsim_gs(o, "total_price");
    if (!tp)
        tp = ts;
    const char *owed_s = shopsim_gs(o, "total_outstanding");
    int es = sp_currency_exponent(shop_cur), ep = sp_currency_exponent(pres_cur);
    int64_t os = 0, vs = 0, vp = 0, op = 0;
    if (owed_s)
        sp_money_parse(owed_s, es, &os);
    if (ts && tp && sp_money_parse(ts, es, &vs) == 0 && sp_money_parse(tp, ep, &vp) == 0 && vs > 0)
        op = (os * vp + vs / 2) / vs;
    else
        op = os;
    shopsim_fmt_minor(op, ep, amt, sizeof amt);
    cJSON_AddItemToObject(n, "totalOutstandingSet",
                          money_bag(owed_s ? owed_s : "0.00", shop_cur, amt, pres_cur));
    cJSON_AddItemToObject(n, "currentTotalPriceSet", money_bag(ts, shop_cur, tp, pres_cur));
    x = cJSON_AddObjectToObject(n, "paymentCollectionDetails");
    cpv(x, "additionalPaymentCollectionUrl", cJSON_GetObjectItem(o, "payment_collection_details"),
        "additional_payment_collection_url");
    const cJSON *pt = cJSON_GetObjectItem(o, "payment_terms");
    if (cJSON_IsObject(pt)) {
        cJSON *t = cJSON_AddObjectToObject(n, "paymentTerms"), *nodes;
        cJSON_AddStringToObject(t, "paymentTermsType",
                                upper(shopsim_gs(pt, "payment_terms_type"), buf, sizeof buf));
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
        cJSON_AddItemToObject(x, "defaultAddress",
                              gaddress(cJSON_GetObjectItem(cu, "default_address")));
    } else {
        cJSON_AddNullToObject(n, "customer");
    }
    cJSON_AddItemToObject(n, "billingAddress", gaddress(cJSON_GetObjectItem(o, "billing_address")));
    cJSON_AddItemToObject(n, "shippingAddress",
                          gaddress(cJSON_GetObjectItem(o, "shipping_address")));
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
        cpv(li, "currentQuantity", e,
            cJSON_HasObjectItem(e, "current_quantity") ? "current_quantity" : "quantity");
        const cJSON *pm =
            cJSON_GetObjectItem(cJSON_GetObjectItem(e, "price_set"), "presentment_money");
        ups = cJSON_AddObjectToObject(li, "originalUnitPriceSet");
        cJSON_AddItemToObject(ups, "presentmentMoney",
                              money(pm ? shopsim_gs(pm, "amount") : shopsim_gs(e, "price"),
                                    pm ? shopsim_gs(pm, "currency_code") : pres_cur));
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
        return sp_ieq(shopsim_gs(o, "financial_status"), v);
    if (strcmp(key, "status") == 0) {
        int cancelled = shopsim_gs(o, "cancelled_at") != NULL,
            closed = shopsim_gs(o, "closed_at") != NULL;
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
    int64_t now = shopsim_now(s);
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
    const char *after = shopsim_gs(vars, "after"), *q = shopsim_gs(vars, "query");
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
    const char *gid = shopsim_gs(vars, "id");
    cJSON *r = cJSON_CreateObject(), *d = cJSON_AddObjectToObject(r, "data");
    sorder *o = sp_json_id(cJSON_GetObjectItem(vars, "id"), id, sizeof id) && gid &&
                        strncmp(gid, "gid://shopify/Order/", 20) == 0
                    ? shopsim_find(s, id)
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
                                          "OTHER",    "STAFF",    NULL};
    const char *reason = shopsim_gs(vars, "reason");
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
        shopsim_uuid(s, job);
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
    q = shopsim_gs(req, "query");
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
        snprintf(m, sizeof m,
                 "Query cost is %.0f, which exceeds the single query max cost "
                 "limit (%.0f).",
                 requested, s->bucket_max);
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
