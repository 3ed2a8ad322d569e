# bench/engine: 1,000,000 open cases; prints start time, RSS and due
# actions/s. Built with `make`, run with bench/engine/run.sh.
noinst_PROGRAMS += bench/engine/bench_engine
bench_engine_bench_engine_SOURCES = bench/engine/bench_engine.c
bench_engine_bench_engine_CFLAGS = $(AM_CFLAGS) $(UV_CFLAGS) $(CJSON_CFLAGS) $(SQLITE_CFLAGS)
bench_engine_bench_engine_LDADD = core/libdgcore.la
dist_noinst_SCRIPTS += bench/engine/run.sh
bench-engine: bench/engine/bench_engine
	$(top_srcdir)/bench/engine/run.sh $(builddir)/bench/engine/bench_engine
.PHONY: bench-engine
