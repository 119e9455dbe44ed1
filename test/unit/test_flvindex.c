/*
 * Unit tests for flvindex.c: the index of ffmpeg's fixture fed whole, through the want/feed
 * protocol with exactly the bytes asked for and in 64 KiB chunks (all must agree), the
 * seek lookup ("the keyframe at or before"), and hand-built files for every way indexing
 * ends early, a timeline that does not start at 0, audio-only files, repeated and changed
 * sequence headers, timestamps that go back, and the bound on keys.
 *
 * Every feed is an exact-size heap copy of the asked-for bytes, so ASan reports any read
 * past them.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "libstream/buf.h"
#include "libstream/flv.h"
#include "libstream/flvindex.h"
#include "support/input.h"

#define FIXTURE "test/fixtures/ffmpeg_h264_aac.flv"

static uint8_t *load(const char *path, size_t *len)
{
    return input_read_file(path, len);
}

/*
 * Builds the index of `file` the way a reader does: asks, reads `chunk` bytes (at least
 * what was asked; 0 = exactly what was asked) from the offset asked, feeds a heap copy.
 * `*read_bytes` (optional) counts the bytes fed.
 */
static int index_file(const uint8_t *file, size_t size, size_t chunk,
                      const struct ls_flvindex_limits *lim, struct ls_flvindex **out,
                      uint64_t *read_bytes, const char **why)
{
    struct ls_flvindex_builder *b = ls_flvindex_builder_new(size, lim);
    uint64_t off;
    size_t want;
    int rc = LS_OK, rounds = 0;

    assert_non_null(b);
    *out = NULL;
    if (read_bytes != NULL)
        *read_bytes = 0;
    while (rc == LS_OK && ls_flvindex_builder_want(b, &off, &want)) {
        size_t n = chunk > want ? chunk : want;
        uint8_t *copy;

        assert_true(off < size);
        assert_true(want > 0);
        if (n > size - off)
            n = size - (size_t)off;
        copy = input_dup_exact(file + off, n);
        rc = ls_flvindex_builder_feed(b, off, copy, n, why);
        free(copy);
        if (read_bytes != NULL)
            *read_bytes += n;
        assert_true(++rounds < 100000); /* every feed makes progress */
    }
    if (rc == LS_OK)
        rc = ls_flvindex_builder_finish(b, out, why);
    ls_flvindex_builder_free(b);
    return rc;
}

static void assert_same_index(const struct ls_flvindex *a, const struct ls_flvindex *b)
{
    size_t i;

    assert_int_equal(a->data_start, b->data_start);
    assert_int_equal(a->data_end, b->data_end);
    assert_int_equal(a->first_ts, b->first_ts);
    assert_int_equal(a->duration_ms, b->duration_ms);
    assert_int_equal(a->tags, b->tags);
    assert_int_equal(a->nkeys, b->nkeys);
    assert_int_equal(a->nblobs, b->nblobs);
    assert_int_equal(a->meta, b->meta);
    for (i = 0; i < a->nkeys; i++) {
        assert_int_equal(a->keys[i].offset, b->keys[i].offset);
        assert_int_equal(a->keys[i].ts, b->keys[i].ts);
        assert_int_equal(a->keys[i].vseq, b->keys[i].vseq);
        assert_int_equal(a->keys[i].aseq, b->keys[i].aseq);
    }
    for (i = 0; i < a->nblobs; i++) {
        assert_int_equal(a->blobs[i].type, b->blobs[i].type);
        assert_int_equal(a->blobs[i].len, b->blobs[i].len);
        assert_memory_equal(a->blobs[i].data, b->blobs[i].data, a->blobs[i].len);
    }
}

/* ---- the fixture ------------------------------------------------------------------- */

