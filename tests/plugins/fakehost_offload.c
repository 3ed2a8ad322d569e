/* The fake host's work off the loop thread: queued, and run (fn, then done)
 * when the test says (see fakehost.h). */
#include <stdlib.h>

#include "fakehost.h"

typedef struct fwork {
    void (*fn)(void *);
    void (*done)(void *);
    void *ud;
    struct fwork *next;
} fwork;

typedef struct fqueue {
    fwork *head, *tail;
} fqueue;

static void queue_free(void *p)
{
    fqueue *q = p;
    while (q && q->head) { /* never run: a test that left work behind */
        fwork *w = q->head;
        q->head = w->next;
        free(w);
    }
    free(q);
}

static fqueue *queue(fh *h) { return *fh_ext(h, FH_EXT_OFFLOAD, queue_free); }

static int f_run_off_loop(dg_instance *inst, void (*fn)(void *), void (*done)(void *), void *ud)
{
    fqueue *q = queue(fh_of(inst));
    fwork *w;
    if (!fn || !done)
        return DG_EINVAL;
    if (!(w = calloc(1, sizeof *w)))
        return DG_ENOMEM;
    w->fn = fn;
    w->done = done;
    w->ud = ud;
    if (q->tail)
        q->tail->next = w;
    else
        q->head = w;
    q->tail = w;
    return DG_OK;
}

void fh_offload_enable(fh *h)
{
    void **ext = fh_ext(h, FH_EXT_OFFLOAD, queue_free);
    if (!*ext)
        *ext = calloc(1, sizeof(fqueue));
    fh_host_mutable(h)->run_off_loop = f_run_off_loop;
}

size_t fh_offload_queued(fh *h)
{
    fqueue *q = fh_host_mutable(h)->run_off_loop ? queue(h) : NULL;
    size_t n = 0;
    for (fwork *w = q ? q->head : NULL; w; w = w->next)
        n++;
    return n;
}

size_t fh_offload_run(fh *h)
{
    fqueue *q = fh_host_mutable(h)->run_off_loop ? queue(h) : NULL;
    size_t n = 0;
    while (q && q->head) {
        fwork *w = q->head;
        if (!(q->head = w->next))
            q->tail = NULL;
        w->fn(w->ud);
        w->done(w->ud);
        free(w);
        n++;
    }
    return n;
}
