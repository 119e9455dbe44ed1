/*
 * Unit tests for smd's registry (smd/registry.c): the ownership rules of docs/protocol.md
 * "Ownership rules (smd)" and "Sessions", decided by the real registry in this process.
 *
 * Each test starts an smd registry on a loopback port and talks to it through scripted
 * peers (test/support/regpeer.h): real connections on the same event loop, so every
 * message goes through the handshake, the chunk stream and the codec as in production.
 * Waits are bounded by wall time and wait for outcomes, never for a fixed delay. "Nothing
 * arrived" is shown with a round trip: the smd answers a peer's ping after everything it
 * sent that peer before.
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

#include "libstream/amf.h"
#include "libstream/buf.h"
#include "libstream/clock.h"
#include "libstream/command.h"
#include "libstream/log.h"
#include "libstream/smdproto.h"
#include "smd.h"
#include "support/amf_build.h"
#include "support/evloop.h"
#include "support/regpeer.h"
#include "support/smdconf.h"

#define WAIT_MS 5000u /* a bound, not an expectation: loopback answers take microseconds */
#define NPEERS 5

static char smd_node[] = SMDCONF_TEST_NODE;
static char secret[] = "s3cret";

static struct {
    struct event_base *base;
    struct smd_conf conf;
    struct smd_registry *reg;
    char addr[LS_ADDR_STRLEN];
    struct regpeer peers[NPEERS];
} fx;

/* Runs the loop until `cond`, failing the test when it does not hold in time. */
#define WAIT(cond)                                   \
    do {                                             \
        EVLOOP_WAIT(fx.base, cond, WAIT_MS);         \
        assert_true(cond);                           \
    } while (0)

/* ---- fixture ---- */

static int setup(void **state)
{
    uint16_t port = evloop_free_port("127.0.0.1");

    (void)state;
    memset(&fx, 0, sizeof fx);
    ls_log_set_level(LS_LOG_NOTICE);
    if (port == 0 || (fx.base = event_base_new()) == NULL)
        return -1;
    smdconf_for_test(&fx.conf, port, LS_LOG_NOTICE);
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
    return 0;
}

/* ---- peers ---- */

/* Connects peer `i` as `node` (advertising 127.0.0.(i+1):1935) without saying hello; the
 * smd's challenge has arrived when it returns. */
static struct regpeer *peer_connect(size_t i, const char *node)
{
    struct regpeer *p = &fx.peers[i];
    char adv[32];

    snprintf(adv, sizeof adv, "127.0.0.%zu:1935", i + 1);
    assert_int_equal(regpeer_open(p, fx.base, fx.addr, node, adv), LS_OK);
    WAIT(p->challenged || p->closed);
    assert_true(p->ready);
    assert_true(p->challenged);
    assert_string_equal(p->smd_node, smd_node);
    return p;
}

/* The answer to `txid` (waits for it, takes it from the inbox). */
static struct ls_smd_msg answer(struct regpeer *p, uint32_t txid)
{
    struct ls_smd_msg m;

    assert_int_not_equal(txid, 0);
    WAIT(regpeer_has(p, LS_SMD_UNKNOWN, txid, NULL));
    assert_true(regpeer_take(p, LS_SMD_UNKNOWN, txid, NULL, &m));
    return m;
}

static void expect_error(struct regpeer *p, uint32_t txid, const char *code)
{
    struct ls_smd_msg m = answer(p, txid);

    assert_int_equal(m.kind, LS_SMD_ERROR);
    assert_string_equal(m.code, code);
}

static void expect_ok(struct regpeer *p, uint32_t txid)
{
    assert_int_equal(answer(p, txid).kind, LS_SMD_RESULT);
}

/* Connects and authenticates peer `i` as `node`. */
static struct regpeer *peer_up(size_t i, const char *node)
{
    struct regpeer *p = peer_connect(i, node);
    struct ls_smd_msg m = answer(p, regpeer_hello(p, fx.conf.cluster_secret,
                                                  (uint64_t)ls_unix_time()));

    assert_int_equal(m.kind, LS_SMD_RESULT);
    assert_string_equal(m.node_id, smd_node);
    assert_int_equal(m.lease_seconds, fx.conf.lease_seconds);
    return p;
}

/* A fresh claim (no since) that must succeed; returns the generation. */
static uint64_t register_ok(struct regpeer *p, const char *id, uint64_t takeover_idle_ms,
                            uint64_t since, bool reannounce)
{
    struct ls_smd_msg m = answer(p, regpeer_register(p, id, takeover_idle_ms, since,
                                                     reannounce));

    assert_int_equal(m.kind, LS_SMD_RESULT);
    assert_string_equal(m.id, id);
    assert_true(m.generation >= 1);
    return m.generation;
}

/* A register refused Busy, naming the owner. */
static void register_busy(struct regpeer *p, const char *id, uint64_t takeover_idle_ms,
                          uint64_t since, bool reannounce, const struct regpeer *owner)
{
    struct ls_smd_msg m = answer(p, regpeer_register(p, id, takeover_idle_ms, since,
                                                     reannounce));

    assert_int_equal(m.kind, LS_SMD_ERROR);
    assert_string_equal(m.code, LS_SMD_CODE_BUSY);
    assert_string_equal(m.id, id);
    assert_string_equal(m.node_id, owner->node_id);
    assert_string_equal(m.origin, owner->advertise);
}

