/* The plugin conformance kit: checks and scenarios; see conformance.h. */
#include <dirent.h>
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "conformance.h"
#include "error.h"
#include "kitcheck.h"
#include "kithost_http.h"
#include "loader.h"

#define DRAIN_LIMIT_MS (10 * 60 * 1000) /* virtual time a pending op may take */
#define PROBE_AFTER_STOP_MS (60 * 1000) /* virtual time watched after stop */

typedef enum { EXP_OK, EXP_RETRY_AFTER, EXP_RETRYABLE, EXP_ANY } expectation;

typedef struct scenario {
    const char *name;
    dg_kit_peer peer;
    int exercise_routes;
    int stop_in_flight; /* call stop before the peer answers */
    expectation expect;
} scenario;

/* ---------------------------------------------------------- scenarios */

static const dg_template_param sample_params[] = {
    {sizeof(dg_template_param), NULL, "Ana", {0}},
    {sizeof(dg_template_param), NULL, "$120.00", {0}}};
static const dg_template_button sample_buttons[] = {
    {sizeof(dg_template_button), DG_BUTTON_URL, 0, "pay/abc123", {0}}};

static void sample_message(dg_outbound_message *m)
{
    DG_INIT(m);
    m->case_id = 42;
    m->touch_id = 4201;
    m->step = 0;
    m->attempt = 1;
    m->stage = "gentle";
    m->channel = "kit";
    m->locale = "en";
    m->template_id = "presale/gentle";
    m->idempotency_key = "dg-42-4201";
    m->to_phone = "+14155550123";
    m->to_email = "ana@example.com";
    m->to_name = "Ana Silva";
    m->text = "Hi Ana, the balance of $120.00 for order #1001 is due Friday: "
              "https://pay.example.com/p/abc123";
    m->subject = "Your order #1001: balance due Friday";
    m->html = "<p>Hi Ana, the balance of $120.00 for order #1001 is due Friday.</p>";
    m->template_name = "dg_presale_gentle";
    m->template_language = "en";
    m->params = sample_params;
    m->n_params = 2;
    m->buttons = sample_buttons;
    m->n_buttons = 1;
    m->sms_segments = 1;
}

/* Pump answers and fire timers until op completes; 1 if it did. */
static int drive(dg_kit *k, dg_op op, int64_t limit_ms)
{
    int64_t waited = 0;
    for (int guard = 0; guard < 100000; guard++) {
        const dg_kit_op *o = dg_kit_op_get(k, op);
        int64_t next;
        if (o && o->completions)
            return 1;
        if (dg_kit_pump(k) > 0)
            continue;
        next = dg_kit_next_timer_in(k);
        if (next < 0 || waited + next > limit_ms)
            return 0;
        dg_kit_advance(k, next);
        waited += next;
    }
    return 0;
}

/* Start an async op; returns its id, or 0 when it failed at once. */
/* The message handed to send lives in the heap and is poisoned once send
 * returns: a plugin that keeps a pointer into it (it is borrowed for the
 * call) then sends or logs POISON, which the kit looks for. */
#define POISON "#########"
#define N_MSG_STRINGS 16

typedef struct held_msg {
    dg_outbound_message m;
    char *s[N_MSG_STRINGS];
    size_t n;
} held_msg;

static const char *hold(held_msg *h, const char *v)
{
    char *c = v && h->n < N_MSG_STRINGS ? strdup(v) : NULL;
    if (!c)
        return v;
    h->s[h->n++] = c;
    return c;
}

static dg_outbound_message *held_message(held_msg *h)
{
    dg_outbound_message *m = &h->m;
    sample_message(m);
    m->stage = hold(h, m->stage);
    m->locale = hold(h, m->locale);
    m->template_id = hold(h, m->template_id);
    m->idempotency_key = hold(h, m->idempotency_key);
    m->to_phone = hold(h, m->to_phone);
    m->to_email = hold(h, m->to_email);
    m->to_name = hold(h, m->to_name);
    m->text = hold(h, m->text);
    m->subject = hold(h, m->subject);
    m->html = hold(h, m->html);
    m->template_name = hold(h, m->template_name);
    return m;
}

static void poison_message(held_msg *h)
{
    for (size_t i = 0; i < h->n; i++)
        memset(h->s[i], '#', strlen(h->s[i]));
    memset(&h->m, 0, sizeof h->m);
    h->m.text = h->m.to_phone = h->m.to_email = h->m.idempotency_key = POISON;
}

