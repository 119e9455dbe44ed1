/*
 * Unit tests for http.c's bounds on connections: http_max_connections counts every
 * connection from accept to close, a connection that does not deliver its request
 * headers within http_request_timeout is closed (a slowloris client that sends a byte
 * now and then included), each connection serves one request, and a streamed answer lasts
 * as long as it streams, with its handler told of the close through ls_http_set_closecb.
 *
 * The server is a real ls_http on loopback; clients are plain sockets written and read
 * by the test while it drives the event loop.
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
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <cmocka.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>

#include "libstream/http.h"
#include "libstream/log.h"
#include "support/evloop.h"
#include "support/logcapture.h"

static struct event_base *base;
static struct ls_http *http;
static uint16_t port;

static int setup(void **state)
{
    char listen[64];

    (void)state;
    logcapture_start();
    base = event_base_new();
    port = evloop_free_port("127.0.0.1");
    snprintf(listen, sizeof listen, "127.0.0.1:%u", port);
    http = ls_http_new(base, listen, "spd", "sp-1");
    return base != NULL && http != NULL ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    ls_http_free(http);
    event_base_free(base);
    logcapture_stop();
    return 0;
}

/* A connected client socket (non-blocking). */
static int client(void)
{
    struct sockaddr_in sa = { .sin_family = AF_INET };
    int fd = socket(AF_INET, SOCK_STREAM, 0);

    assert_true(fd >= 0);
    sa.sin_port = htons(port);
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof sa), 0);
    assert_int_equal(fcntl(fd, F_SETFL, O_NONBLOCK), 0);
    return fd;
}

static void client_send(int fd, const char *text)
{
    assert_int_equal(send(fd, text, strlen(text), 0), (ssize_t)strlen(text));
}

/* Reads what is there; true once the server closed the connection. */
static bool client_gone(int fd, char *got, size_t cap)
{
    char buf[4096];
    ssize_t n;

    for (;;) {
        n = recv(fd, buf, sizeof buf, 0);
        if (n == 0 || (n == -1 && errno == ECONNRESET))
            return true;
        if (n == -1)
            return false;
        if (got != NULL) {
            size_t len = strlen(got);

            snprintf(got + len, cap - len, "%.*s", (int)n, buf);
        }
    }
}

static int watched_fd;

static bool watched_gone(void)
{
    return client_gone(watched_fd, NULL, 0);
}

/* Connections beyond http_max_connections are closed at once; the count follows closes. */
static void test_connection_cap(void **state)
{
    int fds[5], i, extra;

    (void)state;
    ls_http_set_limits(http, 3, 10000);
    for (i = 0; i < 5; i++) {
        fds[i] = client();
        evloop_run_for(base, 20);
    }
    for (i = 0; i < 3; i++)
        assert_false(client_gone(fds[i], NULL, 0));
    for (i = 3; i < 5; i++) {
        watched_fd = fds[i];
        EVLOOP_WAIT(base, watched_gone(), 3000);
        assert_true(watched_gone());
    }
    assert_int_equal(ls_http_connection_count(http), 3);
    assert_true(logcapture_has("http: refused: http_max_connections (3) reached"));
    /* one leaves: room for one more */
    close(fds[0]);
    EVLOOP_WAIT(base, ls_http_connection_count(http) == 2, 3000);
    assert_int_equal(ls_http_connection_count(http), 2);
    extra = client();
    evloop_run_for(base, 50);
    assert_false(client_gone(extra, NULL, 0));
    assert_int_equal(ls_http_connection_count(http), 3);
    close(extra);
    for (i = 1; i < 5; i++)
        close(fds[i]);
    EVLOOP_WAIT(base, ls_http_connection_count(http) == 0, 3000);
    assert_int_equal(ls_http_connection_count(http), 0);
}

/* A client that sends its request one byte at a time, never finishing the headers, is
 * closed http_request_timeout after it connected, though it never stops sending. */
static void test_request_deadline(void **state)
{
    static const char req[] = "GET /api/v1/health HTTP/1.1\r\nHost: x\r\nX-Slow: ";
    uint64_t end;
    size_t i = 0;
    int fd;

    (void)state;
    ls_http_set_limits(http, 100, 300);
    fd = client();
    end = evloop_now_ms() + 5000;
    while (!client_gone(fd, NULL, 0) && evloop_now_ms() < end) {
        char c = i < sizeof req - 1 ? req[i] : 'a';

        i++;
        if (send(fd, &c, 1, MSG_NOSIGNAL) != 1)
            break;
        evloop_run_for(base, 50);
    }
    assert_true(client_gone(fd, NULL, 0));
    assert_true(i >= 5);
    assert_true(logcapture_has("http: no request within http_request_timeout (300 ms); closing"));
    close(fd);
    EVLOOP_WAIT(base, ls_http_connection_count(http) == 0, 3000);
    assert_int_equal(ls_http_connection_count(http), 0);
}

