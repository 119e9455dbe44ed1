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

#include "libstream/buf.h"
#include "libstream/client.h"
#include "libstream/clock.h"
#include "libstream/codec.h"
#include "libstream/command.h"
#include "libstream/conn.h"
#include "libstream/control.h"
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
#include "support/logcapture.h"

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
static int pulls_failed;        /* ops->failed calls */
static struct ls_pull_attempt failed_attempt; /* ... the last one's outcome */
static char failed_target[64];  /* ... and where it went */

static void node_start(struct node *n, bool allow_publish, enum ls_source_kind kind)
{
    /* Internal pulls are signed for the node that answers (peersig.h): each has a name. */
    const char *node_id = kind == LS_SOURCE_UPSTREAM ? "ep-node" : "sp-node";
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
    scfg.node_id = node_id;
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
    ls_pull_connect(p, upstream, NULL);
}

static void edge_ended(struct ls_pull *p, void *arg, const char *id)
{
    (void)p;
    (void)arg;
    (void)id;
    pulls_ended++;
}

static void edge_failed(struct ls_pull *p, void *arg, const char *id)
{
    (void)arg;
    (void)id;
    pulls_failed++;
    ls_pull_last_attempt(p, &failed_attempt);
    snprintf(failed_target, sizeof failed_target, "%s", ls_pull_target(p));
}

static size_t max_pulls;        /* the edge's bound (0 = none) */

static int edge_wanted(void *arg, struct ls_stream *st)
{
    struct ls_pull *p = ls_stream_role_data(st);

    (void)arg;
    if (p != NULL) {
        ls_pull_kick(p);
        return LS_OK;
    }
    if (ls_pull_check_limit(ls_stream_id(st), max_pulls) != LS_OK)
        return LS_ELIMIT;
    assert_int_equal(ls_pull_start(st, LS_SOURCE_UPSTREAM, &pull_cfg, &pull_ops), LS_OK);
    return LS_OK;
}

static int setup(void **state)
{
    struct ls_hub_hooks hooks = { edge_wanted, ls_pull_stream_unwanted, NULL };

    (void)state;
    logcapture_start();
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
    pull_ops.failed = edge_failed;
    pull_ops.arg = NULL;
    pulls_ended = 0;
    pulls_failed = 0;
    memset(&failed_attempt, 0, sizeof failed_attempt);
    failed_target[0] = '\0';
    max_pulls = 0;
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    if (getenv("TEST_PULL_LOG") != NULL)
        fputs(logcapture_text(), stderr);
    node_free(&edge);
    node_free(&origin);
    event_base_free(base);
    logcapture_stop();
    return 0;
}

/* ---- clients ---- */

struct peer {
    struct ls_client *cl;
    bool started, closed;
    char why[160];
    char last_code[64];
    unsigned video;
    const char *sign_as;   /* non-NULL: plays as this internal node (signed on connect) */
    const char *sign_role;
    char name[64];         /* the stream name the signature is appended to */
};

/* Signs the play for the node that answered and its nonce, as a real pull does. */
static void peer_connected(struct ls_client *cl, void *arg, const struct ls_amf_value *info)
{
    struct peer *p = arg;
    char q[512], name[700];

    if (p->sign_as == NULL)
        return;
    q[0] = '\0';
    assert_non_null(info);
    assert_int_equal(ls_peersig_sign(SECRET, p->sign_as, p->sign_role, "live/x",
                                     ls_amf_get_string(info, LS_PEERSIG_INFO_NODE),
                                     ls_amf_get_string(info, LS_PEERSIG_INFO_NONCE), q,
                                     sizeof q),
                     LS_OK);
    snprintf(name, sizeof name, "%s?%s", p->name, q);
    assert_int_equal(ls_client_set_name(cl, name), LS_OK);
}

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
    .on_connected = peer_connected,
    .on_started = peer_started,
    .on_status = peer_status,
    .on_media = peer_media,
    .on_close = peer_close,
};

