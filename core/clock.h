/* The one clock every scheduling decision reads, and timers on it.
 *
 * REAL:   wall-clock time; timers are libuv timers.
 * SCALED: virtual time = start + elapsed real time x rate (the demo runs
 *         days in minutes); timers are libuv timers of delay / rate. Real
 *         time elapses from the clock's creation, or from a wall-clock
 *         anchor (dg_clock_anchor), so that several processes given the
 *         same start, rate and anchor read the same virtual time.
 * MANUAL: time moves only when dg_clock_advance is called (tests, simulate);
 *         due timers fire inside that call, in due order, each seeing
 *         dg_clock_now() equal to its due time.
 * All times are milliseconds since the Unix epoch. Loop thread only. */
#ifndef DG_CORE_CLOCK_H
#define DG_CORE_CLOCK_H

#include <stdint.h>
#include <uv.h>

typedef enum dg_clock_mode { DG_CLOCK_REAL = 0, DG_CLOCK_SCALED = 1, DG_CLOCK_MANUAL = 2 } dg_clock_mode;

typedef struct dg_clock dg_clock;
typedef struct dg_ctimer dg_ctimer;

/* `loop` may be NULL for MANUAL. `rate` is used by SCALED (> 0). */
dg_clock *dg_clock_new(uv_loop_t *loop, dg_clock_mode mode, int64_t start_ms, double rate);
/* Stops (and frees) every timer still armed. For libuv timers the loop must
 * run afterwards to finish closing their handles. */
void dg_clock_free(dg_clock *c);
dg_clock_mode dg_clock_mode_of(const dg_clock *c);
/* SCALED only (DG_EINVAL otherwise): virtual `start` is the wall-clock
 * instant `wall_ms` (ms since the epoch, may lie in the past) instead of the
 * clock's creation. Call before arming timers. */
int dg_clock_anchor(dg_clock *c, int64_t wall_ms);
int64_t dg_clock_now(const dg_clock *c);

/* Arm a timer `delay_ms` of clock time from now, repeating every repeat_ms
 * if > 0. Returns NULL on no memory. A one-shot timer frees itself after its
 * callback returns; dg_ctimer_stop frees it earlier (also from inside its own
 * callback); its callback is never called after that. */
dg_ctimer *dg_ctimer_start(dg_clock *c, int64_t delay_ms, int64_t repeat_ms,
                           void (*cb)(void *ud), void *ud);
void dg_ctimer_stop(dg_ctimer *t);

/* MANUAL only: move time forward by ms (to t), firing due timers. Returns
 * the number of callbacks run, or DG_EINVAL in another mode / backwards. */
int dg_clock_advance(dg_clock *c, int64_t ms);
int dg_clock_advance_to(dg_clock *c, int64_t t);
/* MANUAL only: due time of the earliest armed timer, or -1. */
int64_t dg_clock_next_due(const dg_clock *c);

/* Parse "2026-03-08T06:30:00Z" (UTC, 'Z' or +hh:mm offset, optional
 * fraction) into ms; returns 0 or DG_EINVAL. */
int dg_parse_iso8601(const char *s, int64_t *out_ms);
/* Format ms as "2026-03-08T06:30:00Z" into out (>= 21 bytes). */
void dg_format_iso8601(int64_t ms, char *out, size_t len);

#endif
