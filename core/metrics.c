#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "metrics.h"

enum { M_COUNTER = 1, M_GAUGE = 2, M_HIST = 3 };

static const double buckets[] = {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1,
                                 0.25,  0.5,    1,     2.5,  5,     10,   30};
#define NB (sizeof buckets / sizeof buckets[0])

typedef struct series {
    char *name;
    char *labels; /* rendered, sorted: a="x",b="y" (no braces); "" if none */
    int type;
    double value; /* counter/gauge; histogram sum */
    double count;
    double bucket[NB];
    struct series *next;
} series;

typedef struct help {
    char *name, *text;
    struct help *next;
} help;

/* A memo of recent lookups by the caller's raw name and labels (in the
 * caller's order, each string length-prefixed): a counter bumped on every
 * send skips sorting, escaping and allocating its label text. Series live
 * until dg_metrics_free, so the pointers stay valid. */
#define MEMO 32
#define MEMO_KEY 200
typedef struct memo {
    uint64_t h;
    size_t len;
    series *s;
    unsigned char key[MEMO_KEY];
} memo;

struct dg_metrics {
    series **tab;
    size_t cap, n;
    help *help;
    memo memo[MEMO];
};

int dg_metrics_help(dg_metrics *m, const char *name, const char *text)
{
    help *h;
    for (h = m->help; h; h = h->next)
        if (strcmp(h->name, name) == 0)
            return 0;
    if (!(h = calloc(1, sizeof *h)) || !(h->name = strdup(name)) || !(h->text = strdup(text))) {
        if (h)
            free(h->name);
        free(h);
        return DG_ENOMEM;
    }
    h->next = m->help;
    m->help = h;
    return 0;
}

static const char *help_of(const dg_metrics *m, const char *name)
{
    for (const help *h = m->help; h; h = h->next)
        if (strcmp(h->name, name) == 0)
            return h->text;
    return NULL;
}

dg_metrics *dg_metrics_new(void)
{
    dg_metrics *m = calloc(1, sizeof *m);
    if (!m)
        return NULL;
    m->cap = 256;
    m->tab = calloc(m->cap, sizeof *m->tab);
    if (!m->tab) {
        free(m);
        return NULL;
    }
    return m;
}

void dg_metrics_free(dg_metrics *m)
{
    if (!m)
        return;
    for (size_t i = 0; i < m->cap; i++)
        for (series *s = m->tab[i], *nx; s; s = nx) {
            nx = s->next;
            free(s->name);
            free(s->labels);
            free(s);
        }
    for (help *h = m->help, *nx; h; h = nx) {
        nx = h->next;
        free(h->name);
        free(h->text);
        free(h);
    }
    free(m->tab);
    free(m);
}

static int valid_name(const char *s)
{
    if (!s || !*s || (*s >= '0' && *s <= '9'))
        return 0;
    for (; *s; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
              (*s >= '0' && *s <= '9') || *s == '_' || *s == ':'))
            return 0;
    return 1;
}

static int cmp_kv(const void *a, const void *b)
{
    return strcmp(((const dg_kv *)a)->key, ((const dg_kv *)b)->key);
}

/* Render sorted, escaped labels into a new string. */
static char *render_labels(const dg_kv *labels, size_t n)
{
    dg_kv sorted[16];
    size_t cap = 1, o = 0;
    char *out;
    if (n > 16)
        return NULL;
    if (n)
        memcpy(sorted, labels, n * sizeof *labels);
    qsort(sorted, n, sizeof *sorted, cmp_kv);
    for (size_t i = 0; i < n; i++) {
        if (!valid_name(sorted[i].key))
            return NULL;
        cap += strlen(sorted[i].key) + 2 * strlen(sorted[i].value ? sorted[i].value : "") + 5;
    }
    out = malloc(cap);
    if (!out)
        return NULL;
    for (size_t i = 0; i < n; i++) {
        const char *v = sorted[i].value ? sorted[i].value : "";
        o += (size_t)sprintf(out + o, "%s%s=\"", i ? "," : "", sorted[i].key);
        for (; *v; v++) {
            if (*v == '\\' || *v == '"') {
                out[o++] = '\\';
                out[o++] = *v;
            } else if (*v == '\n') {
                out[o++] = '\\';
                out[o++] = 'n';
            } else {
                out[o++] = *v;
            }
        }
        out[o++] = '"';
    }
    out[o] = '\0';
    return out;
}

