/*
 * conn.h — one RTMP connection on the event loop: socket I/O, handshake, chunk stream and
 * protocol control, shared by the server session (session.h) and the client (client.h).
 *
 * Reading: a readable socket is drained into a process-wide scratch buffer (no per-
 * connection input buffer) and fed to the handshake, then to the chunk reader. Protocol
 * control is handled here (Set Chunk Size and Abort by the reader; Window Ack Size and
 * Acknowledgements; ping requests answered); every other complete message goes to the
 * owner's on_message. Writing: everything goes through the connection's outq by
 * reference and leaves in batches with writev (outq.h).
 *
 * Lifetime: the owner creates the connection and receives exactly one on_close. Closing
 * from inside a callback is safe: the connection is freed once the callback returns. Code
 * that runs outside the connection's callbacks and may close it on the way (an admission
 * answer, a hub callback, an owner's timer) holds it (ls_conn_hold) for as long as it
 * uses the connection or its owner: a close requested meanwhile, by a refusal for
 * example, happens at ls_conn_release. A flush (or a queued reply over the bound) never
 * closes synchronously outside callbacks and holds: it closes on the next loop turn.
 *
 * Bounds (docs/architecture.md decision 10): acknowledgements are cumulative — at most
 * one is queued at a time, and the chunk reader raises the peer's Window Acknowledgement
 * Size to at least the limits' min_ack_window — ping requests are answered only while no
 * earlier answer is still queued, and the replies the connection queues
 * itself or through ls_conn_send* (control, commands, statuses; not media) may hold at
 * most max_control_queue_bytes unsent: a peer that makes us queue more, by sending
 * requests and never reading the answers, is closed.
 */
#ifndef LIBSTREAM_CONN_H
#define LIBSTREAM_CONN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "libstream/chunk.h"
#include "libstream/err.h"
#include "libstream/frame.h"
#include "libstream/handshake.h"
#include "libstream/outq.h"

struct event_base;
struct ls_conn;
struct ls_tls_ctx;

struct ls_conn_config {
    unsigned handshake_timeout_ms; /* handshake must finish within this (default 10 s) */
    unsigned idle_timeout_ms;      /* no input at all for this long closes (default 60 s; 0 = off) */
    struct ls_chunk_limits chunk;  /* bounds on what the peer may send */
    uint32_t out_chunk_size;       /* our chunk size, announced after the handshake */
    uint32_t window_ack_size;      /* announced to the peer (default 2500000) */
    size_t max_control_queue_bytes; /* unsent replies (control, commands) before the peer is
                                     * closed (default 65536; 0 = no bound) */
};
void ls_conn_config_defaults(struct ls_conn_config *cfg);

struct ls_conn_ops {
    /* Handshake complete (client: C2 sent; server: C2 received). */
    void (*on_ready)(struct ls_conn *c, void *owner);
    /* A complete non-control message; the owner may ls_frame_ref it to keep it. */
    void (*on_message)(struct ls_conn *c, void *owner, struct ls_frame *msg);
    /* Exactly once. `err` is LS_OK for an orderly close by either side or a negative code;
     * `why` is a static description for the log line. The connection is freed right after. */
    void (*on_close)(struct ls_conn *c, void *owner, int err, const char *why);
};

/*
 * Wraps an accepted or connecting socket (non-blocking; the connection owns it and closes
 * it). For the client role the socket may still be connecting: C0C1 go out when it becomes
 * writable. NULL on allocation failure (the socket is then closed).
 */
struct ls_conn *ls_conn_new(struct event_base *base, int fd, enum ls_hs_role role,
                            const struct ls_conn_config *cfg, const struct ls_conn_ops *ops,
                            void *owner);
/*
 * RTMPS: the connection's bytes go through TLS (tls.h) with `ctx`'s certificate, server
 * side; the TLS handshake comes first and counts against handshake_timeout. Call before
 * ls_conn_start. LS_ENOMEM.
 */
LS_MUST_CHECK int ls_conn_use_tls(struct ls_conn *c, struct ls_tls_ctx *ctx);
/* Starts I/O (after the owner stored the pointer). */
LS_MUST_CHECK int ls_conn_start(struct ls_conn *c);
/*
 * Closes now: on_close runs (err/why as given) and the connection is freed, or — inside a
 * callback of this connection — as soon as that callback returns. Pending output is
 * dropped; use ls_conn_close_after_flush to let replies go out first.
 */
