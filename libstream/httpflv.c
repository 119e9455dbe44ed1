/*
 * httpflv.c — live HTTP-FLV viewers: GET /APP/NAME.flv streams the FLV file header and then
 * the hub's shared FLV tag bytes (docs/architecture.md decision 2), over a chunked evhttp
 * response.
 *
 * Back-pressure: at most one batch is handed to evhttp at a time; the next waits for
 * evhttp's "chunk sent" callback. Anything newer stays in the viewer's outq, where the
 * hub's slow-viewer policy (skip to the next keyframe, then drop) sees it — exactly as for
 * RTMP viewers.
 *
 * HTTPS (https_listen): the same, with each batch made one buffer after evhttp framed it,
 * so that libevent's OpenSSL bufferevent, which calls SSL_write once per buffer, encrypts
 * a flush as one record (or a few of 16 KiB) instead of one per FLV tag, and sends each with
 * one write (decision 2: one write per flush window, not per message). Its batches are
 * capped at FLV_TLS_BATCH_MAX (the copy is per viewer; a viewer's start, which sends the
 * whole GOP cache, goes out in a few batches instead of one copy of it).
 *
 * Layer: roles' tools, between the HTTP server (http.h, which routes "*.flv" here) and the
 * RTMP server (server.h), whose hub, max_connections and play admission viewers share.
 *
 * Lifetime: code that keeps using a viewer after a call that may end it (the admission
 * answer subscribes, and the subscribe's first flush may fail) holds it; an abort asked
 * for meanwhile happens at the release, as for RTMP sessions (conn.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>

#include "libstream/auth.h"
#include "libstream/clock.h"
#include "libstream/flv.h"
#include "libstream/http.h"
#include "libstream/httpflv.h"
#include "libstream/hub.h"
#include "libstream/log.h"
#include "libstream/net.h"
#include "libstream/server.h"
#include "libstream/stats.h"
#include "libstream/streamid.h"

#define FLV_TLS_BATCH_MAX (64 * 1024)

struct flv_viewer;

struct ls_httpflv {
    struct event_base *base;
    struct ls_http *http;
    struct ls_server *srv;
    LIST_HEAD(, flv_viewer) viewers;
};

struct flv_viewer {
    struct ls_httpflv *flv;
    struct evhttp_request *req;     /* NULL once libevent has freed it */
    struct evhttp_connection *evcon;
    char peer[64];
    struct ls_stream_ref ref;
    struct ls_subscriber sub;
    struct ls_outq outq;
    struct ls_auth_request *auth;
    uint64_t requested_ms;          /* ls_now_ms at the request: time to first frame */
    struct event *wait_timer;
    struct evbuffer *batch;
    bool started;                   /* 200 and the FLV header sent */
    bool in_flight;                 /* a batch is being written by evhttp */
    bool tls;                       /* on the HTTPS listener */
    unsigned holds;                 /* flv_hold depth */
    bool doomed;                    /* flv_abort asked for while held */
    LIST_ENTRY(flv_viewer) link;
};

static const struct ls_subscriber_ops flv_sub_ops;

static struct flv_viewer *flv_from_sub(struct ls_subscriber *sub)
{
    return (struct flv_viewer *)((char *)sub - offsetof(struct flv_viewer, sub));
}

/* Releases everything; the evhttp side is already gone or is being closed by the caller. */
static void flv_free(struct flv_viewer *v)
{
    if (v->auth != NULL)
        ls_auth_cancel(v->auth);
    ls_subscriber_detach(&v->sub);
    if (v->wait_timer != NULL)
        event_free(v->wait_timer);
    if (v->batch != NULL)
        evbuffer_free(v->batch);
    ls_outq_clear(&v->outq);
    LIST_REMOVE(v, link);
    ls_server_connection_release(v->flv->srv);
    ls_stats.connections--;
    free(v);
}

static void flv_abort(struct flv_viewer *v);

