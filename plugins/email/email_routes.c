/* email: the webhook routes (see email.c for the whole contract).
 * GET  .../unsubscribe?t=TOKEN  a confirmation page, no state change
 * POST .../unsubscribe?t=TOKEN  one-click opt-out (RFC 8058)
 * POST .../inbound              a parsed-mail webhook: reply or opt-out */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>

#include <cjson/cJSON.h>
#include <duegate/plugin.h>

#include "email_int.h"
#include "mime.h"

/* -------------------------------------------------------------- webhooks */

static void respond(em *e, dg_http_req *req, int status, const char *ctype, const char *body)
{
    dg_kv h[2] = {{"Content-Type", ctype, DG_KV_PLAIN}, {"Cache-Control", "no-store", DG_KV_PLAIN}};
    e->host->http_respond(req, status, h, 2, body, strlen(body));
}

static void html_escape(dg__mbuf *b, const char *s)
{
    for (; *s; s++) {
        switch (*s) {
        case '&':
            dg__mbuf_str(b, "&amp;");
            break;
        case '<':
            dg__mbuf_str(b, "&lt;");
            break;
        case '>':
            dg__mbuf_str(b, "&gt;");
            break;
        case '"':
            dg__mbuf_str(b, "&quot;");
            break;
        case '\'':
            dg__mbuf_str(b, "&#39;");
            break;
        default:
            dg__mbuf_add(b, s, 1);
        }
    }
}

static void page(em *e, dg_http_req *req, int status, const char *title, const char *addr,
                 const char *token)
{
    dg__mbuf b = {0};
    dg__mbuf_str(&b, "<!DOCTYPE html><html><head><meta charset=\"utf-8\">"
                     "<meta name=\"robots\" content=\"noindex\"><title>");
    dg__mbuf_str(&b, title);
    dg__mbuf_str(&b, "</title></head><body><h1>");
    dg__mbuf_str(&b, title);
    dg__mbuf_str(&b, "</h1>");
    if (token) {
        dg__mbuf_str(&b, "<p>Stop e-mail reminders to <b>");
        html_escape(&b, addr);
        dg__mbuf_str(&b, "</b>?</p><form method=\"post\" action=\"?t=");
        html_escape(&b, token);
        dg__mbuf_str(&b, "\"><input type=\"hidden\" name=\"List-Unsubscribe\" value=\"One-Click\">"
                         "<button type=\"submit\">Unsubscribe</button></form>");
    } else if (addr) {
        dg__mbuf_str(&b, "<p>We will not send e-mail reminders to <b>");
        html_escape(&b, addr);
        dg__mbuf_str(&b, "</b> any more.</p>");
    } else {
        dg__mbuf_str(&b, "<p>This link is not valid.</p>");
    }
    dg__mbuf_str(&b, "</body></html>\n");
    if (b.oom)
        respond(e, req, 500, "text/plain", "out of memory");
    else
        respond(e, req, status, "text/html; charset=utf-8", b.p);
    dg__mbuf_free(&b);
}

/* Token from the query, else from a form body (t=...). */
static int request_address(em *e, dg_http_req *req, char *addr, size_t cap)
{
    const dg_host *H = e->host;
    const char *q = H->http_req_query(req);
    dg_form *f = q && *q ? H->form_parse(q, strlen(q)) : NULL;
    const char *t = f ? H->form_get(f, "t") : NULL;
    int rc = -1;
    dg_form *bf = NULL;
    if (!t && strcmp(H->http_req_method(req), "POST") == 0) {
        size_t len = 0;
        const char *body = H->http_req_body(req, &len);
        bf = H->form_parse(body ? body : "", body ? len : 0);
        t = bf ? H->form_get(bf, "t") : NULL;
    }
    if (t)
        rc = em_check_token(e, t, addr, cap);
    if (f)
        H->form_free(f);
    if (bf)
        H->form_free(bf);
    return rc;
}

void em_on_unsub_get(void *ud, dg_http_req *req)
{
    em *e = ud;
    char addr[300], token[700];
    if (request_address(e, req, addr, sizeof addr) != 0 ||
        em_make_token(e, addr, token, sizeof token) != DG_OK) {
        page(e, req, 403, "Link not valid", NULL, NULL);
        return;
    }
    /* A GET changes nothing: mail scanners follow links. */
    page(e, req, 200, "Unsubscribe", addr, token);
}

typedef struct pending_answer {
    em *e;
    dg_http_req *req;
    int kind; /* 0 unsubscribe page, 1 inbound JSON */
    char addr[300];
    int in_call, called, status; /* done may run inside emit itself */
} pending_answer;

static void answer(pending_answer *p, int rc)
{
    if (rc != DG_OK && rc != DG_EEXIST)
        respond(p->e, p->req, 500, "text/plain", "cannot store the event, try again");
    else if (p->kind == 0)
        page(p->e, p->req, 200, "Unsubscribed", p->addr, NULL);
    else
        respond(p->e, p->req, 200, "application/json", "{\"ok\":true}");
}

static void on_emitted(void *ud, int status)
{
    pending_answer *p = ud;
    if (p->in_call) {
        p->called = 1;
        p->status = status;
        return;
    }
    answer(p, status);
    free(p);
}

