/*
 * Unit tests for conn.c's deferred flush and close (ls_conn_flush_later,
 * ls_conn_close_later): nothing happens during the call, everything on the next loop turn,
 * a pending flush goes out before a deferred close, the first close request counts. Then
 * the bounds on what a peer can make a connection hold (cumulative acknowledgements,
 * max_control_queue_bytes), holds, and the absolute deadline.
 *
 * The connection is a server-role ls_conn on one end of an AF_UNIX socketpair; the test
 * reads the other end directly, and plays the client's handshake itself where a test
 * needs the chunk stream. The rest of conn.c is exercised through sessions in
 * test_session.c.
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
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

#include "libstream/buf.h"
#include "libstream/chunk.h"
#include "libstream/conn.h"
#include "libstream/control.h"
#include "libstream/frame.h"
#include "libstream/handshake.h"
#include "libstream/rtmp.h"
#include "support/evloop.h"

struct owner {
    unsigned closes;
    int err;
    const char *why;
};

struct fixture {
    struct event_base *base;
    struct ls_conn *conn;
    int fd;   /* the connection's end */
    int peer;
    struct owner owner;
};

/* The configuration the next setup uses (tests that need other bounds set it first). */
static struct ls_conn_config next_cfg;
static bool have_next_cfg;

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
    if (have_next_cfg)
        cfg = next_cfg;
    have_next_cfg = false;
    f.conn = ls_conn_new(f.base, sv[0], LS_HS_SERVER, &cfg, &ops, &f.owner);
    f.fd = sv[0];
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

/* ---- the peer's side of the chunk stream ---- */

static void peer_send(struct fixture *f, const uint8_t *p, size_t n)
{
    while (n > 0) {
        ssize_t w = send(f->peer, p, n, MSG_DONTWAIT);

        if (w == -1) {
            assert_true(errno == EAGAIN || errno == EWOULDBLOCK);
            turn(f); /* the connection reads, making room */
            continue;
        }
        p += w;
        n -= (size_t)w;
    }
}

/* Plays the client's handshake against the connection (driving its loop): afterwards the
 * peer's socket carries the chunk stream. */
static void peer_handshake(struct fixture *f)
{
    struct ls_handshake *hs = ls_handshake_new(LS_HS_CLIENT);
    const uint8_t *out;
    uint8_t buf[4096];
    size_t n;
    int rounds;

    assert_non_null(hs);
    for (rounds = 0; !ls_handshake_done(hs) && rounds < 2000; rounds++) {
        ssize_t r;

        while ((n = ls_handshake_output(hs, &out)) > 0) {
            peer_send(f, out, n);
            ls_handshake_output_consumed(hs, n);
        }
        turn(f);
        r = recv(f->peer, buf, sizeof buf, MSG_DONTWAIT);
        if (r > 0)
            assert_int_equal(ls_handshake_feed(hs, buf, (size_t)r, NULL), r);
    }
    while ((n = ls_handshake_output(hs, &out)) > 0) { /* C2 */
        peer_send(f, out, n);
        ls_handshake_output_consumed(hs, n);
    }
    assert_true(ls_handshake_done(hs));
    ls_handshake_free(hs);
    turn(f);
}

/* Everything the connection sent since the handshake, read through a chunk reader: the
 * number of acknowledgements and the sequence of the last one. */
static void peer_read_acks(struct fixture *f, struct ls_chunk_reader *r, size_t *acks,
                           uint32_t *last)
{
    uint8_t buf[65536];
    ssize_t n;

    for (;;) {
        size_t off = 0;

        turn(f);
        n = recv(f->peer, buf, sizeof buf, MSG_DONTWAIT);
        if (n <= 0)
            break;
        while (off < (size_t)n) {
            struct ls_frame *msg = NULL;
            struct ls_control c;
            ssize_t used = ls_chunk_reader_feed(r, buf + off, (size_t)n - off, &msg, NULL);

            assert_true(used >= 0);
            off += (size_t)used;
            if (msg != NULL && msg->type == LS_MSG_ACK &&
                ls_control_parse(msg, &c, NULL) == LS_OK) {
                (*acks)++;
                *last = c.sequence;
            }
            ls_frame_unref(msg);
        }
    }
}

