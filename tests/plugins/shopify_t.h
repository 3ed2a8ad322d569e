/* Shared by the Shopify plugin tests: the plugin on a fake host with a
 * test config, fixtures, and signed webhook deliveries. */
#ifndef DG_TEST_SHOPIFY_T_H
#define DG_TEST_SHOPIFY_T_H

#include "fakehost.h"

const dg_plugin_descriptor *shopify_LTX_dg_plugin_query(void);

#define SECRET "shpss_test_secret"
#define OLD_SECRET "shpss_old_secret"
#define SHOP "duegate-demo.myshopify.com"
#define PATH "/webhooks/shopify/shop"
#define CONF                                                                                       \
    "{\"shop_domain\":\"" SHOP "\",\"access_token\":\"shpat_test_token\","                         \
    "\"client_secret\":\"" SECRET "\",\"previous_client_secret\":\"" OLD_SECRET "\","              \
    "\"rotation_until\":\"2026-03-02T10:00:00Z\",\"presale_note_attribute\":\"preorder\","         \
    "\"reconcile_interval_s\":0,\"admin_base\":\"http://127.0.0.1:8089\",\"page_size\":2}"

typedef struct env {
    fh *h;
    void *self;
    const dg_plugin_descriptor *d;
} env;

/* Create and start the plugin (conf NULL: CONF). */
void env_up(env *e, const char *conf);
/* Stop and free; checks no double completion and no secret in the logs. */
void env_down(env *e);
/* tests/plugins/shopify/NAME, malloc'd. */
char *load(const char *name);
/* base64 HMAC-SHA256 of body under secret. */
void sign(const char *secret, const char *body, char *out, size_t cap);
/* Deliver a webhook signed with `secret` (NULL: no signature header). */
int deliver(env *e, const char *topic, const char *body, const char *secret, const char *whid,
            const char *evid, fh_response *r);

#endif
