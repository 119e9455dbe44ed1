/*
 * Unit tests for command.c: RTMP command and data messages.
 *
 * Real-encoder vectors: test/unit/data/amf0_*.bin are the AMF0 command/data payloads of
 * the sessions in test/fixtures/ (see test/unit/data/amf_vectors.md for how they were
 * cut). test_fixture_cut_matches_golden_files re-derives them from the raw session bytes
 * with a small test-local de-chunker, so the golden files cannot drift from the fixtures.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "libstream/amf.h"
#include "libstream/amf0.h"
#include "libstream/buf.h"
#include "libstream/bytes.h"
#include "libstream/command.h"
#include "libstream/err.h"
#include "support/amf_build.h"
#include "support/input.h"

/* ---- helpers ---------------------------------------------------------------------------- */

struct blob {
    uint8_t *data;
    size_t len;
};

static struct blob read_file(const char *path)
{
    struct blob b;

    b.data = input_read_file(path, &b.len);
    return b;
}

static struct blob golden(const char *name)
{
    char path[256];

    snprintf(path, sizeof path, "test/unit/data/amf0_%s.bin", name);
    return read_file(path);
}

static struct ls_command decode_cmd(struct blob b)
{
    struct ls_command cmd;
    const char *why = NULL;
    ssize_t rc = ls_command_decode(b.data, b.len, false, NULL, &cmd, &why);

    if (rc != (ssize_t)b.len)
        fail_msg("decode: %zd (%s)", rc, why != NULL ? why : "");
    return cmd;
}

static void assert_buf_is(const struct ls_buf *b, struct blob want)
{
    assert_int_equal(ls_buf_status(b), LS_OK);
    assert_int_equal(b->len, want.len);
    assert_memory_equal(b->data, want.data, want.len);
}

/*
 * Test-local RTMP de-chunker, just enough for the fixture files: 1/2/3-byte basic
 * headers, chunk types 0-3, extended timestamps, Set Chunk Size. Collects the payloads of
 * type 18 and 20 messages in order. (The real chunk layer is another module.)
 */
#define MAX_MSGS 16

struct dechunked {
    struct blob msg[MAX_MSGS];
    uint8_t type[MAX_MSGS];
    size_t n;
};

static void dechunk(const uint8_t *p, size_t len, struct dechunked *out)
{
    struct cs {
        uint32_t len;
        uint8_t type;
        uint8_t *buf;
        uint32_t have;
    } cs[330];
    size_t pos = 3073; /* C0 + C1 + C2 */
    uint32_t chunk = 128, csid, ts = 0, n;
    uint8_t fmt;

    memset(cs, 0, sizeof cs);
    memset(out, 0, sizeof *out);
    while (pos < len) {
        fmt = p[pos] >> 6;
        csid = p[pos++] & 0x3f;
        if (csid == 0)
            csid = 64 + p[pos++];
        else if (csid == 1) {
            csid = 64 + p[pos] + 256u * p[pos + 1];
            pos += 2;
        }
        assert_true(csid < 330);
        if (fmt <= 2) {
            ts = ls_get_be24(p + pos);
            pos += 3;
        }
        if (fmt <= 1) {
            cs[csid].len = ls_get_be24(p + pos);
            cs[csid].type = p[pos + 3];
            pos += 4;
        }
        if (fmt == 0)
            pos += 4; /* message stream id */
        if (fmt <= 2 && ts == 0xffffff)
            pos += 4;
        if (cs[csid].buf == NULL) {
            cs[csid].buf = malloc(cs[csid].len + 1);
            assert_non_null(cs[csid].buf);
            cs[csid].have = 0;
        }
        n = cs[csid].len - cs[csid].have;
        if (n > chunk)
            n = chunk;
        assert_true(pos + n <= len);
        memcpy(cs[csid].buf + cs[csid].have, p + pos, n);
        cs[csid].have += n;
        pos += n;
        if (cs[csid].have == cs[csid].len) {
            if (cs[csid].type == 1)
                chunk = ls_get_be32(cs[csid].buf);
            if ((cs[csid].type == 18 || cs[csid].type == 20) && out->n < MAX_MSGS) {
                out->msg[out->n].data = cs[csid].buf;
                out->msg[out->n].len = cs[csid].len;
                out->type[out->n++] = cs[csid].type;
            } else {
                free(cs[csid].buf);
            }
            cs[csid].buf = NULL;
        }
    }
    for (csid = 0; csid < 330; csid++)
        free(cs[csid].buf);
}

static void dechunked_free(struct dechunked *d)
{
    size_t i;

    for (i = 0; i < d->n; i++)
        free(d->msg[i].data);
}

/* ---- the fixtures -------------------------------------------------------------------------- */

static void check_cut(const char *fixture, const char *const *names, size_t count)
{
    struct blob f = read_file(fixture), g;
    struct dechunked d;
    size_t i;

    dechunk(f.data, f.len, &d);
    assert_true(d.n >= count);
    for (i = 0; i < count; i++) {
        if (names[i] == NULL)
            continue;
        g = golden(names[i]);
        if (g.len != d.msg[i].len || memcmp(g.data, d.msg[i].data, g.len) != 0)
            fail_msg("%s: message %zu is not amf0_%s.bin", fixture, i, names[i]);
        free(g.data);
    }
    dechunked_free(&d);
    free(f.data);
}

static void test_fixture_cut_matches_golden_files(void **state)
{
    static const char *const publish_c2s[] = {
        "ffmpeg_connect", "ffmpeg_releasestream", "ffmpeg_fcpublish", "ffmpeg_createstream",
        "ffmpeg_publish", "ffmpeg_setdataframe", "ffmpeg_fcunpublish", "ffmpeg_deletestream",
    };
    static const char *const publish_s2c[] = {
        "nginx_connect_result", "nginx_createstream_result", "nginx_onstatus_publish",
    };
    static const char *const play_c2s[] = {
        "ffprobe_connect", NULL, "ffprobe_getstreamlength", "ffprobe_play",
    };
    static const char *const play_s2c[] = {
        NULL, NULL, "nginx_onstatus_play", "nginx_sampleaccess", "nginx_onmetadata",
    };
    (void)state;

    check_cut("test/fixtures/ffmpeg_publish.c2s", publish_c2s, 8);
    check_cut("test/fixtures/ffmpeg_publish.s2c", publish_s2c, 3);
    check_cut("test/fixtures/ffprobe_play.c2s", play_c2s, 4);
    check_cut("test/fixtures/ffprobe_play.s2c", play_s2c, 5);
}

