/*
 * medianode.c — the process-level plumbing spd and epd share (see medianode.h): config,
 * hub, RTMP server, and the HTTP server with the hub's routes (/api/v1/streams, HTTP-FLV);
 * with `tls`, RTMPS and HTTPS listeners on the same server and HTTP server (tls.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "libstream/config.h"
#include "libstream/httpflv.h"
#include "libstream/log.h"
#include "libstream/medianode.h"
#include "libstream/peersig.h"
#include "libstream/streamsapi.h"
#include "libstream/tls.h"

static int node_load(struct ls_media_node *node, struct ls_media_conf *conf)
{
    char err[512];

    if (ls_config_load(node->config_path, node->schema, conf, err, sizeof err) != LS_OK) {
        ls_log(LS_LOG_ERR, "%s", err);
        return LS_ECONF;
    }
    return LS_OK;
}

/* Derives the server, hub and pull settings from `conf` (strings borrowed from it). */
static void node_apply(struct ls_media_node *node, const struct ls_media_conf *conf,
                       struct ls_server_config *srv, struct ls_hub_config *hub,
                       struct ls_pull_config *pull)
{
    ls_media_conf_apply(conf, node->allow_publish, srv, hub);
    ls_pull_config_defaults(pull);
    pull->client.conn.chunk = srv->conn.chunk;
    pull->client.conn.out_chunk_size = srv->conn.out_chunk_size;
    pull->idle_timeout_ms = (unsigned)conf->idle_timeout * 1000;
    pull->retry_max_ms = (unsigned)conf->pull_retry_max * 1000;
    pull->client.silence_timeout_ms = (unsigned)conf->upstream_timeout * 1000;
    pull->node_id = conf->node_id;
    pull->role = node->role;
    pull->secret = conf->cluster_secret != NULL ? conf->cluster_secret : "";
    /* Names are looked up on the loop (decision 1): pulls and auth_url alike. */
    pull->resolver = node->resolver;
    srv->publish_auth.dns = srv->play_auth.dns =
        node->resolver != NULL ? ls_resolver_evdns(node->resolver) : NULL;
}

/*
 * "Trust" (docs/interface.md): without a cluster secret nobody is an internal pull, so
 * the edges and peer origins pulling from a node with play admission are refused like
 * any viewer without a token. Said at start and at every reload, where it can be fixed.
 * An spd is in a cluster when it has source_managers; an epd always is.
 */
static void node_check_trust(const struct ls_media_node *node, const struct ls_media_conf *conf)
{
    bool admission = (conf->play.secret != NULL && conf->play.secret[0] != '\0') ||
                     (conf->play.auth_url != NULL && conf->play.auth_url[0] != '\0');
    bool secret = conf->cluster_secret != NULL && conf->cluster_secret[0] != '\0';
    bool cluster = strcmp(node->role, "epd") == 0 || conf->source_managers.n > 0;

    if (secret && !ls_peersig_node_valid(conf->node_id))
        ls_log(LS_LOG_WARNING, "node_id \"%s\" is not 1..63 characters of [A-Za-z0-9_.-]: "
               "internal pulls from and to this node cannot be signed", conf->node_id);
    if (admission && !secret && cluster)
        ls_log(LS_LOG_WARNING, "play admission is on but cluster_secret is empty: nodes pulling "
               "from this one are ordinary viewers here and are refused without a token, and "
               "this node's own pulls are too where play admission is on; set the same "
               "cluster_secret on every node");
}

static void node_format_addr(const struct ls_addr *a, char *out, size_t cap)
{
    if (ls_addr_format(a, out, cap) != LS_OK)
        snprintf(out, cap, "?");
}

/* One TLS listener: its context (named for metrics) and its socket. */
static int node_listen_tls(struct ls_media_node *node, const char *name,
                           const struct ls_addr *listen, struct ls_tls_ctx **ctx)
{
    char why[384], addr[LS_ADDR_STRLEN];

    *ctx = ls_tls_ctx_new(name, node->conf.tls.cert, node->conf.tls.key, why, sizeof why);
    if (*ctx == NULL) {
        ls_log(LS_LOG_ERR, "%s_listen: %s", name, why);
        return LS_ECONF;
    }
    ls_tls_ctx_set_max_client_hello(*ctx, (size_t)node->conf.tls_max_client_hello);
    node_format_addr(listen, addr, sizeof addr);
    if (strcmp(name, "rtmps") == 0)
        return ls_server_listen_tls(node->srv, addr, *ctx);
    return ls_http_listen_tls(node->http, addr, *ctx);
}

