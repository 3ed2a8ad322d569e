/* The admin API against the real server on 127.0.0.1 port 0, an engine on
 * a manual clock and an in-memory SQLite store seeded with cases (the
 * engine fixture), called through the core HTTP client on the same loop. */
#include "../engine/efix.h"

#include <cjson/cJSON.h>

#include "admin.h"
#include "host_http.h"
#include "http_client.h"
#include "http_server.h"
#include "metrics.h"

#define T0 1772452800000LL /* 2026-03-02T12:00:00Z */
#define TOKEN "s3cret-token"

typedef struct afx {
    efix *f;
    uv_loop_t loop;
    dg_admin *a;
    dg_http_client *cli;
    char base[64];
    int64_t due;
} afx;

typedef struct got {
    int done, status;
    char *body;
    char ctype[128], disp[128], auth[128], acao[8];
} got;

static void on_resp(void *ud, const dg_http_response *r)
{
    got *g = ud;
    g->status = r->status;
    g->body = strdup(r->body ? r->body : "");
    for (size_t i = 0; i < r->n_headers; i++) {
        if (!strcasecmp(r->headers[i].key, "Content-Type"))
            snprintf(g->ctype, sizeof g->ctype, "%s", r->headers[i].value);
        if (!strcasecmp(r->headers[i].key, "Content-Disposition"))
            snprintf(g->disp, sizeof g->disp, "%s", r->headers[i].value);
        if (!strcasecmp(r->headers[i].key, "WWW-Authenticate"))
            snprintf(g->auth, sizeof g->auth, "%s", r->headers[i].value);
        if (!strcasecmp(r->headers[i].key, "Access-Control-Allow-Origin"))
            snprintf(g->acao, sizeof g->acao, "yes");
    }
    g->done = 1;
}

/* One request; token NULL: none sent; who: X-Duegate-Operator. */
static got call(afx *x, const char *method, const char *path, const char *body, const char *token,
                const char *who)
{
    got g;
    char url[512];
    dg_kv h[1] = {{"X-Duegate-Operator", who, 0}};
    dg_http_request r;
    memset(&g, 0, sizeof g);
    DG_INIT(&r);
    snprintf(url, sizeof url, "%s%s", x->base, path);
    r.method = method;
    r.url = url;
    r.bearer_token = token;
    r.body = body;
    r.body_len = body ? strlen(body) : 0;
    r.headers = h;
    r.n_headers = who ? 1 : 0;
    assert_int_equal(dg_http_client_request(x->cli, NULL, &r, on_resp, &g, NULL), 0);
    while (!g.done)
        uv_run(&x->loop, UV_RUN_ONCE);
    return g;
}

static cJSON *call_json(afx *x, const char *method, const char *path, const char *body,
                        int want_status)
{
    got g = call(x, method, path, body, TOKEN, "Maria");
    cJSON *o;
    if (g.status != want_status)
        fprintf(stderr, "%s %s -> %d %s\n", method, path, g.status, g.body);
    assert_int_equal(g.status, want_status);
    assert_non_null(strstr(g.ctype, "application/json"));
    o = cJSON_Parse(g.body);
    assert_non_null(o);
    free(g.body);
    return o;
}

static const char *jstr(const cJSON *o, const char *k)
{
    const char *v = cJSON_GetStringValue(cJSON_GetObjectItem(o, k));
    return v ? v : "(null)";
}

static double jnum(const cJSON *o, const char *k)
{
    return cJSON_GetNumberValue(cJSON_GetObjectItem(o, k));
}

static int64_t case_id(afx *x, const char *oid)
{
    return fx_case(x->f, oid).id;
}

/* Seed: five presale orders; a reply on one, one paid after a touch, one
 * far in the future (no touch yet). */
