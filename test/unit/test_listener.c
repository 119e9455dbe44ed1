/*
 * Unit tests for listener.c: out of file descriptors, accept(2) fails with the connection
 * still queued; the listener must pause (one log line) instead of spinning on a socket
 * that stays readable, and accept the queued connections once descriptors are free again.
 *
 * Descriptors run out for real: the soft RLIMIT_NOFILE is lowered to just above what the
 * test holds and the rest is filled with dup(); the clients' sockets are made beforehand.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>
#include <cmocka.h>

#include <event2/event.h>

#include "libstream/listener.h"
#include "libstream/log.h"
#include "support/evloop.h"

#define CLIENTS 3

static unsigned accepted, failure_lines;

static void accept_cb(struct evconnlistener *l, evutil_socket_t fd, struct sockaddr *sa,
                      int salen, void *arg)
{
    (void)l;
    (void)sa;
    (void)salen;
    (void)arg;
    accepted++;
    close(fd);
}

static void log_sink(int level, const char *line, void *arg)
{
    (void)level;
    (void)arg;
    if (strstr(line, "accept on ") != NULL && strstr(line, "failed") != NULL)
        failure_lines++;
}

static void test_emfile_pauses(void **state)
{
    struct event_base *base = event_base_new();
    struct ls_listener *l;
    struct sockaddr_in sa = { .sin_family = AF_INET };
    struct rlimit old, low;
    int clients[CLIENTS], fillers[4096], nfill = 0, i, top = 0;
    uint16_t port = evloop_free_port("127.0.0.1");
    char listen[64];

    (void)state;
    assert_non_null(base);
    snprintf(listen, sizeof listen, "127.0.0.1:%u", port);
    l = ls_listener_new(base, listen, 16, accept_cb, NULL);
    assert_non_null(l);
    ls_log_set_sink(log_sink, NULL);
    for (i = 0; i < CLIENTS; i++) {
        clients[i] = socket(AF_INET, SOCK_STREAM, 0);
        assert_true(clients[i] >= 0);
    }
    /* every descriptor number below the limit in use: accept has none left */
    for (i = 0; i < 1024; i++)
        if (fcntl(i, F_GETFD) != -1)
            top = i;
    assert_int_equal(getrlimit(RLIMIT_NOFILE, &old), 0);
    low = old;
    low.rlim_cur = (rlim_t)top + 1 + 64;
    assert_int_equal(setrlimit(RLIMIT_NOFILE, &low), 0);
    while (nfill < (int)(sizeof fillers / sizeof fillers[0])) {
        int fd = dup(0);

        if (fd == -1) {
            assert_true(errno == EMFILE);
            break;
        }
        fillers[nfill++] = fd;
    }
    sa.sin_port = htons(port);
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    for (i = 0; i < CLIENTS; i++)
        assert_int_equal(connect(clients[i], (struct sockaddr *)&sa, sizeof sa), 0);
    /* the connections wait in the backlog; the listener must not spin meanwhile */
    evloop_run_for(base, 300);
    assert_int_equal(accepted, 0);
    assert_int_equal(ls_listener_pauses(l), 1);
    assert_int_equal(failure_lines, 1);
    /* descriptors come back: after the pause the queued connections are accepted */
    while (nfill > 0)
        close(fillers[--nfill]);
    assert_int_equal(setrlimit(RLIMIT_NOFILE, &old), 0);
    EVLOOP_WAIT(base, accepted == CLIENTS, 5000);
    assert_int_equal(accepted, CLIENTS);
    assert_int_equal(ls_listener_pauses(l), 1);
    for (i = 0; i < CLIENTS; i++)
        close(clients[i]);
    ls_log_set_sink(NULL, NULL);
    ls_listener_free(l);
    event_base_free(base);
}

static void test_listen_failures(void **state)
{
    struct event_base *base = event_base_new();

    (void)state;
    ls_log_set_sink(log_sink, NULL);
    assert_null(ls_listener_new(base, "not an address", 16, accept_cb, NULL));
    ls_listener_free(NULL);
    ls_log_set_sink(NULL, NULL);
    event_base_free(base);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_emfile_pauses),
        cmocka_unit_test(test_listen_failures),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
