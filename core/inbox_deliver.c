/* The durable inbox: delivery, the checkpoint, scheduling (see
 * inbox_int.h). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "error.h"
#include "inbox_int.h"
#include "log.h"

/* ------------------------------------------------------ the checkpoint */


int dg__ib_checkpoint_read(dg_db *db, uint32_t *seg, uint64_t *off)
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

static int dg__ib_checkpoint_write(dg_db *db, uint32_t seg, uint64_t off)
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

/* ---------------------------------------------------------- delivering */

static int dg__ib_open_reader(dg_inbox *ib, uint32_t seg)
{
    char path[4096];
    if (ib->rfd >= 0 && ib->rfd_seg == seg)
        return 0;
    if (ib->rfd >= 0)
        close(ib->rfd);
    dg__ib_seg_path(ib, seg, path, sizeof path);
    ib->rfd = open(path, O_RDONLY | O_CLOEXEC);
    ib->rfd_seg = seg;
    return ib->rfd < 0 ? -1 : 0;
}

int dg__ib_read_at(int fd, void *buf, size_t n, uint64_t off)
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
int dg__ib_read_entry(dg_inbox *ib, uint32_t seg, uint64_t off, uint32_t *plen)
{
    unsigned char h[HDR];
    if (dg__ib_open_reader(ib, seg) != 0)
        return errno == ENOENT ? 1 : -1;
    if (dg__ib_read_at(ib->rfd, h, HDR, off) != 0)
        return 1;
    uint32_t n = dg__ib_get32(h + 4);
    if (memcmp(h, MAGIC, 4) != 0 || n > DG_INBOX_MAX_ENTRY)
        return 1;
    if (n > ib->rcap) {
        unsigned char *b = realloc(ib->rbuf, n);
        if (!b)
            return -1;
        ib->rbuf = b;
        ib->rcap = n;
    }
    if (dg__ib_read_at(ib->rfd, ib->rbuf, n, off + HDR) != 0 || dg__ib_crc_of(ib->rbuf, n) != dg__ib_get32(h + 8))
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
        size_t vl = dg__ib_get32(p);
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
    size_t dl = dg__ib_get32(p);
    p += 4;
    NEED(dl);
    rc = ib->deliver(ib->deliver_ud, strs[0], attrs, na, p, dl);
#undef NEED
out:
    for (size_t i = 0; i < ns; i++)
        free(strs[i]);
    return rc;
}

