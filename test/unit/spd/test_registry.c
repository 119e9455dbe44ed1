/*
 * Unit tests for spd's registry client (spd/registry.c) against real smd registries
 * (smd/registry.c), all in this process on one event loop over loopback: the claim rules
 * of docs/protocol.md "The spd side" and "Several smd, and settling conflicts".
 *
 * The rule under test: a claim is granted when every *reachable* smd grants it; any Busy
 * refuses it (LS_EBUSY), else any other refusal fails it (LS_ELIMIT); the smds that had
 * granted it are then sent unregister. Unreachable smds are skipped; with none reachable
 * the claim is granted locally (standalone) and announced when an smd comes back.
 *
 * Other nodes are either a second spd client or a scripted peer (test/support/regpeer.h)
 * speaking the protocol directly. Waits are bounded and wait for outcomes. "Nothing more
 * happened" is shown with a lookup of an unknown id: its answer needs every live smd's
 * NotFound, which each sends after everything it sent that spd before.
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

#include "libstream/buf.h"
#include "libstream/clock.h"
#include "libstream/err.h"
#include "libstream/log.h"
#include "libstream/resolver.h"
#include "libstream/smdproto.h"
#include "registry.h"
#include "smd.h"
#include "support/evloop.h"
#include "support/fakedns.h"
#include "support/regpeer.h"
#include "support/smdconf.h"

#define WAIT_MS 5000u       /* a bound for answers on loopback */
#define RECONNECT_MS 15000u /* a bound for a link's back-off (0.5 s doubling to 5 s) */
#define NSMD 3
#define NSPD 3


/* One in-process smd. */
struct smd_inst {
    struct smd_conf conf;
    struct smd_registry *reg;
    char addr[LS_ADDR_STRLEN];
};

/* One in-process spd registry client with its hooks' state. */
struct spd_inst {
    struct spd_registry *reg;
    char node_id[LS_SMD_NODE_ID_MAX + 1];
    char advertise[LS_ADDR_STRLEN];
    struct ls_addr_list smds;
    struct ls_addr smd_v[NSMD + 1];
    int idle_rc;                 /* publisher_idle: LS_OK (with idle_ms) or LS_ENOTFOUND */
    uint64_t idle_ms;
    unsigned probes;
    unsigned revoked;
    char revoked_id[LS_STREAM_ID_MAX + 1];
    unsigned registered;
    char reg_id[LS_STREAM_ID_MAX + 1];
    char reg_origin[LS_ADDR_STRLEN];
    char reg_node[LS_SMD_NODE_ID_MAX + 1];
};

struct claim_res {
    bool done;
    int result;
    char why[256];
};

struct lookup_res {
    bool done;
    int result;
    char origin[LS_ADDR_STRLEN];
    char node_id[LS_SMD_NODE_ID_MAX + 1];
};

static struct {
    struct event_base *base;
    struct smd_inst smd[NSMD];
    struct spd_inst spd[NSPD];
    struct regpeer peer;
    uint16_t dead_port;          /* nobody listens there (until a test starts an smd) */
} fx;

#define WAIT_FOR(cond, ms)                           \
    do {                                             \
        EVLOOP_WAIT(fx.base, cond, ms);              \
        assert_true(cond);                           \
    } while (0)
#define WAIT(cond) WAIT_FOR(cond, WAIT_MS)

/* ---- smds ---- */

static void smd_start_on(size_t i, uint16_t port)
{
    struct smd_inst *s = &fx.smd[i];
    struct smd_conf *c = &s->conf;

    smdconf_for_test(c, port, LS_LOG_NOTICE);
    snprintf(s->addr, sizeof s->addr, "127.0.0.1:%u", (unsigned)port);
    s->reg = smd_registry_new(fx.base, c);
    assert_non_null(s->reg);
}

static void smd_start(size_t i)
{
    uint16_t port = evloop_free_port("127.0.0.1");

    assert_int_not_equal(port, 0);
    smd_start_on(i, port);
}

/* Stops smd `i` and starts a fresh one (empty) on the same port. */
static void smd_restart(size_t i)
{
    uint16_t port = fx.smd[i].conf.listen.port;

    smd_registry_free(fx.smd[i].reg);
    fx.smd[i].reg = NULL;
    smd_start_on(i, port);
}

struct found {
    const char *want;
    bool found;
    char node_id[LS_SMD_NODE_ID_MAX + 1];
    char origin[LS_ADDR_STRLEN];
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
    f->since = e->since;
}

static struct found entry(size_t smd, const char *id)
{
    struct found f;

    memset(&f, 0, sizeof f);
    f.want = id;
    assert_int_equal(smd_registry_foreach_entry(fx.smd[smd].reg, find_cb, &f), LS_OK);
    return f;
}

/* smd `smd` holds `id` for `node` (NULL: does not hold it). */
static bool owned_by(size_t smd, const char *id, const char *node)
{
    struct found f = entry(smd, id);

    return node == NULL ? !f.found : f.found && strcmp(f.node_id, node) == 0;
}

/* ---- spds ---- */

static int hook_idle(void *arg, const char *id, uint64_t *idle_ms)
{
    struct spd_inst *p = arg;

    (void)id;
    p->probes++;
    *idle_ms = p->idle_ms;
    return p->idle_rc;
}

static void hook_revoked(void *arg, const char *id)
{
    struct spd_inst *p = arg;

    p->revoked++;
    snprintf(p->revoked_id, sizeof p->revoked_id, "%s", id);
}

static void hook_registered(void *arg, const char *id, const char *origin, const char *node)
{
    struct spd_inst *p = arg;

    p->registered++;
    snprintf(p->reg_id, sizeof p->reg_id, "%s", id);
    snprintf(p->reg_origin, sizeof p->reg_origin, "%s", origin);
    snprintf(p->reg_node, sizeof p->reg_node, "%s", node);
}

/* The smd list: indices into fx.smd, and -1 for the dead port; ends at -2. */
static void spd_set_smds(struct spd_inst *p, const int *smds)
{
    size_t n = 0;

    for (; *smds != -2; smds++) {
        struct ls_addr *a = &p->smd_v[n++];

        snprintf(a->host, sizeof a->host, "127.0.0.1");
        a->port = *smds == -1 ? fx.dead_port : fx.smd[*smds].conf.listen.port;
    }
    p->smds.v = n > 0 ? p->smd_v : NULL;
    p->smds.n = n;
}

