/* The built module as the daemon sees it: loaded by the core's loader
 * (ABI checks, one exported symbol, immediate binding), its schema applied
 * by the core's config validation (defaults, bounds, secrets from the
 * environment), then run on the fake host with that resolved config. */
#include "../unit/cm.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "fakehost.h"
#include "loader.h"

static const dg_plugin *load(dg_loader **l)
{
    const char *top = getenv("DG_TOP_BUILDDIR");
    char dir[1024], err[512] = "";
    const char *dirs[1] = {dir};
    const dg_plugin *p = NULL;
    snprintf(dir, sizeof dir, "%s/plugins", top ? top : ".");
    assert_int_equal(dg_loader_new(l, dirs, 1, err, sizeof err), 0);
    if (dg_loader_load(*l, "whatsapp", &p, err, sizeof err) != 0)
        fprintf(stderr, "load: %s\n", err);
    assert_non_null(p);
    return p;
}

static int apply(const dg_plugin *p, const char *inst_json, cJSON **out, char *err, size_t len)
{
    static const char *const reserved[] = {"plugin", "enabled", NULL};
    char text[2048];
    dg_config *cfg = NULL;
    snprintf(text, sizeof text, "{\"channels\": {\"wa_us\": %s}}", inst_json);
    assert_int_equal(dg_config_parse("/etc/duegate/test.json", text, &cfg, err, len), 0);
    int rc =
        dg_config_apply_schema(cfg, p->desc->config_schema, dg_config_instance(cfg, "wa_us")->json,
                               "channels.wa_us", reserved, out, err, len);
    dg_config_free(cfg);
    return rc;
}

static void test_module_loads_and_runs_with_core_config(void **state)
{
    (void)state;
    dg_loader *l = NULL;
    const dg_plugin *p = load(&l);
    char caps[128], err[512] = "";
    cJSON *conf = NULL;
    assert_string_equal(p->desc->name, "whatsapp");
    assert_int_equal(p->desc->kind, DG_PLUGIN_CHANNEL);
    dg_caps_string(p->channel.capabilities, caps, sizeof caps);
    assert_string_equal(caps, "receipts,read,replies,session-window,templates,phone");
    /* secrets from the environment; everything else defaulted by the schema */
    setenv("DG_TEST_WA_TOKEN", "tok-from-env", 1);
    assert_int_equal(apply(p,
                           "{\"plugin\": \"whatsapp\", \"phone_number_id\": \"1122334455667\","
                           " \"access_token\": {\"env\": \"DG_TEST_WA_TOKEN\"},"
                           " \"app_secret\": \"s\", \"verify_token\": \"v\","
                           " \"stop_keywords\": {\"fr\": [\"ARRET\"]}}",
                           &conf, err, sizeof err),
                     0);
    const cJSON *rate = cJSON_GetObjectItem(conf, "rate_per_second");
    assert_int_equal(rate->valuedouble, 80);
    assert_int_equal(cJSON_GetObjectItem(conf, "recipient_spacing_ms")->valuedouble, 6000);
    assert_string_equal(cJSON_GetObjectItem(conf, "access_token")->valuestring, "tok-from-env");
    char *text = cJSON_PrintUnformatted(conf);
    fh *h = fh_new("wa_us", text);
    void *self = NULL;
    assert_int_equal(fh_create_start(h, p->desc, &self, err, sizeof err), 0);
    dg_outbound_message m;
    dg_template_param prm;
    DG_INIT(&m);
    DG_INIT(&prm);
    prm.value = "Ana";
    m.touch_id = 1;
    m.to_phone = "+14155550123";
    m.template_name = "payment_reminder";
    m.template_language = "en_US";
    m.params = &prm;
    m.n_params = 1;
    assert_int_equal(p->channel.send(self, &m, fh_new_op(h)), DG_PENDING);
    assert_int_equal(fh_n_outbound(h), 1);
    assert_string_equal(fh_outbound_at(h, 0)->url,
                        "https://graph.facebook.com/v21.0/1122334455667/messages");
    assert_string_equal(fh_outbound_at(h, 0)->bearer, "tok-from-env");
    fh_response r;
    assert_int_equal(fh_request(h, "GET", "/webhooks/whatsapp/wa_us",
                                "hub.mode=subscribe&hub.verify_token=v&hub.challenge=ok", NULL,
                                NULL, 0, &r),
                     0);
    assert_int_equal(r.status, 200);
    fh_reply(h, 0, 200, NULL, "{\"messages\":[{\"id\":\"wamid.1\"}]}", DG_HTTP_OK, -1);
    assert_int_equal(fh_stop_destroy(h, p->desc, self, 0), 0);
    fh_free(h);
    free(text);
    cJSON_Delete(conf);
    /* the core enforces the schema's bounds and required keys */
    assert_int_not_equal(apply(p,
                               "{\"plugin\": \"whatsapp\", \"phone_number_id\": \"1\","
                               " \"access_token\": \"t\", \"app_secret\": \"s\","
                               " \"verify_token\": \"v\", \"rate_per_second\": 5000}",
                               &conf, err, sizeof err),
                         0);
    assert_non_null(strstr(err, "rate_per_second"));
    assert_int_not_equal(
        apply(p, "{\"plugin\": \"whatsapp\", \"phone_number_id\": \"1\"}", &conf, err, sizeof err),
        0);
    assert_non_null(strstr(err, "access_token"));
    assert_int_not_equal(apply(p,
                               "{\"plugin\": \"whatsapp\", \"phone_number_id\": \"1\","
                               " \"access_token\": \"t\", \"app_secret\": \"s\","
                               " \"verify_token\": \"v\", \"rate\": 5}",
                               &conf, err, sizeof err),
                         0);
    dg_loader_free(l);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_module_loads_and_runs_with_core_config),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
