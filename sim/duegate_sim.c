/* duegate-sim: the WhatsApp, Twilio and Shopify personas behind one HTTP
 * listener, delivering their webhooks to the daemon (see sim_int.h and
 * sim/README.md). usage: duegate-sim -c sim.json */
#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "error.h"
#include "log.h"
#include "sim_int.h"

struct sim_hook {
    sim_hook *next;
    int persona;
    char *url;
    char *body;
    size_t len;
    char sig_name[32];
    char sig[96];
    int attempt; /* attempts made */
    int64_t due;
};

struct hook_call {
    hook_call *next, *prev; /* s->calls: freed at exit if still in flight */
    sim *s;
    sim_hook *h;      /* WhatsApp/Twilio: requeued on failure */
    uint64_t shop_id; /* Shopify: reported to the persona */
};

int64_t sim_now(sim *s)
{
    return dg_clock_now(s->clock);
}

static int64_t now_cb(void *ud)
{
    return sim_now(ud);
}

static void hook_free(sim_hook *h)
{
    if (!h)
        return;
    free(h->url);
    free(h->body);
    free(h);
}

/* ---------------------------------------------------------------- delivery */

static void post_hook(sim *s, sim_hook *h);

static void call_link(sim *s, hook_call *c)
{
    c->prev = NULL;
    c->next = s->calls;
    if (c->next)
        c->next->prev = c;
    s->calls = c;
}

static void call_unlink(sim *s, hook_call *c)
{
    if (c->prev)
        c->prev->next = c->next;
    else
        s->calls = c->next;
    if (c->next)
        c->next->prev = c->prev;
}

static void requeue(sim *s, sim_hook *h)
{
    if (h->attempt >= s->max_attempts) {
        s->hooks[h->persona].dropped++;
        dg_logf(DG_LOG_WARN, "sim", "webhook_dropped", "persona",
                h->persona == SIM_WA ? "whatsapp" : "twilio", NULL);
        hook_free(h);
        return;
    }
    /* 1 s, 2 s, 4 s, ... of persona time, like the providers' backoff */
    h->due = sim_now(s) + (int64_t)1000 * (1 << (h->attempt - 1));
    h->next = s->retries;
    s->retries = h;
}

static void on_hook_done(void *ud, const dg_http_response *r)
{
    hook_call *c = ud;
    sim *s = c->s;
    int ok = r->status >= 200 && r->status < 300;
    int persona = c->h ? c->h->persona : SIM_SHOP;
    s->inflight--;
    call_unlink(s, c);
    if (ok)
        s->hooks[persona].ok++;
    else
        s->hooks[persona].failed++;
    if (c->h) {
        if (ok)
            hook_free(c->h);
        else
            requeue(s, c->h);
    } else {
        dg_shopsim_delivered(s->shop, c->shop_id, r->status);
        s->shop_inflight = 0;
    }
    free(c);
    if (!s->stopping)
        sim_pump(s);
}

static void post_hook(sim *s, sim_hook *h)
{
    dg_kv hdr[2] = {
        {"Content-Type",
         h->persona == SIM_WA ? "application/json" : "application/x-www-form-urlencoded", 0},
        {h->sig_name, h->sig, 0}};
    dg_http_request rq;
    hook_call *c = calloc(1, sizeof *c);
    memset(&rq, 0, sizeof rq);
    rq.struct_size = sizeof rq;
    rq.method = "POST";
    rq.url = h->url;
    rq.headers = hdr;
    rq.n_headers = 2;
    rq.body = h->body;
    rq.body_len = h->len;
    rq.timeout_ms = 10000;
    h->attempt++;
    s->hooks[h->persona].posted++;
    if (!c || dg_http_client_request(s->cli, NULL, &rq, on_hook_done, c, NULL) != 0) {
        free(c);
        s->hooks[h->persona].failed++;
        requeue(s, h);
        return;
    }
    c->s = s;
    c->h = h;
    call_link(s, c);
    s->inflight++;
}