static struct spd_registry_config spd_config(struct spd_inst *p)
{
    struct spd_registry_config cfg = {
        .node_id = p->node_id,
        .advertise = p->advertise,
        .secret = "",
        .smds = &p->smds,
        .takeover_idle_ms = 5000,
    };

    return cfg;
}

static struct spd_inst *spd_start(size_t i, const char *node, const int *smds)
{
    struct spd_inst *p = &fx.spd[i];
    struct spd_registry_hooks hooks = {
        .publisher_idle = hook_idle,
        .revoked = hook_revoked,
        .registered = hook_registered,
        .arg = p,
    };
    struct spd_registry_config cfg;

    memset(p, 0, sizeof *p);
    snprintf(p->node_id, sizeof p->node_id, "%s", node);
    snprintf(p->advertise, sizeof p->advertise, "127.0.1.%zu:1935", i + 1);
    p->idle_rc = LS_OK; /* a publisher that is sending right now */
    spd_set_smds(p, smds);
    cfg = spd_config(p);
    p->reg = spd_registry_new(fx.base, &cfg, &hooks);
    assert_non_null(p->reg);
    return p;
}

/* Starts an spd and waits until it has a session with each of its `up` smds. */
static struct spd_inst *spd_up(size_t i, const char *node, const int *smds, size_t up)
{
    struct spd_inst *p = spd_start(i, node, smds);

    WAIT(spd_registry_up_count(p->reg) == up);
    return p;
}

static void claim_cb(void *arg, int result, const char *why)
{
    struct claim_res *r = arg;

    assert_false(r->done); /* exactly once */
    r->done = true;
    r->result = result;
    snprintf(r->why, sizeof r->why, "%s", why != NULL ? why : "");
}

/* A claim for local publisher `owner`, answered. */
static struct claim_res claim_as(struct spd_inst *p, const char *id, int64_t since,
                                 uint64_t owner)
{
    struct claim_res r;

    memset(&r, 0, sizeof r);
    assert_non_null(spd_registry_claim(p->reg, id, since, owner, claim_cb, &r));
    /* the answer never comes from inside the call */
    assert_false(r.done);
    WAIT(r.done);
    return r;
}

static struct claim_res claim(struct spd_inst *p, const char *id, int64_t since)
{
    struct claim_res r;

    memset(&r, 0, sizeof r);
    assert_non_null(spd_registry_claim(p->reg, id, since, 1, claim_cb, &r));
    /* the answer never comes from inside the call */
    assert_false(r.done);
    WAIT(r.done);
    return r;
}

static void lookup_cb(void *arg, int result, const char *origin, const char *node_id)
{
    struct lookup_res *r = arg;

    assert_false(r->done);
    r->done = true;
    r->result = result;
    snprintf(r->origin, sizeof r->origin, "%s", origin != NULL ? origin : "");
    snprintf(r->node_id, sizeof r->node_id, "%s", node_id != NULL ? node_id : "");
}

static struct lookup_res lookup(struct spd_inst *p, const char *id)
{
    struct lookup_res r;

    memset(&r, 0, sizeof r);
    assert_non_null(spd_registry_lookup(p->reg, id, lookup_cb, &r));
    assert_false(r.done);
    WAIT(r.done);
    return r;
}

/* Everything the smds sent `p` before now has been handled (see the top of the file). */
static void barrier(struct spd_inst *p)
{
    assert_int_equal(lookup(p, "barrier/none").result, LS_ENOTFOUND);
}

/* One sample of the client's /metrics text; -1 when absent. */
static long long metric(const struct spd_inst *p, const char *sample)
{
    struct ls_buf b;
    char key[160];
    const char *at;
    long long v = -1;

    ls_buf_init(&b, 0);
    spd_registry_metrics(&b, p->reg);
    ls_buf_append(&b, "", 1);
    assert_int_equal(ls_buf_status(&b), LS_OK);
    snprintf(key, sizeof key, "\n%s ", sample);
    at = strstr((const char *)b.data, key);
    if (at != NULL)
        v = strtoll(at + strlen(key), NULL, 10);
    ls_buf_free(&b);
    return v;
}

/* ---- fixture ---- */

static int setup(void **state)
{
    (void)state;
    memset(&fx, 0, sizeof fx);
    ls_log_set_level(LS_LOG_NOTICE);
    fx.base = event_base_new();
    fx.dead_port = evloop_free_port("127.0.0.1");
    return fx.base != NULL && fx.dead_port != 0 ? 0 : -1;
}

static int teardown(void **state)
{
    size_t i;

    (void)state;
    regpeer_close(&fx.peer);
    for (i = 0; i < NSPD; i++)
        spd_registry_free(fx.spd[i].reg);
    for (i = 0; i < NSMD; i++)
        smd_registry_free(fx.smd[i].reg);
    event_base_free(fx.base);
    return 0;
}

/* A scripted node "sp-x" on smd `i`, authenticated. */
static struct regpeer *peer_up(size_t i)
{
    struct regpeer *x = &fx.peer;
    uint32_t txid;

    assert_int_equal(regpeer_open(x, fx.base, fx.smd[i].addr, "sp-x", "127.0.2.1:1935"),
                     LS_OK);
    WAIT(x->ready || x->closed);
    txid = regpeer_hello(x, "", (uint64_t)ls_unix_time());
    WAIT(regpeer_has(x, LS_SMD_RESULT, txid, NULL));
    assert_true(regpeer_take(x, LS_SMD_RESULT, txid, NULL, NULL));
    return x;
}

static uint64_t peer_register(struct regpeer *x, const char *id, uint64_t since)
{
    struct ls_smd_msg m;
    uint32_t txid = regpeer_register(x, id, 5000, since, false);

    WAIT(regpeer_has(x, LS_SMD_UNKNOWN, txid, NULL));
    assert_true(regpeer_take(x, LS_SMD_UNKNOWN, txid, NULL, &m));
    assert_int_equal(m.kind, LS_SMD_RESULT);
    return m.generation;
}

static const int SMD0[] = { 0, -2 };
static const int SMD01[] = { 0, 1, -2 };
static const int SMD012[] = { 0, 1, 2, -2 };

