/* Engine test fixture: manual clock, SQLite store, three simulated channel
 * instances (wa, sms, email), an in-process store plugin and a recording
 * renderer. Header-only: included by each engine test file. */
#ifndef DG_TEST_EFIX_H
#define DG_TEST_EFIX_H

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "engine.h"
#include "error.h"
#include "instance.h"
#include "log.h"
#include "simchan.h"
#include "tz.h"

#define H 3600000LL
#define M 60000LL
#define D 86400000LL

typedef struct sent {
    int64_t at, case_id, touch_id;
    int attempt;
    char channel[16], tmpl[64], to[64], stage[32];
} sent;

typedef struct efix {
    dg_runtime rt;
    dg_db *db;
    dg_store *st;
    dg_engine *e;
    dg_engine_cfg cfg;
    dg_instance *wa, *sms, *email, *shop;
    sent log[4096];
    int n_log;
    /* channel behaviour */
    int wa_permanent;  /* wa fails permanently (not a WhatsApp user) */
    int sms_retryable; /* sms always fails retryably */
    int64_t sms_retry_after;
    int async; /* sends stay pending (op kept in pend) */
    dg_op pend[64];
    dg_instance *pend_inst[64];
    int n_pend;
    /* store behaviour on re-read: 1 emits PAID, 0 emits nothing */
    int reread_paid;
    int rereads, cancels;
    char last_coupon[64], last_segment[24];
    char dbpath[128];
} efix;

static inline int fx_render(void *ud, const char *id, const char *kind, const dg_msg_facts *f,
                            dg_rendered *out, char *err, size_t len)
{
    char buf[256];
    efix *fx = ud;
    (void)err, (void)len;
    if (fx) {
        snprintf(fx->last_coupon, sizeof fx->last_coupon, "%s", f->coupon ? f->coupon : "");
        snprintf(fx->last_segment, sizeof fx->last_segment, "%s", f->segment ? f->segment : "");
    }
    snprintf(buf, sizeof buf, "%s|%s|%s|%lld", id, kind, f->order_name, (long long)f->amount_minor);
    out->text = strdup(buf);
    out->locale = strdup(f->locale ? f->locale : "en");
    if (strcmp(kind, "whatsapp") == 0)
        out->wa_template_name = strdup(id);
    return 0;
}

static inline int fx_hook(void *ud, dg_instance *inst, const dg_outbound_message *m, dg_op op,
                          dg_result *res)
{
    efix *f = ud;
    sent *s = &f->log[f->n_log < 4095 ? f->n_log++ : 4095];
    s->at = dg_clock_now(f->rt.clock);
    s->case_id = m->case_id;
    s->touch_id = m->touch_id;
    s->attempt = m->attempt;
    snprintf(s->channel, sizeof s->channel, "%s", inst->name);
    snprintf(s->tmpl, sizeof s->tmpl, "%s", m->template_id);
    snprintf(s->to, sizeof s->to, "%s", m->to_phone ? m->to_phone : m->to_email);
    snprintf(s->stage, sizeof s->stage, "%s", m->stage);
    if (inst == f->wa && f->wa_permanent) {
        res->status = DG_EIO;
        res->error_class = DG_ERRC_PERMANENT;
        res->error_code = "131026";
        return 0;
    }
    if (inst == f->sms && f->sms_retryable) {
        res->status = DG_EIO;
        res->error_class = DG_ERRC_RETRYABLE;
        res->retry_after_ms = f->sms_retry_after;
        res->error_code = "429";
        return 0;
    }
    if (f->async && f->n_pend < 64) {
        f->pend[f->n_pend] = op;
        f->pend_inst[f->n_pend++] = inst;
        return DG_PENDING;
    }
    return 0;
}

/* ---- a store plugin in the test: re-read emits PAID when asked to */
typedef struct fstore {
    const dg_host *host;
    dg_instance *inst;
    efix *f;
} fstore;

static efix *g_fx; /* the store plugin reaches the fixture through it */

