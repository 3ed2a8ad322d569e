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

SMSEMAIL_TESTS_EMAIL = tests/plugins/test_email
check_PROGRAMS += $(SMSEMAIL_TESTS_EMAIL)
TESTS += $(SMSEMAIL_TESTS_EMAIL)
tests_plugins_test_email_SOURCES = tests/plugins/test_email.c plugins/email/email.c plugins/email/email_routes.c \
	plugins/email/email_int.h \
	plugins/email/mime.c plugins/email/mime.h
tests_plugins_test_email_CFLAGS = $(SMSEMAIL_TEST_CFLAGS)
tests_plugins_test_email_LDADD = tests/plugins/libfakehost.la $(TEST_LIBS) $(CJSON_LIBS)
# The Python e-mail checker runs with the interpreter configure found.
AM_TESTS_ENVIRONMENT += DG_PYTHON3='$(PYTHON3)'; export DG_PYTHON3;
EXTRA_DIST += tests/integration/check_mail.py tests/integration/smtp_sink.py

# The simulator's Twilio persona: a networking-free module (sim/duegate-sim
# adds the HTTP glue). Built as a convenience library for tests and the sim.
noinst_LTLIBRARIES += sim/libtwiliosim.la
sim_libtwiliosim_la_SOURCES = sim/twilio_sim.c sim/twilio_sim.h plugins/sms/twilio_sig.c \
	plugins/sms/twilio_sig.h
sim_libtwiliosim_la_CFLAGS = $(AM_CFLAGS) -I$(top_srcdir)/plugins/sms
sim_libtwiliosim_la_LIBADD = core/libdgcore.la

SMSEMAIL_TESTS_SIM = tests/plugins/test_twilio_sim
check_PROGRAMS += $(SMSEMAIL_TESTS_SIM)
TESTS += $(SMSEMAIL_TESTS_SIM)
tests_plugins_test_twilio_sim_SOURCES = tests/plugins/test_twilio_sim.c plugins/sms/sms.c
tests_plugins_test_twilio_sim_CFLAGS = $(SMSEMAIL_TEST_CFLAGS)
tests_plugins_test_twilio_sim_LDADD = sim/libtwiliosim.la tests/plugins/libfakehost.la \
	$(TEST_LIBS) $(CJSON_LIBS)

# Benchmark (not run by make check): ./bench/bench_smsemail [iterations]
noinst_PROGRAMS += bench/bench_smsemail
bench_bench_smsemail_SOURCES = bench/bench_smsemail.c plugins/email/mime.c plugins/email/mime.h
bench_bench_smsemail_CFLAGS = $(SMSEMAIL_TEST_CFLAGS)
bench_bench_smsemail_LDADD = sim/libtwiliosim.la core/libdgcore.la
