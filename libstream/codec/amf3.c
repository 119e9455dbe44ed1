/*
 * amf3.c — AMF3 decoder and encoder (Adobe "Action Message Format -- AMF 3", January
 * 2013, §1.3 variable-length integers, §3 type markers). Serialisation layer under the
 * RTMP command and data messages (type 17/15 via the AMF0 AVM+ switch, amf0.c).
 *
 * U29 (§1.3.1): 1 to 4 bytes, big-endian groups; the high bit of the first three bytes
 * says "more follows", the fourth byte gives all 8 bits:
 *
 *   0xxxxxxx                                    7 bits
 *   1xxxxxxx 0xxxxxxx                           14 bits
 *   1xxxxxxx 1xxxxxxx 0xxxxxxx                  21 bits
 *   1xxxxxxx 1xxxxxxx 1xxxxxxx xxxxxxxx         29 bits
 *
 * Referencable types start with a U29 whose low bit says inline (1) or reference (0):
 *
 *   string      U29S  = len << 1 | 1, bytes       | index << 1   (string table; "" never)
 *   xml, xml-doc, byte-array, date, array, vectors, dictionary: U29 = n << 1 | 1, ...
 *                                                 | index << 1   (object table)
 *   object      U29O  = ...sealed-count dyn 0 1 1  inline traits
 *                     = ...index           0 1     traits reference
 *                     = ...                1 1 1   externalizable (refused)
 *                     = ...index             0     object reference
 *
 * The decoder keeps the three tables for one message. Table strings live in one arena
 * (a struct ls_buf) and are named by offset, because the arena moves as it grows. Object
 * table entries borrow the containers of values already produced; a reference becomes a
 * bounded deep copy (ls_amf_copy_bounded), so a reference bomb stops at max_nodes or
 * max_bytes. References to an object still being decoded (cycles) are refused.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "libstream/amf3.h"
#include "libstream/bytes.h"
#include "amf_int.h"
#include "array_int.h"

struct ctx {
    struct ls_amf3_decoder *d;
    struct ls_reader r;
    const char **why;
};

static int decode_value(struct ctx *c, struct ls_amf_value *out, unsigned depth);

static int fail(struct ctx *c, int code, const char *text)
{
    LS_WHY(c->why, text);
    return code;
}

void ls_amf3_decoder_init(struct ls_amf3_decoder *d, const struct ls_amf_limits *lim)
{
    struct ls_amf_limits l = lim != NULL ? *lim : ls_amf_default_limits; /* lim may be &d->lim */

    memset(d, 0, sizeof *d);
    d->lim = l;
    d->left.nodes = d->lim.max_nodes;
    d->left.bytes = d->lim.max_bytes;
    ls_buf_init(&d->_arena, 0);
}

void ls_amf3_decoder_free(struct ls_amf3_decoder *d)
{
    ls_buf_free(&d->_arena);
    free(d->_strings);
    free(d->_objects);
    free(d->_traits);
    free(d->_tnames);
    ls_amf3_decoder_init(d, &d->lim);
}

/* ---- U29 ------------------------------------------------------------------------------- */

ssize_t ls_amf3_read_u29(const uint8_t *p, size_t len, uint32_t *out)
{
    uint32_t v = 0;
    size_t i;

    for (i = 0; i < 3; i++) {
        if (i >= len)
            return LS_EPROTO;
        v = v << 7 | (p[i] & 0x7fu);
        if ((p[i] & 0x80) == 0) {
            *out = v;
            return (ssize_t)i + 1;
        }
    }
    if (len < 4)
        return LS_EPROTO;
    *out = v << 8 | p[3];
    return 4;
}

static int read_u29(struct ctx *c, uint32_t *v)
{
    ssize_t n = ls_amf3_read_u29(ls_rd_ptr(&c->r), ls_rd_left(&c->r), v);

    if (n < 0)
        return fail(c, LS_EPROTO, "AMF3: truncated U29");
    c->r.pos += (size_t)n;
    return LS_OK;
}

/* ---- string table ---------------------------------------------------------------------- */

static const char *arena_str(const struct ls_amf3_decoder *d, struct ls_amf3_strref s)
{
    return s.len == 0 ? "" : (const char *)d->_arena.data + s.off;
}

