/* `duegate templates lint|render` (see template.h, docs/templates.md). */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cjson/cJSON.h>

#include "config.h"
#include "error.h"
#include "template.h"

static void print_problem(void *ud, const char *msg)
{
    int *n = ud;
    (*n)++;
    fprintf(stderr, "%s\n", msg);
}

/* "2026-10-25T15:59:00Z", "...+08:00", or an integer of ms. 0 on error. */
static int64_t parse_time(const cJSON *j)
{
    struct tm tm;
    int y, mo, d, h, mi, s = 0, n = 0, oh = 0, om = 0;
    char sign = 0;
    const char *str, *rest;
    if (cJSON_IsNumber(j))
        return (int64_t)j->valuedouble;
    if (!cJSON_IsString(j))
        return 0;
    str = j->valuestring;
    if (sscanf(str, "%4d-%2d-%2dT%2d:%2d:%2d%n", &y, &mo, &d, &h, &mi, &s, &n) < 6)
        return 0;
    rest = str + n;
    if (*rest == 'Z' && !rest[1]) {
        sign = '+';
    } else if ((*rest == '+' || *rest == '-') && sscanf(rest + 1, "%2d:%2d", &oh, &om) == 2) {
        sign = *rest;
    } else {
        return 0;
    }
    memset(&tm, 0, sizeof tm);
    tm.tm_year = y - 1900;
    tm.tm_mon = mo - 1;
    tm.tm_mday = d;
    tm.tm_hour = h;
    tm.tm_min = mi;
    tm.tm_sec = s;
    return ((int64_t)timegm(&tm) - (sign == '-' ? -1 : 1) * (int64_t)(oh * 3600 + om * 60)) * 1000;
}

static const char *jstr(const cJSON *o, const char *k)
{
    const cJSON *j = cJSON_GetObjectItemCaseSensitive(o, k);
    return cJSON_IsString(j) ? j->valuestring : NULL;
}

static int load_order(const char *file, cJSON **root, dg_msg_facts *f)
{
    FILE *fp = fopen(file, "rb");
    char *buf;
    size_t n;
    const cJSON *c, *o, *s, *j;
    memset(f, 0, sizeof *f);
    if (!fp) {
        fprintf(stderr, "duegate templates: %s: cannot open\n", file);
        return 1;
    }
    buf = malloc(1 << 20);
    n = buf ? fread(buf, 1, (1 << 20) - 1, fp) : 0;
    fclose(fp);
    if (!buf)
        return 1;
    buf[n] = '\0';
    *root = cJSON_Parse(buf);
    if (!cJSON_IsObject(*root)) {
        const char *e = cJSON_GetErrorPtr();
        int line = 1;
        for (const char *p = buf; e && e >= buf && p < e && *p; p++)
            line += *p == '\n';
        fprintf(stderr, "duegate templates: %s:%d: invalid JSON (an object is expected)\n", file,
                line);
        free(buf);
        return 1;
    }
    free(buf);
    c = cJSON_GetObjectItemCaseSensitive(*root, "customer");
    o = cJSON_GetObjectItemCaseSensitive(*root, "order");
    s = cJSON_GetObjectItemCaseSensitive(*root, "store");
    f->locale = jstr(*root, "locale");
    f->tz = jstr(*root, "tz");
    f->first_name = jstr(c, "first_name");
    f->full_name = jstr(c, "full_name");
    f->order_name = jstr(o, "name");
    f->items_summary = jstr(o, "items");
    j = cJSON_GetObjectItemCaseSensitive(o, "amount_minor");
    f->amount_minor = cJSON_IsNumber(j) ? (int64_t)j->valuedouble : 0;
    f->currency = jstr(o, "currency");
    f->deadline_ms = parse_time(cJSON_GetObjectItemCaseSensitive(o, "deadline"));
    f->close_ms = parse_time(cJSON_GetObjectItemCaseSensitive(o, "close_at"));
    f->pay_link = jstr(o, "pay_link");
    f->store_name = jstr(s, "name");
    f->support_contact = jstr(s, "support_contact");
    j = cJSON_GetObjectItemCaseSensitive(s, "refund_days");
    f->refund_days = cJSON_IsNumber(j) ? j->valueint : 0;
    f->now_ms = parse_time(cJSON_GetObjectItemCaseSensitive(*root, "now"));
    if (!f->now_ms)
        f->now_ms = (int64_t)time(NULL) * 1000;
    j = cJSON_GetObjectItemCaseSensitive(*root, "final_window_hours");
    f->final_window_ms = cJSON_IsNumber(j) ? (int64_t)(j->valuedouble * 3600000.0) : 0;
    f->coupon = jstr(*root, "coupon");
    f->segment = jstr(*root, "segment");
    f->last_reply = jstr(*root, "last_reply");
    return 0;
}

