/* duegate-sim's control API under /_sim/ (loopback only: no auth). Every
 * answer is JSON. See sim/README.md for the list. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sim_int.h"

void sim_respond_json(dg_http_req *req, int status, cJSON *obj)
{
    char *txt = obj ? cJSON_PrintUnformatted(obj) : NULL;
    dg_kv h = {"Content-Type", "application/json", 0};
    cJSON_Delete(obj);
    if (!txt) {
        dg_http_server_respond_error(req, 500, "no_memory", NULL);
        return;
    }
    dg_http_server_respond(req, status, &h, 1, txt, strlen(txt));
    free(txt);
}

static void bad(dg_http_req *req, int status, const char *detail)
{
    dg_http_server_respond_error(req, status, status == 404 ? "not_found" : "bad_request", detail);
}

static int jint(const cJSON *o, const char *k, int dflt)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
    return cJSON_IsNumber(v) ? v->valueint : dflt;
}

static const char *jstr(const cJSON *o, const char *k)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

int sim_twilio_apply(sim *s, const cJSON *tw, char *err, size_t len)
{
    const cJSON *o, *f;
    cJSON_ArrayForEach(o, cJSON_GetObjectItemCaseSensitive(tw, "numbers"))
    {
        if (!jstr(o, "phone") ||
            dg_twsim_number(s->tw, jstr(o, "phone"), jint(o, "sync_error", 0),
                            jstr(o, "final_status") ? jstr(o, "final_status") : "delivered",
                            jint(o, "async_error", 0)) != 0) {
            snprintf(err, len, "twilio.numbers: each needs a phone (and a known final_status)");
            return -1;
        }
    }
    cJSON_ArrayForEach(o, cJSON_GetObjectItemCaseSensitive(tw, "replies"))
    {
        if (!jstr(o, "phone") || !jstr(o, "body") ||
            dg_twsim_script_reply(
                s->tw, jstr(o, "phone"), jstr(o, "body"),
                (int64_t)cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(o, "delay_ms")) > 0
                    ? (int64_t)cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(o, "delay_ms"))
                    : 0) != 0) {
            snprintf(err, len, "twilio.replies: each needs a phone and a body");
            return -1;
        }
    }
    f = cJSON_GetObjectItemCaseSensitive(tw, "faults");
    if (cJSON_IsObject(f) && jint(f, "n", 0) > 0)
        dg_twsim_fault(s->tw, jint(f, "n", 0), jint(f, "status", 500), jint(f, "retry_after_s", 1));
    return 0;
}

static cJSON *counters(const sim_counters *c)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "posted", (double)c->posted);
    cJSON_AddNumberToObject(o, "ok", (double)c->ok);
    cJSON_AddNumberToObject(o, "failed", (double)c->failed);
    cJSON_AddNumberToObject(o, "dropped", (double)c->dropped);
    return o;
}

static cJSON *clock_json(sim *s)
{
    char iso[40];
    cJSON *o = cJSON_CreateObject();
    int64_t now = sim_now(s);
    dg_format_iso8601(now, iso, sizeof iso);
    cJSON_AddNumberToObject(o, "now_ms", (double)now);
    cJSON_AddStringToObject(o, "now", iso);
    return o;
}

/* Everything received, per persona, with the bodies. */
static cJSON *messages_json(sim *s)
{
    cJSON *o = cJSON_CreateObject();
    if (s->wa) {
        cJSON *a = cJSON_AddArrayToObject(o, "whatsapp");
        size_t n = wa_sim_n_requests(s->wa);
        for (size_t i = 0; i < n; i++) {
            char *t = wa_sim_request_json(s->wa, i);
            cJSON *r = t ? cJSON_Parse(t) : NULL;
            free(t);
            if (r)
                cJSON_AddItemToArray(a, r);
        }
    }
    if (s->tw) {
        cJSON *a = cJSON_AddArrayToObject(o, "sms");
        size_t n = dg_twsim_n_messages(s->tw);
        for (size_t i = 0; i < n; i++) {
            const dg_twsim_message *m = dg_twsim_message_at(s->tw, i);
            cJSON *r = cJSON_CreateObject();
            cJSON_AddStringToObject(r, "sid", m->sid);
            cJSON_AddStringToObject(r, "to", m->to);
            cJSON_AddStringToObject(r, "from", m->from);
            cJSON_AddStringToObject(r, "body", m->body ? m->body : "");
            cJSON_AddStringToObject(r, "status", m->status);
            cJSON_AddNumberToObject(r, "segments", m->num_segments);
            cJSON_AddNumberToObject(r, "error_code", m->error_code);
            cJSON_AddItemToArray(a, r);
        }
    }
    if (s->shop) {
        cJSON *r = cJSON_AddObjectToObject(o, "shopify");
        cJSON_AddNumberToObject(r, "orders", (double)dg_shopsim_order_count(s->shop));
        cJSON_AddNumberToObject(r, "queued", (double)dg_shopsim_queued(s->shop));
        cJSON_AddNumberToObject(r, "dropped", (double)dg_shopsim_dropped(s->shop));
    }
    return o;
}

