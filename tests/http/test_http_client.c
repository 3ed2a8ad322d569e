/* The curl-multi client on a libuv loop: against the core's server in the
 * same loop and in a forked process; auth and body kinds; Retry-After;
 * connection reuse; cancel; transport error classes; SMTP (aiosmtpd). */
#include "../unit/cm.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>

#include "http_client.h"
#include "http_server.h"

typedef struct got {
    int calls;
    int status;
    dg_transport_error terr;
    int64_t retry_after_ms;
    size_t body_len;
    char body[8192];
    char hdr_echo[64];
    char err[256];
} got;

static void on_done(void *ud, const dg_http_response *r)
{
    got *g = ud;
    g->calls++;
    g->status = r->status;
    g->terr = r->transport_error;
    g->retry_after_ms = r->retry_after_ms;
    g->body_len = r->body_len;
    snprintf(g->body, sizeof g->body, "%.*s", (int)r->body_len, r->body);
    snprintf(g->err, sizeof g->err, "%s", r->error_message ? r->error_message : "");
    g->hdr_echo[0] = '\0';
    for (size_t i = 0; i < r->n_headers; i++)
        if (strcasecmp(r->headers[i].key, "x-echo") == 0)
            snprintf(g->hdr_echo, sizeof g->hdr_echo, "%s", r->headers[i].value);
}

typedef struct fx {
    uv_loop_t loop;
    dg_http_server *s;
    dg_http_client *c;
    int port;
    dg_http_req *held[8];
    int n_held;
    char base[64];
} fx;

/* Echo the request back: method, path, query, auth, content type, body. */
static void h_echo(void *ud, dg_http_req *req)
{
    char out[8192];
    size_t blen;
    const char *b = dg_http_server_req_body(req, &blen);
    const char *auth = dg_http_server_req_header(req, "Authorization");
    const char *ct = dg_http_server_req_header(req, "content-type");
    const char *x = dg_http_server_req_header(req, "X-Trace");
    dg_kv h[] = {{"X-Echo", "yes", 0}};
    int n = snprintf(out, sizeof out, "%s %s?%s|auth=%s|ct=%s|x=%s|body=%.*s",
                     dg_http_server_req_method(req), dg_http_server_req_path(req),
                     dg_http_server_req_query(req), auth ? auth : "-", ct ? ct : "-", x ? x : "-",
                     (int)blen, b);
    (void)ud;
    if (n >= (int)sizeof out)
        n = (int)sizeof out - 1; /* snprintf truncated */
    dg_http_server_respond(req, 200, h, 1, out, (size_t)n);
}

static void h_hold(void *ud, dg_http_req *req)
{
    fx *f = ud;
    f->held[f->n_held++] = req;
}

static void h_retry(void *ud, dg_http_req *req)
{
    dg_kv h[] = {{"Retry-After", "7", 0}};
    (void)ud;
    dg_http_server_respond(req, 429, h, 1, "{\"error\":\"slow\"}", 16);
}

static void add_routes(dg_http_server *s, void *ud)
{
    dg_http_server_route(s, "*", "/echo", 0, NULL, h_echo, ud);
    dg_http_server_route(s, "GET", "/hold", 0, NULL, h_hold, ud);
    dg_http_server_route(s, "GET", "/retry", 0, NULL, h_retry, ud);
}

static int setup(void **state)
{
    fx *f = calloc(1, sizeof *f);
    char err[128];
    uv_loop_init(&f->loop);
    assert_int_equal(dg_http_server_new(&f->loop, NULL, &f->s), 0);
    assert_int_equal(dg_http_server_listen(f->s, "127.0.0.1:0", err, sizeof err), 0);
    f->port = dg_http_server_port(f->s);
    add_routes(f->s, f);
    assert_int_equal(dg_http_client_new(&f->loop, NULL, &f->c), 0);
    snprintf(f->base, sizeof f->base, "http://127.0.0.1:%d", f->port);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fx *f = *state;
    for (int i = 0; i < f->n_held; i++)
        dg_http_server_respond(f->held[i], 200, NULL, 0, "late", 4);
    dg_http_client_free(f->c);
    dg_http_server_free(f->s);
    uv_run(&f->loop, UV_RUN_DEFAULT);
    assert_int_equal(uv_loop_close(&f->loop), 0);
    free(f);
    return 0;
}

