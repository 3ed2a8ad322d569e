/* The conformance kit's durable inbox; see kithost_inbox.h. */
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "inbox.h"
#include "kithost_inbox.h"

#define KIT(inst) ((dg_kit *)(void *)(inst))
#define KIT_INBOX_RETRIES_NOTED 3

typedef struct kentry {
    dg_kv *attrs;
    size_t n_attrs;
    unsigned char *data;
    size_t len;
    dg_emit_done_cb done; /* NULL once acknowledged */
    void *ud;
    int tries;
    struct kentry *next;
} kentry;

struct dg_kit_inbox {
    dg_kit_inbox_fn process;
    void *self;
    kentry *head, *tail;
    size_t n;
    int noted_retry;
};

dg_kit_inbox *dg__kit_inbox_new(void)
{
    return calloc(1, sizeof(dg_kit_inbox));
}

static void entry_free(kentry *e)
{
    for (size_t i = 0; i < e->n_attrs; i++) {
        free((char *)e->attrs[i].key);
        free((char *)e->attrs[i].value);
    }
    free(e->attrs);
    free(e->data);
    free(e);
}

void dg__kit_inbox_free(dg_kit_inbox *ib)
{
    if (!ib)
        return;
    while (ib->head) {
        kentry *e = ib->head;
        ib->head = e->next;
        entry_free(e);
    }
    free(ib);
}

void dg__kit_inbox_set(dg_kit_inbox *ib, dg_kit_inbox_fn process, void *self)
{
    ib->process = process;
    ib->self = self;
}

size_t dg__kit_inbox_waiting(const dg_kit_inbox *ib)
{
    return ib->n;
}

static kentry *entry_copy(const dg_kv *attrs, size_t n_attrs, const void *data, size_t len)
{
    kentry *e = calloc(1, sizeof *e);
    if (!e)
        return NULL;
    if ((n_attrs && !(e->attrs = calloc(n_attrs, sizeof *e->attrs))) ||
        !(e->data = malloc(len ? len : 1))) {
        entry_free(e);
        return NULL;
    }
    e->n_attrs = n_attrs; /* all NULL until copied: entry_free copes */
    for (size_t i = 0; i < n_attrs; i++) {
        e->attrs[i].key = strdup(attrs[i].key);
        e->attrs[i].value = strdup(attrs[i].value ? attrs[i].value : "");
        e->attrs[i].flags = attrs[i].flags;
        if (!e->attrs[i].key || !e->attrs[i].value) {
            entry_free(e);
            return NULL;
        }
    }
    if (len)
        memcpy(e->data, data, len);
    e->len = len;
    return e;
}

int dg__kit_inbox_append(dg_instance *inst, const dg_kv *attrs, size_t n_attrs, const void *data,
                         size_t len, dg_emit_done_cb done, void *ud)
{
    dg_kit *k = KIT(inst);
    dg_kit_inbox *ib = dg__kit_inbox(k);
    size_t size = len;
    if (dg__kit_guard(k, "inbox_append"))
        return DG_ESTATE;
    if (!ib->process)
        return DG_ENOTSUP;
    if (!done || (!data && len) || (n_attrs && !attrs) || n_attrs > 64)
        return DG_EINVAL;
    for (size_t i = 0; i < n_attrs; i++) {
        if (!attrs[i].key)
            return DG_EINVAL;
        size += strlen(attrs[i].key) + (attrs[i].value ? strlen(attrs[i].value) : 0);
    }
    if (size > DG_INBOX_MAX_ENTRY) /* what the daemon's journal takes */
        return DG_EINVAL;
    kentry *e = entry_copy(attrs, n_attrs, data, len);
    if (!e)
        return DG_ENOMEM;
    e->done = done;
    e->ud = ud;
    if (ib->tail)
        ib->tail->next = e;
    else
        ib->head = e;
    ib->tail = e;
    ib->n++;
    return DG_PENDING;
}

/* done(DG_OK) for every entry appended before this call (an append made
 * from a done waits for the next turn, as a later write would). */
static void acknowledge(dg_kit_inbox *ib)
{
    kentry *last = ib->tail;
    for (kentry *e = ib->head; e; e = e->next) {
        if (e->done) {
            dg_emit_done_cb cb = e->done;
            e->done = NULL;
            cb(e->ud, DG_OK);
        }
        if (e == last)
            break;
    }
}

static void process(dg_kit *k, dg_kit_inbox *ib)
{
    while (ib->head && !ib->head->done) {
        kentry *e = ib->head;
        int rc = ib->process(ib->self, e->attrs, e->n_attrs, e->data, e->len);
        if (rc == DG_EIO || rc == DG_ENOMEM) {
            if (++e->tries == KIT_INBOX_RETRIES_NOTED && !ib->noted_retry) {
                ib->noted_retry = 1;
                dg_kit_note(k,
                            "inbox_process returned %s for the same entry %d times: the daemon "
                            "hands it over again every few seconds until it is processed, and "
                            "the entries after it wait",
                            dg_strerror(rc), KIT_INBOX_RETRIES_NOTED);
            }
            return; /* the same entry, at the next turn */
        }
        if (rc > 0)
            dg_kit_violation(k,
                             "inbox_process returned %d: it returns DG_OK, DG_EIO or DG_ENOMEM "
                             "(retry), or another negative code (drop); the work must be done "
                             "within the call",
                             rc);
        else if (rc != DG_OK)
            dg_kit_note(k, "inbox_process dropped an entry: %s (the daemon logs it and goes on)",
                        dg_strerror(rc));
        if (!(ib->head = e->next))
            ib->tail = NULL;
        ib->n--;
        entry_free(e);
    }
}

void dg__kit_inbox_turn(dg_kit *k, int deliver)
{
    dg_kit_inbox *ib = dg__kit_inbox(k);
    if (!ib->head)
        return;
    acknowledge(ib);
    if (deliver)
        process(k, ib);
}

void dg__kit_inbox_stopped(dg_kit *k)
{
    acknowledge(dg__kit_inbox(k));
}
