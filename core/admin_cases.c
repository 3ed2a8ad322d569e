/* The admin API's reads: the tracking table (filters, sort, pages, CSV),
 * one case with its timeline, and the summary behind /metrics and the
 * console's chart. Scans the cases table (an operator's page, not a hot
 * path). */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "admin_int.h"
#include "clock.h"
#include "error.h"
#include "form.h"

void dga_iso(int64_t ms, char *out, size_t len)
{
    if (ms <= 0)
        out[0] = '\0';
    else
        dg_format_iso8601(ms, out, len);
}

void dga_rows_free(dga_rows *r)
{
    free(r->v);
    memset(r, 0, sizeof *r);
}

/* ---------------------------------------------------------------- filters */

typedef struct flt {
    unsigned status_mask; /* 0: any */
    const char *stage, *channel, *q;
    int needs_person, overdue; /* -1: any */
    int64_t now;
    int sort;
    int desc;
    dg_admin *a;
    dga_rows *rows;
    int err;
} flt;

enum { S_NEXT, S_DUE, S_BALANCE, S_CUSTOMER, S_ORDER, S_CONTACT, S_UPDATED, S_STATUS };
static const char *const sort_names[] = {"next",  "due",     "balance", "customer",
                                         "order", "contact", "updated", "status"};