static void peer_start_as(struct peer *p, const struct node *n, enum ls_client_mode mode,
                          const char *name, const char *sign_as, const char *sign_role)
{
    struct ls_client_config cfg;
    char tc_url[128];

    memset(p, 0, sizeof *p);
    p->sign_as = sign_as;
    p->sign_role = sign_role;
    snprintf(p->name, sizeof p->name, "%s", name);
    ls_client_config_defaults(&cfg);
    cfg.start_timeout_ms = 5000;
    snprintf(tc_url, sizeof tc_url, "rtmp://%s/live", n->listen);
    p->cl = ls_client_start(base, (const struct sockaddr *)&n->sa, n->salen, mode, tc_url, "live",
                            name, &cfg, &peer_ops, p);
    assert_non_null(p->cl);
}

static void peer_start(struct peer *p, const struct node *n, enum ls_client_mode mode,
                       const char *name)
{
    peer_start_as(p, n, mode, name, NULL, NULL);
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

    (void)state;
    publish_fixture(&pub, "x");
    peer_start(&viewer, &edge, LS_CLIENT_PLAY, "x");
    EVLOOP_WAIT(base, viewer.video >= 5 || viewer.closed, 3000);
    assert_true(viewer.video >= 5);
    assert_non_null(ls_hub_find(edge.hub, "live/x"));

    peer_start_as(&fake, &edge, LS_CLIENT_PLAY, "x", "sp-evil", "spd");
    EVLOOP_WAIT(base, fake.closed || strcmp(fake.last_code, "NetStream.Play.StreamNotFound") == 0,
                3000);
    assert_string_equal(fake.last_code, "NetStream.Play.StreamNotFound");
    assert_true(logcapture_has("no local publisher for a peer pull"));

    /* The last viewer leaves: the pull keeps the stream for idle_timeout, then ends. */
    peer_end(&viewer);
    evloop_run_for(base, 50);
    assert_non_null(ls_hub_find(edge.hub, "live/x"));
    assert_non_null(ls_stream_role_data(ls_hub_find(edge.hub, "live/x")));
    EVLOOP_WAIT(base, pulls_ended == 1, 3000);
    assert_int_equal(pulls_ended, 1);
    assert_true(logcapture_has("pull live/x ended (no viewers for idle_timeout)"));
    assert_null(ls_hub_find(edge.hub, "live/x"));
    peer_end(&fake);
    peer_end(&pub);
}

/* ---- a scripted upstream: answers a play, then can pause or freeze ---- */

enum fake_mode {
    FAKE_LIVE,    /* sends the fixture's first GOP after Play.Start */
    FAKE_NOT_FOUND, /* answers play with NetStream.Play.StreamNotFound */
    FAKE_PAUSED,  /* sends nothing more, still reads (its conn answers pings) */
    FAKE_FROZEN,  /* reads nothing, answers nothing: a SIGSTOPped process */
};

struct fake_up {
    int lfd;
    struct event *accept_ev;
    struct ls_conn *conn;
    enum fake_mode mode;
    enum fake_mode accept_mode; /* the mode of each new connection */
    char listen[64];
    int accepts, plays;
};

static struct fake_up fake;

static void fake_send_payload(struct ls_conn *c, uint32_t csid, uint8_t type, uint32_t ts,
                              uint32_t stream_id, struct ls_buf *b)
{
    assert_int_equal(ls_buf_status(b), LS_OK);
    assert_int_equal(ls_conn_send(c, csid, type, ts, stream_id, b->data, b->len), LS_OK);
    ls_buf_reset(b);
}

/* Sends the fixture up to (not including) its second keyframe: headers and one GOP. */
static void fake_send_gop(struct ls_conn *c)
{
    size_t i;
    unsigned keys = 0;

    for (i = 0; i < fx.ntags; i++) {
        const struct ls_frame *f = fx.tags[i];

        if (f->type == LS_MSG_VIDEO && f->len > 1 && f->data[0] == 0x17 && f->data[1] == 1 &&
            ++keys == 2)
            break;
        assert_int_equal(ls_conn_send(c, f->type == LS_MSG_VIDEO ? LS_CSID_VIDEO
                                         : f->type == LS_MSG_AUDIO ? LS_CSID_AUDIO
                                                                    : LS_CSID_DATA,
                                      f->type, f->timestamp, 1, f->data, f->len), LS_OK);
    }
}

