/* The conformance kit (`duegate plugin-test`) on real plugin files: the
 * in-tree plugins and the skeleton pass; each deliberately broken plugin of
 * tests/sdk/broken.c fails with the violation it was built to commit. */
#include "../unit/cm.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "conformance.h"
#include <duegate/plugin.h>

#include "../abi_now.h"
#define ABI_NEXT_MAJOR "2." XSTR(DG_ABI_MINOR) /* broken_major: DG_ABI_MAJOR + 1 */

static char *report; /* last report, for messages */

/* Run the kit on a module under the build tree; returns its result. */
static int kit(const char *rel, const char *instance_file)
{
    const char *top = getenv("DG_TOP_BUILDDIR");
    char path[1024];
    size_t len = 0;
    FILE *out;
    dg_conformance_opts o;
    int rc;
    snprintf(path, sizeof path, "%s/%s", top ? top : ".", rel);
    free(report);
    report = NULL;
    out = open_memstream(&report, &len);
    assert_non_null(out);
    o.instance_file = instance_file;
    o.out = out;
    rc = dg_conformance_run(path, &o);
    fclose(out);
    return rc;
}

static void has(const char *needle)
{
    if (!strstr(report, needle)) {
        fprintf(stderr, "report lacks \"%s\":\n%s\n", needle, report);
        fail();
    }
}

static void lacks(const char *needle)
{
    if (strstr(report, needle)) {
        fprintf(stderr, "report shows \"%s\":\n%s\n", needle, report);
        fail();
    }
}

static void test_jsonl_passes(void **state)
{
    (void)state;
    assert_int_equal(kit("plugins/jsonl.la", NULL), 0);
    has("PASS  descriptor/ABI     jsonl 1.0.0, ABI " ABI_NOW);
    has("PASS  lifecycle + send   send completed once: OK, provider id \"jsonl-1\"");
    has("SKIP  503 + Retry-After");
    has("PASSED: ");
}

static void test_skeleton_passes_every_scenario(void **state)
{
    (void)state;
    assert_int_equal(kit("tests/sdk/skeleton.la", NULL), 0);
    has("PASS  config schema      4 key(s)");
    /* The placeholder secret is never shown. */
    has("\"webhook_secret\":\"****\"");
    lacks("kit-secret-webhook_secret");
    has("PASS  lifecycle + send   send completed once: OK, provider id \"kit-msg-1\"");
    /* Unsigned dummy requests are refused by the signature check. */
    has("routes: POST /hooks/kit/receipt -> 401, POST /hooks/kit/reply -> 401");
    has("PASS  503 + Retry-After  send completed once: I/O error, class retryable, "
        "retry_after_ms 7000");
    has("PASS  transport error    send completed once");
    has("PASS  stop in flight     in-flight send completed once before stop finished");
    /* The recorded request. */
    has("POST https://peer.duegate-kit.example/url");
    has("Idempotency-Key: dg-42-4201");
    has("\"to_phone\":\"+14155550123\"");
    has("-> 503");
    has("-> canceled by the plugin");
    has("PASSED: 7 passed, 0 failed, 0 skipped");
}

static void test_instance_file_and_peer(void **state)
{
    (void)state;
    char file[] = "/tmp/dg_kit_instXXXXXX";
    int fd = mkstemp(file);
    FILE *f;
    assert_true(fd >= 0);
    f = fdopen(fd, "w");
    assert_non_null(f);
    fputs("{\"plugin\": \"skeleton\", \"url\": \"https://hooks.example.org/dg\",\n"
          " \"token\": \"tok-SECRET-123456\", \"webhook_secret\": \"whsec-abcdef\",\n"
          " \"$peer\": {\"status\": 202, \"body\": {\"id\": \"prov-77\"}}}\n",
          f);
    fclose(f);
    assert_int_equal(kit("tests/sdk/skeleton.la", file), 0);
    has("provider id \"prov-77\"");
    has("POST https://hooks.example.org/dg");
    has("Authorization: Bearer ****");
    lacks("tok-SECRET-123456");
    lacks("whsec-abcdef");
    unlink(file);
}

