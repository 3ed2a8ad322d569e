/* The conformance kit's instrumented host table (used by `duegate
 * plugin-test`, core/conformance.c). It implements every slot of
 * <duegate/host.h> without a loop, a database or sockets, and records what
 * the plugin does so the kit can judge it:
 *
 *  - every host call is checked: on the thread that created the kit (the
 *    "loop thread"), and not after the instance's stop completed (only
 *    host->free is allowed then); each breach is a violation;
 *  - ops are allocated by the kit and must be completed exactly once;
 *  - host objects are tracked: timers (armed / fired / stopped), forms,
 *    state_get buffers, inbound requests (answered?) and outbound HTTP/SMTP
 *    calls (answered or canceled?);
 *  - outbound calls are recorded (secrets masked) and answered by a scripted
 *    peer (dg_kit_peer) when the kit pumps, never inside http_request;
 *  - the clock is virtual: dg_kit_advance fires due timers;
 *  - run_off_loop work and the durable inbox (inbox_append, the plugin's
 *    inbox_process) behave as in the daemon, one step per turn of the
 *    kit's loop (dg_kit_advance).
 *
 * One kit per plugin instance, one kit alive at a time (host->free and the
 * form helpers take no instance, so they reach the kit through a static);
 * single-threaded. The kit owns everything it records; the strings it
 * returns live until dg_kit_free. */
#ifndef DG_CORE_KITHOST_H
#define DG_CORE_KITHOST_H

#include <pthread.h>
#include <stdio.h>

#include <cjson/cJSON.h>
#include <duegate/plugin.h>

/* How the scripted peer answers outbound calls. */
typedef struct dg_kit_peer {
    int status;                   /* HTTP status for http_request */
    int smtp_status;              /* SMTP reply code for smtp_send (0: 250) */
    const char *content_type;     /* NULL: none */
    const char *body;             /* NULL: empty */
    const char *retry_after;      /* Retry-After header value, NULL: none */
    int64_t retry_after_ms;       /* what the host parsed from it, -1 if absent */
    dg_transport_error transport; /* DG_HTTP_OK: a response; else a transport failure */
} dg_kit_peer;

/* A recorded outbound call. */
typedef struct dg_kit_call {
    struct dg_kit *kit;
    int smtp;
    char *method, *url;
    char *headers; /* "Name: value\n" lines, secrets masked */
    char *body;    /* secrets masked; NUL-terminated */
    size_t body_len;
    dg_http_done_cb done;
    void *ud;
    int answered, canceled;
    int status; /* what the peer answered */
    dg_transport_error transport;
    struct dg_kit_call *next;
} dg_kit_call;

typedef enum dg_kit_phase {
    DG_KIT_RUNNING = 0, /* create .. stop */
    DG_KIT_STOPPED = 1, /* stop completed: only host->free is allowed */
    DG_KIT_DESTROYED = 2
} dg_kit_phase;

typedef struct dg_kit_op {
    dg_op id;
    const char *what; /* "send", "stop", ... (static) */
    int completions;
    int status;
    dg_error_class error_class;
    int64_t retry_after_ms;
    char provider_id[128];
    char error_message[256];
} dg_kit_op;

typedef struct dg_kit_route {
    char *method, *path;
    dg_http_handler handler;
    void *ud;
} dg_kit_route;

typedef struct dg_kit dg_kit;

/* kind: the plugin's (a channel may not emit order events, a store may not
 * emit channel events). schema: the plugin's (borrowed; may be NULL). conf: the resolved instance
 * configuration (ownership passes). Secrets are the values of the schema's
 * DG_CFGF_SECRET keys: they are masked in everything the kit records and
 * flagged when they show up in a log line or a result. NULL on no memory. */
dg_kit *dg_kit_new(dg_plugin_kind kind, const dg_config_field *schema, cJSON *conf);
void dg_kit_free(dg_kit *k);

const dg_host *dg_kit_host(void);
dg_instance *dg_kit_inst(dg_kit *k);

/* Ops. */
dg_op dg_kit_new_op(dg_kit *k, const char *what);
const dg_kit_op *dg_kit_op_get(dg_kit *k, dg_op id);

/* Lifecycle bookkeeping: call when the plugin's stop completed (returned
 * DG_OK or completed its op) to check for leaks and forbid further calls,
 * and after destroy to check for buffers never freed. */
void dg_kit_stopped(dg_kit *k);
/* start failed: the daemon releases what start set up (no leak checks);
 * from now on only host->free is allowed, as after stop. */
void dg_kit_start_failed(dg_kit *k);
void dg_kit_destroyed(dg_kit *k);

/* The plugin's inbox_process op and its `self` (NULL: the plugin has none,
 * and inbox_append answers DG_ENOTSUP). Entries appended and not yet
 * processed: dg_kit_inbox_waiting. See kithost_inbox.h. */
typedef int (*dg_kit_inbox_fn)(void *self, const dg_kv *attrs, size_t n_attrs, const void *data,
                               size_t len);
void dg_kit_set_inbox(dg_kit *k, dg_kit_inbox_fn process, void *self);
size_t dg_kit_inbox_waiting(dg_kit *k);

/* Loop: advance first runs the done of finished run_off_loop work (whose fn
 * ran at once, on a thread of its own), then acknowledges the inbox entries
 * appended since the last turn and hands the acknowledged ones to
 * inbox_process (until stop is asked for), then moves the clock to now + ms, firing due timers in order,
 * and returns how many fired (at most 10000 per call: more is a timer storm,
 * a violation). next_timer_in gives the delay to the earliest armed timer,
 * -1 if none. (The peer and dg_kit_pump are in kithost_http.h.) */
int dg_kit_advance(dg_kit *k, int64_t ms);
int64_t dg_kit_next_timer_in(dg_kit *k);
int64_t dg_kit_now(dg_kit *k);

/* Records. */
size_t dg_kit_n_emitted(dg_kit *k);
const char *dg_kit_log_text(dg_kit *k); /* masked log lines, one per line */

/* Violations (contract breaches) and notes (worth a look, not failures),
 * one line each, duplicates folded with a count. */
size_t dg_kit_n_violations(dg_kit *k);
const char *dg_kit_violation_at(dg_kit *k, size_t i);
size_t dg_kit_n_notes(dg_kit *k);
const char *dg_kit_note_at(dg_kit *k, size_t i);
void dg_kit_violation(dg_kit *k, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void dg_kit_note(dg_kit *k, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Replace every secret value in s by "****"; malloc'd result (NULL on no memory). */
char *dg_kit_mask(dg_kit *k, const char *s);
/* 1 if s contains a secret value. */
int dg_kit_has_secret(dg_kit *k, const char *s);

/* Internal to the kit (kithost*.c): the check every host
 * slot starts with (loop thread; nothing after stop but host->free),
 * returning 1 when the call must be ignored; the live kit; its HTTP side,
 * state store, inbox and configuration. */
int dg__kit_guard(dg_kit *k, const char *fn);
dg_kit *dg__kit_current(void);
struct dg_kit_http *dg__kit_http(dg_kit *k);
struct dg_kit_state *dg__kit_state(dg_kit *k);
struct dg_kit_inbox *dg__kit_inbox(dg_kit *k);
const cJSON *dg__kit_conf(dg_kit *k);
const dg_config_field *dg__kit_schema(dg_kit *k);
/* Keep `text` (malloc'd; NULL allowed) until dg_kit_free; returns it, or
 * NULL (text freed) on no memory. */
const char *dg__kit_keep(dg_kit *k, char *text);

#endif
