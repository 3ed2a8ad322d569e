#include "cm.h"

#include <stdlib.h>
#include <string.h>

#include "crypto.h"
#include "form.h"

static void sig_hex(dg_hmac_alg alg, const char *key, const char *body, char *out)
{
    unsigned char mac[32];
    int n = dg_hmac(alg, key, strlen(key), body, strlen(body), mac, sizeof mac);
    assert_true(n > 0);
    dg_hex_encode(mac, (size_t)n, out, 65);
}

static void sig_b64(dg_hmac_alg alg, const char *key, const char *body, char *out)
{
    unsigned char mac[32];
    int n = dg_hmac(alg, key, strlen(key), body, strlen(body), mac, sizeof mac);
    assert_true(n > 0);
    assert_true(dg_base64_encode(mac, (size_t)n, out, 64) > 0);
}

/* Vectors from docs (protocols.md A6, C1, B6). */
static void test_whatsapp_vector(void **state)
{
    (void)state;
    char hex[65];
    sig_hex(DG_HMAC_SHA256, "test_app_secret",
            "{\"object\":\"whatsapp_business_account\",\"entry\":[]}", hex);
    assert_string_equal(hex, "dec6a680679a968e7e0319355b23599cbfc54502c0784668e9618baa0c633756");
}

static void test_shopify_vector(void **state)
{
    (void)state;
    char b64[64];
    sig_b64(DG_HMAC_SHA256, "shpss_test_secret",
            "{\"id\":820982911946154508,\"name\":\"#9999\",\"financial_status\":\"partially_paid\"}",
            b64);
    assert_string_equal(b64, "dCdMVLGHe1ZXy4IgcYI95dgc0YyPOna5WykhNVTqVcc=");
}

static void test_twilio_vectors(void **state)
{
    (void)state;
    char b64[64];
    /* The signed string is URL + sorted name+value, values decoded (%2B -> +). */
    static const char body[] = "CallSid=CA1234567890ABCDE&Caller=%2B12349013030&Digits=1234"
                               "&From=%2B12349013030&To=%2B18005551212";
    dg_form *f = dg_form_parse(body, strlen(body));
    char data[512];
    assert_non_null(f);
    strcpy(data, "https://mycompany.com/myapp.php?foo=1&bar=2");
    for (size_t i = 0; i < dg_form_count(f); i++) {
        strcat(data, dg_form_name(f, i));
        strcat(data, dg_form_value(f, i));
    }
    dg_form_free(f);
    sig_b64(DG_HMAC_SHA1, "12345", data, b64);
    assert_string_equal(b64, "0/KCTR6DLpKmkAf8muzZqo1nDgQ=");

    sig_b64(DG_HMAC_SHA1, "test_auth_token",
            "https://dunning.example.test/twilio/status"
            "AccountSidAC00000000000000000000000000000001ApiVersion2010-04-01ErrorCode30003"
            "From+15005550006MessageSidSM00000000000000000000000000000001MessageStatusundelivered"
            "SmsSidSM00000000000000000000000000000001SmsStatusundeliveredTo+15558675310",
            b64);
    assert_string_equal(b64, "Df5x/Dmj38xo2bA8SQi5viB1BEQ=");
}

static void test_ct_equal_and_base64(void **state)
{
    (void)state;
    unsigned char out[16];
    char b64[16];
    assert_true(dg_ct_equal("abc", 3, "abc", 3));
    assert_false(dg_ct_equal("abc", 3, "abd", 3));
    assert_false(dg_ct_equal("abc", 3, "abcd", 4));
    assert_int_equal(dg_base64_encode("hi!", 3, b64, sizeof b64), 4);
    assert_string_equal(b64, "aGkh");
    assert_int_equal(dg_base64_encode("hello", 5, b64, 4), DG_EINVAL);
    assert_int_equal(dg_base64_decode("aGk=", 4, out, sizeof out), 2);
    assert_memory_equal(out, "hi", 2);
    assert_int_equal(dg_base64_decode("aGk", 3, out, sizeof out), DG_EINVAL);
}

static void test_form(void **state)
{
    (void)state;
    dg_form *f = dg_form_parse("a=1&b=two+words&a=%E2%82%AC&empty=&flag&&c=%2b", strlen("a=1&b=two+words&a=%E2%82%AC&empty=&flag&&c=%2b"));
    char *enc;
    assert_non_null(f);
    assert_int_equal(dg_form_count(f), 6);
    assert_string_equal(dg_form_get(f, "a"), "1");
    assert_string_equal(dg_form_value(f, 2), "\xe2\x82\xac");
    assert_string_equal(dg_form_get(f, "b"), "two words");
    assert_string_equal(dg_form_get(f, "empty"), "");
    assert_string_equal(dg_form_get(f, "flag"), "");
    assert_string_equal(dg_form_get(f, "c"), "+");
    assert_null(dg_form_get(f, "missing"));
    dg_form_free(f);
    assert_null(dg_form_parse("a=%G1", 5));
    assert_null(dg_form_parse("a=%4", 4));
    enc = dg_url_encode("+1 415/ü");
    assert_string_equal(enc, "%2B1%20415%2F%C3%BC");
    free(enc);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_whatsapp_vector), cmocka_unit_test(test_shopify_vector),
        cmocka_unit_test(test_twilio_vectors),  cmocka_unit_test(test_ct_equal_and_base64),
        cmocka_unit_test(test_form),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
