/* libcurl multi on the libuv loop: see http_client.h and protocols.md §D2-D3. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include <curl/curl.h>

#include <duegate/types.h>

#include "http_client_int.h"

#ifndef PACKAGE_VERSION
#define PACKAGE_VERSION "0"
#endif

/* ------------------------------------------------------------ loop glue */

static void drain(dg_http_client *c);
static void fail_all(dg_http_client *c, CURLMcode mc);

/* Drain completions always; after a multi error the transfers are in an
 * unknown state (§D3): fail them all rather than act on them again. */
static void after_action(dg_http_client *c, CURLMcode mc)
{
    drain(c);
    if (mc != CURLM_OK && mc != CURLM_CALL_MULTI_PERFORM)
        fail_all(c, mc);
}

static void on_poll(uv_poll_t *h, int status, int events)
{
    sockctx *x = h->data;
    dg_http_client *c = x->c;
    int flags = 0, running;
    if (!x->want) { /* an idle connection of curl's pool stirred (closed?) */
        uv_poll_stop(h);
        x->active = 0;
        return;
    }
    if (status < 0)
        flags = CURL_CSELECT_ERR;
    else {
        if (events & UV_READABLE)
            flags |= CURL_CSELECT_IN;
        if (events & UV_WRITABLE)
            flags |= CURL_CSELECT_OUT;
    }
    after_action(c, curl_multi_socket_action(c->multi, x->fd, flags, &running));
}

static void on_timeout(uv_timer_t *t)
{
    dg_http_client *c = t->data;
    int running;
    after_action(c, curl_multi_socket_action(c->multi, CURL_SOCKET_TIMEOUT, 0, &running));
}

/* CURLMOPT_TIMERFUNCTION: only arm the uv timer (never call curl here). */
static int timer_cb(CURLM *m, long timeout_ms, void *userp)
{
    dg_http_client *c = userp;
    (void)m;
    if (timeout_ms < 0)
        uv_timer_stop(&c->timer);
    else
        uv_timer_start(&c->timer, on_timeout, timeout_ms == 0 ? 1 : (uint64_t)timeout_ms, 0);
    return 0;
}

static sockctx *ctx_for(dg_http_client *c, curl_socket_t fd, int create)
{
    size_t i = (size_t)fd;
    sockctx *x;
    if (fd < 0)
        return NULL;
    if (i >= c->n_socks) {
        size_t n = c->n_socks ? c->n_socks : 64;
        sockctx **ns;
        if (!create)
            return NULL;
        while (n <= i)
            n *= 2;
        if (!(ns = realloc(c->socks, n * sizeof *ns)))
            return NULL;
        memset(ns + c->n_socks, 0, (n - c->n_socks) * sizeof *ns);
        c->socks = ns;
        c->n_socks = n;
    }
    if (c->socks[i] || !create)
        return c->socks[i];
    if (!(x = calloc(1, sizeof *x)))
        return NULL;
    if (uv_poll_init_socket(c->loop, &x->poll, fd) != 0) {
        free(x);
        return NULL;
    }
    x->poll.data = x;
    x->c = c;
    x->fd = fd;
    c->handles++;
    c->socks[i] = x;
    return x;
}

static void poll_stop(sockctx *x)
{
    if (x->active) {
        uv_poll_stop(&x->poll);
        x->active = 0;
    }
}

/* CURLMOPT_SOCKETFUNCTION: start/stop the fd's poll handle; the handle is
 * kept on REMOVE and reused if curl hands us the fd again. A connection
 * curl keeps for reuse gets REMOVE after each transfer and its interest
 * back with the next one; in libuv each uv_poll_start/stop is an epoll_ctl
 * (a start two: DEL, then ADD), three per request. So a socket of ours
 * (open_sock: its close comes through close_sock, which stops the poll
 * before the fd can be reused) stays polled on REMOVE: the same interest
 * again costs nothing, and an event while curl wants none (the server
 * closed the idle connection) stops the poll then (on_poll). Other fds
 * curl hands us (a resolver's) are stopped at once, as they are closed
 * without close_sock. */
