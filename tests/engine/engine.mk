# Engine tests: rules on a manual clock with simulated channels, and a
# property test over random orders and events.
ENGINE_TESTS = tests/engine/test_engine tests/engine/test_engine_cfg \
	tests/engine/test_engine_prop
check_PROGRAMS += $(ENGINE_TESTS)
TESTS += $(ENGINE_TESTS)
tests_engine_test_engine_SOURCES = tests/engine/test_engine.c tests/engine/efix.h
tests_engine_test_engine_CFLAGS = $(TEST_CFLAGS)
tests_engine_test_engine_LDADD = $(TEST_LIBS)
tests_engine_test_engine_prop_SOURCES = tests/engine/test_engine_prop.c tests/engine/efix.h
tests_engine_test_engine_prop_CFLAGS = $(TEST_CFLAGS)
tests_engine_test_engine_prop_LDADD = $(TEST_LIBS)
tests_engine_test_engine_cfg_SOURCES = tests/engine/test_engine_cfg.c tests/engine/efix.h
tests_engine_test_engine_cfg_CFLAGS = $(TEST_CFLAGS)
tests_engine_test_engine_cfg_LDADD = $(TEST_LIBS)