static int parse_status(const char *v, unsigned *mask)
{
    char buf[256], *save = NULL;
    snprintf(buf, sizeof buf, "%s", v);
    *mask = 0;
    for (char *t = strtok_r(buf, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
        int found = 0;
        for (int s = 0; s <= DG_CASE_WONT_PAY; s++)
            if (strcmp(t, dg_case_status_name(s)) == 0)
                *mask |= 1u << s, found = 1;
        if (!found)
            return -1;
    }
    return *mask ? 0 : -1;
}

static int parse_bool(const char *v)
{
    if (!strcmp(v, "1") || !strcmp(v, "true") || !strcmp(v, "yes"))
        return 1;
    if (!strcmp(v, "0") || !strcmp(v, "false") || !strcmp(v, "no"))
        return 0;
    return -2;
}

static int parse_int(const char *v, int64_t lo, int64_t hi, int64_t *out)
{
    char *end;
    long long x;
    if (!*v)
        return -1;
    x = strtoll(v, &end, 10);
    if (*end || x < lo || x > hi)
        return -1;
    *out = x;
    return 0;
}

static int icontains(const char *hay, const char *needle)
{
    size_t n = strlen(needle);
    if (!n)
        return 1;
    for (; *hay; hay++)
        if (strncasecmp(hay, needle, n) == 0)
            return 1;
    return 0;
}

static void last_touch(void *ud, const dg_touch *t)
{
    dga_row *r = ud;
    r->n_touches++;
    snprintf(r->stage, sizeof r->stage, "%s", t->stage);
    snprintf(r->channel, sizeof r->channel, "%s", t->channel);
    snprintf(r->kind, sizeof r->kind, "%s", t->kind);
    r->last_touch_status = t->status;
}

static int is_overdue(const dg_case *c, int64_t now)
{
    int64_t due = c->due_at ? c->due_at : c->close_at;
    return due > 0 && due < now &&
           (dg_case_status_live((int)c->status) || c->status == DG_CASE_PAUSED);
}

static void visit_case(void *ud, const dg_case *c)
{
    flt *f = ud;
    dga_row r;
    char name[160];
    if (f->err)
        return;
    if (f->status_mask && !(f->status_mask & (1u << (c->status & 31))))
        return;
    if (f->needs_person >= 0 && (c->needs_person != 0) != f->needs_person)
        return;
    if (f->overdue >= 0 && is_overdue(c, f->now) != f->overdue)
        return;
    snprintf(name, sizeof name, "%s %s", c->first_name, c->last_name);
    if (f->q && *f->q && !icontains(c->order_name, f->q) && !icontains(c->order_id, f->q) &&
        !icontains(name, f->q) && !icontains(c->email, f->q) && !icontains(c->phone, f->q) &&
        !icontains(c->cust_id, f->q))
        return;
    memset(&r, 0, sizeof r);
    r.c = *c;
    if ((f->stage && *f->stage) || (f->channel && *f->channel)) {
        r.fetched = 1;
        if (f->a->st->vt->touches_of_case(f->a->st, c->id, last_touch, &r) != 0) {
            f->err = DG_EIO;
            return;
        }
    }
    if (f->stage && *f->stage && strcmp(f->stage, r.stage) != 0)
        return;
    if (f->channel && *f->channel && strcmp(f->channel, r.channel) != 0 &&
        strcmp(f->channel, r.kind) != 0)
        return;
    if (f->rows->n == f->rows->cap) {
        size_t cap = f->rows->cap ? f->rows->cap * 2 : 64;
        dga_row *v = realloc(f->rows->v, cap * sizeof *v);
        if (!v) {
            f->err = DG_ENOMEM;
            return;
        }
        f->rows->v = v;
        f->rows->cap = cap;
    }
    f->rows->v[f->rows->n++] = r;
}

static int g_sort, g_desc; /* qsort has no user pointer; loop thread only */

static int cmp64(int64_t a, int64_t b)
{
    return a < b ? -1 : a > b;
}

static int cmp_rows(const void *pa, const void *pb)
{
    const dg_case *a = &((const dga_row *)pa)->c, *b = &((const dga_row *)pb)->c;
    int r = 0;
    switch (g_sort) {
    case S_NEXT: /* nothing scheduled goes last */
        r = cmp64(a->next_at ? a->next_at : INT64_MAX, b->next_at ? b->next_at : INT64_MAX);
        break;
    case S_DUE:
        r = cmp64(a->due_at ? a->due_at : a->close_at, b->due_at ? b->due_at : b->close_at);
        break;
    case S_BALANCE:
        r = cmp64(a->amount_minor, b->amount_minor);
        break;
    case S_CUSTOMER:
        r = strcasecmp(a->first_name, b->first_name);
        if (!r)
            r = strcasecmp(a->last_name, b->last_name);
        break;
    case S_ORDER:
        r = strcmp(a->order_name, b->order_name);
        break;
    case S_CONTACT:
        r = cmp64(a->last_contact_at, b->last_contact_at);
        break;
    case S_UPDATED:
        r = cmp64(a->changed_at, b->changed_at);
        break;
    case S_STATUS:
        r = strcmp(dg_case_status_name((int)a->status), dg_case_status_name((int)b->status));
        break;
    }
    if (g_desc)
        r = -r;
    return r ? r : cmp64(a->id, b->id);
}

int dga_list(dg_admin *a, const char *query, int paginate, dga_rows *out, int64_t *offset,
             int64_t *limit, char *detail, size_t len)
{
    flt f;
    dg_form *q = dg_form_parse(query, strlen(query));
    int rc = 0;
    memset(out, 0, sizeof *out);
    memset(&f, 0, sizeof f);
    f.needs_person = f.overdue = -1;
    f.now = dg_clock_now(a->rt->clock);
    f.a = a;
    f.rows = out;
    *offset = 0;
    *limit = 50;
    if (!q) {
        dg_errf(detail, len, "malformed query string");
        return DG_EINVAL;
    }
    for (size_t i = 0; i < dg_form_count(q) && !rc; i++) {
        const char *n = dg_form_name(q, i), *v = dg_form_value(q, i);
        if (!strcmp(n, "status")) {
            if (parse_status(v, &f.status_mask)) {
                dg_errf(detail, len, "status: unknown status in '%s'", v);
                rc = DG_EINVAL;
            }
        } else if (!strcmp(n, "needs_person") || !strcmp(n, "overdue")) {
            int b = parse_bool(v);
            if (b < 0) {
                dg_errf(detail, len, "%s: expected 1/0 or true/false", n);
                rc = DG_EINVAL;
            }
            *(n[0] == 'n' ? &f.needs_person : &f.overdue) = b;
        } else if (!strcmp(n, "stage")) {
            f.stage = v;
        } else if (!strcmp(n, "channel")) {
            f.channel = v;
        } else if (!strcmp(n, "q")) {
            f.q = v;
        } else if (!strcmp(n, "sort")) {
            const char *key = v[0] == '-' ? v + 1 : v;
            f.desc = v[0] == '-';
            f.sort = -1;
            for (int k = 0; k < (int)(sizeof sort_names / sizeof *sort_names); k++)
                if (!strcmp(key, sort_names[k]))
                    f.sort = k;
            if (f.sort < 0) {
                dg_errf(detail, len,
                        "sort: one of next, due, balance, customer, order, contact, updated,"
                        " status (prefix '-' for descending)");
                rc = DG_EINVAL;
            }
        } else if (!strcmp(n, "limit")) {
            if (parse_int(v, 1, 1000, limit)) {
                dg_errf(detail, len, "limit: an integer from 1 to 1000");
                rc = DG_EINVAL;
            }
        } else if (!strcmp(n, "offset")) {
            if (parse_int(v, 0, INT64_MAX / 2, offset)) {
                dg_errf(detail, len, "offset: a non-negative integer");
                rc = DG_EINVAL;
            }
        } else {
            dg_errf(detail, len, "unknown parameter '%s'", n);
            rc = DG_EINVAL;
        }
    }
    if (!rc)
        rc = a->st->vt->cases_visit(a->st, visit_case, &f);
    if (!rc && f.err)
        rc = f.err;
    dg_form_free(q);
    if (rc) {
        if (rc != DG_EINVAL)
            dg_errf(detail, len, "store: %s", dg_strerror(rc));
        dga_rows_free(out);
        return rc;
    }
    g_sort = f.sort;
    g_desc = f.desc;
    if (out->n > 1)
        qsort(out->v, out->n, sizeof *out->v, cmp_rows);
    out->total = (int64_t)out->n;
    if (paginate) { /* keep the page only */
        size_t from = *offset >= out->total ? out->n : (size_t)*offset;
        size_t k = out->n - from < (size_t)*limit ? out->n - from : (size_t)*limit;
        if (k)
            memmove(out->v, out->v + from, k * sizeof *out->v);
        out->n = k;
        for (size_t i = 0; i < k; i++) /* the page's last touches */
            if (!out->v[i].fetched &&
                a->st->vt->touches_of_case(a->st, out->v[i].c.id, last_touch, &out->v[i]) != 0) {
                dg_errf(detail, len, "store: %s", dg_strerror(DG_EIO));
                dga_rows_free(out);
                return DG_EIO;
            }
    }
    return 0;
}

/* ------------------------------------------------------------------ JSON */

static void add_time(cJSON *o, const char *k, int64_t ms)
{
    char t[40];
    if (ms <= 0) {
        cJSON_AddNullToObject(o, k);
        return;
    }
    dga_iso(ms, t, sizeof t);
    cJSON_AddStringToObject(o, k, t);
}

cJSON *dga_row_json(const dga_row *r)
{
    const dg_case *c = &r->c;
    cJSON *o = cJSON_CreateObject();
    char name[160];
    snprintf(name, sizeof name, "%s%s%s", c->first_name, c->last_name[0] ? " " : "", c->last_name);
    cJSON_AddNumberToObject(o, "id", (double)c->id);
    cJSON_AddStringToObject(o, "store", c->store);
    cJSON_AddStringToObject(o, "order_id", c->order_id);
    cJSON_AddStringToObject(o, "order", c->order_name[0] ? c->order_name : c->order_id);
    cJSON_AddStringToObject(o, "customer", name);
    cJSON_AddStringToObject(o, "product", c->items_summary);
    cJSON_AddNumberToObject(o, "balance_minor", (double)c->amount_minor);
    cJSON_AddStringToObject(o, "currency", c->currency);
    add_time(o, "due_at", c->due_at ? c->due_at : c->close_at);
    add_time(o, "last_contact_at", c->last_contact_at);
    cJSON_AddStringToObject(o, "feedback", c->feedback);
    cJSON_AddStringToObject(o, "next_step", c->next_step);
    add_time(o, "next_at", c->next_at);
    cJSON_AddStringToObject(o, "next_kind", dg_next_kind_name((int)c->next_kind));
    cJSON_AddStringToObject(o, "status", dg_case_status_name((int)c->status));
    cJSON_AddBoolToObject(o, "needs_person", c->needs_person != 0);
    cJSON_AddStringToObject(o, "stage", r->stage);
    cJSON_AddStringToObject(o, "channel", r->channel);
    cJSON_AddNumberToObject(o, "touches", (double)r->n_touches);
    add_time(o, "promise_at", c->promise_at);
    add_time(o, "updated_at", c->changed_at);
    return o;
}

static void tl_touch(void *ud, const dg_touch *t)
{
    cJSON *arr = ud, *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "type", "touch");
    add_time(o, "at", t->created_at);
    cJSON_AddNumberToObject(o, "touch_id", (double)t->id);
    cJSON_AddStringToObject(o, "stage", t->stage);
    cJSON_AddStringToObject(o, "channel", t->channel);
    cJSON_AddStringToObject(o, "kind", t->kind);
    cJSON_AddStringToObject(o, "template", t->template_id);
    cJSON_AddStringToObject(o, "status", dg_touch_status_name((int)t->status));
    cJSON_AddNumberToObject(o, "attempt", (double)t->attempt);
    add_time(o, "sent_at", t->sent_at);
    add_time(o, "status_at", t->updated_at);
    cJSON_AddStringToObject(o, "error_code", t->error_code);
    cJSON_AddStringToObject(o, "why", t->why);
    cJSON_AddItemToArray(arr, o);
}

