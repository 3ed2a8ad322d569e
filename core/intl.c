/* ICU formatting (see intl.h). */
#include "intl.h"

#include <stdio.h>
#include <string.h>

#include <unicode/ucal.h>
#include <unicode/ucurr.h>
#include <unicode/udat.h>
#include <unicode/udatpg.h>
#include <unicode/umsg.h>
#include <unicode/uloc.h>
#include <unicode/unumberformatter.h>
#include <unicode/ustring.h>

#include <duegate/types.h>

/* Every ICU object below is cached: opening one costs far more than the
 * formatting itself (a template render formats money, durations and two
 * date-times; opening their formatters was most of a WhatsApp send). The
 * caches hold the last few keys, replaced round-robin, and are used from
 * the loop thread only, like every caller. They live until the process
 * ends. */

/* BCP 47 tag -> ICU locale id ("pt-BR" -> "pt_BR"), the last few memoised. */
#define LOC_CACHE 16
#define LOC_TAG_MAX 64
static struct {
    char tag[LOC_TAG_MAX];
    char id[ULOC_FULLNAME_CAPACITY];
    int ok;
} loc_cache[LOC_CACHE];
static unsigned loc_next;

static int icu_locale(const char *tag, char *id, size_t len)
{
    UErrorCode e = U_ZERO_ERROR;
    int32_t parsed = 0;
    size_t tl;
    int ok;
    if (!tag || !*tag)
        tag = "en";
    tl = strlen(tag);
    if (len == ULOC_FULLNAME_CAPACITY && tl < LOC_TAG_MAX)
        for (unsigned i = 0; i < LOC_CACHE; i++)
            if (loc_cache[i].tag[0] && strcmp(loc_cache[i].tag, tag) == 0) {
                memcpy(id, loc_cache[i].id, ULOC_FULLNAME_CAPACITY);
                return loc_cache[i].ok ? 0 : DG_EINVAL;
            }
    uloc_forLanguageTag(tag, id, (int32_t)len, &parsed, &e);
    ok = !(U_FAILURE(e) || parsed <= 0 || !*id);
    if (len == ULOC_FULLNAME_CAPACITY && tl < LOC_TAG_MAX && (ok || U_SUCCESS(e))) {
        unsigned slot = loc_next++ % LOC_CACHE;
        memcpy(loc_cache[slot].tag, tag, tl + 1);
        memcpy(loc_cache[slot].id, id, ULOC_FULLNAME_CAPACITY);
        loc_cache[slot].ok = ok;
    }
    return ok ? 0 : DG_EINVAL;
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

/* Number formatters by (locale id, skeleton). */
#define NF_CACHE 32
#define NF_SKEL_MAX 96
static struct {
    char id[ULOC_FULLNAME_CAPACITY];
    char skel[NF_SKEL_MAX];
    UNumberFormatter *f;
} nf_cache[NF_CACHE];
static unsigned nf_next;
static UFormattedNumber *nf_result; /* one result object, reused */

static UNumberFormatter *number_format(const char *id, const char *skeleton)
{
    UChar sk[128];
    UErrorCode e = U_ZERO_ERROR;
    UNumberFormatter *f;
    unsigned slot;
    int cacheable = strlen(skeleton) < NF_SKEL_MAX;
    for (unsigned i = 0; cacheable && i < NF_CACHE; i++)
        if (nf_cache[i].f && strcmp(nf_cache[i].id, id) == 0 &&
            strcmp(nf_cache[i].skel, skeleton) == 0)
            return nf_cache[i].f;
    u_uastrncpy(sk, skeleton, 127);
    sk[127] = 0;
    f = unumf_openForSkeletonAndLocale(sk, -1, id, &e);
    if (U_FAILURE(e)) {
        unumf_close(f);
        return NULL;
    }
    if (!cacheable)
        return f; /* the caller closes it */
    slot = nf_next++ % NF_CACHE;
    unumf_close(nf_cache[slot].f);
    snprintf(nf_cache[slot].id, sizeof nf_cache[slot].id, "%s", id);
    snprintf(nf_cache[slot].skel, sizeof nf_cache[slot].skel, "%s", skeleton);
    nf_cache[slot].f = f;
    return f;
}

/* The last few formatted numbers (days left, a campaign's amount). */
#define NR_CACHE 32
static struct {
    char id[ULOC_FULLNAME_CAPACITY];
    char skel[NF_SKEL_MAX];
    char dec[32];
    char text[128];
} nr_cache[NR_CACHE];
static unsigned nr_next;

/* Format with a number skeleton; `dec` is a decimal string. */
static int format_skeleton(const char *locale, const char *skeleton, const char *dec, char *buf,
                           size_t len)
{
    char id[ULOC_FULLNAME_CAPACITY];
    UChar out[256];
    UErrorCode e = U_ZERO_ERROR;
    UNumberFormatter *f;
    int32_t n;
    int rc, memo = strlen(skeleton) < NF_SKEL_MAX && strlen(dec) < sizeof nr_cache[0].dec;
    if (icu_locale(locale, id, sizeof id))
        return DG_EINVAL;
    for (unsigned i = 0; memo && i < NR_CACHE; i++)
        if (nr_cache[i].text[0] && strcmp(nr_cache[i].dec, dec) == 0 &&
            strcmp(nr_cache[i].skel, skeleton) == 0 && strcmp(nr_cache[i].id, id) == 0) {
            size_t l = strlen(nr_cache[i].text);
            if (l >= len)
                return DG_ENOMEM;
            memcpy(buf, nr_cache[i].text, l + 1);
            return 0;
        }
    if (!nf_result) {
        nf_result = unumf_openResult(&e);
        if (U_FAILURE(e)) {
            unumf_closeResult(nf_result);
            nf_result = NULL;
            return DG_ENOMEM;
        }
    }
    if (!(f = number_format(id, skeleton)))
        return DG_EINVAL;
    unumf_formatDecimal(f, dec, -1, nf_result, &e);
    n = unumf_resultToString(nf_result, out, 256, &e);
    rc = U_FAILURE(e) ? DG_EINVAL : to_utf8(out, n, buf, len);
    if (strlen(skeleton) >= NF_SKEL_MAX)
        unumf_close(f);
    if (rc == 0 && memo && strlen(buf) < sizeof nr_cache[0].text) {
        unsigned slot = nr_next++ % NR_CACHE;
        memcpy(nr_cache[slot].id, id, sizeof id);
        snprintf(nr_cache[slot].skel, sizeof nr_cache[slot].skel, "%s", skeleton);
        snprintf(nr_cache[slot].dec, sizeof nr_cache[slot].dec, "%s", dec);
        snprintf(nr_cache[slot].text, sizeof nr_cache[slot].text, "%s", buf);
    }
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

/* ICU MessageFormat plural patterns, by language (the shipped locales). */
static const struct {
    const char *lang;
    const char *pattern;
} business_days[] = {
    {"en", "{0,plural,one{# business day} other{# business days}}"},
    {"es", "{0,plural,one{# d\\u00eda h\\u00e1bil} other{# d\\u00edas h\\u00e1biles}}"},
    {"zh", "{0,plural,other{#\\u4e2a\\u5de5\\u4f5c\\u65e5}}"},
};

int dg_intl_business_days(const char *locale, int64_t n, char *buf, size_t len)
{
    char lang[16] = "";
    const char *pat = business_days[0].pattern;
    UChar upat[128], out[128];
    UErrorCode e = U_ZERO_ERROR;
    int32_t olen;
    if (!locale || n < 0 || !buf || !len)
        return DG_EINVAL;
    uloc_getLanguage(locale, lang, sizeof lang, &e);
    e = U_ZERO_ERROR;
    for (size_t i = 0; i < sizeof business_days / sizeof business_days[0]; i++)
        if (strcmp(lang, business_days[i].lang) == 0)
            pat = business_days[i].pattern;
    u_unescape(pat, upat, 128);
    olen = u_formatMessage(strcmp(lang, "") ? locale : "en", upat, -1, out, 128, &e, (double)n);
    if (U_FAILURE(e) || olen >= 128)
        return DG_EINVAL;
    u_strToUTF8(buf, (int32_t)len, &olen, out, olen, &e);
    if (U_FAILURE(e) || e == U_STRING_NOT_TERMINATED_WARNING || (size_t)olen >= len)
        return DG_ENOMEM;
    return 0;
}

/* Zone ids already checked, with the answer. */
#define ZK_CACHE 16
#define ZK_MAX 64
static struct {
    char tz[ZK_MAX];
    int known;
} zk_cache[ZK_CACHE];
static unsigned zk_next;

int dg_intl_zone_known(const char *tz)
{
    UChar id[128], canon[128];
    UBool sys = 0;
    UErrorCode e = U_ZERO_ERROR;
    size_t tl;
    int known;
    if (!tz || !*tz || (tl = strlen(tz)) >= 127)
        return 0;
    for (unsigned i = 0; tl < ZK_MAX && i < ZK_CACHE; i++)
        if (zk_cache[i].tz[0] && strcmp(zk_cache[i].tz, tz) == 0)
            return zk_cache[i].known;
    u_uastrcpy(id, tz);
    ucal_getCanonicalTimeZoneID(id, -1, canon, 128, &sys, &e);
    known = U_SUCCESS(e) && sys;
    if (tl < ZK_MAX) {
        unsigned slot = zk_next++ % ZK_CACHE;
        memcpy(zk_cache[slot].tz, tz, tl + 1);
        zk_cache[slot].known = known;
    }
    return known;
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
    const char *skel; /* one of the SK_* strings: compared by address */
    UDateFormat *df;
} dt_cache[DT_CACHE];
static unsigned dt_next;

static UDateFormat *datetime_format(const char *id, const UChar *zid, const char *skeleton)
{
    UChar skel[32], pat[128];
    UErrorCode e = U_ZERO_ERROR;
    UDateTimePatternGenerator *pg;
    UDateFormat *df;
    int32_t pl;
    unsigned slot;
    for (unsigned i = 0; i < DT_CACHE; i++)
        if (dt_cache[i].df && strcmp(dt_cache[i].id, id) == 0 &&
            u_strcmp(dt_cache[i].zid, zid) == 0 && dt_cache[i].skel == skeleton)
            return dt_cache[i].df;
    u_uastrcpy(skel, skeleton);
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
    dt_cache[slot].skel = skeleton;
    dt_cache[slot].df = df;
    return df;
}

/* The last few formatted instants: the orders of one campaign share their
 * deadline, so a burst formats the same (locale, zone, instant) again and
 * again. */
#define DTR_CACHE 16
static struct {
    char id[ULOC_FULLNAME_CAPACITY];
    UChar zid[128];
    int64_t ms;
    const char *skel;
    char text[256];
} dtr_cache[DTR_CACHE];
static unsigned dtr_next;

static int format_instant(const char *locale, const char *tz, int64_t ms, const char *skel,
                          char *buf, size_t len)
{
    char id[ULOC_FULLNAME_CAPACITY];
    UChar zid[128], out[256];
    UErrorCode e = U_ZERO_ERROR;
    UDateFormat *df;
    int32_t n;
    int rc;
    if (icu_locale(locale, id, sizeof id))
        return DG_EINVAL;
    zone_id(tz, zid);
    for (unsigned i = 0; i < DTR_CACHE; i++)
        if (dtr_cache[i].text[0] && dtr_cache[i].ms == ms && dtr_cache[i].skel == skel && strcmp(dtr_cache[i].id, id) == 0 &&
            u_strcmp(dtr_cache[i].zid, zid) == 0) {
            size_t l = strlen(dtr_cache[i].text);
            if (l >= len)
                return DG_ENOMEM;
            memcpy(buf, dtr_cache[i].text, l + 1);
            return 0;
        }
    if (!(df = datetime_format(id, zid, skel)))
        return DG_EINVAL;
    n = udat_format(df, (UDate)ms, out, 256, NULL, &e);
    rc = U_FAILURE(e) ? DG_EINVAL : to_utf8(out, n, buf, len);
    if (rc == 0 && strlen(buf) < sizeof dtr_cache[0].text) {
        unsigned slot = dtr_next++ % DTR_CACHE;
        memcpy(dtr_cache[slot].id, id, sizeof id);
        u_strcpy(dtr_cache[slot].zid, zid);
        dtr_cache[slot].ms = ms;
        dtr_cache[slot].skel = skel;
        snprintf(dtr_cache[slot].text, sizeof dtr_cache[slot].text, "%s", buf);
    }
    return rc;
}

static const char SK_DATETIME[] = "EEEEMMMMdjmmz", SK_DATE[] = "EEEEMMMMd";

int dg_intl_datetime(const char *locale, const char *tz, int64_t ms, char *buf, size_t len)
{
    return format_instant(locale, tz, ms, SK_DATETIME, buf, len);
}

int dg_intl_date(const char *locale, const char *tz, int64_t ms, char *buf, size_t len)
{
    return format_instant(locale, tz, ms, SK_DATE, buf, len);
}

/* Gregorian calendars by zone, for julian_day. */
#define CAL_CACHE 16
static struct {
    UChar zid[128];
    UCalendar *c;
    struct {
        int64_t start, end; /* a local day asked for: [start, end) */
        int32_t jd;
    } day[2]; /* two: day_diff asks for "now" and the deadline in turn */
    unsigned next_day;
} cal_cache[CAL_CACHE];
static unsigned cal_next;

static int zone_calendar(const UChar *zid)
{
    UErrorCode e = U_ZERO_ERROR;
    UCalendar *c;
    unsigned slot;
    for (unsigned i = 0; i < CAL_CACHE; i++)
        if (cal_cache[i].c && u_strcmp(cal_cache[i].zid, zid) == 0)
            return (int)i;
    c = ucal_open(zid, -1, "en_US_POSIX", UCAL_GREGORIAN, &e);
    if (U_FAILURE(e)) {
        ucal_close(c);
        return -1;
    }
    slot = cal_next++ % CAL_CACHE;
    if (cal_cache[slot].c)
        ucal_close(cal_cache[slot].c);
    u_strcpy(cal_cache[slot].zid, zid);
    cal_cache[slot].c = c;
    memset(cal_cache[slot].day, 0, sizeof cal_cache[slot].day);
    return (int)slot;
}

/* Julian day of the local date of ms in zone zid. The bounds of the local
 * day found are kept: another instant of that day needs no calendar work. */
static int julian_day(const UChar *zid, int64_t ms, int32_t *jd)
{
    UErrorCode e = U_ZERO_ERROR;
    int i = zone_calendar(zid);
    UCalendar *c;
    int64_t start, end;
    if (i < 0)
        return DG_EINVAL;
    for (int k = 0; k < 2; k++)
        if (ms >= cal_cache[i].day[k].start && ms < cal_cache[i].day[k].end) {
            *jd = cal_cache[i].day[k].jd;
            return 0;
        }
    c = cal_cache[i].c;
    ucal_setMillis(c, (UDate)ms, &e);
    *jd = ucal_get(c, UCAL_JULIAN_DAY, &e);
    if (U_FAILURE(e))
        return DG_EINVAL;
    ucal_set(c, UCAL_HOUR_OF_DAY, 0);
    ucal_set(c, UCAL_MINUTE, 0);
    ucal_set(c, UCAL_SECOND, 0);
    ucal_set(c, UCAL_MILLISECOND, 0);
    start = (int64_t)ucal_getMillis(c, &e);
    ucal_add(c, UCAL_DATE, 1, &e);
    end = (int64_t)ucal_getMillis(c, &e);
    /* a day without a midnight (DST) may give a later start: only a range
     * that holds ms is kept */
    if (U_SUCCESS(e) && start <= ms && ms < end) {
        unsigned k = cal_cache[i].next_day++ % 2;
        cal_cache[i].day[k].start = start;
        cal_cache[i].day[k].end = end;
        cal_cache[i].day[k].jd = *jd;
    }
    return 0;
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
