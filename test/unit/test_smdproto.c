/*
 * Unit tests for smdproto.c: the spd <-> smd registry messages.
 *
 * Golden vectors: two payloads whose bytes were produced independently (Python's struct
 * module writing AMF0 by the spec), so the encoder is checked against the wire format and
 * not only against its own decoder. Signature known answers come from
 *   printf '%s' 'hello:NODE:ADVERTISE:TS' | openssl dgst -sha256 -hmac SECRET
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "libstream/amf0.h"
#include "libstream/buf.h"
#include "libstream/chunk.h"
#include "libstream/err.h"
#include "libstream/frame.h"
#include "libstream/hmac.h"
#include "libstream/rtmp.h"
#include "libstream/smdproto.h"

#define NONCE "00112233445566778899aabbccddeeff"
#define OTHER_NONCE "ffeeddccbbaa99887766554433221100"

/* register, txid 7, {id: "live/cam", since: 1700000000, takeover_idle_ms: 5000} */
static const uint8_t golden_register[] = {
    0x02, 0x00, 0x08, 0x72, 0x65, 0x67, 0x69, 0x73, 0x74, 0x65, 0x72, 0x00, 0x40, 0x1c, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x05, 0x03, 0x00, 0x02, 0x69, 0x64, 0x02, 0x00, 0x08, 0x6c,
    0x69, 0x76, 0x65, 0x2f, 0x63, 0x61, 0x6d, 0x00, 0x05, 0x73, 0x69, 0x6e, 0x63, 0x65, 0x00,
    0x41, 0xd9, 0x54, 0xfc, 0x40, 0x00, 0x00, 0x00, 0x00, 0x10, 0x74, 0x61, 0x6b, 0x65, 0x6f,
    0x76, 0x65, 0x72, 0x5f, 0x69, 0x64, 0x6c, 0x65, 0x5f, 0x6d, 0x73, 0x00, 0x40, 0xb3, 0x88,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x09,
};

/* registered, txid 0, {id: "a/b", node_id: "sp-1", origin: "10.0.0.1:1935", generation: 42} */
static const uint8_t golden_registered[] = {
    0x02, 0x00, 0x0a, 0x72, 0x65, 0x67, 0x69, 0x73, 0x74, 0x65, 0x72, 0x65, 0x64, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x05, 0x03, 0x00, 0x02, 0x69, 0x64, 0x02, 0x00,
    0x03, 0x61, 0x2f, 0x62, 0x00, 0x07, 0x6e, 0x6f, 0x64, 0x65, 0x5f, 0x69, 0x64, 0x02, 0x00,
    0x04, 0x73, 0x70, 0x2d, 0x31, 0x00, 0x06, 0x6f, 0x72, 0x69, 0x67, 0x69, 0x6e, 0x02, 0x00,
    0x0d, 0x31, 0x30, 0x2e, 0x30, 0x2e, 0x30, 0x2e, 0x31, 0x3a, 0x31, 0x39, 0x33, 0x35, 0x00,
    0x0a, 0x67, 0x65, 0x6e, 0x65, 0x72, 0x61, 0x74, 0x69, 0x6f, 0x6e, 0x00, 0x40, 0x45, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x09,
};

/* ---- helpers ---- */

static void encode_ok(const struct ls_smd_msg *m, struct ls_buf *b)
{
    ls_buf_init(b, 0);
    assert_int_equal(ls_smd_encode(b, m), LS_OK);
}

static void decode_ok(const uint8_t *p, size_t len, struct ls_smd_msg *out)
{
    const char *why = NULL;
    ssize_t rc = ls_smd_decode(p, len, out, &why);

    if (rc != (ssize_t)len)
        fail_msg("decode: %zd (%s)", rc, why != NULL ? why : "");
}

/* The decoded message equals the original (all fields of the struct, present or not). */
static void assert_msg_equal(const struct ls_smd_msg *a, const struct ls_smd_msg *b)
{
    assert_int_equal(a->kind, b->kind);
    assert_int_equal(a->txid, b->txid);
    assert_int_equal(a->fields, b->fields);
    assert_memory_equal(a, b, sizeof *a);
}

static struct ls_smd_msg full(enum ls_smd_kind kind, uint32_t txid)
{
    struct ls_smd_msg m;
    unsigned allowed = ls_smd_allowed_fields(kind);

    ls_smd_msg_init(&m, kind, txid);
    if (allowed & LS_SMD_F_ID)
        assert_int_equal(ls_smd_set_str(&m, LS_SMD_F_ID, "live/cam-1"), LS_OK);
    if (allowed & LS_SMD_F_NODE_ID)
        assert_int_equal(ls_smd_set_str(&m, LS_SMD_F_NODE_ID, "sp-1.example"), LS_OK);
    if (allowed & LS_SMD_F_ORIGIN)
        assert_int_equal(ls_smd_set_str(&m, LS_SMD_F_ORIGIN, "[2001:db8::1]:1935"), LS_OK);
    if (allowed & LS_SMD_F_TS)
        assert_int_equal(ls_smd_set_num(&m, LS_SMD_F_TS, 1700000000), LS_OK);
    if (allowed & LS_SMD_F_SIG)
        assert_int_equal(ls_smd_set_str(&m, LS_SMD_F_SIG,
                         "0282901571ded458663d68d3cf1c56a219043a3a15be06e4358f2a4a23aba9b9"),
                         LS_OK);
    if (allowed & LS_SMD_F_VERSION)
        assert_int_equal(ls_smd_set_str(&m, LS_SMD_F_VERSION, LS_SMD_VERSION), LS_OK);
    if (allowed & LS_SMD_F_GENERATION)
        assert_int_equal(ls_smd_set_num(&m, LS_SMD_F_GENERATION, LS_SMD_UINT_MAX), LS_OK);
    if (allowed & LS_SMD_F_SINCE)
        assert_int_equal(ls_smd_set_num(&m, LS_SMD_F_SINCE, 1699999999), LS_OK);
    if (allowed & LS_SMD_F_TAKEOVER_IDLE_MS)
        assert_int_equal(ls_smd_set_num(&m, LS_SMD_F_TAKEOVER_IDLE_MS, 5000), LS_OK);
    if (allowed & LS_SMD_F_IDLE_MS)
        assert_int_equal(ls_smd_set_num(&m, LS_SMD_F_IDLE_MS, 0), LS_OK);
    if (allowed & LS_SMD_F_LEASE_SECONDS)
        assert_int_equal(ls_smd_set_num(&m, LS_SMD_F_LEASE_SECONDS, 10), LS_OK);
    if (allowed & LS_SMD_F_CODE)
        assert_int_equal(ls_smd_set_str(&m, LS_SMD_F_CODE, "Busy"), LS_OK);
    if (allowed & LS_SMD_F_DESCRIPTION)
        assert_int_equal(ls_smd_set_str(&m, LS_SMD_F_DESCRIPTION, "owned by \"sp-2\"\n"), LS_OK);
    if (allowed & LS_SMD_F_REANNOUNCE) {
        m.reannounce = true;
        m.fields |= LS_SMD_F_REANNOUNCE;
    }
    if (allowed & LS_SMD_F_NONCE)
        assert_int_equal(ls_smd_set_str(&m, LS_SMD_F_NONCE, NONCE), LS_OK);
    if (allowed & LS_SMD_F_ROLE)
        assert_int_equal(ls_smd_set_str(&m, LS_SMD_F_ROLE, "epd"), LS_OK);
    if (allowed & LS_SMD_F_REPORT_MS)
        assert_int_equal(ls_smd_set_num(&m, LS_SMD_F_REPORT_MS, 1000), LS_OK);
    return m;
}