/* Reads UTF-8-vr (§1.3.2): an inline string (added to the table unless empty) or a
 * reference to one. The result names bytes in the arena. */
static int read_strref(struct ctx *c, struct ls_amf3_strref *out)
{
    struct ls_amf3_decoder *d = c->d;
    const uint8_t *bytes;
    uint32_t u;
    int rc;

    if ((rc = read_u29(c, &u)) != LS_OK)
        return rc;
    if ((u & 1) == 0) {
        if ((u >> 1) >= d->_nstrings)
            return fail(c, LS_EPROTO, "AMF3: string reference out of range");
        *out = d->_strings[u >> 1];
        return LS_OK;
    }
    out->len = u >> 1;
    out->off = d->_arena.len;
    if (out->len > d->lim.max_string)
        return fail(c, LS_ELIMIT, "AMF3: string longer than max_string");
    if (!ls_rd_bytes(&c->r, out->len, &bytes))
        return fail(c, LS_EPROTO, "AMF3: truncated string");
    if (out->len == 0)
        return LS_OK;
    if (d->_nstrings >= d->lim.max_nodes)
        return fail(c, LS_ELIMIT, "AMF3: string table larger than max_nodes");
    if (!ls_array_reserve((void **)&d->_strings, &d->_strings_cap, d->_nstrings,
                          sizeof *d->_strings, 16))
        return fail(c, LS_ENOMEM, "AMF3: out of memory");
    ls_buf_append(&d->_arena, bytes, out->len);
    if (ls_buf_status(&d->_arena) != LS_OK)
        return fail(c, LS_ENOMEM, "AMF3: out of memory");
    d->_strings[d->_nstrings++] = *out;
    return LS_OK;
}

/* ---- object table ---------------------------------------------------------------------- */

static int add_object(struct ctx *c, const struct ls_amf_value *v, bool complete, size_t *idx)
{
    struct ls_amf3_decoder *d = c->d;

    /* No size check: every entry is a value already paid for, so the table cannot
     * outgrow max_nodes. */
    if (!ls_array_reserve((void **)&d->_objects, &d->_objects_cap, d->_nobjects,
                          sizeof *d->_objects, 16))
        return fail(c, LS_ENOMEM, "AMF3: out of memory");
    d->_objects[d->_nobjects].v = *v;
    d->_objects[d->_nobjects].complete = complete;
    if (idx != NULL)
        *idx = d->_nobjects;
    d->_nobjects++;
    return LS_OK;
}

static void complete_object(struct ctx *c, size_t idx, const struct ls_amf_value *v)
{
    c->d->_objects[idx].v = *v;
    c->d->_objects[idx].complete = true;
}

/*
 * Reads the U29 that starts a referencable type. Inline: returns 0 with *n = U29 >> 1.
 * Reference: resolves it into `out` (a bounded deep copy) and returns 1. Else < 0.
 */
static int ref_or_inline(struct ctx *c, struct ls_amf_value *out, unsigned depth, uint32_t *n)
{
    struct ls_amf3_decoder *d = c->d;
    const struct ls_amf_ref *ref;
    uint32_t u;
    int rc;

    if ((rc = read_u29(c, &u)) != LS_OK)
        return rc;
    *n = u >> 1;
    if (u & 1)
        return 0;
    if (*n >= d->_nobjects)
        return fail(c, LS_EPROTO, "AMF3: object reference out of range");
    ref = &d->_objects[*n];
    if (!ref->complete)
        return fail(c, LS_EPROTO, "AMF3: reference to an object still being decoded (cycle)");
    rc = ls_amf_copy_bounded(out, &ref->v, depth < d->lim.max_depth ? d->lim.max_depth - depth : 0,
                             &d->left);
    if (rc == LS_ELIMIT)
        return fail(c, LS_ELIMIT, "AMF3: reference expands past a limit");
    if (rc != LS_OK)
        return fail(c, rc, "AMF3: out of memory");
    return 1;
}

/* Every container checks the nesting bound before it allocates. */
static int enter(struct ctx *c, unsigned depth)
{
    if (depth >= c->d->lim.max_depth)
        return fail(c, LS_ELIMIT, "AMF3: nesting deeper than max_depth");
    return LS_OK;
}

/* ref_or_inline() for array, vector and dictionary: an inline one opens a container. */
static int ref_or_enter(struct ctx *c, struct ls_amf_value *out, unsigned depth, uint32_t *n)
{
    int rc = ref_or_inline(c, out, depth, n);

    return rc != 0 ? rc : enter(c, depth);
}

static int nomem(struct ctx *c, int rc)
{
    return rc == LS_OK ? LS_OK : fail(c, rc, "AMF3: out of memory");
}

/* ---- types ----------------------------------------------------------------------------- */

/* xml-doc, xml, byte-array: U29 length + bytes, kept in the object table. */
static int decode_blob(struct ctx *c, struct ls_amf_value *out, unsigned depth,
                       enum ls_amf_type type)
{
    const uint8_t *bytes;
    uint32_t len;
    int rc;

    if ((rc = ref_or_inline(c, out, depth, &len)) != 0)
        return rc < 0 ? rc : LS_OK;
    if (len > c->d->lim.max_string)
        return fail(c, LS_ELIMIT, "AMF3: blob longer than max_string");
    if (!ls_rd_bytes(&c->r, len, &bytes))
        return fail(c, LS_EPROTO, "AMF3: truncated xml or byte array");
    if ((rc = ls_amf_spend(&c->d->left, 1, len, 3, c->why)) != LS_OK)
        return rc;
    if ((rc = nomem(c, ls_amf_set_bytes(out, type, bytes, len))) != LS_OK)
        return rc;
    return add_object(c, out, true, NULL);
}

static int decode_date(struct ctx *c, struct ls_amf_value *out, unsigned depth)
{
    uint32_t unused;
    double ms;
    int rc;

    if ((rc = ref_or_inline(c, out, depth, &unused)) != 0)
        return rc < 0 ? rc : LS_OK;
    if (!ls_rd_be_double(&c->r, &ms))
        return fail(c, LS_EPROTO, "AMF3: truncated date");
    if ((rc = ls_amf_spend(&c->d->left, 1, 0, 3, c->why)) != LS_OK)
        return rc;
    ls_amf_set_date(out, ms, 0);
    return add_object(c, out, true, NULL);
}

/* Decodes one member value and appends it under the arena name `key`. */
static int add_member(struct ctx *c, struct ls_amf_value *obj, struct ls_amf3_strref key,
                      unsigned depth)
{
    struct ls_amf_value v = LS_AMF_VALUE_INIT;
    int rc;

    if ((rc = ls_amf_spend(&c->d->left, 0, key.len, 3, c->why)) != LS_OK)
        return rc;
    if ((rc = decode_value(c, &v, depth)) != LS_OK)
        return rc;
    /* the arena may have moved while the value was decoded: take the name only now */
    return nomem(c, ls_amf_object_add_n(obj, arena_str(c->d, key), key.len, &v));
}

static int add_item(struct ctx *c, struct ls_amf_value *arr, unsigned depth)
{
    struct ls_amf_value v = LS_AMF_VALUE_INIT;
    int rc;

    if ((rc = decode_value(c, &v, depth)) != LS_OK)
        return rc;
    return nomem(c, ls_amf_array_push(arr, &v));
}

/* Associative members until the empty name (§3.11 assoc-value, §3.12 dynamic members). */
static int decode_dynamic_members(struct ctx *c, struct ls_amf_value *obj, unsigned depth)
{
    struct ls_amf3_strref key;
    int rc;

    for (;;) {
        if ((rc = read_strref(c, &key)) != LS_OK)
            return rc;
        if (key.len == 0)
            return LS_OK;
        if (obj->type == LS_AMF_STRICT_ARRAY) {
            obj->type = LS_AMF_ECMA_ARRAY; /* an array with an associative part */
            obj->u.c->dynamic = true;
        }
        if ((rc = add_member(c, obj, key, depth)) != LS_OK)
            return rc;
    }
}

/*
 * array (§3.11): U29A = dense count, then the associative part (name, value)* "", then
 * the dense values. Without associative members it is a STRICT_ARRAY, else an ECMA_ARRAY
 * holding both parts.
 */
