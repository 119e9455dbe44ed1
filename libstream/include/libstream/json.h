/*
 * json.h — a small streaming JSON writer (RFC 8259) over struct ls_buf, for the HTTP API.
 *
 *   struct ls_buf b; struct ls_json j;
 *   ls_buf_init(&b, 1 << 20);
 *   ls_json_init(&j, &b);
 *   ls_json_object_begin(&j);
 *   ls_json_kv_string(&j, "status", "ok");
 *   ls_json_key(&j, "streams"); ls_json_array_begin(&j); ... ls_json_array_end(&j);
 *   ls_json_object_end(&j);
 *   if (ls_json_finish(&j) == LS_OK) send b.data, b.len
 *
 * Commas and colons are automatic. Errors are sticky, as in ls_buf: a misuse (a value
 * where a key is due, an unbalanced end, a second top-level value) sets LS_ESTATE, nesting
 * past LS_JSON_DEPTH_MAX sets LS_ELIMIT, and every later call is a no-op; the caller
 * checks ls_json_finish() once. Output is always valid UTF-8 JSON:
 *   - strings: '"' '\' and control characters (< 0x20, and 0x7f) are escaped as \" \\ and
 *     \u00XX; bytes >= 0x80 pass through only as valid UTF-8 (no overlongs, surrogates, or
 *     code points above U+10FFFF), every invalid byte becomes U+FFFD;
 *   - numbers: int64/uint64 exactly; doubles in the shortest form that reads back equal
 *     (up to 17 significant digits), NaN and infinities as null.
 * The buffer is borrowed and must outlive the writer; the writer allocates nothing itself.
 */
#ifndef LIBSTREAM_JSON_H
#define LIBSTREAM_JSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "libstream/buf.h"
#include "libstream/err.h"

/* Deepest nesting of objects/arrays. */
#define LS_JSON_DEPTH_MAX 32

struct ls_json {
    struct ls_buf *buf; /* borrowed */
    int err;            /* sticky: LS_OK, LS_ESTATE, LS_ELIMIT */
    unsigned depth;     /* open containers */
    bool done;          /* the top-level value is complete */
    /* per open container: bit 0 = object, bit 1 = has members, bit 2 = key written */
    uint8_t level[LS_JSON_DEPTH_MAX];
};

/* Starts a document appended to `buf` (whose current contents are kept). */
void ls_json_init(struct ls_json *j, struct ls_buf *buf);

void ls_json_object_begin(struct ls_json *j);
void ls_json_object_end(struct ls_json *j);
void ls_json_array_begin(struct ls_json *j);
void ls_json_array_end(struct ls_json *j);
/* An object member name (escaped like a string); must be followed by one value. */
void ls_json_key(struct ls_json *j, const char *key);

/* `s` is NUL-terminated; NULL writes null. */
void ls_json_string(struct ls_json *j, const char *s);
/* `len` bytes of `s`, which may contain NUL (written as \u0000). */
void ls_json_string_n(struct ls_json *j, const char *s, size_t len);
void ls_json_int64(struct ls_json *j, int64_t v);
void ls_json_uint64(struct ls_json *j, uint64_t v);
void ls_json_double(struct ls_json *j, double v);
void ls_json_bool(struct ls_json *j, bool v);
void ls_json_null(struct ls_json *j);

/* key + value shorthands for object members. */
void ls_json_kv_string(struct ls_json *j, const char *key, const char *s);
void ls_json_kv_int64(struct ls_json *j, const char *key, int64_t v);
void ls_json_kv_uint64(struct ls_json *j, const char *key, uint64_t v);
void ls_json_kv_double(struct ls_json *j, const char *key, double v);
void ls_json_kv_bool(struct ls_json *j, const char *key, bool v);

/*
 * Length (1..4) of the valid UTF-8 sequence starting at p, which has n > 0 bytes left;
 * 0 when p[0] does not start one (stray continuation byte, overlong form, surrogate, code
 * point above U+10FFFF, or a sequence cut by the end). The validator the writer uses;
 * log.c and prom.c share it.
 */
size_t ls_json_utf8_len(const void *p, size_t n);

/*
 * Writes the finite `v` into `t` (`cap` >= 32 bytes) in the shortest of %.15g..%.17g that
 * reads back to the same double (17 always does): the form ls_json_double writes, and
 * prom.c's sample values.
 */
void ls_json_format_double(char *t, size_t cap, double v);

/*
 * LS_OK when exactly one complete value was written and the buffer took every byte;
 * otherwise the writer's sticky error (LS_ESTATE, LS_ELIMIT), LS_ESTATE for an unfinished
 * document, or the buffer's error (LS_ENOMEM, LS_ELIMIT).
 */
LS_MUST_CHECK int ls_json_finish(const struct ls_json *j);

#endif /* LIBSTREAM_JSON_H */