static void fake_message(struct ls_conn *c, void *owner, struct ls_frame *msg)
{
    struct fake_up *up = owner;
    struct ls_command cmd;
    struct ls_buf b;

    if (msg->type != LS_MSG_COMMAND_AMF0 ||
        ls_command_decode(msg->data, msg->len, false, NULL, &cmd, NULL) < 0)
        return;
    ls_buf_init(&b, 0);
    if (strcmp(cmd.name, "connect") == 0) {
        ls_control_write_set_chunk_size(&b, ls_conn_out_chunk_size(c));
        assert_int_equal(ls_conn_send_buf(c, &b), LS_OK);
        ls_command_build_connect_result(&b, cmd.transaction_id, NULL, 31, 0, NULL);
        fake_send_payload(c, LS_CSID_COMMAND, LS_MSG_COMMAND_AMF0, 0, 0, &b);
    } else if (strcmp(cmd.name, "createStream") == 0) {
        ls_command_build_create_stream_result(&b, cmd.transaction_id, 1);
        fake_send_payload(c, LS_CSID_COMMAND, LS_MSG_COMMAND_AMF0, 0, 0, &b);
    } else if (strcmp(cmd.name, "play") == 0 && up->mode == FAKE_NOT_FOUND) {
        up->plays++;
        ls_command_build_onstatus(&b, "error", "NetStream.Play.StreamNotFound", "Not found",
                                  NULL);
        fake_send_payload(c, LS_CSID_DATA, LS_MSG_COMMAND_AMF0, 0, 1, &b);
    } else if (strcmp(cmd.name, "play") == 0) {
        up->plays++;
        ls_command_build_onstatus(&b, "status", "NetStream.Play.Start", "Started", NULL);
        fake_send_payload(c, LS_CSID_DATA, LS_MSG_COMMAND_AMF0, 0, 1, &b);
        if (up->mode == FAKE_LIVE)
            fake_send_gop(c);
    }
    ls_buf_free(&b);
    ls_command_free(&cmd);
}

static void fake_close(struct ls_conn *c, void *owner, int err, const char *why)
{
    struct fake_up *up = owner;

    (void)err;
    (void)why;
    if (up->conn == c)
        up->conn = NULL;
}

static const struct ls_conn_ops fake_ops = {
    .on_message = fake_message,
    .on_close = fake_close,
};

static void fake_accept(evutil_socket_t lfd, short what, void *arg)
{
    struct fake_up *up = arg;
    struct ls_conn_config cc;
    int fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);

    (void)what;
    if (fd == -1)
        return;
    up->accepts++;
    if (up->conn != NULL)
        ls_conn_close(up->conn, LS_OK, "replaced"); /* a frozen predecessor */
    up->mode = up->accept_mode;
    ls_conn_config_defaults(&cc);
    up->conn = ls_conn_new(base, fd, LS_HS_SERVER, &cc, &fake_ops, up);
    assert_non_null(up->conn);
    assert_int_equal(ls_conn_start(up->conn), LS_OK);
}

static void fake_start(struct fake_up *up)
{
    struct sockaddr_storage ss;
    socklen_t len;

    memset(up, 0, sizeof *up);
    snprintf(up->listen, sizeof up->listen, "127.0.0.1:%u", evloop_free_port("127.0.0.1"));
    assert_int_equal(ls_net_resolve(up->listen, false, &ss, &len), LS_OK);
    up->lfd = ls_net_listen((struct sockaddr *)&ss, len, 16);
    assert_true(up->lfd >= 0);
    up->accept_ev = event_new(base, up->lfd, EV_READ | EV_PERSIST, fake_accept, up);
    assert_int_equal(event_add(up->accept_ev, NULL), 0);
}

