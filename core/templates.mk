# Message templates: syntax, loading, ICU formatting, tone lint, SMS
# measurement, and `duegate templates`. Sources join the core library.
core_libdgcore_la_SOURCES += \
	core/tmpl_syntax.c core/tmpl_syntax.h \
	core/tmpl_store.c core/tmpl_internal.h \
	core/template.c core/template.h \
	core/intl.c core/intl.h \
	core/tone.c core/tone.h \
	core/sms_text.c core/sms_text.h \
	core/cmd_templates.c

# The shipped templates, installed under $(pkgtemplatedir) keeping their tree.

EXTRA_DIST += scripts/gen-template-list
