/*
 * Unit tests for flv.c: the incremental reader (fed whole, one byte at a time, and split
 * at every offset), its limits and tolerated irregularities, and the writer (exact bytes,
 * canaries after caller-provided buffers, round trips, byte-for-byte rewrite of ffmpeg's
 * file).
 *
 * Vectors: test/fixtures/ffmpeg_h264_aac.flv (ffmpeg's FLV muxer) and the hand-built
 * test/unit/data/flv_enhanced.flv and flv_sloppy.flv (see flv_make_vectors.py there).
 * Input segments are always passed to the reader from exact-size heap copies, so ASan
 * reports any read past what was fed.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "libstream/buf.h"
#include "libstream/bytes.h"
#include "libstream/codec.h"
#include "libstream/flv.h"
#include "support/input.h"

#define FIXTURE "test/fixtures/ffmpeg_h264_aac.flv"
#define ENHANCED "test/unit/data/flv_enhanced.flv"
#define SLOPPY "test/unit/data/flv_sloppy.flv"

/* ---- helpers ------------------------------------------------------------------------ */

/* Everything a reader produced from one input. */
struct result {
    struct ls_frame **tags;
    size_t ntags, cap;
    struct ls_flv_header header;
    unsigned headers;
    int rc;               /* LS_AGAIN when all input was accepted, else the error */
    const char *why;
    struct ls_flv_stats stats;
    bool at_boundary;
};

static void result_free(struct result *res)
{
    size_t i;

    for (i = 0; i < res->ntags; i++)
        ls_frame_unref(res->tags[i]);
    free(res->tags);
    memset(res, 0, sizeof *res);
}

/* Feeds one segment (from an exact-size copy) until it is used up or an error. */
static int feed_segment(struct ls_flv_reader *r, const uint8_t *p, size_t len,
                        struct result *res)
{
    uint8_t *copy = malloc(len ? len : 1);
    size_t off = 0;
    int rc = LS_AGAIN;

    assert_non_null(copy);
    if (len)
        memcpy(copy, p, len);
    for (;;) {
        struct ls_flv_event ev;
        ssize_t n = ls_flv_reader_feed(r, copy + off, len - off, &ev, &res->why);

        if (n < 0) {
            assert_int_equal(ev.type, LS_FLV_EV_NONE);
            assert_null(ev.tag);
            rc = (int)n;
            break;
        }
        assert_true(n > 0);
        assert_true((size_t)n <= len - off);
        off += (size_t)n;
        if (ev.type == LS_FLV_EV_HEADER) {
            res->header = ev.header;
            res->headers++;
        } else {
            assert_int_equal(ev.type, LS_FLV_EV_TAG);
            assert_non_null(ev.tag);
            assert_int_equal(ev.tag->refcount, 1);
            if (res->ntags == res->cap) {
                res->cap = res->cap ? res->cap * 2 : 64;
                res->tags = realloc(res->tags, res->cap * sizeof *res->tags);
                assert_non_null(res->tags);
            }
            res->tags[res->ntags++] = ev.tag;
        }
    }
    /* LS_AGAIN means every byte was taken */
    free(copy);
    return rc;
}

/*
 * Runs a fresh reader over `data`, cut into segments at the sorted offsets in `cuts`
 * (each segment fed separately). Stops at the first error.
 */
static void run(const uint8_t *data, size_t len, const size_t *cuts, size_t ncuts,
                const struct ls_flv_limits *lim, struct result *res)
{
    struct ls_flv_reader *r = ls_flv_reader_new(lim);
    size_t start = 0, i;

    assert_non_null(r);
    memset(res, 0, sizeof *res);
    res->rc = LS_AGAIN;
    for (i = 0; i <= ncuts && res->rc == LS_AGAIN; i++) {
        size_t end = i < ncuts ? cuts[i] : len;

        assert_true(end >= start && end <= len);
        res->rc = feed_segment(r, data + start, end - start, res);
        start = end;
    }
    ls_flv_reader_stats(r, &res->stats);
    res->at_boundary = ls_flv_reader_at_boundary(r);
    ls_flv_reader_free(r);
}

static void run_whole(const uint8_t *data, size_t len, struct result *res)
{
    run(data, len, NULL, 0, NULL, res);
}

/* Same events, tags and counters. */
static void assert_same(const struct result *a, const struct result *b)
{
    size_t i;

    assert_int_equal(a->rc, b->rc);
    assert_int_equal(a->headers, b->headers);
    assert_memory_equal(&a->header, &b->header, sizeof a->header);
    assert_int_equal(a->ntags, b->ntags);
    for (i = 0; i < a->ntags; i++) {
        assert_int_equal(a->tags[i]->type, b->tags[i]->type);
        assert_int_equal(a->tags[i]->timestamp, b->tags[i]->timestamp);
        assert_int_equal(a->tags[i]->stream_id, b->tags[i]->stream_id);
        assert_int_equal(a->tags[i]->len, b->tags[i]->len);
        assert_memory_equal(a->tags[i]->data, b->tags[i]->data, a->tags[i]->len);
    }
    assert_memory_equal(&a->stats, &b->stats, sizeof a->stats);
    assert_int_equal(a->at_boundary, b->at_boundary);
}

