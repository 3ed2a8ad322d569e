#include <dirent.h>
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <ltdl.h>

#include "error.h"
#include "loader.h"

struct dg_loader {
    char **dirs;
    size_t n_dirs;
    dg_plugin *plugins;
};

/* ------------------------------------------------ immediate-binding loader
 * libltdl's stock dlopen loader binds lazily, so a plugin with an unresolved
 * symbol would load and crash later. Ours opens with RTLD_NOW | RTLD_LOCAL
 * and replaces the stock one; the preopen loader (static builds) stays. */

static char g_dlerr[512];
static int g_ltdl_refs;

static lt_module now_open(lt_user_data data, const char *filename, lt_dladvise advise)
{
    void *h;
    (void)data;
    (void)advise;
    h = dlopen(filename, RTLD_NOW | RTLD_LOCAL);
    /* libltdl tries several candidate names; keep the reason a file that
     * exists failed to load, not "no such file" for the other guesses. */
    if (!h && access(filename, F_OK) == 0) {
        const char *e = dlerror();
        snprintf(g_dlerr, sizeof g_dlerr, "%s", e ? e : "dlopen failed");
    }
    return h;
}

static int now_close(lt_user_data data, lt_module m)
{
    (void)data;
    return dlclose(m) == 0 ? 0 : 1;
}

static void *now_sym(lt_user_data data, lt_module m, const char *name)
{
    (void)data;
    return dlsym(m, name);
}

static const lt_dlvtable now_vtable = {
    "dg_dlopen_now", NULL, now_open, now_close, now_sym, NULL, NULL, NULL, LT_DLLOADER_PREPEND};

static int ltdl_up(char *err, size_t len)
{
    if (g_ltdl_refs++ > 0)
        return 0;
    if (lt_dlinit() != 0) {
        dg_errf(err, len, "libltdl init failed: %s", lt_dlerror());
        g_ltdl_refs--;
        return DG_EIO;
    }
    /* lt_dlexit frees every registered vtable, so ours is a heap copy, and
     * the stock loader's vtable we take out is ours to free. */
    free(lt_dlloader_remove("lt_dlopen"));
    lt_dlvtable *vt = malloc(sizeof *vt);
    if (vt)
        *vt = now_vtable;
    if (!vt || lt_dlloader_add(vt) != 0) {
        free(vt);
        dg_errf(err, len, "libltdl: cannot add loader: %s", lt_dlerror());
        lt_dlexit();
        g_ltdl_refs--;
        return DG_EIO;
    }
    return 0;
}

static void ltdl_down(void)
{
    if (--g_ltdl_refs == 0)
        lt_dlexit();
}

/* -------------------------------------------------------------- loader */

int dg_loader_new(dg_loader **out, const char *const *dirs, size_t n, char *err, size_t len)
{
    dg_loader *l;
    int rc = ltdl_up(err, len);
    if (rc)
        return rc;
    l = calloc(1, sizeof *l);
    if (!l || (n && !(l->dirs = calloc(n, sizeof(char *))))) {
        free(l);
        ltdl_down();
        return DG_ENOMEM;
    }
    for (size_t i = 0; i < n; i++) {
        if (!dirs[i])
            continue;
        l->dirs[l->n_dirs] = strdup(dirs[i]);
        if (!l->dirs[l->n_dirs]) {
            dg_loader_free(l);
            return DG_ENOMEM;
        }
        l->n_dirs++;
    }
    *out = l;
    return 0;
}

void dg_loader_free(dg_loader *l)
{
    if (!l)
        return;
    while (l->plugins) {
        dg_plugin *p = l->plugins;
        l->plugins = p->next;
        if (p->handle)
            lt_dlclose(p->handle);
        free(p->path);
        free(p);
    }
    for (size_t i = 0; i < l->n_dirs; i++)
        free(l->dirs[i]);
    free(l->dirs);
    free(l);
    ltdl_down();
}

