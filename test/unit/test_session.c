/*
 * Unit tests for the RTMP server side: session.c and server.c, with conn.c and client.c
 * underneath — everything in one event_base on loopback sockets.
 *
 * Publishers and players are libstream clients (client.h); the publisher sends the ffmpeg
 * fixture's tags (test/fixtures/ffmpeg_h264_aac.flv) and the players decode what arrives:
 * statuses, metadata, sequence headers and frames, compared with the fixture's bytes.
 * Commands that client.h does not send (createStream floods, unknown calls, deleteStream,
 * FCUnpublish, pings, malformed AMF, aggregates) come from a raw client written directly
 * on ls_conn. Log lines are captured with ls_log_set_sink so refusals can be checked.
 *
 * Hostile clients: reply floods from a client that never reads, a client that keeps
 * sending but never publishes or plays (connect_timeout), a viewer whose socket is gone
 * by the time its admitted play is first flushed, a client whose start fails.
 */
#include <arpa/inet.h>
#include <dirent.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <signal.h>
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

#include "libstream/amf.h"
#include "libstream/buf.h"
#include "libstream/client.h"
#include "libstream/clock.h"
#include "libstream/codec.h"
#include "libstream/command.h"
#include "libstream/conn.h"
#include "libstream/control.h"
#include "libstream/flv.h"
#include "libstream/hmac.h"
#include "libstream/hub.h"
#include "libstream/log.h"
#include "libstream/net.h"
#include "libstream/peersig.h"
#include "libstream/rtmp.h"
#include "libstream/server.h"
#include "libstream/stats.h"
#include "libstream/token.h"
#include "support/amf_build.h"
#include "support/logcapture.h"

#define FIXTURE "test/fixtures/ffmpeg_h264_aac.flv"
#define MAX_CODES 16

/* ---- the fixture's tags ---- */

static struct ls_frame *tags[256];
static size_t ntags;
static size_t fx_key2;       /* index of the second keyframe (ts 1000) */
static unsigned fx_video_after_key2, fx_video;

static bool is_video_frame(const struct ls_frame *f, bool *key)
{
    struct ls_video_info vi;

    if (f->type != LS_MSG_VIDEO || ls_codec_video_inspect(f->data, f->len, &vi, NULL) != LS_OK ||
        vi.packet != LS_VPKT_FRAME)
        return false;
    if (key != NULL)
        *key = vi.keyframe;
    return true;
}

static int load_fixture(void **state)
{
    FILE *f = fopen(FIXTURE, "rb");
    static uint8_t buf[65536];
    struct ls_flv_reader *r = ls_flv_reader_new(NULL);
    size_t n, off = 0, i;
    unsigned keys = 0;

    (void)state;
    if (f == NULL || r == NULL)
        return -1;
    n = fread(buf, 1, sizeof buf, f);
    fclose(f);
    while (off < n && ntags < 256) {
        struct ls_flv_event ev;
        ssize_t used = ls_flv_reader_feed(r, buf + off, n - off, &ev, NULL);

        if (used <= 0)
            break;
        off += (size_t)used;
        if (ev.type == LS_FLV_EV_TAG)
            tags[ntags++] = ev.tag;
    }
    ls_flv_reader_free(r);
    for (i = 0; i < ntags; i++) {
        bool key;

        if (!is_video_frame(tags[i], &key))
            continue;
        fx_video++;
        if (key && ++keys == 2)
            fx_key2 = i;
        if (keys >= 2)
            fx_video_after_key2++;
    }
    return ntags == 142 && keys == 2 ? 0 : -1;
}

static int free_fixture(void **state)
{
    size_t i;

    (void)state;
    for (i = 0; i < ntags; i++)
        ls_frame_unref(tags[i]);
    return 0;
}

/* ---- server on an event base ---- */

static struct event_base *base;
static struct ls_hub *hub;
static struct ls_server *srv;
static struct ls_server_config scfg;
static struct sockaddr_storage srv_sa;
static socklen_t srv_salen;
static char tc_url[96];
static int open_clients;

static int free_port(void)
{
    struct sockaddr_in a = { .sin_family = AF_INET };
    socklen_t len = sizeof a;
    int fd = socket(AF_INET, SOCK_STREAM, 0), port;

    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
    assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &len), 0);
    port = ntohs(a.sin_port);
    close(fd);
    return port;
}

static int setup(void **state)
{
    struct ls_hub_config hcfg;
    char listen[64];
    int tries;

    (void)state;
    logcapture_start();
    ls_log_set_level(LS_LOG_DEBUG);
    memset(&ls_stats, 0, sizeof ls_stats);
    base = event_base_new();
    ls_hub_config_defaults(&hcfg);
    hcfg.flush_interval_ms = 5;
    hub = ls_hub_new(base, &hcfg);
    ls_server_config_defaults(&scfg);
    scfg.play_wait_timeout_ms = 300;
    scfg.publish_takeover_idle_ms = 200;
    for (tries = 0, srv = NULL; srv == NULL && tries < 20; tries++) {
        snprintf(listen, sizeof listen, "127.0.0.1:%d", free_port());
        srv = ls_server_new(base, hub, &scfg, listen);
    }
    if (srv == NULL)
        return -1;
    snprintf(tc_url, sizeof tc_url, "rtmp://%s/live", listen);
    open_clients = 0;
    return ls_net_resolve(listen, false, &srv_sa, &srv_salen) == LS_OK ? 0 : -1;
}

static void tick_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    (void)arg;
}

/* Runs the loop until pred(arg) holds or `ms` pass; returns pred(arg). */
static bool run_until(bool (*pred)(void *), void *arg, unsigned ms)
{
    struct event *tick = event_new(base, -1, EV_PERSIST, tick_cb, NULL);
    struct timeval tv = { 0, 5000 };
    uint64_t end = ls_now_ms() + ms;
    bool ok;

    event_add(tick, &tv);
    while (!(ok = pred(arg)) && ls_now_ms() < end)
        event_base_loop(base, EVLOOP_ONCE);
    event_free(tick);
    return ok;
}

static bool never(void *arg)
{
    (void)arg;
    return false;
}

static void run_for(unsigned ms)
{
    run_until(never, NULL, ms);
}

static bool no_clients(void *arg)
{
    (void)arg;
    return open_clients == 0;
}

static int teardown(void **state)
{
    (void)state;
    if (getenv("TEST_SESSION_LOG") != NULL)
        fputs(logcapture_text(), stderr);
    ls_server_free(srv);
    assert_true(run_until(no_clients, NULL, 3000));
    assert_int_equal(ls_hub_stream_count(hub), 0);
    ls_hub_free(hub);
    event_base_free(base);
    logcapture_stop();
    return 0;
}

/* ---- libstream clients ---- */

/* How a test client signs its play as an internal pull. */
struct pull_sig {
    const char *secret;
    const char *node, *role;  /* who the puller says it is */
    const char *name;         /* the stream's name part; the id is live/NAME */
    const char *target;       /* the node it signs for; NULL = the one the server names */
    const char *replay;       /* instead: play exactly this (a captured name) */
};

struct peer {
    struct ls_client *cl;
    bool started, closed;
    int err;
    char why[160];
    char codes[MAX_CODES][64];
    int ncodes;
    unsigned video, keyframes, audio, data, seq_headers;
    bool first_video_is_key, have_video;
    bool ts_backwards;
    uint32_t last_video_ts, first_video_ts;
    struct ls_frame *first_video, *vseq, *meta;
    unsigned after_republish;
    /* an internal pull: the play is signed with the server's challenge (peer_connected) */
    const struct pull_sig *sig;
    char played[600];         /* the name played, signature included */
    char server_node[64];     /* the connect answer's lc_node; "" = none */
    bool got_nonce;           /* the connect answer carried a challenge */
};


static void peer_connected(struct ls_client *cl, void *arg, const struct ls_amf_value *info)
{
    struct peer *p = arg;
    const char *nonce = info != NULL ? ls_amf_get_string(info, LS_PEERSIG_INFO_NONCE) : NULL;
    const char *node = info != NULL ? ls_amf_get_string(info, LS_PEERSIG_INFO_NODE) : NULL;
    char q[512] = "", id[300];

    snprintf(p->server_node, sizeof p->server_node, "%s", node != NULL ? node : "");
    p->got_nonce = nonce != NULL;
    if (p->sig == NULL)
        return;
    if (p->sig->replay != NULL) {
        snprintf(p->played, sizeof p->played, "%s", p->sig->replay);
    } else {
        snprintf(id, sizeof id, "live/%s", p->sig->name);
        assert_int_equal(ls_peersig_sign(p->sig->secret, p->sig->node, p->sig->role, id,
                                         p->sig->target != NULL ? p->sig->target : node, nonce,
                                         q, sizeof q), LS_OK);
        snprintf(p->played, sizeof p->played, "%s?%s", p->sig->name, q);
    }
    assert_int_equal(ls_client_set_name(cl, p->played), LS_OK);
}

