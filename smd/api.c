/*
 * api.c — smd's HTTP API (docs/interface.md "HTTP API"): /api/v1/streams and /api/v1/nodes on
 * top of libstream's server (which serves /api/v1/health and /metrics), and smd's
 * counters appended to /metrics.
 *
 *   GET /api/v1/streams → {"streams":[{"id","origin","node_id","since","generation"}]}
 *   GET /api/v1/nodes   → {"nodes":[{"node_id","advertise","streams","since","peer",
 *                                    "watches"}]}
 */
#include <event2/http.h>

#include "libstream/http.h"
#include "libstream/json.h"
#include "libstream/prom.h"
#include "smd.h"

#define API_BODY_MAX (64u << 20)

static void stream_json(const struct smd_entry_view *e, void *arg)
{
    struct ls_json *j = arg;

    ls_json_object_begin(j);
    ls_json_kv_string(j, "id", e->id);
    ls_json_kv_string(j, "origin", e->origin);
    ls_json_kv_string(j, "node_id", e->node_id);
    ls_json_kv_int64(j, "since", e->since);
    ls_json_kv_uint64(j, "generation", e->generation);
    ls_json_object_end(j);
}

static int api_streams_each(struct ls_json *j, void *reg)
{
    return smd_registry_foreach_entry(reg, stream_json, j);
}

static void api_streams(struct evhttp_request *req, void *reg)
{
    ls_http_reply_json_list(req, "streams", API_BODY_MAX, api_streams_each, reg,
                            "cannot render the stream list");
}

static void node_json(const struct smd_node_view *n, void *arg)
{
    struct ls_json *j = arg;

    ls_json_object_begin(j);
    ls_json_kv_string(j, "node_id", n->node_id);
    ls_json_kv_string(j, "advertise", n->advertise);
    ls_json_kv_uint64(j, "streams", n->streams);
    ls_json_kv_int64(j, "since", n->since);
    ls_json_kv_string(j, "peer", n->peer);
    ls_json_kv_uint64(j, "watches", n->watches);
    ls_json_object_end(j);
}

static int api_nodes_each(struct ls_json *j, void *reg)
{
    smd_registry_foreach_node(reg, node_json, j);
    return LS_OK;
}

static void api_nodes(struct evhttp_request *req, void *reg)
{
    ls_http_reply_json_list(req, "nodes", API_BODY_MAX, api_nodes_each, reg,
                            "cannot render the node list");
}

static void api_metrics(struct ls_buf *out, void *arg)
{
    const struct smd_registry *reg = arg;
    const struct smd_counters *c = smd_registry_counters(reg);
    static const char *const auth_reasons[] = { "signature", "timestamp", "no_hello",
                                                "hello_timeout", "nonce" };
    const uint64_t auth[] = { c->auth_failures_signature, c->auth_failures_timestamp,
                              c->auth_failures_no_hello, c->auth_failures_timeout,
                              c->auth_failures_nonce };
    static const char *const refusal_reasons[] = { "busy", "limit" };
    const uint64_t refusals[] = { c->refusals_busy_total, c->refusals_limit_total };
    static const char *const unreg_results[] = { "ok", "stale", "not_found" };
    const uint64_t unreg[] = { c->unregisters_ok_total, c->unregisters_stale_total,
                               c->unregisters_missing_total };
    static const char *const lookup_results[] = { "found", "not_found" };
    const uint64_t lookups[] = { c->lookups_found_total, c->lookups_missing_total };

    ls_prom_metric(out, "livecluster_smd_nodes", "gauge", "spd nodes with a live registry session.",
                   smd_registry_node_count(reg));
    ls_prom_metric(out, "livecluster_smd_streams", "gauge", "Stream ids registered.",
                   smd_registry_stream_count(reg));
    ls_prom_metric(out, "livecluster_smd_watches", "gauge", "Watches held by all sessions.",
                   smd_registry_watch_count(reg));
    ls_prom_metric(out, "livecluster_smd_sessions_total", "counter",
                   "Registry connections accepted.", c->sessions_total);
    ls_prom_metric(out, "livecluster_smd_denied_total", "counter",
                   "Connections refused: address outside allow.", c->denied_total);
    ls_prom_metric(out, "livecluster_smd_refused_full_total", "counter",
                   "Connections refused: max_connections reached.", c->refused_full_total);
    ls_prom_metric(out, "livecluster_smd_hellos_total", "counter", "Accepted hellos.",
                   c->hellos_total);
    ls_prom_counter_by(out, "livecluster_smd_auth_failures_total",
                       "Sessions refused before or at hello, by reason.", "reason", auth_reasons,
                       auth, 5);
    ls_prom_metric(out, "livecluster_smd_sessions_replaced_total", "counter",
                   "Sessions replaced by a newer session of the same node.",
                   c->sessions_replaced_total);
    ls_prom_metric(out, "livecluster_smd_lease_expiries_total", "counter",
                   "Sessions dropped because their lease lapsed.", c->lease_expiries_total);
    ls_prom_metric(out, "livecluster_smd_protocol_errors_total", "counter",
                   "Sessions closed for malformed input.", c->protocol_errors_total);
    ls_prom_metric(out, "livecluster_smd_registrations_total", "counter",
                   "Registrations accepted (new, renewed or taken over).", c->registrations_total);
    ls_prom_counter_by(out, "livecluster_smd_refusals_total", "Registrations refused, by reason.",
                       "reason", refusal_reasons, refusals, 2);
    ls_prom_metric(out, "livecluster_smd_conflicts_total", "counter",
                   "Registrations of an id another node held.", c->conflicts_total);
    ls_prom_metric(out, "livecluster_smd_takeovers_total", "counter",
                   "Conflicts won by the newcomer (idle owner, or earlier publisher on re-announce).",
                   c->takeovers_total);
    ls_prom_metric(out, "livecluster_smd_revocations_total", "counter", "revoked messages sent.",
                   c->revocations_total);
    ls_prom_metric(out, "livecluster_smd_probes_total", "counter",
                   "Idleness probes sent to owners.", c->probes_total);
    ls_prom_metric(out, "livecluster_smd_probe_timeouts_total", "counter",
                   "Probes unanswered in time (counted as busy).", c->probe_timeouts_total);
    ls_prom_counter_by(out, "livecluster_smd_unregistrations_total", "Unregisters, by result.",
                       "result", unreg_results, unreg, 3);
    ls_prom_counter_by(out, "livecluster_smd_lookups_total", "Lookups, by result.", "result",
                       lookup_results, lookups, 2);
    ls_prom_metric(out, "livecluster_smd_notifications_total", "counter",
                   "registered notifications sent to watchers.", c->notifications_total);
}

int smd_api_attach(struct ls_http *http, struct smd_registry *reg)
{
    int rc = ls_http_route(http, "/api/v1/streams", api_streams, reg);

    if (rc == LS_OK)
        rc = ls_http_route(http, "/api/v1/nodes", api_nodes, reg);
    if (rc == LS_OK)
        ls_http_set_metrics(http, api_metrics, reg);
    return rc;
}
