/* The durable inbox: appends, the writer thread, acknowledgements (see
 * inbox_int.h). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "error.h"
#include "inbox_int.h"
#include "log.h"

/* --------------------------------------------------------- the writer */

int dg__ib_fsync_dir(const char *dir)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    int rc = fsync(fd);
    close(fd);
    return rc;
}

const unsigned char dg__ib_zeros[64 * 1024];
/* Source of the direct zero-fill writes: never written, so every page of it
 * is the kernel's zero page. */
static _Alignas(4096) unsigned char dzeros[1u << 20];

/* Zero-fill [from, to): the blocks are allocated and cached ahead of the
 * entries, so writing an entry is a copy into cached pages and its
 * fdatasync flushes data, not the file's size and block map. */
static int write_all(int fd, const unsigned char *p, size_t n, uint64_t off)
{
    while (n) {
        ssize_t k = pwrite(fd, p, n, (off_t)off);
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0)
            return -1;
        p += k;
        n -= (size_t)k;
        off += (uint64_t)k;
    }
    return 0;
}

int dg__ib_zero_fill(int fd, uint64_t from, uint64_t to)
{
    while (from < to) {
        size_t n = to - from < sizeof dg__ib_zeros ? (size_t)(to - from) : sizeof dg__ib_zeros;
        if (write_all(fd, dg__ib_zeros, n, from) != 0)
            return -1;
        from += n;
    }
    return 0;
}

/* Grow the segment by [from, to) of dg__ib_zeros. Written with O_DIRECT when the
 * file system allows: the dg__ib_zeros go from the zero page to the disk without
 * filling the page cache, so they are neither copied nor written back a
 * second time when the entries' fdatasync comes (a 4 MiB write-back stall
 * every few hundred entries). Otherwise through the page cache. */
static int dg__ib_grow(dg_inbox *ib, uint64_t from, uint64_t to)
{
    if (ib->dfd >= 0 && from % BLOCK == 0 && to % BLOCK == 0) {
        while (from < to) {
            size_t n = to - from < sizeof dzeros ? (size_t)(to - from) : sizeof dzeros;
            ssize_t k = pwrite(ib->dfd, dzeros, n, (off_t)from);
            if (k < 0 && errno == EINTR)
                continue;
            if (k < 0 && errno == EINVAL) { /* no direct I/O here after all */
                close(ib->dfd);
                ib->dfd = -1;
                break;
            }
            if (k <= 0 || (size_t)k % BLOCK != 0)
                return -1;
            from += (uint64_t)k;
        }
        if (from == to)
            return 0;
    }
    return dg__ib_zero_fill(ib->wfd, from, to);
}

int dg__ib_chunk_reserve(chunk *c, size_t total)
{
    if (total <= c->alloc)
        return 0;
    size_t alloc = c->alloc ? c->alloc : CHUNK_MIN;
    while (alloc < total)
        alloc *= 2;
    void *b = NULL;
    if (posix_memalign(&b, BLOCK, alloc) != 0)
        return -1;
    if (c->base)
        memcpy(b, c->base, c->lead + c->len);
    free(c->base);
    c->base = b;
    c->data = c->base + c->lead;
    c->alloc = alloc;
    return 0;
}

void dg__ib_chunk_free(chunk *c)
{
    free(c->base);
    free(c);
}

static int open_segment(dg_inbox *ib, uint32_t seg, char *msg, size_t mlen)
{
    char path[4096];
    if (ib->wfd >= 0) { /* the old segment is complete: make it durable first */
        if (fdatasync(ib->wfd) != 0) {
            snprintf(msg, mlen, "fdatasync: %s", strerror(errno));
            return -1;
        }
        close(ib->wfd);
        ib->wfd = -1;
        if (ib->dfd >= 0)
            close(ib->dfd);
        ib->dfd = -1;
    }
    dg__ib_seg_path(ib, seg, path, sizeof path);
    ib->wfd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (ib->wfd < 0 || dg__ib_fsync_dir(ib->dir) != 0) {
        snprintf(msg, mlen, "segment %u: %s", (unsigned)seg, strerror(errno));
        return -1;
    }
#ifdef O_DIRECT
    ib->dfd = open(path, O_WRONLY | O_DIRECT | O_CLOEXEC);
#endif
    ib->wfd_seg = seg;
    struct stat sb;
    ib->wfd_alloc = fstat(ib->wfd, &sb) == 0 ? (uint64_t)sb.st_size : 0;
    return 0;
}

