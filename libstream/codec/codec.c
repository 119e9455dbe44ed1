/*
 * codec.c — media payload layer: FLV AUDIODATA/VIDEODATA headers, their Enhanced RTMP
 * forms, and the decoder configuration records behind sequence headers (see codec.h).
 *
 * Specs: FLV v10.1 E.4.2.1 AUDIODATA, E.4.3.1 VIDEODATA, E.4.3.2 AVCVIDEOPACKET;
 * Enhanced RTMP v1/v2 (ExVideoTagHeader, ExAudioTagHeader, ModEx, Multitrack);
 * ISO/IEC 14496-15 5.3.3.1 (avcC) and 8.3.3.1 (hvcC); ITU-T H.264 7.3.2.1.1 and
 * H.265 7.3.2.2 (SPS); ISO/IEC 14496-3 1.6.2.1 (AudioSpecificConfig).
 *
 * Legacy video (first byte)              Enhanced video (first byte)
 *   +-------+---------+                    +---+-------+------------+
 *   | Frame | CodecID |                    | 1 | Frame | PacketType |
 *   | 4 bit |  4 bit  |                    |   | 3 bit |   4 bit    |
 *   +-------+---------+                    +---+-------+------------+
 *   AVC/HEVC then: AVCPacketType (UI8),    [ModEx: size-1 (UI8 | 0xff UI16) data
 *   CompositionTime (SI24), data             (ModExType<<4 | PacketType)]*
 *                                          [Multitrack: (MtType<<4 | PacketType)]
 *                                          FourCC (UI32) unless command / ManyCodecs,
 *                                          CTS (SI24) for avc1/hvc1 CodedFrames, data
 *
 * Legacy audio (first byte)              Enhanced audio (first byte)
 *   +--------+------+------+------+        +--------+------------+
 *   | Format | Rate | Size | Type |        |   9    | PacketType |   (ModEx, Multitrack
 *   | 4 bit  | 2 bit| 1 bit| 1 bit|        | 4 bit  |   4 bit    |    as for video), FourCC
 *   +--------+------+------+------+        +--------+------------+
 *   AAC then: AACPacketType (UI8)
 *
 * Every read goes through struct ls_reader (bytes.h) or the bit reader below, both of
 * which check the remaining length first. SPS parsing first copies the NAL unit with its
 * emulation-prevention bytes (00 00 03) removed into a bounded stack buffer.
 */
#include <string.h>

#include "libstream/bytes.h"
#include "libstream/codec.h"

#define FOURCC_AVC1 LS_FOURCC('a', 'v', 'c', '1')
#define FOURCC_HVC1 LS_FOURCC('h', 'v', 'c', '1')
#define FOURCC_AV01 LS_FOURCC('a', 'v', '0', '1')
#define FOURCC_VP09 LS_FOURCC('v', 'p', '0', '9')

/* Legacy CodecID values (E.4.3.1), plus the de-facto 12 for HEVC. */
#define CODEC_ID_H263 2
#define CODEC_ID_SCREEN 3
#define CODEC_ID_VP6 4
#define CODEC_ID_VP6A 5
#define CODEC_ID_SCREEN2 6
#define CODEC_ID_AVC 7
#define CODEC_ID_HEVC 12

#define MT_MANY_TRACKS_MANY_CODECS 2
#define MODEX_TIMESTAMP_OFFSET_NANO 0

/* ---- enhanced prefixes shared by audio and video ------------------------------------ */

/*
 * Takes the packet type from the low nibble of the first byte, then walks the ModEx chain
 * that starts when it is 7 (ModEx; the same value for VideoPacketType and
 * AudioPacketType): each link is size (UI8 + 1, or when that gives 256, UI16 + 1), the
 * data, then a byte holding the modifier type (high nibble) and the next packet type (low
 * nibble). Each link consumes at least 3 bytes, so the loop is bounded by the input length.
 */
static int walk_modex(struct ls_reader *rd, uint8_t b0, uint8_t *ptype, uint32_t *nano,
                      const char **why)
{
    *ptype = b0 & 0x0f;
    while (*ptype == LS_EXVIDEO_MOD_EX) {
        uint8_t b;
        uint16_t w;
        size_t size;
        const uint8_t *data;

        if (!ls_rd_u8(rd, &b))
            goto truncated;
        size = (size_t)b + 1;
        if (size == 256) {
            if (!ls_rd_be16(rd, &w))
                goto truncated;
            size = (size_t)w + 1;
        }
        if (!ls_rd_bytes(rd, size, &data) || !ls_rd_u8(rd, &b))
            goto truncated;
        if (b >> 4 == MODEX_TIMESTAMP_OFFSET_NANO && size == 3)
            *nano = ls_get_be24(data);
        *ptype = b & 0x0f;
    }
    return LS_OK;
truncated:
    LS_WHY(why, "codec: truncated ModEx");
    return LS_EPROTO;
}

/*
 * After a Multitrack packet type: AvMultitrackType (high nibble) and the real packet type
 * (low nibble), then the shared FourCC unless every track names its own.
 */
