/* Unit tests for buf.c, bytes.h, frame.c and err.c: the shared foundations. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "libstream/buf.h"
#include "libstream/bytes.h"
#include "libstream/err.h"
#include "libstream/frame.h"

static void test_buf_appends_in_order(void **state)
{
    struct ls_buf b;
    static const uint8_t want[] = { 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09,
                                    0x0d, 0x0c, 0x0b, 0x0a, 0x3f, 0xf0, 0, 0, 0, 0, 0, 0, 'x' };
    (void)state;
    ls_buf_init(&b, 0);
    ls_buf_put_u8(&b, 0x01);
    ls_buf_put_be16(&b, 0x0203);
    ls_buf_put_be24(&b, 0x040506);
    ls_buf_put_be32(&b, 0x0708090d);
    b.len--; /* drop 0x0d to test put_le32 next to it */
    ls_buf_put_le32(&b, 0x0a0b0c0d);
    ls_buf_put_be_double(&b, 1.0);
    ls_buf_append(&b, "x", 1);
    assert_int_equal(ls_buf_status(&b), LS_OK);
    assert_int_equal(b.len, sizeof want);
    assert_memory_equal(b.data, want, sizeof want);
    ls_buf_free(&b);
    assert_null(b.data);
}

static void test_buf_limit_is_sticky(void **state)
{
    struct ls_buf b;
    size_t len;
    (void)state;
    ls_buf_init(&b, 4);
    ls_buf_put_be32(&b, 1);
    assert_int_equal(ls_buf_status(&b), LS_OK);
    ls_buf_put_u8(&b, 2);
    assert_int_equal(ls_buf_status(&b), LS_ELIMIT);
    ls_buf_put_u8(&b, 3); /* no-op after the error */
    assert_int_equal(b.len, 4);
    assert_null(ls_buf_steal(&b, &len)); /* error: nothing handed over, memory freed */
    assert_int_equal(len, 0);
    ls_buf_reset(&b);
    ls_buf_put_u8(&b, 9);
    assert_int_equal(ls_buf_status(&b), LS_OK);
    ls_buf_free(&b);
}

static void test_buf_steal_and_growth(void **state)
{
    struct ls_buf b;
    uint8_t *data;
    size_t len, i;
    (void)state;
    ls_buf_init(&b, 0);
    for (i = 0; i < 10000; i++)
        ls_buf_put_u8(&b, (uint8_t)i);
    data = ls_buf_steal(&b, &len);
    assert_non_null(data);
    assert_int_equal(len, 10000);
    for (i = 0; i < len; i++)
        assert_int_equal(data[i], (uint8_t)i);
    free(data);
    assert_null(b.data);
    assert_int_equal(b.len, 0);
    assert_null(ls_buf_steal(&b, &len)); /* empty */
}

static void test_bytes_roundtrip_and_reader_bounds(void **state)
{
    uint8_t p[8];
    struct ls_reader r;
    uint8_t u8;
    uint16_t u16;
    uint32_t u32;
    double d;
    const uint8_t *borrowed;
    (void)state;
    ls_put_be24(p, 0xabcdef);
    assert_int_equal(ls_get_be24(p), 0xabcdef);
    ls_put_le32(p, 0x01020304);
    assert_int_equal(p[0], 0x04);
    assert_int_equal(ls_get_le32(p), 0x01020304);
    ls_put_be_double(p, -2.5);
    assert_true(ls_get_be_double(p) == -2.5);

    ls_rd_init(&r, p, 3);
    assert_true(ls_rd_u8(&r, &u8));
    assert_false(ls_rd_be32(&r, &u32)); /* 2 left: refused, cursor unchanged */
    assert_false(ls_rd_be24(&r, &u32));
    assert_false(ls_rd_be_double(&r, &d));
    assert_int_equal(ls_rd_left(&r), 2);
    assert_true(ls_rd_be16(&r, &u16));
    assert_false(ls_rd_u8(&r, &u8));
    assert_false(ls_rd_bytes(&r, 1, &borrowed));
    assert_false(ls_rd_skip(&r, 1));
    assert_true(ls_rd_skip(&r, 0));
}

static void test_frame_refcount(void **state)
{
    struct ls_frame *f = ls_frame_new_copy(9, 1000, 1, "abc", 3);
    (void)state;
    assert_non_null(f);
    assert_int_equal(f->refcount, 1);
    assert_memory_equal(f->data, "abc", 3);
    assert_ptr_equal(ls_frame_ref(f), f);
    assert_int_equal(f->refcount, 2);
    ls_frame_unref_cb(f->data, f->len, f);
    assert_int_equal(f->refcount, 1);
    ls_frame_unref(f);
    ls_frame_unref(NULL);
}

static void test_strerror_names_every_code(void **state)
{
    int e;
    (void)state;
    for (e = LS_OK; e >= LS_EUNSUPPORTED; e--)
        assert_string_not_equal(ls_strerror(e), "unknown error");
    assert_string_equal(ls_strerror(-1000), "unknown error");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_buf_appends_in_order),
        cmocka_unit_test(test_buf_limit_is_sticky),
        cmocka_unit_test(test_buf_steal_and_growth),
        cmocka_unit_test(test_bytes_roundtrip_and_reader_bounds),
        cmocka_unit_test(test_frame_refcount),
        cmocka_unit_test(test_strerror_names_every_code),
    };
    return cmocka_run_group_tests_name("buf", tests, NULL, NULL);
}
