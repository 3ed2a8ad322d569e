# The plugin SDK's conformance kit (`duegate plugin-test`), part of the
# daemon's convenience library.
core_libdgcore_la_SOURCES += \
	core/kithost.c core/kithost.h \
	core/conformance.c core/conformance.h \
	core/cmd_plugin_test.c
