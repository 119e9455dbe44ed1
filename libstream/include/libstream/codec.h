/*
 * codec.h — what an audio/video message payload contains.
 *
 * An RTMP audio (type 8) or video (type 9) message payload is byte for byte an FLV
 * AUDIODATA / VIDEODATA tag body (FLV spec v10.1 E.4.2, E.4.3), optionally in the
 * Enhanced RTMP form (veovera enhanced-rtmp v1 and v2: ExVideoTagHeader, ExAudioTagHeader).
 * This module reads those headers — codec, frame type, packet type, composition time —
 * so the hub can tell sequence headers from key frames from inter frames, and parses the
 * decoder configuration records (AVCDecoderConfigurationRecord, HEVCDecoderConfiguration
 * Record, AudioSpecificConfig) far enough for codec parameters and the coded picture size.
 *
 * Pure: bytes in, values out. Every function reads only within [p, p + len), allocates
 * nothing and keeps no state; `why` (optional) receives a static reason on failure.
 * Results are written to `*out` only as far as parsed; on failure its contents are
 * unspecified.
 */
#ifndef LIBSTREAM_CODEC_H
#define LIBSTREAM_CODEC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "libstream/err.h"

/* A FourCC as a big-endian 32-bit number, as it appears on the wire. */
#define LS_FOURCC(a, b, c, d) \
    ((uint32_t)(uint8_t)(a) << 24 | (uint32_t)(uint8_t)(b) << 16 | \
     (uint32_t)(uint8_t)(c) << 8 | (uint32_t)(uint8_t)(d))

/* ---- video -------------------------------------------------------------------------- */

enum ls_video_codec {
    LS_VIDEO_NONE,     /* no codec signalled (enhanced command frames) */
    LS_VIDEO_H263,     /* CodecID 2, Sorenson H.263 */
    LS_VIDEO_SCREEN,   /* CodecID 3, screen video */
    LS_VIDEO_VP6,      /* CodecID 4, On2 VP6 */
    LS_VIDEO_VP6A,     /* CodecID 5, On2 VP6 with alpha */
    LS_VIDEO_SCREEN2,  /* CodecID 6, screen video v2 */
    LS_VIDEO_H264,     /* CodecID 7, or FourCC avc1 */
    LS_VIDEO_HEVC,     /* CodecID 12 (non-Adobe, Chinese CDNs / ffmpeg forks), or hvc1 */
    LS_VIDEO_AV1,      /* FourCC av01 */
    LS_VIDEO_VP9,      /* FourCC vp09 */
    LS_VIDEO_UNKNOWN,  /* any other CodecID or FourCC (vp08 included); fourcc says which */
};

enum ls_video_packet {
    LS_VPKT_SEQUENCE_HEADER,  /* AVCPacketType 0; SequenceStart; MPEG2TSSequenceStart */
    LS_VPKT_FRAME,            /* coded picture data: AVC NALU, CodedFrames(X), legacy data */
    LS_VPKT_END_OF_SEQUENCE,  /* AVCPacketType 2; SequenceEnd */
    LS_VPKT_METADATA,         /* enhanced VideoPacketType Metadata (AMF, e.g. colorInfo) */
    LS_VPKT_COMMAND,          /* FrameType 5: video info/command frame, no picture */
    LS_VPKT_OTHER,            /* reserved for future packet kinds; not produced today */
};

/* VIDEODATA FrameType values (legacy and enhanced alike). */
#define LS_VIDEO_FRAME_KEY 1
#define LS_VIDEO_FRAME_INTER 2
#define LS_VIDEO_FRAME_DISPOSABLE 3
#define LS_VIDEO_FRAME_GENERATED_KEY 4
#define LS_VIDEO_FRAME_COMMAND 5

/* Enhanced RTMP VideoPacketType values (ExVideoTagHeader). */
#define LS_EXVIDEO_SEQUENCE_START 0
#define LS_EXVIDEO_CODED_FRAMES 1
#define LS_EXVIDEO_SEQUENCE_END 2
#define LS_EXVIDEO_CODED_FRAMES_X 3
#define LS_EXVIDEO_METADATA 4
#define LS_EXVIDEO_MPEG2TS_SEQUENCE_START 5
#define LS_EXVIDEO_MULTITRACK 6
#define LS_EXVIDEO_MOD_EX 7

