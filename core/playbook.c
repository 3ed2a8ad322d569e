#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <duegate/types.h>

#include "error.h"
#include "playbook.h"

const char *const dg_segment_names[DG_SEG__N] = {
    "busy", "hesitant", "high_intent", "price_sensitive", "high_value", "returning", "new"};

static int fail(const dg_config *cfg, const char *path, char *err, size_t len, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));
static int fail(const dg_config *cfg, const char *path, char *err, size_t len, const char *fmt, ...)
{
    char msg[400];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (cfg)
        dg_errf(err, len, "%s:%d: %s: %s", cfg->path, dg_json_line_of(cfg->text, path), path, msg);
    else
        dg_errf(err, len, "%s: %s", path, msg);
    return DG_ECONFIG;
}

static void step_init(dg_step *s, const char *stage, int anchor, int64_t off, const char *tmpl,
                      const char *overdue, int64_t window)
{
    memset(s, 0, sizeof *s);
    snprintf(s->stage, sizeof s->stage, "%s", stage);
    s->anchor = anchor;
    s->offset = off;
    snprintf(s->tmpl, sizeof s->tmpl, "%s", tmpl);
    snprintf(s->tmpl_overdue, sizeof s->tmpl_overdue, "%s", overdue ? overdue : "");
    strcpy(s->channels[0], "whatsapp");
    strcpy(s->channels[1], "sms");
    strcpy(s->channels[2], "email");
    s->n_channels = 3;
    s->answer_window = window;
}

#define MIN_MS 60000LL
#define HOUR_MS 3600000LL
#define DAY_MS 86400000LL

static void defaults(dg_engine_cfg *c)
{
    dg_playbook *p;
    memset(c, 0, sizeof *c);
    p = &c->pb[c->n_pb++];
    strcpy(p->name, "presale_balance");
    p->flow = DG_FLOW_PRESALE_BALANCE;
    p->golden = 1;
    p->final_window = 48 * HOUR_MS;
    step_init(&p->steps[0], "gentle", DG_ANCHOR_DUE, -2 * DAY_MS, "presale/gentle", NULL,
              4 * HOUR_MS);
    step_init(&p->steps[1], "formal", DG_ANCHOR_DUE, 0, "presale/formal-due",
              "presale/formal-overdue", 24 * HOUR_MS);
    step_init(&p->steps[2], "final", DG_ANCHOR_DUE, 4 * DAY_MS, "presale/final", NULL,
              24 * HOUR_MS);
    p->n_steps = 3;
    p = &c->pb[c->n_pb++];
    strcpy(p->name, "unpaid_order");
    p->flow = DG_FLOW_UNPAID_ORDER;
    p->golden = 0;
    p->close_after = 24 * HOUR_MS;
    step_init(&p->steps[0], "service", DG_ANCHOR_CREATED, 30 * MIN_MS, "unpaid/30min", NULL,
              20 * MIN_MS);
    step_init(&p->steps[1], "value", DG_ANCHOR_CREATED, 3 * HOUR_MS, "unpaid/value", NULL, HOUR_MS);
    strcpy(p->steps[1].tmpl_no_reply, "scenario/no-reply-new-angle");
    step_init(&p->steps[2], "last_chance", DG_ANCHOR_CLOSE, -HOUR_MS, "unpaid/last-chance", NULL,
              30 * MIN_MS);
    p->n_steps = 3;
    dg_window_parse("09:00-11:00", &c->golden);
    dg_window_parse("08:00-21:00", &c->awake);
    strcpy(c->sms[0].country, "US");
    dg_window_parse("08:00-21:00", &c->sms[0].w);
    c->n_sms = 1;
    c->max_touches = 3;
    c->max_messages = 6;
    c->retry_base = MIN_MS;
    c->retry_cap = HOUR_MS;
    c->retry_max = 5;
    strcpy(c->store_tz, "UTC");
    c->reread_before_final = 1;
    c->reread_wait = 2 * MIN_MS;
    strcpy(c->followup_template, "scenario/promise-passed");
    c->high_value_minor = 20000;
    c->high_intent_items = 3;
    for (int i = 0; i < DG_SEG__N; i++)
        c->seg[i].cadence = 1.0;
    c->seg[DG_SEG_BUSY].max_touches = 1;
    c->seg[DG_SEG_HESITANT].cadence = 1.5;
    c->seg[DG_SEG_HIGH_INTENT].cadence = 0.75;
}

/* ---- small typed readers; each names its path on error */

