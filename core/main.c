/* duegate command line: one subcommand per line of the table below. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dg_config.h" /* PACKAGE_VERSION */

#include "config.h"
#include "conformance.h"
#include "daemon.h"
#include "admin.h"
#include "engine.h"
#include "loader.h"
#include "log.h"
#include "template.h"

#ifndef PACKAGE_VERSION
#define PACKAGE_VERSION "0"
#endif

typedef struct cli {
    const char *config;
    const char *plugin_dirs[16];
    size_t n_plugin_dirs;
    const char *orders, *events; /* simulate */
    int argc; /* positional arguments after options */
    char **argv;
} cli;

typedef struct command {
    const char *name;
    int (*fn)(cli *c);
    const char *usage;
    const char *help;
} command;

static int cmd_run(cli *c);
static int cmd_check_config(cli *c);
static int cmd_plugins(cli *c);
static int cmd_plugin_test(cli *c)
{
    /* Options stop at the first positional ("+" in getopt), so accept
     * `plugin-test PATH -c FILE` as well as `plugin-test -c FILE PATH`. */
    const char *config = c->config;
    char *rest[16];
    int n = 0;
    for (int i = 0; i < c->argc && n < 16; i++) {
        if ((strcmp(c->argv[i], "-c") == 0 || strcmp(c->argv[i], "--config") == 0) &&
            i + 1 < c->argc)
            config = c->argv[++i];
        else
            rest[n++] = c->argv[i];
    }
    return dg_cmd_plugin_test(n, rest, config);
}
static int cmd_simulate(cli *c);
static int cmd_templates(cli *c);
static int cmd_cases(cli *c) { return dg_cmd_cases(c->argc, c->argv, stdout); }
static int cmd_case(cli *c) { return dg_cmd_case(c->argc, c->argv, stdout); }

static const command commands[] = {
    {"run", cmd_run, "run -c FILE [--plugin-dir DIR]...", "run the daemon until SIGINT/SIGTERM"},
    {"check-config", cmd_check_config, "check-config -c FILE [--plugin-dir DIR]...",
     "validate the configuration and plugin sections without starting anything"},
    {"plugins", cmd_plugins, "plugins [-c FILE] [--plugin-dir DIR]...",
     "list the plugins found, with version, ABI and capabilities"},
    {"plugin-test", cmd_plugin_test, "plugin-test PATH [-c INSTANCE.json]",
     "run the conformance kit on a plugin file"},
    {"simulate", cmd_simulate, "simulate -c FILE --orders FILE.json [--events FILE.json]",
     "print the timeline each order would get (virtual clock, no network)"},
    {"templates", cmd_templates, "templates lint|render [-c FILE] [--templates DIR] ...",
     "check the message templates, or print what a customer would receive"},
    {"cases", cmd_cases, "cases [-c FILE] [--status S] [--url U] ...", "print the tracking table"},
    {"case", cmd_case, "case ID [-c FILE] [--url U] [--token T]", "print one case's timeline"},
};
#define N_COMMANDS (sizeof commands / sizeof commands[0])
/* Commands that read every argument after their name (their own options). */
static int own_options(const char *cmd)
{
    return strcmp(cmd, "cases") == 0 || strcmp(cmd, "case") == 0;
}

static void usage(FILE *out)
{
    fprintf(out,
            "duegate %s - a dunning gateway: chases money owed on orders over WhatsApp, SMS "
            "and e-mail\n\nUsage:\n",
            PACKAGE_VERSION);
    for (size_t i = 0; i < N_COMMANDS; i++)
        fprintf(out, "  duegate %-44s %s\n", commands[i].usage, commands[i].help);
    fprintf(out, "  duegate --version | --help\n\n"
                 "Options:\n"
                 "  -c, --config FILE      configuration file (JSON)\n"
                 "  -P, --plugin-dir DIR   search DIR for plugins first (repeatable)\n"
                 "Environment:\n"
                 "  DUEGATE_PLUGIN_PATH    colon-separated plugin directories\n");
}

static int need_config(cli *c, const char *cmd)
{
    if (c->config)
        return 0;
    fprintf(stderr, "duegate %s: missing -c FILE (see duegate --help)\n", cmd);
    return 2;
}

static int cmd_run(cli *c)
{
    dg_daemon_opts o = {c->config, c->plugin_dirs, c->n_plugin_dirs};
    int rc = need_config(c, "run");
    return rc ? rc : dg_daemon_run(&o);
}

static int cmd_check_config(cli *c)
{
    dg_daemon_opts o = {c->config, c->plugin_dirs, c->n_plugin_dirs};
    int rc = need_config(c, "check-config");
    return rc ? rc : dg_daemon_check_config(&o, stdout);
}

