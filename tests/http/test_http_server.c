/* The HTTP server against raw sockets on 127.0.0.1 (port chosen by the OS):
 * every limit and error answer, keep-alive, pipelining order, chunked
 * bodies, 100-continue, async answers, timeouts and slow clients. */
#include "../unit/cm.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sched.h>
#include <sys/socket.h>

#include "rawhttp.h"

static dg_http_server_opts small_opts(void)
{
    dg_http_server_opts o;
    memset(&o, 0, sizeof o);
    o.max_body_bytes = 4096;
    o.max_header_bytes = 2048;
    o.header_timeout_ms = 300;
    o.body_timeout_ms = 300;
    o.idle_timeout_ms = 300;
    o.max_connections = 300;
    return o;
}

static int setup(void **state)
{
    dg_http_server_opts o = small_opts();
    *state = srv_start(&o);
    return 0;
}

static int teardown(void **state)
{
    srv_stop(*state);
    return 0;
}

static void expect_json_error(const char *resp, int status, const char *error)
{
    char want[128];
    assert_non_null(resp);
    assert_int_equal(raw_status(resp), status);
    assert_non_null(strstr(resp, "Content-Type: application/json\r\n"));
    snprintf(want, sizeof want, "{\"error\": \"%s\", \"detail\": \"", error);
    assert_non_null(strstr(raw_body(resp), want));
}

static void test_echo_query_headers_body(void **state)
{
    srvfx *fx = *state;
    rawc *c = raw_connect(fx->port);
    char *r;
    assert_true(fx->port > 0);
    raw_send(c, "POST /echo?a=1&b=two HTTP/1.1\r\nHost: x\r\nX-TEST: Sig=abc\r\n"
                "Content-Length: 10\r\n\r\n{\"k\":\"\x01v\"}");
    r = raw_response(c);
    assert_int_equal(raw_status(r), 200);
    assert_non_null(strstr(r, "X-Echo: 1\r\n"));
    assert_string_equal(raw_body(r), "M=POST\nP=/echo\nQ=a=1&b=two\nH=Sig=abc\nN=10\nB={\"k\":\"\x01v\"}");
    free(r);
    /* same connection: keep-alive, no query, no header */
    raw_send(c, "GET /echo HTTP/1.1\r\nHost: x\r\n\r\n");
    r = raw_response(c);
    assert_int_equal(raw_status(r), 200);
    assert_string_equal(raw_body(r), "M=GET\nP=/echo\nQ=\nH=(none)\nN=0\nB=");
    assert_null(strstr(r, "Connection: close"));
    free(r);
    /* many headers (beyond the inline table), the wanted one last, split
     * across writes; an empty header value */
    raw_send(c, "GET /echo HTTP/1.1\r\nX-Empty:\r\n");
    for (int i = 0; i < 40; i++) {
        char h[48];
        snprintf(h, sizeof h, "X-H%d: v%d\r\n", i, i);
        raw_send(c, h);
    }
    raw_send(c, "x-TeSt: la");
    raw_send(c, "st\r\n\r\n");
    r = raw_response(c);
    assert_non_null(strstr(raw_body(r), "H=last\n"));
    free(r);
    /* HEAD: Content-Length of the answer, no body bytes; the next answer
     * on the same connection is intact */
    raw_send(c, "HEAD /echo HTTP/1.1\r\n\r\nGET /fast HTTP/1.1\r\n\r\n");
    {
        char head[512] = "";
        size_t n = 0;
        while (n < sizeof head - 1 && !strstr(head, "\r\n\r\n")) {
            assert_int_equal(raw_read_exact(c, head + n, 1), 0);
            head[++n] = '\0';
        }
        assert_int_equal(raw_status(head), 200);
        assert_non_null(strstr(head, "Content-Length: 33\r\n"));
    }
    r = raw_response(c);
    assert_string_equal(raw_body(r), "fast");
    free(r);
    raw_close(c);
}

