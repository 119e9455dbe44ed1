/*
 * libFuzzer target for an internal pull fed by a hostile upstream: pull.c driving the RTMP
 * client (client.c, conn.c, the chunk reader and command decoding underneath) into a hub
 * stream with a viewer that never reads.
 *
 * In-process, on one event loop: a hub stream gets a subscriber, its stream_wanted hook
 * starts an ls_pull (as epd/edge.c does), the pull connects to a listening socket of this
 * process, and the harness plays the upstream on the accepted socket: a valid handshake
 * (S0 S1 S2 for the client's C0 C1), then the fuzzer's bytes as everything the server
 * sends after it. What the client sends back is read and dropped. Each input then runs
 * the loop a bounded number of turns and ends with a reset (SO_LINGER 0: no TIME_WAIT
 * piles up over a run), the pull stopped and the hub freed; leaks show up per input.
 *
 * Invariant beyond the sanitizers: the bytes allocated while an input runs stay within a
 * fixed multiple of what the configured bounds allow (chunk reader, GOP cache, viewer
 * queue): a hostile upstream must not make a pulling node grow without bound.
 *
 * Seeds (test/fuzz/corpus/pull/): nginx-rtmp's answer to a real play session (connect and
 * createStream results, statuses, metadata, media), and a crafted session with pings,
 * unpublish/republish notifications and a flood of empty media messages.
 */
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <event2/event.h>
#include <sanitizer/allocator_interface.h>

#include "libstream/handshake.h"
#include "libstream/hub.h"
#include "libstream/log.h"
#include "libstream/net.h"
#include "libstream/pull.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The bounds the input runs under, and what its allocations may reach: a few times what
 * they allow together, plus a fixed allowance for the objects of one session. */
#define FZ_MAX_MESSAGE (64u * 1024)
#define FZ_MAX_PENDING (128u * 1024)
#define FZ_GOP_BYTES (256u * 1024)
#define FZ_GOP_MESSAGES 512u
#define FZ_QUEUE_BYTES (64u * 1024)
#define FZ_MEMORY_LIMIT \
    (4u * (FZ_MAX_PENDING + FZ_MAX_MESSAGE + FZ_GOP_BYTES + 2u * FZ_QUEUE_BYTES) + (1u << 20))
#define FZ_TURNS 64

static struct event_base *base;
static int lfd = -1;
static char target[64];
static struct ls_pull_config pull_cfg;
static struct ls_pull_ops pull_ops;
static struct ls_hub_config hub_cfg;
static int pulls_ended;

/* ---- the pulling node ---- */

static void fz_resolve(struct ls_pull *p, void *arg, const char *id)
{
    (void)arg;
    (void)id;
    ls_pull_connect(p, target, NULL);
}

static void fz_ended(struct ls_pull *p, void *arg, const char *id)
{
    (void)p;
    (void)arg;
    (void)id;
    pulls_ended++;
}

static int fz_wanted(void *arg, struct ls_stream *st)
{
    struct ls_pull *p = ls_stream_role_data(st);

    (void)arg;
    if (p != NULL) {
        ls_pull_kick(p);
        return LS_OK;
    }
    return ls_pull_start(st, LS_SOURCE_UPSTREAM, &pull_cfg, &pull_ops) == LS_OK ? LS_OK
                                                                               : LS_ELIMIT;
}

/* A viewer that never reads: its queue only grows until the hub's policy drops it. */
struct fz_viewer {
    struct ls_subscriber sub;
    struct ls_outq outq;
    int dropped;
};

static void fz_flush(struct ls_subscriber *sub)
{
    (void)sub;
}

static void fz_event(struct ls_subscriber *sub, enum ls_source_event ev)
{
    (void)sub;
    (void)ev;
}

static void fz_too_slow(struct ls_subscriber *sub, const char *why)
{
    struct fz_viewer *v = (struct fz_viewer *)(void *)((char *)sub - offsetof(struct fz_viewer, sub));

    (void)why;
    v->dropped++;
    ls_subscriber_detach(sub);
}

