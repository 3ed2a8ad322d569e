/* The template syntax, SMS measurement and ICU formatting, unit by unit. */
#include "../unit/cm.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <duegate/types.h>

#include "intl.h"
#include "sms_text.h"
#include "tmpl_syntax.h"

#define NNBSP "\xe2\x80\xaf" /* U+202F narrow no-break space */
#define NBSP "\xc2\xa0"      /* U+00A0 no-break space */

static int known(void *ud, const char *name)
{
    (void)ud;
    return strcmp(name, "name") == 0 || strcmp(name, "coupon") == 0 || strcmp(name, "empty") == 0 ||
           strcmp(name, "zero") == 0;
}

static const char *get(void *ud, const char *name)
{
    (void)ud;
    if (strcmp(name, "name") == 0)
        return "Ana";
    if (strcmp(name, "coupon") == 0)
        return "GIFT5";
    if (strcmp(name, "zero") == 0)
        return "0";
    return NULL;
}

static char *render(const char *src, int html)
{
    dg_tnode *n = NULL;
    dg_sbuf b = {0};
    char err[256] = "";
    int rc = dg_tmpl_parse(src, "t.txt", known, NULL, &n, err, sizeof err);
    if (rc)
        fprintf(stderr, "%s\n", err);
    assert_int_equal(rc, 0);
    rc = dg_tmpl_render(n, "t.txt", get, NULL, html, &b, err, sizeof err);
    if (rc)
        fprintf(stderr, "%s\n", err);
    assert_int_equal(rc, 0);
    dg_tmpl_free(n);
    return dg_sbuf_take(&b);
}

static void expect_render(const char *src, const char *want)
{
    char *got = render(src, 0);
    if (strcmp(got, want))
        fprintf(stderr, "src:  %s\ngot:  [%s]\nwant: [%s]\n", src, got, want);
    assert_string_equal(got, want);
    free(got);
}

static void test_variables_sections_fallbacks(void **state)
{
    (void)state;
    expect_render("Hi {{name}}!", "Hi Ana!");
    expect_render("Hi {{ name }}.", "Hi Ana.");
    expect_render("Hi {{empty|there}}.", "Hi there.");
    expect_render("Hi {{name|there}}.", "Hi Ana.");
    expect_render("a{{#coupon}} code {{coupon}}{{/coupon}}b", "a code GIFT5b");
    expect_render("a{{#empty}} never{{/empty}}b", "ab");
    expect_render("a{{#zero}} never{{/zero}}b", "ab");
    expect_render("a{{^empty}} shown{{/empty}}b", "a shownb");
    expect_render("a{{^coupon}} hidden{{/coupon}}b", "ab");
    expect_render("x{{! a comment }}y", "xy");
    /* a section tag alone on its line takes the line with it */
    expect_render("line1\n{{#coupon}}\ncode {{coupon}}\n{{/coupon}}\nline2\n",
                  "line1\ncode GIFT5\nline2\n");
    expect_render("line1\n  {{#empty}}  \nhidden\n{{/empty}}\nline2", "line1\nline2");
    /* nesting */
    expect_render("{{#coupon}}[{{#name}}{{name}}{{/name}}{{^empty}}!{{/empty}}]{{/coupon}}",
                  "[Ana!]");
}

static void expect_parse_error(const char *src, const char *want)
{
    dg_tnode *n = NULL;
    char err[256] = "";
    int rc = dg_tmpl_parse(src, "dir/sms.en.txt", known, NULL, &n, err, sizeof err);
    assert_int_equal(rc, DG_EINVAL);
    assert_null(n);
    if (!strstr(err, want))
        fprintf(stderr, "got: %s\nwant: %s\n", err, want);
    assert_non_null(strstr(err, want));
}

static void test_syntax_errors_name_line(void **state)
{
    (void)state;
    expect_parse_error("Hi\n{{#coupon}}\ncode",
                       "dir/sms.en.txt:2: section 'coupon' is never closed");
    expect_parse_error("a\nb\nHi {{nmae}}", "dir/sms.en.txt:3: unknown variable 'nmae'");
    expect_parse_error(
        "{{#coupon}}\n{{/name}}",
        "dir/sms.en.txt:2: {{/name}} does not match section 'coupon' opened at line 1");
    expect_parse_error("a\n{{/coupon}}", "dir/sms.en.txt:2: {{/coupon}} closes no open section");
    expect_parse_error("a\n\n\nHi {{name", "dir/sms.en.txt:4: '{{' is never closed");
    expect_parse_error("{{{name}}}", "dir/sms.en.txt:1: '{{{' is not part of the template syntax");
    expect_parse_error("x {{}}", "dir/sms.en.txt:1: empty tag");
    expect_parse_error("x {{na me}}", "bad variable name");
    expect_parse_error("x {{name\n}}", "dir/sms.en.txt:1: a tag must fit on one line");
}

