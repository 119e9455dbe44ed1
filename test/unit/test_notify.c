/* Unit tests for notify.c: datagrams received by a real AF_UNIX socket, path and abstract. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include "libstream/err.h"
#include "libstream/notify.h"

static void clear_env(void)
{
    unsetenv("NOTIFY_SOCKET");
    unsetenv("WATCHDOG_USEC");
    unsetenv("WATCHDOG_PID");
}

/* A bound datagram socket; `name` is a path, or "@x" for the abstract namespace. */
static int listener(const char *name)
{
    struct sockaddr_un a = { .sun_family = AF_UNIX };
    socklen_t len;
    int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);

    assert_true(fd >= 0);
    strcpy(a.sun_path, name);
    len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + strlen(name) + 1);
    if (name[0] == '@') {
        a.sun_path[0] = '\0';
        len--;
    }
    assert_int_equal(bind(fd, (struct sockaddr *)&a, len), 0);
    return fd;
}

static void expect_datagram(int fd, const char *want)
{
    char buf[LS_NOTIFY_STATE_MAX + 16];
    ssize_t n = recv(fd, buf, sizeof buf - 1, MSG_DONTWAIT);

    assert_true(n >= 0);
    buf[n] = '\0';
    assert_int_equal((size_t)n, strlen(want));
    assert_string_equal(buf, want);
}

static void assert_queue_empty(int fd)
{
    char c;

    assert_int_equal(recv(fd, &c, 1, MSG_DONTWAIT), -1);
    assert_true(errno == EAGAIN || errno == EWOULDBLOCK);
}

static void test_unset_is_noop(void **state)
{
    (void)state;
    clear_env();
    assert_int_equal(ls_notify_init(), LS_OK);
    assert_false(ls_notify_enabled());
    assert_int_equal(ls_notify("READY=1"), LS_OK);
    assert_int_equal(ls_notifyf("STATUS=%d streams", 3), LS_OK);
    assert_int_equal(ls_notify_reloading(), LS_OK);
    assert_int_equal(ls_notify_watchdog_usec(), 0);
    setenv("NOTIFY_SOCKET", "", 1);
    assert_int_equal(ls_notify_init(), LS_OK);
    assert_false(ls_notify_enabled());
}

static void test_path_socket(void **state)
{
    char dir[] = "/tmp/ls_notify_XXXXXX";
    char path[128];
    int fd;

    (void)state;
    clear_env();
    assert_non_null(mkdtemp(dir));
    snprintf(path, sizeof path, "%s/notify", dir);
    fd = listener(path);
    setenv("NOTIFY_SOCKET", path, 1);
    assert_int_equal(ls_notify_init(), LS_OK);
    assert_true(ls_notify_enabled());

    assert_int_equal(ls_notify("READY=1"), LS_OK);
    expect_datagram(fd, "READY=1");
    assert_int_equal(ls_notifyf("STATUS=%d streams, %d viewers", 12, 340), LS_OK);
    expect_datagram(fd, "STATUS=12 streams, 340 viewers");
    assert_int_equal(ls_notify("WATCHDOG=1"), LS_OK);
    expect_datagram(fd, "WATCHDOG=1");
    assert_int_equal(ls_notify("STOPPING=1"), LS_OK);
    expect_datagram(fd, "STOPPING=1");
    assert_queue_empty(fd);

    close(fd);
    unlink(path);
    /* nobody listening any more: a send failure, reported, not fatal */
    assert_int_equal(ls_notify("READY=1"), LS_EIO);
    rmdir(dir);
    clear_env();
}

static void test_reloading_has_monotonic_time(void **state)
{
    char name[64], buf[128], *end;
    struct timespec before, after;
    unsigned long long usec;
    ssize_t n;
    int fd;

    (void)state;
    clear_env();
    snprintf(name, sizeof name, "@ls-notify-test-%ld", (long)getpid());
    fd = listener(name);
    setenv("NOTIFY_SOCKET", name, 1);
    assert_int_equal(ls_notify_init(), LS_OK);
    clock_gettime(CLOCK_MONOTONIC, &before);
    assert_int_equal(ls_notify_reloading(), LS_OK);
    clock_gettime(CLOCK_MONOTONIC, &after);
    n = recv(fd, buf, sizeof buf - 1, MSG_DONTWAIT);
    assert_true(n > 0);
    buf[n] = '\0';
    assert_memory_equal(buf, "RELOADING=1\nMONOTONIC_USEC=", 27);
    usec = strtoull(buf + 27, &end, 10);
    assert_int_equal(*end, '\0');
    assert_true(usec >= (unsigned long long)before.tv_sec * 1000000ULL + (unsigned long long)before.tv_nsec / 1000);
    assert_true(usec <= (unsigned long long)after.tv_sec * 1000000ULL + (unsigned long long)after.tv_nsec / 1000);
    close(fd);
    clear_env();
}

static void test_abstract_socket(void **state)
{
    char name[64];
    int fd;

    (void)state;
    clear_env();
    snprintf(name, sizeof name, "@ls-notify-abstract-%ld", (long)getpid());
    fd = listener(name);
    setenv("NOTIFY_SOCKET", name, 1);
    assert_int_equal(ls_notify_init(), LS_OK);
    assert_int_equal(ls_notify("READY=1\nSTATUS=up"), LS_OK);
    expect_datagram(fd, "READY=1\nSTATUS=up");
    close(fd);
    clear_env();
}

