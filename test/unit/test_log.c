/* Unit tests for log.c: both line forms, levels, escaping, truncation, the stderr path,
 * the per-address rate limit of peer-caused lines (ls_log_peer), and the structured
 * fields: absent from stderr lines, present in journald entries (through journal.h's
 * sender hook, so nothing reaches a real journald). */
#include <ctype.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include "libstream/err.h"
#include "libstream/journal.h"
#include "libstream/log.h"

struct capture {
    int calls;
    int level;
    char line[LS_LOG_LINE_MAX + 16];
};

static void capture_sink(int level, const char *line, void *arg)
{
    struct capture *c = arg;

    c->calls++;
    c->level = level;
    snprintf(c->line, sizeof c->line, "%s", line);
}

static struct capture cap;

static int setup_journal(void **state)
{
    (void)state;
    setenv("JOURNAL_STREAM", "8:123456", 1);
    ls_log_init("spd");
    ls_log_set_level(LS_LOG_INFO);
    memset(&cap, 0, sizeof cap);
    ls_log_set_sink(capture_sink, &cap);
    return 0;
}

static int setup_plain(void **state)
{
    (void)state;
    unsetenv("JOURNAL_STREAM");
    ls_log_init("spd");
    ls_log_set_level(LS_LOG_INFO);
    memset(&cap, 0, sizeof cap);
    ls_log_set_sink(capture_sink, &cap);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    ls_log_set_sink(NULL, NULL);
    return 0;
}

static void test_journal_prefix(void **state)
{
    (void)state;
    ls_log(LS_LOG_INFO, "publish %s from %s:%d", "live/x", "10.0.0.7", 50512);
    assert_int_equal(cap.calls, 1);
    assert_int_equal(cap.level, LS_LOG_INFO);
    assert_string_equal(cap.line, "<6>spd: publish live/x from 10.0.0.7:50512");
    ls_log(LS_LOG_ERR, "boom");
    assert_string_equal(cap.line, "<3>spd: boom");
    ls_log(LS_LOG_WARNING, "w");
    assert_string_equal(cap.line, "<4>spd: w");
    ls_log(LS_LOG_NOTICE, "n");
    assert_string_equal(cap.line, "<5>spd: n");
    /* Out-of-range levels are clamped, not dropped or printed as <0>. */
    ls_log(0, "low");
    assert_string_equal(cap.line, "<3>spd: low");
    assert_int_equal(cap.level, LS_LOG_ERR);
}

static void test_empty_journal_stream_is_plain(void **state)
{
    (void)state;
    setenv("JOURNAL_STREAM", "", 1);
    ls_log_init("epd");
    ls_log(LS_LOG_INFO, "x");
    assert_true(cap.line[0] != '<');
    assert_non_null(strstr(cap.line, " epd info: x"));
}

/* "2026-11-24T03:04:05.123Z spd info: message" */
static void assert_plain_line(const char *line, const char *rest)
{
    static const char shape[] = "dddd-dd-ddTdd:dd:dd.dddZ ";
    size_t i;

    assert_true(strlen(line) >= sizeof shape - 1);
    for (i = 0; i < sizeof shape - 1; i++) {
        if (shape[i] == 'd')
            assert_true(isdigit((unsigned char)line[i]));
        else
            assert_int_equal(line[i], shape[i]);
    }
    assert_string_equal(line + sizeof shape - 1, rest);
}

static void test_plain_format(void **state)
{
    (void)state;
    ls_log(LS_LOG_INFO, "hello %d", 42);
    assert_plain_line(cap.line, "spd info: hello 42");
    ls_log(LS_LOG_ERR, "e");
    assert_plain_line(cap.line, "spd error: e");
    ls_log(LS_LOG_WARNING, "w");
    assert_plain_line(cap.line, "spd warning: w");
    ls_log(LS_LOG_NOTICE, "n");
    assert_plain_line(cap.line, "spd notice: n");
    ls_log_set_level(LS_LOG_DEBUG);
    ls_log(LS_LOG_DEBUG, "d");
    assert_plain_line(cap.line, "spd debug: d");
    ls_log(99, "clamped");
    assert_plain_line(cap.line, "spd debug: clamped");
    /* The year of "now" is plausible: the timestamp is real, not a constant. */
    assert_true(strncmp(cap.line, "20", 2) == 0);
}