/* ---- claims ---- */

static void test_claim_granted_by_every_smd(void **state)
{
    struct spd_inst *a;
    struct claim_res r;
    struct found f;
    size_t i;
    (void)state;

    for (i = 0; i < 3; i++)
        smd_start(i);
    a = spd_up(0, "sp-a", SMD012, 3);
    r = claim(a, "live/a", 1700000000);
    assert_int_equal(r.result, LS_OK);
    for (i = 0; i < 3; i++) {
        f = entry(i, "live/a");
        assert_true(f.found);
        assert_string_equal(f.node_id, "sp-a");
        assert_string_equal(f.origin, a->advertise);
        assert_int_equal(f.since, 1700000000);
    }
    assert_int_equal(metric(a, "livecluster_registry_claims_total{result=\"ok\"}"), 1);
    /* claiming what this node holds (a local takeover) keeps the registration */
    r = claim(a, "live/a", 1700000001);
    assert_int_equal(r.result, LS_OK);
    assert_int_equal(a->revoked, 0);
    for (i = 0; i < 3; i++)
        assert_true(owned_by(i, "live/a", "sp-a"));
}

static void test_busy_on_one_smd_refuses_and_unregisters_the_rest(void **state)
{
    struct spd_inst *a;
    struct regpeer *x;
    struct claim_res r;
    size_t i;
    (void)state;

    for (i = 0; i < 3; i++)
        smd_start(i);
    /* another node holds the id on smd 1 only, and publishes */
    x = peer_up(1);
    x->probe_idle_ms = 0;
    peer_register(x, "live/q", 0);
    a = spd_up(0, "sp-a", SMD012, 3);
    r = claim(a, "live/q", 0);
    assert_int_equal(r.result, LS_EBUSY);
    assert_non_null(strstr(r.why, "sp-x"));
    assert_true(regpeer_has(x, LS_SMD_PROBE, 0, "live/q"));
    /* the smds that granted it are told to forget it */
    WAIT(owned_by(0, "live/q", NULL) && owned_by(2, "live/q", NULL));
    assert_true(owned_by(1, "live/q", "sp-x"));
    assert_int_equal(metric(a, "livecluster_registry_claims_total{result=\"busy\"}"), 1);
    assert_int_equal(a->revoked, 0);
}

static void test_a_bound_on_one_smd_fails_the_claim(void **state)
{
    struct spd_inst *a;
    struct claim_res r;
    (void)state;

    smd_start(0);
    smd_start(1);
    fx.smd[0].conf.max_streams_per_node = 1;
    a = spd_up(0, "sp-a", SMD01, 2);
    assert_int_equal(claim(a, "live/1", 0).result, LS_OK);
    r = claim(a, "live/2", 0);
    assert_int_equal(r.result, LS_ELIMIT);
    assert_non_null(strstr(r.why, LS_SMD_CODE_LIMIT));
    WAIT(owned_by(1, "live/2", NULL));
    assert_true(owned_by(0, "live/2", NULL));
    assert_true(owned_by(0, "live/1", "sp-a") && owned_by(1, "live/1", "sp-a"));
    assert_int_equal(metric(a, "livecluster_registry_claims_total{result=\"failed\"}"), 1);
}

static void test_unreachable_smd_is_skipped(void **state)
{
    static const int smds[] = { 0, -1, -2 };
    struct spd_inst *a;
    (void)state;

    smd_start(0);
    a = spd_up(0, "sp-a", smds, 1);
    assert_int_equal(claim(a, "live/a", 0).result, LS_OK);
    assert_true(owned_by(0, "live/a", "sp-a"));
    assert_int_equal(metric(a, "livecluster_registry_claims_total{result=\"ok\"}"), 1);
}

/* No smd reachable: granted locally; announced once an smd comes (back). */
static void test_standalone_then_announced(void **state)
{
    static const int dead[] = { -1, -2 };
    struct spd_inst *a;
    struct claim_res r;
    (void)state;

    a = spd_start(0, "sp-a", dead);
    r = claim(a, "live/a", 100);
    assert_int_equal(r.result, LS_OK);
    assert_string_equal(r.why, "no smd reachable");
    assert_int_equal(metric(a, "livecluster_registry_claims_total{result=\"standalone\"}"),
                     1);
    smd_start_on(0, fx.dead_port);
    WAIT_FOR(owned_by(0, "live/a", "sp-a"), RECONNECT_MS);
    assert_int_equal(entry(0, "live/a").since, 100);
}

static void test_claim_arguments_and_overlap(void **state)
{
    struct spd_inst *a;
    struct claim_res r1, r2, bad;
    (void)state;

    smd_start(0);
    a = spd_up(0, "sp-a", SMD0, 1);
    memset(&bad, 0, sizeof bad);
    assert_non_null(spd_registry_claim(a->reg, "no-slash", 0, 1, claim_cb, &bad));
    WAIT(bad.done);
    assert_int_equal(bad.result, LS_EINVAL);
    /* a second claim of an id whose claim is still out */
    memset(&r1, 0, sizeof r1);
    memset(&r2, 0, sizeof r2);
    assert_non_null(spd_registry_claim(a->reg, "live/a", 0, 1, claim_cb, &r1));
    assert_non_null(spd_registry_claim(a->reg, "live/a", 0, 1, claim_cb, &r2));
    WAIT(r1.done && r2.done);
    assert_int_equal(r1.result, LS_OK);
    assert_int_equal(r2.result, LS_ESTATE);
    assert_true(owned_by(0, "live/a", "sp-a"));
}

static void test_cancelled_claim_is_released(void **state)
{
    struct spd_inst *a;
    struct claim_res r;
    struct spd_claim *c;
    (void)state;

    smd_start(0);
    smd_start(1);
    a = spd_up(0, "sp-a", SMD01, 2);
    memset(&r, 0, sizeof r);
    c = spd_registry_claim(a->reg, "live/c", 0, 1, claim_cb, &r);
    assert_non_null(c);
    spd_registry_claim_cancel(c);
    barrier(a);
    /* whatever the smds granted meanwhile is taken back; the callback never runs */
    WAIT(owned_by(0, "live/c", NULL) && owned_by(1, "live/c", NULL));
    barrier(a);
    assert_false(r.done);
    assert_true(owned_by(0, "live/c", NULL) && owned_by(1, "live/c", NULL));
}

