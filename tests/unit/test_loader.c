#include "cm.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "loader.h"

#include "../abi_now.h"

static const char *dir(void)
{
    const char *d = getenv("DG_FAKE_PLUGIN_DIR");
    return d ? d : "tests/fakeplugins";
}

static dg_loader *new_loader(void)
{
    dg_loader *l = NULL;
    char err[256];
    const char *dirs[] = {dir()};
    assert_int_equal(dg_loader_new(&l, dirs, 1, err, sizeof err), 0);
    return l;
}

static void expect_refused(const char *name, const char *msg1, const char *msg2)
{
    dg_loader *l = new_loader();
    const dg_plugin *p = NULL;
    char err[1024] = "";
    int rc = dg_loader_load(l, name, &p, err, sizeof err);
    assert_int_not_equal(rc, 0);
    if (!strstr(err, msg1) || (msg2 && !strstr(err, msg2)))
        fprintf(stderr, "got: %s\n", err);
    assert_non_null(strstr(err, msg1));
    if (msg2)
        assert_non_null(strstr(err, msg2));
    dg_loader_free(l);
}

static void test_load_by_name_and_reuse(void **state)
{
    (void)state;
    dg_loader *l = new_loader();
    const dg_plugin *p = NULL, *q = NULL;
    char err[512] = "", path[1024];
    assert_int_equal(dg_loader_load(l, "fake_good", &p, err, sizeof err), 0);
    assert_string_equal(p->desc->name, "fake_good");
    assert_int_equal(p->desc->kind, DG_PLUGIN_CHANNEL);
    assert_non_null(p->channel.send);
    assert_int_equal(p->channel.struct_size, sizeof(dg_channel_ops));
    /* one module backs several instances: the same plugin comes back */
    assert_int_equal(dg_loader_load(l, "fake_good", &q, err, sizeof err), 0);
    assert_ptr_equal(p, q);
    /* by path, the .so directly (as if the .la were stripped) */
    snprintf(path, sizeof path, "%s/.libs/fake_store.so", dir());
    assert_int_equal(dg_loader_load(l, path, &q, err, sizeof err), 0);
    assert_string_equal(q->desc->name, "fake_store");
    assert_int_equal(q->desc->kind, DG_PLUGIN_STORE);
    assert_non_null(q->store.backfill);
    dg_loader_free(l);
}

static void test_wrong_major(void **state)
{
    (void)state;
    expect_refused("fake_major", "fake_major", "plugin ABI 2." XSTR(DG_ABI_MINOR) " is incompatible: this duegate provides ABI " ABI_NOW);
}

static void test_higher_minor(void **state)
{
    (void)state;
    expect_refused("fake_minor", "plugin needs ABI 1.99 but this duegate provides ABI " ABI_NOW, NULL);
}

static void test_short_struct(void **state)
{
    (void)state;
    expect_refused("fake_short", "descriptor struct_size 16 is smaller", NULL);
}

static void test_missing_op(void **state)
{
    (void)state;
    expect_refused("fake_noops", "lacks the mandatory op 'send'", NULL);
}

static void test_missing_entry(void **state)
{
    (void)state;
    expect_refused("fake_noentry", "not a duegate plugin: no entry point",
                   "fake_noentry_LTX_dg_plugin_query");
}

static void test_name_mismatch_and_duplicate(void **state)
{
    (void)state;
    dg_loader *l = new_loader();
    const dg_plugin *p;
    char err[1024], path[1024];
    expect_refused("fake_dupname", "provides plugin 'fake_good', not 'fake_dupname'", NULL);
    assert_int_equal(dg_loader_load(l, "fake_good", &p, err, sizeof err), 0);
    snprintf(path, sizeof path, "%s/fake_dupname.la", dir());
    assert_int_equal(dg_loader_load(l, path, &p, err, sizeof err), DG_EEXIST);
    assert_non_null(strstr(err, "plugin name 'fake_good' is already provided by"));
    dg_loader_free(l);
}

static void test_immediate_binding(void **state)
{
    (void)state;
    expect_refused("fake_undef", "cannot load", "dg_fake_symbol_that_does_not_exist");
}

static void test_not_found(void **state)
{
    (void)state;
    expect_refused("nosuchplugin", "plugin 'nosuchplugin' not found (searched:", NULL);
    expect_refused("Bad Name", "invalid plugin name", NULL);
}

typedef struct seen {
    int ok, refused, major_named;
} seen;

static void visit(void *ud, const char *file, const dg_plugin *p, const char *err)
{
    seen *s = ud;
    (void)file;
    if (p)
        s->ok++;
    else
        s->refused++;
    if (!p && strstr(err, "fake_major") && strstr(err, "2." XSTR(DG_ABI_MINOR)) && strstr(err, ABI_NOW))
        s->major_named = 1;
}

static void test_scan(void **state)
{
    (void)state;
    dg_loader *l = new_loader();
    seen s = {0, 0, 0};
    dg_loader_scan(l, visit, &s);
    assert_int_equal(s.ok, 3); /* good, store, double */
    assert_int_equal(s.refused, 7);
    assert_true(s.major_named);
    dg_loader_free(l);
}

static void test_descriptor_checks(void **state)
{
    (void)state;
    dg_plugin_descriptor d;
    char err[256];
    memset(&d, 0, sizeof d);
    assert_int_equal(dg_loader_check_descriptor(NULL, "x.so", err, sizeof err), DG_EABI);
    d.struct_size = sizeof d;
    d.abi_major = DG_ABI_MAJOR;
    d.kind = DG_PLUGIN_STORE;
    d.name = "Bad-Name";
    d.version = "1";
    assert_int_equal(dg_loader_check_descriptor(&d, "x.so", err, sizeof err), DG_EABI);
    assert_non_null(strstr(err, "plugin name must be"));
    d.name = "ok";
    assert_int_equal(dg_loader_check_descriptor(&d, "x.so", err, sizeof err), DG_EABI);
    assert_non_null(strstr(err, "store plugin ok has no store ops"));
    d.kind = (dg_plugin_kind)7;
    assert_int_equal(dg_loader_check_descriptor(&d, "x.so", err, sizeof err), DG_EABI);
    assert_non_null(strstr(err, "unknown plugin kind"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_load_by_name_and_reuse),
        cmocka_unit_test(test_wrong_major),
        cmocka_unit_test(test_higher_minor),
        cmocka_unit_test(test_short_struct),
        cmocka_unit_test(test_missing_op),
        cmocka_unit_test(test_missing_entry),
        cmocka_unit_test(test_name_mismatch_and_duplicate),
        cmocka_unit_test(test_immediate_binding),
        cmocka_unit_test(test_not_found),
        cmocka_unit_test(test_scan),
        cmocka_unit_test(test_descriptor_checks),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
