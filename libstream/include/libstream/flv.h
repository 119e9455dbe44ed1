/*
 * flv.h — FLV file/stream container: an incremental reader (demuxer) and a writer (muxer).
 * (Adobe Flash Video File Format Specification v10.1, annex E: E.2 header, E.3 body,
 * E.4.1 FLVTAG.)
 *
 * What the module owns: the FLV framing only — the 9-byte file header, the 11-byte tag
 * headers and the 4-byte PreviousTagSize fields. The tag payloads (AUDIODATA, VIDEODATA,
 * SCRIPTDATA) are exactly RTMP message payloads and are handed over untouched as
 * `struct ls_frame` (frame.h); what they contain is codec.h's business.
 *
 * The reader is pure and incremental: it never does I/O, buffers partial headers
 * internally, and accepts input split at any byte. It expects a complete FLV stream
 * starting with the "FLV" signature (a file, or an HTTP-FLV body from its first byte).
 * A mode that starts directly at a tag (for bodies whose header was consumed elsewhere)
 * is deliberately not provided; feed the 13 header bytes first instead.
 */
#ifndef LIBSTREAM_FLV_H
#define LIBSTREAM_FLV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "libstream/buf.h"
#include "libstream/err.h"
#include "libstream/frame.h"

#define LS_FLV_HEADER_SIZE 9u       /* signature, version, flags, data offset */
#define LS_FLV_TAG_HEADER_SIZE 11u  /* type, size, timestamp, ext, stream id */
#define LS_FLV_TAG_TRAILER_SIZE 4u  /* PreviousTagSize */
#define LS_FLV_MAX_DATA_SIZE 0xffffffu /* 24-bit DataSize field */

/* FLV tag types (E.4.1 TagType); the same numbers as RTMP message types 8, 9, 18. */
enum ls_flv_tag_type {
    LS_FLV_TAG_AUDIO = 8,
    LS_FLV_TAG_VIDEO = 9,
    LS_FLV_TAG_SCRIPT = 18,
};

/* FLV header TypeFlags bits (E.2). */
#define LS_FLV_FLAG_AUDIO 0x04u
#define LS_FLV_FLAG_VIDEO 0x01u

/* Default limits (see struct ls_flv_limits). */
#define LS_FLV_DEFAULT_MAX_TAG_SIZE (8u * 1024u * 1024u)
#define LS_FLV_DEFAULT_MAX_DATA_OFFSET 1024u

/*
 * Reader limits; a zero field means "use the default". Daemons expose these as config
 * keys.
 */
struct ls_flv_limits {
    /* Largest tag payload (DataSize) the reader will allocate, in bytes; default 8 MiB.
     * A tag header announcing more fails with LS_ELIMIT before anything is allocated. */
    uint32_t max_tag_size;
    /* Largest DataOffset accepted in the file header; default 1024 (real files say 9). */
    uint32_t max_data_offset;
};

/* The file header (E.2), as delivered by LS_FLV_EV_HEADER. */
struct ls_flv_header {
    uint8_t version;      /* 1 in every known file; other values are reported, not refused */
    bool has_audio;       /* TypeFlagsAudio: a hint only, real files lie */
    bool has_video;       /* TypeFlagsVideo */
    uint32_t data_offset; /* header length; the reader skips to it (>= 9) */
};

enum ls_flv_event_type {
    LS_FLV_EV_NONE = 0,   /* nothing (only seen when feed returns a negative code) */
    LS_FLV_EV_HEADER = 1, /* the file header was read; `header` is valid */
    LS_FLV_EV_TAG = 2,    /* one complete audio/video/script tag; `tag` is valid */
};

struct ls_flv_event {
    enum ls_flv_event_type type;
    struct ls_flv_header header; /* LS_FLV_EV_HEADER */
    /*
     * LS_FLV_EV_TAG: the tag as a frame with refcount 1 that the caller now owns (drop it
     * with ls_frame_unref). type = TagType (8/9/18), timestamp = 32-bit timestamp with
     * TimestampExtended as the high byte, stream_id = 0 (the file's StreamID is ignored),
     * len/data = the tag's payload.
     */
    struct ls_frame *tag;
};

/* Counters of tolerated irregularities, for logs and /metrics. */
struct ls_flv_stats {
    uint64_t tags;                  /* audio/video/script tags delivered */
    uint64_t skipped_tags;          /* tags of unknown type skipped unread */
    uint64_t prev_size_mismatches;  /* PreviousTagSize != 11 + DataSize of the tag before
                                     * (or != 0 for PreviousTagSize0) */
};

struct ls_flv_reader;

/*
 * A new reader at the start of a stream. `limits` may be NULL (all defaults); it is copied.
 * Returns NULL on allocation failure. Free with ls_flv_reader_free().
 */
