# Admin API, metrics, health and the operator console (issue 10).
core_libdgcore_la_SOURCES += \
	core/admin.c core/admin.h core/admin_int.h \
	core/admin_cases.c \
	core/cmd_cases.c
AM_CPPFLAGS += -DDG_CONSOLEDIR=\"$(pkgdatadir)/console\"

# The console's static files, installed under $(pkgdatadir)/console.
consoledir = $(pkgdatadir)/console
dist_console_DATA = console/index.html console/app.js console/style.css
