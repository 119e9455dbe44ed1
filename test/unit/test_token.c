/* Unit tests for token.c: known-answer vectors from `openssl dgst -sha256 -hmac`, refusals. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "libstream/err.h"
#include "libstream/streamid.h"
#include "libstream/token.h"

/*
 * printf '%s' 'live/cam1:1700000000'      | openssl dgst -sha256 -hmac 's3cret'
 * printf '%s' 'live/cam1:4102444800'      | openssl dgst -sha256 -hmac 's3cret'
 * printf '%s' 'app_x/Name-1.2:2000000000' | openssl dgst -sha256 -hmac 'another key'
 */
#define TOK_1700 "e127aab1b503e8c3b01f704a45db0fb7c8ffeb7835053cf77685ea88a7d06fc9"
#define TOK_2100 "d2afe75f5976ac58d2dae2f613fe14cf81667a02b8e16766c56c24429083abb2"
#define TOK_OTHER "9f4ceb4c370645d7f4e6e3afcc9a09b510f5243614f81989024981651e7da112"
#define NOW 1700000000

static void test_known_answers(void **state)
{
    const struct { const char *secret, *id; long expires; const char *hex; } kat[] = {
        { "s3cret", "live/cam1", 1700000000L, TOK_1700 },
        { "s3cret", "live/cam1", 4102444800L, TOK_2100 },
        { "another key", "app_x/Name-1.2", 2000000000L, TOK_OTHER },
    };
    size_t i;

    (void)state;
    for (i = 0; i < sizeof kat / sizeof kat[0]; i++) {
        char out[LS_TOKEN_HEX_LEN + 1 + 4];

        memset(out, '#', sizeof out);
        assert_int_equal(ls_token_make(kat[i].secret, kat[i].id, kat[i].expires, out), LS_OK);
        assert_string_equal(out, kat[i].hex);
        assert_memory_equal(out + LS_TOKEN_HEX_LEN + 1, "####", 4);
    }
}

static void test_verify_table(void **state)
{
    static const struct {
        const char *secret, *id, *query;
        long long now;
        int rc;
        const char *why;
    } cases[] = {
        { "s3cret", "live/cam1", "expires=4102444800&token=" TOK_2100, NOW, LS_OK, NULL },
        { "s3cret", "live/cam1", "token=" TOK_2100 "&expires=4102444800", NOW, LS_OK, NULL },
        { "s3cret", "live/cam1", "x=1&expires=4102444800&y=2&token=" TOK_2100, NOW, LS_OK, NULL },
        { "s3cret", "live/cam1", "expires=4102444800&token="
          "D2AFE75F5976AC58D2DAE2F613FE14CF81667A02B8E16766C56C24429083ABB2", NOW, LS_OK, NULL },
        { "s3cret", "live/cam1", "expires=1700000000&token=" TOK_1700, NOW, LS_OK, NULL }, /* == now */
        { "s3cret", "live/cam1", "expires=1700000000&token=" TOK_1700, NOW + 1, LS_EAUTH, "expired token" },
        { "s3cret", "live/cam2", "expires=4102444800&token=" TOK_2100, NOW, LS_EAUTH, "wrong token" },
        { "s3cret!", "live/cam1", "expires=4102444800&token=" TOK_2100, NOW, LS_EAUTH, "wrong token" },
        { "s3cret", "live/cam1", "expires=4102444801&token=" TOK_2100, NOW, LS_EAUTH, "wrong token" },
        { "s3cret", "live/cam1", "expires=04102444800&token=" TOK_2100, NOW, LS_EAUTH, "wrong token" },
        { "s3cret", "live/cam1", "expires=4102444800&token="
          "d2afe75f5976ac58d2dae2f613fe14cf81667a02b8e16766c56c24429083abb3", NOW, LS_EAUTH, "wrong token" },
        { "s3cret", "live/cam1", "token=" TOK_2100, NOW, LS_EAUTH, "missing expires" },
        { "s3cret", "live/cam1", "expires=4102444800", NOW, LS_EAUTH, "missing token" },
        { "s3cret", "live/cam1", "", NOW, LS_EAUTH, "missing expires" },
        { "s3cret", "live/cam1", NULL, NOW, LS_EAUTH, "missing expires" },
        { "s3cret", "live/cam1", "expires=&token=" TOK_2100, NOW, LS_EAUTH, "malformed expires" },
        { "s3cret", "live/cam1", "expires=abc&token=" TOK_2100, NOW, LS_EAUTH, "malformed expires" },
        { "s3cret", "live/cam1", "expires=-1&token=" TOK_2100, NOW, LS_EAUTH, "malformed expires" },
        { "s3cret", "live/cam1", "expires=+4102444800&token=" TOK_2100, NOW, LS_EAUTH, "malformed expires" },
        { "s3cret", "live/cam1", "expires=%zz&token=" TOK_2100, NOW, LS_EAUTH, "malformed expires" },
        { "s3cret", "live/cam1", "expires=9223372036854775807&token=" TOK_2100, NOW, LS_EAUTH, "wrong token" },
        { "s3cret", "live/cam1", "expires=9223372036854775808&token=" TOK_2100, NOW, LS_EAUTH, "malformed expires" },
        { "s3cret", "live/cam1", "expires=12345678901234567890&token=" TOK_2100, NOW, LS_EAUTH, "malformed expires" },
        { "s3cret", "live/cam1", "expires=123456789012345678901234567890123&token=" TOK_2100, NOW,
          LS_EAUTH, "malformed expires" },
        { "s3cret", "live/cam1", "expires=4102444800&token=", NOW, LS_EAUTH, "malformed token" },
        { "s3cret", "live/cam1", "expires=4102444800&token="
          "d2afe75f5976ac58d2dae2f613fe14cf81667a02b8e16766c56c24429083abb", NOW, LS_EAUTH, "malformed token" },
        { "s3cret", "live/cam1", "expires=4102444800&token=" TOK_2100 "0", NOW, LS_EAUTH, "malformed token" },
        { "s3cret", "live/cam1", "expires=4102444800&token="
          "g2afe75f5976ac58d2dae2f613fe14cf81667a02b8e16766c56c24429083abb2", NOW, LS_EAUTH, "malformed token" },
        { "s3cret", "live/cam1", "expires=4102444800&token=" TOK_2100 TOK_2100, NOW, LS_EAUTH, "malformed token" },
        { "s3cret", "live/cam1", "expires=4102444800&token=%zz", NOW, LS_EAUTH, "malformed token" },
        { "s3cret", NULL, "expires=4102444800&token=" TOK_2100, NOW, LS_EAUTH, "missing stream id" },
        /* no secret: tokens are not required */
        { "", "live/cam1", NULL, NOW, LS_OK, NULL },
        { NULL, "live/cam1", "expires=1&token=bad", NOW, LS_OK, NULL },
    };
    size_t i;

    (void)state;
    for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const char *why = NULL;
        int rc = ls_token_verify(cases[i].secret, cases[i].id, cases[i].query, (time_t)cases[i].now,
                                 &why);

        if (rc != cases[i].rc)
            fail_msg("case %zu: rc %d (%s)", i, rc, why ? why : "");
        if (rc != LS_OK) {
            assert_non_null(why);
            if (strcmp(why, cases[i].why) != 0)
                fail_msg("case %zu: why \"%s\" want \"%s\"", i, why, cases[i].why);
        } else {
            assert_null(why);
        }
        /* why is optional */
        assert_int_equal(ls_token_verify(cases[i].secret, cases[i].id, cases[i].query,
                                         (time_t)cases[i].now, NULL), cases[i].rc);
    }
}

