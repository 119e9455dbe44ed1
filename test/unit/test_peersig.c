/*
 * Unit tests for peersig.c: internal-pull signatures signed and verified, every refusal
 * (wrong secret, other stream, bad role, bad or stale timestamp, tampered signature), and
 * appending to an existing query. (Sessions acting on them: test_session.c.)
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <cmocka.h>

#include "libstream/err.h"
#include "libstream/hmac.h"
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

/* A query carrying lc_ts exactly as `ts_text`, correctly signed over that text. */
static void signed_with_ts(const char *secret, const char *ts_text, char *q, size_t cap)
{
    char msg[256], hex[LS_HMAC_HEX_LEN + 1];
    int n = snprintf(msg, sizeof msg, "sp-2:spd:live/x:%s", ts_text);

    assert_int_equal(ls_hmac_sha256_hex(secret, msg, (size_t)n, hex), LS_OK);
    snprintf(q, cap, "lc_node=sp-2&lc_role=spd&lc_ts=%s&lc_sig=%s", ts_text, hex);
}

/*
 * lc_ts is parsed with overflow checks: extreme values never wrap into "now" (time(NULL)
 * + LONG_MIN used to make `labs(now - ts)` overflow to LONG_MIN, which passed the skew
 * check, and UBSan aborted on it), and only plain digits are a timestamp.
 */
static void test_extreme_timestamps(void **state)
{
    static const char *const bad[] = {
        "-9223372036854775808", "9223372036854775807", "-9223372036854775807",
        "99999999999999999999", "18446744073709551616", "+1", " 1", "1 ", "0x10", "-0", "",
    };
    char q[512], ts[32];
    struct ls_peer_info info;
    size_t i;

    (void)state;
    snprintf(ts, sizeof ts, "%ld", (long)time(NULL) + LONG_MIN);
    signed_with_ts("sec", ts, q, sizeof q);
    assert_int_equal(ls_peersig_verify("sec", "live/x", q, &info), LS_EAUTH);
    assert_false(info.internal);
    for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        signed_with_ts("sec", bad[i], q, sizeof q);
        assert_int_equal(ls_peersig_verify("sec", "live/x", q, &info), LS_EAUTH);
    }
    /* the same construction with a current timestamp is accepted */
    snprintf(ts, sizeof ts, "%ld", (long)time(NULL));
    signed_with_ts("sec", ts, q, sizeof q);
    assert_int_equal(ls_peersig_verify("sec", "live/x", q, &info), LS_OK);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_peer_signatures),
        cmocka_unit_test(test_extreme_timestamps),
    };
    return cmocka_run_group_tests_name("peersig", tests, NULL, NULL);
}