/* Everything the smd sent `p` before now has arrived (a ping round trip). */
static void barrier(struct regpeer *p)
{
    expect_ok(p, regpeer_request(p, LS_SMD_PING, NULL, 0));
}

/* Waits for a notification or probe of `kind` about `id` and takes it. */
static struct ls_smd_msg event(struct regpeer *p, enum ls_smd_kind kind, const char *id)
{
    struct ls_smd_msg m;

    WAIT(regpeer_has(p, kind, 0, id));
    assert_true(regpeer_take(p, kind, 0, id, &m));
    return m;
}

static void no_event(struct regpeer *p, enum ls_smd_kind kind, const char *id)
{
    barrier(p);
    assert_false(regpeer_has(p, kind, 0, id));
}

/* ---- the registry's view ---- */

struct found {
    const char *want;
    bool found;
    char node_id[LS_SMD_NODE_ID_MAX + 1];
    char origin[LS_ADDR_STRLEN];
    uint64_t generation;
    int64_t since;
};

static void find_cb(const struct smd_entry_view *e, void *arg)
{
    struct found *f = arg;

    if (strcmp(e->id, f->want) != 0)
        return;
    f->found = true;
    snprintf(f->node_id, sizeof f->node_id, "%s", e->node_id);
    snprintf(f->origin, sizeof f->origin, "%s", e->origin);
    f->generation = e->generation;
    f->since = e->since;
}

static struct found entry(const char *id)
{
    struct found f;

    memset(&f, 0, sizeof f);
    f.want = id;
    assert_int_equal(smd_registry_foreach_entry(fx.reg, find_cb, &f), LS_OK);
    return f;
}

static bool owned_by(const char *id, const char *node)
{
    struct found f = entry(id);

    return node == NULL ? !f.found : f.found && strcmp(f.node_id, node) == 0;
}

static const struct smd_counters *counters(void)
{
    return smd_registry_counters(fx.reg);
}

/* ---- registering and looking up ---- */

static void test_register_and_lookup(void **state)
{
    struct regpeer *a, *b;
    struct ls_smd_msg m;
    struct found f;
    uint64_t gen;
    (void)state;

    a = peer_up(0, "sp-a");
    b = peer_up(1, "sp-b");
    assert_int_equal(smd_registry_node_count(fx.reg), 2);
    gen = register_ok(a, "live/a", 5000, 1700000000, false);
    assert_int_equal(smd_registry_stream_count(fx.reg), 1);
    f = entry("live/a");
    assert_true(f.found);
    assert_string_equal(f.node_id, "sp-a");
    assert_string_equal(f.origin, a->advertise);
    assert_int_equal(f.generation, gen);
    assert_int_equal(f.since, 1700000000);

    m = answer(b, regpeer_request(b, LS_SMD_LOOKUP, "live/a", 0));
    assert_int_equal(m.kind, LS_SMD_RESULT);
    assert_string_equal(m.id, "live/a");
    assert_string_equal(m.origin, a->advertise);
    assert_string_equal(m.node_id, "sp-a");
    assert_int_equal(m.generation, gen);
    expect_error(b, regpeer_request(b, LS_SMD_LOOKUP, "live/none", 0), LS_SMD_CODE_NOT_FOUND);

    assert_int_equal(counters()->registrations_total, 1);
    assert_int_equal(counters()->lookups_found_total, 1);
    assert_int_equal(counters()->lookups_missing_total, 1);
    assert_int_equal(counters()->hellos_total, 2);
}

static void test_register_without_since_uses_now(void **state)
{
    struct regpeer *a;
    int64_t before = ls_unix_time();
    struct found f;
    (void)state;

    a = peer_up(0, "sp-a");
    register_ok(a, "live/a", 5000, 0, false);
    f = entry("live/a");
    assert_true(f.since >= before && f.since <= ls_unix_time());
}

static void test_same_node_again_keeps_generation(void **state)
{
    struct regpeer *a;
    uint64_t gen;
    (void)state;

    a = peer_up(0, "sp-a");
    gen = register_ok(a, "live/a", 5000, 100, false);
    /* a local takeover, and a reconnect's re-announce: the entry stays as it is */
    assert_int_equal(register_ok(a, "live/a", 5000, 200, false), gen);
    assert_int_equal(register_ok(a, "live/a", 5000, 300, true), gen);
    assert_int_equal(smd_registry_stream_count(fx.reg), 1);
    assert_int_equal(counters()->conflicts_total, 0);
    assert_int_equal(counters()->probes_total, 0);
}

static void test_generations_grow(void **state)
{
    struct regpeer *a, *b;
    uint64_t g1, g2, g3;
    (void)state;

    a = peer_up(0, "sp-a");
    b = peer_up(1, "sp-b");
    g1 = register_ok(a, "live/a", 5000, 0, false);
    g2 = register_ok(b, "live/b", 5000, 0, false);
    assert_true(g2 > g1);
    /* removed and registered again: never the old number */
    expect_ok(a, regpeer_request(a, LS_SMD_UNREGISTER, "live/a", g1));
    g3 = register_ok(a, "live/a", 5000, 0, false);
    assert_true(g3 > g2);
}

/* docs/protocol.md: "a generation is never reused for an id — not even across a restart
 * of smd". A restart within the same second must not start over below the old numbers. */
