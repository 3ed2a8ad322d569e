/* The networked simulator program sim/duegate-sim (internal to sim/):
 * duegate_sim.c owns the loop, the listener, the clock, the personas and
 * webhook delivery; sim_control.c answers the control API under /_sim/.
 *
 * One process, one libuv loop, one dg_http_server listener serving the
 * WhatsApp Cloud API (wa_sim), Twilio's Messages.json (dg_twsim) and
 * Shopify's Admin GraphQL (dg_shopsim) side by side; every persona reads
 * the same dg_clock (real, scaled or manual). Webhooks each persona queues
 * are POSTed with the core's dg_http_client to the configured callback
 * URLs: WhatsApp and Twilio retried here with backoff on non-2xx, Shopify
 * through the persona's own retry schedule. Not thread-safe. */
#ifndef DG_SIM_SIM_INT_H
#define DG_SIM_SIM_INT_H

#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>
#include <uv.h>

#include "clock.h"
#include "http_client.h"
#include "http_server.h"
#include "shopify_sim.h"
#include "twilio_sim.h"
#include "wa_sim.h"

enum { SIM_WA = 0, SIM_TW = 1, SIM_SHOP = 2, SIM_N = 3 };

typedef struct sim_hook sim_hook;   /* a WhatsApp/Twilio webhook waiting for a retry */
typedef struct hook_call hook_call; /* a webhook POST in flight */
typedef struct later later;         /* an answer given later (slow, never) */

typedef struct sim_counters {
    uint64_t posted;  /* attempts */
    uint64_t ok;      /* answered 2xx */
    uint64_t failed;  /* attempts answered otherwise (or not at all) */
    uint64_t dropped; /* given up after the last retry */
} sim_counters;

typedef struct sim {
    uv_loop_t *loop;
    dg_clock *clock;
    dg_http_server *srv;
    dg_http_client *cli;
    dg_ctimer *due_timer;
    int64_t due_timer_at;
    wa_sim *wa;
    dg_twsim *tw;
    dg_shopsim *shop;
    char *wa_callback;   /* WhatsApp webhooks go here */
    char *shop_callback; /* Shopify webhooks go here */
    char *shop_domain;
    int shop_inflight; /* one Shopify delivery at a time, in due order */
    sim_hook *retries;
    hook_call *calls;
    later *laters;
    double rate;      /* scaled clock rate */
    int max_attempts; /* WhatsApp/Twilio webhook attempts (default 6) */
    sim_counters hooks[SIM_N];
    size_t inflight; /* webhook POSTs in flight */
    uv_signal_t sigint, sigterm;
    int stopping;
} sim;

/* duegate_sim.c */
int64_t sim_now(sim *s);
/* Deliver every webhook due now and re-arm the timer (after anything that
 * may have queued one or moved the clock). */
void sim_pump(sim *s);

/* sim_control.c: answer a /_sim/ request. */
void sim_control(sim *s, dg_http_req *req, const char *path);
/* Apply the twilio section's numbers/replies/faults (config and control). */
int sim_twilio_apply(sim *s, const cJSON *tw, char *err, size_t len);
/* Respond with a cJSON object (consumed) as application/json. */
void sim_respond_json(dg_http_req *req, int status, cJSON *obj);

#endif