void ls_conn_close(struct ls_conn *c, int err, const char *why);
/* Stops reading and closes once the queued output has been written (bounded by 2 s). */
void ls_conn_close_after_flush(struct ls_conn *c, int err, const char *why);
/*
 * The same on the next loop turn, for code that closes or flushes *other* connections from
 * inside a callback (a registry answering one session and notifying others): nothing is
 * freed under the caller. ls_conn_close_later closes as ls_conn_close, or with
 * `after_flush` as ls_conn_close_after_flush; the first request counts, later ones and
 * requests on a closing connection are ignored. ls_conn_flush_later writes the queued
 * output (before a deferred close, when both are pending).
 */
void ls_conn_close_later(struct ls_conn *c, int err, const char *why, bool after_flush);
void ls_conn_flush_later(struct ls_conn *c);
/*
 * Holds the connection (and so its owner, which is freed from on_close) across code that
 * runs outside the connection's callbacks and may close it: a close requested while held
 * takes effect when the last hold is released. Holds nest.
 */
void ls_conn_hold(struct ls_conn *c);
/* Ends a hold; a close requested meanwhile happens now: on_close runs and `c` is freed. */
void ls_conn_release(struct ls_conn *c);

/* Peer address "ip:port" (static storage in the connection). */
const char *ls_conn_peer(const struct ls_conn *c);
const struct sockaddr *ls_conn_peer_addr(const struct ls_conn *c);
struct ls_outq *ls_conn_outq(struct ls_conn *c);
uint32_t ls_conn_out_chunk_size(const struct ls_conn *c);
uint64_t ls_conn_bytes_in(const struct ls_conn *c);
uint64_t ls_conn_bytes_out(const struct ls_conn *c);
/* Since the last media/data/command message arrived (ms). */
uint64_t ls_conn_idle_ms(const struct ls_conn *c);
void ls_conn_set_idle_timeout(struct ls_conn *c, unsigned ms);
/*
 * Closes the connection (LS_ELIMIT, `why`: a static string) `ms` from now, whatever it
 * receives meanwhile; 0 clears the deadline. The server's connect_timeout: a client has
 * that long to start publishing or playing, and again each time it returns to idle.
 */
void ls_conn_set_deadline(struct ls_conn *c, unsigned ms, const char *why);

/*
 * Queues one message, chunked at our chunk size (fmt 0, absolute timestamp). The bytes go
 * out at the next ls_conn_flush (replies are flushed when the current input is done).
 * Anything but audio, video and aggregate messages counts against max_control_queue_bytes,
 * as do ls_conn_send_buf and ls_conn_send_blob with LS_OUTQ_KEEP: past the bound the
 * message is dropped, LS_ELIMIT returned and the connection closed (at once inside its
 * callbacks or a hold, else on the next loop turn).
 */
LS_MUST_CHECK int ls_conn_send(struct ls_conn *c, uint32_t csid, uint8_t type,
                               uint32_t timestamp, uint32_t stream_id, const uint8_t *payload,
                               size_t len);
/* Queues pre-encoded bytes (a control message built with control.h, or shared media). The
 * queue takes over the reference. */
LS_MUST_CHECK int ls_conn_send_blob(struct ls_conn *c, struct ls_frame *blob,
                                    enum ls_outq_class cls);
/* Queues the bytes held in `b` (copied into one blob) and resets `b`. */
LS_MUST_CHECK int ls_conn_send_buf(struct ls_conn *c, struct ls_buf *b);
/*
 * Writes queued output now; on a full socket waits for writability. A write that fails
 * (the peer is gone) closes the connection — never under the caller: inside a callback
 * or a hold as ls_conn_close, otherwise on the next loop turn. So does a drain (close
 * after flush) that this write completes.
 */
void ls_conn_flush(struct ls_conn *c);

/* Immediate ACKs (TCP_QUICKACK) for every read: on from the start; sessions turn it off
 * once media flows, where delayed ACKs save packets. */
void ls_conn_set_quickack(struct ls_conn *c, bool on);
/* Suspends/resumes reading from the socket (pull back-pressure, admission waits). */
void ls_conn_pause_reading(struct ls_conn *c, bool paused);

#endif /* LIBSTREAM_CONN_H */
