# WhatsApp Cloud API channel plugin, its fake-host tests, and the
# networking-free Cloud API simulator core (sim/wa_sim.c).
WA_SOURCES = plugins/whatsapp/whatsapp.c plugins/whatsapp/wa.h plugins/whatsapp/wa_body.c \
	plugins/whatsapp/wa_errors.c plugins/whatsapp/wa_pace.c plugins/whatsapp/wa_webhook.c

pkgplugin_LTLIBRARIES += plugins/whatsapp.la
plugins_whatsapp_la_SOURCES = $(WA_SOURCES)
plugins_whatsapp_la_CFLAGS = $(PLUGIN_CFLAGS) $(CJSON_CFLAGS)
plugins_whatsapp_la_LDFLAGS = $(PLUGIN_LDFLAGS)
plugins_whatsapp_la_LIBADD = $(CJSON_LIBS)
EXTRA_DIST += plugins/whatsapp/README.md

include $(top_srcdir)/tests/plugins/whatsapp.mk
include $(top_srcdir)/sim/wa_sim.mk
