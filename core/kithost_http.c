/* The conformance kit's HTTP side and webhook helpers; see kithost_http.h. */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "crypto.h"
#include "form.h"
#include "kithost_http.h"

#define KIT_MAX_ROUTES 32
#define KIT(inst) ((dg_kit *)(void *)(inst))
#define KH(k) dg__kit_http(k)

struct dg_http_req {
    dg_kit *k;
    const dg_kit_route *route;
    char *body;
    int answered;
    int status;
    struct dg_http_req *next;
};

typedef struct tracked { /* a form handed to the plugin */
    void *p;
    struct tracked *next;
} tracked;

struct dg_kit_http {
    dg_kit_route routes[KIT_MAX_ROUTES];
    size_t n_routes;
    struct dg_http_req *reqs; /* every injected request, until the kit is freed */
    dg_kit_call *calls, *calls_tail;
    size_t n_calls;
    dg_kit_peer peer;
    tracked *forms;
};

dg_kit_http *dg__kit_http_new(void)
{
    dg_kit_http *h = calloc(1, sizeof *h);
    if (h)
        h->peer.status = 200;
    return h;
}

void dg__kit_http_stopped(dg_kit *k)
{
    size_t open_calls = 0, forms = 0;
    for (dg_kit_call *c = KH(k)->calls; c; c = c->next)
        open_calls += !c->answered && !c->canceled;
    for (tracked *t = KH(k)->forms; t; t = t->next)
        forms++;
    for (struct dg_http_req *r = KH(k)->reqs; r; r = r->next)
        if (!r->answered)
            dg_kit_violation(k,
                             "inbound request to %s %s never answered by the time stop "
                             "finished",
                             r->route->method, r->route->path);
    if (open_calls)
        dg_kit_violation(k,
                         "leak: %zu outbound call(s) neither answered nor canceled when stop "
                         "finished (http_cancel them, or drain before completing stop)",
                         open_calls);
    if (forms)
        dg_kit_violation(k, "leak: %zu form(s) from host->form_parse never freed", forms);
}

void dg__kit_http_free(dg_kit_http *h)
{
    if (!h)
        return;
    while (h->calls) {
        dg_kit_call *c = h->calls;
        h->calls = c->next;
        free(c->method);
        free(c->url);
        free(c->headers);
        free(c->body);
        free(c);
    }
    while (h->reqs) {
        struct dg_http_req *r = h->reqs;
        h->reqs = r->next;
        free(r->body);
        free(r);
    }
    while (h->forms) {
        tracked *t = h->forms;
        h->forms = t->next;
        dg_form_free(t->p);
        free(t);
    }
    for (size_t i = 0; i < h->n_routes; i++) {
        free(h->routes[i].method);
        free(h->routes[i].path);
    }
    free(h);
}

/* ------------------------------------------------------------- inbound */

int dg__kit_http_route(dg_instance *inst, const char *method, const char *path,
                       dg_http_handler handler, void *ud)
{
    dg_kit *k = KIT(inst);
    dg_kit_route *r;
    if (dg__kit_guard(k, "http_route"))
        return DG_ESTATE;
    if (!method || !path || path[0] != '/' || !handler)
        return DG_EINVAL;
    for (size_t i = 0; i < KH(k)->n_routes; i++)
        if (strcmp(KH(k)->routes[i].method, method) == 0 &&
            strcmp(KH(k)->routes[i].path, path) == 0)
            return DG_EEXIST;
    if (KH(k)->n_routes >= KIT_MAX_ROUTES)
        return DG_ENOMEM;
    r = &KH(k)->routes[KH(k)->n_routes];
    if (!(r->method = strdup(method)) || !(r->path = strdup(path))) {
        free(r->method);
        return DG_ENOMEM;
    }
    r->handler = handler;
    r->ud = ud;
    KH(k)->n_routes++;
    return DG_OK;
}

