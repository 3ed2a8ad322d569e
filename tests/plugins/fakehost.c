#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "clock.h"
#include "crypto.h"
#include "error.h"
#include "fakehost.h"
#include "form.h"

#include "fakehost_int.h"

/* ------------------------------------------------------------ basics */

static void f_log(dg_instance *inst, dg_log_level level, const char *event, const dg_kv *kv,
                  size_t n)
{
    fh *h = H(inst);
    char line[2048];
    size_t o = 0;
    if (h->n_logs < MAXN) {
        h->logs[h->n_logs].level = level;
        snprintf(h->logs[h->n_logs].event, sizeof h->logs[0].event, "%s", event ? event : "");
        h->n_logs++;
    }
    /* What the real logger would print (with masking) goes into logtext. */
    o += (size_t)snprintf(line + o, sizeof line - o, "%s", event ? event : "");
    for (size_t i = 0; i < n && o < sizeof line; i++) {
        const char *v = kv[i].value ? kv[i].value : "";
        char masked[256];
        if (kv[i].flags == DG_KV_SECRET)
            v = "[redacted]";
        else if (kv[i].flags == DG_KV_PHONE || kv[i].flags == DG_KV_EMAIL ||
                 kv[i].flags == DG_KV_TEXT) {
            snprintf(masked, sizeof masked, "[masked]");
            v = masked;
        }
        o += (size_t)snprintf(line + o, sizeof line - o, " %s=%s", kv[i].key, v);
    }
    if (o >= sizeof line)
        o = sizeof line - 1;
    char *t = realloc(h->logtext, h->logtext_len + o + 2);
    if (!t)
        return;
    h->logtext = t;
    memcpy(h->logtext + h->logtext_len, line, o);
    h->logtext_len += o;
    h->logtext[h->logtext_len++] = '\n';
    h->logtext[h->logtext_len] = '\0';
}

static const char *f_instance_name(dg_instance *inst) { return H(inst)->name; }

static const cJSON *item(dg_instance *inst, const char *key)
{
    return cJSON_GetObjectItemCaseSensitive(H(inst)->conf, key);
}