static int read_multitrack(struct ls_reader *rd, uint8_t multitrack_ptype, uint8_t *ptype,
                           uint8_t *mt_type, uint32_t *fourcc, const char **why)
{
    uint8_t b;

    if (!ls_rd_u8(rd, &b)) {
        LS_WHY(why, "codec: truncated multitrack header");
        return LS_EPROTO;
    }
    *mt_type = b >> 4;
    *ptype = b & 0x0f;
    if (*mt_type > MT_MANY_TRACKS_MANY_CODECS) {
        LS_WHY(why, "codec: reserved AvMultitrackType");
        return LS_EUNSUPPORTED;
    }
    if (*ptype == multitrack_ptype) {
        LS_WHY(why, "codec: multitrack nested in multitrack");
        return LS_EPROTO;
    }
    *fourcc = 0;
    if (*mt_type != MT_MANY_TRACKS_MANY_CODECS && !ls_rd_be32(rd, fourcc)) {
        LS_WHY(why, "codec: truncated FourCC");
        return LS_EPROTO;
    }
    return LS_OK;
}

/* ---- video -------------------------------------------------------------------------- */

static enum ls_video_codec video_codec_from_id(uint8_t id)
{
    switch (id) {
    case CODEC_ID_H263: return LS_VIDEO_H263;
    case CODEC_ID_SCREEN: return LS_VIDEO_SCREEN;
    case CODEC_ID_VP6: return LS_VIDEO_VP6;
    case CODEC_ID_VP6A: return LS_VIDEO_VP6A;
    case CODEC_ID_SCREEN2: return LS_VIDEO_SCREEN2;
    case CODEC_ID_AVC: return LS_VIDEO_H264;
    case CODEC_ID_HEVC: return LS_VIDEO_HEVC;
    default: return LS_VIDEO_UNKNOWN;
    }
}

static enum ls_video_codec video_codec_from_fourcc(uint32_t fourcc)
{
    switch (fourcc) {
    case FOURCC_AVC1: return LS_VIDEO_H264;
    case FOURCC_HVC1: return LS_VIDEO_HEVC;
    case FOURCC_AV01: return LS_VIDEO_AV1;
    case FOURCC_VP09: return LS_VIDEO_VP9;
    default: return LS_VIDEO_UNKNOWN;
    }
}

static bool valid_frame_type(uint8_t ft)
{
    return ft >= LS_VIDEO_FRAME_KEY && ft <= LS_VIDEO_FRAME_COMMAND;
}

/* Reads a signed 24-bit big-endian value. */
static bool rd_si24(struct ls_reader *rd, int32_t *v)
{
    uint32_t u;

    if (!ls_rd_be24(rd, &u))
        return false;
    *v = (int32_t)(u & 0x7fffffu) - (int32_t)(u & 0x800000u);
    return true;
}

static int video_legacy(struct ls_reader *rd, uint8_t b0, struct ls_video_info *out,
                        const char **why)
{
    uint8_t id = b0 & 0x0f;

    out->codec = video_codec_from_id(id);
    if (out->frame_type == LS_VIDEO_FRAME_COMMAND) {
        if (!ls_rd_u8(rd, &out->command)) {
            LS_WHY(why, "codec: truncated video command frame");
            return LS_EPROTO;
        }
        out->packet = LS_VPKT_COMMAND;
        out->header_len = rd->pos;
        return LS_OK;
    }
    out->packet = LS_VPKT_FRAME;
    if (id == CODEC_ID_AVC || id == CODEC_ID_HEVC) {
        if (!ls_rd_u8(rd, &out->packet_type) || !rd_si24(rd, &out->composition_time)) {
            LS_WHY(why, "codec: truncated AVC/HEVC video header");
            return LS_EPROTO;
        }
        switch (out->packet_type) {
        case 0: out->packet = LS_VPKT_SEQUENCE_HEADER; break;
        case 1: out->packet = LS_VPKT_FRAME; break;
        case 2: out->packet = LS_VPKT_END_OF_SEQUENCE; break;
        default:
            LS_WHY(why, "codec: reserved AVCPacketType");
            return LS_EPROTO;
        }
    }
    out->header_len = rd->pos;
    return LS_OK;
}

