/*
 * http.h — every daemon's HTTP side on `http_listen` (libevent evhttp): the JSON API,
 * Prometheus metrics and, on spd and epd, live HTTP-FLV (INTERFACE.md "HTTP API").
 *
 * Built-in routes: GET /api/v1/health, GET /metrics; with ls_http_serve_media also
 * GET /api/v1/streams (the hub's streams) and GET /APP/NAME.flv. Roles add or override
 * exact paths with ls_http_route (smd: /api/v1/streams, /api/v1/nodes). Anything else is
 * 404 {"error":"not found"}; methods other than GET/HEAD are 405.
 */
#ifndef LIBSTREAM_HTTP_H
#define LIBSTREAM_HTTP_H

#include "libstream/buf.h"
#include "libstream/err.h"

struct event_base;
struct evhttp_request;
struct ls_http;
struct ls_server;

/* Binds `listen` ("host:port"). NULL with a logged reason on failure. Strings are copied. */
struct ls_http *ls_http_new(struct event_base *base, const char *listen, const char *role,
                            const char *node_id);
/* Closes the listener and every streaming response. */
void ls_http_free(struct ls_http *http);
void ls_http_set_node_id(struct ls_http *http, const char *node_id);

/* spd and epd: /api/v1/streams from the server's hub, and HTTP-FLV viewers that count
 * against the server's max_connections and pass its play admission. */
void ls_http_serve_media(struct ls_http *http, struct ls_server *srv);

typedef void (*ls_http_handler)(struct evhttp_request *req, void *arg);
/* Serves GET `path` (exact match) with `fn`; replaces a built-in route of that path. */
LS_MUST_CHECK int ls_http_route(struct ls_http *http, const char *path, ls_http_handler fn,
                                void *arg);
/* Role counters appended to /metrics after libstream's. */
void ls_http_set_metrics(struct ls_http *http, void (*fn)(struct ls_buf *out, void *arg),
                         void *arg);

/* Sends `body` (JSON text) with status `code`; the buffer is consumed (reset). */
void ls_http_reply_json(struct evhttp_request *req, int code, struct ls_buf *body);
/* Sends {"error": message} with status `code`. */
void ls_http_reply_error(struct evhttp_request *req, int code, const char *message);

#endif /* LIBSTREAM_HTTP_H */
