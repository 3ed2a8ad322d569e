/* duegate plugin SDK: what a plugin module exports.
 *
 * A plugin module (.so) exports exactly one symbol, spelled by
 * DG_PLUGIN_DEFINE: a side-effect-free function returning a const
 * descriptor. The host accepts it only if abi_major equals the host's and
 * abi_minor is not higher than the host's, the descriptor and its ops table
 * are at least as large as ABI 1.0 defines them, and the mandatory ops are set.
 *
 * Lifecycle of one instance (one .so may back many instances; keep no state
 * in statics):
 *   create -> start -> (send/backfill/act ...) -> stop -> destroy
 * `stop` may return DG_PENDING to drain in-flight work and then call
 * host->complete(op) once; after that the host never calls the plugin again
 * except `destroy`, and the plugin must not call the host except `free`.
 *
 * Async ops (send, backfill, act, stop) return DG_PENDING and are completed
 * exactly once with host->complete, on the loop thread (possibly from within
 * the op itself), or return a negative DG_E* code and are never completed.
 */
#ifndef DUEGATE_PLUGIN_H
#define DUEGATE_PLUGIN_H

#include "host.h"
#include "types.h"

#ifdef __cplusplus
extern "C" {
#endif

#define DG_ABI_MAJOR 1
#define DG_ABI_MINOR 2

typedef enum dg_plugin_kind { DG_PLUGIN_CHANNEL = 1, DG_PLUGIN_STORE = 2 } dg_plugin_kind;

/* --------------------------------------------------------- config schema */

typedef enum dg_config_type {
    DG_CFG_STRING = 1,
    DG_CFG_INT = 2,
    DG_CFG_BOOL = 3,
    DG_CFG_DOUBLE = 4,
    DG_CFG_STRING_LIST = 5, /* JSON array of strings */
    DG_CFG_OBJECT = 6       /* any JSON object; read with config_json */
} dg_config_type;

enum {
    DG_CFGF_REQUIRED = 1u << 0,
    DG_CFGF_SECRET = 1u << 1 /* never logged; may be {"env": N} or {"file": P} */
};

/* One key of a plugin instance's configuration. A schema is an array of
 * these ended by an entry whose key is NULL. */
typedef struct dg_config_field {
    const char *key;
    dg_config_type type;
    uint32_t flags;            /* DG_CFGF_* */
    const char *default_value; /* as JSON text ("80", "true", "\"x\""), NULL for none */
    const char *description;
    int64_t min, max;          /* DG_CFG_INT bounds when min < max */
    void *reserved[2];
} dg_config_field;

/* ------------------------------------------------------------ channel ops */

enum {
    DG_CAP_DELIVERY_RECEIPTS = 1u << 0,
    DG_CAP_READ_RECEIPTS = 1u << 1,
    DG_CAP_INBOUND_REPLIES = 1u << 2,
    DG_CAP_SESSION_WINDOW = 1u << 3, /* free-form only inside a window (WhatsApp 24 h) */
    DG_CAP_TEMPLATES = 1u << 4,      /* needs pre-approved templates */
    DG_CAP_PHONE = 1u << 5,          /* addresses customers by phone */
    DG_CAP_EMAIL = 1u << 6           /* addresses customers by e-mail */
};

typedef struct dg_channel_ops {
    uint32_t struct_size;
    uint32_t capabilities; /* DG_CAP_* */
    /* Mandatory. Read config, allocate state; no I/O yet. On failure write a
     * one-line reason into err and return a negative code. */
    int (*create)(const dg_host *host, dg_instance *inst, void **self, char *err,
                  size_t err_len);
    /* Mandatory. Register routes, timers; begin work. */
    int (*start)(void *self, char *err, size_t err_len);
    /* Mandatory. DG_OK when stopped now, DG_PENDING to drain then complete(op). */
    int (*stop)(void *self, dg_op op);
    /* Mandatory. Release everything; the host calls nothing after it. */
    void (*destroy)(void *self);
    /* Mandatory. Send one message; complete(op) with the provider id or an
     * error class. Retries belong to the core: classify, don't loop. */
    int (*send)(void *self, const dg_outbound_message *msg, dg_op op);
    /* 1.1, optional: process one entry this instance appended with
     * host->inbox_append (see host.h); attrs and data are valid for the call.
     * Events and state it stores commit together with "processed". Return
     * DG_OK when handled, ignored or a duplicate; DG_EIO or DG_ENOMEM to have
     * the same entry handed over again later; any other negative code is
     * logged and the entry dropped (it cannot become valid by retrying). */
    int (*inbox_process)(void *self, const dg_kv *attrs, size_t n_attrs, const void *data,
                         size_t len);
    void *reserved[7];
} dg_channel_ops;

/* -------------------------------------------------------------- store ops */

typedef struct dg_store_ops {
    uint32_t struct_size;
    uint32_t capabilities; /* reserved, 0 */
    int (*create)(const dg_host *host, dg_instance *inst, void **self, char *err,
                  size_t err_len);                  /* mandatory */
    int (*start)(void *self, char *err, size_t err_len); /* mandatory */
    int (*stop)(void *self, dg_op op);              /* mandatory */
    void (*destroy)(void *self);                    /* mandatory */
    /* Emit events for every open order with money owed; complete when done. */
    int (*backfill)(void *self, dg_op op);          /* mandatory */
    /* Do something in the store (cancel, re-read); may be NULL. */
    int (*act)(void *self, const dg_store_action *action, dg_op op);
    /* 1.1, optional: as dg_channel_ops.inbox_process. */
    int (*inbox_process)(void *self, const dg_kv *attrs, size_t n_attrs, const void *data,
                         size_t len);
    void *reserved[7];
} dg_store_ops;

/* ------------------------------------------------------------- descriptor */

typedef struct dg_plugin_descriptor {
    uint32_t struct_size;
    uint16_t abi_major;
    uint16_t abi_minor;
    dg_plugin_kind kind;
    const char *name;        /* [a-z0-9_]+, unique among loaded plugins */
    const char *version;     /* the plugin's own version */
    const char *description; /* one line */
    const dg_config_field *config_schema;
    const dg_channel_ops *channel; /* set when kind == DG_PLUGIN_CHANNEL */
    const dg_store_ops *store;     /* set when kind == DG_PLUGIN_STORE */
    void *reserved[8];
} dg_plugin_descriptor;

/* The entry point's plain name; modules export `<module>_LTX_dg_plugin_query`. */
#define DG_PLUGIN_ENTRY "dg_plugin_query"

#if defined(__GNUC__) || defined(__clang__)
#define DG_PLUGIN_EXPORT __attribute__((visibility("default")))
#else
#define DG_PLUGIN_EXPORT
#endif

#ifdef __cplusplus
#define DG_PLUGIN_EXTERN_C extern "C"
#else
#define DG_PLUGIN_EXTERN_C
#endif

/* Define the module's entry point. `module` is the file's base name
 * (whatsapp for whatsapp.so), `descriptor` a static const dg_plugin_descriptor.
 * The LTX spelling lets libltdl's -dlpreopen static builds find it too. */
#define DG_PLUGIN_DEFINE(module, descriptor)                                    \
    DG_PLUGIN_EXTERN_C DG_PLUGIN_EXPORT const dg_plugin_descriptor *            \
        module##_LTX_dg_plugin_query(void);                                     \
    DG_PLUGIN_EXTERN_C DG_PLUGIN_EXPORT const dg_plugin_descriptor *            \
        module##_LTX_dg_plugin_query(void)                                      \
    {                                                                           \
        return &(descriptor);                                                   \
    }

typedef const dg_plugin_descriptor *(*dg_plugin_query_fn)(void);

#ifdef __cplusplus
}
#endif
#endif /* DUEGATE_PLUGIN_H */
