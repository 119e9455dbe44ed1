/*
 * source.c — spd's pulled sources (role layer; see source.h), on top of external pulls
 * (pull.c) and the registry client (registry.c).
 *
 *   start ─▶ external pull on stream ID ─resolve─▶ claim ID at smd (in a cluster, until
 *            held) ─▶ connect URL ─Play.Start─▶ live: source of kind "publisher"
 *              ▲                                        │ link lost, far side
 *              └────── pull_retry_max back-off ◀────────┘ unpublished, refused
 *
 * The claim is held from its first success until the source stops (reload, shutdown) or
 * smd reports it taken over (a publisher elsewhere won it while this source was down):
 * then the link is dropped and every later attempt claims again first, so two origins
 * never serve the id at once. A source's pull only ends when it is stopped — or when the
 * hub kicks its source, which the origin prevents by refusing local publishers of the id;
 * should it happen anyway, the source starts again after pull_retry_max.
 *
 * Lifetime: a source lives in `list` from the config that names it until it is removed
 * and its pull has ended (or spd_sources_free). A removed source whose pull still runs is
 * freed in source_ended; code after a call that may end the pull does not touch it.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>

#include <event2/event.h>

#include "libstream/buf.h"
#include "libstream/clock.h"
#include "libstream/json.h"
#include "libstream/log.h"
#include "libstream/medianode.h"
#include "libstream/prom.h"
#include "libstream/relayconf.h"
#include "libstream/stats.h"
#include "libstream/streamid.h"
#include "registry.h"
#include "source.h"

struct source {
    struct spd_sources *ss;
    LIST_ENTRY(source) link;
    char id[LS_STREAM_ID_MAX + 1];
    char *url;                  /* as configured, to notice a change at reload */
    struct ls_relay_target t;
    struct ls_pull *pull;       /* running; NULL while waiting to start again */
    struct spd_claim *claim;    /* registry claim in flight (the pull waits for it) */
    uint64_t owner;             /* registry owner token: never a session's */
    bool claimed;
    bool live;
    bool ever_live;
    bool removed;               /* gone from the config: freed once its pull ended */
    bool restart_now;           /* its pull ended for a new url: start again at once */
    bool revoked;               /* the next failure is the link we dropped (busy) */
    uint64_t reconnects;
    struct event *restart_timer;
};

struct spd_sources {
    struct ls_media_node *node;
    struct spd_registry *reg;   /* NULL after spd_sources_stop */
    struct spd_source_hooks hooks;
    struct ls_pull_ops pull_ops;
    LIST_HEAD(, source) list;
    struct source *starting;    /* inside ls_pull_start_external: its first resolve */
    size_t count;               /* configured (not removed) */
    bool stopping;
    uint64_t live_count;
    uint64_t reconnects_total;
    uint64_t failures_total[LS_FAIL_COUNT];
};

static void source_start(struct source *src);

static void source_free(struct source *src)
{
    LIST_REMOVE(src, link);
    if (src->restart_timer != NULL)
        event_free(src->restart_timer);
    free(src->url);
    free(src);
}

static struct source *source_find(const struct spd_sources *ss, const char *id)
{
    struct source *src;

    LIST_FOREACH(src, &ss->list, link)
        if (!src->removed && strcmp(src->id, id) == 0)
            return src;
    return NULL;
}

/* The source a pull callback is about. */
static struct source *source_of(struct spd_sources *ss, struct ls_pull *p)
{
    struct source *src;

    LIST_FOREACH(src, &ss->list, link)
        if (src->pull == p)
            return src;
    if (ss->starting != NULL && ss->starting->pull == NULL) {
        ss->starting->pull = p; /* the first resolve, from inside ls_pull_start_external */
        return ss->starting;
    }
    return NULL;
}

static void source_schedule_start(struct source *src, unsigned ms)
{
    struct timeval tv = { (time_t)(ms / 1000), (suseconds_t)(ms % 1000) * 1000 };

    evtimer_add(src->restart_timer, &tv);
}

static unsigned source_retry_ms(const struct source *src)
{
    return (unsigned)src->ss->node->conf.pull_retry_max * 1000;
}