size_t dg_kit_n_routes(dg_kit *k)
{
    return KH(k)->n_routes;
}
const dg_kit_route *dg_kit_route_at(dg_kit *k, size_t i)
{
    return i < KH(k)->n_routes ? &KH(k)->routes[i] : NULL;
}

static int req_ok(dg_http_req *r, const char *fn)
{
    if (!r || dg__kit_guard(r->k, fn))
        return 0;
    if (r->answered) {
        dg_kit_violation(r->k, "host->%s after the request was answered (its data is gone)", fn);
        return 0;
    }
    return 1;
}

const char *dg__kit_req_method(dg_http_req *r)
{
    return req_ok(r, "http_req_method") ? r->route->method : NULL;
}
const char *dg__kit_req_path(dg_http_req *r)
{
    return req_ok(r, "http_req_path") ? r->route->path : NULL;
}
const char *dg__kit_req_query(dg_http_req *r)
{
    return req_ok(r, "http_req_query") ? "" : NULL;
}
const char *dg__kit_req_header(dg_http_req *r, const char *name)
{
    if (!req_ok(r, "http_req_header") || !name)
        return NULL;
    return strcasecmp(name, "Content-Type") == 0 ? "application/json" : NULL;
}
const void *dg__kit_req_body(dg_http_req *r, size_t *len)
{
    if (!req_ok(r, "http_req_body"))
        return NULL;
    if (len)
        *len = strlen(r->body);
    return r->body;
}

int dg__kit_respond(dg_http_req *r, int status, const dg_kv *h, size_t nh, const void *body,
                    size_t len)
{
    (void)h, (void)nh, (void)body, (void)len;
    if (!req_ok(r, "http_respond"))
        return DG_ESTATE;
    if (status < 100 || status > 599)
        dg_kit_violation(r->k, "host->http_respond with status %d", status);
    r->answered = 1;
    r->status = status;
    return DG_OK;
}

int dg_kit_inject(dg_kit *k, const dg_kit_route *rt, const char *body)
{
    struct dg_http_req *req = calloc(1, sizeof *req);
    if (!req || !(req->body = strdup(body ? body : ""))) {
        free(req);
        return DG_ENOMEM;
    }
    req->k = k;
    req->route = rt;
    req->next = KH(k)->reqs; /* kept until dg_kit_free: it may be answered later */
    KH(k)->reqs = req;
    rt->handler(rt->ud, req);
    return req->answered ? req->status : 0;
}

/* ------------------------------------------------------------ outbound */

static void add_header(char **buf, size_t *len, const char *name, const char *value)
{
    size_t n = strlen(name) + strlen(value) + 4;
    char *nb = realloc(*buf, *len + n + 1);
    if (!nb)
        return;
    *len += (size_t)sprintf(nb + *len, "%s: %s\n", name, value);
    *buf = nb;
}

static dg_kit_call *record(dg_kit *k, int smtp, const char *method, const char *url,
                           const void *body, size_t body_len, dg_http_done_cb done, void *ud)
{
    dg_kit_call *c = calloc(1, sizeof *c);
    char *raw = malloc(body_len + 1);
    if (!c || !raw) {
        free(c);
        free(raw);
        return NULL;
    }
    if (body_len)
        memcpy(raw, body, body_len);
    raw[body_len] = '\0';
    c->kit = k;
    c->smtp = smtp;
    c->method = strdup(method);
    c->url = dg_kit_mask(k, url);
    c->body = dg_kit_mask(k, raw);
    c->body_len = body_len;
    c->done = done;
    c->ud = ud;
    free(raw);
    if (KH(k)->calls_tail)
        KH(k)->calls_tail->next = c;
    else
        KH(k)->calls = c;
    KH(k)->calls_tail = c;
    KH(k)->n_calls++;
    return c;
}

