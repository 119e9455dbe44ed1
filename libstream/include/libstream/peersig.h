/*
 * peersig.h — signatures of internal pulls (docs/architecture.md decision 7): an spd or epd
 * pulling a stream from another node says who it is in the play query, signed with the
 * cluster secret, so the far side can skip play admission and apply the peer rules.
 *
 *   ...?lc_node=NODE&lc_role=spd|epd&lc_ts=UNIX&lc_sig=hex HMAC-SHA256(secret,
 *                                                        "NODE:ROLE:APP/NAME:UNIX")
 *
 * Stateless apart from the clock: no allocation, no global state.
 */
#ifndef LIBSTREAM_PEERSIG_H
#define LIBSTREAM_PEERSIG_H

#include <stdbool.h>
#include <stddef.h>

#include "libstream/err.h"

/* Identity of an internal pull (a peer origin or an edge), verified with cluster_secret. */
struct ls_peer_info {
    bool internal;
    char node_id[64];
    char role[8]; /* "spd" | "epd" */
};

/*
 * Appends to `query` (NUL-terminated, capacity `cap`) the parameters that identify an
 * internal pull: lc_node, lc_role, lc_ts (now) and lc_sig. LS_ELIMIT when they do not
 * fit (query is then unchanged); LS_ENOMEM when the HMAC computation fails.
 */
LS_MUST_CHECK int ls_peersig_sign(const char *secret, const char *node_id, const char *role,
                                  const char *id, char *query, size_t cap);
/*
 * Checks the parameters of an internal pull in `query` for stream `id` (a NULL secret
 * counts as ""). LS_OK with `out` filled (internal true) when they are present and valid
 * (the timestamp within 5 minutes); LS_ENOTFOUND when absent (an ordinary client);
 * LS_EAUTH when present but wrong. `out` is zeroed first.
 */
int ls_peersig_verify(const char *secret, const char *id, const char *query,
                      struct ls_peer_info *out);

#endif /* LIBSTREAM_PEERSIG_H */
