/* Rendering messages from loaded templates (see template.h). */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <duegate/types.h>

#include "error.h"
#include "intl.h"
#include "sms_text.h"
#include "tmpl_internal.h"

#ifndef DG_TEMPLATEDIR
#define DG_TEMPLATEDIR "/usr/local/share/duegate/templates"
#endif

/* The variables a template may use, documented in docs/templates.md. */
static const char *const var_names[] = {"customer.first_name",
                                        "customer.full_name",
                                        "order.name",
                                        "order.items",
                                        "order.amount",
                                        "order.currency",
                                        "order.deadline",
                                        "order.close_time",
                                        "pay_link",
                                        "pay_link.suffix",
                                        "store.name",
                                        "store.support_contact",
                                        "store.refund_days",
                                        "store.refund_period",
                                        "case.days_left",
                                        "case.days_left_text",
                                        "case.due_today",
                                        "case.overdue",
                                        "case.days_overdue",
                                        "case.days_overdue_text",
                                        "case.hours_left",
                                        "case.hours_left_text",
                                        "case.final_deadline",
                                        "case.promise_date",
                                        "coupon",
                                        "last_reply",
                                        "segment.high_value",
                                        "segment.returning",
                                        "segment.new",
                                        "segment.busy",
                                        "segment.hesitant",
                                        "segment.high_intent",
                                        "segment.price_sensitive"};
#define N_VARS (sizeof var_names / sizeof var_names[0])

typedef struct vars {
    char *v[N_VARS];
} vars;

static int var_index(const char *name)
{
    for (size_t i = 0; i < N_VARS; i++)
        if (strcmp(var_names[i], name) == 0)
            return (int)i;
    return -1;
}

int dg_tmpl_known_var(void *ud, const char *name)
{
    (void)ud;
    return var_index(name) >= 0;
}

static const char *get_var(void *ud, const char *name)
{
    const vars *v = ud;
    int i = var_index(name);
    return i >= 0 ? v->v[i] : NULL;
}

static void vars_free(vars *v)
{
    for (size_t i = 0; i < N_VARS; i++)
        free(v->v[i]);
}

static int set(vars *v, const char *name, const char *val)
{
    int i = var_index(name);
    if (i < 0 || !val || !*val)
        return 0;
    free(v->v[i]);
    v->v[i] = strdup(val);
    return v->v[i] ? 0 : DG_ENOMEM;
}

static int set_int(vars *v, const char *name, long long n)
{
    char b[32];
    snprintf(b, sizeof b, "%lld", n);
    return set(v, name, b);
}

/* "https://host/x?y" -> "x?y"; NULL when not an http(s) URL. */
static const char *url_suffix(const char *url)
{
    const char *p = strstr(url, "://");
    if (!p)
        return NULL;
    p = strchr(p + 3, '/');
    return p ? p + 1 : "";
}

static int lang_eq(const char *a, const char *b)
{
    size_t la = strcspn(a, "-_"), lb = strcspn(b, "-_");
    return la == lb && strncasecmp(a, b, la) == 0;
}

