/* The durable inbox (see inbox.h). The loop thread encodes entries into
 * pending chunks; the writer thread takes all pending chunks at once, fills
 * in their CRCs, writes them and fdatasyncs, then wakes the loop (uv_async)
 * with the new durable end, where the done callbacks run. Delivery reads the
 * entries back from the segment files (the page cache has them) and records
 * the checkpoint in the database's write batch. */
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
#include "inbox.h"
#include "log.h"

#define HDR 12u
#define MAGIC "DGI1"
#define SPARE_MAX 4
#define CHUNK_MIN (1u << 20)
/* Segments grow zero-filled ahead of the writer, GROW_PIECE at a time: in a
 * batch only when it needs the room, and between batches (once its
 * acknowledgements are sent) until GROW_LEAD lies ahead. */
#define GROW_LEAD (8u << 20)
#define GROW_PIECE (512u << 10)

typedef struct chunk {
    uint32_t seg;
    uint64_t off; /* where data[0] goes in the segment */
    unsigned char *data;
    size_t len, cap;
    struct chunk *next;
} chunk;

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
    uint64_t appended, delivered, appends_since_check;

    /* delivery */
    uint32_t p_seg;
    uint64_t p_off;
    int rfd;
    uint32_t rfd_seg;
    unsigned char *rbuf;
    size_t rcap;
    int running, delivering;
    uint64_t acks_since_check, probe_seen;
    uint64_t (*probe)(void *);
    void *probe_ud;
    uv_check_t check;
    uv_timer_t kick; /* brings the loop back to deliver (see work) */
    int traffic_since_kick, in_lull;
    uv_idle_t spin; /* keeps poll from blocking between lull slices */
    int64_t share_ns; /* delivery time earned under traffic (see work) */
    uint64_t share_at_ns;
    uv_timer_t retry;
    /* appends wake the writer once per loop iteration, not one by one: after
     * the I/O callbacks (check) or before the loop could block (prepare) */
    uv_check_t wake_check;
    uv_prepare_t wake_prep;
    int closing, handles_closed;
};

/* ------------------------------------------------------------ helpers */

static void put32(unsigned char *p, uint32_t v)
{
    p[0] = (unsigned char)v;
    p[1] = (unsigned char)(v >> 8);
    p[2] = (unsigned char)(v >> 16);
    p[3] = (unsigned char)(v >> 24);
}

static uint32_t get32(const unsigned char *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static void seg_path(const dg_inbox *ib, uint32_t seg, char *out, size_t len)
{
    snprintf(out, len, "%s/%08u.log", ib->dir, (unsigned)seg);
}

static int pos_le(uint32_t s1, uint64_t o1, uint32_t s2, uint64_t o2)
{
    return s1 < s2 || (s1 == s2 && o1 <= o2);
}

static uint32_t crc_of(const unsigned char *p, size_t n)
{
    uLong c = crc32(0L, Z_NULL, 0);
    while (n) { /* zlib takes uInt lengths */
        uInt k = n > (1u << 30) ? (1u << 30) : (uInt)n;
        c = crc32(c, p, k);
        p += k;
        n -= k;
    }
    return (uint32_t)c;
}

/* ------------------------------------------------------ the checkpoint */

static const char *const inbox_migrations[] = {
    "CREATE TABLE inbox_checkpoint(id INTEGER PRIMARY KEY CHECK (id = 1),"
    " seg INTEGER NOT NULL, off INTEGER NOT NULL);"};

static int checkpoint_read(dg_db *db, uint32_t *seg, uint64_t *off)
{
    sqlite3_stmt *st;
    int found = 0;
    if (sqlite3_prepare_v2(db->sql, "SELECT seg, off FROM inbox_checkpoint WHERE id = 1", -1,
                           &st, NULL) != SQLITE_OK)
        return DG_EIO;
    if (sqlite3_step(st) == SQLITE_ROW) {
        *seg = (uint32_t)sqlite3_column_int64(st, 0);
        *off = (uint64_t)sqlite3_column_int64(st, 1);
        found = 1;
    }
    sqlite3_finalize(st);
    return found ? DG_OK : DG_ENOTFOUND;
}

static int checkpoint_write(dg_db *db, uint32_t seg, uint64_t off)
{
    sqlite3_stmt *st;
    int rc;
    if (sqlite3_prepare_v2(db->sql,
                           "INSERT INTO inbox_checkpoint(id, seg, off) VALUES(1, ?, ?)"
                           " ON CONFLICT(id) DO UPDATE SET seg = excluded.seg, off = excluded.off",
                           -1, &st, NULL) != SQLITE_OK)
        return DG_EIO;
    sqlite3_bind_int64(st, 1, seg);
    sqlite3_bind_int64(st, 2, (sqlite3_int64)off);
    rc = sqlite3_step(st) == SQLITE_DONE ? DG_OK : DG_EIO;
    sqlite3_finalize(st);
    return rc;
}

/* --------------------------------------------------------- the writer */

static int fsync_dir(const char *dir)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    int rc = fsync(fd);
    close(fd);
    return rc;
}