static void free_held(held_msg *h)
{
    if (!h)
        return;
    for (size_t i = 0; i < h->n; i++)
        free(h->s[i]);
    free(h);
}

static int poisoned(const char *s)
{
    return s && strstr(s, POISON) != NULL;
}

/* Did anything the plugin produced after send returned carry the poison? */
static void check_borrowed(dg_kit *k)
{
    int seen = poisoned(dg_kit_log_text(k));
    for (dg_kit_call *c = dg_kit_calls(k); c; c = c->next)
        seen |= poisoned(c->url) || poisoned(c->headers) || poisoned(c->body);
    if (seen)
        dg_kit_violation(k, "message data used after send returned (the message and its "
                            "strings are borrowed for the call: copy what you keep)");
}

static dg_op start_op(dg_kit_run *r, dg_kit *k, void *self, const char *what, held_msg **held,
                      char *why, size_t len)
{
    dg_op op = dg_kit_new_op(k, what);
    dg_store_action act;
    int rc;
    if (strcmp(what, "send") == 0) {
        held_msg *h = calloc(1, sizeof *h);
        if (!h) {
            snprintf(why, len, "out of memory");
            return 0;
        }
        rc = r->p->channel.send(self, held_message(h), op);
        poison_message(h);
        *held = h;
    } else if (strcmp(what, "backfill") == 0) {
        rc = r->p->store.backfill(self, op);
    } else {
        DG_INIT(&act);
        act.kind = DG_ACT_REREAD_ORDER;
        act.order_id = "820982911946154508";
        rc = r->p->store.act(self, &act, op);
    }
    if (rc == DG_PENDING)
        return op;
    if (rc >= 0) {
        dg_kit_violation(k, "%s returned %d: an op returns DG_PENDING or a negative code", what,
                         rc);
        return op;
    }
    if (dg_kit_op_get(k, op)->completions)
        dg_kit_violation(k, "%s returned %s and also completed its op", what, dg_strerror(rc));
    snprintf(why, len, "%s refused at once: %s", what, dg_strerror(rc));
    return 0;
}

static const char *class_name(dg_error_class c)
{
    static const char *const n[] = {"none",       "retryable",   "wait",  "permanent",
                                    "suppressed", "stop-sender", "config"};
    return c <= DG_ERRC_CONFIG ? n[c] : "?";
}

/* Judge a completed op against the scenario's expectation. */
static int judge(dg_kit_run *r, dg_kit *k, const scenario *s, const dg_kit_op *o, char *out,
                 size_t len)
{
    int ok = 1;
    (void)r;
    if (!o->completions) {
        snprintf(out, len, "%s never completed", o->what);
        return 0;
    }
    if (o->status > 0) {
        dg_kit_violation(k, "%s completed with status %d: DG_OK or a negative DG_E* code", o->what,
                         o->status);
        ok = 0;
    }
    if (o->status < 0 && o->error_class == DG_ERRC_NONE && strcmp(o->what, "send") == 0) {
        dg_kit_violation(k,
                         "send failed (%s) without an error class: the core cannot tell "
                         "whether to retry",
                         dg_strerror(o->status));
        ok = 0;
    }
    char times[32];
    if (o->completions == 1)
        snprintf(times, sizeof times, "once");
    else
        snprintf(times, sizeof times, "%d times", o->completions);
    if (o->status == DG_OK)
        snprintf(out, len, "%s completed %s: OK%s%s%s", o->what, times,
                 o->provider_id[0] ? ", provider id \"" : "", o->provider_id,
                 o->provider_id[0] ? "\"" : "");
    else
        snprintf(out, len, "%s completed %s: %s, class %s, retry_after_ms %lld%s%s", o->what, times,
                 dg_strerror(o->status), class_name(o->error_class), (long long)o->retry_after_ms,
                 o->error_message[0] ? ", " : "", o->error_message);
    switch (s->expect) {
    case EXP_OK:
        if (o->status != DG_OK)
            ok = 0, dg_kit_violation(k,
                                     "the peer accepted the %s (%d) but it did not complete "
                                     "with DG_OK",
                                     o->what, s->peer.status);
        else if (strcmp(o->what, "send") == 0 && !o->provider_id[0])
            dg_kit_note(k, "a successful send should carry the provider's message id (receipts "
                           "are matched by it)");
        break;
    case EXP_RETRY_AFTER:
    case EXP_RETRYABLE:
        if (o->status >= 0 || o->error_class != DG_ERRC_RETRYABLE)
            ok = 0,
            dg_kit_violation(k, "%s must complete with an error of class retryable", s->name);
        else if (s->expect == EXP_RETRY_AFTER && !r->smtp &&
                 o->retry_after_ms != s->peer.retry_after_ms)
            ok = 0, dg_kit_violation(k,
                                     "Retry-After: %s not honoured: retry_after_ms is %lld, "
                                     "expected %lld",
                                     s->peer.retry_after, (long long)o->retry_after_ms,
                                     (long long)s->peer.retry_after_ms);
        break;
    case EXP_ANY:
        break;
    }
    return ok;
}

