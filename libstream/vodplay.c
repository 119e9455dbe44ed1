/*
 * vodplay.c — a file played over RTMP to one viewer (see vodplay.h). Layer: roles' tools,
 * between the server session (which hands it the vod app's commands) and vod.c (files,
 * indexes, reads on the file workers).
 *
 * The player is a small pump driven by three things: file reads coming back, its timer,
 * and the viewer's commands.
 *
 *          file offset:  pos (next tag)            read_off (next read)
 *   file  ─────────────────┼───────── buf ────────────┼──────────────▶ end
 *                          └ tags not sent yet ───────┘
 *
 *   pump: while the next tag is whole in `buf`, due (its timestamp within read_ahead_ms of
 *         the play clock) and the connection holds less than viewer_queue_bytes unsent:
 *         chunk it onto the connection; then flush once, read on when less than a chunk is
 *         buffered, and sleep until the next tag is due (plus a batching slack) or, when
 *         the queue is full, poll the socket's progress.
 *
 * The play clock: tag timestamp `base_rel` is due at wall time `base_wall` (set at every
 * start, seek and unpause), so the first read_ahead_ms of media leave at once and the rest
 * at real-time pace. At most one read is in flight and at most two chunks (plus one whole
 * tag) are buffered: memory per viewer is bounded whatever the file.
 *
 * Everything that enters the player from outside the connection's callbacks (reads,
 * admission answers, the timer) holds the connection (conn.h), so a status that fills the
 * control queue, or a callback into the session, never frees the player under itself.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>

#include <event2/event.h>

#include "libstream/amf0.h"
#include "libstream/buf.h"
#include "libstream/bytes.h"
#include "libstream/chunk.h"
#include "libstream/clock.h"
#include "libstream/control.h"
#include "libstream/flv.h"
#include "libstream/log.h"
#include "libstream/rtmp.h"
#include "libstream/vodplay.h"

#define VP_POLL_MS 50          /* queue full: how often the socket's progress is checked */
#define VP_BATCH_MAX_MS 100    /* a wake-up sends up to this much media beyond what is due */
#define VP_SKIP_SETTLE_MS 2000 /* after a seek, tags before the keyframe are dropped this long */

enum vp_state {
    VP_IDLE,      /* nothing playing (or a play being opened) */
    VP_PLAYING,
    VP_PAUSED,
    VP_ENDED,     /* everything sent; a seek plays again */
};

enum vp_req_kind { REQ_PLAY, REQ_LENGTH };

struct vp_req {
    struct ls_vodplay *p;
    enum vp_req_kind kind;
    double txid;
    uint32_t stream_id;
    double start_ms, duration_ms;
    struct ls_stream_ref ref;
    struct ls_auth_request *auth; /* getStreamLength's admission, under way */
    int admitted;                 /* LS_AGAIN until answered, then the answer */
    bool started;                 /* its open was asked for */
    struct ls_vod_open *open;
    TAILQ_ENTRY(vp_req) link;
};

struct ls_vodplay {
    struct ls_vod *vod;
    struct ls_conn *conn;
    struct ls_vodplay_ops ops;
    struct event *timer;
    TAILQ_HEAD(, vp_req) reqs;
    unsigned nreqs;

    enum vp_state state;
    uint32_t stream_id;
    char id[LS_STREAM_ID_MAX + 1];   /* "vod/NAME" for log lines */
    bool viewer;                     /* holds one of vod.max_viewers */
    struct ls_vod_file *file;
    const struct ls_flvindex *ix;    /* the file's (valid while `file` is held) */
    struct ls_vod_read *rd;          /* the read in flight */
    uint64_t rd_off;
    size_t rd_len;

    uint8_t *buf;                    /* file bytes [buf_off, buf_off + buf_len) */
    size_t buf_len, buf_cap;
    uint64_t buf_off;
    uint64_t pos;                    /* the next tag to send */
    uint64_t end_off;                /* where playable data ends */
    uint32_t end_rel;                /* play `duration`: media after this ends the play */
    bool at_eof;                     /* nothing more to read */

    uint64_t base_wall;              /* the play clock: base_rel is due at base_wall */
    uint32_t base_rel;
    uint32_t sent_rel;               /* timestamp of the last media sent (or the start) */
    uint32_t skip_before;            /* after a seek: tags before the keyframe are dropped */
    bool skipping;
    const struct ls_flvindex_key *inject; /* metadata and sequence headers due first */
    uint32_t inject_ts;

    uint64_t blocked_since;          /* queue full since (0 = not full) */
    uint64_t blocked_out;            /* the connection's bytes out then */
    uint64_t bytes;                  /* media bytes sent in this play */
    uint64_t started_ms;
};

