/*
 * hub.c — stream table, caches and fan-out (see hub.h).
 *
 * Per stream:
 *
 *   source ──push──▶ classify ──▶ packet (encoded once per transport, lazily)
 *                                  │
 *             caches: metadata, video/audio sequence headers, GOP since last keyframe
 *                                  │
 *              for each subscriber: slow-viewer policy → outq (by reference) → dirty list
 *                                  │
 *              flush timer (every flush_interval_ms): writev per dirty subscriber
 *
 * Timeline: each stream keeps its own outgoing timeline. When a source replaces an earlier
 * one, the new source's timestamps are shifted so that its first audio or video frame
 * continues just after the last timestamp subscribers saw (a returning publisher usually
 * restarts at 0; a pull from another upstream starts at that stream's age).
 *
 * Waiting streams: a stream that has subscribers but has never had a source is "waiting"
 * — each one is upstream work (a pull, a registry lookup and watch) that any viewer can
 * cause by naming an id. Their number is bounded per hub (max_waiting_streams) and per
 * client address (max_waiting_per_client: the address whose play made the stream wanted
 * is charged until it goes live or loses its viewers). Streams that were live once are
 * not counted: their viewers wait for a source that exists.
 */
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "libstream/bytes.h"
#include "libstream/clock.h"
#include "libstream/codec.h"
#include "libstream/command.h"
#include "libstream/hub.h"
#include "libstream/log.h"
#include "libstream/net.h"
#include "libstream/rtmp.h"
#include "libstream/stats.h"
#include "libstream/strmap.h"
#include "packet_int.h"
#include "array_int.h"

#define HUB_ID_MAX 258
#define HUB_RATE_WINDOW_MS 2000u

LIST_HEAD(ls_subscriber_list, ls_subscriber);
TAILQ_HEAD(ls_dirty_list, ls_subscriber);

struct ls_stream {
    char id[HUB_ID_MAX];
    struct ls_hub *hub;
    struct ls_strmap_node node; /* in hub->streams, keyed by id */

    /* source */
    const struct ls_source_ops *source_ops;
    void *source_owner;
    enum ls_source_kind source_kind;
    uint64_t source_since_ms;
    uint64_t last_media_ms;

    struct ls_subscriber_list subscribers;
    unsigned nsubscribers;
    unsigned nhidden;        /* of which not viewers (recorders) */
    unsigned ninternal;      /* of which internal pulls (viewers, but not external ones) */
    unsigned holds;
    void *role_data;
    bool ever_live;          /* a source attached once */
    bool waiting;            /* counted in hub->nwaiting (see the top of the file) */
    struct hub_client *charged; /* the address charged for making it wait, or NULL */

    /* caches: one packet reference each */
    struct ls_packet *metadata;
    struct ls_packet *video_seq;
    struct ls_packet *audio_seq;
    struct ls_packet **gop;
    size_t gop_count;
    size_t gop_cap;
    size_t gop_bytes;
    bool gop_open;           /* a keyframe started the cache and it is within bounds */

    /* timeline */
    bool has_ts;             /* something was sent on this stream's timeline */
    bool rebase;             /* next message starts a new source: recompute offset */
    uint32_t last_ts;
    uint32_t ts_offset;

    /* stats */
    uint64_t bytes_in;
    uint64_t bytes_out;
    uint64_t frames_in;
    uint64_t frames_dropped;
    uint64_t rate_mark_ms;
    uint64_t rate_mark_bytes;
    unsigned kbps_in;
    const char *video_codec;
    const char *audio_codec;
    unsigned width, height;
    double framerate;
};

/* A client address charged for waiting streams (in hub->clients while it has some). */
struct hub_client {
    struct ls_strmap_node node;
    char addr[LS_SUBSCRIBER_CLIENT_MAX];
    size_t waiting;
};

struct ls_hub {
    struct event_base *base;
    struct ls_hub_config cfg;
    struct ls_hub_hooks hooks;
    enum ls_source_kind default_kind;
    struct ls_strmap streams;
    struct ls_strmap clients;   /* struct hub_client by address */
    size_t nwaiting;            /* waiting streams */
    struct ls_log_limit refuse_log;
    size_t nsubscribers;
    size_t ninternal;           /* of nsubscribers: internal pulls */
    struct ls_dirty_list dirty;
    struct event *flush_timer;
    bool flushing;
    unsigned pushing;        /* depth of ls_stream_push: its end flushes "now" requests */
};

void ls_hub_config_defaults(struct ls_hub_config *cfg)
{
    cfg->gop_cache = true;
    cfg->gop_cache_max_bytes = 32u << 20;
    cfg->gop_cache_max_messages = 4096;
    cfg->chunk_size = 4096;
    cfg->queue_max_bytes = 4u << 20;
    cfg->slow_timeout_ms = 10000;
    cfg->flush_interval_ms = 20;
    cfg->max_waiting_streams = 2000;
    cfg->max_waiting_per_client = 64;
}

const char *ls_source_kind_name(enum ls_source_kind kind)
{
    switch (kind) {
    case LS_SOURCE_PUBLISHER: return "publisher";
    case LS_SOURCE_PEER: return "peer";
    case LS_SOURCE_UPSTREAM: return "upstream";
    }
    return "unknown";
}

