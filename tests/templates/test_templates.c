/* Template sets: the shipped templates render everywhere, loading rejects
 * what it must (tone, syntax, missing locale files, WhatsApp parameter
 * counts), locale negotiation, escaping, the SMS cap, and the CLI. */
#include "../unit/cm.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <duegate/types.h>

#include "template.h"
#include "tdir.h"

#define HOUR 3600000LL
#define DAY (24 * HOUR)
/* 2026-10-26T15:59:00Z = 23:59 in Shanghai */
#define DEADLINE 1793030340000LL

static const char *srcdir(void)
{
    const char *s = getenv("DG_TOP_SRCDIR");
    return s ? s : ".";
}

static dg_templates *load_shipped(void)
{
    char dir[4096], err[1024] = "";
    dg_templates *t = NULL;
    snprintf(dir, sizeof dir, "%s/templates", srcdir());
    if (dg_templates_load(dir, NULL, &t, err, sizeof err))
        fprintf(stderr, "load: %s\n", err);
    assert_non_null(t);
    return t;
}

static dg_msg_facts base_facts(const char *locale)
{
    dg_msg_facts f;
    memset(&f, 0, sizeof f);
    f.locale = locale;
    f.tz = "Asia/Shanghai";
    f.first_name = "Mei";
    f.full_name = "Mei Lin";
    f.order_name = "#1001";
    f.items_summary = "Linen dress (M, blue) x1";
    f.amount_minor = 123456;
    f.currency = "EUR";
    f.pay_link = "https://shop.example.com/pay/1001?k=7f3a";
    f.store_name = "Lumen Atelier";
    f.support_contact = "help@lumen.example";
    f.refund_days = 5;
    return f;
}

/* Sample facts for a template id and a variant number. */
static dg_msg_facts sample(const char *id, const char *locale, int variant)
{
    static const char *const segs[] = {NULL,   "high_value", "returning",       "new",
                                       "busy", "hesitant",   "price_sensitive", "high_intent"};
    dg_msg_facts f = base_facts(locale);
    int unpaid =
        strncmp(id, "unpaid/", 7) == 0 || (strncmp(id, "scenario/", 9) == 0 && variant % 2);
    f.segment = segs[variant % 8];
    if (variant % 3 == 1)
        f.coupon = "THANKS10";
    if (variant % 4 == 3)
        f.first_name = NULL; /* fallbacks must carry the text */
    if (strstr(id, "promise-passed") && variant % 2 == 0)
        f.promise_ms = DEADLINE - 3 * DAY;
    if (unpaid) {
        f.now_ms = DEADLINE - 3 * HOUR;
        f.close_ms = strstr(id, "last-chance") ? DEADLINE - HOUR : DEADLINE + 20 * HOUR;
    } else {
        f.deadline_ms = DEADLINE;
        if (strstr(id, "gentle"))
            f.now_ms = DEADLINE - 2 * DAY - 3 * HOUR;
        else if (strstr(id, "formal-due"))
            f.now_ms = DEADLINE - 14 * HOUR;
        else if (strstr(id, "formal-overdue"))
            f.now_ms = DEADLINE + 2 * DAY;
        else if (strstr(id, "final")) {
            f.now_ms = DEADLINE + 5 * DAY;
            f.final_window_ms = 48 * HOUR;
        } else
            f.now_ms = DEADLINE - DAY;
    }
    return f;
}

static void must_contain(const char *where, const char *text, const char *what)
{
    if (!text || !strstr(text, what)) {
        fprintf(stderr, "%s: missing '%s' in:\n%s\n", where, what, text ? text : "(null)");
        fail();
    }
}

static void no_tags(const char *where, const char *text)
{
    if (text && (strstr(text, "{{") || strstr(text, "}}"))) {
        fprintf(stderr, "%s: unresolved tag in:\n%s\n", where, text);
        fail();
    }
    /* sections leave no holes: no run of blank lines, no doubled spaces */
    if (text && (strstr(text, "\n\n\n") || strstr(text, "  ") || strstr(text, " ,") ||
                 strstr(text, " ."))) {
        fprintf(stderr, "%s: stray blank line or space in:\n%s\n", where, text);
        fail();
    }
}

