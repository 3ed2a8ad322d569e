#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <unicode/ucal.h>
#include <unicode/ustring.h>

#include <duegate/types.h>

#include "tz.h"

typedef struct kv2 {
    const char *k, *v;
} kv2;

static const char NY[] = "America/New_York", CHI[] = "America/Chicago", DEN[] = "America/Denver",
                  PHX[] = "America/Phoenix", LA[] = "America/Los_Angeles",
                  ANC[] = "America/Anchorage", HNL[] = "Pacific/Honolulu";

static const kv2 us[] = {{"AL", CHI},
                         {"AK", ANC},
                         {"AZ", PHX},
                         {"AR", CHI},
                         {"CA", LA},
                         {"CO", DEN},
                         {"CT", NY},
                         {"DE", NY},
                         {"DC", NY},
                         {"FL", NY},
                         {"GA", NY},
                         {"HI", HNL},
                         {"ID", "America/Boise"},
                         {"IL", CHI},
                         {"IN", "America/Indiana/Indianapolis"},
                         {"IA", CHI},
                         {"KS", CHI},
                         {"KY", "America/Kentucky/Louisville"},
                         {"LA", CHI},
                         {"ME", NY},
                         {"MD", NY},
                         {"MA", NY},
                         {"MI", "America/Detroit"},
                         {"MN", CHI},
                         {"MS", CHI},
                         {"MO", CHI},
                         {"MT", DEN},
                         {"NE", CHI},
                         {"NV", LA},
                         {"NH", NY},
                         {"NJ", NY},
                         {"NM", DEN},
                         {"NY", NY},
                         {"NC", NY},
                         {"ND", CHI},
                         {"OH", NY},
                         {"OK", CHI},
                         {"OR", LA},
                         {"PA", NY},
                         {"RI", NY},
                         {"SC", NY},
                         {"SD", CHI},
                         {"TN", CHI},
                         {"TX", CHI},
                         {"UT", DEN},
                         {"VT", NY},
                         {"VA", NY},
                         {"WA", LA},
                         {"WV", NY},
                         {"WI", CHI},
                         {"WY", DEN},
                         {"PR", "America/Puerto_Rico"},
                         {NULL, NULL}};
static const kv2 ca[] = {{"ON", "America/Toronto"},    {"QC", "America/Toronto"},
                         {"NS", "America/Halifax"},    {"NB", "America/Moncton"},
                         {"PE", "America/Halifax"},    {"NL", "America/St_Johns"},
                         {"MB", "America/Winnipeg"},   {"SK", "America/Regina"},
                         {"AB", "America/Edmonton"},   {"BC", "America/Vancouver"},
                         {"YT", "America/Whitehorse"}, {"NT", "America/Yellowknife"},
                         {"NU", "America/Iqaluit"},    {NULL, NULL}};
static const kv2 au[] = {
    {"NSW", "Australia/Sydney"},   {"ACT", "Australia/Sydney"},  {"VIC", "Australia/Melbourne"},
    {"QLD", "Australia/Brisbane"}, {"SA", "Australia/Adelaide"}, {"WA", "Australia/Perth"},
    {"TAS", "Australia/Hobart"},   {"NT", "Australia/Darwin"},   {NULL, NULL}};
static const kv2 br[] = {{"MT", "America/Cuiaba"},
                         {"MS", "America/Campo_Grande"},
                         {"AM", "America/Manaus"},
                         {"RR", "America/Boa_Vista"},
                         {"RO", "America/Porto_Velho"},
                         {"AC", "America/Rio_Branco"},
                         {"BA", "America/Bahia"},
                         {"PE", "America/Recife"},
                         {"CE", "America/Fortaleza"},
                         {"PA", "America/Belem"},
                         {NULL, NULL}}; /* every other state: America/Sao_Paulo */
static const kv2 mx[] = {{"BCN", "America/Tijuana"},
                         {"BC", "America/Tijuana"},
                         {"BCS", "America/Mazatlan"},
                         {"SIN", "America/Mazatlan"},
                         {"NAY", "America/Mazatlan"},
                         {"SON", "America/Hermosillo"},
                         {"CHH", "America/Chihuahua"},
                         {"ROO", "America/Cancun"},
                         {NULL, NULL}}; /* every other state: America/Mexico_City */

typedef struct multi {
    const char *country;
    const kv2 *prov;
    const char *other; /* zone of provinces not in the table, NULL: unknown */
    const char *all[DG_TZ_MAX];
} multi;