/* ---- hub and table ---- */

static void hub_flush_cb(evutil_socket_t fd, short what, void *arg);

struct ls_hub *ls_hub_new(struct event_base *base, const struct ls_hub_config *cfg)
{
    struct ls_hub *hub = calloc(1, sizeof *hub);

    if (hub == NULL)
        return NULL;
    hub->base = base;
    hub->cfg = *cfg;
    TAILQ_INIT(&hub->dirty);
    hub->flush_timer = evtimer_new(base, hub_flush_cb, hub);
    if (ls_strmap_init(&hub->streams) != LS_OK || ls_strmap_init(&hub->clients) != LS_OK ||
        hub->flush_timer == NULL) {
        ls_hub_free(hub);
        return NULL;
    }
    return hub;
}

static void stream_free(struct ls_stream *st);

void ls_hub_free(struct ls_hub *hub)
{
    struct ls_strmap_iter it;
    struct ls_strmap_node *n;

    if (hub == NULL)
        return;
    ls_strmap_iter_init(&it, &hub->streams);
    while ((n = ls_strmap_iter_next(&it)) != NULL) {
        ls_strmap_remove(&hub->streams, n);
        stream_free(LS_STRMAP_ENTRY(n, struct ls_stream, node));
    }
    ls_strmap_free(&hub->streams);
    ls_strmap_free(&hub->clients); /* empty: every charge went with its stream */
    if (hub->flush_timer != NULL)
        event_free(hub->flush_timer);
    free(hub);
}

void ls_hub_set_config(struct ls_hub *hub, const struct ls_hub_config *cfg)
{
    uint32_t chunk_size = hub->cfg.chunk_size;

    hub->cfg = *cfg;
    /* Subscribers were told the chunk size at connect; it cannot change under them. */
    hub->cfg.chunk_size = chunk_size;
}

const struct ls_hub_config *ls_hub_config(const struct ls_hub *hub)
{
    return &hub->cfg;
}

void ls_hub_set_default_source_kind(struct ls_hub *hub, enum ls_source_kind kind)
{
    hub->default_kind = kind;
}

struct event_base *ls_hub_base(const struct ls_hub *hub)
{
    return hub->base;
}

void ls_hub_set_hooks(struct ls_hub *hub, const struct ls_hub_hooks *hooks)
{
    hub->hooks = *hooks;
}

struct ls_stream *ls_hub_find(struct ls_hub *hub, const char *id)
{
    struct ls_strmap_node *n = ls_strmap_find(&hub->streams, id);

    return n != NULL ? LS_STRMAP_ENTRY(n, struct ls_stream, node) : NULL;
}

struct ls_stream *ls_hub_get(struct ls_hub *hub, const char *id)
{
    struct ls_stream *st = ls_hub_find(hub, id);

    if (st != NULL)
        return st;
    if (strlen(id) >= HUB_ID_MAX)
        return NULL;
    st = calloc(1, sizeof *st);
    if (st == NULL)
        return NULL;
    strcpy(st->id, id);
    st->node.key = st->id;
    st->hub = hub;
    st->source_kind = hub->default_kind;
    LIST_INIT(&st->subscribers);
    if (ls_strmap_insert(&hub->streams, &st->node) != LS_OK) {
        free(st);
        return NULL;
    }
    return st;
}

void ls_hub_foreach(struct ls_hub *hub, void (*fn)(struct ls_stream *st, void *arg), void *arg)
{
    struct ls_strmap_iter it;
    struct ls_strmap_node *n;

    /* `fn` may end the stream it is given (a stopped pull frees its stream). */
    ls_strmap_iter_init(&it, &hub->streams);
    while ((n = ls_strmap_iter_next(&it)) != NULL)
        fn(LS_STRMAP_ENTRY(n, struct ls_stream, node), arg);
}

size_t ls_hub_stream_count(const struct ls_hub *hub)
{
    return ls_strmap_count(&hub->streams);
}

size_t ls_hub_subscriber_count(const struct ls_hub *hub)
{
    return hub->nsubscribers;
}

size_t ls_hub_external_viewer_count(const struct ls_hub *hub)
{
    return hub->nsubscribers - hub->ninternal;
}

size_t ls_hub_waiting_count(const struct ls_hub *hub)
{
    return hub->nwaiting;
}

/* ---- waiting streams ---- */

static struct hub_client *hub_client_find(struct ls_hub *hub, const char *addr)
{
    struct ls_strmap_node *n = ls_strmap_find(&hub->clients, addr);

    return n != NULL ? LS_STRMAP_ENTRY(n, struct hub_client, node) : NULL;
}

static void hub_refused(struct ls_hub *hub, const struct ls_stream *st,
                        const struct ls_subscriber *sub, enum ls_limit_reason reason,
                        size_t limit)
{
    ls_stats.play_limited_total[reason]++;
    ls_log_limited_ctx(&hub->refuse_log, 1000, LS_LOG_WARNING, LS_LOG_CTX(st->id, sub->client),
                       "play %s%s%s refused: %s (%zu) reached", st->id,
                       sub->client[0] != '\0' ? " from " : "", sub->client,
                       ls_limit_reason_name(reason), limit);
}