static void test_http10_closes(void **state)
{
    srvfx *fx = *state;
    rawc *c = raw_connect(fx->port);
    char *r;
    raw_send(c, "GET /fast HTTP/1.0\r\n\r\n");
    r = raw_response(c);
    assert_int_equal(raw_status(r), 200);
    assert_non_null(strstr(r, "Connection: close\r\n"));
    assert_true(raw_closed(c, 2000));
    free(r);
    raw_close(c);
}

static void test_pipelining_answers_in_order(void **state)
{
    srvfx *fx = *state;
    rawc *c = raw_connect(fx->port);
    char *r;
    /* the first is held by its handler; the later two are answered at once */
    raw_send(c, "GET /hold HTTP/1.1\r\nHost: x\r\n\r\n"
                "GET /fast HTTP/1.1\r\nHost: x\r\n\r\n"
                "GET /echo?n=3 HTTP/1.1\r\nHost: x\r\n\r\n");
    while (srv_held(fx) < 1)
        assert_true(raw_quiet(c, 20));
    assert_true(raw_quiet(c, 100)); /* nothing may overtake the held answer */
    srv_answer_held(fx);
    r = raw_response(c);
    assert_string_equal(raw_body(r), "held");
    free(r);
    r = raw_response(c);
    assert_string_equal(raw_body(r), "fast");
    free(r);
    r = raw_response(c);
    assert_non_null(strstr(raw_body(r), "Q=n=3"));
    free(r);
    raw_close(c);
}

static void test_deep_pipeline(void **state)
{
    srvfx *fx = *state;
    rawc *c = raw_connect(fx->port);
    char req[128 * 40];
    size_t n = 0;
    for (int i = 0; i < 100; i++)
        n += (size_t)snprintf(req + n, sizeof req - n, "GET /echo?i=%d HTTP/1.1\r\nHost: x\r\n\r\n",
                              i);
    raw_sendn(c, req, n);
    for (int i = 0; i < 100; i++) {
        char want[32];
        char *r = raw_response(c);
        assert_non_null(r);
        snprintf(want, sizeof want, "Q=i=%d\n", i);
        assert_non_null(strstr(raw_body(r), want));
        free(r);
    }
    raw_close(c);
}

/* A client that sends many requests and reads late: the server stops
 * reading while its output is queued, then resumes; every answer arrives. */
static void test_slow_reader(void **state)
{
    dg_http_server_opts o = small_opts();
    srvfx *fx;
    rawc *c;
    (void)state;
    o.header_timeout_ms = o.idle_timeout_ms = 30000; /* slow runs (valgrind) too */
    fx = srv_start(&o);
    c = raw_connect(fx->port);
    for (int i = 0; i < 60; i++)
        raw_send(c, "GET /big HTTP/1.1\r\n\r\n");
    for (int i = 0; i < 60; i++) {
        char *r = raw_response(c);
        assert_int_equal(raw_status(r), 200);
        assert_int_equal(strlen(raw_body(r)), 256 * 1024);
        free(r);
    }
    raw_close(c);
    srv_stop(fx);
}

static void test_chunked_body(void **state)
{
    srvfx *fx = *state;
    rawc *c = raw_connect(fx->port);
    char *r;
    raw_send(c, "POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
                "5\r\nhello\r\n");
    raw_send(c, "7\r\n, world\r\n0\r\n\r\n");
    r = raw_response(c);
    assert_int_equal(raw_status(r), 200);
    assert_non_null(strstr(raw_body(r), "N=12\nB=hello, world"));
    free(r);
    raw_close(c);
}

