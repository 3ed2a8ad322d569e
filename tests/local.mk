# Tests: cmocka unit tests per core module, plugin tests against a fake
# host table, fake plugin modules for the loader, integration tests.
TEST_CFLAGS = $(AM_CFLAGS) $(CMOCKA_CFLAGS) $(UV_CFLAGS) $(CJSON_CFLAGS) $(SQLITE_CFLAGS) \
	$(ICU_CFLAGS)
TEST_LIBS = core/libdgcore.la $(CMOCKA_LIBS)

AM_TESTS_ENVIRONMENT = \
	DG_TOP_BUILDDIR='$(abs_top_builddir)'; export DG_TOP_BUILDDIR; \
	DG_TOP_SRCDIR='$(abs_top_srcdir)'; export DG_TOP_SRCDIR; \
	DG_FAKE_PLUGIN_DIR='$(abs_top_builddir)/tests/fakeplugins'; export DG_FAKE_PLUGIN_DIR; \
	DUEGATE_PLUGIN_PATH=; export DUEGATE_PLUGIN_PATH;

# ---- fake plugin modules (shared objects, never installed)
FAKE_LDFLAGS = -module -avoid-version -shared -rpath /nowhere $(AM_LDFLAGS)
FAKE_CFLAGS = $(AM_CFLAGS) -fvisibility=hidden
check_LTLIBRARIES += tests/fakeplugins/fake_good.la tests/fakeplugins/fake_store.la \
	tests/fakeplugins/fake_major.la tests/fakeplugins/fake_minor.la \
	tests/fakeplugins/fake_short.la tests/fakeplugins/fake_noops.la \
	tests/fakeplugins/fake_noentry.la tests/fakeplugins/fake_dupname.la \
	tests/fakeplugins/fake_undef.la tests/fakeplugins/fake_double.la
tests_fakeplugins_fake_good_la_SOURCES = tests/fakeplugins/fake.c
tests_fakeplugins_fake_good_la_CPPFLAGS = $(AM_CPPFLAGS) -DMODULE=fake_good
tests_fakeplugins_fake_good_la_CFLAGS = $(FAKE_CFLAGS)
tests_fakeplugins_fake_good_la_LDFLAGS = $(FAKE_LDFLAGS)
tests_fakeplugins_fake_store_la_SOURCES = tests/fakeplugins/fake.c
tests_fakeplugins_fake_store_la_CPPFLAGS = $(AM_CPPFLAGS) -DMODULE=fake_store -DFAKE_STORE
tests_fakeplugins_fake_store_la_CFLAGS = $(FAKE_CFLAGS)
tests_fakeplugins_fake_store_la_LDFLAGS = $(FAKE_LDFLAGS)
tests_fakeplugins_fake_major_la_SOURCES = tests/fakeplugins/fake.c
tests_fakeplugins_fake_major_la_CPPFLAGS = $(AM_CPPFLAGS) -DMODULE=fake_major -DFAKE_MAJOR=2
tests_fakeplugins_fake_major_la_CFLAGS = $(FAKE_CFLAGS)
tests_fakeplugins_fake_major_la_LDFLAGS = $(FAKE_LDFLAGS)
tests_fakeplugins_fake_minor_la_SOURCES = tests/fakeplugins/fake.c
tests_fakeplugins_fake_minor_la_CPPFLAGS = $(AM_CPPFLAGS) -DMODULE=fake_minor -DFAKE_MINOR=99
tests_fakeplugins_fake_minor_la_CFLAGS = $(FAKE_CFLAGS)
tests_fakeplugins_fake_minor_la_LDFLAGS = $(FAKE_LDFLAGS)
tests_fakeplugins_fake_short_la_SOURCES = tests/fakeplugins/fake.c
tests_fakeplugins_fake_short_la_CPPFLAGS = $(AM_CPPFLAGS) -DMODULE=fake_short -DFAKE_DESC_SIZE=16
tests_fakeplugins_fake_short_la_CFLAGS = $(FAKE_CFLAGS)
tests_fakeplugins_fake_short_la_LDFLAGS = $(FAKE_LDFLAGS)
tests_fakeplugins_fake_noops_la_SOURCES = tests/fakeplugins/fake.c
tests_fakeplugins_fake_noops_la_CPPFLAGS = $(AM_CPPFLAGS) -DMODULE=fake_noops -DFAKE_NO_SEND
tests_fakeplugins_fake_noops_la_CFLAGS = $(FAKE_CFLAGS)
tests_fakeplugins_fake_noops_la_LDFLAGS = $(FAKE_LDFLAGS)
tests_fakeplugins_fake_noentry_la_SOURCES = tests/fakeplugins/fake.c
tests_fakeplugins_fake_noentry_la_CPPFLAGS = $(AM_CPPFLAGS) -DMODULE=fake_noentry -DFAKE_NO_ENTRY
tests_fakeplugins_fake_noentry_la_CFLAGS = $(FAKE_CFLAGS)
tests_fakeplugins_fake_noentry_la_LDFLAGS = $(FAKE_LDFLAGS)
tests_fakeplugins_fake_dupname_la_SOURCES = tests/fakeplugins/fake.c
tests_fakeplugins_fake_dupname_la_CPPFLAGS = $(AM_CPPFLAGS) -DMODULE=fake_dupname \
	-DFAKE_NAME_OVERRIDE='"fake_good"'
