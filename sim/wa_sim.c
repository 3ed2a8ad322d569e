/* The Cloud API simulator: configuration, script, and the send endpoint.
 * See wa_sim.h for the contract; webhooks live in wa_sim_events.c. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "wa_sim_int.h"

#define LOG_MAX_DEFAULT 10000

static char *sdup(const char *s)
{
    size_t n = s ? strlen(s) + 1 : 0;
    char *d = s ? malloc(n) : NULL;
    if (d)
        memcpy(d, s, n);
    return d;
}

/* ------------------------------------------------------ rng and clock */

uint64_t wa_sim__rand(wa_sim *s)
{
    uint64_t z = (s->rng += 0x9E3779B97F4A7C15ull); /* splitmix64 */
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

double wa_sim__uniform(wa_sim *s)
{
    return (double)(wa_sim__rand(s) >> 11) / 9007199254740992.0;
}

int64_t wa_sim__now(const wa_sim *s)
{
    return s->now(s->now_ud);
}

/* ------------------------------------------------------------ peers */

static uint64_t hash(const char *k)
{
    uint64_t h = 1469598103934665603ull;
    for (; *k; k++)
        h = (h ^ (unsigned char)*k) * 1099511628211ull;
    return h;
}

static void grow(wa_sim *s)
{
    size_t nb = s->n_buckets * 2;
    sim_peer **t = calloc(nb, sizeof *t);
    if (!t)
        return;
    for (size_t b = 0; b < s->n_buckets; b++) {
        sim_peer *p = s->peers[b], *nx;
        for (; p; p = nx) {
            nx = p->next;
            p->next = t[hash(p->digits) % nb];
            t[hash(p->digits) % nb] = p;
        }
    }
    free(s->peers);
    s->peers = t;
    s->n_buckets = nb;
}

sim_peer *wa_sim__peer(wa_sim *s, const char *digits, int create)
{
    sim_peer *p = s->peers[hash(digits) % s->n_buckets];
    for (; p; p = p->next)
        if (strcmp(p->digits, digits) == 0)
            return p;
    if (!create)
        return NULL;
    if (s->n_peers >= s->n_buckets)
        grow(s);
    p = calloc(1, sizeof *p + strlen(digits) + 1);
    if (!p)
        return NULL;
    strcpy(p->digits, digits);
    p->last_accept = INT64_MIN;
    p->last_inbound = INT64_MIN;
    size_t b = hash(digits) % s->n_buckets;
    p->next = s->peers[b];
    s->peers[b] = p;
    s->n_peers++;
    return p;
}

/* "+1 415-555-0123" -> "14155550123"; 0 if no digits. */
static int digits_of(const char *in, char *out, size_t cap)
{
    size_t n = 0;
    for (; in && *in && n + 1 < cap; in++)
        if (*in >= '0' && *in <= '9')
            out[n++] = *in;
    out[n] = '\0';
    return n > 0;
}

/* ---------------------------------------------------------- lifecycle */

wa_sim *wa_sim_new(const wa_sim_config *c)
{
    wa_sim *s;
    if (!c || !c->phone_number_id || !c->access_token || !c->app_secret || !c->now)
        return NULL;
    s = calloc(1, sizeof *s);
    if (!s)
        return NULL;
    s->phone_id = sdup(c->phone_number_id);
    s->token = sdup(c->access_token);
    s->secret = sdup(c->app_secret);
    s->display = sdup(c->display_phone ? c->display_phone : "15550000000");
    s->waba = sdup(c->waba_id ? c->waba_id : "100000000000001");
    s->rate = c->rate_per_second == 0 ? 80 : c->rate_per_second;
    s->tokens = s->rate;
    s->spacing = c->pair_spacing_ms == 0 ? 6000 : c->pair_spacing_ms;
    s->window = c->window_ms > 0 ? c->window_ms : 24LL * 3600 * 1000;
    s->rng = c->seed;
    s->now = c->now;
    s->now_ud = c->now_ud;
    s->refill_at = s->now(s->now_ud);
    s->batch = 1;
    s->log_max = LOG_MAX_DEFAULT;
    s->slow_ms = 3000;
    s->sent_after = 100;
    s->delivered_after = 1000;
    s->read_after = 5000;
    s->n_buckets = 1024;
    s->peers = calloc(s->n_buckets, sizeof *s->peers);
    s->log = cJSON_CreateArray();
    if (!s->phone_id || !s->token || !s->secret || !s->display || !s->waba || !s->peers ||
        !s->log) {
        wa_sim_free(s);
        return NULL;
    }
    return s;
}

static void tpl_clear(sim_tpl *t)
{
    free(t->name);
    free(t->lang);
    cJSON_Delete(t->names);
}

void wa_sim_free(wa_sim *s)
{
    if (!s)
        return;
    for (size_t b = 0; s->peers && b < s->n_buckets; b++) {
        sim_peer *p = s->peers[b], *nx;
        for (; p; p = nx) {
            nx = p->next;
            free(p->text);
            free(p->payload);
            free(p);
        }
    }
    for (size_t i = 0; i < s->n_tpls; i++)
        tpl_clear(&s->tpls[i]);
    wa_sim__events_free(s);
    free(s->tpls);
    free(s->peers);
    cJSON_Delete(s->log);
    free(s->phone_id);
    free(s->token);
    free(s->secret);
    free(s->display);
    free(s->waba);
    free(s);
}

/* -------------------------------------------------------------- script */

static double num(const cJSON *o, const char *k, double def)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
    return cJSON_IsNumber(v) ? v->valuedouble : cJSON_IsBool(v) ? cJSON_IsTrue(v) : def;
}