static void test_missing_value_is_an_error(void **state)
{
    dg_tnode *n = NULL;
    dg_sbuf b = {0};
    char err[256] = "";
    (void)state;
    assert_int_equal(dg_tmpl_parse("ok\nHi {{empty}}", "f.txt", known, NULL, &n, err, sizeof err),
                     0);
    assert_int_equal(dg_tmpl_render(n, "f.txt", get, NULL, 0, &b, err, sizeof err), DG_EINVAL);
    assert_string_equal(err, "f.txt:2: {{empty}} has no value for this message");
    free(dg_sbuf_take(&b));
    dg_tmpl_free(n);
}

static void test_html_escaping(void **state)
{
    dg_sbuf b = {0};
    char *s;
    (void)state;
    dg_sbuf_add_html(&b, "<b>&\"'");
    s = dg_sbuf_take(&b);
    assert_string_equal(s, "&lt;b&gt;&amp;&quot;&#39;");
    free(s);
    s = dg_tmpl_literal_view("Hi {{name|there}}, {{#coupon}}x{{/coupon}}");
    assert_string_equal(s, "Hi        there  ,            x           ");
    free(s);
}

/* ----------------------------------------------------------------- SMS */

static char *rep(const char *unit, int n, const char *tail)
{
    size_t ul = strlen(unit);
    char *s = malloc(ul * (size_t)n + strlen(tail) + 1), *p = s;
    for (int i = 0; i < n; i++, p += ul)
        memcpy(p, unit, ul);
    strcpy(p, tail);
    return s;
}

static void expect_sms(char *text, int ucs2, size_t units, int segments)
{
    dg_sms_info i;
    assert_int_equal(dg_sms_measure(text, &i), 0);
    assert_int_equal(i.ucs2, ucs2);
    assert_int_equal(i.units, units);
    assert_int_equal(i.segments, segments);
    free(text);
}

static void test_sms_gsm7_segments(void **state)
{
    (void)state;
    expect_sms(rep("a", 0, ""), 0, 0, 0);
    expect_sms(rep("a", 160, ""), 0, 160, 1);
    expect_sms(rep("a", 161, ""), 0, 161, 2);
    expect_sms(rep("a", 306, ""), 0, 306, 2);
    expect_sms(rep("a", 307, ""), 0, 307, 3);
    /* GSM 03.38 basic set beyond ASCII: one septet each */
    expect_sms(strdup("\xc3\xa9\xc3\xa8\xc3\xb1\xc3\x91\xc3\xbc\xc3\x9f\xc2\xa3\xce\x94"), 0, 8, 1);
    /* extension table: two septets each */
    expect_sms(rep("\xe2\x82\xac", 80, ""), 0, 160, 1); /* 80 x EUR sign */
    expect_sms(rep("{", 81, ""), 0, 162, 2);
    expect_sms(strdup("[]{}~^|\\"), 0, 16, 1);
    /* an extension character never straddles two segments: 152 + (2) + 152 */
    expect_sms(rep("a", 152, "\xe2\x82\xac"), 0, 154, 1);
    {
        char *s = rep("a", 152, "\xe2\x82\xac"), *t = rep("a", 152, "");
        char *u = malloc(strlen(s) + strlen(t) + 1);
        strcpy(u, s);
        strcat(u, t);
        free(s);
        free(t);
        expect_sms(u, 0, 306, 3); /* 152 | EUR+151 | 1 */
    }
}

static void test_sms_ucs2_segments(void **state)
{
    (void)state;
    expect_sms(rep("\xe4\xb8\xad", 70, ""), 1, 70, 1); /* 70 x CJK */
    expect_sms(rep("\xe4\xb8\xad", 71, ""), 1, 71, 2);
    expect_sms(rep("\xe4\xb8\xad", 134, ""), 1, 134, 2);
    expect_sms(rep("\xe4\xb8\xad", 135, ""), 1, 135, 3);
    /* one non-GSM character turns the whole text into UCS-2 */
    expect_sms(rep("a", 69, "\xc3\xa1"), 1, 70, 1); /* a-acute is not GSM */
    expect_sms(rep("a", 70, "`"), 1, 71, 2);
    /* outside the BMP: a surrogate pair, 2 units, never split */
    expect_sms(rep("a", 68, "\xf0\x9f\x99\x82"), 1, 70, 1);
    expect_sms(rep("a", 66, "\xf0\x9f\x99\x82"), 1, 68, 1);
    expect_sms(rep("a", 69, "\xf0\x9f\x99\x82"), 1, 71, 2);
    {
        dg_sms_info i;
        assert_int_equal(dg_sms_measure("bad \xc3", &i), DG_EINVAL);
        assert_int_equal(dg_sms_measure("overlong \xc0\xaf", &i), DG_EINVAL);
    }
}

