/*
 * hmac.c — HMAC-SHA256 to hex and the key derivation from cluster_secret (see hmac.h).
 * Layer: foundation. RFC 2104 with SHA-256 through OpenSSL's one-shot HMAC(); HKDF
 * (RFC 5869) is written out on top of it, so every MAC in the project goes through here;
 * the hex is hex.c's.
 *
 *   PRK = HMAC(salt, IKM)                              extract
 *   T(i) = HMAC(PRK, T(i-1) | info | i),  OKM = T(1) | T(2) | …   expand
 */
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "libstream/hex.h"
#include "libstream/hmac.h"

/* Salt of every key derived from cluster_secret: fixed, public, the project's name. */
#define HMAC_DERIVE_SALT "livecluster"
#define HMAC_LEN 32u

int ls_hmac_sha256(const void *key, size_t key_len, const void *msg, size_t len,
                   uint8_t out[LS_HMAC_LEN])
{
    unsigned int mac_len = 0;
    static const uint8_t none;

    /* OpenSSL wants a non-NULL key even when it is empty. */
    if (key_len > (size_t)INT32_MAX ||
        HMAC(EVP_sha256(), key_len > 0 ? key : &none, (int)key_len, msg, len, out,
             &mac_len) == NULL ||
        mac_len != LS_HMAC_LEN)
        return LS_ENOMEM;
    return LS_OK;
}

int ls_hmac_sha256_hex(const char *key, const void *msg, size_t len,
                       char out[LS_HMAC_HEX_LEN + 1])
{
    uint8_t mac[LS_HMAC_LEN];

    if (ls_hmac_sha256(key, strlen(key), msg, len, mac) != LS_OK) {
        out[0] = '\0';
        return LS_ENOMEM;
    }
    ls_hex_encode(mac, LS_HMAC_LEN, out);
    return LS_OK;
}

int ls_hkdf_sha256(const void *ikm, size_t ikm_len, const void *salt, size_t salt_len,
                   const void *info, size_t info_len, uint8_t *out, size_t out_len)
{
    uint8_t prk[LS_HMAC_LEN], t[LS_HMAC_LEN], block[LS_HMAC_LEN + LS_HKDF_INFO_MAX + 1];
    size_t done = 0, tlen = 0;
    uint8_t i = 0;
    int rc = LS_OK;

    if (out_len > 255u * LS_HMAC_LEN || info_len > LS_HKDF_INFO_MAX)
        return LS_EINVAL;
    /* RFC 5869 §2.2: no salt = HashLen zero bytes */
    if (salt_len == 0) {
        memset(t, 0, sizeof t);
        salt = t;
        salt_len = sizeof t;
    }
    if (ls_hmac_sha256(salt, salt_len, ikm, ikm_len, prk) != LS_OK)
        return LS_ENOMEM;
    while (done < out_len) {
        size_t n = out_len - done < LS_HMAC_LEN ? out_len - done : LS_HMAC_LEN;

        memcpy(block, t, tlen);
        if (info_len > 0)
            memcpy(block + tlen, info, info_len);
        block[tlen + info_len] = ++i;
        if (ls_hmac_sha256(prk, sizeof prk, block, tlen + info_len + 1, t) != LS_OK) {
            rc = LS_ENOMEM;
            break;
        }
        tlen = LS_HMAC_LEN;
        memcpy(out + done, t, n);
        done += n;
    }
    OPENSSL_cleanse(prk, sizeof prk);
    OPENSSL_cleanse(t, sizeof t);
    OPENSSL_cleanse(block, sizeof block);
    return rc;
}

int ls_hmac_derive_key(const char *secret, const char *label, char out[LS_HMAC_HEX_LEN + 1])
{
    uint8_t key[LS_HMAC_LEN];
    int rc;

    out[0] = '\0';
    if (secret == NULL || label == NULL)
        return LS_EINVAL;
    rc = ls_hkdf_sha256(secret, strlen(secret), HMAC_DERIVE_SALT, strlen(HMAC_DERIVE_SALT),
                        label, strlen(label), key, sizeof key);
    if (rc == LS_OK)
        ls_hex_encode(key, sizeof key, out);
    OPENSSL_cleanse(key, sizeof key);
    return rc;
}