/* Every fact the customer needs, in every message (domain.md). */
static void check_facts(const dg_templates *t, const char *id, const char *ch,
                        const dg_msg_facts *f, const dg_rendered *r)
{
    char where[256], *all;
    size_t n;
    snprintf(where, sizeof where, "%s %s %s", id, ch, r->locale);
    no_tags(where, r->text);
    no_tags(where, r->subject);
    if (r->html && (strstr(r->html, "{{") || strstr(r->html, "\n\n\n")))
        fail_msg("%s: HTML has an unresolved tag or a blank run", where);
    if (strcmp(id, "scenario/opt-out-confirmation") == 0) {
        must_contain(where, r->text, "Lumen Atelier");
        assert_null(strstr(r->text, "https://"));
        return;
    }
    n = strlen(r->text) + (r->html ? strlen(r->html) : 0) + 16;
    all = malloc(n);
    snprintf(all, n, "%s\n%s", r->text, r->html ? r->html : "");
    must_contain(where, all, "#1001");
    must_contain(where, all, f->items_summary);
    must_contain(where, all, f->pay_link);
    if (strcmp(r->locale, "en") == 0)
        must_contain(where, all, "1,234.56");
    if (strcmp(r->locale, "es") == 0)
        must_contain(where, all, "1234,56");
    if (f->first_name && strcmp(ch, "email") == 0)
        must_contain(where, all, "Mei");
    if (strncmp(id, "presale/", 8) == 0 && !strstr(id, "final"))
        must_contain(where, all, "GMT+8");
    if (strstr(id, "final"))
        must_contain(where, all, strcmp(r->locale, "zh-CN") ? "48 " : "48");
    if (strstr(id, "last-chance"))
        must_contain(where, all, "GMT+8");
    free(all);
    if (r->wa_template_name) {
        char *body = dg_templates_wa_preview(t, id, r);
        no_tags(where, body);
        must_contain(where, body, "#1001");
        free(body);
        for (size_t i = 0; i < r->n_buttons; i++)
            if (r->buttons[i].kind == DG_BUTTON_URL)
                assert_string_equal(r->buttons[i].value, "pay/1001?k=7f3a");
    }
}

static void test_shipped_templates_render_everywhere(void **state)
{
    static const char *const locales[] = {"en-US", "es-ES", "zh-CN"};
    static const char *const channels[] = {"sms", "email", "whatsapp"};
    dg_templates *t = load_shipped();
    size_t rendered = 0;
    (void)state;
    assert_true(dg_templates_count(t) >= 12);
    assert_int_equal(dg_templates_locale_count(t), 3);
    for (size_t i = 0; i < dg_templates_count(t); i++) {
        const char *id = dg_templates_id(t, i);
        for (size_t l = 0; l < 3; l++)
            for (size_t c = 0; c < 3; c++)
                for (int v = 0; v < 8; v++) {
                    dg_msg_facts f = sample(id, locales[l], v);
                    dg_rendered r;
                    char err[1024] = "";
                    int rc = dg_templates_render(t, id, channels[c], &f, &r, err, sizeof err);
                    if (rc)
                        fprintf(stderr, "%s %s %s v%d: %s\n", id, channels[c], locales[l], v, err);
                    assert_int_equal(rc, 0);
                    check_facts(t, id, channels[c], &f, &r);
                    if (c == 0) {
                        assert_true(r.sms_segments >= 1);
                        assert_true(r.sms_segments <= dg_templates_sms_max_segments(t));
                        if (l == 0 && f.first_name) /* English stays in GSM-7 */
                            assert_int_equal(r.sms_ucs2, 0);
                    }
                    dg_rendered_clear(&r);
                    rendered++;
                }
    }
    assert_int_equal(rendered, dg_templates_count(t) * 3 * 3 * 8);
    dg_templates_free(t);
}

static void test_segment_variants_change_words(void **state)
{
    dg_templates *t = load_shipped();
    dg_msg_facts f = sample("presale/gentle", "en-US", 0);
    dg_rendered a, b;
    char err[512];
    (void)state;
    assert_int_equal(dg_templates_render(t, "presale/gentle", "email", &f, &a, err, sizeof err), 0);
    f.segment = "high_value";
    f.coupon = "GIFT-7Q";
    assert_int_equal(dg_templates_render(t, "presale/gentle", "email", &f, &b, err, sizeof err), 0);
    assert_null(strstr(a.text, "GIFT-7Q"));
    must_contain("coupon", b.text, "GIFT-7Q");
    dg_rendered_clear(&a);
    dg_rendered_clear(&b);
    f = sample("unpaid/value", "en-US", 0);
    assert_int_equal(dg_templates_render(t, "unpaid/value", "sms", &f, &a, err, sizeof err), 0);
    f.segment = "hesitant";
    assert_int_equal(dg_templates_render(t, "unpaid/value", "sms", &f, &b, err, sizeof err), 0);
    must_contain("default", a.text, "popular");
    assert_null(strstr(b.text, "popular"));
    must_contain("hesitant", b.text, "eturns are easy");
    dg_rendered_clear(&a);
    dg_rendered_clear(&b);
    dg_templates_free(t);
}

/* The promise follow-up recalls the day, in the customer's words and zone,
 * and the refund period says "1 business day" in the singular. */
