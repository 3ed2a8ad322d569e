/* plugins/whatsapp/wa_body.c writes request bodies straight into a buffer;
 * they must be byte for byte what cJSON_PrintUnformatted gives for the same
 * object (what the plugin sent before, and what the Cloud API docs show).
 * The oracle below builds that object with cJSON, member by member. Strings
 * carry quotes, backslashes, every control character, DEL and UTF-8. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "wa.h"

/* Template parameters fold \n \r \t and runs of spaces (wa_body.c). */
static char *folded(const char *v)
{
    size_t o = 0;
    char *s = malloc(strlen(v) + 1);
    int space = 0;
    for (; *v; v++) {
        char c = *v == '\n' || *v == '\r' || *v == '\t' ? ' ' : *v;
        if (c == ' ' && space)
            continue;
        space = c == ' ';
        s[o++] = c;
    }
    s[o] = '\0';
    return s;
}

static cJSON *oracle_envelope(const dg_outbound_message *m, const char *to, const char *type)
{
    cJSON *o = cJSON_CreateObject();
    char touch[32];
    cJSON_AddStringToObject(o, "messaging_product", "whatsapp");
    cJSON_AddStringToObject(o, "recipient_type", "individual");
    cJSON_AddStringToObject(o, "to", to);
    cJSON_AddStringToObject(o, "type", type);
    if (m->touch_id) {
        snprintf(touch, sizeof touch, "%lld", (long long)m->touch_id);
        cJSON_AddStringToObject(o, "biz_opaque_callback_data", touch);
    }
    return o;
}

static char *oracle_template(const dg_outbound_message *m, const char *to, const char *lang)
{
    cJSON *o = oracle_envelope(m, to, "template"), *t, *comps;
    char *s;
    t = cJSON_AddObjectToObject(o, "template");
    cJSON_AddStringToObject(t, "name", m->template_name);
    cJSON_AddStringToObject(cJSON_AddObjectToObject(t, "language"), "code", lang);
    comps = cJSON_AddArrayToObject(t, "components");
    if (m->n_params) {
        cJSON *body = cJSON_CreateObject(), *arr;
        cJSON_AddStringToObject(body, "type", "body");
        cJSON_AddItemToArray(comps, body);
        arr = cJSON_AddArrayToObject(body, "parameters");
        for (size_t i = 0; i < m->n_params; i++) {
            cJSON *po = cJSON_CreateObject();
            char *v = folded(m->params[i].value);
            cJSON_AddStringToObject(po, "type", "text");
            if (m->params[i].name)
                cJSON_AddStringToObject(po, "parameter_name", m->params[i].name);
            cJSON_AddStringToObject(po, "text", v);
            free(v);
            cJSON_AddItemToArray(arr, po);
        }
    }
    for (size_t i = 0; i < m->n_buttons; i++) {
        const dg_template_button *b = &m->buttons[i];
        cJSON *c = cJSON_CreateObject(), *p = cJSON_CreateObject();
        cJSON_AddStringToObject(c, "type", "button");
        cJSON_AddStringToObject(c, "sub_type", b->kind == DG_BUTTON_URL ? "url" : "quick_reply");
        cJSON_AddNumberToObject(c, "index", b->index);
        cJSON_AddStringToObject(p, "type", b->kind == DG_BUTTON_URL ? "text" : "payload");
        cJSON_AddStringToObject(p, b->kind == DG_BUTTON_URL ? "text" : "payload", b->value);
        cJSON_AddItemToArray(cJSON_AddArrayToObject(c, "parameters"), p);
        cJSON_AddItemToArray(comps, c);
    }
    s = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    return s;
}

static char *oracle_text(const dg_outbound_message *m, const char *to)
{
    cJSON *o = oracle_envelope(m, to, "text"), *t;
    char *s;
    t = cJSON_AddObjectToObject(o, "text");
    cJSON_AddBoolToObject(t, "preview_url", 0);
    cJSON_AddStringToObject(t, "body", m->text);
    s = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    return s;
}

