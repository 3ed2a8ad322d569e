#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <duegate/types.h>

#include "schedule.h"

static int parse_hhmm(const char *s, int *out)
{
    int h, m, n = 0;
    if (sscanf(s, "%2d:%2d%n", &h, &m, &n) != 2 || n != 5 || h < 0 || h > 24 || m < 0 || m > 59 ||
        (h == 24 && m != 0))
        return DG_EINVAL;
    *out = h * 60 + m;
    return 0;
}

int dg_window_parse(const char *s, dg_window *out)
{
    if (!s || strlen(s) != 11 || s[5] != '-')
        return DG_EINVAL;
    if (parse_hhmm(s, &out->start) || parse_hhmm(s + 6, &out->end) || out->start >= out->end)
        return DG_EINVAL;
    return 0;
}

dg_window dg_window_and(dg_window a, dg_window b)
{
    dg_window w = {a.start > b.start ? a.start : b.start, a.end < b.end ? a.end : b.end};
    return w;
}

int dg_window_empty(dg_window w)
{
    return w.end <= w.start;
}

int dg_duration_parse(const char *s, int64_t *out)
{
    char *end;
    double v;
    int64_t mul;
    if (!s || !*s)
        return DG_EINVAL;
    v = strtod(s, &end);
    if (end == s)
        return DG_EINVAL;
    if (strcmp(end, "ms") == 0)
        mul = 1;
    else if (strcmp(end, "s") == 0)
        mul = 1000;
    else if (strcmp(end, "m") == 0 || strcmp(end, "min") == 0)
        mul = 60000;
    else if (strcmp(end, "h") == 0)
        mul = 3600000;
    else if (strcmp(end, "d") == 0)
        mul = 86400000;
    else if (*end == '\0' && v == 0)
        mul = 0;
    else
        return DG_EINVAL;
    if (v > 3650 * 86400000.0 / (double)(mul ? mul : 1) ||
        v < -3650 * 86400000.0 / (double)(mul ? mul : 1))
        return DG_EINVAL;
    *out = (int64_t)(v * (double)mul);
    return 0;
}

static int minute_of(const char *zone, int64_t t, int *m)
{
    int h, mi;
    if (dg_tz_local(zone, t, NULL, NULL, NULL, &h, &mi) != 0)
        return -1;
    *m = h * 60 + mi;
    return 0;
}

/* Earliest instant >= t inside w in one zone. */
static int64_t next_open1(const char *zone, dg_window w, int64_t t)
{
    int m;
    int64_t r;
    if (minute_of(zone, t, &m) != 0)
        return -1;
    if (m >= w.start && m < w.end)
        return t;
    r = dg_tz_at_local(zone, t, m < w.start ? 0 : 1, w.start);
    /* A DST gap can swallow the opening minute: check and step a day on. */
    for (int i = 0; r >= 0 && i < 3; i++) {
        if (r >= t && minute_of(zone, r, &m) == 0 && m >= w.start && m < w.end)
            return r;
        r = dg_tz_at_local(zone, t, i + 1 + (m < w.start ? 0 : 1), w.start);
    }
    return r;
}

int dg_sched_inside(const dg_zones *z, dg_window w, int64_t t)
{
    for (int i = 0; i < z->n; i++) {
        int m;
        if (minute_of(z->z[i], t, &m) != 0 || m < w.start || m >= w.end)
            return 0;
    }
    return z->n > 0;
}

int64_t dg_sched_next_open(const dg_zones *z, dg_window w, int64_t t)
{
    int64_t limit = t + 8 * 86400000LL;
    if (dg_window_empty(w) || z->n <= 0)
        return -1;
    /* Fixed point: move to each zone's next opening until all agree. */
    for (int iter = 0; iter < 64 && t <= limit; iter++) {
        int64_t cand = t;
        for (int i = 0; i < z->n; i++) {
            int64_t r = next_open1(z->z[i], w, cand);
            if (r < 0)
                return -1;
            if (r > cand)
                cand = r;
        }
        if (cand == t && dg_sched_inside(z, w, t))
            return t;
        if (cand == t) /* inside in the last zone only: step a minute */
            cand = t + 60000;
        t = cand;
    }
    return -1;
}

int64_t dg_sched_next_open_multi(const dg_zones *z, const dg_window *ws, int n, int64_t t,
                                 int *used)
{
    for (int i = 0; i < n; i++) {
        int64_t r = dg_sched_next_open(z, ws[i], t);
        if (r >= 0) {
            if (used)
                *used = i;
            return r;
        }
    }
    return -1;
}
