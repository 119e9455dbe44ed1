/*
 * Unit tests for peersig.c: internal-pull signatures signed and verified, every refusal
 * (wrong secret, other stream, bad role, bad or stale timestamp, tampered signature), and
 * appending to an existing query. (Sessions acting on them: test_session.c.)
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "libstream/err.h"
#include "libstream/peersig.h"

static void test_peer_signatures(void **state)
{
    char q[512] = "", bad[512];
    struct ls_peer_info info;
    char small[16] = "a=b";
    char *sig;

    (void)state;
    assert_int_equal(ls_peersig_sign("sec", "sp-2", "spd", "live/x", q, sizeof q), LS_OK);
    assert_int_equal(ls_peersig_verify("sec", "live/x", q, &info), LS_OK);
    assert_true(info.internal);
    assert_string_equal(info.node_id, "sp-2");
    assert_string_equal(info.role, "spd");
    assert_int_equal(ls_peersig_verify("other", "live/x", q, &info), LS_EAUTH);
    assert_false(info.internal);
    assert_int_equal(ls_peersig_verify("sec", "live/y", q, &info), LS_EAUTH);
    assert_int_equal(ls_peersig_verify("sec", "live/x", "token=1", &info), LS_ENOTFOUND);
    assert_int_equal(ls_peersig_verify("sec", "live/x", NULL, &info), LS_ENOTFOUND);
    assert_int_equal(ls_peersig_verify("sec", "live/x", "lc_sig=00", &info), LS_EAUTH);
    assert_int_equal(ls_peersig_verify("sec", "live/x",
                                       "lc_sig=00&lc_node=a&lc_role=smd&lc_ts=1", &info), LS_EAUTH);
    assert_int_equal(ls_peersig_verify("sec", "live/x",
                                       "lc_sig=00&lc_node=a&lc_role=epd&lc_ts=1x", &info), LS_EAUTH);
    assert_int_equal(ls_peersig_verify("sec", "live/x",
                                       "lc_sig=00&lc_node=a&lc_role=epd&lc_ts=1000", &info), LS_EAUTH);
    /* tampered signature */
    snprintf(bad, sizeof bad, "%s", q);
    sig = strstr(bad, "lc_sig=") + 7;
    sig[0] = sig[0] == '0' ? '1' : '0';
    assert_int_equal(ls_peersig_verify("sec", "live/x", bad, &info), LS_EAUTH);
    /* appended after an existing query; too small a buffer is refused and left intact */
    assert_int_equal(ls_peersig_sign("sec", "e1", "epd", "live/x", small, sizeof small),
                     LS_ELIMIT);
    assert_string_equal(small, "a=b");
    snprintf(bad, sizeof bad, "token=t");
    assert_int_equal(ls_peersig_sign("sec", "e1", "epd", "live/x", bad, sizeof bad), LS_OK);
    assert_true(strncmp(bad, "token=t&lc_node=e1&lc_role=epd&", 31) == 0);
    assert_int_equal(ls_peersig_verify("sec", "live/x", bad, &info), LS_OK);
    assert_string_equal(info.role, "epd");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_peer_signatures),
    };
    return cmocka_run_group_tests_name("peersig", tests, NULL, NULL);
}
