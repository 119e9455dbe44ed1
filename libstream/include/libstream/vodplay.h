/*
 * vodplay.h — files played over RTMP: rtmp://HOST/vod/NAME plays DIR/NAME.flv (vod.h).
 *
 * One player per RTMP session that asks for a file, created by the session (session.c)
 * when it gets a play, or a getStreamLength, for the vod app. It is that viewer's own
 * source — files are not fanned out through the hub — and answers on the session's
 * connection:
 *
 *   play NAME [start] [duration] ─▶ StreamIsRecorded, StreamBegin, Play.Reset, Play.Start,
 *        |RtmpSampleAccess, Data.Start, then the tags from the keyframe at or before
 *        `start` (metadata and sequence headers first when that is not the file's start),
 *        paced by their timestamps `read_ahead_ms` ahead of real time;
 *   seek MS   ─▶ StreamIsRecorded, StreamBegin, Seek.Notify, Play.Start, then the tags
 *        from the keyframe at or before MS (the first tag sent carries its timestamp);
 *   pause true/false MS (and pauseRaw) ─▶ Pause.Notify + StreamEOF / StreamBegin +
 *        Unpause.Notify; playing resumes where it stopped;
 *   getStreamLength NAME ─▶ _result with the duration in seconds (from the file's
 *        timestamps), or _error NetStream.Play.StreamNotFound;
 *   the end ─▶ NetStream.Play.Stop, onPlayStatus NetStream.Play.Complete (a data
 *        message), StreamEOF; the viewer may seek again, or is closed connect_timeout later.
 *
 * Timestamps are the file's, relative to its first audio or video tag (flvindex.h).
 * A failure before playing starts (no such file, not FLV, vod.max_viewers) goes back to
 * the session through `failed`, which answers it. Requests (play, getStreamLength) are
 * answered in the order they came; at most LS_VODPLAY_MAX_REQUESTS getStreamLength
 * requests wait at a time (more are answered _error at once).
 *
 * Output is bounded like a live viewer's (docs/architecture.md decision 3): the player
 * queues nothing while the connection holds `viewer_queue_bytes` unsent, and a viewer that
 * writes nothing for `slow_viewer_timeout` while that full is dropped (`too_slow`). A
 * viewer that reads slowly simply gets the file slower: nothing is skipped.
 */
#ifndef LIBSTREAM_VODPLAY_H
#define LIBSTREAM_VODPLAY_H

#include <stdbool.h>
#include <stdint.h>

#include "libstream/auth.h"
#include "libstream/command.h"
#include "libstream/conn.h"
#include "libstream/stats.h"
#include "libstream/streamid.h"
#include "libstream/vod.h"

struct ls_vodplay;

#define LS_VODPLAY_MAX_REQUESTS 4

struct ls_vodplay_ops {
    /* The play failed before it started: the session answers the viewer (`reason`
     * LS_FAIL_NOT_FOUND → StreamNotFound, LS_FAIL_LIMIT → refused at a bound, other →
     * Play.Failed) and is idle again. `why` is static, for the log line. */
    void (*failed)(void *arg, enum ls_fail_reason reason, const char *why);
    /* The viewer stopped reading: the session counts it and closes the connection. */
    void (*too_slow)(void *arg, const char *why);
    void *arg;
};

/* A player answering on `conn` (borrowed: the session frees the player from its on_close).
 * NULL when out of memory. */
struct ls_vodplay *ls_vodplay_new(struct ls_vod *vod, struct ls_conn *conn,
                                  const struct ls_vodplay_ops *ops);
/* Stops everything (no answer is sent) and frees. NULL is ignored. */
void ls_vodplay_free(struct ls_vodplay *p);

/*
 * Plays `ref` (app LS_VOD_APP, admitted by the session) on message stream `stream_id`:
 * from `start_ms` (below 0: the beginning) for `duration_ms` (below 0: to the end). The
 * answer is on the connection, or `failed`.
 */
void ls_vodplay_play(struct ls_vodplay *p, uint32_t stream_id, const struct ls_stream_ref *ref,
                     double start_ms, double duration_ms);
/* Ends the play (closeStream, deleteStream): nothing more is sent; a play still being
 * opened is dropped without an answer. getStreamLength requests still get theirs. */
void ls_vodplay_stop(struct ls_vodplay *p);
/* True while a file plays, is paused, or has ended and may be sought again. */
bool ls_vodplay_active(const struct ls_vodplay *p);
/* seek, pause and pauseRaw on the stream of the current play: handled (true), else false. */
bool ls_vodplay_command(struct ls_vodplay *p, const struct ls_command *cmd, uint32_t stream_id);
/*
 * getStreamLength of `ref` (a file): passes the same admission as a play (`auth`,
 * `client` for auth_url), then answers transaction `txid` with the duration in seconds.
 */
void ls_vodplay_length(struct ls_vodplay *p, double txid, const struct ls_stream_ref *ref,
                       const struct ls_auth_config *auth, const char *client);

#endif /* LIBSTREAM_VODPLAY_H */