static int video_enhanced(struct ls_reader *rd, uint8_t b0, struct ls_video_info *out,
                          const char **why)
{
    uint8_t ptype;
    int rc = walk_modex(rd, b0, &ptype, &out->timestamp_offset_ns, why);

    out->enhanced = true;
    if (rc != LS_OK)
        return rc;
    if (ptype > LS_EXVIDEO_MOD_EX) {
        LS_WHY(why, "codec: reserved VideoPacketType");
        return LS_EUNSUPPORTED;
    }
    if (ptype == LS_EXVIDEO_METADATA)
        out->frame_type = 0; /* "FrameType flags ... should be ignored" */
    else if (!valid_frame_type(out->frame_type)) {
        LS_WHY(why, "codec: reserved video FrameType");
        return LS_EPROTO;
    }
    if (ptype != LS_EXVIDEO_METADATA && out->frame_type == LS_VIDEO_FRAME_COMMAND) {
        /* A command frame names no codec: only the VideoCommand byte follows. */
        if (!ls_rd_u8(rd, &out->command)) {
            LS_WHY(why, "codec: truncated video command frame");
            return LS_EPROTO;
        }
        out->packet_type = ptype;
        out->codec = LS_VIDEO_NONE;
        out->packet = LS_VPKT_COMMAND;
        out->header_len = rd->pos;
        return LS_OK;
    }
    if (ptype == LS_EXVIDEO_MULTITRACK) {
        out->multitrack = true;
        rc = read_multitrack(rd, LS_EXVIDEO_MULTITRACK, &ptype, &out->multitrack_type,
                             &out->fourcc, why);
        if (rc != LS_OK)
            return rc;
        if (ptype >= LS_EXVIDEO_MOD_EX) {
            LS_WHY(why, "codec: reserved VideoPacketType in multitrack");
            return LS_EUNSUPPORTED;
        }
    } else if (!ls_rd_be32(rd, &out->fourcc)) {
        LS_WHY(why, "codec: truncated video FourCC");
        return LS_EPROTO;
    }
    out->packet_type = ptype;
    out->codec = out->fourcc != 0 ? video_codec_from_fourcc(out->fourcc) : LS_VIDEO_UNKNOWN;
    switch (ptype) {
    case LS_EXVIDEO_SEQUENCE_START:
    case LS_EXVIDEO_MPEG2TS_SEQUENCE_START:
        out->packet = LS_VPKT_SEQUENCE_HEADER;
        break;
    case LS_EXVIDEO_CODED_FRAMES:
        out->packet = LS_VPKT_FRAME;
        /* Only AVC and HEVC carry a composition time; with multitrack it is per track. */
        if (!out->multitrack && (out->fourcc == FOURCC_AVC1 || out->fourcc == FOURCC_HVC1) &&
            !rd_si24(rd, &out->composition_time)) {
            LS_WHY(why, "codec: truncated composition time");
            return LS_EPROTO;
        }
        break;
    case LS_EXVIDEO_CODED_FRAMES_X:
        out->packet = LS_VPKT_FRAME;
        break;
    case LS_EXVIDEO_SEQUENCE_END:
        out->packet = LS_VPKT_END_OF_SEQUENCE;
        break;
    default: /* LS_EXVIDEO_METADATA; Multitrack and ModEx were excluded above */
        out->packet = LS_VPKT_METADATA;
        break;
    }
    out->header_len = rd->pos;
    return LS_OK;
}

int ls_codec_video_inspect(const uint8_t *p, size_t len, struct ls_video_info *out,
                           const char **why)
{
    struct ls_reader rd;
    uint8_t b0;
    int rc;

    memset(out, 0, sizeof *out);
    ls_rd_init(&rd, p, len);
    if (!ls_rd_u8(&rd, &b0)) {
        LS_WHY(why, "codec: empty video payload");
        return LS_EPROTO;
    }
    out->frame_type = (b0 >> 4) & 0x07;
    if (b0 & 0x80) {
        rc = video_enhanced(&rd, b0, out, why);
    } else {
        if (!valid_frame_type(out->frame_type)) {
            LS_WHY(why, "codec: reserved video FrameType");
            return LS_EPROTO;
        }
        rc = video_legacy(&rd, b0, out, why);
    }
    if (rc != LS_OK)
        return rc;
    out->keyframe = out->packet == LS_VPKT_FRAME &&
                    (out->frame_type == LS_VIDEO_FRAME_KEY ||
                     out->frame_type == LS_VIDEO_FRAME_GENERATED_KEY);
    return LS_OK;
}

/* ---- audio -------------------------------------------------------------------------- */

static enum ls_audio_codec audio_codec_from_format(uint8_t fmt)
{
    static const enum ls_audio_codec map[16] = {
        LS_AUDIO_PCM, LS_AUDIO_ADPCM, LS_AUDIO_MP3, LS_AUDIO_PCM_LE,
        LS_AUDIO_NELLYMOSER, LS_AUDIO_NELLYMOSER, LS_AUDIO_NELLYMOSER, LS_AUDIO_G711A,
        LS_AUDIO_G711U, LS_AUDIO_UNKNOWN /* 9 is the ExHeader, handled apart */,
        LS_AUDIO_AAC, LS_AUDIO_SPEEX, LS_AUDIO_UNKNOWN, LS_AUDIO_UNKNOWN,
        LS_AUDIO_MP3, LS_AUDIO_UNKNOWN,
    };
    return map[fmt & 0x0f];
}

static enum ls_audio_codec audio_codec_from_fourcc(uint32_t fourcc)
{
    switch (fourcc) {
    case LS_FOURCC('O', 'p', 'u', 's'): return LS_AUDIO_OPUS;
    case LS_FOURCC('f', 'L', 'a', 'C'): return LS_AUDIO_FLAC;
    case LS_FOURCC('a', 'c', '-', '3'): return LS_AUDIO_AC3;
    case LS_FOURCC('e', 'c', '-', '3'): return LS_AUDIO_EAC3;
    case LS_FOURCC('m', 'p', '4', 'a'): return LS_AUDIO_AAC;
    case LS_FOURCC('.', 'm', 'p', '3'): return LS_AUDIO_MP3;
    default: return LS_AUDIO_UNKNOWN;
    }
}