/* Every golden payload: whole, as an AMF3 (type 17/15) message, every proper prefix. */
static void test_golden_payloads_whole_and_prefixes(void **state)
{
    static const char *const names[] = {
        "ffmpeg_connect", "ffmpeg_releasestream", "ffmpeg_fcpublish", "ffmpeg_createstream",
        "ffmpeg_publish", "ffmpeg_setdataframe", "ffmpeg_fcunpublish", "ffmpeg_deletestream",
        "nginx_connect_result", "nginx_createstream_result", "nginx_onstatus_publish",
        "ffprobe_connect", "ffprobe_getstreamlength", "ffprobe_play", "nginx_onstatus_play",
        "nginx_sampleaccess", "nginx_onmetadata",
    };
    size_t i, n;
    (void)state;

    for (i = 0; i < sizeof names / sizeof names[0]; i++) {
        struct blob g = golden(names[i]);
        struct ls_command cmd, cmd3;
        struct ls_data_message msg;
        uint8_t *amf3 = malloc(g.len + 1);
        bool is_data = strstr(names[i], "metadata") != NULL ||
                       strstr(names[i], "setdataframe") != NULL ||
                       strstr(names[i], "sampleaccess") != NULL;

        assert_non_null(amf3);
        amf3[0] = 0x00;
        memcpy(amf3 + 1, g.data, g.len);
        if (is_data) {
            assert_int_equal(ls_data_decode(g.data, g.len, false, NULL, &msg, NULL),
                             (ssize_t)g.len);
            ls_data_free(&msg);
            assert_int_equal(ls_data_decode(amf3, g.len + 1, true, NULL, &msg, NULL),
                             (ssize_t)g.len + 1);
            ls_data_free(&msg);
        } else {
            cmd = decode_cmd(g);
            assert_int_equal(ls_command_decode(amf3, g.len + 1, true, NULL, &cmd3, NULL),
                             (ssize_t)g.len + 1);
            assert_string_equal(cmd.name, cmd3.name);
            assert_true(cmd.transaction_id == cmd3.transaction_id);
            assert_true(ls_amf_equal(&cmd.command_object, &cmd3.command_object));
            assert_int_equal(cmd.nargs, cmd3.nargs);
            ls_command_free(&cmd);
            ls_command_free(&cmd3);
        }
        /* A prefix that ends between two values is a shorter, valid message; any other
         * prefix is truncated. Find the value boundaries independently, value by value. */
        {
            struct ls_amf0_decoder d;
            struct ls_amf_value v[16];
            size_t nb = 0, pos = 0, k;
            size_t bound[16];

            ls_amf0_decoder_init(&d, NULL);
            while (pos < g.len) {
                ssize_t used;

                assert_true(nb < 16);
                memset(&v[nb], 0, sizeof v[nb]);
                used = ls_amf0_decode(&d, g.data + pos, g.len - pos, &v[nb], NULL);
                assert_true(used > 0);
                pos += (size_t)used;
                bound[nb++] = pos;
            }
            for (k = 0; k < nb; k++)
                ls_amf_clear(&v[k]);
            ls_amf0_decoder_free(&d);
            assert_true(nb >= 2);

            for (n = 0; n < g.len; n++) {
                uint8_t *part = input_dup_exact(g.data, n);
                const char *why = NULL;
                bool boundary = false;
                ssize_t rc;

                for (k = 0; k < nb; k++)
                    boundary = boundary || bound[k] == n;
                if (is_data) {
                    rc = ls_data_decode(part, n, false, NULL, &msg, &why);
                    if (rc >= 0)
                        ls_data_free(&msg);
                } else {
                    rc = ls_command_decode(part, n, false, NULL, &cmd, &why);
                    if (rc >= 0)
                        ls_command_free(&cmd);
                }
                if (boundary ? rc != (ssize_t)n : (rc != LS_EPROTO || why == NULL))
                    fail_msg("%s: prefix of %zu bytes gave %zd", names[i], n, rc);
                free(part);
            }
        }
        free(amf3);
        free(g.data);
    }
}

static void test_ffmpeg_publish_session(void **state)
{
    struct ls_command cmd;
    struct ls_connect_params cp;
    struct blob g;
    const char *name, *type;
    double id;
    (void)state;

    g = golden("ffmpeg_connect");
    cmd = decode_cmd(g);
    assert_true(ls_command_is(&cmd, "connect"));
    assert_false(ls_command_is(&cmd, "connec"));
    assert_true(cmd.transaction_id == 1);
    assert_int_equal(ls_command_parse_connect(&cmd, &cp), LS_OK);
    assert_string_equal(cp.app, "live");
    assert_string_equal(cp.tc_url, "rtmp://127.0.0.1:19351/live");
    assert_string_equal(cp.type, "nonprivate");
    assert_string_equal(cp.flash_ver, "FMLE/3.0 (compatible; Lavf59.27.100)");
    assert_null(cp.swf_url);
    assert_null(cp.page_url);
    assert_true(cp.object_encoding == 0);
    assert_false(cp.has_capabilities);
    assert_false(cp.has_fourcc_list);
    ls_command_free(&cmd);
    free(g.data);

    g = golden("ffmpeg_releasestream");
    cmd = decode_cmd(g);
    assert_true(ls_command_is(&cmd, "releaseStream"));
    assert_true(cmd.transaction_id == 2);
    assert_int_equal(cmd.command_object.type, LS_AMF_NULL);
    assert_int_equal(ls_command_parse_stream_name(&cmd, &name), LS_OK);
    assert_string_equal(name, "fixture");
    ls_command_free(&cmd);
    free(g.data);

    g = golden("ffmpeg_fcpublish");
    cmd = decode_cmd(g);
    assert_true(ls_command_is(&cmd, "FCPublish"));
    assert_int_equal(ls_command_parse_stream_name(&cmd, &name), LS_OK);
    assert_string_equal(name, "fixture");
    ls_command_free(&cmd);
    free(g.data);

    g = golden("ffmpeg_createstream");
    cmd = decode_cmd(g);
    assert_true(ls_command_is(&cmd, "createStream"));
    assert_true(cmd.transaction_id == 4);
    assert_int_equal(cmd.nargs, 0);
    assert_null(cmd.args);
    ls_command_free(&cmd);
    free(g.data);

    g = golden("ffmpeg_publish");
    cmd = decode_cmd(g);
    assert_true(ls_command_is(&cmd, "publish"));
    assert_int_equal(ls_command_parse_publish(&cmd, &name, &type), LS_OK);
    assert_string_equal(name, "fixture");
    assert_string_equal(type, "live");
    ls_command_free(&cmd);
    free(g.data);

    g = golden("ffmpeg_fcunpublish");
    cmd = decode_cmd(g);
    assert_true(ls_command_is(&cmd, "FCUnpublish"));
    assert_int_equal(ls_command_parse_stream_name(&cmd, &name), LS_OK);
    assert_string_equal(name, "fixture");
    ls_command_free(&cmd);
    free(g.data);

    g = golden("ffmpeg_deletestream");
    cmd = decode_cmd(g);
    assert_true(ls_command_is(&cmd, "deleteStream"));
    assert_int_equal(ls_command_parse_delete_stream(&cmd, &id), LS_OK);
    assert_true(id == 1);
    ls_command_free(&cmd);
    free(g.data);
}

