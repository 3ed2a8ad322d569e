/* `duegate cases` and `duegate case ID`: the tracking table and one case's
 * timeline, read from a running daemon's admin API with libcurl.
 * The address and token come from --url/--token, else $DUEGATE_ADMIN_URL /
 * $DUEGATE_ADMIN_TOKEN, else the configuration (-c: daemon.admin_listen and
 * daemon.admin_token). */
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>
#include <curl/curl.h>

#include "admin.h"
#include "config.h"
#include "form.h"

typedef struct conn {
    char url[512];
    char *token;
} conn;

typedef struct buf {
    char *p;
    size_t len;
} buf;

static size_t on_data(char *d, size_t sz, size_t n, void *ud)
{
    buf *b = ud;
    char *p = realloc(b->p, b->len + sz * n + 1);
    if (!p)
        return 0;
    memcpy(p + b->len, d, sz * n);
    b->p = p;
    b->len += sz * n;
    p[b->len] = '\0';
    return sz * n;
}

/* GET base+path; returns the HTTP status (0 on transport error), body in *out. */
static long get(const conn *c, const char *path, buf *out)
{
    CURL *h = curl_easy_init();
    struct curl_slist *hd = NULL;
    char url[2048], auth[600];
    long status = 0;
    if (!h)
        return 0;
    snprintf(url, sizeof url, "%s%s", c->url, path);
    snprintf(auth, sizeof auth, "Authorization: Bearer %s", c->token ? c->token : "");
    hd = curl_slist_append(hd, auth);
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, hd);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_data);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, out);
    curl_easy_setopt(h, CURLOPT_TIMEOUT, 30L);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    if (curl_easy_perform(h) == CURLE_OK)
        curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
    curl_slist_free_all(hd);
    curl_easy_cleanup(h);
    return status;
}

static int usage_err(const char *cmd, const char *msg)
{
    fprintf(stderr, "duegate %s: %s (see duegate --help)\n", cmd, msg);
    return 2;
}

/* Common options; the rest (name, value) pairs go to q (query string). */
static int parse(const char *cmd, int argc, char **argv, conn *c, char *q, size_t qlen,
                 const char **pos)
{
    const char *config = NULL, *url = getenv("DUEGATE_ADMIN_URL"),
               *tok = getenv("DUEGATE_ADMIN_TOKEN");
    static const char *const filters[][2] = {{"--status", "status"},
                                             {"--stage", "stage"},
                                             {"--channel", "channel"},
                                             {"--search", "q"},
                                             {"-q", "q"},
                                             {"--sort", "sort"},
                                             {"--limit", "limit"},
                                             {"--offset", "offset"},
                                             {"--needs-person", "needs_person"},
                                             {"--overdue", "overdue"}};
    size_t ql = 0;
    *pos = NULL;
    q[0] = '\0';
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];
        int found = 0;
        if (!strcmp(a, "--needs-person") || !strcmp(a, "--overdue")) {
            ql += (size_t)snprintf(q + ql, qlen - ql, "%s%s=1", ql ? "&" : "",
                                   a[2] == 'n' ? "needs_person" : "overdue");
            continue;
        }
        if (a[0] == '-' && i + 1 >= argc)
            return usage_err(cmd, "an option needs a value");
        if (!strcmp(a, "-c") || !strcmp(a, "--config")) {
            config = argv[++i];
            continue;
        }
        if (!strcmp(a, "--url")) {
            url = argv[++i];
            continue;
        }
        if (!strcmp(a, "--token")) {
            tok = argv[++i];
            continue;
        }
        for (size_t k = 0; k < sizeof filters / sizeof *filters && !found; k++)
            if (!strcmp(a, filters[k][0]) && pos) {
                char *v = dg_url_encode(argv[++i]);
                if (!v)
                    return 1;
                if (ql < qlen)
                    ql += (size_t)snprintf(q + ql, qlen - ql, "%s%s=%s", ql ? "&" : "",
                                           filters[k][1], v);
                free(v);
                found = 1;
            }
        if (found)
            continue;
        if (a[0] == '-' || *pos) {
            char m[160];
            snprintf(m, sizeof m, "unexpected argument '%s'", a);
            return usage_err(cmd, m);
        }
        *pos = a;
    }
    if (ql >= qlen)
        return usage_err(cmd, "filters too long");
    if (config && (!url || !tok)) {
        dg_config *cfg = NULL;
        char err[1024];
        if (dg_config_load(config, &cfg, err, sizeof err) != 0) {
            fprintf(stderr, "duegate: %s\n", err);
            return 1;
        }
        if (!url && cfg->admin_listen)
            snprintf(c->url, sizeof c->url, "http://%s", cfg->admin_listen);
        if (!tok && cfg->admin_token)
            c->token = strdup(cfg->admin_token);
        dg_config_free(cfg);
    }
    if (url)
        snprintf(c->url, sizeof c->url, "%s", url);
    if (!c->url[0])
        snprintf(c->url, sizeof c->url, "http://127.0.0.1:8081");
    while (c->url[0] && c->url[strlen(c->url) - 1] == '/')
        c->url[strlen(c->url) - 1] = '\0';
    if (tok && !c->token)
        c->token = strdup(tok);
    if (!c->token || !*c->token)
        return usage_err(cmd, "no admin token: --token, $DUEGATE_ADMIN_TOKEN or -c FILE");
    return 0;
}

