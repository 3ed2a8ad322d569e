/* The simulator's Shopify persona (see shopify_sim.h). */
#include "shopify_sim.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "../plugins/shopify/sp.h"
#include "crypto.h"

#include "shopify_sim_int.h"

#define MAX_RETRIES 8

int64_t shopsim_now(const dg_shopsim *s)
{
    return s->now ? s->now(s->now_ud) : 0;
}

static char *dupz(const char *v, const char *def)
{
    return strdup(v ? v : def);
}

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
    s->bucket_at = shopsim_now(s);
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

void shopsim_uuid(dg_shopsim *s, char out[37])
{
    uint64_t a = rnd(s), b = rnd(s);
    a = (a & ~0xF000ULL) | 0x4000ULL;                        /* version 4 */
    b = (b & 0x3FFFFFFFFFFFFFFFULL) | 0x8000000000000000ULL; /* variant */
    snprintf(out, 37, "%08x-%04x-%04x-%04x-%012llx", (unsigned)(a >> 32),
             (unsigned)((a >> 16) & 0xFFFF), (unsigned)(a & 0xFFFF), (unsigned)(b >> 48),
             (unsigned long long)(b & 0xFFFFFFFFFFFFULL));
}

static void iso_now(dg_shopsim *s, char *out, size_t cap)
{
    sp_time_format(shopsim_now(s), out, cap);
}

static void set_str(cJSON *o, const char *k, const char *v)
{
    cJSON *n = v ? cJSON_CreateString(v) : cJSON_CreateNull();
    if (cJSON_HasObjectItem(o, k))
        cJSON_ReplaceItemInObjectCaseSensitive(o, k, n);
    else
        cJSON_AddItemToObject(o, k, n);
}

const char *shopsim_gs(const cJSON *o, const char *k)
{
    return cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(o, k));
}

void shopsim_fmt_minor(int64_t v, int exp, char *out, size_t cap)
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

sorder *shopsim_find(dg_shopsim *s, const char *id)
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
    shopsim_uuid(s, whid);
    shopsim_uuid(s, evid);
    iso_now(s, at, sizeof at); /* 2026-03-02T09:00:00.000Z -> nanoseconds as Shopify sends */
    snprintf(trig, sizeof trig, "%.23s000000Z", at);
    const char *hv[] = {"Content-Type",
                        "application/json",
                        "X-Shopify-Topic",
                        topic,
                        "X-Shopify-Hmac-Sha256",
                        b64,
                        "X-Shopify-Shop-Domain",
                        s->shop,
                        "X-Shopify-API-Version",
                        s->version,
                        "X-Shopify-Webhook-Id",
                        whid,
                        "X-Shopify-Event-Id",
                        evid,
                        "X-Shopify-Triggered-At",
                        trig,
                        NULL};
    for (int i = 0; hv[i]; i++)
        d->hv[i] = strdup(hv[i]);
    d->pub.id = ++s->next_id;
    d->pub.topic = d->topic;
    d->pub.body = d->body;
    d->pub.body_len = strlen(d->body);
    d->pub.headers = (const char *const *)d->hv;
    d->pub.attempt = 1;
    d->pub.due_at = shopsim_now(s);
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
    int64_t now = shopsim_now(s);
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
            d->pub.due_at = shopsim_now(s) + dg_shopsim_retry_delay(d->pub.attempt);
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

size_t dg_shopsim_dropped(const dg_shopsim *s)
{
    return s->dropped;
}

/* -------------------------------------------------------------- orders */

int dg_shopsim_add_order(dg_shopsim *s, const char *json, size_t len, int notify)
{
    char idb[64];
    cJSON *o = sp_json_parse(json, len);
    const char *id =
        o ? sp_json_id(cJSON_GetObjectItemCaseSensitive(o, "id"), idb, sizeof idb) : NULL;
    if (!id || shopsim_find(s, id)) {
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
    sorder *o = shopsim_find(s, id);
    return o ? render_rest(o->o) : NULL;
}

static void zero_outstanding(cJSON *o)
{
    char z[16];
    shopsim_fmt_minor(0, sp_currency_exponent(shopsim_gs(o, "currency")), z, sizeof z);
    set_str(o, "total_outstanding", z);
}

int dg_shopsim_pay(dg_shopsim *s, const char *id)
{
    sorder *o = shopsim_find(s, id);
    char at[40];
    cJSON *ps;
    if (!o)
        return -1;
    iso_now(s, at, sizeof at);
    set_str(o->o, "financial_status", "paid");
    zero_outstanding(o->o);
    set_str(o->o, "updated_at", at);
    cJSON_ArrayForEach(
        ps, cJSON_GetObjectItem(cJSON_GetObjectItem(o->o, "payment_terms"), "payment_schedules"))
        set_str(ps, "completed_at", at);
    queue_order(s, "orders/updated", o);
    queue_order(s, "orders/paid", o);
    return 0;
}

int dg_shopsim_cancel(dg_shopsim *s, const char *id, const char *reason)
{
    sorder *o = shopsim_find(s, id);
    char at[40], low[32];
    size_t i = 0;
    if (!o)
        return -1;
    if (shopsim_gs(o->o, "cancelled_at"))
        return -2;
    for (; reason && reason[i] && i < sizeof low - 1; i++)
        low[i] = (char)tolower((unsigned char)reason[i]);
    low[i] = '\0';
    iso_now(s, at, sizeof at);
    set_str(o->o, "cancelled_at", at);
    set_str(o->o, "closed_at", at);
    set_str(o->o, "cancel_reason", i ? low : "other");
    set_str(o->o, "updated_at", at);
    if (sp_ieq(shopsim_gs(o->o, "financial_status"), "pending")) {
        set_str(o->o, "financial_status", "voided");
        zero_outstanding(o->o);
    }
    queue_order(s, "orders/cancelled", o);
    queue_order(s, "orders/updated", o);
    return 0;
}

int dg_shopsim_delete(dg_shopsim *s, const char *id)
{
    sorder *o = shopsim_find(s, id);
    char body[64];
    if (!o)
        return -1;
    o->deleted = 1;
    snprintf(body, sizeof body, "{\"id\":%s}", o->id);
    queue(s, "orders/delete", strdup(body));
    return 0;
}
