/*
 * Unit tests for epd's upstream list (epd/upstream.c): the choice of where a pull goes,
 * health marks, background probes against real listeners on loopback (an RTMP server that
 * answers connect, one that accepts and never answers — a frozen process — and a port
 * nobody listens on), the state kept across a reload, and the metrics.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <cmocka.h>

#include <event2/event.h>

#include "libstream/addr.h"
#include "libstream/buf.h"
#include "libstream/hub.h"
#include "libstream/log.h"
#include "libstream/net.h"
#include "libstream/server.h"
#include "support/evloop.h"
#include "support/logcapture.h"
#include "upstream.h"

static struct event_base *base;

/* ---- listeners ---- */

/* An RTMP server that answers connect: an spd that is up. */
struct rtmp_up {
    struct ls_hub *hub;
    struct ls_server *srv;
    char addr[64];
};

static void rtmp_up_start(struct rtmp_up *r)
{
    struct ls_hub_config hcfg;
    struct ls_server_config scfg;
    int tries;

    ls_hub_config_defaults(&hcfg);
    r->hub = ls_hub_new(base, &hcfg);
    assert_non_null(r->hub);
    ls_server_config_defaults(&scfg);
    for (tries = 0, r->srv = NULL; r->srv == NULL && tries < 20; tries++) {
        snprintf(r->addr, sizeof r->addr, "127.0.0.1:%u", evloop_free_port("127.0.0.1"));
        r->srv = ls_server_new(base, r->hub, &scfg, r->addr);
    }
    assert_non_null(r->srv);
}

static void rtmp_up_stop(struct rtmp_up *r)
{
    ls_server_shutdown(r->srv);
    evloop_run_for(base, 20);
    ls_server_free(r->srv);
    ls_hub_free(r->hub);
}

/* Accepts and never reads nor writes: a SIGSTOPped process whose kernel still accepts. */
struct frozen {
    int lfd;
    struct event *ev;
    int fds[32];
    int accepts;
    char addr[64];
};

static void frozen_accept(evutil_socket_t lfd, short what, void *arg)
{
    struct frozen *f = arg;
    int fd = accept(lfd, NULL, NULL);

    (void)what;
    if (fd == -1)
        return;
    if (f->accepts < 32)
        f->fds[f->accepts++] = fd;
    else
        close(fd);
}

static void frozen_start(struct frozen *f)
{
    struct sockaddr_storage ss;
    socklen_t len;

    memset(f, 0, sizeof *f);
    snprintf(f->addr, sizeof f->addr, "127.0.0.1:%u", evloop_free_port("127.0.0.1"));
    assert_int_equal(ls_net_resolve(f->addr, false, &ss, &len), LS_OK);
    f->lfd = ls_net_listen((struct sockaddr *)&ss, len, 16);
    assert_true(f->lfd >= 0);
    f->ev = event_new(base, f->lfd, EV_READ | EV_PERSIST, frozen_accept, f);
    assert_int_equal(event_add(f->ev, NULL), 0);
}

static void frozen_stop(struct frozen *f)
{
    int i;

    for (i = 0; i < f->accepts && i < 32; i++)
        close(f->fds[i]);
    event_free(f->ev);
    close(f->lfd);
}

/* ---- helpers ---- */

static struct ls_addr_list list_of(const char *const *addrs, size_t n)
{
    struct ls_addr_list l;
    size_t i;

    l.n = n;
    l.v = calloc(n, sizeof *l.v);
    assert_non_null(l.v);
    for (i = 0; i < n; i++)
        assert_int_equal(ls_addr_parse(addrs[i], false, &l.v[i]), LS_OK);
    return l;
}

static void config(struct epd_upstreams_config *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    ls_client_config_defaults(&cfg->client);
    cfg->probe_timeout_ms = 300;
    cfg->probe_max_ms = 600;
    cfg->resolver = NULL; /* blocking lookups of numeric addresses */
}

static struct epd_upstreams *upstreams_of(const char *const *addrs, size_t n)
{
    struct epd_upstreams *u = epd_upstreams_new(base);
    struct ls_addr_list l = list_of(addrs, n);
    struct epd_upstreams_config cfg;

    assert_non_null(u);
    config(&cfg);
    assert_int_equal(epd_upstreams_set(u, &l, &cfg), LS_OK);
    free(l.v);
    return u;
}

static char *dead_addr(char *out, size_t cap)
{
    snprintf(out, cap, "127.0.0.1:%u", evloop_free_port("127.0.0.1"));
    return out;
}

static int setup(void **state)
{
    (void)state;
    logcapture_start();
    ls_log_set_level(LS_LOG_DEBUG);
    base = event_base_new();
    return base != NULL ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    if (getenv("TEST_UPSTREAM_LOG") != NULL)
        fputs(logcapture_text(), stderr);
    event_base_free(base);
    logcapture_stop();
    return 0;
}

/* ---- tests ---- */

/*
 * The choice: the first upstream that is up, in order of preference; one that answered
 * without the stream is skipped for that pull; with every upstream down, a pull goes on to
 * the one after its last (the first for a new pull), so that it still tries them all.
 */
