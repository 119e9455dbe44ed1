/*
 * journal.c — journald's native protocol through libsystemd (see journal.h). Layer: process
 * plumbing, below log.c; no libevent, no logging of its own (a failure is the caller's to
 * report, on stderr).
 *
 * sd_journal_sendv(3) takes one iovec per field, "KEY=value" with no terminator, and
 * writes them as one datagram to /run/systemd/journal/socket (or, when too large, through
 * a memfd). The fields are assembled in one stack buffer:
 *
 *   buf: MESSAGE=…|PRIORITY=5|SYSLOG_IDENTIFIER=spd|STREAM_ID=live/x|PEER=…|…
 *        ^iov[0]   ^iov[1]    ^iov[2]              ^iov[3]          ^iov[4]
 *
 * libsystemd's socket is blocking, as the stderr stream to journald is: a journald that
 * stops reading stalls the daemon either way, and drops nothing in between.
 *
 * JOURNAL_STREAM is how systemd tells a service that its stdout/stderr is a journald
 * stream (systemd.exec(5), "Environment variables in spawned processes"): "DEV:INO" of
 * that stream, compared with fstat() of the fd, as sd-daemon(3) recommends before
 * upgrading to the native protocol.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* Without this, sd-journal.h makes sd_journal_sendv a macro adding CODE_FILE=journal.c and
 * its line to every entry: the same value everywhere, which tells an operator nothing. */
#define SD_JOURNAL_SUPPRESS_LOCATION
#include <systemd/sd-journal.h>

#include "libstream/journal.h"

static struct {
    int (*send)(const struct iovec *iov, int n, void *arg);
    void *arg;
} g_journal;

void ls_journal_set_sender(int (*send)(const struct iovec *iov, int n, void *arg), void *arg)
{
    g_journal.send = send;
    g_journal.arg = send != NULL ? arg : NULL;
}

/* Appends "KEY=value" (`vlen` bytes of value) as the next field; false when it does not fit. */
static bool journal_field(char *buf, size_t *used, struct iovec *iov, int *n, const char *key,
                          const char *value, size_t vlen)
{
    size_t klen = strlen(key);

    if (klen + 1 + vlen > LS_JOURNAL_ENTRY_MAX - *used)
        return false;
    iov[*n].iov_base = buf + *used;
    iov[*n].iov_len = klen + 1 + vlen;
    memcpy(buf + *used, key, klen);
    buf[*used + klen] = '=';
    memcpy(buf + *used + klen + 1, value, vlen);
    *used += klen + 1 + vlen;
    (*n)++;
    return true;
}

/* The address part of "ip:port", "[ip6]:port" (brackets dropped), or all of anything else. */
static void journal_peer_addr(const char *peer, const char **addr, size_t *len)
{
    const char *colon = strrchr(peer, ':');
    const char *close = strchr(peer, ']');

    *addr = peer;
    *len = strlen(peer);
    if (peer[0] == '[' && close != NULL && close[1] == ':') {
        *addr = peer + 1;
        *len = (size_t)(close - peer - 1);
    } else if (colon != NULL && colon == strchr(peer, ':')) {
        *len = (size_t)(colon - peer); /* one colon: host:port (a bare IPv6 has several) */
    }
}

int ls_journal_send(const struct ls_journal_entry *e)
{
    char buf[LS_JOURNAL_ENTRY_MAX];
    char prio[4];
    struct iovec iov[LS_JOURNAL_FIELDS_MAX];
    const char *addr;
    size_t used = 0, alen;
    int n = 0, rc, saved_errno = errno;
    bool ok;

    snprintf(prio, sizeof prio, "%d", e->priority < 0 || e->priority > 7 ? 7 : e->priority);
    ok = journal_field(buf, &used, iov, &n, "MESSAGE", e->message != NULL ? e->message : "",
                       e->message != NULL ? strlen(e->message) : 0) &&
         journal_field(buf, &used, iov, &n, "PRIORITY", prio, strlen(prio));
    if (ok && e->ident != NULL && e->ident[0] != '\0')
        ok = journal_field(buf, &used, iov, &n, "SYSLOG_IDENTIFIER", e->ident, strlen(e->ident));
    if (ok && e->stream_id != NULL && e->stream_id[0] != '\0')
        ok = journal_field(buf, &used, iov, &n, "STREAM_ID", e->stream_id, strlen(e->stream_id));
    if (ok && e->peer != NULL && e->peer[0] != '\0') {
        journal_peer_addr(e->peer, &addr, &alen);
        ok = journal_field(buf, &used, iov, &n, "PEER", e->peer, strlen(e->peer)) &&
             (alen == 0 || journal_field(buf, &used, iov, &n, "PEER_ADDR", addr, alen));
    }
    if (ok && e->node_id != NULL && e->node_id[0] != '\0')
        ok = journal_field(buf, &used, iov, &n, "NODE_ID", e->node_id, strlen(e->node_id));
    if (!ok) {
        errno = saved_errno;
        return LS_EINVAL;
    }
    if (g_journal.send != NULL)
        rc = g_journal.send(iov, n, g_journal.arg);
    else
        rc = sd_journal_sendv(iov, n);
    errno = saved_errno;
    return rc >= 0 ? LS_OK : LS_EIO;
}

/* A decimal without sign or spaces that fits uintmax_t, ending at `*end`. */
static bool journal_parse_num(const char *s, uintmax_t *v, const char **end)
{
    uintmax_t x = 0;

    if (*s < '0' || *s > '9')
        return false;
    for (; *s >= '0' && *s <= '9'; s++) {
        unsigned d = (unsigned)(*s - '0');

        if (x > (UINTMAX_MAX - d) / 10)
            return false;
        x = x * 10 + d;
    }
    *v = x;
    *end = s;
    return true;
}

bool ls_journal_stream_is(const char *journal_stream, int fd)
{
    uintmax_t dev, ino;
    const char *p;
    struct stat st;

    if (journal_stream == NULL || !journal_parse_num(journal_stream, &dev, &p) || *p != ':' ||
        !journal_parse_num(p + 1, &ino, &p) || *p != '\0')
        return false;
    if (fstat(fd, &st) == -1)
        return false;
    return (uintmax_t)st.st_dev == dev && (uintmax_t)st.st_ino == ino;
}
