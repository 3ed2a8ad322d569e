#include <stdlib.h>
#include <string.h>

#include "message.h"

void dg_rendered_clear(dg_rendered *r)
{
    if (!r)
        return;
    free(r->locale);
    free(r->text);
    free(r->subject);
    free(r->html);
    free(r->wa_template_name);
    free(r->wa_language);
    for (size_t i = 0; i < r->n_params; i++) {
        free((char *)r->params[i].name);
        free((char *)r->params[i].value);
    }
    free(r->params);
    for (size_t i = 0; i < r->n_buttons; i++)
        free((char *)r->buttons[i].value);
    free(r->buttons);
    memset(r, 0, sizeof *r);
}
