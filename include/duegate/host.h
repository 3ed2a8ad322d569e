/* duegate plugin SDK: the host API table.
 *
 * The host hands a `const dg_host *` to a plugin's `create`. The table is
 * valid until the plugin's `destroy` returns. Every function in it must be
 * called on the loop thread (the thread that called the plugin op), and every
 * callback the host makes reaches the plugin on that same thread.
 *
 * Ownership: arguments are borrowed for the call (the host copies what it
 * keeps). Strings the host returns are owned by the host and live as long as
 * documented next to the function; buffers the host allocates for the plugin
 * are released with host->free.
 *
 * Versioning: slots are only ever appended. A plugin built against minor N
 * that runs in a host of minor >= N can use every slot it knows about; check
 * `struct_size` (DG_HOST_HAS) before using a slot added after 1.0.
 */
#ifndef DUEGATE_HOST_H
#define DUEGATE_HOST_H

#include "types.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct dg_instance dg_instance;   /* one configured plugin instance */
typedef struct dg_timer dg_timer;         /* a host timer */
typedef struct dg_http_req dg_http_req;   /* an inbound HTTP request */
typedef struct dg_http_call dg_http_call; /* an outbound HTTP/SMTP call */
typedef struct dg_form dg_form;           /* parsed form/query parameters */
typedef uint64_t dg_op;                   /* id of a pending async op */

typedef enum dg_log_level {
    DG_LOG_ERROR = 0,
    DG_LOG_WARN = 1,
    DG_LOG_INFO = 2,
    DG_LOG_DEBUG = 3
} dg_log_level;

typedef enum dg_hmac_alg { DG_HMAC_SHA1 = 1, DG_HMAC_SHA256 = 2 } dg_hmac_alg;

/* Classes of outbound transport failure (dg_http_response.transport_error). */
typedef enum dg_transport_error {
    DG_HTTP_OK = 0,        /* a response was received (any status) */
    DG_HTTP_EDNS = 1,      /* name resolution failed */
    DG_HTTP_ECONNECT = 2,  /* connection refused / unreachable */
    DG_HTTP_ETIMEOUT = 3,  /* request timed out */
    DG_HTTP_ETLS = 4,      /* TLS handshake or certificate failure */
    DG_HTTP_ECANCELED = 5, /* canceled by the plugin or by shutdown */
    DG_HTTP_EOTHER = 6     /* anything else (see error_message) */
} dg_transport_error;

/* An outbound HTTP request. All pointers are borrowed for the call. */
typedef struct dg_http_request {
    uint32_t struct_size;
    const char *method;      /* "GET", "POST", ... */
    const char *url;
    const dg_kv *headers;    /* extra request headers (flags: DG_KV_SECRET hides them in logs) */
    size_t n_headers;
    const void *body;        /* copied by the host */
    size_t body_len;
    const char *basic_user;  /* HTTP Basic auth when non-NULL */
    const char *basic_password;
    const char *bearer_token; /* "Authorization: Bearer ..." when non-NULL */
    int64_t timeout_ms;      /* 0: host default (30 s) */
    void *reserved[6];
} dg_http_request;

/* What an outbound call produced. Valid only during the callback. */
typedef struct dg_http_response {
    uint32_t struct_size;
    int status;                         /* HTTP status, or SMTP reply code; 0 on transport error */
    dg_transport_error transport_error; /* DG_HTTP_OK when a response was received */
    const char *error_message;          /* transport error text, NULL if none */
    const dg_kv *headers;               /* response headers, names as received */
    size_t n_headers;
    const char *body;                   /* NUL-terminated for convenience */
    size_t body_len;
    int64_t retry_after_ms;             /* parsed Retry-After (seconds or HTTP date); -1 if absent */
    int64_t elapsed_ms;
    void *reserved[6];
} dg_http_response;

typedef void (*dg_http_done_cb)(void *ud, const dg_http_response *resp);

/* A complete RFC 5322 message sent over SMTP through the host's client. */
typedef struct dg_smtp_message {
    uint32_t struct_size;
    const char *url;          /* smtp://host:587 (STARTTLS) or smtps://host:465 */
    const char *username;     /* NULL: no AUTH */
    const char *password;
    int require_tls;          /* 1: STARTTLS required (the default a plugin should use) */
    int verify_peer;          /* 1: verify the server certificate */
    const char *mail_from;    /* envelope sender */
    const char *const *rcpt;  /* envelope recipients */
    size_t n_rcpt;
    const char *data;         /* the message: headers, blank line, body, CRLF lines */
    size_t data_len;
    int64_t timeout_ms;
    void *reserved[6];
} dg_smtp_message;