static int cmd_simulate(cli *c)
{
    int rc = need_config(c, "simulate");
    if (rc)
        return rc;
    if (!c->orders) {
        fprintf(stderr, "duegate simulate: missing --orders FILE.json\n");
        return 2;
    }
    return dg_cmd_simulate(c->config, c->orders, c->events, stdout);
}

typedef struct listing {
    int found, refused;
} listing;

static void print_plugin(void *ud, const char *file, const dg_plugin *p, const char *err)
{
    listing *l = ud;
    char caps[128];
    if (!p) {
        l->refused++;
        fprintf(stdout, "%-12s %-8s %-5s %-8s %-40s refused: %s\n", "?", "-", "-", "-", file,
                err);
        return;
    }
    l->found++;
    if (p->desc->kind == DG_PLUGIN_CHANNEL)
        dg_caps_string(p->channel.capabilities, caps, sizeof caps);
    else
        snprintf(caps, sizeof caps, "backfill%s", p->store.act ? ",act" : "");
    fprintf(stdout, "%-12s %-8s %u.%-3u %-8s %-40s %s\n", p->desc->name, p->desc->version,
            p->desc->abi_major, p->desc->abi_minor,
            p->desc->kind == DG_PLUGIN_CHANNEL ? "channel" : "store", caps,
            p->desc->description ? p->desc->description : "");
}

static int cmd_plugins(cli *c)
{
    dg_config *cfg = NULL;
    dg_loader *ld = NULL;
    listing l = {0, 0};
    char err[1024];
    if (c->config && dg_config_load(c->config, &cfg, err, sizeof err) != 0) {
        fprintf(stderr, "duegate: %s\n", err);
        return 1;
    }
    if (dg_daemon_make_loader(cfg, c->plugin_dirs, c->n_plugin_dirs, &ld, err, sizeof err)) {
        fprintf(stderr, "duegate: %s\n", err);
        dg_config_free(cfg);
        return 1;
    }
    fprintf(stdout, "%-12s %-8s %-5s %-8s %-40s %s\n", "NAME", "VERSION", "ABI", "KIND",
            "CAPABILITIES", "DESCRIPTION");
    dg_loader_scan(ld, print_plugin, &l);
    fprintf(stdout, "%d plugin(s) found, %d refused (this duegate provides ABI %d.%d)\n", l.found,
            l.refused, DG_ABI_MAJOR, DG_ABI_MINOR);
    dg_loader_free(ld);
    dg_config_free(cfg);
    return l.refused ? 1 : 0;
}

static int cmd_templates(cli *c)
{
    return dg_cmd_templates(c->config, c->argc, c->argv);
}

int main(int argc, char **argv)
{
    static const struct option opts[] = {{"config", required_argument, NULL, 'c'},
                                         {"plugin-dir", required_argument, NULL, 'P'},
                                         {"orders", required_argument, NULL, 'O'},
                                         {"events", required_argument, NULL, 'E'},
                                         {"help", no_argument, NULL, 'h'},
                                         {"version", no_argument, NULL, 'V'},
                                         {NULL, 0, NULL, 0}};
    cli c;
    const char *cmd;
    int ch;
    memset(&c, 0, sizeof c);
    if (argc >= 2 && (strcmp(argv[1], "--version") == 0 || strcmp(argv[1], "-V") == 0)) {
        printf("duegate %s (plugin ABI %d.%d)\n", PACKAGE_VERSION, DG_ABI_MAJOR, DG_ABI_MINOR);
        return 0;
    }
    if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
        strcmp(argv[1], "help") == 0) {
        usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    cmd = argv[1];
    optind = 2;
    if (own_options(cmd))
        optind = argc; /* the command reads the options itself */
    while (optind < argc && (ch = getopt_long(argc, argv, "+c:P:hV", opts, NULL)) != -1) {
        switch (ch) {
        case 'c': c.config = optarg; break;
        case 'P':
            if (c.n_plugin_dirs < 16)
                c.plugin_dirs[c.n_plugin_dirs++] = optarg;
            break;
        case 'O': c.orders = optarg; break;
        case 'E': c.events = optarg; break;
        case 'h': usage(stdout); return 0;
        case 'V': printf("duegate %s\n", PACKAGE_VERSION); return 0;
        default: fprintf(stderr, "duegate: see duegate --help\n"); return 2;
        }
    }
    c.argc = argc - optind;
    c.argv = argv + optind;
    if (own_options(cmd))
        c.argc = argc - 2, c.argv = argv + 2;
    for (size_t i = 0; i < N_COMMANDS; i++)
        if (strcmp(commands[i].name, cmd) == 0)
            return commands[i].fn(&c);
    fprintf(stderr, "duegate: unknown command '%s' (see duegate --help)\n", cmd);
    return 2;
}