static void test_promise_date_and_refund_period(void **state)
{
    dg_templates *t = load_shipped();
    dg_msg_facts f = base_facts("en-US");
    dg_rendered r;
    char err[512];
    (void)state;
    f.tz = "America/New_York";
    f.now_ms = DEADLINE;
    f.promise_ms = 1773417600000LL; /* 2026-03-13T16:00:00Z: Friday */
    assert_int_equal(dg_templates_render(t, "scenario/promise-passed", "sms", &f, &r, err,
                                         sizeof err), 0);
    must_contain("promise", r.text, "planned to pay around Friday, March 13.");
    dg_rendered_clear(&r);
    f.locale = "es-ES";
    assert_int_equal(dg_templates_render(t, "scenario/promise-passed", "email", &f, &r, err,
                                         sizeof err), 0);
    must_contain("promise es", r.text, "pagar el viernes, 13 de marzo");
    dg_rendered_clear(&r);
    f.promise_ms = 0; /* no date: the sentence goes, the rest stays */
    f.locale = "en-US";
    assert_int_equal(dg_templates_render(t, "scenario/promise-passed", "whatsapp", &f, &r, err,
                                         sizeof err), 0);
    assert_null(strstr(r.text, "mentioned"));
    must_contain("no promise", r.text, "checking in on #1001");
    dg_rendered_clear(&r);
    f.refund_days = 1;
    assert_int_equal(dg_templates_render(t, "scenario/doesnt-want-it", "email", &f, &r, err,
                                         sizeof err), 0);
    must_contain("refund", r.text, "within 1 business day.");
    dg_rendered_clear(&r);
    dg_templates_free(t);
}

static void test_whatsapp_mapping_rendered(void **state)
{
    dg_templates *t = load_shipped();
    dg_msg_facts f = sample("presale/gentle", "zh-CN", 0);
    dg_rendered r;
    char err[512];
    (void)state;
    assert_int_equal(dg_templates_render(t, "presale/gentle", "whatsapp", &f, &r, err, sizeof err),
                     0);
    assert_string_equal(r.locale, "zh-CN");
    assert_string_equal(r.wa_template_name, "dg_presale_gentle");
    assert_string_equal(r.wa_language, "zh_CN");
    assert_int_equal(r.n_params, 6);
    assert_null(r.params[0].name);
    assert_string_equal(r.params[0].value, "Mei");
    assert_string_equal(r.params[4].value, "\xe2\x82\xac"
                                           "1,234.56");
    assert_int_equal(r.n_buttons, 4);
    assert_int_equal(r.buttons[0].kind, DG_BUTTON_URL);
    assert_int_equal(r.buttons[1].kind, DG_BUTTON_QUICK_REPLY);
    assert_string_equal(r.buttons[1].value, DG_PAYLOAD_PAID);
    assert_string_equal(r.buttons[2].value, DG_PAYLOAD_HELP);
    assert_string_equal(r.buttons[3].value, DG_PAYLOAD_LATER);
    assert_int_equal(r.buttons[3].index, 3);
    must_contain("free-form", r.text, f.pay_link);
    dg_rendered_clear(&r);
    /* the opt-out confirmation has no approved template: free-form only */
    assert_false(dg_templates_has_wa_mapping(t, "scenario/opt-out-confirmation"));
    assert_int_equal(dg_templates_render(t, "scenario/opt-out-confirmation", "whatsapp", &f, &r,
                                         err, sizeof err),
                     0);
    assert_null(r.wa_template_name);
    assert_non_null(r.text);
    dg_rendered_clear(&r);
    dg_templates_free(t);
}

/* ------------------------------------------------- scratch directories */

static const char *const EN[] = {"en"};

static void expect_load_error(const char *dir, const char *want1, const char *want2)
{
    dg_templates *t = NULL;
    char err[1024] = "";
    int rc = dg_templates_load(dir, NULL, &t, err, sizeof err);
    assert_int_equal(rc, DG_EINVAL);
    assert_null(t);
    if (!strstr(err, want1) || (want2 && !strstr(err, want2)))
        fprintf(stderr, "got: %s\nwant: %s ... %s\n", err, want1, want2 ? want2 : "");
    assert_non_null(strstr(err, want1));
    if (want2)
        assert_non_null(strstr(err, want2));
}

