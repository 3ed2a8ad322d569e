/* The admin listener: authentication, routes, operator actions, health,
 * metrics and the console's static files (reads in admin_cases.c). */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "admin_int.h"
#include "clock.h"
#include "crypto.h"
#include "error.h"
#include "instance.h"
#include "log.h"

#ifndef DG_CONSOLEDIR
#define DG_CONSOLEDIR "/usr/local/share/duegate/console"
#endif

const char *dg_admin_console_dir(void)
{
    const char *e = getenv("DUEGATE_CONSOLE_DIR");
    return e && *e ? e : DG_CONSOLEDIR;
}

/* ------------------------------------------------------------- answers */

static const dg_kv json_h[] = {{"Content-Type", "application/json", 0},
                               {"Cache-Control", "no-store", 0},
                               {"X-Content-Type-Options", "nosniff", 0}};

static void send_json(dg_http_req *req, int status, cJSON *o)
{
    char *txt = o ? cJSON_PrintUnformatted(o) : NULL;
    cJSON_Delete(o);
    if (!txt) {
        dg_http_server_respond_error(req, 500, "internal", "out of memory");
        return;
    }
    dg_http_server_respond(req, status, json_h, 3, txt, strlen(txt));
    free(txt);
}

static void send_err(dg_http_req *req, int status, const char *error, const char *detail)
{
    dg_http_server_respond_error(req, status, error, detail);
}

/* Map an engine/store return code to an answer. */
static void send_rc(dg_http_req *req, int rc, const char *what)
{
    char d[160];
    switch (rc) {
    case DG_ENOTFOUND:
        send_err(req, 404, "not_found", "no such case");
        break;
    case DG_ESTATE:
        snprintf(d, sizeof d, "%s is not allowed in the case's current status", what);
        send_err(req, 409, "conflict", d);
        break;
    case DG_EINVAL:
        snprintf(d, sizeof d, "%s: invalid argument", what);
        send_err(req, 400, "bad_request", d);
        break;
    default:
        snprintf(d, sizeof d, "%s: %s", what, dg_strerror(rc));
        send_err(req, 503, "unavailable", d);
    }
}

/* -------------------------------------------------------------- auth */

/* The presented token and ours are compared as HMACs under a random key:
 * constant time, and the time does not depend on the lengths either. */
static int authorized(dg_admin *a, dg_http_req *req)
{
    const char *h = dg_http_server_req_header(req, "Authorization");
    unsigned char mac[32];
    if (h && strncasecmp(h, "Bearer ", 7) == 0) {
        const char *t = h + 7;
        while (*t == ' ')
            t++;
        if (dg_hmac(DG_HMAC_SHA256, a->key, sizeof a->key, t, strlen(t), mac, sizeof mac) == 32 &&
            dg_ct_equal(mac, sizeof mac, a->mac, sizeof a->mac))
            return 1;
    }
    {
        static const dg_kv hh[] = {{"Content-Type", "application/json", 0},
                                   {"WWW-Authenticate", "Bearer realm=\"duegate\"", 0}};
        static const char body[] = "{\"error\":\"unauthorized\",\"detail\":"
                                   "\"send Authorization: Bearer <daemon.admin_token>\"}";
        dg_http_server_respond(req, 401, hh, 2, body, sizeof body - 1);
    }
    return 0;
}

/* Who acts: the operator header (printable ASCII, 64 bytes) or the label. */
static void who_of(dg_admin *a, dg_http_req *req, char *out, size_t len)
{
    const char *h = dg_http_server_req_header(req, "X-Duegate-Operator");
    size_t n = 0;
    if (h)
        for (const char *p = h; *p && n + 1 < len && n < 64; p++)
            if ((unsigned char)*p >= 0x20 && (unsigned char)*p < 0x7f)
                out[n++] = *p;
    while (n > 0 && out[n - 1] == ' ')
        n--;
    out[n] = '\0';
    if (!n)
        snprintf(out, len, "%s", a->label);
}

/* ------------------------------------------------------------ the API */

