/* Template parser and renderer (see tmpl_syntax.h). */
#include "tmpl_syntax.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <duegate/types.h>

#include "error.h"

typedef enum { TN_TEXT, TN_VAR, TN_SECTION, TN_INVERTED } tn_kind;

struct dg_tnode {
    tn_kind kind;
    int line;
    char *text; /* TEXT: literal; others: variable name */
    char *def;  /* VAR: fallback, NULL when none */
    dg_tnode *child;
    dg_tnode *next;
};

#define MAX_DEPTH 16

void dg_sbuf_add(dg_sbuf *b, const char *s, size_t n)
{
    if (b->oom)
        return;
    if (b->n + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        char *p;
        while (cap < b->n + n + 1)
            cap *= 2;
        p = realloc(b->p, cap);
        if (!p) {
            b->oom = 1;
            return;
        }
        b->p = p;
        b->cap = cap;
    }
    memcpy(b->p + b->n, s, n);
    b->n += n;
    b->p[b->n] = '\0';
}

void dg_sbuf_adds(dg_sbuf *b, const char *s)
{
    dg_sbuf_add(b, s, strlen(s));
}

void dg_sbuf_add_html(dg_sbuf *b, const char *s)
{
    for (; *s; s++) {
        switch (*s) {
        case '&':
            dg_sbuf_adds(b, "&amp;");
            break;
        case '<':
            dg_sbuf_adds(b, "&lt;");
            break;
        case '>':
            dg_sbuf_adds(b, "&gt;");
            break;
        case '"':
            dg_sbuf_adds(b, "&quot;");
            break;
        case '\'':
            dg_sbuf_adds(b, "&#39;");
            break;
        default:
            dg_sbuf_add(b, s, 1);
        }
    }
}

char *dg_sbuf_take(dg_sbuf *b)
{
    char *p;
    if (b->oom) {
        free(b->p);
        memset(b, 0, sizeof *b);
        return NULL;
    }
    if (!b->p)
        dg_sbuf_add(b, "", 0);
    p = b->p;
    memset(b, 0, sizeof *b);
    return p;
}

void dg_tmpl_free(dg_tnode *n)
{
    while (n) {
        dg_tnode *next = n->next;
        dg_tmpl_free(n->child);
        free(n->text);
        free(n->def);
        free(n);
        n = next;
    }
}

/* ------------------------------------------------------------ parsing */

typedef struct parser {
    const char *src, *file;
    dg_tmpl_known_fn known;
    void *ud;
    char *err;
    size_t err_len;
    size_t lpos; /* lines counted up to here */
    int line;
    dg_tnode **tail[MAX_DEPTH + 1]; /* where the next node of each level goes */
    dg_tnode *open[MAX_DEPTH + 1];
    int depth;
} parser;

static int line_at(parser *ps, size_t pos)
{
    for (; ps->lpos < pos; ps->lpos++)
        if (ps->src[ps->lpos] == '\n')
            ps->line++;
    return ps->line;
}

static dg_tnode *add_node(parser *ps, tn_kind k, int line, const char *s, size_t n)
{
    dg_tnode *t = calloc(1, sizeof *t);
    if (!t)
        return NULL;
    t->kind = k;
    t->line = line;
    t->text = strndup(s, n);
    if (!t->text) {
        free(t);
        return NULL;
    }
    *ps->tail[ps->depth] = t;
    ps->tail[ps->depth] = &t->next;
    return t;
}

static int valid_name(const char *s, size_t n)
{
    if (!n)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (!isalnum((unsigned char)s[i]) && s[i] != '_' && s[i] != '.')
            return 0;
    return 1;
}

static void trim(const char **s, size_t *n)
{
    while (*n && isspace((unsigned char)**s)) {
        (*s)++;
        (*n)--;
    }
    while (*n && isspace((unsigned char)(*s)[*n - 1]))
        (*n)--;
}

static int check_name(parser *ps, int line, const char *s, size_t n)
{
    char name[128];
    if (!valid_name(s, n) || n >= sizeof name) {
        dg_errf(ps->err, ps->err_len, "%s:%d: bad variable name '%.*s'", ps->file, line,
                (int)(n > 60 ? 60 : n), s);
        return DG_EINVAL;
    }
    memcpy(name, s, n);
    name[n] = '\0';
    if (ps->known && !ps->known(ps->ud, name)) {
        dg_errf(ps->err, ps->err_len, "%s:%d: unknown variable '%s'", ps->file, line, name);
        return DG_EINVAL;
    }
    return 0;
}

