/*
 * Unit tests for smd's cluster view (cluster.c, and how registry.c feeds it): a real
 * registry on a loopback port, scripted nodes (test/support/regpeer.h) that report.
 * Viewers are summed over the nodes per id and in total; a node that leaves takes its
 * viewers along at once while the counters it reported stay (also when it comes back, or
 * comes back restarted); an epd registers nothing; reports before hello, malformed ones,
 * ones over the rate (resync) and streams past max_report_streams are handled; a node of
 * protocol version 2 is listed and never reports.
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

#include "libstream/clock.h"
#include "libstream/log.h"
#include "libstream/smdproto.h"
#include "libstream/smdreport.h"
#include "smd.h"
#include "support/evloop.h"
#include "support/regpeer.h"
#include "support/smdconf.h"

#define WAIT_MS 5000u
#define NPEERS 4
#define WAIT(cond) EVLOOP_WAIT(fx.base, (cond), WAIT_MS)

static struct {
    struct event_base *base;
    struct smd_conf conf;
    struct smd_registry *reg;
    struct smd_cluster *cl;
    char addr[LS_ADDR_STRLEN];
    struct regpeer peers[NPEERS];
} fx;

static int setup(void **state)
{
    uint16_t port = evloop_free_port("127.0.0.1");
    struct smd_conf *c = &fx.conf;

    (void)state;
    memset(&fx, 0, sizeof fx);
    ls_log_set_level(LS_LOG_ERR);
    if (port == 0 || (fx.base = event_base_new()) == NULL)
        return -1;
    smdconf_for_test(c, port, LS_LOG_ERR);
    c->max_pending_hellos = 128;
    c->report_interval_ms = 1000;
    c->max_report_streams = 100;
    snprintf(fx.addr, sizeof fx.addr, "127.0.0.1:%u", (unsigned)port);
    fx.reg = smd_registry_new(fx.base, &fx.conf);
    if (fx.reg == NULL)
        return -1;
    fx.cl = smd_registry_cluster(fx.reg);
    return 0;
}

static int teardown(void **state)
{
    size_t i;

    (void)state;
    for (i = 0; i < NPEERS; i++)
        regpeer_close(&fx.peers[i]);
    smd_registry_free(fx.reg);
    event_base_free(fx.base);
    return 0;
}

/* ---- nodes ---- */

static struct ls_smd_msg answer(struct regpeer *p, uint32_t txid)
{
    struct ls_smd_msg m;

    assert_int_not_equal(txid, 0);
    WAIT(regpeer_has(p, LS_SMD_UNKNOWN, txid, NULL));
    assert_true(regpeer_take(p, LS_SMD_UNKNOWN, txid, NULL, &m));
    return m;
}

/* Peer `i` says hello as `node` with `role` ("" = none) and `version` ("" = current). */
static struct regpeer *node_up(size_t i, const char *node, const char *role, const char *version)
{
    struct regpeer *p = &fx.peers[i];
    char adv[32];
    struct ls_smd_msg m;

    snprintf(adv, sizeof adv, "127.0.0.%zu:1935", i + 1);
    assert_int_equal(regpeer_open(p, fx.base, fx.addr, node, adv), LS_OK);
    snprintf(p->role, sizeof p->role, "%s", role);
    snprintf(p->version, sizeof p->version, "%s", version);
    WAIT(p->challenged || p->closed);
    assert_true(p->challenged);
    m = answer(p, regpeer_hello(p, "", (uint64_t)ls_unix_time()));
    assert_int_equal(m.kind, LS_SMD_RESULT);
    /* version 3: the answer says how often to report */
    assert_true(m.fields & LS_SMD_F_REPORT_MS);
    assert_int_equal(m.report_ms, fx.conf.report_interval_ms);
    return p;
}

/* Everything sent before has been handled (a ping round trip). */
static void barrier(struct regpeer *p)
{
    assert_int_equal(answer(p, regpeer_request(p, LS_SMD_PING, NULL, 0)).kind, LS_SMD_RESULT);
}

static void report(struct regpeer *p, bool full, const char *body)
{
    assert_int_equal(regpeer_report(p, full, false, body), LS_OK);
    barrier(p);
}

static struct smd_cluster_totals totals(void)
{
    struct smd_cluster_totals t;

    smd_cluster_totals(fx.cl, &t);
    return t;
}

struct split {
    char nodes[8][64];
    uint64_t viewers[8];
    size_t n;
};

