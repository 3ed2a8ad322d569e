/* Part of the client module (http_client.h): building HTTP and SMTP calls.
 * Arguments are checked and copied into the call; the options reach a curl
 * easy handle only when the call starts (dg__hc_setup), so calls waiting
 * for a slot hold no curl state. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "http_client_int.h"

static int safe_text(const char *s)
{
    return s && !strpbrk(s, "\r\n");
}

static char *dupmem(const void *p, size_t n)
{
    char *d = malloc(n + 1);
    if (d) {
        if (n)
            memcpy(d, p, n);
        d[n] = '\0';
    }
    return d;
}

static size_t on_upload(char *buf, size_t sz, size_t n, void *ud)
{
    dg_http_call *k = ud;
    size_t want = sz * n, left = k->data_len - k->data_off;
    if (want > left)
        want = left;
    memcpy(buf, k->data + k->data_off, want);
    k->data_off += want;
    return want;
}

static void setup_http(dg_http_call *k, CURL *e)
{
    curl_easy_setopt(e, CURLOPT_URL, k->url);
#if LIBCURL_VERSION_NUM >= 0x075500
    curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
#else
    curl_easy_setopt(e, CURLOPT_PROTOCOLS, (long)(CURLPROTO_HTTP | CURLPROTO_HTTPS));
#endif
    curl_easy_setopt(e, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_2TLS);
    curl_easy_setopt(e, CURLOPT_USERAGENT, k->c->o.user_agent);
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, k->hdrs);
    if (k->user) {
        curl_easy_setopt(e, CURLOPT_HTTPAUTH, (long)CURLAUTH_BASIC);
        curl_easy_setopt(e, CURLOPT_USERNAME, k->user);
        curl_easy_setopt(e, CURLOPT_PASSWORD, k->pass);
    }
    switch (k->mode) {
    case 0:
        curl_easy_setopt(e, CURLOPT_HTTPGET, 1L);
        break;
    case 1:
        curl_easy_setopt(e, CURLOPT_NOBODY, 1L);
        break;
    case 2:
        curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, k->method); /* DELETE etc. without a body */
        break;
    default:
        curl_easy_setopt(e, CURLOPT_POSTFIELDS, k->data);
        curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)k->data_len);
        if (k->method)
            curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, k->method);
    }
}

static void setup_smtp(dg_http_call *k, CURL *e)
{
    curl_easy_setopt(e, CURLOPT_URL, k->url);
#if LIBCURL_VERSION_NUM >= 0x075500
    curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "smtp,smtps");
#else
    curl_easy_setopt(e, CURLOPT_PROTOCOLS, (long)(CURLPROTO_SMTP | CURLPROTO_SMTPS));
#endif
    if (!k->smtps)
        curl_easy_setopt(e, CURLOPT_USE_SSL,
                         (long)(k->require_tls ? CURLUSESSL_ALL : CURLUSESSL_NONE));
    /* One connection per message: libcurl could otherwise hand a plain
     * connection to a message that requires STARTTLS. */
    curl_easy_setopt(e, CURLOPT_FRESH_CONNECT, 1L);
    curl_easy_setopt(e, CURLOPT_FORBID_REUSE, 1L);
    curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, k->verify_peer ? 1L : 0L);
    curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, k->verify_peer ? 2L : 0L);
    if (k->user) {
        curl_easy_setopt(e, CURLOPT_USERNAME, k->user);
        curl_easy_setopt(e, CURLOPT_PASSWORD, k->pass);
    }
    curl_easy_setopt(e, CURLOPT_MAIL_FROM, k->from);
    curl_easy_setopt(e, CURLOPT_MAIL_RCPT, k->rcpt);
    curl_easy_setopt(e, CURLOPT_READFUNCTION, on_upload);
    curl_easy_setopt(e, CURLOPT_READDATA, k);
    curl_easy_setopt(e, CURLOPT_UPLOAD, 1L);
    curl_easy_setopt(e, CURLOPT_INFILESIZE_LARGE, (curl_off_t)k->data_len);
}

void dg__hc_setup(dg_http_call *k)
{
    if (k->smtp)
        setup_smtp(k, k->easy);
    else
        setup_http(k, k->easy);
}

