/*
 * origin.c — spd's role on top of the media node (medianode.h).
 *
 * Standalone (no source_managers): a hub that takes publishers; a play of an id that is
 * not live waits for a local publisher.
 *
 * In a cluster (every smd also hears this origin's viewers and counters: reporter.h):
 *   publish  → claim the id at every reachable smd before Publish.Start (registry.c);
 *              busy elsewhere → NetStream.Publish.BadName; the claim is released when the
 *              publisher stops
 *   play of an id not published here → ONE pull (ls_pull, kind "peer") from the origin
 *              the registry names, shared by every local viewer and edge; the id is
 *              watched so a stream published later starts at once
 *   smd asks → how long has our publisher been idle (takeover); smd revokes → drop it
 * An origin never pulls from itself, and never serves a peer's pull from a pulled copy
 * (session.c): no chains, no loops (docs/architecture.md decision 7).
 *
 * Relays (push.c, source.c): what this origin owns — its publishers and its pulled
 * sources — is pushed to the `push` targets of its app while live; a pulled source is a
 * publisher to everything here (claimed at smd, served to peers), so a local publisher of
 * its id is refused.
 *
 * Files on demand (`vod = { dir = … }`): the vod app's plays go to libstream's file
 * players (vod.h, vodplay.h) and GET /vod/NAME.flv to vodhttp.h; files never enter the
 * hub or the registry.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>

#include "libstream/clock.h"
#include "libstream/config.h"
#include "libstream/log.h"
#include "libstream/medianode.h"
#include "libstream/streamsapi.h"
#include "push.h"
#include "libstream/vod.h"
#include "libstream/vodhttp.h"
#include "libstream/reporter.h"
#include "record.h"
#include "registry.h"
#include "source.h"
#include "spd.h"

struct origin_lookup {
    struct spd_origin *origin;
    struct ls_pull *pull;
    struct spd_lookup *lookup;
    LIST_ENTRY(origin_lookup) link;
};

struct origin_claim {
    struct spd_origin *origin;
    struct ls_publish_claim *session_claim;
    struct spd_claim *claim;
    LIST_ENTRY(origin_claim) link;
};

struct origin_recording {
    struct spd_recorder *rec;
    LIST_ENTRY(origin_recording) link;
};

struct spd_origin {
    struct ls_media_node *node;
    LIST_HEAD(, origin_recording) recordings;
    struct spd_registry *registry;        /* NULL when standalone */
    struct ls_reporter *reporter;         /* what the registry links report to smd */
    struct ls_pull_ops pull_ops;
    char advertise[LS_ADDR_STRLEN];
    LIST_HEAD(, origin_lookup) lookups;
    LIST_HEAD(, origin_claim) claims;
    struct spd_pushes *pushes;
    struct spd_sources *sources;
    struct ls_streamsapi_extra api;       /* /api/v1/streams with pushes and sources */
    struct ls_vod *vod;                   /* NULL without vod.dir */
    struct ls_vodhttp *vodhttp;
};

/* ---- pulls from peer origins ---- */

static void origin_lookup_done(void *arg, int result, const char *origin, const char *node_id)
{
    struct origin_lookup *lk = arg;
    struct spd_origin *o = lk->origin;
    struct ls_pull *pull = lk->pull;

    LIST_REMOVE(lk, link);
    free(lk);
    if (result != LS_OK) {
        ls_pull_unavailable(pull, result == LS_ENOTFOUND ? "not published anywhere yet"
                                                         : "no registry reachable");
        return;
    }
    if (strcmp(origin, o->advertise) == 0 || strcmp(node_id, o->node->conf.node_id) == 0) {
        /* The registry says we own it, but nothing is published here (a stale entry
         * about to be released): never pull from ourselves. */
        ls_pull_unavailable(pull, "registry names this node");
        return;
    }
    ls_pull_connect(pull, origin, node_id);
}

static void origin_resolve(struct ls_pull *pull, void *arg, const char *id)
{
    struct spd_origin *o = arg;
    struct origin_lookup *lk = calloc(1, sizeof *lk);

    if (lk == NULL) {
        ls_pull_unavailable(pull, "out of memory");
        return;
    }
    lk->origin = o;
    lk->pull = pull;
    LIST_INSERT_HEAD(&o->lookups, lk, link);
    lk->lookup = spd_registry_lookup(o->registry, id, origin_lookup_done, lk);
    if (lk->lookup == NULL) {
        LIST_REMOVE(lk, link);
        free(lk);
        ls_pull_unavailable(pull, "registry lookup failed");
    }
}

