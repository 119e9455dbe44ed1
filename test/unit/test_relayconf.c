/*
 * Unit tests for relayconf.c and the loader's GROUP_LIST type (config.c): spd's `push` and
 * `pull` lists as `-t` sees them — loaded values, defaults, every refusal with its exact
 * "FILE:LINE:" message — and the targets the relays build from a configured URL.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "libstream/config.h"
#include "libstream/err.h"
#include "libstream/mediaconf.h"
#include "libstream/relayconf.h"

/* ---- targets ---- */

static void test_push_targets(void **state)
{
    static const struct {
        const char *url, *name, *args;
        const char *hostport, *tc_url, *app, *play, *shown;
    } cases[] = {
        { "rtmp://b.example:1936/live", "cam", "", "b.example:1936", "rtmp://b.example:1936/live",
          "live", "cam", "rtmp://b.example:1936/live/cam" },
        /* default port, one trailing slash, args on the name */
        { "rtmp://10.0.0.2/live2/", "key1", "a=1&b=2", "10.0.0.2:1935",
          "rtmp://10.0.0.2:1935/live2", "live2", "key1?a=1&b=2", "rtmp://10.0.0.2/live2/key1" },
        /* a query in the URL goes with connect; never shown */
        { "rtmp://h/app?secret=x", "cam", NULL, "h:1935", "rtmp://h:1935/app?secret=x",
          "app?secret=x", "cam", "rtmp://h/app/cam" },
        /* a path under the app: the rest is the name's prefix */
        { "RTMP://h/app/inst", "cam", "", "h:1935", "rtmp://h:1935/app", "app", "inst/cam",
          "RTMP://h/app/inst/cam" },
        { "rtmp://[::1]:2000/live", "x", "", "[::1]:2000", "rtmp://[::1]:2000/live", "live", "x",
          "rtmp://[::1]:2000/live/x" },
    };
    size_t i;

    (void)state;
    for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct ls_relay_target t;
        const char *why = NULL;

        if (ls_relay_target_make(cases[i].url, cases[i].name, cases[i].args, &t, &why) != LS_OK)
            fail_msg("case %zu (%s): %s", i, cases[i].url, why);
        assert_string_equal(t.hostport, cases[i].hostport);
        assert_string_equal(t.tc_url, cases[i].tc_url);
        assert_string_equal(t.app, cases[i].app);
        assert_string_equal(t.name, cases[i].play);
        assert_string_equal(t.shown, cases[i].shown);
    }
}

static void test_pull_targets(void **state)
{
    struct ls_relay_target t;
    const char *why = NULL;

    (void)state;
    assert_int_equal(ls_relay_target_make("rtmp://x.example/live/ext?token=t", NULL, NULL, &t,
                                          &why),
                     LS_OK);
    assert_string_equal(t.hostport, "x.example:1935");
    assert_string_equal(t.tc_url, "rtmp://x.example:1935/live");
    assert_string_equal(t.app, "live");
    assert_string_equal(t.name, "ext?token=t");
    assert_string_equal(t.shown, "rtmp://x.example/live/ext");
}

static void test_bad_targets(void **state)
{
    static const struct {
        const char *url, *name, *why;
    } cases[] = {
        { "", "n", "empty URL" },
        { "rtmps://h/app", "n", "rtmps:// is not supported (plain rtmp:// only)" },
        { "http://h/app", "n", "must start with rtmp://" },
        { "rtmp://h", "n", "missing app" },    /* NAME must not become the app */
        { "rtmp://h/", "n", "missing app" },
        { "rtmp://h?x=1", "n", "missing app" },
        { "rtmp:///app", "n", NULL },          /* no host */
        { "rtmp://h:0/app", "n", NULL },
        { "rtmp://u@h/app", "n", NULL },
        { "rtmp://h/a pp", "n", NULL },
        { "rtmp://h/?x=1", "n", "missing app" },
        { "rtmp://h/app", NULL, "missing the stream name (rtmp://host[:port]/app/name)" },
        { "rtmp://h/app/", NULL, "missing the stream name (rtmp://host[:port]/app/name)" },
        { "rtmp://h/app/?q", NULL, "missing the stream name (rtmp://host[:port]/app/name)" },
    };
    size_t i;

    (void)state;
    for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct ls_relay_target t;
        const char *why = NULL;

        if (ls_relay_target_make(cases[i].url, cases[i].name, "", &t, &why) != LS_EINVAL)
            fail_msg("case %zu (%s) was accepted", i, cases[i].url);
        assert_non_null(why);
        if (cases[i].why != NULL)
            assert_string_equal(why, cases[i].why);
    }
}

