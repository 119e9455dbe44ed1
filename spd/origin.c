/*
 * origin.c — spd's role: an RTMP server whose hub takes publishers, plus the HTTP API and
 * HTTP-FLV. In a cluster (source_managers set) publishers are registered with smd before
 * they are answered, and plays of streams owned elsewhere are pulled from the owner
 * (cluster.c).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "libstream/config.h"
#include "libstream/http.h"
#include "libstream/hub.h"
#include "libstream/log.h"
#include "libstream/mediaconf.h"
#include "libstream/server.h"
#include "spd.h"

struct spd_origin {
    struct event_base *base;
    char *config_path;
    struct ls_media_conf conf;
    struct ls_server_config srv_cfg;
    struct ls_hub_config hub_cfg;
    struct ls_hub *hub;
    struct ls_server *srv;
    struct ls_http *http;
};

static int origin_load(const char *path, struct ls_media_conf *conf)
{
    char err[512];

    if (ls_config_load(path, ls_spd_schema, conf, err, sizeof err) != LS_OK) {
        ls_log(LS_LOG_ERR, "%s", err);
        return LS_ECONF;
    }
    return LS_OK;
}

static void origin_format_addr(const struct ls_addr *a, char *out, size_t cap)
{
    if (ls_addr_format(a, out, cap) != LS_OK)
        snprintf(out, cap, "?");
}

struct spd_origin *spd_origin_new(struct event_base *base, const char *path)
{
    struct spd_origin *o = calloc(1, sizeof *o);
    char listen[LS_ADDR_STRLEN], http_listen[LS_ADDR_STRLEN];

    if (o == NULL)
        return NULL;
    o->base = base;
    o->config_path = strdup(path);
    if (o->config_path == NULL || origin_load(path, &o->conf) != LS_OK) {
        free(o->config_path);
        free(o);
        return NULL;
    }
    ls_log_set_level(o->conf.log_level);
    ls_media_conf_apply(&o->conf, true, &o->srv_cfg, &o->hub_cfg);
    origin_format_addr(&o->conf.listen, listen, sizeof listen);
    origin_format_addr(&o->conf.http_listen, http_listen, sizeof http_listen);
    o->hub = ls_hub_new(base, &o->hub_cfg);
    if (o->hub != NULL)
        o->srv = ls_server_new(base, o->hub, &o->srv_cfg, listen);
    if (o->srv != NULL)
        o->http = ls_http_new(base, http_listen, "spd", o->conf.node_id);
    if (o->http == NULL) {
        spd_origin_free(o);
        return NULL;
    }
    ls_http_serve_media(o->http, o->srv);
    ls_log(LS_LOG_NOTICE, "spd %s: RTMP on %s, HTTP on %s%s", o->conf.node_id, listen,
           http_listen, o->conf.source_managers.n == 0 ? " (standalone origin)" : "");
    return o;
}

int spd_origin_reload(struct spd_origin *o)
{
    struct ls_media_conf fresh;
    struct ls_server_config srv_cfg;
    struct ls_hub_config hub_cfg;

    if (origin_load(o->config_path, &fresh) != LS_OK) {
        ls_log(LS_LOG_WARNING, "reload failed: keeping the running configuration");
        return LS_ECONF;
    }
    if (memcmp(&fresh.listen, &o->conf.listen, sizeof fresh.listen) != 0 ||
        memcmp(&fresh.http_listen, &o->conf.http_listen, sizeof fresh.http_listen) != 0 ||
        fresh.chunk_size != o->conf.chunk_size)
        ls_log(LS_LOG_WARNING, "listen, http_listen and chunk_size changes need a restart");
    ls_media_conf_apply(&fresh, true, &srv_cfg, &hub_cfg);
    ls_log_set_level(fresh.log_level);
    ls_server_set_config(o->srv, &srv_cfg);
    ls_hub_set_config(o->hub, &hub_cfg);
    ls_http_set_node_id(o->http, fresh.node_id);
    /* The server now borrows strings from `fresh`; the old ones can go. */
    ls_config_free(ls_spd_schema, &o->conf);
    o->conf = fresh;
    o->srv_cfg = srv_cfg;
    o->hub_cfg = hub_cfg;
    return LS_OK;
}

void spd_origin_stop(struct spd_origin *o)
{
    ls_server_shutdown(o->srv);
    ls_http_free(o->http);
    o->http = NULL;
}

void spd_origin_status(struct spd_origin *o, char *out, size_t cap)
{
    snprintf(out, cap, "%zu streams, %zu subscribers, %u RTMP connections",
             ls_hub_stream_count(o->hub), ls_hub_subscriber_count(o->hub),
             ls_server_session_count(o->srv));
}

void spd_origin_free(struct spd_origin *o)
{
    if (o == NULL)
        return;
    ls_http_free(o->http);
    ls_server_free(o->srv);
    ls_hub_free(o->hub);
    ls_config_free(ls_spd_schema, &o->conf);
    free(o->config_path);
    free(o);
}
