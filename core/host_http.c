/* Issue 3 leaves the HTTP slots unimplemented: they answer DG_ENOTSUP so a
 * plugin can detect it. core/http_server.c and core/http_client.c fill them. */
#include <duegate/types.h>

#include "host_http.h"
#include "instance.h"

int dg_host_http_route(dg_instance *inst, const char *method, const char *path,
                       dg_http_handler handler, void *ud)
{
    (void)inst, (void)method, (void)path, (void)handler, (void)ud;
    return DG_ENOTSUP;
}
const char *dg_host_http_req_method(dg_http_req *req) { (void)req; return NULL; }
const char *dg_host_http_req_path(dg_http_req *req) { (void)req; return NULL; }
const char *dg_host_http_req_query(dg_http_req *req) { (void)req; return NULL; }
const char *dg_host_http_req_header(dg_http_req *req, const char *name)
{
    (void)req, (void)name;
    return NULL;
}
const void *dg_host_http_req_body(dg_http_req *req, size_t *len)
{
    (void)req;
    if (len)
        *len = 0;
    return NULL;
}
int dg_host_http_respond(dg_http_req *req, int status, const dg_kv *headers, size_t n,
                         const void *body, size_t len)
{
    (void)req, (void)status, (void)headers, (void)n, (void)body, (void)len;
    return DG_ENOTSUP;
}
int dg_host_http_request(dg_instance *inst, const dg_http_request *req, dg_http_done_cb done,
                         void *ud, dg_http_call **call)
{
    (void)inst, (void)req, (void)done, (void)ud;
    if (call)
        *call = NULL;
    return DG_ENOTSUP;
}
void dg_host_http_cancel(dg_http_call *call) { (void)call; }
int dg_host_smtp_send(dg_instance *inst, const dg_smtp_message *msg, dg_http_done_cb done,
                      void *ud, dg_http_call **call)
{
    (void)inst, (void)msg, (void)done, (void)ud;
    if (call)
        *call = NULL;
    return DG_ENOTSUP;
}
void dg_host_http_instance_gone(dg_instance *inst) { (void)inst; }
