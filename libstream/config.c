/*
 * config.c — schema-driven libconfig loading (see config.h); address, network and URL
 * values are checked with addr.h's grammar. Layer: daemon plumbing. Syntax: libconfig 1.5
 * ("key = value;", groups "{ }", lists "( )", arrays "[ ]"); semantics: docs/interface.md
 * "Configuration".
 *
 * The loader walks the *file's* settings in file order and looks each one up in the
 * schema, rather than the other way round, so that every key in the file is accounted for
 * (unknown keys are errors, not silently ignored typos) and the first error reported is the
 * first one an operator reading the file would meet.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <libconfig.h>

#include "libstream/config.h"
#include "libstream/log.h"

/* ---- loader ------------------------------------------------------------------------- */

struct loader {
    const char *name; /* FILE in messages */
    char *err;
    size_t errlen;
};

static int fail_at(const struct loader *L, const char *file, int line, const char *fmt, ...)
    LS_PRINTF(4, 5);

static int fail_at(const struct loader *L, const char *file, int line, const char *fmt, ...)
{
    va_list ap;
    int n;

    if (L->err == NULL || L->errlen == 0)
        return LS_ECONF;
    n = snprintf(L->err, L->errlen, "%s:%d: ", file != NULL ? file : L->name, line);
    if (n >= 0 && (size_t)n < L->errlen) {
        va_start(ap, fmt);
        vsnprintf(L->err + n, L->errlen - (size_t)n, fmt, ap);
        va_end(ap);
    }
    return LS_ECONF;
}

#define FAIL(L, s, ...) \
    fail_at((L), config_setting_source_file(s), (int)config_setting_source_line(s), __VA_ARGS__)

/* A file value fit for a one-line message: '"' and control bytes escaped, cut at 64. */
const char *ls_config_quote(const char *s, char *out, size_t cap)
{
    size_t o = 0, i;

    for (i = 0; s[i] != '\0' && o + 8 < cap; i++) {
        unsigned char c = (unsigned char)s[i];

        if (i == 64) {
            memcpy(out + o, "...", 3);
            o += 3;
            break;
        }
        if (c < 0x20 || c == 0x7f || c == '"' || c == '\\')
            o += (size_t)snprintf(out + o, cap - o, "\\x%02x", c);
        else
            out[o++] = (char)c;
    }
    out[o] = '\0';
    return out;
}

static void *field(void *base, const struct ls_conf_key *k) { return (char *)base + k->offset; }

static void zero_fields(const struct ls_conf_key *schema, void *base)
{
    const struct ls_conf_key *k;

    for (k = schema; k->name != NULL; k++) {
        void *f = field(base, k);

        switch (k->type) {
        case LS_CONF_STRING:
        case LS_CONF_URL: *(char **)f = NULL; break;
        case LS_CONF_INT: *(int64_t *)f = 0; break;
        case LS_CONF_BOOL: *(bool *)f = false; break;
        case LS_CONF_LOG_LEVEL: *(int *)f = 0; break;
        case LS_CONF_LISTEN_ADDR:
        case LS_CONF_PEER_ADDR: memset(f, 0, sizeof(struct ls_addr)); break;
        case LS_CONF_ADDR_LIST: memset(f, 0, sizeof(struct ls_addr_list)); break;
        case LS_CONF_CIDR_LIST: memset(f, 0, sizeof(struct ls_cidr_list)); break;
        case LS_CONF_GROUP_LIST: memset(f, 0, sizeof(struct ls_conf_list)); break;
        case LS_CONF_GROUP:
            if (k->children != NULL)
                zero_fields(k->children, f);
            break;
        }
    }
}

/* Frees a GROUP_LIST value: each element's own fields, then the array. */
static void group_list_free(const struct ls_conf_key *k, struct ls_conf_list *l)
{
    size_t i;

    for (i = 0; i < l->n && k->children != NULL; i++)
        ls_config_free(k->children, (char *)l->v + i * k->elem_size);
    free(l->v);
    memset(l, 0, sizeof *l);
}