static int build_vars(const dg_msg_facts *f, const char *fmt_loc, vars *v, char *err,
                      size_t err_len)
{
    char b[256];
    int rc = 0;
    int64_t diff = 0;
    int have_diff = 0;
    memset(v, 0, sizeof *v);
    rc |= set(v, "customer.first_name", f->first_name);
    rc |=
        set(v, "customer.full_name", f->full_name && *f->full_name ? f->full_name : f->first_name);
    rc |= set(v, "order.name", f->order_name);
    rc |= set(v, "order.items", f->items_summary);
    rc |= set(v, "order.currency", f->currency);
    if (f->currency && *f->currency) {
        if (dg_intl_money(fmt_loc, f->amount_minor, f->currency, b, sizeof b)) {
            dg_errf(err, err_len, "cannot format %lld minor units of currency '%s'",
                    (long long)f->amount_minor, f->currency);
            return DG_EINVAL;
        }
        rc |= set(v, "order.amount", b);
    }
    if (f->deadline_ms && !dg_intl_datetime(fmt_loc, f->tz, f->deadline_ms, b, sizeof b))
        rc |= set(v, "order.deadline", b);
    if (f->close_ms && !dg_intl_datetime(fmt_loc, f->tz, f->close_ms, b, sizeof b))
        rc |= set(v, "order.close_time", b);
    if (f->pay_link && *f->pay_link) {
        if (strncmp(f->pay_link, "https://", 8) && strncmp(f->pay_link, "http://", 7)) {
            dg_errf(err, err_len, "the pay link is not an http(s) URL");
            return DG_EINVAL;
        }
        rc |= set(v, "pay_link", f->pay_link);
        rc |= set(v, "pay_link.suffix", url_suffix(f->pay_link));
    }
    rc |= set(v, "store.name", f->store_name);
    rc |= set(v, "store.support_contact", f->support_contact);
    if (f->refund_days > 0) {
        rc |= set_int(v, "store.refund_days", f->refund_days);
        if (!dg_intl_business_days(fmt_loc, f->refund_days, b, sizeof b))
            rc |= set(v, "store.refund_period", b);
    }
    if (f->deadline_ms && f->now_ms && !dg_intl_day_diff(f->tz, f->now_ms, f->deadline_ms, &diff))
        have_diff = 1;
    if (have_diff && f->deadline_ms >= f->now_ms) {
        rc |= set_int(v, "case.days_left", diff);
        if (!dg_intl_duration(fmt_loc, "day", diff, b, sizeof b))
            rc |= set(v, "case.days_left_text", b);
        if (diff == 0)
            rc |= set(v, "case.due_today", "1");
    }
    if (have_diff && f->deadline_ms < f->now_ms) {
        rc |= set(v, "case.overdue", "1");
        if (diff == 0)
            rc |= set(v, "case.due_today", "1");
        if (-diff >= 1) {
            rc |= set_int(v, "case.days_overdue", -diff);
            if (!dg_intl_duration(fmt_loc, "day", -diff, b, sizeof b))
                rc |= set(v, "case.days_overdue_text", b);
        }
    }
    {
        int64_t left = f->final_window_ms > 0 ? f->final_window_ms
                       : (f->close_ms && f->now_ms && f->close_ms > f->now_ms)
                           ? f->close_ms - f->now_ms
                           : 0;
        if (left > 0) {
            int64_t h = (left + 1800000) / 3600000;
            if (h < 1)
                h = 1;
            rc |= set_int(v, "case.hours_left", h);
            if (!dg_intl_duration(fmt_loc, "hour", h, b, sizeof b))
                rc |= set(v, "case.hours_left_text", b);
        }
        if (f->final_window_ms > 0 && f->now_ms &&
            !dg_intl_datetime(fmt_loc, f->tz, f->now_ms + f->final_window_ms, b, sizeof b))
            rc |= set(v, "case.final_deadline", b);
    }
    if (f->promise_ms > 0 && !dg_intl_date(fmt_loc, f->tz, f->promise_ms, b, sizeof b))
        rc |= set(v, "case.promise_date", b);
    rc |= set(v, "coupon", f->coupon);
    rc |= set(v, "last_reply", f->last_reply);
    if (f->segment && *f->segment) {
        char name[64];
        snprintf(name, sizeof name, "segment.%s", f->segment);
        if (var_index(name) >= 0)
            rc |= set(v, name, "1");
    }
    if (rc) {
        dg_errf(err, err_len, "out of memory");
        return DG_ENOMEM;
    }
    return 0;
}

/* ----------------------------------------------------------- helpers */

const tmpl *dg_tmpl_find(const dg_templates *t, const char *id)
{
    size_t lo = 0, hi = t->n;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        int c = strcmp(id, t->t[mid].id);
        if (!c)
            return &t->t[mid];
        if (c < 0)
            hi = mid;
        else
            lo = mid + 1;
    }
    return NULL;
}

const char *dg_templates_negotiate(const dg_templates *t, const char *want)
{
    char w[64];
    if (want && *want && strlen(want) < sizeof w) {
        strcpy(w, want);
        for (char *p = w; *p; p++)
            if (*p == '_')
                *p = '-';
        for (;;) {
            char *dash;
            for (size_t i = 0; i < t->n_locales; i++)
                if (strcasecmp(t->locales[i], w) == 0)
                    return t->locales[i];
            dash = strrchr(w, '-');
            if (!dash)
                break;
            *dash = '\0';
        }
        for (size_t i = 0; i < t->n_locales; i++)
            if (lang_eq(t->locales[i], w))
                return t->locales[i];
    }
    return t->locales[t->def];
}