/* The bytes of c's first block before data[0] (written before: kept from the
 * last write, or read back once after a restart). */
static int fill_lead(dg_inbox *ib, chunk *c)
{
    uint64_t blk = c->off - c->lead;
    if (!c->lead)
        return 0;
    if (ib->wtail_seg == c->seg && ib->wtail_off == blk) {
        memcpy(c->base, ib->wtail, c->lead);
        return 0;
    }
    return dg__ib_read_at(ib->wfd, c->base, c->lead, blk);
}

/* Write one chunk (CRCs filled in here, off the loop thread). The run is
 * padded with zeros to the end of its last block (zeros are there already)
 * and, with its lead, covers whole blocks: it goes to the disk with O_DIRECT,
 * straight from this memory, with no copy into the page cache; where the
 * file system refuses direct I/O, through the page cache. */
static int write_chunk(dg_inbox *ib, chunk *c, char *msg, size_t mlen)
{
    size_t pad = (size_t)((BLOCK - (c->off + c->len) % BLOCK) % BLOCK);
    if (dg__ib_chunk_reserve(c, c->lead + c->len + pad) != 0) {
        snprintf(msg, mlen, "out of memory");
        return -1;
    }
    memset(c->data + c->len, 0, pad);
    for (size_t at = 0; at + HDR <= c->len;) {
        uint32_t n = dg__ib_get32(c->data + at + 4);
        dg__ib_put32(c->data + at + 8, dg__ib_crc_of(c->data + at + HDR, n));
        at += HDR + n;
    }
    if ((ib->wfd < 0 || ib->wfd_seg != c->seg) && open_segment(ib, c->seg, msg, mlen) != 0)
        return -1;
    while (c->off + c->len + pad > ib->wfd_alloc) {
        if (dg__ib_grow(ib, ib->wfd_alloc, ib->wfd_alloc + GROW_PIECE) != 0) {
            snprintf(msg, mlen, "grow segment %u: %s", (unsigned)c->seg, strerror(errno));
            return -1;
        }
        ib->wfd_alloc += GROW_PIECE;
    }
    int done = 0;
    if (ib->dfd >= 0) {
        if (fill_lead(ib, c) != 0) {
            snprintf(msg, mlen, "read segment %u: %s", (unsigned)c->seg, strerror(errno));
            return -1;
        }
        size_t n = c->lead + c->len + pad;
        ssize_t k;
        do
            k = pwrite(ib->dfd, c->base, n, (off_t)(c->off - c->lead));
        while (k < 0 && errno == EINTR);
        if (k < 0 && errno == EINVAL) { /* no direct I/O here after all */
            close(ib->dfd);
            ib->dfd = -1;
        } else if (k != (ssize_t)n) {
            snprintf(msg, mlen, "write segment %u: %s", (unsigned)c->seg,
                     k < 0 ? strerror(errno) : "short write");
            return -1;
        } else {
            done = 1;
        }
    }
    if (!done && write_all(ib->wfd, c->data, c->len + pad, c->off) != 0) {
        snprintf(msg, mlen, "write segment %u: %s", (unsigned)c->seg, strerror(errno));
        return -1;
    }
    uint64_t end = c->off + c->len, blk = end - end % BLOCK;
    ib->wtail_seg = c->seg;
    ib->wtail_off = blk;
    memcpy(ib->wtail, c->base + (size_t)(blk - (c->off - c->lead)), (size_t)(end - blk));
    return 0;
}