/*
 * `sub` is about to make a never-live stream wanted: counts it as waiting and charges the
 * subscriber's address, or LS_ELIMIT at a bound (counted and logged, rate-limited).
 */
static int stream_start_waiting(struct ls_stream *st, const struct ls_subscriber *sub)
{
    struct ls_hub *hub = st->hub;
    const struct ls_hub_config *cfg = &hub->cfg;
    struct hub_client *c = NULL;

    if (cfg->max_waiting_streams != 0 && hub->nwaiting >= cfg->max_waiting_streams) {
        hub_refused(hub, st, sub, LS_LIMIT_WAITING_STREAMS, cfg->max_waiting_streams);
        return LS_ELIMIT;
    }
    if (sub->client[0] != '\0' && cfg->max_waiting_per_client != 0) {
        c = hub_client_find(hub, sub->client);
        if (c != NULL && c->waiting >= cfg->max_waiting_per_client) {
            hub_refused(hub, st, sub, LS_LIMIT_WAITING_PER_CLIENT, cfg->max_waiting_per_client);
            return LS_ELIMIT;
        }
        if (c == NULL) {
            c = calloc(1, sizeof *c);
            if (c == NULL)
                return LS_ENOMEM;
            memcpy(c->addr, sub->client, sizeof c->addr);
            c->node.key = c->addr;
            if (ls_strmap_insert(&hub->clients, &c->node) != LS_OK) {
                free(c);
                return LS_ENOMEM;
            }
        }
        c->waiting++;
    }
    st->waiting = true;
    st->charged = c;
    hub->nwaiting++;
    return LS_OK;
}

/* The stream went live, lost its viewers or is freed: no longer waiting. */
static void stream_stop_waiting(struct ls_stream *st)
{
    struct hub_client *c = st->charged;

    if (!st->waiting)
        return;
    st->waiting = false;
    st->hub->nwaiting--;
    st->charged = NULL;
    if (c != NULL && --c->waiting == 0) {
        ls_strmap_remove(&st->hub->clients, &c->node);
        free(c);
    }
}

/* ---- caches ---- */

static void gop_clear(struct ls_stream *st)
{
    size_t i;

    for (i = 0; i < st->gop_count; i++)
        ls_packet_unref(st->gop[i]);
    st->gop_count = 0;
    st->gop_bytes = 0;
    st->gop_open = false;
}

/*
 * Caches one more message of the current GOP. Each message is charged its payload plus
 * LS_HUB_MESSAGE_OVERHEAD (what it really costs in memory), and the count is bounded too:
 * a publisher sending one keyframe and then a flood of empty messages reaches the bounds
 * as fast as real media would, instead of growing the cache by the header bytes of each.
 */
static void gop_append(struct ls_stream *st, struct ls_packet *p)
{
    const struct ls_hub_config *cfg = &st->hub->cfg;
    size_t cost = (size_t)p->msg->len + LS_HUB_MESSAGE_OVERHEAD;

    if (!st->gop_open)
        return;
    if (st->gop_bytes + cost > cfg->gop_cache_max_bytes ||
        st->gop_count >= cfg->gop_cache_max_messages) {
        /* A GOP too long to cache: new subscribers wait for the next keyframe instead. */
        gop_clear(st);
        return;
    }
    if (!ls_array_reserve((void **)&st->gop, &st->gop_cap, st->gop_count,
                          sizeof *st->gop, 64)) {
        gop_clear(st);
        return;
    }
    st->gop[st->gop_count++] = ls_packet_ref(p);
    st->gop_bytes += cost;
}

static void caches_clear(struct ls_stream *st)
{
    gop_clear(st);
    ls_packet_unref(st->metadata);
    ls_packet_unref(st->video_seq);
    ls_packet_unref(st->audio_seq);
    st->metadata = st->video_seq = st->audio_seq = NULL;
}

static void stream_free(struct ls_stream *st)
{
    struct ls_subscriber *sub;

    stream_stop_waiting(st);
    while ((sub = LIST_FIRST(&st->subscribers)) != NULL) {
        LIST_REMOVE(sub, link);
        sub->stream = NULL;
    }
    caches_clear(st);
    free(st->gop);
    free(st);
}

/*
 * Frees the stream when nothing keeps it: no source, no subscriber, no hold and no role
 * data. Role data (a pull) keeps its stream by itself, not through the anonymous hold
 * count: a release by someone who never held (a caller discarding the stream ls_hub_get
 * gave it) must not take away the hold of the pull feeding the stream.
 */
static void stream_maybe_free(struct ls_stream *st)
{
    if (st->source_owner != NULL || st->nsubscribers > 0 || st->holds > 0 ||
        st->role_data != NULL)
        return;
    ls_strmap_remove(&st->hub->streams, &st->node);
    stream_free(st);
}

/* ---- flushing ---- */

/*
 * The first message queued after a tick arms the timer for one whole window: whatever
 * arrives meanwhile (the rest of an encoder's burst, the next burst when the window is
 * longer than a frame) goes out in the same writev. Ticking earlier after quiet input
 * lowers latency but splits what one tick would carry: tried (tick a quarter window after
 * quiet input, at most once per window), it cost 19% more writes per viewer at 20 ms and
 * 46% more at 50 ms, with ffmpeg -re input through an edge (docs/performance.md).
 */
