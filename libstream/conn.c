/*
 * conn.c — an RTMP connection on libevent (see conn.h).
 *
 * Input path, per readable event (bounded so one busy publisher cannot starve the loop):
 *
 *   recv → scratch ─┬─ handshake not done → ls_handshake_feed → S0S1S2 / C0C1 / C2 out
 *                   └─ ls_chunk_reader_feed → message → control handled here
 *                                                     → everything else: owner
 *
 * RTMPS connections read and write through tls.c instead of recv and writev (decrypted
 * records in, one encrypted record per flush out, or writev under kernel TLS); the rest of
 * this file does not change with them.
 *
 * Replies queued while handling input go out with one writev when the input is done
 * (docs/architecture.md decision 4: answer each command with one write, TCP_NODELAY set).
 *
 * What input can make us queue is bounded (decision 10): acknowledgements are cumulative,
 * one in the queue at a time (a due one waits for the last to leave, then carries the
 * count of that moment), and our own replies are tracked in the outq apart from shared
 * media, up to max_control_queue_bytes unsent.
 */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <event2/event.h>

#include "libstream/buf.h"
#include "libstream/clock.h"
#include "libstream/conn.h"
#include "libstream/control.h"
#include "libstream/listener.h"
#include "libstream/net.h"
#include "libstream/rtmp.h"
#include "libstream/stats.h"
#include "libstream/tls.h"

#define CONN_READ_ROUNDS 4
#define CONN_SCRATCH_SIZE (64 * 1024)
#define CONN_DRAIN_TIMEOUT_MS 2000

struct ls_conn {
    struct event_base *base;
    int fd;
    enum ls_hs_role role;
    struct ls_conn_config cfg;
    const struct ls_conn_ops *ops;
    void *owner;

    struct event *ev_read;
    struct event *ev_write;
    struct event *ev_timer;

    struct ls_tls *tls;           /* RTMPS: socket I/O through TLS (tls.h); NULL = plain */
    struct ls_handshake *hs;      /* NULL once the handshake is done */
    struct ls_chunk_reader *reader;
    struct ls_outq outq;

    struct sockaddr_storage peer_addr;
    char peer[64];

    uint64_t bytes_in;
    uint64_t bytes_out;
    uint64_t last_input_ms;
    uint64_t started_ms;
    uint32_t peer_acked;          /* last sequence number the peer acknowledged */
    struct ls_frame *ack_blob;    /* our last acknowledgement (a reference), while queued */
    struct ls_frame *ping_blob;   /* our last ping answer (a reference), while queued */
    size_t pings_unanswered_bytes; /* answers skipped since ping_blob was queued */
    bool ack_owed;                /* an acknowledgement is due but waits for ack_blob */
    uint64_t deadline_ms;         /* absolute close time (ls_conn_set_deadline); 0 = none */
    const char *deadline_why;

    unsigned busy;                /* depth of our callbacks on the stack */
    bool connecting;              /* client socket not connected yet */
    bool write_waiting;           /* ev_write armed */
    bool draining;                /* close once outq is empty */
    bool closing;
    bool reading_paused;
    bool quickack;                /* ACK at once while the session is being set up */
    int close_err;
    const char *close_why;

    /* deferred work (ls_conn_flush_later, ls_conn_close_later): done on the next loop turn
     * from the timer callback */
    bool later_flush;
    enum { CONN_LATER_NONE, CONN_LATER_CLOSE, CONN_LATER_CLOSE_AFTER_FLUSH } later_close;
    const char *write_failed;     /* a write failed outside our callbacks: close next turn */
    int later_err;
    const char *later_why;
};

static uint8_t conn_scratch[CONN_SCRATCH_SIZE];

void ls_conn_config_defaults(struct ls_conn_config *cfg)
{
    cfg->handshake_timeout_ms = 10000;
    cfg->idle_timeout_ms = 0;
    cfg->chunk = ls_chunk_default_limits;
    cfg->out_chunk_size = 4096;
    cfg->window_ack_size = 2500000;
    cfg->max_control_queue_bytes = 65536;
}

static void conn_read_cb(evutil_socket_t fd, short what, void *arg);
static void conn_write_cb(evutil_socket_t fd, short what, void *arg);
static void conn_timer_cb(evutil_socket_t fd, short what, void *arg);
static void conn_arm_timer(struct ls_conn *c);

