#include <ctype.h>
#include <stdarg.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "error.h"
#include "log.h"

static const dg_config_field daemon_schema[] = {
    {"plugin_dirs", DG_CFG_STRING_LIST, 0, NULL, "extra directories searched for plugins", 0, 0, {0}},
    {"state_db", DG_CFG_STRING, 0, "\"duegate.db\"", "SQLite database file", 0, 0, {0}},
    {"log_level", DG_CFG_STRING, 0, "\"info\"", "error, warn, info or debug", 0, 0, {0}},
    {"listen", DG_CFG_STRING, 0, "\"127.0.0.1:8080\"", "webhook listener host:port", 0, 0, {0}},
    {"public_url", DG_CFG_STRING, 0, "\"http://127.0.0.1:8080\"",
     "URL at which providers reach the webhook listener", 0, 0, {0}},
    {"admin_listen", DG_CFG_STRING, 0, "\"127.0.0.1:8081\"", "admin API listener", 0, 0, {0}},
    {"admin_token", DG_CFG_STRING, DG_CFGF_SECRET, NULL, "bearer token of the admin API", 0, 0, {0}},
    {"templates_dir", DG_CFG_STRING, 0, NULL, "message templates directory", 0, 0, {0}},
    {"shutdown_timeout_ms", DG_CFG_INT, 0, "5000", "deadline to drain on stop", 0, 600000, {0}},
    {"max_body_bytes", DG_CFG_INT, 0, "1048576", "largest webhook body accepted", 1024,
     1073741824, {0}},
    {"http_header_timeout_ms", DG_CFG_INT, 0, "10000",
     "time allowed for a request's line and headers", 100, 600000, {0}},
    {"http_body_timeout_ms", DG_CFG_INT, 0, "30000", "time allowed for a request's body", 100,
     3600000, {0}},
    {"http_idle_timeout_ms", DG_CFG_INT, 0, "60000", "idle keep-alive connections close after",
     100, 3600000, {0}},
    {"http_max_connections", DG_CFG_INT, 0, "1024", "open webhook connections at most", 1,
     1000000, {0}},
    {"http_max_header_bytes", DG_CFG_INT, 0, "16384", "request line and headers at most", 1024,
     1048576, {0}},
    {"clock", DG_CFG_OBJECT, 0, NULL, "{mode: real|scaled|manual, rate, start}", 0, 0, {0}},
    {NULL, 0, 0, NULL, NULL, 0, 0, {0}}};

/* Sections other modules read; anything else at top level is a typo. */
static const char *const known_sections[] = {"daemon",   "channels",  "stores", "engine",
                                             "playbooks", "templates", "segments", "admin",
                                             "quiet_hours", NULL};

/* ------------------------------------------------------------ locating */

int dg_json_line_of(const char *text, const char *dotted)
{
    char parts[16][128];
    size_t n = 0, matched = 0;
    int line = 1, best = 1, depth = 0;
    int expect_key[64] = {0}, is_obj[64] = {0};
    const char *p = dotted;
    while (*p && n < 16) {
        size_t k = strcspn(p, ".");
        if (k >= sizeof parts[0])
            k = sizeof parts[0] - 1;
        memcpy(parts[n], p, k);
        parts[n][k] = '\0';
        n++;
        p += k;
        if (*p == '.')
            p++;
    }
    for (p = text; *p; p++) {
        char c = *p;
        if (c == '\n') {
            line++;
        } else if (c == '{' || c == '[') {
            if (depth < 63) {
                depth++;
                is_obj[depth] = (c == '{');
                expect_key[depth] = (c == '{');
            }
        } else if (c == '}' || c == ']') {
            if ((size_t)depth <= matched && matched > 0)
                return best; /* left the object we were searching in */
            if (depth > 0)
                depth--;
        } else if (c == ',') {
            expect_key[depth] = is_obj[depth];
        } else if (c == ':') {
            expect_key[depth] = 0;
        } else if (c == '"') {
            const char *s = ++p;
            while (*p && *p != '"') {
                if (*p == '\\' && p[1])
                    p++;
                p++;
            }
            if (is_obj[depth] && expect_key[depth] && (size_t)depth == matched + 1 &&
                matched < n && (size_t)(p - s) == strlen(parts[matched]) &&
                strncmp(s, parts[matched], (size_t)(p - s)) == 0) {
                matched++;
                best = line;
                if (matched == n)
                    return best;
            }
            if (!*p)
                break;
        }
    }
    return best;
}

