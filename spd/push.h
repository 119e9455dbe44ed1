/*
 * push.h — spd's push relays (`push = ( { app; url; args; }, … )`, docs/interface.md
 * "Relays"): every stream this origin owns under APP — a local publisher, or a pulled
 * source (source.h) — is also published to URL/NAME, for as long as it is live, with
 * reconnects and back-off. A stream this spd pulled from a peer origin is never pushed:
 * only the owner pushes, so a cluster pushes each stream once.
 *
 * A push is an RTMP client (client.h) publishing to the target and a hidden subscriber of
 * the stream's hub (not a viewer), fed the same shared RTMP encodings as viewers under the
 * same bound (docs/architecture.md decision 3): a target that cannot keep up skips to
 * keyframes and is dropped after slow_viewer_timeout, and a target that answers nothing
 * (no acknowledgement, no ping answer) for push_timeout is lost; both reconnect.
 */
#ifndef SPD_PUSH_H
#define SPD_PUSH_H

struct ls_buf;
struct ls_json;
struct ls_media_node;
struct ls_stream;
struct spd_pushes;

/* The pushes of `node` (its config's `push` list, read at each call). NULL on
 * allocation failure. */
struct spd_pushes *spd_pushes_new(struct ls_media_node *node);
/* Stream `id`, owned here, went live: its pushes start (those not running yet). */
void spd_pushes_live(struct spd_pushes *ps, const char *id);
/* Stream `id` stopped being live here: its pushes end (FCUnpublish, deleteStream). */
void spd_pushes_ended(struct spd_pushes *ps, const char *id);
/* After a reload: a push whose entry is gone ends; a new entry starts for every stream
 * live here from a local publisher or a pulled source. Back-off and push_timeout take
 * the new values at the next attempt. */
void spd_pushes_reload(struct spd_pushes *ps);
/* Stream `st`'s pushes as a "pushes" array, in its /api/v1/streams object (nothing when
 * it has none). */
void spd_pushes_json(struct spd_pushes *ps, struct ls_json *j, struct ls_stream *st);
/* Appends livecluster_push* to /metrics. */
void spd_pushes_metrics(struct ls_buf *out, const struct spd_pushes *ps);
/* Shutdown: every push ends at once. */
void spd_pushes_stop(struct spd_pushes *ps);
/* After spd_pushes_stop. NULL is ignored. */
void spd_pushes_free(struct spd_pushes *ps);

#endif /* SPD_PUSH_H */