static void test_levels_filter(void **state)
{
    (void)state;
    ls_log_set_level(LS_LOG_NOTICE);
    assert_int_equal(ls_log_get_level(), LS_LOG_NOTICE);
    assert_false(ls_log_enabled(LS_LOG_INFO));
    assert_true(ls_log_enabled(LS_LOG_NOTICE));
    assert_true(ls_log_enabled(LS_LOG_ERR));
    ls_log(LS_LOG_INFO, "dropped");
    ls_log(LS_LOG_DEBUG, "dropped");
    assert_int_equal(cap.calls, 0);
    ls_log(LS_LOG_WARNING, "kept");
    assert_int_equal(cap.calls, 1);
    ls_log_set_level(-5);
    assert_int_equal(ls_log_get_level(), LS_LOG_ERR);
    ls_log_set_level(50);
    assert_int_equal(ls_log_get_level(), LS_LOG_DEBUG);
    assert_true(ls_log_enabled(LS_LOG_DEBUG));
}

static void test_parse_level(void **state)
{
    static const struct { const char *text; int rc; int level; } cases[] = {
        { "debug", LS_OK, LS_LOG_DEBUG },   { "info", LS_OK, LS_LOG_INFO },
        { "notice", LS_OK, LS_LOG_NOTICE }, { "warning", LS_OK, LS_LOG_WARNING },
        { "error", LS_OK, LS_LOG_ERR },     { "err", LS_EINVAL, -1 },
        { "INFO", LS_EINVAL, -1 },          { "", LS_EINVAL, -1 },
        { "info ", LS_EINVAL, -1 },         { "warn", LS_EINVAL, -1 },
        { "crit", LS_EINVAL, -1 },
    };
    size_t i;
    int level;

    (void)state;
    for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        level = -1;
        assert_int_equal(ls_log_parse_level(cases[i].text, &level), cases[i].rc);
        assert_int_equal(level, cases[i].level);
    }
    assert_int_equal(ls_log_parse_level(NULL, &level), LS_EINVAL);
    assert_string_equal(ls_log_level_name(LS_LOG_WARNING), "warning");
    assert_string_equal(ls_log_level_name(LS_LOG_ERR), "error");
    assert_string_equal(ls_log_level_name(1), "error");
    assert_string_equal(ls_log_level_name(8), "debug");
}

static void test_control_chars_escaped(void **state)
{
    static const struct { const char *in; const char *out; } cases[] = {
        { "a\nb", "a\\nb" },
        { "fake\n<3>spd: forged", "fake\\n<3>spd: forged" },
        { "cr\rlf", "cr\\rlf" },
        { "tab\there", "tab\\there" },
        { "bell\x07 esc\x1b[31m del\x7f", "bell\\x07 esc\\x1b[31m del\\x7f" },
        { "back\\slash", "back\\slash" },
        { "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x8e\xa5", "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x8e\xa5" },
        { "bad \xff byte", "bad \\xff byte" },
        { "overlong \xc0\xaf", "overlong \\xc0\\xaf" },
        { "overlong3 \xe0\x80\xaf", "overlong3 \\xe0\\x80\\xaf" },
        { "surrogate \xed\xa0\x80", "surrogate \\xed\\xa0\\x80" },
        { "too big \xf4\x90\x80\x80", "too big \\xf4\\x90\\x80\\x80" },
        { "f5 \xf5\x80\x80\x80", "f5 \\xf5\\x80\\x80\\x80" },
        { "stray \x80", "stray \\x80" },
        { "short \xe2\x82", "short \\xe2\\x82" },
        { "broken \xe2\x28\xa1", "broken \\xe2(\\xa1" },
    };
    size_t i;

    (void)state;
    for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char want[256];

        ls_log(LS_LOG_INFO, "name=%s", cases[i].in);
        snprintf(want, sizeof want, "<6>spd: name=%s", cases[i].out);
        assert_string_equal(cap.line, want);
        assert_null(strchr(cap.line, '\n'));
    }
}

