/*
 * smd — the livecluster registry. Every spd keeps a session here and registers the
 * streams its publishers send; spds ask here where a stream lives (docs/protocol.md).
 *
 * main: command line, config check, logging, the event loop and the daemon lifecycle
 * (docs/interface.md "Command line"). The role lives in registry.c, the HTTP API in api.c.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "libstream/config.h"
#include "libstream/daemon.h"
#include "libstream/http.h"
#include "libstream/log.h"
#include "libstream/smdproto.h"
#include "smd.h"

struct smd_app {
    struct event_base *base;
    const char *config_path;
    struct smd_conf conf;   /* at a fixed address: the registry borrows it */
    struct smd_registry *reg;
    struct ls_http *http;
};

/* What the schema cannot say: the protocol carries node ids, so smd's own must be one
 * (the schema only knows "string"). */
static int smd_validate(const void *c, const char *path, char *err, size_t errlen)
{
    const struct smd_conf *conf = c;

    if (!ls_smd_node_id_valid(conf->node_id)) {
        snprintf(err, errlen, "%s:0: 'node_id' must be 1..%d characters of [A-Za-z0-9_.-]",
                 path, LS_SMD_NODE_ID_MAX);
        return LS_ECONF;
    }
    return LS_OK;
}

/* Loads and validates `path`. Errors are the one-line "FILE:LINE: message". */
static int smd_load(const char *path, struct smd_conf *conf, char *err, size_t errlen)
{
    if (ls_config_load(path, smd_schema, conf, err, errlen) != LS_OK)
        return LS_ECONF;
    if (smd_validate(conf, path, err, errlen) != LS_OK) {
        ls_config_free(smd_schema, conf);
        return LS_ECONF;
    }
    return LS_OK;
}

static void smd_format_addr(const struct ls_addr *a, char *out, size_t cap)
{
    if (ls_addr_format(a, out, cap) != LS_OK)
        snprintf(out, cap, "?");
}

static int smd_reload(void *arg)
{
    struct smd_app *app = arg;
    struct smd_conf fresh;
    char err[512];

    if (smd_load(app->config_path, &fresh, err, sizeof err) != LS_OK) {
        ls_log(LS_LOG_ERR, "%s", err);
        ls_log(LS_LOG_WARNING, "reload failed: keeping the running configuration");
        return LS_ECONF;
    }
    if (memcmp(&fresh.listen, &app->conf.listen, sizeof fresh.listen) != 0 ||
        memcmp(&fresh.http_listen, &app->conf.http_listen, sizeof fresh.http_listen) != 0)
        ls_log(LS_LOG_WARNING, "listen and http_listen changes need a restart");
    ls_log_set_level(fresh.log_level);
    ls_log_set_peer_limit((unsigned)fresh.log_rate_limit, (unsigned)fresh.log_rate_burst);
    ls_log_set_node_id(fresh.node_id);
    ls_http_set_node_id(app->http, fresh.node_id);
    ls_http_set_limits(app->http, (unsigned)fresh.http_max_connections,
                       (unsigned)fresh.http_request_timeout * 1000);
    if (ls_http_set_allow(app->http, &fresh.http_allow) != LS_OK)
        ls_log(LS_LOG_ERR, "out of memory: http_allow keeps its previous value");
    /* The registry reads app->conf at each use; swap the contents in one step. */
    ls_config_free(smd_schema, &app->conf);
    app->conf = fresh;
    smd_registry_reloaded(app->reg);
    return LS_OK;
}

static void smd_stop(void *arg)
{
    struct smd_app *app = arg;

    smd_registry_stop(app->reg);
    ls_http_free(app->http);
    app->http = NULL;
}

static void smd_status(char *out, size_t cap, void *arg)
{
    struct smd_app *app = arg;

    snprintf(out, cap, "%zu nodes, %zu streams, %zu watches",
             smd_registry_node_count(app->reg), smd_registry_stream_count(app->reg),
             smd_registry_watch_count(app->reg));
}

static void smd_app_free(void *arg)
{
    struct smd_app *app = arg;

    ls_http_free(app->http);
    smd_registry_free(app->reg);
    ls_config_free(smd_schema, &app->conf);
    free(app);
}

static void *smd_app_start(struct event_base *base, const char *path)
{
    struct smd_app *app = calloc(1, sizeof *app);
    char listen[LS_ADDR_STRLEN], http_listen[LS_ADDR_STRLEN], err[512];

    if (app == NULL)
        return NULL;
    app->base = base;
    app->config_path = path;
    if (smd_load(app->config_path, &app->conf, err, sizeof err) != LS_OK) {
        ls_log(LS_LOG_ERR, "%s", err);
        free(app);
        return NULL;
    }
    ls_log_set_level(app->conf.log_level);
    ls_log_set_peer_limit((unsigned)app->conf.log_rate_limit, (unsigned)app->conf.log_rate_burst);
    ls_log_set_node_id(app->conf.node_id);
    smd_format_addr(&app->conf.listen, listen, sizeof listen);
    smd_format_addr(&app->conf.http_listen, http_listen, sizeof http_listen);
    app->reg = smd_registry_new(app->base, &app->conf);
    if (app->reg != NULL)
        app->http = ls_http_new(app->base, http_listen, "smd", app->conf.node_id);
    if (app->http == NULL || ls_http_set_allow(app->http, &app->conf.http_allow) != LS_OK ||
        smd_api_attach(app->http, app->reg) != LS_OK) {
        smd_app_free(app);
        return NULL;
    }
    ls_http_set_limits(app->http, (unsigned)app->conf.http_max_connections,
                       (unsigned)app->conf.http_request_timeout * 1000);
    ls_log(LS_LOG_NOTICE, "smd %s: registry on %s, HTTP on %s, lease %llds%s%s",
           app->conf.node_id, listen, http_listen, (long long)app->conf.lease_seconds,
           app->conf.cluster_secret[0] == '\0' ? ", UNAUTHENTICATED (no cluster_secret)" : "",
           app->conf.allow.n == 0 ? ", any address allowed" : "");
    return app;
}

static const struct ls_role smd_role = {
    .name = "smd",
    .schema = smd_schema,
    .conf_size = sizeof(struct smd_conf),
    .validate = smd_validate,
    .start = smd_app_start,
    .ops = { .reload = smd_reload, .stop = smd_stop, .status = smd_status },
    .free = smd_app_free,
};

int main(int argc, char **argv)
{
    return ls_daemon_main(argc, argv, &smd_role);
}
