/* The host table's HTTP slots through a real instance: a test plugin
 * registers a signed-webhook route and calls out through the host client;
 * stopping the instance removes its routes, answers its held requests 503
 * and cancels its calls (no callback after). */
#include "../unit/cm.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http_client.h"
#include "http_server.h"
#include "instance.h"

/* ---------------------------------------------------------------- plugin */

typedef struct hp {
    const dg_host *host;
    dg_instance *inst;
    char path[128];
    dg_op op;
    dg_http_req *held;
    int done_calls;
    int webhooks;
} hp;

static hp *g_last;

static void hp_webhook(void *ud, dg_http_req *req)
{
    hp *p = ud;
    const dg_host *h = p->host;
    unsigned char mac[32];
    char hex[65];
    size_t len;
    const void *body = h->http_req_body(req, &len);
    const char *sig = h->http_req_header(req, "x-signature");
    dg_kv ct[] = {{"Content-Type", "application/json", 0}};
    p->webhooks++;
    h->hmac(DG_HMAC_SHA256, "s3cret", 6, body, len, mac, sizeof mac);
    h->hex_encode(mac, 32, hex, sizeof hex);
    if (!sig || !h->ct_equal(sig, strlen(sig), hex, 64)) {
        h->http_respond(req, 401, ct, 1, "{\"ok\":false}", 12);
        return;
    }
    h->http_respond(req, 200, ct, 1, "{\"ok\":true}", 11);
}

static void hp_hold(void *ud, dg_http_req *req)
{
    hp *p = ud;
    p->held = req;
}

static int hp_create(const dg_host *host, dg_instance *inst, void **self, char *err, size_t n)
{
    hp *p = calloc(1, sizeof *p);
    (void)err, (void)n;
    p->host = host;
    p->inst = inst;
    snprintf(p->path, sizeof p->path, "/webhooks/hp/%s", host->instance_name(inst));
    *self = g_last = p;
    return 0;
}

static int hp_start(void *self, char *err, size_t n)
{
    hp *p = self;
    char hold[160];
    int rc = p->host->http_route(p->inst, "POST", p->path, hp_webhook, p);
    snprintf(hold, sizeof hold, "%s/hold", p->path);
    if (!rc)
        rc = p->host->http_route(p->inst, "GET", hold, hp_hold, p);
    if (rc)
        snprintf(err, n, "route: %d", rc);
    return rc;
}

static int hp_stop(void *self, dg_op op)
{
    (void)self, (void)op;
    return DG_OK;
}

static void hp_destroy(void *self) { free(self); }

static void hp_on_resp(void *ud, const dg_http_response *r)
{
    hp *p = ud;
    dg_result res;
    DG_INIT(&res);
    p->done_calls++;
    res.status = r->status == 200 ? DG_OK : DG_EIO;
    p->host->complete(p->inst, p->op, &res);
}

static int hp_send(void *self, const dg_outbound_message *m, dg_op op)
{
    hp *p = self;
    dg_http_request req;
    DG_INIT(&req);
    req.method = "GET";
    req.url = m->text; /* the test passes the URL to call */
    p->op = op;
    return p->host->http_request(p->inst, &req, hp_on_resp, p, NULL) == DG_OK ? DG_PENDING
                                                                             : DG_EIO;
}

static const dg_channel_ops hp_ops = {sizeof(dg_channel_ops), 0, hp_create, hp_start, hp_stop,
                                      hp_destroy, hp_send, NULL, {0}};
static const dg_plugin_descriptor hp_desc = {
    sizeof(dg_plugin_descriptor), DG_ABI_MAJOR, DG_ABI_MINOR, DG_PLUGIN_CHANNEL, "hp", "1.0",
    "test", NULL, &hp_ops, NULL, {0}};

/* ---------------------------------------------------------------- fixture */

typedef struct fx {
    uv_loop_t loop;
    dg_runtime rt;
    dg_plugin plugin;
    char base[64];
} fx;

typedef struct got {
    int calls, status;
    char body[256];
} got;

static void on_resp(void *ud, const dg_http_response *r)
{
    got *g = ud;
    g->calls++;
    g->status = r->status;
    snprintf(g->body, sizeof g->body, "%.*s", (int)r->body_len, r->body);
}

static void on_op(void *ud, dg_instance *inst, const dg_result *res)
{
    int *st = ud;
    (void)inst;
    *st = res->status;
}