/* The body, its lines indented, cut after 600 characters. */
static void append_body(dg_kit_run *r, const char *body)
{
    size_t len = strlen(body), shown = len > 600 ? 600 : len;
    const char *b = body, *stop = body + shown;
    if (!len)
        dg_kit_append(&r->requests, &r->req_len, "\n");
    while (b < stop) {
        size_t n = strcspn(b, "\r\n");
        if (n > (size_t)(stop - b))
            n = (size_t)(stop - b);
        dg_kit_append(&r->requests, &r->req_len, "%s%.*s\n", b == body ? " " : "         ", (int)n,
                      b);
        b += n;
        b += (b < stop && *b == '\r') ? 1 : 0;
        b += (b < stop && *b == '\n') ? 1 : 0;
    }
    if (len > shown)
        dg_kit_append(&r->requests, &r->req_len, "         ...\n");
}

static void record_calls(dg_kit_run *r, dg_kit *k, const scenario *s)
{
    for (dg_kit_call *c = dg_kit_calls(k); c; c = c->next) {
        r->n_requests++;
        dg_kit_append(&r->requests, &r->req_len, "  #%zu [%s] %s %s\n", r->n_requests, s->name,
                      c->method, c->url);
        for (char *h = c->headers; h && *h;) {
            char *nl = strchr(h, '\n');
            size_t n = nl ? (size_t)(nl - h) : strlen(h);
            dg_kit_append(&r->requests, &r->req_len, "       %.*s\n", (int)n, h);
            h += n + (nl ? 1 : 0);
        }
        dg_kit_append(&r->requests, &r->req_len, "       body (%zu bytes):", c->body_len);
        append_body(r, c->body);
        if (c->canceled)
            dg_kit_append(&r->requests, &r->req_len, "       -> canceled by the plugin\n");
        else if (!c->answered)
            dg_kit_append(&r->requests, &r->req_len, "       -> never answered\n");
        else if (c->transport != DG_HTTP_OK)
            dg_kit_append(&r->requests, &r->req_len, "       -> transport error (simulated)\n");
        else
            dg_kit_append(&r->requests, &r->req_len, "       -> %d\n", c->status);
    }
    const char *log = dg_kit_log_text(k);
    if (*log)
        dg_kit_append(&r->logs, &r->logs_len, "  [%s]\n", s->name);
    while (*log) {
        size_t n = strcspn(log, "\n");
        dg_kit_append(&r->logs, &r->logs_len, "       %.*s\n", (int)n, log);
        log += n + (log[n] ? 1 : 0);
    }
}