/* The tag spanning [p, q) is alone on its line: return the line's start and
 * set *resume past its newline. */
static int standalone(const char *src, size_t tstart, size_t p, size_t q, size_t *ls,
                      size_t *resume)
{
    size_t a = p, b = q;
    while (a > tstart && (src[a - 1] == ' ' || src[a - 1] == '\t'))
        a--;
    if (a > 0 && src[a - 1] != '\n')
        return 0;
    if (a < tstart)
        return 0;
    while (src[b] == ' ' || src[b] == '\t' || src[b] == '\r')
        b++;
    if (src[b] != '\n' && src[b] != '\0')
        return 0;
    *ls = a;
    *resume = src[b] == '\n' ? b + 1 : b;
    return 1;
}

static int parse_tag(parser *ps, const char *body, size_t n, int line)
{
    const char *bar;
    char sigil = n ? body[0] : 0;
    if (sigil == '#' || sigil == '^' || sigil == '/') {
        const char *nm = body + 1;
        size_t nn = n - 1;
        trim(&nm, &nn);
        if (check_name(ps, line, nm, nn))
            return DG_EINVAL;
        if (sigil == '/') {
            dg_tnode *o = ps->depth ? ps->open[ps->depth] : NULL;
            if (!o) {
                dg_errf(ps->err, ps->err_len, "%s:%d: {{/%.*s}} closes no open section", ps->file,
                        line, (int)nn, nm);
                return DG_EINVAL;
            }
            if (strlen(o->text) != nn || strncmp(o->text, nm, nn)) {
                dg_errf(ps->err, ps->err_len,
                        "%s:%d: {{/%.*s}} does not match section '%s' opened at line %d", ps->file,
                        line, (int)nn, nm, o->text, o->line);
                return DG_EINVAL;
            }
            ps->depth--;
            return 0;
        }
        if (ps->depth >= MAX_DEPTH) {
            dg_errf(ps->err, ps->err_len, "%s:%d: sections nest deeper than %d", ps->file, line,
                    MAX_DEPTH);
            return DG_EINVAL;
        }
        dg_tnode *t = add_node(ps, sigil == '#' ? TN_SECTION : TN_INVERTED, line, nm, nn);
        if (!t)
            return DG_ENOMEM;
        ps->depth++;
        ps->open[ps->depth] = t;
        ps->tail[ps->depth] = &t->child;
        return 0;
    }
    if (sigil == '!')
        return 0;
    if (sigil == '{' || sigil == '&' || sigil == '>' || sigil == '=') {
        dg_errf(ps->err, ps->err_len, "%s:%d: '{{%c' is not part of the template syntax", ps->file,
                line, sigil);
        return DG_EINVAL;
    }
    bar = memchr(body, '|', n);
    {
        const char *nm = body;
        size_t nn = bar ? (size_t)(bar - body) : n;
        dg_tnode *t;
        trim(&nm, &nn);
        if (!nn) {
            dg_errf(ps->err, ps->err_len, "%s:%d: empty tag {{}}", ps->file, line);
            return DG_EINVAL;
        }
        if (check_name(ps, line, nm, nn))
            return DG_EINVAL;
        t = add_node(ps, TN_VAR, line, nm, nn);
        if (!t)
            return DG_ENOMEM;
        if (bar) {
            t->def = strndup(bar + 1, n - (size_t)(bar + 1 - body));
            if (!t->def)
                return DG_ENOMEM;
        }
    }
    return 0;
}

