/*
 * libFuzzer target for amf0.c: arbitrary bytes as one AMF0 message body.
 *
 * Oracles beyond "no crash, no leak, no UB": a successful decode re-encodes without error,
 * and the re-encoding decodes again (or stops at a limit: references expand on output).
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "libstream/amf.h"
#include "libstream/amf0.h"
#include "libstream/buf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct ls_amf_value *vals = NULL, *again = NULL;
    size_t count = 0, count2 = 0, i;
    struct ls_buf b;
    ssize_t rc;

    rc = ls_amf0_decode_all(data, size, NULL, &vals, &count, NULL);
    if (rc < 0) {
        if (vals != NULL || count != 0)
            abort();
        return 0;
    }
    if ((size_t)rc != size)
        abort();
    ls_buf_init(&b, 0);
    for (i = 0; i < count; i++)
        ls_amf0_encode(&b, &vals[i]);
    if (ls_buf_status(&b) != LS_OK)
        abort();
    rc = ls_amf0_decode_all(b.data, b.len, NULL, &again, &count2, NULL);
    if (rc >= 0 && count2 != count)
        abort();
    if (rc < 0 && rc != LS_ELIMIT)
        abort();
    ls_amf_values_free(again, count2);
    ls_amf_values_free(vals, count);
    ls_buf_free(&b);
    return 0;
}