static int decode_array(struct ctx *c, struct ls_amf_value *out, unsigned depth)
{
    uint32_t dense, i;
    size_t idx;
    int rc;

    if ((rc = ref_or_enter(c, out, depth, &dense)) != 0)
        return rc < 0 ? rc : LS_OK;
    if (dense > ls_rd_left(&c->r))
        return fail(c, LS_EPROTO, "AMF3: array count exceeds the message");
    if ((rc = ls_amf_spend(&c->d->left, 1, 0, 3, c->why)) != LS_OK)
        return rc;
    if ((rc = nomem(c, ls_amf_strict_array_new(out))) != LS_OK)
        return rc;
    if ((rc = add_object(c, out, false, &idx)) != LS_OK)
        return rc;
    if ((rc = decode_dynamic_members(c, out, depth + 1)) != LS_OK)
        return rc;
    for (i = 0; i < dense; i++)
        if ((rc = add_item(c, out, depth + 1)) != LS_OK)
            return rc;
    complete_object(c, idx, out);
    return LS_OK;
}

/* object (§3.12). Traits are inline (and then added to the traits table) or referenced. */
static int decode_object(struct ctx *c, struct ls_amf_value *out, unsigned depth)
{
    struct ls_amf3_decoder *d = c->d;
    struct ls_amf3_traits t;
    struct ls_amf3_strref name;
    uint32_t u;
    size_t i, idx;
    int rc;

    if ((rc = ref_or_inline(c, out, depth, &u)) != 0)
        return rc < 0 ? rc : LS_OK;
    if ((u & 1) == 0) {
        if ((u >> 1) >= d->_ntraits)
            return fail(c, LS_EPROTO, "AMF3: traits reference out of range");
        t = d->_traits[u >> 1];
    } else if (u & 2) {
        return fail(c, LS_EUNSUPPORTED, "AMF3: externalizable object");
    } else {
        t.dynamic = (u & 4) != 0;
        t.nsealed = u >> 3;
        /* The traits table is paid for before it is filled: the entry and each of its
         * sealed names cost a node now (and the members they name cost theirs later), so
         * a count the budget or the message cannot cover allocates nothing. Each name
         * takes at least one byte of input. */
        if (t.nsealed > ls_rd_left(&c->r))
            return fail(c, LS_EPROTO, "AMF3: sealed member count exceeds the message");
        if ((rc = ls_amf_spend(&d->left, 1 + t.nsealed, 0, 3, c->why)) != LS_OK)
            return rc;
        if ((rc = read_strref(c, &t.class_name)) != LS_OK)
            return rc;
        t.first_name = d->_ntnames;
        for (i = 0; i < t.nsealed; i++) {
            if ((rc = read_strref(c, &name)) != LS_OK)
                return rc;
            if (!ls_array_reserve((void **)&d->_tnames, &d->_tnames_cap, d->_ntnames,
                                  sizeof *d->_tnames, 16))
                return fail(c, LS_ENOMEM, "AMF3: out of memory");
            d->_tnames[d->_ntnames++] = name;
        }
        if (!ls_array_reserve((void **)&d->_traits, &d->_traits_cap, d->_ntraits,
                              sizeof *d->_traits, 16))
            return fail(c, LS_ENOMEM, "AMF3: out of memory");
        d->_traits[d->_ntraits++] = t;
    }
    if ((rc = enter(c, depth)) != LS_OK)
        return rc;
    if ((rc = ls_amf_spend(&c->d->left, 1, t.class_name.len, 3, c->why)) != LS_OK)
        return rc;
    rc = ls_amf_container_new(out, t.class_name.len > 0 ? LS_AMF_TYPED_OBJECT : LS_AMF_OBJECT,
                              t.class_name.len > 0 ? arena_str(d, t.class_name) : NULL,
                              t.class_name.len);
    if ((rc = nomem(c, rc)) != LS_OK)
        return rc;
    out->u.c->nsealed = t.nsealed;
    out->u.c->dynamic = t.dynamic;
    if ((rc = add_object(c, out, false, &idx)) != LS_OK)
        return rc;
    for (i = 0; i < t.nsealed; i++)
        if ((rc = add_member(c, out, d->_tnames[t.first_name + i], depth + 1)) != LS_OK)
            return rc;
    if (t.dynamic && (rc = decode_dynamic_members(c, out, depth + 1)) != LS_OK)
        return rc;
    complete_object(c, idx, out);
    return LS_OK;
}

/* vector-int/uint/double/object (§3.15): U29V count, fixed flag, [type name], items. */
static int decode_vector(struct ctx *c, struct ls_amf_value *out, unsigned depth,
                         enum ls_amf_type type)
{
    struct ls_amf3_strref tname = { 0, 0 };
    struct ls_amf_value item = LS_AMF_VALUE_INIT;
    size_t size, idx;
    uint32_t count, i, u32 = 0;
    uint8_t fixed;
    double dbl = 0;
    int rc;

    if ((rc = ref_or_enter(c, out, depth, &count)) != 0)
        return rc < 0 ? rc : LS_OK;
    if (!ls_rd_u8(&c->r, &fixed))
        return fail(c, LS_EPROTO, "AMF3: truncated vector");
    if (type == LS_AMF_VECTOR_OBJECT && (rc = read_strref(c, &tname)) != LS_OK)
        return rc;
    size = type == LS_AMF_VECTOR_DOUBLE ? 8 : type == LS_AMF_VECTOR_OBJECT ? 1 : 4;
    if (count > ls_rd_left(&c->r) / size)
        return fail(c, LS_EPROTO, "AMF3: vector count exceeds the message");
    if ((rc = ls_amf_spend(&c->d->left, 1, tname.len, 3, c->why)) != LS_OK)
        return rc;
    rc = ls_amf_container_new(out, type, tname.len > 0 ? arena_str(c->d, tname) : NULL, tname.len);
    if ((rc = nomem(c, rc)) != LS_OK)
        return rc;
    out->u.c->fixed = fixed != 0;
    if ((rc = add_object(c, out, false, &idx)) != LS_OK)
        return rc;
    for (i = 0; i < count; i++) {
        if (type == LS_AMF_VECTOR_OBJECT) {
            rc = add_item(c, out, depth + 1);
        } else {
            if ((rc = ls_amf_spend(&c->d->left, 1, 0, 3, c->why)) != LS_OK)
                return rc;
            if (type == LS_AMF_VECTOR_DOUBLE) {
                (void)ls_rd_be_double(&c->r, &dbl); /* length checked above */
                ls_amf_set_number(&item, dbl);
            } else {
                (void)ls_rd_be32(&c->r, &u32);
                if (type == LS_AMF_VECTOR_INT)
                    ls_amf_set_integer(&item, (int32_t)u32);
                else
                    ls_amf_set_number(&item, u32);
            }
            rc = nomem(c, ls_amf_array_push(out, &item));
        }
        if (rc != LS_OK)
            return rc;
    }
    complete_object(c, idx, out);
    return LS_OK;
}

/* dictionary (§3.16): U29Dict count, weak-keys flag, then count (key, value) pairs. */
static int decode_dictionary(struct ctx *c, struct ls_amf_value *out, unsigned depth)
{
    uint32_t count, i;
    uint8_t weak;
    size_t idx;
    int rc;

    if ((rc = ref_or_enter(c, out, depth, &count)) != 0)
        return rc < 0 ? rc : LS_OK;
    if (!ls_rd_u8(&c->r, &weak))
        return fail(c, LS_EPROTO, "AMF3: truncated dictionary");
    if (count > ls_rd_left(&c->r) / 2)
        return fail(c, LS_EPROTO, "AMF3: dictionary count exceeds the message");
    if ((rc = ls_amf_spend(&c->d->left, 1, 0, 3, c->why)) != LS_OK)
        return rc;
    if ((rc = nomem(c, ls_amf_container_new(out, LS_AMF_DICTIONARY, NULL, 0))) != LS_OK)
        return rc;
    out->u.c->weak_keys = weak != 0;
    if ((rc = add_object(c, out, false, &idx)) != LS_OK)
        return rc;
    for (i = 0; i < 2 * count; i++)
        if ((rc = add_item(c, out, depth + 1)) != LS_OK)
            return rc;
    complete_object(c, idx, out);
    return LS_OK;
}