/* Why an attempt failed, as a `reason` label. */
static enum ls_fail_reason source_classify(int err, const char *why)
{
    if (err == LS_ELIMIT || err == LS_ENOTFOUND)
        return LS_FAIL_UPSTREAM; /* silent, start timeout, or the host does not resolve */
    if (why != NULL) {
        if (strstr(why, "StreamNotFound") != NULL || strstr(why, "Play.Stop") != NULL)
            return LS_FAIL_NOT_FOUND;
        if (strstr(why, "Unauthorized") != NULL || strstr(why, "Rejected") != NULL)
            return LS_FAIL_UNAUTHORIZED;
        if (strstr(why, "BadName") != NULL)
            return LS_FAIL_BAD_NAME;
        if (strncmp(why, "NetStream.", 10) == 0 || strncmp(why, "NetConnection.", 14) == 0)
            return LS_FAIL_DENIED;
    }
    if (err == LS_EPROTO)
        return LS_FAIL_PROTOCOL;
    if (err == LS_ENOMEM)
        return LS_FAIL_INTERNAL;
    return LS_FAIL_UPSTREAM;
}

/* ---- the pull's hooks ---- */

static void source_claimed(void *arg, int result, const char *why)
{
    struct source *src = arg;
    struct spd_sources *ss = src->ss;
    struct ls_pull *pull = src->pull;

    src->claim = NULL;
    if (pull == NULL)
        return;
    if (result == LS_OK) {
        src->claimed = true;
        ls_pull_connect(pull, src->t.hostport, NULL); /* may end the pull (stopped) */
        return;
    }
    if (result == LS_EBUSY) {
        ss->failures_total[LS_FAIL_BUSY]++;
        ls_log(LS_LOG_DEBUG, "pulled source %s: published on another origin (%s)", src->id,
               why != NULL ? why : "?");
        ls_pull_unavailable(pull, "the id is published on another origin");
    } else {
        ss->failures_total[LS_FAIL_UPSTREAM]++;
        ls_pull_unavailable(pull, "the registry claim failed");
    }
}

/* Each attempt: in a cluster, hold the id at smd first; then play the URL. */
static void source_resolve(struct ls_pull *p, void *arg, const char *id)
{
    struct spd_sources *ss = arg;
    struct source *src = source_of(ss, p);

    if (src == NULL || src->removed || ss->stopping) {
        ls_pull_unavailable(p, "no longer configured");
        return;
    }
    if (ss->reg != NULL && spd_registry_enabled(ss->reg) && !src->claimed) {
        src->claim = spd_registry_claim(ss->reg, id, ls_unix_time(), src->owner,
                                        source_claimed, src);
        if (src->claim == NULL)
            ls_pull_unavailable(p, "out of memory");
        return;
    }
    ls_pull_connect(p, src->t.hostport, NULL);
}

static void source_event(struct ls_pull *p, void *arg, const char *id, enum ls_pull_event ev,
                         int err, const char *why)
{
    struct spd_sources *ss = arg;
    struct source *src = source_of(ss, p);

    if (src == NULL)
        return;
    switch (ev) {
    case LS_PULL_LIVE:
        if (src->live)
            break;
        src->live = true;
        ss->live_count++;
        if (src->ever_live) {
            src->reconnects++;
            ss->reconnects_total++;
        }
        src->ever_live = true;
        ls_log(LS_LOG_NOTICE, "pulled source %s: live from %s", id, src->t.shown);
        if (ss->hooks.live != NULL)
            ss->hooks.live(ss->hooks.arg, id);
        break;
    case LS_PULL_NOT_LIVE:
        if (!src->live)
            break;
        src->live = false;
        ss->live_count--;
        ls_log(LS_LOG_NOTICE, "pulled source %s: no longer live", id);
        if (ss->hooks.ended != NULL)
            ss->hooks.ended(ss->hooks.arg, id);
        break;
    case LS_PULL_FAILED:
        ss->failures_total[src->revoked ? LS_FAIL_BUSY : source_classify(err, why)]++;
        src->revoked = false;
        break;
    }
}

static void source_ended(struct ls_pull *p, void *arg, const char *id)
{
    struct spd_sources *ss = arg;
    struct source *src = source_of(ss, p);

    if (src == NULL)
        return;
    src->pull = NULL;
    if (src->live) { /* a pull detaches (NOT_LIVE) before it ends; kept for safety */
        src->live = false;
        ss->live_count--;
        if (ss->hooks.ended != NULL)
            ss->hooks.ended(ss->hooks.arg, id);
    }
    if (src->claim != NULL) {
        spd_registry_claim_cancel(src->claim);
        src->claim = NULL;
    }
    if (src->claimed && ss->reg != NULL)
        spd_registry_release(ss->reg, id, src->owner);
    src->claimed = false;
    if (ss->stopping)
        return; /* spd_sources_free frees it */
    if (src->removed) {
        source_free(src);
        return;
    }
    /* Stopped for a new url, or kicked off its stream: start again. */
    source_schedule_start(src, src->restart_now ? 0 : source_retry_ms(src));
    src->restart_now = false;
}

