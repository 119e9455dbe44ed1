/*
 * http.c — every daemon's HTTP server on evhttp (see http.h): /api/v1/health, /metrics,
 * and the routes the roles register. Layer: roles' tools. It knows nothing of streams: the
 * media node adds /api/v1/streams (streamsapi.c) and GET /APP/NAME.flv (httpflv.c).
 *
 * Connections are counted from accept to close and bounded (http_max_connections), and a
 * connection must deliver its request headers within http_request_timeout of accept
 * (evhttp's own timeout restarts with every byte, which a slowloris client feeds). evhttp
 * 2.1 has no accept hook, so we learn of a connection when evhttp asks us for its
 * bufferevent (evhttp_set_bevcb) and adopt it on the same loop turn, before any of its I/O
 * runs: the bufferevent's callback argument is then its evhttp_connection, on which we set
 * the close callback that ends the count (handlers that need one chain through
 * ls_http_set_closecb). Every connection serves one request (Connection: close), so the
 * deadline covers exactly one set of request headers; streaming answers (HTTP-FLV) last
 * as long as they stream.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <sys/queue.h>
#include <sys/socket.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>

#include "libstream/clock.h"
#include "libstream/config.h"
#include "libstream/http.h"
#include "libstream/json.h"
#include "libstream/listener.h"
#include "libstream/log.h"
#include "libstream/stats.h"
#include "libstream/strmap.h"
#include "libstream/tls.h"

#define HTTP_MAX_HEADERS 8192
#define HTTP_TIMEOUT_S 30
#define HTTP_BACKLOG 128     /* what evhttp_bind_socket uses */

struct http_route {
    char *path;              /* the whole path, or with `suffix` its ending, or with
                              * `prefix` its beginning */
    bool suffix;
    bool prefix;
    ls_http_handler fn;
    void *arg;
    struct http_route *next;
};

/* One accepted connection, from evhttp's bufferevent request to its close callback. */
struct http_conn {
    struct ls_http *http;
    struct bufferevent *bev;
    struct evhttp_connection *evcon;   /* set when adopted */
    struct event *deadline;            /* request headers due (http_request_timeout) */
    char key[2 * sizeof(void *) + 4];  /* evcon's address: the key in `conns` */
    struct ls_strmap_node node;
    char peer[64];
    void (*closecb)(struct evhttp_connection *evcon, void *arg); /* a handler's, chained */
    void *closecb_arg;
    bool dispatched;                   /* its request reached a handler */
    bool tls;                          /* accepted on https_listen */
    TAILQ_ENTRY(http_conn) adopt_link;
};

struct ls_http {
    struct event_base *base;
    struct evhttp *evhttp;
    struct ls_listener *listener;
    struct evhttp *evhttps;            /* https_listen: the same routes over TLS, or NULL */
    struct ls_listener *tls_listener;
    struct ls_tls_ctx *tls;            /* its certificate (borrowed) */
    struct ls_strmap conns;            /* adopted connections by evcon */
    bool conns_ready;                  /* `conns` initialised */
    TAILQ_HEAD(, http_conn) adopting;  /* accepted this loop turn, not adopted yet */
    struct event *adopt_ev;
    unsigned max_connections;
    unsigned request_timeout_ms;
    char *role;
    char *node_id;
    uint64_t started_ms;
    struct http_route *routes;  /* newest first */
    struct ls_cidr_list allow;  /* owned: who may use the operator routes */
    void (*metrics_fn)(struct ls_buf *out, void *arg);
    void *metrics_arg;
    void (*gauges_fn)(void *arg, uint64_t *streams, uint64_t *viewers);
    void *gauges_arg;
};

void ls_http_reply_json(struct evhttp_request *req, int code, struct ls_buf *body)
{
    struct evbuffer *out = evbuffer_new();

    if (out == NULL || ls_buf_status(body) != LS_OK) {
        if (out != NULL)
            evbuffer_free(out);
        evhttp_send_error(req, 500, "Internal Server Error");
        ls_buf_reset(body);
        return;
    }
    evbuffer_add(out, body->data, body->len);
    evbuffer_add(out, "\n", 1);
    evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Type",
                      "application/json");
    evhttp_add_header(evhttp_request_get_output_headers(req), "Cache-Control", "no-store");
    evhttp_send_reply(req, code, code == 200 ? "OK" : code == 404 ? "Not Found" : "Error", out);
    evbuffer_free(out);
    ls_buf_reset(body);
}

