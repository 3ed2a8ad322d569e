/* The daemon: `duegate run` and `duegate check-config`.
 * run: load config and plugins, create and start every enabled instance,
 * serve until SIGINT/SIGTERM, then stop instances (draining with the
 * configured deadline), destroy them and close the loop with no handle left. */
#ifndef DG_CORE_DAEMON_H
#define DG_CORE_DAEMON_H

#include <stddef.h>
#include <stdio.h>

#include "config.h"
#include "loader.h"

typedef struct dg_daemon_opts {
    const char *config_path;
    const char *const *plugin_dirs; /* from --plugin-dir, searched first */
    size_t n_plugin_dirs;
} dg_daemon_opts;

/* Return the process exit status (0 after a clean stop). */
int dg_daemon_run(const dg_daemon_opts *opts);
int dg_daemon_check_config(const dg_daemon_opts *opts, FILE *out);

/* A loader searching, in order: extra dirs, the config's plugin_dirs,
 * $DUEGATE_PLUGIN_PATH (colon-separated), the installed plugin dir. */
int dg_daemon_make_loader(const dg_config *cfg, const char *const *extra, size_t n_extra,
                          dg_loader **out, char *err, size_t err_len);

#endif
