/* duegate plugin SDK: the normalized types that cross the plugin boundary.
 *
 * Rules that hold for every struct in this header:
 *  - it starts with `struct_size`, set by whoever fills it in (use DG_INIT);
 *  - it only ever grows at its end, and carries reserved slots that are zero;
 *  - every pointer in it is BORROWED for the duration of the call it is passed
 *    to: the receiver copies whatever it wants to keep.
 * Times are milliseconds since the Unix epoch (UTC), 0 meaning "unknown".
 * Money is an integer count of minor units (cents) plus an ISO 4217 code.
 * Strings are UTF-8 and NUL-terminated; NULL means "absent".
 */
#ifndef DUEGATE_TYPES_H
#define DUEGATE_TYPES_H

#include <stddef.h>
#include <stdint.h>
#include <string.h> /* memset, for DG_INIT */

#ifdef __cplusplus
extern "C" {
#endif

/* Fill a struct with zeroes and set its struct_size. */
#define DG_INIT(ptr)                                                            \
    do {                                                                        \
        memset((ptr), 0, sizeof(*(ptr)));                                       \
        (ptr)->struct_size = (uint32_t)sizeof(*(ptr));                          \
    } while (0)

/* True if a struct received from the other side is large enough to hold
 * `member` (so fields added in a later minor version can be read safely). */
#define DG_HAS_FIELD(ptr, type, member)                                         \
    ((ptr)->struct_size >= offsetof(type, member) + sizeof(((type *)0)->member))

/* Return codes shared by the host API and plugin ops. Negative is an error,
 * DG_PENDING means "the operation will be completed later". */
enum {
    DG_OK = 0,
    DG_PENDING = 1,
    DG_EINVAL = -1,     /* invalid argument or input */
    DG_ENOMEM = -2,     /* out of memory */
    DG_ENOTFOUND = -3,  /* no such key, route, instance, order */
    DG_EEXIST = -4,     /* already exists (route, instance name) */
    DG_ENOTSUP = -5,    /* not supported by this host or plugin */
    DG_ESTATE = -6,     /* wrong state (e.g. called after stop) */
    DG_EIO = -7,        /* storage or I/O failure */
    DG_EPROTO = -8,     /* peer violated its protocol */
    DG_ETIMEDOUT = -9,  /* deadline passed */
    DG_ECANCELED = -10, /* operation canceled */
    DG_EABI = -11,      /* ABI mismatch */
    DG_ECONFIG = -12    /* configuration error */
};

/* A key/value pair. `flags` tells the host how to treat the value in logs. */
enum {
    DG_KV_PLAIN = 0,
    DG_KV_PHONE = 1,  /* masked in logs: +1415****567 */
    DG_KV_EMAIL = 2,  /* masked in logs: j***@example.com */
    DG_KV_SECRET = 3, /* never printed */
    DG_KV_TEXT = 4    /* free customer text: length only in logs */
};
typedef struct dg_kv {
    const char *key;
    const char *value;
    int flags;
} dg_kv;

/* ---------------------------------------------------------------- orders */

typedef enum dg_order_kind {
    DG_ORDER_UPSERT = 1,    /* created or updated; may or may not owe money */
    DG_ORDER_PAID = 2,      /* fully paid: ends any dunning at once */
    DG_ORDER_CANCELLED = 3, /* cancelled: ends any dunning at once */
    DG_ORDER_DELETED = 4    /* deleted in the store: ends dunning, data kept */
} dg_order_kind;

typedef enum dg_order_flow {
    DG_FLOW_UNKNOWN = 0,
    DG_FLOW_PRESALE_BALANCE = 1, /* deposit paid, balance due by due_at */
    DG_FLOW_UNPAID_ORDER = 2     /* placed but not paid; store closes at close_at */
} dg_order_flow;

typedef struct dg_customer {
    uint32_t struct_size;
    const char *id;          /* store's customer id, as a string */
    const char *first_name;
    const char *last_name;
    const char *phone;       /* E.164 (+14155550123) or NULL */
    const char *email;
    const char *locale;      /* BCP 47, e.g. "pt-BR" */
    const char *tz_hint;     /* IANA zone if known, e.g. "America/New_York" */
    const char *country;     /* ISO 3166-1 alpha-2 of the shipping/billing address */
    const char *province;    /* ISO 3166-2 subdivision code without country, e.g. "CA" */
    int32_t orders_count;    /* orders placed before this one, -1 unknown */
    int32_t paid_orders_count; /* earlier orders fully paid, -1 unknown */
    void *reserved[4];
} dg_customer;

typedef struct dg_line_item {
    uint32_t struct_size;
    const char *title;
    const char *variant; /* NULL when the product has no variants */
    const char *sku;
    int32_t quantity;
    int64_t unit_price_minor;
    void *reserved[2];
} dg_line_item;

/* Segment hints a store plugin may know from the order or customer. */
enum {
    DG_SEGHINT_HIGH_INTENT = 1u << 0,
    DG_SEGHINT_HESITANT = 1u << 1,
    DG_SEGHINT_PRICE_SENSITIVE = 1u << 2,
    DG_SEGHINT_BUSY = 1u << 3
};

typedef struct dg_order_event {
    uint32_t struct_size;
    dg_order_kind kind;
    dg_order_flow flow;
    const char *store;        /* store instance name; filled in by the host */
    const char *order_id;     /* store's order id as a string (may exceed 2^53) */
    const char *order_name;   /* what the customer sees, e.g. "#1001" */
    dg_customer customer;
    int64_t amount_owed_minor;  /* outstanding balance in `currency` */
    int64_t order_total_minor;  /* total of the order in `currency` */
    const char *currency;       /* ISO 4217 of what the customer pays in */
    int64_t due_at;             /* balance due time (pre-sale), 0 unknown */
    int64_t created_at;         /* order creation time */
    int64_t close_at;           /* store closes an unpaid order at, 0 unknown */
    int64_t updated_at;         /* store's last update: stale events are ignored */
    const char *pay_link;       /* a tappable URL where the balance is paid */
    const char *items_summary;  /* "Linen dress (M, blue) ×1, ..." */
    const dg_line_item *items;  /* array of n_items */
    size_t n_items;
    const char *const *tags;    /* array of n_tags */
    size_t n_tags;
    uint32_t segment_hints;     /* DG_SEGHINT_* */
    const char *dedupe_key;     /* e.g. webhook id; NULL if none */
    void *reserved[8];
} dg_order_event;

/* ---------------------------------------------------------- outbound msg */

typedef struct dg_template_param {
    uint32_t struct_size;
    const char *name;  /* NULL for positional parameters */
    const char *value;
    void *reserved[2];
} dg_template_param;

typedef enum dg_button_kind {
    DG_BUTTON_URL = 1,        /* URL button; `value` is the dynamic URL suffix */
    DG_BUTTON_QUICK_REPLY = 2 /* quick reply; `value` is our payload */
} dg_button_kind;

typedef struct dg_template_button {
    uint32_t struct_size;
    dg_button_kind kind;
    int32_t index; /* position of the button in the approved template */
    const char *value;
    void *reserved[2];
} dg_template_button;

typedef struct dg_outbound_message {
    uint32_t struct_size;
    int64_t case_id;
    int64_t touch_id;          /* correlates channel events with this send */
    int32_t step;              /* playbook step index, 0-based */
    int32_t attempt;           /* 1 for the first try of this touch on this channel */
    const char *stage;         /* "gentle", "formal", ... */
    const char *channel;       /* channel instance name */
    const char *locale;        /* negotiated locale, e.g. "es" */
    const char *template_id;   /* e.g. "presale/gentle" */
    const char *idempotency_key; /* stable across retries of the same touch */
    /* Recipient. */
    const char *to_phone;      /* E.164 */
    const char *to_email;
    const char *to_name;
    /* Rendered content (which ones are set depends on the channel). */
    const char *text;          /* SMS body, WhatsApp free-form text, e-mail text part */
    const char *subject;       /* e-mail */
    const char *html;          /* e-mail HTML part */
    /* Pre-approved template form (WhatsApp). */
    const char *template_name;
    const char *template_language;
    const dg_template_param *params;
    size_t n_params;
    const dg_template_button *buttons;
    size_t n_buttons;
    int32_t sms_segments;      /* segments the text needs, from the template layer */
    void *reserved[8];
} dg_outbound_message;

/* ------------------------------------------------------ channel events */

typedef enum dg_channel_event_kind {
    DG_CHEV_SENT = 1,
    DG_CHEV_DELIVERED = 2,
    DG_CHEV_READ = 3,
    DG_CHEV_FAILED = 4,
    DG_CHEV_REPLIED = 5,   /* inbound text or button from the customer */
    DG_CHEV_OPTED_OUT = 6, /* STOP-family: suppress the address on this channel */
    DG_CHEV_OPTED_IN = 7   /* START/UNSTOP: lift our suppression */
} dg_channel_event_kind;

/* How a failure should be treated. Retries belong to the core. */
typedef enum dg_error_class {
    DG_ERRC_NONE = 0,
    DG_ERRC_RETRYABLE = 1,   /* try again later (honour retry_after_ms) */
    DG_ERRC_WAIT = 2,        /* do not retry before retry_after_ms (e.g. 24 h) */
    DG_ERRC_PERMANENT = 3,   /* this address cannot get it here: next channel */
    DG_ERRC_SUPPRESSED = 4,  /* recipient opted out on this channel */
    DG_ERRC_STOP_SENDER = 5, /* the sender is blocked: stop the instance, alert */
    DG_ERRC_CONFIG = 6       /* our configuration is wrong (template, params) */
} dg_error_class;

typedef struct dg_channel_event {
    uint32_t struct_size;
    dg_channel_event_kind kind;
    const char *channel;             /* channel instance; filled in by the host */
    const char *provider_message_id; /* wamid, Twilio SID, Message-ID */
    int64_t touch_id;                /* 0 if only the provider id is known */
    const char *address;             /* customer's phone (E.164) or e-mail */
    const char *text;                /* reply text (REPLIED) */
    const char *payload;             /* button payload (REPLIED), e.g. "DG_PAID" */
    dg_error_class error_class;      /* FAILED */
    const char *error_code;          /* provider's code, e.g. "131026" */
    const char *error_message;
    int64_t retry_after_ms;
    int64_t occurred_at;             /* provider's timestamp */
    const char *dedupe_key;          /* e.g. "wamid.X:delivered"; NULL if none */
    void *reserved[8];
} dg_channel_event;

/* Well-known quick-reply payloads the core understands. */
#define DG_PAYLOAD_PAID "DG_PAID"
#define DG_PAYLOAD_HELP "DG_HELP"
#define DG_PAYLOAD_LATER "DG_LATER"

/* ----------------------------------------------------------- op results */

typedef struct dg_result {
    uint32_t struct_size;
    int status;                 /* DG_OK or a negative DG_E* code */
    dg_error_class error_class; /* when status != DG_OK */
    int64_t retry_after_ms;     /* 0 when the provider gave none */
    const char *provider_id;    /* e.g. wamid of an accepted send */
    const char *error_code;     /* provider's error code as text */
    const char *error_message;  /* human-readable; never a secret */
    void *reserved[6];
} dg_result;

/* ---------------------------------------------------------- store acts */

typedef enum dg_store_action_kind {
    DG_ACT_CANCEL_ORDER = 1, /* cancel an expired order */
    DG_ACT_REREAD_ORDER = 2  /* fetch the order again and emit it */
} dg_store_action_kind;

typedef struct dg_store_action {
    uint32_t struct_size;
    dg_store_action_kind kind;
    const char *order_id;
    const char *reason;   /* cancel: "customer", "other", ... */
    int restock;          /* cancel: put the stock back */
    int notify_customer;  /* cancel: let the store e-mail the customer */
    const char *staff_note;
    void *reserved[6];
} dg_store_action;

#ifdef __cplusplus
}
#endif
#endif /* DUEGATE_TYPES_H */