void ls_http_reply_error(struct evhttp_request *req, int code, const char *message)
{
    struct ls_buf b;
    struct ls_json j;

    ls_buf_init(&b, 0);
    ls_json_init(&j, &b);
    ls_json_object_begin(&j);
    ls_json_kv_string(&j, "error", message);
    ls_json_object_end(&j);
    ls_http_reply_json(req, code, &b);
    ls_buf_free(&b);
}

void ls_http_reply_json_list(struct evhttp_request *req, const char *key, size_t limit,
                             int (*each)(struct ls_json *j, void *arg), void *arg,
                             const char *error)
{
    struct ls_buf b;
    struct ls_json j;
    int rc;

    ls_buf_init(&b, limit);
    ls_json_init(&j, &b);
    ls_json_object_begin(&j);
    ls_json_key(&j, key);
    ls_json_array_begin(&j);
    rc = each(&j, arg);
    ls_json_array_end(&j);
    ls_json_object_end(&j);
    if (rc != LS_OK || ls_json_finish(&j) != LS_OK)
        ls_http_reply_error(req, 500, error);
    else
        ls_http_reply_json(req, 200, &b);
    ls_buf_free(&b);
}

static void http_health(struct ls_http *http, struct evhttp_request *req)
{
    struct ls_buf b;
    struct ls_json j;

    ls_buf_init(&b, 0);
    ls_json_init(&j, &b);
    ls_json_object_begin(&j);
    ls_json_kv_string(&j, "status", "ok");
    ls_json_kv_string(&j, "role", http->role);
    ls_json_kv_string(&j, "node_id", http->node_id);
    ls_json_kv_string(&j, "version", LS_VERSION);
    ls_json_kv_uint64(&j, "uptime_s", (ls_now_ms() - http->started_ms) / 1000);
    ls_json_object_end(&j);
    ls_http_reply_json(req, 200, &b);
    ls_buf_free(&b);
}

static void http_metrics(struct ls_http *http, struct evhttp_request *req)
{
    struct ls_buf b;
    struct evbuffer *out;
    uint64_t streams = 0, viewers = 0;

    if (http->gauges_fn != NULL)
        http->gauges_fn(http->gauges_arg, &streams, &viewers);
    ls_buf_init(&b, 0);
    ls_stats_render(&b, streams, viewers);
    ls_tls_render_metrics(&b);
    if (http->metrics_fn != NULL)
        http->metrics_fn(&b, http->metrics_arg);
    out = evbuffer_new();
    if (out == NULL || ls_buf_status(&b) != LS_OK) {
        evhttp_send_error(req, 500, "Internal Server Error");
    } else {
        evbuffer_add(out, b.data, b.len);
        evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Type",
                          "text/plain; version=0.0.4");
        evhttp_send_reply(req, 200, "OK", out);
    }
    if (out != NULL)
        evbuffer_free(out);
    ls_buf_free(&b);
}

static bool http_ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), m = strlen(suffix);

    return n >= m && strcmp(s + n - m, suffix) == 0;
}

static struct http_route *http_find_route(const struct ls_http *http, const char *path,
                                          bool suffix)
{
    struct http_route *r;

    for (r = http->routes; r != NULL; r = r->next)
        if (r->suffix == suffix && !r->prefix &&
            (suffix ? http_ends_with(path, r->path) : strcmp(r->path, path) == 0))
            return r;
    return NULL;
}

static struct http_route *http_find_prefix(const struct ls_http *http, const char *path)
{
    struct http_route *r;

    for (r = http->routes; r != NULL; r = r->next)
        if (r->prefix && strncmp(path, r->path, strlen(r->path)) == 0)
            return r;
    return NULL;
}

