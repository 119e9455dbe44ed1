/* Unit tests for args.c: every option, exit statuses, and what goes to stdout/stderr. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "libstream/args.h"
#include "libstream/err.h"

struct run {
    int rc;
    struct ls_args args;
    char out[4096];
    char err[4096];
};

static void slurp(FILE *f, char *buf, size_t cap)
{
    size_t n;

    rewind(f);
    n = fread(buf, 1, cap - 1, f);
    buf[n] = '\0';
    fclose(f);
}

/* Runs ls_args_parse on a NULL-terminated argv with stdout/stderr captured. */
static void run_args(struct run *r, const char *daemon, char **argv)
{
    int argc = 0, so, se;
    FILE *fo = tmpfile(), *fe = tmpfile();

    while (argv[argc] != NULL)
        argc++;
    assert_non_null(fo);
    assert_non_null(fe);
    fflush(stdout);
    fflush(stderr);
    so = dup(STDOUT_FILENO);
    se = dup(STDERR_FILENO);
    dup2(fileno(fo), STDOUT_FILENO);
    dup2(fileno(fe), STDERR_FILENO);
    memset(&r->args, 0x5a, sizeof r->args);
    r->rc = ls_args_parse(argc, argv, daemon, &r->args);
    fflush(stdout);
    fflush(stderr);
    dup2(so, STDOUT_FILENO);
    dup2(se, STDERR_FILENO);
    close(so);
    close(se);
    slurp(fo, r->out, sizeof r->out);
    slurp(fe, r->err, sizeof r->err);
}

#define ARGV(...) ((char *[]){ __VA_ARGS__, NULL })

static void test_defaults(void **state)
{
    struct run r;

    (void)state;
    run_args(&r, "spd", ARGV("spd"));
    assert_int_equal(r.rc, LS_OK);
    assert_string_equal(r.args.config_path, "/etc/livecluster/spd.conf");
    assert_false(r.args.check_only);
    assert_string_equal(r.out, "");
    assert_string_equal(r.err, "");
    run_args(&r, "epd", ARGV("/usr/sbin/epd"));
    assert_string_equal(r.args.config_path, "/etc/livecluster/epd.conf");
}

static void test_good_command_lines(void **state)
{
    const struct {
        char **argv;
        const char *path;
        bool check;
    } cases[] = {
        { ARGV("smd", "-c", "/tmp/a.conf"), "/tmp/a.conf", false },
        { ARGV("smd", "-c/tmp/b.conf"), "/tmp/b.conf", false },
        { ARGV("smd", "-t"), "/etc/livecluster/smd.conf", true },
        { ARGV("smd", "-t", "-c", "x.conf"), "x.conf", true },
        { ARGV("smd", "-c", "x.conf", "-t"), "x.conf", true },
        { ARGV("smd", "-tc", "y.conf"), "y.conf", true },
        { ARGV("smd", "-tcz.conf"), "z.conf", true },
        { ARGV("smd", "-c", "-t"), "-t", false }, /* an option-argument may start with '-' */
        { ARGV("smd", "-c", "a", "-c", "b"), "b", false },
        { ARGV("smd", "-tt"), "/etc/livecluster/smd.conf", true },
        { ARGV("smd", "-t", "--"), "/etc/livecluster/smd.conf", true },
    };
    size_t i;

    (void)state;
    for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct run r;

        run_args(&r, "smd", cases[i].argv);
        if (r.rc != LS_OK)
            fail_msg("case %zu: rc %d, stderr %s", i, r.rc, r.err);
        assert_string_equal(r.args.config_path, cases[i].path);
        assert_int_equal(r.args.check_only, cases[i].check);
        assert_string_equal(r.out, "");
        assert_string_equal(r.err, "");
    }
}

