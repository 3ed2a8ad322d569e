/* The SQLite backend of core/store.h. Records map to rows through column
 * tables (name, type, offset) so the struct and the schema stay in step.
 * Statements are prepared once and reused. */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <duegate/types.h>

#include "error.h"
#include "store.h"
#include "store_schema.h"

#ifndef DG_STORE_CACHE_KB
#define DG_STORE_CACHE_KB "65536"
#endif

static const char *const case_status_names[] = {"open",      "paused",    "promised",
                                                "paid",      "cancelled", "expired",
                                                "opted_out", "resolved",  "wont_pay"};
static const char *const touch_status_names[] = {"scheduled", "sending", "sent",   "delivered",
                                                 "read",      "replied", "failed", "expired"};
static const char *const next_names[] = {"none", "step", "fallback", "retry", "expire", "followup"};

const char *dg_case_status_name(int s)
{
    return s >= 0 && s <= 8 ? case_status_names[s] : "?";
}
const char *dg_touch_status_name(int s)
{
    return s >= 0 && s <= 7 ? touch_status_names[s] : "?";
}
const char *dg_next_kind_name(int k)
{
    return k >= 0 && k <= 5 ? next_names[k] : "?";
}
int dg_case_status_live(int s)
{
    return s == DG_CASE_OPEN || s == DG_CASE_PROMISED;
}

typedef struct col {
    const char *name;
    char type; /* 'I' int64, 'S' char[] */
    size_t off, size;
} col;

#define CI(T, f)                                                                                   \
    {                                                                                              \
#f, 'I', offsetof(T, f), 0                                                                 \
    }
#define CS(T, f)                                                                                   \
    {                                                                                              \
#f, 'S', offsetof(T, f), sizeof(((T *)0)->f)                                               \
    }

static const col case_cols[] = {CI(dg_case, id),
                                CS(dg_case, store),
                                CS(dg_case, order_id),
                                CS(dg_case, order_name),
                                CS(dg_case, playbook),
                                CI(dg_case, flow),
                                CI(dg_case, status),
                                CI(dg_case, step),
                                CI(dg_case, ch_idx),
                                CI(dg_case, touches_used),
                                CI(dg_case, messages_sent),
                                CI(dg_case, next_at),
                                CI(dg_case, next_kind),
                                CI(dg_case, active_touch),
                                CI(dg_case, last_touch_at),
                                CI(dg_case, last_interval),
                                CI(dg_case, due_at),
                                CI(dg_case, created_at),
                                CI(dg_case, close_at),
                                CI(dg_case, updated_at),
                                CI(dg_case, expire_at),
                                CI(dg_case, amount_minor),
                                CI(dg_case, total_minor),
                                CS(dg_case, currency),
                                CS(dg_case, pay_link),
                                CS(dg_case, items_summary),
                                CI(dg_case, n_items),
                                CS(dg_case, cust_id),
                                CS(dg_case, first_name),
                                CS(dg_case, last_name),
                                CS(dg_case, phone),
                                CS(dg_case, email),
                                CS(dg_case, locale),
                                CS(dg_case, tz),
                                CS(dg_case, country),
                                CS(dg_case, province),
                                CI(dg_case, orders_count),
                                CI(dg_case, paid_orders_count),
                                CI(dg_case, seg_hints),
                                CS(dg_case, segment),
                                CS(dg_case, coupon),
                                CS(dg_case, pause_reason),
                                CI(dg_case, promise_at),
                                CI(dg_case, last_contact_at),
                                CS(dg_case, feedback),
                                CI(dg_case, needs_person),
                                CI(dg_case, final_checked),
                                CI(dg_case, followup_done),
                                CS(dg_case, next_step),
                                CI(dg_case, changed_at)};
#define N_CASE_COLS (sizeof case_cols / sizeof case_cols[0])
/* next_at's index in case_cols: 0 is stored as NULL (not due). Checked
 * against the table once, in dg_store_sqlite_open. */
#define CASE_NEXT_AT 11

