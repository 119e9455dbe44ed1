/*
 * Unit tests for amf3.c.
 *
 * Vectors are hand-encoded from the AMF3 specification (January 2013): U29 at every
 * width, each type marker, the three reference tables, traits (sealed, dynamic,
 * referenced, externalizable). As with AMF0 the decoder works on whole messages, so
 * every proper prefix of a vector (in an exactly-sized heap buffer) must be LS_EPROTO.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "libstream/amf.h"
#include "libstream/amf3.h"
#include "libstream/buf.h"
#include "libstream/err.h"
#include "support/amf_build.h"
#include "support/input.h"

/* ---- helpers ---------------------------------------------------------------------------- */

static ssize_t decode_one(const uint8_t *p, size_t len, const struct ls_amf_limits *lim,
                          struct ls_amf_value *out, const char **why)
{
    struct ls_amf3_decoder d;
    ssize_t rc;

    ls_amf3_decoder_init(&d, lim);
    rc = ls_amf3_decode(&d, p, len, out, why);
    ls_amf3_decoder_free(&d);
    return rc;
}

static void check_vector(const uint8_t *vec, size_t len, const struct ls_amf_value *want,
                         bool canonical)
{
    struct ls_amf_value got = LS_AMF_VALUE_INIT;
    uint8_t *buf;
    struct ls_buf b;
    size_t n, k;

    buf = input_dup_exact(vec, len);
    assert_int_equal(decode_one(buf, len, NULL, &got, NULL), (ssize_t)len);
    assert_true(ls_amf_equal(&got, want));
    free(buf);

    for (k = 1; k < 8; k++) {
        struct ls_amf_value tmp = LS_AMF_VALUE_INIT;

        buf = calloc(1, len + k + 2);
        assert_non_null(buf);
        memcpy(buf + k, vec, len);
        buf[k + len] = 0xff;
        assert_int_equal(decode_one(buf + k, len + 2, NULL, &tmp, NULL), (ssize_t)len);
        assert_true(ls_amf_equal(&tmp, want));
        ls_amf_clear(&tmp);
        free(buf);
    }

    for (n = 0; n < len; n++) {
        struct ls_amf_value part = LS_AMF_VALUE_INIT;
        const char *why = NULL;

        buf = input_dup_exact(vec, n);
        assert_int_equal(decode_one(buf, n, NULL, &part, &why), LS_EPROTO);
        assert_non_null(why);
        assert_int_equal(part.type, LS_AMF_NULL);
        free(buf);
    }

    /* whatever the input used (references, other widths), the re-encoding decodes back */
    ls_buf_init(&b, 0);
    ls_amf3_encode(&b, &got);
    assert_int_equal(ls_buf_status(&b), LS_OK);
    if (canonical) {
        assert_int_equal(b.len, len);
        assert_memory_equal(b.data, vec, len);
    } else {
        struct ls_amf_value again = LS_AMF_VALUE_INIT;

        assert_int_equal(decode_one(b.data, b.len, NULL, &again, NULL), (ssize_t)b.len);
        assert_true(ls_amf_equal(&again, want));
        ls_amf_clear(&again);
    }
    ls_buf_free(&b);
    ls_amf_clear(&got);
}

static ssize_t decode_with(const uint8_t *vec, size_t len, const struct ls_amf_limits *lim)
{
    struct ls_amf_value out = LS_AMF_VALUE_INIT;
    const char *why = NULL;
    uint8_t *buf = input_dup_exact(vec, len);
    ssize_t rc = decode_one(buf, len, lim, &out, &why);

    if (rc < 0) {
        assert_non_null(why);
        assert_int_equal(out.type, LS_AMF_NULL);
    }
    ls_amf_clear(&out);
    free(buf);
    return rc;
}

#define VEC(...) ((const uint8_t[]){ __VA_ARGS__ }), sizeof((const uint8_t[]){ __VA_ARGS__ })

/* ---- U29 --------------------------------------------------------------------------------- */

static void test_u29_every_width(void **state)
{
    static const struct {
        uint8_t bytes[4];
        size_t len;
        uint32_t value;
    } cases[] = {
        { { 0x00 }, 1, 0 },
        { { 0x7f }, 1, 0x7f },
        { { 0x81, 0x00 }, 2, 0x80 },
        { { 0xff, 0x7f }, 2, 0x3fff },
        { { 0x81, 0x80, 0x00 }, 3, 0x4000 },
        { { 0xff, 0xff, 0x7f }, 3, 0x1fffff },
        { { 0x80, 0xc0, 0x80, 0x00 }, 4, 0x200000 },
        { { 0xbf, 0xff, 0xff, 0xff }, 4, 0x0fffffff },
        { { 0xff, 0xff, 0xff, 0xff }, 4, 0x1fffffff },
    };
    struct ls_buf b;
    uint32_t v;
    size_t i, n;
    (void)state;

    for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        assert_int_equal(ls_amf3_read_u29(cases[i].bytes, cases[i].len, &v),
                         (ssize_t)cases[i].len);
        assert_int_equal(v, cases[i].value);
        for (n = 0; n < cases[i].len; n++)
            assert_int_equal(ls_amf3_read_u29(cases[i].bytes, n, &v), LS_EPROTO);
        ls_buf_init(&b, 0);
        ls_amf3_write_u29(&b, cases[i].value);
        assert_int_equal(b.len, cases[i].len); /* shortest form */
        assert_memory_equal(b.data, cases[i].bytes, cases[i].len);
        ls_buf_free(&b);
    }
    ls_buf_init(&b, 0);
    ls_amf3_write_u29(&b, 0x20000000);
    assert_int_equal(ls_buf_status(&b), LS_EINVAL);
    assert_int_equal(b.len, 0);
    ls_buf_free(&b);
}

/* ---- one vector per type -------------------------------------------------------------------- */

static void test_scalars(void **state)
{
    struct ls_amf_value v = LS_AMF_VALUE_INIT;
    (void)state;

    ls_amf_set_undefined(&v);
    check_vector(VEC(0x00), &v, true);
    ls_amf_set_null(&v);
    check_vector(VEC(0x01), &v, true);
    ls_amf_set_bool(&v, false);
    check_vector(VEC(0x02), &v, true);
    ls_amf_set_bool(&v, true);
    check_vector(VEC(0x03), &v, true);
    v = amf_int(0);
    check_vector(VEC(0x04, 0x00), &v, true);
    v = amf_int(127);
    check_vector(VEC(0x04, 0x7f), &v, true);
    v = amf_int(-1); /* sign extension of the 29-bit value */
    check_vector(VEC(0x04, 0xff, 0xff, 0xff, 0xff), &v, true);
    v = amf_int(LS_AMF3_INT_MIN);
    check_vector(VEC(0x04, 0xc0, 0x80, 0x80, 0x00), &v, true);
    v = amf_int(LS_AMF3_INT_MAX);
    check_vector(VEC(0x04, 0xbf, 0xff, 0xff, 0xff), &v, true);
    v = amf_num(1.5);
    check_vector(VEC(0x05, 0x3f, 0xf8, 0, 0, 0, 0, 0, 0), &v, true);
    ls_amf_set_date(&v, 1.0, 0);
    check_vector(VEC(0x08, 0x01, 0x3f, 0xf0, 0, 0, 0, 0, 0, 0), &v, true);
}

static void test_integer_out_of_range_encodes_as_double(void **state)
{
    struct ls_amf_value v = amf_int(LS_AMF3_INT_MAX + 1), got = LS_AMF_VALUE_INIT;
    struct ls_buf b;
    (void)state;

    ls_buf_init(&b, 0);
    ls_amf3_encode(&b, &v);
    assert_int_equal(b.data[0], LS_AMF3_DOUBLE);
    assert_int_equal(decode_one(b.data, b.len, NULL, &got, NULL), 9);
    assert_int_equal(got.type, LS_AMF_NUMBER);
    assert_true(got.u.number == LS_AMF3_INT_MAX + 1.0);
    ls_buf_reset(&b);
    v = amf_int(LS_AMF3_INT_MIN - 1);
    ls_amf3_encode(&b, &v);
    assert_int_equal(b.data[0], LS_AMF3_DOUBLE);
    ls_buf_free(&b);
}

static void test_strings_and_blobs(void **state)
{
    struct ls_amf_value v = LS_AMF_VALUE_INIT;
    (void)state;

    v = amf_str("abc");
    check_vector(VEC(0x06, 0x07, 'a', 'b', 'c'), &v, true);
    ls_amf_clear(&v);
    v = amf_str("");
    check_vector(VEC(0x06, 0x01), &v, true);
    ls_amf_clear(&v);
    assert_int_equal(ls_amf_set_bytes(&v, LS_AMF_XML_DOC, "<a/>", 4), LS_OK);
    check_vector(VEC(0x07, 0x09, '<', 'a', '/', '>'), &v, true);
    assert_int_equal(ls_amf_set_bytes(&v, LS_AMF_XML, "<b/>", 4), LS_OK);
    check_vector(VEC(0x0b, 0x09, '<', 'b', '/', '>'), &v, true);
    assert_int_equal(ls_amf_set_bytes(&v, LS_AMF_BYTE_ARRAY, "\x00\xff\x00", 3), LS_OK);
    check_vector(VEC(0x0c, 0x07, 0x00, 0xff, 0x00), &v, true);
    ls_amf_clear(&v);
}

static void test_string_table(void **state)
{
    struct ls_amf_value want = amf_container(LS_AMF_STRICT_ARRAY, NULL);
    (void)state;

    /* [ "abc", ref 0, "", "de", ref 1 ]: the empty string takes no table slot */
    amf_push(&want, amf_str("abc"));
    amf_push(&want, amf_str("abc"));
    amf_push(&want, amf_str(""));
    amf_push(&want, amf_str("de"));
    amf_push(&want, amf_str("de"));
    check_vector(VEC(0x09, 0x0b, 0x01, 0x06, 0x07, 'a', 'b', 'c', 0x06, 0x00, 0x06, 0x01,
                     0x06, 0x05, 'd', 'e', 0x06, 0x02), &want, false);
    ls_amf_clear(&want);
    /* [ "abc", "", ref 1 ]: index 1 does not exist */
    assert_int_equal(decode_with(VEC(0x09, 0x07, 0x01, 0x06, 0x07, 'a', 'b', 'c', 0x06, 0x01,
                                     0x06, 0x02), NULL), LS_EPROTO);
    /* a key and a value share the table: {abc: ref 0} */
    want = amf_container(LS_AMF_OBJECT, NULL);
    amf_add(&want, "abc", amf_str("abc"));
    check_vector(VEC(0x0a, 0x0b, 0x01, 0x07, 'a', 'b', 'c', 0x06, 0x00, 0x01), &want, false);
    ls_amf_clear(&want);
}

static void test_object_table(void **state)
{
    struct ls_amf_value want = amf_container(LS_AMF_STRICT_ARRAY, NULL);
    struct ls_amf_value obj = amf_container(LS_AMF_OBJECT, NULL), copy = LS_AMF_VALUE_INIT;
    struct ls_amf_value date = LS_AMF_VALUE_INIT, blob = LS_AMF_VALUE_INIT;
    (void)state;

    /* [ {a: 1}, ref 1, date, ref 2, bytes, ref 3 ]: the array itself is object 0 */
    amf_add(&obj, "a", amf_int(1));
    assert_int_equal(ls_amf_copy(&copy, &obj), LS_OK);
    amf_push(&want, obj);
    amf_push(&want, copy);
    ls_amf_set_date(&date, 0, 0);
    amf_push(&want, date);
    ls_amf_set_date(&date, 0, 0);
    amf_push(&want, date);
    assert_int_equal(ls_amf_set_bytes(&blob, LS_AMF_BYTE_ARRAY, "z", 1), LS_OK);
    copy = (struct ls_amf_value)LS_AMF_VALUE_INIT; /* the old copy now belongs to `want` */
    assert_int_equal(ls_amf_copy(&copy, &blob), LS_OK);
    amf_push(&want, blob);
    amf_push(&want, copy);
    check_vector(VEC(0x09, 0x0d, 0x01,
                     0x0a, 0x0b, 0x01, 0x03, 'a', 0x04, 0x01, 0x01,
                     0x0a, 0x02,
                     0x08, 0x01, 0, 0, 0, 0, 0, 0, 0, 0,
                     0x08, 0x04,
                     0x0c, 0x03, 'z',
                     0x0c, 0x06), &want, false);
    ls_amf_clear(&want);
}

static void test_traits(void **state)
{
    struct ls_amf_value want = amf_container(LS_AMF_STRICT_ARRAY, NULL);
    struct ls_amf_value a = amf_container(LS_AMF_TYPED_OBJECT, "Foo");
    struct ls_amf_value b = amf_container(LS_AMF_TYPED_OBJECT, "Foo");
    struct ls_amf_value mixed = amf_container(LS_AMF_OBJECT, NULL);
    (void)state;

    /* sealed typed object with inline traits, then one that references those traits */
    amf_add(&a, "x", amf_int(5));
    a.u.c->nsealed = 1;
    a.u.c->dynamic = false;
    check_vector(VEC(0x0a, 0x13, 0x07, 'F', 'o', 'o', 0x03, 'x', 0x04, 0x05), &a, true);
    amf_add(&b, "x", amf_int(6));
    b.u.c->nsealed = 1;
    b.u.c->dynamic = false;
    amf_push(&want, a);
    amf_push(&want, b);
    check_vector(VEC(0x09, 0x05, 0x01,
                     0x0a, 0x13, 0x07, 'F', 'o', 'o', 0x03, 'x', 0x04, 0x05,
                     0x0a, 0x01, 0x04, 0x06), &want, false);
    ls_amf_clear(&want);

    /* sealed and dynamic members together */
    amf_add(&mixed, "x", amf_int(1));
    amf_add(&mixed, "y", amf_int(2));
    mixed.u.c->nsealed = 1;
    check_vector(VEC(0x0a, 0x1b, 0x01, 0x03, 'x', 0x04, 0x01, 0x03, 'y', 0x04, 0x02, 0x01),
                 &mixed, true);
    ls_amf_clear(&mixed);

    /* an empty sealed anonymous object: no members, no end marker */
    mixed = amf_container(LS_AMF_OBJECT, NULL);
    mixed.u.c->dynamic = false;
    check_vector(VEC(0x0a, 0x03, 0x01), &mixed, true);
    ls_amf_clear(&mixed);
}

