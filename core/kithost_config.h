/* The conformance kit's configuration slots (internal to core/kithost.c):
 * host->config_* read the instance configuration the kit was made with; a
 * key the plugin's schema does not declare is a note. config_json's text
 * lives until dg_kit_free. instance_name is "kit", public_url a fixed
 * https URL. */
#ifndef DG_CORE_KITHOST_CONFIG_H
#define DG_CORE_KITHOST_CONFIG_H

#include "kithost.h"

/* Host-table slots (see <duegate/host.h>). */
const char *dg__kit_instance_name(dg_instance *inst);
const char *dg__kit_config_string(dg_instance *inst, const char *key);
int dg__kit_config_int(dg_instance *inst, const char *key, int64_t *out);
int dg__kit_config_bool(dg_instance *inst, const char *key, int *out);
int dg__kit_config_double(dg_instance *inst, const char *key, double *out);
size_t dg__kit_config_array_len(dg_instance *inst, const char *key);
const char *dg__kit_config_array_string(dg_instance *inst, const char *key, size_t idx);
const char *dg__kit_config_json(dg_instance *inst, const char *key);
const char *dg__kit_public_url(dg_instance *inst);

#endif
