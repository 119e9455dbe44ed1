/*
 * floorsrv — the "floor" servers of `make bench`: the least work a fan-out server can do
 * to deliver one live stream to many sockets, so the benchmark can say how far a real
 * server is from the cost of the socket writes themselves.
 *
 *   floorsrv -l HOST:PORT (-u rtmp://HOST:PORT/APP/NAME | -f FILE.flv)
 *            [-m message|batched] [-w WINDOW_MS] [-q BYTES] [-N]
 *
 * No protocol work towards viewers: no handshake, no commands, no parsing of anything a
 * viewer sends. The stream comes either from an origin, pulled once with libstream's RTMP
 * client exactly as an edge pulls it (-u: `make bench` pulls from the same spd as epd, so
 * both get the same input, bursts included), or from an FLV file read at start-up and
 * played at real-time pace, looped with continuous timestamps (-f). The timing of the
 * input matters to a batching server: ffmpeg -re publishes in bursts (about one per video
 * frame), which a file paced message by message does not reproduce.
 * Each message is chunked once, exactly as livecluster's hub does (type-0 header
 * with the absolute timestamp, type-3 continuations, chunk size 4096, message stream 1,
 * csid 5 data / 6 audio / 7 video), into one refcounted blob (struct ls_frame) that every
 * viewer's queue (struct ls_outq) references. A viewer that connects gets Set Chunk Size,
 * the metadata, the sequence headers and the GOP since the last keyframe at once — the
 * same start a GOP-caching server gives — and then the live messages. rtmpbench reads it
 * with a raw:// URL.
 *
 * Two modes (docs/architecture.md decision 2 was measured with these):
 *   message  every message is written to every socket as it arrives (one writev per
 *            message per viewer; what nginx-rtmp does);
 *   batched  messages are queued by reference; the first message queued after a flush
 *            arms a timer of one window (-w, default 20 ms, as the hub does) that flushes
 *            every socket with one writev; a new viewer's first flush is immediate.
 *
 * Viewer sockets get TCP_NODELAY, as livecluster's do (decision 4); -N leaves Nagle on, as
 * nginx-rtmp does, to measure what the kernel's coalescing of small writes is worth.
 *
 * A viewer whose queue exceeds -q bytes (default 4 MiB) is disconnected. Viewer sockets
 * live in a plain epoll set of their own; libevent runs the loop only because the pull
 * client needs it (the epoll fd is one readable event in it). SIGTERM/SIGINT exit cleanly.
 */
#include <errno.h>
#include <getopt.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#include "libstream/buf.h"
#include "libstream/chunk.h"
#include "libstream/client.h"
#include "libstream/codec.h"
#include "libstream/control.h"
#include "libstream/flv.h"
#include "libstream/frame.h"
#include "libstream/log.h"
#include "libstream/net.h"
#include "libstream/outq.h"
#include "libstream/rtmp.h"
#include "libstream/streamid.h"
#include "support/flv_file.h"

#define CHUNK_SIZE 4096u
#define STREAM_ID 1u
#define MAX_EVENTS 256

struct viewer {
    int fd;
    struct ls_outq q;
    bool want_out;      /* EPOLLOUT armed */
    bool dirty;         /* in the flush list (batched mode) */
    struct viewer *next_dirty;
    struct viewer *prev, *next;
};

static bool batched;
static bool nagle;      /* -N: leave Nagle on, as nginx-rtmp does (no TCP_NODELAY) */
static unsigned window_ms = 20;
static size_t queue_max = 4u << 20;
static int ep, lfd;
static struct event_base *base;
static struct event *flush_ev, *pace_ev, *ep_ev, *accept_ev, *sig_int, *sig_term;

/* -f: the file's tags, played in a loop */
static struct ls_frame **tags;
static size_t ntags, next_tag;
static uint32_t first_ts, loop_ms, offset;
static unsigned loops;
static int64_t t0;

/* -u: the pull */
static struct ls_client *pull;
static bool pull_started;

static struct viewer *viewers;   /* all viewers */
static struct viewer *dirty;     /* batched: viewers with queued bytes */
static unsigned nviewers;

