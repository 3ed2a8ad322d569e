/* Parsing helpers of the Shopify plugin (no host dependency): exact 64-bit
 * ids out of JSON, money without floating point, ISO-8601, E.164, zones. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sp.h"

int sp_ieq(const char *a, const char *b)
{
    if (!a || !b)
        return 0;
    for (; *a && *b; a++, b++)
        if (tolower((unsigned char)*a) != tolower((unsigned char)*b))
            return 0;
    return *a == *b;
}

/* ------------------------------------------------------------------ JSON */

cJSON *sp_json_parse(const char *text, size_t len)
{
    /* One pass; spans without long integers are copied in bulk. A quoted
     * number has >= 16 digits, so len / 8 extra bytes always suffice. */
    char *buf = malloc(len + len / 8 + 2), *o;
    size_t i = 0, from = 0;
    cJSON *root;
    if (!buf)
        return NULL;
    o = buf;
    while (i < len) {
        char c = text[i];
        if (c == '"') { /* skip a string: to the next quote not escaped */
            for (;;) {
                const char *q = memchr(text + i + 1, '"', len - i - 1);
                size_t bs = 0;
                if (!q) {
                    i = len;
                    break;
                }
                i = (size_t)(q - text);
                while (text[i - 1 - bs] == '\\')
                    bs++;
                if (bs % 2 == 0)
                    break;
            }
            i++;
            continue;
        }
        if (c != '-' && (c < '0' || c > '9')) {
            i++;
            continue;
        }
        size_t j = i + (c == '-'), digits = 0;
        int plain = 1;
        for (; j < len; j++) {
            char d = text[j];
            if (d >= '0' && d <= '9')
                digits++;
            else if (d == '.' || d == 'e' || d == 'E' || d == '+' || d == '-')
                plain = 0;
            else
                break;
        }
        if (plain && digits >= 16) {
            memcpy(o, text + from, i - from);
            o += i - from;
            *o++ = '"';
            memcpy(o, text + i, j - i);
            o += j - i;
            *o++ = '"';
            from = j;
        }
        i = j;
    }
    if (from < len) {
        memcpy(o, text + from, len - from);
        o += len - from;
    }
    *o = '\0';
    root = cJSON_ParseWithLength(buf, (size_t)(o - buf));
    free(buf);
    return root;
}

const char *sp_json_id(const cJSON *v, char *buf, size_t cap)
{
    if (cJSON_IsString(v) && v->valuestring[0]) {
        const char *s = v->valuestring, *slash = strrchr(s, '/');
        if (strncmp(s, "gid://", 6) == 0 && slash)
            s = slash + 1; /* gid://shopify/Order/123 -> 123 */
        snprintf(buf, cap, "%s", s);
        return buf;
    }
    if (cJSON_IsNumber(v) && v->valuedouble >= 0 && v->valuedouble < 1e15) {
        snprintf(buf, cap, "%.0f", v->valuedouble);
        return buf;
    }
    return NULL;
}

/* ----------------------------------------------------------------- money */

int sp_currency_exponent(const char *c)
{
    static const char *const zero[] = {"BIF", "CLP", "DJF", "GNF", "ISK", "JPY",
                                       "KMF", "KRW", "PYG", "RWF", "UGX", "UYI",
                                       "VND", "VUV", "XAF", "XOF", "XPF", NULL};
    static const char *const three[] = {"BHD", "IQD", "JOD", "KWD", "LYD", "OMR", "TND", NULL};
    if (!c)
        return 2;
    for (int i = 0; zero[i]; i++)
        if (sp_ieq(c, zero[i]))
            return 0;
    for (int i = 0; three[i]; i++)
        if (sp_ieq(c, three[i]))
            return 3;
    return 2;
}

int sp_money_parse(const char *s, int exponent, int64_t *out)
{
    int64_t v = 0;
    int frac = 0, seen_digit = 0;
    if (!s || !out || exponent < 0 || exponent > 4)
        return DG_EINVAL;
    for (; isdigit((unsigned char)*s); s++) {
        if (v > (INT64_MAX - 9) / 10)
            return DG_EINVAL;
        v = v * 10 + (*s - '0');
        seen_digit = 1;
    }
    if (*s == '.') {
        s++;
        if (!isdigit((unsigned char)*s))
            return DG_EINVAL;
        for (; isdigit((unsigned char)*s); s++) {
            if (frac < exponent) {
                if (v > (INT64_MAX - 9) / 10)
                    return DG_EINVAL;
                v = v * 10 + (*s - '0');
                frac++;
            } else if (*s != '0') {
                return DG_EINVAL; /* more precision than the currency has */
            }
        }
    }
    if (*s || !seen_digit)
        return DG_EINVAL;
    for (; frac < exponent; frac++) {
        if (v > INT64_MAX / 10)
            return DG_EINVAL;
        v *= 10;
    }
    *out = v;
    return DG_OK;
}

