/* Unit tests for hmac.c: RFC 4231 and RFC 5869 known answers, the empty key, and the
 * per-use keys derived from cluster_secret. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "libstream/err.h"
#include "libstream/hmac.h"

static void test_known_answers(void **state)
{
    /* RFC 4231 test cases 1 and 2; the last: printf '' | openssl dgst -sha256 -hmac '' */
    const struct { const char *key, *msg, *hex; } kat[] = {
        { "\x0b\x0b\x0b\x0b\x0b\x0b\x0b\x0b\x0b\x0b\x0b\x0b\x0b\x0b\x0b\x0b\x0b\x0b\x0b\x0b",
          "Hi There", "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7" },
        { "Jefe", "what do ya want for nothing?",
          "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843" },
        { "", "", "b613679a0814d9ec772f95d778c35fc5ff1697c493715653c6c712144292c5ad" },
    };
    size_t i;

    (void)state;
    for (i = 0; i < sizeof kat / sizeof kat[0]; i++) {
        char out[LS_HMAC_HEX_LEN + 1 + 4];

        memset(out, '#', sizeof out);
        assert_int_equal(ls_hmac_sha256_hex(kat[i].key, kat[i].msg, strlen(kat[i].msg), out),
                         LS_OK);
        assert_string_equal(out, kat[i].hex);
        assert_memory_equal(out + LS_HMAC_HEX_LEN + 1, "####", 4); /* canary */
    }
}

static void hex_of(const uint8_t *p, size_t n, char *out)
{
    size_t i;

    for (i = 0; i < n; i++)
        sprintf(out + 2 * i, "%02x", p[i]);
}

static void test_hkdf(void **state)
{
    uint8_t ikm[22], salt[13], info[10], okm[42 + 4];
    char hex[2 * sizeof okm + 1];
    size_t i;

    (void)state;
    memset(ikm, 0x0b, sizeof ikm);
    for (i = 0; i < sizeof salt; i++)
        salt[i] = (uint8_t)i;
    for (i = 0; i < sizeof info; i++)
        info[i] = (uint8_t)(0xf0 + i);
    /* RFC 5869 A.1 and A.3 (no salt, no info) */
    memset(okm, '#', sizeof okm);
    assert_int_equal(ls_hkdf_sha256(ikm, sizeof ikm, salt, sizeof salt, info, sizeof info, okm,
                                    42), LS_OK);
    hex_of(okm, 42, hex);
    assert_string_equal(hex, "3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf"
                             "34007208d5b887185865");
    assert_memory_equal(okm + 42, "####", 4);
    assert_int_equal(ls_hkdf_sha256(ikm, sizeof ikm, NULL, 0, NULL, 0, okm, 42), LS_OK);
    hex_of(okm, 42, hex);
    assert_string_equal(hex, "8da4e775a563c18f715f802a063c5a31b8a11f5c5ee1879ec3454e5f3c738d2d"
                             "9d201395faa4b61a96c8");
    /* bounds */
    assert_int_equal(ls_hkdf_sha256(ikm, sizeof ikm, NULL, 0, NULL, 0, okm, 255 * 32 + 1),
                     LS_EINVAL);
}

/* One key per use of the secret: the registry's and the pulls' differ, and both are fixed
 * (docs/protocol.md gives them for "s3cret"). */
static void test_derived_keys(void **state)
{
    char reg[LS_HMAC_HEX_LEN + 1], pull[LS_HMAC_HEX_LEN + 1];

    (void)state;
    assert_int_equal(ls_hmac_derive_key("s3cret", "livecluster registry v2", reg), LS_OK);
    assert_int_equal(ls_hmac_derive_key("s3cret", "livecluster pull v2", pull), LS_OK);
    assert_string_equal(reg, "6d8d0b3c9fbd075e2015ed1831e4e4d942128f4a719abf281f1194440d796dec");
    assert_string_equal(pull, "9a5635642f584b1efea0aaf74d9b84c4af2ee5a35556e40ef49aae11dd5af3ad");
    assert_int_equal(ls_hmac_derive_key(NULL, "x", reg), LS_EINVAL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_known_answers),
        cmocka_unit_test(test_hkdf),
        cmocka_unit_test(test_derived_keys),
    };
    return cmocka_run_group_tests_name("hmac", tests, NULL, NULL);
}