/* Nothing left to write: the queue is empty and TLS holds no record for the socket. */
static bool conn_output_empty(const struct ls_conn *c)
{
    return ls_outq_empty(&c->outq) && (c->tls == NULL || !ls_tls_pending(c->tls));
}

static void conn_format_peer(struct ls_conn *c)
{
    ls_net_format((const struct sockaddr *)&c->peer_addr, c->peer, sizeof c->peer);
}

struct ls_conn *ls_conn_new(struct event_base *base, int fd, enum ls_hs_role role,
                            const struct ls_conn_config *cfg, const struct ls_conn_ops *ops,
                            void *owner)
{
    struct ls_conn *c = calloc(1, sizeof *c);
    socklen_t alen = sizeof(struct sockaddr_storage);
    int one = 1;

    if (c == NULL) {
        close(fd);
        return NULL;
    }
    c->base = base;
    c->fd = fd;
    c->role = role;
    c->cfg = *cfg;
    c->ops = ops;
    c->owner = owner;
    c->connecting = role == LS_HS_CLIENT;
    c->quickack = true;
    ls_outq_init(&c->outq);
    evutil_make_socket_nonblocking(fd);
    /* Small control replies must not wait for Nagle or delayed ACKs (decision 4). */
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (getpeername(fd, (struct sockaddr *)&c->peer_addr, &alen) == -1)
        memset(&c->peer_addr, 0, sizeof c->peer_addr);
    conn_format_peer(c);
    c->hs = ls_handshake_new(role);
    c->reader = ls_chunk_reader_new(&c->cfg.chunk);
    c->ev_read = event_new(base, fd, EV_READ | EV_PERSIST, conn_read_cb, c);
    c->ev_write = event_new(base, fd, EV_WRITE | EV_PERSIST, conn_write_cb, c);
    c->ev_timer = event_new(base, -1, EV_PERSIST, conn_timer_cb, c);
    if (c->hs == NULL || c->reader == NULL || c->ev_read == NULL || c->ev_write == NULL ||
        c->ev_timer == NULL) {
        if (c->hs != NULL)
            ls_handshake_free(c->hs);
        ls_chunk_reader_free(c->reader);
        if (c->ev_read != NULL)
            event_free(c->ev_read);
        if (c->ev_write != NULL)
            event_free(c->ev_write);
        if (c->ev_timer != NULL)
            event_free(c->ev_timer);
        close(fd);
        free(c);
        return NULL;
    }
    c->started_ms = c->last_input_ms = ls_now_ms();
    ls_stats.connections++;
    ls_stats.connections_total++;
    return c;
}

/* Copies pending handshake output into the queue. */
static int conn_queue_handshake_output(struct ls_conn *c)
{
    const uint8_t *out;
    size_t n = ls_handshake_output(c->hs, &out);
    struct ls_frame *blob;

    if (n == 0)
        return LS_OK;
    blob = ls_frame_new_copy(0, 0, 0, out, (uint32_t)n);
    if (blob == NULL)
        return LS_ENOMEM;
    ls_handshake_output_consumed(c->hs, n);
    return ls_outq_push(&c->outq, blob, LS_OUTQ_KEEP);
}

int ls_conn_use_tls(struct ls_conn *c, struct ls_tls_ctx *ctx)
{
    c->tls = ls_tls_new(ctx, c->fd);
    return c->tls != NULL ? LS_OK : LS_ENOMEM;
}

int ls_conn_start(struct ls_conn *c)
{
    struct timeval tick = { 1, 0 };

    if (event_add(c->ev_read, NULL) == -1 || event_add(c->ev_timer, &tick) == -1)
        return LS_EIO;
    if (c->role == LS_HS_CLIENT) {
        int rc = conn_queue_handshake_output(c);

        if (rc != LS_OK)
            return rc;
        /* Writable = connected; C0C1 leave then. */
        if (event_add(c->ev_write, NULL) == -1)
            return LS_EIO;
        c->write_waiting = true;
    }
    return LS_OK;
}

