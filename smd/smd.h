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
#include "libstream/nodereport.h"

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
    int64_t report_interval_ms;     /* nodes report at most this often (told in hello) */
    int64_t max_report_streams;     /* streams kept per reporting node */
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
    const struct smd_cnode *cnode; /* its cluster view (NULL when memory was short) */
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
struct smd_cluster *smd_registry_cluster(const struct smd_registry *reg);
/* Authenticated sessions, in hello order. */
void smd_registry_foreach_node(const struct smd_registry *reg,
                               void (*fn)(const struct smd_node_view *n, void *arg), void *arg);

/* ---- the cluster view (cluster.c): what reporting spd and epd nodes say ---- */

struct smd_cluster;
struct smd_cnode;        /* one node's view, owned by its registry session */
struct ls_smd_report;
struct ls_json;

/* Viewer figures older than this are left out of every sum (docs/interface.md: "at most
 * 5 s old"); report_interval_ms is bounded well below it. */
#define SMD_REPORT_FRESH_MS 5000u
/* Defaults of the two keys (also used when a config leaves them 0). */
#define SMD_REPORT_INTERVAL_DEFAULT_MS 1000
#define SMD_MAX_REPORT_STREAMS_DEFAULT 10000
/* Reports a node may send in a burst before the rate (one per report_interval_ms) holds. */
#define SMD_REPORT_BURST 4
/* A departed node's counters are remembered this long (and at most this many nodes), so
 * that its next session continues them instead of counting them twice. */
#define SMD_DEPARTED_TTL_S 3600
#define SMD_DEPARTED_MAX 4096
/* The page's history: one sample every SMD_HISTORY_STEP_S, the last SMD_HISTORY_LEN. */
#define SMD_HISTORY_STEP_S 5
#define SMD_HISTORY_LEN 120
/* Busiest streams in /api/v1/cluster. */
#define SMD_TOP_STREAMS 10
/* What smd counts of one node's figures at most, so that no sum wraps past 2^64 whatever
 * the nodes claim (a line may say up to 2^53 - 1): viewers of one stream line (2^26, far
 * above any one machine's; times max_report_streams < 2^20 and max_connections < 2^17 is
 * below 2^63), and each counter of a node line (2^44: about 10^6 plays a day for 48 000
 * years; with at most SMD_DEPARTED_MAX + max_connections nodes' shares outstanding, what
 * is taken back out of the retired total never passes what went in). The cluster's
 * counter totals stop at 2^64 - 1 rather than wrap (a node restarting at every report
 * retires its counters again and again). */
#define SMD_REPORT_VIEWERS_MAX (UINT64_C(1) << 26)
#define SMD_REPORT_COUNTER_MAX (UINT64_C(1) << 44)

struct smd_cluster_counters {
    uint64_t reports_total;          /* report messages applied */
    uint64_t reports_dropped_total;  /* reports over the rate (a resync is asked for) */
    uint64_t streams_dropped_total;  /* stream lines over max_report_streams */
    uint64_t resyncs_total;          /* resync sent */
};

/* The figures of the whole cluster (fresh nodes' viewers; every node's counters). */
struct smd_cluster_totals {
    uint64_t viewers;
    uint64_t nodes_spd, nodes_epd;   /* listed nodes (see smd_cnode_listed) */
    uint64_t counters[LS_NODE_COUNTERS];
};

struct smd_cnode_view {
    const char *role;                /* "spd" | "epd" */
    bool reporter;                   /* expected to report (protocol version 3 or later) */
    bool reported;                   /* a report arrived in this session */
    bool fresh;                      /* its last report is at most SMD_REPORT_FRESH_MS old */
    int64_t last_report;             /* UNIX s; 0 = none */
    uint64_t viewers;                /* the sum of its streams' viewers */
    size_t streams;                  /* streams it reported */
    const struct ls_node_report *health;
};

struct smd_cluster *smd_cluster_new(struct event_base *base, const struct smd_conf *conf);
void smd_cluster_free(struct smd_cluster *c);
/* A node said hello: its view (its role, whether it reports: hello `version` >= 3, and
 * the report interval it was told: the rate it is held to; 0 = the config's). A node that
 * left less than SMD_DEPARTED_TTL_S ago continues its counters. NULL on allocation
 * failure. */
struct smd_cnode *smd_cluster_join(struct smd_cluster *c, const char *node_id, const char *role,
                                   bool reporter, uint64_t report_ms);
/* A node's new session replaced its old one (same node id): the view goes on with the
 * new hello's role, reporting and report interval. */
void smd_cluster_rejoin(struct smd_cluster *c, struct smd_cnode *n, const char *role,
                        bool reporter, uint64_t report_ms);
/* The node's session ended: its viewers go from the sums now, its counters stay in the
 * cluster's totals. NULL is ignored. */
void smd_cluster_leave(struct smd_cluster *c, struct smd_cnode *n);
/*
 * Applies one report message. LS_OK; LS_ELIMIT when the report was dropped for going over
 * the rate, and *resync says whether to send `resync` now (once per episode); LS_EPROTO
 * for a malformed body (*why; the caller closes the session).
 */
int smd_cluster_report(struct smd_cluster *c, struct smd_cnode *n, const struct ls_smd_report *r,
                       bool *resync, const char **why);
/* Listed in /api/v1/nodes: not a reporter that has been silent for lease_seconds. */
bool smd_cnode_listed(const struct smd_cluster *c, const struct smd_cnode *n);
void smd_cnode_view(const struct smd_cluster *c, const struct smd_cnode *n,
                    struct smd_cnode_view *v);

uint64_t smd_cluster_viewers(const struct smd_cluster *c, const char *id);
/* Per node (fresh ones): fn(node_id, role, viewers, bytes_out, arg) for the id. */
void smd_cluster_split(const struct smd_cluster *c, const char *id,
                       void (*fn)(const char *node_id, const char *role, uint64_t viewers,
                                  uint64_t bytes_out, void *arg),
                       void *arg);
void smd_cluster_totals(const struct smd_cluster *c, struct smd_cluster_totals *t);
const struct smd_cluster_counters *smd_cluster_counters(const struct smd_cluster *c);
/* The body of /api/v1/cluster (an object's members, docs/interface.md). */
void smd_cluster_json(const struct smd_cluster *c, struct ls_json *j);

/* ---- HTTP API (api.c) ---- */

/* Adds /api/v1/streams, /api/v1/nodes, /api/v1/cluster, the status page at / and the
 * smd counters and cluster figures of /metrics. */
int smd_api_attach(struct ls_http *http, struct smd_registry *reg);

/* ---- the status page (page.c) ---- */

struct evhttp_request;
/* GET /: the page for people (inline HTML, CSS and script; it reads /api/v1/cluster and
 * /api/v1/nodes from the browser). `reg` is unused. */
void smd_page_serve(struct evhttp_request *req, void *reg);

#endif /* SMD_SMD_H */