static void post_shop(sim *s, const dg_shopsim_delivery *d)
{
    dg_kv hdr[16];
    size_t n = 0;
    dg_http_request rq;
    hook_call *c;
    hdr[n++] = (dg_kv){"Content-Type", "application/json", 0};
    for (size_t i = 0; d->headers[i] && d->headers[i + 1] && n < 16; i += 2)
        hdr[n++] = (dg_kv){d->headers[i], d->headers[i + 1], 0};
    memset(&rq, 0, sizeof rq);
    rq.struct_size = sizeof rq;
    rq.method = "POST";
    rq.url = s->shop_callback;
    rq.headers = hdr;
    rq.n_headers = n;
    rq.body = d->body;
    rq.body_len = d->body_len;
    rq.timeout_ms = 5000; /* Shopify gives up after 5 s */
    s->hooks[SIM_SHOP].posted++;
    if (!(c = calloc(1, sizeof *c)) ||
        dg_http_client_request(s->cli, NULL, &rq, on_hook_done, c, NULL) != 0) {
        free(c);
        s->hooks[SIM_SHOP].failed++;
        dg_shopsim_delivered(s->shop, d->id, 0);
        return;
    }
    c->s = s;
    c->shop_id = d->id;
    call_link(s, c);
    s->shop_inflight = 1;
    s->inflight++;
}

static void on_due(void *ud)
{
    sim *s = ud;
    s->due_timer = NULL;
    sim_pump(s);
}

static int64_t earliest(sim *s)
{
    int64_t t = -1, x;
#define SIM_MIN(v)                                                                                 \
    do {                                                                                           \
        x = (v);                                                                                   \
        if (x >= 0 && (t < 0 || x < t))                                                            \
            t = x;                                                                                 \
    } while (0)
    if (s->wa && s->wa_callback)
        SIM_MIN(wa_sim_next_due(s->wa));
    if (s->tw)
        SIM_MIN(dg_twsim_next_due(s->tw));
    if (s->shop && s->shop_callback && !s->shop_inflight)
        SIM_MIN(dg_shopsim_next_due_at(s->shop));
    for (sim_hook *h = s->retries; h; h = h->next)
        SIM_MIN(h->due);
#undef SIM_MIN
    return t;
}

void sim_pump(sim *s)
{
    int64_t now = sim_now(s), due;
    if (s->stopping)
        return;
    if (s->wa && s->wa_callback) {
        wa_sim_webhook w;
        while (wa_sim_pop_webhook(s->wa, &w) == 1) {
            sim_hook *h = calloc(1, sizeof *h);
            if (h && (h->url = strdup(s->wa_callback)) != NULL) {
                h->persona = SIM_WA;
                h->body = w.body;
                w.body = NULL;
                h->len = strlen(h->body);
                snprintf(h->sig_name, sizeof h->sig_name, "X-Hub-Signature-256");
                snprintf(h->sig, sizeof h->sig, "%s", w.signature);
                post_hook(s, h);
            } else {
                hook_free(h);
            }
            wa_sim_webhook_clear(&w);
        }
    }
    if (s->tw) {
        dg_twsim_webhook w;
        dg_twsim_set_now(s->tw, now);
        while (dg_twsim_pop_webhook(s->tw, &w) == 1) {
            sim_hook *h = calloc(1, sizeof *h);
            if (h) {
                h->persona = SIM_TW;
                h->url = w.url;
                h->body = w.body;
                w.url = w.body = NULL;
                h->len = h->body ? strlen(h->body) : 0;
                snprintf(h->sig_name, sizeof h->sig_name, "X-Twilio-Signature");
                snprintf(h->sig, sizeof h->sig, "%s", w.signature);
                if (h->url)
                    post_hook(s, h);
                else
                    hook_free(h);
            }
            dg_twsim_webhook_free(&w);
        }
    }
    if (s->shop && s->shop_callback && !s->shop_inflight) {
        const dg_shopsim_delivery *d = dg_shopsim_next_due(s->shop);
        if (d)
            post_shop(s, d);
    }
    for (sim_hook **pp = &s->retries; *pp;) {
        sim_hook *h = *pp;
        if (h->due <= now) {
            *pp = h->next;
            h->next = NULL;
            post_hook(s, h);
        } else {
            pp = &h->next;
        }
    }
    /* re-arm on the earliest due time (the clock maps it to real time) */
    due = earliest(s);
    if (dg_clock_mode_of(s->clock) == DG_CLOCK_MANUAL)
        return; /* sim_pump runs again when the clock is advanced */
    if (due >= 0 && s->due_timer && s->due_timer_at == due)
        return;
    if (s->due_timer) {
        dg_ctimer_stop(s->due_timer);
        s->due_timer = NULL;
    }
    if (due >= 0) {
        s->due_timer_at = due;
        s->due_timer = dg_ctimer_start(s->clock, due > now ? due - now : 0, 0, on_due, s);
    }
}