static void test_truncation(void **state)
{
    static char big[6000];
    const size_t prefix = strlen("<6>spd: ");
    const size_t room = LS_LOG_LINE_MAX - 1 - prefix; /* bytes of message that fit */
    size_t len;

    (void)state;
    /* Exactly fits: no "...". */
    memset(big, 'a', room);
    big[room] = '\0';
    ls_log(LS_LOG_INFO, "%s", big);
    len = strlen(cap.line);
    assert_int_equal(len, LS_LOG_LINE_MAX - 1);
    assert_int_equal(cap.line[len - 1], 'a');

    /* One byte more: cut, ends in "...", still within the bound. */
    memset(big, 'b', room + 1);
    big[room + 1] = '\0';
    ls_log(LS_LOG_INFO, "%s", big);
    len = strlen(cap.line);
    assert_true(len <= LS_LOG_LINE_MAX - 1);
    assert_string_equal(cap.line + len - 3, "...");
    assert_int_equal(cap.line[len - 4], 'b');

    /* Far longer than the formatting buffer. */
    memset(big, 'c', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    ls_log(LS_LOG_INFO, "%s", big);
    len = strlen(cap.line);
    assert_int_equal(len, LS_LOG_LINE_MAX - 1);
    assert_string_equal(cap.line + len - 3, "...");

    /* Escapes near the end: an escape is never split, and the line stays bounded. */
    memset(big, '\n', sizeof big - 1);
    ls_log(LS_LOG_INFO, "%s", big);
    len = strlen(cap.line);
    assert_true(len <= LS_LOG_LINE_MAX - 1);
    assert_string_equal(cap.line + len - 5, "\\n...");

    /* Multi-byte characters near the end are never split. */
    for (len = 0; len + 2 < sizeof big; len += 2) {
        big[len] = (char)0xc3;
        big[len + 1] = (char)0xa9;
    }
    big[len] = '\0';
    ls_log(LS_LOG_INFO, "x%s", big); /* odd offset: a byte-count cut would split one */
    len = strlen(cap.line);
    assert_true(len <= LS_LOG_LINE_MAX - 1);
    assert_string_equal(cap.line + len - 5, "\xc3\xa9...");
}

static void test_ident(void **state)
{
    char longid[100];

    (void)state;
    ls_log_set_ident(NULL);
    ls_log(LS_LOG_INFO, "x");
    assert_string_equal(cap.line, "<6>livecluster: x");
    memset(longid, 'i', sizeof longid - 1);
    longid[sizeof longid - 1] = '\0';
    ls_log_set_ident(longid);
    ls_log(LS_LOG_INFO, "x");
    assert_int_equal(strlen(cap.line), 3 + LS_LOG_IDENT_MAX + 3);
    ls_log_set_ident("smd");
    ls_log(LS_LOG_INFO, "x");
    assert_string_equal(cap.line, "<6>smd: x");
}

static void test_errno_preserved(void **state)
{
    (void)state;
    errno = ECONNRESET;
    ls_log(LS_LOG_INFO, "%s", "x");
    assert_int_equal(errno, ECONNRESET);
    errno = EPIPE;
    ls_log(LS_LOG_DEBUG, "filtered"); /* dropped path, too */
    assert_int_equal(errno, EPIPE);
}

/* The real path: one write to fd 2, newline-terminated, nothing else. */
static void test_stderr_single_write(void **state)
{
    int fds[2], saved;
    char got[LS_LOG_LINE_MAX * 2];
    ssize_t n;
    static char big[3000];

    (void)state;
    ls_log_set_sink(NULL, NULL);
    assert_int_equal(pipe(fds), 0);
    saved = dup(STDERR_FILENO);
    assert_true(saved >= 0);
    assert_int_equal(dup2(fds[1], STDERR_FILENO), STDERR_FILENO);
    ls_log(LS_LOG_WARNING, "to %s", "stderr\n");
    memset(big, 'z', sizeof big - 1);
    ls_log(LS_LOG_ERR, "%s", big);
    assert_int_equal(dup2(saved, STDERR_FILENO), STDERR_FILENO);
    close(saved);
    close(fds[1]);
    n = read(fds[0], got, sizeof got - 1);
    close(fds[0]);
    assert_true(n > 0);
    got[n] = '\0';
    assert_int_equal((size_t)n, strlen("<4>spd: to stderr\\n\n") + LS_LOG_LINE_MAX);
    assert_memory_equal(got, "<4>spd: to stderr\\n\n<3>spd: zzz", 31);
    assert_string_equal(got + n - 4, "...\n");
    ls_log_set_sink(capture_sink, &cap);
}

static void sleep_ms(unsigned ms)
{
    struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };

    while (nanosleep(&ts, &ts) == -1)
        ;
}

