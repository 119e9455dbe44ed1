/* stats.c — process-wide counters and their Prometheus rendering (see stats.h). */
#include <stdio.h>

#include "libstream/buf.h"
#include "libstream/prom.h"
#include "libstream/stats.h"

struct ls_stats ls_stats;

static const char *const fail_reason_names[LS_FAIL_COUNT] = {
    [LS_FAIL_BAD_NAME] = "bad_name",
    [LS_FAIL_UNAUTHORIZED] = "unauthorized",
    [LS_FAIL_NOT_FOUND] = "not_found",
    [LS_FAIL_BUSY] = "busy",
    [LS_FAIL_DENIED] = "denied",
    [LS_FAIL_PROTOCOL] = "protocol",
    [LS_FAIL_UPSTREAM] = "upstream",
    [LS_FAIL_LIMIT] = "limit",
    [LS_FAIL_INTERNAL] = "internal",
};

const char *ls_fail_reason_name(enum ls_fail_reason r)
{
    return (unsigned)r < LS_FAIL_COUNT ? fail_reason_names[r] : "unknown";
}

static const char *const limit_reason_names[LS_LIMIT_COUNT] = {
    [LS_LIMIT_WAITING_STREAMS] = "max_waiting_streams",
    [LS_LIMIT_WAITING_PER_CLIENT] = "max_waiting_per_client",
    [LS_LIMIT_PULLS] = "max_pulls",
};

const char *ls_limit_reason_name(enum ls_limit_reason r)
{
    return (unsigned)r < LS_LIMIT_COUNT ? limit_reason_names[r] : "unknown";
}

/* From a GOP cache start (tens of ms) to a cold start through an edge, a peer origin and a
 * publisher's first keyframe (seconds). */
const unsigned ls_play_start_bounds_ms[LS_PLAY_START_BUCKETS] = {
    25, 50, 100, 250, 500, 1000, 2500, 5000, 10000, 30000,
};

void ls_stats_play_start(uint64_t ms)
{
    unsigned i;

    for (i = 0; i < LS_PLAY_START_BUCKETS && ms > ls_play_start_bounds_ms[i]; i++)
        ;
    ls_stats.play_start_buckets[i]++;
    ls_stats.play_start_sum_ms += ms;
    ls_stats.play_start_count++;
}

void ls_stats_render_play_start(struct ls_buf *out, const char *name, const char *help,
                                const uint64_t *buckets, uint64_t sum_ms, uint64_t count)
{
    char series[128], le[32];
    uint64_t cumulative = 0;
    unsigned i;

    ls_prom_header(out, name, "histogram", help);
    snprintf(series, sizeof series, "%s_bucket", name);
    for (i = 0; i <= LS_PLAY_START_BUCKETS; i++) {
        const char *labels[] = { "le", le, NULL };

        cumulative += buckets[i];
        if (i < LS_PLAY_START_BUCKETS)
            snprintf(le, sizeof le, "%g", ls_play_start_bounds_ms[i] / 1000.0);
        else
            snprintf(le, sizeof le, "+Inf");
        ls_prom_sample_u64(out, series, labels, cumulative);
    }
    snprintf(series, sizeof series, "%s_sum", name);
    ls_prom_sample(out, series, NULL, (double)sum_ms / 1000.0);
    snprintf(series, sizeof series, "%s_count", name);
    ls_prom_sample_u64(out, series, NULL, count);
}

void ls_stats_render(struct ls_buf *out, uint64_t streams, uint64_t viewers)
{
    const struct ls_stats *s = &ls_stats;

    ls_prom_metric(out, "livecluster_connections", "gauge", "Open client connections.",
                   s->connections);
    ls_prom_metric(out, "livecluster_connections_total", "counter", "Accepted connections.",
                   s->connections_total);
    ls_prom_metric(out, "livecluster_connections_refused_total", "counter",
                   "Connections refused at max_connections.", s->connections_refused_total);
    ls_prom_metric(out, "livecluster_protocol_errors_total", "counter",
                   "Connections closed for malformed input or a bound.", s->protocol_errors_total);
    ls_prom_metric(out, "livecluster_streams", "gauge", "Streams known to this node.", streams);
    ls_prom_metric(out, "livecluster_viewers", "gauge",
                   "Subscribers of local streams (viewers, edges and peer pulls).", viewers);
    ls_prom_metric(out, "livecluster_play_requests_total", "counter", "Play requests.",
                   s->play_requests_total);
    ls_prom_counter_by(out, "livecluster_play_failures_total", "Failed or refused plays by reason.",
                       "reason", fail_reason_names, s->play_failures_total, LS_FAIL_COUNT);
    ls_prom_metric(out, "livecluster_publish_requests_total", "counter", "Publish requests.",
                   s->publish_requests_total);
    ls_prom_counter_by(out, "livecluster_publish_failures_total",
                       "Failed or refused publishes by reason.", "reason", fail_reason_names,
                       s->publish_failures_total, LS_FAIL_COUNT);
    ls_prom_metric(out, "livecluster_publish_takeovers_total", "counter",
                   "Idle publishers replaced by a new publisher of the same id.",
                   s->publish_takeovers_total);
    ls_prom_metric(out, "livecluster_slow_viewer_drops_total", "counter",
                   "Viewers disconnected for staying behind.", s->slow_viewer_drops_total);
    ls_prom_metric(out, "livecluster_bytes_in_total", "counter", "Bytes received from clients.",
                   s->bytes_in_total);
    ls_prom_metric(out, "livecluster_bytes_out_total", "counter", "Bytes sent to clients.",
                   s->bytes_out_total);
    ls_prom_metric(out, "livecluster_pulls_started_total", "counter",
                   "Internal pulls started (edge from upstream, origin from peer).",
                   s->pulls_started_total);
    ls_prom_counter_by(out, "livecluster_pull_failures_total", "Internal pull failures by reason.",
                       "reason", fail_reason_names, s->pull_failures_total, LS_FAIL_COUNT);
    ls_prom_metric(out, "livecluster_pulls", "gauge", "Internal pulls running now.",
                   s->pulls_active);
    ls_prom_metric(out, "livecluster_pull_attempts_total", "counter",
                   "Connections opened by internal pulls (first attempts and retries).",
                   s->pull_attempts_total);
    ls_prom_metric(out, "livecluster_pull_timeouts_total", "counter",
                   "Pulls lost because the upstream sent no media and answered no ping for "
                   "upstream_timeout.", s->pull_timeouts_total);
    ls_prom_counter_by(out, "livecluster_play_limited_total",
                       "Plays refused at a bound on upstream work, by bound.", "reason",
                       limit_reason_names, s->play_limited_total, LS_LIMIT_COUNT);
    ls_prom_metric(out, "livecluster_auth_inflight", "gauge", "auth_url requests open.",
                   s->auth_inflight);
    ls_prom_metric(out, "livecluster_auth_overload_total", "counter",
                   "Admission checks refused at auth_max_inflight (no request made).",
                   s->auth_overload_total);
    ls_prom_metric(out, "livecluster_http_forbidden_total", "counter",
                   "API and metrics requests refused: address outside http_allow.",
                   s->http_forbidden_total);
    ls_stats_render_play_start(out, "livecluster_play_start_seconds",
                               "Time from a viewer's connection to the first keyframe sent to it.",
                               s->play_start_buckets, s->play_start_sum_ms, s->play_start_count);
}
