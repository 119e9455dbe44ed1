/*
 * Unit tests for config.c: the schema loader (example file per role with every key of
 * docs/interface.md "Configuration", every error kind with its exact "FILE:LINE:" prefix).
 * The address grammar itself is tested in test_addr.c.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <cmocka.h>

#include "libstream/config.h"
#include "libstream/mediaconf.h"
#include "libstream/err.h"
#include "libstream/log.h"

#define DATA "test/unit/data/"

/* ---- the three roles' configs, as the daemons will declare them ----------------------- */

struct auth_conf {
    char *secret;
    char *auth_url;
};

struct record_conf {
    bool enabled;
    char *dir;
};

struct smd_conf {
    char *node_id;
    int log_level;
    struct ls_addr listen, http_listen;
    char *cluster_secret;
    int64_t max_connections;
    int64_t lease_seconds;
    struct ls_cidr_list allow;
};

struct spd_conf {
    char *node_id;
    int log_level;
    struct ls_addr listen, http_listen;
    char *cluster_secret;
    int64_t max_connections;
    struct ls_addr advertise;
    struct ls_addr_list source_managers;
    bool gop_cache;
    int64_t idle_timeout, publish_takeover_idle, play_wait_timeout;
    struct auth_conf publish, play;
    struct record_conf record;
};

struct epd_conf {
    char *node_id;
    int log_level;
    struct ls_addr listen, http_listen;
    char *cluster_secret;
    int64_t max_connections;
    struct ls_addr upstream;
    bool gop_cache;
    int64_t idle_timeout, play_wait_timeout;
    struct auth_conf play;
};

static const struct ls_conf_key auth_keys[] = {
    { .name = "secret", .type = LS_CONF_STRING, .offset = offsetof(struct auth_conf, secret),
      .help = "HMAC token secret; empty = no token required" },
    { .name = "auth_url", .type = LS_CONF_URL, .offset = offsetof(struct auth_conf, auth_url),
      .help = "http:// URL asked to allow each request; empty = none" },
    { .name = NULL },
};

static const struct ls_conf_key record_keys[] = {
    { .name = "enabled", .type = LS_CONF_BOOL, .offset = offsetof(struct record_conf, enabled) },
    { .name = "dir", .type = LS_CONF_STRING, .offset = offsetof(struct record_conf, dir),
      .def = "/var/lib/livecluster/record" },
    { .name = NULL },
};

#define COMMON_KEYS(T, listen_def)                                                          \
    { .name = "node_id", .type = LS_CONF_STRING, .offset = offsetof(T, node_id),            \
      .flags = LS_CONF_DEFAULT_HOSTNAME },                                                  \
    { .name = "log_level", .type = LS_CONF_LOG_LEVEL, .offset = offsetof(T, log_level) },   \
    { .name = "listen", .type = LS_CONF_LISTEN_ADDR, .offset = offsetof(T, listen),         \
      .def = listen_def },                                                                  \
    { .name = "http_listen", .type = LS_CONF_LISTEN_ADDR, .offset = offsetof(T, http_listen) }, \
    { .name = "cluster_secret", .type = LS_CONF_STRING, .offset = offsetof(T, cluster_secret) }, \
    { .name = "max_connections", .type = LS_CONF_INT, .offset = offsetof(T, max_connections), \
      .def_int = 10000, .min = 1, .max = 1000000 }

static const struct ls_conf_key smd_keys[] = {
    COMMON_KEYS(struct smd_conf, "*:19350"),
    { .name = "lease_seconds", .type = LS_CONF_INT, .offset = offsetof(struct smd_conf, lease_seconds),
      .def_int = 10, .min = 1, .max = 3600 },
    { .name = "allow", .type = LS_CONF_CIDR_LIST, .offset = offsetof(struct smd_conf, allow) },
    { .name = NULL },
};

static const struct ls_conf_key spd_keys[] = {
    COMMON_KEYS(struct spd_conf, "*:1935"),
    { .name = "advertise", .type = LS_CONF_PEER_ADDR, .offset = offsetof(struct spd_conf, advertise) },
    { .name = "source_managers", .type = LS_CONF_ADDR_LIST,
      .offset = offsetof(struct spd_conf, source_managers) },
    { .name = "gop_cache", .type = LS_CONF_BOOL, .offset = offsetof(struct spd_conf, gop_cache),
      .def_int = 1 },
    { .name = "idle_timeout", .type = LS_CONF_INT, .offset = offsetof(struct spd_conf, idle_timeout),
      .def_int = 10, .min = 0, .max = 86400 },
    { .name = "publish_takeover_idle", .type = LS_CONF_INT,
      .offset = offsetof(struct spd_conf, publish_takeover_idle), .def_int = 5, .min = 0, .max = 3600 },
    { .name = "play_wait_timeout", .type = LS_CONF_INT,
      .offset = offsetof(struct spd_conf, play_wait_timeout), .def_int = 10, .min = 0, .max = 3600 },
    { .name = "publish", .type = LS_CONF_GROUP, .offset = offsetof(struct spd_conf, publish),
      .children = auth_keys },
    { .name = "play", .type = LS_CONF_GROUP, .offset = offsetof(struct spd_conf, play),
      .children = auth_keys },
    { .name = "record", .type = LS_CONF_GROUP, .offset = offsetof(struct spd_conf, record),
      .children = record_keys },
    { .name = NULL },
};

