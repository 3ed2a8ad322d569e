/* The engine's durable state behind a small interface, so that a second
 * backend (PostgreSQL) can be added without touching the engine.
 *
 * Records are plain structs with fixed-size text fields (truncated to fit;
 * every field is NUL-terminated), copied in and out: the caller owns them.
 * Every function returns 0, DG_ENOTFOUND, DG_EEXIST (inbound_add) or a
 * negative DG_E* code. A sequence of calls between begin and commit is one
 * transaction; the engine makes every state change inside one.
 *
 * The SQLite backend (store_sqlite.c) keeps its tables in the daemon's
 * database under the migration component "engine". */
#ifndef DG_CORE_STORE_H
#define DG_CORE_STORE_H

#include <stddef.h>
#include <stdint.h>

#include "db.h"

/* Case status (what the merchant sees). */
typedef enum dg_case_status {
    DG_CASE_OPEN = 0,
    DG_CASE_PAUSED = 1,
    DG_CASE_PROMISED = 2,
    DG_CASE_PAID = 3,
    DG_CASE_CANCELLED = 4,
    DG_CASE_EXPIRED = 5,
    DG_CASE_OPTED_OUT = 6,
    DG_CASE_RESOLVED = 7, /* operator: settled outside duegate */
    DG_CASE_WONT_PAY = 8  /* operator: closed, customer will not pay */
} dg_case_status;

/* What the case's next action (at next_at) is. */
typedef enum dg_next_kind {
    DG_NEXT_NONE = 0,
    DG_NEXT_STEP = 1,     /* start step `step` (a new touch) */
    DG_NEXT_FALLBACK = 2, /* answer window passed: next channel of the step */
    DG_NEXT_RETRY = 3,    /* retry the active touch on the same channel */
    DG_NEXT_EXPIRE = 4,   /* final window over / store closes the order */
    DG_NEXT_FOLLOWUP = 5  /* promise-to-pay date reached: one follow-up */
} dg_next_kind;

typedef enum dg_touch_status {
    DG_TOUCH_SCHEDULED = 0, /* waiting for a retry */
    DG_TOUCH_SENDING = 1,   /* committed, handed (or about to be) to the channel */
    DG_TOUCH_SENT = 2,
    DG_TOUCH_DELIVERED = 3,
    DG_TOUCH_READ = 4,
    DG_TOUCH_REPLIED = 5,
    DG_TOUCH_FAILED = 6,
    DG_TOUCH_EXPIRED = 7 /* never sent: the case ended first */
} dg_touch_status;

const char *dg_case_status_name(int s);
const char *dg_touch_status_name(int s);
const char *dg_next_kind_name(int k);
/* 1 if the case may still get messages (open, promised). */
int dg_case_status_live(int s);

typedef struct dg_case {
    int64_t id;
    char store[48];
    char order_id[64];
    char order_name[64];
    char playbook[48];
    int64_t flow;
    int64_t status;       /* dg_case_status */
    int64_t step;         /* index of the current step in the playbook */
    int64_t ch_idx;       /* index in the step's channel list */
    int64_t touches_used; /* stages that produced at least one message */
    int64_t messages_sent;
    int64_t next_at;       /* 0: nothing scheduled */
    int64_t next_kind;     /* dg_next_kind */
    int64_t active_touch;  /* touch of the current step/channel, 0 none */
    int64_t last_touch_at; /* start of the previous stage's touch */
    int64_t last_interval; /* interval between the last two stage touches */
    int64_t due_at, created_at, close_at, updated_at, expire_at;
    int64_t amount_minor, total_minor;
    char currency[8];
    char pay_link[512];
    char items_summary[512];
    int64_t n_items;
    /* customer */
    char cust_id[64];
    char first_name[64];
    char last_name[64];
    char phone[32];
    char email[128];
    char locale[24];
    char tz[48]; /* resolved zone; "" when only a country zone list applies */
    char country[4];
    char province[8];
    int64_t orders_count, paid_orders_count;
    int64_t seg_hints;
    char segment[24];
    char coupon[64];
    /* conversation */
    char pause_reason[128];
    int64_t promise_at;
    int64_t last_contact_at;
    char feedback[512];
    int64_t needs_person;
    int64_t final_checked; /* store re-read done before the final stage */
    int64_t followup_done;
    char next_step[160]; /* human text: what happens next and why */
    int64_t changed_at;
} dg_case;

