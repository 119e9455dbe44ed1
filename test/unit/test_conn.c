/*
 * Unit tests for conn.c's deferred flush and close (ls_conn_flush_later,
 * ls_conn_close_later): nothing happens during the call, everything on the next loop turn,
 * a pending flush goes out before a deferred close, the first close request counts.
 *
 * The connection is a server-role ls_conn on one end of an AF_UNIX socketpair; the test
 * reads the other end directly. The rest of conn.c (handshake, chunk stream, control) is
 * exercised through sessions in test_session.c.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <cmocka.h>

#include <event2/event.h>

#include "libstream/conn.h"
#include "libstream/frame.h"

struct owner {
    unsigned closes;
    int err;
    const char *why;
};

struct fixture {
    struct event_base *base;
    struct ls_conn *conn;
    int peer;
    struct owner owner;
};

static void on_message(struct ls_conn *c, void *owner, struct ls_frame *msg)
{
    (void)c;
    (void)owner;
    (void)msg;
}

static void on_close(struct ls_conn *c, void *arg, int err, const char *why)
{
    struct owner *o = arg;

    (void)c;
    o->closes++;
    o->err = err;
    o->why = why;
}

static const struct ls_conn_ops ops = { .on_message = on_message, .on_close = on_close };

static int setup(void **state)
{
    static struct fixture f;
    struct ls_conn_config cfg;
    int sv[2];

    memset(&f, 0, sizeof f);
    f.base = event_base_new();
    if (f.base == NULL || socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == -1)
        return -1;
    ls_conn_config_defaults(&cfg);
    f.conn = ls_conn_new(f.base, sv[0], LS_HS_SERVER, &cfg, &ops, &f.owner);
    f.peer = sv[1];
    if (f.conn == NULL || ls_conn_start(f.conn) != LS_OK)
        return -1;
    *state = &f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;

    if (f->owner.closes == 0)
        ls_conn_close(f->conn, LS_OK, "test over");
    close(f->peer);
    event_base_free(f->base);
    return 0;
}

static void queue(struct fixture *f, const char *text)
{
    struct ls_frame *blob = ls_frame_new_copy(0, 0, 0, (const uint8_t *)text,
                                              (uint32_t)strlen(text));

    assert_non_null(blob);
    assert_int_equal(ls_conn_send_blob(f->conn, blob, LS_OUTQ_KEEP), LS_OK);
}

/* What the peer can read now, without waiting, as a string ("" when nothing). */
static const char *peer_read(struct fixture *f)
{
    static char buf[256];
    ssize_t n = recv(f->peer, buf, sizeof buf - 1, MSG_DONTWAIT);

    if (n == -1) {
        assert_true(errno == EAGAIN || errno == EWOULDBLOCK);
        n = 0;
    }
    buf[n] = '\0';
    return buf;
}

/* One loop turn (1 = nothing left to run: the connection is gone). */
static void turn(struct fixture *f)
{
    assert_int_not_equal(event_base_loop(f->base, EVLOOP_NONBLOCK), -1);
}

static void test_flush_later(void **state)
{
    struct fixture *f = *state;

    queue(f, "hello");
    ls_conn_flush_later(f->conn);
    ls_conn_flush_later(f->conn); /* twice is one flush */
    assert_string_equal(peer_read(f), "");
    turn(f);
    assert_string_equal(peer_read(f), "hello");
    assert_int_equal(f->owner.closes, 0);
    /* and again later: the request is not spent for good */
    queue(f, "again");
    ls_conn_flush_later(f->conn);
    turn(f);
    assert_string_equal(peer_read(f), "again");
}

static void test_close_later(void **state)
{
    struct fixture *f = *state;

    ls_conn_close_later(f->conn, LS_EPROTO, "first", false);
    ls_conn_close_later(f->conn, LS_OK, "second", true); /* the first request counts */
    ls_conn_flush_later(f->conn);                        /* ignored: closing */
    assert_int_equal(f->owner.closes, 0);
    turn(f);
    assert_int_equal(f->owner.closes, 1);
    assert_int_equal(f->owner.err, LS_EPROTO);
    assert_string_equal(f->owner.why, "first");
}

/* A flush asked for before a deferred (immediate) close still goes out first. */
static void test_flush_then_close_later(void **state)
{
    struct fixture *f = *state;

    queue(f, "reply");
    ls_conn_flush_later(f->conn);
    ls_conn_close_later(f->conn, LS_EAUTH, "refused", false);
    assert_string_equal(peer_read(f), "");
    turn(f);
    assert_int_equal(f->owner.closes, 1);
    assert_int_equal(f->owner.err, LS_EAUTH);
    assert_string_equal(peer_read(f), "reply");
}

/* Without a flush request, an immediate close drops the queue; after_flush keeps it. */
static void test_close_later_after_flush(void **state)
{
    struct fixture *f = *state;

    queue(f, "goodbye");
    ls_conn_close_later(f->conn, LS_OK, "done", true);
    assert_string_equal(peer_read(f), "");
    assert_int_equal(f->owner.closes, 0);
    turn(f);
    turn(f);
    assert_int_equal(f->owner.closes, 1);
    assert_int_equal(f->owner.err, LS_OK);
    assert_string_equal(f->owner.why, "done");
    assert_string_equal(peer_read(f), "goodbye");
}

static void test_close_later_drops_queue(void **state)
{
    struct fixture *f = *state;

    queue(f, "lost");
    ls_conn_close_later(f->conn, LS_EIO, "gone", false);
    turn(f);
    assert_int_equal(f->owner.closes, 1);
    assert_string_equal(peer_read(f), "");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_flush_later, setup, teardown),
        cmocka_unit_test_setup_teardown(test_close_later, setup, teardown),
        cmocka_unit_test_setup_teardown(test_flush_then_close_later, setup, teardown),
        cmocka_unit_test_setup_teardown(test_close_later_after_flush, setup, teardown),
        cmocka_unit_test_setup_teardown(test_close_later_drops_queue, setup, teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