static int fail_at(const dg_config *cfg, const char *path, char *err, size_t len, int code,
                   const char *fmt, ...) __attribute__((format(printf, 6, 7)));
static int fail_at(const dg_config *cfg, const char *path, char *err, size_t len, int code,
                   const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    dg_errf(err, len, "%s:%d: %s: %s", cfg->path, dg_json_line_of(cfg->text, path), path, msg);
    return code;
}

/* ------------------------------------------------------------- secrets */

static int read_secret_file(const char *path, char **out)
{
    FILE *f = fopen(path, "rb");
    char buf[8192];
    size_t n;
    if (!f)
        return DG_ENOTFOUND;
    n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r'))
        buf[--n] = '\0';
    *out = strdup(buf);
    return *out ? 0 : DG_ENOMEM;
}

static int resolve_secret(const dg_config *cfg, const cJSON *v, const char *path, char **out,
                          char *err, size_t len)
{
    const cJSON *env = cJSON_GetObjectItemCaseSensitive(v, "env");
    const cJSON *file = cJSON_GetObjectItemCaseSensitive(v, "file");
    if (cJSON_GetArraySize(v) != 1 || (!cJSON_IsString(env) && !cJSON_IsString(file)))
        return fail_at(cfg, path, err, len, DG_ECONFIG,
                       "a secret is a string, {\"env\": \"NAME\"} or {\"file\": \"/path\"}");
    if (cJSON_IsString(env)) {
        const char *val = getenv(env->valuestring);
        if (!val || !*val)
            return fail_at(cfg, path, err, len, DG_ECONFIG, "environment variable %s is not set",
                           env->valuestring);
        *out = strdup(val);
        return *out ? 0 : DG_ENOMEM;
    }
    char *fp = dg_config_resolve_path(cfg, file->valuestring);
    int rc = fp ? read_secret_file(fp, out) : DG_ENOMEM;
    if (rc == DG_ENOTFOUND)
        rc = fail_at(cfg, path, err, len, DG_ECONFIG, "cannot read secret file %s: %s", fp,
                     strerror(errno));
    free(fp);
    return rc;
}

/* -------------------------------------------------------------- schema */

static const char *type_name(dg_config_type t)
{
    switch (t) {
    case DG_CFG_STRING: return "a string";
    case DG_CFG_INT: return "an integer";
    case DG_CFG_BOOL: return "true or false";
    case DG_CFG_DOUBLE: return "a number";
    case DG_CFG_STRING_LIST: return "an array of strings";
    case DG_CFG_OBJECT: return "an object";
    default: return "?";
    }
}

static int is_reserved(const char *key, const char *const *reserved)
{
    for (size_t i = 0; reserved && reserved[i]; i++)
        if (strcmp(key, reserved[i]) == 0)
            return 1;
    return 0;
}

static int check_value(const dg_config *cfg, const dg_config_field *f, const cJSON *v,
                       const char *path, cJSON **out, char *err, size_t len)
{
    switch (f->type) {
    case DG_CFG_STRING:
        if (cJSON_IsObject(v) && (f->flags & DG_CFGF_SECRET)) {
            char *s = NULL;
            int rc = resolve_secret(cfg, v, path, &s, err, len);
            if (rc)
                return rc;
            *out = cJSON_CreateString(s);
            free(s);
            return *out ? 0 : DG_ENOMEM;
        }
        if (!cJSON_IsString(v))
            break;
        *out = cJSON_Duplicate(v, 1);
        return *out ? 0 : DG_ENOMEM;
    case DG_CFG_INT: {
        double d;
        if (!cJSON_IsNumber(v))
            break;
        d = v->valuedouble;
        if (d != floor(d) || fabs(d) > 9007199254740991.0)
            break;
        if (f->min < f->max && ((int64_t)d < f->min || (int64_t)d > f->max))
            return fail_at(cfg, path, err, len, DG_ECONFIG,
                           "%lld is out of range [%lld, %lld]", (long long)d,
                           (long long)f->min, (long long)f->max);
        *out = cJSON_Duplicate(v, 1);
        return *out ? 0 : DG_ENOMEM;
    }
    case DG_CFG_BOOL:
        if (!cJSON_IsBool(v))
            break;
        *out = cJSON_Duplicate(v, 1);
        return *out ? 0 : DG_ENOMEM;
    case DG_CFG_DOUBLE:
        if (!cJSON_IsNumber(v))
            break;
        *out = cJSON_Duplicate(v, 1);
        return *out ? 0 : DG_ENOMEM;
    case DG_CFG_STRING_LIST: {
        const cJSON *it;
        if (!cJSON_IsArray(v))
            break;
        cJSON_ArrayForEach(it, v) if (!cJSON_IsString(it)) return fail_at(
            cfg, path, err, len, DG_ECONFIG, "every element must be a string");
        *out = cJSON_Duplicate(v, 1);
        return *out ? 0 : DG_ENOMEM;
    }
    case DG_CFG_OBJECT:
        if (!cJSON_IsObject(v))
            break;
        *out = cJSON_Duplicate(v, 1);
        return *out ? 0 : DG_ENOMEM;
    }
    return fail_at(cfg, path, err, len, DG_ECONFIG, "must be %s", type_name(f->type));
}