/* A complete request is answered and its connection closed (one request each), even
 * when the client asked to keep it alive; the deadline then no longer matters. */
static void test_one_request_per_connection(void **state)
{
    char got[8192] = "";
    int fd;

    (void)state;
    ls_http_set_limits(http, 100, 300);
    fd = client();
    client_send(fd, "GET /api/v1/health HTTP/1.1\r\nHost: x\r\nConnection: keep-alive\r\n\r\n");
    watched_fd = fd;
    EVLOOP_WAIT(base, client_gone(fd, got, sizeof got), 3000);
    assert_non_null(strstr(got, "HTTP/1.1 200 OK"));
    assert_non_null(strstr(got, "Connection: close"));
    assert_non_null(strstr(got, "\"status\":\"ok\""));
    assert_false(logcapture_has("no request within"));
    close(fd);
    EVLOOP_WAIT(base, ls_http_connection_count(http) == 0, 3000);
    assert_int_equal(ls_http_connection_count(http), 0);
}

/* ---- a streaming handler ---- */

struct streamer {
    struct evhttp_request *req;
    struct event *tick;
    int chunks;
    int closes;
};

static struct streamer st;

static void stream_closed(struct evhttp_connection *evcon, void *arg)
{
    struct streamer *s = arg;

    (void)evcon;
    s->closes++;
    /* a request the peer left unfinished is ours to end (as httpflv.c does) */
    if (s->req != NULL && evhttp_request_get_connection(s->req) == NULL)
        evhttp_send_reply_end(s->req);
    s->req = NULL;
    event_del(s->tick);
}

static void stream_tick(evutil_socket_t fd, short what, void *arg)
{
    struct streamer *s = arg;
    struct evbuffer *b = evbuffer_new();
    struct timeval tv = { 0, 100000 };

    (void)fd;
    (void)what;
    if (s->req == NULL) {
        evbuffer_free(b);
        return;
    }
    evbuffer_add_printf(b, "chunk%d;", s->chunks++);
    evhttp_send_reply_chunk(s->req, b);
    evbuffer_free(b);
    if (s->chunks == 10) {
        ls_http_set_closecb(http, evhttp_request_get_connection(s->req), NULL, NULL);
        evhttp_send_reply_end(s->req);
        s->req = NULL;
        return;
    }
    evtimer_add(s->tick, &tv);
}

static void stream_handler(struct evhttp_request *req, void *arg)
{
    struct streamer *s = arg;
    struct timeval tv = { 0, 100000 };

    s->req = req;
    s->chunks = 0;
    ls_http_set_closecb(http, evhttp_request_get_connection(req), stream_closed, s);
    evhttp_send_reply_start(req, 200, "OK");
    evtimer_add(s->tick, &tv);
}

/* An answer streamed for 1 s is not cut by a 300 ms request deadline; a client that
 * leaves during a stream is reported to the handler, and the count goes back to 0. */
static void test_streaming_not_cut(void **state)
{
    char got[8192] = "";
    int fd;

    (void)state;
    memset(&st, 0, sizeof st);
    st.tick = evtimer_new(base, stream_tick, &st);
    assert_int_equal(ls_http_route(http, "/stream", stream_handler, &st), LS_OK);
    ls_http_set_limits(http, 100, 300);
    fd = client();
    client_send(fd, "GET /stream HTTP/1.1\r\nHost: x\r\n\r\n");
    EVLOOP_WAIT(base, client_gone(fd, got, sizeof got), 5000);
    assert_non_null(strstr(got, "chunk0;"));
    assert_non_null(strstr(got, "chunk9;"));
    assert_int_equal(st.closes, 0);
    close(fd);
    EVLOOP_WAIT(base, ls_http_connection_count(http) == 0, 3000);
    /* leaving in the middle */
    fd = client();
    client_send(fd, "GET /stream HTTP/1.1\r\nHost: x\r\n\r\n");
    got[0] = '\0';
    EVLOOP_WAIT(base, (client_gone(fd, got, sizeof got), strstr(got, "chunk2;") != NULL), 5000);
    assert_non_null(strstr(got, "chunk2;"));
    close(fd);
    EVLOOP_WAIT(base, st.closes == 1, 3000);
    assert_int_equal(st.closes, 1);
    EVLOOP_WAIT(base, ls_http_connection_count(http) == 0, 3000);
    assert_int_equal(ls_http_connection_count(http), 0);
    event_free(st.tick);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_connection_cap, setup, teardown),
        cmocka_unit_test_setup_teardown(test_request_deadline, setup, teardown),
        cmocka_unit_test_setup_teardown(test_one_request_per_connection, setup, teardown),
        cmocka_unit_test_setup_teardown(test_streaming_not_cut, setup, teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