/* Whole vs one byte at a time vs split once at every offset vs a few 3-way splits. */
static void check_all_splits(const uint8_t *data, size_t len, const struct result *want,
                             size_t step)
{
    struct result got;
    size_t *cuts = malloc(len * sizeof *cuts);
    size_t i, seed = 12345;

    assert_non_null(cuts);
    for (i = 0; i < len; i++)
        cuts[i] = i + 1;
    run(data, len, cuts, len - 1, NULL, &got); /* one byte at a time */
    assert_same(want, &got);
    result_free(&got);
    for (i = 0; i <= len; i += step) {
        run(data, len, &i, 1, NULL, &got);
        assert_same(want, &got);
        result_free(&got);
    }
    for (i = 0; i < 50; i++) {
        size_t two[2];

        seed = seed * 1103515245u + 12345u;
        two[0] = (seed >> 8) % (len + 1);
        seed = seed * 1103515245u + 12345u;
        two[1] = two[0] + (seed >> 8) % (len + 1 - two[0]);
        run(data, len, two, 2, NULL, &got);
        assert_same(want, &got);
        result_free(&got);
    }
    free(cuts);
}

/* ---- the ffmpeg fixture ------------------------------------------------------------- */

static void test_fixture_whole(void **state)
{
    struct result res;
    size_t len, i, vtags = 0, vkeys = 0, vseq = 0, veos = 0, vframes = 0;
    size_t atags = 0, aseq = 0, script = 0;
    uint8_t *file = input_read_file(FIXTURE, &len);
    uint32_t last_ts = 0;
    (void)state;

    run_whole(file, len, &res);
    assert_int_equal(res.rc, LS_AGAIN);
    assert_int_equal(res.headers, 1);
    assert_int_equal(res.header.version, 1);
    assert_true(res.header.has_audio);
    assert_true(res.header.has_video);
    assert_int_equal(res.header.data_offset, 9);
    assert_true(res.at_boundary);
    assert_int_equal(res.stats.prev_size_mismatches, 0);
    assert_int_equal(res.stats.skipped_tags, 0);
    assert_int_equal(res.stats.tags, res.ntags);

    for (i = 0; i < res.ntags; i++) {
        const struct ls_frame *f = res.tags[i];

        assert_int_equal(f->stream_id, 0);
        if (f->type == LS_FLV_TAG_VIDEO) {
            struct ls_video_info vi;

            vtags++;
            assert_int_equal(ls_codec_video_inspect(f->data, f->len, &vi, NULL), LS_OK);
            assert_int_equal(vi.codec, LS_VIDEO_H264);
            vkeys += vi.keyframe;
            vframes += vi.packet == LS_VPKT_FRAME;
            veos += vi.packet == LS_VPKT_END_OF_SEQUENCE;
            if (vi.packet == LS_VPKT_SEQUENCE_HEADER) {
                struct ls_avc_config c;

                vseq++;
                assert_int_equal(ls_codec_avc_config_parse(f->data + vi.header_len,
                                                           f->len - vi.header_len, &c, NULL),
                                 LS_OK);
                assert_int_equal(c.width, 320);
                assert_int_equal(c.height, 240);
            }
            if (vi.packet != LS_VPKT_SEQUENCE_HEADER) {
                assert_true(f->timestamp >= last_ts); /* decode order, 25 fps */
                last_ts = f->timestamp;
            }
        } else if (f->type == LS_FLV_TAG_AUDIO) {
            struct ls_audio_info ai;

            atags++;
            assert_int_equal(ls_codec_audio_inspect(f->data, f->len, &ai, NULL), LS_OK);
            assert_int_equal(ai.codec, LS_AUDIO_AAC);
            assert_int_equal(ai.rate_hz, 44100);
            if (ai.sequence_header) {
                struct ls_aac_config c;

                aseq++;
                assert_int_equal(ls_codec_aac_config_parse(f->data + ai.header_len,
                                                           f->len - ai.header_len, &c, NULL),
                                 LS_OK);
                assert_int_equal(c.rate_hz, 44100);
            }
        } else {
            assert_int_equal(f->type, LS_FLV_TAG_SCRIPT);
            assert_int_equal(i, 0);
            assert_memory_equal(f->data, "\x02\x00\x0aonMetaData", 13);
            script++;
        }
    }
    assert_int_equal(script, 1);
    /* 1 sequence header + 50 coded pictures (2 key) + the end-of-sequence tag ffmpeg's
     * muxer appends; ffprobe reports the 50 pictures. */
    assert_int_equal(vtags, 52);
    assert_int_equal(vseq, 1);
    assert_int_equal(vframes, 50);
    assert_int_equal(veos, 1);
    assert_int_equal(vkeys, 2);
    assert_int_equal(atags, 89);
    assert_int_equal(aseq, 1);
    assert_int_equal(last_ts, 1960);
    result_free(&res);
    free(file);
}

