/* Unit tests for streamid.c: the id rules of docs/interface.md, queries, RTMP and HTTP-FLV URLs. */
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

static char *repeat(char c, size_t n)
{
    static char bufs[4][2048];
    static int next;
    char *b = bufs[next++ % 4];

    assert_true(n < sizeof bufs[0]);
    memset(b, c, n);
    b[n] = '\0';
    return b;
}

static void test_streamid_table(void **state)
{
    char a128[140], a129[140], n128q[200];
    const struct {
        const char *app, *name;
        int rc;
        const char *id_or_why; /* the id on success, the reason on failure */
        const char *query;
    } cases[] = {
        { "live", "cam1", LS_OK, "live/cam1", "" },
        { "live?token=x", "cam1", LS_OK, "live/cam1", "token=x" },
        { "live", "cam1?expires=1&token=ab", LS_OK, "live/cam1", "expires=1&token=ab" },
        { "live?a=1", "cam?b=2", LS_OK, "live/cam", "a=1&b=2" },
        { "live/", "cam", LS_OK, "live/cam", "" },
        { "live/?a=1", "cam", LS_OK, "live/cam", "a=1" },
        { "live?", "cam?", LS_OK, "live/cam", "" },
        { "live", "x?a=1?b=2", LS_OK, "live/x", "a=1?b=2" },
        { "A-b_c.9", "Z.z-_0", LS_OK, "A-b_c.9/Z.z-_0", "" },
        { "-", "_", LS_OK, "-/_", "" },
        { "live", "x.", LS_OK, "live/x.", "" },
        { "live", "a..b", LS_OK, "live/a..b", "" },
        { a128, a128, LS_OK, NULL, "" },
        /* refused */
        { "live", "", LS_EINVAL, "empty name", NULL },
        { "live", "?token=x", LS_EINVAL, "empty name", NULL },
        { "", "x", LS_EINVAL, "empty app", NULL },
        { "/", "x", LS_EINVAL, "empty app", NULL },
        { "?a=1", "x", LS_EINVAL, "empty app", NULL },
        { "..", "x", LS_EINVAL, "app starts with '.'", NULL },
        { ".live", "x", LS_EINVAL, "app starts with '.'", NULL },
        { "live", "../x", LS_EINVAL, "name contains '/'", NULL },
        { "live", "..", LS_EINVAL, "name starts with '.'", NULL },
        { "live", ".", LS_EINVAL, "name starts with '.'", NULL },
        { "live", ".hidden", LS_EINVAL, "name starts with '.'", NULL },
        { "live", "a/b", LS_EINVAL, "name contains '/'", NULL },
        { "live", "/x", LS_EINVAL, "name contains '/'", NULL },
        { "live//", "x", LS_EINVAL, "app contains '/'", NULL },
        { "live/sub", "x", LS_EINVAL, "app contains '/'", NULL },
        { "live", "a b", LS_EINVAL, "name contains a character outside [A-Za-z0-9_.-]", NULL },
        { "li ve", "x", LS_EINVAL, "app contains a character outside [A-Za-z0-9_.-]", NULL },
        { "live", "caf\xc3\xa9", LS_EINVAL, "name contains a character outside [A-Za-z0-9_.-]", NULL },
        { "live", "x%2e", LS_EINVAL, "name contains a character outside [A-Za-z0-9_.-]", NULL },
        { "live", "x\n", LS_EINVAL, "name contains a character outside [A-Za-z0-9_.-]", NULL },
        { "live", "x\\y", LS_EINVAL, "name contains a character outside [A-Za-z0-9_.-]", NULL },
        { "live", "x:y", LS_EINVAL, "name contains a character outside [A-Za-z0-9_.-]", NULL },
        { "live", "x&y", LS_EINVAL, "name contains a character outside [A-Za-z0-9_.-]", NULL },
        { a129, "x", LS_EINVAL, "app longer than 128 characters", NULL },
        { "live", a129, LS_EINVAL, "name longer than 128 characters", NULL },
        { "live", n128q, LS_EINVAL, "name longer than 128 characters", NULL },
        { NULL, "x", LS_EINVAL, "empty app", NULL },
        { "live", NULL, LS_EINVAL, "empty name", NULL },
    };
    char want_id[300];
    size_t i;

    (void)state;
    memset(a128, 'a', 128);
    a128[128] = '\0';
    memset(a129, 'b', 129);
    a129[129] = '\0';
    memset(n128q, 'c', 129);
    strcpy(n128q + 129, "?token=1");
    snprintf(want_id, sizeof want_id, "%s/%s", a128, a128);
    for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct ls_stream_ref r;
        const char *why = NULL;
        int rc;

        memset(&r, 0x5a, sizeof r);
        rc = ls_streamid_parse(cases[i].app, cases[i].name, &r, &why);
        if (rc != cases[i].rc)
            fail_msg("case %zu (%s, %s): rc %d (%s)", i, cases[i].app, cases[i].name, rc,
                     why ? why : "");
        if (rc == LS_OK) {
            assert_string_equal(r.id, cases[i].id_or_why != NULL ? cases[i].id_or_why : want_id);
            assert_string_equal(r.query, cases[i].query);
            assert_int_equal(strlen(r.id), strlen(r.app) + 1 + strlen(r.name));
            assert_null(why);
        } else {
            assert_non_null(why);
            if (strcmp(why, cases[i].id_or_why) != 0)
                fail_msg("case %zu: why \"%s\"", i, why);
        }
    }
}