static const char *str(const cJSON *o, const char *k)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

static int add_template(wa_sim *s, const cJSON *t, char *err, size_t len)
{
    const char *name = str(t, "name"), *lang = str(t, "language");
    const cJSON *names = cJSON_GetObjectItemCaseSensitive(t, "param_names"), *b;
    sim_tpl nt = {0}, *slot = NULL;
    if (!name || !lang) {
        snprintf(err, len, "a template needs name and language");
        return -1;
    }
    nt.name = sdup(name);
    nt.lang = sdup(lang);
    nt.n_params = (int)num(t, "params", names ? cJSON_GetArraySize(names) : 0);
    nt.names = cJSON_IsArray(names) ? cJSON_Duplicate(names, 1) : NULL;
    cJSON_ArrayForEach(b, cJSON_GetObjectItemCaseSensitive(t, "buttons"))
    {
        if (nt.n_buttons >= 10 || !cJSON_IsString(b))
            break;
        nt.buttons[nt.n_buttons++] = strcmp(b->valuestring, "url") == 0 ? 'u' : 'q';
    }
    for (size_t i = 0; i < s->n_tpls; i++)
        if (strcmp(s->tpls[i].name, name) == 0 && strcmp(s->tpls[i].lang, lang) == 0)
            slot = &s->tpls[i];
    if (slot) {
        tpl_clear(slot);
    } else {
        sim_tpl *n = realloc(s->tpls, (s->n_tpls + 1) * sizeof *n);
        if (!n) {
            tpl_clear(&nt);
            snprintf(err, len, "out of memory");
            return -1;
        }
        s->tpls = n;
        slot = &s->tpls[s->n_tpls++];
    }
    *slot = nt;
    return 0;
}

static int add_customer(wa_sim *s, const cJSON *c, char *err, size_t len)
{
    static const char *const kinds[] = {"reads",        "never_reply",     "reply_text",
                                        "reply_button", "not_on_whatsapp", "stop"};
    const char *phone = str(c, "phone"), *b = str(c, "behaviour");
    char d[24];
    int kind = -1;
    sim_peer *p;
    for (int i = 0; b && i < 6; i++)
        if (strcmp(b, kinds[i]) == 0)
            kind = i;
    if (!phone || !digits_of(phone, d, sizeof d) || kind < 0) {
        snprintf(err, len, "a customer needs phone and a known behaviour");
        return -1;
    }
    p = wa_sim__peer(s, d, 1);
    if (!p) {
        snprintf(err, len, "out of memory");
        return -1;
    }
    p->behaviour = kind;
    p->after_ms = (int64_t)num(c, "after_ms", 60000);
    free(p->text);
    free(p->payload);
    p->text = sdup(str(c, "text") ? str(c, "text") : kind == B_STOP ? "STOP" : "ok");
    p->payload = sdup(str(c, "payload"));
    p->replied = 0;
    return 0;
}