static int setup(void **state)
{
    afx *x = calloc(1, sizeof *x);
    char err[256];
    dg_admin_opts o;
    dg_case c;
    x->f = fx_new(T0, NULL);
    x->due = T0 + 3 * D;
    uv_loop_init(&x->loop);
    x->f->rt.loop = &x->loop;
    x->f->rt.metrics = dg_metrics_new();
    fx_engine(x->f);
    fx_order(x->f, "#1001", DG_FLOW_PRESALE_BALANCE, x->due, "+12125550100", "US", "NY", NULL,
             5000);
    fx_order(x->f, "#1002", DG_FLOW_PRESALE_BALANCE, x->due, "+12125550101", "US", "NY", NULL,
             12000);
    fx_order(x->f, "#1003", DG_FLOW_PRESALE_BALANCE, x->due, "+12125550102", "US", "NY", NULL,
             7500);
    fx_order(x->f, "#1004", DG_FLOW_PRESALE_BALANCE, T0 + 40 * D, "+12125550103", "US", "NY", NULL,
             9900);
    fx_order(x->f, "=HYPERLINK(\"x\")", DG_FLOW_PRESALE_BALANCE, x->due, "+12125550104", "US", "NY",
             NULL, 100);
    /* give #1003 a customer name with a comma and a product for the CSV */
    c = fx_case(x->f, "#1003");
    snprintf(c.last_name, sizeof c.last_name, "Ruiz, Jr.");
    snprintf(c.items_summary, sizeof c.items_summary, "Blue \"Lamp\" x1");
    assert_int_equal(x->f->st->vt->case_put(x->f->st, &c), 0);
    fx_run(x->f, x->due - D); /* the first touches went out */
    fx_reply(x->f, x->f->wa, "+12125550101", "Can I pay half now, half next week?", NULL);
    fx_paid(x->f, "#1003");
    memset(&o, 0, sizeof o);
    o.rt = &x->f->rt;
    o.store = x->f->st;
    o.engine = x->f->e;
    o.token = TOKEN;
    o.token_label = "ops-token";
    o.console_dir = DG_TEST_CONSOLE_DIR;
    assert_int_equal(dg_admin_new(&o, &x->a, err, sizeof err), 0);
    assert_int_equal(dg_admin_listen(x->a, "127.0.0.1:0", err, sizeof err), 0);
    assert_true(dg_admin_port(x->a) > 0);
    snprintf(x->base, sizeof x->base, "http://127.0.0.1:%d", dg_admin_port(x->a));
    assert_int_equal(dg_http_client_new(&x->loop, NULL, &x->cli), 0);
    *state = x;
    return 0;
}

static int teardown(void **state)
{
    afx *x = *state;
    dg_metrics *m = x->f->rt.metrics;
    dg_admin_free(x->a);
    dg_http_client_free(x->cli);
    uv_run(&x->loop, UV_RUN_DEFAULT);
    assert_int_equal(uv_loop_close(&x->loop), 0);
    fx_free(x->f);
    dg_metrics_free(m);
    free(x);
    return 0;
}

/* ---------------------------------------------------------------- auth */

static void test_auth(void **state)
{
    afx *x = *state;
    got g = call(x, "GET", "/api/cases", NULL, NULL, NULL);
    assert_int_equal(g.status, 401);
    assert_string_equal(g.auth, "Bearer realm=\"duegate\"");
    assert_non_null(strstr(g.body, "unauthorized"));
    free(g.body);
    g = call(x, "GET", "/api/cases", NULL, "s3cret-tokeN", NULL);
    assert_int_equal(g.status, 401);
    free(g.body);
    g = call(x, "GET", "/api/cases", NULL, "s3cret-token-longer", NULL);
    assert_int_equal(g.status, 401);
    free(g.body);
    g = call(x, "GET", "/metrics", NULL, NULL, NULL);
    assert_int_equal(g.status, 401);
    free(g.body);
    g = call(x, "POST", "/api/cases/1/pause", "{}", NULL, NULL);
    assert_int_equal(g.status, 401);
    free(g.body);
    g = call(x, "GET", "/api/cases.csv", NULL, "", NULL);
    assert_int_equal(g.status, 401);
    free(g.body);
    /* health is open and there is no CORS */
    g = call(x, "GET", "/healthz", NULL, NULL, NULL);
    assert_int_equal(g.status, 200);
    assert_string_equal(g.acao, "");
    free(g.body);
    g = call(x, "GET", "/api/cases", NULL, TOKEN, NULL);
    assert_int_equal(g.status, 200);
    assert_string_equal(g.acao, "");
    free(g.body);
}

/* ---------------------------------------------------------------- list */

static int n_cases(cJSON *o)
{
    return cJSON_GetArraySize(cJSON_GetObjectItem(o, "cases"));
}

