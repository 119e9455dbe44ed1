/*
 * The configuration's documentation cannot drift from the code: every key of the three
 * daemons' schemas (libstream/mediaconf.c and relayconf.c for spd and epd, smd/conf.c) —
 * group members and list-entry members as "group.key" — must appear
 *
 *   - in man/livecluster.conf.5 as an entry ".TP" / ".B KEY" whose text names the key's
 *     default and, for an integer, its range (each number as written in the schema), and
 *     no entry there may name a key the schemas do not have;
 *   - in docs/configuration.md and docs/interface.md as `KEY` (or, for a member, `MEMBER`).
 *
 * Lives with spd's tests because they link smd's objects too (the Makefile's UNIT_PEERS_spd);
 * runs from the repository root like every unit test.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "libstream/config.h"
#include "libstream/mediaconf.h"
#include "smd.h"

#define MAN_PAGE "man/livecluster.conf.5"

static const struct {
    const char *role;
    const struct ls_conf_key *schema;
} schemas[] = {
    { "smd", smd_schema },
    { "spd", ls_spd_schema },
    { "epd", ls_epd_schema },
};

static char *read_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    char *buf;
    long n;

    if (f == NULL)
        fail_msg("cannot open %s (unit tests run from the repository root)", path);
    assert_int_equal(fseek(f, 0, SEEK_END), 0);
    n = ftell(f);
    assert_true(n > 0);
    rewind(f);
    buf = malloc((size_t)n + 1);
    assert_non_null(buf);
    assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
    buf[n] = '\0';
    fclose(f);
    return buf;
}

/* The man page's entry of `key`: from its ".B key" line (right after ".TP") to the next
 * .TP, .SH or .SS; NULL when there is none. Sets *len. */
static const char *man_entry(const char *man, const char *key, size_t *len)
{
    char tag[200];
    const char *p = man, *end;

    snprintf(tag, sizeof tag, ".TP\n.B %s\n", key);
    while ((p = strstr(p, tag)) != NULL) {
        p += strlen(tag);
        for (end = p; *end != '\0'; end = strchr(end, '\n') + 1) {
            if (strncmp(end, ".TP", 3) == 0 || strncmp(end, ".SH", 3) == 0 ||
                strncmp(end, ".SS", 3) == 0 || strchr(end, '\n') == NULL)
                break;
        }
        *len = (size_t)(end - p);
        return p;
    }
    return NULL;
}

/* `n` written as a whole number in text[0..len) (not part of a longer one). */
static bool has_number(const char *text, size_t len, int64_t n)
{
    char want[32];
    size_t i = 0, wlen;

    wlen = (size_t)snprintf(want, sizeof want, "%lld", (long long)n);
    while (i < len) {
        if (text[i] >= '0' && text[i] <= '9') {
            size_t j = i;

            while (j < len && text[j] >= '0' && text[j] <= '9')
                j++;
            if (j - i == wlen && memcmp(text + i, want, wlen) == 0)
                return true;
            i = j;
        } else {
            i++;
        }
    }
    return false;
}

static bool has_text(const char *text, size_t len, const char *want, size_t wlen)
{
    size_t i;

    for (i = 0; i + wlen <= len; i++)
        if (memcmp(text + i, want, wlen) == 0)
            return true;
    return false;
}

static int problems;

static void problem(const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    problems++;
}

/* The entry states the key's default (and range). */
static void check_man_entry(const char *role, const char *path, const struct ls_conf_key *k,
                            const char *text, size_t len)
{
    const char *def = k->def;

    switch (k->type) {
    case LS_CONF_INT:
        if (!has_number(text, len, k->def_int))
            problem("%s: %s (%s): default %lld not in its entry", MAN_PAGE, path, role,
                    (long long)k->def_int);
        if ((k->min != 0 || k->max != 0) &&
            (!has_number(text, len, k->min) || !has_number(text, len, k->max)))
            problem("%s: %s (%s): range %lld-%lld not in its entry", MAN_PAGE, path, role,
                    (long long)k->min, (long long)k->max);
        break;
    case LS_CONF_BOOL:
        if (!has_text(text, len, k->def_int ? "true" : "false", k->def_int ? 4 : 5))
            problem("%s: %s (%s): default %s not in its entry", MAN_PAGE, path, role,
                    k->def_int ? "true" : "false");
        break;
    case LS_CONF_LOG_LEVEL:
        def = def != NULL ? def : "info";
        /* fall through */
    case LS_CONF_STRING:
    case LS_CONF_URL:
    case LS_CONF_LISTEN_ADDR:
    case LS_CONF_PEER_ADDR:
    case LS_CONF_CIDR_LIST:
        /* every word of the default (a CIDR list's networks one by one) */
        while (def != NULL && *def != '\0') {
            size_t w;

            def += strspn(def, " ");
            w = strcspn(def, " ");
            if (w > 0 && !has_text(text, len, def, w))
                problem("%s: %s (%s): default \"%.*s\" not in its entry", MAN_PAGE, path,
                        role, (int)w, def);
            def += w;
        }
        break;
    default:
        break;
    }
}

