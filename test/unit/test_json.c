/* Unit tests for json.c: documents, string escaping and UTF-8 repair, numbers, misuse. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "libstream/buf.h"
#include "libstream/err.h"
#include "libstream/json.h"

/* The buffer's contents as a C string (tests only write text). */
static const char *text(struct ls_buf *b)
{
    static char out[8192];

    assert_true(b->len < sizeof out);
    memcpy(out, b->data != NULL ? (const char *)b->data : "", b->len);
    out[b->len] = '\0';
    return out;
}

static void test_health_document(void **state)
{
    struct ls_buf b;
    struct ls_json j;

    (void)state;
    ls_buf_init(&b, 0);
    ls_json_init(&j, &b);
    ls_json_object_begin(&j);
    ls_json_kv_string(&j, "status", "ok");
    ls_json_kv_string(&j, "role", "spd");
    ls_json_kv_string(&j, "node_id", "sp-1");
    ls_json_kv_string(&j, "version", "0.1.0");
    ls_json_kv_uint64(&j, "uptime_s", 12345);
    ls_json_key(&j, "streams");
    ls_json_array_begin(&j);
    ls_json_object_begin(&j);
    ls_json_kv_string(&j, "id", "live/x");
    ls_json_kv_int64(&j, "viewers", 3);
    ls_json_kv_double(&j, "kbps_in", 2500.5);
    ls_json_kv_bool(&j, "gop_cache", true);
    ls_json_kv_string(&j, "audio_codec", NULL);
    ls_json_object_end(&j);
    ls_json_object_begin(&j);
    ls_json_object_end(&j);
    ls_json_array_begin(&j);
    ls_json_array_end(&j);
    ls_json_null(&j);
    ls_json_bool(&j, false);
    ls_json_array_end(&j);
    ls_json_object_end(&j);
    assert_int_equal(ls_json_finish(&j), LS_OK);
    assert_string_equal(text(&b),
                        "{\"status\":\"ok\",\"role\":\"spd\",\"node_id\":\"sp-1\",\"version\":\"0.1.0\","
                        "\"uptime_s\":12345,\"streams\":[{\"id\":\"live/x\",\"viewers\":3,"
                        "\"kbps_in\":2500.5,\"gop_cache\":true,\"audio_codec\":null},{},[],null,"
                        "false]}");
    ls_buf_free(&b);
}

static void test_top_level_scalars(void **state)
{
    struct ls_buf b;
    struct ls_json j;

    (void)state;
    ls_buf_init(&b, 0);
    ls_buf_append(&b, "prefix:", 7); /* existing contents are kept */
    ls_json_init(&j, &b);
    ls_json_string(&j, "x");
    assert_int_equal(ls_json_finish(&j), LS_OK);
    assert_string_equal(text(&b), "prefix:\"x\"");
    ls_buf_free(&b);
}

static const char *one_string(struct ls_buf *b, const char *s, size_t len)
{
    struct ls_json j;

    ls_buf_reset(b);
    ls_json_init(&j, b);
    ls_json_string_n(&j, s, len);
    assert_int_equal(ls_json_finish(&j), LS_OK);
    return text(b);
}

static void test_string_escaping(void **state)
{
    static const struct { const char *in; const char *out; } cases[] = {
        { "", "\"\"" },
        { "plain", "\"plain\"" },
        { "q\"uote", "\"q\\\"uote\"" },
        { "back\\slash", "\"back\\\\slash\"" },
        { "/slash", "\"/slash\"" },
        { "nl\ncr\rtab\t", "\"nl\\u000acr\\u000dtab\\u0009\"" },
        { "\x01\x1f\x7f", "\"\\u0001\\u001f\\u007f\"" },
        { "</script>", "\"</script>\"" },
        { "caf\xc3\xa9", "\"caf\xc3\xa9\"" },
        { "\xe2\x82\xac \xf0\x9f\x8e\xa5 \xef\xbf\xbf \xf4\x8f\xbf\xbf", "\"\xe2\x82\xac \xf0\x9f\x8e\xa5 \xef\xbf\xbf \xf4\x8f\xbf\xbf\"" },
        { "\xff", "\"\xef\xbf\xbd\"" },
        { "a\x80z", "\"a\xef\xbf\xbdz\"" },
        { "\xc0\xaf", "\"\xef\xbf\xbd\xef\xbf\xbd\"" },                 /* overlong '/' */
        { "\xe0\x80\xaf", "\"\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\"" },  /* overlong, 3 bytes */
        { "\xed\xa0\x80", "\"\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\"" },  /* surrogate U+D800 */
        { "\xf4\x90\x80\x80", "\"\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\"" }, /* > U+10FFFF */
        { "\xf8\x88\x80\x80\x80", "\"\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\"" },
        { "x\xe2\x82", "\"x\xef\xbf\xbd\xef\xbf\xbd\"" },                /* truncated at the end */
        { "\xe2(\xa1", "\"\xef\xbf\xbd(\xef\xbf\xbd\"" },
    };
    struct ls_buf b;
    size_t i;

    (void)state;
    ls_buf_init(&b, 0);
    for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const char *got = one_string(&b, cases[i].in, strlen(cases[i].in));

        if (strcmp(got, cases[i].out) != 0)
            fail_msg("case %zu: got %s want %s", i, got, cases[i].out);
    }
    /* every control character, and NUL inside a counted string */
    for (i = 0; i < 0x20; i++) {
        char in[2] = { (char)i, 0 }, want[16];

        snprintf(want, sizeof want, "\"\\u%04zx\"", i);
        assert_string_equal(one_string(&b, in, 1), want);
    }
    assert_string_equal(one_string(&b, "a\0b", 3), "\"a\\u0000b\"");
    ls_buf_free(&b);
}