static void test_ffmpeg_metadata(void **state)
{
    struct blob g = golden("ffmpeg_setdataframe");
    struct ls_data_message msg, inner;
    struct ls_metadata md;
    const struct ls_amf_value *obj;
    const uint8_t *rest;
    size_t rest_len;
    (void)state;

    assert_int_equal(ls_data_decode(g.data, g.len, false, NULL, &msg, NULL), (ssize_t)g.len);
    assert_string_equal(msg.name, "@setDataFrame");
    assert_int_equal(msg.nvalues, 2);
    obj = ls_data_metadata(&msg);
    assert_non_null(obj);
    assert_int_equal(obj->type, LS_AMF_ECMA_ARRAY);
    assert_int_equal(ls_metadata_parse(obj, &md), LS_OK);
    assert_true(md.has_width && md.width == 320);
    assert_true(md.has_height && md.height == 240);
    assert_true(md.has_framerate && md.framerate == 25);
    assert_true(md.has_videocodecid && md.videocodecid == 7);
    assert_string_equal(md.videocodec, "");
    assert_true(md.has_audiocodecid && md.audiocodecid == 10);
    assert_true(md.has_audiosamplerate && md.audiosamplerate == 44100);
    assert_true(md.has_audiodatarate && md.audiodatarate == 62.5);
    assert_true(md.has_videodatarate && md.videodatarate == 0);
    assert_true(md.has_stereo && !md.stereo);
    assert_true(md.has_duration && md.duration == 0);
    assert_string_equal(md.encoder, "Lavf59.27.100");
    ls_data_free(&msg);

    /* what a player receives: the payload without the @setDataFrame string */
    assert_true(ls_data_strip_set_data_frame(g.data, g.len, &rest, &rest_len));
    assert_ptr_equal(rest, g.data + 16);
    assert_int_equal(rest_len, g.len - 16);
    assert_int_equal(ls_data_decode(rest, rest_len, false, NULL, &inner, NULL),
                     (ssize_t)rest_len);
    assert_string_equal(inner.name, "onMetaData");
    assert_non_null(ls_data_metadata(&inner));
    ls_data_free(&inner);
    /* stripping twice changes nothing */
    assert_false(ls_data_strip_set_data_frame(rest, rest_len, &rest, &rest_len));
    assert_int_equal(rest_len, g.len - 16);
    free(g.data);
}

static void test_nginx_and_ffprobe_messages(void **state)
{
    struct ls_command cmd;
    struct ls_connect_params cp;
    struct ls_data_message msg;
    struct ls_metadata md;
    struct blob g;
    const char *name;
    double start, duration;
    bool reset;
    (void)state;

    g = golden("ffprobe_connect");
    cmd = decode_cmd(g);
    assert_int_equal(ls_command_parse_connect(&cmd, &cp), LS_OK);
    assert_string_equal(cp.app, "live");
    assert_string_equal(cp.tc_url, "rtmp://127.0.0.1:19352/live");
    assert_true(cp.has_capabilities && cp.capabilities == 15);
    assert_true(cp.has_audio_codecs && cp.audio_codecs == 4071);
    assert_true(cp.has_video_codecs && cp.video_codecs == 252);
    assert_null(cp.type);
    ls_command_free(&cmd);
    free(g.data);

    g = golden("ffprobe_getstreamlength");
    cmd = decode_cmd(g);
    assert_int_equal(ls_command_parse_stream_name(&cmd, &name), LS_OK);
    assert_string_equal(name, "fixture");
    ls_command_free(&cmd);
    free(g.data);

    /* ffprobe sends only the start (-2000): duration and reset take their defaults */
    g = golden("ffprobe_play");
    cmd = decode_cmd(g);
    assert_int_equal(ls_command_parse_play(&cmd, &name, &start, &duration, &reset), LS_OK);
    assert_string_equal(name, "fixture");
    assert_true(start == -2000);
    assert_true(duration == -1);
    assert_true(reset);
    ls_command_free(&cmd);
    free(g.data);

    g = golden("nginx_connect_result");
    cmd = decode_cmd(g);
    assert_true(ls_command_is(&cmd, "_result"));
    assert_string_equal(ls_amf_get_string(&cmd.command_object, "fmsVer"), "FMS/3,0,1,123");
    assert_int_equal(cmd.nargs, 1);
    assert_string_equal(ls_amf_get_string(&cmd.args[0], "code"), "NetConnection.Connect.Success");
    ls_command_free(&cmd);
    free(g.data);

    /* nginx sends onMetaData as an object, with fps as well as framerate */
    g = golden("nginx_onmetadata");
    assert_int_equal(ls_data_decode(g.data, g.len, false, NULL, &msg, NULL), (ssize_t)g.len);
    assert_int_equal(ls_metadata_parse(ls_data_metadata(&msg), &md), LS_OK);
    assert_true(md.width == 320 && md.height == 240 && md.framerate == 25);
    assert_true(md.videocodecid == 7 && md.audiocodecid == 10);
    ls_data_free(&msg);
    free(g.data);

    g = golden("nginx_sampleaccess");
    assert_int_equal(ls_data_decode(g.data, g.len, false, NULL, &msg, NULL), (ssize_t)g.len);
    assert_string_equal(msg.name, "|RtmpSampleAccess");
    assert_int_equal(msg.nvalues, 2);
    assert_null(ls_data_metadata(&msg));
    ls_data_free(&msg);
    free(g.data);
}

