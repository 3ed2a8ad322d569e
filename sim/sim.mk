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

# ---- integration: the real daemon + duegate-sim + a real SMTP server
# (python3-aiosmtpd), both clocks manual, ports read back (tests/integration/
# simharness.py). Needs the plugins and both programs built.
EXTRA_DIST += tests/integration/simharness.py tests/integration/test_e2e.py \
	tests/integration/test_burst.py tests/integration/test_sim.py tests/integration/test_crash.py
TEST_EXTENSIONS = .py
PY_LOG_COMPILER = $(PYTHON3)
if HAVE_PYTHON3
TESTS += tests/integration/test_e2e.py tests/integration/test_burst.py tests/integration/test_sim.py \
	tests/integration/test_crash.py
endif

# ---- bench/whatsapp-send: the bare curl-multi loop it compares with
# (built by the script, not by make).
EXTRA_PROGRAMS += bench/src/wa_bare_post
bench_src_wa_bare_post_SOURCES = bench/src/wa_bare_post.c
bench_src_wa_bare_post_CFLAGS = $(AM_CFLAGS) $(CURL_CFLAGS) -O2
bench_src_wa_bare_post_LDADD = $(CURL_LIBS)
EXTRA_DIST += bench/whatsapp-send