static void run_until(fx *f, const int *count, int want)
{
    while (*count < want)
        uv_run(&f->loop, UV_RUN_ONCE);
}

static void req_init(dg_http_request *r, const char *method, const char *url)
{
    DG_INIT(r);
    r->method = method;
    r->url = url;
}

/* max_in_flight: calls beyond it wait in a FIFO, start as others complete,
 * and a waiting call can be canceled (never called back). */
static void test_max_in_flight(void **state)
{
    fx *f = *state;
    dg_http_client *c2 = NULL;
    dg_http_client_opts o = {.max_in_flight = 2};
    char url[128];
    dg_http_request r;
    got g[5];
    dg_http_call *calls[5];
    memset(g, 0, sizeof g);
    assert_int_equal(dg_http_client_new(&f->loop, &o, &c2), 0);
    snprintf(url, sizeof url, "%s/hold", f->base);
    req_init(&r, "GET", url);
    for (int i = 0; i < 5; i++)
        assert_int_equal(dg_http_client_request(c2, NULL, &r, on_done, &g[i], &calls[i]), 0);
    assert_int_equal(dg_http_client_active(c2), 5); /* waiting ones count */
    while (f->n_held < 2)
        uv_run(&f->loop, UV_RUN_ONCE);
    for (int i = 0; i < 50; i++) /* nothing more reaches the server */
        uv_run(&f->loop, UV_RUN_NOWAIT);
    assert_int_equal(f->n_held, 2);
    dg_http_client_cancel(calls[4]); /* still waiting */
    for (int i = 0; i < 3; i++) { /* each answer lets the next waiting call start */
        int before = f->n_held;
        dg_http_server_respond(f->held[i], 200, NULL, 0, "ok", 2);
        run_until(f, &g[i].calls, 1);
        if (i < 2)
            while (f->n_held < before + 1)
                uv_run(&f->loop, UV_RUN_ONCE);
    }
    dg_http_server_respond(f->held[3], 200, NULL, 0, "ok", 2);
    run_until(f, &g[3].calls, 1);
    f->n_held = 0;
    for (int i = 0; i < 4; i++) {
        assert_int_equal(g[i].calls, 1);
        assert_int_equal(g[i].status, 200);
    }
    assert_int_equal(g[4].calls, 0);
    assert_int_equal(dg_http_client_active(c2), 0);
    dg_http_client_free(c2);
}

