# Tests of the Shopify store plugin (fake host) and sample payloads.
check_PROGRAMS += tests/plugins/test_shopify
TESTS += tests/plugins/test_shopify
tests_plugins_test_shopify_SOURCES = tests/plugins/test_shopify.c $(SHOPIFY_SOURCES)
tests_plugins_test_shopify_CFLAGS = $(TEST_CFLAGS)
tests_plugins_test_shopify_LDADD = tests/plugins/libfakehost.la $(TEST_LIBS) $(CJSON_LIBS) -lm
EXTRA_DIST += tests/plugins/shopify/order_presale.json tests/plugins/shopify/order_presale_paid.json \
	tests/plugins/shopify/order_unpaid_jpy.json
