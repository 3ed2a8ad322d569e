// The SDK headers in a C++ translation unit (-std=c++11 -pedantic-errors).
#include <duegate/plugin.h>

#include <cstdio>

static int x_create(const dg_host *, dg_instance *, void **self, char *, size_t)
{
    *self = nullptr;
    return DG_OK;
}
static int x_start(void *, char *, size_t) { return DG_OK; }
static int x_stop(void *, dg_op) { return DG_OK; }
static void x_destroy(void *) {}
static int x_backfill(void *, dg_op) { return DG_ENOTSUP; }

static dg_store_ops make_ops()
{
    dg_store_ops o;
    DG_INIT(&o);
    o.create = x_create;
    o.start = x_start;
    o.stop = x_stop;
    o.destroy = x_destroy;
    o.backfill = x_backfill;
    return o;
}
static const dg_store_ops ops = make_ops();

static dg_plugin_descriptor make_desc()
{
    dg_plugin_descriptor d;
    DG_INIT(&d);
    d.abi_major = DG_ABI_MAJOR;
    d.abi_minor = DG_ABI_MINOR;
    d.kind = DG_PLUGIN_STORE;
    d.name = "sdkcxx";
    d.version = "1";
    d.store = &ops;
    return d;
}
static const dg_plugin_descriptor desc = make_desc();

DG_PLUGIN_DEFINE(sdkcxx, desc)

int main()
{
    const dg_plugin_descriptor *d = sdkcxx_LTX_dg_plugin_query();
    if (d->kind != DG_PLUGIN_STORE || d->store->backfill == nullptr)
        return 1;
    std::printf("1 passed, 0 failed\n");
    return 0;
}