static void test_release(void **state)
{
    struct spd_inst *a;
    (void)state;

    smd_start(0);
    smd_start(1);
    a = spd_up(0, "sp-a", SMD01, 2);
    assert_int_equal(claim(a, "live/a", 0).result, LS_OK);
    assert_int_equal(claim(a, "live/b", 0).result, LS_OK);
    spd_registry_release(a->reg, "live/a", 1);
    spd_registry_release(a->reg, "live/never", 1); /* not claimed: nothing happens */
    WAIT(owned_by(0, "live/a", NULL) && owned_by(1, "live/a", NULL));
    assert_true(owned_by(0, "live/b", "sp-a") && owned_by(1, "live/b", "sp-a"));
    /* released ids are not re-announced after a reconnect */
    smd_restart(0);
    WAIT_FOR(owned_by(0, "live/b", "sp-a"), RECONNECT_MS);
    barrier(a);
    assert_true(owned_by(0, "live/a", NULL));
}

/*
 * A local takeover (defect 5 of issue 10): publisher 1 of live/t goes idle, publisher 2 of
 * the same id on the same spd claims it and takes over, and the kick of publisher 1 then
 * releases the id — which used to unregister the record publisher 2 had just reused, so
 * smd listed nothing and another spd could take a second publisher. Now the registration
 * stays with publisher 2, another node is refused, and publisher 2's end releases it.
 */
static void test_local_takeover_keeps_the_registration(void **state)
{
    struct spd_inst *a, *b;
    struct claim_res r;
    (void)state;

    smd_start(0);
    smd_start(1);
    a = spd_up(0, "sp-a", SMD01, 2);
    b = spd_up(1, "sp-b", SMD01, 2);
    assert_int_equal(claim_as(a, "live/t", 100, 1).result, LS_OK);
    assert_int_equal(claim_as(a, "live/t", 200, 2).result, LS_OK); /* the takeover */
    spd_registry_release(a->reg, "live/t", 1);                     /* the kick of 1 */
    barrier(a);
    assert_true(owned_by(0, "live/t", "sp-a") && owned_by(1, "live/t", "sp-a"));
    /* one owner in the cluster: publisher 2 is live on sp-a, so sp-b is refused */
    a->idle_rc = LS_OK;
    a->idle_ms = 0;
    r = claim_as(b, "live/t", 300, 7);
    assert_int_equal(r.result, LS_EBUSY);
    assert_true(owned_by(0, "live/t", "sp-a") && owned_by(1, "live/t", "sp-a"));
    /* publisher 1 ending again changes nothing; publisher 2's end releases the id */
    spd_registry_release(a->reg, "live/t", 1);
    barrier(a);
    assert_true(owned_by(0, "live/t", "sp-a"));
    spd_registry_release(a->reg, "live/t", 2);
    WAIT(owned_by(0, "live/t", NULL) && owned_by(1, "live/t", NULL));
}

/*
 * A local takeover that does not happen leaves the registration with the publisher it was
 * claimed from: the new publisher leaves while its claim is out (cancel). And when the
 * old publisher ends while the claim is out, the claim still ends with the new one owning
 * the id.
 */
static void test_local_takeover_that_does_not_happen(void **state)
{
    struct spd_inst *a;
    struct claim_res r;
    struct spd_claim *c;
    (void)state;

    smd_start(0);
    a = spd_up(0, "sp-a", SMD0, 1);
    assert_int_equal(claim_as(a, "live/t", 100, 1).result, LS_OK);
    /* cancelled while out */
    memset(&r, 0, sizeof r);
    c = spd_registry_claim(a->reg, "live/t", 200, 2, claim_cb, &r);
    assert_non_null(c);
    spd_registry_claim_cancel(c);
    barrier(a);
    assert_false(r.done);
    assert_true(owned_by(0, "live/t", "sp-a"));
    spd_registry_release(a->reg, "live/t", 2); /* not its owner: nothing */
    barrier(a);
    assert_true(owned_by(0, "live/t", "sp-a"));
    /* it is still publisher 1's to release */
    spd_registry_release(a->reg, "live/t", 1);
    WAIT(owned_by(0, "live/t", NULL));
    /* the old publisher leaves while the new one's claim is out */
    assert_int_equal(claim_as(a, "live/u", 100, 1).result, LS_OK);
    memset(&r, 0, sizeof r);
    assert_non_null(spd_registry_claim(a->reg, "live/u", 200, 2, claim_cb, &r));
    spd_registry_release(a->reg, "live/u", 1);
    WAIT(r.done);
    assert_int_equal(r.result, LS_OK);
    barrier(a);
    assert_true(owned_by(0, "live/u", "sp-a"));
    spd_registry_release(a->reg, "live/u", 2);
    WAIT(owned_by(0, "live/u", NULL));
}

/*
 * source_managers given as names are looked up on the loop (defect 11 of issue 10): the
 * registry client reaches an smd named "smd.test" through the resolver, and an smd whose
 * name gets no DNS answer costs nothing — the client keeps working with the other smd
 * (claims go through; the silent name is retried with back-off, never blocking).
 */
