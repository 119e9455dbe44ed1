/*
 * nonce.c — per-connection challenges (see nonce.h). Layer: foundation of the cluster's
 * authentication, beside hmac.c; randomness from OpenSSL's CSPRNG, the hex is hex.c's.
 */
#include <openssl/rand.h>

#include "libstream/hex.h"
#include "libstream/nonce.h"

int ls_nonce_make(char out[LS_NONCE_HEX + 1])
{
    unsigned char raw[LS_NONCE_HEX / 2];

    if (RAND_bytes(raw, sizeof raw) != 1) {
        out[0] = '\0';
        return LS_EIO;
    }
    ls_hex_encode(raw, sizeof raw, out);
    return LS_OK;
}
