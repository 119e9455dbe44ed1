/*
 * frame.h — one RTMP message (media, data or command) with a reference count.
 *
 * Ownership: ls_frame_new() returns a frame with refcount 1 owned by the caller (the
 * chunk reader hands that reference to its caller). Whoever keeps a pointer to a frame
 * across an event-loop turn holds a reference (ls_frame_ref) and drops it with
 * ls_frame_unref; the last unref frees it. A frame is immutable once it has been handed
 * to anyone else (published to a hub, queued to a socket): only its creator writes
 * `data`, and only before sharing it. Reference counts are not atomic: frames belong to
 * one event loop (docs/architecture.md decision 1).
 *
 * Layout: header and payload are one allocation; `data` is the payload.
 */
#ifndef LIBSTREAM_FRAME_H
#define LIBSTREAM_FRAME_H

#include <stddef.h>
#include <stdint.h>

struct ls_frame {
    uint32_t refcount;   /* only ls_frame_ref/unref touch this */
    uint8_t type;        /* enum ls_msg_type */
    uint32_t timestamp;  /* absolute timestamp in ms (deltas already applied) */
    uint32_t stream_id;  /* message stream id */
    uint32_t len;        /* payload length in bytes */
    uint8_t data[];      /* payload */
};

/* A frame with `len` uninitialised payload bytes and refcount 1; NULL on allocation failure. */
struct ls_frame *ls_frame_new(uint8_t type, uint32_t timestamp, uint32_t stream_id, uint32_t len);
/* A frame holding a copy of `len` bytes at `data`; NULL on allocation failure. */
struct ls_frame *ls_frame_new_copy(uint8_t type, uint32_t timestamp, uint32_t stream_id,
                                   const void *data, uint32_t len);
/*
 * Changes the payload length to `len` (bytes up to the smaller length are kept), moving
 * the frame if needed. Only for a frame nobody else holds yet (refcount 1): the chunk
 * reader grows a message as its chunks arrive. Returns the frame's new address, or NULL
 * (the frame unchanged and still owned by the caller) when memory is short.
 */
struct ls_frame *ls_frame_resize(struct ls_frame *f, uint32_t len);
/* Takes one more reference; returns `f` for convenience. */
struct ls_frame *ls_frame_ref(struct ls_frame *f);
/* Drops one reference; frees the frame when it was the last. NULL is ignored. */
void ls_frame_unref(struct ls_frame *f);
/*
 * Cleanup callback with the signature of libevent's evbuffer_ref_cleanup_cb:
 * evbuffer_add_reference(out, f->data, f->len, ls_frame_unref_cb, f) after ls_frame_ref(f).
 */
void ls_frame_unref_cb(const void *data, size_t len, void *frame);

#endif /* LIBSTREAM_FRAME_H */