struct ls_video_info {
    enum ls_video_codec codec;
    uint32_t fourcc;          /* enhanced FourCC (LS_FOURCC), 0 if legacy or none */
    bool enhanced;            /* IsExHeader bit set */
    uint8_t frame_type;       /* 1..5, see LS_VIDEO_FRAME_*; 0 for enhanced Metadata */
    bool keyframe;            /* key (or generated key) frame carrying coded picture data;
                               * false for sequence headers, end of sequence, metadata,
                               * commands: a GOP starts only on keyframe == true */
    enum ls_video_packet packet;
    int32_t composition_time; /* signed 24-bit CTS in ms: legacy AVC/HEVC, enhanced
                               * CodedFrames of avc1/hvc1 (single track); 0 otherwise */
    size_t header_len;        /* bytes before the codec data (the decoder configuration
                               * record for a sequence header, the NAL units for a frame);
                               * for multitrack messages: the start of the first track */
    /* Beyond the brief's struct (additions, all zero/false in the common case): */
    uint8_t packet_type;      /* raw AVCPacketType (legacy 7/12) or VideoPacketType after
                               * any ModEx and Multitrack prefix (enhanced); 0 otherwise */
    bool multitrack;          /* enhanced Multitrack message: tracks are not parsed; codec
                               * and fourcc are the shared FourCC (LS_VIDEO_UNKNOWN / 0 for
                               * ManyTracksManyCodecs) */
    uint8_t multitrack_type;  /* AvMultitrackType 0..2 when multitrack */
    uint8_t command;          /* VideoCommand byte for LS_VPKT_COMMAND */
    uint32_t timestamp_offset_ns; /* ModEx TimestampOffsetNano (0..999999), else 0 */
};

/*
 * Reads the VIDEODATA / ExVideoTagHeader at the start of a video message payload
 * (`p`, `len` borrowed). Enhanced ModEx prefixes are walked (sizes checked against `len`;
 * TimestampOffsetNano reported, other modifier types skipped).
 * Returns LS_OK and fills `*out`, or:
 *   LS_EPROTO  empty or truncated header, reserved FrameType (0, 6, 7), reserved
 *              AVCPacketType (> 2), Multitrack nested in Multitrack;
 *   LS_EUNSUPPORTED  reserved enhanced VideoPacketType (8..15, or ModEx after a Multitrack
 *              prefix) or reserved AvMultitrackType (> 2): the header layout is unknown.
 * Unknown legacy CodecIDs and unknown FourCCs are not errors: codec = LS_VIDEO_UNKNOWN.
 */
LS_MUST_CHECK int ls_codec_video_inspect(const uint8_t *p, size_t len,
                                         struct ls_video_info *out, const char **why);

/* ---- audio -------------------------------------------------------------------------- */

enum ls_audio_codec {
    LS_AUDIO_NONE,
    LS_AUDIO_PCM,        /* SoundFormat 0, platform endian */
    LS_AUDIO_ADPCM,      /* 1 */
    LS_AUDIO_MP3,        /* 2, 14 (MP3 8 kHz), FourCC .mp3 */
    LS_AUDIO_PCM_LE,     /* 3 */
    LS_AUDIO_NELLYMOSER, /* 4 (16 kHz mono), 5 (8 kHz mono), 6 */
    LS_AUDIO_G711A,      /* 7 */
    LS_AUDIO_G711U,      /* 8 */
    LS_AUDIO_AAC,        /* 10, FourCC mp4a */
    LS_AUDIO_SPEEX,      /* 11 */
    LS_AUDIO_OPUS,       /* FourCC Opus */
    LS_AUDIO_FLAC,       /* FourCC fLaC */
    LS_AUDIO_AC3,        /* FourCC ac-3 */
    LS_AUDIO_EAC3,       /* FourCC ec-3 */
    LS_AUDIO_UNKNOWN,    /* 12, 13 (reserved), 15 (device specific), unknown FourCC */
};