static void origin_pull_ended(struct ls_pull *pull, void *arg, const char *id)
{
    struct spd_origin *o = arg;

    (void)pull;
    if (o->registry != NULL)
        spd_registry_unwatch(o->registry, id);
}

/* A stream here has viewers and no source: pull it from whoever owns it. LS_ELIMIT when
 * max_pulls pulls run already. */
static int origin_want(struct spd_origin *o, struct ls_stream *st)
{
    struct ls_pull *pull = ls_stream_role_data(st);

    if (o->registry == NULL || !spd_registry_enabled(o->registry))
        return LS_OK; /* standalone: viewers wait for a local publisher */
    if (spd_sources_has(o->sources, ls_stream_id(st)))
        return LS_OK; /* a pulled source here: viewers wait for it, not for a peer */
    if (pull != NULL) {
        ls_pull_kick(pull);
        return LS_OK;
    }
    if (ls_pull_check_limit(ls_stream_id(st), (size_t)o->node->conf.max_pulls) != LS_OK)
        return LS_ELIMIT;
    spd_registry_watch(o->registry, ls_stream_id(st));
    if (ls_pull_start(st, LS_SOURCE_PEER, &o->node->pull_cfg, &o->pull_ops) != LS_OK) {
        spd_registry_unwatch(o->registry, ls_stream_id(st));
        ls_log(LS_LOG_ERR, "pull %s: out of memory", ls_stream_id(st));
    }
    return LS_OK;
}

static int origin_stream_wanted(void *arg, struct ls_stream *st)
{
    return origin_want(arg, st);
}

/* ---- publishers and the registry ---- */

static void origin_claim_done(void *arg, int result, const char *why)
{
    struct origin_claim *oc = arg;
    struct ls_publish_claim *session_claim = oc->session_claim;

    LIST_REMOVE(oc, link);
    free(oc);
    ls_publish_claim_done(session_claim, result, why);
}

static void origin_publish_claim(void *arg, struct ls_publish_claim *claim, const char *id,
                                 bool takeover)
{
    struct spd_origin *o = arg;
    struct origin_claim *oc;

    (void)takeover;
    if (spd_sources_has(o->sources, id)) {
        ls_publish_claim_done(claim, LS_EBUSY, "the id is a pulled source here");
        return;
    }
    if (o->registry == NULL || !spd_registry_enabled(o->registry)) {
        ls_publish_claim_done(claim, LS_OK, NULL);
        return;
    }
    oc = calloc(1, sizeof *oc);
    if (oc == NULL) {
        ls_publish_claim_done(claim, LS_ENOMEM, "out of memory");
        return;
    }
    oc->origin = o;
    oc->session_claim = claim;
    LIST_INSERT_HEAD(&o->claims, oc, link);
    oc->claim = spd_registry_claim(o->registry, id, ls_unix_time(),
                                   ls_publish_claim_publisher(claim), origin_claim_done, oc);
    if (oc->claim == NULL) {
        LIST_REMOVE(oc, link);
        free(oc);
        ls_publish_claim_done(claim, LS_ENOMEM, "out of memory");
    }
}

static void origin_publish_claim_cancelled(void *arg, struct ls_publish_claim *claim)
{
    struct spd_origin *o = arg;
    struct origin_claim *oc;

    LIST_FOREACH(oc, &o->claims, link) {
        if (oc->session_claim == claim) {
            LIST_REMOVE(oc, link);
            spd_registry_claim_cancel(oc->claim);
            free(oc);
            /* The session is gone; the claim object is ours to free through done. */
            ls_publish_claim_done(claim, LS_ESTATE, "publisher left");
            return;
        }
    }
}

static void origin_publish_started(void *arg, const char *id)
{
    struct spd_origin *o = arg;
    const struct ls_media_record_conf *rc = &o->node->conf.record;
    struct ls_stream *st = ls_hub_find(o->node->hub, id);
    struct ls_pull *pull = st != NULL ? ls_stream_role_data(st) : NULL;
    struct origin_recording *r;

    /* A pull still retrying for this id (its peer died) has nothing left to do. */
    if (pull != NULL)
        ls_pull_stop(pull, "a publisher took the stream here");
    spd_pushes_live(o->pushes, id);
    if (!rc->enabled || rc->dir == NULL || rc->dir[0] == '\0')
        return;
    r = calloc(1, sizeof *r);
    if (r == NULL)
        return;
    r->rec = spd_record_start(o->node->hub,
                              &(struct spd_record_config){ .dir = rc->dir,
                                                           .max_bytes = (uint64_t)rc->max_bytes,
                                                           .min_free_bytes =
                                                               (uint64_t)rc->min_free_bytes },
                              id);
    if (r->rec == NULL) {
        free(r);
        return;
    }
    LIST_INSERT_HEAD(&o->recordings, r, link);
}

