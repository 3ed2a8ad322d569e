/* The daemon's manual-clock control route, a TESTING AID (never enable in
 * production): with "daemon.clock": {"mode": "manual"} the webhook listener
 * also serves
 *   GET  /_duegate/clock                  -> {"now": ISO, "now_ms": N}
 *   POST /_duegate/clock {"advance_ms": N} (or {"to": ISO}) -> the clock moves
 *        forward, every engine and plugin timer that became due fires inside
 *        the call, in due order; the answer is the new time and "fired".
 * Integration tests drive the daemon's virtual time with it instead of
 * sleeping. Not registered in real or scaled mode. */
#ifndef DG_CORE_TESTCLOCK_H
#define DG_CORE_TESTCLOCK_H

#include "clock.h"
#include "http_server.h"

/* Register the route (clock must be MANUAL). Returns 0 or a DG_E* code. */
int dg_testclock_route(dg_http_server *s, dg_clock *clock);

#endif