static void tl_action(void *ud, const dg_action *a)
{
    cJSON *arr = ud, *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "type", "action");
    add_time(o, "at", a->at);
    cJSON_AddStringToObject(o, "what", a->what);
    cJSON_AddStringToObject(o, "who", a->who);
    cJSON_AddStringToObject(o, "arg", a->arg);
    cJSON_AddItemToArray(arr, o);
}

static int tl_cmp(const void *pa, const void *pb)
{
    const cJSON *a = *(cJSON *const *)pa, *b = *(cJSON *const *)pb;
    const char *ta = cJSON_GetStringValue(cJSON_GetObjectItem(a, "at"));
    const char *tb = cJSON_GetStringValue(cJSON_GetObjectItem(b, "at"));
    return strcmp(ta ? ta : "", tb ? tb : "");
}

/* Touches and actions merged by time (stable: touches before actions). */
static cJSON *sorted(cJSON *arr)
{
    int n = cJSON_GetArraySize(arr);
    cJSON **v = calloc((size_t)n + 1, sizeof *v), *out = cJSON_CreateArray();
    int i = 0;
    if (!v)
        return arr;
    while (cJSON_GetArraySize(arr) > 0)
        v[i++] = cJSON_DetachItemFromArray(arr, 0);
    /* insertion sort keeps equal times in order */
    for (int a = 1; a < n; a++)
        for (int b = a; b > 0 && tl_cmp(&v[b - 1], &v[b]) > 0; b--) {
            cJSON *t = v[b];
            v[b] = v[b - 1];
            v[b - 1] = t;
        }
    for (i = 0; i < n; i++)
        cJSON_AddItemToArray(out, v[i]);
    free(v);
    cJSON_Delete(arr);
    return out;
}