static void conn_finish(struct ls_conn *c)
{
    const struct ls_conn_ops *ops = c->ops;

    event_free(c->ev_read);
    event_free(c->ev_write);
    event_free(c->ev_timer);
    if (c->hs != NULL)
        ls_handshake_free(c->hs);
    ls_chunk_reader_free(c->reader);
    ls_outq_clear(&c->outq);
    ls_frame_unref(c->ack_blob);
    ls_frame_unref(c->ping_blob);
    if (c->tls != NULL && c->close_err == LS_OK)
        ls_tls_close_notify(c->tls);
    close(c->fd);
    ls_listener_fd_released(); /* a listener out of descriptors may accept again */
    ls_stats.connections--;
    if (ops->on_close != NULL)
        ops->on_close(c, c->owner, c->close_err, c->close_why);
    ls_tls_free(c->tls); /* after on_close: `close_why` may be its error text */
    free(c);
}

void ls_conn_close(struct ls_conn *c, int err, const char *why)
{
    if (c->closing)
        return;
    c->closing = true;
    c->close_err = err;
    c->close_why = why;
    if (err == LS_EPROTO || err == LS_ELIMIT)
        ls_stats.protocol_errors_total++;
    if (c->busy == 0)
        conn_finish(c);
}

/* Ends a callback of ours: performs a close requested inside it. */
static void conn_leave(struct ls_conn *c)
{
    if (--c->busy == 0 && c->closing)
        conn_finish(c);
}

void ls_conn_hold(struct ls_conn *c)
{
    c->busy++;
}

void ls_conn_release(struct ls_conn *c)
{
    conn_leave(c);
}

void ls_conn_close_after_flush(struct ls_conn *c, int err, const char *why)
{
    if (c->closing || c->draining)
        return;
    c->draining = true;
    c->close_err = err;
    c->close_why = why;
    event_del(c->ev_read);
    c->started_ms = ls_now_ms(); /* the drain deadline counts from here */
    conn_arm_timer(c);
    /* Callers go on using their session after this call, also from outside our callbacks
     * (an admission answer, another session's takeover): never free synchronously here.
     * A close that became due finishes from the timer callback on the next loop turn. */
    c->busy++;
    ls_conn_flush(c);
    if (!c->closing && conn_output_empty(c))
        ls_conn_close(c, err, why);
    c->busy--;
    if (c->closing && c->busy == 0)
        event_active(c->ev_timer, EV_TIMEOUT, 1);
}

/*
 * Deferred flush and close, for code that acts on other connections from inside a callback
 * (a registry notifying every watcher of an id): a failure while writing to watcher N must
 * not free watcher N+1 under the caller's loop. The work runs from this connection's own
 * timer callback on the next loop turn — activated by hand, armed or not — where closing is
 * safe.
 */
static void conn_wake_later(struct ls_conn *c)
{
    event_active(c->ev_timer, EV_TIMEOUT, 1);
}

void ls_conn_flush_later(struct ls_conn *c)
{
    if (c->closing || c->draining || c->later_flush || c->later_close != CONN_LATER_NONE)
        return;
    c->later_flush = true;
    conn_wake_later(c);
}

void ls_conn_close_later(struct ls_conn *c, int err, const char *why, bool after_flush)
{
    if (c->closing || c->draining || c->later_close != CONN_LATER_NONE)
        return;
    c->later_close = after_flush ? CONN_LATER_CLOSE_AFTER_FLUSH : CONN_LATER_CLOSE;
    c->later_err = err;
    c->later_why = why;
    conn_wake_later(c);
}

/* Runs inside our timer callback: a flush asked for earlier goes out before a close. */
static void conn_run_later(struct ls_conn *c)
{
    if (c->write_failed != NULL) {
        ls_conn_close(c, LS_EIO, c->write_failed);
        return;
    }
    if (c->later_flush) {
        c->later_flush = false;
        ls_conn_flush(c);
    }
    if (c->later_close == CONN_LATER_CLOSE)
        ls_conn_close(c, c->later_err, c->later_why);
    else if (c->later_close == CONN_LATER_CLOSE_AFTER_FLUSH)
        ls_conn_close_after_flush(c, c->later_err, c->later_why);
    c->later_close = CONN_LATER_NONE;
    if (!c->closing && c->draining && conn_output_empty(c))
        ls_conn_close(c, c->close_err, c->close_why); /* drained by a flush from outside */
}

const char *ls_conn_peer(const struct ls_conn *c)
{
    return c->peer;
}

