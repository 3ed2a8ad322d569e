/* Throughput of the SMS/e-mail channel building blocks, single thread:
 *   mail_build   RFC 5322 messages built (text + HTML, UTF-8, QP, RFC 2047)
 *   tw_verify    X-Twilio-Signature computations (9 params, HMAC-SHA1)
 *   twsim_create Twilio simulator create-message calls (parse, validate, JSON)
 * Usage: bench_smsemail [iterations]  (default 20000). Prints one line each. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "crypto.h"
#include "mime.h"
#include "twilio_sig.h"
#include "twilio_sim.h"

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
    long n = argc > 1 ? atol(argv[1]) : 20000;
    char text[2048] = "", html[4096] = "<html><body>";
    size_t bytes = 0;
    double t0, t;
    if (n <= 0)
        n = 20000;
    for (int i = 0; i < 12; i++) {
        strcat(text, "Bonjour José, il reste 42,00 € à régler pour « Robe en lin ». ");
        strcat(html, "<p>Bonjour José, il reste <b>42,00&nbsp;€</b> à régler.</p>");
    }
    strcat(html, "</body></html>");
    dg__mail m = {"billing@shop.example",
                  "Boutique Éla",
                  "jose@example.com",
                  "José 中文",
                  "help@shop.example",
                  "Rappel : commande #1001, solde dû",
                  text,
                  html,
                  "<1.2.abc@shop.example>",
                  "=_dg_0123456789abcdef",
                  "https://pay.example.com/webhooks/email/mail/unsubscribe?t=00.00",
                  1772442000000LL};
    t0 = now_s();
    for (long i = 0; i < n; i++) {
        dg__mbuf b = {0};
        if (dg__mail_build(&m, &b) != 0)
            return 1;
        bytes += b.len;
        dg__mbuf_free(&b);
    }
    t = now_s() - t0;
    printf("mail_build    %8.0f msg/s  (%zu bytes/msg, %ld iterations, %.3f s)\n", n / t,
           bytes / (size_t)n, n, t);

    const char *names[] = {"AccountSid", "ApiVersion",    "ErrorCode", "From", "MessageSid",
                           "SmsSid",     "MessageStatus", "SmsStatus", "To"};
    const char *values[] = {"AC00000000000000000000000000000001",
                            "2010-04-01",
                            "30003",
                            "+15005550006",
                            "SM00000000000000000000000000000001",
                            "SM00000000000000000000000000000001",
                            "undelivered",
                            "undelivered",
                            "+15558675310"};
    char sig[64];
    t0 = now_s();
    for (long i = 0; i < n; i++)
        if (dg__tw_signature(dg_hmac, dg_base64_encode, "test_auth_token",
                             "https://dunning.example.test/webhooks/sms/sms_main/status", names,
                             values, 9, sig, sizeof sig) != 0)
            return 1;
    t = now_s() - t0;
    printf("tw_verify     %8.0f sig/s  (%ld iterations, %.3f s)\n", n / t, n, t);

    dg_twsim_config c = {"AC1", "tok", 1, 1772442000000LL, NULL, 0, 0, 0};
    dg_twsim *s = dg_twsim_new(&c);
    const char *body = "To=%2B15558675310&From=%2B15005550006&Body=Hi+Ana%2C+42.00+EUR+are+"
                       "still+open&StatusCallback=https%3A%2F%2Fx.test%2Fs";
    t0 = now_s();
    for (long i = 0; i < n; i++) {
        dg_twsim_response r;
        if (dg_twsim_handle(s, "POST", "/2010-04-01/Accounts/AC1/Messages.json", "AC1", "tok", body,
                            strlen(body), &r) != 0 ||
            r.status != 201)
            return 1;
        dg_twsim_response_free(&r);
        if (i % 1000 == 999) { /* drain the callback queue like the sim loop would */
            dg_twsim_webhook w;
            dg_twsim_set_now(s, dg_twsim_now(s) + 10000);
            while (dg_twsim_pop_webhook(s, &w) == 1)
                dg_twsim_webhook_free(&w);
        }
    }
    t = now_s() - t0;
    printf("twsim_create  %8.0f req/s  (%ld iterations, %.3f s)\n", n / t, n, t);
    dg_twsim_free(s);
    return 0;
}
