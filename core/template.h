/* Message templates: load a directory of templates once, render a message
 * for an order on a channel in the customer's locale.
 *
 * Layout (docs/templates.md): DIR/templates.json declares the locales and the
 * default; DIR/lint/ holds the tone rules (tone.h); every other directory
 * holding template files is one template, its id the relative path
 * ("presale/gentle"). Per declared locale L it must have sms.L.txt,
 * email.L.subject, email.L.txt, email.L.html and whatsapp.L.txt (free-form
 * WhatsApp text, only for an open 24 h window); whatsapp.json optionally maps
 * it to a pre-approved WhatsApp template (name, language, body parameters,
 * buttons). Syntax: tmpl_syntax.h. Loading checks everything (unknown
 * variables, unclosed sections, missing locale files, WhatsApp parameter
 * counts, tone) and names FILE:LINE.
 *
 * A dg_templates is immutable after load and may be shared by threads.
 * dg_templates_render is a dg_render_fn (core/message.h). */
#ifndef DG_CORE_TEMPLATE_H
#define DG_CORE_TEMPLATE_H

#include <stddef.h>

#include "config.h"
#include "message.h"

typedef struct dg_templates dg_templates;

/* Called once per problem found while loading ("FILE:LINE: what"). */
typedef void (*dg_templates_report_fn)(void *ud, const char *msg);

/* Load DIR. default_locale (NULL: the one in templates.json) must be one of
 * the declared locales. Returns 0, or a negative DG_E* code with the first
 * problem in err. */
int dg_templates_load(const char *dir, const char *default_locale, dg_templates **out, char *err,
                      size_t err_len);
/* The same, reporting every problem (not only the first) to report. */
int dg_templates_load_report(const char *dir, const char *default_locale,
                             dg_templates_report_fn report, void *ud, dg_templates **out, char *err,
                             size_t err_len);
void dg_templates_free(dg_templates *t);

/* The directory to load for a configuration: dir_override, else
 * daemon.templates_dir, else DG_TEMPLATEDIR when it holds templates.json,
 * else "./templates". Returns a malloc'd string. */
char *dg_templates_pick_dir(const dg_config *cfg, const char *dir_override);
/* Load with the settings of the config's "templates" section:
 * {"default_locale": "en", "sms_max_segments": 4}. cfg may be NULL. */
int dg_templates_load_config(const dg_config *cfg, const char *dir_override,
                             dg_templates_report_fn report, void *ud, dg_templates **out, char *err,
                             size_t err_len);

/* Most SMS segments a rendered SMS may need (1-10); more is a render error. */
void dg_templates_set_sms_max_segments(dg_templates *t, int n);
int dg_templates_sms_max_segments(const dg_templates *t);

/* Locale negotiation: the declared locale for a customer's BCP 47 tag.
 * Exact match, then shorter prefixes ("pt-BR" -> "pt"), then a declared
 * locale of the same language ("zh-TW" -> "zh-CN"), then the default. */
const char *dg_templates_negotiate(const dg_templates *t, const char *want);
const char *dg_templates_default_locale(const dg_templates *t);

size_t dg_templates_count(const dg_templates *t);
const char *dg_templates_id(const dg_templates *t, size_t i);
size_t dg_templates_locale_count(const dg_templates *t);
const char *dg_templates_locale(const dg_templates *t, size_t i);
/* 1 if the template has a pre-approved WhatsApp mapping (whatsapp.json). */
int dg_templates_has_wa_mapping(const dg_templates *t, const char *id);

/* A dg_render_fn: `templates` is a dg_templates*. channel_kind is one of
 * DG_CHANNEL_KIND_*. Money and dates use the customer's locale when its
 * language is the negotiated one, else the negotiated locale; dates use the
 * customer's zone (UTC when unknown). Errors: DG_ENOTFOUND (no such
 * template or channel), DG_EINVAL (a value missing, bad currency or link,
 * SMS over the segment cap). */
int dg_templates_render(void *templates, const char *template_id, const char *channel_kind,
                        const dg_msg_facts *f, dg_rendered *out, char *err, size_t err_len);

/* The approved WhatsApp body of a rendered message with its parameters put
 * in (what the customer sees); NULL when there is no mapping. Caller frees. */
char *dg_templates_wa_preview(const dg_templates *t, const char *template_id, const dg_rendered *r);

/* `duegate templates lint|render ...` (core/cmd_templates.c). argv[0] is
 * the subcommand; config is a -c given before it, or NULL. Exit status. */
int dg_cmd_templates(const char *config, int argc, char **argv);

#endif
