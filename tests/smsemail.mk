# Tests of the SMS and e-mail channel plugins and of the simulator's Twilio
# persona (issue 8). Plugin sources are compiled into the tests, which drive
# them through the fake host table.
SMSEMAIL_TEST_CFLAGS = $(TEST_CFLAGS) -I$(top_srcdir)/plugins/sms -I$(top_srcdir)/plugins/email \
	-I$(top_srcdir)/sim -I$(top_srcdir)/tests/plugins
SMSEMAIL_TESTS = tests/plugins/test_sms
check_PROGRAMS += $(SMSEMAIL_TESTS)
TESTS += $(SMSEMAIL_TESTS)

tests_plugins_test_sms_SOURCES = tests/plugins/test_sms.c plugins/sms/sms.c \
	plugins/sms/twilio_sig.c plugins/sms/twilio_sig.h
tests_plugins_test_sms_CFLAGS = $(SMSEMAIL_TEST_CFLAGS)
tests_plugins_test_sms_LDADD = tests/plugins/libfakehost.la $(TEST_LIBS) $(CJSON_LIBS)
