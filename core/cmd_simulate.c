/* `duegate simulate -c CONFIG --orders FILE.json [--events FILE.json]`
 *
 * Runs the real engine on a manual clock with an in-memory database and
 * in-process channels (one per configured channel instance, same name and
 * kind; whatsapp, sms and email when none is configured): no network. The
 * renderer only names the template (the timeline is about when, where and
 * which template, not the words). Prints, per order, each message and each
 * decision with the time in UTC and in the customer's local time.
 *
 * orders: [{"order_id": "1001", "order_name": "#1001", "flow": "presale_balance",
 *           "created_at": ISO, "due_at": ISO, "close_at": ISO, "amount_minor": 5000,
 *           "currency": "USD", "items": 1, "hints": ["busy"],
 *           "customer": {"first_name", "phone", "email", "country", "province", "tz",
 *                        "locale", "paid_orders"}}]
 * events: [{"at": ISO, "order_id": "1001", "type": "paid" | "cancelled" | "reply" |
 *           "stop" | "promise" | "resume", "text": "...", "until": ISO}] */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "engine.h"
#include "error.h"
#include "instance.h"
#include "log.h"
#include "simchan.h"
#include "tz.h"

typedef struct line {
    char order[64];
    int64_t at;
    char text[400];
} line;

typedef struct sim {
    dg_runtime rt;
    dg_db *db;
    dg_store *st;
    dg_engine *e;
    dg_engine_cfg cfg;
    line *lines;
    size_t n, cap;
} sim;

static void add_line(sim *s, const dg_case *c, const char *a, const char *b, const char *d,
                     const char *why)
{
    line *l;
    dg_zones z;
    char utc[32], loc[96];
    int64_t now = dg_clock_now(s->rt.clock);
    if (s->n == s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 256;
        line *n = realloc(s->lines, cap * sizeof *n);
        if (!n)
            return;
        s->lines = n;
        s->cap = cap;
    }
    l = &s->lines[s->n++];
    snprintf(l->order, sizeof l->order, "%s", c->order_id);
    l->at = now;
    dg_tz_resolve(c->tz, c->country, c->province, c->phone, s->cfg.store_tz, &z);
    dg_format_iso8601(now, utc, sizeof utc);
    dg_tz_format(z.z[0], now, loc, sizeof loc);
    snprintf(l->text, sizeof l->text, "  %s  %-38s ", utc, loc);
    size_t k = strlen(l->text);
    snprintf(l->text + k, sizeof l->text - k, "%-12s %-20s %-28s %s", a, b, d, why);
}

static void obs_send(void *ud, const dg_case *c, const dg_touch *t, const dg_outbound_message *m)
{
    char ch[80];
    (void)m;
    snprintf(ch, sizeof ch, "%s(%s)", t->channel, t->kind);
    add_line(ud, c, t->stage, ch, t->template_id, t->why);
}

static void obs_note(void *ud, const dg_case *c, const char *what, const char *why)
{
    add_line(ud, c, "-", "-", what, why);
}

static int sim_render(void *ud, const char *id, const char *kind, const dg_msg_facts *f,
                      dg_rendered *out, char *err, size_t len)
{
    char buf[200];
    (void)ud, (void)err, (void)len;
    snprintf(buf, sizeof buf, "[%s for %s, %s]", id, f->order_name ? f->order_name : "", kind);
    if (!(out->text = strdup(buf)))
        return DG_ENOMEM;
    return 0;
}

static const char *jstr(const cJSON *o, const char *k)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

static int64_t jtime(const cJSON *o, const char *k)
{
    int64_t t = 0;
    const char *s = jstr(o, k);
    if (s && dg_parse_iso8601(s, &t) != 0)
        t = 0;
    return t;
}

static int64_t jint(const cJSON *o, const char *k, int64_t dflt)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
    return cJSON_IsNumber(v) ? (int64_t)v->valuedouble : dflt;
}