static void test_array_with_associative_part(void **state)
{
    struct ls_amf_value v = amf_container(LS_AMF_ECMA_ARRAY, NULL);
    (void)state;

    amf_add(&v, "k", amf_str("v"));
    amf_push(&v, amf_int(5));
    check_vector(VEC(0x09, 0x03, 0x03, 'k', 0x06, 0x03, 'v', 0x01, 0x04, 0x05), &v, true);
    ls_amf_clear(&v);
    v = amf_container(LS_AMF_STRICT_ARRAY, NULL);
    check_vector(VEC(0x09, 0x01, 0x01), &v, true);
    ls_amf_clear(&v);
}

static void test_vectors_and_dictionary(void **state)
{
    struct ls_amf_value v = amf_container(LS_AMF_VECTOR_INT, NULL);
    (void)state;

    amf_push(&v, amf_int(1));
    amf_push(&v, amf_int(-1));
    check_vector(VEC(0x0d, 0x05, 0x00, 0, 0, 0, 1, 0xff, 0xff, 0xff, 0xff), &v, true);
    ls_amf_clear(&v);

    v = amf_container(LS_AMF_VECTOR_UINT, NULL);
    v.u.c->fixed = true;
    amf_push(&v, amf_num(1));
    amf_push(&v, amf_num(4294967295.0));
    check_vector(VEC(0x0e, 0x05, 0x01, 0, 0, 0, 1, 0xff, 0xff, 0xff, 0xff), &v, true);
    ls_amf_clear(&v);

    v = amf_container(LS_AMF_VECTOR_DOUBLE, NULL);
    amf_push(&v, amf_num(1.5));
    check_vector(VEC(0x0f, 0x03, 0x00, 0x3f, 0xf8, 0, 0, 0, 0, 0, 0), &v, true);
    ls_amf_clear(&v);

    v = amf_container(LS_AMF_VECTOR_OBJECT, NULL);
    amf_push(&v, amf_int(1));
    amf_push(&v, amf_container(LS_AMF_STRICT_ARRAY, NULL));
    check_vector(VEC(0x10, 0x05, 0x00, 0x01, 0x04, 0x01, 0x09, 0x01, 0x01), &v, true);
    ls_amf_clear(&v);

    v = amf_container(LS_AMF_VECTOR_OBJECT, "Foo");
    amf_push(&v, amf_num(0));
    ls_amf_set_null(&v.u.c->items[0]);
    check_vector(VEC(0x10, 0x03, 0x00, 0x07, 'F', 'o', 'o', 0x01), &v, true);
    ls_amf_clear(&v);

    v = amf_container(LS_AMF_DICTIONARY, NULL);
    v.u.c->weak_keys = true;
    amf_push(&v, amf_str("k"));
    amf_push(&v, amf_int(1));
    check_vector(VEC(0x11, 0x03, 0x01, 0x06, 0x03, 'k', 0x04, 0x01), &v, true);
    ls_amf_clear(&v);

    /* a referenced vector is a copy like any other object */
    v = amf_container(LS_AMF_STRICT_ARRAY, NULL);
    {
        struct ls_amf_value vi = amf_container(LS_AMF_VECTOR_INT, NULL), copy = LS_AMF_VALUE_INIT;

        amf_push(&vi, amf_int(7));
        assert_int_equal(ls_amf_copy(&copy, &vi), LS_OK);
        amf_push(&v, vi);
        amf_push(&v, copy);
    }
    check_vector(VEC(0x09, 0x05, 0x01, 0x0d, 0x03, 0x00, 0, 0, 0, 7, 0x0d, 0x02), &v, false);
    ls_amf_clear(&v);
}

static void test_vector_number_conversions(void **state)
{
    struct ls_amf_value v = amf_container(LS_AMF_VECTOR_INT, NULL);
    static const uint8_t want_int[] = { 0x0d, 0x09, 0x00, 0x7f, 0xff, 0xff, 0xff, 0x80, 0, 0, 0,
                                        0, 0, 0, 0, 0xff, 0xff, 0xff, 0xfd };
    static const uint8_t want_uint[] = { 0x0e, 0x07, 0x00, 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0,
                                         0, 0, 0, 0 };
    struct ls_buf b;
    (void)state;

    amf_push(&v, amf_num(1e10));  /* clamps */
    amf_push(&v, amf_num(-1e10));
    amf_push(&v, amf_num(NAN));   /* → 0 */
    amf_push(&v, amf_num(-3.7));  /* truncates toward zero */
    ls_buf_init(&b, 0);
    ls_amf3_encode(&b, &v);
    assert_int_equal(b.len, sizeof want_int);
    assert_memory_equal(b.data, want_int, sizeof want_int);
    ls_amf_clear(&v);
    v = amf_container(LS_AMF_VECTOR_UINT, NULL);
    amf_push(&v, amf_num(1e10));
    amf_push(&v, amf_num(-5));
    amf_push(&v, amf_num(NAN));
    ls_buf_reset(&b);
    ls_amf3_encode(&b, &v);
    assert_int_equal(b.len, sizeof want_uint);
    assert_memory_equal(b.data, want_uint, sizeof want_uint);
    ls_amf_clear(&v);
    ls_buf_free(&b);
}