static int fs_create(const dg_host *h, dg_instance *inst, void **self, char *err, size_t len)
{
    fstore *s = calloc(1, sizeof *s);
    (void)err, (void)len;
    s->host = h;
    s->inst = inst;
    s->f = g_fx;
    *self = s;
    return 0;
}
static int fs_start(void *self, char *err, size_t len)
{
    (void)self, (void)err, (void)len;
    return 0;
}
static int fs_stop(void *self, dg_op op)
{
    (void)self, (void)op;
    return 0;
}
static void fs_destroy(void *self)
{
    free(self);
}
static int fs_backfill(void *self, dg_op op)
{
    fstore *s = self;
    s->host->complete(s->inst, op, NULL);
    return DG_PENDING;
}
static int fs_act(void *self, const dg_store_action *a, dg_op op)
{
    fstore *s = self;
    s->f->rereads += a->kind == DG_ACT_REREAD_ORDER;
    s->f->cancels += a->kind == DG_ACT_CANCEL_ORDER;
    if (a->kind == DG_ACT_REREAD_ORDER && s->f->reread_paid) {
        dg_order_event ev;
        DG_INIT(&ev);
        ev.kind = DG_ORDER_PAID;
        ev.order_id = a->order_id;
        s->host->emit_order(s->inst, &ev, NULL, NULL);
    }
    s->host->complete(s->inst, op, NULL);
    return DG_PENDING;
}
static const dg_config_field fs_schema[] = {{NULL, 0, 0, NULL, NULL, 0, 0, {0}}};
static const dg_store_ops fs_ops = {.struct_size = sizeof(dg_store_ops),
                                    .create = fs_create,
                                    .start = fs_start,
                                    .stop = fs_stop,
                                    .destroy = fs_destroy,
                                    .backfill = fs_backfill,
                                    .act = fs_act};
static const dg_plugin_descriptor fs_desc = {.struct_size = sizeof(dg_plugin_descriptor),
                                             .abi_major = DG_ABI_MAJOR,
                                             .abi_minor = DG_ABI_MINOR,
                                             .kind = DG_PLUGIN_STORE,
                                             .name = "test_store",
                                             .version = "0",
                                             .description = "test store",
                                             .config_schema = fs_schema,
                                             .store = &fs_ops};
static dg_plugin fs_plugin;

static inline dg_instance *fx_inst(efix *f, const char *name, const dg_plugin *p)
{
    dg_instance *i;
    char err[256];
    assert_int_equal(
        dg_instance_create_json(&f->rt, name, p, cJSON_CreateObject(), &i, err, sizeof err), 0);
    assert_int_equal(dg_instance_start(i, err, sizeof err), 0);
    if (p->desc->kind == DG_PLUGIN_CHANNEL)
        dg_simchan_set_hook(i, fx_hook, f);
    return i;
}

static inline void fx_engine(efix *f)
{
    dg_engine_opts o;
    char err[256];
    memset(&o, 0, sizeof o);
    o.rt = &f->rt;
    o.store = f->st;
    o.cfg = &f->cfg;
    o.render = fx_render;
    o.render_ud = f;
    o.seed = 42;
    assert_int_equal(dg_engine_new(&o, &f->e, err, sizeof err), 0);
    f->rt.sink = dg_engine_sink(f->e);
    assert_int_equal(dg_engine_start(f->e), 0);
}

