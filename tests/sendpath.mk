# Tests of the send-path speed work (issue 7's bench target): the engine's
# cap on sends in flight, the kv store's cached statements and expiry, the
# ICU caches of core/intl.c, the WhatsApp bodies written without cJSON, the
# database's background checkpoints.
SENDPATH_TESTS = tests/engine/test_engine_cap tests/db/test_kv tests/unit/test_intl_cache \
	tests/plugins/test_wa_body_bytes tests/db/test_db_ckpt
check_PROGRAMS += $(SENDPATH_TESTS)
TESTS += $(SENDPATH_TESTS)
tests_engine_test_engine_cap_SOURCES = tests/engine/test_engine_cap.c tests/engine/efix.h
tests_engine_test_engine_cap_CFLAGS = $(TEST_CFLAGS)
tests_engine_test_engine_cap_LDADD = $(TEST_LIBS)
tests_db_test_kv_SOURCES = tests/db/test_kv.c
tests_db_test_kv_CFLAGS = $(TEST_CFLAGS)
tests_db_test_kv_LDADD = $(TEST_LIBS)
tests_unit_test_intl_cache_SOURCES = tests/unit/test_intl_cache.c
tests_unit_test_intl_cache_CFLAGS = $(TEST_CFLAGS)
tests_unit_test_intl_cache_LDADD = $(TEST_LIBS)
tests_plugins_test_wa_body_bytes_SOURCES = tests/plugins/test_wa_body_bytes.c $(WA_SOURCES)
tests_plugins_test_wa_body_bytes_CFLAGS = $(WA_TEST_CFLAGS)
tests_plugins_test_wa_body_bytes_LDADD = $(WA_TEST_LIBS)
tests_db_test_db_ckpt_SOURCES = tests/db/test_db_ckpt.c
tests_db_test_db_ckpt_CFLAGS = $(TEST_CFLAGS)
tests_db_test_db_ckpt_LDADD = $(TEST_LIBS)