static void test_message_context_spans_calls(void **state)
{
    static const uint8_t first[] = { 0x0a, 0x13, 0x07, 'F', 'o', 'o', 0x03, 'x', 0x04, 0x05 };
    static const uint8_t second[] = { 0x0a, 0x01, 0x04, 0x06 };      /* traits ref 0 */
    static const uint8_t third[] = { 0x06, 0x02 };                   /* string ref 1: "x" */
    static const uint8_t fourth[] = { 0x0a, 0x00 };                  /* object ref 0 */
    struct ls_amf3_decoder d;
    struct ls_amf_value a = LS_AMF_VALUE_INIT, b = LS_AMF_VALUE_INIT;
    struct ls_amf_value c = LS_AMF_VALUE_INIT, e = LS_AMF_VALUE_INIT;
    double x = 0;
    (void)state;

    ls_amf3_decoder_init(&d, NULL);
    assert_int_equal(ls_amf3_decode(&d, first, sizeof first, &a, NULL), (ssize_t)sizeof first);
    assert_int_equal(ls_amf3_decode(&d, second, sizeof second, &b, NULL), (ssize_t)sizeof second);
    assert_string_equal(b.u.c->class_name, "Foo");
    assert_true(ls_amf_get_number(&b, "x", &x));
    assert_true(x == 6);
    assert_int_equal(ls_amf3_decode(&d, third, sizeof third, &c, NULL), (ssize_t)sizeof third);
    assert_string_equal(c.u.str.ptr, "x");
    assert_int_equal(ls_amf3_decode(&d, fourth, sizeof fourth, &e, NULL), (ssize_t)sizeof fourth);
    assert_true(ls_amf_equal(&a, &e));
    ls_amf_clear(&a);
    ls_amf_clear(&b);
    ls_amf_clear(&c);
    ls_amf_clear(&e);
    ls_amf3_decoder_free(&d);
}

/* ---- malformed input ------------------------------------------------------------------------ */

static void test_malformed_table(void **state)
{
    static const struct {
        const char *what;
        uint8_t bytes[16];
        size_t len;
        int code;
    } cases[] = {
        { "empty", { 0 }, 0, LS_EPROTO },
        { "unknown marker", { 0x12 }, 1, LS_EPROTO },
        { "unknown marker ff", { 0xff }, 1, LS_EPROTO },
        { "integer short", { 0x04, 0x80 }, 2, LS_EPROTO },
        { "double short", { 0x05, 0, 0 }, 3, LS_EPROTO },
        { "string short", { 0x06, 0x07, 'a' }, 3, LS_EPROTO },
        { "string ref, empty table", { 0x06, 0x00 }, 2, LS_EPROTO },
        { "object ref, empty table", { 0x0a, 0x00 }, 2, LS_EPROTO },
        { "array ref, empty table", { 0x09, 0x02 }, 2, LS_EPROTO },
        { "xml ref, empty table", { 0x0b, 0x00 }, 2, LS_EPROTO },
        { "traits ref, empty table", { 0x0a, 0x01 }, 2, LS_EPROTO },
        { "externalizable", { 0x0a, 0x07, 0x07, 'F', 'o', 'o' }, 6, LS_EUNSUPPORTED },
        { "externalizable, no name", { 0x0a, 0x07 }, 2, LS_EUNSUPPORTED },
        { "cycle: array holds itself", { 0x09, 0x03, 0x01, 0x09, 0x00 }, 5, LS_EPROTO },
        { "cycle: object member is itself", { 0x0a, 0x0b, 0x01, 0x03, 'a', 0x0a, 0x00, 0x01 },
          8, LS_EPROTO },
        { "array count > message", { 0x09, 0xff, 0xff, 0x7f, 0x01 }, 5, LS_EPROTO },
        { "vector count > message", { 0x0d, 0x05, 0x00, 0, 0, 0, 1 }, 7, LS_EPROTO },
        { "vector double count > message", { 0x0f, 0x03, 0x00, 0, 0, 0, 0 }, 7, LS_EPROTO },
        { "vector without fixed flag", { 0x0e, 0x01 }, 2, LS_EPROTO },
        { "dictionary count > message", { 0x11, 0x05, 0x00, 0x01, 0x01 }, 5, LS_EPROTO },
        { "dictionary without weak flag", { 0x11, 0x01 }, 2, LS_EPROTO },
        { "date without double", { 0x08, 0x01, 0, 0 }, 4, LS_EPROTO },
        { "object member missing", { 0x0a, 0x13, 0x01, 0x03, 'x' }, 5, LS_EPROTO },
        { "dynamic member without end", { 0x0a, 0x0b, 0x01, 0x03, 'a', 0x01 }, 6, LS_EPROTO },
        { "byte array short", { 0x0c, 0x05, 0x00 }, 3, LS_EPROTO },
    };
    size_t i;
    (void)state;

    for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        ssize_t rc = decode_with(cases[i].bytes, cases[i].len, NULL);

        if (rc != cases[i].code)
            fail_msg("case \"%s\": got %zd, want %d", cases[i].what, rc, cases[i].code);
    }
}