static void test_query_bound(void **state)
{
    struct ls_stream_ref r;
    const char *why = NULL;
    char app[LS_STREAM_QUERY_MAX + 16], name[LS_STREAM_QUERY_MAX + 16];

    (void)state;
    /* whole bound on the app side */
    snprintf(app, sizeof app, "live?%s", repeat('q', LS_STREAM_QUERY_MAX));
    assert_int_equal(ls_streamid_parse(app, "x", &r, &why), LS_OK);
    assert_int_equal(strlen(r.query), LS_STREAM_QUERY_MAX);
    snprintf(app, sizeof app, "live?%s", repeat('q', LS_STREAM_QUERY_MAX + 1));
    assert_int_equal(ls_streamid_parse(app, "x", &r, &why), LS_EINVAL);
    assert_string_equal(why, "query longer than 1023 bytes");
    /* split across both, with the '&' counted: 600 + 1 + 422 = 1023 */
    snprintf(app, sizeof app, "live?%s", repeat('a', 600));
    snprintf(name, sizeof name, "x?%s", repeat('n', 422));
    assert_int_equal(ls_streamid_parse(app, name, &r, &why), LS_OK);
    assert_int_equal(strlen(r.query), LS_STREAM_QUERY_MAX);
    assert_int_equal(r.query[600], '&');
    snprintf(name, sizeof name, "x?%s", repeat('n', 423));
    why = NULL;
    assert_int_equal(ls_streamid_parse(app, name, &r, &why), LS_EINVAL);
    assert_string_equal(why, "query longer than 1023 bytes");
}

static void test_parse_id(void **state)
{
    const struct { const char *id; int rc; const char *why; } cases[] = {
        { "live/x", LS_OK, NULL },
        { "live", LS_EINVAL, "stream id must be APP/NAME" },
        { "live/", LS_EINVAL, "empty name" },
        { "/x", LS_EINVAL, "empty app" },
        { "live/a/b", LS_EINVAL, "name contains '/'" },
        { "live/x?token=1", LS_EINVAL, "name contains a character outside [A-Za-z0-9_.-]" },
        { "../x", LS_EINVAL, "app starts with '.'" },
        { NULL, LS_EINVAL, "stream id must be APP/NAME" },
    };
    size_t i;

    (void)state;
    for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct ls_stream_ref r;
        const char *why = NULL;

        assert_int_equal(ls_streamid_parse_id(cases[i].id, &r, &why), cases[i].rc);
        if (cases[i].rc == LS_OK) {
            assert_string_equal(r.id, cases[i].id);
            assert_string_equal(r.app, "live");
            assert_string_equal(r.name, "x");
            assert_string_equal(r.query, "");
        } else {
            assert_string_equal(why, cases[i].why);
        }
    }
}