static void test_generations_grow_across_a_restart(void **state)
{
    struct regpeer *a;
    uint64_t before, after;
    (void)state;

    a = peer_up(0, "sp-a");
    before = register_ok(a, "live/a", 5000, 0, false);
    regpeer_close(a);
    smd_registry_free(fx.reg);
    fx.reg = smd_registry_new(fx.base, &fx.conf);
    assert_non_null(fx.reg);
    a = peer_up(0, "sp-a");
    after = register_ok(a, "live/a", 5000, 0, false);
    assert_true(after > before);
}

/* ---- conflicts: fresh claims probe the owner ---- */

static void test_busy_while_the_owner_publishes(void **state)
{
    struct regpeer *a, *b;
    struct ls_smd_msg probe;
    uint64_t gen;
    (void)state;

    a = peer_up(0, "sp-a");
    b = peer_up(1, "sp-b");
    a->probe_idle_ms = 100; /* media arrived 100 ms ago */
    gen = register_ok(a, "live/a", 5000, 0, false);
    register_busy(b, "live/a", 5000, 0, false, a);
    probe = event(a, LS_SMD_PROBE, "live/a");
    assert_true(probe.txid != 0);
    assert_true(owned_by("live/a", "sp-a"));
    assert_int_equal(entry("live/a").generation, gen);
    no_event(a, LS_SMD_REVOKED, "live/a");
    assert_int_equal(counters()->conflicts_total, 1);
    assert_int_equal(counters()->probes_total, 1);
    assert_int_equal(counters()->refusals_busy_total, 1);
    assert_int_equal(counters()->takeovers_total, 0);
}

static void test_idle_owner_loses(void **state)
{
    struct regpeer *a, *b, *w;
    struct ls_smd_msg m;
    uint64_t g1, g2;
    (void)state;

    a = peer_up(0, "sp-a");
    b = peer_up(1, "sp-b");
    w = peer_up(2, "sp-w");
    expect_ok(w, regpeer_request(w, LS_SMD_WATCH, "live/a", 0));
    a->probe_idle_ms = 60000;
    g1 = register_ok(a, "live/a", 5000, 0, false);
    assert_int_equal(event(w, LS_SMD_REGISTERED, "live/a").generation, g1);
    g2 = register_ok(b, "live/a", 5000, 0, false);
    assert_true(g2 > g1);
    event(a, LS_SMD_PROBE, "live/a");
    /* the loser hears which of its registrations went */
    m = event(a, LS_SMD_REVOKED, "live/a");
    assert_int_equal(m.generation, g1);
    assert_true(owned_by("live/a", "sp-b"));
    assert_int_equal(entry("live/a").generation, g2);
    /* watchers hear of the new owner */
    m = event(w, LS_SMD_REGISTERED, "live/a");
    assert_string_equal(m.node_id, "sp-b");
    assert_string_equal(m.origin, b->advertise);
    assert_int_equal(m.generation, g2);
    assert_int_equal(counters()->takeovers_total, 1);
    assert_int_equal(counters()->revocations_total, 1);
    /* the winner was not probed and is not revoked */
    no_event(b, LS_SMD_PROBE, "live/a");
    assert_false(regpeer_has(b, LS_SMD_REVOKED, 0, "live/a"));
}

/* The owner's idleness is compared with the claimant's takeover_idle_ms: at it, the
 * claimant wins; one ms below, the owner keeps the id. */
static void test_takeover_idle_ms_boundary(void **state)
{
    struct regpeer *a, *b;
    (void)state;

    a = peer_up(0, "sp-a");
    b = peer_up(1, "sp-b");
    register_ok(a, "live/x", 5000, 0, false);
    a->probe_idle_ms = 2999;
    register_busy(b, "live/x", 3000, 0, false, a);
    a->probe_idle_ms = 3000;
    register_ok(b, "live/x", 3000, 0, false);
    assert_true(owned_by("live/x", "sp-b"));
    event(a, LS_SMD_REVOKED, "live/x");
}

static void test_takeover_idle_ms_zero_takes_anything(void **state)
{
    struct regpeer *a, *b;
    (void)state;

    a = peer_up(0, "sp-a");
    b = peer_up(1, "sp-b");
    a->probe_idle_ms = 0; /* publishing this very moment */
    register_ok(a, "live/x", 5000, 0, false);
    register_ok(b, "live/x", 0, 0, false);
    assert_true(owned_by("live/x", "sp-b"));
    event(a, LS_SMD_REVOKED, "live/x");
}

static void test_owner_without_publisher_loses(void **state)
{
    struct regpeer *a, *b;
    uint64_t g1;
    (void)state;

    a = peer_up(0, "sp-a");
    b = peer_up(1, "sp-b");
    a->probe_mode = REGPEER_NONE;
    g1 = register_ok(a, "live/x", 5000, 0, false);
    register_ok(b, "live/x", 5000, 0, false);
    assert_true(owned_by("live/x", "sp-b"));
    assert_int_equal(event(a, LS_SMD_REVOKED, "live/x").generation, g1);
}

