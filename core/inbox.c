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
#include "inbox_int.h"
#include "log.h"

/* ------------------------------------------------------------ helpers */



void dg__ib_seg_path(const dg_inbox *ib, uint32_t seg, char *out, size_t len)
{
    snprintf(out, len, "%s/%08u.log", ib->dir, (unsigned)seg);
}


int dg__ib_seg_of(const char *name, uint32_t *seg)
{
    unsigned s;
    char tail[8];
    if (sscanf(name, "%8u.%4s", &s, tail) != 2 || strcmp(tail, "log") != 0)
        return 0;
    *seg = s;
    return 1;
}

uint32_t dg__ib_crc_of(const unsigned char *p, size_t n)
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

/* --------------------------------------------------------------- open */

static const char *const inbox_migrations[] = {
    "CREATE TABLE inbox_checkpoint(id INTEGER PRIMARY KEY CHECK (id = 1),"
    " seg INTEGER NOT NULL, off INTEGER NOT NULL);"};


/* Segment numbers present in dir: lowest and highest (0 if none). */
static int scan_dir(const char *dir, uint32_t *lo, uint32_t *hi)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    *lo = *hi = 0;
    if (!d)
        return -1;
    while ((e = readdir(d))) {
        uint32_t s;
        if (dg__ib_seg_of(e->d_name, &s) && s > 0) {
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
static int recover_tail(dg_inbox *ib, uint32_t seg, uint64_t off, uint64_t *end,
                        uint64_t *count, char *err, size_t len)
{
    char path[4096];
    struct stat sb;
    uint32_t n;
    int r;
    *count = 0;
    while ((r = dg__ib_read_entry(ib, seg, off, &n)) == 0) {
        off += HDR + n;
        (*count)++;
    }
    if (r < 0) {
        snprintf(err, len, "%s: cannot read segment %u", ib->dir, (unsigned)seg);
        return DG_EIO;
    }
    /* After a crash, a batch that was being written may have left parts of
     * entries past the end (the segment is zero-filled ahead of the
     * writer): zero them up to the first all-zero 64 KiB, so no fragment can
     * later pass for an entry. */
    dg__ib_seg_path(ib, seg, path, sizeof path);
    if (stat(path, &sb) == 0 && (uint64_t)sb.st_size > off) {
        unsigned char buf[sizeof dg__ib_zeros];
        uint64_t at = off, size = (uint64_t)sb.st_size;
        while (at < size) {
            size_t k = size - at < sizeof buf ? (size_t)(size - at) : sizeof buf;
            if (dg__ib_read_at(ib->rfd, buf, k, at) != 0 || memcmp(buf, dg__ib_zeros, k) == 0)
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
            if (fd < 0 || dg__ib_zero_fill(fd, off, at) != 0 || fdatasync(fd) != 0) {
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
        dg__ib_chunk_free(c);
    }
    if (ib->wfd >= 0)
        close(ib->wfd);
    if (ib->dfd >= 0)
        close(ib->dfd);
    if (ib->rfd >= 0)
        close(ib->rfd);
    free(ib->w);
    free(ib->rbuf);
    free(ib->wtail);
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

/* Count the entries of the segments from (seg, off) up to, not including,
 * `last` (whose entries recover_tail counted): the backlog at open. */
static uint64_t count_entries(dg_inbox *ib, uint32_t seg, uint64_t off, uint32_t last)
{
    uint64_t n = 0;
    uint32_t len;
    for (; seg < last; seg++, off = 0)
        while (dg__ib_read_entry(ib, seg, off, &len) == 0) {
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
    uint64_t coff = 0, end = 0, tail_n = 0;
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
    ib->wtail_off = UINT64_MAX;
    if (!(ib->wtail = malloc(BLOCK))) {
        snprintf(err, err_len, "inbox: out of memory");
        rc = DG_ENOMEM;
        goto fail;
    }
    if (scan_dir(dir, &lo, &hi) != 0) {
        snprintf(err, err_len, "%s: cannot list the inbox directory: %s", dir, strerror(errno));
        rc = DG_EIO;
        goto fail;
    }
    rc = dg__ib_checkpoint_read(db, &cseg, &coff);
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
    dg__ib_delete_segments_before(ib, cseg);
    if ((rc = recover_tail(ib, hi, hi == cseg ? coff : 0, &end, &tail_n, err, err_len)) != DG_OK)
        goto fail;
    ib->p_seg = cseg;
    ib->p_off = coff;
    ib->app_seg = ib->seen_seg = ib->dur_seg = hi;
    ib->app_off = ib->seen_off = ib->dur_off = end;
    if (hi == cseg && end < coff) { /* the checkpoint is past the data: nothing left */
        ib->p_off = end;
    }
    /* entries already on disk and not processed count as backlog */
    ib->appended = count_entries(ib, ib->p_seg, ib->p_off, hi) + tail_n;
    ib->delivered = 0;
    if (uv_mutex_init(&ib->mu) || uv_cond_init(&ib->cv) || uv_cond_init(&ib->idle_cv)) {
        snprintf(err, err_len, "inbox: cannot create its lock");
        rc = DG_ENOMEM;
        goto fail;
    }
    uv_async_init(loop, &ib->async, dg__ib_on_async);
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
    if (uv_thread_create(&ib->thread, dg__ib_writer_main, ib) != 0) {
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
    free_inbox(ib); /* the lock and the handles are not made yet */
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
    dg__ib_run_waiters(ib);
    while (ib->w_n) { /* only after a write error: none of these is stored */
        waiter w = ib->w[ib->w_head];
        ib->w_head = (ib->w_head + 1) % ib->w_cap;
        ib->w_n--;
        w.done(w.ud, DG_EIO);
    }
    for (chunk *c = ib->pend, *n; c; c = n) { /* likewise */
        n = c->next;
        dg__ib_chunk_free(c);
    }
    ib->pend = ib->pend_tail = NULL;
    close_handles(ib); /* ib is freed when they have closed */
}
