/* Bench: the core's HTTP server with one webhook route that verifies an
 * HMAC-SHA256 signature (hex, header X-Signature, key "bench-secret") over
 * the raw body, in constant time, and answers 200 {"ok":true} or 401.
 * Usage: ingest_server PORTFILE */
#include <stdio.h>
#include <string.h>

#include "crypto.h"
#include "http_server.h"

static long ok_count, bad_count;

static void on_hook(void *ud, dg_http_req *req)
{
    size_t len;
    const void *body = dg_http_server_req_body(req, &len);
    const char *sig = dg_http_server_req_header(req, "X-Signature");
    unsigned char mac[32];
    char hex[65];
    dg_kv ct[] = {{"Content-Type", "application/json", 0}};
    (void)ud;
    dg_hmac(DG_HMAC_SHA256, "bench-secret", 12, body, len, mac, sizeof mac);
    dg_hex_encode(mac, sizeof mac, hex, sizeof hex);
    if (sig && dg_ct_equal(sig, strlen(sig), hex, 64)) {
        ok_count++;
        dg_http_server_respond(req, 200, ct, 1, "{\"ok\":true}", 11);
    } else {
        bad_count++;
        dg_http_server_respond(req, 401, ct, 1, "{\"ok\":false}", 12);
    }
}

int main(int argc, char **argv)
{
    dg_http_server *s;
    dg_http_server_opts o;
    char err[256];
    FILE *f;
    if (argc < 2)
        return 2;
    memset(&o, 0, sizeof o);
    o.max_connections = 4096;
    if (dg_http_server_new(uv_default_loop(), &o, &s) ||
        dg_http_server_listen(s, "127.0.0.1:0", err, sizeof err)) {
        fprintf(stderr, "%s\n", err);
        return 1;
    }
    dg_http_server_route(s, "POST", "/webhooks/bench", 0, NULL, on_hook, NULL);
    f = fopen(argv[1], "w");
    fprintf(f, "%d\n", dg_http_server_port(s));
    fclose(f);
    return uv_run(uv_default_loop(), UV_RUN_DEFAULT);
}
