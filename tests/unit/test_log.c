#include "cm.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"

static char *capture(void (*fn)(void))
{
    static char *buf;
    static size_t len;
    FILE *f = open_memstream(&buf, &len);
    dg_log_set_stream(f);
    fn();
    fclose(f);
    dg_log_set_stream(NULL);
    return buf;
}

static void emit_masked(void)
{
    dg_kv kv[] = {{"phone", "+14155550123", DG_KV_PHONE},
                  {"email", "jane.doe@example.com", DG_KV_EMAIL},
                  {"token", "EAAG-super-secret", DG_KV_SECRET},
                  {"reply", "I will pay on Friday", DG_KV_TEXT},
                  {"note", "two words", DG_KV_PLAIN}};
    dg_log(DG_LOG_INFO, "whatsapp_main", "send_ok", kv, 5);
}

static void test_line_format_and_masking(void **state)
{
    (void)state;
    char *out = capture(emit_masked);
    assert_non_null(out);
    /* ts level component event k=v..., one line */
    assert_non_null(strstr(out, "Z info whatsapp_main send_ok "));
    assert_null(strstr(out, "4155550123"));
    assert_non_null(strstr(out, "phone=+14******123"));
    assert_null(strstr(out, "jane.doe"));
    assert_non_null(strstr(out, "email=j***@example.com"));
    assert_null(strstr(out, "super-secret"));
    assert_non_null(strstr(out, "token=[redacted]"));
    assert_null(strstr(out, "Friday"));
    assert_non_null(strstr(out, "reply=\"[20 bytes]\""));
    assert_non_null(strstr(out, "note=\"two words\""));
    assert_int_equal(strchr(out, '\n') - out + 1, (long)strlen(out));
    free(out);
}

static void emit_debug(void) { dg_logf(DG_LOG_DEBUG, "core", "hidden", "k", "v", NULL); }

static void test_level_threshold(void **state)
{
    (void)state;
    dg_log_level l;
    char *out;
    dg_log_set_level(DG_LOG_INFO);
    out = capture(emit_debug);
    assert_string_equal(out, "");
    free(out);
    dg_log_set_level(DG_LOG_DEBUG);
    out = capture(emit_debug);
    assert_non_null(strstr(out, "debug core hidden k=v"));
    free(out);
    dg_log_set_level(DG_LOG_INFO);
    assert_int_equal(dg_log_parse_level("warn", &l), 0);
    assert_int_equal(l, DG_LOG_WARN);
    assert_int_not_equal(dg_log_parse_level("loud", &l), 0);
}

static void emit_newline(void)
{
    dg_kv kv[] = {{"v", "a\nb\"c", DG_KV_PLAIN}};
    dg_log(DG_LOG_WARN, "core", "x", kv, 1);
}

static void test_values_cannot_break_lines(void **state)
{
    (void)state;
    char *out = capture(emit_newline);
    assert_non_null(strstr(out, "v=\"a\\x0ab\\\"c\""));
    assert_int_equal(strchr(out, '\n') - out + 1, (long)strlen(out));
    free(out);
}

static void test_mask_short_values(void **state)
{
    (void)state;
    char buf[64];
    dg_mask_phone("+123", buf, sizeof buf);
    assert_string_equal(buf, "****");
    dg_mask_email("nobody", buf, sizeof buf);
    assert_string_equal(buf, "***");
    dg_mask_email(NULL, buf, sizeof buf);
    assert_string_equal(buf, "***");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_line_format_and_masking),
        cmocka_unit_test(test_level_threshold),
        cmocka_unit_test(test_values_cannot_break_lines),
        cmocka_unit_test(test_mask_short_values),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
