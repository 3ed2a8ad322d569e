/* The fake host's durable inbox: entries kept in memory, synced and
 * delivered when the test says (see fakehost.h). */
#include <stdlib.h>
#include <string.h>

#include "fakehost.h"

typedef struct fentry {
    dg_kv attrs[8];
    size_t n_attrs;
    char *data;
    size_t len;
    dg_emit_done_cb done;
    void *ud;
    int synced;
    struct fentry *next;
} fentry;

typedef struct finbox {
    fentry *head, *tail;
} finbox;

static void entry_free(fentry *e)
{
    for (size_t i = 0; i < e->n_attrs; i++) {
        free((char *)e->attrs[i].key);
        free((char *)e->attrs[i].value);
    }
    free(e->data);
    free(e);
}

static void inbox_free(void *p)
{
    finbox *b = p;
    while (b && b->head) {
        fentry *e = b->head;
        b->head = e->next;
        entry_free(e);
    }
    free(b);
}

static finbox *box(fh *h)
{
    return *fh_ext(h, FH_EXT_INBOX, inbox_free);
}

static int f_inbox_append(dg_instance *inst, const dg_kv *attrs, size_t n_attrs,
                          const void *data, size_t len, dg_emit_done_cb done, void *ud)
{
    finbox *b = box(fh_of(inst));
    fentry *e;
    if (!done || n_attrs > 8 || (!data && len))
        return DG_EINVAL;
    if (!(e = calloc(1, sizeof *e)) || !(e->data = malloc(len + 1))) {
        free(e);
        return DG_ENOMEM;
    }
    if (len)
        memcpy(e->data, data, len);
    e->data[len] = '\0';
    e->len = len;
    for (size_t i = 0; i < n_attrs; i++) {
        e->attrs[i].key = strdup(attrs[i].key);
        e->attrs[i].value = strdup(attrs[i].value ? attrs[i].value : "");
        e->attrs[i].flags = DG_KV_PLAIN;
    }
    e->n_attrs = n_attrs;
    e->done = done;
    e->ud = ud;
    if (b->tail)
        b->tail->next = e;
    else
        b->head = e;
    b->tail = e;
    return DG_PENDING;
}

void fh_inbox_enable(fh *h)
{
    void **ext = fh_ext(h, FH_EXT_INBOX, inbox_free);
    if (!*ext)
        *ext = calloc(1, sizeof(finbox));
    fh_host_mutable(h)->inbox_append = f_inbox_append;
}

size_t fh_inbox_len(fh *h)
{
    size_t n = 0;
    for (fentry *e = box(h) ? box(h)->head : NULL; e; e = e->next)
        n++;
    return n;
}

size_t fh_inbox_sync(fh *h, int status)
{
    finbox *b = box(h);
    size_t n = 0;
    for (fentry *e = b ? b->head : NULL; e; e = e->next) {
        if (e->synced)
            continue;
        e->synced = 1;
        n++;
        e->done(e->ud, status);
    }
    if (status != DG_OK) { /* nothing of it was stored */
        fentry **pp = &b->head;
        b->tail = NULL;
        while (*pp) {
            fentry *e = *pp;
            if (e->synced) {
                *pp = e->next;
                entry_free(e);
            } else {
                b->tail = e;
                pp = &e->next;
            }
        }
    }
    return n;
}

size_t fh_inbox_deliver(fh *h, fh_inbox_process_fn process, void *self, int *last_rc)
{
    finbox *b = box(h);
    size_t n = 0;
    while (b && b->head && b->head->synced) {
        fentry *e = b->head;
        int rc = process(self, e->attrs, e->n_attrs, e->data, e->len);
        if (last_rc)
            *last_rc = rc;
        if (rc == DG_EIO || rc == DG_ENOMEM)
            break; /* stays first: delivered again next time */
        b->head = e->next;
        if (!b->head)
            b->tail = NULL;
        entry_free(e);
        n++;
    }
    return n;
}