static const col touch_cols[] = {
    CI(dg_touch, id),          CI(dg_touch, case_id),     CI(dg_touch, step),
    CS(dg_touch, stage),       CS(dg_touch, channel),     CS(dg_touch, kind),
    CS(dg_touch, template_id), CS(dg_touch, idem_key),    CI(dg_touch, status),
    CI(dg_touch, attempt),     CS(dg_touch, provider_id), CI(dg_touch, error_class),
    CS(dg_touch, error_code),  CS(dg_touch, address),     CS(dg_touch, why),
    CI(dg_touch, created_at),  CI(dg_touch, sent_at),     CI(dg_touch, updated_at)};
#define N_TOUCH_COLS (sizeof touch_cols / sizeof touch_cols[0])

enum {
    Q_BEGIN,
    Q_COMMIT,
    Q_ROLLBACK,
    Q_CASE_GET,
    Q_CASE_ORDER,
    Q_CASE_ADDR,
    Q_CASE_INS,
    Q_CASE_UPD,
    Q_DUE,
    Q_NEXT_DUE,
    Q_TOUCH_GET,
    Q_TOUCH_PID,
    Q_TOUCH_INS,
    Q_TOUCH_UPD,
    Q_TOUCHES_CASE,
    Q_TOUCHES_STATUS,
    Q_INBOUND,
    Q_SUPP,
    Q_UNSUPP,
    Q_IS_SUPP,
    Q_HIST,
    Q_HIST_COUNT,
    Q_ACTION,
    Q_ACTION_COUNT,
    Q_COUNT_ALL,
    Q_COUNT_LIVE,
    Q_CASE_ADDR_UPD,
    Q__N
};

#define ADDR_CACHE 4096

typedef struct sq {
    dg_store base;
    dg_db *db;
    struct {
        int64_t id;
        uint64_t h;
    } addr[ADDR_CACHE]; /* hash of (phone, email) last read or written per case */
    struct {
        int64_t id;
        uint64_t mark;
    } wm[ADDR_CACHE]; /* write marks by case (see write_mark in store.h) */
    uint64_t wm_last;
    sqlite3_stmt *st[Q__N];
    char *sql[Q__N];
} sq;

static void mark_write(sq *s, int64_t case_id)
{
    s->wm[(uint64_t)case_id % ADDR_CACHE].id = case_id;
    s->wm[(uint64_t)case_id % ADDR_CACHE].mark = ++s->wm_last;
}

static uint64_t s_write_mark(dg_store *b, int64_t case_id)
{
    sq *s = (sq *)b;
    return s->wm[(uint64_t)case_id % ADDR_CACHE].id == case_id
               ? s->wm[(uint64_t)case_id % ADDR_CACHE].mark
               : 0;
}

static sqlite3_stmt *stmt(sq *s, int q)
{
    sqlite3_stmt *st = s->st[q];
    if (!st && sqlite3_prepare_v3(s->db->sql, s->sql[q], -1, SQLITE_PREPARE_PERSISTENT, &s->st[q],
                                  NULL) != SQLITE_OK)
        return NULL;
    st = s->st[q];
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    return st;
}

static int done(sqlite3_stmt *st, int rc)
{
    if (st)
        sqlite3_reset(st);
    return rc;
}

static void read_row(sqlite3_stmt *st, const col *cols, size_t n, void *rec)
{
    memset(rec, 0, cols == case_cols ? sizeof(dg_case) : sizeof(dg_touch));
    for (size_t i = 0; i < n; i++) {
        char *p = (char *)rec + cols[i].off;
        if (cols[i].type == 'I') {
            *(int64_t *)(void *)p = sqlite3_column_int64(st, (int)i);
        } else {
            const unsigned char *t = sqlite3_column_text(st, (int)i);
            size_t len = t ? (size_t)sqlite3_column_bytes(st, (int)i) : 0;
            if (len >= cols[i].size)
                len = cols[i].size - 1;
            if (len)
                memcpy(p, t, len);
            p[len] = '\0';
        }
    }
}

