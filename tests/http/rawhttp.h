/* Test helpers: a blocking raw-socket HTTP client (to send exactly the bytes
 * a test wants) and a server fixture running dg_http_server on its own loop
 * in a thread, so tests can talk to it with blocking sockets. */
#ifndef DG_TESTS_RAWHTTP_H
#define DG_TESTS_RAWHTTP_H

#include <pthread.h>
#include <stddef.h>

#include <uv.h>

#include "http_server.h"

/* ---- raw client: one connection with its own read buffer. */
typedef struct rawc {
    int fd;
    char buf[1 << 20];
    size_t len;
} rawc;

rawc *raw_connect(int port);
void raw_send(rawc *c, const char *s);
void raw_sendn(rawc *c, const void *p, size_t n);
/* Read one full response (headers + Content-Length body); NULL on EOF or
 * error (5 s safety timeout). The caller frees. */
char *raw_response(rawc *c);
/* Read exactly n bytes; 0 or -1. */
int raw_read_exact(rawc *c, char *out, size_t n);
/* 1 if the server closed the connection (EOF/reset) before timeout_ms. */
int raw_closed(rawc *c, int timeout_ms);
/* 1 if nothing arrives within timeout_ms. */
int raw_quiet(rawc *c, int timeout_ms);
void raw_close(rawc *c);
/* Status code of a response text, body pointer. */
int raw_status(const char *resp);
const char *raw_body(const char *resp);

/* ---- server on a thread */
typedef struct srvfx {
    uv_loop_t loop;
    uv_async_t async;
    pthread_t th;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    dg_http_server *s;
    int port;
    void (*fn)(struct srvfx *, void *);
    void *arg;
    int fn_done;
    dg_http_req *held[256];
    int n_held;
    int hits;
} srvfx;

/* Start a server with opts and the test routes, on a thread. */
srvfx *srv_start(const dg_http_server_opts *o);
/* Run fn(fx, arg) on the loop thread and wait for it. */
void srv_call(srvfx *fx, void (*fn)(srvfx *, void *), void *arg);
/* Answer every held request with 200 "held" (on the loop thread). */
void srv_answer_held(srvfx *fx);
size_t srv_pending(srvfx *fx);
size_t srv_connections(srvfx *fx);
int srv_held(srvfx *fx);
void srv_stop(srvfx *fx);

#endif