static void test_query_get_table(void **state)
{
    const struct {
        const char *query, *key;
        int rc;
        const char *value;
    } cases[] = {
        { "a=1&b=2", "a", LS_OK, "1" },
        { "a=1&b=2", "b", LS_OK, "2" },
        { "a=1&b=2", "c", LS_ENOTFOUND, NULL },
        { "a=1&a=2", "a", LS_OK, "1" },             /* first wins */
        { "ab=1&a=2", "a", LS_OK, "2" },            /* whole-key match */
        { "a", "a", LS_OK, "" },
        { "a=", "a", LS_OK, "" },
        { "b&a&c=3", "a", LS_OK, "" },
        { "&&a=1&&", "a", LS_OK, "1" },
        { "a=x=y", "a", LS_OK, "x=y" },
        { "=v&a=1", "a", LS_OK, "1" },
        { "token=AbC%2b%2F%3d", "token", LS_OK, "AbC+/=" },
        { "name=hello+world%21", "name", LS_OK, "hello world!" },
        { "ex%70ires=9", "expires", LS_OK, "9" },   /* keys are decoded before comparing */
        { "caf%C3%A9=1", "caf\xc3\xa9", LS_OK, "1" },
        { "a=%", "a", LS_EINVAL, NULL },
        { "a=%4", "a", LS_EINVAL, NULL },
        { "a=%zz", "a", LS_EINVAL, NULL },
        { "a=%4g", "a", LS_EINVAL, NULL },
        { "a=x%00y", "a", LS_EINVAL, NULL },
        { "b=%zz&a=1", "a", LS_OK, "1" },           /* junk elsewhere does not matter */
        { "%zz=1&a=2", "a", LS_OK, "2" },
        { "", "a", LS_ENOTFOUND, NULL },
        { NULL, "a", LS_ENOTFOUND, NULL },
        { "a=1", NULL, LS_ENOTFOUND, NULL },
    };
    size_t i;

    (void)state;
    for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char out[64];
        int rc;

        memset(out, '#', sizeof out);
        rc = ls_query_get(cases[i].query, cases[i].key, out, sizeof out);
        if (rc != cases[i].rc)
            fail_msg("case %zu (%s / %s): rc %d", i, cases[i].query, cases[i].key, rc);
        if (rc == LS_OK)
            assert_string_equal(out, cases[i].value);
    }
}

/* The output bound: an exact fit works, one byte less is LS_ELIMIT; canaries intact. */
static void test_query_get_bound(void **state)
{
    char out[8 + 4];

    (void)state;
    memset(out, '#', sizeof out);
    assert_int_equal(ls_query_get("k=1234567", "k", out, 8), LS_OK);
    assert_string_equal(out, "1234567");
    assert_memory_equal(out + 8, "####", 4);
    memset(out, '#', sizeof out);
    assert_int_equal(ls_query_get("k=12345678", "k", out, 8), LS_ELIMIT);
    assert_string_equal(out, "");
    assert_memory_equal(out + 8, "####", 4);
    /* escapes count decoded: "%41" is one byte */
    assert_int_equal(ls_query_get("k=%41%42%43%44%45%46%47", "k", out, 8), LS_OK);
    assert_string_equal(out, "ABCDEFG");
    memset(out, '#', sizeof out);
    assert_int_equal(ls_query_get("k=", "k", out, 1), LS_OK);
    assert_string_equal(out, "");
    assert_int_equal(ls_query_get("k", "k", out, 0), LS_ELIMIT);
    assert_int_equal(ls_query_get("k=", "k", out, 0), LS_ELIMIT);
    assert_int_equal(out[1], '#');
}

