/* The conformance kit's state store (internal to core/kithost.c):
 * host->state_get/put/del kept in memory, expiring on the kit's virtual
 * clock, and host->free, which accepts only the buffers state_get handed
 * out (anything else is a violation and is not freed). Buffers never freed
 * are reported when the instance is destroyed. One dg_kit_state per
 * dg_kit, owned by it. */
#ifndef DG_CORE_KITHOST_STATE_H
#define DG_CORE_KITHOST_STATE_H

#include "kithost.h"

typedef struct dg_kit_state dg_kit_state;

dg_kit_state *dg__kit_state_new(void);   /* NULL on no memory */
void dg__kit_state_destroyed(dg_kit *k); /* the leak check, after destroy */
void dg__kit_state_free(dg_kit_state *st);

/* Host-table slots (see <duegate/host.h>). */
int dg__kit_state_get(dg_instance *inst, const char *key, char **value, size_t *len);
int dg__kit_state_put(dg_instance *inst, const char *key, const void *value, size_t len,
                      int64_t ttl_ms);
int dg__kit_state_del(dg_instance *inst, const char *key);
void dg__kit_free(void *p);

#endif
