/*
 * mediaconf.c — spd and epd schemas (see mediaconf.h). The shared keys are listed once, in
 * MEDIA_COMMON_KEYS, and expanded into both schemas.
 */
#include <stddef.h>
#include <stdio.h>

#include "libstream/auth.h"
#include "libstream/http.h"
#include "libstream/log.h"
#include "libstream/mediaconf.h"
#include "libstream/relayconf.h"
#include "libstream/tls.h"

#define OFF(field) offsetof(struct ls_media_conf, field)

static const struct ls_conf_key auth_keys[] = {
    { .name = "secret", .type = LS_CONF_STRING, .offset = offsetof(struct ls_media_auth_conf, secret),
      .help = "HMAC-SHA256 token secret; empty = no token required" },
    { .name = "auth_url", .type = LS_CONF_URL, .offset = offsetof(struct ls_media_auth_conf, auth_url),
      .help = "http:// URL that must answer 2xx to each request; empty = none" },
    { .name = NULL },
};

/* tls.cert: a certificate chain that loads. */
static int tls_check_cert(const void *group, char *why, size_t whylen)
{
    const struct ls_media_tls_conf *tls = group;

    return ls_tls_check_files(tls->cert, NULL, why, whylen);
}

/* tls.key: a key that loads and matches tls.cert (a bad cert is reported at its own line). */
static int tls_check_key(const void *group, char *why, size_t whylen)
{
    const struct ls_media_tls_conf *tls = group;

    if (ls_tls_check_files(tls->cert, NULL, NULL, 0) != LS_OK)
        return LS_OK;
    return ls_tls_check_files(tls->cert, tls->key, why, whylen);
}

static const struct ls_conf_key tls_keys[] = {
    { .name = "cert", .type = LS_CONF_STRING, .offset = offsetof(struct ls_media_tls_conf, cert),
      .flags = LS_CONF_REQUIRED, .check = tls_check_cert,
      .help = "PEM certificate chain (server certificate first); reloaded on SIGHUP" },
    { .name = "key", .type = LS_CONF_STRING, .offset = offsetof(struct ls_media_tls_conf, key),
      .flags = LS_CONF_REQUIRED, .check = tls_check_key,
      .help = "PEM private key of the certificate (not encrypted); reloaded on SIGHUP" },
    { .name = NULL },
};

/* rtmps_listen, https_listen: when set, they need the certificate of `tls`. */
static int tls_check_listen(const struct ls_media_conf *conf, const struct ls_addr *listen,
                            char *why, size_t whylen)
{
    if (listen->port == 0 || (conf->tls.cert != NULL && conf->tls.cert[0] != '\0'))
        return LS_OK;
    snprintf(why, whylen, "needs tls = { cert = \"FILE\"; key = \"FILE\"; };");
    return LS_ECONF;
}

static int tls_check_rtmps(const void *group, char *why, size_t whylen)
{
    const struct ls_media_conf *conf = group;

    return tls_check_listen(conf, &conf->rtmps_listen, why, whylen);
}

static int tls_check_https(const void *group, char *why, size_t whylen)
{
    const struct ls_media_conf *conf = group;

    return tls_check_listen(conf, &conf->https_listen, why, whylen);
}

static const struct ls_conf_key record_keys[] = {
    { .name = "enabled", .type = LS_CONF_BOOL, .offset = offsetof(struct ls_media_record_conf, enabled),
      .help = "write every published stream to an FLV file" },
    { .name = "dir", .type = LS_CONF_STRING, .offset = offsetof(struct ls_media_record_conf, dir),
      .def = "/var/lib/livecluster/record", .help = "directory for recordings" },
    LS_CONF_INT_KEY(struct ls_media_record_conf, "max_bytes", max_bytes, 0, 0,
                    1125899906842624LL, "a recording stops at this file size; 0 = no limit"),
    LS_CONF_INT_KEY(struct ls_media_record_conf, "min_free_bytes", min_free_bytes, 268435456,
                    0, 1125899906842624LL,
                    "a recording stops when its filesystem has less free space than this"),
    { .name = NULL },
};

static const struct ls_conf_key vod_keys[] = {
    { .name = "dir", .type = LS_CONF_STRING, .offset = offsetof(struct ls_media_vod_conf, dir),
      .flags = LS_CONF_DIRECTORY,
      .help = "directory of DIR/NAME.flv, played at rtmp://HOST/vod/NAME and /vod/NAME.flv; "
              "empty = off" },
    LS_CONF_INT_KEY(struct ls_media_vod_conf, "max_viewers", max_viewers, 1000, 1, 1000000,
                    "file plays and downloads at once; more are refused"),
    LS_CONF_INT_KEY(struct ls_media_vod_conf, "read_ahead_ms", read_ahead_ms, 2000, 100, 30000,
                    "how far ahead of real time a file is sent to an RTMP player"),
    LS_CONF_INT_KEY(struct ls_media_vod_conf, "index_cache_bytes", index_cache_bytes, 16777216,
                    65536, 1073741824, "memory for the cached seek indexes of files"),
    LS_CONF_INT_KEY(struct ls_media_vod_conf, "io_threads", io_threads, 4, 1, 64,
                    "threads reading files (a restart applies a change)"),
    { .name = NULL },
};

#define INT_KEY(...) LS_CONF_INT_KEY(struct ls_media_conf, __VA_ARGS__)

#define MEDIA_COMMON_KEYS \
    { .name = "node_id", .type = LS_CONF_STRING, .offset = OFF(node_id), \
      .flags = LS_CONF_DEFAULT_HOSTNAME, .help = "this node's name (default: hostname)" }, \
    { .name = "log_level", .type = LS_CONF_LOG_LEVEL, .offset = OFF(log_level), .def = "info", \
      .help = "debug | info | notice | warning | error" }, \
    { .name = "listen", .type = LS_CONF_LISTEN_ADDR, .offset = OFF(listen), .def = "*:1935", \
      .help = "RTMP listen address" }, \
    { .name = "http_listen", .type = LS_CONF_LISTEN_ADDR, .offset = OFF(http_listen), \
      .def = "*:8080", .help = "HTTP API and HTTP-FLV listen address" }, \
    { .name = "cluster_secret", .type = LS_CONF_STRING, .offset = OFF(cluster_secret), \
      .help = "signs internal links; empty = unauthenticated" }, \
    INT_KEY("max_connections", max_connections, 10000, 1, 1000000, \
            "client connections (RTMP + HTTP-FLV) beyond which new ones are refused"), \
    { .name = "gop_cache", .type = LS_CONF_BOOL, .offset = OFF(gop_cache), .def_int = 1, \
      .help = "keep the GOP since the last keyframe for instant start" }, \
    INT_KEY("idle_timeout", idle_timeout, 10, 0, 86400, \
            "seconds a pulled stream with no viewers is kept"), \
    INT_KEY("play_wait_timeout", play_wait_timeout, 10, 0, 3600, \
            "seconds a play of a non-live id waits before StreamNotFound"), \
    { .name = "play", .type = LS_CONF_GROUP, .offset = OFF(play), .children = auth_keys, \
      .help = "play admission" }, \
    INT_KEY("handshake_timeout", handshake_timeout, 10, 1, 600, \
            "seconds a client has to finish the RTMP handshake"), \
    INT_KEY("connect_timeout", connect_timeout, 30, 1, 3600, \
            "seconds a connected client may stay without publishing or playing"), \
    INT_KEY("chunk_size", chunk_size, 4096, 128, 65536, "outgoing RTMP chunk size"), \
    INT_KEY("max_chunk_size", max_chunk_size, 65536, 128, 16777215, \
            "largest chunk size a peer may announce"), \
    INT_KEY("max_message_size", max_message_size, 8388608, 4096, 16777215, \
            "largest RTMP message accepted"), \
    INT_KEY("max_chunk_streams", max_chunk_streams, 64, 4, 65599, \
            "chunk streams one connection may use"), \
    INT_KEY("viewer_queue_bytes", viewer_queue_bytes, 4194304, 65536, 1073741824, \
            "queued output per viewer before it skips to the next keyframe"), \
    INT_KEY("slow_viewer_timeout", slow_viewer_timeout, 10, 1, 3600, \
            "seconds a viewer may stay behind before it is disconnected"), \
    INT_KEY("flush_interval_ms", flush_interval_ms, 20, 0, 1000, \
            "batching window for viewer writes; 0 = write at once"), \
    INT_KEY("gop_cache_max_bytes", gop_cache_max_bytes, 33554432, 65536, 1073741824, \
            "largest GOP kept in the cache (payload + 256 bytes per message)"), \
    INT_KEY("gop_cache_max_messages", gop_cache_max_messages, 4096, 16, 1000000, \
            "most messages (audio and video) of one GOP kept in the cache"), \
    INT_KEY("auth_timeout_ms", auth_timeout_ms, 3000, 100, 60000, \
            "total deadline of an auth_url request"), \
    INT_KEY("auth_max_inflight", auth_max_inflight, LS_AUTH_MAX_INFLIGHT, 1, 100000, \
            "auth_url requests open at once; over it a client is refused as busy"), \
    INT_KEY("auth_max_answer_bytes", auth_max_answer_bytes, LS_AUTH_MAX_ANSWER, 1024, 1048576, \
            "largest auth_url answer header block and body read"), \
    INT_KEY("pull_retry_max", pull_retry_max, 5, 1, 300, \
            "longest pause in seconds between attempts of a failed pull"), \
    INT_KEY("dns_timeout_ms", dns_timeout_ms, 5000, 100, 60000, \
            "deadline of one DNS lookup (upstream, advertise, source_managers, auth_url)"), \
    { .name = "dns_servers", .type = LS_CONF_ADDR_LIST, .offset = OFF(dns_servers), \
      .flags = LS_CONF_NUMERIC, \
      .help = "nameservers \"ip:port\"; empty = those of /etc/resolv.conf" }, \
    INT_KEY("max_control_queue_bytes", max_control_queue_bytes, 65536, 4096, 16777216, \
            "unsent replies (control, commands) per connection before the peer is closed"), \
    INT_KEY("min_ack_window", min_ack_window, 4096, 0, 1048576, \
            "smallest acknowledgement window a peer may ask for; 0 = any"), \
    INT_KEY("max_empty_messages", max_empty_messages, 1024, 0, 1000000, \
            "zero-length RTMP messages a peer may send in a row; 0 = any"), \
    LS_HTTP_KEYS(struct ls_media_conf, 10000), \
    LS_CONF_LOG_RATE_KEYS(struct ls_media_conf), \
    INT_KEY("upstream_timeout", upstream_timeout, 5, 1, 3600, \
            "seconds a pull's upstream may send no media and answer no ping before it is lost"), \
    INT_KEY("max_pulls", max_pulls, 5000, 1, 1000000, \
            "internal pulls at once; a play that needs one more is refused"), \
    INT_KEY("max_waiting_streams", max_waiting_streams, 2000, 1, 1000000, \
            "streams that were never live with viewers waiting; more are refused"), \
    INT_KEY("max_waiting_per_client", max_waiting_per_client, 64, 1, 1000000, \
            "of those, opened by one client address (internal pulls exempt)"), \
    { .name = "tls", .type = LS_CONF_GROUP, .offset = OFF(tls), .children = tls_keys, \
      .help = "certificate and key of rtmps_listen and https_listen" }, \
    { .name = "rtmps_listen", .type = LS_CONF_LISTEN_ADDR, .offset = OFF(rtmps_listen), \
      .check = tls_check_rtmps, .help = "RTMPS (RTMP over TLS) listen address; unset = off" }, \
    { .name = "https_listen", .type = LS_CONF_LISTEN_ADDR, .offset = OFF(https_listen), \
      .check = tls_check_https, \
      .help = "HTTPS listen address (API, metrics, HTTP-FLV over TLS); unset = off" }, \
    INT_KEY("tls_max_client_hello", tls_max_client_hello, LS_TLS_DEFAULT_MAX_CLIENT_HELLO, \
            1024, 131072, "bytes a TLS ClientHello may announce; longer ones are refused")