/* the start a new viewer gets: one reference each */
static struct ls_frame *start_chunk_size, *meta, *vseq, *aseq;
static struct ls_frame **gop;
static size_t ngop, gop_cap;

static uint64_t bytes_out, drops, messages;

static int64_t now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void fatal(const char *what, const char *detail)
{
    fprintf(stderr, "floorsrv: %s%s%s\n", what, detail ? ": " : "", detail ? detail : "");
    exit(1);
}

static void load(const char *path)
{
    struct flv_file file;
    char err[512];

    if (flv_file_load(path, &file, err, sizeof err) != 0)
        fatal(err, NULL);
    tags = file.tags;
    ntags = file.ntags;
    first_ts = file.first_ts;
    loop_ms = file.loop_ms;
}

/* ---- viewers ---- */

static void viewer_close(struct viewer *v)
{
    struct viewer **pp;

    epoll_ctl(ep, EPOLL_CTL_DEL, v->fd, NULL);
    close(v->fd);
    ls_outq_clear(&v->q);
    if (v->prev != NULL)
        v->prev->next = v->next;
    else
        viewers = v->next;
    if (v->next != NULL)
        v->next->prev = v->prev;
    if (v->dirty)
        for (pp = &dirty; *pp != NULL; pp = &(*pp)->next_dirty)
            if (*pp == v) {
                *pp = v->next_dirty;
                break;
            }
    nviewers--;
    free(v);
}

/* Writes what the socket takes; false when the viewer was closed. */
static bool viewer_write(struct viewer *v)
{
    ssize_t n = ls_outq_write(&v->q, v->fd);
    struct epoll_event ev;

    if (n == -1) {
        viewer_close(v);
        return false;
    }
    bytes_out += (uint64_t)n;
    if (ls_outq_empty(&v->q) == !v->want_out)
        return true; /* EPOLLOUT already armed exactly when bytes are left */
    v->want_out = !ls_outq_empty(&v->q);
    ev.events = EPOLLIN | (v->want_out ? EPOLLOUT : 0u);
    ev.data.ptr = v;
    epoll_ctl(ep, EPOLL_CTL_MOD, v->fd, &ev);
    return true;
}

static bool viewer_push(struct viewer *v, struct ls_frame *blob)
{
    if (ls_outq_push(&v->q, ls_frame_ref(blob), LS_OUTQ_KEEP) != LS_OK ||
        ls_outq_bytes(&v->q) > queue_max) {
        drops++;
        viewer_close(v);
        return false;
    }
    return true;
}

static void accept_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    (void)arg;
    for (;;) {
        int cfd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC), one = 1;
        struct viewer *v;
        struct epoll_event ev;
        size_t i;

        if (cfd == -1)
            return;
        if (!nagle)
            setsockopt(cfd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        v = calloc(1, sizeof *v);
        if (v == NULL) {
            close(cfd);
            continue;
        }
        v->fd = cfd;
        ls_outq_init(&v->q);
        ev.events = EPOLLIN;
        ev.data.ptr = v;
        if (epoll_ctl(ep, EPOLL_CTL_ADD, cfd, &ev) == -1) {
            close(cfd);
            free(v);
            continue;
        }
        v->next = viewers;
        if (viewers != NULL)
            viewers->prev = v;
        viewers = v;
        nviewers++;
        if (!viewer_push(v, start_chunk_size))
            continue;
        if ((meta != NULL && !viewer_push(v, meta)) || (vseq != NULL && !viewer_push(v, vseq)) ||
            (aseq != NULL && !viewer_push(v, aseq)))
            continue;
        for (i = 0; i < ngop; i++)
            if (!viewer_push(v, gop[i]))
                break;
        if (i == ngop)
            viewer_write(v); /* a new viewer's first flush is immediate */
    }
}

