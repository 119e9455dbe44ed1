/*
 * Unit tests for codec.c: VIDEODATA/AUDIODATA headers (legacy and Enhanced RTMP), the
 * avcC/hvcC/AudioSpecificConfig parsers, with vectors from real encoders (the ffmpeg FLV
 * fixture, x264/x265 records in test/unit/data/codec_*; see codec_vectors.md there) and
 * hand-built ones (SPS bit strings written by a small bit writer below).
 *
 * Every vector is parsed from an exact-size heap copy, so ASan reports any over-read,
 * and every proper prefix of a vector is checked to fail cleanly (the "split at every
 * offset" of a whole-message parser).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "libstream/codec.h"
#include "libstream/flv.h"
#include "support/input.h"

/* ---- helpers ------------------------------------------------------------------------ */

static int video(const uint8_t *p, size_t len, struct ls_video_info *vi, const char **why)
{
    uint8_t *copy = malloc(len ? len : 1);
    int rc;

    assert_non_null(copy);
    if (len)
        memcpy(copy, p, len);
    rc = ls_codec_video_inspect(copy, len, vi, why);
    free(copy);
    return rc;
}

static int audio(const uint8_t *p, size_t len, struct ls_audio_info *ai, const char **why)
{
    uint8_t *copy = malloc(len ? len : 1);
    int rc;

    assert_non_null(copy);
    if (len)
        memcpy(copy, p, len);
    rc = ls_codec_audio_inspect(copy, len, ai, why);
    free(copy);
    return rc;
}

static int avc(const uint8_t *p, size_t len, struct ls_avc_config *c, const char **why)
{
    uint8_t *copy = malloc(len ? len : 1);
    int rc;

    assert_non_null(copy);
    if (len)
        memcpy(copy, p, len);
    rc = ls_codec_avc_config_parse(copy, len, c, why);
    free(copy);
    return rc;
}

static int hevc(const uint8_t *p, size_t len, struct ls_hevc_config *c, const char **why)
{
    uint8_t *copy = malloc(len ? len : 1);
    int rc;

    assert_non_null(copy);
    if (len)
        memcpy(copy, p, len);
    rc = ls_codec_hevc_config_parse(copy, len, c, why);
    free(copy);
    return rc;
}

static int aac(const uint8_t *p, size_t len, struct ls_aac_config *c, const char **why)
{
    uint8_t *copy = malloc(len ? len : 1);
    int rc;

    assert_non_null(copy);
    if (len)
        memcpy(copy, p, len);
    rc = ls_codec_aac_config_parse(copy, len, c, why);
    free(copy);
    return rc;
}

/* Every proper prefix of a video header shorter than header_len fails with LS_EPROTO. */
static void video_prefixes_fail(const uint8_t *p, size_t header_len)
{
    struct ls_video_info vi;
    const char *why;
    size_t cut;

    for (cut = 0; cut < header_len; cut++) {
        why = NULL;
        assert_int_equal(video(p, cut, &vi, &why), LS_EPROTO);
        assert_non_null(why);
    }
}

static void audio_prefixes_fail(const uint8_t *p, size_t header_len)
{
    struct ls_audio_info ai;
    const char *why;
    size_t cut;

    for (cut = 0; cut < header_len; cut++) {
        why = NULL;
        assert_int_equal(audio(p, cut, &ai, &why), LS_EPROTO);
        assert_non_null(why);
    }
}

/* ---- bit writer for hand-built SPS -------------------------------------------------- */

struct bw {
    uint8_t buf[8192];
    size_t bits;
};

static void bw_u(struct bw *w, unsigned n, uint64_t v)
{
    while (n-- > 0) {
        size_t i = w->bits >> 3;

        assert_true(i < sizeof w->buf);
        if ((w->bits & 7) == 0)
            w->buf[i] = 0;
        if ((v >> n) & 1)
            w->buf[i] |= (uint8_t)(0x80 >> (w->bits & 7));
        w->bits++;
    }
}

static void bw_ue(struct bw *w, uint64_t v)
{
    uint64_t x = v + 1;
    unsigned len = 0;

    while ((x >> len) > 1)
        len++;
    bw_u(w, len, 0);
    bw_u(w, len + 1, x);
}

static void bw_se(struct bw *w, int64_t v)
{
    bw_ue(w, v > 0 ? (uint64_t)(2 * v - 1) : (uint64_t)(-2 * v));
}

/* rbsp_trailing_bits, then emulation prevention into `out` after a `hdr_len` header. */
static size_t bw_nal(struct bw *w, const uint8_t *hdr, size_t hdr_len, uint8_t *out,
                     size_t cap)
{
    size_t i, n = 0, bytes;
    unsigned zeros = 0;

    bw_u(w, 1, 1);
    while (w->bits & 7)
        bw_u(w, 1, 0);
    bytes = w->bits >> 3;
    assert_true(hdr_len + bytes * 3 / 2 + 2 < cap);
    memcpy(out, hdr, hdr_len);
    n = hdr_len;
    for (i = 0; i < bytes; i++) {
        if (zeros >= 2 && w->buf[i] <= 3) {
            out[n++] = 0x03;
            zeros = 0;
        }
        zeros = w->buf[i] == 0 ? zeros + 1 : 0;
        out[n++] = w->buf[i];
    }
    return n;
}

struct avc_sps {
    uint8_t profile;
    uint32_t chroma;
    bool separate_planes;
    uint32_t bd_luma_m8, bd_chroma_m8;
    bool scaling;           /* all lists present, full deltas */
    bool scaling_default;   /* all lists present, "use default" (delta -8) */
    int32_t scaling_delta;  /* first delta of each full list (bound tests) */
    uint32_t log2_frame_m4, poc_type, log2_poc_m4, poc_cycle;
    int64_t poc_offset;     /* every offset_for_* value */
    uint32_t w_mbs_m1, h_units_m1;
    bool frame_mbs_only;
    bool crop;
    uint32_t crop_l, crop_r, crop_t, crop_b;
    uint32_t sps_id;
    bool no_trailing;       /* stop right after the fields the parser needs */
};

static struct avc_sps avc_sps_default(void)
{
    struct avc_sps s;

    memset(&s, 0, sizeof s);
    s.profile = 66;
    s.chroma = 1;
    s.w_mbs_m1 = 19; /* 320 */
    s.h_units_m1 = 14; /* 240 */
    s.frame_mbs_only = true;
    s.scaling_delta = 5;
    return s;
}

static bool high_profile(uint8_t p)
{
    return p == 100 || p == 110 || p == 122 || p == 244 || p == 44 || p == 83 || p == 86 ||
           p == 118 || p == 128 || p == 138 || p == 139 || p == 134 || p == 135;
}

/* Writes an SPS NAL unit (header 0x67, escaped) into out; returns its length. */
static size_t build_avc_sps(const struct avc_sps *s, uint8_t *out, size_t cap)
{
    static const uint8_t hdr[1] = { 0x67 };
    struct bw w;
    uint32_t i, j;

    memset(&w, 0, sizeof w);
    bw_u(&w, 8, s->profile);
    bw_u(&w, 8, 0);
    bw_u(&w, 8, 30);
    bw_ue(&w, s->sps_id);
    if (high_profile(s->profile)) {
        bw_ue(&w, s->chroma);
        if (s->chroma == 3)
            bw_u(&w, 1, s->separate_planes);
        bw_ue(&w, s->bd_luma_m8);
        bw_ue(&w, s->bd_chroma_m8);
        bw_u(&w, 1, 0);
        bw_u(&w, 1, s->scaling || s->scaling_default);
        if (s->scaling || s->scaling_default) {
            for (i = 0; i < (s->chroma != 3 ? 8u : 12u); i++) {
                bw_u(&w, 1, 1);
                if (s->scaling_default) {
                    bw_se(&w, -8); /* nextScale 0: useDefaultScalingMatrixFlag */
                    continue;
                }
                {
                    int32_t last = 8, next = 8;

                    for (j = 0; j < (i < 6 ? 16u : 64u) && next != 0; j++) {
                        int32_t delta = j == 0 ? s->scaling_delta : (j & 1) ? 9 : -9;

                        bw_se(&w, delta);
                        next = (last + delta + 256) % 256;
                        assert_true(next != 0 || j == 0); /* full lists stay full */
                        last = next == 0 ? last : next;
                    }
                }
            }
        }
    }
    bw_ue(&w, s->log2_frame_m4);
    bw_ue(&w, s->poc_type);
    if (s->poc_type == 0) {
        bw_ue(&w, s->log2_poc_m4);
    } else if (s->poc_type == 1) {
        bw_u(&w, 1, 0);
        bw_se(&w, s->poc_offset);
        bw_se(&w, s->poc_offset);
        bw_ue(&w, s->poc_cycle);
        for (i = 0; i < s->poc_cycle; i++)
            bw_se(&w, s->poc_offset);
    }
    bw_ue(&w, 1); /* max_num_ref_frames */
    bw_u(&w, 1, 0);
    bw_ue(&w, s->w_mbs_m1);
    bw_ue(&w, s->h_units_m1);
    bw_u(&w, 1, s->frame_mbs_only);
    if (!s->frame_mbs_only)
        bw_u(&w, 1, 0);
    bw_u(&w, 1, 1);
    bw_u(&w, 1, s->crop);
    if (s->crop) {
        bw_ue(&w, s->crop_l);
        bw_ue(&w, s->crop_r);
        bw_ue(&w, s->crop_t);
        bw_ue(&w, s->crop_b);
    }
    if (!s->no_trailing)
        bw_u(&w, 1, 0); /* vui_parameters_present_flag */
    return bw_nal(&w, hdr, sizeof hdr, out, cap);
}

