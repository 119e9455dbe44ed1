/*
 * push.c — spd's push relays (role layer; see push.h). Each push is one (stream, entry)
 * pair:
 *
 *   live ─▶ resolve URL host ─▶ RTMP client: connect, releaseStream, FCPublish,
 *           createStream, publish NAME[?ARGS] ─Publish.Start─▶ hidden hub subscriber
 *              ▲                                                  │ lost: closed, refused,
 *              └──────── back-off (0.5 s doubling to push_retry_max) ◀┘ silent, too slow
 *   ended ─▶ unsubscribe, FCUnpublish + deleteStream, close once written
 *
 * The subscriber's output queue is the client connection's own: the hub appends the shared
 * RTMP encodings of the stream (type-0 chunks at the node's chunk size, which the client
 * announced) on the message stream id the target gave, exactly as for a viewer, so a push
 * costs what a viewer costs and obeys the same slow-viewer bound.
 *
 * Lifetime: a push lives in `active` from start to stop, then in `draining` until its
 * client's on_close (a clean unpublish waits for the queued bytes, up to 2 s); a push
 * without a client is freed at once. push_on_close is the only place a push with a client
 * is freed, and it may run from inside ls_client_close (or a flush outside a callback that
 * fails): nothing touches a push after the call that closes its client.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>

#include <event2/event.h>

#include "libstream/buf.h"
#include "libstream/client.h"
#include "libstream/conn.h"
#include "libstream/hub.h"
#include "libstream/json.h"
#include "libstream/log.h"
#include "libstream/medianode.h"
#include "libstream/prom.h"
#include "libstream/relayconf.h"
#include "libstream/resolver.h"
#include "libstream/stats.h"
#include "libstream/streamid.h"
#include "push.h"

#define PUSH_RETRY_MIN_MS 500u

struct push {
    struct spd_pushes *ps;
    LIST_ENTRY(push) link;          /* in ps->active, then ps->draining */
    char id[LS_STREAM_ID_MAX + 1];
    char *app, *url, *args;         /* the entry, copied: matched again after a reload */
    struct ls_relay_target t;
    struct ls_client *client;
    struct ls_resolve *dns;
    struct event *retry_timer;
    struct ls_subscriber sub;       /* hidden: a push is not a viewer */
    unsigned backoff_ms;
    uint64_t bytes;                 /* written by connections already closed */
    uint64_t reconnects;            /* starts after the first one */
    bool publishing;                /* Publish.Start seen on the current connection */
    bool ever_published;
    bool stopping;
    bool starting;                  /* inside ls_client_start */
    bool start_closed;              /* ... and the client closed (and was handled) in there */
    bool outage_logged;
    bool reason_set;                /* we closed the client ourselves, for `reason` */
    enum ls_fail_reason reason;
};

struct spd_pushes {
    struct ls_media_node *node;
    LIST_HEAD(, push) active;
    LIST_HEAD(, push) draining;
    size_t count;                   /* in `active` */
    uint64_t started_total;
    uint64_t reconnects_total;
    uint64_t bytes_total;           /* of closed connections */
    uint64_t failures_total[LS_FAIL_COUNT];
};

static const struct ls_client_ops push_client_ops;
static const struct ls_subscriber_ops push_sub_ops;

static void push_free(struct push *p)
{
    if (p->retry_timer != NULL)
        event_free(p->retry_timer);
    free(p->app);
    free(p->url);
    free(p->args);
    free(p);
}

static void push_fail(struct push *p, enum ls_fail_reason reason, const char *why)
{
    p->ps->failures_total[reason]++;
    /* One line per outage at warning level; the retries of a dead target stay quiet. */
    ls_log(p->outage_logged ? LS_LOG_DEBUG : LS_LOG_WARNING, "push %s to %s failed (%s): %s",
           p->id, p->t.shown, ls_fail_reason_name(reason), why != NULL ? why : "?");
    p->outage_logged = true;
}

static void push_schedule_retry(struct push *p)
{
    unsigned max_ms = (unsigned)p->ps->node->conf.push_retry_max * 1000;
    struct timeval tv;

    p->backoff_ms = p->backoff_ms == 0 ? PUSH_RETRY_MIN_MS : p->backoff_ms * 2;
    if (p->backoff_ms > max_ms)
        p->backoff_ms = max_ms;
    tv.tv_sec = p->backoff_ms / 1000;
    tv.tv_usec = (p->backoff_ms % 1000) * 1000;
    evtimer_add(p->retry_timer, &tv);
}