#define VP_LOG(p, level, ...) ls_log_peer(ls_conn_peer((p)->conn), (level), __VA_ARGS__)

static void vp_pump(struct ls_vodplay *p);
static void vp_req_next(struct ls_vodplay *p);

/* ---- sending ---- */

static void vp_send_payload(struct ls_vodplay *p, uint32_t stream_id, uint8_t type,
                            uint32_t ts, struct ls_buf *b)
{
    int rc = ls_buf_status(b);

    if (rc == LS_OK)
        rc = ls_conn_send(p->conn, stream_id == 0 ? LS_CSID_COMMAND : LS_CSID_DATA, type, ts,
                          stream_id, b->data, b->len);
    ls_buf_reset(b);
    if (rc != LS_OK) /* always inside a hold or the connection's callback: closes after */
        ls_conn_close(p->conn, rc, "cannot queue reply");
}

static void vp_status(struct ls_vodplay *p, const char *level, const char *code,
                      const char *description)
{
    struct ls_buf b;

    ls_buf_init(&b, 0);
    (void)ls_command_build_onstatus(&b, level, code, description,
                                    p->id[0] != '\0' ? strchr(p->id, '/') + 1 : NULL);
    vp_send_payload(p, p->stream_id, LS_MSG_COMMAND_AMF0, 0, &b);
    ls_buf_free(&b);
}

/* User control events on our stream: StreamBegin, StreamEOF, StreamIsRecorded. */
static void vp_control(struct ls_vodplay *p, bool recorded, bool begin, bool eof)
{
    struct ls_buf b;

    ls_buf_init(&b, 0);
    if (eof)
        ls_control_write_stream_eof(&b, p->stream_id);
    if (recorded)
        ls_control_write_stream_is_recorded(&b, p->stream_id);
    if (begin)
        ls_control_write_stream_begin(&b, p->stream_id);
    if (ls_conn_send_buf(p->conn, &b) != LS_OK)
        ls_conn_close(p->conn, LS_ELIMIT, "cannot queue reply");
    ls_buf_free(&b);
}

/* One file tag as an RTMP message on our stream; untracked like a live viewer's media. */
static int vp_send_tag(struct ls_vodplay *p, uint8_t type, uint32_t ts, const uint8_t *data,
                       uint32_t len)
{
    uint32_t csid = type == LS_MSG_AUDIO ? LS_CSID_AUDIO
                    : type == LS_MSG_VIDEO ? LS_CSID_VIDEO : LS_CSID_DATA;
    uint32_t chunk = ls_conn_out_chunk_size(p->conn);
    size_t size = ls_chunk_encoded_size(csid, ts, len, chunk);
    struct ls_frame *blob;

    if (size > UINT32_MAX)
        return LS_ELIMIT;
    blob = ls_frame_new(0, ts, p->stream_id, (uint32_t)size);
    if (blob == NULL)
        return LS_ENOMEM;
    ls_chunk_write_mem(blob->data, csid, type, ts, p->stream_id, data, len, chunk);
    p->bytes += len;
    return ls_conn_send_blob(p->conn, blob, type == LS_MSG_VIDEO ? LS_OUTQ_VIDEO
                                                                 : LS_OUTQ_AUDIO);
}

/* ---- the play clock ---- */

static void vp_timer_in(struct ls_vodplay *p, uint64_t ms)
{
    struct timeval tv = { .tv_sec = (time_t)(ms / 1000), .tv_usec = (long)(ms % 1000) * 1000 };

    evtimer_add(p->timer, &tv);
}

/* Media up to this relative timestamp may be sent now. */
static uint64_t vp_horizon(const struct ls_vodplay *p, uint64_t now)
{
    return (now - p->base_wall) + p->base_rel + ls_vod_config(p->vod)->read_ahead_ms;
}

static void vp_clock_start(struct ls_vodplay *p, uint32_t rel)
{
    p->base_wall = ls_now_ms();
    p->base_rel = rel;
    p->sent_rel = rel;
}

/* ---- reading ---- */

static void vp_read_done(void *arg, int rc, const uint8_t *data, size_t len);

/* Drops what was sent from the buffer's front. */
static void vp_compact(struct ls_vodplay *p)
{
    uint64_t end = p->buf_off + p->buf_len;

    if (p->pos >= end) {
        p->buf_len = 0;
        p->buf_off = p->pos;
        return;
    }
    if (p->pos > p->buf_off) {
        size_t drop = (size_t)(p->pos - p->buf_off);

        memmove(p->buf, p->buf + drop, p->buf_len - drop);
        p->buf_len -= drop;
        p->buf_off = p->pos;
    }
}