/* Wraps SPS NAL units into an avcC with one PPS; returns its length. */
static size_t build_avcc(const uint8_t *sps, size_t sps_len, unsigned sps_count, uint8_t *out,
                         size_t cap)
{
    static const uint8_t pps[] = { 0x68, 0xee, 0x3c, 0x80 };
    size_t n = 0;
    unsigned i;

    assert_true(6 + sps_count * (2 + sps_len) + 3 + sizeof pps <= cap);
    out[n++] = 1;
    out[n++] = sps_len ? sps[1] : 66;
    out[n++] = 0;
    out[n++] = 30;
    out[n++] = 0xfc | 3;
    out[n++] = (uint8_t)(0xe0 | sps_count);
    for (i = 0; i < sps_count; i++) {
        out[n++] = (uint8_t)(sps_len >> 8);
        out[n++] = (uint8_t)sps_len;
        memcpy(out + n, sps, sps_len);
        n += sps_len;
    }
    out[n++] = 1;
    out[n++] = 0;
    out[n++] = sizeof pps;
    memcpy(out + n, pps, sizeof pps);
    return n + sizeof pps;
}

/* Counts emulation-prevention sequences (00 00 03) in an escaped NAL unit. */
static size_t count_epb(const uint8_t *p, size_t len)
{
    size_t i, n = 0;

    for (i = 2; i < len; i++)
        if (p[i - 2] == 0 && p[i - 1] == 0 && p[i] == 3)
            n++;
    return n;
}

static size_t last_epb_count;

static int parse_avc_sps(const struct avc_sps *s, struct ls_avc_config *c, const char **why)
{
    static uint8_t sps[6000], rec[7000];
    size_t sps_len = build_avc_sps(s, sps, sizeof sps);
    size_t rec_len = build_avcc(sps, sps_len, 1, rec, sizeof rec);

    last_epb_count = count_epb(sps, sps_len);
    return avc(rec, rec_len, c, why);
}

/* ---- legacy video ------------------------------------------------------------------- */

static void test_video_legacy_avc(void **state)
{
    static const uint8_t seq[] = { 0x17, 0x00, 0x00, 0x00, 0x00, 0x01, 0x64 };
    static const uint8_t key[] = { 0x17, 0x01, 0x00, 0x00, 0x50, 0x00, 0x00 };
    static const uint8_t inter[] = { 0x27, 0x01, 0xff, 0xff, 0xfe, 0x41 };
    static const uint8_t eos[] = { 0x17, 0x02, 0x00, 0x00, 0x00 };
    static const uint8_t max_cts[] = { 0x27, 0x01, 0x7f, 0xff, 0xff };
    static const uint8_t min_cts[] = { 0x27, 0x01, 0x80, 0x00, 0x00 };
    struct ls_video_info vi;
    (void)state;

    assert_int_equal(video(seq, sizeof seq, &vi, NULL), LS_OK);
    assert_int_equal(vi.codec, LS_VIDEO_H264);
    assert_false(vi.enhanced);
    assert_int_equal(vi.fourcc, 0);
    assert_int_equal(vi.frame_type, LS_VIDEO_FRAME_KEY);
    assert_int_equal(vi.packet, LS_VPKT_SEQUENCE_HEADER);
    assert_false(vi.keyframe); /* a sequence header never starts a GOP */
    assert_int_equal(vi.header_len, 5);
    video_prefixes_fail(seq, 5);

    assert_int_equal(video(key, sizeof key, &vi, NULL), LS_OK);
    assert_int_equal(vi.packet, LS_VPKT_FRAME);
    assert_true(vi.keyframe);
    assert_int_equal(vi.composition_time, 80);
    assert_int_equal(vi.packet_type, 1);

    assert_int_equal(video(inter, sizeof inter, &vi, NULL), LS_OK);
    assert_int_equal(vi.frame_type, LS_VIDEO_FRAME_INTER);
    assert_false(vi.keyframe);
    assert_int_equal(vi.composition_time, -2);

    assert_int_equal(video(eos, sizeof eos, &vi, NULL), LS_OK);
    assert_int_equal(vi.packet, LS_VPKT_END_OF_SEQUENCE);
    assert_false(vi.keyframe);
    assert_int_equal(vi.header_len, 5);

    assert_int_equal(video(max_cts, sizeof max_cts, &vi, NULL), LS_OK);
    assert_int_equal(vi.composition_time, 8388607);
    assert_int_equal(video(min_cts, sizeof min_cts, &vi, NULL), LS_OK);
    assert_int_equal(vi.composition_time, -8388608);
}

static void test_video_legacy_hevc_id12(void **state)
{
    static const uint8_t seq[] = { 0x1c, 0x00, 0x00, 0x00, 0x00, 0x01 };
    static const uint8_t key[] = { 0x1c, 0x01, 0x00, 0x00, 0x28, 0x00, 0x00, 0x00, 0x01 };
    static const uint8_t inter[] = { 0x2c, 0x01, 0x00, 0x00, 0x00, 0x02 };
    struct ls_video_info vi;
    (void)state;

    assert_int_equal(video(seq, sizeof seq, &vi, NULL), LS_OK);
    assert_int_equal(vi.codec, LS_VIDEO_HEVC);
    assert_int_equal(vi.packet, LS_VPKT_SEQUENCE_HEADER);
    assert_false(vi.keyframe);
    assert_int_equal(vi.header_len, 5);
    assert_int_equal(video(key, sizeof key, &vi, NULL), LS_OK);
    assert_true(vi.keyframe);
    assert_int_equal(vi.composition_time, 40);
    assert_int_equal(video(inter, sizeof inter, &vi, NULL), LS_OK);
    assert_false(vi.keyframe);
    assert_int_equal(vi.packet, LS_VPKT_FRAME);
    video_prefixes_fail(key, 5);
}

static void test_video_legacy_other_codecs(void **state)
{
    static const struct {
        uint8_t b0;
        enum ls_video_codec codec;
        bool keyframe;
    } table[] = {
        { 0x12, LS_VIDEO_H263, true },     { 0x22, LS_VIDEO_H263, false },
        { 0x32, LS_VIDEO_H263, false },    /* disposable inter frame */
        { 0x42, LS_VIDEO_H263, true },     /* generated key frame */
        { 0x13, LS_VIDEO_SCREEN, true },   { 0x14, LS_VIDEO_VP6, true },
        { 0x25, LS_VIDEO_VP6A, false },    { 0x16, LS_VIDEO_SCREEN2, true },
        { 0x10, LS_VIDEO_UNKNOWN, true },  { 0x18, LS_VIDEO_UNKNOWN, true },
        { 0x1d, LS_VIDEO_UNKNOWN, true },  { 0x2f, LS_VIDEO_UNKNOWN, false },
    };
    struct ls_video_info vi;
    size_t i;
    (void)state;

    for (i = 0; i < sizeof table / sizeof table[0]; i++) {
        uint8_t p[3] = { table[i].b0, 0xaa, 0xbb };

        assert_int_equal(video(p, sizeof p, &vi, NULL), LS_OK);
        assert_int_equal(vi.codec, table[i].codec);
        assert_int_equal(vi.keyframe, table[i].keyframe);
        assert_int_equal(vi.packet, LS_VPKT_FRAME);
        assert_int_equal(vi.header_len, 1);
        assert_int_equal(vi.frame_type, table[i].b0 >> 4);
        /* the one-byte header alone is a complete (empty) frame */
        assert_int_equal(video(p, 1, &vi, NULL), LS_OK);
    }
}

static void test_video_command_frames(void **state)
{
    static const uint8_t legacy[] = { 0x57, 0x01 };
    static const uint8_t legacy_avc[] = { 0x57, 0x00 };
    static const uint8_t enhanced[] = { 0xd1, 0x00 };
    struct ls_video_info vi;
    (void)state;

    assert_int_equal(video(legacy, sizeof legacy, &vi, NULL), LS_OK);
    assert_int_equal(vi.packet, LS_VPKT_COMMAND);
    assert_int_equal(vi.codec, LS_VIDEO_H264);
    assert_int_equal(vi.command, 1);
    assert_false(vi.keyframe);
    assert_int_equal(vi.header_len, 2);
    video_prefixes_fail(legacy, 2);
    assert_int_equal(video(legacy_avc, sizeof legacy_avc, &vi, NULL), LS_OK);
    assert_int_equal(vi.command, 0);

    assert_int_equal(video(enhanced, sizeof enhanced, &vi, NULL), LS_OK);
    assert_true(vi.enhanced);
    assert_int_equal(vi.packet, LS_VPKT_COMMAND);
    assert_int_equal(vi.codec, LS_VIDEO_NONE);
    assert_int_equal(vi.fourcc, 0);
    assert_int_equal(vi.header_len, 2);
    video_prefixes_fail(enhanced, 2);
}

/* ---- enhanced video ----------------------------------------------------------------- */

