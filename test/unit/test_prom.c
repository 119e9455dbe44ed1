/* Unit tests for prom.c: exposition lines, escaping, special values, name checks. */
#include <math.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include "libstream/buf.h"
#include "libstream/err.h"
#include "libstream/prom.h"

static const char *text(struct ls_buf *b)
{
    static char out[8192];

    assert_true(b->len < sizeof out);
    memcpy(out, b->data != NULL ? (const char *)b->data : "", b->len);
    out[b->len] = '\0';
    return out;
}

static void test_metrics_page(void **state)
{
    struct ls_buf b;
    const char *const auth[] = { "reason", "auth", NULL };
    const char *const nf[] = { "reason", "not_found", NULL };
    const char *const two[] = { "role", "spd", "node_id", "sp-1", NULL };
    const char *const none[] = { NULL };

    (void)state;
    ls_buf_init(&b, 0);
    ls_prom_header(&b, "livecluster_play_requests_total", "counter", "Play requests received.");
    ls_prom_sample_u64(&b, "livecluster_play_requests_total", NULL, 12);
    ls_prom_header(&b, "livecluster_play_failures_total", "counter",
                   "Play requests refused, by reason.");
    ls_prom_sample_u64(&b, "livecluster_play_failures_total", auth, 3);
    ls_prom_sample_u64(&b, "livecluster_play_failures_total", nf, 0);
    ls_prom_header(&b, "livecluster_viewers", "gauge", NULL);
    ls_prom_sample(&b, "livecluster_viewers", two, 340);
    ls_prom_header(&b, "livecluster_info", "untyped", "x");
    ls_prom_sample(&b, "livecluster_info", none, 1);
    assert_int_equal(ls_buf_status(&b), LS_OK);
    assert_string_equal(text(&b),
                        "# HELP livecluster_play_requests_total Play requests received.\n"
                        "# TYPE livecluster_play_requests_total counter\n"
                        "livecluster_play_requests_total 12\n"
                        "# HELP livecluster_play_failures_total Play requests refused, by reason.\n"
                        "# TYPE livecluster_play_failures_total counter\n"
                        "livecluster_play_failures_total{reason=\"auth\"} 3\n"
                        "livecluster_play_failures_total{reason=\"not_found\"} 0\n"
                        "# TYPE livecluster_viewers gauge\n"
                        "livecluster_viewers{role=\"spd\",node_id=\"sp-1\"} 340\n"
                        "# HELP livecluster_info x\n"
                        "# TYPE livecluster_info untyped\n"
                        "livecluster_info 1\n");
    ls_buf_free(&b);
}

static void test_label_escaping(void **state)
{
    static const struct { const char *value; const char *line; } cases[] = {
        { "", "m{l=\"\"} 1\n" },
        { "live/x", "m{l=\"live/x\"} 1\n" },
        { "a\\b", "m{l=\"a\\\\b\"} 1\n" },
        { "q\"q", "m{l=\"q\\\"q\"} 1\n" },
        { "n\nl", "m{l=\"n\\nl\"} 1\n" },
        { "tab\t{}=,", "m{l=\"tab\t{}=,\"} 1\n" },
        { "caf\xc3\xa9", "m{l=\"caf\xc3\xa9\"} 1\n" },
        { "bad\xff", "m{l=\"bad\xef\xbf\xbd\"} 1\n" },
        { "\\\"\n", "m{l=\"\\\\\\\"\\n\"} 1\n" },
    };
    struct ls_buf b;
    size_t i;

    (void)state;
    ls_buf_init(&b, 0);
    for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const char *const labels[] = { "l", cases[i].value, NULL };

        ls_buf_reset(&b);
        ls_prom_sample_u64(&b, "m", labels, 1);
        if (strcmp(text(&b), cases[i].line) != 0)
            fail_msg("case %zu: got %s", i, text(&b));
    }
    /* HELP escapes backslash and newline, but not quotes */
    ls_buf_reset(&b);
    ls_prom_header(&b, "m", "gauge", "say \"hi\"\\\nbye\xff");
    assert_string_equal(text(&b), "# HELP m say \"hi\"\\\\\\nbye\xef\xbf\xbd\n# TYPE m gauge\n");
    ls_buf_free(&b);
}