static uint32_t txid_for(enum ls_smd_kind k)
{
    return k == LS_SMD_REVOKED || k == LS_SMD_REGISTERED || k == LS_SMD_CHALLENGE ||
                   k == LS_SMD_RESYNC
               ? 0
               : 4242;
}

/* ---- golden vectors ---- */

static void test_golden_register(void **state)
{
    struct ls_smd_msg m;
    struct ls_buf b;

    (void)state;
    ls_smd_msg_init(&m, LS_SMD_REGISTER, 7);
    ls_smd_set_num(&m, LS_SMD_F_TAKEOVER_IDLE_MS, 5000);
    ls_smd_set_str(&m, LS_SMD_F_ID, "live/cam");
    ls_smd_set_num(&m, LS_SMD_F_SINCE, 1700000000);
    encode_ok(&m, &b);
    assert_int_equal(b.len, sizeof golden_register);
    assert_memory_equal(b.data, golden_register, sizeof golden_register);
    ls_buf_free(&b);

    decode_ok(golden_register, sizeof golden_register, &m);
    assert_int_equal(m.kind, LS_SMD_REGISTER);
    assert_int_equal(m.txid, 7);
    assert_int_equal(m.fields, LS_SMD_F_ID | LS_SMD_F_SINCE | LS_SMD_F_TAKEOVER_IDLE_MS);
    assert_string_equal(m.id, "live/cam");
    assert_int_equal(m.since, 1700000000);
    assert_int_equal(m.takeover_idle_ms, 5000);
    assert_false(m.reannounce);
}

static void test_golden_registered(void **state)
{
    struct ls_smd_msg m;
    struct ls_buf b;

    (void)state;
    decode_ok(golden_registered, sizeof golden_registered, &m);
    assert_int_equal(m.kind, LS_SMD_REGISTERED);
    assert_int_equal(m.txid, 0);
    assert_string_equal(m.id, "a/b");
    assert_string_equal(m.node_id, "sp-1");
    assert_string_equal(m.origin, "10.0.0.1:1935");
    assert_int_equal(m.generation, 42);
    encode_ok(&m, &b);
    assert_int_equal(b.len, sizeof golden_registered);
    assert_memory_equal(b.data, golden_registered, sizeof golden_registered);
    ls_buf_free(&b);
}

/* ---- round trips ---- */

static void test_round_trip_every_kind(void **state)
{
    unsigned k;

    (void)state;
    for (k = LS_SMD_HELLO; k < LS_SMD_KIND_COUNT; k++) {
        struct ls_smd_msg m = full((enum ls_smd_kind)k, txid_for((enum ls_smd_kind)k)), d;
        struct ls_smd_msg min;
        struct ls_buf b;

        /* everything the kind allows */
        encode_ok(&m, &b);
        decode_ok(b.data, b.len, &d);
        assert_msg_equal(&m, &d);
        ls_buf_free(&b);

        /* only what it requires */
        ls_smd_msg_init(&min, m.kind, m.txid);
        min = m;
        min.fields = ls_smd_required_fields(m.kind);
        encode_ok(&min, &b);
        decode_ok(b.data, b.len, &d);
        assert_int_equal(d.fields, ls_smd_required_fields(m.kind));
        assert_int_equal(d.kind, m.kind);
        ls_buf_free(&b);
    }
}

static void test_hello_uses_advertise_key(void **state)
{
    struct ls_smd_msg m = full(LS_SMD_HELLO, 1);
    struct ls_buf b;

    (void)state;
    encode_ok(&m, &b);
    assert_non_null(memmem(b.data, b.len, "\x00\x09" "advertise", 11));
    assert_null(memmem(b.data, b.len, "origin", 6));
    ls_buf_free(&b);
    m = full(LS_SMD_REGISTERED, 0);
    encode_ok(&m, &b);
    assert_non_null(memmem(b.data, b.len, "\x00\x06" "origin", 8));
    ls_buf_free(&b);
}

/* Every proper prefix of a valid message is refused as malformed, never read past. */
static void test_truncations(void **state)
{
    struct ls_smd_msg m = full(LS_SMD_HELLO, 3), d;
    struct ls_buf b;
    size_t n;

    (void)state;
    encode_ok(&m, &b);
    for (n = 0; n < b.len; n++) {
        uint8_t *copy = malloc(n != 0 ? n : 1);

        memcpy(copy, b.data, n);
        assert_true(ls_smd_decode(copy, n, &d, NULL) < 0);
        assert_int_equal(d.kind, LS_SMD_UNKNOWN);
        assert_int_equal(d.fields, 0);
        free(copy);
    }
    ls_buf_free(&b);
}

/*
 * The real path: chunked as the connection sends it (4096-byte and 128-byte chunks), fed
 * to a chunk reader whole, one byte at a time, and split at every offset; the frame
 * decodes to the same message.
 */