static void h_cases(void *ud, dg_http_req *req)
{
    dg_admin *a = ud;
    dga_rows rows;
    int64_t off, lim;
    char detail[256];
    int rc;
    cJSON *o, *arr;
    if (!authorized(a, req))
        return;
    rc = dga_list(a, dg_http_server_req_query(req), 1, &rows, &off, &lim, detail, sizeof detail);
    if (rc) {
        send_err(req, rc == DG_EINVAL ? 400 : 503, rc == DG_EINVAL ? "bad_request" : "unavailable",
                 detail);
        return;
    }
    o = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "total", (double)rows.total);
    cJSON_AddNumberToObject(o, "offset", (double)off);
    cJSON_AddNumberToObject(o, "limit", (double)lim);
    if (off + (int64_t)rows.n < rows.total)
        cJSON_AddNumberToObject(o, "next_offset", (double)(off + (int64_t)rows.n));
    else
        cJSON_AddNullToObject(o, "next_offset");
    arr = cJSON_AddArrayToObject(o, "cases");
    for (size_t i = 0; i < rows.n; i++)
        cJSON_AddItemToArray(arr, dga_row_json(&rows.v[i]));
    dga_rows_free(&rows);
    send_json(req, 200, o);
}

static void h_csv(void *ud, dg_http_req *req)
{
    static const dg_kv h[] = {{"Content-Type", "text/csv; charset=utf-8; header=present", 0},
                              {"Content-Disposition", "attachment; filename=\"cases.csv\"", 0},
                              {"Cache-Control", "no-store", 0}};
    dg_admin *a = ud;
    dga_rows rows;
    int64_t off, lim;
    char detail[256], *csv;
    size_t len = 0;
    int rc;
    if (!authorized(a, req))
        return;
    rc = dga_list(a, dg_http_server_req_query(req), 0, &rows, &off, &lim, detail, sizeof detail);
    if (rc) {
        send_err(req, rc == DG_EINVAL ? 400 : 503, rc == DG_EINVAL ? "bad_request" : "unavailable",
                 detail);
        return;
    }
    csv = dga_csv(&rows, &len);
    dga_rows_free(&rows);
    if (!csv) {
        send_err(req, 500, "internal", "out of memory");
        return;
    }
    dg_http_server_respond(req, 200, h, 3, csv, len);
    free(csv);
}

static void h_summary(void *ud, dg_http_req *req)
{
    dg_admin *a = ud;
    cJSON *o;
    if (!authorized(a, req))
        return;
    if (!(o = dga_summary(a)))
        send_err(req, 503, "unavailable", "store: cannot read the cases");
    else
        send_json(req, 200, o);
}

/* The JSON object body of an action (empty body: {}); NULL after a 400. */
static cJSON *body_json(dg_http_req *req)
{
    size_t len = 0;
    const char *b = dg_http_server_req_body(req, &len);
    cJSON *o;
    if (!len)
        return cJSON_CreateObject();
    o = cJSON_ParseWithLength(b, len);
    if (!o || !cJSON_IsObject(o)) {
        cJSON_Delete(o);
        send_err(req, 400, "bad_request", "the body must be a JSON object");
        return NULL;
    }
    return o;
}

static const char *str_field(const cJSON *o, const char *k)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

/* Parse a promise date: ISO 8601 instant, or a plain date YYYY-MM-DD
 * (the end of that day, 23:59:59 UTC). */
static int parse_when(const char *s, int64_t *ms)
{
    char buf[40];
    if (!s)
        return -1;
    if (strlen(s) == 10 && s[4] == '-' && s[7] == '-') {
        snprintf(buf, sizeof buf, "%sT23:59:59Z", s);
        s = buf;
    }
    return dg_parse_iso8601(s, ms) == 0 ? 0 : -1;
}