static void origin_record_stop(struct spd_origin *o, const char *id)
{
    struct origin_recording *r;

    LIST_FOREACH(r, &o->recordings, link) {
        if (id == NULL || strcmp(spd_record_id(r->rec), id) == 0) {
            LIST_REMOVE(r, link);
            spd_record_stop(r->rec);
            free(r);
            return;
        }
    }
}

static void origin_publish_ended(void *arg, const char *id, uint64_t publisher)
{
    struct spd_origin *o = arg;
    struct ls_stream *st;

    /* First: the recorder and the pushes may be the stream's last subscribers, and their
     * leaving frees it. */
    origin_record_stop(o, id);
    spd_pushes_ended(o->pushes, id);
    st = ls_hub_find(o->node->hub, id);
    /* Only this publisher's claim: after a local takeover the id is its successor's. */
    if (o->registry != NULL)
        spd_registry_release(o->registry, id, publisher);
    /* Viewers stay: if the publisher comes back — here or on another origin — they
     * resume (decision 8). */
    if (st != NULL && !ls_stream_has_source(st)) {
        struct ls_stream_stats s;

        ls_stream_stats(st, &s);
        if (s.subscribers > 0)
            (void)origin_want(o, st); /* over max_pulls: they wait, as for a retry */
    }
}

static int origin_publisher_idle(void *arg, const char *id, uint64_t *idle_ms)
{
    struct spd_origin *o = arg;
    struct ls_stream *st = ls_hub_find(o->node->hub, id);

    if (st == NULL || !ls_stream_has_source(st) ||
        ls_stream_source_kind(st) != LS_SOURCE_PUBLISHER)
        return LS_ENOTFOUND;
    *idle_ms = ls_stream_source_idle_ms(st);
    return LS_OK;
}

static void origin_revoked(void *arg, const char *id)
{
    struct spd_origin *o = arg;
    struct ls_stream *st = ls_hub_find(o->node->hub, id);

    if (spd_sources_revoked(o->sources, id))
        return;
    ls_log_ctx(LS_LOG_NOTICE, LS_LOG_CTX(id, NULL),
               "publish %s: taken over on another origin; dropping ours", id);
    if (st != NULL && ls_stream_has_source(st) &&
        ls_stream_source_kind(st) == LS_SOURCE_PUBLISHER)
        ls_stream_kick_source(st, "taken over on another origin");
}

static void origin_registered(void *arg, const char *id, const char *origin_addr,
                              const char *node_id)
{
    struct spd_origin *o = arg;
    struct ls_stream *st = ls_hub_find(o->node->hub, id);
    struct ls_pull *pull = st != NULL ? ls_stream_role_data(st) : NULL;

    (void)origin_addr;
    (void)node_id;
    if (pull != NULL)
        ls_pull_kick(pull); /* a waiting viewer starts now */
}

/* ---- lifecycle ---- */

static void origin_registry_config(const struct spd_origin *o, struct spd_registry_config *cfg)
{
    const struct ls_media_conf *conf = &o->node->conf;

    cfg->node_id = conf->node_id;
    cfg->advertise = o->advertise;
    cfg->secret = conf->cluster_secret != NULL ? conf->cluster_secret : "";
    cfg->smds = &conf->source_managers;
    cfg->takeover_idle_ms = (unsigned)conf->publish_takeover_idle * 1000;
    cfg->resolver = o->node->resolver;
    cfg->not_found_cache_ms = (unsigned)conf->not_found_cache_ms;
    cfg->reporter = o->reporter;
}

static void origin_format_advertise(struct spd_origin *o)
{
    const struct ls_media_conf *conf = &o->node->conf;

    if (conf->advertise.port == 0 || ls_addr_format(&conf->advertise, o->advertise,
                                                    sizeof o->advertise) != LS_OK)
        o->advertise[0] = '\0';
}

/* ---- files on demand ---- */