static void test_fixture_splits(void **state)
{
    struct result want;
    size_t len;
    uint8_t *file = input_read_file(FIXTURE, &len);
    (void)state;

    run_whole(file, len, &want);
    assert_int_equal(want.ntags, 142);
    check_all_splits(file, len, &want, 1);
    result_free(&want);
    free(file);
}

static void test_fixture_rewrite_is_identical(void **state)
{
    struct result res;
    struct ls_buf out;
    size_t len, i;
    uint8_t *file = input_read_file(FIXTURE, &len);
    (void)state;

    run_whole(file, len, &res);
    ls_buf_init(&out, 0);
    assert_int_equal(ls_flv_write_header(&out, res.header.has_audio, res.header.has_video),
                     LS_OK);
    for (i = 0; i < res.ntags; i++) {
        const struct ls_frame *f = res.tags[i];

        assert_int_equal(ls_flv_write_tag(&out, f->type, f->timestamp, f->data, f->len), LS_OK);
    }
    assert_int_equal(out.len, len);
    assert_memory_equal(out.data, file, len);
    ls_buf_free(&out);
    result_free(&res);
    free(file);
}

/* The zero-copy pieces produce the same bytes as the buffer writer. */
static void test_fixture_rewrite_zero_copy(void **state)
{
    struct result res;
    size_t len, i, pos;
    uint8_t *file = input_read_file(FIXTURE, &len);
    uint8_t *out = malloc(len + 16);
    (void)state;

    assert_non_null(out);
    run_whole(file, len, &res);
    memset(out, 0xa5, len + 16);
    ls_flv_file_header(out, true, true);
    pos = 13;
    for (i = 0; i < res.ntags; i++) {
        const struct ls_frame *f = res.tags[i];

        ls_flv_tag_header(out + pos, f->type, f->len, f->timestamp);
        memcpy(out + pos + 11, f->data, f->len);
        ls_flv_tag_trailer(out + pos + 11 + f->len, f->len);
        pos += 11 + f->len + 4;
    }
    assert_int_equal(pos, len);
    assert_memory_equal(out, file, len);
    for (i = len; i < len + 16; i++)
        assert_int_equal(out[i], 0xa5);
    free(out);
    result_free(&res);
    free(file);
}

/* ---- hand-built golden files -------------------------------------------------------- */

