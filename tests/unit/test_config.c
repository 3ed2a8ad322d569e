#include "cm.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"

static dg_config *parse_ok(const char *text)
{
    dg_config *cfg = NULL;
    char err[512] = "";
    int rc = dg_config_parse("/etc/duegate/test.json", text, &cfg, err, sizeof err);
    if (rc)
        fprintf(stderr, "unexpected error: %s\n", err);
    assert_int_equal(rc, 0);
    return cfg;
}

static void expect_error(const char *text, const char *msg)
{
    dg_config *cfg = NULL;
    char err[512] = "";
    int rc = dg_config_parse("/etc/duegate/test.json", text, &cfg, err, sizeof err);
    assert_int_not_equal(rc, 0);
    assert_null(cfg);
    if (!strstr(err, msg))
        fprintf(stderr, "got: %s\nwant: %s\n", err, msg);
    assert_non_null(strstr(err, msg));
}

static void test_defaults_and_paths(void **state)
{
    (void)state;
    dg_config *cfg = parse_ok("{\"daemon\": {\"plugin_dirs\": [\"plugins\", \"/abs\"],"
                              " \"public_url\": \"https://pay.example.com/\"},"
                              " \"channels\": {\"wa\": {\"plugin\": \"whatsapp\"},"
                              "               \"mail\": {\"plugin\": \"email\", \"enabled\": false}},"
                              " \"stores\": {\"shop\": {\"plugin\": \"shopify\"}}}");
    assert_string_equal(cfg->state_db, "duegate.db");
    assert_string_equal(cfg->listen, "127.0.0.1:8080");
    assert_string_equal(cfg->public_url, "https://pay.example.com");
    assert_int_equal(cfg->shutdown_timeout_ms, 5000);
    assert_int_equal(cfg->max_body_bytes, 1048576);
    assert_int_equal(cfg->n_plugin_dirs, 2);
    assert_string_equal(cfg->plugin_dirs[0], "/etc/duegate/plugins");
    assert_string_equal(cfg->plugin_dirs[1], "/abs");
    assert_int_equal(cfg->n_instances, 3);
    assert_string_equal(dg_config_instance(cfg, "wa")->plugin, "whatsapp");
    assert_int_equal(dg_config_instance(cfg, "mail")->enabled, 0);
    assert_int_equal(dg_config_instance(cfg, "shop")->kind, DG_PLUGIN_STORE);
    assert_int_equal(cfg->clock_mode, DG_CLOCK_REAL);
    dg_config_free(cfg);
    /* the manual clock of the integration tests */
    cfg = parse_ok("{\"daemon\": {\"clock\": {\"mode\": \"manual\","
                   " \"start\": \"2026-03-03T15:00:00Z\"}}}");
    assert_int_equal(cfg->clock_mode, DG_CLOCK_MANUAL);
    assert_true(cfg->clock_start_ms == INT64_C(1772550000000));
    dg_config_free(cfg);
    /* the demo's scaled clock, anchored to a wall-clock instant */
    cfg = parse_ok("{\"daemon\": {\"clock\": {\"mode\": \"scaled\", \"rate\": 5400,"
                   " \"start\": \"2026-12-01T06:00:00Z\", \"anchor\": \"2026-11-24T10:00:00.250Z\"}}}");
    assert_int_equal(cfg->clock_mode, DG_CLOCK_SCALED);
    assert_true(cfg->clock_anchor_ms == INT64_C(1795514400250));
    dg_config_free(cfg);
}

static void test_syntax_error_names_line(void **state)
{
    (void)state;
    expect_error("{\n  \"daemon\": {\n    \"listen\": \"x\",\n  }\n}",
                 "/etc/duegate/test.json:4: invalid JSON");
}

static void test_unknown_section_and_key(void **state)
{
    (void)state;
    expect_error("{\"daemons\": {}}", "test.json:1: daemons: unknown section");
    expect_error("{\n\"daemon\": {\n \"listne\": \"x\"}}", "test.json:3: daemon.listne: unknown key");
}