static const struct ls_conf_key epd_keys[] = {
    COMMON_KEYS(struct epd_conf, "*:1935"),
    { .name = "upstream", .type = LS_CONF_PEER_ADDR, .offset = offsetof(struct epd_conf, upstream),
      .flags = LS_CONF_REQUIRED },
    { .name = "gop_cache", .type = LS_CONF_BOOL, .offset = offsetof(struct epd_conf, gop_cache),
      .def_int = 1 },
    { .name = "idle_timeout", .type = LS_CONF_INT, .offset = offsetof(struct epd_conf, idle_timeout),
      .def_int = 10, .min = 0, .max = 86400 },
    { .name = "play_wait_timeout", .type = LS_CONF_INT,
      .offset = offsetof(struct epd_conf, play_wait_timeout), .def_int = 10, .min = 0, .max = 3600 },
    { .name = "play", .type = LS_CONF_GROUP, .offset = offsetof(struct epd_conf, play),
      .children = auth_keys },
    { .name = NULL },
};

static void assert_addr(const struct ls_addr *a, const char *host, unsigned port)
{
    assert_string_equal(a->host, host);
    assert_int_equal(a->port, port);
}

/* ---- example files ------------------------------------------------------------------- */

static void test_example_smd(void **state)
{
    struct smd_conf c;
    char err[256] = "";
    struct sockaddr_in s4 = { .sin_family = AF_INET };
    struct sockaddr_in6 s6 = { .sin6_family = AF_INET6 };

    (void)state;
    assert_int_equal(ls_config_load(DATA "conf_smd.conf", smd_keys, &c, err, sizeof err), LS_OK);
    assert_string_equal(err, "");
    assert_string_equal(c.node_id, "sm-1");
    assert_int_equal(c.log_level, LS_LOG_NOTICE);
    assert_addr(&c.listen, "0.0.0.0", 19350);
    assert_addr(&c.http_listen, "127.0.0.1", 8080);
    assert_string_equal(c.cluster_secret, "s3cret-cluster");
    assert_int_equal(c.max_connections, 2000);
    assert_int_equal(c.lease_seconds, 15);
    assert_int_equal(c.allow.n, 4);
    /* "::ffff:172.16.0.0/108" became the IPv4 rule 172.16.0.0/12 */
    assert_int_equal(c.allow.v[3].family, AF_INET);
    assert_int_equal(c.allow.v[3].prefix, 12);
    inet_pton(AF_INET, "172.31.255.1", &s4.sin_addr);
    assert_true(ls_cidr_list_match(&c.allow, (struct sockaddr *)&s4));
    inet_pton(AF_INET, "192.168.1.7", &s4.sin_addr);
    assert_true(ls_cidr_list_match(&c.allow, (struct sockaddr *)&s4));
    inet_pton(AF_INET, "192.168.1.8", &s4.sin_addr);
    assert_false(ls_cidr_list_match(&c.allow, (struct sockaddr *)&s4));
    inet_pton(AF_INET6, "2001:db8:ffff::1", &s6.sin6_addr);
    assert_true(ls_cidr_list_match(&c.allow, (struct sockaddr *)&s6));
    inet_pton(AF_INET6, "::ffff:10.9.8.7", &s6.sin6_addr);
    assert_true(ls_cidr_list_match(&c.allow, (struct sockaddr *)&s6));
    ls_config_free(smd_keys, &c);
    assert_null(c.node_id);
    assert_null(c.allow.v);
    assert_int_equal(c.allow.n, 0);
    ls_config_free(smd_keys, &c); /* idempotent */
}

static void test_example_spd(void **state)
{
    struct spd_conf c;
    char err[256] = "";

    (void)state;
    assert_int_equal(ls_config_load(DATA "conf_spd.conf", spd_keys, &c, err, sizeof err), LS_OK);
    assert_string_equal(c.node_id, "sp-1");
    assert_int_equal(c.log_level, LS_LOG_DEBUG);
    assert_addr(&c.listen, "0.0.0.0", 1935);
    assert_addr(&c.http_listen, "::", 8081);
    assert_string_equal(c.cluster_secret, "s3cret-cluster");
    assert_int_equal(c.max_connections, 5000);
    assert_addr(&c.advertise, "sp1.example.net", 1935);
    assert_int_equal(c.source_managers.n, 3);
    assert_addr(&c.source_managers.v[0], "10.0.0.1", 19350);
    assert_addr(&c.source_managers.v[1], "2001:db8::1", 19350);
    assert_addr(&c.source_managers.v[2], "sm2.example.net", 19350);
    assert_false(c.gop_cache);
    assert_int_equal(c.idle_timeout, 30);
    assert_int_equal(c.publish_takeover_idle, 7);
    assert_int_equal(c.play_wait_timeout, 12);
    assert_string_equal(c.publish.secret, "pub-secret");
    assert_string_equal(c.publish.auth_url, "http://auth.example.net:8000/on_publish?x=1");
    assert_string_equal(c.play.secret, "");
    assert_string_equal(c.play.auth_url, "");
    assert_true(c.record.enabled);
    assert_string_equal(c.record.dir, "/var/lib/livecluster/record");
    ls_config_free(spd_keys, &c);
    assert_null(c.publish.secret);
    assert_null(c.source_managers.v);
}

static void test_example_epd(void **state)
{
    struct epd_conf c;
    char err[256] = "";

    (void)state;
    assert_int_equal(ls_config_load(DATA "conf_epd.conf", epd_keys, &c, err, sizeof err), LS_OK);
    assert_string_equal(c.node_id, "ep-7");
    assert_int_equal(c.log_level, LS_LOG_WARNING);
    assert_addr(&c.listen, "::1", 1936);
    assert_addr(&c.http_listen, "127.0.0.2", 8082);
    assert_string_equal(c.cluster_secret, "");
    assert_int_equal(c.max_connections, 100000);
    assert_addr(&c.upstream, "10.1.2.3", 1935);
    assert_true(c.gop_cache);
    assert_int_equal(c.idle_timeout, 0);
    assert_int_equal(c.play_wait_timeout, 3);
    assert_string_equal(c.play.secret, "play-secret");
    assert_string_equal(c.play.auth_url, "http://[::1]/auth");
    ls_config_free(epd_keys, &c);
}

