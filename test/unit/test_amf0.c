/*
 * Unit tests for amf0.c and the shared value type (amf.c).
 *
 * Vectors are hand-encoded from the AMF0 specification (December 2007), one or more per
 * type marker. AMF0 decoding works on whole messages (no LS_AGAIN), so "one byte at a
 * time" means: every proper prefix of a vector, in an exactly-sized heap buffer (so ASan
 * sees any over-read), must be refused as LS_EPROTO with nothing leaked, and the whole
 * vector must decode to the expected value at any alignment and with trailing bytes.
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
#include "libstream/amf0.h"
#include "libstream/amf3.h"
#include "libstream/buf.h"
#include "libstream/err.h"
#include "support/amf_build.h"
#include "support/input.h"

/* ---- helpers ---------------------------------------------------------------------------- */

static ssize_t decode_one(const uint8_t *p, size_t len, const struct ls_amf_limits *lim,
                          struct ls_amf_value *out, const char **why)
{
    struct ls_amf0_decoder d;
    ssize_t rc;

    ls_amf0_decoder_init(&d, lim);
    rc = ls_amf0_decode(&d, p, len, out, why);
    ls_amf0_decoder_free(&d);
    return rc;
}

/*
 * The whole vector decodes to `want` (at every alignment, and with trailing bytes after
 * it); every proper prefix is LS_EPROTO and leaves the output NULL. When `canonical`, the
 * encoder reproduces the vector byte for byte.
 */
static void check_vector(const uint8_t *vec, size_t len, const struct ls_amf_value *want,
                         bool canonical)
{
    struct ls_amf_value got = LS_AMF_VALUE_INIT;
    const char *why = NULL;
    uint8_t *buf;
    struct ls_buf b;
    size_t n, k;

    buf = input_dup_exact(vec, len);
    assert_int_equal(decode_one(buf, len, NULL, &got, &why), (ssize_t)len);
    assert_true(ls_amf_equal(&got, want));
    free(buf);

    for (k = 1; k < 8; k++) {
        struct ls_amf_value tmp = LS_AMF_VALUE_INIT;

        buf = calloc(1, len + k + 3);
        assert_non_null(buf);
        memcpy(buf + k, vec, len);
        buf[k + len] = 0xff; /* trailing garbage is not consumed */
        assert_int_equal(decode_one(buf + k, len + 3, NULL, &tmp, NULL), (ssize_t)len);
        assert_true(ls_amf_equal(&tmp, want));
        ls_amf_clear(&tmp);
        free(buf);
    }

    for (n = 0; n < len; n++) {
        struct ls_amf_value part = LS_AMF_VALUE_INIT;

        buf = input_dup_exact(vec, n);
        why = NULL;
        assert_int_equal(decode_one(buf, n, NULL, &part, &why), LS_EPROTO);
        assert_non_null(why);
        assert_int_equal(part.type, LS_AMF_NULL);
        free(buf);
    }

    if (canonical) {
        ls_buf_init(&b, 0);
        ls_amf0_encode(&b, &got);
        assert_int_equal(ls_buf_status(&b), LS_OK);
        assert_int_equal(b.len, len);
        assert_memory_equal(b.data, vec, len);
        ls_buf_free(&b);
    }
    ls_amf_clear(&got);
}

static void expect_error(const uint8_t *vec, size_t len, const struct ls_amf_limits *lim,
                         int code)
{
    struct ls_amf_value out = LS_AMF_VALUE_INIT;
    const char *why = NULL;
    uint8_t *buf = input_dup_exact(vec, len);

    assert_int_equal(decode_one(buf, len, lim, &out, &why), code);
    assert_non_null(why);
    assert_int_equal(out.type, LS_AMF_NULL);
    free(buf);
}

#define VEC(...) ((const uint8_t[]){ __VA_ARGS__ }), sizeof((const uint8_t[]){ __VA_ARGS__ })

/* ---- spec vectors, one per type ----------------------------------------------------------- */

static void test_scalars(void **state)
{
    struct ls_amf_value v = LS_AMF_VALUE_INIT;
    (void)state;

    v = amf_num(1.0);
    check_vector(VEC(0x00, 0x3f, 0xf0, 0, 0, 0, 0, 0, 0), &v, true);
    v = amf_num(-2.5);
    check_vector(VEC(0x00, 0xc0, 0x04, 0, 0, 0, 0, 0, 0), &v, true);
    v = amf_bool(true);
    check_vector(VEC(0x01, 0x01), &v, true);
    check_vector(VEC(0x01, 0x05), &v, false); /* any non-zero byte is true */
    v = amf_bool(false);
    check_vector(VEC(0x01, 0x00), &v, true);
    ls_amf_set_null(&v);
    check_vector(VEC(0x05), &v, true);
    ls_amf_set_undefined(&v);
    check_vector(VEC(0x06), &v, true);
    v.type = LS_AMF_UNSUPPORTED;
    check_vector(VEC(0x0d), &v, true);
    ls_amf_set_date(&v, 1234567890123.0, 0);
    check_vector(VEC(0x0b, 0x42, 0x71, 0xf7, 0x1f, 0xb0, 0x4c, 0xb0, 0x00, 0x00, 0x00), &v, true);
    ls_amf_set_date(&v, 0, -60); /* tz is reserved but kept, signed */
    check_vector(VEC(0x0b, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xc4), &v, true);
}

static void test_strings(void **state)
{
    struct ls_amf_value v;
    (void)state;

    v = amf_str("hello");
    check_vector(VEC(0x02, 0x00, 0x05, 'h', 'e', 'l', 'l', 'o'), &v, true);
    ls_amf_clear(&v);
    v = amf_str("");
    check_vector(VEC(0x02, 0x00, 0x00), &v, true);
    ls_amf_clear(&v);
    /* long string with a short body decodes; the encoder picks the short form */
    v = amf_str("abc");
    check_vector(VEC(0x0c, 0x00, 0x00, 0x00, 0x03, 'a', 'b', 'c'), &v, false);
    ls_amf_clear(&v);
    /* bytes are bytes: embedded NUL and invalid UTF-8 survive */
    assert_int_equal(ls_amf_set_string(&v, "a\0\xff", 3), LS_OK);
    check_vector(VEC(0x02, 0x00, 0x03, 'a', 0x00, 0xff), &v, true);
    assert_int_equal(v.u.str.ptr[3], '\0');
    ls_amf_clear(&v);
    assert_int_equal(ls_amf_set_bytes(&v, LS_AMF_XML_DOC, "<a/>", 4), LS_OK);
    check_vector(VEC(0x0f, 0x00, 0x00, 0x00, 0x04, '<', 'a', '/', '>'), &v, true);
    ls_amf_clear(&v);
}