static void fake_stop(struct fake_up *up)
{
    if (up->conn != NULL)
        ls_conn_close(up->conn, LS_OK, "test done");
    event_free(up->accept_ev);
    close(up->lfd);
}

/* Until the viewer has `n` more video messages than it had. */
static bool viewer_gets_video(struct peer *v, unsigned n)
{
    unsigned want = v->video + n;

    EVLOOP_WAIT(base, v->video >= want || v->closed, 3000);
    return v->video >= want;
}

/*
 * An upstream that stops sending media but still answers pings is a publisher pausing:
 * the pull keeps its link (and sent pings meanwhile). One that stops answering at all — a
 * frozen process, its kernel still ACKing — is lost within upstream_timeout: the pull
 * logs it, counts it, pulls again, and the viewer resumes on its own connection.
 */
static void test_silent_upstream_is_lost_paused_is_not(void **state)
{
    struct peer viewer;
    uint64_t in_before, t0, lost_after;

    (void)state;
    fake_start(&fake);
    snprintf(upstream, sizeof upstream, "%s", fake.listen);
    pull_cfg.client.silence_timeout_ms = 400;
    peer_start(&viewer, &edge, LS_CLIENT_PLAY, "quiet");
    assert_true(viewer_gets_video(&viewer, 5));
    assert_int_equal(fake.accepts, 1);

    /* paused: four timeouts of silence, pings answered */
    fake.mode = FAKE_PAUSED;
    in_before = ls_conn_bytes_in(fake.conn);
    evloop_run_for(base, 1600);
    assert_int_equal(ls_stats.pull_timeouts_total, 0);
    assert_int_equal(fake.accepts, 1);
    assert_false(viewer.closed);
    assert_true(ls_conn_bytes_in(fake.conn) > in_before); /* our ping requests */

    /* frozen: no reads, no answers */
    fake.mode = FAKE_FROZEN;
    ls_conn_pause_reading(fake.conn, true);
    t0 = ls_now_ms();
    EVLOOP_WAIT(base, ls_stats.pull_timeouts_total == 1, 3000);
    lost_after = ls_now_ms() - t0;
    assert_int_equal(ls_stats.pull_timeouts_total, 1);
    assert_true(lost_after < 2000); /* the timeout, a watchdog tick, generous slack */
    assert_true(logcapture_has("pull live/quiet from "));
    assert_true(logcapture_has("lost: upstream silent"));
    /* pulled again from the same upstream (which now answers): the viewer resumes */
    EVLOOP_WAIT(base, fake.accepts == 2 && fake.plays == 2, 3000);
    assert_int_equal(fake.accepts, 2);
    assert_true(viewer_gets_video(&viewer, 5));
    assert_false(viewer.closed);
    assert_true(ls_stats.pull_attempts_total >= 2);
    /* the role heard of it, classified */
    assert_int_equal(pulls_failed, 1);
    assert_int_equal(failed_attempt.end, LS_PULL_END_SILENT);
    assert_true(failed_attempt.answered);
    assert_string_equal(failed_target, fake.listen);
    peer_end(&viewer);
    EVLOOP_WAIT(base, pulls_ended == 1, 3000);
    fake_stop(&fake);
}

/*
 * Each attempt that ends is classified for the role (ops->failed, ls_pull_last_attempt),
 * which is what an edge's failover goes by: nobody listening (refused, not answered), a
 * NotFound answer (answered: the upstream is up), a link closed while playing (lost).
 * A move leaves the target without counting a failure and comes back at once; the
 * viewer stays through all of it.
 */
