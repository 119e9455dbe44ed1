/*
 * flvindex.c — the seek index of an FLV file (see flvindex.h). Pure codec layer.
 * Adobe Flash Video File Format Specification v10.1, annex E.2 (header), E.4.1 (FLVTAG);
 * the body headers are read by codec.c.
 *
 *   offset 0:  'F' 'L' 'V' | version | flags | DataOffset(UI32)      then PreviousTagSize0
 *   DataOffset + 4, then each tag:
 *   +------+----------+-----------+-----+----------+------------------+-----------------+
 *   |R R F T| DataSize| Timestamp | Ext | StreamID | body (DataSize)  | PreviousTagSize |
 *   +------+----------+-----------+-----+----------+------------------+-----------------+
 *      1        3          3         1       3                              4
 *
 * The builder walks tag headers by arithmetic: from one header it knows where the next
 * one is, so a body is never read unless it is kept (a sequence header, the first
 * onMetaData) or its first LS_FLVINDEX_PEEK bytes tell a keyframe. Between feeds it keeps
 * only `next` (the offset of the next tag, or 0 before the file header): whatever the
 * caller fed last, it asks for the bytes from `next` on.
 */
#include <stdlib.h>
#include <string.h>

#include "libstream/bytes.h"
#include "libstream/codec.h"
#include "libstream/flv.h"
#include "libstream/flvindex.h"
#include "array_int.h"

#define IX_DEFAULT_MAX_TAG_SIZE 0xffffffu
#define IX_DEFAULT_MAX_DATA_OFFSET 1024u

struct ls_flvindex_builder {
    struct ls_flvindex_limits lim;
    struct ls_flvindex ix;     /* being filled */
    size_t blobs_cap, keys_cap;
    bool header_done;
    bool done;                 /* nothing more to read */
    int err;                   /* sticky */
    const char *err_why;
    uint64_t next;             /* offset of the next tag header (after the file header) */
    uint64_t need;             /* bytes the tag at `next` needs, when more than a peek */
    bool have_first;           /* first_ts is set */
    bool video_seen;
    uint16_t cur_vseq, cur_aseq;
    uint32_t min_gap_ms;       /* 0 until the index first had to be thinned */
};

struct ls_flvindex_builder *ls_flvindex_builder_new(uint64_t file_size,
                                                    const struct ls_flvindex_limits *lim)
{
    struct ls_flvindex_builder *b = calloc(1, sizeof *b);

    if (b == NULL)
        return NULL;
    if (lim != NULL)
        b->lim = *lim;
    if (b->lim.max_tag_size == 0)
        b->lim.max_tag_size = IX_DEFAULT_MAX_TAG_SIZE;
    if (b->lim.max_keys == 0)
        b->lim.max_keys = LS_FLVINDEX_DEFAULT_MAX_KEYS;
    if (b->lim.max_keys < 2)
        b->lim.max_keys = 2;
    if (b->lim.max_data_offset == 0)
        b->lim.max_data_offset = IX_DEFAULT_MAX_DATA_OFFSET;
    b->ix.file_size = file_size;
    b->ix.meta = LS_FLVINDEX_NONE;
    b->cur_vseq = b->cur_aseq = LS_FLVINDEX_NONE;
    return b;
}

static void index_release(struct ls_flvindex *ix)
{
    size_t i;

    for (i = 0; i < ix->nblobs; i++)
        free(ix->blobs[i].data);
    free(ix->blobs);
    free(ix->keys);
    ix->blobs = NULL;
    ix->keys = NULL;
    ix->nblobs = ix->nkeys = 0;
}

void ls_flvindex_builder_free(struct ls_flvindex_builder *b)
{
    if (b == NULL)
        return;
    index_release(&b->ix);
    free(b);
}

void ls_flvindex_free(struct ls_flvindex *ix)
{
    if (ix == NULL)
        return;
    index_release(ix);
    free(ix);
}

/* Ends indexing at `next` (a whole number of tags): the playable part stops there. */
static void builder_stop(struct ls_flvindex_builder *b, const char *why)
{
    b->done = true;
    if (b->ix.stop_why == NULL)
        b->ix.stop_why = why;
}

/* Bytes a tag at `next` needs fed to be indexed, once its header is known. */
static uint64_t tag_need(uint8_t type, uint32_t size, bool want_body)
{
    if (want_body)
        return LS_FLV_TAG_HEADER_SIZE + (uint64_t)size;
    if (type == LS_FLV_TAG_AUDIO || type == LS_FLV_TAG_VIDEO || type == LS_FLV_TAG_SCRIPT)
        return LS_FLV_TAG_HEADER_SIZE + (size < LS_FLVINDEX_PEEK ? size : LS_FLVINDEX_PEEK);
    return LS_FLV_TAG_HEADER_SIZE;
}