static void test_video_enhanced_packets(void **state)
{
    static const struct {
        uint8_t p[16];
        size_t len;
        enum ls_video_codec codec;
        uint32_t fourcc;
        enum ls_video_packet packet;
        bool keyframe;
        int32_t cts;
        size_t header_len;
    } table[] = {
        /* hvc1: SequenceStart, CodedFrames (CTS), CodedFramesX (no CTS), inter, end */
        { { 0x90, 'h', 'v', 'c', '1', 0x01, 0x01 }, 7, LS_VIDEO_HEVC,
          LS_FOURCC('h', 'v', 'c', '1'), LS_VPKT_SEQUENCE_HEADER, false, 0, 5 },
        { { 0x91, 'h', 'v', 'c', '1', 0x00, 0x00, 0x42, 0, 0, 0, 1 }, 12, LS_VIDEO_HEVC,
          LS_FOURCC('h', 'v', 'c', '1'), LS_VPKT_FRAME, true, 66, 8 },
        { { 0x93, 'h', 'v', 'c', '1', 0, 0, 0, 1 }, 9, LS_VIDEO_HEVC,
          LS_FOURCC('h', 'v', 'c', '1'), LS_VPKT_FRAME, true, 0, 5 },
        { { 0xa3, 'h', 'v', 'c', '1', 0, 0, 0, 1 }, 9, LS_VIDEO_HEVC,
          LS_FOURCC('h', 'v', 'c', '1'), LS_VPKT_FRAME, false, 0, 5 },
        { { 0xa1, 'h', 'v', 'c', '1', 0xff, 0xff, 0xd8 }, 8, LS_VIDEO_HEVC,
          LS_FOURCC('h', 'v', 'c', '1'), LS_VPKT_FRAME, false, -40, 8 },
        { { 0x92, 'h', 'v', 'c', '1' }, 5, LS_VIDEO_HEVC, LS_FOURCC('h', 'v', 'c', '1'),
          LS_VPKT_END_OF_SEQUENCE, false, 0, 5 },
        /* av01: no composition time even for CodedFrames */
        { { 0x90, 'a', 'v', '0', '1', 0x81, 0x00, 0x0c }, 8, LS_VIDEO_AV1,
          LS_FOURCC('a', 'v', '0', '1'), LS_VPKT_SEQUENCE_HEADER, false, 0, 5 },
        { { 0x91, 'a', 'v', '0', '1', 0x12, 0x00, 0x0a }, 8, LS_VIDEO_AV1,
          LS_FOURCC('a', 'v', '0', '1'), LS_VPKT_FRAME, true, 0, 5 },
        { { 0xa1, 'a', 'v', '0', '1', 0x12, 0x00 }, 7, LS_VIDEO_AV1,
          LS_FOURCC('a', 'v', '0', '1'), LS_VPKT_FRAME, false, 0, 5 },
        { { 0x95, 'a', 'v', '0', '1', 0x80 }, 6, LS_VIDEO_AV1, LS_FOURCC('a', 'v', '0', '1'),
          LS_VPKT_SEQUENCE_HEADER, false, 0, 5 }, /* MPEG2TSSequenceStart */
        /* vp09 */
        { { 0x90, 'v', 'p', '0', '9', 0x01, 0x00 }, 7, LS_VIDEO_VP9,
          LS_FOURCC('v', 'p', '0', '9'), LS_VPKT_SEQUENCE_HEADER, false, 0, 5 },
        { { 0x93, 'v', 'p', '0', '9', 0x82 }, 6, LS_VIDEO_VP9, LS_FOURCC('v', 'p', '0', '9'),
          LS_VPKT_FRAME, true, 0, 5 },
        { { 0xa1, 'v', 'p', '0', '9', 0x86 }, 6, LS_VIDEO_VP9, LS_FOURCC('v', 'p', '0', '9'),
          LS_VPKT_FRAME, false, 0, 5 },
        /* avc1 through the enhanced header: CTS like legacy AVC */
        { { 0x91, 'a', 'v', 'c', '1', 0x00, 0x00, 0x28, 0x00 }, 9, LS_VIDEO_H264,
          LS_FOURCC('a', 'v', 'c', '1'), LS_VPKT_FRAME, true, 40, 8 },
        { { 0x90, 'a', 'v', 'c', '1', 0x01 }, 6, LS_VIDEO_H264, LS_FOURCC('a', 'v', 'c', '1'),
          LS_VPKT_SEQUENCE_HEADER, false, 0, 5 },
        /* unknown FourCC (vp08 has no enum value): reported, not refused */
        { { 0x91, 'v', 'p', '0', '8', 0x00 }, 6, LS_VIDEO_UNKNOWN,
          LS_FOURCC('v', 'p', '0', '8'), LS_VPKT_FRAME, true, 0, 5 },
        /* Metadata: FrameType ignored (here 0, which is otherwise reserved) */
        { { 0x84, 'h', 'v', 'c', '1', 0x02, 0x00 }, 7, LS_VIDEO_HEVC,
          LS_FOURCC('h', 'v', 'c', '1'), LS_VPKT_METADATA, false, 0, 5 },
        { { 0xf4, 'a', 'v', '0', '1', 0x02 }, 6, LS_VIDEO_AV1, LS_FOURCC('a', 'v', '0', '1'),
          LS_VPKT_METADATA, false, 0, 5 },
        /* generated key frame counts as a key frame */
        { { 0xc3, 'h', 'v', 'c', '1', 0x00 }, 6, LS_VIDEO_HEVC, LS_FOURCC('h', 'v', 'c', '1'),
          LS_VPKT_FRAME, true, 0, 5 },
    };
    struct ls_video_info vi;
    size_t i;
    (void)state;

    for (i = 0; i < sizeof table / sizeof table[0]; i++) {
        const char *why = NULL;

        assert_int_equal(video(table[i].p, table[i].len, &vi, &why), LS_OK);
        assert_true(vi.enhanced);
        assert_int_equal(vi.codec, table[i].codec);
        assert_int_equal(vi.fourcc, table[i].fourcc);
        assert_int_equal(vi.packet, table[i].packet);
        assert_int_equal(vi.keyframe, table[i].keyframe);
        assert_int_equal(vi.composition_time, table[i].cts);
        assert_int_equal(vi.header_len, table[i].header_len);
        assert_int_equal(vi.packet_type, table[i].p[0] & 0x0f);
        assert_false(vi.multitrack);
        if (table[i].packet == LS_VPKT_METADATA)
            assert_int_equal(vi.frame_type, 0);
        else
            assert_int_equal(vi.frame_type, (table[i].p[0] >> 4) & 7);
        video_prefixes_fail(table[i].p, table[i].header_len);
    }
}

static void test_video_enhanced_modex(void **state)
{
    /* TimestampOffsetNano (type 0, 3 bytes) then CodedFrames of hvc1 with CTS 2 */
    static const uint8_t nano[] = { 0x97, 0x02, 0x0f, 0x42, 0x3f, 0x01, 'h', 'v', 'c', '1',
                                    0x00, 0x00, 0x02, 0xaa };
    /* Unknown modifier (type 5) with a 16-bit size (0xff escape: 0x0100 + 1 = 257 bytes),
     * chained to a TimestampOffsetNano of the wrong size (ignored), then CodedFramesX. */
    static uint8_t chain[2 + 3 + 257 + 1 + 1 + 4 + 1 + 4 + 2];
    struct ls_video_info vi;
    size_t n = 0;
    (void)state;

    assert_int_equal(video(nano, sizeof nano, &vi, NULL), LS_OK);
    assert_int_equal(vi.timestamp_offset_ns, 999999);
    assert_int_equal(vi.codec, LS_VIDEO_HEVC);
    assert_int_equal(vi.packet, LS_VPKT_FRAME);
    assert_int_equal(vi.packet_type, LS_EXVIDEO_CODED_FRAMES);
    assert_true(vi.keyframe);
    assert_int_equal(vi.composition_time, 2);
    assert_int_equal(vi.header_len, 13);
    video_prefixes_fail(nano, 13);
    {
        /* the same 3 bytes under modifier type 1: not a timestamp offset */
        uint8_t other[sizeof nano];

        memcpy(other, nano, sizeof nano);
        other[5] = 0x11;
        assert_int_equal(video(other, sizeof other, &vi, NULL), LS_OK);
        assert_int_equal(vi.timestamp_offset_ns, 0);
        assert_int_equal(vi.composition_time, 2);
    }

    chain[n++] = 0xa7;           /* inter frame, ModEx */
    chain[n++] = 0xff;           /* size escape */
    chain[n++] = 0x01;
    chain[n++] = 0x00;           /* 0x0100 + 1 = 257 */
    memset(chain + n, 0x5a, 257);
    n += 257;
    chain[n++] = 0x57;           /* modifier type 5, next packet type ModEx again */
    chain[n++] = 0x03;           /* 4 bytes */
    memset(chain + n, 0x01, 4);
    n += 4;
    chain[n++] = 0x03;           /* TimestampOffsetNano of size 4: ignored; CodedFramesX */
    memcpy(chain + n, "av01", 4);
    n += 4;
    chain[n++] = 0x12;
    chain[n++] = 0x00;
    assert_true(n <= sizeof chain);
    assert_int_equal(video(chain, n, &vi, NULL), LS_OK);
    assert_int_equal(vi.timestamp_offset_ns, 0);
    assert_int_equal(vi.codec, LS_VIDEO_AV1);
    assert_int_equal(vi.packet, LS_VPKT_FRAME);
    assert_false(vi.keyframe);
    assert_int_equal(vi.header_len, n - 2);
    video_prefixes_fail(chain, n - 2);
}

static void test_video_enhanced_multitrack(void **state)
{
    /* OneTrack, CodedFrames, shared hvc1, then track 0 */
    static const uint8_t one[] = { 0x96, 0x01, 'h', 'v', 'c', '1', 0x00, 0, 0, 0, 0xaa };
    /* ManyTracks, SequenceStart, shared av01, then track 0 size ... */
    static const uint8_t many[] = { 0x96, 0x10, 'a', 'v', '0', '1', 0x00, 0, 0, 1, 0x81 };
    /* ManyTracksManyCodecs, CodedFramesX: no shared FourCC */
    static const uint8_t manyc[] = { 0xa6, 0x23, 'v', 'p', '0', '9', 0x00, 0, 0, 1, 0x86 };
    /* ModEx before Multitrack is allowed */
    static const uint8_t modex[] = { 0x97, 0x00, 0x00, 0x06, 0x01, 'h', 'v', 'c', '1', 0x00 };
    struct ls_video_info vi;
    (void)state;

    assert_int_equal(video(one, sizeof one, &vi, NULL), LS_OK);
    assert_true(vi.multitrack);
    assert_int_equal(vi.multitrack_type, 0);
    assert_int_equal(vi.codec, LS_VIDEO_HEVC);
    assert_int_equal(vi.packet, LS_VPKT_FRAME);
    assert_int_equal(vi.packet_type, LS_EXVIDEO_CODED_FRAMES);
    assert_true(vi.keyframe);
    assert_int_equal(vi.composition_time, 0); /* per track, not parsed */
    assert_int_equal(vi.header_len, 6);
    video_prefixes_fail(one, 6);

    assert_int_equal(video(many, sizeof many, &vi, NULL), LS_OK);
    assert_int_equal(vi.multitrack_type, 1);
    assert_int_equal(vi.codec, LS_VIDEO_AV1);
    assert_int_equal(vi.packet, LS_VPKT_SEQUENCE_HEADER);
    assert_false(vi.keyframe);

    assert_int_equal(video(manyc, sizeof manyc, &vi, NULL), LS_OK);
    assert_int_equal(vi.multitrack_type, 2);
    assert_int_equal(vi.codec, LS_VIDEO_UNKNOWN);
    assert_int_equal(vi.fourcc, 0);
    assert_int_equal(vi.packet, LS_VPKT_FRAME);
    assert_false(vi.keyframe);
    assert_int_equal(vi.header_len, 2);
    video_prefixes_fail(manyc, 2);

    assert_int_equal(video(modex, sizeof modex, &vi, NULL), LS_OK);
    assert_true(vi.multitrack);
    assert_int_equal(vi.codec, LS_VIDEO_HEVC);
    assert_int_equal(vi.header_len, 9);
}

