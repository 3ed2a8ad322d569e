/* Private to http_server.c and http_conn.c: the structures behind the
 * server, its connections and requests. Nothing else includes this. */
#ifndef DG_CORE_HTTP_SERVER_INT_H
#define DG_CORE_HTTP_SERVER_INT_H

#include <http_parser.h>

#include "http_server.h"

typedef struct dg_http_route {
    char *method;
    char *path;
    size_t path_len;
    int prefix;
    void *owner;
    dg_http_server_handler handler;
    void *ud;
    struct dg_http_route *next;
} dg_http_route;

/* Offsets into the request's text arena; value NO_VALUE when empty. */
typedef struct dg_http_hdr {
    size_t name, value;
} dg_http_hdr;
#define DG_HTTP_NO_VALUE ((size_t)-1)
#define DG_HTTP_INLINE_HDRS 24

typedef struct dg_buf {
    char *p;
    size_t len, cap;
} dg_buf;

struct dg_http_conn;

struct dg_http_req {
    dg_http_server *srv;
    struct dg_http_conn *conn; /* NULL once the connection is gone */
    struct dg_http_req *qnext; /* connection queue, request order */
    struct dg_http_req *aprev, *anext; /* server list of dispatched, unanswered */
    const char *method;
    /* One arena per request: "url\0name\0value\0...path\0query\0". */
    dg_buf text;
    int open;                 /* string being appended: 0 none, 1 url, 2 name, 3 value */
    size_t path, query;       /* offsets, valid after the headers */
    int has_path;
    dg_http_hdr *hdrs;        /* hinline, or malloc'd beyond DG_HTTP_INLINE_HDRS */
    dg_http_hdr hinline[DG_HTTP_INLINE_HDRS];
    size_t n_hdrs, cap_hdrs;
    dg_buf body;
    /* routing, resolved at end of headers */
    dg_http_server_handler handler;
    void *ud;
    void *owner;
    int complete;   /* whole request read */
    int dispatched; /* handed to its handler */
    int answered;   /* response formatted into out */
    int keep_alive;
    int close_after; /* close the connection once out is written */
    char *out;
    size_t out_len;
};

typedef enum dg_conn_phase {
    DG_CONN_IDLE = 0,    /* between requests */
    DG_CONN_HEADERS = 1, /* reading a request line and headers */
    DG_CONN_BODY = 2,    /* reading a body */
    DG_CONN_DONE = 3,    /* no more reading: an error answer will close */
    DG_CONN_LINGER = 4,  /* answer sent, draining input before close */
    DG_CONN_CLOSING = 5
} dg_conn_phase;

typedef struct dg_http_conn {
    uv_tcp_t tcp;
    uv_timer_t timer;
    uv_shutdown_t shut;
    dg_http_server *srv;
    http_parser parser;
    dg_conn_phase phase;
    struct dg_http_req *cur; /* being parsed */
    struct dg_http_req *qhead, *qtail;
    size_t qlen;
    uint64_t deadline; /* loop ms when the phase timer fires, 0 none */
    uint64_t armed;    /* deadline the uv timer is set for */
    void (*tcb)(struct dg_http_conn *); /* what the deadline means */
    size_t header_bytes;
    size_t body_seen;
    char *rest; /* unparsed input kept while paused */
    size_t rest_len;
    int reading;
    int paused;
    int wpaused; /* reading stopped: too much unread output queued */
    int eof;
    int in_parse;
    int close_pending;
    int handles; /* open uv handles (tcp, timer) */
    struct dg_http_conn *prev, *next;
} dg_http_conn;

struct dg_http_server {
    uv_loop_t *loop;
    dg_http_server_opts o;
    char name[32];
    uv_tcp_t listener;
    int listening;
    int listener_open;
    int freeing;
    int port;
    dg_http_route *routes;
    dg_http_conn *conns;
    size_t n_conns;
    struct dg_http_req *pending; /* dispatched, unanswered (any connection) */
    size_t n_pending;
    char rbuf[65536]; /* read buffer: input is consumed synchronously */
};

/* http_server.c */
int dg_buf_add(dg_buf *b, const char *p, size_t n);
int dg_buf_reserve(dg_buf *b, size_t extra);
void dg_http_req_free(struct dg_http_req *r);
/* Resolve method+path: sets handler/ud/owner, or returns 404/405 and fills
 * allow (for 405). */
int dg_http_route_lookup(dg_http_server *s, struct dg_http_req *r, char *allow, size_t allow_len);
/* Format a response into r->out (marks it answered). */
int dg_http_format(struct dg_http_req *r, int status, const dg_kv *h, size_t n, const void *body,
                   size_t len);
int dg_http_format_error(struct dg_http_req *r, int status, const char *error,
                         const char *detail, const char *allow);
void dg_http_server_conn_gone(dg_http_server *s, dg_http_conn *c);

/* http_conn.c */
void dg_http_conn_accept(dg_http_server *s);
/* A request of c was answered: write what can be written, in order. */
void dg_http_conn_flush(dg_http_conn *c);
void dg_http_conn_close(dg_http_conn *c);

#endif
