/*
 * listener.h — a listening TCP socket on the event loop, set up one way for every port a
 * daemon opens: spd's and epd's RTMP port (server.h), smd's registry port, and every
 * daemon's HTTP port (http.h).
 */
#ifndef LIBSTREAM_LISTENER_H
#define LIBSTREAM_LISTENER_H

#include <event2/listener.h>

/*
 * Resolves `listen` (ls_addr text "host:port"; "*" = any address), binds it with
 * SO_REUSEADDR, listens with `backlog`, and wraps the socket in an evconnlistener that
 * hands each accepted socket to `cb` (NULL: none yet, e.g. for evhttp_bind_listener, which
 * installs its own). Accept failures (EMFILE and friends) are logged and the listener keeps
 * going. Free with evconnlistener_free (closes the socket). NULL after logging why.
 */
struct evconnlistener *ls_listener_new(struct event_base *base, const char *listen, int backlog,
                                       evconnlistener_cb cb, void *arg);

#endif /* LIBSTREAM_LISTENER_H */
