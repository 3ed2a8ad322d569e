/* core/intl.c keeps its ICU objects and a few results (number formatters,
 * calendars with the bounds of the last local day, formatted instants):
 * cached answers must equal fresh ones. Day differences are checked
 * against core/tz.c (another implementation) hour by hour across DST
 * changes; formatted texts against their first, uncached value while more
 * keys than the caches hold rotate through them. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include <duegate/types.h>

#include "intl.h"
#include "tz.h"

#define HOUR 3600000LL

/* Days since 1970-01-01 of a civil date (H. Hinnant's algorithm). */
static int64_t days_from_civil(int y, int m, int d)
{
    int64_t era;
    unsigned yoe, doy, doe;
    y -= m <= 2;
    era = (y >= 0 ? y : y - 399) / 400;
    yoe = (unsigned)(y - era * 400);
    doy = (unsigned)((153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1);
    doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + (int64_t)doe - 719468;
}

static int64_t local_day(const char *zone, int64_t t)
{
    int y, mo, d, h, mi;
    assert_int_equal(dg_tz_local(zone, t, &y, &mo, &d, &h, &mi), 0);
    return days_from_civil(y, mo, d);
}

/* Hour by hour over two weeks around each zone's spring and autumn change,
 * against a fixed deadline and against the previous hour (so the cached
 * local day is hit, left and refilled constantly). */
static void day_diff_across_dst(void **state)
{
    static const struct {
        const char *zone;
        int64_t from; /* a week before a change */
    } z[] = {
        {"America/New_York", 1772323200000LL}, /* 2026-03-01 */
        {"America/New_York", 1793404800000LL}, /* 2026-10-31 */
        {"Europe/Berlin", 1774224000000LL},    /* 2026-03-23 */
        {"America/Sao_Paulo", 1772323200000LL},
        {"Australia/Lord_Howe", 1775174400000LL}, /* half-hour DST, 2026-04-03 */
        {"Asia/Shanghai", 1772323200000LL},
    };
    (void)state;
    for (size_t k = 0; k < sizeof z / sizeof z[0]; k++) {
        int64_t deadline = z[k].from + 10 * 24 * HOUR + 17 * 60000LL;
        for (int64_t t = z[k].from; t < z[k].from + 14 * 24 * HOUR; t += HOUR + 60000LL) {
            int64_t d;
            assert_int_equal(dg_intl_day_diff(z[k].zone, t, deadline, &d), 0);
            assert_int_equal(d, local_day(z[k].zone, deadline) - local_day(z[k].zone, t));
            assert_int_equal(dg_intl_day_diff(z[k].zone, t - HOUR, t, &d), 0);
            assert_int_equal(d, local_day(z[k].zone, t) - local_day(z[k].zone, t - HOUR));
        }
    }
}

/* More (locale, zone, instant) keys than the result memo holds, in a
 * rotating order: each text equals the one formatted first. */
static void datetime_memo_rotation(void **state)
{
    static const char *const locs[] = {"en-US", "de-DE", "es-ES", "zh-CN", "pt-BR"};
    static const char *const tzs[] = {"UTC", "America/New_York", "Asia/Shanghai"};
    char first[40][128], again[128];
    (void)state;
    for (int round = 0; round < 3; round++)
        for (int i = 0; i < 40; i++) {
            int k = (i * 7 + round * 11) % 40;
            int64_t ms = 1772550000000LL + (int64_t)(k % 3) * 86400000LL;
            char *out = round == 0 ? first[k] : again;
            assert_int_equal(dg_intl_datetime(locs[k % 5], tzs[(k / 5) % 3], ms, out, 128), 0);
            if (round)
                assert_string_equal(again, first[k]);
        }
    /* a memoised text still honours the caller's buffer size */
    assert_int_equal(dg_intl_datetime(locs[0], tzs[0], 1772550000000LL, again, 8), DG_ENOMEM);
}

/* Number formatters by (locale, skeleton): money and durations for more
 * pairs than the cache holds, rotating, equal their first texts. */
static void number_format_rotation(void **state)
{
    static const char *const locs[] = {"en-US", "de-DE", "es-ES", "zh-CN", "pt-BR", "ja-JP",
                                       "fr-FR", "it-IT", "nl-NL", "sv-SE", "pl-PL", "tr-TR"};
    static const char *const curs[] = {"EUR", "USD", "BRL"};
    char first[72][128], again[128];
    (void)state;
    for (int round = 0; round < 3; round++)
        for (int i = 0; i < 72; i++) {
            int k = (i * 5 + round * 13) % 72;
            const char *loc = locs[k % 12];
            char *out = round == 0 ? first[k] : again;
            int kind = k / 12; /* 0..2 money in a currency, 3 days, 4 hours, 5 days again */
            if (kind < 3)
                assert_int_equal(dg_intl_money(loc, 123456 + k, curs[kind], out, 128), 0);
            else
                assert_int_equal(dg_intl_duration(loc, kind == 4 ? "hour" : "day", k, out, 128), 0);
            if (round)
                assert_string_equal(again, first[k]);
        }
    assert_string_not_equal(first[0], first[1]);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(day_diff_across_dst),
        cmocka_unit_test(datetime_memo_rotation),
        cmocka_unit_test(number_format_rotation),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