int dg_config_apply_schema(const dg_config *cfg, const dg_config_field *schema, const cJSON *obj,
                           const char *path, const char *const *reserved, cJSON **resolved,
                           char *err, size_t len)
{
    char sub[512];
    const cJSON *it;
    cJSON *res;
    int rc = 0;

    if (!cJSON_IsObject(obj))
        return fail_at(cfg, path, err, len, DG_ECONFIG, "must be an object");
    res = cJSON_CreateObject();
    if (!res)
        return DG_ENOMEM;
    /* Unknown and duplicate keys first: they are the likeliest typos. */
    cJSON_ArrayForEach(it, obj)
    {
        const cJSON *j;
        int known = 0;
        snprintf(sub, sizeof sub, "%s.%s", path, it->string);
        for (j = obj->child; j != it; j = j->next)
            if (strcmp(j->string, it->string) == 0) {
                rc = fail_at(cfg, sub, err, len, DG_ECONFIG, "duplicate key");
                goto fail;
            }
        if (is_reserved(it->string, reserved))
            continue;
        for (const dg_config_field *f = schema; f && f->key; f++)
            if (strcmp(f->key, it->string) == 0)
                known = 1;
        if (!known) {
            rc = fail_at(cfg, sub, err, len, DG_ECONFIG, "unknown key");
            goto fail;
        }
    }
    for (const dg_config_field *f = schema; f && f->key; f++) {
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, f->key);
        cJSON *val = NULL;
        snprintf(sub, sizeof sub, "%s.%s", path, f->key);
        if (!v || cJSON_IsNull(v)) {
            if (f->flags & DG_CFGF_REQUIRED) {
                rc = fail_at(cfg, sub, err, len, DG_ECONFIG, "required");
                goto fail;
            }
            if (f->default_value) {
                val = cJSON_Parse(f->default_value);
                if (!val) {
                    rc = fail_at(cfg, sub, err, len, DG_ECONFIG,
                                 "plugin schema default is not valid JSON");
                    goto fail;
                }
                cJSON_AddItemToObject(res, f->key, val);
            }
            continue;
        }
        rc = check_value(cfg, f, v, sub, &val, err, len);
        if (rc)
            goto fail;
        cJSON_AddItemToObject(res, f->key, val);
    }
    *resolved = res;
    return 0;
fail:
    cJSON_Delete(res);
    return rc;
}

/* ------------------------------------------------------------- loading */

char *dg_config_resolve_path(const dg_config *cfg, const char *p)
{
    char *out;
    if (!p)
        return NULL;
    if (p[0] == '/' || !cfg->dir || !*cfg->dir)
        return strdup(p);
    out = malloc(strlen(cfg->dir) + strlen(p) + 2);
    if (out)
        sprintf(out, "%s/%s", cfg->dir, p);
    return out;
}

static int valid_instance_name(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > 48)
        return 0;
    for (; *s; s++)
        if (!(islower((unsigned char)*s) || isdigit((unsigned char)*s) || *s == '_'))
            return 0;
    return 1;
}

static char *dup_str(const cJSON *obj, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
    return cJSON_IsString(v) ? strdup(v->valuestring) : NULL;
}