static const multi multis[] = {
    {"US", us, NULL, {NY, CHI, DEN, PHX, LA, ANC, HNL, NULL}},
    {"CA",
     ca,
     NULL,
     {"America/St_Johns", "America/Halifax", "America/Toronto", "America/Winnipeg",
      "America/Regina", "America/Edmonton", "America/Vancouver", NULL}},
    {"AU",
     au,
     NULL,
     {"Australia/Sydney", "Australia/Brisbane", "Australia/Adelaide", "Australia/Darwin",
      "Australia/Perth", NULL}},
    {"BR",
     br,
     "America/Sao_Paulo",
     {"America/Noronha", "America/Sao_Paulo", "America/Manaus", "America/Rio_Branco", NULL}},
    {"MX",
     mx,
     "America/Mexico_City",
     {"America/Cancun", "America/Mexico_City", "America/Mazatlan", "America/Tijuana", NULL}},
};

static const kv2 single[] = {
    {"GB", "Europe/London"},       {"IE", "Europe/Dublin"},
    {"DE", "Europe/Berlin"},       {"FR", "Europe/Paris"},
    {"ES", "Europe/Madrid"},       {"IT", "Europe/Rome"},
    {"NL", "Europe/Amsterdam"},    {"BE", "Europe/Brussels"},
    {"CH", "Europe/Zurich"},       {"AT", "Europe/Vienna"},
    {"SE", "Europe/Stockholm"},    {"NO", "Europe/Oslo"},
    {"DK", "Europe/Copenhagen"},   {"FI", "Europe/Helsinki"},
    {"PL", "Europe/Warsaw"},       {"PT", "Europe/Lisbon"},
    {"GR", "Europe/Athens"},       {"CZ", "Europe/Prague"},
    {"TR", "Europe/Istanbul"},     {"CN", "Asia/Shanghai"},
    {"HK", "Asia/Hong_Kong"},      {"TW", "Asia/Taipei"},
    {"JP", "Asia/Tokyo"},          {"KR", "Asia/Seoul"},
    {"SG", "Asia/Singapore"},      {"MY", "Asia/Kuala_Lumpur"},
    {"TH", "Asia/Bangkok"},        {"VN", "Asia/Ho_Chi_Minh"},
    {"PH", "Asia/Manila"},         {"IN", "Asia/Kolkata"},
    {"AE", "Asia/Dubai"},          {"SA", "Asia/Riyadh"},
    {"IL", "Asia/Jerusalem"},      {"NZ", "Pacific/Auckland"},
    {"ZA", "Africa/Johannesburg"}, {"NG", "Africa/Lagos"},
    {"EG", "Africa/Cairo"},        {"AR", "America/Argentina/Buenos_Aires"},
    {"CL", "America/Santiago"},    {"CO", "America/Bogota"},
    {"PE", "America/Lima"},        {NULL, NULL}};

/* Calling code -> country (longest prefix wins). */
static const kv2 phone_cc[] = {
    {"1", "US"},   {"44", "GB"},  {"49", "DE"},  {"33", "FR"},  {"34", "ES"},  {"39", "IT"},
    {"31", "NL"},  {"32", "BE"},  {"41", "CH"},  {"43", "AT"},  {"46", "SE"},  {"47", "NO"},
    {"45", "DK"},  {"358", "FI"}, {"48", "PL"},  {"351", "PT"}, {"30", "GR"},  {"353", "IE"},
    {"420", "CZ"}, {"90", "TR"},  {"86", "CN"},  {"852", "HK"}, {"886", "TW"}, {"81", "JP"},
    {"82", "KR"},  {"65", "SG"},  {"60", "MY"},  {"66", "TH"},  {"84", "VN"},  {"63", "PH"},
    {"91", "IN"},  {"971", "AE"}, {"966", "SA"}, {"972", "IL"}, {"61", "AU"},  {"64", "NZ"},
    {"27", "ZA"},  {"234", "NG"}, {"20", "EG"},  {"55", "BR"},  {"52", "MX"},  {"54", "AR"},
    {"56", "CL"},  {"57", "CO"},  {"51", "PE"},  {NULL, NULL}};

static const char *lookup(const kv2 *t, const char *k)
{
    for (; k && t->k; t++)
        if (strcasecmp(t->k, k) == 0)
            return t->v;
    return NULL;
}

/* Zones for a country (+ province); 0 if the country is unknown. */
static int by_country(const char *country, const char *province, dg_zones *out)
{
    const char *z;
    if (!country || !*country)
        return 0;
    for (size_t i = 0; i < sizeof multis / sizeof multis[0]; i++) {
        const multi *m = &multis[i];
        if (strcasecmp(m->country, country) != 0)
            continue;
        if (province && *province) {
            z = lookup(m->prov, province);
            if (!z)
                z = m->other;
            if (z) {
                out->z[0] = z;
                out->n = 1;
                out->source = "province";
                return 1;
            }
        }
        out->n = 0;
        for (int k = 0; k < DG_TZ_MAX && m->all[k]; k++)
            out->z[out->n++] = m->all[k];
        out->source = "country-multi";
        return 1;
    }
    if ((z = lookup(single, country)) != NULL) {
        out->z[0] = z;
        out->n = 1;
        out->source = "country";
        return 1;
    }
    return 0;
}

