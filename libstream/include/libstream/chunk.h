/*
 * chunk.h — the RTMP chunk stream (Adobe RTMP 1.0 §5.3): a reader that reassembles
 * chunks into messages, and a writer that splits one message into chunks.
 *
 * Reader: a pure state machine. Bytes go in (any split: a header may straddle calls),
 * complete messages come out as reference-counted `struct ls_frame`s. It understands all
 * four chunk header types, 1/2/3-byte chunk stream ids, timestamp deltas (accumulated
 * into absolute uint32 timestamps that wrap), extended timestamps, interleaving across
 * chunk streams, and it applies the three protocol control messages that change how the
 * following bytes must be read: Set Chunk Size, Abort and Window Acknowledgement Size
 * (these are still returned to the caller). The reader never writes anything: when an
 * Acknowledgement is due, ls_chunk_reader_ack_due() says so and the session sends it.
 *
 * Writer: the one chunk layout livecluster sends (docs/architecture.md decision 2): a type-0
 * first chunk with the absolute timestamp, type-3 continuation chunks, one chunk size.
 * The output depends only on the arguments, so one encoding can be shared by every
 * viewer that uses the same outgoing chunk size.
 */
#ifndef LIBSTREAM_CHUNK_H
#define LIBSTREAM_CHUNK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "libstream/buf.h"
#include "libstream/err.h"
#include "libstream/frame.h"

/* Smallest and largest chunk stream id a basic header can carry (§5.3.1.1). */
#define LS_CHUNK_CSID_MIN 2u
#define LS_CHUNK_CSID_MAX 65599u

/*
 * Bounds the reader enforces; each can be exposed as a config key. The first four fields
 * must be non-zero (see ls_chunk_reader_new); the last two use 0 for "no bound".
 */
struct ls_chunk_limits {
    /* Largest Set Chunk Size the peer may announce (default 65536). Larger → LS_ELIMIT;
       0 or the top bit set is always LS_EPROTO. At most LS_RTMP_MAX_CHUNK_SIZE. */
    uint32_t max_chunk_size;
    /* Largest message length a header may announce (default 8 MiB). Checked before the
       message is allocated; larger → LS_ELIMIT. */
    uint32_t max_message_size;
    /* Number of distinct chunk stream ids the peer may use (default 64); the state of a
       chunk stream lives as long as the reader. One more → LS_ELIMIT. */
    uint32_t max_chunk_streams;
    /* Sum of the lengths of all messages being reassembled at one time (default
       16 MiB); a message start that would exceed it → LS_ELIMIT. A message's buffer
       grows as its chunks arrive (at once to its full length only up to
       LS_CHUNK_PREALLOC_MAX), so announcing a long message costs memory only as its
       bytes come in; this bounds what the announced lengths may add up to. */
    uint64_t max_pending_bytes;
    /* Smallest acknowledgement window the reader honours (default
       LS_CHUNK_MIN_ACK_WINDOW): a peer's Window Acknowledgement Size below it (but not
       0, which turns acknowledgements off) is raised to it, so a peer cannot ask for an
       acknowledgement per byte. 0 = take the peer's window as it is. */
    uint32_t min_ack_window;
    /* Zero-length messages the peer may send in a row (default 1024); one more →
       LS_ELIMIT. Each costs a header byte and a message to dispatch while carrying
       nothing, so a run of them is abuse, not media. 0 = unbounded. */
    uint32_t max_empty_messages;
};

/* Messages up to this length get their whole buffer when their first chunk arrives;
 * longer ones grow (doubling) as their chunks come in. */
#define LS_CHUNK_PREALLOC_MAX 65536u
/* The default floor of the acknowledgement window. */
#define LS_CHUNK_MIN_ACK_WINDOW 4096u

/* { 65536, 8 MiB, 64, 16 MiB, 4096, 1024 } */
extern const struct ls_chunk_limits ls_chunk_default_limits;

