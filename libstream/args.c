/*
 * args.c — command-line parsing for the daemons (see args.h). Layer: daemon plumbing.
 * Contract: docs/interface.md "Command line"; conventions of POSIX utility syntax (XBD 12.2):
 * single-letter options, bundling, an option-argument attached or separate, "--".
 *
 * Written by hand rather than with getopt(3): getopt keeps global state (optind, and
 * glibc's hidden reset rules) and prints its own messages, both awkward for a library
 * that tests call repeatedly.
 */
#include <stdio.h>
#include <string.h>

#include "libstream/args.h"

void ls_args_usage(FILE *f, const char *daemon)
{
    fprintf(f,
            "usage: %s [-t] [-c FILE] [-V] [-h]\n"
            "  -c FILE  configuration file (default %s/livecluster/%s.conf)\n"
            "  -t       check the configuration and exit: 0 when valid, else 1\n"
            "  -V       print the version and exit\n"
            "  -h       print this help and exit\n",
            daemon, LS_SYSCONFDIR, daemon);
}

static int bad_usage(const char *daemon, struct ls_args *out, const char *what, const char *arg)
{
    fprintf(stderr, "%s: %s%s%s%s\n", daemon, what, arg != NULL ? " '" : "",
            arg != NULL ? arg : "", arg != NULL ? "'" : "");
    ls_args_usage(stderr, daemon);
    fflush(stderr);
    out->exit_status = 2;
    return LS_ARGS_EXIT;
}

static int done(struct ls_args *out)
{
    fflush(stdout);
    out->exit_status = 0;
    return LS_ARGS_EXIT;
}

static int version(const char *daemon, struct ls_args *out)
{
    printf("%s livecluster %s\n", daemon, LS_VERSION);
    return done(out);
}

static int help(const char *daemon, struct ls_args *out)
{
    ls_args_usage(stdout, daemon);
    return done(out);
}

int ls_args_parse(int argc, char **argv, const char *daemon, struct ls_args *out)
{
    int i;

    memset(out, 0, sizeof *out);
    snprintf(out->config_path, sizeof out->config_path, "%s/livecluster/%s.conf", LS_SYSCONFDIR,
             daemon);
    for (i = 1; i < argc && argv[i] != NULL; i++) {
        const char *a = argv[i];
        const char *p;

        if (strcmp(a, "--") == 0) {
            if (i + 1 < argc && argv[i + 1] != NULL)
                return bad_usage(daemon, out, "unexpected argument", argv[i + 1]);
            break;
        }
        if (strcmp(a, "--help") == 0)
            return help(daemon, out);
        if (strcmp(a, "--version") == 0)
            return version(daemon, out);
        if (a[0] != '-' || a[1] == '\0' || a[1] == '-')
            return bad_usage(daemon, out, a[0] == '-' && a[1] == '-' ? "unknown option"
                                                                    : "unexpected argument", a);
        for (p = a + 1; *p != '\0'; p++) {
            const char *file;
            char opt[3] = { '-', *p, '\0' };

            switch (*p) {
            case 't':
                out->check_only = true;
                continue;
            case 'V':
                return version(daemon, out);
            case 'h':
                return help(daemon, out);
            case 'c':
                if (p[1] != '\0') {
                    file = p + 1;
                } else if (i + 1 < argc && argv[i + 1] != NULL) {
                    file = argv[++i];
                } else {
                    return bad_usage(daemon, out, "option -c needs a file name", NULL);
                }
                if (file[0] == '\0')
                    return bad_usage(daemon, out, "option -c needs a file name", NULL);
                if (strlen(file) > LS_ARGS_PATH_MAX)
                    return bad_usage(daemon, out, "config file name is too long", NULL);
                strcpy(out->config_path, file);
                goto next_arg; /* the rest of this argument was the file name */
            default:
                return bad_usage(daemon, out, "unknown option", opt);
            }
        }
next_arg:;
    }
    return LS_OK;
}