/* ---- starting and stopping one source ---- */

static void source_restart_cb(evutil_socket_t fd, short what, void *arg)
{
    struct source *src = arg;

    (void)fd;
    (void)what;
    if (src->pull == NULL && !src->removed && !src->ss->stopping)
        source_start(src);
}

static void source_start(struct source *src)
{
    struct spd_sources *ss = src->ss;
    struct ls_stream *st = ls_hub_get(ss->node->hub, src->id);
    struct ls_pull *other;
    int rc;

    if (st == NULL) {
        ls_log(LS_LOG_ERR, "pulled source %s: out of memory", src->id);
        source_schedule_start(src, source_retry_ms(src));
        return;
    }
    ls_stream_hold(st); /* across the stop below, which may let the stream go */
    other = ls_stream_role_data(st);
    if (other != NULL) {
        /* A pull from a peer origin for this id (viewers asked before the source was
         * configured), or our previous pull still ending: it gives way. */
        ls_pull_stop(other, "a pulled source is configured for this id");
        if (ls_stream_role_data(st) != NULL) {
            ls_stream_release(st);
            source_schedule_start(src, 500);
            return;
        }
    }
    ss->starting = src;
    rc = ls_pull_start_external(st, LS_SOURCE_PUBLISHER, &ss->node->pull_cfg, &ss->pull_ops,
                                src->t.tc_url, src->t.app, src->t.name);
    ss->starting = NULL;
    ls_stream_release(st);
    if (rc != LS_OK) {
        ls_log(LS_LOG_ERR, "pulled source %s: out of memory", src->id);
        source_schedule_start(src, source_retry_ms(src));
        return;
    }
    ls_log(LS_LOG_INFO, "pulled source %s: pulling %s", src->id, src->t.shown);
}

/* Ends the source's pull; source_ended then frees it (removed) or starts it again. `src`
 * may be gone after this call. */
static void source_halt(struct source *src, const char *why)
{
    struct ls_pull *pull = src->pull;

    evtimer_del(src->restart_timer);
    if (pull == NULL) {
        if (src->removed)
            source_free(src);
        else if (src->restart_now) {
            src->restart_now = false;
            source_start(src);
        }
        return;
    }
    if (src->claim != NULL) {
        /* The pull waits for this answer: none will come, so answer for it. */
        spd_registry_claim_cancel(src->claim);
        src->claim = NULL;
        ls_pull_stop(pull, why);          /* resolving: marks it, ends at the answer */
        ls_pull_unavailable(pull, why);   /* the answer: it ends, source_ended runs */
        return;
    }
    ls_pull_stop(pull, why); /* source_ended runs now, or when its client has closed */
}

static struct source *source_new(struct spd_sources *ss, const struct ls_relay_pull_conf *e)
{
    static uint64_t last_owner;
    struct source *src = calloc(1, sizeof *src);
    const char *why = NULL;

    if (src == NULL)
        return NULL;
    src->ss = ss;
    snprintf(src->id, sizeof src->id, "%s", e->id);
    src->url = strdup(e->url);
    src->restart_timer = evtimer_new(ss->node->base, source_restart_cb, src);
    /* Sessions number their publishers from 1 upwards; these cannot meet them. */
    src->owner = (UINT64_C(1) << 63) | ++last_owner;
    LIST_INSERT_HEAD(&ss->list, src, link);
    if (src->url == NULL || src->restart_timer == NULL ||
        ls_relay_target_make(e->url, NULL, NULL, &src->t, &why) != LS_OK) {
        ls_log(LS_LOG_ERR, "pulled source %s: %s", e->id, why != NULL ? why : "out of memory");
        source_free(src);
        return NULL;
    }
    ss->count++;
    return src;
}

/* ---- the set ---- */

struct spd_sources *spd_sources_new(struct ls_media_node *node, struct spd_registry *reg,
                                    const struct spd_source_hooks *hooks)
{
    struct spd_sources *ss = calloc(1, sizeof *ss);

    if (ss == NULL)
        return NULL;
    ss->node = node;
    ss->reg = reg;
    ss->hooks = *hooks;
    ss->pull_ops.resolve = source_resolve;
    ss->pull_ops.ended = source_ended;
    ss->pull_ops.event = source_event;
    ss->pull_ops.arg = ss;
    LIST_INIT(&ss->list);
    return ss;
}

void spd_sources_start(struct spd_sources *ss)
{
    const struct ls_conf_list *list = &ss->node->conf.pull;
    const struct ls_relay_pull_conf *v = list->v;
    size_t i;

    for (i = 0; i < list->n; i++) {
        struct source *src = source_find(ss, v[i].id) == NULL ? source_new(ss, &v[i]) : NULL;

        if (src != NULL)
            source_start(src);
    }
}