/* ---------------------------------------------------------------- requests */

struct later {
    uv_timer_t t;
    later *next, *prev;
    sim *s;
    dg_http_req *req;
    int status;
    char *body;
    char retry_after[24];
};

static void later_closed(uv_handle_t *h)
{
    later *l = h->data;
    if (l->prev)
        l->prev->next = l->next;
    else
        l->s->laters = l->next;
    if (l->next)
        l->next->prev = l->prev;
    free(l->body);
    free(l);
}

static void respond_raw(dg_http_req *req, int status, const char *body, const char *retry_after)
{
    dg_kv h[2] = {{"Content-Type", "application/json", 0}, {"Retry-After", retry_after, 0}};
    dg_http_server_respond(req, status, h, retry_after && *retry_after ? 2 : 1, body,
                           body ? strlen(body) : 0);
}

static void later_closed_exit(uv_handle_t *h)
{
    later *l = h->data;
    free(l->body);
    free(l);
}

static void on_later(uv_timer_t *t)
{
    later *l = t->data;
    respond_raw(l->req, l->status, l->body, l->retry_after);
    uv_close((uv_handle_t *)&l->t, later_closed);
}

/* Answer now, or delay_ms of clock time later (slow / never answered). */
static void respond_maybe_later(sim *s, dg_http_req *req, int status, char *body,
                                const char *retry_after, int64_t delay_ms)
{
    later *l;
    if (delay_ms <= 0 || !(l = calloc(1, sizeof *l))) {
        respond_raw(req, status, body, retry_after);
        free(body);
        return;
    }
    if (dg_clock_mode_of(s->clock) == DG_CLOCK_SCALED) /* clock ms -> real ms */
        delay_ms = (int64_t)((double)delay_ms / s->rate) + 1;
    l->s = s;
    l->next = s->laters;
    if (l->next)
        l->next->prev = l;
    s->laters = l;
    l->req = req;
    l->status = status;
    l->body = body;
    snprintf(l->retry_after, sizeof l->retry_after, "%s", retry_after ? retry_after : "");
    uv_timer_init(s->loop, &l->t);
    l->t.data = l;
    uv_timer_start(&l->t, on_later, (uint64_t)delay_ms, 0);
}

static const char **req_headers(dg_http_req *req)
{
    size_t n = dg_http_server_req_header_count(req);
    const char **h = calloc(2 * n + 1, sizeof *h);
    if (!h)
        return NULL;
    for (size_t i = 0; i < n; i++) {
        h[2 * i] = dg_http_server_req_header_name(req, i);
        h[2 * i + 1] = dg_http_server_req_header_value(req, i);
    }
    return h;
}

static void handle_wa(sim *s, dg_http_req *req, const char *path, const char *body, size_t len)
{
    wa_sim_response r;
    const char **h = req_headers(req);
    char ra[24] = "";
    if (!h) {
        dg_http_server_respond_error(req, 500, "no_memory", NULL);
        return;
    }
    wa_sim_handle(s->wa, dg_http_server_req_method(req), path, (const char *const *)h, body, len,
                  &r);
    free(h);
    if (r.retry_after_s >= 0)
        snprintf(ra, sizeof ra, "%" PRId64, r.retry_after_s);
    if (r.drop) /* never answered in time: the caller's timeout fires first */
        respond_maybe_later(s, req, 504, NULL, NULL, 600000);
    else {
        respond_maybe_later(s, req, r.status, r.body, ra, r.delay_ms);
        r.body = NULL;
    }
    wa_sim_response_clear(&r);
}

static void handle_tw(sim *s, dg_http_req *req, const char *path, const char *body, size_t len)
{
    dg_twsim_response r;
    char user[128], pass[256], ra[24] = "";
    const char *auth = dg_http_server_req_header(req, "Authorization");
    int have = auth && dg_twsim_parse_basic(auth, user, sizeof user, pass, sizeof pass) == 0;
    dg_twsim_set_now(s->tw, sim_now(s));
    memset(&r, 0, sizeof r);
    if (dg_twsim_handle(s->tw, dg_http_server_req_method(req), path, have ? user : NULL,
                        have ? pass : NULL, body, len, &r) != 0) {
        dg_http_server_respond_error(req, 500, "no_memory", NULL);
        return;
    }
    if (r.retry_after_s > 0)
        snprintf(ra, sizeof ra, "%d", r.retry_after_s);
    respond_raw(req, r.status, r.body, ra);
    dg_twsim_response_free(&r);
}

