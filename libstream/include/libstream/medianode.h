/*
 * medianode.h — what spd and epd have in common as running processes: the loaded config,
 * the hub, the RTMP server, the HTTP side, the settings for internal pulls, and reload.
 * The roles (spd/origin.c, epd/edge.c) add their hooks on top. With `tls`, the node also
 * listens on rtmps_listen and https_listen (tls.h); SIGHUP reloads the certificate.
 *
 * Each stream's role data (ls_stream_role_data) is, on both roles, the ls_pull feeding it
 * or NULL; the node relies on that to hand reloaded settings to running pulls.
 */
#ifndef LIBSTREAM_MEDIANODE_H
#define LIBSTREAM_MEDIANODE_H

#include <stdbool.h>
#include <stddef.h>

#include "libstream/http.h"
#include "libstream/hub.h"
#include "libstream/mediaconf.h"
#include "libstream/pull.h"
#include "libstream/resolver.h"
#include "libstream/server.h"

struct event_base;
struct ls_tls_ctx;

struct ls_media_node {
    struct event_base *base;
    const char *role;                  /* "spd" | "epd" */
    const struct ls_conf_key *schema;
    bool allow_publish;
    char *config_path;
    struct ls_media_conf conf;         /* in force; strings borrowed by the configs below */
    struct ls_server_config srv_cfg;
    struct ls_hub_config hub_cfg;
    struct ls_pull_config pull_cfg;
    struct ls_resolver *resolver;      /* the process's DNS (pulls, registry, auth_url) */
    struct ls_hub *hub;
    struct ls_server *srv;
    struct ls_http *http;              /* with /api/v1/streams and HTTP-FLV of `hub` */
    struct ls_httpflv *flv;
    struct ls_tls_ctx *rtmps_tls;      /* rtmps_listen's certificate, or NULL */
    struct ls_tls_ctx *https_tls;      /* https_listen's certificate, or NULL */
    /* Called after a successful reload, with the new config in force. */
    void (*reloaded)(struct ls_media_node *node, void *arg);
    void *arg;
};

/* Loads `path` with `schema`, binds RTMP and HTTP (and RTMPS, HTTPS). NULL after logging
 * why. */
struct ls_media_node *ls_media_node_new(struct event_base *base, const char *path,
                                        const char *role, const struct ls_conf_key *schema,
                                        bool allow_publish);
/* SIGHUP: an invalid file is logged and ignored (LS_ECONF). */
int ls_media_node_reload(struct ls_media_node *node);
/* Graceful stop: stop accepting, close sessions, end pulls and HTTP-FLV responses. */
void ls_media_node_stop(struct ls_media_node *node);
void ls_media_node_status(const struct ls_media_node *node, char *out, size_t cap);
void ls_media_node_free(struct ls_media_node *node);

#endif /* LIBSTREAM_MEDIANODE_H */