static size_t locale_index(const dg_templates *t, const char *loc)
{
    for (size_t i = 0; i < t->n_locales; i++)
        if (t->locales[i] == loc)
            return i;
    return t->def;
}

static void trim_end(char *s)
{
    size_t n = strlen(s);
    while (n && isspace((unsigned char)s[n - 1]))
        s[--n] = '\0';
}

static int render_part(const tpart *pt, vars *v, int html, char **out, char *err, size_t err_len)
{
    dg_sbuf b = {0};
    int rc = dg_tmpl_render(pt->tree, pt->file, get_var, v, html, &b, err, err_len);
    *out = dg_sbuf_take(&b);
    if (rc) {
        free(*out);
        *out = NULL;
        return rc;
    }
    if (!*out) {
        dg_errf(err, err_len, "out of memory");
        return DG_ENOMEM;
    }
    trim_end(*out);
    return 0;
}

/* WhatsApp text parameters: no newline or tab, at most 4 spaces in a row. */
static char *wa_param_clean(const char *s)
{
    char *o = malloc(strlen(s) + 1), *w = o;
    int spaces = 0;
    if (!o)
        return NULL;
    for (; *s; s++) {
        char ch = (*s == '\n' || *s == '\t' || *s == '\r') ? ' ' : *s;
        spaces = ch == ' ' ? spaces + 1 : 0;
        if (spaces <= 4)
            *w++ = ch;
    }
    *w = '\0';
    trim_end(o);
    return o;
}

static int render_expr(const dg_tnode *n, const char *file, vars *v, char **out, char *err,
                       size_t err_len)
{
    dg_sbuf b = {0};
    int rc = dg_tmpl_render(n, file, get_var, v, 0, &b, err, err_len);
    char *s = dg_sbuf_take(&b);
    *out = NULL;
    if (rc || !s) {
        free(s);
        return rc ? rc : DG_ENOMEM;
    }
    *out = wa_param_clean(s);
    free(s);
    if (!*out)
        return DG_ENOMEM;
    if (!**out) {
        dg_errf(err, err_len, "%s: a WhatsApp parameter renders empty", file);
        free(*out);
        *out = NULL;
        return DG_EINVAL;
    }
    return 0;
}

static int render_wa(const tmpl *tp, size_t li, vars *v, const dg_msg_facts *f, dg_rendered *r,
                     char *err, size_t err_len)
{
    int rc;
    if (!(r->wa_template_name = strdup(tp->wa[li].name)) ||
        !(r->wa_language = strdup(tp->wa[li].language)))
        return DG_ENOMEM;
    r->params = calloc(tp->n_params + 1, sizeof *r->params);
    r->buttons = calloc(tp->n_buttons + 1, sizeof *r->buttons);
    if (!r->params || !r->buttons)
        return DG_ENOMEM;
    for (size_t i = 0; i < tp->n_params; i++) {
        dg_template_param *p = &r->params[i];
        DG_INIT(p);
        r->n_params++;
        if (tp->params[i].name && !(p->name = strdup(tp->params[i].name)))
            return DG_ENOMEM;
        rc = render_expr(tp->wa[li].params ? tp->wa[li].params[i].expr : tp->params[i].expr,
                         tp->wa_file, v, (char **)&p->value, err, err_len);
        if (rc)
            return rc;
    }
    for (size_t i = 0; i < tp->n_buttons; i++) {
        dg_template_button *b = &r->buttons[i];
        const wa_button *wb = &tp->buttons[i];
        DG_INIT(b);
        r->n_buttons++;
        b->kind = (dg_button_kind)wb->kind;
        b->index = wb->index;
        if (wb->kind == DG_BUTTON_QUICK_REPLY) {
            if (!(b->value = strdup(wb->payload)))
                return DG_ENOMEM;
            continue;
        }
        if (tp->url_prefix && f->pay_link) {
            size_t n = strlen(tp->url_prefix);
            if (strncmp(f->pay_link, tp->url_prefix, n)) {
                dg_errf(err, err_len, "%s: the pay link does not start with url_prefix %s",
                        tp->wa_file, tp->url_prefix);
                return DG_EINVAL;
            }
            if (set(v, "pay_link.suffix", f->pay_link + n))
                return DG_ENOMEM;
        }
        rc = render_expr(wb->expr, tp->wa_file, v, (char **)&b->value, err, err_len);
        if (rc)
            return rc;
    }
    return 0;
}