static void handle_shop(sim *s, dg_http_req *req, const char *body, size_t len)
{
    dg_shopsim_reply r;
    char ra[24] = "";
    memset(&r, 0, sizeof r);
    dg_shopsim_graphql(s->shop, dg_http_server_req_header(req, "X-Shopify-Access-Token"), body, len,
                       &r);
    if (r.retry_after_ms > 0)
        snprintf(ra, sizeof ra, "%" PRId64, (r.retry_after_ms + 999) / 1000);
    respond_raw(req, r.status, r.body, ra);
    free(r.body);
}

static void on_request(void *ud, dg_http_req *req)
{
    sim *s = ud;
    const char *path = dg_http_server_req_path(req);
    size_t len = 0;
    const char *body = dg_http_server_req_body(req, &len);
    if (strncmp(path, "/_sim/", 6) == 0)
        sim_control(s, req, path);
    else if (s->tw && strncmp(path, "/2010-04-01/Accounts/", 21) == 0)
        handle_tw(s, req, path, body, len);
    else if (s->shop && strncmp(path, "/admin/api/", 11) == 0)
        handle_shop(s, req, body, len);
    else if (s->wa && path[0] == '/' && path[1] == 'v')
        handle_wa(s, req, path, body, len);
    else
        dg_http_server_respond_error(req, 404, "not_found", "no persona serves this path");
    sim_pump(s);
}

/* ---------------------------------------------------------------- config */

static const char *jstr(const cJSON *o, const char *k)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

static double jnum(const cJSON *o, const char *k, double dflt)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
    return cJSON_IsNumber(v) ? v->valuedouble : dflt;
}

static int load_personas(sim *s, const cJSON *root, uint64_t seed, char *err, size_t len)
{
    const cJSON *wa = cJSON_GetObjectItemCaseSensitive(root, "whatsapp");
    const cJSON *tw = cJSON_GetObjectItemCaseSensitive(root, "twilio");
    const cJSON *sh = cJSON_GetObjectItemCaseSensitive(root, "shopify");
    if (cJSON_IsObject(wa)) {
        wa_sim_config c;
        char *txt;
        int rc;
        memset(&c, 0, sizeof c);
        c.phone_number_id = jstr(wa, "phone_number_id");
        c.access_token = jstr(wa, "access_token");
        c.app_secret = jstr(wa, "app_secret");
        c.display_phone = jstr(wa, "display_phone");
        c.waba_id = jstr(wa, "waba_id");
        c.rate_per_second = (int)jnum(wa, "rate_per_second", 0);
        c.pair_spacing_ms = (int64_t)jnum(wa, "pair_spacing_ms", 0);
        c.window_ms = (int64_t)jnum(wa, "window_ms", 0);
        c.seed = seed;
        c.now = now_cb;
        c.now_ud = s;
        if (!(s->wa = wa_sim_new(&c)))
            return dg_errf(err, len,
                           "whatsapp: phone_number_id, access_token and app_secret "
                           "are required"),
                   DG_ECONFIG;
        if (jstr(wa, "callback_url") && !(s->wa_callback = strdup(jstr(wa, "callback_url"))))
            return DG_ENOMEM;
        /* the section itself is a script: templates, customers, faults, webhooks */
        if (!(txt = cJSON_PrintUnformatted(wa)))
            return DG_ENOMEM;
        rc = wa_sim_script(s->wa, txt, err, len);
        free(txt);
        if (rc)
            return DG_ECONFIG;
    }
    if (cJSON_IsObject(tw)) {
        dg_twsim_config c;
        memset(&c, 0, sizeof c);
        c.account_sid = jstr(tw, "account_sid");
        c.auth_token = jstr(tw, "auth_token");
        c.seed = seed;
        c.start_ms = sim_now(s);
        c.inbound_url = jstr(tw, "inbound_url");
        c.sent_delay_ms = (int64_t)jnum(tw, "sent_delay_ms", 0);
        c.final_delay_ms = (int64_t)jnum(tw, "final_delay_ms", 0);
        c.jitter_ms = (int64_t)jnum(tw, "jitter_ms", 0);
        if (!(s->tw = dg_twsim_new(&c)))
            return dg_errf(err, len, "twilio: account_sid and auth_token are required"), DG_ECONFIG;
        if (sim_twilio_apply(s, tw, err, len))
            return DG_ECONFIG;
    }
    if (cJSON_IsObject(sh)) {
        dg_shopsim_config c;
        const cJSON *o;
        memset(&c, 0, sizeof c);
        c.shop_domain = jstr(sh, "shop_domain");
        c.client_secret = jstr(sh, "client_secret");
        c.access_token = jstr(sh, "access_token");
        c.api_version = jstr(sh, "api_version");
        c.bucket_max = jnum(sh, "bucket_max", 0);
        c.restore_rate = jnum(sh, "restore_rate", 0);
        c.seed = seed;
        c.now = now_cb;
        c.now_ud = s;
        if (!(s->shop = dg_shopsim_new(&c)))
            return dg_errf(err, len,
                           "shopify: shop_domain, client_secret and access_token "
                           "are required"),
                   DG_ECONFIG;
        if (jstr(sh, "callback_url") && !(s->shop_callback = strdup(jstr(sh, "callback_url"))))
            return DG_ENOMEM;
        cJSON_ArrayForEach(o, cJSON_GetObjectItemCaseSensitive(sh, "orders"))
        {
            char *txt = cJSON_PrintUnformatted(o);
            int rc = txt ? dg_shopsim_add_order(s->shop, txt, strlen(txt), 1) : -1;
            free(txt);
            if (rc)
                return dg_errf(err, len, "shopify.orders: an order is invalid or a duplicate"),
                       DG_ECONFIG;
        }
    }
    if (!s->wa && !s->tw && !s->shop)
        return dg_errf(err, len, "no persona: configure whatsapp, twilio and/or shopify"),
               DG_ECONFIG;
    return 0;
}