static void test_version_and_help(void **state)
{
    char **const version[] = { ARGV("spd", "-V"), ARGV("spd", "--version"),
                                      ARGV("spd", "-tV"), ARGV("spd", "-V", "-x") };
    char **const help[] = { ARGV("spd", "-h"), ARGV("spd", "--help"),
                                   ARGV("spd", "-c", "f", "-h", "junk") };
    char want[64];
    size_t i;

    (void)state;
    snprintf(want, sizeof want, "spd livecluster %s\n", LS_VERSION);
    assert_string_equal(LS_VERSION, "0.1.0"); /* from the Makefile, not the fallback */
    for (i = 0; i < sizeof version / sizeof version[0]; i++) {
        struct run r;

        run_args(&r, "spd", version[i]);
        assert_int_equal(r.rc, LS_ARGS_EXIT);
        assert_int_equal(r.args.exit_status, 0);
        assert_string_equal(r.out, want);
        assert_string_equal(r.err, "");
    }
    for (i = 0; i < sizeof help / sizeof help[0]; i++) {
        struct run r;

        run_args(&r, "spd", help[i]);
        assert_int_equal(r.rc, LS_ARGS_EXIT);
        assert_int_equal(r.args.exit_status, 0);
        assert_non_null(strstr(r.out, "usage: spd [-t] [-c FILE] [-V] [-h]\n"));
        assert_non_null(strstr(r.out, "(default /etc/livecluster/spd.conf)"));
        assert_string_equal(r.err, "");
    }
}

static void test_bad_usage(void **state)
{
    const struct {
        char **argv;
        const char *first_line;
    } cases[] = {
        { ARGV("epd", "-x"), "epd: unknown option '-x'\n" },
        { ARGV("epd", "-tx"), "epd: unknown option '-x'\n" },
        { ARGV("epd", "-x", "-V"), "epd: unknown option '-x'\n" },
        { ARGV("epd", "--verbose"), "epd: unknown option '--verbose'\n" },
        { ARGV("epd", "-c"), "epd: option -c needs a file name\n" },
        { ARGV("epd", "-t", "-c"), "epd: option -c needs a file name\n" },
        { ARGV("epd", "-c", ""), "epd: option -c needs a file name\n" },
        { ARGV("epd", "config.conf"), "epd: unexpected argument 'config.conf'\n" },
        { ARGV("epd", "-"), "epd: unexpected argument '-'\n" },
        { ARGV("epd", "--", "-t"), "epd: unexpected argument '-t'\n" },
        { ARGV("epd", "-c", "a", "b"), "epd: unexpected argument 'b'\n" },
    };
    size_t i;

    (void)state;
    for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct run r;

        run_args(&r, "epd", cases[i].argv);
        assert_int_equal(r.rc, LS_ARGS_EXIT);
        assert_int_equal(r.args.exit_status, 2);
        assert_string_equal(r.out, "");
        if (strncmp(r.err, cases[i].first_line, strlen(cases[i].first_line)) != 0)
            fail_msg("case %zu: stderr \"%s\"", i, r.err);
        assert_non_null(strstr(r.err, "usage: epd [-t] [-c FILE] [-V] [-h]\n"));
    }
}

static void test_path_bound(void **state)
{
    static char path[LS_ARGS_PATH_MAX + 2];
    struct run r;

    (void)state;
    memset(path, 'p', LS_ARGS_PATH_MAX);
    path[LS_ARGS_PATH_MAX] = '\0';
    run_args(&r, "spd", ARGV("spd", "-c", path));
    assert_int_equal(r.rc, LS_OK);
    assert_int_equal(strlen(r.args.config_path), LS_ARGS_PATH_MAX);
    path[LS_ARGS_PATH_MAX] = 'p';
    path[LS_ARGS_PATH_MAX + 1] = '\0';
    run_args(&r, "spd", ARGV("spd", "-c", path));
    assert_int_equal(r.rc, LS_ARGS_EXIT);
    assert_int_equal(r.args.exit_status, 2);
    assert_non_null(strstr(r.err, "spd: config file name is too long\n"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_defaults),
        cmocka_unit_test(test_good_command_lines),
        cmocka_unit_test(test_version_and_help),
        cmocka_unit_test(test_bad_usage),
        cmocka_unit_test(test_path_bound),
    };
    return cmocka_run_group_tests_name("args", tests, NULL, NULL);
}