static void peer_started(struct ls_client *cl, void *arg)
{
    struct peer *p = arg;

    (void)cl;
    p->started = true;
}

static void peer_status(struct ls_client *cl, void *arg, const char *level, const char *code)
{
    struct peer *p = arg;

    (void)cl;
    (void)level;
    if (p->ncodes < MAX_CODES)
        snprintf(p->codes[p->ncodes++], sizeof p->codes[0], "%s", code);
}

static void peer_media(struct ls_client *cl, void *arg, struct ls_frame *msg)
{
    struct peer *p = arg;
    bool key;

    (void)cl;
    if (msg->type == LS_MSG_DATA_AMF0) {
        p->data++;
        if (p->meta == NULL && msg->len > 13 && memcmp(msg->data + 3, "onMetaData", 10) == 0)
            p->meta = ls_frame_ref(msg);
        return;
    }
    if (is_video_frame(msg, &key)) {
        if (!p->have_video) {
            p->first_video_is_key = key;
            p->first_video = ls_frame_ref(msg);
            p->first_video_ts = msg->timestamp;
        } else if ((int32_t)(msg->timestamp - p->last_video_ts) < 0) {
            p->ts_backwards = true;
        }
        p->have_video = true;
        p->last_video_ts = msg->timestamp;
        p->video++;
        p->keyframes += key;
        if (p->ncodes > 0 && strcmp(p->codes[p->ncodes - 1], "NetStream.Play.PublishNotify") == 0)
            p->after_republish++;
    } else if (msg->type == LS_MSG_VIDEO) {
        p->seq_headers++;
        if (p->vseq == NULL && msg->len > 1 && msg->data[1] == 0)
            p->vseq = ls_frame_ref(msg);
    } else if (msg->type == LS_MSG_AUDIO) {
        if (msg->len > 1 && msg->data[1] == 0)
            p->seq_headers++;
        else
            p->audio++;
    }
}

static void peer_close(struct ls_client *cl, void *arg, int err, const char *why)
{
    struct peer *p = arg;

    (void)cl;
    p->closed = true;
    p->cl = NULL;
    p->err = err;
    snprintf(p->why, sizeof p->why, "%s", why != NULL ? why : "");
    open_clients--;
}

static const struct ls_client_ops peer_ops = {
    .on_connected = peer_connected,
    .on_started = peer_started,
    .on_status = peer_status,
    .on_media = peer_media,
    .on_close = peer_close,
};

static void peer_start(struct peer *p, enum ls_client_mode mode, const char *app,
                       const char *name, bool amf3)
{
    struct ls_client_config cfg;

    memset(p, 0, sizeof *p);
    ls_client_config_defaults(&cfg);
    cfg.start_timeout_ms = 5000;
    if (amf3) {
        cfg.object_encoding = 3;
        cfg.amf3_commands = true;
    }
    p->cl = ls_client_start(base, (struct sockaddr *)&srv_sa, srv_salen, mode, tc_url, app, name,
                            &cfg, &peer_ops, p);
    assert_non_null(p->cl);
    open_clients++;
}

static void peer_end(struct peer *p)
{
    if (p->cl != NULL)
        ls_client_close(p->cl, "test done");
    ls_frame_unref(p->first_video);
    ls_frame_unref(p->vseq);
    ls_frame_unref(p->meta);
    p->first_video = p->vseq = p->meta = NULL;
}

static bool started_or_closed(void *arg)
{
    struct peer *p = arg;

    return p->started || p->closed;
}

static bool closed(void *arg)
{
    return ((struct peer *)arg)->closed;
}

static bool has_code(const struct peer *p, const char *code)
{
    int i;

    for (i = 0; i < p->ncodes; i++)
        if (strcmp(p->codes[i], code) == 0)
            return true;
    return false;
}

static const char *want_code;

static bool got_want_code(void *arg)
{
    return has_code(arg, want_code) || ((struct peer *)arg)->closed;
}

/* Publishes fixture tags [from, to) with timestamps shifted by `offset`. */
static void send_tags(struct peer *p, size_t from, size_t to, uint32_t offset)
{
    size_t i;

    for (i = from; i < to; i++) {
        struct ls_frame *f = ls_frame_new_copy(tags[i]->type, tags[i]->timestamp + offset, 0,
                                               tags[i]->data, tags[i]->len);

        assert_int_equal(ls_client_send(p->cl, f), LS_OK);
        ls_frame_unref(f);
    }
}

static struct peer *video_target;
static unsigned video_want;

static bool got_video(void *arg)
{
    (void)arg;
    return video_target->video >= video_want || video_target->closed;
}

static bool wait_video(struct peer *p, unsigned n)
{
    video_target = p;
    video_want = n;
    return run_until(got_video, NULL, 3000);
}

/* Publishes and expects Publish.Start. */
static void publish_ok(struct peer *p, const char *name)
{
    peer_start(p, LS_CLIENT_PUBLISH, "live", name, false);
    assert_true(run_until(started_or_closed, p, 3000));
    assert_true(p->started);
    assert_string_equal(p->codes[0], "NetStream.Publish.Start");
}

/* Expects the client to be refused with exactly `code`. */
static void expect_refused(struct peer *p, const char *code)
{
    assert_true(run_until(closed, p, 3000));
    assert_false(p->started);
    assert_string_equal(p->why, code);
    assert_true(has_code(p, code));
}

/* ---- tests: publish and play ---- */

/*
 * The whole path: a publisher sends the fixture, a late player starts from the GOP cache
 * (metadata, sequence headers, the second GOP), follows the live stream, hears the
 * publisher leave and return, and its timestamps never go backwards.
 */
static void test_publish_then_play(void **state)
{
    struct peer pub, play, pub2;
    struct ls_stream *st;
    struct ls_stream_stats ss;

    (void)state;
    publish_ok(&pub, "cam");
    st = ls_hub_find(hub, "live/cam");
    assert_non_null(st);
    assert_true(ls_stream_has_source(st));
    assert_int_equal(ls_stream_source_kind(st), LS_SOURCE_PUBLISHER);
    send_tags(&pub, 0, ntags, 0);
    run_for(50);
    ls_stream_stats(st, &ss);
    assert_string_equal(ss.video_codec, "h264");
    assert_string_equal(ss.audio_codec, "aac");
    assert_int_equal(ss.width, 320);
    assert_int_equal(ss.height, 240);

    peer_start(&play, LS_CLIENT_PLAY, "live", "cam", false);
    assert_true(wait_video(&play, fx_video_after_key2));
    assert_true(play.started);
    assert_string_equal(play.codes[0], "NetStream.Play.Reset");
    assert_string_equal(play.codes[1], "NetStream.Play.Start");
    assert_string_equal(play.codes[2], "NetStream.Data.Start");
    assert_int_equal(play.video, fx_video_after_key2); /* the second GOP, whole */
    assert_true(play.first_video_is_key);
    assert_int_equal(play.first_video_ts, 1000);
    assert_int_equal(play.first_video->len, tags[fx_key2]->len);
    assert_memory_equal(play.first_video->data, tags[fx_key2]->data, tags[fx_key2]->len);
    assert_non_null(play.meta);
    assert_int_equal(play.seq_headers, 2);
    assert_non_null(play.vseq);
    assert_int_equal(play.data, 2); /* |RtmpSampleAccess and onMetaData */
    assert_int_equal(ls_server_session_count(srv), 2);

    /* live: a second loop of the file, timestamps continuing */
    send_tags(&pub, 1, ntags, 2040);
    assert_true(wait_video(&play, fx_video_after_key2 + fx_video));
    assert_int_equal(play.video, fx_video_after_key2 + fx_video);
    assert_false(play.ts_backwards);

    /* the publisher leaves: UnpublishNotify; the player stays */
    ls_client_close(pub.cl, "done");
    want_code = "NetStream.Play.UnpublishNotify";
    assert_true(run_until(got_want_code, &play, 3000));
    assert_false(play.closed);
    assert_true(logcapture_has("publish live/cam stopped"));
    st = ls_hub_find(hub, "live/cam");
    assert_non_null(st);
    assert_false(ls_stream_has_source(st));

    /* it returns, restarting its timestamps at 0: PublishNotify, media, rebased */
    publish_ok(&pub2, "cam");
    send_tags(&pub2, 0, ntags, 0);
    want_code = "NetStream.Play.PublishNotify";
    assert_true(run_until(got_want_code, &play, 3000));
    assert_true(wait_video(&play, fx_video_after_key2 + 2 * fx_video));
    assert_true(play.after_republish > 0);
    assert_false(play.ts_backwards);
    assert_true(ls_stats.publish_requests_total >= 2);
    assert_true(ls_stats.play_requests_total >= 1);
    peer_end(&play);
    peer_end(&pub2);
    peer_end(&pub);
}

