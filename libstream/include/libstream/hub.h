/*
 * hub.h — the stream hub: the table of live streams of one process, each with at most one
 * source and any number of subscribers.
 *
 * A source (an RTMP publisher, or an internal pull from a peer origin or an upstream)
 * pushes messages into its stream. The hub turns each media message into a packet whose
 * outgoing bytes are built once per transport (RTMP chunks for message stream 1 at the
 * hub's chunk size; an FLV tag) and queues references to those bytes on every
 * subscriber's output queue (docs/architecture.md decision 2). It caches metadata, the
 * sequence headers and the GOP since the last keyframe so a new subscriber starts at once
 * (decision 4), applies the slow-subscriber policy (decision 3), and flushes subscribers
 * in batches, at most once per `flush_interval_ms` (decision 2).
 *
 * The hub owns streams and packets. Subscribers and sources are owned by their
 * connections; they attach to and detach from streams, and the hub never frees them.
 * Streams live while they have a source, a subscriber, a role hold (ls_stream_hold) or
 * role data (ls_stream_set_role_data: the pull feeding them), and are freed when the last
 * of those goes.
 */
#ifndef LIBSTREAM_HUB_H
#define LIBSTREAM_HUB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/queue.h>

#include "libstream/err.h"
#include "libstream/frame.h"
#include "libstream/outq.h"

struct event_base;
struct ls_hub;
struct ls_stream;
struct ls_packet;

/*
 * What a message costs beyond its payload bytes, as charged against the byte bounds below:
 * a cached message (the packet, the headers of its frame and of its RTMP and FLV
 * encodings, allocator overhead, its slot) and a queued one (its ring slot and its share
 * of the blob's header). A flood of empty messages therefore meets the bounds about as
 * fast as real media, instead of growing memory by a hundred bytes or more per message.
 */
#define LS_HUB_MESSAGE_OVERHEAD 256u
#define LS_HUB_QUEUE_ENTRY_OVERHEAD 64u

struct ls_hub_config {
    bool gop_cache;                  /* keep the GOP since the last keyframe */
    size_t gop_cache_max_bytes;      /* past this (payload + LS_HUB_MESSAGE_OVERHEAD per
                                      * message) the cache is dropped until the next keyframe */
    size_t gop_cache_max_messages;   /* ... and past this many messages */
    uint32_t chunk_size;             /* outgoing RTMP chunk size for every subscriber */
    size_t queue_max_bytes;          /* per-subscriber bound on queued output (bytes +
                                      * LS_HUB_QUEUE_ENTRY_OVERHEAD per queued message) */
    unsigned slow_timeout_ms;        /* a subscriber behind for this long is dropped */
    unsigned flush_interval_ms;      /* batching window; 0 = write at once */
    /* Streams with subscribers that have never had a source ("waiting": each is upstream
     * work a viewer causes by naming an id). A subscribe that would make one more is
     * refused with LS_ELIMIT past these; 0 = no bound. */
    size_t max_waiting_streams;      /* in the hub */
    size_t max_waiting_per_client;   /* made wanted by one client address */
};

/* Defaults: GOP cache on (32 MiB, 4096 messages), chunk size 4096, 4 MiB queue, 10 s,
 * 20 ms window, 2000 waiting streams, 64 per client address. */
void ls_hub_config_defaults(struct ls_hub_config *cfg);

enum ls_source_kind {
    LS_SOURCE_PUBLISHER, /* an encoder publishing to this node */
    LS_SOURCE_PEER,      /* an origin pulling from the origin that owns the publisher */
    LS_SOURCE_UPSTREAM,  /* an edge pulling from its upstream origin */
};
const char *ls_source_kind_name(enum ls_source_kind kind); /* "publisher" | "peer" | "upstream" */

enum ls_transport { LS_TRANSPORT_RTMP, LS_TRANSPORT_FLV };

enum ls_source_event {
    LS_SOURCE_STARTED,     /* a source attached: the stream is live */
    LS_SOURCE_STOPPED,     /* the publisher unpublished (tell viewers: UnpublishNotify) */
    LS_SOURCE_INTERRUPTED, /* the source was lost without an unpublish (pull failed) */
};

struct ls_subscriber;
struct sockaddr;

/* Room for a client's address text (IPv6 included). */
#define LS_SUBSCRIBER_CLIENT_MAX 48

struct ls_subscriber_ops {
    /* Write queued output now (called by the hub's batching timer, or at once). */
    void (*flush)(struct ls_subscriber *sub);
    /* The stream's source changed state; the owner may queue status messages. */
    void (*source_event)(struct ls_subscriber *sub, enum ls_source_event ev);
    /* The subscriber stayed behind too long (or its queue hit the hard bound): the owner
     * must detach and close it. `why` is a static string for the log line. */
    void (*too_slow)(struct ls_subscriber *sub, const char *why);
};

/*
 * A subscriber, embedded in its owner (an RTMP session or an HTTP-FLV response).
 * Fields are the hub's; owners read only `stream` and `bytes_out`.
 */
