/*
 * hmac.c — HMAC-SHA256 to hex (see hmac.h). Layer: foundation. RFC 2104 with SHA-256
 * through OpenSSL's one-shot HMAC(); the hex is hex.c's.
 */
#include <string.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "libstream/hex.h"
#include "libstream/hmac.h"

int ls_hmac_sha256_hex(const char *key, const void *msg, size_t len,
                       char out[LS_HMAC_HEX_LEN + 1])
{
    unsigned char mac[EVP_MAX_MD_SIZE];
    unsigned int mac_len = 0;

    if (HMAC(EVP_sha256(), key, (int)strlen(key), msg, len, mac, &mac_len) == NULL ||
        mac_len != LS_HMAC_HEX_LEN / 2) {
        out[0] = '\0';
        return LS_ENOMEM;
    }
    ls_hex_encode(mac, mac_len, out);
    return LS_OK;
}
