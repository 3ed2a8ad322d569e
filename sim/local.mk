# The simulator's Shopify persona: a networking-free module (Admin GraphQL
# subset with the cost throttle, signed webhook deliveries with retries).
# The networked program sim/duegate-sim is assembled on top of it later.
noinst_LTLIBRARIES += sim/libshopsim.la
sim_libshopsim_la_SOURCES = sim/shopify_sim.c sim/shopify_sim.h sim/shopify_sim_gql.c \
	sim/shopify_sim_int.h
sim_libshopsim_la_CFLAGS = $(AM_CFLAGS) $(CJSON_CFLAGS) $(UV_CFLAGS)
# users link plugins/shopify/libsputil.la, core/libdgcore.la and cJSON too
EXTRA_DIST += sim/README.md