/* ------------------------------------------------------------------ time */

static int64_t days_from_civil(int64_t y, int m, int d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

static int num(const char **p, int n, int *out)
{
    int v = 0;
    for (int i = 0; i < n; i++) {
        if (!isdigit((unsigned char)(*p)[i]))
            return -1;
        v = v * 10 + ((*p)[i] - '0');
    }
    *p += n;
    *out = v;
    return 0;
}

int sp_time_parse(const char *s, int64_t *out_ms)
{
    int Y, M, D, h, mi, sec, ms = 0, oh = 0, om = 0, sign = 0;
    if (!s || num(&s, 4, &Y) || *s++ != '-' || num(&s, 2, &M) || *s++ != '-' || num(&s, 2, &D) ||
        (*s != 'T' && *s != 't' && *s != ' '))
        return DG_EINVAL;
    s++;
    if (num(&s, 2, &h) || *s++ != ':' || num(&s, 2, &mi) || *s++ != ':' || num(&s, 2, &sec))
        return DG_EINVAL;
    if (*s == '.') {
        int k = 0;
        s++;
        if (!isdigit((unsigned char)*s))
            return DG_EINVAL;
        for (; isdigit((unsigned char)*s); s++, k++)
            if (k < 3)
                ms = ms * 10 + (*s - '0');
        for (; k < 3; k++)
            ms *= 10;
    }
    if (*s == 'Z' || *s == 'z') {
        s++;
    } else if (*s == '+' || *s == '-') {
        sign = *s++ == '-' ? -1 : 1;
        if (num(&s, 2, &oh))
            return DG_EINVAL;
        if (*s == ':')
            s++;
        if (num(&s, 2, &om))
            return DG_EINVAL;
    } else {
        return DG_EINVAL;
    }
    if (*s || M < 1 || M > 12 || D < 1 || D > 31 || h > 23 || mi > 59 || sec > 60 || oh > 23 ||
        om > 59)
        return DG_EINVAL;
    int64_t t = days_from_civil(Y, M, D) * 86400 + h * 3600 + mi * 60 + sec;
    t -= (int64_t)sign * (oh * 3600 + om * 60);
    *out_ms = t * 1000 + ms;
    return DG_OK;
}

void sp_time_format(int64_t ms, char *out, size_t cap)
{
    int64_t secs = ms >= 0 ? ms / 1000 : (ms - 999) / 1000, z = secs / 86400;
    int64_t rem = secs - z * 86400;
    if (rem < 0) {
        rem += 86400;
        z--;
    }
    z += 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097, doe = z - era * 146097;
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t y = yoe + era * 400, doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    int64_t mp = (5 * doy + 2) / 153, d = doy - (153 * mp + 2) / 5 + 1;
    int64_t m = mp + (mp < 10 ? 3 : -9);
    y += m <= 2;
    snprintf(out, cap, "%04lld-%02lld-%02lldT%02lld:%02lld:%02lld.%03lldZ", (long long)y,
             (long long)m, (long long)d, (long long)(rem / 3600), (long long)(rem / 60 % 60),
             (long long)(rem % 60), (long long)(ms - secs * 1000));
}

/* ----------------------------------------------------------------- phone */

typedef struct cc_rule {
    const char *iso, *code;
    char trunk;           /* national trunk prefix digit dropped after the code, 0 none */
    int min_nsn, max_nsn; /* national significant number length */
} cc_rule;

static const cc_rule cc_rules[] = {
    {"US", "1", 0, 10, 10},    {"CA", "1", 0, 10, 10},    {"PR", "1", 0, 10, 10},
    {"GB", "44", '0', 9, 10},  {"IE", "353", '0', 7, 9},  {"FR", "33", '0', 9, 9},
    {"DE", "49", '0', 6, 13},  {"ES", "34", 0, 9, 9},     {"IT", "39", 0, 6, 11},
    {"PT", "351", 0, 9, 9},    {"NL", "31", '0', 9, 9},   {"BE", "32", '0', 8, 9},
    {"CH", "41", '0', 9, 9},   {"AT", "43", '0', 4, 13},  {"AU", "61", '0', 9, 9},
    {"NZ", "64", '0', 8, 10},  {"IN", "91", '0', 10, 10}, {"JP", "81", '0', 9, 10},
    {"BR", "55", '0', 10, 11}, {"MX", "52", 0, 10, 10},   {"AR", "54", '0', 10, 11},
    {"SE", "46", '0', 7, 9},   {"NO", "47", 0, 8, 8},     {"DK", "45", 0, 8, 8},
    {"PL", "48", 0, 9, 9},     {"ZA", "27", '0', 9, 9},   {"SG", "65", 0, 8, 8},
    {NULL, NULL, 0, 0, 0}};

static const cc_rule *cc_find(const char *iso)
{
    for (const cc_rule *r = cc_rules; iso && r->iso; r++)
        if (sp_ieq(r->iso, iso))
            return r;
    return NULL;
}

int sp_phone_e164(const char *raw, const char *country, char *out, size_t cap)
{
    char d[32];
    size_t n = 0;
    int plus = 0, seen = 0;
    if (!raw || cap < 17)
        return DG_EINVAL;
    for (const char *p = raw; *p; p++) {
        unsigned char c = (unsigned char)*p;
        if (isdigit(c)) {
            if (n + 1 >= sizeof d)
                return DG_EINVAL;
            d[n++] = (char)c;
            seen = 1;
        } else if (c == '+' && !seen && !plus) {
            plus = 1;
        } else if (c == ' ' || c == '-' || c == '.' || c == '(' || c == ')' || c == '/' ||
                   c == '\t') {
            continue;
        } else {
            return DG_EINVAL; /* letters ("555-555-SHIP"), extensions, garbage */
        }
    }
    d[n] = '\0';
    if (!plus && n > 2 && d[0] == '0' && d[1] == '0') { /* 00 international prefix */
        memmove(d, d + 2, n - 1);
        n -= 2;
        plus = 1;
    }
    if (!plus && n > 3 && strncmp(d, "011", 3) == 0 && cc_find(country) &&
        strcmp(cc_find(country)->code, "1") == 0) { /* NANP international prefix */
        memmove(d, d + 3, n - 2);
        n -= 3;
        plus = 1;
    }
    if (plus) {
        if (n < 8 || n > 15 || d[0] == '0')
            return DG_EINVAL;
        snprintf(out, cap, "+%s", d);
        return DG_OK;
    }
    const cc_rule *r = cc_find(country);
    if (!r || n == 0)
        return DG_EINVAL;
    const char *nsn = d;
    size_t cl = strlen(r->code);
    if (strcmp(r->code, "1") == 0 && n == 11 && d[0] == '1') {
        nsn = d + 1; /* 1-555-555-0123 */
    } else if (r->trunk && d[0] == r->trunk) {
        nsn = d + 1;
    } else if (n > cl + (size_t)r->min_nsn - 1 && strncmp(d, r->code, cl) == 0 &&
               n - cl >= (size_t)r->min_nsn && n - cl <= (size_t)r->max_nsn) {
        nsn = d + cl; /* already carries the country code without '+' */
        if (r->trunk && nsn[0] == r->trunk)
            nsn++;
    }
    size_t len = strlen(nsn);
    if ((int)len < r->min_nsn || (int)len > r->max_nsn || len + cl > 15)
        return DG_EINVAL;
    if (strcmp(r->code, "1") == 0 && (nsn[0] < '2' || nsn[3] < '2'))
        return DG_EINVAL; /* NANP area and exchange codes start with 2-9 */
    snprintf(out, cap, "+%s%s", r->code, nsn);
    return DG_OK;
}

/* ------------------------------------------------------------- time zone */

typedef struct tz_rule {
    const char *country, *province, *zone;
} tz_rule;

static const tz_rule tz_rules[] = {
    /* countries with one zone */
    {"GB", NULL, "Europe/London"},
    {"IE", NULL, "Europe/Dublin"},
    {"FR", NULL, "Europe/Paris"},
    {"DE", NULL, "Europe/Berlin"},
    {"IT", NULL, "Europe/Rome"},
    {"NL", NULL, "Europe/Amsterdam"},
    {"BE", NULL, "Europe/Brussels"},
    {"CH", NULL, "Europe/Zurich"},
    {"AT", NULL, "Europe/Vienna"},
    {"SE", NULL, "Europe/Stockholm"},
    {"NO", NULL, "Europe/Oslo"},
    {"DK", NULL, "Europe/Copenhagen"},
    {"PL", NULL, "Europe/Warsaw"},
    {"JP", NULL, "Asia/Tokyo"},
    {"IN", NULL, "Asia/Kolkata"},
    {"SG", NULL, "Asia/Singapore"},
    {"ZA", NULL, "Africa/Johannesburg"},
    {"NZ", NULL, "Pacific/Auckland"},
    {"AR", NULL, "America/Argentina/Buenos_Aires"},
    {"PR", NULL, "America/Puerto_Rico"},
    /* countries with several zones: the province decides */
    {"US", "NY", "America/New_York"},
    {"US", "NJ", "America/New_York"},
    {"US", "MA", "America/New_York"},
    {"US", "PA", "America/New_York"},
    {"US", "GA", "America/New_York"},
    {"US", "FL", "America/New_York"},
    {"US", "VA", "America/New_York"},
    {"US", "NC", "America/New_York"},
    {"US", "SC", "America/New_York"},
    {"US", "OH", "America/New_York"},
    {"US", "MI", "America/Detroit"},
    {"US", "DC", "America/New_York"},
    {"US", "MD", "America/New_York"},
    {"US", "CT", "America/New_York"},
    {"US", "KY", "America/New_York"},
    {"US", "IL", "America/Chicago"},
    {"US", "TX", "America/Chicago"},
    {"US", "MN", "America/Chicago"},
    {"US", "WI", "America/Chicago"},
    {"US", "MO", "America/Chicago"},
    {"US", "LA", "America/Chicago"},
    {"US", "TN", "America/Chicago"},
    {"US", "AL", "America/Chicago"},
    {"US", "IA", "America/Chicago"},
    {"US", "CO", "America/Denver"},
    {"US", "UT", "America/Denver"},
    {"US", "NM", "America/Denver"},
    {"US", "AZ", "America/Phoenix"},
    {"US", "CA", "America/Los_Angeles"},
    {"US", "WA", "America/Los_Angeles"},
    {"US", "OR", "America/Los_Angeles"},
    {"US", "NV", "America/Los_Angeles"},
    {"US", "AK", "America/Anchorage"},
    {"US", "HI", "Pacific/Honolulu"},
    {"CA", "ON", "America/Toronto"},
    {"CA", "QC", "America/Toronto"},
    {"CA", "BC", "America/Vancouver"},
    {"CA", "AB", "America/Edmonton"},
    {"CA", "MB", "America/Winnipeg"},
    {"CA", "SK", "America/Regina"},
    {"CA", "NS", "America/Halifax"},
    {"CA", "NB", "America/Moncton"},
    {"CA", "NL", "America/St_Johns"},
    {"ES", NULL, "Europe/Madrid"},
    {"PT", NULL, "Europe/Lisbon"},
    {"BR", "SP", "America/Sao_Paulo"},
    {"BR", "RJ", "America/Sao_Paulo"},
    {"BR", "MG", "America/Sao_Paulo"},
    {"BR", "PR", "America/Sao_Paulo"},
    {"BR", "RS", "America/Sao_Paulo"},
    {"BR", "BA", "America/Bahia"},
    {"BR", "AM", "America/Manaus"},
    {"MX", "CMX", "America/Mexico_City"},
    {"MX", "JAL", "America/Mexico_City"},
    {"MX", "NLE", "America/Monterrey"},
    {"MX", "BC", "America/Tijuana"},
    {"AU", "NSW", "Australia/Sydney"},
    {"AU", "VIC", "Australia/Melbourne"},
    {"AU", "QLD", "Australia/Brisbane"},
    {"AU", "WA", "Australia/Perth"},
    {"AU", "SA", "Australia/Adelaide"},
    {"AU", "TAS", "Australia/Hobart"},
    {"AU", "ACT", "Australia/Sydney"},
    {"AU", "NT", "Australia/Darwin"},
    {NULL, NULL, NULL}};

const char *sp_tz_hint(const char *country, const char *province)
{
    if (!country)
        return NULL;
    for (const tz_rule *r = tz_rules; r->country; r++) {
        if (!sp_ieq(r->country, country))
            continue;
        if (!r->province)
            return r->zone;
        if (province && sp_ieq(r->province, province))
            return r->zone;
    }
    return NULL;
}
