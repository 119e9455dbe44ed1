/*
 * Unit tests for addr.c: "host:port" parsing (tables of accepted and refused text with the
 * reason), name bounds, formatting, CIDR parsing and matching, URLs.
 * (The same grammar through the config loader, with FILE:LINE messages: test_config.c.)
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
#include <cmocka.h>

#include "libstream/addr.h"
#include "libstream/err.h"

static void assert_addr(const struct ls_addr *a, const char *host, unsigned port)
{
    assert_string_equal(a->host, host);
    assert_int_equal(a->port, port);
}

/* ---- addresses ------------------------------------------------------------------------ */

static void test_addr_parse_table(void **state)
{
    static const struct {
        const char *text;
        bool listen;
        int rc;
        const char *host;
        unsigned port;
        const char *why;
    } cases[] = {
        { "10.0.0.1:1935", false, LS_OK, "10.0.0.1", 1935, NULL },
        { "10.0.0.1:1935", true, LS_OK, "10.0.0.1", 1935, NULL },
        { "*:1935", true, LS_OK, "0.0.0.0", 1935, NULL },
        { "0.0.0.0:1", true, LS_OK, "0.0.0.0", 1, NULL },
        { "[::1]:1935", true, LS_OK, "::1", 1935, NULL },
        { "[::]:80", true, LS_OK, "::", 80, NULL },
        { "[2001:db8::1]:65535", false, LS_OK, "2001:db8::1", 65535, NULL },
        { "[::ffff:10.0.0.1]:1", false, LS_OK, "::ffff:10.0.0.1", 1, NULL },
        { "localhost:1935", false, LS_OK, "localhost", 1935, NULL },
        { "sp-1.example.net:19350", false, LS_OK, "sp-1.example.net", 19350, NULL },
        { "example.net.:1", false, LS_OK, "example.net.", 1, NULL },
        { "a1.b2:1", false, LS_OK, "a1.b2", 1, NULL },
        { "xn--bcher-kva.example:1", false, LS_OK, "xn--bcher-kva.example", 1, NULL },
        { "host:00080", false, LS_OK, "host", 80, NULL },
        /* ports */
        { "10.0.0.1", false, LS_EINVAL, NULL, 0, "missing port" },
        { "10.0.0.1:", false, LS_EINVAL, NULL, 0, "missing port" },
        { "[::1]", false, LS_EINVAL, NULL, 0, "missing port" },
        { "[::1]1935", false, LS_EINVAL, NULL, 0, "expected ':' after ']'" },
        { "h:0", false, LS_EINVAL, NULL, 0, "port must be a number from 1 to 65535" },
        { "h:65536", false, LS_EINVAL, NULL, 0, "port must be a number from 1 to 65535" },
        { "h:100000", false, LS_EINVAL, NULL, 0, "port must be a number from 1 to 65535" },
        { "h:-1", false, LS_EINVAL, NULL, 0, "port must be a number from 1 to 65535" },
        { "h:+80", false, LS_EINVAL, NULL, 0, "port must be a number from 1 to 65535" },
        { "h:80x", false, LS_EINVAL, NULL, 0, "port must be a number from 1 to 65535" },
        { "h:http", false, LS_EINVAL, NULL, 0, "port must be a number from 1 to 65535" },
        { "h: 80", false, LS_EINVAL, NULL, 0, "port must be a number from 1 to 65535" },
        /* hosts */
        { "", false, LS_EINVAL, NULL, 0, "empty address" },
        { ":1935", false, LS_EINVAL, NULL, 0, "missing host" },
        { "::1:1935", false, LS_EINVAL, NULL, 0, "an IPv6 address must be in brackets: [::1]:1935" },
        { "[::1:1935", false, LS_EINVAL, NULL, 0, "missing ']' after IPv6 address" },
        { "[]:1935", false, LS_EINVAL, NULL, 0, "bad IPv6 address" },
        { "[10.0.0.1]:1935", false, LS_EINVAL, NULL, 0, "bad IPv6 address" },
        { "[fe80::1%eth0]:1935", false, LS_EINVAL, NULL, 0, "bad IPv6 address" },
        { "[0000:0000:0000:0000:0000:0000:0000:0000:1]:1", false, LS_EINVAL, NULL, 0, "bad IPv6 address" },
        { "[::]:1935", false, LS_EINVAL, NULL, 0, "the unspecified address cannot be a peer" },
        { "0.0.0.0:1935", false, LS_EINVAL, NULL, 0, "the unspecified address cannot be a peer" },
        { "*:1935", false, LS_EINVAL, NULL, 0, "'*' is only valid for listen addresses" },
        { "1.2.3:1935", false, LS_EINVAL, NULL, 0, "bad IPv4 address" },
        { "1.2.3.256:1935", true, LS_EINVAL, NULL, 0, "bad IPv4 address" },
        { "010.0.0.1:1935", false, LS_EINVAL, NULL, 0, "bad IPv4 address" },
        { "1935:1935", false, LS_EINVAL, NULL, 0, "bad IPv4 address" },
        { "1.2.3.4.5.6.7.8.9.10.11.12.13.14.15.16.17.18.19.20:1", false, LS_EINVAL, NULL, 0,
          "bad IPv4 address" },
        { "localhost:1935", true, LS_EINVAL, NULL, 0, "a listen host must be a numeric address or '*'" },
        { "bad_name:1", false, LS_EINVAL, NULL, 0, "bad host name" },
        { "-a.example:1", false, LS_EINVAL, NULL, 0, "bad host name" },
        { "a-.example:1", false, LS_EINVAL, NULL, 0, "bad host name" },
        { "a..example:1", false, LS_EINVAL, NULL, 0, "bad host name" },
        { ".example:1", false, LS_EINVAL, NULL, 0, "bad host name" },
        { "example-:1", false, LS_EINVAL, NULL, 0, "bad host name" },
        { "..:1", false, LS_EINVAL, NULL, 0, "bad IPv4 address" },
        { "a b:1", false, LS_EINVAL, NULL, 0, "bad host name" },
        { "user@host:1", false, LS_EINVAL, NULL, 0, "bad host name" },
        { "h\xc3\xa9:1", false, LS_EINVAL, NULL, 0, "bad host name" },
    };
    size_t i;

    (void)state;
    for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct ls_addr a;
        const char *why = NULL;
        int rc = ls_addr_parse_why(cases[i].text, cases[i].listen, &a, &why);

        if (rc != cases[i].rc)
            fail_msg("case %zu \"%s\": rc %d want %d (%s)", i, cases[i].text, rc, cases[i].rc,
                     why ? why : "");
        assert_int_equal(ls_addr_parse(cases[i].text, cases[i].listen, &a), cases[i].rc);
        if (rc == LS_OK) {
            assert_null(why);
            assert_addr(&a, cases[i].host, cases[i].port);
        } else {
            assert_non_null(why);
            if (strcmp(why, cases[i].why) != 0)
                fail_msg("case %zu \"%s\": why \"%s\" want \"%s\"", i, cases[i].text, why,
                         cases[i].why);
        }
    }
    assert_int_equal(ls_addr_parse(NULL, false, &(struct ls_addr){ "", 0 }), LS_EINVAL);
}