static void hub_schedule_flush(struct ls_hub *hub)
{
    struct timeval tv;

    if (evtimer_pending(hub->flush_timer, NULL))
        return;
    tv.tv_sec = hub->cfg.flush_interval_ms / 1000;
    tv.tv_usec = (hub->cfg.flush_interval_ms % 1000) * 1000;
    evtimer_add(hub->flush_timer, &tv);
}

void ls_subscriber_mark_dirty(struct ls_subscriber *sub, bool now)
{
    struct ls_hub *hub;

    if (sub->stream == NULL) {
        sub->ops->flush(sub);
        return;
    }
    hub = sub->stream->hub;
    if (now || hub->cfg.flush_interval_ms == 0)
        sub->flush_now = true;
    if (!sub->dirty) {
        sub->dirty = true;
        TAILQ_INSERT_TAIL(&hub->dirty, sub, dirty_link);
    }
    /* A "now" request made outside a push (a status queued by the owner when a source
     * comes or goes) has no end-of-push flush coming: the next tick takes it. */
    if (!sub->flush_now || hub->pushing == 0)
        hub_schedule_flush(hub);
}

static void subscriber_undirty(struct ls_hub *hub, struct ls_subscriber *sub)
{
    if (sub->dirty) {
        TAILQ_REMOVE(&hub->dirty, sub, dirty_link);
        sub->dirty = false;
    }
    sub->flush_now = false;
}

/*
 * Flushes dirty subscribers: all of them (timer tick) or only those marked flush_now (end
 * of a push). Subscribers may detach themselves from inside the callbacks, so each is
 * taken off the list before its callback runs.
 */
static void hub_flush(struct ls_hub *hub, bool only_now)
{
    struct ls_dirty_list pending;
    struct ls_subscriber *sub;
    uint64_t now = ls_now_ms();

    if (hub->flushing)
        return;
    hub->flushing = true;
    TAILQ_INIT(&pending);
    TAILQ_CONCAT(&pending, &hub->dirty, dirty_link);
    while ((sub = TAILQ_FIRST(&pending)) != NULL) {
        TAILQ_REMOVE(&pending, sub, dirty_link);
        if (only_now && !sub->flush_now) {
            TAILQ_INSERT_TAIL(&hub->dirty, sub, dirty_link);
            continue;
        }
        sub->dirty = false;
        sub->flush_now = false;
        if (sub->must_drop) {
            sub->ops->too_slow(sub, "queue past twice the viewer queue bound");
            continue;
        }
        if (sub->behind_since_ms != 0 &&
            now - sub->behind_since_ms > hub->cfg.slow_timeout_ms) {
            sub->ops->too_slow(sub, "stayed behind longer than the slow-viewer timeout");
            continue;
        }
        sub->ops->flush(sub);
    }
    hub->flushing = false;
    if (!TAILQ_EMPTY(&hub->dirty))
        hub_schedule_flush(hub);
}

static void hub_flush_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    hub_flush(arg, false);
}

/* ---- delivery ---- */

/*
 * Queues one packet for one subscriber, applying the slow-viewer policy: past the queue
 * bound a subscriber sheds queued video and skips video until the next keyframe (audio,
 * metadata and sequence headers are kept up to twice the bound); past twice the bound, or
 * behind for longer than slow_timeout_ms, it is dropped by the next flush. It counts as
 * keeping up again only once its owner has written (the queue shrank since the hub last
 * touched it) down to half the bound: shedding alone also shrinks the queue, and a viewer
 * that reads nothing must not look healthy because of it.
 */
/* What a subscriber's queue costs against viewer_queue_bytes: its bytes plus
 * LS_HUB_QUEUE_ENTRY_OVERHEAD per entry (a flood of tiny messages fills the bound by
 * their count, not only by their few bytes). */
static size_t sub_queued(const struct ls_subscriber *sub)
{
    return ls_outq_bytes(sub->outq) + (size_t)sub->outq->count * LS_HUB_QUEUE_ENTRY_OVERHEAD;
}