/* SoundFormat 9 announces the Enhanced RTMP v2 ExAudioTagHeader. */
#define LS_AUDIO_FORMAT_EX_HEADER 9

/* Enhanced RTMP AudioPacketType values (ExAudioTagHeader). */
#define LS_EXAUDIO_SEQUENCE_START 0
#define LS_EXAUDIO_CODED_FRAMES 1
#define LS_EXAUDIO_SEQUENCE_END 2
#define LS_EXAUDIO_MULTICHANNEL_CONFIG 4
#define LS_EXAUDIO_MULTITRACK 5
#define LS_EXAUDIO_MOD_EX 7

struct ls_audio_info {
    enum ls_audio_codec codec;
    uint8_t sound_format;   /* SoundFormat 0..15 (9 when enhanced) */
    uint32_t fourcc;        /* enhanced FourCC, 0 if legacy */
    bool enhanced;
    bool sequence_header;   /* AACPacketType 0, or enhanced SequenceStart: cache it */
    unsigned rate_hz;       /* from the header bits (5512/11025/22050/44100) or implied by
                             * the format (Nellymoser 8k/16k, MP3 8k, Speex 16k, G.711 8k);
                             * for AAC this is the nominal 44100 every muxer writes: the
                             * real rate is in the AudioSpecificConfig
                             * (ls_codec_aac_config_parse). 0 when enhanced. */
    unsigned bits;          /* 8 or 16 per SoundSize; 0 when enhanced */
    unsigned channels;      /* 1 or 2 per SoundType (or implied mono); 0 when enhanced */
    size_t header_len;      /* bytes before the codec data (2 for AAC, 1 for other legacy) */
    /* Additions beyond the brief's struct: */
    uint8_t packet_type;    /* raw AACPacketType, or AudioPacketType after ModEx and
                             * Multitrack prefixes; 0 otherwise */
    bool multitrack;        /* enhanced Multitrack message (tracks not parsed) */
    uint8_t multitrack_type;
    uint32_t timestamp_offset_ns; /* ModEx TimestampOffsetNano, else 0 */
};

/*
 * Reads the AUDIODATA / ExAudioTagHeader at the start of an audio message payload.
 * Returns LS_OK and fills `*out`, or:
 *   LS_EPROTO  empty or truncated header, reserved AACPacketType (> 1), Multitrack nested
 *              in Multitrack;
 *   LS_EUNSUPPORTED  reserved enhanced AudioPacketType or AvMultitrackType.
 * Unknown SoundFormats and FourCCs are not errors: codec = LS_AUDIO_UNKNOWN.
 */
LS_MUST_CHECK int ls_codec_audio_inspect(const uint8_t *p, size_t len,
                                         struct ls_audio_info *out, const char **why);

/* Static lower-case names: "h264", "hevc", "av1", "vp9", "vp6", "vp6a", "h263", "screen",
 * "screen2", "none", "unknown"; "aac", "mp3", "opus", "flac", "ac3", "eac3", "speex",
 * "nellymoser", "g711a", "g711u", "pcm", "pcm_le", "adpcm", "none", "unknown".
 * Out-of-range values give "unknown". Never NULL. */
const char *ls_codec_video_name(enum ls_video_codec c);
const char *ls_codec_audio_name(enum ls_audio_codec c);

/* ---- decoder configuration records -------------------------------------------------- */

/* Sanity bound on a coded picture dimension, in pixels; larger SPS values are refused. */
#define LS_CODEC_MAX_DIMENSION 65535u
/*
 * Size of the stack buffer an SPS is unescaped into (emulation-prevention bytes removed).
 * The fields parsed here end within about 3.2 KiB in the worst legal case (all twelve
 * scaling lists, 255 maximal offset_for_ref_frame values, every ue(v) at 63 bits), so
 * a longer SPS only loses VUI/extension bytes that are never examined.
 */
#define LS_CODEC_MAX_SPS_RBSP 4096u

