/*
 * Unit tests for smd's bound on connections that have not said hello (max_pending_hellos):
 * someone who opens connections and never authenticates holds only that many slots, so
 * the rest of max_connections stays for nodes. Same fixture as test_registry.c: a real
 * registry on a loopback port, scripted peers (test/support/regpeer.h) on one event loop.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <event2/event.h>

#include "libstream/log.h"
#include "libstream/stats.h"
#include "smd.h"
#include "support/evloop.h"
#include "support/logcapture.h"
#include "support/regpeer.h"
#include "support/smdconf.h"

#define WAIT_MS 5000u
#define NPEERS 4


static struct {
    struct event_base *base;
    struct smd_conf conf;
    struct smd_registry *reg;
    char addr[LS_ADDR_STRLEN];
    struct regpeer peers[NPEERS];
} fx;

static int setup(void **state)
{
    uint16_t port = evloop_free_port("127.0.0.1");
    struct smd_conf *c = &fx.conf;

    (void)state;
    memset(&fx, 0, sizeof fx);
    logcapture_start();
    ls_log_set_level(LS_LOG_INFO);
    if (port == 0 || (fx.base = event_base_new()) == NULL)
        return -1;
    smdconf_for_test(c, port, LS_LOG_INFO);
    c->max_pending_hellos = 2;
    snprintf(fx.addr, sizeof fx.addr, "127.0.0.1:%u", (unsigned)port);
    fx.reg = smd_registry_new(fx.base, &fx.conf);
    return fx.reg != NULL ? 0 : -1;
}

static int teardown(void **state)
{
    size_t i;

    (void)state;
    for (i = 0; i < NPEERS; i++)
        regpeer_close(&fx.peers[i]);
    smd_registry_free(fx.reg);
    event_base_free(fx.base);
    logcapture_stop();
    return 0;
}

/* Opens peer `i` (no hello); true once its handshake is done, false when it was closed. */
static bool peer_open(size_t i)
{
    struct regpeer *p = &fx.peers[i];
    char node[16], adv[32];

    snprintf(node, sizeof node, "sp-%zu", i);
    snprintf(adv, sizeof adv, "127.0.0.%zu:1935", i + 1);
    assert_int_equal(regpeer_open(p, fx.base, fx.addr, node, adv), LS_OK);
    EVLOOP_WAIT(fx.base, p->ready || p->closed, WAIT_MS);
    evloop_run_for(fx.base, 50); /* a refused one is closed right after its accept */
    return p->ready && !p->closed;
}

static void test_pending_hellos_bounded(void **state)
{
    uint64_t refused = ls_stats.connections_refused_total;

    (void)state;
    assert_true(peer_open(0));
    assert_true(peer_open(1));
    assert_false(peer_open(2)); /* a third connection without hello: refused */
    assert_true(fx.peers[2].closed);
    assert_non_null(strstr(logcapture_text(), "refused: max_pending_hellos (2) connections are waiting "
                                   "for their hello"));
    assert_int_equal(ls_stats.connections_refused_total, refused + 1);
    assert_int_equal(smd_registry_node_count(fx.reg), 0);
    /* one of them goes: a slot is free again */
    regpeer_close(&fx.peers[0]);
    evloop_run_for(fx.base, 50);
    assert_true(peer_open(3));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_pending_hellos_bounded, setup, teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
