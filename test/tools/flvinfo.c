/*
 * flvinfo — summarises an FLV file with libstream's FLV reader and codec inspection, for
 * comparison with ffprobe (test/integration/t_flv_vs_ffprobe.sh).
 *
 * Usage: flvinfo FILE
 * Prints one line:
 *   video_tags=N video_keyframes=N audio_tags=N script_tags=N video_codec=C audio_codec=C
 *   width=W height=H
 * followed on the same line by details ffprobe's view needs:
 *   video_frames=N (tags with coded pictures: what ffprobe counts as packets)
 *   video_seq_headers=N audio_frames=N audio_seq_headers=N audio_rate=HZ audio_channels=N
 *   prev_size_mismatches=N skipped_tags=N
 * video_keyframes counts coded key frames, never sequence headers. width/height come from
 * the first AVC/HEVC sequence header's SPS (0 when there is none). audio_rate/channels come
 * from the AAC AudioSpecificConfig when there is one, else from the first tag's header bits.
 * Exit status: 0 on success, 1 on a malformed or truncated file, 2 on usage or I/O errors.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "libstream/codec.h"
#include "libstream/flv.h"

struct summary {
    unsigned long video_tags, video_keyframes, video_frames, video_seq_headers;
    unsigned long audio_tags, audio_frames, audio_seq_headers, script_tags;
    enum ls_video_codec vcodec;
    enum ls_audio_codec acodec;
    uint32_t width, height;
    unsigned audio_rate, audio_channels;
    bool have_vcodec, have_acodec, have_size, have_asc;
    unsigned long bad_payloads;
};

static void video_tag(struct summary *s, const struct ls_frame *f)
{
    struct ls_video_info vi;
    const char *why = NULL;

    s->video_tags++;
    if (ls_codec_video_inspect(f->data, f->len, &vi, &why) != LS_OK) {
        fprintf(stderr, "flvinfo: video tag at %u ms: %s\n", f->timestamp, why);
        s->bad_payloads++;
        return;
    }
    if (!s->have_vcodec && vi.codec != LS_VIDEO_NONE) {
        s->vcodec = vi.codec;
        s->have_vcodec = true;
    }
    if (vi.keyframe)
        s->video_keyframes++;
    /* ffmpeg's demuxer drops empty NALU packets (e.g. an end-of-sequence stand-in). */
    if (vi.packet == LS_VPKT_FRAME && f->len > vi.header_len)
        s->video_frames++;
    if (vi.packet != LS_VPKT_SEQUENCE_HEADER)
        return;
    s->video_seq_headers++;
    if (s->have_size)
        return;
    if (vi.codec == LS_VIDEO_H264) {
        struct ls_avc_config c;

        if (ls_codec_avc_config_parse(f->data + vi.header_len, f->len - vi.header_len, &c,
                                      &why) == LS_OK) {
            s->width = c.width;
            s->height = c.height;
            s->have_size = true;
        } else {
            fprintf(stderr, "flvinfo: avcC: %s\n", why);
            s->bad_payloads++;
        }
    } else if (vi.codec == LS_VIDEO_HEVC) {
        struct ls_hevc_config c;

        if (ls_codec_hevc_config_parse(f->data + vi.header_len, f->len - vi.header_len, &c,
                                       &why) == LS_OK) {
            s->width = c.width;
            s->height = c.height;
            s->have_size = true;
        } else {
            fprintf(stderr, "flvinfo: hvcC: %s\n", why);
            s->bad_payloads++;
        }
    }
}