/* Asks for the next bytes when less than a chunk (or less than the next tag) is buffered. */
static void vp_read_more(struct ls_vodplay *p, uint64_t need_until)
{
    uint64_t have_until = p->buf_off + p->buf_len, len;

    if (p->rd != NULL || p->at_eof || p->file == NULL)
        return;
    if (p->pos > have_until) {
        /* a tag's trailer was not buffered yet: skip it in the file instead */
        p->buf_len = 0;
        p->buf_off = have_until = p->pos;
    }
    if (have_until >= p->end_off) {
        p->at_eof = true;
        return;
    }
    if (have_until >= need_until && have_until - p->pos >= LS_VOD_CHUNK)
        return; /* enough ahead */
    len = LS_VOD_CHUNK;
    if (need_until > have_until && need_until - have_until > len)
        len = need_until - have_until; /* a tag larger than a chunk */
    if (len > p->end_off - have_until)
        len = p->end_off - have_until;
    vp_compact(p);
    if (p->buf_len + len > p->buf_cap) {
        uint8_t *grown = realloc(p->buf, p->buf_len + (size_t)len);

        if (grown == NULL) {
            VP_LOG(p, LS_LOG_ERR, "%s: play %s: out of memory", ls_conn_peer(p->conn), p->id);
            p->at_eof = true; /* ends the play */
            return;
        }
        p->buf = grown;
        p->buf_cap = p->buf_len + (size_t)len;
    }
    p->rd_off = have_until;
    p->rd_len = (size_t)len;
    p->rd = ls_vod_read(p->file, have_until, (size_t)len, vp_read_done, p);
    if (p->rd == NULL)
        vp_timer_in(p, VP_POLL_MS); /* workers busy or memory short: try again soon */
}

static void vp_read_done(void *arg, int rc, const uint8_t *data, size_t len)
{
    struct ls_vodplay *p = arg;
    struct ls_conn *c = p->conn;

    p->rd = NULL;
    ls_conn_hold(c);
    if (rc != LS_OK) {
        p->at_eof = true; /* logged by vod.c: the play ends with what was read */
        p->end_off = p->buf_off + p->buf_len;
    } else if (p->buf_off + p->buf_len != p->rd_off || len > p->buf_cap - p->buf_len) {
        p->at_eof = true; /* cannot happen: reads are cancelled whenever the buffer moves */
        p->end_off = p->buf_off + p->buf_len;
    } else {
        /* the buffer was sized for this read when it was asked for */
        memcpy(p->buf + p->buf_len, data, len);
        p->buf_len += len;
        if (len < p->rd_len) { /* the file shrank: it ends here */
            p->at_eof = true;
            p->end_off = p->buf_off + p->buf_len;
        }
    }
    vp_pump(p);
    ls_conn_release(c); /* may close and free the session, and us */
}

static void vp_cancel_read(struct ls_vodplay *p)
{
    if (p->rd != NULL) {
        ls_vod_read_cancel(p->rd);
        p->rd = NULL;
    }
}

/* ---- positioning ---- */

/* Next tag: the keyframe at or before `ms` (the start when none, or ms <= 0); metadata
 * and sequence headers go first when that is not the file's beginning. Returns the
 * relative timestamp playing starts at. */
static uint32_t vp_position(struct ls_vodplay *p, double ms)
{
    const struct ls_flvindex_key *k = NULL;
    uint32_t at = 0;

    vp_cancel_read(p);
    p->buf_len = 0;
    p->at_eof = false;
    p->end_off = p->ix->data_end;
    p->inject = NULL;
    p->skipping = false;
    if (ms > 0) {
        at = ms >= (double)UINT32_MAX ? UINT32_MAX : (uint32_t)ms;
        k = ls_flvindex_seek(p->ix, at);
    }
    if (k == NULL || k->offset <= p->ix->data_start) {
        p->pos = p->ix->data_start;
        at = k != NULL ? k->ts : 0;
    } else {
        p->pos = k->offset;
        p->inject = k;
        p->inject_ts = k->ts;
        p->skipping = true;
        p->skip_before = k->ts;
        at = k->ts;
    }
    p->buf_off = p->pos;
    return at;
}