static cJSON *stats_json(sim *s)
{
    cJSON *o = cJSON_CreateObject(), *w = cJSON_AddObjectToObject(o, "webhooks");
    static const char *const names[SIM_N] = {"whatsapp", "twilio", "shopify"};
    for (int i = 0; i < SIM_N; i++)
        cJSON_AddItemToObject(w, names[i], counters(&s->hooks[i]));
    cJSON_AddNumberToObject(o, "webhooks_in_flight", (double)s->inflight);
    cJSON_AddItemToObject(o, "clock", clock_json(s));
    if (s->wa) {
        char *t = wa_sim_stats_json(s->wa);
        cJSON *r = t ? cJSON_Parse(t) : NULL;
        free(t);
        if (r)
            cJSON_AddItemToObject(o, "whatsapp", r);
    }
    if (s->tw)
        cJSON_AddNumberToObject(o, "sms_messages", (double)dg_twsim_n_messages(s->tw));
    return o;
}

static void ctl_clock(sim *s, dg_http_req *req, const cJSON *b)
{
    const cJSON *adv = cJSON_GetObjectItemCaseSensitive(b, "advance_ms");
    const char *to = jstr(b, "to");
    int rc;
    if (strcmp(dg_http_server_req_method(req), "GET") == 0) {
        sim_respond_json(req, 200, clock_json(s));
        return;
    }
    if (dg_clock_mode_of(s->clock) != DG_CLOCK_MANUAL) {
        bad(req, 409, "the clock is not manual");
        return;
    }
    if (cJSON_IsNumber(adv) && adv->valuedouble >= 0)
        rc = dg_clock_advance(s->clock, (int64_t)adv->valuedouble);
    else if (to) {
        int64_t t;
        rc = dg_parse_iso8601(to, &t) ? -1 : dg_clock_advance_to(s->clock, t);
    } else
        rc = -1;
    if (rc < 0) {
        bad(req, 400, "{\"advance_ms\": N >= 0} or {\"to\": ISO not in the past}");
        return;
    }
    sim_pump(s); /* what became due goes out now */
    sim_respond_json(req, 200, clock_json(s));
}

static void ctl_wa_script(sim *s, dg_http_req *req, const cJSON *b)
{
    char err[256], *txt = cJSON_PrintUnformatted(b);
    int rc = txt ? wa_sim_script(s->wa, txt, err, sizeof err) : -1;
    free(txt);
    if (rc)
        bad(req, 400, txt ? err : "no memory");
    else
        sim_respond_json(req, 200, cJSON_CreateObject());
}

static void ctl_twilio(sim *s, dg_http_req *req, const char *what, const cJSON *b)
{
    char err[256];
    if (!s->tw) {
        bad(req, 404, "no twilio persona");
        return;
    }
    dg_twsim_set_now(s->tw, sim_now(s));
    if (strcmp(what, "inbound") == 0) {
        if (!jstr(b, "from") || !jstr(b, "to") || !jstr(b, "body") ||
            dg_twsim_inbound(s->tw, jstr(b, "from"), jstr(b, "to"), jstr(b, "body")) != 0) {
            bad(req, 400, "{\"from\", \"to\", \"body\"}");
            return;
        }
    } else if (strcmp(what, "script") == 0) {
        if (sim_twilio_apply(s, b, err, sizeof err)) {
            bad(req, 400, err);
            return;
        }
    } else {
        bad(req, 404, "twilio: script or inbound");
        return;
    }
    sim_respond_json(req, 200, cJSON_CreateObject());
}

static void ctl_shopify(sim *s, dg_http_req *req, const char *rest, const cJSON *b, const char *raw,
                        size_t raw_len)
{
    char id[64];
    const char *slash;
    int rc = 0;
    if (!s->shop) {
        bad(req, 404, "no shopify persona");
        return;
    }
    if (strcmp(rest, "orders") == 0) {
        /* one order, REST JSON: the raw bytes go to the persona so ids
         * beyond 2^53 stay exact (never re-printed through a double) */
        rc = dg_shopsim_add_order(s->shop, raw, raw_len, 1);
        if (rc)
            bad(req, 400, "an order is invalid or its id is taken");
        else
            sim_respond_json(req, 200, cJSON_CreateObject());
        return;
    }
    if (strcmp(rest, "fail_next") == 0) {
        dg_shopsim_fail_next(s->shop, jint(b, "status", 503),
                             (int64_t)jint(b, "retry_after_ms", 1000));
        sim_respond_json(req, 200, cJSON_CreateObject());
        return;
    }
    if (strncmp(rest, "orders/", 7) != 0) {
        bad(req, 404, "shopify: orders, orders/<id>[/pay|/cancel|/delete], fail_next");
        return;
    }
    rest += 7;
    slash = strchr(rest, '/');
    snprintf(id, sizeof id, "%.*s", slash ? (int)(slash - rest) : (int)strlen(rest), rest);
    if (!slash) {
        char *t = dg_shopsim_order_json(s->shop, id);
        cJSON *o = t ? cJSON_Parse(t) : NULL;
        free(t);
        if (o)
            sim_respond_json(req, 200, o);
        else
            bad(req, 404, "no such order");
        return;
    }
    if (strcmp(slash, "/pay") == 0)
        rc = dg_shopsim_pay(s->shop, id);
    else if (strcmp(slash, "/cancel") == 0)
        rc = dg_shopsim_cancel(s->shop, id, jstr(b, "reason") ? jstr(b, "reason") : "CUSTOMER");
    else if (strcmp(slash, "/delete") == 0)
        rc = dg_shopsim_delete(s->shop, id);
    else {
        bad(req, 404, "pay, cancel or delete");
        return;
    }
    if (rc == -2)
        bad(req, 409, "already cancelled");
    else if (rc)
        bad(req, 404, "no such order");
    else
        sim_respond_json(req, 200, cJSON_CreateObject());
}