void ls_config_free(const struct ls_conf_key *schema, void *conf)
{
    const struct ls_conf_key *k;

    for (k = schema; k->name != NULL; k++) {
        void *f = field(conf, k);

        switch (k->type) {
        case LS_CONF_STRING:
        case LS_CONF_URL:
            free(*(char **)f);
            *(char **)f = NULL;
            break;
        case LS_CONF_ADDR_LIST:
            free(((struct ls_addr_list *)f)->v);
            memset(f, 0, sizeof(struct ls_addr_list));
            break;
        case LS_CONF_CIDR_LIST:
            free(((struct ls_cidr_list *)f)->v);
            memset(f, 0, sizeof(struct ls_cidr_list));
            break;
        case LS_CONF_GROUP:
            if (k->children != NULL)
                ls_config_free(k->children, f);
            break;
        case LS_CONF_GROUP_LIST:
            group_list_free(k, f);
            break;
        default:
            break;
        }
    }
}

static int set_string(char **slot, const char *value)
{
    char *copy = strdup(value);

    if (copy == NULL)
        return LS_ENOMEM;
    free(*slot);
    *slot = copy;
    return LS_OK;
}

/* A CIDR list's default: `def` holds networks separated by spaces (NULL or "" = empty).
 * A network that does not parse is a schema bug (LS_ECONF). */
static int set_cidr_default(struct ls_cidr_list *l, const char *def)
{
    char net[64];
    size_t n = 0, i = 0, len;
    const char *p;

    memset(l, 0, sizeof *l);
    for (p = def != NULL ? def : ""; *p != '\0'; p += len) {
        p += strspn(p, " ");
        len = strcspn(p, " ");
        n += len > 0;
    }
    if (n == 0)
        return LS_OK;
    if (n > LS_CONF_LIST_MAX || (l->v = calloc(n, sizeof *l->v)) == NULL)
        return n > LS_CONF_LIST_MAX ? LS_ECONF : LS_ENOMEM;
    l->n = n;
    for (p = def; *p != '\0' && i < n; p += len) {
        p += strspn(p, " ");
        len = strcspn(p, " ");
        if (len == 0)
            continue;
        if (len >= sizeof net)
            return LS_ECONF;
        memcpy(net, p, len);
        net[len] = '\0';
        if (ls_cidr_parse(net, &l->v[i++], NULL) != LS_OK)
            return LS_ECONF;
    }
    return LS_OK;
}

static int set_defaults(const struct ls_conf_key *schema, void *base, int depth)
{
    const struct ls_conf_key *k;
    int rc = LS_OK;

    if (depth > LS_CONF_DEPTH_MAX)
        return LS_ECONF;
    for (k = schema; k->name != NULL && rc == LS_OK; k++) {
        void *f = field(base, k);
        const char *def = k->def != NULL ? k->def : "";

        switch (k->type) {
        case LS_CONF_URL:
            if (ls_addr_url_check(def, NULL) != LS_OK) {
                rc = LS_ECONF;
                break;
            }
            /* fall through */
        case LS_CONF_STRING:
            if (k->flags & LS_CONF_DEFAULT_HOSTNAME) {
                char host[256];

                /* gethostname() need not terminate a truncated name */
                if (gethostname(host, sizeof host - 1) == -1)
                    strcpy(host, "localhost");
                host[sizeof host - 1] = '\0';
                rc = set_string((char **)f, host);
                break;
            }
            rc = set_string((char **)f, def);
            break;
        case LS_CONF_INT:
            if ((k->min != 0 || k->max != 0) && (k->def_int < k->min || k->def_int > k->max))
                rc = LS_ECONF;
            *(int64_t *)f = k->def_int;
            break;
        case LS_CONF_BOOL:
            *(bool *)f = k->def_int != 0;
            break;
        case LS_CONF_LOG_LEVEL:
            if (ls_log_parse_level(k->def != NULL ? k->def : "info", (int *)f) != LS_OK)
                rc = LS_ECONF;
            break;
        case LS_CONF_LISTEN_ADDR:
        case LS_CONF_PEER_ADDR:
            memset(f, 0, sizeof(struct ls_addr));
            if (def[0] != '\0' &&
                ls_addr_parse(def, k->type == LS_CONF_LISTEN_ADDR, f) != LS_OK)
                rc = LS_ECONF;
            break;
        case LS_CONF_ADDR_LIST:
            break; /* zeroed: empty */
        case LS_CONF_GROUP_LIST:
            /* zeroed: empty; the element schema's defaults must hold (checked here once) */
            rc = k->children != NULL && k->elem_size > 0 ? LS_OK : LS_ECONF;
            break;
        case LS_CONF_CIDR_LIST:
            rc = set_cidr_default(f, k->def);
            break;
        case LS_CONF_GROUP:
            rc = k->children != NULL ? set_defaults(k->children, f, depth + 1) : LS_ECONF;
            break;
        default:
            rc = LS_ECONF;
            break;
        }
    }
    return rc;
}