static void test_unanswered_probe_is_busy(void **state)
{
    struct regpeer *a, *b;
    struct ls_smd_msg probe, late;
    (void)state;

    fx.conf.probe_timeout_ms = 100; /* read at each probe */
    a = peer_up(0, "sp-a");
    b = peer_up(1, "sp-b");
    a->probe_mode = REGPEER_MUTE;
    register_ok(a, "live/x", 5000, 0, false);
    register_busy(b, "live/x", 5000, 0, false, a);
    assert_int_equal(counters()->probe_timeouts_total, 1);
    probe = event(a, LS_SMD_PROBE, "live/x");
    /* an answer after the deadline changes nothing */
    ls_smd_msg_init(&late, LS_SMD_ERROR, probe.txid);
    ls_smd_set_str(&late, LS_SMD_F_CODE, LS_SMD_CODE_NOT_FOUND);
    assert_int_equal(regpeer_send(a, &late), probe.txid);
    barrier(a);
    assert_true(owned_by("live/x", "sp-a"));
    assert_false(regpeer_has(a, LS_SMD_REVOKED, 0, "live/x"));
    assert_false(regpeer_has(b, LS_SMD_UNKNOWN, 0, NULL));
}

/* The owner's session ends while it is probed: the id is free, the claimant gets it. */
static void test_owner_leaving_during_probe(void **state)
{
    struct regpeer *a, *b;
    uint32_t txid;
    struct ls_smd_msg m;
    (void)state;

    a = peer_up(0, "sp-a");
    b = peer_up(1, "sp-b");
    a->probe_mode = REGPEER_MUTE;
    register_ok(a, "live/x", 5000, 0, false);
    txid = regpeer_register(b, "live/x", 5000, 0, false);
    event(a, LS_SMD_PROBE, "live/x");
    regpeer_close(a);
    m = answer(b, txid);
    assert_int_equal(m.kind, LS_SMD_RESULT);
    assert_true(owned_by("live/x", "sp-b"));
}

/* The claimant's session ends while its probe is out: nothing is decided for it. */
static void test_claimant_leaving_during_probe(void **state)
{
    struct regpeer *a, *b;
    struct ls_smd_msg probe, r;
    (void)state;

    a = peer_up(0, "sp-a");
    b = peer_up(1, "sp-b");
    a->probe_mode = REGPEER_MUTE;
    register_ok(a, "live/x", 5000, 0, false);
    (void)regpeer_register(b, "live/x", 5000, 0, false);
    probe = event(a, LS_SMD_PROBE, "live/x");
    regpeer_close(b);
    WAIT(smd_registry_node_count(fx.reg) == 1);
    /* the owner's answer now finds no probe: it keeps the id, no revocation */
    ls_smd_msg_init(&r, LS_SMD_RESULT, probe.txid);
    ls_smd_set_num(&r, LS_SMD_F_IDLE_MS, 60000);
    assert_int_equal(regpeer_send(a, &r), probe.txid);
    no_event(a, LS_SMD_REVOKED, "live/x");
    assert_true(owned_by("live/x", "sp-a"));
}

/* The entry changes while a probe is out: the decision is taken again — here the owner
 * unregistered, so the claimant gets a free id although the owner answered "busy". */
static void test_decision_retaken_when_the_entry_changed(void **state)
{
    struct regpeer *a, *b;
    struct ls_smd_msg probe, r, m;
    uint32_t txid;
    uint64_t gen;
    (void)state;

    a = peer_up(0, "sp-a");
    b = peer_up(1, "sp-b");
    a->probe_mode = REGPEER_MUTE;
    gen = register_ok(a, "live/x", 5000, 0, false);
    txid = regpeer_register(b, "live/x", 5000, 0, false);
    probe = event(a, LS_SMD_PROBE, "live/x");
    expect_ok(a, regpeer_request(a, LS_SMD_UNREGISTER, "live/x", gen));
    ls_smd_msg_init(&r, LS_SMD_RESULT, probe.txid);
    ls_smd_set_num(&r, LS_SMD_F_IDLE_MS, 0);
    assert_int_equal(regpeer_send(a, &r), probe.txid);
    m = answer(b, txid);
    assert_int_equal(m.kind, LS_SMD_RESULT);
    assert_true(owned_by("live/x", "sp-b"));
    assert_false(regpeer_has(a, LS_SMD_REVOKED, 0, "live/x"));
}

/* An owner whose entry changes under every probe: three decisions, then Busy. */
static void test_decision_retaken_at_most_three_times(void **state)
{
    struct regpeer *a, *b;
    struct ls_smd_msg probe, r, m;
    uint32_t txid;
    uint64_t gen;
    int i;
    (void)state;

    a = peer_up(0, "sp-a");
    b = peer_up(1, "sp-b");
    a->probe_mode = REGPEER_MUTE;
    gen = register_ok(a, "live/x", 5000, 0, false);
    txid = regpeer_register(b, "live/x", 5000, 0, false);
    for (i = 0; i < 3; i++) {
        probe = event(a, LS_SMD_PROBE, "live/x");
        /* a new registration of the same owner while the probe is out */
        expect_ok(a, regpeer_request(a, LS_SMD_UNREGISTER, "live/x", gen));
        gen = register_ok(a, "live/x", 5000, 0, false);
        ls_smd_msg_init(&r, LS_SMD_RESULT, probe.txid);
        ls_smd_set_num(&r, LS_SMD_F_IDLE_MS, 60000);
        assert_int_equal(regpeer_send(a, &r), probe.txid);
    }
    m = answer(b, txid);
    assert_int_equal(m.kind, LS_SMD_ERROR);
    assert_string_equal(m.code, LS_SMD_CODE_BUSY);
    no_event(a, LS_SMD_PROBE, "live/x");
    assert_int_equal(counters()->probes_total, 3);
    assert_int_equal(counters()->conflicts_total, 1);
    assert_true(owned_by("live/x", "sp-a"));
}