struct ls_flv_reader *ls_flv_reader_new(const struct ls_flv_limits *limits);
/* Frees the reader and any partially read tag. NULL is ignored. */
void ls_flv_reader_free(struct ls_flv_reader *r);

/*
 * Consumes bytes from `in` (borrowed for the duration of the call) until one event is
 * complete or the input is exhausted. Partial headers and tag payloads are kept inside the
 * reader, so input may be split anywhere.
 *
 * Returns:
 *   > 0        bytes consumed; `*ev` holds one event (LS_FLV_EV_HEADER or LS_FLV_EV_TAG).
 *              Call again with the remaining input.
 *   LS_AGAIN   all `len` bytes were consumed (and remembered) without completing an event;
 *              `ev->type` is LS_FLV_EV_NONE. Feed more input.
 *   LS_EPROTO  not an FLV stream (bad signature) or DataOffset < 9.
 *   LS_ELIMIT  a tag's DataSize exceeds max_tag_size, or DataOffset exceeds
 *              max_data_offset (checked before allocating or skipping).
 *   LS_EUNSUPPORTED  a tag has the Filter bit set (encrypted / pre-processed content).
 *   LS_ENOMEM  the tag's frame could not be allocated.
 * Errors are sticky: after a negative return other than LS_AGAIN every later call returns
 * the same code; `*why` (optional) receives a static reason.
 *
 * Tolerated and counted rather than refused (see ls_flv_reader_stats): PreviousTagSize
 * values that do not match the tag before them, and tags of unknown type (skipped without
 * allocating, whatever their size). The reserved bits of the tag type byte, the header's
 * reserved flag bits and a non-zero StreamID are ignored.
 *
 * A tag is delivered as soon as its payload is complete; the PreviousTagSize after it is
 * read (and checked) on the next call, so a stream cut right after a tag loses nothing.
 */
LS_MUST_CHECK ssize_t ls_flv_reader_feed(struct ls_flv_reader *r, const uint8_t *in, size_t len,
                                         struct ls_flv_event *ev, const char **why);

/* Copies the reader's counters into `*out`. */
void ls_flv_reader_stats(const struct ls_flv_reader *r, struct ls_flv_stats *out);

/*
 * True when the reader holds no partial header or tag: everything fed so far ended on an
 * event boundary (optionally followed by a complete PreviousTagSize). Use at end of input
 * to tell a complete file from a truncated one.
 */
bool ls_flv_reader_at_boundary(const struct ls_flv_reader *r);

/* ---- writer ------------------------------------------------------------------------- */

/*
 * Appends the 9-byte file header (version 1, the given TypeFlags, DataOffset 9) and
 * PreviousTagSize0 (0): 13 bytes. Returns ls_buf_status(b) afterwards (LS_OK, or the
 * buffer's sticky LS_ENOMEM / LS_ELIMIT).
 */
LS_MUST_CHECK int ls_flv_write_header(struct ls_buf *b, bool audio, bool video);

/*
 * Appends one tag: the 11-byte tag header (Filter 0, StreamID 0, the timestamp's low 24
 * bits plus TimestampExtended), `len` payload bytes copied from `data` (borrowed; may be
 * NULL when len is 0), and the 4-byte PreviousTagSize (11 + len). The whole tag is
 * appended or, when the buffer cannot take it, nothing is.
 * Returns LS_EINVAL without appending when `type` does not fit the 5-bit TagType field or
 * `len` exceeds LS_FLV_MAX_DATA_SIZE; otherwise ls_buf_status(b) afterwards.
 */
LS_MUST_CHECK int ls_flv_write_tag(struct ls_buf *b, uint8_t type, uint32_t timestamp,
                                   const uint8_t *data, uint32_t len);

/*
 * Zero-copy pieces for HTTP-FLV fan-out: the caller sends tag header, the frame's payload
 * by reference, and trailer, so the payload bytes are shared by every viewer.
 * ls_flv_file_header writes the 13 bytes ls_flv_write_header appends.
 * ls_flv_tag_header writes the 11-byte tag header; `type` is masked to 5 bits and `len`
 * to 24 bits (the caller keeps len <= LS_FLV_MAX_DATA_SIZE; RTMP message lengths always do).
 * ls_flv_tag_trailer writes PreviousTagSize = 11 + len.
 */
void ls_flv_file_header(uint8_t out[13], bool audio, bool video);
void ls_flv_tag_header(uint8_t out[11], uint8_t type, uint32_t len, uint32_t ts);
void ls_flv_tag_trailer(uint8_t out[4], uint32_t len);

#endif /* LIBSTREAM_FLV_H */