static int load_clock(dg_config *cfg, const cJSON *clock, char *err, size_t len)
{
    const cJSON *it;
    cfg->clock_mode = DG_CLOCK_REAL;
    cfg->clock_rate = 1.0;
    if (!clock)
        return 0;
    cJSON_ArrayForEach(it, clock)
    {
        char sub[128];
        snprintf(sub, sizeof sub, "daemon.clock.%s", it->string);
        if (strcmp(it->string, "mode") == 0) {
            if (cJSON_IsString(it) && strcmp(it->valuestring, "real") == 0)
                cfg->clock_mode = DG_CLOCK_REAL;
            else if (cJSON_IsString(it) && strcmp(it->valuestring, "scaled") == 0)
                cfg->clock_mode = DG_CLOCK_SCALED;
            else if (cJSON_IsString(it) && strcmp(it->valuestring, "manual") == 0)
                cfg->clock_mode = DG_CLOCK_MANUAL; /* tests: POST /_duegate/clock */
            else
                return fail_at(cfg, sub, err, len, DG_ECONFIG,
                               "must be \"real\", \"scaled\" or \"manual\"");
        } else if (strcmp(it->string, "rate") == 0) {
            if (!cJSON_IsNumber(it) || !(it->valuedouble > 0) || it->valuedouble > 1e7)
                return fail_at(cfg, sub, err, len, DG_ECONFIG, "must be a number in (0, 1e7]");
            cfg->clock_rate = it->valuedouble;
        } else if (strcmp(it->string, "start") == 0) {
            if (!cJSON_IsString(it) || dg_parse_iso8601(it->valuestring, &cfg->clock_start_ms))
                return fail_at(cfg, sub, err, len, DG_ECONFIG,
                               "must be an ISO 8601 time like 2026-03-02T08:00:00Z");
        } else if (strcmp(it->string, "anchor") == 0) {
            if (!cJSON_IsString(it) || dg_parse_iso8601(it->valuestring, &cfg->clock_anchor_ms) ||
                cfg->clock_anchor_ms <= 0)
                return fail_at(cfg, sub, err, len, DG_ECONFIG,
                               "must be an ISO 8601 time like 2026-03-02T08:00:00Z");
        } else {
            return fail_at(cfg, sub, err, len, DG_ECONFIG, "unknown key");
        }
    }
    if (cfg->clock_anchor_ms && cfg->clock_mode != DG_CLOCK_SCALED)
        return fail_at(cfg, "daemon.clock.anchor", err, len, DG_ECONFIG,
                       "only a scaled clock has an anchor");
    return 0;
}

static int load_daemon(dg_config *cfg, char *err, size_t len)
{
    const cJSON *sec = cJSON_GetObjectItemCaseSensitive(cfg->root, "daemon");
    cJSON *empty = NULL, *d = NULL;
    const cJSON *dirs, *it;
    int64_t v;
    int rc;
    if (!sec)
        sec = empty = cJSON_CreateObject();
    rc = dg_config_apply_schema(cfg, daemon_schema, sec, "daemon", NULL, &d, err, len);
    cJSON_Delete(empty);
    if (rc)
        return rc;
    cfg->state_db = dup_str(d, "state_db");
    cfg->listen = dup_str(d, "listen");
    cfg->public_url = dup_str(d, "public_url");
    cfg->admin_listen = dup_str(d, "admin_listen");
    cfg->admin_token = dup_str(d, "admin_token");
    cfg->templates_dir = dup_str(d, "templates_dir");
    if (cfg->public_url) {
        size_t n = strlen(cfg->public_url);
        while (n > 0 && cfg->public_url[n - 1] == '/')
            cfg->public_url[--n] = '\0';
    }
    v = (int64_t)cJSON_GetObjectItemCaseSensitive(d, "shutdown_timeout_ms")->valuedouble;
    cfg->shutdown_timeout_ms = v;
    cfg->max_body_bytes =
        (int64_t)cJSON_GetObjectItemCaseSensitive(d, "max_body_bytes")->valuedouble;
    cfg->http_header_timeout_ms =
        (int64_t)cJSON_GetObjectItemCaseSensitive(d, "http_header_timeout_ms")->valuedouble;
    cfg->http_body_timeout_ms =
        (int64_t)cJSON_GetObjectItemCaseSensitive(d, "http_body_timeout_ms")->valuedouble;
    cfg->http_idle_timeout_ms =
        (int64_t)cJSON_GetObjectItemCaseSensitive(d, "http_idle_timeout_ms")->valuedouble;
    cfg->http_max_connections =
        (int64_t)cJSON_GetObjectItemCaseSensitive(d, "http_max_connections")->valuedouble;
    cfg->http_max_header_bytes =
        (int64_t)cJSON_GetObjectItemCaseSensitive(d, "http_max_header_bytes")->valuedouble;
    if (dg_log_parse_level(cJSON_GetObjectItemCaseSensitive(d, "log_level")->valuestring,
                           &cfg->log_level)) {
        rc = fail_at(cfg, "daemon.log_level", err, len, DG_ECONFIG,
                     "must be error, warn, info or debug");
        goto out;
    }
    dirs = cJSON_GetObjectItemCaseSensitive(d, "plugin_dirs");
    if (dirs) {
        cfg->plugin_dirs = calloc((size_t)cJSON_GetArraySize(dirs) + 1, sizeof(char *));
        if (!cfg->plugin_dirs) {
            rc = DG_ENOMEM;
            goto out;
        }
        cJSON_ArrayForEach(it, dirs) cfg->plugin_dirs[cfg->n_plugin_dirs++] =
            dg_config_resolve_path(cfg, it->valuestring);
    }
    rc = load_clock(cfg, cJSON_GetObjectItemCaseSensitive(d, "clock"), err, len);
out:
    cJSON_Delete(d);
    return rc;
}

