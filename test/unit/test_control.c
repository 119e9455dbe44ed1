/*
 * Unit tests for control.c: protocol control (RTMP 1.0 §5.4) and user control (§7.1.7)
 * message builders and the parser. Builder output is compared with bytes written out
 * by hand from the spec, then read back through the chunk reader and parsed.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "libstream/buf.h"
#include "libstream/chunk.h"
#include "libstream/control.h"
#include "libstream/err.h"
#include "libstream/frame.h"
#include "libstream/rtmp.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))

/* Chunk header every builder emits: csid 2, timestamp 0, length, type, stream id 0. */
#define HDR(len, type) 0x02, 0, 0, 0, 0, 0, (len), (type), 0, 0, 0, 0

struct built {
    const char *name;
    const uint8_t *bytes;
    size_t len;
    struct ls_control want;
};

static const uint8_t b_scs[] = { HDR(4, 1), 0x00, 0x00, 0x10, 0x00 };
static const uint8_t b_abort[] = { HDR(4, 2), 0x00, 0x00, 0x01, 0x40 };
static const uint8_t b_ack[] = { HDR(4, 3), 0xde, 0xad, 0xbe, 0xef };
static const uint8_t b_wack[] = { HDR(4, 5), 0x00, 0x4c, 0x4b, 0x40 };
static const uint8_t b_peer_bw[] = { HDR(5, 6), 0x00, 0x4c, 0x4b, 0x40, 0x02 };
static const uint8_t b_begin[] = { HDR(6, 4), 0x00, 0x00, 0x00, 0x00, 0x00, 0x01 };
static const uint8_t b_eof[] = { HDR(6, 4), 0x00, 0x01, 0x00, 0x00, 0x00, 0x02 };
static const uint8_t b_dry[] = { HDR(6, 4), 0x00, 0x02, 0x00, 0x00, 0x00, 0x03 };
static const uint8_t b_recorded[] = { HDR(6, 4), 0x00, 0x04, 0x00, 0x00, 0x00, 0x04 };
static const uint8_t b_buflen[] = { HDR(10, 4), 0x00, 0x03, 0x00, 0x00, 0x00, 0x01,
                                    0x00, 0x00, 0x0b, 0xb8 };
static const uint8_t b_ping[] = { HDR(6, 4), 0x00, 0x06, 0x12, 0x34, 0x56, 0x78 };
static const uint8_t b_pong[] = { HDR(6, 4), 0x00, 0x07, 0xff, 0xff, 0xff, 0xff };

/* Builds message i of the table into b. */
static void build(size_t i, struct ls_buf *b)
{
    switch (i) {
    case 0: ls_control_write_set_chunk_size(b, 4096); break;
    case 1: ls_control_write_abort(b, 320); break;
    case 2: ls_control_write_ack(b, 0xdeadbeef); break;
    case 3: ls_control_write_window_ack_size(b, 5000000); break;
    case 4: ls_control_write_set_peer_bandwidth(b, 5000000, LS_PEER_BW_DYNAMIC); break;
    case 5: ls_control_write_stream_begin(b, 1); break;
    case 6: ls_control_write_stream_eof(b, 2); break;
    case 7: ls_control_write_stream_dry(b, 3); break;
    case 8: ls_control_write_stream_is_recorded(b, 4); break;
    case 9: ls_control_write_set_buffer_length(b, 1, 3000); break;
    case 10: ls_control_write_ping_request(b, 0x12345678); break;
    case 11: ls_control_write_ping_response(b, 0xffffffff); break;
    default: fail();
    }
}

static const struct built table[] = {
    { "set chunk size", b_scs, sizeof b_scs, { .type = 1, .chunk_size = 4096 } },
    { "abort", b_abort, sizeof b_abort, { .type = 2, .csid = 320 } },
    { "ack", b_ack, sizeof b_ack, { .type = 3, .sequence = 0xdeadbeef } },
    { "window ack size", b_wack, sizeof b_wack, { .type = 5, .window = 5000000 } },
    { "set peer bandwidth", b_peer_bw, sizeof b_peer_bw,
      { .type = 6, .window = 5000000, .limit_type = 2 } },
    { "stream begin", b_begin, sizeof b_begin,
      { .type = 4, .event = 0, .known_event = true, .stream_id = 1 } },
    { "stream eof", b_eof, sizeof b_eof,
      { .type = 4, .event = 1, .known_event = true, .stream_id = 2 } },
    { "stream dry", b_dry, sizeof b_dry,
      { .type = 4, .event = 2, .known_event = true, .stream_id = 3 } },
    { "stream is recorded", b_recorded, sizeof b_recorded,
      { .type = 4, .event = 4, .known_event = true, .stream_id = 4 } },
    { "set buffer length", b_buflen, sizeof b_buflen,
      { .type = 4, .event = 3, .known_event = true, .stream_id = 1, .buffer_ms = 3000 } },
    { "ping request", b_ping, sizeof b_ping,
      { .type = 4, .event = 6, .known_event = true, .timestamp = 0x12345678 } },
    { "ping response", b_pong, sizeof b_pong,
      { .type = 4, .event = 7, .known_event = true, .timestamp = 0xffffffff } },
};

