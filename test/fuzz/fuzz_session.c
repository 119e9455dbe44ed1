/*
 * libFuzzer target for the server side of an RTMP connection: session.c and server.c with
 * conn.c, the chunk reader, the command codec, admission and the hub underneath, driven
 * in-process on a private event_base. The fuzzer's bytes are what clients send after the
 * handshake (which the harness performs, so inputs need not carry 3 KiB of it), over
 * AF_UNIX socket pairs handed to the real server; the clients never read what the server
 * answers, so everything it queues stays queued.
 *
 * Input: byte 0 = mode, bytes 1-2 = length of client A's bytes (little-endian, clamped),
 * then A's bytes, then client B's. A is played out completely before B connects, so A can
 * publish a stream that B plays.
 *   mode bit 0: A sends raw bytes from the start (the fuzzer plays the handshake itself)
 *   mode bit 1: the server has a cluster_secret (internal-pull signatures are checked)
 *   mode bit 2: feed the bytes in pieces of 16 * bits 3-5 + 1 bytes, one loop turn each
 *   mode bit 6: A sends its bytes 32 times over (a flood: what each repetition leaves
 *               behind must not add up)
 * Each input runs at most a bounded number of loop turns.
 *
 * Memory: while the clients are still connected, what the process allocated since the
 * input started (ASan's allocator count) must stay within a fixed multiple of what the
 * configured bounds allow per connection (chunk reassembly, queued replies, a viewer's
 * queue, the stream's caches); anything growing with the input beyond that aborts.
 * After the clients go, every session and stream must be gone.
 */
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <sanitizer/allocator_interface.h>

#include <event2/event.h>

#include "libstream/handshake.h"
#include "libstream/hub.h"
#include "libstream/log.h"
#include "libstream/server.h"
#include "server_int.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_TURNS 1000
#define SNDBUF 4096

static struct event_base *base;
static struct ls_hub *hub;
static struct ls_server *srv;
static struct ls_server_config scfg;
static size_t per_conn_bound;

static void no_log(int level, const char *line, void *arg)
{
    (void)level;
    (void)line;
    (void)arg;
}

/* "127.0.0.1:PORT" with a port that was free a moment ago (the listener is never used:
 * sockets are handed to the server directly, but it must listen somewhere). */
static void free_listen(char *out, size_t cap)
{
    struct sockaddr_in a = { .sin_family = AF_INET };
    socklen_t len = sizeof a;
    int fd = socket(AF_INET, SOCK_STREAM, 0);

    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd == -1 || bind(fd, (struct sockaddr *)&a, sizeof a) == -1 ||
        getsockname(fd, (struct sockaddr *)&a, &len) == -1)
        abort();
    close(fd);
    snprintf(out, cap, "127.0.0.1:%u", (unsigned)ntohs(a.sin_port));
}

static void init_once(void)
{
    struct ls_hub_config hcfg;
    char listen[64];

    if (base != NULL)
        return;
    signal(SIGPIPE, SIG_IGN); /* the daemons do the same: a closed peer is EPIPE */
    ls_log_set_sink(no_log, NULL);
    ls_log_set_level(LS_LOG_DEBUG); /* format every line: the formatting is input too */
    base = event_base_new();
    ls_hub_config_defaults(&hcfg);
    hcfg.flush_interval_ms = 0;
    hcfg.gop_cache = false;
    hcfg.queue_max_bytes = 64 * 1024;
    hub = ls_hub_new(base, &hcfg);
    ls_server_config_defaults(&scfg);
    scfg.max_connections = 16;
    scfg.conn.chunk.max_message_size = 64 * 1024;
    scfg.conn.chunk.max_pending_bytes = 128 * 1024;
    scfg.conn.chunk.max_chunk_streams = 16;
    scfg.conn.max_control_queue_bytes = 16 * 1024;
    scfg.play_wait_timeout_ms = 60000;
    scfg.publish_takeover_idle_ms = 0;
    free_listen(listen, sizeof listen);
    srv = ls_server_new(base, hub, &scfg, listen);
    if (base == NULL || hub == NULL || srv == NULL)
        abort();
    /* Reassembly, queued replies, a viewer's queue (twice: the hard bound) and the
     * stream's caches (metadata and two sequence headers, each one message), four times
     * over for allocator overhead and the media messages in flight. */
    per_conn_bound = 4 * (scfg.conn.chunk.max_pending_bytes + scfg.conn.max_control_queue_bytes +
                          2 * hcfg.queue_max_bytes + 3 * scfg.conn.chunk.max_message_size);
}

