/* An in-process channel plugin with no network, for `duegate simulate`,
 * the engine tests and bench/engine. It goes through the real instance
 * layer and host table like any plugin. By default every send is accepted
 * at once (provider id "sim-<touch>"); a hook decides otherwise. */
#ifndef DG_CORE_SIMCHAN_H
#define DG_CORE_SIMCHAN_H

#include "instance.h"
#include "loader.h"

/* Decide the outcome of a send: fill res and return 0 (completed now),
 * return DG_PENDING to complete later with dg_simchan_complete, or a
 * negative code to refuse the send synchronously. */
typedef int (*dg_simchan_fn)(void *ud, dg_instance *inst, const dg_outbound_message *m, dg_op op,
                             dg_result *res);

/* The plugin for a kind: "whatsapp" (templates, receipts, replies),
 * "sms" (phone, replies) or "email". NULL for an unknown kind. */
const dg_plugin *dg_simchan_plugin(const char *kind);
void dg_simchan_set_hook(dg_instance *inst, dg_simchan_fn fn, void *ud);
void dg_simchan_complete(dg_instance *inst, dg_op op, const dg_result *res);
/* Sends this instance accepted so far. */
uint64_t dg_simchan_count(dg_instance *inst);

#endif