static void test_failed_decode_rolls_back_objects(void **state)
{
    static const uint8_t first[] = { 0x09, 0x01, 0x01 };
    /* [ [], <truncated string> ]: the inner array is complete when the decode fails */
    static const uint8_t broken[] = { 0x09, 0x05, 0x01, 0x09, 0x01, 0x01, 0x06 };
    static const uint8_t ref1[] = { 0x09, 0x02 };
    static const uint8_t ref2[] = { 0x09, 0x04 };
    static const uint8_t ref0[] = { 0x09, 0x00 };
    struct ls_amf3_decoder d;
    struct ls_amf_value a = LS_AMF_VALUE_INIT, b = LS_AMF_VALUE_INIT;
    uint8_t *trunc = input_dup_exact(broken, sizeof broken);
    (void)state;

    ls_amf3_decoder_init(&d, NULL);
    assert_int_equal(ls_amf3_decode(&d, first, sizeof first, &a, NULL), 3);
    assert_int_equal(ls_amf3_decode(&d, trunc, sizeof broken, &b, NULL), LS_EPROTO);
    assert_int_equal(ls_amf3_decode(&d, ref1, sizeof ref1, &b, NULL), LS_EPROTO);
    assert_int_equal(ls_amf3_decode(&d, ref2, sizeof ref2, &b, NULL), LS_EPROTO);
    assert_int_equal(ls_amf3_decode(&d, ref0, sizeof ref0, &b, NULL), 2);
    assert_true(ls_amf_equal(&a, &b));
    ls_amf_clear(&a);
    ls_amf_clear(&b);
    ls_amf3_decoder_free(&d);
    free(trunc);
}

/* ---- limits ------------------------------------------------------------------------------------ */

static void test_limits(void **state)
{
    struct ls_amf_limits lim = ls_amf_default_limits;
    (void)state;

    /* depth: arrays nested two deep */
    lim.max_depth = 2;
    assert_true(decode_with(VEC(0x09, 0x03, 0x01, 0x09, 0x01, 0x01), &lim) > 0);
    lim.max_depth = 1;
    assert_int_equal(decode_with(VEC(0x09, 0x03, 0x01, 0x09, 0x01, 0x01), &lim), LS_ELIMIT);
    assert_int_equal(decode_with(VEC(0x09, 0x03, 0x01, 0x0a, 0x0b, 0x01, 0x01), &lim), LS_ELIMIT);
    assert_int_equal(decode_with(VEC(0x09, 0x03, 0x01, 0x0d, 0x01, 0x00), &lim), LS_ELIMIT);
    assert_int_equal(decode_with(VEC(0x09, 0x03, 0x01, 0x11, 0x01, 0x00), &lim), LS_ELIMIT);
    /* a reference cannot smuggle depth in: [ [], [ ref 1 ] ] with max_depth 2 */
    lim.max_depth = 2;
    assert_int_equal(decode_with(VEC(0x09, 0x05, 0x01, 0x09, 0x01, 0x01, 0x09, 0x03, 0x01,
                                     0x09, 0x02), &lim), LS_ELIMIT);
    lim.max_depth = 3;
    assert_true(decode_with(VEC(0x09, 0x05, 0x01, 0x09, 0x01, 0x01, 0x09, 0x03, 0x01,
                                0x09, 0x02), &lim) > 0);

    /* nodes */
    lim = ls_amf_default_limits;
    lim.max_nodes = 3; /* an array of two nulls */
    assert_true(decode_with(VEC(0x09, 0x05, 0x01, 0x01, 0x01), &lim) > 0);
    assert_int_equal(decode_with(VEC(0x09, 0x07, 0x01, 0x01, 0x01, 0x01), &lim), LS_ELIMIT);
    assert_int_equal(decode_with(VEC(0x0d, 0x07, 0x00, 0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0, 3),
                                 &lim), LS_ELIMIT);
    lim.max_nodes = 0;
    assert_int_equal(decode_with(VEC(0x08, 0x01, 0, 0, 0, 0, 0, 0, 0, 0), &lim), LS_ELIMIT);
    assert_int_equal(decode_with(VEC(0x0c, 0x01), &lim), LS_ELIMIT);
    assert_int_equal(decode_with(VEC(0x0a, 0x0b, 0x01, 0x01), &lim), LS_ELIMIT);
    assert_int_equal(decode_with(VEC(0x11, 0x01, 0x00), &lim), LS_ELIMIT);
    assert_int_equal(decode_with(VEC(0x10, 0x01, 0x00, 0x01), &lim), LS_ELIMIT);

    /* the string table is bounded by max_nodes even though names are not values */
    lim.max_nodes = 2;
    assert_int_equal(decode_with(VEC(0x0a, 0x33, 0x01, 0x03, 'a', 0x03, 'b', 0x03, 'c'), &lim),
                     LS_ELIMIT);

    /* string length */
    lim = ls_amf_default_limits;
    lim.max_string = 3;
    assert_true(decode_with(VEC(0x06, 0x07, 'a', 'b', 'c'), &lim) > 0);
    assert_int_equal(decode_with(VEC(0x06, 0x09, 'a', 'b', 'c', 'd'), &lim), LS_ELIMIT);
    assert_int_equal(decode_with(VEC(0x0c, 0x09, 'a', 'b', 'c', 'd'), &lim), LS_ELIMIT);

    /* string bytes, counting copies made by string references */
    lim = ls_amf_default_limits;
    lim.max_bytes = 5;
    assert_true(decode_with(VEC(0x09, 0x05, 0x01, 0x06, 0x05, 'a', 'b', 0x06, 0x00), &lim) > 0);
    assert_int_equal(decode_with(VEC(0x09, 0x07, 0x01, 0x06, 0x05, 'a', 'b', 0x06, 0x00,
                                     0x06, 0x00), &lim), LS_ELIMIT);
    assert_int_equal(decode_with(VEC(0x0a, 0x0b, 0x01, 0x0d, 'k', 'k', 'k', 'k', 'k', 'k',
                                     0x01, 0x01), &lim), LS_ELIMIT); /* key bytes */
    assert_int_equal(decode_with(VEC(0x0c, 0x0d, 1, 2, 3, 4, 5, 6), &lim), LS_ELIMIT);
    assert_int_equal(decode_with(VEC(0x0a, 0x03, 0x0d, 'K', 'K', 'K', 'K', 'K', 'K'), &lim),
                     LS_ELIMIT); /* class name bytes */
}