static void feed_and_check(const uint8_t *wire, size_t len, const size_t *cuts, size_t ncuts,
                           const struct ls_smd_msg *want)
{
    struct ls_chunk_reader *r = ls_chunk_reader_new(NULL);
    struct ls_frame *got = NULL;
    size_t pos = 0, i;

    assert_non_null(r);
    for (i = 0; i <= ncuts; i++) {
        size_t end = i < ncuts ? cuts[i] : len;

        while (pos < end || (end == len && got == NULL && pos == len)) {
            struct ls_frame *msg = NULL;
            ssize_t n = ls_chunk_reader_feed(r, wire + pos, end - pos, &msg, NULL);

            assert_true(n >= 0);
            pos += (size_t)n;
            if (msg != NULL) {
                assert_null(got);
                got = msg;
            } else if (pos == end) {
                break;
            }
        }
    }
    assert_non_null(got);
    {
        struct ls_smd_msg d;

        assert_int_equal(ls_smd_decode_frame(got, &d, NULL), LS_OK);
        assert_msg_equal(want, &d);
    }
    ls_frame_unref(got);
    ls_chunk_reader_free(r);
}

static void test_through_the_chunk_stream(void **state)
{
    struct ls_smd_msg m = full(LS_SMD_ERROR, 99);
    struct ls_buf b;
    uint8_t *wire;
    size_t wlen, i, *bytes;

    (void)state;
    encode_ok(&m, &b);
    /* 128-byte chunks: the reader starts at the protocol default, so no Set Chunk Size */
    wlen = ls_chunk_encoded_size(LS_CSID_COMMAND, 0, (uint32_t)b.len, 128);
    wire = malloc(wlen);
    ls_chunk_write_mem(wire, LS_CSID_COMMAND, LS_MSG_COMMAND_AMF0, 0, 0, b.data,
                       (uint32_t)b.len, 128);
    feed_and_check(wire, wlen, NULL, 0, &m);                 /* whole */
    assert_true(wlen > 128);
    bytes = calloc(wlen, sizeof *bytes);
    for (i = 0; i < wlen; i++)
        bytes[i] = i + 1;
    feed_and_check(wire, wlen, bytes, wlen - 1, &m);          /* one byte at a time */
    for (i = 1; i < wlen; i++)
        feed_and_check(wire, wlen, &i, 1, &m);                /* split at every offset */
    free(bytes);
    free(wire);
    ls_buf_free(&b);
}

/* ---- malformed input ---- */

enum shape {
    SHAPE_OK,          /* name, txid, null, object */
    SHAPE_CMD_OBJECT,  /* name, txid, {}, object */
    SHAPE_TWO_ARGS,    /* name, txid, null, object, object */
    SHAPE_NO_ARGS,     /* name, txid, null */
    SHAPE_STRING_ARG,  /* name, txid, null, "x" */
    SHAPE_TXID_STRING, /* name, "1", null, object */
    SHAPE_NAME_ONLY,   /* name */
    SHAPE_NESTED,      /* name, txid, null, {id: {x: {}}} */
    SHAPE_MANY,        /* name, txid, null, object of 70 members */
};

/*
 * Builds a message. `fields` is a list "T:key=value;..." with T = s (string), n (number,
 * written as a double from strtod), b (boolean), u (undefined), z (string with a NUL).
 */
static void build(struct ls_buf *b, const char *name, double txid, enum shape shape,
                  const char *fields)
{
    char spec[512], *save = NULL, *tok;

    ls_buf_init(b, 0);
    ls_amf0_write_cstring(b, name);
    if (shape == SHAPE_NAME_ONLY)
        return;
    if (shape == SHAPE_TXID_STRING)
        ls_amf0_write_cstring(b, "1");
    else
        ls_amf0_write_number(b, txid);
    if (shape == SHAPE_CMD_OBJECT) {
        ls_amf0_write_object_begin(b);
        ls_amf0_write_object_end(b);
    } else {
        ls_amf0_write_null(b);
    }
    if (shape == SHAPE_NO_ARGS)
        return;
    if (shape == SHAPE_STRING_ARG) {
        ls_amf0_write_cstring(b, "x");
        return;
    }
    ls_amf0_write_object_begin(b);
    snprintf(spec, sizeof spec, "%s", fields);
    for (tok = strtok_r(spec, ";", &save); tok != NULL; tok = strtok_r(NULL, ";", &save)) {
        char type = tok[0], *key = tok + 2, *val = strchr(key, '=');

        *val++ = '\0';
        ls_amf0_write_ckey(b, key);
        switch (type) {
        case 's': ls_amf0_write_cstring(b, val); break;
        case 'n': ls_amf0_write_number(b, strtod(val, NULL)); break;
        case 'b': ls_amf0_write_bool(b, val[0] == '1'); break;
        case 'u': ls_amf0_write_undefined(b); break;
        case 'z': ls_amf0_write_string(b, "ab\0cd", 5); break;
        default: fail_msg("bad spec %s", tok);
        }
    }
    if (shape == SHAPE_NESTED) {
        ls_amf0_write_ckey(b, "deep");
        ls_amf0_write_object_begin(b);
        ls_amf0_write_ckey(b, "deeper");
        ls_amf0_write_object_begin(b);
        ls_amf0_write_object_end(b);
        ls_amf0_write_object_end(b);
    }
    if (shape == SHAPE_MANY) {
        int i;

        for (i = 0; i < 70; i++) {
            char key[8];

            snprintf(key, sizeof key, "k%d", i);
            ls_amf0_write_ckey(b, key);
            ls_amf0_write_number(b, i);
        }
    }
    ls_amf0_write_object_end(b);
    if (shape == SHAPE_TWO_ARGS) {
        ls_amf0_write_object_begin(b);
        ls_amf0_write_object_end(b);
    }
    assert_int_equal(ls_buf_status(b), LS_OK);
}

#define ID "s:id=live/a"
#define HELLO_OK "s:node_id=sp-1;s:advertise=1.2.3.4:5;n:ts=1;s:version=1;" \
    "s:sig=0282901571ded458663d68d3cf1c56a219043a3a15be06e4358f2a4a23aba9b9"
#define LONG63 "abcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuvwxyzabcdefghijk"
#define PART128 "abcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuvwx"

