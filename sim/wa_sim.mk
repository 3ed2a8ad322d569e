# The WhatsApp Cloud API simulator core (networking-free) and its tests.
# Included from plugins/whatsapp/local.mk. The sim/duegate-sim program that
# puts it behind the core's HTTP server is assembled once that server lands.
noinst_LTLIBRARIES += sim/libwasim.la
sim_libwasim_la_SOURCES = sim/wa_sim.c sim/wa_sim.h sim/wa_sim_int.h sim/wa_sim_events.c \
	sim/wa_sim_control.c
sim_libwasim_la_CFLAGS = $(AM_CFLAGS) $(CJSON_CFLAGS) $(UV_CFLAGS)
sim_libwasim_la_LIBADD = core/libdgcore.la $(CJSON_LIBS)

check_PROGRAMS += tests/sim/test_wa_sim tests/plugins/test_whatsapp_sim
TESTS += tests/sim/test_wa_sim tests/plugins/test_whatsapp_sim
tests_sim_test_wa_sim_SOURCES = tests/sim/test_wa_sim.c
tests_sim_test_wa_sim_CFLAGS = $(TEST_CFLAGS) $(CJSON_CFLAGS) -I$(top_srcdir)/sim
tests_sim_test_wa_sim_LDADD = sim/libwasim.la $(TEST_LIBS) $(CJSON_LIBS)
tests_plugins_test_whatsapp_sim_SOURCES = tests/plugins/test_whatsapp_sim.c \
	tests/plugins/wa_testutil.h $(WA_SOURCES)
tests_plugins_test_whatsapp_sim_CFLAGS = $(WA_TEST_CFLAGS) -I$(top_srcdir)/sim
tests_plugins_test_whatsapp_sim_LDADD = sim/libwasim.la $(WA_TEST_LIBS)

# Benchmark of the plugin + simulator core without sockets (bench/whatsapp-core).
noinst_PROGRAMS += bench/wa_core
bench_wa_core_SOURCES = bench/wa_core.c $(WA_SOURCES)
bench_wa_core_CFLAGS = $(WA_TEST_CFLAGS) -I$(top_srcdir)/sim -O2
bench_wa_core_LDADD = sim/libwasim.la $(WA_TEST_LIBS)
dist_noinst_SCRIPTS += bench/whatsapp-core
EXTRA_DIST += sim/README.md
