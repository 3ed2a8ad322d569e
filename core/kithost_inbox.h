/* The conformance kit's durable inbox (internal to core/kithost.c):
 * host->inbox_append (ABI 1.1) and the plugin's inbox_process op, behaving
 * as the daemon does, in memory:
 *  - an append is copied and answered DG_PENDING; its done(DG_OK) comes at
 *    the next turn of the kit's loop (dg_kit_advance), never inside
 *    inbox_append; appends still waiting when stop finishes are answered
 *    then (the daemon writes them and answers their senders on shutdown);
 *  - acknowledged entries go to inbox_process in append order, after their
 *    done, while the instance runs and its stop has not been asked for;
 *    DG_EIO and DG_ENOMEM hand the same entry over again at the next turn,
 *    another negative code drops it (a note), anything else is a violation.
 * Without an inbox_process op (dg_kit_set_inbox) inbox_append answers
 * DG_ENOTSUP, as a daemon does. One dg_kit_inbox per dg_kit, owned by it. */
#ifndef DG_CORE_KITHOST_INBOX_H
#define DG_CORE_KITHOST_INBOX_H

#include "kithost.h"

typedef struct dg_kit_inbox dg_kit_inbox;

dg_kit_inbox *dg__kit_inbox_new(void); /* NULL on no memory */
void dg__kit_inbox_free(dg_kit_inbox *ib);
void dg__kit_inbox_set(dg_kit_inbox *ib, dg_kit_inbox_fn process, void *self);
/* One turn of the loop: acknowledge, then (if `deliver`) process. */
void dg__kit_inbox_turn(dg_kit *k, int deliver);
void dg__kit_inbox_stopped(dg_kit *k); /* answer the appends still waiting */
size_t dg__kit_inbox_waiting(const dg_kit_inbox *ib);

/* Host-table slot (see <duegate/host.h>). */
int dg__kit_inbox_append(dg_instance *inst, const dg_kv *attrs, size_t n_attrs, const void *data,
                         size_t len, dg_emit_done_cb done, void *ud);

#endif