static void split_fn(const char *node_id, const char *role, uint64_t viewers, uint64_t bytes_out,
                     void *arg)
{
    struct split *s = arg;

    (void)bytes_out;
    assert_true(s->n < 8);
    snprintf(s->nodes[s->n], sizeof s->nodes[s->n], "%s/%s", node_id, role);
    s->viewers[s->n++] = viewers;
}

/* ---- tests ---- */

static void test_sums_over_nodes(void **state)
{
    struct regpeer *sp = node_up(0, "sp-1", "spd", ""), *ep = node_up(1, "ep-1", "epd", "");
    struct smd_cluster_totals t;
    struct split s;
    size_t i;

    (void)state;
    report(sp, true, "n viewers=2 play_requests=5 fail_not_found=1 start_le_25=2 start_count=2 "
                     "start_sum_ms=20\ns live/a 2 1000\n");
    report(ep, true, "n viewers=7 play_requests=7 fail_not_found=2 upstream=127.0.0.1:1935\n"
                     "s live/a 4 500\ns live/b 3 300\n");
    assert_int_equal(smd_cluster_viewers(fx.cl, "live/a"), 6);
    assert_int_equal(smd_cluster_viewers(fx.cl, "live/b"), 3);
    assert_int_equal(smd_cluster_viewers(fx.cl, "live/none"), 0);
    memset(&s, 0, sizeof s);
    smd_cluster_split(fx.cl, "live/a", split_fn, &s);
    assert_int_equal(s.n, 2);
    for (i = 0; i < s.n; i++)
        assert_int_equal(s.viewers[i], strcmp(s.nodes[i], "sp-1/spd") == 0 ? 2 : 4);
    t = totals();
    assert_int_equal(t.viewers, 9);
    assert_int_equal(t.nodes_spd, 1);
    assert_int_equal(t.nodes_epd, 1);
    assert_int_equal(t.counters[LS_NODE_PLAY_REQUESTS], 12);
    assert_int_equal(t.counters[LS_NODE_PLAY_FAILURES + LS_FAIL_NOT_FOUND], 3);
    assert_int_equal(t.counters[LS_NODE_PLAY_START_COUNT], 2);

    /* a delta: one viewer fewer on the edge, live/b gone there */
    report(ep, false, "n viewers=3 play_requests=8\ns live/a 3 600\nx live/b\n");
    assert_int_equal(smd_cluster_viewers(fx.cl, "live/a"), 5);
    assert_int_equal(smd_cluster_viewers(fx.cl, "live/b"), 0);
    assert_int_equal(totals().viewers, 5);
    assert_int_equal(totals().counters[LS_NODE_PLAY_REQUESTS], 13);

    /* a full report replaces everything the node said */
    report(ep, true, "n viewers=1 play_requests=8\ns live/c 1 1\n");
    assert_int_equal(smd_cluster_viewers(fx.cl, "live/a"), 2);
    assert_int_equal(smd_cluster_viewers(fx.cl, "live/c"), 1);
}

static void test_leave_and_return_keep_counters(void **state)
{
    struct regpeer *ep = node_up(0, "ep-1", "epd", "");

    (void)state;
    report(ep, true, "n play_requests=10 fail_limit=4\ns live/a 5 1\n");
    assert_int_equal(totals().viewers, 5);
    regpeer_close(ep);
    WAIT(totals().viewers == 0 && totals().nodes_epd == 0);
    /* gone: its viewers at once, its counters never */
    assert_int_equal(totals().viewers, 0);
    assert_int_equal(smd_cluster_viewers(fx.cl, "live/a"), 0);
    assert_int_equal(totals().counters[LS_NODE_PLAY_REQUESTS], 10);
    assert_int_equal(totals().counters[LS_NODE_PLAY_FAILURES + LS_FAIL_LIMIT], 4);

    /* the same process back (a link loss): its numbers include what it had */
    ep = node_up(1, "ep-1", "epd", "");
    assert_int_equal(totals().counters[LS_NODE_PLAY_REQUESTS], 10);
    report(ep, true, "n play_requests=12 fail_limit=4\ns live/a 5 1\n");
    assert_int_equal(totals().counters[LS_NODE_PLAY_REQUESTS], 12);
    assert_int_equal(totals().counters[LS_NODE_PLAY_FAILURES + LS_FAIL_LIMIT], 4);
    assert_int_equal(totals().viewers, 5);
    regpeer_close(ep);
    WAIT(totals().viewers == 0);

    /* restarted: it counts from zero again, on top of what it counted before */
    ep = node_up(2, "ep-1", "epd", "");
    report(ep, true, "n play_requests=3\n");
    assert_int_equal(totals().counters[LS_NODE_PLAY_REQUESTS], 15);
    assert_int_equal(totals().counters[LS_NODE_PLAY_FAILURES + LS_FAIL_LIMIT], 4);
}