static const struct malformed {
    const char *name;
    double txid;
    enum shape shape;
    const char *fields;
    int rc;          /* expected: > 0 = accepted */
    const char *why; /* expected reason (NULL = not checked) */
} malformed[] = {
    /* shape of the command */
    { "register", 1, SHAPE_CMD_OBJECT, ID ";n:takeover_idle_ms=1", LS_EPROTO, "not name, txid, null, object" },
    { "register", 1, SHAPE_TWO_ARGS, ID ";n:takeover_idle_ms=1", LS_EPROTO, "not name, txid, null, object" },
    { "register", 1, SHAPE_NO_ARGS, "", LS_EPROTO, "not name, txid, null, object" },
    { "register", 1, SHAPE_STRING_ARG, "", LS_EPROTO, "not name, txid, null, object" },
    { "ping", 1, SHAPE_TXID_STRING, "", LS_EPROTO, NULL },
    { "ping", 1, SHAPE_NAME_ONLY, "", LS_EPROTO, "not name, txid, null, object" },
    /* transaction ids */
    { "ping", 0, SHAPE_OK, "", LS_EPROTO, "request or answer without a transaction id" },
    { "_result", 0, SHAPE_OK, "", LS_EPROTO, "request or answer without a transaction id" },
    { "revoked", 5, SHAPE_OK, ID ";n:generation=1", LS_EPROTO, "notification with a transaction id" },
    { "ping", 1.5, SHAPE_OK, "", LS_EPROTO, "transaction id is not an integer 0..2^32-1" },
    { "ping", -1, SHAPE_OK, "", LS_EPROTO, "transaction id is not an integer 0..2^32-1" },
    { "ping", 4294967295.0, SHAPE_OK, "", 1, NULL },
    { "ping", 4294967296.0, SHAPE_OK, "", LS_EPROTO, "transaction id is not an integer 0..2^32-1" },
    { "frobnicate", 0.5, SHAPE_OK, "", LS_EPROTO, "transaction id is not an integer 0..2^32-1" },
    /* required fields */
    { "register", 1, SHAPE_OK, ID, LS_EPROTO, "required field missing" },
    { "unregister", 1, SHAPE_OK, ID, LS_EPROTO, "required field missing" },
    { "registered", 0, SHAPE_OK, ID ";s:node_id=a;n:generation=1", LS_EPROTO, "required field missing" },
    { "_error", 1, SHAPE_OK, ID, LS_EPROTO, "required field missing" },
    { "hello", 1, SHAPE_OK, "s:node_id=sp-1;s:origin=1.2.3.4:5;n:ts=1;s:version=1;"
      "s:sig=0282901571ded458663d68d3cf1c56a219043a3a15be06e4358f2a4a23aba9b9", LS_EPROTO,
      "required field missing" },
    { "hello", 1, SHAPE_OK, HELLO_OK, 1, NULL },
    { "hello", 1, SHAPE_OK, HELLO_OK ";s:nonce=" NONCE, 1, NULL },
    { "hello", 1, SHAPE_OK, HELLO_OK ";s:nonce=0011", LS_EPROTO, "nonce is not 32 hex digits" },
    { "hello", 1, SHAPE_OK, HELLO_OK ";s:nonce=" "0011223344556677889Xaabbccddeeff", LS_EPROTO,
      "nonce is not 32 hex digits" },
    { "challenge", 0, SHAPE_OK, "s:nonce=" NONCE ";s:node_id=smd-1;s:version=2", 1, NULL },
    { "challenge", 0, SHAPE_OK, "s:nonce=" NONCE ";s:node_id=smd-1", LS_EPROTO,
      "required field missing" },
    { "challenge", 7, SHAPE_OK, "s:nonce=" NONCE ";s:node_id=smd-1;s:version=2", LS_EPROTO,
      "notification with a transaction id" },
    /* types */
    { "lookup", 1, SHAPE_OK, "n:id=3", LS_EPROTO, "string field of another type" },
    { "register", 1, SHAPE_OK, ID ";s:takeover_idle_ms=1", LS_EPROTO, "number field of another type" },
    { "register", 1, SHAPE_OK, ID ";n:takeover_idle_ms=1;n:reannounce=1", LS_EPROTO, "boolean field of another type" },
    { "register", 1, SHAPE_OK, ID ";n:takeover_idle_ms=1;u:since=0", LS_EPROTO, "number field of another type" },
    { "lookup", 1, SHAPE_OK, "z:id=x", LS_EPROTO, "string field too long or holding NUL" },
    /* values */
    { "lookup", 1, SHAPE_OK, "s:id=live", LS_EPROTO, "invalid stream id" },
    { "lookup", 1, SHAPE_OK, "s:id=live/../x", LS_EPROTO, "invalid stream id" },
    { "lookup", 1, SHAPE_OK, "s:id=" PART128 "/" PART128, 1, NULL },
    { "lookup", 1, SHAPE_OK, "s:id=" PART128 "/" PART128 "x", LS_EPROTO, NULL },
    { "_result", 1, SHAPE_OK, "s:node_id=" LONG63, 1, NULL },
    { "_result", 1, SHAPE_OK, "s:node_id=" LONG63 "x", LS_EPROTO, "string field too long or holding NUL" },
    { "_result", 1, SHAPE_OK, "s:node_id=a:b", LS_EPROTO, "invalid node_id" },
    { "_result", 1, SHAPE_OK, "s:node_id=", LS_EPROTO, "invalid node_id" },
    { "_result", 1, SHAPE_OK, "s:origin=1.2.3.4", LS_EPROTO, "invalid host:port" },
    { "_result", 1, SHAPE_OK, "s:origin=", LS_EPROTO, "invalid host:port" },
    { "_result", 1, SHAPE_OK, "s:origin=0.0.0.0:1935", LS_EPROTO, "invalid host:port" },
    { "_result", 1, SHAPE_OK, "s:origin=spd-1.example.net:1935", 1, NULL },
    { "_result", 1, SHAPE_OK, "s:sig=0282901571ded458663d68d3cf1c56a219043a3a15be06e4358f2a4a23aba9b", LS_EPROTO, "sig is not 64 hex digits" },
    { "_result", 1, SHAPE_OK, "s:sig=0282901571ded458663d68d3cf1c56a219043a3a15be06e4358f2a4a23aba9bg", LS_EPROTO, "sig is not 64 hex digits" },
    { "_result", 1, SHAPE_OK, "s:version=a b", LS_EPROTO, "invalid version" },
    { "_result", 1, SHAPE_OK, "s:version=", LS_EPROTO, "invalid version" },
    { "_result", 1, SHAPE_OK, "s:version=" "abcdefghijklmnopqrstuvwxyzabcde", 1, NULL },
    { "_result", 1, SHAPE_OK, "s:version=" "abcdefghijklmnopqrstuvwxyzabcdef", LS_EPROTO, NULL },
    { "_error", 1, SHAPE_OK, "s:code=Not-Found", LS_EPROTO, "invalid error code" },
    { "_error", 1, SHAPE_OK, "s:code=", LS_EPROTO, "invalid error code" },
    { "_error", 1, SHAPE_OK, "s:code=abcdefghijklmnopqrstuvwxyzabcde", 1, NULL },
    { "_error", 1, SHAPE_OK, "s:code=abcdefghijklmnopqrstuvwxyzabcdef", LS_EPROTO, NULL },
    { "_result", 1, SHAPE_OK, "n:generation=0", LS_EPROTO, "number out of range" },
    { "_result", 1, SHAPE_OK, "n:generation=9007199254740991", 1, NULL },
    { "_result", 1, SHAPE_OK, "n:generation=9007199254740992", LS_EPROTO, "number field is not an integer 0..2^53-1" },
    { "_result", 1, SHAPE_OK, "n:idle_ms=-1", LS_EPROTO, "number field is not an integer 0..2^53-1" },
    { "_result", 1, SHAPE_OK, "n:idle_ms=0.25", LS_EPROTO, "number field is not an integer 0..2^53-1" },
    { "_result", 1, SHAPE_OK, "n:idle_ms=nan", LS_EPROTO, "number field is not an integer 0..2^53-1" },
    { "_result", 1, SHAPE_OK, "n:idle_ms=inf", LS_EPROTO, "number field is not an integer 0..2^53-1" },
    { "_result", 1, SHAPE_OK, "n:lease_seconds=86400", 1, NULL },
    { "_result", 1, SHAPE_OK, "n:lease_seconds=86401", LS_EPROTO, "number out of range" },
    { "_result", 1, SHAPE_OK, "n:lease_seconds=0", LS_EPROTO, "number out of range" },
    /* version 3: the node's role, the report interval, resync */
    { "hello", 1, SHAPE_OK, HELLO_OK ";s:role=epd", 1, NULL },
    { "hello", 1, SHAPE_OK, HELLO_OK ";s:role=spd", 1, NULL },
    { "hello", 1, SHAPE_OK, HELLO_OK ";s:role=smd", LS_EPROTO, "role is not spd or epd" },
    { "hello", 1, SHAPE_OK, HELLO_OK ";n:role=1", LS_EPROTO, "string field of another type" },
    { "_result", 1, SHAPE_OK, "n:report_ms=100", 1, NULL },
    { "_result", 1, SHAPE_OK, "n:report_ms=60000", 1, NULL },
    { "_result", 1, SHAPE_OK, "n:report_ms=99", LS_EPROTO, "number out of range" },
    { "_result", 1, SHAPE_OK, "n:report_ms=60001", LS_EPROTO, "number out of range" },
    { "resync", 0, SHAPE_OK, "", 1, NULL },
    { "resync", 3, SHAPE_OK, "", LS_EPROTO, "notification with a transaction id" },
    /* what a kind does not use is ignored, even when malformed */
    { "ping", 1, SHAPE_OK, "s:id=not an id;n:generation=-5;s:whatever=1", 1, NULL },
    { "lookup", 1, SHAPE_OK, ID ";n:node_id=1", 1, NULL },
    /* unknown commands are well-formed */
    { "frobnicate", 9, SHAPE_OK, "n:x=1", 1, NULL },
    { "frobnicate", 9, SHAPE_NAME_ONLY, "", 1, NULL },
    /* AMF bounds */
    { "lookup", 1, SHAPE_NESTED, ID, LS_ELIMIT, NULL },
    { "lookup", 1, SHAPE_MANY, ID, LS_ELIMIT, NULL },
};