int wa_sim_script(wa_sim *s, const char *json, char *err, size_t len)
{
    cJSON *j = cJSON_Parse(json ? json : ""), *x;
    const cJSON *f, *w;
    int rc = 0;
    if (!cJSON_IsObject(j)) {
        cJSON_Delete(j);
        snprintf(err, len, "script is not a JSON object");
        return -1;
    }
    cJSON_ArrayForEach(x, cJSON_GetObjectItemCaseSensitive(j, "templates")) if (rc == 0) rc =
        add_template(s, x, err, len);
    cJSON_ArrayForEach(x, cJSON_GetObjectItemCaseSensitive(j, "customers")) if (rc == 0) rc =
        add_customer(s, x, err, len);
    s->log_max = (size_t)num(j, "record_max", (double)s->log_max);
    f = cJSON_GetObjectItemCaseSensitive(j, "faults");
    if (f) {
        s->f500 = num(f, "http_500", s->f500);
        s->f429 = num(f, "http_429", s->f429);
        s->ftimeout = num(f, "timeout", s->ftimeout);
        s->fslow = num(f, "slow", s->fslow);
        s->slow_ms = (int64_t)num(f, "slow_ms", (double)s->slow_ms);
    }
    w = cJSON_GetObjectItemCaseSensitive(j, "webhooks");
    if (w) {
        s->dup = num(w, "duplicate", s->dup);
        s->reorder = num(w, "reorder", s->reorder);
        s->batch = (int)num(w, "batch", s->batch);
        if (s->batch < 1)
            s->batch = 1;
        s->sent_after = (int64_t)num(w, "sent_after_ms", (double)s->sent_after);
        s->delivered_after = (int64_t)num(w, "delivered_after_ms", (double)s->delivered_after);
        s->read_after = (int64_t)num(w, "read_after_ms", (double)s->read_after);
        s->window_sync = (int)num(w, "window_error_sync", s->window_sync);
    }
    cJSON_Delete(j);
    return rc;
}

/* ------------------------------------------------------------ answers */

static const char *title_of(long code)
{
    switch (code) {
    case 190:
        return "Invalid OAuth access token";
    case 100:
        return "Invalid parameter";
    case 130429:
        return "Rate limit hit";
    case 131000:
        return "Something went wrong";
    case 131047:
        return "Re-engagement message";
    case 131056:
        return "(Business Account, Consumer Account) pair rate limit hit";
    case 132000:
        return "Number of parameters does not match the expected number of params";
    case 132001:
        return "Template name does not exist in the translation";
    default:
        return "Error";
    }
}

static void count_code(wa_sim *s, long code)
{
    for (size_t i = 0; i < s->n_codes; i++)
        if (s->codes[i] == code) {
            s->code_counts[i]++;
            return;
        }
    if (s->n_codes < 64) {
        s->codes[s->n_codes] = code;
        s->code_counts[s->n_codes++] = 1;
    }
}

static void record(wa_sim *s, const char *path, int status, long code, const char *wamid,
                   const char *to, const char *body, size_t len)
{
    cJSON *o;
    s->n_requests++;
    if (code == 0 && status == 200)
        s->n_accepted++;
    else if (code == -1)
        s->n_faults++;
    else
        count_code(s, code);
    if (s->log_max == 0)
        return;
    if (s->log_n >= s->log_max) {
        cJSON_DeleteItemFromArray(s->log, 0); /* the head: O(1) */
        s->log_dropped++;
        s->log_n--;
    }
    s->log_n++;
    o = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "at", (double)wa_sim__now(s));
    cJSON_AddStringToObject(o, "path", path ? path : "");
    cJSON_AddNumberToObject(o, "status", status);
    cJSON_AddNumberToObject(o, "code", (double)code);
    if (wamid)
        cJSON_AddStringToObject(o, "wamid", wamid);
    if (to)
        cJSON_AddStringToObject(o, "to", to);
    cJSON *req = body ? cJSON_ParseWithLength(body, len) : NULL;
    if (req)
        cJSON_AddItemToObject(o, "request", req);
    else if (body)
        cJSON_AddStringToObject(o, "request", "(not JSON)");
    cJSON_AddItemToArray(s->log, o);
}