static void assert_control_equal(const struct ls_control *got, const struct ls_control *want)
{
    assert_int_equal(got->type, want->type);
    assert_int_equal(got->chunk_size, want->chunk_size);
    assert_int_equal(got->csid, want->csid);
    assert_int_equal(got->sequence, want->sequence);
    assert_int_equal(got->window, want->window);
    assert_int_equal(got->limit_type, want->limit_type);
    assert_int_equal(got->event, want->event);
    assert_int_equal(got->known_event, want->known_event);
    assert_int_equal(got->stream_id, want->stream_id);
    assert_int_equal(got->buffer_ms, want->buffer_ms);
    assert_int_equal(got->timestamp, want->timestamp);
}

/* Every builder gives the hand-written bytes, appended after what the buffer held. */
static void test_builders_exact_bytes(void **state)
{
    struct ls_buf b;
    size_t i;
    (void)state;
    for (i = 0; i < N(table); i++) {
        print_message("  %s\n", table[i].name);
        ls_buf_init(&b, 0);
        ls_buf_append(&b, "xy", 2);
        build(i, &b);
        assert_int_equal(ls_buf_status(&b), LS_OK);
        assert_int_equal(b.len, 2 + table[i].len);
        assert_memory_equal(b.data, "xy", 2);
        assert_memory_equal(b.data + 2, table[i].bytes, table[i].len);
        ls_buf_free(&b);
    }
}

/* Builder → chunk reader → parser gives back the values, fed whole and byte by byte. */
static void test_builders_round_trip(void **state)
{
    struct ls_chunk_reader *r;
    struct ls_buf b;
    struct ls_frame *msg;
    struct ls_control c;
    const char *why = NULL;
    size_t i, k, off;
    ssize_t n;
    (void)state;
    for (k = 0; k < 2; k++) {
        r = ls_chunk_reader_new(NULL);
        assert_non_null(r);
        for (i = 0; i < N(table); i++) {
            ls_buf_init(&b, 0);
            build(i, &b);
            off = 0;
            msg = NULL;
            while (msg == NULL) {
                n = ls_chunk_reader_feed(r, b.data + off, k ? 1 : b.len - off, &msg, &why);
                assert_true(n >= 0);
                off += (size_t)n;
            }
            assert_int_equal(off, b.len);
            assert_int_equal(msg->stream_id, 0);
            assert_int_equal(msg->timestamp, 0);
            assert_int_equal(ls_control_parse(msg, &c, &why), LS_OK);
            assert_control_equal(&c, &table[i].want);
            if (c.type == LS_MSG_USER_CONTROL) {
                assert_ptr_equal(c.event_data, msg->data + 2);
                assert_int_equal(c.event_data_len, msg->len - 2);
            } else {
                assert_null(c.event_data);
            }
            ls_frame_unref(msg);
            ls_buf_free(&b);
        }
        /* the reader applied the Set Chunk Size it read */
        assert_int_equal(ls_chunk_reader_chunk_size(r), 4096);
        assert_int_equal(ls_chunk_reader_ack_window(r), 5000000);
        ls_chunk_reader_free(r);
    }
}