static void test_expect_continue(void **state)
{
    srvfx *fx = *state;
    rawc *c = raw_connect(fx->port);
    char *r;
    raw_send(c, "POST /echo HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\n"
                "Content-Length: 5\r\n\r\n");
    r = raw_response(c);
    assert_non_null(r);
    assert_int_equal(strncmp(r, "HTTP/1.1 100 Continue\r\n\r\n", 25), 0);
    free(r);
    raw_send(c, "abcde");
    r = raw_response(c);
    assert_int_equal(raw_status(r), 200);
    assert_non_null(strstr(raw_body(r), "B=abcde"));
    free(r);
    /* unknown route: no 100, a 404 and the connection closes */
    raw_send(c, "POST /nope HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\n"
                "Content-Length: 5\r\n\r\n");
    r = raw_response(c);
    expect_json_error(r, 404, "not_found");
    assert_non_null(strstr(r, "Connection: close\r\n"));
    assert_true(raw_closed(c, 2000));
    free(r);
    raw_close(c);
    /* too large: 413 instead of 100 */
    c = raw_connect(fx->port);
    raw_send(c, "POST /echo HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\n"
                "Content-Length: 999999\r\n\r\n");
    r = raw_response(c);
    expect_json_error(r, 413, "body_too_large");
    free(r);
    raw_close(c);
}

static void test_body_too_large(void **state)
{
    srvfx *fx = *state;
    rawc *c = raw_connect(fx->port);
    char *r;
    /* declared too large: answered before any body byte is sent */
    raw_send(c, "POST /hook HTTP/1.1\r\nHost: x\r\nContent-Length: 5000000\r\n\r\n");
    r = raw_response(c);
    expect_json_error(r, 413, "body_too_large");
    assert_non_null(strstr(r, "Connection: close\r\n"));
    assert_true(raw_closed(c, 2000));
    free(r);
    raw_close(c);
    /* chunked, growing past the limit */
    c = raw_connect(fx->port);
    raw_send(c, "POST /hook HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n");
    {
        char chunk[1100];
        memset(chunk, 'a', sizeof chunk);
        memcpy(chunk, "400\r\n", 5);
        memcpy(chunk + 5 + 1024, "\r\n", 2);
        for (int i = 0; i < 5; i++)
            raw_sendn(c, chunk, 5 + 1024 + 2);
    }
    r = raw_response(c);
    expect_json_error(r, 413, "body_too_large");
    free(r);
    raw_close(c);
    /* exactly at the limit is fine */
    c = raw_connect(fx->port);
    {
        char big[4096 + 128];
        int n = snprintf(big, sizeof big, "POST /hook HTTP/1.1\r\nContent-Length: 4096\r\n\r\n");
        memset(big + n, 'x', 4096);
        raw_sendn(c, big, (size_t)n + 4096);
    }
    r = raw_response(c);
    assert_int_equal(raw_status(r), 200);
    free(r);
    raw_close(c);
}

static void test_header_too_large(void **state)
{
    srvfx *fx = *state;
    rawc *c = raw_connect(fx->port);
    char big[4000];
    char *r;
    memset(big, 'a', sizeof big);
    big[sizeof big - 1] = '\0';
    raw_send(c, "GET /fast HTTP/1.1\r\nX-Big: ");
    raw_send(c, big);
    raw_send(c, "\r\n\r\n");
    r = raw_response(c);
    expect_json_error(r, 431, "header_too_large");
    assert_true(raw_closed(c, 2000));
    free(r);
    raw_close(c);
}

static void test_malformed(void **state)
{
    srvfx *fx = *state;
    const char *bad[] = {"GARBAGE\r\n\r\n", "GET /fast HTTP/9.Z\r\n\r\n",
                         "POST /hook HTTP/1.1\r\nContent-Length: abc\r\n\r\n",
                         "POST /hook HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
                         "GET /fast HTTP/1.1\r\nBad Header\r\n\r\n"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        rawc *c = raw_connect(fx->port);
        char *r;
        raw_send(c, bad[i]);
        r = raw_response(c);
        expect_json_error(r, 400, "bad_request");
        assert_non_null(strstr(r, "Connection: close\r\n"));
        assert_true(raw_closed(c, 2000));
        free(r);
        raw_close(c);
    }
}

