/* The template syntax: parse once at load, render many times. No code runs.
 *
 *   {{name}}            the variable's value (HTML-escaped in HTML parts)
 *   {{name|fallback}}   the value, or the literal fallback when it has none
 *   {{#name}}...{{/name}} the inside only when name has a value ("" and "0" do not count)
 *   {{^name}}...{{/name}} the inside only when name has no value
 *   {{! comment }}      removed
 * A section or comment tag alone on its line removes that whole line.
 * Names are [A-Za-z0-9_.]+; at parse time each is checked against the
 * caller's list of known variables. A variable with no value and no
 * fallback is a render error (a message with a hole is never sent).
 * Errors are one line: "FILE:LINE: what". Trees own their strings. */
#ifndef DG_CORE_TMPL_SYNTAX_H
#define DG_CORE_TMPL_SYNTAX_H

#include <stddef.h>

typedef struct dg_tnode dg_tnode;

/* A growable string; `oom` set when an append failed. */
typedef struct dg_sbuf {
    char *p;
    size_t n, cap;
    int oom;
} dg_sbuf;
void dg_sbuf_add(dg_sbuf *b, const char *s, size_t n);
void dg_sbuf_adds(dg_sbuf *b, const char *s);
/* Append s with & < > " ' escaped for HTML text and attributes. */
void dg_sbuf_add_html(dg_sbuf *b, const char *s);
/* Take the string (never NULL unless oom); the buffer is reset. */
char *dg_sbuf_take(dg_sbuf *b);

/* Returns 1 if `name` is a variable the caller can provide. */
typedef int (*dg_tmpl_known_fn)(void *ud, const char *name);
/* The value of `name`, or NULL when this message has none. */
typedef const char *(*dg_tmpl_get_fn)(void *ud, const char *name);

/* Parse src (file names the source in messages). Returns 0 and *out (NULL for
 * an empty source is never returned: an empty text node is), or DG_EINVAL. */
int dg_tmpl_parse(const char *src, const char *file, dg_tmpl_known_fn known, void *ud,
                  dg_tnode **out, char *err, size_t err_len);
void dg_tmpl_free(dg_tnode *n);

/* Render into out. html: escape values and fallbacks. Returns 0, DG_EINVAL
 * (a variable without value or fallback: "FILE:LINE: {{x}} has no value"),
 * or DG_ENOMEM. */
int dg_tmpl_render(const dg_tnode *n, const char *file, dg_tmpl_get_fn get, void *ud, int html,
                   dg_sbuf *out, char *err, size_t err_len);

/* The literal text of a template source, as the reader sees it: each tag
 * blanked with spaces except a variable's fallback text; newlines kept so
 * line numbers still match. Used by the tone lint. Caller frees. */
char *dg_tmpl_literal_view(const char *src);

/* Call fn for each variable a tree uses (sections included). */
void dg_tmpl_each_var(const dg_tnode *n, void (*fn)(void *ud, const char *name, int line),
                      void *ud);

#endif
