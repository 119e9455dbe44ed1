/*
 * stats.h — process-wide counters behind /metrics.
 *
 * One event loop per process (docs/architecture.md decision 1) means plain integers suffice:
 * no atomics, no locks. libstream's connection, session and hub code count here; daemons
 * add their own role counters the same way and render everything with ls_stats_render.
 */
#ifndef LIBSTREAM_STATS_H
#define LIBSTREAM_STATS_H

#include <stdint.h>

struct ls_buf;

/* Why a play or publish was refused or failed; the `reason` label of the failure counters. */
enum ls_fail_reason {
    LS_FAIL_BAD_NAME,      /* invalid stream id */
    LS_FAIL_UNAUTHORIZED,  /* token or auth_url refused */
    LS_FAIL_NOT_FOUND,     /* play: not live within play_wait_timeout */
    LS_FAIL_BUSY,          /* publish: id already published */
    LS_FAIL_DENIED,        /* not allowed on this node (publish on an edge) */
    LS_FAIL_PROTOCOL,      /* malformed request */
    LS_FAIL_UPSTREAM,      /* a pull or registry step failed */
    LS_FAIL_LIMIT,         /* a configured bound was hit */
    LS_FAIL_INTERNAL,      /* our own failure (out of memory, …) */
    LS_FAIL_COUNT
};
const char *ls_fail_reason_name(enum ls_fail_reason r); /* "bad_name", "unauthorized", … */

/* Which bound refused a play (the `reason` label of livecluster_play_limited_total): what
 * viewers can make a node do upstream is capped (docs/configuration.md). */
enum ls_limit_reason {
    LS_LIMIT_WAITING_STREAMS,    /* max_waiting_streams: not-live streams being waited on */
    LS_LIMIT_WAITING_PER_CLIENT, /* max_waiting_per_client: ... of which one address made */
    LS_LIMIT_PULLS,              /* max_pulls: internal pulls running */
    LS_LIMIT_COUNT
};
const char *ls_limit_reason_name(enum ls_limit_reason r); /* "max_waiting_streams", … */

/*
 * Time to first frame: from a viewer's connection (RTMP accept, HTTP-FLV request) to the
 * first keyframe queued on it (its first flush is immediate). Upper bounds of the
 * histogram's buckets in milliseconds; the last bucket (index LS_PLAY_START_BUCKETS) is
 * +Inf. Every node uses these bounds, so smd can add the buckets of the whole cluster.
 */
#define LS_PLAY_START_BUCKETS 10
extern const unsigned ls_play_start_bounds_ms[LS_PLAY_START_BUCKETS];

struct ls_stats {
    uint64_t connections;            /* gauge: open client connections (RTMP + HTTP-FLV) */
    uint64_t connections_total;
    uint64_t connections_refused_total; /* over max_connections */
    uint64_t protocol_errors_total;  /* connections closed for bad input */
    uint64_t play_requests_total;
    uint64_t play_failures_total[LS_FAIL_COUNT];
    uint64_t publish_requests_total;
    uint64_t publish_failures_total[LS_FAIL_COUNT];
    uint64_t publish_takeovers_total;
    uint64_t slow_viewer_drops_total;
    uint64_t bytes_in_total;
    uint64_t bytes_out_total;
    uint64_t pulls_started_total;
    uint64_t pull_failures_total[LS_FAIL_COUNT];
    /* pulls (pull.c) and the bounds on what viewers make a node do upstream */
    uint64_t pulls_active;           /* gauge: internal pulls running now */
    uint64_t pull_attempts_total;    /* connections opened by pulls (first tries and retries) */
    uint64_t pull_timeouts_total;    /* pulls lost because the upstream went silent */
    uint64_t play_limited_total[LS_LIMIT_COUNT]; /* plays refused at a bound, by bound */
    uint64_t auth_inflight;          /* gauge: auth_url requests open */
    uint64_t auth_overload_total;    /* checks refused at auth_max_inflight */
    uint64_t http_forbidden_total;   /* API/metrics requests refused by http_allow */
    /* The share of the play counters above that internal pulls made (an edge or a peer
     * origin playing here: a signed one, or a client claiming lc_role): the cluster view
     * counts plays by viewers only, so that one viewer on an edge is one play, not two. */
    uint64_t internal_play_requests_total;
    uint64_t internal_play_failures_total[LS_FAIL_COUNT];
    /* time to first frame of external viewers (see LS_PLAY_START_BUCKETS): per-bucket
     * counts (not cumulative), their sum in ms and their number */
    uint64_t play_start_buckets[LS_PLAY_START_BUCKETS + 1];
    uint64_t play_start_sum_ms;
    uint64_t play_start_count;
};

/* The process's counters (zero-initialised). */
extern struct ls_stats ls_stats;

/* Counts one time to first frame of `ms` milliseconds. */
void ls_stats_play_start(uint64_t ms);

/*
 * Appends a Prometheus histogram family `name` (in seconds) of `buckets`
 * (LS_PLAY_START_BUCKETS + 1 per-bucket counts in ls_play_start_bounds_ms), `sum_ms`
 * and `count`: the cumulative name_bucket{le=...}, name_sum and name_count. smd renders
 * the cluster's sum with it too.
 */
void ls_stats_render_play_start(struct ls_buf *out, const char *name, const char *help,
                                const uint64_t *buckets, uint64_t sum_ms, uint64_t count);

/*
 * Appends the counters above in Prometheus text format (names prefixed livecluster_),
 * plus the gauges passed in: streams and viewers of the local hub.
 */
void ls_stats_render(struct ls_buf *out, uint64_t streams, uint64_t viewers);

#endif /* LIBSTREAM_STATS_H */
