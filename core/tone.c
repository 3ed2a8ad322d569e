/* Tone lint (see tone.h). */
#include "tone.h"

#include <ctype.h>
#include <dirent.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <unicode/uchar.h>
#include <unicode/ucasemap.h>

#include <duegate/types.h>

#include "error.h"
#include "sms_text.h"

typedef enum { R_WORD, R_REGEX, R_CAPS_OK, R_MAX_EXCL } rule_kind;

typedef struct rule {
    rule_kind kind;
    char *scope; /* "all" or a locale prefix */
    char *text;  /* folded word, regex source, or caps-ok word */
    regex_t re;
    int max;
    char *where; /* "lint/en.txt:4" */
} rule;

struct dg_tone {
    rule *r;
    size_t n;
};

void dg_tone_free(dg_tone *t)
{
    if (!t)
        return;
    for (size_t i = 0; i < t->n; i++) {
        if (t->r[i].kind == R_REGEX)
            regfree(&t->r[i].re);
        free(t->r[i].scope);
        free(t->r[i].text);
        free(t->r[i].where);
    }
    free(t->r);
    free(t);
}

/* Case-fold UTF-8; caller frees. */
static char *fold(const char *s)
{
    UErrorCode e = U_ZERO_ERROR;
    UCaseMap *cm = ucasemap_open("", 0, &e);
    int32_t n, cap = (int32_t)strlen(s) * 3 + 4;
    char *o = malloc((size_t)cap);
    if (!o || U_FAILURE(e)) {
        ucasemap_close(cm);
        free(o);
        return NULL;
    }
    n = ucasemap_utf8FoldCase(cm, o, cap, s, -1, &e);
    ucasemap_close(cm);
    if (U_FAILURE(e) || n >= cap) {
        free(o);
        return NULL;
    }
    o[n] = '\0';
    return o;
}

static int scope_applies(const char *scope, const char *locale)
{
    size_t n = strlen(scope);
    if (strcmp(scope, "all") == 0)
        return 1;
    if (!locale)
        return 0;
    return strncasecmp(locale, scope, n) == 0 && (locale[n] == '\0' || locale[n] == '-');
}

static int add_rule(dg_tone *t, rule *r)
{
    rule *nr = realloc(t->r, (t->n + 1) * sizeof *nr);
    if (!nr)
        return DG_ENOMEM;
    t->r = nr;
    t->r[t->n++] = *r;
    return 0;
}

