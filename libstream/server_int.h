/*
 * server_int.h — what server.c and session.c share (private to libstream).
 */
#ifndef LIBSTREAM_SERVER_INT_H
#define LIBSTREAM_SERVER_INT_H

#include <sys/queue.h>

#include "libstream/server.h"

struct ls_listener;
struct ls_vod;

LIST_HEAD(ls_session_list, ls_session);

struct ls_server {
    struct event_base *base;
    struct ls_hub *hub;
    struct ls_server_config cfg;
    struct ls_server_hooks hooks;
    struct ls_listener *listener;
    struct ls_listener *tls_listener;  /* rtmps_listen, or NULL */
    struct ls_tls_ctx *tls;            /* its certificate (borrowed) */
    struct ls_session_list sessions;
    unsigned nsessions;
    unsigned nconnections;   /* sessions + connections acquired by other transports */
    struct ls_vod *vod;      /* files on demand (vod.h), or NULL */
    bool shutting_down;
};

/* A session for an accepted socket (takes the fd), over TLS with `tls` (NULL: plain RTMP).
 * Logs and closes on failure. */
void ls_session_accept(struct ls_server *srv, int fd, struct ls_tls_ctx *tls);
/* Closes a session from the server (shutdown). */
void ls_session_shutdown(struct ls_session *ses);

#endif /* LIBSTREAM_SERVER_INT_H */