static const struct ls_subscriber_ops fz_sub_ops = {
    .flush = fz_flush,
    .source_event = fz_event,
    .too_slow = fz_too_slow,
};

static void fz_log_sink(int level, const char *line, void *arg)
{
    (void)level;
    (void)line;
    (void)arg;
}

static int fz_init(void)
{
    struct sockaddr_in sa = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    socklen_t len = sizeof sa;

    if (getenv("FUZZ_PULL_LOG") != NULL) { /* to see what an input does */
        ls_log_set_level(LS_LOG_DEBUG);
    } else {
        ls_log_set_sink(fz_log_sink, NULL);
        ls_log_set_level(LS_LOG_ERR);
    }
    base = event_base_new();
    lfd = ls_net_listen((struct sockaddr *)&sa, sizeof sa, 64);
    if (base == NULL || lfd == -1 || getsockname(lfd, (struct sockaddr *)&sa, &len) == -1)
        return -1;
    snprintf(target, sizeof target, "127.0.0.1:%u", ntohs(sa.sin_port));
    ls_pull_config_defaults(&pull_cfg);
    pull_cfg.client.conn.chunk.max_message_size = FZ_MAX_MESSAGE;
    pull_cfg.client.conn.chunk.max_pending_bytes = FZ_MAX_PENDING;
    pull_cfg.client.conn.chunk.max_chunk_size = 65536;
    pull_cfg.client.conn.chunk.max_chunk_streams = 16;
    pull_cfg.idle_timeout_ms = 100;
    pull_cfg.node_id = "ep-fuzz";
    pull_cfg.role = "epd";
    pull_cfg.secret = "fuzz";
    pull_ops.resolve = fz_resolve;
    pull_ops.ended = fz_ended;
    ls_hub_config_defaults(&hub_cfg);
    hub_cfg.gop_cache_max_bytes = FZ_GOP_BYTES;
    hub_cfg.gop_cache_max_messages = FZ_GOP_MESSAGES;
    hub_cfg.queue_max_bytes = FZ_QUEUE_BYTES;
    hub_cfg.flush_interval_ms = 0;
    return 0;
}

/* ---- the upstream side ---- */

static bool fd_wait(int fd, short events, int ms)
{
    struct pollfd p = { .fd = fd, .events = events };

    return poll(&p, 1, ms) == 1;
}

/* Reads and drops whatever the client sent; false once the client closed. */
static bool fz_drain(int fd)
{
    uint8_t buf[16384];

    for (;;) {
        ssize_t n = recv(fd, buf, sizeof buf, MSG_DONTWAIT);

        if (n > 0)
            continue;
        return n == -1 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR);
    }
}

static void fz_turn(void)
{
    event_base_loop(base, EVLOOP_NONBLOCK);
}

/* Answers the client's C0 C1 with a valid S0 S1 S2. False when it never came. */
static bool fz_handshake(int fd)
{
    struct ls_handshake *hs = ls_handshake_new(LS_HS_SERVER);
    uint8_t c0c1[1537];
    size_t got = 0;
    const uint8_t *out;
    size_t n;
    int turns;
    bool ok = false;

    if (hs == NULL)
        return false;
    for (turns = 0; turns < 50 && got < sizeof c0c1; turns++) {
        ssize_t r;

        fz_turn();
        if (!fd_wait(fd, POLLIN, 10))
            continue;
        r = recv(fd, c0c1 + got, sizeof c0c1 - got, MSG_DONTWAIT);
        if (r <= 0)
            break;
        got += (size_t)r;
    }
    if (got == sizeof c0c1 && ls_handshake_feed(hs, c0c1, got, NULL) == (ssize_t)got) {
        ok = true;
        while (ok && (n = ls_handshake_output(hs, &out)) > 0) {
            ssize_t w = send(fd, out, n, MSG_NOSIGNAL);

            ok = w > 0;
            if (ok)
                ls_handshake_output_consumed(hs, (size_t)w);
        }
    }
    ls_handshake_free(hs);
    return ok;
}

