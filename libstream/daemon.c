/* daemon.c — signals, reload, sd_notify and watchdog around the event loop (see daemon.h). */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "libstream/args.h"
#include "libstream/config.h"
#include "libstream/daemon.h"
#include "libstream/err.h"
#include "libstream/log.h"
#include "libstream/notify.h"

#define DAEMON_STOP_GRACE_MS 300
#define DAEMON_STATUS_PERIOD_S 5

struct ls_daemon {
    struct event_base *base;
    const char *name;
    const struct ls_daemon_ops *ops;
    void *arg;
    struct event *sig_term, *sig_int, *sig_hup;
    struct event *watchdog, *status_timer;
    bool stopping;
};

/* systemd notification is best effort: a failure is worth a debug line, nothing more. */
static void daemon_notify(const char *state)
{
    if (ls_notify(state) != LS_OK)
        ls_log(LS_LOG_DEBUG, "sd_notify %s failed", state);
}

static void daemon_send_status(struct ls_daemon *d)
{
    char line[200];

    if (d->ops->status == NULL || !ls_notify_enabled())
        return;
    d->ops->status(line, sizeof line, d->arg);
    if (ls_notifyf("STATUS=%s", line) != LS_OK)
        ls_log(LS_LOG_DEBUG, "sd_notify STATUS failed");
}

static void daemon_stop_cb(evutil_socket_t sig, short what, void *arg)
{
    struct ls_daemon *d = arg;
    struct timeval grace = { 0, DAEMON_STOP_GRACE_MS * 1000 };

    (void)what;
    if (d->stopping) {
        ls_log(LS_LOG_NOTICE, "second signal: exiting now");
        event_base_loopbreak(d->base);
        return;
    }
    d->stopping = true;
    ls_log(LS_LOG_NOTICE, "%s received: stopping", sig == SIGINT ? "SIGINT" : "SIGTERM");
    daemon_notify("STOPPING=1");
    if (d->ops->stop != NULL)
        d->ops->stop(d->arg);
    /* Goodbyes already queued (unregister messages, closing statuses) get a moment to
     * leave; the role's own deadlines are shorter than the contract's 5 s. */
    event_base_loopexit(d->base, &grace);
}

static void daemon_hup_cb(evutil_socket_t sig, short what, void *arg)
{
    struct ls_daemon *d = arg;

    (void)sig;
    (void)what;
    if (d->stopping || d->ops->reload == NULL)
        return;
    if (ls_notify_reloading() != LS_OK)
        ls_log(LS_LOG_DEBUG, "sd_notify RELOADING failed");
    ls_log(LS_LOG_NOTICE, "SIGHUP received: reloading the configuration");
    if (d->ops->reload(d->arg) == LS_OK)
        ls_log(LS_LOG_NOTICE, "configuration reloaded");
    daemon_notify("READY=1");
    daemon_send_status(d);
}

static void daemon_watchdog_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    (void)arg;
    daemon_notify("WATCHDOG=1");
}

static void daemon_status_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    daemon_send_status(arg);
}

struct ls_daemon *ls_daemon_new(struct event_base *base, const char *name,
                                const struct ls_daemon_ops *ops, void *arg)
{
    struct ls_daemon *d = calloc(1, sizeof *d);

    if (d == NULL)
        return NULL;
    d->base = base;
    d->name = name;
    d->ops = ops;
    d->arg = arg;
    /* A peer closing mid-write must be an error return, not a fatal signal. */
    signal(SIGPIPE, SIG_IGN);
    d->sig_term = evsignal_new(base, SIGTERM, daemon_stop_cb, d);
    d->sig_int = evsignal_new(base, SIGINT, daemon_stop_cb, d);
    d->sig_hup = evsignal_new(base, SIGHUP, daemon_hup_cb, d);
    d->watchdog = event_new(base, -1, EV_PERSIST, daemon_watchdog_cb, d);
    d->status_timer = event_new(base, -1, EV_PERSIST, daemon_status_cb, d);
    if (d->sig_term == NULL || d->sig_int == NULL || d->sig_hup == NULL || d->watchdog == NULL ||
        d->status_timer == NULL || evsignal_add(d->sig_term, NULL) == -1 ||
        evsignal_add(d->sig_int, NULL) == -1 || evsignal_add(d->sig_hup, NULL) == -1) {
        ls_daemon_free(d);
        return NULL;
    }
    return d;
}

int ls_daemon_run(struct ls_daemon *d)
{
    uint64_t wd = ls_notify_watchdog_usec();
    struct timeval status_tv = { DAEMON_STATUS_PERIOD_S, 0 };

    if (wd > 0) {
        struct timeval tv = { (time_t)(wd / 2 / 1000000), (suseconds_t)(wd / 2 % 1000000) };

        event_add(d->watchdog, &tv);
    }
    if (ls_notify_enabled())
        event_add(d->status_timer, &status_tv);
    daemon_notify("READY=1");
    daemon_send_status(d);
    ls_log(LS_LOG_NOTICE, "%s %s running", d->name, LS_VERSION);
    if (event_base_dispatch(d->base) == -1) {
        ls_log(LS_LOG_ERR, "event loop failed");
        return 1;
    }
    ls_log(LS_LOG_NOTICE, "%s stopped", d->name);
    return 0;
}

void ls_daemon_free(struct ls_daemon *d)
{
    if (d == NULL)
        return;
    if (d->sig_term != NULL)
        event_free(d->sig_term);
    if (d->sig_int != NULL)
        event_free(d->sig_int);
    if (d->sig_hup != NULL)
        event_free(d->sig_hup);
    if (d->watchdog != NULL)
        event_free(d->watchdog);
    if (d->status_timer != NULL)
        event_free(d->status_timer);
    free(d);
}

/* -t: validates the file; FILE:LINE: message on stderr when invalid. */
static int daemon_check_config(const struct ls_role *role, const char *path)
{
    void *conf = calloc(1, role->conf_size);
    char err[512];
    int status = 0;

    if (conf == NULL)
        return 1;
    if (ls_config_load(path, role->schema, conf, err, sizeof err) != LS_OK) {
        fprintf(stderr, "%s\n", err);
        status = 1;
    } else {
        if (role->validate != NULL && role->validate(conf, path, err, sizeof err) != LS_OK) {
            fprintf(stderr, "%s\n", err);
            status = 1;
        } else {
            printf("%s: configuration is valid\n", path);
        }
        ls_config_free(role->schema, conf);
    }
    free(conf);
    return status;
}

int ls_daemon_main(int argc, char **argv, const struct ls_role *role)
{
    struct ls_args args;
    struct event_base *base;
    struct ls_daemon *d;
    void *obj;
    int status;

    if (ls_args_parse(argc, argv, role->name, &args) != LS_OK)
        return args.exit_status;
    if (args.check_only)
        return daemon_check_config(role, args.config_path);
    ls_log_init(role->name);
    if (ls_notify_init() != LS_OK)
        ls_log(LS_LOG_WARNING, "NOTIFY_SOCKET is unusable: running without systemd notification");
    base = event_base_new();
    if (base == NULL) {
        ls_log(LS_LOG_ERR, "cannot create the event loop");
        return 1;
    }
    obj = role->start(base, args.config_path);
    if (obj == NULL) {
        event_base_free(base);
        return 1;
    }
    d = ls_daemon_new(base, role->name, &role->ops, obj);
    if (d == NULL) {
        role->free(obj);
        event_base_free(base);
        return 1;
    }
    status = ls_daemon_run(d);
    role->free(obj);
    ls_daemon_free(d);
    event_base_free(base);
    return status;
}
