/* One accepted connection of the HTTP server: reading and parsing with
 * http-parser, the in-order answer queue, timeouts, lingering close. */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <duegate/types.h>

#include "http_server_int.h"

/* A client that does not read its answers stops being read beyond this. */
#define WRITE_HIGH (1u << 20)
#define WRITE_LOW (256u << 10)

typedef struct wreq {
    uv_write_t w;
    char *data;
} wreq;

static void parse(dg_http_conn *c, const char *data, size_t len);
static void dispatch(dg_http_conn *c);

static dg_http_conn *conn_of(http_parser *p) { return p->data; }

static void on_closed(uv_handle_t *h)
{
    dg_http_conn *c = h->data;
    if (--c->handles == 0)
        dg_http_server_conn_gone(c->srv, c);
}

void dg_http_conn_close(dg_http_conn *c)
{
    struct dg_http_req *r, *next;
    if (c->phase == DG_CONN_CLOSING)
        return;
    if (c->in_parse) {
        c->close_pending = 1;
        return;
    }
    c->phase = DG_CONN_CLOSING;
    /* Requests a handler still holds stay valid, detached; others go. */
    for (r = c->qhead; r; r = next) {
        next = r->qnext;
        r->qnext = NULL;
        if (r->dispatched && !r->answered)
            r->conn = NULL;
        else
            dg_http_req_free(r);
    }
    c->qhead = c->qtail = c->cur = NULL;
    c->qlen = 0;
    free(c->rest);
    c->rest = NULL;
    uv_close((uv_handle_t *)&c->timer, on_closed);
    uv_close((uv_handle_t *)&c->tcp, on_closed);
}

/* Phase deadlines are recorded as they change; the uv timer is lazy: it is
 * restarted only when a deadline moves earlier than the armed one, and when
 * it fires for a deadline that has since moved later it re-arms for the
 * rest. In steady keep-alive traffic that is no timer call per request. */
static void sync_timer(dg_http_conn *c);

static void on_timer(uv_timer_t *t)
{
    dg_http_conn *c = t->data;
    c->armed = 0;
    if (!c->deadline || c->phase == DG_CONN_CLOSING)
        return;
    if (c->deadline > uv_now(c->srv->loop)) {
        sync_timer(c);
        return;
    }
    c->deadline = 0;
    c->tcb(c);
}

static void arm(dg_http_conn *c, void (*cb)(dg_http_conn *), uint64_t ms)
{
    c->deadline = uv_now(c->srv->loop) + (ms ? ms : 1);
    c->tcb = cb;
}

static void disarm(dg_http_conn *c) { c->deadline = 0; }

static void sync_timer(dg_http_conn *c)
{
    uint64_t now;
    if (c->phase == DG_CONN_CLOSING || !c->deadline || (c->armed && c->armed <= c->deadline))
        return;
    c->armed = c->deadline;
    now = uv_now(c->srv->loop);
    uv_timer_start(&c->timer, on_timer, c->deadline > now ? c->deadline - now : 1, 0);
}

static void on_alloc(uv_handle_t *h, size_t hint, uv_buf_t *buf)
{
    dg_http_conn *c = h->data;
    (void)hint;
    *buf = uv_buf_init(c->srv->rbuf, sizeof c->srv->rbuf);
}

static void on_read(uv_stream_t *st, ssize_t nread, const uv_buf_t *buf);

static void read_start(dg_http_conn *c)
{
    if (!c->reading && c->phase != DG_CONN_CLOSING &&
        uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read) == 0)
        c->reading = 1;
}

static void read_stop(dg_http_conn *c)
{
    if (c->reading) {
        uv_read_stop((uv_stream_t *)&c->tcp);
        c->reading = 0;
    }
}

static void on_phase_timeout(dg_http_conn *c);

/* Nothing in flight either way: the keep-alive idle clock runs (never while
 * answers are still being written to a slow reader). */
static void arm_idle(dg_http_conn *c)
{
    if (!c->qhead && !c->cur && c->phase == DG_CONN_IDLE && c->tcp.write_queue_size == 0)
        arm(c, on_phase_timeout, c->srv->o.idle_timeout_ms);
}

static void on_write(uv_write_t *w, int status)
{
    wreq *wr = (wreq *)w;
    dg_http_conn *c = w->handle->data;
    free(wr->data);
    free(wr);
    if (status < 0 && status != UV_ECANCELED) {
        dg_http_conn_close(c);
        return;
    }
    /* The client reads again: resume reading its requests. */
    if (c->wpaused && c->tcp.write_queue_size < WRITE_LOW) {
        c->wpaused = 0;
        if (!c->paused && !c->eof &&
            (c->phase == DG_CONN_IDLE || c->phase == DG_CONN_HEADERS || c->phase == DG_CONN_BODY))
            read_start(c);
    }
    arm_idle(c);
    sync_timer(c);
}