/* start: UTC ms of the manual clock; path NULL: in-memory database. */
static inline efix *fx_new(int64_t start, const char *path)
{
    efix *f = calloc(1, sizeof *f);
    char err[256];
    g_fx = f;
    dg_log_set_level(DG_LOG_ERROR);
    assert_int_equal(dg_runtime_init(&f->rt), 0);
    f->rt.clock = dg_clock_new(NULL, DG_CLOCK_MANUAL, start, 1);
    snprintf(f->dbpath, sizeof f->dbpath, "%s", path ? path : ":memory:");
    assert_int_equal(dg_db_open(f->dbpath, 1, &f->db, err, sizeof err), 0);
    f->rt.db = f->db;
    assert_int_equal(dg_store_sqlite_open(f->db, &f->st, err, sizeof err), 0);
    assert_int_equal(dg_engine_cfg_load(NULL, &f->cfg, err, sizeof err), 0);
    if (!fs_plugin.desc) {
        fs_plugin.path = (char *)"(test)";
        fs_plugin.desc = &fs_desc;
        fs_plugin.store = fs_ops;
    }
    f->wa = fx_inst(f, "wa", dg_simchan_plugin("whatsapp"));
    f->sms = fx_inst(f, "sms", dg_simchan_plugin("sms"));
    f->email = fx_inst(f, "email", dg_simchan_plugin("email"));
    f->shop = fx_inst(f, "shop", &fs_plugin);
    return f;
}

static inline void fx_free(efix *f)
{
    while (f->rt.instances)
        dg_instance_destroy(f->rt.instances);
    dg_engine_free(f->e);
    f->st->vt->close(f->st);
    dg_db_close(f->db);
    dg_clock_free(f->rt.clock);
    dg_runtime_cleanup(&f->rt);
    free(f);
}

/* An order event with a customer; fields the test does not set are sane. */
static inline void fx_order(efix *f, const char *oid, int flow, int64_t due_or_close,
                            const char *phone, const char *country, const char *province,
                            const char *tz, int64_t amount)
{
    dg_order_event ev;
    DG_INIT(&ev);
    DG_INIT(&ev.customer);
    ev.kind = DG_ORDER_UPSERT;
    ev.flow = flow;
    ev.store = "shop";
    ev.order_id = oid;
    ev.order_name = oid;
    ev.customer.id = oid; /* one customer per order unless a test says otherwise */
    ev.customer.first_name = "Ana";
    ev.customer.phone = phone;
    ev.customer.email = "ana@example.com";
    ev.customer.country = country;
    ev.customer.province = province;
    ev.customer.tz_hint = tz;
    ev.customer.orders_count = -1;
    ev.customer.paid_orders_count = -1;
    ev.amount_owed_minor = amount;
    ev.currency = "USD";
    ev.created_at = dg_clock_now(f->rt.clock);
    if (flow == DG_FLOW_PRESALE_BALANCE)
        ev.due_at = due_or_close;
    else
        ev.close_at = due_or_close;
    ev.pay_link = "https://pay.example.com/x";
    ev.updated_at = dg_clock_now(f->rt.clock);
    assert_int_equal(dg_engine_order(f->e, f->shop, &ev), DG_OK);
}

static inline void fx_paid(efix *f, const char *oid)
{
    dg_order_event ev;
    DG_INIT(&ev);
    ev.kind = DG_ORDER_PAID;
    ev.store = "shop";
    ev.order_id = oid;
    assert_int_equal(dg_engine_order(f->e, f->shop, &ev), DG_OK);
}

static inline dg_case fx_case(efix *f, const char *oid)
{
    dg_case c;
    assert_int_equal(f->st->vt->case_by_order(f->st, "shop", oid, &c), 0);
    return c;
}

static inline void fx_run(efix *f, int64_t until)
{
    dg_clock_advance_to(f->rt.clock, until);
}

static inline int fx_local_minute(const char *zone, int64_t t)
{
    int h, m;
    assert_int_equal(dg_tz_local(zone, t, NULL, NULL, NULL, &h, &m), 0);
    return h * 60 + m;
}

static inline void fx_reply(efix *f, dg_instance *inst, const char *addr, const char *text,
                            const char *payload)
{
    dg_channel_event ev;
    DG_INIT(&ev);
    ev.kind = DG_CHEV_REPLIED;
    ev.channel = inst->name;
    ev.address = addr;
    ev.text = text;
    ev.payload = payload;
    assert_int_equal(dg_engine_channel(f->e, inst, &ev), DG_OK);
}

#endif