static const unsigned char zeros[64 * 1024];
/* Source of the direct zero-fill writes: never written, so every page of it
 * is the kernel's zero page. */
static _Alignas(4096) unsigned char dzeros[1u << 20];
#define BLOCK 4096u

/* Zero-fill [from, to): the blocks are allocated and cached ahead of the
 * entries, so writing an entry is a copy into cached pages and its
 * fdatasync flushes data, not the file's size and block map. */
static int zero_fill(int fd, uint64_t from, uint64_t to)
{
    while (from < to) {
        size_t n = to - from < sizeof zeros ? (size_t)(to - from) : sizeof zeros;
        ssize_t k = pwrite(fd, zeros, n, (off_t)from);
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0)
            return -1;
        from += (uint64_t)k;
    }
    return 0;
}

/* Grow the segment by [from, to) of zeros. Written with O_DIRECT when the
 * file system allows: the zeros go from the zero page to the disk without
 * filling the page cache, so they are neither copied nor written back a
 * second time when the entries' fdatasync comes (a 4 MiB write-back stall
 * every few hundred entries). Otherwise through the page cache. */
static int grow(dg_inbox *ib, uint64_t from, uint64_t to)
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
    return zero_fill(ib->wfd, from, to);
}

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

/* Write one chunk (CRCs filled in here, off the loop thread). */
static int write_chunk(dg_inbox *ib, chunk *c, char *msg, size_t mlen)
{
    char path[4096];
    /* The write is padded with zeros to the end of its last block (zeros are
     * there already): a write that ends inside a block whose page is not
     * cached would read it from the disk first. The next batch starts at
     * c->off + c->len, in a page the cache then holds. */
    size_t pad = (size_t)((BLOCK - (c->off + c->len) % BLOCK) % BLOCK);
    if (c->len + pad > c->cap) {
        unsigned char *d = realloc(c->data, c->len + pad);
        if (!d) {
            snprintf(msg, mlen, "out of memory");
            return -1;
        }
        c->data = d;
        c->cap = c->len + pad;
    }
    memset(c->data + c->len, 0, pad);
    for (size_t at = 0; at + HDR <= c->len;) {
        uint32_t n = get32(c->data + at + 4);
        put32(c->data + at + 8, crc_of(c->data + at + HDR, n));
        at += HDR + n;
    }
    if (ib->wfd < 0 || ib->wfd_seg != c->seg) {
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
        seg_path(ib, c->seg, path, sizeof path);
        ib->wfd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
        if (ib->wfd < 0 || fsync_dir(ib->dir) != 0) {
            snprintf(msg, mlen, "segment %u: %s", (unsigned)c->seg, strerror(errno));
            return -1;
        }
#ifdef O_DIRECT
        ib->dfd = open(path, O_WRONLY | O_DIRECT | O_CLOEXEC);
#endif
        ib->wfd_seg = c->seg;
        struct stat sb;
        ib->wfd_alloc = fstat(ib->wfd, &sb) == 0 ? (uint64_t)sb.st_size : 0;
    }
    while (c->off + c->len + pad > ib->wfd_alloc) {
        if (grow(ib, ib->wfd_alloc, ib->wfd_alloc + GROW_PIECE) != 0) {
            snprintf(msg, mlen, "grow segment %u: %s", (unsigned)c->seg, strerror(errno));
            return -1;
        }
        ib->wfd_alloc += GROW_PIECE;
    }
    if (write_all(ib->wfd, c->data, c->len + pad, c->off) != 0) {
        snprintf(msg, mlen, "write segment %u: %s", (unsigned)c->seg, strerror(errno));
        return -1;
    }
    return 0;
}