static void test_sms_normalize_spaces(void **state)
{
    char *s;
    dg_sms_info i;
    (void)state;
    s = dg_sms_normalize("11:59" NNBSP "PM 1.234,56" NBSP "\xe2\x82\xac");
    assert_string_equal(s, "11:59 PM 1.234,56 \xe2\x82\xac");
    assert_int_equal(dg_sms_measure(s, &i), 0);
    assert_int_equal(i.ucs2, 0);
    free(s);
}

/* ---------------------------------------------------------------- ICU */

static void expect_money(const char *loc, int64_t minor, const char *cur, const char *want)
{
    char b[128];
    assert_int_equal(dg_intl_money(loc, minor, cur, b, sizeof b), 0);
    if (strcmp(b, want))
        fprintf(stderr, "%s %s: got [%s] want [%s]\n", loc, cur, b, want);
    assert_string_equal(b, want);
}

static void expect_date(const char *loc, const char *tz, int64_t ms, const char *want)
{
    char b[128];
    assert_int_equal(dg_intl_datetime(loc, tz, ms, b, sizeof b), 0);
    if (strcmp(b, want))
        fprintf(stderr, "%s %s: got [%s] want [%s]\n", loc, tz, b, want);
    assert_string_equal(b, want);
}

/* dg_intl_datetime keeps the formats of the last 16 (locale, zone) pairs:
 * more pairs than that, each formatted twice in a rotating order, give the
 * same text as the first time (eviction never serves another pair's format). */
static void test_date_format_cache(void **state)
{
    static const char *const locs[] = {"en-US", "de-DE", "es-ES", "zh-CN", "pt-BR"};
    static const char *const tzs[] = {"UTC", "America/New_York", "Asia/Shanghai",
                                      "Europe/Madrid", "America/Sao_Paulo"};
    char first[25][128], again[128];
    (void)state;
    for (int round = 0; round < 3; round++)
        for (int i = 0; i < 25; i++) {
            int k = (i * 7 + round * 3) % 25;
            char *out = round == 0 ? first[k] : again;
            assert_int_equal(dg_intl_datetime(locs[k % 5], tzs[k / 5], INT64_C(1772550000000), out,
                                              128),
                             0);
            if (round)
                assert_string_equal(again, first[k]);
        }
    assert_string_not_equal(first[0], first[1]);
}

/* The exact strings ICU (72) produces, no-break spaces included. */
static void test_money_formats(void **state)
{
    char b[8];
    (void)state;
    expect_money("en-US", 123456, "EUR",
                 "\xe2\x82\xac"
                 "1,234.56");
    expect_money("en-US", 123456, "USD", "$1,234.56");
    expect_money("de-DE", 123456, "EUR", "1.234,56" NBSP "\xe2\x82\xac");
    expect_money("es-ES", 123456, "EUR", "1234,56" NBSP "\xe2\x82\xac");
    expect_money("es-ES", 12345678, "EUR", "123.456,78" NBSP "\xe2\x82\xac");
    expect_money("zh-CN", 123456, "CNY",
                 "\xc2\xa5"
                 "1,234.56");
    expect_money("zh-CN", 123456, "EUR",
                 "\xe2\x82\xac"
                 "1,234.56");
    expect_money("pt-BR", 123456, "BRL", "R$" NBSP "1.234,56");
    expect_money("pt-BR", 123456, "EUR", "\xe2\x82\xac" NBSP "1.234,56");
    expect_money("ja-JP", 1234, "JPY",
                 "\xef\xbf\xa5"
                 "1,234"); /* no minor unit */
    expect_money("en-US", 5, "EUR",
                 "\xe2\x82\xac"
                 "0.05");
    assert_int_equal(dg_intl_money("en-US", 1, "eur", b, sizeof b), DG_EINVAL);
    assert_int_equal(dg_intl_money("en-US", 1, "EURO", b, sizeof b), DG_EINVAL);
    assert_int_equal(dg_intl_money("en-US", 123456, "EUR", b, 4), DG_ENOMEM);
}