/* Our builders reproduce what ffmpeg and nginx-rtmp put on the wire, byte for byte. */
static void test_builders_match_real_peers(void **state)
{
    struct ls_buf b;
    struct blob g;
    struct ls_amf_value arg = LS_AMF_VALUE_INIT;
    (void)state;

    ls_buf_init(&b, 0);
    g = golden("nginx_createstream_result");
    assert_int_equal(ls_command_build_create_stream_result(&b, 4, 1), LS_OK);
    assert_buf_is(&b, g);
    free(g.data);

    ls_buf_reset(&b);
    g = golden("nginx_onstatus_publish");
    assert_int_equal(ls_command_build_onstatus(&b, "status", "NetStream.Publish.Start",
                                               "Start publishing", NULL), LS_OK);
    assert_buf_is(&b, g);
    free(g.data);

    ls_buf_reset(&b);
    g = golden("nginx_onstatus_play");
    assert_int_equal(ls_command_build_onstatus(&b, "status", "NetStream.Play.Start",
                                               "Start live", NULL), LS_OK);
    assert_buf_is(&b, g);
    free(g.data);

    ls_buf_reset(&b);
    g = golden("nginx_sampleaccess");
    assert_int_equal(ls_data_build_sample_access(&b, true, true), LS_OK);
    assert_buf_is(&b, g);
    free(g.data);

    ls_buf_reset(&b);
    g = golden("ffmpeg_createstream");
    assert_int_equal(ls_command_build_create_stream(&b, 4), LS_OK);
    assert_buf_is(&b, g);
    free(g.data);

    ls_buf_reset(&b);
    g = golden("ffmpeg_publish");
    assert_int_equal(ls_command_build_publish(&b, 5, "fixture", NULL), LS_OK);
    assert_buf_is(&b, g);
    free(g.data);

    ls_buf_reset(&b);
    g = golden("ffmpeg_deletestream");
    assert_int_equal(ls_command_build_delete_stream(&b, 7, 1), LS_OK);
    assert_buf_is(&b, g);
    free(g.data);

    ls_buf_reset(&b);
    g = golden("ffmpeg_releasestream");
    arg = amf_str("fixture");
    assert_int_equal(ls_command_build_call(&b, "releaseStream", 2, &arg, 1), LS_OK);
    assert_buf_is(&b, g);
    free(g.data);
    ls_amf_clear(&arg);
    ls_buf_free(&b);
}

/* ---- decoding: AMF3 messages and malformed input ------------------------------------------ */

static void test_amf3_command_message(void **state)
{
    /* type 17: format byte, AMF0 name and txid, command object switched to AMF3 */
    static const uint8_t msg[] = {
        0x00,
        0x02, 0x00, 0x07, 'c', 'o', 'n', 'n', 'e', 'c', 't',
        0x00, 0x3f, 0xf0, 0, 0, 0, 0, 0, 0,
        0x11, 0x0a, 0x0b, 0x01,
        0x07, 'a', 'p', 'p', 0x06, 0x09, 'l', 'i', 'v', 'e',
        0x1d, 'o', 'b', 'j', 'e', 'c', 't', 'E', 'n', 'c', 'o', 'd', 'i', 'n', 'g', 0x04, 0x03,
        0x15, 'f', 'o', 'u', 'r', 'C', 'c', 'L', 'i', 's', 't',
        0x09, 0x05, 0x01, 0x06, 0x09, 'h', 'v', 'c', '1', 0x06, 0x09, 'a', 'v', '0', '1',
        0x0d, 'c', 'a', 'p', 's', 'E', 'x', 0x04, 0x01,
        0x01,
        0x11, 0x06, 0x00, /* an argument: AMF3 string reference 0 ("app") */
    };
    struct ls_command cmd;
    struct ls_connect_params cp;
    (void)state;

    assert_int_equal(ls_command_decode(msg, sizeof msg, true, NULL, &cmd, NULL),
                     (ssize_t)sizeof msg);
    assert_int_equal(ls_command_parse_connect(&cmd, &cp), LS_OK);
    assert_string_equal(cp.app, "live");
    assert_true(cp.object_encoding == 3); /* an AMF3 integer counts as a number */
    assert_true(cp.has_fourcc_list);
    assert_int_equal(cp.fourcc_list->type, LS_AMF_STRICT_ARRAY);
    assert_int_equal(cp.fourcc_list->u.c->nitems, 2);
    assert_true(cp.has_caps_ex && cp.caps_ex == 1);
    assert_int_equal(cmd.nargs, 1);
    assert_string_equal(cmd.args[0].u.str.ptr, "app");
    ls_command_free(&cmd);
    /* the same bytes as a type-20 message are not AMF0 */
    assert_int_equal(ls_command_decode(msg, sizeof msg, false, NULL, &cmd, NULL), LS_EPROTO);
}

static void test_malformed_commands(void **state)
{
    static const struct {
        const char *what;
        uint8_t bytes[24];
        size_t len;
        bool amf3;
        int code;
    } cases[] = {
        { "empty", { 0 }, 0, false, LS_EPROTO },
        { "empty AMF3", { 0 }, 0, true, LS_EPROTO },
        { "format selector 3", { 0x03, 0x02, 0x00, 0x01, 'x' }, 5, true, LS_EPROTO },
        { "name is a number", { 0x00, 0, 0, 0, 0, 0, 0, 0, 0 }, 9, false, LS_EPROTO },
        { "name is null", { 0x05 }, 1, false, LS_EPROTO },
        { "txid is a string", { 0x02, 0x00, 0x01, 'x', 0x02, 0x00, 0x00 }, 7, false, LS_EPROTO },
        { "txid is null", { 0x02, 0x00, 0x01, 'x', 0x05 }, 5, false, LS_EPROTO },
        { "truncated arg", { 0x02, 0x00, 0x01, 'x', 0x00, 0, 0, 0, 0, 0, 0, 0, 0, 0x05, 0x02 },
          15, false, LS_EPROTO },
        { "externalizable arg", { 0x02, 0x00, 0x01, 'x', 0x11, 0x0a, 0x07, 0x03, 'C' }, 9,
          false, LS_EUNSUPPORTED },
    };
    size_t i;
    (void)state;

    for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct ls_command cmd;
        struct ls_data_message msg;
        const char *why = NULL;
        ssize_t rc = ls_command_decode(cases[i].bytes, cases[i].len, cases[i].amf3, NULL, &cmd,
                                       &why);

        if (rc != cases[i].code || why == NULL || cmd.name != NULL || cmd.args != NULL)
            fail_msg("command case \"%s\": got %zd, want %d", cases[i].what, rc, cases[i].code);
        /* data messages share the framing (but have no transaction id) */
        if (strstr(cases[i].what, "txid") != NULL)
            continue;
        rc = ls_data_decode(cases[i].bytes, cases[i].len, cases[i].amf3, NULL, &msg, NULL);
        if (rc != cases[i].code || msg.name != NULL)
            fail_msg("data case \"%s\": got %zd, want %d", cases[i].what, rc, cases[i].code);
    }
}