static void test_bad_instance_file_is_a_config_failure(void **state)
{
    (void)state;
    char file[] = "/tmp/dg_kit_instXXXXXX";
    int fd = mkstemp(file);
    assert_true(fd >= 0);
    assert_true(write(fd, "{\"url\": 5, \"webhook_secret\": \"x\"}", 33) == 33);
    close(fd);
    assert_true(kit("tests/sdk/skeleton.la", file) > 0);
    has("FAIL  config");
    has("instance.url: must be a string");
    unlink(file);
}

static void test_start_failure_is_reported(void **state)
{
    (void)state;
    char file[] = "/tmp/dg_kit_instXXXXXX";
    const char *text = "{\"path\": \"/nonexistent/dir/outbox.jsonl\"}";
    int fd = mkstemp(file);
    assert_true(fd >= 0);
    assert_true(write(fd, text, strlen(text)) == (ssize_t)strlen(text));
    close(fd);
    assert_true(kit("plugins/jsonl.la", file) > 0);
    has("FAIL  lifecycle + send   start failed: I/O error: cannot open /nonexistent/dir/outbox.jsonl");
    unlink(file);
}

static void test_control_build_passes(void **state)
{
    (void)state;
    assert_int_equal(kit("tests/sdk/broken_none.la", NULL), 0);
    has("PASSED: 7 passed");
}

static void test_rejects_double_completion(void **state)
{
    (void)state;
    assert_true(kit("tests/sdk/broken_twice.la", NULL) > 0);
    has("FAIL  lifecycle + send");
    has("completed 2 times (exactly once is the rule)");
}

static void test_rejects_callback_after_stop(void **state)
{
    (void)state;
    assert_true(kit("tests/sdk/broken_after_stop.la", NULL) > 0);
    has("FAIL  stop in flight");
    has("(send) was still pending when stop finished");
    has("host->complete called after stop completed");
}

static void test_rejects_wrong_abi_major(void **state)
{
    (void)state;
    assert_true(kit("tests/sdk/broken_major.la", NULL) > 0);
    has("FAIL  load/ABI");
    has("plugin ABI " ABI_NEXT_MAJOR " is incompatible: this duegate provides ABI " ABI_NOW);
}

static void test_rejects_missing_ops(void **state)
{
    (void)state;
    assert_true(kit("tests/sdk/broken_nosend.la", NULL) > 0);
    has("FAIL  load/ABI");
    has("lacks the mandatory op 'send'");
}

static void test_rejects_timer_leak(void **state)
{
    (void)state;
    assert_true(kit("tests/sdk/broken_leak_timer.la", NULL) > 0);
    has("leak: 1 host timer(s) still armed when stop finished");
    lacks("called after stop");
}

static void test_rejects_foreign_thread(void **state)
{
    (void)state;
    assert_true(kit("tests/sdk/broken_thread.la", NULL) > 0);
    has("host->complete called from a thread other than the loop thread");
}

static void test_rejects_secret_in_log(void **state)
{
    (void)state;
    assert_true(kit("tests/sdk/broken_log_secret.la", NULL) > 0);
    has("log event 'sending': key 'token' shows a secret");
    /* ...and the kit's own report still masks it. */
    lacks("kit-secret-token");
    has("info sending token=****");
}

static void test_rejects_ignored_retry_after(void **state)
{
    (void)state;
    assert_true(kit("tests/sdk/broken_retry.la", NULL) > 0);
    has("FAIL  503 + Retry-After");
    has("503 + Retry-After must complete with an error of class retryable");
    has("PASS  transport error");
}

static void test_rejects_open_call_at_stop(void **state)
{
    (void)state;
    assert_true(kit("tests/sdk/broken_open_call.la", NULL) > 0);
    has("FAIL  stop in flight");
    has("leak: 1 outbound call(s) neither answered nor canceled when stop finished");
    /* the forgotten answer is delivered after stop: the callback completes late */
    has("host->complete called after stop completed");
    has("PASS  lifecycle + send");
}

static void test_rejects_state_buffer_leak(void **state)
{
    (void)state;
    assert_true(kit("tests/sdk/broken_state_leak.la", NULL) > 0);
    has("leak: 1 buffer(s) from host->state_get never released with host->free");
}

