/* Shared by the Shopify plugin tests (see shopify_t.h). */
#include "../unit/cm.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crypto.h"
#include "shopify_t.h"

void env_up(env *e, const char *conf)
{
    char err[256] = "";
    e->d = shopify_LTX_dg_plugin_query();
    e->h = fh_new("shop", conf ? conf : CONF);
    assert_int_equal(fh_create_start(e->h, e->d, &e->self, err, sizeof err), DG_OK);
}

void env_down(env *e)
{
    assert_int_equal(fh_stop_destroy(e->h, e->d, e->self, 0), 0);
    assert_int_equal(fh_double_completions(e->h), 0);
    /* no secret ever reaches a log line */
    assert_null(strstr(fh_log_text(e->h), "shpat_test_token"));
    assert_null(strstr(fh_log_text(e->h), SECRET));
    fh_free(e->h);
}

char *load(const char *name)
{
    char path[1024];
    const char *top = getenv("DG_TOP_SRCDIR");
    snprintf(path, sizeof path, "%s/tests/plugins/shopify/%s", top ? top : "..", name);
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *b = malloc((size_t)n + 1);
    assert_int_equal(fread(b, 1, (size_t)n, f), (size_t)n);
    b[n] = '\0';
    fclose(f);
    return b;
}

void sign(const char *secret, const char *body, char *out, size_t cap)
{
    unsigned char mac[32];
    assert_int_equal(dg_hmac(DG_HMAC_SHA256, secret, strlen(secret), body, strlen(body), mac, 32),
                     32);
    assert_true(dg_base64_encode(mac, 32, out, cap) > 0);
}

int deliver(env *e, const char *topic, const char *body, const char *secret,
                   const char *whid, const char *evid, fh_response *r)
{
    char mac[64] = "";
    if (secret)
        sign(secret, body, mac, sizeof mac);
    const char *hdr[] = {"X-Shopify-Topic",
                         topic,
                         "X-Shopify-Shop-Domain",
                         SHOP,
                         "X-Shopify-API-Version",
                         "2025-10",
                         "X-Shopify-Webhook-Id",
                         whid,
                         "X-Shopify-Event-Id",
                         evid,
                         "X-Shopify-Triggered-At",
                         "2026-03-02T09:00:00.123456789Z",
                         secret ? "X-Shopify-Hmac-Sha256" : NULL,
                         mac,
                         NULL};
    memset(r, 0, sizeof *r);
    return fh_request(e->h, "POST", PATH, NULL, hdr, body, strlen(body), r);
}