/*
 * A peer that sets a window of 1 byte (the floor is off here, to see this bound alone)
 * and sends 200 000 bytes of one-byte messages without reading makes the connection queue
 * one acknowledgement, not one per message; once the peer reads, the acknowledgements it
 * gets are cumulative and the last one counts every byte.
 */
static void test_acks_cumulative(void **state)
{
    struct fixture *f = *state;
    struct ls_chunk_reader *r = ls_chunk_reader_new(NULL);
    struct ls_buf b;
    size_t i, acks = 0;
    uint32_t last = 0;
    static const uint8_t first[] = { 0x04, 0, 0, 0, 0, 0, 1, 8, 1, 0, 0, 0, 0xaf };

    peer_handshake(f);
    ls_buf_init(&b, 0);
    ls_control_write_window_ack_size(&b, 1);
    ls_buf_append(&b, first, sizeof first);  /* a one-byte audio message on csid 4, */
    for (i = 0; i < 100000; i++) {          /* then 100 000 more, two bytes each */
        ls_buf_put_u8(&b, 0xc4);
        ls_buf_put_u8(&b, 0xaf);
    }
    assert_int_equal(ls_buf_status(&b), LS_OK);
    peer_send(f, b.data, b.len);
    for (i = 0; i < 20; i++)
        turn(f);
    assert_int_equal(f->owner.closes, 0);
    assert_true(ls_outq_bytes(ls_conn_outq(f->conn)) <= 16); /* at most one ack queued */
    peer_read_acks(f, r, &acks, &last);
    assert_true(acks >= 1);
    assert_int_equal(last, b.len);
    assert_int_equal(ls_outq_bytes(ls_conn_outq(f->conn)), 0);
    ls_buf_free(&b);
    ls_chunk_reader_free(r);
}

static int setup_no_ack_floor(void **state)
{
    ls_conn_config_defaults(&next_cfg);
    next_cfg.chunk.min_ack_window = 0;
    next_cfg.chunk.max_empty_messages = 0;
    have_next_cfg = true;
    return setup(state);
}

static int setup_small_control_queue(void **state)
{
    ls_conn_config_defaults(&next_cfg);
    next_cfg.max_control_queue_bytes = 4096;
    have_next_cfg = true;
    return setup(state);
}

/*
 * Ping requests from a peer that does not read: once the socket is full, at most one
 * answer waits in the queue (the rest are not answered). As long as the answers it skipped
 * stay under max_control_queue_bytes the connection stays; when the peer reads again,
 * answers flow again.
 */
static void test_ping_answers_coalesced(void **state)
{
    struct fixture *f = *state;
    struct ls_chunk_reader *r = ls_chunk_reader_new(NULL);
    struct ls_buf b;
    uint8_t buf[65536];
    size_t i;

    peer_handshake(f);
    ls_buf_init(&b, 0);
    for (i = 0; i < 3000; i++) { /* 3000 skipped answers of 18 bytes < 65536 */
        ls_control_write_ping_request(&b, (uint32_t)i);
        if (i % 500 == 499) {
            peer_send(f, b.data, b.len);
            ls_buf_reset(&b);
            turn(f);
            assert_true(ls_outq_bytes(ls_conn_outq(f->conn)) <= 18);
        }
    }
    for (i = 0; i < 20; i++)
        turn(f);
    assert_int_equal(f->owner.closes, 0);
    assert_true(ls_outq_bytes(ls_conn_outq(f->conn)) <= 18);
    /* the peer reads everything; a new ping is answered again */
    while (recv(f->peer, buf, sizeof buf, MSG_DONTWAIT) > 0)
        turn(f);
    turn(f);
    while (recv(f->peer, buf, sizeof buf, MSG_DONTWAIT) > 0)
        turn(f);
    ls_control_write_ping_request(&b, 777);
    peer_send(f, b.data, b.len);
    turn(f);
    turn(f);
    {
        ssize_t n = recv(f->peer, buf, sizeof buf, MSG_DONTWAIT);
        struct ls_frame *msg = NULL;
        struct ls_control c;

        assert_true(n > 0);
        /* the reader has not seen the earlier answers: skip them, keep the last message */
        assert_true(n >= 18);
        assert_true(ls_chunk_reader_feed(r, buf + n - 18, 18, &msg, NULL) == 18);
        assert_non_null(msg);
        assert_int_equal(ls_control_parse(msg, &c, NULL), LS_OK);
        assert_int_equal(c.event, LS_UC_PING_RESPONSE);
        assert_int_equal(c.timestamp, 777);
        ls_frame_unref(msg);
    }
    ls_buf_free(&b);
    ls_chunk_reader_free(r);
}

