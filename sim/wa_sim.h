/* The WhatsApp Cloud API simulator's logic, without any networking
 * (protocols.md A9). The program sim/duegate-sim wraps it in the core's
 * HTTP server (requests in) and client (webhooks out); tests drive it
 * directly. Time comes from an injected clock and randomness from a seeded
 * generator, so every run with the same inputs gives the same outputs.
 *
 * Requests: POST /vNN.N/{phone-number-id}/messages with a bearer token
 * (wrong -> 401 code 190), a registry of approved templates per (name,
 * language) with their parameters (132001 unknown, 132000 count/name
 * mismatch), the 24 h customer service window for free-form text (131047,
 * asynchronous by default like Meta, or synchronous), a per-number token
 * bucket (130429) and per-recipient spacing (131056); success answers with
 * a fresh wamid.
 * Webhooks: each accepted message schedules statuses (sent -> delivered ->
 * read, or failed with errors[]) and the scripted customer's behaviour
 * (reply with text or a button after N ms, never reply, not on WhatsApp ->
 * failed 131026, STOP). Bodies come signed (X-Hub-Signature-256 under the
 * app secret), optionally duplicated and reordered, batched when asked.
 * Faults: a share of 500s, 429s, timeouts (never answered) and slow answers.
 *
 * Ownership: everything passed in is copied; bodies handed out are malloc'd
 * and released with the matching *_clear. One wa_sim per simulated business
 * number; no global state. */
#ifndef DG_SIM_WA_SIM_H
#define DG_SIM_WA_SIM_H

#include <stddef.h>
#include <stdint.h>

typedef struct wa_sim wa_sim;

typedef struct wa_sim_config {
    const char *phone_number_id; /* required */
    const char *access_token;    /* required: the bearer token we accept */
    const char *app_secret;      /* required: signs webhooks */
    const char *display_phone;   /* metadata.display_phone_number; default "15550000000" */
    const char *waba_id;         /* entry[].id; default "100000000000001" */
    int rate_per_second;         /* token bucket; 0 = 80; < 0 = unlimited */
    int64_t pair_spacing_ms;     /* 0 = 6000; < 0 = off */
    int64_t window_ms;           /* 0 = 24 h */
    uint64_t seed;
    int64_t (*now)(void *ud); /* required: the injected clock (ms) */
    void *now_ud;
} wa_sim_config;

/* NULL on bad config or no memory. */
wa_sim *wa_sim_new(const wa_sim_config *cfg);
void wa_sim_free(wa_sim *s);

/* Load a JSON script (any subset of the keys; later calls add or replace):
 * {"templates": [{"name": "payment_reminder", "language": "en_US", "params": 2,
 *                 "param_names": ["first_name", "order"],      (NAMED templates)
 *                 "buttons": ["url", "quick_reply"]}],
 *  "customers": [{"phone": "+14155550123", "behaviour": "reply_text" | "reply_button" |
 *                 "never_reply" | "reads" | "not_on_whatsapp" | "stop",
 *                 "after_ms": 60000, "text": "...", "payload": "DG_PAID"}],
 *  "faults": {"http_500": 0.1, "http_429": 0.1, "timeout": 0.0, "slow": 0.0, "slow_ms": 3000},
 *  "webhooks": {"duplicate": 0.1, "reorder": 0.1, "batch": 1, "sent_after_ms": 100,
 *               "delivered_after_ms": 1000, "read_after_ms": 5000,
 *               "window_error_sync": false},
 *  "record_max": 10000}                   (requests kept for wa_sim_request_json)
 * Unscripted recipients behave as "reads" (delivered, read, no reply).
 * Returns 0, or -1 with a one-line reason in err. */
int wa_sim_script(wa_sim *s, const char *json, char *err, size_t err_len);

typedef struct wa_sim_response {
    int status;            /* HTTP status; 0 with drop */
    char *body;            /* JSON; NULL with drop */
    int64_t retry_after_s; /* send "Retry-After" when >= 0 */
    int64_t delay_ms;      /* answer this much later (slow) */
    int drop;              /* never answer (the client times out) */
} wa_sim_response;

/* One HTTP request. headers: NULL-terminated name, value list (names are
 * case-insensitive). Always fills out; returns out->status. Paths under
 * /_sim/ are the control API (no auth, no faults; bind it to loopback):
 *   POST /_sim/script                      a script as above
 *   GET  /_sim/stats                       wa_sim_stats_json
 *   GET  /_sim/requests?from=N&limit=M     {"total": T, "requests": [...]}
 *   POST /_sim/customers/<phone>/messages  {"text": "..."}: the customer writes */
int wa_sim_handle(wa_sim *s, const char *method, const char *path, const char *const *headers,
                  const char *body, size_t body_len, wa_sim_response *out);
void wa_sim_response_clear(wa_sim_response *r);

typedef struct wa_sim_webhook {
    char *body;         /* the exact bytes to POST */
    char signature[80]; /* X-Hub-Signature-256 value: "sha256=<hex>" */
    int64_t due_ms;
} wa_sim_webhook;

/* Due time of the earliest pending webhook event, -1 if none. */
int64_t wa_sim_next_due(const wa_sim *s);
/* Take the next webhook due at the clock's now (up to `batch` events in one
 * body). Returns 1 and fills out, or 0 when nothing is due. */
int wa_sim_pop_webhook(wa_sim *s, wa_sim_webhook *out);
void wa_sim_webhook_clear(wa_sim_webhook *w);

/* A customer writes to the business now (opens their window). */
int wa_sim_customer_says(wa_sim *s, const char *phone, const char *text);

/* What the simulator saw: requests answered (including faults), and how
 * many ended with `code` (0 = accepted, -1 = faults: 500/429/timeout). */
size_t wa_sim_n_requests(const wa_sim *s);
size_t wa_sim_count(const wa_sim *s, long code);
/* The i-th request as JSON text {"at","path","status","code","wamid","to",
 * "request": <body as received, parsed>}; malloc'd, NULL if out of range.
 * Only the last record_max (default 10000) requests are kept. */
char *wa_sim_request_json(const wa_sim *s, size_t i);
/* Counters as JSON text (for the control API); malloc'd. */
char *wa_sim_stats_json(const wa_sim *s);

#endif