static void test_list_default_sort_and_fields(void **state)
{
    afx *x = *state;
    cJSON *o = call_json(x, "GET", "/api/cases", NULL, 200), *c, *prev = NULL;
    assert_int_equal((int)jnum(o, "total"), 5);
    assert_int_equal(n_cases(o), 5);
    /* next action first: scheduled ones by next_at, unscheduled last */
    cJSON_ArrayForEach(c, cJSON_GetObjectItem(o, "cases"))
    {
        if (prev && !cJSON_IsNull(cJSON_GetObjectItem(c, "next_at")))
            assert_true(strcmp(jstr(prev, "next_at"), jstr(c, "next_at")) <= 0);
        if (prev && cJSON_IsNull(cJSON_GetObjectItem(prev, "next_at")))
            assert_true(cJSON_IsNull(cJSON_GetObjectItem(c, "next_at")));
        prev = c;
    }
    c = cJSON_GetArrayItem(cJSON_GetObjectItem(o, "cases"), 0);
    assert_string_equal(jstr(c, "customer"), "Ana");
    assert_string_equal(jstr(c, "currency"), "USD");
    assert_non_null(cJSON_GetObjectItem(c, "balance_minor"));
    assert_non_null(cJSON_GetObjectItem(c, "due_at"));
    assert_non_null(cJSON_GetObjectItem(c, "last_contact_at"));
    assert_non_null(cJSON_GetObjectItem(c, "feedback"));
    assert_non_null(cJSON_GetObjectItem(c, "next_step"));
    assert_non_null(cJSON_GetObjectItem(c, "product"));
    cJSON_Delete(o);
    /* sort by balance, descending */
    o = call_json(x, "GET", "/api/cases?sort=-balance", NULL, 200);
    assert_int_equal(
        (int)jnum(cJSON_GetArrayItem(cJSON_GetObjectItem(o, "cases"), 0), "balance_minor"), 12000);
    assert_int_equal(
        (int)jnum(cJSON_GetArrayItem(cJSON_GetObjectItem(o, "cases"), 4), "balance_minor"), 100);
    cJSON_Delete(o);
    o = call_json(x, "GET", "/api/cases?sort=order", NULL, 200);
    assert_string_equal(jstr(cJSON_GetArrayItem(cJSON_GetObjectItem(o, "cases"), 0), "order"),
                        "#1001");
    cJSON_Delete(o);
}

static void test_list_filters(void **state)
{
    afx *x = *state;
    cJSON *o = call_json(x, "GET", "/api/cases?needs_person=1", NULL, 200), *c;
    assert_int_equal((int)jnum(o, "total"), 1);
    c = cJSON_GetArrayItem(cJSON_GetObjectItem(o, "cases"), 0);
    assert_string_equal(jstr(c, "order"), "#1002");
    assert_string_equal(jstr(c, "feedback"), "Can I pay half now, half next week?");
    assert_string_equal(jstr(c, "status"), "paused");
    cJSON_Delete(o);
    o = call_json(x, "GET", "/api/cases?needs_person=false", NULL, 200);
    assert_int_equal((int)jnum(o, "total"), 4);
    cJSON_Delete(o);
    o = call_json(x, "GET", "/api/cases?status=paid", NULL, 200);
    assert_int_equal((int)jnum(o, "total"), 1);
    assert_string_equal(jstr(cJSON_GetArrayItem(cJSON_GetObjectItem(o, "cases"), 0), "order"),
                        "#1003");
    cJSON_Delete(o);
    o = call_json(x, "GET", "/api/cases?status=open,paused", NULL, 200);
    assert_int_equal((int)jnum(o, "total"), 4);
    cJSON_Delete(o);
    o = call_json(x, "GET", "/api/cases?q=1004", NULL, 200);
    assert_int_equal((int)jnum(o, "total"), 1);
    cJSON_Delete(o);
    o = call_json(x, "GET", "/api/cases?q=RUIZ", NULL, 200); /* customer, any case */
    assert_int_equal((int)jnum(o, "total"), 1);
    cJSON_Delete(o);
    o = call_json(x, "GET", "/api/cases?q=nobody-like-this", NULL, 200);
    assert_int_equal((int)jnum(o, "total"), 0);
    cJSON_Delete(o);
    /* the first touch of the due-in-3-days orders was the gentle stage on WhatsApp */
    o = call_json(x, "GET", "/api/cases?channel=whatsapp", NULL, 200);
    assert_int_equal((int)jnum(o, "total"), 4);
    c = cJSON_GetArrayItem(cJSON_GetObjectItem(o, "cases"), 0);
    {
        char path[128];
        cJSON *s;
        snprintf(path, sizeof path, "/api/cases?stage=%s", jstr(c, "stage"));
        s = call_json(x, "GET", path, NULL, 200);
        assert_int_equal((int)jnum(s, "total"), 4);
        cJSON_Delete(s);
    }
    cJSON_Delete(o);
    o = call_json(x, "GET", "/api/cases?channel=sms", NULL, 200);
    assert_int_equal((int)jnum(o, "total"), 0);
    cJSON_Delete(o);
    o = call_json(x, "GET", "/api/cases?stage=nosuchstage", NULL, 200);
    assert_int_equal((int)jnum(o, "total"), 0);
    cJSON_Delete(o);
    o = call_json(x, "GET", "/api/cases?overdue=1", NULL, 200);
    assert_int_equal((int)jnum(o, "total"), 0);
    cJSON_Delete(o);
    fx_run(x->f, x->due + 1);
    o = call_json(x, "GET", "/api/cases?overdue=1", NULL, 200);
    assert_int_equal((int)jnum(o, "total"), 3); /* #1001, #1002 (paused), =HYPERLINK */
    cJSON_Delete(o);
}