static void deliver(struct ls_subscriber *sub, struct ls_packet *p)
{
    const struct ls_hub_config *cfg = &sub->stream->hub->cfg;
    struct ls_frame *blob;
    size_t queued, len, bytes;
    bool drained, resuming = false;

    if (sub->skipping && p->cls >= LS_OUTQ_VIDEO) {
        if (p->cls == LS_OUTQ_VIDEO) {
            sub->frames_dropped++;
            return;
        }
        sub->skipping = false; /* a keyframe: resume here */
        resuming = true;
    }
    blob = sub->transport == LS_TRANSPORT_RTMP ? ls_packet_rtmp(p, sub->stream_id)
                                               : ls_packet_flv(p);
    if (blob == NULL)
        return;
    bytes = blob->len;
    len = bytes + LS_HUB_QUEUE_ENTRY_OVERHEAD;
    queued = sub_queued(sub);
    drained = queued < sub->queued_mark;
    if (queued + len > cfg->queue_max_bytes) {
        if (sub->behind_since_ms == 0)
            sub->behind_since_ms = ls_now_ms();
        sub->frames_dropped += ls_outq_shed(sub->outq, LS_OUTQ_VIDEO) > 0;
        queued = sub_queued(sub);
        sub->queued_mark = queued;
        if (p->cls >= LS_OUTQ_VIDEO) {
            sub->skipping = p->cls == LS_OUTQ_VIDEO || queued + len > cfg->queue_max_bytes;
            if (sub->skipping) {
                sub->frames_dropped++;
                ls_frame_unref(blob);
                ls_subscriber_mark_dirty(sub, false);
                return;
            }
        } else if (queued + len > 2 * cfg->queue_max_bytes) {
            /* Not even audio and headers drain: give up on this subscriber. */
            ls_frame_unref(blob);
            sub->must_drop = true; /* an explicit state: never "long ago" on a young clock */
            ls_subscriber_mark_dirty(sub, true);
            return;
        }
    } else if (sub->behind_since_ms != 0 && !sub->skipping && drained &&
               queued + len <= cfg->queue_max_bytes / 2) {
        sub->behind_since_ms = 0;
    }
    if (ls_outq_push(sub->outq, blob, (enum ls_outq_class)p->cls) != LS_OK)
        return;
    sub->queued_mark = sub_queued(sub);
    sub->bytes_out += bytes;
    sub->stream->bytes_out += bytes;
    if (p->keyframe && sub->start_ms != 0) {
        /* the viewer's first picture: its time to first frame (stats.h) */
        uint64_t now = ls_now_ms();

        ls_stats_play_start(now > sub->start_ms ? now - sub->start_ms : 0);
        sub->start_ms = 0;
    }
    /* The keyframe a waiting viewer starts on goes out now, not at the next tick: start
     * time matters more than one extra write, and through a chain of batching hops
     * (edge, origin, peer origin) the ticks would add up. */
    ls_subscriber_mark_dirty(sub, resuming);
}

/* Queues what a subscriber needs to start decoding: metadata, sequence headers, GOP. */
static void deliver_start(struct ls_subscriber *sub)
{
    struct ls_stream *st = sub->stream;
    size_t i;

    if (st->metadata != NULL)
        deliver(sub, st->metadata);
    if (st->video_seq != NULL)
        deliver(sub, st->video_seq);
    if (st->audio_seq != NULL)
        deliver(sub, st->audio_seq);
    sub->skipping = true; /* until a keyframe: from the GOP cache or the live stream */
    for (i = 0; i < st->gop_count; i++)
        deliver(sub, st->gop[i]);
}

/* ---- sources ---- */

int ls_stream_attach_source(struct ls_stream *st, enum ls_source_kind kind,
                            const struct ls_source_ops *ops, void *owner)
{
    struct ls_subscriber *sub, *next;

    if (st->source_owner != NULL)
        return LS_EBUSY;
    st->ever_live = true;
    stream_stop_waiting(st);
    st->source_ops = ops;
    st->source_owner = owner;
    st->source_kind = kind;
    st->source_since_ms = st->last_media_ms = ls_now_ms();
    st->rate_mark_ms = st->source_since_ms;
    st->rate_mark_bytes = st->bytes_in;
    st->kbps_in = 0;
    st->rebase = st->has_ts;
    caches_clear(st);
    for (sub = LIST_FIRST(&st->subscribers); sub != NULL; sub = next) {
        next = LIST_NEXT(sub, link);
        sub->skipping = true;
        sub->ops->source_event(sub, LS_SOURCE_STARTED);
    }
    return LS_OK;
}

void ls_stream_detach_source(struct ls_stream *st, void *owner, enum ls_source_event ev)
{
    struct ls_subscriber *sub, *next;

    if (st->source_owner != owner || owner == NULL)
        return;
    st->source_owner = NULL;
    st->source_ops = NULL;
    caches_clear(st);
    st->video_codec = st->audio_codec = NULL;
    st->width = st->height = 0;
    st->framerate = 0;
    st->kbps_in = 0;
    for (sub = LIST_FIRST(&st->subscribers); sub != NULL; sub = next) {
        next = LIST_NEXT(sub, link);
        sub->ops->source_event(sub, ev);
    }
    stream_maybe_free(st);
}

void ls_stream_kick_source(struct ls_stream *st, const char *why)
{
    if (st->source_owner != NULL && st->source_ops->kick != NULL)
        st->source_ops->kick(st->source_owner, why);
}

bool ls_stream_has_source(const struct ls_stream *st)
{
    return st->source_owner != NULL;
}

const char *ls_stream_source_upstream(const struct ls_stream *st)
{
    if (st->source_owner == NULL || st->source_ops->upstream == NULL)
        return NULL;
    return st->source_ops->upstream(st->source_owner);
}

void *ls_stream_source_owner(const struct ls_stream *st)
{
    return st->source_owner;
}

enum ls_source_kind ls_stream_source_kind(const struct ls_stream *st)
{
    return st->source_kind;
}

uint64_t ls_stream_source_idle_ms(const struct ls_stream *st)
{
    return ls_now_ms() - st->last_media_ms;
}

