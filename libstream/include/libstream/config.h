/*
 * config.h — the schema-driven libconfig loader. Address, network and URL values are
 * validated with addr.h's grammar.
 *
 * Each daemon declares a plain config struct and a table of struct ls_conf_key describing
 * every key (name, type, offsetof, default, range, help). ls_config_load() fills the
 * struct from the defaults, then from the file, and validates every key: an unknown key, a
 * wrong type, an out-of-range integer or a bad address is an error. Errors are one line,
 * "FILE:LINE: message", the form `-t` prints (docs/interface.md "Command line"):
 *
 *   spd.conf:7: syntax error                         (libconfig's own parse errors)
 *   spd.conf:12: unknown key 'publish.secrett'
 *   spd.conf:3: 'max_connections' must be an integer
 *   spd.conf:3: 'max_connections' must be between 1 and 1000000
 *   spd.conf:5: 'listen': bad address "1.2.3:1935": bad IPv4 address
 *   spd.conf:0: cannot open: No such file or directory   (line 0 = the file as a whole)
 *   epd.conf:0: missing required key 'upstream'      (line of the enclosing group; root = 0)
 *   epd.conf:4: 'upstream' must name at least one address
 *   epd.conf:4: 'upstream': "10.0.0.1:1935" is listed twice
 *   spd.conf:9: 'tls.key': the key in "k.pem" does not match ...   (a key's check hook)
 *
 * Reload is "load into a fresh struct, swap on success": the loader never touches a live
 * config. Field types by key type (the struct member at `offset` must have this type):
 *
 *   LS_CONF_STRING        char *                 owned, never NULL after loading ("" default)
 *   LS_CONF_URL           char *                 owned; "" or "http://host[:port][/path]"
 *                                                (ls_addr_url_check)
 *   LS_CONF_INT           int64_t                range-checked against [min, max]
 *   LS_CONF_BOOL          bool                   libconfig true/false only (not 0/1)
 *   LS_CONF_LOG_LEVEL     int                    enum ls_log_level, from "debug".."error"
 *   LS_CONF_LISTEN_ADDR   struct ls_addr         numeric host or "*"; "" = unset (port 0)
 *   LS_CONF_PEER_ADDR     struct ls_addr         numeric host or DNS name; "" = unset
 *   LS_CONF_ADDR_LIST     struct ls_addr_list    list/array of peer "host:port" strings
 *                                                (LS_CONF_PREFERENCE: or one such string)
 *   LS_CONF_CIDR_LIST     struct ls_cidr_list    list/array of "net/prefix" or bare addresses
 *   LS_CONF_GROUP         a nested struct        `children` offsets are relative to it
 *   LS_CONF_GROUP_LIST    struct ls_conf_list    a list of groups `( { ... }, { ... } )`:
 *                                                each is an element of `elem_size` bytes
 *                                                loaded with `children` (defaults first),
 *                                                then checked by `check` (duplicates, a
 *                                                URL's form); empty by default
 *
 * Not thread-safe only in the sense that the caller owns `out`; no global state is used.
 */
#ifndef LIBSTREAM_CONFIG_H
#define LIBSTREAM_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "libstream/addr.h"
#include "libstream/err.h"

/* ---- schema and loader ---------------------------------------------------------------- */

enum ls_conf_type {
    LS_CONF_STRING = 1,
    LS_CONF_INT,
    LS_CONF_BOOL,
    LS_CONF_LISTEN_ADDR,
    LS_CONF_PEER_ADDR,
    LS_CONF_ADDR_LIST,
    LS_CONF_CIDR_LIST,
    LS_CONF_LOG_LEVEL,
    LS_CONF_GROUP,
    LS_CONF_URL,
    LS_CONF_GROUP_LIST,
};

/* The value of an LS_CONF_GROUP_LIST key: `n` elements of the key's elem_size bytes, each
 * a struct its `children` describe (owned: ls_config_free frees them and `v`). */
struct ls_conf_list {
    void *v;
    size_t n;
};

