pkgplugin_LTLIBRARIES += plugins/email.la
plugins_email_la_SOURCES = plugins/email/email.c plugins/email/email_routes.c \
	plugins/email/email_int.h plugins/email/mime.c plugins/email/mime.h
plugins_email_la_CFLAGS = $(PLUGIN_CFLAGS) $(CJSON_CFLAGS)
plugins_email_la_LDFLAGS = $(PLUGIN_LDFLAGS)
plugins_email_la_LIBADD = $(CJSON_LIBS)
EXTRA_DIST += plugins/email/README.md