static int load_config(sim *s, const char *path, const char **listen, cJSON **rootp, char *err,
                       size_t len)
{
    FILE *f = fopen(path, "rb");
    char *text;
    long n;
    cJSON *root, *clk;
    dg_clock_mode mode = DG_CLOCK_REAL;
    int64_t start = 0, anchor = 0;
    const char *m;
    if (!f)
        return dg_errf(err, len, "%s: %s", path, strerror(errno)), DG_EIO;
    fseek(f, 0, SEEK_END);
    n = ftell(f);
    fseek(f, 0, SEEK_SET);
    if (n < 0 || !(text = calloc(1, (size_t)n + 1)) || fread(text, 1, (size_t)n, f) != (size_t)n) {
        fclose(f);
        return dg_errf(err, len, "%s: cannot read", path), DG_EIO;
    }
    fclose(f);
    root = cJSON_Parse(text);
    free(text);
    if (!cJSON_IsObject(root)) {
        cJSON_Delete(root);
        return dg_errf(err, len, "%s: not a JSON object", path), DG_ECONFIG;
    }
    *rootp = root;
    *listen = jstr(root, "listen") ? jstr(root, "listen") : "127.0.0.1:0";
    clk = cJSON_GetObjectItemCaseSensitive(root, "clock");
    if ((m = jstr(clk, "mode")) != NULL) {
        if (strcmp(m, "scaled") == 0)
            mode = DG_CLOCK_SCALED;
        else if (strcmp(m, "manual") == 0)
            mode = DG_CLOCK_MANUAL;
        else if (strcmp(m, "real") != 0)
            return dg_errf(err, len, "clock.mode: real, scaled or manual"), DG_ECONFIG;
    }
    if (jstr(clk, "start") && dg_parse_iso8601(jstr(clk, "start"), &start))
        return dg_errf(err, len, "clock.start: an ISO 8601 time"), DG_ECONFIG;
    if (mode == DG_CLOCK_REAL)
        start = 0;
    s->rate = jnum(clk, "rate", 1.0) > 0 ? jnum(clk, "rate", 1.0) : 1.0;
    if (jstr(clk, "anchor") && (dg_parse_iso8601(jstr(clk, "anchor"), &anchor) || anchor <= 0))
        return dg_errf(err, len, "clock.anchor: an ISO 8601 time"), DG_ECONFIG;
    if (anchor && mode != DG_CLOCK_SCALED)
        return dg_errf(err, len, "clock.anchor: only a scaled clock has an anchor"), DG_ECONFIG;
    s->clock = dg_clock_new(s->loop, mode, start, s->rate);
    if (!s->clock)
        return DG_ENOMEM;
    if (anchor)
        dg_clock_anchor(s->clock, anchor);
    s->max_attempts = (int)jnum(root, "webhook_attempts", 6);
    if (s->max_attempts < 1)
        s->max_attempts = 1;
    return load_personas(s, root, (uint64_t)jnum(root, "seed", 1), err, len);
}