/* Opaque; one per connection direction (bytes received from one peer). */
struct ls_chunk_reader;

/*
 * A reader in the initial state (peer chunk size 128, no acknowledgement window).
 * `lim` is copied; NULL means ls_chunk_default_limits. Returns NULL when allocation
 * fails or when `lim` has a zero field or max_chunk_size > LS_RTMP_MAX_CHUNK_SIZE.
 * The caller owns the reader and frees it with ls_chunk_reader_free().
 */
struct ls_chunk_reader *ls_chunk_reader_new(const struct ls_chunk_limits *lim);

/* Frees the reader and every partially reassembled message. NULL is ignored. Frames
   already returned by ls_chunk_reader_feed() belong to the caller and are unaffected. */
void ls_chunk_reader_free(struct ls_chunk_reader *r);

/*
 * Consumes bytes from `in` until one message completes or the input is exhausted.
 * Partial chunk headers are buffered inside the reader, so all `len` bytes are consumed
 * unless a message completes first.
 *
 * Returns the number of bytes consumed (>= 0) and sets *msg to the completed message —
 * the caller owns that one reference and drops it with ls_frame_unref() — or to NULL
 * when more input is needed, in which case all `len` bytes were consumed. LS_AGAIN is
 * never returned: "need more" is *msg == NULL. A message may complete on bytes the
 * reader buffered earlier (then fewer, even 0, bytes are consumed), so the caller loops
 * until *msg comes back NULL, passing the unconsumed rest (possibly len 0) each time:
 *
 *     do {
 *         n = ls_chunk_reader_feed(r, p, left, &msg, &why);
 *         if (n < 0) -> close the connection
 *         p += n; left -= n;
 *         if (msg != NULL) { handle(msg); ls_frame_unref(msg); }
 *     } while (msg != NULL);
 *
 * `in` is borrowed for the call and may be NULL when len is 0.
 *
 * Set Chunk Size, Abort and Window Acknowledgement Size messages are applied as soon as
 * they complete, before they are returned, and affect every following byte.
 *
 * Errors (negative; *why gets a static reason when `why` is non-NULL; *msg stays NULL):
 *   LS_EPROTO  a type-1/2/3 header on a chunk stream never started by a type-0 header;
 *              a type-0/1/2 header on a chunk stream whose message is incomplete;
 *              Set Chunk Size of 0 or with the top bit set; a Set Chunk Size, Abort or
 *              Window Acknowledgement Size payload shorter than 4 bytes.
 *   LS_ELIMIT  any bound of struct ls_chunk_limits (max_empty_messages: the message
 *              after the run completes nothing and the reader fails).
 *   LS_ENOMEM  a message buffer could not be allocated.
 * After an error the reader is unusable: every later call returns the same code.
 *
 * Extended timestamps on type-3 chunks: §5.3.1.3 says the 4-byte field follows a
 * type-3 basic header whenever the last type-0/1/2 header of that chunk stream carried
 * one, but some encoders omit it. The reader therefore peeks at the next 4 bytes and
 * consumes them as the extended timestamp only when they equal the value of the last
 * extended field of that chunk stream; otherwise they are payload. (A payload that
 * happens to start with exactly those 4 bytes from an encoder that omits the field is
 * misread; no reader can tell the two apart.) Deciding needs 4 bytes after such a
 * basic header, so a chunk that carries fewer than 4 payload bytes may be held until
 * the next chunk arrives.
 *
 * A type-3 chunk that starts a new message repeats the previous message's length, type,
 * stream id and timestamp delta (§5.3.1.2.4); after a type-0 header that delta is 0.
 */
LS_MUST_CHECK ssize_t ls_chunk_reader_feed(struct ls_chunk_reader *r, const uint8_t *in,
                                           size_t len, struct ls_frame **msg,
                                           const char **why);

