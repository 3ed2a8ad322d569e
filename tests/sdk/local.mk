# The plugin SDK: the skeleton example built in tree (check only, from the
# same source as its out-of-tree Makefile), deliberately broken plugins for
# the conformance kit, the kit's tests, the skeleton's unit test, the CLI
# test and the ABI layout check.

# ---- examples/skeleton-channel as a check-only module (tests/sdk/skeleton.la),
# compiled from the example's own skeleton.c through tests/sdk/skeleton_module.c
SKELETON_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/examples/skeleton-channel
check_LTLIBRARIES += tests/sdk/skeleton.la
tests_sdk_skeleton_la_SOURCES = tests/sdk/skeleton_module.c
EXTRA_tests_sdk_skeleton_la_DEPENDENCIES = examples/skeleton-channel/skeleton.c
tests_sdk_skeleton_la_CPPFLAGS = $(SKELETON_CPPFLAGS)
tests_sdk_skeleton_la_CFLAGS = $(PLUGIN_CFLAGS)
tests_sdk_skeleton_la_LDFLAGS = $(PLUGIN_LDFLAGS) -rpath /nowhere

# ---- broken plugins (tests/sdk/broken.c, one switch each)
BROKEN_LDFLAGS = -module -avoid-version -shared -rpath /nowhere $(AM_LDFLAGS)
check_LTLIBRARIES += \
	tests/sdk/broken_none.la \
	tests/sdk/broken_twice.la \
	tests/sdk/broken_after_stop.la \
	tests/sdk/broken_major.la \
	tests/sdk/broken_nosend.la \
	tests/sdk/broken_leak_timer.la \
	tests/sdk/broken_thread.la \
	tests/sdk/broken_log_secret.la \
	tests/sdk/broken_retry.la \
	tests/sdk/broken_open_call.la \
	tests/sdk/broken_state_leak.la \
	tests/sdk/broken_form_leak.la \
	tests/sdk/broken_no_answer.la \
	tests/sdk/broken_keep_msg.la
tests_sdk_broken_none_la_SOURCES = tests/sdk/broken.c
tests_sdk_broken_none_la_CPPFLAGS = $(AM_CPPFLAGS) -DMODULE=broken_none -DBROKEN_NONE
tests_sdk_broken_none_la_CFLAGS = $(PLUGIN_CFLAGS)
tests_sdk_broken_none_la_LDFLAGS = $(BROKEN_LDFLAGS)
tests_sdk_broken_twice_la_SOURCES = tests/sdk/broken.c
tests_sdk_broken_twice_la_CPPFLAGS = $(AM_CPPFLAGS) -DMODULE=broken_twice -DBROKEN_TWICE
tests_sdk_broken_twice_la_CFLAGS = $(PLUGIN_CFLAGS)
tests_sdk_broken_twice_la_LDFLAGS = $(BROKEN_LDFLAGS)
tests_sdk_broken_after_stop_la_SOURCES = tests/sdk/broken.c
tests_sdk_broken_after_stop_la_CPPFLAGS = $(AM_CPPFLAGS) -DMODULE=broken_after_stop -DBROKEN_AFTER_STOP
tests_sdk_broken_after_stop_la_CFLAGS = $(PLUGIN_CFLAGS)
tests_sdk_broken_after_stop_la_LDFLAGS = $(BROKEN_LDFLAGS)
tests_sdk_broken_major_la_SOURCES = tests/sdk/broken.c
tests_sdk_broken_major_la_CPPFLAGS = $(AM_CPPFLAGS) -DMODULE=broken_major -DBROKEN_MAJOR
tests_sdk_broken_major_la_CFLAGS = $(PLUGIN_CFLAGS)
tests_sdk_broken_major_la_LDFLAGS = $(BROKEN_LDFLAGS)
tests_sdk_broken_nosend_la_SOURCES = tests/sdk/broken.c
tests_sdk_broken_nosend_la_CPPFLAGS = $(AM_CPPFLAGS) -DMODULE=broken_nosend -DBROKEN_NO_SEND
tests_sdk_broken_nosend_la_CFLAGS = $(PLUGIN_CFLAGS)
tests_sdk_broken_nosend_la_LDFLAGS = $(BROKEN_LDFLAGS)
tests_sdk_broken_leak_timer_la_SOURCES = tests/sdk/broken.c
tests_sdk_broken_leak_timer_la_CPPFLAGS = $(AM_CPPFLAGS) -DMODULE=broken_leak_timer -DBROKEN_LEAK_TIMER
tests_sdk_broken_leak_timer_la_CFLAGS = $(PLUGIN_CFLAGS)
tests_sdk_broken_leak_timer_la_LDFLAGS = $(BROKEN_LDFLAGS)
tests_sdk_broken_thread_la_SOURCES = tests/sdk/broken.c
tests_sdk_broken_thread_la_CPPFLAGS = $(AM_CPPFLAGS) -DMODULE=broken_thread -DBROKEN_THREAD
tests_sdk_broken_thread_la_CFLAGS = $(PLUGIN_CFLAGS)
tests_sdk_broken_thread_la_LDFLAGS = $(BROKEN_LDFLAGS)
tests_sdk_broken_log_secret_la_SOURCES = tests/sdk/broken.c
tests_sdk_broken_log_secret_la_CPPFLAGS = $(AM_CPPFLAGS) -DMODULE=broken_log_secret -DBROKEN_LOG_SECRET
tests_sdk_broken_log_secret_la_CFLAGS = $(PLUGIN_CFLAGS)
tests_sdk_broken_log_secret_la_LDFLAGS = $(BROKEN_LDFLAGS)
tests_sdk_broken_retry_la_SOURCES = tests/sdk/broken.c
tests_sdk_broken_retry_la_CPPFLAGS = $(AM_CPPFLAGS) -DMODULE=broken_retry -DBROKEN_RETRY
tests_sdk_broken_retry_la_CFLAGS = $(PLUGIN_CFLAGS)
tests_sdk_broken_retry_la_LDFLAGS = $(BROKEN_LDFLAGS)