/* ---- conflicts: re-announces compare publisher start times ---- */

static void test_reannounce_earlier_publisher_wins(void **state)
{
    struct regpeer *a, *b;
    uint64_t ga, gb;
    (void)state;

    a = peer_up(0, "sp-a");
    b = peer_up(1, "sp-b");
    ga = register_ok(a, "live/x", 5000, 200, false);
    /* B's publisher started earlier: it takes the id without a probe */
    gb = register_ok(b, "live/x", 5000, 100, true);
    assert_true(gb > ga);
    assert_int_equal(event(a, LS_SMD_REVOKED, "live/x").generation, ga);
    assert_false(regpeer_has(a, LS_SMD_PROBE, 0, "live/x"));
    assert_true(owned_by("live/x", "sp-b"));
    assert_int_equal(entry("live/x").since, 100);
    /* A's later publisher loses without a probe */
    register_busy(a, "live/x", 5000, 200, true, b);
    no_event(b, LS_SMD_PROBE, "live/x");
    assert_int_equal(counters()->probes_total, 0);
    assert_true(owned_by("live/x", "sp-b"));
}

static void test_reannounce_tie_goes_to_the_smaller_node_id(void **state)
{
    struct regpeer *a, *b;
    (void)state;

    a = peer_up(0, "sp-a");
    b = peer_up(1, "sp-b");
    register_ok(b, "live/x", 5000, 100, false);
    register_ok(a, "live/x", 5000, 100, true); /* "sp-a" < "sp-b" */
    assert_true(owned_by("live/x", "sp-a"));
    event(b, LS_SMD_REVOKED, "live/x");
    register_busy(b, "live/x", 5000, 100, true, a);
}

/* A node that lost its session re-announces on a new one: the earlier publisher keeps
 * the id against a newcomer that registered meanwhile. */
static void test_reannounce_after_reconnect(void **state)
{
    struct regpeer *a, *b;
    uint64_t g1, g2, gb;
    (void)state;

    a = peer_up(0, "sp-a");
    b = peer_up(1, "sp-b");
    g1 = register_ok(a, "live/x", 5000, 100, false);
    register_ok(a, "live/y", 5000, 100, false);
    regpeer_close(a);
    WAIT(smd_registry_stream_count(fx.reg) == 0);
    gb = register_ok(b, "live/x", 5000, 150, false);
    a = peer_up(0, "sp-a");
    g2 = register_ok(a, "live/x", 5000, 100, true);
    assert_true(g2 > gb && gb > g1);
    assert_int_equal(event(b, LS_SMD_REVOKED, "live/x").generation, gb);
    register_ok(a, "live/y", 5000, 100, true);
    assert_true(owned_by("live/x", "sp-a"));
    assert_true(owned_by("live/y", "sp-a"));
}

/* ---- unregister ---- */

static void test_unregister_rules(void **state)
{
    struct regpeer *a, *b;
    uint64_t gen;
    (void)state;

    a = peer_up(0, "sp-a");
    b = peer_up(1, "sp-b");
    gen = register_ok(a, "live/x", 5000, 0, false);
    expect_error(b, regpeer_request(b, LS_SMD_UNREGISTER, "live/x", gen), LS_SMD_CODE_STALE);
    expect_error(a, regpeer_request(a, LS_SMD_UNREGISTER, "live/x", gen - 1),
                 LS_SMD_CODE_STALE);
    expect_error(a, regpeer_request(a, LS_SMD_UNREGISTER, "live/x", gen + 1),
                 LS_SMD_CODE_STALE);
    assert_true(owned_by("live/x", "sp-a"));
    expect_ok(a, regpeer_request(a, LS_SMD_UNREGISTER, "live/x", gen));
    assert_true(owned_by("live/x", NULL));
    expect_error(a, regpeer_request(a, LS_SMD_UNREGISTER, "live/x", gen),
                 LS_SMD_CODE_NOT_FOUND);
    assert_int_equal(counters()->unregisters_stale_total, 3);
    assert_int_equal(counters()->unregisters_ok_total, 1);
    assert_int_equal(counters()->unregisters_missing_total, 1);
}

/* A publisher taken over during a partition cannot, when its unregister finally
 * arrives, remove its successor's registration. */
static void test_stale_unregister_after_takeover(void **state)
{
    struct regpeer *a, *b;
    uint64_t g1, g2;
    (void)state;

    a = peer_up(0, "sp-a");
    b = peer_up(1, "sp-b");
    a->probe_mode = REGPEER_NONE;
    g1 = register_ok(a, "live/x", 5000, 0, false);
    g2 = register_ok(b, "live/x", 5000, 0, false);
    event(a, LS_SMD_REVOKED, "live/x");
    expect_error(a, regpeer_request(a, LS_SMD_UNREGISTER, "live/x", g1), LS_SMD_CODE_STALE);
    assert_true(owned_by("live/x", "sp-b"));
    assert_int_equal(entry("live/x").generation, g2);
}

/* ---- sessions: closing, leases, replacement ---- */