/* rtmps_listen and https_listen, when set. */
static int node_start_tls(struct ls_media_node *node)
{
    char rtmps[LS_ADDR_STRLEN], https[LS_ADDR_STRLEN];

    if (node->conf.rtmps_listen.port != 0 &&
        node_listen_tls(node, "rtmps", &node->conf.rtmps_listen, &node->rtmps_tls) != LS_OK)
        return LS_EIO;
    if (node->conf.https_listen.port != 0 &&
        node_listen_tls(node, "https", &node->conf.https_listen, &node->https_tls) != LS_OK)
        return LS_EIO;
    if (node->rtmps_tls != NULL || node->https_tls != NULL) {
        node_format_addr(&node->conf.rtmps_listen, rtmps, sizeof rtmps);
        node_format_addr(&node->conf.https_listen, https, sizeof https);
        ls_log(LS_LOG_NOTICE, "%s %s: RTMPS on %s, HTTPS on %s (certificate %s)", node->role,
               node->conf.node_id, node->rtmps_tls != NULL ? rtmps : "-",
               node->https_tls != NULL ? https : "-", node->conf.tls.cert);
    }
    return LS_OK;
}

/*
 * SIGHUP: the certificate and key are read again (a renewal replaces the files), for new
 * connections; established ones keep theirs. A file that stopped loading between the
 * config check and here keeps the certificate in use.
 */
static void node_reload_tls(struct ls_media_node *node, const struct ls_media_conf *fresh)
{
    struct ls_tls_ctx *ctxs[2] = { node->rtmps_tls, node->https_tls };
    char why[384];
    size_t i;

    if (memcmp(&fresh->rtmps_listen, &node->conf.rtmps_listen, sizeof fresh->rtmps_listen) != 0 ||
        memcmp(&fresh->https_listen, &node->conf.https_listen, sizeof fresh->https_listen) != 0)
        ls_log(LS_LOG_WARNING, "rtmps_listen and https_listen changes need a restart");
    for (i = 0; i < 2; i++) {
        if (ctxs[i] == NULL)
            continue;
        ls_tls_ctx_set_max_client_hello(ctxs[i], (size_t)fresh->tls_max_client_hello);
        if (fresh->tls.cert == NULL || fresh->tls.cert[0] == '\0') {
            ls_log(LS_LOG_WARNING, "tls removed: the TLS listeners keep their certificate "
                   "until a restart");
            return;
        }
        if (ls_tls_ctx_reload(ctxs[i], fresh->tls.cert, fresh->tls.key, why, sizeof why) !=
            LS_OK) {
            ls_log(LS_LOG_ERR, "tls: %s; keeping the certificate in use", why);
            return;
        }
    }
    if (ctxs[0] != NULL || ctxs[1] != NULL)
        ls_log(LS_LOG_NOTICE, "tls: certificate %s and key %s loaded for new connections",
               fresh->tls.cert, fresh->tls.key);
}

struct ls_media_node *ls_media_node_new(struct event_base *base, const char *path,
                                        const char *role, const struct ls_conf_key *schema,
                                        bool allow_publish)
{
    struct ls_media_node *node = calloc(1, sizeof *node);
    char listen[LS_ADDR_STRLEN], http_listen[LS_ADDR_STRLEN];
    struct ls_resolver_config dns;

    if (node == NULL)
        return NULL;
    node->base = base;
    node->role = role;
    node->schema = schema;
    node->allow_publish = allow_publish;
    node->config_path = strdup(path);
    if (node->config_path == NULL || node_load(node, &node->conf) != LS_OK) {
        free(node->config_path);
        free(node);
        return NULL;
    }
    ls_log_set_level(node->conf.log_level);
    ls_resolver_config_defaults(&dns);
    dns.timeout_ms = (unsigned)node->conf.dns_timeout_ms;
    dns.servers = &node->conf.dns_servers;
    node->resolver = ls_resolver_new(base, &dns);
    if (node->resolver == NULL) {
        ls_config_free(node->schema, &node->conf);
        free(node->config_path);
        free(node);
        return NULL;
    }
    ls_media_conf_apply_process(&node->conf, NULL);
    node_apply(node, &node->conf, &node->srv_cfg, &node->hub_cfg, &node->pull_cfg);
    node_check_trust(node, &node->conf);
    node_format_addr(&node->conf.listen, listen, sizeof listen);
    node_format_addr(&node->conf.http_listen, http_listen, sizeof http_listen);
    node->hub = ls_hub_new(base, &node->hub_cfg);
    if (node->hub != NULL)
        node->srv = ls_server_new(base, node->hub, &node->srv_cfg, listen);
    if (node->srv != NULL)
        node->http = ls_http_new(base, http_listen, role, node->conf.node_id);
    if (node->http != NULL)
        ls_media_conf_apply_process(&node->conf, node->http);
    if (node->http != NULL && ls_http_set_allow(node->http, &node->conf.http_allow) == LS_OK &&
        ls_streamsapi_attach(node->http, node->hub) == LS_OK)
        node->flv = ls_httpflv_new(node->http, node->srv);
    if (node->flv == NULL) {
        if (node->http != NULL && node->srv != NULL)
            ls_log(LS_LOG_ERR, "out of memory setting up HTTP");
        ls_media_node_free(node);
        return NULL;
    }
    if (node_start_tls(node) != LS_OK) {
        ls_media_node_free(node);
        return NULL;
    }
    ls_log(LS_LOG_NOTICE, "%s %s: RTMP on %s, HTTP on %s", role, node->conf.node_id, listen,
           http_listen);
    return node;
}

