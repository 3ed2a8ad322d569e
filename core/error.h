/* Error codes: the DG_E* values of <duegate/types.h> and their messages. */
#ifndef DG_CORE_ERROR_H
#define DG_CORE_ERROR_H

/* A short, static, human-readable text for a DG_* return code. */
const char *dg_strerror(int code);

/* Format a one-line message into buf (always NUL-terminated; truncates). */
void dg_errf(char *buf, size_t len, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif
