/*
 * amf0.c — AMF0 decoder and encoder (Adobe "Action Message Format -- AMF 0", December
 * 2007, §2 type markers; §3.1 AVM+ switch to AMF3). Serialisation layer of RTMP command
 * and data messages (RTMP 1.0 §7.1.1, §7.1.2).
 *
 * Every value is a one-byte marker and a body; multi-byte numbers are big-endian:
 *
 *   00 number        8-byte IEEE-754 double
 *   01 boolean       1 byte (0 = false)
 *   02 string        u16 length, bytes
 *   03 object        (u16 name-length, name, value)* 00 00 09
 *   05 null · 06 undefined · 0d unsupported        no body
 *   07 reference     u16 index into the complex values seen so far in the message
 *   08 ECMA array    u32 count (a hint), then members as an object
 *   0a strict array  u32 count, count values
 *   0b date          double ms since epoch, s16 time zone (reserved)
 *   0c long string · 0f XML document    u32 length, bytes
 *   10 typed object  u16 class-name length, class name, members as an object
 *   11 AVM+          one AMF3 value (amf3.c) with the message's AMF3 context
 *   04 movieclip · 0e recordset         reserved: refused
 *
 * "Complex" values (object, typed object, ECMA array, strict array) enter the reference
 * table when they start; a reference to one that has not finished is a cycle and is
 * refused. A resolved reference is a bounded deep copy, so a reference bomb stops at
 * max_nodes / max_bytes instead of in the allocator.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "libstream/amf0.h"
#include "libstream/bytes.h"
#include "amf_int.h"
#include "array_int.h"

struct ctx {
    struct ls_amf0_decoder *d;
    struct ls_reader r;
    const char **why;
};

static int decode_value(struct ctx *c, struct ls_amf_value *out, unsigned depth);

static int fail(struct ctx *c, int code, const char *text)
{
    LS_WHY(c->why, text);
    return code;
}

static int nomem(struct ctx *c, int rc)
{
    return rc == LS_OK ? LS_OK : fail(c, rc, "AMF0: out of memory");
}

void ls_amf0_decoder_init(struct ls_amf0_decoder *d, const struct ls_amf_limits *lim)
{
    struct ls_amf_limits l = lim != NULL ? *lim : ls_amf_default_limits; /* lim may be &d->lim */

    memset(d, 0, sizeof *d);
    ls_amf3_decoder_init(&d->amf3, &l); /* the same limits and a full budget */
    d->lim = d->amf3.lim;
    d->left = d->amf3.left;
}

void ls_amf0_decoder_free(struct ls_amf0_decoder *d)
{
    free(d->_refs);
    ls_amf3_decoder_free(&d->amf3);
    ls_amf0_decoder_init(d, &d->lim);
}

/* Borrows `len` bytes of a string body after checking both bounds. */
static int read_bytes(struct ctx *c, size_t len, const uint8_t **bytes)
{
    if (len > c->d->lim.max_string)
        return fail(c, LS_ELIMIT, "AMF0: string longer than max_string");
    if (!ls_rd_bytes(&c->r, len, bytes))
        return fail(c, LS_EPROTO, "AMF0: truncated string");
    return ls_amf_spend(&c->d->left, 0, len, 0, c->why);
}

/* u16- or u32-prefixed bytes into a string-like value. */
static int decode_string(struct ctx *c, struct ls_amf_value *out, bool long_len,
                         enum ls_amf_type type)
{
    const uint8_t *bytes;
    uint16_t len16;
    uint32_t len;
    int rc;

    if (long_len) {
        if (!ls_rd_be32(&c->r, &len))
            return fail(c, LS_EPROTO, "AMF0: truncated string length");
    } else {
        if (!ls_rd_be16(&c->r, &len16))
            return fail(c, LS_EPROTO, "AMF0: truncated string length");
        len = len16;
    }
    if ((rc = read_bytes(c, len, &bytes)) != LS_OK)
        return rc;
    return nomem(c, ls_amf_set_bytes(out, type, bytes, len));
}

/* Creates a complex value and enters it in the reference table, not yet complete. */
static int begin_complex(struct ctx *c, struct ls_amf_value *out, unsigned depth,
                         enum ls_amf_type type, const uint8_t *class_name, size_t class_len,
                         size_t *idx)
{
    struct ls_amf0_decoder *d = c->d;
    int rc;

    if (depth >= d->lim.max_depth)
        return fail(c, LS_ELIMIT, "AMF0: nesting deeper than max_depth");
    /* The table needs no bound of its own: each entry is a value already paid for
     * against max_nodes. */
    if (!ls_array_reserve((void **)&d->_refs, &d->_refs_cap, d->_nrefs, sizeof *d->_refs, 16))
        return fail(c, LS_ENOMEM, "AMF0: out of memory");
    rc = ls_amf_container_new(out, type, (const char *)class_name, class_len);
    if ((rc = nomem(c, rc)) != LS_OK)
        return rc;
    d->_refs[d->_nrefs].v = *out;
    d->_refs[d->_nrefs].complete = false;
    *idx = d->_nrefs++;
    return LS_OK;
}

static void end_complex(struct ctx *c, size_t idx, const struct ls_amf_value *v)
{
    c->d->_refs[idx].v = *v;
    c->d->_refs[idx].complete = true;
}

/* Members up to the empty name + object-end marker (§2.5). */
static int decode_members(struct ctx *c, struct ls_amf_value *obj, unsigned depth)
{
    struct ls_amf_value v = LS_AMF_VALUE_INIT;
    const uint8_t *name;
    uint16_t len;
    uint8_t marker;
    int rc;

    for (;;) {
        if (!ls_rd_be16(&c->r, &len))
            return fail(c, LS_EPROTO, "AMF0: object without its end marker");
        if ((rc = read_bytes(c, len, &name)) != LS_OK)
            return rc;
        if (len == 0) {
            if (!ls_rd_u8(&c->r, &marker))
                return fail(c, LS_EPROTO, "AMF0: object without its end marker");
            if (marker == LS_AMF0_OBJECT_END)
                return LS_OK;
            c->r.pos--; /* a member whose name is empty: legal UTF-8, kept */
        }
        if ((rc = decode_value(c, &v, depth + 1)) != LS_OK)
            return rc;
        /* `name` points into the input, which does not move */
        if ((rc = nomem(c, ls_amf_object_add_n(obj, (const char *)name, len, &v))) != LS_OK)
            return rc;
    }
}

static int decode_object(struct ctx *c, struct ls_amf_value *out, unsigned depth,
                         uint8_t marker)
{
    const uint8_t *class_name = NULL;
    enum ls_amf_type type = LS_AMF_OBJECT;
    uint16_t class_len = 0;
    uint32_t hint;
    size_t idx;
    int rc;

    if (marker == LS_AMF0_ECMA_ARRAY) {
        type = LS_AMF_ECMA_ARRAY;
        if (!ls_rd_be32(&c->r, &hint)) /* count: a hint only, never trusted */
            return fail(c, LS_EPROTO, "AMF0: truncated ECMA array");
    } else if (marker == LS_AMF0_TYPED_OBJECT) {
        type = LS_AMF_TYPED_OBJECT;
        if (!ls_rd_be16(&c->r, &class_len))
            return fail(c, LS_EPROTO, "AMF0: truncated typed object");
        if ((rc = read_bytes(c, class_len, &class_name)) != LS_OK)
            return rc;
    }
    if ((rc = begin_complex(c, out, depth, type, class_name, class_len, &idx)) != LS_OK)
        return rc;
    if ((rc = decode_members(c, out, depth)) != LS_OK)
        return rc;
    end_complex(c, idx, out);
    return LS_OK;
}

static int decode_strict_array(struct ctx *c, struct ls_amf_value *out, unsigned depth)
{
    struct ls_amf_value v = LS_AMF_VALUE_INIT;
    uint32_t count, i;
    size_t idx;
    int rc;

    if (!ls_rd_be32(&c->r, &count))
        return fail(c, LS_EPROTO, "AMF0: truncated strict array");
    if (count > ls_rd_left(&c->r)) /* every value takes at least one byte */
        return fail(c, LS_EPROTO, "AMF0: strict array count exceeds the message");
    if (count > c->d->left.nodes)
        return fail(c, LS_ELIMIT, "AMF0: more values than max_nodes");
    if ((rc = begin_complex(c, out, depth, LS_AMF_STRICT_ARRAY, NULL, 0, &idx)) != LS_OK)
        return rc;
    for (i = 0; i < count; i++) {
        if ((rc = decode_value(c, &v, depth + 1)) != LS_OK)
            return rc;
        if ((rc = nomem(c, ls_amf_array_push(out, &v))) != LS_OK)
            return rc;
    }
    end_complex(c, idx, out);
    return LS_OK;
}

static int decode_reference(struct ctx *c, struct ls_amf_value *out, unsigned depth)
{
    struct ls_amf0_decoder *d = c->d;
    uint16_t idx;
    int rc;

    if (!ls_rd_be16(&c->r, &idx))
        return fail(c, LS_EPROTO, "AMF0: truncated reference");
    if (idx >= d->_nrefs)
        return fail(c, LS_EPROTO, "AMF0: reference out of range");
    if (!d->_refs[idx].complete)
        return fail(c, LS_EPROTO, "AMF0: reference to an object still being decoded (cycle)");
    d->left.nodes++; /* the copy pays for itself, root included */
    rc = ls_amf_copy_bounded(out, &d->_refs[idx].v,
                             depth < d->lim.max_depth ? d->lim.max_depth - depth : 0, &d->left);
    if (rc == LS_ELIMIT)
        return fail(c, rc, "AMF0: reference expands past a limit");
    return nomem(c, rc);
}

/* 0x11: one AMF3 value, decoded with the message's AMF3 context and our budget. */
static int decode_avmplus(struct ctx *c, struct ls_amf_value *out, unsigned depth)
{
    struct ls_amf3_decoder *a = &c->d->amf3;
    ssize_t n;

    c->d->left.nodes++; /* the AMF3 decoder counts the value itself */
    a->left = c->d->left;
    a->depth = depth;
    n = ls_amf3_decode(a, ls_rd_ptr(&c->r), ls_rd_left(&c->r), out, c->why);
    c->d->left = a->left;
    a->depth = 0;
    if (n < 0)
        return (int)n;
    c->r.pos += (size_t)n;
    return LS_OK;
}

static int decode_value(struct ctx *c, struct ls_amf_value *out, unsigned depth)
{
    uint8_t marker, b;
    int16_t tz;
    uint16_t u16;
    double d;
    int rc;

    if (!ls_rd_u8(&c->r, &marker))
        return fail(c, LS_EPROTO, "AMF0: truncated value");
    if ((rc = ls_amf_spend(&c->d->left, 1, 0, 0, c->why)) != LS_OK)
        return rc;
    switch (marker) {
    case LS_AMF0_NUMBER:
        if (!ls_rd_be_double(&c->r, &d))
            return fail(c, LS_EPROTO, "AMF0: truncated number");
        ls_amf_set_number(out, d);
        return LS_OK;
    case LS_AMF0_BOOLEAN:
        if (!ls_rd_u8(&c->r, &b))
            return fail(c, LS_EPROTO, "AMF0: truncated boolean");
        ls_amf_set_bool(out, b != 0);
        return LS_OK;
    case LS_AMF0_STRING:
        return decode_string(c, out, false, LS_AMF_STRING);
    case LS_AMF0_LONG_STRING:
        return decode_string(c, out, true, LS_AMF_STRING);
    case LS_AMF0_XML_DOC:
        return decode_string(c, out, true, LS_AMF_XML_DOC);
    case LS_AMF0_OBJECT:
    case LS_AMF0_ECMA_ARRAY:
    case LS_AMF0_TYPED_OBJECT:
        rc = decode_object(c, out, depth, marker);
        break;
    case LS_AMF0_STRICT_ARRAY:
        rc = decode_strict_array(c, out, depth);
        break;
    case LS_AMF0_NULL:
        return LS_OK;
    case LS_AMF0_UNDEFINED:
        ls_amf_set_undefined(out);
        return LS_OK;
    case LS_AMF0_UNSUPPORTED:
        out->type = LS_AMF_UNSUPPORTED;
        return LS_OK;
    case LS_AMF0_REFERENCE:
        rc = decode_reference(c, out, depth);
        break;
    case LS_AMF0_DATE:
        if (!ls_rd_be_double(&c->r, &d) || !ls_rd_be16(&c->r, &u16))
            return fail(c, LS_EPROTO, "AMF0: truncated date");
        memcpy(&tz, &u16, sizeof tz);
        ls_amf_set_date(out, d, tz);
        return LS_OK;
    case LS_AMF0_AVMPLUS:
        rc = decode_avmplus(c, out, depth);
        break;
    case LS_AMF0_OBJECT_END:
        return fail(c, LS_EPROTO, "AMF0: object-end marker outside an object");
    case LS_AMF0_MOVIECLIP:
    case LS_AMF0_RECORDSET:
        return fail(c, LS_EPROTO, "AMF0: reserved marker (movieclip/recordset)");
    default:
        return fail(c, LS_EPROTO, "AMF0: unknown type marker");
    }
    if (rc != LS_OK)
        ls_amf_clear(out); /* partial trees never escape */
    return rc;
}

ssize_t ls_amf0_decode(struct ls_amf0_decoder *d, const uint8_t *p, size_t len,
                       struct ls_amf_value *out, const char **why)
{
    struct ctx c = { .d = d, .why = why };
    size_t mark = d->_nrefs, mark3 = d->amf3._nobjects;
    int rc;

    ls_amf_clear(out);
    ls_rd_init(&c.r, p, len);
    rc = decode_value(&c, out, 0);
    if (rc != LS_OK) {
        ls_amf_clear(out);
        /* entries past the marks borrowed the tree just freed */
        d->_nrefs = mark;
        d->amf3._nobjects = mark3;
        return rc;
    }
    return (ssize_t)c.r.pos;
}

ssize_t ls_amf0_decode_all(const uint8_t *p, size_t len, const struct ls_amf_limits *lim,
                           struct ls_amf_value **vals, size_t *count, const char **why)
{
    struct ls_amf0_decoder d;
    struct ls_amf_value *arr = NULL;
    size_t n = 0, cap = 0, pos = 0;
    ssize_t rc = 0;

    ls_amf0_decoder_init(&d, lim);
    while (pos < len) {
        if (!ls_array_reserve((void **)&arr, &cap, n, sizeof *arr, 8)) {
            LS_WHY(why, "AMF0: out of memory");
            rc = LS_ENOMEM;
            break;
        }
        memset(&arr[n], 0, sizeof arr[n]);
        rc = ls_amf0_decode(&d, p + pos, len - pos, &arr[n], why);
        if (rc < 0)
            break;
        n++;
        pos += (size_t)rc;
    }
    ls_amf0_decoder_free(&d);
    if (rc < 0) {
        ls_amf_values_free(arr, n);
        *vals = NULL;
        *count = 0;
        return rc;
    }
    *vals = arr;
    *count = n;
    return (ssize_t)len;
}

/* ---- encoder --------------------------------------------------------------------------- */

static void enc_fail(struct ls_buf *b, int code)
{
    if (b->err == LS_OK)
        b->err = code;
}

void ls_amf0_write_number(struct ls_buf *b, double d)
{
    ls_buf_put_u8(b, LS_AMF0_NUMBER);
    ls_buf_put_be_double(b, d);
}

void ls_amf0_write_bool(struct ls_buf *b, bool v)
{
    ls_buf_put_u8(b, LS_AMF0_BOOLEAN);
    ls_buf_put_u8(b, v ? 1 : 0);
}

static void write_long_bytes(struct ls_buf *b, uint8_t marker, const char *s, size_t len)
{
    if (len > UINT32_MAX) {
        enc_fail(b, LS_EINVAL);
        return;
    }
    ls_buf_put_u8(b, marker);
    ls_buf_put_be32(b, (uint32_t)len);
    ls_buf_append(b, s, len);
}

void ls_amf0_write_string(struct ls_buf *b, const char *s, size_t len)
{
    if (len > UINT16_MAX) {
        write_long_bytes(b, LS_AMF0_LONG_STRING, s, len);
        return;
    }
    ls_buf_put_u8(b, LS_AMF0_STRING);
    ls_buf_put_be16(b, (uint16_t)len);
    ls_buf_append(b, s, len);
}

void ls_amf0_write_cstring(struct ls_buf *b, const char *s)
{
    ls_amf0_write_string(b, s, strlen(s));
}

void ls_amf0_write_null(struct ls_buf *b)
{
    ls_buf_put_u8(b, LS_AMF0_NULL);
}

void ls_amf0_write_undefined(struct ls_buf *b)
{
    ls_buf_put_u8(b, LS_AMF0_UNDEFINED);
}

void ls_amf0_write_date(struct ls_buf *b, double ms, int16_t tz)
{
    uint16_t u16;

    memcpy(&u16, &tz, sizeof u16);
    ls_buf_put_u8(b, LS_AMF0_DATE);
    ls_buf_put_be_double(b, ms);
    ls_buf_put_be16(b, u16);
}