static void test_rtmp_url_table(void **state)
{
    const struct {
        const char *url;
        int rc;
        const char *host;
        unsigned port;
        const char *app, *name, *tc_url;
    } cases[] = {
        { "rtmp://127.0.0.1/live/cam1", LS_OK, "127.0.0.1", 1935, "live", "cam1",
          "rtmp://127.0.0.1:1935/live" },
        { "rtmp://example.net:1936/live/cam1?token=x", LS_OK, "example.net", 1936, "live",
          "cam1?token=x", "rtmp://example.net:1936/live" },
        { "RTMP://Example.NET/live/x", LS_OK, "Example.NET", 1935, "live", "x",
          "rtmp://Example.NET:1935/live" },
        { "rtmp://[::1]:19350/live/x", LS_OK, "::1", 19350, "live", "x", "rtmp://[::1]:19350/live" },
        { "rtmp://[2001:db8::1]/app/n", LS_OK, "2001:db8::1", 1935, "app", "n",
          "rtmp://[2001:db8::1]:1935/app" },
        { "rtmp://h/live?token=a/cam", LS_OK, "h", 1935, "live?token=a", "cam",
          "rtmp://h:1935/live?token=a" },
        { "rtmp://h/live", LS_OK, "h", 1935, "live", "", "rtmp://h:1935/live" },
        { "rtmp://h/live/", LS_OK, "h", 1935, "live", "", "rtmp://h:1935/live" },
        { "rtmp://h/live/a/b", LS_OK, "h", 1935, "live", "a/b", "rtmp://h:1935/live" },
        { "rtmp://h/live/x?e=1&t=a/b", LS_OK, "h", 1935, "live", "x?e=1&t=a/b", "rtmp://h:1935/live" },
        /* refused */
        { "rtmps://h/live/x", LS_EINVAL, NULL, 0, NULL, NULL, NULL },
        { "http://h/live/x", LS_EINVAL, NULL, 0, NULL, NULL, NULL },
        { "rtmp:/h/live/x", LS_EINVAL, NULL, 0, NULL, NULL, NULL },
        { "rtmp://h", LS_EINVAL, NULL, 0, NULL, NULL, NULL },
        { "rtmp://h/", LS_EINVAL, NULL, 0, NULL, NULL, NULL },
        { "rtmp://h//x", LS_EINVAL, NULL, 0, NULL, NULL, NULL },
        { "rtmp:///live/x", LS_EINVAL, NULL, 0, NULL, NULL, NULL },
        { "rtmp://h:0/live/x", LS_EINVAL, NULL, 0, NULL, NULL, NULL },
        { "rtmp://h:65536/live/x", LS_EINVAL, NULL, 0, NULL, NULL, NULL },
        { "rtmp://h:/live/x", LS_EINVAL, NULL, 0, NULL, NULL, NULL },
        { "rtmp://::1/live/x", LS_EINVAL, NULL, 0, NULL, NULL, NULL },
        { "rtmp://[::1/live/x", LS_EINVAL, NULL, 0, NULL, NULL, NULL },
        { "rtmp://user:pw@h/live/x", LS_EINVAL, NULL, 0, NULL, NULL, NULL },
        { "rtmp://h_x/live/x", LS_EINVAL, NULL, 0, NULL, NULL, NULL },
        { "rtmp://1.2.3/live/x", LS_EINVAL, NULL, 0, NULL, NULL, NULL },
        { "rtmp://h/live/a b", LS_EINVAL, NULL, 0, NULL, NULL, NULL },
        { "rtmp://h/live/a\n", LS_EINVAL, NULL, 0, NULL, NULL, NULL },
        { "rtmp://h/live/a\x7f", LS_EINVAL, NULL, 0, NULL, NULL, NULL },
        { NULL, LS_EINVAL, NULL, 0, NULL, NULL, NULL },
    };
    size_t i;

    (void)state;
    for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct ls_rtmp_url u;
        int rc = ls_rtmp_url_parse(cases[i].url, &u);

        if (rc != cases[i].rc)
            fail_msg("case %zu (%s): rc %d", i, cases[i].url, rc);
        if (rc != LS_OK)
            continue;
        assert_string_equal(u.host, cases[i].host);
        assert_int_equal(u.port, cases[i].port);
        assert_string_equal(u.app, cases[i].app);
        assert_string_equal(u.name, cases[i].name);
        assert_string_equal(u.tc_url, cases[i].tc_url);
    }
}

/* Bound on URL length, and the largest accepted URL still yields a tc_url. */
static void test_rtmp_url_bound(void **state)
{
    static char url[LS_RTMP_URL_MAX + 2];
    struct ls_rtmp_url u;
    size_t n;

    (void)state;
    n = (size_t)snprintf(url, sizeof url, "rtmp://h/");
    memset(url + n, 'a', LS_RTMP_URL_MAX - n);
    url[LS_RTMP_URL_MAX] = '\0';
    assert_int_equal(ls_rtmp_url_parse(url, &u), LS_OK);
    assert_int_equal(strlen(u.app), LS_RTMP_URL_MAX - n);
    assert_int_equal(strlen(u.tc_url), LS_RTMP_URL_MAX + 5); /* ":1935" added */
    url[LS_RTMP_URL_MAX] = 'a';
    url[LS_RTMP_URL_MAX + 1] = '\0';
    assert_int_equal(ls_rtmp_url_parse(url, &u), LS_EINVAL);
    /* an overlong authority */
    n = (size_t)snprintf(url, sizeof url, "rtmp://%s/live/x", repeat('h', 300));
    assert_int_equal(ls_rtmp_url_parse(url, &u), LS_EINVAL);
}

