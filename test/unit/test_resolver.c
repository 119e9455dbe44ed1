/*
 * Unit tests for resolver.c: literal addresses without DNS, names through a nameserver
 * (test/support/fakedns.h) on the same event loop, NXDOMAIN, bad text, cancelling — and
 * a nameserver that never answers: the lookup returns at once, the loop goes on serving
 * everything else while it waits, and the answer is LS_ELIMIT after the deadline
 * (defect 11 of issue 10: DNS used to block the whole daemon). Every answer comes from
 * the loop, never from inside the call.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include <event2/event.h>

#include "libstream/addr.h"
#include "libstream/err.h"
#include "libstream/log.h"
#include "libstream/resolver.h"
#include "support/evloop.h"
#include "support/fakedns.h"

#define WAIT_MS 5000u

struct answer {
    bool done;
    int result;
    char addr[64];
};

static void answer_cb(void *arg, int result, const struct sockaddr *sa, socklen_t len)
{
    struct answer *a = arg;
    char host[64] = "?";

    assert_false(a->done); /* exactly once */
    a->done = true;
    a->result = result;
    if (result == LS_OK) {
        assert_non_null(sa);
        if (sa->sa_family == AF_INET) {
            const struct sockaddr_in *s4 = (const struct sockaddr_in *)sa;

            assert_int_equal(len, sizeof *s4);
            inet_ntop(AF_INET, &s4->sin_addr, host, sizeof host);
            snprintf(a->addr, sizeof a->addr, "%s:%u", host, ntohs(s4->sin_port));
        } else {
            const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)sa;

            assert_int_equal(len, sizeof *s6);
            inet_ntop(AF_INET6, &s6->sin6_addr, host, sizeof host);
            snprintf(a->addr, sizeof a->addr, "[%s]:%u", host, ntohs(s6->sin6_port));
        }
    }
}

static struct event_base *base;
static struct fakedns dns;
static struct ls_addr server_addr;
static struct ls_addr_list servers;

/* A resolver asking only the fake server. */
static struct ls_resolver *resolver_on_fake(bool mute, unsigned timeout_ms)
{
    struct ls_resolver_config cfg;
    struct ls_resolver *r;

    assert_int_equal(fakedns_start(&dns, base, mute), 0);
    assert_int_equal(ls_addr_parse(dns.addr, false, &server_addr), LS_OK);
    servers.v = &server_addr;
    servers.n = 1;
    ls_resolver_config_defaults(&cfg);
    cfg.timeout_ms = timeout_ms;
    cfg.servers = &servers;
    r = ls_resolver_new(base, &cfg);
    assert_non_null(r);
    return r;
}

/* Lets libevent finish cancelled requests, then frees. */
static void resolver_done(struct ls_resolver *r)
{
    ls_resolver_shutdown(r);
    EVLOOP_WAIT(base, ls_resolver_pending(r) == 0, WAIT_MS);
    assert_int_equal(ls_resolver_pending(r), 0);
    ls_resolver_free(r);
    fakedns_stop(&dns);
}

static int setup(void **state)
{
    (void)state;
    ls_log_set_level(LS_LOG_ERR);
    base = event_base_new();
    return base != NULL ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    event_base_free(base);
    return 0;
}

static struct answer resolve(struct ls_resolver *r, const char *hostport)
{
    struct answer a;

    memset(&a, 0, sizeof a);
    assert_non_null(ls_resolver_resolve(r, hostport, answer_cb, &a));
    assert_false(a.done); /* never from inside the call */
    EVLOOP_WAIT(base, a.done, WAIT_MS);
    assert_true(a.done);
    return a;
}

static void test_literals_and_bad_text(void **state)
{
    struct ls_resolver *r;
    struct answer a;

    (void)state;
    r = resolver_on_fake(false, 2000);
    a = resolve(r, "10.1.2.3:1935");
    assert_int_equal(a.result, LS_OK);
    assert_string_equal(a.addr, "10.1.2.3:1935");
    a = resolve(r, "[::1]:80");
    assert_int_equal(a.result, LS_OK);
    assert_string_equal(a.addr, "[::1]:80");
    a = resolve(r, "no-port");
    assert_int_equal(a.result, LS_EINVAL);
    a = resolve(r, NULL);
    assert_int_equal(a.result, LS_EINVAL);
    assert_int_equal(dns.queries, 0); /* literals never ask */
    resolver_done(r);
}