/*
 * A ping flood from a peer that never reads: the queue never holds more than one answer,
 * and once the answers it skipped pass max_control_queue_bytes the peer is closed like any
 * other peer that does not read its replies.
 */
static void test_ping_flood_closed(void **state)
{
    struct fixture *f = *state;
    struct ls_buf b;
    int small = 4096;
    size_t i;

    peer_handshake(f);
    /* small socket buffers: the answers back up after a few hundred pings, not 100000 */
    assert_int_equal(setsockopt(f->fd, SOL_SOCKET, SO_SNDBUF, &small, sizeof small), 0);
    assert_int_equal(setsockopt(f->peer, SOL_SOCKET, SO_RCVBUF, &small, sizeof small), 0);
    ls_buf_init(&b, 0);
    for (i = 0; i < 20000 && f->owner.closes == 0; i++) {
        ls_control_write_ping_request(&b, (uint32_t)i);
        if (i % 500 == 499) {
            peer_send(f, b.data, b.len);
            ls_buf_reset(&b);
            turn(f);
            if (f->owner.closes == 0)
                assert_true(ls_outq_bytes(ls_conn_outq(f->conn)) <= 18);
        }
    }
    for (i = 0; i < 20 && f->owner.closes == 0; i++)
        turn(f);
    assert_int_equal(f->owner.closes, 1);
    assert_int_equal(f->owner.err, LS_ELIMIT);
    assert_string_equal(f->owner.why, "peer does not read its replies (max_control_queue_bytes)");
    ls_buf_free(&b);
}

/* A reply queued from outside the connection's callbacks that overflows the bound is
 * refused, and the close waits for the next loop turn (the caller may go on using its
 * session); inside a hold it happens at the release. */
static void test_control_queue_bound_outside_callbacks(void **state)
{
    struct fixture *f = *state;
    uint8_t big[3000];
    int rc = LS_OK;

    memset(big, 'x', sizeof big);
    /* nobody reads the peer's end, so the socket buffer fills first */
    while (rc == LS_OK) {
        rc = ls_conn_send(f->conn, 3, LS_MSG_COMMAND_AMF0, 0, 0, big, sizeof big);
        if (rc == LS_OK)
            ls_conn_flush(f->conn);
    }
    assert_int_equal(rc, LS_ELIMIT);
    assert_int_equal(f->owner.closes, 0);
    turn(f);
    assert_int_equal(f->owner.closes, 1);
    assert_int_equal(f->owner.err, LS_ELIMIT);
}

/* Media (audio, video) is not a reply: the hub bounds it, not this. */
static void test_media_not_counted(void **state)
{
    struct fixture *f = *state;
    uint8_t big[3000];
    int i;

    memset(big, 'v', sizeof big);
    for (i = 0; i < 2000; i++)
        assert_int_equal(ls_conn_send(f->conn, 6, LS_MSG_VIDEO, 0, 1, big, sizeof big), LS_OK);
    assert_int_equal(ls_outq_tracked_bytes(ls_conn_outq(f->conn)), 0);
    assert_true(ls_outq_bytes(ls_conn_outq(f->conn)) > 2000 * sizeof big);
}

