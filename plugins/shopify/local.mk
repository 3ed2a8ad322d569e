# Shopify store plugin (protocols.md section C).
SHOPIFY_SOURCES = plugins/shopify/shopify.c plugins/shopify/sp_map.c \
	plugins/shopify/sp_gql.c plugins/shopify/sp_util.c plugins/shopify/sp.h
pkgplugin_LTLIBRARIES += plugins/shopify.la
plugins_shopify_la_SOURCES = $(SHOPIFY_SOURCES)
plugins_shopify_la_CFLAGS = $(PLUGIN_CFLAGS) $(CJSON_CFLAGS)
plugins_shopify_la_LDFLAGS = $(PLUGIN_LDFLAGS)
plugins_shopify_la_LIBADD = $(CJSON_LIBS) -lm
EXTRA_DIST += plugins/shopify/README.md
