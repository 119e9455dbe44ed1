/*
 * Unit tests for chunk.c: the RTMP chunk stream reader and writer (RTMP 1.0 §5.3).
 *
 * Reader vectors are written header byte by header byte here (not with the writer), so
 * reader and writer are checked against the spec rather than against each other. Every
 * vector goes through check_vector(), which decodes it whole, one byte at a time and
 * split at every offset, and requires the same messages and the same final status.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <cmocka.h>

#include "libstream/buf.h"
#include "libstream/bytes.h"
#include "libstream/chunk.h"
#include "libstream/control.h"
#include "libstream/err.h"
#include "libstream/frame.h"
#include "libstream/rtmp.h"
#include "support/input.h"

/* ---- helpers --------------------------------------------------------------------- */

/* Payload pattern: byte i of a payload with seed s (also used by data/chunk_golden.py). */
static uint8_t pat(unsigned seed, size_t i)
{
    return (uint8_t)(seed * 31 + i * 7 + (i >> 8));
}

/* Appends literal bytes to a vector under construction. */
#define B(v, ...) do { \
        static const uint8_t b_[] = { __VA_ARGS__ }; \
        ls_buf_append((v), b_, sizeof b_); \
    } while (0)

/* Appends payload bytes [from, from + n) of pattern `seed`. */
static void fill(struct ls_buf *v, unsigned seed, size_t from, size_t n)
{
    size_t i;

    for (i = from; i < from + n; i++)
        ls_buf_put_u8(v, pat(seed, i));
}

struct rec {
    uint8_t type;
    uint32_t ts, sid, len;
    uint8_t *data;
};

struct result {
    struct rec *msgs;
    size_t n, cap;
    int err;             /* LS_OK or the error the reader returned */
    const char *why;
    uint32_t chunk_size; /* reader state at the end */
    uint64_t received;
};

static void result_free(struct result *res)
{
    size_t i;

    for (i = 0; i < res->n; i++)
        free(res->msgs[i].data);
    free(res->msgs);
    memset(res, 0, sizeof *res);
}

static void record(struct result *res, const struct ls_frame *f)
{
    struct rec *m;

    if (res->n == res->cap) {
        res->cap = res->cap ? res->cap * 2 : 16;
        res->msgs = realloc(res->msgs, res->cap * sizeof *res->msgs);
        assert_non_null(res->msgs);
    }
    m = &res->msgs[res->n++];
    m->type = f->type;
    m->ts = f->timestamp;
    m->sid = f->stream_id;
    m->len = f->len;
    m->data = malloc(f->len + 1);
    assert_non_null(m->data);
    memcpy(m->data, f->data, f->len);
}

/*
 * Feeds one piece with the documented caller loop; checks that *msg == NULL means the
 * whole piece was consumed. Returns false once the reader has failed.
 */
static bool feed_piece(struct ls_chunk_reader *r, const uint8_t *p, size_t left,
                       struct result *res)
{
    struct ls_frame *msg;
    const char *why = NULL;
    ssize_t n;

    do {
        n = ls_chunk_reader_feed(r, p, left, &msg, &why);
        if (n < 0) {
            assert_null(msg);
            assert_non_null(why);
            res->err = (int)n;
            res->why = why;
            return false;
        }
        assert_true((size_t)n <= left);
        p += n;
        left -= (size_t)n;
        if (msg != NULL) {
            record(res, msg);
            ls_frame_unref(msg);
        } else {
            assert_int_equal(left, 0);
        }
    } while (msg != NULL);
    return true;
}

enum split_mode { WHOLE, BYTES, SPLIT_AT };

static void decode(const struct ls_chunk_limits *lim, const uint8_t *v, size_t len,
                   enum split_mode mode, size_t at, struct result *res)
{
    struct ls_chunk_reader *r = ls_chunk_reader_new(lim);
    size_t i;

    assert_non_null(r);
    memset(res, 0, sizeof *res);
    switch (mode) {
    case WHOLE:
        feed_piece(r, v, len, res);
        break;
    case BYTES:
        for (i = 0; i < len; i++)
            if (!feed_piece(r, v + i, 1, res))
                break;
        break;
    case SPLIT_AT:
        if (feed_piece(r, v, at, res))
            feed_piece(r, v + at, len - at, res);
        break;
    }
    if (res->err == LS_OK) {
        res->chunk_size = ls_chunk_reader_chunk_size(r);
        res->received = ls_chunk_reader_bytes_received(r);
        assert_int_equal(res->received, len);
    }
    ls_chunk_reader_free(r);
}

static void assert_same_result(const struct result *a, const struct result *b)
{
    size_t i;

    assert_int_equal(a->err, b->err);
    assert_int_equal(a->n, b->n);
    assert_int_equal(a->chunk_size, b->chunk_size);
    for (i = 0; i < a->n; i++) {
        assert_int_equal(a->msgs[i].type, b->msgs[i].type);
        assert_int_equal(a->msgs[i].ts, b->msgs[i].ts);
        assert_int_equal(a->msgs[i].sid, b->msgs[i].sid);
        assert_int_equal(a->msgs[i].len, b->msgs[i].len);
        assert_memory_equal(a->msgs[i].data, b->msgs[i].data, a->msgs[i].len);
    }
}

/* What a test expects of one message: payload is pattern `seed`, or `data` if set. */
struct exp {
    uint8_t type;
    uint32_t ts, sid, len;
    unsigned seed;
    const uint8_t *data;
};

static void assert_expected(const struct result *res, const struct exp *want, size_t nwant,
                            int err)
{
    size_t i, j;

    assert_int_equal(res->err, err);
    assert_int_equal(res->n, nwant);
    for (i = 0; i < nwant; i++) {
        assert_int_equal(res->msgs[i].type, want[i].type);
        assert_int_equal(res->msgs[i].ts, want[i].ts);
        assert_int_equal(res->msgs[i].sid, want[i].sid);
        assert_int_equal(res->msgs[i].len, want[i].len);
        if (want[i].data != NULL)
            assert_memory_equal(res->msgs[i].data, want[i].data, want[i].len);
        else
            for (j = 0; j < want[i].len; j++)
                assert_int_equal(res->msgs[i].data[j], pat(want[i].seed, j));
    }
}

/*
 * Decodes `v` whole, byte at a time and split at every offset; every way must give the
 * expected messages and final status (`err`: LS_OK or the error code).
 */
static void check_vector_lim(const struct ls_chunk_limits *lim, const struct ls_buf *v,
                             const struct exp *want, size_t nwant, int err)
{
    struct result whole, other;
    size_t at;

    assert_int_equal(ls_buf_status(v), LS_OK);
    decode(lim, v->data, v->len, WHOLE, 0, &whole);
    assert_expected(&whole, want, nwant, err);
    decode(lim, v->data, v->len, BYTES, 0, &other);
    assert_same_result(&whole, &other);
    result_free(&other);
    for (at = 0; at <= v->len; at++) {
        decode(lim, v->data, v->len, SPLIT_AT, at, &other);
        assert_same_result(&whole, &other);
        result_free(&other);
    }
    result_free(&whole);
}

static void check_vector(const struct ls_buf *v, const struct exp *want, size_t nwant)
{
    check_vector_lim(NULL, v, want, nwant, LS_OK);
}

#define N(a) (sizeof(a) / sizeof((a)[0]))

/* ---- reader: spec vectors ---------------------------------------------------------- */

/* Type 0, one-byte csid, little-endian stream id, one chunk. */
static void test_read_type0_single_chunk(void **state)
{
    struct ls_buf v;
    static const struct exp want[] = {
        { 20, 0x000102, 0x04030201, 5, 0, (const uint8_t *)"hello" },
    };
    (void)state;
    ls_buf_init(&v, 0);
    B(&v, 0x03, 0x00, 0x01, 0x02, 0x00, 0x00, 0x05, 0x14, 0x01, 0x02, 0x03, 0x04);
    ls_buf_append(&v, "hello", 5);
    check_vector(&v, want, N(want));
    ls_buf_free(&v);
}

/* 2- and 3-byte basic headers, their bounds, and the two encodings of csid 64..319. */
static void test_read_csid_widths(void **state)
{
    struct ls_buf v;
    static const struct exp want[] = {
        { 8, 1, 1, 1, 1, NULL },  /* csid 64, 2-byte form */
        { 8, 2, 1, 1, 2, NULL },  /* csid 319 */
        { 8, 3, 1, 1, 3, NULL },  /* csid 320, 3-byte form */
        { 8, 4, 1, 1, 4, NULL },  /* csid 65599 */
        { 8, 1, 1, 1, 5, NULL },  /* type 3 on csid 64 written in the 3-byte form */
        { 8, 2, 1, 1, 6, NULL },  /* type 3 on csid 319, 3-byte form */
        { 8, 4, 1, 1, 7, NULL },  /* type 3 on csid 65599 */
        { 8, 5, 1, 1, 8, NULL },  /* csid 63: last one-byte id */
    };
    (void)state;
    ls_buf_init(&v, 0);
    B(&v, 0x00, 0x00, 0, 0, 1, 0, 0, 1, 8, 1, 0, 0, 0);
    fill(&v, 1, 0, 1);
    B(&v, 0x00, 0xff, 0, 0, 2, 0, 0, 1, 8, 1, 0, 0, 0);
    fill(&v, 2, 0, 1);
    B(&v, 0x01, 0x00, 0x01, 0, 0, 3, 0, 0, 1, 8, 1, 0, 0, 0);
    fill(&v, 3, 0, 1);
    B(&v, 0x01, 0xff, 0xff, 0, 0, 4, 0, 0, 1, 8, 1, 0, 0, 0);
    fill(&v, 4, 0, 1);
    B(&v, 0xc1, 0x00, 0x00);
    fill(&v, 5, 0, 1);
    B(&v, 0xc1, 0xff, 0x00);
    fill(&v, 6, 0, 1);
    B(&v, 0xc1, 0xff, 0xff);
    fill(&v, 7, 0, 1);
    B(&v, 0x3f, 0, 0, 5, 0, 0, 1, 8, 1, 0, 0, 0);
    fill(&v, 8, 0, 1);
    check_vector(&v, want, N(want));
    ls_buf_free(&v);
}

