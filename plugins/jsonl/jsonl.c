/* jsonl: a channel that appends each outbound message as one JSON line to a
 * file instead of sending it. For dry runs ("what would go out tomorrow?"),
 * for the engine benchmark's no-op channel, and as the smallest complete
 * example of the channel contract. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>
#include <duegate/plugin.h>

typedef struct jsonl {
    const dg_host *host;
    dg_instance *inst;
    const char *path; /* owned by the host (config) */
    int do_fsync;
    FILE *f;
    uint64_t seq;
} jsonl;

static int jl_create(const dg_host *host, dg_instance *inst, void **self, char *err, size_t len)
{
    jsonl *j = calloc(1, sizeof *j);
    if (!j) {
        snprintf(err, len, "out of memory");
        return DG_ENOMEM;
    }
    j->host = host;
    j->inst = inst;
    j->path = host->config_string(inst, "path");
    host->config_bool(inst, "flush", &j->do_fsync);
    *self = j;
    return DG_OK;
}

static int jl_start(void *self, char *err, size_t len)
{
    jsonl *j = self;
    j->f = fopen(j->path, "a");
    if (!j->f) {
        snprintf(err, len, "cannot open %s: %s", j->path, strerror(errno));
        return DG_EIO;
    }
    return DG_OK;
}

static int jl_stop(void *self, dg_op op)
{
    jsonl *j = self;
    (void)op;
    if (j->f)
        fclose(j->f);
    j->f = NULL;
    return DG_OK; /* sends complete synchronously: nothing to drain */
}

static void jl_destroy(void *self) { free(self); }

static void add_str(cJSON *o, const char *k, const char *v)
{
    if (v)
        cJSON_AddStringToObject(o, k, v);
}

static int jl_send(void *self, const dg_outbound_message *m, dg_op op)
{
    jsonl *j = self;
    cJSON *o = cJSON_CreateObject();
    char *line = NULL, id[64];
    dg_result res;
    DG_INIT(&res);
    if (!o)
        return DG_ENOMEM;
    cJSON_AddNumberToObject(o, "at", (double)j->host->now_ms(j->inst));
    cJSON_AddNumberToObject(o, "case_id", (double)m->case_id);
    cJSON_AddNumberToObject(o, "touch_id", (double)m->touch_id);
    cJSON_AddNumberToObject(o, "step", m->step);
    add_str(o, "stage", m->stage);
    add_str(o, "template", m->template_id);
    add_str(o, "locale", m->locale);
    add_str(o, "to_phone", m->to_phone);
    add_str(o, "to_email", m->to_email);
    add_str(o, "subject", m->subject);
    add_str(o, "text", m->text);
    add_str(o, "idempotency_key", m->idempotency_key);
    line = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    if (!line)
        return DG_ENOMEM;
    if (fprintf(j->f, "%s\n", line) < 0 || fflush(j->f) != 0) {
        res.status = DG_EIO;
        res.error_class = DG_ERRC_RETRYABLE;
        res.error_message = "cannot write the outbox file";
    } else {
        snprintf(id, sizeof id, "jsonl-%llu", (unsigned long long)++j->seq);
        res.provider_id = id;
    }
    free(line);
    j->host->complete(j->inst, op, &res);
    return DG_PENDING;
}

static const dg_config_field jl_schema[] = {
    {"path", DG_CFG_STRING, DG_CFGF_REQUIRED, NULL, "file the messages are appended to", 0, 0,
     {0}},
    {"flush", DG_CFG_BOOL, 0, "true", "flush after every message", 0, 0, {0}},
    {NULL, 0, 0, NULL, NULL, 0, 0, {0}}};

static const dg_channel_ops jl_ops = {
    .struct_size = sizeof(dg_channel_ops),
    .capabilities = DG_CAP_PHONE | DG_CAP_EMAIL,
    .create = jl_create,
    .start = jl_start,
    .stop = jl_stop,
    .destroy = jl_destroy,
    .send = jl_send,
};

static const dg_plugin_descriptor jl_desc = {
    .struct_size = sizeof(dg_plugin_descriptor),
    .abi_major = DG_ABI_MAJOR,
    .abi_minor = DG_ABI_MINOR,
    .kind = DG_PLUGIN_CHANNEL,
    .name = "jsonl",
    .version = "1.0.0",
    .description = "appends each message to a JSON-lines file (dry runs)",
    .config_schema = jl_schema,
    .channel = &jl_ops,
};

DG_PLUGIN_DEFINE(jsonl, jl_desc)