static int decode_scalar(struct ctx *c, struct ls_amf_value *out, uint8_t marker)
{
    struct ls_amf3_strref s;
    uint32_t u;
    double d;
    int rc;

    if ((rc = ls_amf_spend(&c->d->left, 1, 0, 3, c->why)) != LS_OK)
        return rc;
    switch (marker) {
    case LS_AMF3_UNDEFINED:
        ls_amf_set_undefined(out);
        return LS_OK;
    case LS_AMF3_NULL:
        return LS_OK;
    case LS_AMF3_FALSE:
    case LS_AMF3_TRUE:
        ls_amf_set_bool(out, marker == LS_AMF3_TRUE);
        return LS_OK;
    case LS_AMF3_INTEGER:
        if ((rc = read_u29(c, &u)) != LS_OK)
            return rc;
        /* sign-extend the 29-bit value */
        ls_amf_set_integer(out, (u & 0x10000000u) ? (int32_t)u - 0x20000000 : (int32_t)u);
        return LS_OK;
    case LS_AMF3_DOUBLE:
        if (!ls_rd_be_double(&c->r, &d))
            return fail(c, LS_EPROTO, "AMF3: truncated double");
        ls_amf_set_number(out, d);
        return LS_OK;
    default: /* LS_AMF3_STRING */
        if ((rc = read_strref(c, &s)) != LS_OK)
            return rc;
        if ((rc = ls_amf_spend(&c->d->left, 0, s.len, 3, c->why)) != LS_OK)
            return rc;
        return nomem(c, ls_amf_set_string(out, arena_str(c->d, s), s.len));
    }
}

static int decode_value(struct ctx *c, struct ls_amf_value *out, unsigned depth)
{
    uint8_t marker;
    int rc;

    if (!ls_rd_u8(&c->r, &marker))
        return fail(c, LS_EPROTO, "AMF3: truncated value");
    switch (marker) {
    case LS_AMF3_UNDEFINED:
    case LS_AMF3_NULL:
    case LS_AMF3_FALSE:
    case LS_AMF3_TRUE:
    case LS_AMF3_INTEGER:
    case LS_AMF3_DOUBLE:
    case LS_AMF3_STRING:
        rc = decode_scalar(c, out, marker);
        break;
    case LS_AMF3_XML_DOC: rc = decode_blob(c, out, depth, LS_AMF_XML_DOC); break;
    case LS_AMF3_XML: rc = decode_blob(c, out, depth, LS_AMF_XML); break;
    case LS_AMF3_BYTE_ARRAY: rc = decode_blob(c, out, depth, LS_AMF_BYTE_ARRAY); break;
    case LS_AMF3_DATE: rc = decode_date(c, out, depth); break;
    case LS_AMF3_ARRAY: rc = decode_array(c, out, depth); break;
    case LS_AMF3_OBJECT: rc = decode_object(c, out, depth); break;
    case LS_AMF3_VECTOR_INT: rc = decode_vector(c, out, depth, LS_AMF_VECTOR_INT); break;
    case LS_AMF3_VECTOR_UINT: rc = decode_vector(c, out, depth, LS_AMF_VECTOR_UINT); break;
    case LS_AMF3_VECTOR_DOUBLE: rc = decode_vector(c, out, depth, LS_AMF_VECTOR_DOUBLE); break;
    case LS_AMF3_VECTOR_OBJECT: rc = decode_vector(c, out, depth, LS_AMF_VECTOR_OBJECT); break;
    case LS_AMF3_DICTIONARY: rc = decode_dictionary(c, out, depth); break;
    default:
        rc = fail(c, LS_EPROTO, "AMF3: unknown type marker");
        break;
    }
    if (rc != LS_OK)
        ls_amf_clear(out); /* partial trees never escape */
    return rc;
}

ssize_t ls_amf3_decode(struct ls_amf3_decoder *d, const uint8_t *p, size_t len,
                       struct ls_amf_value *out, const char **why)
{
    struct ctx c = { .d = d, .why = why };
    size_t mark = d->_nobjects;
    int rc;

    ls_amf_clear(out);
    ls_rd_init(&c.r, p, len);
    rc = decode_value(&c, out, d->depth);
    if (rc != LS_OK) {
        d->_nobjects = mark; /* entries past the mark borrowed the tree just freed */
        return rc;
    }
    return (ssize_t)c.r.pos;
}

/* ---- encoder --------------------------------------------------------------------------- */

static void enc_fail(struct ls_buf *b, int code)
{
    if (b->err == LS_OK)
        b->err = code;
}

