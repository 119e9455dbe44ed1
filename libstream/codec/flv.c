/*
 * flv.c — FLV container layer: incremental demuxer and muxer (see flv.h).
 * Adobe Flash Video File Format Specification v10.1, annex E.2 (header), E.3 (body),
 * E.4.1 (FLVTAG).
 *
 *   file   := header(9) PreviousTagSize0(4) { tag PreviousTagSize(4) }*
 *
 *   header:  'F' 'L' 'V' | version | flags 00000A0V | DataOffset (UI32, = 9)
 *
 *   tag header (11 bytes)
 *   +--------+----------+-----------+-----+-----------+
 *   | R R F T| DataSize | Timestamp | Ext | StreamID  |
 *   | (UI8)  |  (UI24)  |  (UI24)   |(UI8)|  (UI24)=0 |
 *   +--------+----------+-----------+-----+-----------+
 *    R = reserved (2 bits), F = Filter (1 bit), T = TagType (5 bits: 8, 9, 18)
 *    full timestamp = Ext << 24 | Timestamp
 *   then DataSize payload bytes, then PreviousTagSize (UI32) = 11 + DataSize.
 *
 * The reader is a byte-driven state machine: every state either completes with the bytes
 * at hand or remembers how far it got, so input may be split at any offset. Small fixed
 * fields accumulate in `acc`; a tag payload is copied straight into the frame that will be
 * handed to the caller, allocated only after DataSize has been checked against the limit.
 */
#include <stdlib.h>
#include <string.h>

#include "libstream/bytes.h"
#include "libstream/flv.h"

enum ls_flv_state {
    LS_FLV_ST_FILE_HEADER, /* accumulating the 9-byte file header */
    LS_FLV_ST_HEADER_SKIP, /* skipping DataOffset - 9 bytes of header extension */
    LS_FLV_ST_PREV_SIZE,   /* accumulating a 4-byte PreviousTagSize */
    LS_FLV_ST_TAG_HEADER,  /* accumulating an 11-byte tag header */
    LS_FLV_ST_TAG_BODY,    /* copying a known tag's payload into `frame` */
    LS_FLV_ST_SKIP_BODY,   /* skipping an unknown tag's payload */
    LS_FLV_ST_ERROR,       /* sticky failure: `err`, `err_why` */
};

struct ls_flv_reader {
    struct ls_flv_limits lim;
    enum ls_flv_state state;
    uint8_t acc[LS_FLV_TAG_HEADER_SIZE]; /* largest fixed field: the tag header */
    size_t have;           /* bytes gathered in acc, or payload bytes copied to frame */
    uint32_t skip;         /* bytes still to skip in the skip states */
    uint32_t expect_prev;  /* PreviousTagSize the next trailer should carry */
    struct ls_frame *frame; /* tag being filled; owned until delivered */
    int err;
    const char *err_why;
    struct ls_flv_stats stats;
};

struct ls_flv_reader *ls_flv_reader_new(const struct ls_flv_limits *limits)
{
    struct ls_flv_reader *r = calloc(1, sizeof *r);

    if (r == NULL)
        return NULL;
    if (limits != NULL)
        r->lim = *limits;
    if (r->lim.max_tag_size == 0)
        r->lim.max_tag_size = LS_FLV_DEFAULT_MAX_TAG_SIZE;
    if (r->lim.max_data_offset == 0)
        r->lim.max_data_offset = LS_FLV_DEFAULT_MAX_DATA_OFFSET;
    r->state = LS_FLV_ST_FILE_HEADER;
    return r;
}

void ls_flv_reader_free(struct ls_flv_reader *r)
{
    if (r == NULL)
        return;
    ls_frame_unref(r->frame);
    free(r);
}

void ls_flv_reader_stats(const struct ls_flv_reader *r, struct ls_flv_stats *out)
{
    *out = r->stats;
}

bool ls_flv_reader_at_boundary(const struct ls_flv_reader *r)
{
    switch (r->state) {
    case LS_FLV_ST_FILE_HEADER:
    case LS_FLV_ST_PREV_SIZE:
    case LS_FLV_ST_TAG_HEADER:
        return r->have == 0;
    default:
        return false;
    }
}

/* Enters the sticky error state, dropping any partial tag. */
static ssize_t fail(struct ls_flv_reader *r, int err, const char *text, const char **why)
{
    ls_frame_unref(r->frame);
    r->frame = NULL;
    r->state = LS_FLV_ST_ERROR;
    r->err = err;
    r->err_why = text;
    LS_WHY(why, text);
    return err;
}

