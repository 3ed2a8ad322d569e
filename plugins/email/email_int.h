/* email plugin internals shared by email.c (lifecycle, send) and
 * email_routes.c (the unsubscribe and inbound webhooks). Not installed. */
#ifndef DG_PLUGIN_EMAIL_INT_H
#define DG_PLUGIN_EMAIL_INT_H

#include <stddef.h>
#include <stdint.h>

#include <duegate/plugin.h>

typedef struct em em;

typedef struct send_ctx {
    em *e;
    dg_op op;
    dg_http_call *call;
    char message_id[160];
    struct send_ctx *prev, *next;
} send_ctx;

struct em {
    const dg_host *host;
    dg_instance *inst;
    const char *smtp_url, *username, *password, *from_address, *from_name, *reply_to;
    const char *inbound_secret;
    int require_tls, verify_peer, list_unsubscribe, inbound_enabled;
    int64_t timeout_ms, tempfail_retry_ms;
    char secret[80]; /* HMAC key of unsubscribe tokens */
    char unsub_path[160], inbound_path[160];
    char *unsub_url; /* public URL of unsub_path */
    const char *domain;
    uint64_t seq;
    send_ctx *inflight;
    int stopping;
    dg_op stop_op;
};

/* email.c */
void em_logkv(em *e, dg_log_level lvl, const char *ev, const char *k, const char *v, int fl);
/* Unsubscribe token for an address / the address a token was minted for. */
int em_make_token(em *e, const char *addr, char *out, size_t cap);
int em_check_token(em *e, const char *tok, char *addr, size_t cap);

/* email_routes.c: the webhook handlers registered by start. */
void em_on_unsub_get(void *ud, dg_http_req *req);
void em_on_unsub_post(void *ud, dg_http_req *req);
void em_on_inbound(void *ud, dg_http_req *req);

#endif
