/* Locale-aware formatting with ICU: money, date-times, durations, and
 * calendar-day differences in a time zone.
 *
 * Locales are BCP 47 tags ("de-DE", "zh-CN", "pt-BR"); zones are IANA ids.
 * A NULL or unknown zone formats in UTC (the zone is always printed, so the
 * reader can still convert). Outputs are UTF-8 and exactly what ICU produces,
 * including its no-break spaces (U+00A0, U+202F). Each function returns 0, or
 * a negative DG_E* code (DG_EINVAL bad input, DG_ENOMEM buffer too small). */
#ifndef DG_CORE_INTL_H
#define DG_CORE_INTL_H

#include <stddef.h>
#include <stdint.h>

/* Amount in minor units of `currency` (ISO 4217; its ICU default fraction
 * digits: 2 for EUR, 0 for JPY, 3 for KWD), e.g. 123456 EUR de-DE -> "1.234,56 €". */
int dg_intl_money(const char *locale, int64_t amount_minor, const char *currency, char *buf,
                  size_t len);

/* Weekday, day, month, time and zone, e.g. en-US Asia/Shanghai ->
 * "Saturday, October 25 at 11:59 PM GMT+8" (ICU skeleton EEEEMMMMdjmmz). */
int dg_intl_datetime(const char *locale, const char *tz, int64_t ms, char *buf, size_t len);

/* The day only, e.g. en-US -> "Saturday, October 25" (skeleton EEEEMMMMd). */
int dg_intl_date(const char *locale, const char *tz, int64_t ms, char *buf, size_t len);

/* "3 days", "1 día", "48小时": n with the full unit name, plural-correct.
 * unit: "day" or "hour". */
int dg_intl_duration(const char *locale, const char *unit, int64_t n, char *buf, size_t len);

/* "5 business days", "1 día hábil", "5个工作日": plural-correct, in the
 * shipped languages (English for any other). */
int dg_intl_business_days(const char *locale, int64_t n, char *buf, size_t len);

/* Calendar days from the local date of from_ms to the local date of to_ms in
 * zone tz (negative when to_ms is on an earlier day). */
int dg_intl_day_diff(const char *tz, int64_t from_ms, int64_t to_ms, int64_t *days);

/* 1 if ICU can make a locale of the BCP 47 tag. */
int dg_intl_locale_ok(const char *tag);

/* 1 if tz is a zone ICU knows (IANA id or alias). */
int dg_intl_zone_known(const char *tz);

#endif
