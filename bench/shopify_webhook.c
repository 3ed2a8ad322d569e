/* Cost of the Shopify webhook path without the network: HMAC check of the
 * raw body, the exact-id JSON parse, the mapping to dg_order_event, on a
 * realistic signed payload. Prints microseconds per operation and rates.
 * Usage: shopify_webhook PAYLOAD.json [ITERATIONS] */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cjson/cJSON.h>

#include "../plugins/shopify/sp.h"
#include "crypto.h"

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
    const char *secret = "shpss_test_secret";
    const char *tags[] = {"pre-order", "deposit"};
    sp_map_opts o = {tags, 2, "preorder", 1440 * 60000LL, NULL};
    long iters = argc > 2 ? atol(argv[2]) : 2000;
    unsigned char mac[32];
    char b64[64], err[128], want[64];
    FILE *f = argc > 1 ? fopen(argv[1], "rb") : NULL;
    if (!f || iters <= 0) {
        fprintf(stderr, "usage: %s PAYLOAD.json [ITERATIONS]\n", argv[0]);
        return 2;
    }
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *body = malloc((size_t)n + 1);
    if (!body || fread(body, 1, (size_t)n, f) != (size_t)n)
        return 1;
    body[n] = '\0';
    fclose(f);
    dg_hmac(DG_HMAC_SHA256, secret, strlen(secret), body, (size_t)n, mac, 32);
    dg_base64_encode(mac, 32, want, sizeof want);

    double t0 = now_s();
    int ok = 0;
    for (long i = 0; i < iters; i++) {
        dg_hmac(DG_HMAC_SHA256, secret, strlen(secret), body, (size_t)n, mac, 32);
        dg_base64_encode(mac, 32, b64, sizeof b64);
        ok += dg_ct_equal(b64, strlen(b64), want, strlen(want));
    }
    double t_hmac = (now_s() - t0) / (double)iters;

    t0 = now_s();
    for (long i = 0; i < iters; i++) {
        cJSON *r = sp_json_parse(body, (size_t)n);
        ok += r != NULL;
        cJSON_Delete(r);
    }
    double t_parse = (now_s() - t0) / (double)iters;

    cJSON *root = sp_json_parse(body, (size_t)n);
    t0 = now_s();
    for (long i = 0; i < iters; i++) {
        sp_event e;
        ok += sp_map_order(root, "orders/updated", &o, &e, err, sizeof err) == DG_OK;
        sp_event_free(&e);
    }
    double t_map = (now_s() - t0) / (double)iters;
    cJSON_Delete(root);

    t0 = now_s();
    for (long i = 0; i < iters; i++) {
        cJSON *r = cJSON_ParseWithLength(body, (size_t)n);
        cJSON_Delete(r);
    }
    double t_cjson = (now_s() - t0) / (double)iters;

    double total = t_hmac + t_parse + t_map;
    printf("payload: %s (%ld bytes), %ld iterations, %d checks ok\n", argv[1], n, iters, ok);
    printf("hmac+base64+ct_equal : %8.1f us\n", t_hmac * 1e6);
    printf("exact-id JSON parse  : %8.1f us   (plain cJSON parse %.1f us)\n", t_parse * 1e6,
           t_cjson * 1e6);
    printf("map to order event   : %8.1f us\n", t_map * 1e6);
    printf("total per webhook    : %8.1f us = %.0f webhooks/s on one core (no HTTP, no store)\n",
           total * 1e6, 1.0 / total);
    free(body);
    return ok == 3 * iters ? 0 : 1;
}
