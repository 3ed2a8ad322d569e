# The WhatsApp send path's speed work (issue 7's bench target): the HTTP
# client's request building is its own file (calls queued over max_in_flight
# hold no curl easy handle), sharing the client's private header.
core_libdgcore_la_SOURCES += core/http_client_req.c core/http_client_int.h