int ls_config_defaults(const struct ls_conf_key *schema, void *out)
{
    int rc;

    zero_fields(schema, out);
    rc = set_defaults(schema, out, 0);
    if (rc != LS_OK) {
        ls_config_free(schema, out);
        zero_fields(schema, out);
    }
    return rc;
}

static const struct ls_conf_key *find_key(const struct ls_conf_key *schema, const char *name)
{
    for (; schema->name != NULL; schema++)
        if (strcmp(schema->name, name) == 0)
            return schema;
    return NULL;
}

static int load_group(const struct loader *L, const config_setting_t *group,
                      const struct ls_conf_key *schema, void *base, const char *prefix);

static const char *string_value(const config_setting_t *s)
{
    return config_setting_type(s) == CONFIG_TYPE_STRING ? config_setting_get_string(s) : NULL;
}

static bool numeric_host(const char *host)
{
    unsigned char buf[sizeof(struct in6_addr)];

    return inet_pton(AF_INET, host, buf) == 1 || inet_pton(AF_INET6, host, buf) == 1;
}

static int load_list(const struct loader *L, const config_setting_t *s,
                     const struct ls_conf_key *k, void *f, const char *path)
{
    bool cidr = k->type == LS_CONF_CIDR_LIST;
    /* A preference list may be written as its one entry, without the parentheses. */
    bool one = !cidr && (k->flags & LS_CONF_PREFERENCE) != 0 &&
               config_setting_type(s) == CONFIG_TYPE_STRING;
    const char *what = cidr ? "'%s' must be a list of network strings (\"10.0.0.0/8\")"
                       : (k->flags & LS_CONF_PREFERENCE) != 0
                           ? "'%s' must be a \"host:port\" string or a list of them"
                           : "'%s' must be a list of \"host:port\" strings";
    char q[300];
    unsigned n, i, j;
    void *v = NULL;
    size_t elem = cidr ? sizeof(struct ls_cidr) : sizeof(struct ls_addr);

    if (!one && config_setting_type(s) != CONFIG_TYPE_LIST &&
        config_setting_type(s) != CONFIG_TYPE_ARRAY)
        return FAIL(L, s, what, path);
    n = one ? 1 : (unsigned)config_setting_length(s);
    if (n > LS_CONF_LIST_MAX)
        return FAIL(L, s, "'%s' has more than %d entries", path, LS_CONF_LIST_MAX);
    if (n == 0 && (k->flags & LS_CONF_PREFERENCE) != 0)
        return FAIL(L, s, "'%s' must name at least one address", path);
    if (n > 0 && (v = calloc(n, elem)) == NULL)
        return LS_ENOMEM;
    for (i = 0; i < n; i++) {
        const config_setting_t *e = one ? s : config_setting_get_elem(s, i);
        const char *text = string_value(e);
        const char *why = "";
        int rc;

        if (text == NULL) {
            free(v);
            return FAIL(L, e, what, path);
        }
        if (cidr) {
            rc = ls_cidr_parse(text, (struct ls_cidr *)v + i, &why);
        } else {
            rc = ls_addr_parse_why(text, false, (struct ls_addr *)v + i, &why);
            if (rc == LS_OK && (k->flags & LS_CONF_NUMERIC) != 0 &&
                !numeric_host(((struct ls_addr *)v + i)->host)) {
                rc = LS_EINVAL;
                why = "the host must be a numeric IP address";
            }
        }
        if (rc != LS_OK) {
            free(v);
            return FAIL(L, e, "'%s': bad %s \"%s\": %s", path, cidr ? "network" : "address",
                        ls_config_quote(text, q, sizeof q), why);
        }
        for (j = 0; !cidr && (k->flags & LS_CONF_PREFERENCE) != 0 && j < i; j++) {
            const struct ls_addr *a = (struct ls_addr *)v + i, *b = (struct ls_addr *)v + j;

            if (a->port == b->port && strcasecmp(a->host, b->host) == 0) {
                free(v);
                return FAIL(L, e, "'%s': \"%s\" is listed twice", path,
                            ls_config_quote(text, q, sizeof q));
            }
        }
    }
    if (cidr) {
        struct ls_cidr_list *l = f;

        free(l->v);
        l->v = v;
        l->n = n;
    } else {
        struct ls_addr_list *l = f;

        free(l->v);
        l->v = v;
        l->n = n;
    }
    return LS_OK;
}