int dg__kit_http_request(dg_instance *inst, const dg_http_request *req, dg_http_done_cb done,
                         void *ud, dg_http_call **call)
{
    dg_kit *k = KIT(inst);
    dg_kit_call *c;
    size_t hl = 0;
    if (call)
        *call = NULL;
    if (dg__kit_guard(k, "http_request"))
        return DG_ESTATE;
    if (!req || !req->method || !req->url || !done) {
        dg_kit_violation(k, "host->http_request without a request, method, URL or callback");
        return DG_EINVAL;
    }
    if (req->struct_size < offsetof(dg_http_request, reserved))
        dg_kit_violation(k, "dg_http_request.struct_size %u is too small (use DG_INIT)",
                         (unsigned)req->struct_size);
    if (!(c = record(k, 0, req->method, req->url, req->body, req->body_len, done, ud)))
        return DG_ENOMEM;
    for (size_t i = 0; i < req->n_headers; i++) {
        const char *v = req->headers[i].value ? req->headers[i].value : "";
        if (req->headers[i].flags != DG_KV_SECRET && dg_kit_has_secret(k, v))
            dg_kit_note(k, "request header %s carries a secret but is not flagged DG_KV_SECRET",
                        req->headers[i].key);
        char *m = req->headers[i].flags == DG_KV_SECRET ? strdup("****") : dg_kit_mask(k, v);
        add_header(&c->headers, &hl, req->headers[i].key ? req->headers[i].key : "?", m ? m : "");
        free(m);
    }
    if (req->bearer_token)
        add_header(&c->headers, &hl, "Authorization", "Bearer ****");
    if (req->basic_user) {
        char *u = dg_kit_mask(k, req->basic_user);
        char v[300];
        snprintf(v, sizeof v, "Basic %s:****", u ? u : "");
        add_header(&c->headers, &hl, "Authorization", v);
        free(u);
    }
    if (call)
        *call = (dg_http_call *)(void *)c;
    return DG_OK;
}

int dg__kit_smtp_send(dg_instance *inst, const dg_smtp_message *m, dg_http_done_cb done, void *ud,
                      dg_http_call **call)
{
    dg_kit *k = KIT(inst);
    dg_kit_call *c;
    size_t hl = 0;
    if (call)
        *call = NULL;
    if (dg__kit_guard(k, "smtp_send"))
        return DG_ESTATE;
    if (!m || !m->url || !m->mail_from || !m->n_rcpt || !m->data || !done) {
        dg_kit_violation(k, "host->smtp_send without URL, sender, recipients, data or callback");
        return DG_EINVAL;
    }
    if (!(c = record(k, 1, "SMTP", m->url, m->data, m->data_len, done, ud)))
        return DG_ENOMEM;
    add_header(&c->headers, &hl, "MAIL FROM", m->mail_from);
    for (size_t i = 0; i < m->n_rcpt; i++)
        add_header(&c->headers, &hl, "RCPT TO", m->rcpt[i] ? m->rcpt[i] : "");
    if (call)
        *call = (dg_http_call *)(void *)c;
    return DG_OK;
}

void dg__kit_http_cancel(dg_http_call *call)
{
    dg_kit_call *c = (dg_kit_call *)(void *)call;
    if (!c || dg__kit_guard(c->kit, "http_cancel"))
        return;
    if (c->answered)
        dg_kit_note(c->kit, "host->http_cancel on a call whose callback already ran");
    else if (c->canceled)
        dg_kit_violation(c->kit, "host->http_cancel called twice on the same call");
    c->canceled = 1;
}

void dg_kit_set_peer(dg_kit *k, const dg_kit_peer *p)
{
    KH(k)->peer = *p;
}

