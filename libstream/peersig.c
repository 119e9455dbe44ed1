/*
 * peersig.c — internal-pull signatures (see peersig.h). Layer: admission, beside the
 * stream tokens (token.c); the MAC is hmac.h's HMAC-SHA256 hex under the pull key derived
 * from the cluster secret, compared in constant time.
 *
 *   signed text  "pull:" NODE ":" ROLE ":" APP/NAME ":" TS ":" NONCE ":" TARGET
 *
 * NODE and TARGET are node ids ([A-Za-z0-9_.-], no ':'), ROLE is spd|epd, TS digits and
 * NONCE hex, so only the stream id may hold ':'s and the text cannot be read two ways.
 */
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <openssl/crypto.h>

#include "libstream/hex.h"
#include "libstream/hmac.h"
#include "libstream/peersig.h"
#include "libstream/streamid.h"

#define PEER_SIG_MAX_SKEW_S 300

static bool node_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           c == '_' || c == '.' || c == '-';
}

bool ls_peersig_node_valid(const char *s)
{
    size_t n;

    if (s == NULL)
        return false;
    for (n = 0; s[n] != '\0'; n++)
        if (n >= LS_PEERSIG_NODE_MAX || !node_char(s[n]))
            return false;
    return n > 0;
}

static bool nonce_valid(const char *s)
{
    size_t i;

    if (s == NULL || strlen(s) != LS_PEERSIG_NONCE_HEX)
        return false;
    for (i = 0; i < LS_PEERSIG_NONCE_HEX; i++)
        if (ls_hex_value(s[i]) < 0)
            return false;
    return true;
}

/* hex of HMAC(K_pull, the signed text); LS_EINVAL when the text would not fit. */
static int peer_mac(const char *secret, const char *node, const char *role, const char *id,
                    long ts, const char *nonce, const char *target,
                    char hex[LS_HMAC_HEX_LEN + 1])
{
    char key[LS_HMAC_HEX_LEN + 1], msg[512];
    int n = snprintf(msg, sizeof msg, "pull:%s:%s:%s:%ld:%s:%s", node, role, id, ts, nonce,
                     target);
    int rc;

    if (n < 0 || (size_t)n >= sizeof msg)
        return LS_EINVAL;
    rc = ls_hmac_derive_key(secret, LS_PEERSIG_KEY_LABEL, key);
    if (rc == LS_OK)
        rc = ls_hmac_sha256_hex(key, msg, (size_t)n, hex);
    OPENSSL_cleanse(key, sizeof key);
    return rc;
}

int ls_peersig_sign(const char *secret, const char *node_id, const char *role, const char *id,
                    const char *target, const char *nonce, char *query, size_t cap)
{
    char hex[LS_HMAC_HEX_LEN + 1];
    long ts = (long)time(NULL);
    size_t used = strlen(query);
    bool sign = secret != NULL && secret[0] != '\0' && nonce != NULL && nonce[0] != '\0';
    int n, rc;

    if (!ls_peersig_node_valid(node_id) ||
        (sign && (!ls_peersig_node_valid(target) || !nonce_valid(nonce))))
        return LS_EINVAL;
    if (sign) {
        rc = peer_mac(secret, node_id, role, id, ts, nonce, target, hex);
        if (rc != LS_OK)
            return rc;
        n = snprintf(query + used, cap - used, "%slc_node=%s&lc_role=%s&lc_ts=%ld&lc_sig=%s",
                     used > 0 ? "&" : "", node_id, role, ts, hex);
    } else {
        n = snprintf(query + used, cap - used, "%slc_node=%s&lc_role=%s", used > 0 ? "&" : "",
                     node_id, role);
    }
    if (n < 0 || (size_t)n >= cap - used) {
        query[used] = '\0';
        return LS_ELIMIT;
    }
    return LS_OK;
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

int ls_peersig_verify(const char *secret, const char *self, const char *nonce, const char *id,
                      const char *query, struct ls_peer_info *out)
{
    char node[LS_PEERSIG_NODE_MAX + 1], role[8], ts_text[24], sig[80];
    char want[LS_HMAC_HEX_LEN + 1], got[LS_HMAC_HEX_LEN + 1];
    long ts;

    memset(out, 0, sizeof *out);
    if (query == NULL)
        return LS_ENOTFOUND;
    /* The role a client claims only ever restricts it (a peer origin is served only from a
     * local publisher), so it is kept even when nothing else is verified. */
    if (ls_query_get(query, "lc_role", role, sizeof role) == LS_OK &&
        (strcmp(role, "spd") == 0 || strcmp(role, "epd") == 0))
        snprintf(out->role, sizeof out->role, "%s", role);
    if (secret == NULL || secret[0] == '\0')
        return LS_ENOTFOUND; /* "Trust": without a secret nobody is an internal pull */
    if (ls_query_get(query, "lc_sig", sig, sizeof sig) != LS_OK)
        return LS_ENOTFOUND;
    if (ls_query_get(query, "lc_node", node, sizeof node) != LS_OK ||
        !ls_peersig_node_valid(node) ||
        ls_query_get(query, "lc_role", role, sizeof role) != LS_OK ||
        ls_query_get(query, "lc_ts", ts_text, sizeof ts_text) != LS_OK)
        return LS_EAUTH;
    if (strcmp(role, "spd") != 0 && strcmp(role, "epd") != 0)
        return LS_EAUTH;
    if (parse_unix_time(ts_text, &ts) != LS_OK || !within_skew(ts, (long)time(NULL)))
        return LS_EAUTH;
    /* No challenge issued on this connection (or it was used): nothing can be valid. */
    if (!nonce_valid(nonce) || !ls_peersig_node_valid(self))
        return LS_EAUTH;
    if (peer_mac(secret, node, role, id, ts, nonce, self, want) != LS_OK)
        return LS_EAUTH;
    if (strlen(sig) != LS_HMAC_HEX_LEN || !ls_hex_lower(sig, LS_HMAC_HEX_LEN, got) ||
        CRYPTO_memcmp(got, want, LS_HMAC_HEX_LEN) != 0)
        return LS_EAUTH;
    out->internal = true;
    snprintf(out->node_id, sizeof out->node_id, "%s", node);
    snprintf(out->role, sizeof out->role, "%s", role);
    return LS_OK;
}