/* What a client parses from a URL is what a server validates from connect + play. */
static void test_url_to_stream_id(void **state)
{
    const struct { const char *url; const char *id; const char *query; } cases[] = {
        { "rtmp://h/live/cam1", "live/cam1", "" },
        { "rtmp://h/live?token=a/cam1", "live/cam1", "token=a" },
        { "rtmp://h/live/cam1?expires=5&token=b", "live/cam1", "expires=5&token=b" },
    };
    size_t i;

    (void)state;
    for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct ls_rtmp_url u;
        struct ls_stream_ref r;

        assert_int_equal(ls_rtmp_url_parse(cases[i].url, &u), LS_OK);
        assert_int_equal(ls_streamid_parse(u.app, u.name, &r, NULL), LS_OK);
        assert_string_equal(r.id, cases[i].id);
        assert_string_equal(r.query, cases[i].query);
    }
}

static void test_http_flv_paths(void **state)
{
    const struct { const char *path; int rc; const char *id; const char *query; } cases[] = {
        { "/live/cam1.flv", LS_OK, "live/cam1", "" },
        { "/live/cam1.flv?expires=1&token=ab", LS_OK, "live/cam1", "expires=1&token=ab" },
        { "/live/a.b.flv", LS_OK, "live/a.b", "" },
        { "/live/cam1.flv?", LS_OK, "live/cam1", "" },
        { "/live/cam1", LS_EINVAL, NULL, NULL },
        { "/live/cam1.FLV", LS_EINVAL, NULL, NULL },
        { "/live/.flv", LS_EINVAL, NULL, NULL },
        { "/live/..flv", LS_EINVAL, NULL, NULL },
        { "/live/flv", LS_EINVAL, NULL, NULL },
        { "/cam1.flv", LS_EINVAL, NULL, NULL },
        { "//cam1.flv", LS_EINVAL, NULL, NULL },
        { "/live/x/cam1.flv", LS_EINVAL, NULL, NULL },
        { "/../live/cam1.flv", LS_EINVAL, NULL, NULL },
        { "/live/..%2fcam.flv", LS_EINVAL, NULL, NULL },
        { "/live/cam%31.flv", LS_EINVAL, NULL, NULL },
        { "live/cam1.flv", LS_EINVAL, NULL, NULL },
        { "/api/v1/streams", LS_EINVAL, NULL, NULL },
        { "", LS_EINVAL, NULL, NULL },
        { NULL, LS_EINVAL, NULL, NULL },
    };
    char longq[LS_STREAM_QUERY_MAX + 32];
    struct ls_stream_ref r;
    size_t i;

    (void)state;
    for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        int rc = ls_http_flv_path_parse(cases[i].path, &r);

        if (rc != cases[i].rc)
            fail_msg("case %zu (%s): rc %d", i, cases[i].path, rc);
        if (rc == LS_OK) {
            assert_string_equal(r.id, cases[i].id);
            assert_string_equal(r.query, cases[i].query);
        }
    }
    snprintf(longq, sizeof longq, "/live/x.flv?%s", repeat('q', LS_STREAM_QUERY_MAX));
    assert_int_equal(ls_http_flv_path_parse(longq, &r), LS_OK);
    snprintf(longq, sizeof longq, "/live/x.flv?%s", repeat('q', LS_STREAM_QUERY_MAX + 1));
    assert_int_equal(ls_http_flv_path_parse(longq, &r), LS_EINVAL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_streamid_table),
        cmocka_unit_test(test_query_bound),
        cmocka_unit_test(test_parse_id),
        cmocka_unit_test(test_query_get_table),
        cmocka_unit_test(test_query_get_bound),
        cmocka_unit_test(test_rtmp_url_table),
        cmocka_unit_test(test_rtmp_url_bound),
        cmocka_unit_test(test_url_to_stream_id),
        cmocka_unit_test(test_http_flv_paths),
    };
    return cmocka_run_group_tests_name("streamid", tests, NULL, NULL);
}
