/* Part of the client module (http_client.h): transport error classes and
 * Retry-After parsing, pure functions without the loop. */
#include <ctype.h>
#include <stdint.h>
#include <string.h>

#include <curl/curl.h>

#include "http_client.h"

dg_transport_error dg_http_classify(int code)
{
    switch ((CURLcode)code) {
    case CURLE_OK: return DG_HTTP_OK;
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_RESOLVE_PROXY: return DG_HTTP_EDNS;
    case CURLE_COULDNT_CONNECT: return DG_HTTP_ECONNECT;
    case CURLE_OPERATION_TIMEDOUT: return DG_HTTP_ETIMEOUT;
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_SSL_CIPHER:
    case CURLE_SSL_ENGINE_NOTFOUND:
    case CURLE_SSL_ENGINE_SETFAILED:
    case CURLE_SSL_ENGINE_INITFAILED:
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_USE_SSL_FAILED:
    case CURLE_SSL_SHUTDOWN_FAILED:
    case CURLE_SSL_CRL_BADFILE:
    case CURLE_SSL_ISSUER_ERROR:
    case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
    case CURLE_SSL_INVALIDCERTSTATUS:
#if LIBCURL_VERSION_NUM >= 0x074d00
    case CURLE_SSL_CLIENTCERT:
#endif
        return DG_HTTP_ETLS;
    default: return DG_HTTP_EOTHER;
    }
}

int64_t dg_http_parse_retry_after(const char *v, int64_t now_ms)
{
    char buf[128];
    size_t n;
    time_t t;
    if (!v)
        return -1;
    while (*v == ' ' || *v == '\t')
        v++;
    n = strlen(v);
    while (n && (v[n - 1] == ' ' || v[n - 1] == '\t' || v[n - 1] == '\r' || v[n - 1] == '\n'))
        n--;
    if (n == 0 || n >= sizeof buf)
        return -1;
    memcpy(buf, v, n);
    buf[n] = '\0';
    if (isdigit((unsigned char)buf[0])) {
        int64_t s = 0;
        for (size_t i = 0; i < n; i++) {
            if (!isdigit((unsigned char)buf[i]))
                goto date;
            if (s > INT64_MAX / 10000)
                return INT64_MAX / 1000 * 1000; /* absurdly far: saturate */
            s = s * 10 + (buf[i] - '0');
        }
        return s * 1000;
    }
date:
    t = curl_getdate(buf, NULL);
    if (t == (time_t)-1)
        return -1;
    return (int64_t)t * 1000 > now_ms ? (int64_t)t * 1000 - now_ms : 0;
}
