/* Scratch template directories for the template tests. */
#ifndef DG_TESTS_TDIR_H
#define DG_TESTS_TDIR_H

#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int tdir_rm_cb(const char *p, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    (void)ftw;
    return remove(p);
}

static void tdir_rm(const char *dir)
{
    nftw(dir, tdir_rm_cb, 16, FTW_DEPTH | FTW_PHYS);
}

/* Write dir/rel (creating parent directories). */
static void tdir_put(const char *dir, const char *rel, const char *text)
{
    char p[4096];
    FILE *f;
    snprintf(p, sizeof p, "%s/%s", dir, rel);
    for (char *s = p + strlen(dir) + 1; (s = strchr(s, '/')) != NULL; s++) {
        *s = '\0';
        mkdir(p, 0755);
        *s = '/';
    }
    f = fopen(p, "w");
    if (f) {
        fputs(text, f);
        fclose(f);
    }
}

/* A minimal valid template set: locales en (+ extra, e.g. "es"), one
 * template "t/one" with every part in each locale, lint rules from the
 * shipped en list plus the given extra rules. */
static char *tdir_make(const char *const *locales, size_t n)
{
    char tmpl[] = "/tmp/dg-tmpl-XXXXXX", manifest[512] = "{\n  \"locales\": [";
    char *dir = mkdtemp(tmpl) ? strdup(tmpl) : NULL;
    if (!dir)
        return NULL;
    for (size_t i = 0; i < n; i++) {
        char name[128];
        strcat(manifest, i ? ",\n    \"" : "\n    \"");
        strcat(manifest, locales[i]);
        strcat(manifest, "\"");
        snprintf(name, sizeof name, "t/one/sms.%s.txt", locales[i]);
        tdir_put(dir, name, "Hi {{customer.first_name}}, order {{order.name}}: {{pay_link}}\n");
        snprintf(name, sizeof name, "t/one/email.%s.subject", locales[i]);
        tdir_put(dir, name, "Order {{order.name}}\n");
        snprintf(name, sizeof name, "t/one/email.%s.txt", locales[i]);
        tdir_put(dir, name, "Hi {{customer.first_name}},\n{{order.items}}\n");
        snprintf(name, sizeof name, "t/one/email.%s.html", locales[i]);
        tdir_put(dir, name,
                 "<p>Hi {{customer.first_name}},</p>\n<p><a href=\"{{pay_link}}\">Pay</a></p>\n");
        snprintf(name, sizeof name, "t/one/whatsapp.%s.txt", locales[i]);
        tdir_put(dir, name, "Hi {{customer.first_name}}\n");
    }
    strcat(manifest, "\n  ],\n  \"default_locale\": \"en\"\n}\n");
    tdir_put(dir, "templates.json", manifest);
    tdir_put(dir, "lint/en.txt", "# test rules\nmust\nimmediately\nhurry\n");
    tdir_put(dir, "lint/all.txt", "caps-ok: STOP\n");
    return dir;
}

#endif
