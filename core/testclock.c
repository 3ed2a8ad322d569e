/* POST/GET /_duegate/clock: see testclock.h. */
#include <stdio.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "error.h"
#include "log.h"
#include "testclock.h"

static void answer(dg_http_req *req, dg_clock *c, int fired)
{
    char iso[40], body[160];
    dg_kv h = {"Content-Type", "application/json", 0};
    int64_t now = dg_clock_now(c);
    dg_format_iso8601(now, iso, sizeof iso);
    snprintf(body, sizeof body, "{\"now\":\"%s\",\"now_ms\":%lld,\"fired\":%d}", iso,
             (long long)now, fired);
    dg_http_server_respond(req, 200, &h, 1, body, strlen(body));
}

static void on_clock(void *ud, dg_http_req *req)
{
    dg_clock *c = ud;
    size_t len = 0;
    const char *raw = dg_http_server_req_body(req, &len);
    cJSON *b;
    const cJSON *adv, *to;
    int rc = DG_EINVAL;
    char iso[40];
    if (strcmp(dg_http_server_req_method(req), "GET") == 0) {
        answer(req, c, 0);
        return;
    }
    b = cJSON_ParseWithLength(raw, len);
    adv = cJSON_GetObjectItemCaseSensitive(b, "advance_ms");
    to = cJSON_GetObjectItemCaseSensitive(b, "to");
    if (cJSON_IsNumber(adv) && adv->valuedouble >= 0 && adv->valuedouble < 1e13)
        rc = dg_clock_advance(c, (int64_t)adv->valuedouble);
    else if (cJSON_IsString(to)) {
        int64_t t;
        rc = dg_parse_iso8601(to->valuestring, &t) ? DG_EINVAL : dg_clock_advance_to(c, t);
    }
    cJSON_Delete(b);
    if (rc < 0) {
        dg_http_server_respond_error(req, 400, "bad_request",
                                     "{\"advance_ms\": N >= 0} or {\"to\": ISO, not in the past}");
        return;
    }
    dg_format_iso8601(dg_clock_now(c), iso, sizeof iso);
    dg_logf(DG_LOG_DEBUG, "core", "clock_advanced", "now", iso, NULL);
    answer(req, c, rc);
}

int dg_testclock_route(dg_http_server *s, dg_clock *clock)
{
    int rc;
    if (dg_clock_mode_of(clock) != DG_CLOCK_MANUAL)
        return DG_ESTATE;
    rc = dg_http_server_route(s, "POST", "/_duegate/clock", 0, NULL, on_clock, clock);
    if (!rc)
        rc = dg_http_server_route(s, "GET", "/_duegate/clock", 0, NULL, on_clock, clock);
    if (!rc)
        dg_logf(DG_LOG_WARN, "core", "manual_clock", "detail",
                "testing aid: POST /_duegate/clock moves time", NULL);
    return rc;
}
