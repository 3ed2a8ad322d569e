#include "rawhttp.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include <duegate/types.h>

/* ------------------------------------------------------------ raw client */

rawc *raw_connect(int port)
{
    struct sockaddr_in a;
    struct timeval tv = {5, 0};
    int one = 1;
    rawc *c = calloc(1, sizeof *c);
    if (!c)
        return NULL;
    c->fd = socket(AF_INET, SOCK_STREAM, 0);
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_port = htons((uint16_t)port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    setsockopt(c->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (connect(c->fd, (struct sockaddr *)&a, sizeof a) != 0) {
        close(c->fd);
        free(c);
        return NULL;
    }
    return c;
}

void raw_sendn(rawc *c, const void *p, size_t n)
{
    const char *s = p;
    while (n > 0) {
        ssize_t k = send(c->fd, s, n, MSG_NOSIGNAL);
        if (k <= 0)
            return;
        s += k;
        n -= (size_t)k;
    }
}

void raw_send(rawc *c, const char *s) { raw_sendn(c, s, strlen(s)); }

static int fill(rawc *c)
{
    ssize_t k;
    if (c->len + 1 >= sizeof c->buf)
        return -1;
    k = recv(c->fd, c->buf + c->len, sizeof c->buf - c->len - 1, 0);
    if (k <= 0)
        return -1;
    c->len += (size_t)k;
    c->buf[c->len] = '\0';
    return 0;
}

char *raw_response(rawc *c)
{
    char *end, *out, *cl;
    size_t hlen, blen = 0, total;
    for (;;) {
        c->buf[c->len] = '\0';
        if ((end = strstr(c->buf, "\r\n\r\n")))
            break;
        if (fill(c))
            return NULL;
    }
    hlen = (size_t)(end - c->buf) + 4;
    for (cl = c->buf; cl < end; cl++)
        if (strncasecmp(cl, "\nContent-Length:", 16) == 0) {
            blen = (size_t)strtoul(cl + 16, NULL, 10);
            break;
        }
    if (strncmp(c->buf, "HTTP/1.1 100", 12) == 0)
        blen = 0;
    total = hlen + blen;
    while (c->len < total)
        if (fill(c))
            return NULL;
    if (!(out = malloc(total + 1)))
        return NULL;
    memcpy(out, c->buf, total);
    out[total] = '\0';
    memmove(c->buf, c->buf + total, c->len - total);
    c->len -= total;
    c->buf[c->len] = '\0';
    return out;
}

int raw_read_exact(rawc *c, char *out, size_t n)
{
    while (c->len < n)
        if (fill(c))
            return -1;
    memcpy(out, c->buf, n);
    memmove(c->buf, c->buf + n, c->len - n);
    c->len -= n;
    return 0;
}

int raw_closed(rawc *c, int timeout_ms)
{
    struct pollfd p = {c->fd, POLLIN, 0};
    char tmp[4096];
    for (;;) {
        ssize_t k;
        if (poll(&p, 1, timeout_ms) <= 0)
            return 0;
        k = recv(c->fd, tmp, sizeof tmp, 0);
        if (k == 0 || (k < 0 && errno == ECONNRESET))
            return 1;
        if (k < 0)
            return 0;
    }
}

int raw_quiet(rawc *c, int timeout_ms)
{
    struct pollfd p = {c->fd, POLLIN, 0};
    return c->len == 0 && poll(&p, 1, timeout_ms) == 0;
}

void raw_close(rawc *c)
{
    if (c) {
        close(c->fd);
        free(c);
    }
}

int raw_status(const char *r)
{
    return r && strncmp(r, "HTTP/1.1 ", 9) == 0 ? atoi(r + 9) : -1;
}

const char *raw_body(const char *r)
{
    const char *e = r ? strstr(r, "\r\n\r\n") : NULL;
    return e ? e + 4 : "";
}

/* ------------------------------------------------------------ server fixture */

static void h_echo(void *ud, dg_http_req *req)
{
    srvfx *fx = ud;
    char out[4096];
    size_t blen;
    const char *b = dg_http_server_req_body(req, &blen);
    const char *x = dg_http_server_req_header(req, "x-test");
    dg_kv h[] = {{"X-Echo", "1", 0}, {"Content-Type", "text/plain", 0}};
    int n = snprintf(out, sizeof out, "M=%s\nP=%s\nQ=%s\nH=%s\nN=%zu\nB=%.*s",
                     dg_http_server_req_method(req), dg_http_server_req_path(req),
                     dg_http_server_req_query(req), x ? x : "(none)", blen,
                     (int)(blen > 2048 ? 2048 : blen), b);
    if (n >= (int)sizeof out)
        n = (int)sizeof out - 1; /* snprintf truncated */
    pthread_mutex_lock(&fx->mu);
    fx->hits++;
    pthread_mutex_unlock(&fx->mu);
    dg_http_server_respond(req, 200, h, 2, out, (size_t)n);
}

static void h_hold(void *ud, dg_http_req *req)
{
    srvfx *fx = ud;
    pthread_mutex_lock(&fx->mu);
    if (fx->n_held < 256)
        fx->held[fx->n_held++] = req;
    pthread_mutex_unlock(&fx->mu);
}

static void h_text(void *ud, dg_http_req *req)
{
    const char *t = ud;
    dg_http_server_respond(req, 200, NULL, 0, t, strlen(t));
}

static void h_prefix(void *ud, dg_http_req *req)
{
    char out[512];
    int n = snprintf(out, sizeof out, "prefix:%s", dg_http_server_req_path(req));
    (void)ud;
    if (n >= (int)sizeof out)
        n = (int)sizeof out - 1;
    dg_http_server_respond(req, 200, NULL, 0, out, (size_t)n);
}

static void h_big(void *ud, dg_http_req *req)
{
    static char big[256 * 1024];
    (void)ud;
    memset(big, 'b', sizeof big);
    dg_http_server_respond(req, 200, NULL, 0, big, sizeof big);
}

static void h_retry(void *ud, dg_http_req *req)
{
    dg_kv h[] = {{"Retry-After", "7", 0}};
    (void)ud;
    dg_http_server_respond(req, 429, h, 1, "slow down", 9);
}

static void on_async(uv_async_t *a)
{
    srvfx *fx = a->data;
    pthread_mutex_lock(&fx->mu);
    if (fx->fn) {
        void (*fn)(srvfx *, void *) = fx->fn;
        fx->fn = NULL;
        pthread_mutex_unlock(&fx->mu);
        fn(fx, fx->arg);
        pthread_mutex_lock(&fx->mu);
        fx->fn_done = 1;
        pthread_cond_broadcast(&fx->cv);
    }
    pthread_mutex_unlock(&fx->mu);
}

static void *loop_main(void *arg)
{
    srvfx *fx = arg;
    uv_run(&fx->loop, UV_RUN_DEFAULT);
    return NULL;
}

srvfx *srv_start(const dg_http_server_opts *o)
{
    char err[256];
    srvfx *fx = calloc(1, sizeof *fx);
    uv_loop_init(&fx->loop);
    pthread_mutex_init(&fx->mu, NULL);
    pthread_cond_init(&fx->cv, NULL);
    uv_async_init(&fx->loop, &fx->async, on_async);
    fx->async.data = fx;
    if (dg_http_server_new(&fx->loop, o, &fx->s) != 0 ||
        dg_http_server_listen(fx->s, "127.0.0.1:0", err, sizeof err) != 0) {
        fprintf(stderr, "srv_start: %s\n", err);
        abort();
    }
    fx->port = dg_http_server_port(fx->s);
    dg_http_server_route(fx->s, "*", "/echo", 0, fx, h_echo, fx);
    dg_http_server_route(fx->s, "GET", "/hold", 0, fx, h_hold, fx);
    dg_http_server_route(fx->s, "POST", "/hold", 0, fx, h_hold, fx);
    dg_http_server_route(fx->s, "GET", "/fast", 0, fx, h_text, "fast");
    dg_http_server_route(fx->s, "POST", "/hook", 0, fx, h_text, "ok");
    dg_http_server_route(fx->s, "PUT", "/hook", 0, fx, h_text, "ok");
    dg_http_server_route(fx->s, "GET", "/api/cases/", 1, fx, h_prefix, NULL);
    dg_http_server_route(fx->s, "GET", "/api/cases/special", 0, fx, h_text, "exact");
    dg_http_server_route(fx->s, "GET", "/retry", 0, fx, h_retry, NULL);
    dg_http_server_route(fx->s, "GET", "/big", 0, fx, h_big, NULL);
    pthread_create(&fx->th, NULL, loop_main, fx);
    return fx;
}

void srv_call(srvfx *fx, void (*fn)(srvfx *, void *), void *arg)
{
    pthread_mutex_lock(&fx->mu);
    fx->fn = fn;
    fx->arg = arg;
    fx->fn_done = 0;
    uv_async_send(&fx->async);
    while (!fx->fn_done)
        pthread_cond_wait(&fx->cv, &fx->mu);
    pthread_mutex_unlock(&fx->mu);
}

static void do_answer(srvfx *fx, void *arg)
{
    (void)arg;
    for (int i = 0; i < fx->n_held; i++)
        dg_http_server_respond(fx->held[i], 200, NULL, 0, "held", 4);
    fx->n_held = 0;
}

void srv_answer_held(srvfx *fx) { srv_call(fx, do_answer, NULL); }

static void do_count(srvfx *fx, void *arg)
{
    size_t *out = arg;
    out[0] = dg_http_server_pending(fx->s);
    out[1] = dg_http_server_connections(fx->s);
}

size_t srv_pending(srvfx *fx)
{
    size_t v[2];
    srv_call(fx, do_count, v);
    return v[0];
}

size_t srv_connections(srvfx *fx)
{
    size_t v[2];
    srv_call(fx, do_count, v);
    return v[1];
}

int srv_held(srvfx *fx)
{
    int n;
    pthread_mutex_lock(&fx->mu);
    n = fx->n_held;
    pthread_mutex_unlock(&fx->mu);
    return n;
}

static void do_stop(srvfx *fx, void *arg)
{
    (void)arg;
    dg_http_server_free(fx->s);
    fx->s = NULL;
    uv_close((uv_handle_t *)&fx->async, NULL);
}

void srv_stop(srvfx *fx)
{
    srv_call(fx, do_stop, NULL);
    pthread_join(fx->th, NULL);
    uv_run(&fx->loop, UV_RUN_DEFAULT);
    if (uv_loop_close(&fx->loop) != 0) {
        fprintf(stderr, "srv_stop: handles left open\n");
        abort();
    }
    pthread_mutex_destroy(&fx->mu);
    pthread_cond_destroy(&fx->cv);
    free(fx);
}
