/*
 * pull.h — one internal pull per stream per node (docs/architecture.md decisions 5, 7, 8).
 *
 * A pull is the source of a local stream whose media comes from another node: an edge
 * pulling from its upstream origin, or an origin pulling from the origin that owns the
 * publisher. It is created when the stream gets its first subscriber, plays the stream
 * from a target the role names (ls_pull_ops.resolve), pushes what it receives into the
 * hub, and:
 *   - keeps the stream's subscribers connected when the link fails, retrying with
 *     backoff (500 ms doubling to retry_max) and asking the role for a target again each
 *     time (the owner may have moved);
 *   - notices an upstream that goes silent without closing (no media and no answer to
 *     RTMP pings for cfg.client.silence_timeout_ms: a frozen or unreachable peer) and
 *     pulls again, while a publisher that merely pauses keeps the link (client.h);
 *   - mirrors the upstream's unpublish/republish to local subscribers;
 *   - closes `idle_timeout_ms` after the last subscriber left — at once when the stream
 *     is not live (nothing to keep warm for a viewer who reloads).
 * Internal pulls carry a cluster signature (peersig.h) over the far side's challenge, so
 * it knows them for what they are.
 *
 * Failover is the role's: each attempt ends in one of the ways of enum ls_pull_end, the
 * role hears of a failure at once (ops->failed) and reads how the last attempt went
 * (ls_pull_last_attempt) when it picks the next target; an edge with several upstreams
 * moves to the next one (epd/upstream.h). ls_pull_move sends a running pull elsewhere.
 * Whatever the targets, a pull has at most one connection open at any moment.
 *
 * Ownership: the pull is the stream's role data until it ends, which keeps the stream
 * alive (hub.h) whatever else holds or releases it; at the end it calls ops->ended,
 * clears the role data (the stream may then be freed) and frees itself. A pull may end
 * inside any of the calls below that can stop it (ls_pull_connect, ls_pull_unavailable,
 * ls_pull_kick, ls_pull_stop): the caller must not use the pointer after them.
 */
#ifndef LIBSTREAM_PULL_H
#define LIBSTREAM_PULL_H

#include <stdbool.h>
#include <sys/socket.h>

#include "libstream/client.h"
#include "libstream/hub.h"

struct ls_resolver;

struct ls_pull;

struct ls_pull_config {
    struct ls_client_config client;
    unsigned idle_timeout_ms;   /* kept this long without subscribers */
    unsigned retry_max_ms;      /* longest pause between attempts */
    const char *node_id;        /* signs the pull (borrowed: must outlive the pull or be
                                   replaced with ls_pull_set_config) */
    const char *role;           /* "spd" | "epd" */
    const char *secret;         /* cluster_secret */
    struct ls_resolver *resolver; /* looks the target's name up on the loop (borrowed);
                                   * NULL = a blocking lookup, for tools only */
};
void ls_pull_config_defaults(struct ls_pull_config *cfg);

/* What an external pull reports to its role (ls_pull_ops.event). */
enum ls_pull_event {
    LS_PULL_LIVE,      /* Play.Start (or PublishNotify): it is the stream's source now */
    LS_PULL_NOT_LIVE,  /* no longer the source: the link was lost, or the far side
                        * unpublished (UnpublishNotify; the link stays) */
    LS_PULL_FAILED,    /* an attempt or the link failed (err, why); a retry follows */
};

struct ls_pull_ops {
    /*
     * Where should the next attempt go? The role answers, now or later, with
     * ls_pull_connect (a target) or ls_pull_unavailable (none yet: retry after backoff,
     * or wait for ls_pull_kick when the role learns more, e.g. an smd watch).
     * ls_pull_target and ls_pull_last_attempt say where the last attempt went and how it
     * ended.
     */
    void (*resolve)(struct ls_pull *p, void *arg, const char *id);
    /* The pull ended (idle, or stopped). The stream may be freed right after. */
    void (*ended)(struct ls_pull *p, void *arg, const char *id);
    /*
     * An attempt at ls_pull_target failed (ls_pull_last_attempt says how), before the
     * retry is scheduled: the role may note the target's health (so that other pulls
     * avoid it at once). Must not stop, move or kick the pull. NULL = not wanted.
     */
    void (*failed)(struct ls_pull *p, void *arg, const char *id);
    /* External pulls only (NULL = not wanted): the source's changes, for the role's
     * counters and for what it does with a live stream (spd's pushes). `err` and `why`
     * (borrowed for the call) with LS_PULL_FAILED: LS_ELIMIT when the far side went
     * silent (upstream_timeout), LS_ENOTFOUND when its name did not resolve, or the
     * client's close code and reason (an onStatus error code such as
     * "NetStream.Play.StreamNotFound"). May stop the pull. */
    void (*event)(struct ls_pull *p, void *arg, const char *id, enum ls_pull_event ev,
                  int err, const char *why);
    void *arg;
};

