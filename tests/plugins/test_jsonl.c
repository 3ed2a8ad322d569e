#include "../unit/cm.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fakehost.h"

const dg_plugin_descriptor *jsonl_LTX_dg_plugin_query(void);

static void test_send_appends_a_line(void **state)
{
    (void)state;
    char dir[] = "/tmp/dg_jsonl_XXXXXX", conf[512], path[256], line[2048];
    const dg_plugin_descriptor *d = jsonl_LTX_dg_plugin_query();
    void *self = NULL;
    char err[256] = "";
    dg_outbound_message m;
    FILE *f;
    fh *h;
    assert_non_null(mkdtemp(dir));
    snprintf(path, sizeof path, "%s/out.jsonl", dir);
    snprintf(conf, sizeof conf, "{\"path\": \"%s\", \"flush\": true}", path);
    h = fh_new("outbox", conf);
    assert_int_equal(fh_create_start(h, d, &self, err, sizeof err), 0);
    DG_INIT(&m);
    m.case_id = 42;
    m.touch_id = 9;
    m.stage = "gentle";
    m.template_id = "presale/gentle";
    m.to_phone = "+14155550123";
    m.text = "Hi Ana, a quick reminder";
    dg_op op = fh_new_op(h);
    assert_int_equal(d->channel->send(self, &m, op), DG_PENDING);
    const fh_completion *c = fh_completion_for(h, op);
    assert_non_null(c);
    assert_int_equal(c->status, DG_OK);
    assert_string_equal(c->provider_id, "jsonl-1");
    assert_int_equal(fh_stop_destroy(h, d, self, 0), 0);
    assert_int_equal(fh_double_completions(h), 0);
    f = fopen(path, "r");
    assert_non_null(f);
    assert_non_null(fgets(line, sizeof line, f));
    fclose(f);
    cJSON *o = cJSON_Parse(line);
    assert_non_null(o);
    assert_int_equal(cJSON_GetObjectItem(o, "case_id")->valuedouble, 42);
    assert_string_equal(cJSON_GetObjectItem(o, "stage")->valuestring, "gentle");
    assert_string_equal(cJSON_GetObjectItem(o, "to_phone")->valuestring, "+14155550123");
    assert_int_equal(cJSON_GetObjectItem(o, "at")->valuedouble, (double)fh_now(h));
    cJSON_Delete(o);
    fh_free(h);
    unlink(path);
    rmdir(dir);
}

static void test_start_fails_with_a_reason(void **state)
{
    (void)state;
    const dg_plugin_descriptor *d = jsonl_LTX_dg_plugin_query();
    fh *h = fh_new("outbox", "{\"path\": \"/nonexistent/dir/out.jsonl\"}");
    void *self = NULL;
    char err[256] = "";
    assert_int_not_equal(fh_create_start(h, d, &self, err, sizeof err), 0);
    assert_non_null(strstr(err, "cannot open /nonexistent/dir/out.jsonl"));
    d->channel->destroy(self);
    fh_free(h);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_send_appends_a_line),
        cmocka_unit_test(test_start_fails_with_a_reason),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