static void test_replaced_session_keeps_the_view(void **state)
{
    struct regpeer *a = node_up(0, "ep-9", "epd", ""), *b;

    (void)state;
    report(a, true, "n play_requests=4\ns live/a 2 1\n");
    b = node_up(1, "ep-9", "epd", ""); /* the same node from a new connection */
    WAIT(a->closed);
    assert_int_equal(totals().counters[LS_NODE_PLAY_REQUESTS], 4);
    assert_int_equal(totals().nodes_epd, 1);
    report(b, true, "n play_requests=6\ns live/a 1 1\n");
    assert_int_equal(totals().counters[LS_NODE_PLAY_REQUESTS], 6);
    assert_int_equal(smd_cluster_viewers(fx.cl, "live/a"), 1);
}

/* A node's hello of another role or version under the same id (an upgrade that restarts
 * within the lease, a node turned from spd to epd) replaces the session: the view follows
 * the new hello, not the old one. */
static void cnode_of(const struct smd_node_view *n, void *arg)
{
    struct smd_cnode_view *cv = arg;

    if (strcmp(n->node_id, "sp-7") == 0 && n->cnode != NULL)
        smd_cnode_view(fx.cl, n->cnode, cv);
}

static void test_replaced_session_takes_the_new_hello(void **state)
{
    struct regpeer *a = &fx.peers[0], *b;
    struct smd_cnode_view cv;
    struct ls_smd_msg m;

    (void)state;
    assert_int_equal(regpeer_open(a, fx.base, fx.addr, "sp-7", "127.0.0.1:1935"), LS_OK);
    snprintf(a->version, sizeof a->version, "2");
    WAIT(a->challenged);
    m = answer(a, regpeer_hello(a, "", (uint64_t)ls_unix_time()));
    assert_int_equal(m.kind, LS_SMD_RESULT);
    b = node_up(1, "sp-7", "epd", ""); /* version 3, an epd now */
    WAIT(a->closed);
    memset(&cv, 0, sizeof cv);
    smd_registry_foreach_node(fx.reg, cnode_of, &cv);
    assert_non_null(cv.role);
    assert_string_equal(cv.role, "epd");
    assert_true(cv.reporter);
    assert_int_equal(totals().nodes_epd, 1);
    assert_int_equal(totals().nodes_spd, 0);
    report(b, true, "n play_requests=1\n");
    assert_int_equal(totals().counters[LS_NODE_PLAY_REQUESTS], 1);
}

/* Applies one report body to `n` straight (no session, no size bound of the wire). */
static int apply(struct smd_cnode *n, bool full, const char *body)
{
    struct ls_smd_report r;
    const char *why = NULL;
    bool resync;

    memset(&r, 0, sizeof r);
    r.full = full;
    r.body = body;
    r.body_len = strlen(body);
    return smd_cluster_report(fx.cl, n, &r, &resync, &why);
}

/* Stream lines at the largest legal number: the sums are what the ids show, never
 * wrapped past 2^64 (one node's thousands of streams, each at 2^53 - 1 viewers). */
static void test_viewer_sums_do_not_wrap(void **state)
{
    enum { NSTREAMS = 3000 };
    struct smd_cnode *n;
    char *body = malloc((size_t)NSTREAMS * 64), *p = body;
    unsigned __int128 sum = 0;
    unsigned i;

    (void)state;
    assert_non_null(body);
    fx.conf.max_report_streams = NSTREAMS;
    n = smd_cluster_join(fx.cl, "sp-big", "spd", true, 0);
    assert_non_null(n);
    for (i = 0; i < NSTREAMS; i++)
        p += sprintf(p, "s live/s%u 9007199254740991 0\n", i);
    assert_int_equal(apply(n, true, body), LS_OK);
    for (i = 0; i < NSTREAMS; i++) {
        char id[32];
        uint64_t v;

        snprintf(id, sizeof id, "live/s%u", i);
        v = smd_cluster_viewers(fx.cl, id);
        assert_true(v > 0);
        sum += v;
    }
    assert_true(sum == (unsigned __int128)totals().viewers);
    smd_cluster_leave(fx.cl, n);
    assert_int_equal(totals().viewers, 0);
    free(body);
}

