# HTTP in the core (issue 4): the webhook/admin server, the provider client,
# their tests and benches. Sources join the core convenience library.
core_libdgcore_la_SOURCES += \
	core/http_server.c core/http_server.h core/http_server_int.h \
	core/http_conn.c \
	core/http_client.c core/http_client.h