/* RTMP 1.0 §5.3.2.1: audio, type 0 then type 2 then type 3 twice (delta reused). */
static void test_read_spec_example1(void **state)
{
    struct ls_buf v;
    static const struct exp want[] = {
        { 8, 1000, 12345, 32, 1, NULL },
        { 8, 1020, 12345, 32, 2, NULL },
        { 8, 1040, 12345, 32, 3, NULL },
        { 8, 1060, 12345, 32, 4, NULL },
    };
    (void)state;
    ls_buf_init(&v, 0);
    B(&v, 0x03, 0x00, 0x03, 0xe8, 0x00, 0x00, 0x20, 0x08, 0x39, 0x30, 0x00, 0x00);
    fill(&v, 1, 0, 32);
    B(&v, 0x83, 0x00, 0x00, 0x14);
    fill(&v, 2, 0, 32);
    B(&v, 0xc3);
    fill(&v, 3, 0, 32);
    B(&v, 0xc3);
    fill(&v, 4, 0, 32);
    check_vector(&v, want, N(want));
    ls_buf_free(&v);
}

/* RTMP 1.0 §5.3.2.2: a 307-byte video message in three chunks of 128. */
static void test_read_spec_example2(void **state)
{
    struct ls_buf v;
    static const struct exp want[] = { { 9, 1000, 12346, 307, 9, NULL } };
    (void)state;
    ls_buf_init(&v, 0);
    B(&v, 0x04, 0x00, 0x03, 0xe8, 0x00, 0x01, 0x33, 0x09, 0x3a, 0x30, 0x00, 0x00);
    fill(&v, 9, 0, 128);
    B(&v, 0xc4);
    fill(&v, 9, 128, 128);
    B(&v, 0xc4);
    fill(&v, 9, 256, 51);
    check_vector(&v, want, N(want));
    ls_buf_free(&v);
}

/*
 * Type 1 (new length and type, same stream id), type 2, then type 3 new message; then a
 * type-0 header, after which a type-3 new message repeats its timestamp (delta 0).
 */
static void test_read_type1_type2_type3(void **state)
{
    struct ls_buf v;
    static const struct exp want[] = {
        { 18, 100, 1, 3, 1, NULL },
        { 20, 150, 1, 4, 2, NULL },
        { 20, 157, 1, 4, 3, NULL },
        { 20, 164, 1, 4, 4, NULL },
        { 8, 500, 2, 1, 5, NULL },
        { 8, 500, 2, 1, 6, NULL },
        { 8, 503, 2, 1, 7, NULL },
    };
    (void)state;
    ls_buf_init(&v, 0);
    B(&v, 0x05, 0, 0, 100, 0, 0, 3, 18, 1, 0, 0, 0);
    fill(&v, 1, 0, 3);
    B(&v, 0x45, 0, 0, 50, 0, 0, 4, 20);
    fill(&v, 2, 0, 4);
    B(&v, 0x85, 0, 0, 7);
    fill(&v, 3, 0, 4);
    B(&v, 0xc5);
    fill(&v, 4, 0, 4);
    B(&v, 0x05, 0, 0x01, 0xf4, 0, 0, 1, 8, 2, 0, 0, 0);
    fill(&v, 5, 0, 1);
    B(&v, 0xc5);
    fill(&v, 6, 0, 1);
    B(&v, 0x85, 0, 0, 3);
    fill(&v, 7, 0, 1);
    check_vector(&v, want, N(want));
    ls_buf_free(&v);
}

/*
 * Extended timestamp on a type-0 chunk, repeated after the type-3 continuation; then a
 * type-3 chunk starting a new message (same timestamp: delta 0 after type 0) with the
 * field repeated again.
 */
static void test_read_ext_ts_repeated(void **state)
{
    struct ls_buf v;
    static const struct exp want[] = {
        { 9, 0x01000000, 1, 200, 1, NULL },
        { 9, 0x01000000, 1, 200, 2, NULL },
    };
    (void)state;
    ls_buf_init(&v, 0);
    B(&v, 0x06, 0xff, 0xff, 0xff, 0x00, 0x00, 0xc8, 0x09, 1, 0, 0, 0, 0x01, 0, 0, 0);
    fill(&v, 1, 0, 128);
    B(&v, 0xc6, 0x01, 0, 0, 0);
    fill(&v, 1, 128, 72);
    B(&v, 0xc6, 0x01, 0, 0, 0);
    fill(&v, 2, 0, 128);
    B(&v, 0xc6, 0x01, 0, 0, 0);
    fill(&v, 2, 128, 72);
    check_vector(&v, want, N(want));
    ls_buf_free(&v);
}

/* The same, from an encoder that omits the repeated field on type-3 chunks. */
static void test_read_ext_ts_omitted(void **state)
{
    struct ls_buf v;
    static const struct exp want[] = {
        { 9, 0x01000000, 1, 200, 1, NULL },
        { 9, 0x01000000, 1, 200, 2, NULL },
    };
    (void)state;
    assert_true(pat(1, 128) != 0x01 && pat(2, 0) != 0x01 && pat(2, 128) != 0x01);
    ls_buf_init(&v, 0);
    B(&v, 0x06, 0xff, 0xff, 0xff, 0x00, 0x00, 0xc8, 0x09, 1, 0, 0, 0, 0x01, 0, 0, 0);
    fill(&v, 1, 0, 128);
    B(&v, 0xc6);
    fill(&v, 1, 128, 72);
    B(&v, 0xc6);
    fill(&v, 2, 0, 128);
    B(&v, 0xc6);
    fill(&v, 2, 128, 72);
    check_vector(&v, want, N(want));
    ls_buf_free(&v);
}

/*
 * Extended delta on a type-1 header; type-3 new messages reuse it, with and without the
 * repeated field. The last one has 2 payload bytes, so deciding whether the field is
 * there needs bytes of the following chunk (held in the reader across calls).
 */
static void test_read_ext_delta_and_short_peek(void **state)
{
    struct ls_buf v;
    static const struct exp want[] = {
        { 9, 10, 1, 2, 1, NULL },
        { 9, 0x0100000a, 1, 2, 2, NULL },
        { 9, 0x0200000a, 1, 2, 3, NULL },
        { 9, 0x0300000a, 1, 2, 4, NULL },
        { 20, 0, 0, 1, 5, NULL },
        { 9, 0x0400000a, 1, 2, 6, NULL },
        { 9, 0x0500000a, 1, 1, 7, NULL },
    };
    (void)state;
    ls_buf_init(&v, 0);
    B(&v, 0x07, 0, 0, 10, 0, 0, 2, 9, 1, 0, 0, 0);
    fill(&v, 1, 0, 2);
    B(&v, 0x47, 0xff, 0xff, 0xff, 0, 0, 2, 9, 0x01, 0, 0, 0);
    fill(&v, 2, 0, 2);
    B(&v, 0xc7, 0x01, 0, 0, 0);
    fill(&v, 3, 0, 2);
    B(&v, 0xc7);                 /* field omitted: peek sees payload + next header */
    fill(&v, 4, 0, 2);
    B(&v, 0x03, 0, 0, 0, 0, 0, 1, 20, 0, 0, 0, 0);
    fill(&v, 5, 0, 1);
    B(&v, 0xc7);                 /* omitted again, followed by another csid-7 chunk */
    fill(&v, 6, 0, 2);
    B(&v, 0x47, 0xff, 0xff, 0xff, 0, 0, 1, 9, 0x01, 0, 0, 0);
    fill(&v, 7, 0, 1);
    check_vector(&v, want, N(want));
    ls_buf_free(&v);
}

/* Two messages interleaved chunk by chunk on csid 6 and 7. */
static void test_read_interleaved(void **state)
{
    struct ls_buf v;
    static const struct exp want[] = {
        { 8, 40, 1, 200, 1, NULL },
        { 9, 33, 1, 300, 2, NULL },
    };
    (void)state;
    ls_buf_init(&v, 0);
    B(&v, 0x06, 0, 0, 40, 0, 0, 200, 8, 1, 0, 0, 0);
    fill(&v, 1, 0, 128);
    B(&v, 0x07, 0, 0, 33, 0, 0x01, 0x2c, 9, 1, 0, 0, 0);
    fill(&v, 2, 0, 128);
    B(&v, 0xc6);
    fill(&v, 1, 128, 72);
    B(&v, 0xc7);
    fill(&v, 2, 128, 128);
    B(&v, 0xc7);
    fill(&v, 2, 256, 44);
    check_vector(&v, want, N(want));
    ls_buf_free(&v);
}

/* Set Chunk Size takes effect for the very next chunk and is still returned. */
static void test_read_set_chunk_size_mid_stream(void **state)
{
    struct ls_buf v;
    struct result res;
    static const uint8_t scs[] = { 0, 0, 1, 0 };
    static const struct exp want[] = {
        { 9, 0, 1, 200, 1, NULL },
        { 1, 0, 0, 4, 0, scs },
        { 9, 5, 1, 300, 2, NULL },
    };
    (void)state;
    ls_buf_init(&v, 0);
    /* message 1: 128 + 72 at the default chunk size */
    B(&v, 0x06, 0, 0, 0, 0, 0, 200, 9, 1, 0, 0, 0);
    fill(&v, 1, 0, 128);
    B(&v, 0xc6);
    fill(&v, 1, 128, 72);
    B(&v, 0x02, 0, 0, 0, 0, 0, 4, 1, 0, 0, 0, 0, 0, 0, 1, 0);
    /* message 2 (type 1: new length): 256 + 44 */
    B(&v, 0x46, 0, 0, 5, 0, 0x01, 0x2c, 9);
    fill(&v, 2, 0, 256);
    B(&v, 0xc6);
    fill(&v, 2, 256, 44);
    check_vector(&v, want, N(want));
    decode(NULL, v.data, v.len, WHOLE, 0, &res);
    assert_int_equal(res.chunk_size, 256);
    result_free(&res);
    ls_buf_free(&v);
}

