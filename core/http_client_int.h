/* Private to the HTTP client (http_client.c: the loop glue, calls and their
 * lifetime; http_client_req.c: building requests). Nothing else includes
 * this. */
#ifndef DG_CORE_HTTP_CLIENT_INT_H
#define DG_CORE_HTTP_CLIENT_INT_H

#include <curl/curl.h>

#include <duegate/types.h>

#include "http_client.h"

#define MAX_IDLE_EASY 256
#define MAX_RESPONSE_BYTES (64u * 1024 * 1024)

typedef struct sockctx {
    uv_poll_t poll;
    dg_http_client *c;
    curl_socket_t fd;
    int active; /* the poll handle is started, for `events` */
    int events;
    int want;   /* curl wants events (0 after CURL_POLL_REMOVE) */
    int ours;   /* opened by open_sock: its close goes through close_sock */
} sockctx;

typedef struct rhdr {
    size_t name, value; /* offsets into the call's header arena */
} rhdr;

#define INLINE_RHDRS 24
#define INLINE_BODY 512

struct dg_http_call {
    dg_http_client *c;
    CURL *easy;
    void *owner;
    dg_http_done_cb done;
    void *ud;
    struct dg_http_call *prev, *next;
    struct curl_slist *hdrs, *rcpt;
    char *url, *user, *pass, *from;
    char *data; /* request body / message, owned */
    size_t data_len, data_off;
    char *rbody; /* rsmall, or malloc'd when larger */
    size_t rbody_len, rbody_cap;
    char *rhtext; /* "name\0value\0..." of the last response's headers */
    size_t rhtext_len, rhtext_cap;
    rhdr *rh; /* rhi, or malloc'd beyond INLINE_RHDRS */
    size_t n_rh, cap_rh;
    rhdr rhi[INLINE_RHDRS];
    char rsmall[INLINE_BODY];
    /* what the easy handle gets when the call starts (queued calls hold
     * no easy handle: a burst of queued calls costs no curl state) */
    int mode;     /* HTTP: 0 GET, 1 HEAD, 2 method without a body, 3 with a body */
    char *method; /* a method curl must be told (CUSTOMREQUEST), or NULL */
    int smtps, require_tls, verify_peer;
    int64_t timeout_ms;
    int smtp;
    int too_big;
    int finishing; /* in its done callback: cancel is a no-op */
    int doomed;    /* to be failed after a multi error */
    int queued;    /* waiting for a slot (max_in_flight) */
    struct dg_http_call *qnext;
    uint64_t started;
    char errbuf[CURL_ERROR_SIZE];
};

struct dg_http_client {
    uv_loop_t *loop;
    CURLM *multi;
    uv_timer_t timer;
    dg_http_client_opts o;
    char ua[64];
    sockctx **socks; /* by fd, reused for the fd's lifetime of the client */
    size_t n_socks;
    dg_http_call *calls;
    size_t active;
    dg_http_call *wq_head, *wq_tail; /* FIFO of calls over max_in_flight */
    size_t waiting;
    CURL *idle[MAX_IDLE_EASY];
    size_t n_idle;
    int handles; /* open uv handles */
    int freeing;
};

/* A call for `c` (no easy handle yet); NULL without memory. */
dg_http_call *dg__hc_call_new(dg_http_client *c, void *owner, dg_http_done_cb done, void *ud);
/* Start it (or queue it over max_in_flight) and link it; on failure it is
 * freed and a negative code returned. */
int dg__hc_call_start(dg_http_call *k, int64_t timeout_ms, dg_http_call **out);
void dg__hc_call_free(dg_http_call *k);
/* Apply the request's own options to k->easy (http_client_req.c). */
void dg__hc_setup(dg_http_call *k);

#endif
