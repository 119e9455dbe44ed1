/*
 * Unit tests for the reports spd's registry client sends over its links (libstream's
 * reglink.c and reporter.c, driven by spd/registry.c): against a real in-process smd,
 * whose cluster view then shows the node's viewers; against a hand-played smd of
 * protocol version 2 (no report_ms in its hello answer), which gets no report at all;
 * and against a hand-played smd of version 3, which gets a full report first, then small
 * ones, and a full one again after it asks (resync).
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
#include "libstream/hub.h"
#include "libstream/log.h"
#include "libstream/outq.h"
#include "libstream/reporter.h"
#include "libstream/smdproto.h"
#include "registry.h"
#include "smd.h"
#include "support/evloop.h"
#include "support/regpeer.h"
#include "support/smdconf.h"

#define WAIT_MS 5000u
#define WAIT(cond)                                   \
    do {                                             \
        EVLOOP_WAIT(fx.base, cond, WAIT_MS);         \
        assert_true(cond);                           \
    } while (0)


static struct {
    struct event_base *base;
    struct ls_hub *hub;
    struct ls_reporter *rep;
    struct spd_registry *reg;
    struct ls_addr smd_v[1];
    struct ls_addr_list smds;
    struct smd_conf smd_conf;
    struct smd_registry *smd;
    struct regpeer fake;
} fx;

struct viewer {
    struct ls_subscriber sub;
    struct ls_outq outq;
};

static void v_flush(struct ls_subscriber *sub) { ls_outq_clear(sub->outq); }
static void v_event(struct ls_subscriber *sub, enum ls_source_event ev) { (void)sub; (void)ev; }
static void v_slow(struct ls_subscriber *sub, const char *why) { (void)why; ls_subscriber_detach(sub); }
static const struct ls_subscriber_ops v_ops = { v_flush, v_event, v_slow };

static struct viewer viewers[3];

static void watch(size_t i, const char *id)
{
    struct ls_stream *st = ls_hub_get(fx.hub, id);

    assert_non_null(st);
    ls_outq_init(&viewers[i].outq);
    ls_subscriber_init(&viewers[i].sub, &v_ops, &viewers[i].outq, LS_TRANSPORT_RTMP, 1);
    assert_int_equal(ls_stream_subscribe(st, &viewers[i].sub), LS_OK);
}

static int setup(void **state)
{
    struct ls_hub_config hc;

    (void)state;
    memset(&fx, 0, sizeof fx);
    memset(viewers, 0, sizeof viewers);
    ls_log_set_level(LS_LOG_ERR);
    fx.base = event_base_new();
    ls_hub_config_defaults(&hc);
    fx.hub = ls_hub_new(fx.base, &hc);
    fx.rep = ls_reporter_new(fx.hub, NULL);
    return fx.base != NULL && fx.hub != NULL && fx.rep != NULL ? 0 : -1;
}

static int teardown(void **state)
{
    size_t i;

    (void)state;
    spd_registry_free(fx.reg);
    regpeer_close(&fx.fake);
    smd_registry_free(fx.smd);
    for (i = 0; i < 3; i++) {
        ls_subscriber_detach(&viewers[i].sub);
        ls_outq_clear(&viewers[i].outq);
    }
    ls_reporter_free(fx.rep);
    ls_hub_free(fx.hub);
    event_base_free(fx.base);
    return 0;
}

static void spd_start(uint16_t smd_port)
{
    struct spd_registry_config cfg;

    snprintf(fx.smd_v[0].host, sizeof fx.smd_v[0].host, "127.0.0.1");
    fx.smd_v[0].port = smd_port;
    fx.smds.v = fx.smd_v;
    fx.smds.n = 1;
    memset(&cfg, 0, sizeof cfg);
    cfg.node_id = "sp-r";
    cfg.advertise = "127.0.0.1:1935";
    cfg.secret = "";
    cfg.smds = &fx.smds;
    cfg.takeover_idle_ms = 5000;
    cfg.reporter = fx.rep;
    fx.reg = spd_registry_new(fx.base, &cfg, NULL);
    assert_non_null(fx.reg);
}

static void test_real_smd_sees_viewers(void **state)
{
    uint16_t port = evloop_free_port("127.0.0.1");
    struct smd_conf *c = &fx.smd_conf;
    struct smd_cluster_totals t;

    (void)state;
    smdconf_for_test(c, port, LS_LOG_ERR);
    c->max_connections = 100;
    c->max_streams_per_node = 1000;
    c->max_watches_per_node = 1000;
    c->report_interval_ms = 250;
    c->max_report_streams = 100;
    fx.smd = smd_registry_new(fx.base, c);
    assert_non_null(fx.smd);
    watch(0, "live/r");
    watch(1, "live/r");
    spd_start(port);
    WAIT(smd_cluster_viewers(smd_registry_cluster(fx.smd), "live/r") == 2);
    /* a viewer leaves: the next report says so */
    ls_subscriber_detach(&viewers[1].sub);
    WAIT(smd_cluster_viewers(smd_registry_cluster(fx.smd), "live/r") == 1);
    smd_cluster_totals(smd_registry_cluster(fx.smd), &t);
    assert_int_equal(t.nodes_spd, 1);
    assert_int_equal(t.viewers, 1);
}