/* The viewers' epoll set became readable: closes, and sockets with room again. */
static void ep_cb(evutil_socket_t fd, short what, void *arg)
{
    struct epoll_event evs[MAX_EVENTS];
    int n, i;

    (void)fd;
    (void)what;
    (void)arg;
    do {
        n = epoll_wait(ep, evs, MAX_EVENTS, 0);
        for (i = 0; i < n; i++) {
            struct viewer *v = evs[i].data.ptr;

            if (evs[i].events & (EPOLLIN | EPOLLERR | EPOLLHUP)) {
                uint8_t sink[4096];
                ssize_t k = recv(v->fd, sink, sizeof sink, 0);

                if (k == 0 || (k == -1 && errno != EAGAIN && errno != EINTR)) {
                    viewer_close(v);
                    continue;
                }
            }
            if (evs[i].events & EPOLLOUT)
                viewer_write(v);
        }
    } while (n == MAX_EVENTS);
}

/* ---- the stream ---- */

static void cache_set(struct ls_frame **slot, struct ls_frame *blob)
{
    ls_frame_unref(*slot);
    *slot = ls_frame_ref(blob);
}

static void gop_reset(void)
{
    size_t i;

    for (i = 0; i < ngop; i++)
        ls_frame_unref(gop[i]);
    ngop = 0;
}

static void gop_add(struct ls_frame *blob)
{
    if (ngop == gop_cap) {
        size_t cap = gop_cap ? gop_cap * 2 : 256;
        struct ls_frame **g = realloc(gop, cap * sizeof *g);

        if (g == NULL)
            return;
        gop = g;
        gop_cap = cap;
    }
    gop[ngop++] = ls_frame_ref(blob);
}

static void flush_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    (void)arg;
    while (dirty != NULL) {
        struct viewer *v = dirty;

        dirty = v->next_dirty;
        v->dirty = false;
        if (!v->want_out)
            viewer_write(v);
    }
}

/* One message from the source: encode once, cache, fan out. */
static void deliver(uint8_t type, uint32_t ts, const uint8_t *data, uint32_t len)
{
    uint32_t csid = type == LS_MSG_AUDIO ? LS_CSID_AUDIO
                    : type == LS_MSG_VIDEO ? LS_CSID_VIDEO : LS_CSID_DATA;
    size_t size = ls_chunk_encoded_size(csid, ts, len, CHUNK_SIZE);
    struct ls_frame *blob = ls_frame_new(type, ts, STREAM_ID, (uint32_t)size);
    struct viewer *v, *next;

    if (blob == NULL)
        return;
    messages++;
    ls_chunk_write_mem(blob->data, csid, type, ts, STREAM_ID, data, len, CHUNK_SIZE);
    if (type == LS_MSG_VIDEO) {
        struct ls_video_info vi;

        if (ls_codec_video_inspect(data, len, &vi, NULL) == LS_OK) {
            if (vi.packet == LS_VPKT_SEQUENCE_HEADER) {
                cache_set(&vseq, blob);
            } else if (vi.packet == LS_VPKT_FRAME) {
                if (vi.keyframe)
                    gop_reset();
                if (ngop > 0 || vi.keyframe)
                    gop_add(blob);
            }
        }
    } else if (type == LS_MSG_AUDIO) {
        struct ls_audio_info ai;

        if (ls_codec_audio_inspect(data, len, &ai, NULL) == LS_OK && ai.sequence_header)
            cache_set(&aseq, blob);
        else if (ngop > 0)
            gop_add(blob);
    } else {
        cache_set(&meta, blob);
    }
    for (v = viewers; v != NULL; v = next) {
        next = v->next;
        if (!viewer_push(v, blob))
            continue;
        if (!batched) {
            if (!v->want_out)
                viewer_write(v);
        } else if (!v->dirty) {
            v->dirty = true;
            v->next_dirty = dirty;
            dirty = v;
        }
    }
    if (batched && dirty != NULL && !evtimer_pending(flush_ev, NULL)) {
        struct timeval tv = { window_ms / 1000, (window_ms % 1000) * 1000 };

        evtimer_add(flush_ev, &tv);
    }
    ls_frame_unref(blob);
}