static void test_fixture(void **state)
{
    size_t size;
    uint8_t *file = load(FIXTURE, &size);
    struct ls_flvindex *whole, *exact, *chunked;
    const struct ls_flvindex_blob *bl;
    uint64_t read_exact, read_chunked;

    (void)state;
    assert_int_equal(index_file(file, size, size, NULL, &whole, NULL, NULL), LS_OK);
    /* test/fixtures/README.md: 1 script, 52 video, 89 audio tags; 2 keyframes */
    assert_int_equal(whole->tags, 142);
    assert_true(whole->has_video && whole->has_audio);
    assert_null(whole->stop_why);
    assert_int_equal(whole->data_start, 13);
    assert_int_equal(whole->data_end, size);
    assert_int_equal(whole->file_size, size);
    assert_int_equal(whole->nkeys, 2);
    assert_int_equal(whole->keys[0].ts, 0);
    assert_int_equal(whole->keys[1].ts, 1000);
    assert_true(whole->duration_ms >= 1960 && whole->duration_ms <= 2080);
    /* onMetaData, the AVC and the AAC sequence headers */
    assert_int_equal(whole->nblobs, 3);
    bl = ls_flvindex_blob(whole, whole->meta);
    assert_non_null(bl);
    assert_int_equal(bl->type, LS_FLV_TAG_SCRIPT);
    assert_memory_equal(bl->data + 3, "onMetaData", 10);
    bl = ls_flvindex_blob(whole, whole->keys[1].vseq);
    assert_non_null(bl);
    assert_int_equal(bl->type, LS_FLV_TAG_VIDEO);
    assert_int_equal(bl->data[0], 0x17);
    assert_int_equal(bl->data[1], 0); /* AVCPacketType 0: the configuration record */
    bl = ls_flvindex_blob(whole, whole->keys[1].aseq);
    assert_non_null(bl);
    assert_int_equal(bl->type, LS_FLV_TAG_AUDIO);
    assert_int_equal(bl->data[1], 0); /* AACPacketType 0 */
    /* each key points at a video keyframe tag */
    assert_int_equal(file[whole->keys[1].offset], LS_FLV_TAG_VIDEO);
    assert_int_equal(file[whole->keys[1].offset + 11], 0x17);
    assert_int_equal(file[whole->keys[1].offset + 12], 1);
    assert_true(whole->memory > sizeof *whole);

    assert_int_equal(index_file(file, size, 0, NULL, &exact, &read_exact, NULL), LS_OK);
    assert_same_index(whole, exact);
    assert_int_equal(index_file(file, size, 65536, NULL, &chunked, &read_chunked, NULL), LS_OK);
    assert_same_index(whole, chunked);
    /* asked for exactly what it needs, it reads far less than the file */
    assert_true(read_exact < size / 4);
    ls_flvindex_free(whole);
    ls_flvindex_free(exact);
    ls_flvindex_free(chunked);
    free(file);
}

/* ---- hand-built files --------------------------------------------------------------- */

static const uint8_t avc_seq[] = { 0x17, 0x00, 0, 0, 0, 0x01, 0x42, 0xc0, 0x1e, 0xff, 0xe1 };
static const uint8_t avc_seq2[] = { 0x17, 0x00, 0, 0, 0, 0x01, 0x64, 0x00, 0x28, 0xff, 0xe1 };
static const uint8_t avc_key[] = { 0x17, 0x01, 0, 0, 0, 0, 0, 0, 1, 0x65 };
static const uint8_t avc_inter[] = { 0x27, 0x01, 0, 0, 0, 0, 0, 0, 1, 0x41 };
static const uint8_t aac_seq[] = { 0xaf, 0x00, 0x12, 0x10 };
static const uint8_t aac_raw[] = { 0xaf, 0x01, 0x21, 0x00, 0x03 };
static const uint8_t meta[] = { 0x02, 0x00, 0x0a, 'o', 'n', 'M', 'e', 't', 'a', 'D', 'a', 't',
                                'a', 0x08, 0, 0, 0, 0, 0, 0, 9 };

static void put_tag(struct ls_buf *b, uint8_t type, uint32_t ts, const uint8_t *p, size_t n)
{
    assert_int_equal(ls_flv_write_tag(b, type, ts, p, (uint32_t)n), LS_OK);
}

static void new_file(struct ls_buf *b)
{
    ls_buf_init(b, 0);
    assert_int_equal(ls_flv_write_header(b, true, true), LS_OK);
}

/* A GOP every `gop_ms` from `t0`, 40 ms frames, for `ms`; AAC every 23 ms alongside. */
static void put_av(struct ls_buf *b, uint32_t t0, uint32_t ms, uint32_t gop_ms)
{
    uint32_t t, a = t0;

    put_tag(b, LS_FLV_TAG_SCRIPT, 0, meta, sizeof meta);
    put_tag(b, LS_FLV_TAG_VIDEO, t0, avc_seq, sizeof avc_seq);
    put_tag(b, LS_FLV_TAG_AUDIO, t0, aac_seq, sizeof aac_seq);
    for (t = t0; t < t0 + ms; t += 40) {
        bool key = (t - t0) % gop_ms == 0;

        put_tag(b, LS_FLV_TAG_VIDEO, t, key ? avc_key : avc_inter, sizeof avc_key);
        for (; a <= t; a += 23)
            put_tag(b, LS_FLV_TAG_AUDIO, a, aac_raw, sizeof aac_raw);
    }
}