static int load_instances(dg_config *cfg, const char *section, dg_plugin_kind kind, char *err,
                          size_t len)
{
    const cJSON *sec = cJSON_GetObjectItemCaseSensitive(cfg->root, section);
    const cJSON *it;
    if (!sec)
        return 0;
    if (!cJSON_IsObject(sec))
        return fail_at(cfg, section, err, len, DG_ECONFIG, "must be an object");
    cJSON_ArrayForEach(it, sec)
    {
        char path[256];
        const cJSON *plugin, *enabled;
        dg_instance_cfg *ic;
        snprintf(path, sizeof path, "%s.%s", section, it->string);
        if (!valid_instance_name(it->string))
            return fail_at(cfg, path, err, len, DG_ECONFIG,
                           "instance names are 1-48 characters of a-z, 0-9 and _");
        for (size_t i = 0; i < cfg->n_instances; i++)
            if (strcmp(cfg->instances[i].name, it->string) == 0)
                return fail_at(cfg, path, err, len, DG_EEXIST,
                               "duplicate instance name (also used in %s)",
                               cfg->instances[i].kind == DG_PLUGIN_CHANNEL ? "channels"
                                                                           : "stores");
        if (!cJSON_IsObject(it))
            return fail_at(cfg, path, err, len, DG_ECONFIG, "must be an object");
        plugin = cJSON_GetObjectItemCaseSensitive(it, "plugin");
        if (!plugin) {
            snprintf(path, sizeof path, "%s.%s.plugin", section, it->string);
            return fail_at(cfg, path, err, len, DG_ECONFIG, "required");
        }
        if (!cJSON_IsString(plugin) || !*plugin->valuestring) {
            snprintf(path, sizeof path, "%s.%s.plugin", section, it->string);
            return fail_at(cfg, path, err, len, DG_ECONFIG, "must be a plugin name");
        }
        enabled = cJSON_GetObjectItemCaseSensitive(it, "enabled");
        if (enabled && !cJSON_IsBool(enabled)) {
            snprintf(path, sizeof path, "%s.%s.enabled", section, it->string);
            return fail_at(cfg, path, err, len, DG_ECONFIG, "must be true or false");
        }
        ic = realloc(cfg->instances, (cfg->n_instances + 1) * sizeof *ic);
        if (!ic)
            return DG_ENOMEM;
        cfg->instances = ic;
        ic = &cfg->instances[cfg->n_instances++];
        memset(ic, 0, sizeof *ic);
        ic->name = strdup(it->string);
        ic->plugin = strdup(plugin->valuestring);
        ic->kind = kind;
        ic->enabled = enabled ? cJSON_IsTrue(enabled) : 1;
        ic->json = it;
        if (!ic->name || !ic->plugin)
            return DG_ENOMEM;
    }
    return 0;
}