static void test_video_malformed_table(void **state)
{
    static const struct {
        uint8_t p[12];
        size_t len;
        int rc;
    } table[] = {
        { { 0 }, 0, LS_EPROTO },                                 /* empty */
        { { 0x07, 0, 0, 0, 0 }, 5, LS_EPROTO },                  /* FrameType 0 */
        { { 0x67, 1, 0, 0, 0 }, 5, LS_EPROTO },                  /* FrameType 6 */
        { { 0x72 }, 1, LS_EPROTO },                              /* FrameType 7 */
        { { 0x17, 0x03, 0, 0, 0 }, 5, LS_EPROTO },               /* AVCPacketType 3 */
        { { 0x1c, 0xff, 0, 0, 0 }, 5, LS_EPROTO },               /* HEVC packet type 255 */
        { { 0x81, 'h', 'v', 'c', '1', 0, 0, 0 }, 8, LS_EPROTO }, /* enhanced FrameType 0 */
        { { 0xe1, 'h', 'v', 'c', '1', 0, 0, 0 }, 8, LS_EPROTO }, /* enhanced FrameType 6 */
        { { 0x98, 'h', 'v', 'c', '1' }, 5, LS_EUNSUPPORTED },    /* VideoPacketType 8 */
        { { 0x9f, 'h', 'v', 'c', '1' }, 5, LS_EUNSUPPORTED },    /* VideoPacketType 15 */
        { { 0x88 }, 1, LS_EUNSUPPORTED },              /* reserved wins over FrameType 0 */
        { { 0x97, 0x00, 0x00, 0x08 }, 4, LS_EUNSUPPORTED },      /* ModEx -> reserved */
        { { 0x97 }, 1, LS_EPROTO },                              /* ModEx: no size */
        { { 0x97, 0x02, 0, 0 }, 4, LS_EPROTO },                  /* ModEx: short data */
        { { 0x97, 0x02, 0, 0, 0 }, 5, LS_EPROTO },               /* ModEx: no type byte */
        { { 0x97, 0xff, 0x01 }, 3, LS_EPROTO },                  /* ModEx: short UI16 */
        { { 0x97, 0xff, 0x00, 0x05, 0, 0 }, 6, LS_EPROTO },      /* ModEx: 6 of 6 missing */
        { { 0x96 }, 1, LS_EPROTO },                              /* Multitrack: no byte */
        { { 0x96, 0x31, 'h', 'v', 'c', '1' }, 6, LS_EUNSUPPORTED }, /* AvMultitrackType 3 */
        { { 0x96, 0x06, 'h', 'v', 'c', '1' }, 6, LS_EPROTO },    /* nested Multitrack */
        { { 0x96, 0x07, 'h', 'v', 'c', '1' }, 6, LS_EUNSUPPORTED }, /* ModEx in multitrack */
        { { 0x96, 0x09, 'h', 'v', 'c', '1' }, 6, LS_EUNSUPPORTED }, /* reserved inside */
        { { 0x96, 0x01, 'h', 'v' }, 4, LS_EPROTO },              /* short shared FourCC */
        { { 0x91, 'h', 'v', 'c' }, 4, LS_EPROTO },               /* short FourCC */
        { { 0x91, 'h', 'v', 'c', '1', 0, 0 }, 7, LS_EPROTO },    /* short CTS */
        { { 0x91, 'a', 'v', 'c', '1', 0 }, 6, LS_EPROTO },       /* short CTS (avc1) */
        { { 0xd1 }, 1, LS_EPROTO },                              /* command: no byte */
        { { 0x57 }, 1, LS_EPROTO },                              /* legacy command */
        { { 0x17, 0x01, 0x00, 0x00 }, 4, LS_EPROTO },            /* AVC: short CTS */
    };
    struct ls_video_info vi;
    size_t i;
    (void)state;

    for (i = 0; i < sizeof table / sizeof table[0]; i++) {
        const char *why = NULL;

        if (video(table[i].p, table[i].len, &vi, &why) != table[i].rc)
            fail_msg("video malformed vector %zu: expected %d", i, table[i].rc);
        assert_non_null(why);
    }
}

/* ---- audio -------------------------------------------------------------------------- */

static void test_audio_legacy_table(void **state)
{
    static const struct {
        uint8_t b0;
        enum ls_audio_codec codec;
        unsigned rate, bits, channels;
    } table[] = {
        { 0x0f, LS_AUDIO_PCM, 44100, 16, 2 },      { 0x10, LS_AUDIO_ADPCM, 5512, 8, 1 },
        { 0x2f, LS_AUDIO_MP3, 44100, 16, 2 },      { 0x26, LS_AUDIO_MP3, 11025, 16, 1 },
        { 0x29, LS_AUDIO_MP3, 22050, 8, 2 },       { 0x3e, LS_AUDIO_PCM_LE, 44100, 16, 1 },
        { 0x4f, LS_AUDIO_NELLYMOSER, 16000, 16, 1 }, { 0x5f, LS_AUDIO_NELLYMOSER, 8000, 16, 1 },
        { 0x6d, LS_AUDIO_NELLYMOSER, 44100, 8, 2 }, { 0x72, LS_AUDIO_G711A, 8000, 16, 1 },
        { 0x82, LS_AUDIO_G711U, 8000, 16, 1 },     { 0xb2, LS_AUDIO_SPEEX, 16000, 16, 1 },
        { 0xc0, LS_AUDIO_UNKNOWN, 5512, 8, 1 },    { 0xd0, LS_AUDIO_UNKNOWN, 5512, 8, 1 },
        { 0xe2, LS_AUDIO_MP3, 8000, 16, 1 },       { 0xf3, LS_AUDIO_UNKNOWN, 5512, 16, 2 },
    };
    struct ls_audio_info ai;
    size_t i;
    (void)state;

    for (i = 0; i < sizeof table / sizeof table[0]; i++) {
        uint8_t p[2] = { table[i].b0, 0x55 };

        assert_int_equal(audio(p, sizeof p, &ai, NULL), LS_OK);
        assert_int_equal(ai.codec, table[i].codec);
        assert_int_equal(ai.sound_format, table[i].b0 >> 4);
        assert_int_equal(ai.rate_hz, table[i].rate);
        assert_int_equal(ai.bits, table[i].bits);
        assert_int_equal(ai.channels, table[i].channels);
        assert_int_equal(ai.header_len, 1);
        assert_false(ai.enhanced);
        assert_false(ai.sequence_header);
        assert_int_equal(ai.fourcc, 0);
    }
}

static void test_audio_aac(void **state)
{
    static const uint8_t seq[] = { 0xaf, 0x00, 0x12, 0x08 };
    static const uint8_t raw[] = { 0xaf, 0x01, 0x21, 0x10 };
    static const uint8_t bad[] = { 0xaf, 0x02, 0x00 };
    struct ls_audio_info ai;
    const char *why = NULL;
    (void)state;

    assert_int_equal(audio(seq, sizeof seq, &ai, NULL), LS_OK);
    assert_int_equal(ai.codec, LS_AUDIO_AAC);
    assert_true(ai.sequence_header);
    assert_int_equal(ai.header_len, 2);
    assert_int_equal(ai.rate_hz, 44100);
    assert_int_equal(ai.channels, 2);
    audio_prefixes_fail(seq, 2);
    assert_int_equal(audio(raw, sizeof raw, &ai, NULL), LS_OK);
    assert_false(ai.sequence_header);
    assert_int_equal(ai.packet_type, 1);
    assert_int_equal(audio(bad, sizeof bad, &ai, &why), LS_EPROTO);
    assert_non_null(why);
}

