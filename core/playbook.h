/* Engine configuration: playbooks, global rules, segments, quiet hours.
 *
 * Read from the top-level sections "engine", "playbooks", "segments" and
 * "quiet_hours" (docs in docs/engine.md). The two shipped playbooks,
 * presale_balance and unpaid_order, are always defined; a section of the
 * same name in "playbooks" replaces them. Errors are one line naming the
 * JSON path: "FILE:LINE: playbooks.presale_balance.steps[0].offset: ...".
 * A dg_engine_cfg is plain data (no pointers), copied freely. */
#ifndef DG_CORE_PLAYBOOK_H
#define DG_CORE_PLAYBOOK_H

#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "schedule.h"

#define DG_PB_MAX 8
#define DG_STEP_MAX 6
#define DG_CH_MAX 4

typedef enum dg_anchor { DG_ANCHOR_DUE = 0, DG_ANCHOR_CREATED = 1, DG_ANCHOR_CLOSE = 2 } dg_anchor;

typedef struct dg_step {
    char stage[32];
    int anchor;                   /* dg_anchor */
    int64_t offset;               /* from the anchor, ms (may be negative) */
    char tmpl[64];                /* template id */
    char tmpl_overdue[64];        /* used when sent after the deadline ("" none) */
    char tmpl_no_reply[64];       /* used when an earlier touch was read with no reply */
    char channels[DG_CH_MAX][48]; /* channel kinds or instance names, in order */
    int n_channels;
    int64_t answer_window; /* wait for a reply before the next channel */
} dg_step;

typedef struct dg_playbook {
    char name[48];
    int flow;             /* dg_order_flow it applies to */
    int golden;           /* 1: golden hours; 0: the awake window only */
    int64_t final_window; /* after the last touch: expiry (presale) */
    int cancel_on_expire; /* store action on expiry */
    int64_t
        close_after; /* unpaid: order closes this long after creation when the order says nothing */
    dg_step steps[DG_STEP_MAX];
    int n_steps;
} dg_playbook;

enum {
    DG_SEG_BUSY = 0,
    DG_SEG_HESITANT,
    DG_SEG_HIGH_INTENT,
    DG_SEG_PRICE_SENSITIVE,
    DG_SEG_HIGH_VALUE,
    DG_SEG_RETURNING,
    DG_SEG_NEW,
    DG_SEG__N
};
extern const char *const dg_segment_names[DG_SEG__N]; /* priority order */

typedef struct dg_segment_cfg {
    double cadence;  /* interval factor: < 1 faster, > 1 slower */
    int max_touches; /* 0: the global cap */
    char coupon[64];
    char tmpl_from[4][64], tmpl_to[4][64]; /* template id overrides */
    int n_tmpl;
} dg_segment_cfg;

typedef struct dg_sms_window {
    char country[4];
    dg_window w;
} dg_sms_window;

typedef struct dg_engine_cfg {
    dg_playbook pb[DG_PB_MAX];
    int n_pb;
    dg_window golden;      /* engine.golden_hours, default 09:00-11:00 */
    dg_window awake;       /* complement of quiet_hours.night (21:00-08:00) */
    dg_sms_window sms[16]; /* legal windows (tightened by quiet_hours.sms) */
    int n_sms;
    int max_touches;                           /* engine.max_touches (3) */
    int max_messages;                          /* engine.max_messages (6) */
    int64_t retry_base, retry_cap;             /* engine.retry.base (1m), .cap (1h) */
    int retry_max;                             /* engine.retry.max_attempts (5): then dead letter */
    char store_tz[64];                         /* engine.store_tz (UTC) */
    int reread_before_final;                   /* engine.reread_before_final (true) */
    int64_t reread_wait;                       /* engine.reread_wait (2m) */
    char followup_template[64];                /* engine.promise_followup_template */
    char kind_inst[16][48], kind_name[16][12]; /* engine.channel_kinds */
    int n_kinds;
    int64_t high_value_minor; /* segments.high_value.threshold_minor (20000) */
    int high_intent_items;    /* segments.high_intent.min_items (3) */
    dg_segment_cfg seg[DG_SEG__N];
} dg_engine_cfg;

/* Defaults, then the config's sections (cfg may be NULL: defaults only). */
int dg_engine_cfg_load(const dg_config *cfg, dg_engine_cfg *out, char *err, size_t err_len);
const dg_playbook *dg_engine_cfg_playbook(const dg_engine_cfg *c, const char *name);
const dg_playbook *dg_engine_cfg_for_flow(const dg_engine_cfg *c, int flow);
/* The legal SMS window of a country (the awake window when none is known). */
dg_window dg_engine_cfg_sms_window(const dg_engine_cfg *c, const char *country);

#endif
