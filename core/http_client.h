/* The outbound HTTP and SMTP client of the core: one libcurl multi handle
 * driven by the libuv loop (protocols.md §D2-D3): curl_multi_socket_action,
 * one single-shot uv timer (0 mapped to 1 ms), one uv_poll per socket fd,
 * reused for that fd; poll errors passed as CURL_CSELECT_ERR; no curl_multi_*
 * call from inside curl callbacks; completions always drained with
 * curl_multi_info_read.
 *
 * Promises: connections are reused (the multi's cache); HTTP/2 is used when
 * a TLS server offers it; each call has a timeout (default 30 s); `done` runs
 * exactly once on the loop thread, from a libuv callback (never inside the
 * call that started the request), unless the call is canceled first: after
 * dg_http_client_cancel returns, `done` is never called. The response
 * (status, headers, body, Retry-After in ms, transport error class) is valid
 * during `done` only. Every argument is copied.
 *
 * Each call may carry an owner tag; dg_http_client_cancel_owner cancels all
 * of an owner's calls (an instance that stops).
 *
 * Lifetime: dg_http_client_free cancels every call (no callbacks), cleans up
 * the multi handle while the loop and poll contexts are alive, and releases
 * its memory once libuv closed the handles: run the loop afterwards. */
#ifndef DG_CORE_HTTP_CLIENT_H
#define DG_CORE_HTTP_CLIENT_H

#include <stdint.h>

#include <uv.h>

#include <duegate/host.h>

typedef struct dg_http_client dg_http_client;
/* dg_http_call (from <duegate/host.h>) is the client's call type. */

typedef struct dg_http_client_opts {
    int64_t default_timeout_ms; /* 0: 30 s */
    long max_host_connections;  /* 0: libcurl's default (no limit) */
    const char *user_agent;     /* NULL: "duegate/<version>" */
    size_t max_in_flight;       /* 0: no limit; else calls beyond it wait in a FIFO and
                                   start as others complete (their timeout runs from
                                   their start); dg_http_client_active counts them */
} dg_http_client_opts;

int dg_http_client_new(uv_loop_t *loop, const dg_http_client_opts *opts, dg_http_client **out);
void dg_http_client_free(dg_http_client *c);

/* Start an HTTP request. DG_OK and *call set (call may be NULL), or a
 * negative code (done is then never called). */
int dg_http_client_request(dg_http_client *c, void *owner, const dg_http_request *req,
                           dg_http_done_cb done, void *ud, dg_http_call **call);
/* Send one message over SMTP (smtp:// with STARTTLS per require_tls, or
 * smtps://). The response status is the last SMTP reply code. */
int dg_http_client_smtp(dg_http_client *c, void *owner, const dg_smtp_message *msg,
                        dg_http_done_cb done, void *ud, dg_http_call **call);
/* Cancel a call not yet completed; NULL is ignored. */
void dg_http_client_cancel(dg_http_call *call);
/* Cancel every call of owner; returns how many. */
int dg_http_client_cancel_owner(dg_http_client *c, void *owner);
/* Calls in flight. */
size_t dg_http_client_active(const dg_http_client *c);

/* Retry-After: delta-seconds or an HTTP date, relative to now_ms (Unix ms).
 * Returns milliseconds to wait (>= 0), or -1 if value is NULL or invalid. */
int64_t dg_http_parse_retry_after(const char *value, int64_t now_ms);

/* Map a libcurl result code (CURLcode) to a transport error class. */
dg_transport_error dg_http_classify(int curl_code);

#endif