static void test_defaults(void **state)
{
    struct spd_conf c;
    char err[256] = "";
    char host[256] = "";

    (void)state;
    assert_int_equal(gethostname(host, sizeof host - 1), 0);
    assert_int_equal(ls_config_load(DATA "conf_empty.conf", spd_keys, &c, err, sizeof err), LS_OK);
    assert_string_equal(c.node_id, host); /* default: the hostname (docs/interface.md) */
    assert_true(host[0] != '\0');
    assert_int_equal(c.log_level, LS_LOG_INFO);
    assert_addr(&c.listen, "0.0.0.0", 1935);
    assert_addr(&c.http_listen, "", 0);
    assert_addr(&c.advertise, "", 0);
    assert_int_equal(c.max_connections, 10000);
    assert_int_equal(c.source_managers.n, 0);
    assert_null(c.source_managers.v);
    assert_true(c.gop_cache);
    assert_int_equal(c.idle_timeout, 10);
    assert_int_equal(c.publish_takeover_idle, 5);
    assert_int_equal(c.play_wait_timeout, 10);
    assert_string_equal(c.publish.secret, "");
    assert_string_equal(c.play.auth_url, "");
    assert_false(c.record.enabled);
    assert_string_equal(c.record.dir, "/var/lib/livecluster/record");
    ls_config_free(spd_keys, &c);

    /* A group given partly keeps the other keys' defaults. */
    assert_int_equal(ls_config_load_string("record = { enabled = true; };", "t.conf", spd_keys,
                                           &c, err, sizeof err), LS_OK);
    assert_true(c.record.enabled);
    assert_string_equal(c.record.dir, "/var/lib/livecluster/record");
    ls_config_free(spd_keys, &c);
}

/* Reload: a new struct is loaded next to the live one; a failed load leaves the live one. */
static void test_reload_swap(void **state)
{
    struct spd_conf live, next;
    char err[256];

    (void)state;
    assert_int_equal(ls_config_load(DATA "conf_spd.conf", spd_keys, &live, err, sizeof err), LS_OK);
    assert_int_equal(ls_config_load(DATA "conf_bad_type.conf", spd_keys, &next, err, sizeof err),
                     LS_ECONF);
    /* the failed struct is released and zeroed: freeing it again is harmless */
    assert_null(next.node_id);
    assert_null(next.publish.secret);
    ls_config_free(spd_keys, &next);
    assert_string_equal(live.node_id, "sp-1");
    assert_int_equal(ls_config_load(DATA "conf_empty.conf", spd_keys, &next, err, sizeof err), LS_OK);
    ls_config_free(spd_keys, &live);
    live = next;
    assert_string_not_equal(live.node_id, "sp-1");
    ls_config_free(spd_keys, &live);
}

/* ---- error files: exact one-line messages ------------------------------------------- */

static void test_error_files(void **state)
{
    static const struct {
        const char *file;
        const struct ls_conf_key *schema;
        const char *want;
    } cases[] = {
        { DATA "conf_bad_syntax.conf", spd_keys, DATA "conf_bad_syntax.conf:3: syntax error" },
        { DATA "conf_bad_unknown_key.conf", spd_keys,
          DATA "conf_bad_unknown_key.conf:3: unknown key 'max_conections'" },
        { DATA "conf_bad_group_key.conf", spd_keys,
          DATA "conf_bad_group_key.conf:4: unknown key 'publish.secrett'" },
        { DATA "conf_bad_type.conf", spd_keys,
          DATA "conf_bad_type.conf:2: 'max_connections' must be an integer" },
        { DATA "conf_bad_range.conf", spd_keys,
          DATA "conf_bad_range.conf:1: 'max_connections' must be between 1 and 1000000" },
        { DATA "conf_bad_addr.conf", spd_keys,
          DATA "conf_bad_addr.conf:3: 'advertise': bad address \"1.2.3:1935\": bad IPv4 address" },
        { DATA "conf_bad_list_addr.conf", spd_keys,
          DATA "conf_bad_list_addr.conf:3: 'source_managers': bad address \"sm2.example.net\": "
               "missing port" },
        { DATA "conf_bad_missing_required.conf", epd_keys,
          DATA "conf_bad_missing_required.conf:0: missing required key 'upstream'" },
        { DATA "conf_smd.conf", spd_keys, DATA "conf_smd.conf:8: unknown key 'lease_seconds'" },
        { DATA "conf_spd.conf", epd_keys, DATA "conf_spd.conf:8: unknown key 'advertise'" },
        { DATA "conf_epd.conf", spd_keys, DATA "conf_epd.conf:8: unknown key 'upstream'" },
        { DATA "conf_include.conf", spd_keys,
          DATA "conf_include_part.conf:3: unknown key 'record.dri'" },
        { DATA "no_such_file.conf", spd_keys,
          DATA "no_such_file.conf:0: cannot open: No such file or directory" },
        { DATA, spd_keys, DATA ":0: cannot open: Is a directory" },
    };
    size_t i;

    (void)state;
    for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        union { struct spd_conf s; struct epd_conf e; } c;
        char err[512];

        memset(err, 'x', sizeof err);
        assert_int_equal(ls_config_load(cases[i].file, cases[i].schema, &c, err, sizeof err),
                         LS_ECONF);
        assert_string_equal(err, cases[i].want);
        ls_config_free(cases[i].schema, &c);
    }
}

/* ---- error table over in-memory text -------------------------------------------------- */

struct text_case {
    const char *text;
    const char *want; /* NULL = loads */
};