static int load_file(dg_tone *t, const char *dir, const char *name, char *err, size_t err_len)
{
    char path[4096], line[1024], scope[64];
    const char *dot = strchr(name, '.');
    FILE *f;
    int ln = 0, rc = 0;
    snprintf(path, sizeof path, "%s/%s", dir, name);
    snprintf(scope, sizeof scope, "%.*s", (int)(dot - name), name);
    f = fopen(path, "r");
    if (!f) {
        dg_errf(err, err_len, "%s: cannot open", path);
        return DG_EIO;
    }
    while (!rc && fgets(line, sizeof line, f)) {
        char *s = line, *end;
        rule r;
        ln++;
        while (isspace((unsigned char)*s))
            s++;
        end = s + strlen(s);
        while (end > s && isspace((unsigned char)end[-1]))
            *--end = '\0';
        if (!*s || *s == '#')
            continue;
        memset(&r, 0, sizeof r);
        if (strncmp(s, "re:", 3) == 0) {
            int e;
            s += 3;
            while (isspace((unsigned char)*s))
                s++;
            r.kind = R_REGEX;
            e = regcomp(&r.re, s, REG_EXTENDED | REG_ICASE | REG_NEWLINE);
            if (e) {
                char m[128];
                regerror(e, &r.re, m, sizeof m);
                dg_errf(err, err_len, "%s:%d: bad regex: %s", path, ln, m);
                rc = DG_EINVAL;
                break;
            }
            r.text = strdup(s);
        } else if (strncmp(s, "caps-ok:", 8) == 0) {
            char *save = NULL;
            for (char *w = strtok_r(s + 8, " \t,", &save); w; w = strtok_r(NULL, " \t,", &save)) {
                rule c;
                memset(&c, 0, sizeof c);
                c.kind = R_CAPS_OK;
                c.text = strdup(w);
                c.scope = strdup(scope);
                c.where = NULL;
                if (!c.text || !c.scope || add_rule(t, &c)) {
                    free(c.text);
                    free(c.scope);
                    rc = DG_ENOMEM;
                    break;
                }
            }
            continue;
        } else if (strncmp(s, "max-exclamations:", 17) == 0) {
            char *e2;
            long v = strtol(s + 17, &e2, 10);
            if (e2 == s + 17 || *e2 || v < 0 || v > 100) {
                dg_errf(err, err_len, "%s:%d: max-exclamations needs a number 0-100", path, ln);
                rc = DG_EINVAL;
                break;
            }
            r.kind = R_MAX_EXCL;
            r.max = (int)v;
        } else {
            r.kind = R_WORD;
            r.text = fold(s);
        }
        r.scope = strdup(scope);
        {
            char w[4200];
            snprintf(w, sizeof w, "%s:%d", path, ln);
            r.where = strdup(w);
        }
        if ((r.kind != R_MAX_EXCL && !r.text) || !r.scope || !r.where || add_rule(t, &r)) {
            if (r.kind == R_REGEX)
                regfree(&r.re);
            free(r.text);
            free(r.scope);
            free(r.where);
            rc = DG_ENOMEM;
        }
    }
    fclose(f);
    if (rc == DG_ENOMEM)
        dg_errf(err, err_len, "%s: out of memory", path);
    return rc;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

int dg_tone_load(const char *dir, dg_tone **out, char *err, size_t err_len)
{
    dg_tone *t = calloc(1, sizeof *t);
    DIR *d;
    struct dirent *de;
    char **names = NULL;
    size_t n = 0;
    int rc = 0;
    *out = NULL;
    if (!t)
        return DG_ENOMEM;
    d = opendir(dir);
    if (d) {
        while ((de = readdir(d)) != NULL) {
            size_t l = strlen(de->d_name);
            char **nn;
            if (de->d_name[0] == '.' || l < 5 || strcmp(de->d_name + l - 4, ".txt"))
                continue;
            nn = realloc(names, (n + 1) * sizeof *nn);
            if (!nn || !(nn[n] = strdup(de->d_name))) {
                names = nn ? nn : names;
                rc = DG_ENOMEM;
                break;
            }
            names = nn;
            n++;
        }
        closedir(d);
    }
    if (names)
        qsort(names, n, sizeof *names, cmp_str);
    for (size_t i = 0; i < n; i++) {
        if (!rc)
            rc = load_file(t, dir, names[i], err, err_len);
        free(names[i]);
    }
    free(names);
    if (rc) {
        dg_tone_free(t);
        return rc;
    }
    *out = t;
    return 0;
}

/* ------------------------------------------------------------- checks */

static int is_cjk(uint32_t cp)
{
    return (cp >= 0x2E80 && cp <= 0x9FFF) || (cp >= 0xF900 && cp <= 0xFAFF) ||
           (cp >= 0xFF00 && cp <= 0xFFEF) || (cp >= 0x20000 && cp <= 0x2FFFF);
}

static int is_word_cp(uint32_t cp)
{
    return u_isalnum((UChar32)cp) || cp == '_';
}

/* Code point ending just before s+i (i > 0). */
static uint32_t cp_before(const char *s, size_t i)
{
    size_t j = i;
    uint32_t cp = 0;
    while (j > 0 && ((unsigned char)s[j - 1] & 0xC0) == 0x80)
        j--;
    if (j > 0)
        j--;
    if (!dg_utf8_decode(s + j, &cp))
        return 0;
    return cp;
}

/* Whole-word occurrence of folded word w in folded line l. */
static int find_word(const char *l, const char *w)
{
    size_t wl = strlen(w);
    uint32_t first = 0, last;
    if (!wl || !dg_utf8_decode(w, &first))
        return 0;
    last = cp_before(w, wl);
    for (const char *p = strstr(l, w); p; p = strstr(p + 1, w)) {
        size_t at = (size_t)(p - l);
        uint32_t a = 0;
        int ok = 1;
        if (!is_cjk(first) && at > 0 && is_word_cp(cp_before(l, at)))
            ok = 0;
        if (ok && !is_cjk(last) && p[wl] && dg_utf8_decode(p + wl, &a) && is_word_cp(a))
            ok = 0;
        if (ok)
            return 1;
    }
    return 0;
}

static int caps_ok(const dg_tone *t, const char *locale, const char *w, size_t n)
{
    for (size_t i = 0; i < t->n; i++)
        if (t->r[i].kind == R_CAPS_OK && scope_applies(t->r[i].scope, locale) &&
            strlen(t->r[i].text) == n && strncmp(t->r[i].text, w, n) == 0)
            return 1;
    return 0;
}

/* A run of >= 4 letters all upper case; returns its start or NULL. */
static const char *shouting(const dg_tone *t, const char *locale, const char *l, size_t *len)
{
    const char *p = l;
    while (*p) {
        const char *start = p;
        int letters = 0, upper = 1;
        uint32_t cp;
        size_t n;
        while (*p && (n = dg_utf8_decode(p, &cp)) && u_isalpha((UChar32)cp)) {
            letters++;
            if (!u_isupper((UChar32)cp))
                upper = 0;
            p += n;
        }
        if (letters >= 4 && upper && !caps_ok(t, locale, start, (size_t)(p - start))) {
            *len = (size_t)(p - start);
            return start;
        }
        if (p == start) {
            n = dg_utf8_decode(p, &cp);
            p += n ? n : 1;
        }
    }
    return NULL;
}

static void blank_markup(char *s)
{
    int in = 0;
    for (; *s; s++) {
        if (*s == '<')
            in = 1;
        if (in && *s != '\n') {
            if (*s == '>')
                in = 0;
            *s = ' ';
        }
    }
}

int dg_tone_check(const dg_tone *t, const char *locale, const char *file, const char *text,
                  int html, char *err, size_t err_len)
{
    char *copy = strdup(text), *line;
    int ln = 0, excl = 0, max_excl = 1, rc = 0;
    if (!copy)
        return DG_ENOMEM;
    if (html)
        blank_markup(copy);
    for (size_t i = 0; i < t->n; i++)
        if (t->r[i].kind == R_MAX_EXCL && scope_applies(t->r[i].scope, locale))
            max_excl = t->r[i].max;
    line = copy;
    while (line && !rc) {
        char *nl = strchr(line, '\n'), *folded;
        size_t slen;
        const char *sh;
        ln++;
        if (nl)
            *nl = '\0';
        for (const char *p = line; *p; p++) {
            if (*p == '!' || strncmp(p, "\xEF\xBC\x81", 3) == 0) {
                if (++excl > max_excl) {
                    dg_errf(err, err_len,
                            "%s:%d: tone: more than %d exclamation mark%s in one message", file, ln,
                            max_excl, max_excl == 1 ? "" : "s");
                    rc = DG_EINVAL;
                    break;
                }
            }
        }
        if (!rc && (sh = shouting(t, locale, line, &slen)) != NULL) {
            dg_errf(err, err_len, "%s:%d: tone: shouting in capitals '%.*s'", file, ln, (int)slen,
                    sh);
            rc = DG_EINVAL;
        }
        folded = rc ? NULL : fold(line);
        for (size_t i = 0; folded && !rc && i < t->n; i++) {
            const rule *r = &t->r[i];
            regmatch_t m;
            if (!scope_applies(r->scope, locale))
                continue;
            if (r->kind == R_WORD && find_word(folded, r->text)) {
                dg_errf(err, err_len, "%s:%d: tone: forbidden '%s' (%s)", file, ln, r->text,
                        r->where);
                rc = DG_EINVAL;
            } else if (r->kind == R_REGEX && regexec(&r->re, line, 1, &m, 0) == 0) {
                dg_errf(err, err_len, "%s:%d: tone: forbidden '%.*s' (%s)", file, ln,
                        (int)(m.rm_eo - m.rm_so), line + m.rm_so, r->where);
                rc = DG_EINVAL;
            }
        }
        free(folded);
        line = nl ? nl + 1 : NULL;
    }
    free(copy);
    return rc;
}