/* Queue bytes for writing; takes ownership of data. */
static void send_bytes(dg_http_conn *c, char *data, size_t len)
{
    wreq *wr;
    uv_buf_t b;
    if (c->phase == DG_CONN_CLOSING || !(wr = malloc(sizeof *wr))) {
        free(data);
        return;
    }
    wr->data = data;
    b = uv_buf_init(data, (unsigned)len);
    if (uv_write(&wr->w, (uv_stream_t *)&c->tcp, &b, 1, on_write) != 0) {
        free(data);
        free(wr);
        dg_http_conn_close(c);
    }
}

/* ------------------------------------------------------------ timers */

static void on_linger_timeout(dg_http_conn *c) { dg_http_conn_close(c); }

static void on_shutdown(uv_shutdown_t *sh, int status)
{
    dg_http_conn *c = sh->handle->data;
    (void)status;
    if (c->phase != DG_CONN_LINGER)
        return;
    if (status < 0 || c->eof) {
        dg_http_conn_close(c);
        return;
    }
    /* Read and drop what the client still sends so the kernel does not
     * reset the connection before it got our answer. */
    read_start(c);
    arm(c, on_linger_timeout, c->srv->o.header_timeout_ms < 2000 ? c->srv->o.header_timeout_ms
                                                                   : 2000);
    sync_timer(c);
}

/* The last answer was queued: finish writing, then close. */
static void close_after_write(dg_http_conn *c)
{
    if (c->phase == DG_CONN_CLOSING || c->phase == DG_CONN_LINGER)
        return;
    c->phase = DG_CONN_LINGER;
    disarm(c);
    read_stop(c);
    if (uv_shutdown(&c->shut, (uv_stream_t *)&c->tcp, on_shutdown) != 0)
        dg_http_conn_close(c);
}

/* A new request at the tail of c's queue. */
static struct dg_http_req *req_new(dg_http_conn *c)
{
    struct dg_http_req *r = calloc(1, sizeof *r);
    if (!r)
        return NULL;
    r->srv = c->srv;
    r->conn = c;
    r->method = "GET";
    r->hdrs = r->hinline;
    r->cap_hdrs = DG_HTTP_INLINE_HDRS;
    if (c->qtail)
        c->qtail->qnext = r;
    else
        c->qhead = r;
    c->qtail = r;
    c->qlen++;
    return r;
}

/* Answer the request being read (or a new one) with an error and stop
 * reading: the connection closes once the answer is out. */
static void conn_fail(dg_http_conn *c, int status, const char *error, const char *detail)
{
    struct dg_http_req *r = c->cur;
    if (!r && !(r = req_new(c))) {
        dg_http_conn_close(c);
        return;
    }
    c->cur = NULL;
    c->phase = DG_CONN_DONE;
    disarm(c);
    read_stop(c);
    r->keep_alive = 0;
    r->close_after = 1;
    r->complete = 1;
    if (dg_http_format_error(r, status, error, detail, NULL) != 0)
        r->answered = 1; /* no memory: close without an answer */
    dg_http_conn_flush(c);
}

static void on_phase_timeout(dg_http_conn *c)
{
    switch (c->phase) {
    case DG_CONN_HEADERS:
        conn_fail(c, 408, "request_timeout", "request headers not received in time");
        break;
    case DG_CONN_BODY:
        conn_fail(c, 408, "request_timeout", "request body not received in time");
        break;
    default:
        dg_http_conn_close(c); /* idle keep-alive connection */
    }
}

/* ------------------------------------------------------------ queue */

static void flush(dg_http_conn *c);

void dg_http_conn_flush(dg_http_conn *c)
{
    flush(c);
    if (!c->in_parse)
        sync_timer(c);
}