/* A node that flaps (and "restarts" at every report) at the largest legal counters: the
 * cluster's counters only ever grow, they never wrap past 2^64. */
static void test_counters_do_not_wrap(void **state)
{
    uint64_t last = 0;
    unsigned i;

    (void)state;
    for (i = 0; i < 3000; i++) {
        struct smd_cnode *n = smd_cluster_join(fx.cl, "sp-flap", "spd", true, 0);
        uint64_t now;

        assert_non_null(n);
        assert_int_equal(apply(n, true, "n play_requests=9007199254740991\n"), LS_OK);
        assert_int_equal(apply(n, true, "n play_requests=0\n"), LS_OK);
        assert_int_equal(apply(n, true, "n play_requests=9007199254740991\n"), LS_OK);
        smd_cluster_leave(fx.cl, n);
        now = totals().counters[LS_NODE_PLAY_REQUESTS];
        assert_true(now >= last);
        last = now;
    }
}

static void test_edge_registers_nothing(void **state)
{
    struct regpeer *ep = node_up(0, "ep-1", "epd", "");
    struct ls_smd_msg m;

    (void)state;
    m = answer(ep, regpeer_register(ep, "live/x", 0, 0, false));
    assert_int_equal(m.kind, LS_SMD_ERROR);
    assert_string_equal(m.code, LS_SMD_CODE_INVALID);
    m = answer(ep, regpeer_request(ep, LS_SMD_UNREGISTER, "live/x", 1));
    assert_string_equal(m.code, LS_SMD_CODE_INVALID);
    assert_int_equal(smd_registry_stream_count(fx.reg), 0);
    barrier(ep); /* still up */
}

static void test_version_2_node(void **state)
{
    struct regpeer *old = &fx.peers[0];
    struct ls_smd_msg m;
    struct smd_cluster_totals t;

    (void)state;
    assert_int_equal(regpeer_open(old, fx.base, fx.addr, "sp-old", "127.0.0.1:1935"), LS_OK);
    snprintf(old->version, sizeof old->version, "2");
    WAIT(old->challenged);
    m = answer(old, regpeer_hello(old, "", (uint64_t)ls_unix_time()));
    assert_int_equal(m.kind, LS_SMD_RESULT);
    m = answer(old, regpeer_register(old, "live/old", 5000, 0, false));
    assert_int_equal(m.kind, LS_SMD_RESULT);
    t = totals();
    assert_int_equal(t.nodes_spd, 1); /* listed, as an spd */
    assert_int_equal(smd_cluster_viewers(fx.cl, "live/old"), 0);
}

static void test_report_before_hello_closes(void **state)
{
    struct regpeer *p = &fx.peers[0];
    uint64_t before = smd_registry_counters(fx.reg)->auth_failures_no_hello;

    (void)state;
    assert_int_equal(regpeer_open(p, fx.base, fx.addr, "x-1", "127.0.0.1:1935"), LS_OK);
    WAIT(p->challenged);
    assert_int_equal(regpeer_report(p, true, false, "s live/a 1 1\n"), LS_OK);
    WAIT(p->closed);
    assert_true(p->closed);
    assert_int_equal(smd_registry_counters(fx.reg)->auth_failures_no_hello, before + 1);
}

static void test_malformed_report_closes(void **state)
{
    struct regpeer *ep = node_up(0, "ep-1", "epd", "");
    uint64_t before = smd_registry_counters(fx.reg)->protocol_errors_total;

    (void)state;
    report(ep, true, "s live/a 2 1\n");
    assert_int_equal(regpeer_report(ep, false, false, "s live/a two 1\n"), LS_OK);
    WAIT(ep->closed);
    assert_true(ep->closed);
    assert_int_equal(smd_registry_counters(fx.reg)->protocol_errors_total, before + 1);
    WAIT(totals().viewers == 0);
    assert_int_equal(totals().viewers, 0);
}

static void test_multipart_report(void **state)
{
    struct regpeer *ep = node_up(0, "ep-1", "epd", "");

    (void)state;
    report(ep, true, "s live/a 1 1\n");
    assert_int_equal(regpeer_report(ep, true, true, "n viewers=5\ns live/b 2 1\n"), LS_OK);
    barrier(ep);
    /* the full report started: what the node said before is gone, the rest is due */
    assert_int_equal(smd_cluster_viewers(fx.cl, "live/a"), 0);
    assert_int_equal(smd_cluster_viewers(fx.cl, "live/b"), 2);
    report(ep, false, "s live/c 3 1\n");
    assert_int_equal(totals().viewers, 5);
}