/* Width/height from an AVC/HEVC decoder configuration, when metadata did not say. */
static void hub_note_video_config(struct ls_stream *st, const struct ls_frame *msg,
                                  const struct ls_video_info *vi)
{
    struct ls_avc_config cfg;

    if (vi->codec != LS_VIDEO_H264 || vi->header_len >= msg->len)
        return;
    if (ls_codec_avc_config_parse(msg->data + vi->header_len, msg->len - vi->header_len, &cfg,
                                  NULL) == LS_OK && cfg.width > 0 && cfg.height > 0) {
        st->width = cfg.width;
        st->height = cfg.height;
    }
}

/*
 * Notes the encoder's metadata (size, frame rate) for the API. Returns true when the
 * payload is an onMetaData message (which subscribers get first, from the cache).
 */
static bool hub_note_metadata(struct ls_stream *st, const uint8_t *p, size_t len)
{
    struct ls_data_message dm;
    const struct ls_amf_value *meta;
    struct ls_metadata md;
    bool is_metadata;

    if (ls_data_decode(p, len, false, &ls_amf_default_limits, &dm, NULL) < 0)
        return false;
    is_metadata = strcmp(dm.name, "onMetaData") == 0;
    meta = is_metadata ? ls_data_metadata(&dm) : NULL;
    if (meta != NULL && ls_metadata_parse(meta, &md) == LS_OK) {
        if (md.has_width && md.has_height && md.width > 0 && md.height > 0 &&
            md.width < 65536 && md.height < 65536) {
            st->width = (unsigned)md.width;
            st->height = (unsigned)md.height;
        }
        if (md.has_framerate && md.framerate > 0 && md.framerate < 1000)
            st->framerate = md.framerate;
    }
    ls_data_free(&dm);
    return is_metadata;
}

/* Classifies a message, updates codec stats, and says how subscribers may treat it. */
static int classify(struct ls_stream *st, const struct ls_frame *msg, uint8_t *cls,
                    bool *keyframe, bool *seq)
{
    *keyframe = false;
    *seq = false;
    if (msg->type == LS_MSG_AUDIO) {
        struct ls_audio_info ai;

        *cls = LS_OUTQ_AUDIO;
        if (msg->len == 0 || ls_codec_audio_inspect(msg->data, msg->len, &ai, NULL) != LS_OK)
            return LS_OK; /* opaque audio still flows */
        st->audio_codec = ls_codec_audio_name(ai.codec);
        if (ai.sequence_header) {
            *seq = true;
            *cls = LS_OUTQ_KEEP;
        }
        return LS_OK;
    }
    if (msg->type == LS_MSG_VIDEO) {
        struct ls_video_info vi;

        *cls = LS_OUTQ_VIDEO;
        if (msg->len == 0 || ls_codec_video_inspect(msg->data, msg->len, &vi, NULL) != LS_OK)
            return LS_OK;
        st->video_codec = ls_codec_video_name(vi.codec);
        if (vi.packet == LS_VPKT_SEQUENCE_HEADER) {
            *seq = true;
            *cls = LS_OUTQ_KEEP;
            hub_note_video_config(st, msg, &vi);
        } else if (vi.keyframe) {
            *keyframe = true;
            *cls = LS_OUTQ_VIDEO_KEY;
        } else if (vi.packet != LS_VPKT_FRAME) {
            *cls = LS_OUTQ_KEEP; /* end of sequence, metadata, commands: tiny, never shed */
        }
        return LS_OK;
    }
    *cls = LS_OUTQ_KEEP;
    return LS_OK;
}

/* Runs the message through the caches and out to every subscriber. */
static int stream_fan_out(struct ls_stream *st, struct ls_frame *msg, uint8_t cls,
                          bool keyframe, bool seq, bool metadata)
{
    struct ls_hub *hub = st->hub;
    struct ls_subscriber *sub, *next;
    struct ls_packet *p;
    uint32_t ts;

    if (st->rebase && !metadata && !seq &&
        (msg->type == LS_MSG_AUDIO || msg->type == LS_MSG_VIDEO)) {
        /* A new source: its first frame continues just after what subscribers last saw. */
        st->ts_offset = st->last_ts + 1 - msg->timestamp;
        st->rebase = false;
    }
    if (st->rebase) {
        /* Metadata and sequence headers ahead of it carry whatever time the source had
         * when it first sent them (an upstream replays them from its cache, stamped at
         * its publisher's start): they do not set the new offset, or every frame after
         * them would jump forward by the source's age. */
        ts = st->last_ts + 1;
    } else {
        ts = msg->timestamp + st->ts_offset;
        if (!st->has_ts || (int32_t)(ts - st->last_ts) > 0)
            st->last_ts = ts;
        st->has_ts = true;
    }

    p = ls_packet_new(ls_frame_ref(msg), ts, cls, hub->cfg.chunk_size);
    if (p == NULL)
        return LS_ENOMEM;
    p->keyframe = keyframe;
    p->sequence_header = seq;
    p->metadata = metadata;

    if (metadata) {
        ls_packet_unref(st->metadata);
        st->metadata = ls_packet_ref(p);
    } else if (seq) {
        struct ls_packet **slot = msg->type == LS_MSG_VIDEO ? &st->video_seq : &st->audio_seq;

        ls_packet_unref(*slot);
        *slot = ls_packet_ref(p);
    } else if (hub->cfg.gop_cache && keyframe) {
        gop_clear(st);
        st->gop_open = true;
        gop_append(st, p);
    } else if (hub->cfg.gop_cache && (cls == LS_OUTQ_VIDEO || cls == LS_OUTQ_AUDIO)) {
        gop_append(st, p);
    }

    for (sub = LIST_FIRST(&st->subscribers); sub != NULL; sub = next) {
        next = LIST_NEXT(sub, link);
        deliver(sub, p);
    }
    ls_packet_unref(p);
    return LS_OK;
}