const struct sockaddr *ls_conn_peer_addr(const struct ls_conn *c)
{
    return (const struct sockaddr *)&c->peer_addr;
}

struct ls_outq *ls_conn_outq(struct ls_conn *c)
{
    return &c->outq;
}

uint32_t ls_conn_out_chunk_size(const struct ls_conn *c)
{
    return c->cfg.out_chunk_size;
}

uint64_t ls_conn_bytes_in(const struct ls_conn *c)
{
    return c->bytes_in;
}

uint64_t ls_conn_bytes_out(const struct ls_conn *c)
{
    return c->bytes_out;
}

uint64_t ls_conn_idle_ms(const struct ls_conn *c)
{
    return ls_now_ms() - c->last_input_ms;
}

static void conn_arm_timer(struct ls_conn *c)
{
    struct timeval tick = { 1, 0 };

    if (!evtimer_pending(c->ev_timer, NULL))
        evtimer_add(c->ev_timer, &tick);
}

void ls_conn_set_idle_timeout(struct ls_conn *c, unsigned ms)
{
    c->cfg.idle_timeout_ms = ms;
    c->last_input_ms = ls_now_ms();
    if (ms != 0 && !c->closing)
        conn_arm_timer(c);
}

void ls_conn_set_deadline(struct ls_conn *c, unsigned ms, const char *why)
{
    c->deadline_ms = ms == 0 ? 0 : ls_now_ms() + ms;
    c->deadline_why = why;
    if (ms != 0 && !c->closing)
        conn_arm_timer(c);
}

void ls_conn_set_quickack(struct ls_conn *c, bool on)
{
    c->quickack = on;
}

void ls_conn_pause_reading(struct ls_conn *c, bool paused)
{
    if (c->closing || c->draining || paused == c->reading_paused)
        return;
    c->reading_paused = paused;
    if (paused)
        event_del(c->ev_read);
    else
        event_add(c->ev_read, NULL);
}

/* ---- output ---- */

/*
 * Queues a blob; `reply` bytes count against max_control_queue_bytes. Past the bound the
 * peer is not reading what it asks for: it is closed — never freed under a caller that
 * runs outside our callbacks and holds nothing, who may go on using its session.
 */
static int conn_queue(struct ls_conn *c, struct ls_frame *blob, enum ls_outq_class cls,
                      bool reply)
{
    static const char why[] = "peer does not read its replies (max_control_queue_bytes)";

    if (c->closing) {
        ls_frame_unref(blob);
        return LS_ESTATE;
    }
    if (!reply)
        return ls_outq_push(&c->outq, blob, cls);
    if (c->cfg.max_control_queue_bytes != 0 &&
        ls_outq_tracked_bytes(&c->outq) + blob->len > c->cfg.max_control_queue_bytes) {
        ls_frame_unref(blob);
        if (c->busy > 0)
            ls_conn_close(c, LS_ELIMIT, why);
        else
            ls_conn_close_later(c, LS_ELIMIT, why, false);
        return LS_ELIMIT;
    }
    return ls_outq_push_tracked(&c->outq, blob, cls);
}

int ls_conn_send_blob(struct ls_conn *c, struct ls_frame *blob, enum ls_outq_class cls)
{
    return conn_queue(c, blob, cls, cls == LS_OUTQ_KEEP);
}

int ls_conn_send(struct ls_conn *c, uint32_t csid, uint8_t type, uint32_t timestamp,
                 uint32_t stream_id, const uint8_t *payload, size_t len)
{
    size_t size;
    struct ls_frame *blob;

    if (len > LS_RTMP_MAX_MESSAGE_LENGTH)
        return LS_ELIMIT;
    size = ls_chunk_encoded_size(csid, timestamp, (uint32_t)len, c->cfg.out_chunk_size);
    blob = ls_frame_new(0, timestamp, stream_id, (uint32_t)size);
    if (blob == NULL)
        return LS_ENOMEM;
    ls_chunk_write_mem(blob->data, csid, type, timestamp, stream_id, payload, (uint32_t)len,
                       c->cfg.out_chunk_size);
    return conn_queue(c, blob, LS_OUTQ_KEEP,
                      type != LS_MSG_AUDIO && type != LS_MSG_VIDEO && type != LS_MSG_AGGREGATE);
}