/* Abort discards the partial message; the chunk stream then starts a new one. */
static void test_read_abort(void **state)
{
    struct ls_buf v;
    static const uint8_t abort7[] = { 0, 0, 0, 7 };
    static const uint8_t abort9[] = { 0, 0, 0, 9 };
    static const struct exp want[] = {
        { 2, 0, 0, 4, 0, abort7 },
        { 2, 0, 0, 4, 0, abort9 },  /* unknown csid: nothing to discard */
        { 2, 0, 0, 4, 0, abort7 },  /* nothing in progress any more */
        { 9, 1005, 1, 3, 2, NULL },
    };
    (void)state;
    ls_buf_init(&v, 0);
    B(&v, 0x07, 0, 0x03, 0xe8, 0, 0x01, 0x2c, 9, 1, 0, 0, 0);
    fill(&v, 1, 0, 128);
    B(&v, 0x02, 0, 0, 0, 0, 0, 4, 2, 0, 0, 0, 0, 0, 0, 0, 7);
    B(&v, 0xc2, 0, 0, 0, 9);
    B(&v, 0xc2, 0, 0, 0, 7);
    B(&v, 0x47, 0, 0, 5, 0, 0, 3, 9);
    fill(&v, 2, 0, 3);
    check_vector(&v, want, N(want));
    ls_buf_free(&v);
}

/* Zero-length messages complete at once, including through type 2 and type 3. */
static void test_read_zero_length(void **state)
{
    struct ls_buf v;
    static const struct exp want[] = {
        { 20, 7, 0, 0, 0, NULL },
        { 20, 7, 0, 0, 0, NULL },
        { 20, 8, 0, 0, 0, NULL },
        { 20, 9, 0, 0, 0, NULL },
        { 8, 9, 0, 1, 3, NULL },
    };
    (void)state;
    ls_buf_init(&v, 0);
    B(&v, 0x03, 0, 0, 7, 0, 0, 0, 20, 0, 0, 0, 0);
    B(&v, 0xc3);
    B(&v, 0x83, 0, 0, 1);
    B(&v, 0xc3);
    B(&v, 0x43, 0, 0, 0, 0, 0, 1, 8);
    fill(&v, 3, 0, 1);
    check_vector(&v, want, N(want));
    ls_buf_free(&v);
}

/* Timestamps are uint32 and wrap: 0xFFFFFFF0 + 0x20 = 0x10. */
static void test_read_timestamp_wrap(void **state)
{
    struct ls_buf v;
    static const struct exp want[] = {
        { 9, 0xfffffff0u, 1, 1, 1, NULL },
        { 9, 0x10, 1, 1, 2, NULL },
        { 9, 0x30, 1, 1, 3, NULL },
    };
    (void)state;
    ls_buf_init(&v, 0);
    B(&v, 0x04, 0xff, 0xff, 0xff, 0, 0, 1, 9, 1, 0, 0, 0, 0xff, 0xff, 0xff, 0xf0);
    fill(&v, 1, 0, 1);
    B(&v, 0x84, 0, 0, 0x20);
    fill(&v, 2, 0, 1);
    B(&v, 0xc4);
    fill(&v, 3, 0, 1);
    check_vector(&v, want, N(want));
    ls_buf_free(&v);
}

/* ---- reader: malformed input and limits --------------------------------------------- */

struct bad_case {
    const char *name;
    const uint8_t *bytes;
    size_t len;
    size_t nmsgs;  /* messages that complete before the error */
    int err;
    bool partial3; /* preceded by the first 128-byte chunk of a 300-byte message, csid 3 */
};

static const uint8_t bad_type1_unknown[] = { 0x43, 0, 0, 0, 0, 0, 1, 9, 0 };
static const uint8_t bad_type2_unknown[] = { 0x83, 0, 0, 0, 0 };
static const uint8_t bad_type3_unknown[] = { 0xc3, 0 };
static const uint8_t bad_type3_unknown_wide[] = { 0xc1, 0x10, 0x27 };
static const uint8_t bad_scs_zero[] = { 0x02, 0, 0, 0, 0, 0, 4, 1, 0, 0, 0, 0, 0, 0, 0, 0 };
static const uint8_t bad_scs_topbit[] = { 0x02, 0, 0, 0, 0, 0, 4, 1, 0, 0, 0, 0,
                                          0x80, 0, 0x10, 0 };
static const uint8_t bad_scs_short[] = { 0x02, 0, 0, 0, 0, 0, 3, 1, 0, 0, 0, 0, 0, 0x10, 0 };
static const uint8_t bad_abort_short[] = { 0x02, 0, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 0, 3 };
static const uint8_t bad_wack_short[] = { 0x02, 0, 0, 0, 0, 0, 0, 5, 0, 0, 0, 0 };
static const uint8_t bad_scs_above_max[] = { 0x02, 0, 0, 0, 0, 0, 4, 1, 0, 0, 0, 0,
                                             0, 0x01, 0, 0x01 };
static const uint8_t bad_len_above_max[] = { 0x03, 0, 0, 0, 0x80, 0, 0x01, 9, 0, 0, 0, 0 };
/* after a partial message on csid 3: a type-0 / type-1 / type-2 header on csid 3 */
static const uint8_t bad_type0_in_progress[] = { 0x03, 0, 0, 0, 0, 0, 2, 9, 0, 0, 0, 0 };
static const uint8_t bad_type1_in_progress[] = { 0x43, 0, 0, 0, 0, 0, 2, 9 };
static const uint8_t bad_type2_in_progress[] = { 0x83, 0, 0, 0 };
/* a complete message first, so the error comes after one returned message */
static const uint8_t bad_after_message[] = { 0x03, 0, 0, 0, 0, 0, 1, 9, 0, 0, 0, 0, 0x55,
                                             0x44, 0, 0, 0, 0, 0, 1, 9 };

static void test_read_malformed_table(void **state)
{
    static const struct bad_case cases[] = {
        { "type 1 on unknown csid", bad_type1_unknown, sizeof bad_type1_unknown, 0, LS_EPROTO, false },
        { "type 2 on unknown csid", bad_type2_unknown, sizeof bad_type2_unknown, 0, LS_EPROTO, false },
        { "type 3 on unknown csid", bad_type3_unknown, sizeof bad_type3_unknown, 0, LS_EPROTO, false },
        { "type 3 on unknown wide csid", bad_type3_unknown_wide,
          sizeof bad_type3_unknown_wide, 0, LS_EPROTO, false },
        { "set chunk size 0", bad_scs_zero, sizeof bad_scs_zero, 0, LS_EPROTO, false },
        { "set chunk size top bit", bad_scs_topbit, sizeof bad_scs_topbit, 0, LS_EPROTO, false },
        { "set chunk size short", bad_scs_short, sizeof bad_scs_short, 0, LS_EPROTO, false },
        { "abort short", bad_abort_short, sizeof bad_abort_short, 0, LS_EPROTO, false },
        { "window ack size empty", bad_wack_short, sizeof bad_wack_short, 0, LS_EPROTO, false },
        { "set chunk size 65537", bad_scs_above_max, sizeof bad_scs_above_max, 0, LS_ELIMIT, false },
        { "length 8 MiB + 1", bad_len_above_max, sizeof bad_len_above_max, 0, LS_ELIMIT, false },
        { "type 0 over partial", bad_type0_in_progress, sizeof bad_type0_in_progress, 0,
          LS_EPROTO, true },
        { "type 1 over partial", bad_type1_in_progress, sizeof bad_type1_in_progress, 0,
          LS_EPROTO, true },
        { "type 2 over partial", bad_type2_in_progress, sizeof bad_type2_in_progress, 0,
          LS_EPROTO, true },
        { "type 1 on unknown csid after a message", bad_after_message,
          sizeof bad_after_message, 1, LS_EPROTO, false },
    };
    size_t i;
    struct ls_buf v;
    struct exp want[1] = { { 9, 0, 0, 1, 0, (const uint8_t *)"\x55" } };
    (void)state;
    for (i = 0; i < N(cases); i++) {
        print_message("  malformed: %s\n", cases[i].name);
        ls_buf_init(&v, 0);
        if (cases[i].partial3) {
            B(&v, 0x03, 0, 0, 0, 0, 0x01, 0x2c, 9, 0, 0, 0, 0);
            fill(&v, 1, 0, 128);
        }
        ls_buf_append(&v, cases[i].bytes, cases[i].len);
        check_vector_lim(NULL, &v, want, cases[i].nmsgs, cases[i].err);
        ls_buf_free(&v);
    }
}

/* After an error the reader stays failed, with the same code and reason. */
static void test_read_error_is_sticky(void **state)
{
    struct ls_chunk_reader *r = ls_chunk_reader_new(NULL);
    struct ls_frame *msg = (struct ls_frame *)&msg; /* must be reset to NULL */
    const char *why1 = NULL, *why2 = NULL;
    static const uint8_t good[] = { 0x03, 0, 0, 0, 0, 0, 0, 9, 0, 0, 0, 0 };
    (void)state;
    assert_int_equal(ls_chunk_reader_feed(r, bad_type3_unknown, 1, &msg, &why1), LS_EPROTO);
    assert_null(msg);
    assert_non_null(why1);
    assert_int_equal(ls_chunk_reader_feed(r, good, sizeof good, &msg, &why2), LS_EPROTO);
    assert_null(msg);
    assert_string_equal(why1, why2);
    assert_int_equal(ls_chunk_reader_feed(r, good, sizeof good, &msg, NULL), LS_EPROTO);
    ls_chunk_reader_free(r);
    ls_chunk_reader_free(NULL);
}

/* Bounds that are exactly reached are accepted; one more is LS_ELIMIT. */
static void test_read_limit_message_size(void **state)
{
    struct ls_chunk_limits lim = ls_chunk_default_limits;
    struct ls_buf v;
    static const struct exp want[] = { { 9, 0, 0, 300, 1, NULL } };
    (void)state;
    lim.max_message_size = 300;
    ls_buf_init(&v, 0);
    B(&v, 0x03, 0, 0, 0, 0, 0x01, 0x2c, 9, 0, 0, 0, 0);
    fill(&v, 1, 0, 128);
    B(&v, 0xc3);
    fill(&v, 1, 128, 128);
    B(&v, 0xc3);
    fill(&v, 1, 256, 44);
    check_vector_lim(&lim, &v, want, 1, LS_OK);
    B(&v, 0x43, 0, 0, 0, 0, 0x01, 0x2d, 9);     /* type 1 with length 301 */
    check_vector_lim(&lim, &v, want, 1, LS_ELIMIT);
    ls_buf_free(&v);
    /* the default bound: 8 MiB is accepted (header only, nothing completes) */
    ls_buf_init(&v, 0);
    B(&v, 0x03, 0, 0, 0, 0x80, 0, 0, 9, 0, 0, 0, 0);
    check_vector_lim(NULL, &v, want, 0, LS_OK);
    ls_buf_free(&v);
}