/* DNS name limits: 63-byte labels, 253-byte names. */
static void test_addr_name_bounds(void **state)
{
    char text[400];
    struct ls_addr a;
    size_t i, n;

    (void)state;
    memset(text, 'a', 63);
    strcpy(text + 63, ":1");
    assert_int_equal(ls_addr_parse(text, false, &a), LS_OK);
    memset(text, 'a', 64);
    strcpy(text + 64, ":1");
    assert_int_equal(ls_addr_parse(text, false, &a), LS_EINVAL);
    /* 253 = 4 labels of 63 + ... : "a{63}.a{63}.a{63}.a{61}" */
    for (n = 0, i = 0; i < 4; i++) {
        size_t l = i < 3 ? 63 : 61;

        memset(text + n, 'a', l);
        n += l;
        if (i < 3)
            text[n++] = '.';
    }
    assert_int_equal(n, 253);
    strcpy(text + n, ":1");
    assert_int_equal(ls_addr_parse(text, false, &a), LS_OK);
    assert_int_equal(strlen(a.host), 253);
    strcpy(text + n, ".:1"); /* trailing dot does not count */
    assert_int_equal(ls_addr_parse(text, false, &a), LS_OK);
    strcpy(text + n, "a:1");
    assert_int_equal(ls_addr_parse(text, false, &a), LS_EINVAL);
}