static void test_404_405_and_prefix(void **state)
{
    srvfx *fx = *state;
    rawc *c = raw_connect(fx->port);
    char *r;
    raw_send(c, "GET /missing HTTP/1.1\r\nHost: x\r\n\r\n");
    r = raw_response(c);
    expect_json_error(r, 404, "not_found");
    free(r);
    /* the connection survives a 404 (with its body consumed) */
    raw_send(c, "DELETE /hook HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc");
    r = raw_response(c);
    expect_json_error(r, 405, "method_not_allowed");
    assert_true(strstr(r, "Allow: PUT, POST\r\n") || strstr(r, "Allow: POST, PUT\r\n"));
    free(r);
    raw_send(c, "GET /api/cases/42?x=1 HTTP/1.1\r\n\r\n");
    r = raw_response(c);
    assert_string_equal(raw_body(r), "prefix:/api/cases/42");
    free(r);
    raw_send(c, "GET /api/cases/special HTTP/1.1\r\n\r\n");
    r = raw_response(c);
    assert_string_equal(raw_body(r), "exact");
    free(r);
    raw_send(c, "POST /api/cases/7 HTTP/1.1\r\nContent-Length: 0\r\n\r\n");
    r = raw_response(c);
    expect_json_error(r, 405, "method_not_allowed");
    assert_non_null(strstr(r, "Allow: GET\r\n"));
    free(r);
    raw_send(c, "GET /api/case HTTP/1.1\r\n\r\n");
    r = raw_response(c);
    expect_json_error(r, 404, "not_found");
    free(r);
    raw_close(c);
}

static void h_none(void *ud, dg_http_req *req)
{
    (void)ud, (void)req;
}

static void test_route_table(void **state)
{
    uv_loop_t loop;
    dg_http_server *s;
    char err[128];
    int owner_a, owner_b;
    (void)state;
    uv_loop_init(&loop);
    assert_int_equal(dg_http_server_new(&loop, NULL, &s), 0);
    assert_int_equal(dg_http_server_listen(s, "nonsense", err, sizeof err), DG_EINVAL);
    assert_non_null(strstr(err, "not host:port"));
    assert_int_equal(dg_http_server_route(s, "POST", "/w/a", 0, &owner_a, NULL, NULL), DG_EINVAL);
    assert_int_equal(dg_http_server_route(s, "POST", "w/a", 0, &owner_a,
                                          h_none, NULL), DG_EINVAL);
    assert_int_equal(dg_http_server_route(s, "POST", "/w/a", 0, &owner_a,
                                          h_none, NULL), 0);
    assert_int_equal(dg_http_server_route(s, "POST", "/w/a", 0, &owner_b,
                                          h_none, NULL), DG_EEXIST);
    assert_int_equal(dg_http_server_route(s, "GET", "/w/a", 0, &owner_a,
                                          h_none, NULL), 0);
    assert_int_equal(dg_http_server_route(s, "POST", "/w/b", 0, &owner_b,
                                          h_none, NULL), 0);
    assert_int_equal(dg_http_server_unroute_owner(s, &owner_a), 2);
    assert_int_equal(dg_http_server_unroute(s, "POST", "/w/b", 0), 1);
    assert_int_equal(dg_http_server_unroute(s, "POST", "/w/b", 0), 0);
    assert_int_equal(dg_http_server_listen(s, "[::1]:0", err, sizeof err) == 0 ||
                         strstr(err, "cannot listen") != NULL,
                     1);
    dg_http_server_free(s);
    uv_run(&loop, UV_RUN_DEFAULT);
    assert_int_equal(uv_loop_close(&loop), 0);
}

