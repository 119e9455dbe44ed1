/*
 * notify.c — sd_notify(3) through libsystemd (see notify.h). Layer: daemon plumbing.
 * Protocol: systemd's sd_notify(3) and "The sd_notify protocol" (systemd.io): one
 * SOCK_DGRAM message of newline-separated KEY=VALUE lines to $NOTIFY_SOCKET.
 *
 *   NOTIFY_SOCKET=/run/systemd/notify   sun_path = "/run/systemd/notify"
 *   NOTIFY_SOCKET=@name                 sun_path = "\0name" (abstract; length is exact)
 *
 * libsystemd sends the message; what stays here is what it does not promise. It sends on a
 * blocking socket, so a receiver that stops reading would stop the event loop (and with it
 * the watchdog pings meant to report exactly that). Before each message a non-blocking
 * socket connected to the same address asks the kernel whether the receiver's queue has
 * room (poll(2) POLLOUT on a connected AF_UNIX datagram socket is false while the peer's
 * queue is full); only then is sd_notify() called. Another sender could fill the queue in
 * between, but a daemon's messages are rare (a watchdog ping every few seconds) and
 * systemd reads its socket promptly. ls_notify_init validates NOTIFY_SOCKET itself, so a
 * bad value is reported once at start-up, and parses WATCHDOG_USEC itself, so that
 * WATCHDOG_PID is honoured the same way whatever libsystemd's version.
 */
#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <systemd/sd-daemon.h>

#include "libstream/notify.h"

static struct {
    bool enabled;
    struct sockaddr_un addr;
    socklen_t addrlen;
    uint64_t watchdog_usec;
} g_notify;

/* A positive decimal without sign, spaces or overflow; 0 when malformed. */
static uint64_t parse_u64(const char *s)
{
    uint64_t v = 0;

    if (s == NULL || *s == '\0')
        return 0;
    for (; *s != '\0'; s++) {
        uint64_t d = (uint64_t)(*s - '0');

        if (*s < '0' || *s > '9' || v > (UINT64_MAX - d) / 10)
            return 0;
        v = v * 10 + d;
    }
    return v;
}

int ls_notify_init(void)
{
    const char *sock = getenv("NOTIFY_SOCKET");
    const char *pid = getenv("WATCHDOG_PID");
    size_t len;

    memset(&g_notify, 0, sizeof g_notify);
    g_notify.watchdog_usec = parse_u64(getenv("WATCHDOG_USEC"));
    if (pid != NULL && parse_u64(pid) != (uint64_t)getpid())
        g_notify.watchdog_usec = 0; /* meant for another process (our parent) */
    if (sock == NULL || sock[0] == '\0')
        return LS_OK;
    len = strlen(sock);
    if ((sock[0] != '/' && sock[0] != '@') || len < 2 || len > sizeof g_notify.addr.sun_path - 1)
        return LS_EINVAL;
    g_notify.addr.sun_family = AF_UNIX;
    memcpy(g_notify.addr.sun_path, sock, len);
    if (sock[0] == '@') {
        g_notify.addr.sun_path[0] = '\0';
        g_notify.addrlen = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + len);
    } else {
        g_notify.addrlen = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + len + 1);
    }
    g_notify.enabled = true;
    return LS_OK;
}

bool ls_notify_enabled(void) { return g_notify.enabled; }

uint64_t ls_notify_watchdog_usec(void) { return g_notify.watchdog_usec; }

/* LS_OK when a message to the notify socket would be queued now; LS_EIO (errno set: EAGAIN
 * for a full queue, ECONNREFUSED/ENOENT for nobody listening) when it would block or fail. */
static int notify_has_room(void)
{
    struct pollfd pfd;
    int fd, rc, saved;

    fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd == -1)
        return LS_EIO;
    pfd.fd = fd;
    pfd.events = POLLOUT;
    if (connect(fd, (const struct sockaddr *)&g_notify.addr, g_notify.addrlen) == -1) {
        rc = LS_EIO;
    } else {
        do {
            rc = poll(&pfd, 1, 0);
        } while (rc == -1 && errno == EINTR);
        if (rc == 1 && (pfd.revents & POLLOUT) != 0) {
            rc = LS_OK;
        } else {
            errno = rc == -1 ? errno : EAGAIN;
            rc = LS_EIO;
        }
    }
    saved = errno;
    close(fd);
    errno = saved;
    return rc;
}

int ls_notify(const char *state)
{
    size_t len = state != NULL ? strlen(state) : 0;
    int rc;

    if (len == 0 || len > LS_NOTIFY_STATE_MAX)
        return LS_EINVAL;
    if (!g_notify.enabled)
        return LS_OK;
    if (notify_has_room() != LS_OK)
        return LS_EIO;
    /* 0: NOTIFY_SOCKET left the environment since ls_notify_init; nothing to notify. */
    rc = sd_notify(0, state);
    if (rc < 0) {
        errno = -rc;
        return LS_EIO;
    }
    return LS_OK;
}

int ls_notifyf(const char *fmt, ...)
{
    char state[LS_NOTIFY_STATE_MAX + 1];
    va_list ap;
    int n;

    va_start(ap, fmt);
    n = vsnprintf(state, sizeof state, fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= sizeof state)
        return LS_EINVAL;
    return ls_notify(state);
}

int ls_notify_reloading(void)
{
    struct timespec ts;

    if (clock_gettime(CLOCK_MONOTONIC, &ts) == -1)
        return LS_EIO;
    return ls_notifyf("RELOADING=1\nMONOTONIC_USEC=%llu",
                      (unsigned long long)ts.tv_sec * 1000000ULL +
                          (unsigned long long)ts.tv_nsec / 1000ULL);
}