static void test_get_post_auth(void **state)
{
    fx *f = *state;
    char url[128];
    dg_http_request r;
    dg_kv hdr[] = {{"X-Trace", "t-1", 0}};
    got g = {0};
    dg_http_call *call = NULL;
    snprintf(url, sizeof url, "%s/echo?a=1&b=2", f->base);
    req_init(&r, "GET", url);
    r.headers = hdr;
    r.n_headers = 1;
    assert_int_equal(dg_http_client_request(f->c, NULL, &r, on_done, &g, &call), 0);
    assert_non_null(call);
    assert_int_equal(g.calls, 0); /* never called from inside the request call */
    run_until(f, &g.calls, 1);
    assert_int_equal(g.status, 200);
    assert_int_equal(g.terr, DG_HTTP_OK);
    assert_string_equal(g.hdr_echo, "yes");
    assert_string_equal(g.body, "GET /echo?a=1&b=2|auth=-|ct=-|x=t-1|body=");
    assert_int_equal(g.retry_after_ms, -1);
    /* JSON body with a bearer token */
    req_init(&r, "POST", url);
    r.body = "{\"x\":1}";
    r.body_len = 7;
    r.bearer_token = "tok123";
    assert_int_equal(dg_http_client_request(f->c, NULL, &r, on_done, &g, NULL), 0);
    run_until(f, &g.calls, 2);
    assert_string_equal(g.body, "POST /echo?a=1&b=2|auth=Bearer tok123|ct=application/json|x=-|"
                                "body={\"x\":1}");
    /* form body with basic auth (Twilio style) */
    req_init(&r, "POST", url);
    r.body = "To=%2B1555&Body=hi";
    r.body_len = strlen(r.body);
    r.basic_user = "AC123";
    r.basic_password = "secret";
    assert_int_equal(dg_http_client_request(f->c, NULL, &r, on_done, &g, NULL), 0);
    run_until(f, &g.calls, 3);
    assert_string_equal(g.body, "POST /echo?a=1&b=2|auth=Basic QUMxMjM6c2VjcmV0|"
                                "ct=application/x-www-form-urlencoded|x=-|body=To=%2B1555&Body=hi");
    /* PUT with an explicit content type, DELETE without a body */
    req_init(&r, "PUT", url);
    r.body = "<a/>";
    r.body_len = 4;
    {
        dg_kv ct[] = {{"Content-Type", "text/xml", 0}};
        r.headers = ct;
        r.n_headers = 1;
        assert_int_equal(dg_http_client_request(f->c, NULL, &r, on_done, &g, NULL), 0);
        run_until(f, &g.calls, 4);
    }
    assert_string_equal(g.body, "PUT /echo?a=1&b=2|auth=-|ct=text/xml|x=-|body=<a/>");
    req_init(&r, "DELETE", url);
    assert_int_equal(dg_http_client_request(f->c, NULL, &r, on_done, &g, NULL), 0);
    run_until(f, &g.calls, 5);
    assert_string_equal(g.body, "DELETE /echo?a=1&b=2|auth=-|ct=-|x=-|body=");
    /* a large body both ways (beyond the client's inline buffer) */
    {
        char *big = malloc(20000);
        memset(big, 'z', 20000);
        req_init(&r, "POST", url);
        r.body = big;
        r.body_len = 20000;
        assert_int_equal(dg_http_client_request(f->c, NULL, &r, on_done, &g, NULL), 0);
        free(big); /* the client copied it */
        run_until(f, &g.calls, 6);
        assert_int_equal(g.status, 200);
        assert_int_equal(g.body_len, 8191); /* the echo handler's buffer */
        assert_non_null(strstr(g.body, "|body=zzzzzzzz"));
    }
    /* a 404 from the server is a response, not a transport error */
    snprintf(url, sizeof url, "%s/nope", f->base);
    req_init(&r, "GET", url);
    assert_int_equal(dg_http_client_request(f->c, NULL, &r, on_done, &g, NULL), 0);
    run_until(f, &g.calls, 7);
    assert_int_equal(g.status, 404);
    assert_int_equal(g.terr, DG_HTTP_OK);
    assert_non_null(strstr(g.body, "\"error\": \"not_found\""));
    /* bad input is refused at once */
    {
        dg_kv bad[] = {{"X-Evil", "a\r\nInjected: 1", 0}};
        req_init(&r, "GET", url);
        r.headers = bad;
        r.n_headers = 1;
        assert_int_equal(dg_http_client_request(f->c, NULL, &r, on_done, &g, NULL), DG_EINVAL);
    }
    assert_int_equal(dg_http_client_active(f->c), 0);
}

static void test_retry_after_and_reuse(void **state)
{
    fx *f = *state;
    char url[128];
    dg_http_request r;
    got g = {0};
    snprintf(url, sizeof url, "%s/retry", f->base);
    req_init(&r, "GET", url);
    for (int i = 1; i <= 5; i++) {
        assert_int_equal(dg_http_client_request(f->c, NULL, &r, on_done, &g, NULL), 0);
        run_until(f, &g.calls, i);
        assert_int_equal(g.status, 429);
        assert_int_equal(g.retry_after_ms, 7000);
    }
    /* five sequential requests, one connection kept alive */
    assert_int_equal(dg_http_server_connections(f->s), 1);
}

/* A kept-alive connection the server closes while idle: the client keeps
 * its socket polled between transfers, so it sees the close (and stops
 * polling it); the next request opens a new connection, which may get the
 * same fd number, and is answered. Then a third reuses that one. */
