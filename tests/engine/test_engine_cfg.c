/* Engine configuration, time zones and `duegate simulate`. */
#include "efix.h"

static int64_t iso(const char *s)
{
    int64_t t;
    assert_int_equal(dg_parse_iso8601(s, &t), 0);
    return t;
}

/* SMS legal window: US SMS never before 08:00 or after 21:00 local, and
 * config can tighten it but not loosen it. */
static void test_sms_window_and_config(void **state)
{
    static const char *bad = "{\"quiet_hours\": {\"sms\": {\"US\": \"07:00-21:00\"}}}";
    static const char *bad2 =
        "{\"playbooks\": {\"presale_balance\": {\"steps\": [{\"stage\": \"gentle\","
        " \"template\": \"presale/gentle\", \"offset\": \"-5d\"}]}}}";
    dg_config *cfg;
    dg_engine_cfg ec;
    char err[512];
    dg_zones z = {{"America/Los_Angeles"}, 1, "hint"};
    dg_window w;
    (void)state;
    assert_int_equal(dg_config_parse("/x/c.json", bad, &cfg, err, sizeof err), 0);
    assert_int_equal(dg_engine_cfg_load(cfg, &ec, err, sizeof err), DG_ECONFIG);
    assert_non_null(strstr(err, "quiet_hours.sms.US"));
    assert_non_null(strstr(err, "never loosen"));
    dg_config_free(cfg);
    assert_int_equal(dg_config_parse("/x/c.json", bad2, &cfg, err, sizeof err), 0);
    assert_int_equal(dg_engine_cfg_load(cfg, &ec, err, sizeof err), DG_ECONFIG);
    assert_non_null(strstr(err, "playbooks.presale_balance.steps[0].offset"));
    dg_config_free(cfg);
    assert_int_equal(dg_engine_cfg_load(NULL, &ec, err, sizeof err), 0);
    w = dg_engine_cfg_sms_window(&ec, "US");
    /* 21:30 PST -> next opening 08:00 PST */
    assert_int_equal(dg_sched_next_open(&z, w, iso("2026-02-03T05:30:00Z")),
                     iso("2026-02-03T16:00:00Z"));
}

static void test_tz_resolve(void **state)
{
    dg_zones z;
    (void)state;
    dg_tz_resolve("Europe/Berlin", "US", "CA", "+1415", "UTC", &z);
    assert_string_equal(z.z[0], "Europe/Berlin");
    dg_tz_resolve("Not/AZone", "US", "CA", NULL, "UTC", &z);
    assert_string_equal(z.z[0], "America/Los_Angeles");
    dg_tz_resolve(NULL, "AU", "NSW", NULL, "UTC", &z);
    assert_string_equal(z.z[0], "Australia/Sydney");
    dg_tz_resolve(NULL, NULL, NULL, "+8613800000000", "UTC", &z);
    assert_string_equal(z.z[0], "Asia/Shanghai");
    assert_string_equal(z.source, "phone");
    dg_tz_resolve(NULL, "US", NULL, NULL, "UTC", &z);
    assert_true(z.n > 3);
    dg_tz_resolve(NULL, NULL, NULL, NULL, "Europe/Paris", &z);
    assert_string_equal(z.z[0], "Europe/Paris");
    /* Unknown US zone: golden hours do not intersect across the country, so
     * the first hour that is day everywhere: 09:00 in Honolulu = 19:00Z. */
    {
        dg_window ws[3] = {{540, 660}, {540, 1260}, {480, 1260}};
        int used = -1;
        dg_tz_resolve(NULL, "US", NULL, NULL, "UTC", &z);
        assert_int_equal(dg_sched_next_open_multi(&z, ws, 3, iso("2026-06-01T02:00:00Z"), &used),
                         iso("2026-06-01T19:00:00Z"));
        assert_int_equal(used, 1);
    }
}