/* Print at most w display columns of s (UTF-8 aware), padded. */
static void cell(FILE *out, const char *s, int w)
{
    int cols = 0;
    const unsigned char *p = (const unsigned char *)(s ? s : "");
    while (*p && cols < w) {
        size_t n = *p < 0x80 ? 1 : (*p >> 5) == 6 ? 2 : (*p >> 4) == 14 ? 3 : 4;
        if (*p == '\n' || *p == '\r' || *p == '\t') {
            fputc(' ', out);
        } else {
            for (size_t k = 0; k < n && p[k]; k++)
                fputc(p[k], out);
        }
        for (size_t k = 0; k < n && *p; k++)
            p++;
        cols++;
    }
    for (; cols < w; cols++)
        fputc(' ', out);
    fputc(' ', out);
}

static const char *js(const cJSON *o, const char *k)
{
    const char *v = cJSON_GetStringValue(cJSON_GetObjectItem(o, k));
    return v ? v : "";
}

static const char *day(const cJSON *o, const char *k, char *tmp)
{
    snprintf(tmp, 17, "%s", js(o, k));
    if (tmp[0])
        tmp[10] = tmp[10] ? ' ' : '\0';
    return tmp;
}

static int failed(long status, buf *b, const char *cmd, const conn *c)
{
    cJSON *e;
    if (status == 200)
        return 0;
    if (status == 0) {
        fprintf(stderr, "duegate %s: cannot reach the admin API at %s\n", cmd, c->url);
        return 1;
    }
    e = cJSON_Parse(b->p ? b->p : "");
    fprintf(stderr, "duegate %s: HTTP %ld: %s\n", cmd, status,
            e ? js(e, "detail") : (b->p ? b->p : ""));
    cJSON_Delete(e);
    return 1;
}