bool ls_flvindex_builder_want(const struct ls_flvindex_builder *b, uint64_t *offset,
                              size_t *len)
{
    uint64_t at = b->header_done ? b->next : 0, left;
    uint64_t need = b->header_done ? LS_FLV_TAG_HEADER_SIZE + LS_FLVINDEX_PEEK
                                   : LS_FLV_HEADER_SIZE;

    if (b->done || b->err != LS_OK || at >= b->ix.file_size)
        return false;
    if (b->header_done && b->need > need)
        need = b->need; /* a kept tag's whole body */
    left = b->ix.file_size - at;
    *offset = at;
    *len = (size_t)(need < left ? need : left);
    return true;
}

/* The blob holding exactly these bytes, added when new. NONE when the table is full or
 * memory is short (the key then carries no configuration: a decoder that needs one waits
 * for the next in the stream). */
static uint16_t builder_blob(struct ls_flvindex_builder *b, uint8_t type, const uint8_t *p,
                             uint32_t len)
{
    struct ls_flvindex *ix = &b->ix;
    struct ls_flvindex_blob *bl;
    size_t i;

    /* Encoders often repeat the same header before every keyframe: newest first. */
    for (i = ix->nblobs; i-- > 0;) {
        bl = &ix->blobs[i];
        if (bl->type == type && bl->len == len && memcmp(bl->data, p, len) == 0)
            return (uint16_t)i;
    }
    if (ix->nblobs >= LS_FLVINDEX_MAX_BLOBS || len > LS_FLVINDEX_MAX_BLOB)
        return LS_FLVINDEX_NONE;
    if (!ls_array_reserve((void **)&ix->blobs, &b->blobs_cap, ix->nblobs, sizeof *ix->blobs,
                          8))
        return LS_FLVINDEX_NONE;
    bl = &ix->blobs[ix->nblobs];
    bl->data = malloc(len > 0 ? len : 1);
    if (bl->data == NULL)
        return LS_FLVINDEX_NONE;
    memcpy(bl->data, p, len);
    bl->type = type;
    bl->len = len;
    ix->memory += sizeof *bl + len;
    return (uint16_t)ix->nblobs++;
}

/* A full index keeps every other key, and from then on only keys at least the average
 * gap apart: bounded memory, a coarser but still correct "at or before". */
static void builder_thin(struct ls_flvindex_builder *b)
{
    struct ls_flvindex *ix = &b->ix;
    size_t i, n = 0;
    uint32_t span;

    for (i = 0; i < ix->nkeys; i += 2)
        ix->keys[n++] = ix->keys[i];
    ix->memory -= (ix->nkeys - n) * sizeof *ix->keys;
    ix->nkeys = n;
    span = ix->keys[n - 1].ts - ix->keys[0].ts;
    b->min_gap_ms = n > 1 ? span / (uint32_t)(n - 1) : 0;
    if (b->min_gap_ms == 0)
        b->min_gap_ms = 1;
}

static void builder_key(struct ls_flvindex_builder *b, uint64_t offset, uint32_t rel)
{
    struct ls_flvindex *ix = &b->ix;
    struct ls_flvindex_key *k;

    if (ix->nkeys > 0) {
        const struct ls_flvindex_key *last = &ix->keys[ix->nkeys - 1];

        /* Keys stay sorted by time for the binary search: a timestamp that goes back
         * (a file cut and joined) adds none until time passes the last key again. */
        if (rel < last->ts || rel - last->ts < b->min_gap_ms)
            return;
    }
    if (ix->nkeys >= b->lim.max_keys)
        builder_thin(b);
    if (!ls_array_reserve((void **)&ix->keys, &b->keys_cap, ix->nkeys, sizeof *ix->keys, 64))
        return; /* out of memory: a coarser index, never a wrong one */
    k = &ix->keys[ix->nkeys++];
    k->offset = offset;
    k->ts = rel;
    k->vseq = b->cur_vseq;
    k->aseq = b->cur_aseq;
    ix->memory += sizeof *k;
}

static bool video_peek(const uint8_t *p, uint32_t n, bool *key, bool *seq)
{
    struct ls_video_info vi;
    uint8_t ft;

    *key = *seq = false;
    if (n == 0)
        return false;
    if (ls_codec_video_inspect(p, n, &vi, NULL) == LS_OK) {
        *key = vi.keyframe;
        *seq = vi.packet == LS_VPKT_SEQUENCE_HEADER;
        return true;
    }
    /* A header longer than the peek (ModEx prefixes): the first byte still says. */
    if (p[0] & 0x80) {
        ft = (p[0] >> 4) & 0x07;
        *seq = (p[0] & 0x0f) == LS_EXVIDEO_SEQUENCE_START;
        *key = ft == LS_VIDEO_FRAME_KEY && !*seq;
    }
    return true;
}