/* Bind columns 1..n-1 (all but id) at parameters 1..n-1; id at n when `with_id`. */
static void bind_row(sqlite3_stmt *st, const col *cols, size_t n, const void *rec, int with_id)
{
    for (size_t i = 1; i < n; i++) {
        const char *p = (const char *)rec + cols[i].off;
        if (cols[i].type == 'I') {
            int64_t v = *(const int64_t *)(const void *)p;
            if (v == 0 && cols == case_cols && i == CASE_NEXT_AT)
                sqlite3_bind_null(st, (int)i);
            else
                sqlite3_bind_int64(st, (int)i, v);
        } else {
            sqlite3_bind_text(st, (int)i, p, -1, SQLITE_STATIC);
        }
    }
    if (with_id)
        sqlite3_bind_int64(st, (int)n,
                           *(const int64_t *)(const void *)((const char *)rec + cols[0].off));
}

/* Columns an UPDATE leaves alone: the order's identity never changes and
 * the addresses change rarely (a separate, conditional statement), so
 * their indexes are not rewritten on every state change. A touch's case and
 * idempotency key are fixed when it is inserted (SQLite rewrites the index
 * of every column an UPDATE sets, changed or not). */
static int hot_skip(const char *name)
{
    return !strcmp(name, "store") || !strcmp(name, "order_id") || !strcmp(name, "phone") ||
           !strcmp(name, "email") || !strcmp(name, "case_id") || !strcmp(name, "idem_key");
}

static char *col_list(const col *cols, size_t n, int from, int assign)
{
    size_t cap = 4096, len = 0;
    char *b = malloc(cap);
    if (!b)
        return NULL;
    b[0] = '\0';
    for (size_t i = (size_t)from; i < n; i++)
        len += (size_t)snprintf(b + len, cap - len, "%s%s%s", i > (size_t)from ? "," : "",
                                cols[i].name, assign ? "=?" : "");
    if (assign == 2) { /* case UPDATE: ?N numbered by column, hot columns skipped */
        len = 0;
        b[0] = '\0';
        for (size_t i = (size_t)from; i < n; i++)
            if (!hot_skip(cols[i].name))
                len += (size_t)snprintf(b + len, cap - len, "%s%s=?%zu", len ? "," : "",
                                        cols[i].name, i);
    }
    return b;
}