static void test_list_pages(void **state)
{
    afx *x = *state;
    cJSON *o = call_json(x, "GET", "/api/cases?limit=2", NULL, 200), *p2, *p3;
    assert_int_equal(n_cases(o), 2);
    assert_int_equal((int)jnum(o, "total"), 5);
    assert_int_equal((int)jnum(o, "next_offset"), 2);
    p2 = call_json(x, "GET", "/api/cases?limit=2&offset=2", NULL, 200);
    p3 = call_json(x, "GET", "/api/cases?limit=2&offset=4", NULL, 200);
    assert_int_equal(n_cases(p3), 1);
    assert_true(cJSON_IsNull(cJSON_GetObjectItem(p3, "next_offset")));
    assert_true(jnum(cJSON_GetArrayItem(cJSON_GetObjectItem(o, "cases"), 0), "id") !=
                jnum(cJSON_GetArrayItem(cJSON_GetObjectItem(p2, "cases"), 0), "id"));
    cJSON_Delete(o), cJSON_Delete(p2), cJSON_Delete(p3);
    o = call_json(x, "GET", "/api/cases?offset=99", NULL, 200);
    assert_int_equal(n_cases(o), 0);
    assert_int_equal((int)jnum(o, "total"), 5);
    cJSON_Delete(o);
}

static void test_list_errors(void **state)
{
    afx *x = *state;
    static const char *const bad[] = {"/api/cases?status=bogus", "/api/cases?needs_person=maybe",
                                      "/api/cases?overdue=2",    "/api/cases?sort=price",
                                      "/api/cases?limit=0",      "/api/cases?limit=5000",
                                      "/api/cases?offset=-1",    "/api/cases?limit=abc",
                                      "/api/cases?colour=red",   "/api/cases?q=%zz",
                                      "/api/cases.csv?sort=nope"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        cJSON *o = call_json(x, "GET", bad[i], NULL, 400);
        assert_string_equal(jstr(o, "error"), "bad_request");
        assert_true(strlen(jstr(o, "detail")) > 5);
        cJSON_Delete(o);
    }
    {
        got g = call(x, "POST", "/api/cases", "{}", TOKEN, NULL);
        assert_int_equal(g.status, 405);
        free(g.body);
        g = call(x, "GET", "/api/nothing", NULL, TOKEN, NULL);
        assert_int_equal(g.status, 404);
        free(g.body);
    }
}

/* ---------------------------------------------------------------- detail */

static void test_case_detail(void **state)
{
    afx *x = *state;
    char path[64];
    cJSON *o, *tl, *it;
    int touches = 0, replies = 0;
    snprintf(path, sizeof path, "/api/cases/%lld", (long long)case_id(x, "#1002"));
    o = call_json(x, "GET", path, NULL, 200);
    assert_string_equal(jstr(o, "order"), "#1002");
    assert_string_equal(jstr(o, "phone"), "+12125550101");
    tl = cJSON_GetObjectItem(o, "timeline");
    cJSON_ArrayForEach(it, tl)
    {
        if (!strcmp(jstr(it, "type"), "touch")) {
            touches++;
            assert_string_equal(jstr(it, "channel"), "wa");
            assert_string_equal(jstr(it, "kind"), "whatsapp");
            assert_string_not_equal(jstr(it, "status"), "(null)");
        } else if (!strcmp(jstr(it, "type"), "reply")) {
            replies++;
            assert_string_equal(jstr(it, "text"), "Can I pay half now, half next week?");
        }
    }
    assert_int_equal(touches, 1);
    assert_int_equal(replies, 1);
    cJSON_Delete(o);
    o = call_json(x, "GET", "/api/cases/99999", NULL, 404);
    assert_string_equal(jstr(o, "error"), "not_found");
    cJSON_Delete(o);
    o = call_json(x, "GET", "/api/cases/abc", NULL, 400);
    cJSON_Delete(o);
    o = call_json(x, "GET", "/api/cases/0", NULL, 400);
    cJSON_Delete(o);
    o = call_json(x, "GET", "/api/cases/12x", NULL, 400);
    cJSON_Delete(o);
    o = call_json(x, "DELETE", path, NULL, 405);
    cJSON_Delete(o);
}

/* ---------------------------------------------------------------- actions */

static cJSON *act(afx *x, const char *oid, const char *what, const char *body, int want)
{
    char path[128];
    snprintf(path, sizeof path, "/api/cases/%lld/%s", (long long)case_id(x, oid), what);
    return call_json(x, "POST", path, body, want);
}

static const cJSON *last_action(const cJSON *o)
{
    const cJSON *it, *last = NULL;
    cJSON_ArrayForEach(
        it, cJSON_GetObjectItem(o, "timeline")) if (!strcmp(jstr(it, "type"), "action")) last = it;
    assert_non_null(last);
    return last;
}

