/*
 * Unit tests for smdreport.c (the cluster report's envelope and line format) and
 * nodereport.c (the node line's keys): a golden report, round trips, every line kind,
 * a table of malformed lines with the code they get, the envelope's refusals, a body
 * truncated at every offset, and the node line's keys in both directions.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "libstream/amf0.h"
#include "libstream/buf.h"
#include "libstream/nodereport.h"
#include "libstream/smdreport.h"

/* "report" 0 null {full: true, body: "s live/cam 3 100\n"} */
static const uint8_t golden[] = {
    0x02, 0x00, 0x06, 'r', 'e', 'p', 'o', 'r', 't',
    0x00, 0, 0, 0, 0, 0, 0, 0, 0,
    0x05,
    0x03,
    0x00, 0x04, 'f', 'u', 'l', 'l', 0x01, 0x01,
    0x00, 0x04, 'b', 'o', 'd', 'y', 0x02, 0x00, 0x11,
    's', ' ', 'l', 'i', 'v', 'e', '/', 'c', 'a', 'm', ' ', '3', ' ', '1', '0', '0', '\n',
    0x00, 0x00, 0x09,
};

static void test_golden(void **state)
{
    static const char body[] = "s live/cam 3 100\n";
    struct ls_buf b;
    struct ls_smd_report r;

    (void)state;
    ls_buf_init(&b, 0);
    assert_int_equal(ls_smd_report_encode(&b, true, false, body, strlen(body)), LS_OK);
    assert_int_equal(b.len, sizeof golden);
    assert_memory_equal(b.data, golden, sizeof golden);
    assert_true(ls_smd_report_is(b.data, b.len));
    assert_int_equal(ls_smd_report_decode(b.data, b.len, &r, NULL), (ssize_t)b.len);
    assert_true(r.full);
    assert_false(r.more);
    assert_int_equal(r.body_len, strlen(body));
    assert_string_equal(r.body, body);
    ls_smd_report_clear(&r);
    assert_null(r.body);
    ls_buf_free(&b);
}

static void test_flags_round_trip(void **state)
{
    struct ls_buf b;
    struct ls_smd_report r;
    int full, more;

    (void)state;
    for (full = 0; full < 2; full++) {
        for (more = 0; more < 2; more++) {
            ls_buf_init(&b, 0);
            assert_int_equal(ls_smd_report_encode(&b, full, more, "", 0), LS_OK);
            assert_int_equal(ls_smd_report_decode(b.data, b.len, &r, NULL), (ssize_t)b.len);
            assert_int_equal(r.full, full);
            assert_int_equal(r.more, more);
            assert_int_equal(r.body_len, 0);
            ls_smd_report_clear(&r);
            ls_buf_free(&b);
        }
    }
}

static void test_encode_refusals(void **state)
{
    static char big[LS_SMD_REPORT_BODY_MAX + 2];
    struct ls_buf b;

    (void)state;
    memset(big, 'x', sizeof big);
    ls_buf_init(&b, 0);
    assert_int_equal(ls_smd_report_encode(&b, false, false, big, LS_SMD_REPORT_BODY_MAX + 1),
                     LS_EINVAL);
    assert_int_equal(ls_smd_report_encode(&b, false, false, "a\0b", 3), LS_EINVAL);
    assert_int_equal(b.len, 0);
    /* the largest body fits the largest message */
    assert_int_equal(ls_smd_report_encode(&b, true, true, big, LS_SMD_REPORT_BODY_MAX), LS_OK);
    assert_true(b.len <= LS_SMD_REPORT_MAX);
    ls_buf_free(&b);
}

/* An envelope built by hand: name, txid, then the rest as the test says. */
static void envelope(struct ls_buf *b, const char *name, double txid, bool null_obj,
                     const char *body_key, int body_type)
{
    ls_buf_init(b, 0);
    ls_amf0_write_cstring(b, name);
    ls_amf0_write_number(b, txid);
    if (null_obj) {
        ls_amf0_write_null(b);
    } else {
        ls_amf0_write_object_begin(b);
        ls_amf0_write_object_end(b);
    }
    ls_amf0_write_object_begin(b);
    if (body_key != NULL) {
        ls_amf0_write_ckey(b, body_key);
        if (body_type == 0)
            ls_amf0_write_cstring(b, "s live/a 1 1\n");
        else if (body_type == 1)
            ls_amf0_write_number(b, 5);
        else
            ls_amf0_write_string(b, "a\0b\n", 4);
    }
    ls_amf0_write_object_end(b);
}

