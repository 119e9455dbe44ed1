/*
 * chunk.c — RTMP chunk stream layer (Adobe RTMP 1.0 §5.3, protocol control §5.4):
 * reassembly of incoming chunks into messages, and chunking of outgoing messages.
 *
 * One chunk (§5.3.1):
 *
 *   +--------------+----------------+--------------------+------------------------+
 *   | basic header | message header | extended timestamp | chunk data             |
 *   | 1, 2, 3 B    | 11, 7, 3, 0 B  | 0 or 4 B           | <= chunk size bytes    |
 *   +--------------+----------------+--------------------+------------------------+
 *
 * Basic header (§5.3.1.1): fmt is the top 2 bits of the first byte.
 *
 *   csid 2..63:       [fmt|csid]
 *   csid 64..319:     [fmt|0]   [csid - 64]
 *   csid 64..65599:   [fmt|1]   [(csid - 64) & 0xff] [(csid - 64) >> 8]
 *
 * Message header by fmt (§5.3.1.2), big-endian except the stream id:
 *
 *   fmt 0 (11 B): timestamp:24  length:24  type:8  stream id:32 (little-endian)
 *   fmt 1  (7 B): delta:24      length:24  type:8           (same stream id)
 *   fmt 2  (3 B): delta:24                          (same length, type, stream id)
 *   fmt 3  (0 B): continues the current message, or starts a new one that repeats
 *                 everything of the previous one, delta included
 *
 * A 24-bit timestamp/delta field of 0xFFFFFF means the real value is in the 4-byte
 * extended timestamp (§5.3.1.3), which type-3 chunks of that chunk stream repeat.
 *
 * The reader keeps per chunk stream the fields later headers may omit and the message
 * being reassembled, whose buffer grows as its chunks arrive (bytes a peer announces cost
 * nothing until it sends them). Its input side is a small "stash": header bytes that straddle
 * feed() calls, and bytes peeked for a type-3 extended timestamp that turned out to be
 * payload. Bytes are taken from the stash before the caller's input, so the stash is a
 * FIFO in front of the input and never holds more than one maximal header (18 bytes).
 */
#include <stdlib.h>
#include <string.h>

#include "libstream/bytes.h"
#include "libstream/chunk.h"
#include "libstream/rtmp.h"

#define HDR_MAX 18 /* 3 basic + 11 message + 4 extended */
#define TS_EXTENDED 0xFFFFFFu

const struct ls_chunk_limits ls_chunk_default_limits = {
    .max_chunk_size = 65536,
    .max_message_size = 8u << 20,
    .max_chunk_streams = 64,
    .max_pending_bytes = 16u << 20,
    .min_ack_window = LS_CHUNK_MIN_ACK_WINDOW,
    .max_empty_messages = 1024,
};

/* What later headers of one chunk stream may leave out, and its message in progress. */
struct chunk_stream {
    uint32_t csid;
    uint32_t timestamp;  /* absolute timestamp of the current / last message */
    uint32_t delta;      /* last timestamp delta (0 after a type-0 header) */
    uint32_t len;        /* message length */
    uint32_t stream_id;
    uint32_t ext_value;  /* value of the last extended timestamp field, if ext */
    uint8_t type;
    bool ext;            /* the last type-0/1/2 header had an extended timestamp */
    struct ls_frame *frame; /* message being reassembled, or NULL between messages; its
                             * `len` is the room allocated so far (<= len above) */
    uint32_t filled;     /* payload bytes of `frame` received so far */
};

enum chunk_rstate {
    CHUNK_HEADER,  /* expecting a chunk header */
    CHUNK_PAYLOAD, /* copying chunk data of streams[cur] */
};

struct ls_chunk_reader {
    struct ls_chunk_limits lim;
    enum chunk_rstate state;
    int err;               /* sticky: LS_OK or the error that made the reader unusable */
    const char *err_why;
    uint32_t chunk_size;   /* the peer's */
    uint32_t window;       /* acknowledgement window set by the peer; 0 = none */
    uint64_t received;     /* bytes consumed in total */
    uint64_t acked;        /* value of `received` at the last ack_due() == true */
    uint64_t pending;      /* sum of lengths of messages being reassembled */
    uint32_t empty_run;    /* zero-length messages completed in a row */
    struct chunk_stream *streams; /* grows up to lim.max_chunk_streams */
    uint32_t nstreams;
    uint32_t cap;
    uint32_t last;         /* index of the most recently used stream (lookup cache) */
    uint32_t cur;          /* index of the stream whose chunk data is being read */
    uint32_t chunk_left;   /* chunk data bytes left in the current chunk */
    uint8_t stash[HDR_MAX];
    uint32_t stash_len;
};

