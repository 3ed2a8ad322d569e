/* The running ABI as text ("1.1"), for tests that check messages naming it. */
#ifndef DG_TESTS_ABI_NOW_H
#define DG_TESTS_ABI_NOW_H

#include <duegate/plugin.h>

#define XSTR_(x) #x
#define XSTR(x) XSTR_(x)
#define ABI_NOW XSTR(DG_ABI_MAJOR) "." XSTR(DG_ABI_MINOR)

#endif
