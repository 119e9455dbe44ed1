/*
 * peersig.h — signatures of internal pulls (docs/architecture.md decision 7; the wire format
 * is docs/protocol.md "Internal pulls"): an spd or epd pulling a stream from another node
 * says who it is in the play query, signed with a key derived from the cluster secret, so
 * the far side can skip play admission and apply the peer rules.
 *
 * A signature is good for one play on one connection to one node. The node pulled from
 * (the target) puts a random nonce and its own node_id in its answer to `connect`
 * (ls_nonce_make, session.c); the puller signs them into the play query:
 *
 *   ...?lc_node=NODE&lc_role=spd|epd&lc_ts=UNIX&lc_sig=hex HMAC-SHA256(K_pull,
 *        "pull:NODE:ROLE:APP/NAME:UNIX:NONCE:TARGET")
 *   K_pull = ls_hmac_derive_key(cluster_secret, LS_PEERSIG_KEY_LABEL)
 *
 * With an empty cluster secret no client is ever an internal pull ("Trust" in
 * docs/interface.md): lc_* parameters then grant nothing.
 *
 * Stateless apart from the clock: no allocation, no global state.
 */
#ifndef LIBSTREAM_PEERSIG_H
#define LIBSTREAM_PEERSIG_H

#include <stdbool.h>
#include <stddef.h>

#include "libstream/err.h"
#include "libstream/nonce.h"

/* HKDF label of the pull key (hmac.h): never the registry's. */
#define LS_PEERSIG_KEY_LABEL "livecluster pull v2"
/* The target's challenge: a nonce.h nonce. */
#define LS_PEERSIG_NONCE_HEX LS_NONCE_HEX
/* The connect answer's information object carries these (strings) when the node serving
 * it has a cluster secret. */
#define LS_PEERSIG_INFO_NONCE "lc_nonce"
#define LS_PEERSIG_INFO_NODE "lc_node"
/* Longest node_id signed (as smd's: [A-Za-z0-9_.-]). */
#define LS_PEERSIG_NODE_MAX 63

/* Identity of an internal pull (a peer origin or an edge). */
struct ls_peer_info {
    bool internal;        /* the signature is valid: skip play admission */
    char node_id[LS_PEERSIG_NODE_MAX + 1];
    char role[8];         /* "spd" | "epd"; also filled, unverified, when internal is false
                           * and the query names a valid lc_role: a claim that only ever
                           * restricts the client (a peer origin's rules) */
};

/* True for a node_id that can be signed: 1..63 characters of [A-Za-z0-9_.-]. */
bool ls_peersig_node_valid(const char *s);

/*
 * Appends to `query` (NUL-terminated, capacity `cap`) the parameters that identify an
 * internal pull of `id` from node `target` over the connection that issued `nonce`:
 * lc_node, lc_role, lc_ts (now) and lc_sig. With an empty secret (or no nonce: the target
 * has none) only lc_node and lc_role are appended — an unsigned claim that grants
 * nothing. LS_ELIMIT when they do not fit (query is then unchanged); LS_EINVAL for a
 * node_id or target that is not 1..63 characters of [A-Za-z0-9_.-] or a nonce that is not
 * LS_PEERSIG_NONCE_HEX hex digits (what a target sent is checked); LS_ENOMEM when the
 * HMAC computation fails.
 */
LS_MUST_CHECK int ls_peersig_sign(const char *secret, const char *node_id, const char *role,
                                  const char *id, const char *target, const char *nonce,
                                  char *query, size_t cap);
/*
 * Checks the parameters of an internal pull in `query` for stream `id`, received by node
 * `self` on a connection that issued `nonce` (NULL or "" = none was issued). LS_OK with
 * `out` filled (internal true) when they are present and valid (the timestamp within 5
 * minutes); LS_ENOTFOUND when absent (an ordinary client) and always when `secret` is
 * NULL or "" (nobody is internal then); LS_EAUTH when present but wrong (another secret,
 * another stream, node, nonce or connection). `out` is zeroed first.
 */
int ls_peersig_verify(const char *secret, const char *self, const char *nonce, const char *id,
                      const char *query, struct ls_peer_info *out);

#endif /* LIBSTREAM_PEERSIG_H */
