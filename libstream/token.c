/*
 * token.c — HMAC-SHA256 stream tokens (see token.h). Layer: admission control, between
 * the RTMP/HTTP request and the hub. Spec: INTERFACE.md "Tokens"; HMAC per RFC 2104 with
 * SHA-256 (FIPS 180-4) through OpenSSL's one-shot HMAC().
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
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "libstream/streamid.h"
#include "libstream/token.h"

/* Longest id signed; stream ids are at most LS_STREAM_ID_MAX, this leaves room. */
#define TOKEN_ID_MAX 512

/* HMAC-SHA256(secret, id ":" expires) into mac[32]. */
static int mac_of(const char *secret, const char *id, const char *expires, unsigned char *mac)
{
    char msg[TOKEN_ID_MAX + 32];
    unsigned int maclen = 0;
    int n;

    if (strlen(id) > TOKEN_ID_MAX)
        return LS_EINVAL;
    n = snprintf(msg, sizeof msg, "%s:%s", id, expires);
    if (n < 0 || (size_t)n >= sizeof msg)
        return LS_EINVAL;
    if (HMAC(EVP_sha256(), secret, (int)strlen(secret), (const unsigned char *)msg, (size_t)n,
             mac, &maclen) == NULL || maclen != 32)
        return LS_ENOMEM;
    return LS_OK;
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

int ls_token_verify(const char *secret, const char *id, const char *query, time_t now,
                    const char **why)
{
    char expires[32], token[LS_TOKEN_HEX_LEN + 8];
    unsigned char want[32], got[32];
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
    if (strlen(token) != LS_TOKEN_HEX_LEN) {
        LS_WHY(why, "malformed token");
        return LS_EAUTH;
    }
    for (i = 0; i < sizeof got; i++) {
        int hi = hexval(token[2 * i]), lo = hexval(token[2 * i + 1]);

        if (hi < 0 || lo < 0) {
            LS_WHY(why, "malformed token");
            return LS_EAUTH;
        }
        got[i] = (unsigned char)(hi << 4 | lo);
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
    if (CRYPTO_memcmp(want, got, sizeof want) != 0) {
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
    static const char hex[] = "0123456789abcdef";
    unsigned char mac[32];
    char digits[24];
    size_t i;
    int rc;

    if (secret == NULL || id == NULL || out == NULL || expires < 0)
        return LS_EINVAL;
    snprintf(digits, sizeof digits, "%ld", expires);
    rc = mac_of(secret, id, digits, mac);
    if (rc != LS_OK)
        return rc;
    for (i = 0; i < sizeof mac; i++) {
        out[2 * i] = hex[mac[i] >> 4];
        out[2 * i + 1] = hex[mac[i] & 15];
    }
    out[LS_TOKEN_HEX_LEN] = '\0';
    return LS_OK;
}