struct ls_avc_config {
    uint8_t profile;           /* AVCProfileIndication (66 baseline, 77 main, 100 high…) */
    uint8_t compatibility;     /* profile_compatibility (constraint flags) */
    uint8_t level;             /* AVCLevelIndication (e.g. 30 = 3.0) */
    uint8_t nal_length_size;   /* lengthSizeMinusOne + 1: 1, 2 or 4 (3 reported as is) */
    uint8_t sps_count;
    uint8_t pps_count;
    /* From the first SPS (all 0 when the record carries no SPS): */
    uint8_t chroma_format_idc; /* 0 mono, 1 4:2:0, 2 4:2:2, 3 4:4:4 */
    uint8_t bit_depth_luma;    /* 8.. */
    bool frame_mbs_only;
    uint32_t width;            /* displayed size: macroblocks minus frame cropping */
    uint32_t height;
};

/*
 * Parses an AVCDecoderConfigurationRecord (ISO/IEC 14496-15 5.3.3.1; the codec data of
 * an AVC sequence header, i.e. payload + ls_video_info.header_len) and the first SPS
 * (ITU-T H.264 7.3.2.1.1) up to frame cropping: scaling lists are walked, not kept.
 * Returns LS_OK, or LS_EPROTO for a truncated/malformed record or SPS (configuration
 * version != 1, zero-length or non-SPS NAL unit, exp-Golomb overflow (> 31 leading
 * zeros), out-of-range syntax values, size over LS_CODEC_MAX_DIMENSION, cropping that
 * leaves no picture).
 */
LS_MUST_CHECK int ls_codec_avc_config_parse(const uint8_t *p, size_t len,
                                            struct ls_avc_config *out, const char **why);

struct ls_hevc_config {
    uint8_t profile_space;
    uint8_t tier;                  /* general_tier_flag */
    uint8_t profile_idc;           /* 1 Main, 2 Main 10, 3 Main Still, 4 RExt… */
    uint32_t profile_compatibility;
    uint64_t constraint_flags;     /* 48 bits */
    uint8_t level_idc;             /* 30 x level: 93 = 3.1 */
    uint8_t chroma_format_idc;
    uint8_t bit_depth_luma;
    uint8_t bit_depth_chroma;
    uint8_t nal_length_size;
    uint8_t num_temporal_layers;
    uint8_t vps_count;             /* NAL units in the VPS / SPS / PPS arrays */
    uint8_t sps_count;
    uint8_t pps_count;
    uint32_t width;                /* from the first SPS, conformance window applied; */
    uint32_t height;               /* 0 when the record carries no SPS */
};

/*
 * Parses an HEVCDecoderConfigurationRecord (ISO/IEC 14496-15 8.3.3.1) and the first SPS
 * (ITU-T H.265 7.3.2.2) up to the conformance window. Counts above 255 saturate.
 * Returns LS_OK, or LS_EPROTO (truncated/malformed record or SPS, configuration version
 * != 1, sps_max_sub_layers_minus1 > 6, out-of-range syntax values, implausible size).
 */
LS_MUST_CHECK int ls_codec_hevc_config_parse(const uint8_t *p, size_t len,
                                             struct ls_hevc_config *out, const char **why);

struct ls_aac_config {
    uint8_t object_type;     /* 2 = AAC-LC, 5 = SBR, 29 = PS …; for explicit SBR/PS
                              * signalling, the underlying object type */
    bool sbr;                /* explicit SBR/PS signalling (object type 5 or 29) */
    uint32_t rate_hz;        /* sampling rate (the SBR output rate when sbr) */
    uint8_t channel_config;  /* channelConfiguration 0..15 */
    uint8_t channels;        /* channels for that configuration; 0 = defined in a PCE
                              * or reserved */
};

/*
 * Parses the start of an AudioSpecificConfig (ISO/IEC 14496-3 1.6.2.1; the codec data of
 * an AAC sequence header, i.e. payload + ls_audio_info.header_len).
 * Returns LS_OK, or LS_EPROTO when truncated or the sampling frequency index is reserved.
 */
LS_MUST_CHECK int ls_codec_aac_config_parse(const uint8_t *p, size_t len,
                                            struct ls_aac_config *out, const char **why);

#endif /* LIBSTREAM_CODEC_H */