static void node_reconfigure_pull(struct ls_stream *st, void *arg)
{
    struct ls_pull *pull = ls_stream_role_data(st);

    if (pull != NULL)
        ls_pull_set_config(pull, arg);
}

int ls_media_node_reload(struct ls_media_node *node)
{
    struct ls_media_conf fresh;
    struct ls_server_config srv;
    struct ls_hub_config hub;
    struct ls_pull_config pull;

    if (node_load(node, &fresh) != LS_OK) {
        ls_log(LS_LOG_WARNING, "reload failed: keeping the running configuration");
        return LS_ECONF;
    }
    if (memcmp(&fresh.listen, &node->conf.listen, sizeof fresh.listen) != 0 ||
        memcmp(&fresh.http_listen, &node->conf.http_listen, sizeof fresh.http_listen) != 0 ||
        fresh.chunk_size != node->conf.chunk_size)
        ls_log(LS_LOG_WARNING, "listen, http_listen and chunk_size changes need a restart");
    node_apply(node, &fresh, &srv, &hub, &pull);
    ls_log_set_level(fresh.log_level);
    node_reload_tls(node, &fresh);
    node_check_trust(node, &fresh);
    if (fresh.dns_servers.n != node->conf.dns_servers.n ||
        (fresh.dns_servers.n > 0 &&
         memcmp(fresh.dns_servers.v, node->conf.dns_servers.v,
                fresh.dns_servers.n * sizeof *fresh.dns_servers.v) != 0))
        ls_log(LS_LOG_WARNING, "dns_servers changes need a restart");
    ls_resolver_set_timeout(node->resolver, (unsigned)fresh.dns_timeout_ms);
    ls_media_conf_apply_process(&fresh, node->http);
    ls_server_set_config(node->srv, &srv);
    ls_hub_set_config(node->hub, &hub);
    ls_http_set_node_id(node->http, fresh.node_id);
    if (ls_http_set_allow(node->http, &fresh.http_allow) != LS_OK)
        ls_log(LS_LOG_ERR, "out of memory: http_allow keeps its previous value");
    /* Everything now borrows from `fresh`; the old strings can go. */
    ls_config_free(node->schema, &node->conf);
    node->conf = fresh;
    node->srv_cfg = srv;
    node->hub_cfg = hub;
    node->pull_cfg = pull;
    ls_hub_foreach(node->hub, node_reconfigure_pull, &node->pull_cfg);
    if (node->reloaded != NULL)
        node->reloaded(node, node->arg);
    return LS_OK;
}

static void node_stop_pull(struct ls_stream *st, void *arg)
{
    struct ls_pull *pull = ls_stream_role_data(st);

    (void)arg;
    if (pull != NULL)
        ls_pull_stop(pull, "shutting down");
}

void ls_media_node_stop(struct ls_media_node *node)
{
    ls_server_shutdown(node->srv);
    /* FLV responses end before their server goes, which takes the route along. */
    ls_httpflv_free(node->flv);
    node->flv = NULL;
    ls_http_free(node->http);
    node->http = NULL;
    ls_hub_foreach(node->hub, node_stop_pull, NULL);
    /* Lookups still out end now; libevent finishes them in the stop grace. */
    ls_resolver_shutdown(node->resolver);
}

void ls_media_node_status(const struct ls_media_node *node, char *out, size_t cap)
{
    snprintf(out, cap, "%zu streams, %zu subscribers, %u RTMP connections",
             ls_hub_stream_count(node->hub), ls_hub_subscriber_count(node->hub),
             ls_server_session_count(node->srv));
}

void ls_media_node_free(struct ls_media_node *node)
{
    if (node == NULL)
        return;
    if (node->srv != NULL)
        ls_media_node_stop(node);
    ls_server_free(node->srv);
    ls_hub_free(node->hub);
    /* Last: every TLS connection is gone with the server and the HTTP side. */
    ls_tls_ctx_free(node->rtmps_tls);
    ls_tls_ctx_free(node->https_tls);
    ls_resolver_free(node->resolver);
    ls_config_free(node->schema, &node->conf);
    free(node->config_path);
    free(node);
}