int dg_config_parse(const char *path, const char *text, dg_config **out, char *err, size_t len)
{
    dg_config *cfg = calloc(1, sizeof *cfg);
    const char *slash, *end = NULL;
    const cJSON *it;
    int rc;
    if (!cfg)
        return DG_ENOMEM;
    cfg->path = strdup(path ? path : "<config>");
    cfg->text = strdup(text);
    slash = strrchr(cfg->path, '/');
    cfg->dir = slash ? strndup(cfg->path, (size_t)(slash - cfg->path)) : strdup(".");
    if (!cfg->path || !cfg->text || !cfg->dir) {
        rc = DG_ENOMEM;
        goto fail;
    }
    cfg->root = cJSON_ParseWithOpts(text, &end, 1);
    if (!cfg->root) {
        const char *at = cJSON_GetErrorPtr();
        int line = 1;
        if (!at)
            at = text;
        for (const char *p = text; p < at && *p; p++)
            line += (*p == '\n');
        dg_errf(err, len, "%s:%d: invalid JSON near '%.20s'", cfg->path, line, at);
        rc = DG_ECONFIG;
        goto fail;
    }
    if (!cJSON_IsObject(cfg->root)) {
        dg_errf(err, len, "%s:1: the configuration must be a JSON object", cfg->path);
        rc = DG_ECONFIG;
        goto fail;
    }
    cJSON_ArrayForEach(it, cfg->root)
    {
        int known = 0;
        for (const cJSON *j = cfg->root->child; j != it; j = j->next)
            if (strcmp(j->string, it->string) == 0) {
                rc = fail_at(cfg, it->string, err, len, DG_ECONFIG, "duplicate section");
                goto fail;
            }
        for (size_t i = 0; known_sections[i]; i++)
            known |= strcmp(known_sections[i], it->string) == 0;
        if (!known) {
            rc = fail_at(cfg, it->string, err, len, DG_ECONFIG, "unknown section");
            goto fail;
        }
    }
    if ((rc = load_daemon(cfg, err, len)) != 0)
        goto fail;
    if ((rc = load_instances(cfg, "channels", DG_PLUGIN_CHANNEL, err, len)) != 0)
        goto fail;
    if ((rc = load_instances(cfg, "stores", DG_PLUGIN_STORE, err, len)) != 0)
        goto fail;
    *out = cfg;
    return 0;
fail:
    dg_config_free(cfg);
    return rc;
}

int dg_config_load(const char *path, dg_config **out, char *err, size_t len)
{
    FILE *f = fopen(path, "rb");
    char *text;
    long n;
    int rc;
    if (!f) {
        dg_errf(err, len, "%s: cannot open: %s", path, strerror(errno));
        return DG_ENOTFOUND;
    }
    if (fseek(f, 0, SEEK_END) != 0 || (n = ftell(f)) < 0 || n > 16 * 1024 * 1024 ||
        fseek(f, 0, SEEK_SET) != 0) {
        fclose(f);
        dg_errf(err, len, "%s: cannot read (or larger than 16 MiB)", path);
        return DG_EIO;
    }
    text = malloc((size_t)n + 1);
    if (!text) {
        fclose(f);
        return DG_ENOMEM;
    }
    if (fread(text, 1, (size_t)n, f) != (size_t)n) {
        free(text);
        fclose(f);
        dg_errf(err, len, "%s: read error", path);
        return DG_EIO;
    }
    fclose(f);
    text[n] = '\0';
    rc = dg_config_parse(path, text, out, err, len);
    free(text);
    return rc;
}

void dg_config_free(dg_config *cfg)
{
    if (!cfg)
        return;
    for (size_t i = 0; i < cfg->n_plugin_dirs; i++)
        free(cfg->plugin_dirs[i]);
    free(cfg->plugin_dirs);
    for (size_t i = 0; i < cfg->n_instances; i++) {
        free(cfg->instances[i].name);
        free(cfg->instances[i].plugin);
    }
    free(cfg->instances);
    free(cfg->state_db);
    free(cfg->listen);
    free(cfg->public_url);
    free(cfg->admin_listen);
    free(cfg->admin_token);
    free(cfg->templates_dir);
    cJSON_Delete(cfg->root);
    free(cfg->text);
    free(cfg->dir);
    free(cfg->path);
    free(cfg);
}

const cJSON *dg_config_section(const dg_config *cfg, const char *name)
{
    return cJSON_GetObjectItemCaseSensitive(cfg->root, name);
}

const dg_instance_cfg *dg_config_instance(const dg_config *cfg, const char *name)
{
    for (size_t i = 0; i < cfg->n_instances; i++)
        if (strcmp(cfg->instances[i].name, name) == 0)
            return &cfg->instances[i];
    return NULL;
}