static void test_audio_enhanced(void **state)
{
    static const struct {
        uint8_t p[16];
        size_t len;
        enum ls_audio_codec codec;
        bool seq;
        size_t header_len;
        bool multitrack;
    } table[] = {
        { { 0x90, 'O', 'p', 'u', 's', 'O', 'p', 'u', 's', 'H' }, 10, LS_AUDIO_OPUS, true, 5,
          false },
        { { 0x91, 'O', 'p', 'u', 's', 0xfc }, 6, LS_AUDIO_OPUS, false, 5, false },
        { { 0x90, 'f', 'L', 'a', 'C', 0x00 }, 6, LS_AUDIO_FLAC, true, 5, false },
        { { 0x91, 'a', 'c', '-', '3', 0x0b, 0x77 }, 7, LS_AUDIO_AC3, false, 5, false },
        { { 0x91, 'e', 'c', '-', '3', 0x0b, 0x77 }, 7, LS_AUDIO_EAC3, false, 5, false },
        { { 0x90, 'm', 'p', '4', 'a', 0x11, 0x90 }, 7, LS_AUDIO_AAC, true, 5, false },
        { { 0x91, '.', 'm', 'p', '3', 0xff, 0xfb }, 7, LS_AUDIO_MP3, false, 5, false },
        { { 0x91, 'x', 'y', 'z', 'w' }, 5, LS_AUDIO_UNKNOWN, false, 5, false },
        { { 0x92, 'O', 'p', 'u', 's' }, 5, LS_AUDIO_OPUS, false, 5, false },
        { { 0x94, 'O', 'p', 'u', 's', 0x01, 0x02 }, 7, LS_AUDIO_OPUS, false, 5, false },
        /* Multitrack OneTrack CodedFrames, shared Opus */
        { { 0x95, 0x01, 'O', 'p', 'u', 's', 0x00, 0xfc }, 8, LS_AUDIO_OPUS, false, 6, true },
        /* Multitrack ManyTracksManyCodecs SequenceStart: no shared FourCC */
        { { 0x95, 0x20, 'O', 'p', 'u', 's', 0x00 }, 7, LS_AUDIO_UNKNOWN, true, 2, true },
        /* ModEx TimestampOffsetNano then CodedFrames */
        { { 0x97, 0x02, 0x00, 0x01, 0x00, 0x01, 'f', 'L', 'a', 'C', 0xff }, 11, LS_AUDIO_FLAC,
          false, 10, false },
    };
    struct ls_audio_info ai;
    size_t i;
    (void)state;

    for (i = 0; i < sizeof table / sizeof table[0]; i++) {
        assert_int_equal(audio(table[i].p, table[i].len, &ai, NULL), LS_OK);
        assert_true(ai.enhanced);
        assert_int_equal(ai.sound_format, LS_AUDIO_FORMAT_EX_HEADER);
        assert_int_equal(ai.codec, table[i].codec);
        assert_int_equal(ai.sequence_header, table[i].seq);
        assert_int_equal(ai.header_len, table[i].header_len);
        assert_int_equal(ai.multitrack, table[i].multitrack);
        assert_int_equal(ai.rate_hz, 0);
        assert_int_equal(ai.channels, 0);
        audio_prefixes_fail(table[i].p, table[i].header_len);
    }
    assert_int_equal(audio(table[12].p, table[12].len, &ai, NULL), LS_OK);
    assert_int_equal(ai.timestamp_offset_ns, 256);
    assert_int_equal(ai.fourcc, LS_FOURCC('f', 'L', 'a', 'C'));
    assert_int_equal(ai.packet_type, LS_EXAUDIO_CODED_FRAMES);
}

static void test_audio_malformed_table(void **state)
{
    static const struct {
        uint8_t p[8];
        size_t len;
        int rc;
    } table[] = {
        { { 0 }, 0, LS_EPROTO },
        { { 0xa0 }, 1, LS_EPROTO },                               /* AAC: no packet type */
        { { 0xaf, 0x05 }, 2, LS_EPROTO },                         /* AACPacketType 5 */
        { { 0x93, 'O', 'p', 'u', 's' }, 5, LS_EUNSUPPORTED },     /* AudioPacketType 3 */
        { { 0x96, 'O', 'p', 'u', 's' }, 5, LS_EUNSUPPORTED },     /* 6 */
        { { 0x9f, 'O', 'p', 'u', 's' }, 5, LS_EUNSUPPORTED },     /* 15 */
        { { 0x90, 'O', 'p' }, 3, LS_EPROTO },                     /* short FourCC */
        { { 0x95 }, 1, LS_EPROTO },                               /* Multitrack: no byte */
        { { 0x95, 0x35, 'O', 'p', 'u', 's' }, 6, LS_EUNSUPPORTED }, /* AvMultitrackType 3 */
        { { 0x95, 0x05, 'O', 'p', 'u', 's' }, 6, LS_EPROTO },     /* nested Multitrack */
        { { 0x95, 0x07, 'O', 'p', 'u', 's' }, 6, LS_EUNSUPPORTED }, /* ModEx inside */
        { { 0x95, 0x01, 'O' }, 3, LS_EPROTO },                    /* short shared FourCC */
        { { 0x97, 0x00 }, 2, LS_EPROTO },                         /* ModEx: no data */
        { { 0x97, 0x00, 0x00, 0x03 }, 4, LS_EUNSUPPORTED },       /* ModEx -> reserved */
    };
    struct ls_audio_info ai;
    size_t i;
    (void)state;

    for (i = 0; i < sizeof table / sizeof table[0]; i++) {
        const char *why = NULL;

        if (audio(table[i].p, table[i].len, &ai, &why) != table[i].rc)
            fail_msg("audio malformed vector %zu: expected %d", i, table[i].rc);
        assert_non_null(why);
    }
}

static void test_codec_names(void **state)
{
    (void)state;
    assert_string_equal(ls_codec_video_name(LS_VIDEO_NONE), "none");
    assert_string_equal(ls_codec_video_name(LS_VIDEO_H263), "h263");
    assert_string_equal(ls_codec_video_name(LS_VIDEO_SCREEN), "screen");
    assert_string_equal(ls_codec_video_name(LS_VIDEO_VP6), "vp6");
    assert_string_equal(ls_codec_video_name(LS_VIDEO_VP6A), "vp6a");
    assert_string_equal(ls_codec_video_name(LS_VIDEO_SCREEN2), "screen2");
    assert_string_equal(ls_codec_video_name(LS_VIDEO_H264), "h264");
    assert_string_equal(ls_codec_video_name(LS_VIDEO_HEVC), "hevc");
    assert_string_equal(ls_codec_video_name(LS_VIDEO_AV1), "av1");
    assert_string_equal(ls_codec_video_name(LS_VIDEO_VP9), "vp9");
    assert_string_equal(ls_codec_video_name(LS_VIDEO_UNKNOWN), "unknown");
    assert_string_equal(ls_codec_video_name((enum ls_video_codec)99), "unknown");
    assert_string_equal(ls_codec_audio_name(LS_AUDIO_NONE), "none");
    assert_string_equal(ls_codec_audio_name(LS_AUDIO_PCM), "pcm");
    assert_string_equal(ls_codec_audio_name(LS_AUDIO_ADPCM), "adpcm");
    assert_string_equal(ls_codec_audio_name(LS_AUDIO_MP3), "mp3");
    assert_string_equal(ls_codec_audio_name(LS_AUDIO_PCM_LE), "pcm_le");
    assert_string_equal(ls_codec_audio_name(LS_AUDIO_NELLYMOSER), "nellymoser");
    assert_string_equal(ls_codec_audio_name(LS_AUDIO_G711A), "g711a");
    assert_string_equal(ls_codec_audio_name(LS_AUDIO_G711U), "g711u");
    assert_string_equal(ls_codec_audio_name(LS_AUDIO_AAC), "aac");
    assert_string_equal(ls_codec_audio_name(LS_AUDIO_SPEEX), "speex");
    assert_string_equal(ls_codec_audio_name(LS_AUDIO_OPUS), "opus");
    assert_string_equal(ls_codec_audio_name(LS_AUDIO_FLAC), "flac");
    assert_string_equal(ls_codec_audio_name(LS_AUDIO_AC3), "ac3");
    assert_string_equal(ls_codec_audio_name(LS_AUDIO_EAC3), "eac3");
    assert_string_equal(ls_codec_audio_name(LS_AUDIO_UNKNOWN), "unknown");
    assert_string_equal(ls_codec_audio_name((enum ls_audio_codec)-1), "unknown");
}

/* ---- the ffmpeg fixture: every media tag through the inspectors ---------------------- */

static void test_fixture_payloads(void **state)
{
    size_t len, pos = 13, vtags = 0, vkeys = 0, vseq = 0, veos = 0, atags = 0, aseq = 0;
    uint8_t *file = input_read_file("test/fixtures/ffmpeg_h264_aac.flv", &len);
    bool got_avcc = false, got_asc = false;
    (void)state;

    /* Walks the tags by hand so this test depends on codec.c only. */
    while (pos + 11 <= len) {
        uint8_t type = file[pos] & 0x1f;
        size_t size = (size_t)file[pos + 1] << 16 | (size_t)file[pos + 2] << 8 | file[pos + 3];
        const uint8_t *p = file + pos + 11;

        assert_true(pos + 11 + size + 4 <= len);
        if (type == 9) {
            struct ls_video_info vi;

            vtags++;
            assert_int_equal(video(p, size, &vi, NULL), LS_OK);
            assert_int_equal(vi.codec, LS_VIDEO_H264);
            vkeys += vi.keyframe;
            veos += vi.packet == LS_VPKT_END_OF_SEQUENCE;
            if (vi.packet == LS_VPKT_SEQUENCE_HEADER) {
                struct ls_avc_config c;

                vseq++;
                assert_int_equal(avc(p + vi.header_len, size - vi.header_len, &c, NULL), LS_OK);
                assert_int_equal(c.width, 320);
                assert_int_equal(c.height, 240);
                assert_int_equal(c.profile, 100);
                assert_int_equal(c.level, 13);
                assert_int_equal(c.nal_length_size, 4);
                assert_int_equal(c.sps_count, 1);
                assert_int_equal(c.pps_count, 1);
                assert_int_equal(c.chroma_format_idc, 1);
                assert_int_equal(c.bit_depth_luma, 8);
                assert_true(c.frame_mbs_only);
                got_avcc = true;
            }
        } else if (type == 8) {
            struct ls_audio_info ai;

            atags++;
            assert_int_equal(audio(p, size, &ai, NULL), LS_OK);
            assert_int_equal(ai.codec, LS_AUDIO_AAC);
            assert_int_equal(ai.rate_hz, 44100);
            if (ai.sequence_header) {
                struct ls_aac_config c;

                aseq++;
                assert_int_equal(aac(p + 2, size - 2, &c, NULL), LS_OK);
                assert_int_equal(c.object_type, 2);
                assert_int_equal(c.rate_hz, 44100);
                assert_int_equal(c.channels, 1);
                got_asc = true;
            }
        }
        pos += 11 + size + 4;
    }
    assert_int_equal(pos, len);
    assert_true(got_avcc && got_asc);
    /* 1 sequence header + 50 coded pictures + ffmpeg's end-of-sequence tag */
    assert_int_equal(vtags, 52);
    assert_int_equal(vseq, 1);
    assert_int_equal(veos, 1);
    assert_int_equal(vkeys, 2);
    assert_int_equal(atags, 89);
    assert_int_equal(aseq, 1);
    free(file);
}

