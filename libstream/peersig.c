/*
 * peersig.c — internal-pull signatures (see peersig.h). Layer: admission, beside the
 * stream tokens (token.c); the MAC is hmac.h's HMAC-SHA256 hex, compared in constant time.
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/crypto.h>

#include "libstream/hmac.h"
#include "libstream/peersig.h"
#include "libstream/streamid.h"

#define PEER_SIG_MAX_SKEW_S 300

/* hex of HMAC(secret, "node:role:id:ts"); an overlong message is signed cut short. */
static int peer_mac(const char *secret, const char *node, const char *role, const char *id,
                    long ts, char hex[LS_HMAC_HEX_LEN + 1])
{
    char msg[512];
    int n = snprintf(msg, sizeof msg, "%s:%s:%s:%ld", node, role, id, ts);

    return ls_hmac_sha256_hex(secret, msg,
                              n > 0 && (size_t)n < sizeof msg ? (size_t)n : sizeof msg - 1,
                              hex);
}

/*
 * lc_ts comes from the wire: only plain digits (no sign, no blanks), at most 12 of them
 * (UNIX seconds until the year 33658), so converting can never overflow and neither can
 * the skew arithmetic below.
 */
static int parse_unix_time(const char *s, long *out)
{
    size_t i, n = strlen(s);
    long v = 0;

    if (n == 0 || n > 12)
        return LS_EINVAL;
    for (i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return LS_EINVAL;
        v = v * 10 + (s[i] - '0');
    }
    *out = v;
    return LS_OK;
}

/* Both values are 0..10^12 (see parse_unix_time; now is a real clock): no overflow. */
static bool within_skew(long ts, long now)
{
    return (ts > now ? ts - now : now - ts) <= PEER_SIG_MAX_SKEW_S;
}

int ls_peersig_sign(const char *secret, const char *node_id, const char *role, const char *id,
                    char *query, size_t cap)
{
    char hex[LS_HMAC_HEX_LEN + 1];
    long ts = (long)time(NULL);
    size_t used = strlen(query);
    int n;

    if (peer_mac(secret, node_id, role, id, ts, hex) != LS_OK)
        return LS_ENOMEM;
    n = snprintf(query + used, cap - used, "%slc_node=%s&lc_role=%s&lc_ts=%ld&lc_sig=%s",
                 used > 0 ? "&" : "", node_id, role, ts, hex);
    if (n < 0 || (size_t)n >= cap - used) {
        query[used] = '\0';
        return LS_ELIMIT;
    }
    return LS_OK;
}

int ls_peersig_verify(const char *secret, const char *id, const char *query,
                      struct ls_peer_info *out)
{
    char node[64], role[8], ts_text[24], sig[80], want[LS_HMAC_HEX_LEN + 1];
    long ts;

    memset(out, 0, sizeof *out);
    if (query == NULL || ls_query_get(query, "lc_sig", sig, sizeof sig) != LS_OK)
        return LS_ENOTFOUND;
    if (ls_query_get(query, "lc_node", node, sizeof node) != LS_OK ||
        ls_query_get(query, "lc_role", role, sizeof role) != LS_OK ||
        ls_query_get(query, "lc_ts", ts_text, sizeof ts_text) != LS_OK)
        return LS_EAUTH;
    if (strcmp(role, "spd") != 0 && strcmp(role, "epd") != 0)
        return LS_EAUTH;
    if (parse_unix_time(ts_text, &ts) != LS_OK || !within_skew(ts, (long)time(NULL)))
        return LS_EAUTH;
    if (peer_mac(secret != NULL ? secret : "", node, role, id, ts, want) != LS_OK)
        return LS_EAUTH;
    if (strlen(sig) != LS_HMAC_HEX_LEN || CRYPTO_memcmp(sig, want, LS_HMAC_HEX_LEN) != 0)
        return LS_EAUTH;
    out->internal = true;
    snprintf(out->node_id, sizeof out->node_id, "%s", node);
    snprintf(out->role, sizeof out->role, "%s", role);
    return LS_OK;
}
