/* The conformance kit's configuration slots; see kithost_config.h. */
#include <string.h>

#include "kithost_config.h"

#define KIT(inst) ((dg_kit *)(void *)(inst))

static const cJSON *conf_item(dg_kit *k, const char *key, const char *fn)
{
    int known = 0;
    if (dg__kit_guard(k, fn) || !key)
        return NULL;
    for (const dg_config_field *f = dg__kit_schema(k); f && f->key; f++)
        known |= strcmp(f->key, key) == 0;
    if (!known)
        dg_kit_note(k, "host->%s(\"%s\"): key not declared in the config schema", fn, key);
    return cJSON_GetObjectItemCaseSensitive(dg__kit_conf(k), key);
}

const char *dg__kit_instance_name(dg_instance *inst)
{
    return dg__kit_guard(KIT(inst), "instance_name") ? NULL : "kit";
}

const char *dg__kit_config_string(dg_instance *inst, const char *key)
{
    const cJSON *v = conf_item(KIT(inst), key, "config_string");
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

int dg__kit_config_int(dg_instance *inst, const char *key, int64_t *out)
{
    const cJSON *v = conf_item(KIT(inst), key, "config_int");
    if (!v)
        return DG_ENOTFOUND;
    if (!cJSON_IsNumber(v))
        return DG_EINVAL;
    *out = (int64_t)v->valuedouble;
    return 0;
}

int dg__kit_config_bool(dg_instance *inst, const char *key, int *out)
{
    const cJSON *v = conf_item(KIT(inst), key, "config_bool");
    if (!v)
        return DG_ENOTFOUND;
    if (!cJSON_IsBool(v))
        return DG_EINVAL;
    *out = cJSON_IsTrue(v);
    return 0;
}

int dg__kit_config_double(dg_instance *inst, const char *key, double *out)
{
    const cJSON *v = conf_item(KIT(inst), key, "config_double");
    if (!v)
        return DG_ENOTFOUND;
    if (!cJSON_IsNumber(v))
        return DG_EINVAL;
    *out = v->valuedouble;
    return 0;
}

size_t dg__kit_config_array_len(dg_instance *inst, const char *key)
{
    const cJSON *v = conf_item(KIT(inst), key, "config_array_len");
    return cJSON_IsArray(v) ? (size_t)cJSON_GetArraySize(v) : 0;
}

const char *dg__kit_config_array_string(dg_instance *inst, const char *key, size_t idx)
{
    const cJSON *v = conf_item(KIT(inst), key, "config_array_string");
    const cJSON *e = cJSON_IsArray(v) ? cJSON_GetArrayItem(v, (int)idx) : NULL;
    return cJSON_IsString(e) ? e->valuestring : NULL;
}

const char *dg__kit_config_json(dg_instance *inst, const char *key)
{
    dg_kit *k = KIT(inst);
    const cJSON *v = conf_item(k, key, "config_json");
    return v ? dg__kit_keep(k, cJSON_PrintUnformatted(v)) : NULL;
}

const char *dg__kit_public_url(dg_instance *inst)
{
    return dg__kit_guard(KIT(inst), "public_url") ? NULL : "https://duegate-kit.example";
}
