/* Bench helper for bench/whatsapp-send: a bare curl-multi loop (no daemon,
 * no engine, no plugin) POSTing the same WhatsApp bodies to the same
 * simulator, CONCURRENCY requests in flight, easy handles reused.
 *   wa_bare_post URL TOKEN BODIES_FILE N CONCURRENCY
 * BODIES_FILE: one JSON body per line (cycled). Prints
 *   bare n=... ok=... errors=... secs=... rps=... p99_ms=... */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <curl/curl.h>

typedef struct slot {
    CURL *e;
    double t0;
    struct curl_slist *h;
} slot;

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static size_t sink(char *p, size_t s, size_t n, void *ud)
{
    (void)p, (void)ud;
    return s * n;
}

static int cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
    char **bodies = NULL, line[65536], auth[512];
    size_t nb = 0, cap = 0;
    long n, conc, issued = 0, done = 0, ok = 0, err = 0;
    double *lat, t0;
    FILE *f;
    CURLM *m;
    slot *slots;
    if (argc != 6) {
        fprintf(stderr, "usage: wa_bare_post URL TOKEN BODIES_FILE N CONCURRENCY\n");
        return 2;
    }
    n = atol(argv[4]);
    conc = atol(argv[5]);
    if (n <= 0 || conc <= 0 || !(f = fopen(argv[3], "r")))
        return 2;
    while (fgets(line, sizeof line, f)) {
        size_t l = strcspn(line, "\r\n");
        line[l] = '\0';
        if (!l)
            continue;
        if (nb == cap) {
            char **nbod = realloc(bodies, (cap = cap ? 2 * cap : 64) * sizeof *bodies);
            if (!nbod)
                return 1;
            bodies = nbod;
        }
        bodies[nb++] = strdup(line);
    }
    fclose(f);
    if (!nb)
        return 2;
    snprintf(auth, sizeof auth, "Authorization: Bearer %s", argv[2]);
    curl_global_init(CURL_GLOBAL_DEFAULT);
    m = curl_multi_init();
    lat = calloc((size_t)n, sizeof *lat);
    slots = calloc((size_t)conc, sizeof *slots);
    if (!m || !lat || !slots)
        return 1;
    t0 = now_s();
    for (long i = 0; i < conc; i++) {
        slots[i].e = curl_easy_init();
        slots[i].h = curl_slist_append(NULL, "Content-Type: application/json");
        slots[i].h = curl_slist_append(slots[i].h, auth);
        slots[i].h = curl_slist_append(slots[i].h, "Expect:");
        curl_easy_setopt(slots[i].e, CURLOPT_URL, argv[1]);
        curl_easy_setopt(slots[i].e, CURLOPT_HTTPHEADER, slots[i].h);
        curl_easy_setopt(slots[i].e, CURLOPT_WRITEFUNCTION, sink);
        curl_easy_setopt(slots[i].e, CURLOPT_PRIVATE, &slots[i]);
        curl_easy_setopt(slots[i].e, CURLOPT_TIMEOUT_MS, 30000L);
    }
    for (long i = 0; i < conc && issued < n; i++, issued++) {
        curl_easy_setopt(slots[i].e, CURLOPT_POSTFIELDS, bodies[issued % (long)nb]);
        slots[i].t0 = now_s();
        curl_multi_add_handle(m, slots[i].e);
    }
    while (done < n) {
        int running, q;
        CURLMsg *msg;
        curl_multi_perform(m, &running);
        while ((msg = curl_multi_info_read(m, &q)) != NULL) {
            slot *s;
            long code = 0;
            if (msg->msg != CURLMSG_DONE)
                continue;
            curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&s);
            curl_easy_getinfo(msg->easy_handle, CURLINFO_RESPONSE_CODE, &code);
            if (msg->data.result == CURLE_OK && code == 200)
                ok++;
            else
                err++;
            lat[done++] = now_s() - s->t0;
            curl_multi_remove_handle(m, s->e);
            if (issued < n) {
                curl_easy_setopt(s->e, CURLOPT_POSTFIELDS, bodies[issued % (long)nb]);
                s->t0 = now_s();
                issued++;
                curl_multi_add_handle(m, s->e);
            }
        }
        if (done < n)
            curl_multi_poll(m, NULL, 0, 100, NULL);
    }
    {
        double secs = now_s() - t0;
        qsort(lat, (size_t)n, sizeof *lat, cmp);
        printf("bare n=%ld ok=%ld errors=%ld secs=%.3f rps=%.0f p99_ms=%.2f\n", n, ok, err, secs,
               (double)n / secs, lat[(size_t)((double)n * 0.99)] * 1000.0);
    }
    for (long i = 0; i < conc; i++) {
        curl_easy_cleanup(slots[i].e);
        curl_slist_free_all(slots[i].h);
    }
    curl_multi_cleanup(m);
    for (size_t i = 0; i < nb; i++)
        free(bodies[i]);
    free(bodies);
    free(slots);
    free(lat);
    curl_global_cleanup();
    return err ? 1 : 0;
}