static void do_action(dg_admin *a, dg_http_req *req, int64_t id, const char *act)
{
    char who[80], arg[200];
    cJSON *b, *o;
    int rc;
    if (strcmp(dg_http_server_req_method(req), "POST") != 0) {
        static const dg_kv allow[] = {{"Allow", "POST", 0},
                                      {"Content-Type", "application/json", 0}};
        static const char body[] = "{\"error\":\"method_not_allowed\",\"detail\":\"use POST\"}";
        dg_http_server_respond(req, 405, allow, 2, body, sizeof body - 1);
        return;
    }
    if (!(b = body_json(req)))
        return;
    who_of(a, req, who, sizeof who);
    arg[0] = '\0';
    if (!strcmp(act, "pause")) {
        const char *r = str_field(b, "reason");
        snprintf(arg, sizeof arg, "%s", r && *r ? r : "paused by an operator");
        rc = dg_engine_pause(a->eng, id, who, arg);
    } else if (!strcmp(act, "resume")) {
        rc = dg_engine_resume(a->eng, id, who);
    } else if (!strcmp(act, "promise")) {
        int64_t at;
        if (parse_when(str_field(b, "pay_by"), &at) != 0) {
            cJSON_Delete(b);
            send_err(req, 400, "bad_request",
                     "pay_by: a date (YYYY-MM-DD) or an ISO 8601 time is required");
            return;
        }
        if (at <= dg_clock_now(a->rt->clock)) {
            cJSON_Delete(b);
            send_err(req, 400, "bad_request", "pay_by: the promised date must be in the future");
            return;
        }
        rc = dg_engine_promise(a->eng, id, who, at);
    } else if (!strcmp(act, "resolve")) {
        rc = dg_engine_resolve(a->eng, id, who); /* settled outside duegate: closed */
    } else if (!strcmp(act, "reply-handled")) {
        /* reply handled, with a note; a paused case resumes unless "resume": false */
        const char *note = str_field(b, "note");
        const cJSON *res = cJSON_GetObjectItemCaseSensitive(b, "resume");
        if (res && !cJSON_IsBool(res)) {
            cJSON_Delete(b);
            send_err(req, 400, "bad_request", "resume: true or false");
            return;
        }
        snprintf(arg, sizeof arg, "%s", note ? note : "");
        rc = dg_engine_reply_handled(a->eng, id, who, arg, res ? cJSON_IsTrue(res) : 1);
    } else if (!strcmp(act, "wont-pay")) {
        rc = dg_engine_close_wont_pay(a->eng, id, who);
    } else if (!strcmp(act, "send-now")) {
        rc = dg_engine_send_now(a->eng, id, who);
    } else {
        cJSON_Delete(b);
        send_err(req, 404, "not_found",
                 "actions: pause, resume, promise, reply-handled, resolve, wont-pay,"
                 " send-now");
        return;
    }
    cJSON_Delete(b);
    if (rc) {
        send_rc(req, rc, act);
        return;
    }
    if (dga_case_json(a, id, &o) != 0)
        send_err(req, 503, "unavailable", "store: cannot read the case back");
    else
        send_json(req, 200, o);
}

/* /api/cases/{id} and /api/cases/{id}/{action} */
static void h_case(void *ud, dg_http_req *req)
{
    dg_admin *a = ud;
    const char *p = dg_http_server_req_path(req) + strlen("/api/cases/");
    char *end;
    long long id;
    cJSON *o;
    int rc;
    if (!authorized(a, req))
        return;
    errno = 0;
    id = isdigit((unsigned char)*p) ? strtoll(p, &end, 10) : -1;
    if (id <= 0 || errno || (*end && *end != '/')) {
        send_err(req, 400, "bad_request", "the case id must be a positive integer");
        return;
    }
    if (*end == '/') {
        do_action(a, req, id, end + 1);
        return;
    }
    if (strcmp(dg_http_server_req_method(req), "GET") != 0 &&
        strcmp(dg_http_server_req_method(req), "HEAD") != 0) {
        static const dg_kv allow[] = {{"Allow", "GET, HEAD", 0},
                                      {"Content-Type", "application/json", 0}};
        static const char body[] = "{\"error\":\"method_not_allowed\",\"detail\":\"use GET\"}";
        dg_http_server_respond(req, 405, allow, 2, body, sizeof body - 1);
        return;
    }
    if ((rc = dga_case_json(a, id, &o)) != 0)
        send_rc(req, rc, "case");
    else
        send_json(req, 200, o);
}