/*
 * One flooding address: `burst` lines pass, the rest are counted, not written; a line
 * let through later first reports how many were suppressed. Other addresses (and other
 * ports of another address) have their own buckets; ports of one address share one.
 */
static void test_peer_rate_limit(void **state)
{
    int i;

    (void)state;
    ls_log_set_peer_limit(2, 5); /* 2 lines a second, 5 at once */
    for (i = 0; i < 100; i++)
        ls_log_peer("10.0.0.7:50000", LS_LOG_INFO, "10.0.0.7:%d: closed", 50000 + i);
    assert_int_equal(cap.calls, 5);
    assert_string_equal(cap.line, "<6>spd: 10.0.0.7:50004: closed");
    ls_log_peer("10.0.0.7:61000", LS_LOG_WARNING, "another port, same address");
    assert_int_equal(cap.calls, 5);
    /* another address is not affected, IPv6 included */
    ls_log_peer("10.0.0.8:50000", LS_LOG_INFO, "neighbour");
    assert_int_equal(cap.calls, 6);
    ls_log_peer("[2001:db8::1]:1935", LS_LOG_INFO, "v6");
    assert_int_equal(cap.calls, 7);
    /* plain ls_log is never limited */
    for (i = 0; i < 10; i++)
        ls_log(LS_LOG_INFO, "own line %d", i);
    assert_int_equal(cap.calls, 17);
    /* after a token's worth of time: the count, then the line */
    sleep_ms(600);
    ls_log_peer("10.0.0.7:50000", LS_LOG_INFO, "back");
    assert_int_equal(cap.calls, 19);
    assert_string_equal(cap.line, "<6>spd: back");
    /* disabled lines cost no tokens; 0 turns the limit off */
    ls_log_peer("10.0.0.9:1", LS_LOG_DEBUG, "not written");
    assert_int_equal(cap.calls, 19);
    ls_log_set_peer_limit(0, 0);
    for (i = 0; i < 50; i++)
        ls_log_peer("10.0.0.7:50000", LS_LOG_INFO, "unlimited");
    assert_int_equal(cap.calls, 69);
}

/* The suppressed count is reported in its own line, at notice level. */
static void test_peer_rate_limit_report(void **state)
{
    int i;

    (void)state;
    ls_log_set_peer_limit(1, 1);
    ls_log_peer("192.0.2.1:1", LS_LOG_INFO, "first");
    for (i = 0; i < 3; i++)
        ls_log_peer("192.0.2.1:1", LS_LOG_INFO, "dropped");
    assert_int_equal(cap.calls, 1);
    sleep_ms(1100);
    ls_log_peer("192.0.2.1:1", LS_LOG_INFO, "next");
    assert_int_equal(cap.calls, 3);
    assert_string_equal(cap.line, "<6>spd: next");
    ls_log_set_peer_limit(0, 0);
}

static void capture_all_sink(int level, const char *line, void *arg)
{
    char *all = arg;
    size_t n = strlen(all);

    (void)level;
    snprintf(all + n, 4096 - n, "%s\n", line);
}