static bool is_onmetadata(const uint8_t *p, uint32_t n)
{
    static const uint8_t name[] = { 0x02, 0x00, 0x0a, 'o', 'n', 'M', 'e', 't', 'a', 'D', 'a',
                                    't', 'a' };

    return n >= sizeof name && memcmp(p, name, sizeof name) == 0;
}

/* Whether the builder keeps this tag's whole body (peeked bytes decide). */
static bool tag_wants_body(const struct ls_flvindex_builder *b, uint8_t type,
                           const uint8_t *peek, uint32_t n, uint32_t size)
{
    bool key, seq;
    struct ls_audio_info ai;

    if (size > LS_FLVINDEX_MAX_BLOB)
        return false;
    switch (type) {
    case LS_FLV_TAG_VIDEO:
        return video_peek(peek, n, &key, &seq) && seq;
    case LS_FLV_TAG_AUDIO:
        return ls_codec_audio_inspect(peek, n, &ai, NULL) == LS_OK && ai.sequence_header;
    case LS_FLV_TAG_SCRIPT:
        return b->ix.meta == LS_FLVINDEX_NONE && is_onmetadata(peek, n);
    default:
        return false;
    }
}

/* Indexes one whole tag: `body` holds `n` bytes of its body (all of it when kept). */
static void builder_tag(struct ls_flvindex_builder *b, uint64_t offset, uint8_t type,
                        uint32_t ts, const uint8_t *body, uint32_t n, bool whole)
{
    struct ls_flvindex *ix = &b->ix;
    struct ls_audio_info ai;
    bool key, seq;
    uint32_t rel;

    if (type != LS_FLV_TAG_AUDIO && type != LS_FLV_TAG_VIDEO && type != LS_FLV_TAG_SCRIPT)
        return; /* unknown tag types are skipped, as the reader does (flv.h) */
    ix->tags++;
    if (type == LS_FLV_TAG_SCRIPT) {
        if (whole && ix->meta == LS_FLVINDEX_NONE && is_onmetadata(body, n))
            ix->meta = builder_blob(b, type, body, n);
        return;
    }
    if (!b->have_first) {
        b->have_first = true;
        ix->first_ts = ts;
    }
    rel = ls_flvindex_rel_ts(ix, ts);
    if (rel > ix->duration_ms)
        ix->duration_ms = rel;
    if (type == LS_FLV_TAG_VIDEO) {
        ix->has_video = b->video_seen = true;
        if (!video_peek(body, n, &key, &seq))
            return;
        if (seq && whole)
            b->cur_vseq = builder_blob(b, type, body, n);
        else if (key)
            builder_key(b, offset, rel);
        return;
    }
    ix->has_audio = true;
    if (ls_codec_audio_inspect(body, n, &ai, NULL) == LS_OK && ai.sequence_header) {
        if (whole)
            b->cur_aseq = builder_blob(b, type, body, n);
        return;
    }
    if (!b->video_seen &&
        (ix->nkeys == 0 || (rel >= ix->keys[ix->nkeys - 1].ts &&
                            rel - ix->keys[ix->nkeys - 1].ts >= LS_FLVINDEX_AUDIO_POINT_MS)))
        builder_key(b, offset, rel);
}

static int builder_fail(struct ls_flvindex_builder *b, int err, const char *why,
                        const char **out_why)
{
    b->err = err;
    b->err_why = why;
    LS_WHY(out_why, why);
    return err;
}

