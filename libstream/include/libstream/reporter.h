/*
 * reporter.h — the node side of cluster reports (docs/protocol.md "Reports"): what an spd
 * or epd tells each smd about its hub's streams, its counters and its health, as the
 * registry link's `report` messages (smdreport.h).
 *
 * Reports carry changes: each smd (a "peer" here) gets, per stream, the external viewers
 * and the bytes sent, only when they changed since what that smd last heard, and the
 * streams that went away. The first report after a (re)connect, or after the smd asked
 * for it (`resync`), is full: every stream. Bytes alone (viewers unchanged) are sent at
 * most every LS_REPORT_BYTES_EVERY reports per stream, so a quiet cluster sends little
 * more than the node line. A report longer than one message is split (`more`).
 *
 * How often reports go is the link's business (the smd names the interval; reglink.h).
 * No timers here: one call builds and sends one report.
 */
#ifndef LIBSTREAM_REPORTER_H
#define LIBSTREAM_REPORTER_H

#include <stddef.h>
#include <stdint.h>

#include "libstream/err.h"

struct ls_hub;
struct ls_reporter;
struct ls_report_peer;

/* A stream whose viewers did not change is re-sent for its bytes every this many reports. */
#define LS_REPORT_BYTES_EVERY 10u

struct ls_reporter_hooks {
    /* epd: the upstream it pulls from now, "host:port" into out[cap]; leave "" for none.
     * NULL: none (spd). */
    void (*upstream)(void *arg, char *out, size_t cap);
    void *arg;
};

/* A reporter over `hub` (borrowed for its lifetime). `hooks` is copied (NULL = none).
 * NULL on allocation failure. */
struct ls_reporter *ls_reporter_new(struct ls_hub *hub, const struct ls_reporter_hooks *hooks);
/* Frees the reporter; its peers must be freed before. NULL is ignored. */
void ls_reporter_free(struct ls_reporter *rep);

/* State for one smd; its first report is full. NULL on allocation failure. */
struct ls_report_peer *ls_report_peer_new(struct ls_reporter *rep);
void ls_report_peer_free(struct ls_report_peer *peer);
/* The next report to this peer is full (the smd asked: `resync`). */
void ls_report_peer_resync(struct ls_report_peer *peer);

/*
 * Builds the peer's next report and hands each message payload (a type-20 command on
 * message stream 0, smdreport.h) to `send`, borrowed for the call; `send` returns LS_OK or
 * an error, which stops the report. Returns LS_OK, that error, or LS_ENOMEM; after an
 * error the next report is full, so nothing is lost.
 */
LS_MUST_CHECK int ls_report_peer_send(struct ls_report_peer *peer,
                                      int (*send)(void *arg, const uint8_t *p, size_t len),
                                      void *arg);

#endif /* LIBSTREAM_REPORTER_H */
