/* Work off the loop thread (dg_host.run_off_loop, ABI 1.2): a few worker
 * threads run pure functions (a webhook's HMAC, say) and the loop thread
 * then runs each item's `done`. What is submitted during one loop iteration
 * reaches the workers together at its end (one lock, one wake-up), and the
 * workers hand finished items back in batches (one async wake-up). Items
 * belong to an owner (an instance): dg_offload_drain_owner finishes all of
 * an owner's items before it goes away. */
#ifndef DG_CORE_OFFLOAD_H
#define DG_CORE_OFFLOAD_H

#include <stddef.h>
#include <uv.h>

typedef struct dg_offload dg_offload;
typedef void (*dg_offload_fn)(void *ud);

/* `threads` worker threads (1..16). DG_OK, DG_EINVAL or DG_ENOMEM. */
int dg_offload_open(uv_loop_t *loop, unsigned threads, dg_offload **out);
/* fn(ud) runs on a worker, then done(ud) on the loop thread. DG_OK, or
 * DG_ENOMEM / DG_ESTATE (closing): then neither is ever called. */
int dg_offload_submit(dg_offload *o, const void *owner, dg_offload_fn fn, dg_offload_fn done,
                      void *ud);
/* Finish every item of `owner` now, on this (the loop) thread: those no
 * worker has started run here, those running are waited for, then every
 * `done` runs in submission order. */
void dg_offload_drain_owner(dg_offload *o, const void *owner);
/* Items submitted and not yet done (for tests and metrics). */
size_t dg_offload_pending(const dg_offload *o);
/* Drain everything, stop the workers and close the loop handles; the memory
 * is released once they have closed (run the loop). NULL is a no-op. */
void dg_offload_close(dg_offload *o);

#endif