static void test_closing_a_session_drops_its_entries(void **state)
{
    struct regpeer *a, *b;
    (void)state;

    a = peer_up(0, "sp-a");
    b = peer_up(1, "sp-b");
    register_ok(a, "live/a1", 5000, 0, false);
    register_ok(a, "live/a2", 5000, 0, false);
    register_ok(b, "live/b", 5000, 0, false);
    regpeer_close(a);
    WAIT(smd_registry_stream_count(fx.reg) == 1);
    assert_int_equal(smd_registry_node_count(fx.reg), 1);
    assert_true(owned_by("live/b", "sp-b"));
    expect_error(b, regpeer_request(b, LS_SMD_LOOKUP, "live/a1", 0), LS_SMD_CODE_NOT_FOUND);
}

static void test_lease_expiry_drops_a_silent_session(void **state)
{
    struct regpeer *quiet, *alive;
    uint64_t end, last_ping = 0;
    (void)state;

    fx.conf.lease_seconds = 2; /* the smallest lease_seconds allows */
    quiet = peer_up(0, "sp-quiet");
    alive = peer_up(1, "sp-alive");
    register_ok(quiet, "live/quiet", 5000, 0, false);
    register_ok(alive, "live/alive", 5000, 0, false);
    /* `alive` pings as spd does (every lease/3 or more often); `quiet` says nothing */
    end = evloop_now_ms() + fx.conf.lease_seconds * 1000 + WAIT_MS;
    while (!quiet->closed && evloop_now_ms() < end) {
        if (evloop_now_ms() - last_ping >= 200) {
            last_ping = evloop_now_ms();
            (void)regpeer_request(alive, LS_SMD_PING, NULL, 0);
        }
        evloop_once(fx.base, 10);
    }
    assert_true(quiet->closed);
    assert_false(alive->closed);
    assert_true(owned_by("live/quiet", NULL));
    assert_true(owned_by("live/alive", "sp-alive"));
    assert_int_equal(smd_registry_node_count(fx.reg), 1);
    assert_int_equal(counters()->lease_expiries_total, 1);
}

/* A second hello of a node replaces its session: entries move with their generations;
 * watches do not (the client re-watches after every hello). */
static void test_second_session_of_a_node_replaces_the_first(void **state)
{
    struct regpeer *a1, *a2;
    uint64_t gen;
    (void)state;

    a1 = peer_up(0, "sp-a");
    gen = register_ok(a1, "live/x", 5000, 0, false);
    expect_ok(a1, regpeer_request(a1, LS_SMD_WATCH, "live/w", 0));
    assert_int_equal(smd_registry_watch_count(fx.reg), 1);
    a2 = peer_up(1, "sp-a");
    WAIT(a1->closed);
    assert_int_equal(smd_registry_node_count(fx.reg), 1);
    assert_int_equal(smd_registry_watch_count(fx.reg), 0);
    assert_true(owned_by("live/x", "sp-a"));
    assert_string_equal(entry("live/x").origin, a2->advertise);
    assert_int_equal(entry("live/x").generation, gen);
    assert_int_equal(counters()->sessions_replaced_total, 1);
    expect_ok(a2, regpeer_request(a2, LS_SMD_UNREGISTER, "live/x", gen));
}

/* ---- lookups and watches ---- */

static void test_watch_notifies_registrations(void **state)
{
    struct regpeer *a, *w;
    struct ls_smd_msg m;
    uint64_t gen;
    (void)state;

    a = peer_up(0, "sp-a");
    w = peer_up(1, "sp-w");
    m = answer(w, regpeer_request(w, LS_SMD_WATCH, "live/x", 0));
    assert_int_equal(m.kind, LS_SMD_RESULT);
    assert_string_equal(m.id, "live/x");
    assert_int_equal(smd_registry_watch_count(fx.reg), 1);
    gen = register_ok(a, "live/x", 5000, 0, false);
    m = event(w, LS_SMD_REGISTERED, "live/x");
    assert_string_equal(m.origin, a->advertise);
    assert_string_equal(m.node_id, "sp-a");
    assert_int_equal(m.generation, gen);
    /* a re-register by the owner is not news */
    register_ok(a, "live/x", 5000, 0, false);
    no_event(w, LS_SMD_REGISTERED, "live/x");
    /* other ids are not reported */
    register_ok(a, "live/other", 5000, 0, false);
    no_event(w, LS_SMD_REGISTERED, "live/other");
    /* watching twice is one watch */
    expect_ok(w, regpeer_request(w, LS_SMD_WATCH, "live/x", 0));
    assert_int_equal(smd_registry_watch_count(fx.reg), 1);
    /* watching an id that is already registered reports it at once */
    (void)event(w, LS_SMD_REGISTERED, "live/x");
    expect_ok(w, regpeer_request(w, LS_SMD_UNWATCH, "live/x", 0));
    assert_int_equal(smd_registry_watch_count(fx.reg), 0);
    expect_ok(a, regpeer_request(a, LS_SMD_UNREGISTER, "live/x", gen));
    register_ok(a, "live/x", 5000, 0, false);
    no_event(w, LS_SMD_REGISTERED, "live/x");
    /* unwatching what is not watched is harmless */
    expect_ok(w, regpeer_request(w, LS_SMD_UNWATCH, "live/never", 0));
    assert_int_equal(counters()->notifications_total, 2);
}