static void emit_and_answer(em *e, dg_http_req *req, const dg_channel_event *ev, int kind,
                            const char *addr)
{
    pending_answer *p = calloc(1, sizeof *p);
    int rc;
    if (!p) {
        respond(e, req, 500, "text/plain", "out of memory");
        return;
    }
    p->e = e;
    p->req = req;
    p->kind = kind;
    snprintf(p->addr, sizeof p->addr, "%s", addr);
    p->in_call = 1;
    rc = e->host->emit_channel_event(e->inst, ev, on_emitted, p);
    p->in_call = 0;
    if (p->called)
        rc = p->status;
    else if (rc == DG_PENDING)
        return; /* on_emitted answers */
    answer(p, rc);
    free(p);
}

void em_on_unsub_post(void *ud, dg_http_req *req)
{
    em *e = ud;
    char addr[300], dedupe[320];
    dg_channel_event ev;
    if (request_address(e, req, addr, sizeof addr) != 0) {
        e->host->metric_add(e->inst, "duegate_webhook_rejected_total", NULL, 0, 1);
        page(e, req, 403, "Link not valid", NULL, NULL);
        return;
    }
    DG_INIT(&ev);
    ev.kind = DG_CHEV_OPTED_OUT;
    ev.address = addr;
    ev.occurred_at = e->host->now_ms(e->inst);
    snprintf(dedupe, sizeof dedupe, "unsubscribe:%s", addr);
    ev.dedupe_key = dedupe;
    em_logkv(e, DG_LOG_INFO, "email_unsubscribe", "address", addr, DG_KV_EMAIL);
    emit_and_answer(e, req, &ev, 0, addr);
}

void em_on_inbound(void *ud, dg_http_req *req)
{
    em *e = ud;
    const dg_host *H = e->host;
    const char *sec = H->http_req_header(req, "X-Duegate-Secret");
    const char *auth = H->http_req_header(req, "Authorization");
    const char *ctype = H->http_req_header(req, "Content-Type");
    const char *body, *from = NULL, *subject = NULL, *text = NULL, *mid = NULL;
    size_t len = 0;
    cJSON *j = NULL;
    dg_form *f = NULL;
    char addr[300], dedupe[300];
    dg_channel_event ev;
    if (!sec && auth && strncasecmp(auth, "Bearer ", 7) == 0)
        sec = auth + 7;
    if (!sec || !H->ct_equal(sec, strlen(sec), e->inbound_secret, strlen(e->inbound_secret))) {
        H->metric_add(e->inst, "duegate_webhook_rejected_total", NULL, 0, 1);
        respond(e, req, sec ? 403 : 401, "text/plain", "bad or missing secret");
        return;
    }
    body = H->http_req_body(req, &len);
    if (ctype && strncasecmp(ctype, "application/x-www-form-urlencoded", 33) == 0) {
        f = H->form_parse(body ? body : "", body ? len : 0);
        if (f) {
            from = H->form_get(f, "from");
            if (!from)
                from = H->form_get(f, "sender");
            subject = H->form_get(f, "subject");
            text = H->form_get(f, "text");
            if (!text)
                text = H->form_get(f, "stripped-text");
            if (!text)
                text = H->form_get(f, "body-plain");
            mid = H->form_get(f, "message_id");
            if (!mid)
                mid = H->form_get(f, "Message-Id");
        }
    } else if ((j = cJSON_ParseWithLength(body ? body : "", len)) != NULL) {
        const cJSON *v;
        if (cJSON_IsString(v = cJSON_GetObjectItemCaseSensitive(j, "from")))
            from = v->valuestring;
        if (cJSON_IsString(v = cJSON_GetObjectItemCaseSensitive(j, "subject")))
            subject = v->valuestring;
        if (cJSON_IsString(v = cJSON_GetObjectItemCaseSensitive(j, "text")))
            text = v->valuestring;
        if (cJSON_IsString(v = cJSON_GetObjectItemCaseSensitive(j, "message_id")))
            mid = v->valuestring;
    }
    if (dg__mail_extract_address(from, addr, sizeof addr) != 0) {
        respond(e, req, 400, "text/plain", "a valid \"from\" is required");
        goto out;
    }
    DG_INIT(&ev);
    ev.address = addr;
    ev.occurred_at = H->now_ms(e->inst);
    ev.provider_message_id = mid;
    if (dg__mail_is_optout(text, 0) || dg__mail_is_optout(subject, 1)) {
        ev.kind = DG_CHEV_OPTED_OUT;
    } else {
        ev.kind = DG_CHEV_REPLIED;
        ev.text = text && *text ? text : (subject ? subject : "");
    }
    if (mid) {
        snprintf(dedupe, sizeof dedupe, "%s:inbound", mid);
        ev.dedupe_key = dedupe;
    }
    em_logkv(e, DG_LOG_INFO, "email_inbound", "from", addr, DG_KV_EMAIL);
    emit_and_answer(e, req, &ev, 1, addr);
out:
    cJSON_Delete(j);
    if (f)
        H->form_free(f);
}
