# Shopify store plugin (protocols.md section C), its simulator persona and
# their tests. sp_util.c (JSON with exact ids, money, times, phones) is a
# convenience library shared by the plugin, its tests and the simulator.
noinst_LTLIBRARIES += plugins/shopify/libsputil.la
plugins_shopify_libsputil_la_SOURCES = plugins/shopify/sp_util.c plugins/shopify/sp.h
plugins_shopify_libsputil_la_CFLAGS = $(PLUGIN_CFLAGS) $(CJSON_CFLAGS)

SHOPIFY_SOURCES = plugins/shopify/shopify.c plugins/shopify/sp_map.c \
	plugins/shopify/sp_gql.c plugins/shopify/sp_verify.c plugins/shopify/sp.h
pkgplugin_LTLIBRARIES += plugins/shopify.la
plugins_shopify_la_SOURCES = $(SHOPIFY_SOURCES)
plugins_shopify_la_CFLAGS = $(PLUGIN_CFLAGS) $(CJSON_CFLAGS)
plugins_shopify_la_LDFLAGS = $(PLUGIN_LDFLAGS)
plugins_shopify_la_LIBADD = plugins/shopify/libsputil.la $(CJSON_LIBS) -lm
EXTRA_DIST += plugins/shopify/README.md

include $(top_srcdir)/sim/local.mk
include $(top_srcdir)/tests/plugins/shopify/local.mk

# bench/shopify-webhook: CPU cost of the webhook path (built with make)
noinst_PROGRAMS += bench/shopify_webhook
bench_shopify_webhook_SOURCES = bench/shopify_webhook.c plugins/shopify/sp_map.c
bench_shopify_webhook_CFLAGS = $(AM_CFLAGS) $(CJSON_CFLAGS) $(UV_CFLAGS)
bench_shopify_webhook_LDADD = plugins/shopify/libsputil.la core/libdgcore.la $(CJSON_LIBS) -lm
EXTRA_DIST += bench/shopify-webhook