static int setup(void **state)
{
    fx *f = calloc(1, sizeof *f);
    char err[128];
    uv_loop_init(&f->loop);
    assert_int_equal(dg_runtime_init(&f->rt), 0);
    f->rt.loop = &f->loop;
    f->rt.clock = dg_clock_new(NULL, DG_CLOCK_MANUAL, 1000000, 1);
    f->rt.metrics = dg_metrics_new();
    assert_int_equal(dg_http_server_new(&f->loop, NULL, (dg_http_server **)&f->rt.http_server), 0);
    assert_int_equal(dg_http_server_listen(f->rt.http_server, "127.0.0.1:0", err, sizeof err), 0);
    assert_int_equal(dg_http_client_new(&f->loop, NULL, (dg_http_client **)&f->rt.http_client),
                     0);
    snprintf(f->base, sizeof f->base, "http://127.0.0.1:%d",
             dg_http_server_port(f->rt.http_server));
    f->plugin.desc = &hp_desc;
    f->plugin.channel = hp_ops;
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fx *f = *state;
    while (f->rt.instances)
        dg_instance_destroy(f->rt.instances);
    dg_http_server_free(f->rt.http_server);
    dg_http_client_free(f->rt.http_client);
    uv_run(&f->loop, UV_RUN_DEFAULT);
    assert_int_equal(uv_loop_close(&f->loop), 0);
    dg_clock_free(f->rt.clock);
    dg_metrics_free(f->rt.metrics);
    dg_runtime_cleanup(&f->rt);
    free(f);
    return 0;
}

static dg_instance *make(fx *f, const char *name)
{
    dg_instance *inst = NULL;
    char err[256] = "";
    assert_int_equal(dg_instance_create_json(&f->rt, name, &f->plugin, cJSON_CreateObject(),
                                             &inst, err, sizeof err),
                     0);
    assert_int_equal(dg_instance_start(inst, err, sizeof err), 0);
    return inst;
}

/* POST body to path with signature sig through the core's own client. */
static void post(fx *f, const char *path, const char *body, const char *sig, got *g)
{
    char url[192];
    dg_kv h[] = {{"X-Signature", sig, 0}};
    dg_http_request r;
    int want = g->calls + 1;
    DG_INIT(&r);
    snprintf(url, sizeof url, "%s%s", f->base, path);
    r.method = "POST";
    r.url = url;
    r.body = body;
    r.body_len = strlen(body);
    r.headers = h;
    r.n_headers = sig ? 1 : 0;
    assert_int_equal(dg_http_client_request(f->rt.http_client, NULL, &r, on_resp, g, NULL), 0);
    while (g->calls < want)
        uv_run(&f->loop, UV_RUN_ONCE);
}

static void test_signed_webhook_route(void **state)
{
    fx *f = *state;
    got g = {0};
    const char *body = "{\"id\":820982911946154508,\"total\":\"10.00\"}";
    unsigned char mac[32];
    char hex[65];
    const dg_host *h = dg_host_table();
    make(f, "wa1");
    h->hmac(DG_HMAC_SHA256, "s3cret", 6, body, strlen(body), mac, sizeof mac);
    h->hex_encode(mac, 32, hex, sizeof hex);
    post(f, "/webhooks/hp/wa1", body, hex, &g);
    assert_int_equal(g.status, 200);
    assert_string_equal(g.body, "{\"ok\":true}");
    post(f, "/webhooks/hp/wa1", body, "00ff", &g);
    assert_int_equal(g.status, 401);
    post(f, "/webhooks/hp/nobody", body, hex, &g);
    assert_int_equal(g.status, 404);
    /* a second instance cannot take the same path */
    make(f, "wa1b");
    assert_int_equal(h->http_route(g_last->inst, "POST", "/webhooks/hp/wa1", hp_webhook, g_last),
                     DG_EEXIST);
}

static void test_stop_removes_routes_and_calls(void **state)
{
    fx *f = *state;
    got g = {0};
    int st = 99, hold_done = 0;
    char url[192];
    dg_instance *inst = make(f, "wa2");
    hp *p = g_last;
    dg_outbound_message m;
    const dg_host *h = dg_host_table();
    dg_http_request r;
    /* a webhook the plugin holds, and an outbound call that never returns */
    DG_INIT(&r);
    snprintf(url, sizeof url, "%s/webhooks/hp/wa2/hold", f->base);
    r.url = url;
    assert_int_equal(dg_http_client_request(f->rt.http_client, NULL, &r, on_resp, &g, NULL), 0);
    while (!p->held)
        uv_run(&f->loop, UV_RUN_ONCE);
    DG_INIT(&m);
    m.text = url; /* the plugin calls our own held route */
    assert_int_equal(dg_instance_send(inst, &m, on_op, &st), DG_PENDING);
    while (dg_http_server_pending(f->rt.http_server) < 2)
        uv_run(&f->loop, UV_RUN_ONCE);
    assert_int_equal(dg_instance_stop(inst, on_op, &hold_done), DG_OK);
    /* the held webhook got 503, the op was failed by the host, no callback */
    while (g.calls < 1)
        uv_run(&f->loop, UV_RUN_ONCE);
    assert_int_equal(g.status, 503);
    assert_non_null(strstr(g.body, "\"error\": \"unavailable\""));
    assert_int_equal(st, DG_ECANCELED);
    assert_int_equal(p->done_calls, 0);
    assert_int_equal(dg_http_client_active(f->rt.http_client), 0);
    /* the route is gone; the stopped instance may not call or route */
    post(f, "/webhooks/hp/wa2", "{}", "x", &g);
    assert_int_equal(g.status, 404);
    DG_INIT(&r);
    r.url = url;
    assert_int_equal(h->http_request(inst, &r, hp_on_resp, p, NULL), DG_ESTATE);
    assert_int_equal(h->http_route(inst, "GET", "/x", hp_hold, p), DG_ESTATE);
    /* both held requests (the webhook and the plugin's own call) were answered */
    p->held = NULL;
    assert_int_equal(dg_http_server_pending(f->rt.http_server), 0);
    for (int i = 0; i < 20; i++)
        uv_run(&f->loop, UV_RUN_NOWAIT);
    assert_int_equal(p->done_calls, 0);
}

