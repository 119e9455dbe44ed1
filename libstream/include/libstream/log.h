/*
 * log.h — one-line-per-call logging to stderr, journald-aware.
 *
 * The daemons run in the foreground under systemd; stderr is their log. Two line forms:
 *
 *   journal mode (JOURNAL_STREAM set at ls_log_init):  "<6>spd: message"
 *   plain mode (otherwise):    "2026-11-24T03:04:05.123Z spd info: message"
 *
 * The `<N>` prefix is the syslog priority, which journald strips and keeps as the entry's
 * level (it adds its own timestamp). Each line is written with a single write(2) of at most
 * LS_LOG_LINE_MAX bytes (< PIPE_BUF), so lines from one process never interleave, and
 * longer messages are cut and end in "...". Control characters and bytes that are not
 * valid UTF-8 inside the message are escaped (\n, \r, \t, \xHH), so a peer-controlled string
 * (a stream name, a URL) can never start a forged log line.
 *
 * Structured fields. A line may name the stream and the peer it is about (struct
 * ls_log_ctx: ls_log_ctx(), ls_log_peer_ctx(), ls_log_limited_ctx()). On stderr they add
 * nothing: the line is byte for byte what ls_log() writes. When stderr really is a journald
 * stream (JOURNAL_STREAM names the file on fd 2, as systemd sets it), lines go to journald's
 * native socket instead (journal.h), as entries with the fields STREAM_ID=, PEER=,
 * PEER_ADDR= and NODE_ID= (ls_log_set_node_id), so that `journalctl -u spd STREAM_ID=live/x`
 * follows one stream. The environment variable LIVECLUSTER_JOURNAL overrides the choice at
 * ls_log_init: "native" sends entries to journald whatever stderr is, "off" never does. A
 * line journald does not take (it is down, the socket is missing) goes to stderr as usual.
 *
 * State is process-global and not thread-safe: the daemons are single-threaded (one event
 * loop per process). Nothing here allocates, exits, or fails.
 */
#ifndef LIBSTREAM_LOG_H
#define LIBSTREAM_LOG_H

#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>

#include "libstream/err.h"

/* Syslog severities; the numbers are the journald priority prefixes. */
enum ls_log_level {
    LS_LOG_ERR = 3,
    LS_LOG_WARNING = 4,
    LS_LOG_NOTICE = 5,
    LS_LOG_INFO = 6,
    LS_LOG_DEBUG = 7,
};

/* Longest line written, newline included. Longer lines end in "...". */
#define LS_LOG_LINE_MAX 2048
/* Longest ident kept (longer idents are cut). */
#define LS_LOG_IDENT_MAX 31
/* Longest value of a structured field (STREAM_ID, PEER, NODE_ID) after escaping; longer
 * values are cut and end in "..." (a stream id is at most 257 bytes). */
#define LS_LOG_FIELD_MAX 320

/*
 * What a line is about, for the structured fields (journald only; see above). Every member
 * may be NULL or "" (no such field); strings are borrowed for the call and escaped like the
 * message. Call sites pass a compound literal, e.g. through LS_LOG_CTX:
 *
 *   ls_log_peer_ctx(LS_LOG_CTX(ref->id, peer), LS_LOG_INFO, "%s: play %s started", ...);
 */
struct ls_log_ctx {
    const char *stream_id;   /* "app/name" the line is about */
    const char *peer;        /* the remote end it is about: "ip:port" or "[ip6]:port" */
};
#define LS_LOG_CTX(stream_id_, peer_) \
    (&(const struct ls_log_ctx){ .stream_id = (stream_id_), .peer = (peer_) })

/*
 * Sets the ident (copied; e.g. "spd") and reads JOURNAL_STREAM and LIVECLUSTER_JOURNAL from
 * the environment, once: a non-empty JOURNAL_STREAM selects journal mode; entries go to
 * journald natively as described above. May be called again (tests do) to re-read them.
 * Before the first call the ident is "livecluster", the mode plain, the level LS_LOG_INFO,
 * no native entries.
 */
void ls_log_init(const char *ident);
/* Replaces the ident (copied, cut at LS_LOG_IDENT_MAX bytes). NULL means "livecluster". */
void ls_log_set_ident(const char *ident);
/* The NODE_ID field of every entry from now on (copied, escaped, cut at LS_LOG_FIELD_MAX);
 * NULL or "" for none (the default). Lines on stderr do not show it. */
