/* Worker threads for pure work off the loop thread (see offload.h). */
#include <stdint.h>
#include <stdlib.h>

#include <duegate/types.h>

#include "offload.h"

#define MAX_THREADS 16

typedef struct item {
    const void *owner;
    dg_offload_fn fn, done;
    void *ud;
    uint64_t seq;
    struct item *next;
} item;

typedef struct worker {
    struct dg_offload *o;
    unsigned idx;
    uv_thread_t th;
} worker;

struct dg_offload {
    uv_loop_t *loop;
    /* shared with the workers, under mu */
    uv_mutex_t mu;
    uv_cond_t cv;      /* workers wait here for items */
    uv_cond_t idle_cv; /* a drain waits here for running items */
    item *q, *q_tail;     /* handed over, not started */
    item *fin, *fin_tail; /* finished, their done not run yet */
    const void *running[MAX_THREADS];
    int quit, draining;
    /* loop thread */
    item *local, *local_tail; /* submitted during this iteration */
    size_t pending;
    uint64_t seq;
    unsigned n_threads;
    worker w[MAX_THREADS];
    uv_async_t async;
    uv_check_t check;
    uv_prepare_t prep;
    int closing, closed;
};

static void append(item **head, item **tail, item *it)
{
    it->next = NULL;
    if (*tail)
        (*tail)->next = it;
    else
        *head = it;
    *tail = it;
}

static void worker_main(void *arg)
{
    worker *w = arg;
    dg_offload *o = w->o;
    uv_mutex_lock(&o->mu);
    for (;;) {
        while (!o->q && !o->quit)
            uv_cond_wait(&o->cv, &o->mu);
        item *it = o->q;
        if (!it)
            break; /* quitting, nothing left */
        if (!(o->q = it->next))
            o->q_tail = NULL;
        o->running[w->idx] = it->owner;
        uv_mutex_unlock(&o->mu);
        it->fn(it->ud);
        uv_mutex_lock(&o->mu);
        o->running[w->idx] = NULL;
        int wake = !o->fin;
        append(&o->fin, &o->fin_tail, it);
        if (o->draining)
            uv_cond_broadcast(&o->idle_cv);
        if (wake)
            uv_async_send(&o->async);
    }
    uv_mutex_unlock(&o->mu);
}

/* Hand this iteration's items to the workers. */
static void hand_over(dg_offload *o)
{
    size_t n = 0;
    uv_check_stop(&o->check);
    uv_prepare_stop(&o->prep);
    if (!o->local)
        return;
    for (item *it = o->local; it; it = it->next)
        n++;
    uv_mutex_lock(&o->mu);
    if (o->q_tail)
        o->q_tail->next = o->local;
    else
        o->q = o->local;
    o->q_tail = o->local_tail;
    if (n > 1)
        uv_cond_broadcast(&o->cv);
    else
        uv_cond_signal(&o->cv);
    uv_mutex_unlock(&o->mu);
    o->local = o->local_tail = NULL;
}

static void on_check(uv_check_t *h) { hand_over(h->data); }
static void on_prep(uv_prepare_t *h) { hand_over(h->data); }

/* Items in flight keep the loop running (and nothing else does). */
static void pending_add(dg_offload *o, int d)
{
    size_t was = o->pending;
    o->pending = d > 0 ? o->pending + 1 : o->pending - 1;
    if (!was && o->pending)
        uv_ref((uv_handle_t *)&o->async);
    else if (was && !o->pending)
        uv_unref((uv_handle_t *)&o->async);
}

static void run_done(dg_offload *o, item *list)
{
    while (list) {
        item *n = list->next;
        pending_add(o, -1);
        list->done(list->ud);
        free(list);
        list = n;
    }
}

static void on_async(uv_async_t *a)
{
    dg_offload *o = a->data;
    uv_mutex_lock(&o->mu);
    item *list = o->fin;
    o->fin = o->fin_tail = NULL;
    uv_mutex_unlock(&o->mu);
    run_done(o, list);
}

int dg_offload_open(uv_loop_t *loop, unsigned threads, dg_offload **out)
{
    dg_offload *o;
    if (!loop || !out || threads < 1 || threads > MAX_THREADS)
        return DG_EINVAL;
    if (!(o = calloc(1, sizeof *o)))
        return DG_ENOMEM;
    o->loop = loop;
    if (uv_mutex_init(&o->mu) != 0) {
        free(o);
        return DG_ENOMEM;
    }
    if (uv_cond_init(&o->cv) != 0 || uv_cond_init(&o->idle_cv) != 0) {
        uv_mutex_destroy(&o->mu);
        free(o);
        return DG_ENOMEM;
    }
    uv_async_init(loop, &o->async, on_async);
    o->async.data = o;
    uv_check_init(loop, &o->check);
    o->check.data = o;
    uv_prepare_init(loop, &o->prep);
    o->prep.data = o;
    uv_unref((uv_handle_t *)&o->async); /* until an item is pending */
    for (unsigned i = 0; i < threads; i++) {
        o->w[i].o = o;
        o->w[i].idx = i;
        if (uv_thread_create(&o->w[i].th, worker_main, &o->w[i]) != 0)
            break;
        o->n_threads++;
    }
    if (!o->n_threads) {
        o->closing = 1;
        dg_offload_close(o);
        return DG_ENOMEM;
    }
    *out = o;
    return DG_OK;
}