static void test_decode_refusals(void **state)
{
    static const struct {
        const char *name;
        double txid;
        bool null_obj;
        const char *body_key;
        int body_type;
        int want;
    } cases[] = {
        { "report", 0, true, "body", 0, 1 },
        { "report", 3, true, "body", 0, LS_EPROTO },      /* a notification has txid 0 */
        { "reporT", 0, true, "body", 0, LS_EPROTO },      /* another name */
        { "report", 0, false, "body", 0, LS_EPROTO },     /* command object not null */
        { "report", 0, true, NULL, 0, LS_EPROTO },        /* no body */
        { "report", 0, true, "body", 1, LS_EPROTO },      /* body not a string */
        { "report", 0, true, "body", 2, LS_EPROTO },      /* a NUL in the body */
    };
    struct ls_smd_report r;
    struct ls_buf b;
    size_t i;

    (void)state;
    for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const char *why = NULL;
        ssize_t rc;

        envelope(&b, cases[i].name, cases[i].txid, cases[i].null_obj, cases[i].body_key,
                 cases[i].body_type);
        rc = ls_smd_report_decode(b.data, b.len, &r, &why);
        if (cases[i].want == 1) {
            assert_int_equal(rc, (ssize_t)b.len);
            ls_smd_report_clear(&r);
        } else {
            assert_int_equal(rc, cases[i].want);
            assert_non_null(why);
            assert_null(r.body);
        }
        ls_buf_free(&b);
    }
    /* over the size bound, before anything is decoded */
    {
        static uint8_t big[LS_SMD_REPORT_MAX + 1];

        assert_int_equal(ls_smd_report_decode(big, sizeof big, &r, NULL), LS_ELIMIT);
    }
    /* a full flag of another type */
    ls_buf_init(&b, 0);
    ls_amf0_write_cstring(&b, "report");
    ls_amf0_write_number(&b, 0);
    ls_amf0_write_null(&b);
    ls_amf0_write_object_begin(&b);
    ls_amf0_write_ckey(&b, "full");
    ls_amf0_write_number(&b, 1);
    ls_amf0_write_ckey(&b, "body");
    ls_amf0_write_cstring(&b, "");
    ls_amf0_write_object_end(&b);
    assert_int_equal(ls_smd_report_decode(b.data, b.len, &r, NULL), LS_EPROTO);
    ls_buf_free(&b);
    assert_false(ls_smd_report_is((const uint8_t *)"\x02\x00\x04ping", 7));
}

static void test_lines_round_trip(void **state)
{
    struct ls_buf b;
    struct ls_smd_report_iter it;
    struct ls_smd_report_line line;
    struct ls_smd_report_pair pair;
    const char *p;

    (void)state;
    ls_buf_init(&b, 0);
    ls_smd_report_node_begin(&b);
    ls_smd_report_node_num(&b, "viewers", 12);
    ls_smd_report_node_str(&b, "upstream", "10.0.0.1:1935");
    ls_smd_report_node_str(&b, "bad", "a b"); /* not a valid value: "-" */
    ls_smd_report_node_end(&b);
    ls_smd_report_put_stream(&b, "live/cam-1", 7, 9007199254740991ull);
    ls_smd_report_put_gone(&b, "app.x/y_z");
    assert_int_equal(ls_buf_status(&b), LS_OK);
    assert_memory_equal(b.data, "n viewers=12 upstream=10.0.0.1:1935 bad=-\n"
                                "s live/cam-1 7 9007199254740991\nx app.x/y_z\n", b.len);

    ls_smd_report_iter_init(&it, (const char *)b.data, b.len);
    assert_int_equal(ls_smd_report_next(&it, &line, NULL), 1);
    assert_int_equal(line.kind, LS_SMD_LINE_NODE);
    p = line.pairs;
    assert_int_equal(ls_smd_report_next_pair(&p, line.pairs + line.pairs_len, &pair, NULL), 1);
    assert_string_equal(pair.key, "viewers");
    assert_true(pair.is_num);
    assert_int_equal(pair.num, 12);
    assert_int_equal(ls_smd_report_next_pair(&p, line.pairs + line.pairs_len, &pair, NULL), 1);
    assert_string_equal(pair.value, "10.0.0.1:1935");
    assert_false(pair.is_num);
    assert_int_equal(ls_smd_report_next_pair(&p, line.pairs + line.pairs_len, &pair, NULL), 1);
    assert_string_equal(pair.value, "-");
    assert_int_equal(ls_smd_report_next_pair(&p, line.pairs + line.pairs_len, &pair, NULL), 0);

    assert_int_equal(ls_smd_report_next(&it, &line, NULL), 1);
    assert_int_equal(line.kind, LS_SMD_LINE_STREAM);
    assert_string_equal(line.id, "live/cam-1");
    assert_int_equal(line.viewers, 7);
    assert_int_equal(line.bytes_out, 9007199254740991ull);
    assert_int_equal(ls_smd_report_next(&it, &line, NULL), 1);
    assert_int_equal(line.kind, LS_SMD_LINE_GONE);
    assert_string_equal(line.id, "app.x/y_z");
    assert_int_equal(ls_smd_report_next(&it, &line, NULL), 0);
    ls_buf_free(&b);
}