static void test_read_limit_chunk_streams(void **state)
{
    struct ls_chunk_limits lim = ls_chunk_default_limits;
    struct ls_buf v;
    unsigned i;
    struct exp want[64];
    (void)state;
    lim.max_chunk_streams = 3;
    ls_buf_init(&v, 0);
    for (i = 0; i < 3; i++) {
        ls_buf_put_u8(&v, (uint8_t)(10 + i));
        B(&v, 0, 0, 0, 0, 0, 1, 8, 0, 0, 0, 0);
        fill(&v, i, 0, 1);
        want[i] = (struct exp){ 8, 0, 0, 1, i, NULL };
    }
    B(&v, 0xcb);                 /* csid 11 again: not a new stream */
    fill(&v, 4, 0, 1);
    want[3] = (struct exp){ 8, 0, 0, 1, 4, NULL };
    check_vector_lim(&lim, &v, want, 4, LS_OK);
    B(&v, 0x0d, 0, 0, 0, 0, 0, 1, 8, 0, 0, 0, 0); /* a 4th csid */
    check_vector_lim(&lim, &v, want, 4, LS_ELIMIT);
    ls_buf_free(&v);

    /* the default: 64 distinct csids work (the state array grows), the 65th does not */
    ls_buf_init(&v, 0);
    for (i = 0; i < 64; i++) {
        B(&v, 0x01);             /* 3-byte form: csid 64 + i */
        ls_buf_put_u8(&v, (uint8_t)i);
        B(&v, 0, 0, 0, 0, 0, 0, 0, 8, 0, 0, 0, 0);
        want[i] = (struct exp){ 8, 0, 0, 0, 0, NULL };
    }
    check_vector_lim(NULL, &v, want, 64, LS_OK);
    B(&v, 0x01, 64, 0, 0, 0, 0, 0, 0, 0, 8, 0, 0, 0, 0);
    check_vector_lim(NULL, &v, want, 64, LS_ELIMIT);
    ls_buf_free(&v);
}

static void test_read_limit_pending(void **state)
{
    struct ls_chunk_limits lim = ls_chunk_default_limits;
    struct ls_buf v;
    static const struct exp want[] = {
        { 9, 0, 0, 200, 1, NULL },
        { 9, 0, 0, 1, 3, NULL },
    };
    (void)state;
    lim.max_pending_bytes = 500;
    ls_buf_init(&v, 0);
    /* 200 + 300 pending = exactly the bound */
    B(&v, 0x03, 0, 0, 0, 0, 0, 200, 9, 0, 0, 0, 0);
    fill(&v, 1, 0, 128);
    B(&v, 0x04, 0, 0, 0, 0, 0x01, 0x2c, 9, 0, 0, 0, 0);
    fill(&v, 2, 0, 128);
    /* the first completes: its 200 bytes are released */
    B(&v, 0xc3);
    fill(&v, 1, 128, 72);
    /* so a 1-byte message fits (301 pending) and completes */
    B(&v, 0x05, 0, 0, 0, 0, 0, 1, 9, 0, 0, 0, 0);
    fill(&v, 3, 0, 1);
    check_vector_lim(&lim, &v, want, 2, LS_OK);
    /* 300 pending + 201 > 500 */
    B(&v, 0x06, 0, 0, 0, 0, 0, 201, 9, 0, 0, 0, 0);
    check_vector_lim(&lim, &v, want, 2, LS_ELIMIT);
    ls_buf_free(&v);
}

static void test_read_limit_chunk_size(void **state)
{
    struct ls_chunk_limits lim = ls_chunk_default_limits;
    struct ls_buf v;
    static const uint8_t scs[] = { 0, 0, 0x01, 0 };
    static const struct exp want[] = { { 1, 0, 0, 4, 0, scs } };
    (void)state;
    lim.max_chunk_size = 256;
    ls_buf_init(&v, 0);
    B(&v, 0x02, 0, 0, 0, 0, 0, 4, 1, 0, 0, 0, 0, 0, 0, 0x01, 0x00);
    check_vector_lim(&lim, &v, want, 1, LS_OK);
    B(&v, 0xc2, 0, 0, 0x01, 0x01);
    check_vector_lim(&lim, &v, want, 1, LS_ELIMIT);
    ls_buf_free(&v);
    /* with the default maximum, 65536 is accepted */
    ls_buf_init(&v, 0);
    B(&v, 0x02, 0, 0, 0, 0, 0, 4, 1, 0, 0, 0, 0, 0, 0x01, 0, 0);
    {
        static const uint8_t scs64k[] = { 0, 0x01, 0, 0 };
        static const struct exp want64k[] = { { 1, 0, 0, 4, 0, scs64k } };
        check_vector_lim(NULL, &v, want64k, 1, LS_OK);
    }
    ls_buf_free(&v);
}

static void test_reader_new_rejects_bad_limits(void **state)
{
    struct ls_chunk_limits lim;
    (void)state;
    lim = ls_chunk_default_limits;
    lim.max_chunk_size = 0;
    assert_null(ls_chunk_reader_new(&lim));
    lim.max_chunk_size = LS_RTMP_MAX_CHUNK_SIZE + 1;
    assert_null(ls_chunk_reader_new(&lim));
    lim = ls_chunk_default_limits;
    lim.max_message_size = 0;
    assert_null(ls_chunk_reader_new(&lim));
    lim = ls_chunk_default_limits;
    lim.max_chunk_streams = 0;
    assert_null(ls_chunk_reader_new(&lim));
    lim = ls_chunk_default_limits;
    lim.max_pending_bytes = 0;
    assert_null(ls_chunk_reader_new(&lim));
    assert_int_equal(ls_chunk_default_limits.max_chunk_size, 65536);
    assert_int_equal(ls_chunk_default_limits.max_message_size, 8 << 20);
    assert_int_equal(ls_chunk_default_limits.max_chunk_streams, 64);
    assert_int_equal(ls_chunk_default_limits.max_pending_bytes, 16 << 20);
}

/* Freeing a reader with messages in progress releases them (checked by ASan/valgrind). */
static void test_reader_free_with_partials(void **state)
{
    struct ls_chunk_reader *r = ls_chunk_reader_new(NULL);
    struct ls_buf v;
    struct ls_frame *msg;
    (void)state;
    ls_buf_init(&v, 0);
    B(&v, 0x03, 0, 0, 0, 0, 0x01, 0x2c, 9, 0, 0, 0, 0);
    fill(&v, 1, 0, 128);
    B(&v, 0x04, 0, 0, 0, 0, 0x01, 0x2c, 9, 0, 0, 0, 0);
    fill(&v, 1, 0, 5);
    assert_int_equal(ls_chunk_reader_feed(r, v.data, v.len, &msg, NULL), (ssize_t)v.len);
    assert_null(msg);
    ls_chunk_reader_free(r);
    ls_buf_free(&v);
}

/* Sanitizer runtimes reserve terabytes of address space: no RLIMIT_AS games there. */
#if defined(__SANITIZE_ADDRESS__)
#define UNDER_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define UNDER_ASAN 1
#endif
#endif

/* A message that cannot be allocated is LS_ENOMEM, not a crash (address space capped). */
/*
 * A message buffer that cannot grow is LS_ENOMEM. The buffer grows as the chunks arrive,
 * so the 16 MiB message fails part way through its payload, not at its header.
 */
static void test_read_enomem(void **state)
{
#ifdef UNDER_ASAN
    (void)state;
    skip();
#else
    struct ls_chunk_limits lim = ls_chunk_default_limits;
    struct ls_chunk_reader *r;
    struct ls_frame *msg;
    struct rlimit old, capped;
    const char *why = NULL;
    long pages = 0;
    FILE *f;
    static const uint8_t scs[] = { 0x02, 0, 0, 0, 0, 0, 4, 1, 0, 0, 0, 0, 0, 0x01, 0, 0 };
    static const uint8_t hdr[] = { 0x03, 0, 0, 0, 0xff, 0xff, 0xff, 9, 0, 0, 0, 0 };
    struct ls_buf in;
    size_t off = 0;
    ssize_t n;
    (void)state;
    lim.max_message_size = 0xffffff;
    r = ls_chunk_reader_new(&lim);
    assert_non_null(r);
    /* Set Chunk Size 65536, the header, then 8 MiB of the payload in 64 KiB chunks: built
     * before the cap, so the input itself is not what runs out */
    ls_buf_init(&in, 0);
    ls_buf_append(&in, scs, sizeof scs);
    ls_buf_append(&in, hdr, sizeof hdr);
    while (in.len < (8u << 20)) {
        if (in.len > sizeof scs + sizeof hdr)
            ls_buf_put_u8(&in, 0xc3);
        assert_int_equal(ls_buf_reserve(&in, 65536), LS_OK);
        memset(in.data + in.len, 0x17, 65536);
        in.len += 65536;
    }
    assert_int_equal(ls_buf_status(&in), LS_OK);
    f = fopen("/proc/self/statm", "r");
    assert_non_null(f);
    assert_int_equal(fscanf(f, "%ld", &pages), 1);
    fclose(f);
    assert_int_equal(getrlimit(RLIMIT_AS, &old), 0);
    capped = old;
    capped.rlim_cur = (rlim_t)pages * 4096 + (4u << 20); /* 4 MiB more than now */
    if (old.rlim_cur != RLIM_INFINITY && old.rlim_cur < capped.rlim_cur)
        capped.rlim_cur = old.rlim_cur;
    assert_int_equal(setrlimit(RLIMIT_AS, &capped), 0);
    /* the header alone costs one small buffer */
    assert_int_equal(ls_chunk_reader_feed(r, in.data, sizeof scs, &msg, &why), sizeof scs);
    ls_frame_unref(msg);
    off = sizeof scs;
    assert_int_equal(ls_chunk_reader_feed(r, in.data + off, sizeof hdr, &msg, &why),
                     sizeof hdr);
    assert_null(msg);
    off += sizeof hdr;
    n = ls_chunk_reader_feed(r, in.data + off, in.len - off, &msg, &why);
    assert_int_equal(setrlimit(RLIMIT_AS, &old), 0);
    assert_int_equal(n, LS_ENOMEM);
    assert_null(msg);
    assert_non_null(why);
    ls_chunk_reader_free(r);
    ls_buf_free(&in);
#endif
}

