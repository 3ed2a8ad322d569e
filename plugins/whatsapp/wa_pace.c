/* Pacing so that we never provoke 130429 (throughput) or 131056 (pair
 * rate limit) ourselves:
 *  - per phone number: at most `rate` sends in any 1000 ms. This is a token
 *    bucket of `rate` tokens where each token comes back exactly one second
 *    after it was spent (a ring of the last `rate` send times), so it also
 *    satisfies Meta's bucket of `rate` tokens refilled at `rate`/s;
 *  - per recipient: at least `spacing_ms` between two sends to one number.
 * Sends that may not go yet wait in a FIFO; one host timer wakes the queue
 * at the earliest time something may go. A send held back for its recipient
 * does not hold back sends to other recipients. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "wa.h"

/* ----------------------------------------------------- recipient table */

static uint64_t hash(const char *s)
{
    uint64_t h = 1469598103934665603ull; /* FNV-1a */
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ull;
    return h;
}

static wa_recip *recip_find(wa *w, const char *to)
{
    wa_recip *r = w->recips[hash(to) % w->n_buckets];
    for (; r; r = r->next)
        if (strcmp(r->to, to) == 0)
            return r;
    return NULL;
}

/* Drop recipients whose spacing has passed: they constrain nothing. */
static void recip_prune(wa *w, int64_t now)
{
    for (size_t b = 0; b < w->n_buckets; b++) {
        wa_recip **pp = &w->recips[b];
        while (*pp) {
            wa_recip *r = *pp;
            if (r->last + w->spacing_ms <= now) {
                *pp = r->next;
                free(r);
                w->n_recips--;
            } else {
                pp = &r->next;
            }
        }
    }
}

static void recip_grow(wa *w)
{
    size_t nb = w->n_buckets * 2;
    wa_recip **t = calloc(nb, sizeof *t);
    if (!t)
        return; /* keep the smaller table; lookups stay correct */
    for (size_t b = 0; b < w->n_buckets; b++) {
        wa_recip *r = w->recips[b], *nx;
        for (; r; r = nx) {
            nx = r->next;
            size_t i = hash(r->to) % nb;
            r->next = t[i];
            t[i] = r;
        }
    }
    free(w->recips);
    w->recips = t;
    w->n_buckets = nb;
}

static void recip_note(wa *w, const char *to, int64_t now)
{
    wa_recip *r = recip_find(w, to);
    if (r) {
        r->last = now;
        return;
    }
    if (w->n_recips >= w->prune_at) {
        recip_prune(w, now);
        if (w->n_recips >= w->prune_at / 2) {
            w->prune_at *= 2;
            if (w->n_recips > w->n_buckets)
                recip_grow(w);
        }
    }
    r = malloc(sizeof *r + strlen(to) + 1);
    if (!r)
        return; /* spacing is best effort without memory */
    strcpy(r->to, to);
    r->last = now;
    size_t i = hash(to) % w->n_buckets;
    r->next = w->recips[i];
    w->recips[i] = r;
    w->n_recips++;
}

static int64_t recip_ready(wa *w, const char *to)
{
    wa_recip *r;
    if (w->spacing_ms <= 0)
        return 0;
    r = recip_find(w, to);
    return r ? r->last + w->spacing_ms : 0;
}

/* ------------------------------------------------------- send limiter */

static int64_t limiter_ready(wa *w)
{
    int64_t t = w->paused_until;
    if (w->rate > 0 && w->ring_n >= (size_t)w->rate && w->ring[w->ring_idx] + 1000 > t)
        t = w->ring[w->ring_idx] + 1000; /* oldest of the last `rate` sends */
    return t;
}

void wa_pace_throttled(wa *w, const char *to, int64_t retry_after_ms)
{
    int64_t now = w->host->now_ms(w->inst);
    if (!to) {
        /* 130429 & co: Meta says this number is over its rate; hold the
         * whole queue rather than hammer it */
        if (now + retry_after_ms > w->paused_until)
            w->paused_until = now + retry_after_ms;
    } else if (w->spacing_ms > 0) {
        recip_note(w, to, now); /* 131056: space this customer from now */
    }
    if (w->head)
        wa_pump(w);
}

