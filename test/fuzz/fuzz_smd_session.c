/*
 * libFuzzer target for smd's registry sessions (smd/registry.c, linked with smd's objects
 * minus main.o, as its unit tests are): a hostile spd. One registry lives for the whole
 * run, on a loopback listener in this process; each input is one connection to it that
 * completes the RTMP handshake and then sends the input bytes as its chunk stream (Set
 * Chunk Size, hello, register, watch, garbage — whatever the fuzzer makes of the seeds in
 * corpus/smd_session/). Everything smd answers is read and dropped.
 *
 * Oracles:
 *   - smd's state stays within its configured bounds while the input is fed: at most one
 *     node, max_streams_per_node entries, max_watches_per_node watches (and reports:
 *     max_report_streams streams);
 *   - the heap it holds for the connection stays under a fixed multiple of those bounds
 *     and of the chunk reader's (SMD_FUZZ_HEAP_BUDGET);
 *   - once the connection closes, the session, its entries and its watches are gone and
 *     the heap is back near where it started;
 *   - and nothing crashes, leaks or trips a sanitizer.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <event2/event.h>
#include <sanitizer/allocator_interface.h>

#include "libstream/log.h"
#include "libstream/smdproto.h"
#include "smd.h"

#define SMD_FUZZ_MAX_STREAMS 16
#define SMD_FUZZ_MAX_WATCHES 16
/* Entries and watches are a few hundred bytes each, the session and its connection a few
 * KiB, the chunk reader holds at most one report (LS_SMD_REPORT_MAX) and 4 ×
 * LS_SMD_MESSAGE_MAX, the cluster view max_report_streams streams: 1 MiB is a generous fixed
 * multiple of all that, and far below what an unbounded queue or table reaches. */
#define SMD_FUZZ_HEAP_BUDGET (1u << 20)
#define SMD_FUZZ_SETTLE_TURNS 400

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct event_base *base;
static struct smd_conf conf;
static struct smd_registry *reg;
static struct sockaddr_in smd_addr;
static char node_id[] = "smd-fuzz";
static char no_secret[] = "";

static void quiet(int level, const char *line, void *arg)
{
    (void)level;
    (void)line;
    (void)arg;
}

static uint16_t free_port(void)
{
    struct sockaddr_in a = { .sin_family = AF_INET };
    socklen_t len = sizeof a;
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    uint16_t port = 0;

    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd != -1 && bind(fd, (struct sockaddr *)&a, sizeof a) == 0 &&
        getsockname(fd, (struct sockaddr *)&a, &len) == 0)
        port = ntohs(a.sin_port);
    if (fd != -1)
        close(fd);
    return port;
}

static void init_once(void)
{
    uint16_t port;

    if (reg != NULL)
        return;
    ls_log_set_sink(quiet, NULL);
    base = event_base_new();
    port = free_port();
    if (base == NULL || port == 0)
        abort();
    conf.node_id = node_id;
    conf.log_level = LS_LOG_ERR;
    snprintf(conf.listen.host, sizeof conf.listen.host, "127.0.0.1");
    conf.listen.port = port;
    conf.cluster_secret = no_secret; /* any hello passes: the fuzzer gets past it */
    conf.max_connections = 4;
    conf.lease_seconds = 10;
    conf.hello_timeout = 5;
    conf.max_streams_per_node = SMD_FUZZ_MAX_STREAMS;
    conf.max_watches_per_node = SMD_FUZZ_MAX_WATCHES;
    conf.probe_timeout_ms = 100;
    conf.report_interval_ms = 250;
    conf.max_report_streams = SMD_FUZZ_MAX_STREAMS; /* reports: bounded like entries */
    reg = smd_registry_new(base, &conf);
    if (reg == NULL)
        abort();
    smd_addr.sin_family = AF_INET;
    smd_addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    smd_addr.sin_port = htons(port);
}

/* What smd sent is read and dropped (so its output never backs up). */
static void drain(int fd)
{
    uint8_t sink[65536];

    while (read(fd, sink, sizeof sink) > 0)
        ;
}

static void turn(int fd)
{
    event_base_loop(base, EVLOOP_NONBLOCK);
    if (fd != -1)
        drain(fd);
}

static size_t node_count_of(void)
{
    return smd_registry_node_count(reg);
}

static void check_bounds(size_t heap0)
{
    size_t heap = __sanitizer_get_current_allocated_bytes();

    if (node_count_of() > 1 || smd_registry_stream_count(reg) > SMD_FUZZ_MAX_STREAMS ||
        smd_registry_watch_count(reg) > SMD_FUZZ_MAX_WATCHES)
        abort();
    if (heap > heap0 && heap - heap0 > SMD_FUZZ_HEAP_BUDGET)
        abort();
}

/* Writes everything (the socket is non-blocking; smd reads between our tries). */
static int send_all(int fd, const uint8_t *p, size_t n, size_t heap0)
{
    unsigned idle = 0;

    while (n > 0) {
        ssize_t w = write(fd, p, n > 4096 ? 4096 : n);

        if (w > 0) {
            p += w;
            n -= (size_t)w;
            idle = 0;
        } else if (w == -1 && errno != EAGAIN && errno != EWOULDBLOCK) {
            return -1; /* smd closed the connection: a verdict, not a failure */
        } else if (++idle > SMD_FUZZ_SETTLE_TURNS) {
            return -1; /* smd stopped reading (it is closing us) */
        }
        turn(fd);
        check_bounds(heap0);
    }
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static uint8_t handshake[1 + 2 * 1536];
    size_t heap0;
    unsigned i;
    int fd;

    init_once();
    handshake[0] = 3; /* C0; C1 and C2 all zero: a plain handshake, C2 is never refused */
    heap0 = __sanitizer_get_current_allocated_bytes();
    fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd == -1)
        abort();
    if (connect(fd, (struct sockaddr *)&smd_addr, sizeof smd_addr) == -1 &&
        errno != EINPROGRESS)
        abort();
    if (send_all(fd, handshake, sizeof handshake, heap0) == 0)
        (void)send_all(fd, data, size, heap0);
    for (i = 0; i < 20; i++) {
        turn(fd);
        check_bounds(heap0);
    }
    close(fd);
    /* The session ends with the connection: entries and watches go at once. (A few turns
     * in any case, so a session that never said hello is gone too and max_connections
     * never fills up across inputs.) */
    for (i = 0; i < SMD_FUZZ_SETTLE_TURNS && (i < 4 || node_count_of() > 0 ||
                                               smd_registry_stream_count(reg) > 0 ||
                                               smd_registry_watch_count(reg) > 0); i++)
        turn(-1);
    if (node_count_of() != 0 || smd_registry_stream_count(reg) != 0 ||
        smd_registry_watch_count(reg) != 0)
        abort();
    return 0;
}