/*
 * A traits table is charged against max_nodes before it is filled: an object declaring
 * 1000 sealed members (1000 one-byte names follow) under a budget of 100 nodes fails
 * without a single name stored; a count larger than the rest of the message fails before
 * anything is read.
 */
static void test_traits_charged_before_filled(void **state)
{
    struct ls_amf_limits lim = ls_amf_default_limits;
    struct ls_amf3_decoder d;
    struct ls_amf_value out = LS_AMF_VALUE_INIT;
    const char *why = NULL;
    uint8_t msg[2100];
    size_t len = 0, i;
    (void)state;

    msg[len++] = 0x0a;
    msg[len++] = 0xfd; /* U29 16003 = 1000 << 4 | 0b0011: inline object, inline traits, */
    msg[len++] = 0x03; /* 1000 sealed members, not dynamic */
    msg[len++] = 0x01; /* anonymous */
    for (i = 0; i < 1000; i++)
        msg[len++] = 0x01; /* each name "" (one byte) */
    lim.max_nodes = 100;
    ls_amf3_decoder_init(&d, &lim);
    assert_int_equal(ls_amf3_decode(&d, msg, len, &out, &why), LS_ELIMIT);
    assert_string_equal(why, "AMF3: more values than max_nodes");
    assert_int_equal(d._tnames_cap, 0);
    assert_int_equal(d._traits_cap, 0);
    ls_amf3_decoder_free(&d);
    /* within the budget the same object decodes (its values follow: 1000 nulls) */
    for (i = 0; i < 1000; i++)
        msg[len++] = 0x01;
    lim.max_nodes = 3000;
    ls_amf3_decoder_init(&d, &lim);
    assert_int_equal(ls_amf3_decode(&d, msg, len, &out, &why), (ssize_t)len);
    assert_int_equal(out.type, LS_AMF_OBJECT);
    ls_amf_clear(&out);
    ls_amf3_decoder_free(&d);
    /* a count the message cannot hold: refused before reading a name */
    msg[1] = 0xff;
    msg[2] = 0xff;
    msg[3] = 0x73; /* U29 0x1ffff3: inline, not dynamic, 131071 sealed members in 1 byte */
    msg[4] = 0x01;
    ls_amf3_decoder_init(&d, NULL);
    assert_int_equal(ls_amf3_decode(&d, msg, 5, &out, &why), LS_EPROTO);
    assert_string_equal(why, "AMF3: sealed member count exceeds the message");
    assert_int_equal(d._tnames_cap, 0);
    ls_amf3_decoder_free(&d);
}

