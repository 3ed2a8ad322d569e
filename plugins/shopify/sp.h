/* Shopify store plugin: internal interfaces shared by its source files.
 *
 *  sp_util.c  - parsing helpers with no host dependency: JSON that keeps
 *               64-bit integers exact, money in minor units, ISO-8601 times,
 *               E.164 phones, time-zone hints. Also used by the simulator.
 *  sp_map.c   - a Shopify order (REST/webhook shape) -> dg_order_event.
 *  sp_gql.c   - Admin GraphQL client: throttling, backfill/reconcile, acts.
 *  sp_verify.c - the webhook signature check, off the loop thread when it can.
 *  shopify.c  - lifecycle, configuration, the webhook endpoint.
 * Nothing here is exported from the module (hidden visibility). */
#ifndef DG_PLUGIN_SHOPIFY_SP_H
#define DG_PLUGIN_SHOPIFY_SP_H

#include <stdint.h>

#include <cjson/cJSON.h>
#include <duegate/plugin.h>

/* ------------------------------------------------------------- sp_util.c */

/* Parse JSON text, first rewriting every integer literal of 16 or more
 * digits into a JSON string so it survives cJSON (which stores doubles).
 * Returns NULL on malformed input. */
cJSON *sp_json_parse(const char *text, size_t len);
/* An id field as a string: a JSON string as is, or a number of <= 15 digits
 * printed exactly. Writes into buf; returns buf or NULL when absent/invalid. */
const char *sp_json_id(const cJSON *v, char *buf, size_t cap);
/* Minor-unit exponent of an ISO 4217 currency (JPY 0, KWD 3, default 2). */
int sp_currency_exponent(const char *currency);
/* Decimal string -> integer minor units with the currency's exponent, no
 * floating point. Excess fraction digits must be zeros. Negative values,
 * empty strings, garbage and overflow are rejected (DG_EINVAL). */
int sp_money_parse(const char *s, int exponent, int64_t *out);
/* ISO-8601 with 'Z' or +hh:mm / -hh:mm offset, optional fraction -> ms. */
int sp_time_parse(const char *s, int64_t *out_ms);
/* Format ms as ISO-8601 UTC with milliseconds ("2026-03-02T09:00:00.000Z"). */
void sp_time_format(int64_t ms, char *out, size_t cap);
/* Free-text phone + ISO country -> E.164 in out. DG_EINVAL if it cannot be
 * normalised (letters, wrong length, unknown country without '+'). */
int sp_phone_e164(const char *raw, const char *country, char *out, size_t cap);
/* IANA zone for a country (+ province code) when it is unambiguous or the
 * province decides it; NULL when unknown. */
const char *sp_tz_hint(const char *country, const char *province);
/* ASCII case-insensitive compare of s1 with s2 (NULLs compare unequal). */
int sp_ieq(const char *a, const char *b);

/* -------------------------------------------------------------- sp_map.c */

typedef struct sp_map_opts {
    const char *const *presale_tags;
    size_t n_presale_tags;
    const char *presale_note_attribute; /* NULL: not used */
    int64_t unpaid_close_after_ms;
    const char *default_timezone; /* tz_hint when nothing better is known; may be NULL */
} sp_map_opts;

/* An event and the memory its pointers refer to. */
typedef struct sp_event {
    dg_order_event ev;
    dg_line_item *items;
    char **tags;
    char **strs; /* every string the event points to */
    size_t n_strs, cap_strs;
} sp_event;

/* Map an order object (REST/webhook shape, parsed with sp_json_parse) for
 * `topic` ("orders/paid", ..., NULL for API reads) into out. Returns DG_OK,
 * DG_EINVAL with a reason in err when the order is unusable. */
int sp_map_order(const cJSON *order, const char *topic, const sp_map_opts *o, sp_event *out,
                 char *err, size_t err_len);
void sp_event_free(sp_event *e);

/* ------------------------------------------------------- plugin instance */

typedef struct sp_job sp_job;
typedef struct sp_gcall sp_gcall;
typedef struct sp_pending sp_pending;

typedef struct sp {
    const dg_host *host;
    dg_instance *inst;
    /* configuration (strings owned by the host or by sp) */
    const char *shop_domain, *access_token, *client_secret, *prev_secret;
    int64_t rotation_until;
    const char *api_version;
    char *graphql_url;
    char *route_path;
    const char **presale_tags;
    size_t n_presale_tags;
    sp_map_opts map;
    int64_t reconcile_ms;
    int payment_schedules_due;
    int64_t dedupe_ttl_ms;
    int page_size;
    int refund_on_cancel;
    /* runtime */
    int started, stopping, destroying;
    int stop_pending; /* stop waits for a mutation in flight or a signature check */
    size_t verifying;  /* signature checks on a host worker (sp_verify.c) */
    dg_op stop_op;
    dg_timer *reconcile_timer;
    sp_job *jobs;        /* backfill/reconcile runs in progress */
    sp_gcall *gcalls;    /* GraphQL calls in flight or waiting */
    sp_pending *pending; /* webhooks waiting for a durable store */
    /* last throttle status seen from the API */
    double thr_available, thr_max, thr_restore;
    int64_t thr_seen_at;
} sp;

/* sp_verify.c: check X-Shopify-Hmac-Sha256 (`mac`) over the raw body with the
 * client secret, and the previous one during a rotation; then cb(s, req,
 * which) on the loop thread with which = 1 (current secret), 2 (previous) or
 * 0 (neither). Bodies of SP_VERIFY_OFF_LOOP_MIN bytes or more are checked on
 * a host worker thread when the host has them (ABI 1.2); the rest, and with
 * an older host all, inline (cb runs before sp_verify returns). body, mac and
 * req must stay valid until cb: do not answer req meanwhile. */
#define SP_VERIFY_OFF_LOOP_MIN 4096
typedef void (*sp_verified_cb)(sp *s, dg_http_req *req, int which);
void sp_verify(sp *s, dg_http_req *req, const char *body, size_t len, const char *mac,
               sp_verified_cb cb);
/* shopify.c: complete a stop that waited, once nothing holds it any more. */
void sp_stop_maybe_done(sp *s);

/* sp_gql.c */
int sp_gql_backfill(sp *s, dg_op op, int reconcile);
int sp_gql_act(sp *s, const dg_store_action *a, dg_op op);
/* Stop GraphQL work: waits and reads are canceled (their ops complete with
 * DG_ECANCELED, silently when destroying); a mutation already sent is left
 * to finish (its outcome in the store is unknown otherwise). Returns how
 * many are left; the last one completes s->stop_op when stop_pending. */
int sp_gql_stop(sp *s);
/* Mutations sent and not answered yet. */
int sp_gql_mutations_in_flight(const sp *s);
/* The GraphQL order node -> REST-shaped object understood by sp_map_order. */
cJSON *sp_gql_node_to_rest(const cJSON *node);

/* shopify.c: remember an order's updated_at; 1 if `updated_at` is older
 * than what was seen before (a stale event). */
int sp_is_stale(sp *s, const char *order_id, int64_t updated_at);
void sp_mark_seen(sp *s, const char *order_id, int64_t updated_at);
/* Labels for metrics without any: never NULL (the host copies the array). */
extern const dg_kv sp_no_labels[1];
void sp_count(sp *s, const char *metric); /* counter += 1 */
void sp_log(sp *s, dg_log_level lvl, const char *event, const char *k1, const char *v1,
            const char *k2, const char *v2);

#endif
