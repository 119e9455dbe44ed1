/*
 * prom.c — Prometheus text exposition writer (see prom.h). Layer: HTTP API output.
 * Spec: Prometheus "Exposition formats", text format 0.0.4:
 *
 *   metric_name [ "{" label_name "=" `"` label_value `"` { "," ... } "}" ] value "\n"
 *
 * Label values escape `\` `"` and line feed; HELP text escapes `\` and line feed.
 */
#include <assert.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "libstream/json.h"
#include "libstream/prom.h"

static bool name_valid(const char *name, bool colon)
{
    const char *p;

    if (name == NULL || name[0] == '\0' || (name[0] >= '0' && name[0] <= '9'))
        return false;
    for (p = name; *p != '\0'; p++) {
        char c = *p;

        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_' || (colon && c == ':')))
            return false;
    }
    return true;
}

bool ls_prom_name_valid(const char *name) { return name_valid(name, true); }

bool ls_prom_label_name_valid(const char *name)
{
    return name_valid(name, false) && strncmp(name, "__", 2) != 0;
}

/* Appends s with `\`, newline and (when quote) `"` escaped; invalid UTF-8 → U+FFFD. */
static void put_escaped(struct ls_buf *b, const char *s, bool quote)
{
    const unsigned char *p = (const unsigned char *)s, *end = p + strlen(s);

    while (p < end) {
        size_t n;

        if (*p == '\\') {
            ls_buf_append(b, "\\\\", 2);
            p++;
        } else if (*p == '\n') {
            ls_buf_append(b, "\\n", 2);
            p++;
        } else if (quote && *p == '"') {
            ls_buf_append(b, "\\\"", 2);
            p++;
        } else if ((n = ls_json_utf8_len(p, (size_t)(end - p))) == 0) {
            ls_buf_append(b, "\xef\xbf\xbd", 3);
            p++;
        } else {
            ls_buf_append(b, p, n);
            p += n;
        }
    }
}

static void put_str(struct ls_buf *b, const char *s) { ls_buf_append(b, s, strlen(s)); }

void ls_prom_header(struct ls_buf *b, const char *name, const char *type, const char *help)
{
    bool ok = ls_prom_name_valid(name) && type != NULL &&
              (strcmp(type, "counter") == 0 || strcmp(type, "gauge") == 0 ||
               strcmp(type, "histogram") == 0 || strcmp(type, "untyped") == 0);

    assert(ok && "invalid Prometheus metric name or type");
    if (!ok)
        return;
    if (help != NULL) {
        put_str(b, "# HELP ");
        put_str(b, name);
        ls_buf_put_u8(b, ' ');
        put_escaped(b, help, false);
        ls_buf_put_u8(b, '\n');
    }
    put_str(b, "# TYPE ");
    put_str(b, name);
    ls_buf_put_u8(b, ' ');
    put_str(b, type);
    ls_buf_put_u8(b, '\n');
}

static bool labels_valid(const char *const *labels)
{
    size_t i;

    for (i = 0; labels != NULL && labels[i] != NULL; i += 2)
        if (!ls_prom_label_name_valid(labels[i]) || labels[i + 1] == NULL)
            return false;
    return true;
}

/* name{labels} — false (nothing written) when a name is invalid. */
static bool put_series(struct ls_buf *b, const char *name, const char *const *labels)
{
    bool ok = ls_prom_name_valid(name) && labels_valid(labels);
    size_t i;

    assert(ok && "invalid Prometheus metric or label name, or odd label list");
    if (!ok)
        return false;
    put_str(b, name);
    if (labels != NULL && labels[0] != NULL) {
        ls_buf_put_u8(b, '{');
        for (i = 0; labels[i] != NULL; i += 2) {
            if (i > 0)
                ls_buf_put_u8(b, ',');
            put_str(b, labels[i]);
            ls_buf_append(b, "=\"", 2);
            put_escaped(b, labels[i + 1], true);
            ls_buf_put_u8(b, '"');
        }
        ls_buf_put_u8(b, '}');
    }
    ls_buf_put_u8(b, ' ');
    return true;
}

void ls_prom_sample(struct ls_buf *b, const char *name, const char *const *labels, double value)
{
    char t[32];

    if (!put_series(b, name, labels))
        return;
    if (isnan(value)) {
        put_str(b, "NaN");
    } else if (isinf(value)) {
        put_str(b, value > 0 ? "+Inf" : "-Inf");
    } else {
        ls_json_format_double(t, sizeof t, value);
        put_str(b, t);
    }
    ls_buf_put_u8(b, '\n');
}

void ls_prom_sample_u64(struct ls_buf *b, const char *name, const char *const *labels,
                        uint64_t value)
{
    char t[24];

    if (!put_series(b, name, labels))
        return;
    snprintf(t, sizeof t, "%" PRIu64 "\n", value);
    put_str(b, t);
}

void ls_prom_metric(struct ls_buf *b, const char *name, const char *type, const char *help,
                    uint64_t value)
{
    ls_prom_header(b, name, type, help);
    ls_prom_sample_u64(b, name, NULL, value);
}

void ls_prom_counter_by(struct ls_buf *b, const char *name, const char *help, const char *label,
                        const char *const *names, const uint64_t *values, size_t n)
{
    size_t i;

    ls_prom_header(b, name, "counter", help);
    for (i = 0; i < n; i++) {
        const char *labels[] = { label, names[i], NULL };

        ls_prom_sample_u64(b, name, labels, values[i]);
    }
}
