/* Unit tests for hmac.c: RFC 4231 known answers and the empty key. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_known_answers),
    };
    return cmocka_run_group_tests_name("hmac", tests, NULL, NULL);
}