static void flv_conn_closed(struct evhttp_connection *evcon, void *arg)
{
    struct flv_viewer *v = arg;

    (void)evcon;
    /* When the peer goes away first, libevent detaches an unfinished request from its
     * connection and leaves freeing it to us (http.c, evhttp_connection_incoming_fail). */
    if (v->req != NULL && evhttp_request_get_connection(v->req) == NULL) {
        if (v->started)
            evhttp_send_reply_end(v->req);
        else
            evhttp_request_free(v->req);
    }
    ls_log_peer_ctx(LS_LOG_CTX(v->ref.id, v->peer), LS_LOG_INFO, "%s: http-flv %s closed",
                    v->peer, v->ref.id[0] ? v->ref.id : "-");
    v->req = NULL;
    v->evcon = NULL;
    flv_abort(v); /* no connection left: frees the viewer (at the release when held) */
}

/* Ends a viewer from our side: closing the connection runs flv_conn_closed. While the
 * viewer is held this waits for the release. */
static void flv_abort(struct flv_viewer *v)
{
    if (v->holds > 0) {
        v->doomed = true;
        return;
    }
    if (v->evcon != NULL)
        evhttp_connection_free(v->evcon);
    else
        flv_free(v);
}

static void flv_hold(struct flv_viewer *v)
{
    v->holds++;
}

/* Ends a hold; an abort asked for meanwhile happens now (`v` may be freed). */
static void flv_release(struct flv_viewer *v)
{
    if (--v->holds == 0 && v->doomed)
        flv_abort(v);
}

/* Answers a request that will not stream and forgets the viewer. */
static void flv_reply_error(struct flv_viewer *v, int code, const char *message)
{
    struct evhttp_request *req = v->req;

    if (v->evcon != NULL)
        ls_http_set_closecb(v->flv->http, v->evcon, NULL, NULL);
    v->req = NULL;
    v->evcon = NULL;
    flv_abort(v); /* no connection left: frees the viewer (at the release when held) */
    if (req != NULL)
        ls_http_reply_error(req, code, message);
}

static void flv_flush(struct flv_viewer *v);

static void flv_batch_sent(struct evhttp_connection *evcon, void *arg)
{
    struct flv_viewer *v = arg;

    (void)evcon;
    v->in_flight = false;
    flv_flush(v);
}

static void flv_flush(struct flv_viewer *v)
{
    ssize_t n;

    if (!v->started || v->in_flight || v->req == NULL || ls_outq_empty(&v->outq))
        return;
    n = v->tls ? ls_outq_move_to_evbuffer_max(&v->outq, v->batch, FLV_TLS_BATCH_MAX)
               : ls_outq_move_to_evbuffer(&v->outq, v->batch);
    if (n < 0) {
        flv_abort(v);
        return;
    }
    ls_stats.bytes_out_total += (uint64_t)n;
    v->in_flight = true;
    evhttp_send_reply_chunk_with_cb(v->req, v->batch, flv_batch_sent, v);
    /* The output is written on the next loop turn: one buffer by then (see the top). */
    if (v->tls && v->evcon != NULL)
        evbuffer_pullup(bufferevent_get_output(evhttp_connection_get_bufferevent(v->evcon)), -1);
}

/* 200 and the FLV file header (audio and video flags, PreviousTagSize0). */
static void flv_start(struct flv_viewer *v)
{
    struct evkeyvalq *headers = evhttp_request_get_output_headers(v->req);
    struct ls_frame *blob;
    uint8_t header[13];

    evhttp_add_header(headers, "Content-Type", "video/x-flv");
    evhttp_add_header(headers, "Cache-Control", "no-cache");
    evhttp_add_header(headers, "Access-Control-Allow-Origin", "*");
    evhttp_send_reply_start(v->req, 200, "OK");
    v->started = true;
    ls_flv_file_header(header, true, true);
    blob = ls_frame_new_copy(0, 0, 0, header, sizeof header);
    if (blob == NULL || ls_outq_push(&v->outq, blob, LS_OUTQ_KEEP) != LS_OK) {
        flv_abort(v);
        return;
    }
    ls_log_peer_ctx(LS_LOG_CTX(v->ref.id, v->peer), LS_LOG_INFO, "%s: http-flv %s started",
                    v->peer, v->ref.id);
}

static void flv_sub_flush(struct ls_subscriber *sub)
{
    flv_flush(flv_from_sub(sub));
}