static const char *f_config_string(dg_instance *inst, const char *key)
{
    const cJSON *v = item(inst, key);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

static int f_config_int(dg_instance *inst, const char *key, int64_t *out)
{
    const cJSON *v = item(inst, key);
    if (!v)
        return DG_ENOTFOUND;
    if (!cJSON_IsNumber(v))
        return DG_EINVAL;
    *out = (int64_t)v->valuedouble;
    return 0;
}

static int f_config_bool(dg_instance *inst, const char *key, int *out)
{
    const cJSON *v = item(inst, key);
    if (!v)
        return DG_ENOTFOUND;
    if (!cJSON_IsBool(v))
        return DG_EINVAL;
    *out = cJSON_IsTrue(v);
    return 0;
}

static int f_config_double(dg_instance *inst, const char *key, double *out)
{
    const cJSON *v = item(inst, key);
    if (!v)
        return DG_ENOTFOUND;
    if (!cJSON_IsNumber(v))
        return DG_EINVAL;
    *out = v->valuedouble;
    return 0;
}

static size_t f_config_array_len(dg_instance *inst, const char *key)
{
    const cJSON *v = item(inst, key);
    return cJSON_IsArray(v) ? (size_t)cJSON_GetArraySize(v) : 0;
}

static const char *f_config_array_string(dg_instance *inst, const char *key, size_t i)
{
    const cJSON *e = cJSON_GetArrayItem(item(inst, key), (int)i);
    return cJSON_IsString(e) ? e->valuestring : NULL;
}

static const char *f_config_json(dg_instance *inst, const char *key)
{
    fh *h = H(inst);
    const cJSON *v = item(inst, key);
    if (!v || h->n_json_cache >= 64)
        return NULL;
    h->json_cache[h->n_json_cache] = cJSON_PrintUnformatted(v);
    return h->json_cache[h->n_json_cache++];
}

static const char *f_public_url(dg_instance *inst)
{
    const char *u = f_config_string(inst, "__public_url");
    return u ? u : "https://dunning.example.test";
}

static void f_complete(dg_instance *inst, dg_op op, const dg_result *res)
{
    fh *h = H(inst);
    fh_completion *c;
    if (fh_completion_for(h, op)) {
        h->n_double++;
        return;
    }
    if (h->n_done >= MAXN)
        return;
    c = &h->done[h->n_done++];
    memset(c, 0, sizeof *c);
    c->op = op;
    if (res) {
        c->status = res->status;
        c->error_class = res->error_class;
        c->retry_after_ms = res->retry_after_ms;
        snprintf(c->provider_id, sizeof c->provider_id, "%s",
                 res->provider_id ? res->provider_id : "");
        snprintf(c->error_code, sizeof c->error_code, "%s", res->error_code ? res->error_code : "");
        snprintf(c->error_message, sizeof c->error_message, "%s",
                 res->error_message ? res->error_message : "");
    }
}

static int64_t f_now(dg_instance *inst) { return dg_clock_now(H(inst)->clock); }

/* Timers reuse the core's manual clock. */
static dg_timer *f_timer_start(dg_instance *inst, int64_t delay, int64_t repeat, dg_timer_cb cb,
                               void *ud)
{
    return (dg_timer *)dg_ctimer_start(H(inst)->clock, delay, repeat, cb, ud);
}

static void f_timer_stop(dg_timer *t) { dg_ctimer_stop((dg_ctimer *)t); }

/* ------------------------------------------------------------ events */

static void put_str(cJSON *o, const char *k, const char *v)
{
    if (v)
        cJSON_AddStringToObject(o, k, v);
    else
        cJSON_AddNullToObject(o, k);
}

static int f_emit_order(dg_instance *inst, const dg_order_event *ev, dg_emit_done_cb done,
                        void *ud)
{
    fh *h = H(inst);
    cJSON *o = cJSON_CreateObject(), *c, *items, *tags;
    (void)done, (void)ud;
    cJSON_AddNumberToObject(o, "kind", ev->kind);
    cJSON_AddNumberToObject(o, "flow", ev->flow);
    put_str(o, "order_id", ev->order_id);
    put_str(o, "order_name", ev->order_name);
    c = cJSON_AddObjectToObject(o, "customer");
    put_str(c, "id", ev->customer.id);
    put_str(c, "first_name", ev->customer.first_name);
    put_str(c, "last_name", ev->customer.last_name);
    put_str(c, "phone", ev->customer.phone);
    put_str(c, "email", ev->customer.email);
    put_str(c, "locale", ev->customer.locale);
    put_str(c, "tz_hint", ev->customer.tz_hint);
    put_str(c, "country", ev->customer.country);
    put_str(c, "province", ev->customer.province);
    cJSON_AddNumberToObject(c, "orders_count", ev->customer.orders_count);
    cJSON_AddNumberToObject(c, "paid_orders_count", ev->customer.paid_orders_count);
    cJSON_AddNumberToObject(o, "amount_owed_minor", (double)ev->amount_owed_minor);
    cJSON_AddNumberToObject(o, "order_total_minor", (double)ev->order_total_minor);
    put_str(o, "currency", ev->currency);
    cJSON_AddNumberToObject(o, "due_at", (double)ev->due_at);
    cJSON_AddNumberToObject(o, "created_at", (double)ev->created_at);
    cJSON_AddNumberToObject(o, "close_at", (double)ev->close_at);
    cJSON_AddNumberToObject(o, "updated_at", (double)ev->updated_at);
    put_str(o, "pay_link", ev->pay_link);
    put_str(o, "items_summary", ev->items_summary);
    items = cJSON_AddArrayToObject(o, "items");
    for (size_t i = 0; i < ev->n_items; i++) {
        cJSON *it = cJSON_CreateObject();
        put_str(it, "title", ev->items[i].title);
        put_str(it, "variant", ev->items[i].variant);
        put_str(it, "sku", ev->items[i].sku);
        cJSON_AddNumberToObject(it, "quantity", ev->items[i].quantity);
        cJSON_AddNumberToObject(it, "unit_price_minor", (double)ev->items[i].unit_price_minor);
        cJSON_AddItemToArray(items, it);
    }
    tags = cJSON_AddArrayToObject(o, "tags");
    for (size_t i = 0; i < ev->n_tags; i++)
        cJSON_AddItemToArray(tags, cJSON_CreateString(ev->tags[i]));
    cJSON_AddNumberToObject(o, "segment_hints", ev->segment_hints);
    put_str(o, "dedupe_key", ev->dedupe_key);
    cJSON_AddItemToArray(h->orders, o);
    return h->emit_rc;
}

static int f_emit_event(dg_instance *inst, const dg_channel_event *ev, dg_emit_done_cb done,
                        void *ud)
{
    fh *h = H(inst);
    cJSON *o = cJSON_CreateObject();
    (void)done, (void)ud;
    cJSON_AddNumberToObject(o, "kind", ev->kind);
    put_str(o, "provider_message_id", ev->provider_message_id);
    cJSON_AddNumberToObject(o, "touch_id", (double)ev->touch_id);
    put_str(o, "address", ev->address);
    put_str(o, "text", ev->text);
    put_str(o, "payload", ev->payload);
    cJSON_AddNumberToObject(o, "error_class", ev->error_class);
    put_str(o, "error_code", ev->error_code);
    put_str(o, "error_message", ev->error_message);
    cJSON_AddNumberToObject(o, "retry_after_ms", (double)ev->retry_after_ms);
    cJSON_AddNumberToObject(o, "occurred_at", (double)ev->occurred_at);
    put_str(o, "dedupe_key", ev->dedupe_key);
    cJSON_AddItemToArray(h->events, o);
    return h->emit_rc;
}

/* ------------------------------------------------------------- state */

static kvent *kv_find(fh *h, const char *key)
{
    for (size_t i = 0; i < h->n_kv; i++)
        if (strcmp(h->kv[i].key, key) == 0)
            return &h->kv[i];
    return NULL;
}

static int f_state_get(dg_instance *inst, const char *key, char **value, size_t *len)
{
    fh *h = H(inst);
    kvent *e = kv_find(h, key);
    if (!e || (e->expires && e->expires <= dg_clock_now(h->clock)))
        return DG_ENOTFOUND;
    *value = malloc(e->len + 1);
    if (!*value)
        return DG_ENOMEM;
    memcpy(*value, e->value, e->len + 1);
    if (len)
        *len = e->len;
    return 0;
}

static int f_state_put(dg_instance *inst, const char *key, const void *value, size_t len,
                       int64_t ttl)
{
    fh *h = H(inst);
    kvent *e = kv_find(h, key);
    if (!e) {
        if (h->n_kv >= 256)
            return DG_ENOMEM;
        e = &h->kv[h->n_kv++];
        e->key = strdup(key);
    } else {
        free(e->value);
    }
    e->value = malloc(len + 1);
    memcpy(e->value, value, len);
    e->value[len] = '\0';
    e->len = len;
    e->expires = ttl > 0 ? dg_clock_now(h->clock) + ttl : 0;
    return 0;
}

static int f_state_del(dg_instance *inst, const char *key)
{
    fh *h = H(inst);
    kvent *e = kv_find(h, key);
    if (!e)
        return DG_ENOTFOUND;
    free(e->key);
    free(e->value);
    *e = h->kv[--h->n_kv];
    return 0;
}

static void f_free(void *p) { free(p); }

static void metric_sum(dg_instance *inst, const char *name, double v, int set)
{
    fh *h = H(inst);
    cJSON *m = cJSON_GetObjectItemCaseSensitive(h->metrics, name);
    if (!m)
        cJSON_AddNumberToObject(h->metrics, name, v);
    else
        cJSON_SetNumberValue(m, set ? v : m->valuedouble + v);
}

static void f_metric_add(dg_instance *i, const char *n, const dg_kv *l, size_t k, double d)
{
    (void)l, (void)k;
    metric_sum(i, n, d, 0);
}
static void f_metric_set(dg_instance *i, const char *n, const dg_kv *l, size_t k, double d)
{
    (void)l, (void)k;
    metric_sum(i, n, d, 1);
}
static void f_metric_observe(dg_instance *i, const char *n, const dg_kv *l, size_t k, double d)
{
    (void)l, (void)k, (void)d;
    metric_sum(i, n, 1, 0);
}

static void f_set_health(dg_instance *inst, int healthy, const char *reason)
{
    fh *h = H(inst);
    h->healthy = healthy;
    snprintf(h->reason, sizeof h->reason, "%s", reason ? reason : "");
}

/* ------------------------------------------------------- inbound HTTP */

static int f_route(dg_instance *inst, const char *method, const char *path, dg_http_handler hd,
                   void *ud)
{
    fh *h = H(inst);
    for (size_t i = 0; i < h->n_routes; i++)
        if (strcmp(h->routes[i].method, method) == 0 && strcmp(h->routes[i].path, path) == 0)
            return DG_EEXIST;
    if (h->n_routes >= 64)
        return DG_ENOMEM;
    h->routes[h->n_routes].method = strdup(method);
    h->routes[h->n_routes].path = strdup(path);
    h->routes[h->n_routes].handler = hd;
    h->routes[h->n_routes].ud = ud;
    h->n_routes++;
    return 0;
}

static const char *f_req_method(dg_http_req *r) { return r->method; }
static const char *f_req_path(dg_http_req *r) { return r->path; }
static const char *f_req_query(dg_http_req *r) { return r->query; }
static const char *f_req_header(dg_http_req *r, const char *name)
{
    const cJSON *p;
    cJSON_ArrayForEach(p, r->headers)
    {
        const cJSON *n = cJSON_GetArrayItem(p, 0), *v = cJSON_GetArrayItem(p, 1);
        if (strcasecmp(n->valuestring, name) == 0)
            return v->valuestring;
    }
    return NULL;
}
static const void *f_req_body(dg_http_req *r, size_t *len)
{
    if (len)
        *len = r->body_len;
    return r->body;
}

static int f_respond(dg_http_req *r, int status, const dg_kv *headers, size_t n, const void *body,
                     size_t len)
{
    if (r->answered) {
        r->h->n_double++;
        return DG_ESTATE;
    }
    r->answered = 1;
    r->resp.status = status;
    r->resp.headers = cJSON_CreateObject();
    for (size_t i = 0; i < n; i++) {
        cJSON_AddStringToObject(r->resp.headers, headers[i].key, headers[i].value);
        if (strcasecmp(headers[i].key, "Content-Type") == 0)
            snprintf(r->resp.content_type, sizeof r->resp.content_type, "%s", headers[i].value);
    }
    r->resp.body = malloc(len + 1);
    if (len)
        memcpy(r->resp.body, body, len);
    r->resp.body[len] = '\0';
    r->resp.body_len = len;
    return 0;
}

static void req_free(dg_http_req *r)
{
    if (!r)
        return;
    free(r->method);
    free(r->path);
    free(r->query);
    free(r->body);
    cJSON_Delete(r->headers);
    free(r);
}

typedef struct keep {
    char *body;
    cJSON *headers;
    struct keep *next;
} keep;
static keep *g_keep;

int fh_request(fh *h, const char *method, const char *path, const char *query,
               const char *const *headers, const void *body, size_t len, fh_response *out)
{
    route *rt = NULL;
    dg_http_req *r;
    for (size_t i = 0; i < h->n_routes; i++)
        if (strcmp(h->routes[i].method, method) == 0 && strcmp(h->routes[i].path, path) == 0)
            rt = &h->routes[i];
    if (!rt)
        return DG_ENOTFOUND;
    r = calloc(1, sizeof *r);
    r->h = h;
    r->method = strdup(method);
    r->path = strdup(path);
    r->query = strdup(query ? query : "");
    r->headers = cJSON_CreateArray();
    for (size_t i = 0; headers && headers[i]; i += 2) {
        cJSON *p = cJSON_CreateArray();
        cJSON_AddItemToArray(p, cJSON_CreateString(headers[i]));
        cJSON_AddItemToArray(p, cJSON_CreateString(headers[i + 1]));
        cJSON_AddItemToArray(r->headers, p);
    }
    r->body = malloc(len + 1);
    if (len)
        memcpy(r->body, body, len);
    r->body[len] = '\0';
    r->body_len = len;
    rt->handler(rt->ud, r);
    if (!r->answered) {
        req_free(h->pending_req);
        h->pending_req = r;
        return DG_PENDING;
    }
    *out = r->resp;
    keep *k = calloc(1, sizeof *k);
    k->body = r->resp.body;
    k->headers = r->resp.headers;
    k->next = g_keep;
    g_keep = k;
    req_free(r);
    return 0;
}

int fh_pending_response(fh *h, fh_response *out)
{
    dg_http_req *r = h->pending_req;
    if (!r || !r->answered)
        return DG_PENDING;
    *out = r->resp;
    keep *k = calloc(1, sizeof *k);
    k->body = r->resp.body;
    k->headers = r->resp.headers;
    k->next = g_keep;
    g_keep = k;
    req_free(r);
    h->pending_req = NULL;
    return 0;
}

size_t fh_n_routes(fh *h) { return h->n_routes; }

/* --------------------------------------------------------------- setup */

fh *fh_new(const char *name, const char *config_json)
{
    fh *h = calloc(1, sizeof *h);
    int64_t start = 0;
    if (!h)
        return NULL;
    dg_parse_iso8601("2026-03-02T09:00:00Z", &start);
    h->clock = dg_clock_new(NULL, DG_CLOCK_MANUAL, start, 1);
    h->name = strdup(name);
    h->conf = cJSON_Parse(config_json ? config_json : "{}");
    h->orders = cJSON_CreateArray();
    h->events = cJSON_CreateArray();
    h->metrics = cJSON_CreateObject();
    h->healthy = 1;
    h->inst.h = h;
    h->next_op = 1000;
    h->host = (dg_host){
        .struct_size = sizeof(dg_host),
        .abi_major = DG_ABI_MAJOR,
        .abi_minor = DG_ABI_MINOR,
        .log = f_log,
        .strerror = dg_strerror,
        .instance_name = f_instance_name,
        .config_string = f_config_string,
        .config_int = f_config_int,
        .config_bool = f_config_bool,
        .config_double = f_config_double,
        .config_array_len = f_config_array_len,
        .config_array_string = f_config_array_string,
        .config_json = f_config_json,
        .public_url = f_public_url,
        .complete = f_complete,
        .now_ms = f_now,
        .timer_start = f_timer_start,
        .timer_stop = f_timer_stop,
        .emit_order = f_emit_order,
        .emit_channel_event = f_emit_event,
        .state_get = f_state_get,
        .state_put = f_state_put,
        .state_del = f_state_del,
        .free = f_free,
        .metric_add = f_metric_add,
        .metric_set = f_metric_set,
        .metric_observe = f_metric_observe,
        .set_health = f_set_health,
        .http_route = f_route,
        .http_req_method = f_req_method,
        .http_req_path = f_req_path,
        .http_req_query = f_req_query,
        .http_req_header = f_req_header,
        .http_req_body = f_req_body,
        .http_respond = f_respond,
        .http_request = fh__http_request,
        .http_cancel = fh__http_cancel,
        .smtp_send = fh__smtp_send,
        .hmac = dg_hmac,
        .ct_equal = dg_ct_equal,
        .base64_encode = dg_base64_encode,
        .hex_encode = dg_hex_encode,
        .form_parse = dg_form_parse,
        .form_count = dg_form_count,
        .form_name = dg_form_name,
        .form_value = dg_form_value,
        .form_get = dg_form_get,
        .form_free = dg_form_free,
    };
    if (!h->clock || !h->name || !h->conf) {
        fh_free(h);
        return NULL;
    }
    return h;
}

void fh_free(fh *h)
{
    if (!h)
        return;
    for (int i = 0; i < FH_EXT_SLOTS; i++)
        if (h->ext_free[i])
            h->ext_free[i](h->ext[i]);
    dg_clock_free(h->clock);
    free(h->name);
    cJSON_Delete(h->conf);
    cJSON_Delete(h->orders);
    cJSON_Delete(h->events);
    cJSON_Delete(h->metrics);
    free(h->logtext);
    for (size_t i = 0; i < h->n_routes; i++) {
        free(h->routes[i].method);
        free(h->routes[i].path);
    }
    req_free(h->pending_req);
    for (size_t i = 0; i < h->n_out; i++) {
        fh_outbound *o = &h->out[i];
        free(o->url);
        cJSON_Delete(o->headers);
        free(o->body);
        free(o->basic_user);
        free(o->basic_password);
        free(o->bearer);
        cJSON_Delete(o->rcpt);
        free(o->mail_from);
        free(h->calls[i]);
    }
    for (size_t i = 0; i < h->n_kv; i++) {
        free(h->kv[i].key);
        free(h->kv[i].value);
    }
    for (size_t i = 0; i < h->n_json_cache; i++)
        free(h->json_cache[i]);
    while (g_keep) {
        keep *k = g_keep;
        g_keep = k->next;
        free(k->body);
        cJSON_Delete(k->headers);
        free(k);
    }
    free(h);
}

const dg_host *fh_host(fh *h) { return &h->host; }
dg_instance *fh_inst(fh *h) { return &h->inst; }

int fh_create_start(fh *h, const dg_plugin_descriptor *d, void **self, char *err, size_t len)
{
    int rc;
    if (d->kind == DG_PLUGIN_CHANNEL) {
        rc = d->channel->create(&h->host, &h->inst, self, err, len);
        if (rc == 0)
            rc = d->channel->start(*self, err, len);
    } else {
        rc = d->store->create(&h->host, &h->inst, self, err, len);
        if (rc == 0)
            rc = d->store->start(*self, err, len);
    }
    return rc;
}

int fh_stop_destroy(fh *h, const dg_plugin_descriptor *d, void *self, int64_t max_ms)
{
    dg_op op = fh_new_op(h);
    int rc = d->kind == DG_PLUGIN_CHANNEL ? d->channel->stop(self, op) : d->store->stop(self, op);
    int stopped = rc != DG_PENDING || fh_completion_for(h, op) != NULL;
    for (int64_t t = 0; !stopped && t < max_ms; t += 10) {
        fh_offload_run(h); /* the workers finish what they had */
        fh_advance(h, 10);
        stopped = fh_completion_for(h, op) != NULL;
    }
    fh_offload_run(h); /* as the daemon, before destroy */
    if (d->kind == DG_PLUGIN_CHANNEL)
        d->channel->destroy(self);
    else
        d->store->destroy(self);
    return stopped ? 0 : DG_ETIMEDOUT;
}

int64_t fh_now(fh *h) { return dg_clock_now(h->clock); }
void fh_set_now(fh *h, int64_t ms) { dg_clock_advance_to(h->clock, ms); }
int fh_advance(fh *h, int64_t ms) { return dg_clock_advance(h->clock, ms); }
size_t fh_timers_armed(fh *h) { return dg_clock_next_due(h->clock) >= 0 ? 1 : 0; }

dg_op fh_new_op(fh *h) { return h->next_op++; }
size_t fh_n_completed(fh *h) { return h->n_done; }
size_t fh_double_completions(fh *h) { return h->n_double; }
const fh_completion *fh_completion_for(fh *h, dg_op op)
{
    for (size_t i = 0; i < h->n_done; i++)
        if (h->done[i].op == op)
            return &h->done[i];
    return NULL;
}

size_t fh_n_orders(fh *h) { return (size_t)cJSON_GetArraySize(h->orders); }
const cJSON *fh_order(fh *h, size_t i) { return cJSON_GetArrayItem(h->orders, (int)i); }
size_t fh_n_events(fh *h) { return (size_t)cJSON_GetArraySize(h->events); }
const cJSON *fh_event(fh *h, size_t i) { return cJSON_GetArrayItem(h->events, (int)i); }
void fh_set_emit_result(fh *h, int rc) { h->emit_rc = rc; }

dg_host *fh_host_mutable(fh *h) { return &h->host; }
fh *fh_of(dg_instance *inst) { return inst->h; }
void **fh_ext(fh *h, int slot, void (*ext_free)(void *))
{
    h->ext_free[slot] = ext_free;
    return &h->ext[slot];
}

int fh_healthy(fh *h) { return h->healthy; }
const char *fh_health_reason(fh *h) { return h->reason; }

double fh_metric(fh *h, const char *name)
{
    const cJSON *m = cJSON_GetObjectItemCaseSensitive(h->metrics, name);
    return cJSON_IsNumber(m) ? m->valuedouble : 0;
}

size_t fh_log_count(fh *h, dg_log_level level, const char *event)
{
    size_t n = 0;
    for (size_t i = 0; i < h->n_logs; i++)
        if (h->logs[i].level == level && (!event || strcmp(h->logs[i].event, event) == 0))
            n++;
    return n;
}

const char *fh_log_text(fh *h) { return h->logtext ? h->logtext : ""; }

int fh_state_put(fh *h, const char *key, const char *value)
{
    return f_state_put(&h->inst, key, value, strlen(value), 0);
}

const char *fh_state_get(fh *h, const char *key)
{
    kvent *e = kv_find(h, key);
    return e ? e->value : NULL;
}