static void test_smd_names_resolved_on_the_loop(void **state)
{
    struct fakedns good, mute;
    struct ls_addr ns[2];
    struct ls_addr_list good_list = { &ns[0], 1 }, mute_list = { &ns[1], 1 };
    struct ls_resolver_config rc;
    struct ls_resolver *r_good, *r_mute;
    struct spd_registry_hooks hooks = {
        .publisher_idle = hook_idle,
        .revoked = hook_revoked,
        .registered = hook_registered,
    };
    struct spd_registry_config cfg;
    struct spd_inst *a, *b;
    struct ls_addr smd_addrs[2];
    struct ls_addr_list smds = { smd_addrs, 2 };
    (void)state;

    smd_start(0);
    assert_int_equal(fakedns_start(&good, fx.base, false), 0);
    assert_int_equal(fakedns_start(&mute, fx.base, true), 0);
    assert_int_equal(fakedns_add(&good, "smd.test", "127.0.0.1"), 0);
    assert_int_equal(ls_addr_parse(good.addr, false, &ns[0]), LS_OK);
    assert_int_equal(ls_addr_parse(mute.addr, false, &ns[1]), LS_OK);
    ls_resolver_config_defaults(&rc);
    rc.timeout_ms = 500;
    rc.servers = &good_list;
    r_good = ls_resolver_new(fx.base, &rc);
    rc.servers = &mute_list;
    r_mute = ls_resolver_new(fx.base, &rc);
    assert_non_null(r_good);
    assert_non_null(r_mute);

    /* "smd.test:PORT" through a nameserver that answers */
    a = &fx.spd[0];
    memset(a, 0, sizeof *a);
    snprintf(a->node_id, sizeof a->node_id, "sp-a");
    snprintf(a->advertise, sizeof a->advertise, "127.0.1.1:1935");
    snprintf(smd_addrs[0].host, sizeof smd_addrs[0].host, "smd.test");
    smd_addrs[0].port = fx.smd[0].conf.listen.port;
    smds.n = 1;
    a->idle_rc = LS_OK; /* a publisher that is sending right now */
    cfg = spd_config(a);
    cfg.smds = &smds;
    cfg.resolver = r_good;
    hooks.arg = a;
    a->reg = spd_registry_new(fx.base, &cfg, &hooks);
    assert_non_null(a->reg);
    WAIT(spd_registry_up_count(a->reg) == 1);
    assert_int_equal(claim(a, "live/n", 0).result, LS_OK);
    assert_true(owned_by(0, "live/n", "sp-a"));

    /* the same smd by its address plus one whose name never gets an answer */
    b = &fx.spd[1];
    memset(b, 0, sizeof *b);
    snprintf(b->node_id, sizeof b->node_id, "sp-b");
    snprintf(b->advertise, sizeof b->advertise, "127.0.1.2:1935");
    snprintf(smd_addrs[0].host, sizeof smd_addrs[0].host, "silent.test");
    smd_addrs[0].port = 1;
    snprintf(smd_addrs[1].host, sizeof smd_addrs[1].host, "127.0.0.1");
    smd_addrs[1].port = fx.smd[0].conf.listen.port;
    smds.n = 2;
    b->idle_rc = LS_OK;
    cfg = spd_config(b);
    cfg.smds = &smds;
    cfg.resolver = r_mute;
    hooks.arg = b;
    b->reg = spd_registry_new(fx.base, &cfg, &hooks);
    assert_non_null(b->reg);
    WAIT(spd_registry_up_count(b->reg) == 1);
    assert_true(mute.queries >= 1);
    assert_int_equal(claim(b, "live/m", 0).result, LS_OK);
    assert_true(owned_by(0, "live/m", "sp-b"));
    assert_int_equal(claim(b, "live/n", 0).result, LS_EBUSY);

    spd_registry_free(a->reg);
    spd_registry_free(b->reg);
    a->reg = b->reg = NULL;
    ls_resolver_shutdown(r_good);
    ls_resolver_shutdown(r_mute);
    EVLOOP_WAIT(fx.base, ls_resolver_pending(r_mute) == 0 && ls_resolver_pending(r_good) == 0,
                WAIT_MS);
    ls_resolver_free(r_good);
    ls_resolver_free(r_mute);
    fakedns_stop(&good);
    fakedns_stop(&mute);
}

/* Freeing the client says goodbye: every held id is unregistered at once. */
static void test_free_unregisters(void **state)
{
    struct spd_inst *a;
    (void)state;

    smd_start(0);
    a = spd_up(0, "sp-a", SMD0, 1);
    assert_int_equal(claim(a, "live/a", 0).result, LS_OK);
    spd_registry_free(a->reg);
    a->reg = NULL;
    WAIT(smd_registry_stream_count(fx.smd[0].reg) == 0 &&
         smd_registry_node_count(fx.smd[0].reg) == 0);
}

/* ---- two nodes: probes, takeover, revocation ---- */

static void test_takeover_between_two_spds(void **state)
{
    struct spd_inst *a, *b;
    struct claim_res r;
    (void)state;

    smd_start(0);
    smd_start(1);
    a = spd_up(0, "sp-a", SMD01, 2);
    b = spd_up(1, "sp-b", SMD01, 2);
    assert_int_equal(claim(a, "live/x", 0).result, LS_OK);
    /* A's publisher is sending: B is refused, A keeps it everywhere */
    a->idle_ms = 10;
    r = claim(b, "live/x", 0);
    assert_int_equal(r.result, LS_EBUSY);
    assert_non_null(strstr(r.why, "sp-a"));
    assert_true(a->probes >= 1);
    assert_true(owned_by(0, "live/x", "sp-a") && owned_by(1, "live/x", "sp-a"));
    barrier(a);
    assert_int_equal(a->revoked, 0);
    /* A's publisher went quiet for longer than B's takeover_idle_ms: B wins */
    a->idle_ms = 60000;
    r = claim(b, "live/x", 0);
    assert_int_equal(r.result, LS_OK);
    assert_true(owned_by(0, "live/x", "sp-b") && owned_by(1, "live/x", "sp-b"));
    WAIT(a->revoked == 1);
    assert_string_equal(a->revoked_id, "live/x");
    barrier(a);
    assert_int_equal(a->revoked, 1); /* once, although both smds revoked it */
    assert_int_equal(metric(a, "livecluster_registry_revocations_total"), 1);
    assert_int_equal(b->revoked, 0);
}

/* An spd without a publisher_idle hook answers probes "no publisher". */
static void test_no_idle_hook_means_no_publisher(void **state)
{
    struct spd_registry_config cfg;
    struct spd_inst *a, *b;
    (void)state;

    smd_start(0);
    a = &fx.spd[0];
    memset(a, 0, sizeof *a);
    snprintf(a->node_id, sizeof a->node_id, "sp-a");
    snprintf(a->advertise, sizeof a->advertise, "127.0.1.1:1935");
    spd_set_smds(a, SMD0);
    cfg = spd_config(a);
    a->reg = spd_registry_new(fx.base, &cfg, NULL);
    assert_non_null(a->reg);
    WAIT(spd_registry_up_count(a->reg) == 1);
    b = spd_up(1, "sp-b", SMD0, 1);
    assert_int_equal(claim(a, "live/x", 0).result, LS_OK);
    assert_int_equal(claim(b, "live/x", 0).result, LS_OK);
    assert_true(owned_by(0, "live/x", "sp-b"));
}