/* How a pull's last attempt ended. */
enum ls_pull_end {
    LS_PULL_END_NONE,      /* no attempt has ended yet */
    LS_PULL_END_NO_TARGET, /* the role had no target (ls_pull_unavailable) */
    LS_PULL_END_REFUSED,   /* the target could not be reached (address, connection,
                            * handshake) or refused or failed the play before it started */
    LS_PULL_END_NOT_FOUND, /* the target answered NetStream.Play.StreamNotFound */
    LS_PULL_END_LOST,      /* the link closed while the play was running */
    LS_PULL_END_SILENT,    /* the target sent nothing for silence_timeout_ms (watchdog) */
    LS_PULL_END_MOVED,     /* the role moved the pull (ls_pull_move) */
};

struct ls_pull_attempt {
    enum ls_pull_end end;
    bool answered;      /* the target answered connect: it is up, whatever the play did */
    unsigned failures;  /* attempts that failed since the pull started or was last live
                         * (1: this was the first; a move is not a failure) */
};

/*
 * Starts a pull feeding `st` as a source of `kind`; it becomes the stream's role data
 * (ls_stream_role_data finds it). LS_OK, or LS_ENOMEM (nothing started). The first
 * resolve runs before this returns.
 */
LS_MUST_CHECK int ls_pull_start(struct ls_stream *st, enum ls_source_kind kind,
                                const struct ls_pull_config *cfg, const struct ls_pull_ops *ops);
/*
 * Starts an external pull (spd's `pull` key, docs/interface.md "Relays"): the source of
 * `st` is a stream on a server outside the cluster, played as `name` (with any ?query)
 * after connect(app, tc_url) to the target the role's resolve names (ls_pull_connect,
 * node NULL); the strings are copied. Unlike an internal pull it is not signed (the far
 * side is no node of ours), it is played continuously — it never ends for want of
 * viewers (idle_timeout does not apply) and retries with backoff for as long as it runs —
 * it ignores ls_pull_kick, it is not an internal pull (max_pulls, livecluster_pull*), and
 * it reports every change to ops->event. It ends with ls_pull_stop, or when the hub kicks
 * its source. LS_OK or LS_ENOMEM (nothing started).
 */
LS_MUST_CHECK int ls_pull_start_external(struct ls_stream *st, enum ls_source_kind kind,
                                         const struct ls_pull_config *cfg,
                                         const struct ls_pull_ops *ops, const char *tc_url,
                                         const char *app, const char *name);
/*
 * The roles' gate before ls_pull_start: LS_OK, or LS_ELIMIT when `max_pulls` pulls run in
 * this process already (0 = no bound) — counted in livecluster_play_limited_total
 * {reason="max_pulls"} and logged at most once a second; the role's stream_wanted hook
 * then refuses the viewer.
 */
LS_MUST_CHECK int ls_pull_check_limit(const char *id, size_t max_pulls);
/* Plays from `target` ("host:port") now. `node_id`: the node the role expects there (the
 * pull is signed for the node that answers, and refused to any other); NULL = whichever. */
void ls_pull_connect(struct ls_pull *p, const char *target, const char *node_id);
/* No target now: waits (backoff) and asks again; `why` is logged once per outage. */
void ls_pull_unavailable(struct ls_pull *p, const char *why);
/* Retry at once (the role learned a new target, e.g. from an smd watch). While the role
 * is still answering an earlier resolve, an answer of "none yet" then retries at once. */
void ls_pull_kick(struct ls_pull *p);
/* The stream_unwanted hub hook (hub.h) of a role whose streams hold their pull, if any, as
 * the role data: the stream lost its last subscriber, so that pull ends after
 * idle_timeout_ms unless one comes back. `arg` is unused. */
void ls_pull_stream_unwanted(void *arg, struct ls_stream *st);
/* Ends the pull now (shutdown, or a local publisher takes over the stream). */
void ls_pull_stop(struct ls_pull *p, const char *why);
/*
 * Leaves the current target (its upstream was removed from the role's list): the
 * connection, if any, is closed (`why` is logged), subscribers hear INTERRUPTED and stay,
 * and the role is asked for a target on the next loop turn, without backoff; the attempt
 * ends as LS_PULL_END_MOVED. A pull without subscribers ends instead. A pull between
 * attempts is asked at once (as ls_pull_kick).
 */
void ls_pull_move(struct ls_pull *p, const char *why);
/* Drops the current link, if any, as if it had been lost (the stream's source detaches,
 * a retry follows the backoff); for a role whose right to the stream lapsed (spd: a
 * pulled source's registration taken over elsewhere). May end the pull, as a lost link
 * does. */
void ls_pull_reconnect(struct ls_pull *p, const char *why);
/* Applies a reloaded config (strings borrowed as in ls_pull_start). */
void ls_pull_set_config(struct ls_pull *p, const struct ls_pull_config *cfg);
bool ls_pull_connected(const struct ls_pull *p);
/* "host:port" of the current or last attempt ("" before the first); borrowed until the
 * next ls_pull_connect. */
const char *ls_pull_target(const struct ls_pull *p);
/* How the last attempt ended (end LS_PULL_END_NONE while none has). */
void ls_pull_last_attempt(const struct ls_pull *p, struct ls_pull_attempt *out);
/* For the API: "live" (the stream's source), "connecting" (an attempt in progress: the
 * role's answer, DNS, the RTMP connection up to Play.Start), "unpublished" (linked, but
 * the far side said UnpublishNotify) or "retrying" (waiting out the backoff). */
const char *ls_pull_state(const struct ls_pull *p);

#endif /* LIBSTREAM_PULL_H */