static void test_malformed_table(void **state)
{
    size_t i;

    (void)state;
    for (i = 0; i < sizeof malformed / sizeof malformed[0]; i++) {
        const struct malformed *t = &malformed[i];
        struct ls_buf b;
        struct ls_smd_msg d;
        const char *why = NULL;
        ssize_t rc;

        build(&b, t->name, t->txid, t->shape, t->fields);
        memset(&d, 0xa5, sizeof d);
        rc = ls_smd_decode(b.data, b.len, &d, &why);
        if (t->rc > 0) {
            if (rc != (ssize_t)b.len)
                fail_msg("case %zu (%s %s): %zd (%s)", i, t->name, t->fields, rc,
                         why != NULL ? why : "");
        } else {
            if (rc != t->rc)
                fail_msg("case %zu (%s %s): %zd, want %d", i, t->name, t->fields, rc, t->rc);
            assert_int_equal(d.kind, LS_SMD_UNKNOWN);
            assert_int_equal(d.fields, 0);
            assert_int_equal(d.id[0], 0);
            assert_non_null(why);
            if (t->why != NULL && strcmp(why, t->why) != 0)
                fail_msg("case %zu (%s %s): why \"%s\", want \"%s\"", i, t->name, t->fields,
                         why, t->why);
        }
        ls_buf_free(&b);
    }
}

static void test_unknown_and_ignored(void **state)
{
    struct ls_buf b;
    struct ls_smd_msg d;

    (void)state;
    build(&b, "frobnicate", 9, SHAPE_OK, "s:id=live/a");
    decode_ok(b.data, b.len, &d);
    assert_int_equal(d.kind, LS_SMD_UNKNOWN);
    assert_int_equal(d.txid, 9);
    assert_int_equal(d.fields, 0);
    ls_buf_free(&b);

    build(&b, "ping", 1, SHAPE_OK, "s:id=live/a;n:generation=3");
    decode_ok(b.data, b.len, &d);
    assert_int_equal(d.kind, LS_SMD_PING);
    assert_int_equal(d.fields, 0);
    assert_int_equal(d.id[0], 0);
    assert_int_equal(d.generation, 0);
    ls_buf_free(&b);

    /* the first of duplicate keys wins; upper-case hex is a valid sig */
    build(&b, "lookup", 1, SHAPE_OK, "s:id=live/a;s:id=live/b");
    decode_ok(b.data, b.len, &d);
    assert_string_equal(d.id, "live/a");
    ls_buf_free(&b);
}