/* Players that arrive first wait and start with the publisher; an AMF3 player too. */
static void test_play_waits_for_publisher(void **state)
{
    struct peer play, play3, pub;

    (void)state;
    scfg.play_wait_timeout_ms = 3000;
    ls_server_set_config(srv, &scfg);
    peer_start(&play, LS_CLIENT_PLAY, "live", "later", false);
    peer_start(&play3, LS_CLIENT_PLAY, "live", "later", true);
    run_for(100);
    assert_false(play.started);
    assert_false(play.closed);
    assert_int_equal(ls_hub_subscriber_count(hub), 2);
    publish_ok(&pub, "later");
    send_tags(&pub, 0, ntags, 0);
    assert_true(wait_video(&play, fx_video));
    assert_true(wait_video(&play3, fx_video));
    assert_true(play.first_video_is_key);
    assert_int_equal(play.first_video_ts, 0);
    assert_int_equal(play3.video, fx_video);
    assert_string_equal(play3.codes[1], "NetStream.Play.Start");
    peer_end(&play);
    peer_end(&play3);
    peer_end(&pub);
}

/* ---- tests: refusals ---- */

static void test_stream_not_found(void **state)
{
    struct peer play;
    uint64_t t0 = ls_now_ms();

    (void)state;
    peer_start(&play, LS_CLIENT_PLAY, "live", "nobody", false);
    expect_refused(&play, "NetStream.Play.StreamNotFound");
    assert_true(ls_now_ms() - t0 >= 250); /* it waited play_wait_timeout first */
    assert_true(logcapture_has("play live/nobody failed: not live within play_wait_timeout"));
    assert_int_equal(ls_stats.play_failures_total[LS_FAIL_NOT_FOUND], 1);
    assert_null(ls_hub_find(hub, "live/nobody"));
}

static void test_bad_names(void **state)
{
    static const char *const names[] = { "../x", "a b", ".hidden", "x/y", "" };
    char long_name[300];
    size_t i;
    struct peer p;

    (void)state;
    memset(long_name, 'n', sizeof long_name - 1);
    long_name[sizeof long_name - 1] = '\0';
    for (i = 0; i <= sizeof names / sizeof names[0]; i++) {
        const char *name = i < sizeof names / sizeof names[0] ? names[i] : long_name;

        peer_start(&p, LS_CLIENT_PUBLISH, "live", name, false);
        expect_refused(&p, "NetStream.Publish.BadName");
        peer_start(&p, LS_CLIENT_PLAY, "live", name, false);
        expect_refused(&p, "NetStream.Play.BadName");
    }
    peer_start(&p, LS_CLIENT_PLAY, "..", "x", false);
    expect_refused(&p, "NetStream.Play.BadName");
    assert_int_equal(ls_stats.publish_failures_total[LS_FAIL_BAD_NAME], 6);
    assert_int_equal(ls_stats.play_failures_total[LS_FAIL_BAD_NAME], 7);
    assert_true(logcapture_has("refused: bad stream id"));
    assert_int_equal(ls_hub_stream_count(hub), 0);
}

/* A second publisher of an active id is refused; once the first has been idle for
 * publish_takeover_idle, a new one takes over and the stale one is told and closed. The
 * stale publisher may be all that keeps the stream alive (no viewers): it must survive. */
static void test_duplicate_and_takeover(void **state)
{
    struct peer a, b, c, play;
    int round;

    (void)state;
    for (round = 0; round < 2; round++) {
        publish_ok(&a, "dup");
        send_tags(&a, 0, 20, 0);
        if (round == 1)
            peer_start(&play, LS_CLIENT_PLAY, "live", "dup", false);
        peer_start(&b, LS_CLIENT_PUBLISH, "live", "dup", false);
        expect_refused(&b, "NetStream.Publish.BadName");
        assert_true(logcapture_has("publish live/dup refused: already publishing here"));
        run_for(300); /* a sends nothing: idle past publish_takeover_idle */
        publish_ok(&c, "dup");
        assert_true(logcapture_has("publish live/dup started (took over an idle publisher)"));
        assert_true(run_until(closed, &a, 3000));
        assert_true(has_code(&a, "NetStream.Publish.BadName"));
        send_tags(&c, 0, ntags, 0);
        if (round == 1) {
            assert_true(wait_video(&play, 10));
            assert_false(play.ts_backwards);
            assert_false(play.closed);
            peer_end(&play);
        }
        peer_end(&c);
        peer_end(&a);
        peer_end(&b);
        assert_true(run_until(no_clients, NULL, 3000));
    }
    assert_int_equal(ls_stats.publish_takeovers_total, 2);
    assert_int_equal(ls_stats.publish_failures_total[LS_FAIL_BUSY], 2);
}

static void test_tokens(void **state)
{
    struct peer p, pub;
    char token[LS_TOKEN_HEX_LEN + 1], name[200];
    long expires = (long)time(NULL) + 600;

    (void)state;
    scfg.publish_auth.secret = "pub-secret";
    scfg.play_auth.secret = "play-secret";
    ls_server_set_config(srv, &scfg);
    peer_start(&p, LS_CLIENT_PUBLISH, "live", "tok", false);
    expect_refused(&p, "NetStream.Publish.Unauthorized");
    assert_int_equal(ls_token_make("pub-secret", "live/tok", expires, token), LS_OK);
    snprintf(name, sizeof name, "tok?expires=%ld&token=%s", expires, token);
    publish_ok(&pub, name);
    send_tags(&pub, 0, ntags, 0);
    peer_start(&p, LS_CLIENT_PLAY, "live", "tok", false);
    expect_refused(&p, "NetStream.Play.Unauthorized");
    snprintf(name, sizeof name, "tok?expires=%ld&token=%s", expires, token); /* publish's */
    peer_start(&p, LS_CLIENT_PLAY, "live", name, false);
    expect_refused(&p, "NetStream.Play.Unauthorized");
    assert_int_equal(ls_token_make("play-secret", "live/tok", expires, token), LS_OK);
    snprintf(name, sizeof name, "tok?expires=%ld&token=%s", expires, token);
    peer_start(&p, LS_CLIENT_PLAY, "live", name, false);
    assert_true(wait_video(&p, 5));
    assert_int_equal(ls_stats.play_failures_total[LS_FAIL_UNAUTHORIZED], 2);
    assert_int_equal(ls_stats.publish_failures_total[LS_FAIL_UNAUTHORIZED], 1);
    peer_end(&p);
    peer_end(&pub);
}

static void test_publish_denied_on_edge(void **state)
{
    struct peer p;

    (void)state;
    scfg.allow_publish = false;
    ls_server_set_config(srv, &scfg);
    peer_start(&p, LS_CLIENT_PUBLISH, "live", "edge", false);
    expect_refused(&p, "NetStream.Publish.Denied");
    assert_int_equal(ls_stats.publish_failures_total[LS_FAIL_DENIED], 1);
}

static void test_max_connections(void **state)
{
    struct peer waiting, extra;

    (void)state;
    scfg.max_connections = 1;
    scfg.play_wait_timeout_ms = 5000;
    ls_server_set_config(srv, &scfg);
    peer_start(&waiting, LS_CLIENT_PLAY, "live", "w", false);
    run_for(100);
    assert_int_equal(ls_server_session_count(srv), 1);
    peer_start(&extra, LS_CLIENT_PLAY, "live", "w", false);
    assert_true(run_until(closed, &extra, 3000));
    assert_false(extra.started);
    assert_true(logcapture_has("refused: max_connections (1) reached"));
    assert_int_equal(ls_server_connection_acquire(srv), LS_ELIMIT);
    assert_int_equal(ls_stats.connections_refused_total, 2);
    peer_end(&waiting);
    assert_true(run_until(closed, &waiting, 3000));
    run_for(50);
    assert_int_equal(ls_server_session_count(srv), 0);
    assert_int_equal(ls_server_connection_acquire(srv), LS_OK);
    ls_server_connection_release(srv);
    ls_server_connection_release(srv); /* one too many: harmless */
    assert_ptr_equal(ls_server_hub(srv), hub);
    assert_ptr_equal(ls_server_base(srv), base);
    assert_int_equal(ls_server_config(srv)->max_connections, 1);
}

/* ---- tests: the role's publish claim ---- */