/* POST /api/forget {"store": "...", "customer": "<id, phone or e-mail>"} */
static void h_forget(void *ud, dg_http_req *req)
{
    dg_admin *a = ud;
    char who[80];
    const char *store, *cust;
    int64_t n = 0;
    cJSON *b, *o;
    int rc;
    if (!authorized(a, req) || !(b = body_json(req)))
        return;
    store = str_field(b, "store");
    cust = str_field(b, "customer");
    if (!store || !*store || !cust || !*cust) {
        cJSON_Delete(b);
        send_err(req, 400, "bad_request",
                 "store and customer (customer id, phone or e-mail) are required");
        return;
    }
    who_of(a, req, who, sizeof who);
    rc = dg_engine_forget(a->eng, store, cust, who, &n);
    cJSON_Delete(b);
    if (!rc && n == 0) {
        send_err(req, 404, "not_found", "no case of that customer in that store");
        return;
    }
    if (rc) {
        send_rc(req, rc, "forget");
        return;
    }
    o = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "cases", (double)n);
    send_json(req, 200, o);
}

/* -------------------------------------------------- metrics and health */

static void h_metrics(void *ud, dg_http_req *req)
{
    static const dg_kv h[] = {{"Content-Type", "text/plain; version=0.0.4; charset=utf-8", 0}};
    dg_admin *a = ud;
    char *txt = NULL;
    size_t len = 0;
    if (!authorized(a, req))
        return;
    if (!a->rt->metrics) {
        send_err(req, 503, "unavailable", "no metrics registry");
        return;
    }
    dga_summary_metrics(a);
    for (dg_instance *i = a->rt->instances; i; i = i->next) {
        dg_kv l = {"instance", i->name, 0};
        dg_metrics_set(a->rt->metrics, "duegate_instance_started", &l, 1,
                       i->state == DG_INST_STARTED);
    }
    if (dg_metrics_render(a->rt->metrics, &txt, &len) != 0) {
        send_err(req, 500, "internal", "cannot render the metrics");
        return;
    }
    dg_http_server_respond(req, 200, h, 1, txt, len);
    free(txt);
}

static void h_healthz(void *ud, dg_http_req *req)
{
    (void)ud;
    send_json(req, 200, cJSON_Parse("{\"status\":\"ok\"}"));
}

/* Ready: every instance started and healthy, the store writable. */
static void h_readyz(void *ud, dg_http_req *req)
{
    dg_admin *a = ud;
    cJSON *o = cJSON_CreateObject(), *why = cJSON_CreateArray();
    int ok = 1;
    char line[256];
    for (dg_instance *i = a->rt->instances; i; i = i->next) {
        if (i->state != DG_INST_STARTED) {
            snprintf(line, sizeof line, "%s: not started", i->name);
            cJSON_AddItemToArray(why, cJSON_CreateString(line)), ok = 0;
        } else if (!i->healthy) {
            snprintf(line, sizeof line, "%s: unhealthy: %s", i->name,
                     i->health_reason ? i->health_reason : "no reason given");
            cJSON_AddItemToArray(why, cJSON_CreateString(line)), ok = 0;
        }
    }
    /* writable: an immediate write transaction that changes nothing */
    if (a->st->vt->begin(a->st) != 0) {
        cJSON_AddItemToArray(why, cJSON_CreateString("store: not writable")), ok = 0;
    } else {
        a->st->vt->rollback(a->st);
    }
    cJSON_AddStringToObject(o, "status", ok ? "ready" : "not_ready");
    cJSON_AddItemToObject(o, "problems", why);
    send_json(req, ok ? 200 : 503, o);
}

/* ----------------------------------------------------------- console */

static const char *mime_of(const char *path)
{
    const char *dot = strrchr(path, '.');
    static const char *const m[][2] = {{".html", "text/html; charset=utf-8"},
                                       {".css", "text/css; charset=utf-8"},
                                       {".js", "text/javascript; charset=utf-8"},
                                       {".svg", "image/svg+xml"},
                                       {".png", "image/png"},
                                       {".ico", "image/x-icon"}};
    for (size_t i = 0; dot && i < sizeof m / sizeof *m; i++)
        if (!strcmp(dot, m[i][0]))
            return m[i][1];
    return "application/octet-stream";
}