static void run_text_cases(const struct ls_conf_key *schema, const struct text_case *cases,
                           size_t n, size_t size)
{
    size_t i;

    for (i = 0; i < n; i++) {
        union {
            struct spd_conf spd;
            struct smd_conf smd;
            struct ls_media_conf media;
        } conf;
        char err[512] = "";
        int rc;

        assert_true(size <= sizeof conf);
        rc = ls_config_load_string(cases[i].text, "t.conf", schema, &conf, err, sizeof err);
        if (cases[i].want == NULL) {
            if (rc != LS_OK)
                fail_msg("case %zu (%s): %s", i, cases[i].text, err);
        } else {
            if (rc != LS_ECONF || strcmp(err, cases[i].want) != 0)
                fail_msg("case %zu (%s): rc %d, got \"%s\", want \"%s\"", i, cases[i].text, rc,
                         err, cases[i].want);
        }
        ls_config_free(schema, &conf);
    }
}

static void test_error_table_spd(void **state)
{
    static const struct text_case cases[] = {
        /* types */
        { "node_id = 5;", "t.conf:1: 'node_id' must be a string" },
        { "node_id = \"x\";\ncluster_secret = true;", "t.conf:2: 'cluster_secret' must be a string" },
        { "max_connections = 1.5;", "t.conf:1: 'max_connections' must be an integer" },
        { "max_connections = true;", "t.conf:1: 'max_connections' must be an integer" },
        { "max_connections = 5L;", NULL },
        { "max_connections = 0x10;", NULL },
        { "max_connections = 1000000;", NULL },
        { "max_connections = 1000001;", "t.conf:1: 'max_connections' must be between 1 and 1000000" },
        { "max_connections = -1;", "t.conf:1: 'max_connections' must be between 1 and 1000000" },
        { "gop_cache = 1;", "t.conf:1: 'gop_cache' must be true or false" },
        { "gop_cache = \"true\";", "t.conf:1: 'gop_cache' must be true or false" },
        { "gop_cache = TRUE;", NULL },
        { "log_level = \"verbose\";",
          "t.conf:1: 'log_level' must be one of \"debug\", \"info\", \"notice\", \"warning\", \"error\"" },
        { "log_level = 6;",
          "t.conf:1: 'log_level' must be one of \"debug\", \"info\", \"notice\", \"warning\", \"error\"" },
        { "listen = 1935;", "t.conf:1: 'listen' must be a \"host:port\" string" },
        { "listen = \"\";", NULL },
        { "listen = \"localhost:1935\";",
          "t.conf:1: 'listen': bad address \"localhost:1935\": a listen host must be a numeric address or '*'" },
        { "listen = \"*\";", "t.conf:1: 'listen': bad address \"*\": missing port" },
        { "listen = \"*:0\";",
          "t.conf:1: 'listen': bad address \"*:0\": port must be a number from 1 to 65535" },
        { "listen = \"*:65536\";",
          "t.conf:1: 'listen': bad address \"*:65536\": port must be a number from 1 to 65535" },
        { "advertise = \"*:1935\";",
          "t.conf:1: 'advertise': bad address \"*:1935\": '*' is only valid for listen addresses" },
        { "advertise = \"0.0.0.0:1935\";",
          "t.conf:1: 'advertise': bad address \"0.0.0.0:1935\": the unspecified address cannot be a peer" },
        { "advertise = \"a\\nb:1\";", "t.conf:1: 'advertise': bad address \"a\\x0ab:1\": bad host name" },
        { "source_managers = \"10.0.0.1:1\";",
          "t.conf:1: 'source_managers' must be a list of \"host:port\" strings" },
        { "source_managers = ( \"10.0.0.1:1\", 5 );",
          "t.conf:1: 'source_managers' must be a list of \"host:port\" strings" },
        { "source_managers = ( );", NULL },
        { "source_managers = [ \"a:1\", \"b:2\" ];", NULL },
        { "source_managers = ( \"\" );",
          "t.conf:1: 'source_managers': bad address \"\": empty address" },
        { "publish = \"x\";", "t.conf:1: 'publish' must be a group: publish = { ... };" },
        { "publish = { secret = 1; };", "t.conf:1: 'publish.secret' must be a string" },
        { "publish = {\n auth_url = \"https://a/\";\n};",
          "t.conf:2: 'publish.auth_url': bad URL \"https://a/\": https is not supported" },
        { "play = { auth_url = \"ftp://a/\"; };",
          "t.conf:1: 'play.auth_url': bad URL \"ftp://a/\": must start with http://" },
        { "play = { auth_url = \"http://u@a/\"; };",
          "t.conf:1: 'play.auth_url': bad URL \"http://u@a/\": user information is not supported" },
        { "play = { auth_url = \"http:///x\"; };",
          "t.conf:1: 'play.auth_url': bad URL \"http:///x\": missing or overlong host" },
        { "play = { auth_url = \"http://a:0/\"; };",
          "t.conf:1: 'play.auth_url': bad URL \"http://a:0/\": port must be a number from 1 to 65535" },
        { "play = { auth_url = \"http://a/b c\"; };",
          "t.conf:1: 'play.auth_url': bad URL \"http://a/b c\": spaces, control and non-ASCII "
          "characters must be percent-encoded" },
        { "play = { auth_url = \"http://[::1\"; };",
          "t.conf:1: 'play.auth_url': bad URL \"http://[::1\": missing ']' after IPv6 address" },
        { "play = { auth_url = \"HTTP://A.example:8080\"; };", NULL },
        { "play = { auth_url = \"http://[::1]:81/x?y=%20\"; };", NULL },
        { "play = { auth_url = \"http://10.0.0.1\"; };", NULL },
        { "record = { enabled = true; dir = 7; };", "t.conf:1: 'record.dir' must be a string" },
        { "record = { enabled = 1; };", "t.conf:1: 'record.enabled' must be true or false" },
        { "record = { x = { }; };", "t.conf:1: unknown key 'record.x'" },
        /* libconfig syntax errors, with their line */
        { "a = ;", "t.conf:1: syntax error" },
        { "node_id = \"a\";\nnode_id = \"b\";", "t.conf:2: duplicate setting name" },
        { "\n\nplay = { secret = \"x\" ", "t.conf:3: syntax error" },
        /* integers libconfig 1.5 would silently wrap */
        { "\nmax_connections = 3000000000;",
          "t.conf:2: integer 3000000000 does not fit in 32 bits: write 3000000000L for a 64-bit value" },
        { "max_connections = 4294967306;",
          "t.conf:1: integer 4294967306 does not fit in 32 bits: write 4294967306L for a 64-bit value" },
        { "max_connections = -2147483649;",
          "t.conf:1: integer -2147483649 does not fit in 32 bits: write -2147483649L for a 64-bit value" },
        { "max_connections = 0xffffffff;",
          "t.conf:1: integer 0xffffffff does not fit in 32 bits: write 0xffffffffL for a 64-bit value" },
        { "max_connections = 99999999999999999999L;", "t.conf:1: integer 99999999999999999999 is out of range" },
        { "max_connections = 3000000000L;", "t.conf:1: 'max_connections' must be between 1 and 1000000" },
        { "max_connections = 1000000000000000000000000000000000000000000000000000000000000000000000000;",
          "t.conf:1: integer 10000000000000000000... is out of range" },
        /* ...but not numbers inside strings, comments, names, or floats */
        { "node_id = \"3000000000 \\\" 4000000000\"; # 5000000000\n"
          "// 6000000000\n/* 7000000000\n */ cluster_secret = \"x\";\n"
          "record = { dir = \"\"; enabled = false; }; max_connections = +5;", NULL },
        { "play = { secret = \"a\"; }; max_connections = 2147483647;",
          "t.conf:1: 'max_connections' must be between 1 and 1000000" },
        { "unknown_1e99 = 1.5e+300;", "t.conf:1: unknown key 'unknown_1e99'" },
        { "node-x = 3;", "t.conf:1: unknown key 'node-x'" },
    };

    (void)state;
    run_text_cases(spd_keys, cases, sizeof cases / sizeof cases[0], sizeof(struct spd_conf));
}

