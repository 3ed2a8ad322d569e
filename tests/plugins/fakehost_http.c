/* The fake host's outbound HTTP and SMTP: calls are recorded, and the test
 * answers them with fh_reply (see fakehost.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fakehost_int.h"

/* ------------------------------------------------------ outbound HTTP */

static int record_call(fh *h, dg_http_done_cb done, void *ud, dg_http_call **call)
{
    dg_http_call *c;
    if (h->n_out >= MAXN)
        return DG_ENOMEM;
    c = calloc(1, sizeof *c);
    c->h = h;
    c->idx = h->n_out;
    c->done = done;
    c->ud = ud;
    h->calls[h->n_out] = c;
    h->n_out++;
    if (call)
        *call = c;
    return 0;
}

int fh__http_request(dg_instance *inst, const dg_http_request *req, dg_http_done_cb done,
                          void *ud, dg_http_call **call)
{
    fh *h = H(inst);
    fh_outbound *o = &h->out[h->n_out];
    if (!req || !req->url || !done)
        return DG_EINVAL;
    memset(o, 0, sizeof *o);
    snprintf(o->method, sizeof o->method, "%s", req->method ? req->method : "GET");
    o->url = strdup(req->url);
    o->headers = cJSON_CreateObject();
    for (size_t i = 0; i < req->n_headers; i++)
        cJSON_AddStringToObject(o->headers, req->headers[i].key, req->headers[i].value);
    o->body = malloc(req->body_len + 1);
    if (req->body_len)
        memcpy(o->body, req->body, req->body_len);
    o->body[req->body_len] = '\0';
    o->body_len = req->body_len;
    o->basic_user = req->basic_user ? strdup(req->basic_user) : NULL;
    o->basic_password = req->basic_password ? strdup(req->basic_password) : NULL;
    o->bearer = req->bearer_token ? strdup(req->bearer_token) : NULL;
    return record_call(h, done, ud, call);
}

int fh__smtp_send(dg_instance *inst, const dg_smtp_message *m, dg_http_done_cb done,
                       void *ud, dg_http_call **call)
{
    fh *h = H(inst);
    fh_outbound *o = &h->out[h->n_out];
    if (!m || !m->url || !done)
        return DG_EINVAL;
    memset(o, 0, sizeof *o);
    o->smtp = 1;
    snprintf(o->method, sizeof o->method, "SMTP");
    o->url = strdup(m->url);
    o->headers = cJSON_CreateObject();
    o->body = malloc(m->data_len + 1);
    memcpy(o->body, m->data, m->data_len);
    o->body[m->data_len] = '\0';
    o->body_len = m->data_len;
    o->mail_from = m->mail_from ? strdup(m->mail_from) : NULL;
    o->basic_user = m->username ? strdup(m->username) : NULL;
    o->basic_password = m->password ? strdup(m->password) : NULL;
    o->rcpt = cJSON_CreateArray();
    for (size_t i = 0; i < m->n_rcpt; i++)
        cJSON_AddItemToArray(o->rcpt, cJSON_CreateString(m->rcpt[i]));
    return record_call(h, done, ud, call);
}

void fh__http_cancel(dg_http_call *c)
{
    if (!c)
        return;
    c->h->out[c->idx].canceled = 1;
}

size_t fh_n_outbound(fh *h) { return h->n_out; }
fh_outbound *fh_outbound_at(fh *h, size_t i) { return i < h->n_out ? &h->out[i] : NULL; }

int fh_reply(fh *h, size_t i, int status, const char *const *headers, const char *body,
             dg_transport_error te, int64_t retry_after_ms)
{
    dg_http_response r;
    dg_kv hv[32];
    size_t n = 0;
    fh_outbound *o = fh_outbound_at(h, i);
    if (!o || o->answered || o->canceled)
        return DG_ESTATE;
    o->answered = 1;
    for (size_t k = 0; headers && headers[k] && n < 32; k += 2, n++) {
        hv[n].key = headers[k];
        hv[n].value = headers[k + 1];
        hv[n].flags = 0;
    }
    DG_INIT(&r);
    r.status = te == DG_HTTP_OK ? status : 0;
    r.transport_error = te;
    r.error_message = te == DG_HTTP_OK ? NULL : "simulated transport error";
    r.headers = hv;
    r.n_headers = n;
    r.body = body ? body : "";
    r.body_len = body ? strlen(body) : 0;
    r.retry_after_ms = retry_after_ms;
    h->calls[i]->done(h->calls[i]->ud, &r);
    return 0;
}
