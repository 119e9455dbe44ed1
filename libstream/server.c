/*
 * server.c — the RTMP listener, the connection bound, and internal-pull signatures
 * (see server.h; sessions are in session.c).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>
#include <event2/listener.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "libstream/listener.h"
#include "libstream/log.h"
#include "libstream/net.h"
#include "libstream/stats.h"
#include "server_int.h"

#define PEER_SIG_MAX_SKEW_S 300

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
}

static void server_accept_cb(struct evconnlistener *l, evutil_socket_t fd, struct sockaddr *sa,
                             int salen, void *arg)
{
    struct ls_server *srv = arg;
    char peer[64];

    (void)l;
    (void)salen;
    if (srv->shutting_down) {
        close(fd);
        return;
    }
    if (srv->nconnections >= srv->cfg.max_connections) {
        ls_net_format(sa, peer, sizeof peer);
        ls_stats.connections_refused_total++;
        ls_log(LS_LOG_WARNING, "%s: refused: max_connections (%u) reached", peer,
               srv->cfg.max_connections);
        close(fd);
        return;
    }
    ls_session_accept(srv, fd);
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

void ls_server_shutdown(struct ls_server *srv)
{
    srv->shutting_down = true;
    if (srv->listener != NULL) {
        evconnlistener_free(srv->listener);
        srv->listener = NULL;
    }
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

/* ---- internal pull signatures ---- */

static void peer_mac(const char *secret, const char *node, const char *role, const char *id,
                     long ts, char hex[65])
{
    unsigned char mac[EVP_MAX_MD_SIZE];
    unsigned int mac_len = 0;
    char msg[512];
    int n = snprintf(msg, sizeof msg, "%s:%s:%s:%ld", node, role, id, ts);
    unsigned i;

    HMAC(EVP_sha256(), secret, (int)strlen(secret), (const unsigned char *)msg,
         n > 0 && (size_t)n < sizeof msg ? (size_t)n : sizeof msg - 1, mac, &mac_len);
    for (i = 0; i < mac_len && i < 32; i++)
        snprintf(hex + 2 * i, 3, "%02x", mac[i]);
    hex[64] = '\0';
}

int ls_peer_sign(const char *secret, const char *node_id, const char *role, const char *id,
                 char *query, size_t cap)
{
    char hex[65];
    long ts = (long)time(NULL);
    size_t used = strlen(query);
    int n;

    peer_mac(secret, node_id, role, id, ts, hex);
    n = snprintf(query + used, cap - used, "%slc_node=%s&lc_role=%s&lc_ts=%ld&lc_sig=%s",
                 used > 0 ? "&" : "", node_id, role, ts, hex);
    if (n < 0 || (size_t)n >= cap - used) {
        query[used] = '\0';
        return LS_ELIMIT;
    }
    return LS_OK;
}

int ls_peer_verify(const char *secret, const char *id, const char *query,
                   struct ls_peer_info *out)
{
    char node[64], role[8], ts_text[24], sig[80], want[65];
    long ts;
    char *end;

    memset(out, 0, sizeof *out);
    if (query == NULL || ls_query_get(query, "lc_sig", sig, sizeof sig) != LS_OK)
        return LS_ENOTFOUND;
    if (ls_query_get(query, "lc_node", node, sizeof node) != LS_OK ||
        ls_query_get(query, "lc_role", role, sizeof role) != LS_OK ||
        ls_query_get(query, "lc_ts", ts_text, sizeof ts_text) != LS_OK)
        return LS_EAUTH;
    if (strcmp(role, "spd") != 0 && strcmp(role, "epd") != 0)
        return LS_EAUTH;
    ts = strtol(ts_text, &end, 10);
    if (*end != '\0' || labs((long)time(NULL) - ts) > PEER_SIG_MAX_SKEW_S)
        return LS_EAUTH;
    peer_mac(secret != NULL ? secret : "", node, role, id, ts, want);
    if (strlen(sig) != 64 || CRYPTO_memcmp(sig, want, 64) != 0)
        return LS_EAUTH;
    out->internal = true;
    snprintf(out->node_id, sizeof out->node_id, "%s", node);
    snprintf(out->role, sizeof out->role, "%s", role);
    return LS_OK;
}