/* ---- the lists through the loader ---- */

static void test_lists_load(void **state)
{
    static const char text[] =
        "push = ( { app = \"live\"; url = \"rtmp://b/live\"; },\n"
        "         { app = \"live\"; url = \"rtmp://b/live\"; args = \"k=v\"; },\n"
        "         { app = \"other\"; url = \"rtmp://c:1936/in\"; } );\n"
        "pull = ( { id = \"live/cam\"; url = \"rtmp://x/live/ext\"; } );\n"
        "max_pushes = 3; push_retry_max = 2; push_timeout = 4;\n";
    struct ls_media_conf c;
    const struct ls_relay_push_conf *push;
    const struct ls_relay_pull_conf *pull;
    char err[512] = "";

    (void)state;
    if (ls_config_load_string(text, "t.conf", ls_spd_schema, &c, err, sizeof err) != LS_OK)
        fail_msg("%s", err);
    assert_int_equal(c.push.n, 3);
    push = c.push.v;
    assert_string_equal(push[0].app, "live");
    assert_string_equal(push[0].url, "rtmp://b/live");
    assert_string_equal(push[0].args, ""); /* the element's default */
    assert_string_equal(push[1].args, "k=v");
    assert_string_equal(push[2].url, "rtmp://c:1936/in");
    assert_int_equal(c.pull.n, 1);
    pull = c.pull.v;
    assert_string_equal(pull[0].id, "live/cam");
    assert_string_equal(pull[0].url, "rtmp://x/live/ext");
    assert_int_equal(c.max_pushes, 3);
    assert_int_equal(c.push_retry_max, 2);
    assert_int_equal(c.push_timeout, 4);
    ls_config_free(ls_spd_schema, &c);
    assert_null(c.push.v);
    assert_int_equal(c.push.n, 0);

    /* defaults: empty lists, the bounds' documented values */
    assert_int_equal(ls_config_load_string("", "t.conf", ls_spd_schema, &c, err, sizeof err),
                     LS_OK);
    assert_int_equal(c.push.n, 0);
    assert_int_equal(c.pull.n, 0);
    assert_int_equal(c.max_pushes, 1000);
    assert_int_equal(c.push_retry_max, 10);
    assert_int_equal(c.push_timeout, 10);
    ls_config_free(ls_spd_schema, &c);
}

