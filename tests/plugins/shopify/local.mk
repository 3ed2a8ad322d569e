# Tests of the Shopify store plugin (fake host), its sample payloads, and the
# simulator's Shopify persona (alone and in a closed loop with the plugin).
SHOPIFY_TESTS = tests/plugins/test_shopify tests/plugins/test_shopify_util \
	tests/plugins/test_shopify_sim tests/plugins/test_shopify_inbox
check_PROGRAMS += $(SHOPIFY_TESTS)
TESTS += $(SHOPIFY_TESTS)
tests_plugins_test_shopify_util_SOURCES = tests/plugins/test_shopify_util.c plugins/shopify/sp_map.c
tests_plugins_test_shopify_util_CFLAGS = $(TEST_CFLAGS)
tests_plugins_test_shopify_util_LDADD = plugins/shopify/libsputil.la $(TEST_LIBS) $(CJSON_LIBS) -lm
tests_plugins_test_shopify_SOURCES = tests/plugins/test_shopify.c tests/plugins/shopify_t.c \
	tests/plugins/shopify_t.h $(SHOPIFY_SOURCES)
tests_plugins_test_shopify_CFLAGS = $(TEST_CFLAGS)
tests_plugins_test_shopify_LDADD = tests/plugins/libfakehost.la plugins/shopify/libsputil.la \
	$(TEST_LIBS) $(CJSON_LIBS) -lm
tests_plugins_test_shopify_inbox_SOURCES = tests/plugins/test_shopify_inbox.c \
	tests/plugins/shopify_t.c tests/plugins/shopify_t.h $(SHOPIFY_SOURCES)
tests_plugins_test_shopify_inbox_CFLAGS = $(TEST_CFLAGS)
tests_plugins_test_shopify_inbox_LDADD = tests/plugins/libfakehost.la plugins/shopify/libsputil.la \
	$(TEST_LIBS) $(CJSON_LIBS) -lm
tests_plugins_test_shopify_sim_SOURCES = tests/plugins/test_shopify_sim.c \
	tests/plugins/shopify_t.c tests/plugins/shopify_t.h $(SHOPIFY_SOURCES)
tests_plugins_test_shopify_sim_CFLAGS = $(TEST_CFLAGS)
tests_plugins_test_shopify_sim_LDADD = sim/libshopsim.la tests/plugins/libfakehost.la \
	plugins/shopify/libsputil.la $(TEST_LIBS) $(CJSON_LIBS) -lm
EXTRA_DIST += tests/plugins/shopify/order_presale.json tests/plugins/shopify/order_presale_paid.json \
	tests/plugins/shopify/order_unpaid_jpy.json