/*
 * A list of groups: `key = ( { ... }, { ... } );`. Each element starts from the element
 * schema's defaults, is loaded like a group (paths "key[i].child"), and is checked by the
 * key's `check` against the elements before it, so a duplicate is reported at its own
 * line. On failure nothing is kept (the elements loaded so far are freed).
 */
static int load_group_list(const struct loader *L, const config_setting_t *s,
                           const struct ls_conf_key *k, void *f, const char *path)
{
    struct ls_conf_list l = { NULL, 0 };
    char epath[300], why[256];
    unsigned n, i;
    int rc = LS_OK;

    if (config_setting_type(s) != CONFIG_TYPE_LIST)
        return FAIL(L, s, "'%s' must be a list of groups: %s = ( { ... }, ... );", path,
                    k->name);
    n = (unsigned)config_setting_length(s);
    if (n > LS_CONF_LIST_MAX)
        return FAIL(L, s, "'%s' has more than %d entries", path, LS_CONF_LIST_MAX);
    if (n > 0 && (l.v = calloc(n, k->elem_size)) == NULL)
        return LS_ENOMEM;
    for (i = 0; i < n && rc == LS_OK; i++) {
        const config_setting_t *e = config_setting_get_elem(s, i);
        void *elem = (char *)l.v + (size_t)i * k->elem_size;
        const char *key = NULL;

        snprintf(epath, sizeof epath, "%.255s[%u]", path, i);
        if (config_setting_type(e) != CONFIG_TYPE_GROUP) {
            rc = FAIL(L, e, "'%s' must be a group: { ... }", epath);
            break;
        }
        rc = ls_config_defaults(k->children, elem);
        if (rc == LS_ECONF)
            rc = FAIL(L, e, "internal error: a schema default does not validate");
        if (rc != LS_OK)
            break;
        l.n = i + 1;
        rc = load_group(L, e, k->children, elem, epath);
        if (rc == LS_OK && k->elem_check != NULL) {
            why[0] = '\0';
            if (k->elem_check(l.v, i, &key, why, sizeof why) != LS_OK) {
                const config_setting_t *at =
                    key != NULL ? config_setting_get_member(e, key) : NULL;

                rc = FAIL(L, at != NULL ? at : e, "'%s%s%s': %s", epath, key != NULL ? "." : "",
                          key != NULL ? key : "", why);
            }
        }
    }
    if (rc != LS_OK) {
        group_list_free(k, &l);
        return rc;
    }
    group_list_free(k, f);
    *(struct ls_conf_list *)f = l;
    return LS_OK;
}