static void flush(dg_http_conn *c)
{
    struct dg_http_req *r;
    if (c->phase == DG_CONN_CLOSING || c->phase == DG_CONN_LINGER)
        return;
    while ((r = c->qhead) && r->answered && r != c->cur) {
        int close = r->close_after || !r->keep_alive;
        c->qhead = r->qnext;
        if (!c->qhead)
            c->qtail = NULL;
        c->qlen--;
        if (r->out && r->out_len) {
            send_bytes(c, r->out, r->out_len);
            r->out = NULL;
        }
        dg_http_req_free(r);
        if (close) {
            close_after_write(c);
            return;
        }
    }
    if (c->in_parse)
        return;
    if (c->paused && c->qlen < DG_HTTP_MAX_PIPELINE && c->phase != DG_CONN_DONE) {
        char *rest = c->rest;
        size_t n = c->rest_len;
        c->rest = NULL;
        c->rest_len = 0;
        c->paused = 0;
        http_parser_pause(&c->parser, 0);
        if (n)
            parse(c, rest, n);
        free(rest);
        if (c->phase == DG_CONN_CLOSING || c->phase == DG_CONN_LINGER)
            return;
        if (!c->paused && c->phase != DG_CONN_DONE && !c->eof && !c->wpaused)
            read_start(c);
        dispatch(c);
        return;
    }
    if (!c->qhead && c->eof && c->phase != DG_CONN_DONE) {
        dg_http_conn_close(c);
        return;
    }
    arm_idle(c);
}

/* Hand complete requests to their handlers, in order. */
static void dispatch(dg_http_conn *c)
{
    struct dg_http_req *r;
    dg_http_server *s = c->srv;
    c->in_parse = 1;
again:
    for (r = c->qhead; r && c->phase != DG_CONN_CLOSING; r = r->qnext) {
        if (!r->complete || r->answered || r->dispatched || !r->handler)
            continue;
        r->dispatched = 1;
        r->anext = s->pending;
        r->aprev = NULL;
        if (s->pending)
            s->pending->aprev = r;
        s->pending = r;
        s->n_pending++;
        r->handler(r->ud, r);
        goto again; /* the handler may have answered: the queue changed */
    }
    c->in_parse = 0;
    if (c->close_pending) {
        dg_http_conn_close(c);
        return;
    }
    dg_http_conn_flush(c);
}

/* ------------------------------------------------------------ parser */

static int add_header_bytes(dg_http_conn *c, size_t n)
{
    c->header_bytes += n;
    if (c->header_bytes > c->srv->o.max_header_bytes) {
        conn_fail(c, 431, "header_too_large", "request line and headers exceed the limit");
        return -1;
    }
    return 0;
}

/* Move the arena to string kind `to` (1 url, 2 name, 3 value),
 * NUL-terminating the one before. */
static int switch_to(struct dg_http_req *r, int to)
{
    if (r->open == to)
        return 0;
    if (r->open && dg_buf_add(&r->text, "", 1))
        return -1;
    if (to == 2) {
        if (r->n_hdrs == r->cap_hdrs) {
            size_t cap = r->cap_hdrs * 2;
            dg_http_hdr *h = r->hdrs == r->hinline ? malloc(cap * sizeof *h)
                                                   : realloc(r->hdrs, cap * sizeof *h);
            if (!h)
                return -1;
            if (r->hdrs == r->hinline)
                memcpy(h, r->hinline, sizeof r->hinline);
            r->hdrs = h;
            r->cap_hdrs = cap;
        }
        r->hdrs[r->n_hdrs].name = r->text.len;
        r->hdrs[r->n_hdrs].value = DG_HTTP_NO_VALUE;
        r->n_hdrs++;
    } else if (to == 3) {
        r->hdrs[r->n_hdrs - 1].value = r->text.len;
    }
    r->open = to;
    return 0;
}

static int on_message_begin(http_parser *p)
{
    dg_http_conn *c = conn_of(p);
    struct dg_http_req *r;
    if (c->phase == DG_CONN_DONE || !(r = req_new(c)))
        return -1;
    c->cur = r;
    c->phase = DG_CONN_HEADERS;
    c->header_bytes = 0;
    c->body_seen = 0;
    arm(c, on_phase_timeout, c->srv->o.header_timeout_ms);
    return 0;
}

static int on_url(http_parser *p, const char *at, size_t n)
{
    dg_http_conn *c = conn_of(p);
    struct dg_http_req *r = c->cur;
    if (add_header_bytes(c, n))
        return -1;
    if (!r->text.p && dg_buf_reserve(&r->text, 1023))
        return -1;
    r->open = 1;
    return dg_buf_add(&r->text, at, n) ? -1 : 0;
}

static int on_header_field(http_parser *p, const char *at, size_t n)
{
    dg_http_conn *c = conn_of(p);
    struct dg_http_req *r = c->cur;
    if (add_header_bytes(c, n + 4))
        return -1;
    if (r->open == 3 || r->open == 1 || r->open == 0) {
        if (switch_to(r, 2))
            return -1;
    }
    return dg_buf_add(&r->text, at, n) ? -1 : 0;
}

static int on_header_value(http_parser *p, const char *at, size_t n)
{
    dg_http_conn *c = conn_of(p);
    struct dg_http_req *r = c->cur;
    if (add_header_bytes(c, n))
        return -1;
    if (switch_to(r, 3))
        return -1;
    return dg_buf_add(&r->text, at, n) ? -1 : 0;
}