void dg_tz_resolve(const char *hint, const char *country, const char *province, const char *phone,
                   const char *store_tz, dg_zones *out)
{
    memset(out, 0, sizeof *out);
    if (hint && *hint && dg_tz_valid(hint)) {
        out->z[0] = hint;
        out->n = 1;
        out->source = "hint";
        return;
    }
    if (by_country(country, province, out))
        return;
    if (phone && phone[0] == '+') {
        const char *best = NULL;
        size_t best_len = 0;
        for (const kv2 *p = phone_cc; p->k; p++) {
            size_t l = strlen(p->k);
            if (l > best_len && strncmp(phone + 1, p->k, l) == 0) {
                best = p->v;
                best_len = l;
            }
        }
        if (best && by_country(best, NULL, out)) {
            out->source = "phone";
            return;
        }
    }
    out->z[0] = store_tz && *store_tz ? store_tz : "UTC";
    out->n = 1;
    out->source = "store";
}

/* A small cache of open calendars: opening one costs far more than using it. */
#define CACHE_N 16
static struct {
    char zone[64];
    UCalendar *cal;
    unsigned use;
} cache[CACHE_N];
static unsigned cache_tick;

static UCalendar *cal_for(const char *zone)
{
    UChar uz[64];
    UErrorCode st = U_ZERO_ERROR;
    int victim = 0;
    if (!zone || strlen(zone) >= 64)
        return NULL;
    for (int i = 0; i < CACHE_N; i++) {
        if (cache[i].cal && strcmp(cache[i].zone, zone) == 0) {
            cache[i].use = ++cache_tick;
            return cache[i].cal;
        }
        if (cache[i].use < cache[victim].use)
            victim = i;
    }
    u_uastrncpy(uz, zone, 63);
    uz[63] = 0;
    UCalendar *c = ucal_open(uz, -1, "en_US_POSIX", UCAL_GREGORIAN, &st);
    if (U_FAILURE(st))
        return NULL;
    if (cache[victim].cal)
        ucal_close(cache[victim].cal);
    snprintf(cache[victim].zone, sizeof cache[victim].zone, "%s", zone);
    cache[victim].cal = c;
    cache[victim].use = ++cache_tick;
    return c;
}

int dg_tz_valid(const char *zone)
{
    UChar uz[64], canon[64];
    UErrorCode st = U_ZERO_ERROR;
    UBool sys = 0;
    if (!zone || !*zone || strlen(zone) >= 64)
        return 0;
    u_uastrncpy(uz, zone, 63);
    uz[63] = 0;
    ucal_getCanonicalTimeZoneID(uz, -1, canon, 64, &sys, &st);
    return U_SUCCESS(st) && sys;
}

int dg_tz_local(const char *zone, int64_t t, int *y, int *mo, int *d, int *h, int *mi)
{
    UCalendar *c = cal_for(zone);
    UErrorCode st = U_ZERO_ERROR;
    if (!c)
        return DG_EINVAL;
    ucal_setMillis(c, (UDate)t, &st);
    if (y)
        *y = ucal_get(c, UCAL_YEAR, &st);
    if (mo)
        *mo = ucal_get(c, UCAL_MONTH, &st) + 1;
    if (d)
        *d = ucal_get(c, UCAL_DATE, &st);
    if (h)
        *h = ucal_get(c, UCAL_HOUR_OF_DAY, &st);
    if (mi)
        *mi = ucal_get(c, UCAL_MINUTE, &st);
    return U_FAILURE(st) ? DG_EINVAL : 0;
}

int64_t dg_tz_at_local(const char *zone, int64_t t, int add_days, int minute_of_day)
{
    UCalendar *c = cal_for(zone);
    UErrorCode st = U_ZERO_ERROR;
    UDate r;
    if (!c)
        return -1;
    ucal_setMillis(c, (UDate)t, &st);
    if (add_days)
        ucal_add(c, UCAL_DATE, add_days, &st);
    ucal_set(c, UCAL_HOUR_OF_DAY, minute_of_day / 60);
    ucal_set(c, UCAL_MINUTE, minute_of_day % 60);
    ucal_set(c, UCAL_SECOND, 0);
    ucal_set(c, UCAL_MILLISECOND, 0);
    r = ucal_getMillis(c, &st);
    return U_FAILURE(st) ? -1 : (int64_t)r;
}

void dg_tz_format(const char *zone, int64_t t, char *out, size_t len)
{
    int y, mo, d, h, mi;
    if (dg_tz_local(zone, t, &y, &mo, &d, &h, &mi) != 0) {
        snprintf(out, len, "?");
        return;
    }
    snprintf(out, len, "%04d-%02d-%02d %02d:%02d %s", y, mo, d, h, mi, zone);
}
