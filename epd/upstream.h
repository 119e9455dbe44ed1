/*
 * upstream.h — epd's upstreams: the spds this edge pulls from, in order of preference,
 * each with a health state, and the choice of where a pull goes next
 * (docs/interface.md "Edge upstreams and failover").
 *
 * An upstream is up until something fails at it: a pull's connection lost, refused, or
 * silent for upstream_timeout (edge.c says which failures count). It is then down: new
 * pulls avoid it, and it is probed in the background — an RTMP handshake and connect,
 * 0.5 s after the failure, then backing off to probe_max_ms — until it accepts a connect
 * and is up again. A stream's answer (NotFound, a refused play) says nothing about the
 * upstream's health. The state is the edge's alone: it only affects where new attempts go.
 *
 * Lifetime: epd_upstreams_set copies the list; probes own nothing the caller holds.
 * epd_upstreams_stop (shutdown) ends every probe at once; free after it.
 */
#ifndef EPD_UPSTREAM_H
#define EPD_UPSTREAM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "libstream/addr.h"
#include "libstream/client.h"
#include "libstream/err.h"

struct event_base;
struct ls_buf;
struct ls_resolver;
struct epd_upstreams;

struct epd_upstreams_config {
    struct ls_client_config client; /* probes' connection settings (chunk bounds) */
    unsigned probe_timeout_ms;      /* handshake + connect answer of one probe */
    unsigned probe_max_ms;          /* longest pause between probes of a down upstream */
    struct ls_resolver *resolver;   /* names looked up on the loop (borrowed; NULL = a
                                     * blocking lookup, for tests) */
};

/* Why a pull left an upstream for another: the reason label of
 * livecluster_upstream_switches_total. */
enum epd_switch_reason {
    EPD_SWITCH_LOST,      /* the link closed while playing */
    EPD_SWITCH_SILENT,    /* no media and no ping answer for upstream_timeout */
    EPD_SWITCH_REFUSED,   /* could not connect, or the play failed before it started */
    EPD_SWITCH_NOT_FOUND, /* the upstream answered StreamNotFound */
    EPD_SWITCH_REMOVED,   /* a reload took the upstream off the list */
    EPD_SWITCH_COUNT
};
const char *epd_switch_reason_name(enum epd_switch_reason r); /* "lost", "silent", … */

struct epd_upstreams *epd_upstreams_new(struct event_base *base);
/*
 * Sets the list (at start and on reload), in order of preference. An address that was
 * listed already keeps its state (a down one goes on being probed); a new one starts up;
 * one no longer listed is forgotten (its probe ends). LS_OK, or LS_ENOMEM with the
 * previous list in force.
 */
LS_MUST_CHECK int epd_upstreams_set(struct epd_upstreams *u, const struct ls_addr_list *list,
                                    const struct epd_upstreams_config *cfg);
size_t epd_upstreams_count(const struct epd_upstreams *u);
/* "host:port" of the i-th upstream, as pulls are given it (borrowed until the next set). */
const char *epd_upstreams_addr(const struct epd_upstreams *u, size_t i);
/* Index of `addr` ("host:port" as epd_upstreams_addr writes it) in the list, or -1. */
int epd_upstreams_find(const struct epd_upstreams *u, const char *addr);
bool epd_upstreams_is_up(const struct epd_upstreams *u, size_t i);
/*
 * Where the next attempt of a pull goes. `from`: the upstream its last attempt went to
 * (-1: none, or no longer listed); `skip_from`: that one answered but could not serve the
 * stream (NotFound, a refused play), so another is preferred even though it is up.
 * Returns the first upstream in order of preference that is up (and not skipped); when
 * none is, the one after `from` (the first when from is -1), so that a pull still tries
 * each in turn, with its own backoff, while every upstream is down.
 */
size_t epd_upstreams_choose(const struct epd_upstreams *u, int from, bool skip_from);
/* Something failed at the i-th upstream: it is down (logged once) and probed. */
void epd_upstreams_mark_down(struct epd_upstreams *u, size_t i, const char *why);
/* A pull left an upstream: counted by reason. */
void epd_upstreams_count_switch(struct epd_upstreams *u, enum epd_switch_reason r);
uint64_t epd_upstreams_switches(const struct epd_upstreams *u, enum epd_switch_reason r);
/*
 * Appends livecluster_upstream_switches_total{reason}, livecluster_upstream_up{upstream}
 * (1 up, 0 down) and livecluster_upstream_pulls{upstream} (pulls playing from each:
 * `playing[i]` for the i-th upstream; NULL = zeros).
 */
void epd_upstreams_metrics(const struct epd_upstreams *u, const uint64_t *playing,
                           struct ls_buf *out);
/* Shutdown: ends every probe now; the state stays readable. */
void epd_upstreams_stop(struct epd_upstreams *u);
void epd_upstreams_free(struct epd_upstreams *u);

#endif /* EPD_UPSTREAM_H */
