/*
 * vodhttp.c — GET/HEAD /vod/NAME.flv: files over HTTP with byte ranges (see vodhttp.h).
 * Layer: roles' tools, between the HTTP server (http.h routes "/vod/" here), the RTMP
 * server (max_connections, play admission) and vod.c (files read on the workers).
 *
 *   request ─▶ name ─▶ slots (connection, viewer) ─▶ admission ─▶ open (worker)
 *     ─▶ range ─▶ headers ─▶ [read chunk (worker) ─▶ hand to evhttp ─▶ sent] … ─▶ end
 *
 * Back-pressure: one chunk is in evhttp's hands at a time and one more is read ahead; the
 * next read starts when a chunk is handed over, so the disk and the socket overlap and
 * nothing else is buffered.
 *
 * Lifetime (as httpflv.c): a download lives until its connection closes. Code that keeps
 * using a download after a call that may end it holds it; an abort asked for meanwhile
 * happens at the release.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>
#include <time.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>

#include "libstream/auth.h"
#include "libstream/http.h"
#include "libstream/httprange.h"
#include "libstream/log.h"
#include "libstream/server.h"
#include "libstream/stats.h"
#include "libstream/streamid.h"
#include "libstream/vod.h"
#include "libstream/vodhttp.h"

#define VH_PREFIX "/" LS_VOD_APP "/"

struct vod_dl;

struct ls_vodhttp {
    struct event_base *base;
    struct ls_http *http;
    struct ls_server *srv;
    struct ls_vod *vod;
    LIST_HEAD(, vod_dl) dls;
};

struct vod_dl {
    struct ls_vodhttp *vh;
    struct evhttp_request *req;      /* NULL once libevent has it back */
    struct evhttp_connection *evcon; /* NULL once closed */
    char peer[64];
    struct ls_stream_ref ref;
    bool head;
    bool conn_slot, viewer_slot;
    struct ls_auth_request *auth;
    struct ls_vod_open *open;
    struct ls_vod_file *file;
    struct ls_vod_read *rd;
    uint64_t read_next;              /* next byte to read */
    uint64_t last;                   /* last byte to send */
    uint64_t sent;                   /* body bytes handed to evhttp */
    struct evbuffer *chunk;
    bool in_flight;                  /* a chunk is being written by evhttp */
    uint8_t *ready;                  /* a chunk read ahead, waiting for evhttp */
    size_t ready_len;
    bool started;                    /* reply started */
    bool finished;                   /* reply ended */
    struct event *slow_timer;
    unsigned holds;
    bool doomed;
    LIST_ENTRY(vod_dl) link;
};

static void dl_abort(struct vod_dl *d);

static void dl_free(struct vod_dl *d)
{
    struct ls_vodhttp *vh = d->vh;

    if (d->auth != NULL)
        ls_auth_cancel(d->auth);
    ls_vod_open_cancel(d->open);
    ls_vod_read_cancel(d->rd);
    ls_vod_file_release(d->file);
    if (d->viewer_slot)
        ls_vod_viewer_release(vh->vod);
    if (d->conn_slot) {
        ls_server_connection_release(vh->srv);
        ls_stats.connections--;
    }
    if (d->slow_timer != NULL)
        event_free(d->slow_timer);
    if (d->chunk != NULL)
        evbuffer_free(d->chunk);
    free(d->ready);
    LIST_REMOVE(d, link);
    free(d);
}

static void dl_hold(struct vod_dl *d)
{
    d->holds++;
}

static void dl_release(struct vod_dl *d)
{
    if (--d->holds == 0 && d->doomed)
        dl_abort(d);
}

static void dl_conn_closed(struct evhttp_connection *evcon, void *arg)
{
    struct vod_dl *d = arg;

    (void)evcon;
    /* When the peer goes away first, libevent detaches an unfinished request from its
     * connection and leaves freeing it to us (as httpflv.c). */
    if (d->req != NULL && evhttp_request_get_connection(d->req) == NULL) {
        if (d->started && !d->finished)
            evhttp_send_reply_end(d->req);
        else if (!d->started)
            evhttp_request_free(d->req);
    }
    if (!d->finished && d->started)
        ls_log_peer(d->peer, LS_LOG_INFO, "%s: http %s closed after %llu bytes", d->peer,
                    d->ref.id, (unsigned long long)d->sent);
    d->req = NULL;
    d->evcon = NULL;
    dl_abort(d);
}

