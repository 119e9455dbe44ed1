/*
 * http.c — every daemon's HTTP server on evhttp (see http.h): /api/v1/health, /metrics,
 * and the routes the roles register. Layer: roles' tools. It knows nothing of streams: the
 * media node adds /api/v1/streams (streamsapi.c) and GET /APP/NAME.flv (httpflv.c).
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
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

#define HTTP_MAX_HEADERS 8192
#define HTTP_TIMEOUT_S 30
#define HTTP_BACKLOG 128     /* what evhttp_bind_socket uses */

struct http_route {
    char *path;              /* the whole path, or with `suffix` its ending */
    bool suffix;
    ls_http_handler fn;
    void *arg;
    struct http_route *next;
};

struct ls_http {
    struct event_base *base;
    struct evhttp *evhttp;
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
        if (r->suffix == suffix &&
            (suffix ? http_ends_with(path, r->path) : strcmp(r->path, path) == 0))
            return r;
    return NULL;
}

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
    struct http_route *r;

    if (method != EVHTTP_REQ_GET && method != EVHTTP_REQ_HEAD) {
        ls_http_reply_error(req, 405, "method not allowed");
        return;
    }
    if (path == NULL || path[0] == '\0')
        path = "/";
    /* Exact paths first (a role may replace a built-in one), then the built-ins, then the
     * endings. */
    if ((r = http_find_route(http, path, false)) != NULL) {
        if (http_allowed(http, req))
            r->fn(req, r->arg);
    } else if (strcmp(path, "/api/v1/health") == 0) {
        if (http_allowed(http, req))
            http_health(http, req);
    } else if (strcmp(path, "/metrics") == 0) {
        if (http_allowed(http, req))
            http_metrics(http, req);
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

struct ls_http *ls_http_new(struct event_base *base, const char *listen, const char *role,
                            const char *node_id)
{
    struct ls_http *http = calloc(1, sizeof *http);
    struct evconnlistener *listener;

    if (http == NULL)
        return NULL;
    http->base = base;
    http->started_ms = ls_now_ms();
    http->role = strdup(role);
    http->node_id = strdup(node_id != NULL ? node_id : "");
    http->evhttp = evhttp_new(base);
    if (http->role == NULL || http->node_id == NULL || http->evhttp == NULL ||
        http_allow_default(&http->allow) != LS_OK) {
        ls_log(LS_LOG_ERR, "cannot set up HTTP on %s: out of memory", listen);
        ls_http_free(http);
        return NULL;
    }
    /* evhttp takes the listener over (and frees it with itself). */
    listener = ls_listener_new(base, listen, HTTP_BACKLOG, NULL, NULL);
    if (listener == NULL) {
        ls_http_free(http);
        return NULL;
    }
    if (evhttp_bind_listener(http->evhttp, listener) == NULL) {
        ls_log(LS_LOG_ERR, "cannot set up HTTP on %s: out of memory", listen);
        evconnlistener_free(listener);
        ls_http_free(http);
        return NULL;
    }
    evhttp_set_max_headers_size(http->evhttp, HTTP_MAX_HEADERS);
    evhttp_set_max_body_size(http->evhttp, 0);
    evhttp_set_timeout(http->evhttp, HTTP_TIMEOUT_S);
    evhttp_set_allowed_methods(http->evhttp, EVHTTP_REQ_GET | EVHTTP_REQ_HEAD | EVHTTP_REQ_POST |
                                             EVHTTP_REQ_PUT | EVHTTP_REQ_DELETE);
    evhttp_set_gencb(http->evhttp, http_request_cb, http);
    return http;
}

void ls_http_free(struct ls_http *http)
{
    struct http_route *r;

    if (http == NULL)
        return;
    if (http->evhttp != NULL)
        evhttp_free(http->evhttp);
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

static int http_add_route(struct ls_http *http, const char *path, bool suffix,
                          ls_http_handler fn, void *arg)
{
    struct http_route *r = calloc(1, sizeof *r);

    if (r == NULL || (r->path = strdup(path)) == NULL) {
        free(r);
        return LS_ENOMEM;
    }
    r->suffix = suffix;
    r->fn = fn;
    r->arg = arg;
    r->next = http->routes;
    http->routes = r;
    return LS_OK;
}

int ls_http_route(struct ls_http *http, const char *path, ls_http_handler fn, void *arg)
{
    return http_add_route(http, path, false, fn, arg);
}

int ls_http_route_suffix(struct ls_http *http, const char *suffix, ls_http_handler fn,
                         void *arg)
{
    return http_add_route(http, suffix, true, fn, arg);
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
