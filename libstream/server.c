/*
 * server.c — the RTMP (and RTMPS) listeners and the connection bound (see server.h;
 * sessions are in session.c, internal-pull signatures in peersig.c).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>
#include <event2/listener.h>

#include "libstream/listener.h"
#include "libstream/log.h"
#include "libstream/net.h"
#include "libstream/stats.h"
#include "server_int.h"

void ls_server_config_defaults(struct ls_server_config *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->max_connections = 10000;
    ls_conn_config_defaults(&cfg->conn);
    cfg->connect_timeout_ms = 30000;
    cfg->publisher_idle_timeout_ms = 30000;
    cfg->publish_takeover_idle_ms = 5000;
    cfg->play_wait_timeout_ms = 10000;
    cfg->allow_publish = true;
    cfg->publish_auth.timeout_ms = 3000;
    cfg->play_auth.timeout_ms = 3000;
    cfg->cluster_secret = "";
    cfg->node_id = "";
}

static void server_accept(struct ls_server *srv, evutil_socket_t fd, struct sockaddr *sa,
                          struct ls_tls_ctx *tls)
{
    char peer[64];

    if (srv->shutting_down) {
        close(fd);
        return;
    }
    if (srv->nconnections >= srv->cfg.max_connections) {
        ls_net_format(sa, peer, sizeof peer);
        ls_stats.connections_refused_total++;
        ls_log_peer_ctx(LS_LOG_CTX(NULL, peer), LS_LOG_WARNING,
                        "%s: refused: max_connections (%u) reached", peer,
                        srv->cfg.max_connections);
        close(fd);
        return;
    }
    ls_session_accept(srv, fd, tls);
}

static void server_accept_cb(struct evconnlistener *l, evutil_socket_t fd, struct sockaddr *sa,
                             int salen, void *arg)
{
    (void)l;
    (void)salen;
    server_accept(arg, fd, sa, NULL);
}

/* rtmps_listen: the same sessions, their bytes through TLS (conn.h, tls.h). */
static void server_accept_tls_cb(struct evconnlistener *l, evutil_socket_t fd,
                                 struct sockaddr *sa, int salen, void *arg)
{
    struct ls_server *srv = arg;

    (void)l;
    (void)salen;
    server_accept(srv, fd, sa, srv->tls);
}

struct ls_server *ls_server_new(struct event_base *base, struct ls_hub *hub,
                                const struct ls_server_config *cfg, const char *listen)
{
    struct ls_server *srv = calloc(1, sizeof *srv);

    if (srv == NULL)
        return NULL;
    srv->base = base;
    srv->hub = hub;
    srv->cfg = *cfg;
    LIST_INIT(&srv->sessions);
    srv->listener = ls_listener_new(base, listen, 1024, server_accept_cb, srv);
    if (srv->listener == NULL) {
        free(srv);
        return NULL;
    }
    return srv;
}

int ls_server_listen_tls(struct ls_server *srv, const char *listen, struct ls_tls_ctx *tls)
{
    srv->tls = tls;
    srv->tls_listener = ls_listener_new(srv->base, listen, 1024, server_accept_tls_cb, srv);
    return srv->tls_listener != NULL ? LS_OK : LS_EIO;
}

void ls_server_shutdown(struct ls_server *srv)
{
    srv->shutting_down = true;
    ls_listener_free(srv->listener);
    srv->listener = NULL;
    ls_listener_free(srv->tls_listener);
    srv->tls_listener = NULL;
    while (!LIST_EMPTY(&srv->sessions))
        ls_session_shutdown(LIST_FIRST(&srv->sessions));
}

void ls_server_free(struct ls_server *srv)
{
    if (srv == NULL)
        return;
    ls_server_shutdown(srv);
    free(srv);
}

void ls_server_set_hooks(struct ls_server *srv, const struct ls_server_hooks *hooks)
{
    srv->hooks = *hooks;
}

void ls_server_set_vod(struct ls_server *srv, struct ls_vod *vod)
{
    srv->vod = vod;
}

void ls_server_set_config(struct ls_server *srv, const struct ls_server_config *cfg)
{
    uint32_t chunk_size = srv->cfg.conn.out_chunk_size;

    srv->cfg = *cfg;
    srv->cfg.conn.out_chunk_size = chunk_size; /* shared media bytes are chunked at this */
}

const struct ls_server_config *ls_server_config(const struct ls_server *srv)
{
    return &srv->cfg;
}

struct ls_hub *ls_server_hub(const struct ls_server *srv)
{
    return srv->hub;
}

struct event_base *ls_server_base(const struct ls_server *srv)
{
    return srv->base;
}

unsigned ls_server_session_count(const struct ls_server *srv)
{
    return srv->nsessions;
}

int ls_server_connection_acquire(struct ls_server *srv)
{
    if (srv->shutting_down || srv->nconnections >= srv->cfg.max_connections) {
        ls_stats.connections_refused_total++;
        return LS_ELIMIT;
    }
    srv->nconnections++;
    return LS_OK;
}

void ls_server_connection_release(struct ls_server *srv)
{
    if (srv->nconnections > 0)
        srv->nconnections--;
}
