/* The server object, its route table, the request accessors and response
 * formatting. Connections live in http_conn.c. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <duegate/types.h>

#include "error.h"
#include "http_server_int.h"
#include "log.h"

int dg_buf_reserve(dg_buf *b, size_t n)
{
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 64;
        char *np;
        while (cap < b->len + n + 1)
            cap *= 2;
        if (!(np = realloc(b->p, cap)))
            return DG_ENOMEM;
        b->p = np;
        b->cap = cap;
    }
    return 0;
}

int dg_buf_add(dg_buf *b, const char *p, size_t n)
{
    if (dg_buf_reserve(b, n))
        return DG_ENOMEM;
    if (n)
        memcpy(b->p + b->len, p, n);
    b->len += n;
    b->p[b->len] = '\0';
    return 0;
}

const char *dg_http_reason(int status)
{
    switch (status) {
    case 100: return "Continue";
    case 200: return "OK";
    case 201: return "Created";
    case 202: return "Accepted";
    case 204: return "No Content";
    case 301: return "Moved Permanently";
    case 302: return "Found";
    case 304: return "Not Modified";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 408: return "Request Timeout";
    case 409: return "Conflict";
    case 413: return "Content Too Large";
    case 415: return "Unsupported Media Type";
    case 422: return "Unprocessable Content";
    case 429: return "Too Many Requests";
    case 431: return "Request Header Fields Too Large";
    case 500: return "Internal Server Error";
    case 501: return "Not Implemented";
    case 502: return "Bad Gateway";
    case 503: return "Service Unavailable";
    case 504: return "Gateway Timeout";
    default: return status < 300 ? "OK" : status < 400 ? "Redirect" : status < 500 ? "Error"
                                                                                  : "Server Error";
    }
}

/* ------------------------------------------------------------ server */

int dg_http_server_new(uv_loop_t *loop, const dg_http_server_opts *o, dg_http_server **out)
{
    dg_http_server *s = calloc(1, sizeof *s);
    *out = NULL;
    if (!s)
        return DG_ENOMEM;
    s->loop = loop;
    if (o)
        s->o = *o;
    if (!s->o.max_body_bytes)
        s->o.max_body_bytes = 1024 * 1024;
    if (!s->o.max_header_bytes)
        s->o.max_header_bytes = 16 * 1024;
    if (!s->o.header_timeout_ms)
        s->o.header_timeout_ms = 10000;
    if (!s->o.body_timeout_ms)
        s->o.body_timeout_ms = 30000;
    if (!s->o.idle_timeout_ms)
        s->o.idle_timeout_ms = 60000;
    if (!s->o.max_connections)
        s->o.max_connections = 1024;
    snprintf(s->name, sizeof s->name, "%s", s->o.name ? s->o.name : "http");
    s->o.name = s->name;
    s->port = -1;
    *out = s;
    return 0;
}

static void on_connection(uv_stream_t *l, int status)
{
    dg_http_server *s = l->data;
    if (status < 0 || !s->listening)
        return;
    dg_http_conn_accept(s);
}

static int parse_hostport(const char *hp, struct sockaddr_storage *ss)
{
    char host[256];
    const char *colon;
    char *end;
    long port;
    size_t hl;
    if (!hp || !*hp)
        return DG_EINVAL;
    if (hp[0] == '[') {
        const char *rb = strchr(hp, ']');
        if (!rb || rb[1] != ':')
            return DG_EINVAL;
        hl = (size_t)(rb - hp - 1);
        if (hl >= sizeof host)
            return DG_EINVAL;
        memcpy(host, hp + 1, hl);
        colon = rb + 1;
    } else {
        colon = strrchr(hp, ':');
        if (!colon)
            return DG_EINVAL;
        hl = (size_t)(colon - hp);
        if (hl >= sizeof host)
            return DG_EINVAL;
        memcpy(host, hp, hl);
    }
    host[hl] = '\0';
    port = strtol(colon + 1, &end, 10);
    if (*end || end == colon + 1 || port < 0 || port > 65535)
        return DG_EINVAL;
    if (hl == 0 || strcmp(host, "*") == 0)
        snprintf(host, sizeof host, "0.0.0.0");
    if (uv_ip4_addr(host, (int)port, (struct sockaddr_in *)ss) == 0)
        return 0;
    if (uv_ip6_addr(host, (int)port, (struct sockaddr_in6 *)ss) == 0)
        return 0;
    return DG_EINVAL;
}