static struct ls_publish_claim *pending_claim;
static int claims, cancels, ended;
static bool claim_takeover;
static uint64_t claim_publisher, ended_publisher, first_publisher;

static void hook_claim(void *arg, struct ls_publish_claim *claim, const char *id, bool takeover)
{
    (void)arg;
    assert_string_equal(id, "live/claimed");
    pending_claim = claim;
    claim_takeover = takeover;
    claim_publisher = ls_publish_claim_publisher(claim);
    assert_int_not_equal(claim_publisher, 0);
    claims++;
}

static void hook_cancelled(void *arg, struct ls_publish_claim *claim)
{
    (void)arg;
    assert_ptr_equal(claim, pending_claim);
    cancels++;
    pending_claim = NULL;
    ls_publish_claim_done(claim, LS_ESTATE, "publisher left"); /* frees it, as spd does */
}

static void hook_ended(void *arg, const char *id, uint64_t publisher)
{
    (void)arg;
    (void)id;
    ended_publisher = publisher;
    ended++;
}

static bool claim_pending(void *arg)
{
    (void)arg;
    return pending_claim != NULL;
}

static void test_publish_claims(void **state)
{
    struct ls_server_hooks hooks = { .publish_claim = hook_claim,
                                     .publish_claim_cancelled = hook_cancelled,
                                     .publish_ended = hook_ended };
    struct peer p;

    (void)state;
    claims = cancels = ended = 0;
    ls_server_set_hooks(srv, &hooks);
    /* accepted later */
    peer_start(&p, LS_CLIENT_PUBLISH, "live", "claimed", false);
    assert_true(run_until(claim_pending, NULL, 3000));
    run_for(50);
    assert_false(p.started); /* not answered before the role decides */
    assert_false(claim_takeover);
    first_publisher = claim_publisher;
    ls_publish_claim_done(pending_claim, LS_OK, NULL);
    pending_claim = NULL;
    assert_true(run_until(started_or_closed, &p, 3000));
    assert_true(p.started);
    peer_end(&p);
    assert_true(run_until(closed, &p, 3000));
    run_for(50);
    assert_int_equal(ended, 1);
    /* the end names the publisher its claim named (the role ties its claim to it) */
    assert_int_equal(ended_publisher, first_publisher);
    /* busy elsewhere; every publish request has its own token */
    peer_start(&p, LS_CLIENT_PUBLISH, "live", "claimed", false);
    assert_true(run_until(claim_pending, NULL, 3000));
    assert_int_not_equal(claim_publisher, first_publisher);
    ls_publish_claim_done(pending_claim, LS_EBUSY, "owned by sp-9");
    pending_claim = NULL;
    expect_refused(&p, "NetStream.Publish.BadName");
    assert_true(logcapture_has("refused: owned by sp-9"));
    /* the registry failed */
    peer_start(&p, LS_CLIENT_PUBLISH, "live", "claimed", false);
    assert_true(run_until(claim_pending, NULL, 3000));
    ls_publish_claim_done(pending_claim, LS_EIO, NULL);
    pending_claim = NULL;
    expect_refused(&p, "NetStream.Publish.Failed");
    /* the publisher leaves while the role is deciding */
    peer_start(&p, LS_CLIENT_PUBLISH, "live", "claimed", false);
    assert_true(run_until(claim_pending, NULL, 3000));
    peer_end(&p);
    assert_true(run_until(closed, &p, 3000));
    run_for(50);
    assert_int_equal(cancels, 1);
    assert_int_equal(claims, 4);
    assert_int_equal(ended, 1);
    assert_int_equal(ls_stats.publish_failures_total[LS_FAIL_BUSY], 1);
    assert_int_equal(ls_stats.publish_failures_total[LS_FAIL_UPSTREAM], 1);
}

/* ---- tests: internal pulls ---- */

/* Starts a play of live/NAME signed as `sig` says (see peer_connected). */
static void pull_start(struct peer *p, const struct pull_sig *sig)
{
    peer_start(p, LS_CLIENT_PLAY, "live", sig->replay != NULL ? sig->replay : sig->name, false);
    p->sig = sig; /* read when connect is answered, on a later loop turn */
}

static void test_internal_pulls(void **state)
{
    struct peer pub, pull, bad, edge;
    const struct pull_sig from_peer = { "cluster", "sp-2", "spd", "src", NULL, NULL };
    const struct pull_sig wrong_secret = { "other", "sp-2", "spd", "src", NULL, NULL };
    const struct pull_sig peer_other = { "cluster", "sp-2", "spd", "other", NULL, NULL };
    const struct pull_sig edge_other = { "cluster", "ep-1", "epd", "other", NULL, NULL };

    (void)state;
    scfg.cluster_secret = "cluster";
    scfg.node_id = "sp-1";
    scfg.play_auth.secret = "viewers-need-tokens";
    ls_server_set_config(srv, &scfg);
    publish_ok(&pub, "src");
    send_tags(&pub, 0, ntags, 0);
    /* a peer origin pulls a local publisher's stream: no viewer token needed */
    pull_start(&pull, &from_peer);
    assert_true(wait_video(&pull, 5));
    assert_true(pull.got_nonce);
    assert_string_equal(pull.server_node, "sp-1");
    assert_true(logcapture_has("(internal pull)"));
    /* a bad signature is refused */
    pull_start(&bad, &wrong_secret);
    expect_refused(&bad, "NetStream.Play.Unauthorized");
    assert_true(logcapture_has("with a bad signature refused"));
    /* a peer origin may not pull what is not published here (no chains) */
    pull_start(&bad, &peer_other);
    expect_refused(&bad, "NetStream.Play.StreamNotFound");
    assert_true(logcapture_has("no local publisher for a peer pull"));
    /* an edge may wait for it */
    pull_start(&edge, &edge_other);
    run_for(100);
    assert_false(edge.closed);
    peer_end(&edge);
    peer_end(&pull);
    peer_end(&pub);
}

/*
 * A pull signature is good for one connection to one node (defect 12 of issue 10): the
 * signed name of a successful internal pull, replayed on a new connection, is refused;
 * so is a signature made for another node, and one over another stream.
 */
static void test_pull_signature_replay(void **state)
{
    struct peer pub, pull, replay, other_node;
    const struct pull_sig from_edge = { "cluster", "ep-1", "epd", "src", NULL, NULL };
    struct pull_sig again = { NULL, NULL, NULL, NULL, NULL, NULL };
    const struct pull_sig for_sp9 = { "cluster", "ep-1", "epd", "src", "sp-9", NULL };

    (void)state;
    scfg.cluster_secret = "cluster";
    scfg.node_id = "sp-1";
    scfg.play_auth.secret = "viewers-need-tokens";
    ls_server_set_config(srv, &scfg);
    publish_ok(&pub, "src");
    send_tags(&pub, 0, ntags, 0);
    pull_start(&pull, &from_edge);
    assert_true(wait_video(&pull, 5));
    assert_non_null(strstr(pull.played, "lc_sig="));
    /* the captured name, played as is on a new connection */
    again.replay = pull.played;
    pull_start(&replay, &again);
    expect_refused(&replay, "NetStream.Play.Unauthorized");
    assert_true(logcapture_has("with a bad signature refused"));
    /* signed for node sp-9, presented to sp-1 */
    pull_start(&other_node, &for_sp9);
    expect_refused(&other_node, "NetStream.Play.Unauthorized");
    peer_end(&pull);
    peer_end(&pub);
}

/*
 * "Trust" (defect 4 of issue 10): with an empty cluster_secret nobody is an internal pull.
 * The node issues no challenge, and a play signed with the empty key — the old signed
 * text under HMAC(""), which anyone can compute and which used to skip play admission —
 * or with the new one, is an ordinary viewer: no token, no play. With a token it plays.
 * A client claiming to be a peer origin still gets only local publishers.
 */
