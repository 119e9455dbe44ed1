/*
 * conf.c — smd's configuration schema (docs/interface.md "Configuration": node_id, log_level,
 * listen, http_listen, cluster_secret, max_connections, lease_seconds, allow; the bounds
 * below them are smd's own). Defaults are documented in conf/smd.conf.
 */
#include <stddef.h>

#include "libstream/http.h"
#include "smd.h"

#define OFF(field) offsetof(struct smd_conf, field)
#define INT_KEY(...) LS_CONF_INT_KEY(struct smd_conf, __VA_ARGS__)

const struct ls_conf_key smd_schema[] = {
    { .name = "node_id", .type = LS_CONF_STRING, .offset = OFF(node_id),
      .flags = LS_CONF_DEFAULT_HOSTNAME, .help = "this registry's name (default: hostname)" },
    { .name = "log_level", .type = LS_CONF_LOG_LEVEL, .offset = OFF(log_level), .def = "info",
      .help = "debug | info | notice | warning | error" },
    { .name = "listen", .type = LS_CONF_LISTEN_ADDR, .offset = OFF(listen), .def = "*:7935",
      .help = "registry port: spd connects here" },
    { .name = "http_listen", .type = LS_CONF_LISTEN_ADDR, .offset = OFF(http_listen),
      .def = "*:8080", .help = "HTTP API and /metrics" },
    { .name = "cluster_secret", .type = LS_CONF_STRING, .offset = OFF(cluster_secret),
      .help = "authenticates spd hellos; empty = unauthenticated" },
    INT_KEY("max_connections", max_connections, 1000, 1, 100000,
            "registry sessions beyond which new connections are refused"),
    INT_KEY("lease_seconds", lease_seconds, 10, 2, 3600,
            "a session silent this long is dropped with its streams"),
    { .name = "allow", .type = LS_CONF_CIDR_LIST, .offset = OFF(allow),
      .help = "networks spd may connect from; empty = any" },
    INT_KEY("hello_timeout", hello_timeout, 5, 1, 300,
            "seconds from connect to a valid hello"),
    INT_KEY("max_streams_per_node", max_streams_per_node, 100000, 1, 10000000,
            "stream ids one spd may register"),
    INT_KEY("max_watches_per_node", max_watches_per_node, 100000, 1, 10000000,
            "stream ids one spd may watch"),
    /* at most 4 s: spd gives a register 5 s before it calls the smd dead */
    INT_KEY("probe_timeout_ms", probe_timeout_ms, 2000, 100, 4000,
            "an owner that does not answer a takeover probe this fast counts as busy"),
    INT_KEY("max_pending_hellos", max_pending_hellos, 128, 1, 100000,
            "connections that have not said hello yet, beyond which new ones are refused"),
    LS_HTTP_KEYS(struct smd_conf, 1000),
    LS_CONF_LOG_RATE_KEYS(struct smd_conf),
    /* at most 2.5 s: viewer figures must be at most 5 s old (SMD_REPORT_FRESH_MS) */
    INT_KEY("report_interval_ms", report_interval_ms, SMD_REPORT_INTERVAL_DEFAULT_MS, 250, 2500,
            "spd and epd report their viewers to this smd at most this often"),
    INT_KEY("max_report_streams", max_report_streams, SMD_MAX_REPORT_STREAMS_DEFAULT, 1,
            1000000, "streams of one reporting node kept in the cluster view"),
    { .name = NULL },
};