int dg_tmpl_parse(const char *src, const char *file, dg_tmpl_known_fn known, void *ud,
                  dg_tnode **out, char *err, size_t err_len)
{
    parser ps;
    dg_tnode *root = NULL;
    size_t pos = 0, tstart = 0;
    int rc = 0;
    memset(&ps, 0, sizeof ps);
    ps.src = src;
    ps.file = file ? file : "<template>";
    ps.known = known;
    ps.ud = ud;
    ps.err = err;
    ps.err_len = err_len;
    ps.line = 1;
    ps.tail[0] = &root;
    *out = NULL;
    for (;;) {
        const char *o = strstr(src + pos, "{{"), *c;
        size_t p, q, ls, resume;
        int line;
        char sigil;
        if (!o)
            break;
        p = (size_t)(o - src);
        line = line_at(&ps, p);
        c = strstr(o + 2, "}}");
        if (!c) {
            dg_errf(err, err_len, "%s:%d: '{{' is never closed with '}}'", ps.file, line);
            rc = DG_EINVAL;
            goto fail;
        }
        if (memchr(o + 2, '\n', (size_t)(c - o - 2))) {
            dg_errf(err, err_len, "%s:%d: a tag must fit on one line", ps.file, line);
            rc = DG_EINVAL;
            goto fail;
        }
        q = (size_t)(c - src) + 2;
        sigil = o[2];
        ls = p;
        resume = q;
        if (!(sigil == '#' || sigil == '^' || sigil == '/' || sigil == '!') ||
            !standalone(src, tstart, p, q, &ls, &resume)) {
            ls = p;
            resume = q;
        }
        if (ls > tstart && !add_node(&ps, TN_TEXT, line, src + tstart, ls - tstart)) {
            rc = DG_ENOMEM;
            goto fail;
        }
        rc = parse_tag(&ps, o + 2, (size_t)(c - o - 2), line);
        if (rc)
            goto fail;
        pos = tstart = resume;
    }
    if (ps.depth) {
        dg_errf(err, err_len, "%s:%d: section '%s' is never closed", ps.file,
                ps.open[ps.depth]->line, ps.open[ps.depth]->text);
        rc = DG_EINVAL;
        goto fail;
    }
    if (src[tstart] || !root) {
        if (!add_node(&ps, TN_TEXT, line_at(&ps, tstart), src + tstart, strlen(src + tstart))) {
            rc = DG_ENOMEM;
            goto fail;
        }
    }
    *out = root;
    return 0;
fail:
    if (rc == DG_ENOMEM)
        dg_errf(err, err_len, "%s: out of memory", ps.file);
    dg_tmpl_free(root);
    return rc;
}

/* ---------------------------------------------------------- rendering */

static int truthy(const char *v)
{
    return v && *v && strcmp(v, "0") != 0;
}

int dg_tmpl_render(const dg_tnode *n, const char *file, dg_tmpl_get_fn get, void *ud, int html,
                   dg_sbuf *out, char *err, size_t err_len)
{
    for (; n; n = n->next) {
        const char *v;
        switch (n->kind) {
        case TN_TEXT:
            dg_sbuf_adds(out, n->text);
            break;
        case TN_VAR:
            v = get(ud, n->text);
            if (!v || !*v)
                v = n->def;
            if (!v) {
                dg_errf(err, err_len, "%s:%d: {{%s}} has no value for this message",
                        file ? file : "<template>", n->line, n->text);
                return DG_EINVAL;
            }
            if (html)
                dg_sbuf_add_html(out, v);
            else
                dg_sbuf_adds(out, v);
            break;
        case TN_SECTION:
        case TN_INVERTED:
            if (truthy(get(ud, n->text)) == (n->kind == TN_SECTION)) {
                int rc = dg_tmpl_render(n->child, file, get, ud, html, out, err, err_len);
                if (rc)
                    return rc;
            }
            break;
        }
    }
    if (out->oom) {
        dg_errf(err, err_len, "out of memory");
        return DG_ENOMEM;
    }
    return 0;
}

void dg_tmpl_each_var(const dg_tnode *n, void (*fn)(void *ud, const char *name, int line), void *ud)
{
    for (; n; n = n->next) {
        if (n->kind != TN_TEXT)
            fn(ud, n->text, n->line);
        dg_tmpl_each_var(n->child, fn, ud);
    }
}

char *dg_tmpl_literal_view(const char *src)
{
    char *v = strdup(src);
    char *p;
    if (!v)
        return NULL;
    p = v;
    while ((p = strstr(p, "{{")) != NULL) {
        char *c = strstr(p + 2, "}}"), *bar, *nl;
        nl = strchr(p, '\n');
        if (!c || (nl && nl < c))
            break;
        bar = (p[2] != '#' && p[2] != '^' && p[2] != '/' && p[2] != '!')
                  ? memchr(p + 2, '|', (size_t)(c - p - 2))
                  : NULL;
        for (char *x = p; x < (bar ? bar + 1 : c); x++)
            *x = ' ';
        c[0] = c[1] = ' ';
        p = c + 2;
    }
    return v;
}