static void test_planted_forbidden_word_rejected(void **state)
{
    char *dir = tdir_make(EN, 1);
    dg_templates *t = NULL;
    char err[1024];
    (void)state;
    assert_int_equal(dg_templates_load(dir, NULL, &t, err, sizeof err), 0);
    dg_templates_free(t);
    tdir_put(dir, "t/one/sms.en.txt",
             "Hi {{customer.first_name}},\norder {{order.name}}.\n"
             "Please pay Immediately: {{pay_link}}\n");
    expect_load_error(dir, "t/one/sms.en.txt:3: tone: forbidden 'immediately'", "lint/en.txt:3");
    /* shouting, exclamation marks, HTML markup ignored, CJK phrases */
    tdir_put(dir, "t/one/sms.en.txt", "Hi {{customer.first_name}}, PLEASE pay {{pay_link}}\n");
    expect_load_error(dir, "t/one/sms.en.txt:1: tone: shouting in capitals 'PLEASE'", NULL);
    tdir_put(dir, "t/one/sms.en.txt", "Reply STOP to opt out. {{pay_link}}\n");
    tdir_put(dir, "t/one/email.en.html", "<!DOCTYPE html>\n<p>Thanks!</p>\n<p>Really!</p>\n");
    expect_load_error(dir, "t/one/email.en.html:3: tone: more than 1 exclamation mark", NULL);
    tdir_put(dir, "t/one/email.en.html", "<!DOCTYPE html>\n<P>Thanks!</P>\n");
    assert_int_equal(dg_templates_load(dir, NULL, &t, err, sizeof err), 0);
    dg_templates_free(t);
    /* the merchant extends the list with a file of their own */
    tdir_put(dir, "lint/en.local.txt", "re: \\bdeadline approaching\\b\n");
    tdir_put(dir, "t/one/email.en.txt", "Hi,\n\nyour DeadLine approaching soon.\n");
    expect_load_error(dir, "t/one/email.en.txt:3: tone: forbidden 'DeadLine approaching'",
                      "lint/en.local.txt:1");
    tdir_rm(dir);
    free(dir);
}

static void test_cjk_and_spanish_rules(void **state)
{
    static const char *const L[] = {"en", "zh-CN", "es"};
    char *dir = tdir_make(L, 3);
    dg_templates *t = NULL;
    char err[1024];
    (void)state;
    tdir_put(dir, "lint/zh.txt", "\xe7\xab\x8b\xe5\x8d\xb3\n"); /* "immediately" */
    tdir_put(dir, "lint/es.txt", "inmediatamente\ntienes que\n");
    assert_int_equal(dg_templates_load(dir, NULL, &t, err, sizeof err), 0);
    dg_templates_free(t);
    tdir_put(dir, "t/one/sms.zh-CN.txt",
             "\xe8\xaf\xb7\xe7\xab\x8b\xe5\x8d\xb3\xe4\xbb\x98\xe6\xac\xbe {{pay_link}}\n");
    expect_load_error(dir, "t/one/sms.zh-CN.txt:1: tone: forbidden '\xe7\xab\x8b\xe5\x8d\xb3'",
                      NULL);
    tdir_put(dir, "t/one/sms.zh-CN.txt", "{{pay_link}}\n");
    tdir_put(dir, "t/one/sms.es.txt", "Hola,\nTienes que pagar {{pay_link}}\n");
    expect_load_error(dir, "t/one/sms.es.txt:2: tone: forbidden 'tienes que'", NULL);
    /* whole words only: "mustard" is not "must" */
    tdir_put(dir, "t/one/sms.es.txt", "{{pay_link}}\n");
    tdir_put(dir, "t/one/sms.en.txt", "A mustard-yellow scarf: {{pay_link}}\n");
    assert_int_equal(dg_templates_load(dir, NULL, &t, err, sizeof err), 0);
    dg_templates_free(t);
    tdir_rm(dir);
    free(dir);
}

static void test_load_errors_name_file_and_line(void **state)
{
    static const char *const L[] = {"en", "es"};
    char *dir = tdir_make(L, 2), path[4200];
    (void)state;
    snprintf(path, sizeof path, "%s/t/one/email.es.html", dir);
    remove(path);
    expect_load_error(dir, "t/one/email.es.html: missing (locale 'es' is declared at",
                      "templates.json:4)");
    tdir_put(dir, "t/one/email.es.html", "<p>{{pay_link}}</p>\n");
    tdir_put(dir, "t/one/email.en.txt", "Hi,\n\n{{#coupon}}\ncode {{coupon}}\n");
    expect_load_error(dir, "t/one/email.en.txt:3: section 'coupon' is never closed", NULL);
    tdir_put(dir, "t/one/email.en.txt", "Hi,\n{{customer.frist_name}}\n");
    expect_load_error(dir, "t/one/email.en.txt:2: unknown variable 'customer.frist_name'", NULL);
    tdir_put(dir, "t/one/email.en.txt", "Hi\n");
    tdir_put(dir, "t/one/email.en.subject", "Two\nlines\n");
    expect_load_error(dir, "t/one/email.en.subject:2: a subject is one line", NULL);
    tdir_put(dir, "t/one/email.en.subject", "One line\n");
    tdir_put(dir, "templates.json", "{\"locales\": [\"en\", \"es\"], \"default_locale\": \"fr\"}");
    expect_load_error(dir, "templates.json:1: default locale 'fr' is not one of the declared",
                      NULL);
    tdir_rm(dir);
    free(dir);
}

static const char *WA_OK =
    "{\n"
    "  \"params\": [\"customer.first_name\", \"order.name\"],\n"
    "  \"buttons\": [\n"
    "    {\"type\": \"url\", \"index\": 0, \"value\": \"pay_link.suffix\"},\n"
    "    {\"type\": \"quick_reply\", \"index\": 1, \"payload\": \"DG_PAID\"}\n"
    "  ],\n"
    "  \"locales\": {\n"
    "    \"en\": {\"name\": \"t_one\", \"language\": \"en_US\",\n"
    "           \"body\": \"Hi {{1}}, order {{2}} is ready.\",\n"
    "           \"buttons\": [\"Pay\", \"I've paid\"]}\n"
    "  }\n"
    "}\n";

