/*
 * token.c — HMAC-SHA256 stream tokens (see token.h). Layer: admission control, between
 * the RTMP/HTTP request and the hub. Spec: docs/interface.md "Tokens"; the MAC is hmac.h's
 * HMAC-SHA256 hex.
 *
 *   message = APP "/" NAME ":" EXPIRES      (EXPIRES exactly as the digits in the query)
 *   token   = lower/upper-case hex of HMAC-SHA256(secret, message), 64 characters
 *
 * The MAC is checked before the expiry, so "expired token" is only ever said about a
 * token that was genuinely issued.
 */
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include <openssl/crypto.h>

#include "libstream/hex.h"
#include "libstream/hmac.h"
#include "libstream/streamid.h"
#include "libstream/token.h"

/* Longest id signed; stream ids are at most LS_STREAM_ID_MAX, this leaves room. */
#define TOKEN_ID_MAX 512

_Static_assert(LS_TOKEN_HEX_LEN == LS_HMAC_HEX_LEN, "a token is one HMAC-SHA256 in hex");

/* Lower-case hex HMAC-SHA256(secret, id ":" expires) into hex[LS_TOKEN_HEX_LEN + 1]. */
static int mac_of(const char *secret, const char *id, const char *expires,
                  char hex[LS_TOKEN_HEX_LEN + 1])
{
    char msg[TOKEN_ID_MAX + 32];
    int n;

    if (strlen(id) > TOKEN_ID_MAX)
        return LS_EINVAL;
    n = snprintf(msg, sizeof msg, "%s:%s", id, expires);
    if (n < 0 || (size_t)n >= sizeof msg)
        return LS_EINVAL;
    return ls_hmac_sha256_hex(secret, msg, (size_t)n, hex);
}

int ls_token_verify(const char *secret, const char *id, const char *query, time_t now,
                    const char **why)
{
    char expires[32], token[LS_TOKEN_HEX_LEN + 8];
    char want[LS_TOKEN_HEX_LEN + 1], got[LS_TOKEN_HEX_LEN + 1];
    unsigned long long exp = 0;
    size_t i, n;
    int rc;

    if (secret == NULL || secret[0] == '\0')
        return LS_OK;
    rc = ls_query_get(query, "expires", expires, sizeof expires);
    if (rc != LS_OK) {
        LS_WHY(why, rc == LS_ENOTFOUND ? "missing expires" : "malformed expires");
        return LS_EAUTH;
    }
    n = strlen(expires);
    if (n == 0 || n > 19 || strspn(expires, "0123456789") != n) {
        LS_WHY(why, "malformed expires");
        return LS_EAUTH;
    }
    for (i = 0; i < n; i++) /* 19 digits always fit 64 unsigned bits */
        exp = exp * 10 + (unsigned long long)(expires[i] - '0');
    if (exp > (unsigned long long)LLONG_MAX) {
        LS_WHY(why, "malformed expires");
        return LS_EAUTH;
    }
    rc = ls_query_get(query, "token", token, sizeof token);
    if (rc != LS_OK) {
        LS_WHY(why, rc == LS_ENOTFOUND ? "missing token" : "malformed token");
        return LS_EAUTH;
    }
    if (strlen(token) != LS_TOKEN_HEX_LEN || !ls_hex_lower(token, LS_TOKEN_HEX_LEN, got)) {
        LS_WHY(why, "malformed token");
        return LS_EAUTH;
    }
    if (id == NULL) {
        LS_WHY(why, "missing stream id");
        return LS_EAUTH;
    }
    rc = mac_of(secret, id, expires, want);
    if (rc != LS_OK) {
        LS_WHY(why, rc == LS_EINVAL ? "stream id too long" : "HMAC failure");
        return LS_EAUTH;
    }
    if (CRYPTO_memcmp(want, got, LS_TOKEN_HEX_LEN) != 0) {
        LS_WHY(why, "wrong token");
        return LS_EAUTH;
    }
    if ((long long)now > (long long)exp) {
        LS_WHY(why, "expired token");
        return LS_EAUTH;
    }
    return LS_OK;
}

int ls_token_make(const char *secret, const char *id, long expires, char out[LS_TOKEN_HEX_LEN + 1])
{
    char digits[24];

    if (secret == NULL || id == NULL || out == NULL || expires < 0)
        return LS_EINVAL;
    snprintf(digits, sizeof digits, "%ld", expires);
    return mac_of(secret, id, digits, out);
}
