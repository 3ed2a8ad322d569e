# sim/duegate-sim: the WhatsApp, Twilio and Shopify personas behind one
# listener of the core's HTTP server, webhooks out through the core's client
# (sim/README.md). Used by the integration tests, the demo and the benches.
bin_PROGRAMS += sim/duegate-sim
sim_duegate_sim_SOURCES = sim/duegate_sim.c sim/sim_control.c sim/sim_int.h
sim_duegate_sim_CFLAGS = $(AM_CFLAGS) $(UV_CFLAGS) $(CURL_CFLAGS) $(CJSON_CFLAGS)
sim_duegate_sim_LDADD = sim/libwasim.la sim/libtwiliosim.la sim/libshopsim.la \
	plugins/shopify/libsputil.la core/libdgcore.la $(CJSON_LIBS) $(UV_LIBS) -lm

# The daemon's manual-clock control route (a testing aid, core/testclock.h),
# owned by this issue: it exists for the integration tests below.
core_libdgcore_la_SOURCES += core/testclock.c core/testclock.h
