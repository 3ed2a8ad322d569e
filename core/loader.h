/* Plugin loader: finds plugin modules with libltdl on a search path, reads
 * their descriptor through the single entry point and accepts them only if
 * they satisfy the ABI policy of docs/plugin-abi.md. Modules are opened with
 * immediate binding (RTLD_NOW) and RTLD_LOCAL. A module is loaded once and
 * may back several instances. */
#ifndef DG_CORE_LOADER_H
#define DG_CORE_LOADER_H

#include <stddef.h>

#include <duegate/plugin.h>

typedef struct dg_plugin {
    char *path;                       /* file the module came from */
    const dg_plugin_descriptor *desc; /* owned by the module */
    dg_channel_ops channel;           /* the plugin's ops, copied into a zeroed */
    dg_store_ops store;               /* host-sized struct */
    void *handle;                     /* lt_dlhandle */
    struct dg_plugin *next;
} dg_plugin;

typedef struct dg_loader dg_loader;

/* dirs: searched in order. Returns 0 or a negative code with err set. */
int dg_loader_new(dg_loader **out, const char *const *dirs, size_t n_dirs, char *err,
                  size_t err_len);
void dg_loader_free(dg_loader *l);

/* Load by plugin name (searched on the path) or by a file path (contains
 * '/'). Returns the already loaded plugin when the name is known. */
int dg_loader_load(dg_loader *l, const char *name_or_path, const dg_plugin **out, char *err,
                   size_t err_len);

/* Check a descriptor against the ABI policy; `file` is used in messages. */
int dg_loader_check_descriptor(const dg_plugin_descriptor *d, const char *file, char *err,
                               size_t err_len);

/* Visit every module file on the search path (each name once), loading it:
 * cb gets the plugin, or NULL and the reason it was refused. */
typedef void (*dg_loader_visit_cb)(void *ud, const char *file, const dg_plugin *p,
                                   const char *err);
int dg_loader_scan(dg_loader *l, dg_loader_visit_cb cb, void *ud);

/* The capability flags as "receipts,read,replies,..." into buf. */
void dg_caps_string(uint32_t caps, char *buf, size_t len);

#endif
