/* The webhook's X-Shopify-Hmac-Sha256 check (see sp.h). Over a large body
 * the HMAC is most of what acknowledging a webhook costs the loop thread,
 * so with a 1.2 host it runs on a host worker thread: the job reads only
 * the request's body and headers (which stay put until the request is
 * answered, and nothing answers it meanwhile) and the instance's secrets. */
#include <stdlib.h>
#include <string.h>

#include "sp.h"

typedef struct sp_vjob {
    sp *s;
    dg_http_req *req;
    const char *body, *mac;
    size_t len;
    const char *secrets[2];
    sp_verified_cb cb;
    int which;
} sp_vjob;

/* 1 or 2: the secret that signed the body; 0: none (pure: any thread). */
static int check(const dg_host *H, const char *const secrets[2], const void *body, size_t len,
                 const char *hdr)
{
    unsigned char mac[32];
    char b64[64];
    for (int i = 0; i < 2; i++) {
        if (!secrets[i])
            continue;
        int n = H->hmac(DG_HMAC_SHA256, secrets[i], strlen(secrets[i]), body, len, mac,
                        sizeof mac);
        if (n != 32 || H->base64_encode(mac, 32, b64, sizeof b64) < 0)
            return 0;
        if (H->ct_equal(b64, strlen(b64), hdr, strlen(hdr)))
            return i + 1;
    }
    return 0;
}

static void job_run(void *ud)
{
    sp_vjob *j = ud;
    j->which = check(j->s->host, j->secrets, j->body, j->len, j->mac);
}

static void job_done(void *ud)
{
    sp_vjob *j = ud;
    sp *s = j->s;
    s->verifying--;
    j->cb(s, j->req, j->which);
    free(j);
    sp_stop_maybe_done(s);
}

void sp_verify(sp *s, dg_http_req *req, const char *body, size_t len, const char *mac,
               sp_verified_cb cb)
{
    const dg_host *H = s->host;
    const char *secrets[2] = {s->client_secret, NULL};
    sp_vjob *j;
    if (s->prev_secret && s->rotation_until && H->now_ms(s->inst) < s->rotation_until)
        secrets[1] = s->prev_secret;
    if (len >= SP_VERIFY_OFF_LOOP_MIN && DG_HOST_HAS(H, run_off_loop) && H->run_off_loop &&
        (j = malloc(sizeof *j)) != NULL) {
        *j = (sp_vjob){.s = s, .req = req, .body = body, .mac = mac, .len = len, .cb = cb,
                       .secrets = {secrets[0], secrets[1]}};
        if (H->run_off_loop(s->inst, job_run, job_done, j) == DG_OK) {
            s->verifying++;
            return;
        }
        free(j);
    }
    cb(s, req, check(H, secrets, body, len, mac)); /* small body, or no workers */
}