static void test_timeline_offset(void **state)
{
    struct ls_buf b;
    struct ls_flvindex *ix;
    const struct ls_flvindex_key *k;

    (void)state;
    new_file(&b);
    put_av(&b, 3600000, 10000, 2000);
    assert_int_equal(index_file(b.data, b.len, 4096, NULL, &ix, NULL, NULL), LS_OK);
    assert_int_equal(ix->first_ts, 3600000);
    assert_int_equal(ix->nkeys, 5);
    assert_int_equal(ix->keys[0].ts, 0);
    assert_int_equal(ix->keys[4].ts, 8000);
    assert_true(ix->duration_ms >= 9960);
    k = ls_flvindex_seek(ix, 7300);
    assert_non_null(k);
    assert_int_equal(k->ts, 6000);
    assert_int_equal(b.data[k->offset], LS_FLV_TAG_VIDEO);
    assert_int_equal(ls_flvindex_rel_ts(ix, 3600040), 40);
    assert_int_equal(ls_flvindex_rel_ts(ix, 0), 0); /* metadata before the first media */
    ls_flvindex_free(ix);
    ls_buf_free(&b);
}

static void test_seek_lookup(void **state)
{
    struct ls_flvindex ix;
    struct ls_flvindex_key keys[3] = {
        { .offset = 100, .ts = 500 }, { .offset = 200, .ts = 2500 }, { .offset = 300, .ts = 4500 },
    };
    const struct { uint32_t ms; uint64_t offset; } cases[] = {
        { 0, 100 }, { 499, 100 }, { 500, 100 }, { 2499, 100 }, { 2500, 200 }, { 4499, 200 },
        { 4500, 300 }, { UINT32_MAX, 300 },
    };
    size_t i;

    (void)state;
    memset(&ix, 0, sizeof ix);
    assert_null(ls_flvindex_seek(&ix, 0));
    ix.keys = keys;
    ix.nkeys = 3;
    for (i = 0; i < sizeof cases / sizeof cases[0]; i++)
        assert_int_equal(ls_flvindex_seek(&ix, cases[i].ms)->offset, cases[i].offset);
    ix.nkeys = 1;
    assert_int_equal(ls_flvindex_seek(&ix, 0)->offset, 100);
    assert_int_equal(ls_flvindex_seek(&ix, 9999)->offset, 100);
    assert_null(ls_flvindex_blob(&ix, LS_FLVINDEX_NONE));
    assert_null(ls_flvindex_blob(&ix, 0));
}

static void test_not_flv(void **state)
{
    static const uint8_t junk[] = "GIF89a and more bytes than a header";
    uint8_t bad_offset[13] = { 'F', 'L', 'V', 1, 5, 0, 0, 0, 8 };
    uint8_t big_offset[13] = { 'F', 'L', 'V', 1, 5, 0, 0, 0x10, 0 };
    struct ls_flvindex *ix = (void *)1;
    const char *why = NULL;

    (void)state;
    assert_int_equal(index_file(junk, sizeof junk, 0, NULL, &ix, NULL, &why), LS_EPROTO);
    assert_null(ix);
    assert_non_null(why);
    assert_int_equal(index_file(bad_offset, sizeof bad_offset, 0, NULL, &ix, NULL, NULL),
                     LS_EPROTO);
    assert_int_equal(index_file(big_offset, sizeof big_offset, 0, NULL, &ix, NULL, NULL),
                     LS_EPROTO);
    assert_int_equal(index_file(junk, 5, 0, NULL, &ix, NULL, NULL), LS_EPROTO);
    assert_int_equal(index_file(junk, 0, 0, NULL, &ix, NULL, NULL), LS_EPROTO);
}