/* Writes the input as the server's output, turning the loop while the socket is full. */
static void fz_send_all(int fd, const uint8_t *data, size_t size, size_t *peak, size_t floor)
{
    size_t off = 0;
    int stuck = 0;

    while (off < size && stuck < 200) {
        ssize_t w = send(fd, data + off, size - off, MSG_DONTWAIT | MSG_NOSIGNAL);
        size_t now;

        if (w > 0) {
            off += (size_t)w;
            stuck = 0;
        } else if (w == -1 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            stuck++;
        } else {
            return; /* the client is gone */
        }
        fz_turn();
        if (!fz_drain(fd))
            return;
        now = __sanitizer_get_current_allocated_bytes();
        if (now > floor && now - floor > *peak)
            *peak = now - floor;
    }
}

static void fz_reset(int fd)
{
    struct linger lg = { 1, 0 };

    setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
    close(fd);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static bool ready;
    struct ls_hub_hooks hooks = { fz_wanted, ls_pull_stream_unwanted, NULL };
    struct fz_viewer viewer;
    struct ls_hub *hub;
    struct ls_stream *st;
    struct ls_pull *p;
    size_t floor, peak = 0;
    int fd = -1, turns;

    if (!ready) {
        if (fz_init() != 0)
            abort();
        ready = true;
    }
    floor = __sanitizer_get_current_allocated_bytes();
    hub = ls_hub_new(base, &hub_cfg);
    if (hub == NULL)
        abort();
    ls_hub_set_hooks(hub, &hooks);
    ls_hub_set_default_source_kind(hub, LS_SOURCE_UPSTREAM);
    st = ls_hub_get(hub, "live/fuzz");
    memset(&viewer, 0, sizeof viewer);
    ls_outq_init(&viewer.outq);
    ls_subscriber_init(&viewer.sub, &fz_sub_ops, &viewer.outq, LS_TRANSPORT_RTMP, 1);
    pulls_ended = 0;
    if (st == NULL || ls_stream_subscribe(st, &viewer.sub) != LS_OK)
        abort(); /* the pull starts and connects in here */

    if (fd_wait(lfd, POLLIN, 1000))
        fd = accept(lfd, NULL, NULL);
    if (fd != -1 && fz_handshake(fd)) {
        /* the client's C2, chunk size and connect come first */
        for (turns = 0; turns < 4; turns++) {
            fz_turn();
            (void)fz_drain(fd);
        }
        fz_send_all(fd, data, size, &peak, floor);
        for (turns = 0; turns < FZ_TURNS; turns++) {
            size_t now;

            fz_turn();
            if (!fz_drain(fd))
                break;
            now = __sanitizer_get_current_allocated_bytes();
            if (now > floor && now - floor > peak)
                peak = now - floor;
        }
    }
    if (peak > FZ_MEMORY_LIMIT) {
        fprintf(stderr, "fuzz_pull: %zu bytes allocated for one upstream session (limit %u)\n",
                peak, FZ_MEMORY_LIMIT);
        abort();
    }

    /* Teardown: reset the link, end the pull, let the viewer go; nothing may be left. */
    if (fd != -1)
        fz_reset(fd);
    st = ls_hub_find(hub, "live/fuzz");
    p = st != NULL ? ls_stream_role_data(st) : NULL;
    if (p != NULL)
        ls_pull_stop(p, "fuzz input done");
    ls_subscriber_detach(&viewer.sub);
    for (turns = 0; turns < 8; turns++)
        fz_turn();
    if (ls_hub_stream_count(hub) != 0 || pulls_ended != 1)
        abort();
    ls_hub_free(hub);
    ls_outq_clear(&viewer.outq);
    return 0;
}
