/* Customer segments (domain.md table) from order and customer facts.
 *
 * Recognition (thresholds from the "segments" section):
 *   busy / hesitant / price_sensitive: the store's segment hints;
 *   high_intent: the hint, or at least segments.high_intent.min_items (3) items;
 *   high_value: balance >= segments.high_value.threshold_minor (20000);
 *   returning: paid orders before (store count or our payment history); else new.
 * Effects: cadence is the product of the factors of every segment that
 * applies (busy 1, hesitant 1.5, high_intent 0.75 by default), the touch cap
 * the smallest one (busy: 1), the coupon the high_value one; template
 * overrides are taken from the first segment, in priority order, that has
 * one for the template id. The "primary" segment (first in priority order)
 * is what the template layer gets in dg_msg_facts.segment. */
#ifndef DG_CORE_SEGMENTS_H
#define DG_CORE_SEGMENTS_H

#include "playbook.h"
#include "store.h"

typedef struct dg_seg_eff {
    unsigned mask; /* 1u << DG_SEG_* */
    int primary;   /* DG_SEG_* */
    double cadence;
    int max_touches;
    const char *coupon; /* points into the config, "" none */
} dg_seg_eff;

void dg_segments_compute(const dg_engine_cfg *cfg, const dg_case *c, int64_t paid_history,
                         dg_seg_eff *out);
/* The template to use for `id` under the segments in `mask`. */
const char *dg_segments_template(const dg_engine_cfg *cfg, unsigned mask, const char *id);

#endif