/* The file's onMetaData and the decoder configuration for the keyframe we start at. */
static void vp_send_injected(struct ls_vodplay *p)
{
    const struct ls_flvindex_key *k = p->inject;
    const struct ls_flvindex_blob *bl[3];
    size_t i;

    p->inject = NULL;
    bl[0] = ls_flvindex_blob(p->ix, p->ix->meta);
    bl[1] = ls_flvindex_blob(p->ix, k->vseq);
    bl[2] = ls_flvindex_blob(p->ix, k->aseq);
    /* Metadata at timestamp 0, as at a play's start: FFmpeg's FLV reader (5.x) takes a
     * script message with a later timestamp for a new data stream, and ffprobe counting
     * frames then crashes. The sequence headers go at the keyframe's time. */
    for (i = 0; i < 3; i++)
        if (bl[i] != NULL)
            (void)vp_send_tag(p, bl[i]->type, i == 0 ? 0 : p->inject_ts, bl[i]->data,
                              bl[i]->len);
}

/* ---- the end ---- */

/*
 * The end: onStatus NetStream.Play.Stop, then the data message onPlayStatus
 * NetStream.Play.Complete, then StreamEOF. A Flash player fires Play.Stop at once and
 * Complete when playback reaches it (data messages wait in its buffer). Play.Stop goes
 * first because FFmpeg's RTMP reader ends there: from FFmpeg 5.x on, its FLV reader takes
 * any unknown script message for a new data stream, and ffprobe counting frames crashes
 * on one that appears at the end.
 */
static void vp_complete(struct ls_vodplay *p)
{
    struct ls_buf b;

    p->state = VP_ENDED;
    vp_cancel_read(p);
    free(p->buf);
    p->buf = NULL;
    p->buf_len = p->buf_cap = 0;
    vp_status(p, "status", "NetStream.Play.Stop", "Stopped playing.");
    ls_buf_init(&b, 0);
    ls_amf0_write_cstring(&b, "onPlayStatus");
    ls_amf0_write_object_begin(&b);
    ls_amf0_write_ckey(&b, "level");
    ls_amf0_write_cstring(&b, "status");
    ls_amf0_write_ckey(&b, "code");
    ls_amf0_write_cstring(&b, "NetStream.Play.Complete");
    ls_amf0_write_ckey(&b, "duration");
    ls_amf0_write_number(&b, p->ix->duration_ms / 1000.0);
    ls_amf0_write_ckey(&b, "bytes");
    ls_amf0_write_number(&b, (double)p->bytes);
    ls_amf0_write_object_end(&b);
    vp_send_payload(p, p->stream_id, LS_MSG_DATA_AMF0, p->sent_rel, &b);
    ls_buf_free(&b);
    vp_control(p, false, false, true);
    /* Nothing asked for: the connection goes back to connect_timeout (a seek resumes). */
    ls_conn_set_deadline(p->conn, ls_vod_config(p->vod)->idle_timeout_ms,
                         "connect_timeout: a file played to its end and nothing since");
    VP_LOG(p, LS_LOG_INFO, "%s: play %s complete (%llu bytes in %llu ms)",
           ls_conn_peer(p->conn), p->id, (unsigned long long)p->bytes,
           (unsigned long long)(ls_now_ms() - p->started_ms));
}

/* ---- the pump ---- */

/* The queue is full: nothing more now. True when the viewer has written nothing for
 * slow_viewer_timeout (the caller then stops: the player may be gone). */
static bool vp_blocked(struct ls_vodplay *p, uint64_t now)
{
    const struct ls_vod_config *cfg = ls_vod_config(p->vod);
    uint64_t out = ls_conn_bytes_out(p->conn);

    if (p->blocked_since == 0 || out != p->blocked_out) {
        p->blocked_since = now;
        p->blocked_out = out;
    } else if (now - p->blocked_since >= cfg->slow_timeout_ms) {
        p->ops.too_slow(p->ops.arg, "wrote nothing for slow_viewer_timeout with a full queue");
        return true;
    }
    vp_timer_in(p, VP_POLL_MS);
    return false;
}

