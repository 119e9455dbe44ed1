/*
 * http.h — every daemon's HTTP side on `http_listen` (libevent evhttp): the JSON API,
 * Prometheus metrics and, on spd and epd, live HTTP-FLV (docs/interface.md "HTTP API").
 *
 * Built-in routes: GET /api/v1/health and GET /metrics. Everything else is registered:
 * exact paths with ls_http_route (the media node: /api/v1/streams from its hub; smd:
 * /api/v1/streams, /api/v1/nodes), path beginnings with ls_http_route_prefix (spd's files:
 * "/vod/") and path endings with ls_http_route_suffix (the media node: ".flv", HTTP-FLV).
 * Exact paths are matched first, then the built-ins, then beginnings, then endings.
 * Anything else is 404 {"error":"not found"}; methods other than GET/HEAD are 405.
 *
 * Exact paths and the built-ins are for operators (the API, /metrics): they answer only
 * clients whose address is in the allow list (`http_allow`, default LS_HTTP_ALLOW_DEFAULT:
 * loopback and private ranges), others get 403 {"error":"forbidden: ..."}. Path beginnings
 * and endings are for viewers (files, HTTP-FLV) and answer everyone.
 */
#ifndef LIBSTREAM_HTTP_H
#define LIBSTREAM_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "libstream/addr.h"
#include "libstream/buf.h"
#include "libstream/config.h"
#include "libstream/err.h"

/* Who may use the API and /metrics unless the config says otherwise: loopback and the
 * private ranges (RFC 1918, IPv6 unique local). Space-separated, the form config.h takes
 * as a CIDR list's default. */
#define LS_HTTP_ALLOW_DEFAULT \
    "127.0.0.0/8 ::1/128 10.0.0.0/8 172.16.0.0/12 192.168.0.0/16 fc00::/7"
/* The `http_allow` key of a daemon's schema, for a `struct ls_cidr_list` field. */
#define LS_HTTP_ALLOW_KEY(conf_struct, field) \
    { .name = "http_allow", .type = LS_CONF_CIDR_LIST, .offset = offsetof(conf_struct, field), \
      .def = LS_HTTP_ALLOW_DEFAULT, \
      .help = "networks that may use /api and /metrics; empty = nobody (HTTP-FLV is open)" }

/* Every daemon's HTTP bounds: fields http_max_connections (default `max_default`),
 * http_request_timeout and http_allow of `conf_struct` (ls_http_set_limits, _set_allow). */
#define LS_HTTP_KEYS(conf_struct, max_default) \
    LS_CONF_INT_KEY(conf_struct, "http_max_connections", http_max_connections, (max_default), 1, \
                    1000000, "HTTP connections (API, metrics, HTTP-FLV) beyond which new ones " \
                    "are refused"), \
    LS_CONF_INT_KEY(conf_struct, "http_request_timeout", http_request_timeout, 10, 1, 3600, \
                    "seconds an HTTP connection has to send its request headers"), \
    LS_HTTP_ALLOW_KEY(conf_struct, http_allow)

struct event_base;
struct evhttp_connection;
struct evhttp_request;
struct ls_http;
struct ls_json;
struct ls_tls_ctx;

/* Defaults of ls_http_set_limits (the config keys http_max_connections and
 * http_request_timeout). */
#define LS_HTTP_DEFAULT_MAX_CONNECTIONS 1024u
#define LS_HTTP_DEFAULT_REQUEST_TIMEOUT_MS 10000u

/* Binds `listen` ("host:port"). NULL with a logged reason on failure. Strings are copied. */
struct ls_http *ls_http_new(struct event_base *base, const char *listen, const char *role,
                            const char *node_id);
/*
 * Bounds every connection of this server, of whatever kind (API, /metrics, HTTP-FLV): at
 * most `max_connections` open at once (one more is closed at accept, logged and counted
 * in connections_refused_total), and each must deliver its request headers within
 * `request_timeout_ms` of accept, or it is closed. A request that got its answer closes
 * its connection (one request per connection); a streamed answer is not cut by the
 * deadline. Applies to connections accepted from now on.
 */