static int audio_enhanced(struct ls_reader *rd, uint8_t b0, struct ls_audio_info *out,
                          const char **why)
{
    uint8_t ptype;
    int rc = walk_modex(rd, b0, &ptype, &out->timestamp_offset_ns, why);

    out->enhanced = true;
    if (rc == LS_OK && ptype == LS_EXAUDIO_MULTITRACK) {
        out->multitrack = true;
        rc = read_multitrack(rd, LS_EXAUDIO_MULTITRACK, &ptype, &out->multitrack_type,
                             &out->fourcc, why);
    }
    if (rc != LS_OK)
        return rc;
    switch (ptype) {
    case LS_EXAUDIO_SEQUENCE_START:
    case LS_EXAUDIO_CODED_FRAMES:
    case LS_EXAUDIO_SEQUENCE_END:
    case LS_EXAUDIO_MULTICHANNEL_CONFIG:
        break;
    default: /* reserved, or ModEx after a Multitrack prefix */
        LS_WHY(why, "codec: reserved AudioPacketType");
        return LS_EUNSUPPORTED;
    }
    if (!out->multitrack && !ls_rd_be32(rd, &out->fourcc)) {
        LS_WHY(why, "codec: truncated audio FourCC");
        return LS_EPROTO;
    }
    out->packet_type = ptype;
    out->sequence_header = ptype == LS_EXAUDIO_SEQUENCE_START;
    out->codec = out->fourcc != 0 ? audio_codec_from_fourcc(out->fourcc) : LS_AUDIO_UNKNOWN;
    out->header_len = rd->pos;
    return LS_OK;
}

int ls_codec_audio_inspect(const uint8_t *p, size_t len, struct ls_audio_info *out,
                           const char **why)
{
    static const unsigned rates[4] = { 5512, 11025, 22050, 44100 };
    struct ls_reader rd;
    uint8_t b0, fmt;

    memset(out, 0, sizeof *out);
    ls_rd_init(&rd, p, len);
    if (!ls_rd_u8(&rd, &b0)) {
        LS_WHY(why, "codec: empty audio payload");
        return LS_EPROTO;
    }
    fmt = b0 >> 4;
    out->sound_format = fmt;
    if (fmt == LS_AUDIO_FORMAT_EX_HEADER)
        return audio_enhanced(&rd, b0, out, why);
    out->codec = audio_codec_from_format(fmt);
    out->rate_hz = rates[(b0 >> 2) & 0x03];
    out->bits = (b0 & 0x02) ? 16 : 8;
    out->channels = (b0 & 0x01) ? 2 : 1;
    /* Formats whose rate/channels are fixed by the format, whatever the bits say. */
    switch (fmt) {
    case 4: out->rate_hz = 16000; out->channels = 1; break;  /* Nellymoser 16 kHz mono */
    case 5: out->rate_hz = 8000; out->channels = 1; break;   /* Nellymoser 8 kHz mono */
    case 7: case 8: out->rate_hz = 8000; break;              /* G.711 */
    case 11: out->rate_hz = 16000; out->channels = 1; break; /* Speex */
    case 14: out->rate_hz = 8000; break;                     /* MP3 8 kHz */
    default: break;
    }
    if (out->codec == LS_AUDIO_AAC) {
        if (!ls_rd_u8(&rd, &out->packet_type)) {
            LS_WHY(why, "codec: truncated AAC audio header");
            return LS_EPROTO;
        }
        if (out->packet_type > 1) {
            LS_WHY(why, "codec: reserved AACPacketType");
            return LS_EPROTO;
        }
        out->sequence_header = out->packet_type == 0;
    }
    out->header_len = rd.pos;
    return LS_OK;
}

const char *ls_codec_video_name(enum ls_video_codec c)
{
    switch (c) {
    case LS_VIDEO_NONE: return "none";
    case LS_VIDEO_H263: return "h263";
    case LS_VIDEO_SCREEN: return "screen";
    case LS_VIDEO_VP6: return "vp6";
    case LS_VIDEO_VP6A: return "vp6a";
    case LS_VIDEO_SCREEN2: return "screen2";
    case LS_VIDEO_H264: return "h264";
    case LS_VIDEO_HEVC: return "hevc";
    case LS_VIDEO_AV1: return "av1";
    case LS_VIDEO_VP9: return "vp9";
    default: return "unknown";
    }
}

const char *ls_codec_audio_name(enum ls_audio_codec c)
{
    switch (c) {
    case LS_AUDIO_NONE: return "none";
    case LS_AUDIO_PCM: return "pcm";
    case LS_AUDIO_ADPCM: return "adpcm";
    case LS_AUDIO_MP3: return "mp3";
    case LS_AUDIO_PCM_LE: return "pcm_le";
    case LS_AUDIO_NELLYMOSER: return "nellymoser";
    case LS_AUDIO_G711A: return "g711a";
    case LS_AUDIO_G711U: return "g711u";
    case LS_AUDIO_AAC: return "aac";
    case LS_AUDIO_SPEEX: return "speex";
    case LS_AUDIO_OPUS: return "opus";
    case LS_AUDIO_FLAC: return "flac";
    case LS_AUDIO_AC3: return "ac3";
    case LS_AUDIO_EAC3: return "eac3";
    default: return "unknown";
    }
}

