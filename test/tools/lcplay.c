/*
 * lcplay — a scriptable RTMP player for the integration tests, built on libstream's client.
 *
 *   lcplay [options] rtmp://HOST:PORT/APP/NAME
 *     -c N    N concurrent players (default 1)
 *     -t SEC  stop after SEC seconds (default 10)
 *     -k N    each player is done after N video keyframes (default: run until -t)
 *     -v N    each player is done after N video frames
 *     -3      objectEncoding 3 and AMF3 (type 17) commands, as Flash with AMF3 does
 *     -s      stall: stop reading right after Play.Start (a viewer that never reads)
 *     -r N    expect N stream restarts: stay through UnpublishNotify and count the media
 *             that arrives after each PublishNotify
 *     -p PCT  pace: each player (except with -s) must receive at least PCT% as many
 *             milliseconds of media timestamps as wall-clock time passed between its
 *             first media message and the end of the run (a real-time check with a
 *             margin: a live stream advances 100%)
 *     -g N    expect N gaps: pauses of more than 1 s without media (a publisher that
 *             stalled, was replaced or restarted; an edge retrying its upstream), each
 *             followed by video again (25+ frames after the last); each player's
 *             longest pause is printed as max_gap_ms
 *     -u      each player is done at its first NetStream.Play.UnpublishNotify (and must
 *             see one): checks that a publisher leaving is announced at once
 *     -e CODE expect a refusal: each player passes only when the server ends the play
 *             with this onStatus/_error code (e.g. NetStream.Play.BadName)
 *     -A APP  send this app in connect instead of the URL's (raw: for bad-id tests)
 *     -N NAME play this name instead of the URL's (raw: for bad-id tests)
 *
 * Prints one line per player and a summary; exits 0 when every player started, received
 * a video keyframe (unless -s), and saw its timestamps never go backwards within a track
 * (or, with -e, when every player was refused with CODE). SIGTERM or SIGINT ends the run
 * early, as the deadline does (results are still printed).
 */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/event.h>

#include "libstream/client.h"
#include "libstream/clock.h"
#include "libstream/codec.h"
#include "libstream/log.h"
#include "libstream/net.h"
#include "libstream/rtmp.h"
#include "libstream/streamid.h"

struct player {
    int index;
    struct ls_client *client;
    bool started, closed, done;
    int close_err;
    char close_why[96];
    unsigned video, audio, keyframes, data;
    unsigned video_after_restart, restarts_seen, unpublish_seen;
    unsigned ts_backwards;
    bool have_video_ts, have_audio_ts;
    uint32_t last_video_ts, last_audio_ts, first_ts, max_ts;
    bool have_first_ts;
    uint64_t first_media_ms, end_ms;   /* wall clock: first media message, close or end */
    uint64_t last_media_ms;
    unsigned gaps, video_after_gap;
    uint64_t max_gap_ms;        /* longest pause between two audio/video frames */
    uint64_t t_start_us, t_started_us, t_first_key_us; /* connect, Play.Start, 1st keyframe */
    int64_t first_key_unix_ms;  /* wall clock of the first keyframe, to compare with logs */
};