/* The target's address is known: publish to it. */
static void push_connect(struct push *p, const struct sockaddr *sa, socklen_t salen)
{
    const struct ls_media_node *node = p->ps->node;
    struct ls_client_config cfg;
    struct ls_client *cl;
    unsigned timeout_ms = (unsigned)node->conf.push_timeout * 1000;

    ls_client_config_defaults(&cfg);
    cfg.conn.chunk = node->srv_cfg.conn.chunk;
    cfg.conn.max_control_queue_bytes = node->srv_cfg.conn.max_control_queue_bytes;
    /* The hub's shared encodings are chunked at its chunk size: announce that one. */
    cfg.conn.out_chunk_size = ls_hub_config(node->hub)->chunk_size;
    /* A target may send nothing for long (acknowledgements come every few MB): the
     * watchdog's pings, not an idle timer, tell a live one from a dead one. */
    cfg.conn.idle_timeout_ms = 0;
    cfg.start_timeout_ms = timeout_ms;
    cfg.silence_timeout_ms = timeout_ms;
    p->starting = true;
    p->start_closed = false;
    cl = ls_client_start(node->base, sa, salen, LS_CLIENT_PUBLISH, p->t.tc_url, p->t.app,
                         p->t.name, &cfg, &push_client_ops, p);
    p->starting = false;
    if (p->start_closed)
        return; /* push_on_close ran in there (it never does today: failures come later) */
    if (cl == NULL) {
        push_fail(p, LS_FAIL_INTERNAL, "cannot open a connection");
        push_schedule_retry(p);
        return;
    }
    p->client = cl;
}

static void push_resolved(void *arg, int result, const struct sockaddr *sa, socklen_t len)
{
    struct push *p = arg;

    p->dns = NULL;
    if (result != LS_OK) {
        push_fail(p, LS_FAIL_UPSTREAM, result == LS_ELIMIT ? "no DNS answer in time"
                                                           : "the host does not resolve");
        push_schedule_retry(p);
        return;
    }
    push_connect(p, sa, len);
}

static void push_attempt(struct push *p)
{
    p->dns = ls_resolver_resolve(p->ps->node->resolver, p->t.hostport, push_resolved, p);
    if (p->dns == NULL) {
        push_fail(p, LS_FAIL_INTERNAL, "out of memory");
        push_schedule_retry(p);
    }
}

static void push_retry_cb(evutil_socket_t fd, short what, void *arg)
{
    struct push *p = arg;

    (void)fd;
    (void)what;
    if (!p->stopping && p->client == NULL && p->dns == NULL)
        push_attempt(p);
}

/* ---- the client ---- */

static void push_on_started(struct ls_client *cl, void *arg)
{
    struct push *p = arg;
    struct ls_stream *st = ls_hub_find(p->ps->node->hub, p->id);

    if (st == NULL || !ls_stream_has_source(st)) {
        /* Ended while we connected: the stop is on its way; nothing to send. */
        p->reason_set = true;
        p->reason = LS_FAIL_INTERNAL;
        ls_client_close(cl, "stream no longer live");
        return;
    }
    p->publishing = true;
    if (p->ever_published) {
        p->reconnects++;
        p->ps->reconnects_total++;
    }
    p->ever_published = true;
    p->backoff_ms = 0;
    ls_log(p->outage_logged ? LS_LOG_NOTICE : LS_LOG_INFO, "push %s to %s: publishing", p->id,
           p->t.shown);
    p->outage_logged = false;
    ls_subscriber_init(&p->sub, &push_sub_ops, ls_conn_outq(ls_client_conn(cl)),
                       LS_TRANSPORT_RTMP, ls_client_stream_id(cl));
    p->sub.hidden = true;
    /* Live: metadata, sequence headers and the GOP go out at once, as to a new viewer. */
    if (ls_stream_subscribe(st, &p->sub) != LS_OK) {
        p->reason_set = true;
        p->reason = LS_FAIL_INTERNAL;
        ls_client_close(cl, "cannot subscribe to the stream");
    }
}