int dg_templates_render(void *templates, const char *template_id, const char *channel_kind,
                        const dg_msg_facts *f, dg_rendered *out, char *err, size_t err_len)
{
    dg_templates *t = templates;
    const tmpl *tp;
    const char *loc, *fmt_loc;
    size_t li;
    vars v;
    int rc;
    memset(out, 0, sizeof *out);
    if (!t || !template_id || !channel_kind || !f) {
        dg_errf(err, err_len, "render: missing argument");
        return DG_EINVAL;
    }
    tp = dg_tmpl_find(t, template_id);
    if (!tp) {
        dg_errf(err, err_len, "no template '%s' in %s", template_id, t->dir);
        return DG_ENOTFOUND;
    }
    if (strcmp(channel_kind, DG_CHANNEL_KIND_SMS) && strcmp(channel_kind, DG_CHANNEL_KIND_EMAIL) &&
        strcmp(channel_kind, DG_CHANNEL_KIND_WHATSAPP)) {
        dg_errf(err, err_len, "no channel kind '%s' (sms, email, whatsapp)", channel_kind);
        return DG_ENOTFOUND;
    }
    loc = dg_templates_negotiate(t, f->locale);
    li = locale_index(t, loc);
    fmt_loc =
        f->locale && lang_eq(f->locale, loc) && dg_intl_locale_ok(f->locale) ? f->locale : loc;
    rc = build_vars(f, fmt_loc, &v, err, err_len);
    if (rc) {
        vars_free(&v);
        return rc;
    }
    if (!(out->locale = strdup(loc))) {
        rc = DG_ENOMEM;
        goto done;
    }
    if (strcmp(channel_kind, DG_CHANNEL_KIND_SMS) == 0) {
        dg_sms_info info;
        char *raw = NULL;
        rc = render_part(&tp->parts[li][P_SMS], &v, 0, &raw, err, err_len);
        if (rc)
            goto done;
        out->text = dg_sms_normalize(raw);
        free(raw);
        if (!out->text) {
            rc = DG_ENOMEM;
            goto done;
        }
        if (dg_sms_measure(out->text, &info)) {
            dg_errf(err, err_len, "%s: rendered SMS is not valid UTF-8", tp->parts[li][P_SMS].file);
            rc = DG_EINVAL;
            goto done;
        }
        out->sms_segments = info.segments;
        out->sms_ucs2 = info.ucs2;
        if (info.segments > t->sms_max_segments) {
            dg_errf(err, err_len, "%s: the SMS needs %d segments (%s, %zu %s), the cap is %d",
                    tp->parts[li][P_SMS].file, (int)info.segments, info.ucs2 ? "UCS-2" : "GSM-7",
                    info.units, info.ucs2 ? "units" : "septets", t->sms_max_segments);
            rc = DG_EINVAL;
        }
    } else if (strcmp(channel_kind, DG_CHANNEL_KIND_EMAIL) == 0) {
        rc = render_part(&tp->parts[li][P_SUBJECT], &v, 0, &out->subject, err, err_len);
        if (!rc)
            rc = render_part(&tp->parts[li][P_TEXT], &v, 0, &out->text, err, err_len);
        if (!rc)
            rc = render_part(&tp->parts[li][P_HTML], &v, 1, &out->html, err, err_len);
        if (!rc && strpbrk(out->subject, "\r\n")) {
            dg_errf(err, err_len, "%s: the subject renders on more than one line",
                    tp->parts[li][P_SUBJECT].file);
            rc = DG_EINVAL;
        }
    } else {
        rc = render_part(&tp->parts[li][P_WA], &v, 0, &out->text, err, err_len);
        if (!rc && tp->wa_file)
            rc = render_wa(tp, li, &v, f, out, err, err_len);
    }
done:
    if (rc == DG_ENOMEM)
        dg_errf(err, err_len, "out of memory");
    if (rc)
        dg_rendered_clear(out);
    vars_free(&v);
    return rc;
}