static void test_bad_socket_values(void **state)
{
    static const char *const bad[] = { "relative/path", "@", "/", "vsock:2:1234", NULL };
    char longpath[200];
    size_t i;

    (void)state;
    for (i = 0; bad[i] != NULL; i++) {
        clear_env();
        setenv("NOTIFY_SOCKET", bad[i], 1);
        assert_int_equal(ls_notify_init(), LS_EINVAL);
        assert_false(ls_notify_enabled());
        assert_int_equal(ls_notify("READY=1"), LS_OK); /* disabled: no-op */
    }
    /* sun_path holds 107 bytes and a NUL */
    longpath[0] = '/';
    memset(longpath + 1, 'p', 107);
    longpath[108] = '\0';
    setenv("NOTIFY_SOCKET", longpath, 1);
    assert_int_equal(ls_notify_init(), LS_EINVAL);
    longpath[107] = '\0';
    setenv("NOTIFY_SOCKET", longpath, 1);
    assert_int_equal(ls_notify_init(), LS_OK);
    assert_true(ls_notify_enabled());
    clear_env();
}

static void test_state_bounds(void **state)
{
    char name[64];
    static char big[LS_NOTIFY_STATE_MAX + 2];
    int fd;

    (void)state;
    clear_env();
    snprintf(name, sizeof name, "@ls-notify-bounds-%ld", (long)getpid());
    fd = listener(name);
    setenv("NOTIFY_SOCKET", name, 1);
    assert_int_equal(ls_notify_init(), LS_OK);
    memcpy(big, "STATUS=", 7);
    memset(big + 7, 'x', LS_NOTIFY_STATE_MAX - 7);
    big[LS_NOTIFY_STATE_MAX] = '\0';
    assert_int_equal(ls_notify(big), LS_OK);
    expect_datagram(fd, big);
    big[LS_NOTIFY_STATE_MAX] = 'x';
    big[LS_NOTIFY_STATE_MAX + 1] = '\0';
    assert_int_equal(ls_notify(big), LS_EINVAL);
    assert_int_equal(ls_notifyf("%s", big), LS_EINVAL);
    assert_int_equal(ls_notify(""), LS_EINVAL);
    assert_int_equal(ls_notify(NULL), LS_EINVAL);
    assert_queue_empty(fd);
    close(fd);
    clear_env();
}

/* A receiver that stops reading must never block the daemon: sends fail with LS_EIO. */
static void test_full_queue_does_not_block(void **state)
{
    char name[64];
    int fd, i, rc = LS_OK, small = 1024;

    (void)state;
    clear_env();
    snprintf(name, sizeof name, "@ls-notify-full-%ld", (long)getpid());
    fd = listener(name);
    assert_int_equal(setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &small, sizeof small), 0);
    setenv("NOTIFY_SOCKET", name, 1);
    assert_int_equal(ls_notify_init(), LS_OK);
    for (i = 0; i < 100000 && rc == LS_OK; i++)
        rc = ls_notify("WATCHDOG=1");
    assert_int_equal(rc, LS_EIO);
    assert_true(errno == EAGAIN || errno == EWOULDBLOCK);
    close(fd);
    clear_env();
}

static void test_watchdog_env(void **state)
{
    static const struct { const char *usec; const char *pid; uint64_t want; } cases[] = {
        { "5000000", NULL, 5000000 },
        { "1", NULL, 1 },
        { "18446744073709551615", NULL, UINT64_MAX },
        { "18446744073709551616", NULL, 0 },
        { "0", NULL, 0 },
        { "", NULL, 0 },
        { "-5", NULL, 0 },
        { "5s", NULL, 0 },
        { " 5", NULL, 0 },
        { "5000000", "self", 5000000 },
        { "5000000", "1", 0 },      /* another process's watchdog */
        { "5000000", "abc", 0 },
        { NULL, "self", 0 },
    };
    char self[32];
    size_t i;

    (void)state;
    snprintf(self, sizeof self, "%ld", (long)getpid());
    for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        clear_env();
        if (cases[i].usec != NULL)
            setenv("WATCHDOG_USEC", cases[i].usec, 1);
        if (cases[i].pid != NULL)
            setenv("WATCHDOG_PID", strcmp(cases[i].pid, "self") == 0 ? self : cases[i].pid, 1);
        assert_int_equal(ls_notify_init(), LS_OK);
        if (ls_notify_watchdog_usec() != cases[i].want)
            fail_msg("case %zu: %llu", i, (unsigned long long)ls_notify_watchdog_usec());
    }
    clear_env();
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_unset_is_noop),
        cmocka_unit_test(test_path_socket),
        cmocka_unit_test(test_reloading_has_monotonic_time),
        cmocka_unit_test(test_abstract_socket),
        cmocka_unit_test(test_bad_socket_values),
        cmocka_unit_test(test_state_bounds),
        cmocka_unit_test(test_full_queue_does_not_block),
        cmocka_unit_test(test_watchdog_env),
    };
    return cmocka_run_group_tests_name("notify", tests, NULL, NULL);
}