static void test_short_commands_and_limits(void **state)
{
    static const uint8_t name_only[] = { 0x02, 0x00, 0x01, 'x' };
    static const uint8_t name_txid[] = { 0x02, 0x00, 0x01, 'x', 0x00, 0x40, 0, 0, 0, 0, 0, 0, 0 };
    static const uint8_t four_args[] = { 0x02, 0x00, 0x01, 'x', 0x00, 0, 0, 0, 0, 0, 0, 0, 0,
                                         0x05, 0x05, 0x05, 0x05, 0x05 };
    struct ls_amf_limits lim = ls_amf_default_limits;
    struct ls_command cmd;
    struct ls_data_message msg;
    (void)state;

    assert_int_equal(ls_command_decode(name_only, sizeof name_only, false, NULL, &cmd, NULL), 4);
    assert_true(cmd.transaction_id == 0);
    assert_int_equal(cmd.command_object.type, LS_AMF_NULL);
    assert_int_equal(cmd.nargs, 0);
    ls_command_free(&cmd);
    assert_int_equal(ls_command_decode(name_txid, sizeof name_txid, false, NULL, &cmd, NULL),
                     (ssize_t)sizeof name_txid);
    assert_true(cmd.transaction_id == 2);
    ls_command_free(&cmd);
    assert_int_equal(ls_command_decode(four_args, sizeof four_args, false, NULL, &cmd, NULL),
                     (ssize_t)sizeof four_args);
    assert_int_equal(cmd.nargs, 4);
    ls_command_free(&cmd);
    ls_command_free(NULL);

    assert_int_equal(ls_data_decode(name_only, sizeof name_only, false, NULL, &msg, NULL), 4);
    assert_int_equal(msg.nvalues, 0);
    assert_null(msg.values);
    assert_null(ls_data_metadata(&msg));
    ls_data_free(&msg);
    ls_data_free(NULL);

    lim.max_nodes = 5; /* name, txid, object and two args, not three */
    assert_int_equal(ls_command_decode(four_args, sizeof four_args, false, &lim, &cmd, NULL),
                     LS_ELIMIT);
}

/* ---- typed views ------------------------------------------------------------------------------ */

/* Builds a command with ls_command_build_call, then decodes it. */
static struct ls_command call(const char *name, const struct ls_amf_value *args, size_t nargs)
{
    struct ls_buf b;
    struct ls_command cmd;

    ls_buf_init(&b, 0);
    assert_int_equal(ls_command_build_call(&b, name, 9, args, nargs), LS_OK);
    assert_int_equal(ls_command_decode(b.data, b.len, false, NULL, &cmd, NULL), (ssize_t)b.len);
    ls_buf_free(&b);
    return cmd;
}

static void test_parse_errors_and_defaults(void **state)
{
    struct ls_amf_value args[4];
    struct ls_command cmd;
    struct ls_connect_params cp;
    const char *name, *type;
    double start, duration, id;
    bool reset;
    size_t i;
    (void)state;

    memset(args, 0, sizeof args);
    /* no arguments at all */
    cmd = call("x", NULL, 0);
    assert_int_equal(cmd.command_object.type, LS_AMF_NULL);
    assert_int_equal(ls_command_parse_connect(&cmd, &cp), LS_EPROTO); /* null object */
    assert_int_equal(ls_command_parse_publish(&cmd, &name, &type), LS_EPROTO);
    assert_int_equal(ls_command_parse_play(&cmd, &name, &start, &duration, &reset), LS_EPROTO);
    assert_int_equal(ls_command_parse_stream_name(&cmd, &name), LS_EPROTO);
    assert_int_equal(ls_command_parse_delete_stream(&cmd, &id), LS_EPROTO);
    ls_command_free(&cmd);

    /* wrong types */
    ls_amf_set_number(&args[0], 1);
    ls_amf_set_number(&args[1], 2);
    ls_amf_set_number(&args[2], 3);
    ls_amf_set_number(&args[3], 4);
    cmd = call("x", args, 4);
    assert_int_equal(ls_command_parse_publish(&cmd, &name, &type), LS_EPROTO);
    assert_int_equal(ls_command_parse_play(&cmd, &name, &start, &duration, &reset), LS_EPROTO);
    assert_int_equal(ls_command_parse_stream_name(&cmd, &name), LS_EPROTO);
    assert_int_equal(ls_command_parse_delete_stream(&cmd, &id), LS_OK);
    assert_true(id == 1);
    ls_command_free(&cmd);

    assert_int_equal(ls_amf_set_string(&args[0], "s", 1), LS_OK);
    cmd = call("publish", args, 2); /* type is a number */
    assert_int_equal(ls_command_parse_publish(&cmd, &name, &type), LS_EPROTO);
    ls_command_free(&cmd);
    ls_amf_set_null(&args[1]);
    cmd = call("publish", args, 2); /* type null → live */
    assert_int_equal(ls_command_parse_publish(&cmd, &name, &type), LS_OK);
    assert_string_equal(type, "live");
    ls_command_free(&cmd);
    assert_int_equal(ls_amf_set_string(&args[1], "record", 6), LS_OK);
    cmd = call("publish", args, 2);
    assert_int_equal(ls_command_parse_publish(&cmd, &name, &type), LS_OK);
    assert_string_equal(type, "record");
    ls_command_free(&cmd);

    /* play: null/undefined take defaults; reset as a number; wrong types refused */
    ls_amf_set_null(&args[1]);
    ls_amf_set_undefined(&args[2]);
    ls_amf_set_number(&args[3], 0);
    cmd = call("play", args, 4);
    assert_int_equal(ls_command_parse_play(&cmd, &name, &start, &duration, &reset), LS_OK);
    assert_true(start == -2 && duration == -1 && !reset);
    ls_command_free(&cmd);
    ls_amf_set_bool(&args[3], false);
    ls_amf_set_number(&args[1], 5);
    ls_amf_set_number(&args[2], 6);
    cmd = call("play", args, 4);
    assert_int_equal(ls_command_parse_play(&cmd, &name, &start, &duration, &reset), LS_OK);
    assert_true(start == 5 && duration == 6 && !reset);
    ls_command_free(&cmd);
    assert_int_equal(ls_amf_set_string(&args[3], "yes", 3), LS_OK);
    cmd = call("play", args, 4);
    assert_int_equal(ls_command_parse_play(&cmd, &name, &start, &duration, &reset), LS_EPROTO);
    ls_command_free(&cmd);
    assert_int_equal(ls_amf_set_string(&args[2], "long", 4), LS_OK);
    cmd = call("play", args, 3);
    assert_int_equal(ls_command_parse_play(&cmd, &name, &start, &duration, &reset), LS_EPROTO);
    ls_command_free(&cmd);
    for (i = 0; i < 4; i++)
        ls_amf_clear(&args[i]);
}