/* Keys are escaped like strings. */
static void test_key_escaping(void **state)
{
    struct ls_buf b;
    struct ls_json j;

    (void)state;
    ls_buf_init(&b, 0);
    ls_json_init(&j, &b);
    ls_json_object_begin(&j);
    ls_json_kv_int64(&j, "a\"b\n\xff", 1);
    ls_json_object_end(&j);
    assert_int_equal(ls_json_finish(&j), LS_OK);
    assert_string_equal(text(&b), "{\"a\\\"b\\u000a\xef\xbf\xbd\":1}");
    ls_buf_free(&b);
}

static const char *one_double(struct ls_buf *b, double v)
{
    struct ls_json j;

    ls_buf_reset(b);
    ls_json_init(&j, b);
    ls_json_double(&j, v);
    assert_int_equal(ls_json_finish(&j), LS_OK);
    return text(b);
}

static void test_numbers(void **state)
{
    static const struct { double v; const char *out; } doubles[] = {
        { 0.0, "0" },
        { -0.0, "-0" },
        { 1.0, "1" },
        { 0.1, "0.1" },
        { 2500.5, "2500.5" },
        { 0.1 + 0.2, "0.30000000000000004" },
        { 1.0 / 3.0, "0.3333333333333333" },
        { 1e300, "1e+300" },
        { -1.5e-300, "-1.5e-300" },
        { 5e-324, "4.94065645841247e-324" }, /* subnormal: 15 digits read back */
        { 1.7976931348623157e308, "1.7976931348623157e+308" },
        { 123456789012345678.0, "1.2345678901234568e+17" },
    };
    struct ls_buf b;
    struct ls_json j;
    size_t i;

    (void)state;
    ls_buf_init(&b, 0);
    for (i = 0; i < sizeof doubles / sizeof doubles[0]; i++) {
        const char *got = one_double(&b, doubles[i].v);

        if (strcmp(got, doubles[i].out) != 0)
            fail_msg("case %zu: got %s want %s", i, got, doubles[i].out);
        assert_true(strtod(got, NULL) == doubles[i].v); /* round trip */
    }
    assert_string_equal(one_double(&b, NAN), "null");
    assert_string_equal(one_double(&b, INFINITY), "null");
    assert_string_equal(one_double(&b, -INFINITY), "null");

    ls_buf_reset(&b);
    ls_json_init(&j, &b);
    ls_json_array_begin(&j);
    ls_json_int64(&j, INT64_MIN);
    ls_json_int64(&j, INT64_MAX);
    ls_json_int64(&j, 0);
    ls_json_uint64(&j, UINT64_MAX);
    ls_json_double(&j, NAN);
    ls_json_array_end(&j);
    assert_int_equal(ls_json_finish(&j), LS_OK);
    assert_string_equal(text(&b), "[-9223372036854775808,9223372036854775807,0,"
                                  "18446744073709551615,null]");
    ls_buf_free(&b);
}

/*
 * Misuse table. Script letters: { } [ ] begin/end, k key, s string, i int, d double,
 * b bool, n null. Each entry: script → finish() result.
 */