int dga_case_json(dg_admin *a, int64_t id, cJSON **out)
{
    dga_row r;
    cJSON *o, *tl;
    int rc;
    memset(&r, 0, sizeof r);
    if ((rc = a->st->vt->case_get(a->st, id, &r.c)) != 0)
        return rc;
    tl = cJSON_CreateArray();
    rc = a->st->vt->touches_of_case(a->st, id, tl_touch, tl);
    if (!rc)
        rc = a->st->vt->touches_of_case(a->st, id, last_touch, &r);
    if (!rc && r.c.feedback[0]) { /* the customer's words (the last reply kept) */
        cJSON *rep = cJSON_CreateObject();
        cJSON_AddStringToObject(rep, "type", "reply");
        add_time(rep, "at", r.c.last_contact_at);
        cJSON_AddStringToObject(rep, "text", r.c.feedback);
        cJSON_AddItemToArray(tl, rep);
    }
    if (!rc) /* after the reply: at equal times an answer follows the words */
        rc = a->st->vt->actions_of_case(a->st, id, tl_action, tl);
    if (rc) {
        cJSON_Delete(tl);
        return rc;
    }
    o = dga_row_json(&r);
    cJSON_AddStringToObject(o, "email", r.c.email);
    cJSON_AddStringToObject(o, "phone", r.c.phone);
    cJSON_AddStringToObject(o, "customer_id", r.c.cust_id);
    cJSON_AddStringToObject(o, "playbook", r.c.playbook);
    cJSON_AddStringToObject(o, "pay_link", r.c.pay_link);
    cJSON_AddStringToObject(o, "pause_reason", r.c.pause_reason);
    cJSON_AddNumberToObject(o, "messages_sent", (double)r.c.messages_sent);
    add_time(o, "created_at", r.c.created_at);
    cJSON_AddItemToObject(o, "timeline", sorted(tl));
    *out = o;
    return 0;
}

