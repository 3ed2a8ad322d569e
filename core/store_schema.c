/* The engine store's schema: its numbered migrations (see store_schema.h). */
#include "store_schema.h"

/* Numbered migrations of component "engine". next_at 0 is stored as NULL so
 * the partial index holds only scheduled cases. */
const char *const dg_store_migrations[] = {
    "CREATE TABLE eng_cases(id INTEGER PRIMARY KEY, store TEXT NOT NULL, order_id TEXT NOT NULL,"
    " order_name TEXT, playbook TEXT, flow INTEGER, status INTEGER, step INTEGER, ch_idx INTEGER,"
    " touches_used INTEGER, messages_sent INTEGER, next_at INTEGER, next_kind INTEGER,"
    " active_touch INTEGER, last_touch_at INTEGER, last_interval INTEGER, due_at INTEGER,"
    " created_at INTEGER, close_at INTEGER, updated_at INTEGER, expire_at INTEGER,"
    " amount_minor INTEGER, total_minor INTEGER, currency TEXT, pay_link TEXT,"
    " items_summary TEXT, n_items INTEGER, cust_id TEXT, first_name TEXT, last_name TEXT,"
    " phone TEXT, email TEXT, locale TEXT, tz TEXT, country TEXT, province TEXT,"
    " orders_count INTEGER, paid_orders_count INTEGER, seg_hints INTEGER, segment TEXT,"
    " coupon TEXT, pause_reason TEXT, promise_at INTEGER, last_contact_at INTEGER,"
    " feedback TEXT, needs_person INTEGER, final_checked INTEGER, followup_done INTEGER,"
    " next_step TEXT, changed_at INTEGER, UNIQUE(store, order_id));"
    "CREATE INDEX eng_cases_next ON eng_cases(next_at) WHERE next_at IS NOT NULL;"
    "CREATE INDEX eng_cases_phone ON eng_cases(phone) WHERE phone <> '';"
    "CREATE INDEX eng_cases_email ON eng_cases(email) WHERE email <> '';"
    "CREATE TABLE eng_touches(id INTEGER PRIMARY KEY, case_id INTEGER NOT NULL, step INTEGER,"
    " stage TEXT, channel TEXT, kind TEXT, template_id TEXT, idem_key TEXT UNIQUE,"
    " status INTEGER, attempt INTEGER, provider_id TEXT, error_class INTEGER, error_code TEXT,"
    " address TEXT, why TEXT, created_at INTEGER, sent_at INTEGER, updated_at INTEGER);"
    "CREATE INDEX eng_touches_case ON eng_touches(case_id);"
    "CREATE INDEX eng_touches_pid ON eng_touches(channel, provider_id) WHERE provider_id <> '';"
    "CREATE INDEX eng_touches_status ON eng_touches(status) WHERE status IN (0, 1);"
    "CREATE TABLE eng_inbound(key TEXT PRIMARY KEY, at INTEGER) WITHOUT ROWID;"
    "CREATE TABLE eng_suppressed(kind TEXT, address TEXT, reason TEXT, at INTEGER,"
    " PRIMARY KEY(kind, address)) WITHOUT ROWID;"
    "CREATE TABLE eng_history(id INTEGER PRIMARY KEY, customer TEXT, order_id TEXT,"
    " event TEXT, amount_minor INTEGER, at INTEGER);"
    "CREATE INDEX eng_history_customer ON eng_history(customer, event);"
    "CREATE TABLE eng_actions(id INTEGER PRIMARY KEY, case_id INTEGER, who TEXT, what TEXT,"
    " arg TEXT, at INTEGER);"
    "CREATE INDEX eng_actions_case ON eng_actions(case_id);"};

const size_t dg_store_n_migrations = sizeof dg_store_migrations / sizeof dg_store_migrations[0];
