/* stats.c — process-wide counters and their Prometheus rendering (see stats.h). */
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
}