static void test_object(void **state)
{
    struct ls_amf_value v = amf_container(LS_AMF_OBJECT, NULL);
    (void)state;

    amf_add(&v, "a", amf_num(1.0));
    amf_add(&v, "bc", amf_str("x"));
    check_vector(VEC(0x03, 0x00, 0x01, 'a', 0x00, 0x3f, 0xf0, 0, 0, 0, 0, 0, 0,
                     0x00, 0x02, 'b', 'c', 0x02, 0x00, 0x01, 'x', 0x00, 0x00, 0x09), &v, true);
    assert_int_equal(v.u.c->nprops, 2);
    ls_amf_clear(&v);

    v = amf_container(LS_AMF_OBJECT, NULL);
    check_vector(VEC(0x03, 0x00, 0x00, 0x09), &v, true);
    /* an empty name followed by something other than 09 is a member named "" */
    amf_add(&v, "", amf_container(LS_AMF_OBJECT, NULL));
    check_vector(VEC(0x03, 0x00, 0x00, 0x03, 0x00, 0x00, 0x09, 0x00, 0x00, 0x09), &v, true);
    ls_amf_clear(&v);
}

static void test_ecma_array_count_is_a_hint(void **state)
{
    struct ls_amf_value v = amf_container(LS_AMF_ECMA_ARRAY, NULL);
    (void)state;

    amf_add(&v, "key", amf_str("v"));
    check_vector(VEC(0x08, 0x00, 0x00, 0x00, 0x01, 0x00, 0x03, 'k', 'e', 'y', 0x02, 0x00, 0x01,
                     'v', 0x00, 0x00, 0x09), &v, true);
    /* encoders lie about the count: 0 and 1000 both decode by the end marker */
    check_vector(VEC(0x08, 0x00, 0x00, 0x00, 0x00, 0x00, 0x03, 'k', 'e', 'y', 0x02, 0x00, 0x01,
                     'v', 0x00, 0x00, 0x09), &v, false);
    check_vector(VEC(0x08, 0x00, 0x00, 0x03, 0xe8, 0x00, 0x03, 'k', 'e', 'y', 0x02, 0x00, 0x01,
                     'v', 0x00, 0x00, 0x09), &v, false);
    ls_amf_clear(&v);
}

static void test_strict_array_and_typed_object(void **state)
{
    struct ls_amf_value v = amf_container(LS_AMF_STRICT_ARRAY, NULL);
    struct ls_amf_value t = amf_container(LS_AMF_TYPED_OBJECT, "Foo");
    (void)state;

    amf_push(&v, amf_num(0));
    amf_push(&v, amf_bool(true));
    amf_push(&v, amf_container(LS_AMF_STRICT_ARRAY, NULL));
    check_vector(VEC(0x0a, 0x00, 0x00, 0x00, 0x03, 0x00, 0, 0, 0, 0, 0, 0, 0, 0, 0x01, 0x01,
                     0x0a, 0x00, 0x00, 0x00, 0x00), &v, true);
    ls_amf_clear(&v);

    amf_add(&t, "x", amf_bool(true));
    check_vector(VEC(0x10, 0x00, 0x03, 'F', 'o', 'o', 0x00, 0x01, 'x', 0x01, 0x01, 0x00, 0x00,
                     0x09), &t, true);
    assert_string_equal(t.u.c->class_name, "Foo");
    ls_amf_clear(&t);
}

static void test_reference_is_a_deep_copy(void **state)
{
    /* [ {a: 1}, ref 1 ]: the strict array is complex value 0, the object 1 */
    static const uint8_t msg[] = { 0x0a, 0x00, 0x00, 0x00, 0x02,
                                   0x03, 0x00, 0x01, 'a', 0x00, 0x3f, 0xf0, 0, 0, 0, 0, 0, 0,
                                   0x00, 0x00, 0x09,
                                   0x07, 0x00, 0x01 };
    struct ls_amf_value want = amf_container(LS_AMF_STRICT_ARRAY, NULL);
    struct ls_amf_value obj = amf_container(LS_AMF_OBJECT, NULL);
    struct ls_amf_value copy = LS_AMF_VALUE_INIT, got = LS_AMF_VALUE_INIT;
    (void)state;

    amf_add(&obj, "a", amf_num(1));
    assert_int_equal(ls_amf_copy(&copy, &obj), LS_OK);
    amf_push(&want, obj);
    amf_push(&want, copy);
    check_vector(msg, sizeof msg, &want, false);
    assert_int_equal(decode_one(msg, sizeof msg, NULL, &got, NULL), (ssize_t)sizeof msg);
    /* two separately owned trees, not one shared container */
    assert_ptr_not_equal(got.u.c->items[0].u.c, got.u.c->items[1].u.c);
    ls_amf_clear(&got);
    ls_amf_clear(&want);
}

static void test_reference_across_values_of_a_message(void **state)
{
    static const uint8_t msg[] = { 0x03, 0x00, 0x01, 'k', 0x02, 0x00, 0x01, 'v', 0x00, 0x00, 0x09,
                                   0x07, 0x00, 0x00 };
    struct ls_amf_value *vals;
    size_t count;
    (void)state;

    assert_int_equal(ls_amf0_decode_all(msg, sizeof msg, NULL, &vals, &count, NULL),
                     (ssize_t)sizeof msg);
    assert_int_equal(count, 2);
    assert_true(ls_amf_equal(&vals[0], &vals[1]));
    assert_string_equal(ls_amf_get_string(&vals[1], "k"), "v");
    ls_amf_values_free(vals, count);
}

static void test_avmplus_switch_keeps_amf3_context(void **state)
{
    /* two AVM+ values in one message; the second is an AMF3 string reference to the first */
    static const uint8_t msg[] = { 0x11, 0x06, 0x07, 'a', 'b', 'c', 0x11, 0x06, 0x00,
                                   0x11, 0x04, 0x05 };
    struct ls_amf_value *vals;
    struct ls_amf_value want = LS_AMF_VALUE_INIT;
    size_t count;
    (void)state;

    assert_int_equal(ls_amf0_decode_all(msg, sizeof msg, NULL, &vals, &count, NULL),
                     (ssize_t)sizeof msg);
    assert_int_equal(count, 3);
    assert_string_equal(vals[0].u.str.ptr, "abc");
    assert_string_equal(vals[1].u.str.ptr, "abc");
    assert_int_equal(vals[2].type, LS_AMF_INTEGER);
    assert_int_equal(vals[2].u.integer, 5);
    ls_amf_values_free(vals, count);

    ls_amf_set_integer(&want, 5);
    check_vector(VEC(0x11, 0x04, 0x05), &want, false); /* INTEGER re-encodes as a number */
    /* an AMF3 object inside an AMF0 object */
    want = amf_container(LS_AMF_OBJECT, NULL);
    amf_add(&want, "o", amf_container(LS_AMF_OBJECT, NULL));
    want.u.c->props[0].value.u.c->dynamic = true;
    check_vector(VEC(0x03, 0x00, 0x01, 'o', 0x11, 0x0a, 0x0b, 0x01, 0x01, 0x00, 0x00, 0x09),
                 &want, false);
    ls_amf_clear(&want);
}

static void test_decode_all(void **state)
{
    static const uint8_t bad[] = { 0x05, 0x05, 0x02, 0x00 };
    struct ls_amf_value *vals = (struct ls_amf_value *)&vals;
    size_t count = 99, i;
    uint8_t many[40];
    const char *why = NULL;
    (void)state;

    assert_int_equal(ls_amf0_decode_all(NULL, 0, NULL, &vals, &count, NULL), 0);
    assert_null(vals);
    assert_int_equal(count, 0);
    assert_int_equal(ls_amf0_decode_all(bad, sizeof bad, NULL, &vals, &count, &why), LS_EPROTO);
    assert_null(vals);
    assert_int_equal(count, 0);
    assert_non_null(why);
    memset(many, LS_AMF0_NULL, sizeof many); /* grows the array past its first size */
    assert_int_equal(ls_amf0_decode_all(many, sizeof many, NULL, &vals, &count, NULL),
                     (ssize_t)sizeof many);
    assert_int_equal(count, sizeof many);
    for (i = 0; i < count; i++)
        assert_int_equal(vals[i].type, LS_AMF_NULL);
    ls_amf_values_free(vals, count);
}

/* ---- malformed input ---------------------------------------------------------------------- */

static void test_malformed_table(void **state)
{
    static const struct {
        const char *what;
        uint8_t bytes[24];
        size_t len;
        int code;
    } cases[] = {
        { "empty", { 0 }, 0, LS_EPROTO },
        { "movieclip", { 0x04 }, 1, LS_EPROTO },
        { "recordset", { 0x0e }, 1, LS_EPROTO },
        { "object end as a value", { 0x09 }, 1, LS_EPROTO },
        { "unknown marker", { 0x12 }, 1, LS_EPROTO },
        { "unknown marker ff", { 0xff }, 1, LS_EPROTO },
        { "number short", { 0x00, 0x3f, 0xf0 }, 3, LS_EPROTO },
        { "boolean short", { 0x01 }, 1, LS_EPROTO },
        { "string body short", { 0x02, 0x00, 0x05, 'h', 'i' }, 5, LS_EPROTO },
        { "string length short", { 0x02, 0x00 }, 2, LS_EPROTO },
        { "long string short", { 0x0c, 0x00, 0x00, 0x00, 0x10, 'a' }, 6, LS_EPROTO },
        { "member value missing", { 0x03, 0x00, 0x01, 'a' }, 4, LS_EPROTO },
        { "no end marker", { 0x03, 0x00, 0x01, 'a', 0x05 }, 5, LS_EPROTO },
        { "end marker byte missing", { 0x03, 0x00, 0x00 }, 3, LS_EPROTO },
        { "member value is object end", { 0x03, 0x00, 0x01, 'a', 0x09 }, 5, LS_EPROTO },
        { "reference with empty table", { 0x07, 0x00, 0x00 }, 3, LS_EPROTO },
        { "reference short", { 0x07, 0x00 }, 2, LS_EPROTO },
        { "strict array count > message", { 0x0a, 0xff, 0xff, 0xff, 0xff, 0x05 }, 6, LS_EPROTO },
        { "strict array count short", { 0x0a, 0x00, 0x00 }, 3, LS_EPROTO },
        { "ecma count short", { 0x08, 0x00, 0x00 }, 3, LS_EPROTO },
        { "date short", { 0x0b, 0, 0, 0, 0, 0, 0, 0, 0, 0 }, 10, LS_EPROTO },
        { "typed object name short", { 0x10, 0x00, 0x05, 'F', 'o' }, 5, LS_EPROTO },
        { "typed object name length short", { 0x10, 0x00 }, 2, LS_EPROTO },
        { "cycle: object refers to itself", { 0x03, 0x00, 0x01, 'a', 0x07, 0x00, 0x00, 0x00,
                                              0x00, 0x09 }, 10, LS_EPROTO },
        { "avm+ with nothing after", { 0x11 }, 1, LS_EPROTO },
        { "avm+ externalizable", { 0x11, 0x0a, 0x07, 0x07, 'F', 'o', 'o' }, 7, LS_EUNSUPPORTED },
        { "xml doc short", { 0x0f, 0x00, 0x00, 0x00, 0x02, '<' }, 6, LS_EPROTO },
    };
    size_t i;
    (void)state;

    for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct ls_amf_value out = LS_AMF_VALUE_INIT;
        const char *why = NULL;
        uint8_t *buf = input_dup_exact(cases[i].bytes, cases[i].len);
        ssize_t rc = decode_one(buf, cases[i].len, NULL, &out, &why);

        free(buf);
        if (rc != cases[i].code || why == NULL || out.type != LS_AMF_NULL)
            fail_msg("case \"%s\": got %zd, want %d", cases[i].what, rc, cases[i].code);
    }
}