static int stream_push_one(struct ls_stream *st, struct ls_frame *msg);

/*
 * An aggregate message (type 22) is a run of FLV tags without the file header:
 *   type(1) size(3) timestamp(3) timestamp-ext(1) stream-id(3) data(size) prev-size(4)
 * Sub-message timestamps are re-based on the aggregate's own timestamp.
 */
static int stream_push_aggregate(struct ls_stream *st, const struct ls_frame *agg)
{
    struct ls_reader r;
    bool first = true;
    uint32_t base = 0;

    ls_rd_init(&r, agg->data, agg->len);
    while (ls_rd_left(&r) > 0) {
        uint8_t type, ts_ext;
        uint32_t size, ts, prev;
        const uint8_t *data;
        struct ls_frame *sub;
        int rc;

        if (!ls_rd_u8(&r, &type) || !ls_rd_be24(&r, &size) || !ls_rd_be24(&r, &ts) ||
            !ls_rd_u8(&r, &ts_ext) || !ls_rd_skip(&r, 3) || !ls_rd_bytes(&r, size, &data) ||
            !ls_rd_be32(&r, &prev))
            return LS_EPROTO;
        ts |= (uint32_t)ts_ext << 24;
        if (first) {
            base = ts;
            first = false;
        }
        if (type != LS_MSG_AUDIO && type != LS_MSG_VIDEO && type != LS_MSG_DATA_AMF0)
            continue;
        sub = ls_frame_new_copy(type, agg->timestamp + (ts - base), agg->stream_id, data, size);
        if (sub == NULL)
            return LS_ENOMEM;
        rc = stream_push_one(st, sub);
        ls_frame_unref(sub);
        if (rc != LS_OK)
            return rc;
    }
    return LS_OK;
}

static int stream_push_one(struct ls_stream *st, struct ls_frame *msg)
{
    uint8_t cls;
    bool keyframe, seq;
    int rc;

    switch (msg->type) {
    case LS_MSG_AGGREGATE:
        return stream_push_aggregate(st, msg);
    case LS_MSG_AUDIO:
    case LS_MSG_VIDEO:
        st->bytes_in += msg->len;
        st->frames_in++;
        st->last_media_ms = ls_now_ms();
        rc = classify(st, msg, &cls, &keyframe, &seq);
        if (rc != LS_OK)
            return rc;
        return stream_fan_out(st, msg, cls, keyframe, seq, false);
    case LS_MSG_DATA_AMF0: {
        /* "@setDataFrame", "onMetaData", {…} from encoders becomes "onMetaData", {…}. */
        const uint8_t *body;
        size_t body_len;
        struct ls_frame *stripped;
        bool is_metadata;

        st->bytes_in += msg->len;
        ls_data_strip_set_data_frame(msg->data, msg->len, &body, &body_len);
        is_metadata = hub_note_metadata(st, body, body_len);
        if (body == msg->data)
            return stream_fan_out(st, msg, LS_OUTQ_KEEP, false, false, is_metadata);
        stripped = ls_frame_new_copy(msg->type, msg->timestamp, msg->stream_id, body,
                                     (uint32_t)body_len);
        if (stripped == NULL)
            return LS_ENOMEM;
        rc = stream_fan_out(st, stripped, LS_OUTQ_KEEP, false, false, is_metadata);
        ls_frame_unref(stripped);
        return rc;
    }
    case LS_MSG_DATA_AMF3:
        st->bytes_in += msg->len;
        return stream_fan_out(st, msg, LS_OUTQ_KEEP, false, false, false);
    default:
        return LS_OK; /* commands and control messages are not stream content */
    }
}

static void stream_update_rate(struct ls_stream *st)
{
    uint64_t now = ls_now_ms();
    uint64_t elapsed = now - st->rate_mark_ms;

    if (elapsed < HUB_RATE_WINDOW_MS)
        return;
    st->kbps_in = (unsigned)((st->bytes_in - st->rate_mark_bytes) * 8 / elapsed);
    st->rate_mark_ms = now;
    st->rate_mark_bytes = st->bytes_in;
}

int ls_stream_push(struct ls_stream *st, struct ls_frame *msg)
{
    struct ls_hub *hub = st->hub;
    int rc;

    hub->pushing++;
    rc = stream_push_one(st, msg);
    stream_update_rate(st);
    hub->pushing--;
    hub_flush(hub, true);
    return rc;
}

/* ---- subscribers ---- */

void ls_subscriber_init(struct ls_subscriber *sub, const struct ls_subscriber_ops *ops,
                        struct ls_outq *outq, enum ls_transport transport, uint32_t stream_id)
{
    memset(sub, 0, sizeof *sub);
    sub->ops = ops;
    sub->outq = outq;
    sub->transport = transport;
    sub->stream_id = stream_id;
}