tests_fakeplugins_fake_dupname_la_CFLAGS = $(FAKE_CFLAGS)
tests_fakeplugins_fake_dupname_la_LDFLAGS = $(FAKE_LDFLAGS)
tests_fakeplugins_fake_undef_la_SOURCES = tests/fakeplugins/fake.c
tests_fakeplugins_fake_undef_la_CPPFLAGS = $(AM_CPPFLAGS) -DMODULE=fake_undef -DFAKE_UNDEFINED
tests_fakeplugins_fake_undef_la_CFLAGS = $(FAKE_CFLAGS)
tests_fakeplugins_fake_undef_la_LDFLAGS = $(FAKE_LDFLAGS)
tests_fakeplugins_fake_double_la_SOURCES = tests/fakeplugins/fake.c
tests_fakeplugins_fake_double_la_CPPFLAGS = $(AM_CPPFLAGS) -DMODULE=fake_double \
	-DFAKE_DOUBLE_COMPLETE
tests_fakeplugins_fake_double_la_CFLAGS = $(FAKE_CFLAGS)
tests_fakeplugins_fake_double_la_LDFLAGS = $(FAKE_LDFLAGS)

# ---- unit tests of core modules
UNIT_TESTS = tests/unit/test_log tests/unit/test_clock tests/unit/test_config \
	tests/unit/test_crypto tests/unit/test_metrics tests/unit/test_loader \
	tests/unit/test_instance tests/unit/test_inbox tests/unit/test_offload
check_PROGRAMS += $(UNIT_TESTS)
TESTS += $(UNIT_TESTS)
tests_unit_test_log_CFLAGS = $(TEST_CFLAGS)
tests_unit_test_log_LDADD = $(TEST_LIBS)
tests_unit_test_clock_CFLAGS = $(TEST_CFLAGS)
tests_unit_test_clock_LDADD = $(TEST_LIBS)
tests_unit_test_config_CFLAGS = $(TEST_CFLAGS)
tests_unit_test_config_LDADD = $(TEST_LIBS)
tests_unit_test_crypto_CFLAGS = $(TEST_CFLAGS)
tests_unit_test_crypto_LDADD = $(TEST_LIBS)
tests_unit_test_metrics_CFLAGS = $(TEST_CFLAGS)
tests_unit_test_metrics_LDADD = $(TEST_LIBS)
tests_unit_test_loader_CFLAGS = $(TEST_CFLAGS)
tests_unit_test_loader_LDADD = $(TEST_LIBS)
tests_unit_test_instance_CFLAGS = $(TEST_CFLAGS)
tests_unit_test_instance_LDADD = $(TEST_LIBS)
tests_unit_test_inbox_CFLAGS = $(TEST_CFLAGS)
tests_unit_test_inbox_LDADD = $(TEST_LIBS)
tests_unit_test_offload_CFLAGS = $(TEST_CFLAGS)
tests_unit_test_offload_LDADD = $(TEST_LIBS)