int dg_kit_pump(dg_kit *k)
{
    int n = 0;
    for (dg_kit_call *c = KH(k)->calls; c; c = c->next) {
        dg_http_response r;
        dg_kv h[2];
        size_t nh = 0;
        const dg_kit_peer *p = &KH(k)->peer;
        if (c->answered || c->canceled)
            continue;
        DG_INIT(&r);
        c->answered = 1;
        c->transport = p->transport;
        if (p->transport == DG_HTTP_OK) {
            if (p->content_type && !c->smtp)
                h[nh++] = (dg_kv){"Content-Type", p->content_type, 0};
            if (p->retry_after && !c->smtp)
                h[nh++] = (dg_kv){"Retry-After", p->retry_after, 0};
            r.status = c->status = c->smtp ? (p->smtp_status ? p->smtp_status : 250) : p->status;
            r.headers = h;
            r.n_headers = nh;
            r.body = p->body ? p->body : "";
            r.body_len = strlen(r.body);
            r.retry_after_ms = p->retry_after && !c->smtp ? p->retry_after_ms : -1;
        } else {
            r.transport_error = p->transport;
            r.error_message = "connection refused (simulated by the conformance kit)";
            r.body = "";
            r.retry_after_ms = -1;
        }
        r.elapsed_ms = 12;
        n++;
        c->done(c->ud, &r);
    }
    return n;
}

dg_kit_call *dg_kit_calls(dg_kit *k)
{
    return KH(k)->calls;
}
size_t dg_kit_n_calls(dg_kit *k)
{
    return KH(k)->n_calls;
}

/* ------------------------------------------------------------- helpers */

int dg__kit_hmac(dg_hmac_alg alg, const void *key, size_t kl, const void *d, size_t l,
                 unsigned char *out, size_t cap)
{
    dg__kit_guard(dg__kit_current(), "hmac");
    return dg_hmac(alg, key, kl, d, l, out, cap);
}
int dg__kit_ct_equal(const void *a, size_t al, const void *b, size_t bl)
{
    dg__kit_guard(dg__kit_current(), "ct_equal");
    return dg_ct_equal(a, al, b, bl);
}
int dg__kit_b64(const void *in, size_t l, char *out, size_t cap)
{
    dg__kit_guard(dg__kit_current(), "base64_encode");
    return dg_base64_encode(in, l, out, cap);
}
int dg__kit_hex(const void *in, size_t l, char *out, size_t cap)
{
    dg__kit_guard(dg__kit_current(), "hex_encode");
    return dg_hex_encode(in, l, out, cap);
}
dg_form *dg__kit_form_parse(const char *d, size_t l)
{
    dg_kit *k = dg__kit_current();
    dg_form *f;
    tracked *t;
    if (dg__kit_guard(k, "form_parse") || !(f = dg_form_parse(d, l)))
        return NULL;
    if (!(t = calloc(1, sizeof *t))) {
        dg_form_free(f);
        return NULL;
    }
    t->p = f;
    t->next = KH(k)->forms;
    KH(k)->forms = t;
    return f;
}

size_t dg__kit_form_count(const dg_form *f)
{
    dg__kit_guard(dg__kit_current(), "form_count");
    return dg_form_count(f);
}
const char *dg__kit_form_name(const dg_form *f, size_t i)
{
    dg__kit_guard(dg__kit_current(), "form_name");
    return dg_form_name(f, i);
}
const char *dg__kit_form_value(const dg_form *f, size_t i)
{
    dg__kit_guard(dg__kit_current(), "form_value");
    return dg_form_value(f, i);
}
const char *dg__kit_form_get(const dg_form *f, const char *n)
{
    dg__kit_guard(dg__kit_current(), "form_get");
    return dg_form_get(f, n);
}
void dg__kit_form_free(dg_form *f)
{
    dg_kit *k = dg__kit_current();
    if (!f || !k)
        return;
    dg__kit_guard(k, "form_free"); /* after stop: flagged, but freed anyway */
    for (tracked **pp = &KH(k)->forms; *pp; pp = &(*pp)->next)
        if ((*pp)->p == f) {
            tracked *t = *pp;
            *pp = t->next;
            free(t);
            dg_form_free(f);
            return;
        }
    dg_kit_violation(k, "host->form_free of a form the host did not hand out");
}