static void test_message_size_bound(void **state)
{
    uint8_t *big = malloc(LS_SMD_MESSAGE_MAX + 1);
    struct ls_smd_msg d;
    const char *why = NULL;

    (void)state;
    memset(big, 0xff, LS_SMD_MESSAGE_MAX + 1); /* 0xff is no AMF0 marker */
    assert_int_equal(ls_smd_decode(big, LS_SMD_MESSAGE_MAX + 1, &d, &why), LS_ELIMIT);
    assert_string_equal(why, "message too large");
    /* at the bound it is the content that is wrong, not the size */
    assert_int_equal(ls_smd_decode(big, LS_SMD_MESSAGE_MAX, &d, &why), LS_EPROTO);
    free(big);
}

static void test_decode_frame(void **state)
{
    struct ls_frame *f = ls_frame_new_copy(LS_MSG_COMMAND_AMF0, 0, 0, golden_register,
                                           sizeof golden_register);
    struct ls_smd_msg d;
    const char *why = NULL;

    (void)state;
    assert_int_equal(ls_smd_decode_frame(f, &d, &why), LS_OK);
    assert_int_equal(d.kind, LS_SMD_REGISTER);
    f->stream_id = 1;
    assert_int_equal(ls_smd_decode_frame(f, &d, &why), LS_EPROTO);
    assert_string_equal(why, "not a type-20 command on stream 0");
    assert_int_equal(d.kind, LS_SMD_UNKNOWN);
    f->stream_id = 0;
    f->type = LS_MSG_COMMAND_AMF3;
    assert_int_equal(ls_smd_decode_frame(f, &d, &why), LS_EPROTO);
    f->type = LS_MSG_COMMAND_AMF0;
    f->len = 5;
    assert_int_equal(ls_smd_decode_frame(f, &d, &why), LS_EPROTO);
    ls_frame_unref(f);
}

/* ---- encoder refusals: nothing appended ---- */

static void assert_refused(const struct ls_smd_msg *m)
{
    struct ls_buf b;

    ls_buf_init(&b, 0);
    ls_buf_append(&b, "xyz", 3);
    assert_int_equal(ls_smd_encode(&b, m), LS_EINVAL);
    assert_int_equal(b.len, 3);
    assert_int_equal(ls_buf_status(&b), LS_OK);
    ls_buf_free(&b);
}

static void test_encode_refusals(void **state)
{
    struct ls_smd_msg m;

    (void)state;
    m = full(LS_SMD_REGISTER, 1);
    m.fields &= ~LS_SMD_F_ID;
    assert_refused(&m);                                 /* required missing */
    m = full(LS_SMD_REGISTER, 1);
    ls_smd_set_num(&m, LS_SMD_F_GENERATION, 1);
    assert_refused(&m);                                 /* not allowed for register */
    m = full(LS_SMD_REGISTER, 0);
    assert_refused(&m);                                 /* request without txid */
    m = full(LS_SMD_REVOKED, 3);
    assert_refused(&m);                                 /* notification with txid */
    m = full(LS_SMD_LOOKUP, 1);
    ls_smd_set_str(&m, LS_SMD_F_ID, "no-slash");
    assert_refused(&m);                                 /* invalid content */
    m = full(LS_SMD_REGISTERED, 0);
    ls_smd_set_num(&m, LS_SMD_F_GENERATION, 0);
    assert_refused(&m);                                 /* generation 0 */
    m = full(LS_SMD_REGISTERED, 0);
    ls_smd_set_num(&m, LS_SMD_F_GENERATION, LS_SMD_UINT_MAX + 1);
    assert_refused(&m);                                 /* not exact as a double */
    m = full(LS_SMD_LOOKUP, 1);
    memset(m.id, 'a', sizeof m.id);                     /* no NUL inside the field */
    assert_refused(&m);
    ls_smd_msg_init(&m, LS_SMD_UNKNOWN, 1);
    assert_refused(&m);
    ls_smd_msg_init(&m, (enum ls_smd_kind)99, 1);
    assert_refused(&m);
}

static void test_encode_buffer_bound(void **state)
{
    struct ls_smd_msg m = full(LS_SMD_HELLO, 1);
    struct ls_buf b;

    (void)state;
    ls_buf_init(&b, 16);
    assert_int_equal(ls_smd_encode(&b, &m), LS_ELIMIT);
    ls_buf_free(&b);
}

/* ---- setters ---- */

static void test_setters(void **state)
{
    struct ls_smd_msg m;
    char id[LS_STREAM_ID_MAX + 2];

    (void)state;
    ls_smd_msg_init(&m, LS_SMD_LOOKUP, 1);
    memset(m.node_id, '#', sizeof m.node_id); /* canary: the field after id */
    memset(id, 'a', sizeof id);
    id[LS_STREAM_ID_MAX] = '\0';
    assert_int_equal(ls_smd_set_str(&m, LS_SMD_F_ID, id), LS_OK);  /* 257 fits */
    assert_int_equal(m.id[LS_STREAM_ID_MAX], '\0');
    id[LS_STREAM_ID_MAX] = 'a';
    id[LS_STREAM_ID_MAX + 1] = '\0';
    m.fields = 0;
    assert_int_equal(ls_smd_set_str(&m, LS_SMD_F_ID, id), LS_EINVAL); /* 258 does not */
    assert_int_equal(m.fields, 0);
    assert_int_equal(m.node_id[0], '#');
    assert_int_equal(m.node_id[LS_SMD_NODE_ID_MAX], '#');
    assert_int_equal(ls_smd_set_str(&m, LS_SMD_F_TS, "1"), LS_EINVAL);
    assert_int_equal(ls_smd_set_str(&m, LS_SMD_F_ID, NULL), LS_EINVAL);
    assert_int_equal(ls_smd_set_str(&m, 1u << 20, "x"), LS_EINVAL);
    assert_int_equal(ls_smd_set_num(&m, LS_SMD_F_ID, 1), LS_EINVAL);
    assert_int_equal(ls_smd_set_num(&m, LS_SMD_F_REANNOUNCE, 1), LS_EINVAL);
    assert_int_equal(m.fields, 0);
    assert_int_equal(ls_smd_set_num(&m, LS_SMD_F_IDLE_MS, 77), LS_OK);
    assert_int_equal(m.idle_ms, 77);
    assert_int_equal(m.fields, LS_SMD_F_IDLE_MS);
}