static int sock_cb(CURL *e, curl_socket_t fd, int what, void *userp, void *socketp)
{
    dg_http_client *c = userp;
    sockctx *x;
    int ev = 0;
    (void)e, (void)socketp;
    if (what == CURL_POLL_REMOVE) {
        if ((x = ctx_for(c, fd, 0))) {
            x->want = 0;
            if (!x->ours)
                poll_stop(x);
        }
        return 0;
    }
    if (!(x = ctx_for(c, fd, 1)))
        return -1;
    if (what & CURL_POLL_IN)
        ev |= UV_READABLE;
    if (what & CURL_POLL_OUT)
        ev |= UV_WRITABLE;
    x->want = 1;
    if (x->active && x->events == ev)
        return 0;
    if (uv_poll_start(&x->poll, ev, on_poll) != 0) {
        x->active = 0;
        return -1;
    }
    x->active = 1;
    x->events = ev;
    return 0;
}

/* CURLOPT_OPENSOCKETFUNCTION / CLOSESOCKETFUNCTION: the sockets of curl's
 * connections, whose poll may outlive a transfer (sock_cb). */
static curl_socket_t open_sock(void *userp, curlsocktype purpose, struct curl_sockaddr *a)
{
    dg_http_client *c = userp;
    curl_socket_t fd = socket(a->family, a->socktype, a->protocol);
    sockctx *x;
    (void)purpose;
    if (fd != CURL_SOCKET_BAD && (x = ctx_for(c, fd, 1))) {
        poll_stop(x); /* cannot be started for a closed fd; be sure */
        x->want = 0;
        x->ours = 1;
    }
    return fd;
}

static int close_sock(void *userp, curl_socket_t fd)
{
    dg_http_client *c = userp;
    sockctx *x = ctx_for(c, fd, 0);
    if (x) { /* before the fd number can be handed out again */
        poll_stop(x);
        x->want = 0;
        x->ours = 0;
    }
    return close(fd);
}

/* ------------------------------------------------------------ calls */

static void call_unlink(dg_http_call *k)
{
    dg_http_client *c = k->c;
    if (k->prev)
        k->prev->next = k->next;
    else if (c->calls == k)
        c->calls = k->next;
    if (k->next)
        k->next->prev = k->prev;
    k->prev = k->next = NULL;
    c->active--;
}

void dg__hc_call_free(dg_http_call *k)
{
    dg_http_client *c = k->c;
    if (k->easy) {
        if (!c->freeing && c->n_idle < MAX_IDLE_EASY) {
            curl_easy_reset(k->easy);
            c->idle[c->n_idle++] = k->easy;
        } else {
            curl_easy_cleanup(k->easy);
        }
    }
    curl_slist_free_all(k->hdrs);
    curl_slist_free_all(k->rcpt);
    if (k->rh != k->rhi)
        free(k->rh);
    free(k->rhtext);
    free(k->url);
    free(k->user);
    free(k->pass);
    free(k->from);
    free(k->method);
    free(k->data);
    if (k->rbody != k->rsmall)
        free(k->rbody);
    free(k);
}

static size_t on_body(char *p, size_t sz, size_t n, void *ud)
{
    dg_http_call *k = ud;
    size_t len = sz * n;
    if (k->rbody_len + len + 1 > k->rbody_cap) {
        size_t cap = k->rbody_cap * 2;
        char *nb;
        while (cap < k->rbody_len + len + 1)
            cap *= 2;
        if (cap > MAX_RESPONSE_BYTES ||
            !(nb = k->rbody == k->rsmall ? malloc(cap) : realloc(k->rbody, cap))) {
            k->too_big = 1;
            return 0; /* aborts the transfer */
        }
        if (k->rbody == k->rsmall)
            memcpy(nb, k->rsmall, k->rbody_len);
        k->rbody = nb;
        k->rbody_cap = cap;
    }
    memcpy(k->rbody + k->rbody_len, p, len);
    k->rbody_len += len;
    k->rbody[k->rbody_len] = '\0';
    return len;
}