static void test_actions(void **state)
{
    afx *x = *state;
    cJSON *o;
    const cJSON *a;
    /* pause with a reason, who from the header */
    o = act(x, "#1001", "pause", "{\"reason\":\"customer called\"}", 200);
    assert_string_equal(jstr(o, "status"), "paused");
    a = last_action(o);
    assert_string_equal(jstr(a, "what"), "pause");
    assert_string_equal(jstr(a, "who"), "Maria");
    assert_string_equal(jstr(a, "arg"), "customer called");
    assert_string_not_equal(jstr(a, "at"), "(null)");
    cJSON_Delete(o);
    o = act(x, "#1001", "pause", NULL, 409); /* already paused */
    assert_string_equal(jstr(o, "error"), "conflict");
    cJSON_Delete(o);
    o = act(x, "#1001", "resume", NULL, 200);
    assert_string_equal(jstr(o, "status"), "open");
    cJSON_Delete(o);
    o = act(x, "#1001", "resume", NULL, 409);
    cJSON_Delete(o);
    /* send now, outside the send window (07:00 in New York): the wait is
     * skipped but not the rules: nothing goes out now, the stage planned for
     * the due date moves to the next window opening (09:00 New York today) */
    {
        int before = x->f->n_log;
        dg_case c0 = fx_case(x->f, "#1001"), c1;
        o = act(x, "#1001", "send-now", NULL, 200);
        assert_string_equal(jstr(last_action(o), "what"), "send_now");
        cJSON_Delete(o);
        assert_int_equal(x->f->n_log, before);
        c1 = fx_case(x->f, "#1001");
        assert_int_equal(c0.next_at, x->due);
        assert_int_equal(c1.next_at, x->due - D + 2 * H);
        assert_non_null(strstr(c1.next_step, "window"));
    }
    o = act(x, "#1003", "send-now", NULL, 409); /* paid */
    cJSON_Delete(o);
    /* promise to pay */
    o = act(x, "#1001", "promise", "{\"pay_by\":\"2026-03-20\"}", 200);
    assert_string_equal(jstr(o, "status"), "promised");
    assert_string_equal(jstr(o, "promise_at"), "2026-03-20T23:59:59Z");
    assert_string_equal(jstr(last_action(o), "what"), "promise");
    cJSON_Delete(o);
    o = act(x, "#1001", "promise", "{\"pay_by\":\"2020-01-01\"}", 400);
    cJSON_Delete(o);
    o = act(x, "#1001", "promise", "{}", 400);
    cJSON_Delete(o);
    o = act(x, "#1001", "promise", "{\"pay_by\":\"next week\"}", 400);
    cJSON_Delete(o);
    o = act(x, "#1001", "promise", "not json", 400);
    cJSON_Delete(o);
    o = act(x, "#1003", "promise", "{\"pay_by\":\"2026-03-20\"}", 409);
    cJSON_Delete(o);
    /* reply handled, with a note: the paused case goes back to its schedule */
    o = act(x, "#1002", "reply-handled", "{\"note\":\"agreed: half now\"}", 200);
    assert_false(cJSON_IsTrue(cJSON_GetObjectItem(o, "needs_person")));
    assert_string_equal(jstr(o, "status"), "open");
    a = last_action(o);
    assert_string_equal(jstr(a, "what"), "reply_handled");
    assert_string_equal(jstr(a, "arg"), "agreed: half now");
    cJSON_Delete(o);
    o = act(x, "#1002", "reply-handled", "{}", 409); /* nothing waits */
    cJSON_Delete(o);
    o = act(x, "#1002", "reply-handled", "{\"resume\":\"yes\"}", 400);
    cJSON_Delete(o);
    /* settled outside duegate: closed as resolved, once */
    o = act(x, "#1003", "resolve", NULL, 409); /* paid */
    cJSON_Delete(o);
    o = act(x, "=HYPERLINK(\"x\")", "resolve", NULL, 200);
    assert_string_equal(jstr(o, "status"), "resolved");
    assert_string_equal(jstr(last_action(o), "what"), "resolve");
    cJSON_Delete(o);
    /* send now inside the window (10:00 in New York): #1004's first
     * reminder is weeks away and goes out at once */
    {
        int before = x->f->n_log;
        int64_t id = case_id(x, "#1004");
        fx_run(x->f, x->due - D + 3 * H);
        assert_true(fx_case(x->f, "#1004").next_at > x->due + 30 * D);
        o = act(x, "#1004", "send-now", NULL, 200);
        cJSON_Delete(o);
        assert_int_equal(x->f->n_log, before + 1);
        assert_int_equal(x->f->log[before].case_id, id);
        assert_int_equal(x->f->log[before].at, x->due - D + 3 * H);
        assert_string_equal(x->f->log[before].channel, "wa");
        /* again: the answer window of the WhatsApp touch is skipped too, the
         * next channel of the stage goes out */
        o = act(x, "#1004", "send-now", NULL, 200);
        assert_string_equal(jstr(o, "channel"), "sms");
        cJSON_Delete(o);
        assert_int_equal(x->f->n_log, before + 2);
        assert_string_equal(x->f->log[before + 1].channel, "sms");
    }
    /* won't pay */
    o = act(x, "#1004", "wont-pay", NULL, 200);
    assert_string_equal(jstr(o, "status"), "wont_pay");
    a = last_action(o);
    assert_string_equal(jstr(a, "what"), "wont_pay");
    cJSON_Delete(o);
    o = act(x, "#1003", "wont-pay", NULL, 409); /* paid */
    cJSON_Delete(o);
    /* unknown action, unknown case, wrong method; who from the token label */
    o = act(x, "#1001", "explode", NULL, 404);
    cJSON_Delete(o);
    o = call_json(x, "POST", "/api/cases/424242/pause", NULL, 404);
    cJSON_Delete(o);
    o = call_json(x, "GET", "/api/cases/1/pause", NULL, 405);
    cJSON_Delete(o);
    {
        char path[96];
        got g;
        snprintf(path, sizeof path, "/api/cases/%lld/pause", (long long)case_id(x, "#1002"));
        g = call(x, "POST", path, NULL, TOKEN, NULL);
        assert_int_equal(g.status, 200);
        o = cJSON_Parse(g.body);
        assert_string_equal(jstr(last_action(o), "who"), "ops-token");
        cJSON_Delete(o);
        free(g.body);
    }
}