int dg_offload_submit(dg_offload *o, const void *owner, dg_offload_fn fn, dg_offload_fn done,
                      void *ud)
{
    item *it;
    if (!o || !fn || !done)
        return DG_EINVAL;
    if (o->closing)
        return DG_ESTATE;
    if (!(it = malloc(sizeof *it)))
        return DG_ENOMEM;
    *it = (item){.owner = owner, .fn = fn, .done = done, .ud = ud, .seq = ++o->seq};
    append(&o->local, &o->local_tail, it);
    pending_add(o, 1);
    if (!uv_is_active((uv_handle_t *)&o->check)) {
        uv_check_start(&o->check, on_check);
        uv_prepare_start(&o->prep, on_prep);
    }
    return DG_OK;
}

/* Move the items of `owner` (all when owner is NULL) from *head into *out. */
static void take_owned(item **head, item **tail, const void *owner, int all, item **out,
                       item **out_tail)
{
    item *keep = NULL, *keep_tail = NULL;
    for (item *it = *head, *n; it; it = n) {
        n = it->next;
        if (all || it->owner == owner)
            append(out, out_tail, it);
        else
            append(&keep, &keep_tail, it);
    }
    *head = keep;
    *tail = keep_tail;
}

static int owner_running(const dg_offload *o, const void *owner, int all)
{
    for (unsigned i = 0; i < o->n_threads; i++)
        if (o->running[i] && (all || o->running[i] == owner))
            return 1;
    return 0;
}

static int by_seq(const void *a, const void *b)
{
    uint64_t x = (*(item *const *)a)->seq, y = (*(item *const *)b)->seq;
    return x < y ? -1 : x > y;
}

static void drain(dg_offload *o, const void *owner, int all)
{
    item *todo = NULL, *todo_tail = NULL, *fin = NULL, *fin_tail = NULL;
    size_t n = 0;
    take_owned(&o->local, &o->local_tail, owner, all, &todo, &todo_tail);
    uv_mutex_lock(&o->mu);
    take_owned(&o->q, &o->q_tail, owner, all, &todo, &todo_tail);
    o->draining++;
    while (owner_running(o, owner, all))
        uv_cond_wait(&o->idle_cv, &o->mu);
    o->draining--;
    take_owned(&o->fin, &o->fin_tail, owner, all, &fin, &fin_tail);
    uv_mutex_unlock(&o->mu);
    for (item *it = todo; it; it = it->next) {
        it->fn(it->ud);
        n++;
    }
    for (item *it = fin; it; it = it->next)
        n++;
    if (!n)
        return;
    /* done in submission order */
    item **v = malloc(n * sizeof *v), *all_items = NULL, *all_tail = NULL;
    if (!v) { /* no memory to sort: finished ones first, then the rest */
        if (fin_tail)
            fin_tail->next = todo;
        run_done(o, fin ? fin : todo);
        return;
    }
    size_t k = 0;
    for (item *it = fin; it; it = it->next)
        v[k++] = it;
    for (item *it = todo; it; it = it->next)
        v[k++] = it;
    qsort(v, n, sizeof *v, by_seq);
    for (k = 0; k < n; k++)
        append(&all_items, &all_tail, v[k]);
    free(v);
    run_done(o, all_items);
}

void dg_offload_drain_owner(dg_offload *o, const void *owner)
{
    if (o)
        drain(o, owner, 0);
}

size_t dg_offload_pending(const dg_offload *o) { return o ? o->pending : 0; }

static void on_closed(uv_handle_t *h)
{
    dg_offload *o = h->data;
    if (++o->closed == 3) {
        uv_cond_destroy(&o->idle_cv);
        uv_cond_destroy(&o->cv);
        uv_mutex_destroy(&o->mu);
        free(o);
    }
}

void dg_offload_close(dg_offload *o)
{
    if (!o)
        return;
    drain(o, NULL, 1);
    o->closing = 1;
    uv_mutex_lock(&o->mu);
    o->quit = 1;
    uv_cond_broadcast(&o->cv);
    uv_mutex_unlock(&o->mu);
    for (unsigned i = 0; i < o->n_threads; i++)
        uv_thread_join(&o->w[i].th);
    uv_close((uv_handle_t *)&o->async, on_closed);
    uv_close((uv_handle_t *)&o->check, on_closed);
    uv_close((uv_handle_t *)&o->prep, on_closed);
}