static size_t hash(const char *a, const char *b)
{
    size_t h = 1469598103934665603ULL;
    for (; *a; a++)
        h = (h ^ (unsigned char)*a) * 1099511628211ULL;
    h = (h ^ '{') * 1099511628211ULL;
    for (; *b; b++)
        h = (h ^ (unsigned char)*b) * 1099511628211ULL;
    return h;
}

static int memo_put(unsigned char *k, size_t *len, const char *s)
{
    size_t n = s ? strlen(s) : 0;
    if (n > 255 || *len + 1 + n > MEMO_KEY)
        return -1;
    k[(*len)++] = (unsigned char)n;
    if (n)
        memcpy(k + *len, s, n);
    *len += n;
    return 0;
}

/* The raw key of (name, labels) into k; 0 if it does not fit. */
static size_t memo_key(unsigned char *k, const char *name, const dg_kv *labels, size_t n,
                       uint64_t *h)
{
    size_t len = 0;
    if (memo_put(k, &len, name) != 0)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (memo_put(k, &len, labels[i].key) != 0 || memo_put(k, &len, labels[i].value) != 0)
            return 0;
    *h = 1469598103934665603ULL;
    for (size_t i = 0; i < len; i++)
        *h = (*h ^ k[i]) * 1099511628211ULL;
    return len;
}

static series *lookup_slow(dg_metrics *m, const char *name, const dg_kv *labels, size_t n,
                           int type, int create, int *rc);

static series *lookup(dg_metrics *m, const char *name, const dg_kv *labels, size_t n, int type,
                      int create, int *rc)
{
    unsigned char k[MEMO_KEY];
    uint64_t h = 0;
    size_t len = name && n <= 16 ? memo_key(k, name, labels, n, &h) : 0;
    memo *e = &m->memo[h % MEMO];
    series *s;
    if (len && e->s && e->h == h && e->len == len && memcmp(e->key, k, len) == 0 &&
        (!type || e->s->type == type)) {
        *rc = 0;
        return e->s;
    }
    s = lookup_slow(m, name, labels, n, type, create, rc);
    if (s && len) {
        e->h = h;
        e->len = len;
        e->s = s;
        memcpy(e->key, k, len);
    }
    return s;
}

static series *lookup_slow(dg_metrics *m, const char *name, const dg_kv *labels, size_t n,
                           int type, int create, int *rc)
{
    char *lab;
    size_t h;
    series *s;
    *rc = 0;
    if (!valid_name(name) || !(lab = render_labels(labels, n))) {
        *rc = -1;
        return NULL;
    }
    h = hash(name, lab) & (m->cap - 1);
    for (s = m->tab[h]; s; s = s->next)
        if (strcmp(s->name, name) == 0 && strcmp(s->labels, lab) == 0)
            break;
    if (s) {
        free(lab);
        if (type && s->type != type) {
            *rc = -1;
            return NULL;
        }
        return s;
    }
    if (!create) {
        free(lab);
        return NULL;
    }
    /* One type per metric name, whatever the labels. */
    for (size_t i = 0; i < m->cap; i++)
        for (series *t = m->tab[i]; t; t = t->next)
            if (strcmp(t->name, name) == 0 && t->type != type) {
                free(lab);
                *rc = -1;
                return NULL;
            }
    s = calloc(1, sizeof *s);
    if (!s || !(s->name = strdup(name))) {
        free(s);
        free(lab);
        *rc = -2;
        return NULL;
    }
    s->labels = lab;
    s->type = type;
    s->next = m->tab[h];
    m->tab[h] = s;
    m->n++;
    return s;
}

int dg_metrics_add(dg_metrics *m, const char *name, const dg_kv *labels, size_t n, double delta)
{
    int rc;
    series *s = lookup(m, name, labels, n, M_COUNTER, 1, &rc);
    if (!s)
        return rc == -2 ? DG_ENOMEM : DG_EINVAL;
    if (delta < 0 || isnan(delta))
        return DG_EINVAL;
    s->value += delta;
    return 0;
}

int dg_metrics_set(dg_metrics *m, const char *name, const dg_kv *labels, size_t n, double value)
{
    int rc;
    series *s = lookup(m, name, labels, n, M_GAUGE, 1, &rc);
    if (!s)
        return rc == -2 ? DG_ENOMEM : DG_EINVAL;
    s->value = value;
    return 0;
}