static void same(const char *got, char *want)
{
    if (strcmp(got, want))
        fprintf(stderr, "got:  %s\nwant: %s\n", got, want);
    assert_string_equal(got, want);
    free(want);
}

static char nasty[160];

static void make_nasty(void)
{
    size_t o = 0;
    for (int c = 1; c < 32; c++)
        nasty[o++] = (char)c;
    snprintf(nasty + o, sizeof nasty - o, "%s",
             " \"q\" \\b\\ /  x\x7f caf\xc3\xa9 \xe2\x82\xac  end");
}

static void template_shapes(void **state)
{
    dg_template_param pos[3], named[2];
    dg_template_button bt[3];
    dg_outbound_message m;
    char *got, err[200];
    (void)state;
    make_nasty();
    memset(pos, 0, sizeof pos);
    memset(named, 0, sizeof named);
    memset(bt, 0, sizeof bt);
    pos[0].value = "Ana";
    pos[1].value = nasty;
    pos[2].value = "1.234,56\xc2\xa0\xe2\x82\xac";
    named[0].name = "first_name";
    named[0].value = "D\"an\\";
    named[1].name = "amount";
    named[1].value = "$12.00\n\n(incl. tax)";
    bt[0].kind = DG_BUTTON_URL;
    bt[0].index = 0;
    bt[0].value = "pay/abc?x=1&y=\"2\"";
    bt[1].kind = DG_BUTTON_QUICK_REPLY;
    bt[1].index = 1;
    bt[1].value = "PAID:c42";
    bt[2].kind = DG_BUTTON_QUICK_REPLY;
    bt[2].index = 2;
    bt[2].value = nasty;
    for (int shape = 0; shape < 6; shape++) {
        DG_INIT(&m);
        m.touch_id = shape == 3 ? 0 : 4242 + shape;
        m.template_name = shape == 4 ? "name \"with\" quotes" : "balance_due";
        m.template_language = shape == 5 ? NULL : "pt-BR";
        m.locale = "en-US";
        m.params = shape == 1 ? named : pos;
        m.n_params = shape == 2 ? 0 : shape == 1 ? 2 : 3;
        m.buttons = bt;
        m.n_buttons = shape == 0 ? 0 : shape == 2 ? 3 : 2;
        assert_int_equal(wa_body_template(&m, "5511999990000", &got, err, sizeof err), 0);
        same(got, oracle_template(&m, "5511999990000", shape == 5 ? "en_US" : "pt_BR"));
        free(got);
    }
    /* refused shapes stay refused */
    DG_INIT(&m);
    m.template_name = "t";
    m.locale = "en";
    named[1].name = NULL; /* mixed */
    m.params = named;
    m.n_params = 2;
    assert_int_equal(wa_body_template(&m, "1", &got, err, sizeof err), DG_EINVAL);
    assert_null(got);
    bt[0].index = -1;
    m.n_params = 0;
    m.buttons = bt;
    m.n_buttons = 1;
    assert_int_equal(wa_body_template(&m, "1", &got, err, sizeof err), DG_EINVAL);
    assert_null(got);
}

static void text_bodies(void **state)
{
    dg_outbound_message m;
    char *got, err[200];
    (void)state;
    make_nasty();
    DG_INIT(&m);
    m.touch_id = 7;
    m.text = nasty;
    assert_int_equal(wa_body_text(&m, "14155550123", &got, err, sizeof err), 0);
    same(got, oracle_text(&m, "14155550123"));
    free(got);
    m.touch_id = 0;
    m.text = "Hi Ana,\nyour balance of $12.00 is due.\tThanks!";
    assert_int_equal(wa_body_text(&m, "14155550123", &got, err, sizeof err), 0);
    same(got, oracle_text(&m, "14155550123"));
    free(got);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(template_shapes),
        cmocka_unit_test(text_bodies),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
