/*
 * smdreport.h — the cluster report of the registry protocol, version 3 (docs/protocol.md
 * "Reports"): what an spd or epd tells every smd about its viewers, counters and health.
 *
 * A report travels as one or more `report` notifications (type 20, message stream 0, the
 * same AMF0 command shape as every registry message, smdproto.h):
 *
 *   "report"  0  null  { full: bool (optional), more: bool (optional), body: string }
 *
 * `full` marks the first message of a full resync (the receiver forgets what the node
 * said before); `more` says the report continues in the next message. The body is text,
 * one line per item, each ending in "\n":
 *
 *   n key=value key=value ...      the node: health and counters (nodereport.h)
 *   s APP/NAME VIEWERS BYTES_OUT   a stream's values now (absolute, not differences)
 *   x APP/NAME                     a stream the node no longer has
 *
 * Numbers are decimal integers 0..2^53-1; keys are 1..LS_SMD_REPORT_KEY_MAX characters of
 * [a-z0-9_]; a value is 1..LS_SMD_REPORT_VALUE_MAX printable ASCII characters other than
 * '=' (no spaces). A line of another kind is skipped (later versions may add kinds); a
 * malformed line of a known kind is a protocol error. Text keeps the cost per stream
 * small for the receiver: no AMF value per stream, one pass over the bytes.
 *
 * Pure: bytes in, values or bytes out (builders append to struct ls_buf, sticky errors).
 */
#ifndef LIBSTREAM_SMDREPORT_H
#define LIBSTREAM_SMDREPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "libstream/buf.h"
#include "libstream/command.h"
#include "libstream/err.h"
#include "libstream/streamid.h"

/* Largest report message payload (the receiver's chunk reader bound for the link). */
#define LS_SMD_REPORT_MAX 32768u
/* Largest body: the payload less the envelope ("report", 0, null, the three keys). */
#define LS_SMD_REPORT_BODY_MAX (LS_SMD_REPORT_MAX - 128u)
/* Longest line (a stream line with the longest id is about 300 bytes). */
#define LS_SMD_REPORT_LINE_MAX 4096u
#define LS_SMD_REPORT_KEY_MAX 32u
#define LS_SMD_REPORT_VALUE_MAX 300u
#define LS_SMD_REPORT_NAME "report"

/* A decoded envelope. `body` lives in `_cmd` (ls_smd_report_clear frees it). */
struct ls_smd_report {
    bool full;
    bool more;
    const char *body;    /* NUL-terminated, no NUL inside */
    size_t body_len;
    struct ls_command _cmd; /* private: the decoded command holding the body */
};

/* True when the payload of a type-20 message is a `report` (only its name is looked at). */
bool ls_smd_report_is(const uint8_t *p, size_t len);

/*
 * Decodes a report message payload into *out (need not be initialised). Returns `len`,
 * or LS_EPROTO (not the shape above, a txid other than 0, a body that is not a string,
 * or holds a NUL), LS_ELIMIT (over LS_SMD_REPORT_MAX), LS_ENOMEM. On success the caller
 * clears *out; on error it is cleared already and *why names the reason. The body's
 * lines are not checked here (ls_smd_report_next does, one at a time).
 */
LS_MUST_CHECK ssize_t ls_smd_report_decode(const uint8_t *p, size_t len,
                                           struct ls_smd_report *out, const char **why);
void ls_smd_report_clear(struct ls_smd_report *r);

/* Appends the message payload for a body of `len` bytes (LS_EINVAL over
 * LS_SMD_REPORT_BODY_MAX, or when the body holds a NUL; else the buffer's status). */
LS_MUST_CHECK int ls_smd_report_encode(struct ls_buf *b, bool full, bool more,
                                       const char *body, size_t len);

/* ---- body: building ---- */

/* "s ID VIEWERS BYTES_OUT\n" and "x ID\n". The id is the caller's valid APP/NAME. */
void ls_smd_report_put_stream(struct ls_buf *b, const char *id, uint64_t viewers,
                              uint64_t bytes_out);
void ls_smd_report_put_gone(struct ls_buf *b, const char *id);
/* The node line: begin, any number of pairs, end. Keys and values are the caller's valid
 * ones (see above); a value that is not valid is written as "-". */
void ls_smd_report_node_begin(struct ls_buf *b);
void ls_smd_report_node_num(struct ls_buf *b, const char *key, uint64_t v);
void ls_smd_report_node_str(struct ls_buf *b, const char *key, const char *v);
void ls_smd_report_node_end(struct ls_buf *b);

/* ---- body: reading ---- */

enum ls_smd_line_kind { LS_SMD_LINE_NODE, LS_SMD_LINE_STREAM, LS_SMD_LINE_GONE };

struct ls_smd_report_line {
    enum ls_smd_line_kind kind;
    char id[LS_STREAM_ID_MAX + 1];   /* STREAM, GONE: a valid APP/NAME */
    uint64_t viewers, bytes_out;     /* STREAM */
    const char *pairs;               /* NODE: " key=value ..." (borrowed from the body) */
    size_t pairs_len;
};

struct ls_smd_report_iter {
    const char *p, *end;
};

void ls_smd_report_iter_init(struct ls_smd_report_iter *it, const char *body, size_t len);
/*
 * The next line of a known kind: 1 with *line filled, 0 at the end of the body, or
 * LS_EPROTO for a malformed line (a line without "\n", longer than LS_SMD_REPORT_LINE_MAX,
 * a bad id or number), with *why.
 */
LS_MUST_CHECK int ls_smd_report_next(struct ls_smd_report_iter *it,
                                     struct ls_smd_report_line *line, const char **why);

struct ls_smd_report_pair {
    char key[LS_SMD_REPORT_KEY_MAX + 1];
    char value[LS_SMD_REPORT_VALUE_MAX + 1];
    bool is_num;                     /* value is a number 0..2^53-1 */
    uint64_t num;
};

/*
 * The next pair of a node line's `pairs` (advances *p): 1 with *out filled, 0 at the end,
 * LS_EPROTO for a malformed pair (with *why).
 */
LS_MUST_CHECK int ls_smd_report_next_pair(const char **p, const char *end,
                                          struct ls_smd_report_pair *out, const char **why);

#endif /* LIBSTREAM_SMDREPORT_H */