/* One smd gives our id to another node: the local publisher is dropped (the revoked
 * hook) and the id is unregistered from the other smds. */
static void test_revoked_on_one_smd_releases_everywhere(void **state)
{
    struct spd_inst *a;
    struct regpeer *x;
    (void)state;

    smd_start(0);
    smd_start(1);
    a = spd_up(0, "sp-a", SMD01, 2);
    assert_int_equal(claim(a, "live/x", 0).result, LS_OK);
    x = peer_up(0);
    a->idle_ms = 60000;
    peer_register(x, "live/x", 0);
    assert_true(owned_by(0, "live/x", "sp-x"));
    WAIT(a->revoked == 1);
    assert_string_equal(a->revoked_id, "live/x");
    WAIT(owned_by(1, "live/x", NULL));
}

/* ---- revocations, against an smd played by hand ---- */

/* Takes the next request of `kind` the spd sent the hand-played smd. */
static struct ls_smd_msg fake_take(struct regpeer *f, enum ls_smd_kind kind)
{
    struct ls_smd_msg m;

    WAIT(regpeer_has(f, kind, 0, NULL));
    assert_true(regpeer_take(f, kind, 0, NULL, &m));
    return m;
}

static void fake_reply(struct regpeer *f, struct ls_smd_msg *m)
{
    assert_int_equal(regpeer_send(f, m), m->txid);
}

/* The spd handled everything the hand-played smd sent before: a lookup answered NotFound. */
static void fake_barrier(struct spd_inst *p, struct regpeer *f)
{
    struct lookup_res r;
    struct ls_smd_msg q, a;

    memset(&r, 0, sizeof r);
    assert_non_null(spd_registry_lookup(p->reg, "barrier/none", lookup_cb, &r));
    q = fake_take(f, LS_SMD_LOOKUP);
    ls_smd_msg_init(&a, LS_SMD_ERROR, q.txid);
    ls_smd_set_str(&a, LS_SMD_F_CODE, LS_SMD_CODE_NOT_FOUND);
    fake_reply(f, &a);
    WAIT(r.done);
    assert_int_equal(r.result, LS_ENOTFOUND);
}

/* A revoked counts only with the generation that smd gave this spd. */
static void test_revoked_needs_the_current_generation(void **state)
{
    static const int dead[] = { -1, -2 };
    struct regpeer *f = &fx.peer;
    struct spd_inst *a;
    struct claim_res r;
    struct ls_smd_msg q, m;
    char addr[LS_ADDR_STRLEN];
    (void)state;

    snprintf(addr, sizeof addr, "127.0.0.1:%u", (unsigned)fx.dead_port);
    assert_int_equal(regpeer_listen(f, fx.base, addr), LS_OK);
    a = spd_start(0, "sp-a", dead); /* its one smd is the hand-played one */
    q = fake_take(f, LS_SMD_HELLO);
    assert_string_equal(q.node_id, "sp-a");
    assert_string_equal(q.origin, a->advertise);
    ls_smd_msg_init(&m, LS_SMD_RESULT, q.txid);
    ls_smd_set_str(&m, LS_SMD_F_NODE_ID, "smd-fake");
    ls_smd_set_num(&m, LS_SMD_F_LEASE_SECONDS, 60);
    fake_reply(f, &m);
    WAIT(spd_registry_up_count(a->reg) == 1);

    memset(&r, 0, sizeof r);
    assert_non_null(spd_registry_claim(a->reg, "live/x", 0, 1, claim_cb, &r));
    q = fake_take(f, LS_SMD_REGISTER);
    assert_string_equal(q.id, "live/x");
    assert_false(q.reannounce);
    ls_smd_msg_init(&m, LS_SMD_RESULT, q.txid);
    ls_smd_set_str(&m, LS_SMD_F_ID, "live/x");
    ls_smd_set_num(&m, LS_SMD_F_GENERATION, 7);
    fake_reply(f, &m);
    WAIT(r.done);
    assert_int_equal(r.result, LS_OK);

    /* an older registration's revocation, and one of an id we do not hold: ignored */
    ls_smd_msg_init(&m, LS_SMD_REVOKED, 0);
    ls_smd_set_str(&m, LS_SMD_F_ID, "live/x");
    ls_smd_set_num(&m, LS_SMD_F_GENERATION, 6);
    fake_reply(f, &m);
    ls_smd_msg_init(&m, LS_SMD_REVOKED, 0);
    ls_smd_set_str(&m, LS_SMD_F_ID, "live/other");
    ls_smd_set_num(&m, LS_SMD_F_GENERATION, 7);
    fake_reply(f, &m);
    fake_barrier(a, f);
    assert_int_equal(a->revoked, 0);

    /* the current one: the publisher is dropped; that smd is not sent an unregister */
    ls_smd_msg_init(&m, LS_SMD_REVOKED, 0);
    ls_smd_set_str(&m, LS_SMD_F_ID, "live/x");
    ls_smd_set_num(&m, LS_SMD_F_GENERATION, 7);
    fake_reply(f, &m);
    WAIT(a->revoked == 1);
    assert_string_equal(a->revoked_id, "live/x");
    fake_barrier(a, f);
    assert_false(regpeer_has(f, LS_SMD_UNREGISTER, 0, NULL));
    assert_int_equal(metric(a, "livecluster_registry_revocations_total"), 1);
}

/* ---- re-announce ---- */

static void test_reannounce_after_smd_restart(void **state)
{
    struct spd_inst *a, *w;
    (void)state;

    smd_start(0);
    smd_start(1);
    a = spd_up(0, "sp-a", SMD01, 2);
    w = spd_up(1, "sp-w", SMD01, 2);
    assert_int_equal(claim(a, "live/a", 100).result, LS_OK);
    assert_int_equal(claim(a, "live/b", 200).result, LS_OK);
    spd_registry_watch(w->reg, "live/w");
    WAIT(smd_registry_watch_count(fx.smd[0].reg) == 1);
    smd_restart(0);
    assert_int_equal(smd_registry_stream_count(fx.smd[0].reg), 0);
    /* a restarted smd is complete again once the links are back */
    WAIT_FOR(owned_by(0, "live/a", "sp-a") && owned_by(0, "live/b", "sp-a") &&
             smd_registry_watch_count(fx.smd[0].reg) == 1, RECONNECT_MS);
    assert_int_equal(entry(0, "live/a").since, 100);
    assert_int_equal(entry(0, "live/b").since, 200);
    assert_true(owned_by(1, "live/a", "sp-a"));
    barrier(a);
    assert_int_equal(a->revoked, 0);
}

