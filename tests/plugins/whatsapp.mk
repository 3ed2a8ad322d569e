# Tests of the WhatsApp plugin (through the fake host) and of the Cloud API
# simulator core. Included from plugins/whatsapp/local.mk.
WA_TEST_CFLAGS = $(TEST_CFLAGS) $(CJSON_CFLAGS) -I$(top_srcdir)/tests/plugins \
	-I$(top_srcdir)/plugins/whatsapp
WA_TEST_LIBS = tests/plugins/libfakehost.la $(TEST_LIBS) $(CJSON_LIBS)

check_PROGRAMS += tests/plugins/test_whatsapp tests/plugins/test_whatsapp_webhook
TESTS += tests/plugins/test_whatsapp tests/plugins/test_whatsapp_webhook
tests_plugins_test_whatsapp_SOURCES = tests/plugins/test_whatsapp.c tests/plugins/wa_testutil.h \
	$(WA_SOURCES)
tests_plugins_test_whatsapp_CFLAGS = $(WA_TEST_CFLAGS)
tests_plugins_test_whatsapp_LDADD = $(WA_TEST_LIBS)
tests_plugins_test_whatsapp_webhook_SOURCES = tests/plugins/test_whatsapp_webhook.c \
	tests/plugins/wa_testutil.h $(WA_SOURCES)
tests_plugins_test_whatsapp_webhook_CFLAGS = $(WA_TEST_CFLAGS)
tests_plugins_test_whatsapp_webhook_LDADD = $(WA_TEST_LIBS)
EXTRA_DIST += tests/plugins/fixtures/whatsapp

# The built module through the core's loader and config validation.
check_PROGRAMS += tests/plugins/test_whatsapp_module
TESTS += tests/plugins/test_whatsapp_module
tests_plugins_test_whatsapp_module_SOURCES = tests/plugins/test_whatsapp_module.c
tests_plugins_test_whatsapp_module_CFLAGS = $(WA_TEST_CFLAGS)
tests_plugins_test_whatsapp_module_LDADD = $(WA_TEST_LIBS)