/* ---- reader: acknowledgements ------------------------------------------------------ */

static void test_read_ack_window(void **state)
{
    struct ls_chunk_limits lim = ls_chunk_default_limits;
    struct ls_chunk_reader *r;
    struct ls_buf v;
    struct ls_frame *msg;
    uint32_t seq = 0;
    (void)state;
    lim.min_ack_window = 0; /* small windows as the peer asks (the floor: below) */
    r = ls_chunk_reader_new(&lim);
    ls_buf_init(&v, 0);
    assert_false(ls_chunk_reader_ack_due(r, &seq)); /* no window yet */
    ls_control_write_window_ack_size(&v, 100);      /* 16 bytes */
    assert_int_equal(ls_chunk_reader_feed(r, v.data, v.len, &msg, NULL), 16);
    assert_non_null(msg);
    ls_frame_unref(msg);
    assert_int_equal(ls_chunk_reader_ack_window(r), 100);
    assert_false(ls_chunk_reader_ack_due(r, &seq));  /* 16 < 100 */
    /* a 300-byte message, fed in pieces; every 100 bytes an ack becomes due once */
    ls_buf_reset(&v);
    B(&v, 0x03, 0, 0, 0, 0, 0x01, 0x2c, 9, 0, 0, 0, 0);
    fill(&v, 1, 0, 128);
    B(&v, 0xc3);
    fill(&v, 1, 128, 128);
    B(&v, 0xc3);
    fill(&v, 1, 256, 44);                          /* 12 + 128 + 1 + 128 + 1 + 44 = 314 */
    assert_int_equal(ls_chunk_reader_feed(r, v.data, 84, &msg, NULL), 84); /* 100 */
    assert_true(ls_chunk_reader_ack_due(r, &seq));
    assert_int_equal(seq, 100);
    assert_false(ls_chunk_reader_ack_due(r, &seq));
    assert_int_equal(ls_chunk_reader_feed(r, v.data + 84, 99, &msg, NULL), 99); /* 199 */
    assert_false(ls_chunk_reader_ack_due(r, &seq));
    assert_int_equal(ls_chunk_reader_feed(r, v.data + 183, 131, &msg, NULL), 131);
    assert_non_null(msg);
    ls_frame_unref(msg);
    assert_int_equal(ls_chunk_reader_bytes_received(r), 330);
    assert_true(ls_chunk_reader_ack_due(r, &seq));  /* 230 since the last ack */
    assert_int_equal(seq, 330);
    assert_false(ls_chunk_reader_ack_due(r, &seq));
    /* window 0 turns acknowledgements off */
    ls_buf_reset(&v);
    ls_control_write_window_ack_size(&v, 0);
    assert_int_equal(ls_chunk_reader_feed(r, v.data, v.len, &msg, NULL), 16);
    ls_frame_unref(msg);
    assert_false(ls_chunk_reader_ack_due(r, &seq));
    ls_chunk_reader_free(r);
    ls_buf_free(&v);
}

/*
 * A peer cannot ask for an acknowledgement per byte: a window below min_ack_window (default
 * 4096) is raised to it; 0 still means none. The hostile pattern: window 1, then a stream
 * of one-byte type-3 headers each completing a zero-length message.
 */
static void test_read_ack_window_floor(void **state)
{
    struct ls_chunk_limits lim = ls_chunk_default_limits;
    struct ls_chunk_reader *r;
    struct ls_buf v;
    struct ls_frame *msg;
    uint32_t seq = 0;
    size_t i, acks = 0;
    (void)state;
    lim.max_empty_messages = 0; /* that bound would stop this input first: see below */
    r = ls_chunk_reader_new(&lim);
    ls_buf_init(&v, 0);
    ls_control_write_window_ack_size(&v, 1);
    assert_int_equal(ls_chunk_reader_feed(r, v.data, v.len, &msg, NULL), 16);
    ls_frame_unref(msg);
    assert_int_equal(ls_chunk_reader_ack_window(r), LS_CHUNK_MIN_ACK_WINDOW);
    ls_buf_reset(&v);
    B(&v, 0x03, 0, 0, 0, 0, 0, 0, 8, 1, 0, 0, 0); /* a zero-length audio message */
    assert_int_equal(ls_chunk_reader_feed(r, v.data, v.len, &msg, NULL), 12);
    ls_frame_unref(msg);
    acks += ls_chunk_reader_ack_due(r, &seq);
    for (i = 0; i < 1000; i++) { /* the next messages: one byte each */
        static const uint8_t t3 = 0xc3;

        assert_int_equal(ls_chunk_reader_feed(r, &t3, 1, &msg, NULL), 1);
        ls_frame_unref(msg);
        acks += ls_chunk_reader_ack_due(r, &seq);
    }
    assert_int_equal(acks, 0); /* 16 + 12 + 1000 bytes < 4096 */
    for (i = 0; i < 3100; i++) {
        static const uint8_t t3 = 0xc3;

        assert_int_equal(ls_chunk_reader_feed(r, &t3, 1, &msg, NULL), 1);
        ls_frame_unref(msg);
        acks += ls_chunk_reader_ack_due(r, &seq);
    }
    assert_int_equal(acks, 1);
    assert_int_equal(seq, 4096);
    /* 0 turns acknowledgements off, floor or not */
    ls_buf_reset(&v);
    ls_control_write_window_ack_size(&v, 0);
    ls_chunk_reader_free(r);
    r = ls_chunk_reader_new(NULL);
    assert_int_equal(ls_chunk_reader_feed(r, v.data, v.len, &msg, NULL), 16);
    ls_frame_unref(msg);
    assert_int_equal(ls_chunk_reader_ack_window(r), 0);
    ls_chunk_reader_free(r);
    ls_buf_free(&v);
}

/* A run of zero-length messages longer than max_empty_messages fails the reader; any
 * message with a payload ends a run. */
static void test_read_limit_empty_run(void **state)
{
    struct ls_chunk_limits lim = ls_chunk_default_limits;
    struct ls_chunk_reader *r;
    struct ls_buf v;
    struct ls_frame *msg;
    const char *why = NULL;
    static const uint8_t t3 = 0xc3;
    size_t i;
    (void)state;
    lim.max_empty_messages = 10;
    r = ls_chunk_reader_new(&lim);
    ls_buf_init(&v, 0);
    B(&v, 0x03, 0, 0, 0, 0, 0, 0, 8, 1, 0, 0, 0); /* empty message 1 */
    assert_int_equal(ls_chunk_reader_feed(r, v.data, v.len, &msg, NULL), 12);
    ls_frame_unref(msg);
    for (i = 2; i <= 10; i++) {
        assert_int_equal(ls_chunk_reader_feed(r, &t3, 1, &msg, NULL), 1);
        assert_non_null(msg);
        ls_frame_unref(msg);
    }
    /* a one-byte message on another chunk stream ends the run */
    ls_buf_reset(&v);
    B(&v, 0x04, 0, 0, 0, 0, 0, 1, 8, 1, 0, 0, 0, 0xaf);
    assert_int_equal(ls_chunk_reader_feed(r, v.data, v.len, &msg, NULL), 13);
    assert_non_null(msg);
    ls_frame_unref(msg);
    for (i = 1; i <= 10; i++) {
        assert_int_equal(ls_chunk_reader_feed(r, &t3, 1, &msg, NULL), 1);
        ls_frame_unref(msg);
    }
    /* the eleventh in a row */
    assert_int_equal(ls_chunk_reader_feed(r, &t3, 1, &msg, &why), LS_ELIMIT);
    assert_null(msg);
    assert_string_equal(why, "too many zero-length messages in a row");
    ls_chunk_reader_free(r);
    /* 0: no bound */
    lim.max_empty_messages = 0;
    r = ls_chunk_reader_new(&lim);
    ls_buf_reset(&v);
    B(&v, 0x03, 0, 0, 0, 0, 0, 0, 8, 1, 0, 0, 0);
    assert_int_equal(ls_chunk_reader_feed(r, v.data, v.len, &msg, NULL), 12);
    ls_frame_unref(msg);
    for (i = 0; i < 5000; i++) {
        assert_int_equal(ls_chunk_reader_feed(r, &t3, 1, &msg, NULL), 1);
        ls_frame_unref(msg);
    }
    ls_chunk_reader_free(r);
    ls_buf_free(&v);
}

/*
 * An announced length costs memory only as the payload arrives: a 16 MiB - 1 message
 * whose header and first chunk are in takes no more than LS_CHUNK_PREALLOC_MAX, checked
 * with the address space capped at 4 MiB above what the process uses (it would need the
 * whole 16 MiB at once if the buffer were reserved at the header). The whole message
 * then arrives intact.
 */