int dg_http_server_listen(dg_http_server *s, const char *hostport, char *err, size_t len)
{
    struct sockaddr_storage ss, bound;
    int n = sizeof bound, rc;
    if (s->listener_open) {
        dg_errf(err, len, "%s: already listening", s->name);
        return DG_ESTATE;
    }
    memset(&ss, 0, sizeof ss);
    if (parse_hostport(hostport, &ss)) {
        dg_errf(err, len, "%s: listen address '%s' is not host:port", s->name,
                hostport ? hostport : "");
        return DG_EINVAL;
    }
    uv_tcp_init(s->loop, &s->listener);
    s->listener.data = s;
    s->listener_open = 1;
    rc = uv_tcp_bind(&s->listener, (const struct sockaddr *)&ss, 0);
    if (!rc)
        rc = uv_listen((uv_stream_t *)&s->listener, 511, on_connection);
    if (rc) {
        dg_errf(err, len, "%s: cannot listen on %s: %s", s->name, hostport, uv_strerror(rc));
        return DG_EIO;
    }
    memset(&bound, 0, sizeof bound);
    uv_tcp_getsockname(&s->listener, (struct sockaddr *)&bound, &n);
    s->port = bound.ss_family == AF_INET6 ? ntohs(((struct sockaddr_in6 *)&bound)->sin6_port)
                                          : ntohs(((struct sockaddr_in *)&bound)->sin_port);
    s->listening = 1;
    return 0;
}

int dg_http_server_port(const dg_http_server *s) { return s ? s->port : -1; }

static void maybe_release(dg_http_server *s)
{
    if (s->freeing && !s->listener_open && !s->conns)
        free(s);
}

static void on_listener_closed(uv_handle_t *h)
{
    dg_http_server *s = h->data;
    s->listener_open = 0;
    maybe_release(s);
}

void dg_http_server_stop_accepting(dg_http_server *s)
{
    if (s && s->listening) {
        s->listening = 0;
        uv_close((uv_handle_t *)&s->listener, on_listener_closed);
    }
}

void dg_http_server_conn_gone(dg_http_server *s, dg_http_conn *c)
{
    if (c->prev)
        c->prev->next = c->next;
    else
        s->conns = c->next;
    if (c->next)
        c->next->prev = c->prev;
    s->n_conns--;
    free(c);
    maybe_release(s);
}

void dg_http_server_free(dg_http_server *s)
{
    dg_http_route *r;
    if (!s || s->freeing)
        return;
    s->freeing = 1;
    while ((r = s->routes)) {
        s->routes = r->next;
        free(r->method);
        free(r->path);
        free(r);
    }
    /* Unanswered requests die with the server; their connections close. */
    while (s->pending) {
        struct dg_http_req *q = s->pending;
        s->pending = q->anext;
        q->aprev = q->anext = NULL;
        q->dispatched = 0;
        if (!q->conn)
            dg_http_req_free(q);
        else
            q->answered = 1, q->close_after = 1; /* nothing to write: freed by close */
    }
    s->n_pending = 0;
    if (s->listening) {
        s->listening = 0;
        uv_close((uv_handle_t *)&s->listener, on_listener_closed);
    } else if (s->listener_open && !uv_is_closing((uv_handle_t *)&s->listener)) {
        uv_close((uv_handle_t *)&s->listener, on_listener_closed);
    }
    for (dg_http_conn *c = s->conns; c; c = c->next)
        dg_http_conn_close(c);
    maybe_release(s);
}

size_t dg_http_server_connections(const dg_http_server *s) { return s->n_conns; }
size_t dg_http_server_pending(const dg_http_server *s) { return s->n_pending; }

/* ------------------------------------------------------------ routes */