/*
 * Decodes a Set Chunk Size payload (§5.4.1: [0|size:31], big-endian) from its first 4
 * bytes; the caller has checked that there are 4. The one place this message is read: the
 * reader applies it, ls_control_parse() reports it. Returns LS_OK with *size in
 * 1..0x7fffffff, or LS_EPROTO for 0 or a set top bit (reason in the optional *why).
 */
LS_MUST_CHECK int ls_chunk_size_decode(const uint8_t p[4], uint32_t *size, const char **why);

/* The peer's current chunk size (128 until it sends Set Chunk Size). */
uint32_t ls_chunk_reader_chunk_size(const struct ls_chunk_reader *r);

/* Total bytes consumed by ls_chunk_reader_feed() since the reader was created. */
uint64_t ls_chunk_reader_bytes_received(const struct ls_chunk_reader *r);

/* The acknowledgement window the peer set with Window Acknowledgement Size, raised to the
   limits' min_ack_window (0 = none yet, or the peer set 0: no acknowledgements are then
   due). */
uint32_t ls_chunk_reader_ack_window(const struct ls_chunk_reader *r);

/*
 * True, once, when the bytes received since the last acknowledgement (or since the
 * start) reach the peer's window; *sequence then receives the total number of bytes
 * received modulo 2^32 (§5.4.3) and the count restarts. False while no window is set.
 * Call it after each feed; the session then sends ls_control_write_ack(sequence).
 */
bool ls_chunk_reader_ack_due(struct ls_chunk_reader *r, uint32_t *sequence);

/*
 * Writer. Arguments, shared by the three functions below:
 *   csid        LS_CHUNK_CSID_MIN..LS_CHUNK_CSID_MAX (basic header of 1, 2 or 3 bytes)
 *   type        message type id (enum ls_msg_type); not interpreted
 *   timestamp   absolute timestamp; >= 0xFFFFFF is sent as an extended timestamp,
 *               repeated after every type-3 basic header of the message
 *   stream_id   message stream id (written little-endian)
 *   payload/len the message; len <= LS_RTMP_MAX_MESSAGE_LENGTH (0xFFFFFF); payload is
 *               borrowed for the call and may be NULL when len is 0
 *   chunk_size  1..LS_RTMP_MAX_CHUNK_SIZE: the chunk size the peer was told to expect
 * Layout: [fmt 0 header][<= chunk_size bytes]([fmt 3 header][<= chunk_size bytes])...
 * A zero-length message is one type-0 header without data.
 */

/*
 * Appends the chunked message to `out`. Invalid arguments (csid, len or chunk_size out
 * of range) append nothing and set the buffer's sticky error to LS_EINVAL; allocation
 * failure or the buffer's limit set LS_ENOMEM / LS_ELIMIT (see buf.h). Check
 * ls_buf_status(out) once after a batch of writes.
 */
void ls_chunk_write(struct ls_buf *out, uint32_t csid, uint8_t type, uint32_t timestamp,
                    uint32_t stream_id, const uint8_t *payload, uint32_t len,
                    uint32_t chunk_size);

/* Exact number of bytes the chunked form occupies; 0 for invalid arguments. */
size_t ls_chunk_encoded_size(uint32_t csid, uint32_t timestamp, uint32_t len,
                             uint32_t chunk_size);

/*
 * Writes the chunked form into caller memory, which must hold at least
 * ls_chunk_encoded_size(csid, timestamp, len, chunk_size) bytes; nothing beyond that is
 * touched. Returns the bytes written (that size), or 0 and writes nothing for invalid
 * arguments. For zero-copy users (one encoding inside a shared buffer).
 */
size_t ls_chunk_write_mem(uint8_t *out, uint32_t csid, uint8_t type, uint32_t timestamp,
                          uint32_t stream_id, const uint8_t *payload, uint32_t len,
                          uint32_t chunk_size);

#endif /* LIBSTREAM_CHUNK_H */