/* -f: sends the messages that are due, looping with continuous timestamps. */
static void pace_cb(evutil_socket_t fd, short what, void *arg)
{
    int64_t now = now_ms(), due;
    struct timeval tv;

    (void)fd;
    (void)what;
    (void)arg;
    for (;;) {
        const struct ls_frame *t = tags[next_tag];
        uint32_t ts = t->timestamp - first_ts + offset;
        bool skip = false;

        due = t0 + ts;
        if (due > now)
            break;
        if (loops > 0 && t->type != LS_MSG_AUDIO && t->type != LS_MSG_VIDEO) {
            skip = true; /* metadata once */
        } else if (t->type == LS_MSG_VIDEO && (loops > 0 || next_tag + 1 == ntags)) {
            struct ls_video_info vi;

            skip = ls_codec_video_inspect(t->data, t->len, &vi, NULL) != LS_OK ||
                   vi.packet == LS_VPKT_END_OF_SEQUENCE ||
                   (loops > 0 && vi.packet == LS_VPKT_SEQUENCE_HEADER);
        } else if (t->type == LS_MSG_AUDIO && loops > 0) {
            struct ls_audio_info ai;

            skip = ls_codec_audio_inspect(t->data, t->len, &ai, NULL) == LS_OK &&
                   ai.sequence_header;
        }
        if (!skip)
            deliver(t->type, ts, t->data, t->len);
        if (++next_tag == ntags) {
            next_tag = 0;
            loops++;
            offset += loop_ms;
        }
    }
    tv.tv_sec = (due - now) / 1000;
    tv.tv_usec = ((due - now) % 1000) * 1000;
    evtimer_add(pace_ev, &tv);
}

/* ---- -u: the pull ---- */

static void pull_started_cb(struct ls_client *cl, void *arg)
{
    (void)cl;
    (void)arg;
    pull_started = true;
}

static void pull_media(struct ls_client *cl, void *arg, struct ls_frame *msg)
{
    (void)cl;
    (void)arg;
    if (msg->type == LS_MSG_AUDIO || msg->type == LS_MSG_VIDEO || msg->type == LS_MSG_DATA_AMF0)
        deliver(msg->type, msg->timestamp, msg->data, msg->len);
}

static void pull_close(struct ls_client *cl, void *arg, int err, const char *why)
{
    (void)cl;
    (void)arg;
    pull = NULL;
    fprintf(stderr, "floorsrv: the pull closed: %s (%s)\n", why != NULL ? why : "",
            ls_strerror(err));
    event_base_loopexit(base, NULL);
}

static const struct ls_client_ops pull_ops = {
    .on_started = pull_started_cb,
    .on_media = pull_media,
    .on_close = pull_close,
};

static void start_pull(const char *url)
{
    struct ls_rtmp_url u;
    struct ls_client_config cfg;
    struct sockaddr_storage ss;
    socklen_t sslen;
    char hostport[LS_ADDR_HOST_MAX + 16];

    if (ls_rtmp_url_parse(url, &u) != LS_OK || u.name[0] == '\0')
        fatal("bad pull URL (expected rtmp://HOST[:PORT]/APP/NAME)", url);
    snprintf(hostport, sizeof hostport, strchr(u.host, ':') ? "[%s]:%u" : "%s:%u", u.host,
             u.port);
    if (ls_net_resolve(hostport, false, &ss, &sslen) != LS_OK)
        fatal("cannot resolve", hostport);
    ls_client_config_defaults(&cfg);
    cfg.start_timeout_ms = 30000;
    pull = ls_client_start(base, (struct sockaddr *)&ss, sslen, LS_CLIENT_PLAY, u.tc_url, u.app,
                           u.name, &cfg, &pull_ops, NULL);
    if (pull == NULL)
        fatal("cannot connect to", hostport);
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
    fprintf(stderr, "usage: floorsrv -l HOST:PORT (-u rtmp://HOST:PORT/APP/NAME | -f FILE.flv) "
                    "[-m message|batched] [-w WINDOW_MS] [-q QUEUE_BYTES] [-N]\n");
    exit(2);
}

