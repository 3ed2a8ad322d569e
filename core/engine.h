/* The dunning engine: one durable case per order owing money, run through
 * a playbook on the injectable clock (docs/engine.md has every rule).
 *
 * It IS the runtime's event sink: plugins' emit_order / emit_channel_event
 * land in dg_engine_sink(). An event is stored (dedupe key included) in one
 * transaction before the sink returns DG_OK, so the webhook can be
 * acknowledged; a duplicate returns DG_EEXIST.
 *
 * Sending: a touch is written `sending` and committed before the channel
 * instance is called; the completion updates it in a later transaction
 * (batched while the engine works through due actions). After a crash,
 * dg_engine_start reconciles touches left in `sending`: the provider may or
 * may not have accepted them, so each is marked `sent` with error_code
 * "reconciled-unknown" and the case continues as if it went out (answer
 * window, then fallback). It is never sent again: a possible lost message
 * is preferred to a certain duplicate, because a duplicate reminder (maybe
 * after payment) is the worst failure this product can have.
 *
 * Timers: one dg_ctimer for the earliest next_at (an index in the store);
 * never a scan of all cases. Loop thread only.
 *
 * Ownership: rt, store and the renderer's ud are borrowed and must outlive
 * the engine; the config is copied. */
#ifndef DG_CORE_ENGINE_H
#define DG_CORE_ENGINE_H

#include <stdio.h>

#include "message.h"
#include "playbook.h"
#include "runtime.h"
#include "store.h"

typedef struct dg_engine dg_engine;

/* What the engine did, for simulate and tests (optional). */
typedef struct dg_engine_observer {
    /* A message is handed to a channel now. */
    void (*on_send)(void *ud, const dg_case *c, const dg_touch *t, const dg_outbound_message *m);
    /* A decision worth a line in a timeline ("moved", "expired", "paused"...). */
    void (*on_note)(void *ud, const dg_case *c, const char *what, const char *why);
    void *ud;
} dg_engine_observer;

typedef struct dg_engine_opts {
    dg_runtime *rt;
    dg_store *store;
    const dg_engine_cfg *cfg;
    dg_render_fn render;
    void *render_ud;
    uint64_t seed; /* jitter; 0: from the clock */
    dg_engine_observer obs;
    size_t batch; /* due actions per transaction, 0: 256 */
    /* Sends handed to channels and not yet completed above which the engine
     * stops taking due actions until completions bring it a batch below
     * (memory and latency bounded in a burst; synchronous channels never
     * count). 0: 4 x batch. */
    size_t max_sending;
} dg_engine_opts;

int dg_engine_new(const dg_engine_opts *o, dg_engine **out, char *err, size_t err_len);
/* Reconcile `sending` touches (see above) and arm the timer. */
int dg_engine_start(dg_engine *e);
/* Disarm the timer; completions that still arrive are recorded. */
void dg_engine_stop(dg_engine *e);
void dg_engine_free(dg_engine *e);

dg_event_sink dg_engine_sink(dg_engine *e);
int dg_engine_order(dg_engine *e, dg_instance *inst, const dg_order_event *ev);
int dg_engine_channel(dg_engine *e, dg_instance *inst, const dg_channel_event *ev);

/* Work through every action due now (the timer calls it; simulate too). */
void dg_engine_run_due(dg_engine *e);

/* Operator actions: recorded in the actions table with who and when.
 * Return 0, DG_ENOTFOUND (no such case) or DG_ESTATE (not allowed now). */
int dg_engine_resume(dg_engine *e, int64_t case_id, const char *who);
int dg_engine_pause(dg_engine *e, int64_t case_id, const char *who, const char *reason);
int dg_engine_promise(dg_engine *e, int64_t case_id, const char *who, int64_t pay_by_ms);
int dg_engine_resolve(dg_engine *e, int64_t case_id, const char *who);
int dg_engine_close_wont_pay(dg_engine *e, int64_t case_id, const char *who);
/* Run the open case's next send now instead of waiting (the send windows,
 * opt-outs and caps still apply). DG_ESTATE unless a send is scheduled. */
int dg_engine_send_now(dg_engine *e, int64_t case_id, const char *who);
/* A person handled the customer's reply (note kept in the action row):
 * needs_person clears; with resume, a paused case goes back to its
 * schedule. DG_ESTATE when nothing waits for a person. */
int dg_engine_reply_handled(dg_engine *e, int64_t case_id, const char *who, const char *note,
                            int resume);
/* Erase personal data of a customer (store customer id, phone or e-mail). */
int dg_engine_forget(dg_engine *e, const char *store, const char *customer, const char *who,
                     int64_t *n_cases);

/* The kind ("whatsapp" | "sms" | "email") of a channel instance. */
const char *dg_engine_channel_kind(const dg_engine *e, const dg_instance *inst);

typedef struct dg_engine_stats {
    uint64_t sends, completions, due_actions, transactions, reconciled, dead_letters;
} dg_engine_stats;
void dg_engine_get_stats(const dg_engine *e, dg_engine_stats *out);

/* A renderer that always fails with DG_ENOTSUP (the daemon's placeholder
 * until the template layer is wired in). */
int dg_render_unavailable(void *ud, const char *template_id, const char *channel_kind,
                          const dg_msg_facts *facts, dg_rendered *out, char *err, size_t err_len);

/* `duegate simulate` (core/cmd_simulate.c). */
int dg_cmd_simulate(const char *config_path, const char *orders_path, const char *events_path,
                    FILE *out);

#endif