static void flv_sub_source_event(struct ls_subscriber *sub, enum ls_source_event ev)
{
    struct flv_viewer *v = flv_from_sub(sub);

    if (ev == LS_SOURCE_STARTED && !v->started) {
        if (v->wait_timer != NULL)
            event_del(v->wait_timer);
        flv_start(v);
    }
    /* FLV has no unpublish notice: a viewer just sees a gap, then the new source's
     * sequence headers, on a continuing timeline. */
}

static void flv_sub_too_slow(struct ls_subscriber *sub, const char *why)
{
    struct flv_viewer *v = flv_from_sub(sub);

    ls_stats.slow_viewer_drops_total++;
    ls_log_peer_ctx(LS_LOG_CTX(v->ref.id, v->peer), LS_LOG_INFO,
                    "%s: http-flv %s: viewer dropped: %s", v->peer, v->ref.id, why);
    flv_abort(v);
}

static const struct ls_subscriber_ops flv_sub_ops = {
    .flush = flv_sub_flush,
    .source_event = flv_sub_source_event,
    .too_slow = flv_sub_too_slow,
};

static void flv_wait_timeout(evutil_socket_t fd, short what, void *arg)
{
    struct flv_viewer *v = arg;

    (void)fd;
    (void)what;
    if (v->started || v->req == NULL)
        return;
    ls_stats.play_failures_total[LS_FAIL_NOT_FOUND]++;
    ls_log_peer_ctx(LS_LOG_CTX(v->ref.id, v->peer), LS_LOG_INFO,
                    "%s: http-flv %s failed: not live within play_wait_timeout", v->peer,
                    v->ref.id);
    flv_reply_error(v, 404, "stream not found");
}

static void flv_admit(struct flv_viewer *v, int result, const char *why)
{
    const struct ls_server_config *cfg = ls_server_config(v->flv->srv);
    struct ls_stream *st;
    struct timeval tv;
    int rc;

    v->auth = NULL;
    if (v->req == NULL)
        return;
    if (result == LS_ELIMIT) { /* auth_max_inflight: overloaded, not unauthorised */
        ls_stats.play_failures_total[LS_FAIL_LIMIT]++;
        ls_log_ctx(LS_LOG_INFO, LS_LOG_CTX(v->ref.id, v->peer), "%s: http-flv %s refused: %s",
                   v->peer, v->ref.id, why != NULL ? why : "admission busy");
        flv_reply_error(v, 503, "admission busy");
        return;
    }
    if (result != LS_OK) {
        ls_stats.play_failures_total[LS_FAIL_UNAUTHORIZED]++;
        ls_log_peer_ctx(LS_LOG_CTX(v->ref.id, v->peer), LS_LOG_INFO,
                        "%s: http-flv %s refused: %s", v->peer, v->ref.id,
                        why != NULL ? why : "not authorised");
        flv_reply_error(v, 403, "forbidden");
        return;
    }
    st = ls_hub_get(ls_server_hub(v->flv->srv), v->ref.id);
    if (st == NULL) {
        flv_reply_error(v, 500, "out of memory");
        return;
    }
    ls_subscriber_init(&v->sub, &flv_sub_ops, &v->outq, LS_TRANSPORT_FLV, 0);
    ls_subscriber_set_client(&v->sub,
                             evhttp_connection_get_addr(evhttp_request_get_connection(v->req)));
    v->sub.start_ms = v->requested_ms != 0 ? v->requested_ms : 1;
    if (ls_stream_has_source(st))
        flv_start(v);
    if (v->doomed) {
        ls_stream_forget_if_unused(st); /* frees it again if we created it */
        return;
    }
    rc = ls_stream_subscribe(st, &v->sub);
    if (rc == LS_ELIMIT) {
        /* At a bound on upstream work: counted and logged (rate-limited) where it is. */
        ls_stats.play_failures_total[LS_FAIL_LIMIT]++;
        flv_reply_error(v, 503, "server busy");
        return;
    }
    if (rc != LS_OK) {
        flv_abort(v);
        return;
    }
    if (v->doomed)
        return;
    if (!v->started) {
        v->wait_timer = evtimer_new(v->flv->base, flv_wait_timeout, v);
        if (v->wait_timer == NULL) {
            flv_abort(v);
            return;
        }
        tv.tv_sec = cfg->play_wait_timeout_ms / 1000;
        tv.tv_usec = (cfg->play_wait_timeout_ms % 1000) * 1000;
        evtimer_add(v->wait_timer, &tv);
    }
}

