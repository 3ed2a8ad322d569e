/* `duegate plugin-test PATH [-c INSTANCE.json]`: the conformance kit's
 * command line (see conformance.h). */
#include <stdio.h>

#include "conformance.h"

int dg_cmd_plugin_test(int argc, char **argv, const char *instance_file)
{
    dg_conformance_opts o = {instance_file, stdout};
    int rc;
    if (argc != 1) {
        fprintf(stderr, "usage: duegate plugin-test PATH [-c INSTANCE.json]\n"
                        "  PATH: a plugin module (.so, or a libtool .la)\n"
                        "  -c:   a JSON object with the instance's configuration keys "
                        "(default: schema defaults + placeholders)\n");
        return 2;
    }
    rc = dg_conformance_run(argv[0], &o);
    fflush(stdout);
    return rc == 0 ? 0 : 1;
}
