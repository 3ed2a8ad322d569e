pkgplugin_LTLIBRARIES += plugins/jsonl.la
plugins_jsonl_la_SOURCES = plugins/jsonl/jsonl.c
plugins_jsonl_la_CFLAGS = $(PLUGIN_CFLAGS) $(CJSON_CFLAGS)
plugins_jsonl_la_LDFLAGS = $(PLUGIN_LDFLAGS)
plugins_jsonl_la_LIBADD = $(CJSON_LIBS)
EXTRA_DIST += plugins/jsonl/README.md