static void test_idle_closed_by_server(void **state)
{
    fx *f = *state;
    dg_http_server *s2 = NULL;
    dg_http_server_opts o = {.idle_timeout_ms = 20};
    char url[128], err[128];
    dg_http_request r;
    got g = {0};
    assert_int_equal(dg_http_server_new(&f->loop, &o, &s2), 0);
    assert_int_equal(dg_http_server_listen(s2, "127.0.0.1:0", err, sizeof err), 0);
    add_routes(s2, f);
    snprintf(url, sizeof url, "http://127.0.0.1:%d/echo", dg_http_server_port(s2));
    req_init(&r, "GET", url);
    assert_int_equal(dg_http_client_request(f->c, NULL, &r, on_done, &g, NULL), 0);
    run_until(f, &g.calls, 1);
    assert_int_equal(g.status, 200);
    assert_int_equal(dg_http_server_connections(s2), 1);
    while (dg_http_server_connections(s2) > 0) /* the server's idle timer */
        uv_run(&f->loop, UV_RUN_ONCE);
    for (int i = 0; i < 5; i++) /* the client sees the close */
        uv_run(&f->loop, UV_RUN_NOWAIT);
    for (int i = 2; i <= 3; i++) {
        assert_int_equal(dg_http_client_request(f->c, NULL, &r, on_done, &g, NULL), 0);
        run_until(f, &g.calls, i);
        assert_int_equal(g.status, 200);
        assert_int_equal(g.terr, DG_HTTP_OK);
        assert_int_equal(dg_http_server_connections(s2), 1);
    }
    dg_http_server_free(s2);
}

static void test_retry_after_parse(void **state)
{
    /* Sun, 06 Nov 1994 08:49:37 GMT = 784111777 */
    const int64_t now = 784111777000LL - 60000;
    (void)state;
    assert_int_equal(dg_http_parse_retry_after("120", now), 120000);
    assert_int_equal(dg_http_parse_retry_after("  0 ", now), 0);
    assert_int_equal(dg_http_parse_retry_after("Sun, 06 Nov 1994 08:49:37 GMT", now), 60000);
    assert_int_equal(dg_http_parse_retry_after("Sunday, 06-Nov-94 08:49:37 GMT", now), 60000);
    assert_int_equal(dg_http_parse_retry_after("Sun Nov  6 08:49:37 1994", now), 60000);
    assert_int_equal(dg_http_parse_retry_after("Sun, 06 Nov 1994 08:48:37 GMT", now), 0);
    assert_int_equal(dg_http_parse_retry_after("Sun, 06 Nov 1994 08:47:00 GMT", now), 0);
    assert_int_equal(dg_http_parse_retry_after(NULL, now), -1);
    assert_int_equal(dg_http_parse_retry_after("", now), -1);
    assert_int_equal(dg_http_parse_retry_after("soon", now), -1);
    assert_int_equal(dg_http_parse_retry_after("12abc", now), -1);
    assert_int_equal(dg_http_parse_retry_after("-5", now), -1);
}

static void test_classify(void **state)
{
    (void)state;
    assert_int_equal(dg_http_classify(CURLE_OK), DG_HTTP_OK);
    assert_int_equal(dg_http_classify(CURLE_COULDNT_RESOLVE_HOST), DG_HTTP_EDNS);
    assert_int_equal(dg_http_classify(CURLE_COULDNT_CONNECT), DG_HTTP_ECONNECT);
    assert_int_equal(dg_http_classify(CURLE_OPERATION_TIMEDOUT), DG_HTTP_ETIMEOUT);
    assert_int_equal(dg_http_classify(CURLE_PEER_FAILED_VERIFICATION), DG_HTTP_ETLS);
    assert_int_equal(dg_http_classify(CURLE_SSL_CONNECT_ERROR), DG_HTTP_ETLS);
    assert_int_equal(dg_http_classify(CURLE_RECV_ERROR), DG_HTTP_EOTHER);
}