static void test_attempt_outcomes_and_move(void **state)
{
    struct peer viewer;
    struct ls_stream *st;
    struct ls_pull *p;
    struct ls_pull_attempt a;
    char dead[64];
    uint64_t failures;

    (void)state;
    fake_start(&fake);
    /* nobody listens: refused, twice (the count goes on until the pull is live) */
    snprintf(dead, sizeof dead, "127.0.0.1:%u", evloop_free_port("127.0.0.1"));
    snprintf(upstream, sizeof upstream, "%s", dead);
    peer_start(&viewer, &edge, LS_CLIENT_PLAY, "o");
    EVLOOP_WAIT(base, pulls_failed >= 2, 3000);
    assert_int_equal(failed_attempt.end, LS_PULL_END_REFUSED);
    assert_false(failed_attempt.answered);
    assert_int_equal(failed_attempt.failures, pulls_failed);
    assert_string_equal(failed_target, dead);

    /* an upstream that answers, without the stream */
    fake.accept_mode = FAKE_NOT_FOUND;
    snprintf(upstream, sizeof upstream, "%s", fake.listen);
    pulls_failed = 0;
    EVLOOP_WAIT(base, pulls_failed >= 1 && strcmp(failed_target, fake.listen) == 0, 3000);
    assert_int_equal(failed_attempt.end, LS_PULL_END_NOT_FOUND);
    assert_true(failed_attempt.answered);
    assert_true(failed_attempt.failures >= 3);

    /* then with it: live, and the count starts again */
    fake.accept_mode = FAKE_LIVE;
    assert_true(viewer_gets_video(&viewer, 5));
    st = ls_hub_find(edge.hub, "live/o");
    assert_non_null(st);
    p = ls_stream_role_data(st);
    assert_non_null(p);
    assert_true(ls_pull_connected(p));
    assert_string_equal(ls_pull_target(p), fake.listen);
    assert_string_equal(ls_stream_source_upstream(st), fake.listen);

    /* moved: not a failure, back at once, the viewer stays */
    failures = ls_stats.pull_failures_total[LS_FAIL_UPSTREAM] +
               ls_stats.pull_failures_total[LS_FAIL_NOT_FOUND];
    pulls_failed = 0;
    ls_pull_move(p, "test move");
    assert_false(ls_pull_connected(p));
    assert_null(ls_stream_source_upstream(st));
    ls_pull_last_attempt(p, &a);
    assert_int_equal(a.end, LS_PULL_END_MOVED);
    assert_true(logcapture_has("pull live/o: leaving "));
    assert_true(viewer_gets_video(&viewer, 5));
    assert_int_equal(pulls_failed, 0);
    assert_int_equal(ls_stats.pull_failures_total[LS_FAIL_UPSTREAM] +
                         ls_stats.pull_failures_total[LS_FAIL_NOT_FOUND],
                     failures);
    assert_true(ls_pull_connected(p));

    /* the link closes while playing: lost, answered, the first failure since live */
    ls_conn_close(fake.conn, LS_OK, "test: upstream gone");
    EVLOOP_WAIT(base, pulls_failed >= 1, 3000);
    assert_int_equal(failed_attempt.end, LS_PULL_END_LOST);
    assert_true(failed_attempt.answered);
    assert_int_equal(failed_attempt.failures, 1);
    assert_true(viewer_gets_video(&viewer, 5));
    assert_false(viewer.closed);
    peer_end(&viewer);
    EVLOOP_WAIT(base, pulls_ended == 1, 3000);
    fake_stop(&fake);
}

/* ---- external pulls (spd's pulled sources) ---- */

static unsigned ext_live, ext_not_live, ext_failed, ext_ended;
static char ext_why[160];

static void ext_resolve(struct ls_pull *p, void *arg, const char *id)
{
    (void)arg;
    (void)id;
    ls_pull_connect(p, upstream, NULL);
}

static void ext_ended_cb(struct ls_pull *p, void *arg, const char *id)
{
    (void)p;
    (void)arg;
    assert_string_equal(id, "local/cam");
    ext_ended++;
}

static void ext_event(struct ls_pull *p, void *arg, const char *id, enum ls_pull_event ev,
                      int err, const char *why)
{
    (void)p;
    (void)arg;
    (void)err;
    assert_string_equal(id, "local/cam");
    if (ev == LS_PULL_LIVE)
        ext_live++;
    else if (ev == LS_PULL_NOT_LIVE)
        ext_not_live++;
    else {
        ext_failed++;
        snprintf(ext_why, sizeof ext_why, "%s", why != NULL ? why : "");
    }
}