void dg__ib_delete_segments_before(dg_inbox *ib, uint32_t seg)
{
    DIR *d = opendir(ib->dir);
    struct dirent *e;
    char path[4096];
    if (!d)
        return;
    while ((e = readdir(d))) {
        uint32_t s;
        if (dg__ib_seg_of(e->d_name, &s) && s < seg) {
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
        dg__ib_delete_segments_before(ib, ib->p_seg);
}

/* 1 if the loop has I/O ready (a request, an acknowledgement, a wake-up
 * from a thread): its backend descriptor then polls readable. */
static int io_ready(const dg_inbox *ib)
{
    struct pollfd p = {.fd = uv_backend_fd(ib->loop), .events = POLLIN};
    return p.fd >= 0 && poll(&p, 1, 0) > 0;
}

/* Deliver durable entries until `max` are done or `deadline_ns` passes
 * (0: no deadline), or, with `yield`, as soon as the loop has I/O ready.
 * Returns how many, or negative. */
static int deliver_some(dg_inbox *ib, size_t max, uint64_t deadline_ns, int yield)
{
    /* what we write can be replayed from the journal: no fsync needed for it */
    dg_db_relax_begin(ib->db);
    int joined = dg_db_join(ib->db) == 0, rc = DG_OK;
    size_t done = 0;
    uint32_t seg0 = ib->p_seg;
    while (done < max && dg__ib_pos_le(ib->p_seg, ib->p_off, ib->seen_seg, ib->seen_off) &&
           !(ib->p_seg == ib->seen_seg && ib->p_off == ib->seen_off)) {
        uint32_t n = 0;
        int r = dg__ib_read_entry(ib, ib->p_seg, ib->p_off, &n);
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
        if ((deadline_ns && uv_hrtime() >= deadline_ns) || (yield && io_ready(ib)))
            break;
    }
    dg_db_relax_end(ib->db);
    if (ib->p_seg != seg0)
        dg_db_require_sync(ib->db); /* segments are deleted after this commit */
    if (done || ib->p_seg != seg0) {
        int crc = dg__ib_checkpoint_write(ib->db, ib->p_seg, ib->p_off);
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

void dg__ib_on_retry(uv_timer_t *t) { dg__ib_schedule(t->data); }

static void work(dg_inbox *ib);
void dg__ib_noop_idle(uv_idle_t *h) { (void)h; }

/* Timers run before poll: the work is done here, or poll could block. */
void dg__ib_on_kick(uv_timer_t *t) { work(t->data); }

static void kick(dg_inbox *ib, uint64_t ms)
{
    if (!uv_is_active((uv_handle_t *)&ib->kick) || ms == 0)
        uv_timer_start(&ib->kick, dg__ib_on_kick, ms, 0);
}

/* Runs after every poll and when our timer fires. Acknowledgements come
 * first (see inbox.h):
 * - nothing ready on the loop and no 200 waiting for the writer: deliver
 *   until something is ready (a request, an acknowledgement),
 *   DG_INBOX_SLICE_MS at most, then look again after a poll that does not
 *   block;
 * - I/O ready and waiting: a share. Delivery earns DG_INBOX_SHARE_PCT of the
 *   wall time that passes and spends it one entry at a time. */
static void work(dg_inbox *ib)
{
    uint64_t now = uv_hrtime();
    size_t max = (size_t)-1;
    uv_idle_stop(&ib->spin);
    if (ib->share_at_ns)
        ib->share_ns += (int64_t)((now - ib->share_at_ns) * DG_INBOX_SHARE_PCT / 100);
    if (ib->share_ns > (int64_t)DG_INBOX_SLICE_MS * 1000000)
        ib->share_ns = (int64_t)DG_INBOX_SLICE_MS * 1000000;
    ib->share_at_ns = now;
    if (!ib->running || ib->delivering || !has_durable_work(ib)) {
        uv_timer_stop(&ib->kick);
        return;
    }
    /* idle: nothing ready, and nobody waiting for a 200 (its write is under
     * way: delivering now would only make it later) */
    int idle = ib->w_n == 0 && !io_ready(ib);
    if (!idle) {
        if (ib->share_ns <= 0) {
            kick(ib, 1);
            return;
        }
        max = 1;
    }
    ib->delivering = 1;
    int rc = deliver_some(ib, max, idle ? now + (uint64_t)DG_INBOX_SLICE_MS * 1000000u : 0, idle);
    ib->delivering = 0;
    if (!idle)
        ib->share_ns -= (int64_t)(uv_hrtime() - now);
    if (rc < 0) {
        uv_timer_stop(&ib->kick);
        dg_logf(DG_LOG_WARN, "inbox", "inbox.deliver_retry", "error", dg_strerror(rc), NULL);
        uv_timer_start(&ib->retry, dg__ib_on_retry, 1000, 0);
        return;
    }
    if (!has_durable_work(ib)) {
        uv_timer_stop(&ib->kick);
    } else if (idle) {
        /* go on after one poll for I/O: a timer restarted at 0 from its own
         * callback would run again before any poll */
        uv_idle_start(&ib->spin, dg__ib_noop_idle);
    } else {
        kick(ib, 1);
    }
}

void dg__ib_on_check(uv_check_t *h) { work(h->data); }

/* New durable work: make sure the loop comes back for it. */
void dg__ib_schedule(dg_inbox *ib)
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
    uv_check_start(&ib->check, dg__ib_on_check);
    dg__ib_schedule(ib);
}

void dg_inbox_pause(dg_inbox *ib)
{
    if (!ib)
        return;
    ib->running = 0;
    uv_check_stop(&ib->check);
    uv_timer_stop(&ib->kick);
    uv_idle_stop(&ib->spin);
    uv_timer_stop(&ib->retry);
}

int dg_inbox_drain(dg_inbox *ib, size_t max)
{
    if (!ib)
        return DG_EINVAL;
    dg__ib_run_waiters(ib); /* pick up what the writer finished */
    return deliver_some(ib, max, 0, 0);
}

int dg_inbox_sync(dg_inbox *ib)
{
    if (!ib)
        return DG_EINVAL;
    dg__ib_wake_writer(ib);
    uv_mutex_lock(&ib->mu);
    while ((ib->pend || ib->writing) && !ib->werr)
        uv_cond_wait(&ib->idle_cv, &ib->mu);
    uv_mutex_unlock(&ib->mu);
    dg__ib_run_waiters(ib);
    return ib->failed ? DG_EIO : DG_OK;
}