static void test_cancel(void **state)
{
    fx *f = *state;
    char url[128];
    dg_http_request r;
    got g = {0}, g2 = {0};
    dg_http_call *call = NULL;
    snprintf(url, sizeof url, "%s/hold", f->base);
    req_init(&r, "GET", url);
    /* canceled before anything happened */
    assert_int_equal(dg_http_client_request(f->c, NULL, &r, on_done, &g, &call), 0);
    dg_http_client_cancel(call);
    /* canceled while the server holds it */
    assert_int_equal(dg_http_client_request(f->c, NULL, &r, on_done, &g, &call), 0);
    while (f->n_held < 1)
        uv_run(&f->loop, UV_RUN_ONCE);
    dg_http_client_cancel(call);
    assert_int_equal(dg_http_client_active(f->c), 0);
    /* the late answer reaches nobody; a following request still works */
    dg_http_server_respond(f->held[0], 200, NULL, 0, "late", 4);
    f->n_held = 0;
    snprintf(url, sizeof url, "%s/echo", f->base);
    req_init(&r, "GET", url);
    assert_int_equal(dg_http_client_request(f->c, NULL, &r, on_done, &g2, NULL), 0);
    run_until(f, &g2.calls, 1);
    assert_int_equal(g2.status, 200);
    assert_int_equal(g.calls, 0);
    /* cancel by owner */
    {
        int owner;
        snprintf(url, sizeof url, "%s/hold", f->base);
        req_init(&r, "GET", url);
        assert_int_equal(dg_http_client_request(f->c, &owner, &r, on_done, &g, NULL), 0);
        assert_int_equal(dg_http_client_request(f->c, &owner, &r, on_done, &g, NULL), 0);
        assert_int_equal(dg_http_client_request(f->c, NULL, &r, on_done, &g2, NULL), 0);
        assert_int_equal(dg_http_client_cancel_owner(f->c, &owner), 2);
        assert_int_equal(dg_http_client_active(f->c), 1);
        while (f->n_held < 1)
            uv_run(&f->loop, UV_RUN_ONCE);
        dg_http_server_respond(f->held[0], 200, NULL, 0, "x", 1);
        f->n_held = 0;
        run_until(f, &g2.calls, 2);
        assert_int_equal(g.calls, 0);
    }
}

/* A done callback that cancels itself (a no-op) and another call. */
typedef struct cc {
    dg_http_call *self, *other;
    int calls;
} cc;

static void on_done_cancel(void *ud, const dg_http_response *r)
{
    cc *c = ud;
    (void)r;
    c->calls++;
    dg_http_client_cancel(c->self);
    dg_http_client_cancel(c->other);
}

static void test_cancel_from_callback(void **state)
{
    fx *f = *state;
    char url[128], hold[128];
    dg_http_request r, rh;
    cc c = {0};
    got g = {0};
    snprintf(url, sizeof url, "%s/echo", f->base);
    snprintf(hold, sizeof hold, "%s/hold", f->base);
    req_init(&rh, "GET", hold);
    assert_int_equal(dg_http_client_request(f->c, NULL, &rh, on_done, &g, &c.other), 0);
    while (f->n_held < 1)
        uv_run(&f->loop, UV_RUN_ONCE);
    req_init(&r, "GET", url);
    assert_int_equal(dg_http_client_request(f->c, NULL, &r, on_done_cancel, &c, &c.self), 0);
    run_until(f, &c.calls, 1);
    assert_int_equal(dg_http_client_active(f->c), 0);
    for (int i = 0; i < 10; i++)
        uv_run(&f->loop, UV_RUN_NOWAIT);
    assert_int_equal(c.calls, 1);
    assert_int_equal(g.calls, 0);
}

static void test_transport_errors(void **state)
{
    fx *f = *state;
    char url[128];
    dg_http_request r;
    got g = {0};
    struct sockaddr_in a;
    socklen_t alen = sizeof a;
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    /* a port that was free a moment ago: connection refused */
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
    getsockname(fd, (struct sockaddr *)&a, &alen);
    close(fd);
    snprintf(url, sizeof url, "http://127.0.0.1:%d/x", ntohs(a.sin_port));
    req_init(&r, "GET", url);
    assert_int_equal(dg_http_client_request(f->c, NULL, &r, on_done, &g, NULL), 0);
    run_until(f, &g.calls, 1);
    assert_int_equal(g.terr, DG_HTTP_ECONNECT);
    assert_int_equal(g.status, 0);
    assert_true(g.err[0] != '\0');
    /* a server that never answers: timeout */
    snprintf(url, sizeof url, "%s/hold", f->base);
    req_init(&r, "GET", url);
    r.timeout_ms = 200;
    assert_int_equal(dg_http_client_request(f->c, NULL, &r, on_done, &g, NULL), 0);
    run_until(f, &g.calls, 2);
    assert_int_equal(g.terr, DG_HTTP_ETIMEOUT);
    assert_int_equal(g.status, 0);
    /* a URL scheme the HTTP client refuses to speak */
    req_init(&r, "GET", "file:///etc/passwd");
    assert_int_equal(dg_http_client_request(f->c, NULL, &r, on_done, &g, NULL), 0);
    run_until(f, &g.calls, 3);
    assert_int_equal(g.terr, DG_HTTP_EOTHER);
}