static void vp_pump(struct ls_vodplay *p)
{
    const struct ls_vod_config *cfg = ls_vod_config(p->vod);
    uint64_t now = ls_now_ms(), horizon, need_until;
    bool sent = false;

    if (p->state != VP_PLAYING)
        return;
    evtimer_del(p->timer);
    horizon = vp_horizon(p, now);
    for (;;) {
        const uint8_t *h;
        uint64_t tag_end;
        uint32_t size, ts, rel;
        uint8_t type;

        need_until = p->pos + LS_FLV_TAG_HEADER_SIZE;
        if (p->pos + LS_FLV_TAG_HEADER_SIZE > p->end_off)
            break; /* the end */
        if (need_until > p->buf_off + p->buf_len)
            break; /* read on */
        h = p->buf + (p->pos - p->buf_off);
        type = h[0] & 0x1f;
        size = ls_get_be24(h + 1);
        ts = ls_get_be24(h + 4) | (uint32_t)h[7] << 24;
        tag_end = p->pos + LS_FLV_TAG_HEADER_SIZE + size;
        need_until = tag_end;
        if (tag_end > p->end_off || size > cfg->max_tag_size) {
            p->end_off = p->pos; /* the index stopped here too */
            break;
        }
        if (tag_end > p->buf_off + p->buf_len)
            break; /* read the rest of this tag */
        rel = ls_flvindex_rel_ts(p->ix, ts);
        if (type == LS_FLV_TAG_AUDIO || type == LS_FLV_TAG_VIDEO) {
            if (p->end_rel != UINT32_MAX && rel > p->end_rel) {
                p->end_off = p->pos; /* the play's duration is over */
                break;
            }
            if (rel > horizon) {
                /* Not due yet: wake when it is, with some slack to send a batch. */
                uint64_t wait = rel - horizon;
                uint64_t slack = cfg->read_ahead_ms / 4;

                vp_timer_in(p, wait + (slack < VP_BATCH_MAX_MS ? slack : VP_BATCH_MAX_MS));
                goto out;
            }
        }
        if (ls_outq_bytes(ls_conn_outq(p->conn)) >= cfg->queue_max_bytes) {
            if (vp_blocked(p, now))
                return;
            goto out;
        }
        p->blocked_since = 0;
        if (p->skipping && rel >= p->skip_before + VP_SKIP_SETTLE_MS)
            p->skipping = false;
        if ((type == LS_FLV_TAG_AUDIO || type == LS_FLV_TAG_VIDEO ||
             type == LS_FLV_TAG_SCRIPT) &&
            !(p->skipping && rel < p->skip_before)) {
            if (p->inject != NULL)
                vp_send_injected(p);
            if (vp_send_tag(p, type, rel, h + LS_FLV_TAG_HEADER_SIZE, size) != LS_OK)
                break; /* the connection is closing */
            sent = true;
            if (type != LS_FLV_TAG_SCRIPT && rel > p->sent_rel)
                p->sent_rel = rel;
        }
        p->pos = tag_end + LS_FLV_TAG_TRAILER_SIZE;
    }
    if (p->pos + LS_FLV_TAG_HEADER_SIZE > p->end_off ||
        (p->at_eof && need_until > p->buf_off + p->buf_len)) {
        if (sent)
            ls_conn_flush(p->conn);
        vp_complete(p);
        ls_conn_flush(p->conn);
        return;
    }
    vp_read_more(p, need_until);
out:
    if (sent)
        ls_conn_flush(p->conn);
    if (p->rd == NULL && p->state == VP_PLAYING)
        vp_read_more(p, p->pos + LS_FLV_TAG_HEADER_SIZE);
}

static void vp_timer_cb(evutil_socket_t fd, short what, void *arg)
{
    struct ls_vodplay *p = arg;
    struct ls_conn *c = p->conn;

    (void)fd;
    (void)what;
    ls_conn_hold(c);
    vp_pump(p);
    ls_conn_release(c);
}

/* ---- starting and stopping ---- */

static void vp_release_play(struct ls_vodplay *p)
{
    evtimer_del(p->timer);
    vp_cancel_read(p);
    free(p->buf);
    p->buf = NULL;
    p->buf_len = p->buf_cap = 0;
    ls_vod_file_release(p->file);
    p->file = NULL;
    p->ix = NULL;
    p->inject = NULL;
    if (p->viewer) {
        ls_vod_viewer_release(p->vod);
        p->viewer = false;
    }
    p->state = VP_IDLE;
}

