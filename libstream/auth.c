/*
 * auth.c — the admission step (roles' tools layer): token check and the optional auth_url
 * POST (see auth.h).
 *
 * The decision always arrives from the event loop: a zero-delay timer for local checks,
 * or the HTTP answer for auth_url. Cancelling frees the timer and the HTTP connection, so
 * a session that closes while waiting is never called back.
 *
 * Bounds on the auth server (docs/security.md): evhttp's own timeout restarts with every
 * byte read, so a server trickling its answer would hold the client (and an fd) forever;
 * a deadline timer of our own ends the request `timeout_ms` after it started, whatever
 * arrives. evhttp buffers the answer; its header and body limits keep that small. The
 * number of requests open at once is one process-wide counter (one loop per process).
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>

#include "libstream/auth.h"
#include "libstream/clock.h"
#include "libstream/err.h"
#include "libstream/stats.h"
#include "libstream/token.h"

struct ls_auth_request {
    struct event_base *base;
    ls_auth_cb cb;
    void *arg;
    struct event *timer;               /* delivers a local decision */
    struct event *deadline;            /* ends an auth_url request, however far it got */
    struct evhttp_connection *http;    /* auth_url in flight */
    struct evhttp_request *http_req;
    bool counted;                      /* holds one of the max_inflight slots */
    enum evhttp_request_error http_error;
    bool http_failed;                  /* evhttp reported http_error */
    int result;
    const char *why;
};

static unsigned auth_inflight;

unsigned ls_auth_inflight(void)
{
    return auth_inflight;
}

/* Gives the request's in-flight slot back (once). */
static void auth_uncount(struct ls_auth_request *req)
{
    if (!req->counted)
        return;
    req->counted = false;
    auth_inflight--;
    ls_stats.auth_inflight = auth_inflight;
}

static void auth_timer_cb(evutil_socket_t fd, short what, void *arg)
{
    struct ls_auth_request *req = arg;
    ls_auth_cb cb = req->cb;
    void *cb_arg = req->arg;
    int result = req->result;
    const char *why = req->why;

    (void)fd;
    (void)what;
    ls_auth_cancel(req);
    cb(cb_arg, result, why);
}

/* Schedules delivery of the decision on the next loop turn (never from inside evhttp's
 * callback, where freeing the HTTP connection is not safe). */
static int auth_deliver_later(struct ls_auth_request *req, struct event_base *base, int result,
                              const char *why)
{
    struct timeval zero = { 0, 0 };

    req->result = result;
    req->why = why;
    if (req->timer == NULL)
        req->timer = evtimer_new(base, auth_timer_cb, req);
    if (req->timer == NULL || evtimer_add(req->timer, &zero) == -1)
        return LS_ENOMEM;
    return LS_OK;
}

static void auth_http_error_cb(enum evhttp_request_error err, void *arg)
{
    struct ls_auth_request *req = arg;

    req->http_failed = true;
    req->http_error = err;
}

static void auth_http_cb(struct evhttp_request *http_req, void *arg)
{
    struct ls_auth_request *req = arg;
    int code = http_req != NULL ? evhttp_request_get_response_code(http_req) : 0;

    req->http_req = NULL; /* libevent frees the request when this callback returns */
    auth_uncount(req);
    if (req->deadline != NULL)
        event_del(req->deadline);
    if (http_req != NULL && code >= 200 && code < 300)
        auth_deliver_later(req, req->base, LS_OK, NULL);
    else if (http_req == NULL && req->http_failed && req->http_error == EVREQ_HTTP_DATA_TOO_LONG)
        auth_deliver_later(req, req->base, LS_EAUTH, "auth_url answer too large");
    else if (http_req == NULL && req->http_failed && req->http_error == EVREQ_HTTP_INVALID_HEADER)
        auth_deliver_later(req, req->base, LS_EAUTH,
                           "auth_url answer malformed or its header too large");
    else if (http_req == NULL || code == 0)
        auth_deliver_later(req, req->base, LS_EAUTH, "auth_url unreachable or timed out");
    else
        auth_deliver_later(req, req->base, LS_EAUTH, "auth_url refused");
}