/* ---- AVC configuration -------------------------------------------------------------- */

/* Prefixes of a record fail with EPROTO up to `needed` bytes, then parse like the whole. */
static void avc_prefixes(const uint8_t *rec, size_t len, size_t needed)
{
    struct ls_avc_config whole, part;
    size_t cut;

    assert_int_equal(avc(rec, len, &whole, NULL), LS_OK);
    for (cut = 0; cut < len; cut++) {
        const char *why = NULL;
        int rc = avc(rec, cut, &part, &why);

        if (cut < needed) {
            assert_int_equal(rc, LS_EPROTO);
            assert_non_null(why);
        } else {
            assert_int_equal(rc, LS_OK);
            assert_memory_equal(&part, &whole, sizeof whole);
        }
    }
}

static void test_avc_real_records(void **state)
{
    static const struct {
        const char *path;
        uint8_t profile, chroma;
        bool frame_mbs_only;
        uint32_t width, height;
    } table[] = {
        { "test/unit/data/codec_avc_high444_interlaced_cqm_100x60.avcc", 244, 3, false, 100, 60 },
        { "test/unit/data/codec_avc_gray_100x60.avcc", 100, 0, true, 100, 60 },
    };
    size_t i;
    (void)state;

    for (i = 0; i < sizeof table / sizeof table[0]; i++) {
        struct ls_avc_config c;
        size_t len, sps_len;
        uint8_t *rec = input_read_file(table[i].path, &len);

        assert_int_equal(avc(rec, len, &c, NULL), LS_OK);
        assert_int_equal(c.profile, table[i].profile);
        assert_int_equal(c.chroma_format_idc, table[i].chroma);
        assert_int_equal(c.frame_mbs_only, table[i].frame_mbs_only);
        assert_int_equal(c.width, table[i].width);
        assert_int_equal(c.height, table[i].height);
        assert_int_equal(c.sps_count, 1);
        assert_int_equal(c.pps_count, 1);
        sps_len = (size_t)rec[6] << 8 | rec[7];
        /* version..SPS, PPS count, PPS length + PPS; trailing high-profile bytes optional */
        avc_prefixes(rec, len, 8 + sps_len + 1 + 2 + ((size_t)rec[9 + sps_len] << 8 |
                                                       rec[10 + sps_len]));
        free(rec);
    }
}

static void test_avc_hand_built_sps(void **state)
{
    struct ls_avc_config c;
    struct avc_sps s;
    const char *why = NULL;
    (void)state;

    /* Baseline, POC type 1 with a full cycle of large offsets (forces emulation
     * prevention bytes into the NAL unit), frame cropping to 1918x1080. */
    s = avc_sps_default();
    s.poc_type = 1;
    s.poc_cycle = 255;
    s.poc_offset = -((int64_t)1 << 30);
    s.w_mbs_m1 = 119;
    s.h_units_m1 = 67;
    s.crop = true;
    s.crop_r = 1;
    s.crop_b = 4;
    assert_int_equal(parse_avc_sps(&s, &c, &why), LS_OK);
    assert_true(last_epb_count > 100); /* the parser had to remove them to get here */
    assert_int_equal(c.width, 1918);
    assert_int_equal(c.height, 1080);
    assert_int_equal(c.chroma_format_idc, 1);
    assert_int_equal(c.bit_depth_luma, 8);

    /* POC type 2, interlaced 4:2:0: crop unit 2x4 */
    s = avc_sps_default();
    s.poc_type = 2;
    s.frame_mbs_only = false;
    s.h_units_m1 = 33; /* 34 * 32 = 1088 */
    s.crop = true;
    s.crop_b = 2;
    s.crop_l = 1;
    assert_int_equal(parse_avc_sps(&s, &c, NULL), LS_OK);
    assert_int_equal(c.width, 318);
    assert_int_equal(c.height, 1080);
    assert_false(c.frame_mbs_only);

    /* High 4:2:2 10-bit with every scaling list written out in full */
    s = avc_sps_default();
    s.profile = 122;
    s.chroma = 2;
    s.bd_luma_m8 = 2;
    s.bd_chroma_m8 = 2;
    s.scaling = true;
    s.crop = true;
    s.crop_r = 3; /* unit x 2 */
    s.crop_b = 3; /* unit y 1 for 4:2:2 */
    assert_int_equal(parse_avc_sps(&s, &c, NULL), LS_OK);
    assert_int_equal(c.chroma_format_idc, 2);
    assert_int_equal(c.bit_depth_luma, 10);
    assert_int_equal(c.width, 314);
    assert_int_equal(c.height, 237);

    /* High 4:4:4: twelve full lists; separate colour planes make the crop unit 1 */
    s = avc_sps_default();
    s.profile = 244;
    s.chroma = 3;
    s.separate_planes = true;
    s.scaling = true;
    s.scaling_delta = -128;
    s.crop = true;
    s.crop_r = 3;
    s.crop_b = 3;
    assert_int_equal(parse_avc_sps(&s, &c, NULL), LS_OK);
    assert_int_equal(c.width, 317);
    assert_int_equal(c.height, 237);
    s.separate_planes = false;
    s.scaling_delta = 127;
    assert_int_equal(parse_avc_sps(&s, &c, NULL), LS_OK);
    assert_int_equal(c.width, 317);

    /* High with "use default" lists; monochrome: crop unit 1 */
    s = avc_sps_default();
    s.profile = 100;
    s.chroma = 0;
    s.scaling_default = true;
    s.crop = true;
    s.crop_r = 5;
    s.crop_b = 5;
    assert_int_equal(parse_avc_sps(&s, &c, NULL), LS_OK);
    assert_int_equal(c.width, 315);
    assert_int_equal(c.height, 235);

    /* The largest accepted size, and the SPS cut right after the cropping fields */
    s = avc_sps_default();
    s.w_mbs_m1 = 4095;
    s.h_units_m1 = 4095;
    s.crop = true;
    s.crop_r = 1; /* 65536 - 2 */
    s.crop_b = 1;
    s.no_trailing = true;
    assert_int_equal(parse_avc_sps(&s, &c, NULL), LS_OK);
    assert_int_equal(c.width, 65534);
    assert_int_equal(c.height, 65534);
}

static void test_avc_malformed(void **state)
{
    struct ls_avc_config c;
    struct avc_sps s;
    const char *why;
    uint8_t rec[64];
    size_t i;
    (void)state;

    /* each SPS field pushed past its bound */
    for (i = 0; i < 12; i++) {
        s = avc_sps_default();
        s.profile = 100;
        switch (i) {
        case 0: s.chroma = 4; break;
        case 1: s.bd_luma_m8 = 7; break;
        case 2: s.bd_chroma_m8 = 7; break;
        case 3: s.log2_frame_m4 = 13; break;
        case 4: s.log2_poc_m4 = 13; break;
        case 5: s.poc_type = 3; break;
        case 6: s.poc_type = 1; s.poc_cycle = 256; break;
        case 7: s.sps_id = 32; break;
        case 8: s.scaling = true; s.scaling_delta = 128; break;
        case 9: s.w_mbs_m1 = 4096; break; /* 65552 wide */
        case 10: s.crop = true; s.crop_l = 160; break; /* 2 * 160 = whole width */
        case 11: s.crop = true; s.crop_t = 60; s.crop_b = 60; break;
        }
        why = NULL;
        if (parse_avc_sps(&s, &c, &why) != LS_EPROTO)
            fail_msg("SPS bound %zu accepted", i);
        assert_non_null(why);
    }

    /* an ue(v) with 32 leading zeros */
    {
        static const uint8_t sps[] = { 0x67, 66, 0, 30, 0x00, 0x00, 0x03, 0x00, 0x00, 0x80 };
        size_t n = build_avcc(sps, sizeof sps, 1, rec, sizeof rec);

        why = NULL;
        assert_int_equal(avc(rec, n, &c, &why), LS_EPROTO);
        assert_non_null(why);
    }
    /* the first parameter set is not an SPS; forbidden_zero_bit set */
    {
        static const uint8_t pps[] = { 0x68, 0xee, 0x3c, 0x80 };
        static const uint8_t forbidden[] = { 0xe7, 66, 0, 30, 0xff };
        size_t n = build_avcc(pps, sizeof pps, 1, rec, sizeof rec);

        assert_int_equal(avc(rec, n, &c, NULL), LS_EPROTO);
        n = build_avcc(forbidden, sizeof forbidden, 1, rec, sizeof rec);
        assert_int_equal(avc(rec, n, &c, NULL), LS_EPROTO);
    }
    /* configurationVersion 0; an empty SPS; no SPS at all is accepted */
    {
        static uint8_t sps[64], two[160];
        struct avc_sps d = avc_sps_default();
        size_t sps_len = build_avc_sps(&d, sps, sizeof sps);
        size_t n = build_avcc(sps, sps_len, 1, rec, sizeof rec);

        assert_int_equal(avc(rec, n, &c, NULL), LS_OK);
        rec[0] = 0;
        assert_int_equal(avc(rec, n, &c, NULL), LS_EPROTO);
        rec[0] = 2;
        assert_int_equal(avc(rec, n, &c, NULL), LS_EPROTO);
        n = build_avcc(sps, 0, 1, rec, sizeof rec);
        assert_int_equal(avc(rec, n, &c, NULL), LS_EPROTO);
        n = build_avcc(sps, 0, 0, rec, sizeof rec);
        assert_int_equal(avc(rec, n, &c, NULL), LS_OK);
        assert_int_equal(c.sps_count, 0);
        assert_int_equal(c.pps_count, 1);
        assert_int_equal(c.width, 0);
        /* the SPS twice: both counted, the first parsed */
        n = build_avcc(sps, sps_len, 2, two, sizeof two);
        assert_int_equal(avc(two, n, &c, NULL), LS_OK);
        assert_int_equal(c.sps_count, 2);
        assert_int_equal(c.width, 320);
        assert_int_equal(c.height, 240);
        /* a truncated PPS list */
        assert_int_equal(avc(two, n - 1, &c, NULL), LS_EPROTO);
        assert_int_equal(avc(two, n - 5, &c, NULL), LS_EPROTO);
    }
}