static void test_parse_connect_requires_app(void **state)
{
    static const uint8_t no_app[] = { 0x02, 0x00, 0x07, 'c', 'o', 'n', 'n', 'e', 'c', 't',
                                      0x00, 0x3f, 0xf0, 0, 0, 0, 0, 0, 0,
                                      0x03, 0x00, 0x05, 't', 'c', 'U', 'r', 'l', 0x02, 0x00, 0x00,
                                      0x00, 0x00, 0x09 };
    static const uint8_t app_number[] = { 0x02, 0x00, 0x01, 'c', 0x00, 0, 0, 0, 0, 0, 0, 0, 0,
                                          0x08, 0, 0, 0, 1, 0x00, 0x03, 'a', 'p', 'p',
                                          0x00, 0, 0, 0, 0, 0, 0, 0, 0, 0x00, 0x00, 0x09 };
    struct ls_command cmd;
    struct ls_connect_params cp;
    (void)state;

    assert_int_equal(ls_command_decode(no_app, sizeof no_app, false, NULL, &cmd, NULL),
                     (ssize_t)sizeof no_app);
    assert_int_equal(ls_command_parse_connect(&cmd, &cp), LS_EPROTO);
    ls_command_free(&cmd);
    assert_int_equal(ls_command_decode(app_number, sizeof app_number, false, NULL, &cmd, NULL),
                     (ssize_t)sizeof app_number);
    assert_int_equal(ls_command_parse_connect(&cmd, &cp), LS_EPROTO);
    ls_command_free(&cmd);
}

/* ---- builders --------------------------------------------------------------------------------- */

static void test_connect_result_and_client_connect(void **state)
{
    struct ls_buf b;
    struct ls_command cmd;
    struct ls_connect_params cp;
    const struct ls_amf_value *data;
    double d;
    (void)state;

    ls_buf_init(&b, 0);
    assert_int_equal(ls_command_build_connect_result(&b, 1, "FMS/3,5,3,888", 31, 3, "Hi."), LS_OK);
    assert_int_equal(ls_command_decode(b.data, b.len, false, NULL, &cmd, NULL), (ssize_t)b.len);
    assert_true(ls_command_is(&cmd, "_result"));
    assert_true(cmd.transaction_id == 1);
    assert_string_equal(ls_amf_get_string(&cmd.command_object, "fmsVer"), "FMS/3,5,3,888");
    assert_true(ls_amf_get_number(&cmd.command_object, "capabilities", &d) && d == 31);
    assert_true(ls_amf_get_number(&cmd.command_object, "mode", &d) && d == 1);
    assert_int_equal(cmd.nargs, 1);
    assert_string_equal(ls_amf_get_string(&cmd.args[0], "level"), "status");
    assert_string_equal(ls_amf_get_string(&cmd.args[0], "code"), "NetConnection.Connect.Success");
    assert_string_equal(ls_amf_get_string(&cmd.args[0], "description"), "Hi.");
    assert_true(ls_amf_get_number(&cmd.args[0], "objectEncoding", &d) && d == 3);
    data = ls_amf_get(&cmd.args[0], "data");
    assert_non_null(data);
    assert_int_equal(data->type, LS_AMF_ECMA_ARRAY);
    assert_string_equal(ls_amf_get_string(data, "version"), "3,5,3,888");
    ls_command_free(&cmd);

    ls_buf_reset(&b); /* defaults */
    assert_int_equal(ls_command_build_connect_result(&b, 1, NULL, 31, 0, NULL), LS_OK);
    assert_int_equal(ls_command_decode(b.data, b.len, false, NULL, &cmd, NULL), (ssize_t)b.len);
    assert_string_equal(ls_amf_get_string(&cmd.command_object, "fmsVer"), "FMS/3,0,1,123");
    assert_string_equal(ls_amf_get_string(ls_amf_get(&cmd.args[0], "data"), "version"),
                        "3,0,1,123");
    assert_string_equal(ls_amf_get_string(&cmd.args[0], "description"), "Connection succeeded.");
    ls_command_free(&cmd);

    ls_buf_reset(&b); /* a version without a "/" is used whole */
    assert_int_equal(ls_command_build_connect_result(&b, 1, "1,2", 31, 0, NULL), LS_OK);
    assert_int_equal(ls_command_decode(b.data, b.len, false, NULL, &cmd, NULL), (ssize_t)b.len);
    assert_string_equal(ls_amf_get_string(ls_amf_get(&cmd.args[0], "data"), "version"), "1,2");
    ls_command_free(&cmd);

    ls_buf_reset(&b);
    assert_int_equal(ls_command_build_connect(&b, 1, "live", "rtmp://h/live", "LNX 9,0,124,2", 0),
                     LS_OK);
    assert_int_equal(ls_command_decode(b.data, b.len, false, NULL, &cmd, NULL), (ssize_t)b.len);
    assert_int_equal(ls_command_parse_connect(&cmd, &cp), LS_OK);
    assert_string_equal(cp.app, "live");
    assert_string_equal(cp.tc_url, "rtmp://h/live");
    assert_string_equal(cp.flash_ver, "LNX 9,0,124,2");
    assert_true(cp.has_video_codecs && cp.video_codecs == 252);
    ls_command_free(&cmd);
    ls_buf_reset(&b);
    assert_int_equal(ls_command_build_connect(&b, 1, "a", "rtmp://h/a", NULL, 3), LS_OK);
    assert_int_equal(ls_command_decode(b.data, b.len, false, NULL, &cmd, NULL), (ssize_t)b.len);
    assert_int_equal(ls_command_parse_connect(&cmd, &cp), LS_OK);
    assert_null(cp.flash_ver);
    assert_true(cp.object_encoding == 3);
    ls_command_free(&cmd);
    ls_buf_free(&b);
}