static int split_url(struct dg_http_req *r)
{
    struct http_parser_url u;
    size_t poff = 0, plen = 0, qoff = 0, qlen = 0, url_len;
    int has_p, has_q;
    if (!r->text.p)
        return -1;
    url_len = strlen(r->text.p);
    http_parser_url_init(&u);
    if (http_parser_parse_url(r->text.p, url_len, 0, &u) != 0)
        return -1;
    has_p = (u.field_set & (1 << UF_PATH)) != 0;
    has_q = (u.field_set & (1 << UF_QUERY)) != 0;
    if (has_p)
        poff = u.field_data[UF_PATH].off, plen = u.field_data[UF_PATH].len;
    if (has_q)
        qoff = u.field_data[UF_QUERY].off, qlen = u.field_data[UF_QUERY].len;
    if (dg_buf_reserve(&r->text, plen + qlen + 3))
        return -1;
    /* the arena does not move from here on: copy path and query to its end */
    r->path = r->text.len;
    if (has_p)
        dg_buf_add(&r->text, r->text.p + poff, plen);
    else
        dg_buf_add(&r->text, "/", 1);
    dg_buf_add(&r->text, "", 1);
    r->query = r->text.len;
    if (has_q)
        dg_buf_add(&r->text, r->text.p + qoff, qlen);
    dg_buf_add(&r->text, "", 1);
    r->has_path = 1;
    return 0;
}

static int on_headers_complete(http_parser *p)
{
    dg_http_conn *c = conn_of(p);
    dg_http_server *s = c->srv;
    struct dg_http_req *r = c->cur;
    const char *expect;
    char allow[256];
    int st;
    r->method = http_method_str((enum http_method)p->method);
    r->keep_alive = http_should_keep_alive(p);
    if (r->open && dg_buf_add(&r->text, "", 1)) {
        conn_fail(c, 503, "unavailable", "out of memory");
        return -1;
    }
    r->open = 0;
    if (split_url(r)) {
        conn_fail(c, 400, "bad_request", "malformed request target");
        return -1;
    }
    if ((p->flags & F_CONTENTLENGTH) && p->content_length > s->o.max_body_bytes) {
        conn_fail(c, 413, "body_too_large", "request body exceeds the configured maximum");
        return -1;
    }
    expect = dg_http_server_req_header(r, "Expect");
    if (expect && strcasecmp(expect, "100-continue") != 0) {
        conn_fail(c, 417, "expectation_failed", "only 100-continue is supported");
        return -1;
    }
    st = dg_http_route_lookup(s, r, allow, sizeof allow);
    if (st) {
        if (expect) /* the client waits for 100 before the body: answer and close */
            r->close_after = 1;
        dg_http_format_error(r, st, st == 404 ? "not_found" : "method_not_allowed",
                             st == 404 ? "no route for this path" : "method not allowed here",
                             st == 405 ? allow : NULL);
        r->answered = 1;
        if (expect) {
            c->cur = NULL;
            c->phase = DG_CONN_DONE;
            disarm(c);
            read_stop(c);
            dg_http_conn_flush(c);
            return -1;
        }
    } else if (expect && p->http_minor >= 1 && c->qhead == r) {
        char *cont = strdup("HTTP/1.1 100 Continue\r\n\r\n");
        if (cont)
            send_bytes(c, cont, strlen(cont));
    }
    if ((p->flags & F_CONTENTLENGTH) && p->content_length > 0 && !r->answered &&
        dg_buf_reserve(&r->body, (size_t)p->content_length)) {
        conn_fail(c, 503, "unavailable", "out of memory");
        return -1;
    }
    c->phase = DG_CONN_BODY;
    arm(c, on_phase_timeout, s->o.body_timeout_ms);
    return 0;
}

static int on_body(http_parser *p, const char *at, size_t n)
{
    dg_http_conn *c = conn_of(p);
    struct dg_http_req *r = c->cur;
    c->body_seen += n;
    if (c->body_seen > c->srv->o.max_body_bytes) {
        if (r->answered) { /* already answered (404/405): replace with 413 */
            free(r->out);
            r->out = NULL;
            r->answered = 0;
        }
        conn_fail(c, 413, "body_too_large", "request body exceeds the configured maximum");
        return -1;
    }
    if (r->answered)
        return 0;
    return dg_buf_add(&r->body, at, n) ? -1 : 0;
}