static void test_config_paths(void **state)
{
    static const struct {
        const char *json, *path;
    } bad[] = {
        {"{\"playbooks\": {\"vip\": {\"flow\": \"presale_balance\", \"steps\": [{\"stage\": \"a\","
         " \"template\": \"t\", \"colour\": 1}]}}}",
         "playbooks.vip.steps[0].colour"},
        {"{\"engine\": {\"golden_hours\": \"11:00-09:00\"}}", "engine.golden_hours"},
        {"{\"engine\": {\"store_tz\": \"Mars/Olympus\"}}", "engine.store_tz"},
        {"{\"segments\": {\"vip\": {}}}", "segments.vip"},
        {"{\"engine\": {\"retry\": {\"max_attempts\": 0}}}", "engine.retry.max_attempts"},
        {"{\"playbooks\": {\"x\": {\"steps\": [{\"stage\": \"a\", \"template\": \"t\"}]}}}",
         "playbooks.x"},
    };
    char err[512];
    (void)state;
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        dg_config *cfg;
        dg_engine_cfg ec;
        assert_int_equal(dg_config_parse("/x/c.json", bad[i].json, &cfg, err, sizeof err), 0);
        assert_int_equal(dg_engine_cfg_load(cfg, &ec, err, sizeof err), DG_ECONFIG);
        assert_non_null(strstr(err, bad[i].path));
        assert_non_null(strstr(err, "/x/c.json:"));
        dg_config_free(cfg);
    }
    {
        dg_config *cfg;
        dg_engine_cfg ec;
        static const char *good =
            "{\"engine\": {\"max_touches\": 2, \"channel_kinds\": {\"wa2\": \"whatsapp\"}},"
            " \"segments\": {\"high_value\": {\"threshold_minor\": 100, \"coupon\": \"THANKS5\"}},"
            " \"quiet_hours\": {\"night\": \"22:00-07:30\", \"sms\": {\"US\": \"09:00-20:00\"}}}";
        assert_int_equal(dg_config_parse("/x/c.json", good, &cfg, err, sizeof err), 0);
        assert_int_equal(dg_engine_cfg_load(cfg, &ec, err, sizeof err), 0);
        assert_int_equal(ec.max_touches, 2);
        assert_int_equal(ec.awake.start, 7 * 60 + 30);
        assert_int_equal(ec.awake.end, 22 * 60);
        assert_int_equal(dg_engine_cfg_sms_window(&ec, "US").start, 9 * 60);
        assert_int_equal(ec.high_value_minor, 100);
        assert_string_equal(ec.seg[DG_SEG_HIGH_VALUE].coupon, "THANKS5");
        dg_config_free(cfg);
    }
}

/* duegate simulate end to end: files in, timeline out. */
static void test_simulate(void **state)
{
    char dir[] = "/tmp/dg_sim_XXXXXX", cfgp[96], ordp[96], evp[96];
    char *buf = NULL;
    size_t len = 0;
    FILE *out, *f;
    (void)state;
    assert_non_null(mkdtemp(dir));
    snprintf(cfgp, sizeof cfgp, "%s/c.json", dir);
    snprintf(ordp, sizeof ordp, "%s/o.json", dir);
    snprintf(evp, sizeof evp, "%s/e.json", dir);
    f = fopen(cfgp, "w");
    fputs("{\"channels\": {\"wa\": {\"plugin\": \"whatsapp\"}, \"txt\": {\"plugin\": \"twilio\"}}}",
          f);
    fclose(f);
    f = fopen(ordp, "w");
    fputs(
        "[{\"order_id\": \"1001\", \"order_name\": \"#1001\", \"flow\": \"presale_balance\","
        " \"created_at\": \"2026-03-01T10:00:00Z\", \"due_at\": \"2026-03-10T16:00:00Z\","
        " \"amount_minor\": 5000, \"customer\": {\"phone\": \"+12125550100\", \"country\": \"US\","
        " \"province\": \"NY\"}},"
        " {\"order_id\": \"1002\", \"created_at\": \"2026-03-01T10:00:00Z\","
        " \"due_at\": \"2026-03-10T16:00:00Z\", \"customer\": {\"phone\": \"+4915112345678\"}}]",
        f);
    fclose(f);
    f = fopen(evp, "w");
    fputs("[{\"at\": \"2026-03-09T12:00:00Z\", \"order_id\": \"1002\", \"type\": \"paid\"}]", f);
    fclose(f);
    out = open_memstream(&buf, &len);
    assert_int_equal(dg_cmd_simulate(cfgp, ordp, evp, out), 0);
    fclose(out);
    if (getenv("DG_TEST_VERBOSE"))
        fputs(buf, stderr);
    assert_non_null(strstr(buf, "order 1001 (#1001, playbook presale_balance"));
    assert_non_null(strstr(buf, "2026-03-09T13:00:00Z  2026-03-09 09:00 America/New_York"));
    assert_non_null(strstr(buf, "wa(whatsapp)"));
    assert_non_null(strstr(buf, "txt(sms)"));
    assert_non_null(strstr(buf, "presale/final"));
    assert_non_null(strstr(buf, "=> paid"));
    assert_non_null(strstr(buf, "=> expired, 3 touch(es)"));
    free(buf);
    unlink(cfgp), unlink(ordp), unlink(evp), rmdir(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sms_window_and_config),
        cmocka_unit_test(test_tz_resolve),
        cmocka_unit_test(test_config_paths),
        cmocka_unit_test(test_simulate),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
