/* Sending windows in the customer's local time.
 *
 * A window is [start, end) in minutes after local midnight, start < end
 * (no window crosses midnight: "night never" is the complement of the
 * awake window). The window a touch may go out in is the intersection of:
 *   - the playbook's window (golden hours, default 09:00-11:00, or the
 *     awake window for playbooks where timing beats the hour);
 *   - the awake window (quiet_hours: never at night, default 08:00-21:00);
 *   - for SMS, the country's legal window (US/CA 08:00-21:00 recipient
 *     local), which config may tighten but never loosen.
 * Several zones (a multi-zone country with no province): a time is inside
 * the window only if it is inside in EVERY zone (the most restrictive
 * choice). When that intersection is empty (US golden hours span four
 * hours of offsets), dg_sched_next_open_multi widens to the next window in
 * the caller's list (the engine passes golden, then golden-start..awake-end,
 * then the awake window), so a customer in an unknown US zone gets the
 * first hour that is daytime everywhere in the country. */
#ifndef DG_CORE_SCHEDULE_H
#define DG_CORE_SCHEDULE_H

#include <stdint.h>

#include "tz.h"

typedef struct dg_window {
    int start, end; /* minutes of the local day, 0 <= start < end <= 1440 */
} dg_window;

/* "09:00-11:00" -> window; 0 or DG_EINVAL. */
int dg_window_parse(const char *s, dg_window *out);
/* Intersection; end <= start when empty. */
dg_window dg_window_and(dg_window a, dg_window b);
int dg_window_empty(dg_window w);

/* "30m", "-2d", "48h", "90s", "1500ms", "0" -> milliseconds; 0 or DG_EINVAL. */
int dg_duration_parse(const char *s, int64_t *out);

/* 1 if t is inside w in every zone of z. */
int dg_sched_inside(const dg_zones *z, dg_window w, int64_t t);
/* Earliest instant >= t inside w in every zone; -1 if none within 8 days. */
int64_t dg_sched_next_open(const dg_zones *z, dg_window w, int64_t t);
/* Try ws[0], ws[1], ... and return the first answer that exists; *used is
 * the index of the window that gave it. */
int64_t dg_sched_next_open_multi(const dg_zones *z, const dg_window *ws, int n, int64_t t,
                                 int *used);

#endif