/* A file opened for a play: announce it and start sending. */
static void vp_start(struct ls_vodplay *p, struct vp_req *r, struct ls_vod_file *file)
{
    uint32_t at;

    p->file = file;
    p->ix = ls_vod_file_index(file);
    p->stream_id = r->stream_id;
    p->bytes = 0;
    p->started_ms = ls_now_ms();
    p->blocked_since = 0;
    p->end_rel = r->duration_ms >= 0 && r->duration_ms < (double)UINT32_MAX
                     ? (uint32_t)r->duration_ms : UINT32_MAX;
    at = vp_position(p, r->start_ms);
    if (p->end_rel != UINT32_MAX)
        p->end_rel = p->end_rel > UINT32_MAX - at ? UINT32_MAX : p->end_rel + at;
    vp_clock_start(p, at);
    p->state = VP_PLAYING;
    ls_conn_set_deadline(p->conn, 0, NULL);
    ls_conn_set_quickack(p->conn, false);
    vp_control(p, true, true, false);
    vp_status(p, "status", "NetStream.Play.Reset", "Playing and resetting.");
    vp_status(p, "status", "NetStream.Play.Start", "Started playing.");
    {
        struct ls_buf b;

        ls_buf_init(&b, 0);
        (void)ls_data_build_sample_access(&b, true, true);
        vp_send_payload(p, p->stream_id, LS_MSG_DATA_AMF0, 0, &b);
        ls_buf_free(&b);
    }
    vp_status(p, "status", "NetStream.Data.Start", "Started playing.");
    VP_LOG(p, LS_LOG_INFO, "%s: play %s started (file, %.3f s, from %u ms)",
           ls_conn_peer(p->conn), p->id, p->ix->duration_ms / 1000.0, at);
    vp_pump(p);
    ls_conn_flush(p->conn);
}

/* ---- requests: play and getStreamLength, answered in order ---- */

static void vp_req_free(struct vp_req *r)
{
    if (r->auth != NULL)
        ls_auth_cancel(r->auth);
    ls_vod_open_cancel(r->open);
    free(r);
}

static void vp_req_pop(struct ls_vodplay *p, struct vp_req *r)
{
    TAILQ_REMOVE(&p->reqs, r, link);
    p->nreqs--;
}

static void vp_length_answer(struct ls_vodplay *p, double txid, int rc, double seconds)
{
    struct ls_buf b;
    struct ls_amf_value v = { 0 };

    ls_buf_init(&b, 0);
    if (rc == LS_OK) {
        ls_amf_set_number(&v, seconds);
        (void)ls_command_build_result(&b, "_result", txid, NULL, &v);
    } else {
        (void)ls_command_build_error(&b, txid, "NetStream.Play.StreamNotFound",
                                     rc == LS_EAUTH ? "Authorization failed"
                                                    : "No such file");
    }
    vp_send_payload(p, 0, LS_MSG_COMMAND_AMF0, 0, &b);
    ls_buf_free(&b);
}

static void vp_opened(void *arg, int rc, struct ls_vod_file *file, const char *why)
{
    struct vp_req *r = arg;
    struct ls_vodplay *p = r->p;
    struct ls_conn *c = p->conn;
    enum vp_req_kind kind = r->kind;
    double txid = r->txid;

    r->open = NULL;
    ls_conn_hold(c);
    vp_req_pop(p, r);
    if (kind == REQ_LENGTH) {
        const struct ls_flvindex *ix = rc == LS_OK ? ls_vod_file_index(file) : NULL;

        vp_length_answer(p, txid, rc, ix != NULL ? ix->duration_ms / 1000.0 : 0);
        ls_vod_file_release(file);
        free(r);
    } else if (rc == LS_OK) {
        vp_start(p, r, file);
        free(r);
    } else {
        free(r);
        vp_release_play(p);
        p->ops.failed(p->ops.arg,
                      rc == LS_ENOTFOUND || rc == LS_EPROTO ? LS_FAIL_NOT_FOUND
                      : rc == LS_ELIMIT ? LS_FAIL_LIMIT : LS_FAIL_INTERNAL,
                      why != NULL ? why : "cannot open the file");
    }
    vp_req_next(p);
    ls_conn_flush(c);
    ls_conn_release(c);
}

/* Starts the first request when it may start (a length waits for its admission). */
static void vp_req_next(struct ls_vodplay *p)
{
    struct vp_req *r = TAILQ_FIRST(&p->reqs);

    while (r != NULL && !r->started) {
        if (r->kind == REQ_LENGTH && r->admitted == LS_AGAIN)
            return;
        if (r->kind == REQ_LENGTH && r->admitted != LS_OK) {
            vp_req_pop(p, r);
            vp_length_answer(p, r->txid, LS_EAUTH, 0);
            vp_req_free(r);
            r = TAILQ_FIRST(&p->reqs);
            continue;
        }
        if (r->kind == REQ_PLAY && ls_vod_viewer_acquire(p->vod) != LS_OK) {
            vp_req_pop(p, r);
            vp_req_free(r);
            p->ops.failed(p->ops.arg, LS_FAIL_LIMIT, "vod.max_viewers reached");
            r = TAILQ_FIRST(&p->reqs);
            continue;
        }
        if (r->kind == REQ_PLAY)
            p->viewer = true;
        r->started = true;
        r->open = ls_vod_open(p->vod, r->ref.name, true, vp_opened, r);
        if (r->open == NULL) {
            bool play = r->kind == REQ_PLAY;
            double txid = r->txid;

            vp_req_pop(p, r);
            vp_req_free(r);
            if (play) {
                vp_release_play(p);
                p->ops.failed(p->ops.arg, LS_FAIL_LIMIT, "file workers busy");
            } else {
                vp_length_answer(p, txid, LS_ENOTFOUND, 0);
            }
            r = TAILQ_FIRST(&p->reqs);
        }
    }
}