static void run_scenario(dg_kit_run *r, const scenario *s)
{
    int channel = r->p->desc->kind == DG_PLUGIN_CHANNEL;
    dg_kit *k =
        dg_kit_new(r->p->desc->kind, r->p->desc->config_schema, cJSON_Duplicate(r->conf, 1));
    const dg_host *host = dg_kit_host();
    void *self = NULL;
    char err[512] = "", why[256] = "", summary[768] = "", routes[512] = "";
    dg_op work = 0, act = 0, stop;
    held_msg *held = NULL;
    int ok = 1, rc;
    if (!k) {
        dg_kit_check(r, 0, s->name, "out of memory");
        return;
    }
    dg_kit_set_peer(k, &s->peer);
    rc = channel ? r->p->channel.create(host, dg_kit_inst(k), &self, err, sizeof err)
                 : r->p->store.create(host, dg_kit_inst(k), &self, err, sizeof err);
    if (rc != DG_OK) {
        dg_kit_check(r, 0, s->name, "create failed: %s: %s", dg_strerror(rc),
                     err[0] ? err : "(no message)");
        for (size_t i = 0; i < dg_kit_n_violations(k); i++)
            dg_kit_detail(r, "!", "%s", dg_kit_violation_at(k, i));
        dg_kit_free(k);
        return;
    }
    dg_kit_set_inbox(k, channel ? r->p->channel.inbox_process : r->p->store.inbox_process, self);
    rc = channel ? r->p->channel.start(self, err, sizeof err)
                 : r->p->store.start(self, err, sizeof err);
    if (rc != DG_OK) {
        snprintf(summary, sizeof summary, "start failed: %s: %s", dg_strerror(rc),
                 err[0] ? err : "(no message)");
        ok = 0;
        dg_kit_start_failed(k); /* the daemon drops what a failed start set up */
        goto destroy;
    }
    if (s->exercise_routes) {
        size_t off = 0;
        for (size_t i = 0; i < dg_kit_n_routes(k) && off < sizeof routes; i++) {
            const dg_kit_route *rt = dg_kit_route_at(k, i);
            int st = dg_kit_inject(k, rt, "{}");
            char answer[32];
            if (st > 0)
                snprintf(answer, sizeof answer, "%d", st);
            else
                snprintf(answer, sizeof answer, "%s", st ? dg_strerror(st) : "no answer yet");
            off += (size_t)snprintf(routes + off, sizeof routes - off, "%s%s %s -> %s",
                                    i ? ", " : "", rt->method, rt->path, answer);
        }
    }
    work = start_op(r, k, self, channel ? "send" : "backfill", &held, why, sizeof why);
    if (!work)
        ok = 0;
    else if (!s->stop_in_flight && !drive(k, work, DRAIN_LIMIT_MS))
        ok = 0, snprintf(why, sizeof why, "%s never completed (%d s of virtual time)",
                         channel ? "send" : "backfill", DRAIN_LIMIT_MS / 1000);
    if (!channel && r->p->store.act && work) {
        char act_why[256] = ""; /* act may refuse a re-read at once: allowed */
        if ((act = start_op(r, k, self, "act", &held, act_why, sizeof act_why)) != 0 &&
            !drive(k, act, DRAIN_LIMIT_MS))
            dg_kit_violation(k, "act never completed (%d s of virtual time)",
                             DRAIN_LIMIT_MS / 1000);
    }
    if (work && !s->stop_in_flight)
        ok &= judge(r, k, s, dg_kit_op_get(k, work), summary, sizeof summary);
    stop = dg_kit_new_op(k, "stop");
    rc = channel ? r->p->channel.stop(self, stop) : r->p->store.stop(self, stop);
    if (rc == DG_PENDING) {
        if (!drive(k, stop, DRAIN_LIMIT_MS))
            dg_kit_violation(k, "stop returned DG_PENDING but never completed its op");
    } else if (rc == DG_OK) {
        if (dg_kit_op_get(k, stop)->completions)
            dg_kit_violation(k, "stop returned DG_OK and also completed its op");
    } else {
        dg_kit_violation(k, "stop returned %s: it returns DG_OK or DG_PENDING", dg_strerror(rc));
    }
    if (work && s->stop_in_flight) {
        const dg_kit_op *o = dg_kit_op_get(k, work);
        if (o->completions == 1)
            snprintf(summary, sizeof summary,
                     "in-flight send completed once before stop finished (%s)",
                     o->status == DG_OK ? "OK" : dg_strerror(o->status));
        else if (o->completions > 1)
            snprintf(summary, sizeof summary, "in-flight send completed %d times", o->completions);
        else
            snprintf(summary, sizeof summary,
                     "the in-flight send was not completed when stop finished");
    }
    dg_kit_stopped(k);
    /* Whatever the plugin left behind gets its chance to misbehave now. */
    dg_kit_pump(k);
    dg_kit_advance(k, PROBE_AFTER_STOP_MS);
    dg_kit_pump(k);
destroy:
    if (channel)
        r->p->channel.destroy(self);
    else
        r->p->store.destroy(self);
    dg_kit_destroyed(k);
    if (held)
        check_borrowed(k);
    free_held(held);
    ok &= dg_kit_n_violations(k) == 0;
    dg_kit_check(r, ok, s->name, "%s", why[0] ? why : summary[0] ? summary : "completed");
    if (routes[0])
        dg_kit_detail(r, "routes:", "%s", routes);
    if (!channel && dg_kit_n_emitted(k))
        dg_kit_detail(r, "emitted:", "%zu event(s)", dg_kit_n_emitted(k));
    for (size_t i = 0; i < dg_kit_n_violations(k); i++)
        dg_kit_detail(r, "!", "%s", dg_kit_violation_at(k, i));
    for (size_t i = 0; i < dg_kit_n_notes(k); i++)
        dg_kit_detail(r, "note:", "%s", dg_kit_note_at(k, i));
    if (s->exercise_routes) {
        r->made_calls = dg_kit_n_calls(k) > 0;
        r->smtp = r->made_calls && dg_kit_calls(k)->smtp;
    }
    record_calls(r, k, s);
    dg_kit_free(k);
}