/*
 * Moves bytes from in[*pos..len) into acc until it holds `want` bytes. Returns true once
 * complete (r->have is reset to 0 for the next field), false when the input ran out.
 */
static bool gather(struct ls_flv_reader *r, const uint8_t *in, size_t len, size_t *pos,
                   size_t want)
{
    size_t n = want - r->have;

    if (n > len - *pos)
        n = len - *pos;
    if (n > 0) /* `in` may be NULL when len is 0 */
        memcpy(r->acc + r->have, in + *pos, n);
    r->have += n;
    *pos += n;
    if (r->have < want)
        return false;
    r->have = 0;
    return true;
}

/* Skips up to r->skip bytes; true when all have been skipped. */
static bool skip_bytes(struct ls_flv_reader *r, size_t len, size_t *pos)
{
    size_t n = len - *pos;

    if (n > r->skip)
        n = r->skip;
    *pos += n;
    r->skip -= (uint32_t)n;
    return r->skip == 0;
}

/* Handles a complete tag header in acc: sets up the body or skip state. */
static ssize_t start_tag(struct ls_flv_reader *r, const char **why)
{
    const uint8_t *h = r->acc;
    uint8_t type = h[0] & 0x1f;
    uint32_t size = ls_get_be24(h + 1);
    uint32_t ts = ls_get_be24(h + 4) | (uint32_t)h[7] << 24;

    /* The two reserved bits (once "for FMS") are ignored, as every demuxer does. */
    if (h[0] & 0x20)
        return fail(r, LS_EUNSUPPORTED, "flv: filtered (encrypted) tag", why);
    r->expect_prev = LS_FLV_TAG_HEADER_SIZE + size;
    if (type != LS_FLV_TAG_AUDIO && type != LS_FLV_TAG_VIDEO && type != LS_FLV_TAG_SCRIPT) {
        r->stats.skipped_tags++;
        r->skip = size;
        r->state = LS_FLV_ST_SKIP_BODY;
        return 0;
    }
    if (size > r->lim.max_tag_size)
        return fail(r, LS_ELIMIT, "flv: tag larger than max_tag_size", why);
    r->frame = ls_frame_new(type, ts, 0, size);
    if (r->frame == NULL)
        return fail(r, LS_ENOMEM, "flv: out of memory for a tag", why);
    r->have = 0;
    r->state = LS_FLV_ST_TAG_BODY;
    return 0;
}

/* Handles a complete file header in acc; fills the event. */
static ssize_t start_file(struct ls_flv_reader *r, struct ls_flv_event *ev, const char **why)
{
    const uint8_t *h = r->acc;
    uint32_t offset = ls_get_be32(h + 5);

    if (h[0] != 'F' || h[1] != 'L' || h[2] != 'V')
        return fail(r, LS_EPROTO, "flv: bad signature (not an FLV stream)", why);
    if (offset < LS_FLV_HEADER_SIZE)
        return fail(r, LS_EPROTO, "flv: DataOffset shorter than the header", why);
    if (offset > r->lim.max_data_offset)
        return fail(r, LS_ELIMIT, "flv: DataOffset larger than max_data_offset", why);
    ev->type = LS_FLV_EV_HEADER;
    ev->header.version = h[3];
    ev->header.has_audio = (h[4] & LS_FLV_FLAG_AUDIO) != 0;
    ev->header.has_video = (h[4] & LS_FLV_FLAG_VIDEO) != 0;
    ev->header.data_offset = offset;
    r->skip = offset - LS_FLV_HEADER_SIZE;
    r->expect_prev = 0; /* PreviousTagSize0 */
    r->state = r->skip > 0 ? LS_FLV_ST_HEADER_SKIP : LS_FLV_ST_PREV_SIZE;
    return 0;
}

ssize_t ls_flv_reader_feed(struct ls_flv_reader *r, const uint8_t *in, size_t len,
                           struct ls_flv_event *ev, const char **why)
{
    size_t pos = 0;
    ssize_t rc;

