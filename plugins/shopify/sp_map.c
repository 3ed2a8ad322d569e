/* A Shopify order (REST/webhook JSON shape) -> dg_order_event. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sp.h"

static const char *keep(sp_event *e, const char *s)
{
    char *c;
    if (!s)
        return NULL;
    if (e->n_strs == e->cap_strs) {
        size_t cap = e->cap_strs ? e->cap_strs * 2 : 32;
        char **n = realloc(e->strs, cap * sizeof *n);
        if (!n)
            return NULL;
        e->strs = n;
        e->cap_strs = cap;
    }
    c = strdup(s);
    if (c)
        e->strs[e->n_strs++] = c;
    return c;
}

void sp_event_free(sp_event *e)
{
    if (!e)
        return;
    for (size_t i = 0; i < e->n_strs; i++)
        free(e->strs[i]);
    free(e->strs);
    free(e->items);
    free(e->tags);
    memset(e, 0, sizeof *e);
}

static const char *str(const cJSON *o, const char *k)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
    return cJSON_IsString(v) && v->valuestring[0] ? v->valuestring : NULL;
}

static const cJSON *obj(const cJSON *o, const char *k)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
    return cJSON_IsObject(v) ? v : NULL;
}

static int64_t time_of(const cJSON *o, const char *k)
{
    int64_t t = 0;
    const char *s = str(o, k);
    return s && sp_time_parse(s, &t) == DG_OK ? t : 0;
}

/* amount of a money string in `currency`; -1 when absent or invalid */
static int64_t money_of(const char *s, const char *currency)
{
    int64_t v;
    if (!s || sp_money_parse(s, sp_currency_exponent(currency), &v) != DG_OK)
        return -1;
    return v;
}

/* obj[k].<which>_money.amount (a *_set object) */
static const char *set_amount(const cJSON *o, const char *k, const char *which,
                              const char **currency)
{
    const cJSON *m = obj(obj(o, k), which);
    if (!m)
        return NULL;
    if (currency)
        *currency = str(m, "currency_code");
    return str(m, "amount");
}

/* Split "a, b ,c" into trimmed tags. */
static int split_tags(sp_event *e, const char *s)
{
    size_t n = 0, cap = 0;
    char **v = NULL;
    while (s && *s) {
        const char *end = strchr(s, ',');
        size_t len = end ? (size_t)(end - s) : strlen(s);
        const char *a = s, *b = s + len;
        while (a < b && isspace((unsigned char)*a))
            a++;
        while (b > a && isspace((unsigned char)b[-1]))
            b--;
        if (b > a) {
            char tmp[256];
            snprintf(tmp, sizeof tmp, "%.*s", (int)(b - a), a);
            if (n == cap) {
                cap = cap ? cap * 2 : 8;
                char **nv = realloc(v, cap * sizeof *nv);
                if (!nv) {
                    free(v);
                    return DG_ENOMEM;
                }
                v = nv;
            }
            v[n] = (char *)keep(e, tmp);
            if (v[n])
                n++;
        }
        s = end ? end + 1 : NULL;
    }
    e->tags = v;
    e->ev.tags = (const char *const *)v;
    e->ev.n_tags = n;
    return DG_OK;
}

static int truthy_attr(const char *v)
{
    return v && v[0] && !sp_ieq(v, "false") && !sp_ieq(v, "0") && !sp_ieq(v, "no");
}

static int is_presale(const cJSON *order, const sp_event *e, const sp_map_opts *o)
{
    for (size_t i = 0; i < e->ev.n_tags; i++)
        for (size_t k = 0; k < o->n_presale_tags; k++)
            if (sp_ieq(e->ev.tags[i], o->presale_tags[k]))
                return 1;
    if (o->presale_note_attribute) {
        const cJSON *a;
        cJSON_ArrayForEach(a, cJSON_GetObjectItemCaseSensitive(order, "note_attributes"))
        {
            if (sp_ieq(str(a, "name"), o->presale_note_attribute) && truthy_attr(str(a, "value")))
                return 1;
        }
    }
    return 0;
}

/* Balance due time from payment_terms (0 unknown). */
static int64_t due_of(const cJSON *order, int64_t created)
{
    const cJSON *pt = obj(order, "payment_terms"), *s;
    int64_t best = 0;
    if (!pt)
        return 0;
    cJSON_ArrayForEach(s, cJSON_GetObjectItemCaseSensitive(pt, "payment_schedules"))
    {
        int64_t d = time_of(s, "due_at");
        if (str(s, "completed_at") || !d)
            continue;
        if (!best || d < best)
            best = d;
    }
    if (best)
        return best;
    const char *type = str(pt, "payment_terms_type");
    const cJSON *days = cJSON_GetObjectItemCaseSensitive(pt, "due_in_days");
    if (sp_ieq(type, "net") && cJSON_IsNumber(days) && days->valuedouble > 0 && created)
        return created + (int64_t)days->valuedouble * 86400000;
    if (sp_ieq(type, "receipt")) { /* due on receipt: due when issued */
        cJSON_ArrayForEach(s, cJSON_GetObjectItemCaseSensitive(pt, "payment_schedules"))
        {
            int64_t d = time_of(s, "issued_at");
            if (d)
                return d;
        }
        return created;
    }
    return 0; /* fulfillment / fixed without a date: unknown yet */
}

