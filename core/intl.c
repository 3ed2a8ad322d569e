/* ICU formatting (see intl.h). */
#include "intl.h"

#include <stdio.h>
#include <string.h>

#include <unicode/ucal.h>
#include <unicode/ucurr.h>
#include <unicode/udat.h>
#include <unicode/udatpg.h>
#include <unicode/uloc.h>
#include <unicode/unumberformatter.h>
#include <unicode/ustring.h>

#include <duegate/types.h>

/* BCP 47 tag -> ICU locale id ("pt-BR" -> "pt_BR"). */
static int icu_locale(const char *tag, char *id, size_t len)
{
    UErrorCode e = U_ZERO_ERROR;
    int32_t parsed = 0;
    if (!tag || !*tag)
        tag = "en";
    uloc_forLanguageTag(tag, id, (int32_t)len, &parsed, &e);
    if (U_FAILURE(e) || parsed <= 0 || !*id)
        return DG_EINVAL;
    return 0;
}

int dg_intl_locale_ok(const char *tag)
{
    char id[ULOC_FULLNAME_CAPACITY];
    return tag && *tag && icu_locale(tag, id, sizeof id) == 0;
}

static int to_utf8(const UChar *u, int32_t n, char *buf, size_t len)
{
    UErrorCode e = U_ZERO_ERROR;
    int32_t out = 0;
    u_strToUTF8(buf, (int32_t)len, &out, u, n, &e);
    if (e == U_BUFFER_OVERFLOW_ERROR || e == U_STRING_NOT_TERMINATED_WARNING || (size_t)out >= len)
        return DG_ENOMEM;
    return U_FAILURE(e) ? DG_EINVAL : 0;
}

/* Format with a number skeleton; `dec` is a decimal string. */
static int format_skeleton(const char *locale, const char *skeleton, const char *dec, char *buf,
                           size_t len)
{
    char id[ULOC_FULLNAME_CAPACITY];
    UChar sk[128], out[256];
    UErrorCode e = U_ZERO_ERROR;
    UNumberFormatter *f;
    UFormattedNumber *r;
    int32_t n;
    int rc;
    if (icu_locale(locale, id, sizeof id))
        return DG_EINVAL;
    u_uastrncpy(sk, skeleton, 127);
    sk[127] = 0;
    f = unumf_openForSkeletonAndLocale(sk, -1, id, &e);
    r = unumf_openResult(&e);
    if (U_FAILURE(e)) {
        unumf_close(f);
        unumf_closeResult(r);
        return DG_EINVAL;
    }
    unumf_formatDecimal(f, dec, -1, r, &e);
    n = unumf_resultToString(r, out, 256, &e);
    rc = U_FAILURE(e) ? DG_EINVAL : to_utf8(out, n, buf, len);
    unumf_close(f);
    unumf_closeResult(r);
    return rc;
}

int dg_intl_money(const char *locale, int64_t amount_minor, const char *currency, char *buf,
                  size_t len)
{
    UChar cur[4];
    UErrorCode e = U_ZERO_ERROR;
    char dec[64], sk[32];
    int32_t digits;
    uint64_t mag, scale = 1;
    if (!currency || strlen(currency) != 3)
        return DG_EINVAL;
    for (int i = 0; i < 3; i++)
        if (currency[i] < 'A' || currency[i] > 'Z')
            return DG_EINVAL;
    u_charsToUChars(currency, cur, 3);
    cur[3] = 0;
    digits = ucurr_getDefaultFractionDigits(cur, &e);
    if (U_FAILURE(e) || digits < 0 || digits > 6)
        return DG_EINVAL;
    for (int32_t i = 0; i < digits; i++)
        scale *= 10;
    mag = amount_minor < 0 ? (uint64_t)0 - (uint64_t)amount_minor : (uint64_t)amount_minor;
    if (digits)
        snprintf(dec, sizeof dec, "%s%llu.%0*llu", amount_minor < 0 ? "-" : "",
                 (unsigned long long)(mag / scale), (int)digits, (unsigned long long)(mag % scale));
    else
        snprintf(dec, sizeof dec, "%s%llu", amount_minor < 0 ? "-" : "", (unsigned long long)mag);
    snprintf(sk, sizeof sk, "currency/%s", currency);
    return format_skeleton(locale, sk, dec, buf, len);
}

