/*
 * nodereport.h — the node line of a cluster report (smdreport.h): an spd's or epd's
 * health and its counters, as the node sends them and smd reads them. Both sides use
 * this one table of keys, so they cannot disagree on a name.
 *
 *   n connections=12 cpu_ms=5130 rss_kb=10240 out_kbps=2400 viewers=10 streams=3
 *     upstream=10.0.0.1:1935 play_requests=40 fail_not_found=2 ... start_le_25=3 ...
 *     start_le_inf=0 start_sum_ms=1234 start_count=30
 *
 * The counters are the node's own since it started (stats.h), with internal pulls left
 * out: plays by viewers only, and the time to first frame of viewers. smd adds them up
 * over the nodes (docs/protocol.md "Reports").
 */
#ifndef LIBSTREAM_NODEREPORT_H
#define LIBSTREAM_NODEREPORT_H

#include <stddef.h>
#include <stdint.h>

#include "libstream/addr.h"
#include "libstream/buf.h"
#include "libstream/err.h"
#include "libstream/stats.h"

/* The counters as one vector (smd adds vectors): index of each. */
enum ls_node_counter {
    LS_NODE_PLAY_REQUESTS = 0,
    LS_NODE_PLAY_FAILURES,                                      /* + enum ls_fail_reason */
    LS_NODE_PLAY_START = LS_NODE_PLAY_FAILURES + LS_FAIL_COUNT, /* + bucket index */
    LS_NODE_PLAY_START_SUM_MS = LS_NODE_PLAY_START + LS_PLAY_START_BUCKETS + 1,
    LS_NODE_PLAY_START_COUNT,
    LS_NODE_COUNTERS
};

struct ls_node_report {
    /* health (gauges) */
    uint64_t connections;     /* open client connections (RTMP and HTTP-FLV) */
    uint64_t cpu_ms;          /* CPU time the process used (user + system) */
    uint64_t rss_kb;          /* resident memory */
    uint64_t out_kbps;        /* bytes sent to clients, per second over the last report */
    uint64_t viewers;         /* external viewers of all streams */
    uint64_t streams;         /* streams in the hub */
    char upstream[LS_ADDR_STRLEN]; /* epd: the upstream it pulls from; "" = none / spd */
    /* counters (monotonic while the node runs) */
    uint64_t counters[LS_NODE_COUNTERS];
};

/* Appends the node line for *r (smdreport.h: "n key=value ...\n"). */
void ls_node_report_write(struct ls_buf *b, const struct ls_node_report *r);
/*
 * Reads the pairs of a node line (ls_smd_report_line.pairs) into *r, which is zeroed
 * first. Unknown keys are ignored (a later version may add some), so are values of the
 * wrong kind for a key. LS_OK, or LS_EPROTO for a malformed pair (*why).
 */
LS_MUST_CHECK int ls_node_report_read(const char *pairs, size_t len, struct ls_node_report *r,
                                      const char **why);

/* The counters of this process now (ls_stats, viewers' share only). */
void ls_node_report_counters(uint64_t counters[LS_NODE_COUNTERS]);

#endif /* LIBSTREAM_NODEREPORT_H */