int dg_http_server_route(dg_http_server *s, const char *method, const char *path, int prefix,
                         void *owner, dg_http_server_handler handler, void *ud)
{
    dg_http_route *r;
    if (!s || !method || !*method || !path || path[0] != '/' || !handler)
        return DG_EINVAL;
    for (r = s->routes; r; r = r->next)
        if (r->prefix == !!prefix && strcmp(r->method, method) == 0 && strcmp(r->path, path) == 0)
            return DG_EEXIST;
    if (!(r = calloc(1, sizeof *r)) || !(r->method = strdup(method)) ||
        !(r->path = strdup(path))) {
        if (r)
            free(r->method);
        free(r);
        return DG_ENOMEM;
    }
    r->path_len = strlen(path);
    r->prefix = !!prefix;
    r->owner = owner;
    r->handler = handler;
    r->ud = ud;
    r->next = s->routes;
    s->routes = r;
    return 0;
}

static int unroute_if(dg_http_server *s, int (*match)(const dg_http_route *, const void *),
                      const void *arg)
{
    dg_http_route **pp = &s->routes;
    int n = 0;
    while (*pp) {
        dg_http_route *r = *pp;
        if (match(r, arg)) {
            *pp = r->next;
            free(r->method);
            free(r->path);
            free(r);
            n++;
        } else {
            pp = &r->next;
        }
    }
    return n;
}

typedef struct route_key {
    const char *method, *path;
    int prefix;
} route_key;

static int match_key(const dg_http_route *r, const void *a)
{
    const route_key *k = a;
    return r->prefix == k->prefix && strcmp(r->method, k->method) == 0 &&
           strcmp(r->path, k->path) == 0;
}

static int match_owner(const dg_http_route *r, const void *a) { return r->owner == a; }

int dg_http_server_unroute(dg_http_server *s, const char *method, const char *path, int prefix)
{
    route_key k = {method, path, !!prefix};
    return s && method && path ? unroute_if(s, match_key, &k) : 0;
}

int dg_http_server_unroute_owner(dg_http_server *s, void *owner)
{
    return s ? unroute_if(s, match_owner, owner) : 0;
}

int dg_http_server_abort_owner(dg_http_server *s, void *owner, int status, const char *detail)
{
    int n = 0;
    struct dg_http_req *q, *next;
    if (!s)
        return 0;
    for (q = s->pending; q; q = next) {
        next = q->anext;
        if (q->owner != owner)
            continue;
        dg_http_server_respond_error(q, status, "unavailable", detail);
        n++;
        next = s->pending; /* the list changed: rescan from the start */
    }
    return n;
}

/* Does route r's path cover `path` (length plen)? */
static int path_matches(const dg_http_route *r, const char *path, size_t plen)
{
    if (r->prefix)
        return plen >= r->path_len && memcmp(r->path, path, r->path_len) == 0;
    return plen == r->path_len && memcmp(r->path, path, plen) == 0;
}

int dg_http_route_lookup(dg_http_server *s, struct dg_http_req *q, char *allow, size_t alen)
{
    const dg_http_route *best = NULL, *r;
    const char *path = dg_http_server_req_path(q);
    size_t plen = strlen(path), best_len = 0;
    int best_exact = 0, path_known = 0;
    /* The most specific path that exists (any method) decides 404 vs 405. */
    for (r = s->routes; r; r = r->next) {
        if (!path_matches(r, path, plen))
            continue;
        if (!r->prefix && !best_exact) {
            best_exact = 1;
            best_len = r->path_len;
        } else if (!best_exact && r->path_len > best_len) {
            best_len = r->path_len;
        }
    }
    for (r = s->routes; r; r = r->next) {
        if (!path_matches(r, path, plen) || r->prefix == best_exact || r->path_len != best_len)
            continue;
        path_known = 1;
        if (strcmp(r->method, q->method) == 0 || strcmp(r->method, "*") == 0) {
            best = r;
            break;
        }
    }
    if (best) {
        q->handler = best->handler;
        q->ud = best->ud;
        q->owner = best->owner;
        return 0;
    }
    if (!path_known)
        return 404;
    allow[0] = '\0';
    for (r = s->routes; r; r = r->next) {
        size_t used = strlen(allow);
        if (!path_matches(r, path, plen) || r->prefix == best_exact || r->path_len != best_len)
            continue;
        snprintf(allow + used, alen - used, "%s%s", used ? ", " : "", r->method);
    }
    return 405;
}