static void test_header_timeout_slowloris(void **state)
{
    srvfx *fx = *state;
    rawc *slow[20], *ok;
    char *r;
    /* 20 clients drip a request line and never finish their headers */
    for (int i = 0; i < 20; i++) {
        slow[i] = raw_connect(fx->port);
        raw_send(slow[i], "GET /fast HTTP/1.1\r\nHost: x\r\n");
    }
    /* a normal client is still served meanwhile */
    ok = raw_connect(fx->port);
    raw_send(ok, "GET /fast HTTP/1.1\r\nHost: x\r\n\r\n");
    r = raw_response(ok);
    assert_int_equal(raw_status(r), 200);
    free(r);
    /* one keeps dripping bytes: that does not extend its deadline */
    for (int k = 0; k < 3; k++) {
        raw_send(slow[0], "X-A: b\r\n");
        assert_true(raw_quiet(slow[0], 50));
    }
    for (int i = 0; i < 20; i++) {
        r = raw_response(slow[i]);
        expect_json_error(r, 408, "request_timeout");
        assert_true(raw_closed(slow[i], 2000));
        free(r);
        raw_close(slow[i]);
    }
    /* a connection that never sends anything is closed too */
    raw_close(ok);
    ok = raw_connect(fx->port);
    assert_true(raw_closed(ok, 3000));
    raw_close(ok);
}

static void test_body_and_idle_timeouts(void **state)
{
    srvfx *fx = *state;
    rawc *c = raw_connect(fx->port);
    char *r;
    raw_send(c, "POST /hook HTTP/1.1\r\nContent-Length: 10\r\n\r\nabc");
    r = raw_response(c);
    expect_json_error(r, 408, "request_timeout");
    assert_non_null(strstr(raw_body(r), "body"));
    free(r);
    raw_close(c);
    /* idle keep-alive: closed after idle_timeout without an answer */
    c = raw_connect(fx->port);
    raw_send(c, "GET /fast HTTP/1.1\r\n\r\n");
    r = raw_response(c);
    assert_int_equal(raw_status(r), 200);
    free(r);
    assert_true(raw_closed(c, 3000));
    raw_close(c);
}

static void test_max_connections(void **state)
{
    dg_http_server_opts o = small_opts();
    srvfx *fx;
    rawc *c[3], *extra;
    char *r;
    (void)state;
    o.max_connections = 3;
    fx = srv_start(&o);
    for (int i = 0; i < 3; i++) {
        c[i] = raw_connect(fx->port);
        raw_send(c[i], "GET /fast HTTP/1.1\r\n\r\n");
        r = raw_response(c[i]);
        assert_int_equal(raw_status(r), 200);
        free(r);
    }
    extra = raw_connect(fx->port);
    r = raw_response(extra);
    expect_json_error(r, 503, "too_many_connections");
    assert_true(raw_closed(extra, 2000));
    free(r);
    raw_close(extra);
    /* once one goes away there is room again */
    raw_close(c[0]);
    while (srv_connections(fx) >= 3)
        assert_true(raw_quiet(c[1], 5));
    extra = raw_connect(fx->port);
    raw_send(extra, "GET /fast HTTP/1.1\r\n\r\n");
    r = raw_response(extra);
    assert_int_equal(raw_status(r), 200);
    free(r);
    raw_close(extra);
    raw_close(c[1]);
    raw_close(c[2]);
    srv_stop(fx);
}