static void test_list_errors(void **state)
{
    static const struct {
        const char *text, *want;
    } cases[] = {
        { "push = { app = \"live\"; };",
          "t.conf:1: 'push' must be a list of groups: push = ( { ... }, ... );" },
        { "push = [ 1 ];", "t.conf:1: 'push' must be a list of groups: push = ( { ... }, ... );" },
        { "push = ( \"rtmp://b/live\" );", "t.conf:1: 'push[0]' must be a group: { ... }" },
        { "push = ( { url = \"rtmp://b/live\"; } );", "t.conf:1: missing required key 'push[0].app'" },
        { "push = ( { app = \"live\"; } );", "t.conf:1: missing required key 'push[0].url'" },
        { "push = ( { app = \"live\";\n  url = \"rtmp://b/live\"; urls = 1; } );",
          "t.conf:2: unknown key 'push[0].urls'" },
        { "push = ( { app = 5; url = \"rtmp://b/live\"; } );", "t.conf:1: 'push[0].app' must be a string" },
        { "push = ( { app = \".live\"; url = \"rtmp://b/live\"; } );",
          "t.conf:1: 'push[0].app': invalid app \".live\": 1-128 characters of [A-Za-z0-9_.-], "
          "not starting with '.'" },
        { "push = ( { app = \"live?x=1\"; url = \"rtmp://b/live\"; } );",
          "t.conf:1: 'push[0].app': invalid app \"live?x=1\": 1-128 characters of [A-Za-z0-9_.-], "
          "not starting with '.'" },
        { "push = ( { app = \"li\\nve\"; url = \"rtmp://b/live\"; } );",
          "t.conf:1: 'push[0].app': invalid app \"li\\x0ave\": 1-128 characters of "
          "[A-Za-z0-9_.-], not starting with '.'" },
        { "push = ( { app = \"live\";\n\n url = \"rtmps://b/live\"; } );",
          "t.conf:3: 'push[0].url': bad URL \"rtmps://b/live\": rtmps:// is not supported "
          "(plain rtmp:// only)" },
        { "push = ( { app = \"live\"; url = \"rtmp://b/live\"; args = \"a b\"; } );",
          "t.conf:1: 'push[0].args': args may hold printable ASCII only, without spaces, '?' or "
          "'#' (percent-encode the rest)" },
        { "push = ( { app = \"live\"; url = \"rtmp://b/live\"; args = \"?a\"; } );",
          "t.conf:1: 'push[0].args': args may hold printable ASCII only, without spaces, '?' or "
          "'#' (percent-encode the rest)" },
        { "push = ( { app = \"live\"; url = \"rtmp://b/live\"; },\n"
          "  { app = \"live\"; url = \"rtmp://b/live\"; } );",
          "t.conf:2: 'push[1].url': duplicate of push[0] (same app, url and args)" },
        { "push = ( { app = \"live\"; url = \"rtmp://b/live\"; },\n"
          "  { app = \"live\"; url = \"rtmp://b/live\"; args = \"k=1\"; } );", NULL },
        { "pull = ( { id = \"live\"; url = \"rtmp://x/live/ext\"; } );",
          "t.conf:1: 'pull[0].id': invalid stream id \"live\": stream id must be APP/NAME" },
        { "pull = ( { id = \"live/cam\"; url = \"rtmp://x/live\"; } );",
          "t.conf:1: 'pull[0].url': bad URL \"rtmp://x/live\": missing the stream name "
          "(rtmp://host[:port]/app/name)" },
        { "pull = ( { id = \"live/a\"; url = \"rtmp://x/live/e\"; },\n"
          "         { id = \"live/b\"; url = \"rtmp://x/live/e\"; },\n"
          "         { url = \"rtmp://x/live/f\";\n id = \"live/a\"; } );",
          "t.conf:4: 'pull[2].id': duplicate id \"live/a\" (also pull[0])" },
        { "max_pushes = 0;", "t.conf:1: 'max_pushes' must be between 1 and 100000" },
        { "push_retry_max = 301;", "t.conf:1: 'push_retry_max' must be between 1 and 300" },
        { "push_timeout = 0;", "t.conf:1: 'push_timeout' must be between 1 and 3600" },
    };
    size_t i;

    (void)state;
    for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct ls_media_conf c;
        char err[512] = "";
        int rc = ls_config_load_string(cases[i].text, "t.conf", ls_spd_schema, &c, err,
                                       sizeof err);

        if (cases[i].want == NULL) {
            if (rc != LS_OK)
                fail_msg("case %zu: %s", i, err);
        } else if (rc != LS_ECONF || strcmp(err, cases[i].want) != 0) {
            fail_msg("case %zu: rc %d, got \"%s\", want \"%s\"", i, rc, err, cases[i].want);
        } else {
            assert_null(c.push.v); /* nothing kept from a failed load */
            assert_null(c.pull.v);
        }
        ls_config_free(ls_spd_schema, &c);
    }
}

/* At most LS_CONF_LIST_MAX entries; and epd has no relays. */
static void test_list_bounds(void **state)
{
    char *text = malloc(80 * (LS_CONF_LIST_MAX + 2));
    struct ls_media_conf c;
    char err[512] = "";
    size_t len = 0;
    int i;

    (void)state;
    assert_non_null(text);
    len += (size_t)sprintf(text + len, "pull = (");
    for (i = 0; i <= LS_CONF_LIST_MAX; i++)
        len += (size_t)sprintf(text + len, "%s{ id = \"l/s%d\"; url = \"rtmp://x/l/s\"; }",
                               i > 0 ? "," : "", i);
    sprintf(text + len, ");");
    assert_int_equal(ls_config_load_string(text, "t.conf", ls_spd_schema, &c, err, sizeof err),
                     LS_ECONF);
    assert_string_equal(err, "t.conf:1: 'pull' has more than 256 entries");
    ls_config_free(ls_spd_schema, &c);
    free(text);

    assert_int_equal(ls_config_load_string("upstream = \"a:1\"; push = ( );", "t.conf",
                                           ls_epd_schema, &c, err, sizeof err),
                     LS_ECONF);
    assert_string_equal(err, "t.conf:1: unknown key 'push'");
    ls_config_free(ls_epd_schema, &c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_push_targets),
        cmocka_unit_test(test_pull_targets),
        cmocka_unit_test(test_bad_targets),
        cmocka_unit_test(test_lists_load),
        cmocka_unit_test(test_list_errors),
        cmocka_unit_test(test_list_bounds),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