/* Inbound HTTP handler. The handler must answer the request exactly once
 * with host->http_respond, now or later (asynchronously). The request and
 * everything read from it stay valid until it is answered. */
typedef void (*dg_http_handler)(void *ud, dg_http_req *req);

typedef void (*dg_timer_cb)(void *ud);

/* Called once an emitted event is durably stored (status DG_OK), found to be
 * a duplicate (DG_EEXIST), or failed (negative). */
typedef void (*dg_emit_done_cb)(void *ud, int status);

typedef struct dg_host {
    uint32_t struct_size;
    uint16_t abi_major;
    uint16_t abi_minor;

    /* ---- logging: one event per line; values masked by their flags. */
    void (*log)(dg_instance *inst, dg_log_level level, const char *event,
                const dg_kv *kv, size_t n_kv);
    const char *(*strerror)(int code);

    /* ---- instance and configuration. Returned strings live as long as the
     * instance. Defaults from the plugin's schema are applied; secrets given as
     * {"env": NAME} or {"file": PATH} are already resolved. */
    const char *(*instance_name)(dg_instance *inst);
    const char *(*config_string)(dg_instance *inst, const char *key);
    int (*config_int)(dg_instance *inst, const char *key, int64_t *out);
    int (*config_bool)(dg_instance *inst, const char *key, int *out);
    int (*config_double)(dg_instance *inst, const char *key, double *out);
    size_t (*config_array_len)(dg_instance *inst, const char *key);
    const char *(*config_array_string)(dg_instance *inst, const char *key, size_t idx);
    const char *(*config_json)(dg_instance *inst, const char *key); /* raw JSON text */
    const char *(*public_url)(dg_instance *inst); /* e.g. "https://pay.example.com", no slash */

    /* ---- async completion: finish a pending op exactly once. */
    void (*complete)(dg_instance *inst, dg_op op, const dg_result *res);

    /* ---- clock and timers (milliseconds of the host clock, which tests and
     * the demo may run virtually). timer_stop releases the timer; its callback
     * is never called after timer_stop returns. One-shot timers release
     * themselves after firing. */
    int64_t (*now_ms)(dg_instance *inst);
    dg_timer *(*timer_start)(dg_instance *inst, int64_t delay_ms, int64_t repeat_ms,
                             dg_timer_cb cb, void *ud);
    void (*timer_stop)(dg_timer *timer);

    /* ---- events into the core. The event is copied; `done` may be NULL.
     * Returns DG_OK (stored), DG_PENDING (done will be called), DG_EEXIST
     * (duplicate dedupe_key) or a negative error. */
    int (*emit_order)(dg_instance *inst, const dg_order_event *ev,
                      dg_emit_done_cb done, void *ud);
    int (*emit_channel_event)(dg_instance *inst, const dg_channel_event *ev,
                              dg_emit_done_cb done, void *ud);

    /* ---- small persistent key/value store, namespaced per instance.
     * state_get returns DG_ENOTFOUND when absent or expired; *value is
     * allocated by the host (NUL-terminated) and released with host->free. */
    int (*state_get)(dg_instance *inst, const char *key, char **value, size_t *len);
    int (*state_put)(dg_instance *inst, const char *key, const void *value,
                     size_t len, int64_t ttl_ms);
    int (*state_del)(dg_instance *inst, const char *key);
    void (*free)(void *p);

    /* ---- metrics (names in Prometheus style, labels as key/value pairs). */
    void (*metric_add)(dg_instance *inst, const char *name, const dg_kv *labels,
                       size_t n_labels, double delta);
    void (*metric_set)(dg_instance *inst, const char *name, const dg_kv *labels,
                       size_t n_labels, double value);
    void (*metric_observe)(dg_instance *inst, const char *name, const dg_kv *labels,
                           size_t n_labels, double value);

    /* ---- health: an instance that must stop sending says why (shown by the
     * health endpoint and logged); healthy = 1 clears it. */
    void (*set_health)(dg_instance *inst, int healthy, const char *reason);

    /* ---- inbound HTTP (webhooks). Paths are exact; a route belongs to the
     * instance and is removed when the instance stops. */
    int (*http_route)(dg_instance *inst, const char *method, const char *path,
                      dg_http_handler handler, void *ud);
    const char *(*http_req_method)(dg_http_req *req);
    const char *(*http_req_path)(dg_http_req *req);
    const char *(*http_req_query)(dg_http_req *req); /* raw, without '?'; "" if none */
    const char *(*http_req_header)(dg_http_req *req, const char *name); /* case-insensitive */
    const void *(*http_req_body)(dg_http_req *req, size_t *len);       /* raw bytes */
    int (*http_respond)(dg_http_req *req, int status, const dg_kv *headers,
                        size_t n_headers, const void *body, size_t body_len);

    /* ---- outbound HTTP and SMTP through the core's client. `done` is called
     * exactly once on the loop thread, unless the call is canceled first:
     * after http_cancel returns, `done` is never called. *call may be NULL. */
    int (*http_request)(dg_instance *inst, const dg_http_request *req,
                        dg_http_done_cb done, void *ud, dg_http_call **call);
    void (*http_cancel)(dg_http_call *call);
    int (*smtp_send)(dg_instance *inst, const dg_smtp_message *msg,
                     dg_http_done_cb done, void *ud, dg_http_call **call);

    /* ---- helpers for webhook verification and parsing. */
    /* HMAC into out (20 bytes for SHA1, 32 for SHA256); returns the length or <0. */
    int (*hmac)(dg_hmac_alg alg, const void *key, size_t key_len, const void *data,
                size_t len, unsigned char *out, size_t out_cap);
    /* Constant-time equality; different lengths compare unequal. */
    int (*ct_equal)(const void *a, size_t a_len, const void *b, size_t b_len);
    /* Encoders write a NUL-terminated string; return its length or <0 if out is too small. */
    int (*base64_encode)(const void *in, size_t len, char *out, size_t out_cap);
    int (*hex_encode)(const void *in, size_t len, char *out, size_t out_cap);
    /* Parse application/x-www-form-urlencoded text (bodies and query strings).
     * Returns NULL on malformed input or no memory. Release with form_free. */
    dg_form *(*form_parse)(const char *data, size_t len);
    size_t (*form_count)(const dg_form *f);
    const char *(*form_name)(const dg_form *f, size_t i);
    const char *(*form_value)(const dg_form *f, size_t i);
    const char *(*form_get)(const dg_form *f, const char *name); /* first match */
    void (*form_free)(dg_form *f);

    /* ---- 1.1: the durable inbox, for work that may wait (a webhook's body).
     * Appends raw input the plugin has verified, with a few string attributes
     * (the headers it will need), to the host's journal. `done` is called on
     * the loop thread with DG_OK once the entry is on disk (acknowledge the
     * sender then) or a negative code (nothing was stored: answer 503 so the
     * sender retries). Later, in append order, on the loop thread, the host
     * hands the entry to the instance's `inbox_process` op; an entry whose
     * processing had not committed when the daemon stopped or crashed is
     * handed over again after the restart. attrs and data are copied.
     * Returns DG_PENDING (done will be called), DG_ENOTSUP (the plugin has
     * no inbox_process op, or the host keeps no inbox) or a negative error
     * (done is never called). NULL in a 1.0 host. */
    int (*inbox_append)(dg_instance *inst, const dg_kv *attrs, size_t n_attrs,
                        const void *data, size_t len, dg_emit_done_cb done, void *ud);

    /* ---- 1.2: pure work off the loop thread (a webhook's HMAC over a large
     * body, say). fn(ud) runs on one of the host's worker threads and may
     * call only the pure helpers of this table (hmac, ct_equal,
     * base64_encode, hex_encode) and touch only memory no other code uses
     * meanwhile; then done(ud) runs on the loop thread, where everything
     * else may be called again. Work submitted during one loop iteration
     * goes to the workers together; finished items come back in completion
     * order. Before the instance is destroyed the host finishes all of its
     * items (each done runs). Returns DG_OK, or a negative error (neither
     * function will be called: do the work inline). NULL before 1.2. */
    int (*run_off_loop)(dg_instance *inst, void (*fn)(void *ud), void (*done)(void *ud),
                        void *ud);

    void *reserved[14];
} dg_host;

/* True if the host table has slot `member` (for slots added after 1.0). */
#define DG_HOST_HAS(host, member) DG_HAS_FIELD(host, dg_host, member)

#ifdef __cplusplus
}
#endif
#endif /* DUEGATE_HOST_H */