static void test_peer_rate_limit_report_text(void **state)
{
    static char all[4096];
    int i;

    (void)state;
    all[0] = '\0';
    ls_log_set_sink(capture_all_sink, all);
    ls_log_set_peer_limit(1, 1);
    ls_log_peer("192.0.2.2:1", LS_LOG_INFO, "first");
    for (i = 0; i < 3; i++)
        ls_log_peer("192.0.2.2:1", LS_LOG_INFO, "dropped");
    sleep_ms(1100);
    ls_log_peer("192.0.2.2:1", LS_LOG_INFO, "next");
    assert_string_equal(all, "<6>spd: first\n"
                             "<5>spd: 192.0.2.2: 3 lines from this address suppressed "
                             "(log_rate_limit)\n"
                             "<6>spd: next\n");
    ls_log_set_peer_limit(0, 0);
}

/* ---- structured fields ---- */

/* The entries journald would have received: fields of each joined by '\n', entries by
 * an empty line. */
struct entries {
    int calls;
    int result;
    char all[16384];
};

static struct entries ent;

static int capture_sender(const struct iovec *iov, int n, void *arg)
{
    struct entries *e = arg;
    size_t len = strlen(e->all);
    int i;

    e->calls++;
    for (i = 0; i < n; i++) {
        assert_true(len + iov[i].iov_len + 2 < sizeof e->all);
        memcpy(e->all + len, iov[i].iov_base, iov[i].iov_len);
        len += iov[i].iov_len;
        e->all[len++] = '\n';
    }
    e->all[len++] = '\n';
    e->all[len] = '\0';
    return e->result;
}

/* stderr goes to a pipe while a test runs, so it can tell what reached fd 2. */
static int stderr_pipe[2] = { -1, -1 };
static int stderr_saved = -1;

static void stderr_capture_begin(void)
{
    assert_int_equal(pipe(stderr_pipe), 0);
    stderr_saved = dup(STDERR_FILENO);
    assert_true(stderr_saved >= 0);
    assert_int_equal(dup2(stderr_pipe[1], STDERR_FILENO), STDERR_FILENO);
}

/* What was written to fd 2 since stderr_capture_begin, NUL-terminated in `out`. */
static void stderr_capture_end(char *out, size_t size)
{
    ssize_t n;

    assert_int_equal(dup2(stderr_saved, STDERR_FILENO), STDERR_FILENO);
    close(stderr_saved);
    close(stderr_pipe[1]);
    n = read(stderr_pipe[0], out, size - 1);
    close(stderr_pipe[0]);
    out[n > 0 ? n : 0] = '\0';
}

static int setup_native(void **state)
{
    (void)state;
    setenv("JOURNAL_STREAM", "8:123456", 1);
    setenv("LIVECLUSTER_JOURNAL", "native", 1);
    ls_log_init("spd");
    ls_log_set_level(LS_LOG_INFO);
    ls_log_set_node_id("spd-a");
    ls_log_set_sink(NULL, NULL);
    memset(&ent, 0, sizeof ent);
    ls_journal_set_sender(capture_sender, &ent);
    return 0;
}

static int teardown_native(void **state)
{
    (void)state;
    unsetenv("LIVECLUSTER_JOURNAL");
    ls_journal_set_sender(NULL, NULL);
    ls_log_set_node_id(NULL);
    ls_log_set_sink(NULL, NULL);
    ls_log_set_peer_limit(0, 0);
    ls_log_init("spd");
    return 0;
}

/* Outside journald a line with fields is byte for byte the line without them. */
static void test_ctx_lines_unchanged(void **state)
{
    char plain[LS_LOG_LINE_MAX + 16];
    static struct ls_log_limit lim;

    (void)state;
    ls_log_set_node_id("spd-a");
    ls_log(LS_LOG_NOTICE, "%s: publish %s started", "10.0.0.7:50512", "live/x");
    snprintf(plain, sizeof plain, "%s", cap.line);
    assert_string_equal(plain, "<5>spd: 10.0.0.7:50512: publish live/x started");
    ls_log_ctx(LS_LOG_NOTICE, LS_LOG_CTX("live/x", "10.0.0.7:50512"), "%s: publish %s started",
               "10.0.0.7:50512", "live/x");
    assert_string_equal(cap.line, plain);
    ls_log_peer_ctx(LS_LOG_CTX("live/x", "10.0.0.7:50512"), LS_LOG_NOTICE,
                    "%s: publish %s started", "10.0.0.7:50512", "live/x");
    assert_string_equal(cap.line, plain);
    assert_true(ls_log_limited_ctx(&lim, 1000, LS_LOG_NOTICE, LS_LOG_CTX("live/x", NULL),
                                   "%s: publish %s started", "10.0.0.7:50512", "live/x"));
    assert_string_equal(cap.line, plain);
    ls_log_ctx(LS_LOG_NOTICE, NULL, "%s: publish %s started", "10.0.0.7:50512", "live/x");
    assert_string_equal(cap.line, plain);
    assert_int_equal(cap.calls, 5);
    ls_log_set_node_id(NULL);
}