typedef struct rd {
    const dg_config *cfg;
    char *err;
    size_t len;
} rd;

static int get_str(rd *r, const cJSON *o, const char *key, const char *path, char *dst, size_t cap)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    char p[256];
    if (!v)
        return 0;
    snprintf(p, sizeof p, "%s.%s", path, key);
    if (!cJSON_IsString(v))
        return fail(r->cfg, p, r->err, r->len, "expected a string");
    if (strlen(v->valuestring) >= cap)
        return fail(r->cfg, p, r->err, r->len, "too long (max %zu)", cap - 1);
    snprintf(dst, cap, "%s", v->valuestring);
    return 0;
}

static int get_dur(rd *r, const cJSON *o, const char *key, const char *path, int64_t *dst)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    char p[256];
    if (!v)
        return 0;
    snprintf(p, sizeof p, "%s.%s", path, key);
    if (!cJSON_IsString(v) || dg_duration_parse(v->valuestring, dst) != 0)
        return fail(r->cfg, p, r->err, r->len, "expected a duration such as \"30m\", \"-2d\"");
    return 0;
}

static int get_int(rd *r, const cJSON *o, const char *key, const char *path, int64_t lo, int64_t hi,
                   int64_t *dst)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    char p[256];
    if (!v)
        return 0;
    snprintf(p, sizeof p, "%s.%s", path, key);
    if (!cJSON_IsNumber(v) || v->valuedouble != (double)(int64_t)v->valuedouble ||
        v->valuedouble < (double)lo || v->valuedouble > (double)hi)
        return fail(r->cfg, p, r->err, r->len, "expected an integer in %lld..%lld", (long long)lo,
                    (long long)hi);
    *dst = (int64_t)v->valuedouble;
    return 0;
}

static int get_bool(rd *r, const cJSON *o, const char *key, const char *path, int *dst)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    char p[256];
    if (!v)
        return 0;
    snprintf(p, sizeof p, "%s.%s", path, key);
    if (!cJSON_IsBool(v))
        return fail(r->cfg, p, r->err, r->len, "expected true or false");
    *dst = cJSON_IsTrue(v);
    return 0;
}

static int get_window(rd *r, const cJSON *o, const char *key, const char *path, dg_window *w)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    char p[256];
    if (!v)
        return 0;
    snprintf(p, sizeof p, "%s.%s", path, key);
    if (!cJSON_IsString(v) || dg_window_parse(v->valuestring, w) != 0)
        return fail(r->cfg, p, r->err, r->len, "expected \"HH:MM-HH:MM\" with start < end");
    return 0;
}

static int check_keys(rd *r, const cJSON *o, const char *path, const char *const *allowed)
{
    const cJSON *it;
    if (!cJSON_IsObject(o))
        return fail(r->cfg, path, r->err, r->len, "expected an object");
    cJSON_ArrayForEach(it, o)
    {
        int ok = 0;
        for (const char *const *a = allowed; *a; a++)
            ok |= strcmp(*a, it->string) == 0;
        if (!ok) {
            char p[256];
            snprintf(p, sizeof p, "%s.%s", path, it->string);
            return fail(r->cfg, p, r->err, r->len, "unknown key");
        }
    }
    return 0;
}