static void audio_tag(struct summary *s, const struct ls_frame *f)
{
    struct ls_audio_info ai;
    const char *why = NULL;

    s->audio_tags++;
    if (ls_codec_audio_inspect(f->data, f->len, &ai, &why) != LS_OK) {
        fprintf(stderr, "flvinfo: audio tag at %u ms: %s\n", f->timestamp, why);
        s->bad_payloads++;
        return;
    }
    if (!s->have_acodec) {
        s->acodec = ai.codec;
        s->audio_rate = ai.rate_hz;
        s->audio_channels = ai.channels;
        s->have_acodec = true;
    }
    if (!ai.sequence_header) {
        s->audio_frames++;
        return;
    }
    s->audio_seq_headers++;
    if (ai.codec == LS_AUDIO_AAC && !s->have_asc) {
        struct ls_aac_config c;

        if (ls_codec_aac_config_parse(f->data + ai.header_len, f->len - ai.header_len, &c,
                                      &why) == LS_OK) {
            s->audio_rate = c.rate_hz;
            s->audio_channels = c.channels;
            s->have_asc = true;
        } else {
            fprintf(stderr, "flvinfo: AudioSpecificConfig: %s\n", why);
            s->bad_payloads++;
        }
    }
}

int main(int argc, char **argv)
{
    static uint8_t chunk[64 * 1024];
    struct summary s;
    struct ls_flv_reader *r;
    struct ls_flv_stats st;
    FILE *fp;
    size_t n;
    int status = 0;

    if (argc != 2) {
        fprintf(stderr, "usage: flvinfo FILE\n");
        return 2;
    }
    fp = fopen(argv[1], "rb");
    if (fp == NULL) {
        fprintf(stderr, "flvinfo: %s: %s\n", argv[1], strerror(errno));
        return 2;
    }
    r = ls_flv_reader_new(NULL);
    if (r == NULL) {
        fprintf(stderr, "flvinfo: out of memory\n");
        fclose(fp);
        return 2;
    }
    memset(&s, 0, sizeof s);
    while (status == 0 && (n = fread(chunk, 1, sizeof chunk, fp)) > 0) {
        const uint8_t *p = chunk;

        while (n > 0) {
            struct ls_flv_event ev;
            const char *why = NULL;
            ssize_t used = ls_flv_reader_feed(r, p, n, &ev, &why);

            if (used == LS_AGAIN)
                break;
            if (used < 0) {
                fprintf(stderr, "flvinfo: %s: %s (%s)\n", argv[1], ls_strerror((int)used), why);
                status = 1;
                break;
            }
            p += used;
            n -= (size_t)used;
            if (ev.type != LS_FLV_EV_TAG)
                continue;
            if (ev.tag->type == LS_FLV_TAG_VIDEO)
                video_tag(&s, ev.tag);
            else if (ev.tag->type == LS_FLV_TAG_AUDIO)
                audio_tag(&s, ev.tag);
            else
                s.script_tags++;
            ls_frame_unref(ev.tag);
        }
    }
    if (ferror(fp)) {
        fprintf(stderr, "flvinfo: %s: read error\n", argv[1]);
        status = 2;
    } else if (status == 0 && !ls_flv_reader_at_boundary(r)) {
        fprintf(stderr, "flvinfo: %s: truncated FLV (ends inside a header or tag)\n", argv[1]);
        status = 1;
    }
    fclose(fp);
    ls_flv_reader_stats(r, &st);
    ls_flv_reader_free(r);
    if (status != 0)
        return status;
    printf("video_tags=%lu video_keyframes=%lu audio_tags=%lu script_tags=%lu "
           "video_codec=%s audio_codec=%s width=%u height=%u "
           "video_frames=%lu video_seq_headers=%lu audio_frames=%lu audio_seq_headers=%lu "
           "audio_rate=%u audio_channels=%u prev_size_mismatches=%llu skipped_tags=%llu\n",
           s.video_tags, s.video_keyframes, s.audio_tags, s.script_tags,
           s.have_vcodec ? ls_codec_video_name(s.vcodec) : "none",
           s.have_acodec ? ls_codec_audio_name(s.acodec) : "none", s.width, s.height,
           s.video_frames, s.video_seq_headers, s.audio_frames, s.audio_seq_headers,
           s.audio_rate, s.audio_channels, (unsigned long long)st.prev_size_mismatches,
           (unsigned long long)st.skipped_tags);
    return s.bad_payloads > 0 ? 1 : 0;
}