static void print_rendered(const dg_templates *t, const char *id, const char *channel,
                           const char *asked, const dg_rendered *r)
{
    printf("template: %s  channel: %s  locale: %s", id, channel, r->locale);
    if (asked)
        printf(" (asked for %s)", asked);
    printf("\n");
    if (strcmp(channel, "sms") == 0) {
        printf("segments: %d (%s)\n\n%s\n", (int)r->sms_segments, r->sms_ucs2 ? "UCS-2" : "GSM-7",
               r->text);
    } else if (strcmp(channel, "email") == 0) {
        printf("\nSubject: %s\n\n%s\n\n----- HTML part -----\n%s\n", r->subject, r->text, r->html);
    } else {
        if (r->wa_template_name) {
            char *body = dg_templates_wa_preview(t, id, r);
            printf("\n== approved template %s (%s) ==\n%s\n", r->wa_template_name, r->wa_language,
                   body ? body : "");
            free(body);
            for (size_t i = 0; i < r->n_params; i++)
                printf("  param %s%zu%s = %s\n", r->params[i].name ? r->params[i].name : "{{",
                       r->params[i].name ? (size_t)0 : i + 1, r->params[i].name ? "" : "}}",
                       r->params[i].value);
            for (size_t i = 0; i < r->n_buttons; i++)
                printf("  button %d %s = %s\n", (int)r->buttons[i].index,
                       r->buttons[i].kind == DG_BUTTON_URL ? "url suffix" : "quick reply payload",
                       r->buttons[i].value);
        }
        printf("\n== free-form text (only inside the 24 h window) ==\n%s\n", r->text);
    }
}

/* Render every template in every locale and channel against a sample order
 * carrying every fact, so that render-time problems (an SMS over the
 * segment cap, a variable a template needs but no order has) show in lint. */
static int lint_render_all(const dg_templates *t)
{
    static const char *const channels[] = {"sms", "email", "whatsapp"};
    dg_msg_facts f;
    int bad = 0;
    size_t n = 0;
    memset(&f, 0, sizeof f);
    f.tz = "America/Los_Angeles";
    f.first_name = "Alexandra";
    f.full_name = "Alexandra Fitzgerald-Moreno";
    f.order_name = "#100234";
    f.items_summary = "Merino wool cardigan (L, charcoal) x1";
    f.amount_minor = 1234567;
    f.currency = "USD";
    f.now_ms = 1793030340000LL;                /* 2026-10-26 */
    f.deadline_ms = f.now_ms + 2 * 86400000LL; /* pre-sale balance due */
    f.close_ms = f.now_ms + 2 * 3600000LL;     /* unpaid order closes */
    f.final_window_ms = 48 * 3600000LL;
    f.pay_link = "https://checkout.example-store.com/pay/100234?key=8c1f02";
    f.store_name = "Example Store";
    f.support_contact = "support@example-store.com";
    f.refund_days = 7;
    f.coupon = "THANKYOU10";
    f.segment = "high_value";
    f.last_reply = "When will it ship?";
    for (size_t i = 0; i < dg_templates_count(t); i++)
        for (size_t l = 0; l < dg_templates_locale_count(t); l++)
            for (size_t c = 0; c < 3; c++) {
                dg_rendered r;
                char err[1024];
                f.locale = dg_templates_locale(t, l);
                n++;
                if (dg_templates_render((void *)t, dg_templates_id(t, i), channels[c], &f, &r, err,
                                        sizeof err)) {
                    fprintf(stderr, "%s (%s, %s, sample order): %s\n", dg_templates_id(t, i),
                            channels[c], f.locale, err);
                    bad++;
                    continue;
                }
                dg_rendered_clear(&r);
            }
    if (!bad)
        printf("%zu messages rendered against a sample order\n", n);
    return bad;
}

