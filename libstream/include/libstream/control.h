/*
 * control.h — protocol control messages (Adobe RTMP 1.0 §5.4, message types 1-6) and
 * user control events (§7.1.7, carried by type 4): builders and a parser.
 *
 * Builders append one COMPLETE chunked message to an ls_buf: a single type-0 chunk on
 * chunk stream 2 (LS_CSID_CONTROL), message stream id 0, timestamp 0. The payloads are
 * at most 10 bytes, so they fit in one chunk whatever chunk size is in force. Like every
 * encoder they report failure through the buffer's sticky error (buf.h): LS_ENOMEM or
 * LS_ELIMIT from the buffer, LS_EINVAL for an out-of-range argument (then nothing is
 * appended). Check ls_buf_status() once after a batch.
 *
 * Payload layouts (big-endian):
 *   1 Set Chunk Size        [0|size:31]
 *   2 Abort                 [csid:32]
 *   3 Acknowledgement       [sequence:32]
 *   5 Window Ack Size       [window:32]
 *   6 Set Peer Bandwidth    [window:32][limit type:8]
 *   4 User Control          [event:16][event data]
 *        0 Stream Begin, 1 Stream EOF, 2 Stream Dry, 4 Stream Is Recorded: [stream id:32]
 *        3 Set Buffer Length: [stream id:32][buffer length ms:32]
 *        6 Ping Request, 7 Ping Response: [timestamp:32]
 */
#ifndef LIBSTREAM_CONTROL_H
#define LIBSTREAM_CONTROL_H

#include <stdbool.h>
#include <stdint.h>

#include "libstream/buf.h"
#include "libstream/err.h"
#include "libstream/frame.h"
#include "libstream/rtmp.h"

/* size: 1..LS_RTMP_MAX_CHUNK_SIZE, else LS_EINVAL. */
void ls_control_write_set_chunk_size(struct ls_buf *b, uint32_t size);
void ls_control_write_abort(struct ls_buf *b, uint32_t csid);
void ls_control_write_ack(struct ls_buf *b, uint32_t sequence);
void ls_control_write_window_ack_size(struct ls_buf *b, uint32_t window);
/* limit_type: enum ls_peer_bw_limit (0..2), else LS_EINVAL. */
void ls_control_write_set_peer_bandwidth(struct ls_buf *b, uint32_t window, uint8_t limit_type);
void ls_control_write_stream_begin(struct ls_buf *b, uint32_t stream_id);
void ls_control_write_stream_eof(struct ls_buf *b, uint32_t stream_id);
void ls_control_write_stream_dry(struct ls_buf *b, uint32_t stream_id);
void ls_control_write_stream_is_recorded(struct ls_buf *b, uint32_t stream_id);
void ls_control_write_set_buffer_length(struct ls_buf *b, uint32_t stream_id, uint32_t ms);
void ls_control_write_ping_request(struct ls_buf *b, uint32_t timestamp);
void ls_control_write_ping_response(struct ls_buf *b, uint32_t timestamp);

/*
 * One parsed protocol control or user control message. `type` says which fields are
 * meaningful; every other field is 0 / false / NULL.
 */
struct ls_control {
    uint8_t type;            /* LS_MSG_SET_CHUNK_SIZE .. LS_MSG_SET_PEER_BANDWIDTH */
    uint32_t chunk_size;     /* 1: Set Chunk Size */
    uint32_t csid;           /* 2: Abort */
    uint32_t sequence;       /* 3: Acknowledgement */
    uint32_t window;         /* 5: Window Ack Size; 6: Set Peer Bandwidth */
    uint8_t limit_type;      /* 6: as received (enum ls_peer_bw_limit when 0..2) */
    /* 4: User Control */
    uint16_t event;          /* event type as received (enum ls_user_control) */
    bool known_event;        /* false: an event this parser does not decode (e.g. the
                                SWF verification events 26/27); not an error */
    uint32_t stream_id;      /* events 0, 1, 2, 3, 4 */
    uint32_t buffer_ms;      /* event 3 */
    uint32_t timestamp;      /* events 6, 7 */
    const uint8_t *event_data; /* event data after the 2-byte event type, borrowed from
                                  the frame (valid while the caller holds it); may be
                                  NULL when empty */
    uint32_t event_data_len;
};

/*
 * Parses the payload of a type 1-6 message `f` (borrowed) into *out.
 * Returns LS_OK; LS_EINVAL when f->type is not 1-6; LS_EPROTO when the payload is
 * shorter than its type (or known user control event) requires, or for a Set Chunk
 * Size of 0 or with the top bit set. Extra trailing bytes are ignored. Unknown user
 * control events are LS_OK with known_event false. *why gets a static reason on error.
 */
LS_MUST_CHECK int ls_control_parse(const struct ls_frame *f, struct ls_control *out,
                                   const char **why);

#endif /* LIBSTREAM_CONTROL_H */
