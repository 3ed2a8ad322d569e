/* SMS text measurement: GSM 03.38 (7-bit) or UCS-2, and the segments a text needs.
 *
 * A text is GSM-7 when every character is in the GSM 03.38 basic set or its
 * extension table (^ { } \ [ ~ ] | € and form feed, which take 2 septets each);
 * otherwise it is sent as UCS-2 (UTF-16 code units; a character outside the
 * BMP takes 2). One segment holds 160 septets / 70 units; a concatenated
 * message holds 153 septets / 67 units per segment, and an extension character
 * or a surrogate pair is never split across two segments.
 * Pure functions, no allocation except dg_sms_normalize (caller frees). */
#ifndef DG_CORE_SMS_TEXT_H
#define DG_CORE_SMS_TEXT_H

#include <stddef.h>
#include <stdint.h>

typedef struct dg_sms_info {
    int ucs2;         /* 1: needs UCS-2 */
    size_t units;     /* septets (GSM-7) or UTF-16 code units (UCS-2) */
    int32_t segments; /* 0 for an empty text */
} dg_sms_info;

/* Measure a UTF-8 text. Returns 0, or DG_EINVAL for invalid UTF-8. */
int dg_sms_measure(const char *utf8, dg_sms_info *out);

/* 1 if the code point is in the GSM 03.38 basic set, 2 if in the extension
 * table, 0 if not encodable in GSM-7. */
int dg_sms_gsm_septets(uint32_t cp);

/* A copy of utf8 where the no-break spaces ICU puts in numbers and times
 * (U+00A0, U+202F, U+2009, U+2007) become plain spaces, so a formatted
 * amount or time does not force UCS-2. NULL on out-of-memory. */
char *dg_sms_normalize(const char *utf8);

/* Decode one UTF-8 code point at s; returns its byte length (0 on invalid). */
size_t dg_utf8_decode(const char *s, uint32_t *cp);

#endif
