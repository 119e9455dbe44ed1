/*
 * lcpub — a scriptable RTMP publisher for the integration tests, built on libstream's
 * client and FLV reader.
 *
 *   lcpub [options] rtmp://HOST:PORT/APP/NAME[?query] [FILE.flv]
 *     -t SEC   publish for SEC seconds, looping the file in real time (default 10)
 *     -x       exit as soon as the publish is answered (Publish.Start or a refusal)
 *     -A APP   send this app in connect instead of the URL's (raw: for bad-id tests)
 *     -N NAME  publish this name instead of the URL's (raw: for bad-id tests)
 *
 * FILE defaults to test/fixtures/ffmpeg_h264_aac.flv. Tags are sent when their timestamp
 * is due on the wall clock (like ffmpeg -re); each loop continues the timeline and, like
 * ffmpeg -stream_loop, leaves out the metadata and sequence headers already sent (and the
 * end-of-sequence marker).
 *
 * Prints every onStatus as "status LEVEL CODE" (so tests can check the exact code a
 * server answered), then one summary line
 *   result=started|refused|failed code=CODE sent=N media_ms=N closed=0|1 why="…"
 * Exit status: 0 when the publish started and (without -x) lasted until the deadline;
 * 1 when it was refused, failed, or was closed early by the server; 2 on usage errors.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "libstream/client.h"
#include "libstream/clock.h"
#include "libstream/codec.h"
#include "libstream/flv.h"
#include "libstream/log.h"
#include "libstream/net.h"
#include "libstream/rtmp.h"
#include "libstream/streamid.h"
#include "support/flv_file.h"

#define PUB_TICK_MS 10

static struct event_base *base;
static struct ls_client *client;
static struct ls_frame **tags;
static size_t ntags;
static uint32_t loop_len_ms;   /* a loop's duration: last timestamp + one frame */
static bool exit_on_answer, started, closed;
static char last_code[128], close_why[160];
static uint64_t start_ms;
static size_t next_tag;
static uint32_t loop_offset;
static unsigned long sent;
static uint32_t last_sent_ts;

static int load_flv(const char *path)
{
    struct flv_file file;
    char err[512];

    if (flv_file_load(path, &file, err, sizeof err) != 0) {
        fprintf(stderr, "lcpub: %s\n", err);
        return -1;
    }
    tags = file.tags;
    ntags = file.ntags;
    loop_len_ms = file.loop_ms;
    return 0;
}

/* Metadata and decoder configurations: sent once, at the start. */
static bool is_header(const struct ls_frame *t)
{
    struct ls_video_info vi;
    struct ls_audio_info ai;

    if (t->type == LS_MSG_DATA_AMF0)
        return true;
    if (t->type == LS_MSG_VIDEO)
        return ls_codec_video_inspect(t->data, t->len, &vi, NULL) == LS_OK &&
               vi.packet == LS_VPKT_SEQUENCE_HEADER;
    if (t->type == LS_MSG_AUDIO)
        return ls_codec_audio_inspect(t->data, t->len, &ai, NULL) == LS_OK && ai.sequence_header;
    return false;
}

/* ffmpeg's muxer ends a file with an AVC end-of-sequence: never sent mid-stream. */
static bool is_end_of_sequence(const struct ls_frame *t)
{
    struct ls_video_info vi;

    return t->type == LS_MSG_VIDEO && ls_codec_video_inspect(t->data, t->len, &vi, NULL) == LS_OK &&
           vi.packet == LS_VPKT_END_OF_SEQUENCE;
}

/* Sends every tag that is due on the wall clock. */
static void pump(void)
{
    uint64_t elapsed = ls_now_ms() - start_ms;

    while (!closed) {
        const struct ls_frame *t = tags[next_tag];
        uint32_t ts = t->timestamp + loop_offset;
        struct ls_frame *out;
        int rc;

        if (ts > elapsed)
            break;
        if ((loop_offset > 0 && is_header(t)) || is_end_of_sequence(t)) {
            /* later loops continue the same stream, as ffmpeg -stream_loop does */
            if (++next_tag == ntags) {
                next_tag = 0;
                loop_offset += loop_len_ms;
            }
            continue;
        }
        out = ls_frame_new_copy(t->type, ts, 0, t->data, t->len);
        if (out == NULL)
            break;
        rc = ls_client_send(client, out);
        ls_frame_unref(out);
        if (rc != LS_OK)
            break;
        sent++;
        last_sent_ts = ts;
        if (++next_tag == ntags) {
            next_tag = 0;
            loop_offset += loop_len_ms;
        }
    }
}

static void tick_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    (void)arg;
    if (started && !closed)
        pump();
}