/* ------------------------------------------------------------------- CSV */

typedef struct sbuf {
    char *p;
    size_t len, cap;
    int oom;
} sbuf;

static void sb_put(sbuf *b, const char *s, size_t n)
{
    if (b->oom)
        return;
    if (b->len + n + 1 > b->cap) {
        size_t cap = (b->cap ? b->cap : 4096);
        char *p;
        while (cap < b->len + n + 1)
            cap *= 2;
        if (!(p = realloc(b->p, cap))) {
            b->oom = 1;
            return;
        }
        b->p = p;
        b->cap = cap;
    }
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = '\0';
}

/* One RFC 4180 field. A value a spreadsheet would run as a formula
 * (=, +, -, @, tab, CR first) gets a leading apostrophe (OWASP CSV
 * injection); the field is quoted when it holds a quote, comma or line
 * break (quotes doubled). */
static void csv_field(sbuf *b, const char *v, int last)
{
    int quote = strpbrk(v, "\",\r\n") != NULL;
    int formula = v[0] && strchr("=+-@\t\r", v[0]) != NULL;
    if (quote)
        sb_put(b, "\"", 1);
    if (formula)
        sb_put(b, "'", 1);
    for (const char *p = v; *p; p++) {
        sb_put(b, p, 1);
        if (*p == '"')
            sb_put(b, "\"", 1);
    }
    if (quote)
        sb_put(b, "\"", 1);
    sb_put(b, last ? "\r\n" : ",", last ? 2 : 1);
}

static void money(int64_t minor, const char *cur, char *out, size_t len)
{
    int64_t a = minor < 0 ? -minor : minor;
    snprintf(out, len, "%s%lld.%02lld %s", minor < 0 ? "-" : "", (long long)(a / 100),
             (long long)(a % 100), cur);
}

char *dga_csv(const dga_rows *r, size_t *len)
{
    sbuf b = {0};
    static const char *const head[] = {
        "customer",          "order",     "product",      "balance", "due date", "last contact",
        "customer feedback", "next step", "next step at", "status"};
    for (size_t i = 0; i < 10; i++)
        csv_field(&b, head[i], i == 9);
    for (size_t i = 0; i < r->n; i++) {
        const dg_case *c = &r->v[i].c;
        char name[160], bal[64], due[40], last[40], next[40];
        snprintf(name, sizeof name, "%s%s%s", c->first_name, c->last_name[0] ? " " : "",
                 c->last_name);
        money(c->amount_minor, c->currency, bal, sizeof bal);
        dga_iso(c->due_at ? c->due_at : c->close_at, due, sizeof due);
        dga_iso(c->last_contact_at, last, sizeof last);
        dga_iso(c->next_at, next, sizeof next);
        csv_field(&b, name, 0);
        csv_field(&b, c->order_name[0] ? c->order_name : c->order_id, 0);
        csv_field(&b, c->items_summary, 0);
        csv_field(&b, bal, 0);
        csv_field(&b, due, 0);
        csv_field(&b, last, 0);
        csv_field(&b, c->feedback, 0);
        csv_field(&b, c->next_step, 0);
        csv_field(&b, next, 0);
        csv_field(&b, dg_case_status_name((int)c->status), 1);
    }
    if (b.oom) {
        free(b.p);
        return NULL;
    }
    *len = b.len;
    return b.p;
}