typedef struct dg_touch {
    int64_t id;
    int64_t case_id;
    int64_t step;
    char stage[32];
    char channel[48];
    char kind[12]; /* whatsapp | sms | email */
    char template_id[64];
    char idem_key[96];
    int64_t status; /* dg_touch_status */
    int64_t attempt;
    char provider_id[128];
    int64_t error_class;
    char error_code[64];
    char address[128];
    char why[160];
    int64_t created_at, sent_at, updated_at;
} dg_touch;

typedef struct dg_store dg_store;

typedef void (*dg_touch_visit)(void *ud, const dg_touch *t);

/* An operator action row (the admin API's timeline). */
typedef struct dg_action {
    int64_t id, case_id, at;
    char who[64];
    char what[32];
    char arg[160];
} dg_action;
typedef void (*dg_case_visit)(void *ud, const dg_case *c);
typedef void (*dg_action_visit)(void *ud, const dg_action *a);

typedef struct dg_store_vt {
    void (*close)(dg_store *s);
    int (*begin)(dg_store *s);
    int (*commit)(dg_store *s);
    int (*rollback)(dg_store *s);
    int (*case_get)(dg_store *s, int64_t id, dg_case *out);
    int (*case_by_order)(dg_store *s, const char *store, const char *order_id, dg_case *out);
    /* Most recently changed case with that phone or e-mail, live ones first. */
    int (*case_by_address)(dg_store *s, const char *address, dg_case *out);
    /* Insert when c->id == 0 (sets it), else update. */
    int (*case_put)(dg_store *s, dg_case *c);
    /* Up to max ids with 0 < next_at <= now, earliest first (uses the index). */
    int (*due)(dg_store *s, int64_t now, int64_t *ids, size_t max, size_t *n);
    /* Earliest next_at, DG_ENOTFOUND when nothing is scheduled. */
    int (*next_due)(dg_store *s, int64_t *at);
    int (*touch_get)(dg_store *s, int64_t id, dg_touch *out);
    int (*touch_by_provider)(dg_store *s, const char *channel, const char *pid, dg_touch *out);
    /* Insert when t->id == 0 (sets it), else update; case_id and idem_key
     * are fixed at insert (an update leaves them). */
    int (*touch_put)(dg_store *s, dg_touch *t);
    int (*touches_of_case)(dg_store *s, int64_t case_id, dg_touch_visit cb, void *ud);
    int (*touches_in_status)(dg_store *s, int status, dg_touch_visit cb, void *ud);
    /* Record a webhook/event key; DG_EEXIST if seen before. */
    int (*inbound_add)(dg_store *s, const char *key, int64_t at);
    int (*suppress)(dg_store *s, const char *kind, const char *address, const char *reason,
                    int64_t at);
    int (*unsuppress)(dg_store *s, const char *kind, const char *address);
    /* 1 suppressed, 0 not, negative error. */
    int (*is_suppressed)(dg_store *s, const char *kind, const char *address);
    int (*history_add)(dg_store *s, const char *customer, const char *order_id, const char *event,
                       int64_t amount_minor, int64_t at);
    /* Number of history rows of `customer` with `event`. */
    int (*history_count)(dg_store *s, const char *customer, const char *event, int64_t *n);
    int (*action_add)(dg_store *s, int64_t case_id, const char *who, const char *what,
                      const char *arg, int64_t at);
    int (*action_count)(dg_store *s, int64_t case_id, int64_t *n);
    /* Erase personal data of every case of (store, customer id or address);
     * *n = cases touched. History keeps only the pseudonymous key. */
    int (*forget)(dg_store *s, const char *store, const char *who, int64_t *n);
    int (*count_cases)(dg_store *s, int live_only, int64_t *n);
    /* ---- admin API (appended): every case, by id; actions of a case, oldest
     * first (case_id 0: actions not bound to a case, e.g. forget). */
    int (*cases_visit)(dg_store *s, dg_case_visit cb, void *ud);
    int (*actions_of_case)(dg_store *s, int64_t case_id, dg_action_visit cb, void *ud);
    /* ---- (appended) A number that changes whenever the case or one of its
     * touches is written through this store, rolled back or not; 0 when
     * unknown. The same non-zero mark twice: nothing of the case was written
     * in between (the engine reuses its copies instead of reading again). */
    uint64_t (*write_mark)(dg_store *s, int64_t case_id);
} dg_store_vt;

struct dg_store {
    const dg_store_vt *vt;
};

/* The SQLite backend on an open database (borrowed; must outlive the store).
 * Applies the "engine" migrations. */
int dg_store_sqlite_open(dg_db *db, dg_store **out, char *err, size_t err_len);

#endif