/* A close asked for while the connection is held happens at the release. */
static void test_hold_defers_close(void **state)
{
    struct fixture *f = *state;

    ls_conn_hold(f->conn);
    ls_conn_hold(f->conn);
    ls_conn_close(f->conn, LS_EIO, "inside");
    ls_conn_release(f->conn);
    assert_int_equal(f->owner.closes, 0);
    ls_conn_release(f->conn);
    assert_int_equal(f->owner.closes, 1);
    assert_string_equal(f->owner.why, "inside");
}

/* A write that fails from outside the connection's callbacks (here: the test) does not
 * free the connection under the caller: the close follows on the next loop turn. */
static void test_failed_flush_closes_later(void **state)
{
    struct fixture *f = *state;

    signal(SIGPIPE, SIG_IGN);
    close(f->peer);
    f->peer = open("/dev/null", O_RDONLY); /* for the teardown */
    queue(f, "into the void");
    ls_conn_flush(f->conn);
    assert_int_equal(f->owner.closes, 0);
    queue(f, "still usable");     /* the caller may go on using it meanwhile */
    ls_conn_flush(f->conn);
    assert_int_equal(f->owner.closes, 0);
    turn(f);
    assert_int_equal(f->owner.closes, 1);
    assert_int_equal(f->owner.err, LS_EIO);
    assert_string_equal(f->owner.why, "connection reset by peer");
}

static bool owner_closed(struct fixture *f)
{
    return f->owner.closes > 0;
}

/* The deadline is absolute: input does not move it; 0 clears it. */
static void test_deadline(void **state)
{
    struct fixture *f = *state;
    struct ls_buf b;
    uint64_t end;

    peer_handshake(f);
    ls_buf_init(&b, 0);
    ls_conn_set_deadline(f->conn, 3000, "first deadline");
    ls_conn_set_deadline(f->conn, 0, NULL); /* cleared */
    ls_conn_set_deadline(f->conn, 300, "neither publishing nor playing");
    end = evloop_now_ms() + 5000;
    while (!owner_closed(f) && evloop_now_ms() < end) {
        ls_control_write_ping_request(&b, 1); /* input all along */
        peer_send(f, b.data, b.len);
        ls_buf_reset(&b);
        evloop_run_for(f->base, 50);
        (void)recv(f->peer, (uint8_t[4096]){ 0 }, 4096, MSG_DONTWAIT);
    }
    assert_int_equal(f->owner.closes, 1);
    assert_int_equal(f->owner.err, LS_ELIMIT);
    assert_string_equal(f->owner.why, "neither publishing nor playing");
    ls_buf_free(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_flush_later, setup, teardown),
        cmocka_unit_test_setup_teardown(test_close_later, setup, teardown),
        cmocka_unit_test_setup_teardown(test_flush_then_close_later, setup, teardown),
        cmocka_unit_test_setup_teardown(test_close_later_after_flush, setup, teardown),
        cmocka_unit_test_setup_teardown(test_close_later_drops_queue, setup, teardown),
        cmocka_unit_test_setup_teardown(test_acks_cumulative, setup_no_ack_floor, teardown),
        cmocka_unit_test_setup_teardown(test_ping_answers_coalesced, setup, teardown),
        cmocka_unit_test_setup_teardown(test_ping_flood_closed, setup, teardown),
        cmocka_unit_test_setup_teardown(test_control_queue_bound_outside_callbacks,
                                        setup_small_control_queue, teardown),
        cmocka_unit_test_setup_teardown(test_media_not_counted, setup_small_control_queue,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_hold_defers_close, setup, teardown),
        cmocka_unit_test_setup_teardown(test_failed_flush_closes_later, setup, teardown),
        cmocka_unit_test_setup_teardown(test_deadline, setup, teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