static void test_names_and_tables(void **state)
{
    (void)state;
    assert_string_equal(ls_smd_kind_name(LS_SMD_HELLO), "hello");
    assert_string_equal(ls_smd_kind_name(LS_SMD_RESULT), "_result");
    assert_string_equal(ls_smd_kind_name(LS_SMD_ERROR), "_error");
    assert_string_equal(ls_smd_kind_name(LS_SMD_UNKNOWN), "unknown");
    assert_string_equal(ls_smd_kind_name((enum ls_smd_kind)1000), "unknown");
    assert_int_equal(ls_smd_required_fields(LS_SMD_UNKNOWN), 0);
    assert_int_equal(ls_smd_allowed_fields(LS_SMD_KIND_COUNT), 0);
    assert_int_equal(ls_smd_required_fields(LS_SMD_PING), 0);
    assert_int_equal(ls_smd_required_fields(LS_SMD_ERROR), LS_SMD_F_CODE);
    assert_int_equal(ls_smd_allowed_fields(LS_SMD_RESULT), LS_SMD_F_ALL);
    assert_true(ls_smd_node_id_valid("a"));
    assert_true(ls_smd_node_id_valid("Sp_1.example-2"));
    assert_true(ls_smd_node_id_valid(LONG63));
    assert_false(ls_smd_node_id_valid(LONG63 "x"));
    assert_false(ls_smd_node_id_valid(""));
    assert_false(ls_smd_node_id_valid(NULL));
    assert_false(ls_smd_node_id_valid("a b"));
    assert_false(ls_smd_node_id_valid("a:b"));
    assert_false(ls_smd_node_id_valid("caf\xc3\xa9"));
}

/* ---- signatures ---- */

static void test_sign_known_answers(void **state)
{
    static const struct {
        const char *secret, *node, *adv;
        uint64_t ts;
        const char *hex;
        const char *smd;
    } kat[] = {
        /* docs/protocol.md's example */
        { "s3cret", "sp-1", "10.0.0.1:1935", 1700000000,
          "f8bb1dd1260662f7ebd798c5cae8309df8020292787c735a21c38162643019ba", "smd-1" },
        { "another key", "node_x.2", "[2001:db8::1]:19350", 0,
          "86412b6ef47f3185f8570c1f78fa321b92f79c96fdebc442a7d7a64ab1ccc3bf", "r.2" },
        { "", "a", "h:1", 5,
          "4570cf0e83518a6f3a1861cfa5d53d1d1c0c0aaa774429a9c88d24d76d4c4e7d", "s" },
    };
    size_t i;

    (void)state;
    for (i = 0; i < sizeof kat / sizeof kat[0]; i++) {
        char out[LS_SMD_SIG_HEX + 1 + 4];

        memset(out, '#', sizeof out);
        assert_int_equal(ls_smd_hello_sign(kat[i].secret, kat[i].node, kat[i].adv, kat[i].ts,
                                           NONCE, kat[i].smd, out), LS_OK);
        assert_string_equal(out, kat[i].hex);
        assert_memory_equal(out + LS_SMD_SIG_HEX + 1, "####", 4);
    }
}

static void test_sign_refusals(void **state)
{
    char out[LS_SMD_SIG_HEX + 1];
    char big[LS_ADDR_STRLEN + 1];

    (void)state;
    assert_int_equal(ls_smd_hello_sign(NULL, "a", "h:1", 1, NONCE, "s", out), LS_EINVAL);
    assert_int_equal(ls_smd_hello_sign("s", NULL, "h:1", 1, NONCE, "s", out), LS_EINVAL);
    assert_int_equal(ls_smd_hello_sign("s", "a", NULL, 1, NONCE, "s", out), LS_EINVAL);
    assert_int_equal(ls_smd_hello_sign("s", "a", "h:1", 1, NONCE, "s", NULL), LS_EINVAL);
    assert_int_equal(ls_smd_hello_sign("s", "a", "h:1", 1, NULL, "s", out), LS_EINVAL);
    assert_int_equal(ls_smd_hello_sign("s", "a", "h:1", 1, NONCE, NULL, out), LS_EINVAL);
    assert_int_equal(ls_smd_hello_sign("s", LONG63 "x", "h:1", 1, NONCE, "s", out), LS_EINVAL);
    assert_int_equal(ls_smd_hello_sign("s", "a", "h:1", 1, NONCE "0", "s", out), LS_EINVAL);
    assert_int_equal(ls_smd_hello_sign("s", "a", "h:1", 1, NONCE, LONG63 "x", out), LS_EINVAL);
    memset(big, 'h', sizeof big);
    big[LS_ADDR_STRLEN] = '\0';
    assert_int_equal(ls_smd_hello_sign("s", "a", big, 1, NONCE, "s", out), LS_EINVAL);
}

static struct ls_smd_msg signed_hello(const char *secret, uint64_t ts)
{
    struct ls_smd_msg m;

    ls_smd_msg_init(&m, LS_SMD_HELLO, 1);
    ls_smd_set_str(&m, LS_SMD_F_NODE_ID, "sp-1");
    ls_smd_set_str(&m, LS_SMD_F_ORIGIN, "10.0.0.1:1935");
    ls_smd_set_num(&m, LS_SMD_F_TS, ts);
    ls_smd_set_str(&m, LS_SMD_F_VERSION, LS_SMD_VERSION);
    ls_smd_set_str(&m, LS_SMD_F_NONCE, NONCE);
    assert_int_equal(ls_smd_hello_sign(secret, m.node_id, m.origin, ts, NONCE, "smd-1", m.sig),
                     LS_OK);
    m.fields |= LS_SMD_F_SIG;
    return m;
}