static void test_many_concurrent(void **state)
{
    fx *f = *state;
    char url[128];
    dg_http_request r;
    got *g = calloc(100, sizeof *g);
    int total = 0;
    snprintf(url, sizeof url, "%s/echo?many", f->base);
    req_init(&r, "GET", url);
    for (int i = 0; i < 100; i++)
        assert_int_equal(dg_http_client_request(f->c, NULL, &r, on_done, &g[i], NULL), 0);
    while (total < 100) {
        uv_run(&f->loop, UV_RUN_ONCE);
        total = 0;
        for (int i = 0; i < 100; i++)
            total += g[i].calls;
    }
    for (int i = 0; i < 100; i++) {
        assert_int_equal(g[i].calls, 1);
        assert_int_equal(g[i].status, 200);
    }
    free(g);
}

/* A second process: a child runs the core's server on its own loop. */
static pid_t spawn_server(int *port)
{
    int p[2];
    pid_t pid;
    assert_int_equal(pipe(p), 0);
    pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        uv_loop_t loop;
        dg_http_server *s;
        char err[128];
        int prt;
        close(p[0]);
        uv_loop_init(&loop);
        if (dg_http_server_new(&loop, NULL, &s) || dg_http_server_listen(s, "127.0.0.1:0", err,
                                                                          sizeof err))
            _exit(2);
        add_routes(s, NULL);
        prt = dg_http_server_port(s);
        if (write(p[1], &prt, sizeof prt) != sizeof prt)
            _exit(3);
        close(p[1]);
        uv_run(&loop, UV_RUN_DEFAULT);
        _exit(0);
    }
    close(p[1]);
    assert_int_equal(read(p[0], port, sizeof *port), (ssize_t)sizeof *port);
    close(p[0]);
    return pid;
}

static void test_second_process(void **state)
{
    fx *f = *state;
    char url[128];
    dg_http_request r;
    got g = {0};
    int port, st;
    pid_t pid = spawn_server(&port);
    snprintf(url, sizeof url, "http://127.0.0.1:%d/echo?from=child", port);
    req_init(&r, "POST", url);
    r.body = "{\"a\":true}";
    r.body_len = 10;
    assert_int_equal(dg_http_client_request(f->c, NULL, &r, on_done, &g, NULL), 0);
    run_until(f, &g.calls, 1);
    assert_int_equal(g.status, 200);
    assert_string_equal(g.body,
                        "POST /echo?from=child|auth=-|ct=application/json|x=-|body={\"a\":true}");
    kill(pid, SIGTERM);
    assert_int_equal(waitpid(pid, &st, 0), pid);
}

/* ---- SMTP against Debian's python3-aiosmtpd */
static int free_port(void)
{
    struct sockaddr_in a;
    socklen_t alen = sizeof a;
    int fd = socket(AF_INET, SOCK_STREAM, 0), port;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    bind(fd, (struct sockaddr *)&a, sizeof a);
    getsockname(fd, (struct sockaddr *)&a, &alen);
    port = ntohs(a.sin_port);
    close(fd);
    return port;
}