static void test_failed_decode_rolls_back_references(void **state)
{
    static const uint8_t first[] = { 0x03, 0x00, 0x00, 0x09 };
    /* [ {}, <truncated string> ]: the {} is complete when the decode fails */
    static const uint8_t broken[] = { 0x0a, 0x00, 0x00, 0x00, 0x02, 0x03, 0x00, 0x00, 0x09,
                                      0x02 };
    static const uint8_t avm_broken[] = { 0x0a, 0x00, 0x00, 0x00, 0x02, 0x11, 0x09, 0x01, 0x01,
                                          0x02 };
    static const uint8_t ref1[] = { 0x07, 0x00, 0x01 };
    static const uint8_t ref2[] = { 0x07, 0x00, 0x02 };
    static const uint8_t ref0[] = { 0x07, 0x00, 0x00 };
    static const uint8_t amf3_ref0[] = { 0x11, 0x09, 0x00 };
    struct ls_amf0_decoder d;
    struct ls_amf_value a = LS_AMF_VALUE_INIT, b = LS_AMF_VALUE_INIT;
    (void)state;

    ls_amf0_decoder_init(&d, NULL);
    assert_int_equal(ls_amf0_decode(&d, first, sizeof first, &a, NULL), (ssize_t)sizeof first);
    assert_int_equal(ls_amf0_decode(&d, broken, sizeof broken, &b, NULL), LS_EPROTO);
    assert_int_equal(ls_amf0_decode(&d, avm_broken, sizeof avm_broken, &b, NULL), LS_EPROTO);
    /* the broken values' table entries are gone with them */
    assert_int_equal(ls_amf0_decode(&d, ref1, sizeof ref1, &b, NULL), LS_EPROTO);
    assert_int_equal(ls_amf0_decode(&d, ref2, sizeof ref2, &b, NULL), LS_EPROTO);
    assert_int_equal(ls_amf0_decode(&d, amf3_ref0, sizeof amf3_ref0, &b, NULL), LS_EPROTO);
    assert_int_equal(ls_amf0_decode(&d, ref0, sizeof ref0, &b, NULL), (ssize_t)sizeof ref0);
    assert_true(ls_amf_equal(&a, &b));
    ls_amf_clear(&a);
    ls_amf_clear(&b);
    ls_amf0_decoder_free(&d);
}

/* ---- limits -------------------------------------------------------------------------------- */

static void test_depth_limit(void **state)
{
    struct ls_amf_limits lim = ls_amf_default_limits;
    uint8_t buf[200];
    struct ls_amf_value out = LS_AMF_VALUE_INIT;
    size_t n, i;
    (void)state;

    /* d nested strict arrays of one element, innermost empty: d containers deep */
    for (n = 32; n <= 33; n++) {
        size_t len = 0;

        for (i = 0; i < n; i++) {
            buf[len++] = 0x0a;
            buf[len++] = 0;
            buf[len++] = 0;
            buf[len++] = 0;
            buf[len++] = i + 1 < n ? 1 : 0;
        }
        if (n == 32) {
            assert_int_equal(decode_one(buf, len, NULL, &out, NULL), (ssize_t)len);
            ls_amf_clear(&out);
        } else {
            expect_error(buf, len, NULL, LS_ELIMIT);
        }
    }
    lim.max_depth = 1;
    expect_error(VEC(0x03, 0x00, 0x01, 'a', 0x03, 0x00, 0x00, 0x09, 0x00, 0x00, 0x09), &lim,
                 LS_ELIMIT);
    expect_error(VEC(0x11, 0x09, 0x03, 0x01, 0x09, 0x01, 0x01), &lim, LS_ELIMIT);
    lim.max_depth = 0;
    assert_int_equal(decode_one(VEC(0x05), &lim, &out, NULL), 1);
    expect_error(VEC(0x03, 0x00, 0x00, 0x09), &lim, LS_ELIMIT);
    /* a reference may not smuggle depth in: {a:{}} then [ref 1] with max_depth 2 is 3 deep */
    lim.max_depth = 2;
    {
        static const uint8_t msg[] = { 0x03, 0x00, 0x01, 'a', 0x03, 0x00, 0x00, 0x09, 0x00, 0x00,
                                       0x09, 0x0a, 0x00, 0x00, 0x00, 0x01, 0x07, 0x00, 0x00 };
        struct ls_amf_value *vals;
        size_t count;

        assert_int_equal(ls_amf0_decode_all(msg, sizeof msg, &lim, &vals, &count, NULL),
                         LS_ELIMIT);
        assert_int_equal(ls_amf0_decode_all(msg, 11, &lim, &vals, &count, NULL), 11);
        ls_amf_values_free(vals, count);
    }
}

static void test_node_limit(void **state)
{
    struct ls_amf_limits lim = ls_amf_default_limits;
    struct ls_amf_value out = LS_AMF_VALUE_INIT;
    (void)state;

    lim.max_nodes = 5; /* the array and four nulls */
    assert_int_equal(decode_one(VEC(0x0a, 0, 0, 0, 4, 5, 5, 5, 5), &lim, &out, NULL), 9);
    ls_amf_clear(&out);
    expect_error(VEC(0x0a, 0, 0, 0, 5, 5, 5, 5, 5, 5), &lim, LS_ELIMIT);
    /* the ECMA count hint does not matter, the members do */
    expect_error(VEC(0x08, 0, 0, 0, 0, 0, 1, 'a', 5, 0, 1, 'b', 5, 0, 1, 'c', 5, 0, 1, 'd', 5,
                     0, 1, 'e', 5, 0, 0, 9), &lim, LS_ELIMIT);
    lim.max_nodes = 1;
    expect_error(VEC(0x0a, 0, 0, 0, 1, 5), &lim, LS_ELIMIT);
    /* a freed decoder is ready for the next message, with the same limits */
    {
        static const uint8_t arr1[] = { 0x0a, 0, 0, 0, 1, 5 };
        struct ls_amf0_decoder d;

        lim.max_nodes = 2;
        ls_amf0_decoder_init(&d, &lim);
        assert_int_equal(ls_amf0_decode(&d, arr1, sizeof arr1, &out, NULL), 6);
        ls_amf_clear(&out);
        assert_int_equal(ls_amf0_decode(&d, arr1, sizeof arr1, &out, NULL), LS_ELIMIT);
        ls_amf0_decoder_free(&d);
        assert_int_equal(d.lim.max_nodes, 2);
        assert_int_equal(ls_amf0_decode(&d, arr1, sizeof arr1, &out, NULL), 6);
        ls_amf_clear(&out);
        ls_amf0_decoder_free(&d);
        assert_int_equal(d.amf3.lim.max_nodes, 2);
    }

    /* AVM+ values draw on the same budget: an AMF3 array of two nulls (3) + a null */
    {
        static const uint8_t msg[] = { 0x11, 0x09, 0x05, 0x01, 0x01, 0x01, 0x05 };
        static const uint8_t refmsg[] = { 0x03, 0x00, 0x01, 'a', 0x05, 0x00, 0x00, 0x09,
                                          0x07, 0x00, 0x00 };
        struct ls_amf_value *vals;
        size_t count;

        lim.max_nodes = 3;
        assert_int_equal(ls_amf0_decode_all(msg, sizeof msg, &lim, &vals, &count, NULL),
                         LS_ELIMIT);
        lim.max_nodes = 4;
        assert_int_equal(ls_amf0_decode_all(msg, sizeof msg, &lim, &vals, &count, NULL),
                         (ssize_t)sizeof msg);
        ls_amf_values_free(vals, count);
        /* a reference costs exactly the values it copies: {a: null} twice is 4 */
        assert_int_equal(ls_amf0_decode_all(refmsg, sizeof refmsg, &lim, &vals, &count, NULL),
                         (ssize_t)sizeof refmsg);
        ls_amf_values_free(vals, count);
        lim.max_nodes = 3;
        assert_int_equal(ls_amf0_decode_all(refmsg, sizeof refmsg, &lim, &vals, &count, NULL),
                         LS_ELIMIT);
    }
}

