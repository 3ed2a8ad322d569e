#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "simchan.h"

typedef struct sim {
    const dg_host *host;
    dg_instance *inst;
    dg_simchan_fn fn;
    void *ud;
    uint64_t count;
} sim;

static int s_create(const dg_host *host, dg_instance *inst, void **self, char *err, size_t len)
{
    sim *s = calloc(1, sizeof *s);
    (void)err, (void)len;
    if (!s)
        return DG_ENOMEM;
    s->host = host;
    s->inst = inst;
    *self = s;
    return DG_OK;
}

static int s_start(void *self, char *err, size_t len)
{
    (void)self, (void)err, (void)len;
    return DG_OK;
}

static int s_stop(void *self, dg_op op)
{
    (void)self, (void)op;
    return DG_OK;
}

static void s_destroy(void *self)
{
    free(self);
}

static int s_send(void *self, const dg_outbound_message *m, dg_op op)
{
    sim *s = self;
    dg_result res;
    char pid[48];
    int rc = 0;
    DG_INIT(&res);
    snprintf(pid, sizeof pid, "sim-%lld-%d", (long long)m->touch_id, (int)m->attempt);
    res.provider_id = pid;
    if (s->fn)
        rc = s->fn(s->ud, s->inst, m, op, &res);
    if (rc < 0)
        return rc;
    if (rc == DG_PENDING)
        return DG_PENDING;
    if (res.status == DG_OK)
        s->count++;
    s->host->complete(s->inst, op, &res);
    return DG_PENDING;
}

static const dg_config_field s_schema[] = {{NULL, 0, 0, NULL, NULL, 0, 0, {0}}};

#define OPS(caps)                                                                                  \
    {                                                                                              \
        .struct_size = sizeof(dg_channel_ops), .capabilities = (caps), .create = s_create,         \
        .start = s_start, .stop = s_stop, .destroy = s_destroy, .send = s_send                     \
    }
#define DESC(nm, ops)                                                                              \
    {                                                                                              \
        .struct_size = sizeof(dg_plugin_descriptor), .abi_major = DG_ABI_MAJOR,                    \
        .abi_minor = DG_ABI_MINOR, .kind = DG_PLUGIN_CHANNEL, .name = nm, .version = "0",          \
        .description = "in-process simulated channel", .config_schema = s_schema, .channel = &ops  \
    }

static const dg_channel_ops wa_ops =
    OPS(DG_CAP_TEMPLATES | DG_CAP_PHONE | DG_CAP_SESSION_WINDOW | DG_CAP_DELIVERY_RECEIPTS |
        DG_CAP_READ_RECEIPTS | DG_CAP_INBOUND_REPLIES);
static const dg_channel_ops sms_ops =
    OPS(DG_CAP_PHONE | DG_CAP_DELIVERY_RECEIPTS | DG_CAP_INBOUND_REPLIES);
static const dg_channel_ops mail_ops = OPS(DG_CAP_EMAIL);
static const dg_plugin_descriptor wa_desc = DESC("sim_whatsapp", wa_ops);
static const dg_plugin_descriptor sms_desc = DESC("sim_sms", sms_ops);
static const dg_plugin_descriptor mail_desc = DESC("sim_email", mail_ops);

static dg_plugin wa_p, sms_p, mail_p;

static const dg_plugin *fill(dg_plugin *p, const dg_plugin_descriptor *d)
{
    if (!p->desc) {
        p->path = (char *)"(built in)";
        p->desc = d;
        p->channel = *d->channel;
    }
    return p;
}

const dg_plugin *dg_simchan_plugin(const char *kind)
{
    if (!kind)
        return NULL;
    if (strcmp(kind, "whatsapp") == 0)
        return fill(&wa_p, &wa_desc);
    if (strcmp(kind, "sms") == 0)
        return fill(&sms_p, &sms_desc);
    if (strcmp(kind, "email") == 0)
        return fill(&mail_p, &mail_desc);
    return NULL;
}

void dg_simchan_set_hook(dg_instance *inst, dg_simchan_fn fn, void *ud)
{
    sim *s = inst->self;
    s->fn = fn;
    s->ud = ud;
}

void dg_simchan_complete(dg_instance *inst, dg_op op, const dg_result *res)
{
    sim *s = inst->self;
    if (res && res->status == DG_OK)
        s->count++;
    s->host->complete(inst, op, res);
}

uint64_t dg_simchan_count(dg_instance *inst)
{
    return ((sim *)inst->self)->count;
}
