/* Template throughput: load time of the shipped set, and renders per second
 * per channel (ICU formatting included). Prints numbers; asserts nothing.
 * Usage: bench/bench_templates [TEMPLATES_DIR] [ITERATIONS] */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "template.h"

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
    const char *dir = argc > 1 ? argv[1] : "templates";
    long iters = argc > 2 ? atol(argv[2]) : 2000;
    static const char *const channels[] = {"sms", "email", "whatsapp"};
    static const char *const locales[] = {"en-US", "es-ES", "zh-CN"};
    dg_templates *t = NULL;
    char err[1024];
    double t0 = now_s(), t1;
    dg_msg_facts f;
    if (dg_templates_load(dir, NULL, &t, err, sizeof err)) {
        fprintf(stderr, "%s\n", err);
        return 1;
    }
    t1 = now_s();
    printf("load %s: %zu templates x %zu locales in %.1f ms\n", dir, dg_templates_count(t),
           dg_templates_locale_count(t), (t1 - t0) * 1e3);
    memset(&f, 0, sizeof f);
    f.tz = "Asia/Shanghai";
    f.first_name = "Mei";
    f.order_name = "#1001";
    f.items_summary = "Linen dress (M, blue) x1";
    f.amount_minor = 123456;
    f.currency = "EUR";
    f.pay_link = "https://shop.example.com/pay/1001";
    f.store_name = "Lumen Atelier";
    f.support_contact = "help@lumen.example";
    f.refund_days = 5;
    f.deadline_ms = 1793030340000LL;
    f.now_ms = f.deadline_ms - 2 * 86400000LL;
    for (size_t c = 0; c < 3; c++) {
        long ok = 0;
        t0 = now_s();
        for (long i = 0; i < iters; i++) {
            dg_rendered r;
            f.locale = locales[i % 3];
            if (dg_templates_render(t, "presale/gentle", channels[c], &f, &r, err, sizeof err) == 0)
                ok++;
            dg_rendered_clear(&r);
        }
        t1 = now_s();
        printf("render presale/gentle %-8s %ld renders in %.3f s: %.0f renders/s (%ld ok)\n",
               channels[c], iters, t1 - t0, (double)iters / (t1 - t0), ok);
    }
    dg_templates_free(t);
    return 0;
}
