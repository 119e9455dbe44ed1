/*
 * outq.h — a connection's queue of outgoing bytes, held by reference.
 *
 * Every entry is one reference to an immutable blob (a struct ls_frame used as a byte
 * container: an RTMP message already chunked, an FLV tag, a control reply). Media blobs are
 * shared by every viewer of a stream (docs/architecture.md decision 2): queueing one costs a
 * slot in a ring, never a copy or an allocation. A flush hands the queued blobs to the
 * kernel with writev(), as many per call as fit an iovec array (decision 2, "write in
 * batches").
 *
 * Each entry carries a class so that a slow viewer can shed what is safe to shed
 * (decision 3): whole video messages that have not started going out. Because every blob
 * is a complete message with a type-0 chunk header (absolute timestamp), removing whole
 * entries keeps the chunk stream valid.
 *
 * Ownership: ls_outq_push() takes over one reference from the caller; the queue drops it
 * when the bytes are written or the entry is shed or cleared.
 */
#ifndef LIBSTREAM_OUTQ_H
#define LIBSTREAM_OUTQ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "libstream/err.h"
#include "libstream/frame.h"

struct evbuffer;

enum ls_outq_class {
    LS_OUTQ_KEEP = 0,     /* control, commands, metadata, sequence headers: never shed */
    LS_OUTQ_AUDIO = 1,    /* shed only when the hard bound is reached */
    LS_OUTQ_VIDEO = 2,    /* inter frames: shed first */
    LS_OUTQ_VIDEO_KEY = 3 /* keyframes: shed with the frames that depend on them */
};

struct ls_outq_entry {
    struct ls_frame *blob; /* one reference owned by the queue */
    uint8_t cls;           /* enum ls_outq_class */
    bool tracked;          /* counted in `tracked_bytes` (ls_outq_push_tracked) */
};

struct ls_outq {
    struct ls_outq_entry *ring; /* owned */
    uint32_t cap;               /* power of two, 0 before the first push */
    uint32_t head;
    uint32_t count;
    uint32_t head_offset;       /* bytes of ring[head] already written */
    size_t bytes;               /* unwritten bytes in the queue */
    size_t tracked_bytes;       /* unwritten bytes of tracked entries (part of `bytes`) */
};

void ls_outq_init(struct ls_outq *q);
/* Drops every queued reference and frees the ring. */
void ls_outq_clear(struct ls_outq *q);
/* Queues one reference to `blob` (taken over from the caller). LS_ENOMEM when the ring
 * cannot grow; the reference is then dropped, so the caller never has to. */
LS_MUST_CHECK int ls_outq_push(struct ls_outq *q, struct ls_frame *blob, enum ls_outq_class cls);
/*
 * The same, and the entry's unwritten bytes count in ls_outq_tracked_bytes() until they
 * are written, moved, shed or cleared. A connection tracks its own replies (control,
 * commands) this way, apart from shared media queued by the hub, to bound what a peer
 * that never reads can make it hold (conn.h, max_control_queue_bytes).
 */
LS_MUST_CHECK int ls_outq_push_tracked(struct ls_outq *q, struct ls_frame *blob,
                                       enum ls_outq_class cls);
static inline bool ls_outq_empty(const struct ls_outq *q) { return q->count == 0; }
static inline size_t ls_outq_bytes(const struct ls_outq *q) { return q->bytes; }
static inline size_t ls_outq_tracked_bytes(const struct ls_outq *q) { return q->tracked_bytes; }
/*
 * Writes as much as the socket takes with writev() (up to 64 entries per call, repeated
 * until the queue is empty or the socket is full). Returns the bytes written (>= 0), or -1
 * with errno set on a socket error other than EAGAIN/EINTR.
 */
ssize_t ls_outq_write(struct ls_outq *q, int fd);
/*
 * Copies up to `cap` queued bytes, from the front, into `out` without removing them, for a
 * transport that must hand its output over in one buffer (TLS: one record per flush,
 * tls.h). Returns the bytes copied. ls_outq_consume then drops what was sent.
 */
size_t ls_outq_copy_out(const struct ls_outq *q, uint8_t *out, size_t cap);
/* Drops `n` bytes (at most ls_outq_bytes) from the front, as a write of `n` bytes does. */
void ls_outq_consume(struct ls_outq *q, size_t n);
/*
 * Moves the queued bytes into `out` by reference (evbuffer_add_reference), for transports
 * that own their socket through libevent (HTTP-FLV over evhttp). Returns bytes moved or
 * LS_ENOMEM. ls_outq_move_to_evbuffer_max stops at the first whole entry that reaches
 * `max` bytes moved (at least one entry moves).
 */
ssize_t ls_outq_move_to_evbuffer(struct ls_outq *q, struct evbuffer *out);
ssize_t ls_outq_move_to_evbuffer_max(struct ls_outq *q, struct evbuffer *out, size_t max);
/*
 * Removes every queued entry of class >= `min_cls` that has not started going out.
 * Returns the number of bytes removed.
 */
size_t ls_outq_shed(struct ls_outq *q, enum ls_outq_class min_cls);

#endif /* LIBSTREAM_OUTQ_H */