static uint64_t now_us(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

#define GAP_MS 1000

static struct event_base *base;
static struct player *players;
static int nplayers = 1, max_keyframes, max_video, expect_restarts, pace_pct, expect_gaps;
static const char *expect_code;
static bool stall, until_unpublish;
static int open_players;

static void player_done(struct player *p, const char *why)
{
    if (p->done)
        return;
    p->done = true;
    if (!p->closed)
        ls_client_close(p->client, why);
}

static void on_started(struct ls_client *cl, void *arg)
{
    struct player *p = arg;

    p->started = true;
    p->t_started_us = now_us();
    if (stall)
        ls_conn_pause_reading(ls_client_conn(cl), true);
}

static void on_status(struct ls_client *cl, void *arg, const char *level, const char *code)
{
    struct player *p = arg;

    (void)cl;
    (void)level;
    if (strcmp(code, "NetStream.Play.UnpublishNotify") == 0) {
        p->unpublish_seen++;
        if (until_unpublish)
            player_done(p, "unpublished");
    }
    else if (strcmp(code, "NetStream.Play.PublishNotify") == 0)
        p->restarts_seen++;
}

static void check_ts(struct player *p, bool *have, uint32_t *last, uint32_t ts)
{
    if (*have && (int32_t)(ts - *last) < 0)
        p->ts_backwards++;
    *have = true;
    *last = ts;
}

/* Pace and gap bookkeeping, on audio and video frames only: sequence headers replayed
 * from a cache carry the stream's old timestamps. */
static void note_media_time(struct player *p, uint32_t ts)
{
    uint64_t now = ls_now_ms();

    if (!p->have_first_ts) {
        p->have_first_ts = true;
        p->first_ts = p->max_ts = ts;
        p->first_media_ms = now;
    }
    if ((int32_t)(ts - p->max_ts) > 0)
        p->max_ts = ts;
    if (p->last_media_ms != 0 && now - p->last_media_ms > GAP_MS)
        p->gaps++;
    if (p->last_media_ms != 0 && now - p->last_media_ms > p->max_gap_ms)
        p->max_gap_ms = now - p->last_media_ms;
    p->last_media_ms = now;
}

static void on_media(struct ls_client *cl, void *arg, struct ls_frame *msg)
{
    struct player *p = arg;
    struct ls_video_info vi;

    (void)cl;
    if (msg->type == LS_MSG_VIDEO) {
        if (ls_codec_video_inspect(msg->data, msg->len, &vi, NULL) != LS_OK ||
            vi.packet != LS_VPKT_FRAME)
            return; /* sequence headers are not frames */
        note_media_time(p, msg->timestamp);
        p->video++;
        if (p->restarts_seen > 0)
            p->video_after_restart++;
        if (p->gaps > 0)
            p->video_after_gap++;
        if (vi.keyframe)
            if (p->keyframes++ == 0) {
                struct timespec wall;

                clock_gettime(CLOCK_REALTIME, &wall);
                p->t_first_key_us = now_us();
                p->first_key_unix_ms = (int64_t)wall.tv_sec * 1000 + wall.tv_nsec / 1000000;
            }
        check_ts(p, &p->have_video_ts, &p->last_video_ts, msg->timestamp);
    } else if (msg->type == LS_MSG_AUDIO) {
        struct ls_audio_info ai;

        if (ls_codec_audio_inspect(msg->data, msg->len, &ai, NULL) == LS_OK && ai.sequence_header)
            return;
        note_media_time(p, msg->timestamp);
        p->audio++;
        check_ts(p, &p->have_audio_ts, &p->last_audio_ts, msg->timestamp);
    } else {
        p->data++;
    }
    if ((max_keyframes > 0 && (int)p->keyframes >= max_keyframes &&
         (int)p->restarts_seen >= expect_restarts &&
         (expect_restarts == 0 || p->video_after_restart >= 25) &&
         (int)p->gaps >= expect_gaps && (expect_gaps == 0 || p->video_after_gap >= 25)) ||
        (max_video > 0 && (int)p->video >= max_video))
        player_done(p, "enough frames");
}

static void on_close(struct ls_client *cl, void *arg, int err, const char *why)
{
    struct player *p = arg;

    (void)cl;
    p->closed = true;
    p->end_ms = ls_now_ms();
    p->close_err = err;
    snprintf(p->close_why, sizeof p->close_why, "%s", why != NULL ? why : "");
    if (--open_players == 0)
        event_base_loopexit(base, NULL);
}

static const struct ls_client_ops player_ops = {
    .on_started = on_started,
    .on_status = on_status,
    .on_media = on_media,
    .on_close = on_close,
};

static void deadline_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    (void)arg;
    event_base_loopexit(base, NULL);
}

static void signal_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    (void)arg;
    event_base_loopexit(base, NULL);
}

static void usage(void)
{
    fprintf(stderr, "usage: lcplay [-c N] [-t SEC] [-k N] [-v N] [-3] [-s] [-r N] [-p PCT] "
                    "[-g N] [-u] [-e CODE] [-A APP] [-N NAME] rtmp://HOST:PORT/APP/NAME\n");
    exit(2);
}

