/* Internals of the durable inbox shared by inbox.c (open, recovery,
 * close), inbox_write.c (append, the writer thread, acknowledgements) and
 * inbox_deliver.c (delivery, checkpoint, scheduling). Not an API. */
#ifndef DG_CORE_INBOX_INT_H
#define DG_CORE_INBOX_INT_H

#include <stdint.h>
#include <uv.h>

#include "inbox.h"

#define HDR 12u
#define MAGIC "DGI1"
#define SPARE_MAX 4
#define CHUNK_MIN (1u << 20)
/* Segments grow zero-filled ahead of the writer, GROW_PIECE at a time: in a
 * batch only when it needs the room, and between batches (once its
 * acknowledgements are sent) until GROW_LEAD lies ahead. */
#define GROW_LEAD (8u << 20)
#define GROW_PIECE (512u << 10)

/* A run of entries for one place in a segment. Its memory (`base`, BLOCK
 * aligned, `alloc` bytes) starts at the block that holds `off`: the `lead`
 * bytes before data[0] are that block's earlier content, which the writer
 * fills in so the whole run can be written with O_DIRECT. */
typedef struct chunk {
    uint32_t seg;
    uint64_t off; /* where data[0] goes in the segment */
    unsigned char *base, *data; /* data = base + lead */
    size_t lead, len, alloc;
    struct chunk *next;
} chunk;

#define BLOCK 4096u
/* Room for `total` bytes from c->base, keeping what is there (lead + len);
 * 0 or -1 when memory ran out. */
int dg__ib_chunk_reserve(chunk *c, size_t total);
void dg__ib_chunk_free(chunk *c);

typedef struct waiter {
    uint32_t seg;
    uint64_t end;
    dg_inbox_done_cb done;
    void *ud;
} waiter;

struct dg_inbox {
    uv_loop_t *loop;
    dg_db *db;
    char *dir;
    dg_inbox_deliver_fn deliver;
    void *deliver_ud;

    /* shared with the writer, under mu */
    uv_mutex_t mu;
    uv_cond_t cv, idle_cv;
    chunk *pend, *pend_tail;
    chunk *spare; /* written chunks kept for reuse (at most SPARE_MAX) */
    size_t n_spare;
    int writing, quit, werr;
    uint32_t dur_seg;
    uint64_t dur_off;
    char werr_msg[160];

    uv_thread_t thread;
    uv_async_t async;
    int wfd;            /* writer thread only */
    int dfd;            /* writer thread only: wfd's file opened O_DIRECT, or -1 */
    unsigned char *wtail; /* writer thread only: the last written block's bytes */
    uint32_t wtail_seg;   /* ... of this segment, */
    uint64_t wtail_off;   /* ... at this block offset (UINT64_MAX: none) */
    uint32_t wfd_seg;   /* writer thread only */
    uint64_t wfd_alloc; /* writer thread only: bytes of wfd already allocated */

    /* loop thread */
    uint32_t app_seg;    /* next append position */
    uint64_t app_off;
    uint32_t seen_seg;   /* durable end as last seen by the loop */
    uint64_t seen_off;
    int failed;
    waiter *w;
    size_t w_head, w_n, w_cap; /* ring */
    uint64_t appended, delivered;

    /* delivery */
    uint32_t p_seg;
    uint64_t p_off;
    int rfd;
    uint32_t rfd_seg;
    unsigned char *rbuf;
    size_t rcap;
    int running, delivering;
    uv_check_t check;
    uv_timer_t kick; /* brings the loop back to deliver (see work) */
    uv_idle_t spin; /* keeps poll from blocking between delivery slices */
    int64_t share_ns; /* delivery time earned under traffic (see work) */
    uint64_t share_at_ns;
    uv_timer_t retry;
    /* appends wake the writer once per loop iteration, not one by one: after
     * the I/O callbacks (check) or before the loop could block (prepare) */
    uv_check_t wake_check;
    uv_prepare_t wake_prep;
    int closing, handles_closed;
};


static inline void dg__ib_put32(unsigned char *p, uint32_t v)
{
    p[0] = (unsigned char)v;
    p[1] = (unsigned char)(v >> 8);
    p[2] = (unsigned char)(v >> 16);
    p[3] = (unsigned char)(v >> 24);
}

static inline uint32_t dg__ib_get32(const unsigned char *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static inline int dg__ib_pos_le(uint32_t s1, uint64_t o1, uint32_t s2, uint64_t o2)
{
    return s1 < s2 || (s1 == s2 && o1 <= o2);
}

void dg__ib_seg_path(const dg_inbox *ib, uint32_t seg, char *out, size_t len);
/* 1 and *seg if `name` is a segment file's name (NNNNNNNN.log). */
int dg__ib_seg_of(const char *name, uint32_t *seg);
uint32_t dg__ib_crc_of(const unsigned char *p, size_t n);

/* inbox_write.c */
extern const unsigned char dg__ib_zeros[64 * 1024];
int dg__ib_fsync_dir(const char *dir);
int dg__ib_zero_fill(int fd, uint64_t from, uint64_t to);
void dg__ib_writer_main(void *arg);
void dg__ib_run_waiters(dg_inbox *ib);
void dg__ib_on_async(uv_async_t *a);
void dg__ib_on_wake_check(uv_check_t *h);
void dg__ib_on_wake_prep(uv_prepare_t *h);
void dg__ib_wake_writer(dg_inbox *ib); /* now, not at the end of the iteration */

/* inbox_deliver.c */
int dg__ib_checkpoint_read(dg_db *db, uint32_t *seg, uint64_t *off);
int dg__ib_read_at(int fd, void *buf, size_t n, uint64_t off);
int dg__ib_read_entry(dg_inbox *ib, uint32_t seg, uint64_t off, uint32_t *plen);
void dg__ib_delete_segments_before(dg_inbox *ib, uint32_t seg);
void dg__ib_schedule(dg_inbox *ib);
void dg__ib_on_check(uv_check_t *h);
void dg__ib_on_kick(uv_timer_t *t);
void dg__ib_on_retry(uv_timer_t *t);
void dg__ib_noop_idle(uv_idle_t *h);

#endif
