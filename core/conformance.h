/* The plugin conformance kit behind `duegate plugin-test PATH`.
 *
 * It loads one plugin file through the daemon's loader (so the ABI policy of
 * docs/plugin-abi.md applies unchanged), checks the descriptor and the config
 * schema, builds an instance configuration (schema defaults plus placeholder
 * values for required keys, or the caller's instance section), and drives the
 * plugin through create/start/work/stop/destroy against the instrumented host
 * of core/kithost.h in several scenarios:
 *
 *   channel: lifecycle with one send answered 200 (routes exercised with a
 *            dummy request), a send answered 503 + Retry-After (must complete
 *            retryable with retry_after_ms), a send that meets a transport
 *            error (retryable), and a stop while a send is in flight;
 *   store:   lifecycle with a backfill (and an act when the plugin has one).
 *
 * The message given to send is overwritten with '#' once send returns, so a
 * plugin that keeps borrowed pointers shows it in what it sends or logs.
 * The scenarios that need an outbound call are skipped for a plugin that
 * makes none (e.g. jsonl). The report goes to `out`: one PASS/FAIL/SKIP line
 * per check with details, the plugin's recorded requests (secrets masked)
 * and its log lines. Nothing is sent anywhere: the peer is simulated. */
#ifndef DG_CORE_CONFORMANCE_H
#define DG_CORE_CONFORMANCE_H

#include <stdio.h>

typedef struct dg_conformance_opts {
    /* NULL: build the configuration from the schema. Otherwise a JSON file
     * holding one instance section, e.g. {"url": "...", "secret": {"env":
     * "X"}}; "plugin" and "enabled" are ignored, and an optional "$peer"
     * object ({"status": 200, "content_type": "...", "body": "..." or {...}})
     * changes how the simulated peer answers successful sends. */
    const char *instance_file;
    FILE *out; /* the report (required) */
} dg_conformance_opts;

/* Returns 0 when every check passed, else the number of failed checks;
 * a negative code when the kit itself could not run (reason reported). */
int dg_conformance_run(const char *path, const dg_conformance_opts *o);

/* The CLI: `duegate plugin-test PATH [-c INSTANCE.json]`. args are the
 * positional arguments after the subcommand. Returns the exit status:
 * 0 all checks passed, 1 a check failed, 2 usage error. */
int dg_cmd_plugin_test(int argc, char **argv, const char *instance_file);

#endif