/*
 * Reference bomb: level 0 is an array of 16 nulls, each next level an array of 16
 * references to the one before, so 60-odd bytes describe 16^5 values. It must stop at
 * max_nodes with LS_ELIMIT, having allocated no more than the budget.
 */
static void test_reference_bomb(void **state)
{
    uint8_t msg[512];
    size_t len = 0, level, i;
    struct ls_amf_value *vals = NULL;
    size_t count = 0;
    const char *why = NULL;
    (void)state;

    for (level = 0; level < 5; level++) {
        msg[len++] = 0x0a;
        msg[len++] = 0;
        msg[len++] = 0;
        msg[len++] = 0;
        msg[len++] = 16;
        for (i = 0; i < 16; i++) {
            if (level == 0) {
                msg[len++] = 0x05;
            } else {
                msg[len++] = 0x07;
                msg[len++] = 0;
                msg[len++] = (uint8_t)(level - 1);
            }
        }
    }
    assert_int_equal(ls_amf0_decode_all(msg, len, NULL, &vals, &count, &why), LS_ELIMIT);
    assert_non_null(why);
    assert_null(vals);
}

/* A 100-byte string copied by reference again and again stops at max_bytes. */
static void test_string_bytes_limit(void **state)
{
    struct ls_amf_limits lim = ls_amf_default_limits;
    uint8_t msg[300];
    size_t len = 0, i;
    struct ls_amf_value *vals;
    size_t count;
    (void)state;

    msg[len++] = 0x03;
    msg[len++] = 0;
    msg[len++] = 1;
    msg[len++] = 's';
    msg[len++] = 0x02;
    msg[len++] = 0;
    msg[len++] = 100;
    memset(msg + len, 'x', 100);
    len += 100;
    msg[len++] = 0;
    msg[len++] = 0;
    msg[len++] = 9;
    for (i = 0; i < 20; i++) {
        msg[len++] = 0x07;
        msg[len++] = 0;
        msg[len++] = 0;
    }
    lim.max_bytes = 1000;
    assert_int_equal(ls_amf0_decode_all(msg, len, &lim, &vals, &count, NULL), LS_ELIMIT);
    lim.max_bytes = 20 * 101 + 101;
    assert_int_equal(ls_amf0_decode_all(msg, len, &lim, &vals, &count, NULL), (ssize_t)len);
    assert_int_equal(count, 21);
    ls_amf_values_free(vals, count);
    /* bytes are counted without references too */
    lim.max_bytes = 3;
    expect_error(VEC(0x02, 0x00, 0x04, 'a', 'b', 'c', 'd'), &lim, LS_ELIMIT);
}

static void test_string_length_limit(void **state)
{
    struct ls_amf_limits lim = ls_amf_default_limits;
    struct ls_amf_value out = LS_AMF_VALUE_INIT;
    (void)state;

    lim.max_string = 4;
    assert_int_equal(decode_one(VEC(0x02, 0x00, 0x04, 'a', 'b', 'c', 'd'), &lim, &out, NULL), 7);
    ls_amf_clear(&out);
    expect_error(VEC(0x02, 0x00, 0x05, 'a', 'b', 'c', 'd', 'e'), &lim, LS_ELIMIT);
    /* checked before the length is compared with the message: no body needed */
    expect_error(VEC(0x0c, 0x7f, 0xff, 0xff, 0xff), &lim, LS_ELIMIT);
    expect_error(VEC(0x0f, 0x00, 0x00, 0x00, 0x05), &lim, LS_ELIMIT);
    expect_error(VEC(0x03, 0x00, 0x05, 'k', 'k', 'k', 'k', 'k', 0x05, 0x00, 0x00, 0x09), &lim,
                 LS_ELIMIT);
    expect_error(VEC(0x10, 0x00, 0x05, 'F', 'o', 'o', 'o', 'o', 0x00, 0x00, 0x09), &lim,
                 LS_ELIMIT);
}

/* ---- encoder --------------------------------------------------------------------------------- */

static void test_writers_golden(void **state)
{
    static const uint8_t want[] = {
        0x00, 0x40, 0x14, 0, 0, 0, 0, 0, 0,            /* 5.0 */
        0x01, 0x01, 0x01, 0x00,                        /* true, false */
        0x02, 0x00, 0x02, 'h', 'i',                    /* "hi" */
        0x05, 0x06,                                    /* null, undefined */
        0x0b, 0, 0, 0, 0, 0, 0, 0, 0, 0x00, 0x01,      /* date 0, tz 1 */
        0x03, 0x00, 0x01, 'k', 0x05, 0x00, 0x00, 0x09, /* {k: null} */
        0x08, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x09, /* ecma, count 1, empty */
        0x0a, 0x00, 0x00, 0x00, 0x01, 0x05,            /* [null] */
    };
    struct ls_buf b;
    (void)state;

    ls_buf_init(&b, 0);
    ls_amf0_write_number(&b, 5);
    ls_amf0_write_bool(&b, true);
    ls_amf0_write_bool(&b, false);
    ls_amf0_write_cstring(&b, "hi");
    ls_amf0_write_null(&b);
    ls_amf0_write_undefined(&b);
    ls_amf0_write_date(&b, 0, 1);
    ls_amf0_write_object_begin(&b);
    ls_amf0_write_ckey(&b, "k");
    ls_amf0_write_null(&b);
    ls_amf0_write_object_end(&b);
    ls_amf0_write_ecma_begin(&b, 1);
    ls_amf0_write_object_end(&b);
    ls_amf0_write_strict_array_begin(&b, 1);
    ls_amf0_write_null(&b);
    assert_int_equal(ls_buf_status(&b), LS_OK);
    assert_int_equal(b.len, sizeof want);
    assert_memory_equal(b.data, want, sizeof want);
    /* an AMF3 integer goes out as an AMF0 number */
    {
        struct ls_amf_value i = LS_AMF_VALUE_INIT;

        ls_amf_set_integer(&i, 5);
        ls_buf_reset(&b);
        ls_amf0_encode(&b, &i);
        assert_int_equal(b.len, 9);
        assert_memory_equal(b.data, want, 9);
    }
    ls_buf_free(&b);
}

