/* Unit tests for journal.c: the fields of an entry (through the sender hook, so nothing
 * reaches a real journald) and the JOURNAL_STREAM check against a real fd. */
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

#include "libstream/err.h"
#include "libstream/journal.h"

/* What the sender saw: the fields joined by '\n' (none holds one). */
struct sent {
    int calls;
    int n;
    int result;
    char fields[LS_JOURNAL_ENTRY_MAX + 64];
};

static struct sent sent;

static int capture_sender(const struct iovec *iov, int n, void *arg)
{
    struct sent *s = arg;
    size_t len = 0;
    int i;

    s->calls++;
    s->n = n;
    for (i = 0; i < n; i++) {
        assert_null(memchr(iov[i].iov_base, '\n', iov[i].iov_len));
        assert_non_null(memchr(iov[i].iov_base, '=', iov[i].iov_len));
        memcpy(s->fields + len, iov[i].iov_base, iov[i].iov_len);
        len += iov[i].iov_len;
        s->fields[len++] = '\n';
    }
    s->fields[len] = '\0';
    return s->result;
}

static int setup(void **state)
{
    (void)state;
    memset(&sent, 0, sizeof sent);
    ls_journal_set_sender(capture_sender, &sent);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    ls_journal_set_sender(NULL, NULL);
    return 0;
}

static void test_all_fields_in_order(void **state)
{
    struct ls_journal_entry e = {
        .priority = 5,
        .ident = "spd",
        .message = "10.0.0.7:50512: publish live/x started",
        .stream_id = "live/x",
        .peer = "10.0.0.7:50512",
        .node_id = "spd-a",
    };

    (void)state;
    assert_int_equal(ls_journal_send(&e), LS_OK);
    assert_int_equal(sent.calls, 1);
    assert_int_equal(sent.n, LS_JOURNAL_FIELDS_MAX);
    assert_string_equal(sent.fields, "MESSAGE=10.0.0.7:50512: publish live/x started\n"
                                     "PRIORITY=5\n"
                                     "SYSLOG_IDENTIFIER=spd\n"
                                     "STREAM_ID=live/x\n"
                                     "PEER=10.0.0.7:50512\n"
                                     "PEER_ADDR=10.0.0.7\n"
                                     "NODE_ID=spd-a\n");
}

/* NULL and "" mean "no such field"; MESSAGE and PRIORITY are always there. */
static void test_absent_fields(void **state)
{
    struct ls_journal_entry e = { .priority = 6, .ident = "smd", .message = "m" };

    (void)state;
    assert_int_equal(ls_journal_send(&e), LS_OK);
    assert_string_equal(sent.fields, "MESSAGE=m\nPRIORITY=6\nSYSLOG_IDENTIFIER=smd\n");
    e.stream_id = "";
    e.peer = "";
    e.node_id = "";
    e.ident = "";
    assert_int_equal(ls_journal_send(&e), LS_OK);
    assert_string_equal(sent.fields, "MESSAGE=m\nPRIORITY=6\n");
    e.message = NULL;
    assert_int_equal(ls_journal_send(&e), LS_OK);
    assert_string_equal(sent.fields, "MESSAGE=\nPRIORITY=6\n");
}

/* Out-of-range priorities never produce a field journald would reject. */
static void test_priority_clamped(void **state)
{
    struct ls_journal_entry e = { .message = "x" };

    (void)state;
    e.priority = 3;
    assert_int_equal(ls_journal_send(&e), LS_OK);
    assert_string_equal(sent.fields, "MESSAGE=x\nPRIORITY=3\n");
    e.priority = -1;
    assert_int_equal(ls_journal_send(&e), LS_OK);
    assert_string_equal(sent.fields, "MESSAGE=x\nPRIORITY=7\n");
    e.priority = 99;
    assert_int_equal(ls_journal_send(&e), LS_OK);
    assert_string_equal(sent.fields, "MESSAGE=x\nPRIORITY=7\n");
}

/* PEER_ADDR: the address of PEER, so one client's connections share one value. */
static void test_peer_addr(void **state)
{
    static const struct { const char *peer; const char *fields; } cases[] = {
        { "10.0.0.7:50512", "PEER=10.0.0.7:50512\nPEER_ADDR=10.0.0.7\n" },
        { "[2001:db8::1]:1935", "PEER=[2001:db8::1]:1935\nPEER_ADDR=2001:db8::1\n" },
        { "origin.example:1935", "PEER=origin.example:1935\nPEER_ADDR=origin.example\n" },
        { "10.0.0.7", "PEER=10.0.0.7\nPEER_ADDR=10.0.0.7\n" },         /* no port */
        { "2001:db8::1", "PEER=2001:db8::1\nPEER_ADDR=2001:db8::1\n" }, /* bare IPv6 */
        { "[2001:db8::1]", "PEER=[2001:db8::1]\nPEER_ADDR=[2001:db8::1]\n" },
        { ":1935", "PEER=:1935\n" },                                    /* nothing left */
        { "[]:1", "PEER=[]:1\n" },
    };
    struct ls_journal_entry e = { .priority = 6, .message = "m" };
    char want[256];
    size_t i;

    (void)state;
    for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        e.peer = cases[i].peer;
        assert_int_equal(ls_journal_send(&e), LS_OK);
        snprintf(want, sizeof want, "MESSAGE=m\nPRIORITY=6\n%s", cases[i].fields);
        assert_string_equal(sent.fields, want);
    }
}