int ls_conn_send_buf(struct ls_conn *c, struct ls_buf *b)
{
    struct ls_frame *blob;
    int rc = ls_buf_status(b);

    if (rc == LS_OK && b->len > 0) {
        blob = ls_frame_new_copy(0, 0, 0, b->data, (uint32_t)b->len);
        rc = blob != NULL ? conn_queue(c, blob, LS_OUTQ_KEEP, true) : LS_ENOMEM;
    }
    ls_buf_reset(b);
    return rc;
}

static void conn_arm_write(struct ls_conn *c, bool on)
{
    if (on == c->write_waiting)
        return;
    c->write_waiting = on;
    if (on)
        event_add(c->ev_write, NULL);
    else
        event_del(c->ev_write);
}

static void conn_ack(struct ls_conn *c);

void ls_conn_flush(struct ls_conn *c)
{
    ssize_t n;
    int round;

    /* Two rounds: an acknowledgement held back while the last one was queued follows it
     * as soon as that one is gone. */
    for (round = 0; round < 2; round++) {
        if (c->closing || c->connecting || c->write_waiting || c->write_failed != NULL ||
            conn_output_empty(c))
            return;
        n = c->tls != NULL ? ls_tls_write(c->tls, &c->outq) : ls_outq_write(&c->outq, c->fd);
        if (n == -1) {
            const char *why = errno == EPIPE || errno == ECONNRESET ? "connection reset by peer"
                                                                    : "write failed";

            /* Outside our callbacks the caller may go on using its owner: not now. */
            if (c->busy > 0) {
                ls_conn_close(c, LS_EIO, why);
            } else {
                c->write_failed = why;
                conn_wake_later(c);
            }
            return;
        }
        c->bytes_out += (uint64_t)n;
        ls_stats.bytes_out_total += (uint64_t)n;
        if (!conn_output_empty(c)) {
            conn_arm_write(c, true);
            return;
        }
        if (c->draining) {
            if (c->busy > 0)
                ls_conn_close(c, c->close_err, c->close_why);
            else
                conn_wake_later(c); /* conn_run_later closes it */
            return;
        }
        if (!c->ack_owed)
            return;
        conn_ack(c);
    }
}

static void conn_write_cb(evutil_socket_t fd, short what, void *arg)
{
    struct ls_conn *c = arg;

    (void)fd;
    (void)what;
    c->busy++;
    if (c->connecting) {
        int err = 0;
        socklen_t len = sizeof err;

        if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len) == -1 || err != 0) {
            ls_conn_close(c, LS_EIO, "connect failed");
            conn_leave(c);
            return;
        }
        c->connecting = false;
        if (getpeername(c->fd, (struct sockaddr *)&c->peer_addr,
                        &(socklen_t){ sizeof c->peer_addr }) == 0)
            conn_format_peer(c);
    }
    conn_arm_write(c, false);
    ls_conn_flush(c);
    if (c->tls != NULL && ls_tls_wants_write(c->tls) && !c->closing)
        event_active(c->ev_read, EV_READ, 1); /* the TLS handshake can go on */
    conn_leave(c);
}

/* ---- input ---- */

/* What one ping answer costs in the queue: a 12-byte type-0 header and a 6-byte event. */
#define LS_CONN_PING_ANSWER_BYTES 18u

static bool conn_still_queued(struct ls_frame **last);
static void conn_queue_single(struct ls_conn *c, struct ls_frame **last, struct ls_buf *b);