static void test_async_answer_after_disconnect(void **state)
{
    srvfx *fx = *state;
    rawc *c = raw_connect(fx->port);
    raw_send(c, "POST /hold HTTP/1.1\r\nContent-Length: 4\r\n\r\nbody");
    struct linger lg = {1, 0};
    while (srv_held(fx) < 1)
        assert_true(raw_quiet(c, 10));
    /* reset: the server drops the connection at once */
    setsockopt(c->fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
    raw_close(c);
    while (srv_connections(fx) > 0)
        sched_yield();
    /* the request stays valid until answered; the answer is discarded */
    assert_int_equal(srv_pending(fx), 1);
    srv_answer_held(fx);
    assert_int_equal(srv_pending(fx), 0);
    /* half-close (FIN) after a request: it is still answered */
    c = raw_connect(fx->port);
    raw_send(c, "GET /hold HTTP/1.1\r\n\r\n");
    while (srv_held(fx) < 1)
        assert_true(raw_quiet(c, 10));
    shutdown(c->fd, SHUT_WR);
    assert_true(raw_quiet(c, 50));
    srv_answer_held(fx);
    {
        char *r = raw_response(c);
        assert_string_equal(raw_body(r), "held");
        free(r);
    }
    assert_true(raw_closed(c, 2000));
    raw_close(c);
}

static void abort_fx(srvfx *fx, void *arg)
{
    int *n = arg;
    *n = dg_http_server_abort_owner(fx->s, fx, 503, "owner stopped");
    fx->n_held = 0;
}

static void test_abort_owner(void **state)
{
    srvfx *fx = *state;
    rawc *c = raw_connect(fx->port);
    char *r;
    int n = 0;
    raw_send(c, "GET /hold HTTP/1.1\r\n\r\nGET /hold HTTP/1.1\r\n\r\n");
    while (srv_held(fx) < 2)
        assert_true(raw_quiet(c, 10));
    srv_call(fx, abort_fx, &n);
    assert_int_equal(n, 2);
    for (int i = 0; i < 2; i++) {
        r = raw_response(c);
        expect_json_error(r, 503, "unavailable");
        free(r);
    }
    raw_close(c);
}

static void test_200_keepalive_clients(void **state)
{
    dg_http_server_opts o = small_opts();
    srvfx *fx;
    rawc *c[200];
    (void)state;
    o.header_timeout_ms = o.idle_timeout_ms = 30000; /* slow runs (valgrind) too */
    fx = srv_start(&o);
    for (int i = 0; i < 200; i++) {
        c[i] = raw_connect(fx->port);
        assert_non_null(c[i]);
    }
    for (int round = 0; round < 2; round++) {
        for (int i = 0; i < 200; i++) {
            char req[96];
            snprintf(req, sizeof req, "GET /echo?c=%d&r=%d HTTP/1.1\r\n\r\n", i, round);
            raw_send(c[i], req);
        }
        for (int i = 0; i < 200; i++) {
            char want[48];
            char *r = raw_response(c[i]);
            assert_int_equal(raw_status(r), 200);
            snprintf(want, sizeof want, "Q=c=%d&r=%d\n", i, round);
            assert_non_null(strstr(raw_body(r), want));
            free(r);
        }
    }
    assert_int_equal(srv_connections(fx), 200);
    for (int i = 0; i < 200; i++)
        raw_close(c[i]);
    srv_stop(fx);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_echo_query_headers_body, setup, teardown),
        cmocka_unit_test_setup_teardown(test_http10_closes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_pipelining_answers_in_order, setup, teardown),
        cmocka_unit_test_setup_teardown(test_deep_pipeline, setup, teardown),
        cmocka_unit_test(test_slow_reader),
        cmocka_unit_test_setup_teardown(test_chunked_body, setup, teardown),
        cmocka_unit_test_setup_teardown(test_expect_continue, setup, teardown),
        cmocka_unit_test_setup_teardown(test_body_too_large, setup, teardown),
        cmocka_unit_test_setup_teardown(test_header_too_large, setup, teardown),
        cmocka_unit_test_setup_teardown(test_malformed, setup, teardown),
        cmocka_unit_test_setup_teardown(test_404_405_and_prefix, setup, teardown),
        cmocka_unit_test(test_route_table),
        cmocka_unit_test_setup_teardown(test_header_timeout_slowloris, setup, teardown),
        cmocka_unit_test_setup_teardown(test_body_and_idle_timeouts, setup, teardown),
        cmocka_unit_test(test_max_connections),
        cmocka_unit_test_setup_teardown(test_async_answer_after_disconnect, setup, teardown),
        cmocka_unit_test_setup_teardown(test_abort_owner, setup, teardown),
        cmocka_unit_test(test_200_keepalive_clients),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
