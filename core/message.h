/* The contract between the engine and the template layer.
 *
 * The engine knows facts (raw amounts, instants, the customer's locale and
 * time zone); the template layer turns them into what the customer reads,
 * formatting money and dates with ICU for the customer's locale and zone.
 * The engine calls a dg_render_fn (core/template.c provides the real one,
 * dg_templates_render; engine tests may inject their own).
 *
 * Ownership: dg_msg_facts is borrowed for the call. dg_rendered is filled by
 * the renderer with strings it allocates; release with dg_rendered_clear. */
#ifndef DG_CORE_MESSAGE_H
#define DG_CORE_MESSAGE_H

#include <stddef.h>
#include <stdint.h>

#include <duegate/types.h>

typedef struct dg_msg_facts {
    const char *locale;          /* customer's BCP 47 locale ("pt-BR"); NULL: default */
    const char *tz;              /* customer's IANA zone ("America/New_York") */
    const char *first_name;
    const char *full_name;
    const char *order_name;      /* "#1001" */
    const char *items_summary;   /* "Linen dress (M, blue) x1" */
    int64_t amount_minor;        /* amount owed */
    const char *currency;        /* ISO 4217 */
    int64_t deadline_ms;         /* balance due / cut-off instant, 0 unknown */
    int64_t close_ms;            /* unpaid order: store closes it at, 0 unknown */
    int64_t now_ms;              /* the send time (days left/overdue, hours left) */
    int64_t final_window_ms;     /* final stage: time left to pay from now_ms, 0 n/a */
    const char *pay_link;
    const char *store_name;
    const char *support_contact; /* phone, e-mail or URL */
    int32_t refund_days;         /* business days a refund takes */
    const char *coupon;          /* segment extra (high value), NULL none */
    const char *segment;         /* "high_value", "returning", "new", "busy", "hesitant",
                                    "high_intent", "price_sensitive" or NULL */
    const char *last_reply;      /* what the customer said last, NULL none */
    int64_t promise_ms;          /* the day the customer said they would pay, 0 none */
    void *reserved[4];
} dg_msg_facts;

/* Channel kinds a template has a variant for. */
#define DG_CHANNEL_KIND_WHATSAPP "whatsapp"
#define DG_CHANNEL_KIND_SMS "sms"
#define DG_CHANNEL_KIND_EMAIL "email"

typedef struct dg_rendered {
    char *locale;            /* the locale actually used after negotiation */
    char *text;              /* SMS body / e-mail text part / WhatsApp free-form text */
    char *subject;           /* e-mail */
    char *html;              /* e-mail HTML part (customer values HTML-escaped) */
    char *wa_template_name;  /* WhatsApp pre-approved template */
    char *wa_language;       /* e.g. "en_US" */
    dg_template_param *params;  /* WhatsApp body parameters (names NULL when positional) */
    size_t n_params;
    dg_template_button *buttons;
    size_t n_buttons;
    int32_t sms_segments;    /* SMS: segments the text needs */
    int sms_ucs2;            /* SMS: 1 when the text needs UCS-2 */
} dg_rendered;

/* Render template `template_id` (e.g. "presale/gentle") for `channel_kind`.
 * Returns 0, or a negative DG_E* code with a one-line reason in err. */
typedef int (*dg_render_fn)(void *ud, const char *template_id, const char *channel_kind,
                            const dg_msg_facts *facts, dg_rendered *out, char *err,
                            size_t err_len);

/* Free everything a renderer put in out, and zero it. */
void dg_rendered_clear(dg_rendered *out);

#endif