static void test_long_string_boundary(void **state)
{
    struct ls_buf b;
    char *s = malloc(65536);
    struct ls_amf_value v = LS_AMF_VALUE_INIT;
    (void)state;

    assert_non_null(s);
    memset(s, 'z', 65536);
    ls_buf_init(&b, 0);
    ls_amf0_write_string(&b, s, 65535); /* still a short string */
    assert_int_equal(b.len, 3 + 65535);
    assert_int_equal(b.data[0], 0x02);
    assert_int_equal(b.data[1], 0xff);
    assert_int_equal(b.data[2], 0xff);
    assert_int_equal(decode_one(b.data, b.len, NULL, &v, NULL), (ssize_t)b.len);
    assert_int_equal(v.u.str.len, 65535);
    ls_buf_reset(&b);
    ls_amf0_write_string(&b, s, 65536); /* the first long string */
    assert_int_equal(b.len, 5 + 65536);
    assert_int_equal(b.data[0], 0x0c);
    assert_memory_equal(b.data + 1, "\x00\x01\x00\x00", 4);
    assert_int_equal(decode_one(b.data, b.len, NULL, &v, NULL), (ssize_t)b.len);
    assert_int_equal(v.type, LS_AMF_STRING);
    assert_int_equal(v.u.str.len, 65536);
    ls_amf_clear(&v);
    /* and the value encoder makes the same choice */
    assert_int_equal(ls_amf_set_string(&v, s, 65536), LS_OK);
    ls_buf_reset(&b);
    ls_amf0_encode(&b, &v);
    assert_int_equal(b.data[0], 0x0c);
    assert_int_equal(b.len, 5 + 65536);
    ls_buf_free(&b);
    ls_amf_clear(&v);
    free(s);
}


/* Every type the value tree can hold survives encode → decode (AMF3-only types ride on
 * the AVM+ switch). */
static void test_roundtrip_every_type(void **state)
{
    struct ls_amf_value root = amf_container(LS_AMF_OBJECT, NULL);
    struct ls_amf_value v = LS_AMF_VALUE_INIT, got = LS_AMF_VALUE_INIT;
    struct ls_amf_value arr, vec, dict, typed, ecma;
    struct ls_buf b;
    char *big = malloc(70000);
    (void)state;

    assert_non_null(big);
    memset(big, 'q', 70000);
    amf_add(&root, "num", amf_num(-0.125));
    amf_add(&root, "nan", amf_num(NAN));
    amf_add(&root, "t", amf_bool(true));
    amf_add(&root, "s", amf_str("string"));
    assert_int_equal(ls_amf_set_string(&v, big, 70000), LS_OK);
    assert_int_equal(ls_amf_object_add(&root, "long", &v), LS_OK);
    assert_int_equal(ls_amf_object_add(&root, "null", &v), LS_OK); /* v was moved in: it is NULL now */
    ls_amf_set_undefined(&v);
    assert_int_equal(ls_amf_object_add(&root, "undef", &v), LS_OK);
    ls_amf_set_date(&v, 1e12, 0);
    assert_int_equal(ls_amf_object_add(&root, "date", &v), LS_OK);
    assert_int_equal(ls_amf_set_bytes(&v, LS_AMF_XML_DOC, "<x/>", 4), LS_OK);
    assert_int_equal(ls_amf_object_add(&root, "xmldoc", &v), LS_OK);
    v.type = LS_AMF_UNSUPPORTED;
    assert_int_equal(ls_amf_object_add(&root, "unsup", &v), LS_OK);
    ecma = amf_container(LS_AMF_ECMA_ARRAY, NULL);
    amf_add(&ecma, "duration", amf_num(0));
    amf_add(&root, "ecma", ecma);
    arr = amf_container(LS_AMF_STRICT_ARRAY, NULL);
    amf_push(&arr, amf_str("a"));
    amf_push(&arr, amf_container(LS_AMF_OBJECT, NULL));
    amf_add(&root, "arr", arr);
    typed = amf_container(LS_AMF_TYPED_OBJECT, "Klass");
    amf_add(&typed, "m", amf_bool(false));
    amf_add(&root, "typed", typed);
    assert_int_equal(ls_amf_set_bytes(&v, LS_AMF_XML, "<y/>", 4), LS_OK);
    assert_int_equal(ls_amf_object_add(&root, "xml", &v), LS_OK);
    assert_int_equal(ls_amf_set_bytes(&v, LS_AMF_BYTE_ARRAY, "\0\1\2", 3), LS_OK);
    assert_int_equal(ls_amf_object_add(&root, "bytes", &v), LS_OK);
    vec = amf_container(LS_AMF_VECTOR_INT, NULL);
    ls_amf_set_integer(&v, -7);
    assert_int_equal(ls_amf_array_push(&vec, &v), LS_OK);
    vec.u.c->fixed = true;
    amf_add(&root, "vint", vec);
    vec = amf_container(LS_AMF_VECTOR_UINT, NULL);
    amf_push(&vec, amf_num(4294967295.0));
    amf_add(&root, "vuint", vec);
    vec = amf_container(LS_AMF_VECTOR_DOUBLE, NULL);
    amf_push(&vec, amf_num(2.5));
    amf_add(&root, "vdouble", vec);
    vec = amf_container(LS_AMF_VECTOR_OBJECT, "Pt");
    amf_push(&vec, amf_container(LS_AMF_OBJECT, NULL));
    amf_add(&root, "vobj", vec);
    dict = amf_container(LS_AMF_DICTIONARY, NULL);
    ls_amf_set_integer(&v, 1);
    assert_int_equal(ls_amf_array_push(&dict, &v), LS_OK);
    amf_push(&dict, amf_str("one"));
    dict.u.c->weak_keys = true;
    amf_add(&root, "dict", dict);

    ls_buf_init(&b, 0);
    ls_amf0_encode(&b, &root);
    assert_int_equal(ls_buf_status(&b), LS_OK);
    assert_int_equal(decode_one(b.data, b.len, NULL, &got, NULL), (ssize_t)b.len);
    assert_true(ls_amf_equal(&got, &root));
    /* and equality is not vacuous */
    ls_amf_set_number(&got.u.c->props[0].value, 1);
    assert_false(ls_amf_equal(&got, &root));
    ls_amf_clear(&got);
    ls_buf_free(&b);
    ls_amf_clear(&root);
    free(big);
}

