/* The configuration file: one JSON document.
 *
 *   { "daemon":   { core settings (see docs/configuration.md) },
 *     "channels": { "<instance>": { "plugin": "<name>", <plugin keys> } },
 *     "stores":   { "<instance>": { "plugin": "<name>", <plugin keys> } },
 *     other sections read by their modules (engine, playbooks, templates, admin) }
 *
 * Errors are one line: "FILE:LINE: json.path: what is wrong". Instance
 * sections are validated against their plugin's schema by
 * dg_config_apply_schema. A dg_config owns all its strings and JSON. */
#ifndef DG_CORE_CONFIG_H
#define DG_CORE_CONFIG_H

#include <cjson/cJSON.h>
#include <duegate/plugin.h>

#include "clock.h"

typedef struct dg_instance_cfg {
    char *name;          /* [a-z0-9_]{1,48} */
    char *plugin;        /* plugin name */
    dg_plugin_kind kind; /* channel (from "channels") or store ("stores") */
    int enabled;
    const cJSON *json;   /* the instance object, owned by the config */
} dg_instance_cfg;

typedef struct dg_config {
    char *path;
    char *dir;           /* directory of the file: relative paths resolve against it */
    char *text;
    cJSON *root;
    /* daemon section, defaults applied */
    char **plugin_dirs;
    size_t n_plugin_dirs;
    char *state_db;
    dg_log_level log_level;
    char *listen;
    char *public_url;
    char *admin_listen;
    char *admin_token;
    char *templates_dir;
    int64_t shutdown_timeout_ms;
    int64_t max_body_bytes;
    dg_clock_mode clock_mode;
    double clock_rate;
    int64_t clock_start_ms;
    int64_t clock_anchor_ms; /* scaled: the wall time at start (0: when the daemon starts) */
    dg_instance_cfg *instances;
    size_t n_instances;
    /* webhook server limits (issue 4) */
    int64_t http_header_timeout_ms;
    int64_t http_body_timeout_ms;
    int64_t http_idle_timeout_ms;
    int64_t http_max_connections;
    int64_t http_max_header_bytes;
} dg_config;

/* Read and validate the file (syntax, daemon section, instance names).
 * Returns 0, or a negative code with a one-line message in err. */
int dg_config_load(const char *path, dg_config **out, char *err, size_t err_len);
/* Same from a string; `path` is used in messages and to resolve paths. */
int dg_config_parse(const char *path, const char *text, dg_config **out, char *err, size_t err_len);
void dg_config_free(dg_config *cfg);

/* A top-level section (NULL if absent). */
const cJSON *dg_config_section(const dg_config *cfg, const char *name);
const dg_instance_cfg *dg_config_instance(const dg_config *cfg, const char *name);

/* Validate `obj` (at JSON path `path`, e.g. "channels.wa") against `schema`:
 * unknown keys, wrong types, missing required keys, bounds. On success
 * *resolved is a new object (caller frees) with defaults applied and secrets
 * ({"env": N} / {"file": P}) replaced by their values. Keys listed in
 * `reserved` (NULL-terminated) are skipped. */
int dg_config_apply_schema(const dg_config *cfg, const dg_config_field *schema, const cJSON *obj,
                           const char *path, const char *const *reserved, cJSON **resolved,
                           char *err, size_t err_len);

/* Resolve a path from the config against the config file's directory;
 * returns a malloc'd string. */
char *dg_config_resolve_path(const dg_config *cfg, const char *p);

/* Line (1-based) of the JSON value at a dotted path in text; the line of the
 * deepest part found, or 1. */
int dg_json_line_of(const char *text, const char *dotted_path);

#endif