static struct vp_req *vp_req_new(struct ls_vodplay *p, enum vp_req_kind kind,
                                 const struct ls_stream_ref *ref)
{
    struct vp_req *r;

    /* getStreamLength requests wait at most LS_VODPLAY_MAX_REQUESTS at a time; a play is
     * one at most (a new one replaces it), so it always has its place. */
    if (kind == REQ_LENGTH && p->nreqs >= LS_VODPLAY_MAX_REQUESTS)
        return NULL;
    r = calloc(1, sizeof *r);
    if (r == NULL)
        return NULL;
    r->p = p;
    r->kind = kind;
    r->ref = *ref;
    r->admitted = LS_OK;
    TAILQ_INSERT_TAIL(&p->reqs, r, link);
    p->nreqs++;
    return r;
}

void ls_vodplay_play(struct ls_vodplay *p, uint32_t stream_id, const struct ls_stream_ref *ref,
                     double start_ms, double duration_ms)
{
    struct vp_req *r;

    ls_vodplay_stop(p);
    snprintf(p->id, sizeof p->id, "%s", ref->id);
    p->stream_id = stream_id;
    r = vp_req_new(p, REQ_PLAY, ref);
    if (r == NULL) {
        p->ops.failed(p->ops.arg, LS_FAIL_INTERNAL, "out of memory");
        return;
    }
    r->stream_id = stream_id;
    r->start_ms = isnan(start_ms) ? -1 : start_ms;
    r->duration_ms = isnan(duration_ms) ? -1 : duration_ms;
    vp_req_next(p);
}

static void vp_length_admitted(void *arg, int result, const char *why)
{
    struct vp_req *r = arg;
    struct ls_vodplay *p = r->p;
    struct ls_conn *c = p->conn;

    r->auth = NULL;
    r->admitted = result == LS_OK ? LS_OK : LS_EAUTH;
    if (result != LS_OK)
        VP_LOG(p, LS_LOG_INFO, "%s: getStreamLength %s refused: %s", ls_conn_peer(c), r->ref.id,
               why != NULL ? why : "not authorised");
    ls_conn_hold(c);
    vp_req_next(p);
    ls_conn_flush(c);
    ls_conn_release(c);
}

void ls_vodplay_length(struct ls_vodplay *p, double txid, const struct ls_stream_ref *ref,
                       const struct ls_auth_config *auth, const char *client)
{
    struct vp_req *r = vp_req_new(p, REQ_LENGTH, ref);

    if (r == NULL) {
        vp_length_answer(p, txid, LS_ENOTFOUND, 0);
        return;
    }
    r->txid = txid;
    r->admitted = LS_AGAIN;
    r->auth = ls_auth_check(ls_vod_base(p->vod), auth, "play", ref, client, vp_length_admitted,
                            r);
    if (r->auth == NULL)
        r->admitted = LS_EAUTH;
    vp_req_next(p);
}

void ls_vodplay_stop(struct ls_vodplay *p)
{
    struct vp_req *r, *next;

    if (p == NULL)
        return;
    /* a play still being opened is dropped; lengths keep their place */
    for (r = TAILQ_FIRST(&p->reqs); r != NULL; r = next) {
        next = TAILQ_NEXT(r, link);
        if (r->kind == REQ_PLAY) {
            vp_req_pop(p, r);
            vp_req_free(r);
        }
    }
    if (p->state != VP_IDLE)
        VP_LOG(p, LS_LOG_INFO, "%s: play %s stopped", ls_conn_peer(p->conn), p->id);
    vp_release_play(p);
    vp_req_next(p);
}

bool ls_vodplay_active(const struct ls_vodplay *p)
{
    return p != NULL && p->state != VP_IDLE;
}

/* ---- seek and pause ---- */