void ls_log_set_node_id(const char *node_id);
/* True when lines go to journald as entries with fields (ls_log_init decided so). */
bool ls_log_native(void);
/* Lines with a level above `level` (less severe) are dropped. Clamped to ERR..DEBUG. */
void ls_log_set_level(int level);
int ls_log_get_level(void);
/* True when a line at `level` would be written: use it to skip expensive formatting. */
bool ls_log_enabled(int level);

/*
 * Parses "debug" | "info" | "notice" | "warning" | "error" (exact, lower case) into
 * *level. Returns LS_OK, or LS_EINVAL (and leaves *level alone) for anything else.
 */
LS_MUST_CHECK int ls_log_parse_level(const char *text, int *level);
/* Static lower-case name of a level ("info"); out-of-range levels are clamped. */
const char *ls_log_level_name(int level);

/*
 * Formats and emits one line at `level` (clamped to ERR..DEBUG) when enabled.
 * `fmt` is trusted (a literal); the arguments it formats are escaped as described above.
 */
void ls_log(int level, const char *fmt, ...) LS_PRINTF(2, 3);
void ls_vlog(int level, const char *fmt, va_list ap) LS_PRINTF(2, 0);
/* ls_log() with the fields of `ctx` (NULL = none). */
void ls_log_ctx(int level, const struct ls_log_ctx *ctx, const char *fmt, ...) LS_PRINTF(3, 4);
void ls_vlog_ctx(int level, const struct ls_log_ctx *ctx, const char *fmt, va_list ap)
    LS_PRINTF(3, 0);

/*
 * A line caused by a peer (`peer` is its "ip:port" or "[ip6]:port" text, as connections
 * format it), rate-limited per peer address (the port is ignored): a token bucket per
 * address lets `burst` lines through at once and `lines_per_s` lines a second after that.
 * What it drops is counted and reported by one line "ADDR: N lines from this address
 * suppressed (log_rate_limit)" before the next line it lets through for that address, so
 * one flooding client cannot turn its requests into a log storm. The buckets live in a
 * small fixed table (an address evicted by another starts over, after its count is
 * reported). Without a limit set, or with `peer` NULL, this is ls_log.
 */
void ls_log_peer(const char *peer, int level, const char *fmt, ...) LS_PRINTF(3, 4);
/* ls_log_peer() limited by ctx->peer, with the fields of `ctx` (NULL = ls_log). */
void ls_log_peer_ctx(const struct ls_log_ctx *ctx, int level, const char *fmt, ...)
    LS_PRINTF(3, 4);
/* Sets the per-address limit of ls_log_peer and forgets every bucket; 0 lines_per_s = no
 * limit (the default). `burst` below 1 counts as 1. */
void ls_log_set_peer_limit(unsigned lines_per_s, unsigned burst);

/*
 * Redirects lines to `sink` instead of stderr (tests, or a daemon that wants its own
 * output). The sink receives the finished line — prefix included, no trailing newline,
 * NUL-terminated, at most LS_LOG_LINE_MAX - 1 bytes — borrowed for the call only, and
 * `arg` unchanged; with a sink set nothing goes to journald either. NULL restores stderr.
 */
void ls_log_set_sink(void (*sink)(int level, const char *line, void *arg), void *arg);

/*
 * Rate-limited lines, for events a client can cause at will (a refusal at a bound): at
 * most one line per `interval_ms` per limiter (zero-initialised, usually static); the
 * first line after a quiet spell says how many were left out meanwhile. Returns true when
 * the line was written.
 */
struct ls_log_limit {
    uint64_t next_ms;        /* no line before this (monotonic ms) */
    unsigned suppressed;     /* lines left out since the last one written */
};
bool ls_log_limited(struct ls_log_limit *lim, unsigned interval_ms, int level, const char *fmt,
                    ...) LS_PRINTF(4, 5);
/* ls_log_limited() with the fields of `ctx` (those of the line written). */
bool ls_log_limited_ctx(struct ls_log_limit *lim, unsigned interval_ms, int level,
                        const struct ls_log_ctx *ctx, const char *fmt, ...) LS_PRINTF(5, 6);

#endif /* LIBSTREAM_LOG_H */