/* Why a connection to the target failed, as a `reason` label. */
static enum ls_fail_reason push_classify(int err, const char *why, bool silent)
{
    if (silent)
        return LS_FAIL_UPSTREAM;
    if (why != NULL) {
        if (strstr(why, "Unauthorized") != NULL || strstr(why, "Rejected") != NULL)
            return LS_FAIL_UNAUTHORIZED;
        if (strstr(why, "BadName") != NULL)
            return LS_FAIL_BUSY;
        if (strncmp(why, "NetStream.", 10) == 0 || strncmp(why, "NetConnection.", 14) == 0)
            return LS_FAIL_DENIED; /* another refusal of the target's */
    }
    if (err == LS_EPROTO)
        return LS_FAIL_PROTOCOL;
    if (err == LS_ENOMEM)
        return LS_FAIL_INTERNAL;
    return LS_FAIL_UPSTREAM;
}

static void push_on_close(struct ls_client *cl, void *arg, int err, const char *why)
{
    struct push *p = arg;
    bool silent = ls_client_timed_out(cl);

    p->bytes += ls_conn_bytes_out(ls_client_conn(cl));
    p->ps->bytes_total += ls_conn_bytes_out(ls_client_conn(cl));
    p->client = NULL;
    p->publishing = false;
    if (p->starting)
        p->start_closed = true;
    ls_subscriber_detach(&p->sub); /* safe when never subscribed (stream NULL) */
    if (p->stopping) {
        LIST_REMOVE(p, link); /* from `draining` */
        push_free(p);
        return;
    }
    push_fail(p, p->reason_set ? p->reason : push_classify(err, why, silent),
              silent ? "no answer from the target for push_timeout" : why);
    p->reason_set = false;
    push_schedule_retry(p);
}

static const struct ls_client_ops push_client_ops = {
    .on_started = push_on_started,
    .on_close = push_on_close,
};

/* ---- the hub side ---- */

static struct push *push_from_sub(struct ls_subscriber *sub)
{
    return (struct push *)((char *)sub - offsetof(struct push, sub));
}

static void push_sub_flush(struct ls_subscriber *sub)
{
    struct ls_conn *c = ls_client_conn(push_from_sub(sub)->client);

    ls_conn_hold(c);
    ls_conn_flush(c);
    ls_conn_release(c); /* may close: push_on_close detaches the subscriber */
}

static void push_sub_source_event(struct ls_subscriber *sub, enum ls_source_event ev)
{
    /* The push follows its stream's owner through spd_pushes_live/ended; a source
     * replaced under it (a local takeover) simply goes on feeding it. */
    (void)sub;
    (void)ev;
}

static void push_sub_too_slow(struct ls_subscriber *sub, const char *why)
{
    struct push *p = push_from_sub(sub);

    ls_log(LS_LOG_WARNING, "push %s to %s: the target cannot keep up (%s)", p->id, p->t.shown,
           why);
    p->reason_set = true;
    p->reason = LS_FAIL_LIMIT;
    ls_client_close(p->client, "push target too slow"); /* p may be gone: a retry follows */
}

static const struct ls_subscriber_ops push_sub_ops = {
    .flush = push_sub_flush,
    .source_event = push_sub_source_event,
    .too_slow = push_sub_too_slow,
};

/* ---- starting and stopping ---- */

