/* The HTTP slots of the host table: webhook routes served by the core's
 * server, and outbound HTTP/SMTP through the core's client. Each instance's
 * routes and calls are tracked so they die with it. */
#ifndef DG_CORE_HOST_HTTP_H
#define DG_CORE_HOST_HTTP_H

#include <duegate/host.h>

int dg_host_http_route(dg_instance *inst, const char *method, const char *path,
                       dg_http_handler handler, void *ud);
const char *dg_host_http_req_method(dg_http_req *req);
const char *dg_host_http_req_path(dg_http_req *req);
const char *dg_host_http_req_query(dg_http_req *req);
const char *dg_host_http_req_header(dg_http_req *req, const char *name);
const void *dg_host_http_req_body(dg_http_req *req, size_t *len);
int dg_host_http_respond(dg_http_req *req, int status, const dg_kv *headers, size_t n_headers,
                         const void *body, size_t body_len);
int dg_host_http_request(dg_instance *inst, const dg_http_request *req, dg_http_done_cb done,
                         void *ud, dg_http_call **call);
void dg_host_http_cancel(dg_http_call *call);
int dg_host_smtp_send(dg_instance *inst, const dg_smtp_message *msg, dg_http_done_cb done,
                      void *ud, dg_http_call **call);

/* Remove the instance's routes and cancel its calls (no callback after). */
void dg_host_http_instance_gone(dg_instance *inst);

#endif