/* The plain form too (its timestamp aside). */
static void test_ctx_lines_unchanged_plain(void **state)
{
    (void)state;
    ls_log_ctx(LS_LOG_INFO, LS_LOG_CTX("live/x", "10.0.0.7:1"), "play %s", "live/x");
    assert_plain_line(cap.line, "spd info: play live/x");
    assert_false(ls_log_native());
}

/* In native mode a line is one entry with its fields, and nothing goes to stderr. */
static void test_native_entry_fields(void **state)
{
    char err[256];

    (void)state;
    assert_true(ls_log_native());
    stderr_capture_begin();
    ls_log_peer_ctx(LS_LOG_CTX("live/x", "10.0.0.7:50512"), LS_LOG_NOTICE,
                    "%s: publish %s started", "10.0.0.7:50512", "live/x");
    ls_log(LS_LOG_WARNING, "no context");
    ls_log_ctx(LS_LOG_DEBUG, LS_LOG_CTX("live/x", NULL), "filtered: no entry");
    ls_log_ctx(LS_LOG_INFO, LS_LOG_CTX(NULL, "[2001:db8::1]:1935"), "v6 peer");
    stderr_capture_end(err, sizeof err);
    assert_string_equal(err, "");
    assert_int_equal(ent.calls, 3);
    assert_string_equal(ent.all, "MESSAGE=10.0.0.7:50512: publish live/x started\n"
                                 "PRIORITY=5\n"
                                 "SYSLOG_IDENTIFIER=spd\n"
                                 "STREAM_ID=live/x\n"
                                 "PEER=10.0.0.7:50512\n"
                                 "PEER_ADDR=10.0.0.7\n"
                                 "NODE_ID=spd-a\n"
                                 "\n"
                                 "MESSAGE=no context\n"
                                 "PRIORITY=4\n"
                                 "SYSLOG_IDENTIFIER=spd\n"
                                 "NODE_ID=spd-a\n"
                                 "\n"
                                 "MESSAGE=v6 peer\n"
                                 "PRIORITY=6\n"
                                 "SYSLOG_IDENTIFIER=spd\n"
                                 "PEER=[2001:db8::1]:1935\n"
                                 "PEER_ADDR=2001:db8::1\n"
                                 "NODE_ID=spd-a\n"
                                 "\n");
}

/* Field values are escaped like the message and cut at LS_LOG_FIELD_MAX; a message is cut
 * at the line bound (without the prefix it does not carry). */
