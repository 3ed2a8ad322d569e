/* Bench baseline: a bare libuv + http-parser server that answers every
 * request 200 "ok" (keep-alive aware). No routing, no limits, no copies.
 * Usage: bare_server PORTFILE   (binds 127.0.0.1:0, writes the port) */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <http_parser.h>
#include <uv.h>

typedef struct conn {
    uv_tcp_t tcp;
    http_parser p;
} conn;

static const char RESP[] = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok";
static const char RESP_CLOSE[] = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok";
static char rbuf[65536];

static void on_closed(uv_handle_t *h) { free(h->data); }
static void on_write(uv_write_t *w, int st)
{
    (void)st;
    free(w);
}

static int on_complete(http_parser *p)
{
    conn *c = p->data;
    int ka = http_should_keep_alive(p);
    uv_write_t *w = malloc(sizeof *w);
    uv_buf_t b = ka ? uv_buf_init((char *)RESP, sizeof RESP - 1)
                    : uv_buf_init((char *)RESP_CLOSE, sizeof RESP_CLOSE - 1);
    uv_write(w, (uv_stream_t *)&c->tcp, &b, 1, on_write);
    return 0;
}

static const http_parser_settings S = {.on_message_complete = on_complete};

static void on_alloc(uv_handle_t *h, size_t n, uv_buf_t *b)
{
    (void)h, (void)n;
    *b = uv_buf_init(rbuf, sizeof rbuf);
}

static void on_read(uv_stream_t *s, ssize_t n, const uv_buf_t *b)
{
    conn *c = s->data;
    if (n < 0) {
        uv_close((uv_handle_t *)s, on_closed);
        return;
    }
    if (n > 0 && http_parser_execute(&c->p, &S, b->base, (size_t)n) != (size_t)n)
        uv_close((uv_handle_t *)s, on_closed);
}

static void on_conn(uv_stream_t *l, int st)
{
    conn *c = calloc(1, sizeof *c);
    (void)st;
    uv_tcp_init(l->loop, &c->tcp);
    c->tcp.data = c;
    if (uv_accept(l, (uv_stream_t *)&c->tcp)) {
        uv_close((uv_handle_t *)&c->tcp, on_closed);
        return;
    }
    uv_tcp_nodelay(&c->tcp, 1);
    http_parser_init(&c->p, HTTP_REQUEST);
    c->p.data = c;
    uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read);
}

int main(int argc, char **argv)
{
    uv_tcp_t l;
    struct sockaddr_in a;
    int n = sizeof a;
    FILE *f;
    if (argc < 2)
        return 2;
    uv_tcp_init(uv_default_loop(), &l);
    uv_ip4_addr("127.0.0.1", 0, &a);
    uv_tcp_bind(&l, (struct sockaddr *)&a, 0);
    if (uv_listen((uv_stream_t *)&l, 1024, on_conn))
        return 1;
    uv_tcp_getsockname(&l, (struct sockaddr *)&a, &n);
    f = fopen(argv[1], "w");
    fprintf(f, "%d\n", ntohs(a.sin_port));
    fclose(f);
    return uv_run(uv_default_loop(), UV_RUN_DEFAULT);
}