/* ---- bit reader for SPS / AudioSpecificConfig --------------------------------------- */

/*
 * MSB-first bit reader with a sticky overrun flag: a read past the end returns 0 and sets
 * `over`, so parsing code reads straight through and checks once per group of fields.
 */
struct bits {
    const uint8_t *p;
    size_t nbits;
    size_t pos;
    bool over;
};

static void bits_init(struct bits *b, const uint8_t *p, size_t len)
{
    b->p = p;
    b->nbits = len * 8;
    b->pos = 0;
    b->over = false;
}

static uint32_t bits_u(struct bits *b, unsigned n) /* n <= 32 */
{
    uint32_t v = 0;

    if (b->over || n > b->nbits - b->pos) {
        b->over = true;
        return 0;
    }
    while (n-- > 0) {
        v = v << 1 | ((b->p[b->pos >> 3] >> (7 - (b->pos & 7))) & 1u);
        b->pos++;
    }
    return v;
}

static void bits_skip(struct bits *b, size_t n)
{
    if (b->over || n > b->nbits - b->pos)
        b->over = true;
    else
        b->pos += n;
}

/* ue(v): at most 31 leading zeros (values up to 2^32 - 2); more is an overflow. */
static uint32_t bits_ue(struct bits *b, bool *bad)
{
    unsigned zeros = 0;

    while (!b->over && bits_u(b, 1) == 0) {
        if (++zeros > 31) {
            *bad = true;
            return 0;
        }
    }
    if (b->over)
        return 0;
    return (uint32_t)(((uint64_t)1 << zeros) - 1 + bits_u(b, zeros));
}

static int32_t bits_se(struct bits *b, bool *bad)
{
    uint32_t k = bits_ue(b, bad);

    /* k = 2|v| - (v > 0): odd k are positive. */
    return (k & 1) ? (int32_t)((k >> 1) + 1) : -(int32_t)(k >> 1);
}

/*
 * Copies a NAL unit without its emulation-prevention bytes (a 0x03 after two zero
 * bytes), keeping at most `cap` output bytes. LS_CODEC_MAX_SPS_RBSP is larger than the
 * longest bit string the SPS parsers can consume before they stop (see codec.h), so
 * cutting there never hides a field they read: what follows is VUI and extensions.
 */
static size_t unescape_nal(const uint8_t *in, size_t len, uint8_t *out, size_t cap)
{
    size_t i, n = 0;
    unsigned zeros = 0;

    for (i = 0; i < len && n < cap; i++) {
        if (zeros >= 2 && in[i] == 0x03) {
            zeros = 0;
            continue;
        }
        zeros = in[i] == 0 ? zeros + 1 : 0;
        out[n++] = in[i];
    }
    return n;
}

static int sps_status(const struct bits *b, bool bad, const char **why)
{
    if (bad) {
        LS_WHY(why, "codec: malformed SPS");
        return LS_EPROTO;
    }
    if (b->over) {
        LS_WHY(why, "codec: truncated SPS");
        return LS_EPROTO;
    }
    return LS_OK;
}

/*
 * Applies cropping (in luma samples) to a coded size; false when it leaves nothing or
 * the result exceeds LS_CODEC_MAX_DIMENSION. Inputs are at most ~2^37: no overflow.
 */
static bool apply_crop(uint64_t w, uint64_t h, uint64_t crop_w, uint64_t crop_h,
                       uint32_t *width, uint32_t *height)
{
    if (crop_w >= w || crop_h >= h || w - crop_w > LS_CODEC_MAX_DIMENSION ||
        h - crop_h > LS_CODEC_MAX_DIMENSION)
        return false;
    *width = (uint32_t)(w - crop_w);
    *height = (uint32_t)(h - crop_h);
    return true;
}

/*
 * The end both SPS parsers share: the cropping window (frame_cropping_flag in H.264,
 * conformance_window_flag in H.265, then four ue(v) offsets), the verdict on everything
 * read, then the displayed size of the coded w x h luma samples.
 *
 * The offsets count crop units: Table 6-1 gives SubWidthC/SubHeightC as 2/2 for 4:2:0,
 * 2/1 for 4:2:2 and 1/1 otherwise. Monochrome and separate colour planes (ChromaArrayType
 * 0) use 1 as 4:4:4 does, so that flag itself does not matter here. H.264 also scales the
 * height unit by (2 - frame_mbs_only_flag) (equations 7-19..7-22): `field_y`, 1 for H.265.
 */
static int sps_finish(struct bits *b, bool bad, uint32_t chroma, uint64_t w, uint64_t h,
                      uint64_t field_y, uint32_t *width, uint32_t *height, const char **why)
{
    uint64_t crop_l = 0, crop_r = 0, crop_t = 0, crop_b = 0;
    uint64_t unit_x = chroma == 1 || chroma == 2 ? 2 : 1;
    uint64_t unit_y = (chroma == 1 ? 2 : 1) * field_y;
    int rc;

    if (bits_u(b, 1)) {
        crop_l = bits_ue(b, &bad);
        crop_r = bits_ue(b, &bad);
        crop_t = bits_ue(b, &bad);
        crop_b = bits_ue(b, &bad);
    }
    rc = sps_status(b, bad, why);
    if (rc != LS_OK)
        return rc;
    if (!apply_crop(w, h, unit_x * (crop_l + crop_r), unit_y * (crop_t + crop_b), width,
                    height)) {
        LS_WHY(why, "codec: implausible SPS picture size or cropping");
        return LS_EPROTO;
    }
    return LS_OK;
}