static void test_verify(void **state)
{
    const uint64_t now = 1700000000;
    struct ls_smd_msg m;
    const char *why = NULL;
    size_t i;

    (void)state;
    m = signed_hello("s3cret", now);
    assert_string_equal(m.sig, "f8bb1dd1260662f7ebd798c5cae8309df8020292787c735a21c38162643019ba");
    assert_int_equal(ls_smd_hello_verify("s3cret", &m, NONCE, "smd-1", now, &why), LS_OK);
    /* it survives the wire */
    {
        struct ls_buf b;
        struct ls_smd_msg d;

        encode_ok(&m, &b);
        decode_ok(b.data, b.len, &d);
        assert_int_equal(ls_smd_hello_verify("s3cret", &d, NONCE, "smd-1", now, &why), LS_OK);
        ls_buf_free(&b);
    }
    for (i = 0; i < LS_SMD_SIG_HEX; i++)        /* upper-case hex is the same signature */
        if (m.sig[i] >= 'a' && m.sig[i] <= 'f')
            m.sig[i] = (char)(m.sig[i] - 'a' + 'A');
    assert_int_equal(ls_smd_hello_verify("s3cret", &m, NONCE, "smd-1", now, &why), LS_OK);

    assert_int_equal(ls_smd_hello_verify("other", &m, NONCE, "smd-1", now, &why), LS_EAUTH);
    assert_string_equal(why, "bad signature");
    m = signed_hello("s3cret", now);
    m.origin[0] = '9';                            /* signed fields are bound */
    assert_int_equal(ls_smd_hello_verify("s3cret", &m, NONCE, "smd-1", now, &why), LS_EAUTH);
    m = signed_hello("s3cret", now);
    m.sig[63] = m.sig[63] == '0' ? '1' : '0';
    assert_int_equal(ls_smd_hello_verify("s3cret", &m, NONCE, "smd-1", now, &why), LS_EAUTH);
    m = signed_hello("s3cret", now);
    m.sig[10] = '\0';
    assert_int_equal(ls_smd_hello_verify("s3cret", &m, NONCE, "smd-1", now, &why), LS_EAUTH);

    /* the clock window: ±300 s inclusive */
    m = signed_hello("s3cret", now - 300);
    assert_int_equal(ls_smd_hello_verify("s3cret", &m, NONCE, "smd-1", now, &why), LS_OK);
    m = signed_hello("s3cret", now + 300);
    assert_int_equal(ls_smd_hello_verify("s3cret", &m, NONCE, "smd-1", now, &why), LS_OK);
    m = signed_hello("s3cret", now - 301);
    assert_int_equal(ls_smd_hello_verify("s3cret", &m, NONCE, "smd-1", now, &why), LS_EAUTH);
    assert_string_equal(why, "timestamp out of range");
    m = signed_hello("s3cret", now + 301);
    assert_int_equal(ls_smd_hello_verify("s3cret", &m, NONCE, "smd-1", now, &why), LS_EAUTH);

    /* the challenge: this connection's nonce, this smd (issue 10, defect 12) */
    m = signed_hello("s3cret", now);
    assert_int_equal(ls_smd_hello_verify("s3cret", &m, OTHER_NONCE, "smd-1", now, &why),
                     LS_EAUTH);
    assert_string_equal(why, "nonce of another connection");
    assert_int_equal(ls_smd_hello_verify("s3cret", &m, NULL, "smd-1", now, &why), LS_EAUTH);
    assert_int_equal(ls_smd_hello_verify("s3cret", &m, NONCE, "smd-2", now, &why), LS_EAUTH);
    assert_string_equal(why, "bad signature");
    m.fields &= ~LS_SMD_F_NONCE; /* a version-1 hello */
    assert_int_equal(ls_smd_hello_verify("s3cret", &m, NONCE, "smd-1", now, &why), LS_EAUTH);
    assert_string_equal(why, "no nonce (protocol version 1?)");
    m = signed_hello("s3cret", now);
    snprintf(m.nonce, sizeof m.nonce, "%s", OTHER_NONCE); /* claims the right nonce... */
    assert_int_equal(ls_smd_hello_verify("s3cret", &m, OTHER_NONCE, "smd-1", now, &why),
                     LS_EAUTH);                           /* ...but signed another */
    assert_string_equal(why, "bad signature");
    /* the registry key is not the pulls' key, nor the raw secret */
    {
        char key[LS_HMAC_HEX_LEN + 1], text[200];
        int n;

        m = signed_hello("s3cret", now);
        n = snprintf(text, sizeof text, "hello:sp-1:10.0.0.1:1935:%llu:%s:smd-1",
                     (unsigned long long)now, NONCE);
        assert_int_equal(ls_hmac_derive_key("s3cret", "livecluster pull v2", key), LS_OK);
        assert_int_equal(ls_hmac_sha256_hex(key, text, (size_t)n, m.sig), LS_OK);
        assert_int_equal(ls_smd_hello_verify("s3cret", &m, NONCE, "smd-1", now, &why),
                         LS_EAUTH);
        assert_int_equal(ls_hmac_sha256_hex("s3cret", text, (size_t)n, m.sig), LS_OK);
        assert_int_equal(ls_smd_hello_verify("s3cret", &m, NONCE, "smd-1", now, &why),
                         LS_EAUTH);
        assert_int_equal(ls_hmac_derive_key("s3cret", LS_SMD_KEY_LABEL, key), LS_OK);
        assert_int_equal(ls_hmac_sha256_hex(key, text, (size_t)n, m.sig), LS_OK);
        assert_int_equal(ls_smd_hello_verify("s3cret", &m, NONCE, "smd-1", now, &why), LS_OK);
    }

    /* an unauthenticated cluster takes any signature and any time */
    m = signed_hello("whatever", 1);
    assert_int_equal(ls_smd_hello_verify("", &m, NONCE, "smd-1", now, &why), LS_OK);
    assert_int_equal(ls_smd_hello_verify(NULL, &m, NONCE, "smd-1", now, &why), LS_OK);

    /* but only a hello */
    m.kind = LS_SMD_REGISTER;
    assert_int_equal(ls_smd_hello_verify("", &m, NONCE, "smd-1", now, &why), LS_EAUTH);
    assert_string_equal(why, "not a hello");
    m = signed_hello("s3cret", now);
    m.fields &= ~LS_SMD_F_SIG;
    assert_int_equal(ls_smd_hello_verify("s3cret", &m, NONCE, "smd-1", now, &why), LS_EAUTH);
    assert_string_equal(why, "not a hello");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_golden_register),
        cmocka_unit_test(test_golden_registered),
        cmocka_unit_test(test_round_trip_every_kind),
        cmocka_unit_test(test_hello_uses_advertise_key),
        cmocka_unit_test(test_truncations),
        cmocka_unit_test(test_through_the_chunk_stream),
        cmocka_unit_test(test_malformed_table),
        cmocka_unit_test(test_unknown_and_ignored),
        cmocka_unit_test(test_message_size_bound),
        cmocka_unit_test(test_decode_frame),
        cmocka_unit_test(test_encode_refusals),
        cmocka_unit_test(test_encode_buffer_bound),
        cmocka_unit_test(test_setters),
        cmocka_unit_test(test_names_and_tables),
        cmocka_unit_test(test_sign_known_answers),
        cmocka_unit_test(test_sign_refusals),
        cmocka_unit_test(test_verify),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