static int valid_name(const char *s)
{
    if (!s || !*s || strlen(s) > 48)
        return 0;
    for (; *s; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') || *s == '_'))
            return 0;
    return 1;
}

#define DESC_MIN_SIZE offsetof(dg_plugin_descriptor, reserved)
#define CHANNEL_MIN_SIZE offsetof(dg_channel_ops, reserved)
#define STORE_MIN_SIZE offsetof(dg_store_ops, reserved)

int dg_loader_check_descriptor(const dg_plugin_descriptor *d, const char *file, char *err,
                               size_t len)
{
    if (!d) {
        dg_errf(err, len, "%s: entry point returned no descriptor", file);
        return DG_EABI;
    }
    if (d->struct_size < DESC_MIN_SIZE) {
        dg_errf(err, len, "%s: descriptor struct_size %u is smaller than ABI %d.0's %zu bytes",
                file, (unsigned)d->struct_size, DG_ABI_MAJOR, (size_t)DESC_MIN_SIZE);
        return DG_EABI;
    }
    if (d->abi_major != DG_ABI_MAJOR) {
        dg_errf(err, len,
                "%s: plugin ABI %u.%u is incompatible: this duegate provides ABI %d.%d "
                "(major versions must match)",
                file, d->abi_major, d->abi_minor, DG_ABI_MAJOR, DG_ABI_MINOR);
        return DG_EABI;
    }
    if (d->abi_minor > DG_ABI_MINOR) {
        dg_errf(err, len,
                "%s: plugin needs ABI %u.%u but this duegate provides ABI %d.%d "
                "(upgrade duegate)",
                file, d->abi_major, d->abi_minor, DG_ABI_MAJOR, DG_ABI_MINOR);
        return DG_EABI;
    }
    if (!valid_name(d->name)) {
        dg_errf(err, len, "%s: plugin name must be 1-48 characters of a-z, 0-9 and _", file);
        return DG_EABI;
    }
    if (!d->version || !*d->version) {
        dg_errf(err, len, "%s: plugin %s has no version", file, d->name);
        return DG_EABI;
    }
    if (d->kind == DG_PLUGIN_CHANNEL) {
        const dg_channel_ops *o = d->channel;
        if (!o) {
            dg_errf(err, len, "%s: channel plugin %s has no channel ops", file, d->name);
            return DG_EABI;
        }
        if (o->struct_size < CHANNEL_MIN_SIZE) {
            dg_errf(err, len, "%s: channel ops struct_size %u is smaller than %zu", file,
                    (unsigned)o->struct_size, (size_t)CHANNEL_MIN_SIZE);
            return DG_EABI;
        }
        const char *missing = !o->create ? "create" : !o->start ? "start" : !o->stop ? "stop"
                              : !o->destroy ? "destroy" : !o->send ? "send" : NULL;
        if (missing) {
            dg_errf(err, len, "%s: channel plugin %s lacks the mandatory op '%s'", file, d->name,
                    missing);
            return DG_EABI;
        }
    } else if (d->kind == DG_PLUGIN_STORE) {
        const dg_store_ops *o = d->store;
        if (!o) {
            dg_errf(err, len, "%s: store plugin %s has no store ops", file, d->name);
            return DG_EABI;
        }
        if (o->struct_size < STORE_MIN_SIZE) {
            dg_errf(err, len, "%s: store ops struct_size %u is smaller than %zu", file,
                    (unsigned)o->struct_size, (size_t)STORE_MIN_SIZE);
            return DG_EABI;
        }
        const char *missing = !o->create ? "create" : !o->start ? "start" : !o->stop ? "stop"
                              : !o->destroy ? "destroy" : !o->backfill ? "backfill" : NULL;
        if (missing) {
            dg_errf(err, len, "%s: store plugin %s lacks the mandatory op '%s'", file, d->name,
                    missing);
            return DG_EABI;
        }
    } else {
        dg_errf(err, len, "%s: unknown plugin kind %d", file, (int)d->kind);
        return DG_EABI;
    }
    for (const dg_config_field *f = d->config_schema; f && f->key; f++) {
        if (f->type < DG_CFG_STRING || f->type > DG_CFG_OBJECT) {
            dg_errf(err, len, "%s: config key '%s' has an unknown type", file, f->key);
            return DG_EABI;
        }
    }
    return 0;
}

static dg_plugin *find_loaded(dg_loader *l, const char *name)
{
    for (dg_plugin *p = l->plugins; p; p = p->next)
        if (strcmp(p->desc->name, name) == 0)
            return p;
    return NULL;
}

static void set_search_path(dg_loader *l)
{
    size_t total = 1;
    char *sp;
    for (size_t i = 0; i < l->n_dirs; i++)
        total += strlen(l->dirs[i]) + 1;
    sp = calloc(1, total);
    if (!sp)
        return;
    for (size_t i = 0; i < l->n_dirs; i++) {
        if (i)
            strcat(sp, ":");
        strcat(sp, l->dirs[i]);
    }
    lt_dlsetsearchpath(sp);
    free(sp);
}

/* Base name without directory and extension: "dir/whatsapp.la" -> "whatsapp". */
static void module_base(const char *path, char *out, size_t len)
{
    const char *b = strrchr(path, '/');
    size_t n;
    b = b ? b + 1 : path;
    n = strcspn(b, ".");
    if (n >= len)
        n = len - 1;
    memcpy(out, b, n);
    out[n] = '\0';
    if (strncmp(out, "lib", 3) == 0 && n > 3)
        memmove(out, out + 3, n - 2);
}

int dg_loader_load(dg_loader *l, const char *what, const dg_plugin **out, char *err, size_t len)
{
    lt_dladvise advise;
    lt_dlhandle h = NULL;
    dg_plugin_query_fn fn = NULL;
    const dg_plugin_descriptor *d;
    const lt_dlinfo *info;
    char base[128], sym[192], file[1024];
    dg_plugin *p, *dup;
    int by_path = strchr(what, '/') != NULL;
    int rc;

    if (!by_path && (p = find_loaded(l, what)) != NULL) {
        *out = p;
        return 0;
    }
    if (!by_path && !valid_name(what)) {
        dg_errf(err, len, "invalid plugin name '%s'", what);
        return DG_EINVAL;
    }
    set_search_path(l);
    g_dlerr[0] = '\0';
    if (lt_dladvise_init(&advise) || lt_dladvise_ext(&advise) || lt_dladvise_local(&advise)) {
        dg_errf(err, len, "libltdl: %s", lt_dlerror());
        return DG_EIO;
    }
    h = lt_dlopenadvise(what, advise);
    lt_dladvise_destroy(&advise);
    if (!h) {
        const char *e = lt_dlerror();
        if (g_dlerr[0])
            dg_errf(err, len, "%s: cannot load: %s", what, g_dlerr);
        else if (by_path)
            dg_errf(err, len, "%s: cannot load: %s", what, e ? e : "unknown error");
        else {
            char dirs[600] = "";
            for (size_t i = 0; i < l->n_dirs; i++) {
                if (i)
                    strncat(dirs, ", ", sizeof dirs - strlen(dirs) - 1);
                strncat(dirs, l->dirs[i], sizeof dirs - strlen(dirs) - 1);
            }
            dg_errf(err, len, "plugin '%s' not found (searched: %s)", what,
                    l->n_dirs ? dirs : "no directories");
        }
        return DG_ENOTFOUND;
    }
    info = lt_dlgetinfo(h);
    snprintf(file, sizeof file, "%s", info && info->filename ? info->filename : what);
    /* lt_dlsym tries "<module>_LTX_dg_plugin_query" and then the plain name. */
    fn = (dg_plugin_query_fn)(uintptr_t)lt_dlsym(h, DG_PLUGIN_ENTRY);
    if (!fn) {
        module_base(file, base, sizeof base);
        snprintf(sym, sizeof sym, "%s_LTX_%s", base, DG_PLUGIN_ENTRY);
        fn = (dg_plugin_query_fn)(uintptr_t)lt_dlsym(h, sym);
    }
    if (!fn) {
        module_base(file, base, sizeof base);
        dg_errf(err, len, "%s: not a duegate plugin: no entry point %s_LTX_%s or %s", file, base,
                DG_PLUGIN_ENTRY, DG_PLUGIN_ENTRY);
        rc = DG_EABI;
        goto fail;
    }
    d = fn();
    if ((rc = dg_loader_check_descriptor(d, file, err, len)) != 0)
        goto fail;
    if (!by_path && strcmp(d->name, what) != 0) {
        dg_errf(err, len, "%s: file provides plugin '%s', not '%s'", file, d->name, what);
        rc = DG_EABI;
        goto fail;
    }
    if ((dup = find_loaded(l, d->name)) != NULL) {
        if (dup->handle == h) { /* same module opened again by path */
            lt_dlclose(h);
            *out = dup;
            return 0;
        }
        dg_errf(err, len, "%s: plugin name '%s' is already provided by %s", file, d->name,
                dup->path);
        rc = DG_EEXIST;
        goto fail;
    }
    p = calloc(1, sizeof *p);
    if (!p || !(p->path = strdup(file))) {
        free(p);
        rc = DG_ENOMEM;
        goto fail;
    }
    p->handle = h;
    p->desc = d;
    if (d->kind == DG_PLUGIN_CHANNEL)
        memcpy(&p->channel, d->channel,
               d->channel->struct_size < sizeof p->channel ? d->channel->struct_size
                                                           : sizeof p->channel);
    else
        memcpy(&p->store, d->store,
               d->store->struct_size < sizeof p->store ? d->store->struct_size
                                                       : sizeof p->store);
    p->channel.struct_size = sizeof p->channel;
    p->store.struct_size = sizeof p->store;
    p->next = l->plugins;
    l->plugins = p;
    *out = p;
    return 0;
fail:
    lt_dlclose(h);
    return rc;
}

static int has_suffix(const char *s, const char *suf)
{
    size_t a = strlen(s), b = strlen(suf);
    return a >= b && strcmp(s + a - b, suf) == 0;
}

int dg_loader_scan(dg_loader *l, dg_loader_visit_cb cb, void *ud)
{
    char seen[256][64];
    size_t n_seen = 0;
    for (size_t i = 0; i < l->n_dirs; i++) {
        DIR *dir = opendir(l->dirs[i]);
        struct dirent *e;
        if (!dir)
            continue;
        while ((e = readdir(dir)) != NULL) {
            char path[1024], base[64], err[512];
            const dg_plugin *p = NULL;
            int dupe = 0;
            if (!has_suffix(e->d_name, ".la") && !has_suffix(e->d_name, ".so"))
                continue;
            module_base(e->d_name, base, sizeof base);
            for (size_t k = 0; k < n_seen; k++)
                dupe |= strcmp(seen[k], base) == 0;
            if (dupe)
                continue;
            if (n_seen < 256)
                snprintf(seen[n_seen++], sizeof seen[0], "%s", base);
            snprintf(path, sizeof path, "%s/%s", l->dirs[i], e->d_name);
            /* Prefer the .la when both exist (libtool build trees). */
            if (has_suffix(e->d_name, ".so")) {
                char la[1024];
                struct stat st;
                snprintf(la, sizeof la, "%s/%s.la", l->dirs[i], base);
                if (stat(la, &st) == 0)
                    snprintf(path, sizeof path, "%s", la);
            }
            err[0] = '\0';
            if (dg_loader_load(l, path, &p, err, sizeof err) != 0)
                p = NULL;
            cb(ud, path, p, err);
        }
        closedir(dir);
    }
    return 0;
}

void dg_caps_string(uint32_t caps, char *buf, size_t len)
{
    static const struct {
        uint32_t bit;
        const char *name;
    } names[] = {{DG_CAP_DELIVERY_RECEIPTS, "receipts"}, {DG_CAP_READ_RECEIPTS, "read"},
                 {DG_CAP_INBOUND_REPLIES, "replies"},    {DG_CAP_SESSION_WINDOW, "session-window"},
                 {DG_CAP_TEMPLATES, "templates"},        {DG_CAP_PHONE, "phone"},
                 {DG_CAP_EMAIL, "email"}};
    buf[0] = '\0';
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        if (!(caps & names[i].bit))
            continue;
        if (buf[0])
            strncat(buf, ",", len - strlen(buf) - 1);
        strncat(buf, names[i].name, len - strlen(buf) - 1);
    }
    if (!buf[0])
        snprintf(buf, len, "-");
}
