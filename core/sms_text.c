/* GSM 03.38 / UCS-2 measurement of SMS texts (see sms_text.h). */
#include "sms_text.h"

#include <stdlib.h>
#include <string.h>

#include <duegate/types.h>

size_t dg_utf8_decode(const char *str, uint32_t *cp)
{
    const unsigned char *s = (const unsigned char *)str;
    uint32_t c;
    size_t n, i;
    if (s[0] < 0x80) {
        *cp = s[0];
        return 1;
    }
    if ((s[0] & 0xE0) == 0xC0) {
        c = s[0] & 0x1F;
        n = 2;
    } else if ((s[0] & 0xF0) == 0xE0) {
        c = s[0] & 0x0F;
        n = 3;
    } else if ((s[0] & 0xF8) == 0xF0) {
        c = s[0] & 0x07;
        n = 4;
    } else {
        return 0;
    }
    for (i = 1; i < n; i++) {
        if ((s[i] & 0xC0) != 0x80)
            return 0;
        c = (c << 6) | (s[i] & 0x3F);
    }
    /* overlong forms, surrogates, beyond Unicode */
    if ((n == 2 && c < 0x80) || (n == 3 && c < 0x800) || (n == 4 && c < 0x10000) ||
        (c >= 0xD800 && c <= 0xDFFF) || c > 0x10FFFF)
        return 0;
    *cp = c;
    return n;
}

/* GSM 03.38 basic character set, non-ASCII members. */
static const uint16_t gsm_basic_extra[] = {
    0x00A3, 0x00A5, 0x00E8, 0x00E9, 0x00F9, 0x00EC, 0x00F2, 0x00C7, 0x00D8, 0x00F8,
    0x00C5, 0x00E5, 0x0394, 0x03A6, 0x0393, 0x039B, 0x03A9, 0x03A0, 0x03A8, 0x03A3,
    0x0398, 0x039E, 0x00C6, 0x00E6, 0x00DF, 0x00C9, 0x00A4, 0x00A1, 0x00C4, 0x00D6,
    0x00D1, 0x00DC, 0x00A7, 0x00BF, 0x00E4, 0x00F6, 0x00F1, 0x00FC, 0x00E0};

int dg_sms_gsm_septets(uint32_t cp)
{
    if (cp == '\n' || cp == '\r')
        return 1;
    if (cp == 0x0C || cp == '^' || cp == '{' || cp == '}' || cp == '\\' || cp == '[' || cp == '~' ||
        cp == ']' || cp == '|' || cp == 0x20AC)
        return 2;
    if (cp >= 0x20 && cp < 0x7F)
        return cp == '`' ? 0 : 1;
    for (size_t i = 0; i < sizeof gsm_basic_extra / sizeof gsm_basic_extra[0]; i++)
        if (gsm_basic_extra[i] == cp)
            return 1;
    return 0;
}

/* Segments for a sequence of character widths, never splitting a character. */
static int32_t count_segments(const char *utf8, int ucs2, size_t total)
{
    size_t single = ucs2 ? 70 : 160, per = ucs2 ? 67 : 153, used = 0;
    int32_t segs = 1;
    if (total == 0)
        return 0;
    if (total <= single)
        return 1;
    for (const char *p = utf8; *p;) {
        uint32_t cp;
        size_t n = dg_utf8_decode(p, &cp), w;
        w = ucs2 ? (cp > 0xFFFF ? 2 : 1) : (size_t)dg_sms_gsm_septets(cp);
        if (used + w > per) {
            segs++;
            used = 0;
        }
        used += w;
        p += n;
    }
    return segs;
}

int dg_sms_measure(const char *utf8, dg_sms_info *out)
{
    size_t septets = 0, units = 0;
    int ucs2 = 0;
    memset(out, 0, sizeof *out);
    if (!utf8)
        return DG_EINVAL;
    for (const char *p = utf8; *p;) {
        uint32_t cp;
        size_t n = dg_utf8_decode(p, &cp);
        int w;
        if (!n)
            return DG_EINVAL;
        w = dg_sms_gsm_septets(cp);
        if (!w)
            ucs2 = 1;
        septets += (size_t)w;
        units += cp > 0xFFFF ? 2 : 1;
        p += n;
    }
    out->ucs2 = ucs2;
    out->units = ucs2 ? units : septets;
    out->segments = count_segments(utf8, ucs2, out->units);
    return 0;
}

char *dg_sms_normalize(const char *utf8)
{
    size_t len = strlen(utf8);
    char *o = malloc(len + 1), *w = o;
    if (!o)
        return NULL;
    for (const char *p = utf8; *p;) {
        uint32_t cp;
        size_t n = dg_utf8_decode(p, &cp);
        if (!n) { /* copy invalid bytes through; dg_sms_measure reports them */
            *w++ = *p++;
            continue;
        }
        if (cp == 0x00A0 || cp == 0x202F || cp == 0x2009 || cp == 0x2007)
            *w++ = ' ';
        else {
            memcpy(w, p, n);
            w += n;
        }
        p += n;
    }
    *w = '\0';
    return o;
}