static int load_step(rd *r, const cJSON *o, const char *path, dg_step *s, int presale)
{
    static const char *const keys[] = {"stage",    "anchor",           "offset",
                                       "template", "template_overdue", "template_no_reply",
                                       "channels", "answer_window",    NULL};
    const cJSON *ch;
    char anchor[16] = "";
    int rc = check_keys(r, o, path, keys);
    if (!rc)
        rc = get_str(r, o, "stage", path, s->stage, sizeof s->stage);
    if (!rc)
        rc = get_str(r, o, "anchor", path, anchor, sizeof anchor);
    if (!rc && anchor[0]) {
        if (strcmp(anchor, "due") == 0)
            s->anchor = DG_ANCHOR_DUE;
        else if (strcmp(anchor, "created") == 0)
            s->anchor = DG_ANCHOR_CREATED;
        else if (strcmp(anchor, "close") == 0)
            s->anchor = DG_ANCHOR_CLOSE;
        else {
            char p[256];
            snprintf(p, sizeof p, "%s.anchor", path);
            return fail(r->cfg, p, r->err, r->len, "expected \"due\", \"created\" or \"close\"");
        }
    }
    if (!rc)
        rc = get_dur(r, o, "offset", path, &s->offset);
    if (!rc)
        rc = get_str(r, o, "template", path, s->tmpl, sizeof s->tmpl);
    if (!rc)
        rc = get_str(r, o, "template_overdue", path, s->tmpl_overdue, sizeof s->tmpl_overdue);
    if (!rc)
        rc = get_str(r, o, "template_no_reply", path, s->tmpl_no_reply, sizeof s->tmpl_no_reply);
    if (!rc)
        rc = get_dur(r, o, "answer_window", path, &s->answer_window);
    if (rc)
        return rc;
    if (!s->stage[0] || !s->tmpl[0]) {
        return fail(r->cfg, path, r->err, r->len, "a step needs \"stage\" and \"template\"");
    }
    if (presale && strcmp(s->stage, "gentle") == 0 && s->anchor == DG_ANCHOR_DUE &&
        (s->offset < -3 * DAY_MS || s->offset > -DAY_MS)) {
        char p[256];
        snprintf(p, sizeof p, "%s.offset", path);
        return fail(r->cfg, p, r->err, r->len,
                    "the gentle stage goes 1 to 3 days before the due "
                    "date (-3d..-1d)");
    }
    if (s->answer_window < 0) {
        char p[256];
        snprintf(p, sizeof p, "%s.answer_window", path);
        return fail(r->cfg, p, r->err, r->len, "must not be negative");
    }
    if ((ch = cJSON_GetObjectItemCaseSensitive(o, "channels")) != NULL) {
        char p[256];
        snprintf(p, sizeof p, "%s.channels", path);
        if (!cJSON_IsArray(ch) || cJSON_GetArraySize(ch) < 1 || cJSON_GetArraySize(ch) > DG_CH_MAX)
            return fail(r->cfg, p, r->err, r->len, "expected 1 to %d channel names", DG_CH_MAX);
        s->n_channels = 0;
        for (int i = 0; i < cJSON_GetArraySize(ch); i++) {
            const cJSON *e = cJSON_GetArrayItem(ch, i);
            if (!cJSON_IsString(e) || !e->valuestring[0] || strlen(e->valuestring) >= 48) {
                snprintf(p, sizeof p, "%s.channels[%d]", path, i);
                return fail(r->cfg, p, r->err, r->len, "expected a channel kind or instance");
            }
            snprintf(s->channels[s->n_channels++], 48, "%s", e->valuestring);
        }
    }
    return 0;
}

