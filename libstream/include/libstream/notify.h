/*
 * notify.h — the systemd notification protocol (sd_notify(3), sent by libsystemd).
 *
 * With Type=notify, systemd passes NOTIFY_SOCKET (an AF_UNIX datagram socket: a path, or
 * "@name" for the abstract namespace) and, with WatchdogSec=, WATCHDOG_USEC (and
 * WATCHDOG_PID). The daemon sends newline-separated "KEY=value" assignments, one datagram
 * per state change (docs/interface.md "Command line"):
 *
 *   READY=1                         once listening
 *   STATUS=12 streams, 340 viewers  free-form status for `systemctl status`
 *   WATCHDOG=1                      every ls_notify_watchdog_usec() / 2
 *   RELOADING=1\nMONOTONIC_USEC=N   on SIGHUP, then READY=1 when done (ls_notify_reloading)
 *   STOPPING=1                      on SIGTERM
 *
 * Without NOTIFY_SOCKET every call is a successful no-op, so daemons call these
 * unconditionally. Sends never block (a full socket queue is LS_EIO, to be logged and
 * ignored). State is process-global; single-threaded use only. Nothing here exits.
 */
#ifndef LIBSTREAM_NOTIFY_H
#define LIBSTREAM_NOTIFY_H

#include <stdbool.h>
#include <stdint.h>

#include "libstream/err.h"

/* Longest state string sent (bytes, without NUL); longer ones are refused. */
#define LS_NOTIFY_STATE_MAX 4096

/*
 * Reads NOTIFY_SOCKET, WATCHDOG_USEC and WATCHDOG_PID from the environment (call once at
 * start-up; calling again re-reads them). The watchdog is enabled when WATCHDOG_USEC is a
 * positive decimal and WATCHDOG_PID is unset or equals getpid().
 * Returns LS_OK (also when NOTIFY_SOCKET is unset: notifications are then disabled), or
 * LS_EINVAL when NOTIFY_SOCKET is set but unusable — not "/path" or "@name", or longer than
 * a sockaddr_un path allows — in which case notifications stay disabled.
 */
LS_MUST_CHECK int ls_notify_init(void);

/* True when ls_notify_init() found a usable NOTIFY_SOCKET. */
bool ls_notify_enabled(void);

/*
 * Sends `state` (borrowed) as one datagram. Returns LS_OK (sent, or notifications
 * disabled), LS_EINVAL (empty or longer than LS_NOTIFY_STATE_MAX), or LS_EIO (socket or
 * send failed; errno is left as the failing call set it).
 */
LS_MUST_CHECK int ls_notify(const char *state);
/* printf-style ls_notify(); LS_EINVAL when the formatted state exceeds the bound. */
LS_MUST_CHECK int ls_notifyf(const char *fmt, ...) LS_PRINTF(1, 2);
/* Sends "RELOADING=1\nMONOTONIC_USEC=<CLOCK_MONOTONIC now>" as Type=notify-reload needs. */
LS_MUST_CHECK int ls_notify_reloading(void);

/* The watchdog interval in microseconds, or 0 when no watchdog applies to this process. */
uint64_t ls_notify_watchdog_usec(void);

#endif /* LIBSTREAM_NOTIFY_H */
