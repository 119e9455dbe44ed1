/*
 * Unit tests for peersig.c: internal-pull signatures signed and verified, and every
 * refusal — wrong secret, other stream, bad role or node, bad, stale or extreme timestamp,
 * tampered signature, another nonce (a replay on a new connection), another target node,
 * the registry's key instead of the pulls' — plus "Trust": with an empty cluster secret
 * nothing is ever an internal pull. (Sessions acting on them: test_session.c.)
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
#include "libstream/nonce.h"
#include "libstream/peersig.h"
#include "libstream/smdproto.h"

#define N1 "00112233445566778899aabbccddeeff"

static void test_peer_signatures(void **state)
{
    char q[512] = "", bad[512];
    struct ls_peer_info info;
    char small[16] = "a=b";
    char *sig;

    (void)state;
    assert_int_equal(ls_peersig_sign("sec", "sp-2", "spd", "live/x", "sp-1", N1, q, sizeof q),
                     LS_OK);
    assert_int_equal(ls_peersig_verify("sec", "sp-1", N1, "live/x", q, &info), LS_OK);
    assert_true(info.internal);
    assert_string_equal(info.node_id, "sp-2");
    assert_string_equal(info.role, "spd");
    assert_int_equal(ls_peersig_verify("other", "sp-1", N1, "live/x", q, &info), LS_EAUTH);
    assert_false(info.internal);
    assert_int_equal(ls_peersig_verify("sec", "sp-1", N1, "live/y", q, &info), LS_EAUTH);
    assert_int_equal(ls_peersig_verify("sec", "sp-1", N1, "live/x", "token=1", &info),
                     LS_ENOTFOUND);
    assert_int_equal(ls_peersig_verify("sec", "sp-1", N1, "live/x", NULL, &info), LS_ENOTFOUND);
    assert_int_equal(ls_peersig_verify("sec", "sp-1", N1, "live/x", "lc_sig=00", &info),
                     LS_EAUTH);
    assert_int_equal(ls_peersig_verify("sec", "sp-1", N1, "live/x",
                                       "lc_sig=00&lc_node=a&lc_role=smd&lc_ts=1", &info),
                     LS_EAUTH);
    assert_int_equal(ls_peersig_verify("sec", "sp-1", N1, "live/x",
                                       "lc_sig=00&lc_node=a&lc_role=epd&lc_ts=1x", &info),
                     LS_EAUTH);
    assert_int_equal(ls_peersig_verify("sec", "sp-1", N1, "live/x",
                                       "lc_sig=00&lc_node=a&lc_role=epd&lc_ts=1000", &info),
                     LS_EAUTH);
    assert_int_equal(ls_peersig_verify("sec", "sp-1", N1, "live/x",
                                       "lc_sig=00&lc_node=a:b&lc_role=epd&lc_ts=1000", &info),
                     LS_EAUTH);
    /* tampered signature */
    snprintf(bad, sizeof bad, "%s", q);
    sig = strstr(bad, "lc_sig=") + 7;
    sig[0] = sig[0] == '0' ? '1' : '0';
    assert_int_equal(ls_peersig_verify("sec", "sp-1", N1, "live/x", bad, &info), LS_EAUTH);
    /* appended after an existing query; too small a buffer is refused and left intact */
    assert_int_equal(ls_peersig_sign("sec", "e1", "epd", "live/x", "sp-1", N1, small,
                                     sizeof small), LS_ELIMIT);
    assert_string_equal(small, "a=b");
    snprintf(bad, sizeof bad, "token=t");
    assert_int_equal(ls_peersig_sign("sec", "e1", "epd", "live/x", "sp-1", N1, bad, sizeof bad),
                     LS_OK);
    assert_true(strncmp(bad, "token=t&lc_node=e1&lc_role=epd&", 31) == 0);
    assert_int_equal(ls_peersig_verify("sec", "sp-1", N1, "live/x", bad, &info), LS_OK);
    assert_string_equal(info.role, "epd");
    /* node ids travel unescaped and are signed between ':'s */
    q[0] = '\0';
    assert_int_equal(ls_peersig_sign("sec", "a:b", "epd", "live/x", "sp-1", N1, q, sizeof q),
                     LS_EINVAL);
    assert_int_equal(ls_peersig_sign("sec", "e1", "epd", "live/x", "s&p", N1, q, sizeof q),
                     LS_EINVAL);
}