static void test_enhanced_file(void **state)
{
    /* What each tag of flv_enhanced.flv must decode to (see flv_make_vectors.py). */
    static const struct {
        uint8_t type;
        uint32_t ts;
        int codec; /* video or audio enum, by type */
        int packet; /* video: ls_video_packet; audio: sequence_header */
        bool keyframe;
        int32_t cts;
    } want[] = {
        { 18, 0, 0, 0, false, 0 },
        { 9, 0, LS_VIDEO_HEVC, LS_VPKT_SEQUENCE_HEADER, false, 0 },
        { 8, 0, LS_AUDIO_OPUS, 1, false, 0 },
        { 8, 0, LS_AUDIO_AAC, 1, false, 0 },
        { 9, 0, LS_VIDEO_HEVC, LS_VPKT_FRAME, true, 80 },
        { 8, 20, LS_AUDIO_OPUS, 0, false, 0 },
        { 9, 40, LS_VIDEO_HEVC, LS_VPKT_FRAME, false, 0 },
        { 9, 80, LS_VIDEO_HEVC, LS_VPKT_FRAME, false, -40 },
        { 9, 120, LS_VIDEO_HEVC, LS_VPKT_FRAME, true, 0 },
        { 8, 120, LS_AUDIO_OPUS, 0, false, 0 },
        { 9, 160, LS_VIDEO_HEVC, LS_VPKT_END_OF_SEQUENCE, false, 0 },
        { 9, 200, LS_VIDEO_AV1, LS_VPKT_SEQUENCE_HEADER, false, 0 },
        { 9, 200, LS_VIDEO_AV1, LS_VPKT_FRAME, true, 0 },
        { 9, 240, LS_VIDEO_AV1, LS_VPKT_FRAME, false, 0 },
        { 9, 280, LS_VIDEO_VP9, LS_VPKT_SEQUENCE_HEADER, false, 0 },
        { 9, 280, LS_VIDEO_VP9, LS_VPKT_FRAME, true, 0 },
        { 9, 320, LS_VIDEO_VP9, LS_VPKT_FRAME, false, 0 },
        { 9, 360, LS_VIDEO_HEVC, LS_VPKT_SEQUENCE_HEADER, false, 0 },
        { 9, 360, LS_VIDEO_HEVC, LS_VPKT_FRAME, true, 40 },
        { 9, 0x01000000 + 400, LS_VIDEO_HEVC, LS_VPKT_FRAME, false, -40 },
    };
    struct result res;
    struct ls_buf out;
    size_t len, i;
    uint8_t *file = input_read_file(ENHANCED, &len);
    (void)state;

    run_whole(file, len, &res);
    assert_int_equal(res.rc, LS_AGAIN);
    assert_true(res.at_boundary);
    assert_int_equal(res.stats.prev_size_mismatches, 0);
    assert_int_equal(res.ntags, sizeof want / sizeof want[0]);
    for (i = 0; i < res.ntags; i++) {
        const struct ls_frame *f = res.tags[i];

        assert_int_equal(f->type, want[i].type);
        assert_int_equal(f->timestamp, want[i].ts);
        if (f->type == LS_FLV_TAG_VIDEO) {
            struct ls_video_info vi;

            assert_int_equal(ls_codec_video_inspect(f->data, f->len, &vi, NULL), LS_OK);
            assert_int_equal(vi.codec, want[i].codec);
            assert_int_equal(vi.packet, want[i].packet);
            assert_int_equal(vi.keyframe, want[i].keyframe);
            assert_int_equal(vi.composition_time, want[i].cts);
            if (vi.packet == LS_VPKT_SEQUENCE_HEADER && vi.codec == LS_VIDEO_HEVC) {
                struct ls_hevc_config c;

                assert_int_equal(ls_codec_hevc_config_parse(f->data + vi.header_len,
                                                            f->len - vi.header_len, &c, NULL),
                                 LS_OK);
                assert_int_equal(c.width, 170);
                assert_int_equal(c.height, 98);
            }
            if (i == 7)
                assert_int_equal(vi.timestamp_offset_ns, 100);
            if (i == 8)
                assert_true(vi.multitrack);
        } else if (f->type == LS_FLV_TAG_AUDIO) {
            struct ls_audio_info ai;

            assert_int_equal(ls_codec_audio_inspect(f->data, f->len, &ai, NULL), LS_OK);
            assert_true(ai.enhanced);
            assert_int_equal(ai.codec, want[i].codec);
            assert_int_equal(ai.sequence_header, want[i].packet);
        }
    }
    check_all_splits(file, len, &res, 1);

    /* A well-formed file is rewritten byte for byte. */
    ls_buf_init(&out, 0);
    assert_int_equal(ls_flv_write_header(&out, true, true), LS_OK);
    for (i = 0; i < res.ntags; i++)
        assert_int_equal(ls_flv_write_tag(&out, res.tags[i]->type, res.tags[i]->timestamp,
                                          res.tags[i]->data, res.tags[i]->len),
                         LS_OK);
    assert_int_equal(out.len, len);
    assert_memory_equal(out.data, file, len);
    ls_buf_free(&out);
    result_free(&res);
    free(file);
}

static void test_sloppy_file(void **state)
{
    struct result res, again;
    struct ls_buf out;
    size_t len, i;
    uint8_t *file = input_read_file(SLOPPY, &len);
    (void)state;

    run_whole(file, len, &res);
    assert_int_equal(res.rc, LS_AGAIN);
    assert_true(res.at_boundary);
    assert_int_equal(res.header.data_offset, 13);
    /* PreviousTagSize0 = 7 and one trailer of 11 instead of 17 */
    assert_int_equal(res.stats.prev_size_mismatches, 2);
    assert_int_equal(res.stats.skipped_tags, 1); /* TagType 15 */
    assert_int_equal(res.stats.tags, 4);
    assert_int_equal(res.ntags, 4);
    assert_int_equal(res.tags[0]->type, LS_FLV_TAG_AUDIO);
    assert_int_equal(res.tags[0]->len, 4);
    assert_int_equal(res.tags[1]->type, LS_FLV_TAG_VIDEO); /* 0xc9: reserved bits ignored */
    assert_int_equal(res.tags[1]->timestamp, 0x20);
    assert_int_equal(res.tags[1]->stream_id, 0);           /* StreamID 1 ignored */
    assert_memory_equal(res.tags[1]->data, "\x17\x01\x00\x00\x00\xaa", 6);
    assert_int_equal(res.tags[2]->type, LS_FLV_TAG_SCRIPT);
    assert_int_equal(res.tags[2]->len, 0);
    assert_int_equal(res.tags[2]->timestamp, 0x01ffffff);
    assert_int_equal(res.tags[3]->timestamp, 0x12345678);
    check_all_splits(file, len, &res, 1);

    /* Rewriting normalises the file: read back, same tags, nothing to count. */
    ls_buf_init(&out, 0);
    assert_int_equal(ls_flv_write_header(&out, true, true), LS_OK);
    for (i = 0; i < res.ntags; i++)
        assert_int_equal(ls_flv_write_tag(&out, res.tags[i]->type, res.tags[i]->timestamp,
                                          res.tags[i]->data, res.tags[i]->len),
                         LS_OK);
    run_whole(out.data, out.len, &again);
    assert_int_equal(again.stats.prev_size_mismatches, 0);
    assert_int_equal(again.stats.skipped_tags, 0);
    assert_int_equal(again.ntags, res.ntags);
    for (i = 0; i < res.ntags; i++) {
        assert_int_equal(again.tags[i]->timestamp, res.tags[i]->timestamp);
        assert_int_equal(again.tags[i]->len, res.tags[i]->len);
    }
    result_free(&again);
    ls_buf_free(&out);
    result_free(&res);
    free(file);
}