static int load_value(const struct loader *L, const config_setting_t *s,
                      const struct ls_conf_key *k, void *f, const char *path)
{
    const char *text = string_value(s);
    const char *why = "";
    char q[300];
    int type = config_setting_type(s);

    switch (k->type) {
    case LS_CONF_STRING:
    case LS_CONF_URL:
        if (text == NULL)
            return FAIL(L, s, "'%s' must be a string", path);
        if (strlen(text) > LS_CONF_STRING_MAX)
            return FAIL(L, s, "'%s' is longer than %d bytes", path, LS_CONF_STRING_MAX);
        if (k->type == LS_CONF_URL && ls_addr_url_check(text, &why) != LS_OK)
            return FAIL(L, s, "'%s': bad URL \"%s\": %s", path,
                        ls_config_quote(text, q, sizeof q), why);
        if ((k->flags & LS_CONF_DIRECTORY) != 0 && text[0] != '\0') {
            struct stat st;

            if (stat(text, &st) == -1)
                return FAIL(L, s, "'%s': \"%s\": %s", path, ls_config_quote(text, q, sizeof q),
                            strerror(errno));
            if (!S_ISDIR(st.st_mode))
                return FAIL(L, s, "'%s': \"%s\" is not a directory", path,
                            ls_config_quote(text, q, sizeof q));
        }
        return set_string((char **)f, text);
    case LS_CONF_INT: {
        long long v;

        if (type != CONFIG_TYPE_INT && type != CONFIG_TYPE_INT64)
            return FAIL(L, s, "'%s' must be an integer", path);
        v = config_setting_get_int64(s);
        if ((k->min != 0 || k->max != 0) && (v < k->min || v > k->max))
            return FAIL(L, s, "'%s' must be between %lld and %lld", path, (long long)k->min,
                        (long long)k->max);
        *(int64_t *)f = v;
        return LS_OK;
    }
    case LS_CONF_BOOL:
        if (type != CONFIG_TYPE_BOOL)
            return FAIL(L, s, "'%s' must be true or false", path);
        *(bool *)f = config_setting_get_bool(s) != 0;
        return LS_OK;
    case LS_CONF_LOG_LEVEL:
        if (text == NULL || ls_log_parse_level(text, (int *)f) != LS_OK)
            return FAIL(L, s,
                        "'%s' must be one of \"debug\", \"info\", \"notice\", \"warning\", "
                        "\"error\"",
                        path);
        return LS_OK;
    case LS_CONF_LISTEN_ADDR:
    case LS_CONF_PEER_ADDR: {
        struct ls_addr a;

        if (text == NULL)
            return FAIL(L, s, "'%s' must be a \"host:port\" string", path);
        memset(&a, 0, sizeof a);
        if (text[0] != '\0' &&
            ls_addr_parse_why(text, k->type == LS_CONF_LISTEN_ADDR, &a, &why) != LS_OK)
            return FAIL(L, s, "'%s': bad address \"%s\": %s", path,
                        ls_config_quote(text, q, sizeof q), why);
        *(struct ls_addr *)f = a;
        return LS_OK;
    }
    case LS_CONF_ADDR_LIST:
    case LS_CONF_CIDR_LIST:
        return load_list(L, s, k, f, path);
    case LS_CONF_GROUP:
        if (type != CONFIG_TYPE_GROUP)
            return FAIL(L, s, "'%s' must be a group: %s = { ... };", path, k->name);
        return load_group(L, s, k->children, f, path);
    case LS_CONF_GROUP_LIST:
        return load_group_list(L, s, k, f, path);
    }
    return FAIL(L, s, "'%s' has an unknown schema type", path);
}