static void origin_vod_config(const struct spd_origin *o, struct ls_vod_config *cfg)
{
    const struct ls_media_conf *conf = &o->node->conf;

    ls_vod_config_defaults(cfg);
    cfg->dir = conf->vod.dir;
    cfg->max_viewers = (unsigned)conf->vod.max_viewers;
    cfg->index_cache_bytes = (size_t)conf->vod.index_cache_bytes;
    cfg->read_ahead_ms = (unsigned)conf->vod.read_ahead_ms;
    cfg->io_threads = (unsigned)conf->vod.io_threads;
    cfg->max_tag_size = (uint32_t)conf->max_message_size;
    cfg->queue_max_bytes = (size_t)conf->viewer_queue_bytes;
    cfg->slow_timeout_ms = (unsigned)conf->slow_viewer_timeout * 1000;
    cfg->idle_timeout_ms = (unsigned)conf->connect_timeout * 1000;
}

static int origin_vod_start(struct spd_origin *o)
{
    struct ls_vod_config cfg;

    origin_vod_config(o, &cfg);
    o->vod = ls_vod_new(o->node->base, &cfg);
    if (o->vod == NULL)
        return LS_EIO;
    o->vodhttp = ls_vodhttp_new(o->node->http, o->node->srv, o->vod);
    if (o->vodhttp == NULL) {
        ls_vod_free(o->vod);
        o->vod = NULL;
        return LS_ENOMEM;
    }
    ls_server_set_vod(o->node->srv, o->vod);
    return LS_OK;
}

/* Every player is gone by now (the server closed its sessions); downloads end here. */
static void origin_vod_stop(struct spd_origin *o)
{
    ls_server_set_vod(o->node->srv, NULL);
    ls_vod_free(o->vod);
    o->vod = NULL;
}

static void origin_vod_reload(struct spd_origin *o)
{
    struct ls_vod_config cfg;
    bool want = o->node->conf.vod.dir[0] != '\0';

    if (want != (o->vod != NULL)) {
        ls_log(LS_LOG_WARNING, "vod: turning files %s needs a restart",
               want ? "on" : "off");
        return;
    }
    if (o->vod == NULL)
        return;
    origin_vod_config(o, &cfg);
    (void)ls_vod_set_config(o->vod, &cfg); /* a directory that cannot be opened: logged */
}

static void origin_reloaded(struct ls_media_node *node, void *arg)
{
    struct spd_origin *o = arg;
    struct spd_registry_config cfg;

    (void)node;
    origin_vod_reload(o);
    if (o->registry == NULL)
        return;
    spd_pushes_reload(o->pushes);
    spd_sources_reload(o->sources);
    origin_format_advertise(o);
    origin_registry_config(o, &cfg);
    spd_registry_reload(o->registry, &cfg);
}

/* ---- relays: hooks and views ---- */

static void origin_source_live(void *arg, const char *id)
{
    struct spd_origin *o = arg;

    spd_pushes_live(o->pushes, id);
}

static void origin_source_ended(void *arg, const char *id)
{
    struct spd_origin *o = arg;

    spd_pushes_ended(o->pushes, id);
}

static void origin_stream_fields(struct ls_json *j, struct ls_stream *st, void *arg)
{
    struct spd_origin *o = arg;

    spd_pushes_json(o->pushes, j, st);
    spd_sources_json(o->sources, j, st);
}

static void origin_metrics(struct ls_buf *out, void *arg)
{
    struct spd_origin *o = arg;

    spd_registry_metrics(out, o->registry);
    spd_pushes_metrics(out, o->pushes);
    spd_sources_metrics(out, o->sources);
    if (o->vod != NULL)
        ls_vod_metrics(out, o->vod);
}

/* Pushes and pulled sources, once the registry is there (sources claim their ids). */
static int origin_relays_new(struct spd_origin *o)
{
    struct spd_source_hooks hooks = { origin_source_live, origin_source_ended, o };

    o->pushes = spd_pushes_new(o->node);
    if (o->pushes != NULL)
        o->sources = spd_sources_new(o->node, o->registry, &hooks);
    if (o->sources == NULL)
        return LS_ENOMEM;
    o->api.hub = o->node->hub;
    o->api.fields = origin_stream_fields;
    o->api.arg = o;
    return ls_streamsapi_attach_extra(o->node->http, &o->api);
}

struct spd_origin *spd_origin_new(struct event_base *base, const char *path)
{
    struct spd_origin *o = calloc(1, sizeof *o);
    struct ls_hub_hooks hub_hooks;
    struct ls_server_hooks srv_hooks;
    struct spd_registry_hooks reg_hooks;
    struct spd_registry_config reg_cfg;

