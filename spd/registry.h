/*
 * registry.h — spd's client of every smd in `source_managers` (docs/protocol.md).
 *
 * One persistent session per smd (libstream's reglink.h: reconnected with back-off, 0.5 s
 * doubling to 5 s; pings every lease/3; cluster reports when a reporter is given). After
 * each hello the client re-registers every id it has claimed (a "re-announce", carrying
 * the publisher's start time) and re-watches every watched id, so a restarted smd is
 * complete again within one round trip. It answers the smd's probes through
 * hooks->publisher_idle.
 *
 * A claim succeeds when every reachable smd accepts it; a Busy from any smd refuses it
 * (and the ids already accepted elsewhere are unregistered). Unreachable smds are skipped;
 * with none reachable a claim succeeds (standalone fallback, logged), and the ids reach
 * the smds when they come back. When an smd says our registration was taken over
 * (`revoked`), or that a re-announce lost to an earlier publisher, hooks->revoked runs and
 * the id is released everywhere.
 *
 * Callbacks (claim and lookup answers) always run from the event loop, never from inside
 * the call that started them. None of these functions may be called from inside a hook
 * except spd_registry_release, spd_registry_claim, spd_registry_lookup,
 * spd_registry_watch and spd_registry_unwatch (and the cancels); spd_registry_free and
 * spd_registry_reload must not be.
 */
#ifndef SPD_REGISTRY_H
#define SPD_REGISTRY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "libstream/buf.h"
#include "libstream/config.h"

struct event_base;
struct ls_reporter;
struct ls_resolver;
struct spd_registry;
struct spd_claim;
struct spd_lookup;

/*
 * All strings and the list are copied. node_id must be 1..63 characters of
 * [A-Za-z0-9_.-] and advertise a valid "host:port" (they travel in the protocol); with
 * an invalid one the registry runs disabled and says why in the log. An empty `smds`
 * (or NULL) = standalone: everything succeeds locally. secret NULL = "".
 */
struct spd_registry_config {
    const char *node_id;
    const char *advertise;
    const char *secret;
    const struct ls_addr_list *smds;
    unsigned takeover_idle_ms;
    struct ls_resolver *resolver; /* smd names are looked up with it (borrowed, read at
                                   * spd_registry_new only); NULL = blocking lookups */
    unsigned not_found_cache_ms; /* an id every smd reported not registered is answered
                                  * LS_ENOTFOUND locally this long (0 = always ask), unless
                                  * a watch reports it registered meanwhile */
    struct ls_reporter *reporter; /* the cluster reports every link sends (reporter.h;
                                   * borrowed, read at spd_registry_new only); NULL = none */
};

struct spd_registry_hooks {
    /* smd probes a publisher's idleness: LS_OK + *idle_ms, or LS_ENOTFOUND (no publisher). */
    int (*publisher_idle)(void *arg, const char *id, uint64_t *idle_ms);
    /* Our registration of `id` was taken over elsewhere: drop the local publisher. */
    void (*revoked)(void *arg, const char *id);
    /* A watched id was registered (origin "host:port", node_id). Several smds report the
     * same registration; identical reports within a second are passed on once. */
    void (*registered)(void *arg, const char *id, const char *origin, const char *node_id);
    void *arg;
};

/* Starts connecting to every smd. NULL on allocation failure. `hooks` is copied; any
 * hook may be NULL (publisher_idle NULL answers "no publisher"). */
struct spd_registry *spd_registry_new(struct event_base *base, const struct spd_registry_config *cfg,
                                      const struct spd_registry_hooks *hooks);
/* Graceful: unregisters every claimed id from the smds it can reach right now, closes the
 * sessions and frees everything. Pending claims and lookups are dropped without their
 * callbacks. NULL is ignored. */
void spd_registry_free(struct spd_registry *reg);
/* Applies a reloaded config: smds added are connected, smds removed are closed (their
 * entries vanish with the session); a changed node_id, advertise or secret reconnects
 * every session. Claims and watches are kept and re-announced. */
void spd_registry_reload(struct spd_registry *reg, const struct spd_registry_config *cfg);
bool spd_registry_enabled(const struct spd_registry *reg);   /* any smd configured */

/*
 * Claim an id for a local publisher (all reachable smds). `owner` (not 0) names that
 * publisher: only a release by the same owner gives the id up. cb: LS_OK, LS_EBUSY (owned
 * elsewhere; why = owner), other = failure (LS_ELIMIT: an smd refused it for a bound;
 * LS_ESTATE: a claim of this id is already in progress, or it was released meanwhile).
 * With no smd reachable: LS_OK (standalone fallback, logged). Claiming an id another
 * local publisher holds (a local takeover) re-registers it, keeping the registration: it
 * passes to the new owner when the claim succeeds, and stays with the old one when the
 * claim fails or is cancelled while the old one still publishes.
 * `since` is the publisher's start time (UNIX seconds; it decides re-announce conflicts).
 * Cancel before cb → cb never runs (and the claim is released). The handle is invalid
 * once cb has run. NULL on allocation failure (nothing was claimed).
 */
struct spd_claim *spd_registry_claim(struct spd_registry *reg, const char *id, int64_t since,
                                     uint64_t owner,
                                     void (*cb)(void *arg, int result, const char *why), void *arg);
void spd_registry_claim_cancel(struct spd_claim *c);
/* Publisher `owner` of `id` ended: unregisters `id` when that publisher owns it. A no-op
 * when the id is not claimed, or claimed by another owner (the one that took it over). */
void spd_registry_release(struct spd_registry *reg, const char *id, uint64_t owner);

/*
 * Lookup: cb(arg, LS_OK, origin, node_id) | LS_ENOTFOUND | LS_EIO (no smd reachable, or
 * none answered). The first smd that knows the id answers. The strings passed to cb are
 * borrowed for the call. The node may be this one (the caller compares node_id). The
 * handle is invalid once cb has run; cancel before → cb never runs. NULL on allocation
 * failure.
 */
struct spd_lookup *spd_registry_lookup(struct spd_registry *reg, const char *id,
    void (*cb)(void *arg, int result, const char *origin, const char *node_id), void *arg);
void spd_registry_lookup_cancel(struct spd_lookup *l);
void spd_registry_watch(struct spd_registry *reg, const char *id);     /* refcounted */
void spd_registry_unwatch(struct spd_registry *reg, const char *id);

/* ---- observability (additions for the integrator) ---- */

/* smds with an authenticated session right now. */
size_t spd_registry_up_count(const struct spd_registry *reg);
/* Appends the client's counters to /metrics (Prometheus text, livecluster_registry_*).
 * `reg` is a struct spd_registry *: the signature fits ls_http_set_metrics directly. */
void spd_registry_metrics(struct ls_buf *out, void *reg);

#endif /* SPD_REGISTRY_H */