/* Ends a download from our side (closing its connection runs dl_conn_closed); while held,
 * at the release. */
static void dl_abort(struct vod_dl *d)
{
    if (d->holds > 0) {
        d->doomed = true;
        return;
    }
    if (d->evcon != NULL)
        evhttp_connection_free(d->evcon);
    else
        dl_free(d);
}

/* Answers a request that will not send the file, and forgets the download. */
static void dl_reply_error(struct vod_dl *d, int code, const char *message)
{
    struct evhttp_request *req = d->req;

    if (d->evcon != NULL)
        ls_http_set_closecb(d->vh->http, d->evcon, NULL, NULL);
    d->req = NULL;
    d->evcon = NULL;
    dl_abort(d);
    if (req != NULL)
        ls_http_reply_error(req, code, message);
}

static void dl_refuse(struct vod_dl *d, enum ls_fail_reason reason, int code,
                      const char *message, const char *why)
{
    if (!d->head)
        ls_stats.play_failures_total[reason]++;
    ls_log_peer(d->peer, LS_LOG_INFO, "%s: http %s refused: %s", d->peer,
                d->ref.id[0] != '\0' ? d->ref.id : "-", why);
    dl_reply_error(d, code, message);
}

/* ---- the body ---- */

static void dl_pump(struct vod_dl *d);

static void dl_sent(struct evhttp_connection *evcon, void *arg)
{
    struct vod_dl *d = arg;

    (void)evcon;
    d->in_flight = false;
    event_del(d->slow_timer);
    dl_hold(d);
    dl_pump(d);
    dl_release(d);
}

static void dl_slow(evutil_socket_t fd, short what, void *arg)
{
    struct vod_dl *d = arg;

    (void)fd;
    (void)what;
    ls_stats.slow_viewer_drops_total++;
    ls_log_peer(d->peer, LS_LOG_INFO, "%s: http %s: viewer dropped: took no data for "
                "slow_viewer_timeout", d->peer, d->ref.id);
    dl_abort(d);
}

static void dl_read_done(void *arg, int rc, const uint8_t *data, size_t len)
{
    struct vod_dl *d = arg;

    d->rd = NULL;
    if (rc != LS_OK || len == 0) {
        /* the headers promised more: all we can do is cut the connection */
        ls_log_peer(d->peer, LS_LOG_WARNING, "%s: http %s: the file could not be read "
                    "after %llu bytes", d->peer, d->ref.id, (unsigned long long)d->sent);
        dl_abort(d);
        return;
    }
    memcpy(d->ready, data, len);
    d->ready_len = len;
    d->read_next += len;
    dl_hold(d);
    dl_pump(d);
    dl_release(d);
}

/* Hands the chunk read ahead to evhttp when it has none, reads the next, ends the reply
 * after the last. */
static void dl_pump(struct vod_dl *d)
{
    const struct ls_vod_config *cfg = ls_vod_config(d->vh->vod);

    if (d->req == NULL || d->finished || d->doomed)
        return;
    if (!d->in_flight && d->ready_len > 0) {
        struct timeval tv = { .tv_sec = cfg->slow_timeout_ms / 1000,
                              .tv_usec = (cfg->slow_timeout_ms % 1000) * 1000 };

        if (evbuffer_add(d->chunk, d->ready, d->ready_len) != 0) {
            dl_abort(d);
            return;
        }
        d->sent += d->ready_len;
        ls_stats.bytes_out_total += d->ready_len;
        d->ready_len = 0;
        d->in_flight = true;
        evtimer_add(d->slow_timer, &tv);
        evhttp_send_reply_chunk_with_cb(d->req, d->chunk, dl_sent, d);
    }
    if (d->rd == NULL && d->ready_len == 0 && d->read_next <= d->last) {
        uint64_t left = d->last - d->read_next + 1;

        d->rd = ls_vod_read(d->file, d->read_next, left < LS_VOD_CHUNK ? (size_t)left
                                                                      : LS_VOD_CHUNK,
                            dl_read_done, d);
        if (d->rd == NULL) {
            ls_log_peer(d->peer, LS_LOG_WARNING, "%s: http %s: file workers busy", d->peer,
                        d->ref.id);
            dl_abort(d);
            return;
        }
    }
    if (!d->in_flight && d->rd == NULL && d->ready_len == 0 && d->read_next > d->last) {
        d->finished = true;
        event_del(d->slow_timer);
        evhttp_send_reply_end(d->req); /* the connection closes once it is written */
        ls_log_peer(d->peer, LS_LOG_INFO, "%s: http %s sent (%llu bytes)", d->peer, d->ref.id,
                    (unsigned long long)d->sent);
    }
}

