/*
 * libFuzzer target for codec.c.
 *
 * Input: one selector byte, then the bytes handed to one parser: 0 video header,
 * 1 audio header, 2 avcC, 3 hvcC, 4 AudioSpecificConfig (selector % 5). The parsers get
 * an exact-size heap copy so ASan sees any over-read. Beyond "no crash / UB": header_len
 * never exceeds the input, and sizes from an SPS respect LS_CODEC_MAX_DIMENSION.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "libstream/codec.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    uint8_t *p;
    size_t len;

    if (size < 1)
        return 0;
    len = size - 1;
    p = malloc(len ? len : 1);
    if (p == NULL)
        return 0;
    if (len)
        memcpy(p, data + 1, len);
    switch (data[0] % 5) {
    case 0: {
        struct ls_video_info vi;

        if (ls_codec_video_inspect(p, len, &vi, NULL) == LS_OK &&
            (vi.header_len > len || (vi.keyframe && vi.packet != LS_VPKT_FRAME)))
            abort();
        break;
    }
    case 1: {
        struct ls_audio_info ai;

        if (ls_codec_audio_inspect(p, len, &ai, NULL) == LS_OK && ai.header_len > len)
            abort();
        break;
    }
    case 2: {
        struct ls_avc_config c;

        if (ls_codec_avc_config_parse(p, len, &c, NULL) == LS_OK &&
            (c.width > LS_CODEC_MAX_DIMENSION || c.height > LS_CODEC_MAX_DIMENSION ||
             (c.sps_count > 0 && (c.width == 0 || c.height == 0))))
            abort();
        break;
    }
    case 3: {
        struct ls_hevc_config c;

        if (ls_codec_hevc_config_parse(p, len, &c, NULL) == LS_OK &&
            (c.width > LS_CODEC_MAX_DIMENSION || c.height > LS_CODEC_MAX_DIMENSION ||
             (c.sps_count > 0 && (c.width == 0 || c.height == 0))))
            abort();
        break;
    }
    default: {
        struct ls_aac_config c;

        if (ls_codec_aac_config_parse(p, len, &c, NULL) == LS_OK && c.rate_hz == 0)
            abort();
        break;
    }
    }
    free(p);
    return 0;
}