static void test_ecma_items_encode_as_index_keys(void **state)
{
    struct ls_amf_value e = amf_container(LS_AMF_ECMA_ARRAY, NULL);
    static const uint8_t want[] = { 0x08, 0x00, 0x00, 0x00, 0x02, 0x00, 0x01, '0', 0x05,
                                    0x00, 0x01, 'k', 0x06, 0x00, 0x00, 0x09 };
    struct ls_amf_value v = LS_AMF_VALUE_INIT;
    struct ls_buf b;
    (void)state;

    amf_push(&e, v);
    ls_amf_set_undefined(&v);
    amf_add(&e, "k", v);
    ls_buf_init(&b, 0);
    ls_amf0_encode(&b, &e);
    assert_int_equal(b.len, sizeof want);
    assert_memory_equal(b.data, want, sizeof want);
    ls_buf_free(&b);
    ls_amf_clear(&e);
}

static void test_encoder_errors_are_sticky(void **state)
{
    struct ls_amf_value o = amf_container(LS_AMF_OBJECT, NULL);
    struct ls_amf_value t;
    char *name = calloc(1, 70000);
    struct ls_amf_value v = LS_AMF_VALUE_INIT;
    struct ls_buf b;
    size_t i;
    (void)state;

    assert_non_null(name);
    memset(name, 'n', 69999);
    amf_add(&o, name, amf_num(1)); /* a 69999-byte member name cannot be written in AMF0 */
    ls_buf_init(&b, 0);
    ls_amf0_encode(&b, &o);
    assert_int_equal(ls_buf_status(&b), LS_EINVAL);
    ls_buf_free(&b);
    ls_amf_clear(&o);
    t = amf_container(LS_AMF_TYPED_OBJECT, name);
    ls_buf_init(&b, 0);
    ls_amf0_encode(&b, &t);
    assert_int_equal(ls_buf_status(&b), LS_EINVAL);
    ls_buf_free(&b);
    ls_amf_clear(&t);
    free(name);

    /* a bounded buffer: the encoder never writes past it, the error is LS_ELIMIT */
    o = amf_container(LS_AMF_OBJECT, NULL);
    for (i = 0; i < 10; i++)
        amf_add(&o, "member", amf_str("value"));
    ls_buf_init(&b, 32);
    ls_amf0_encode(&b, &o);
    assert_int_equal(ls_buf_status(&b), LS_ELIMIT);
    assert_true(b.len <= 32);
    ls_buf_free(&b);
    ls_amf_clear(&o);
    /* a dictionary with an odd item count cannot be written (via AVM+) */
    o = amf_container(LS_AMF_DICTIONARY, NULL);
    amf_push(&o, v);
    ls_buf_init(&b, 0);
    ls_amf0_encode(&b, &o);
    assert_int_equal(ls_buf_status(&b), LS_EINVAL);
    ls_buf_free(&b);
    ls_amf_clear(&o);
}

/* ---- the value type (amf.c) ------------------------------------------------------------------ */

static void test_value_builders_and_lookups(void **state)
{
    struct ls_amf_value o = LS_AMF_VALUE_INIT, v = LS_AMF_VALUE_INIT, *heap;
    double d = 0;
    bool flag = false;
    int t;
    (void)state;

    assert_int_equal(ls_amf_object_new(&o), LS_OK);
    assert_int_equal(ls_amf_object_add_number(&o, "n", 3), LS_OK);
    assert_int_equal(ls_amf_object_add_bool(&o, "b", true), LS_OK);
    assert_int_equal(ls_amf_object_add_string(&o, "s", "str"), LS_OK);
    ls_amf_set_integer(&v, 9);
    assert_int_equal(ls_amf_object_add(&o, "i", &v), LS_OK);
    assert_int_equal(v.type, LS_AMF_NULL); /* moved */
    assert_int_equal(ls_amf_object_add_string(&o, "n", "dup"), LS_OK); /* duplicates kept */

    assert_true(ls_amf_get_number(&o, "n", &d));
    assert_true(d == 3); /* the first of the duplicates */
    assert_true(ls_amf_get_number(&o, "i", &d));
    assert_true(d == 9);
    assert_false(ls_amf_get_number(&o, "s", &d));
    assert_false(ls_amf_get_number(&o, "missing", &d));
    assert_true(ls_amf_get_bool(&o, "b", &flag));
    assert_true(flag);
    assert_false(ls_amf_get_bool(&o, "n", &flag));
    assert_false(ls_amf_get_bool(&o, "missing", &flag));
    assert_string_equal(ls_amf_get_string(&o, "s"), "str");
    assert_null(ls_amf_get_string(&o, "n"));
    assert_null(ls_amf_get_string(&o, "nope"));
    assert_null(ls_amf_get(&v, "n"));  /* not an object */
    assert_null(ls_amf_get(NULL, "n"));
    assert_false(ls_amf_as_number(NULL, &d));

    /* wrong targets: EINVAL, and the moved value is freed, not leaked */
    assert_int_equal(ls_amf_set_string(&v, "x", 1), LS_OK);
    assert_int_equal(ls_amf_array_push(&o, &v), LS_OK); /* any container takes items */
    assert_int_equal(ls_amf_set_string(&v, "x", 1), LS_OK);
    assert_int_equal(ls_amf_object_add(&v, "k", &o), LS_EINVAL); /* v is no object */
    assert_int_equal(o.type, LS_AMF_NULL);
    assert_int_equal(ls_amf_set_string(&o, "y", 1), LS_OK);
    assert_int_equal(ls_amf_array_push(&v, &o), LS_EINVAL);
    assert_int_equal(o.type, LS_AMF_NULL);
    assert_int_equal(ls_amf_set_bytes(&v, LS_AMF_NUMBER, "x", 1), LS_EINVAL);
    assert_int_equal(v.type, LS_AMF_NULL);
    assert_int_equal(ls_amf_container_new(&v, LS_AMF_STRING, NULL, 0), LS_EINVAL);
    assert_int_equal(ls_amf_set_string(&v, NULL, 0), LS_OK); /* empty, never NULL */
    assert_non_null(v.u.str.ptr);
    assert_int_equal(v.u.str.ptr[0], '\0');

    assert_int_equal(ls_amf_ecma_new(&v), LS_OK);
    assert_true(v.u.c->dynamic);
    assert_int_equal(ls_amf_strict_array_new(&v), LS_OK);
    assert_false(v.u.c->dynamic);
    assert_int_equal(ls_amf_typed_object_new(&v, "C"), LS_OK);
    assert_string_equal(v.u.c->class_name, "C");
    assert_int_equal(ls_amf_typed_object_new(&v, NULL), LS_OK);
    assert_null(v.u.c->class_name);
    ls_amf_clear(&v);

    heap = calloc(1, sizeof *heap);
    assert_non_null(heap);
    assert_int_equal(ls_amf_object_new(heap), LS_OK);
    assert_int_equal(ls_amf_object_add_number(heap, "x", 1), LS_OK);
    ls_amf_free(heap);
    ls_amf_free(NULL);
    ls_amf_clear(NULL);
    ls_amf_values_free(NULL, 3);

    for (t = LS_AMF_NULL; t <= LS_AMF_DICTIONARY; t++)
        assert_string_not_equal(ls_amf_type_name((enum ls_amf_type)t), "invalid");
    assert_string_equal(ls_amf_type_name((enum ls_amf_type)999), "invalid");
}