static void test_avc_sps_truncated_everywhere(void **state)
{
    static uint8_t sps[6000], rec[7000];
    struct ls_avc_config c;
    struct avc_sps s;
    size_t sps_len, cut;
    (void)state;

    s = avc_sps_default();
    s.profile = 244;
    s.chroma = 3;
    s.scaling = true;
    s.poc_type = 1;
    s.poc_cycle = 3;
    s.poc_offset = 1000;
    s.crop = true;
    s.crop_b = 8;
    s.no_trailing = true;
    sps_len = build_avc_sps(&s, sps, sizeof sps);
    /* every shorter SPS (the record adjusted to match) is refused */
    for (cut = 1; cut + 1 < sps_len; cut++) {
        size_t n = build_avcc(sps, cut, 1, rec, sizeof rec);
        const char *why = NULL;
        int rc = avc(rec, n, &c, &why);

        if (rc != LS_EPROTO)
            fail_msg("SPS cut at %zu of %zu: rc %d", cut, sps_len, rc);
    }
    assert_int_equal(avc(rec, build_avcc(sps, sps_len, 1, rec, sizeof rec), &c, NULL), LS_OK);
    assert_int_equal(c.height, 232);
}

/* ---- HEVC configuration ------------------------------------------------------------- */

struct hevc_sps {
    uint32_t max_sub_layers_m1;
    bool sub_profile[8], sub_level[8];
    uint32_t sps_id, chroma;
    bool separate_planes;
    uint32_t width, height;
    bool conf;
    uint32_t cl, cr, ct, cb;
};

static size_t build_hevc_sps(const struct hevc_sps *s, uint8_t *out, size_t cap)
{
    static const uint8_t hdr[2] = { 0x42, 0x01 };
    struct bw w;
    uint32_t i;

    memset(&w, 0, sizeof w);
    bw_u(&w, 4, 0);
    bw_u(&w, 3, s->max_sub_layers_m1);
    bw_u(&w, 1, 1);
    bw_u(&w, 2, 0);      /* general_profile_space */
    bw_u(&w, 1, 0);      /* tier */
    bw_u(&w, 5, 1);      /* Main */
    bw_u(&w, 32, 0x60000000);
    bw_u(&w, 48, 0x900000000000ull);
    bw_u(&w, 8, 93);
    for (i = 0; i < s->max_sub_layers_m1 && i < 8; i++) {
        bw_u(&w, 1, s->sub_profile[i]);
        bw_u(&w, 1, s->sub_level[i]);
    }
    if (s->max_sub_layers_m1 > 0 && s->max_sub_layers_m1 < 8)
        for (i = s->max_sub_layers_m1; i < 8; i++)
            bw_u(&w, 2, 0);
    for (i = 0; i < s->max_sub_layers_m1 && i < 8; i++) {
        if (s->sub_profile[i]) {
            bw_u(&w, 56, 0x01600000000090ull); /* 88 bits of sub-layer profile */
            bw_u(&w, 32, 0);
        }
        if (s->sub_level[i])
            bw_u(&w, 8, 90);
    }
    bw_ue(&w, s->sps_id);
    bw_ue(&w, s->chroma);
    if (s->chroma == 3)
        bw_u(&w, 1, s->separate_planes);
    bw_ue(&w, s->width);
    bw_ue(&w, s->height);
    bw_u(&w, 1, s->conf);
    if (s->conf) {
        bw_ue(&w, s->cl);
        bw_ue(&w, s->cr);
        bw_ue(&w, s->ct);
        bw_ue(&w, s->cb);
    }
    return bw_nal(&w, hdr, sizeof hdr, out, cap);
}

/* An hvcC with a VPS, the given SPS (if any) and a PPS. */
static size_t build_hvcc(const uint8_t *sps, size_t sps_len, uint8_t *out, size_t cap)
{
    static const uint8_t head[22] = {
        0x01, 0x01, 0x60, 0x00, 0x00, 0x00, 0x90, 0x00, 0x00, 0x00, 0x00, 0x00, 0x5d,
        0xf0, 0x00, 0xfc, 0xfd, 0xf8, 0xf8, 0x00, 0x00, 0x0f,
    };
    static const uint8_t vps[] = { 0x40, 0x01, 0x0c, 0x01 };
    static const uint8_t pps[] = { 0x44, 0x01, 0xc1, 0x72 };
    size_t n = 0;

    assert_true(sizeof head + 1 + 3 * 5 + sizeof vps + sps_len + sizeof pps <= cap);
    memcpy(out, head, sizeof head);
    n = sizeof head;
    out[n++] = sps_len ? 3 : 2;
    out[n++] = 0x20 | 32;
    out[n++] = 0;
    out[n++] = 1;
    out[n++] = 0;
    out[n++] = sizeof vps;
    memcpy(out + n, vps, sizeof vps);
    n += sizeof vps;
    if (sps_len) {
        out[n++] = 0x20 | 33;
        out[n++] = 0;
        out[n++] = 1;
        out[n++] = (uint8_t)(sps_len >> 8);
        out[n++] = (uint8_t)sps_len;
        memcpy(out + n, sps, sps_len);
        n += sps_len;
    }
    out[n++] = 0x20 | 34;
    out[n++] = 0;
    out[n++] = 1;
    out[n++] = 0;
    out[n++] = sizeof pps;
    memcpy(out + n, pps, sizeof pps);
    return n + sizeof pps;
}

static void test_hevc_real_records(void **state)
{
    static const struct {
        const char *path;
        uint8_t profile, chroma, bit_depth;
        uint32_t width, height;
    } table[] = {
        { "test/unit/data/codec_hevc_main_170x98.hvcc", 1, 1, 8, 170, 98 },
        { "test/unit/data/codec_hevc_rext444_170x98.hvcc", 4, 3, 8, 170, 98 },
        { "test/unit/data/codec_hevc_rext422_10bit_64x48.hvcc", 4, 2, 10, 64, 48 },
    };
    size_t i;
    (void)state;

    for (i = 0; i < sizeof table / sizeof table[0]; i++) {
        struct ls_hevc_config c, part;
        size_t len, cut;
        uint8_t *rec = input_read_file(table[i].path, &len);

        assert_int_equal(hevc(rec, len, &c, NULL), LS_OK);
        assert_int_equal(c.profile_idc, table[i].profile);
        assert_int_equal(c.chroma_format_idc, table[i].chroma);
        assert_int_equal(c.bit_depth_luma, table[i].bit_depth);
        assert_int_equal(c.bit_depth_chroma, table[i].bit_depth);
        assert_int_equal(c.width, table[i].width);
        assert_int_equal(c.height, table[i].height);
        assert_int_equal(c.level_idc, 30);
        assert_int_equal(c.nal_length_size, 4);
        assert_int_equal(c.num_temporal_layers, 1);
        assert_int_equal(c.vps_count, 1);
        assert_int_equal(c.sps_count, 1);
        assert_int_equal(c.pps_count, 1);
        /* every array is read whole: any prefix is refused */
        for (cut = 0; cut < len; cut++) {
            const char *why = NULL;

            assert_int_equal(hevc(rec, cut, &part, &why), LS_EPROTO);
            assert_non_null(why);
        }
        free(rec);
    }
    {
        size_t len;
        struct ls_hevc_config c;
        uint8_t *rec = input_read_file("test/unit/data/codec_hevc_main_170x98.hvcc", &len);

        assert_int_equal(hevc(rec, len, &c, NULL), LS_OK);
        assert_int_equal(c.profile_compatibility, 0x60000000);
        assert_int_equal(c.constraint_flags, 0x900000000000ull);
        assert_int_equal(c.tier, 0);
        assert_int_equal(c.profile_space, 0);
        free(rec);
    }
}