/* ---- the answer ---- */

static void http_date(time_t t, char *out, size_t cap)
{
    struct tm tm;

    gmtime_r(&t, &tm);
    strftime(out, cap, "%a, %d %b %Y %H:%M:%S GMT", &tm);
}

static void dl_opened(void *arg, int rc, struct ls_vod_file *file, const char *why)
{
    struct vod_dl *d = arg;
    struct evkeyvalq *in, *out;
    const char *range, *if_range;
    uint64_t size, first = 0, last = 0;
    char text[96], modified[64];
    int r;

    d->open = NULL;
    if (d->req == NULL) { /* cannot happen: closing cancels the open */
        ls_vod_file_release(file);
        return;
    }
    if (rc != LS_OK) {
        if (rc == LS_ENOTFOUND || rc == LS_EPROTO)
            dl_refuse(d, LS_FAIL_NOT_FOUND, 404, "not found", why);
        else
            dl_refuse(d, rc == LS_ELIMIT ? LS_FAIL_LIMIT : LS_FAIL_INTERNAL, 503,
                      "server busy", why);
        return;
    }
    d->file = file;
    size = ls_vod_file_size(file);
    in = evhttp_request_get_input_headers(d->req);
    out = evhttp_request_get_output_headers(d->req);
    http_date((time_t)ls_vod_file_mtime(file), modified, sizeof modified);
    range = evhttp_find_header(in, "Range");
    if_range = evhttp_find_header(in, "If-Range");
    if (range != NULL && if_range != NULL && strcmp(if_range, modified) != 0)
        range = NULL; /* the client's copy is another version: the whole file */
    r = ls_http_range_parse(range, size, &first, &last);
    evhttp_add_header(out, "Accept-Ranges", "bytes");
    evhttp_add_header(out, "Last-Modified", modified);
    evhttp_add_header(out, "Access-Control-Allow-Origin", "*");
    if (r == LS_ELIMIT) {
        snprintf(text, sizeof text, "bytes */%llu", (unsigned long long)size);
        evhttp_add_header(out, "Content-Range", text);
        dl_refuse(d, LS_FAIL_PROTOCOL, 416, "range not satisfiable", "range not satisfiable");
        return;
    }
    if (r != LS_OK) {
        first = 0;
        last = size > 0 ? size - 1 : 0;
    }
    evhttp_add_header(out, "Content-Type", "video/x-flv");
    snprintf(text, sizeof text, "%llu",
             (unsigned long long)(size == 0 ? 0 : last - first + 1));
    evhttp_add_header(out, "Content-Length", text);
    if (r == LS_OK) {
        snprintf(text, sizeof text, "bytes %llu-%llu/%llu", (unsigned long long)first,
                 (unsigned long long)last, (unsigned long long)size);
        evhttp_add_header(out, "Content-Range", text);
    }
    ls_log_peer(d->peer, LS_LOG_INFO, "%s: http %s %s%s (%s of %llu bytes)", d->peer,
                d->ref.id, d->head ? "HEAD" : "GET", r == LS_OK ? " range" : "",
                r == LS_OK ? text : "all", (unsigned long long)size);
    if (d->head || size == 0) {
        struct evhttp_request *req = d->req;

        /* No body: evhttp answers and closes; the close callback frees us. */
        d->started = d->finished = true;
        d->req = NULL;
        evhttp_send_reply(req, r == LS_OK ? 206 : 200, r == LS_OK ? "Partial Content" : "OK",
                          NULL);
        return;
    }
    d->read_next = first;
    d->last = last;
    d->started = true;
    evhttp_send_reply_start(d->req, r == LS_OK ? 206 : 200,
                            r == LS_OK ? "Partial Content" : "OK");
    dl_pump(d);
}

static void dl_admitted(void *arg, int result, const char *why)
{
    struct vod_dl *d = arg;

    d->auth = NULL;
    if (d->req == NULL)
        return;
    dl_hold(d);
    if (result == LS_ELIMIT) {
        dl_refuse(d, LS_FAIL_LIMIT, 503, "admission busy", why != NULL ? why : "admission busy");
    } else if (result != LS_OK) {
        dl_refuse(d, LS_FAIL_UNAUTHORIZED, 403, "forbidden", why != NULL ? why : "not authorised");
    } else {
        d->open = ls_vod_open(d->vh->vod, d->ref.name, false, dl_opened, d);
        if (d->open == NULL)
            dl_refuse(d, LS_FAIL_LIMIT, 503, "server busy", "file workers busy");
    }
    dl_release(d);
}