/* A hand-played smd: its hello answer, with or without report_ms. */
static void fake_hello(bool v3)
{
    struct ls_smd_msg q, m;

    WAIT(regpeer_has(&fx.fake, LS_SMD_HELLO, 0, NULL));
    assert_true(regpeer_take(&fx.fake, LS_SMD_HELLO, 0, NULL, &q));
    assert_string_equal(q.role, "spd");
    assert_string_equal(q.version, LS_SMD_VERSION);
    ls_smd_msg_init(&m, LS_SMD_RESULT, q.txid);
    ls_smd_set_str(&m, LS_SMD_F_NODE_ID, "smd-fake");
    ls_smd_set_num(&m, LS_SMD_F_LEASE_SECONDS, 60);
    if (v3)
        ls_smd_set_num(&m, LS_SMD_F_REPORT_MS, 200);
    assert_int_not_equal(regpeer_send(&fx.fake, &m), 0);
    WAIT(spd_registry_up_count(fx.reg) == 1);
}

static void test_version_2_smd_gets_no_reports(void **state)
{
    uint16_t port = evloop_free_port("127.0.0.1");
    char addr[LS_ADDR_STRLEN];

    (void)state;
    snprintf(addr, sizeof addr, "127.0.0.1:%u", (unsigned)port);
    assert_int_equal(regpeer_listen(&fx.fake, fx.base, addr), LS_OK);
    watch(0, "live/q");
    spd_start(port);
    fake_hello(false);
    evloop_run_for(fx.base, 1500);
    assert_int_equal(fx.fake.reports, 0);
    assert_false(fx.fake.bad_input);
    assert_false(fx.fake.closed);
}

static void test_version_3_smd_gets_reports(void **state)
{
    uint16_t port = evloop_free_port("127.0.0.1");
    char addr[LS_ADDR_STRLEN];
    struct ls_smd_msg m;
    unsigned n;

    (void)state;
    snprintf(addr, sizeof addr, "127.0.0.1:%u", (unsigned)port);
    assert_int_equal(regpeer_listen(&fx.fake, fx.base, addr), LS_OK);
    watch(0, "live/q");
    spd_start(port);
    fake_hello(true);
    WAIT(fx.fake.reports >= 1);
    assert_int_equal(fx.fake.reports_full, 1);
    assert_non_null(strstr(fx.fake.last_report, "\ns live/q 1 "));
    /* then reports keep coming, small: the node line only while nothing changes */
    n = fx.fake.reports;
    WAIT(fx.fake.reports >= n + 2);
    assert_null(strstr(fx.fake.last_report, "live/q"));
    assert_int_equal(fx.fake.reports_full, 1);
    /* the smd asks for everything again */
    ls_smd_msg_init(&m, LS_SMD_RESYNC, 0);
    assert_int_equal(regpeer_send(&fx.fake, &m), 0); /* a notification: txid 0 */
    WAIT(fx.fake.reports_full == 2);
    assert_non_null(strstr(fx.fake.last_report, "\ns live/q 1 "));
    assert_false(fx.fake.bad_input);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_real_smd_sees_viewers, setup, teardown),
        cmocka_unit_test_setup_teardown(test_version_2_smd_gets_no_reports, setup, teardown),
        cmocka_unit_test_setup_teardown(test_version_3_smd_gets_reports, setup, teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