static void test_read_grows_with_payload(void **state)
{
#ifdef UNDER_ASAN
    (void)state;
    skip();
#else
    struct ls_chunk_limits lim = ls_chunk_default_limits;
    struct ls_chunk_reader *r;
    struct ls_frame *msg = NULL;
    struct rlimit old, capped;
    long pages = 0;
    FILE *f;
    static const uint8_t scs[] = { 0x02, 0, 0, 0, 0, 0, 4, 1, 0, 0, 0, 0, 0, 0x01, 0, 0 };
    static const uint8_t hdr[] = { 0x03, 0, 0, 0, 0xff, 0xff, 0xff, 9, 0, 0, 0, 0 };
    uint8_t chunk[4096];
    size_t i, sent = 0;
    ssize_t n;
    (void)state;
    lim.max_message_size = 0xffffff;
    lim.max_pending_bytes = 1u << 30;
    r = ls_chunk_reader_new(&lim);
    assert_non_null(r);
    assert_int_equal(ls_chunk_reader_feed(r, scs, sizeof scs, &msg, NULL), sizeof scs);
    ls_frame_unref(msg);
    for (i = 0; i < sizeof chunk; i++)
        chunk[i] = (uint8_t)i;
    f = fopen("/proc/self/statm", "r");
    assert_non_null(f);
    assert_int_equal(fscanf(f, "%ld", &pages), 1);
    fclose(f);
    assert_int_equal(getrlimit(RLIMIT_AS, &old), 0);
    capped = old;
    capped.rlim_cur = (rlim_t)pages * 4096 + (4u << 20);
    if (old.rlim_cur != RLIM_INFINITY && old.rlim_cur < capped.rlim_cur)
        capped.rlim_cur = old.rlim_cur;
    assert_int_equal(setrlimit(RLIMIT_AS, &capped), 0);
    n = ls_chunk_reader_feed(r, hdr, sizeof hdr, &msg, NULL);
    if (n == (ssize_t)sizeof hdr)
        n = ls_chunk_reader_feed(r, chunk, sizeof chunk, &msg, NULL);
    assert_int_equal(setrlimit(RLIMIT_AS, &old), 0);
    assert_int_equal(n, sizeof chunk);
    assert_null(msg);
    sent = sizeof chunk;
    /* the rest, in 64 KiB chunks (a type-3 header each) */
    while (sent < 0xffffff) {
        static const uint8_t t3 = 0xc3;
        size_t part = 65536 - sent % 65536, k;

        if (part > 0xffffff - sent)
            part = 0xffffff - sent;
        if (sent % 65536 == 0)
            assert_int_equal(ls_chunk_reader_feed(r, &t3, 1, &msg, NULL), 1);
        for (k = 0; k < part; k += n) {
            size_t piece = part - k < sizeof chunk ? part - k : sizeof chunk;

            n = ls_chunk_reader_feed(r, chunk, piece, &msg, NULL);
            assert_int_equal(n, piece);
        }
        sent += part;
    }
    assert_non_null(msg);
    assert_int_equal(msg->len, 0xffffff);
    for (i = 0; i < msg->len; i += 4093)
        assert_int_equal(msg->data[i], (uint8_t)(i % 65536 % 4096));
    ls_frame_unref(msg);
    ls_chunk_reader_free(r);
#endif
}

/* The sequence number is the byte count modulo 2^32 (RTMP 1.0 §5.4.3). */
static void test_read_ack_sequence_wraps(void **state)
{
    struct ls_chunk_reader *r = ls_chunk_reader_new(NULL);
    struct ls_buf v, big;
    struct ls_frame *msg;
    uint32_t seq = 0;
    uint64_t total;
    const uint32_t len = 8u << 20;
    size_t i;
    uint8_t *payload = calloc(1, len);
    (void)state;
    assert_non_null(payload);
    ls_buf_init(&v, 0);
    ls_buf_init(&big, 0);
    ls_control_write_set_chunk_size(&v, 65536);
    ls_control_write_window_ack_size(&v, 0x80000000u);
    assert_int_equal(ls_chunk_reader_feed(r, v.data, v.len, &msg, NULL), 16);
    ls_frame_unref(msg);
    assert_int_equal(ls_chunk_reader_feed(r, v.data + 16, 16, &msg, NULL), 16);
    ls_frame_unref(msg);
    ls_chunk_write(&big, 6, 9, 0, 1, payload, len, 65536);
    assert_int_equal(ls_buf_status(&big), LS_OK);
    free(payload);
    total = 32;
    for (i = 0; total + big.len <= 0x80000000u; i++) {
        assert_int_equal(ls_chunk_reader_feed(r, big.data, big.len, &msg, NULL), (ssize_t)big.len);
        ls_frame_unref(msg);
        total += big.len;
    }
    assert_false(ls_chunk_reader_ack_due(r, &seq));
    while (total <= 0x100000000ull) {
        assert_int_equal(ls_chunk_reader_feed(r, big.data, big.len, &msg, NULL), (ssize_t)big.len);
        ls_frame_unref(msg);
        total += big.len;
        if (total >= 0x80000000u && total - big.len < 0x80000000u) {
            assert_true(ls_chunk_reader_ack_due(r, &seq));
            assert_int_equal(seq, (uint32_t)total);
        }
    }
    assert_int_equal(ls_chunk_reader_bytes_received(r), total);
    assert_true(ls_chunk_reader_ack_due(r, &seq)); /* 2^31 more since the first ack */
    assert_int_equal(seq, (uint32_t)total);
    assert_true(seq < 0x80000000u);                /* wrapped */
    ls_chunk_reader_free(r);
    ls_buf_free(&v);
    ls_buf_free(&big);
}

/* ---- writer --------------------------------------------------------------------------- */

static void test_write_exact_bytes(void **state)
{
    struct ls_buf out;
    static const uint8_t want1[] = { 0x03, 0x00, 0x01, 0x02, 0x00, 0x00, 0x05, 0x14,
                                     0x01, 0x02, 0x03, 0x04, 'h', 'e', 'l', 'l', 'o' };
    /* csid 64 (2-byte form), zero length, extended timestamp */
    static const uint8_t want2[] = { 0x00, 0x00, 0xff, 0xff, 0xff, 0x00, 0x00, 0x00, 0x08,
                                     0x07, 0x00, 0x00, 0x00, 0x12, 0x34, 0x56, 0x78 };
    /* csid 320 (3-byte form), 3 bytes at chunk size 2, timestamp 0xFFFFFE (not extended) */
    static const uint8_t want3[] = { 0x01, 0x00, 0x01, 0xff, 0xff, 0xfe, 0x00, 0x00, 0x03,
                                     0x12, 0x01, 0x00, 0x00, 0x00, 'a', 'b',
                                     0xc1, 0x00, 0x01, 'c' };
    /* csid 319 (2-byte form): 2 bytes at chunk size 1 with extended timestamp */
    static const uint8_t want4[] = { 0x00, 0xff, 0xff, 0xff, 0xff, 0x00, 0x00, 0x02, 0x09,
                                     0x01, 0x00, 0x00, 0x00, 0xff, 0xff, 0xff, 0xff, 'x',
                                     0xc0, 0xff, 0xff, 0xff, 0xff, 0xff, 'y' };
    (void)state;
    ls_buf_init(&out, 0);
    ls_chunk_write(&out, 3, 20, 0x102, 0x04030201, (const uint8_t *)"hello", 5, 128);
    assert_int_equal(out.len, sizeof want1);
    assert_memory_equal(out.data, want1, sizeof want1);
    ls_buf_reset(&out);
    ls_chunk_write(&out, 64, 8, 0x12345678, 7, NULL, 0, 128);
    assert_int_equal(out.len, sizeof want2);
    assert_memory_equal(out.data, want2, sizeof want2);
    ls_buf_reset(&out);
    ls_chunk_write(&out, 320, 18, 0xfffffe, 1, (const uint8_t *)"abc", 3, 2);
    assert_int_equal(out.len, sizeof want3);
    assert_memory_equal(out.data, want3, sizeof want3);
    ls_buf_reset(&out);
    ls_chunk_write(&out, 319, 9, 0xffffffff, 1, (const uint8_t *)"xy", 2, 1);
    assert_int_equal(out.len, sizeof want4);
    assert_memory_equal(out.data, want4, sizeof want4);
    assert_int_equal(ls_buf_status(&out), LS_OK);
    ls_buf_free(&out);
}

/* The writer's layout of RTMP 1.0 §5.3.2.2 equals the reader vector above. */
static void test_write_spec_example2(void **state)
{
    struct ls_buf out, v;
    uint8_t payload[307];
    size_t i;
    (void)state;
    for (i = 0; i < sizeof payload; i++)
        payload[i] = pat(9, i);
    ls_buf_init(&v, 0);
    B(&v, 0x04, 0x00, 0x03, 0xe8, 0x00, 0x01, 0x33, 0x09, 0x3a, 0x30, 0x00, 0x00);
    fill(&v, 9, 0, 128);
    B(&v, 0xc4);
    fill(&v, 9, 128, 128);
    B(&v, 0xc4);
    fill(&v, 9, 256, 51);
    ls_buf_init(&out, 0);
    ls_chunk_write(&out, 4, 9, 1000, 12346, payload, sizeof payload, 128);
    assert_int_equal(out.len, v.len);
    assert_memory_equal(out.data, v.data, v.len);
    ls_buf_free(&out);
    ls_buf_free(&v);
}

/* Golden bytes written independently by test/unit/data/chunk_golden.py. */
static void test_write_golden_file(void **state)
{
    static const struct {
        uint32_t csid;
        uint8_t type;
        uint32_t ts, sid, len;
        unsigned seed;
        uint32_t cs;
    } golden_msgs[] = {
        { 3, 20, 0, 0, 200, 1, 128 },
        { 320, 9, 0x01020304, 1, 300, 2, 100 },
        { 64, 8, 0xffffff, 7, 0, 3, 128 },
        { 65599, 18, 0xfffffe, 0x01020304, 5, 4, 1 },
        { 319, 9, 0xffffffff, 1, 257, 5, 256 },
        { 63, 8, 40, 1, 128, 6, 128 },
    };
    struct ls_buf out;
    uint8_t *golden, payload[300];
    size_t glen, i, j;
    (void)state;
    golden = input_read_file("test/unit/data/chunk_write_golden.bin", &glen);
    ls_buf_init(&out, 0);
    for (i = 0; i < N(golden_msgs); i++) {
        for (j = 0; j < golden_msgs[i].len; j++)
            payload[j] = pat(golden_msgs[i].seed, j);
        ls_chunk_write(&out, golden_msgs[i].csid, golden_msgs[i].type, golden_msgs[i].ts,
                       golden_msgs[i].sid, payload, golden_msgs[i].len, golden_msgs[i].cs);
    }
    assert_int_equal(ls_buf_status(&out), LS_OK);
    assert_int_equal(out.len, glen);
    assert_memory_equal(out.data, golden, glen);
    free(golden);
    ls_buf_free(&out);
}

