/* A customer's time zone, and local wall-clock arithmetic on it (ICU ucal,
 * DST included).
 *
 * Resolution order (dg_tz_resolve):
 *   1. an explicit IANA hint that ICU knows;
 *   2. the address: province + country (built-in table for US, CA, AU, BR,
 *      MX), or the country alone when it has a single zone;
 *   3. the phone's country calling code (longest-prefix table; +1 is read as
 *      the United States);
 *   4. the store's zone (engine.store_tz, default UTC).
 * A multi-zone country without a known province yields every zone of that
 * country (dg_zones.n > 1): the scheduler then only sends when the window is
 * open in ALL of them (the most restrictive choice, see schedule.h). */
#ifndef DG_CORE_TZ_H
#define DG_CORE_TZ_H

#include <stdint.h>

#define DG_TZ_MAX 8

typedef struct dg_zones {
    const char *z[DG_TZ_MAX]; /* static strings, or the caller's hint/store_tz */
    int n;
    const char *source; /* "hint", "province", "country", "country-multi", "phone", "store" */
} dg_zones;

void dg_tz_resolve(const char *hint, const char *country, const char *province, const char *phone,
                   const char *store_tz, dg_zones *out);

/* 1 if ICU knows the zone id. */
int dg_tz_valid(const char *zone);

/* Local fields of instant t in zone. Returns 0 or DG_EINVAL. */
int dg_tz_local(const char *zone, int64_t t, int *year, int *month, int *day, int *hour,
                int *minute);

/* The instant at local time minute_of_day on the local date of t plus
 * add_days (DST gaps: ICU's lenient rule moves forward). -1 on error. */
int64_t dg_tz_at_local(const char *zone, int64_t t, int add_days, int minute_of_day);

/* "2026-03-08 09:00 EDT" style text into out. */
void dg_tz_format(const char *zone, int64_t t, char *out, size_t len);

#endif