static void test_whatsapp_param_count_mismatch(void **state)
{
    char *dir = tdir_make(EN, 1), *bad;
    dg_templates *t = NULL;
    char err[1024];
    dg_msg_facts f = base_facts("en");
    dg_rendered r;
    (void)state;
    tdir_put(dir, "t/one/whatsapp.json", WA_OK);
    assert_int_equal(dg_templates_load(dir, NULL, &t, err, sizeof err), 0);
    assert_int_equal(dg_templates_render(t, "t/one", "whatsapp", &f, &r, err, sizeof err), 0);
    assert_int_equal(r.n_params, 2);
    assert_string_equal(r.params[1].value, "#1001");
    assert_string_equal(r.buttons[0].value, "pay/1001?k=7f3a");
    assert_string_equal(r.wa_language, "en_US");
    dg_rendered_clear(&r);
    dg_templates_free(t);
    /* body uses {{3}} but only 2 parameters are bound */
    bad = strdup(WA_OK);
    memcpy(strstr(bad, "is ready"), "{{3}}rea", 8);
    tdir_put(dir, "t/one/whatsapp.json", bad);
    expect_load_error(dir, "t/one/whatsapp.json:9: locales.en.body has 3 parameters",
                      "the mapping binds 2");
    free(bad);
    /* a quick reply with an unknown payload, a label count that does not match */
    bad = strdup(WA_OK);
    memcpy(strstr(bad, "DG_PAID"), "DG_XXXX", 7);
    tdir_put(dir, "t/one/whatsapp.json", bad);
    expect_load_error(dir, "whatsapp.json:3: buttons: a quick_reply payload is one of", NULL);
    free(bad);
    bad = strdup(WA_OK);
    memcpy(strstr(bad, "\"Pay\", "), "       ", 7);
    tdir_put(dir, "t/one/whatsapp.json", bad);
    expect_load_error(dir, "locales.en.buttons has 1 label(s), the mapping has 2 button(s)", NULL);
    free(bad);
    tdir_rm(dir);
    free(dir);
}

static void test_whatsapp_named_params_and_url_prefix(void **state)
{
    static const char *const L[] = {"en", "es"};
    char *dir = tdir_make(L, 2);
    dg_templates *t = NULL;
    char err[1024];
    dg_msg_facts f = base_facts("es-ES");
    dg_rendered r;
    (void)state;
    tdir_put(
        dir, "t/one/whatsapp.json",
        "{\"params\": {\"name\": \"customer.first_name|there\", \"order\": \"order.name\"},\n"
        " \"url_prefix\": \"https://shop.example.com/\",\n"
        " \"buttons\": [{\"type\": \"url\", \"index\": 0, \"value\": \"pay_link.suffix\"}],\n"
        " \"locales\": {\n"
        "  \"en\": {\"name\": \"n\", \"language\": \"en\", \"body\": \"Hi {{name}}: {{order}}.\",\n"
        "          \"buttons\": [\"Pay\"]},\n"
        "  \"es\": {\"name\": \"n\", \"language\": \"es\", \"body\": \"Hola {{name}}: "
        "{{order}}.\",\n"
        "          \"buttons\": [\"Pagar\"],\n"
        "          \"params\": {\"name\": \"customer.first_name|\\ud83d\\udc4b\", \"order\": "
        "\"order.name\"}}}}\n");
    tdir_put(dir, "t/one/whatsapp.es.txt",
             "Hola{{#customer.first_name}} {{customer.first_name}}{{/customer.first_name}}\n");
    assert_int_equal(dg_templates_load(dir, NULL, &t, err, sizeof err), 0);
    f.first_name = NULL;
    assert_int_equal(dg_templates_render(t, "t/one", "whatsapp", &f, &r, err, sizeof err), 0);
    assert_string_equal(r.text, "Hola");
    assert_string_equal(r.params[0].name, "name");
    assert_string_equal(r.params[0].value, "\xf0\x9f\x91\x8b"); /* the es fallback */
    assert_string_equal(r.params[1].name, "order");
    assert_string_equal(r.buttons[0].value, "pay/1001?k=7f3a");
    {
        char *body = dg_templates_wa_preview(t, "t/one", &r);
        assert_string_equal(body, "Hola \xf0\x9f\x91\x8b: #1001.");
        free(body);
    }
    dg_rendered_clear(&r);
    f.pay_link = "https://other.example.net/pay/1";
    assert_int_equal(dg_templates_render(t, "t/one", "whatsapp", &f, &r, err, sizeof err),
                     DG_EINVAL);
    assert_non_null(strstr(err, "does not start with url_prefix https://shop.example.com/"));
    dg_templates_free(t);
    /* a named body placeholder that is not bound */
    tdir_put(
        dir, "t/one/whatsapp.json",
        "{\"params\": {\"name\": \"customer.first_name\"},\n"
        " \"locales\": {\n"
        "  \"en\": {\"name\": \"n\", \"language\": \"en\", \"body\": \"Hi {{name}} {{nope}}\"},\n"
        "  \"es\": {\"name\": \"n\", \"language\": \"es\", \"body\": \"Hola {{name}}\"}}}\n");
    expect_load_error(dir, "whatsapp.json:3: locales.en.body: {{nope}} is not bound in \"params\"",
                      NULL);
    tdir_rm(dir);
    free(dir);
}

