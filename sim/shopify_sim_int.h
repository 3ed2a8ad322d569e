/* Private to the simulator's Shopify persona (shopify_sim.c orders and
 * webhooks, shopify_sim_gql.c Admin GraphQL): the shared state. */
#ifndef DG_SIM_SHOPIFY_SIM_INT_H
#define DG_SIM_SHOPIFY_SIM_INT_H

#include <cjson/cJSON.h>

#include "shopify_sim.h"

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

int64_t shopsim_now(const dg_shopsim *s);
void shopsim_uuid(dg_shopsim *s, char out[37]);
const char *shopsim_gs(const cJSON *o, const char *k);
void shopsim_fmt_minor(int64_t v, int exp, char *out, size_t cap);
sorder *shopsim_find(dg_shopsim *s, const char *id); /* NULL if unknown or deleted */

#endif
