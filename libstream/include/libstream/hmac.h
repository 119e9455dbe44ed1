/*
 * hmac.h — HMAC-SHA256 (RFC 2104, FIPS 180-4) and HKDF-SHA256 (RFC 5869): the one signing
 * helper behind stream tokens (token.h), internal-pull signatures (peersig.h) and the
 * registry hello (smdproto.h), and the derivation of one key per use from cluster_secret
 * (so a signature made for the registry link is never valid for a pull, and the other way
 * round). Pure computation through OpenSSL; no global state of ours.
 */
#ifndef LIBSTREAM_HMAC_H
#define LIBSTREAM_HMAC_H

#include <stddef.h>
#include <stdint.h>

#include "libstream/err.h"

/* Bytes of an HMAC-SHA256, and its hex characters. */
#define LS_HMAC_LEN 32
#define LS_HMAC_HEX_LEN 64
/* Longest HKDF info (label) accepted. */
#define LS_HKDF_INFO_MAX 128

/* out = HMAC-SHA256(key[0..key_len), msg[0..len)). LS_OK, or LS_ENOMEM when OpenSSL fails. */
LS_MUST_CHECK int ls_hmac_sha256(const void *key, size_t key_len, const void *msg, size_t len,
                                 uint8_t out[LS_HMAC_LEN]);

/*
 * Writes lower-case hex of HMAC-SHA256(key, msg[0..len)), NUL-terminated, into
 * out[LS_HMAC_HEX_LEN + 1]. `key` is a NUL-terminated secret ("" allowed). Returns LS_OK,
 * or LS_ENOMEM when OpenSSL's HMAC fails (out is then "").
 */
LS_MUST_CHECK int ls_hmac_sha256_hex(const char *key, const void *msg, size_t len,
                                     char out[LS_HMAC_HEX_LEN + 1]);

/*
 * HKDF-SHA256 (RFC 5869): out_len bytes (at most 255 × 32) of output keying material from
 * `ikm`, `salt` (salt_len 0 = the RFC's zero salt) and `info` (at most LS_HKDF_INFO_MAX
 * bytes). LS_OK, LS_EINVAL for sizes out of range, LS_ENOMEM when OpenSSL fails.
 */
LS_MUST_CHECK int ls_hkdf_sha256(const void *ikm, size_t ikm_len, const void *salt,
                                 size_t salt_len, const void *info, size_t info_len,
                                 uint8_t *out, size_t out_len);

/*
 * The key for one use of a shared secret: lower-case hex of 32 bytes of
 * HKDF-SHA256(IKM = secret, salt = "livecluster", info = label), NUL-terminated, in
 * out[LS_HMAC_HEX_LEN + 1]. The hex text is then the key given to ls_hmac_sha256_hex.
 * Labels in use: LS_SMD_KEY_LABEL (smdproto.h), LS_PEERSIG_KEY_LABEL (peersig.h).
 * LS_EINVAL for NULL arguments; LS_ENOMEM when OpenSSL fails (out is then "").
 */
LS_MUST_CHECK int ls_hmac_derive_key(const char *secret, const char *label,
                                     char out[LS_HMAC_HEX_LEN + 1]);

#endif /* LIBSTREAM_HMAC_H */
