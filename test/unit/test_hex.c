/* Unit tests for hex.c: digit values, encoding with a canary, lower-casing and refusals. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "libstream/hex.h"

static void test_value(void **state)
{
    int c;

    (void)state;
    for (c = 0; c < 256; c++) {
        int want = c >= '0' && c <= '9' ? c - '0'
                   : c >= 'a' && c <= 'f' ? c - 'a' + 10
                   : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                          : -1;

        assert_int_equal(ls_hex_value((char)c), want);
    }
}

static void test_encode(void **state)
{
    const uint8_t in[] = { 0x00, 0x01, 0x7f, 0x80, 0xab, 0xff };
    char out[2 * sizeof in + 1 + 4];

    (void)state;
    memset(out, '#', sizeof out);
    ls_hex_encode(in, sizeof in, out);
    assert_string_equal(out, "00017f80abff");
    assert_memory_equal(out + 2 * sizeof in + 1, "####", 4);
    ls_hex_encode(in, 0, out);
    assert_string_equal(out, "");
}

static void test_lower(void **state)
{
    char out[16];

    (void)state;
    assert_true(ls_hex_lower("09AfBc", 6, out));
    assert_string_equal(out, "09afbc");
    assert_true(ls_hex_lower("0g", 1, out)); /* only n characters are looked at */
    assert_string_equal(out, "0");
    assert_false(ls_hex_lower("0g", 2, out));
    assert_false(ls_hex_lower("a b", 3, out));
    assert_false(ls_hex_lower("x", 1, out));
    assert_true(ls_hex_lower("", 0, out));
    assert_string_equal(out, "");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_value),
        cmocka_unit_test(test_encode),
        cmocka_unit_test(test_lower),
    };
    return cmocka_run_group_tests_name("hex", tests, NULL, NULL);
}