static void fill_customer(sp_event *e, const cJSON *order, const sp_map_opts *o)
{
    dg_customer *c = &e->ev.customer;
    const cJSON *cu = obj(order, "customer"), *ship = obj(order, "shipping_address"),
                *bill = obj(order, "billing_address"), *def = obj(cu, "default_address");
    const cJSON *addr_src[] = {ship, bill, def};
    char buf[64];
    DG_INIT(c);
    c->orders_count = -1;
    c->paid_orders_count = -1;
    c->id = keep(e, sp_json_id(cJSON_GetObjectItemCaseSensitive(cu, "id"), buf, sizeof buf));
    c->first_name =
        keep(e, str(cu, "first_name") ? str(cu, "first_name") : str(bill, "first_name"));
    c->last_name = keep(e, str(cu, "last_name") ? str(cu, "last_name") : str(bill, "last_name"));
    c->email = keep(e, str(order, "email")           ? str(order, "email")
                       : str(order, "contact_email") ? str(order, "contact_email")
                                                     : str(cu, "email"));
    c->locale =
        keep(e, str(order, "customer_locale") ? str(order, "customer_locale") : str(cu, "locale"));
    for (size_t i = 0; i < 3 && !c->country; i++) {
        const char *cc = str(addr_src[i], "country_code");
        if (cc) {
            c->country = keep(e, cc);
            c->province = keep(e, str(addr_src[i], "province_code"));
        }
    }
    const char *phones[] = {str(order, "phone"), str(cu, "phone"), str(bill, "phone"),
                            str(ship, "phone"), str(def, "phone")};
    for (size_t i = 0; i < 5 && !c->phone; i++) {
        char e164[24];
        if (phones[i] && sp_phone_e164(phones[i], c->country, e164, sizeof e164) == DG_OK)
            c->phone = keep(e, e164);
    }
    const char *tz = sp_tz_hint(c->country, c->province);
    c->tz_hint = keep(e, tz ? tz : o->default_timezone);
    const cJSON *oc = cJSON_GetObjectItemCaseSensitive(cu, "orders_count");
    if (!oc)
        oc = cJSON_GetObjectItemCaseSensitive(cu, "number_of_orders");
    double n = -1;
    if (cJSON_IsNumber(oc))
        n = oc->valuedouble;
    else if (cJSON_IsString(oc))
        n = strtod(oc->valuestring, NULL);
    /* the count includes this order: earlier orders = count - 1 */
    if (n >= 1)
        c->orders_count = n > 1e6 ? 1000000 : (int32_t)n - 1;
    else if (n == 0)
        c->orders_count = 0;
}

static int fill_items(sp_event *e, const cJSON *order, const char *currency)
{
    const cJSON *li, *arr = cJSON_GetObjectItemCaseSensitive(order, "line_items");
    size_t n = 0, cap = (size_t)cJSON_GetArraySize(arr), used = 0;
    char summary[1024];
    summary[0] = '\0';
    if (!cap)
        return DG_OK;
    e->items = calloc(cap, sizeof *e->items);
    if (!e->items)
        return DG_ENOMEM;
    cJSON_ArrayForEach(li, arr)
    {
        dg_line_item *it = &e->items[n];
        const cJSON *q = cJSON_GetObjectItemCaseSensitive(li, "current_quantity");
        if (!cJSON_IsNumber(q))
            q = cJSON_GetObjectItemCaseSensitive(li, "quantity");
        int32_t qty = cJSON_IsNumber(q) ? (int32_t)q->valuedouble : 1;
        if (qty <= 0)
            continue; /* removed by an edit */
        DG_INIT(it);
        it->title = keep(e, str(li, "title") ? str(li, "title") : str(li, "name"));
        it->variant = keep(e, str(li, "variant_title"));
        it->sku = keep(e, str(li, "sku"));
        it->quantity = qty;
        const char *p = set_amount(li, "price_set", "presentment_money", NULL);
        int64_t v = money_of(p ? p : str(li, "price"), currency);
        it->unit_price_minor = v < 0 ? 0 : v;
        if (used < sizeof summary - 1) {
            int w;
            if (it->variant)
                w = snprintf(summary + used, sizeof summary - used, "%s%s (%s) \xc3\x97%d",
                             used ? ", " : "", it->title ? it->title : "item", it->variant, qty);
            else
                w = snprintf(summary + used, sizeof summary - used, "%s%s \xc3\x97%d",
                             used ? ", " : "", it->title ? it->title : "item", qty);
            if (w > 0 && (size_t)w < sizeof summary - used) {
                used += (size_t)w;
            } else {
                summary[used] = '\0';
                snprintf(summary + used, sizeof summary - used, ", \xe2\x80\xa6");
                used = sizeof summary;
            }
        }
        n++;
    }
    e->ev.items = e->items;
    e->ev.n_items = n;
    e->ev.items_summary = keep(e, summary[0] ? summary : NULL);
    return DG_OK;
}