static int load_playbook(rd *r, const char *name, const cJSON *o, dg_engine_cfg *c)
{
    static const char *const keys[] = {
        "flow", "window", "final_window", "expire_action", "steps", "close_after", NULL};
    char path[128], flow[32] = "", window[16] = "", act[32] = "";
    dg_playbook *p = (dg_playbook *)dg_engine_cfg_playbook(c, name);
    const cJSON *steps;
    int rc;
    snprintf(path, sizeof path, "playbooks.%s", name);
    if (strlen(name) >= sizeof p->name)
        return fail(r->cfg, path, r->err, r->len, "name too long");
    if (!p) {
        if (c->n_pb >= DG_PB_MAX)
            return fail(r->cfg, path, r->err, r->len, "too many playbooks (max %d)", DG_PB_MAX);
        p = &c->pb[c->n_pb++];
        memset(p, 0, sizeof *p);
        snprintf(p->name, sizeof p->name, "%s", name);
        p->golden = 1;
    }
    if ((rc = check_keys(r, o, path, keys)) ||
        (rc = get_str(r, o, "flow", path, flow, sizeof flow)) ||
        (rc = get_str(r, o, "window", path, window, sizeof window)) ||
        (rc = get_dur(r, o, "final_window", path, &p->final_window)) ||
        (rc = get_dur(r, o, "close_after", path, &p->close_after)) ||
        (rc = get_str(r, o, "expire_action", path, act, sizeof act)))
        return rc;
    if (flow[0]) {
        char pp[160];
        snprintf(pp, sizeof pp, "%s.flow", path);
        if (strcmp(flow, "presale_balance") == 0)
            p->flow = DG_FLOW_PRESALE_BALANCE;
        else if (strcmp(flow, "unpaid_order") == 0)
            p->flow = DG_FLOW_UNPAID_ORDER;
        else
            return fail(r->cfg, pp, r->err, r->len,
                        "expected \"presale_balance\" or \"unpaid_order\"");
    }
    if (window[0]) {
        char pp[160];
        snprintf(pp, sizeof pp, "%s.window", path);
        if (strcmp(window, "golden") == 0 || strcmp(window, "awake") == 0)
            p->golden = window[0] == 'g';
        else
            return fail(r->cfg, pp, r->err, r->len, "expected \"golden\" or \"awake\"");
    }
    if (act[0]) {
        char pp[160];
        snprintf(pp, sizeof pp, "%s.expire_action", path);
        if (strcmp(act, "none") == 0 || strcmp(act, "cancel_order") == 0)
            p->cancel_on_expire = act[0] == 'c';
        else
            return fail(r->cfg, pp, r->err, r->len, "expected \"none\" or \"cancel_order\"");
    }
    if (!p->flow)
        return fail(r->cfg, path, r->err, r->len, "missing \"flow\"");
    if ((steps = cJSON_GetObjectItemCaseSensitive(o, "steps")) != NULL) {
        char pp[160];
        snprintf(pp, sizeof pp, "%s.steps", path);
        if (!cJSON_IsArray(steps) || cJSON_GetArraySize(steps) < 1 ||
            cJSON_GetArraySize(steps) > DG_STEP_MAX)
            return fail(r->cfg, pp, r->err, r->len, "expected 1 to %d steps", DG_STEP_MAX);
        p->n_steps = 0;
        for (int i = 0; i < cJSON_GetArraySize(steps); i++) {
            dg_step *s = &p->steps[p->n_steps++];
            char sp[180];
            step_init(s, "", DG_ANCHOR_DUE, 0, "", NULL, 24 * HOUR_MS);
            if (p->flow == DG_FLOW_UNPAID_ORDER)
                s->anchor = DG_ANCHOR_CREATED;
            snprintf(sp, sizeof sp, "%s[%d]", pp, i);
            if ((rc = load_step(r, cJSON_GetArrayItem(steps, i), sp, s,
                                p->flow == DG_FLOW_PRESALE_BALANCE)))
                return rc;
        }
    }
    if (p->n_steps == 0)
        return fail(r->cfg, path, r->err, r->len, "missing \"steps\"");
    return 0;
}

static int load_segments(rd *r, const cJSON *o, dg_engine_cfg *c)
{
    const cJSON *it;
    if (!cJSON_IsObject(o))
        return fail(r->cfg, "segments", r->err, r->len, "expected an object");
    cJSON_ArrayForEach(it, o)
    {
        static const char *const keys[] = {"cadence",         "max_touches", "coupon", "templates",
                                           "threshold_minor", "min_items",   NULL};
        char path[128];
        int idx = -1, rc;
        int64_t v;
        const cJSON *cad, *tm;
        snprintf(path, sizeof path, "segments.%s", it->string);
        for (int i = 0; i < DG_SEG__N; i++)
            if (strcmp(dg_segment_names[i], it->string) == 0)
                idx = i;
        if (idx < 0)
            return fail(r->cfg, path, r->err, r->len, "unknown segment");
        dg_segment_cfg *s = &c->seg[idx];
        if ((rc = check_keys(r, it, path, keys)))
            return rc;
        if ((cad = cJSON_GetObjectItemCaseSensitive(it, "cadence")) != NULL) {
            char p[160];
            snprintf(p, sizeof p, "%s.cadence", path);
            if (!cJSON_IsNumber(cad) || cad->valuedouble < 0.25 || cad->valuedouble > 4)
                return fail(r->cfg, p, r->err, r->len, "expected a number in 0.25..4");
            s->cadence = cad->valuedouble;
        }
        v = s->max_touches;
        if ((rc = get_int(r, it, "max_touches", path, 1, 3, &v)))
            return rc;
        s->max_touches = (int)v;
        if ((rc = get_str(r, it, "coupon", path, s->coupon, sizeof s->coupon)) ||
            (rc = get_int(r, it, "threshold_minor", path, 0, INT64_C(1) << 50,
                          &c->high_value_minor)))
            return rc;
        v = c->high_intent_items;
        if ((rc = get_int(r, it, "min_items", path, 1, 1000, &v)))
            return rc;
        c->high_intent_items = (int)v;
        if ((tm = cJSON_GetObjectItemCaseSensitive(it, "templates")) != NULL) {
            const cJSON *t;
            char p[160];
            snprintf(p, sizeof p, "%s.templates", path);
            if (!cJSON_IsObject(tm) || cJSON_GetArraySize(tm) > 4)
                return fail(r->cfg, p, r->err, r->len, "expected an object of up to 4 ids");
            s->n_tmpl = 0;
            cJSON_ArrayForEach(t, tm)
            {
                if (!cJSON_IsString(t) || strlen(t->string) >= 64 || strlen(t->valuestring) >= 64)
                    return fail(r->cfg, p, r->err, r->len, "expected template id strings");
                snprintf(s->tmpl_from[s->n_tmpl], 64, "%s", t->string);
                snprintf(s->tmpl_to[s->n_tmpl++], 64, "%s", t->valuestring);
            }
        }
    }
    return 0;
}