static void test_config_section(void **state)
{
    char *dir = tdir_make(EN, 1), cfgpath[4200], text[8600], err[1024];
    dg_config *cfg = NULL;
    dg_templates *t = NULL;
    char *picked;
    (void)state;
    snprintf(cfgpath, sizeof cfgpath, "%s/duegate.json", dir);
    snprintf(text, sizeof text,
             "{\"daemon\": {\"templates_dir\": \".\"},\n"
             " \"templates\": {\"default_locale\": \"en\", \"sms_max_segments\": 2}}\n");
    tdir_put(dir, "duegate.json", text);
    assert_int_equal(dg_config_load(cfgpath, &cfg, err, sizeof err), 0);
    picked = dg_templates_pick_dir(cfg, NULL);
    assert_non_null(strstr(picked, dir));
    free(picked);
    picked = dg_templates_pick_dir(cfg, "/elsewhere");
    assert_string_equal(picked, "/elsewhere");
    free(picked);
    assert_int_equal(dg_templates_load_config(cfg, NULL, NULL, NULL, &t, err, sizeof err), 0);
    assert_int_equal(dg_templates_sms_max_segments(t), 2);
    assert_string_equal(dg_templates_default_locale(t), "en");
    dg_templates_free(t);
    dg_config_free(cfg);
    tdir_put(dir, "duegate.json", "{\"templates\": {\n  \"sms_max_segment\": 2}}\n");
    assert_int_equal(dg_config_load(cfgpath, &cfg, err, sizeof err), 0);
    assert_int_equal(dg_templates_load_config(cfg, dir, NULL, NULL, &t, err, sizeof err),
                     DG_ECONFIG);
    assert_non_null(strstr(err, "duegate.json:2: templates.sms_max_segment: unknown key"));
    dg_config_free(cfg);
    tdir_rm(dir);
    free(dir);
}

static void test_locale_negotiation(void **state)
{
    static const char *const L[] = {"en", "es", "pt", "zh-CN"};
    char *dir = tdir_make(L, 4);
    dg_templates *t = NULL;
    char err[1024];
    (void)state;
    assert_int_equal(dg_templates_load(dir, NULL, &t, err, sizeof err), 0);
    assert_string_equal(dg_templates_negotiate(t, "pt-BR"), "pt");
    assert_string_equal(dg_templates_negotiate(t, "pt_BR"), "pt");
    assert_string_equal(dg_templates_negotiate(t, "es-419"), "es");
    assert_string_equal(dg_templates_negotiate(t, "ZH-cn"), "zh-CN");
    assert_string_equal(dg_templates_negotiate(t, "zh-Hans-CN"), "zh-CN");
    assert_string_equal(dg_templates_negotiate(t, "zh-TW"), "zh-CN");
    assert_string_equal(dg_templates_negotiate(t, "fr-FR"), "en");
    assert_string_equal(dg_templates_negotiate(t, NULL), "en");
    assert_string_equal(dg_templates_negotiate(t, ""), "en");
    dg_templates_free(t);
    /* the configured default */
    assert_int_equal(dg_templates_load(dir, "es", &t, err, sizeof err), 0);
    assert_string_equal(dg_templates_negotiate(t, "fr-FR"), "es");
    assert_string_equal(dg_templates_negotiate(t, "pt-PT"), "pt");
    dg_templates_free(t);
    assert_int_equal(dg_templates_load(dir, "de", &t, err, sizeof err), DG_EINVAL);
    assert_non_null(strstr(err, "default locale 'de' is not one of the declared locales"));
    tdir_rm(dir);
    free(dir);
}

