/*
 * lcflood — a hostile RTMP publisher for the integration tests, built on libstream's
 * client: the fixture's metadata, sequence headers and first keyframe (so the stream is
 * live and a GOP cache opens), then a flood of tiny media messages that never reach a
 * second keyframe.
 *
 *   lcflood [options] rtmp://HOST:PORT/APP/NAME
 *     -n N     tiny messages to send after the keyframe (default 1000000)
 *     -s SIZE  payload bytes of each (0 or 1, default 1): alternately video inter frames
 *              and audio, as small as a message can be
 *     -t SEC   give up after SEC seconds (default 60)
 *
 * The messages are queued as the socket drains (never more than 256 KiB ahead), so the
 * tool itself stays small. Prints one line
 *   result=done|failed sent=N closed=0|1 why="…"
 * and exits 0 when all N were sent and the connection is still open at the end.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "libstream/client.h"
#include "libstream/codec.h"
#include "libstream/conn.h"
#include "libstream/log.h"
#include "libstream/net.h"
#include "libstream/outq.h"
#include "libstream/rtmp.h"
#include "libstream/streamid.h"
#include "support/flv_file.h"

#define FLOOD_AHEAD_BYTES (256u * 1024)

static struct event_base *base;
static struct ls_client *client;
static struct flv_file file;
static bool started, closed, opened;
static unsigned long want = 1000000, sent;
static uint32_t msg_size = 1;
static char close_why[160];

/* The fixture up to and including its first keyframe. */
static int send_opening(void)
{
    size_t i;

    for (i = 0; i < file.ntags; i++) {
        const struct ls_frame *t = file.tags[i];
        struct ls_video_info vi;

        if (ls_client_send(client, t) != LS_OK)
            return -1;
        if (t->type == LS_MSG_VIDEO &&
            ls_codec_video_inspect(t->data, t->len, &vi, NULL) == LS_OK && vi.keyframe)
            return 0;
    }
    return -1;
}

static void pump(void)
{
    static const uint8_t video_byte = 0x27, audio_byte = 0xAF; /* inter frame; AAC */
    struct ls_outq *q = ls_conn_outq(ls_client_conn(client));

    while (!closed && sent < want && ls_outq_bytes(q) < FLOOD_AHEAD_BYTES) {
        uint8_t type = sent % 2 == 0 ? LS_MSG_VIDEO : LS_MSG_AUDIO;
        struct ls_frame *f = ls_frame_new_copy(type, 40 + (uint32_t)(sent / 50), 0,
                                               type == LS_MSG_VIDEO ? &video_byte : &audio_byte,
                                               msg_size);

        if (f == NULL || ls_client_send(client, f) != LS_OK) {
            ls_frame_unref(f);
            ls_client_close(client, "cannot queue");
            return;
        }
        ls_frame_unref(f);
        sent++;
    }
}

static void tick_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    (void)arg;
    if (!started || closed)
        return;
    if (!opened) {
        opened = true;
        if (send_opening() != 0) {
            ls_client_close(client, "cannot send the opening");
            return;
        }
    }
    pump();
    if (sent >= want && ls_outq_empty(ls_conn_outq(ls_client_conn(client))))
        event_base_loopexit(base, NULL);
}

static void on_started(struct ls_client *cl, void *arg)
{
    (void)cl;
    (void)arg;
    started = true;
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

static const struct ls_client_ops flood_ops = {
    .on_started = on_started,
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
    fprintf(stderr, "usage: lcflood [-n N] [-s 0|1] [-t SEC] rtmp://HOST:PORT/APP/NAME\n");
    exit(2);
}

int main(int argc, char **argv)
{
    struct ls_client_config cfg;
    static struct ls_rtmp_url url;
    struct sockaddr_storage ss;
    socklen_t sslen;
    char hostport[300], err[256];
    struct timeval deadline = { 60, 0 }, tick = { 0, 1000 };
    struct event *deadline_ev, *tick_ev;
    bool ok;
    int opt;

    ls_client_config_defaults(&cfg);
    while ((opt = getopt(argc, argv, "n:s:t:")) != -1) {
        switch (opt) {
        case 'n': want = strtoul(optarg, NULL, 10); break;
        case 's': msg_size = atoi(optarg) != 0; break;
        case 't': deadline.tv_sec = atoi(optarg); break;
        default: usage();
        }
    }
    if (optind != argc - 1)
        usage();
    ls_log_init("lcflood");
    ls_log_set_level(LS_LOG_WARNING);
    if (ls_rtmp_url_parse(argv[optind], &url) != LS_OK) {
        fprintf(stderr, "lcflood: bad URL %s\n", argv[optind]);
        return 2;
    }
    if (flv_file_load("test/fixtures/ffmpeg_h264_aac.flv", &file, err, sizeof err) != 0) {
        fprintf(stderr, "lcflood: %s\n", err);
        return 2;
    }
    snprintf(hostport, sizeof hostport, strchr(url.host, ':') ? "[%s]:%u" : "%s:%u", url.host,
             url.port);
    if (ls_net_resolve(hostport, false, &ss, &sslen) != LS_OK) {
        fprintf(stderr, "lcflood: cannot resolve %s\n", hostport);
        return 2;
    }
    base = event_base_new();
    if (base == NULL)
        return 1;
    client = ls_client_start(base, (struct sockaddr *)&ss, sslen, LS_CLIENT_PUBLISH, url.tc_url,
                             url.app, url.name, &cfg, &flood_ops, NULL);
    if (client == NULL) {
        fprintf(stderr, "lcflood: cannot start the client\n");
        return 1;
    }
    deadline_ev = evtimer_new(base, deadline_cb, NULL);
    tick_ev = event_new(base, -1, EV_PERSIST, tick_cb, NULL);
    evtimer_add(deadline_ev, &deadline);
    event_add(tick_ev, &tick);
    event_base_dispatch(base);

    ok = started && !closed && sent >= want;
    printf("result=%s sent=%lu closed=%d why=\"%s\"\n", ok ? "done" : "failed", sent, closed,
           close_why);
    fflush(stdout);
    if (!closed) {
        ls_client_close(client, "done");
        while (!closed && event_base_loop(base, EVLOOP_ONCE) == 0)
            ;
    }
    event_free(deadline_ev);
    event_free(tick_ev);
    event_base_free(base);
    flv_file_free(&file);
    return ok ? 0 : 1;
}