static int load_quiet(rd *r, const cJSON *o, dg_engine_cfg *c)
{
    static const char *const keys[] = {"night", "sms", NULL};
    const cJSON *night, *sms, *it;
    int rc = check_keys(r, o, "quiet_hours", keys);
    if (rc)
        return rc;
    if ((night = cJSON_GetObjectItemCaseSensitive(o, "night")) != NULL) {
        dg_window n;
        /* "21:00-08:00": night crosses midnight; awake is its complement. */
        char flip[16];
        if (!cJSON_IsString(night) || strlen(night->valuestring) != 11)
            return fail(r->cfg, "quiet_hours.night", r->err, r->len,
                        "expected \"HH:MM-HH:MM\" crossing midnight, e.g. \"21:00-08:00\"");
        snprintf(flip, sizeof flip, "%.5s-%.5s", night->valuestring + 6, night->valuestring);
        if (dg_window_parse(flip, &n) != 0)
            return fail(r->cfg, "quiet_hours.night", r->err, r->len,
                        "expected \"HH:MM-HH:MM\" crossing midnight, e.g. \"21:00-08:00\"");
        c->awake = n;
    }
    if ((sms = cJSON_GetObjectItemCaseSensitive(o, "sms")) != NULL) {
        if (!cJSON_IsObject(sms))
            return fail(r->cfg, "quiet_hours.sms", r->err, r->len, "expected an object");
        cJSON_ArrayForEach(it, sms)
        {
            char p[128];
            dg_window w, legal;
            int found = -1;
            snprintf(p, sizeof p, "quiet_hours.sms.%s", it->string);
            if (strlen(it->string) != 2)
                return fail(r->cfg, p, r->err, r->len, "expected an ISO country code");
            if (!cJSON_IsString(it) || dg_window_parse(it->valuestring, &w) != 0)
                return fail(r->cfg, p, r->err, r->len, "expected \"HH:MM-HH:MM\"");
            for (int i = 0; i < c->n_sms; i++)
                if (strcasecmp(c->sms[i].country, it->string) == 0)
                    found = i;
            legal = found >= 0 ? c->sms[found].w : c->awake;
            if (w.start < legal.start || w.end > legal.end)
                return fail(r->cfg, p, r->err, r->len,
                            "may tighten the legal window %02d:%02d-%02d:%02d, never loosen it",
                            legal.start / 60, legal.start % 60, legal.end / 60, legal.end % 60);
            if (found < 0) {
                if (c->n_sms >= 16)
                    return fail(r->cfg, p, r->err, r->len, "too many countries");
                found = c->n_sms++;
                snprintf(c->sms[found].country, sizeof c->sms[found].country, "%s", it->string);
            }
            c->sms[found].w = w;
        }
    }
    return 0;
}