static void test_native_escaping_and_bounds(void **state)
{
    static char big[3000], longpeer[LS_LOG_FIELD_MAX + 50];
    char want[LS_LOG_FIELD_MAX + 64];
    const char *p;
    size_t len;

    (void)state;
    ls_log_set_node_id("node\n\x01" "a");
    ls_log_ctx(LS_LOG_INFO, LS_LOG_CTX("live/\xff" "x\nSTREAM_ID=forged", NULL),
               "name=%s", "a\nb");
    assert_string_equal(ent.all, "MESSAGE=name=a\\nb\n"
                                 "PRIORITY=6\n"
                                 "SYSLOG_IDENTIFIER=spd\n"
                                 "STREAM_ID=live/\\xffx\\nSTREAM_ID=forged\n"
                                 "NODE_ID=node\\n\\x01a\n"
                                 "\n");
    ent.all[0] = '\0';
    ls_log_set_node_id(NULL);
    memset(longpeer, 'p', sizeof longpeer - 1);
    memset(big, 'm', sizeof big - 1);
    ls_log_ctx(LS_LOG_INFO, LS_LOG_CTX(NULL, longpeer), "%s", big);
    /* MESSAGE: LS_LOG_LINE_MAX - 1 bytes, ending in "..." */
    p = strchr(ent.all, '\n');
    len = (size_t)(p - ent.all) - strlen("MESSAGE=");
    assert_int_equal(len, LS_LOG_LINE_MAX - 1);
    assert_memory_equal(p - 4, "m...", 4);
    /* PEER: LS_LOG_FIELD_MAX bytes, ending in "..." */
    memset(want, 'p', LS_LOG_FIELD_MAX - 3);
    memcpy(want + LS_LOG_FIELD_MAX - 3, "...\n", 5);
    p = strstr(ent.all, "\nPEER=");
    assert_non_null(p);
    assert_memory_equal(p + 6, want, LS_LOG_FIELD_MAX + 1);
    assert_null(strstr(ent.all, "NODE_ID="));
}

/* An entry journald does not take becomes the usual line on stderr. */
static void test_native_falls_back_to_stderr(void **state)
{
    char err[256];

    (void)state;
    ent.result = -ECONNREFUSED;
    errno = EPIPE;
    stderr_capture_begin();
    ls_log_ctx(LS_LOG_WARNING, LS_LOG_CTX("live/x", "10.0.0.7:1"), "%s: journald is %s",
               "10.0.0.7:1", "down");
    stderr_capture_end(err, sizeof err);
    assert_int_equal(errno, EPIPE);
    assert_int_equal(ent.calls, 1);
    assert_string_equal(err, "<4>spd: 10.0.0.7:1: journald is down\n");
}

/* A sink (tests, or a daemon's own output) takes lines before journald does. */
static void test_native_sink_first(void **state)
{
    (void)state;
    memset(&cap, 0, sizeof cap);
    ls_log_set_sink(capture_sink, &cap);
    ls_log_ctx(LS_LOG_INFO, LS_LOG_CTX("live/x", NULL), "to the sink");
    assert_int_equal(cap.calls, 1);
    assert_string_equal(cap.line, "<6>spd: to the sink");
    assert_int_equal(ent.calls, 0);
}

/* ls_log_peer_ctx limits by ctx->peer's address as ls_log_peer does; the lines it lets
 * through, and ls_log_limited_ctx's, keep their fields. */
static void test_native_limits_keep_fields(void **state)
{
    static struct ls_log_limit lim;
    int i;

    (void)state;
    ls_log_set_peer_limit(1, 2);
    for (i = 0; i < 10; i++)
        ls_log_peer_ctx(LS_LOG_CTX("live/x", "192.0.2.9:1000"), LS_LOG_INFO, "flood %d", i);
    ls_log_peer_ctx(LS_LOG_CTX("live/x", "192.0.2.9:2000"), LS_LOG_INFO, "same address");
    ls_log_peer_ctx(LS_LOG_CTX("live/x", "192.0.2.10:1000"), LS_LOG_INFO, "another");
    ls_log_peer_ctx(LS_LOG_CTX("live/x", NULL), LS_LOG_INFO, "no peer: not limited");
    assert_int_equal(ent.calls, 4);
    assert_non_null(strstr(ent.all, "MESSAGE=flood 1\nPRIORITY=6\nSYSLOG_IDENTIFIER=spd\n"
                                    "STREAM_ID=live/x\nPEER=192.0.2.9:1000\n"));
    assert_null(strstr(ent.all, "flood 2"));
    assert_null(strstr(ent.all, "same address"));
    ls_log_set_peer_limit(0, 0);
    ent.all[0] = '\0';
    assert_true(ls_log_limited_ctx(&lim, 60000, LS_LOG_WARNING, LS_LOG_CTX("live/y", NULL),
                                   "play %s refused", "live/y"));
    assert_false(ls_log_limited_ctx(&lim, 60000, LS_LOG_WARNING, LS_LOG_CTX("live/y", NULL),
                                    "play %s refused", "live/y"));
    assert_string_equal(ent.all, "MESSAGE=play live/y refused\nPRIORITY=4\n"
                                 "SYSLOG_IDENTIFIER=spd\nSTREAM_ID=live/y\nNODE_ID=spd-a\n\n");
}

