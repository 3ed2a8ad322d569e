/* Bench: requests/s of an HTTP client keeping N requests in flight against
 * a loopback server for a fixed time, and the process's peak RSS.
 *   client_bench host URL CONCURRENCY SECONDS   the core's dg_http_client
 *   client_bench bare URL CONCURRENCY SECONDS   a bare curl-multi-on-libuv
 *                                               loop, easy handles reused
 * Prints: mode=... conc=... reqs=... errors=... rps=... rss_kb=... cpu_us=...
 * (process CPU per request, steadier than req/s on a shared machine) */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include <curl/curl.h>
#include <uv.h>

#include "http_client.h"

static const char *g_url;
static int g_stop, g_conc;
static long g_done, g_err, g_inflight;
static uv_loop_t *g_loop;

static long peak_rss_kb(void)
{
    char line[256];
    long kb = -1;
    FILE *f = fopen("/proc/self/status", "r");
    while (f && fgets(line, sizeof line, f))
        if (strncmp(line, "VmHWM:", 6) == 0)
            kb = atol(line + 6);
    if (f)
        fclose(f);
    return kb;
}

/* ---------------------------------------------------------------- host */
static dg_http_client *g_hc;

static void host_issue(void);
static void host_done(void *ud, const dg_http_response *r)
{
    (void)ud;
    if (r->transport_error == DG_HTTP_OK && r->status == 200)
        g_done++;
    else
        g_err++;
    if (!g_stop)
        host_issue();
}

static void host_issue(void)
{
    dg_http_request r;
    DG_INIT(&r);
    r.method = "GET";
    r.url = g_url;
    if (dg_http_client_request(g_hc, NULL, &r, host_done, NULL, NULL) != 0)
        g_err++;
}

/* ---------------------------------------------------------------- bare */
typedef struct bctx {
    uv_poll_t poll;
    curl_socket_t fd;
} bctx;

static CURLM *g_multi;
static uv_timer_t g_ctimer;
static bctx **g_socks;
static size_t g_nsocks;

static size_t bare_write(char *p, size_t s, size_t n, void *ud)
{
    (void)p, (void)ud;
    return s * n;
}

static void bare_drain(void)
{
    CURLMsg *m;
    int left;
    while ((m = curl_multi_info_read(g_multi, &left))) {
        CURL *e = m->easy_handle;
        long code = 0;
        if (m->msg != CURLMSG_DONE)
            continue;
        curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &code);
        if (m->data.result == CURLE_OK && code == 200)
            g_done++;
        else
            g_err++;
        curl_multi_remove_handle(g_multi, e);
        if (!g_stop)
            curl_multi_add_handle(g_multi, e); /* reuse the easy handle */
        else {
            curl_easy_cleanup(e);
            g_inflight--;
        }
    }
}

static void bare_poll(uv_poll_t *h, int st, int ev)
{
    bctx *x = h->data;
    int flags = st < 0 ? CURL_CSELECT_ERR
                       : ((ev & UV_READABLE) ? CURL_CSELECT_IN : 0) |
                             ((ev & UV_WRITABLE) ? CURL_CSELECT_OUT : 0);
    int running;
    curl_multi_socket_action(g_multi, x->fd, flags, &running);
    bare_drain();
}

static void bare_timeout(uv_timer_t *t)
{
    int running;
    (void)t;
    curl_multi_socket_action(g_multi, CURL_SOCKET_TIMEOUT, 0, &running);
    bare_drain();
}

static int bare_timer_cb(CURLM *m, long ms, void *ud)
{
    (void)m, (void)ud;
    if (ms < 0)
        uv_timer_stop(&g_ctimer);
    else
        uv_timer_start(&g_ctimer, bare_timeout, ms == 0 ? 1 : (uint64_t)ms, 0);
    return 0;
}

