# Tests of the template modules (core/templates.mk).
TEMPLATE_TESTS = tests/templates/test_template_syntax tests/templates/test_templates
check_PROGRAMS += $(TEMPLATE_TESTS)
TESTS += $(TEMPLATE_TESTS)
tests_templates_test_template_syntax_SOURCES = tests/templates/test_template_syntax.c
tests_templates_test_template_syntax_CFLAGS = $(TEST_CFLAGS)
tests_templates_test_template_syntax_LDADD = $(TEST_LIBS)
tests_templates_test_templates_SOURCES = tests/templates/test_templates.c tests/templates/tdir.h
tests_templates_test_templates_CFLAGS = $(TEST_CFLAGS)
tests_templates_test_templates_LDADD = $(TEST_LIBS)