static void test_value_copy_equal_and_names(void **state)
{
    struct ls_amf_value a = amf_container(LS_AMF_OBJECT, NULL), b = LS_AMF_VALUE_INIT;
    struct ls_amf_value inner = amf_container(LS_AMF_STRICT_ARRAY, NULL);
    struct ls_amf_value x = LS_AMF_VALUE_INIT, y = LS_AMF_VALUE_INIT;
    struct ls_amf_budget left;
    (void)state;

    amf_push(&inner, amf_str("abcd"));
    amf_add(&a, "inner", inner);
    amf_add(&a, "n", amf_num(1));
    assert_int_equal(ls_amf_copy(&b, &a), LS_OK);
    assert_true(ls_amf_equal(&a, &b));
    assert_ptr_not_equal(a.u.c, b.u.c);

    /* bounded copies: depth, nodes, bytes; the budget is spent as it goes */
    left.nodes = 100;
    left.bytes = 100;
    assert_int_equal(ls_amf_copy_bounded(&x, &a, 2, &left), LS_OK);
    assert_int_equal(left.nodes, 100 - 4);           /* object, array, string, number */
    assert_int_equal(left.bytes, 100 - (5 + 1 + 4)); /* "inner", "n", "abcd" */
    assert_int_equal(ls_amf_copy_bounded(&x, &a, 1, &left), LS_ELIMIT);
    assert_int_equal(x.type, LS_AMF_NULL);
    left.nodes = 3;
    left.bytes = 100;
    assert_int_equal(ls_amf_copy_bounded(&x, &a, 5, &left), LS_ELIMIT);
    left.nodes = 100;
    left.bytes = 9;
    assert_int_equal(ls_amf_copy_bounded(&x, &a, 5, &left), LS_ELIMIT);
    left.bytes = 4;
    assert_int_equal(ls_amf_copy_bounded(&x, &a, 5, &left), LS_ELIMIT); /* key bytes */
    assert_int_equal(x.type, LS_AMF_NULL);

    /* equality looks at everything */
    b.u.c->dynamic = false;
    assert_false(ls_amf_equal(&a, &b));
    b.u.c->dynamic = true;
    b.u.c->props[1].name[0] = 'm';
    assert_false(ls_amf_equal(&a, &b));
    b.u.c->props[1].name[0] = 'n';
    b.u.c->props[0].value.u.c->items[0].u.str.ptr[0] = 'X';
    assert_false(ls_amf_equal(&a, &b));
    ls_amf_clear(&b);
    ls_amf_set_integer(&x, 1);
    ls_amf_set_number(&y, 1);
    assert_false(ls_amf_equal(&x, &y)); /* INTEGER is not NUMBER */
    ls_amf_set_integer(&y, 2);
    assert_false(ls_amf_equal(&x, &y));
    ls_amf_set_bool(&x, true);
    ls_amf_set_bool(&y, false);
    assert_false(ls_amf_equal(&x, &y));
    ls_amf_set_date(&x, 1, 0);
    ls_amf_set_date(&y, 1, 1);
    assert_false(ls_amf_equal(&x, &y));
    ls_amf_set_date(&y, 1, 0);
    assert_true(ls_amf_equal(&x, &y));
    ls_amf_set_undefined(&x);
    ls_amf_set_undefined(&y);
    assert_true(ls_amf_equal(&x, &y));
    x = amf_container(LS_AMF_TYPED_OBJECT, "A");
    y = amf_container(LS_AMF_TYPED_OBJECT, "B");
    assert_false(ls_amf_equal(&x, &y));
    ls_amf_clear(&y);
    y = amf_container(LS_AMF_TYPED_OBJECT, NULL);
    assert_false(ls_amf_equal(&x, &y));
    ls_amf_clear(&x);
    ls_amf_clear(&y);
    ls_amf_clear(&a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_scalars),
        cmocka_unit_test(test_strings),
        cmocka_unit_test(test_object),
        cmocka_unit_test(test_ecma_array_count_is_a_hint),
        cmocka_unit_test(test_strict_array_and_typed_object),
        cmocka_unit_test(test_reference_is_a_deep_copy),
        cmocka_unit_test(test_reference_across_values_of_a_message),
        cmocka_unit_test(test_avmplus_switch_keeps_amf3_context),
        cmocka_unit_test(test_decode_all),
        cmocka_unit_test(test_malformed_table),
        cmocka_unit_test(test_failed_decode_rolls_back_references),
        cmocka_unit_test(test_depth_limit),
        cmocka_unit_test(test_node_limit),
        cmocka_unit_test(test_reference_bomb),
        cmocka_unit_test(test_string_bytes_limit),
        cmocka_unit_test(test_string_length_limit),
        cmocka_unit_test(test_writers_golden),
        cmocka_unit_test(test_long_string_boundary),
        cmocka_unit_test(test_roundtrip_every_type),
        cmocka_unit_test(test_ecma_items_encode_as_index_keys),
        cmocka_unit_test(test_encoder_errors_are_sticky),
        cmocka_unit_test(test_value_builders_and_lookups),
        cmocka_unit_test(test_value_copy_equal_and_names),
    };
    return cmocka_run_group_tests_name("amf0", tests, NULL, NULL);
}