int dg_metrics_observe(dg_metrics *m, const char *name, const dg_kv *labels, size_t n,
                       double value)
{
    int rc;
    series *s = lookup(m, name, labels, n, M_HIST, 1, &rc);
    if (!s)
        return rc == -2 ? DG_ENOMEM : DG_EINVAL;
    s->value += value;
    s->count += 1;
    for (size_t i = 0; i < NB; i++)
        if (value <= buckets[i])
            s->bucket[i] += 1;
    return 0;
}

double dg_metrics_get(dg_metrics *m, const char *name, const dg_kv *labels, size_t n)
{
    int rc;
    series *s = lookup(m, name, labels, n, 0, 0, &rc);
    if (!s)
        return 0;
    return s->type == M_HIST ? s->count : s->value;
}

static int cmp_series(const void *a, const void *b)
{
    const series *x = *(series *const *)a, *y = *(series *const *)b;
    int c = strcmp(x->name, y->name);
    return c ? c : strcmp(x->labels, y->labels);
}

typedef struct buf {
    char *p;
    size_t len, cap;
    int oom;
} buf;

static void bprintf(buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void bprintf(buf *b, const char *fmt, ...)
{
    va_list ap;
    int n;
    if (b->oom)
        return;
    for (;;) {
        va_start(ap, fmt);
        n = vsnprintf(b->p + b->len, b->cap - b->len, fmt, ap);
        va_end(ap);
        if (n >= 0 && (size_t)n < b->cap - b->len) {
            b->len += (size_t)n;
            return;
        }
        size_t cap = b->cap * 2 + (size_t)n + 64;
        char *p = realloc(b->p, cap);
        if (!p) {
            b->oom = 1;
            return;
        }
        b->p = p;
        b->cap = cap;
    }
}

static void fmt_num(char *out, size_t len, double v)
{
    if (v == floor(v) && fabs(v) < 1e15)
        snprintf(out, len, "%.0f", v);
    else
        snprintf(out, len, "%.17g", v);
}

int dg_metrics_render(dg_metrics *m, char **out, size_t *len)
{
    series **all = malloc((m->n ? m->n : 1) * sizeof *all);
    size_t k = 0;
    buf b = {malloc(4096), 0, 4096, 0};
    const char *prev = "";
    if (!all || !b.p) {
        free(all);
        free(b.p);
        return DG_ENOMEM;
    }
    b.p[0] = '\0';
    for (size_t i = 0; i < m->cap; i++)
        for (series *s = m->tab[i]; s; s = s->next)
            all[k++] = s;
    qsort(all, k, sizeof *all, cmp_series);
    for (size_t i = 0; i < k; i++) {
        series *s = all[i];
        char num[64];
        const char *lb = s->labels, *sep = *lb ? "," : "";
        if (strcmp(prev, s->name) != 0) {
            const char *h = help_of(m, s->name);
            /* every family gets a HELP line (text without newline/backslash) */
            if (!h) /* the name without its prefix */
                h = s->name + (strncmp(s->name, "duegate_", 8) ? 0 : 8);
            bprintf(&b, "# HELP %s %s\n", s->name, h);
            bprintf(&b, "# TYPE %s %s\n", s->name,
                    s->type == M_COUNTER ? "counter" : s->type == M_GAUGE ? "gauge" : "histogram");
            prev = s->name;
        }
        if (s->type != M_HIST) {
            fmt_num(num, sizeof num, s->value);
            if (*lb)
                bprintf(&b, "%s{%s} %s\n", s->name, lb, num);
            else
                bprintf(&b, "%s %s\n", s->name, num);
            continue;
        }
        for (size_t j = 0; j < NB; j++) {
            char le[32];
            fmt_num(num, sizeof num, s->bucket[j]);
            snprintf(le, sizeof le, "%g", buckets[j]);
            bprintf(&b, "%s_bucket{%s%sle=\"%s\"} %s\n", s->name, lb, sep, le, num);
        }
        fmt_num(num, sizeof num, s->count);
        bprintf(&b, "%s_bucket{%s%sle=\"+Inf\"} %s\n", s->name, lb, sep, num);
        fmt_num(num, sizeof num, s->value);
        bprintf(&b, *lb ? "%s_sum{%s} %s\n" : "%s_sum%s %s\n", s->name, lb, num);
        fmt_num(num, sizeof num, s->count);
        bprintf(&b, *lb ? "%s_count{%s} %s\n" : "%s_count%s %s\n", s->name, lb, num);
    }
    free(all);
    if (b.oom) {
        free(b.p);
        return DG_ENOMEM;
    }
    *out = b.p;
    if (len)
        *len = b.len;
    return 0;
}