static int build_sql(sq *s)
{
    char *all_c = col_list(case_cols, N_CASE_COLS, 0, 0);
    char *ins_c = col_list(case_cols, N_CASE_COLS, 1, 0);
    char *upd_c = col_list(case_cols, N_CASE_COLS, 1, 2);
    char *all_t = col_list(touch_cols, N_TOUCH_COLS, 0, 0);
    char *ins_t = col_list(touch_cols, N_TOUCH_COLS, 1, 0);
    char *upd_t = col_list(touch_cols, N_TOUCH_COLS, 1, 2);
    char qm_c[512] = "", qm_t[256] = "";
    int rc = 0;
    for (size_t i = 1; i < N_CASE_COLS; i++)
        strcat(qm_c, i > 1 ? ",?" : "?");
    for (size_t i = 1; i < N_TOUCH_COLS; i++)
        strcat(qm_t, i > 1 ? ",?" : "?");
    if (!all_c || !ins_c || !upd_c || !all_t || !ins_t || !upd_t) {
        rc = DG_ENOMEM;
        goto out;
    }
#define SET(q, ...)                                                                                \
    do {                                                                                           \
        char tmp[8192];                                                                            \
        snprintf(tmp, sizeof tmp, __VA_ARGS__);                                                    \
        if (!(s->sql[q] = strdup(tmp)))                                                            \
            rc = DG_ENOMEM;                                                                        \
    } while (0)
    SET(Q_BEGIN, "BEGIN IMMEDIATE");
    SET(Q_COMMIT, "COMMIT");
    SET(Q_ROLLBACK, "ROLLBACK");
    SET(Q_CASE_GET, "SELECT %s FROM eng_cases WHERE id=?", all_c);
    SET(Q_CASE_ORDER, "SELECT %s FROM eng_cases WHERE store=? AND order_id=?", all_c);
    SET(Q_CASE_ADDR,
        "SELECT %s FROM eng_cases WHERE phone=?1 OR email=?1 ORDER BY status IN (0,1,2) DESC,"
        " changed_at DESC, id DESC LIMIT 1",
        all_c);
    SET(Q_CASE_INS, "INSERT INTO eng_cases(%s) VALUES(%s)", ins_c, qm_c);
    SET(Q_CASE_UPD, "UPDATE eng_cases SET %s WHERE id=?%zu", upd_c, N_CASE_COLS);
    SET(Q_CASE_ADDR_UPD, "UPDATE eng_cases SET phone=?1, email=?2 WHERE id=?3 AND"
                         " (phone IS NOT ?1 OR email IS NOT ?2)");
    SET(Q_DUE, "SELECT id FROM eng_cases WHERE next_at IS NOT NULL AND next_at<=?"
               " ORDER BY next_at, id LIMIT ?");
    SET(Q_NEXT_DUE, "SELECT min(next_at) FROM eng_cases WHERE next_at IS NOT NULL");
    SET(Q_TOUCH_GET, "SELECT %s FROM eng_touches WHERE id=?", all_t);
    SET(Q_TOUCH_PID, "SELECT %s FROM eng_touches WHERE channel=? AND provider_id=?", all_t);
    SET(Q_TOUCH_INS, "INSERT INTO eng_touches(%s) VALUES(%s)", ins_t, qm_t);
    SET(Q_TOUCH_UPD, "UPDATE eng_touches SET %s WHERE id=?%zu", upd_t, N_TOUCH_COLS);
    SET(Q_TOUCHES_CASE, "SELECT %s FROM eng_touches WHERE case_id=? ORDER BY id", all_t);
    SET(Q_TOUCHES_STATUS, "SELECT %s FROM eng_touches WHERE status=? ORDER BY id", all_t);
    SET(Q_INBOUND, "INSERT OR IGNORE INTO eng_inbound(key, at) VALUES(?,?)");
    SET(Q_SUPP, "INSERT OR REPLACE INTO eng_suppressed(kind, address, reason, at) VALUES(?,?,?,?)");
    SET(Q_UNSUPP, "DELETE FROM eng_suppressed WHERE kind=? AND address=?");
    SET(Q_IS_SUPP, "SELECT 1 FROM eng_suppressed WHERE kind=? AND address=?");
    SET(Q_HIST, "INSERT INTO eng_history(customer, order_id, event, amount_minor, at)"
                " VALUES(?,?,?,?,?)");
    SET(Q_HIST_COUNT, "SELECT count(*) FROM eng_history WHERE customer=? AND event=?");
    SET(Q_ACTION, "INSERT INTO eng_actions(case_id, who, what, arg, at) VALUES(?,?,?,?,?)");
    SET(Q_ACTION_COUNT, "SELECT count(*) FROM eng_actions WHERE case_id=?");
    SET(Q_COUNT_ALL, "SELECT count(*) FROM eng_cases");
    SET(Q_COUNT_LIVE, "SELECT count(*) FROM eng_cases WHERE status IN (0,2)");
#undef SET
out:
    free(all_c), free(ins_c), free(upd_c), free(all_t), free(ins_t), free(upd_t);
    return rc;
}

static int s_begin(dg_store *b)
{
    return dg_db_tx_begin(((sq *)b)->db);
}
static int s_commit(dg_store *b)
{
    return dg_db_tx_commit(((sq *)b)->db);
}
static int s_rollback(dg_store *b)
{
    return dg_db_tx_rollback(((sq *)b)->db);
}

static int get_one(sq *s, int q, const col *cols, size_t n, void *out, sqlite3_stmt *st)
{
    int r;
    (void)s, (void)q;
    r = sqlite3_step(st);
    if (r == SQLITE_ROW) {
        read_row(st, cols, n, out);
        return done(st, 0);
    }
    return done(st, r == SQLITE_DONE ? DG_ENOTFOUND : DG_EIO);
}

static uint64_t addr_hash(const dg_case *c)
{
    uint64_t h = 1469598103934665603ULL;
    for (const char *p = c->phone; *p; p++)
        h = (h ^ (unsigned char)*p) * 1099511628211ULL;
    h = (h ^ 0xff) * 1099511628211ULL;
    for (const char *p = c->email; *p; p++)
        h = (h ^ (unsigned char)*p) * 1099511628211ULL;
    return h;
}

static void addr_remember(sq *s, const dg_case *c)
{
    s->addr[(uint64_t)c->id % ADDR_CACHE].id = c->id;
    s->addr[(uint64_t)c->id % ADDR_CACHE].h = addr_hash(c);
}