void ls_amf3_write_u29(struct ls_buf *b, uint32_t v)
{
    uint8_t tmp[4];

    if (v < 0x80) {
        ls_buf_put_u8(b, (uint8_t)v);
    } else if (v < 0x4000) {
        tmp[0] = (uint8_t)(v >> 7 | 0x80);
        tmp[1] = (uint8_t)(v & 0x7f);
        ls_buf_append(b, tmp, 2);
    } else if (v < 0x200000) {
        tmp[0] = (uint8_t)(v >> 14 | 0x80);
        tmp[1] = (uint8_t)(v >> 7 | 0x80);
        tmp[2] = (uint8_t)(v & 0x7f);
        ls_buf_append(b, tmp, 3);
    } else if (v <= LS_AMF3_U29_MAX) {
        tmp[0] = (uint8_t)(v >> 22 | 0x80);
        tmp[1] = (uint8_t)(v >> 15 | 0x80);
        tmp[2] = (uint8_t)(v >> 8 | 0x80);
        tmp[3] = (uint8_t)v;
        ls_buf_append(b, tmp, 4);
    } else {
        enc_fail(b, LS_EINVAL);
    }
}

/* U29 = n << 1 | 1 (an inline length or count). */
static void write_inline(struct ls_buf *b, size_t n)
{
    if (n > LS_AMF3_LENGTH_MAX)
        enc_fail(b, LS_EINVAL);
    else
        ls_amf3_write_u29(b, (uint32_t)n << 1 | 1);
}

static void write_str(struct ls_buf *b, const char *s, size_t len)
{
    write_inline(b, len);
    ls_buf_append(b, s, len);
}

/* A dynamic or associative member name; "" would end the member list. */
static void write_member_name(struct ls_buf *b, const struct ls_amf_prop *p)
{
    if (p->name_len == 0)
        enc_fail(b, LS_EINVAL);
    write_str(b, p->name, p->name_len);
}

static uint32_t to_u32(const struct ls_amf_value *v, bool is_signed)
{
    double d = 0;

    (void)ls_amf_as_number(v, &d);
    if (isnan(d))
        return 0;
    if (is_signed) {
        if (d <= INT32_MIN)
            return (uint32_t)INT32_MIN;
        if (d >= INT32_MAX)
            return INT32_MAX;
        return (uint32_t)(int32_t)d;
    }
    if (d <= 0)
        return 0;
    return d >= UINT32_MAX ? UINT32_MAX : (uint32_t)d;
}

static void encode_object(struct ls_buf *b, const struct ls_amf_container *c)
{
    size_t nsealed = c->nsealed < c->nprops ? c->nsealed : c->nprops;
    bool dynamic = c->dynamic || c->nprops > nsealed;
    size_t i;

    if (nsealed > (LS_AMF3_U29_MAX >> 4)) {
        enc_fail(b, LS_EINVAL);
        return;
    }
    ls_amf3_write_u29(b, (uint32_t)nsealed << 4 | (dynamic ? 8u : 0u) | 3u);
    write_str(b, c->class_name, c->class_name_len);
    for (i = 0; i < nsealed; i++)
        write_str(b, c->props[i].name, c->props[i].name_len);
    for (i = 0; i < nsealed; i++)
        ls_amf3_encode(b, &c->props[i].value);
    if (!dynamic)
        return;
    for (i = nsealed; i < c->nprops; i++) {
        write_member_name(b, &c->props[i]);
        ls_amf3_encode(b, &c->props[i].value);
    }
    ls_buf_put_u8(b, 0x01);
}

static void encode_vector(struct ls_buf *b, const struct ls_amf_value *v)
{
    const struct ls_amf_container *c = v->u.c;
    double d;
    size_t i;

    write_inline(b, c->nitems);
    ls_buf_put_u8(b, c->fixed ? 1 : 0);
    if (v->type == LS_AMF_VECTOR_OBJECT)
        write_str(b, c->class_name, c->class_name_len);
    for (i = 0; i < c->nitems; i++) {
        switch (v->type) {
        case LS_AMF_VECTOR_INT:
        case LS_AMF_VECTOR_UINT:
            ls_buf_put_be32(b, to_u32(&c->items[i], v->type == LS_AMF_VECTOR_INT));
            break;
        case LS_AMF_VECTOR_DOUBLE:
            d = 0;
            (void)ls_amf_as_number(&c->items[i], &d);
            ls_buf_put_be_double(b, d);
            break;
        default:
            ls_amf3_encode(b, &c->items[i]);
            break;
        }
    }
}