void ls_subscriber_set_client(struct ls_subscriber *sub, const struct sockaddr *sa)
{
    sub->client[0] = '\0';
    if (sa != NULL)
        ls_net_format_host(sa, sub->client, sizeof sub->client);
}

/* Undoes the attach of a subscriber the role refused (before any delivery). */
static void subscriber_unlink(struct ls_subscriber *sub)
{
    struct ls_stream *st = sub->stream;

    LIST_REMOVE(sub, link);
    sub->stream = NULL;
    st->nsubscribers--;
    st->nhidden -= sub->hidden;
    st->hub->nsubscribers -= !sub->hidden;
    st->ninternal -= sub->internal;
    st->hub->ninternal -= sub->internal;
}

int ls_stream_subscribe(struct ls_stream *st, struct ls_subscriber *sub)
{
    struct ls_hub *hub = st->hub;
    int rc;

    if (sub->stream != NULL)
        return LS_ESTATE;
    if (st->source_owner == NULL && !st->ever_live && st->nsubscribers == 0) {
        rc = stream_start_waiting(st, sub);
        if (rc != LS_OK) {
            stream_maybe_free(st); /* a stream ls_hub_get made for this play goes again */
            return rc;
        }
    }
    sub->stream = st;
    sub->skipping = false;
    sub->behind_since_ms = 0;
    sub->must_drop = false;
    sub->queued_mark = sub_queued(sub);
    LIST_INSERT_HEAD(&st->subscribers, sub, link);
    st->nsubscribers++;
    st->nhidden += sub->hidden;
    hub->nsubscribers += !sub->hidden;
    st->ninternal += sub->internal;
    hub->ninternal += sub->internal;
    if (st->source_owner != NULL) {
        deliver_start(sub);
        ls_subscriber_mark_dirty(sub, true); /* a new viewer's first flush is immediate */
        hub_flush(hub, true);
    } else if (st->nsubscribers == 1 && hub->hooks.stream_wanted != NULL) {
        rc = hub->hooks.stream_wanted(hub->hooks.arg, st);
        if (rc != LS_OK) {
            /* The role cannot serve it (a bound of its own, counted and logged there). */
            subscriber_unlink(sub);
            stream_stop_waiting(st);
            stream_maybe_free(st);
            return rc;
        }
    }
    return LS_OK;
}

void ls_subscriber_detach(struct ls_subscriber *sub)
{
    struct ls_stream *st = sub->stream;
    struct ls_hub *hub;

    if (st == NULL)
        return;
    hub = st->hub;
    subscriber_undirty(hub, sub);
    LIST_REMOVE(sub, link);
    sub->stream = NULL;
    st->nsubscribers--;
    st->nhidden -= sub->hidden;
    hub->nsubscribers -= !sub->hidden;
    st->ninternal -= sub->internal;
    hub->ninternal -= sub->internal;
    st->frames_dropped += sub->frames_dropped;
    if (st->nsubscribers == 0)
        stream_stop_waiting(st);
    if (st->nsubscribers == 0 && hub->hooks.stream_unwanted != NULL) {
        st->holds++; /* the hook may release the role's hold: keep st valid through it */
        hub->hooks.stream_unwanted(hub->hooks.arg, st);
        st->holds--;
    }
    stream_maybe_free(st);
}

/* ---- holds and accessors ---- */

void ls_stream_hold(struct ls_stream *st)
{
    st->holds++;
}

void ls_stream_release(struct ls_stream *st)
{
    if (st->holds > 0)
        st->holds--;
    stream_maybe_free(st);
}

void ls_stream_forget_if_unused(struct ls_stream *st)
{
    stream_maybe_free(st);
}

const char *ls_stream_id(const struct ls_stream *st)
{
    return st->id;
}

struct ls_hub *ls_stream_hub(const struct ls_stream *st)
{
    return st->hub;
}

void *ls_stream_role_data(const struct ls_stream *st)
{
    return st->role_data;
}

void ls_stream_set_role_data(struct ls_stream *st, void *data)
{
    st->role_data = data;
    if (data == NULL)
        stream_maybe_free(st);
}

void ls_stream_stats(const struct ls_stream *st, struct ls_stream_stats *out)
{
    struct ls_subscriber *sub;

    memset(out, 0, sizeof *out);
    out->subscribers = st->nsubscribers - st->nhidden;
    out->external_viewers = ls_stream_external_viewers(st);
    out->bytes_in = st->bytes_in;
    out->bytes_out = st->bytes_out;
    out->frames_in = st->frames_in;
    out->frames_dropped = st->frames_dropped;
    LIST_FOREACH(sub, &st->subscribers, link)
        out->frames_dropped += sub->frames_dropped;
    if (st->source_owner != NULL) {
        out->kbps_in = st->kbps_in;
        out->uptime_ms = ls_now_ms() - st->source_since_ms;
    }
    out->video_codec = st->video_codec;
    out->audio_codec = st->audio_codec;
    out->width = st->width;
    out->height = st->height;
    out->framerate = st->framerate;
}

unsigned ls_stream_external_viewers(const struct ls_stream *st)
{
    return st->nsubscribers - st->nhidden - st->ninternal;
}

uint64_t ls_stream_bytes_out(const struct ls_stream *st)
{
    return st->bytes_out;
}
