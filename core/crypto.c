#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include "crypto.h"

int dg_hmac(dg_hmac_alg alg, const void *key, size_t key_len, const void *data, size_t len,
            unsigned char *out, size_t out_cap)
{
    const EVP_MD *md;
    unsigned int n = 0;
    unsigned char buf[EVP_MAX_MD_SIZE];
    switch (alg) {
    case DG_HMAC_SHA1: md = EVP_sha1(); break;
    case DG_HMAC_SHA256: md = EVP_sha256(); break;
    default: return DG_EINVAL;
    }
    if ((size_t)EVP_MD_get_size(md) > out_cap || key_len > INT32_MAX)
        return DG_EINVAL;
    if (!HMAC(md, key_len ? key : "", (int)key_len, data, len, buf, &n))
        return DG_EINVAL;
    memcpy(out, buf, n);
    return (int)n;
}

int dg_ct_equal(const void *a, size_t a_len, const void *b, size_t b_len)
{
    if (a_len != b_len)
        return 0;
    if (a_len == 0)
        return 1;
    return CRYPTO_memcmp(a, b, a_len) == 0;
}

int dg_base64_encode(const void *in, size_t len, char *out, size_t out_cap)
{
    size_t need = 4 * ((len + 2) / 3) + 1;
    if (need > out_cap || len > INT32_MAX)
        return DG_EINVAL;
    return EVP_EncodeBlock((unsigned char *)out, in, (int)len);
}

int dg_base64_decode(const char *in, size_t len, unsigned char *out, size_t out_cap)
{
    int n, pad = 0;
    if (len % 4 != 0 || len / 4 * 3 > out_cap || len > INT32_MAX)
        return DG_EINVAL;
    if (len == 0)
        return 0;
    n = EVP_DecodeBlock(out, (const unsigned char *)in, (int)len);
    if (n < 0)
        return DG_EINVAL;
    if (in[len - 1] == '=')
        pad++;
    if (len > 1 && in[len - 2] == '=')
        pad++;
    return n - pad;
}

int dg_hex_encode(const void *in, size_t len, char *out, size_t out_cap)
{
    static const char digits[] = "0123456789abcdef";
    const unsigned char *p = in;
    if (2 * len + 1 > out_cap)
        return DG_EINVAL;
    for (size_t i = 0; i < len; i++) {
        out[2 * i] = digits[p[i] >> 4];
        out[2 * i + 1] = digits[p[i] & 15];
    }
    out[2 * len] = '\0';
    return (int)(2 * len);
}

int dg_random_bytes(void *buf, size_t len)
{
    return RAND_bytes(buf, (int)len) == 1 ? 0 : DG_EIO;
}
