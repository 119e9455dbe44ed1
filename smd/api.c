/*
 * api.c — smd's HTTP API (docs/interface.md "HTTP API", "Cluster-wide view"):
 * /api/v1/streams, /api/v1/nodes and /api/v1/cluster on top of libstream's server (which
 * serves /api/v1/health and /metrics), smd's counters and the cluster's figures appended
 * to /metrics, and the status page at / (page.c).
 *
 *   GET /api/v1/streams[?detail=1] → {"streams":[{"id","origin","node_id","since",
 *                                     "generation","viewers"[,"nodes":[{"node_id","role",
 *                                     "viewers","bytes_out"}]]}]}
 *   GET /api/v1/nodes   → {"nodes":[{"node_id","advertise","streams","since","peer",
 *                                    "watches","role","reports","last_report","health"}]}
 *   GET /api/v1/cluster → {"node_id","time","viewers","nodes":{"spd","epd"},
 *                          "play_requests","play_failures":{…},"play_start":{…},
 *                          "report_interval_ms","top":[…],"history":[…]}
 */
#include <stdlib.h>
#include <string.h>

#include <event2/http.h>

#include "libstream/http.h"
#include "libstream/json.h"
#include "libstream/prom.h"
#include "libstream/streamid.h"
#include "smd.h"

#define API_BODY_MAX (64u << 20)

struct streams_ctx {
    struct ls_json *j;
    const struct smd_cluster *cluster;
    bool detail;
};

static void split_json(const char *node_id, const char *role, uint64_t viewers,
                       uint64_t bytes_out, void *arg)
{
    struct ls_json *j = arg;

    ls_json_object_begin(j);
    ls_json_kv_string(j, "node_id", node_id);
    ls_json_kv_string(j, "role", role);
    ls_json_kv_uint64(j, "viewers", viewers);
    ls_json_kv_uint64(j, "bytes_out", bytes_out);
    ls_json_object_end(j);
}

static void stream_json(const struct smd_entry_view *e, void *arg)
{
    struct streams_ctx *ctx = arg;
    struct ls_json *j = ctx->j;

    ls_json_object_begin(j);
    ls_json_kv_string(j, "id", e->id);
    ls_json_kv_string(j, "origin", e->origin);
    ls_json_kv_string(j, "node_id", e->node_id);
    ls_json_kv_int64(j, "since", e->since);
    ls_json_kv_uint64(j, "generation", e->generation);
    /* external viewers on every reporting spd and epd, at most 5 s old */
    ls_json_kv_uint64(j, "viewers", smd_cluster_viewers(ctx->cluster, e->id));
    if (ctx->detail) {
        ls_json_key(j, "nodes");
        ls_json_array_begin(j);
        smd_cluster_split(ctx->cluster, e->id, split_json, j);
        ls_json_array_end(j);
    }
    ls_json_object_end(j);
}

struct streams_req {
    struct smd_registry *reg;
    bool detail;
};

static int api_streams_each(struct ls_json *j, void *arg)
{
    struct streams_req *sr = arg;
    struct streams_ctx ctx = { j, smd_registry_cluster(sr->reg), sr->detail };

    return smd_registry_foreach_entry(sr->reg, stream_json, &ctx);
}

/* ?detail=1 (or any value but 0): the split per node too. */
static bool query_flag(struct evhttp_request *req, const char *key)
{
    const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(req);
    const char *query = uri != NULL ? evhttp_uri_get_query(uri) : NULL;
    char v[8];

    return query != NULL && ls_query_get(query, key, v, sizeof v) == LS_OK &&
           strcmp(v, "0") != 0;
}

static void api_streams(struct evhttp_request *req, void *reg)
{
    struct streams_req sr = { reg, query_flag(req, "detail") };

    ls_http_reply_json_list(req, "streams", API_BODY_MAX, api_streams_each, &sr,
                            "cannot render the stream list");
}

struct nodes_ctx {
    struct ls_json *j;
    const struct smd_cluster *cluster;
};

static void health_json(struct ls_json *j, const struct smd_cnode_view *cv)
{
    const struct ls_node_report *h = cv->health;

    ls_json_key(j, "health");
    if (!cv->reported) {
        ls_json_null(j);
        return;
    }
    ls_json_object_begin(j);
    ls_json_kv_uint64(j, "connections", h->connections);
    ls_json_kv_double(j, "cpu_seconds", (double)h->cpu_ms / 1000.0);
    ls_json_kv_uint64(j, "rss_bytes", h->rss_kb * 1024);
    ls_json_kv_uint64(j, "out_kbps", h->out_kbps);
    ls_json_kv_uint64(j, "viewers", cv->viewers);
    ls_json_kv_uint64(j, "streams", cv->streams);
    if (h->upstream[0] != '\0')
        ls_json_kv_string(j, "upstream", h->upstream);
    else
        ls_json_kv_string(j, "upstream", NULL);
    ls_json_object_end(j);
}