static void test_result_error_and_client_calls(void **state)
{
    struct ls_buf b;
    struct ls_command cmd;
    struct ls_amf_value obj = LS_AMF_VALUE_INIT, info = LS_AMF_VALUE_INIT;
    const char *name, *type;
    double start, duration;
    bool reset;
    (void)state;

    ls_buf_init(&b, 0);
    assert_int_equal(ls_amf_object_new(&obj), LS_OK);
    assert_int_equal(ls_amf_object_add_number(&obj, "k", 1), LS_OK);
    assert_int_equal(ls_amf_object_new(&info), LS_OK);
    assert_int_equal(ls_amf_object_add_string(&info, "code", "X"), LS_OK);
    assert_int_equal(ls_command_build_result(&b, "_result", 3, &obj, &info), LS_OK);
    assert_int_equal(ls_command_decode(b.data, b.len, false, NULL, &cmd, NULL), (ssize_t)b.len);
    assert_true(ls_amf_equal(&cmd.command_object, &obj));
    assert_int_equal(cmd.nargs, 1);
    assert_true(ls_amf_equal(&cmd.args[0], &info));
    ls_command_free(&cmd);
    ls_buf_reset(&b);
    assert_int_equal(ls_command_build_result(&b, "_error", 3, NULL, NULL), LS_OK);
    assert_int_equal(ls_command_decode(b.data, b.len, false, NULL, &cmd, NULL), (ssize_t)b.len);
    assert_true(ls_command_is(&cmd, "_error"));
    assert_int_equal(cmd.command_object.type, LS_AMF_NULL);
    assert_int_equal(cmd.nargs, 0);
    ls_command_free(&cmd);
    ls_amf_clear(&obj);
    ls_amf_clear(&info);

    ls_buf_reset(&b);
    assert_int_equal(ls_command_build_error(&b, 4, "NetStream.Publish.BadName", "taken"), LS_OK);
    assert_int_equal(ls_command_decode(b.data, b.len, false, NULL, &cmd, NULL), (ssize_t)b.len);
    assert_true(ls_command_is(&cmd, "_error"));
    assert_true(cmd.transaction_id == 4);
    assert_string_equal(ls_amf_get_string(&cmd.args[0], "level"), "error");
    assert_string_equal(ls_amf_get_string(&cmd.args[0], "code"), "NetStream.Publish.BadName");
    assert_string_equal(ls_amf_get_string(&cmd.args[0], "description"), "taken");
    ls_command_free(&cmd);

    ls_buf_reset(&b);
    assert_int_equal(ls_command_build_onstatus(&b, "error", "NetStream.Play.StreamNotFound",
                                               "no such stream", "s1"), LS_OK);
    assert_int_equal(ls_command_decode(b.data, b.len, false, NULL, &cmd, NULL), (ssize_t)b.len);
    assert_string_equal(ls_amf_get_string(&cmd.args[0], "details"), "s1");
    ls_command_free(&cmd);

    ls_buf_reset(&b);
    assert_int_equal(ls_command_build_play(&b, 5, "s", -1000, 30, false), LS_OK);
    assert_int_equal(ls_command_decode(b.data, b.len, false, NULL, &cmd, NULL), (ssize_t)b.len);
    assert_int_equal(ls_command_parse_play(&cmd, &name, &start, &duration, &reset), LS_OK);
    assert_string_equal(name, "s");
    assert_true(start == -1000 && duration == 30 && !reset);
    ls_command_free(&cmd);

    ls_buf_reset(&b);
    assert_int_equal(ls_command_build_publish(&b, 5, "s", "append"), LS_OK);
    assert_int_equal(ls_command_decode(b.data, b.len, false, NULL, &cmd, NULL), (ssize_t)b.len);
    assert_int_equal(ls_command_parse_publish(&cmd, &name, &type), LS_OK);
    assert_string_equal(type, "append");
    ls_command_free(&cmd);
    ls_buf_free(&b);

    /* a full bounded buffer: the builder reports it and never writes past the bound */
    ls_buf_init(&b, 10);
    assert_int_equal(ls_command_build_onstatus(&b, "status", "NetStream.Play.Start", "x", NULL),
                     LS_ELIMIT);
    assert_true(b.len <= 10);
    ls_buf_free(&b);
}

static void test_metadata_build(void **state)
{
    struct ls_buf b;
    struct ls_amf_value meta = LS_AMF_VALUE_INIT, n = LS_AMF_VALUE_INIT;
    struct ls_data_message msg;
    const struct ls_amf_value *got;
    (void)state;

    ls_buf_init(&b, 0);
    assert_int_equal(ls_amf_object_new(&meta), LS_OK);
    assert_int_equal(ls_amf_object_add_number(&meta, "width", 640), LS_OK);
    assert_int_equal(ls_amf_object_add_string(&meta, "encoder", "x"), LS_OK);
    assert_int_equal(ls_data_build_metadata(&b, &meta), LS_OK);
    assert_int_equal(b.data[13], 0x08); /* after "onMetaData": an ECMA array */
    assert_int_equal(ls_get_be32(b.data + 14), 2);
    assert_int_equal(ls_data_decode(b.data, b.len, false, NULL, &msg, NULL), (ssize_t)b.len);
    got = ls_data_metadata(&msg);
    assert_non_null(got);
    assert_int_equal(got->type, LS_AMF_ECMA_ARRAY);
    assert_int_equal(got->u.c->nprops, 2);
    assert_string_equal(ls_amf_get_string(got, "encoder"), "x");
    ls_data_free(&msg);
    ls_amf_clear(&meta);

    ls_buf_reset(&b); /* an ECMA array goes out as it is */
    assert_int_equal(ls_amf_ecma_new(&meta), LS_OK);
    assert_int_equal(ls_amf_object_add_bool(&meta, "stereo", true), LS_OK);
    assert_int_equal(ls_data_build_metadata(&b, &meta), LS_OK);
    assert_int_equal(ls_data_decode(b.data, b.len, false, NULL, &msg, NULL), (ssize_t)b.len);
    assert_true(ls_amf_equal(ls_data_metadata(&msg), &meta));
    ls_data_free(&msg);
    ls_amf_clear(&meta);

    ls_buf_reset(&b);
    ls_amf_set_number(&n, 1);
    assert_int_equal(ls_data_build_metadata(&b, &n), LS_EINVAL);
    assert_int_equal(b.len, 0);
    ls_buf_free(&b);
}

