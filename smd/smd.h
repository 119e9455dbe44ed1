/*
 * smd.h — the registry daemon: what smd's files share (main.c, conf.c, registry.c, api.c).
 *
 * smd holds, for every live stream id, the spd that owns its publisher, as soft state
 * bound to that spd's registry session (docs/protocol.md). Nothing is stored on disk: an
 * spd that reconnects re-announces everything it holds.
 */
#ifndef SMD_SMD_H
#define SMD_SMD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "libstream/buf.h"
#include "libstream/config.h"

struct event_base;
struct ls_http;

/* ---- configuration (conf.c; documented key by key in conf/smd.conf) ---- */

struct smd_conf {
    char *node_id;
    int log_level;
    struct ls_addr listen;          /* registry port (spd connects here) */
    struct ls_addr http_listen;
    char *cluster_secret;           /* "" = hellos are not authenticated; else the
                                     * registry key is derived from it (smdproto.h) */
    int64_t max_connections;        /* registry sessions */
    int64_t lease_seconds;          /* a session silent this long is dropped */
    struct ls_cidr_list allow;      /* empty = any address */
    int64_t hello_timeout;          /* s from accept to a valid hello */
    int64_t max_streams_per_node;   /* registrations one session may hold */
    int64_t max_watches_per_node;   /* watches one session may hold */
    int64_t probe_timeout_ms;       /* an unanswered probe counts as "busy" */
    int64_t max_pending_hellos;     /* connections not past hello at once (0: no bound) */
    int64_t http_max_connections;   /* HTTP connections at once */
    int64_t http_request_timeout;   /* s from accept to a request's headers */
    int64_t log_rate_limit;         /* lines a second per peer address; 0 = no limit */
    int64_t log_rate_burst;         /* lines at once per peer address */
    struct ls_cidr_list http_allow; /* who may use the HTTP API and /metrics */
};

extern const struct ls_conf_key smd_schema[];

/* ---- the registry (registry.c) ---- */

struct smd_registry;

/* Counters behind /metrics (api.c renders them). */
struct smd_counters {
    uint64_t sessions_total;          /* accepted registry connections */
    uint64_t denied_total;            /* refused: address outside `allow` */
    uint64_t refused_full_total;      /* refused: max_connections */
    uint64_t hellos_total;            /* valid hellos (sessions that became nodes) */
    uint64_t auth_failures_signature; /* hello with a bad signature */
    uint64_t auth_failures_timestamp; /* hello with ts outside ±300 s */
    uint64_t auth_failures_no_hello;  /* another message before hello */
    uint64_t auth_failures_timeout;   /* no hello within hello_timeout */
    uint64_t auth_failures_nonce;     /* hello without this connection's challenge (a
                                       * replay, or an spd of protocol version 1) */
    uint64_t sessions_replaced_total; /* a node's second hello replaced its session */
    uint64_t lease_expiries_total;    /* sessions dropped for silence */
    uint64_t protocol_errors_total;   /* sessions closed for malformed input */
    uint64_t registrations_total;     /* accepted registers (new, renewed, taken over) */
    uint64_t refusals_busy_total;     /* register refused: owned elsewhere */
    uint64_t refusals_limit_total;    /* register/watch refused: per-session bound */
    uint64_t conflicts_total;         /* registers of an id another node held */
    uint64_t takeovers_total;         /* ... that the newcomer won (idle or earlier since) */
    uint64_t revocations_total;       /* revoked sent */
    uint64_t probes_total;
    uint64_t probe_timeouts_total;
    uint64_t unregisters_ok_total;
    uint64_t unregisters_stale_total; /* wrong generation or not the owner: ignored */
    uint64_t unregisters_missing_total;
    uint64_t lookups_found_total;
    uint64_t lookups_missing_total;
    uint64_t notifications_total;     /* registered sent to watchers */
};

/* Read-only views handed to the API (borrowed for the callback only). */
struct smd_entry_view {
    const char *id;
    const char *origin;   /* the owner's advertise */
    const char *node_id;
    uint64_t generation;
    int64_t since;        /* publisher start (UNIX s) as the owner announced it */
};

struct smd_node_view {
    const char *node_id;
    const char *advertise;
    const char *peer;     /* the session's source address */
    size_t streams;
    size_t watches;
    int64_t since;        /* UNIX s of the hello */
};

/*
 * Listens on conf->listen. `conf` is borrowed for the registry's lifetime: main.c keeps
 * it at a fixed address and replaces its contents on reload (then calls
 * smd_registry_reloaded). NULL with a logged reason on failure.
 */
struct smd_registry *smd_registry_new(struct event_base *base, const struct smd_conf *conf);
/* The config behind `conf` was replaced (SIGHUP): applies what can change live. */
void smd_registry_reloaded(struct smd_registry *reg);
/* SIGTERM: stop accepting and close every session (their entries go with them). */
void smd_registry_stop(struct smd_registry *reg);
void smd_registry_free(struct smd_registry *reg);

size_t smd_registry_stream_count(const struct smd_registry *reg);
size_t smd_registry_node_count(const struct smd_registry *reg);
size_t smd_registry_watch_count(const struct smd_registry *reg);
const struct smd_counters *smd_registry_counters(const struct smd_registry *reg);
/* Entries in id order; LS_ENOMEM when the sort buffer cannot be allocated. */
int smd_registry_foreach_entry(const struct smd_registry *reg,
                               void (*fn)(const struct smd_entry_view *e, void *arg), void *arg);
/* Authenticated sessions, in hello order. */
void smd_registry_foreach_node(const struct smd_registry *reg,
                               void (*fn)(const struct smd_node_view *n, void *arg), void *arg);

/* ---- HTTP API (api.c) ---- */

/* Adds /api/v1/streams, /api/v1/nodes and the smd counters of /metrics. */
int smd_api_attach(struct ls_http *http, struct smd_registry *reg);

#endif /* SMD_SMD_H */
