#include <string.h>

#include <duegate/types.h>

#include "segments.h"

void dg_segments_compute(const dg_engine_cfg *cfg, const dg_case *c, int64_t paid_history,
                         dg_seg_eff *out)
{
    unsigned m = 0;
    memset(out, 0, sizeof *out);
    if (c->seg_hints & DG_SEGHINT_BUSY)
        m |= 1u << DG_SEG_BUSY;
    if (c->seg_hints & DG_SEGHINT_HESITANT)
        m |= 1u << DG_SEG_HESITANT;
    if ((c->seg_hints & DG_SEGHINT_HIGH_INTENT) || c->n_items >= cfg->high_intent_items)
        m |= 1u << DG_SEG_HIGH_INTENT;
    if (c->seg_hints & DG_SEGHINT_PRICE_SENSITIVE)
        m |= 1u << DG_SEG_PRICE_SENSITIVE;
    if (c->amount_minor >= cfg->high_value_minor)
        m |= 1u << DG_SEG_HIGH_VALUE;
    if (c->paid_orders_count > 0 || paid_history > 0)
        m |= 1u << DG_SEG_RETURNING;
    else
        m |= 1u << DG_SEG_NEW;
    out->mask = m;
    out->cadence = 1.0;
    out->max_touches = cfg->max_touches;
    out->coupon = "";
    out->primary = DG_SEG_NEW;
    for (int i = DG_SEG__N - 1; i >= 0; i--) {
        if (!(m & (1u << i)))
            continue;
        out->primary = i;
        out->cadence *= cfg->seg[i].cadence;
        if (cfg->seg[i].max_touches > 0 && cfg->seg[i].max_touches < out->max_touches)
            out->max_touches = cfg->seg[i].max_touches;
        if (cfg->seg[i].coupon[0])
            out->coupon = cfg->seg[i].coupon;
    }
}

const char *dg_segments_template(const dg_engine_cfg *cfg, unsigned mask, const char *id)
{
    for (int i = 0; i < DG_SEG__N; i++) {
        if (!(mask & (1u << i)))
            continue;
        for (int k = 0; k < cfg->seg[i].n_tmpl; k++)
            if (strcmp(cfg->seg[i].tmpl_from[k], id) == 0)
                return cfg->seg[i].tmpl_to[k];
    }
    return id;
}