/* --------------------------------------------------------------- summary */

typedef struct sum {
    dg_admin *a;
    int64_t by_status[DG_CASE_WONT_PAY + 1];
    struct rec {
        char stage[32], channel[48], cur[8];
        int64_t minor, cases;
    } rec[64];
    int n_rec;
} sum;

static void sum_case(void *ud, const dg_case *c)
{
    sum *s = ud;
    dga_row r;
    int i;
    if (c->status >= 0 && c->status <= DG_CASE_WONT_PAY)
        s->by_status[c->status]++;
    if (c->status != DG_CASE_PAID)
        return;
    memset(&r, 0, sizeof r);
    s->a->st->vt->touches_of_case(s->a->st, c->id, last_touch, &r);
    if (!r.n_touches) /* paid before any message: not recovered by duegate */
        return;
    for (i = 0; i < s->n_rec; i++)
        if (!strcmp(s->rec[i].stage, r.stage) && !strcmp(s->rec[i].channel, r.kind) &&
            !strcmp(s->rec[i].cur, c->currency))
            break;
    if (i == s->n_rec) {
        if (s->n_rec == 64)
            return;
        s->n_rec++;
        snprintf(s->rec[i].stage, sizeof s->rec[i].stage, "%s", r.stage);
        snprintf(s->rec[i].channel, sizeof s->rec[i].channel, "%s", r.kind);
        snprintf(s->rec[i].cur, sizeof s->rec[i].cur, "%s", c->currency);
    }
    /* the balance owed when the case was opened is what came in */
    s->rec[i].minor += c->amount_minor;
    s->rec[i].cases++;
}

static sum *summarise(dg_admin *a)
{
    sum *s = calloc(1, sizeof *s);
    if (!s)
        return NULL;
    s->a = a;
    if (a->st->vt->cases_visit(a->st, sum_case, s) != 0) {
        free(s);
        return NULL;
    }
    return s;
}

cJSON *dga_summary(dg_admin *a)
{
    sum *s = summarise(a);
    cJSON *o, *st, *rec;
    if (!s)
        return NULL;
    o = cJSON_CreateObject();
    st = cJSON_AddObjectToObject(o, "cases_by_status");
    for (int i = 0; i <= DG_CASE_WONT_PAY; i++)
        cJSON_AddNumberToObject(st, dg_case_status_name(i), (double)s->by_status[i]);
    rec = cJSON_AddArrayToObject(o, "recovered");
    for (int i = 0; i < s->n_rec; i++) {
        cJSON *r = cJSON_CreateObject();
        cJSON_AddStringToObject(r, "stage", s->rec[i].stage);
        cJSON_AddStringToObject(r, "channel", s->rec[i].channel);
        cJSON_AddStringToObject(r, "currency", s->rec[i].cur);
        cJSON_AddNumberToObject(r, "amount_minor", (double)s->rec[i].minor);
        cJSON_AddNumberToObject(r, "cases", (double)s->rec[i].cases);
        cJSON_AddItemToArray(rec, r);
    }
    free(s);
    return o;
}

void dga_summary_metrics(dg_admin *a)
{
    sum *s;
    if (!a->rt->metrics || !(s = summarise(a)))
        return;
    for (int i = 0; i <= DG_CASE_WONT_PAY; i++) {
        dg_kv l = {"status", dg_case_status_name(i), 0};
        dg_metrics_set(a->rt->metrics, "duegate_cases", &l, 1, (double)s->by_status[i]);
    }
    for (int i = 0; i < s->n_rec; i++) {
        dg_kv l[3] = {{"stage", s->rec[i].stage, 0},
                      {"channel", s->rec[i].channel, 0},
                      {"currency", s->rec[i].cur, 0}};
        dg_metrics_set(a->rt->metrics, "duegate_recovered_amount", l, 3,
                       (double)s->rec[i].minor / 100.0);
        dg_metrics_set(a->rt->metrics, "duegate_recovered_cases", l, 3, (double)s->rec[i].cases);
    }
    free(s);
}