/* A body of one line and what reading it gives: 1 (a line), 0 (nothing), LS_EPROTO. */
static void test_line_table(void **state)
{
    static const struct {
        const char *body;
        int want;
    } cases[] = {
        { "s live/a 0 0\n", 1 },
        { "s live/a 1 2 3\n", LS_EPROTO },         /* a field too many */
        { "s live/a 1\n", LS_EPROTO },             /* a field missing */
        { "s live/a  1 2\n", LS_EPROTO },          /* an empty field */
        { "s live 1 2\n", LS_EPROTO },             /* not APP/NAME */
        { "s live/../x 1 2\n", LS_EPROTO },
        { "s live/.x 1 2\n", LS_EPROTO },          /* NAME starting with '.' */
        { "s live/a -1 2\n", LS_EPROTO },          /* not a number */
        { "s live/a 1 2x\n", LS_EPROTO },
        { "s live/a 9007199254740992 0\n", LS_EPROTO }, /* past 2^53 - 1 */
        { "s live/a 00000000000000001 0\n", LS_EPROTO }, /* 17 digits */
        { "s live/a 1 2", LS_EPROTO },             /* no newline */
        { "x live/a\n", 1 },
        { "x live/a b\n", LS_EPROTO },
        { "x\n", LS_EPROTO },
        { "n\n", 1 },                              /* a node line with no pairs */
        { "n viewers=1\n", 1 },
        { "\n\n", 0 },                             /* empty lines */
        { "z anything at all\n", 0 },              /* a kind of a later version */
        { "", 0 },
    };
    size_t i;

    (void)state;
    for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct ls_smd_report_iter it;
        struct ls_smd_report_line line;
        const char *why = NULL;
        int rc;

        ls_smd_report_iter_init(&it, cases[i].body, strlen(cases[i].body));
        rc = ls_smd_report_next(&it, &line, &why);
        if (rc != cases[i].want)
            fail_msg("case %zu \"%s\": got %d, want %d", i, cases[i].body, rc, cases[i].want);
        if (rc == LS_EPROTO)
            assert_non_null(why);
    }
}

static void test_pair_table(void **state)
{
    static const struct {
        const char *pairs;
        int want;
    } cases[] = {
        { " a=1", 1 },
        { " a_b9=x:y", 1 },
        { " A=1", LS_EPROTO },                     /* keys are lower case */
        { " a-b=1", LS_EPROTO },
        { " =1", LS_EPROTO },
        { " a=", LS_EPROTO },
        { " a", LS_EPROTO },
        { "a=1", LS_EPROTO },                      /* pairs start with a space */
        { " a=b=c", LS_EPROTO },                   /* '=' in a value */
        { " abcdefghijklmnopqrstuvwxyzabcdefg=1", LS_EPROTO }, /* 33-character key */
        { " abcdefghijklmnopqrstuvwxyzabcdef=1", 1 },
        { "", 0 },
    };
    size_t i;

    (void)state;
    for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct ls_smd_report_pair pair;
        const char *p = cases[i].pairs;
        int rc = ls_smd_report_next_pair(&p, cases[i].pairs + strlen(cases[i].pairs), &pair, NULL);

        if (rc != cases[i].want)
            fail_msg("case %zu \"%s\": got %d, want %d", i, cases[i].pairs, rc, cases[i].want);
    }
}

/* A body cut at every offset: the lines before the cut read, then the end or an error;
 * never a read past the cut. */
static void test_truncated_everywhere(void **state)
{
    static const char body[] = "n viewers=3 cpu_ms=1\ns live/a 1 2\nx live/b\ns live/c 3 4\n";
    size_t cut;

    (void)state;
    for (cut = 0; cut <= strlen(body); cut++) {
        struct ls_smd_report_iter it;
        struct ls_smd_report_line line;
        size_t complete = 0, i, lines = 0;
        int rc;

        for (i = 0; i < cut; i++)
            complete += body[i] == '\n';
        ls_smd_report_iter_init(&it, body, cut);
        while ((rc = ls_smd_report_next(&it, &line, NULL)) == 1) {
            lines++;
            assert_true(it.p <= body + cut);
        }
        assert_int_equal(lines, complete);
        assert_int_equal(rc, cut > 0 && body[cut - 1] != '\n' ? LS_EPROTO : 0);
    }
}

