/* A fake host table for testing plugins without the daemon: a manual
 * clock, in-memory state, and recorders for everything the plugin does
 * (completions, events, logs, metrics, health, routes, outbound HTTP/SMTP).
 * Inbound webhooks are injected with fh_request; outbound calls are
 * answered by the test with fh_reply. Single instance per fake host. */
#ifndef DG_TESTS_FAKEHOST_H
#define DG_TESTS_FAKEHOST_H

#include <cjson/cJSON.h>
#include <duegate/plugin.h>

typedef struct fh fh;

typedef struct fh_completion {
    dg_op op;
    int status;
    dg_error_class error_class;
    int64_t retry_after_ms;
    char provider_id[128];
    char error_code[64];
    char error_message[256];
} fh_completion;

typedef struct fh_response {
    int status;
    char content_type[128];
    char *body; /* NUL-terminated, owned by the fake host */
    size_t body_len;
    cJSON *headers; /* {"Name": "value"}, owned by the fake host */
} fh_response;

typedef struct fh_outbound {
    int smtp;            /* 1: smtp_send, 0: http_request */
    char method[16];
    char *url;
    cJSON *headers;      /* {"Name": "value"} */
    char *body;          /* request body / SMTP data */
    size_t body_len;
    char *basic_user, *basic_password, *bearer;
    cJSON *rcpt;         /* SMTP: ["a@b"] */
    char *mail_from;
    int answered, canceled;
} fh_outbound;

/* config_json: the instance's resolved configuration object. */
fh *fh_new(const char *instance_name, const char *config_json);
void fh_free(fh *h);
const dg_host *fh_host(fh *h);
dg_instance *fh_inst(fh *h);

/* Create + start the plugin of `desc` on this fake host. Returns the
 * plugin's return code; err receives its message. */
int fh_create_start(fh *h, const dg_plugin_descriptor *desc, void **self, char *err,
                    size_t len);
/* Stop (waiting for the drain when it returns DG_PENDING, by advancing the
 * clock up to max_ms) and destroy. Returns 0 if the stop completed. */
int fh_stop_destroy(fh *h, const dg_plugin_descriptor *desc, void *self, int64_t max_ms);

/* Clock: starts at 2026-03-02T09:00:00Z. Advancing fires due timers. */
int64_t fh_now(fh *h);
void fh_set_now(fh *h, int64_t ms);
int fh_advance(fh *h, int64_t ms);
size_t fh_timers_armed(fh *h);

/* Allocate an op id the way the host would, for calling ops directly. */
dg_op fh_new_op(fh *h);
size_t fh_n_completed(fh *h);
const fh_completion *fh_completion_for(fh *h, dg_op op); /* NULL if not completed */
size_t fh_double_completions(fh *h);

/* Emitted events as JSON snapshots (fields named as in the C structs). */
size_t fh_n_orders(fh *h);
const cJSON *fh_order(fh *h, size_t i);
size_t fh_n_events(fh *h);
const cJSON *fh_event(fh *h, size_t i);
/* Make the next emits return this code (default DG_OK). */
void fh_set_emit_result(fh *h, int rc);

/* Health as last set by the plugin. */
int fh_healthy(fh *h);
const char *fh_health_reason(fh *h);
/* Sum of a metric's values over all label sets (0 if never touched). */
double fh_metric(fh *h, const char *name);
/* Number of log lines at `level` whose event name is `event` (NULL: any). */
size_t fh_log_count(fh *h, dg_log_level level, const char *event);
/* Every log value as printed, joined; for checking no secret leaks. */
const char *fh_log_text(fh *h);

/* Inbound: call the handler registered for method+path. headers is a
 * NULL-terminated list of name, value strings. Returns 0 when the handler
 * answered (out filled), DG_ENOTFOUND without a route, DG_PENDING if the
 * handler has not answered yet (call fh_pending_response later). */
int fh_request(fh *h, const char *method, const char *path, const char *query,
               const char *const *headers, const void *body, size_t body_len, fh_response *out);
int fh_pending_response(fh *h, fh_response *out);
size_t fh_n_routes(fh *h);

/* Outbound calls the plugin made, oldest first. */
size_t fh_n_outbound(fh *h);
fh_outbound *fh_outbound_at(fh *h, size_t i);
/* Answer outbound call i (calls the plugin's callback). headers: NULL-terminated
 * name/value list. transport_error: DG_HTTP_OK or a DG_HTTP_E* class. */
int fh_reply(fh *h, size_t i, int status, const char *const *headers, const char *body,
             dg_transport_error transport_error, int64_t retry_after_ms);

/* The state store, for seeding and inspection. */
int fh_state_put(fh *h, const char *key, const char *value);
const char *fh_state_get(fh *h, const char *key);

/* ---- the durable inbox (fakehost_inbox.c). Off unless enabled: then
 * host->inbox_append keeps entries in memory; fh_inbox_sync plays the
 * writer (done callbacks with `status`); fh_inbox_deliver hands every
 * synced entry to `process` (the plugin's inbox_process) and returns how
 * many it delivered, the last return code in *last_rc. */
typedef int (*fh_inbox_process_fn)(void *self, const dg_kv *attrs, size_t n_attrs,
                                   const void *data, size_t len);
void fh_inbox_enable(fh *h);
size_t fh_inbox_len(fh *h); /* appended and not yet delivered */
size_t fh_inbox_sync(fh *h, int status);
size_t fh_inbox_deliver(fh *h, fh_inbox_process_fn process, void *self, int *last_rc);
/* ---- work off the loop thread (fakehost_offload.c, ABI 1.2). Off unless
 * enabled: then host->run_off_loop queues the work; fh_offload_run plays the
 * workers and the loop (each fn, then its done, in order) and returns how
 * many ran. fh_stop_destroy runs what is left before destroy, as the
 * daemon does. */
void fh_offload_enable(fh *h);
size_t fh_offload_queued(fh *h);
size_t fh_offload_run(fh *h);

/* internal hooks for extensions: one slot each */
enum { FH_EXT_INBOX, FH_EXT_OFFLOAD, FH_EXT_SLOTS };
dg_host *fh_host_mutable(fh *h);
fh *fh_of(dg_instance *inst);
void **fh_ext(fh *h, int slot, void (*ext_free)(void *));

#endif