static cJSON *read_json(const char *path, char *err, size_t len)
{
    FILE *f = fopen(path, "rb");
    char *buf;
    long n;
    cJSON *j;
    if (!f) {
        dg_errf(err, len, "%s: cannot open", path);
        return NULL;
    }
    fseek(f, 0, SEEK_END);
    n = ftell(f);
    fseek(f, 0, SEEK_SET);
    buf = malloc((size_t)n + 1);
    if (!buf || fread(buf, 1, (size_t)n, f) != (size_t)n) {
        fclose(f);
        free(buf);
        dg_errf(err, len, "%s: cannot read", path);
        return NULL;
    }
    buf[n] = '\0';
    fclose(f);
    j = cJSON_Parse(buf);
    free(buf);
    if (!cJSON_IsArray(j)) {
        cJSON_Delete(j);
        dg_errf(err, len, "%s: expected a JSON array", path);
        return NULL;
    }
    return j;
}

static void order_event(sim *s, const cJSON *o)
{
    dg_order_event ev;
    const cJSON *cu = cJSON_GetObjectItemCaseSensitive(o, "customer");
    const cJSON *hints = cJSON_GetObjectItemCaseSensitive(o, "hints"), *h;
    const char *flow = jstr(o, "flow");
    DG_INIT(&ev);
    DG_INIT(&ev.customer);
    ev.kind = DG_ORDER_UPSERT;
    ev.flow = flow && strcmp(flow, "unpaid_order") == 0      ? DG_FLOW_UNPAID_ORDER
              : flow && strcmp(flow, "presale_balance") == 0 ? DG_FLOW_PRESALE_BALANCE
                                                             : DG_FLOW_UNKNOWN;
    ev.store = "store";
    ev.order_id = jstr(o, "order_id");
    ev.order_name = jstr(o, "order_name");
    ev.amount_owed_minor = jint(o, "amount_minor", 1);
    ev.currency = jstr(o, "currency");
    ev.created_at = jtime(o, "created_at");
    ev.due_at = jtime(o, "due_at");
    ev.close_at = jtime(o, "close_at");
    ev.pay_link = jstr(o, "pay_link");
    ev.items_summary = jstr(o, "items_summary");
    cJSON_ArrayForEach(h, hints)
    {
        const char *v = cJSON_IsString(h) ? h->valuestring : "";
        ev.segment_hints |= strcmp(v, "busy") == 0              ? DG_SEGHINT_BUSY
                            : strcmp(v, "hesitant") == 0        ? DG_SEGHINT_HESITANT
                            : strcmp(v, "high_intent") == 0     ? DG_SEGHINT_HIGH_INTENT
                            : strcmp(v, "price_sensitive") == 0 ? DG_SEGHINT_PRICE_SENSITIVE
                                                                : 0;
    }
    if (cu) {
        ev.customer.id = jstr(cu, "id");
        ev.customer.first_name = jstr(cu, "first_name");
        ev.customer.last_name = jstr(cu, "last_name");
        ev.customer.phone = jstr(cu, "phone");
        ev.customer.email = jstr(cu, "email");
        ev.customer.locale = jstr(cu, "locale");
        ev.customer.tz_hint = jstr(cu, "tz");
        ev.customer.country = jstr(cu, "country");
        ev.customer.province = jstr(cu, "province");
        ev.customer.paid_orders_count = (int32_t)jint(cu, "paid_orders", -1);
        ev.customer.orders_count = -1;
    }
    if (!ev.order_id) {
        fprintf(stderr, "duegate simulate: an order without order_id is skipped\n");
        return;
    }
    dg_engine_order(s->e, NULL, &ev);
}

