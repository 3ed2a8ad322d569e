/* Private to the template modules (tmpl_store.c loads, template.c renders). */
#ifndef DG_CORE_TMPL_INTERNAL_H
#define DG_CORE_TMPL_INTERNAL_H

#include "template.h"
#include "tmpl_syntax.h"
#include "tone.h"

enum { P_SMS, P_SUBJECT, P_TEXT, P_HTML, P_WA, P_COUNT };
/* part file name: PREFIX.LOCALE.SUFFIX */
extern const char *const dg_tmpl_part_prefix[P_COUNT];
extern const char *const dg_tmpl_part_suffix[P_COUNT];

typedef struct tpart {
    char *file;
    dg_tnode *tree;
} tpart;

typedef struct wa_param {
    char *name; /* NULL when positional */
    dg_tnode *expr;
} wa_param;

typedef struct wa_loc {
    char *name, *language, *body;
    wa_param *params; /* this locale's own bindings (fallbacks), NULL: the shared ones */
} wa_loc;

typedef struct wa_button {
    int kind; /* DG_BUTTON_* */
    int index;
    char *payload;  /* quick reply */
    dg_tnode *expr; /* URL suffix */
} wa_button;

typedef struct tmpl {
    char *id;
    tpart (*parts)[P_COUNT]; /* per locale */
    char *wa_file;           /* NULL: no mapping */
    wa_loc *wa;              /* per locale */
    wa_param *params;
    size_t n_params;
    wa_button *buttons;
    size_t n_buttons;
    char *url_prefix;
} tmpl;

struct dg_templates {
    char *dir;
    char **locales;
    size_t n_locales;
    size_t def; /* index of the default locale */
    int sms_max_segments;
    tmpl *t;
    size_t n;
    dg_tone *tone;
};

/* template.c: the variables a template may use. */
int dg_tmpl_known_var(void *ud, const char *name);
const tmpl *dg_tmpl_find(const dg_templates *t, const char *id);

#endif