static void test_addr_format(void **state)
{
    struct ls_addr a;
    char out[LS_ADDR_STRLEN + 4];
    static const char *const round[] = { "10.0.0.1:1935", "[::1]:1935", "[2001:db8::1]:65535",
                                         "sm.example.net:19350" };
    size_t i;

    (void)state;
    for (i = 0; i < sizeof round / sizeof round[0]; i++) {
        assert_int_equal(ls_addr_parse(round[i], false, &a), LS_OK);
        assert_int_equal(ls_addr_format(&a, out, sizeof out), LS_OK);
        assert_string_equal(out, round[i]);
    }
    /* exact fit and one short, with canaries */
    assert_int_equal(ls_addr_parse("[::1]:1935", true, &a), LS_OK);
    memset(out, '#', sizeof out);
    assert_int_equal(ls_addr_format(&a, out, 11), LS_OK);
    assert_string_equal(out, "[::1]:1935");
    assert_int_equal(out[11], '#');
    memset(out, '#', sizeof out);
    assert_int_equal(ls_addr_format(&a, out, 10), LS_ELIMIT);
    assert_int_equal(out[9], '\0');
    assert_int_equal(out[10], '#');
    assert_int_equal(ls_addr_format(&a, out, 0), LS_ELIMIT);
    assert_int_equal(out[0], '[');
    /* the largest host fits LS_ADDR_STRLEN */
    memset(a.host, 'h', LS_ADDR_HOST_MAX);
    a.host[LS_ADDR_HOST_MAX] = '\0';
    a.host[0] = ':'; /* force the bracketed form */
    a.port = 65535;
    assert_int_equal(ls_addr_format(&a, out, LS_ADDR_STRLEN), LS_OK);
    assert_int_equal(strlen(out), LS_ADDR_STRLEN - 1);
}

/* ---- networks ------------------------------------------------------------------------ */

