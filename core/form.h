/* application/x-www-form-urlencoded parsing (request bodies and query
 * strings): '+' is a space, %XX decoded, pairs kept in order, repeated names
 * kept. Owned by the caller; free with dg_form_free. */
#ifndef DG_CORE_FORM_H
#define DG_CORE_FORM_H

#include <stddef.h>

#include <duegate/host.h>

/* NULL on malformed escapes (%G1, truncated %) or no memory. */
dg_form *dg_form_parse(const char *data, size_t len);
size_t dg_form_count(const dg_form *f);
const char *dg_form_name(const dg_form *f, size_t i);
const char *dg_form_value(const dg_form *f, size_t i);
const char *dg_form_get(const dg_form *f, const char *name);
void dg_form_free(dg_form *f);

/* Percent-encode s for a form body / query (RFC 3986 unreserved kept, space
 * as %20). Returns a malloc'd string or NULL. */
char *dg_url_encode(const char *s);

#endif