static void test_rate_and_resync(void **state)
{
    struct regpeer *ep = node_up(0, "ep-1", "epd", "");
    const struct smd_cluster_counters *cc = smd_cluster_counters(fx.cl);
    uint64_t dropped = cc->reports_dropped_total;
    struct ls_smd_msg m;
    int i;

    (void)state;
    /* SMD_REPORT_BURST reports at once are fine; more within one interval are not */
    for (i = 0; i < SMD_REPORT_BURST + 2; i++) {
        char body[64];

        snprintf(body, sizeof body, "s live/a %d 1\n", i + 1);
        assert_int_equal(regpeer_report(ep, i == 0, false, body), LS_OK);
    }
    barrier(ep);
    assert_int_equal(cc->reports_dropped_total, dropped + 2);
    assert_int_equal(smd_cluster_viewers(fx.cl, "live/a"), SMD_REPORT_BURST);
    WAIT(regpeer_has(ep, LS_SMD_RESYNC, 0, NULL));
    assert_true(regpeer_take(ep, LS_SMD_RESYNC, 0, NULL, &m)); /* asked once */
    assert_false(regpeer_has(ep, LS_SMD_RESYNC, 0, NULL));
    /* a report later, within the rate again, is taken */
    evloop_run_for(fx.base, 1100);
    report(ep, true, "s live/a 9 1\n");
    assert_int_equal(smd_cluster_viewers(fx.cl, "live/a"), 9);
}

static void test_max_report_streams(void **state)
{
    struct regpeer *ep = node_up(0, "ep-1", "epd", "");
    const struct smd_cluster_counters *cc = smd_cluster_counters(fx.cl);
    uint64_t dropped = cc->streams_dropped_total;

    (void)state;
    fx.conf.max_report_streams = 2;
    report(ep, true, "s live/a 1 1\ns live/b 1 1\ns live/c 1 1\n");
    assert_int_equal(cc->streams_dropped_total, dropped + 1);
    assert_int_equal(totals().viewers, 2);
    /* the ones it keeps still change */
    report(ep, false, "s live/a 4 1\n");
    assert_int_equal(totals().viewers, 5);
}

/* `more` cannot stand in for reports: a report of more messages than max_report_streams
 * streams need is cut, and a full one asked for. */
static void test_report_parts_bounded(void **state)
{
    struct regpeer *ep = node_up(0, "ep-1", "epd", "");
    const struct smd_cluster_counters *cc = smd_cluster_counters(fx.cl);
    uint64_t dropped = cc->reports_dropped_total;
    struct ls_smd_msg m;
    int i;

    (void)state;
    fx.conf.max_report_streams = 2; /* a report fits 2 messages */
    assert_int_equal(regpeer_report(ep, true, true, "s live/a 1 1\n"), LS_OK);
    for (i = 0; i < 5; i++)
        assert_int_equal(regpeer_report(ep, false, true, "s live/b 1 1\n"), LS_OK);
    assert_int_equal(regpeer_report(ep, false, false, "s live/c 1 1\n"), LS_OK);
    barrier(ep);
    assert_int_equal(cc->reports_dropped_total, dropped + 1);
    WAIT(regpeer_has(ep, LS_SMD_RESYNC, 0, NULL));
    assert_true(regpeer_take(ep, LS_SMD_RESYNC, 0, NULL, &m));
    assert_int_equal(smd_cluster_viewers(fx.cl, "live/c"), 0); /* the rest was dropped */
    /* the full report it asked for is taken */
    report(ep, true, "s live/a 3 1\n");
    assert_int_equal(totals().viewers, 3);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_sums_over_nodes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_leave_and_return_keep_counters, setup, teardown),
        cmocka_unit_test_setup_teardown(test_replaced_session_keeps_the_view, setup, teardown),
        cmocka_unit_test_setup_teardown(test_replaced_session_takes_the_new_hello, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_viewer_sums_do_not_wrap, setup, teardown),
        cmocka_unit_test_setup_teardown(test_counters_do_not_wrap, setup, teardown),
        cmocka_unit_test_setup_teardown(test_edge_registers_nothing, setup, teardown),
        cmocka_unit_test_setup_teardown(test_version_2_node, setup, teardown),
        cmocka_unit_test_setup_teardown(test_report_before_hello_closes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_malformed_report_closes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_multipart_report, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rate_and_resync, setup, teardown),
        cmocka_unit_test_setup_teardown(test_max_report_streams, setup, teardown),
        cmocka_unit_test_setup_teardown(test_report_parts_bounded, setup, teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