/* ---- H.264 SPS ---------------------------------------------------------------------- */

/* scaling_list() (7.3.2.1.1.1): only walked, the values are not needed. */
static void skip_scaling_list(struct bits *b, unsigned size, bool *bad)
{
    int32_t last = 8, next = 8;
    unsigned j;

    for (j = 0; j < size && !b->over && !*bad; j++) {
        if (next != 0) {
            int32_t delta = bits_se(b, bad);

            if (delta < -128 || delta > 127) {
                *bad = true;
                return;
            }
            next = (last + delta + 256) % 256;
        }
        last = next == 0 ? last : next;
    }
}

static bool avc_high_profile(uint32_t profile)
{
    switch (profile) {
    case 100: case 110: case 122: case 244: case 44: case 83: case 86: case 118:
    case 128: case 138: case 139: case 134: case 135:
        return true;
    default:
        return false;
    }
}

static int avc_sps_parse(const uint8_t *nal, size_t len, struct ls_avc_config *out,
                         const char **why)
{
    uint8_t rbsp[LS_CODEC_MAX_SPS_RBSP];
    struct bits b;
    bool bad = false;
    uint32_t profile, chroma = 1, poc_type, i, w_mbs, h_units;

    if ((nal[0] & 0x1f) != 7 || (nal[0] & 0x80)) {
        LS_WHY(why, "codec: first avcC parameter set is not an SPS");
        return LS_EPROTO;
    }
    bits_init(&b, rbsp, unescape_nal(nal + 1, len - 1, rbsp, sizeof rbsp));
    profile = bits_u(&b, 8);
    bits_skip(&b, 16); /* constraint flags, level_idc */
    if (bits_ue(&b, &bad) > 31)
        bad = true; /* seq_parameter_set_id */
    if (avc_high_profile(profile)) {
        chroma = bits_ue(&b, &bad);
        if (chroma > 3)
            bad = true;
        if (chroma == 3)
            bits_skip(&b, 1); /* separate_colour_plane_flag: see the crop units below */
        i = bits_ue(&b, &bad); /* bit_depth_luma_minus8 */
        if (i > 6 || bits_ue(&b, &bad) > 6) /* and bit_depth_chroma_minus8 */
            bad = true;
        out->bit_depth_luma = (uint8_t)(8 + (i & 7));
        bits_skip(&b, 1); /* qpprime_y_zero_transform_bypass_flag */
        if (bits_u(&b, 1)) { /* seq_scaling_matrix_present_flag */
            unsigned lists = chroma != 3 ? 8 : 12;

            for (i = 0; i < lists && !b.over && !bad; i++)
                if (bits_u(&b, 1))
                    skip_scaling_list(&b, i < 6 ? 16 : 64, &bad);
        }
    } else {
        out->bit_depth_luma = 8;
    }
    if (bits_ue(&b, &bad) > 12) /* log2_max_frame_num_minus4 */
        bad = true;
    poc_type = bits_ue(&b, &bad);
    if (poc_type == 0) {
        if (bits_ue(&b, &bad) > 12) /* log2_max_pic_order_cnt_lsb_minus4 */
            bad = true;
    } else if (poc_type == 1) {
        uint32_t cycle;

        bits_skip(&b, 1); /* delta_pic_order_always_zero_flag */
        (void)bits_se(&b, &bad); /* offset_for_non_ref_pic */
        (void)bits_se(&b, &bad); /* offset_for_top_to_bottom_field */
        cycle = bits_ue(&b, &bad);
        if (cycle > 255)
            bad = true;
        for (i = 0; i < cycle && !b.over && !bad; i++)
            (void)bits_se(&b, &bad);
    } else if (poc_type > 2) {
        bad = true;
    }
    (void)bits_ue(&b, &bad); /* max_num_ref_frames */
    bits_skip(&b, 1);        /* gaps_in_frame_num_value_allowed_flag */
    w_mbs = bits_ue(&b, &bad);
    h_units = bits_ue(&b, &bad);
    out->frame_mbs_only = bits_u(&b, 1);
    if (!out->frame_mbs_only)
        bits_skip(&b, 1); /* mb_adaptive_frame_field_flag */
    bits_skip(&b, 1);     /* direct_8x8_inference_flag */
    out->chroma_format_idc = (uint8_t)chroma;
    return sps_finish(&b, bad, chroma, ((uint64_t)w_mbs + 1) * 16,
                      ((uint64_t)h_units + 1) * 16 * (out->frame_mbs_only ? 1 : 2),
                      out->frame_mbs_only ? 1 : 2, &out->width, &out->height, why);
}

/*
 * Reads `count` parameter sets of an avcC/hvcC array (UI16 length, then the NAL unit) and
 * keeps the first one when `keep` and none is kept yet. LS_EPROTO with the caller's
 * `truncated` or `empty` reason when the record ends early or a unit is empty.
 */