static int s_case_get(dg_store *b, int64_t id, dg_case *out)
{
    sq *s = (sq *)b;
    sqlite3_stmt *st = stmt(s, Q_CASE_GET);
    if (!st)
        return DG_EIO;
    sqlite3_bind_int64(st, 1, id);
    int rc = get_one(s, Q_CASE_GET, case_cols, N_CASE_COLS, out, st);
    if (rc == 0)
        addr_remember(s, out);
    return rc;
}

static int s_case_by_order(dg_store *b, const char *store, const char *oid, dg_case *out)
{
    sq *s = (sq *)b;
    sqlite3_stmt *st = stmt(s, Q_CASE_ORDER);
    if (!st)
        return DG_EIO;
    sqlite3_bind_text(st, 1, store, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, oid, -1, SQLITE_STATIC);
    return get_one(s, Q_CASE_ORDER, case_cols, N_CASE_COLS, out, st);
}

static int s_case_by_address(dg_store *b, const char *addr, dg_case *out)
{
    sq *s = (sq *)b;
    sqlite3_stmt *st;
    if (!addr || !*addr)
        return DG_ENOTFOUND;
    if (!(st = stmt(s, Q_CASE_ADDR)))
        return DG_EIO;
    sqlite3_bind_text(st, 1, addr, -1, SQLITE_STATIC);
    return get_one(s, Q_CASE_ADDR, case_cols, N_CASE_COLS, out, st);
}

static int s_case_put(dg_store *b, dg_case *c)
{
    sq *s = (sq *)b;
    sqlite3_stmt *st = stmt(s, c->id ? Q_CASE_UPD : Q_CASE_INS);
    if (!st)
        return DG_EIO;
    bind_row(st, case_cols, N_CASE_COLS, c, c->id != 0);
    if (c->id)
        mark_write(s, c->id);
    if (sqlite3_step(st) != SQLITE_DONE)
        return done(st, DG_EIO);
    if (!c->id) {
        c->id = sqlite3_last_insert_rowid(s->db->sql);
        mark_write(s, c->id);
        addr_remember(s, c);
        return done(st, 0);
    }
    done(st, 0);
    {
        uint64_t slot = (uint64_t)c->id % ADDR_CACHE;
        if (s->addr[slot].id == c->id && s->addr[slot].h == addr_hash(c))
            return 0; /* addresses unchanged: leave their indexes alone */
    }
    addr_remember(s, c);
    if (!(st = stmt(s, Q_CASE_ADDR_UPD)))
        return DG_EIO;
    sqlite3_bind_text(st, 1, c->phone, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, c->email, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 3, c->id);
    return done(st, sqlite3_step(st) == SQLITE_DONE ? 0 : DG_EIO);
}

static int s_due(dg_store *b, int64_t now, int64_t *ids, size_t max, size_t *n)
{
    sq *s = (sq *)b;
    sqlite3_stmt *st = stmt(s, Q_DUE);
    int r;
    *n = 0;
    if (!st)
        return DG_EIO;
    sqlite3_bind_int64(st, 1, now);
    sqlite3_bind_int64(st, 2, (int64_t)max);
    while ((r = sqlite3_step(st)) == SQLITE_ROW && *n < max)
        ids[(*n)++] = sqlite3_column_int64(st, 0);
    return done(st, r == SQLITE_DONE || r == SQLITE_ROW ? 0 : DG_EIO);
}

static int s_next_due(dg_store *b, int64_t *at)
{
    sq *s = (sq *)b;
    sqlite3_stmt *st = stmt(s, Q_NEXT_DUE);
    if (!st)
        return DG_EIO;
    if (sqlite3_step(st) != SQLITE_ROW)
        return done(st, DG_EIO);
    if (sqlite3_column_type(st, 0) == SQLITE_NULL)
        return done(st, DG_ENOTFOUND);
    *at = sqlite3_column_int64(st, 0);
    return done(st, 0);
}