static int rh_add(dg_http_call *k, const char *p, size_t n)
{
    if (k->rhtext_len + n + 1 > k->rhtext_cap) {
        size_t cap = k->rhtext_cap ? k->rhtext_cap * 2 : 512;
        char *t;
        while (cap < k->rhtext_len + n + 1)
            cap *= 2;
        if (!(t = realloc(k->rhtext, cap)))
            return -1;
        k->rhtext = t;
        k->rhtext_cap = cap;
    }
    memcpy(k->rhtext + k->rhtext_len, p, n);
    k->rhtext[k->rhtext_len + n] = '\0';
    k->rhtext_len += n + 1;
    return 0;
}

static size_t on_header(char *p, size_t sz, size_t n, void *ud)
{
    dg_http_call *k = ud;
    size_t len = sz * n, nl;
    const char *colon, *v, *end;
    if (len >= 5 && memcmp(p, "HTTP/", 5) == 0) { /* a new response: 1xx, redirect */
        k->n_rh = 0;
        k->rhtext_len = 0;
        return len;
    }
    colon = memchr(p, ':', len);
    if (!colon || k->smtp)
        return len;
    nl = (size_t)(colon - p);
    if (k->n_rh == k->cap_rh) {
        size_t cap = k->cap_rh * 2;
        rhdr *r = k->rh == k->rhi ? malloc(cap * sizeof *r) : realloc(k->rh, cap * sizeof *r);
        if (!r)
            return 0;
        if (k->rh == k->rhi)
            memcpy(r, k->rhi, sizeof k->rhi);
        k->rh = r;
        k->cap_rh = cap;
    }
    v = colon + 1;
    end = p + len;
    while (v < end && (*v == ' ' || *v == '\t'))
        v++;
    while (end > v && (end[-1] == '\r' || end[-1] == '\n' || end[-1] == ' '))
        end--;
    k->rh[k->n_rh].name = k->rhtext_len;
    if (rh_add(k, p, nl))
        return 0;
    k->rh[k->n_rh].value = k->rhtext_len;
    if (rh_add(k, v, (size_t)(end - v)))
        return 0;
    k->n_rh++;
    return len;
}

static void wq_remove(dg_http_call *k);
static void start_waiting(dg_http_client *c);
static int launch(dg_http_call *k);

static void finish(dg_http_call *k, CURLcode res)
{
    dg_http_response r;
    dg_kv hv[64], *h = hv;
    long code = 0;
    size_t nh = k->n_rh;
    DG_INIT(&r);
    if (k->easy)
        curl_easy_getinfo(k->easy, CURLINFO_RESPONSE_CODE, &code);
    r.transport_error = dg_http_classify(res);
    if (k->smtp && res != CURLE_OK && code >= 400 && r.transport_error == DG_HTTP_EOTHER)
        r.transport_error = DG_HTTP_OK; /* the server answered: the reply code says why */
    if (k->too_big) {
        r.transport_error = DG_HTTP_EOTHER;
        snprintf(k->errbuf, sizeof k->errbuf, "response larger than %u bytes",
                 MAX_RESPONSE_BYTES);
    }
    r.status = r.transport_error == DG_HTTP_OK ? (int)code : 0;
    if (r.transport_error != DG_HTTP_OK || res != CURLE_OK)
        r.error_message = k->errbuf[0] ? k->errbuf : curl_easy_strerror(res);
    if (nh > 64 && !(h = malloc(nh * sizeof *h)))
        nh = 64, h = hv;
    for (size_t i = 0; i < nh; i++) {
        h[i].key = k->rhtext + k->rh[i].name;
        h[i].value = k->rhtext + k->rh[i].value;
        h[i].flags = 0;
    }
    r.headers = h;
    r.n_headers = nh;
    r.body = k->rbody;
    r.body_len = k->rbody_len;
    r.retry_after_ms = -1;
    for (size_t i = 0; i < nh; i++)
        if (strcasecmp(h[i].key, "Retry-After") == 0)
            r.retry_after_ms = dg_http_parse_retry_after(h[i].value, (int64_t)time(NULL) * 1000);
    r.elapsed_ms = (int64_t)(uv_now(k->c->loop) - k->started);
    if (k->queued)
        wq_remove(k); /* failed before it started (fail_all) */
    call_unlink(k);
    k->finishing = 1;
    if (k->done)
        k->done(k->ud, &r);
    if (h != hv)
        free(h);
    dg__hc_call_free(k);
}

