/*
 * spd — the livecluster origin. Broadcasters publish here; viewers and edges play from
 * here; in a cluster it registers its streams with smd and pulls other origins' streams.
 *
 * main: command line, config check, logging, the event loop and the daemon lifecycle.
 * The role itself lives in origin.c.
 */
#include <stdio.h>
#include <stdlib.h>

#include <event2/event.h>

#include "libstream/args.h"
#include "libstream/config.h"
#include "libstream/daemon.h"
#include "libstream/log.h"
#include "libstream/mediaconf.h"
#include "libstream/notify.h"
#include "spd.h"

static int spd_reload(void *arg)
{
    return spd_origin_reload(arg);
}

static void spd_stop(void *arg)
{
    spd_origin_stop(arg);
}

static void spd_status(char *out, size_t cap, void *arg)
{
    spd_origin_status(arg, out, cap);
}

static const struct ls_daemon_ops spd_daemon_ops = {
    .reload = spd_reload,
    .stop = spd_stop,
    .status = spd_status,
};

/* -t: validate the file and say so; FILE:LINE: message on stderr when invalid. */
static int spd_check_config(const char *path)
{
    struct ls_media_conf conf;
    char err[512];

    if (ls_config_load(path, ls_spd_schema, &conf, err, sizeof err) != LS_OK) {
        fprintf(stderr, "%s\n", err);
        return 1;
    }
    ls_config_free(ls_spd_schema, &conf);
    printf("%s: configuration is valid\n", path);
    return 0;
}

int main(int argc, char **argv)
{
    struct ls_args args;
    struct event_base *base;
    struct spd_origin *origin;
    struct ls_daemon *daemon;
    int status;

    if (ls_args_parse(argc, argv, "spd", &args) != LS_OK)
        return args.exit_status;
    if (args.check_only)
        return spd_check_config(args.config_path);
    ls_log_init("spd");
    if (ls_notify_init() != LS_OK)
        ls_log(LS_LOG_WARNING, "NOTIFY_SOCKET is unusable: running without systemd notification");
    base = event_base_new();
    if (base == NULL) {
        ls_log(LS_LOG_ERR, "cannot create the event loop");
        return 1;
    }
    origin = spd_origin_new(base, args.config_path);
    if (origin == NULL) {
        event_base_free(base);
        return 1;
    }
    daemon = ls_daemon_new(base, "spd", &spd_daemon_ops, origin);
    if (daemon == NULL) {
        spd_origin_free(origin);
        event_base_free(base);
        return 1;
    }
    status = ls_daemon_run(daemon);
    spd_origin_free(origin);
    ls_daemon_free(daemon);
    event_base_free(base);
    return status;
}