static int load_group(const struct loader *L, const config_setting_t *group,
                      const struct ls_conf_key *schema, void *base, const char *prefix)
{
    const struct ls_conf_key *k;
    char path[256];
    int i, n, rc;

    n = config_setting_length(group);
    for (i = 0; i < n; i++) {
        const config_setting_t *s = config_setting_get_elem(group, (unsigned)i);
        const char *name = config_setting_name(s);

        snprintf(path, sizeof path, "%s%s%s", prefix, prefix[0] != '\0' ? "." : "",
                 name != NULL ? name : "?");
        k = name != NULL ? find_key(schema, name) : NULL;
        if (k == NULL)
            return FAIL(L, s, "unknown key '%s'", path);
        rc = load_value(L, s, k, field(base, k), path);
        if (rc != LS_OK)
            return rc;
    }
    for (k = schema; k->name != NULL; k++) {
        if ((k->flags & LS_CONF_REQUIRED) && config_setting_get_member(group, k->name) == NULL) {
            snprintf(path, sizeof path, "%s%s%s", prefix, prefix[0] != '\0' ? "." : "",
                     k->name);
            return FAIL(L, group, "missing required key '%s'", path);
        }
    }
    /* Checks see the whole group (a key may need a sibling set later in the file). */
    for (i = 0; i < n; i++) {
        const config_setting_t *s = config_setting_get_elem(group, (unsigned)i);
        const char *name = config_setting_name(s);
        char why[384];

        k = find_key(schema, name);
        if (k->check == NULL)
            continue;
        why[0] = '\0';
        if (k->check(base, why, sizeof why) != LS_OK) {
            snprintf(path, sizeof path, "%s%s%s", prefix, prefix[0] != '\0' ? "." : "", name);
            return FAIL(L, s, "'%s': %s", path, why[0] != '\0' ? why : "invalid");
        }
    }
    return LS_OK;
}

/*
 * libconfig 1.5 stores an integer literal without an 'L' suffix in a C int, silently
 * wrapping anything beyond 32 bits ("max_bytes = 5000000000;" loads as 705032704). This
 * scan of the text (outside strings and comments) finds such literals so they are refused
 * with a hint instead of loaded wrapped. Runs only on text libconfig has parsed already.
 * Files pulled in with @include are not scanned.
 */
static int check_int_literals(const struct loader *L, const char *p)
{
    int line = 1;

    while (*p != '\0') {
        unsigned char c = (unsigned char)*p;

        if (c == '\n') {
            line++;
            p++;
        } else if (c == '"') {
            for (p++; *p != '\0' && *p != '"'; p++) {
                if (*p == '\\' && p[1] != '\0')
                    p++;
                if (*p == '\n')
                    line++;
            }
            if (*p != '\0')
                p++;
        } else if (c == '#' || (c == '/' && p[1] == '/')) {
            while (*p != '\0' && *p != '\n')
                p++;
        } else if (c == '/' && p[1] == '*') {
            for (p += 2; *p != '\0' && !(p[0] == '*' && p[1] == '/'); p++)
                if (*p == '\n')
                    line++;
            if (*p != '\0')
                p += 2;
        } else if (isalpha(c) || c == '*' || c == '@' || c == '_') {
            /* a setting name, true/false, @include: may contain digits and '-' */
            for (p++; isalnum((unsigned char)*p) || *p == '_' || *p == '-' || *p == '*'; p++)
                ;
        } else if (isdigit(c) || ((c == '-' || c == '+') && isdigit((unsigned char)p[1]))) {
            const char *start = p, *digits = isdigit(c) ? p : p + 1;
            bool hex = digits[0] == '0' && (digits[1] == 'x' || digits[1] == 'X');
            bool is_float = false, wide = false;
            char tok[72], *end;
            size_t n;
            long long v;

            for (p++; isalnum((unsigned char)*p) || *p == '.' ||
                      (!hex && (*p == '+' || *p == '-') && (p[-1] == 'e' || p[-1] == 'E'));
                 p++)
                if (*p == '.' || (!hex && (*p == 'e' || *p == 'E')))
                    is_float = true;
            n = (size_t)(p - start);
            if (is_float)
                continue;
            if (n >= sizeof tok)
                return fail_at(L, NULL, line, "integer %.20s... is out of range", start);
            memcpy(tok, start, n);
            tok[n] = '\0';
            while (n > 0 && (tok[n - 1] == 'L' || tok[n - 1] == 'l')) {
                tok[--n] = '\0';
                wide = true;
            }
            errno = 0;
            v = strtoll(tok, &end, hex ? 16 : 10);
            if (*end != '\0')
                continue; /* not a plain integer; libconfig judged it already */
            if (errno == ERANGE)
                return fail_at(L, NULL, line, "integer %s is out of range", tok);
            if (!wide && (hex ? (v < 0 || v > 0x7fffffff) : (v < INT32_MIN || v > INT32_MAX)))
                return fail_at(L, NULL, line,
                               "integer %s does not fit in 32 bits: write %sL for a 64-bit "
                               "value",
                               tok, tok);
        } else {
            p++;
        }
    }
    return LS_OK;
}