/* The total deadline passed: end the request and refuse (we run from the loop, outside
 * evhttp's callbacks, so the connection can go now). */
static void auth_deadline_cb(evutil_socket_t fd, short what, void *arg)
{
    struct ls_auth_request *req = arg;
    ls_auth_cb cb = req->cb;
    void *cb_arg = req->arg;

    (void)fd;
    (void)what;
    ls_auth_cancel(req);
    cb(cb_arg, LS_EAUTH, "auth_url unreachable or timed out");
}

/* Appends key=value, form-encoded, to the body. */
static void auth_form_add(struct evbuffer *body, const char *key, const char *value)
{
    char *enc = evhttp_encode_uri(value != NULL ? value : "");

    evbuffer_add_printf(body, "%s%s=%s", evbuffer_get_length(body) > 0 ? "&" : "", key,
                        enc != NULL ? enc : "");
    free(enc);
}

static int auth_start_http(struct ls_auth_request *req, struct event_base *base,
                           const struct ls_auth_config *cfg, const char *action,
                           const struct ls_stream_ref *ref, const char *client_ip)
{
    struct evhttp_uri *uri = evhttp_uri_parse(cfg->auth_url);
    const char *host, *path;
    char token[160] = "", expires[32] = "", target[2048], ip[64], host_copy[256];
    struct evbuffer *body;
    struct timeval tv;
    unsigned max_answer;
    int port;
    char *colon;

    if (uri == NULL || (host = evhttp_uri_get_host(uri)) == NULL) {
        if (uri != NULL)
            evhttp_uri_free(uri);
        return LS_ECONF;
    }
    /* `host` lives in `uri`, which is freed before the Host header is added. */
    snprintf(host_copy, sizeof host_copy, "%s", host);
    host = host_copy;
    port = evhttp_uri_get_port(uri);
    path = evhttp_uri_get_path(uri);
    snprintf(target, sizeof target, "%s%s%s", path != NULL && *path != '\0' ? path : "/",
             evhttp_uri_get_query(uri) != NULL ? "?" : "",
             evhttp_uri_get_query(uri) != NULL ? evhttp_uri_get_query(uri) : "");
    /* With the process's evdns base a name is resolved on the loop, within its deadline. */
    req->http = evhttp_connection_base_new(base, cfg->dns, host, port > 0 ? port : 80);
    evhttp_uri_free(uri);
    if (req->http == NULL)
        return LS_ENOMEM;
    /* evhttp's own per-read timeout only backs up our deadline (it fires later). */
    tv.tv_sec = cfg->timeout_ms / 1000 + 1;
    tv.tv_usec = (cfg->timeout_ms % 1000) * 1000;
    evhttp_connection_set_timeout_tv(req->http, &tv);
    evhttp_connection_set_retries(req->http, 0);
    tv.tv_sec -= 1;
    max_answer = cfg->max_answer_bytes != 0 ? cfg->max_answer_bytes : LS_AUTH_MAX_ANSWER;
    evhttp_connection_set_max_headers_size(req->http, max_answer);
    evhttp_connection_set_max_body_size(req->http, max_answer);
    req->deadline = evtimer_new(base, auth_deadline_cb, req);
    if (req->deadline == NULL || evtimer_add(req->deadline, &tv) == -1)
        return LS_ENOMEM;
    req->http_req = evhttp_request_new(auth_http_cb, req);
    if (req->http_req == NULL)
        return LS_ENOMEM;
    evhttp_request_set_error_cb(req->http_req, auth_http_error_cb);

    /* client_ip without the port */
    snprintf(ip, sizeof ip, "%s", client_ip != NULL ? client_ip : "");
    colon = strrchr(ip, ':');
    if (colon != NULL && strchr(ip, ']') == NULL)
        *colon = '\0';
    else if (ip[0] == '[' && (colon = strstr(ip, "]:")) != NULL) {
        *colon = '\0';
        memmove(ip, ip + 1, strlen(ip));
    }
    /* Absent parameters are sent empty: the token server decides what that means. */
    if (ls_query_get(ref->query, "token", token, sizeof token) != LS_OK)
        token[0] = '\0';
    if (ls_query_get(ref->query, "expires", expires, sizeof expires) != LS_OK)
        expires[0] = '\0';
    body = evhttp_request_get_output_buffer(req->http_req);
    auth_form_add(body, "app", ref->app);
    auth_form_add(body, "name", ref->name);
    auth_form_add(body, "token", token);
    auth_form_add(body, "expires", expires);
    auth_form_add(body, "client_ip", ip);
    auth_form_add(body, "action", action);
    evhttp_add_header(evhttp_request_get_output_headers(req->http_req), "Host", host);
    evhttp_add_header(evhttp_request_get_output_headers(req->http_req), "Content-Type",
                      "application/x-www-form-urlencoded");
    if (evhttp_make_request(req->http, req->http_req, EVHTTP_REQ_POST, target) == -1) {
        req->http_req = NULL; /* freed by evhttp_make_request on failure */
        return LS_EIO;
    }
    req->counted = true;
    auth_inflight++;
    ls_stats.auth_inflight = auth_inflight;
    return LS_OK;
}