static void test_forget(void **state)
{
    afx *x = *state;
    cJSON *o;
    dg_case c;
    o = call_json(x, "POST", "/api/forget", "{\"store\":\"shop\",\"customer\":\"+12125550100\"}",
                  200);
    assert_int_equal((int)jnum(o, "cases"), 1);
    cJSON_Delete(o);
    assert_int_equal(x->f->st->vt->case_by_order(x->f->st, "shop", "#1001", &c), 0);
    assert_string_equal(c.phone, "");
    assert_string_equal(c.first_name, "");
    o = call_json(x, "POST", "/api/forget", "{\"store\":\"shop\",\"customer\":\"+12125550100\"}",
                  404);
    cJSON_Delete(o);
    o = call_json(x, "POST", "/api/forget", "{\"store\":\"shop\"}", 400);
    cJSON_Delete(o);
    o = call_json(x, "POST", "/api/forget", "[1]", 400);
    cJSON_Delete(o);
    {
        got g = call(x, "GET", "/api/forget", NULL, TOKEN, NULL);
        assert_int_equal(g.status, 405);
        free(g.body);
    }
}

/* ---------------------------------------------------------------- CSV */

static void test_csv(void **state)
{
    afx *x = *state;
    got g = call(x, "GET", "/api/cases.csv?sort=order", NULL, TOKEN, NULL);
    char *line2;
    assert_int_equal(g.status, 200);
    assert_non_null(strstr(g.ctype, "text/csv"));
    assert_non_null(strstr(g.disp, "attachment"));
    assert_memory_equal(g.body,
                        "customer,order,product,balance,due date,last contact,"
                        "customer feedback,next step,next step at,status\r\n",
                        strlen("customer,order,product,balance,due date,last contact,"
                               "customer feedback,next step,next step at,status\r\n"));
    /* quoting: comma in the name, doubled quotes in the product */
    assert_non_null(strstr(g.body, "\"Ana Ruiz, Jr.\",#1003,\"Blue \"\"Lamp\"\" x1\",75.00 USD,"));
    /* a formula-looking order number is defused with an apostrophe */
    assert_non_null(strstr(g.body, "\"'=HYPERLINK(\"\"x\"\")\""));
    assert_null(strstr(g.body, ",=HYPERLINK"));
    /* the reply with a comma is quoted */
    assert_non_null(strstr(g.body, "\"Can I pay half now, half next week?\""));
    line2 = strstr(g.body, "\r\n");
    assert_non_null(line2);
    assert_true(strncmp(line2 + 2, "Ana,#1001,", 10) == 0);
    free(g.body);
    g = call(x, "GET", "/api/cases.csv?status=paid", NULL, TOKEN, NULL);
    assert_int_equal(g.status, 200);
    assert_non_null(strstr(g.body, "#1003"));
    assert_null(strstr(g.body, "#1001"));
    free(g.body);
}

/* ---------------------------------------------------------------- metrics, health */