static int read_nal_array(struct ls_reader *rd, unsigned count, bool keep,
                          const uint8_t **first, size_t *first_len, const char *truncated,
                          const char *empty, const char **why)
{
    uint16_t nal_len;
    const uint8_t *nal;
    unsigned i;

    for (i = 0; i < count; i++) {
        if (!ls_rd_be16(rd, &nal_len) || !ls_rd_bytes(rd, nal_len, &nal)) {
            LS_WHY(why, truncated);
            return LS_EPROTO;
        }
        if (nal_len == 0) {
            LS_WHY(why, empty);
            return LS_EPROTO;
        }
        if (keep && *first == NULL) {
            *first = nal;
            *first_len = nal_len;
        }
    }
    return LS_OK;
}

int ls_codec_avc_config_parse(const uint8_t *p, size_t len, struct ls_avc_config *out,
                              const char **why)
{
    struct ls_reader rd;
    uint8_t version, b, count, j;
    const uint8_t *first_sps = NULL;
    size_t first_sps_len = 0;
    int rc;

    memset(out, 0, sizeof *out);
    ls_rd_init(&rd, p, len);
    if (!ls_rd_u8(&rd, &version) || !ls_rd_u8(&rd, &out->profile) ||
        !ls_rd_u8(&rd, &out->compatibility) || !ls_rd_u8(&rd, &out->level) ||
        !ls_rd_u8(&rd, &b))
        goto truncated;
    if (version != 1) {
        LS_WHY(why, "codec: avcC configurationVersion is not 1");
        return LS_EPROTO;
    }
    out->nal_length_size = (uint8_t)((b & 0x03) + 1);
    /* Two lists of parameter sets: SPS (count in 5 bits), then PPS (8 bits). */
    for (j = 0; j < 2; j++) {
        if (!ls_rd_u8(&rd, &count))
            goto truncated;
        if (j == 0)
            count &= 0x1f;
        rc = read_nal_array(&rd, count, j == 0, &first_sps, &first_sps_len,
                            "codec: truncated avcC", "codec: empty parameter set in avcC", why);
        if (rc != LS_OK)
            return rc;
        if (j == 0)
            out->sps_count = count;
        else
            out->pps_count = count;
    }
    /* High-profile records may go on (chroma format, bit depths, SPS ext): not needed. */
    return first_sps == NULL ? LS_OK : avc_sps_parse(first_sps, first_sps_len, out, why);
truncated:
    LS_WHY(why, "codec: truncated avcC");
    return LS_EPROTO;
}

/* ---- H.265 SPS ---------------------------------------------------------------------- */

static int hevc_sps_parse(const uint8_t *nal, size_t len, struct ls_hevc_config *out,
                          const char **why)
{
    uint8_t rbsp[LS_CODEC_MAX_SPS_RBSP];
    struct bits b;
    bool bad = false, sub_profile[8] = { false }, sub_level[8] = { false };
    uint32_t max_sub_layers, i, chroma, w, h;

    if (len < 2 || ((nal[0] >> 1) & 0x3f) != 33 || (nal[0] & 0x80)) {
        LS_WHY(why, "codec: hvcC SPS array holds a non-SPS NAL unit");
        return LS_EPROTO;
    }
    bits_init(&b, rbsp, unescape_nal(nal + 2, len - 2, rbsp, sizeof rbsp));
    bits_skip(&b, 4); /* sps_video_parameter_set_id */
    max_sub_layers = bits_u(&b, 3);
    if (max_sub_layers > 6)
        bad = true;
    bits_skip(&b, 1); /* sps_temporal_id_nesting_flag */
    /* profile_tier_level(1, max_sub_layers): general part is 88 + 8 bits. */
    bits_skip(&b, 96);
    for (i = 0; i < max_sub_layers && !bad; i++) {
        sub_profile[i] = bits_u(&b, 1);
        sub_level[i] = bits_u(&b, 1);
    }
    if (max_sub_layers > 0 && !bad)
        bits_skip(&b, 2 * (8 - max_sub_layers)); /* reserved_zero_2bits */
    for (i = 0; i < max_sub_layers && !bad; i++) {
        if (sub_profile[i])
            bits_skip(&b, 88);
        if (sub_level[i])
            bits_skip(&b, 8);
    }
    if (bits_ue(&b, &bad) > 15) /* sps_seq_parameter_set_id */
        bad = true;
    chroma = bits_ue(&b, &bad);
    if (chroma > 3)
        bad = true;
    if (chroma == 3)
        bits_skip(&b, 1); /* separate_colour_plane_flag: units are 1 with or without */
    w = bits_ue(&b, &bad);
    h = bits_ue(&b, &bad);
    return sps_finish(&b, bad, chroma, w, h, 1, &out->width, &out->height, why);
}

#define HEVC_NAL_VPS 32
#define HEVC_NAL_SPS 33
#define HEVC_NAL_PPS 34

static uint8_t saturating_add(uint8_t a, uint16_t b)
{
    return a + b > 255 ? 255 : (uint8_t)(a + b);
}