static int error_out(wa_sim *s, wa_sim_response *out, int status, long code, const char *details)
{
    cJSON *o = cJSON_CreateObject(), *e = cJSON_AddObjectToObject(o, "error"), *d;
    char msg[200], trace[32];
    snprintf(msg, sizeof msg, "(#%ld) %s", code, title_of(code));
    snprintf(trace, sizeof trace, "Sim%016" PRIx64, wa_sim__rand(s));
    cJSON_AddStringToObject(e, "message", msg);
    cJSON_AddStringToObject(e, "type", "OAuthException");
    cJSON_AddNumberToObject(e, "code", (double)code);
    d = cJSON_AddObjectToObject(e, "error_data");
    cJSON_AddStringToObject(d, "messaging_product", "whatsapp");
    cJSON_AddStringToObject(d, "details", details);
    cJSON_AddStringToObject(e, "fbtrace_id", trace);
    out->status = status;
    out->body = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    return status;
}

static const char *header(const char *const *h, const char *name)
{
    for (size_t i = 0; h && h[i] && h[i + 1]; i += 2)
        if (strcasecmp(h[i], name) == 0)
            return h[i + 1];
    return NULL;
}

/* "/v21.0/<id>/messages" -> 1 when the id is ours. */
static int path_ok(const wa_sim *s, const char *path, int *other_id)
{
    int a = 0, b = 0, n = 0;
    size_t il = strlen(s->phone_id);
    *other_id = 0;
    if (!path || sscanf(path, "/v%d.%d/%n", &a, &b, &n) != 2 || n == 0)
        return 0;
    path += n;
    const char *slash = strchr(path, '/');
    if (!slash || strcmp(slash, "/messages") != 0)
        return 0;
    if ((size_t)(slash - path) != il || strncmp(path, s->phone_id, il) != 0) {
        *other_id = 1;
        return 0;
    }
    return 1;
}

/* Token bucket of `rate` tokens refilled at `rate`/s. */
static int take_token(wa_sim *s, int64_t now)
{
    if (s->rate <= 0)
        return 1;
    if (now > s->refill_at) {
        s->tokens += (double)(now - s->refill_at) * s->rate / 1000.0;
        if (s->tokens > s->rate)
            s->tokens = s->rate;
        s->refill_at = now;
    }
    if (s->tokens < 1.0 - 1e-9)
        return 0;
    s->tokens -= 1.0;
    return 1;
}

static const sim_tpl *find_tpl(const wa_sim *s, const char *name, const char *lang)
{
    for (size_t i = 0; i < s->n_tpls; i++)
        if (strcmp(s->tpls[i].name, name) == 0 && strcmp(s->tpls[i].lang, lang) == 0)
            return &s->tpls[i];
    return NULL;
}

/* Check a template message against the registry: 0 or an error code. */
static long check_template(const wa_sim *s, const cJSON *t, const char **why)
{
    const char *name = str(t, "name");
    const char *lang = str(cJSON_GetObjectItemCaseSensitive(t, "language"), "code");
    const cJSON *c, *p;
    const sim_tpl *tp;
    int n_body = 0;
    if (!name || !lang) {
        *why = "template.name and template.language.code are required";
        return 100;
    }
    tp = find_tpl(s, name, lang);
    if (!tp) {
        *why = "template name does not exist in the translation";
        return 132001;
    }
    cJSON_ArrayForEach(c, cJSON_GetObjectItemCaseSensitive(t, "components"))
    {
        const char *type = str(c, "type");
        const cJSON *params = cJSON_GetObjectItemCaseSensitive(c, "parameters");
        if (type && strcmp(type, "body") == 0) {
            cJSON_ArrayForEach(p, params)
            {
                const char *pn = str(p, "parameter_name");
                n_body++;
                if (!str(p, "text")) {
                    *why = "body parameter without text";
                    return 132000;
                }
                if (tp->names) {
                    int found = 0;
                    const cJSON *nm;
                    cJSON_ArrayForEach(nm, tp->names) found |=
                        pn && cJSON_IsString(nm) && strcmp(nm->valuestring, pn) == 0;
                    if (!found) {
                        *why = "parameter_name does not match the template";
                        return 132000;
                    }
                } else if (pn) {
                    *why = "parameter_name on a positional template";
                    return 132000;
                }
            }
        } else if (type && strcmp(type, "button") == 0) {
            const cJSON *idx = cJSON_GetObjectItemCaseSensitive(c, "index");
            const char *sub = str(c, "sub_type");
            int i = cJSON_IsNumber(idx) ? (int)idx->valuedouble : -1;
            if (i < 0 || i >= tp->n_buttons || !sub ||
                (tp->buttons[i] == 'u') != (strcmp(sub, "url") == 0) ||
                cJSON_GetArraySize(params) != 1) {
                *why = "button does not match the template";
                return 132000;
            }
        }
    }
    if (n_body != tp->n_params) {
        *why = "number of body parameters does not match the template";
        return 132000;
    }
    return 0;
}