static void test_long_line(void **state)
{
    static char body[LS_SMD_REPORT_LINE_MAX + 16];
    struct ls_smd_report_iter it;
    struct ls_smd_report_line line;

    (void)state;
    memset(body, 'z', sizeof body);
    body[sizeof body - 1] = '\n';
    ls_smd_report_iter_init(&it, body, sizeof body);
    assert_int_equal(ls_smd_report_next(&it, &line, NULL), LS_EPROTO);
}

/* ---- nodereport ---- */

static void test_node_round_trip(void **state)
{
    struct ls_node_report a, b;
    struct ls_buf buf;
    struct ls_smd_report_iter it;
    struct ls_smd_report_line line;
    unsigned i;

    (void)state;
    memset(&a, 0, sizeof a);
    a.connections = 10;
    a.cpu_ms = 12345;
    a.rss_kb = 2048;
    a.out_kbps = 900;
    a.viewers = 9;
    a.streams = 2;
    snprintf(a.upstream, sizeof a.upstream, "[::1]:1935");
    for (i = 0; i < LS_NODE_COUNTERS; i++)
        a.counters[i] = 1000 + i;
    ls_buf_init(&buf, 0);
    ls_node_report_write(&buf, &a);
    assert_int_equal(ls_buf_status(&buf), LS_OK);
    assert_non_null(memmem(buf.data, buf.len, " fail_not_found=1003 ", 21));
    assert_non_null(memmem(buf.data, buf.len, " start_le_25=", 13));
    assert_non_null(memmem(buf.data, buf.len, " start_le_inf=", 14));
    ls_smd_report_iter_init(&it, (const char *)buf.data, buf.len);
    assert_int_equal(ls_smd_report_next(&it, &line, NULL), 1);
    assert_int_equal(line.kind, LS_SMD_LINE_NODE);
    assert_int_equal(ls_node_report_read(line.pairs, line.pairs_len, &b, NULL), LS_OK);
    assert_memory_equal(&a, &b, sizeof a);
    ls_buf_free(&buf);
}

static void test_node_read_lenient(void **state)
{
    static const char pairs[] = " viewers=4 later_key=7 cpu_ms=not-a-number upstream=not:a:host "
                                "play_requests=3 upstream=10.1.1.1:1935";
    struct ls_node_report r;

    (void)state;
    assert_int_equal(ls_node_report_read(pairs, strlen(pairs), &r, NULL), LS_OK);
    assert_int_equal(r.viewers, 4);
    assert_int_equal(r.cpu_ms, 0);          /* a value of the wrong kind: ignored */
    assert_int_equal(r.counters[LS_NODE_PLAY_REQUESTS], 3);
    assert_string_equal(r.upstream, "10.1.1.1:1935");
    assert_int_equal(ls_node_report_read(" viewers", 8, &r, NULL), LS_EPROTO);
}

static void test_node_counters(void **state)
{
    uint64_t c[LS_NODE_COUNTERS];

    (void)state;
    memset(&ls_stats, 0, sizeof ls_stats);
    ls_stats.play_requests_total = 10;
    ls_stats.internal_play_requests_total = 4;
    ls_stats.play_failures_total[LS_FAIL_NOT_FOUND] = 3;
    ls_stats.internal_play_failures_total[LS_FAIL_NOT_FOUND] = 1;
    ls_stats_play_start(10);      /* <= 25 ms */
    ls_stats_play_start(26);      /* <= 50 ms */
    ls_stats_play_start(1000000); /* +Inf */
    ls_node_report_counters(c);
    assert_int_equal(c[LS_NODE_PLAY_REQUESTS], 6);   /* viewers' plays only */
    assert_int_equal(c[LS_NODE_PLAY_FAILURES + LS_FAIL_NOT_FOUND], 2);
    assert_int_equal(c[LS_NODE_PLAY_START + 0], 1);
    assert_int_equal(c[LS_NODE_PLAY_START + 1], 1);
    assert_int_equal(c[LS_NODE_PLAY_START + LS_PLAY_START_BUCKETS], 1);
    assert_int_equal(c[LS_NODE_PLAY_START_COUNT], 3);
    assert_int_equal(c[LS_NODE_PLAY_START_SUM_MS], 1000036);
    memset(&ls_stats, 0, sizeof ls_stats);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_golden),
        cmocka_unit_test(test_flags_round_trip),
        cmocka_unit_test(test_encode_refusals),
        cmocka_unit_test(test_decode_refusals),
        cmocka_unit_test(test_lines_round_trip),
        cmocka_unit_test(test_line_table),
        cmocka_unit_test(test_pair_table),
        cmocka_unit_test(test_truncated_everywhere),
        cmocka_unit_test(test_long_line),
        cmocka_unit_test(test_node_round_trip),
        cmocka_unit_test(test_node_read_lenient),
        cmocka_unit_test(test_node_counters),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