static void apply_event(sim *s, const cJSON *o)
{
    const char *type = jstr(o, "type"), *oid = jstr(o, "order_id");
    dg_case c;
    if (!type || !oid || s->st->vt->case_by_order(s->st, "store", oid, &c) != 0) {
        fprintf(stderr, "duegate simulate: event for unknown order '%s' skipped\n",
                oid ? oid : "?");
        return;
    }
    if (strcmp(type, "paid") == 0 || strcmp(type, "cancelled") == 0) {
        dg_order_event ev;
        DG_INIT(&ev);
        ev.kind = type[0] == 'p' ? DG_ORDER_PAID : DG_ORDER_CANCELLED;
        ev.store = "store";
        ev.order_id = oid;
        dg_engine_order(s->e, NULL, &ev);
    } else if (strcmp(type, "reply") == 0 || strcmp(type, "stop") == 0) {
        dg_channel_event ev;
        dg_instance *inst = NULL;
        const char *ch = jstr(o, "channel");
        DG_INIT(&ev);
        ev.kind = DG_CHEV_REPLIED;
        for (dg_instance *i = s->rt.instances; i; i = i->next)
            if (!inst || (ch && strcmp(i->name, ch) == 0))
                inst = i;
        ev.channel = inst ? inst->name : NULL;
        ev.address = c.phone[0] ? c.phone : c.email;
        ev.text = type[0] == 's' ? "STOP" : jstr(o, "text");
        ev.payload = jstr(o, "payload");
        dg_engine_channel(s->e, inst, &ev);
    } else if (strcmp(type, "promise") == 0) {
        dg_engine_promise(s->e, c.id, "simulate", jtime(o, "until"));
    } else if (strcmp(type, "resume") == 0) {
        dg_engine_resume(s->e, c.id, "simulate");
    } else {
        fprintf(stderr, "duegate simulate: unknown event type '%s'\n", type);
    }
}

static const char *guess_kind(const dg_engine_cfg *c, const dg_instance_cfg *ic)
{
    for (int i = 0; i < c->n_kinds; i++)
        if (strcmp(c->kind_inst[i], ic->name) == 0)
            return c->kind_name[i];
    if (strstr(ic->plugin, "whatsapp") || strstr(ic->plugin, "wa"))
        return "whatsapp";
    if (strstr(ic->plugin, "mail") || strstr(ic->plugin, "smtp"))
        return "email";
    return "sms";
}

static int compare_at(const void *a, const void *b)
{
    int64_t x = jtime(*(cJSON *const *)a, "at"), y = jtime(*(cJSON *const *)b, "at");
    return x < y ? -1 : x > y;
}