static void wq_remove(dg_http_call *k)
{
    dg_http_client *c = k->c;
    dg_http_call **pp = &c->wq_head, *prev = NULL;
    for (; *pp && *pp != k; pp = &(*pp)->qnext)
        prev = *pp;
    if (!*pp)
        return;
    *pp = k->qnext;
    if (c->wq_tail == k)
        c->wq_tail = prev;
    k->qnext = NULL;
    k->queued = 0;
    c->waiting--;
}

/* Start waiting calls while slots are free (outside curl callbacks). */
static void start_waiting(dg_http_client *c)
{
    while (c->wq_head && !c->freeing && c->multi && c->active - c->waiting < c->o.max_in_flight) {
        dg_http_call *k = c->wq_head;
        if (launch(k) != 0)
            break; /* stays first in line; tried again when a call completes */
        wq_remove(k);
        k->started = uv_now(c->loop);
    }
}

static void drain(dg_http_client *c)
{
    CURLMsg *m;
    int left;
    while (c->multi && (m = curl_multi_info_read(c->multi, &left))) {
        dg_http_call *k = NULL;
        CURL *e = m->easy_handle;
        CURLcode res = m->data.result;
        if (m->msg != CURLMSG_DONE)
            continue;
        curl_easy_getinfo(e, CURLINFO_PRIVATE, (char **)&k);
        curl_multi_remove_handle(c->multi, e);
        if (k)
            finish(k, res);
        else
            curl_easy_cleanup(e);
    }
    start_waiting(c);
}

static void fail_all(dg_http_client *c, CURLMcode mc)
{
    dg_http_call *k;
    for (k = c->calls; k; k = k->next)
        k->doomed = 1; /* calls started by the callbacks below are spared */
    for (;;) {
        for (k = c->calls; k && !k->doomed; k = k->next)
            ;
        if (!k || !c->multi)
            break;
        if (!k->queued)
            curl_multi_remove_handle(c->multi, k->easy);
        snprintf(k->errbuf, sizeof k->errbuf, "transfer aborted: %s", curl_multi_strerror(mc));
        finish(k, CURLE_ABORTED_BY_CALLBACK); /* classified as "other" */
    }
}

dg_http_call *dg__hc_call_new(dg_http_client *c, void *owner, dg_http_done_cb done, void *ud)
{
    dg_http_call *k = calloc(1, sizeof *k);
    if (!k)
        return NULL;
    k->c = c;
    k->owner = owner;
    k->done = done;
    k->ud = ud;
    k->rh = k->rhi;
    k->cap_rh = INLINE_RHDRS;
    k->rbody = k->rsmall;
    k->rbody_cap = INLINE_BODY;
    return k;
}

/* Give the call an easy handle (reused when one is idle) with all its
 * options, and add it to the multi. */
static int launch(dg_http_call *k)
{
    dg_http_client *c = k->c;
    CURL *e = k->easy;
    if (!e && !(e = k->easy = c->n_idle ? c->idle[--c->n_idle] : curl_easy_init()))
        return DG_ENOMEM;
    curl_easy_setopt(e, CURLOPT_PRIVATE, (char *)k);
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, (long)k->timeout_ms);
    curl_easy_setopt(e, CURLOPT_ERRORBUFFER, k->errbuf);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, k);
    curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(e, CURLOPT_HEADERDATA, k);
    curl_easy_setopt(e, CURLOPT_OPENSOCKETFUNCTION, open_sock);
    curl_easy_setopt(e, CURLOPT_OPENSOCKETDATA, c);
    curl_easy_setopt(e, CURLOPT_CLOSESOCKETFUNCTION, close_sock);
    curl_easy_setopt(e, CURLOPT_CLOSESOCKETDATA, c);
    dg__hc_setup(k);
    return curl_multi_add_handle(c->multi, e) == CURLM_OK ? 0 : DG_EIO;
}