static void test_metrics_and_summary(void **state)
{
    afx *x = *state;
    got g = call(x, "GET", "/metrics", NULL, TOKEN, NULL);
    cJSON *o;
    assert_int_equal(g.status, 200);
    assert_non_null(strstr(g.ctype, "text/plain"));
    assert_non_null(strstr(g.body, "duegate_cases{status=\"paid\"} 1"));
    assert_non_null(strstr(g.body, "duegate_cases{status=\"paused\"} 1"));
    assert_non_null(strstr(g.body, "duegate_cases{status=\"open\"} 3"));
    assert_non_null(
        strstr(g.body, "duegate_touches_total{channel=\"whatsapp\",status=\"sent\"} 4"));
    assert_non_null(strstr(g.body, "duegate_replies_total{channel=\"whatsapp\"} 1"));
    assert_non_null(strstr(g.body, "duegate_send_duration_seconds_bucket"));
    assert_non_null(strstr(g.body, "duegate_recovered_amount{"));
    assert_non_null(strstr(g.body, "channel=\"whatsapp\""));
    assert_non_null(strstr(g.body, "duegate_instance_started{instance=\"wa\"} 1"));
    { /* promtool (Debian prometheus, scripts/deps.txt) parses and lints it */
        char path[] = "/tmp/dg-admin-metrics-XXXXXX", cmd[256];
        int fd = mkstemp(path);
        assert_true(fd >= 0);
        assert_int_equal(write(fd, g.body, strlen(g.body)), (ssize_t)strlen(g.body));
        close(fd);
        snprintf(cmd, sizeof cmd, "promtool check metrics < %s", path);
        assert_int_equal(system(cmd), 0);
        unlink(path);
    }
    free(g.body);
    o = call_json(x, "GET", "/api/summary", NULL, 200);
    assert_int_equal((int)jnum(cJSON_GetObjectItem(o, "cases_by_status"), "paid"), 1);
    {
        cJSON *r = cJSON_GetArrayItem(cJSON_GetObjectItem(o, "recovered"), 0);
        assert_non_null(r);
        assert_string_equal(jstr(r, "channel"), "whatsapp");
        assert_int_equal((int)jnum(r, "amount_minor"), 7500);
        assert_int_equal((int)jnum(r, "cases"), 1);
    }
    cJSON_Delete(o);
}

/* The engine's counters: a permanent WhatsApp failure (provider error,
 * fallback to SMS), a STOP reply (opt-out). */
static void test_engine_counters(void **state)
{
    afx *x = *state;
    got g;
    x->f->wa_permanent = 1;
    fx_order(x->f, "#2001", DG_FLOW_PRESALE_BALANCE, x->due + 2 * D, "+12125550199", "US", "NY",
             NULL, 3000);
    fx_run(x->f, x->due + 3 * H); /* 10:00 in New York */
    fx_reply(x->f, x->f->wa, "+12125550100", "STOP", NULL);
    g = call(x, "GET", "/metrics", NULL, TOKEN, NULL);
    assert_int_equal(g.status, 200);
    assert_non_null(
        strstr(g.body, "duegate_provider_errors_total{channel=\"whatsapp\",class=\"permanent\"} "));
    assert_non_null(
        strstr(g.body, "duegate_touches_total{channel=\"whatsapp\",status=\"failed\"} "));
    assert_non_null(strstr(g.body, "duegate_touches_total{channel=\"sms\",status=\"sent\"} "));
    assert_non_null(strstr(g.body, "duegate_fallbacks_total{stage=\"gentle\"} "));
    assert_non_null(strstr(g.body, "duegate_opt_outs_total{channel=\"whatsapp\"} 1\n"));
    assert_non_null(strstr(g.body, "duegate_cases{status=\"opted_out\"} 1\n"));
    free(g.body);
}

/* A plugin's webhook answers are counted by instance and status. */
static void wh_handler(void *ud, dg_http_req *req)
{
    (void)ud;
    dg_host_http_respond(req, strcmp(dg_http_server_req_query(req), "bad") ? 204 : 401, NULL, 0,
                         NULL, 0);
}

static void test_webhook_counter(void **state)
{
    afx *x = *state;
    dg_http_server *ws = NULL;
    char err[128], base[64], *txt = NULL;
    size_t len;
    got g;
    assert_int_equal(dg_http_server_new(&x->loop, NULL, &ws), 0);
    assert_int_equal(dg_http_server_listen(ws, "127.0.0.1:0", err, sizeof err), 0);
    x->f->rt.http_server = ws;
    assert_int_equal(dg_host_http_route(x->f->wa, "POST", "/wh/wa", wh_handler, NULL), 0);
    snprintf(base, sizeof base, "%s", x->base);
    snprintf(x->base, sizeof x->base, "http://127.0.0.1:%d", dg_http_server_port(ws));
    for (int i = 0; i < 3; i++) {
        g = call(x, "POST", i == 2 ? "/wh/wa?bad" : "/wh/wa", "{}", NULL, NULL);
        assert_int_equal(g.status, i == 2 ? 401 : 204);
        free(g.body);
    }
    snprintf(x->base, sizeof x->base, "%s", base);
    g = call(x, "GET", "/metrics", NULL, TOKEN, NULL);
    assert_non_null(
        strstr(g.body, "duegate_webhook_requests_total{instance=\"wa\",status=\"204\"} 2\n"));
    assert_non_null(
        strstr(g.body, "duegate_webhook_requests_total{instance=\"wa\",status=\"401\"} 1\n"));
    free(g.body);
    assert_int_equal(dg_metrics_render(x->f->rt.metrics, &txt, &len), 0);
    assert_non_null(strstr(txt, "# HELP duegate_webhook_requests_total Webhook requests"));
    free(txt);
    dg_host_http_instance_gone(x->f->wa);
    x->f->rt.http_server = NULL;
    dg_http_server_free(ws);
}

