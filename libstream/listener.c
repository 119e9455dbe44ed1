/*
 * listener.c — listening sockets on libevent (see listener.h). Layer: roles' tools, under
 * the RTMP server, smd's registry and the HTTP side; the socket calls are net.c's.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>
#include <unistd.h>

#include <event2/event.h>
#include <event2/http.h>
#include <event2/listener.h>

#include "libstream/err.h"
#include "libstream/listener.h"
#include "libstream/log.h"
#include "libstream/net.h"

struct ls_listener {
    struct evconnlistener *evl;
    struct event *resume;         /* ends a pause */
    char name[64];                /* the listen address, for log lines */
    bool evl_owned;               /* false once evhttp took the socket */
    bool paused;
    unsigned pauses;
    struct ls_log_limit log_limit; /* one line a second while out of descriptors */
    LIST_ENTRY(ls_listener) link;
};

/* Every listener of the process: evconnlistener's error callback gets the accept
 * callback's argument (for evhttp: the evhttp), so ours is found by the socket. */
static LIST_HEAD(, ls_listener) listeners = LIST_HEAD_INITIALIZER(listeners);

static void listener_resume_cb(evutil_socket_t fd, short what, void *arg)
{
    struct ls_listener *l = arg;

    (void)fd;
    (void)what;
    l->paused = false;
    evconnlistener_enable(l->evl);
}

void ls_listener_fd_released(void)
{
    struct ls_listener *l;

    LIST_FOREACH(l, &listeners, link) {
        if (l->paused) {
            evtimer_del(l->resume);
            event_active(l->resume, EV_TIMEOUT, 1);
        }
    }
}

static void listener_error_cb(struct evconnlistener *evl, void *arg)
{
    int err = EVUTIL_SOCKET_ERROR();
    struct timeval tv = { LS_LISTENER_PAUSE_MS / 1000, (LS_LISTENER_PAUSE_MS % 1000) * 1000 };
    struct ls_listener *l;

    (void)arg;
    LIST_FOREACH(l, &listeners, link)
        if (l->evl == evl)
            break;
    if (l == NULL) {
        ls_log(LS_LOG_ERR, "accept failed: %s", evutil_socket_error_to_string(err));
        return;
    }
    /* The failed connection is still queued: listening on would wake us again at once.
     * Pause; connections that close meanwhile free what accept needs. */
    evconnlistener_disable(evl);
    evtimer_add(l->resume, &tv);
    l->paused = true;
    l->pauses++;
    ls_log_limited(&l->log_limit, 1000, LS_LOG_ERR,
                   "accept on %s failed: %s; not accepting for up to %d ms", l->name,
                   evutil_socket_error_to_string(err), LS_LISTENER_PAUSE_MS);
}

struct ls_listener *ls_listener_new(struct event_base *base, const char *listen, int backlog,
                                    evconnlistener_cb cb, void *arg)
{
    struct sockaddr_storage ss;
    socklen_t len;
    struct ls_listener *l;
    int fd;

    if (ls_net_resolve(listen, true, &ss, &len) != LS_OK) {
        ls_log(LS_LOG_ERR, "cannot resolve listen address %s", listen);
        return NULL;
    }
    l = calloc(1, sizeof *l);
    if (l == NULL || (l->resume = evtimer_new(base, listener_resume_cb, l)) == NULL) {
        ls_log(LS_LOG_ERR, "cannot listen on %s: out of memory", listen);
        free(l);
        return NULL;
    }
    snprintf(l->name, sizeof l->name, "%s", listen);
    fd = ls_net_listen((struct sockaddr *)&ss, len, backlog);
    if (fd == -1) {
        ls_log(LS_LOG_ERR, "cannot listen on %s: %s", listen, strerror(errno));
        event_free(l->resume);
        free(l);
        return NULL;
    }
    l->evl = evconnlistener_new(base, cb, arg, LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC,
                                -1, fd);
    if (l->evl == NULL) {
        ls_log(LS_LOG_ERR, "cannot listen on %s: out of memory", listen);
        close(fd);
        event_free(l->resume);
        free(l);
        return NULL;
    }
    l->evl_owned = true;
    evconnlistener_set_error_cb(l->evl, listener_error_cb);
    LIST_INSERT_HEAD(&listeners, l, link);
    return l;
}

int ls_listener_bind_evhttp(struct ls_listener *l, struct evhttp *http)
{
    if (evhttp_bind_listener(http, l->evl) == NULL)
        return LS_ENOMEM;
    l->evl_owned = false;
    return LS_OK;
}

void ls_listener_free(struct ls_listener *l)
{
    if (l == NULL)
        return;
    LIST_REMOVE(l, link);
    event_free(l->resume);
    if (l->evl_owned)
        evconnlistener_free(l->evl);
    free(l);
}

unsigned ls_listener_pauses(const struct ls_listener *l)
{
    return l->pauses;
}