/* ---- malformed input and limits ----------------------------------------------------- */

/* A 13-byte header plus one tag of `size` bytes announced; body bytes follow if given. */
static size_t make_stream(uint8_t *out, uint8_t type_byte, uint32_t size, const uint8_t *body,
                          size_t body_len)
{
    ls_flv_file_header(out, true, true);
    ls_flv_tag_header(out + 13, 0, size, 0);
    out[13] = type_byte;
    if (body_len)
        memcpy(out + 24, body, body_len);
    return 24 + body_len;
}

static void test_header_errors(void **state)
{
    static const struct {
        uint8_t h[9];
        int rc;
    } table[] = {
        { { 'F', 'L', 'X', 1, 5, 0, 0, 0, 9 }, LS_EPROTO },       /* signature */
        { { 'f', 'L', 'V', 1, 5, 0, 0, 0, 9 }, LS_EPROTO },
        { { 'G', 'E', 'T', ' ', '/', ' ', 'H', 'T', 'T' }, LS_EPROTO },
        { { 'F', 'L', 'V', 1, 5, 0, 0, 0, 8 }, LS_EPROTO },       /* DataOffset < 9 */
        { { 'F', 'L', 'V', 1, 5, 0, 0, 0, 0 }, LS_EPROTO },
        { { 'F', 'L', 'V', 1, 5, 0, 0, 4, 1 }, LS_ELIMIT },       /* 1025 > default 1024 */
        { { 'F', 'L', 'V', 1, 5, 0xff, 0xff, 0xff, 0xff }, LS_ELIMIT },
    };
    struct result res;
    size_t i;
    (void)state;

    for (i = 0; i < sizeof table / sizeof table[0]; i++) {
        size_t cut;

        for (cut = 0; cut <= 9; cut++) {
            run(table[i].h, 9, &cut, 1, NULL, &res);
            if (res.rc != table[i].rc)
                fail_msg("header vector %zu split at %zu: rc %d", i, cut, res.rc);
            assert_non_null(res.why);
            assert_int_equal(res.headers, 0);
            assert_false(res.at_boundary);
            result_free(&res);
        }
    }
    /* exactly the default max_data_offset is accepted (and its bytes skipped) */
    {
        uint8_t *big = calloc(1, 1024 + 4 + 11 + 4);
        struct ls_flv_limits lim = { 0, 2000 };

        assert_non_null(big);
        memcpy(big, "FLV\x01\x05\x00\x00\x04\x00", 9);
        ls_flv_tag_header(big + 1028, LS_FLV_TAG_AUDIO, 0, 77);
        ls_flv_tag_trailer(big + 1039, 0);
        run_whole(big, 1024 + 4 + 11 + 4, &res);
        assert_int_equal(res.rc, LS_AGAIN);
        assert_int_equal(res.header.data_offset, 1024);
        assert_int_equal(res.ntags, 1);
        assert_int_equal(res.tags[0]->timestamp, 77);
        assert_int_equal(res.stats.prev_size_mismatches, 0);
        result_free(&res);
        /* a caller limit raises it */
        big[7] = 0x07;
        big[8] = 0xd0; /* 2000 */
        run(big, 1024 + 4 + 11 + 4, NULL, 0, &lim, &res);
        assert_int_equal(res.rc, LS_AGAIN);
        assert_int_equal(res.header.data_offset, 2000);
        assert_int_equal(res.ntags, 0); /* still skipping */
        assert_false(res.at_boundary);
        result_free(&res);
        free(big);
    }
    /* the header event's flags and version */
    {
        static const uint8_t h[] = { 'F', 'L', 'V', 2, 0xfa, 0, 0, 0, 9, 0, 0, 0, 0 };

        run_whole(h, sizeof h, &res);
        assert_int_equal(res.rc, LS_AGAIN);
        assert_int_equal(res.header.version, 2);
        assert_false(res.header.has_audio); /* 0xfa: reserved bits set, A and V clear */
        assert_false(res.header.has_video);
        assert_true(res.at_boundary);
        result_free(&res);
    }
}