static void run_script(struct ls_json *j, const char *script)
{
    for (; *script != '\0'; script++) {
        switch (*script) {
        case '{': ls_json_object_begin(j); break;
        case '}': ls_json_object_end(j); break;
        case '[': ls_json_array_begin(j); break;
        case ']': ls_json_array_end(j); break;
        case 'k': ls_json_key(j, "k"); break;
        case 's': ls_json_string(j, "s"); break;
        case 'i': ls_json_int64(j, 1); break;
        case 'u': ls_json_uint64(j, 1); break;
        case 'd': ls_json_double(j, 1.5); break;
        case 'b': ls_json_bool(j, true); break;
        case 'n': ls_json_null(j); break;
        case 'N': ls_json_key(j, NULL); break;
        default: fail_msg("bad script letter %c", *script);
        }
    }
}

static void test_misuse(void **state)
{
    static const struct { const char *script; int rc; const char *out; } cases[] = {
        { "{}", LS_OK, "{}" },
        { "[sidbnu]", LS_OK, "[\"s\",1,1.5,true,null,1]" },
        { "{ks}", LS_OK, "{\"k\":\"s\"}" },
        { "{k[i]ki}", LS_OK, "{\"k\":[1],\"k\":1}" },
        { "", LS_ESTATE, "" },                    /* nothing written */
        { "{", LS_ESTATE, "{" },                  /* unfinished */
        { "[[]", LS_ESTATE, "[[]" },
        { "{s}", LS_ESTATE, "{" },                /* value without key */
        { "{k}", LS_ESTATE, "{\"k\":" },          /* key without value */
        { "{kk", LS_ESTATE, "{\"k\":" },          /* two keys */
        { "[k]", LS_ESTATE, "[" },                /* key in an array */
        { "k", LS_ESTATE, "" },                   /* key at top level */
        { "{N}", LS_ESTATE, "{" },                /* NULL key */
        { "[}", LS_ESTATE, "[" },                 /* mismatched end */
        { "{]", LS_ESTATE, "{" },
        { "]", LS_ESTATE, "" },
        { "}", LS_ESTATE, "" },
        { "ss", LS_ESTATE, "\"s\"" },             /* two top-level values */
        { "{}{}", LS_ESTATE, "{}" },
        { "{}i", LS_ESTATE, "{}" },
        { "{s}ks", LS_ESTATE, "{" },              /* sticky: nothing after the error */
    };
    size_t i;

    (void)state;
    for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct ls_buf b;
        struct ls_json j;

        ls_buf_init(&b, 0);
        ls_json_init(&j, &b);
        run_script(&j, cases[i].script);
        if (ls_json_finish(&j) != cases[i].rc || strcmp(text(&b), cases[i].out) != 0)
            fail_msg("case %zu \"%s\": rc %d out %s", i, cases[i].script, ls_json_finish(&j),
                     text(&b));
        ls_buf_free(&b);
    }
}

static void test_depth_bound(void **state)
{
    struct ls_buf b;
    struct ls_json j;
    int i;

    (void)state;
    ls_buf_init(&b, 0);
    ls_json_init(&j, &b);
    for (i = 0; i < LS_JSON_DEPTH_MAX; i++)
        ls_json_array_begin(&j);
    for (i = 0; i < LS_JSON_DEPTH_MAX; i++)
        ls_json_array_end(&j);
    assert_int_equal(ls_json_finish(&j), LS_OK);
    assert_int_equal(b.len, 2 * LS_JSON_DEPTH_MAX);

    ls_buf_reset(&b);
    ls_json_init(&j, &b);
    for (i = 0; i < LS_JSON_DEPTH_MAX; i++)
        ls_json_object_begin(&j), ls_json_key(&j, "a");
    ls_json_array_begin(&j); /* one too deep */
    assert_int_equal(ls_json_finish(&j), LS_ELIMIT);
    ls_json_null(&j);
    assert_int_equal(ls_json_finish(&j), LS_ELIMIT);
    ls_buf_free(&b);
}

/* The buffer's own limit surfaces through finish(); output never passes it. */
static void test_buffer_limit(void **state)
{
    struct ls_buf b;
    struct ls_json j;

    (void)state;
    ls_buf_init(&b, 16);
    ls_json_init(&j, &b);
    ls_json_object_begin(&j);
    ls_json_kv_string(&j, "status", "a rather long value");
    ls_json_object_end(&j);
    assert_int_equal(ls_json_finish(&j), LS_ELIMIT);
    assert_true(b.len <= 16);
    ls_buf_free(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_health_document),
        cmocka_unit_test(test_top_level_scalars),
        cmocka_unit_test(test_string_escaping),
        cmocka_unit_test(test_key_escaping),
        cmocka_unit_test(test_numbers),
        cmocka_unit_test(test_misuse),
        cmocka_unit_test(test_depth_bound),
        cmocka_unit_test(test_buffer_limit),
    };
    return cmocka_run_group_tests_name("json", tests, NULL, NULL);
}