int dg_cmd_cases(int argc, char **argv, FILE *out)
{
    conn c;
    buf b = {0};
    char q[1024], path[1200], t1[24], t2[24], t3[24], bal[48];
    const char *pos;
    cJSON *o = NULL, *it;
    long status;
    int rc;
    memset(&c, 0, sizeof c);
    if ((rc = parse("cases", argc, argv, &c, q, sizeof q, &pos)) != 0 ||
        (pos && (rc = usage_err("cases", "no positional argument expected")) != 0)) {
        free(c.token);
        return rc;
    }
    snprintf(path, sizeof path, "/api/cases%s%s", q[0] ? "?" : "", q);
    status = get(&c, path, &b);
    free(c.token);
    if ((rc = failed(status, &b, "cases", &c)) != 0 || !(o = cJSON_Parse(b.p))) {
        free(b.p);
        return rc ? rc : 1;
    }
    fprintf(out, "%-5s %-18s %-10s %-18s %-12s %-16s %-16s %-9s %-24s %-30s %s\n", "ID", "CUSTOMER",
            "ORDER", "PRODUCT", "BALANCE", "DUE", "LAST CONTACT", "STATUS", "CUSTOMER FEEDBACK",
            "NEXT STEP", "NEXT AT");
    cJSON_ArrayForEach(it, cJSON_GetObjectItem(o, "cases"))
    {
        double minor = cJSON_GetNumberValue(cJSON_GetObjectItem(it, "balance_minor"));
        snprintf(bal, sizeof bal, "%.2f %s", minor / 100.0, js(it, "currency"));
        fprintf(out, "%-5.0f ", cJSON_GetNumberValue(cJSON_GetObjectItem(it, "id")));
        cell(out, js(it, "customer"), 18);
        cell(out, js(it, "order"), 10);
        cell(out, js(it, "product"), 18);
        cell(out, bal, 12);
        cell(out, day(it, "due_at", t1), 16);
        cell(out, day(it, "last_contact_at", t2), 16);
        cell(out, js(it, "status"), 9);
        cell(out, js(it, "feedback"), 24);
        cell(out, js(it, "next_step"), 30);
        fprintf(out, "%s\n", day(it, "next_at", t3));
    }
    fprintf(out, "(%d of %.0f cases)\n", cJSON_GetArraySize(cJSON_GetObjectItem(o, "cases")),
            cJSON_GetNumberValue(cJSON_GetObjectItem(o, "total")));
    cJSON_Delete(o);
    free(b.p);
    return 0;
}

int dg_cmd_case(int argc, char **argv, FILE *out)
{
    conn c;
    buf b = {0};
    char q[16], path[128], t[24];
    const char *pos;
    cJSON *o = NULL, *it;
    long status;
    int rc;
    memset(&c, 0, sizeof c);
    if ((rc = parse("case", argc, argv, &c, q, sizeof q, &pos)) != 0) {
        free(c.token);
        return rc;
    }
    if (!pos || strspn(pos, "0123456789") != strlen(pos) || strlen(pos) > 18) {
        free(c.token);
        return usage_err("case", "expected a case id (a number)");
    }
    snprintf(path, sizeof path, "/api/cases/%s", pos);
    status = get(&c, path, &b);
    free(c.token);
    if ((rc = failed(status, &b, "case", &c)) != 0 || !(o = cJSON_Parse(b.p))) {
        free(b.p);
        return rc ? rc : 1;
    }
    fprintf(out, "case %s  order %s  %s  status %s%s\n", pos, js(o, "order"), js(o, "customer"),
            js(o, "status"),
            cJSON_IsTrue(cJSON_GetObjectItem(o, "needs_person")) ? "  NEEDS A PERSON" : "");
    fprintf(out, "balance %.2f %s  due %s  product %s\n",
            cJSON_GetNumberValue(cJSON_GetObjectItem(o, "balance_minor")) / 100.0,
            js(o, "currency"), day(o, "due_at", t), js(o, "product"));
    fprintf(out, "next: %s%s%s%s\n", js(o, "next_step"), *js(o, "next_at") ? " (" : "",
            js(o, "next_at"), *js(o, "next_at") ? ")" : "");
    if (*js(o, "feedback"))
        fprintf(out, "customer said: \"%s\"\n", js(o, "feedback"));
    fprintf(out, "timeline:\n");
    cJSON_ArrayForEach(it, cJSON_GetObjectItem(o, "timeline"))
    {
        const char *type = js(it, "type");
        fprintf(out, "  %-20s %-7s ", js(it, "at"), type);
        if (!strcmp(type, "touch"))
            fprintf(out, "%s via %s (%s): %s%s%s\n", js(it, "stage"), js(it, "channel"),
                    js(it, "template"), js(it, "status"), *js(it, "error_code") ? " " : "",
                    js(it, "error_code"));
        else if (!strcmp(type, "action"))
            fprintf(out, "%s by %s%s%s\n", js(it, "what"), js(it, "who"),
                    *js(it, "arg") ? ": " : "", js(it, "arg"));
        else
            fprintf(out, "\"%s\"\n", js(it, "text"));
    }
    cJSON_Delete(o);
    free(b.p);
    return 0;
}