int dg_cmd_templates(const char *config, int argc, char **argv)
{
    static const struct option opts[] = {{"config", required_argument, NULL, 'c'},
                                         {"templates", required_argument, NULL, 'T'},
                                         {"template", required_argument, NULL, 't'},
                                         {"channel", required_argument, NULL, 'C'},
                                         {"locale", required_argument, NULL, 'l'},
                                         {"order", required_argument, NULL, 'o'},
                                         {NULL, 0, NULL, 0}};
    const char *dir = NULL, *id = NULL, *channel = NULL, *locale = NULL, *order = NULL;
    dg_config *cfg = NULL;
    dg_templates *t = NULL;
    char err[1024];
    int ch, problems = 0, rc = 0;
    const char *sub = argc > 0 ? argv[0] : NULL;
    if (!sub || (strcmp(sub, "lint") && strcmp(sub, "render"))) {
        fprintf(stderr, "usage: duegate templates lint [-c CONFIG] [--templates DIR]\n"
                        "       duegate templates render [-c CONFIG] [--templates DIR] "
                        "--template ID --channel sms|email|whatsapp [--locale L] --order "
                        "FILE.json\n");
        return 2;
    }
    optind = 0;
    while ((ch = getopt_long(argc, argv, "c:", opts, NULL)) != -1) {
        switch (ch) {
        case 'c':
            config = optarg;
            break;
        case 'T':
            dir = optarg;
            break;
        case 't':
            id = optarg;
            break;
        case 'C':
            channel = optarg;
            break;
        case 'l':
            locale = optarg;
            break;
        case 'o':
            order = optarg;
            break;
        default:
            return 2;
        }
    }
    if (config && dg_config_load(config, &cfg, err, sizeof err)) {
        fprintf(stderr, "duegate: %s\n", err);
        return 1;
    }
    if (dg_templates_load_config(cfg, dir, print_problem, &problems, &t, err, sizeof err)) {
        if (!problems)
            fprintf(stderr, "duegate: %s\n", err);
        fprintf(stderr, "duegate templates: %d problem(s)\n", problems ? problems : 1);
        dg_config_free(cfg);
        return 1;
    }
    if (strcmp(sub, "lint") == 0) {
        int bad = lint_render_all(t);
        if (bad) {
            fprintf(stderr, "duegate templates: %d problem(s)\n", bad);
            rc = 1;
        } else {
            printf("%zu templates x %zu locales (default %s) OK, SMS cap %d segments\n",
                   dg_templates_count(t), dg_templates_locale_count(t),
                   dg_templates_default_locale(t), dg_templates_sms_max_segments(t));
        }
    } else {
        cJSON *root = NULL;
        dg_msg_facts f;
        dg_rendered r;
        if (!id || !channel || !order) {
            fprintf(stderr, "duegate templates render: --template, --channel and --order are "
                            "required\n");
            rc = 2;
        } else if (load_order(order, &root, &f)) {
            rc = 1;
        } else {
            if (locale)
                f.locale = locale;
            if (dg_templates_render(t, id, channel, &f, &r, err, sizeof err)) {
                fprintf(stderr, "duegate templates render: %s\n", err);
                rc = 1;
            } else {
                print_rendered(t, id, channel, f.locale, &r);
                dg_rendered_clear(&r);
            }
        }
        cJSON_Delete(root);
    }
    dg_templates_free(t);
    dg_config_free(cfg);
    return rc;
}