static void limiter_take(wa *w, int64_t now)
{
    if (w->rate <= 0)
        return;
    w->ring[w->ring_idx] = now;
    w->ring_idx = (w->ring_idx + 1) % (size_t)w->rate;
    if (w->ring_n < (size_t)w->rate)
        w->ring_n++;
}

/* --------------------------------------------------------------- queue */

int wa_pace_init(wa *w)
{
    if (w->rate > 0) {
        w->ring = calloc((size_t)w->rate, sizeof *w->ring);
        if (!w->ring)
            return DG_ENOMEM;
    }
    w->n_buckets = 1024;
    w->prune_at = 1024;
    w->recips = calloc(w->n_buckets, sizeof *w->recips);
    return w->recips ? 0 : DG_ENOMEM;
}

void wa_pace_free(wa *w)
{
    if (w->timer)
        w->host->timer_stop(w->timer);
    w->timer = NULL;
    for (size_t b = 0; w->recips && b < w->n_buckets; b++) {
        wa_recip *r = w->recips[b], *nx;
        for (; r; r = nx) {
            nx = r->next;
            free(r);
        }
    }
    free(w->recips);
    free(w->ring);
    w->recips = NULL;
    w->ring = NULL;
}

void wa_queue_push(wa *w, wa_item *it, int front)
{
    it->prev = it->next = NULL;
    if (front) {
        it->next = w->head;
        if (w->head)
            w->head->prev = it;
        w->head = it;
        if (!w->tail)
            w->tail = it;
    } else {
        it->prev = w->tail;
        if (w->tail)
            w->tail->next = it;
        w->tail = it;
        if (!w->head)
            w->head = it;
    }
    w->queued++;
}

void wa_queue_remove(wa *w, wa_item *it)
{
    if (it->prev)
        it->prev->next = it->next;
    else
        w->head = it->next;
    if (it->next)
        it->next->prev = it->prev;
    else
        w->tail = it->prev;
    it->prev = it->next = NULL;
    w->queued--;
}

static void on_timer(void *ud)
{
    wa *w = ud;
    w->timer = NULL; /* one-shot timers release themselves */
    wa_pump(w);
}

static void arm(wa *w, int64_t due, int64_t now)
{
    if (w->timer && w->timer_due <= due)
        return;
    if (w->timer)
        w->host->timer_stop(w->timer);
    w->timer = w->host->timer_start(w->inst, due > now ? due - now : 0, 0, on_timer, w);
    w->timer_due = due;
}

static void pump_once(wa *w)
{
    int64_t now = w->host->now_ms(w->inst), next = INT64_MAX;
    wa_item *it = w->head, *nx;
    for (; it; it = nx) {
        nx = it->next;
        if (w->sender_stopped) {
            wa_queue_remove(w, it);
            wa_item_finish(w, it, DG_ESTATE, DG_ERRC_STOP_SENDER, 0, NULL, "sender_stopped",
                           w->stop_reason);
            wa_item_free(it);
            continue;
        }
        int64_t t = limiter_ready(w);
        if (t > now) {
            next = t;
            break;
        }
        t = recip_ready(w, it->to);
        if (t > now) {
            if (t < next)
                next = t;
            continue;
        }
        wa_queue_remove(w, it);
        limiter_take(w, now);
        if (w->spacing_ms > 0)
            recip_note(w, it->to, now);
        wa_dispatch(w, it);
    }
    if (next != INT64_MAX && w->head)
        arm(w, next, now);
    w->host->metric_set(w->inst, "duegate_whatsapp_queue_depth", &w->label, 1, (double)w->queued);
}

/* Re-entrancy guard: a dispatch may complete synchronously and stop the
 * sender, which pumps again; that pass runs after this one. */
void wa_pump(wa *w)
{
    if (w->pumping) {
        w->repump = 1;
        return;
    }
    w->pumping = 1;
    do {
        w->repump = 0;
        pump_once(w);
    } while (w->repump);
    w->pumping = 0;
}