/* An entry over LS_JOURNAL_ENTRY_MAX is refused whole (the caller writes the line), and a
 * sender's failure is LS_EIO; errno stays as it was either way. */
static void test_bounds_and_failures(void **state)
{
    static char big[LS_JOURNAL_ENTRY_MAX];
    struct ls_journal_entry e = { .priority = 6, .message = big };
    size_t fixed = strlen("MESSAGE=") + strlen("PRIORITY=6");

    (void)state;
    memset(big, 'a', sizeof big - 1);
    big[LS_JOURNAL_ENTRY_MAX - fixed] = '\0'; /* exactly fits */
    assert_int_equal(ls_journal_send(&e), LS_OK);
    assert_int_equal(sent.calls, 1);
    big[LS_JOURNAL_ENTRY_MAX - fixed] = 'a';
    big[LS_JOURNAL_ENTRY_MAX - fixed + 1] = '\0'; /* one byte more */
    errno = ENOTTY;
    assert_int_equal(ls_journal_send(&e), LS_EINVAL);
    assert_int_equal(errno, ENOTTY);
    assert_int_equal(sent.calls, 1);

    e.message = "m";
    sent.result = -ECONNREFUSED;
    errno = ENOTTY;
    assert_int_equal(ls_journal_send(&e), LS_EIO);
    assert_int_equal(errno, ENOTTY);
    assert_int_equal(sent.calls, 2);
}

static void test_stream_matches_fd(void **state)
{
    char path[] = "/tmp/ls_journal_XXXXXX";
    char js[96];
    struct stat st;
    int fd, other;

    (void)state;
    fd = mkstemp(path);
    assert_true(fd >= 0);
    other = open("/dev/null", O_WRONLY | O_CLOEXEC);
    assert_true(other >= 0);
    assert_int_equal(fstat(fd, &st), 0);
    snprintf(js, sizeof js, "%ju:%ju", (uintmax_t)st.st_dev, (uintmax_t)st.st_ino);
    assert_true(ls_journal_stream_is(js, fd));
    assert_false(ls_journal_stream_is(js, other));   /* inherited, not ours */
    snprintf(js, sizeof js, "%ju:%ju", (uintmax_t)st.st_dev, (uintmax_t)st.st_ino + 1);
    assert_false(ls_journal_stream_is(js, fd));
    snprintf(js, sizeof js, "%ju:%ju", (uintmax_t)st.st_dev + 1, (uintmax_t)st.st_ino);
    assert_false(ls_journal_stream_is(js, fd));
    snprintf(js, sizeof js, "%ju:%ju", (uintmax_t)st.st_dev, (uintmax_t)st.st_ino);
    close(fd);
    assert_false(ls_journal_stream_is(js, fd));       /* a closed fd */
    unlink(path);
    close(other);
}

static void test_stream_malformed(void **state)
{
    static const char *const bad[] = {
        "", ":", "1", "1:", ":1", "a:b", "1:2:3", "-1:2", "1:-2", " 1:2", "1:2 ", "+1:2",
        "1:99999999999999999999999999", "0x1:2",
    };
    size_t i;

    (void)state;
    assert_false(ls_journal_stream_is(NULL, STDERR_FILENO));
    for (i = 0; i < sizeof bad / sizeof bad[0]; i++)
        if (ls_journal_stream_is(bad[i], STDERR_FILENO))
            fail_msg("accepted \"%s\"", bad[i]);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_all_fields_in_order, setup, teardown),
        cmocka_unit_test_setup_teardown(test_absent_fields, setup, teardown),
        cmocka_unit_test_setup_teardown(test_priority_clamped, setup, teardown),
        cmocka_unit_test_setup_teardown(test_peer_addr, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bounds_and_failures, setup, teardown),
        cmocka_unit_test(test_stream_matches_fd),
        cmocka_unit_test(test_stream_malformed),
    };
    return cmocka_run_group_tests_name("journal", tests, NULL, NULL);
}