/* ------------------------------------------------------------ requests */

void dg_http_req_free(struct dg_http_req *r)
{
    if (!r)
        return;
    if (r->hdrs != r->hinline)
        free(r->hdrs);
    free(r->text.p);
    free(r->body.p);
    free(r->out);
    free(r);
}

const char *dg_http_server_req_method(const dg_http_req *r) { return r->method; }
const char *dg_http_server_req_path(const dg_http_req *r)
{
    return r->has_path ? r->text.p + r->path : "/";
}
const char *dg_http_server_req_query(const dg_http_req *r)
{
    return r->has_path ? r->text.p + r->query : "";
}
const char *dg_http_server_req_url(const dg_http_req *r) { return r->text.p ? r->text.p : ""; }

static const char *hvalue(const dg_http_req *r, size_t i)
{
    return r->hdrs[i].value == DG_HTTP_NO_VALUE ? "" : r->text.p + r->hdrs[i].value;
}

const char *dg_http_server_req_header(const dg_http_req *r, const char *name)
{
    for (size_t i = 0; name && i < r->n_hdrs; i++)
        if (strcasecmp(r->text.p + r->hdrs[i].name, name) == 0)
            return hvalue(r, i);
    return NULL;
}

size_t dg_http_server_req_header_count(const dg_http_req *r) { return r->n_hdrs; }
const char *dg_http_server_req_header_name(const dg_http_req *r, size_t i)
{
    return i < r->n_hdrs ? r->text.p + r->hdrs[i].name : NULL;
}
const char *dg_http_server_req_header_value(const dg_http_req *r, size_t i)
{
    return i < r->n_hdrs ? hvalue(r, i) : NULL;
}

const void *dg_http_server_req_body(const dg_http_req *r, size_t *len)
{
    if (len)
        *len = r->body.len;
    return r->body.p ? r->body.p : "";
}

void *dg_http_server_req_owner(const dg_http_req *r) { return r->owner; }
int dg_http_server_req_connected(const dg_http_req *r) { return r->conn != NULL; }

/* ------------------------------------------------------------ answers */

static int header_ok(const char *s, int is_name)
{
    if (!s || (is_name && !*s))
        return 0;
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '\r' || c == '\n' || (is_name && (c <= ' ' || c == ':' || c >= 127)))
            return 0;
    }
    return 1;
}

static char *put(char *o, const char *s, size_t n)
{
    memcpy(o, s, n);
    return o + n;
}

int dg_http_format(struct dg_http_req *r, int status, const dg_kv *h, size_t n, const void *body,
                   size_t len)
{
    const char *reason = dg_http_reason(status);
    const int close = r->close_after || !r->keep_alive;
    const int head = strcmp(r->method, "HEAD") == 0;
    char num[24], *out, *o;
    size_t need, nl = 0, v = len;
    for (size_t i = 0; i < n; i++) {
        if (!header_ok(h[i].key, 1) || !header_ok(h[i].value, 0) ||
            strcasecmp(h[i].key, "content-length") == 0 ||
            strcasecmp(h[i].key, "connection") == 0 ||
            strcasecmp(h[i].key, "transfer-encoding") == 0)
            return DG_EINVAL;
    }
    if (status == 204 || status == 304)
        len = v = 0; /* no body allowed */
    do /* decimal Content-Length, right to left */
        num[sizeof num - 1 - nl++] = (char)('0' + v % 10);
    while ((v /= 10) && nl < sizeof num);
    need = 13 + strlen(reason) + 2 + 16 + nl + 2 + (close ? 19 : 0) + 2 + (head ? 0 : len);
    for (size_t i = 0; i < n; i++)
        need += strlen(h[i].key) + 2 + strlen(h[i].value) + 2;
    if (!(o = out = malloc(need + 1)))
        return DG_ENOMEM;
    o = put(o, "HTTP/1.1 ", 9);
    *o++ = (char)('0' + status / 100 % 10);
    *o++ = (char)('0' + status / 10 % 10);
    *o++ = (char)('0' + status % 10);
    *o++ = ' ';
    o = put(o, reason, strlen(reason));
    o = put(o, "\r\n", 2);
    for (size_t i = 0; i < n; i++) {
        o = put(o, h[i].key, strlen(h[i].key));
        o = put(o, ": ", 2);
        o = put(o, h[i].value, strlen(h[i].value));
        o = put(o, "\r\n", 2);
    }
    o = put(o, "Content-Length: ", 16);
    o = put(o, num + sizeof num - nl, nl);
    o = put(o, "\r\n", 2);
    if (close)
        o = put(o, "Connection: close\r\n", 19);
    o = put(o, "\r\n", 2);
    if (!head && len) /* HEAD: the length, not the bytes */
        o = put(o, body, len);
    *o = '\0';
    free(r->out);
    r->out = out;
    r->out_len = (size_t)(o - out);
    r->answered = 1;
    return 0;
}

