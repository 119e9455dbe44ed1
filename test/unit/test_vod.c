/*
 * Unit tests for vod.c on a real event loop with real files in a scratch directory:
 * opening with and without the index, the index cache (a second open is a hit; a file
 * that changed is indexed again, one that grew during a build waits for it; the byte
 * bound evicts least recently used), reads, and
 * every way a name or a file is refused — bad names, a missing file, symlinks out of the
 * directory (absolute and relative), a FIFO, a directory, a file that is not FLV — while
 * a symlink that stays inside is followed. Answers never come inside the call; cancelled
 * opens are never answered; vod.max_viewers is a hard count.
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include <event2/event.h>

#include "libstream/buf.h"
#include "libstream/flv.h"
#include "libstream/vod.h"
#include "support/evloop.h"
#include "support/input.h"

#define FIXTURE "test/fixtures/ffmpeg_h264_aac.flv"

static char dir[256];
static struct event_base *base;

struct answer {
    int calls;
    int rc;
    struct ls_vod_file *file;
    const char *why;
};

static void on_open(void *arg, int rc, struct ls_vod_file *file, const char *why)
{
    struct answer *a = arg;

    a->calls++;
    a->rc = rc;
    a->file = file;
    a->why = why;
}

static void write_file(const char *name, const uint8_t *p, size_t n)
{
    char path[512];
    FILE *f;

    snprintf(path, sizeof path, "%s/%s", dir, name);
    f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(p, 1, n, f), n);
    assert_int_equal(fclose(f), 0);
}

/* An FLV of `keys` one-second GOPs of tiny AVC frames (no audio). */
static void write_flv(const char *name, unsigned keys)
{
    static const uint8_t seq[] = { 0x17, 0x00, 0, 0, 0, 0x01, 0x42, 0xc0, 0x1e, 0xff, 0xe1 };
    static const uint8_t key[] = { 0x17, 0x01, 0, 0, 0, 0, 0, 0, 1, 0x65 };
    static const uint8_t inter[] = { 0x27, 0x01, 0, 0, 0, 0, 0, 0, 1, 0x41 };
    struct ls_buf b;
    unsigned i;

    ls_buf_init(&b, 0);
    assert_int_equal(ls_flv_write_header(&b, false, true), LS_OK);
    assert_int_equal(ls_flv_write_tag(&b, LS_FLV_TAG_VIDEO, 0, seq, sizeof seq), LS_OK);
    for (i = 0; i < keys; i++) {
        assert_int_equal(ls_flv_write_tag(&b, LS_FLV_TAG_VIDEO, i * 1000, key, sizeof key), LS_OK);
        assert_int_equal(ls_flv_write_tag(&b, LS_FLV_TAG_VIDEO, i * 1000 + 500, inter,
                                          sizeof inter), LS_OK);
    }
    write_file(name, b.data, b.len);
    ls_buf_free(&b);
}

static struct ls_vod *new_vod(size_t cache_bytes, unsigned max_viewers)
{
    struct ls_vod_config cfg;
    struct ls_vod *vod;

    ls_vod_config_defaults(&cfg);
    cfg.dir = dir;
    cfg.io_threads = 2;
    if (cache_bytes > 0)
        cfg.index_cache_bytes = cache_bytes;
    if (max_viewers > 0)
        cfg.max_viewers = max_viewers;
    vod = ls_vod_new(base, &cfg);
    assert_non_null(vod);
    return vod;
}

/* Opens and waits for the answer. */
static struct answer open_wait(struct ls_vod *vod, const char *name, bool index)
{
    struct answer a = { 0 };
    struct ls_vod_open *op = ls_vod_open(vod, name, index, on_open, &a);

    assert_non_null(op);
    assert_int_equal(a.calls, 0); /* never inside the call */
    EVLOOP_WAIT(base, a.calls > 0, 5000);
    assert_int_equal(a.calls, 1);
    return a;
}

