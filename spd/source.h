/*
 * source.h — spd's pulled sources (`pull = ( { id; url; }, … )`, docs/interface.md
 * "Relays"): an RTMP stream on a server outside the cluster, kept live as the local
 * stream ID — played continuously, viewers or not, and played again with back-off
 * (pull_retry_max) whenever it drops. In a cluster the id is claimed at smd like a local
 * publisher's before each attempt, so every origin and edge can watch it; a local
 * publisher of the same id is refused.
 *
 * Each source is an external ls_pull (pull.h) feeding its stream as a source of kind
 * "publisher": to the rest of spd it is a local publisher that may come and go — peer
 * origins may pull it, pushes (push.h) follow it through the hooks below.
 */
#ifndef SPD_SOURCE_H
#define SPD_SOURCE_H

#include <stdbool.h>

struct ls_buf;
struct ls_json;
struct ls_media_node;
struct ls_stream;
struct spd_registry;
struct spd_sources;

struct spd_source_hooks {
    void (*live)(void *arg, const char *id);   /* the source's stream went live */
    void (*ended)(void *arg, const char *id);  /* ... and is no longer */
    void *arg;
};

/* The sources of `node`'s config (not started yet). `reg` is borrowed (claims) until
 * spd_sources_stop; hooks are copied. NULL on allocation failure. */
struct spd_sources *spd_sources_new(struct ls_media_node *node, struct spd_registry *reg,
                                    const struct spd_source_hooks *hooks);
/* Starts every configured source. */
void spd_sources_start(struct spd_sources *ss);
/* After a reload: sources removed from the list stop, new ones start, a changed url
 * starts again with it. */
void spd_sources_reload(struct spd_sources *ss);
/* `id` is a configured pulled source (a local publisher of it is refused). */
bool spd_sources_has(const struct spd_sources *ss, const char *id);
/* smd reports our registration of `id` taken over elsewhere: true when `id` is a pulled
 * source (its link is dropped; the next attempt claims again), false when it is not ours
 * to handle. */
bool spd_sources_revoked(struct spd_sources *ss, const char *id);
/* Stream `st`'s pulled source as a "pull" object in its /api/v1/streams entry. */
void spd_sources_json(struct spd_sources *ss, struct ls_json *j, struct ls_stream *st);
/* Appends livecluster_pulled_source* to /metrics. */
void spd_sources_metrics(struct ls_buf *out, const struct spd_sources *ss);
/* Shutdown, after the node stopped its pulls (ls_media_node_stop): claims in flight are
 * cancelled and every source ends. */
void spd_sources_stop(struct spd_sources *ss);
void spd_sources_free(struct spd_sources *ss);

#endif /* SPD_SOURCE_H */