static int on_message_complete(http_parser *p)
{
    dg_http_conn *c = conn_of(p);
    struct dg_http_req *r = c->cur;
    r->complete = 1;
    if (!r->body.p)
        dg_buf_add(&r->body, "", 0);
    c->cur = NULL;
    disarm(c);
    c->phase = r->keep_alive ? DG_CONN_IDLE : DG_CONN_DONE;
    if (c->phase == DG_CONN_DONE)
        read_stop(c);
    if (c->qlen >= DG_HTTP_MAX_PIPELINE || c->phase == DG_CONN_DONE)
        http_parser_pause(p, 1);
    return 0;
}

static const http_parser_settings settings = {
    .on_message_begin = on_message_begin,
    .on_url = on_url,
    .on_header_field = on_header_field,
    .on_header_value = on_header_value,
    .on_headers_complete = on_headers_complete,
    .on_body = on_body,
    .on_message_complete = on_message_complete,
};

static void parse(dg_http_conn *c, const char *data, size_t len)
{
    size_t n;
    enum http_errno e;
    c->in_parse = 1;
    n = http_parser_execute(&c->parser, &settings, data, len);
    c->in_parse = 0;
    e = HTTP_PARSER_ERRNO(&c->parser);
    if (c->phase == DG_CONN_DONE || c->phase == DG_CONN_LINGER || c->phase == DG_CONN_CLOSING) {
        /* answered with an error or no keep-alive: ignore what follows */
    } else if (e == HPE_PAUSED) {
        c->paused = 1;
        read_stop(c);
        if (n < len && (c->rest = malloc(len - n)) != NULL) {
            memcpy(c->rest, data + n, len - n);
            c->rest_len = len - n;
        }
    } else if (e == HPE_HEADER_OVERFLOW) {
        conn_fail(c, 431, "header_too_large", "request line and headers exceed the limit");
    } else if (e != HPE_OK) {
        conn_fail(c, 400, "bad_request", http_errno_description(e));
    } else if (c->parser.upgrade) {
        conn_fail(c, 400, "bad_request", "protocol upgrade is not supported");
    }
    if (c->close_pending) {
        c->close_pending = 0;
        dg_http_conn_close(c);
    }
}

static void on_read(uv_stream_t *st, ssize_t nread, const uv_buf_t *buf)
{
    dg_http_conn *c = st->data;
    (void)buf;
    if (nread == 0)
        return;
    if (nread < 0) {
        read_stop(c);
        c->eof = 1;
        if (c->phase == DG_CONN_LINGER || c->phase == DG_CONN_HEADERS ||
            c->phase == DG_CONN_BODY || !c->qhead || nread != UV_EOF)
            dg_http_conn_close(c);
        return;
    }
    if (c->phase != DG_CONN_IDLE && c->phase != DG_CONN_HEADERS && c->phase != DG_CONN_BODY)
        return; /* lingering or done: drop */
    parse(c, buf->base, (size_t)nread);
    if (c->phase != DG_CONN_CLOSING)
        dispatch(c);
    if (c->reading && c->tcp.write_queue_size > WRITE_HIGH) {
        c->wpaused = 1;
        read_stop(c);
    }
    sync_timer(c);
}

static void free_handle(uv_handle_t *h) { free(h); }

void dg_http_conn_accept(dg_http_server *s)
{
    dg_http_conn *c = calloc(1, sizeof *c);
    if (!c) { /* accept and drop so the backlog does not fill */
        uv_tcp_t *drop = malloc(sizeof *drop);
        if (!drop)
            return;
        uv_tcp_init(s->loop, drop);
        uv_accept((uv_stream_t *)&s->listener, (uv_stream_t *)drop);
        uv_close((uv_handle_t *)drop, free_handle);
        return;
    }
    c->srv = s;
    uv_tcp_init(s->loop, &c->tcp);
    uv_timer_init(s->loop, &c->timer);
    c->tcp.data = c->timer.data = c;
    c->handles = 2;
    c->next = s->conns;
    if (s->conns)
        s->conns->prev = c;
    s->conns = c;
    s->n_conns++;
    if (uv_accept((uv_stream_t *)&s->listener, (uv_stream_t *)&c->tcp) != 0) {
        dg_http_conn_close(c);
        return;
    }
    uv_tcp_nodelay(&c->tcp, 1);
    http_parser_init(&c->parser, HTTP_REQUEST);
    c->parser.data = c;
    c->phase = DG_CONN_IDLE;
    if (s->n_conns > s->o.max_connections) {
        conn_fail(c, 503, "too_many_connections", "connection limit reached, retry later");
        return;
    }
    arm(c, on_phase_timeout, s->o.header_timeout_ms);
    sync_timer(c);
    read_start(c);
}