/* ---- connections ---- */

static struct http_conn *http_conn_find(struct ls_http *http, struct evhttp_connection *evcon)
{
    char key[2 * sizeof(void *) + 4];
    struct ls_strmap_node *n;

    if (evcon == NULL)
        return NULL;
    snprintf(key, sizeof key, "%p", (void *)evcon);
    n = ls_strmap_find(&http->conns, key);
    return n != NULL ? LS_STRMAP_ENTRY(n, struct http_conn, node) : NULL;
}

static void http_conn_closed(struct evhttp_connection *evcon, void *arg)
{
    struct http_conn *hc = arg;

    if (hc->closecb != NULL)
        hc->closecb(evcon, hc->closecb_arg);
    ls_strmap_remove(&hc->http->conns, &hc->node);
    event_free(hc->deadline);
    free(hc);
    ls_listener_fd_released(); /* evhttp closes the socket once this returns */
}

static void http_deadline_cb(evutil_socket_t fd, short what, void *arg)
{
    struct http_conn *hc = arg;

    (void)fd;
    (void)what;
    if (hc->dispatched)
        return;
    ls_log_peer(hc->peer, LS_LOG_INFO, "%s: http: no request within http_request_timeout (%u ms); "
                "closing", hc->peer, hc->http->request_timeout_ms);
    evhttp_connection_free(hc->evcon); /* runs http_conn_closed */
}

/* evhttp wants a bufferevent for a connection it just accepted: the one we give it is
 * held until the connection is adopted, so it is still there to look at even if evhttp
 * gave up on the connection first. */
static struct bufferevent *http_track_bev(struct ls_http *http, struct bufferevent *bev,
                                         bool tls)
{
    struct http_conn *hc;

    if (bev == NULL)
        return NULL;
    hc = calloc(1, sizeof *hc);
    if (hc == NULL)
        return bev; /* served uncounted: memory is short, not worth refusing over */
    hc->http = http;
    hc->bev = bev;
    hc->tls = tls;
    bufferevent_incref(bev);
    TAILQ_INSERT_TAIL(&http->adopting, hc, adopt_link);
    event_active(http->adopt_ev, EV_TIMEOUT, 1);
    return bev;
}

static struct bufferevent *http_new_bev(struct event_base *base, void *arg)
{
    return http_track_bev(arg, bufferevent_socket_new(base, -1, BEV_OPT_CLOSE_ON_FREE), false);
}

/* https_listen: the same connection, over libevent's OpenSSL bufferevent (tls.h). The
 * TLS handshake happens before any request, so http_request_timeout bounds it too. */
static struct bufferevent *http_new_tls_bev(struct event_base *base, void *arg)
{
    struct ls_http *http = arg;

    return http_track_bev(http, ls_tls_bufferevent_new(http->tls, base), true);
}