static void vp_seek(struct ls_vodplay *p, double ms)
{
    char desc[96];
    uint32_t at;

    at = vp_position(p, ms);
    if (p->state == VP_ENDED) {
        p->state = VP_PLAYING;
        ls_conn_set_deadline(p->conn, 0, NULL);
    }
    vp_clock_start(p, at);
    p->blocked_since = 0;
    vp_control(p, true, true, false);
    snprintf(desc, sizeof desc, "Seeking %.0f (stream ID: %u).", ms < 0 ? 0 : ms, p->stream_id);
    vp_status(p, "status", "NetStream.Seek.Notify", desc);
    vp_status(p, "status", "NetStream.Play.Start", "Started playing.");
    VP_LOG(p, LS_LOG_DEBUG, "%s: play %s: seek to %.0f ms: keyframe at %u ms",
           ls_conn_peer(p->conn), p->id, ms, at);
    vp_pump(p);
}

static void vp_pause(struct ls_vodplay *p, bool pause, double ms)
{
    const struct ls_vod_config *cfg = ls_vod_config(p->vod);

    if (pause && p->state == VP_PLAYING) {
        p->state = VP_PAUSED;
        evtimer_del(p->timer);
        vp_status(p, "status", "NetStream.Pause.Notify", "Paused.");
        vp_control(p, false, false, true);
    } else if (!pause && p->state == VP_PAUSED) {
        /* The player's position (`ms`) is a little behind what it was sent; resume the
         * clock from there, never so far back that its buffer would run dry. */
        uint32_t lo = p->sent_rel > cfg->read_ahead_ms ? p->sent_rel - cfg->read_ahead_ms : 0;
        uint32_t at = ms >= p->sent_rel ? p->sent_rel : ms <= lo ? lo : (uint32_t)ms;

        p->state = VP_PLAYING;
        p->base_wall = ls_now_ms();
        p->base_rel = at;
        p->blocked_since = 0;
        vp_control(p, false, true, false);
        vp_status(p, "status", "NetStream.Unpause.Notify", "Unpaused.");
        vp_pump(p);
    } else if (pause) {
        vp_status(p, "status", "NetStream.Pause.Notify", "Paused.");
    } else {
        vp_status(p, "status", "NetStream.Unpause.Notify", "Unpaused.");
    }
}

bool ls_vodplay_command(struct ls_vodplay *p, const struct ls_command *cmd, uint32_t stream_id)
{
    double ms = 0;
    bool pause = true;

    if (p == NULL || (stream_id != 0 && stream_id != p->stream_id))
        return false;
    if (p->state == VP_IDLE) {
        struct vp_req *r;

        /* A seek before the play is open: it starts there. */
        if (strcmp(cmd->name, "seek") != 0)
            return false;
        TAILQ_FOREACH(r, &p->reqs, link) {
            if (r->kind == REQ_PLAY) {
                if (cmd->nargs >= 1 && ls_amf_as_number(&cmd->args[0], &ms) && !isnan(ms))
                    r->start_ms = ms;
                return true;
            }
        }
        return false;
    }
    if (strcmp(cmd->name, "seek") == 0) {
        if (cmd->nargs >= 1)
            (void)ls_amf_as_number(&cmd->args[0], &ms);
        vp_seek(p, isnan(ms) ? 0 : ms);
        return true;
    }
    if (strcmp(cmd->name, "pause") == 0 || strcmp(cmd->name, "pauseRaw") == 0) {
        if (cmd->nargs >= 1 && cmd->args[0].type == LS_AMF_BOOLEAN)
            pause = cmd->args[0].u.boolean;
        if (cmd->nargs >= 2)
            (void)ls_amf_as_number(&cmd->args[1], &ms);
        if (p->state == VP_ENDED) {
            vp_status(p, "status", pause ? "NetStream.Pause.Notify" : "NetStream.Unpause.Notify",
                      pause ? "Paused." : "Unpaused.");
            return true;
        }
        vp_pause(p, pause, isnan(ms) || ms < 0 ? 0 : ms);
        return true;
    }
    return false;
}

/* ---- lifetime ---- */

struct ls_vodplay *ls_vodplay_new(struct ls_vod *vod, struct ls_conn *conn,
                                  const struct ls_vodplay_ops *ops)
{
    struct ls_vodplay *p = calloc(1, sizeof *p);

    if (p == NULL)
        return NULL;
    p->vod = vod;
    p->conn = conn;
    p->ops = *ops;
    TAILQ_INIT(&p->reqs);
    p->timer = evtimer_new(ls_vod_base(vod), vp_timer_cb, p);
    if (p->timer == NULL) {
        free(p);
        return NULL;
    }
    return p;
}

void ls_vodplay_free(struct ls_vodplay *p)
{
    struct vp_req *r;

    if (p == NULL)
        return;
    while ((r = TAILQ_FIRST(&p->reqs)) != NULL) {
        vp_req_pop(p, r);
        vp_req_free(r);
    }
    vp_release_play(p);
    event_free(p->timer);
    free(p);
}