void spd_sources_reload(struct spd_sources *ss)
{
    const struct ls_conf_list *list = &ss->node->conf.pull;
    const struct ls_relay_pull_conf *v = list->v;
    struct source *src, *next;
    size_t i;

    if (ss->stopping)
        return;
    for (src = LIST_FIRST(&ss->list); src != NULL; src = next) {
        const struct ls_relay_pull_conf *e = NULL;
        const char *why = NULL;
        char *url;

        next = LIST_NEXT(src, link);
        if (src->removed)
            continue;
        for (i = 0; i < list->n && e == NULL; i++)
            if (strcmp(v[i].id, src->id) == 0)
                e = &v[i];
        if (e == NULL) {
            src->removed = true;
            ss->count--;
            source_halt(src, "removed from the configuration");
        } else if (strcmp(e->url, src->url) != 0) {
            url = strdup(e->url);
            if (url == NULL || ls_relay_target_make(e->url, NULL, NULL, &src->t, &why) != LS_OK) {
                free(url);
                ls_log(LS_LOG_ERR, "pulled source %s: keeps its url: %s", src->id,
                       why != NULL ? why : "out of memory");
                continue;
            }
            free(src->url);
            src->url = url;
            src->restart_now = true;
            source_halt(src, "its url changed");
        }
    }
    spd_sources_start(ss); /* the new ones */
}

bool spd_sources_has(const struct spd_sources *ss, const char *id)
{
    return ss != NULL && source_find(ss, id) != NULL;
}

bool spd_sources_revoked(struct spd_sources *ss, const char *id)
{
    struct source *src = ss != NULL ? source_find(ss, id) : NULL;

    if (src == NULL)
        return false;
    ls_log(LS_LOG_NOTICE, "pulled source %s: taken over on another origin; claiming it again "
           "after back-off", id);
    src->claimed = false; /* the registry released it everywhere */
    if (src->pull != NULL && ls_pull_connected(src->pull)) {
        src->revoked = true;
        ls_pull_reconnect(src->pull, "registration taken over on another origin");
    }
    return true;
}

void spd_sources_json(struct spd_sources *ss, struct ls_json *j, struct ls_stream *st)
{
    const struct source *src = source_find(ss, ls_stream_id(st));

    if (src == NULL)
        return;
    ls_json_key(j, "pull");
    ls_json_object_begin(j);
    ls_json_kv_string(j, "url", src->t.shown);
    ls_json_kv_string(j, "state", src->pull != NULL ? ls_pull_state(src->pull) : "retrying");
    ls_json_kv_uint64(j, "reconnects", src->reconnects);
    ls_json_object_end(j);
}

void spd_sources_metrics(struct ls_buf *out, const struct spd_sources *ss)
{
    const char *names[LS_FAIL_COUNT];
    size_t i;

    for (i = 0; i < LS_FAIL_COUNT; i++)
        names[i] = ls_fail_reason_name((enum ls_fail_reason)i);
    ls_prom_metric(out, "livecluster_pulled_sources", "gauge", "Pulled sources configured.",
                   ss->count);
    ls_prom_metric(out, "livecluster_pulled_sources_live", "gauge",
                   "Pulled sources live now.", ss->live_count);
    ls_prom_metric(out, "livecluster_pulled_source_reconnects_total", "counter",
                   "Pulled sources live again after a loss.", ss->reconnects_total);
    ls_prom_counter_by(out, "livecluster_pulled_source_failures_total",
                       "Pulled source attempts or links that failed, by reason.", "reason",
                       names, ss->failures_total, LS_FAIL_COUNT);
}

void spd_sources_stop(struct spd_sources *ss)
{
    struct source *src;

    if (ss == NULL || ss->stopping)
        return;
    ss->stopping = true;
    LIST_FOREACH(src, &ss->list, link) {
        struct ls_pull *pull = src->pull;

        evtimer_del(src->restart_timer);
        if (pull == NULL)
            continue;
        if (src->claim != NULL) {
            spd_registry_claim_cancel(src->claim);
            src->claim = NULL;
            ls_pull_stop(pull, "shutting down");
            ls_pull_unavailable(pull, "shutting down");
        } else {
            ls_pull_stop(pull, "shutting down");
        }
    }
    ss->reg = NULL;
}

void spd_sources_free(struct spd_sources *ss)
{
    if (ss == NULL)
        return;
    spd_sources_stop(ss);
    while (!LIST_EMPTY(&ss->list))
        source_free(LIST_FIRST(&ss->list));
    free(ss);
}