/* 16^5 values described in 60-odd bytes: array of 16 nulls, then arrays of 16 references
 * to the previous level. Must stop at max_nodes. */
static void test_reference_bomb(void **state)
{
    uint8_t msg[256];
    size_t len = 0, level, i;
    struct ls_amf3_decoder d;
    struct ls_amf_value out = LS_AMF_VALUE_INIT;
    const char *why = NULL;
    (void)state;

    msg[len++] = 0x09; /* outer array holding the levels */
    msg[len++] = 5 << 1 | 1;
    msg[len++] = 0x01;
    for (level = 0; level < 5; level++) {
        msg[len++] = 0x09;
        msg[len++] = 16 << 1 | 1;
        msg[len++] = 0x01;
        for (i = 0; i < 16; i++) {
            if (level == 0) {
                msg[len++] = 0x01;
            } else {
                msg[len++] = 0x09;
                msg[len++] = (uint8_t)(level << 1); /* object level: outer is 0 */
            }
        }
    }
    ls_amf3_decoder_init(&d, NULL);
    assert_int_equal(ls_amf3_decode(&d, msg, len, &out, &why), LS_ELIMIT);
    assert_non_null(why);
    assert_int_equal(out.type, LS_AMF_NULL);
    ls_amf3_decoder_free(&d);
}

/* ---- encoder ---------------------------------------------------------------------------------- */

static void test_encoder_golden_and_errors(void **state)
{
    struct ls_amf_value o = amf_container(LS_AMF_OBJECT, NULL), v = LS_AMF_VALUE_INIT;
    static const uint8_t want_obj[] = { 0x0a, 0x0b, 0x01, 0x03, 'a', 0x04, 0x01, 0x01 };
    struct ls_buf b;
    (void)state;

    amf_add(&o, "a", amf_int(1));
    ls_buf_init(&b, 0);
    ls_amf3_encode(&b, &o);
    assert_int_equal(b.len, sizeof want_obj);
    assert_memory_equal(b.data, want_obj, sizeof want_obj);
    ls_amf_clear(&o);

    /* unsupported becomes undefined; AMF0 objects are dynamic in AMF3 */
    ls_buf_reset(&b);
    v.type = LS_AMF_UNSUPPORTED;
    ls_amf3_encode(&b, &v);
    assert_int_equal(b.len, 1);
    assert_int_equal(b.data[0], LS_AMF3_UNDEFINED);

    /* a dynamic member named "" would end the list early */
    o = amf_container(LS_AMF_OBJECT, NULL);
    amf_add(&o, "", amf_int(1));
    ls_buf_reset(&b);
    ls_amf3_encode(&b, &o);
    assert_int_equal(ls_buf_status(&b), LS_EINVAL);
    ls_amf_clear(&o);

    /* odd dictionary */
    o = amf_container(LS_AMF_DICTIONARY, NULL);
    amf_push(&o, amf_int(1));
    ls_buf_reset(&b);
    ls_amf3_encode(&b, &o);
    assert_int_equal(ls_buf_status(&b), LS_EINVAL);
    ls_amf_clear(&o);

    /* nsealed larger than the member count is clamped, not trusted */
    o = amf_container(LS_AMF_OBJECT, NULL);
    amf_add(&o, "a", amf_int(1));
    o.u.c->nsealed = 5;
    o.u.c->dynamic = false;
    ls_buf_reset(&b);
    ls_amf3_encode(&b, &o);
    assert_int_equal(ls_buf_status(&b), LS_OK);
    assert_memory_equal(b.data, "\x0a\x13\x01\x03" "a\x04\x01", 7);
    ls_amf_clear(&o);

    /* an invalid type value is refused */
    ls_buf_reset(&b);
    v.type = (enum ls_amf_type)99;
    ls_amf3_encode(&b, &v);
    assert_int_equal(ls_buf_status(&b), LS_EINVAL);
    ls_buf_free(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_u29_every_width),
        cmocka_unit_test(test_scalars),
        cmocka_unit_test(test_integer_out_of_range_encodes_as_double),
        cmocka_unit_test(test_strings_and_blobs),
        cmocka_unit_test(test_string_table),
        cmocka_unit_test(test_object_table),
        cmocka_unit_test(test_traits),
        cmocka_unit_test(test_array_with_associative_part),
        cmocka_unit_test(test_vectors_and_dictionary),
        cmocka_unit_test(test_vector_number_conversions),
        cmocka_unit_test(test_message_context_spans_calls),
        cmocka_unit_test(test_malformed_table),
        cmocka_unit_test(test_failed_decode_rolls_back_objects),
        cmocka_unit_test(test_limits),
        cmocka_unit_test(test_reference_bomb),
        cmocka_unit_test(test_traits_charged_before_filled),
        cmocka_unit_test(test_encoder_golden_and_errors),
    };
    return cmocka_run_group_tests_name("amf3", tests, NULL, NULL);
}