    ev->type = LS_FLV_EV_NONE;
    ev->tag = NULL;
    for (;;) {
        switch (r->state) {
        case LS_FLV_ST_FILE_HEADER:
            if (!gather(r, in, len, &pos, LS_FLV_HEADER_SIZE))
                return LS_AGAIN;
            rc = start_file(r, ev, why);
            if (rc < 0)
                return rc;
            return (ssize_t)pos;
        case LS_FLV_ST_HEADER_SKIP:
            if (!skip_bytes(r, len, &pos))
                return LS_AGAIN;
            r->state = LS_FLV_ST_PREV_SIZE;
            break;
        case LS_FLV_ST_PREV_SIZE:
            if (!gather(r, in, len, &pos, LS_FLV_TAG_TRAILER_SIZE))
                return LS_AGAIN;
            /* Real writers get this wrong (some omit the header's 11 bytes): count, go on. */
            if (ls_get_be32(r->acc) != r->expect_prev)
                r->stats.prev_size_mismatches++;
            r->state = LS_FLV_ST_TAG_HEADER;
            break;
        case LS_FLV_ST_TAG_HEADER:
            if (!gather(r, in, len, &pos, LS_FLV_TAG_HEADER_SIZE))
                return LS_AGAIN;
            rc = start_tag(r, why);
            if (rc < 0)
                return rc;
            break;
        case LS_FLV_ST_TAG_BODY: {
            size_t n = r->frame->len - r->have;

            if (n > len - pos)
                n = len - pos;
            if (n > 0)
                memcpy(r->frame->data + r->have, in + pos, n);
            r->have += n;
            pos += n;
            if (r->have < r->frame->len)
                return LS_AGAIN;
            ev->type = LS_FLV_EV_TAG;
            ev->tag = r->frame;
            r->frame = NULL;
            r->have = 0;
            r->stats.tags++;
            r->state = LS_FLV_ST_PREV_SIZE;
            /* pos > 0: at least the tag header's last byte was consumed in this call. */
            return (ssize_t)pos;
        }
        case LS_FLV_ST_SKIP_BODY:
            if (!skip_bytes(r, len, &pos))
                return LS_AGAIN;
            r->state = LS_FLV_ST_PREV_SIZE;
            break;
        case LS_FLV_ST_ERROR:
        default:
            LS_WHY(why, r->err_why);
            return r->err;
        }
    }
}

/* ---- writer ------------------------------------------------------------------------- */

void ls_flv_file_header(uint8_t out[13], bool audio, bool video)
{
    out[0] = 'F';
    out[1] = 'L';
    out[2] = 'V';
    out[3] = 1;
    out[4] = (uint8_t)((audio ? LS_FLV_FLAG_AUDIO : 0) | (video ? LS_FLV_FLAG_VIDEO : 0));
    ls_put_be32(out + 5, LS_FLV_HEADER_SIZE);
    ls_put_be32(out + 9, 0);
}

void ls_flv_tag_header(uint8_t out[11], uint8_t type, uint32_t len, uint32_t ts)
{
    out[0] = type & 0x1f;
    ls_put_be24(out + 1, len & LS_FLV_MAX_DATA_SIZE);
    ls_put_be24(out + 4, ts & 0xffffffu);
    out[7] = (uint8_t)(ts >> 24);
    ls_put_be24(out + 8, 0);
}

void ls_flv_tag_trailer(uint8_t out[4], uint32_t len)
{
    ls_put_be32(out, LS_FLV_TAG_HEADER_SIZE + (len & LS_FLV_MAX_DATA_SIZE));
}

int ls_flv_write_header(struct ls_buf *b, bool audio, bool video)
{
    uint8_t h[13];

    ls_flv_file_header(h, audio, video);
    ls_buf_append(b, h, sizeof h);
    return ls_buf_status(b);
}

int ls_flv_write_tag(struct ls_buf *b, uint8_t type, uint32_t timestamp, const uint8_t *data,
                     uint32_t len)
{
    uint8_t h[LS_FLV_TAG_HEADER_SIZE];
    uint8_t t[LS_FLV_TAG_TRAILER_SIZE];

    if (type > 0x1f || len > LS_FLV_MAX_DATA_SIZE)
        return LS_EINVAL;
    if (ls_buf_reserve(b, sizeof h + len + sizeof t) != LS_OK)
        return ls_buf_status(b);
    ls_flv_tag_header(h, type, len, timestamp);
    ls_flv_tag_trailer(t, len);
    ls_buf_append(b, h, sizeof h);
    if (len > 0)
        ls_buf_append(b, data, len);
    ls_buf_append(b, t, sizeof t);
    return ls_buf_status(b);
}