static void test_builders_invalid_args(void **state)
{
    struct ls_buf b;
    (void)state;
    ls_buf_init(&b, 0);
    ls_control_write_set_chunk_size(&b, 0);
    assert_int_equal(ls_buf_status(&b), LS_EINVAL);
    assert_int_equal(b.len, 0);
    ls_buf_reset(&b);
    ls_control_write_set_chunk_size(&b, 0x80000000u);
    assert_int_equal(ls_buf_status(&b), LS_EINVAL);
    ls_buf_reset(&b);
    ls_control_write_set_chunk_size(&b, 0x7fffffffu); /* the largest valid size */
    assert_int_equal(ls_buf_status(&b), LS_OK);
    assert_int_equal(b.len, 16);
    ls_buf_reset(&b);
    ls_control_write_set_peer_bandwidth(&b, 1, 3);
    assert_int_equal(ls_buf_status(&b), LS_EINVAL);
    assert_int_equal(b.len, 0);
    ls_buf_reset(&b);
    ls_control_write_set_peer_bandwidth(&b, 1, LS_PEER_BW_HARD);
    assert_int_equal(ls_buf_status(&b), LS_OK);
    /* an earlier error is kept */
    ls_buf_free(&b);
    ls_buf_init(&b, 10);
    ls_control_write_ack(&b, 1);                      /* 16 bytes > limit 10 */
    assert_int_equal(ls_buf_status(&b), LS_ELIMIT);
    ls_control_write_set_chunk_size(&b, 0);
    assert_int_equal(ls_buf_status(&b), LS_ELIMIT);
    ls_control_write_set_peer_bandwidth(&b, 1, 9);
    assert_int_equal(ls_buf_status(&b), LS_ELIMIT);
    assert_int_equal(b.len, 0);
    ls_buf_free(&b);
}

/* ---- parser: malformed and unusual payloads --------------------------------------- */

struct parse_case {
    const char *name;
    uint8_t type;
    const uint8_t *payload;
    uint32_t len;
    int err;
};

static const uint8_t p_zero4[] = { 0, 0, 0, 0 };
static const uint8_t p_top[] = { 0x80, 0, 0, 1 };
static const uint8_t p_three[] = { 0, 0, 1 };
static const uint8_t p_bw4[] = { 0, 0, 1, 0 };
static const uint8_t p_ev1[] = { 0 };
static const uint8_t p_begin_short[] = { 0, 0, 0, 0, 1 };
static const uint8_t p_buflen_short[] = { 0, 3, 0, 0, 0, 1, 0, 0, 0x0b };
static const uint8_t p_ping_short[] = { 0, 6, 1, 2, 3 };
static const uint8_t p_pong_short[] = { 0, 7 };
static const uint8_t p_eof_short[] = { 0, 1, 0 };
static const uint8_t p_dry_short[] = { 0, 2, 0, 0 };
static const uint8_t p_rec_short[] = { 0, 4 };

static void test_parse_malformed_table(void **state)
{
    static const struct parse_case cases[] = {
        { "set chunk size 0", 1, p_zero4, 4, LS_EPROTO },
        { "set chunk size top bit", 1, p_top, 4, LS_EPROTO },
        { "set chunk size 3 bytes", 1, p_three, 3, LS_EPROTO },
        { "abort 3 bytes", 2, p_three, 3, LS_EPROTO },
        { "ack 3 bytes", 3, p_three, 3, LS_EPROTO },
        { "window ack size 3 bytes", 5, p_three, 3, LS_EPROTO },
        { "set peer bandwidth 4 bytes", 6, p_bw4, 4, LS_EPROTO },
        { "user control 1 byte", 4, p_ev1, 1, LS_EPROTO },
        { "user control empty", 4, NULL, 0, LS_EPROTO },
        { "stream begin 3-byte id", 4, p_begin_short, 5, LS_EPROTO },
        { "stream eof 1-byte id", 4, p_eof_short, 3, LS_EPROTO },
        { "stream dry 2-byte id", 4, p_dry_short, 4, LS_EPROTO },
        { "stream is recorded no id", 4, p_rec_short, 2, LS_EPROTO },
        { "set buffer length 3-byte ms", 4, p_buflen_short, 9, LS_EPROTO },
        { "ping request 3-byte ts", 4, p_ping_short, 5, LS_EPROTO },
        { "ping response no ts", 4, p_pong_short, 2, LS_EPROTO },
        { "audio is not control", LS_MSG_AUDIO, p_zero4, 4, LS_EINVAL },
        { "type 0 is not control", 0, p_zero4, 4, LS_EINVAL },
        { "command is not control", LS_MSG_COMMAND_AMF0, p_zero4, 4, LS_EINVAL },
    };
    struct ls_frame *f;
    struct ls_control c;
    const char *why;
    size_t i;
    (void)state;
    for (i = 0; i < N(cases); i++) {
        print_message("  %s\n", cases[i].name);
        f = ls_frame_new_copy(cases[i].type, 0, 0, cases[i].payload, cases[i].len);
        assert_non_null(f);
        why = NULL;
        assert_int_equal(ls_control_parse(f, &c, &why), cases[i].err);
        assert_non_null(why);
        ls_frame_unref(f);
    }
}

