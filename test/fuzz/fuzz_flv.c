/*
 * libFuzzer target for flv.c (and codec.c on what it delivers).
 *
 * Input: one mode byte, then an FLV stream. The mode's low 7 bits + 1 give the size of
 * the pieces the stream is fed in (exercising every partial-header state); its high bit
 * selects a small max_tag_size (4096) so the limit path is reached too.
 * Checked beyond "no crash / leak / UB": feed never claims more bytes than it was given,
 * an event always consumes at least one byte, and every delivered tag survives the
 * writer -> reader round trip unchanged.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "libstream/buf.h"
#include "libstream/codec.h"
#include "libstream/flv.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void inspect(const struct ls_frame *f)
{
    if (f->type == LS_FLV_TAG_VIDEO) {
        struct ls_video_info vi;

        if (ls_codec_video_inspect(f->data, f->len, &vi, NULL) != LS_OK)
            return;
        if (vi.header_len > f->len)
            abort();
        if (vi.packet == LS_VPKT_SEQUENCE_HEADER && vi.codec == LS_VIDEO_H264) {
            struct ls_avc_config c;

            if (ls_codec_avc_config_parse(f->data + vi.header_len, f->len - vi.header_len,
                                          &c, NULL) == LS_OK &&
                c.height > LS_CODEC_MAX_DIMENSION)
                abort();
        } else if (vi.packet == LS_VPKT_SEQUENCE_HEADER && vi.codec == LS_VIDEO_HEVC) {
            struct ls_hevc_config c;

            if (ls_codec_hevc_config_parse(f->data + vi.header_len, f->len - vi.header_len,
                                           &c, NULL) == LS_OK &&
                c.height > LS_CODEC_MAX_DIMENSION)
                abort();
        }
    } else if (f->type == LS_FLV_TAG_AUDIO) {
        struct ls_audio_info ai;

        if (ls_codec_audio_inspect(f->data, f->len, &ai, NULL) != LS_OK)
            return;
        if (ai.header_len > f->len)
            abort();
        if (ai.sequence_header && ai.codec == LS_AUDIO_AAC) {
            struct ls_aac_config c;

            if (ls_codec_aac_config_parse(f->data + ai.header_len, f->len - ai.header_len,
                                          &c, NULL) == LS_OK &&
                c.rate_hz == 0)
                abort();
        }
    }
}

/* Writes the tag as a one-tag FLV and reads it back: must give the same frame. */
static void round_trip(const struct ls_frame *f)
{
    struct ls_buf b;
    struct ls_flv_reader *r;
    struct ls_flv_event ev;
    ssize_t n;
    size_t off = 0;
    int events = 0;

    ls_buf_init(&b, 0);
    if (ls_flv_write_header(&b, true, true) != LS_OK ||
        ls_flv_write_tag(&b, f->type, f->timestamp, f->data, f->len) != LS_OK) {
        ls_buf_free(&b);
        return; /* out of memory only */
    }
    r = ls_flv_reader_new(NULL);
    if (r == NULL) {
        ls_buf_free(&b);
        return;
    }
    while ((n = ls_flv_reader_feed(r, b.data + off, b.len - off, &ev, NULL)) > 0) {
        off += (size_t)n;
        if (ev.type == LS_FLV_EV_TAG) {
            if (ev.tag->type != f->type || ev.tag->timestamp != f->timestamp ||
                ev.tag->len != f->len || memcmp(ev.tag->data, f->data, f->len) != 0)
                abort();
            ls_frame_unref(ev.tag);
            events++;
        }
    }
    if (n != LS_AGAIN || events != 1 || !ls_flv_reader_at_boundary(r))
        abort();
    ls_flv_reader_free(r);
    ls_buf_free(&b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct ls_flv_limits lim = { 0, 0 };
    struct ls_flv_reader *r;
    size_t piece, off = 0;
    int rc = LS_AGAIN;

    if (size < 1)
        return 0;
    piece = (size_t)(data[0] & 0x7f) + 1;
    if (data[0] & 0x80)
        lim.max_tag_size = 4096;
    data++;
    size--;
    r = ls_flv_reader_new(&lim);
    if (r == NULL)
        return 0;
    while (off < size && rc == LS_AGAIN) {
        size_t len = size - off < piece ? size - off : piece;
        size_t used = 0;

        for (;;) {
            struct ls_flv_event ev;
            ssize_t n = ls_flv_reader_feed(r, data + off + used, len - used, &ev, NULL);

            if (n < 0) {
                rc = (int)n;
                break;
            }
            if (n == 0 || (size_t)n > len - used)
                abort();
            used += (size_t)n;
            if (ev.type == LS_FLV_EV_TAG) {
                inspect(ev.tag);
                round_trip(ev.tag);
                ls_frame_unref(ev.tag);
            }
        }
        off += len;
    }
    ls_flv_reader_free(r);
    return 0;
}