int sp_map_order(const cJSON *order, const char *topic, const sp_map_opts *o, sp_event *e,
                 char *err, size_t err_len)
{
    char idbuf[64];
    dg_order_event *ev = &e->ev;
    memset(e, 0, sizeof *e);
    DG_INIT(ev);
    ev->kind = DG_ORDER_UPSERT;
    ev->customer.struct_size = sizeof ev->customer;
    ev->customer.orders_count = -1;
    ev->customer.paid_orders_count = -1;
    if (!cJSON_IsObject(order) ||
        !(ev->order_id = keep(
              e, sp_json_id(cJSON_GetObjectItemCaseSensitive(order, "id"), idbuf, sizeof idbuf)))) {
        snprintf(err, err_len, "order without a usable id");
        return DG_EINVAL;
    }
    ev->order_name = keep(e, str(order, "name"));
    ev->updated_at = time_of(order, "updated_at");
    ev->created_at = time_of(order, "created_at");
    if (topic && strcmp(topic, "orders/delete") == 0) {
        ev->kind = DG_ORDER_DELETED; /* the payload is just {"id": ...} */
        return DG_OK;
    }
    const char *shop_cur = str(order, "currency"), *pres_cur = str(order, "presentment_currency");
    const char *cur = pres_cur ? pres_cur : shop_cur;
    const char *fin = str(order, "financial_status");
    ev->currency = keep(e, cur);

    /* amount owed: presentment money when we have it, else converted from shop
     * money in the proportion of the totals; shop money if neither works */
    int differs = pres_cur && shop_cur && !sp_ieq(pres_cur, shop_cur);
    const char *c2 = NULL;
    const char *a = set_amount(order, "total_outstanding_set", "presentment_money", &c2);
    const char *tp = set_amount(order, "current_total_price_set", "presentment_money", NULL);
    const char *ts = set_amount(order, "current_total_price_set", "shop_money", NULL);
    if (!tp)
        tp = set_amount(order, "total_price_set", "presentment_money", NULL);
    if (!ts)
        ts = set_amount(order, "total_price_set", "shop_money", NULL);
    if (!ts)
        ts = str(order, "current_total_price") ? str(order, "current_total_price")
                                               : str(order, "total_price");
    int64_t shop_owed = money_of(str(order, "total_outstanding"), shop_cur);
    int64_t shop_total = money_of(ts, shop_cur);
    int64_t owed = a ? money_of(a, c2 ? c2 : cur) : -1;
    int64_t total = tp ? money_of(tp, cur) : differs ? -1 : shop_total;
    if (owed < 0 && shop_owed >= 0) {
        if (!differs)
            owed = shop_owed;
        else if (total >= 0 && shop_total > 0 && (shop_owed == 0 || total <= INT64_MAX / shop_owed))
            owed = (shop_owed * total + shop_total / 2) / shop_total;
    }
    if (differs && (total < 0 || (owed < 0 && shop_owed >= 0))) {
        cur = shop_cur; /* cannot say it in the customer's currency */
        ev->currency = keep(e, shop_cur);
        owed = shop_owed;
        total = shop_total;
    }
    if (owed < 0 && sp_ieq(fin, "pending") && total >= 0)
        owed = total; /* nothing paid yet */
    if (owed < 0)
        owed = 0;
    ev->amount_owed_minor = owed;
    ev->order_total_minor = total < 0 ? 0 : total;

    if (split_tags(e, str(order, "tags")) != DG_OK || fill_items(e, order, cur) != DG_OK) {
        snprintf(err, err_len, "out of memory");
        return DG_ENOMEM;
    }
    fill_customer(e, order, o);
    ev->due_at = due_of(order, ev->created_at);

    if (is_presale(order, e, o) || (sp_ieq(fin, "partially_paid") && ev->due_at)) {
        ev->flow = DG_FLOW_PRESALE_BALANCE;
    } else if (sp_ieq(fin, "pending")) {
        ev->flow = DG_FLOW_UNPAID_ORDER;
        ev->close_at = ev->due_at
                           ? ev->due_at
                           : (ev->created_at ? ev->created_at + o->unpaid_close_after_ms : 0);
    }

    /* pay link: collection URL > draft invoice > order status page */
    const char *link =
        str(obj(order, "payment_collection_details"), "additional_payment_collection_url");
    if (!link)
        link = str(order, "invoice_url");
    if (!link)
        link = str(order, "order_status_url");
    ev->pay_link = keep(e, link);

    if (topic && strcmp(topic, "orders/paid") == 0)
        ev->kind = DG_ORDER_PAID;
    else if ((topic && strcmp(topic, "orders/cancelled") == 0) || str(order, "cancelled_at"))
        ev->kind = DG_ORDER_CANCELLED;
    else if (owed == 0 &&
             (sp_ieq(fin, "paid") || sp_ieq(fin, "partially_refunded") || sp_ieq(fin, "refunded")))
        ev->kind = DG_ORDER_PAID;
    return DG_OK;
}
