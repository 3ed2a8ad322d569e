/* One source, many deliberately good or broken plugins for the loader and
 * instance tests. Each build defines MODULE (the file's base name) and the
 * FAKE_* switches below. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <duegate/plugin.h>

#ifndef FAKE_MAJOR
#define FAKE_MAJOR DG_ABI_MAJOR
#endif
#ifndef FAKE_MINOR
#define FAKE_MINOR DG_ABI_MINOR
#endif
#ifndef FAKE_DESC_SIZE
#define FAKE_DESC_SIZE sizeof(dg_plugin_descriptor)
#endif

#ifdef FAKE_UNDEFINED
extern int dg_fake_symbol_that_does_not_exist(void);
#endif

typedef struct fake {
    const dg_host *host;
    dg_instance *inst;
    dg_op pending[64];
    int n_pending;
    dg_timer *drain;
    dg_op stop_op;
} fake;

static int f_create(const dg_host *host, dg_instance *inst, void **self, char *err, size_t len)
{
    fake *f;
    const char *refuse = host->config_string(inst, "refuse");
#ifdef FAKE_UNDEFINED
    if (refuse && strcmp(refuse, "never") == 0)
        dg_fake_symbol_that_does_not_exist();
#endif
    if (refuse) {
        snprintf(err, len, "refused: %s", refuse);
        return DG_ECONFIG;
    }
    f = calloc(1, sizeof *f);
    if (!f)
        return DG_ENOMEM;
    f->host = host;
    f->inst = inst;
    *self = f;
    return DG_OK;
}

static int f_start(void *self, char *err, size_t len)
{
    (void)self, (void)err, (void)len;
    return DG_OK;
}

/* Complete every parked op, then the stop op if stopping. */
static void drain_cb(void *ud)
{
    fake *f = ud;
    dg_result res;
    DG_INIT(&res);
    res.provider_id = "fake-async";
    for (int i = 0; i < f->n_pending; i++)
        f->host->complete(f->inst, f->pending[i], &res);
    f->n_pending = 0;
    f->drain = NULL;
    if (f->stop_op)
        f->host->complete(f->inst, f->stop_op, NULL);
}

static int f_stop(void *self, dg_op op)
{
    fake *f = self;
    int64_t delay = 0;
    if (f->host->config_int(f->inst, "drain_ms", &delay) != 0 || f->n_pending == 0)
        return DG_OK;
    f->stop_op = op;
    if (!f->drain)
        f->drain = f->host->timer_start(f->inst, delay, 0, drain_cb, f);
    return DG_PENDING;
}

static void f_destroy(void *self) { free(self); }

static int f_send(void *self, const dg_outbound_message *m, dg_op op)
{
    fake *f = self;
    dg_result res;
    int64_t delay = 0;
    DG_INIT(&res);
    if (m->to_phone && strcmp(m->to_phone, "+10000000000") == 0)
        return DG_EINVAL; /* refused synchronously, never completed */
    if (f->host->config_int(f->inst, "async_ms", &delay) == 0 && delay > 0 && f->n_pending < 64) {
        f->pending[f->n_pending++] = op;
        if (!f->drain)
            f->drain = f->host->timer_start(f->inst, delay, 0, drain_cb, f);
        return DG_PENDING;
    }
    if (m->to_phone && strcmp(m->to_phone, "+19999999999") == 0) {
        res.status = DG_EIO;
        res.error_class = DG_ERRC_PERMANENT;
        res.error_code = "not-a-user";
    } else {
        res.provider_id = "fake-1";
    }
    f->host->complete(f->inst, op, &res);
#ifdef FAKE_DOUBLE_COMPLETE
    f->host->complete(f->inst, op, &res);
#endif
    return DG_PENDING;
}

static int f_backfill(void *self, dg_op op)
{
    fake *f = self;
    dg_order_event ev;
    DG_INIT(&ev);
    ev.kind = DG_ORDER_UPSERT;
    ev.order_id = "820982911946154508";
    ev.order_name = "#1001";
    f->host->emit_order(f->inst, &ev, NULL, NULL);
    f->host->complete(f->inst, op, NULL);
    return DG_PENDING;
}

static const dg_config_field f_schema[] = {
    {"refuse", DG_CFG_STRING, 0, NULL, "make create fail with this reason", 0, 0, {0}},
    {"async_ms", DG_CFG_INT, 0, "0", "complete sends after this delay", 0, 60000, {0}},
    {"drain_ms", DG_CFG_INT, 0, NULL, "drain on stop for this long", 0, 60000, {0}},
    {"token", DG_CFG_STRING, DG_CFGF_SECRET, NULL, "a secret", 0, 0, {0}},
    {"labels", DG_CFG_STRING_LIST, 0, NULL, "a list", 0, 0, {0}},
    {"ratio", DG_CFG_DOUBLE, 0, "0.5", "a number", 0, 0, {0}},
    {"extra", DG_CFG_OBJECT, 0, NULL, "an object", 0, 0, {0}},
    {NULL, 0, 0, NULL, NULL, 0, 0, {0}}};

#ifdef FAKE_STORE
static const dg_store_ops f_store_ops = {
    .struct_size = sizeof(dg_store_ops),
    .create = f_create,
    .start = f_start,
    .stop = f_stop,
    .destroy = f_destroy,
    .backfill = f_backfill,
};
#else
static const dg_channel_ops f_ops = {
    .struct_size = sizeof(dg_channel_ops),
    .capabilities = DG_CAP_DELIVERY_RECEIPTS | DG_CAP_PHONE,
    .create = f_create,
    .start = f_start,
    .stop = f_stop,
    .destroy = f_destroy,
#ifndef FAKE_NO_SEND
    .send = f_send,
#endif
};
#endif

#define STR2(x) #x
#define STR(x) STR2(x)

static const dg_plugin_descriptor f_desc = {
    .struct_size = FAKE_DESC_SIZE,
    .abi_major = FAKE_MAJOR,
    .abi_minor = FAKE_MINOR,
#ifdef FAKE_STORE
    .kind = DG_PLUGIN_STORE,
    .store = &f_store_ops,
#else
    .kind = DG_PLUGIN_CHANNEL,
    .channel = &f_ops,
#endif
#ifdef FAKE_NAME_OVERRIDE
    .name = FAKE_NAME_OVERRIDE,
#else
    .name = STR(MODULE),
#endif
    .version = "0.0.1",
    .description = "test plugin",
    .config_schema = f_schema,
};

/* Unused-function guard for variants that do not reference every op. */
void *fake_keep_refs(int which);
void *fake_keep_refs(int which)
{
    return which ? (void *)(uintptr_t)f_send : (void *)(uintptr_t)f_backfill;
}

#ifndef FAKE_NO_ENTRY
#define DEFINE2(m, d) DG_PLUGIN_DEFINE(m, d)
DEFINE2(MODULE, f_desc)
#else
const dg_plugin_descriptor *not_the_entry(void);
__attribute__((visibility("default"))) const dg_plugin_descriptor *not_the_entry(void)
{
    return &f_desc;
}
#endif