static void test_empty_secret_trusts_nobody(void **state)
{
    struct peer pub, p1, p2, p3, p4;
    char name[1400], msg[256], hex[LS_HMAC_HEX_LEN + 1], tok[LS_TOKEN_HEX_LEN + 1];
    const struct pull_sig unsigned_claim = { "", "sp-2", "spd", "src", "sp-1", NULL };
    const struct pull_sig peer_other = { "", "sp-2", "spd", "other", "sp-1", NULL };
    long now = (long)time(NULL);
    int n;

    (void)state;
    scfg.cluster_secret = "";
    scfg.node_id = "sp-1";
    scfg.play_auth.secret = "viewers-need-tokens";
    ls_server_set_config(srv, &scfg);
    publish_ok(&pub, "src");
    send_tags(&pub, 0, ntags, 0);
    /* the pre-fix internal pull: HMAC("", "NODE:ROLE:ID:TS") */
    n = snprintf(msg, sizeof msg, "sp-2:spd:live/src:%ld", now);
    assert_int_equal(ls_hmac_sha256_hex("", msg, (size_t)n, hex), LS_OK);
    snprintf(name, sizeof name, "src?lc_node=sp-2&lc_role=spd&lc_ts=%ld&lc_sig=%s", now, hex);
    peer_start(&p1, LS_CLIENT_PLAY, "live", name, false);
    expect_refused(&p1, "NetStream.Play.Unauthorized");
    assert_false(p1.got_nonce);
    assert_false(logcapture_has("(internal pull)"));
    /* what a puller sends now without a secret: an unsigned claim */
    pull_start(&p2, &unsigned_claim);
    expect_refused(&p2, "NetStream.Play.Unauthorized");
    assert_string_equal(p2.played, "src?lc_node=sp-2&lc_role=spd");
    /* the same with a viewer token: an ordinary viewer, admitted */
    assert_int_equal(ls_token_make("viewers-need-tokens", "live/src", now + 60, tok), LS_OK);
    snprintf(name, sizeof name, "src?expires=%ld&token=%s&%s", now + 60, tok, p2.played + 4);
    peer_start(&p3, LS_CLIENT_PLAY, "live", name, false);
    assert_true(wait_video(&p3, 5));
    assert_false(logcapture_has("(internal pull)"));
    /* a claimed peer origin, with a token, still gets only local publishers */
    scfg.play_auth.secret = "";
    ls_server_set_config(srv, &scfg);
    pull_start(&p4, &peer_other);
    expect_refused(&p4, "NetStream.Play.StreamNotFound");
    peer_end(&p3);
    peer_end(&pub);
}

/* ---- tests: raw commands ---- */

struct raw {
    struct ls_conn *conn;
    bool ready, closed;
    int err;
    char why[160];
    struct {
        char name[32];
        double txid;
        char code[64];
        uint32_t stream_id;
        double number;
    } cmd[64];
    int ncmd;
    int pings;
    unsigned media;
};

static void raw_ready(struct ls_conn *c, void *owner)
{
    (void)c;
    ((struct raw *)owner)->ready = true;
}

static void raw_message(struct ls_conn *c, void *owner, struct ls_frame *msg)
{
    struct raw *r = owner;
    struct ls_command cmd;

    (void)c;
    if (msg->type == LS_MSG_USER_CONTROL) {
        struct ls_control ctl;

        if (ls_control_parse(msg, &ctl, NULL) == LS_OK && ctl.event == LS_UC_PING_RESPONSE &&
            ctl.timestamp == 4242)
            r->pings++;
        return;
    }
    if (msg->type != LS_MSG_COMMAND_AMF0) {
        r->media++;
        return;
    }
    assert_true(ls_command_decode(msg->data, msg->len, false, NULL, &cmd, NULL) > 0);
    if (r->ncmd < 64) {
        const char *code = NULL;
        size_t i;

        snprintf(r->cmd[r->ncmd].name, sizeof r->cmd[0].name, "%s", cmd.name);
        r->cmd[r->ncmd].txid = cmd.transaction_id;
        r->cmd[r->ncmd].stream_id = msg->stream_id;
        r->cmd[r->ncmd].number = -1;
        r->cmd[r->ncmd].code[0] = '\0';
        for (i = 0; i < cmd.nargs; i++) {
            if (cmd.args[i].type == LS_AMF_NUMBER)
                r->cmd[r->ncmd].number = cmd.args[i].u.number;
            if ((code = ls_amf_get_string(&cmd.args[i], "code")) != NULL)
                snprintf(r->cmd[r->ncmd].code, sizeof r->cmd[0].code, "%s", code);
        }
        r->ncmd++;
    }
    ls_command_free(&cmd);
}

static void raw_close(struct ls_conn *c, void *owner, int err, const char *why)
{
    struct raw *r = owner;

    (void)c;
    r->closed = true;
    r->conn = NULL;
    r->err = err;
    snprintf(r->why, sizeof r->why, "%s", why != NULL ? why : "");
    open_clients--;
}

static const struct ls_conn_ops raw_ops = {
    .on_ready = raw_ready,
    .on_message = raw_message,
    .on_close = raw_close,
};

static bool raw_ready_or_closed(void *arg)
{
    struct raw *r = arg;

    return r->ready || r->closed;
}

static void raw_start(struct raw *r)
{
    struct ls_conn_config cc;
    struct ls_buf b;
    int fd = ls_net_connect((struct sockaddr *)&srv_sa, srv_salen);

    memset(r, 0, sizeof *r);
    assert_true(fd >= 0);
    ls_conn_config_defaults(&cc);
    cc.max_control_queue_bytes = 0; /* the flood tests make it queue much */
    r->conn = ls_conn_new(base, fd, LS_HS_CLIENT, &cc, &raw_ops, r);
    assert_non_null(r->conn);
    open_clients++;
    assert_int_equal(ls_conn_start(r->conn), LS_OK);
    assert_true(run_until(raw_ready_or_closed, r, 3000));
    assert_true(r->ready);
    /* announce our chunk size (ls_conn_send chunks at it), as ls_client does */
    ls_buf_init(&b, 0);
    ls_control_write_set_chunk_size(&b, ls_conn_out_chunk_size(r->conn));
    assert_int_equal(ls_conn_send_buf(r->conn, &b), LS_OK);
    ls_buf_free(&b);
}

static void raw_send(struct raw *r, uint32_t stream_id, uint8_t type, struct ls_buf *b)
{
    assert_int_equal(ls_buf_status(b), LS_OK);
    assert_int_equal(ls_conn_send(r->conn, stream_id == 0 ? LS_CSID_COMMAND : LS_CSID_DATA,
                                  type, 0, stream_id, b->data, b->len), LS_OK);
    ls_conn_flush(r->conn);
    ls_buf_reset(b);
}

static void raw_call(struct raw *r, uint32_t stream_id, const char *name, double txid,
                     const char *str_arg)
{
    struct ls_buf b;
    struct ls_amf_value arg = { 0 };

    ls_buf_init(&b, 0);
    if (str_arg != NULL) {
        arg = amf_str(str_arg);
        ls_command_build_call(&b, name, txid, &arg, 1);
        ls_amf_clear(&arg);
    } else {
        ls_command_build_call(&b, name, txid, NULL, 0);
    }
    raw_send(r, stream_id, LS_MSG_COMMAND_AMF0, &b);
    ls_buf_free(&b);
}

static void raw_connect(struct raw *r, const char *app)
{
    struct ls_buf b;

    ls_buf_init(&b, 0);
    ls_command_build_connect(&b, 1, app, tc_url, "LNX 9,0,124,2", 0);
    raw_send(r, 0, LS_MSG_COMMAND_AMF0, &b);
    ls_buf_free(&b);
}

static int raw_ncmd_want;

static bool raw_has_ncmd(void *arg)
{
    struct raw *r = arg;

    return r->ncmd >= raw_ncmd_want || r->closed;
}

static bool raw_wait(struct raw *r, int n)
{
    raw_ncmd_want = n;
    return run_until(raw_has_ncmd, r, 3000);
}

static bool raw_closed(void *arg)
{
    return ((struct raw *)arg)->closed;
}

static void raw_end(struct raw *r)
{
    if (r->conn != NULL)
        ls_conn_close(r->conn, LS_OK, "test done");
}