static void turn(void)
{
    event_base_loop(base, EVLOOP_NONBLOCK);
}

/* A client connected to the server (its end is returned; the server holds the other). */
static int client_connect(void)
{
    int sv[2], small = SNDBUF;

    if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == -1)
        abort();
    setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &small, sizeof small);
    fcntl(sv[1], F_SETFL, O_NONBLOCK);
    ls_session_accept(srv, sv[0], NULL);
    return sv[1];
}

/* Writes what the socket takes; returns the bytes written (0 when full or closed). */
static size_t client_write(int fd, const uint8_t *p, size_t n)
{
    ssize_t w = send(fd, p, n, MSG_DONTWAIT | MSG_NOSIGNAL);

    return w > 0 ? (size_t)w : 0;
}

/* The client's side of the handshake; false when the server closed meanwhile. */
static bool client_handshake(int fd)
{
    struct ls_handshake *hs = ls_handshake_new(LS_HS_CLIENT);
    uint8_t buf[4096];
    int t;

    if (hs == NULL)
        abort();
    for (t = 0; t < 100 && !ls_handshake_done(hs); t++) {
        const uint8_t *out;
        size_t n = ls_handshake_output(hs, &out);
        ssize_t r;

        if (n > 0)
            ls_handshake_output_consumed(hs, client_write(fd, out, n));
        turn();
        r = recv(fd, buf, sizeof buf, MSG_DONTWAIT);
        if (r == 0)
            break;
        if (r > 0 && ls_handshake_feed(hs, buf, (size_t)r, NULL) < 0)
            break;
    }
    if (ls_handshake_done(hs)) {
        const uint8_t *out;
        size_t n = ls_handshake_output(hs, &out); /* C2 */

        if (n > 0)
            ls_handshake_output_consumed(hs, client_write(fd, out, n));
    }
    t = ls_handshake_done(hs);
    ls_handshake_free(hs);
    return t;
}

/* Plays `p` to the server `times` times over, `piece` bytes a turn (0 = as much as the
 * socket takes). */
static void client_play(int fd, const uint8_t *data, size_t size, int times, size_t piece)
{
    const uint8_t *p = data;
    size_t n = size;
    int t;

    for (t = 0; t < MAX_TURNS && n > 0; t++) {
        size_t w = client_write(fd, p, piece != 0 && piece < n ? piece : n);

        p += w;
        n -= w;
        if (n == 0 && --times > 0) {
            p = data;
            n = size;
        }
        turn();
    }
    for (t = 0; t < 8; t++)
        turn(); /* admission answers and the flushes after them */
}

static void check_memory(size_t start, size_t conns)
{
    size_t now = __sanitizer_get_current_allocated_bytes();

    if (now > start && now - start > conns * per_conn_bound + (1u << 20))
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    uint8_t mode;
    size_t alen, piece, start;
    int a, b = -1, t;

    init_once();
    if (size < 3)
        return 0;
    mode = data[0];
    alen = (size_t)data[1] | (size_t)data[2] << 8;
    data += 3;
    size -= 3;
    if (alen > size)
        alen = size;
    piece = mode & 4 ? (size_t)((mode >> 3) & 7) * 16 + 1 : 0;
    scfg.cluster_secret = mode & 2 ? "fuzz-secret" : "";
    ls_server_set_config(srv, &scfg);

    start = __sanitizer_get_current_allocated_bytes();
    a = client_connect();
    if ((mode & 1) || client_handshake(a))
        client_play(a, data, alen, mode & 0x40 ? 32 : 1, piece);
    check_memory(start, 1);
    if (size > alen) {
        b = client_connect();
        if (client_handshake(b))
            client_play(b, data + alen, size - alen, 1, piece);
        check_memory(start, 2);
    }
    close(a);
    if (b != -1)
        close(b);
    for (t = 0; t < MAX_TURNS && ls_server_session_count(srv) > 0; t++)
        turn();
    if (ls_server_session_count(srv) != 0 || ls_hub_stream_count(hub) != 0)
        abort();
    return 0;
}