/* ---- reader ----------------------------------------------------------------------- */

struct ls_chunk_reader *ls_chunk_reader_new(const struct ls_chunk_limits *lim)
{
    struct ls_chunk_reader *r;

    if (lim == NULL)
        lim = &ls_chunk_default_limits;
    if (lim->max_chunk_size == 0 || lim->max_chunk_size > LS_RTMP_MAX_CHUNK_SIZE ||
        lim->max_message_size == 0 || lim->max_chunk_streams == 0 ||
        lim->max_pending_bytes == 0)
        return NULL;
    r = calloc(1, sizeof *r);
    if (r == NULL)
        return NULL;
    r->lim = *lim;
    r->state = CHUNK_HEADER;
    r->chunk_size = LS_RTMP_DEFAULT_CHUNK_SIZE;
    return r;
}

void ls_chunk_reader_free(struct ls_chunk_reader *r)
{
    uint32_t i;

    if (r == NULL)
        return;
    for (i = 0; i < r->nstreams; i++)
        ls_frame_unref(r->streams[i].frame);
    free(r->streams);
    free(r);
}

uint32_t ls_chunk_reader_chunk_size(const struct ls_chunk_reader *r)
{
    return r->chunk_size;
}

uint64_t ls_chunk_reader_bytes_received(const struct ls_chunk_reader *r)
{
    return r->received;
}

uint32_t ls_chunk_reader_ack_window(const struct ls_chunk_reader *r)
{
    return r->window;
}

bool ls_chunk_reader_ack_due(struct ls_chunk_reader *r, uint32_t *sequence)
{
    if (r->window == 0 || r->received - r->acked < r->window)
        return false;
    r->acked = r->received;
    *sequence = (uint32_t)r->received;
    return true;
}

/* Index of the state of `csid`, or -1. */
static int64_t find_stream(struct ls_chunk_reader *r, uint32_t csid)
{
    uint32_t i;

    if (r->nstreams > 0 && r->streams[r->last].csid == csid)
        return r->last;
    for (i = 0; i < r->nstreams; i++) {
        if (r->streams[i].csid == csid) {
            r->last = i;
            return i;
        }
    }
    return -1;
}

static int add_stream(struct ls_chunk_reader *r, uint32_t csid, uint32_t *idx,
                      const char **why)
{
    struct chunk_stream *grown;
    uint32_t cap;

    if (r->nstreams >= r->lim.max_chunk_streams) {
        LS_WHY(why, "too many chunk streams");
        return LS_ELIMIT;
    }
    if (r->nstreams == r->cap) {
        cap = r->cap == 0 ? 8 : r->cap * 2;
        if (cap > r->lim.max_chunk_streams)
            cap = r->lim.max_chunk_streams;
        grown = realloc(r->streams, (size_t)cap * sizeof *grown);
        if (grown == NULL) {
            LS_WHY(why, "out of memory for chunk stream state");
            return LS_ENOMEM;
        }
        r->streams = grown;
        r->cap = cap;
    }
    memset(&r->streams[r->nstreams], 0, sizeof r->streams[0]);
    r->streams[r->nstreams].csid = csid;
    *idx = r->nstreams++;
    r->last = *idx;
    return LS_OK;
}

int ls_chunk_size_decode(const uint8_t p[4], uint32_t *size, const char **why)
{
    uint32_t v = ls_get_be32(p);

    if (v == 0 || (v & 0x80000000u) != 0) {
        LS_WHY(why, "set chunk size of 0 or with the top bit set");
        return LS_EPROTO;
    }
    *size = v;
    return LS_OK;
}

/*
 * Applies the protocol control messages that change how the reader itself must read
 * (§5.4.1 Set Chunk Size, §5.4.2 Abort, §5.4.4 Window Acknowledgement Size).
 */