static void test_health(void **state)
{
    afx *x = *state;
    cJSON *o = call_json(x, "GET", "/readyz", NULL, 200);
    assert_string_equal(jstr(o, "status"), "ready");
    cJSON_Delete(o);
    x->f->sms->healthy = 0; /* a stopped sender, as host->set_health leaves it */
    free(x->f->sms->health_reason);
    x->f->sms->health_reason = strdup("provider blocked the sender");
    o = call_json(x, "GET", "/readyz", NULL, 503);
    assert_string_equal(jstr(o, "status"), "not_ready");
    assert_string_equal(
        cJSON_GetStringValue(cJSON_GetArrayItem(cJSON_GetObjectItem(o, "problems"), 0)),
        "sms: unhealthy: provider blocked the sender");
    cJSON_Delete(o);
    x->f->sms->healthy = 1;
    o = call_json(x, "GET", "/healthz", NULL, 200);
    assert_string_equal(jstr(o, "status"), "ok");
    cJSON_Delete(o);
}

static void test_console_files(void **state)
{
    afx *x = *state;
    got g = call(x, "GET", "/", NULL, NULL, NULL);
    assert_int_equal(g.status, 200);
    assert_non_null(strstr(g.ctype, "text/html"));
    assert_non_null(strstr(g.body, "<title>duegate"));
    free(g.body);
    g = call(x, "GET", "/console/app.js", NULL, NULL, NULL);
    assert_int_equal(g.status, 200);
    assert_non_null(strstr(g.ctype, "text/javascript"));
    free(g.body);
    g = call(x, "GET", "/console/style.css", NULL, NULL, NULL);
    assert_int_equal(g.status, 200);
    free(g.body);
    g = call(x, "GET", "/console/..%2fadmin.c", NULL, NULL, NULL);
    assert_int_equal(g.status, 404);
    free(g.body);
    g = call(x, "GET", "/console/nope.js", NULL, NULL, NULL);
    assert_int_equal(g.status, 404);
    free(g.body);
    g = call(x, "GET", "/console/.hidden", NULL, NULL, NULL);
    assert_int_equal(g.status, 404);
    free(g.body);
}

static void test_no_token_refused(void **state)
{
    afx *x = *state;
    dg_admin_opts o;
    dg_admin *a = NULL;
    char err[256];
    memset(&o, 0, sizeof o);
    o.rt = &x->f->rt;
    o.store = x->f->st;
    o.engine = x->f->e;
    o.token = "";
    assert_int_equal(dg_admin_new(&o, &a, err, sizeof err), DG_EINVAL);
    assert_non_null(strstr(err, "admin_token"));
    assert_null(a);
}

int main(void)
{
    const struct CMUnitTest t[] = {
        cmocka_unit_test_setup_teardown(test_auth, setup, teardown),
        cmocka_unit_test_setup_teardown(test_list_default_sort_and_fields, setup, teardown),
        cmocka_unit_test_setup_teardown(test_list_filters, setup, teardown),
        cmocka_unit_test_setup_teardown(test_list_pages, setup, teardown),
        cmocka_unit_test_setup_teardown(test_list_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(test_case_detail, setup, teardown),
        cmocka_unit_test_setup_teardown(test_actions, setup, teardown),
        cmocka_unit_test_setup_teardown(test_forget, setup, teardown),
        cmocka_unit_test_setup_teardown(test_csv, setup, teardown),
        cmocka_unit_test_setup_teardown(test_metrics_and_summary, setup, teardown),
        cmocka_unit_test_setup_teardown(test_engine_counters, setup, teardown),
        cmocka_unit_test_setup_teardown(test_webhook_counter, setup, teardown),
        cmocka_unit_test_setup_teardown(test_health, setup, teardown),
        cmocka_unit_test_setup_teardown(test_console_files, setup, teardown),
        cmocka_unit_test_setup_teardown(test_no_token_refused, setup, teardown),
    };
    return cmocka_run_group_tests(t, NULL, NULL);
}
