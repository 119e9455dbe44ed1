/*
 * journal.h — structured log entries for journald, through libsystemd's sd_journal_sendv(3).
 *
 * Under systemd a daemon's stderr is a stream that journald reads: each line becomes an
 * entry, but only with the fields journald adds itself. Sent over journald's native socket
 * instead, an entry carries fields of its own, which journalctl matches exactly:
 *
 *   journalctl -u spd STREAM_ID=live/x        everything about one broadcaster's stream
 *   journalctl -u spd PEER_ADDR=203.0.113.7   everything one client caused
 *
 * An entry's fields, in this order; a field whose value is NULL or "" is left out:
 *
 *   MESSAGE=10.0.0.7:50512: publish live/x started
 *   PRIORITY=5
 *   SYSLOG_IDENTIFIER=spd
 *   STREAM_ID=live/x                 the stream the line is about
 *   PEER=10.0.0.7:50512              the remote end of the connection it is about
 *   PEER_ADDR=10.0.0.7               PEER without its port (all of one client's connections)
 *   NODE_ID=spd-a                    node_id of the daemon that wrote it
 *
 * Values are sent as given: the caller (log.c) has escaped and bounded them, so none holds
 * a newline and each field fits the native protocol's simple "KEY=value" form.
 * State (the test hook) is process-global; single-threaded use only.
 */
#ifndef LIBSTREAM_JOURNAL_H
#define LIBSTREAM_JOURNAL_H

#include <stdbool.h>
#include <sys/uio.h>

#include "libstream/err.h"

/* Most fields an entry has (MESSAGE .. NODE_ID above). */
#define LS_JOURNAL_FIELDS_MAX 7
/* Bytes all fields of one entry may take together ("KEY=" included). */
#define LS_JOURNAL_ENTRY_MAX 8192

struct ls_journal_entry {
    int priority;             /* syslog severity 0..7 */
    const char *ident;        /* SYSLOG_IDENTIFIER */
    const char *message;      /* MESSAGE */
    const char *stream_id;    /* STREAM_ID */
    const char *peer;         /* PEER; PEER_ADDR is derived from it */
    const char *node_id;      /* NODE_ID */
};

/*
 * Sends one entry to journald (all strings borrowed for the call). Returns LS_OK, LS_EIO
 * when journald did not take it (no socket at /run/systemd/journal/socket, or the send
 * failed), or LS_EINVAL when the fields do not fit LS_JOURNAL_ENTRY_MAX bytes. errno is
 * left as it was.
 */
LS_MUST_CHECK int ls_journal_send(const struct ls_journal_entry *e);

/*
 * True when `journal_stream` (the JOURNAL_STREAM variable systemd sets: "DEVICE:INODE" of
 * the stream it connected to the service's stdout/stderr, both decimal) names the file open
 * on `fd`: then that fd really goes to journald, and not to a file or a pipe the service
 * started with JOURNAL_STREAM inherited from its parent. False for NULL, malformed values
 * and a closed fd.
 */
bool ls_journal_stream_is(const char *journal_stream, int fd);

/*
 * For tests: entries go to `send` instead of journald; NULL restores sd_journal_sendv.
 * `send` receives `n` iovecs, each one "KEY=value" field (no NUL, no newline), borrowed for
 * the call, and `arg` unchanged; it returns 0 when the entry was taken, a negative errno
 * otherwise (as sd_journal_sendv does).
 */
void ls_journal_set_sender(int (*send)(const struct iovec *iov, int n, void *arg), void *arg);

#endif /* LIBSTREAM_JOURNAL_H */
