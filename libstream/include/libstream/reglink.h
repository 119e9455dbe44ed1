/*
 * reglink.h — one registry session with one smd, from a node's side (docs/protocol.md
 * "Sessions", "Reports"): the part of the registry client that spd (claims, lookups,
 * watches: spd/registry.c) and epd (reports only: epd/report.c) share.
 *
 *   DOWN ─start/timer─▶ CONNECTING (DNS, TCP, RTMP handshake) ─▶ CHALLENGE (waiting for
 *        ◀─close/timeout/refusal, back-off 0.5 s → 5 s─┐            smd's nonce, 5 s)
 *                                                      │               │ hello (signed)
 *                                                      └──── HELLO ◀───┘
 *                                                              │ _result {lease, report_ms}
 *                                                              ▼
 *     UP: ops->up (the owner re-announces), a ping every lease/3, every request answered
 *         within its deadline or the session is closed; with a reporter and an smd that
 *         asks for reports (report_ms), a report every report_ms (the first one full)
 *
 * The link owns its connection, its back-off timer and its requests; the owner keeps
 * what the requests are for. Requests carry an owner pointer the owner may clear (the
 * answer then only cleans up) and a list entry the owner may use while it is set.
 *
 * Re-entrancy: flushing and closing are deferred to the next loop turn, so no callback
 * ever runs from inside ls_reglink_send or ls_reglink_request, and nothing frees a link
 * while the owner loops over its links. Callbacks run from the loop.
 */
#ifndef LIBSTREAM_REGLINK_H
#define LIBSTREAM_REGLINK_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/queue.h>

#include "libstream/addr.h"
#include "libstream/err.h"
#include "libstream/smdproto.h"
#include "libstream/strmap.h"

struct event_base;
struct ls_reglink;
struct ls_reporter;
struct ls_resolver;

/* How long the smd has to answer a request (it probes an owner within 2 s), and to send
 * its challenge. */
#define LS_REGLINK_REQUEST_TIMEOUT_MS 5000u

/* Who this node is. Borrowed by every link; the owner may change the strings between
 * sessions (a change is used from the next hello on; ls_reglink_kill starts one). */
struct ls_reglink_identity {
    const char *node_id;
    const char *advertise;   /* "host:port" shown by smd (spd: how peers reach it) */
    const char *secret;      /* cluster_secret; "" = unauthenticated (still signed) */
    const char *role;        /* "spd" | "epd" */
    bool valid;              /* node_id and advertise can travel: links connect only then */
};

/* Link events, counted across the owner's links (shown in the owner's /metrics). */
struct ls_reglink_counters {
    uint64_t connects;          /* sessions established */
    uint64_t connect_failures;  /* failed or lost connections */
    uint64_t hello_refusals;
    uint64_t request_timeouts;  /* requests (or a challenge) unanswered in time */
    uint64_t reports;           /* report messages sent */
};

/* A request in flight. The first fields are the owner's; the `_` ones are the link's. */
struct ls_reglink_req {
    enum ls_smd_kind kind;                  /* read-only */
    char id[LS_STREAM_ID_MAX + 1];          /* read-only: its `id` field, "" without */
    void *owner;                            /* the owner's; NULL = nobody waits for it */
    LIST_ENTRY(ls_reglink_req) owner_link;  /* the owner's, while `owner` is set */
    TAILQ_ENTRY(ls_reglink_req) _link;      /* in the link's queue, deadline order */
    struct ls_strmap_node _by_txid;
    char _txkey[12];
    uint64_t _deadline_ms;
};

struct ls_reglink_ops {
    /* The hello was accepted (`answer` is its _result): re-announce here. */
    void (*up)(struct ls_reglink *l, void *arg, const struct ls_smd_msg *answer);
    /* The answer to a request the owner made (_result or _error), or NULL when the
     * request failed with its session. `q` is freed when this returns. */
    void (*answer)(struct ls_reglink *l, void *arg, struct ls_reglink_req *q,
                   const struct ls_smd_msg *m);
    /* smd's own messages: probe (answer it with ls_reglink_send), revoked, registered. */
    void (*message)(struct ls_reglink *l, void *arg, const struct ls_smd_msg *m);
    /* The session ended; the requests still out fail next (answer NULL). May be NULL. */
    void (*down)(struct ls_reglink *l, void *arg);
    /* A link that ls_reglink_remove could not free at once is gone for good: forget it.
     * It is freed when this returns. May be NULL. */
    void (*removed)(struct ls_reglink *l, void *arg);
};

struct ls_reglink_config {
    const struct ls_reglink_identity *identity; /* borrowed (see above) */
    struct ls_resolver *resolver;   /* borrowed; NULL = blocking lookups (test tools) */
    struct ls_reporter *reporter;   /* borrowed; NULL = this node does not report */
    struct ls_reglink_counters *counters; /* borrowed; NULL = not counted */
    const struct ls_reglink_ops *ops;     /* copied */
    void *arg;
};

/* A link to the smd at `smd`; it connects on ls_reglink_start. NULL on allocation failure. */
struct ls_reglink *ls_reglink_new(struct event_base *base, const struct ls_addr *smd,
                                  const struct ls_reglink_config *cfg);
/* Connects unless connected, connecting or waiting out a back-off. */
void ls_reglink_start(struct ls_reglink *l);
/* Closes the session (soon); a reconnect follows. */
void ls_reglink_kill(struct ls_reglink *l, const char *why);
/* For good: true when freed at once (no session), false when the session closes first
 * and ops->removed says when it is gone. */
bool ls_reglink_remove(struct ls_reglink *l);
/* Flushes what is queued, closes (ops->down and the failed answers run inside, but no
 * reconnect) and frees. NULL is ignored. */
void ls_reglink_free(struct ls_reglink *l);

bool ls_reglink_is_up(const struct ls_reglink *l);
const char *ls_reglink_name(const struct ls_reglink *l);     /* "host:port" */
const struct ls_addr *ls_reglink_addr(const struct ls_reglink *l);
bool ls_reglink_reporting(const struct ls_reglink *l);       /* up, and reports go */

/* Queues a message that expects no answer (an answer to a probe). LS_OK, or an error
 * (logged; the link is then closing, so callers may ignore it). */
int ls_reglink_send(struct ls_reglink *l, const struct ls_smd_msg *m);
/* Sends a request (its txid is the link's to choose) that must be answered within
 * `timeout_ms`. The request, or NULL when it could not go (the link is down or closing,
 * or memory is short). */
struct ls_reglink_req *ls_reglink_request(struct ls_reglink *l, struct ls_smd_msg *m,
                                          uint64_t timeout_ms);

#endif /* LIBSTREAM_REGLINK_H */