void ls_amf0_write_object_begin(struct ls_buf *b)
{
    ls_buf_put_u8(b, LS_AMF0_OBJECT);
}

void ls_amf0_write_key(struct ls_buf *b, const char *name, size_t len)
{
    if (len > UINT16_MAX) {
        enc_fail(b, LS_EINVAL);
        return;
    }
    ls_buf_put_be16(b, (uint16_t)len);
    ls_buf_append(b, name, len);
}

void ls_amf0_write_ckey(struct ls_buf *b, const char *name)
{
    ls_amf0_write_key(b, name, strlen(name));
}

void ls_amf0_write_object_end(struct ls_buf *b)
{
    static const uint8_t end[3] = { 0x00, 0x00, LS_AMF0_OBJECT_END };

    ls_buf_append(b, end, sizeof end);
}

void ls_amf0_write_ecma_begin(struct ls_buf *b, uint32_t count)
{
    ls_buf_put_u8(b, LS_AMF0_ECMA_ARRAY);
    ls_buf_put_be32(b, count);
}

void ls_amf0_write_strict_array_begin(struct ls_buf *b, uint32_t count)
{
    ls_buf_put_u8(b, LS_AMF0_STRICT_ARRAY);
    ls_buf_put_be32(b, count);
}

static void write_members(struct ls_buf *b, const struct ls_amf_container *c)
{
    size_t i;

    for (i = 0; i < c->nprops; i++) {
        ls_amf0_write_key(b, c->props[i].name, c->props[i].name_len);
        ls_amf0_encode(b, &c->props[i].value);
    }
    ls_amf0_write_object_end(b);
}

void ls_amf0_encode(struct ls_buf *b, const struct ls_amf_value *v)
{
    const struct ls_amf_container *c;
    char index[24];
    size_t i;

    switch (v->type) {
    case LS_AMF_NUMBER:
        ls_amf0_write_number(b, v->u.number);
        return;
    case LS_AMF_INTEGER:
        ls_amf0_write_number(b, v->u.integer);
        return;
    case LS_AMF_BOOLEAN:
        ls_amf0_write_bool(b, v->u.boolean);
        return;
    case LS_AMF_STRING:
        ls_amf0_write_string(b, v->u.str.ptr, v->u.str.len);
        return;
    case LS_AMF_XML_DOC:
        write_long_bytes(b, LS_AMF0_XML_DOC, v->u.str.ptr, v->u.str.len);
        return;
    case LS_AMF_NULL:
        ls_amf0_write_null(b);
        return;
    case LS_AMF_UNDEFINED:
        ls_amf0_write_undefined(b);
        return;
    case LS_AMF_UNSUPPORTED:
        ls_buf_put_u8(b, LS_AMF0_UNSUPPORTED);
        return;
    case LS_AMF_DATE:
        ls_amf0_write_date(b, v->u.date.ms, v->u.date.tz);
        return;
    case LS_AMF_OBJECT:
        ls_amf0_write_object_begin(b);
        write_members(b, v->u.c);
        return;
    case LS_AMF_TYPED_OBJECT:
        c = v->u.c;
        ls_buf_put_u8(b, LS_AMF0_TYPED_OBJECT);
        ls_amf0_write_key(b, c->class_name, c->class_name_len);
        write_members(b, c);
        return;
    case LS_AMF_ECMA_ARRAY:
        c = v->u.c;
        if (c->nprops > UINT32_MAX - c->nitems) {
            enc_fail(b, LS_EINVAL);
            return;
        }
        ls_amf0_write_ecma_begin(b, (uint32_t)(c->nitems + c->nprops));
        for (i = 0; i < c->nitems; i++) {
            snprintf(index, sizeof index, "%zu", i);
            ls_amf0_write_ckey(b, index);
            ls_amf0_encode(b, &c->items[i]);
        }
        write_members(b, c);
        return;
    case LS_AMF_STRICT_ARRAY:
        c = v->u.c;
        if (c->nitems > UINT32_MAX) {
            enc_fail(b, LS_EINVAL);
            return;
        }
        ls_amf0_write_strict_array_begin(b, (uint32_t)c->nitems);
        for (i = 0; i < c->nitems; i++)
            ls_amf0_encode(b, &c->items[i]);
        return;
    default: /* AMF3-only types */
        ls_buf_put_u8(b, LS_AMF0_AVMPLUS);
        ls_amf3_encode(b, v);
        return;
    }
}