static void test_cidr_parse_table(void **state)
{
    static const struct {
        const char *text;
        int rc;
        int family;
        unsigned prefix;
        const char *why;
    } cases[] = {
        { "10.0.0.0/8", LS_OK, AF_INET, 8, NULL },
        { "10.0.0.0/7", LS_OK, AF_INET, 7, NULL },
        { "10.1.2.3", LS_OK, AF_INET, 32, NULL },
        { "0.0.0.0/0", LS_OK, AF_INET, 0, NULL },
        { "192.168.1.128/25", LS_OK, AF_INET, 25, NULL },
        { "::1", LS_OK, AF_INET6, 128, NULL },
        { "::/0", LS_OK, AF_INET6, 0, NULL },
        { "2001:db8::/32", LS_OK, AF_INET6, 32, NULL },
        { "::ffff:10.0.0.0/104", LS_OK, AF_INET, 8, NULL },
        { "::ffff:10.0.0.1", LS_OK, AF_INET, 32, NULL },
        { "::ffff:0:0/96", LS_OK, AF_INET, 0, NULL },
        { "::fffe:0:0/95", LS_OK, AF_INET6, 95, NULL },
        { "::ffff:0:0/95", LS_EINVAL, 0, 0, "address has bits set past the prefix length" },
        { "", LS_EINVAL, 0, 0, "empty network" },
        { "/8", LS_EINVAL, 0, 0, "bad address" },
        { "10.0.0.0/", LS_EINVAL, 0, 0, "prefix length must be a number" },
        { "10.0.0.0/x", LS_EINVAL, 0, 0, "prefix length must be a number" },
        { "10.0.0.0/-1", LS_EINVAL, 0, 0, "prefix length must be a number" },
        { "10.0.0.0/0008", LS_EINVAL, 0, 0, "prefix length must be a number" },
        { "10.0.0.0/33", LS_EINVAL, 0, 0, "prefix length must be 0..32" },
        { "::/129", LS_EINVAL, 0, 0, "prefix length must be 0..128" },
        { "10.0.0.1/31", LS_EINVAL, 0, 0, "address has bits set past the prefix length" },
        { "11.0.0.0/7", LS_EINVAL, 0, 0, "address has bits set past the prefix length" },
        { "2001:db8::1/64", LS_EINVAL, 0, 0, "address has bits set past the prefix length" },
        { "10.0.0/8", LS_EINVAL, 0, 0, "bad IPv4 address" },
        { "10.0.0.0.0/8", LS_EINVAL, 0, 0, "bad IPv4 address" },
        { "gg::/8", LS_EINVAL, 0, 0, "bad IPv6 address" },
        { "0000:0000:0000:0000:0000:0000:0000:0000:0000:0000/8", LS_EINVAL, 0, 0, "bad address" },
    };
    size_t i;

    (void)state;
    for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct ls_cidr c;
        const char *why = NULL;
        int rc = ls_cidr_parse(cases[i].text, &c, &why);

        if (rc != cases[i].rc)
            fail_msg("case %zu \"%s\": rc %d (%s)", i, cases[i].text, rc, why ? why : "");
        if (rc == LS_OK) {
            assert_int_equal(c.family, cases[i].family);
            assert_int_equal(c.prefix, cases[i].prefix);
        } else if (strcmp(why, cases[i].why) != 0) {
            fail_msg("case %zu \"%s\": why \"%s\"", i, cases[i].text, why);
        }
    }
    assert_int_equal(ls_cidr_parse(NULL, &(struct ls_cidr){ 0 }, NULL), LS_EINVAL);
}

static void test_cidr_match_table(void **state)
{
    static const struct {
        const char *net;
        const char *peer; /* IPv4 or IPv6 text; the family decides the sockaddr */
        bool match;
    } cases[] = {
        { "10.0.0.0/8", "10.255.1.2", true },
        { "10.0.0.0/8", "11.0.0.0", false },
        { "10.0.0.0/8", "::ffff:10.1.2.3", true },   /* dual-stack socket, IPv4 client */
        { "10.0.0.0/8", "::ffff:11.1.2.3", false },
        { "10.0.0.0/8", "::a01:203", false },        /* IPv4-compatible is not mapped */
        { "::ffff:10.0.0.0/104", "10.9.9.9", true }, /* mapped rule, plain IPv4 peer */
        { "::ffff:10.0.0.0/104", "::ffff:10.9.9.9", true },
        { "192.168.1.128/25", "192.168.1.128", true },
        { "192.168.1.128/25", "192.168.1.255", true },
        { "192.168.1.128/25", "192.168.1.127", false },
        { "192.168.1.7", "192.168.1.7", true },
        { "192.168.1.7", "192.168.1.6", false },
        { "0.0.0.0/0", "1.2.3.4", true },
        { "0.0.0.0/0", "::ffff:1.2.3.4", true },
        { "0.0.0.0/0", "2001:db8::1", false },
        { "::/0", "2001:db8::1", true },
        { "::/0", "1.2.3.4", false },                /* "any IPv6" is not IPv4 */
        { "::/0", "::ffff:1.2.3.4", false },
        { "2001:db8::/33", "2001:db8:7fff::1", true },
        { "2001:db8::/33", "2001:db8:8000::1", false },
        { "::1", "::1", true },
        { "::1", "::2", false },
        { "::1", "127.0.0.1", false },
        { "::fffe:0:0/95", "::ffff:1.2.3.4", false }, /* IPv6 rules never match IPv4 peers */
        { "::fffe:0:0/95", "::fffe:1.2.3.4", true },
        { "::fffe:0:0/95", "1.2.3.4", false },
    };
    size_t i;

    (void)state;
    for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct ls_cidr c;
        struct sockaddr_in s4 = { .sin_family = AF_INET };
        struct sockaddr_in6 s6 = { .sin6_family = AF_INET6 };
        const struct sockaddr *sa;

        assert_int_equal(ls_cidr_parse(cases[i].net, &c, NULL), LS_OK);
        if (strchr(cases[i].peer, ':') != NULL) {
            assert_int_equal(inet_pton(AF_INET6, cases[i].peer, &s6.sin6_addr), 1);
            sa = (const struct sockaddr *)&s6;
        } else {
            assert_int_equal(inet_pton(AF_INET, cases[i].peer, &s4.sin_addr), 1);
            sa = (const struct sockaddr *)&s4;
        }
        if (ls_cidr_match(&c, sa) != cases[i].match)
            fail_msg("case %zu: %s vs %s", i, cases[i].net, cases[i].peer);
    }
}