# ---- the SDK headers alone: strict C11 and C++
check_PROGRAMS += tests/unit/test_sdk_c11 tests/unit/test_sdk_cxx
TESTS += tests/unit/test_sdk_c11 tests/unit/test_sdk_cxx
tests_unit_test_sdk_c11_SOURCES = tests/unit/test_sdk_c11.c
tests_unit_test_sdk_c11_CPPFLAGS = -I$(top_srcdir)/include
tests_unit_test_sdk_c11_CFLAGS = -std=c11 -pedantic-errors -Wall -Wextra -Werror $(SAN_CFLAGS)
tests_unit_test_sdk_cxx_SOURCES = tests/unit/test_sdk_cxx.cc
tests_unit_test_sdk_cxx_CPPFLAGS = -I$(top_srcdir)/include
tests_unit_test_sdk_cxx_CXXFLAGS = -std=c++11 -pedantic-errors -Wall -Wextra -Werror $(SAN_CFLAGS)

# ---- plugins driven through a fake host table
noinst_LTLIBRARIES += tests/plugins/libfakehost.la
tests_plugins_libfakehost_la_SOURCES = tests/plugins/fakehost.c tests/plugins/fakehost.h \
	tests/plugins/fakehost_int.h tests/plugins/fakehost_http.c tests/plugins/fakehost_inbox.c tests/plugins/fakehost_offload.c
tests_plugins_libfakehost_la_CFLAGS = $(TEST_CFLAGS)
tests_plugins_libfakehost_la_LIBADD = core/libdgcore.la
PLUGIN_TESTS = tests/plugins/test_jsonl
check_PROGRAMS += $(PLUGIN_TESTS)
TESTS += $(PLUGIN_TESTS)
tests_plugins_test_jsonl_SOURCES = tests/plugins/test_jsonl.c plugins/jsonl/jsonl.c
tests_plugins_test_jsonl_CFLAGS = $(TEST_CFLAGS)
tests_plugins_test_jsonl_LDADD = tests/plugins/libfakehost.la $(TEST_LIBS) $(CJSON_LIBS)

# ---- integration: the real daemon binary
INTEGRATION_TESTS = tests/integration/test_daemon
check_PROGRAMS += $(INTEGRATION_TESTS)
TESTS += $(INTEGRATION_TESTS)
tests_integration_test_daemon_SOURCES = tests/integration/test_daemon.c \
	tests/integration/proc.c tests/integration/proc.h
tests_integration_test_daemon_CFLAGS = $(TEST_CFLAGS)
tests_integration_test_daemon_LDADD = $(TEST_LIBS)

# ---- valgrind over the test suite: `make check-valgrind` (not part of check)
VALGRIND_FLAGS = --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite,indirect \
	--show-leak-kinds=definite,indirect --track-fds=no -q
check-valgrind: $(check_PROGRAMS) $(check_LTLIBRARIES)
	@fail=0; for t in $(TESTS); do \
	  case $$t in *.sh|*.py) continue;; esac; \
	  $(AM_TESTS_ENVIRONMENT) $(LIBTOOL) --mode=execute valgrind $(VALGRIND_FLAGS) ./$$t \
	    > $$t.vg.log 2>&1 && echo "VALGRIND OK:   $$t" || { echo "VALGRIND FAIL: $$t"; fail=1; }; \
	done; exit $$fail
.PHONY: check-valgrind
EXTRA_DIST += tests/abi_now.h
