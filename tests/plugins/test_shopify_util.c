/* The Shopify plugin's parsing helpers and order mapping, without a host:
 * exact 64-bit ids, money in minor units, ISO-8601, E.164 phones, time-zone
 * hints, flows, payment terms, kinds and pay links. */
#include "../unit/cm.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../plugins/shopify/sp.h"
#include "clock.h"

static int64_t iso(const char *s)
{
    int64_t t = 0;
    assert_int_equal(dg_parse_iso8601(s, &t), 0);
    return t;
}

static void map_inline(const char *json, const char *topic, sp_event *ev)
{
    const char *tags[] = {"pre-order", "deposit"};
    sp_map_opts o = {tags, 2, "preorder", 60 * 60000, NULL};
    char err[128];
    cJSON *root = sp_json_parse(json, strlen(json));
    assert_non_null(root);
    assert_int_equal(sp_map_order(root, topic, &o, ev, err, sizeof err), DG_OK);
    cJSON_Delete(root);
}

static void test_flows_and_terms(void **state)
{
    (void)state;
    sp_event ev;
    /* lowercase "receipt" terms: due when issued */
    map_inline("{\"id\":1,\"financial_status\":\"partially_paid\",\"currency\":\"KWD\","
               "\"total_outstanding\":\"12.345\",\"created_at\":\"2026-03-01T00:00:00Z\","
               "\"payment_terms\":{\"payment_terms_type\":\"receipt\",\"payment_schedules\":"
               "[{\"issued_at\":\"2026-03-02T00:00:00Z\",\"due_at\":null}]}}",
               NULL, &ev);
    assert_int_equal(ev.ev.flow, DG_FLOW_PRESALE_BALANCE);
    assert_int_equal(ev.ev.due_at, iso("2026-03-02T00:00:00Z"));
    assert_int_equal(ev.ev.amount_owed_minor, 12345);
    sp_event_free(&ev);
    /* "Net" in another case: created + due_in_days */
    map_inline("{\"id\":2,\"financial_status\":\"partially_paid\",\"total_outstanding\":\"5\","
               "\"created_at\":\"2026-03-01T00:00:00Z\",\"payment_terms\":{\"payment_terms_type\":"
               "\"NET\",\"due_in_days\":30,\"payment_schedules\":[]}}",
               NULL, &ev);
    assert_int_equal(ev.ev.due_at, iso("2026-03-31T00:00:00Z"));
    sp_event_free(&ev);
    /* partially paid without a date or tag: not a pre-sale we recognise */
    map_inline("{\"id\":3,\"financial_status\":\"partially_paid\",\"total_outstanding\":\"5\"}",
               NULL, &ev);
    assert_int_equal(ev.ev.flow, DG_FLOW_UNKNOWN);
    sp_event_free(&ev);
    /* a note attribute marks a pre-sale even while pending */
    map_inline("{\"id\":4,\"financial_status\":\"pending\",\"total_price\":\"10.00\","
               "\"note_attributes\":[{\"name\":\"PreOrder\",\"value\":\"yes\"}]}",
               NULL, &ev);
    assert_int_equal(ev.ev.flow, DG_FLOW_PRESALE_BALANCE);
    assert_int_equal(ev.ev.amount_owed_minor, 1000);
    sp_event_free(&ev);
    /* pending without marks: unpaid, closes after the configured hour */
    map_inline("{\"id\":5,\"financial_status\":\"pending\",\"total_price\":\"10.00\","
               "\"created_at\":\"2026-03-01T00:00:00Z\",\"tags\":\"gift\"}",
               NULL, &ev);
    assert_int_equal(ev.ev.flow, DG_FLOW_UNPAID_ORDER);
    assert_int_equal(ev.ev.close_at, iso("2026-03-01T01:00:00Z"));
    sp_event_free(&ev);
    /* presentment currency without presentment amounts: stay in shop money */
    map_inline("{\"id\":9,\"financial_status\":\"partially_paid\",\"currency\":\"USD\","
               "\"presentment_currency\":\"EUR\",\"total_outstanding\":\"30.00\","
               "\"total_price\":\"100.00\"}",
               NULL, &ev);
    assert_string_equal(ev.ev.currency, "USD");
    assert_int_equal(ev.ev.amount_owed_minor, 3000);
    assert_int_equal(ev.ev.order_total_minor, 10000);
    sp_event_free(&ev);
    /* converted in the proportion of the totals: 30 USD of 100 USD = 27.60 of 92 EUR */
    map_inline("{\"id\":10,\"currency\":\"USD\",\"presentment_currency\":\"EUR\","
               "\"total_outstanding\":\"30.00\",\"total_price_set\":{\"shop_money\":{"
               "\"amount\":\"100.00\"},\"presentment_money\":{\"amount\":\"92.00\"}}}",
               NULL, &ev);
    assert_string_equal(ev.ev.currency, "EUR");
    assert_int_equal(ev.ev.amount_owed_minor, 2760);
    assert_int_equal(ev.ev.order_total_minor, 9200);
    sp_event_free(&ev);
    /* GraphQL reads carry the presentment outstanding itself (JPY: no decimals) */
    map_inline("{\"id\":11,\"currency\":\"USD\",\"presentment_currency\":\"JPY\","
               "\"total_outstanding\":\"30.00\",\"total_outstanding_set\":{\"presentment_money\":"
               "{\"amount\":\"4500\",\"currency_code\":\"JPY\"}},\"current_total_price_set\":{"
               "\"presentment_money\":{\"amount\":\"15000\"}}}",
               NULL, &ev);
    assert_string_equal(ev.ev.currency, "JPY");
    assert_int_equal(ev.ev.amount_owed_minor, 4500);
    assert_int_equal(ev.ev.order_total_minor, 15000);
    sp_event_free(&ev);
    /* kinds from topics */
    map_inline("{\"id\":820982911946154508}", "orders/delete", &ev);
    assert_int_equal(ev.ev.kind, DG_ORDER_DELETED);
    assert_string_equal(ev.ev.order_id, "820982911946154508");
    sp_event_free(&ev);
    map_inline("{\"id\":6,\"cancelled_at\":\"2026-03-01T00:00:00Z\"}", "orders/cancelled", &ev);
    assert_int_equal(ev.ev.kind, DG_ORDER_CANCELLED);
    sp_event_free(&ev);
    /* additionalPaymentCollectionUrl wins over the status page; draft invoice next */
    map_inline(
        "{\"id\":7,\"order_status_url\":\"https://s/status\",\"invoice_url\":\"https://s/inv\","
        "\"payment_collection_details\":{\"additional_payment_collection_url\":\"https://s/pay\"}}",
        NULL, &ev);
    assert_string_equal(ev.ev.pay_link, "https://s/pay");
    sp_event_free(&ev);
    map_inline(
        "{\"id\":8,\"order_status_url\":\"https://s/status\",\"invoice_url\":\"https://s/inv\"}",
        NULL, &ev);
    assert_string_equal(ev.ev.pay_link, "https://s/inv");
    sp_event_free(&ev);
}