static int apply_control(struct ls_chunk_reader *r, const struct ls_frame *f,
                         const char **why)
{
    uint32_t v;
    int64_t idx;
    struct chunk_stream *s;

    if (f->type != LS_MSG_SET_CHUNK_SIZE && f->type != LS_MSG_ABORT &&
        f->type != LS_MSG_WINDOW_ACK_SIZE)
        return LS_OK;
    if (f->len < 4) {
        LS_WHY(why, "protocol control message shorter than 4 bytes");
        return LS_EPROTO;
    }
    v = ls_get_be32(f->data);
    switch (f->type) {
    case LS_MSG_SET_CHUNK_SIZE:
        if (ls_chunk_size_decode(f->data, &v, why) != LS_OK)
            return LS_EPROTO;
        if (v > r->lim.max_chunk_size) {
            LS_WHY(why, "set chunk size above the configured maximum");
            return LS_ELIMIT;
        }
        r->chunk_size = v;
        break;
    case LS_MSG_ABORT:
        idx = find_stream(r, v);
        if (idx >= 0 && r->streams[idx].frame != NULL) {
            s = &r->streams[idx];
            r->pending -= s->len;
            ls_frame_unref(s->frame);
            s->frame = NULL;
        }
        break;
    default: /* LS_MSG_WINDOW_ACK_SIZE */
        r->window = v != 0 && v < r->lim.min_ack_window ? r->lim.min_ack_window : v;
        break;
    }
    return LS_OK;
}

/*
 * Parses one chunk header from p[0..n), n >= 1, and prepares its chunk data.
 *
 * Returns the header length (> 0); 0 when n is too short, with *need set to the number
 * of bytes that would let parsing progress (never more than HDR_MAX); or a negative
 * error. Nothing in the reader changes before the whole header is available, so a
 * parse that returns 0 can be repeated with more bytes. When the header completes a
 * zero-length message, *done receives it.
 */
static ssize_t parse_header(struct ls_chunk_reader *r, const uint8_t *p, size_t n,
                            size_t *need, struct ls_frame **done, const char **why)
{
    static const uint8_t mh_len[4] = { 11, 7, 3, 0 };
    unsigned fmt;
    uint32_t csid, tfield = 0, value = 0, len, idx;
    size_t bl, hl;
    int64_t found;
    bool ext = false, in_progress;
    struct chunk_stream *s;
    int rc;

    fmt = p[0] >> 6; /* n >= 1: callers only parse when a byte is there */
    csid = p[0] & 0x3f;
    bl = csid == 0 ? 2 : csid == 1 ? 3 : 1;
    hl = bl + mh_len[fmt];
    if (n < hl) {
        *need = hl;
        return 0;
    }
    if (csid == 0)
        csid = 64u + p[1];
    else if (csid == 1)
        csid = 64u + p[1] + ((uint32_t)p[2] << 8);

    found = find_stream(r, csid);
    if (found < 0 && fmt != 0) {
        LS_WHY(why, "chunk header type 1-3 on a chunk stream never started by type 0");
        return LS_EPROTO;
    }
    s = found >= 0 ? &r->streams[found] : NULL;

    if (fmt <= 2) {
        tfield = ls_get_be24(p + bl);
        ext = tfield == TS_EXTENDED;
        if (ext) {
            hl += 4;
            if (n < hl) {
                *need = hl;
                return 0;
            }
            value = ls_get_be32(p + bl + mh_len[fmt]);
        } else {
            value = tfield;
        }
    } else if (s->ext) {
        /* Peek: the repeated extended timestamp is there only if it has the same value. */
        if (n < bl + 4) {
            *need = bl + 4;
            return 0;
        }
        if (ls_get_be32(p + bl) == s->ext_value)
            hl += 4;
    }

    /* The whole header is here: from now on the reader's state changes. */
    in_progress = s != NULL && s->frame != NULL;
    if (fmt <= 2 && in_progress) {
        LS_WHY(why, "new message header on a chunk stream with an incomplete message");
        return LS_EPROTO;
    }
    if (fmt <= 1) {
        len = ls_get_be24(p + bl + 3);
        if (len > r->lim.max_message_size) {
            LS_WHY(why, "message length above the configured maximum");
            return LS_ELIMIT;
        }
    } else {
        len = s->len;
    }
    if (s == NULL) {
        rc = add_stream(r, csid, &idx, why);
        if (rc != LS_OK)
            return rc;
        s = &r->streams[idx];
    } else {
        idx = (uint32_t)found;
    }

    if (fmt <= 1) {
        s->len = len;
        s->type = p[bl + 6];
    }
    if (fmt == 0) {
        s->stream_id = ls_get_le32(p + bl + 7);
        s->timestamp = value;
        s->delta = 0;
    } else if (fmt <= 2) {
        s->delta = value;
        s->timestamp += value; /* uint32 arithmetic: wraps as §5.3.1.2 intends */
    } else if (!in_progress) {
        s->timestamp += s->delta;
    }
    if (fmt <= 2) {
        s->ext = ext;
        s->ext_value = value;
    }

    if (!in_progress) {
        /* pending <= max_pending_bytes always holds, so the subtraction is safe */
        if (s->len > r->lim.max_pending_bytes - r->pending) {
            LS_WHY(why, "too many bytes in messages being reassembled");
            return LS_ELIMIT;
        }
        if (s->len == 0 && r->lim.max_empty_messages != 0 &&
            r->empty_run >= r->lim.max_empty_messages) {
            LS_WHY(why, "too many zero-length messages in a row");
            return LS_ELIMIT;
        }
        s->frame = ls_frame_new(s->type, s->timestamp, s->stream_id,
                                s->len < LS_CHUNK_PREALLOC_MAX ? s->len : LS_CHUNK_PREALLOC_MAX);
        if (s->frame == NULL) {
            LS_WHY(why, "out of memory for a message");
            return LS_ENOMEM;
        }
        s->filled = 0;
        r->pending += s->len;
        if (s->len == 0) {
            r->empty_run++;
            *done = s->frame;
            s->frame = NULL;
            return (ssize_t)hl;
        }
        r->empty_run = 0;
    }
    r->cur = idx;
    r->chunk_left = s->len - s->filled;
    if (r->chunk_left > r->chunk_size)
        r->chunk_left = r->chunk_size;
    r->state = CHUNK_PAYLOAD;
    return (ssize_t)hl;
}