/* A signature is good for one connection (its nonce) to one node (the target). */
static void test_challenge_binding(void **state)
{
    char q[512] = "", nonce[LS_PEERSIG_NONCE_HEX + 1], other[LS_PEERSIG_NONCE_HEX + 1];
    struct ls_peer_info info;

    (void)state;
    assert_int_equal(ls_nonce_make(nonce), LS_OK);
    assert_int_equal(ls_nonce_make(other), LS_OK);
    assert_int_equal(strlen(nonce), LS_PEERSIG_NONCE_HEX);
    assert_string_not_equal(nonce, other);
    assert_int_equal(ls_peersig_sign("sec", "ep-1", "epd", "live/x", "sp-1", nonce, q, sizeof q),
                     LS_OK);
    assert_int_equal(ls_peersig_verify("sec", "sp-1", nonce, "live/x", q, &info), LS_OK);
    /* the same query on a new connection (another nonce) */
    assert_int_equal(ls_peersig_verify("sec", "sp-1", other, "live/x", q, &info), LS_EAUTH);
    /* on a connection that issued no nonce, or whose nonce was used */
    assert_int_equal(ls_peersig_verify("sec", "sp-1", "", "live/x", q, &info), LS_EAUTH);
    assert_int_equal(ls_peersig_verify("sec", "sp-1", NULL, "live/x", q, &info), LS_EAUTH);
    /* signed for node sp-1, presented to node sp-2 (with sp-1's nonce, even) */
    assert_int_equal(ls_peersig_verify("sec", "sp-2", nonce, "live/x", q, &info), LS_EAUTH);
    assert_false(info.internal);
}

/* The pull key is derived from the secret, and is neither the secret nor the registry's
 * key: a MAC of the very text a pull signs, under either of those, is refused. */
static void test_key_separation(void **state)
{
    char key[LS_HMAC_HEX_LEN + 1], text[256], hex[LS_HMAC_HEX_LEN + 1], q[512];
    struct ls_peer_info info;
    long ts = (long)time(NULL);
    int n;

    (void)state;
    n = snprintf(text, sizeof text, "pull:ep-1:epd:live/x:%ld:%s:sp-1", ts, N1);
    /* under the registry key */
    assert_int_equal(ls_hmac_derive_key("sec", LS_SMD_KEY_LABEL, key), LS_OK);
    assert_int_equal(ls_hmac_sha256_hex(key, text, (size_t)n, hex), LS_OK);
    snprintf(q, sizeof q, "lc_node=ep-1&lc_role=epd&lc_ts=%ld&lc_sig=%s", ts, hex);
    assert_int_equal(ls_peersig_verify("sec", "sp-1", N1, "live/x", q, &info), LS_EAUTH);
    /* under the raw secret */
    assert_int_equal(ls_hmac_sha256_hex("sec", text, (size_t)n, hex), LS_OK);
    snprintf(q, sizeof q, "lc_node=ep-1&lc_role=epd&lc_ts=%ld&lc_sig=%s", ts, hex);
    assert_int_equal(ls_peersig_verify("sec", "sp-1", N1, "live/x", q, &info), LS_EAUTH);
    /* under the pull key: the one that works */
    assert_int_equal(ls_hmac_derive_key("sec", LS_PEERSIG_KEY_LABEL, key), LS_OK);
    assert_int_equal(ls_hmac_sha256_hex(key, text, (size_t)n, hex), LS_OK);
    snprintf(q, sizeof q, "lc_node=ep-1&lc_role=epd&lc_ts=%ld&lc_sig=%s", ts, hex);
    assert_int_equal(ls_peersig_verify("sec", "sp-1", N1, "live/x", q, &info), LS_OK);
}