static void test_commands(void **state)
{
    struct raw r;
    struct ls_buf b;
    int i, n;

    (void)state;
    raw_start(&r);
    raw_connect(&r, "live");
    assert_true(raw_wait(&r, 1));
    assert_string_equal(r.cmd[0].name, "_result");
    assert_string_equal(r.cmd[0].code, "NetConnection.Connect.Success");
    /* calls answered with _result */
    raw_call(&r, 0, "releaseStream", 2, "cam");
    raw_call(&r, 0, "FCPublish", 3, "cam");
    raw_call(&r, 0, "FCSubscribe", 4, "cam");
    raw_call(&r, 0, "_checkbw", 5, NULL);
    raw_call(&r, 0, "getStreamLength", 6, "cam");
    raw_call(&r, 0, "receiveAudio", 0, NULL); /* acknowledged by doing nothing */
    raw_call(&r, 0, "noSuchMethod", 7, NULL);
    raw_call(&r, 0, "FCPublish", 0, "cam"); /* txid 0: a notification, no answer */
    assert_true(raw_wait(&r, 7));
    for (i = 1; i <= 5; i++) {
        assert_string_equal(r.cmd[i].name, "_result");
        assert_true(r.cmd[i].txid == i + 1);
    }
    assert_true(r.cmd[5].number == 0); /* live: no length */
    assert_string_equal(r.cmd[6].name, "_error");
    assert_true(r.cmd[6].txid == 7);
    assert_string_equal(r.cmd[6].code, "NetConnection.Call.Failed");
    /* createStream: ids 1..16, then refused */
    n = r.ncmd;
    for (i = 0; i < 17; i++) {
        ls_buf_init(&b, 0);
        ls_command_build_create_stream(&b, 10 + i);
        raw_send(&r, 0, LS_MSG_COMMAND_AMF0, &b);
        ls_buf_free(&b);
    }
    assert_true(raw_wait(&r, n + 17));
    assert_true(r.cmd[n].number == 1);
    assert_true(r.cmd[n + 15].number == 16);
    assert_string_equal(r.cmd[n + 16].name, "_error");
    /* a ping is answered by the connection */
    ls_buf_init(&b, 0);
    ls_control_write_ping_request(&b, 4242);
    assert_int_equal(ls_conn_send_buf(r.conn, &b), LS_OK);
    ls_conn_flush(r.conn);
    ls_buf_free(&b);
    /* publish, media, FCUnpublish: the stream comes and goes */
    ls_buf_init(&b, 0);
    ls_command_build_publish(&b, 0, "raw", "live");
    raw_send(&r, 1, LS_MSG_COMMAND_AMF0, &b);
    n = r.ncmd;
    assert_true(raw_wait(&r, n + 1));
    assert_string_equal(r.cmd[n].code, "NetStream.Publish.Start");
    assert_int_equal(r.cmd[n].stream_id, 1);
    assert_true(r.pings == 1);
    for (i = 0; i < 5; i++) {
        assert_int_equal(ls_conn_send(r.conn, LS_CSID_VIDEO, tags[i]->type, tags[i]->timestamp, 1,
                                      tags[i]->data, tags[i]->len), LS_OK);
    }
    ls_conn_flush(r.conn);
    run_for(50);
    assert_non_null(ls_hub_find(hub, "live/raw"));
    raw_call(&r, 0, "FCUnpublish", 20, "raw");
    assert_true(raw_wait(&r, n + 2));
    assert_string_equal(r.cmd[n + 1].name, "_result");
    run_for(50);
    assert_null(ls_hub_find(hub, "live/raw"));
    assert_true(logcapture_has("publish live/raw stopped (FCUnpublish)"));
    /* publish again on stream 2, then deleteStream ends it */
    ls_command_build_publish(&b, 0, "raw", NULL);
    raw_send(&r, 2, LS_MSG_COMMAND_AMF0, &b);
    n = r.ncmd;
    assert_true(raw_wait(&r, n + 1));
    assert_string_equal(r.cmd[n].code, "NetStream.Publish.Start");
    {
        struct ls_amf_value id = amf_num(2);

        ls_command_build_call(&b, "deleteStream", 0, &id, 1);
        raw_send(&r, 0, LS_MSG_COMMAND_AMF0, &b);
    }
    run_for(50);
    assert_null(ls_hub_find(hub, "live/raw"));
    assert_true(logcapture_has("publish live/raw stopped (deleteStream)"));
    /* play on stream 3, closeStream ends it */
    ls_command_build_play(&b, 0, "nothing", -1000, -1, true);
    raw_send(&r, 3, LS_MSG_COMMAND_AMF0, &b);
    run_for(50);
    assert_int_equal(ls_hub_subscriber_count(hub), 1);
    ls_command_build_call(&b, "closeStream", 0, NULL, 0);
    raw_send(&r, 3, LS_MSG_COMMAND_AMF0, &b);
    run_for(50);
    assert_int_equal(ls_hub_subscriber_count(hub), 0);
    assert_null(ls_hub_find(hub, "live/nothing"));
    /* publish on a stream id never created: a protocol error closes the connection */
    ls_command_build_publish(&b, 0, "raw", NULL);
    raw_send(&r, 40, LS_MSG_COMMAND_AMF0, &b);
    ls_buf_free(&b);
    assert_true(run_until(raw_closed, &r, 3000));
    assert_true(logcapture_has("publish out of sequence"));
}

/* Each of these closes the connection (a log line says why); the server goes on. */
static void test_protocol_errors(void **state)
{
    struct raw r;
    struct ls_buf b;
    static const uint8_t junk[] = { 0xff, 0xff, 0xff };

    (void)state;
    /* a command before connect */
    raw_start(&r);
    raw_call(&r, 0, "createStream", 2, NULL);
    assert_true(run_until(raw_closed, &r, 3000));
    assert_true(logcapture_has("command before connect"));
    /* connect without an app: rejected, then closed */
    raw_start(&r);
    ls_buf_init(&b, 0);
    ls_command_build_call(&b, "connect", 1, NULL, 0);
    raw_send(&r, 0, LS_MSG_COMMAND_AMF0, &b);
    assert_true(run_until(raw_closed, &r, 3000));
    assert_int_equal(r.ncmd, 1);
    assert_string_equal(r.cmd[0].name, "_error");
    assert_string_equal(r.cmd[0].code, "NetConnection.Connect.Rejected");
    /* a second connect */
    raw_start(&r);
    raw_connect(&r, "live");
    raw_connect(&r, "live");
    assert_true(run_until(raw_closed, &r, 3000));
    assert_true(logcapture_has("second connect on one connection"));
    /* undecodable AMF */
    raw_start(&r);
    raw_connect(&r, "live");
    ls_buf_append(&b, junk, sizeof junk);
    raw_send(&r, 0, LS_MSG_COMMAND_AMF0, &b);
    assert_true(run_until(raw_closed, &r, 3000));
    assert_true(logcapture_has("bad command"));
    /* play before createStream */
    raw_start(&r);
    raw_connect(&r, "live");
    ls_command_build_play(&b, 0, "x", -1000, -1, true);
    raw_send(&r, 1, LS_MSG_COMMAND_AMF0, &b);
    assert_true(run_until(raw_closed, &r, 3000));
    assert_true(logcapture_has("play out of sequence"));
    /* a publisher sending a cut aggregate message */
    raw_start(&r);
    raw_connect(&r, "live");
    ls_command_build_create_stream(&b, 2);
    raw_send(&r, 0, LS_MSG_COMMAND_AMF0, &b);
    ls_command_build_publish(&b, 0, "agg", NULL);
    raw_send(&r, 1, LS_MSG_COMMAND_AMF0, &b);
    assert_true(raw_wait(&r, 3));
    ls_buf_put_u8(&b, LS_MSG_AUDIO);
    ls_buf_put_be24(&b, 100); /* says 100 bytes, carries 3 */
    ls_buf_append(&b, junk, sizeof junk);
    raw_send(&r, 1, LS_MSG_AGGREGATE, &b);
    assert_true(run_until(raw_closed, &r, 3000));
    assert_true(logcapture_has("malformed media message"));
    assert_null(ls_hub_find(hub, "live/agg"));
    ls_buf_free(&b);
    assert_true(ls_stats.protocol_errors_total >= 4);
}

/* A publisher's aggregate messages reach players as separate messages. */
static void test_aggregate_from_publisher(void **state)
{
    struct raw r;
    struct peer play;
    struct ls_buf b, agg;
    size_t i;

    (void)state;
    raw_start(&r);
    raw_connect(&r, "live");
    ls_buf_init(&b, 0);
    ls_command_build_create_stream(&b, 2);
    raw_send(&r, 0, LS_MSG_COMMAND_AMF0, &b);
    ls_command_build_publish(&b, 0, "agg", NULL);
    raw_send(&r, 1, LS_MSG_COMMAND_AMF0, &b);
    assert_true(raw_wait(&r, 3));
    peer_start(&play, LS_CLIENT_PLAY, "live", "agg", false);
    assert_true(run_until(started_or_closed, &play, 3000));
    /* the whole fixture in one aggregate message */
    ls_buf_init(&agg, 0);
    for (i = 0; i < ntags; i++) {
        const struct ls_frame *t = tags[i];

        ls_buf_put_u8(&agg, t->type);
        ls_buf_put_be24(&agg, t->len);
        ls_buf_put_be24(&agg, t->timestamp & 0xffffff);
        ls_buf_put_u8(&agg, (uint8_t)(t->timestamp >> 24));
        ls_buf_put_be24(&agg, 0);
        ls_buf_append(&agg, t->data, t->len);
        ls_buf_put_be32(&agg, t->len + 11);
    }
    raw_send(&r, 1, LS_MSG_AGGREGATE, &agg);
    assert_true(wait_video(&play, fx_video));
    assert_int_equal(play.video, fx_video);
    assert_true(play.first_video_is_key);
    assert_false(play.ts_backwards);
    ls_buf_free(&agg);
    ls_buf_free(&b);
    peer_end(&play);
    raw_end(&r);
}