static int accept(wa_sim *s, sim_peer *p, const char *to, const char *cb, int is_text,
                  int window_open, wa_sim_response *out, char *wamid, size_t wlen)
{
    cJSON *o = cJSON_CreateObject(), *c, *m;
    snprintf(wamid, wlen, "wamid.HBgL%016" PRIX64 "%08" PRIX64, wa_sim__rand(s),
             wa_sim__rand(s) & 0xFFFFFFFFu);
    cJSON_AddStringToObject(o, "messaging_product", "whatsapp");
    c = cJSON_CreateObject();
    cJSON_AddStringToObject(c, "input", to);
    cJSON_AddStringToObject(c, "wa_id", p->digits);
    cJSON_AddItemToArray(cJSON_AddArrayToObject(o, "contacts"), c);
    m = cJSON_CreateObject();
    cJSON_AddStringToObject(m, "id", wamid);
    cJSON_AddStringToObject(m, "message_status", "accepted");
    cJSON_AddItemToArray(cJSON_AddArrayToObject(o, "messages"), m);
    out->status = 200;
    out->body = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    p->last_accept = wa_sim__now(s);
    wa_sim__after_accept(s, p, wamid, cb, is_text, window_open);
    return 200;
}

int wa_sim_handle(wa_sim *s, const char *method, const char *path, const char *const *headers,
                  const char *body, size_t len, wa_sim_response *out)
{
    int64_t now = wa_sim__now(s);
    const char *auth = header(headers, "Authorization"), *why = "", *type, *to;
    char d[24], wamid[64] = "";
    cJSON *j = NULL;
    sim_peer *p;
    long code = 0;
    int other = 0, window_open;
    memset(out, 0, sizeof *out);
    out->retry_after_s = -1;
    if (path && strncmp(path, "/_sim/", 6) == 0)
        return wa_sim__control(s, method, path, body, len, out);
    /* infrastructure faults come before anything is looked at */
    double r = wa_sim__uniform(s);
    if (r < s->ftimeout) {
        out->drop = 1;
        record(s, path, 0, -1, NULL, NULL, body, len);
        return 0;
    }
    r -= s->ftimeout;
    if (r < s->f500) {
        error_out(s, out, 500, 131000, "simulated internal error");
        record(s, path, 500, -1, NULL, NULL, body, len);
        return 500;
    }
    r -= s->f500;
    if (r < s->f429) {
        error_out(s, out, 429, 130429, "simulated throttling");
        out->retry_after_s = 1;
        record(s, path, 429, -1, NULL, NULL, body, len);
        return 429;
    }
    r -= s->f429;
    if (r < s->fslow)
        out->delay_ms = s->slow_ms;
    if (!auth || strncmp(auth, "Bearer ", 7) != 0 || strcmp(auth + 7, s->token) != 0) {
        code = 190;
        error_out(s, out, 401, code, "Error validating access token");
        goto done;
    }
    if (!method || strcmp(method, "POST") != 0 || !path_ok(s, path, &other)) {
        code = 100;
        error_out(s, out, 400, code,
                  other ? "Unsupported post request: object does not exist"
                        : "Unknown path components");
        goto done;
    }
    if (!take_token(s, now)) {
        code = 130429;
        error_out(s, out, 400, code, "Cloud API message throughput has been reached");
        goto done;
    }
    j = cJSON_ParseWithLength(body ? body : "", len);
    type = str(j, "type");
    to = str(j, "to");
    if (!cJSON_IsObject(j) || !str(j, "messaging_product") ||
        strcmp(str(j, "messaging_product"), "whatsapp") != 0 || !to ||
        !digits_of(to, d, sizeof d) || !type) {
        code = 100;
        error_out(s, out, 400, code, "messaging_product, to and type are required");
        goto done;
    }
    p = wa_sim__peer(s, d, 1);
    if (!p) {
        code = 131000;
        error_out(s, out, 500, code, "out of memory");
        goto done;
    }
    window_open = p->last_inbound != INT64_MIN && now - p->last_inbound < s->window;
    if (strcmp(type, "template") == 0) {
        code = check_template(s, cJSON_GetObjectItemCaseSensitive(j, "template"), &why);
        if (code) {
            error_out(s, out, code == 132001 ? 404 : 400, code, why);
            goto done;
        }
    } else if (strcmp(type, "text") == 0) {
        if (!str(cJSON_GetObjectItemCaseSensitive(j, "text"), "body")) {
            code = 100;
            error_out(s, out, 400, code, "text.body is required");
            goto done;
        }
        if (!window_open && s->window_sync) {
            code = 131047;
            error_out(s, out, 400, code,
                      "Message failed to send because more than 24 hours have passed since "
                      "the customer last replied to this number.");
            goto done;
        }
    } else {
        code = 100;
        error_out(s, out, 400, code, "the simulator knows text and template messages");
        goto done;
    }
    if (s->spacing > 0 && p->last_accept != INT64_MIN && now - p->last_accept < s->spacing) {
        code = 131056;
        error_out(s, out, 400, code,
                  "Message failed to send because there were too many "
                  "messages sent from this phone number in a short period");
        goto done;
    }
    accept(s, p, to, str(j, "biz_opaque_callback_data"), strcmp(type, "text") == 0, window_open,
           out, wamid, sizeof wamid);
done:
    record(s, path, out->status, code, wamid[0] ? wamid : NULL, j ? str(j, "to") : NULL, body, len);
    cJSON_Delete(j);
    return out->status;
}

