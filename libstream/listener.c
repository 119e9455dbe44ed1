/*
 * listener.c — listening sockets on libevent (see listener.h). Layer: roles' tools, under
 * the RTMP server, smd's registry and the HTTP side; the socket calls are net.c's.
 */
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>
#include <event2/listener.h>

#include "libstream/listener.h"
#include "libstream/log.h"
#include "libstream/net.h"

static void listener_error_cb(struct evconnlistener *l, void *arg)
{
    int err = EVUTIL_SOCKET_ERROR();

    (void)l;
    (void)arg;
    /* EMFILE and friends: log and keep listening; connections close and free fds. */
    ls_log(LS_LOG_ERR, "accept failed: %s", evutil_socket_error_to_string(err));
}

struct evconnlistener *ls_listener_new(struct event_base *base, const char *listen, int backlog,
                                       evconnlistener_cb cb, void *arg)
{
    struct sockaddr_storage ss;
    socklen_t len;
    struct evconnlistener *l;
    int fd;

    if (ls_net_resolve(listen, true, &ss, &len) != LS_OK) {
        ls_log(LS_LOG_ERR, "cannot resolve listen address %s", listen);
        return NULL;
    }
    fd = ls_net_listen((struct sockaddr *)&ss, len, backlog);
    if (fd == -1) {
        ls_log(LS_LOG_ERR, "cannot listen on %s: %s", listen, strerror(errno));
        return NULL;
    }
    l = evconnlistener_new(base, cb, arg, LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC, -1, fd);
    if (l == NULL) {
        ls_log(LS_LOG_ERR, "cannot listen on %s: out of memory", listen);
        close(fd);
        return NULL;
    }
    evconnlistener_set_error_cb(l, listener_error_cb);
    return l;
}