/* Start now or queue, and link. */
int dg__hc_call_start(dg_http_call *k, int64_t timeout_ms, dg_http_call **out)
{
    dg_http_client *c = k->c;
    int rc;
    k->timeout_ms = timeout_ms > 0 ? timeout_ms : c->o.default_timeout_ms;
    k->started = uv_now(c->loop);
    if (c->o.max_in_flight > 0 && c->active - c->waiting >= c->o.max_in_flight) {
        k->queued = 1; /* started by start_waiting when a slot frees */
        if (c->wq_tail)
            c->wq_tail->qnext = k;
        else
            c->wq_head = k;
        c->wq_tail = k;
        c->waiting++;
    } else if ((rc = launch(k)) != 0) {
        dg__hc_call_free(k);
        return rc;
    }
    k->next = c->calls;
    if (c->calls)
        c->calls->prev = k;
    c->calls = k;
    c->active++;
    if (out)
        *out = k;
    return DG_OK;
}

void dg_http_client_cancel(dg_http_call *k)
{
    dg_http_client *c;
    if (!k || k->finishing || !k->c->multi)
        return;
    c = k->c;
    if (k->queued)
        wq_remove(k);
    else
        curl_multi_remove_handle(c->multi, k->easy);
    call_unlink(k);
    dg__hc_call_free(k);
    start_waiting(c); /* a slot may have freed */
}

int dg_http_client_cancel_owner(dg_http_client *c, void *owner)
{
    int n = 0;
    dg_http_call *k, *next;
    if (!c)
        return 0;
    for (k = c->calls; k; k = next) {
        next = k->next;
        if (k->owner == owner) {
            dg_http_client_cancel(k);
            n++;
        }
    }
    return n;
}

size_t dg_http_client_active(const dg_http_client *c) { return c ? c->active : 0; }

/* ------------------------------------------------------------ lifetime */

int dg_http_client_new(uv_loop_t *loop, const dg_http_client_opts *o, dg_http_client **out)
{
    static int global_done;
    dg_http_client *c;
    *out = NULL;
    if (!global_done) {
        if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
            return DG_EIO;
        global_done = 1;
    }
    if (!(c = calloc(1, sizeof *c)))
        return DG_ENOMEM;
    if (o)
        c->o = *o;
    if (c->o.default_timeout_ms <= 0)
        c->o.default_timeout_ms = 30000;
    snprintf(c->ua, sizeof c->ua, "%s", c->o.user_agent ? c->o.user_agent
                                                         : "duegate/" PACKAGE_VERSION);
    c->o.user_agent = c->ua;
    if (!(c->multi = curl_multi_init())) {
        free(c);
        return DG_ENOMEM;
    }
    c->loop = loop;
    uv_timer_init(loop, &c->timer);
    c->timer.data = c;
    c->handles = 1;
    curl_multi_setopt(c->multi, CURLMOPT_SOCKETFUNCTION, sock_cb);
    curl_multi_setopt(c->multi, CURLMOPT_SOCKETDATA, c);
    curl_multi_setopt(c->multi, CURLMOPT_TIMERFUNCTION, timer_cb);
    curl_multi_setopt(c->multi, CURLMOPT_TIMERDATA, c);
    if (c->o.max_host_connections > 0)
        curl_multi_setopt(c->multi, CURLMOPT_MAX_HOST_CONNECTIONS, c->o.max_host_connections);
    *out = c;
    return 0;
}

static void on_handle_closed(uv_handle_t *h)
{
    dg_http_client *c;
    if (h->type == UV_POLL) {
        sockctx *x = h->data;
        c = x->c;
        free(x);
    } else {
        c = h->data;
    }
    if (--c->handles == 0) {
        free(c->socks);
        free(c);
    }
}

void dg_http_client_free(dg_http_client *c)
{
    if (!c || c->freeing)
        return;
    c->freeing = 1;
    while (c->calls)
        dg_http_client_cancel(c->calls);
    while (c->n_idle)
        curl_easy_cleanup(c->idle[--c->n_idle]);
    /* curl may still call sock_cb here: contexts and loop are alive. */
    curl_multi_cleanup(c->multi);
    c->multi = NULL;
    uv_timer_stop(&c->timer);
    uv_close((uv_handle_t *)&c->timer, on_handle_closed);
    for (size_t i = 0; i < c->n_socks; i++) {
        if (!c->socks[i])
            continue;
        uv_poll_stop(&c->socks[i]->poll);
        uv_close((uv_handle_t *)&c->socks[i]->poll, on_handle_closed);
        c->socks[i] = NULL;
    }
}