static void test_names(void **state)
{
    struct ls_resolver *r;
    struct answer a;

    (void)state;
    r = resolver_on_fake(false, 2000);
    assert_int_equal(fakedns_add(&dns, "origin.test", "127.0.0.9"), 0);
    a = resolve(r, "origin.test:1935");
    assert_int_equal(a.result, LS_OK);
    assert_string_equal(a.addr, "127.0.0.9:1935");
    assert_true(dns.queries >= 1);
    a = resolve(r, "missing.test:1935");
    assert_int_equal(a.result, LS_ENOTFOUND);
    /* the hosts file is read too: localhost resolves without asking */
    a = resolve(r, "localhost:7");
    assert_int_equal(a.result, LS_OK);
    resolver_done(r);
}

static unsigned ticks, ticks_at_answer;
static struct answer *watched;

static void tick_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    (void)arg;
    ticks++;
    if (watched != NULL && watched->done && ticks_at_answer == 0)
        ticks_at_answer = ticks;
}

/*
 * A nameserver that never answers: the lookup returns at once, the loop keeps running
 * (a timer keeps firing, and a literal lookup started later is answered first), and the
 * name fails with LS_ELIMIT once the deadline passed.
 */
static void test_silent_nameserver_blocks_nothing(void **state)
{
    struct ls_resolver *r;
    struct answer slow, fast;
    struct event *tick;
    struct timeval tv = { 0, 10000 };

    (void)state;
    r = resolver_on_fake(true, 600);
    tick = event_new(base, -1, EV_PERSIST, tick_cb, NULL);
    assert_non_null(tick);
    ticks = ticks_at_answer = 0;
    memset(&slow, 0, sizeof slow);
    memset(&fast, 0, sizeof fast);
    watched = &slow;
    event_add(tick, &tv);
    assert_non_null(ls_resolver_resolve(r, "never.test:80", answer_cb, &slow));
    assert_false(slow.done);
    assert_non_null(ls_resolver_resolve(r, "127.0.0.1:80", answer_cb, &fast));
    EVLOOP_WAIT(base, fast.done, WAIT_MS);
    assert_true(fast.done);
    assert_false(slow.done); /* the literal did not wait behind the name */
    EVLOOP_WAIT(base, slow.done && ticks_at_answer > 0, WAIT_MS);
    assert_true(slow.done);
    assert_int_equal(slow.result, LS_ELIMIT);
    assert_true(dns.queries >= 1);
    assert_true(ticks_at_answer > 1); /* the loop ran on while the name was pending */
    watched = NULL;
    event_free(tick);
    resolver_done(r);
}

static void test_cancel(void **state)
{
    struct ls_resolver *r;
    struct answer a, b;
    struct ls_resolve *q;

    (void)state;
    r = resolver_on_fake(true, 5000);
    memset(&a, 0, sizeof a);
    memset(&b, 0, sizeof b);
    q = ls_resolver_resolve(r, "never.test:80", answer_cb, &a);
    assert_non_null(q);
    ls_resolve_cancel(q);
    q = ls_resolver_resolve(r, "127.0.0.1:80", answer_cb, &b);
    assert_non_null(q);
    ls_resolve_cancel(q);
    EVLOOP_WAIT(base, ls_resolver_pending(r) == 0, WAIT_MS);
    assert_int_equal(ls_resolver_pending(r), 0);
    assert_false(a.done);
    assert_false(b.done);
    /* shutdown drops what is still out, without callbacks */
    memset(&a, 0, sizeof a);
    assert_non_null(ls_resolver_resolve(r, "never2.test:80", answer_cb, &a));
    resolver_done(r);
    assert_false(a.done);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_literals_and_bad_text, setup, teardown),
        cmocka_unit_test_setup_teardown(test_names, setup, teardown),
        cmocka_unit_test_setup_teardown(test_silent_nameserver_blocks_nothing, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cancel, setup, teardown),
    };
    return cmocka_run_group_tests_name("resolver", tests, NULL, NULL);
}