static void test_rejects_form_leak(void **state)
{
    (void)state;
    assert_true(kit("tests/sdk/broken_form_leak.la", NULL) > 0);
    has("leak: 1 form(s) from host->form_parse never freed");
}

static void test_rejects_unanswered_webhook(void **state)
{
    (void)state;
    assert_true(kit("tests/sdk/broken_no_answer.la", NULL) > 0);
    has("routes: POST /hooks/broken -> no answer yet");
    has("inbound request to POST /hooks/broken never answered by the time stop finished");
}

static void test_rejects_kept_message(void **state)
{
    (void)state;
    assert_true(kit("tests/sdk/broken_keep_msg.la", NULL) > 0);
    has("FAIL  lifecycle + send");
    has("message data used after send returned");
    has("body (94 bytes): ######");
}

static void test_draining_stop_passes(void **state)
{
    (void)state;
    char file[] = "/tmp/dg_kit_instXXXXXX";
    int fd = mkstemp(file);
    assert_true(fd >= 0);
    /* fake_good parks sends for 100 ms and drains on stop with a timer. */
    assert_true(write(fd, "{\"async_ms\": 100, \"drain_ms\": 50}", 33) == 33);
    close(fd);
    assert_int_equal(kit("tests/fakeplugins/fake_good.la", file), 0);
    has("PASS  lifecycle + send   send completed once: OK, provider id \"fake-async\"");
    has("PASS  stop in flight     in-flight send completed once before stop finished (OK)");
    unlink(file);
}

static void test_store_plugin_lifecycle(void **state)
{
    (void)state;
    assert_int_equal(kit("tests/fakeplugins/fake_store.la", NULL), 0);
    has("PASS  descriptor/ABI     fake_store 0.0.1, ABI " ABI_NOW " (this duegate: " ABI_NOW "), store: backfill");
    has("PASS  lifecycle          backfill completed once: OK");
    has("emitted: 1 event(s)");
    lacks("503 + Retry-After"); /* channel scenarios only */
}

static void test_rejects_loader_fake_double(void **state)
{
    (void)state;
    /* The loader tests' double-completing fake is caught as well. */
    assert_true(kit("tests/fakeplugins/fake_double.la", NULL) > 0);
    has("(send) completed 2 times");
}

static void test_missing_file(void **state)
{
    (void)state;
    assert_true(kit("tests/sdk/no_such_plugin.la", NULL) > 0);
    has("FAIL  load/ABI");
}

static int teardown(void **state)
{
    (void)state;
    free(report);
    report = NULL;
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_jsonl_passes),
        cmocka_unit_test(test_skeleton_passes_every_scenario),
        cmocka_unit_test(test_instance_file_and_peer),
        cmocka_unit_test(test_bad_instance_file_is_a_config_failure),
        cmocka_unit_test(test_start_failure_is_reported),
        cmocka_unit_test(test_control_build_passes),
        cmocka_unit_test(test_rejects_double_completion),
        cmocka_unit_test(test_rejects_callback_after_stop),
        cmocka_unit_test(test_rejects_wrong_abi_major),
        cmocka_unit_test(test_rejects_missing_ops),
        cmocka_unit_test(test_rejects_timer_leak),
        cmocka_unit_test(test_rejects_foreign_thread),
        cmocka_unit_test(test_rejects_secret_in_log),
        cmocka_unit_test(test_rejects_ignored_retry_after),
        cmocka_unit_test(test_rejects_open_call_at_stop),
        cmocka_unit_test(test_rejects_state_buffer_leak),
        cmocka_unit_test(test_rejects_form_leak),
        cmocka_unit_test(test_rejects_unanswered_webhook),
        cmocka_unit_test(test_rejects_kept_message),
        cmocka_unit_test(test_draining_stop_passes),
        cmocka_unit_test(test_store_plugin_lifecycle),
        cmocka_unit_test(test_rejects_loader_fake_double),
        cmocka_unit_test(test_missing_file),
    };
    return cmocka_run_group_tests(tests, NULL, teardown);
}