int ls_flvindex_builder_feed(struct ls_flvindex_builder *b, uint64_t offset, const uint8_t *p,
                             size_t len, const char **why)
{
    struct ls_flvindex *ix = &b->ix;
    uint64_t want_off;
    size_t want_len;
    const uint64_t end = offset + len; /* file offset just past what we were given */

    if (b->err != LS_OK) {
        LS_WHY(why, b->err_why);
        return b->err;
    }
    if (!ls_flvindex_builder_want(b, &want_off, &want_len))
        return LS_OK; /* nothing needed: extra bytes are harmless */
    if (offset != want_off)
        return LS_EINVAL;
    if (!b->header_done) {
        uint32_t data_offset;

        if (len < LS_FLV_HEADER_SIZE)
            return builder_fail(b, LS_EPROTO, "shorter than an FLV header", why);
        if (p[0] != 'F' || p[1] != 'L' || p[2] != 'V')
            return builder_fail(b, LS_EPROTO, "not an FLV file (bad signature)", why);
        data_offset = ls_get_be32(p + 5);
        if (data_offset < LS_FLV_HEADER_SIZE)
            return builder_fail(b, LS_EPROTO, "FLV DataOffset below 9", why);
        if (data_offset > b->lim.max_data_offset)
            return builder_fail(b, LS_EPROTO, "FLV DataOffset over the limit", why);
        b->header_done = true;
        b->next = (uint64_t)data_offset + LS_FLV_TAG_TRAILER_SIZE;
        ix->data_start = ix->data_end = b->next < ix->file_size ? b->next : ix->file_size;
    }
    while (!b->done) {
        uint64_t at = b->next, tag_end, need;
        const uint8_t *h;
        uint32_t size, ts, avail;
        uint8_t type;
        bool whole;

        if (at >= ix->file_size) {
            b->done = true;
            break;
        }
        if (ix->file_size - at < LS_FLV_TAG_HEADER_SIZE) {
            builder_stop(b, "truncated tag header at the end");
            break;
        }
        if (at + LS_FLV_TAG_HEADER_SIZE > end)
            break; /* ask for more */
        h = p + (at - offset);
        type = h[0] & 0x1f;
        size = ls_get_be24(h + 1);
        ts = ls_get_be24(h + 4) | (uint32_t)h[7] << 24;
        if (h[0] & 0x20) {
            builder_stop(b, "encrypted (Filter) tag");
            break;
        }
        if (size > b->lim.max_tag_size) {
            builder_stop(b, "tag larger than the largest message allowed");
            break;
        }
        tag_end = at + LS_FLV_TAG_HEADER_SIZE + size;
        if (tag_end > ix->file_size) {
            builder_stop(b, "truncated tag at the end");
            break;
        }
        need = tag_need(type, size, false);
        if (at + need > end)
            break;
        avail = (uint32_t)(need - LS_FLV_TAG_HEADER_SIZE);
        whole = tag_wants_body(b, type, h + LS_FLV_TAG_HEADER_SIZE, avail, size);
        if (whole) {
            need = tag_need(type, size, true);
            if (at + need > end) {
                b->need = need; /* the next want asks for the whole body */
                break;
            }
            avail = size;
        }
        builder_tag(b, at, type, ts, h + LS_FLV_TAG_HEADER_SIZE, avail, whole);
        b->need = 0;
        b->next = tag_end + LS_FLV_TAG_TRAILER_SIZE;
        ix->data_end = b->next < ix->file_size ? b->next : ix->file_size;
    }
    /* Given less than asked for, and not at the end: the file is shorter than it was. */
    if (!b->done && len < want_len && end < ix->file_size)
        builder_stop(b, "file shorter than its size");
    return LS_OK;
}

int ls_flvindex_builder_finish(struct ls_flvindex_builder *b, struct ls_flvindex **out,
                               const char **why)
{
    struct ls_flvindex *ix;

    *out = NULL;
    if (b->err == LS_OK && !b->header_done)
        (void)builder_fail(b, LS_EPROTO, "shorter than an FLV header", NULL);
    if (b->err != LS_OK) {
        LS_WHY(why, b->err_why);
        return b->err;
    }
    ix = malloc(sizeof *ix);
    if (ix == NULL)
        return LS_ENOMEM;
    if (!b->done && b->next < b->ix.file_size)
        builder_stop(b, "indexing ended early");
    *ix = b->ix;
    ix->memory += sizeof *ix;
    memset(&b->ix, 0, sizeof b->ix); /* moved: the builder frees nothing of it */
    b->done = true;
    b->err = LS_ESTATE;
    b->err_why = "index already finished";
    *out = ix;
    return LS_OK;
}

const struct ls_flvindex_key *ls_flvindex_seek(const struct ls_flvindex *ix, uint32_t ms)
{
    size_t lo = 0, hi = ix->nkeys;

    if (ix->nkeys == 0)
        return NULL;
    /* First key later than ms: everything before it is at or before ms. */
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;

        if (ix->keys[mid].ts <= ms)
            lo = mid + 1;
        else
            hi = mid;
    }
    return &ix->keys[lo > 0 ? lo - 1 : 0];
}

const struct ls_flvindex_blob *ls_flvindex_blob(const struct ls_flvindex *ix, uint16_t n)
{
    return n == LS_FLVINDEX_NONE || n >= ix->nblobs ? NULL : &ix->blobs[n];
}
