/*
 * httprange.c — the HTTP Range header (see httprange.h). Pure codec layer.
 * RFC 9110 §14.1.1 (grammar), §14.1.2 (byte ranges), §14.2 (Range), §5.6.1 (lists):
 *
 *   Range        = range-unit "=" range-set
 *   range-set    = 1#range-spec            ; elements separated by OWS "," OWS
 *   range-spec   = first-pos "-" [ last-pos ] / "-" suffix-length
 *
 * The whole value is checked before anything is chosen, so a syntax error anywhere
 * means "ignore the header", never "serve part of what was asked".
 */
#include <stdbool.h>
#include <stddef.h>
#include <strings.h>

#include "libstream/httprange.h"

static bool is_ows(char c)
{
    return c == ' ' || c == '\t';
}

/* Reads 1..LS_HTTP_RANGE_MAX_DIGITS decimal digits at *p. */
static bool read_number(const char **p, uint64_t *out)
{
    const char *s = *p;
    uint64_t v = 0;
    int n = 0;

    while (*s >= '0' && *s <= '9') {
        if (++n > LS_HTTP_RANGE_MAX_DIGITS)
            return false; /* 19 digits always fit in 64 bits */
        v = v * 10 + (uint64_t)(*s - '0');
        s++;
    }
    if (n == 0)
        return false;
    *p = s;
    *out = v;
    return true;
}

struct range_spec {
    bool suffix;         /* "-N" */
    bool open;           /* "N-" */
    uint64_t a, b;       /* first/last, or the suffix length in a */
};

/* One range-spec at *p; false on a syntax error. */
static bool read_spec(const char **p, struct range_spec *r)
{
    const char *s = *p;

    r->suffix = r->open = false;
    r->a = r->b = 0;
    if (*s == '-') {
        s++;
        r->suffix = true;
        if (!read_number(&s, &r->a))
            return false;
    } else {
        if (!read_number(&s, &r->a) || *s != '-')
            return false;
        s++;
        if (*s >= '0' && *s <= '9') {
            if (!read_number(&s, &r->b) || r->b < r->a)
                return false; /* last before first: invalid (RFC 9110 §14.1.1) */
        } else {
            r->open = true;
        }
    }
    *p = s;
    return true;
}

/* The bytes a satisfiable spec selects; false when it selects none. */
static bool spec_select(const struct range_spec *r, uint64_t size, uint64_t *first,
                        uint64_t *last)
{
    if (size == 0)
        return false;
    if (r->suffix) {
        if (r->a == 0)
            return false;
        *first = r->a < size ? size - r->a : 0;
        *last = size - 1;
        return true;
    }
    if (r->a >= size)
        return false;
    *first = r->a;
    *last = r->open || r->b >= size ? size - 1 : r->b;
    return true;
}

int ls_http_range_parse(const char *value, uint64_t size, uint64_t *first, uint64_t *last)
{
    const char *s = value;
    bool found = false, any = false;
    uint64_t f = 0, l = 0;

    if (value == NULL)
        return LS_ENOTFOUND;
    while (is_ows(*s))
        s++;
    if (strncasecmp(s, "bytes=", 6) != 0)
        return LS_ENOTFOUND; /* another unit: ignored */
    s += 6;
    for (;;) {
        struct range_spec r;

        while (is_ows(*s))
            s++;
        if (*s == ',') { /* empty list elements are allowed (RFC 9110 §5.6.1) */
            s++;
            continue;
        }
        if (*s == '\0')
            break;
        if (!read_spec(&s, &r))
            return LS_ENOTFOUND;
        any = true;
        if (!found && spec_select(&r, size, &f, &l))
            found = true;
        while (is_ows(*s))
            s++;
        if (*s == ',')
            s++;
        else if (*s != '\0')
            return LS_ENOTFOUND;
    }
    if (!any)
        return LS_ENOTFOUND;
    if (!found)
        return LS_ELIMIT;
    *first = f;
    *last = l;
    return LS_OK;
}