static void test_choose(void **state)
{
    char a[64], b[64], c[64];
    const char *addrs[3] = { dead_addr(a, sizeof a), dead_addr(b, sizeof b),
                             dead_addr(c, sizeof c) };
    struct epd_upstreams *u = upstreams_of(addrs, 3);

    (void)state;
    assert_int_equal(epd_upstreams_count(u), 3);
    assert_string_equal(epd_upstreams_addr(u, 1), b);
    assert_int_equal(epd_upstreams_find(u, c), 2);
    assert_int_equal(epd_upstreams_find(u, "127.0.0.1:1"), -1);
    assert_int_equal(epd_upstreams_find(u, ""), -1);

    /* all up: the preferred one, whatever the pull had */
    assert_int_equal(epd_upstreams_choose(u, -1, false), 0);
    assert_int_equal(epd_upstreams_choose(u, 2, false), 0);
    /* the preferred one lacks the stream: the next one that is up */
    assert_int_equal(epd_upstreams_choose(u, 0, true), 1);
    assert_int_equal(epd_upstreams_choose(u, 1, true), 0);

    /* the preferred one down: new and failed pulls go to the next */
    epd_upstreams_mark_down(u, 0, "lost");
    assert_false(epd_upstreams_is_up(u, 0));
    assert_true(epd_upstreams_is_up(u, 1));
    assert_int_equal(epd_upstreams_choose(u, -1, false), 1);
    assert_int_equal(epd_upstreams_choose(u, 0, false), 1);
    assert_int_equal(epd_upstreams_choose(u, 1, true), 2);
    assert_true(logcapture_has("is down (lost)"));
    epd_upstreams_mark_down(u, 0, "silent");
    assert_int_equal(logcapture_count("is down"), 1); /* once per outage */

    /* all down: in turn from where the pull was */
    epd_upstreams_mark_down(u, 1, "refused");
    epd_upstreams_mark_down(u, 2, "refused");
    assert_int_equal(epd_upstreams_choose(u, -1, false), 0);
    assert_int_equal(epd_upstreams_choose(u, 0, false), 1);
    assert_int_equal(epd_upstreams_choose(u, 1, false), 2);
    assert_int_equal(epd_upstreams_choose(u, 2, false), 0);
    assert_int_equal(epd_upstreams_choose(u, 2, true), 0);

    /* an out-of-range mark is ignored */
    epd_upstreams_mark_down(u, 7, "lost");
    epd_upstreams_free(u);
}

/* One upstream: nothing to choose, whatever happens. */
static void test_choose_single(void **state)
{
    char a[64];
    const char *addrs[1] = { dead_addr(a, sizeof a) };
    struct epd_upstreams *u = upstreams_of(addrs, 1);

    (void)state;
    assert_int_equal(epd_upstreams_choose(u, -1, false), 0);
    assert_int_equal(epd_upstreams_choose(u, 0, true), 0);
    epd_upstreams_mark_down(u, 0, "lost");
    assert_int_equal(epd_upstreams_choose(u, 0, false), 0);
    epd_upstreams_free(u);
}

/*
 * A down upstream is probed in the background: one that accepts an RTMP connect is up
 * again (logged once); a frozen one (accepts, never answers) and a closed port stay down,
 * probed again and again with backoff.
 */
static void test_probes(void **state)
{
    struct rtmp_up good;
    struct frozen frozen;
    char dead[64];
    const char *addrs[3];
    struct epd_upstreams *u;

    (void)state;
    rtmp_up_start(&good);
    frozen_start(&frozen);
    addrs[0] = good.addr;
    addrs[1] = frozen.addr;
    addrs[2] = dead_addr(dead, sizeof dead);
    u = upstreams_of(addrs, 3);

    epd_upstreams_mark_down(u, 0, "lost");
    epd_upstreams_mark_down(u, 1, "silent");
    epd_upstreams_mark_down(u, 2, "refused");
    assert_int_equal(epd_upstreams_choose(u, -1, false), 0); /* all down: the first */
    EVLOOP_WAIT(base, epd_upstreams_is_up(u, 0), 3000);
    assert_true(epd_upstreams_is_up(u, 0));
    assert_true(logcapture_has("upstream "));
    assert_true(logcapture_has("is up again"));
    assert_int_equal(logcapture_count("is up again"), 1);
    assert_int_equal(epd_upstreams_choose(u, 1, false), 0);

    /* the frozen one: probed (accepted), timed out, probed again after the backoff */
    EVLOOP_WAIT(base, frozen.accepts >= 3, 5000);
    assert_true(frozen.accepts >= 3);
    assert_false(epd_upstreams_is_up(u, 1));
    assert_false(epd_upstreams_is_up(u, 2));
    assert_true(logcapture_has("probe failed"));
    epd_upstreams_free(u);
    evloop_run_for(base, 20);
    frozen_stop(&frozen);
    rtmp_up_stop(&good);
}