static void on_started(struct ls_client *cl, void *arg)
{
    (void)cl;
    (void)arg;
    started = true;
    start_ms = ls_now_ms();
    if (exit_on_answer) {
        ls_client_close(client, "answered");
        return;
    }
    pump();
}

static void on_status(struct ls_client *cl, void *arg, const char *level, const char *code)
{
    (void)cl;
    (void)arg;
    printf("status %s %s\n", level, code);
    fflush(stdout);
    snprintf(last_code, sizeof last_code, "%s", code);
}

static void on_close(struct ls_client *cl, void *arg, int err, const char *why)
{
    (void)cl;
    (void)arg;
    (void)err;
    closed = true;
    snprintf(close_why, sizeof close_why, "%s", why != NULL ? why : "");
    event_base_loopexit(base, NULL);
}

static const struct ls_client_ops pub_ops = {
    .on_started = on_started,
    .on_status = on_status,
    .on_close = on_close,
};

static void deadline_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    (void)arg;
    event_base_loopexit(base, NULL);
}

static void usage(void)
{
    fprintf(stderr, "usage: lcpub [-t SEC] [-x] [-A APP] [-N NAME] rtmp://HOST:PORT/APP/NAME "
                    "[FILE.flv]\n");
    exit(2);
}

int main(int argc, char **argv)
{
    struct ls_client_config cfg;
    static struct ls_rtmp_url url;
    struct sockaddr_storage ss;
    socklen_t sslen;
    char hostport[300];
    struct timeval deadline = { 10, 0 };
    struct timeval tick = { 0, PUB_TICK_MS * 1000 };
    struct event *deadline_ev, *tick_ev;
    const char *app = NULL, *name = NULL, *file = "test/fixtures/ffmpeg_h264_aac.flv";
    bool early_close, ok;
    size_t i;
    int opt;

    ls_client_config_defaults(&cfg);
    while ((opt = getopt(argc, argv, "t:xA:N:")) != -1) {
        switch (opt) {
        case 't': deadline.tv_sec = atoi(optarg); break;
        case 'x': exit_on_answer = true; break;
        case 'A': app = optarg; break;
        case 'N': name = optarg; break;
        default: usage();
        }
    }
    if (optind != argc - 1 && optind != argc - 2)
        usage();
    if (optind == argc - 2)
        file = argv[optind + 1];
    ls_log_init("lcpub");
    ls_log_set_level(LS_LOG_WARNING);
    if (ls_rtmp_url_parse(argv[optind], &url) != LS_OK) {
        fprintf(stderr, "lcpub: bad URL %s\n", argv[optind]);
        return 2;
    }
    if (load_flv(file) != 0)
        return 2;
    snprintf(hostport, sizeof hostport, strchr(url.host, ':') ? "[%s]:%u" : "%s:%u", url.host,
             url.port);
    if (ls_net_resolve(hostport, false, &ss, &sslen) != LS_OK) {
        fprintf(stderr, "lcpub: cannot resolve %s\n", hostport);
        return 2;
    }
    cfg.start_timeout_ms = (unsigned)deadline.tv_sec * 1000;
    base = event_base_new();
    if (base == NULL)
        return 1;
    client = ls_client_start(base, (struct sockaddr *)&ss, sslen, LS_CLIENT_PUBLISH, url.tc_url,
                             app != NULL ? app : url.app, name != NULL ? name : url.name, &cfg,
                             &pub_ops, NULL);
    if (client == NULL) {
        fprintf(stderr, "lcpub: cannot start the client\n");
        return 1;
    }
    deadline_ev = evtimer_new(base, deadline_cb, NULL);
    tick_ev = event_new(base, -1, EV_PERSIST, tick_cb, NULL);
    evtimer_add(deadline_ev, &deadline);
    event_add(tick_ev, &tick);
    event_base_dispatch(base);

    early_close = closed && !exit_on_answer;
    ok = started && (exit_on_answer || !early_close);
    printf("result=%s code=%s sent=%lu media_ms=%u closed=%d why=\"%s\"\n",
           started ? "started" : last_code[0] != '\0' ? "refused" : "failed",
           last_code[0] != '\0' ? last_code : "-", sent, last_sent_ts, early_close, close_why);
    fflush(stdout);
    if (!closed) {
        ls_client_close(client, "deadline");
        while (!closed && event_base_loop(base, EVLOOP_ONCE) == 0)
            ;
    }
    event_free(deadline_ev);
    event_free(tick_ev);
    event_base_free(base);
    for (i = 0; i < ntags; i++)
        ls_frame_unref(tags[i]);
    free(tags);
    return ok ? 0 : 1;
}