static int s_touch_get(dg_store *b, int64_t id, dg_touch *out)
{
    sq *s = (sq *)b;
    sqlite3_stmt *st = stmt(s, Q_TOUCH_GET);
    if (!st)
        return DG_EIO;
    sqlite3_bind_int64(st, 1, id);
    return get_one(s, Q_TOUCH_GET, touch_cols, N_TOUCH_COLS, out, st);
}

static int s_touch_by_provider(dg_store *b, const char *ch, const char *pid, dg_touch *out)
{
    sq *s = (sq *)b;
    sqlite3_stmt *st;
    if (!pid || !*pid || !ch)
        return DG_ENOTFOUND;
    if (!(st = stmt(s, Q_TOUCH_PID)))
        return DG_EIO;
    sqlite3_bind_text(st, 1, ch, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, pid, -1, SQLITE_STATIC);
    return get_one(s, Q_TOUCH_PID, touch_cols, N_TOUCH_COLS, out, st);
}

static int s_touch_put(dg_store *b, dg_touch *t)
{
    sq *s = (sq *)b;
    sqlite3_stmt *st = stmt(s, t->id ? Q_TOUCH_UPD : Q_TOUCH_INS);
    int r;
    if (!st)
        return DG_EIO;
    bind_row(st, touch_cols, N_TOUCH_COLS, t, t->id != 0);
    mark_write(s, t->case_id);
    r = sqlite3_step(st);
    if (r != SQLITE_DONE)
        return done(st, r == SQLITE_CONSTRAINT ? DG_EEXIST : DG_EIO);
    if (!t->id)
        t->id = sqlite3_last_insert_rowid(s->db->sql);
    return done(st, 0);
}

static int visit(sqlite3_stmt *st, dg_touch_visit cb, void *ud)
{
    dg_touch t;
    int r;
    while ((r = sqlite3_step(st)) == SQLITE_ROW) {
        read_row(st, touch_cols, N_TOUCH_COLS, &t);
        cb(ud, &t);
    }
    return done(st, r == SQLITE_DONE ? 0 : DG_EIO);
}

static int s_touches_of_case(dg_store *b, int64_t case_id, dg_touch_visit cb, void *ud)
{
    sqlite3_stmt *st = stmt((sq *)b, Q_TOUCHES_CASE);
    if (!st)
        return DG_EIO;
    sqlite3_bind_int64(st, 1, case_id);
    return visit(st, cb, ud);
}

static int s_touches_in_status(dg_store *b, int status, dg_touch_visit cb, void *ud)
{
    sqlite3_stmt *st = stmt((sq *)b, Q_TOUCHES_STATUS);
    if (!st)
        return DG_EIO;
    sqlite3_bind_int(st, 1, status);
    return visit(st, cb, ud);
}

static int s_inbound_add(dg_store *b, const char *key, int64_t at)
{
    sq *s = (sq *)b;
    sqlite3_stmt *st = stmt(s, Q_INBOUND);
    if (!st)
        return DG_EIO;
    sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, at);
    if (sqlite3_step(st) != SQLITE_DONE)
        return done(st, DG_EIO);
    return done(st, sqlite3_changes(s->db->sql) == 0 ? DG_EEXIST : 0);
}

static int s_suppress(dg_store *b, const char *kind, const char *addr, const char *reason,
                      int64_t at)
{
    sqlite3_stmt *st = stmt((sq *)b, Q_SUPP);
    if (!st)
        return DG_EIO;
    sqlite3_bind_text(st, 1, kind, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, addr, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, reason ? reason : "", -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 4, at);
    return done(st, sqlite3_step(st) == SQLITE_DONE ? 0 : DG_EIO);
}

static int s_unsuppress(dg_store *b, const char *kind, const char *addr)
{
    sqlite3_stmt *st = stmt((sq *)b, Q_UNSUPP);
    if (!st)
        return DG_EIO;
    sqlite3_bind_text(st, 1, kind, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, addr, -1, SQLITE_STATIC);
    return done(st, sqlite3_step(st) == SQLITE_DONE ? 0 : DG_EIO);
}

static int s_is_suppressed(dg_store *b, const char *kind, const char *addr)
{
    sqlite3_stmt *st = stmt((sq *)b, Q_IS_SUPP);
    int r;
    if (!st)
        return DG_EIO;
    sqlite3_bind_text(st, 1, kind, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, addr, -1, SQLITE_STATIC);
    r = sqlite3_step(st);
    return done(st, r == SQLITE_ROW ? 1 : r == SQLITE_DONE ? 0 : DG_EIO);
}