/* The media daemons' own schema: dns_servers must be numeric (a resolver cannot ask a
 * name for names), dns_timeout_ms is bounded. */
static void test_error_table_media_dns(void **state)
{
    static const struct text_case cases[] = {
        { "dns_servers = ( \"127.0.0.1:53\", \"[::1]:5353\" ); dns_timeout_ms = 100;", NULL },
        { "dns_servers = ( \"ns1.example.net:53\" );",
          "t.conf:1: 'dns_servers': bad address \"ns1.example.net:53\": the host must be a "
          "numeric IP address" },
        { "dns_servers = \"127.0.0.1:53\";",
          "t.conf:1: 'dns_servers' must be a list of \"host:port\" strings" },
        { "dns_timeout_ms = 99;", "t.conf:1: 'dns_timeout_ms' must be between 100 and 60000" },
        { "dns_timeout_ms = 60001;", "t.conf:1: 'dns_timeout_ms' must be between 100 and 60000" },
    };

    (void)state;
    run_text_cases(ls_spd_schema, cases, sizeof cases / sizeof cases[0],
                   sizeof(struct ls_media_conf));
    {
        static const struct text_case epd[] = {
            { "upstream = \"origin.example.net:1935\"; dns_servers = ( \"127.0.0.1:53\" );", NULL },
            { "upstream = \"a:1\"; dns_servers = ( \"ns:53\" );",
              "t.conf:1: 'dns_servers': bad address \"ns:53\": the host must be a numeric IP "
              "address" },
        };

        run_text_cases(ls_epd_schema, epd, 2, sizeof(struct ls_media_conf));
    }
}

/*
 * epd's upstream is a preference list (LS_CONF_PREFERENCE): one "host:port" string or a
 * list of them, in order, at least one, none twice; each entry is checked where it is.
 */
static void test_upstream_preference_list(void **state)
{
    static const struct text_case cases[] = {
        { "upstream = \"10.0.0.1:1935\";", NULL },
        { "upstream = ( \"10.0.0.1:1935\", \"origin-b.example.net:1935\" );", NULL },
        { "upstream = [ \"10.0.0.1:1935\" ];", NULL },
        { "upstream = ( );", "t.conf:1: 'upstream' must name at least one address" },
        { "upstream = \"\";", "t.conf:1: 'upstream': bad address \"\": empty address" },
        { "upstream = 1935;",
          "t.conf:1: 'upstream' must be a \"host:port\" string or a list of them" },
        { "upstream = ( \"10.0.0.1:1935\",\n  1935 );",
          "t.conf:2: 'upstream' must be a \"host:port\" string or a list of them" },
        { "upstream = ( \"10.0.0.1:1935\",\n  \"10.0.0.300:1935\" );",
          "t.conf:2: 'upstream': bad address \"10.0.0.300:1935\": bad IPv4 address" },
        { "upstream = ( \"Origin.example:1935\", \"origin.EXAMPLE:1935\" );",
          "t.conf:1: 'upstream': \"origin.EXAMPLE:1935\" is listed twice" },
        { "upstream = ( \"origin.example:1935\", \"origin.example:1936\" );", NULL },
        { "node_id = \"e\";", "t.conf:0: missing required key 'upstream'" },
    };
    struct ls_media_conf c;
    char err[256];

    (void)state;
    run_text_cases(ls_epd_schema, cases, sizeof cases / sizeof cases[0],
                   sizeof(struct ls_media_conf));
    assert_int_equal(ls_config_load_string("upstream = \"10.0.0.1:1935\";", "t.conf",
                                           ls_epd_schema, &c, err, sizeof err), LS_OK);
    assert_int_equal(c.upstream.n, 1);
    assert_addr(&c.upstream.v[0], "10.0.0.1", 1935);
    ls_config_free(ls_epd_schema, &c);
    assert_int_equal(ls_config_load_string("upstream = ( \"b.example:2\", \"[::1]:1\", "
                                           "\"10.0.0.1:3\" );", "t.conf", ls_epd_schema, &c, err,
                                           sizeof err), LS_OK);
    assert_int_equal(c.upstream.n, 3);
    assert_addr(&c.upstream.v[0], "b.example", 2);
    assert_addr(&c.upstream.v[1], "::1", 1);
    assert_addr(&c.upstream.v[2], "10.0.0.1", 3);
    ls_config_free(ls_epd_schema, &c);
    /* other address lists keep their form: a plain string is no list there */
    assert_int_equal(ls_config_load_string("source_managers = \"10.0.0.1:7935\";", "t.conf",
                                           ls_spd_schema, &c, err, sizeof err), LS_ECONF);
    assert_int_equal(ls_config_load_string("source_managers = ( );", "t.conf", ls_spd_schema,
                                           &c, err, sizeof err), LS_OK);
    ls_config_free(ls_spd_schema, &c);
}