void dg__ib_writer_main(void *arg)
{
    dg_inbox *ib = arg;
    char msg[160];
    uv_mutex_lock(&ib->mu);
    for (;;) {
        while (!ib->pend && !ib->quit)
            uv_cond_wait(&ib->cv, &ib->mu);
        if (!ib->pend)
            break; /* quit with nothing left to write */
        chunk *list = ib->pend;
        ib->pend = ib->pend_tail = NULL;
        ib->writing = 1;
        int failed = ib->werr;
        uv_mutex_unlock(&ib->mu);

        uint32_t seg = 0;
        uint64_t end = 0;
        msg[0] = '\0';
        for (chunk *c = list; c && !failed; c = c->next) {
            if (write_chunk(ib, c, msg, sizeof msg) != 0)
                failed = 1;
            seg = c->seg;
            end = c->off + c->len;
        }
        if (!failed && fdatasync(ib->wfd) != 0) {
            snprintf(msg, sizeof msg, "fdatasync: %s", strerror(errno));
            failed = 1;
        }
        uv_mutex_lock(&ib->mu);
        while (list) {
            chunk *n = list->next;
            if (ib->n_spare < SPARE_MAX && list->alloc <= 4 * (size_t)CHUNK_MIN) {
                list->len = 0;
                list->next = ib->spare;
                ib->spare = list;
                ib->n_spare++;
            } else {
                dg__ib_chunk_free(list);
            }
            list = n;
        }
        ib->writing = 0;
        if (failed && !ib->werr) {
            ib->werr = 1;
            snprintf(ib->werr_msg, sizeof ib->werr_msg, "%s", msg[0] ? msg : "write failed");
        }
        if (!failed) {
            ib->dur_seg = seg;
            ib->dur_off = end;
        }
        uv_cond_broadcast(&ib->idle_cv);
        uv_async_send(&ib->async);
        /* The acknowledgements are on their way: dg__ib_grow the segment a piece
         * ahead now, while the next batch gathers, rather than 4 MiB at once
         * in the middle of a batch (all its connections waiting). */
        if (!failed && ib->wfd >= 0 && ib->wfd_seg == seg &&
            ib->wfd_alloc < end + GROW_LEAD &&
            ib->wfd_alloc + GROW_PIECE <= DG_INBOX_SEGMENT_BYTES + GROW_PIECE) {
            uv_mutex_unlock(&ib->mu);
            if (dg__ib_grow(ib, ib->wfd_alloc, ib->wfd_alloc + GROW_PIECE) == 0)
                ib->wfd_alloc += GROW_PIECE;
            uv_mutex_lock(&ib->mu);
        }
    }
    uv_mutex_unlock(&ib->mu);
}

/* ------------------------------------------------------ acknowledging */


void dg__ib_run_waiters(dg_inbox *ib)
{
    uint32_t seg;
    uint64_t off;
    int err;
    char msg[160];
    uv_mutex_lock(&ib->mu);
    seg = ib->dur_seg;
    off = ib->dur_off;
    err = ib->werr;
    memcpy(msg, ib->werr_msg, sizeof msg);
    uv_mutex_unlock(&ib->mu);
    ib->seen_seg = seg;
    ib->seen_off = off;
    if (err && !ib->failed) {
        ib->failed = 1;
        dg_logf(DG_LOG_ERROR, "inbox", "inbox.write_failed", "error", msg, "dir", ib->dir, NULL);
    }
    while (ib->w_n) {
        waiter *w = &ib->w[ib->w_head];
        int ok = dg__ib_pos_le(w->seg, w->end, seg, off);
        if (!ok && !err)
            break;
        waiter copy = *w;
        ib->w_head = (ib->w_head + 1) % ib->w_cap;
        ib->w_n--;
        copy.done(copy.ud, ok ? DG_OK : DG_EIO);
    }
    dg__ib_schedule(ib);
}

void dg__ib_on_async(uv_async_t *a) { dg__ib_run_waiters(a->data); }

/* Hand what was appended since the last wake to the writer (if it is busy
 * it takes the pending chunks when it comes back). */
void dg__ib_wake_writer(dg_inbox *ib)
{
    uv_check_stop(&ib->wake_check);
    uv_prepare_stop(&ib->wake_prep);
    uv_mutex_lock(&ib->mu);
    if (ib->pend && !ib->writing)
        uv_cond_signal(&ib->cv);
    uv_mutex_unlock(&ib->mu);
}

void dg__ib_on_wake_check(uv_check_t *h) { dg__ib_wake_writer(h->data); }
void dg__ib_on_wake_prep(uv_prepare_t *h) { dg__ib_wake_writer(h->data); }

static int push_waiter(dg_inbox *ib, uint32_t seg, uint64_t end, dg_inbox_done_cb done, void *ud)
{
    if (ib->w_n == ib->w_cap) {
        size_t cap = ib->w_cap ? ib->w_cap * 2 : 64;
        waiter *w = malloc(cap * sizeof *w);
        if (!w)
            return DG_ENOMEM;
        for (size_t i = 0; i < ib->w_n; i++)
            w[i] = ib->w[(ib->w_head + i) % ib->w_cap];
        free(ib->w);
        ib->w = w;
        ib->w_cap = cap;
        ib->w_head = 0;
    }
    ib->w[(ib->w_head + ib->w_n) % ib->w_cap] = (waiter){seg, end, done, ud};
    ib->w_n++;
    return DG_OK;
}

