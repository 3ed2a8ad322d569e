# The plugin SDK: the conformance kit (`duegate plugin-test`), part of the
# daemon's convenience library; the skeleton example, broken plugins and the
# SDK's tests and ABI check are in tests/sdk/local.mk.
core_libdgcore_la_SOURCES += \
	core/kithost.c core/kithost.h \
	core/kithost_config.c core/kithost_config.h \
	core/kithost_http.c core/kithost_http.h \
	core/kithost_state.c core/kithost_state.h \
	core/kithost_inbox.c core/kithost_inbox.h \
	core/kitcheck.c core/kitcheck.h \
	core/conformance.c core/conformance.h \
	core/cmd_plugin_test.c

include $(top_srcdir)/tests/sdk/local.mk