void ls_amf3_encode(struct ls_buf *b, const struct ls_amf_value *v)
{
    const struct ls_amf_container *c;
    size_t i;

    switch (v->type) {
    case LS_AMF_NULL:
        ls_buf_put_u8(b, LS_AMF3_NULL);
        return;
    case LS_AMF_UNDEFINED:
    case LS_AMF_UNSUPPORTED:
        ls_buf_put_u8(b, LS_AMF3_UNDEFINED);
        return;
    case LS_AMF_BOOLEAN:
        ls_buf_put_u8(b, v->u.boolean ? LS_AMF3_TRUE : LS_AMF3_FALSE);
        return;
    case LS_AMF_INTEGER:
        if (v->u.integer >= LS_AMF3_INT_MIN && v->u.integer <= LS_AMF3_INT_MAX) {
            ls_buf_put_u8(b, LS_AMF3_INTEGER);
            ls_amf3_write_u29(b, (uint32_t)v->u.integer & LS_AMF3_U29_MAX);
        } else {
            ls_buf_put_u8(b, LS_AMF3_DOUBLE);
            ls_buf_put_be_double(b, v->u.integer);
        }
        return;
    case LS_AMF_NUMBER:
        ls_buf_put_u8(b, LS_AMF3_DOUBLE);
        ls_buf_put_be_double(b, v->u.number);
        return;
    case LS_AMF_STRING:
    case LS_AMF_XML_DOC:
    case LS_AMF_XML:
    case LS_AMF_BYTE_ARRAY:
        ls_buf_put_u8(b, v->type == LS_AMF_STRING ? LS_AMF3_STRING
                         : v->type == LS_AMF_XML_DOC ? LS_AMF3_XML_DOC
                         : v->type == LS_AMF_XML ? LS_AMF3_XML : LS_AMF3_BYTE_ARRAY);
        write_str(b, v->u.str.ptr, v->u.str.len);
        return;
    case LS_AMF_DATE:
        ls_buf_put_u8(b, LS_AMF3_DATE);
        ls_buf_put_u8(b, 0x01);
        ls_buf_put_be_double(b, v->u.date.ms);
        return;
    case LS_AMF_STRICT_ARRAY:
    case LS_AMF_ECMA_ARRAY:
        c = v->u.c;
        ls_buf_put_u8(b, LS_AMF3_ARRAY);
        write_inline(b, c->nitems);
        for (i = 0; i < c->nprops; i++) {
            write_member_name(b, &c->props[i]);
            ls_amf3_encode(b, &c->props[i].value);
        }
        ls_buf_put_u8(b, 0x01);
        for (i = 0; i < c->nitems; i++)
            ls_amf3_encode(b, &c->items[i]);
        return;
    case LS_AMF_OBJECT:
    case LS_AMF_TYPED_OBJECT:
        ls_buf_put_u8(b, LS_AMF3_OBJECT);
        encode_object(b, v->u.c);
        return;
    case LS_AMF_VECTOR_INT:
    case LS_AMF_VECTOR_UINT:
    case LS_AMF_VECTOR_DOUBLE:
    case LS_AMF_VECTOR_OBJECT:
        ls_buf_put_u8(b, (uint8_t)(LS_AMF3_VECTOR_INT + (v->type - LS_AMF_VECTOR_INT)));
        encode_vector(b, v);
        return;
    case LS_AMF_DICTIONARY:
        c = v->u.c;
        if (c->nitems % 2 != 0) {
            enc_fail(b, LS_EINVAL);
            return;
        }
        ls_buf_put_u8(b, LS_AMF3_DICTIONARY);
        write_inline(b, c->nitems / 2);
        ls_buf_put_u8(b, c->weak_keys ? 1 : 0);
        for (i = 0; i < c->nitems; i++)
            ls_amf3_encode(b, &c->items[i]);
        return;
    }
    enc_fail(b, LS_EINVAL);
}
