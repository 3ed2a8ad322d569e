/* The fake host's private state, shared by fakehost.c and
 * fakehost_http.c (outbound HTTP/SMTP calls). Tests use fakehost.h. */
#ifndef DG_TESTS_FAKEHOST_INT_H
#define DG_TESTS_FAKEHOST_INT_H

#include <cjson/cJSON.h>

#include "clock.h"
#include "fakehost.h"

#define MAXN 4096

struct dg_instance {
    fh *h;
};

struct dg_http_req {
    fh *h;
    char *method, *path, *query;
    cJSON *headers; /* array of [name, value] */
    char *body;
    size_t body_len;
    int answered;
    fh_response resp;
};

struct dg_http_call {
    fh *h;
    size_t idx;
    dg_http_done_cb done;
    void *ud;
};

typedef struct route {
    char *method, *path;
    dg_http_handler handler;
    void *ud;
} route;

typedef struct kvent {
    char *key, *value;
    size_t len;
    int64_t expires;
} kvent;

struct fh {
    dg_host host;
    struct dg_instance inst;
    char *name;
    cJSON *conf;
    dg_clock *clock;
    dg_op next_op;
    fh_completion done[MAXN];
    size_t n_done, n_double;
    cJSON *orders, *events;
    int emit_rc;
    int healthy;
    char reason[256];
    cJSON *metrics; /* name -> sum */
    struct {
        dg_log_level level;
        char event[64];
    } logs[MAXN];
    size_t n_logs;
    char *logtext;
    size_t logtext_len;
    route routes[64];
    size_t n_routes;
    dg_http_req *pending_req;
    fh_outbound out[MAXN];
    dg_http_call *calls[MAXN];
    size_t n_out;
    kvent kv[256];
    size_t n_kv;
    char *json_cache[64];
    size_t n_json_cache;
    void *ext[FH_EXT_SLOTS];  /* fakehost_inbox.c, fakehost_offload.c */
    void (*ext_free[FH_EXT_SLOTS])(void *);
};

static inline fh *H(dg_instance *i) { return i->h; }

/* fakehost_http.c: the host table's outbound slots */
int fh__http_request(dg_instance *inst, const dg_http_request *req, dg_http_done_cb done,
                     void *ud, dg_http_call **call);
void fh__http_cancel(dg_http_call *c);
int fh__smtp_send(dg_instance *inst, const dg_smtp_message *m, dg_http_done_cb done, void *ud,
                  dg_http_call **call);

#endif