static void test_date_formats(void **state)
{
    const int64_t t = 1793030340000LL; /* 2026-10-26T15:59:00Z */
    char b[64];
    int64_t d;
    (void)state;
    expect_date("en-US", "Asia/Shanghai", t, "Monday, October 26 at 11:59" NNBSP "PM GMT+8");
    expect_date("en-US", "America/New_York", t, "Monday, October 26 at 11:59" NNBSP "AM EDT");
    expect_date("de-DE", "Asia/Shanghai", t, "Montag, 26. Oktober um 23:59 GMT+8");
    expect_date("es-ES", "Asia/Shanghai", t, "lunes, 26 de octubre, 23:59 GMT+8");
    expect_date("zh-CN", "Asia/Shanghai", t,
                "10\xe6\x9c\x88"
                "26\xe6\x97\xa5\xe6\x98\x9f\xe6\x9c\x9f\xe4\xb8\x80 GMT+8 23:59");
    expect_date("pt-BR", "America/Sao_Paulo", t,
                "segunda-feira, 26 de outubro \xc3\xa0s 12:59 BRT");
    /* unknown or missing zone: UTC, and it says so */
    expect_date("en-GB", "Mars/Olympus", t, "Monday, 26 October at 15:59 UTC");
    expect_date("en-GB", NULL, t, "Monday, 26 October at 15:59 UTC");
    assert_int_equal(dg_intl_duration("en", "day", 1, b, sizeof b), 0);
    assert_string_equal(b, "1 day");
    assert_int_equal(dg_intl_duration("es", "day", 3, b, sizeof b), 0);
    assert_string_equal(b, "3 d\xc3\xad"
                           "as");
    assert_int_equal(dg_intl_duration("zh-CN", "hour", 48, b, sizeof b), 0);
    assert_string_equal(b, "48\xe5\xb0\x8f\xe6\x97\xb6");
    assert_int_equal(dg_intl_duration("en", "week", 1, b, sizeof b), DG_EINVAL);
    /* refund periods: the plural follows the number, per language */
    assert_int_equal(dg_intl_business_days("en-US", 1, b, sizeof b), 0);
    assert_string_equal(b, "1 business day");
    assert_int_equal(dg_intl_business_days("en-US", 5, b, sizeof b), 0);
    assert_string_equal(b, "5 business days");
    assert_int_equal(dg_intl_business_days("es-ES", 1, b, sizeof b), 0);
    assert_string_equal(b, "1 d\xc3\xad" "a h\xc3\xa1" "bil");
    assert_int_equal(dg_intl_business_days("es-MX", 7, b, sizeof b), 0);
    assert_string_equal(b, "7 d\xc3\xad" "as h\xc3\xa1" "biles");
    assert_int_equal(dg_intl_business_days("zh-CN", 1, b, sizeof b), 0);
    assert_string_equal(b, "1\xe4\xb8\xaa\xe5\xb7\xa5\xe4\xbd\x9c\xe6\x97\xa5");
    assert_int_equal(dg_intl_business_days("en", 3, b, 4), DG_ENOMEM);
    assert_int_equal(dg_intl_business_days("en", -1, b, sizeof b), DG_EINVAL);
    /* calendar days in the customer's zone: 23:30 local and 00:30 the next day */
    assert_int_equal(dg_intl_day_diff("Asia/Shanghai", t - 30 * 60000LL, t + 30 * 60000LL, &d), 0);
    assert_int_equal(d, 1);
    assert_int_equal(dg_intl_day_diff("UTC", t - 30 * 60000LL, t + 30 * 60000LL, &d), 0);
    assert_int_equal(d, 0);
    assert_true(dg_intl_locale_ok("pt-BR"));
    assert_true(dg_intl_locale_ok("zh-Hans-CN"));
    assert_false(dg_intl_locale_ok(""));
    assert_false(dg_intl_locale_ok("!!"));
    assert_true(dg_intl_zone_known("Europe/Berlin"));
    assert_false(dg_intl_zone_known("Europe/Nowhere"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_variables_sections_fallbacks),
        cmocka_unit_test(test_syntax_errors_name_line),
        cmocka_unit_test(test_missing_value_is_an_error),
        cmocka_unit_test(test_html_escaping),
        cmocka_unit_test(test_sms_gsm7_segments),
        cmocka_unit_test(test_sms_ucs2_segments),
        cmocka_unit_test(test_sms_normalize_spaces),
        cmocka_unit_test(test_money_formats),
        cmocka_unit_test(test_date_formats),
        cmocka_unit_test(test_date_format_cache),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