static void h_static(void *ud, dg_http_req *req)
{
    dg_admin *a = ud;
    const char *p = dg_http_server_req_path(req);
    char path[1024], *buf = NULL;
    struct stat st;
    int fd = -1;
    const char *rel;
    if (strcmp(dg_http_server_req_method(req), "GET") &&
        strcmp(dg_http_server_req_method(req), "HEAD")) {
        send_err(req, 405, "method_not_allowed", "use GET");
        return;
    }
    if (!strcmp(p, "/") || !strcmp(p, "/console") || !strcmp(p, "/console/"))
        rel = "index.html";
    else if (!strncmp(p, "/console/", 9))
        rel = p + 9;
    else {
        send_err(req, 404, "not_found", "no such route");
        return;
    }
    /* only plain names: letters, digits, '-', '_', '.', no "..", no dirs */
    for (const char *q = rel; *q; q++)
        if (!isalnum((unsigned char)*q) && *q != '-' && *q != '_' && *q != '.') {
            send_err(req, 404, "not_found", "no such file");
            return;
        }
    if (rel[0] == '.' || strlen(a->console) + strlen(rel) + 2 > sizeof path) {
        send_err(req, 404, "not_found", "no such file");
        return;
    }
    if (snprintf(path, sizeof path, "%s/%s", a->console, rel) >= (int)sizeof path)
        path[0] = '\0';
    if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0 || fstat(fd, &st) != 0 ||
        !S_ISREG(st.st_mode) || st.st_size > (8 << 20) || !(buf = malloc((size_t)st.st_size + 1)) ||
        read(fd, buf, (size_t)st.st_size) != (ssize_t)st.st_size) {
        if (fd >= 0)
            close(fd);
        free(buf);
        send_err(req, 404, "not_found", "no such file");
        return;
    }
    close(fd);
    {
        const dg_kv h[] = {{"Content-Type", mime_of(rel), 0},
                           {"Cache-Control", "no-cache", 0},
                           {"X-Content-Type-Options", "nosniff", 0},
                           {"Content-Security-Policy",
                            "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'", 0}};
        dg_http_server_respond(req, 200, h, 4, buf, (size_t)st.st_size);
    }
    free(buf);
}

/* ----------------------------------------------------------- lifetime */

static const char *const helps[][2] = {
    {"duegate_cases", "Dunning cases by status (from the store at scrape time)."},
    {"duegate_recovered_amount", "Balance paid after duegate's last touch, in currency units, by "
                                 "that touch's stage and channel kind."},
    {"duegate_recovered_cases", "Cases paid after a touch, by the last touch's stage and channel."},
    {"duegate_touches_total", "Touch status changes by channel kind and status (sent, retry, "
                              "failed, delivered, read, replied)."},
    {"duegate_replies_total", "Customer replies by channel kind."},
    {"duegate_opt_outs_total", "Opt-outs (STOP replies and provider opt-out events) by channel."},
    {"duegate_fallbacks_total", "Moves to the next channel of a stage, by stage."},
    {"duegate_provider_errors_total", "Failed sends by channel kind and error class."},
    {"duegate_send_duration_seconds", "Time from handing a message to a channel to its result."},
    {"duegate_webhook_requests_total", "Webhook requests answered, by instance and HTTP status."},
    {"duegate_instance_started", "1 while the instance is started."},
    {"duegate_instance_healthy", "1 while the instance reports itself healthy."},
    {"duegate_plugin_violations_total", "Plugin contract violations seen, by instance."}};