static void test_max_tag_size(void **state)
{
    static uint8_t body[101];
    uint8_t buf[24 + sizeof body + 4];
    struct ls_flv_limits lim = { 100, 0 };
    struct result res;
    size_t n;
    (void)state;

    memset(body, 0x42, sizeof body);
    /* at the limit: delivered */
    n = make_stream(buf, LS_FLV_TAG_VIDEO, 100, body, 100);
    run(buf, n, NULL, 0, &lim, &res);
    assert_int_equal(res.rc, LS_AGAIN);
    assert_int_equal(res.ntags, 1);
    assert_int_equal(res.tags[0]->len, 100);
    result_free(&res);
    /* one over: refused as soon as the tag header is complete, before the body */
    n = make_stream(buf, LS_FLV_TAG_VIDEO, 101, body, 0);
    run(buf, n, NULL, 0, &lim, &res);
    assert_int_equal(res.rc, LS_ELIMIT);
    assert_non_null(res.why);
    assert_int_equal(res.ntags, 0);
    result_free(&res);
    /* the default is 8 MiB */
    n = make_stream(buf, LS_FLV_TAG_AUDIO, LS_FLV_DEFAULT_MAX_TAG_SIZE + 1, NULL, 0);
    run(buf, n, NULL, 0, NULL, &res);
    assert_int_equal(res.rc, LS_ELIMIT);
    result_free(&res);
    n = make_stream(buf, LS_FLV_TAG_SCRIPT, LS_FLV_MAX_DATA_SIZE, NULL, 0);
    run(buf, n, NULL, 0, NULL, &res);
    assert_int_equal(res.rc, LS_ELIMIT);
    result_free(&res);
    /* a tag of unknown type is skipped unread whatever its size */
    n = make_stream(buf, 7, LS_FLV_MAX_DATA_SIZE, NULL, 0);
    run(buf, n, NULL, 0, &lim, &res);
    assert_int_equal(res.rc, LS_AGAIN);
    assert_int_equal(res.stats.skipped_tags, 1);
    assert_false(res.at_boundary);
    result_free(&res);
    /* exactly the default is accepted (allocated) */
    {
        uint8_t *big = calloc(1, 24 + LS_FLV_DEFAULT_MAX_TAG_SIZE + 4);

        assert_non_null(big);
        n = make_stream(big, LS_FLV_TAG_VIDEO, LS_FLV_DEFAULT_MAX_TAG_SIZE, NULL, 0);
        big[24] = 0x17;
        ls_flv_tag_trailer(big + 24 + LS_FLV_DEFAULT_MAX_TAG_SIZE, LS_FLV_DEFAULT_MAX_TAG_SIZE);
        run_whole(big, 24 + LS_FLV_DEFAULT_MAX_TAG_SIZE + 4, &res);
        assert_int_equal(res.rc, LS_AGAIN);
        assert_int_equal(res.ntags, 1);
        assert_int_equal(res.tags[0]->len, LS_FLV_DEFAULT_MAX_TAG_SIZE);
        assert_int_equal(res.tags[0]->data[0], 0x17);
        assert_true(res.at_boundary);
        assert_int_equal(res.stats.prev_size_mismatches, 0);
        result_free(&res);
        free(big);
        (void)n;
    }
}

static void test_filter_bit_and_sticky_errors(void **state)
{
    static const uint8_t body[3] = { 1, 2, 3 };
    uint8_t buf[64];
    struct ls_flv_reader *r;
    struct ls_flv_event ev;
    const char *why = NULL;
    size_t n;
    ssize_t rc;
    (void)state;

    n = make_stream(buf, 0x20 | LS_FLV_TAG_VIDEO, sizeof body, body, sizeof body);
    r = ls_flv_reader_new(NULL);
    assert_non_null(r);
    rc = ls_flv_reader_feed(r, buf, n, &ev, &why);
    assert_int_equal(rc, 9); /* the header event */
    assert_int_equal(ev.type, LS_FLV_EV_HEADER);
    rc = ls_flv_reader_feed(r, buf + 9, n - 9, &ev, &why);
    assert_int_equal(rc, LS_EUNSUPPORTED);
    assert_non_null(why);
    assert_int_equal(ev.type, LS_FLV_EV_NONE);
    /* sticky: the same code and reason, whatever is fed */
    why = NULL;
    assert_int_equal(ls_flv_reader_feed(r, buf, n, &ev, &why), LS_EUNSUPPORTED);
    assert_non_null(why);
    assert_int_equal(ls_flv_reader_feed(r, NULL, 0, &ev, NULL), LS_EUNSUPPORTED);
    assert_false(ls_flv_reader_at_boundary(r));
    ls_flv_reader_free(r);

    /* the error drops a partially read tag (ASan/LSan check the free) */
    r = ls_flv_reader_new(NULL);
    assert_non_null(r);
    n = make_stream(buf, LS_FLV_TAG_AUDIO, 10, body, sizeof body);
    assert_int_equal(ls_flv_reader_feed(r, buf, n, &ev, NULL), 9);
    assert_int_equal(ls_flv_reader_feed(r, buf + 9, n - 9, &ev, NULL), LS_AGAIN);
    ls_flv_reader_free(r); /* frees the 10-byte frame being filled */
    ls_flv_reader_free(NULL);
}

