#include <stdarg.h>
#include <stdio.h>

#include <duegate/types.h>

#include "error.h"

const char *dg_strerror(int code)
{
    switch (code) {
    case DG_OK: return "ok";
    case DG_PENDING: return "pending";
    case DG_EINVAL: return "invalid argument";
    case DG_ENOMEM: return "out of memory";
    case DG_ENOTFOUND: return "not found";
    case DG_EEXIST: return "already exists";
    case DG_ENOTSUP: return "not supported";
    case DG_ESTATE: return "wrong state";
    case DG_EIO: return "I/O error";
    case DG_EPROTO: return "protocol error";
    case DG_ETIMEDOUT: return "timed out";
    case DG_ECANCELED: return "canceled";
    case DG_EABI: return "ABI mismatch";
    case DG_ECONFIG: return "configuration error";
    default: return "unknown error";
    }
}

void dg_errf(char *buf, size_t len, const char *fmt, ...)
{
    va_list ap;
    if (buf == NULL || len == 0)
        return;
    va_start(ap, fmt);
    vsnprintf(buf, len, fmt, ap);
    va_end(ap);
}