/* The token may arrive split between the connect app and the play name. */
static void test_query_on_app_and_name(void **state)
{
    struct ls_stream_ref r;
    const char *why = NULL;

    (void)state;
    assert_int_equal(ls_streamid_parse("live?expires=4102444800", "cam1?token=" TOK_2100, &r, NULL),
                     LS_OK);
    assert_int_equal(ls_token_verify("s3cret", r.id, r.query, NOW, &why), LS_OK);
    assert_int_equal(ls_http_flv_path_parse("/live/cam1.flv?expires=4102444800&token=" TOK_2100, &r),
                     LS_OK);
    assert_int_equal(ls_token_verify("s3cret", r.id, r.query, NOW, &why), LS_OK);
    assert_int_equal(ls_token_verify("s3cret", "live/cam1.flv", r.query, NOW, &why), LS_EAUTH);
}

/* make → verify round trip, and the id bound on both sides. */
static void test_make_verify_roundtrip(void **state)
{
    char tok[LS_TOKEN_HEX_LEN + 1], query[256], id[600];
    const char *why = NULL;

    (void)state;
    assert_int_equal(ls_token_make("k", "a/b", 0, tok), LS_OK);
    snprintf(query, sizeof query, "expires=0&token=%s", tok);
    assert_int_equal(ls_token_verify("k", "a/b", query, 0, &why), LS_OK);
    assert_int_equal(ls_token_verify("k", "a/b", query, 1, &why), LS_EAUTH);
    assert_string_equal(why, "expired token");

    memset(id, 'i', 512);
    id[512] = '\0';
    assert_int_equal(ls_token_make("k", id, 5, tok), LS_OK);
    snprintf(query, sizeof query, "expires=5&token=%s", tok);
    assert_int_equal(ls_token_verify("k", id, query, 0, &why), LS_OK);
    id[512] = 'i';
    id[513] = '\0';
    assert_int_equal(ls_token_make("k", id, 5, tok), LS_EINVAL);
    assert_int_equal(ls_token_verify("k", id, query, 0, &why), LS_EAUTH);
    assert_string_equal(why, "stream id too long");

    assert_int_equal(ls_token_make("k", "a/b", -1, tok), LS_EINVAL);
    assert_int_equal(ls_token_make(NULL, "a/b", 1, tok), LS_EINVAL);
    assert_int_equal(ls_token_make("k", NULL, 1, tok), LS_EINVAL);
    assert_int_equal(ls_token_make("k", "a/b", 1, NULL), LS_EINVAL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_known_answers),
        cmocka_unit_test(test_verify_table),
        cmocka_unit_test(test_query_on_app_and_name),
        cmocka_unit_test(test_make_verify_roundtrip),
    };
    return cmocka_run_group_tests_name("token", tests, NULL, NULL);
}
