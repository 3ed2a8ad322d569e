/* The HTTP slots of the host table on top of core/http_server.c and
 * core/http_client.c (reached through rt->http_server / rt->http_client).
 *
 * Routes are registered with the instance as owner; inst->http keeps the
 * small records that bind a route to the plugin's handler. When the instance
 * is gone its routes are removed, its unanswered requests answered 503 (the
 * plugin must not touch them after its stop completed), and its calls
 * canceled without callback. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <duegate/types.h>

#include "host_http.h"
#include "http_client.h"
#include "http_server.h"
#include "instance.h"
#include "log.h"

typedef struct hroute {
    dg_instance *inst;
    dg_http_handler handler;
    void *ud;
    struct hroute *next;
} hroute;

typedef struct inst_http {
    hroute *routes;
} inst_http;

/* Routes: while created or started. Calls: while started or draining
 * (a stopping plugin may still need a call to finish an op). */
static int usable(const dg_instance *inst)
{
    return inst && (inst->state == DG_INST_CREATED || inst->state == DG_INST_STARTED);
}

static int may_call(const dg_instance *inst)
{
    return inst && (inst->state == DG_INST_STARTED || inst->state == DG_INST_STOPPING);
}

static void route_trampoline(void *ud, dg_http_req *req)
{
    hroute *r = ud;
    if (r->inst->state != DG_INST_STARTED) {
        dg_http_server_respond_error(req, 503, "unavailable", "instance is not running");
        return;
    }
    r->handler(r->ud, req);
}

int dg_host_http_route(dg_instance *inst, const char *method, const char *path,
                       dg_http_handler handler, void *ud)
{
    dg_http_server *s;
    inst_http *ih;
    hroute *r;
    int rc;
    if (!inst || !method || !path || !handler)
        return DG_EINVAL;
    if (!usable(inst))
        return DG_ESTATE;
    if (!(s = inst->rt->http_server))
        return DG_ENOTSUP;
    if (!(ih = inst->http)) {
        if (!(ih = calloc(1, sizeof *ih)))
            return DG_ENOMEM;
        inst->http = ih;
    }
    if (!(r = calloc(1, sizeof *r)))
        return DG_ENOMEM;
    r->inst = inst;
    r->handler = handler;
    r->ud = ud;
    rc = dg_http_server_route(s, method, path, 0, inst, route_trampoline, r);
    if (rc) {
        free(r);
        return rc;
    }
    r->next = ih->routes;
    ih->routes = r;
    dg_logf(DG_LOG_DEBUG, inst->name, "http_route", "method", method, "path", path, NULL);
    return DG_OK;
}

const char *dg_host_http_req_method(dg_http_req *req)
{
    return req ? dg_http_server_req_method(req) : NULL;
}
const char *dg_host_http_req_path(dg_http_req *req)
{
    return req ? dg_http_server_req_path(req) : NULL;
}
const char *dg_host_http_req_query(dg_http_req *req)
{
    return req ? dg_http_server_req_query(req) : NULL;
}
const char *dg_host_http_req_header(dg_http_req *req, const char *name)
{
    return req && name ? dg_http_server_req_header(req, name) : NULL;
}
const void *dg_host_http_req_body(dg_http_req *req, size_t *len)
{
    if (!req) {
        if (len)
            *len = 0;
        return NULL;
    }
    return dg_http_server_req_body(req, len);
}

int dg_host_http_respond(dg_http_req *req, int status, const dg_kv *headers, size_t n,
                         const void *body, size_t len)
{
    dg_instance *inst;
    if (!req || (n && !headers) || (len && !body))
        return DG_EINVAL;
    inst = dg_http_server_req_owner(req); /* routes are owned by their instance */
    if (inst && inst->rt && inst->rt->metrics) {
        char st[8];
        dg_kv l[2] = {{"instance", inst->name, 0}, {"status", st, 0}};
        snprintf(st, sizeof st, "%d", status);
        dg_metrics_add(inst->rt->metrics, "duegate_webhook_requests_total", l, 2, 1);
    }
    return dg_http_server_respond(req, status, headers, n, body, len);
}

int dg_host_http_request(dg_instance *inst, const dg_http_request *req, dg_http_done_cb done,
                         void *ud, dg_http_call **call)
{
    if (call)
        *call = NULL;
    if (!inst || !req || !done)
        return DG_EINVAL;
    if (!may_call(inst))
        return DG_ESTATE;
    if (!inst->rt->http_client)
        return DG_ENOTSUP;
    return dg_http_client_request(inst->rt->http_client, inst, req, done, ud, call);
}

void dg_host_http_cancel(dg_http_call *call) { dg_http_client_cancel(call); }

int dg_host_smtp_send(dg_instance *inst, const dg_smtp_message *msg, dg_http_done_cb done,
                      void *ud, dg_http_call **call)
{
    if (call)
        *call = NULL;
    if (!inst || !msg || !done)
        return DG_EINVAL;
    if (!may_call(inst))
        return DG_ESTATE;
    if (!inst->rt->http_client)
        return DG_ENOTSUP;
    return dg_http_client_smtp(inst->rt->http_client, inst, msg, done, ud, call);
}

void dg_host_http_instance_gone(dg_instance *inst)
{
    inst_http *ih;
    if (!inst)
        return;
    if (inst->rt->http_server) {
        dg_http_server_unroute_owner(inst->rt->http_server, inst);
        dg_http_server_abort_owner(inst->rt->http_server, inst, 503, "instance stopped");
    }
    if (inst->rt->http_client)
        dg_http_client_cancel_owner(inst->rt->http_client, inst);
    if ((ih = inst->http)) {
        while (ih->routes) {
            hroute *r = ih->routes;
            ih->routes = r->next;
            free(r);
        }
        free(ih);
        inst->http = NULL;
    }
}