/* write_mem writes exactly encoded_size bytes and nothing after them. */
static void test_write_mem_canary(void **state)
{
    static const uint32_t csids[] = { 2, 63, 64, 319, 320, 65599 };
    static const uint32_t tss[] = { 0, 0xfffffe, 0xffffff, 0xffffffff };
    static const uint32_t lens[] = { 0, 1, 127, 128, 129, 300 };
    static const uint32_t css[] = { 1, 7, 128, 4096 };
    uint8_t payload[300], mem[300 * 8 + 64];
    size_t a, b, c, d, size, i;
    struct ls_buf out;
    (void)state;
    for (i = 0; i < sizeof payload; i++)
        payload[i] = pat(11, i);
    ls_buf_init(&out, 0);
    for (a = 0; a < N(csids); a++)
        for (b = 0; b < N(tss); b++)
            for (c = 0; c < N(lens); c++)
                for (d = 0; d < N(css); d++) {
                    size = ls_chunk_encoded_size(csids[a], tss[b], lens[c], css[d]);
                    assert_true(size > 0 && size + 16 <= sizeof mem);
                    memset(mem, 0xa5, sizeof mem);
                    assert_int_equal(ls_chunk_write_mem(mem, csids[a], 9, tss[b], 1, payload,
                                                        lens[c], css[d]), size);
                    for (i = size; i < size + 16; i++)
                        assert_int_equal(mem[i], 0xa5);
                    ls_buf_reset(&out);
                    ls_chunk_write(&out, csids[a], 9, tss[b], 1, payload, lens[c], css[d]);
                    assert_int_equal(out.len, size);
                    assert_memory_equal(out.data, mem, size);
                }
    ls_buf_free(&out);
}

static void test_write_invalid_args(void **state)
{
    static const struct {
        uint32_t csid, len, cs;
    } bad[] = {
        { 0, 1, 128 }, { 1, 1, 128 }, { 65600, 1, 128 }, { 3, 0x1000000, 128 },
        { 3, 1, 0 }, { 3, 1, 0x80000000u },
    };
    uint8_t mem[32];
    struct ls_buf out;
    size_t i;
    (void)state;
    for (i = 0; i < N(bad); i++) {
        assert_int_equal(ls_chunk_encoded_size(bad[i].csid, 0, bad[i].len, bad[i].cs), 0);
        memset(mem, 0xa5, sizeof mem);
        assert_int_equal(ls_chunk_write_mem(mem, bad[i].csid, 9, 0, 0, mem, bad[i].len,
                                            bad[i].cs), 0);
        for (size_t j = 0; j < sizeof mem; j++)
            assert_int_equal(mem[j], 0xa5);
        ls_buf_init(&out, 0);
        ls_chunk_write(&out, bad[i].csid, 9, 0, 0, mem, bad[i].len, bad[i].cs);
        assert_int_equal(ls_buf_status(&out), LS_EINVAL);
        assert_int_equal(out.len, 0);
        ls_buf_free(&out);
    }
    /* the largest valid values are accepted */
    assert_int_equal(ls_chunk_encoded_size(65599, 0, 0xffffff, 0x7fffffff), 3 + 11 + 0xffffff);
    /* an earlier error is kept, not overwritten */
    ls_buf_init(&out, 4);
    ls_chunk_write(&out, 3, 9, 0, 0, mem, 1, 128);
    assert_int_equal(ls_buf_status(&out), LS_ELIMIT);
    ls_chunk_write(&out, 0, 9, 0, 0, mem, 1, 128);
    assert_int_equal(ls_buf_status(&out), LS_ELIMIT);
    assert_int_equal(out.len, 0);
    ls_buf_free(&out);
}

/* Writer → reader for many csids, lengths, chunk sizes and timestamps. */
static void test_round_trip(void **state)
{
    static const uint32_t csids[] = { 2, 3, 63, 64, 319, 320, 65599 };
    static const uint32_t tss[] = { 0, 1, 0xfffffe, 0xffffff, 0x1000000, 0xffffffff };
    static const uint32_t lens[] = { 0, 1, 2, 3, 4, 5, 127, 128, 129, 255, 256, 257, 1000,
                                     70000 };
    static const uint32_t css[] = { 1, 2, 3, 4, 5, 127, 128, 129, 4096, 65536 };
    uint8_t *payload = malloc(70000);
    struct ls_chunk_reader *r;
    struct ls_buf out;
    struct ls_frame *msg;
    size_t a, b, c, d, i, off;
    ssize_t n;
    unsigned count = 0;
    (void)state;
    assert_non_null(payload);
    for (i = 0; i < 70000; i++)
        payload[i] = pat(13, i);
    ls_buf_init(&out, 0);
    for (d = 0; d < N(css); d++) {
        r = ls_chunk_reader_new(NULL);
        assert_non_null(r);
        ls_buf_reset(&out);
        ls_control_write_set_chunk_size(&out, css[d]);
        assert_int_equal(ls_chunk_reader_feed(r, out.data, out.len, &msg, NULL), 16);
        assert_non_null(msg);
        ls_frame_unref(msg);
        assert_int_equal(ls_chunk_reader_chunk_size(r), css[d]);
        for (a = 0; a < N(csids); a++)
            for (b = 0; b < N(tss); b++)
                for (c = 0; c < N(lens); c++) {
                    if (css[d] < 16 && lens[c] > 1000)
                        continue;   /* same paths, much slower */
                    ls_buf_reset(&out);
                    ls_chunk_write(&out, csids[a], (uint8_t)(8 + c), tss[b],
                                   (uint32_t)(a * 1000 + b), payload, lens[c], css[d]);
                    assert_int_equal(ls_buf_status(&out), LS_OK);
                    /* alternate whole and byte-at-a-time feeding */
                    off = 0;
                    msg = NULL;
                    while (msg == NULL) {
                        size_t piece = count % 2 ? 1 : out.len - off;
                        n = ls_chunk_reader_feed(r, out.data + off, piece, &msg, NULL);
                        assert_true(n >= 0);
                        off += (size_t)n;
                    }
                    assert_int_equal(off, out.len);
                    assert_int_equal(msg->type, 8 + c);
                    assert_int_equal(msg->timestamp, tss[b]);
                    assert_int_equal(msg->stream_id, a * 1000 + b);
                    assert_int_equal(msg->len, lens[c]);
                    assert_memory_equal(msg->data, payload, lens[c]);
                    ls_frame_unref(msg);
                    count++;
                }
        ls_chunk_reader_free(r);
    }
    assert_true(count > 5000);
    free(payload);
    ls_buf_free(&out);
}

/* ---- real encoders -------------------------------------------------------------------- */

#define HANDSHAKE_BYTES 3073 /* C0 + C1 + C2 (or S0 + S1 + S2) */

/* Decodes a captured chunk stream whole, byte at a time and at many split points. */
static void decode_fixture(const char *path, struct result *res)
{
    uint8_t *data;
    size_t len, at;
    struct result other;

    data = input_read_file(path, &len);
    assert_true(len > HANDSHAKE_BYTES);
    decode(NULL, data + HANDSHAKE_BYTES, len - HANDSHAKE_BYTES, WHOLE, 0, res);
    assert_int_equal(res->err, LS_OK);
    decode(NULL, data + HANDSHAKE_BYTES, len - HANDSHAKE_BYTES, BYTES, 0, &other);
    assert_same_result(res, &other);
    result_free(&other);
    for (at = 0; at <= len - HANDSHAKE_BYTES; at += 97) {
        decode(NULL, data + HANDSHAKE_BYTES, len - HANDSHAKE_BYTES, SPLIT_AT, at, &other);
        assert_same_result(res, &other);
        result_free(&other);
    }
    free(data);
}

/* True when an AMF0 command/data payload starts with the AMF0 string `name`. */
static bool starts_with_amf0_string(const struct rec *m, const char *name)
{
    size_t n = strlen(name);

    return m->len >= 3 + n && m->data[0] == 0x02 && ls_get_be16(m->data + 1) == n &&
           memcmp(m->data + 3, name, n) == 0;
}

static void assert_command(const struct rec *m, uint8_t type, const char *name, uint32_t sid)
{
    print_message("  %s\n", name);
    assert_int_equal(m->type, type);
    assert_int_equal(m->sid, sid);
    assert_true(starts_with_amf0_string(m, name));
}

static struct ls_control parse_control(const struct rec *m)
{
    struct ls_frame *f = ls_frame_new_copy(m->type, m->ts, m->sid, m->data, m->len);
    struct ls_control c;
    const char *why = NULL;

    assert_non_null(f);
    assert_int_equal(ls_control_parse(f, &c, &why), LS_OK);
    ls_frame_unref(f);
    return c;
}

static void test_fixture_ffmpeg_publish_c2s(void **state)
{
    static const char *const before[] = { "connect", NULL, "releaseStream", "FCPublish",
                                          "createStream", "publish" };
    struct result res;
    struct ls_control c;
    size_t i, k, video = 0, audio = 0, avc_hdr = 0, avc_nalu = 0, avc_eos = 0, key = 0;
    size_t aac_hdr = 0, aac_raw = 0;
    uint32_t last_video_ts = 0, last_audio_ts = 0;
    const struct rec *m;
    (void)state;
    decode_fixture("test/fixtures/ffmpeg_publish.c2s", &res);
    assert_int_equal(res.chunk_size, 4096);
    /* connect, Set Chunk Size, releaseStream, FCPublish, createStream, publish */
    for (i = 0; i < N(before); i++) {
        m = &res.msgs[i];
        if (before[i] == NULL) {
            assert_int_equal(m->type, LS_MSG_SET_CHUNK_SIZE);
            c = parse_control(m);
            assert_int_equal(c.chunk_size, 4096);
        } else {
            assert_command(m, LS_MSG_COMMAND_AMF0, before[i], i == 5 ? 1 : 0);
        }
    }
    m = &res.msgs[i++];
    assert_int_equal(m->type, LS_MSG_DATA_AMF0);
    assert_int_equal(m->sid, 1);
    assert_true(starts_with_amf0_string(m, "@setDataFrame"));
    /* media until FCUnpublish */
    for (; i < res.n && (res.msgs[i].type == LS_MSG_AUDIO || res.msgs[i].type == LS_MSG_VIDEO);
         i++) {
        m = &res.msgs[i];
        assert_int_equal(m->sid, 1);
        assert_true(m->len >= 2);
        if (m->type == LS_MSG_VIDEO) {
            video++;
            assert_true(m->ts >= last_video_ts);
            last_video_ts = m->ts;
            assert_int_equal(m->data[0] & 0x0f, 7); /* AVC */
            k = m->data[1];
            avc_hdr += k == 0;
            avc_nalu += k == 1;
            avc_eos += k == 2;
            key += k == 1 && (m->data[0] >> 4) == 1;
        } else {
            audio++;
            assert_true(m->ts >= last_audio_ts);
            last_audio_ts = m->ts;
            assert_int_equal(m->data[0] >> 4, 10); /* AAC */
            aac_hdr += m->data[1] == 0;
            aac_raw += m->data[1] == 1;
        }
    }
    /* README: 51 video tags = 1 AVC sequence header + 50 NALUs; ffmpeg also sends the
       FLV file's AVC end-of-sequence tag, so 52 video messages arrive. */
    assert_int_equal(avc_hdr, 1);
    assert_int_equal(avc_nalu, 50);
    assert_int_equal(avc_eos, 1);
    assert_int_equal(video, 52);
    assert_int_equal(key, 2);
    assert_int_equal(audio, 89);
    assert_int_equal(aac_hdr, 1);
    assert_int_equal(aac_raw, 88);
    assert_int_equal(last_audio_ts, 2077);
    assert_int_equal(res.n, i + 2);
    assert_command(&res.msgs[i], LS_MSG_COMMAND_AMF0, "FCUnpublish", 0);
    assert_command(&res.msgs[i + 1], LS_MSG_COMMAND_AMF0, "deleteStream", 0);
    result_free(&res);
}