static void test_hevc_hand_built(void **state)
{
    static uint8_t sps[512], rec[1024];
    struct ls_hevc_config c;
    struct hevc_sps s;
    size_t n, cut;
    (void)state;

    /* three sub-layers with mixed profile/level presence; 4:2:0 window 1920x1080 */
    memset(&s, 0, sizeof s);
    s.max_sub_layers_m1 = 3;
    s.sub_profile[0] = true;
    s.sub_level[0] = true;
    s.sub_level[1] = true;
    s.sub_profile[2] = true;
    s.chroma = 1;
    s.width = 1920;
    s.height = 1088;
    s.conf = true;
    s.cb = 4;
    n = build_hvcc(sps, build_hevc_sps(&s, sps, sizeof sps), rec, sizeof rec);
    assert_int_equal(hevc(rec, n, &c, NULL), LS_OK);
    assert_int_equal(c.width, 1920);
    assert_int_equal(c.height, 1080);
    assert_int_equal(c.level_idc, 93);

    /* six sub-layers (the maximum), 4:4:4 separate planes: crop unit 1 */
    memset(&s, 0, sizeof s);
    s.max_sub_layers_m1 = 6;
    memset(s.sub_profile, 1, sizeof s.sub_profile);
    memset(s.sub_level, 1, sizeof s.sub_level);
    s.chroma = 3;
    s.separate_planes = true;
    s.width = 100;
    s.height = 50;
    s.conf = true;
    s.cl = 1;
    s.cr = 2;
    s.ct = 3;
    s.cb = 4;
    n = build_hvcc(sps, build_hevc_sps(&s, sps, sizeof sps), rec, sizeof rec);
    assert_int_equal(hevc(rec, n, &c, NULL), LS_OK);
    assert_int_equal(c.width, 97);
    assert_int_equal(c.height, 43);
    s.separate_planes = false;
    s.chroma = 2; /* 4:2:2: unit 2x1 */
    n = build_hvcc(sps, build_hevc_sps(&s, sps, sizeof sps), rec, sizeof rec);
    assert_int_equal(hevc(rec, n, &c, NULL), LS_OK);
    assert_int_equal(c.width, 94);
    assert_int_equal(c.height, 43);
    s.chroma = 0; /* monochrome: unit 1 */
    n = build_hvcc(sps, build_hevc_sps(&s, sps, sizeof sps), rec, sizeof rec);
    assert_int_equal(hevc(rec, n, &c, NULL), LS_OK);
    assert_int_equal(c.width, 97);

    /* every cut of that SPS is refused */
    {
        uint8_t whole[512];
        size_t sps_len = build_hevc_sps(&s, whole, sizeof whole);

        for (cut = 0; cut + 1 < sps_len; cut++) {
            const char *why = NULL;

            n = build_hvcc(whole, cut == 0 ? 1 : cut, rec, sizeof rec);
            assert_int_equal(hevc(rec, n, &c, &why), LS_EPROTO);
            assert_non_null(why);
        }
    }

    /* no SPS: counts only, size 0 */
    n = build_hvcc(NULL, 0, rec, sizeof rec);
    assert_int_equal(hevc(rec, n, &c, NULL), LS_OK);
    assert_int_equal(c.sps_count, 0);
    assert_int_equal(c.vps_count, 1);
    assert_int_equal(c.pps_count, 1);
    assert_int_equal(c.width, 0);
}

static void test_hevc_malformed(void **state)
{
    static uint8_t sps[512], rec[1024];
    struct ls_hevc_config c;
    struct hevc_sps s;
    size_t n, i;
    const char *why;
    (void)state;

    for (i = 0; i < 6; i++) {
        memset(&s, 0, sizeof s);
        s.chroma = 1;
        s.width = 64;
        s.height = 64;
        switch (i) {
        case 0: s.max_sub_layers_m1 = 7; break;
        case 1: s.sps_id = 16; break;
        case 2: s.chroma = 4; break;
        case 3: s.width = 0; break;
        case 4: s.height = 65536; break;
        case 5: s.conf = true; s.ct = 16; s.cb = 16; break; /* 2 * 32 = all rows */
        }
        n = build_hvcc(sps, build_hevc_sps(&s, sps, sizeof sps), rec, sizeof rec);
        why = NULL;
        if (hevc(rec, n, &c, &why) != LS_EPROTO)
            fail_msg("HEVC SPS bound %zu accepted", i);
        assert_non_null(why);
    }
    /* version 0 */
    memset(&s, 0, sizeof s);
    s.chroma = 1;
    s.width = 64;
    s.height = 64;
    n = build_hvcc(sps, build_hevc_sps(&s, sps, sizeof sps), rec, sizeof rec);
    assert_int_equal(hevc(rec, n, &c, NULL), LS_OK);
    rec[0] = 0;
    assert_int_equal(hevc(rec, n, &c, NULL), LS_EPROTO);
    /* a non-SPS NAL unit in the SPS array; an empty NAL unit */
    {
        static const uint8_t pps_as_sps[] = { 0x44, 0x01, 0xc1 };
        static const uint8_t forbidden[] = { 0xc2, 0x01, 0x01 };

        n = build_hvcc(pps_as_sps, sizeof pps_as_sps, rec, sizeof rec);
        assert_int_equal(hevc(rec, n, &c, NULL), LS_EPROTO);
        n = build_hvcc(forbidden, sizeof forbidden, rec, sizeof rec);
        assert_int_equal(hevc(rec, n, &c, NULL), LS_EPROTO);
        n = build_hvcc(pps_as_sps, sizeof pps_as_sps, rec, sizeof rec);
        rec[26] = 0; /* VPS array's NAL length 4 -> 0 */
        rec[27] = 0;
        assert_int_equal(hevc(rec, n, &c, NULL), LS_EPROTO);
    }
    /* counts saturate at 255: 300 one-byte PPS NAL units */
    {
        static uint8_t big[23 + 3 + 300 * 3];
        size_t k;

        memcpy(big, rec, 22);
        big[0] = 1;
        big[22] = 1;
        big[23] = 34;
        big[24] = 300 >> 8;
        big[25] = 300 & 0xff;
        for (k = 0; k < 300; k++) {
            big[26 + 3 * k] = 0;
            big[27 + 3 * k] = 1;
            big[28 + 3 * k] = 0x44;
        }
        assert_int_equal(hevc(big, sizeof big, &c, NULL), LS_OK);
        assert_int_equal(c.pps_count, 255);
    }
}

/* ---- AAC AudioSpecificConfig ------------------------------------------------------- */

static void test_aac_config(void **state)
{
    static const struct {
        uint8_t p[8];
        size_t len; /* = the bytes needed: every shorter prefix must fail */
        uint8_t object_type;
        bool sbr;
        uint32_t rate;
        uint8_t chan_config, channels;
    } table[] = {
        { { 0x12, 0x08 }, 2, 2, false, 44100, 1, 1 },           /* the fixture */
        { { 0x11, 0x90 }, 2, 2, false, 48000, 2, 2 },
        { { 0x13, 0x88 }, 2, 2, false, 22050, 1, 1 },           /* index 7 */
        { { 0x15, 0x88 }, 2, 2, false, 8000, 1, 1 },            /* index 11 */
        { { 0x11, 0xb8 }, 2, 2, false, 48000, 7, 8 },           /* 7.1 */
        { { 0x11, 0x80 }, 2, 2, false, 48000, 0, 0 },           /* PCE */
        /* index 15: explicit 24-bit rate 12345, stereo (37 bits) */
        { { 0x17, 0x80, 0x18, 0x1c, 0x90 }, 5, 2, false, 12345, 2, 2 },
        /* object type escape: 31 + 6 bits (7 -> 39, ER AAC ELD), 48 kHz, mono */
        { { 0xf8, 0xe6, 0x20 }, 3, 39, false, 48000, 1, 1 },
        /* explicit SBR: type 5, core 24 kHz stereo, extension 48 kHz, then AAC-LC */
        { { 0x2b, 0x11, 0x88 }, 3, 2, true, 48000, 2, 2 },
    };
    size_t i;
    (void)state;

    for (i = 0; i < sizeof table / sizeof table[0]; i++) {
        struct ls_aac_config c;
        size_t cut;

        if (aac(table[i].p, table[i].len, &c, NULL) != LS_OK)
            fail_msg("AudioSpecificConfig vector %zu refused", i);
        assert_int_equal(c.object_type, table[i].object_type);
        assert_int_equal(c.sbr, table[i].sbr);
        assert_int_equal(c.channel_config, table[i].chan_config);
        assert_int_equal(c.channels, table[i].channels);
        if (c.rate_hz != table[i].rate)
            fail_msg("vector %zu: rate %u, want %u", i, c.rate_hz, table[i].rate);
        for (cut = 0; cut < table[i].len; cut++) {
            const char *why = NULL;

            assert_int_equal(aac(table[i].p, cut, &c, &why), LS_EPROTO);
            assert_non_null(why);
        }
    }
}

static void test_aac_config_malformed(void **state)
{
    static const uint8_t reserved13[] = { 0x16, 0x88 }; /* index 13 */
    static const uint8_t reserved14[] = { 0x17, 0x08 }; /* index 14 */
    static const uint8_t sbr_reserved[] = { 0x2b, 0x16, 0x88 }; /* ext index 13 */
    static const uint8_t sbr_short[] = { 0x2b, 0x11 };
    struct ls_aac_config c;
    const char *why = NULL;
    (void)state;

    assert_int_equal(aac(reserved13, sizeof reserved13, &c, &why), LS_EPROTO);
    assert_non_null(why);
    assert_int_equal(aac(reserved14, sizeof reserved14, &c, NULL), LS_EPROTO);
    assert_int_equal(aac(sbr_reserved, sizeof sbr_reserved, &c, NULL), LS_EPROTO);
    assert_int_equal(aac(sbr_short, sizeof sbr_short, &c, NULL), LS_EPROTO);
    assert_int_equal(aac(NULL, 0, &c, NULL), LS_EPROTO);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_video_legacy_avc),
        cmocka_unit_test(test_video_legacy_hevc_id12),
        cmocka_unit_test(test_video_legacy_other_codecs),
        cmocka_unit_test(test_video_command_frames),
        cmocka_unit_test(test_video_enhanced_packets),
        cmocka_unit_test(test_video_enhanced_modex),
        cmocka_unit_test(test_video_enhanced_multitrack),
        cmocka_unit_test(test_video_malformed_table),
        cmocka_unit_test(test_audio_legacy_table),
        cmocka_unit_test(test_audio_aac),
        cmocka_unit_test(test_audio_enhanced),
        cmocka_unit_test(test_audio_malformed_table),
        cmocka_unit_test(test_codec_names),
        cmocka_unit_test(test_fixture_payloads),
        cmocka_unit_test(test_avc_real_records),
        cmocka_unit_test(test_avc_hand_built_sps),
        cmocka_unit_test(test_avc_malformed),
        cmocka_unit_test(test_avc_sps_truncated_everywhere),
        cmocka_unit_test(test_hevc_real_records),
        cmocka_unit_test(test_hevc_hand_built),
        cmocka_unit_test(test_hevc_malformed),
        cmocka_unit_test(test_aac_config),
        cmocka_unit_test(test_aac_config_malformed),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