static void conn_handle_control(struct ls_conn *c, struct ls_frame *msg)
{
    struct ls_control ctl;
    const char *why = NULL;

    if (ls_control_parse(msg, &ctl, &why) != LS_OK) {
        ls_conn_close(c, LS_EPROTO, why != NULL ? why : "bad control message");
        return;
    }
    switch (ctl.type) {
    case LS_MSG_ACK:
        c->peer_acked = ctl.sequence;
        break;
    case LS_MSG_USER_CONTROL:
        if (ctl.event == LS_UC_PING_REQUEST) {
            struct ls_buf b;

            /* One answer in the queue at a time: a peer that pings and does not read its
             * answers gets no more of them. The answers it would have had still count
             * against max_control_queue_bytes, so a flood of pings ends like any other
             * flood of requests whose replies are never read: the peer is closed. */
            if (conn_still_queued(&c->ping_blob)) {
                c->pings_unanswered_bytes += LS_CONN_PING_ANSWER_BYTES;
                if (c->cfg.max_control_queue_bytes != 0 &&
                    ls_outq_tracked_bytes(&c->outq) + c->pings_unanswered_bytes >
                        c->cfg.max_control_queue_bytes)
                    ls_conn_close(c, LS_ELIMIT,
                                  "peer does not read its replies (max_control_queue_bytes)");
                return;
            }
            c->pings_unanswered_bytes = 0;
            ls_buf_init(&b, 0);
            ls_control_write_ping_response(&b, ctl.timestamp);
            conn_queue_single(c, &c->ping_blob, &b);
            ls_buf_free(&b);
            return;
        }
        c->ops->on_message(c, c->owner, msg); /* stream begin/EOF matter to clients */
        break;
    default:
        /* Set Chunk Size, Abort and Window Ack Size were applied by the reader; Set Peer
         * Bandwidth is advisory for us: we never throttle our own output by it. */
        break;
    }
}

/* True while the reply we keep a reference to in *last is still in the queue (the queue
 * holds the other reference); once it has left, the reference is dropped. */
static bool conn_still_queued(struct ls_frame **last)
{
    if (*last == NULL)
        return false;
    if ((*last)->refcount > 1)
        return true;
    ls_frame_unref(*last);
    *last = NULL;
    return false;
}

/* Queues the bytes in `b` as a reply we keep one reference to in *last. */
static void conn_queue_single(struct ls_conn *c, struct ls_frame **last, struct ls_buf *b)
{
    struct ls_frame *blob = ls_buf_status(b) == LS_OK
                                ? ls_frame_new_copy(0, 0, 0, b->data, (uint32_t)b->len)
                                : NULL;

    if (blob == NULL) {
        ls_conn_close(c, LS_ENOMEM, "out of memory");
        return;
    }
    *last = ls_frame_ref(blob);
    if (conn_queue(c, blob, LS_OUTQ_KEEP, true) == LS_ENOMEM)
        ls_conn_close(c, LS_ENOMEM, "out of memory");
}

/*
 * Queues the owed acknowledgement unless our last one is still queued (the queue holds a
 * reference to it then): acknowledgements are cumulative (§5.4.3), so one in the queue is
 * enough, and the next carries the count received by the time it can go. A peer that sets
 * a tiny window and never reads thus costs one queued ack, not one per input byte.
 */
static void conn_ack(struct ls_conn *c)
{
    struct ls_buf b;

    if (!c->ack_owed || c->closing || conn_still_queued(&c->ack_blob))
        return;
    c->ack_owed = false;
    ls_buf_init(&b, 0);
    ls_control_write_ack(&b, (uint32_t)ls_chunk_reader_bytes_received(c->reader));
    conn_queue_single(c, &c->ack_blob, &b);
    ls_buf_free(&b);
}

static void conn_send_ack_if_due(struct ls_conn *c)
{
    uint32_t seq;

    if (ls_chunk_reader_ack_due(c->reader, &seq))
        c->ack_owed = true;
    conn_ack(c);
}

/* Feeds received bytes through the handshake and the chunk reader. */
static void conn_process(struct ls_conn *c, const uint8_t *data, size_t len)
{
    const char *why = NULL;

    bool more = true; /* the chunk reader may hold a complete message with no input left */

    while ((len > 0 || (more && c->hs == NULL)) && !c->closing && !c->draining) {
        ssize_t n;

        if (c->hs != NULL) {
            n = ls_handshake_feed(c->hs, data, len, &why);
            if (n < 0) {
                ls_conn_close(c, (int)n, why != NULL ? why : "bad handshake");
                return;
            }
            if (conn_queue_handshake_output(c) != LS_OK) {
                ls_conn_close(c, LS_ENOMEM, "out of memory");
                return;
            }
            data += n;
            len -= (size_t)n;
            if (ls_handshake_done(c->hs)) {
                ls_handshake_free(c->hs);
                c->hs = NULL;
                ls_conn_flush(c);
                if (c->ops->on_ready != NULL && !c->closing)
                    c->ops->on_ready(c, c->owner);
            } else if (n == 0) {
                break;
            }
            continue;
        }
        {
            struct ls_frame *msg = NULL;

            n = ls_chunk_reader_feed(c->reader, data, len, &msg, &why);
            if (n < 0) {
                ls_conn_close(c, (int)n, why != NULL ? why : "bad chunk stream");
                return;
            }
            data += n;
            len -= (size_t)n;
            more = msg != NULL;
            if (msg != NULL) {
                if (msg->type <= LS_MSG_SET_PEER_BANDWIDTH)
                    conn_handle_control(c, msg);
                else
                    c->ops->on_message(c, c->owner, msg);
                ls_frame_unref(msg);
            }
            if (!c->closing)
                conn_send_ack_if_due(c);
        }
    }
}