static void test_error_table_smd(void **state)
{
    static const struct text_case cases[] = {
        { "allow = ( );", NULL },
        { "allow = [ \"10.0.0.0/8\", \"::1\" ];", NULL },
        { "allow = \"10.0.0.0/8\";",
          "t.conf:1: 'allow' must be a list of network strings (\"10.0.0.0/8\")" },
        { "allow = (\n \"10.0.0.1/8\" );",
          "t.conf:2: 'allow': bad network \"10.0.0.1/8\": address has bits set past the prefix length" },
        { "allow = ( \"10.0.0.0/33\" );",
          "t.conf:1: 'allow': bad network \"10.0.0.0/33\": prefix length must be 0..32" },
        { "allow = ( \"fe80::/129\" );",
          "t.conf:1: 'allow': bad network \"fe80::/129\": prefix length must be 0..128" },
        { "allow = ( \"host.example\" );",
          "t.conf:1: 'allow': bad network \"host.example\": bad IPv4 address" },
        { "allow = ( 10 );", "t.conf:1: 'allow' must be a list of network strings (\"10.0.0.0/8\")" },
        { "lease_seconds = 0;", "t.conf:1: 'lease_seconds' must be between 1 and 3600" },
        { "lease_seconds = 3600;", NULL },
        { "lease_seconds = 3601;", "t.conf:1: 'lease_seconds' must be between 1 and 3600" },
        { "advertise = \"a:1\";", "t.conf:1: unknown key 'advertise'" },
    };

    (void)state;
    run_text_cases(smd_keys, cases, sizeof cases / sizeof cases[0], sizeof(struct smd_conf));
}

/* The list bound: LS_CONF_LIST_MAX entries load, one more is refused. */
static void test_list_bound(void **state)
{
    struct spd_conf c;
    char err[256];
    char *text = malloc(64 + (LS_CONF_LIST_MAX + 1) * 16);
    size_t len, i;

    (void)state;
    assert_non_null(text);
    for (int extra = 0; extra <= 1; extra++) {
        len = (size_t)sprintf(text, "source_managers = (");
        for (i = 0; i < (size_t)LS_CONF_LIST_MAX + (size_t)extra; i++)
            len += (size_t)sprintf(text + len, "%s\"h%zu:1\"", i ? "," : "", i);
        strcpy(text + len, ");");
        if (extra == 0) {
            assert_int_equal(ls_config_load_string(text, "t.conf", spd_keys, &c, err, sizeof err), LS_OK);
            assert_int_equal(c.source_managers.n, LS_CONF_LIST_MAX);
            assert_addr(&c.source_managers.v[LS_CONF_LIST_MAX - 1], "h255", 1);
        } else {
            assert_int_equal(ls_config_load_string(text, "t.conf", spd_keys, &c, err, sizeof err),
                             LS_ECONF);
            assert_string_equal(err, "t.conf:1: 'source_managers' has more than 256 entries");
        }
        ls_config_free(spd_keys, &c);
    }
    free(text);
}

/* The string bound, and long values quoted in messages cut to stay readable. */
static void test_string_bound_and_quote(void **state)
{
    struct spd_conf c;
    char err[512];
    char *text = malloc(LS_CONF_STRING_MAX + 64);
    int n;

    (void)state;
    assert_non_null(text);
    n = sprintf(text, "node_id = \"");
    memset(text + n, 'a', LS_CONF_STRING_MAX);
    strcpy(text + n + LS_CONF_STRING_MAX, "\";");
    assert_int_equal(ls_config_load_string(text, "t.conf", spd_keys, &c, err, sizeof err), LS_OK);
    assert_int_equal(strlen(c.node_id), LS_CONF_STRING_MAX);
    ls_config_free(spd_keys, &c);
    strcpy(text + n + LS_CONF_STRING_MAX, "a\";");
    assert_int_equal(ls_config_load_string(text, "t.conf", spd_keys, &c, err, sizeof err), LS_ECONF);
    assert_string_equal(err, "t.conf:1: 'node_id' is longer than 4096 bytes");

    n = sprintf(text, "advertise = \"");
    memset(text + n, 'b', 300);
    strcpy(text + n + 300, "\";");
    assert_int_equal(ls_config_load_string(text, "t.conf", spd_keys, &c, err, sizeof err), LS_ECONF);
    assert_string_equal(err, "t.conf:1: 'advertise': bad address \"bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"
                             "bbbbbbbbbbbbbbbbbbbbbbbb...\": missing port");
    free(text);
}