/* Unknown user control events are reported, not refused; extra bytes are ignored. */
static void test_parse_unknown_event_and_trailing_bytes(void **state)
{
    static const uint8_t swf_ping[] = { 0x00, 0x1a };                 /* SWFVerify req */
    static const uint8_t ev5[] = { 0x00, 0x05, 0xaa, 0xbb, 0xcc };
    static const uint8_t begin_long[] = { 0, 0, 0, 0, 0, 9, 0xee, 0xee };
    static const uint8_t bw_long[] = { 0, 0, 0, 1, 1, 0xff };
    static const uint8_t bw_odd_limit[] = { 0, 0, 0, 1, 7 };
    struct ls_frame *f;
    struct ls_control c;
    (void)state;
    f = ls_frame_new_copy(LS_MSG_USER_CONTROL, 0, 0, swf_ping, sizeof swf_ping);
    assert_int_equal(ls_control_parse(f, &c, NULL), LS_OK);
    assert_int_equal(c.type, LS_MSG_USER_CONTROL);
    assert_int_equal(c.event, 26);
    assert_false(c.known_event);
    assert_null(c.event_data);
    assert_int_equal(c.event_data_len, 0);
    ls_frame_unref(f);

    f = ls_frame_new_copy(LS_MSG_USER_CONTROL, 0, 0, ev5, sizeof ev5);
    assert_int_equal(ls_control_parse(f, &c, NULL), LS_OK);
    assert_int_equal(c.event, 5);
    assert_false(c.known_event);
    assert_int_equal(c.event_data_len, 3);
    assert_memory_equal(c.event_data, ev5 + 2, 3);
    assert_int_equal(c.stream_id, 0);
    ls_frame_unref(f);

    f = ls_frame_new_copy(LS_MSG_USER_CONTROL, 0, 0, begin_long, sizeof begin_long);
    assert_int_equal(ls_control_parse(f, &c, NULL), LS_OK);
    assert_true(c.known_event);
    assert_int_equal(c.stream_id, 9);
    ls_frame_unref(f);

    f = ls_frame_new_copy(LS_MSG_SET_PEER_BANDWIDTH, 0, 0, bw_long, sizeof bw_long);
    assert_int_equal(ls_control_parse(f, &c, NULL), LS_OK);
    assert_int_equal(c.window, 1);
    assert_int_equal(c.limit_type, 1);
    ls_frame_unref(f);

    /* limit types outside 0..2 are passed through for the caller to judge */
    f = ls_frame_new_copy(LS_MSG_SET_PEER_BANDWIDTH, 0, 0, bw_odd_limit, sizeof bw_odd_limit);
    assert_int_equal(ls_control_parse(f, &c, NULL), LS_OK);
    assert_int_equal(c.limit_type, 7);
    ls_frame_unref(f);
}

/* The parser clears fields left over from an earlier parse into the same struct. */
static void test_parse_clears_output(void **state)
{
    static const uint8_t buflen[] = { 0, 3, 0, 0, 0, 1, 0, 0, 0x0b, 0xb8 };
    static const uint8_t ack[] = { 0, 0, 0, 7 };
    struct ls_frame *f;
    struct ls_control c;
    const char *why = NULL;
    (void)state;
    f = ls_frame_new_copy(LS_MSG_USER_CONTROL, 0, 0, buflen, sizeof buflen);
    assert_int_equal(ls_control_parse(f, &c, &why), LS_OK);
    assert_int_equal(c.buffer_ms, 3000);
    ls_frame_unref(f);
    f = ls_frame_new_copy(LS_MSG_ACK, 0, 0, ack, sizeof ack);
    assert_int_equal(ls_control_parse(f, &c, &why), LS_OK);
    assert_int_equal(c.sequence, 7);
    assert_int_equal(c.buffer_ms, 0);
    assert_int_equal(c.stream_id, 0);
    assert_false(c.known_event);
    ls_frame_unref(f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_builders_exact_bytes),
        cmocka_unit_test(test_builders_round_trip),
        cmocka_unit_test(test_builders_invalid_args),
        cmocka_unit_test(test_parse_malformed_table),
        cmocka_unit_test(test_parse_unknown_event_and_trailing_bytes),
        cmocka_unit_test(test_parse_clears_output),
    };
    return cmocka_run_group_tests_name("control", tests, NULL, NULL);
}
