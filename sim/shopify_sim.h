/* The simulator's Shopify persona, without networking: a shop that holds
 * orders (REST/webhook JSON shape), answers the Admin GraphQL operations the
 * duegate plugin sends, with Shopify's cost throttle on an injected clock,
 * and produces signed webhook deliveries that are retried on non-2xx like
 * Shopify (8 retries over 4 hours, same payload, same ids).
 *
 * GraphQL is recognised by operation name (DgOrders, DgOrder,
 * DgOrderCancel, as sent by plugins/shopify): this is not a GraphQL parser,
 * and the answer always has the plugin's field selection.
 *
 * Ownership: the simulator copies everything it is given; strings it returns
 * are malloc'd for the caller unless said otherwise. Single-threaded. */
#ifndef DG_SIM_SHOPIFY_SIM_H
#define DG_SIM_SHOPIFY_SIM_H

#include <stddef.h>
#include <stdint.h>

typedef struct dg_shopsim dg_shopsim;
typedef int64_t (*dg_shopsim_now_fn)(void *ud);

typedef struct dg_shopsim_config {
    const char *shop_domain;   /* "duegate-demo.myshopify.com" */
    const char *client_secret; /* webhook HMAC key */
    const char *access_token;  /* expected X-Shopify-Access-Token */
    const char *api_version;   /* "2025-10" */
    double bucket_max;         /* cost points (default 1000) */
    double restore_rate;       /* points per second (default 100) */
    double node_cost;          /* cost of one order node (default 45) */
    uint64_t seed;             /* for webhook/event ids (deterministic) */
    dg_shopsim_now_fn now;     /* the clock (ms since epoch) */
    void *now_ud;
} dg_shopsim_config;

dg_shopsim *dg_shopsim_new(const dg_shopsim_config *cfg);
void dg_shopsim_free(dg_shopsim *s);

/* ---- orders. Ids are kept exact (JSON integers of any size). */
/* Add an order; queues an orders/create webhook when `notify`. Returns 0,
 * -1 on a bad payload or a duplicate id. */
int dg_shopsim_add_order(dg_shopsim *s, const char *rest_json, size_t len, int notify);
/* The customer pays the outstanding balance: financial_status paid, nothing
 * outstanding, schedules completed; queues orders/updated + orders/paid. */
int dg_shopsim_pay(dg_shopsim *s, const char *order_id);
/* Cancel as the merchant would (also what orderCancel does); queues
 * orders/cancelled + orders/updated. Returns 0, -1 unknown, -2 already. */
int dg_shopsim_cancel(dg_shopsim *s, const char *order_id, const char *reason);
/* Delete; queues orders/delete ({"id": N}). */
int dg_shopsim_delete(dg_shopsim *s, const char *order_id);
/* The order as REST JSON (ids as bare integers), or NULL. Caller frees. */
char *dg_shopsim_order_json(dg_shopsim *s, const char *order_id);
size_t dg_shopsim_order_count(const dg_shopsim *s);

/* ---- Admin GraphQL (POST /admin/api/<ver>/graphql.json). */
typedef struct dg_shopsim_reply {
    int status;             /* HTTP status */
    char *body;             /* JSON; caller frees */
    int64_t retry_after_ms; /* > 0: send Retry-After (429) */
} dg_shopsim_reply;
void dg_shopsim_graphql(dg_shopsim *s, const char *access_token, const char *body, size_t len,
                        dg_shopsim_reply *out);
/* Make the next GraphQL request fail with `status` (e.g. 429 with a
 * Retry-After of retry_after_ms, or 503). */
void dg_shopsim_fail_next(dg_shopsim *s, int status, int64_t retry_after_ms);
/* Points currently in the bucket. */
double dg_shopsim_bucket(dg_shopsim *s);

/* ---- webhook deliveries. */
typedef struct dg_shopsim_delivery {
    uint64_t id;
    const char *topic;
    const char *body; /* raw bytes that were signed */
    size_t body_len;
    const char *const *headers; /* NULL-terminated name, value list */
    int attempt;                /* 1 for the first try */
    int64_t due_at;
} dg_shopsim_delivery;

/* The earliest delivery due at the clock's now, or NULL. Owned by the
 * simulator, valid until dg_shopsim_delivered for it. */
const dg_shopsim_delivery *dg_shopsim_next_due(dg_shopsim *s);
/* When the next delivery (or retry) is due, -1 if none is queued. */
int64_t dg_shopsim_next_due_at(const dg_shopsim *s);
/* Report what the endpoint answered (0: no connection). 2xx removes the
 * delivery; anything else schedules the next retry or, after the 8th,
 * drops it. */
void dg_shopsim_delivered(dg_shopsim *s, uint64_t id, int http_status);
size_t dg_shopsim_queued(const dg_shopsim *s);
size_t dg_shopsim_dropped(const dg_shopsim *s);
/* Delay before retry n (1..8) in ms; -1 beyond. */
int64_t dg_shopsim_retry_delay(int n);

#endif