/* Key flags. */
#define LS_CONF_REQUIRED 0x1u         /* the key must appear in the file */
#define LS_CONF_DEFAULT_HOSTNAME 0x2u /* STRING: the default is gethostname() ("node_id") */
#define LS_CONF_NUMERIC 0x4u          /* ADDR_LIST: every host is a numeric IP address */
#define LS_CONF_PREFERENCE 0x8u       /* ADDR_LIST in order of preference: one "host:port"
                                       * string stands for a list of one; at least one
                                       * entry; none twice (epd's upstream) */
#define LS_CONF_DIRECTORY 0x10u       /* STRING: a non-empty value names an existing directory
                                       * (checked when the file is loaded: -t, start, reload) */

/* Bounds the loader enforces on file content. */
#define LS_CONF_STRING_MAX 4096 /* bytes in a STRING/URL value */
#define LS_CONF_LIST_MAX 256    /* entries in an ADDR_LIST/CIDR_LIST/GROUP_LIST */
#define LS_CONF_DEPTH_MAX 8     /* GROUP nesting in a schema */

/*
 * One key of a schema. A schema is an array ended by an entry with name == NULL.
 * Names are libconfig setting names ([A-Za-z*][-A-Za-z0-9_*]*).
 */
struct ls_conf_key {
    const char *name;
    enum ls_conf_type type;
    size_t offset;        /* offsetof() the field in the (group's) struct */
    const char *def;      /* default text for STRING, URL, *_ADDR, LOG_LEVEL; NULL = ""
                           * (LOG_LEVEL: NULL = "info"); CIDR_LIST: networks separated by
                           * spaces (NULL = empty); ADDR_LIST always defaults to empty.
                           * A list in the file replaces the default list whole. */
    int64_t def_int;      /* default for INT, and BOOL (0/1) */
    int64_t min, max;     /* INT: inclusive range; min == max == 0 means any int64 */
    const struct ls_conf_key *children; /* GROUP: its keys */
    unsigned flags;       /* LS_CONF_REQUIRED, LS_CONF_DEFAULT_HOSTNAME */
    const char *help;     /* one line for documentation and `-h`-style listings */
    size_t elem_size;     /* GROUP_LIST: bytes of one element */
    /*
     * GROUP_LIST: validates element `i` once it is loaded, against itself and the elements
     * before it (elems[0..i]), e.g. for duplicates. LS_OK, or LS_ECONF with a message in
     * why[whylen] (no "FILE:LINE:" prefix) and, in *key, the child key it is about (its
     * line is reported; NULL = the element's line). NULL = no check.
     */
    int (*elem_check)(const void *elems, size_t i, const char **key, char *why, size_t whylen);
    /*
     * Optional: what the key's type cannot say (a file that must load, a key that needs
     * another). Runs once the key's group is loaded whole, for a key the file sets, in
     * file order; `group` is that group's struct (the whole config for a top-level key),
     * so it may look at the key's siblings. LS_OK, or LS_ECONF with one line in `why`,
     * reported as "FILE:LINE: 'key': why" at the key's line.
     */
    int (*check)(const void *group, char *why, size_t whylen);
};

/* A schema entry for an integer field of `conf_struct` with a default and an inclusive range. */
#define LS_CONF_INT_KEY(conf_struct, key, field, dflt, lo, hi, text) \
    { .name = (key), .type = LS_CONF_INT, .offset = offsetof(conf_struct, field), .def_int = (dflt), \
      .min = (lo), .max = (hi), .help = (text) }

/* Every daemon's per-peer log limit (log.h ls_log_peer): fields log_rate_limit and
 * log_rate_burst of `conf_struct`. */
#define LS_CONF_LOG_RATE_KEYS(conf_struct) \
    LS_CONF_INT_KEY(conf_struct, "log_rate_limit", log_rate_limit, 50, 0, 1000000, \
                    "log lines a second caused by one peer address; 0 = no limit"), \
    LS_CONF_INT_KEY(conf_struct, "log_rate_burst", log_rate_burst, 1000, 1, 1000000, \
                    "log lines one peer address may cause at once")

/*
 * Sets every field the schema names to its default. Strings are strdup'd (owned by *out);
 * fields not in the schema are left alone. Returns LS_OK, LS_ENOMEM, or LS_ECONF when a
 * default does not validate (a schema bug). On failure the already-set fields are freed
 * and zeroed, so ls_config_free() stays safe.
 */
LS_MUST_CHECK int ls_config_defaults(const struct ls_conf_key *schema, void *out);

/*
 * Loads the libconfig file at `path` into *out: defaults first, then each setting of the
 * file, validated against the schema (see the top of this file for messages).
 * Returns LS_OK (the caller then owns *out's strings and lists: ls_config_free), or LS_ECONF
 * with the one-line "FILE:LINE: message" (no newline) in err[errlen] (truncated to fit;
 * err may be NULL when errlen is 0) and *out released and zeroed, or LS_ENOMEM. FILE is
 * `path` as given (or the included file for settings from an @include). Values quoted in
 * messages are cut to 64 bytes with control characters escaped, so the message stays one
 * line whatever the file holds. The first error in file order is reported.
 * Files are read whole (at most 1 MiB, no NUL bytes). libconfig 1.5 keeps integer
 * literals without an 'L' suffix in 32 bits; rather than load a wrapped value, such a
 * literal beyond 32 bits is an error suggesting the 'L' form (not checked inside files
 * pulled in with @include, whose paths libconfig resolves from the working directory).
 */
LS_MUST_CHECK int ls_config_load(const char *path, const struct ls_conf_key *schema,
                                 void *out, char *err, size_t errlen);
/*
 * As ls_config_load(), from the NUL-terminated libconfig text `text`; `name` stands for
 * FILE in messages. (@include directives still read files, relative to the current
 * directory.)
 */
LS_MUST_CHECK int ls_config_load_string(const char *text, const char *name,
                                        const struct ls_conf_key *schema, void *out,
                                        char *err, size_t errlen);
/* `s` fit for a one-line message, as the loader quotes file values: '"', '\\' and control
 * bytes escaped (\xNN), cut at 64 characters ("..."). `cap` of 300 always suffices. */
const char *ls_config_quote(const char *s, char *out, size_t cap);
/* Frees what the loader allocated in *conf and zeroes those fields. Safe to repeat. */
void ls_config_free(const struct ls_conf_key *schema, void *conf);

#endif /* LIBSTREAM_CONFIG_H */