static void test_watches_vanish_with_the_watcher(void **state)
{
    struct regpeer *a, *w1, *w2;
    (void)state;

    a = peer_up(0, "sp-a");
    w1 = peer_up(1, "sp-w1");
    w2 = peer_up(2, "sp-w2");
    expect_ok(w1, regpeer_request(w1, LS_SMD_WATCH, "live/x", 0));
    expect_ok(w1, regpeer_request(w1, LS_SMD_WATCH, "live/y", 0));
    expect_ok(w2, regpeer_request(w2, LS_SMD_WATCH, "live/x", 0));
    assert_int_equal(smd_registry_watch_count(fx.reg), 3);
    regpeer_close(w1);
    WAIT(smd_registry_watch_count(fx.reg) == 1);
    /* the remaining watcher still hears */
    register_ok(a, "live/x", 5000, 0, false);
    event(w2, LS_SMD_REGISTERED, "live/x");
    regpeer_close(w2);
    WAIT(smd_registry_watch_count(fx.reg) == 0);
    /* nobody to tell any more */
    register_ok(a, "live/y", 5000, 0, false);
    assert_int_equal(counters()->notifications_total, 1);
}

/* ---- bounds per session ---- */

static void test_stream_limit_per_session(void **state)
{
    struct regpeer *a, *b;
    struct ls_smd_msg m;
    (void)state;

    fx.conf.max_streams_per_node = 2;
    a = peer_up(0, "sp-a");
    b = peer_up(1, "sp-b");
    register_ok(a, "live/1", 5000, 0, false);
    register_ok(a, "live/2", 5000, 0, false);
    m = answer(a, regpeer_register(a, "live/3", 5000, 0, false));
    assert_int_equal(m.kind, LS_SMD_ERROR);
    assert_string_equal(m.code, LS_SMD_CODE_LIMIT);
    assert_true(owned_by("live/3", NULL));
    /* what it holds can be registered again; the bound is per session */
    register_ok(a, "live/2", 5000, 0, false);
    register_ok(b, "live/3", 5000, 0, false);
    /* a takeover is a new registration too: at its bound, A cannot win B's idle id */
    b->probe_mode = REGPEER_NONE;
    m = answer(a, regpeer_register(a, "live/3", 5000, 0, false));
    assert_int_equal(m.kind, LS_SMD_ERROR);
    assert_string_equal(m.code, LS_SMD_CODE_LIMIT);
    assert_true(owned_by("live/3", "sp-b"));
    no_event(b, LS_SMD_REVOKED, "live/3");
    assert_int_equal(counters()->refusals_limit_total, 2);
    /* room again after an unregister */
    expect_ok(a, regpeer_request(a, LS_SMD_UNREGISTER, "live/1", entry("live/1").generation));
    register_ok(a, "live/4", 5000, 0, false);
}

static void test_watch_limit_per_session(void **state)
{
    struct regpeer *w, *v;
    (void)state;

    fx.conf.max_watches_per_node = 1;
    w = peer_up(0, "sp-w");
    v = peer_up(1, "sp-v");
    expect_ok(w, regpeer_request(w, LS_SMD_WATCH, "live/1", 0));
    expect_error(w, regpeer_request(w, LS_SMD_WATCH, "live/2", 0), LS_SMD_CODE_LIMIT);
    expect_ok(w, regpeer_request(w, LS_SMD_WATCH, "live/1", 0)); /* already held */
    expect_ok(v, regpeer_request(v, LS_SMD_WATCH, "live/2", 0));
    assert_int_equal(smd_registry_watch_count(fx.reg), 2);
    assert_int_equal(counters()->refusals_limit_total, 1);
}

static void test_connection_limit(void **state)
{
    struct regpeer *third;
    (void)state;

    fx.conf.max_connections = 2;
    (void)peer_up(0, "sp-a");
    (void)peer_up(1, "sp-b");
    assert_int_equal(regpeer_open(&fx.peers[2], fx.base, fx.addr, "sp-c", "127.0.0.3:1935"),
                     LS_OK);
    third = &fx.peers[2];
    WAIT(third->closed);
    assert_false(third->ready);
    assert_int_equal(counters()->refused_full_total, 1);
    assert_int_equal(smd_registry_node_count(fx.reg), 2);
}

/* ---- hello ---- */

static void test_nothing_before_hello(void **state)
{
    struct regpeer *p;
    (void)state;

    p = peer_connect(0, "sp-a");
    expect_error(p, regpeer_register(p, "live/x", 5000, 0, false), LS_SMD_CODE_UNAUTHORIZED);
    WAIT(p->closed);
    assert_true(owned_by("live/x", NULL));
    assert_int_equal(counters()->auth_failures_no_hello, 1);
}

static void test_hello_signature_and_clock(void **state)
{
    struct regpeer *p;
    uint64_t now = (uint64_t)ls_unix_time();
    (void)state;

    fx.conf.cluster_secret = secret;
    p = peer_connect(0, "sp-a");
    expect_error(p, regpeer_hello(p, "wrong", now), LS_SMD_CODE_UNAUTHORIZED);
    WAIT(p->closed);
    assert_int_equal(counters()->auth_failures_signature, 1);
    p = peer_connect(1, "sp-a");
    expect_error(p, regpeer_hello(p, secret, now - LS_SMD_MAX_SKEW_S - 60),
                 LS_SMD_CODE_UNAUTHORIZED);
    WAIT(p->closed);
    assert_int_equal(counters()->auth_failures_timestamp, 1);
    assert_int_equal(smd_registry_node_count(fx.reg), 0);
    p = peer_up(2, "sp-a"); /* the right secret, now */
    register_ok(p, "live/x", 5000, 0, false);
    assert_int_equal(counters()->hellos_total, 1);
}