/*
 * Makes room for `n` more payload bytes in the current message: the buffer at least
 * doubles (up to the message length), so a message is copied O(1) times on average while
 * never holding much more than twice what has arrived.
 */
static int grow_frame(struct chunk_stream *s, size_t n)
{
    uint64_t want = (uint64_t)s->filled + n, room = s->frame->len;
    struct ls_frame *grown;

    if (want <= room)
        return LS_OK;
    room = room * 2 > want ? room * 2 : want;
    if (room > s->len)
        room = s->len;
    grown = ls_frame_resize(s->frame, (uint32_t)room);
    if (grown == NULL)
        return LS_ENOMEM;
    s->frame = grown;
    return LS_OK;
}

/* Copies chunk data into the current message; returns the message when it completes. */
static struct ls_frame *take_payload(struct ls_chunk_reader *r, const uint8_t *p, size_t n)
{
    struct chunk_stream *s = &r->streams[r->cur];
    struct ls_frame *f;

    memcpy(s->frame->data + s->filled, p, n);
    s->filled += (uint32_t)n;
    r->chunk_left -= (uint32_t)n;
    if (r->chunk_left > 0)
        return NULL;
    r->state = CHUNK_HEADER;
    if (s->filled < s->len)
        return NULL;
    f = s->frame;
    s->frame = NULL;
    r->pending -= s->len;
    return f;
}

static void stash_drop(struct ls_chunk_reader *r, size_t n)
{
    r->stash_len -= (uint32_t)n;
    memmove(r->stash, r->stash + n, r->stash_len);
}

/* Makes the reader unusable: later calls report the same error and reason. */
static ssize_t fail(struct ls_chunk_reader *r, int err, const char *reason, const char **why)
{
    r->err = err;
    r->err_why = reason;
    LS_WHY(why, reason);
    return err;
}

ssize_t ls_chunk_reader_feed(struct ls_chunk_reader *r, const uint8_t *in, size_t len,
                             struct ls_frame **msg, const char **why)
{
    const char *reason = NULL;
    struct ls_frame *done = NULL;
    size_t used = 0, need = 0, take;
    ssize_t hl;