void wa_sim_response_clear(wa_sim_response *r)
{
    if (!r)
        return;
    free(r->body);
    memset(r, 0, sizeof *r);
}

/* ---------------------------------------------------------- reporting */

size_t wa_sim_n_requests(const wa_sim *s)
{
    return s->n_requests;
}

size_t wa_sim_count(const wa_sim *s, long code)
{
    if (code == 0)
        return s->n_accepted;
    if (code == -1)
        return s->n_faults;
    for (size_t i = 0; i < s->n_codes; i++)
        if (s->codes[i] == code)
            return s->code_counts[i];
    return 0;
}

char *wa_sim_request_json(const wa_sim *s, size_t i)
{
    const cJSON *o;
    if (i < s->log_dropped)
        return NULL;
    o = cJSON_GetArrayItem(s->log, (int)(i - s->log_dropped));
    return o ? cJSON_PrintUnformatted(o) : NULL;
}

char *wa_sim_stats_json(const wa_sim *s)
{
    cJSON *o = cJSON_CreateObject(), *codes;
    char *out, k[24];
    cJSON_AddNumberToObject(o, "requests", (double)s->n_requests);
    cJSON_AddNumberToObject(o, "accepted", (double)s->n_accepted);
    cJSON_AddNumberToObject(o, "faults", (double)s->n_faults);
    cJSON_AddNumberToObject(o, "webhooks", (double)s->n_webhooks);
    cJSON_AddNumberToObject(o, "pending_events", (double)s->n_heap);
    codes = cJSON_AddObjectToObject(o, "errors");
    for (size_t i = 0; i < s->n_codes; i++) {
        snprintf(k, sizeof k, "%ld", s->codes[i]);
        cJSON_AddNumberToObject(codes, k, (double)s->code_counts[i]);
    }
    out = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    return out;
}