static void test_cidr_odd_peers(void **state)
{
    struct ls_cidr c;
    struct sockaddr un = { .sa_family = AF_UNIX };
    struct ls_cidr_list empty = { NULL, 0 };
    struct sockaddr_in s4 = { .sin_family = AF_INET };

    (void)state;
    assert_int_equal(ls_cidr_parse("0.0.0.0/0", &c, NULL), LS_OK);
    assert_false(ls_cidr_match(&c, &un));
    assert_false(ls_cidr_match(&c, NULL));
    assert_false(ls_cidr_list_match(&empty, (struct sockaddr *)&s4));
    assert_true(ls_cidr_list_match(&(struct ls_cidr_list){ &c, 1 }, (struct sockaddr *)&s4));
}

/* ---- URLs ----------------------------------------------------------------------------- */

static void test_url_check_table(void **state)
{
    static const struct {
        const char *url;
        int rc;
        const char *why;
    } cases[] = {
        { "", LS_OK, NULL },
        { "http://auth.example.net:8000/on_publish?x=1", LS_OK, NULL },
        { "HTTP://10.0.0.1/", LS_OK, NULL },
        { "http://[::1]/auth", LS_OK, NULL },
        { "http://[::1]:8080", LS_OK, NULL },
        { "https://a/", LS_EINVAL, "https is not supported" },
        { "ftp://a/", LS_EINVAL, "must start with http://" },
        { "http://u@a/", LS_EINVAL, "user information is not supported" },
        { "http:///x", LS_EINVAL, "missing or overlong host" },
        { "http://a:0/", LS_EINVAL, "port must be a number from 1 to 65535" },
        { "http://a/b c", LS_EINVAL,
          "spaces, control and non-ASCII characters must be percent-encoded" },
        { "http://0.0.0.0/", LS_EINVAL, "the unspecified address cannot be a peer" },
    };
    size_t i;

    (void)state;
    for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const char *why = NULL;

        if (ls_addr_url_check(cases[i].url, &why) != cases[i].rc)
            fail_msg("case %zu: %s", i, cases[i].url);
        if (cases[i].why != NULL)
            assert_string_equal(why, cases[i].why);
        assert_int_equal(ls_addr_url_check(cases[i].url, NULL), cases[i].rc);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_addr_parse_table),
        cmocka_unit_test(test_addr_name_bounds),
        cmocka_unit_test(test_addr_format),
        cmocka_unit_test(test_cidr_parse_table),
        cmocka_unit_test(test_cidr_match_table),
        cmocka_unit_test(test_cidr_odd_peers),
        cmocka_unit_test(test_url_check_table),
    };
    return cmocka_run_group_tests_name("addr", tests, NULL, NULL);
}
