# The daemon: every module in a convenience library (tests link it too),
# main.c on top.
noinst_LTLIBRARIES += core/libdgcore.la
core_libdgcore_la_SOURCES = \
	core/error.c core/error.h \
	core/log.c core/log.h \
	core/clock.c core/clock.h \
	core/crypto.c core/crypto.h \
	core/form.c core/form.h \
	core/config.c core/config.h \
	core/db.c core/db.h \
	core/inbox.c core/inbox.h core/inbox_int.h core/inbox_write.c core/inbox_deliver.c \
	core/offload.c core/offload.h \
	core/kv.c core/kv.h \
	core/metrics.c core/metrics.h \
	core/loader.c core/loader.h \
	core/runtime.h \
	core/instance.c core/instance.h \
	core/host.c \
	core/host_http.c core/host_http.h \
	core/message.c core/message.h \
	core/daemon.c core/daemon.h
core_libdgcore_la_CFLAGS = $(AM_CFLAGS) $(UV_CFLAGS) $(CURL_CFLAGS) $(CJSON_CFLAGS) \
	$(SQLITE_CFLAGS) $(CRYPTO_CFLAGS) $(ICU_CFLAGS) $(ZLIB_CFLAGS)
core_libdgcore_la_LIBADD = $(UV_LIBS) $(CURL_LIBS) $(CJSON_LIBS) $(SQLITE_LIBS) \
	$(CRYPTO_LIBS) $(ICU_LIBS) $(ZLIB_LIBS) $(HTTP_PARSER_LIBS) $(LTDL_LIBS) -ldl -lm

bin_PROGRAMS += duegate
duegate_SOURCES = core/main.c
duegate_CFLAGS = $(core_libdgcore_la_CFLAGS)
duegate_LDADD = core/libdgcore.la
