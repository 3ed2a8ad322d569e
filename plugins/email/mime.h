/* Building an RFC 5322 / MIME message for the e-mail channel: quoted-
 * printable bodies (RFC 2045, 76-char lines, CRLF), RFC 2047 encoded-words
 * for non-ASCII header text, RFC 5322 dates; and small helpers to read
 * replies (sender address, opt-out words). Pure functions: no host, no
 * clock, no randomness (the caller passes the Message-ID, boundary, date).
 * Output buffers are malloc'd; free with dg__mbuf_free. */
#ifndef DG_EMAIL_MIME_H
#define DG_EMAIL_MIME_H

#include <stddef.h>
#include <stdint.h>

typedef struct dg__mbuf {
    char *p;
    size_t len, cap;
    int oom; /* sticky: set when an append failed */
} dg__mbuf;

void dg__mbuf_add(dg__mbuf *b, const char *s, size_t n);
void dg__mbuf_str(dg__mbuf *b, const char *s);
void dg__mbuf_free(dg__mbuf *b);

/* Quoted-printable of UTF-8 text: line breaks (LF or CRLF) become CRLF,
 * encoded lines are at most 76 characters (soft breaks "=" CRLF), trailing
 * blanks, '=', controls, non-ASCII and a leading '.' are escaped; a UTF-8
 * sequence is never split by a soft break. */
void dg__mime_qp(dg__mbuf *b, const char *text);

/* "Name: value" CRLF, the value folded at blanks to stay under 78
 * characters when ASCII, else as RFC 2047 "B" encoded-words of UTF-8 (each
 * <= 75 characters, one per folded line). CR/LF in value become spaces. */
void dg__mime_header(dg__mbuf *b, const char *name, const char *value);

/* An address for From/To/Reply-To: addr, "Name" <addr> or
 * =?UTF-8?B?...?= <addr> when the name is not ASCII. */
void dg__mime_address(dg__mbuf *b, const char *name, const char *addr);

/* RFC 5322 date-time in UTC: "Mon, 02 Mar 2026 09:00:00 +0000". */
void dg__mime_date(int64_t ms, char *out, size_t cap);

/* 1 if s is all printable 7-bit ASCII. */
int dg__mime_is_ascii(const char *s);

/* 1 if addr looks like a single deliverable address (local@domain, no
 * blanks, controls, brackets, commas or quotes). Not a full RFC 5321 check. */
int dg__mime_addr_ok(const char *addr);

typedef struct dg__mail {
    const char *from_address, *from_name;
    const char *to_address, *to_name;
    const char *reply_to; /* NULL: none */
    const char *subject;
    const char *text;            /* text/plain part (required) */
    const char *html;            /* text/html part; NULL: single text part */
    const char *message_id;      /* with angle brackets */
    const char *boundary;        /* must not occur in QP output: use "=_..." */
    const char *unsubscribe_url; /* NULL: no List-Unsubscribe headers */
    int64_t date_ms;
} dg__mail;

/* The whole message, CRLF line ends. Returns 0 or -1 (no memory). */
int dg__mail_build(const dg__mail *m, dg__mbuf *out);

/* "Name <a@b>" or "a@b" -> a@b lowercased into out. 0, or -1 when there is
 * no usable address. */
int dg__mail_extract_address(const char *from, char *out, size_t cap);

/* 1 if the first non-blank line of s (for a subject: after any "Re:") is a
 * single opt-out word: STOP, STOPALL, UNSUBSCRIBE, OPTOUT, OPT-OUT (trailing
 * '.' or '!' allowed, any case). */
int dg__mail_is_optout(const char *s, int subject);

#endif