# ---- tests
SDK_TESTS = tests/sdk/test_kit tests/sdk/test_skeleton tests/sdk/test_kit_offload \
	tests/sdk/test_kit_inbox
check_PROGRAMS += $(SDK_TESTS)
TESTS += $(SDK_TESTS) tests/sdk/plugin-test-cli.sh
EXTRA_DIST += tests/sdk/plugin-test-cli.sh plugins/sms/plugin-test.json
tests_sdk_test_kit_CFLAGS = $(TEST_CFLAGS)
tests_sdk_test_kit_LDADD = $(TEST_LIBS)
tests_sdk_test_kit_offload_CFLAGS = $(TEST_CFLAGS)
tests_sdk_test_kit_offload_LDADD = $(TEST_LIBS) $(CJSON_LIBS)
tests_sdk_test_kit_inbox_CFLAGS = $(TEST_CFLAGS)
tests_sdk_test_kit_inbox_LDADD = $(TEST_LIBS) $(CJSON_LIBS)
tests_sdk_test_skeleton_SOURCES = tests/sdk/test_skeleton.c tests/sdk/skeleton_module.c
tests_sdk_test_skeleton_CPPFLAGS = $(SKELETON_CPPFLAGS)
tests_sdk_test_skeleton_CFLAGS = $(TEST_CFLAGS)
tests_sdk_test_skeleton_LDADD = tests/plugins/libfakehost.la $(TEST_LIBS) $(CJSON_LIBS)

tests_sdk_broken_thread_la_LIBADD = -lpthread
tests_sdk_broken_keep_msg_la_SOURCES = tests/sdk/broken.c
tests_sdk_broken_keep_msg_la_CPPFLAGS = $(AM_CPPFLAGS) -DMODULE=broken_keep_msg -DBROKEN_KEEP_MSG
tests_sdk_broken_keep_msg_la_CFLAGS = $(PLUGIN_CFLAGS)
tests_sdk_broken_keep_msg_la_LDFLAGS = $(BROKEN_LDFLAGS)
tests_sdk_broken_open_call_la_SOURCES = tests/sdk/broken.c
tests_sdk_broken_open_call_la_CPPFLAGS = $(AM_CPPFLAGS) -DMODULE=broken_open_call -DBROKEN_OPEN_CALL
tests_sdk_broken_open_call_la_CFLAGS = $(PLUGIN_CFLAGS)
tests_sdk_broken_open_call_la_LDFLAGS = $(BROKEN_LDFLAGS)
tests_sdk_broken_state_leak_la_SOURCES = tests/sdk/broken.c
tests_sdk_broken_state_leak_la_CPPFLAGS = $(AM_CPPFLAGS) -DMODULE=broken_state_leak -DBROKEN_STATE_LEAK
tests_sdk_broken_state_leak_la_CFLAGS = $(PLUGIN_CFLAGS)
tests_sdk_broken_state_leak_la_LDFLAGS = $(BROKEN_LDFLAGS)
tests_sdk_broken_form_leak_la_SOURCES = tests/sdk/broken.c
tests_sdk_broken_form_leak_la_CPPFLAGS = $(AM_CPPFLAGS) -DMODULE=broken_form_leak -DBROKEN_FORM_LEAK
tests_sdk_broken_form_leak_la_CFLAGS = $(PLUGIN_CFLAGS)
tests_sdk_broken_form_leak_la_LDFLAGS = $(BROKEN_LDFLAGS)
tests_sdk_broken_no_answer_la_SOURCES = tests/sdk/broken.c
tests_sdk_broken_no_answer_la_CPPFLAGS = $(AM_CPPFLAGS) -DMODULE=broken_no_answer -DBROKEN_NO_ANSWER
tests_sdk_broken_no_answer_la_CFLAGS = $(PLUGIN_CFLAGS)
tests_sdk_broken_no_answer_la_LDFLAGS = $(BROKEN_LDFLAGS)

# ---- ABI check: the layout program is generated from the installed headers
check_PROGRAMS += tests/sdk/abi_layout
nodist_tests_sdk_abi_layout_SOURCES = tests/sdk/abi_layout.c
tests_sdk_abi_layout_CPPFLAGS = -I$(top_srcdir)/include
tests_sdk_abi_layout_CFLAGS = -std=c11 -Wall -Wextra
CLEANFILES += tests/sdk/abi_layout.c
SDK_HEADERS_ORDERED = $(top_srcdir)/include/duegate/types.h \
	$(top_srcdir)/include/duegate/host.h $(top_srcdir)/include/duegate/plugin.h
tests/sdk/abi_layout.c: $(top_srcdir)/scripts/abi-layout.awk $(SDK_HEADERS_ORDERED)
	$(MKDIR_P) tests/sdk
	$(AWK) -f $(top_srcdir)/scripts/abi-layout.awk $(SDK_HEADERS_ORDERED) >$@.tmp && mv $@.tmp $@
TESTS += tests/sdk/abi-check.sh
EXTRA_DIST += tests/sdk/abi-check.sh scripts/abi-layout.awk scripts/abi-record scripts/sdk-smoke
