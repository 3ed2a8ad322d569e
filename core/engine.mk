# The dunning engine: durable store, playbooks, time zones, schedule,
# segments, the engine itself, an in-process channel and `duegate simulate`.
core_libdgcore_la_SOURCES += \
	core/store.h core/store_sqlite.c core/store_schema.c core/store_schema.h \
	core/tz.h core/tz.c \
	core/schedule.h core/schedule.c \
	core/playbook.h core/playbook.c \
	core/segments.h core/segments.c \
	core/engine.h core/engine_int.h core/engine.c core/engine_life.c core/engine_send.c core/engine_events.c \
	core/simchan.h core/simchan.c \
	core/cmd_simulate.c
