/* Tone lint: what a template may not say.
 *
 * Rules come from the *.txt files of a lint directory (templates/lint/).
 * A file applies to the locales its name starts with: "all.txt" and
 * "all.<anything>.txt" to every locale, "en.txt" / "en.merchant.txt" to en
 * and en-*, "zh-CN.txt" to zh-CN only. Merchants extend the lists by adding
 * files (e.g. "en.local.txt"). One rule a line, '#' starts a comment:
 *
 *   hurry                 forbidden word or phrase (case-folded; whole words
 *                         unless it starts/ends with a CJK character)
 *   re: urgent(ly)?       forbidden POSIX extended regex (case-insensitive)
 *   caps-ok: STOP START   words allowed in capitals
 *   max-exclamations: 1   most '!' / '！' allowed in one text (default 1)
 *
 * Built in: a word of 4 or more letters all in capitals (shouting) unless
 * caps-ok, and more '!' than allowed. Checked on the literal text of a
 * template (tags blanked, fallbacks kept; in HTML, markup blanked too). */
#ifndef DG_CORE_TONE_H
#define DG_CORE_TONE_H

#include <stddef.h>

typedef struct dg_tone dg_tone;

/* Load every *.txt file in dir (a missing dir gives an empty rule set).
 * Errors: "FILE:LINE: bad regex ..." */
int dg_tone_load(const char *dir, dg_tone **out, char *err, size_t err_len);
void dg_tone_free(dg_tone *t);

/* Check text (literal view) written in `locale`. html: blank <...> markup.
 * Returns 0, or DG_EINVAL with "FILE:LINE: tone: forbidden 'hurry' (lint/en.txt:4)". */
int dg_tone_check(const dg_tone *t, const char *locale, const char *file, const char *text,
                  int html, char *err, size_t err_len);

#endif