/*
 * "Trust": with an empty cluster secret nothing is an internal pull — not a signature
 * made with the empty key (which anyone can compute), not a claim without one. The role
 * a client names is still reported, unverified (it only ever restricts the client).
 */
static void test_empty_secret_trusts_nobody(void **state)
{
    char q[512] = "";
    struct ls_peer_info info;
    char key[LS_HMAC_HEX_LEN + 1], text[256], hex[LS_HMAC_HEX_LEN + 1];
    long ts = (long)time(NULL);
    int n;

    (void)state;
    /* what the signer produces without a secret: an unsigned claim */
    assert_int_equal(ls_peersig_sign("", "sp-2", "spd", "live/x", "sp-1", N1, q, sizeof q),
                     LS_OK);
    assert_string_equal(q, "lc_node=sp-2&lc_role=spd");
    assert_int_equal(ls_peersig_verify("", "sp-1", N1, "live/x", q, &info), LS_ENOTFOUND);
    assert_false(info.internal);
    assert_string_equal(info.role, "spd");
    /* a complete signature under the empty secret's key */
    n = snprintf(text, sizeof text, "pull:sp-2:epd:live/x:%ld:%s:sp-1", ts, N1);
    assert_int_equal(ls_hmac_derive_key("", LS_PEERSIG_KEY_LABEL, key), LS_OK);
    assert_int_equal(ls_hmac_sha256_hex(key, text, (size_t)n, hex), LS_OK);
    snprintf(q, sizeof q, "lc_node=sp-2&lc_role=epd&lc_ts=%ld&lc_sig=%s", ts, hex);
    assert_int_equal(ls_peersig_verify("", "sp-1", N1, "live/x", q, &info), LS_ENOTFOUND);
    assert_false(info.internal);
    assert_int_equal(ls_peersig_verify(NULL, "sp-1", N1, "live/x", q, &info), LS_ENOTFOUND);
    assert_false(info.internal);
    assert_string_equal(info.role, "epd");
    /* no nonce from the target (it has no secret): the claim goes unsigned */
    q[0] = '\0';
    assert_int_equal(ls_peersig_sign("sec", "sp-2", "spd", "live/x", NULL, NULL, q, sizeof q),
                     LS_OK);
    assert_string_equal(q, "lc_node=sp-2&lc_role=spd");
}

/* A query carrying lc_ts exactly as `ts_text`, correctly signed over that text. */
static void signed_with_ts(const char *secret, const char *ts_text, char *q, size_t cap)
{
    char key[LS_HMAC_HEX_LEN + 1], msg[256], hex[LS_HMAC_HEX_LEN + 1];
    int n = snprintf(msg, sizeof msg, "pull:sp-2:spd:live/x:%s:%s:sp-1", ts_text, N1);

    assert_int_equal(ls_hmac_derive_key(secret, LS_PEERSIG_KEY_LABEL, key), LS_OK);
    assert_int_equal(ls_hmac_sha256_hex(key, msg, (size_t)n, hex), LS_OK);
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
    assert_int_equal(ls_peersig_verify("sec", "sp-1", N1, "live/x", q, &info), LS_EAUTH);
    assert_false(info.internal);
    for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        signed_with_ts("sec", bad[i], q, sizeof q);
        assert_int_equal(ls_peersig_verify("sec", "sp-1", N1, "live/x", q, &info), LS_EAUTH);
    }
    /* the same construction with a current timestamp is accepted */
    snprintf(ts, sizeof ts, "%ld", (long)time(NULL));
    signed_with_ts("sec", ts, q, sizeof q);
    assert_int_equal(ls_peersig_verify("sec", "sp-1", N1, "live/x", q, &info), LS_OK);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_peer_signatures),
        cmocka_unit_test(test_challenge_binding),
        cmocka_unit_test(test_key_separation),
        cmocka_unit_test(test_empty_secret_trusts_nobody),
        cmocka_unit_test(test_extreme_timestamps),
    };
    return cmocka_run_group_tests_name("peersig", tests, NULL, NULL);
}
