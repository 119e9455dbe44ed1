/*
 * hex.c — hexadecimal digits (see hex.h). Layer: foundation, beside bytes.h; used by the
 * signatures (hmac.c), stream tokens (token.c) and percent-decoding (streamid.c).
 */
#include "libstream/hex.h"

static const char digits[] = "0123456789abcdef";

int ls_hex_value(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

void ls_hex_encode(const uint8_t *p, size_t n, char *out)
{
    size_t i;

    for (i = 0; i < n; i++) {
        out[2 * i] = digits[p[i] >> 4];
        out[2 * i + 1] = digits[p[i] & 15];
    }
    out[2 * n] = '\0';
}

bool ls_hex_lower(const char *s, size_t n, char *out)
{
    size_t i;

    for (i = 0; i < n; i++) {
        int v = ls_hex_value(s[i]);

        if (v < 0) {
            out[i] = '\0';
            return false;
        }
        out[i] = digits[v];
    }
    out[n] = '\0';
    return true;
}