const struct ls_conf_key ls_spd_schema[] = {
    MEDIA_COMMON_KEYS,
    { .name = "advertise", .type = LS_CONF_PEER_ADDR, .offset = OFF(advertise),
      .help = "host:port of this spd's RTMP port as peers and edges reach it" },
    { .name = "source_managers", .type = LS_CONF_ADDR_LIST, .offset = OFF(source_managers),
      .help = "smd registries; empty = standalone origin" },
    INT_KEY("publish_takeover_idle", publish_takeover_idle, 5, 0, 3600,
            "seconds without media after which a new publisher may take over an id"),
    INT_KEY("publisher_idle_timeout", publisher_idle_timeout, 30, 1, 3600,
            "seconds without any data after which a publisher is disconnected"),
    INT_KEY("not_found_cache_ms", not_found_cache_ms, 2000, 0, 60000,
            "ms an id the registry just reported not live is not looked up again (0 = off)"),
    { .name = "publish", .type = LS_CONF_GROUP, .offset = OFF(publish), .children = auth_keys,
      .help = "publish admission" },
    { .name = "record", .type = LS_CONF_GROUP, .offset = OFF(record), .children = record_keys,
      .help = "recording of published streams" },
    { .name = "push", .type = LS_CONF_GROUP_LIST, .offset = OFF(push),
      .children = ls_relay_push_keys, .elem_size = sizeof(struct ls_relay_push_conf),
      .elem_check = ls_relay_push_check,
      .help = "push relays: streams published under app are also published to url/NAME" },
    { .name = "pull", .type = LS_CONF_GROUP_LIST, .offset = OFF(pull),
      .children = ls_relay_pull_keys, .elem_size = sizeof(struct ls_relay_pull_conf),
      .elem_check = ls_relay_pull_check,
      .help = "pulled sources: external RTMP streams kept live as local stream ids" },
    INT_KEY("max_pushes", max_pushes, 1000, 1, 100000,
            "pushes running at once; a push past it is not started (logged, counted)"),
    INT_KEY("push_retry_max", push_retry_max, 10, 1, 300,
            "longest pause in seconds between attempts of a failed push"),
    INT_KEY("push_timeout", push_timeout, 10, 1, 3600,
            "seconds a push target may take to accept the publish, or answer nothing, "
            "before it is lost"),
    { .name = "vod", .type = LS_CONF_GROUP, .offset = OFF(vod), .children = vod_keys,
      .help = "files on demand" },
    { .name = NULL },
};