    *msg = NULL;
    if (r->err != LS_OK) {
        LS_WHY(why, r->err_why);
        return r->err;
    }
    while (done == NULL) {
        if (r->state == CHUNK_HEADER) {
            if (r->stash_len == 0) {
                /* Fast path: parse straight from the caller's bytes. */
                if (used == len)
                    break;
                hl = parse_header(r, in + used, len - used, &need, &done, &reason);
                if (hl == 0) {
                    memcpy(r->stash, in + used, len - used);
                    r->stash_len = (uint32_t)(len - used);
                    used = len;
                    break;
                }
                if (hl > 0)
                    used += (size_t)hl;
            } else {
                hl = parse_header(r, r->stash, r->stash_len, &need, &done, &reason);
                if (hl == 0) {
                    take = need - r->stash_len;
                    if (take > len - used)
                        take = len - used;
                    if (take == 0)
                        break;
                    memcpy(r->stash + r->stash_len, in + used, take);
                    r->stash_len += (uint32_t)take;
                    used += take;
                    continue;
                }
                if (hl > 0)
                    stash_drop(r, (size_t)hl);
            }
            if (hl < 0) {
                r->received += used;
                return fail(r, (int)hl, reason, why);
            }
        } else {
            if (r->stash_len > 0)
                take = r->stash_len < r->chunk_left ? r->stash_len : r->chunk_left;
            else if (used == len)
                break;
            else
                take = len - used < r->chunk_left ? len - used : r->chunk_left;
            if (grow_frame(&r->streams[r->cur], take) != LS_OK) {
                r->received += used;
                return fail(r, LS_ENOMEM, "out of memory for a message", why);
            }
            if (r->stash_len > 0) {
                done = take_payload(r, r->stash, take);
                stash_drop(r, take);
            } else {
                done = take_payload(r, in + used, take);
                used += take;
            }
        }
        if (done != NULL) {
            int rc = apply_control(r, done, &reason);

            if (rc != LS_OK) {
                ls_frame_unref(done);
                r->received += used;
                return fail(r, rc, reason, why);
            }
        }
    }
    r->received += used;
    *msg = done;
    return (ssize_t)used;
}

/* ---- writer ----------------------------------------------------------------------- */

static size_t basic_len(uint32_t csid)
{
    return csid < 64 ? 1 : csid < 320 ? 2 : 3;
}

static bool write_args_ok(uint32_t csid, uint32_t len, uint32_t chunk_size)
{
    return csid >= LS_CHUNK_CSID_MIN && csid <= LS_CHUNK_CSID_MAX &&
           len <= LS_RTMP_MAX_MESSAGE_LENGTH && chunk_size >= 1 &&
           chunk_size <= LS_RTMP_MAX_CHUNK_SIZE;
}

size_t ls_chunk_encoded_size(uint32_t csid, uint32_t timestamp, uint32_t len,
                             uint32_t chunk_size)
{
    size_t chunks, per_chunk;

    if (!write_args_ok(csid, len, chunk_size))
        return 0;
    chunks = len == 0 ? 1 : ((size_t)len + chunk_size - 1) / chunk_size;
    per_chunk = basic_len(csid) + (timestamp >= TS_EXTENDED ? 4 : 0);
    return chunks * per_chunk + 11 + len;
}

static uint8_t *put_basic(uint8_t *p, unsigned fmt, uint32_t csid)
{
    if (csid < 64) {
        *p++ = (uint8_t)(fmt << 6 | csid);
    } else if (csid < 320) {
        *p++ = (uint8_t)(fmt << 6);
        *p++ = (uint8_t)(csid - 64);
    } else {
        *p++ = (uint8_t)(fmt << 6 | 1);
        *p++ = (uint8_t)(csid - 64);
        *p++ = (uint8_t)((csid - 64) >> 8);
    }
    return p;
}

size_t ls_chunk_write_mem(uint8_t *out, uint32_t csid, uint8_t type, uint32_t timestamp,
                          uint32_t stream_id, const uint8_t *payload, uint32_t len,
                          uint32_t chunk_size)
{
    bool ext = timestamp >= TS_EXTENDED;
    uint8_t *p = out;
    uint32_t off = 0, n;

    if (!write_args_ok(csid, len, chunk_size))
        return 0;
    p = put_basic(p, 0, csid);
    ls_put_be24(p, ext ? TS_EXTENDED : timestamp);
    ls_put_be24(p + 3, len);
    p[6] = type;
    ls_put_le32(p + 7, stream_id);
    p += 11;
    for (;;) {
        if (ext) {
            ls_put_be32(p, timestamp);
            p += 4;
        }
        n = len - off < chunk_size ? len - off : chunk_size;
        if (n > 0)
            memcpy(p, payload + off, n);
        p += n;
        off += n;
        if (off == len)
            break;
        p = put_basic(p, 3, csid);
    }
    return (size_t)(p - out);
}

void ls_chunk_write(struct ls_buf *out, uint32_t csid, uint8_t type, uint32_t timestamp,
                    uint32_t stream_id, const uint8_t *payload, uint32_t len,
                    uint32_t chunk_size)
{
    size_t size = ls_chunk_encoded_size(csid, timestamp, len, chunk_size);

    if (size == 0) {
        if (out->err == LS_OK)
            out->err = LS_EINVAL;
        return;
    }
    if (ls_buf_reserve(out, size) != LS_OK)
        return;
    out->len += ls_chunk_write_mem(out->data + out->len, csid, type, timestamp, stream_id,
                                   payload, len, chunk_size);
}
