/*
 * libFuzzer target for amf3.c: arbitrary bytes as a sequence of AMF3 values decoded with
 * one decoder (so references reach across values, as in a message).
 *
 * Oracle beyond "no crash, no leak, no UB": every decoded value re-encodes without error
 * and decodes back to an equal value (or stops at a limit: references are expanded and
 * traits sent inline on output, so the re-encoding can be larger).
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "libstream/amf.h"
#include "libstream/amf3.h"
#include "libstream/buf.h"

#define MAX_VALUES 64

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct ls_amf_value vals[MAX_VALUES];
    struct ls_amf3_decoder d;
    size_t n = 0, pos = 0, i;
    ssize_t rc;

    ls_amf3_decoder_init(&d, NULL);
    while (pos < size && n < MAX_VALUES) {
        vals[n] = (struct ls_amf_value)LS_AMF_VALUE_INIT;
        rc = ls_amf3_decode(&d, data + pos, size - pos, &vals[n], NULL);
        if (rc < 0) {
            if (vals[n].type != LS_AMF_NULL)
                abort();
            break;
        }
        if (rc == 0 || (size_t)rc > size - pos)
            abort();
        pos += (size_t)rc;
        n++;
    }
    for (i = 0; i < n; i++) {
        struct ls_amf3_decoder d2;
        struct ls_amf_value back = LS_AMF_VALUE_INIT;
        struct ls_buf b;

        ls_buf_init(&b, 0);
        ls_amf3_encode(&b, &vals[i]);
        if (ls_buf_status(&b) != LS_OK)
            abort();
        ls_amf3_decoder_init(&d2, NULL);
        rc = ls_amf3_decode(&d2, b.data, b.len, &back, NULL);
        if (rc >= 0 && ((size_t)rc != b.len || !ls_amf_equal(&back, &vals[i])))
            abort();
        if (rc < 0 && rc != LS_ELIMIT)
            abort();
        ls_amf_clear(&back);
        ls_amf3_decoder_free(&d2);
        ls_buf_free(&b);
    }
    for (i = 0; i < n; i++)
        ls_amf_clear(&vals[i]);
    ls_amf3_decoder_free(&d);
    return 0;
}
