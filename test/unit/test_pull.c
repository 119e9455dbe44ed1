/*
 * Unit tests for internal pulls: pull.c driving client.c against real servers, all in one
 * event_base on loopback.
 *
 * Two nodes live in the process: an "origin" (a hub and an RTMP server that takes the
 * publisher) and an "edge" (a hub and an RTMP server whose stream_wanted hook starts one
 * ls_pull per stream towards the origin, exactly as epd/edge.c does). Viewers and
 * publishers are libstream clients. For the watchdog tests the upstream is a scripted
 * server written on ls_conn, which can go quiet while still answering pings (a paused
 * publisher) or stop reading altogether (a frozen process: no FIN, no RST, no answers).
 * Log lines are captured with ls_log_set_sink.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include <event2/event.h>

#include "libstream/client.h"
#include "libstream/clock.h"
#include "libstream/codec.h"
#include "libstream/hub.h"
#include "libstream/log.h"
#include "libstream/net.h"
#include "libstream/peersig.h"
#include "libstream/pull.h"
#include "libstream/rtmp.h"
#include "libstream/server.h"
#include "libstream/stats.h"
#include "support/evloop.h"
#include "support/flv_file.h"

#define FIXTURE "test/fixtures/ffmpeg_h264_aac.flv"
#define SECRET "pull-test-secret"

static struct flv_file fx;

static int load_fixture(void **state)
{
    char err[256];

    (void)state;
    return flv_file_load(FIXTURE, &fx, err, sizeof err) == 0 ? 0 : -1;
}

static int free_fixture(void **state)
{
    (void)state;
    flv_file_free(&fx);
    return 0;
}

/* ---- log capture ---- */

static char logbuf[1 << 17];
static size_t loglen;

static void log_sink(int level, const char *line, void *arg)
{
    size_t n = strlen(line);

    (void)level;
    (void)arg;
    if (loglen + n + 2 < sizeof logbuf) {
        memcpy(logbuf + loglen, line, n);
        loglen += n;
        logbuf[loglen++] = '\n';
        logbuf[loglen] = '\0';
    }
}

static bool log_has(const char *s)
{
    return strstr(logbuf, s) != NULL;
}

/* ---- two nodes on one event base ---- */

struct node {
    struct ls_hub *hub;
    struct ls_server *srv;
    char listen[64];
    struct sockaddr_storage sa;
    socklen_t salen;
};

static struct event_base *base;
static struct node origin, edge;
static struct ls_pull_config pull_cfg;
static struct ls_pull_ops pull_ops;
static char upstream[64];       /* where the edge's pulls go */
static int pulls_ended;

static void node_start(struct node *n, bool allow_publish, enum ls_source_kind kind)
{
    struct ls_hub_config hcfg;
    struct ls_server_config scfg;
    int tries;

    ls_hub_config_defaults(&hcfg);
    hcfg.flush_interval_ms = 5;
    n->hub = ls_hub_new(base, &hcfg);
    assert_non_null(n->hub);
    ls_hub_set_default_source_kind(n->hub, kind);
    ls_server_config_defaults(&scfg);
    scfg.play_wait_timeout_ms = 3000;
    scfg.allow_publish = allow_publish;
    scfg.cluster_secret = SECRET;
    for (tries = 0, n->srv = NULL; n->srv == NULL && tries < 20; tries++) {
        snprintf(n->listen, sizeof n->listen, "127.0.0.1:%u", evloop_free_port("127.0.0.1"));
        n->srv = ls_server_new(base, n->hub, &scfg, n->listen);
    }
    assert_non_null(n->srv);
    assert_int_equal(ls_net_resolve(n->listen, false, &n->sa, &n->salen), LS_OK);
}

static void node_stop_pull(struct ls_stream *st, void *arg)
{
    struct ls_pull *p = ls_stream_role_data(st);

    (void)arg;
    if (p != NULL)
        ls_pull_stop(p, "test done");
}

static void node_free(struct node *n)
{
    if (n->srv == NULL)
        return;
    ls_server_shutdown(n->srv);
    ls_hub_foreach(n->hub, node_stop_pull, NULL);
    evloop_run_for(base, 50);
    ls_server_free(n->srv);
    evloop_run_for(base, 50);
    assert_int_equal(ls_hub_stream_count(n->hub), 0);
    ls_hub_free(n->hub);
    memset(n, 0, sizeof *n);
}

/* ---- the edge role (as epd/edge.c) ---- */

static void edge_resolve(struct ls_pull *p, void *arg, const char *id)
{
    (void)arg;
    (void)id;
    ls_pull_connect(p, upstream);
}

static void edge_ended(struct ls_pull *p, void *arg, const char *id)
{
    (void)p;
    (void)arg;
    (void)id;
    pulls_ended++;
}

static void edge_wanted(void *arg, struct ls_stream *st)
{
    struct ls_pull *p = ls_stream_role_data(st);

    (void)arg;
    if (p != NULL) {
        ls_pull_kick(p);
        return;
    }
    assert_int_equal(ls_pull_start(st, LS_SOURCE_UPSTREAM, &pull_cfg, &pull_ops), LS_OK);
}

