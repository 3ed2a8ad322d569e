# Admin API, metrics, health and the operator console (issue 10).
core_libdgcore_la_SOURCES += \
	core/admin.c core/admin.h core/admin_int.h \
	core/admin_cases.c \
	core/cmd_cases.c
AM_CPPFLAGS += -DDG_CONSOLEDIR=\"$(pkgdatadir)/console\"

# The console's static files, installed under $(pkgdatadir)/console.
consoledir = $(pkgdatadir)/console
dist_console_DATA = console/index.html console/app.js console/style.css

# ---- tests: the API on a real listener (engine fixture, manual clock),
# metrics through promtool; the console in headless Chromium (tests/browser).
ADMIN_TESTS = tests/admin/test_admin tests/admin/test_admin_daemon
check_PROGRAMS += $(ADMIN_TESTS)
TESTS += $(ADMIN_TESTS)
tests_admin_test_admin_SOURCES = tests/admin/test_admin.c
tests_admin_test_admin_CFLAGS = $(TEST_CFLAGS) -DDG_TEST_CONSOLE_DIR=\"$(abs_top_srcdir)/console\"
tests_admin_test_admin_LDADD = $(TEST_LIBS)

# Browser test (SKIP 77 unless chromium and tests/browser/node_modules exist);
# screenshots land in $(builddir)/tests/browser/artifacts.
check_PROGRAMS += tests/browser/seed_admin
tests_browser_seed_admin_SOURCES = tests/browser/seed_admin.c
tests_browser_seed_admin_CFLAGS = $(TEST_CFLAGS)
tests_browser_seed_admin_LDADD = $(TEST_LIBS)
TESTS += tests/browser/run.sh
EXTRA_DIST += tests/browser/run.sh tests/browser/console.mjs tests/browser/package.json \
	tests/browser/package-lock.json
CLEANFILES += tests/browser/artifacts/*.png
tests_admin_test_admin_daemon_SOURCES = tests/admin/test_admin_daemon.c \
	tests/integration/proc.c tests/integration/proc.h
tests_admin_test_admin_daemon_CFLAGS = $(TEST_CFLAGS)
tests_admin_test_admin_daemon_LDADD = $(TEST_LIBS)

# bench/admin: the admin API over many cases (built by `make bench-admin`).
EXTRA_PROGRAMS += bench/admin/bench_admin
CLEANFILES += bench/admin/bench_admin
bench_admin_bench_admin_SOURCES = bench/admin/bench_admin.c
bench_admin_bench_admin_CFLAGS = $(core_libdgcore_la_CFLAGS)
bench_admin_bench_admin_LDADD = core/libdgcore.la
dist_noinst_SCRIPTS += bench/admin/run.sh
bench-admin: bench/admin/bench_admin
	$(top_srcdir)/bench/admin/run.sh $(builddir)/bench/admin/bench_admin
.PHONY: bench-admin
