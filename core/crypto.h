/* Helpers for webhook signatures: HMAC, constant-time compare, encoders.
 * Backed by OpenSSL libcrypto; exposed to plugins through the host table. */
#ifndef DG_CORE_CRYPTO_H
#define DG_CORE_CRYPTO_H

#include <stddef.h>

#include <duegate/host.h>

/* HMAC of data under key into out; returns the digest length or DG_EINVAL. */
int dg_hmac(dg_hmac_alg alg, const void *key, size_t key_len, const void *data, size_t len,
            unsigned char *out, size_t out_cap);
/* 1 if equal (time independent of content), 0 otherwise; unequal lengths are unequal. */
int dg_ct_equal(const void *a, size_t a_len, const void *b, size_t b_len);
/* Standard base64 with padding / lowercase hex; NUL-terminated; length or DG_EINVAL. */
int dg_base64_encode(const void *in, size_t len, char *out, size_t out_cap);
int dg_hex_encode(const void *in, size_t len, char *out, size_t out_cap);
/* Decode standard base64 into out; returns the decoded length or DG_EINVAL. */
int dg_base64_decode(const char *in, size_t len, unsigned char *out, size_t out_cap);
/* Fill buf with cryptographically random bytes; 0 or DG_EIO. */
int dg_random_bytes(void *buf, size_t len);

#endif