int main(int argc, char **argv)
{
    const char *listen_at = NULL, *file = NULL, *url = NULL;
    struct sockaddr_storage ss;
    socklen_t sslen;
    struct ls_buf b;
    struct rlimit rl;
    size_t i;
    int c;

    while ((c = getopt(argc, argv, "l:f:u:m:w:q:N")) != -1) {
        switch (c) {
        case 'N': nagle = true; break;
        case 'l': listen_at = optarg; break;
        case 'f': file = optarg; break;
        case 'u': url = optarg; break;
        case 'm':
            if (strcmp(optarg, "batched") == 0)
                batched = true;
            else if (strcmp(optarg, "message") != 0)
                usage();
            break;
        case 'w': window_ms = (unsigned)atoi(optarg); break;
        case 'q': queue_max = (size_t)atoll(optarg); break;
        default: usage();
        }
    }
    if (listen_at == NULL || (file == NULL) == (url == NULL) || optind != argc ||
        (batched && window_ms == 0))
        usage();
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
    signal(SIGPIPE, SIG_IGN);
    ls_log_init("floorsrv");
    ls_log_set_level(LS_LOG_WARNING);
    if (file != NULL)
        load(file);
    if (ls_net_resolve(listen_at, true, &ss, &sslen) != LS_OK)
        fatal("cannot resolve", listen_at);
    lfd = ls_net_listen((struct sockaddr *)&ss, sslen, 4096);
    if (lfd == -1)
        fatal("cannot listen", strerror(errno));
    ep = epoll_create1(EPOLL_CLOEXEC);
    base = event_base_new();
    if (ep == -1 || base == NULL)
        fatal("epoll", strerror(errno));
    ep_ev = event_new(base, ep, EV_READ | EV_PERSIST, ep_cb, NULL);
    accept_ev = event_new(base, lfd, EV_READ | EV_PERSIST, accept_cb, NULL);
    flush_ev = evtimer_new(base, flush_cb, NULL);
    pace_ev = evtimer_new(base, pace_cb, NULL);
    sig_int = evsignal_new(base, SIGINT, signal_cb, NULL);
    sig_term = evsignal_new(base, SIGTERM, signal_cb, NULL);
    if (ep_ev == NULL || accept_ev == NULL || flush_ev == NULL || pace_ev == NULL ||
        sig_int == NULL || sig_term == NULL)
        fatal("out of memory", NULL);
    event_add(ep_ev, NULL);
    event_add(accept_ev, NULL);
    evsignal_add(sig_int, NULL);
    evsignal_add(sig_term, NULL);
    ls_buf_init(&b, 0);
    ls_control_write_set_chunk_size(&b, CHUNK_SIZE);
    if (ls_buf_status(&b) != LS_OK)
        fatal("out of memory", NULL);
    start_chunk_size = ls_frame_new_copy(0, 0, 0, b.data, (uint32_t)b.len);
    ls_buf_free(&b);
    if (start_chunk_size == NULL)
        fatal("out of memory", NULL);
    if (url != NULL) {
        start_pull(url);
    } else {
        t0 = now_ms();
        pace_cb(-1, 0, NULL);
    }

    event_base_dispatch(base);

    fprintf(stderr, "floorsrv: %s mode, %llu messages, %u viewers at exit, %llu bytes written, "
            "%llu viewers dropped\n", batched ? "batched" : "message",
            (unsigned long long)messages, nviewers, (unsigned long long)bytes_out,
            (unsigned long long)drops);
    while (viewers != NULL)
        viewer_close(viewers);
    if (pull != NULL)
        ls_client_close(pull, "exit");
    gop_reset();
    free(gop);
    ls_frame_unref(meta);
    ls_frame_unref(vseq);
    ls_frame_unref(aseq);
    ls_frame_unref(start_chunk_size);
    for (i = 0; i < ntags; i++)
        ls_frame_unref(tags[i]);
    free(tags);
    event_free(ep_ev);
    event_free(accept_ev);
    event_free(flush_ev);
    event_free(pace_ev);
    event_free(sig_int);
    event_free(sig_term);
    event_base_free(base);
    close(ep);
    close(lfd);
    return 0;
}