struct ls_auth_request *ls_auth_check(struct event_base *base, const struct ls_auth_config *cfg,
                                      const char *action, const struct ls_stream_ref *ref,
                                      const char *client_ip, ls_auth_cb cb, void *arg)
{
    struct ls_auth_request *req = calloc(1, sizeof *req);
    const char *why = NULL;
    int rc;

    if (req == NULL)
        return NULL;
    req->base = base;
    req->cb = cb;
    req->arg = arg;
    if (cfg->secret != NULL && cfg->secret[0] != '\0' &&
        ls_token_verify(cfg->secret, ref->id, ref->query, (time_t)ls_unix_time(), &why) != LS_OK) {
        rc = auth_deliver_later(req, base, LS_EAUTH, why != NULL ? why : "bad token");
    } else if (cfg->auth_url != NULL && cfg->auth_url[0] != '\0' &&
               auth_inflight >= (cfg->max_inflight != 0 ? cfg->max_inflight
                                                        : LS_AUTH_MAX_INFLIGHT)) {
        /* Refused without asking: the auth server is the bottleneck, and each request
         * held open costs an fd and a slot here. */
        ls_stats.auth_overload_total++;
        rc = auth_deliver_later(req, base, LS_ELIMIT, "too many auth_url checks in flight");
    } else if (cfg->auth_url != NULL && cfg->auth_url[0] != '\0') {
        rc = auth_start_http(req, base, cfg, action, ref, client_ip);
        if (rc != LS_OK) {
            /* drop what the failed start left behind before scheduling the refusal */
            if (req->deadline != NULL) {
                event_free(req->deadline);
                req->deadline = NULL;
            }
            if (req->http_req != NULL) {
                evhttp_request_free(req->http_req);
                req->http_req = NULL;
            }
            if (req->http != NULL) {
                evhttp_connection_free(req->http);
                req->http = NULL;
            }
            rc = auth_deliver_later(req, base, LS_EAUTH, "auth_url request could not be made");
        }
    } else {
        rc = auth_deliver_later(req, base, LS_OK, NULL);
    }
    if (rc != LS_OK) {
        ls_auth_cancel(req);
        return NULL;
    }
    return req;
}

void ls_auth_cancel(struct ls_auth_request *req)
{
    if (req == NULL)
        return;
    auth_uncount(req);
    if (req->timer != NULL)
        event_free(req->timer);
    if (req->deadline != NULL)
        event_free(req->deadline);
    if (req->http_req != NULL)
        evhttp_cancel_request(req->http_req);
    if (req->http != NULL)
        evhttp_connection_free(req->http);
    free(req);
}