struct ls_subscriber {
    const struct ls_subscriber_ops *ops;
    struct ls_outq *outq;            /* owner's queue the hub appends to */
    enum ls_transport transport;
    uint32_t stream_id;              /* RTMP message stream id the subscriber plays on */
    struct ls_stream *stream;        /* NULL when detached */
    LIST_ENTRY(ls_subscriber) link;  /* in the stream's subscriber list */
    TAILQ_ENTRY(ls_subscriber) dirty_link;
    bool dirty;                      /* in the hub's flush list */
    bool flush_now;                  /* flush at the end of this push, not at the tick */
    bool skipping;                   /* dropping video until the next keyframe */
    bool hidden;                     /* not a viewer (a recorder, spd's push): not counted
                                      * in stats */
    bool internal;                   /* an internal pull (an edge or a peer origin): a
                                      * subscriber, but not one of the cluster's viewers
                                      * (ls_stream_stats external_viewers); set before
                                      * subscribing */
    uint64_t start_ms;               /* the viewer's connection time (ls_now_ms) while its
                                      * time to first frame is measured; the first keyframe
                                      * queued counts it (ls_stats_play_start) and clears
                                      * it; 0 = not measured */
    uint64_t behind_since_ms;        /* 0 = keeping up */
    bool must_drop;                  /* past the hard bound: the next flush drops it */
    size_t queued_mark;              /* outq bytes after the hub's last push or shed: less
                                      * at the next delivery = the owner wrote meanwhile */
    uint64_t bytes_out;              /* bytes handed to this subscriber's queue */
    uint64_t frames_dropped;
    char client[LS_SUBSCRIBER_CLIENT_MAX]; /* the viewer's address, charged for the
                                            * waiting streams it opens; "" = not charged */
};

/* ---- hub ---- */

/* A hub on `base`. The config is copied. NULL on allocation failure. */
struct ls_hub *ls_hub_new(struct event_base *base, const struct ls_hub_config *cfg);
/* Frees every stream; sources and subscribers must already be detached. */
void ls_hub_free(struct ls_hub *hub);
/* Replaces the config (SIGHUP); applies to packets and deliveries from now on. */
void ls_hub_set_config(struct ls_hub *hub, const struct ls_hub_config *cfg);
const struct ls_hub_config *ls_hub_config(const struct ls_hub *hub);
struct event_base *ls_hub_base(const struct ls_hub *hub);

struct ls_hub_hooks {
    /* A stream without a source got its first subscriber: the role may start a pull.
     * LS_OK, or LS_ELIMIT when the role cannot take one more (a bound of its own, which
     * it counts and logs): the subscribe is then refused with that code. */
    int (*stream_wanted)(void *arg, struct ls_stream *st);
    /* A stream lost its last subscriber (the role starts its idle timer). */
    void (*stream_unwanted)(void *arg, struct ls_stream *st);
    void *arg;
};
void ls_hub_set_hooks(struct ls_hub *hub, const struct ls_hub_hooks *hooks);
/* What a new stream reports as its source kind before any source attached (an edge's
 * streams are always fed from upstream). Default LS_SOURCE_PUBLISHER. */
void ls_hub_set_default_source_kind(struct ls_hub *hub, enum ls_source_kind kind);

/* The stream with this id, or NULL. */
struct ls_stream *ls_hub_find(struct ls_hub *hub, const char *id);
/* The stream with this id, created when missing (NULL on allocation failure). A new
 * stream with nothing attached is freed by the next detach/release that leaves it empty,
 * so callers attach or hold at once. */
struct ls_stream *ls_hub_get(struct ls_hub *hub, const char *id);

/* Iteration for the API: calls fn for every stream. */
void ls_hub_foreach(struct ls_hub *hub, void (*fn)(struct ls_stream *st, void *arg), void *arg);
size_t ls_hub_stream_count(const struct ls_hub *hub);
size_t ls_hub_subscriber_count(const struct ls_hub *hub);
/* Of those, the viewers that are not internal pulls (the cluster's viewers). */
size_t ls_hub_external_viewer_count(const struct ls_hub *hub);
size_t ls_hub_waiting_count(const struct ls_hub *hub); /* waiting streams (see the config) */

/* ---- streams: sources ---- */

struct ls_source_ops {
    /* The hub wants this source gone (taken over by a newer one, or shutdown). The owner
     * must call ls_stream_detach_source and close; `why` is for the log line. */
    void (*kick)(void *owner, const char *why);
    /* Where the media comes from, for the API: a pull's "host:port" (borrowed until the
     * source changes), NULL for a local publisher. NULL op = none. */
    const char *(*upstream)(const void *owner);
};

/*
 * Makes `owner` the stream's source. LS_EBUSY when another source is attached (the caller
 * decides about takeover: ls_stream_source_idle_ms, then ls_stream_kick_source).
 * Subscribers receive LS_SOURCE_STARTED.
 */
LS_MUST_CHECK int ls_stream_attach_source(struct ls_stream *st, enum ls_source_kind kind,
                                          const struct ls_source_ops *ops, void *owner);
