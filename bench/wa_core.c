/* CPU cost of the WhatsApp path without sockets: the simulator core alone,
 * and the plugin (through the fake host) answered by the simulator core,
 * with its status webhooks signed, posted back and parsed. Prints figures;
 * asserts nothing. Run by bench/whatsapp-core. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "fakehost.h"
#include "wa_sim.h"

const dg_plugin_descriptor *whatsapp_LTX_dg_plugin_query(void);

#define BASE "https://graph.example.test"
#define BATCH 4000 /* the fake host records at most 4096 calls */

static double mono(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int64_t g_now = 1772442000000LL;
static int64_t now_fn(void *ud)
{
    fh *h = ud;
    return h ? fh_now(h) : g_now;
}

static const char *SCRIPT = "{\"templates\":[{\"name\":\"payment_reminder\",\"language\":\"en_US\","
                            "\"params\":2,\"buttons\":[\"url\"]}],\"record_max\":0,"
                            "\"webhooks\":{\"batch\":100}}";

static wa_sim *mk_sim(void *clock_ud, int rate)
{
    wa_sim_config c = {0};
    char err[128];
    c.phone_number_id = "1122334455667";
    c.access_token = "tok";
    c.app_secret = "secret";
    c.rate_per_second = rate;
    c.pair_spacing_ms = -1;
    c.seed = 1;
    c.now = now_fn;
    c.now_ud = clock_ud;
    wa_sim *s = wa_sim_new(&c);
    if (!s || wa_sim_script(s, SCRIPT, err, sizeof err) != 0)
        exit(1);
    return s;
}

int main(int argc, char **argv)
{
    long n = argc > 1 ? atol(argv[1]) : 100000;
    const char *auth[] = {"Authorization", "Bearer tok", NULL};
    char body[1024];
    double t0, t1;

    /* 1. the simulator core alone */
    wa_sim *s = mk_sim(NULL, -1);
    t0 = mono();
    for (long i = 0; i < n; i++) {
        wa_sim_response r;
        int len = snprintf(body, sizeof body,
                           "{\"messaging_product\":\"whatsapp\",\"recipient_type\":\"individual\","
                           "\"to\":\"1415%07ld\",\"type\":\"template\",\"template\":{\"name\":"
                           "\"payment_reminder\",\"language\":{\"code\":\"en_US\"},\"components\":"
                           "[{\"type\":\"body\",\"parameters\":[{\"type\":\"text\",\"text\":\"Ana\"},"
                           "{\"type\":\"text\",\"text\":\"#1001\"}]},{\"type\":\"button\","
                           "\"sub_type\":\"url\",\"index\":0,\"parameters\":[{\"type\":\"text\","
                           "\"text\":\"p/1\"}]}]}}",
                           i);
        wa_sim_handle(s, "POST", "/v21.0/1122334455667/messages", auth, body, (size_t)len, &r);
        if (r.status != 200)
            return 1;
        wa_sim_response_clear(&r);
    }
    t1 = mono();
    printf("sim_core_requests_per_s %.0f\n", (double)n / (t1 - t0));
    g_now += 10000;
    size_t hooks = 0;
    wa_sim_webhook w;
    t0 = mono();
    while (wa_sim_pop_webhook(s, &w)) {
        hooks++;
        wa_sim_webhook_clear(&w);
    }
    t1 = mono();
    printf("sim_core_status_events_per_s %.0f (%zu signed bodies of up to 100 events)\n",
           (double)(3 * n) / (t1 - t0), hooks);
    wa_sim_free(s);

    /* 2. plugin -> simulator -> webhooks -> plugin, limits lifted */
    const dg_plugin_descriptor *d = whatsapp_LTX_dg_plugin_query();
    dg_template_param p[2];
    dg_template_button b;
    dg_outbound_message m;
    long done = 0, events = 0;
    double busy = 0;
    while (done < n) {
        long k = n - done < BATCH ? n - done : BATCH;
        fh *h = fh_new("wa1", "{\"phone_number_id\":\"1122334455667\",\"access_token\":\"tok\","
                              "\"app_secret\":\"secret\",\"verify_token\":\"v\",\"api_base\":"
                              "\"" BASE "\",\"rate_per_second\":0,\"recipient_spacing_ms\":0}");
        void *self = NULL;
        char err[128], to[32];
        if (fh_create_start(h, d, &self, err, sizeof err) != 0)
            return 1;
        wa_sim *ls = mk_sim(h, -1);
        t0 = mono();
        for (long i = 0; i < k; i++) {
            DG_INIT(&m);
            DG_INIT(&p[0]);
            DG_INIT(&p[1]);
            DG_INIT(&b);
            p[0].value = "Ana";
            p[1].value = "#1001";
            b.kind = DG_BUTTON_URL;
            b.value = "p/1";
            snprintf(to, sizeof to, "+1415%07ld", done + i);
            m.touch_id = done + i + 1;
            m.to_phone = to;
            m.template_name = "payment_reminder";
            m.template_language = "en_US";
            m.params = p;
            m.n_params = 2;
            m.buttons = &b;
            m.n_buttons = 1;
            d->channel->send(self, &m, fh_new_op(h));
            fh_outbound *o = fh_outbound_at(h, (size_t)i);
            wa_sim_response r;
            wa_sim_handle(ls, o->method, o->url + strlen(BASE), auth, o->body, o->body_len, &r);
            fh_reply(h, (size_t)i, r.status, NULL, r.body, DG_HTTP_OK, -1);
            wa_sim_response_clear(&r);
        }
        fh_advance(h, 10000);
        while (wa_sim_pop_webhook(ls, &w)) {
            fh_response resp;
            const char *hdr[] = {"X-Hub-Signature-256", w.signature, NULL};
            fh_request(h, "POST", "/webhooks/whatsapp/wa1", NULL, hdr, w.body, strlen(w.body),
                       &resp);
            wa_sim_webhook_clear(&w);
        }
        t1 = mono();
        busy += t1 - t0;
        events += (long)fh_n_events(h);
        if (fh_n_completed(h) != (size_t)k)
            return 1;
        fh_stop_destroy(h, d, self, 0);
        wa_sim_free(ls);
        fh_free(h);
        done += k;
    }
    printf("plugin_sim_loop_sends_per_s %.0f (%ld sends, %ld status events back, one core)\n",
           (double)n / busy, n, events);
    return 0;
}