static void test_wrong_types(void **state)
{
    (void)state;
    expect_error("{\"daemon\": {\"shutdown_timeout_ms\": \"5s\"}}",
                 "daemon.shutdown_timeout_ms: must be an integer");
    expect_error("{\"daemon\": {\"shutdown_timeout_ms\": 1.5}}",
                 "daemon.shutdown_timeout_ms: must be an integer");
    expect_error("{\"daemon\": {\"shutdown_timeout_ms\": 9999999}}",
                 "daemon.shutdown_timeout_ms: 9999999 is out of range [0, 600000]");
    expect_error("{\"daemon\": {\"plugin_dirs\": [1]}}",
                 "daemon.plugin_dirs: every element must be a string");
    expect_error("{\"daemon\": {\"log_level\": \"loud\"}}",
                 "daemon.log_level: must be error, warn, info or debug");
    expect_error("{\"daemon\": {\"clock\": {\"mode\": \"fast\"}}}",
                 "daemon.clock.mode: must be \"real\", \"scaled\" or \"manual\"");
    expect_error("{\"daemon\": {\"clock\": {\"mode\": \"scaled\", \"anchor\": \"noon\"}}}",
                 "daemon.clock.anchor: must be an ISO 8601 time like 2026-03-02T08:00:00Z");
    expect_error("{\"daemon\": {\"clock\": {\"mode\": \"manual\","
                 " \"anchor\": \"2026-11-24T10:00:00Z\"}}}",
                 "daemon.clock.anchor: only a scaled clock has an anchor");
    expect_error("[]", "must be a JSON object");
}

static void test_instances(void **state)
{
    (void)state;
    expect_error("{\"channels\": {\"wa\": {}}}", "channels.wa.plugin: required");
    expect_error("{\"channels\": {\"Wa-1\": {\"plugin\": \"x\"}}}",
                 "channels.Wa-1: instance names are 1-48 characters");
    expect_error("{\"channels\": {\"wa\": {\"plugin\": \"x\"}, \"wa\": {\"plugin\": \"y\"}}}",
                 "channels.wa: duplicate instance name (also used in channels)");
    expect_error("{\"channels\": {\"main\": {\"plugin\": \"x\"}},"
                 " \"stores\": {\"main\": {\"plugin\": \"y\"}}}",
                 "stores.main: duplicate instance name (also used in channels)");
    expect_error("{\"channels\": {\"wa\": {\"plugin\": \"x\", \"enabled\": 1}}}",
                 "channels.wa.enabled: must be true or false");
}

static const dg_config_field schema[] = {
    {"token", DG_CFG_STRING, DG_CFGF_REQUIRED | DG_CFGF_SECRET, NULL, "", 0, 0, {0}},
    {"rate", DG_CFG_INT, 0, "80", "", 1, 1000, {0}},
    {"sandbox", DG_CFG_BOOL, 0, "false", "", 0, 0, {0}},
    {"languages", DG_CFG_STRING_LIST, 0, NULL, "", 0, 0, {0}},
    {NULL, 0, 0, NULL, NULL, 0, 0, {0}}};
static const char *const reserved[] = {"plugin", "enabled", NULL};

static int apply(const char *text, cJSON **out, char *err, size_t len)
{
    dg_config *cfg = parse_ok(text);
    int rc = dg_config_apply_schema(cfg, schema, dg_config_instance(cfg, "whatsapp_main")->json,
                                    "channels.whatsapp_main", reserved, out, err, len);
    dg_config_free(cfg);
    return rc;
}

static void test_schema_errors_name_the_path(void **state)
{
    (void)state;
    cJSON *out = NULL;
    char err[512];
    assert_int_not_equal(apply("{\"channels\": {\n\"whatsapp_main\": {\"plugin\": \"whatsapp\"}}}",
                               &out, err, sizeof err),
                         0);
    assert_string_equal(err, "/etc/duegate/test.json:2: channels.whatsapp_main.token: required");
    assert_int_not_equal(apply("{\"channels\": {\"whatsapp_main\": {\"plugin\": \"w\","
                               " \"token\": \"t\", \"rtae\": 5}}}",
                               &out, err, sizeof err),
                         0);
    assert_non_null(strstr(err, "channels.whatsapp_main.rtae: unknown key"));
    assert_int_not_equal(apply("{\"channels\": {\"whatsapp_main\": {\"plugin\": \"w\","
                               " \"token\": \"t\", \"rate\": 0}}}",
                               &out, err, sizeof err),
                         0);
    assert_non_null(strstr(err, "channels.whatsapp_main.rate: 0 is out of range [1, 1000]"));
    assert_int_not_equal(apply("{\"channels\": {\"whatsapp_main\": {\"plugin\": \"w\","
                               " \"token\": 5}}}",
                               &out, err, sizeof err),
                         0);
    assert_non_null(strstr(err, "channels.whatsapp_main.token: must be a string"));
    assert_int_not_equal(apply("{\"channels\": {\"whatsapp_main\": {\"plugin\": \"w\","
                               " \"token\": \"a\", \"token\": \"b\"}}}",
                               &out, err, sizeof err),
                         0);
    assert_non_null(strstr(err, "channels.whatsapp_main.token: duplicate key"));
}