static void writer_main(void *arg)
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
            if (ib->n_spare < SPARE_MAX && list->cap <= 4 * (size_t)CHUNK_MIN) {
                list->len = 0;
                list->next = ib->spare;
                ib->spare = list;
                ib->n_spare++;
            } else {
                free(list->data);
                free(list);
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
        /* The acknowledgements are on their way: grow the segment a piece
         * ahead now, while the next batch gathers, rather than 4 MiB at once
         * in the middle of a batch (all its connections waiting). */
        if (!failed && ib->wfd >= 0 && ib->wfd_seg == seg &&
            ib->wfd_alloc < end + GROW_LEAD &&
            ib->wfd_alloc + GROW_PIECE <= DG_INBOX_SEGMENT_BYTES + GROW_PIECE) {
            uv_mutex_unlock(&ib->mu);
            if (grow(ib, ib->wfd_alloc, ib->wfd_alloc + GROW_PIECE) == 0)
                ib->wfd_alloc += GROW_PIECE;
            uv_mutex_lock(&ib->mu);
        }
    }
    uv_mutex_unlock(&ib->mu);
}

/* ------------------------------------------------------ acknowledging */

static void schedule(dg_inbox *ib);

static void run_waiters(dg_inbox *ib)
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
        int ok = pos_le(w->seg, w->end, seg, off);
        if (!ok && !err)
            break;
        waiter copy = *w;
        ib->w_head = (ib->w_head + 1) % ib->w_cap;
        ib->w_n--;
        ib->acks_since_check++;
        copy.done(copy.ud, ok ? DG_OK : DG_EIO);
    }
    schedule(ib);
}

static void on_async(uv_async_t *a) { run_waiters(a->data); }

/* Hand what was appended since the last wake to the writer (if it is busy
 * it takes the pending chunks when it comes back). */
static void wake_writer(dg_inbox *ib)
{
    uv_check_stop(&ib->wake_check);
    uv_prepare_stop(&ib->wake_prep);
    uv_mutex_lock(&ib->mu);
    if (ib->pend && !ib->writing)
        uv_cond_signal(&ib->cv);
    uv_mutex_unlock(&ib->mu);
}

static void on_wake_check(uv_check_t *h) { wake_writer(h->data); }
static void on_wake_prep(uv_prepare_t *h) { wake_writer(h->data); }

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
        if (ib->pend_tail)
            ib->pend_tail->next = c;
        else
            ib->pend = c;
        ib->pend_tail = c;
    }
    if (c->len + need > c->cap) {
        size_t cap = c->cap ? c->cap : CHUNK_MIN;
        while (cap < c->len + need)
            cap *= 2;
        unsigned char *d = realloc(c->data, cap);
        if (!d)
            return NULL;
        c->data = d;
        c->cap = cap;
    }
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
    put32(p + 4, (uint32_t)payload);
    put32(p + 8, 0); /* the writer fills the CRC in */
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
        put32(p, (uint32_t)vl);
        if (vl)
            memcpy(p + 4, attrs[i].value, vl);
        p += 4 + vl;
    }
    put32(p, (uint32_t)len);
    if (len)
        memcpy(p + 4, data, len);
    c->len += HDR + payload;
    uv_mutex_unlock(&ib->mu);
    if (!uv_is_active((uv_handle_t *)&ib->wake_check)) {
        uv_check_start(&ib->wake_check, on_wake_check);
        uv_prepare_start(&ib->wake_prep, on_wake_prep);
    }

    ib->app_off = off + HDR + payload;
    ib->appended++;
    ib->appends_since_check++;
    return DG_PENDING;
}

/* ---------------------------------------------------------- delivering */

static int open_reader(dg_inbox *ib, uint32_t seg)
{
    char path[4096];
    if (ib->rfd >= 0 && ib->rfd_seg == seg)
        return 0;
    if (ib->rfd >= 0)
        close(ib->rfd);
    seg_path(ib, seg, path, sizeof path);
    ib->rfd = open(path, O_RDONLY | O_CLOEXEC);
    ib->rfd_seg = seg;
    return ib->rfd < 0 ? -1 : 0;
}