int main(int argc, char **argv)
{
    struct ls_client_config cfg;
    struct ls_rtmp_url url;
    struct sockaddr_storage ss;
    socklen_t sslen;
    char hostport[300];
    struct timeval deadline = { 10, 0 };
    struct event *deadline_ev, *sigterm_ev, *sigint_ev;
    int opt, i, failed = 0;
    unsigned total_video = 0;
    const char *app = NULL, *name = NULL;
    uint64_t run_end_ms;

    ls_client_config_defaults(&cfg);
    while ((opt = getopt(argc, argv, "c:t:k:v:3sr:p:g:ue:A:N:")) != -1) {
        switch (opt) {
        case 'c': nplayers = atoi(optarg); break;
        case 't': deadline.tv_sec = atoi(optarg); break;
        case 'k': max_keyframes = atoi(optarg); break;
        case 'v': max_video = atoi(optarg); break;
        case '3': cfg.object_encoding = 3; cfg.amf3_commands = true; break;
        case 's': stall = true; break;
        case 'r': expect_restarts = atoi(optarg); break;
        case 'p': pace_pct = atoi(optarg); break;
        case 'g': expect_gaps = atoi(optarg); break;
        case 'u': until_unpublish = true; break;
        case 'e': expect_code = optarg; break;
        case 'A': app = optarg; break;
        case 'N': name = optarg; break;
        default: usage();
        }
    }
    if (optind != argc - 1 || nplayers < 1)
        usage();
    ls_log_init("lcplay");
    ls_log_set_level(LS_LOG_WARNING);
    if (ls_rtmp_url_parse(argv[optind], &url) != LS_OK) {
        fprintf(stderr, "lcplay: bad URL %s\n", argv[optind]);
        return 2;
    }
    snprintf(hostport, sizeof hostport, strchr(url.host, ':') ? "[%s]:%u" : "%s:%u", url.host,
             url.port);
    if (ls_net_resolve(hostport, false, &ss, &sslen) != LS_OK) {
        fprintf(stderr, "lcplay: cannot resolve %s\n", hostport);
        return 2;
    }
    cfg.start_timeout_ms = (unsigned)deadline.tv_sec * 1000;
    base = event_base_new();
    players = calloc((size_t)nplayers, sizeof *players);
    if (base == NULL || players == NULL)
        return 1;
    for (i = 0; i < nplayers; i++) {
        players[i].index = i;
        players[i].t_start_us = now_us();
        players[i].client = ls_client_start(base, (struct sockaddr *)&ss, sslen, LS_CLIENT_PLAY,
                                            url.tc_url, app != NULL ? app : url.app,
                                            name != NULL ? name : url.name, &cfg, &player_ops,
                                            &players[i]);
        if (players[i].client == NULL) {
            fprintf(stderr, "lcplay: cannot start player %d\n", i);
            players[i].closed = true;
            continue;
        }
        open_players++;
    }
    deadline_ev = evtimer_new(base, deadline_cb, NULL);
    evtimer_add(deadline_ev, &deadline);
    sigterm_ev = evsignal_new(base, SIGTERM, signal_cb, NULL);
    sigint_ev = evsignal_new(base, SIGINT, signal_cb, NULL);
    evsignal_add(sigterm_ev, NULL);
    evsignal_add(sigint_ev, NULL);
    if (open_players > 0)
        event_base_dispatch(base);
    run_end_ms = ls_now_ms();
    for (i = 0; i < nplayers; i++) {
        struct player *p = &players[i];
        uint64_t end = p->closed ? p->end_ms : run_end_ms;
        uint64_t wall_ms = p->have_first_ts && end > p->first_media_ms ? end - p->first_media_ms : 0;
        uint32_t media_ms = p->have_first_ts ? p->max_ts - p->first_ts : 0;
        bool paced = stall || pace_pct == 0 ||
                     (p->have_first_ts && (uint64_t)media_ms * 100 >= (uint64_t)pace_pct * wall_ms);
        bool ok = p->started && p->ts_backwards == 0 &&
                  (stall || p->keyframes > 0) &&
                  (int)p->restarts_seen >= expect_restarts &&
                  (expect_restarts == 0 || p->video_after_restart >= 25) &&
                  (!p->closed || p->done) && paced &&
                  (int)p->gaps >= expect_gaps && (expect_gaps == 0 || p->video_after_gap >= 25) &&
                  (!until_unpublish || p->unpublish_seen > 0);

        if (expect_code != NULL)
            ok = !p->started && p->closed && strcmp(p->close_why, expect_code) == 0;
        total_video += p->video;
        if (!ok)
            failed++;
        printf("player=%d ok=%d started=%d video=%u keyframes=%u audio=%u data=%u "
               "ts_backwards=%u unpublish=%u republish=%u video_after_restart=%u first_ts=%u "
               "last_video_ts=%u media_ms=%u wall_ms=%llu gaps=%u video_after_gap=%u "
               "max_gap_ms=%llu start_ms=%.1f first_key_ms=%.1f first_key_at=%lld closed=%d why=\"%s\"\n",
               i, ok, p->started, p->video, p->keyframes, p->audio, p->data, p->ts_backwards,
               p->unpublish_seen, p->restarts_seen, p->video_after_restart, p->first_ts,
               p->last_video_ts, media_ms, (unsigned long long)wall_ms, p->gaps,
               p->video_after_gap, (unsigned long long)p->max_gap_ms,
               p->t_started_us ? (double)(p->t_started_us - p->t_start_us) / 1000 : -1.0,
               p->t_first_key_us ? (double)(p->t_first_key_us - p->t_start_us) / 1000 : -1.0,
               (long long)p->first_key_unix_ms, p->closed && !p->done, p->close_why);
    }
    printf("players=%d ok=%d failed=%d video_frames=%u\n", nplayers, nplayers - failed, failed,
           total_video);
    /* Close what is still open, so servers see orderly disconnects. */
    for (i = 0; i < nplayers; i++)
        if (!players[i].closed)
            player_done(&players[i], "deadline");
    while (open_players > 0 && event_base_loop(base, EVLOOP_ONCE) == 0)
        ;
    event_free(deadline_ev);
    event_free(sigterm_ev);
    event_free(sigint_ev);
    event_base_free(base);
    free(players);
    return failed == 0 ? 0 : 1;
}
