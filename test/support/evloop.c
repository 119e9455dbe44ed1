/*
 * evloop.c — bounded event-loop driving for in-process tests (see evloop.h).
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#include "support/evloop.h"

uint64_t evloop_now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static void evloop_wake(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    (void)arg;
}

void evloop_once(struct event_base *base, unsigned max_ms)
{
    /* EVLOOP_ONCE blocks until something is active: this timer bounds the wait. */
    struct event *wake = evtimer_new(base, evloop_wake, NULL);
    struct timeval tv = { (time_t)(max_ms / 1000), (suseconds_t)(max_ms % 1000) * 1000 };

    if (wake != NULL)
        evtimer_add(wake, &tv);
    event_base_loop(base, EVLOOP_ONCE);
    if (wake != NULL)
        event_free(wake);
}

void evloop_run_for(struct event_base *base, unsigned ms)
{
    uint64_t end = evloop_now_ms() + ms;

    while (evloop_now_ms() < end)
        evloop_once(base, 10);
}

uint16_t evloop_free_port(const char *ip)
{
    struct sockaddr_in sa;
    socklen_t len = sizeof sa;
    uint16_t port = 0;
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

    if (fd == -1)
        return 0;
    memset(&sa, 0, sizeof sa);
    sa.sin_family = AF_INET;
    if (inet_pton(AF_INET, ip, &sa.sin_addr) == 1 &&
        bind(fd, (struct sockaddr *)&sa, sizeof sa) == 0 &&
        getsockname(fd, (struct sockaddr *)&sa, &len) == 0)
        port = ntohs(sa.sin_port);
    close(fd);
    return port;
}
