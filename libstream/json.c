/*
 * json.c — streaming JSON writer (see json.h). Layer: HTTP API output. Spec: RFC 8259
 * (sections 6 numbers, 7 strings, 8.1 UTF-8); UTF-8 validity per RFC 3629 section 4.
 *
 * The writer is a stack of open containers, one byte of flags each:
 *
 *   bit 0 OBJ   the container is an object (else an array)
 *   bit 1 MORE  a member/element was written, so the next one needs a ','
 *   bit 2 KEY   (objects) a key was written, so a value is due next
 *
 * A value is accepted at the top level (once), in an array, or in an object after a key.
 */
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "libstream/json.h"

enum { OBJ = 1, MORE = 2, KEY = 4 };

void ls_json_init(struct ls_json *j, struct ls_buf *buf)
{
    memset(j, 0, sizeof *j);
    j->buf = buf;
}

static uint8_t *top(struct ls_json *j) { return &j->level[j->depth - 1]; }

/* Admits one value at the current position, writing the ',' before it when due. */
static bool value_begin(struct ls_json *j)
{
    uint8_t *t;

    if (j->err != LS_OK)
        return false;
    if (j->depth == 0) {
        if (j->done) {
            j->err = LS_ESTATE;
            return false;
        }
        return true;
    }
    t = top(j);
    if (*t & OBJ) {
        if (!(*t & KEY)) {
            j->err = LS_ESTATE;
            return false;
        }
        *t &= (uint8_t)~KEY;
    } else {
        if (*t & MORE)
            ls_buf_put_u8(j->buf, ',');
        *t |= MORE;
    }
    return true;
}

static void value_end(struct ls_json *j)
{
    if (j->depth == 0)
        j->done = true;
}

size_t ls_json_utf8_len(const void *ptr, size_t n)
{
    const unsigned char *p = ptr;
    unsigned char c = p[0];
    uint32_t cp, min;
    size_t len, i;

    if (c < 0x80)
        return 1;
    if (c >= 0xc2 && c <= 0xdf) {
        len = 2; cp = c & 0x1f; min = 0x80;
    } else if (c >= 0xe0 && c <= 0xef) {
        len = 3; cp = c & 0x0f; min = 0x800;
    } else if (c >= 0xf0 && c <= 0xf4) {
        len = 4; cp = c & 0x07; min = 0x10000;
    } else {
        return 0;
    }
    if (n < len)
        return 0;
    for (i = 1; i < len; i++) {
        if ((p[i] & 0xc0) != 0x80)
            return 0;
        cp = cp << 6 | (p[i] & 0x3f);
    }
    if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
        return 0;
    return len;
}

static void put_string(struct ls_buf *b, const char *s, size_t len)
{
    static const char hex[] = "0123456789abcdef";
    const unsigned char *p = (const unsigned char *)s, *end = p + len;

    ls_buf_put_u8(b, '"');
    while (p < end) {
        const unsigned char *run = p;

        /* copy the longest run needing no escape in one append */
        while (p < end && *p >= 0x20 && *p < 0x7f && *p != '"' && *p != '\\')
            p++;
        if (p > run)
            ls_buf_append(b, run, (size_t)(p - run));
        if (p == end)
            break;
        if (*p == '"' || *p == '\\') {
            char e[2] = { '\\', (char)*p };

            ls_buf_append(b, e, 2);
            p++;
        } else if (*p < 0x20 || *p == 0x7f) {
            char e[6] = { '\\', 'u', '0', '0', hex[*p >> 4], hex[*p & 15] };

            ls_buf_append(b, e, 6);
            p++;
        } else {
            size_t n = ls_json_utf8_len(p, (size_t)(end - p));

            if (n == 0) {
                ls_buf_append(b, "\xef\xbf\xbd", 3); /* U+FFFD */
                p++;
            } else {
                ls_buf_append(b, p, n);
                p += n;
            }
        }
    }
    ls_buf_put_u8(b, '"');
}

static void put_literal(struct ls_json *j, const char *text)
{
    if (!value_begin(j))
        return;
    ls_buf_append(j->buf, text, strlen(text));
    value_end(j);
}

