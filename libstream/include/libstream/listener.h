/*
 * listener.h — a listening TCP socket on the event loop, set up one way for every port a
 * daemon opens: spd's and epd's RTMP port (server.h), smd's registry port, and every
 * daemon's HTTP port (http.h).
 *
 * Out of file descriptors (EMFILE, ENFILE) or memory, accept(2) fails with the connection
 * still queued, so a level-triggered listener would be woken again at once: 100% CPU and a
 * log line per wake-up. Instead the listener stops accepting for LS_LISTENER_PAUSE_MS
 * at most (the kernel keeps new connections in the backlog meanwhile), and resumes early,
 * on the next loop turn, when a connection of the process closes and so frees a
 * descriptor: one failed accept per close at worst, never a spin. It logs at most one
 * line a second per listener.
 */
#ifndef LIBSTREAM_LISTENER_H
#define LIBSTREAM_LISTENER_H

#include <event2/listener.h>

#include "libstream/err.h"

struct evhttp;
struct ls_listener;

/* How long accepting pauses after accept(2) failed. */
#define LS_LISTENER_PAUSE_MS 1000

/*
 * Resolves `listen` (ls_addr text "host:port"; "*" = any address), binds it with
 * SO_REUSEADDR, listens with `backlog`, and hands each accepted socket to `cb` (NULL:
 * none, for a listener given to evhttp with ls_listener_bind_evhttp). NULL after logging
 * why.
 */
struct ls_listener *ls_listener_new(struct event_base *base, const char *listen, int backlog,
                                    evconnlistener_cb cb, void *arg);
/* Lets `http` accept on this listener (evhttp_bind_listener); evhttp then owns the socket
 * and closes it in evhttp_free, before which ls_listener_free must not run. LS_ENOMEM. */
LS_MUST_CHECK int ls_listener_bind_evhttp(struct ls_listener *l, struct evhttp *http);
/* Stops listening and frees (the socket too, unless evhttp owns it). NULL is ignored. */
void ls_listener_free(struct ls_listener *l);
/* Accept failures that paused this listener so far (for tests and metrics). */
unsigned ls_listener_pauses(const struct ls_listener *l);
/* A descriptor was freed (a connection closed): paused listeners try again now. */
void ls_listener_fd_released(void);

#endif /* LIBSTREAM_LISTENER_H */