/* The admission answer, holding the viewer: the subscribe's first flush may end it. */
static void flv_admitted(void *arg, int result, const char *why)
{
    struct flv_viewer *v = arg;

    flv_hold(v);
    flv_admit(v, result, why);
    flv_release(v);
}

/* GET /APP/NAME.flv (the HTTP server hands us every path ending in ".flv"). */
static void flv_request(struct evhttp_request *req, void *arg)
{
    struct ls_httpflv *flv = arg;
    const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(req);
    const char *path = evhttp_uri_get_path(uri), *query = evhttp_uri_get_query(uri);
    struct flv_viewer *v;
    char full[1200];
    char *host = NULL;
    ev_uint16_t port = 0;

    if (evhttp_request_get_command(req) != EVHTTP_REQ_GET) {
        ls_http_reply_error(req, 404, "not found"); /* HEAD of a live stream: nothing to say */
        return;
    }
    ls_stats.play_requests_total++;
    v = calloc(1, sizeof *v);
    if (v == NULL) {
        ls_http_reply_error(req, 500, "out of memory");
        return;
    }
    evhttp_connection_get_peer(evhttp_request_get_connection(req), &host, &port);
    snprintf(v->peer, sizeof v->peer, strchr(host != NULL ? host : "", ':') ? "[%s]:%u" : "%s:%u",
             host != NULL ? host : "?", port);
    snprintf(full, sizeof full, "%s%s%s", path, query != NULL ? "?" : "", query != NULL ? query : "");
    if (ls_http_flv_path_parse(full, &v->ref) != LS_OK) {
        ls_stats.play_failures_total[LS_FAIL_BAD_NAME]++;
        ls_log_peer_ctx(LS_LOG_CTX(NULL, v->peer), LS_LOG_INFO,
                        "%s: http-flv refused: bad stream id", v->peer);
        free(v);
        ls_http_reply_error(req, 404, "bad stream id");
        return;
    }
    if (ls_server_connection_acquire(flv->srv) != LS_OK) {
        ls_stats.play_failures_total[LS_FAIL_LIMIT]++;
        ls_log_peer_ctx(LS_LOG_CTX(v->ref.id, v->peer), LS_LOG_WARNING,
                        "%s: http-flv %s refused: max_connections reached", v->peer, v->ref.id);
        free(v);
        ls_http_reply_error(req, 503, "too many connections");
        return;
    }
    ls_stats.connections++;
    ls_stats.connections_total++;
    v->flv = flv;
    v->req = req;
    v->requested_ms = ls_now_ms();
    v->evcon = evhttp_request_get_connection(req);
    v->tls = ls_http_conn_tls(flv->http, v->evcon);
    ls_outq_init(&v->outq);
    v->batch = evbuffer_new();
    LIST_INSERT_HEAD(&flv->viewers, v, link);
    ls_http_set_closecb(flv->http, v->evcon, flv_conn_closed, v);
    if (v->batch == NULL) {
        flv_abort(v);
        return;
    }
    v->auth = ls_auth_check(flv->base, &ls_server_config(flv->srv)->play_auth, "play", &v->ref,
                            v->peer, flv_admitted, v);
    if (v->auth == NULL)
        flv_abort(v);
}

struct ls_httpflv *ls_httpflv_new(struct ls_http *http, struct ls_server *srv)
{
    struct ls_httpflv *flv = calloc(1, sizeof *flv);

    if (flv == NULL)
        return NULL;
    flv->base = ls_server_base(srv);
    flv->http = http;
    flv->srv = srv;
    LIST_INIT(&flv->viewers);
    if (ls_http_route_suffix(http, ".flv", flv_request, flv) != LS_OK) {
        free(flv);
        return NULL;
    }
    return flv;
}

void ls_httpflv_free(struct ls_httpflv *flv)
{
    if (flv == NULL)
        return;
    while (!LIST_EMPTY(&flv->viewers))
        flv_abort(LIST_FIRST(&flv->viewers));
    free(flv);
}