/* Counts, bounds and times the connections accepted on this loop turn. */
static void http_adopt_cb(evutil_socket_t fd, short what, void *arg)
{
    struct ls_http *http = arg;
    struct http_conn *hc;

    (void)fd;
    (void)what;
    while ((hc = TAILQ_FIRST(&http->adopting)) != NULL) {
        bufferevent_event_cb eventcb = NULL;
        void *cbarg = NULL;
        char *host = NULL;
        ev_uint16_t port = 0;
        struct timeval tv;

        TAILQ_REMOVE(&http->adopting, hc, adopt_link);
        bufferevent_getcb(hc->bev, NULL, NULL, &eventcb, &cbarg);
        /* evhttp's callbacks carry the connection; none means evhttp already let go */
        if (eventcb == NULL || cbarg == NULL ||
            evhttp_connection_get_bufferevent(cbarg) != hc->bev ||
            (hc->deadline = evtimer_new(http->base, http_deadline_cb, hc)) == NULL) {
            bufferevent_decref(hc->bev);
            free(hc);
            continue;
        }
        bufferevent_decref(hc->bev); /* evhttp's alone again */
        hc->evcon = cbarg;
        snprintf(hc->key, sizeof hc->key, "%p", (void *)hc->evcon);
        hc->node.key = hc->key;
        evhttp_connection_get_peer(hc->evcon, &host, &port);
        snprintf(hc->peer, sizeof hc->peer,
                 strchr(host != NULL ? host : "", ':') != NULL ? "[%s]:%u" : "%s:%u",
                 host != NULL ? host : "?", port);
        if (ls_strmap_insert(&http->conns, &hc->node) != LS_OK) {
            event_free(hc->deadline);
            free(hc);
            continue;
        }
        evhttp_connection_set_closecb(hc->evcon, http_conn_closed, hc);
        if (hc->tls) {
            /* TLS sends a response as several records (headers, body): without this,
             * Nagle holds the second until the client's delayed ACK of the first
             * (decision 4). */
            int one = 1;

            setsockopt(bufferevent_getfd(hc->bev), IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
            if (ls_tls_bufferevent_ready(http->tls, hc->bev) != LS_OK) {
                evhttp_connection_free(hc->evcon); /* runs http_conn_closed */
                continue;
            }
        }
        if (ls_strmap_count(&http->conns) > http->max_connections) {
            ls_stats.connections_refused_total++;
            ls_log_peer(hc->peer, LS_LOG_WARNING, "%s: http: refused: http_max_connections (%u) "
                        "reached", hc->peer, http->max_connections);
            evhttp_connection_free(hc->evcon); /* runs http_conn_closed */
            continue;
        }
        tv.tv_sec = http->request_timeout_ms / 1000;
        tv.tv_usec = (http->request_timeout_ms % 1000) * 1000;
        evtimer_add(hc->deadline, &tv);
    }
}

void ls_http_set_closecb(struct ls_http *http, struct evhttp_connection *evcon,
                         void (*cb)(struct evhttp_connection *evcon, void *arg), void *arg)
{
    struct http_conn *hc = http_conn_find(http, evcon);

    if (hc == NULL) {
        evhttp_connection_set_closecb(evcon, cb, arg); /* not counted: nothing to chain */
        return;
    }
    hc->closecb = cb;
    hc->closecb_arg = arg;
}

void ls_http_set_limits(struct ls_http *http, unsigned max_connections,
                        unsigned request_timeout_ms)
{
    http->max_connections = max_connections;
    http->request_timeout_ms = request_timeout_ms;
}

size_t ls_http_connection_count(const struct ls_http *http)
{
    return ls_strmap_count(&http->conns);
}

bool ls_http_conn_tls(struct ls_http *http, struct evhttp_connection *evcon)
{
    struct http_conn *hc = http_conn_find(http, evcon);

    return hc != NULL && hc->tls;
}

/* ---- requests ---- */

/* The operator routes answer only the allow list (decision: the API and metrics say what
 * runs where and how much; viewers on the internet have no business with them). */
static bool http_allowed(const struct ls_http *http, struct evhttp_request *req)
{
    struct evhttp_connection *evcon = evhttp_request_get_connection(req);
    const struct sockaddr *sa = evcon != NULL ? evhttp_connection_get_addr(evcon) : NULL;

    if (ls_cidr_list_match(&http->allow, sa))
        return true;
    ls_stats.http_forbidden_total++;
    ls_http_reply_error(req, 403, "forbidden: address not in http_allow");
    return false;
}

static void http_request_cb(struct evhttp_request *req, void *arg)
{
    struct ls_http *http = arg;
    const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(req);
    const char *path = uri != NULL ? evhttp_uri_get_path(uri) : NULL;
    enum evhttp_cmd_type method = evhttp_request_get_command(req);
    struct http_conn *hc = http_conn_find(http, evhttp_request_get_connection(req));
    struct http_route *r;

    if (hc != NULL) {
        hc->dispatched = true; /* the headers are in: the deadline is met */
        event_del(hc->deadline);
    }
    /* One request per connection: the deadline above covers the only set of headers. */
    evhttp_add_header(evhttp_request_get_output_headers(req), "Connection", "close");

    if (method != EVHTTP_REQ_GET && method != EVHTTP_REQ_HEAD) {
        ls_http_reply_error(req, 405, "method not allowed");
        return;
    }
    if (path == NULL || path[0] == '\0')
        path = "/";
    /* Exact paths first (a role may replace a built-in one), then the built-ins, then the
     * beginnings, then the endings. */
    if ((r = http_find_route(http, path, false)) != NULL) {
        if (http_allowed(http, req))
            r->fn(req, r->arg);
    } else if (strcmp(path, "/api/v1/health") == 0) {
        if (http_allowed(http, req))
            http_health(http, req);
    } else if (strcmp(path, "/metrics") == 0) {
        if (http_allowed(http, req))
            http_metrics(http, req);
    } else if ((r = http_find_prefix(http, path)) != NULL) {
        r->fn(req, r->arg);
    } else if ((r = http_find_route(http, path, true)) != NULL)
        r->fn(req, r->arg);
    else
        ls_http_reply_error(req, 404, "not found");
}

/* The default allow list, until the daemon's config sets its own. */
static int http_allow_default(struct ls_cidr_list *out)
{
    static const struct ls_conf_key schema[] = {
        LS_HTTP_ALLOW_KEY(struct ls_http, allow),
        { .name = NULL },
    };
    struct ls_http tmp;

    if (ls_config_defaults(schema, &tmp) != LS_OK)
        return LS_ENOMEM;
    *out = tmp.allow;
    return LS_OK;
}

/* The settings every evhttp of the server shares (plain and TLS): one set of routes. */
static void http_setup_evhttp(struct ls_http *http, struct evhttp *evhttp)
{
    evhttp_set_max_headers_size(evhttp, HTTP_MAX_HEADERS);
    evhttp_set_max_body_size(evhttp, 0);
    evhttp_set_timeout(evhttp, HTTP_TIMEOUT_S);
    evhttp_set_allowed_methods(evhttp, EVHTTP_REQ_GET | EVHTTP_REQ_HEAD | EVHTTP_REQ_POST |
                                       EVHTTP_REQ_PUT | EVHTTP_REQ_DELETE);
    evhttp_set_gencb(evhttp, http_request_cb, http);
}

struct ls_http *ls_http_new(struct event_base *base, const char *listen, const char *role,
                            const char *node_id)
{
    struct ls_http *http = calloc(1, sizeof *http);

    if (http == NULL)
        return NULL;
    http->base = base;
    http->started_ms = ls_now_ms();
    http->max_connections = LS_HTTP_DEFAULT_MAX_CONNECTIONS;
    http->request_timeout_ms = LS_HTTP_DEFAULT_REQUEST_TIMEOUT_MS;
    TAILQ_INIT(&http->adopting);
    http->role = strdup(role);
    http->node_id = strdup(node_id != NULL ? node_id : "");
    http->evhttp = evhttp_new(base);
    http->adopt_ev = event_new(base, -1, 0, http_adopt_cb, http);
    if (http->role == NULL || http->node_id == NULL || http->evhttp == NULL ||
        http->adopt_ev == NULL || ls_strmap_init(&http->conns) != LS_OK ||
        http_allow_default(&http->allow) != LS_OK) {
        ls_log(LS_LOG_ERR, "cannot set up HTTP on %s: out of memory", listen);
        ls_http_free(http);
        return NULL;
    }
    http->conns_ready = true;
    /* evhttp takes the socket over (and closes it with itself). */
    http->listener = ls_listener_new(base, listen, HTTP_BACKLOG, NULL, NULL);
    if (http->listener == NULL) {
        ls_http_free(http);
        return NULL;
    }
    if (ls_listener_bind_evhttp(http->listener, http->evhttp) != LS_OK) {
        ls_log(LS_LOG_ERR, "cannot set up HTTP on %s: out of memory", listen);
        ls_http_free(http);
        return NULL;
    }
    evhttp_set_bevcb(http->evhttp, http_new_bev, http);
    http_setup_evhttp(http, http->evhttp);
    return http;
}

int ls_http_listen_tls(struct ls_http *http, const char *listen, struct ls_tls_ctx *tls)
{
    http->tls = tls;
    http->evhttps = evhttp_new(http->base);
    if (http->evhttps == NULL) {
        ls_log(LS_LOG_ERR, "cannot set up HTTPS on %s: out of memory", listen);
        return LS_ENOMEM;
    }
    http->tls_listener = ls_listener_new(http->base, listen, HTTP_BACKLOG, NULL, NULL);
    if (http->tls_listener == NULL)
        return LS_EIO;
    if (ls_listener_bind_evhttp(http->tls_listener, http->evhttps) != LS_OK) {
        ls_log(LS_LOG_ERR, "cannot set up HTTPS on %s: out of memory", listen);
        return LS_ENOMEM;
    }
    evhttp_set_bevcb(http->evhttps, http_new_tls_bev, http);
    http_setup_evhttp(http, http->evhttps);
    return LS_OK;
}

void ls_http_free(struct ls_http *http)
{
    struct http_route *r;
    struct http_conn *hc;

    if (http == NULL)
        return;
    /* evhttp closes every connection (their close callbacks free our records), then the
     * listening socket it owns. */
    if (http->evhttp != NULL)
        evhttp_free(http->evhttp);
    ls_listener_free(http->listener);
    if (http->evhttps != NULL)
        evhttp_free(http->evhttps);
    ls_listener_free(http->tls_listener);
    while ((hc = TAILQ_FIRST(&http->adopting)) != NULL) {
        TAILQ_REMOVE(&http->adopting, hc, adopt_link);
        bufferevent_decref(hc->bev);
        free(hc);
    }
    if (http->adopt_ev != NULL)
        event_free(http->adopt_ev);
    if (http->conns_ready)
        ls_strmap_free(&http->conns);
    while ((r = http->routes) != NULL) {
        http->routes = r->next;
        free(r->path);
        free(r);
    }
    free(http->allow.v);
    free(http->role);
    free(http->node_id);
    free(http);
}

int ls_http_set_allow(struct ls_http *http, const struct ls_cidr_list *allow)
{
    struct ls_cidr *copy = NULL;

    if (allow->n > 0) {
        copy = calloc(allow->n, sizeof *copy);
        if (copy == NULL)
            return LS_ENOMEM;
        memcpy(copy, allow->v, allow->n * sizeof *copy);
    }
    free(http->allow.v);
    http->allow.v = copy;
    http->allow.n = allow->n;
    return LS_OK;
}

void ls_http_set_node_id(struct ls_http *http, const char *node_id)
{
    char *copy = strdup(node_id);

    if (copy == NULL)
        return;
    free(http->node_id);
    http->node_id = copy;
}

static int http_add_route(struct ls_http *http, const char *path, bool suffix, bool prefix,
                          ls_http_handler fn, void *arg)
{
    struct http_route *r = calloc(1, sizeof *r);

    if (r == NULL || (r->path = strdup(path)) == NULL) {
        free(r);
        return LS_ENOMEM;
    }
    r->suffix = suffix;
    r->prefix = prefix;
    r->fn = fn;
    r->arg = arg;
    r->next = http->routes;
    http->routes = r;
    return LS_OK;
}

int ls_http_route(struct ls_http *http, const char *path, ls_http_handler fn, void *arg)
{
    return http_add_route(http, path, false, false, fn, arg);
}

int ls_http_route_suffix(struct ls_http *http, const char *suffix, ls_http_handler fn,
                         void *arg)
{
    return http_add_route(http, suffix, true, false, fn, arg);
}

int ls_http_route_prefix(struct ls_http *http, const char *prefix, ls_http_handler fn,
                         void *arg)
{
    return http_add_route(http, prefix, false, true, fn, arg);
}

void ls_http_set_metrics(struct ls_http *http, void (*fn)(struct ls_buf *out, void *arg),
                         void *arg)
{
    http->metrics_fn = fn;
    http->metrics_arg = arg;
}

void ls_http_set_gauges(struct ls_http *http,
                        void (*fn)(void *arg, uint64_t *streams, uint64_t *viewers), void *arg)
{
    http->gauges_fn = fn;
    http->gauges_arg = arg;
}
