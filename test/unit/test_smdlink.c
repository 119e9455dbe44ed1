/*
 * Unit tests for smdlink.c: the registry link's connection settings, and sending a message
 * on a connection over a socketpair (a valid one is queued, an invalid one refused).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <unistd.h>
#include <cmocka.h>

#include <event2/event.h>

#include "libstream/conn.h"
#include "libstream/err.h"
#include "libstream/smdlink.h"
#include "libstream/smdproto.h"
#include "libstream/smdreport.h"

static void test_conn_config(void **state)
{
    struct ls_conn_config cfg;

    (void)state;
    ls_smdlink_conn_config(&cfg);
    assert_int_equal(cfg.chunk.max_message_size, LS_SMD_MESSAGE_MAX);
    assert_int_equal(cfg.chunk.max_chunk_streams, 8);
    assert_int_equal(cfg.idle_timeout_ms, 0);
    assert_int_equal(cfg.handshake_timeout_ms, 5000);
    assert_int_equal(cfg.out_chunk_size, 4096);
}

/* smd's end takes nodes' reports, larger than any other message of the protocol. */
static void test_server_conn_config(void **state)
{
    struct ls_conn_config cfg;

    (void)state;
    ls_smdlink_server_conn_config(&cfg);
    assert_int_equal(cfg.chunk.max_message_size, LS_SMD_REPORT_MAX);
    assert_true(cfg.chunk.max_pending_bytes >= LS_SMD_REPORT_MAX);
    assert_int_equal(cfg.chunk.max_chunk_streams, 8);
    assert_int_equal(cfg.out_chunk_size, 4096);
}

static void nop_message(struct ls_conn *c, void *owner, struct ls_frame *msg)
{
    (void)c;
    (void)owner;
    (void)msg;
}

static void nop_close(struct ls_conn *c, void *owner, int err, const char *why)
{
    (void)c;
    (void)err;
    (void)why;
    *(int *)owner = 1;
}

static void test_send(void **state)
{
    static const struct ls_conn_ops ops = { .on_message = nop_message, .on_close = nop_close };
    struct event_base *base = event_base_new();
    struct ls_conn_config cfg;
    struct ls_conn *c;
    struct ls_smd_msg m;
    int sv[2], closed = 0;

    (void)state;
    ls_smd_msg_init(&m, LS_SMD_PING, 1);
    assert_non_null(base);
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    ls_smdlink_conn_config(&cfg);
    c = ls_conn_new(base, sv[0], LS_HS_CLIENT, &cfg, &ops, &closed);
    assert_non_null(c);
    assert_int_equal(ls_smdlink_send(c, &m), LS_OK);
    assert_false(ls_outq_empty(ls_conn_outq(c)));
    m.txid = 0;
    assert_int_equal(ls_smdlink_send(c, &m), LS_EINVAL);
    ls_conn_close(c, LS_OK, "done");
    assert_int_equal(closed, 1);
    close(sv[1]);
    event_base_free(base);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_conn_config),
        cmocka_unit_test(test_server_conn_config),
        cmocka_unit_test(test_send),
    };

    return cmocka_run_group_tests_name("smdlink", tests, NULL, NULL);
}
