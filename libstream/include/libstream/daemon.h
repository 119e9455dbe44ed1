/*
 * daemon.h — the lifecycle every daemon shares: signals, reload, systemd notification and
 * watchdog, around one event loop (INTERFACE.md "Command line").
 *
 *   SIGTERM/SIGINT → STOPPING=1, role stop (stop accepting, unregister, close), then the
 *                    loop exits after a 300 ms grace for queued goodbyes
 *   SIGHUP         → RELOADING=1, role reload (an invalid file keeps the old config),
 *                    READY=1
 *   watchdog       → WATCHDOG=1 at half of WATCHDOG_USEC; STATUS= every 5 s
 */
#ifndef LIBSTREAM_DAEMON_H
#define LIBSTREAM_DAEMON_H

#include <stddef.h>

struct event_base;
struct ls_daemon;

struct ls_daemon_ops {
    /* SIGHUP. Returns LS_OK when the new config is in force; on failure it has logged why
     * and the old config stays. */
    int (*reload)(void *arg);
    /* SIGTERM/SIGINT: stop accepting and close everything. */
    void (*stop)(void *arg);
    /* One short line for systemd's STATUS= ("3 streams, 120 viewers"). */
    void (*status)(char *out, size_t cap, void *arg);
};

struct ls_daemon *ls_daemon_new(struct event_base *base, const char *name,
                                const struct ls_daemon_ops *ops, void *arg);
/* Sends READY=1 and runs the loop until stopped. Returns the process exit status. */
int ls_daemon_run(struct ls_daemon *d);
void ls_daemon_free(struct ls_daemon *d);

#endif /* LIBSTREAM_DAEMON_H */