static void test_schema_defaults_and_secrets(void **state)
{
    (void)state;
    cJSON *out = NULL;
    char err[512] = "", path[] = "/tmp/dg_secret_XXXXXX";
    int fd;
    setenv("DG_TEST_TOKEN", "from-env", 1);
    assert_int_equal(apply("{\"channels\": {\"whatsapp_main\": {\"plugin\": \"w\","
                           " \"token\": {\"env\": \"DG_TEST_TOKEN\"}}}}",
                           &out, err, sizeof err),
                     0);
    assert_string_equal(cJSON_GetObjectItem(out, "token")->valuestring, "from-env");
    assert_int_equal(cJSON_GetObjectItem(out, "rate")->valuedouble, 80);
    assert_true(cJSON_IsFalse(cJSON_GetObjectItem(out, "sandbox")));
    assert_null(cJSON_GetObjectItem(out, "plugin"));
    cJSON_Delete(out);

    fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, "from-file\n", 10), 10);
    close(fd);
    char text[512];
    snprintf(text, sizeof text,
             "{\"channels\": {\"whatsapp_main\": {\"plugin\": \"w\", \"token\": {\"file\": \"%s\"}}}}",
             path);
    assert_int_equal(apply(text, &out, err, sizeof err), 0);
    assert_string_equal(cJSON_GetObjectItem(out, "token")->valuestring, "from-file");
    cJSON_Delete(out);
    unlink(path);

    unsetenv("DG_TEST_MISSING");
    assert_int_not_equal(apply("{\"channels\": {\"whatsapp_main\": {\"plugin\": \"w\","
                               " \"token\": {\"env\": \"DG_TEST_MISSING\"}}}}",
                               &out, err, sizeof err),
                         0);
    assert_non_null(strstr(err, "token: environment variable DG_TEST_MISSING is not set"));
    assert_int_not_equal(apply("{\"channels\": {\"whatsapp_main\": {\"plugin\": \"w\","
                               " \"token\": {\"vault\": \"x\"}}}}",
                               &out, err, sizeof err),
                         0);
    assert_non_null(strstr(err, "a secret is a string"));
}

static void test_line_of(void **state)
{
    (void)state;
    const char *t = "{\n \"a\": {\n  \"b\": 1,\n  \"c\": {\n   \"b\": 2\n  }\n },\n \"b\": 3\n}";
    assert_int_equal(dg_json_line_of(t, "a.b"), 3);
    assert_int_equal(dg_json_line_of(t, "a.c.b"), 5);
    assert_int_equal(dg_json_line_of(t, "b"), 8);
    assert_int_equal(dg_json_line_of(t, "a.zz"), 2);
}

static void test_missing_file(void **state)
{
    (void)state;
    dg_config *cfg = NULL;
    char err[512];
    assert_int_not_equal(dg_config_load("/nonexistent/duegate.json", &cfg, err, sizeof err), 0);
    assert_non_null(strstr(err, "/nonexistent/duegate.json: cannot open"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_defaults_and_paths),
        cmocka_unit_test(test_syntax_error_names_line),
        cmocka_unit_test(test_unknown_section_and_key),
        cmocka_unit_test(test_wrong_types),
        cmocka_unit_test(test_instances),
        cmocka_unit_test(test_schema_errors_name_the_path),
        cmocka_unit_test(test_schema_defaults_and_secrets),
        cmocka_unit_test(test_line_of),
        cmocka_unit_test(test_missing_file),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