/*
 * Detaches `owner` (a no-op if it is not the current source). `ev` says what subscribers
 * are told: LS_SOURCE_STOPPED (unpublished) or LS_SOURCE_INTERRUPTED (lost; a retry
 * follows). May free the stream: do not use `st` afterwards.
 */
void ls_stream_detach_source(struct ls_stream *st, void *owner, enum ls_source_event ev);
/* Asks the current source to go away (its kick callback runs now). */
void ls_stream_kick_source(struct ls_stream *st, const char *why);
bool ls_stream_has_source(const struct ls_stream *st);
/* The current source's upstream (ls_source_ops.upstream); NULL without a source or one. */
const char *ls_stream_source_upstream(const struct ls_stream *st);
void *ls_stream_source_owner(const struct ls_stream *st);
/* The current source's kind; without a source, the last one's, or the hub's default for
 * streams that never had one (ls_hub_set_default_source_kind). */
enum ls_source_kind ls_stream_source_kind(const struct ls_stream *st);
/* Milliseconds since the source last pushed a media message (since attach if none). */
uint64_t ls_stream_source_idle_ms(const struct ls_stream *st);

/*
 * Pushes one message from the source (audio, video, data or aggregate). The hub takes its
 * own references; the caller keeps its reference. Returns LS_OK, LS_EPROTO for a message
 * it cannot interpret (dropped; the source may be closed), or LS_ENOMEM.
 */
int ls_stream_push(struct ls_stream *st, struct ls_frame *msg);

/* ---- streams: subscribers ---- */

/*
 * Attaches a subscriber. If the stream is live, its cached metadata, sequence headers and
 * GOP are queued at once and flushed immediately; otherwise the subscriber waits for a
 * source (LS_SOURCE_STARTED). The first subscriber of a source-less stream triggers the
 * stream_wanted hook. LS_ELIMIT when the subscriber would make one more waiting stream
 * past max_waiting_streams or max_waiting_per_client (counted in
 * livecluster_play_limited_total, logged at most once a second), or the role refused it;
 * the stream may then have been freed (one that ls_hub_get created for this subscriber).
 */
LS_MUST_CHECK int ls_stream_subscribe(struct ls_stream *st, struct ls_subscriber *sub);
/* Detaches; may free the stream. Safe to call on a detached subscriber. */
void ls_subscriber_detach(struct ls_subscriber *sub);
/* Initialises a subscriber before its first subscribe. */
void ls_subscriber_init(struct ls_subscriber *sub, const struct ls_subscriber_ops *ops,
                        struct ls_outq *outq, enum ls_transport transport, uint32_t stream_id);
/* Names the client behind a subscriber (its address without the port), charged for the
 * waiting streams it opens; NULL, or never calling this, = not charged (internal pulls,
 * recorders). Call after ls_subscriber_init, before subscribing. */
void ls_subscriber_set_client(struct ls_subscriber *sub, const struct sockaddr *sa);
/* Queues the subscriber for the next flush (for owners that queued their own bytes). */
void ls_subscriber_mark_dirty(struct ls_subscriber *sub, bool now);

/* ---- streams: role holds and accessors ---- */

/* Keeps an otherwise empty stream alive (a pull in progress); release may free it. */
void ls_stream_hold(struct ls_stream *st);
void ls_stream_release(struct ls_stream *st);
/* Frees the stream if nothing keeps it (source, subscriber, hold, role data): for a caller
 * that got it from ls_hub_get and then attached nothing. Takes no one's hold. */
void ls_stream_forget_if_unused(struct ls_stream *st);

const char *ls_stream_id(const struct ls_stream *st);
struct ls_hub *ls_stream_hub(const struct ls_stream *st);
/*
 * Role-private pointer (the pull serving this stream); not freed by the hub. While it is
 * set, it keeps the stream alive by itself (independently of holds, so a stray release
 * cannot free a stream under its pull); setting it back to NULL may free the stream.
 */
void *ls_stream_role_data(const struct ls_stream *st);
void ls_stream_set_role_data(struct ls_stream *st, void *data);

struct ls_stream_stats {
    unsigned subscribers;       /* viewers: hidden subscribers (recorders) excluded */
    unsigned external_viewers;  /* of those, not internal pulls (hub.h: internal) */
    uint64_t bytes_in;
    uint64_t bytes_out;
    uint64_t frames_in;
    uint64_t frames_dropped;
    unsigned kbps_in;           /* averaged over the last few seconds */
    const char *video_codec;    /* "h264", …, or NULL when not seen yet */
    const char *audio_codec;
    unsigned width, height;     /* from metadata or the sequence header; 0 = unknown */
    double framerate;
    uint64_t uptime_ms;         /* since the current source attached; 0 without source */
};
void ls_stream_stats(const struct ls_stream *st, struct ls_stream_stats *out);
/* The two figures a cluster report carries, without ls_stream_stats's walk over the
 * subscribers: external viewers now, and bytes queued to all subscribers so far. */
unsigned ls_stream_external_viewers(const struct ls_stream *st);
uint64_t ls_stream_bytes_out(const struct ls_stream *st);

#endif /* LIBSTREAM_HUB_H */