static void conn_read_cb(evutil_socket_t fd, short what, void *arg)
{
    struct ls_conn *c = arg;
    int round;

    (void)what;
    c->busy++;
    for (round = 0; round < CONN_READ_ROUNDS && !c->closing && !c->draining &&
                    !c->reading_paused; round++) {
        ssize_t n = c->tls != NULL ? ls_tls_read(c->tls, conn_scratch, sizeof conn_scratch)
                                   : recv(fd, conn_scratch, sizeof conn_scratch, 0);

        if (n == 0) {
            ls_conn_close(c, LS_OK, "closed by peer");
            break;
        }
        if (n == -1) {
            if (errno == EINTR)
                continue;
            if (c->tls != NULL && errno == EPROTO)
                ls_conn_close(c, LS_EPROTO, ls_tls_error(c->tls));
            else if (errno != EAGAIN && errno != EWOULDBLOCK)
                ls_conn_close(c, LS_EIO, errno == ECONNRESET ? "connection reset by peer"
                                                             : "read failed");
            else if (c->tls != NULL && ls_tls_wants_write(c->tls))
                conn_arm_write(c, true); /* the handshake continues once writable */
            break;
        }
        c->bytes_in += (uint64_t)n;
        ls_stats.bytes_in_total += (uint64_t)n;
        if (c->quickack) {
            /* Clients that leave Nagle on (ffmpeg, librtmp) send C2 and connect, and then
             * createStream and play, as separate small writes; each waits for our ACK.
             * Delayed ACKs would add ~40 ms per round trip to the start (decision 4). The
             * flag is not sticky in the kernel, so it is renewed after every read. */
            int one = 1;

            setsockopt(fd, IPPROTO_TCP, TCP_QUICKACK, &one, sizeof one);
        }
        c->last_input_ms = ls_now_ms();
        conn_process(c, conn_scratch, (size_t)n);
        if ((size_t)n < sizeof conn_scratch)
            break;
    }
    if (!c->closing)
        ls_conn_flush(c);
    conn_leave(c);
}

/* Handshake, drain, absolute and idle deadlines; drops the timer when there is nothing to
 * watch. */
static void conn_check_deadlines(struct ls_conn *c)
{
    uint64_t now = ls_now_ms();

    if (c->hs != NULL && now - c->started_ms > c->cfg.handshake_timeout_ms)
        ls_conn_close(c, LS_ELIMIT, "handshake timeout");
    else if (c->draining && now - c->started_ms > CONN_DRAIN_TIMEOUT_MS)
        ls_conn_close(c, c->close_err, c->close_why);
    else if (c->deadline_ms != 0 && now >= c->deadline_ms)
        ls_conn_close(c, LS_ELIMIT, c->deadline_why != NULL ? c->deadline_why : "deadline");
    else if (c->cfg.idle_timeout_ms != 0 && now - c->last_input_ms > c->cfg.idle_timeout_ms)
        ls_conn_close(c, LS_ELIMIT, "idle timeout");
    else if (c->hs == NULL && !c->draining && c->cfg.idle_timeout_ms == 0 && c->deadline_ms == 0)
        event_del(c->ev_timer); /* nothing to watch: viewers cost no timer wake-ups */
}

static void conn_timer_cb(evutil_socket_t fd, short what, void *arg)
{
    struct ls_conn *c = arg;

    (void)fd;
    (void)what;
    c->busy++;
    conn_run_later(c);
    if (!c->closing)
        conn_check_deadlines(c);
    conn_leave(c);
}
