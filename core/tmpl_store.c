/* Loading a template directory (see template.h). */
#include <ctype.h>
#include <dirent.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <cjson/cJSON.h>

#include <duegate/types.h>

#include "config.h"
#include "error.h"
#include "sms_text.h"
#include "tmpl_internal.h"

const char *const dg_tmpl_part_prefix[P_COUNT] = {"sms", "email", "email", "email", "whatsapp"};
const char *const dg_tmpl_part_suffix[P_COUNT] = {"txt", "subject", "txt", "html", "txt"};

#define MAX_FILE (256 * 1024)

typedef struct loadctx {
    dg_templates *t;
    const char *manifest_text;
    char manifest_path[4096];
    dg_templates_report_fn report;
    void *ud;
    char *err;
    size_t err_len;
    int problems;
    int oom;
} loadctx;

__attribute__((format(printf, 2, 3))) static void problem(loadctx *c, const char *fmt, ...)
{
    char m[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(m, sizeof m, fmt, ap);
    va_end(ap);
    if (!c->problems++)
        dg_errf(c->err, c->err_len, "%s", m);
    if (c->report)
        c->report(c->ud, m);
}

static void problem_msg(loadctx *c, const char *m)
{
    problem(c, "%s", m);
}

static char *read_file(const char *path, int *missing)
{
    FILE *f = fopen(path, "rb");
    char *buf;
    size_t n;
    *missing = 0;
    if (!f) {
        *missing = 1;
        return NULL;
    }
    buf = malloc(MAX_FILE + 1);
    if (!buf) {
        fclose(f);
        return NULL;
    }
    n = fread(buf, 1, MAX_FILE + 1, f);
    fclose(f);
    if (n > MAX_FILE) {
        free(buf);
        return NULL;
    }
    buf[n] = '\0';
    return buf;
}

static int line_of_offset(const char *text, size_t off)
{
    int line = 1;
    for (size_t i = 0; i < off && text[i]; i++)
        line += text[i] == '\n';
    return line;
}

/* Line in templates.json that declares locale loc. */
static int manifest_line(const loadctx *c, const char *loc)
{
    char q[80];
    const char *p;
    snprintf(q, sizeof q, "\"%s\"", loc);
    p = c->manifest_text ? strstr(c->manifest_text, q) : NULL;
    return p ? line_of_offset(c->manifest_text, (size_t)(p - c->manifest_text)) : 1;
}

/* ------------------------------------------------------------ manifest */

static int valid_locale_tag(const char *s)
{
    size_t n = strlen(s);
    if (n < 2 || n > 35)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (!isalnum((unsigned char)s[i]) && s[i] != '-')
            return 0;
    return isalpha((unsigned char)s[0]);
}

static int load_manifest(loadctx *c, const char *default_locale, char **text_out)
{
    dg_templates *t = c->t;
    int missing;
    char *text;
    cJSON *root, *locs, *def, *segs;
    const char *p = c->manifest_path;
    snprintf(c->manifest_path, sizeof c->manifest_path, "%s/templates.json", t->dir);
    text = read_file(p, &missing);
    *text_out = text;
    if (!text) {
        problem(c, "%s: %s", p, missing ? "cannot open (declares the locales)" : "too large");
        return DG_EIO;
    }
    c->manifest_text = text;
    root = cJSON_Parse(text);
    if (!root || !cJSON_IsObject(root)) {
        const char *e = cJSON_GetErrorPtr();
        problem(c, "%s:%d: invalid JSON", p,
                e && e >= text ? line_of_offset(text, (size_t)(e - text)) : 1);
        cJSON_Delete(root);
        return DG_EINVAL;
    }
    locs = cJSON_GetObjectItemCaseSensitive(root, "locales");
    if (!cJSON_IsArray(locs) || cJSON_GetArraySize(locs) < 1) {
        problem(c, "%s:%d: locales: a non-empty array of locale tags is required", p,
                dg_json_line_of(text, "locales"));
        cJSON_Delete(root);
        return DG_EINVAL;
    }
    t->locales = calloc((size_t)cJSON_GetArraySize(locs), sizeof *t->locales);
    if (!t->locales) {
        cJSON_Delete(root);
        c->oom = 1;
        return DG_ENOMEM;
    }
    for (cJSON *it = locs->child; it; it = it->next) {
        if (!cJSON_IsString(it) || !valid_locale_tag(it->valuestring)) {
            problem(c, "%s:%d: locales: each entry is a locale tag like \"en\" or \"zh-CN\"", p,
                    dg_json_line_of(text, "locales"));
            continue;
        }
        for (size_t i = 0; i < t->n_locales; i++)
            if (strcasecmp(t->locales[i], it->valuestring) == 0)
                problem(c, "%s:%d: locale '%s' declared twice", p,
                        manifest_line(c, it->valuestring), it->valuestring);
        t->locales[t->n_locales] = strdup(it->valuestring);
        if (!t->locales[t->n_locales])
            c->oom = 1;
        else
            t->n_locales++;
    }
    def = cJSON_GetObjectItemCaseSensitive(root, "default_locale");
    if (!default_locale && cJSON_IsString(def))
        default_locale = def->valuestring;
    if (!default_locale)
        default_locale = t->n_locales ? t->locales[0] : "en";
    t->def = (size_t)-1;
    for (size_t i = 0; i < t->n_locales; i++)
        if (strcasecmp(t->locales[i], default_locale) == 0)
            t->def = i;
    if (t->def == (size_t)-1)
        problem(c, "%s:%d: default locale '%s' is not one of the declared locales", p,
                dg_json_line_of(text, "default_locale"), default_locale);
    segs = cJSON_GetObjectItemCaseSensitive(root, "sms_max_segments");
    if (segs) {
        if (!cJSON_IsNumber(segs) || segs->valuedouble < 1 || segs->valuedouble > 10 ||
            segs->valuedouble != (double)segs->valueint)
            problem(c, "%s:%d: sms_max_segments: an integer 1-10", p,
                    dg_json_line_of(text, "sms_max_segments"));
        else
            t->sms_max_segments = segs->valueint;
    }
    for (cJSON *it = root->child; it; it = it->next)
        if (strcmp(it->string, "locales") && strcmp(it->string, "default_locale") &&
            strcmp(it->string, "sms_max_segments"))
            problem(c, "%s:%d: %s: unknown key", p, dg_json_line_of(text, it->string), it->string);
    cJSON_Delete(root);
    return 0;
}

/* ------------------------------------------------------ finding templates */

static int is_template_file(const char *n)
{
    return strcmp(n, "whatsapp.json") == 0 || strncmp(n, "sms.", 4) == 0 ||
           strncmp(n, "email.", 6) == 0 || strncmp(n, "whatsapp.", 9) == 0;
}

static int add_id(loadctx *c, const char *id)
{
    dg_templates *t = c->t;
    tmpl *nt = realloc(t->t, (t->n + 1) * sizeof *nt);
    if (!nt) {
        c->oom = 1;
        return DG_ENOMEM;
    }
    t->t = nt;
    memset(&t->t[t->n], 0, sizeof t->t[t->n]);
    t->t[t->n].id = strdup(id);
    if (!t->t[t->n].id) {
        c->oom = 1;
        return DG_ENOMEM;
    }
    t->n++;
    return 0;
}

static void scan(loadctx *c, const char *rel, int depth)
{
    char path[4096];
    DIR *d;
    struct dirent *de;
    int is_tmpl = 0;
    snprintf(path, sizeof path, "%s%s%s", c->t->dir, *rel ? "/" : "", rel);
    d = opendir(path);
    if (!d) {
        if (!*rel)
            problem(c, "%s: cannot open the templates directory", path);
        return;
    }
    while ((de = readdir(d)) != NULL) {
        char sub[4096], full[8300];
        struct stat st;
        if (de->d_name[0] == '.' || de->d_name[0] == '_')
            continue;
        snprintf(full, sizeof full, "%s/%s", path, de->d_name);
        if (stat(full, &st) != 0)
            continue;
        if (S_ISDIR(st.st_mode)) {
            if (!*rel && strcmp(de->d_name, "lint") == 0)
                continue;
            if (depth < 4) {
                snprintf(sub, sizeof sub, "%s%s%s", rel, *rel ? "/" : "", de->d_name);
                scan(c, sub, depth + 1);
            }
        } else if (*rel && is_template_file(de->d_name)) {
            is_tmpl = 1;
        }
    }
    closedir(d);
    if (is_tmpl)
        add_id(c, rel);
}

static int cmp_tmpl(const void *a, const void *b)
{
    return strcmp(((const tmpl *)a)->id, ((const tmpl *)b)->id);
}

/* ------------------------------------------------------------- parts */

static char *strip_markup_view(const char *src)
{
    return dg_tmpl_literal_view(src);
}

static void load_part(loadctx *c, tmpl *tp, size_t li, int part)
{
    const char *loc = c->t->locales[li];
    char name[128], path[4096], perr[1024];
    tpart *pt = &tp->parts[li][part];
    int missing;
    char *src, *view;
    snprintf(name, sizeof name, "%s.%s.%s", dg_tmpl_part_prefix[part], loc,
             dg_tmpl_part_suffix[part]);
    snprintf(path, sizeof path, "%s/%s/%s", c->t->dir, tp->id, name);
    pt->file = strdup(path);
    if (!pt->file) {
        c->oom = 1;
        return;
    }
    src = read_file(path, &missing);
    if (!src) {
        if (missing)
            problem(c, "%s: missing (locale '%s' is declared at %s:%d)", path, loc,
                    c->manifest_path, manifest_line(c, loc));
        else
            problem(c, "%s: unreadable or larger than %d bytes", path, MAX_FILE);
        return;
    }
    if (dg_tmpl_parse(src, path, dg_tmpl_known_var, NULL, &pt->tree, perr, sizeof perr)) {
        problem_msg(c, perr);
        free(src);
        return;
    }
    if (part == P_SUBJECT) {
        char *nl = strchr(src, '\n');
        while (nl && (nl[1] == '\0' || (nl[1] == '\n' && nl[2] == '\0')))
            nl = NULL;
        if (nl)
            problem(c, "%s:%d: a subject is one line", path,
                    line_of_offset(src, (size_t)(nl - src)) + 1);
    }
    view = strip_markup_view(src);
    if (!view)
        c->oom = 1;
    else if (dg_tone_check(c->t->tone, loc, path, view, part == P_HTML, perr, sizeof perr))
        problem_msg(c, perr);
    free(view);
    free(src);
}

/* --------------------------------------------------------- whatsapp.json */

static dg_tnode *parse_binding(loadctx *c, const char *file, int line, const char *b)
{
    char src[512], where[4200], perr[1024];
    dg_tnode *n = NULL;
    if (strstr(b, "{{") || strstr(b, "}}") || strlen(b) > 400) {
        problem(c, "%s:%d: a binding is a variable name, optionally |fallback: '%s'", file, line,
                b);
        return NULL;
    }
    snprintf(src, sizeof src, "{{%s}}", b);
    snprintf(where, sizeof where, "%s", file);
    if (dg_tmpl_parse(src, where, dg_tmpl_known_var, NULL, &n, perr, sizeof perr)) {
        /* perr says FILE:1; say the JSON line instead */
        const char *m = strstr(perr, ": ");
        m = m ? strstr(m + 2, ": ") : NULL;
        problem(c, "%s:%d: %s", file, line, m ? m + 2 : perr);
        return NULL;
    }
    return n;
}

/* Placeholders of an approved body: all {{N}} (positional) or all {{name}}. */
static void check_body(loadctx *c, tmpl *tp, const char *file, const char *text, size_t li,
                       int named)
{
    const char *body = tp->wa[li].body, *p = body;
    char path[64];
    int line, seen_pos[64] = {0}, max_pos = 0, count = 0;
    snprintf(path, sizeof path, "locales.%s.body", c->t->locales[li]);
    line = dg_json_line_of(text, path);
    while ((p = strstr(p, "{{")) != NULL) {
        const char *e = strstr(p + 2, "}}");
        size_t n;
        if (!e) {
            problem(c, "%s:%d: %s: '{{' never closed", file, line, path);
            return;
        }
        n = (size_t)(e - p - 2);
        count++;
        if (!named) {
            char *end;
            long v = strtol(p + 2, &end, 10);
            if (end != e || v < 1 || v > 63) {
                problem(c, "%s:%d: %s: '{{%.*s}}' is not a positional parameter {{1}}..{{N}}", file,
                        line, path, (int)n, p + 2);
                return;
            }
            seen_pos[v] = 1;
            if (v > max_pos)
                max_pos = (int)v;
        } else {
            int found = 0;
            for (size_t i = 0; i < tp->n_params; i++)
                found |= strlen(tp->params[i].name) == n && !strncmp(tp->params[i].name, p + 2, n);
            if (!found) {
                problem(c, "%s:%d: %s: {{%.*s}} is not bound in \"params\"", file, line, path,
                        (int)n, p + 2);
                return;
            }
            for (size_t i = 0; i < tp->n_params; i++)
                if (strlen(tp->params[i].name) == n && !strncmp(tp->params[i].name, p + 2, n))
                    seen_pos[i < 63 ? i + 1 : 63] = 1;
        }
        p = e + 2;
    }
    if (!named) {
        int distinct = 0;
        for (int i = 1; i <= max_pos; i++)
            distinct += seen_pos[i];
        if (distinct != max_pos || (size_t)max_pos != tp->n_params)
            problem(c, "%s:%d: %s has %d parameter%s ({{1}}..{{%d}}%s), the mapping binds %zu",
                    file, line, path, distinct, distinct == 1 ? "" : "s", max_pos,
                    distinct != max_pos ? " with gaps" : "", tp->n_params);
    } else {
        size_t used = 0;
        for (size_t i = 0; i < tp->n_params && i < 63; i++)
            used += (size_t)seen_pos[i + 1];
        if (used != tp->n_params)
            problem(c, "%s:%d: %s uses %zu of the %zu named parameters the mapping binds", file,
                    line, path, used, tp->n_params);
    }
    (void)count;
}

static size_t utf8_chars(const char *s)
{
    size_t n = 0;
    for (; *s; s++)
        n += ((unsigned char)*s & 0xC0) != 0x80;
    return n;
}

/* Optional locales.L.params: the same bindings with this locale's fallbacks. */
static void load_locale_params(loadctx *c, tmpl *tp, const char *file, const char *text,
                               const cJSON *o, size_t li, int named)
{
    const cJSON *p = cJSON_GetObjectItemCaseSensitive(o, "params");
    char path[80];
    int line;
    size_t k = 0;
    if (!p)
        return;
    snprintf(path, sizeof path, "locales.%s.params", c->t->locales[li]);
    line = dg_json_line_of(text, path);
    if (named ? !cJSON_IsObject(p) : !cJSON_IsArray(p)) {
        problem(c, "%s:%d: %s: the same shape as the top-level \"params\"", file, line, path);
        return;
    }
    if ((size_t)cJSON_GetArraySize(p) != tp->n_params) {
        problem(c, "%s:%d: %s binds %d parameter(s), the top-level mapping %zu", file, line, path,
                cJSON_GetArraySize(p), tp->n_params);
        return;
    }
    tp->wa[li].params = calloc(tp->n_params + 1, sizeof *tp->wa[li].params);
    if (!tp->wa[li].params) {
        c->oom = 1;
        return;
    }
    for (const cJSON *it = p->child; it; it = it->next, k++) {
        if (!cJSON_IsString(it)) {
            problem(c, "%s:%d: %s: each is a variable name string", file, line, path);
            return;
        }
        if (named && (!tp->params[k].name || strcmp(tp->params[k].name, it->string))) {
            problem(c, "%s:%d: %s: names and order must match the top-level \"params\"", file, line,
                    path);
            return;
        }
        tp->wa[li].params[k].expr = parse_binding(c, file, line, it->valuestring);
    }
}

static void load_wa_locale(loadctx *c, tmpl *tp, const char *file, const char *text,
                           const cJSON *locs, size_t li, int named)
{
    const char *loc = c->t->locales[li];
    const cJSON *o = cJSON_GetObjectItemCaseSensitive(locs, loc), *nm, *lang, *body, *labels;
    char path[80], perr[1024];
    int line;
    snprintf(path, sizeof path, "locales.%s", loc);
    line = dg_json_line_of(text, "locales");
    if (!cJSON_IsObject(o)) {
        problem(c, "%s:%d: %s: missing (locale '%s' is declared at %s:%d)", file, line, path, loc,
                c->manifest_path, manifest_line(c, loc));
        return;
    }
    line = dg_json_line_of(text, path);
    nm = cJSON_GetObjectItemCaseSensitive(o, "name");
    lang = cJSON_GetObjectItemCaseSensitive(o, "language");
    body = cJSON_GetObjectItemCaseSensitive(o, "body");
    labels = cJSON_GetObjectItemCaseSensitive(o, "buttons");
    if (!cJSON_IsString(nm) || !cJSON_IsString(lang) || !cJSON_IsString(body)) {
        problem(c, "%s:%d: %s: \"name\", \"language\" and \"body\" (strings) are required", file,
                line, path);
        return;
    }
    tp->wa[li].name = strdup(nm->valuestring);
    tp->wa[li].language = strdup(lang->valuestring);
    tp->wa[li].body = strdup(body->valuestring);
    if (!tp->wa[li].name || !tp->wa[li].language || !tp->wa[li].body) {
        c->oom = 1;
        return;
    }
    if (utf8_chars(tp->wa[li].body) > 1024)
        problem(c, "%s:%d: %s.body: WhatsApp allows 1024 characters, this has %zu", file, line,
                path, utf8_chars(tp->wa[li].body));
    check_body(c, tp, file, text, li, named);
    load_locale_params(c, tp, file, text, o, li, named);
    {
        char *view = dg_tmpl_literal_view(tp->wa[li].body), where[4200];
        snprintf(where, sizeof where, "%s:%d: %s.body", file, line, path);
        if (view && dg_tone_check(c->t->tone, loc, where, view, 0, perr, sizeof perr))
            problem_msg(c, perr);
        free(view);
    }
    if (labels && !cJSON_IsArray(labels)) {
        problem(c, "%s:%d: %s.buttons: an array of button labels", file, line, path);
        return;
    }
    if ((size_t)cJSON_GetArraySize(labels) != tp->n_buttons) {
        problem(c, "%s:%d: %s.buttons has %d label(s), the mapping has %zu button(s)", file, line,
                path, cJSON_GetArraySize(labels), tp->n_buttons);
        return;
    }
    for (const cJSON *l = labels ? labels->child : NULL; l; l = l->next) {
        char where[4200];
        if (!cJSON_IsString(l) || !*l->valuestring || utf8_chars(l->valuestring) > 25) {
            problem(c, "%s:%d: %s.buttons: labels are strings of 1-25 characters", file, line,
                    path);
            return;
        }
        snprintf(where, sizeof where, "%s:%d: %s.buttons", file, line, path);
        if (dg_tone_check(c->t->tone, loc, where, l->valuestring, 0, perr, sizeof perr))
            problem_msg(c, perr);
    }
}

static void load_buttons(loadctx *c, tmpl *tp, const char *file, const char *text,
                         const cJSON *btns)
{
    int line = dg_json_line_of(text, "buttons");
    if (!btns)
        return;
    if (!cJSON_IsArray(btns) || cJSON_GetArraySize(btns) > 10) {
        problem(c, "%s:%d: buttons: an array of at most 10 buttons", file, line);
        return;
    }
    tp->buttons = calloc((size_t)cJSON_GetArraySize(btns) + 1, sizeof *tp->buttons);
    if (!tp->buttons) {
        c->oom = 1;
        return;
    }
    for (const cJSON *b = btns->child; b; b = b->next) {
        const cJSON *ty = cJSON_GetObjectItemCaseSensitive(b, "type"),
                    *ix = cJSON_GetObjectItemCaseSensitive(b, "index"),
                    *val = cJSON_GetObjectItemCaseSensitive(b, "value"),
                    *pl = cJSON_GetObjectItemCaseSensitive(b, "payload");
        wa_button *w = &tp->buttons[tp->n_buttons];
        if (!cJSON_IsString(ty) || !cJSON_IsNumber(ix) || ix->valueint < 0 || ix->valueint > 9) {
            problem(c, "%s:%d: buttons: each needs \"type\" and \"index\" (0-9)", file, line);
            return;
        }
        w->index = ix->valueint;
        if (strcmp(ty->valuestring, "url") == 0) {
            w->kind = DG_BUTTON_URL;
            if (!cJSON_IsString(val)) {
                problem(c,
                        "%s:%d: buttons: a url button needs \"value\" (a variable, "
                        "e.g. \"pay_link.suffix\")",
                        file, line);
                return;
            }
            w->expr = parse_binding(c, file, line, val->valuestring);
        } else if (strcmp(ty->valuestring, "quick_reply") == 0) {
            w->kind = DG_BUTTON_QUICK_REPLY;
            if (!cJSON_IsString(pl) || (strcmp(pl->valuestring, DG_PAYLOAD_PAID) &&
                                        strcmp(pl->valuestring, DG_PAYLOAD_HELP) &&
                                        strcmp(pl->valuestring, DG_PAYLOAD_LATER))) {
                problem(c, "%s:%d: buttons: a quick_reply payload is one of %s, %s, %s", file, line,
                        DG_PAYLOAD_PAID, DG_PAYLOAD_HELP, DG_PAYLOAD_LATER);
                return;
            }
            w->payload = strdup(pl->valuestring);
        } else {
            problem(c, "%s:%d: buttons: type is \"url\" or \"quick_reply\"", file, line);
            return;
        }
        for (size_t i = 0; i < tp->n_buttons; i++)
            if (tp->buttons[i].index == w->index)
                problem(c, "%s:%d: buttons: index %d used twice", file, line, w->index);
        tp->n_buttons++;
    }
}

static void load_wa(loadctx *c, tmpl *tp)
{
    char path[4096];
    int missing, named = 0;
    char *text;
    cJSON *root, *params, *locs;
    snprintf(path, sizeof path, "%s/%s/whatsapp.json", c->t->dir, tp->id);
    text = read_file(path, &missing);
    if (!text) {
        if (!missing)
            problem(c, "%s: unreadable or too large", path);
        return;
    }
    tp->wa_file = strdup(path);
    tp->wa = calloc(c->t->n_locales, sizeof *tp->wa);
    if (!tp->wa_file || !tp->wa) {
        c->oom = 1;
        free(text);
        return;
    }
    root = cJSON_Parse(text);
    if (!cJSON_IsObject(root)) {
        const char *e = cJSON_GetErrorPtr();
        problem(c, "%s:%d: invalid JSON", path,
                e && e >= text ? line_of_offset(text, (size_t)(e - text)) : 1);
        goto out;
    }
    params = cJSON_GetObjectItemCaseSensitive(root, "params");
    if (!params || (!cJSON_IsArray(params) && !cJSON_IsObject(params))) {
        problem(c, "%s:%d: params: an array (positional) or object (named) of variables", path,
                dg_json_line_of(text, "params"));
        goto out;
    }
    named = cJSON_IsObject(params);
    tp->params = calloc((size_t)cJSON_GetArraySize(params) + 1, sizeof *tp->params);
    if (!tp->params) {
        c->oom = 1;
        goto out;
    }
    for (const cJSON *p = params->child; p; p = p->next) {
        int line = dg_json_line_of(text, "params");
        wa_param *w = &tp->params[tp->n_params];
        if (!cJSON_IsString(p)) {
            problem(c, "%s:%d: params: each is a variable name string", path, line);
            goto out;
        }
        if (named) {
            w->name = strdup(p->string);
            if (!w->name) {
                c->oom = 1;
                goto out;
            }
        }
        w->expr = parse_binding(c, path, line, p->valuestring);
        tp->n_params++;
    }
    {
        const cJSON *up = cJSON_GetObjectItemCaseSensitive(root, "url_prefix");
        if (cJSON_IsString(up))
            tp->url_prefix = strdup(up->valuestring);
    }
    load_buttons(c, tp, path, text, cJSON_GetObjectItemCaseSensitive(root, "buttons"));
    locs = cJSON_GetObjectItemCaseSensitive(root, "locales");
    if (!cJSON_IsObject(locs)) {
        problem(c, "%s:%d: locales: an object with one entry per declared locale", path,
                dg_json_line_of(text, "locales"));
        goto out;
    }
    for (size_t li = 0; li < c->t->n_locales; li++)
        load_wa_locale(c, tp, path, text, locs, li, named);
out:
    cJSON_Delete(root);
    free(text);
}

/* ----------------------------------------------------------------- API */

void dg_templates_free(dg_templates *t)
{
    if (!t)
        return;
    for (size_t i = 0; i < t->n; i++) {
        tmpl *tp = &t->t[i];
        for (size_t li = 0; tp->parts && li < t->n_locales; li++)
            for (int p = 0; p < P_COUNT; p++) {
                free(tp->parts[li][p].file);
                dg_tmpl_free(tp->parts[li][p].tree);
            }
        free(tp->parts);
        for (size_t li = 0; tp->wa && li < t->n_locales; li++) {
            free(tp->wa[li].name);
            free(tp->wa[li].language);
            free(tp->wa[li].body);
            for (size_t k = 0; tp->wa[li].params && k < tp->n_params; k++)
                dg_tmpl_free(tp->wa[li].params[k].expr);
            free(tp->wa[li].params);
        }
        free(tp->wa);
        for (size_t k = 0; k < tp->n_params; k++) {
            free(tp->params[k].name);
            dg_tmpl_free(tp->params[k].expr);
        }
        free(tp->params);
        for (size_t k = 0; k < tp->n_buttons; k++) {
            free(tp->buttons[k].payload);
            dg_tmpl_free(tp->buttons[k].expr);
        }
        free(tp->buttons);
        free(tp->url_prefix);
        free(tp->wa_file);
        free(tp->id);
    }
    free(t->t);
    for (size_t i = 0; i < t->n_locales; i++)
        free(t->locales[i]);
    free(t->locales);
    dg_tone_free(t->tone);
    free(t->dir);
    free(t);
}

int dg_templates_load_report(const char *dir, const char *default_locale,
                             dg_templates_report_fn report, void *ud, dg_templates **out, char *err,
                             size_t err_len)
{
    loadctx c;
    char *manifest = NULL, lintdir[4096], terr[1024];
    dg_templates *t = calloc(1, sizeof *t);
    *out = NULL;
    memset(&c, 0, sizeof c);
    c.report = report;
    c.ud = ud;
    c.err = err;
    c.err_len = err_len;
    if (!t || !(t->dir = strdup(dir && *dir ? dir : "templates"))) {
        free(t);
        dg_errf(err, err_len, "out of memory");
        return DG_ENOMEM;
    }
    c.t = t;
    t->sms_max_segments = 4;
    while (strlen(t->dir) > 1 && t->dir[strlen(t->dir) - 1] == '/')
        t->dir[strlen(t->dir) - 1] = '\0';
    if (load_manifest(&c, default_locale, &manifest) == 0) {
        snprintf(lintdir, sizeof lintdir, "%s/lint", t->dir);
        if (dg_tone_load(lintdir, &t->tone, terr, sizeof terr))
            problem_msg(&c, terr);
    }
    if (!c.problems && !c.oom) {
        scan(&c, "", 0);
        if (t->n)
            qsort(t->t, t->n, sizeof *t->t, cmp_tmpl);
        else if (!c.problems)
            problem(&c, "%s: no templates found", t->dir);
    }
    for (size_t i = 0; !c.oom && i < t->n; i++) {
        tmpl *tp = &t->t[i];
        tp->parts = calloc(t->n_locales, sizeof *tp->parts);
        if (!tp->parts) {
            c.oom = 1;
            break;
        }
        for (size_t li = 0; li < t->n_locales; li++)
            for (int p = 0; p < P_COUNT; p++)
                load_part(&c, tp, li, p);
        load_wa(&c, tp);
    }
    free(manifest);
    if (c.oom) {
        dg_errf(err, err_len, "%s: out of memory loading templates", t->dir);
        dg_templates_free(t);
        return DG_ENOMEM;
    }
    if (c.problems) {
        dg_templates_free(t);
        return DG_EINVAL;
    }
    *out = t;
    return 0;
}

int dg_templates_load(const char *dir, const char *default_locale, dg_templates **out, char *err,
                      size_t err_len)
{
    return dg_templates_load_report(dir, default_locale, NULL, NULL, out, err, err_len);
}