/* Append s to b as JSON string contents. */
static void json_escape(dg_buf *b, const char *s)
{
    for (; s && *s; s++) {
        unsigned char c = (unsigned char)*s;
        char esc[8];
        if (c == '"' || c == '\\') {
            esc[0] = '\\', esc[1] = (char)c;
            dg_buf_add(b, esc, 2);
        } else if (c < 0x20) {
            snprintf(esc, sizeof esc, "\\u%04x", c);
            dg_buf_add(b, esc, 6);
        } else {
            dg_buf_add(b, (const char *)&c, 1);
        }
    }
}

int dg_http_format_error(struct dg_http_req *r, int status, const char *error,
                         const char *detail, const char *allow)
{
    dg_buf b = {0};
    dg_kv h[2] = {{"Content-Type", "application/json", 0}, {"Allow", allow, 0}};
    int rc;
    dg_buf_add(&b, "{\"error\": \"", 11);
    json_escape(&b, error);
    dg_buf_add(&b, "\", \"detail\": \"", 14);
    json_escape(&b, detail);
    dg_buf_add(&b, "\"}\n", 3);
    if (!b.p)
        return DG_ENOMEM;
    rc = dg_http_format(r, status, h, allow ? 2 : 1, b.p, b.len);
    free(b.p);
    return rc;
}

static void unlink_pending(struct dg_http_req *r)
{
    dg_http_server *s = r->srv;
    if (!r->dispatched)
        return;
    if (r->aprev)
        r->aprev->anext = r->anext;
    else if (s->pending == r)
        s->pending = r->anext;
    if (r->anext)
        r->anext->aprev = r->aprev;
    r->aprev = r->anext = NULL;
    r->dispatched = 0;
    s->n_pending--;
}

static int deliver(struct dg_http_req *r, int rc)
{
    unlink_pending(r);
    if (!r->conn)
        dg_http_req_free(r); /* client gone: the answer is discarded */
    else
        dg_http_conn_flush(r->conn);
    return rc;
}

int dg_http_server_respond(dg_http_req *r, int status, const dg_kv *headers, size_t n,
                           const void *body, size_t len)
{
    int rc;
    if (!r || r->answered)
        return DG_ESTATE;
    if (status < 200 || status > 599) {
        dg_http_format_error(r, 500, "internal", "handler gave an invalid status", NULL);
        return deliver(r, DG_EINVAL);
    }
    rc = dg_http_format(r, status, headers, n, body ? body : "", body ? len : 0);
    if (rc == DG_EINVAL)
        dg_http_format_error(r, 500, "internal", "handler gave an invalid header", NULL);
    if (rc && !r->answered) {
        r->close_after = 1; /* out of memory: drop the connection */
        r->answered = 1;
    }
    return deliver(r, rc);
}

int dg_http_server_respond_error(dg_http_req *r, int status, const char *error,
                                 const char *detail)
{
    int rc;
    if (!r || r->answered)
        return DG_ESTATE;
    rc = dg_http_format_error(r, status, error, detail, NULL);
    if (rc) {
        r->close_after = 1;
        r->answered = 1;
    }
    return deliver(r, rc);
}