char *dg_templates_wa_preview(const dg_templates *t, const char *template_id, const dg_rendered *r)
{
    const tmpl *tp = dg_tmpl_find(t, template_id);
    dg_sbuf b = {0};
    const char *p;
    size_t li;
    if (!tp || !tp->wa_file || !r->locale)
        return NULL;
    li = locale_index(t, dg_templates_negotiate(t, r->locale));
    p = tp->wa[li].body;
    while (*p) {
        const char *o = strstr(p, "{{"), *c;
        if (!o || !(c = strstr(o, "}}"))) {
            dg_sbuf_adds(&b, p);
            break;
        }
        dg_sbuf_add(&b, p, (size_t)(o - p));
        for (size_t i = 0; i < r->n_params; i++) {
            char key[64];
            if (r->params[i].name)
                snprintf(key, sizeof key, "%s", r->params[i].name);
            else
                snprintf(key, sizeof key, "%zu", i + 1);
            if (strlen(key) == (size_t)(c - o - 2) && !strncmp(key, o + 2, strlen(key)))
                dg_sbuf_adds(&b, r->params[i].value);
        }
        p = c + 2;
    }
    return dg_sbuf_take(&b);
}

/* ------------------------------------------------------------ settings */

void dg_templates_set_sms_max_segments(dg_templates *t, int n)
{
    if (n >= 1 && n <= 10)
        t->sms_max_segments = n;
}

int dg_templates_sms_max_segments(const dg_templates *t)
{
    return t->sms_max_segments;
}

const char *dg_templates_default_locale(const dg_templates *t)
{
    return t->locales[t->def];
}

size_t dg_templates_count(const dg_templates *t)
{
    return t->n;
}

const char *dg_templates_id(const dg_templates *t, size_t i)
{
    return i < t->n ? t->t[i].id : NULL;
}

size_t dg_templates_locale_count(const dg_templates *t)
{
    return t->n_locales;
}

const char *dg_templates_locale(const dg_templates *t, size_t i)
{
    return i < t->n_locales ? t->locales[i] : NULL;
}

int dg_templates_has_wa_mapping(const dg_templates *t, const char *id)
{
    const tmpl *tp = dg_tmpl_find(t, id);
    return tp && tp->wa_file;
}

static int has_manifest(const char *dir)
{
    char p[4096];
    struct stat st;
    snprintf(p, sizeof p, "%s/templates.json", dir);
    return stat(p, &st) == 0;
}

char *dg_templates_pick_dir(const dg_config *cfg, const char *dir_override)
{
    if (dir_override && *dir_override)
        return strdup(dir_override);
    if (cfg && cfg->templates_dir && *cfg->templates_dir)
        return dg_config_resolve_path(cfg, cfg->templates_dir);
    if (has_manifest(DG_TEMPLATEDIR))
        return strdup(DG_TEMPLATEDIR);
    return strdup("templates");
}

int dg_templates_load_config(const dg_config *cfg, const char *dir_override,
                             dg_templates_report_fn report, void *ud, dg_templates **out, char *err,
                             size_t err_len)
{
    const cJSON *sec = cfg ? dg_config_section(cfg, "templates") : NULL, *dl = NULL, *ms = NULL;
    char *dir;
    int rc, line;
    *out = NULL;
    if (sec) {
        for (const cJSON *it = sec->child; it; it = it->next) {
            char path[128];
            snprintf(path, sizeof path, "templates.%s", it->string ? it->string : "?");
            line = dg_json_line_of(cfg->text, path);
            if (it->string && strcmp(it->string, "default_locale") == 0 && cJSON_IsString(it)) {
                dl = it;
            } else if (it->string && strcmp(it->string, "sms_max_segments") == 0 &&
                       cJSON_IsNumber(it) && it->valuedouble >= 1 && it->valuedouble <= 10 &&
                       it->valuedouble == (double)it->valueint) {
                ms = it;
            } else {
                dg_errf(err, err_len,
                        "%s:%d: %s: unknown key or bad value (default_locale: "
                        "string, sms_max_segments: 1-10)",
                        cfg->path, line, path);
                return DG_ECONFIG;
            }
        }
    }
    dir = dg_templates_pick_dir(cfg, dir_override);
    if (!dir) {
        dg_errf(err, err_len, "out of memory");
        return DG_ENOMEM;
    }
    rc = dg_templates_load_report(dir, dl ? dl->valuestring : NULL, report, ud, out, err, err_len);
    free(dir);
    if (!rc && ms)
        dg_templates_set_sms_max_segments(*out, ms->valueint);
    return rc;
}