/* spd learns of an smd holding its id for another node (a partition healed): the
 * earlier publisher keeps it. Here the other node's publisher is earlier. */
static void test_reannounce_loses_to_an_earlier_publisher(void **state)
{
    struct spd_inst *a;
    struct spd_registry_config cfg;
    struct regpeer *x;
    (void)state;

    smd_start(0);
    smd_start(1);
    a = spd_up(0, "sp-a", SMD0, 1);
    assert_int_equal(claim(a, "live/x", 100).result, LS_OK);
    x = peer_up(1);
    peer_register(x, "live/x", 50);
    spd_set_smds(a, SMD01);
    cfg = spd_config(a);
    spd_registry_reload(a->reg, &cfg);
    WAIT(a->revoked == 1);
    assert_string_equal(a->revoked_id, "live/x");
    WAIT(owned_by(0, "live/x", NULL));
    assert_true(owned_by(1, "live/x", "sp-x"));
    assert_false(regpeer_has(x, LS_SMD_REVOKED, 0, "live/x"));
    assert_int_equal(metric(a, "livecluster_registry_reannounce_losses_total"), 1);
}

/* ... and here ours is earlier: the other node is revoked on that smd. */
static void test_reannounce_wins_for_an_earlier_publisher(void **state)
{
    struct spd_inst *a;
    struct spd_registry_config cfg;
    struct regpeer *x;
    struct ls_smd_msg m;
    uint64_t gen;
    (void)state;

    smd_start(0);
    smd_start(1);
    a = spd_up(0, "sp-a", SMD0, 1);
    assert_int_equal(claim(a, "live/x", 10).result, LS_OK);
    x = peer_up(1);
    gen = peer_register(x, "live/x", 50);
    spd_set_smds(a, SMD01);
    cfg = spd_config(a);
    spd_registry_reload(a->reg, &cfg);
    WAIT(owned_by(1, "live/x", "sp-a"));
    WAIT(regpeer_has(x, LS_SMD_REVOKED, 0, "live/x"));
    assert_true(regpeer_take(x, LS_SMD_REVOKED, 0, "live/x", &m));
    assert_int_equal(m.generation, gen);
    assert_true(owned_by(0, "live/x", "sp-a"));
    barrier(a);
    assert_int_equal(a->revoked, 0);
}

/* A reload that drops an smd closes its session there (its entries go with it). */
static void test_reload_removes_an_smd(void **state)
{
    struct spd_inst *a;
    struct spd_registry_config cfg;
    (void)state;

    smd_start(0);
    smd_start(1);
    a = spd_up(0, "sp-a", SMD01, 2);
    assert_int_equal(claim(a, "live/x", 0).result, LS_OK);
    spd_set_smds(a, SMD0);
    cfg = spd_config(a);
    spd_registry_reload(a->reg, &cfg);
    WAIT(owned_by(1, "live/x", NULL) && smd_registry_node_count(fx.smd[1].reg) == 0);
    assert_true(owned_by(0, "live/x", "sp-a"));
    assert_int_equal(spd_registry_up_count(a->reg), 1);
}

/* ---- lookups and watches ---- */

static void test_lookup(void **state)
{
    static const int dead[] = { -1, -2 };
    struct spd_inst *a, *b, *c;
    struct lookup_res r, never;
    struct spd_lookup *lk;
    (void)state;

    smd_start(0);
    smd_start(1);
    a = spd_up(0, "sp-a", SMD0, 1);
    b = spd_up(1, "sp-b", SMD01, 2);
    assert_int_equal(claim(a, "live/a", 0).result, LS_OK);
    /* known to one smd of two: found */
    r = lookup(b, "live/a");
    assert_int_equal(r.result, LS_OK);
    assert_string_equal(r.origin, a->advertise);
    assert_string_equal(r.node_id, "sp-a");
    /* known to none: not found */
    assert_int_equal(lookup(b, "live/none").result, LS_ENOTFOUND);
    /* nobody to ask: unreachable */
    c = spd_start(2, "sp-c", dead);
    assert_int_equal(lookup(c, "live/a").result, LS_EIO);
    /* cancelled: the callback never runs */
    memset(&never, 0, sizeof never);
    lk = spd_registry_lookup(b->reg, "live/a", lookup_cb, &never);
    assert_non_null(lk);
    spd_registry_lookup_cancel(lk);
    barrier(b);
    assert_false(never.done);
    assert_int_equal(metric(b, "livecluster_registry_lookups_total{result=\"found\"}"), 1);
}

static void test_watch_reports_once_and_is_refcounted(void **state)
{
    struct spd_inst *a, *w;
    size_t i;
    (void)state;

    smd_start(0);
    smd_start(1);
    a = spd_up(0, "sp-a", SMD01, 2);
    w = spd_up(1, "sp-w", SMD01, 2);
    spd_registry_watch(w->reg, "live/w");
    spd_registry_watch(w->reg, "live/w");
    WAIT(smd_registry_watch_count(fx.smd[0].reg) == 1 &&
         smd_registry_watch_count(fx.smd[1].reg) == 1);
    assert_int_equal(claim(a, "live/w", 0).result, LS_OK);
    WAIT(w->registered == 1);
    assert_string_equal(w->reg_id, "live/w");
    assert_string_equal(w->reg_origin, a->advertise);
    assert_string_equal(w->reg_node, "sp-a");
    /* both smds reported the registration: passed on once */
    barrier(w);
    assert_int_equal(w->registered, 1);
    /* two watches, one unwatch: still watched */
    spd_registry_unwatch(w->reg, "live/w");
    barrier(w);
    for (i = 0; i < 2; i++)
        assert_int_equal(smd_registry_watch_count(fx.smd[i].reg), 1);
    spd_registry_unwatch(w->reg, "live/w");
    WAIT(smd_registry_watch_count(fx.smd[0].reg) == 0 &&
         smd_registry_watch_count(fx.smd[1].reg) == 0);
    spd_registry_unwatch(w->reg, "live/w"); /* one too many: ignored */
    /* ids that are not watched are not reported */
    assert_int_equal(claim(a, "live/other", 0).result, LS_OK);
    barrier(w);
    assert_int_equal(w->registered, 1);
}