static void test_values(void **state)
{
    static const struct { double v; const char *line; } cases[] = {
        { 0, "m 0\n" },
        { -0.0, "m -0\n" },
        { 0.1, "m 0.1\n" },
        { 0.1 + 0.2, "m 0.30000000000000004\n" },
        { 1e300, "m 1e+300\n" },
        { -2.5, "m -2.5\n" },
        { 9007199254740993.0, "m 9007199254740992\n" },
        { NAN, "m NaN\n" },
        { INFINITY, "m +Inf\n" },
        { -INFINITY, "m -Inf\n" },
    };
    struct ls_buf b;
    size_t i;

    (void)state;
    ls_buf_init(&b, 0);
    for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        ls_buf_reset(&b);
        ls_prom_sample(&b, "m", NULL, cases[i].v);
        if (strcmp(text(&b), cases[i].line) != 0)
            fail_msg("case %zu: got %s", i, text(&b));
    }
    ls_buf_reset(&b);
    ls_prom_sample_u64(&b, "m", NULL, UINT64_MAX);
    assert_string_equal(text(&b), "m 18446744073709551615\n");
    ls_buf_free(&b);
}

static void test_name_rules(void **state)
{
    static const struct { const char *name; bool metric; bool label; } cases[] = {
        { "livecluster_bytes_in_total", true, true },
        { "a", true, true },
        { "_x", true, true },
        { "A9_z", true, true },
        { "job:rate5m", true, false },
        { ":x", true, false },
        { "__name__", true, false },  /* reserved for labels */
        { "", false, false },
        { "9lives", false, false },
        { "a-b", false, false },
        { "a.b", false, false },
        { "a b", false, false },
        { "caf\xc3\xa9", false, false },
    };
    size_t i;

    (void)state;
    for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        assert_int_equal(ls_prom_name_valid(cases[i].name), cases[i].metric);
        assert_int_equal(ls_prom_label_name_valid(cases[i].name), cases[i].label);
    }
    assert_false(ls_prom_name_valid(NULL));
    assert_false(ls_prom_label_name_valid(NULL));
}

/* Debug builds abort on a bad name (a programming error); checked in a child process. */
static void expect_abort(void (*fn)(void))
{
    int status;
    pid_t pid;

    fflush(NULL);
    pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        /* silence the assertion message */
        if (freopen("/dev/null", "w", stderr) == NULL)
            _exit(3);
        fn();
        _exit(0);
    }
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFSIGNALED(status));
    assert_int_equal(WTERMSIG(status), SIGABRT);
}

static void bad_metric(void)
{
    struct ls_buf b;

    ls_buf_init(&b, 0);
    ls_prom_sample_u64(&b, "bad-name", NULL, 1);
}

static void bad_label(void)
{
    struct ls_buf b;
    const char *const l[] = { "bad label", "v", NULL };

    ls_buf_init(&b, 0);
    ls_prom_sample(&b, "m", l, 1);
}

static void odd_labels(void)
{
    struct ls_buf b;
    const char *const l[] = { "a", "1", "b", NULL };

    ls_buf_init(&b, 0);
    ls_prom_sample(&b, "m", l, 1);
}

static void bad_type(void)
{
    struct ls_buf b;

    ls_buf_init(&b, 0);
    ls_prom_header(&b, "m", "histogramm", "h");
}

static void test_debug_asserts(void **state)
{
    (void)state;
#ifdef NDEBUG
    skip();
#else
    expect_abort(bad_metric);
    expect_abort(bad_label);
    expect_abort(odd_labels);
    expect_abort(bad_type);
#endif
}

static void test_buffer_limit(void **state)
{
    struct ls_buf b;

    (void)state;
    ls_buf_init(&b, 20);
    ls_prom_header(&b, "livecluster_connections", "gauge", "Open connections.");
    ls_prom_sample_u64(&b, "livecluster_connections", NULL, 5);
    assert_int_equal(ls_buf_status(&b), LS_ELIMIT);
    assert_true(b.len <= 20);
    ls_buf_free(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_metrics_page),
        cmocka_unit_test(test_label_escaping),
        cmocka_unit_test(test_values),
        cmocka_unit_test(test_name_rules),
        cmocka_unit_test(test_debug_asserts),
        cmocka_unit_test(test_buffer_limit),
    };
    return cmocka_run_group_tests_name("prom", tests, NULL, NULL);
}