/* ---------------------------------------------------------------- main */

static void on_signal(uv_signal_t *h, int sig)
{
    sim *s = h->data;
    (void)sig;
    s->stopping = 1;
    uv_signal_stop(&s->sigint);
    uv_signal_stop(&s->sigterm);
    uv_stop(s->loop);
}

static void close_walk(uv_handle_t *h, void *arg)
{
    (void)arg;
    if (!uv_is_closing(h))
        uv_close(h, NULL);
}

int main(int argc, char **argv)
{
    sim s;
    uv_loop_t loop;
    const char *cfg = NULL, *listen = NULL;
    cJSON *root = NULL;
    char err[512];
    int rc;
    for (int i = 1; i < argc; i++) {
        if ((strcmp(argv[i], "-c") == 0 || strcmp(argv[i], "--config") == 0) && i + 1 < argc)
            cfg = argv[++i];
        else {
            fprintf(stderr, "usage: duegate-sim -c sim.json\n");
            return 2;
        }
    }
    if (!cfg) {
        fprintf(stderr, "usage: duegate-sim -c sim.json\n");
        return 2;
    }
    signal(SIGPIPE, SIG_IGN);
    memset(&s, 0, sizeof s);
    uv_loop_init(&loop);
    s.loop = &loop;
    rc = load_config(&s, cfg, &listen, &root, err, sizeof err);
    if (!rc && (rc = dg_http_server_new(&loop,
                                        &(dg_http_server_opts){.name = "sim",
                                                               .max_body_bytes = 8 << 20,
                                                               .max_connections = 8192},
                                        &s.srv)) != 0)
        snprintf(err, sizeof err, "cannot create the server");
    if (!rc && (rc = dg_http_server_route(s.srv, "*", "/", 1, &s, on_request, &s)) != 0)
        snprintf(err, sizeof err, "cannot route");
    if (!rc)
        rc = dg_http_server_listen(s.srv, listen, err, sizeof err);
    if (!rc &&
        (rc = dg_http_client_new(
             &loop, &(dg_http_client_opts){.user_agent = "duegate-sim", .max_host_connections = 32},
             &s.cli)) != 0)
        snprintf(err, sizeof err, "cannot create the HTTP client");
    cJSON_Delete(root);
    if (rc) {
        fprintf(stderr, "duegate-sim: %s\n", err);
    } else {
        printf("duegate-sim listening port=%d\n", dg_http_server_port(s.srv));
        fflush(stdout);
        uv_signal_init(&loop, &s.sigint);
        uv_signal_init(&loop, &s.sigterm);
        s.sigint.data = s.sigterm.data = &s;
        uv_signal_start(&s.sigint, on_signal, SIGINT);
        uv_signal_start(&s.sigterm, on_signal, SIGTERM);
        sim_pump(&s); /* orders from the config */
        uv_run(&loop, UV_RUN_DEFAULT);
    }
    s.stopping = 1;
    if (s.due_timer)
        dg_ctimer_stop(s.due_timer);
    if (s.cli)
        dg_http_client_free(s.cli); /* no callbacks from here on */
    while (s.laters) {              /* slow answers never given: the server frees the requests */
        later *l = s.laters;
        s.laters = l->next;
        l->prev = NULL;
        l->next = NULL;
        uv_timer_stop(&l->t);
        uv_close((uv_handle_t *)&l->t, later_closed_exit);
    }
    if (s.srv)
        dg_http_server_free(s.srv);
    if (s.clock)
        dg_clock_free(s.clock);
    uv_walk(&loop, close_walk, NULL);
    uv_run(&loop, UV_RUN_DEFAULT);
    uv_loop_close(&loop);
    while (s.calls) { /* canceled by dg_http_client_free: no callback came */
        hook_call *c = s.calls;
        s.calls = c->next;
        hook_free(c->h);
        free(c);
    }
    while (s.retries) {
        sim_hook *h = s.retries;
        s.retries = h->next;
        hook_free(h);
    }
    wa_sim_free(s.wa);
    dg_twsim_free(s.tw);
    dg_shopsim_free(s.shop);
    free(s.wa_callback);
    free(s.shop_callback);
    return rc ? 1 : 0;
}