static int s_history_add(dg_store *b, const char *cust, const char *oid, const char *ev,
                         int64_t amount, int64_t at)
{
    sqlite3_stmt *st = stmt((sq *)b, Q_HIST);
    if (!st)
        return DG_EIO;
    sqlite3_bind_text(st, 1, cust, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, oid, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, ev, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 4, amount);
    sqlite3_bind_int64(st, 5, at);
    return done(st, sqlite3_step(st) == SQLITE_DONE ? 0 : DG_EIO);
}

static int count_q(sqlite3_stmt *st, int64_t *n)
{
    if (!st)
        return DG_EIO;
    if (sqlite3_step(st) != SQLITE_ROW)
        return done(st, DG_EIO);
    *n = sqlite3_column_int64(st, 0);
    return done(st, 0);
}

static int s_history_count(dg_store *b, const char *cust, const char *ev, int64_t *n)
{
    sqlite3_stmt *st = stmt((sq *)b, Q_HIST_COUNT);
    if (!st)
        return DG_EIO;
    sqlite3_bind_text(st, 1, cust, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, ev, -1, SQLITE_STATIC);
    return count_q(st, n);
}

static int s_action_add(dg_store *b, int64_t case_id, const char *who, const char *what,
                        const char *arg, int64_t at)
{
    sqlite3_stmt *st = stmt((sq *)b, Q_ACTION);
    if (!st)
        return DG_EIO;
    sqlite3_bind_int64(st, 1, case_id);
    sqlite3_bind_text(st, 2, who ? who : "", -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, what, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 4, arg ? arg : "", -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 5, at);
    return done(st, sqlite3_step(st) == SQLITE_DONE ? 0 : DG_EIO);
}

static int s_action_count(dg_store *b, int64_t case_id, int64_t *n)
{
    sqlite3_stmt *st = stmt((sq *)b, Q_ACTION_COUNT);
    if (!st)
        return DG_EIO;
    sqlite3_bind_int64(st, 1, case_id);
    return count_q(st, n);
}

static int s_count_cases(dg_store *b, int live_only, int64_t *n)
{
    return count_q(stmt((sq *)b, live_only ? Q_COUNT_LIVE : Q_COUNT_ALL), n);
}

/* Admin scans: plain statements, no cache. */
static int s_cases_visit(dg_store *b, dg_case_visit cb, void *ud)
{
    sq *s = (sq *)b;
    sqlite3_stmt *st;
    dg_case *c = malloc(sizeof *c);
    char *cols = col_list(case_cols, N_CASE_COLS, 0, 0), sql[4096];
    int r = DG_ENOMEM;
    if (c && cols) {
        snprintf(sql, sizeof sql, "SELECT %s FROM eng_cases ORDER BY id", cols);
        r = DG_EIO;
        if (sqlite3_prepare_v2(s->db->sql, sql, -1, &st, NULL) == SQLITE_OK) {
            while ((r = sqlite3_step(st)) == SQLITE_ROW) {
                read_row(st, case_cols, N_CASE_COLS, c);
                cb(ud, c);
            }
            r = r == SQLITE_DONE ? 0 : DG_EIO;
            sqlite3_finalize(st);
        }
    }
    free(c), free(cols);
    return r;
}

#define TXT(st, i) (sqlite3_column_text(st, i) ? (const char *)sqlite3_column_text(st, i) : "")
static int s_actions_of_case(dg_store *b, int64_t case_id, dg_action_visit cb, void *ud)
{
    sq *s = (sq *)b;
    sqlite3_stmt *st;
    dg_action a;
    int r;
    if (sqlite3_prepare_v2(s->db->sql,
                           "SELECT id, case_id, at, who, what, arg FROM eng_actions"
                           " WHERE case_id=? ORDER BY id",
                           -1, &st, NULL) != SQLITE_OK)
        return DG_EIO;
    sqlite3_bind_int64(st, 1, case_id);
    while ((r = sqlite3_step(st)) == SQLITE_ROW) {
        memset(&a, 0, sizeof a);
        a.id = sqlite3_column_int64(st, 0);
        a.case_id = sqlite3_column_int64(st, 1);
        a.at = sqlite3_column_int64(st, 2);
        snprintf(a.who, sizeof a.who, "%s", TXT(st, 3));
        snprintf(a.what, sizeof a.what, "%s", TXT(st, 4));
        snprintf(a.arg, sizeof a.arg, "%s", TXT(st, 5));
        cb(ud, &a);
    }
    sqlite3_finalize(st);
    return r == SQLITE_DONE ? 0 : DG_EIO;
}