const struct ls_conf_key ls_epd_schema[] = {
    MEDIA_COMMON_KEYS,
    { .name = "upstream", .type = LS_CONF_ADDR_LIST, .offset = OFF(upstream),
      .flags = LS_CONF_REQUIRED | LS_CONF_PREFERENCE,
      .help = "host:port of the spd this edge pulls from, or a list in order of preference" },
    /* the cluster view: an edge reports its viewers to these smd (it registers nothing) */
    { .name = "source_managers", .type = LS_CONF_ADDR_LIST, .offset = OFF(source_managers),
      .help = "smd registries this edge reports its viewers to; empty = none" },
    { .name = "advertise", .type = LS_CONF_PEER_ADDR, .offset = OFF(advertise),
      .help = "host:port viewers use for this edge's RTMP port, shown by smd (default: listen)" },
    { .name = NULL },
};

void ls_media_conf_apply_process(const struct ls_media_conf *conf, struct ls_http *http)
{
    ls_log_set_peer_limit((unsigned)conf->log_rate_limit, (unsigned)conf->log_rate_burst);
    ls_log_set_node_id(conf->node_id);
    if (http != NULL)
        ls_http_set_limits(http, (unsigned)conf->http_max_connections,
                           (unsigned)conf->http_request_timeout * 1000);
}

void ls_media_conf_apply(const struct ls_media_conf *conf, bool allow_publish,
                         struct ls_server_config *srv, struct ls_hub_config *hub)
{
    ls_server_config_defaults(srv);
    srv->max_connections = (unsigned)conf->max_connections;
    srv->conn.handshake_timeout_ms = (unsigned)conf->handshake_timeout * 1000;
    srv->conn.out_chunk_size = (uint32_t)conf->chunk_size;
    srv->conn.chunk.max_chunk_size = (uint32_t)conf->max_chunk_size;
    srv->conn.chunk.max_message_size = (uint32_t)conf->max_message_size;
    srv->conn.chunk.max_chunk_streams = (uint32_t)conf->max_chunk_streams;
    srv->conn.chunk.max_pending_bytes = 2 * (uint64_t)conf->max_message_size;
    srv->conn.chunk.min_ack_window = (uint32_t)conf->min_ack_window;
    srv->conn.chunk.max_empty_messages = (uint32_t)conf->max_empty_messages;
    srv->conn.max_control_queue_bytes = (size_t)conf->max_control_queue_bytes;
    srv->connect_timeout_ms = (unsigned)conf->connect_timeout * 1000;
    srv->publisher_idle_timeout_ms = (unsigned)conf->publisher_idle_timeout * 1000;
    srv->publish_takeover_idle_ms = (unsigned)conf->publish_takeover_idle * 1000;
    srv->play_wait_timeout_ms = (unsigned)conf->play_wait_timeout * 1000;
    srv->allow_publish = allow_publish;
    srv->publish_auth.secret = conf->publish.secret;
    srv->publish_auth.auth_url = conf->publish.auth_url;
    srv->publish_auth.timeout_ms = (unsigned)conf->auth_timeout_ms;
    srv->play_auth.secret = conf->play.secret;
    srv->play_auth.auth_url = conf->play.auth_url;
    srv->play_auth.timeout_ms = (unsigned)conf->auth_timeout_ms;
    srv->publish_auth.max_inflight = srv->play_auth.max_inflight =
        (unsigned)conf->auth_max_inflight;
    srv->publish_auth.max_answer_bytes = srv->play_auth.max_answer_bytes =
        (unsigned)conf->auth_max_answer_bytes;
    srv->cluster_secret = conf->cluster_secret != NULL ? conf->cluster_secret : "";
    srv->node_id = conf->node_id != NULL ? conf->node_id : "";

    ls_hub_config_defaults(hub);
    hub->gop_cache = conf->gop_cache;
    hub->gop_cache_max_bytes = (size_t)conf->gop_cache_max_bytes;
    hub->gop_cache_max_messages = (size_t)conf->gop_cache_max_messages;
    hub->chunk_size = (uint32_t)conf->chunk_size;
    hub->queue_max_bytes = (size_t)conf->viewer_queue_bytes;
    hub->slow_timeout_ms = (unsigned)conf->slow_viewer_timeout * 1000;
    hub->flush_interval_ms = (unsigned)conf->flush_interval_ms;
    hub->max_waiting_streams = (size_t)conf->max_waiting_streams;
    hub->max_waiting_per_client = (size_t)conf->max_waiting_per_client;
}