/*
 * An external pull plays another server's stream "live/ext" as the local "local/cam": it
 * goes live with no subscriber at all and stays (nothing about viewers ends it), its play
 * is the plain name (no cluster signature: the origin sees an ordinary viewer), it follows
 * the far side's unpublish and republish, a dropped link is retried, kicks are ignored,
 * it is no internal pull (not counted), and only a stop ends it.
 */
static void test_external_pull_runs_without_viewers(void **state)
{
    static const struct ls_pull_ops ext_ops = {
        .resolve = ext_resolve, .ended = ext_ended_cb, .event = ext_event,
    };
    struct peer pub;
    struct ls_stream *st, *far;
    struct ls_stream_stats s;
    struct ls_pull *p;
    char tc_url[128];

    (void)state;
    ext_live = ext_not_live = ext_failed = ext_ended = 0;
    publish_fixture(&pub, "ext");
    snprintf(tc_url, sizeof tc_url, "rtmp://%s/live", origin.listen);
    st = ls_hub_get(edge.hub, "local/cam");
    assert_non_null(st);
    assert_int_equal(ls_pull_start_external(st, LS_SOURCE_PUBLISHER, &pull_cfg, &ext_ops, tc_url,
                                            "live", "ext?k=v"),
                     LS_OK);
    p = ls_stream_role_data(st);
    assert_non_null(p);
    EVLOOP_WAIT(base, ext_live == 1, 3000);
    assert_int_equal(ext_live, 1);
    assert_string_equal(ls_pull_state(p), "live");
    assert_true(ls_stream_has_source(st));
    assert_int_equal(ls_stream_source_kind(st), LS_SOURCE_PUBLISHER);
    assert_int_equal(ls_stats.pulls_active, 0);
    assert_int_equal(ls_stats.pulls_started_total, 0);
    far = ls_hub_find(origin.hub, "live/ext");
    assert_non_null(far);
    ls_stream_stats(far, &s);
    assert_int_equal(s.subscribers, 1);
    assert_true(logcapture_has("play live/ext started"));
    assert_false(logcapture_has("play live/ext started (internal pull)")); /* not signed */

    /* no viewers for longer than idle_timeout: still there, still live */
    evloop_run_for(base, 3 * pull_cfg.idle_timeout_ms);
    assert_ptr_equal(ls_hub_find(edge.hub, "local/cam"), st);
    assert_ptr_equal(ls_stream_role_data(st), p);
    assert_int_equal(ext_ended, 0);
    ls_pull_kick(p);
    assert_string_equal(ls_pull_state(p), "live");

    /* the far publisher leaves and comes back: followed, link kept */
    peer_end(&pub);
    EVLOOP_WAIT(base, ext_not_live == 1, 3000);
    assert_int_equal(ext_not_live, 1);
    assert_false(ls_stream_has_source(st));
    assert_string_equal(ls_pull_state(p), "unpublished");
    publish_fixture(&pub, "ext");
    EVLOOP_WAIT(base, ext_live == 2, 3000);
    assert_int_equal(ext_live, 2);

    /* the link dropped (a lapsed right, a lost peer): reported, retried, live again */
    ls_pull_reconnect(p, "test drop");
    assert_int_equal(ext_not_live, 2);
    assert_int_equal(ext_failed, 1);
    assert_string_equal(ext_why, "test drop");
    assert_string_equal(ls_pull_state(p), "retrying");
    EVLOOP_WAIT(base, ext_live == 3, 3000);
    assert_int_equal(ext_live, 3);
    assert_int_equal(ext_ended, 0);

    /* a stop ends it: the stream, without subscribers, goes with it */
    ls_pull_stop(p, "test done");
    assert_int_equal(ext_ended, 1);
    assert_null(ls_hub_find(edge.hub, "local/cam"));
    peer_end(&pub);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_external_pull_runs_without_viewers, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_refused_peer_play_keeps_pull_stream, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_silent_upstream_is_lost_paused_is_not, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_attempt_outcomes_and_move, setup, teardown),
    };

    return cmocka_run_group_tests(tests, load_fixture, free_fixture);
}