static void test_metadata_parse_variants(void **state)
{
    struct ls_amf_value o = LS_AMF_VALUE_INIT, v = LS_AMF_VALUE_INIT;
    struct ls_metadata md;
    (void)state;

    /* Enhanced RTMP string codec ids; fps without framerate; stereo as a number */
    assert_int_equal(ls_amf_ecma_new(&o), LS_OK);
    assert_int_equal(ls_amf_object_add_string(&o, "videocodecid", "hvc1"), LS_OK);
    assert_int_equal(ls_amf_object_add_string(&o, "audiocodecid", "mp4a"), LS_OK);
    assert_int_equal(ls_amf_object_add_number(&o, "fps", 30), LS_OK);
    assert_int_equal(ls_amf_object_add_number(&o, "stereo", 1), LS_OK);
    ls_amf_set_integer(&v, 1920); /* an AMF3 integer */
    assert_int_equal(ls_amf_object_add(&o, "width", &v), LS_OK);
    assert_int_equal(ls_amf_object_add_string(&o, "height", "1080"), LS_OK); /* wrong type */
    assert_int_equal(ls_metadata_parse(&o, &md), LS_OK);
    assert_true(md.has_videocodecid);
    assert_string_equal(md.videocodec, "hvc1");
    assert_true(md.videocodecid == 0x68766331);
    assert_string_equal(md.audiocodec, "mp4a");
    assert_true(md.audiocodecid == 0x6d703461);
    assert_true(md.has_framerate && md.framerate == 30);
    assert_true(md.has_stereo && md.stereo);
    assert_true(md.has_width && md.width == 1920);
    assert_false(md.has_height);
    assert_false(md.has_duration);
    assert_null(md.encoder);
    ls_amf_clear(&o);

    /* FourCC sent as a number keeps both forms; an overlong string is cut, not spilled */
    assert_int_equal(ls_amf_object_new(&o), LS_OK);
    assert_int_equal(ls_amf_object_add_number(&o, "videocodecid", 0x61763031), LS_OK); /* av01 */
    assert_int_equal(ls_amf_object_add_string(&o, "audiocodecid",
                                              "a-very-long-codec-name-indeed"), LS_OK);
    assert_int_equal(ls_amf_object_add_bool(&o, "framerate", true), LS_OK); /* wrong type */
    assert_int_equal(ls_amf_object_add_string(&o, "stereo", "yes"), LS_OK);  /* wrong type */
    memset(&md, 0xa5, sizeof md);
    assert_int_equal(ls_metadata_parse(&o, &md), LS_OK);
    assert_string_equal(md.videocodec, "av01");
    assert_int_equal(strlen(md.audiocodec), LS_METADATA_CODEC_LEN - 1);
    assert_memory_equal(md.audiocodec, "a-very-long-cod", LS_METADATA_CODEC_LEN - 1);
    assert_true(md.audiocodecid == 0);
    assert_false(md.has_framerate);
    assert_false(md.has_stereo);
    ls_amf_clear(&o);

    /* numbers that are not FourCCs get no string; a non-printable "FourCC" neither */
    assert_int_equal(ls_amf_object_new(&o), LS_OK);
    assert_int_equal(ls_amf_object_add_number(&o, "videocodecid", 0x61000031), LS_OK);
    assert_int_equal(ls_amf_object_add_number(&o, "audiocodecid", 1.5e9 + 0.5), LS_OK);
    assert_int_equal(ls_metadata_parse(&o, &md), LS_OK);
    assert_string_equal(md.videocodec, "");
    assert_string_equal(md.audiocodec, "");
    ls_amf_clear(&o);

    ls_amf_set_number(&v, 1);
    assert_int_equal(ls_metadata_parse(&v, &md), LS_EINVAL);
    assert_false(md.has_width);
    assert_int_equal(ls_metadata_parse(NULL, &md), LS_EINVAL);
}

static void test_data_metadata_lookup(void **state)
{
    /* "@setDataFrame" followed by something other than "onMetaData", and by a non-object */
    static const uint8_t other[] = { 0x02, 0x00, 0x0d, '@', 's', 'e', 't', 'D', 'a', 't', 'a',
                                     'F', 'r', 'a', 'm', 'e', 0x02, 0x00, 0x03, 'o', 'n', 'X',
                                     0x03, 0x00, 0x00, 0x09 };
    static const uint8_t notobj[] = { 0x02, 0x00, 0x0a, 'o', 'n', 'M', 'e', 't', 'a', 'D', 'a',
                                      't', 'a', 0x05 };
    static const uint8_t short_sdf[] = { 0x02, 0x00, 0x0d, '@', 's', 'e', 't' };
    struct ls_data_message msg;
    const uint8_t *rest;
    size_t rest_len;
    (void)state;

    assert_int_equal(ls_data_decode(other, sizeof other, false, NULL, &msg, NULL),
                     (ssize_t)sizeof other);
    assert_null(ls_data_metadata(&msg));
    ls_data_free(&msg);
    assert_int_equal(ls_data_decode(notobj, sizeof notobj, false, NULL, &msg, NULL),
                     (ssize_t)sizeof notobj);
    assert_null(ls_data_metadata(&msg));
    ls_data_free(&msg);
    assert_false(ls_data_strip_set_data_frame(short_sdf, sizeof short_sdf, &rest, &rest_len));
    assert_ptr_equal(rest, short_sdf);
    assert_int_equal(rest_len, sizeof short_sdf);
    assert_false(ls_data_strip_set_data_frame(notobj, sizeof notobj, &rest, &rest_len));
    assert_true(ls_data_strip_set_data_frame(other, sizeof other, &rest, &rest_len));
    assert_int_equal(rest_len, sizeof other - 16);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fixture_cut_matches_golden_files),
        cmocka_unit_test(test_golden_payloads_whole_and_prefixes),
        cmocka_unit_test(test_ffmpeg_publish_session),
        cmocka_unit_test(test_ffmpeg_metadata),
        cmocka_unit_test(test_nginx_and_ffprobe_messages),
        cmocka_unit_test(test_builders_match_real_peers),
        cmocka_unit_test(test_amf3_command_message),
        cmocka_unit_test(test_malformed_commands),
        cmocka_unit_test(test_short_commands_and_limits),
        cmocka_unit_test(test_parse_errors_and_defaults),
        cmocka_unit_test(test_parse_connect_requires_app),
        cmocka_unit_test(test_connect_result_and_client_connect),
        cmocka_unit_test(test_result_error_and_client_calls),
        cmocka_unit_test(test_metadata_build),
        cmocka_unit_test(test_metadata_parse_variants),
        cmocka_unit_test(test_data_metadata_lookup),
    };
    return cmocka_run_group_tests_name("command", tests, NULL, NULL);
}
