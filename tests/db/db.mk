# Group commit in core/db.c: one COMMIT per loop iteration, callbacks after
# it, failures reaching every writer, savepoints, synchronous without a loop.
check_PROGRAMS += tests/db/test_db_batch
TESTS += tests/db/test_db_batch
tests_db_test_db_batch_SOURCES = tests/db/test_db_batch.c
tests_db_test_db_batch_CFLAGS = $(TEST_CFLAGS)
tests_db_test_db_batch_LDADD = $(TEST_LIBS)
# ... and through the engine's order sink (acknowledged after the commit).
check_PROGRAMS += tests/engine/test_engine_gc
TESTS += tests/engine/test_engine_gc
tests_engine_test_engine_gc_SOURCES = tests/engine/test_engine_gc.c tests/engine/efix.h
tests_engine_test_engine_gc_CFLAGS = $(TEST_CFLAGS)
tests_engine_test_engine_gc_LDADD = $(TEST_LIBS)
