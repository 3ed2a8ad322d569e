#include <stdlib.h>
#include <string.h>
#include <stdio.h>
#include <time.h>
#include <sys/time.h>

#include <duegate/types.h>

#include "clock.h"

struct dg_ctimer {
    dg_clock *clock;
    uv_timer_t uv;      /* REAL/SCALED */
    int64_t due;        /* MANUAL: absolute clock time */
    int64_t repeat;
    void (*cb)(void *);
    void *ud;
    int firing;
    int stopped;
    dg_ctimer *prev, *next; /* all armed timers of the clock */
};

struct dg_clock {
    uv_loop_t *loop;
    dg_clock_mode mode;
    int64_t start_ms;   /* SCALED/MANUAL origin */
    uint64_t hr0;       /* SCALED: uv_hrtime when virtual time was start_ms */
    double rate;
    int64_t now_manual;
    dg_ctimer *timers;
};

static int64_t wall_ms(void)
{
    struct timeval tv;
    gettimeofday(&tv, NULL);
    return (int64_t)tv.tv_sec * 1000 + tv.tv_usec / 1000;
}

dg_clock *dg_clock_new(uv_loop_t *loop, dg_clock_mode mode, int64_t start_ms, double rate)
{
    dg_clock *c;
    if (mode != DG_CLOCK_MANUAL && loop == NULL)
        return NULL;
    if (mode == DG_CLOCK_SCALED && !(rate > 0))
        return NULL;
    c = calloc(1, sizeof *c);
    if (!c)
        return NULL;
    c->loop = loop;
    c->mode = mode;
    c->rate = rate > 0 ? rate : 1.0;
    c->start_ms = start_ms ? start_ms : wall_ms();
    c->hr0 = uv_hrtime();
    c->now_manual = c->start_ms;
    return c;
}

dg_clock_mode dg_clock_mode_of(const dg_clock *c) { return c->mode; }

int dg_clock_anchor(dg_clock *c, int64_t wall_at_start)
{
    if (c->mode != DG_CLOCK_SCALED || c->timers)
        return DG_EINVAL;
    /* elapsed = hrtime - hr0 = wall now - anchor, read once here; from then
     * on the monotonic clock keeps it (a wall-clock step does not move it) */
    int64_t ahead = wall_ms() - wall_at_start;
    c->hr0 = uv_hrtime() - (uint64_t)(ahead * 1000000); /* wraps if ahead < 0 */
    return DG_OK;
}

int64_t dg_clock_now(const dg_clock *c)
{
    switch (c->mode) {
    case DG_CLOCK_SCALED:
        return c->start_ms + (int64_t)((double)(int64_t)(uv_hrtime() - c->hr0) / 1e6 * c->rate);
    case DG_CLOCK_MANUAL:
        return c->now_manual;
    default:
        return wall_ms();
    }
}

static void link_timer(dg_clock *c, dg_ctimer *t)
{
    t->prev = NULL;
    t->next = c->timers;
    if (c->timers)
        c->timers->prev = t;
    c->timers = t;
}

static void unlink_timer(dg_ctimer *t)
{
    if (t->prev)
        t->prev->next = t->next;
    else if (t->clock->timers == t)
        t->clock->timers = t->next;
    if (t->next)
        t->next->prev = t->prev;
    t->prev = t->next = NULL;
}

static void uv_closed(uv_handle_t *h) { free(h->data); }

static void release(dg_ctimer *t)
{
    unlink_timer(t);
    if (t->clock->mode == DG_CLOCK_MANUAL) {
        free(t);
    } else {
        uv_timer_stop(&t->uv);
        uv_close((uv_handle_t *)&t->uv, uv_closed);
    }
}

static uint64_t real_delay(const dg_clock *c, int64_t ms)
{
    double d;
    if (ms <= 0)
        return 0;
    d = (c->mode == DG_CLOCK_SCALED) ? (double)ms / c->rate : (double)ms;
    return (uint64_t)(d + 0.999);
}

static void on_uv_timer(uv_timer_t *h)
{
    dg_ctimer *t = h->data;
    t->firing = 1;
    t->cb(t->ud);
    t->firing = 0;
    if (t->stopped || t->repeat <= 0)
        release(t);
}

