/*
 * args.h — the command line every daemon shares (docs/interface.md "Command line").
 *
 *   smd|spd|epd [-t] [-c FILE] [-V] [-h]
 *     -c FILE  config file (default LS_SYSCONFDIR "/livecluster/<daemon>.conf")
 *     -t       check the config and exit (the daemon prints FILE:LINE: message, exits 1)
 *     -V       print "<daemon> livecluster <version>" on stdout, exit 0
 *     -h       print usage on stdout, exit 0
 *   Anything else (unknown option, missing -c argument, a stray operand): a one-line
 *   reason and the usage on stderr, exit status 2.
 *
 * Options may be bundled ("-tc FILE", "-cFILE"); "--" ends options; "--help" and
 * "--version" are accepted as synonyms. Options act in order, as getopt(3) does, so
 * "-V -x" prints the version. No global state (getopt's optind is not used).
 *
 * ls_args_parse() never exits: it tells main() to. Typical use:
 *
 *   struct ls_args args;
 *   if (ls_args_parse(argc, argv, "spd", &args) != LS_OK)
 *       return args.exit_status;
 */
#ifndef LIBSTREAM_ARGS_H
#define LIBSTREAM_ARGS_H

#include <stdbool.h>
#include <stdio.h>

#include "libstream/err.h"

/* Where the default config lives; `make install` puts example configs under it. */
#ifndef LS_SYSCONFDIR
#define LS_SYSCONFDIR "/etc"
#endif

/* Version printed by -V; the Makefile defines it from its VERSION. */
#ifndef LS_VERSION
#define LS_VERSION "unknown"
#endif

/* Longest config path accepted (bytes, without NUL). */
#define LS_ARGS_PATH_MAX 4095

/* Returned by ls_args_parse() when main() must exit now with args->exit_status. */
#define LS_ARGS_EXIT 1

struct ls_args {
    char config_path[LS_ARGS_PATH_MAX + 1]; /* -c FILE, or the default */
    bool check_only;                         /* -t */
    int exit_status;                         /* set when LS_ARGS_EXIT is returned */
};

/*
 * Parses argv (borrowed; not modified) for `daemon` ("smd", "spd", "epd"; borrowed).
 * Returns LS_OK: run with *out; or LS_ARGS_EXIT after printing: exit with
 * out->exit_status, 0 for -V/-h and 2 for bad usage (a -c path longer than
 * LS_ARGS_PATH_MAX is bad usage).
 */
LS_MUST_CHECK int ls_args_parse(int argc, char **argv, const char *daemon, struct ls_args *out);

/* Writes the usage text for `daemon` to `f`. */
void ls_args_usage(FILE *f, const char *daemon);

#endif /* LIBSTREAM_ARGS_H */