static int load_engine(rd *r, const cJSON *o, dg_engine_cfg *c)
{
    static const char *const keys[] = {"golden_hours",  "max_touches",
                                       "max_messages",  "retry",
                                       "store_tz",      "reread_before_final",
                                       "reread_wait",   "promise_followup_template",
                                       "channel_kinds", NULL};
    static const char *const rkeys[] = {"base", "cap", "max_attempts", NULL};
    const cJSON *retry, *kinds, *it;
    int64_t v;
    int rc = check_keys(r, o, "engine", keys);
    if (!rc)
        rc = get_window(r, o, "golden_hours", "engine", &c->golden);
    v = c->max_touches;
    if (!rc && !(rc = get_int(r, o, "max_touches", "engine", 1, 3, &v)))
        c->max_touches = (int)v;
    v = c->max_messages;
    if (!rc && !(rc = get_int(r, o, "max_messages", "engine", 1, 12, &v)))
        c->max_messages = (int)v;
    if (!rc)
        rc = get_str(r, o, "store_tz", "engine", c->store_tz, sizeof c->store_tz);
    if (!rc && !dg_tz_valid(c->store_tz))
        rc = fail(r->cfg, "engine.store_tz", r->err, r->len, "unknown time zone '%s'", c->store_tz);
    if (!rc)
        rc = get_bool(r, o, "reread_before_final", "engine", &c->reread_before_final);
    if (!rc)
        rc = get_dur(r, o, "reread_wait", "engine", &c->reread_wait);
    if (!rc)
        rc = get_str(r, o, "promise_followup_template", "engine", c->followup_template,
                     sizeof c->followup_template);
    if (!rc && (retry = cJSON_GetObjectItemCaseSensitive(o, "retry")) != NULL) {
        v = c->retry_max;
        if (!(rc = check_keys(r, retry, "engine.retry", rkeys)) &&
            !(rc = get_dur(r, retry, "base", "engine.retry", &c->retry_base)) &&
            !(rc = get_dur(r, retry, "cap", "engine.retry", &c->retry_cap)) &&
            !(rc = get_int(r, retry, "max_attempts", "engine.retry", 1, 50, &v)))
            c->retry_max = (int)v;
        if (!rc && (c->retry_base <= 0 || c->retry_cap < c->retry_base))
            rc = fail(r->cfg, "engine.retry", r->err, r->len, "need 0 < base <= cap");
    }
    if (!rc && (kinds = cJSON_GetObjectItemCaseSensitive(o, "channel_kinds")) != NULL) {
        if (!cJSON_IsObject(kinds))
            return fail(r->cfg, "engine.channel_kinds", r->err, r->len, "expected an object");
        cJSON_ArrayForEach(it, kinds)
        {
            char p[128];
            snprintf(p, sizeof p, "engine.channel_kinds.%s", it->string);
            if (!cJSON_IsString(it) ||
                (strcmp(it->valuestring, "whatsapp") && strcmp(it->valuestring, "sms") &&
                 strcmp(it->valuestring, "email")))
                return fail(r->cfg, p, r->err, r->len,
                            "expected \"whatsapp\", \"sms\" or \"email\"");
            if (c->n_kinds >= 16 || strlen(it->string) >= 48)
                return fail(r->cfg, p, r->err, r->len, "too many entries or name too long");
            snprintf(c->kind_inst[c->n_kinds], 48, "%s", it->string);
            snprintf(c->kind_name[c->n_kinds++], 12, "%s", it->valuestring);
        }
    }
    return rc;
}

int dg_engine_cfg_load(const dg_config *cfg, dg_engine_cfg *out, char *err, size_t len)
{
    rd r = {cfg, err, len};
    const cJSON *sec;
    int rc = 0;
    defaults(out);
    if (!cfg)
        return 0;
    if ((sec = dg_config_section(cfg, "engine")) != NULL)
        rc = load_engine(&r, sec, out);
    if (!rc && (sec = dg_config_section(cfg, "quiet_hours")) != NULL)
        rc = load_quiet(&r, sec, out);
    if (!rc && (sec = dg_config_section(cfg, "segments")) != NULL)
        rc = load_segments(&r, sec, out);
    if (!rc && (sec = dg_config_section(cfg, "playbooks")) != NULL) {
        const cJSON *it;
        if (!cJSON_IsObject(sec))
            return fail(cfg, "playbooks", err, len, "expected an object");
        cJSON_ArrayForEach(it, sec)
        {
            if ((rc = load_playbook(&r, it->string, it, out)) != 0)
                break;
        }
    }
    if (!rc && dg_window_empty(dg_window_and(out->golden, out->awake)))
        rc = fail(cfg, "engine.golden_hours", err, len, "lies entirely in quiet hours");
    return rc;
}

const dg_playbook *dg_engine_cfg_playbook(const dg_engine_cfg *c, const char *name)
{
    for (int i = 0; i < c->n_pb; i++)
        if (strcmp(c->pb[i].name, name) == 0)
            return &c->pb[i];
    return NULL;
}

const dg_playbook *dg_engine_cfg_for_flow(const dg_engine_cfg *c, int flow)
{
    for (int i = 0; i < c->n_pb; i++)
        if (c->pb[i].flow == flow)
            return &c->pb[i];
    return NULL;
}

dg_window dg_engine_cfg_sms_window(const dg_engine_cfg *c, const char *country)
{
    for (int i = 0; country && i < c->n_sms; i++)
        if (strcasecmp(c->sms[i].country, country) == 0)
            return dg_window_and(c->sms[i].w, c->awake);
    return c->awake;
}