static void test_ends_early(void **state)
{
    struct ls_buf b;
    struct ls_flvindex *ix;
    struct ls_flvindex_limits lim = { .max_tag_size = 64 };
    size_t good;
    uint8_t big[100] = { 0x27, 0x01 };

    (void)state;
    /* a truncated last tag: the playable part ends at the tag before */
    new_file(&b);
    put_av(&b, 0, 2000, 1000);
    good = b.len;
    put_tag(&b, LS_FLV_TAG_VIDEO, 2000, avc_key, sizeof avc_key);
    assert_int_equal(index_file(b.data, b.len - 6, 0, NULL, &ix, NULL, NULL), LS_OK);
    assert_int_equal(ix->data_end, good);
    assert_non_null(ix->stop_why);
    ls_flvindex_free(ix);
    /* a tag header cut short */
    assert_int_equal(index_file(b.data, good + 5, 0, NULL, &ix, NULL, NULL), LS_OK);
    assert_int_equal(ix->data_end, good);
    assert_non_null(ix->stop_why);
    ls_flvindex_free(ix);
    /* the whole file, then a trailing PreviousTagSize cut in half: all tags count */
    assert_int_equal(index_file(b.data, b.len - 2, 0, NULL, &ix, NULL, NULL), LS_OK);
    assert_int_equal(ix->data_end, b.len - 2);
    assert_null(ix->stop_why);
    ls_flvindex_free(ix);
    /* a tag over max_tag_size */
    put_tag(&b, LS_FLV_TAG_VIDEO, 2040, big, sizeof big);
    assert_int_equal(index_file(b.data, b.len, 0, &lim, &ix, NULL, NULL), LS_OK);
    assert_int_equal(ix->data_end, b.len - 115);
    assert_string_equal(ix->stop_why, "tag larger than the largest message allowed");
    ls_flvindex_free(ix);
    ls_buf_free(&b);
    /* an encrypted tag (Filter bit) */
    new_file(&b);
    put_av(&b, 0, 1000, 1000);
    good = b.len;
    put_tag(&b, LS_FLV_TAG_VIDEO, 1000, avc_key, sizeof avc_key);
    b.data[good] |= 0x20;
    put_av(&b, 1040, 1000, 1000);
    assert_int_equal(index_file(b.data, b.len, 0, NULL, &ix, NULL, NULL), LS_OK);
    assert_int_equal(ix->data_end, good);
    assert_int_equal(ix->nkeys, 1);
    assert_string_equal(ix->stop_why, "encrypted (Filter) tag");
    ls_flvindex_free(ix);
    ls_buf_free(&b);
}

static void test_feed_protocol(void **state)
{
    struct ls_buf b;
    struct ls_flvindex_builder *bld;
    struct ls_flvindex *ix;
    uint64_t off;
    size_t want;

    (void)state;
    new_file(&b);
    put_av(&b, 0, 3000, 1000);
    bld = ls_flvindex_builder_new(b.len, NULL);
    assert_non_null(bld);
    assert_true(ls_flvindex_builder_want(bld, &off, &want));
    assert_int_equal(off, 0);
    assert_int_equal(want, 9);
    assert_int_equal(ls_flvindex_builder_feed(bld, 1, b.data + 1, 100, NULL), LS_EINVAL);
    assert_int_equal(ls_flvindex_builder_feed(bld, 0, b.data, 200, NULL), LS_OK);
    assert_true(ls_flvindex_builder_want(bld, &off, &want));
    assert_true(off > 13 && off < 200);
    /* fewer bytes than asked, before the end: the file shrank; indexing stops there */
    assert_int_equal(ls_flvindex_builder_feed(bld, off, b.data + off, want - 1, NULL), LS_OK);
    assert_false(ls_flvindex_builder_want(bld, &off, &want));
    assert_int_equal(ls_flvindex_builder_finish(bld, &ix, NULL), LS_OK);
    assert_string_equal(ix->stop_why, "file shorter than its size");
    /* tags whole within the short read still count (with the trailer that follows) */
    assert_true(ix->data_end >= off && ix->data_end <= off + want + LS_FLV_TAG_TRAILER_SIZE);
    /* the builder is spent */
    assert_int_equal(ls_flvindex_builder_feed(bld, off, b.data + off, 10, NULL), LS_ESTATE);
    ls_flvindex_free(ix);
    ls_flvindex_builder_free(bld);
    /* finished early: the file ends where feeding stopped */
    bld = ls_flvindex_builder_new(b.len, NULL);
    assert_int_equal(ls_flvindex_builder_feed(bld, 0, b.data, 500, NULL), LS_OK);
    assert_int_equal(ls_flvindex_builder_finish(bld, &ix, NULL), LS_OK);
    assert_string_equal(ix->stop_why, "indexing ended early");
    assert_true(ix->data_end <= 500);
    ls_flvindex_free(ix);
    ls_flvindex_builder_free(bld);
    ls_buf_free(&b);
}