static int can_connect(int port)
{
    struct sockaddr_in a;
    int fd = socket(AF_INET, SOCK_STREAM, 0), ok;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_port = htons((uint16_t)port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ok = connect(fd, (struct sockaddr *)&a, sizeof a) == 0;
    close(fd);
    return ok;
}

static void test_smtp_aiosmtpd(void **state)
{
    fx *f = *state;
    char url[64], listen_at[64], outpath[] = "/tmp/dg_smtp_XXXXXX", *text;
    const char *rcpt[] = {"ana@example.com", "bo@example.org"};
    const char msgtext[] = "From: shop@example.net\r\nTo: ana@example.com\r\n"
                           "Subject: Your balance is due\r\n\r\nHello Ana,\r\n.dot line\r\n";
    dg_smtp_message m;
    got g = {0};
    int port = free_port(), outfd, st;
    pid_t pid;
    FILE *fp;
    long n;
    if (access("/usr/bin/python3", X_OK) != 0)
        skip();
    outfd = mkstemp(outpath);
    snprintf(listen_at, sizeof listen_at, "127.0.0.1:%d", port);
    pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        dup2(outfd, 1);
        dup2(outfd, 2);
        execl("/usr/bin/python3", "python3", "-u", "-m", "aiosmtpd", "-n", "-l", listen_at,
              (char *)NULL);
        _exit(127);
    }
    /* wait for the child to accept connections (it is a separate program) */
    for (int i = 0; i < 200 && !can_connect(port); i++) {
        struct timespec ts = {0, 25 * 1000 * 1000};
        assert_int_equal(waitpid(pid, &st, WNOHANG), 0);
        nanosleep(&ts, NULL);
    }
    assert_true(can_connect(port));
    snprintf(url, sizeof url, "smtp://127.0.0.1:%d", port);
    DG_INIT(&m);
    m.url = url;
    m.mail_from = "shop@example.net";
    m.rcpt = rcpt;
    m.n_rcpt = 2;
    m.data = msgtext;
    m.data_len = sizeof msgtext - 1;
    m.timeout_ms = 10000;
    m.require_tls = 0;
    assert_int_equal(dg_http_client_smtp(f->c, NULL, &m, on_done, &g, NULL), 0);
    run_until(f, &g.calls, 1);
    assert_int_equal(g.terr, DG_HTTP_OK);
    assert_int_equal(g.status, 250);
    /* STARTTLS required but not offered: refused, nothing sent */
    m.require_tls = 1;
    assert_int_equal(dg_http_client_smtp(f->c, NULL, &m, on_done, &g, NULL), 0);
    run_until(f, &g.calls, 2);
    assert_int_equal(g.status, 0);
    assert_int_equal(g.terr, DG_HTTP_ETLS);
    kill(pid, SIGTERM);
    waitpid(pid, &st, 0);
    close(outfd);
    fp = fopen(outpath, "r");
    assert_non_null(fp);
    fseek(fp, 0, SEEK_END);
    n = ftell(fp);
    rewind(fp);
    text = calloc(1, (size_t)n + 1);
    assert_int_equal(fread(text, 1, (size_t)n, fp), (size_t)n);
    fclose(fp);
    unlink(outpath);
    assert_non_null(strstr(text, "Subject: Your balance is due"));
    assert_non_null(strstr(text, ".dot line")); /* dot-stuffing done by libcurl */
    assert_int_equal(strstr(strstr(text, "Subject: Your") + 1, "Subject: Your"), NULL);
    free(text);
    /* bad input refused at once */
    m.n_rcpt = 0;
    assert_int_equal(dg_http_client_smtp(f->c, NULL, &m, on_done, &g, NULL), DG_EINVAL);
    m.n_rcpt = 1;
    m.url = "http://example.com";
    assert_int_equal(dg_http_client_smtp(f->c, NULL, &m, on_done, &g, NULL), DG_EINVAL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_get_post_auth, setup, teardown),
        cmocka_unit_test_setup_teardown(test_max_in_flight, setup, teardown),
        cmocka_unit_test_setup_teardown(test_retry_after_and_reuse, setup, teardown),
        cmocka_unit_test_setup_teardown(test_idle_closed_by_server, setup, teardown),
        cmocka_unit_test(test_retry_after_parse),
        cmocka_unit_test(test_classify),
        cmocka_unit_test_setup_teardown(test_cancel, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cancel_from_callback, setup, teardown),
        cmocka_unit_test_setup_teardown(test_transport_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(test_many_concurrent, setup, teardown),
        cmocka_unit_test_setup_teardown(test_second_process, setup, teardown),
        cmocka_unit_test_setup_teardown(test_smtp_aiosmtpd, setup, teardown),
    };
    signal(SIGPIPE, SIG_IGN);
    return cmocka_run_group_tests(tests, NULL, NULL);
}
