/* Twilio request signing (protocols.md §B6) and form encoding, shared by the
 * SMS plugin (verifying) and the simulator's Twilio persona (signing).
 * No global state; every buffer is the caller's. The HMAC and base64
 * functions are passed in (host->hmac / dg_hmac have the same shape). */
#ifndef DG_TWILIO_SIG_H
#define DG_TWILIO_SIG_H

#include <stddef.h>

#include <duegate/host.h>

typedef int (*dg__tw_hmac_fn)(dg_hmac_alg alg, const void *key, size_t key_len, const void *data,
                              size_t len, unsigned char *out, size_t cap);
typedef int (*dg__tw_b64_fn)(const void *in, size_t len, char *out, size_t cap);

/* X-Twilio-Signature of a form POST: base64(HMAC-SHA1(token, url + for each
 * param sorted by name then value: name + value)). Values are the decoded
 * ones. Writes the NUL-terminated signature into out (>= 29 bytes).
 * Returns 0, DG_ENOMEM or DG_EINVAL. */
int dg__tw_signature(dg__tw_hmac_fn hmac, dg__tw_b64_fn b64, const char *token, const char *url,
                     const char *const *names, const char *const *values, size_t n, char *out,
                     size_t cap);

/* The same URL with the scheme's default port toggled: https://h/x <->
 * https://h:443/x (http and :80 likewise). Returns 0 and writes out, or
 * DG_ENOTFOUND when the URL has another (non-default) port or no scheme. */
int dg__tw_url_port_variant(const char *url, char *out, size_t cap);

/* Append the form encoding of s (unreserved kept, space as '+', rest %XX)
 * to a growing malloc'd buffer. Returns 0 or DG_ENOMEM. */
typedef struct dg__tw_buf {
    char *p;
    size_t len, cap;
} dg__tw_buf;
int dg__tw_buf_add(dg__tw_buf *b, const char *s, size_t n);
int dg__tw_buf_str(dg__tw_buf *b, const char *s);
int dg__tw_buf_form(dg__tw_buf *b, const char *name, const char *value); /* &name=value */
void dg__tw_buf_free(dg__tw_buf *b);

/* XML text escaping (&, <, >, ", ') appended to b. */
int dg__tw_buf_xml(dg__tw_buf *b, const char *s);

#endif