/* The message is cut to the caller's buffer, NUL-terminated, never written past. */
static void test_error_buffer_bounds(void **state)
{
    struct spd_conf c;
    char err[16 + 4];
    const char *want = "t.conf:1: 'gop_cache' must be true or false";

    (void)state;
    memset(err, 0x5a, sizeof err);
    assert_int_equal(ls_config_load_string("gop_cache = 1;", "t.conf", spd_keys, &c, err, 16),
                     LS_ECONF);
    assert_int_equal(strlen(err), 15);
    assert_memory_equal(err, want, 15);
    assert_memory_equal(err + 16, "\x5a\x5a\x5a\x5a", 4);
    /* a buffer too short even for the prefix */
    memset(err, 0x5a, sizeof err);
    assert_int_equal(ls_config_load_string("gop_cache = 1;", "t.conf", spd_keys, &c, err, 4),
                     LS_ECONF);
    assert_string_equal(err, "t.c");
    assert_int_equal((unsigned char)err[4], 0x5a);
    /* no buffer at all */
    assert_int_equal(ls_config_load_string("gop_cache = 1;", "t.conf", spd_keys, &c, NULL, 0),
                     LS_ECONF);
    assert_int_equal(ls_config_load(DATA "nope", spd_keys, &c, NULL, 0), LS_ECONF);
}

static void test_file_rules(void **state)
{
    struct spd_conf c;
    char err[256];
    char path[] = "/tmp/ls_conf_XXXXXX";
    int fd = mkstemp(path);
    FILE *f;

    (void)state;
    assert_true(fd >= 0);
    /* an embedded NUL byte */
    f = fdopen(fd, "w");
    assert_non_null(f);
    fwrite("node_id = \"a\";\0junk", 1, 19, f);
    fclose(f);
    assert_int_equal(ls_config_load(path, spd_keys, &c, err, sizeof err), LS_ECONF);
    assert_non_null(strstr(err, ":0: file contains a NUL byte"));
    /* larger than the bound */
    f = fopen(path, "w");
    assert_non_null(f);
    for (int i = 0; i < 1024 * 1024 / 16 + 1; i++)
        fputs("# padding line.\n", f);
    fclose(f);
    assert_int_equal(ls_config_load(path, spd_keys, &c, err, sizeof err), LS_ECONF);
    assert_non_null(strstr(err, ":0: file is larger than 1048576 bytes"));
    remove(path);
}

/* Schema defaults that do not validate are reported as schema bugs, not crashes. */
static void test_bad_schema_defaults(void **state)
{
    struct spd_conf c;
    char err[256];
    static const struct ls_conf_key bad_int[] = {
        { .name = "n", .type = LS_CONF_INT, .offset = offsetof(struct spd_conf, max_connections),
          .def_int = 0, .min = 1, .max = 5 },
        { .name = NULL },
    };
    static const struct ls_conf_key bad_addr[] = {
        { .name = "s", .type = LS_CONF_STRING, .offset = offsetof(struct spd_conf, node_id), .def = "x" },
        { .name = "a", .type = LS_CONF_LISTEN_ADDR, .offset = offsetof(struct spd_conf, listen),
          .def = "example.net:1" },
        { .name = NULL },
    };
    static const struct ls_conf_key bad_url[] = {
        { .name = "u", .type = LS_CONF_URL, .offset = offsetof(struct spd_conf, node_id), .def = "ftp://x" },
        { .name = NULL },
    };
    static const struct ls_conf_key bad_level[] = {
        { .name = "l", .type = LS_CONF_LOG_LEVEL, .offset = offsetof(struct spd_conf, log_level),
          .def = "loud" },
        { .name = NULL },
    };
    static const struct ls_conf_key bad_group[] = {
        { .name = "g", .type = LS_CONF_GROUP, .offset = 0 },
        { .name = NULL },
    };
    static const struct ls_conf_key bad_type[] = {
        { .name = "z", .type = (enum ls_conf_type)99, .offset = 0 },
        { .name = NULL },
    };
    static const struct ls_conf_key good_peer[] = {
        { .name = "p", .type = LS_CONF_PEER_ADDR, .offset = offsetof(struct spd_conf, advertise),
          .def = "origin.example:1935" },
        { .name = "l", .type = LS_CONF_LOG_LEVEL, .offset = offsetof(struct spd_conf, log_level),
          .def = "error" },
        { .name = NULL },
    };

    (void)state;
    assert_int_equal(ls_config_defaults(bad_int, &c), LS_ECONF);
    c.node_id = (char *)"garbage"; /* defaults treat *out as uninitialised... */
    assert_int_equal(ls_config_defaults(bad_addr, &c), LS_ECONF);
    assert_null(c.node_id); /* ...and release what they set on failure */
    assert_int_equal(ls_config_defaults(bad_url, &c), LS_ECONF);
    assert_int_equal(ls_config_defaults(bad_level, &c), LS_ECONF);
    assert_int_equal(ls_config_defaults(bad_group, &c), LS_ECONF);
    assert_int_equal(ls_config_defaults(bad_type, &c), LS_ECONF);
    assert_int_equal(ls_config_load_string("", "t.conf", bad_int, &c, err, sizeof err), LS_ECONF);
    assert_string_equal(err, "t.conf:0: internal error: a schema default does not validate");
    assert_int_equal(ls_config_defaults(good_peer, &c), LS_OK);
    assert_addr(&c.advertise, "origin.example", 1935);
    assert_int_equal(c.log_level, LS_LOG_ERR);
}

/* A CIDR list may have a default (space-separated networks, e.g. http_allow's loopback
 * and private ranges); a list in the file replaces it whole, and `()` leaves it empty. */