int dg_cmd_simulate(const char *config_path, const char *orders_path, const char *events_path,
                    FILE *out)
{
    sim s;
    dg_config *cfg = NULL;
    cJSON *orders = NULL, *events = NULL, *o;
    char err[1024];
    dg_engine_opts eo;
    int rc, n_ch = 0;
    int64_t start = INT64_MAX, horizon = 0;
    memset(&s, 0, sizeof s);
    dg_log_set_level(DG_LOG_ERROR);
    rc = dg_config_load(config_path, &cfg, err, sizeof err);
    if (!rc)
        rc = dg_engine_cfg_load(cfg, &s.cfg, err, sizeof err);
    if (!rc && !(orders = read_json(orders_path, err, sizeof err)))
        rc = DG_EINVAL;
    if (!rc && events_path && !(events = read_json(events_path, err, sizeof err)))
        rc = DG_EINVAL;
    if (rc) {
        fprintf(stderr, "duegate simulate: %s\n", err);
        goto out;
    }
    cJSON_ArrayForEach(o, orders)
    {
        int64_t t = jtime(o, "created_at"), d = jtime(o, "due_at"), c = jtime(o, "close_at");
        if (t && t < start)
            start = t;
        if (d > horizon)
            horizon = d;
        if (c > horizon)
            horizon = c;
    }
    if (start == INT64_MAX) {
        fprintf(stderr, "duegate simulate: every order needs a created_at time\n");
        rc = DG_EINVAL;
        goto out;
    }
    dg_runtime_init(&s.rt);
    s.rt.cfg = cfg;
    s.rt.clock = dg_clock_new(NULL, DG_CLOCK_MANUAL, start, 1);
    if ((rc = dg_db_open(":memory:", 1, &s.db, err, sizeof err)) == 0)
        rc = dg_store_sqlite_open(s.db, &s.st, err, sizeof err);
    s.rt.db = s.db;
    for (size_t i = 0; !rc && i < cfg->n_instances; i++) {
        const dg_instance_cfg *ic = &cfg->instances[i];
        dg_instance *inst;
        if (!ic->enabled || ic->kind != DG_PLUGIN_CHANNEL)
            continue;
        rc = dg_instance_create_json(&s.rt, ic->name, dg_simchan_plugin(guess_kind(&s.cfg, ic)),
                                     cJSON_CreateObject(), &inst, err, sizeof err);
        if (!rc)
            rc = dg_instance_start(inst, err, sizeof err);
        n_ch++;
    }
    for (int k = 0; !rc && n_ch == 0 && k < 3; k++) {
        static const char *const kinds[] = {"whatsapp", "sms", "email"};
        dg_instance *inst;
        rc = dg_instance_create_json(&s.rt, kinds[k], dg_simchan_plugin(kinds[k]),
                                     cJSON_CreateObject(), &inst, err, sizeof err);
        if (!rc)
            rc = dg_instance_start(inst, err, sizeof err);
    }
    memset(&eo, 0, sizeof eo);
    eo.rt = &s.rt;
    eo.store = s.st;
    eo.cfg = &s.cfg;
    eo.render = sim_render;
    eo.seed = 1;
    eo.obs.on_send = obs_send;
    eo.obs.on_note = obs_note;
    eo.obs.ud = &s;
    if (!rc)
        rc = dg_engine_new(&eo, &s.e, err, sizeof err);
    if (!rc) {
        s.rt.sink = dg_engine_sink(s.e);
        rc = dg_engine_start(s.e);
    }
    if (rc) {
        fprintf(stderr, "duegate simulate: %s\n", err);
        goto cleanup;
    }
    /* Orders arrive at their creation time, events at theirs. */
    {
        size_t no = (size_t)cJSON_GetArraySize(orders),
               ne = events ? (size_t)cJSON_GetArraySize(events) : 0;
        cJSON **all = calloc(no + ne + 1, sizeof *all);
        size_t k = 0;
        cJSON_ArrayForEach(o, orders) all[k++] = o;
        for (size_t i = 0; i < ne; i++)
            all[k++] = cJSON_GetArrayItem(events, (int)i);
        for (size_t i = 0; i < no; i++) { /* orders sort on created_at as "at" */
            if (!cJSON_GetObjectItemCaseSensitive(all[i], "at") && jstr(all[i], "created_at"))
                cJSON_AddStringToObject(all[i], "at", jstr(all[i], "created_at"));
        }
        qsort(all, k, sizeof *all, compare_at);
        for (size_t i = 0; i < k; i++) {
            int64_t at = jtime(all[i], "at");
            if (at > dg_clock_now(s.rt.clock))
                dg_clock_advance_to(s.rt.clock, at);
            if (at > horizon)
                horizon = at;
            if (jstr(all[i], "type"))
                apply_event(&s, all[i]);
            else
                order_event(&s, all[i]);
        }
        free(all);
    }
    dg_clock_advance_to(s.rt.clock, horizon + 30 * 86400000LL);
    cJSON_ArrayForEach(o, orders)
    {
        const char *oid = jstr(o, "order_id");
        dg_case c;
        dg_zones z;
        if (!oid)
            continue;
        if (s.st->vt->case_by_order(s.st, "store", oid, &c) != 0) {
            fprintf(out, "order %s: no dunning (nothing owed, no playbook, or already closed)\n\n",
                    oid);
            continue;
        }
        dg_tz_resolve(c.tz, c.country, c.province, c.phone, s.cfg.store_tz, &z);
        fprintf(out, "order %s (%s, playbook %s, segment %s, zone %s%s from %s)\n", c.order_id,
                c.order_name, c.playbook, c.segment, z.z[0], z.n > 1 ? " and others" : "",
                z.source);
        fprintf(out, "  %-20s  %-38s %-12s %-20s %-28s %s\n", "UTC", "customer local", "stage",
                "channel", "template", "why");
        for (size_t i = 0; i < s.n; i++)
            if (strcmp(s.lines[i].order, oid) == 0)
                fprintf(out, "%s\n", s.lines[i].text);
        fprintf(out, "  => %s, %lld touch(es), %lld message(s)\n\n",
                dg_case_status_name((int)c.status), (long long)c.touches_used,
                (long long)c.messages_sent);
    }
cleanup:
    while (s.rt.instances)
        dg_instance_destroy(s.rt.instances);
    dg_engine_free(s.e);
    if (s.st)
        s.st->vt->close(s.st);
    dg_db_close(s.db);
    dg_clock_free(s.rt.clock);
    dg_runtime_cleanup(&s.rt);
out:
    free(s.lines);
    cJSON_Delete(orders);
    cJSON_Delete(events);
    dg_config_free(cfg);
    return rc ? 1 : 0;
}