static int setup(void **state)
{
    struct ls_hub_hooks hooks = { edge_wanted, ls_pull_stream_unwanted, NULL };

    (void)state;
    loglen = 0;
    logbuf[0] = '\0';
    ls_log_set_sink(log_sink, NULL);
    ls_log_set_level(LS_LOG_DEBUG);
    memset(&ls_stats, 0, sizeof ls_stats);
    base = event_base_new();
    node_start(&origin, true, LS_SOURCE_PUBLISHER);
    node_start(&edge, false, LS_SOURCE_UPSTREAM);
    ls_hub_set_hooks(edge.hub, &hooks);
    snprintf(upstream, sizeof upstream, "%s", origin.listen);
    ls_pull_config_defaults(&pull_cfg);
    pull_cfg.idle_timeout_ms = 300;
    pull_cfg.retry_max_ms = 500;
    pull_cfg.node_id = "ep-test";
    pull_cfg.role = "epd";
    pull_cfg.secret = SECRET;
    pull_ops.resolve = edge_resolve;
    pull_ops.ended = edge_ended;
    pull_ops.arg = NULL;
    pulls_ended = 0;
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    if (getenv("TEST_PULL_LOG") != NULL)
        fputs(logbuf, stderr);
    node_free(&edge);
    node_free(&origin);
    event_base_free(base);
    ls_log_set_sink(NULL, NULL);
    return 0;
}

/* ---- clients ---- */

struct peer {
    struct ls_client *cl;
    bool started, closed;
    char why[160];
    char last_code[64];
    unsigned video;
};

static void peer_started(struct ls_client *cl, void *arg)
{
    (void)cl;
    ((struct peer *)arg)->started = true;
}

static void peer_status(struct ls_client *cl, void *arg, const char *level, const char *code)
{
    struct peer *p = arg;

    (void)cl;
    (void)level;
    snprintf(p->last_code, sizeof p->last_code, "%s", code);
}

static void peer_media(struct ls_client *cl, void *arg, struct ls_frame *msg)
{
    (void)cl;
    if (msg->type == LS_MSG_VIDEO)
        ((struct peer *)arg)->video++;
}

static void peer_close(struct ls_client *cl, void *arg, int err, const char *why)
{
    struct peer *p = arg;

    (void)cl;
    (void)err;
    p->closed = true;
    p->cl = NULL;
    snprintf(p->why, sizeof p->why, "%s", why != NULL ? why : "");
}

static const struct ls_client_ops peer_ops = {
    .on_started = peer_started,
    .on_status = peer_status,
    .on_media = peer_media,
    .on_close = peer_close,
};

static void peer_start(struct peer *p, const struct node *n, enum ls_client_mode mode,
                       const char *name)
{
    struct ls_client_config cfg;
    char tc_url[128];

    memset(p, 0, sizeof *p);
    ls_client_config_defaults(&cfg);
    cfg.start_timeout_ms = 5000;
    snprintf(tc_url, sizeof tc_url, "rtmp://%s/live", n->listen);
    p->cl = ls_client_start(base, (const struct sockaddr *)&n->sa, n->salen, mode, tc_url, "live",
                            name, &cfg, &peer_ops, p);
    assert_non_null(p->cl);
}

static void peer_end(struct peer *p)
{
    if (p->cl != NULL)
        ls_client_close(p->cl, "test done");
    EVLOOP_WAIT(base, p->closed, 2000);
}

/* Publishes the fixture's tags on the origin as "live/NAME". */
static void publish_fixture(struct peer *pub, const char *name)
{
    size_t i;

    peer_start(pub, &origin, LS_CLIENT_PUBLISH, name);
    EVLOOP_WAIT(base, pub->started || pub->closed, 3000);
    assert_true(pub->started);
    for (i = 0; i < fx.ntags; i++)
        assert_int_equal(ls_client_send(pub->cl, fx.tags[i]), LS_OK);
}

/* ---- defect: a refused peer play must not free the stream under its pull ---- */

/*
 * A viewer on the edge makes the edge pull live/x. A second client plays the same id with
 * internal-pull parameters claiming to be an origin (lc_role=spd, validly signed): an
 * origin's pull may only be served from a local publisher, so it is refused — and the
 * refusal used to drop the pull's hold on the stream (ls_stream_release on a stream it
 * never held). Once the viewer left, the stream was freed under the pull, which then wrote
 * into it when its idle timer ended it (heap use-after-free: pull_finish →
 * ls_stream_set_role_data). The pull must keep its stream until it is finished.
 */
static void test_refused_peer_play_keeps_pull_stream(void **state)
{
    struct peer pub, viewer, fake;
    char q[512], name[700];

    (void)state;
    publish_fixture(&pub, "x");
    peer_start(&viewer, &edge, LS_CLIENT_PLAY, "x");
    EVLOOP_WAIT(base, viewer.video >= 5 || viewer.closed, 3000);
    assert_true(viewer.video >= 5);
    assert_non_null(ls_hub_find(edge.hub, "live/x"));

    q[0] = '\0';
    assert_int_equal(ls_peersig_sign(SECRET, "sp-evil", "spd", "live/x", q, sizeof q), LS_OK);
    snprintf(name, sizeof name, "x?%s", q);
    peer_start(&fake, &edge, LS_CLIENT_PLAY, name);
    EVLOOP_WAIT(base, fake.closed || strcmp(fake.last_code, "NetStream.Play.StreamNotFound") == 0,
                3000);
    assert_string_equal(fake.last_code, "NetStream.Play.StreamNotFound");
    assert_true(log_has("no local publisher for a peer pull"));

    /* The last viewer leaves: the pull keeps the stream for idle_timeout, then ends. */
    peer_end(&viewer);
    evloop_run_for(base, 50);
    assert_non_null(ls_hub_find(edge.hub, "live/x"));
    assert_non_null(ls_stream_role_data(ls_hub_find(edge.hub, "live/x")));
    EVLOOP_WAIT(base, pulls_ended == 1, 3000);
    assert_int_equal(pulls_ended, 1);
    assert_true(log_has("pull live/x ended (no viewers for idle_timeout)"));
    assert_null(ls_hub_find(edge.hub, "live/x"));
    peer_end(&fake);
    peer_end(&pub);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_refused_peer_play_keeps_pull_stream, setup,
                                        teardown),
    };

    return cmocka_run_group_tests(tests, load_fixture, free_fixture);
}