static void check_docs(const char *doc_name, const char *doc, const char *path,
                       const char *leaf)
{
    char a[200], b[200];

    snprintf(a, sizeof a, "`%s`", path);
    snprintf(b, sizeof b, "`%s`", leaf);
    if (strstr(doc, a) == NULL && strstr(doc, b) == NULL)
        problem("%s: %s is not mentioned (as %s)", doc_name, path, a);
}

struct docs {
    const char *man, *config_md, *interface_md;
};

static void walk(const struct docs *d, const char *role, const struct ls_conf_key *schema,
                 const char *prefix)
{
    const struct ls_conf_key *k;

    for (k = schema; k->name != NULL; k++) {
        char path[160];
        const char *text;
        size_t len = 0;

        snprintf(path, sizeof path, "%s%s%s", prefix, prefix[0] != '\0' ? "." : "", k->name);
        text = man_entry(d->man, path, &len);
        if (text == NULL)
            problem("%s: no entry \".TP\" \".B %s\" (%s)", MAN_PAGE, path, role);
        else
            check_man_entry(role, path, k, text, len);
        check_docs("docs/configuration.md", d->config_md, path, k->name);
        check_docs("docs/interface.md", d->interface_md, path, k->name);
        if (k->children != NULL)
            walk(d, role, k->children, path);
    }
}

static bool schema_has(const struct ls_conf_key *schema, const char *path)
{
    const struct ls_conf_key *k;
    size_t n;

    for (k = schema; k->name != NULL; k++) {
        n = strlen(k->name);
        if (strcmp(path, k->name) == 0)
            return true;
        if (k->children != NULL && strncmp(path, k->name, n) == 0 && path[n] == '.' &&
            schema_has(k->children, path + n + 1))
            return true;
    }
    return false;
}

static void test_every_key_documented(void **state)
{
    struct docs d;
    size_t i;

    (void)state;
    problems = 0;
    d.man = read_file(MAN_PAGE);
    d.config_md = read_file("docs/configuration.md");
    d.interface_md = read_file("docs/interface.md");
    for (i = 0; i < sizeof schemas / sizeof schemas[0]; i++)
        walk(&d, schemas[i].role, schemas[i].schema, "");
    free((char *)d.man);
    free((char *)d.config_md);
    free((char *)d.interface_md);
    assert_int_equal(problems, 0);
}

/* Every key entry of the man page's KEYS sections is a key of some schema. */
static void test_no_stale_man_entries(void **state)
{
    char *man = read_file(MAN_PAGE), *line, *save = NULL;
    bool in_keys = false, after_tp = false;
    int entries = 0;

    (void)state;
    problems = 0;
    for (line = strtok_r(man, "\n", &save); line != NULL; line = strtok_r(NULL, "\n", &save)) {
        if (strncmp(line, ".SH ", 4) == 0)
            in_keys = strncmp(line + 4, "KEYS", 4) == 0;
        if (in_keys && after_tp && strncmp(line, ".B ", 3) == 0) {
            size_t i;
            bool found = false;

            entries++;
            for (i = 0; i < sizeof schemas / sizeof schemas[0] && !found; i++)
                found = schema_has(schemas[i].schema, line + 3);
            if (!found)
                problem("%s: \"%s\" is no key of smd, spd or epd", MAN_PAGE, line + 3);
        }
        after_tp = strcmp(line, ".TP") == 0;
    }
    free(man);
    assert_true(entries > 50);
    assert_int_equal(problems, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_key_documented),
        cmocka_unit_test(test_no_stale_man_entries),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