static void test_audio_only(void **state)
{
    struct ls_buf b;
    struct ls_flvindex *ix;
    uint32_t t;
    size_t i;

    (void)state;
    new_file(&b);
    put_tag(&b, LS_FLV_TAG_AUDIO, 0, aac_seq, sizeof aac_seq);
    for (t = 0; t < 10000; t += 23)
        put_tag(&b, LS_FLV_TAG_AUDIO, t, aac_raw, sizeof aac_raw);
    assert_int_equal(index_file(b.data, b.len, 0, NULL, &ix, NULL, NULL), LS_OK);
    assert_false(ix->has_video);
    assert_true(ix->nkeys >= 9 && ix->nkeys <= 11);
    for (i = 1; i < ix->nkeys; i++)
        assert_true(ix->keys[i].ts - ix->keys[i - 1].ts >= LS_FLVINDEX_AUDIO_POINT_MS);
    assert_int_equal(ls_flvindex_seek(ix, 5500)->ts <= 5500, 1);
    assert_int_equal(ls_flvindex_blob(ix, ix->keys[3].aseq)->type, LS_FLV_TAG_AUDIO);
    ls_flvindex_free(ix);
    ls_buf_free(&b);
}

static void test_sequence_headers(void **state)
{
    struct ls_buf b;
    struct ls_flvindex *ix;
    uint32_t t;

    (void)state;
    new_file(&b);
    put_tag(&b, LS_FLV_TAG_SCRIPT, 0, meta, sizeof meta);
    /* the same header before every keyframe (some encoders), then a new one */
    for (t = 0; t < 6000; t += 1000) {
        const uint8_t *seq = t < 4000 ? avc_seq : avc_seq2;

        put_tag(&b, LS_FLV_TAG_VIDEO, t, seq, sizeof avc_seq);
        put_tag(&b, LS_FLV_TAG_VIDEO, t, avc_key, sizeof avc_key);
        put_tag(&b, LS_FLV_TAG_VIDEO, t + 40, avc_inter, sizeof avc_inter);
    }
    /* a second onMetaData is not kept */
    put_tag(&b, LS_FLV_TAG_SCRIPT, 6000, meta, sizeof meta);
    assert_int_equal(index_file(b.data, b.len, 100, NULL, &ix, NULL, NULL), LS_OK);
    assert_int_equal(ix->nblobs, 3); /* metadata, two distinct configurations */
    assert_int_equal(ix->nkeys, 6);
    assert_memory_equal(ls_flvindex_blob(ix, ix->keys[3].vseq)->data, avc_seq, sizeof avc_seq);
    assert_memory_equal(ls_flvindex_blob(ix, ix->keys[4].vseq)->data, avc_seq2,
                        sizeof avc_seq2);
    assert_int_equal(ix->keys[0].aseq, LS_FLVINDEX_NONE);
    assert_int_equal(ix->meta, 0);
    ls_flvindex_free(ix);
    ls_buf_free(&b);
}

static void test_backwards_and_bound(void **state)
{
    struct ls_buf b;
    struct ls_flvindex *ix;
    struct ls_flvindex_limits lim = { .max_keys = 8 };
    uint32_t t;
    size_t i;

    (void)state;
    new_file(&b);
    put_av(&b, 1000, 4000, 1000);
    put_av(&b, 0, 4000, 1000); /* a second recording appended: time goes back */
    assert_int_equal(index_file(b.data, b.len, 0, NULL, &ix, NULL, NULL), LS_OK);
    for (i = 1; i < ix->nkeys; i++)
        assert_true(ix->keys[i].ts >= ix->keys[i - 1].ts);
    ls_flvindex_free(ix);
    ls_buf_free(&b);

    new_file(&b);
    put_av(&b, 0, 100000, 1000); /* 100 keyframes */
    assert_int_equal(index_file(b.data, b.len, 65536, &lim, &ix, NULL, NULL), LS_OK);
    assert_true(ix->nkeys <= 8 && ix->nkeys >= 4);
    assert_int_equal(ix->keys[0].ts, 0);
    for (i = 1; i < ix->nkeys; i++)
        assert_true(ix->keys[i].ts > ix->keys[i - 1].ts);
    for (t = 0; t < 100000; t += 777) {
        const struct ls_flvindex_key *k = ls_flvindex_seek(ix, t);

        assert_true(k->ts <= t);
        assert_int_equal(b.data[k->offset], LS_FLV_TAG_VIDEO);
        assert_int_equal(b.data[k->offset + 11], 0x17);
    }
    ls_flvindex_free(ix);
    ls_buf_free(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fixture),
        cmocka_unit_test(test_timeline_offset),
        cmocka_unit_test(test_seek_lookup),
        cmocka_unit_test(test_not_flv),
        cmocka_unit_test(test_ends_early),
        cmocka_unit_test(test_feed_protocol),
        cmocka_unit_test(test_audio_only),
        cmocka_unit_test(test_sequence_headers),
        cmocka_unit_test(test_backwards_and_bound),
    };
    return cmocka_run_group_tests_name("flvindex", tests, NULL, NULL);
}