int dg_admin_new(const dg_admin_opts *o, dg_admin **out, char *err, size_t len)
{
    dg_admin *a;
    dg_http_server_opts so;
    int rc;
    if (!o || !o->rt || !o->store || !o->engine || !o->token || !*o->token) {
        dg_errf(err, len, "admin: a token (daemon.admin_token) is required");
        return DG_EINVAL;
    }
    if (!(a = calloc(1, sizeof *a)))
        return DG_ENOMEM;
    a->rt = o->rt;
    a->st = o->store;
    a->eng = o->engine;
    a->token = strdup(o->token);
    a->label = strdup(o->token_label && *o->token_label ? o->token_label : "admin");
    a->console = strdup(o->console_dir ? o->console_dir : dg_admin_console_dir());
    memset(&so, 0, sizeof so);
    so.name = "admin";
    so.max_body_bytes = 64 * 1024;
    rc = (!a->token || !a->label || !a->console) ? DG_ENOMEM : 0;
    if (!rc && (dg_random_bytes(a->key, sizeof a->key) != 0 ||
                dg_hmac(DG_HMAC_SHA256, a->key, sizeof a->key, a->token, strlen(a->token), a->mac,
                        sizeof a->mac) != 32)) {
        dg_errf(err, len, "admin: cannot prepare the token check");
        rc = DG_EIO;
    }
    for (size_t i = 0; !rc && o->rt->metrics && i < sizeof helps / sizeof *helps; i++)
        rc = dg_metrics_help(o->rt->metrics, helps[i][0], helps[i][1]);
    if (!rc && (rc = dg_http_server_new(o->rt->loop, &so, &a->srv)) != 0)
        dg_errf(err, len, "admin: cannot create the server: %s", dg_strerror(rc));
#define R(m, p, pre, fn)                                                                           \
    if (!rc)                                                                                       \
    rc = dg_http_server_route(a->srv, m, p, pre, a, fn, a)
    R("GET", "/api/cases", 0, h_cases);
    R("GET", "/api/cases.csv", 0, h_csv);
    R("GET", "/api/summary", 0, h_summary);
    R("*", "/api/cases/", 1, h_case);
    R("POST", "/api/forget", 0, h_forget);
    R("GET", "/metrics", 0, h_metrics);
    R("GET", "/healthz", 0, h_healthz);
    R("GET", "/readyz", 0, h_readyz);
    R("*", "/", 1, h_static);
#undef R
    if (rc) {
        dg_admin_free(a);
        return rc;
    }
    *out = a;
    return 0;
}

int dg_admin_listen(dg_admin *a, const char *hostport, char *err, size_t len)
{
    char port[16];
    int rc = dg_http_server_listen(a->srv, hostport, err, len);
    if (rc)
        return rc;
    snprintf(port, sizeof port, "%d", dg_http_server_port(a->srv));
    dg_logf(DG_LOG_INFO, "admin", "admin_listening", "addr", hostport, "port", port, NULL);
    return 0;
}

int dg_admin_port(const dg_admin *a)
{
    return a ? dg_http_server_port(a->srv) : -1;
}

int dg_admin_start_for(dg_runtime *rt, dg_store *st, dg_engine *eng, dg_admin **out, char *err,
                       size_t len)
{
    dg_admin_opts o;
    const dg_config *cfg = rt->cfg;
    int rc;
    *out = NULL;
    if (!cfg || !cfg->admin_listen || !*cfg->admin_listen)
        return 0;
    if (!cfg->admin_token || !*cfg->admin_token) {
        dg_logf(DG_LOG_WARN, "admin", "admin_off", "reason",
                "daemon.admin_token is not set: the admin API and console stay off", NULL);
        return 0;
    }
    memset(&o, 0, sizeof o);
    o.rt = rt;
    o.store = st;
    o.engine = eng;
    o.token = cfg->admin_token;
    if ((rc = dg_admin_new(&o, out, err, len)) != 0)
        return rc;
    if ((rc = dg_admin_listen(*out, cfg->admin_listen, err, len)) != 0) {
        char tmp[512];
        snprintf(tmp, sizeof tmp, "admin: %s", err);
        snprintf(err, len, "%s", tmp);
        dg_admin_free(*out);
        *out = NULL;
    }
    return rc;
}

void dg_admin_free(dg_admin *a)
{
    if (!a)
        return;
    dg_http_server_free(a->srv);
    free(a->token);
    free(a->label);
    free(a->console);
    free(a);
}
