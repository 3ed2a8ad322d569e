/* The conformance kit's HTTP side (internal to core/kithost.c and
 * core/conformance.c): webhook routes and the requests the kit injects into
 * them; outbound HTTP/SMTP calls recorded (secrets masked) and answered by
 * the scripted peer when the kit pumps; the webhook helper slots (hmac,
 * ct_equal, encoders, forms, with forms tracked for leaks). Every slot
 * checks its call with dg__kit_guard. One dg_kit_http per dg_kit, owned by
 * it. */
#ifndef DG_CORE_KITHOST_HTTP_H
#define DG_CORE_KITHOST_HTTP_H

#include "kithost.h"

typedef struct dg_kit_http dg_kit_http;

/* Lifecycle, called by kithost.c: new (NULL on no memory), the leak checks
 * when stop finished (calls neither answered nor canceled, requests never
 * answered, forms never freed), free. */
dg_kit_http *dg__kit_http_new(void);
void dg__kit_http_stopped(dg_kit *k);
void dg__kit_http_free(dg_kit_http *h);

/* The scripted peer: how outbound calls are answered (default 200, empty).
 * pump delivers the queued answers to calls neither answered nor canceled,
 * in the order they were made, and returns how many. */
void dg_kit_set_peer(dg_kit *k, const dg_kit_peer *p);
int dg_kit_pump(dg_kit *k);
dg_kit_call *dg_kit_calls(dg_kit *k); /* every recorded call, oldest first */
size_t dg_kit_n_calls(dg_kit *k);

/* Inbound: call the route's handler with a request (body `body`, header
 * Content-Type: application/json only). Returns the status it answered
 * with, 0 if it has not answered (yet), or DG_ENOMEM. */
size_t dg_kit_n_routes(dg_kit *k);
const dg_kit_route *dg_kit_route_at(dg_kit *k, size_t i);
int dg_kit_inject(dg_kit *k, const dg_kit_route *r, const char *body);

/* Host-table slots (see <duegate/host.h>). */
int dg__kit_http_route(dg_instance *inst, const char *method, const char *path,
                       dg_http_handler handler, void *ud);
const char *dg__kit_req_method(dg_http_req *r);
const char *dg__kit_req_path(dg_http_req *r);
const char *dg__kit_req_query(dg_http_req *r);
const char *dg__kit_req_header(dg_http_req *r, const char *name);
const void *dg__kit_req_body(dg_http_req *r, size_t *len);
int dg__kit_respond(dg_http_req *r, int status, const dg_kv *h, size_t nh, const void *body,
                    size_t len);
int dg__kit_http_request(dg_instance *inst, const dg_http_request *req, dg_http_done_cb done,
                         void *ud, dg_http_call **call);
int dg__kit_smtp_send(dg_instance *inst, const dg_smtp_message *m, dg_http_done_cb done, void *ud,
                      dg_http_call **call);
void dg__kit_http_cancel(dg_http_call *call);
int dg__kit_hmac(dg_hmac_alg alg, const void *key, size_t kl, const void *d, size_t l,
                 unsigned char *out, size_t cap);
int dg__kit_ct_equal(const void *a, size_t al, const void *b, size_t bl);
int dg__kit_b64(const void *in, size_t l, char *out, size_t cap);
int dg__kit_hex(const void *in, size_t l, char *out, size_t cap);
dg_form *dg__kit_form_parse(const char *d, size_t l);
size_t dg__kit_form_count(const dg_form *f);
const char *dg__kit_form_name(const dg_form *f, size_t i);
const char *dg__kit_form_value(const dg_form *f, size_t i);
const char *dg__kit_form_get(const dg_form *f, const char *n);
void dg__kit_form_free(dg_form *f);

#endif
