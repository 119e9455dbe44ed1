/*
 * http_int.h — what http.c and httpflv.c share (private to libstream).
 */
#ifndef LIBSTREAM_HTTP_INT_H
#define LIBSTREAM_HTTP_INT_H

#include <sys/queue.h>

#include "libstream/http.h"

struct evhttp;
struct flv_viewer;

LIST_HEAD(flv_viewer_list, flv_viewer);

struct http_route {
    char *path;
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
    struct http_route *routes;
    void (*metrics_fn)(struct ls_buf *out, void *arg);
    void *metrics_arg;
    struct ls_server *srv;            /* NULL on smd */
    struct flv_viewer_list viewers;
};

/* Serves GET /APP/NAME.flv (path and query as received). */
void ls_httpflv_request(struct ls_http *http, struct evhttp_request *req, const char *path,
                        const char *query);
/* Ends every FLV response (shutdown). */
void ls_httpflv_close_all(struct ls_http *http);

#endif /* LIBSTREAM_HTTP_INT_H */