static void push_start(struct spd_pushes *ps, const char *id, const char *name,
                       const struct ls_relay_push_conf *e)
{
    static struct ls_log_limit limit_log;
    struct push *p;
    const char *why = NULL;

    if (ps->count >= (size_t)ps->node->conf.max_pushes) {
        ps->failures_total[LS_FAIL_LIMIT]++;
        ls_log_limited(&limit_log, 1000, LS_LOG_WARNING,
                       "push %s to %s not started: max_pushes (%lld) reached", id, e->url,
                       (long long)ps->node->conf.max_pushes);
        return;
    }
    p = calloc(1, sizeof *p);
    if (p == NULL)
        goto oom;
    p->ps = ps;
    snprintf(p->id, sizeof p->id, "%s", id);
    p->app = strdup(e->app);
    p->url = strdup(e->url);
    p->args = strdup(e->args);
    p->retry_timer = evtimer_new(ps->node->base, push_retry_cb, p);
    if (p->app == NULL || p->url == NULL || p->args == NULL || p->retry_timer == NULL)
        goto oom;
    if (ls_relay_target_make(e->url, name, e->args, &p->t, &why) != LS_OK) {
        /* -t checked the form with a placeholder name; this one is a real stream name. */
        ps->failures_total[LS_FAIL_INTERNAL]++;
        ls_log(LS_LOG_WARNING, "push %s to %s not started: %s", id, e->url, why);
        push_free(p);
        return;
    }
    LIST_INSERT_HEAD(&ps->active, p, link);
    ps->count++;
    ps->started_total++;
    ls_log(LS_LOG_INFO, "push %s to %s: starting", id, p->t.shown);
    push_attempt(p);
    return;
oom:
    ps->failures_total[LS_FAIL_INTERNAL]++;
    ls_log(LS_LOG_ERR, "push %s to %s: out of memory", id, e->url);
    if (p != NULL)
        push_free(p);
}

/* Ends a push: unsubscribed now, freed now or when its client has closed. `clean`: let
 * the target see an unpublish (FCUnpublish, deleteStream) after what is queued. */
static void push_stop(struct push *p, bool clean, const char *why)
{
    struct spd_pushes *ps = p->ps;

    LIST_REMOVE(p, link);
    ps->count--;
    p->stopping = true;
    evtimer_del(p->retry_timer);
    if (p->dns != NULL) {
        ls_resolve_cancel(p->dns);
        p->dns = NULL;
    }
    ls_subscriber_detach(&p->sub);
    ls_log(LS_LOG_INFO, "push %s to %s: stopped (%s)", p->id, p->t.shown, why);
    if (p->client == NULL) {
        push_free(p);
        return;
    }
    LIST_INSERT_HEAD(&ps->draining, p, link);
    if (clean)
        ls_client_unpublish(p->client, why); /* push_on_close frees, later */
    else
        ls_client_close(p->client, why);     /* push_on_close frees, now */
}

static bool push_matches(const struct push *p, const struct ls_relay_push_conf *e)
{
    return strcmp(p->app, e->app) == 0 && strcmp(p->url, e->url) == 0 &&
           strcmp(p->args, e->args) == 0;
}

static struct push *push_find(struct spd_pushes *ps, const char *id,
                              const struct ls_relay_push_conf *e)
{
    struct push *p;

    LIST_FOREACH(p, &ps->active, link)
        if (strcmp(p->id, id) == 0 && push_matches(p, e))
            return p;
    return NULL;
}

struct spd_pushes *spd_pushes_new(struct ls_media_node *node)
{
    struct spd_pushes *ps = calloc(1, sizeof *ps);

    if (ps == NULL)
        return NULL;
    ps->node = node;
    LIST_INIT(&ps->active);
    LIST_INIT(&ps->draining);
    return ps;
}

void spd_pushes_live(struct spd_pushes *ps, const char *id)
{
    const struct ls_conf_list *list = &ps->node->conf.push;
    const struct ls_relay_push_conf *v = list->v;
    struct ls_stream_ref ref;
    size_t i;

    if (list->n == 0 || ls_streamid_parse_id(id, &ref, NULL) != LS_OK)
        return;
    for (i = 0; i < list->n; i++)
        if (strcmp(v[i].app, ref.app) == 0 && push_find(ps, id, &v[i]) == NULL)
            push_start(ps, id, ref.name, &v[i]);
}

void spd_pushes_ended(struct spd_pushes *ps, const char *id)
{
    struct push *p, *next;

    for (p = LIST_FIRST(&ps->active); p != NULL; p = next) {
        next = LIST_NEXT(p, link);
        if (strcmp(p->id, id) == 0)
            push_stop(p, true, "the stream ended");
    }
}

/* ---- reload, API, metrics, shutdown ---- */

static bool push_configured(const struct spd_pushes *ps, const struct push *p)
{
    const struct ls_conf_list *list = &ps->node->conf.push;
    const struct ls_relay_push_conf *v = list->v;
    size_t i;

    for (i = 0; i < list->n; i++)
        if (push_matches(p, &v[i]))
            return true;
    return false;
}

