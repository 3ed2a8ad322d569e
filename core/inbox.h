/* The durable inbox: verified raw input (a webhook body and a few
 * attributes) is appended to an on-disk journal and acknowledged once it is
 * there; it is processed later, in order, on the loop thread.
 *
 * Promises:
 * - dg_inbox_append copies the entry and returns at once; a writer thread
 *   writes batches of entries and fdatasyncs them, and `done` is called on
 *   the loop thread with DG_OK only after the entry is on disk (DG_EIO if the
 *   journal could not be written: then nothing is acknowledged any more).
 * - Entries are delivered to `deliver` in append order, only once durable.
 *   The journal position after each delivered entry (the checkpoint) is
 *   written inside the database's group-commit batch, so an entry's effects
 *   and "processed" commit together: after a crash, every entry whose
 *   processing did not commit is delivered again, and none twice.
 * - Delivery uses the loop's idle time and yields to I/O: while nothing is
 *   ready on the loop and no 200 waits for the writer, it delivers entry
 *   after entry, stopping as soon as something is ready (a request, an
 *   acknowledgement), so a 200 waits for one entry at most; when I/O keeps
 *   the loop busy it still takes DG_INBOX_SHARE_PCT of the time, one entry
 *   at a time. It never spins the
 *   loop: with nothing to deliver it holds no handle active.
 * - A torn tail left by a crash (entries written but never acknowledged)
 *   ends at the first entry whose CRC-32 fails; what lies past it is zeroed
 *   when the inbox opens.
 *
 * Layout: `dir`/NNNNNNNN.log segments of up to DG_INBOX_SEGMENT_BYTES,
 * grown in zero-filled steps ahead of the writer (so an entry's fdatasync
 * flushes data only); a segment is deleted once every entry in it is
 * processed. Each entry is
 * "DGI1", u32 payload length, u32 CRC-32 of the payload, then the payload:
 * instance name, attributes, data (little-endian lengths). */
#ifndef DG_CORE_INBOX_H
#define DG_CORE_INBOX_H

#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include <duegate/types.h>

#include "db.h"

#define DG_INBOX_SEGMENT_BYTES (64u << 20)
#define DG_INBOX_MAX_ENTRY (32u << 20)
#define DG_INBOX_SHARE_PCT 10 /* a busy loop: this share of the time */
#define DG_INBOX_SLICE_MS 10 /* an idle loop: at most this long before timers and new sockets get a look */

typedef struct dg_inbox dg_inbox;

typedef void (*dg_inbox_done_cb)(void *ud, int status);

/* Hand one entry to its owner. attrs/data are valid for the call only.
 * Return DG_OK when handled (or deliberately dropped, after logging);
 * DG_EIO or DG_ENOMEM to stop here and retry the same entry later. */
typedef int (*dg_inbox_deliver_fn)(void *ud, const char *owner, const dg_kv *attrs,
                                   size_t n_attrs, const void *data, size_t len);

/* Open (creating `dir` if needed) and recover the journal; start the writer
 * thread. Delivery starts with dg_inbox_resume. */
int dg_inbox_open(uv_loop_t *loop, dg_db *db, const char *dir, dg_inbox_deliver_fn deliver,
                  void *deliver_ud, dg_inbox **out, char *err, size_t err_len);

/* Append (copying everything). DG_PENDING: done(ud, status) will be called
 * exactly once. Negative (DG_EINVAL, DG_ENOMEM, DG_EIO): done is not called. */
int dg_inbox_append(dg_inbox *ib, const char *owner, const dg_kv *attrs, size_t n_attrs,
                    const void *data, size_t len, dg_inbox_done_cb done, void *ud);

/* Start / stop delivering (stopped after open). */
void dg_inbox_resume(dg_inbox *ib);
void dg_inbox_pause(dg_inbox *ib);

/* Deliver up to `max` durable entries now (tests, shutdown); returns how
 * many were delivered, or a negative code. */
int dg_inbox_drain(dg_inbox *ib, size_t max);

/* Wait for the writer to make every appended entry durable and run their
 * done callbacks (used before shutdown and by tests). */
int dg_inbox_sync(dg_inbox *ib);

/* Entries not yet delivered: found on disk at open plus appended since. */
uint64_t dg_inbox_backlog(const dg_inbox *ib);

/* Flush (as dg_inbox_sync), stop the thread and close the handles; the
 * inbox is freed once the loop has run their close callbacks. */
void dg_inbox_close(dg_inbox *ib);

#endif