/*
 * A reload keeps the state of addresses still listed (a down one stays down and probed),
 * starts new ones up and forgets the rest — also one whose probe is in flight.
 */
static void test_reload_keeps_state(void **state)
{
    struct frozen frozen;
    char a[64], b[64], d[64];
    const char *first[3], *second[3];
    struct epd_upstreams *u;
    struct ls_addr_list l;
    struct epd_upstreams_config cfg;
    int accepts;

    (void)state;
    frozen_start(&frozen);
    first[0] = dead_addr(a, sizeof a);
    first[1] = dead_addr(b, sizeof b);
    first[2] = frozen.addr;
    u = upstreams_of(first, 3);
    epd_upstreams_mark_down(u, 1, "lost");
    epd_upstreams_mark_down(u, 2, "silent");
    EVLOOP_WAIT(base, frozen.accepts >= 1, 3000); /* its probe hangs now */
    assert_int_equal(frozen.accepts, 1);

    /* new list: b (down) first, then d (new), a kept; the frozen one dropped mid-probe */
    second[0] = b;
    second[1] = dead_addr(d, sizeof d);
    second[2] = a;
    l = list_of(second, 3);
    config(&cfg);
    assert_int_equal(epd_upstreams_set(u, &l, &cfg), LS_OK);
    free(l.v);
    assert_int_equal(epd_upstreams_count(u), 3);
    assert_string_equal(epd_upstreams_addr(u, 0), b);
    assert_false(epd_upstreams_is_up(u, 0));
    assert_true(epd_upstreams_is_up(u, 1));
    assert_true(epd_upstreams_is_up(u, 2));
    assert_int_equal(epd_upstreams_find(u, frozen.addr), -1);
    assert_int_equal(epd_upstreams_choose(u, -1, false), 1);
    /* the forgotten one is probed no more */
    accepts = frozen.accepts;
    evloop_run_for(base, 1500);
    assert_int_equal(frozen.accepts, accepts);
    epd_upstreams_free(u);
    frozen_stop(&frozen);
}

/* Shutdown ends probes in flight; the metrics name every upstream and every reason. */
static void test_metrics_and_stop(void **state)
{
    struct frozen frozen;
    char a[64];
    const char *addrs[2];
    struct epd_upstreams *u;
    struct ls_buf out;
    uint64_t playing[2] = { 3, 0 };
    int accepts;

    (void)state;
    frozen_start(&frozen);
    addrs[0] = dead_addr(a, sizeof a);
    addrs[1] = frozen.addr;
    u = upstreams_of(addrs, 2);
    epd_upstreams_mark_down(u, 1, "silent");
    epd_upstreams_count_switch(u, EPD_SWITCH_SILENT);
    epd_upstreams_count_switch(u, EPD_SWITCH_SILENT);
    epd_upstreams_count_switch(u, EPD_SWITCH_REMOVED);
    epd_upstreams_count_switch(u, EPD_SWITCH_COUNT); /* ignored */
    assert_int_equal(epd_upstreams_switches(u, EPD_SWITCH_SILENT), 2);
    assert_string_equal(epd_switch_reason_name(EPD_SWITCH_NOT_FOUND), "not_found");
    EVLOOP_WAIT(base, frozen.accepts >= 1, 3000);

    ls_buf_init(&out, 0);
    epd_upstreams_metrics(u, playing, &out);
    ls_buf_put_u8(&out, 0);
    assert_int_equal(ls_buf_status(&out), LS_OK);
    assert_non_null(strstr((char *)out.data, "livecluster_upstream_switches_total{reason=\"silent\"} 2\n"));
    assert_non_null(strstr((char *)out.data, "livecluster_upstream_switches_total{reason=\"lost\"} 0\n"));
    assert_non_null(strstr((char *)out.data, "livecluster_upstream_switches_total{reason=\"removed\"} 1\n"));
    {
        char want[160];

        snprintf(want, sizeof want, "livecluster_upstream_up{upstream=\"%s\"} 1\n", a);
        assert_non_null(strstr((char *)out.data, want));
        snprintf(want, sizeof want, "livecluster_upstream_up{upstream=\"%s\"} 0\n", frozen.addr);
        assert_non_null(strstr((char *)out.data, want));
        snprintf(want, sizeof want, "livecluster_upstream_pulls{upstream=\"%s\"} 3\n", a);
        assert_non_null(strstr((char *)out.data, want));
    }
    ls_buf_free(&out);

    epd_upstreams_stop(u);
    accepts = frozen.accepts;
    evloop_run_for(base, 1200);
    assert_int_equal(frozen.accepts, accepts);
    epd_upstreams_mark_down(u, 0, "lost"); /* stopped: no probe starts */
    assert_true(epd_upstreams_is_up(u, 0));
    epd_upstreams_free(u);
    frozen_stop(&frozen);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_choose, setup, teardown),
        cmocka_unit_test_setup_teardown(test_choose_single, setup, teardown),
        cmocka_unit_test_setup_teardown(test_probes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_reload_keeps_state, setup, teardown),
        cmocka_unit_test_setup_teardown(test_metrics_and_stop, setup, teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
