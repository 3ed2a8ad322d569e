/* The HTTP/1.1 server of the core: libuv TCP streams parsed by http-parser.
 *
 * Promises:
 *  - keep-alive and pipelining: answers leave in request order, whatever
 *    order handlers answer in; at most DG_HTTP_MAX_PIPELINE requests are
 *    queued per connection (reading pauses beyond that);
 *  - chunked request bodies, `Expect: 100-continue` (100 is sent only when
 *    the route exists and the declared body fits), raw body bytes kept;
 *  - limits, each answered with a JSON body {"error": "...", "detail": "..."}:
 *    body over max_body_bytes -> 413 (before the body is read, then close);
 *    header section over max_header_bytes -> 431 (close); malformed -> 400
 *    (close); no route -> 404; known path, other method -> 405 with Allow;
 *    headers not complete within header_timeout_ms of the first byte, or
 *    body not complete within body_timeout_ms of the headers -> 408 (close);
 *    idle keep-alive connections closed after idle_timeout_ms; connections
 *    beyond max_connections get 503 and are closed;
 *  - a client that stops reading its answers stops being read once 1 MiB
 *    of output is queued for it;
 *  - a route table shared by its users: exact paths or prefixes (longest
 *    prefix wins, exact beats prefix), method "*" matching any method, each
 *    route tagged with an owner so a user can drop all of its routes and
 *    answer its pending requests at once.
 *
 * Requests: a handler receives a dg_http_req owned by the server and must
 * answer it exactly once with dg_http_server_respond, now or later. The
 * request and everything read from it stay valid until answered, even if the
 * client went away (the answer is then discarded). Not thread-safe: every
 * call on the loop thread.
 *
 * Lifetime: dg_http_server_free stops listening, closes every connection and
 * frees unanswered requests (answer or abort them first); the memory is
 * released once libuv has closed the handles, so run the loop afterwards. */
#ifndef DG_CORE_HTTP_SERVER_H
#define DG_CORE_HTTP_SERVER_H

#include <stddef.h>
#include <stdint.h>

#include <uv.h>

#include <duegate/host.h>

#define DG_HTTP_MAX_PIPELINE 32

typedef struct dg_http_server dg_http_server;
/* dg_http_req (from <duegate/host.h>) is the server's request type. */
typedef void (*dg_http_server_handler)(void *ud, dg_http_req *req);

typedef struct dg_http_server_opts {
    size_t max_body_bytes;      /* 0: 1 MiB */
    size_t max_header_bytes;    /* request line + headers; 0: 16 KiB */
    uint64_t header_timeout_ms; /* 0: 10 s */
    uint64_t body_timeout_ms;   /* 0: 30 s */
    uint64_t idle_timeout_ms;   /* 0: 60 s */
    size_t max_connections;     /* 0: 1024 */
    const char *name;           /* for logs, e.g. "webhooks"; NULL: "http" */
} dg_http_server_opts;

int dg_http_server_new(uv_loop_t *loop, const dg_http_server_opts *opts, dg_http_server **out);
/* Listen on "host:port" ("[v6]:port" for IPv6); port 0 picks a free port. */
int dg_http_server_listen(dg_http_server *s, const char *hostport, char *err, size_t err_len);
/* The bound port (after listen), or -1. */
int dg_http_server_port(const dg_http_server *s);
/* Stop accepting new connections (existing ones are served). */
void dg_http_server_stop_accepting(dg_http_server *s);
void dg_http_server_free(dg_http_server *s);

/* Register a route. `path` is exact, or a prefix when `prefix` is 1 (it
 * then matches every path starting with it). DG_EEXIST if the same method
 * and path (and kind) is taken. */
int dg_http_server_route(dg_http_server *s, const char *method, const char *path, int prefix,
                         void *owner, dg_http_server_handler handler, void *ud);
/* Remove one route / every route of owner; returns how many were removed. */
int dg_http_server_unroute(dg_http_server *s, const char *method, const char *path, int prefix);
int dg_http_server_unroute_owner(dg_http_server *s, void *owner);
/* Answer every unanswered request dispatched to a route of owner with
 * status (e.g. 503) and a JSON error; returns how many. */
int dg_http_server_abort_owner(dg_http_server *s, void *owner, int status, const char *detail);

/* Counters for tests and metrics. */
size_t dg_http_server_connections(const dg_http_server *s);
size_t dg_http_server_pending(const dg_http_server *s); /* dispatched, not answered */

/* ---- the request (valid until answered). */
const char *dg_http_server_req_method(const dg_http_req *r);
const char *dg_http_server_req_path(const dg_http_req *r);  /* raw, without query */
const char *dg_http_server_req_query(const dg_http_req *r); /* raw, without '?'; "" if none */
const char *dg_http_server_req_url(const dg_http_req *r);   /* as received */
const char *dg_http_server_req_header(const dg_http_req *r, const char *name); /* any case */
size_t dg_http_server_req_header_count(const dg_http_req *r);
const char *dg_http_server_req_header_name(const dg_http_req *r, size_t i);
const char *dg_http_server_req_header_value(const dg_http_req *r, size_t i);
/* Raw body bytes, NUL-terminated for convenience (not counted in len). */
const void *dg_http_server_req_body(const dg_http_req *r, size_t *len);
void *dg_http_server_req_owner(const dg_http_req *r);
/* 1 while the client connection is still open. */
int dg_http_server_req_connected(const dg_http_req *r);

/* Answer: status 100-599 (not 1xx), extra headers (Content-Length and
 * Connection are the server's), body copied. The request is released.
 * DG_EINVAL on a bad status or header (then the request is answered 500). */
int dg_http_server_respond(dg_http_req *r, int status, const dg_kv *headers, size_t n_headers,
                           const void *body, size_t body_len);
/* Answer with {"error": error, "detail": detail} and Content-Type JSON. */
int dg_http_server_respond_error(dg_http_req *r, int status, const char *error,
                                 const char *detail);

/* Reason phrase of a status ("OK", "Not Found", ...). */
const char *dg_http_reason(int status);

#endif
