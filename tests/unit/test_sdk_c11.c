/* The SDK headers alone, in strict C11 (-pedantic-errors -Werror), and a
 * complete plugin defined with them. */
#include <duegate/plugin.h>

#include <stdio.h>

static int c_create(const dg_host *h, dg_instance *i, void **self, char *e, size_t n)
{
    (void)h, (void)i, (void)e, (void)n;
    *self = NULL;
    return DG_OK;
}
static int c_start(void *s, char *e, size_t n)
{
    (void)s, (void)e, (void)n;
    return DG_OK;
}
static int c_stop(void *s, dg_op op)
{
    (void)s, (void)op;
    return DG_OK;
}
static void c_destroy(void *s) { (void)s; }
static int c_send(void *s, const dg_outbound_message *m, dg_op op)
{
    (void)s, (void)m, (void)op;
    return DG_ENOTSUP;
}

static const dg_channel_ops ops = {sizeof(dg_channel_ops), DG_CAP_PHONE, c_create, c_start,
                                   c_stop, c_destroy, c_send, NULL, {0}};
static const dg_plugin_descriptor desc = {sizeof(dg_plugin_descriptor), DG_ABI_MAJOR,
                                          DG_ABI_MINOR, DG_PLUGIN_CHANNEL, "sdkc", "1",
                                          "strict C11", NULL, &ops, NULL, {0}};

DG_PLUGIN_DEFINE(sdkc, desc)

int main(void)
{
    dg_order_event ev;
    const dg_plugin_descriptor *d = sdkc_LTX_dg_plugin_query();
    DG_INIT(&ev);
    if (ev.struct_size != sizeof ev || !DG_HAS_FIELD(&ev, dg_order_event, dedupe_key))
        return 1;
    if (d != &desc || d->channel->send == NULL)
        return 1;
    printf("1 passed, 0 failed\n");
    return 0;
}