static void test_big_ids(void **state)
{
    (void)state;
    char buf[64];
    const char *j =
        "{\"a\":820982911946154508,\"b\":[115310627314723954,-9223372036854775807],"
        "\"c\":12.5e3,\"d\":\"820982911946154508\",\"e\":42,\"f\":\"x\\\"1234567890123456\"}";
    cJSON *o = sp_json_parse(j, strlen(j));
    assert_non_null(o);
    assert_string_equal(sp_json_id(cJSON_GetObjectItem(o, "a"), buf, sizeof buf),
                        "820982911946154508");
    assert_string_equal(
        sp_json_id(cJSON_GetArrayItem(cJSON_GetObjectItem(o, "b"), 0), buf, sizeof buf),
        "115310627314723954");
    assert_true(cJSON_IsNumber(cJSON_GetObjectItem(o, "c")));
    assert_int_equal(cJSON_GetObjectItem(o, "c")->valuedouble, 12500);
    assert_string_equal(sp_json_id(cJSON_GetObjectItem(o, "e"), buf, sizeof buf), "42");
    assert_string_equal(cJSON_GetObjectItem(o, "f")->valuestring, "x\"1234567890123456");
    cJSON *gid = cJSON_CreateString("gid://shopify/Order/820982911946154508");
    assert_string_equal(sp_json_id(gid, buf, sizeof buf), "820982911946154508");
    cJSON_Delete(gid);
    cJSON_Delete(o);
    assert_null(sp_json_parse("{\"a\":", 5));
}

static void test_money(void **state)
{
    (void)state;
    int64_t v;
    assert_int_equal(sp_money_parse("0.1", 2, &v), 0);
    assert_int_equal(v, 10);
    assert_int_equal(sp_money_parse("1234.5", 2, &v), 0);
    assert_int_equal(v, 123450);
    assert_int_equal(sp_money_parse("19.99", 2, &v), 0);
    assert_int_equal(v, 1999);
    assert_int_equal(sp_money_parse("0.00", 2, &v), 0);
    assert_int_equal(v, 0);
    assert_int_equal(sp_money_parse("1500", sp_currency_exponent("JPY"), &v), 0);
    assert_int_equal(v, 1500);
    assert_int_equal(sp_money_parse("1500.0", sp_currency_exponent("jpy"), &v), 0);
    assert_int_equal(v, 1500);
    assert_int_equal(sp_money_parse("1500.5", sp_currency_exponent("JPY"), &v), DG_EINVAL);
    assert_int_equal(sp_money_parse("1.234", sp_currency_exponent("KWD"), &v), 0);
    assert_int_equal(v, 1234);
    assert_int_equal(sp_money_parse("7", sp_currency_exponent("KWD"), &v), 0);
    assert_int_equal(v, 7000);
    assert_int_equal(sp_currency_exponent("USD"), 2);
    const char *bad[] = {
        "-1.00", "",  "abc", "1.2.3", "1,00", "1e3", ".5", "5.", " 5", "5 ", "99999999999999999999",
        "+5",    NULL};
    for (int i = 0; bad[i]; i++)
        assert_int_equal(sp_money_parse(bad[i], 2, &v), DG_EINVAL);
    assert_int_equal(sp_money_parse(NULL, 2, &v), DG_EINVAL);
}