dg_ctimer *dg_ctimer_start(dg_clock *c, int64_t delay_ms, int64_t repeat_ms,
                           void (*cb)(void *ud), void *ud)
{
    dg_ctimer *t = calloc(1, sizeof *t);
    if (!t)
        return NULL;
    t->clock = c;
    t->cb = cb;
    t->ud = ud;
    t->repeat = repeat_ms > 0 ? repeat_ms : 0;
    if (delay_ms < 0)
        delay_ms = 0;
    if (c->mode == DG_CLOCK_MANUAL) {
        t->due = c->now_manual + delay_ms;
    } else {
        uv_timer_init(c->loop, &t->uv);
        t->uv.data = t;
        uv_timer_start(&t->uv, on_uv_timer, real_delay(c, delay_ms),
                       t->repeat ? (real_delay(c, t->repeat) ? real_delay(c, t->repeat) : 1) : 0);
    }
    link_timer(c, t);
    return t;
}

void dg_ctimer_stop(dg_ctimer *t)
{
    if (!t || t->stopped)
        return;
    t->stopped = 1;
    if (t->firing)
        return; /* released when its callback returns */
    release(t);
}

void dg_clock_free(dg_clock *c)
{
    if (!c)
        return;
    while (c->timers) {
        c->timers->stopped = 1;
        release(c->timers);
    }
    free(c);
}

int64_t dg_clock_next_due(const dg_clock *c)
{
    int64_t best = -1;
    if (c->mode != DG_CLOCK_MANUAL)
        return -1;
    for (const dg_ctimer *t = c->timers; t; t = t->next)
        if (!t->stopped && (best < 0 || t->due < best))
            best = t->due;
    return best;
}

int dg_clock_advance_to(dg_clock *c, int64_t target)
{
    int fired = 0;
    if (c->mode != DG_CLOCK_MANUAL || target < c->now_manual)
        return DG_EINVAL;
    for (;;) {
        dg_ctimer *next = NULL;
        for (dg_ctimer *t = c->timers; t; t = t->next)
            if (!t->stopped && t->due <= target && (!next || t->due < next->due))
                next = t;
        if (!next)
            break;
        if (next->due > c->now_manual)
            c->now_manual = next->due;
        next->firing = 1;
        next->cb(next->ud);
        next->firing = 0;
        fired++;
        if (next->stopped || next->repeat <= 0)
            release(next);
        else
            next->due += next->repeat;
    }
    c->now_manual = target;
    return fired;
}

int dg_clock_advance(dg_clock *c, int64_t ms)
{
    if (c->mode != DG_CLOCK_MANUAL || ms < 0)
        return DG_EINVAL;
    return dg_clock_advance_to(c, c->now_manual + ms);
}

/* Days from civil date (proleptic Gregorian), Howard Hinnant's algorithm. */
static int64_t days_from_civil(int64_t y, unsigned m, unsigned d)
{
    y -= m <= 2;
    const int64_t era = (y >= 0 ? y : y - 399) / 400;
    const unsigned yoe = (unsigned)(y - era * 400);
    const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + (int64_t)doe - 719468;
}

int dg_parse_iso8601(const char *s, int64_t *out_ms)
{
    int y, mo, d, h = 0, mi = 0, sec = 0, n = 0, ms = 0, off = 0;
    const char *p;
    if (!s || sscanf(s, "%4d-%2d-%2d%n", &y, &mo, &d, &n) != 3)
        return DG_EINVAL;
    p = s + n;
    if (*p == 'T' || *p == ' ') {
        n = 0;
        if (sscanf(p + 1, "%2d:%2d:%2d%n", &h, &mi, &sec, &n) != 3)
            return DG_EINVAL;
        p += 1 + n;
        if (*p == '.') {
            int digits = 0;
            p++;
            while (*p >= '0' && *p <= '9') {
                if (digits < 3) {
                    ms = ms * 10 + (*p - '0');
                    digits++;
                }
                p++;
            }
            while (digits++ < 3)
                ms *= 10;
        }
        if (*p == 'Z') {
            p++;
        } else if (*p == '+' || *p == '-') {
            int oh, om;
            int sign = *p == '-' ? -1 : 1;
            if (sscanf(p + 1, "%2d:%2d", &oh, &om) != 2)
                return DG_EINVAL;
            off = sign * (oh * 60 + om);
            p += 6;
        } else {
            return DG_EINVAL;
        }
    }
    if (*p != '\0' || mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || sec > 60)
        return DG_EINVAL;
    *out_ms = ((days_from_civil(y, (unsigned)mo, (unsigned)d) * 86400 + h * 3600 + mi * 60 + sec -
                (int64_t)off * 60) *
               1000) +
              ms;
    return 0;
}

void dg_format_iso8601(int64_t ms, char *out, size_t len)
{
    time_t t = (time_t)(ms >= 0 ? ms / 1000 : (ms - 999) / 1000);
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(out, len, "%Y-%m-%dT%H:%M:%SZ", &tm);
}