    if (o == NULL)
        return NULL;
    LIST_INIT(&o->lookups);
    LIST_INIT(&o->claims);
    LIST_INIT(&o->recordings);
    o->node = ls_media_node_new(base, path, "spd", ls_spd_schema, true);
    if (o->node == NULL) {
        free(o);
        return NULL;
    }
    origin_format_advertise(o);
    if (o->node->conf.source_managers.n > 0 && o->advertise[0] == '\0') {
        ls_log(LS_LOG_ERR, "%s: source_managers needs advertise (how peers reach this spd)",
               path);
        spd_origin_free(o);
        return NULL;
    }
    o->pull_ops.resolve = origin_resolve;
    o->pull_ops.ended = origin_pull_ended;
    o->pull_ops.arg = o;
    reg_hooks.publisher_idle = origin_publisher_idle;
    reg_hooks.revoked = origin_revoked;
    reg_hooks.registered = origin_registered;
    reg_hooks.arg = o;
    /* the cluster view: this origin's viewers, counters and health, to every smd */
    o->reporter = ls_reporter_new(o->node->hub, NULL);
    if (o->reporter == NULL) {
        spd_origin_free(o);
        return NULL;
    }
    origin_registry_config(o, &reg_cfg);
    o->registry = spd_registry_new(base, &reg_cfg, &reg_hooks);
    if (o->registry == NULL || origin_relays_new(o) != LS_OK) {
        ls_log(LS_LOG_ERR, "out of memory starting the origin");
        spd_origin_free(o);
        return NULL;
    }
    hub_hooks.stream_wanted = origin_stream_wanted;
    hub_hooks.stream_unwanted = ls_pull_stream_unwanted;
    hub_hooks.arg = o;
    ls_hub_set_hooks(o->node->hub, &hub_hooks);
    srv_hooks.publish_claim = origin_publish_claim;
    srv_hooks.publish_claim_cancelled = origin_publish_claim_cancelled;
    srv_hooks.publish_started = origin_publish_started;
    srv_hooks.publish_ended = origin_publish_ended;
    srv_hooks.arg = o;
    ls_server_set_hooks(o->node->srv, &srv_hooks);
    o->node->reloaded = origin_reloaded;
    o->node->arg = o;
    if (o->node->conf.vod.dir[0] != '\0' && origin_vod_start(o) != LS_OK) {
        spd_origin_free(o);
        return NULL;
    }
    ls_http_set_metrics(o->node->http, origin_metrics, o);
    if (!spd_registry_enabled(o->registry))
        ls_log(LS_LOG_NOTICE, "no source_managers: running as a standalone origin");
    spd_sources_start(o->sources);
    return o;
}

int spd_origin_reload(struct spd_origin *o)
{
    return ls_media_node_reload(o->node);
}

/* Lookups in flight end now, so pulls stopping with the node can finish. */
static void origin_cancel_lookups(struct spd_origin *o)
{
    struct origin_lookup *lk;

    while ((lk = LIST_FIRST(&o->lookups)) != NULL) {
        struct ls_pull *pull = lk->pull;

        LIST_REMOVE(lk, link);
        spd_registry_lookup_cancel(lk->lookup);
        free(lk);
        ls_pull_unavailable(pull, "shutting down");
    }
}

void spd_origin_stop(struct spd_origin *o)
{
    /* Sources first: their claims in flight are answered, so their pulls can end. */
    spd_sources_stop(o->sources);
    /* Downloads end right before their HTTP server goes (in the node's stop). */
    ls_vodhttp_free(o->vodhttp);
    o->vodhttp = NULL;
    ls_media_node_stop(o->node);
    origin_vod_stop(o);
    origin_cancel_lookups(o);
    if (o->pushes != NULL)
        spd_pushes_stop(o->pushes);
    while (!LIST_EMPTY(&o->recordings))
        origin_record_stop(o, NULL);
    /* Unregisters what is left and says goodbye to every smd (docs/interface.md "Signals"). */
    spd_registry_free(o->registry);
    o->registry = NULL;
}

void spd_origin_status(struct spd_origin *o, char *out, size_t cap)
{
    ls_media_node_status(o->node, out, cap);
}

void spd_origin_free(struct spd_origin *o)
{
    if (o == NULL)
        return;
    if (o->node != NULL) {
        spd_origin_stop(o);
        ls_media_node_free(o->node);
    }
    spd_registry_free(o->registry); /* when start failed half way */
    ls_reporter_free(o->reporter);  /* after the links that used it */
    spd_record_finish_all();        /* recordings still draining to disk */
    spd_sources_free(o->sources);
    spd_pushes_free(o->pushes);
    free(o);
}