static void test_phone(void **state)
{
    (void)state;
    char o[24];
    struct {
        const char *raw, *cc, *want;
    } ok[] = {{"555-555-0123", "US", "+15555550123"},
              {"(415) 555-0123", "us", "+14155550123"},
              {"1-415-555-0123", "CA", "+14155550123"},
              {"+44 20 7946 0958", NULL, "+442079460958"},
              {"020 7946 0958", "GB", "+442079460958"},
              {"0612345678", "FR", "+33612345678"},
              {"0044 20 7946 0958", "DE", "+442079460958"},
              {"030 1234567", "DE", "+49301234567"},
              {"090-1234-5678", "JP", "+819012345678"},
              {"(11) 91234-5678", "BR", "+5511912345678"},
              {"612 345 678", "ES", "+34612345678"},
              {"011 44 20 7946 0958", "US", "+442079460958"},
              {"33 6 12 34 56 78", "FR", "+33612345678"}};
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
        assert_int_equal(sp_phone_e164(ok[i].raw, ok[i].cc, o, sizeof o), 0);
        assert_string_equal(o, ok[i].want);
    }
    const char *bad[][2] = {{"555-555-SHIP", "US"}, {"12345", "US"}, {"555-0123", "US"},
                            {"0612345678", "XX"},   {"", "US"},      {"155-555-0123", "US"}};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_int_equal(sp_phone_e164(bad[i][0], bad[i][1], o, sizeof o), DG_EINVAL);
    assert_string_equal(sp_tz_hint("US", "CA"), "America/Los_Angeles");
    assert_null(sp_tz_hint("US", NULL));
    assert_null(sp_tz_hint("ZZ", NULL));
}

static void test_time(void **state)
{
    (void)state;
    int64_t t;
    char buf[40];
    assert_int_equal(sp_time_parse("2026-03-10T12:00:00-05:00", &t), 0);
    assert_int_equal(t, iso("2026-03-10T17:00:00Z"));
    assert_int_equal(sp_time_parse("2025-10-11T05:27:13.653518304Z", &t), 0);
    assert_int_equal(t, iso("2025-10-11T05:27:13Z") + 653);
    assert_int_equal(sp_time_parse("2026-03-10T12:00:00+0530", &t), 0);
    assert_int_equal(t, iso("2026-03-10T06:30:00Z"));
    assert_int_equal(sp_time_parse("2026-03-10", &t), DG_EINVAL);
    assert_int_equal(sp_time_parse("2026-13-10T00:00:00Z", &t), DG_EINVAL);
    sp_time_format(iso("2026-03-02T09:00:00Z") + 5, buf, sizeof buf);
    assert_string_equal(buf, "2026-03-02T09:00:00.005Z");
}

/* Truncated and corrupted payloads never crash the parser or the mapping
 * (deterministic mutations of the sample payload; run under ASan/UBSan). */
static void test_mutated_payloads(void **state)
{
    (void)state;
    char path[1024];
    const char *top = getenv("DG_TOP_SRCDIR");
    snprintf(path, sizeof path, "%s/tests/plugins/shopify/order_presale.json", top ? top : "..");
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    char *orig = malloc(32768), *buf = malloc(32768);
    size_t n = fread(orig, 1, 32767, f);
    fclose(f);
    uint64_t x = 88172645463325252ULL;
    const char junk[] = "\"\\{}[],:0123456789-.eE+ \x80\xff";
    const char *tags[] = {"pre-order"};
    sp_map_opts o = {tags, 1, "preorder", 60000, NULL};
    int parsed = 0;
    for (int round = 0; round < 400; round++) {
        size_t len = n;
        memcpy(buf, orig, n);
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        if (round % 4 == 0)
            len = 1 + (size_t)(x % (n - 1)); /* truncated */
        for (int k = 0; k < 1 + (int)(x % 8); k++) {
            x ^= x << 13, x ^= x >> 7, x ^= x << 17;
            buf[x % len] = junk[(x >> 32) % (sizeof junk - 1)];
        }
        cJSON *r = sp_json_parse(buf, len);
        if (!r)
            continue;
        parsed++;
        sp_event e;
        char err[128];
        int rc =
            sp_map_order(r, round % 3 ? "orders/updated" : "orders/paid", &o, &e, err, sizeof err);
        assert_true(rc == DG_OK || rc == DG_EINVAL);
        if (rc == DG_OK)
            assert_true(e.ev.amount_owed_minor >= 0 && e.ev.order_id != NULL);
        sp_event_free(&e);
        cJSON_Delete(r);
    }
    assert_true(parsed > 0);
    free(orig);
    free(buf);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_flows_and_terms),
        cmocka_unit_test(test_big_ids),
        cmocka_unit_test(test_money),
        cmocka_unit_test(test_phone),
        cmocka_unit_test(test_time),
        cmocka_unit_test(test_mutated_payloads),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