int dg_intl_duration(const char *locale, const char *unit, int64_t n, char *buf, size_t len)
{
    char sk[96], dec[32];
    if (!unit || (strcmp(unit, "day") && strcmp(unit, "hour")))
        return DG_EINVAL;
    snprintf(sk, sizeof sk, "measure-unit/duration-%s unit-width-full-name", unit);
    snprintf(dec, sizeof dec, "%lld", (long long)n);
    return format_skeleton(locale, sk, dec, buf, len);
}

int dg_intl_zone_known(const char *tz)
{
    UChar id[128], canon[128];
    UBool sys = 0;
    UErrorCode e = U_ZERO_ERROR;
    if (!tz || !*tz || strlen(tz) >= 127)
        return 0;
    u_uastrcpy(id, tz);
    ucal_getCanonicalTimeZoneID(id, -1, canon, 128, &sys, &e);
    return U_SUCCESS(e) && sys;
}

static void zone_id(const char *tz, UChar *id)
{
    u_uastrcpy(id, dg_intl_zone_known(tz) ? tz : "UTC");
}

/* Opening a pattern generator and a date format costs far more than one
 * format (most of a template render): the formats of the last few (locale,
 * zone) pairs are kept. Loop thread only, like every caller. */
#define DT_CACHE 16
static struct {
    char id[ULOC_FULLNAME_CAPACITY];
    UChar zid[128];
    UDateFormat *df;
} dt_cache[DT_CACHE];
static unsigned dt_next;

static UDateFormat *datetime_format(const char *id, const UChar *zid)
{
    UChar skel[32], pat[128];
    UErrorCode e = U_ZERO_ERROR;
    UDateTimePatternGenerator *pg;
    UDateFormat *df;
    int32_t pl;
    unsigned slot;
    for (unsigned i = 0; i < DT_CACHE; i++)
        if (dt_cache[i].df && strcmp(dt_cache[i].id, id) == 0 &&
            u_strcmp(dt_cache[i].zid, zid) == 0)
            return dt_cache[i].df;
    u_uastrcpy(skel, "EEEEMMMMdjmmz");
    pg = udatpg_open(id, &e);
    pl = udatpg_getBestPattern(pg, skel, -1, pat, 128, &e);
    udatpg_close(pg);
    if (U_FAILURE(e))
        return NULL;
    df = udat_open(UDAT_PATTERN, UDAT_PATTERN, id, zid, -1, pat, pl, &e);
    if (U_FAILURE(e)) {
        udat_close(df);
        return NULL;
    }
    slot = dt_next++ % DT_CACHE;
    udat_close(dt_cache[slot].df);
    snprintf(dt_cache[slot].id, sizeof dt_cache[slot].id, "%s", id);
    u_strcpy(dt_cache[slot].zid, zid);
    dt_cache[slot].df = df;
    return df;
}

int dg_intl_datetime(const char *locale, const char *tz, int64_t ms, char *buf, size_t len)
{
    char id[ULOC_FULLNAME_CAPACITY];
    UChar zid[128], out[256];
    UErrorCode e = U_ZERO_ERROR;
    UDateFormat *df;
    int32_t n;
    if (icu_locale(locale, id, sizeof id))
        return DG_EINVAL;
    zone_id(tz, zid);
    if (!(df = datetime_format(id, zid)))
        return DG_EINVAL;
    n = udat_format(df, (UDate)ms, out, 256, NULL, &e);
    return U_FAILURE(e) ? DG_EINVAL : to_utf8(out, n, buf, len);
}

/* Julian day of the local date of ms in zone zid. */
static int julian_day(const UChar *zid, int64_t ms, int32_t *jd)
{
    UErrorCode e = U_ZERO_ERROR;
    UCalendar *c = ucal_open(zid, -1, "en_US_POSIX", UCAL_GREGORIAN, &e);
    if (U_FAILURE(e)) {
        ucal_close(c);
        return DG_EINVAL;
    }
    ucal_setMillis(c, (UDate)ms, &e);
    *jd = ucal_get(c, UCAL_JULIAN_DAY, &e);
    ucal_close(c);
    return U_FAILURE(e) ? DG_EINVAL : 0;
}

int dg_intl_day_diff(const char *tz, int64_t from_ms, int64_t to_ms, int64_t *days)
{
    UChar zid[128];
    int32_t a, b;
    zone_id(tz, zid);
    if (julian_day(zid, from_ms, &a) || julian_day(zid, to_ms, &b))
        return DG_EINVAL;
    *days = (int64_t)b - a;
    return 0;
}
