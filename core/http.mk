# HTTP in the core (issue 4): the webhook/admin server, the provider client,
# their tests and benches. Sources join the core convenience library.
core_libdgcore_la_SOURCES += \
	core/http_server.c core/http_server.h core/http_server_int.h \
	core/http_conn.c \
	core/http_client.c core/http_client_util.c core/http_client.h

# ---- tests: the server against raw sockets, the client against the server
# (same process and a forked one), SMTP against python3-aiosmtpd.
noinst_LTLIBRARIES += tests/http/librawhttp.la
tests_http_librawhttp_la_SOURCES = tests/http/rawhttp.c tests/http/rawhttp.h
tests_http_librawhttp_la_CFLAGS = $(TEST_CFLAGS) -pthread
HTTP_TESTS = tests/http/test_http_server tests/http/test_http_client tests/http/test_host_http
check_PROGRAMS += $(HTTP_TESTS)
TESTS += $(HTTP_TESTS)
tests_http_test_http_server_CFLAGS = $(TEST_CFLAGS) -pthread
tests_http_test_http_server_LDADD = tests/http/librawhttp.la $(TEST_LIBS) -lpthread
tests_http_test_http_client_CFLAGS = $(TEST_CFLAGS) $(CURL_CFLAGS) -pthread
tests_http_test_http_client_LDADD = tests/http/librawhttp.la $(TEST_LIBS) $(CURL_LIBS) -lpthread
tests_http_test_host_http_CFLAGS = $(TEST_CFLAGS)
tests_http_test_host_http_LDADD = $(TEST_LIBS)

# ---- bench programs (built by bench/http-ingest and bench/http-client, not
# by make or make check)
EXTRA_PROGRAMS += bench/src/bare_server bench/src/ingest_server bench/src/client_bench
CLEANFILES += $(EXTRA_PROGRAMS)
bench_src_bare_server_SOURCES = bench/src/bare_server.c
bench_src_bare_server_CFLAGS = $(AM_CFLAGS) $(UV_CFLAGS)
bench_src_bare_server_LDADD = $(UV_LIBS) $(HTTP_PARSER_LIBS)
bench_src_ingest_server_SOURCES = bench/src/ingest_server.c
bench_src_ingest_server_CFLAGS = $(core_libdgcore_la_CFLAGS)
bench_src_ingest_server_LDADD = core/libdgcore.la
bench_src_client_bench_SOURCES = bench/src/client_bench.c
bench_src_client_bench_CFLAGS = $(core_libdgcore_la_CFLAGS)
bench_src_client_bench_LDADD = core/libdgcore.la
EXTRA_DIST += bench/http-ingest bench/http-client