static bool metric_is(struct ls_vod *vod, const char *sample)
{
    struct ls_buf b;
    bool found;

    ls_buf_init(&b, 0);
    ls_vod_metrics(&b, vod);
    ls_buf_append(&b, "", 1);
    assert_int_equal(ls_buf_status(&b), LS_OK);
    found = strstr((const char *)b.data, sample) != NULL;
    ls_buf_free(&b);
    return found;
}

/* One counter's value in the metrics text (-1 when absent). */
static long long metric_value(struct ls_vod *vod, const char *name)
{
    struct ls_buf b;
    const char *p;
    long long v = -1;
    char key[128];

    ls_buf_init(&b, 0);
    ls_vod_metrics(&b, vod);
    ls_buf_append(&b, "", 1);
    snprintf(key, sizeof key, "\n%s ", name);
    p = strstr((const char *)b.data, key);
    if (p != NULL)
        v = strtoll(p + strlen(key), NULL, 10);
    ls_buf_free(&b);
    return v;
}

static int setup(void **state)
{
    (void)state;
    snprintf(dir, sizeof dir, "%s/lc-vod-XXXXXX", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
    assert_non_null(mkdtemp(dir));
    base = event_base_new();
    assert_non_null(base);
    return 0;
}

static int teardown(void **state)
{
    char cmd[600];

    (void)state;
    event_base_free(base);
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    assert_int_equal(system(cmd), 0);
    return 0;
}

struct read_answer {
    int calls, rc;
    uint8_t data[LS_VOD_CHUNK];
    size_t len;
};

static void on_read(void *arg, int rc, const uint8_t *data, size_t len)
{
    struct read_answer *r = arg;

    r->calls++;
    r->rc = rc;
    r->len = len;
    if (rc == LS_OK)
        memcpy(r->data, data, len);
}

static void test_open_read_and_cache(void **state)
{
    size_t size, off;
    uint8_t *fixture = input_read_file(FIXTURE, &size);
    struct ls_vod *vod;
    struct answer a, b, c;
    const struct ls_flvindex *ix;

    (void)state;
    write_file("fix.flv", fixture, size);
    vod = new_vod(0, 0);
    a = open_wait(vod, "fix", true);
    assert_int_equal(a.rc, LS_OK);
    ix = ls_vod_file_index(a.file);
    assert_non_null(ix);
    assert_int_equal(ix->nkeys, 2);
    assert_int_equal(ls_vod_file_size(a.file), size);
    assert_string_equal(ls_vod_file_name(a.file), "fix");
    assert_true(metric_is(vod, "livecluster_vod_index_builds_total 1\n"));
    /* a second open: the same index, from the cache */
    b = open_wait(vod, "fix", true);
    assert_int_equal(b.rc, LS_OK);
    assert_ptr_equal(ls_vod_file_index(b.file), ix);
    assert_true(metric_is(vod, "livecluster_vod_index_hits_total 1\n"));
    /* without the index */
    c = open_wait(vod, "fix", false);
    assert_int_equal(c.rc, LS_OK);
    assert_null(ls_vod_file_index(c.file));
    /* reads give the file's bytes, short only at the end */
    for (off = 0; off < size; off += LS_VOD_CHUNK) {
        struct read_answer *r = calloc(1, sizeof *r);
        struct ls_vod_read *rd = ls_vod_read(c.file, off, LS_VOD_CHUNK, on_read, r);

        assert_non_null(rd);
        EVLOOP_WAIT(base, r->calls > 0, 5000);
        assert_int_equal(r->rc, LS_OK);
        assert_int_equal(r->len, size - off < LS_VOD_CHUNK ? size - off : LS_VOD_CHUNK);
        assert_memory_equal(r->data, fixture + off, r->len);
        free(r);
    }
    ls_vod_file_release(a.file);
    ls_vod_file_release(b.file);
    ls_vod_file_release(c.file);
    ls_vod_free(vod);
    free(fixture);
}

static void test_changed_file_reindexed(void **state)
{
    struct ls_vod *vod;
    struct answer a, b;
    char path[512];
    struct timespec times[2] = { { 0, UTIME_OMIT }, { 0, 0 } };

    (void)state;
    write_flv("grow.flv", 5);
    vod = new_vod(0, 0);
    a = open_wait(vod, "grow", true);
    assert_int_equal(a.rc, LS_OK);
    assert_int_equal(ls_vod_file_index(a.file)->nkeys, 5);
    /* the file is rewritten (longer) and its mtime moves */
    write_flv("grow.flv", 9);
    snprintf(path, sizeof path, "%s/grow.flv", dir);
    times[1].tv_sec = time(NULL) + 5;
    assert_int_equal(utimensat(AT_FDCWD, path, times, 0), 0);
    b = open_wait(vod, "grow", true);
    assert_int_equal(b.rc, LS_OK);
    assert_int_equal(ls_vod_file_index(b.file)->nkeys, 9);
    assert_int_equal(ls_vod_file_index(b.file)->duration_ms, 8500);
    /* the player that had the old version keeps its index */
    assert_int_equal(ls_vod_file_index(a.file)->nkeys, 5);
    assert_true(metric_is(vod, "livecluster_vod_index_builds_total 2\n"));
    ls_vod_file_release(a.file);
    ls_vod_file_release(b.file);
    ls_vod_free(vod);
}

/* A file being written (a recording in progress) grows between two opens: the second
 * waits for the build under way on the same file instead of starting another full one, so
 * viewers arriving at a growing file cost one build at a time, not one each. */
static void test_growing_file_one_build(void **state)
{
    static const uint8_t inter[] = { 0x27, 0x01, 0, 0, 0, 0, 0, 0, 1, 0x41 };
    struct ls_vod *vod;
    struct answer a = { 0 }, b = { 0 };
    struct ls_vod_open *op1, *op2;
    struct ls_buf more;
    char path[512];
    bool built_before;
    FILE *f;

    (void)state;
    write_flv("rec.flv", 150000);
    vod = new_vod(0, 0);
    op1 = ls_vod_open(vod, "rec", true, on_open, &a);
    assert_non_null(op1);
    EVLOOP_WAIT(base, a.calls > 0 || metric_value(vod, "livecluster_vod_index_read_bytes_total") >
                                         0, 5000);
    /* the writer appends a tag: same inode, larger size, newer mtime */
    ls_buf_init(&more, 0);
    assert_int_equal(ls_flv_write_tag(&more, LS_FLV_TAG_VIDEO, 150000 * 1000, inter,
                                      sizeof inter), LS_OK);
    snprintf(path, sizeof path, "%s/rec.flv", dir);
    f = fopen(path, "ab");
    assert_non_null(f);
    assert_int_equal(fwrite(more.data, 1, more.len, f), more.len);
    assert_int_equal(fclose(f), 0);
    ls_buf_free(&more);
    built_before = a.calls > 0;
    op2 = ls_vod_open(vod, "rec", true, on_open, &b);
    assert_non_null(op2);
    EVLOOP_WAIT(base, a.calls > 0 && b.calls > 0, 10000);
    assert_int_equal(a.rc, LS_OK);
    assert_int_equal(b.rc, LS_OK);
    if (!built_before) {
        /* one build for both: it indexed the file as the first open found it */
        assert_ptr_equal(ls_vod_file_index(a.file), ls_vod_file_index(b.file));
        assert_true(ls_vod_file_size(b.file) > ls_vod_file_size(a.file));
        assert_int_equal(ls_vod_file_index(b.file)->file_size, ls_vod_file_size(a.file));
        assert_true(ls_vod_file_index(b.file)->data_end <= ls_vod_file_size(a.file));
        assert_true(metric_is(vod, "livecluster_vod_index_builds_total 1\n"));
    } else {
        /* on a very fast disk the first build was over before the second open */
        assert_true(metric_is(vod, "livecluster_vod_index_builds_total 2\n"));
    }
    ls_vod_file_release(a.file);
    ls_vod_file_release(b.file);
    ls_vod_free(vod);
}

static void test_refusals(void **state)
{
    static const char *const bad_names[] = { "..", ".x", "a/b", "", "x%2e", "a b", "../x",
                                             "/etc/passwd", "x\x01" };
    char name[200], path[512], target[512];
    struct ls_vod *vod;
    struct answer a;
    size_t i;

    (void)state;
    write_flv("in.flv", 2);
    write_file("text.flv", (const uint8_t *)"hello, not a video\n", 19);
    snprintf(path, sizeof path, "%s/out.flv", dir);
    snprintf(target, sizeof target, "%s/../outside-lc-vod.flv", dir);
    write_flv("../outside-lc-vod.flv", 2); /* a real FLV next to the directory */
    assert_int_equal(symlink(target, path), 0);
    snprintf(path, sizeof path, "%s/rel.flv", dir);
    assert_int_equal(symlink("../outside-lc-vod.flv", path), 0);
    snprintf(path, sizeof path, "%s/link.flv", dir);
    assert_int_equal(symlink("in.flv", path), 0);
    snprintf(path, sizeof path, "%s/fifo.flv", dir);
    assert_int_equal(mkfifo(path, 0600), 0);
    snprintf(path, sizeof path, "%s/sub.flv", dir);
    assert_int_equal(mkdir(path, 0700), 0);
    vod = new_vod(0, 0);

    for (i = 0; i < sizeof bad_names / sizeof bad_names[0]; i++) {
        a = open_wait(vod, bad_names[i], true);
        assert_int_equal(a.rc, LS_ENOTFOUND);
        assert_null(a.file);
    }
    memset(name, 'n', 129);
    name[129] = '\0';
    a = open_wait(vod, name, true);
    assert_int_equal(a.rc, LS_ENOTFOUND);
    a = open_wait(vod, "missing", true);
    assert_int_equal(a.rc, LS_ENOTFOUND);
    assert_string_equal(a.why, "no such file");
    a = open_wait(vod, "out", true);
    assert_int_equal(a.rc, LS_ENOTFOUND);
    a = open_wait(vod, "rel", false);
    assert_int_equal(a.rc, LS_ENOTFOUND);
    a = open_wait(vod, "fifo", false);
    assert_int_equal(a.rc, LS_ENOTFOUND);
    a = open_wait(vod, "sub", false);
    assert_int_equal(a.rc, LS_ENOTFOUND);
    a = open_wait(vod, "text", true);
    assert_int_equal(a.rc, LS_EPROTO);
    /* a symlink that stays inside the directory is followed where openat2 exists */
    a = open_wait(vod, "link", true);
    if (a.rc == LS_OK)
        ls_vod_file_release(a.file);
    else
        assert_int_equal(a.rc, LS_ENOTFOUND); /* no openat2: no symlink at all */
    assert_true(metric_is(vod, "livecluster_vod_opens_total{result=\"not_flv\"} 1\n"));
    ls_vod_free(vod);
    snprintf(path, sizeof path, "%s/../outside-lc-vod.flv", dir);
    unlink(path);
}

static void test_cancel(void **state)
{
    struct ls_vod *vod;
    struct answer a = { 0 }, b = { 0 }, c = { 0 };
    struct ls_vod_open *op1, *op2, *op3;

    (void)state;
    write_flv("big.flv", 3000);
    vod = new_vod(0, 0);
    /* cancelled at once: never answered */
    op1 = ls_vod_open(vod, "big", true, on_open, &a);
    assert_non_null(op1);
    ls_vod_open_cancel(op1);
    /* two wait for one build; one leaves, the other still gets the index */
    op2 = ls_vod_open(vod, "big", true, on_open, &b);
    op3 = ls_vod_open(vod, "big", true, on_open, &c);
    assert_non_null(op2);
    assert_non_null(op3);
    ls_vod_open_cancel(op2);
    EVLOOP_WAIT(base, c.calls > 0, 5000);
    evloop_run_for(base, 50);
    assert_int_equal(a.calls, 0);
    assert_int_equal(b.calls, 0);
    assert_int_equal(c.calls, 1);
    assert_int_equal(c.rc, LS_OK);
    assert_int_equal(ls_vod_file_index(c.file)->nkeys, 3000);
    ls_vod_file_release(c.file);
    /* leaving while the index is built (its first step done: the open waits on it): the
     * build is abandoned; freeing leaks nothing */
    write_flv("big2.flv", 150000);
    memset(&a, 0, sizeof a);
    op1 = ls_vod_open(vod, "big2", true, on_open, &a);
    EVLOOP_WAIT(base, a.calls > 0 || metric_value(vod, "livecluster_vod_index_read_bytes_total") >
                                         100000 + 3000 * 25, 5000);
    if (a.calls == 0) /* on a very fast disk the whole index may be built already */
        ls_vod_open_cancel(op1);
    else
        ls_vod_file_release(a.file);
    evloop_run_for(base, 50);
    assert_true(metric_is(vod, "livecluster_vod_index_builds_total 1\n") || a.calls == 1);
    ls_vod_free(vod);
    assert_true(a.calls <= 1);
}

static void test_cache_bound(void **state)
{
    struct ls_vod *vod;
    struct answer a, b;
    const struct ls_flvindex *first;
    size_t one;

    (void)state;
    write_flv("c1.flv", 1500);
    write_flv("c2.flv", 1500);
    write_flv("c3.flv", 1500);
    vod = new_vod(65536, 0);
    a = open_wait(vod, "c1", true);
    first = ls_vod_file_index(a.file);
    one = first->memory;
    assert_true(one > 65536 / 3 && one < 65536 / 2); /* two fit, not three */
    ls_vod_file_release(a.file);
    ls_vod_file_release(open_wait(vod, "c2", true).file);
    ls_vod_file_release(open_wait(vod, "c3", true).file); /* c1 goes */
    assert_true(metric_is(vod, "livecluster_vod_index_evictions_total 1\n"));
    b = open_wait(vod, "c1", true);
    assert_int_equal(b.rc, LS_OK);
    assert_true(metric_is(vod, "livecluster_vod_index_builds_total 4\n"));
    assert_true(metric_is(vod, "livecluster_vod_index_hits_total 0\n"));
    ls_vod_file_release(b.file);
    ls_vod_free(vod);
}

static void test_viewers(void **state)
{
    struct ls_vod *vod = new_vod(0, 2);

    (void)state;
    assert_int_equal(ls_vod_viewer_acquire(vod), LS_OK);
    assert_int_equal(ls_vod_viewer_acquire(vod), LS_OK);
    assert_int_equal(ls_vod_viewer_acquire(vod), LS_ELIMIT);
    assert_true(metric_is(vod, "livecluster_vod_viewers 2\n"));
    ls_vod_viewer_release(vod);
    assert_int_equal(ls_vod_viewer_acquire(vod), LS_OK);
    assert_true(metric_is(vod, "livecluster_vod_refused_total 1\n"));
    ls_vod_viewer_release(vod);
    ls_vod_viewer_release(vod);
    ls_vod_free(vod);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_open_read_and_cache, setup, teardown),
        cmocka_unit_test_setup_teardown(test_changed_file_reindexed, setup, teardown),
        cmocka_unit_test_setup_teardown(test_growing_file_one_build, setup, teardown),
        cmocka_unit_test_setup_teardown(test_refusals, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cancel, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cache_bound, setup, teardown),
        cmocka_unit_test_setup_teardown(test_viewers, setup, teardown),
    };
    return cmocka_run_group_tests_name("vod", tests, NULL, NULL);
}