static int bare_sock_cb(CURL *e, curl_socket_t fd, int what, void *ud, void *sp)
{
    bctx *x;
    (void)e, (void)ud, (void)sp;
    if ((size_t)fd >= g_nsocks) {
        size_t n = g_nsocks ? g_nsocks : 64;
        while (n <= (size_t)fd)
            n *= 2;
        g_socks = realloc(g_socks, n * sizeof *g_socks);
        memset(g_socks + g_nsocks, 0, (n - g_nsocks) * sizeof *g_socks);
        g_nsocks = n;
    }
    x = g_socks[fd];
    if (what == CURL_POLL_REMOVE) {
        if (x)
            uv_poll_stop(&x->poll);
        return 0;
    }
    if (!x) {
        x = calloc(1, sizeof *x);
        x->fd = fd;
        uv_poll_init_socket(g_loop, &x->poll, fd);
        x->poll.data = x;
        g_socks[fd] = x;
    }
    uv_poll_start(&x->poll, ((what & CURL_POLL_IN) ? UV_READABLE : 0) |
                                ((what & CURL_POLL_OUT) ? UV_WRITABLE : 0),
                  bare_poll);
    return 0;
}

/* ---------------------------------------------------------------- main */
static void on_stop(uv_timer_t *t)
{
    (void)t;
    g_stop = 1;
}

static void free_handle(uv_handle_t *h) { free(h->data); }

int main(int argc, char **argv)
{
    uv_timer_t stop;
    uint64_t t0, t1;
    int host;
    double secs;
    if (argc < 5)
        return 2;
    host = strcmp(argv[1], "host") == 0;
    g_url = argv[2];
    g_conc = atoi(argv[3]);
    secs = atof(argv[4]);
    g_loop = uv_default_loop();
    curl_global_init(CURL_GLOBAL_DEFAULT);
    uv_timer_init(g_loop, &stop);
    uv_timer_start(&stop, on_stop, (uint64_t)(secs * 1000), 0);
    uv_unref((uv_handle_t *)&stop);
    t0 = uv_hrtime();
    if (host) {
        dg_http_client_new(g_loop, NULL, &g_hc);
        for (int i = 0; i < g_conc; i++)
            host_issue();
        while (!g_stop || dg_http_client_active(g_hc) > 0)
            uv_run(g_loop, UV_RUN_ONCE);
        t1 = uv_hrtime();
        dg_http_client_free(g_hc);
    } else {
        g_multi = curl_multi_init();
        uv_timer_init(g_loop, &g_ctimer);
        curl_multi_setopt(g_multi, CURLMOPT_SOCKETFUNCTION, bare_sock_cb);
        curl_multi_setopt(g_multi, CURLMOPT_TIMERFUNCTION, bare_timer_cb);
        for (int i = 0; i < g_conc; i++) {
            CURL *e = curl_easy_init();
            curl_easy_setopt(e, CURLOPT_URL, g_url);
            curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, bare_write);
            curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
            curl_multi_add_handle(g_multi, e);
        }
        g_inflight = g_conc;
        while (g_inflight > 0)
            uv_run(g_loop, UV_RUN_ONCE);
        t1 = uv_hrtime();
        curl_multi_cleanup(g_multi);
        uv_close((uv_handle_t *)&g_ctimer, NULL);
        for (size_t i = 0; i < g_nsocks; i++)
            if (g_socks[i]) {
                g_socks[i]->poll.data = g_socks[i];
                uv_close((uv_handle_t *)&g_socks[i]->poll, free_handle);
            }
    }
    uv_close((uv_handle_t *)&stop, NULL);
    uv_run(g_loop, UV_RUN_DEFAULT);
    {
        struct rusage ru;
        double cpu;
        getrusage(RUSAGE_SELF, &ru);
        cpu = (double)ru.ru_utime.tv_sec * 1e6 + (double)ru.ru_utime.tv_usec +
              (double)ru.ru_stime.tv_sec * 1e6 + (double)ru.ru_stime.tv_usec;
        printf("mode=%s conc=%d reqs=%ld errors=%ld rps=%.0f rss_kb=%ld cpu_us=%.2f\n", argv[1],
               g_conc, g_done, g_err, (double)g_done / ((double)(t1 - t0) / 1e9), peak_rss_kb(),
               g_done ? cpu / (double)g_done : 0.0);
    }
    free(g_socks);
    return 0;
}
