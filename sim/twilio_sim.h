/* The simulator's Twilio persona (protocols.md §B), without networking: the
 * HTTP glue of sim/duegate-sim feeds requests in and posts the webhooks this
 * module queues. Deterministic: time is injected (dg_twsim_set_now) and ids
 * and jitter come from a seeded RNG, so a run with the same seed and inputs
 * produces the same bytes.
 *
 * What it models:
 *  - POST /2010-04-01/Accounts/{AccountSid}/Messages.json: Basic auth (401,
 *    20003), form validation (21604 To missing, 21211 To invalid, 21603 From
 *    missing, 21602 Body missing, 21617 Body too long), per-number rules
 *    (any sync code, e.g. 21614 landline), opted-out numbers (21610),
 *    injected faults (500, 429 + 20429 + Retry-After); success is 201 with
 *    the §B2 Message JSON.
 *  - status callbacks to StatusCallback, signed with X-Twilio-Signature:
 *    queued -> sent -> delivered, or -> failed/undelivered with ErrorCode.
 *  - scripted inbound replies per number (posted to inbound_url after the
 *    message to that number is delivered), STOP/START bookkeeping.
 * Ownership: strings passed in are copied; responses and webhooks handed
 * out are owned by the caller and released with the matching _free. */
#ifndef DG_SIM_TWILIO_SIM_H
#define DG_SIM_TWILIO_SIM_H

#include <stddef.h>
#include <stdint.h>

typedef struct dg_twsim dg_twsim;

typedef struct dg_twsim_config {
    const char *account_sid; /* required */
    const char *auth_token;  /* required: Basic password and signing key */
    uint64_t seed;           /* RNG seed (0 is mapped to a fixed constant) */
    int64_t start_ms;        /* initial clock */
    const char *inbound_url; /* the number's "message comes in" webhook; NULL: none */
    int64_t sent_delay_ms;   /* queued -> sent (default 1000) */
    int64_t final_delay_ms;  /* sent -> delivered/failed (default 3000) */
    int64_t jitter_ms;       /* uniform 0..jitter added to each delay (default 0) */
} dg_twsim_config;

dg_twsim *dg_twsim_new(const dg_twsim_config *cfg);
void dg_twsim_free(dg_twsim *s);

void dg_twsim_set_now(dg_twsim *s, int64_t ms);
/* Change where inbound messages are posted (NULL: nowhere); 0 or -1. The
 * program learns the daemon's URL after both have started. */
int dg_twsim_set_inbound_url(dg_twsim *s, const char *url);
int64_t dg_twsim_now(const dg_twsim *s);

/* Behaviour of one destination number (default: delivered). sync_error != 0
 * refuses the create call with that code (HTTP 400). Otherwise the message
 * ends in final_status ("delivered", "undelivered", "failed") with
 * async_error as ErrorCode (0: none). Returns 0 or -1. */
int dg_twsim_number(dg_twsim *s, const char *phone, int sync_error, const char *final_status,
                    int async_error);

/* After the next message to `phone` is delivered, the phone answers `body`
 * delay_ms later. Replies queue up per number (FIFO). Returns 0 or -1. */
int dg_twsim_script_reply(dg_twsim *s, const char *phone, const char *body, int64_t delay_ms);

/* An inbound message right now (STOP-family words opt the number out, START
 * family back in, like Twilio's default handling). Returns 0 or -1. */
int dg_twsim_inbound(dg_twsim *s, const char *from, const char *to, const char *body);
int dg_twsim_opted_out(const dg_twsim *s, const char *phone);

/* The next n create calls fail with http_status: 500 (code 20500) or 429
 * (code 20429, Retry-After: retry_after_s). */
void dg_twsim_fault(dg_twsim *s, int n, int http_status, int retry_after_s);

typedef struct dg_twsim_response {
    int status;
    char *body;        /* JSON */
    int retry_after_s; /* > 0: send a Retry-After header */
} dg_twsim_response;

/* Handle one REST request. basic_user/basic_password come from the
 * Authorization header (see dg_twsim_parse_basic); NULL when absent.
 * Returns 0 (out filled) or -1 on no memory. */
int dg_twsim_handle(dg_twsim *s, const char *method, const char *path, const char *basic_user,
                    const char *basic_password, const char *body, size_t body_len,
                    dg_twsim_response *out);
void dg_twsim_response_free(dg_twsim_response *r);

/* "Basic dXNlcjpwYXNz" -> user, password. Returns 0 or -1. */
int dg_twsim_parse_basic(const char *header, char *user, size_t ucap, char *pass, size_t pcap);

typedef struct dg_twsim_webhook {
    char *url;          /* full URL to POST to */
    char *body;         /* application/x-www-form-urlencoded */
    char signature[64]; /* X-Twilio-Signature */
    int64_t due_at;
    int kind; /* 1 status callback, 2 inbound message */
} dg_twsim_webhook;

/* Due time of the earliest queued webhook, or -1. */
int64_t dg_twsim_next_due(const dg_twsim *s);
/* Pop the earliest webhook due at or before now: 1 (out filled), 0 none, -1 no memory.
 * Webhooks come out in due order (ties in queueing order). */
int dg_twsim_pop_webhook(dg_twsim *s, dg_twsim_webhook *out);
void dg_twsim_webhook_free(dg_twsim_webhook *w);

/* Messages accepted so far (for assertions and the demo's timeline). */
typedef struct dg_twsim_message {
    char sid[40];
    char to[32], from[40];
    char *body;
    char status[16]; /* last status reached */
    int num_segments;
    int error_code;
} dg_twsim_message;
size_t dg_twsim_n_messages(const dg_twsim *s);
const dg_twsim_message *dg_twsim_message_at(const dg_twsim *s, size_t i);

/* Segments Twilio would bill for body: GSM-7 160/153, otherwise UCS-2 70/67. */
int dg_twsim_segments(const char *body);

#endif