static void test_html_escaping_of_customer_values(void **state)
{
    char *dir = tdir_make(EN, 1);
    dg_templates *t = NULL;
    dg_msg_facts f = base_facts("en");
    dg_rendered r;
    char err[1024];
    (void)state;
    f.first_name = "<b>&\"";
    f.pay_link = "https://shop.example.com/pay?a=1&b=2";
    assert_int_equal(dg_templates_load(dir, NULL, &t, err, sizeof err), 0);
    assert_int_equal(dg_templates_render(t, "t/one", "email", &f, &r, err, sizeof err), 0);
    assert_string_equal(r.html,
                        "<p>Hi &lt;b&gt;&amp;&quot;,</p>\n"
                        "<p><a href=\"https://shop.example.com/pay?a=1&amp;b=2\">Pay</a></p>");
    assert_string_equal(r.text, "Hi <b>&\",\nLinen dress (M, blue) x1");
    assert_string_equal(r.subject, "Order #1001");
    dg_rendered_clear(&r);
    /* a link that is not http(s) is never rendered */
    f.pay_link = "javascript:alert(1)";
    assert_int_equal(dg_templates_render(t, "t/one", "email", &f, &r, err, sizeof err), DG_EINVAL);
    assert_non_null(strstr(err, "not an http(s) URL"));
    dg_templates_free(t);
    tdir_rm(dir);
    free(dir);
}

static void test_sms_cap_and_render_errors(void **state)
{
    char *dir = tdir_make(EN, 1);
    dg_templates *t = NULL;
    dg_msg_facts f = base_facts("en");
    dg_rendered r;
    char err[1024], items[400];
    (void)state;
    memset(items, 'x', sizeof items - 1);
    items[sizeof items - 1] = '\0';
    tdir_put(dir, "t/one/sms.en.txt", "{{order.items}} {{pay_link}}\n");
    assert_int_equal(dg_templates_load(dir, NULL, &t, err, sizeof err), 0);
    f.items_summary = items; /* 399 + 1 + 40 = 440 septets: 3 segments */
    assert_int_equal(dg_templates_render(t, "t/one", "sms", &f, &r, err, sizeof err), 0);
    assert_int_equal(r.sms_segments, 3);
    assert_int_equal(r.sms_ucs2, 0);
    assert_string_equal(r.locale, "en");
    dg_rendered_clear(&r);
    dg_templates_set_sms_max_segments(t, 2);
    assert_int_equal(dg_templates_render(t, "t/one", "sms", &f, &r, err, sizeof err), DG_EINVAL);
    assert_non_null(strstr(err, "the SMS needs 3 segments (GSM-7, 440 septets), the cap is 2"));
    assert_null(r.text);
    assert_int_equal(dg_templates_render(t, "t/nope", "sms", &f, &r, err, sizeof err),
                     DG_ENOTFOUND);
    assert_int_equal(dg_templates_render(t, "t/one", "fax", &f, &r, err, sizeof err), DG_ENOTFOUND);
    f.currency = "XX";
    assert_int_equal(dg_templates_render(t, "t/one", "sms", &f, &r, err, sizeof err), DG_EINVAL);
    f = base_facts("en");
    f.pay_link = NULL;
    assert_int_equal(dg_templates_render(t, "t/one", "sms", &f, &r, err, sizeof err), DG_EINVAL);
    assert_non_null(strstr(err, "sms.en.txt:1: {{pay_link}} has no value"));
    dg_templates_free(t);
    tdir_rm(dir);
    free(dir);
}

static void test_formatting_follows_customer_locale(void **state)
{
    static const char *const L[] = {"en", "es"};
    char *dir = tdir_make(L, 2);
    dg_templates *t = NULL;
    dg_msg_facts f = base_facts("de-DE");
    dg_rendered r;
    char err[1024];
    (void)state;
    tdir_put(dir, "t/one/whatsapp.en.txt",
             "{{order.amount}} | {{order.deadline}} | {{case.days_left_text}}\n");
    tdir_put(dir, "t/one/whatsapp.es.txt",
             "{{order.amount}} | {{order.deadline}} | {{case.days_left_text}}\n");
    assert_int_equal(dg_templates_load(dir, NULL, &t, err, sizeof err), 0);
    f.deadline_ms = DEADLINE;
    f.now_ms = DEADLINE - 2 * DAY;
    /* de-DE negotiates to en: English text, English formats */
    assert_int_equal(dg_templates_render(t, "t/one", "whatsapp", &f, &r, err, sizeof err), 0);
    assert_string_equal(r.locale, "en");
    assert_string_equal(r.text,
                        "\xe2\x82\xac"
                        "1,234.56 | Monday, October 26 at 11:59\xe2\x80\xafPM GMT+8 | 2 days");
    dg_rendered_clear(&r);
    /* es-MX keeps its regional formats inside the es template */
    f.locale = "es-MX";
    f.currency = "MXN";
    f.tz = "America/Mexico_City";
    assert_int_equal(dg_templates_render(t, "t/one", "whatsapp", &f, &r, err, sizeof err), 0);
    assert_string_equal(r.locale, "es");
    assert_string_equal(r.text, "$1,234.56 | lunes, 26 de octubre, 09:59 GMT-6 | 2 d\xc3\xad"
                                "as");
    dg_rendered_clear(&r);
    dg_templates_free(t);
    tdir_rm(dir);
    free(dir);
}

/* ------------------------------------------------------------------ CLI */

