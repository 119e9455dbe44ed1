/*
 * smd — the livecluster registry. Every spd keeps a session here and registers the
 * streams its publishers send; spds ask here where a stream lives (docs/protocol.md).
 *
 * main: command line, config check, logging, the event loop and the daemon lifecycle
 * (INTERFACE.md "Command line"). The role lives in registry.c, the HTTP API in api.c.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "libstream/args.h"
#include "libstream/config.h"
#include "libstream/daemon.h"
#include "libstream/http.h"
#include "libstream/log.h"
#include "libstream/notify.h"
#include "libstream/smdproto.h"
#include "smd.h"

struct smd_app {
    struct event_base *base;
    const char *config_path;
    struct smd_conf conf;   /* at a fixed address: the registry borrows it */
    struct smd_registry *reg;
    struct ls_http *http;
};

/*
 * Loads and validates `path`. The protocol carries node ids, so smd's own must be one
 * (the schema only knows "string"). Errors are the one-line "FILE:LINE: message".
 */
static int smd_load(const char *path, struct smd_conf *conf, char *err, size_t errlen)
{
    if (ls_config_load(path, smd_schema, conf, err, errlen) != LS_OK)
        return LS_ECONF;
    if (!ls_smd_node_id_valid(conf->node_id)) {
        snprintf(err, errlen, "%s:0: 'node_id' must be 1..%d characters of [A-Za-z0-9_.-]",
                 path, LS_SMD_NODE_ID_MAX);
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
    ls_http_set_node_id(app->http, fresh.node_id);
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

static const struct ls_daemon_ops smd_daemon_ops = {
    .reload = smd_reload,
    .stop = smd_stop,
    .status = smd_status,
};

/* -t: validate the file and say so; FILE:LINE: message on stderr when invalid. */
static int smd_check_config(const char *path)
{
    struct smd_conf conf;
    char err[512];

    if (smd_load(path, &conf, err, sizeof err) != LS_OK) {
        fprintf(stderr, "%s\n", err);
        return 1;
    }
    ls_config_free(smd_schema, &conf);
    printf("%s: configuration is valid\n", path);
    return 0;
}

static void smd_app_free(struct smd_app *app)
{
    ls_http_free(app->http);
    smd_registry_free(app->reg);
    ls_config_free(smd_schema, &app->conf);
}

static int smd_app_start(struct smd_app *app)
{
    char listen[LS_ADDR_STRLEN], http_listen[LS_ADDR_STRLEN], err[512];

    if (smd_load(app->config_path, &app->conf, err, sizeof err) != LS_OK) {
        ls_log(LS_LOG_ERR, "%s", err);
        return LS_ECONF;
    }
    ls_log_set_level(app->conf.log_level);
    smd_format_addr(&app->conf.listen, listen, sizeof listen);
    smd_format_addr(&app->conf.http_listen, http_listen, sizeof http_listen);
    app->reg = smd_registry_new(app->base, &app->conf);
    if (app->reg == NULL)
        return LS_EIO;
    app->http = ls_http_new(app->base, http_listen, "smd", app->conf.node_id);
    if (app->http == NULL || smd_api_attach(app->http, app->reg) != LS_OK)
        return LS_EIO;
    ls_log(LS_LOG_NOTICE, "smd %s: registry on %s, HTTP on %s, lease %llds%s%s",
           app->conf.node_id, listen, http_listen, (long long)app->conf.lease_seconds,
           app->conf.cluster_secret[0] == '\0' ? ", UNAUTHENTICATED (no cluster_secret)" : "",
           app->conf.allow.n == 0 ? ", any address allowed" : "");
    return LS_OK;
}

int main(int argc, char **argv)
{
    struct ls_args args;
    struct smd_app app;
    struct ls_daemon *daemon;
    int status;

    if (ls_args_parse(argc, argv, "smd", &args) != LS_OK)
        return args.exit_status;
    if (args.check_only)
        return smd_check_config(args.config_path);
    ls_log_init("smd");
    if (ls_notify_init() != LS_OK)
        ls_log(LS_LOG_WARNING, "NOTIFY_SOCKET is unusable: running without systemd notification");
    memset(&app, 0, sizeof app);
    app.config_path = args.config_path;
    app.base = event_base_new();
    if (app.base == NULL) {
        ls_log(LS_LOG_ERR, "cannot create the event loop");
        return 1;
    }
    if (smd_app_start(&app) != LS_OK) {
        smd_app_free(&app);
        event_base_free(app.base);
        return 1;
    }
    daemon = ls_daemon_new(app.base, "smd", &smd_daemon_ops, &app);
    if (daemon == NULL) {
        smd_app_free(&app);
        event_base_free(app.base);
        return 1;
    }
    status = ls_daemon_run(daemon);
    smd_app_free(&app);
    ls_daemon_free(daemon);
    event_base_free(app.base);
    return status;
}