/* A player that stops reading is dropped after slow_timeout_ms (log line, counter); a
 * normal player of the same stream receives everything meanwhile. */
static void test_stalled_player_dropped(void **state)
{
    struct ls_hub_config hcfg = *ls_hub_config(hub);
    struct peer pub, stalled, normal;
    unsigned loop;

    (void)state;
    hcfg.queue_max_bytes = 262144;
    hcfg.slow_timeout_ms = 200;
    ls_hub_set_config(hub, &hcfg);
    publish_ok(&pub, "fast");
    send_tags(&pub, 0, ntags, 0);
    peer_start(&stalled, LS_CLIENT_PLAY, "live", "fast", false);
    peer_start(&normal, LS_CLIENT_PLAY, "live", "fast", false);
    assert_true(run_until(started_or_closed, &stalled, 3000));
    assert_true(run_until(started_or_closed, &normal, 3000));
    ls_conn_pause_reading(ls_client_conn(stalled.cl), true);
    /* ~34 KB per loop of the file: far more than the socket buffers and the queue hold */
    for (loop = 1; loop <= 400 && !logcapture_has("viewer dropped"); loop++) {
        send_tags(&pub, 1, ntags - 1, loop * 2040);
        run_for(2);
    }
    /* Which bound fires first (200 ms behind, or twice the queue bound in audio) depends
     * on scheduling; both are the slow-viewer policy and both must name their reason. */
    assert_true(logcapture_has("play live/fast: viewer dropped: stayed behind longer than the "
                        "slow-viewer timeout") ||
                logcapture_has("play live/fast: viewer dropped: queue past twice the viewer queue "
                        "bound"));
    assert_int_equal(ls_stats.slow_viewer_drops_total, 1);
    assert_true(wait_video(&normal, fx_video_after_key2 + (loop - 1) * fx_video));
    assert_int_equal(normal.video, fx_video_after_key2 + (loop - 1) * fx_video);
    assert_false(normal.ts_backwards);
    assert_false(normal.closed);
    assert_int_equal(ls_hub_subscriber_count(hub), 1);
    peer_end(&stalled);
    peer_end(&normal);
    peer_end(&pub);
}

static void test_listen_failures(void **state)
{
    char listen[64];
    struct ls_server *other;

    (void)state;
    assert_null(ls_server_new(base, hub, &scfg, "not an address"));
    assert_true(logcapture_has("cannot resolve listen address not an address"));
    snprintf(listen, sizeof listen, "127.0.0.1:%u",
             (unsigned)ntohs(((struct sockaddr_in *)&srv_sa)->sin_port));
    assert_null(ls_server_new(base, hub, &scfg, listen)); /* taken by the test's server */
    assert_true(logcapture_has("cannot listen on"));
    snprintf(listen, sizeof listen, "127.0.0.1:%d", free_port());
    other = ls_server_new(base, hub, &scfg, listen);
    assert_non_null(other);
    ls_server_free(other);
    ls_server_free(NULL);
}

/* Shutdown closes every session: publishers are unpublished, players hear the close. */
static void test_shutdown(void **state)
{
    struct peer pub, play;

    (void)state;
    publish_ok(&pub, "bye");
    send_tags(&pub, 0, ntags, 0);
    peer_start(&play, LS_CLIENT_PLAY, "live", "bye", false);
    assert_true(wait_video(&play, 5));
    ls_server_shutdown(srv);
    assert_int_equal(ls_server_session_count(srv), 0);
    assert_true(run_until(closed, &play, 3000));
    assert_true(run_until(closed, &pub, 3000));
    assert_true(logcapture_has("server shutting down"));
    assert_null(ls_hub_find(hub, "live/bye"));
    assert_int_equal(ls_server_connection_acquire(srv), LS_ELIMIT);
    peer_end(&play);
    peer_end(&pub);
}

/* ---- tests: hostile clients ---- */

/* Server-side sockets of the test's server (local port = its port, connected). */
static void server_fds(bool out[1024])
{
    uint16_t port = ntohs(((struct sockaddr_in *)&srv_sa)->sin_port);
    int fd;

    for (fd = 0; fd < 1024; fd++) {
        struct sockaddr_in a, p;
        socklen_t alen = sizeof a, plen = sizeof p;

        out[fd] = getsockname(fd, (struct sockaddr *)&a, &alen) == 0 &&
                  a.sin_family == AF_INET && ntohs(a.sin_port) == port &&
                  getpeername(fd, (struct sockaddr *)&p, &plen) == 0;
    }
}

/* The server's end of the connection accepted after `before` was taken. */
static int new_server_fd(const bool before[1024])
{
    bool now[1024];
    int fd, found = -1;

    server_fds(now);
    for (fd = 0; fd < 1024; fd++) {
        if (now[fd] && !before[fd]) {
            assert_int_equal(found, -1);
            found = fd;
        }
    }
    assert_true(found >= 0);
    return found;
}

static uint64_t plays_before;

static bool play_read(void *arg)
{
    (void)arg;
    return ls_stats.play_requests_total > plays_before;
}

/*
 * A viewer whose socket is gone between its play's admission and the first flush (a
 * reset timed into one loop turn): the flush inside the subscribe fails and closes the
 * session while the admission answer is still using it. Under ASan, any use of the freed
 * session is fatal. The failed write is produced deterministically by shutting the
 * server's end for writing after the play was read, before the (always deferred)
 * admission answer runs.
 */
static void test_viewer_gone_before_first_flush(void **state)
{
    struct peer pub;
    struct raw r;
    struct ls_buf b;
    bool before[1024];
    int sfd;

    (void)state;
    publish_ok(&pub, "gone");
    send_tags(&pub, 0, ntags, 0);
    run_for(50);
    server_fds(before);
    raw_start(&r);
    raw_connect(&r, "live");
    assert_true(raw_wait(&r, 1));
    sfd = new_server_fd(before);
    ls_buf_init(&b, 0);
    ls_command_build_create_stream(&b, 2);
    raw_send(&r, 0, LS_MSG_COMMAND_AMF0, &b);
    assert_true(raw_wait(&r, 2));
    plays_before = ls_stats.play_requests_total;
    ls_command_build_play(&b, 0, "gone", -1000, -1, true);
    raw_send(&r, 1, LS_MSG_COMMAND_AMF0, &b);
    ls_buf_free(&b);
    assert_true(run_until(play_read, NULL, 3000));
    assert_int_equal(shutdown(sfd, SHUT_WR), 0);
    assert_true(run_until(raw_closed, &r, 3000));
    run_for(50);
    assert_true(logcapture_has("play live/gone started"));
    assert_true(logcapture_has("closed (connection reset by peer) live/gone"));
    assert_int_equal(ls_hub_subscriber_count(hub), 0);
    assert_int_equal(ls_server_session_count(srv), 1); /* the publisher */
    /* the stream goes on for others */
    {
        struct peer play;

        peer_start(&play, LS_CLIENT_PLAY, "live", "gone", false);
        assert_true(wait_video(&play, 5));
        peer_end(&play);
    }
    peer_end(&pub);
}

/* The epoll descriptor of a fresh event base (its only anon_inode:[eventpoll] that
 * `before` did not list), or -1. */
static int eventpoll_fd(const bool before[1024])
{
    int fd;

    for (fd = 0; fd < 1024; fd++) {
        char path[64], target[64];
        ssize_t n;

        if (before[fd])
            continue;
        snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
        n = readlink(path, target, sizeof target - 1);
        if (n <= 0)
            continue;
        target[n] = '\0';
        if (strcmp(target, "anon_inode:[eventpoll]") == 0)
            return fd;
    }
    return -1;
}

static void open_fds(bool out[1024])
{
    int fd;

    for (fd = 0; fd < 1024; fd++)
        out[fd] = fcntl(fd, F_GETFD) != -1;
}

/*
 * A client whose connection cannot start (the event loop refuses its socket) is reported
 * by on_close from the loop, never from inside ls_client_start: the pointer returned is
 * valid, and the caller stores it before hearing anything. The failure is made by
 * pointing the base's epoll descriptor at /dev/null for the duration of the call.
 */
