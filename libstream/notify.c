/*
 * notify.c — sd_notify(3) datagrams over AF_UNIX (see notify.h). Layer: daemon plumbing.
 * Protocol: systemd's sd_notify(3) and "The sd_notify protocol" (systemd.io): one
 * SOCK_DGRAM message of newline-separated KEY=VALUE lines to $NOTIFY_SOCKET.
 *
 *   NOTIFY_SOCKET=/run/systemd/notify   sun_path = "/run/systemd/notify"
 *   NOTIFY_SOCKET=@name                 sun_path = "\0name" (abstract; length is exact)
 *
 * A fresh non-blocking socket per message, as sd_notify() does: messages are rare (a
 * watchdog ping every few seconds), and nothing stays open across fork or reload.
 */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

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

int ls_notify(const char *state)
{
    size_t len = state != NULL ? strlen(state) : 0;
    ssize_t sent;
    int fd, saved;

    if (len == 0 || len > LS_NOTIFY_STATE_MAX)
        return LS_EINVAL;
    if (!g_notify.enabled)
        return LS_OK;
    fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd == -1)
        return LS_EIO;
    do {
        sent = sendto(fd, state, len, MSG_NOSIGNAL, (const struct sockaddr *)&g_notify.addr,
                      g_notify.addrlen);
    } while (sent == -1 && errno == EINTR);
    saved = errno;
    close(fd);
    errno = saved;
    return sent == (ssize_t)len ? LS_OK : LS_EIO;
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