/*
 * A hello is good on the connection whose challenge it signs, to the smd that sent it
 * (defect 12 of issue 10): a valid hello captured on one connection and replayed on
 * another is refused, as is one signed for another smd or made without a challenge (a
 * version-1 spd). Each connection gets its own nonce.
 */
static void test_hello_replay_refused(void **state)
{
    struct regpeer *a, *b, *c, *d;
    char captured[LS_SMD_NONCE_HEX + 1];
    uint64_t now = (uint64_t)ls_unix_time();
    struct ls_smd_msg m;
    (void)state;

    fx.conf.cluster_secret = secret;
    a = peer_up(0, "sp-a");
    snprintf(captured, sizeof captured, "%s", a->nonce);
    b = peer_connect(1, "sp-a");
    assert_string_not_equal(b->nonce, captured);
    /* a's hello, byte for byte (same node, advertise, ts, nonce, signature), on b */
    expect_error(b, regpeer_hello_for(b, secret, now, captured, smd_node),
                 LS_SMD_CODE_UNAUTHORIZED);
    WAIT(b->closed);
    assert_int_equal(counters()->auth_failures_nonce, 1);
    /* a's session is untouched: the replay did not replace it */
    assert_false(a->closed);
    assert_int_equal(smd_registry_node_count(fx.reg), 1);
    barrier(a);
    /* signed for another smd, with this connection's nonce */
    c = peer_connect(2, "sp-c");
    expect_error(c, regpeer_hello_for(c, secret, now, c->nonce, "smd-other"),
                 LS_SMD_CODE_UNAUTHORIZED);
    WAIT(c->closed);
    assert_int_equal(counters()->auth_failures_signature, 1);
    /* no nonce at all (what a version-1 spd sends) */
    d = peer_connect(3, "sp-d");
    m = answer(d, regpeer_hello_for(d, secret, now, "", ""));
    assert_int_equal(m.kind, LS_SMD_ERROR);
    assert_string_equal(m.code, LS_SMD_CODE_UNAUTHORIZED);
    assert_string_equal(m.description, "no nonce (protocol version 1?)");
    WAIT(d->closed);
    assert_int_equal(counters()->auth_failures_nonce, 2);
    assert_int_equal(counters()->hellos_total, 1);
}

static void test_unknown_command_is_unsupported(void **state)
{
    struct regpeer *p;
    struct ls_amf_value obj = amf_container(LS_AMF_OBJECT, NULL);
    struct ls_smd_msg m;
    struct ls_buf b;
    (void)state;

    p = peer_up(0, "sp-a");
    /* a newer spd's command: answered Unsupported, the session stays */
    ls_buf_init(&b, 0);
    assert_int_equal(ls_command_build_call(&b, "frobnicate", 77, &obj, 1), LS_OK);
    assert_int_equal(regpeer_send_raw(p, b.data, b.len), LS_OK);
    ls_buf_free(&b);
    ls_amf_clear(&obj);
    m = answer(p, 77);
    assert_int_equal(m.kind, LS_SMD_ERROR);
    assert_string_equal(m.code, LS_SMD_CODE_UNSUPPORTED);
    barrier(p);
    assert_false(p->closed);
}

static void test_smd_messages_from_spd_close_the_session(void **state)
{
    struct regpeer *p;
    struct ls_smd_msg m;
    (void)state;

    p = peer_up(0, "sp-a");
    register_ok(p, "live/x", 5000, 0, false);
    ls_smd_msg_init(&m, LS_SMD_PROBE, 0); /* smd-to-spd only */
    ls_smd_set_str(&m, LS_SMD_F_ID, "live/x");
    assert_int_not_equal(regpeer_send(p, &m), 0);
    WAIT(p->closed);
    assert_int_equal(counters()->protocol_errors_total, 1);
    assert_true(owned_by("live/x", NULL));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
        T(test_register_and_lookup),
        T(test_register_without_since_uses_now),
        T(test_same_node_again_keeps_generation),
        T(test_generations_grow),
        T(test_generations_grow_across_a_restart),
        T(test_busy_while_the_owner_publishes),
        T(test_idle_owner_loses),
        T(test_takeover_idle_ms_boundary),
        T(test_takeover_idle_ms_zero_takes_anything),
        T(test_owner_without_publisher_loses),
        T(test_unanswered_probe_is_busy),
        T(test_owner_leaving_during_probe),
        T(test_claimant_leaving_during_probe),
        T(test_decision_retaken_when_the_entry_changed),
        T(test_decision_retaken_at_most_three_times),
        T(test_reannounce_earlier_publisher_wins),
        T(test_reannounce_tie_goes_to_the_smaller_node_id),
        T(test_reannounce_after_reconnect),
        T(test_unregister_rules),
        T(test_stale_unregister_after_takeover),
        T(test_closing_a_session_drops_its_entries),
        T(test_lease_expiry_drops_a_silent_session),
        T(test_second_session_of_a_node_replaces_the_first),
        T(test_watch_notifies_registrations),
        T(test_watches_vanish_with_the_watcher),
        T(test_stream_limit_per_session),
        T(test_watch_limit_per_session),
        T(test_connection_limit),
        T(test_nothing_before_hello),
        T(test_hello_signature_and_clock),
        T(test_hello_replay_refused),
        T(test_unknown_command_is_unsupported),
        T(test_smd_messages_from_spd_close_the_session),
#undef T
    };

    return cmocka_run_group_tests_name("smd registry", tests, NULL, NULL);
}
