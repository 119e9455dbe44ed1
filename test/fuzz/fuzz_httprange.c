/*
 * libFuzzer target for httprange.c (the HTTP Range header).
 *
 * Input: 8 bytes of representation size (big-endian; the high bits are masked so small
 * and huge sizes both occur), then the header value (NUL bytes end it, as evhttp would).
 * Checked beyond "no crash / UB": a range returned lies within the representation, and
 * nothing is returned for an empty one.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "libstream/httprange.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    uint64_t len = 0, first = 0, last = 0;
    char *value;
    size_t i;
    int rc;

    if (size < 8)
        return 0;
    for (i = 0; i < 8; i++)
        len = len << 8 | data[i];
    if ((len >> 63) == 0)
        len &= 0xffff; /* half the inputs use small sizes the ranges can reach */
    value = malloc(size - 8 + 1);
    if (value == NULL)
        return 0;
    memcpy(value, data + 8, size - 8);
    value[size - 8] = '\0';
    rc = ls_http_range_parse(value, len, &first, &last);
    if (rc == LS_OK && (len == 0 || first > last || last >= len))
        abort();
    if (rc != LS_OK && rc != LS_ENOTFOUND && rc != LS_ELIMIT)
        abort();
    free(value);
    return 0;
}