static int read_at(int fd, void *buf, size_t n, uint64_t off)
{
    unsigned char *p = buf;
    while (n) {
        ssize_t k = pread(fd, p, n, (off_t)off);
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

/* Read the entry at (seg, off) into rbuf; its payload length in *plen.
 * 0: ok; 1: no valid entry there (end or corrupt); -1: I/O error. */
static int read_entry(dg_inbox *ib, uint32_t seg, uint64_t off, uint32_t *plen)
{
    unsigned char h[HDR];
    if (open_reader(ib, seg) != 0)
        return errno == ENOENT ? 1 : -1;
    if (read_at(ib->rfd, h, HDR, off) != 0)
        return 1;
    uint32_t n = get32(h + 4);
    if (memcmp(h, MAGIC, 4) != 0 || n > DG_INBOX_MAX_ENTRY)
        return 1;
    if (n > ib->rcap) {
        unsigned char *b = realloc(ib->rbuf, n);
        if (!b)
            return -1;
        ib->rbuf = b;
        ib->rcap = n;
    }
    if (read_at(ib->rfd, ib->rbuf, n, off + HDR) != 0 || crc_of(ib->rbuf, n) != get32(h + 8))
        return 1;
    *plen = n;
    return 0;
}

/* Decode rbuf[0..n) and hand it to deliver. DG_EPROTO if malformed. */
static int deliver_entry(dg_inbox *ib, uint32_t n)
{
    const unsigned char *p = ib->rbuf, *end = p + n;
    dg_kv attrs[64];
    char *strs[130];
    size_t ns = 0, na;
    int rc = DG_EPROTO;
#define NEED(k) if ((size_t)(end - p) < (size_t)(k)) goto out
    NEED(2);
    size_t ol = (size_t)p[0] | (size_t)p[1] << 8;
    NEED(2 + ol + 2);
    if (!(strs[ns++] = strndup((const char *)p + 2, ol)))
        return DG_ENOMEM;
    p += 2 + ol;
    na = (size_t)p[0] | (size_t)p[1] << 8;
    p += 2;
    if (na > 64)
        goto out;
    for (size_t i = 0; i < na; i++) {
        NEED(2);
        size_t kl = (size_t)p[0] | (size_t)p[1] << 8;
        NEED(2 + kl + 4);
        char *k = strndup((const char *)p + 2, kl);
        p += 2 + kl;
        size_t vl = get32(p);
        p += 4;
        NEED(vl);
        char *v = strndup((const char *)p, vl);
        p += vl;
        if (k)
            strs[ns++] = k;
        if (v)
            strs[ns++] = v;
        if (!k || !v) {
            rc = DG_ENOMEM;
            goto out;
        }
        attrs[i] = (dg_kv){k, v, DG_KV_PLAIN};
    }
    NEED(4);
    size_t dl = get32(p);
    p += 4;
    NEED(dl);
    rc = ib->deliver(ib->deliver_ud, strs[0], attrs, na, p, dl);
#undef NEED
out:
    for (size_t i = 0; i < ns; i++)
        free(strs[i]);
    return rc;
}

static void delete_segments_before(dg_inbox *ib, uint32_t seg)
{
    DIR *d = opendir(ib->dir);
    struct dirent *e;
    char path[4096];
    if (!d)
        return;
    while ((e = readdir(d))) {
        unsigned s;
        char tail[8];
        if (sscanf(e->d_name, "%8u.%4s", &s, tail) == 2 && strcmp(tail, "log") == 0 && s < seg) {
            snprintf(path, sizeof path, "%s/%s", ib->dir, e->d_name);
            unlink(path);
        }
    }
    closedir(d);
}

static void after_commit(void *ud, int status)
{
    dg_inbox *ib = ud;
    if (status == DG_OK && !ib->closing)
        delete_segments_before(ib, ib->p_seg);
}

/* Deliver durable entries until `max` are done or `deadline_ns` passes
 * (0: no deadline). Returns how many, or negative. */
static int deliver_some(dg_inbox *ib, size_t max, uint64_t deadline_ns)
{
    /* what we write can be replayed from the journal: no fsync needed for it */
    dg_db_relax_begin(ib->db);
    int joined = dg_db_join(ib->db) == 0, rc = DG_OK;
    size_t done = 0;
    uint32_t seg0 = ib->p_seg;
    while (done < max && pos_le(ib->p_seg, ib->p_off, ib->seen_seg, ib->seen_off) &&
           !(ib->p_seg == ib->seen_seg && ib->p_off == ib->seen_off)) {
        uint32_t n = 0;
        int r = read_entry(ib, ib->p_seg, ib->p_off, &n);
        if (r < 0) {
            rc = DG_EIO;
            break;
        }
        if (r > 0) { /* end of this segment (or a bad entry in a closed one) */
            if (ib->p_seg == ib->seen_seg) {
                char off[32];
                snprintf(off, sizeof off, "%llu", (unsigned long long)ib->p_off);
                dg_logf(DG_LOG_ERROR, "inbox", "inbox.bad_entry", "offset", off, NULL);
                rc = DG_EIO;
                break;
            }
            ib->p_seg++;
            ib->p_off = 0;
            continue;
        }
        if (joined)
            dg_db_exec(ib->db, "SAVEPOINT dg_inbox", NULL, 0);
        int drc = deliver_entry(ib, n);
        if (drc == DG_EIO || drc == DG_ENOMEM) {
            if (joined)
                dg_db_exec(ib->db, "ROLLBACK TO dg_inbox; RELEASE dg_inbox", NULL, 0);
            rc = drc;
            break;
        }
        if (joined)
            dg_db_exec(ib->db, "RELEASE dg_inbox", NULL, 0);
        if (drc != DG_OK) {
            char off[32];
            snprintf(off, sizeof off, "%llu", (unsigned long long)ib->p_off);
            dg_logf(DG_LOG_WARN, "inbox", "inbox.entry_dropped", "offset", off, "error",
                    dg_strerror(drc), NULL);
        }
        ib->p_off += HDR + n;
        ib->delivered++;
        done++;
        if (deadline_ns && uv_hrtime() >= deadline_ns)
            break;
    }
    dg_db_relax_end(ib->db);
    if (ib->p_seg != seg0)
        dg_db_require_sync(ib->db); /* segments are deleted after this commit */
    if (done || ib->p_seg != seg0) {
        int crc = checkpoint_write(ib->db, ib->p_seg, ib->p_off);
        if (crc != DG_OK && rc == DG_OK)
            rc = crc;
    }
    if (joined) {
        if (dg_db_leave(ib->db, rc, after_commit, ib) != DG_PENDING && rc == DG_OK)
            after_commit(ib, DG_OK);
    } else if (rc == DG_OK && ib->p_seg != seg0) {
        after_commit(ib, DG_OK);
    }
    return rc < 0 ? rc : (int)done;
}

uint64_t dg_inbox_backlog(const dg_inbox *ib) { return ib ? ib->appended - ib->delivered : 0; }

static int has_durable_work(const dg_inbox *ib)
{
    return !(ib->p_seg == ib->seen_seg && ib->p_off == ib->seen_off);
}

static void on_retry(uv_timer_t *t) { schedule(t->data); }

void dg_inbox_set_activity(dg_inbox *ib, uint64_t (*probe)(void *ud), void *ud)
{
    if (!ib)
        return;
    ib->probe = probe;
    ib->probe_ud = ud;
    ib->probe_seen = probe ? probe(ud) : 0;
}

static void work(dg_inbox *ib, int kicked);
static void noop_idle(uv_idle_t *h) { (void)h; }

/* Timers run before poll: the work is done here, or poll could block. */
static void on_kick(uv_timer_t *t) { work(t->data, 1); }

static void kick(dg_inbox *ib, uint64_t ms)
{
    if (!uv_is_active((uv_handle_t *)&ib->kick) || ms == 0) {
        ib->traffic_since_kick = 0;
        uv_timer_start(&ib->kick, on_kick, ms, 0);
    }
}

/* Runs after every poll and when our timer fires. Acknowledgements come
 * first (see inbox.h):
 * - a lull (our 1 ms timer fired, no traffic since it was armed, nobody
 *   waiting for a 200): deliver for DG_INBOX_LULL_SLICE_MS, then look again
 *   without blocking;
 * - under traffic, a share: delivery earns DG_INBOX_SHARE_PCT of the wall
 *   time that passes and spends it one entry at a time. */
static void work(dg_inbox *ib, int kicked)
{
    uint64_t now = uv_hrtime(), probe = ib->probe ? ib->probe(ib->probe_ud) : 0;
    int traffic = ib->appends_since_check || ib->acks_since_check || probe != ib->probe_seen;
    size_t max = (size_t)-1;
    uint64_t slice = 0;
    ib->traffic_since_kick |= traffic;
    /* a lull starts when the 1 ms timer finds no traffic, and lasts while
     * each following poll (not blocking: the idle handle) brings none */
    int lull = (kicked || ib->in_lull) && !ib->traffic_since_kick && !traffic && ib->w_n == 0;
    ib->in_lull = 0;
    uv_idle_stop(&ib->spin);
    if (ib->share_at_ns)
        ib->share_ns += (int64_t)((now - ib->share_at_ns) * DG_INBOX_SHARE_PCT / 100);
    if (ib->share_ns > (int64_t)DG_INBOX_LULL_SLICE_MS * 1000000)
        ib->share_ns = (int64_t)DG_INBOX_LULL_SLICE_MS * 1000000;
    ib->share_at_ns = now;
    ib->appends_since_check = ib->acks_since_check = 0;
    ib->probe_seen = probe;
    if (!ib->running || ib->delivering || !has_durable_work(ib)) {
        uv_timer_stop(&ib->kick);
        return;
    }
    if (lull) {
        slice = (uint64_t)DG_INBOX_LULL_SLICE_MS * 1000000u;
    } else if (ib->share_ns > 0) {
        max = 1;
    } else {
        kick(ib, 1);
        return;
    }
    ib->delivering = 1;
    int rc = deliver_some(ib, max, slice ? now + slice : 0);
    ib->delivering = 0;
    uint64_t end = uv_hrtime();
    if (!lull)
        ib->share_ns -= (int64_t)(end - now);
    if (rc < 0) {
        uv_timer_stop(&ib->kick);
        dg_logf(DG_LOG_WARN, "inbox", "inbox.deliver_retry", "error", dg_strerror(rc), NULL);
        uv_timer_start(&ib->retry, on_retry, 1000, 0);
        return;
    }
    if (!has_durable_work(ib)) {
        uv_timer_stop(&ib->kick);
    } else if (lull) {
        /* go on after one poll for I/O: a timer restarted at 0 from its own
         * callback would run again before any poll */
        ib->in_lull = 1;
        uv_idle_start(&ib->spin, noop_idle);
    } else {
        kick(ib, 1);
    }
}

static void on_check(uv_check_t *h) { work(h->data, 0); }

/* New durable work: make sure the loop comes back for it. */
static void schedule(dg_inbox *ib)
{
    if (ib->running && !ib->closing && has_durable_work(ib) &&
        !uv_is_active((uv_handle_t *)&ib->retry))
        kick(ib, 1);
}

void dg_inbox_resume(dg_inbox *ib)
{
    if (!ib || ib->closing)
        return;
    ib->running = 1;
    uv_check_start(&ib->check, on_check);
    schedule(ib);
}

void dg_inbox_pause(dg_inbox *ib)
{
    if (!ib)
        return;
    ib->running = 0;
    uv_check_stop(&ib->check);
    uv_timer_stop(&ib->kick);
    uv_idle_stop(&ib->spin);
    ib->in_lull = 0;
    uv_timer_stop(&ib->retry);
}

int dg_inbox_drain(dg_inbox *ib, size_t max)
{
    if (!ib)
        return DG_EINVAL;
    run_waiters(ib); /* pick up what the writer finished */
    return deliver_some(ib, max, 0);
}

int dg_inbox_sync(dg_inbox *ib)
{
    if (!ib)
        return DG_EINVAL;
    wake_writer(ib);
    uv_mutex_lock(&ib->mu);
    while ((ib->pend || ib->writing) && !ib->werr)
        uv_cond_wait(&ib->idle_cv, &ib->mu);
    uv_mutex_unlock(&ib->mu);
    run_waiters(ib);
    return ib->failed ? DG_EIO : DG_OK;
}

/* --------------------------------------------------------------- open */

/* Segment numbers present in dir: lowest and highest (0 if none). */
static int scan_dir(const char *dir, uint32_t *lo, uint32_t *hi)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    *lo = *hi = 0;
    if (!d)
        return -1;
    while ((e = readdir(d))) {
        unsigned s;
        char tail[8];
        if (sscanf(e->d_name, "%8u.%4s", &s, tail) == 2 && strcmp(tail, "log") == 0 && s > 0) {
            if (!*lo || s < *lo)
                *lo = s;
            if (s > *hi)
                *hi = s;
        }
    }
    closedir(d);
    return 0;
}

/* Find the end of the valid entries of `seg` from `off`; cut a torn tail. */
static int recover_tail(dg_inbox *ib, uint32_t seg, uint64_t off, uint64_t *end, char *err,
                        size_t len)
{
    char path[4096];
    struct stat sb;
    uint32_t n;
    int r;
    while ((r = read_entry(ib, seg, off, &n)) == 0)
        off += HDR + n;
    if (r < 0) {
        snprintf(err, len, "%s: cannot read segment %u", ib->dir, (unsigned)seg);
        return DG_EIO;
    }
    /* After a crash, a batch that was being written may have left parts of
     * entries past the end (the segment is zero-filled ahead of the
     * writer): zero them up to the first all-zero 64 KiB, so no fragment can
     * later pass for an entry. */
    seg_path(ib, seg, path, sizeof path);
    if (stat(path, &sb) == 0 && (uint64_t)sb.st_size > off) {
        unsigned char buf[sizeof zeros];
        uint64_t at = off, size = (uint64_t)sb.st_size;
        while (at < size) {
            size_t k = size - at < sizeof buf ? (size_t)(size - at) : sizeof buf;
            if (read_at(ib->rfd, buf, k, at) != 0 || memcmp(buf, zeros, k) == 0)
                break;
            at += k;
        }
        if (at > off) {
            char cut[32], upto[32];
            snprintf(cut, sizeof cut, "%llu", (unsigned long long)off);
            snprintf(upto, sizeof upto, "%llu", (unsigned long long)at);
            dg_logf(DG_LOG_WARN, "inbox", "inbox.torn_tail_cleared", "segment", path, "from",
                    cut, "to", upto, NULL);
            int fd = open(path, O_WRONLY | O_CLOEXEC);
            if (fd < 0 || zero_fill(fd, off, at) != 0 || fdatasync(fd) != 0) {
                snprintf(err, len, "%s: cannot clear the torn tail: %s", path, strerror(errno));
                if (fd >= 0)
                    close(fd);
                return DG_EIO;
            }
            close(fd);
        }
    }
    *end = off;
    return DG_OK;
}

static void free_inbox(dg_inbox *ib)
{
    for (chunk *c = ib->spare, *n; c; c = n) {
        n = c->next;
        free(c->data);
        free(c);
    }
    if (ib->wfd >= 0)
        close(ib->wfd);
    if (ib->dfd >= 0)
        close(ib->dfd);
    if (ib->rfd >= 0)
        close(ib->rfd);
    free(ib->w);
    free(ib->rbuf);
    free(ib->dir);
    free(ib);
}

/* The inbox is freed when the last of its seven handles has closed. */
static void handle_closed(uv_handle_t *h)
{
    dg_inbox *ib = h->data;
    if (++ib->handles_closed == 7) {
        uv_cond_destroy(&ib->idle_cv);
        uv_cond_destroy(&ib->cv);
        uv_mutex_destroy(&ib->mu);
        free_inbox(ib);
    }
}

static void close_handles(dg_inbox *ib)
{
    uv_close((uv_handle_t *)&ib->async, handle_closed);
    uv_close((uv_handle_t *)&ib->check, handle_closed);
    uv_close((uv_handle_t *)&ib->kick, handle_closed);
    uv_close((uv_handle_t *)&ib->spin, handle_closed);
    uv_close((uv_handle_t *)&ib->retry, handle_closed);
    uv_close((uv_handle_t *)&ib->wake_check, handle_closed);
    uv_close((uv_handle_t *)&ib->wake_prep, handle_closed);
}

/* Count the entries from the checkpoint to the end (the backlog at open). */
static uint64_t count_entries(dg_inbox *ib, uint32_t seg, uint64_t off, uint32_t last)
{
    uint64_t n = 0;
    uint32_t len;
    for (; seg <= last; seg++, off = 0)
        while (read_entry(ib, seg, off, &len) == 0) {
            off += HDR + len;
            n++;
        }
    return n;
}

int dg_inbox_open(uv_loop_t *loop, dg_db *db, const char *dir, dg_inbox_deliver_fn deliver,
                  void *deliver_ud, dg_inbox **out, char *err, size_t err_len)
{
    dg_inbox *ib;
    uint32_t lo, hi, cseg = 0;
    uint64_t coff = 0, end = 0;
    int rc;
    *out = NULL;
    if (!loop || !db || !dir || !deliver) {
        snprintf(err, err_len, "inbox: missing loop, database, directory or deliver");
        return DG_EINVAL;
    }
    if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
        snprintf(err, err_len, "%s: cannot create the inbox directory: %s", dir, strerror(errno));
        return DG_EIO;
    }
    if ((rc = dg_db_migrate(db, "inbox", inbox_migrations, 1, err, err_len)) != 0)
        return rc;
    if (!(ib = calloc(1, sizeof *ib)) || !(ib->dir = strdup(dir))) {
        free(ib);
        snprintf(err, err_len, "inbox: out of memory");
        return DG_ENOMEM;
    }
    ib->loop = loop;
    ib->db = db;
    ib->deliver = deliver;
    ib->deliver_ud = deliver_ud;
    ib->wfd = ib->dfd = ib->rfd = -1;
    if (scan_dir(dir, &lo, &hi) != 0) {
        snprintf(err, err_len, "%s: cannot list the inbox directory: %s", dir, strerror(errno));
        rc = DG_EIO;
        goto fail;
    }
    rc = checkpoint_read(db, &cseg, &coff);
    if (rc == DG_EIO) {
        snprintf(err, err_len, "inbox: cannot read the checkpoint: %s", sqlite3_errmsg(db->sql));
        goto fail;
    }
    if (rc == DG_ENOTFOUND) { /* a new inbox, or one whose checkpoint never committed */
        cseg = lo ? lo : 1;
        coff = 0;
    }
    if (hi < cseg)
        hi = cseg; /* the segment named by the checkpoint may not exist yet */
    delete_segments_before(ib, cseg);
    if ((rc = recover_tail(ib, hi, hi == cseg ? coff : 0, &end, err, err_len)) != DG_OK)
        goto fail;
    ib->p_seg = cseg;
    ib->p_off = coff;
    ib->app_seg = ib->seen_seg = ib->dur_seg = hi;
    ib->app_off = ib->seen_off = ib->dur_off = end;
    if (hi == cseg && end < coff) { /* the checkpoint is past the data: nothing left */
        ib->p_off = end;
    }
    /* entries already on disk and not processed count as backlog */
    ib->appended = count_entries(ib, ib->p_seg, ib->p_off, hi);
    ib->delivered = 0;
    if (uv_mutex_init(&ib->mu) || uv_cond_init(&ib->cv) || uv_cond_init(&ib->idle_cv)) {
        snprintf(err, err_len, "inbox: cannot create its lock");
        rc = DG_ENOMEM;
        goto fail;
    }
    uv_async_init(loop, &ib->async, on_async);
    ib->async.data = ib;
    uv_check_init(loop, &ib->check);
    ib->check.data = ib;
    uv_timer_init(loop, &ib->kick);
    ib->kick.data = ib;
    uv_idle_init(loop, &ib->spin);
    ib->spin.data = ib;
    uv_timer_init(loop, &ib->retry);
    ib->retry.data = ib;
    uv_check_init(loop, &ib->wake_check);
    ib->wake_check.data = ib;
    uv_prepare_init(loop, &ib->wake_prep);
    ib->wake_prep.data = ib;
    if (uv_thread_create(&ib->thread, writer_main, ib) != 0) {
        snprintf(err, err_len, "inbox: cannot start the writer thread");
        ib->closing = 1;
        close_handles(ib); /* frees ib once the loop has run them */
        return DG_ENOMEM;
    }
    if (ib->appended) {
        char nb[32];
        snprintf(nb, sizeof nb, "%llu", (unsigned long long)ib->appended);
        dg_logf(DG_LOG_INFO, "inbox", "inbox.replay", "entries", nb, NULL);
    }
    *out = ib;
    return DG_OK;
fail:
    if (ib->rfd >= 0)
        close(ib->rfd);
    free(ib->rbuf);
    free(ib->dir);
    free(ib);
    return rc;
}

void dg_inbox_close(dg_inbox *ib)
{
    if (!ib || ib->closing)
        return;
    dg_inbox_sync(ib);
    dg_inbox_pause(ib);
    ib->closing = 1;
    uv_mutex_lock(&ib->mu);
    ib->quit = 1;
    uv_cond_signal(&ib->cv);
    uv_mutex_unlock(&ib->mu);
    uv_thread_join(&ib->thread);
    run_waiters(ib);
    while (ib->w_n) { /* only after a write error: none of these is stored */
        waiter w = ib->w[ib->w_head];
        ib->w_head = (ib->w_head + 1) % ib->w_cap;
        ib->w_n--;
        w.done(w.ud, DG_EIO);
    }
    for (chunk *c = ib->pend, *n; c; c = n) { /* likewise */
        n = c->next;
        free(c->data);
        free(c);
    }
    ib->pend = ib->pend_tail = NULL;
    close_handles(ib); /* ib is freed when they have closed */
}