int dg_http_client_request(dg_http_client *c, void *owner, const dg_http_request *req,
                           dg_http_done_cb done, void *ud, dg_http_call **out)
{
    dg_http_call *k;
    const char *m;
    int has_ct = 0;
    char line[1024];
    if (out)
        *out = NULL;
    if (!c || c->freeing || !req || !req->url || !done)
        return c && c->freeing ? DG_ESTATE : DG_EINVAL;
    m = req->method && *req->method ? req->method : "GET";
    if (!safe_text(req->url) || !safe_text(m) || (req->body_len && !req->body))
        return DG_EINVAL;
    for (size_t i = 0; i < req->n_headers; i++)
        if (!req->headers[i].key || !safe_text(req->headers[i].key) ||
            !safe_text(req->headers[i].value) || strchr(req->headers[i].key, ':'))
            return DG_EINVAL;
    if (!(k = dg__hc_call_new(c, owner, done, ud)))
        return DG_ENOMEM;
    for (size_t i = 0; i < req->n_headers; i++) {
        struct curl_slist *l;
        if (strcasecmp(req->headers[i].key, "Content-Type") == 0)
            has_ct = 1;
        snprintf(line, sizeof line, "%s: %s", req->headers[i].key, req->headers[i].value);
        if (!(l = curl_slist_append(k->hdrs, line)))
            goto nomem;
        k->hdrs = l;
    }
    if (req->bearer_token) {
        struct curl_slist *l;
        if (!safe_text(req->bearer_token))
            goto inval;
        snprintf(line, sizeof line, "Authorization: Bearer %s", req->bearer_token);
        if (!(l = curl_slist_append(k->hdrs, line)))
            goto nomem;
        k->hdrs = l;
    }
    if (!req->body_len && !has_ct && strcmp(m, "POST") == 0) {
        struct curl_slist *l = curl_slist_append(k->hdrs, "Content-Type:");
        if (!l)
            goto nomem;
        k->hdrs = l;
    }
    if (req->body_len && !has_ct) { /* JSON if it looks like it, else a form */
        const char *b = req->body;
        struct curl_slist *l =
            curl_slist_append(k->hdrs, b[0] == '{' || b[0] == '['
                                           ? "Content-Type: application/json"
                                           : "Content-Type: application/x-www-form-urlencoded");
        if (!l)
            goto nomem;
        k->hdrs = l;
    }
    if (req->body_len) { /* no 100-continue round trip */
        struct curl_slist *l = curl_slist_append(k->hdrs, "Expect:");
        if (!l)
            goto nomem;
        k->hdrs = l;
    }
    if (!(k->url = strdup(req->url)))
        goto nomem;
    if (req->basic_user) {
        if (!(k->user = strdup(req->basic_user)) ||
            !(k->pass = strdup(req->basic_password ? req->basic_password : "")))
            goto nomem;
    }
    if (strcmp(m, "GET") == 0) {
        k->mode = 0;
    } else if (strcmp(m, "HEAD") == 0) {
        k->mode = 1;
    } else if (req->body_len == 0 && strcmp(m, "POST") != 0) {
        k->mode = 2;
        if (!(k->method = strdup(m)))
            goto nomem;
    } else {
        k->mode = 3;
        if (!(k->data = dupmem(req->body ? req->body : "", req->body_len)))
            goto nomem;
        k->data_len = req->body_len;
        if (strcmp(m, "POST") != 0 && !(k->method = strdup(m)))
            goto nomem;
    }
    return dg__hc_call_start(k, req->timeout_ms, out);
nomem:
    dg__hc_call_free(k);
    return DG_ENOMEM;
inval:
    dg__hc_call_free(k);
    return DG_EINVAL;
}

int dg_http_client_smtp(dg_http_client *c, void *owner, const dg_smtp_message *msg,
                        dg_http_done_cb done, void *ud, dg_http_call **out)
{
    dg_http_call *k;
    int smtps;
    if (out)
        *out = NULL;
    if (!c || c->freeing)
        return DG_ESTATE;
    if (!msg || !msg->url || !done || !msg->mail_from || !msg->n_rcpt || !msg->rcpt || !msg->data ||
        !safe_text(msg->url) || !safe_text(msg->mail_from))
        return DG_EINVAL;
    smtps = strncasecmp(msg->url, "smtps://", 8) == 0;
    if (!smtps && strncasecmp(msg->url, "smtp://", 7) != 0)
        return DG_EINVAL;
    for (size_t i = 0; i < msg->n_rcpt; i++)
        if (!safe_text(msg->rcpt[i]))
            return DG_EINVAL;
    if (!(k = dg__hc_call_new(c, owner, done, ud)))
        return DG_ENOMEM;
    k->smtp = 1;
    for (size_t i = 0; i < msg->n_rcpt; i++) {
        struct curl_slist *l = curl_slist_append(k->rcpt, msg->rcpt[i]);
        if (!l)
            goto nomem;
        k->rcpt = l;
    }
    if (!(k->url = strdup(msg->url)) || !(k->from = strdup(msg->mail_from)) ||
        !(k->data = dupmem(msg->data, msg->data_len)))
        goto nomem;
    k->data_len = msg->data_len;
    k->smtps = smtps;
    k->require_tls = msg->require_tls ? 1 : 0;
    k->verify_peer = msg->verify_peer ? 1 : 0;
    if (msg->username) {
        if (!(k->user = strdup(msg->username)) ||
            !(k->pass = strdup(msg->password ? msg->password : "")))
            goto nomem;
    }
    return dg__hc_call_start(k, msg->timeout_ms, out);
nomem:
    dg__hc_call_free(k);
    return DG_ENOMEM;
}