/* Room for `need` more bytes in the last pending chunk of `seg` at `off`
 * (the caller holds mu). */
static chunk *tail_for(dg_inbox *ib, uint32_t seg, uint64_t off, size_t need)
{
    chunk *c = ib->pend_tail;
    if (!c || c->seg != seg || c->off + c->len != off) {
        if (ib->spare) {
            c = ib->spare;
            ib->spare = c->next;
            ib->n_spare--;
            c->next = NULL;
        } else if (!(c = calloc(1, sizeof *c))) {
            return NULL;
        }
        c->seg = seg;
        c->off = off;
        c->lead = (size_t)(off % BLOCK);
        c->len = 0;
        c->data = c->base ? c->base + c->lead : NULL;
        if (ib->pend_tail)
            ib->pend_tail->next = c;
        else
            ib->pend = c;
        ib->pend_tail = c;
    }
    if (dg__ib_chunk_reserve(c, c->lead + c->len + need) != 0)
        return NULL;
    return c;
}

int dg_inbox_append(dg_inbox *ib, const char *owner, const dg_kv *attrs, size_t n_attrs,
                    const void *data, size_t len, dg_inbox_done_cb done, void *ud)
{
    size_t olen, payload;
    if (!ib || !owner || !done || (!data && len) || (n_attrs && !attrs) || n_attrs > 64)
        return DG_EINVAL;
    if (ib->failed || ib->closing)
        return DG_EIO;
    olen = strlen(owner);
    payload = 2 + olen + 2 + 4 + len;
    if (olen > 0xffff)
        return DG_EINVAL;
    for (size_t i = 0; i < n_attrs; i++) {
        if (!attrs[i].key || strlen(attrs[i].key) > 0xffff)
            return DG_EINVAL;
        payload += 2 + strlen(attrs[i].key) + 4 + (attrs[i].value ? strlen(attrs[i].value) : 0);
    }
    if (payload > DG_INBOX_MAX_ENTRY)
        return DG_EINVAL;
    if (ib->app_off > 0 && ib->app_off + HDR + payload > DG_INBOX_SEGMENT_BYTES) {
        ib->app_seg++; /* records never cross segments */
        ib->app_off = 0;
    }
    uint32_t seg = ib->app_seg;
    uint64_t off = ib->app_off;
    if (push_waiter(ib, seg, off + HDR + payload, done, ud) != DG_OK)
        return DG_ENOMEM;

    uv_mutex_lock(&ib->mu);
    chunk *c = tail_for(ib, seg, off, HDR + payload);
    if (!c) {
        uv_mutex_unlock(&ib->mu);
        ib->w_n--; /* the waiter just pushed */
        return DG_ENOMEM;
    }
    unsigned char *p = c->data + c->len;
    memcpy(p, MAGIC, 4);
    dg__ib_put32(p + 4, (uint32_t)payload);
    dg__ib_put32(p + 8, 0); /* the writer fills the CRC in */
    p += HDR;
    p[0] = (unsigned char)olen;
    p[1] = (unsigned char)(olen >> 8);
    memcpy(p + 2, owner, olen);
    p += 2 + olen;
    p[0] = (unsigned char)n_attrs;
    p[1] = (unsigned char)(n_attrs >> 8);
    p += 2;
    for (size_t i = 0; i < n_attrs; i++) {
        size_t kl = strlen(attrs[i].key), vl = attrs[i].value ? strlen(attrs[i].value) : 0;
        p[0] = (unsigned char)kl;
        p[1] = (unsigned char)(kl >> 8);
        memcpy(p + 2, attrs[i].key, kl);
        p += 2 + kl;
        dg__ib_put32(p, (uint32_t)vl);
        if (vl)
            memcpy(p + 4, attrs[i].value, vl);
        p += 4 + vl;
    }
    dg__ib_put32(p, (uint32_t)len);
    if (len)
        memcpy(p + 4, data, len);
    c->len += HDR + payload;
    uv_mutex_unlock(&ib->mu);
    if (!uv_is_active((uv_handle_t *)&ib->wake_check)) {
        uv_check_start(&ib->wake_check, dg__ib_on_wake_check);
        uv_prepare_start(&ib->wake_prep, dg__ib_on_wake_prep);
    }

    ib->app_off = off + HDR + payload;
    ib->appended++;
    return DG_PENDING;
}