static void test_fixture_ffmpeg_publish_s2c(void **state)
{
    struct result res;
    struct ls_control c;
    (void)state;
    decode_fixture("test/fixtures/ffmpeg_publish.s2c", &res);
    assert_int_equal(res.n, 7);
    c = parse_control(&res.msgs[0]);
    assert_int_equal(c.type, LS_MSG_WINDOW_ACK_SIZE);
    assert_int_equal(c.window, 5000000);
    c = parse_control(&res.msgs[1]);
    assert_int_equal(c.type, LS_MSG_SET_PEER_BANDWIDTH);
    assert_int_equal(c.window, 5000000);
    assert_int_equal(c.limit_type, LS_PEER_BW_DYNAMIC);
    c = parse_control(&res.msgs[2]);
    assert_int_equal(c.type, LS_MSG_SET_CHUNK_SIZE);
    assert_int_equal(c.chunk_size, 4096);
    assert_int_equal(res.chunk_size, 4096);
    assert_command(&res.msgs[3], LS_MSG_COMMAND_AMF0, "_result", 0);  /* connect */
    assert_command(&res.msgs[4], LS_MSG_COMMAND_AMF0, "_result", 0);  /* createStream */
    assert_command(&res.msgs[5], LS_MSG_COMMAND_AMF0, "onStatus", 1); /* publish start */
    assert_command(&res.msgs[6], LS_MSG_COMMAND_AMF0, "onStatus", 1); /* unpublish */
    result_free(&res);
}

static void test_fixture_ffprobe_play_c2s(void **state)
{
    struct result res;
    struct ls_control c;
    (void)state;
    decode_fixture("test/fixtures/ffprobe_play.c2s", &res);
    assert_int_equal(res.n, 7);
    assert_command(&res.msgs[0], LS_MSG_COMMAND_AMF0, "connect", 0);
    c = parse_control(&res.msgs[1]);
    assert_int_equal(c.type, LS_MSG_WINDOW_ACK_SIZE);
    assert_int_equal(c.window, 5000000);
    assert_command(&res.msgs[2], LS_MSG_COMMAND_AMF0, "createStream", 0);
    assert_command(&res.msgs[3], LS_MSG_COMMAND_AMF0, "getStreamLength", 0);
    assert_command(&res.msgs[4], LS_MSG_COMMAND_AMF0, "play", 1);
    c = parse_control(&res.msgs[5]);
    assert_int_equal(c.type, LS_MSG_USER_CONTROL);
    assert_true(c.known_event);
    assert_int_equal(c.event, LS_UC_SET_BUFFER_LENGTH);
    assert_int_equal(c.stream_id, 1);
    assert_int_equal(c.buffer_ms, 3000);
    assert_int_equal(res.msgs[5].ts, 1);
    assert_command(&res.msgs[6], LS_MSG_COMMAND_AMF0, "deleteStream", 0);
    assert_int_equal(res.chunk_size, 128); /* ffprobe never changes its chunk size */
    result_free(&res);
}

static void test_fixture_ffprobe_play_s2c(void **state)
{
    struct result res;
    struct ls_control c;
    size_t i, video = 0, audio = 0;
    (void)state;
    decode_fixture("test/fixtures/ffprobe_play.s2c", &res);
    c = parse_control(&res.msgs[0]);
    assert_int_equal(c.type, LS_MSG_WINDOW_ACK_SIZE);
    assert_int_equal(c.window, 5000000);
    c = parse_control(&res.msgs[1]);
    assert_int_equal(c.type, LS_MSG_SET_PEER_BANDWIDTH);
    assert_int_equal(c.window, 5000000);
    assert_int_equal(c.limit_type, LS_PEER_BW_DYNAMIC);
    c = parse_control(&res.msgs[2]);
    assert_int_equal(c.chunk_size, 4096);
    assert_command(&res.msgs[3], LS_MSG_COMMAND_AMF0, "_result", 0);
    assert_command(&res.msgs[4], LS_MSG_COMMAND_AMF0, "_result", 0);
    c = parse_control(&res.msgs[5]);
    assert_int_equal(c.event, LS_UC_STREAM_BEGIN);
    assert_true(c.known_event);
    assert_int_equal(c.stream_id, 1);
    assert_command(&res.msgs[6], LS_MSG_COMMAND_AMF0, "onStatus", 1);
    assert_command(&res.msgs[7], LS_MSG_DATA_AMF0, "|RtmpSampleAccess", 1);
    assert_command(&res.msgs[8], LS_MSG_DATA_AMF0, "onMetaData", 1);
    for (i = 9; i < res.n && (res.msgs[i].type == LS_MSG_AUDIO ||
                              res.msgs[i].type == LS_MSG_VIDEO); i++) {
        assert_int_equal(res.msgs[i].sid, 1);
        video += res.msgs[i].type == LS_MSG_VIDEO;
        audio += res.msgs[i].type == LS_MSG_AUDIO;
    }
    assert_int_equal(video, 42);
    assert_int_equal(audio, 77);
    assert_int_equal(res.n, i + 1);
    c = parse_control(&res.msgs[i]);
    assert_int_equal(c.event, LS_UC_STREAM_EOF);
    assert_int_equal(c.stream_id, 1);
    result_free(&res);
}

/* The one Set Chunk Size decoder, shared by the reader and ls_control_parse. */
static void test_chunk_size_decode(void **state)
{
    static const struct {
        uint8_t p[4];
        int rc;
        uint32_t size;
    } cases[] = {
        { { 0x00, 0x00, 0x00, 0x00 }, LS_EPROTO, 0 },
        { { 0x00, 0x00, 0x00, 0x01 }, LS_OK, 1 },
        { { 0x00, 0x00, 0x10, 0x00 }, LS_OK, 4096 },
        { { 0x7f, 0xff, 0xff, 0xff }, LS_OK, 0x7fffffffu },
        { { 0x80, 0x00, 0x00, 0x00 }, LS_EPROTO, 0 },
        { { 0x80, 0x00, 0x10, 0x00 }, LS_EPROTO, 0 },
    };
    size_t i;

    (void)state;
    for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        uint32_t size = 0;
        const char *why = NULL;

        assert_int_equal(ls_chunk_size_decode(cases[i].p, &size, &why), cases[i].rc);
        assert_int_equal(size, cases[i].size);
        if (cases[i].rc != LS_OK)
            assert_string_equal(why, "set chunk size of 0 or with the top bit set");
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_read_type0_single_chunk),
        cmocka_unit_test(test_read_csid_widths),
        cmocka_unit_test(test_read_spec_example1),
        cmocka_unit_test(test_read_spec_example2),
        cmocka_unit_test(test_read_type1_type2_type3),
        cmocka_unit_test(test_read_ext_ts_repeated),
        cmocka_unit_test(test_read_ext_ts_omitted),
        cmocka_unit_test(test_read_ext_delta_and_short_peek),
        cmocka_unit_test(test_read_interleaved),
        cmocka_unit_test(test_read_set_chunk_size_mid_stream),
        cmocka_unit_test(test_read_abort),
        cmocka_unit_test(test_read_zero_length),
        cmocka_unit_test(test_read_timestamp_wrap),
        cmocka_unit_test(test_read_malformed_table),
        cmocka_unit_test(test_read_error_is_sticky),
        cmocka_unit_test(test_read_limit_message_size),
        cmocka_unit_test(test_read_limit_chunk_streams),
        cmocka_unit_test(test_read_limit_pending),
        cmocka_unit_test(test_read_limit_chunk_size),
        cmocka_unit_test(test_reader_new_rejects_bad_limits),
        cmocka_unit_test(test_reader_free_with_partials),
        cmocka_unit_test(test_read_enomem),
        cmocka_unit_test(test_read_ack_window),
        cmocka_unit_test(test_read_ack_window_floor),
        cmocka_unit_test(test_read_limit_empty_run),
        cmocka_unit_test(test_read_grows_with_payload),
        cmocka_unit_test(test_read_ack_sequence_wraps),
        cmocka_unit_test(test_write_exact_bytes),
        cmocka_unit_test(test_write_spec_example2),
        cmocka_unit_test(test_write_golden_file),
        cmocka_unit_test(test_write_mem_canary),
        cmocka_unit_test(test_write_invalid_args),
        cmocka_unit_test(test_round_trip),
        cmocka_unit_test(test_fixture_ffmpeg_publish_c2s),
        cmocka_unit_test(test_fixture_ffmpeg_publish_s2c),
        cmocka_unit_test(test_fixture_ffprobe_play_c2s),
        cmocka_unit_test(test_fixture_ffprobe_play_s2c),
        cmocka_unit_test(test_chunk_size_decode),
    };
    return cmocka_run_group_tests_name("chunk", tests, NULL, NULL);
}
