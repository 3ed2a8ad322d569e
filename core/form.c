#include <stdlib.h>
#include <string.h>

#include "form.h"

struct dg_form {
    size_t n, cap;
    char **names;
    char **values;
};

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Decode [s, s+len) into a new string; NULL on malformed escape. */
static char *decode(const char *s, size_t len)
{
    char *out = malloc(len + 1), *o = out;
    if (!out)
        return NULL;
    for (size_t i = 0; i < len; i++) {
        if (s[i] == '+') {
            *o++ = ' ';
        } else if (s[i] == '%') {
            int hi, lo;
            if (i + 2 >= len) {
                free(out);
                return NULL;
            }
            hi = hexval(s[i + 1]);
            lo = hexval(s[i + 2]);
            if (hi < 0 || lo < 0) {
                free(out);
                return NULL;
            }
            *o++ = (char)(hi * 16 + lo);
            i += 2;
        } else {
            *o++ = s[i];
        }
    }
    *o = '\0';
    return out;
}

static int push(dg_form *f, char *name, char *value)
{
    if (f->n == f->cap) {
        size_t cap = f->cap ? f->cap * 2 : 8;
        char **nn = realloc(f->names, cap * sizeof *nn);
        if (!nn)
            return -1;
        f->names = nn;
        char **vv = realloc(f->values, cap * sizeof *vv);
        if (!vv)
            return -1;
        f->values = vv;
        f->cap = cap;
    }
    f->names[f->n] = name;
    f->values[f->n] = value;
    f->n++;
    return 0;
}

dg_form *dg_form_parse(const char *data, size_t len)
{
    dg_form *f = calloc(1, sizeof *f);
    size_t i = 0;
    if (!f)
        return NULL;
    while (i < len) {
        size_t start = i, eq = (size_t)-1;
        char *name, *value;
        while (i < len && data[i] != '&') {
            if (data[i] == '=' && eq == (size_t)-1)
                eq = i;
            i++;
        }
        if (i > start) {
            if (eq == (size_t)-1) {
                name = decode(data + start, i - start);
                value = decode("", 0);
            } else {
                name = decode(data + start, eq - start);
                value = decode(data + eq + 1, i - eq - 1);
            }
            if (!name || !value || push(f, name, value) != 0) {
                free(name);
                free(value);
                dg_form_free(f);
                return NULL;
            }
        }
        i++; /* skip '&' */
    }
    return f;
}

size_t dg_form_count(const dg_form *f) { return f ? f->n : 0; }
const char *dg_form_name(const dg_form *f, size_t i) { return f && i < f->n ? f->names[i] : NULL; }
const char *dg_form_value(const dg_form *f, size_t i) { return f && i < f->n ? f->values[i] : NULL; }

const char *dg_form_get(const dg_form *f, const char *name)
{
    for (size_t i = 0; f && i < f->n; i++)
        if (strcmp(f->names[i], name) == 0)
            return f->values[i];
    return NULL;
}

void dg_form_free(dg_form *f)
{
    if (!f)
        return;
    for (size_t i = 0; i < f->n; i++) {
        free(f->names[i]);
        free(f->values[i]);
    }
    free(f->names);
    free(f->values);
    free(f);
}

char *dg_url_encode(const char *s)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t n = strlen(s);
    char *out = malloc(3 * n + 1), *o = out;
    if (!out)
        return NULL;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if ((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') ||
            *p == '-' || *p == '_' || *p == '.' || *p == '~') {
            *o++ = (char)*p;
        } else {
            *o++ = '%';
            *o++ = hex[*p >> 4];
            *o++ = hex[*p & 15];
        }
    }
    *o = '\0';
    return out;
}