static void test_feed_contract(void **state)
{
    static const uint8_t body[2] = { 0xaf, 0x01 };
    uint8_t buf[64];
    struct ls_flv_reader *r = ls_flv_reader_new(NULL);
    struct ls_flv_event ev;
    size_t n;
    (void)state;

    assert_non_null(r);
    assert_true(ls_flv_reader_at_boundary(r));
    /* nothing in, nothing out */
    assert_int_equal(ls_flv_reader_feed(r, NULL, 0, &ev, NULL), LS_AGAIN);
    assert_int_equal(ev.type, LS_FLV_EV_NONE);
    n = make_stream(buf, LS_FLV_TAG_AUDIO, sizeof body, body, sizeof body);
    ls_flv_tag_trailer(buf + n, sizeof body);
    n += 4;
    /* partial header: all consumed, no event, not at a boundary */
    assert_int_equal(ls_flv_reader_feed(r, buf, 5, &ev, NULL), LS_AGAIN);
    assert_false(ls_flv_reader_at_boundary(r));
    /* the rest of the header completes the header event; the rest waits for next call */
    assert_int_equal(ls_flv_reader_feed(r, buf + 5, n - 5, &ev, NULL), 4);
    assert_int_equal(ev.type, LS_FLV_EV_HEADER);
    assert_null(ev.tag);
    assert_true(ls_flv_reader_at_boundary(r));
    /* PreviousTagSize0 + tag header + body: one event; the trailer is left */
    assert_int_equal(ls_flv_reader_feed(r, buf + 9, n - 9, &ev, NULL), 4 + 11 + 2);
    assert_int_equal(ev.type, LS_FLV_EV_TAG);
    assert_int_equal(ev.tag->type, LS_FLV_TAG_AUDIO);
    assert_int_equal(ev.tag->len, 2);
    ls_frame_unref(ev.tag);
    assert_true(ls_flv_reader_at_boundary(r));
    /* half a trailer: not a boundary; the other half: boundary again */
    assert_int_equal(ls_flv_reader_feed(r, buf + n - 4, 2, &ev, NULL), LS_AGAIN);
    assert_false(ls_flv_reader_at_boundary(r));
    assert_int_equal(ls_flv_reader_feed(r, buf + n - 2, 2, &ev, NULL), LS_AGAIN);
    assert_true(ls_flv_reader_at_boundary(r));
    ls_flv_reader_free(r);
}

static void test_truncations_are_not_boundaries(void **state)
{
    size_t len, cut, tag_ends = 0;
    uint8_t *file = input_read_file(SLOPPY, &len);
    (void)state;

    /* Cutting the sloppy file anywhere: at_boundary exactly at event ends/trailers. */
    for (cut = 0; cut <= len; cut++) {
        struct result res;

        run(file, cut, NULL, 0, NULL, &res);
        assert_int_equal(res.rc, LS_AGAIN);
        if (res.at_boundary)
            tag_ends++;
        result_free(&res);
    }
    /* 0 bytes; after the header (9 + 4 junk, not after the 9 alone); after
     * PreviousTagSize0; then for each of the 5 tags (4 delivered, 1 skipped): after the
     * body and after its trailer: 1 + 1 + 1 + 5 * 2 = 13 */
    assert_int_equal(tag_ends, 13);
    free(file);
}

/* ---- writer ------------------------------------------------------------------------- */

static void test_writer_bytes_and_canaries(void **state)
{
    static const uint8_t want_hdr[4][13] = {
        { 'F', 'L', 'V', 1, 0, 0, 0, 0, 9, 0, 0, 0, 0 },
        { 'F', 'L', 'V', 1, 1, 0, 0, 0, 9, 0, 0, 0, 0 },
        { 'F', 'L', 'V', 1, 4, 0, 0, 0, 9, 0, 0, 0, 0 },
        { 'F', 'L', 'V', 1, 5, 0, 0, 0, 9, 0, 0, 0, 0 },
    };
    static const uint8_t want_tag[11] = { 0x09, 0x12, 0x34, 0x56, 0xbc, 0xde, 0xf0, 0x9a,
                                          0, 0, 0 };
    static const uint8_t want_trailer[4] = { 0x00, 0x12, 0x34, 0x61 };
    uint8_t out[32];
    struct ls_buf b;
    int i;
    (void)state;

    for (i = 0; i < 4; i++) {
        memset(out, 0xcc, sizeof out);
        ls_flv_file_header(out, i & 2, i & 1);
        assert_memory_equal(out, want_hdr[i], 13);
        assert_int_equal(out[13], 0xcc);
        ls_buf_init(&b, 0);
        assert_int_equal(ls_flv_write_header(&b, i & 2, i & 1), LS_OK);
        assert_int_equal(b.len, 13);
        assert_memory_equal(b.data, want_hdr[i], 13);
        ls_buf_free(&b);
    }
    memset(out, 0xcc, sizeof out);
    ls_flv_tag_header(out, LS_FLV_TAG_VIDEO, 0x123456, 0x9abcdef0);
    assert_memory_equal(out, want_tag, 11);
    assert_int_equal(out[11], 0xcc);
    memset(out, 0xcc, sizeof out);
    ls_flv_tag_trailer(out, 0x123456);
    assert_memory_equal(out, want_trailer, 4);
    assert_int_equal(out[4], 0xcc);
    /* out-of-range values are masked, never spill into neighbouring fields */
    memset(out, 0xcc, sizeof out);
    ls_flv_tag_header(out, 0xff, 0xff123456, 0);
    assert_int_equal(out[0], 0x1f);
    assert_int_equal(ls_get_be24(out + 1), 0x123456);
    assert_int_equal(out[11], 0xcc);
    ls_flv_tag_trailer(out, 0xffffffff);
    assert_int_equal(ls_get_be32(out), 11 + 0xffffff);
}