/* Rare operation: plain statements, no cache. */
static int s_forget(dg_store *b, const char *store, const char *who, int64_t *n)
{
    sq *s = (sq *)b;
    static const char *const q[] = {
        "UPDATE eng_touches SET address='' WHERE case_id IN (SELECT id FROM eng_cases"
        " WHERE store=?1 AND (cust_id=?2 OR phone=?2 OR email=?2))",
        "UPDATE eng_cases SET first_name='', last_name='', phone='', email='', feedback='',"
        " pause_reason=CASE WHEN pause_reason='' THEN '' ELSE 'forgotten' END,"
        " items_summary='', pay_link='', cust_id='forgotten:'||id"
        " WHERE store=?1 AND (cust_id=?2 OR phone=?2 OR email=?2)"};
    *n = 0;
    memset(s->addr, 0, sizeof s->addr);
    memset(s->wm, 0, sizeof s->wm); /* every mark unknown */
    for (size_t i = 0; i < 2; i++) {
        sqlite3_stmt *st;
        if (sqlite3_prepare_v2(s->db->sql, q[i], -1, &st, NULL) != SQLITE_OK)
            return DG_EIO;
        sqlite3_bind_text(st, 1, store, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 2, who, -1, SQLITE_STATIC);
        if (sqlite3_step(st) != SQLITE_DONE) {
            sqlite3_finalize(st);
            return DG_EIO;
        }
        if (i == 1)
            *n = sqlite3_changes(s->db->sql);
        sqlite3_finalize(st);
    }
    return 0;
}

static void s_close(dg_store *b)
{
    sq *s = (sq *)b;
    if (!s)
        return;
    for (int i = 0; i < Q__N; i++) {
        sqlite3_finalize(s->st[i]);
        free(s->sql[i]);
    }
    free(s);
}

static const dg_store_vt sqlite_vt = {s_close,           s_begin,           s_commit,
                                      s_rollback,        s_case_get,        s_case_by_order,
                                      s_case_by_address, s_case_put,        s_due,
                                      s_next_due,        s_touch_get,       s_touch_by_provider,
                                      s_touch_put,       s_touches_of_case, s_touches_in_status,
                                      s_inbound_add,     s_suppress,        s_unsuppress,
                                      s_is_suppressed,   s_history_add,     s_history_count,
                                      s_action_add,      s_action_count,    s_forget,
                                      s_count_cases,     s_cases_visit,     s_actions_of_case,
                                      s_write_mark};

int dg_store_sqlite_open(dg_db *db, dg_store **out, char *err, size_t len)
{
    sq *s;
    int rc =
        dg_db_migrate(db, "engine", dg_store_migrations, dg_store_n_migrations, err, len);
    if (rc)
        return rc;
    /* A larger page cache keeps the next_at index and hot rows in memory
     * with a million open cases (bench/engine); well inside the RSS budget. */
    if ((rc = dg_db_exec(db, "PRAGMA cache_size=-" DG_STORE_CACHE_KB, err, len)) != 0)
        return rc;
    if (strcmp(case_cols[CASE_NEXT_AT].name, "next_at") != 0) {
        dg_errf(err, len, "engine store: case columns out of step (next_at)");
        return DG_EPROTO;
    }
    if (!(s = calloc(1, sizeof *s)))
        return DG_ENOMEM;
    s->base.vt = &sqlite_vt;
    s->db = db;
    if ((rc = build_sql(s)) != 0) {
        s_close(&s->base);
        dg_errf(err, len, "engine store: %s", dg_strerror(rc));
        return rc;
    }
    *out = &s->base;
    return 0;
}