static int run_cli(char *const argv[], char *out, size_t len)
{
    int p[2], status = 0;
    size_t n = 0;
    ssize_t k;
    pid_t pid;
    assert_int_equal(pipe(p), 0);
    pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        dup2(p[1], 1);
        dup2(p[1], 2);
        close(p[0]);
        close(p[1]);
        execv(argv[0], argv);
        _exit(127);
    }
    close(p[1]);
    while (n + 1 < len && (k = read(p[0], out + n, len - n - 1)) > 0)
        n += (size_t)k;
    out[n] = '\0';
    close(p[0]);
    waitpid(pid, &status, 0);
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static void test_cli_lint_and_render(void **state)
{
    const char *b = getenv("DG_TOP_BUILDDIR");
    char bin[4096], tdir[4096], order[4096], out[16384];
    char *dir = tdir_make(EN, 1);
    (void)state;
    snprintf(bin, sizeof bin, "%s/duegate", b ? b : ".");
    snprintf(tdir, sizeof tdir, "%s/templates", srcdir());
    snprintf(order, sizeof order, "%s/examples/order-presale.json", srcdir());
    {
        char *argv[] = {bin, "templates", "lint", "--templates", tdir, NULL};
        assert_int_equal(run_cli(argv, out, sizeof out), 0);
        assert_non_null(strstr(out, "templates x 3 locales (default en) OK"));
    }
    {
        char *argv[] = {bin,          "templates",      "render",    "--templates", tdir,
                        "--template", "presale/gentle", "--channel", "sms",         "--locale",
                        "es-ES",      "--order",        order,       NULL};
        assert_int_equal(run_cli(argv, out, sizeof out), 0);
        assert_non_null(strstr(out, "locale: es (asked for es-ES)"));
        assert_non_null(strstr(out, "#1001"));
        assert_non_null(strstr(out, "https://shop.example.com/pay/1001?k=7f3a"));
        assert_non_null(strstr(out, "1234,56 \xe2\x82\xac")); /* NBSP made plain for SMS */
    }
    {
        char *argv[] = {bin,
                        "templates",
                        "render",
                        "--templates",
                        tdir,
                        "--template",
                        "presale/formal-due",
                        "--channel",
                        "whatsapp",
                        "--order",
                        order,
                        NULL};
        assert_int_equal(run_cli(argv, out, sizeof out), 0);
        assert_non_null(strstr(out, "approved template dg_presale_formal_due (en)"));
        assert_non_null(strstr(out, "button 0 url suffix = pay/1001?k=7f3a"));
    }
    /* lint renders every message: a tighter SMS cap from the configuration shows */
    {
        char cfg[8400], text[8600];
        snprintf(cfg, sizeof cfg, "%s/cap.json", dir);
        snprintf(text, sizeof text,
                 "{\"daemon\": {\"templates_dir\": \"%s\"},\n"
                 " \"templates\": {\"sms_max_segments\": 1}}\n",
                 tdir);
        tdir_put(dir, "cap.json", text);
        char *argv[] = {bin, "templates", "lint", "-c", cfg, NULL};
        assert_int_equal(run_cli(argv, out, sizeof out), 1);
        assert_non_null(strstr(out, "presale/gentle (sms, en, sample order): "));
        assert_non_null(strstr(out, "the cap is 1"));
    }
    /* a broken set: every problem listed, exit status 1 */
    tdir_put(dir, "t/one/sms.en.txt", "hurry {{pay_link}}\n");
    tdir_put(dir, "t/one/email.en.txt", "{{nope}}\n");
    {
        char *argv[] = {bin, "templates", "lint", "--templates", dir, NULL};
        assert_int_equal(run_cli(argv, out, sizeof out), 1);
        assert_non_null(strstr(out, "sms.en.txt:1: tone: forbidden 'hurry'"));
        assert_non_null(strstr(out, "email.en.txt:1: unknown variable 'nope'"));
        assert_non_null(strstr(out, "2 problem(s)"));
    }
    tdir_rm(dir);
    free(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_shipped_templates_render_everywhere),
        cmocka_unit_test(test_segment_variants_change_words),
        cmocka_unit_test(test_whatsapp_mapping_rendered),
        cmocka_unit_test(test_promise_date_and_refund_period),
        cmocka_unit_test(test_planted_forbidden_word_rejected),
        cmocka_unit_test(test_cjk_and_spanish_rules),
        cmocka_unit_test(test_load_errors_name_file_and_line),
        cmocka_unit_test(test_whatsapp_param_count_mismatch),
        cmocka_unit_test(test_whatsapp_named_params_and_url_prefix),
        cmocka_unit_test(test_config_section),
        cmocka_unit_test(test_locale_negotiation),
        cmocka_unit_test(test_html_escaping_of_customer_values),
        cmocka_unit_test(test_sms_cap_and_render_errors),
        cmocka_unit_test(test_formatting_follows_customer_locale),
        cmocka_unit_test(test_cli_lint_and_render),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