/*
 * An id that every smd just reported not registered is answered NotFound locally for
 * not_found_cache_ms (a waiting viewer's retries and other viewers of the same missing id
 * cost the smds nothing), but a watch reporting it registered forgets that at once: a
 * viewer of a stream published a moment later starts without waiting the cache out.
 */
static void test_not_found_is_remembered_until_registered(void **state)
{
    struct spd_inst *a, *w;
    struct lookup_res r;
    (void)state;

    smd_start(0);
    smd_start(1);
    a = spd_up(0, "sp-a", SMD01, 2);
    w = spd_start(1, "sp-w", SMD01);
    spd_registry_free(w->reg);
    {
        struct spd_registry_hooks hooks = { .registered = hook_registered, .arg = w };
        struct spd_registry_config cfg = spd_config(w);

        cfg.not_found_cache_ms = 60000;
        w->reg = spd_registry_new(fx.base, &cfg, &hooks);
        assert_non_null(w->reg);
    }
    WAIT(spd_registry_up_count(w->reg) == 2);
    assert_int_equal(lookup(w, "live/n").result, LS_ENOTFOUND);
    assert_int_equal(metric(w, "livecluster_registry_lookups_total{result=\"not_found\"}"), 1);
    /* asked again: answered here, from the event loop as always */
    assert_int_equal(lookup(w, "live/n").result, LS_ENOTFOUND);
    assert_int_equal(lookup(w, "live/n").result, LS_ENOTFOUND);
    assert_int_equal(metric(w, "livecluster_registry_lookups_total{result=\"not_found\"}"), 1);
    assert_int_equal(
        metric(w, "livecluster_registry_lookups_total{result=\"not_found_cached\"}"), 2);
    /* another id is asked for */
    assert_int_equal(lookup(w, "live/other").result, LS_ENOTFOUND);
    assert_int_equal(metric(w, "livecluster_registry_lookups_total{result=\"not_found\"}"), 2);
    /* watched and then published: the registration report forgets the answer */
    spd_registry_watch(w->reg, "live/n");
    WAIT(smd_registry_watch_count(fx.smd[0].reg) == 1 &&
         smd_registry_watch_count(fx.smd[1].reg) == 1);
    assert_int_equal(claim(a, "live/n", 0).result, LS_OK);
    WAIT(w->registered == 1);
    r = lookup(w, "live/n");
    assert_int_equal(r.result, LS_OK);
    assert_string_equal(r.node_id, "sp-a");
    spd_registry_unwatch(w->reg, "live/n");
}

/*
 * Many lookups in flight at once on two links (one per viewer of a different missing id):
 * each answer finds its request by txid, and all of them are answered.
 */
static void test_many_lookups_in_flight(void **state)
{
    enum { N = 3000 };
    static struct lookup_res res[N];
    struct spd_inst *w;
    char id[32];
    size_t i, done = 0;
    (void)state;

    smd_start(0);
    smd_start(1);
    w = spd_up(0, "sp-w", SMD01, 2);
    memset(res, 0, sizeof res);
    for (i = 0; i < N; i++) {
        snprintf(id, sizeof id, "live/m%zu", i);
        assert_non_null(spd_registry_lookup(w->reg, id, lookup_cb, &res[i]));
    }
    for (i = 0; i < 20 && done < N; i++) {
        size_t j;

        EVLOOP_WAIT(fx.base, false, 250);
        for (done = 0, j = 0; j < N; j++)
            done += res[j].done;
    }
    assert_int_equal(done, N);
    for (i = 0; i < N; i++)
        assert_int_equal(res[i].result, LS_ENOTFOUND);
    assert_int_equal(metric(w, "livecluster_registry_lookups_total{result=\"not_found\"}"), N);
    assert_int_equal(metric(w, "livecluster_registry_request_timeouts_total"), 0);
}

/* ---- links ---- */

static void test_hello_refused_keeps_the_link_down(void **state)
{
    static char secret[] = "s3cret";
    struct spd_inst *a;
    struct claim_res r;
    (void)state;

    smd_start(0);
    fx.smd[0].conf.cluster_secret = secret; /* spd signs with "" */
    a = spd_start(0, "sp-a", SMD0);
    WAIT(metric(a, "livecluster_registry_hello_refusals_total") >= 1);
    assert_int_equal(spd_registry_up_count(a->reg), 0);
    assert_int_equal(smd_registry_node_count(fx.smd[0].reg), 0);
    r = claim(a, "live/a", 0);
    assert_int_equal(r.result, LS_OK); /* standalone */
    assert_true(owned_by(0, "live/a", NULL));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
        T(test_claim_granted_by_every_smd),
        T(test_busy_on_one_smd_refuses_and_unregisters_the_rest),
        T(test_a_bound_on_one_smd_fails_the_claim),
        T(test_unreachable_smd_is_skipped),
        T(test_standalone_then_announced),
        T(test_claim_arguments_and_overlap),
        T(test_cancelled_claim_is_released),
        T(test_release),
        T(test_local_takeover_keeps_the_registration),
        T(test_local_takeover_that_does_not_happen),
        T(test_smd_names_resolved_on_the_loop),
        T(test_free_unregisters),
        T(test_takeover_between_two_spds),
        T(test_no_idle_hook_means_no_publisher),
        T(test_revoked_on_one_smd_releases_everywhere),
        T(test_revoked_needs_the_current_generation),
        T(test_reannounce_after_smd_restart),
        T(test_reannounce_loses_to_an_earlier_publisher),
        T(test_reannounce_wins_for_an_earlier_publisher),
        T(test_reload_removes_an_smd),
        T(test_lookup),
        T(test_watch_reports_once_and_is_refcounted),
        T(test_not_found_is_remembered_until_registered),
        T(test_many_lookups_in_flight),
        T(test_hello_refused_keeps_the_link_down),
#undef T
    };

    return cmocka_run_group_tests_name("spd registry", tests, NULL, NULL);
}