/* Fills *out from libconfig text (or reports the parse error). */
static int load_text(const struct loader *L, const char *text, const struct ls_conf_key *schema,
                     void *out)
{
    config_t cfg;
    int rc;

    config_init(&cfg);
    if (config_read_string(&cfg, text) != CONFIG_TRUE) {
        rc = fail_at(L, config_error_file(&cfg), config_error_line(&cfg), "%s",
                     config_error_text(&cfg) != NULL ? config_error_text(&cfg) : "parse error");
        goto fail;
    }
    rc = check_int_literals(L, text);
    if (rc != LS_OK)
        goto fail;
    rc = ls_config_defaults(schema, out);
    if (rc == LS_ECONF)
        rc = fail_at(L, NULL, 0, "internal error: a schema default does not validate");
    if (rc != LS_OK)
        goto fail;
    rc = load_group(L, config_root_setting(&cfg), schema, out, "");
    if (rc != LS_OK)
        ls_config_free(schema, out);
fail:
    if (rc != LS_OK)
        zero_fields(schema, out);
    config_destroy(&cfg);
    return rc;
}

/* Largest config file read. */
#define CONF_FILE_MAX (1024 * 1024)

int ls_config_load(const char *path, const struct ls_conf_key *schema, void *out, char *err,
                   size_t errlen)
{
    struct loader L = { path, err, errlen };
    struct stat st;
    char *text = NULL;
    size_t len;
    FILE *f;
    int rc;

    f = fopen(path, "r");
    if (f == NULL) {
        rc = fail_at(&L, NULL, 0, "cannot open: %s", strerror(errno));
        goto early;
    }
    if (fstat(fileno(f), &st) == -1) {
        rc = fail_at(&L, NULL, 0, "cannot open: %s", strerror(errno));
        goto early;
    }
    if (S_ISDIR(st.st_mode)) {
        rc = fail_at(&L, NULL, 0, "cannot open: %s", strerror(EISDIR));
        goto early;
    }
    text = malloc(CONF_FILE_MAX + 1);
    if (text == NULL) {
        rc = LS_ENOMEM;
        goto early;
    }
    len = fread(text, 1, CONF_FILE_MAX + 1, f);
    if (ferror(f)) {
        rc = fail_at(&L, NULL, 0, "cannot read: %s", strerror(errno));
        goto early;
    }
    if (len > CONF_FILE_MAX) {
        rc = fail_at(&L, NULL, 0, "file is larger than %d bytes", CONF_FILE_MAX);
        goto early;
    }
    if (memchr(text, '\0', len) != NULL) {
        rc = fail_at(&L, NULL, 0, "file contains a NUL byte");
        goto early;
    }
    text[len] = '\0';
    rc = load_text(&L, text, schema, out); /* zeroes *out itself on failure */
    goto done;
early:
    zero_fields(schema, out);
done:
    free(text);
    if (f != NULL)
        fclose(f);
    return rc;
}

int ls_config_load_string(const char *text, const char *name, const struct ls_conf_key *schema,
                          void *out, char *err, size_t errlen)
{
    struct loader L = { name, err, errlen };

    return load_text(&L, text, schema, out);
}