/* GET or HEAD /vod/… (the HTTP server hands us every path starting with "/vod/"). */
static void dl_request(struct evhttp_request *req, void *arg)
{
    struct ls_vodhttp *vh = arg;
    const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(req);
    const char *path = evhttp_uri_get_path(uri), *query = evhttp_uri_get_query(uri);
    struct vod_dl *d;
    char full[1200];
    char *host = NULL;
    ev_uint16_t port = 0;

    d = calloc(1, sizeof *d);
    if (d == NULL) {
        ls_http_reply_error(req, 500, "out of memory");
        return;
    }
    d->vh = vh;
    d->req = req;
    d->head = evhttp_request_get_command(req) == EVHTTP_REQ_HEAD;
    d->evcon = evhttp_request_get_connection(req);
    LIST_INSERT_HEAD(&vh->dls, d, link);
    evhttp_connection_get_peer(d->evcon, &host, &port);
    snprintf(d->peer, sizeof d->peer, strchr(host != NULL ? host : "", ':') ? "[%s]:%u" : "%s:%u",
             host != NULL ? host : "?", port);
    if (!d->head)
        ls_stats.play_requests_total++;
    /* The raw path: "%2e%2e", "%00" and every other escape are refused as not stream-name
     * characters before anything is decoded (streamid.h). */
    if (strlen(path) + (query != NULL ? strlen(query) + 1 : 0) >= sizeof full ||
        snprintf(full, sizeof full, "%s%s%s", path, query != NULL ? "?" : "",
                 query != NULL ? query : "") < 0 ||
        ls_http_flv_path_parse(full, &d->ref) != LS_OK || !ls_vod_owns(vh->vod, &d->ref)) {
        memset(&d->ref, 0, sizeof d->ref);
        dl_refuse(d, LS_FAIL_BAD_NAME, 404, "not found", "bad file name");
        return;
    }
    if (ls_server_connection_acquire(vh->srv) != LS_OK) {
        dl_refuse(d, LS_FAIL_LIMIT, 503, "too many connections", "max_connections reached");
        return;
    }
    d->conn_slot = true;
    ls_stats.connections++;
    ls_stats.connections_total++;
    if (ls_vod_viewer_acquire(vh->vod) != LS_OK) {
        dl_refuse(d, LS_FAIL_LIMIT, 503, "server busy", "vod.max_viewers reached");
        return;
    }
    d->viewer_slot = true;
    d->chunk = evbuffer_new();
    d->ready = malloc(LS_VOD_CHUNK);
    d->slow_timer = evtimer_new(vh->base, dl_slow, d);
    if (d->chunk == NULL || d->ready == NULL || d->slow_timer == NULL) {
        dl_refuse(d, LS_FAIL_INTERNAL, 500, "out of memory", "out of memory");
        return;
    }
    ls_http_set_closecb(vh->http, d->evcon, dl_conn_closed, d);
    d->auth = ls_auth_check(vh->base, &ls_server_config(vh->srv)->play_auth, "play", &d->ref,
                            d->peer, dl_admitted, d);
    if (d->auth == NULL)
        dl_refuse(d, LS_FAIL_INTERNAL, 500, "out of memory", "out of memory");
}

struct ls_vodhttp *ls_vodhttp_new(struct ls_http *http, struct ls_server *srv,
                                  struct ls_vod *vod)
{
    struct ls_vodhttp *vh = calloc(1, sizeof *vh);

    if (vh == NULL)
        return NULL;
    vh->base = ls_server_base(srv);
    vh->http = http;
    vh->srv = srv;
    vh->vod = vod;
    LIST_INIT(&vh->dls);
    if (ls_http_route_prefix(http, VH_PREFIX, dl_request, vh) != LS_OK) {
        free(vh);
        return NULL;
    }
    return vh;
}

void ls_vodhttp_free(struct ls_vodhttp *vh)
{
    if (vh == NULL)
        return;
    while (!LIST_EMPTY(&vh->dls))
        dl_abort(LIST_FIRST(&vh->dls));
    free(vh);
}
