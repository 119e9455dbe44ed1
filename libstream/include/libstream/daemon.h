/*
 * daemon.h — the lifecycle every daemon shares: signals, reload, systemd notification and
 * watchdog, around one event loop (docs/interface.md "Command line").
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

struct ls_conf_key;

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

/*
 * A role as main() sees it. ls_daemon_main does the rest: the command line (-c -t -V -h),
 * `-t` validation against `schema` (and `validate`), logging, sd_notify, the event loop,
 * signals.
 */
struct ls_role {
    const char *name;                   /* "smd" | "spd" | "epd" */
    const struct ls_conf_key *schema;   /* for -t */
    size_t conf_size;                   /* size of the struct the schema fills */
    /* Optional: what the schema cannot say about a loaded config (smd: node_id must be
     * one the registry protocol carries). LS_OK, or LS_ECONF with "FILE:LINE: message" in
     * `err`. Run by -t after the schema. */
    int (*validate)(const void *conf, const char *path, char *err, size_t errlen);
    /* Loads the config at `path` and starts serving; NULL after logging why. */
    void *(*start)(struct event_base *base, const char *path);
    struct ls_daemon_ops ops;           /* reload / stop / status on the started role */
    void (*free)(void *role);
};
/* The whole of a daemon's main(): returns the process exit status. */
int ls_daemon_main(int argc, char **argv, const struct ls_role *role);

struct ls_daemon *ls_daemon_new(struct event_base *base, const char *name,
                                const struct ls_daemon_ops *ops, void *arg);
/* Sends READY=1 and runs the loop until stopped. Returns the process exit status. */
int ls_daemon_run(struct ls_daemon *d);
void ls_daemon_free(struct ls_daemon *d);

#endif /* LIBSTREAM_DAEMON_H */