void ls_http_set_limits(struct ls_http *http, unsigned max_connections,
                        unsigned request_timeout_ms);
/* Connections open now (accepted this loop turn not yet included). */
size_t ls_http_connection_count(const struct ls_http *http);
/*
 * Also serves everything on `listen` over TLS with `tls`'s certificate (https_listen;
 * borrowed until ls_http_free): the same routes, limits and allow list, the connections
 * counted together. LS_EIO (logged) when it cannot listen, LS_ENOMEM.
 */
LS_MUST_CHECK int ls_http_listen_tls(struct ls_http *http, const char *listen,
                                     struct ls_tls_ctx *tls);
/* The request's connection came in on the TLS listener. */
bool ls_http_conn_tls(struct ls_http *http, struct evhttp_connection *evcon);
/*
 * The close callback of a request's connection, for handlers that keep a request to
 * stream an answer: use this instead of evhttp_connection_set_closecb, which would take
 * the server's own (it counts the connection). NULL `cb` removes it.
 */
void ls_http_set_closecb(struct ls_http *http, struct evhttp_connection *evcon,
                         void (*cb)(struct evhttp_connection *evcon, void *arg), void *arg);
/* Closes the listener and every open connection. Whoever streams responses (httpflv.h)
 * ends them first. */
void ls_http_free(struct ls_http *http);
void ls_http_set_node_id(struct ls_http *http, const char *node_id);
/* Replaces the allow list of the operator routes (copied; an empty list = nobody). */
LS_MUST_CHECK int ls_http_set_allow(struct ls_http *http, const struct ls_cidr_list *allow);

/* Handles one GET or HEAD request: answers it now, or keeps it to stream a response. */
typedef void (*ls_http_handler)(struct evhttp_request *req, void *arg);
/* Serves `path` (exact match) with `fn`; replaces a built-in route of that path and an
 * earlier route of the same path. `arg` is borrowed while the server lives. */
LS_MUST_CHECK int ls_http_route(struct ls_http *http, const char *path, ls_http_handler fn,
                                void *arg);
/* Serves every path that ends with `suffix` (and no exact or built-in route claims). */
LS_MUST_CHECK int ls_http_route_suffix(struct ls_http *http, const char *suffix,
                                       ls_http_handler fn, void *arg);
/* Serves every path that starts with `prefix` (and no exact or built-in route claims),
 * before the endings: spd's files, "/vod/", come before HTTP-FLV's ".flv". For viewers:
 * not restricted by the allow list. */
LS_MUST_CHECK int ls_http_route_prefix(struct ls_http *http, const char *prefix,
                                       ls_http_handler fn, void *arg);
/* Role counters appended to /metrics after libstream's. */
void ls_http_set_metrics(struct ls_http *http, void (*fn)(struct ls_buf *out, void *arg),
                         void *arg);
/* The livecluster_streams and livecluster_viewers gauges of /metrics (0 without it). */
void ls_http_set_gauges(struct ls_http *http,
                        void (*fn)(void *arg, uint64_t *streams, uint64_t *viewers), void *arg);

/* Sends `body` (JSON text) with status `code`; the buffer is consumed (reset). */
void ls_http_reply_json(struct evhttp_request *req, int code, struct ls_buf *body);
/* Sends {"error": message} with status `code`. */
void ls_http_reply_error(struct evhttp_request *req, int code, const char *message);
/*
 * Sends {"<key>":[…]} with status 200, the list endpoints' one form: `each` writes the
 * array's elements into `j` and returns LS_OK or an error. The body is bounded by `limit`
 * (0 = none); when `each` or the writer fails the reply is 500 {"error": error}.
 */
void ls_http_reply_json_list(struct evhttp_request *req, const char *key, size_t limit,
                             int (*each)(struct ls_json *j, void *arg), void *arg,
                             const char *error);

#endif /* LIBSTREAM_HTTP_H */
