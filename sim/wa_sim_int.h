/* Internals shared by sim/wa_sim.c (requests) and sim/wa_sim_events.c
 * (scheduled webhooks, customers). Not for other users. */
#ifndef DG_SIM_WA_SIM_INT_H
#define DG_SIM_WA_SIM_INT_H

#include <cjson/cJSON.h>

#include "wa_sim.h"

enum { B_READS = 0, B_NEVER_REPLY, B_REPLY_TEXT, B_REPLY_BUTTON, B_NOT_ON_WA, B_STOP };

typedef struct sim_peer {
    struct sim_peer *next;
    int64_t last_accept;  /* pair spacing; INT64_MIN none */
    int64_t last_inbound; /* customer service window; INT64_MIN none */
    int behaviour;
    int64_t after_ms;
    char *text, *payload;
    int replied;
    char digits[];
} sim_peer;

typedef struct sim_tpl {
    char *name, *lang;
    int n_params;
    cJSON *names;     /* array of parameter names (NAMED), or NULL */
    char buttons[10]; /* 'u' url, 'q' quick_reply, per index */
    int n_buttons;
} sim_tpl;

typedef struct sim_ev {
    int64_t due;
    uint64_t seq;
    int is_msg;     /* messages[] item (else statuses[]) */
    cJSON *obj;     /* owned */
    sim_peer *from; /* inbound: refresh the window when it fires */
} sim_ev;

struct wa_sim {
    char *phone_id, *token, *secret, *display, *waba;
    double rate; /* <= 0: unlimited */
    double tokens;
    int64_t refill_at;
    int64_t spacing, window;
    uint64_t rng;
    int64_t (*now)(void *);
    void *now_ud;
    /* script */
    sim_tpl *tpls;
    size_t n_tpls;
    double f500, f429, ftimeout, fslow;
    int64_t slow_ms;
    double dup, reorder;
    int batch, window_sync;
    int64_t sent_after, delivered_after, read_after;
    /* recipients */
    sim_peer **peers;
    size_t n_buckets, n_peers;
    /* pending webhook events: a min-heap on (due, seq) */
    sim_ev *heap;
    size_t n_heap, cap_heap;
    uint64_t seq;
    /* what we saw */
    cJSON *log; /* array, bounded */
    size_t n_requests, log_dropped, log_n, log_max;
    size_t n_accepted, n_faults;
    long codes[64];
    size_t code_counts[64];
    size_t n_codes;
    size_t n_webhooks;
};

uint64_t wa_sim__rand(wa_sim *s);
double wa_sim__uniform(wa_sim *s);
int64_t wa_sim__now(const wa_sim *s);
sim_peer *wa_sim__peer(wa_sim *s, const char *digits, int create);
/* Schedule the webhooks that follow an accepted message. */
void wa_sim__after_accept(wa_sim *s, sim_peer *p, const char *wamid, const char *cb, int is_text,
                          int window_open);
void wa_sim__events_free(wa_sim *s);
/* The control API under /_sim/ (wa_sim_control.c). */
int wa_sim__control(wa_sim *s, const char *method, const char *path, const char *body, size_t len,
                    wa_sim_response *out);

#endif
