/* cmocka needs these before its header. */
#ifndef DG_TESTS_CM_H
#define DG_TESTS_CM_H
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#endif