static void test_writer_errors(void **state)
{
    static const uint8_t data[10] = { 0 };
    struct ls_buf b;
    (void)state;

    ls_buf_init(&b, 0);
    assert_int_equal(ls_flv_write_tag(&b, 32, 0, data, sizeof data), LS_EINVAL);
    assert_int_equal(ls_flv_write_tag(&b, 9, 0, data, LS_FLV_MAX_DATA_SIZE + 1), LS_EINVAL);
    assert_int_equal(b.len, 0);
    assert_int_equal(ls_buf_status(&b), LS_OK);
    assert_int_equal(ls_flv_write_tag(&b, 31, 0, NULL, 0), LS_OK); /* empty, top type */
    assert_int_equal(b.len, 15);
    ls_buf_free(&b);

    /* a bounded buffer takes whole tags or nothing */
    ls_buf_init(&b, 13 + 25 + 24);
    assert_int_equal(ls_flv_write_header(&b, true, false), LS_OK);
    assert_int_equal(ls_flv_write_tag(&b, 8, 1, data, sizeof data), LS_OK); /* 25 bytes */
    assert_int_equal(ls_flv_write_tag(&b, 8, 2, data, sizeof data), LS_ELIMIT);
    assert_int_equal(b.len, 13 + 25);
    assert_int_equal(ls_flv_write_tag(&b, 8, 3, NULL, 0), LS_ELIMIT); /* sticky */
    assert_int_equal(ls_flv_write_header(&b, true, false), LS_ELIMIT);
    assert_int_equal(b.len, 13 + 25);
    ls_buf_free(&b);
}

static void test_writer_reader_round_trip(void **state)
{
    static const struct {
        uint8_t type;
        uint32_t ts;
        uint32_t len;
    } table[] = {
        { 8, 0, 0 },           { 9, 1, 1 },          { 18, 0xffffff, 300 },
        { 9, 0x01000000, 5 },  { 8, 0xffffffff, 2 }, { 9, 0x7fffffff, 70000 },
    };
    struct ls_buf b;
    struct result res;
    size_t i, j;
    uint8_t *payload = malloc(70000);
    (void)state;

    assert_non_null(payload);
    for (i = 0; i < 70000; i++)
        payload[i] = (uint8_t)(i * 7 + 3);
    ls_buf_init(&b, 0);
    assert_int_equal(ls_flv_write_header(&b, false, true), LS_OK);
    for (i = 0; i < sizeof table / sizeof table[0]; i++)
        assert_int_equal(ls_flv_write_tag(&b, table[i].type, table[i].ts, payload, table[i].len),
                         LS_OK);
    run_whole(b.data, b.len, &res);
    assert_int_equal(res.rc, LS_AGAIN);
    assert_true(res.at_boundary);
    assert_false(res.header.has_audio);
    assert_true(res.header.has_video);
    assert_int_equal(res.stats.prev_size_mismatches, 0);
    assert_int_equal(res.ntags, sizeof table / sizeof table[0]);
    for (i = 0; i < res.ntags; i++) {
        assert_int_equal(res.tags[i]->type, table[i].type);
        assert_int_equal(res.tags[i]->timestamp, table[i].ts);
        assert_int_equal(res.tags[i]->len, table[i].len);
        for (j = 0; j < table[i].len; j++)
            if (res.tags[i]->data[j] != payload[j])
                fail_msg("tag %zu byte %zu differs", i, j);
    }
    check_all_splits(b.data, b.len, &res, 101);
    result_free(&res);
    ls_buf_free(&b);
    free(payload);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fixture_whole),
        cmocka_unit_test(test_fixture_splits),
        cmocka_unit_test(test_fixture_rewrite_is_identical),
        cmocka_unit_test(test_fixture_rewrite_zero_copy),
        cmocka_unit_test(test_enhanced_file),
        cmocka_unit_test(test_sloppy_file),
        cmocka_unit_test(test_header_errors),
        cmocka_unit_test(test_max_tag_size),
        cmocka_unit_test(test_filter_bit_and_sticky_errors),
        cmocka_unit_test(test_feed_contract),
        cmocka_unit_test(test_truncations_are_not_boundaries),
        cmocka_unit_test(test_writer_bytes_and_canaries),
        cmocka_unit_test(test_writer_errors),
        cmocka_unit_test(test_writer_reader_round_trip),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