static void test_cidr_list_default(void **state)
{
    static const struct ls_conf_key keys[] = {
        { .name = "allow", .type = LS_CONF_CIDR_LIST, .offset = offsetof(struct smd_conf, allow),
          .def = " 127.0.0.0/8  ::1/128 10.0.0.0/8 " },
        { .name = NULL },
    };
    static const struct ls_conf_key bad[] = {
        { .name = "allow", .type = LS_CONF_CIDR_LIST, .offset = offsetof(struct smd_conf, allow),
          .def = "127.0.0.0/8 10.0.0.1/8" },
        { .name = NULL },
    };
    struct smd_conf c;
    char err[256];
    struct sockaddr_in s4 = { .sin_family = AF_INET };

    (void)state;
    assert_int_equal(ls_config_load_string("", "t.conf", keys, &c, err, sizeof err), LS_OK);
    assert_int_equal(c.allow.n, 3);
    inet_pton(AF_INET, "127.1.2.3", &s4.sin_addr);
    assert_true(ls_cidr_list_match(&c.allow, (struct sockaddr *)&s4));
    inet_pton(AF_INET, "10.200.0.1", &s4.sin_addr);
    assert_true(ls_cidr_list_match(&c.allow, (struct sockaddr *)&s4));
    inet_pton(AF_INET, "8.8.8.8", &s4.sin_addr);
    assert_false(ls_cidr_list_match(&c.allow, (struct sockaddr *)&s4));
    ls_config_free(keys, &c);
    assert_int_equal(ls_config_load_string("allow = ( \"8.8.8.0/24\" );", "t.conf", keys, &c, err,
                                           sizeof err), LS_OK);
    assert_int_equal(c.allow.n, 1);
    assert_true(ls_cidr_list_match(&c.allow, (struct sockaddr *)&s4));
    inet_pton(AF_INET, "127.0.0.1", &s4.sin_addr);
    assert_false(ls_cidr_list_match(&c.allow, (struct sockaddr *)&s4));
    ls_config_free(keys, &c);
    assert_int_equal(ls_config_load_string("allow = ( );", "t.conf", keys, &c, err, sizeof err),
                     LS_OK);
    assert_int_equal(c.allow.n, 0);
    assert_false(ls_cidr_list_match(&c.allow, (struct sockaddr *)&s4));
    ls_config_free(keys, &c);
    assert_int_equal(ls_config_defaults(bad, &c), LS_ECONF);
    assert_null(c.allow.v);
}

/* A required key inside a group is reported at the group's line. */
static void test_required_in_group(void **state)
{
    static const struct ls_conf_key req_auth[] = {
        { .name = "secret", .type = LS_CONF_STRING, .offset = offsetof(struct auth_conf, secret),
          .flags = LS_CONF_REQUIRED },
        { .name = "auth_url", .type = LS_CONF_URL, .offset = offsetof(struct auth_conf, auth_url) },
        { .name = NULL },
    };
    static const struct ls_conf_key keys[] = {
        { .name = "node_id", .type = LS_CONF_STRING, .offset = offsetof(struct spd_conf, node_id) },
        { .name = "publish", .type = LS_CONF_GROUP, .offset = offsetof(struct spd_conf, publish),
          .children = req_auth },
        { .name = NULL },
    };
    struct spd_conf c;
    char err[256];

    (void)state;
    /* an absent group is not checked: its keys keep their defaults */
    assert_int_equal(ls_config_load_string("node_id = \"x\";", "t.conf", keys, &c, err, sizeof err),
                     LS_OK);
    ls_config_free(keys, &c);
    assert_int_equal(ls_config_load_string("node_id = \"x\";\npublish = {\n auth_url = \"\";\n};",
                                           "t.conf", keys, &c, err, sizeof err), LS_ECONF);
    assert_string_equal(err, "t.conf:2: missing required key 'publish.secret'");
    assert_null(c.node_id);
    assert_int_equal(ls_config_load_string("publish = { secret = \"s\"; };", "t.conf", keys, &c,
                                           err, sizeof err), LS_OK);
    assert_string_equal(c.publish.secret, "s");
    ls_config_free(keys, &c);
}

/* A STRING key with LS_CONF_DIRECTORY: "" is unset; anything else must be a directory. */
static void test_directory_flag(void **state)
{
    static const struct ls_conf_key keys[] = {
        { .name = "node_id", .type = LS_CONF_STRING, .offset = offsetof(struct spd_conf, node_id),
          .flags = LS_CONF_DIRECTORY },
        { .name = NULL },
    };
    struct spd_conf c;
    char err[256];

    (void)state;
    assert_int_equal(ls_config_load_string("", "t.conf", keys, &c, err, sizeof err), LS_OK);
    assert_string_equal(c.node_id, "");
    ls_config_free(keys, &c);
    assert_int_equal(ls_config_load_string("node_id = \"test\";", "t.conf", keys, &c, err,
                                           sizeof err), LS_OK);
    ls_config_free(keys, &c);
    assert_int_equal(ls_config_load_string("\nnode_id = \"test/no/such/dir\";", "t.conf", keys,
                                           &c, err, sizeof err), LS_ECONF);
    assert_string_equal(err, "t.conf:2: 'node_id': \"test/no/such/dir\": No such file or "
                             "directory");
    assert_int_equal(ls_config_load_string("node_id = \"Makefile\";", "t.conf", keys, &c, err,
                                           sizeof err), LS_ECONF);
    assert_string_equal(err, "t.conf:1: 'node_id': \"Makefile\" is not a directory");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_directory_flag),
        cmocka_unit_test(test_example_smd),
        cmocka_unit_test(test_example_spd),
        cmocka_unit_test(test_example_epd),
        cmocka_unit_test(test_defaults),
        cmocka_unit_test(test_reload_swap),
        cmocka_unit_test(test_error_files),
        cmocka_unit_test(test_error_table_spd),
        cmocka_unit_test(test_error_table_smd),
        cmocka_unit_test(test_error_table_media_dns),
        cmocka_unit_test(test_upstream_preference_list),
        cmocka_unit_test(test_list_bound),
        cmocka_unit_test(test_string_bound_and_quote),
        cmocka_unit_test(test_error_buffer_bounds),
        cmocka_unit_test(test_file_rules),
        cmocka_unit_test(test_bad_schema_defaults),
        cmocka_unit_test(test_required_in_group),
        cmocka_unit_test(test_cidr_list_default),
    };
    return cmocka_run_group_tests_name("config", tests, NULL, NULL);
}