/* Who decides: JOURNAL_STREAM naming fd 2 (as systemd sets it) turns entries on, an
 * inherited one does not; LIVECLUSTER_JOURNAL forces either way. */
static void test_native_mode_choice(void **state)
{
    struct stat st;
    char js[96];

    (void)state;
    assert_int_equal(fstat(STDERR_FILENO, &st), 0);
    snprintf(js, sizeof js, "%ju:%ju", (uintmax_t)st.st_dev, (uintmax_t)st.st_ino);
    unsetenv("LIVECLUSTER_JOURNAL");
    setenv("JOURNAL_STREAM", js, 1);
    ls_log_init("spd");
    assert_true(ls_log_native());
    setenv("JOURNAL_STREAM", "8:123456", 1);
    ls_log_init("spd");
    assert_false(ls_log_native());
    unsetenv("JOURNAL_STREAM");
    ls_log_init("spd");
    assert_false(ls_log_native());
    setenv("JOURNAL_STREAM", js, 1);
    setenv("LIVECLUSTER_JOURNAL", "off", 1);
    ls_log_init("spd");
    assert_false(ls_log_native());
    setenv("LIVECLUSTER_JOURNAL", "auto", 1);
    ls_log_init("spd");
    assert_true(ls_log_native());
    unsetenv("JOURNAL_STREAM");
    setenv("LIVECLUSTER_JOURNAL", "native", 1);
    ls_log_init("spd");
    assert_true(ls_log_native());
    /* forced, without JOURNAL_STREAM: a line journald refuses is a plain line */
    memset(&cap, 0, sizeof cap);
    ls_log_set_sink(capture_sink, &cap);
    ls_log(LS_LOG_INFO, "plain");
    assert_plain_line(cap.line, "spd info: plain");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_journal_prefix, setup_journal, teardown),
        cmocka_unit_test_setup_teardown(test_empty_journal_stream_is_plain, setup_plain,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_plain_format, setup_plain, teardown),
        cmocka_unit_test_setup_teardown(test_levels_filter, setup_journal, teardown),
        cmocka_unit_test_setup_teardown(test_parse_level, setup_journal, teardown),
        cmocka_unit_test_setup_teardown(test_control_chars_escaped, setup_journal, teardown),
        cmocka_unit_test_setup_teardown(test_truncation, setup_journal, teardown),
        cmocka_unit_test_setup_teardown(test_ident, setup_journal, teardown),
        cmocka_unit_test_setup_teardown(test_errno_preserved, setup_journal, teardown),
        cmocka_unit_test_setup_teardown(test_stderr_single_write, setup_journal, teardown),
        cmocka_unit_test_setup_teardown(test_peer_rate_limit, setup_journal, teardown),
        cmocka_unit_test_setup_teardown(test_peer_rate_limit_report, setup_journal, teardown),
        cmocka_unit_test_setup_teardown(test_peer_rate_limit_report_text, setup_journal,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_ctx_lines_unchanged, setup_journal, teardown),
        cmocka_unit_test_setup_teardown(test_ctx_lines_unchanged_plain, setup_plain, teardown),
        cmocka_unit_test_setup_teardown(test_native_entry_fields, setup_native, teardown_native),
        cmocka_unit_test_setup_teardown(test_native_escaping_and_bounds, setup_native,
                                        teardown_native),
        cmocka_unit_test_setup_teardown(test_native_falls_back_to_stderr, setup_native,
                                        teardown_native),
        cmocka_unit_test_setup_teardown(test_native_sink_first, setup_native, teardown_native),
        cmocka_unit_test_setup_teardown(test_native_limits_keep_fields, setup_native,
                                        teardown_native),
        cmocka_unit_test_setup_teardown(test_native_mode_choice, setup_native, teardown_native),
    };
    return cmocka_run_group_tests_name("log", tests, NULL, NULL);
}