static void test_no_server(void **state)
{
    fx *f = *state;
    dg_instance *inst = NULL;
    dg_http_server *s = f->rt.http_server;
    char err[256];
    f->rt.http_server = NULL;
    assert_int_equal(dg_instance_create_json(&f->rt, "wa3", &f->plugin, cJSON_CreateObject(),
                                             &inst, err, sizeof err),
                     0);
    assert_int_not_equal(dg_instance_start(inst, err, sizeof err), 0);
    assert_non_null(strstr(err, "route: -5")); /* DG_ENOTSUP */
    f->rt.http_server = s;
}

/* The host's HMAC (cached, re-keyed context) against Python's hmac module,
 * alternating algorithms and keys so no state leaks between calls. */
static void test_hmac_rekeyed(void **state)
{
    const dg_host *h = dg_host_table();
    unsigned char mac[32], big[100];
    char hex[65];
    (void)state;
    memset(big, 'k', sizeof big);
    for (int round = 0; round < 2; round++) {
        assert_int_equal(h->hmac(DG_HMAC_SHA256, "", 0, "abc", 3, mac, sizeof mac), 32);
        h->hex_encode(mac, 32, hex, sizeof hex);
        assert_string_equal(hex, "fd7adb152c05ef80dccf50a1fa4c05d5a3ec6da95575fc312ae7c5d091836351");
        assert_int_equal(h->hmac(DG_HMAC_SHA256, big, 100, "abc", 3, mac, sizeof mac), 32);
        h->hex_encode(mac, 32, hex, sizeof hex);
        assert_string_equal(hex, "b58b2b694fdba0dd76da3ebe99174f728d327560f36ece224e90867972479922");
        assert_int_equal(h->hmac(DG_HMAC_SHA1, "key", 3,
                                 "The quick brown fox jumps over the lazy dog", 43, mac, sizeof mac),
                         20);
        h->hex_encode(mac, 20, hex, sizeof hex);
        assert_string_equal(hex, "de7c9b85b8b78aa6bc8a7a36f70a90701c9db4d9");
        assert_int_equal(h->hmac(DG_HMAC_SHA256, "key", 3, NULL, 0, mac, sizeof mac), 32);
        h->hex_encode(mac, 32, hex, sizeof hex);
        assert_string_equal(hex, "5d5d139563c95b5967b9bd9a8c9b233a9dedb45072794cd232dc1b74832607d0");
    }
    assert_int_equal(h->hmac(DG_HMAC_SHA256, "key", 3, "a", 1, mac, 16), DG_EINVAL);
    assert_int_equal(h->hmac((dg_hmac_alg)7, "key", 3, "a", 1, mac, sizeof mac), DG_EINVAL);
}

static void test_config_keys(void **state)
{
    dg_config *cfg = NULL;
    char err[256];
    (void)state;
    assert_int_equal(dg_config_parse("/tmp/x.json", "{\"daemon\": {}}", &cfg, err, sizeof err), 0);
    assert_int_equal(cfg->http_header_timeout_ms, 10000);
    assert_int_equal(cfg->http_body_timeout_ms, 30000);
    assert_int_equal(cfg->http_idle_timeout_ms, 60000);
    assert_int_equal(cfg->http_max_connections, 1024);
    assert_int_equal(cfg->http_max_header_bytes, 16384);
    dg_config_free(cfg);
    assert_int_equal(dg_config_parse("/tmp/x.json",
                                     "{\"daemon\": {\"http_header_timeout_ms\": 2000,\n"
                                     " \"http_max_connections\": 10}}",
                                     &cfg, err, sizeof err),
                     0);
    assert_int_equal(cfg->http_header_timeout_ms, 2000);
    assert_int_equal(cfg->http_max_connections, 10);
    dg_config_free(cfg);
    assert_int_not_equal(dg_config_parse("/tmp/x.json",
                                         "{\"daemon\": {\"http_max_connections\": 0}}", &cfg,
                                         err, sizeof err),
                         0);
    assert_non_null(strstr(err, "daemon.http_max_connections"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_signed_webhook_route, setup, teardown),
        cmocka_unit_test_setup_teardown(test_stop_removes_routes_and_calls, setup, teardown),
        cmocka_unit_test_setup_teardown(test_no_server, setup, teardown),
        cmocka_unit_test(test_config_keys),
        cmocka_unit_test(test_hmac_rekeyed),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