static void container_begin(struct ls_json *j, uint8_t kind, char open)
{
    if (!value_begin(j))
        return;
    if (j->depth == LS_JSON_DEPTH_MAX) {
        j->err = LS_ELIMIT;
        return;
    }
    j->level[j->depth++] = kind;
    ls_buf_put_u8(j->buf, (uint8_t)open);
}

static void container_end(struct ls_json *j, uint8_t kind, char close)
{
    if (j->err != LS_OK)
        return;
    if (j->depth == 0 || (*top(j) & OBJ) != kind || (*top(j) & KEY)) {
        j->err = LS_ESTATE;
        return;
    }
    j->depth--;
    ls_buf_put_u8(j->buf, (uint8_t)close);
    value_end(j);
}

void ls_json_object_begin(struct ls_json *j) { container_begin(j, OBJ, '{'); }
void ls_json_object_end(struct ls_json *j) { container_end(j, OBJ, '}'); }
void ls_json_array_begin(struct ls_json *j) { container_begin(j, 0, '['); }
void ls_json_array_end(struct ls_json *j) { container_end(j, 0, ']'); }

void ls_json_key(struct ls_json *j, const char *key)
{
    uint8_t *t;

    if (j->err != LS_OK)
        return;
    if (j->depth == 0 || !(*top(j) & OBJ) || (*top(j) & KEY) || key == NULL) {
        j->err = LS_ESTATE;
        return;
    }
    t = top(j);
    if (*t & MORE)
        ls_buf_put_u8(j->buf, ',');
    *t |= MORE | KEY;
    put_string(j->buf, key, strlen(key));
    ls_buf_put_u8(j->buf, ':');
}

void ls_json_string_n(struct ls_json *j, const char *s, size_t len)
{
    if (!value_begin(j))
        return;
    put_string(j->buf, s, len);
    value_end(j);
}

void ls_json_string(struct ls_json *j, const char *s)
{
    if (s == NULL)
        ls_json_null(j);
    else
        ls_json_string_n(j, s, strlen(s));
}

void ls_json_int64(struct ls_json *j, int64_t v)
{
    char t[24];

    snprintf(t, sizeof t, "%" PRId64, v);
    put_literal(j, t);
}

void ls_json_uint64(struct ls_json *j, uint64_t v)
{
    char t[24];

    snprintf(t, sizeof t, "%" PRIu64, v);
    put_literal(j, t);
}

void ls_json_format_double(char *t, size_t cap, double v)
{
    int prec;

    for (prec = 15; prec < 17; prec++) {
        snprintf(t, cap, "%.*g", prec, v);
        if (strtod(t, NULL) == v)
            return;
    }
    snprintf(t, cap, "%.17g", v);
}

void ls_json_double(struct ls_json *j, double v)
{
    char t[32];

    if (!isfinite(v)) {
        put_literal(j, "null");
        return;
    }
    ls_json_format_double(t, sizeof t, v);
    put_literal(j, t);
}

void ls_json_bool(struct ls_json *j, bool v) { put_literal(j, v ? "true" : "false"); }
void ls_json_null(struct ls_json *j) { put_literal(j, "null"); }

void ls_json_kv_string(struct ls_json *j, const char *key, const char *s)
{
    ls_json_key(j, key);
    ls_json_string(j, s);
}

void ls_json_kv_int64(struct ls_json *j, const char *key, int64_t v)
{
    ls_json_key(j, key);
    ls_json_int64(j, v);
}

void ls_json_kv_uint64(struct ls_json *j, const char *key, uint64_t v)
{
    ls_json_key(j, key);
    ls_json_uint64(j, v);
}

void ls_json_kv_double(struct ls_json *j, const char *key, double v)
{
    ls_json_key(j, key);
    ls_json_double(j, v);
}

void ls_json_kv_bool(struct ls_json *j, const char *key, bool v)
{
    ls_json_key(j, key);
    ls_json_bool(j, v);
}

int ls_json_finish(const struct ls_json *j)
{
    if (j->err != LS_OK)
        return j->err;
    if (j->depth != 0 || !j->done)
        return LS_ESTATE;
    return ls_buf_status(j->buf);
}
