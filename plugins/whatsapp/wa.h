/* WhatsApp channel plugin: internal interfaces between its modules.
 *
 *   whatsapp.c   lifecycle, send, response handling, sender stop, descriptor
 *   wa_body.c    request bodies (template, free-form text) per protocols.md A2
 *   wa_errors.c  classification of every A7 error code into a dg_error_class
 *   wa_pace.c    per-number send limiter, per-recipient spacing, the send queue
 *   wa_webhook.c GET handshake, signed POSTs, statuses and inbound messages
 *
 * Everything lives in one `wa` per instance; nothing is kept in statics.
 * All functions run on the loop thread. Not part of the SDK. */
#ifndef DG_PLUGIN_WA_H
#define DG_PLUGIN_WA_H

#include <stdint.h>

#include <cjson/cJSON.h>
#include <duegate/plugin.h>

#define WA_WAMID_TTL_MS (30LL * 24 * 3600 * 1000) /* wamid -> touch id kept 30 days */
#define WA_DAY_MS (24LL * 3600 * 1000)

/* A send waiting in the queue or in flight. Owns its strings. */
typedef struct wa_item {
    struct wa_item *prev, *next;
    struct wa *w;
    dg_op op;
    int no_op; /* a template fallback sent on our own: no op to complete */
    int64_t touch_id;
    char *to;       /* E.164 with '+' */
    char *body;     /* JSON request body to POST */
    char *fallback; /* template body to use if a free-form body gets 131047; NULL none */
    int is_text;    /* body is free-form text */
    dg_http_call *call;
    int answered; /* set when the host answers inside http_request: 1 requeued, 2 done */
} wa_item;

/* Recipient -> time of our last send to it (for spacing). */
typedef struct wa_recip {
    struct wa_recip *next;
    int64_t last;
    char to[];
} wa_recip;

typedef struct wa {
    const dg_host *host;
    dg_instance *inst;
    /* configuration (strings owned by the host) */
    const char *name, *phone_number_id, *access_token, *app_secret, *verify_token;
    dg_kv label;     /* {phone_number_id: ...} on our metrics */
    char url[512];   /* .../vNN.0/<id>/messages */
    char route[256]; /* /webhooks/whatsapp/<instance> */
    int64_t rate;    /* sends per second; 0: no limit */
    int64_t spacing_ms;
    int64_t window_ms;
    cJSON *stop_extra; /* {"fr": ["ARRET", ...]} or NULL */
    /* sender stop (368, 190, 131048, ...) */
    int sender_stopped;
    char stop_reason[256];
    /* lifecycle */
    int started, stopping;
    dg_op stop_op;
    /* queue (wa_pace.c) */
    wa_item *head, *tail;
    wa_item *fl_head; /* in flight */
    size_t queued, inflight;
    int64_t *ring; /* send times of the last `rate` sends */
    size_t ring_idx, ring_n;
    wa_recip **recips;
    size_t n_buckets, n_recips, prune_at;
    int64_t paused_until; /* after a throughput error */
    int pumping, repump;
    wa_item *in_dispatch; /* the item inside host->http_request, if any */
    dg_timer *timer;
    int64_t timer_due;
} wa;

/* ---- wa_errors.c */
typedef struct wa_class {
    dg_error_class cls;
    int64_t retry_after_ms;
} wa_class;
/* Classify a Cloud API error code. http_status 0 for webhook errors;
 * is_transient -1 when absent; retry_after_ms the Retry-After header or -1.
 * Unknown codes fall back on is_transient, then the HTTP status. */
wa_class wa_classify(const wa *w, long code, int http_status, int is_transient,
                     int64_t retry_after_ms);
/* Whether `code` stops the whole sender (368, 190, 131048, ...). */
int wa_code_stops_sender(long code);

/* ---- wa_body.c */
/* Build the request body for msg; *out is malloc'd. Returns 0, or DG_EINVAL
 * with a one-line reason in err (the message cannot be expressed). */
int wa_body_template(const dg_outbound_message *m, const char *to_digits, char **out, char *err,
                     size_t err_len);
int wa_body_text(const dg_outbound_message *m, const char *to_digits, char **out, char *err,
                 size_t err_len);

/* ---- wa_pace.c */
int wa_pace_init(wa *w);
void wa_pace_free(wa *w);
void wa_queue_push(wa *w, wa_item *it, int front);
void wa_queue_remove(wa *w, wa_item *it);
/* Send whatever may go now; arm the timer for the rest. */
void wa_pump(wa *w);
/* Meta throttled us: to NULL holds every send for retry_after_ms (130429,
 * 4, 80007); a recipient restarts its spacing (131056). */
void wa_pace_throttled(wa *w, const char *to, int64_t retry_after_ms);
/* Defined in whatsapp.c: POST one item now. */
void wa_dispatch(wa *w, wa_item *it);

/* ---- whatsapp.c */
void wa_item_free(wa_item *it);
void wa_complete(wa *w, dg_op op, int status, dg_error_class cls, int64_t retry_after_ms,
                 const char *provider_id, const char *code, const char *msg);
/* Complete the item's op; for an op-less fallback send, a failure becomes
 * a FAILED channel event. */
void wa_item_finish(wa *w, wa_item *it, int status, dg_error_class cls, int64_t retry_after_ms,
                    const char *provider_id, const char *code, const char *msg);
/* A free-form text we sent failed 131047 by webhook: queue its template
 * form (kept since the send) instead. Returns 1 if queued. */
int wa_fallback_131047(wa *w, const char *wamid, const char *e164, int64_t touch);
/* Stop all sending: health down, error log, queued sends fail STOP_SENDER. */
void wa_stop_sender(wa *w, long code, const char *why);
/* Window: record an inbound message at t; is the window open at now? */
void wa_window_touch(wa *w, const char *e164, int64_t t);
int wa_window_open(wa *w, const char *e164);
/* Touch id remembered for a wamid, 0 if unknown. */
int64_t wa_touch_for_wamid(wa *w, const char *wamid);

/* ---- wa_webhook.c */
int wa_webhook_routes(wa *w);
/* 1 if text is a STOP-family word in a shipped locale or the configured extras. */
int wa_is_stop_word(const wa *w, const char *text);
/* 1 if text is an opt-in word (START, UNSTOP, ...). */
int wa_is_start_word(const char *text);

#endif
