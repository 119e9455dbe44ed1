/* net.c — resolving, converting, listening and connecting (see net.h). */
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>

#include "libstream/addr.h"
#include "libstream/net.h"

int ls_net_resolve(const char *hostport, bool passive, struct sockaddr_storage *out,
                   socklen_t *out_len)
{
    struct ls_addr addr;
    struct addrinfo hints, *res = NULL;
    char port[8];
    const char *host;

    if (ls_addr_parse(hostport, passive, &addr) != LS_OK)
        return LS_EINVAL;
    memset(&hints, 0, sizeof hints);
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = passive ? AI_PASSIVE : 0;
    host = addr.host;
    if (passive && (host[0] == '\0' || strcmp(host, "*") == 0)) {
        host = NULL;
        hints.ai_family = AF_INET;
    }
    snprintf(port, sizeof port, "%u", addr.port);
    if (getaddrinfo(host, port, &hints, &res) != 0 || res == NULL)
        return LS_ENOTFOUND;
    memcpy(out, res->ai_addr, res->ai_addrlen);
    *out_len = res->ai_addrlen;
    freeaddrinfo(res);
    return LS_OK;
}

int ls_net_listen(const struct sockaddr *sa, socklen_t len, int backlog)
{
    int fd = socket(sa->sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    int one = 1;

    if (fd == -1)
        return -1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (bind(fd, sa, len) == -1 || listen(fd, backlog) == -1) {
        int saved = errno;

        close(fd);
        errno = saved;
        return -1;
    }
    return fd;
}

int ls_net_connect(const struct sockaddr *sa, socklen_t len)
{
    int fd = socket(sa->sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    int one = 1;

    if (fd == -1)
        return -1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (connect(fd, sa, len) == -1 && errno != EINPROGRESS) {
        int saved = errno;

        close(fd);
        errno = saved;
        return -1;
    }
    return fd;
}

int ls_net_sockaddr(const struct ls_addr *a, struct sockaddr_storage *ss, socklen_t *len)
{
    memset(ss, 0, sizeof *ss);
    if (a->port != 0) {
        struct sockaddr_in *s4 = (struct sockaddr_in *)ss;
        struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;

        if (inet_pton(AF_INET, a->host, &s4->sin_addr) == 1) {
            s4->sin_family = AF_INET;
            s4->sin_port = htons(a->port);
            *len = sizeof *s4;
            return LS_OK;
        }
        if (inet_pton(AF_INET6, a->host, &s6->sin6_addr) == 1) {
            s6->sin6_family = AF_INET6;
            s6->sin6_port = htons(a->port);
            *len = sizeof *s6;
            return LS_OK;
        }
    }
    memset(ss, 0, sizeof *ss);
    return LS_EINVAL;
}

void ls_net_format(const struct sockaddr *sa, char *out, size_t cap)
{
    char host[INET6_ADDRSTRLEN] = "?";

    if (sa->sa_family == AF_INET) {
        const struct sockaddr_in *sin = (const struct sockaddr_in *)sa;

        inet_ntop(AF_INET, &sin->sin_addr, host, sizeof host);
        snprintf(out, cap, "%s:%u", host, ntohs(sin->sin_port));
    } else if (sa->sa_family == AF_INET6) {
        const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)sa;

        inet_ntop(AF_INET6, &sin6->sin6_addr, host, sizeof host);
        snprintf(out, cap, "[%s]:%u", host, ntohs(sin6->sin6_port));
    } else {
        snprintf(out, cap, "unknown");
    }
}

void ls_net_format_host(const struct sockaddr *sa, char *out, size_t cap)
{
    const void *a = sa->sa_family == AF_INET ? (const void *)&((const struct sockaddr_in *)sa)->sin_addr
                    : sa->sa_family == AF_INET6
                        ? (const void *)&((const struct sockaddr_in6 *)sa)->sin6_addr
                        : NULL;

    if (cap == 0)
        return;
    out[0] = '\0';
    if (a == NULL || inet_ntop(sa->sa_family, a, out, (socklen_t)cap) == NULL)
        out[0] = '\0';
}

void ls_net_set_dead_peer_timeout(int fd, unsigned timeout_ms)
{
    int on = 1;
    int idle = (int)(timeout_ms / 3000) > 0 ? (int)(timeout_ms / 3000) : 1;
    int intvl = idle;
    int cnt = 2;
    unsigned user_timeout = timeout_ms;

    if (timeout_ms == 0)
        return;
    (void)setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &on, sizeof on);
    (void)setsockopt(fd, IPPROTO_TCP, TCP_KEEPIDLE, &idle, sizeof idle);
    (void)setsockopt(fd, IPPROTO_TCP, TCP_KEEPINTVL, &intvl, sizeof intvl);
    (void)setsockopt(fd, IPPROTO_TCP, TCP_KEEPCNT, &cnt, sizeof cnt);
    (void)setsockopt(fd, IPPROTO_TCP, TCP_USER_TIMEOUT, &user_timeout, sizeof user_timeout);
}