static int set_url(char **slot, const cJSON *b, const char *key)
{
    const char *v = jstr(b, key);
    char *u;
    if (!v)
        return 0;
    if (!(u = strdup(v)))
        return -1;
    free(*slot);
    *slot = u;
    return 0;
}

static void ctl_callbacks(sim *s, dg_http_req *req, const cJSON *b)
{
    int rc = set_url(&s->wa_callback, b, "whatsapp");
    if (!rc)
        rc = set_url(&s->shop_callback, b, "shopify");
    if (!rc && s->tw && jstr(b, "twilio_inbound"))
        rc = dg_twsim_set_inbound_url(s->tw, jstr(b, "twilio_inbound"));
    if (rc)
        dg_http_server_respond_error(req, 500, "no_memory", NULL);
    else
        sim_respond_json(req, 200, cJSON_CreateObject());
}

void sim_control(sim *s, dg_http_req *req, const char *path)
{
    size_t len = 0;
    const char *raw = dg_http_server_req_body(req, &len);
    cJSON *b = len ? cJSON_ParseWithLength(raw, len) : NULL;
    const char *p = path + 6; /* after /_sim/ */
    if (len && !b) {
        bad(req, 400, "the body is not JSON");
        return;
    }
    if (strcmp(p, "clock") == 0)
        ctl_clock(s, req, b);
    else if (strcmp(p, "callbacks") == 0) /* the daemon's URLs, once it listens */
        ctl_callbacks(s, req, b);
    else if (strcmp(p, "messages") == 0)
        sim_respond_json(req, 200, messages_json(s));
    else if (strcmp(p, "stats") == 0)
        sim_respond_json(req, 200, stats_json(s));
    else if (strcmp(p, "faults") ==
             0) { /* {"whatsapp": {...}, "twilio": {...}, "shopify": {...}} */
        const cJSON *w = cJSON_GetObjectItemCaseSensitive(b, "whatsapp");
        const cJSON *t = cJSON_GetObjectItemCaseSensitive(b, "twilio");
        const cJSON *sh = cJSON_GetObjectItemCaseSensitive(b, "shopify");
        char err[256] = "";
        int rc = 0;
        if (w && s->wa) {
            cJSON *sc = cJSON_CreateObject();
            char *txt;
            cJSON_AddItemReferenceToObject(sc, "faults", (cJSON *)w);
            txt = cJSON_PrintUnformatted(sc);
            rc = txt ? wa_sim_script(s->wa, txt, err, sizeof err) : -1;
            free(txt);
            cJSON_Delete(sc);
        }
        if (!rc && t && s->tw && jint(t, "n", 0) > 0)
            dg_twsim_fault(s->tw, jint(t, "n", 0), jint(t, "status", 500),
                           jint(t, "retry_after_s", 1));
        if (!rc && sh && s->shop)
            dg_shopsim_fail_next(s->shop, jint(sh, "status", 503),
                                 (int64_t)jint(sh, "retry_after_ms", 1000));
        if (rc)
            bad(req, 400, err);
        else
            sim_respond_json(req, 200, cJSON_CreateObject());
    } else if (strncmp(p, "whatsapp/", 9) == 0 && s->wa) {
        if (strcmp(p + 9, "script") == 0) {
            ctl_wa_script(s, req, b);
        } else { /* stats, requests, customers/<phone>/messages: the persona's own */
            char sub[512];
            wa_sim_response r;
            const char *q = dg_http_server_req_query(req);
            snprintf(sub, sizeof sub, "/_sim/%s%s%s", p + 9, *q ? "?" : "", q);
            wa_sim_handle(s->wa, dg_http_server_req_method(req), sub, NULL, raw, len, &r);
            if (r.body) {
                dg_kv h = {"Content-Type", "application/json", 0};
                dg_http_server_respond(req, r.status, &h, 1, r.body, strlen(r.body));
            } else {
                dg_http_server_respond_error(req, r.status ? r.status : 500, "error", NULL);
            }
            wa_sim_response_clear(&r);
        }
    } else if (strncmp(p, "twilio/", 7) == 0)
        ctl_twilio(s, req, p + 7, b);
    else if (strncmp(p, "shopify/", 8) == 0)
        ctl_shopify(s, req, p + 8, b, raw, len);
    else
        bad(req, 404, "clock, messages, stats, faults, whatsapp/..., twilio/..., shopify/...");
    cJSON_Delete(b);
}