static void node_json(const struct smd_node_view *n, void *arg)
{
    struct nodes_ctx *ctx = arg;
    struct ls_json *j = ctx->j;
    struct smd_cnode_view cv;

    if (n->cnode != NULL && !smd_cnode_listed(ctx->cluster, n->cnode))
        return; /* a reporting node silent for lease_seconds is gone */
    ls_json_object_begin(j);
    ls_json_kv_string(j, "node_id", n->node_id);
    ls_json_kv_string(j, "advertise", n->advertise);
    ls_json_kv_uint64(j, "streams", n->streams);
    ls_json_kv_int64(j, "since", n->since);
    ls_json_kv_string(j, "peer", n->peer);
    ls_json_kv_uint64(j, "watches", n->watches);
    if (n->cnode != NULL) {
        smd_cnode_view(ctx->cluster, n->cnode, &cv);
        ls_json_kv_string(j, "role", cv.role);
        ls_json_kv_bool(j, "reports", cv.reporter);
        ls_json_kv_bool(j, "fresh", cv.fresh);
        ls_json_key(j, "last_report");
        if (cv.reported)
            ls_json_int64(j, cv.last_report);
        else
            ls_json_null(j);
        health_json(j, &cv);
    }
    ls_json_object_end(j);
}

static int api_nodes_each(struct ls_json *j, void *reg)
{
    struct nodes_ctx ctx = { j, smd_registry_cluster(reg) };

    smd_registry_foreach_node(reg, node_json, &ctx);
    return LS_OK;
}

static void api_nodes(struct evhttp_request *req, void *reg)
{
    ls_http_reply_json_list(req, "nodes", API_BODY_MAX, api_nodes_each, reg,
                            "cannot render the node list");
}

static void api_cluster(struct evhttp_request *req, void *reg)
{
    struct ls_buf b;
    struct ls_json j;

    ls_buf_init(&b, API_BODY_MAX);
    ls_json_init(&j, &b);
    ls_json_object_begin(&j);
    smd_cluster_json(smd_registry_cluster(reg), &j);
    ls_json_object_end(&j);
    if (ls_json_finish(&j) != LS_OK)
        ls_http_reply_error(req, 500, "cannot render the cluster view");
    else
        ls_http_reply_json(req, 200, &b);
    ls_buf_free(&b);
}

/* The cluster's figures, summed over the reporting nodes (docs/interface.md). */
static void cluster_metrics(struct ls_buf *out, const struct smd_registry *reg)
{
    const struct smd_cluster *cl = smd_registry_cluster(reg);
    const struct smd_cluster_counters *cc = smd_cluster_counters(cl);
    struct smd_cluster_totals t;
    static const char *const roles[] = { "spd", "epd" };
    const char *names[LS_FAIL_COUNT];
    unsigned i;

    smd_cluster_totals(cl, &t);
    for (i = 0; i < LS_FAIL_COUNT; i++)
        names[i] = ls_fail_reason_name((enum ls_fail_reason)i);
    ls_prom_metric(out, "livecluster_cluster_viewers", "gauge",
                   "External viewers of every stream on every reporting spd and epd.", t.viewers);
    ls_prom_header(out, "livecluster_cluster_nodes", "gauge",
                   "Nodes with a registry session, by role.");
    for (i = 0; i < 2; i++) {
        const char *labels[] = { "role", roles[i], NULL };

        ls_prom_sample_u64(out, "livecluster_cluster_nodes", labels,
                           i == 0 ? t.nodes_spd : t.nodes_epd);
    }
    ls_prom_metric(out, "livecluster_cluster_play_requests_total", "counter",
                   "Plays by viewers, summed over the reporting nodes.",
                   t.counters[LS_NODE_PLAY_REQUESTS]);
    ls_prom_counter_by(out, "livecluster_cluster_play_failures_total",
                       "Failed or refused plays by viewers, by reason, summed over the nodes.",
                       "reason", names, &t.counters[LS_NODE_PLAY_FAILURES], LS_FAIL_COUNT);
    ls_stats_render_play_start(out, "livecluster_cluster_play_start_seconds",
                               "Viewers' time to first frame, summed over the reporting nodes.",
                               &t.counters[LS_NODE_PLAY_START],
                               t.counters[LS_NODE_PLAY_START_SUM_MS],
                               t.counters[LS_NODE_PLAY_START_COUNT]);
    ls_prom_metric(out, "livecluster_smd_reports_total", "counter",
                   "Report messages applied.", cc->reports_total);
    ls_prom_metric(out, "livecluster_smd_reports_dropped_total", "counter",
                   "Reports dropped for coming faster than report_interval_ms.",
                   cc->reports_dropped_total);
    ls_prom_metric(out, "livecluster_smd_report_streams_dropped_total", "counter",
                   "Stream lines left out: a node over max_report_streams.",
                   cc->streams_dropped_total);
    ls_prom_metric(out, "livecluster_smd_resyncs_total", "counter",
                   "Full reports asked of nodes (resync).", cc->resyncs_total);
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

    ls_prom_metric(out, "livecluster_smd_nodes", "gauge",
                   "Nodes (spd and epd) with a live registry session.",
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
    cluster_metrics(out, reg);
}

int smd_api_attach(struct ls_http *http, struct smd_registry *reg)
{
    int rc = ls_http_route(http, "/api/v1/streams", api_streams, reg);

    if (rc == LS_OK)
        rc = ls_http_route(http, "/api/v1/nodes", api_nodes, reg);
    if (rc == LS_OK)
        rc = ls_http_route(http, "/api/v1/cluster", api_cluster, reg);
    if (rc == LS_OK)
        rc = ls_http_route(http, "/", smd_page_serve, reg);
    if (rc == LS_OK)
        ls_http_set_metrics(http, api_metrics, reg);
    return rc;
}