static void run_scenarios(dg_kit_run *r)
{
    scenario s[4];
    memset(s, 0, sizeof s);
    s[0].name = r->p->desc->kind == DG_PLUGIN_CHANNEL ? "lifecycle + send" : "lifecycle";
    s[0].peer = r->ok_peer;
    s[0].exercise_routes = 1;
    s[0].expect = r->p->desc->kind == DG_PLUGIN_CHANNEL ? EXP_OK : EXP_ANY;
    run_scenario(r, &s[0]);
    if (r->p->desc->kind != DG_PLUGIN_CHANNEL)
        return;

    s[1].name = "503 + Retry-After";
    s[1].peer = (dg_kit_peer){503, 451,  "application/json", "{\"error\":\"overloaded\"}",
                              "7", 7000, DG_HTTP_OK};
    s[1].expect = EXP_RETRY_AFTER;
    s[2].name = "transport error";
    s[2].peer = (dg_kit_peer){0, 0, NULL, NULL, NULL, -1, DG_HTTP_ECONNECT};
    s[2].expect = EXP_RETRYABLE;
    s[3].name = "stop in flight";
    s[3].peer = r->ok_peer;
    s[3].stop_in_flight = 1;
    s[3].expect = EXP_ANY;
    for (int i = 1; i < 3; i++) {
        if (r->made_calls)
            run_scenario(r, &s[i]);
        else
            dg_kit_skip(r, s[i].name, "the plugin made no outbound call when sending");
    }
    run_scenario(r, &s[3]); /* parked work (timers) counts too */
}

/* ------------------------------------------------------------- driver */

static void rm_tmpdir(const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    char p[600];
    while (d && (e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        snprintf(p, sizeof p, "%s/%s", dir, e->d_name);
        unlink(p);
    }
    if (d)
        closedir(d);
    rmdir(dir);
}

int dg_conformance_run(const char *path, const dg_conformance_opts *o)
{
    dg_kit_run r;
    dg_loader *ld = NULL;
    char err[1024] = "", file[1024];
    const char *tmp = getenv("TMPDIR");
    int rc;
    memset(&r, 0, sizeof r);
    r.out = o->out;
    r.ok_peer = (dg_kit_peer){200,
                              250,
                              "application/json",
                              "{\"id\":\"kit-msg-1\",\"message_id\":\"kit-msg-1\","
                              "\"sid\":\"kit-msg-1\",\"messages\":[{\"id\":\"kit-msg-1\"}]}",
                              NULL,
                              -1,
                              DG_HTTP_OK};
    /* A path without a slash would be searched for as a plugin name. */
    snprintf(file, sizeof file, "%s%s", strchr(path, '/') ? "" : "./", path);
    fprintf(r.out, "duegate plugin-test %s\n", path);
    if ((rc = dg_loader_new(&ld, NULL, 0, err, sizeof err)) != 0) {
        fprintf(r.out, "  FAIL  %-18s %s\n", "load", err);
        return rc;
    }
    if (dg_loader_load(ld, file, &r.p, err, sizeof err) != 0) {
        dg_kit_check(&r, 0, "load/ABI", "%s", err);
        goto done;
    }
    snprintf(r.tmpdir, sizeof r.tmpdir, "%s/dg-plugin-test-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    if (!mkdtemp(r.tmpdir)) {
        dg_kit_check(&r, 0, "setup", "cannot create a temporary directory: %s", strerror(errno));
        r.tmpdir[0] = '\0';
        goto done;
    }
    dg_kit_check_descriptor(&r);
    dg_kit_check_schema(&r);
    if (dg_kit_build_config(&r, o->instance_file) == 0)
        run_scenarios(&r);
done:
    if (r.n_requests)
        fprintf(r.out, "\nRecorded outbound requests (secrets masked):\n%s", r.requests);
    if (r.logs)
        fprintf(r.out, "\nPlugin log (masked as the daemon would):\n%s", r.logs);
    fprintf(r.out, "\n%s: %d passed, %d failed, %d skipped\n", r.failed ? "FAILED" : "PASSED",
            r.passed, r.failed, r.skipped);
    if (r.tmpdir[0])
        rm_tmpdir(r.tmpdir);
    free(r.requests);
    free(r.logs);
    free(r.ok_body);
    free(r.ok_ctype);
    cJSON_Delete(r.conf);
    dg_loader_free(ld);
    return r.failed;
}