static void test_client_start_failure(void **state)
{
    struct event_base *b2;
    struct ls_client_config cfg;
    struct peer p;
    bool before[1024];
    int epfd, saved, devnull;
    uint64_t end;

    (void)state;
    open_fds(before);
    b2 = event_base_new();
    assert_non_null(b2);
    epfd = eventpoll_fd(before);
    if (epfd < 0) {
        event_base_free(b2);
        skip(); /* not an epoll base */
    }
    saved = dup(epfd);
    devnull = open("/dev/null", O_RDONLY);
    assert_true(saved >= 0 && devnull >= 0);
    ls_client_config_defaults(&cfg);
    memset(&p, 0, sizeof p);
    assert_int_equal(dup2(devnull, epfd), epfd);
    p.cl = ls_client_start(b2, (struct sockaddr *)&srv_sa, srv_salen, LS_CLIENT_PLAY, tc_url,
                           "live", "x", &cfg, &peer_ops, &p);
    assert_int_equal(dup2(saved, epfd), epfd);
    close(saved);
    close(devnull);
    assert_non_null(p.cl);
    open_clients++;
    assert_false(p.closed);              /* not from inside the call */
    assert_false(ls_client_started(p.cl)); /* and the client is there to ask */
    end = ls_now_ms() + 3000;
    while (!p.closed && ls_now_ms() < end)
        event_base_loop(b2, EVLOOP_ONCE | EVLOOP_NONBLOCK);
    assert_true(p.closed);
    assert_string_equal(p.why, "cannot start connection");
    assert_int_equal(p.err, LS_EIO);
    event_base_free(b2);
}

static void raw_ping(struct raw *r)
{
    struct ls_buf b;

    ls_buf_init(&b, 0);
    ls_control_write_ping_request(&b, 4242);
    assert_int_equal(ls_conn_send_buf(r->conn, &b), LS_OK);
    ls_conn_flush(r->conn);
    ls_buf_free(&b);
}

/* Keeps pinging until the server closes `r` or `ms` pass; true when it closed. */
static bool ping_until_closed(struct raw *r, unsigned ms)
{
    uint64_t end = ls_now_ms() + ms;

    while (!r->closed && ls_now_ms() < end) {
        raw_ping(r);
        run_for(100);
    }
    return r->closed;
}

/*
 * connect_timeout counts from accept whatever the client sends (pings all along here),
 * and again from the moment a play fails: a client that only dribbles bytes is closed.
 */
static void test_connect_timeout_is_absolute(void **state)
{
    struct raw r;
    struct ls_buf b;
    int i;

    (void)state;
    scfg.connect_timeout_ms = 1000;
    scfg.play_wait_timeout_ms = 1500;
    ls_server_set_config(srv, &scfg);
    raw_start(&r);
    raw_connect(&r, "live");
    assert_true(raw_wait(&r, 1));
    assert_true(ping_until_closed(&r, 5000));
    assert_true(r.pings > 3);
    assert_true(logcapture_has("closed: connect_timeout: neither publishing nor playing"));
    /* a play that fails returns the connection to idle: connect_timeout runs again */
    raw_start(&r);
    raw_connect(&r, "live");
    ls_buf_init(&b, 0);
    ls_command_build_create_stream(&b, 2);
    raw_send(&r, 0, LS_MSG_COMMAND_AMF0, &b);
    ls_command_build_play(&b, 0, "nobody", -1000, -1, true);
    raw_send(&r, 1, LS_MSG_COMMAND_AMF0, &b);
    ls_buf_free(&b);
    assert_true(ping_until_closed(&r, 8000));
    for (i = 0; i < r.ncmd && strcmp(r.cmd[i].code, "NetStream.Play.StreamNotFound") != 0; i++)
        ;
    assert_true(i < r.ncmd); /* it was playing (waiting) past the first deadline */
    assert_true(logcapture_has("play live/nobody failed: not live within play_wait_timeout"));
}

/* The client's end of the server-side socket `sfd` (both are in this process). */
static int client_fd_of(int sfd)
{
    struct sockaddr_in want, a;
    socklen_t len = sizeof want;
    int fd;

    assert_int_equal(getpeername(sfd, (struct sockaddr *)&want, &len), 0);
    for (fd = 0; fd < 1024; fd++) {
        len = sizeof a;
        if (fd != sfd && getsockname(fd, (struct sockaddr *)&a, &len) == 0 &&
            a.sin_family == AF_INET && a.sin_port == want.sin_port &&
            a.sin_addr.s_addr == want.sin_addr.s_addr)
            return fd;
    }
    fail();
    return -1;
}

/* `n` requests in one write: calls answered with _result (releaseStream), or of an
 * unknown method (answered with _error). */
static void raw_flood(struct raw *r, int kind, int n)
{
    struct ls_buf b, call;
    int i;

    ls_buf_init(&b, 0);
    ls_buf_init(&call, 0);
    ls_command_build_call(&call, kind == 0 ? "releaseStream" : "noSuchMethod", 5, NULL, 0);
    for (i = 0; i < n; i++)
        ls_chunk_write(&b, LS_CSID_COMMAND, LS_MSG_COMMAND_AMF0, 0, 0, call.data,
                       (uint32_t)call.len, ls_conn_out_chunk_size(r->conn));
    assert_int_equal(ls_buf_status(&b), LS_OK);
    assert_int_equal(ls_conn_send_buf(r->conn, &b), LS_OK);
    ls_conn_flush(r->conn);
    ls_buf_free(&call);
    ls_buf_free(&b);
}

/*
 * Requests whose answers the client never reads (calls answered with _result or _error):
 * the server closes it once max_control_queue_bytes of answers wait, instead of queueing
 * one per request for ever. (Pings cost nothing: at most one answer waits, test_conn.c.) Both ends get small socket buffers so the bound, not the
 * kernel's buffers, is what fills.
 */
static void test_reply_floods_closed(void **state)
{
    int kind;

    (void)state;
    ls_log_set_level(LS_LOG_INFO); /* a debug line per _error would fill the capture */
    for (kind = 0; kind < 2; kind++) {
        struct raw r;
        bool before[1024];
        int sfd, small = 4096, i;
        uint64_t errors = ls_stats.protocol_errors_total;

        logcapture_clear();
        server_fds(before);
        raw_start(&r);
        raw_connect(&r, "live");
        assert_true(raw_wait(&r, 1));
        sfd = new_server_fd(before);
        assert_int_equal(setsockopt(sfd, SOL_SOCKET, SO_SNDBUF, &small, sizeof small), 0);
        assert_int_equal(setsockopt(client_fd_of(sfd), SOL_SOCKET, SO_RCVBUF, &small,
                                    sizeof small), 0);
        ls_conn_pause_reading(r.conn, true);
        for (i = 0; i < 400 && !r.closed && !logcapture_has("peer does not read its replies"); i++) {
            raw_flood(&r, kind, 500);
            run_for(2);
        }
        run_for(50);
        assert_true(logcapture_has("closed: peer does not read its replies (max_control_queue_bytes)"));
        assert_true(ls_stats.protocol_errors_total > errors);
        raw_end(&r);
        assert_true(run_until(raw_closed, &r, 3000));
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_publish_then_play, setup, teardown),
        cmocka_unit_test_setup_teardown(test_play_waits_for_publisher, setup, teardown),
        cmocka_unit_test_setup_teardown(test_stream_not_found, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_names, setup, teardown),
        cmocka_unit_test_setup_teardown(test_duplicate_and_takeover, setup, teardown),
        cmocka_unit_test_setup_teardown(test_tokens, setup, teardown),
        cmocka_unit_test_setup_teardown(test_publish_denied_on_edge, setup, teardown),
        cmocka_unit_test_setup_teardown(test_max_connections, setup, teardown),
        cmocka_unit_test_setup_teardown(test_publish_claims, setup, teardown),
        cmocka_unit_test_setup_teardown(test_internal_pulls, setup, teardown),
        cmocka_unit_test_setup_teardown(test_pull_signature_replay, setup, teardown),
        cmocka_unit_test_setup_teardown(test_empty_secret_trusts_nobody, setup, teardown),
        cmocka_unit_test_setup_teardown(test_commands, setup, teardown),
        cmocka_unit_test_setup_teardown(test_protocol_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(test_aggregate_from_publisher, setup, teardown),
        cmocka_unit_test_setup_teardown(test_stalled_player_dropped, setup, teardown),
        cmocka_unit_test_setup_teardown(test_listen_failures, setup, teardown),
        cmocka_unit_test_setup_teardown(test_shutdown, setup, teardown),
        cmocka_unit_test_setup_teardown(test_viewer_gone_before_first_flush, setup, teardown),
        cmocka_unit_test_setup_teardown(test_client_start_failure, setup, teardown),
        cmocka_unit_test_setup_teardown(test_connect_timeout_is_absolute, setup, teardown),
        cmocka_unit_test_setup_teardown(test_reply_floods_closed, setup, teardown),
    };

    /* a client whose server end is gone gets EPIPE from writev, not the signal */
    signal(SIGPIPE, SIG_IGN);
    return cmocka_run_group_tests(tests, load_fixture, free_fixture);
}