int ls_codec_hevc_config_parse(const uint8_t *p, size_t len, struct ls_hevc_config *out,
                               const char **why)
{
    struct ls_reader rd;
    uint8_t version, b, arrays, a, type;
    uint16_t count;
    uint32_t hi;
    uint16_t lo;
    const uint8_t *first_sps = NULL;
    size_t first_sps_len = 0;
    int rc;

    memset(out, 0, sizeof *out);
    ls_rd_init(&rd, p, len);
    if (!ls_rd_u8(&rd, &version))
        goto truncated;
    if (version != 1) {
        LS_WHY(why, "codec: hvcC configurationVersion is not 1");
        return LS_EPROTO;
    }
    if (!ls_rd_u8(&rd, &b) || !ls_rd_be32(&rd, &out->profile_compatibility) ||
        !ls_rd_be32(&rd, &hi) || !ls_rd_be16(&rd, &lo) || !ls_rd_u8(&rd, &out->level_idc))
        goto truncated;
    out->profile_space = b >> 6;
    out->tier = (b >> 5) & 1;
    out->profile_idc = b & 0x1f;
    out->constraint_flags = (uint64_t)hi << 16 | lo;
    /* min_spatial_segmentation (16), parallelismType (8): skipped. */
    if (!ls_rd_skip(&rd, 3) || !ls_rd_u8(&rd, &b))
        goto truncated;
    out->chroma_format_idc = b & 0x03;
    if (!ls_rd_u8(&rd, &b))
        goto truncated;
    out->bit_depth_luma = (uint8_t)(8 + (b & 0x07));
    if (!ls_rd_u8(&rd, &b))
        goto truncated;
    out->bit_depth_chroma = (uint8_t)(8 + (b & 0x07));
    /* avgFrameRate (16), then constantFrameRate:2 numTemporalLayers:3 nested:1 len:2. */
    if (!ls_rd_skip(&rd, 2) || !ls_rd_u8(&rd, &b) || !ls_rd_u8(&rd, &arrays))
        goto truncated;
    out->num_temporal_layers = (b >> 3) & 0x07;
    out->nal_length_size = (uint8_t)((b & 0x03) + 1);
    for (a = 0; a < arrays; a++) {
        if (!ls_rd_u8(&rd, &type) || !ls_rd_be16(&rd, &count))
            goto truncated;
        type &= 0x3f;
        rc = read_nal_array(&rd, count, type == HEVC_NAL_SPS, &first_sps, &first_sps_len,
                            "codec: truncated hvcC", "codec: empty NAL unit in hvcC", why);
        if (rc != LS_OK)
            return rc;
        if (type == HEVC_NAL_VPS)
            out->vps_count = saturating_add(out->vps_count, count);
        else if (type == HEVC_NAL_SPS)
            out->sps_count = saturating_add(out->sps_count, count);
        else if (type == HEVC_NAL_PPS)
            out->pps_count = saturating_add(out->pps_count, count);
    }
    return first_sps == NULL ? LS_OK : hevc_sps_parse(first_sps, first_sps_len, out, why);
truncated:
    LS_WHY(why, "codec: truncated hvcC");
    return LS_EPROTO;
}

/* ---- AAC AudioSpecificConfig --------------------------------------------------------- */

static const uint32_t aac_rates[13] = {
    96000, 88200, 64000, 48000, 44100, 32000, 24000, 22050, 16000, 12000, 11025, 8000, 7350,
};

static uint8_t aac_object_type(struct bits *b)
{
    uint8_t t = (uint8_t)bits_u(b, 5);

    return t == 31 ? (uint8_t)(32 + bits_u(b, 6)) : t;
}

/* samplingFrequencyIndex, or the escape 0xf followed by a 24-bit rate; 0 when reserved. */
static uint32_t aac_rate(struct bits *b)
{
    uint32_t idx = bits_u(b, 4);

    if (idx == 0x0f)
        return bits_u(b, 24);
    return idx < 13 ? aac_rates[idx] : 0;
}

int ls_codec_aac_config_parse(const uint8_t *p, size_t len, struct ls_aac_config *out,
                              const char **why)
{
    static const uint8_t channels[16] = { 0, 1, 2, 3, 4, 5, 6, 8, 0, 0, 0, 7, 8, 24, 8, 0 };
    struct bits b;

    memset(out, 0, sizeof *out);
    bits_init(&b, p, len);
    out->object_type = aac_object_type(&b);
    out->rate_hz = aac_rate(&b);
    out->channel_config = (uint8_t)bits_u(&b, 4);
    if (!b.over && out->rate_hz != 0 && (out->object_type == 5 || out->object_type == 29)) {
        /* Explicit hierarchical SBR/PS signalling: the output rate, then the core type. */
        out->sbr = true;
        out->rate_hz = aac_rate(&b);
        out->object_type = aac_object_type(&b);
    }
    if (b.over) {
        LS_WHY(why, "codec: truncated AudioSpecificConfig");
        return LS_EPROTO;
    }
    if (out->rate_hz == 0) {
        LS_WHY(why, "codec: reserved AAC sampling frequency");
        return LS_EPROTO;
    }
    out->channels = channels[out->channel_config];
    return LS_OK;
}