static void push_reload_stream(struct ls_stream *st, void *arg)
{
    if (ls_stream_has_source(st) && ls_stream_source_kind(st) == LS_SOURCE_PUBLISHER)
        spd_pushes_live(arg, ls_stream_id(st));
}

void spd_pushes_reload(struct spd_pushes *ps)
{
    struct push *p, *next;

    for (p = LIST_FIRST(&ps->active); p != NULL; p = next) {
        next = LIST_NEXT(p, link);
        if (!push_configured(ps, p))
            push_stop(p, true, "removed from the configuration");
    }
    /* Starting touches no stream (the first step is a DNS lookup, answered later). */
    ls_hub_foreach(ps->node->hub, push_reload_stream, ps);
}

static const char *push_state(const struct push *p)
{
    if (p->publishing)
        return "live";
    if (p->client != NULL || p->dns != NULL)
        return "connecting";
    return "retrying";
}

static uint64_t push_bytes(const struct push *p)
{
    return p->bytes + (p->client != NULL ? ls_conn_bytes_out(ls_client_conn(p->client)) : 0);
}

void spd_pushes_json(struct spd_pushes *ps, struct ls_json *j, struct ls_stream *st)
{
    const char *id = ls_stream_id(st);
    struct push *p;
    bool any = false;

    LIST_FOREACH(p, &ps->active, link) {
        if (strcmp(p->id, id) != 0)
            continue;
        if (!any) {
            ls_json_key(j, "pushes");
            ls_json_array_begin(j);
            any = true;
        }
        ls_json_object_begin(j);
        ls_json_kv_string(j, "url", p->t.shown);
        ls_json_kv_string(j, "state", push_state(p));
        ls_json_kv_uint64(j, "bytes", push_bytes(p));
        ls_json_kv_uint64(j, "reconnects", p->reconnects);
        ls_json_object_end(j);
    }
    if (any)
        ls_json_array_end(j);
}

void spd_pushes_metrics(struct ls_buf *out, const struct spd_pushes *ps)
{
    const char *names[LS_FAIL_COUNT];
    const struct push *p;
    uint64_t live = 0, bytes = ps->bytes_total;
    size_t i;

    for (i = 0; i < LS_FAIL_COUNT; i++)
        names[i] = ls_fail_reason_name((enum ls_fail_reason)i);
    LIST_FOREACH(p, &ps->active, link) {
        live += p->publishing;
        if (p->client != NULL)
            bytes += ls_conn_bytes_out(ls_client_conn(p->client));
    }
    LIST_FOREACH(p, &ps->draining, link)
        if (p->client != NULL)
            bytes += ls_conn_bytes_out(ls_client_conn(p->client));
    ls_prom_metric(out, "livecluster_pushes", "gauge",
                   "Push relays running (connecting, publishing or waiting to retry).",
                   ps->count);
    ls_prom_metric(out, "livecluster_pushes_live", "gauge", "Push relays publishing now.", live);
    ls_prom_metric(out, "livecluster_pushes_started_total", "counter", "Push relays started.",
                   ps->started_total);
    ls_prom_metric(out, "livecluster_push_reconnects_total", "counter",
                   "Push relays publishing again after a failure.", ps->reconnects_total);
    ls_prom_metric(out, "livecluster_push_bytes_total", "counter",
                   "Bytes written to push targets.", bytes);
    ls_prom_counter_by(out, "livecluster_push_failures_total",
                       "Push attempts or links that failed, by reason.", "reason", names,
                       ps->failures_total, LS_FAIL_COUNT);
}

void spd_pushes_stop(struct spd_pushes *ps)
{
    struct push *p, *next;

    while ((p = LIST_FIRST(&ps->active)) != NULL)
        push_stop(p, false, "shutting down");
    /* Clean unpublishes still writing: cut them too. Their on_close frees them, now, or on
     * the next loop turn when the close was already due (never loop until empty). */
    for (p = LIST_FIRST(&ps->draining); p != NULL; p = next) {
        next = LIST_NEXT(p, link);
        ls_client_close(p->client, "shutting down");
    }
}

void spd_pushes_free(struct spd_pushes *ps)
{
    free(ps);
}
