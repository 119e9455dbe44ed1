/*
 * hmac.h — HMAC-SHA256 (RFC 2104, FIPS 180-4) as lower-case hex: the one signing helper
 * behind stream tokens (token.h), internal-pull signatures (peersig.h) and the registry
 * hello (smdproto.h). Pure computation through OpenSSL; no global state of ours.
 */
#ifndef LIBSTREAM_HMAC_H
#define LIBSTREAM_HMAC_H

#include <stddef.h>

#include "libstream/err.h"

/* Hex characters of an HMAC-SHA256 (32 bytes). */
#define LS_HMAC_HEX_LEN 64

/*
 * Writes lower-case hex of HMAC-SHA256(key, msg[0..len)), NUL-terminated, into
 * out[LS_HMAC_HEX_LEN + 1]. `key` is a NUL-terminated secret ("" allowed). Returns LS_OK,
 * or LS_ENOMEM when OpenSSL's HMAC fails (out is then "").
 */
LS_MUST_CHECK int ls_hmac_sha256_hex(const char *key, const void *msg, size_t len,
                                     char out[LS_HMAC_HEX_LEN + 1]);

#endif /* LIBSTREAM_HMAC_H */
