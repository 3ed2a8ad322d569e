pkgplugin_LTLIBRARIES += plugins/sms.la
plugins_sms_la_SOURCES = plugins/sms/sms.c plugins/sms/twilio_sig.c plugins/sms/twilio_sig.h
plugins_sms_la_CFLAGS = $(PLUGIN_CFLAGS) $(CJSON_CFLAGS)
plugins_sms_la_LDFLAGS = $(PLUGIN_LDFLAGS)
plugins_sms_la_LIBADD = $(CJSON_LIBS)
EXTRA_DIST += plugins/sms/README.md
