/* The simulator's control API, answered by wa_sim_handle for paths under
 * /_sim/ (no bearer, no faults: the program binds it to loopback only):
 *   POST /_sim/script                     a JSON script (see wa_sim_script)
 *   GET  /_sim/stats                      counters
 *   GET  /_sim/requests?from=N&limit=M    what the send endpoint received
 *   POST /_sim/customers/<phone>/messages {"text": "..."}: the customer writes */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wa_sim_int.h"

static int reply(wa_sim_response *out, int status, cJSON *o)
{
    out->status = status;
    out->body = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    return status;
}

static int fail(wa_sim_response *out, int status, const char *msg)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "error", msg);
    return reply(out, status, o);
}

static long query_num(const char *q, const char *name, long def)
{
    size_t n = strlen(name);
    while (q && *q) {
        if (strncmp(q, name, n) == 0 && q[n] == '=')
            return strtol(q + n + 1, NULL, 10);
        q = strchr(q, '&');
        if (q)
            q++;
    }
    return def;
}

int wa_sim__control(wa_sim *s, const char *method, const char *path, const char *body, size_t len,
                    wa_sim_response *out)
{
    const char *q = strchr(path, '?');
    size_t pl = q ? (size_t)(q - path) : strlen(path);
    char p[256], err[256] = "";
    int post = method && strcmp(method, "POST") == 0;
    if (pl >= sizeof p)
        return fail(out, 404, "no such control path");
    memcpy(p, path, pl);
    p[pl] = '\0';
    if (post && strcmp(p, "/_sim/script") == 0) {
        char *text = malloc(len + 1);
        int rc;
        if (!text)
            return fail(out, 500, "out of memory");
        memcpy(text, body ? body : "", len);
        text[len] = '\0';
        rc = wa_sim_script(s, text, err, sizeof err);
        free(text);
        if (rc)
            return fail(out, 400, err);
        cJSON *o = cJSON_CreateObject();
        cJSON_AddBoolToObject(o, "ok", 1);
        return reply(out, 200, o);
    }
    if (!post && strcmp(p, "/_sim/stats") == 0) {
        out->status = 200;
        out->body = wa_sim_stats_json(s);
        return 200;
    }
    if (!post && strcmp(p, "/_sim/requests") == 0) {
        long from = query_num(q ? q + 1 : NULL, "from", 0);
        long limit = query_num(q ? q + 1 : NULL, "limit", 100);
        cJSON *o = cJSON_CreateObject(), *arr;
        cJSON_AddNumberToObject(o, "total", (double)wa_sim_n_requests(s));
        arr = cJSON_AddArrayToObject(o, "requests");
        for (long i = from < 0 ? 0 : from; i < (long)wa_sim_n_requests(s) && limit-- > 0; i++) {
            char *r = wa_sim_request_json(s, (size_t)i);
            cJSON *item = r ? cJSON_Parse(r) : NULL;
            free(r);
            if (item)
                cJSON_AddItemToArray(arr, item);
        }
        return reply(out, 200, o);
    }
    if (post && strncmp(p, "/_sim/customers/", 16) == 0) {
        const char *phone = p + 16, *slash = strchr(phone, '/');
        char num[32];
        cJSON *j = cJSON_ParseWithLength(body ? body : "", len);
        const cJSON *t = cJSON_GetObjectItemCaseSensitive(j, "text");
        int rc = -1;
        if (slash && strcmp(slash, "/messages") == 0 && (size_t)(slash - phone) < sizeof num &&
            cJSON_IsString(t)) {
            memcpy(num, phone, (size_t)(slash - phone));
            num[slash - phone] = '\0';
            rc = wa_sim_customer_says(s, num, t->valuestring);
        }
        cJSON_Delete(j);
        if (rc)
            return fail(out, 400, "POST /_sim/customers/<phone>/messages {\"text\": \"...\"}");
        cJSON *o = cJSON_CreateObject();
        cJSON_AddBoolToObject(o, "ok", 1);
        return reply(out, 200, o);
    }
    return fail(out, 404, "no such control path");
}
