/* The conformance kit's state store; see kithost_state.h. */
#include <stdlib.h>
#include <string.h>

#include "kithost_state.h"

#define KIT(inst) ((dg_kit *)(void *)(inst))
#define KS(k) dg__kit_state(k)

typedef struct tracked { /* a state_get buffer handed to the plugin */
    void *p;
    struct tracked *next;
} tracked;

typedef struct state_kv {
    char *key, *value;
    size_t len;
    int64_t expires; /* 0: never */
    struct state_kv *next;
} state_kv;

struct dg_kit_state {
    state_kv *kv;
    tracked *buffers;
};

dg_kit_state *dg__kit_state_new(void)
{
    return calloc(1, sizeof(dg_kit_state));
}

void dg__kit_state_destroyed(dg_kit *k)
{
    size_t bufs = 0;
    for (tracked *t = KS(k)->buffers; t; t = t->next)
        bufs++;
    if (bufs)
        dg_kit_violation(k,
                         "leak: %zu buffer(s) from host->state_get never released with "
                         "host->free",
                         bufs);
}

void dg__kit_state_free(dg_kit_state *st)
{
    if (!st)
        return;
    while (st->kv) {
        state_kv *s = st->kv;
        st->kv = s->next;
        free(s->key);
        free(s->value);
        free(s);
    }
    while (st->buffers) {
        tracked *t = st->buffers;
        st->buffers = t->next;
        free(t->p);
        free(t);
    }
    free(st);
}

static void track(tracked **list, void *p)
{
    tracked *t = calloc(1, sizeof *t);
    if (!t)
        return;
    t->p = p;
    t->next = *list;
    *list = t;
}

static int untrack(tracked **list, void *p)
{
    for (tracked **pp = list; *pp; pp = &(*pp)->next)
        if ((*pp)->p == p) {
            tracked *t = *pp;
            *pp = t->next;
            free(t);
            return 1;
        }
    return 0;
}

static state_kv *state_find(dg_kit *k, const char *key)
{
    for (state_kv *s = KS(k)->kv; s; s = s->next)
        if (strcmp(s->key, key) == 0 && (!s->expires || s->expires > dg_kit_now(k)))
            return s;
    return NULL;
}

int dg__kit_state_get(dg_instance *inst, const char *key, char **value, size_t *len)
{
    dg_kit *k = KIT(inst);
    state_kv *s;
    if (dg__kit_guard(k, "state_get"))
        return DG_ESTATE;
    if (!key || !value)
        return DG_EINVAL;
    if (!(s = state_find(k, key)))
        return DG_ENOTFOUND;
    if (!(*value = malloc(s->len + 1)))
        return DG_ENOMEM;
    memcpy(*value, s->value, s->len + 1);
    if (len)
        *len = s->len;
    track(&KS(k)->buffers, *value);
    return DG_OK;
}

int dg__kit_state_del(dg_instance *inst, const char *key)
{
    dg_kit *k = KIT(inst);
    if (dg__kit_guard(k, "state_del"))
        return DG_ESTATE;
    for (state_kv **pp = &KS(k)->kv; *pp; pp = &(*pp)->next)
        if (strcmp((*pp)->key, key) == 0) {
            state_kv *s = *pp;
            *pp = s->next;
            free(s->key);
            free(s->value);
            free(s);
            return DG_OK;
        }
    return DG_ENOTFOUND;
}

int dg__kit_state_put(dg_instance *inst, const char *key, const void *value, size_t len,
                      int64_t ttl_ms)
{
    dg_kit *k = KIT(inst);
    state_kv *s;
    if (dg__kit_guard(k, "state_put"))
        return DG_ESTATE;
    if (!key || (!value && len))
        return DG_EINVAL;
    dg__kit_state_del(inst, key);
    if (!(s = calloc(1, sizeof *s)) || !(s->key = strdup(key)) || !(s->value = malloc(len + 1))) {
        if (s)
            free(s->key);
        free(s);
        return DG_ENOMEM;
    }
    if (len)
        memcpy(s->value, value, len);
    s->value[len] = '\0';
    s->len = len;
    s->expires = ttl_ms > 0 ? dg_kit_now(k) + ttl_ms : 0;
    s->next = KS(k)->kv;
    KS(k)->kv = s;
    return DG_OK;
}

void dg__kit_free(void *p)
{
    dg_kit *k = dg__kit_current();
    if (!p)
        return;
    dg__kit_guard(k, "free");
    if (k && !untrack(&KS(k)->buffers, p)) {
        dg_kit_violation(k, "host->free of a pointer the host did not hand out");
        return; /* not ours: freeing it could corrupt the heap */
    }
    free(p);
}
