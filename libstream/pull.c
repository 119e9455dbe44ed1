/*
 * pull.c — an internal pull feeding one local stream (see pull.h). Layer: the roles' tools,
 * on top of the RTMP client (client.c) and the hub (hub.c).
 *
 *          resolve ──target──▶ connecting ──Play.Start──▶ attached (source of the stream)
 *             ▲                    │                        │  UnpublishNotify: detach
 *             │                    │ fails                  │  PublishNotify: attach
 *             └──── backoff ◀──────┴──────── link lost ◀────┘
 *
 *   last subscriber gone ─▶ idle timer ─▶ still none? ─▶ end (close, let the stream go)
 *
 * Every attempt that ends is classified (enum ls_pull_end: refused, not found, lost,
 * silent, moved) for the role, which picks the next target from it: an edge fails over to
 * its next upstream. A move (ls_pull_move) closes the connection like a loss but retries
 * without backoff and is not a failure.
 *
 * Lifetime. The pull is its stream's role data, which keeps the stream alive by itself
 * (hub.h) until pull_finish clears it, so nothing else can free the stream under the
 * pull. The pull itself may end from inside almost any call it makes (a client closing
 * synchronously, a subscriber or role callback stopping it): every entry point counts
 * itself in `busy`, pull_finish only marks the pull finished when a call is on the stack,
 * and the outermost entry point frees it on its way out. Code after a call that may end
 * the pull checks `finished` before it touches the pull or its stream again.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "libstream/log.h"
#include "libstream/net.h"
#include "libstream/peersig.h"
#include "libstream/pull.h"
#include "libstream/resolver.h"
#include "libstream/stats.h"
#include "libstream/streamid.h"

#define PULL_RETRY_MIN_MS 500u

/* A line about this pull: its stream, and the upstream it talks to as the peer. */
#define PULL_CTX(p) LS_LOG_CTX((p)->id, (p)->target)

struct ls_pull {
    struct ls_stream *st;   /* NULL once finished */
    char id[258];
    enum ls_source_kind kind;
    struct ls_pull_config cfg;
    const struct ls_pull_ops *ops;
    struct ls_client *client;
    struct ls_resolve *dns;  /* the target's address being looked up */
    struct event *retry_timer;
    struct event *idle_timer;
    char target[300];
    char target_node[LS_PEERSIG_NODE_MAX + 1]; /* who the role says serves it; "" = any */
    char play_name[300];    /* the stream's name part, signed once the target answers */
    unsigned backoff_ms;
    unsigned busy;          /* entry points on the stack: a finish inside frees on the way out */
    bool attached;          /* we are the stream's source */
    bool resolving;         /* waiting for the role's answer */
    bool kicked;            /* kicked while resolving: a "none yet" answer retries at once */
    bool starting;          /* inside ls_client_start */
    bool start_closed;      /* ... and the client closed (and was handled) in there */
    bool stopping;
    bool finished;          /* ended; freed when `busy` drops to 0 */
    bool outage_logged;
    bool answered;          /* this attempt's target answered connect */
    bool not_found;         /* ... and then NetStream.Play.StreamNotFound */
    bool moving;            /* ls_pull_move closed the client: not a failure */
    enum ls_pull_end last_end;
    unsigned failures;      /* failed attempts since started or last live */
    bool external;          /* ls_pull_start_external: see the top of this file */
    char *ext_tc_url, *ext_app, *ext_name;
    const char *stop_why;
};

static const struct ls_client_ops pull_client_ops;
static const struct ls_source_ops pull_source_ops;

void ls_pull_config_defaults(struct ls_pull_config *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    ls_client_config_defaults(&cfg->client);
    /* The far side may hold our play while it waits for the stream itself. */
    cfg->client.start_timeout_ms = 30000;
    cfg->client.buffer_ms = 0;
    /* A silent upstream (no FIN, no RST) is noticed, not waited on forever (decision 10). */
    cfg->client.silence_timeout_ms = 5000;
    cfg->idle_timeout_ms = 10000;
    cfg->retry_max_ms = 5000;
    cfg->node_id = "";
    cfg->role = "epd";
    cfg->secret = "";
}

static void timer_set(struct event *ev, unsigned ms)
{
    struct timeval tv = { (time_t)(ms / 1000), (suseconds_t)(ms % 1000) * 1000 };

    evtimer_add(ev, &tv);
}

static void pull_free(struct ls_pull *p)
{
    free(p->ext_tc_url);
    free(p->ext_app);
    free(p->ext_name);
    free(p);
}

static void pull_enter(struct ls_pull *p)
{
    p->busy++;
}

/* Leaves an entry point: a pull that finished meanwhile is freed by the outermost one. */
static void pull_leave(struct ls_pull *p)
{
    if (--p->busy == 0 && p->finished)
        pull_free(p);
}

/* Tells an external pull's role what happened (internal pulls have no such hook). */
static void pull_report(struct ls_pull *p, enum ls_pull_event ev, int err, const char *why)
{
    if (p->external && p->ops->event != NULL)
        p->ops->event(p, p->ops->arg, p->id, ev, err, why);
}

/* The pull stops being the stream's source; subscribers hear `ev`. */
static void pull_detach(struct ls_pull *p, enum ls_source_event ev)
{
    p->attached = false;
    ls_stream_detach_source(p->st, p, ev);
    pull_report(p, LS_PULL_NOT_LIVE, LS_OK, NULL);
}

/* Ends the pull: no client, not attached. The stream may be freed here; `p` is freed now
 * or, with a call of ours on the stack, when it returns (pull_leave). */
static void pull_finish(struct ls_pull *p)
{
    struct ls_stream *st = p->st;

    if (p->finished)
        return;
    p->finished = true;
    if (p->attached)
        pull_detach(p, LS_SOURCE_INTERRUPTED);
    ls_resolve_cancel(p->dns);
    p->dns = NULL;
    event_free(p->retry_timer);
    event_free(p->idle_timer);
    p->retry_timer = p->idle_timer = NULL;
    ls_log_ctx(LS_LOG_INFO, PULL_CTX(p), "pull %s ended (%s)", p->id,
               p->stop_why != NULL ? p->stop_why : "stopped");
    if (p->ops->ended != NULL)
        p->ops->ended(p, p->ops->arg, p->id);
    if (!p->external)
        ls_stats.pulls_active--;
    p->st = NULL;
    ls_stream_set_role_data(st, NULL); /* the stream's last keeper may go: it is freed */
    if (p->busy == 0)
        pull_free(p);
}

/* An attempt at p->target failed: classified for the role, which hears of it now. */
static void pull_attempt_failed(struct ls_pull *p, enum ls_pull_end end)
{
    p->last_end = end;
    p->failures++;
    if (p->ops->failed != NULL && !p->finished)
        p->ops->failed(p, p->ops->arg, p->id);
}

static void pull_resolve(struct ls_pull *p)
{
    p->resolving = true;
    p->kicked = false;
    p->ops->resolve(p, p->ops->arg, p->id);
}

static void pull_schedule_retry(struct ls_pull *p)
{
    if (p->stopping || p->finished)
        return;
    p->backoff_ms = p->backoff_ms == 0 ? PULL_RETRY_MIN_MS : p->backoff_ms * 2;
    if (p->backoff_ms > p->cfg.retry_max_ms)
        p->backoff_ms = p->cfg.retry_max_ms;
    timer_set(p->retry_timer, p->backoff_ms);
}

static void pull_retry_cb(evutil_socket_t fd, short what, void *arg)
{
    struct ls_pull *p = arg;

    (void)fd;
    (void)what;
    pull_enter(p);
    if (p->client == NULL && p->dns == NULL && !p->resolving && !p->stopping && !p->finished)
        pull_resolve(p);
    pull_leave(p);
}

static void pull_idle_cb(evutil_socket_t fd, short what, void *arg)
{
    struct ls_pull *p = arg;
    struct ls_stream_stats s;

    (void)fd;
    (void)what;
    pull_enter(p);
    ls_stream_stats(p->st, &s);
    if (s.subscribers == 0)
        ls_pull_stop(p, p->attached ? "no viewers for idle_timeout" : "no viewers, not live");
    pull_leave(p);
}

int ls_pull_check_limit(const char *id, size_t max_pulls)
{
    static struct ls_log_limit limit_log;

    if (max_pulls == 0 || ls_stats.pulls_active < max_pulls)
        return LS_OK;
    ls_stats.play_limited_total[LS_LIMIT_PULLS]++;
    ls_log_limited_ctx(&limit_log, 1000, LS_LOG_WARNING, LS_LOG_CTX(id, NULL),
                       "play %s refused: max_pulls (%zu) reached", id, max_pulls);
    return LS_ELIMIT;
}

/* A pull not started yet: its timers and fields, or NULL. */
static struct ls_pull *pull_new(struct ls_stream *st, enum ls_source_kind kind,
                                const struct ls_pull_config *cfg, const struct ls_pull_ops *ops)
{
    struct event_base *base = NULL;
    struct ls_pull *p = calloc(1, sizeof *p);

    if (p == NULL)
        return NULL;
    base = ls_hub_base(ls_stream_hub(st));
    p->st = st;
    snprintf(p->id, sizeof p->id, "%s", ls_stream_id(st));
    p->kind = kind;
    p->cfg = *cfg;
    p->ops = ops;
    p->retry_timer = evtimer_new(base, pull_retry_cb, p);
    p->idle_timer = evtimer_new(base, pull_idle_cb, p);
    if (p->retry_timer == NULL || p->idle_timer == NULL) {
        if (p->retry_timer != NULL)
            event_free(p->retry_timer);
        if (p->idle_timer != NULL)
            event_free(p->idle_timer);
        free(p);
        return NULL;
    }
    return p;
}

/* Makes the pull its stream's role data and asks the role for a first target. */
static void pull_begin(struct ls_pull *p)
{
    ls_stream_set_role_data(p->st, p);
    pull_enter(p);
    pull_resolve(p);
    pull_leave(p);
}

int ls_pull_start(struct ls_stream *st, enum ls_source_kind kind,
                  const struct ls_pull_config *cfg, const struct ls_pull_ops *ops)
{
    struct ls_pull *p = pull_new(st, kind, cfg, ops);

    if (p == NULL)
        return LS_ENOMEM;
    ls_stats.pulls_started_total++;
    ls_stats.pulls_active++;
    pull_begin(p);
    return LS_OK;
}

int ls_pull_start_external(struct ls_stream *st, enum ls_source_kind kind,
                           const struct ls_pull_config *cfg, const struct ls_pull_ops *ops,
                           const char *tc_url, const char *app, const char *name)
{
    struct ls_pull *p = pull_new(st, kind, cfg, ops);

    if (p == NULL)
        return LS_ENOMEM;
    p->external = true;
    p->ext_tc_url = strdup(tc_url);
    p->ext_app = strdup(app);
    p->ext_name = strdup(name);
    if (p->ext_tc_url == NULL || p->ext_app == NULL || p->ext_name == NULL) {
        event_free(p->retry_timer);
        event_free(p->idle_timer);
        pull_free(p);
        return LS_ENOMEM;
    }
    pull_begin(p);
    return LS_OK;
}

/* No target now, or the attempt could not start: wait (backoff) and ask again. */
static void pull_no_target(struct ls_pull *p, const char *why)
{
    p->resolving = false;
    if (p->stopping) {
        pull_finish(p);
        return;
    }
    if (!p->outage_logged) {
        ls_log_ctx(LS_LOG_INFO, LS_LOG_CTX(p->id, NULL), "pull %s: no source yet (%s); retrying",
                   p->id, why);
        p->outage_logged = true;
    }
    if (p->kicked) {
        /* The role learned something while it was answering: ask again at once. */
        p->kicked = false;
        p->backoff_ms = 0;
        timer_set(p->retry_timer, 0);
        return;
    }
    pull_schedule_retry(p);
}

/* The target's address is known: play from it. */
static void pull_start_client(struct ls_pull *p, const struct sockaddr *sa, socklen_t salen)
{
    struct event_base *base = ls_hub_base(ls_stream_hub(p->st));
    struct ls_stream_ref ref;
    struct ls_client *cl;
    char tc_url[sizeof p->target + sizeof ref.app + 16];

    if (ls_streamid_parse_id(p->id, &ref, NULL) != LS_OK) {
        pull_attempt_failed(p, LS_PULL_END_REFUSED);
        pull_no_target(p, "invalid stream id");
        return;
    }
    snprintf(tc_url, sizeof tc_url, "rtmp://%s/%s", p->target, ref.app);
    snprintf(p->play_name, sizeof p->play_name, "%s", ref.name);
    ls_log_ctx(LS_LOG_DEBUG, PULL_CTX(p), "pull %s: playing from %s", p->id, p->target);
    if (!p->external)
        ls_stats.pull_attempts_total++;
    /* The client may close, and report it, before it returns: pull_on_close then handled
     * the failure (a retry is scheduled, or the pull ended) and the pointer is stale.
     * The name is signed in pull_on_connected, with the target's challenge. */
    p->starting = true;
    p->start_closed = false;
    if (p->external)
        cl = ls_client_start(base, sa, salen, LS_CLIENT_PLAY, p->ext_tc_url, p->ext_app,
                             p->ext_name, &p->cfg.client, &pull_client_ops, p);
    else
        cl = ls_client_start(base, sa, salen, LS_CLIENT_PLAY, tc_url, ref.app, ref.name,
                             &p->cfg.client, &pull_client_ops, p);
    p->starting = false;
    if (p->start_closed || p->finished)
        return;
    if (cl == NULL) {
        pull_attempt_failed(p, LS_PULL_END_REFUSED);
        pull_no_target(p, "cannot open a connection");
    } else {
        p->client = cl;
    }
}

static void pull_resolved(void *arg, int result, const struct sockaddr *sa, socklen_t len)
{
    struct ls_pull *p = arg;

    pull_enter(p);
    p->dns = NULL;
    if (p->stopping) {
        pull_finish(p);
    } else if (result != LS_OK) {
        const char *why = result == LS_ELIMIT ? "no DNS answer for the target in time"
                                              : "target does not resolve";

        pull_attempt_failed(p, LS_PULL_END_REFUSED);
        pull_report(p, LS_PULL_FAILED, LS_ENOTFOUND, why);
        if (!p->finished)
            pull_no_target(p, why);
    } else {
        pull_start_client(p, sa, len);
    }
    pull_leave(p);
}

void ls_pull_connect(struct ls_pull *p, const char *target, const char *node_id)
{
    struct sockaddr_storage ss;
    socklen_t sslen;

    pull_enter(p);
    p->resolving = false;
    p->kicked = false;
    if (p->stopping) {
        pull_finish(p); /* stopped while the role was resolving */
        goto out;
    }
    if (p->client != NULL || p->dns != NULL)
        goto out;
    snprintf(p->target, sizeof p->target, "%s", target);
    snprintf(p->target_node, sizeof p->target_node, "%s", node_id != NULL ? node_id : "");
    p->answered = p->not_found = false; /* a new attempt */
    if (p->cfg.resolver != NULL) {
        /* a name (upstream, an origin's advertise) is looked up on the loop */
        p->dns = ls_resolver_resolve(p->cfg.resolver, target, pull_resolved, p);
        if (p->dns == NULL) {
            pull_attempt_failed(p, LS_PULL_END_REFUSED);
            pull_no_target(p, "out of memory");
        }
        goto out;
    }
    if (ls_net_resolve(target, false, &ss, &sslen) != LS_OK) {
        pull_attempt_failed(p, LS_PULL_END_REFUSED);
        pull_no_target(p, "target does not resolve");
        goto out;
    }
    pull_start_client(p, (struct sockaddr *)&ss, sslen);
out:
    pull_leave(p);
}

void ls_pull_unavailable(struct ls_pull *p, const char *why)
{
    pull_enter(p);
    p->last_end = LS_PULL_END_NO_TARGET;
    pull_no_target(p, why);
    pull_leave(p);
}

void ls_pull_kick(struct ls_pull *p)
{
    /* An external source's retries are paced by its backoff alone: viewers arriving (the
     * roles kick on stream_wanted) must not make it hammer a server outside the cluster. */
    if (p->external || p->stopping || p->finished || p->client != NULL || p->dns != NULL)
        return;
    if (p->resolving) {
        p->kicked = true; /* the answer on its way may predate what the role just learned */
        return;
    }
    pull_enter(p);
    evtimer_del(p->retry_timer);
    p->backoff_ms = 0;
    pull_resolve(p);
    pull_leave(p);
}

void ls_pull_stop(struct ls_pull *p, const char *why)
{
    if (p->stopping || p->finished)
        return;
    pull_enter(p);
    p->stopping = true;
    p->stop_why = why;
    evtimer_del(p->retry_timer);
    evtimer_del(p->idle_timer);
    if (p->client != NULL)
        ls_client_close(p->client, why); /* pull_on_close finishes, now or later */
    else if (!p->resolving)
        pull_finish(p); /* also cancels a DNS lookup */
    /* resolving: the role's answer arrives later and finishes (see ls_pull_connect) */
    pull_leave(p);
}

void ls_pull_move(struct ls_pull *p, const char *why)
{
    if (p->stopping || p->finished)
        return;
    pull_enter(p);
    if (p->client != NULL) {
        p->moving = true;
        ls_client_close(p->client, why); /* pull_on_close retries, now or later */
    } else {
        if (p->dns != NULL) {
            /* still looking the old target up: that attempt is void */
            ls_resolve_cancel(p->dns);
            p->dns = NULL;
        }
        p->last_end = LS_PULL_END_MOVED;
        ls_log_ctx(LS_LOG_INFO, PULL_CTX(p), "pull %s: leaving %s (%s)", p->id, p->target, why);
        ls_pull_kick(p);
    }
    pull_leave(p);
}

void ls_pull_reconnect(struct ls_pull *p, const char *why)
{
    if (p->stopping || p->finished || p->client == NULL)
        return;
    ls_client_close(p->client, why); /* pull_on_close: detach, then retry or end */
}

void ls_pull_set_config(struct ls_pull *p, const struct ls_pull_config *cfg)
{
    p->cfg = *cfg;
}

bool ls_pull_connected(const struct ls_pull *p)
{
    return p->attached;
}

const char *ls_pull_target(const struct ls_pull *p)
{
    return p->target;
}

void ls_pull_last_attempt(const struct ls_pull *p, struct ls_pull_attempt *out)
{
    out->end = p->last_end;
    out->answered = p->answered;
    out->failures = p->failures;
}

const char *ls_pull_state(const struct ls_pull *p)
{
    if (p->attached)
        return "live";
    if (p->client != NULL && ls_client_started(p->client))
        return "unpublished";
    if (p->client != NULL || p->dns != NULL || p->resolving)
        return "connecting";
    return "retrying";
}

/* The last viewer left. A live pull stays idle_timeout for a viewer who merely reloads; a
 * pull with nothing to show (never live, or its upstream lost) has nothing to keep warm
 * and ends on the next loop turn, so a play of an id that is not live costs no upstream
 * work once its viewer gave up. */
static void pull_unwanted(struct ls_pull *p)
{
    if (!p->stopping && !p->finished && !p->external)
        timer_set(p->idle_timer, p->attached ? p->cfg.idle_timeout_ms : 0);
}

void ls_pull_stream_unwanted(void *arg, struct ls_stream *st)
{
    struct ls_pull *pull = ls_stream_role_data(st);

    (void)arg;
    if (pull != NULL)
        pull_unwanted(pull);
}

/* ---- the client side of the pull ---- */

static void pull_attach(struct ls_pull *p)
{
    if (p->attached)
        return;
    if (ls_stream_attach_source(p->st, p->kind, &pull_source_ops, p) != LS_OK) {
        /* A local publisher holds the stream now: this pull has no purpose. */
        ls_pull_stop(p, "stream has a local publisher");
        return;
    }
    p->attached = true;
    pull_report(p, LS_PULL_LIVE, LS_OK, NULL);
}

/*
 * The target answered connect, with its node_id and a nonce when it has a cluster secret:
 * the play is signed for that node and this connection only (peersig.h). A target that
 * is not the node the role named (a stale registry entry, a wrong address) is left.
 */
static void pull_on_connected(struct ls_client *cl, void *arg, const struct ls_amf_value *info)
{
    struct ls_pull *p = arg;
    const char *nonce = info != NULL ? ls_amf_get_string(info, LS_PEERSIG_INFO_NONCE) : NULL;
    const char *node = info != NULL ? ls_amf_get_string(info, LS_PEERSIG_INFO_NODE) : NULL;
    char name[1400], query[1024] = "";
    int rc;

    if (p->external)
        return; /* the far side is no node of ours: nothing to sign, the name stands */
    pull_enter(p);
    p->answered = true;
    if (p->target_node[0] != '\0' && node != NULL && strcmp(node, p->target_node) != 0) {
        ls_log_ctx(LS_LOG_WARNING, PULL_CTX(p), "pull %s: %s is node %.63s, not %s; not pulling "
                   "from it", p->id, p->target, node, p->target_node);
        ls_client_close(cl, "target is another node");
        goto out;
    }
    rc = ls_peersig_sign(p->cfg.secret, p->cfg.node_id, p->cfg.role, p->id, node, nonce, query,
                         sizeof query);
    if (rc == LS_OK) {
        snprintf(name, sizeof name, "%s?%s", p->play_name, query);
        rc = ls_client_set_name(cl, name);
    }
    if (rc != LS_OK) {
        ls_log_ctx(LS_LOG_WARNING, PULL_CTX(p), "pull %s: cannot sign the play for %s (node_id "
                   "must be [A-Za-z0-9_.-]): %s", p->id, p->target, ls_strerror(rc));
        ls_client_close(cl, "cannot sign the pull");
    }
out:
    pull_leave(p);
}

static void pull_on_started(struct ls_client *cl, void *arg)
{
    struct ls_pull *p = arg;

    (void)cl;
    pull_enter(p);
    p->backoff_ms = 0;
    p->outage_logged = false;
    p->failures = 0;
    ls_log_ctx(LS_LOG_INFO, PULL_CTX(p), "pull %s: live from %s", p->id, p->target);
    pull_attach(p);
    pull_leave(p);
}

static void pull_on_status(struct ls_client *cl, void *arg, const char *level, const char *code)
{
    struct ls_pull *p = arg;

    (void)cl;
    (void)level;
    pull_enter(p);
    if (strcmp(code, "NetStream.Play.StreamNotFound") == 0)
        p->not_found = true; /* the close that follows is this answer */
    if (strcmp(code, "NetStream.Play.UnpublishNotify") == 0 && p->attached) {
        /* The publisher upstream stopped: tell our viewers the same, keep the link. */
        pull_detach(p, LS_SOURCE_STOPPED);
    } else if (strcmp(code, "NetStream.Play.PublishNotify") == 0 && !p->attached &&
               !p->stopping && !p->finished) {
        pull_attach(p);
    }
    pull_leave(p);
}

static void pull_on_media(struct ls_client *cl, void *arg, struct ls_frame *msg)
{
    struct ls_pull *p = arg;

    if (!p->attached || p->finished)
        return;
    pull_enter(p);
    if (ls_stream_push(p->st, msg) == LS_ENOMEM && !p->finished)
        ls_client_close(cl, "out of memory");
    pull_leave(p);
}

static void pull_on_close(struct ls_client *cl, void *arg, int err, const char *why)
{
    struct ls_pull *p = arg;
    struct ls_stream_stats s;
    bool silent = ls_client_timed_out(cl);
    bool started = ls_client_started(cl);
    bool moving = p->moving;

    pull_enter(p);
    p->client = NULL;
    p->moving = false;
    if (p->starting)
        p->start_closed = true;
    /* Silent for viewers: they stay and resume when a retry succeeds (decision 8). */
    if (p->attached)
        pull_detach(p, LS_SOURCE_INTERRUPTED);
    if (p->stopping || p->finished) {
        pull_finish(p);
        goto out;
    }
    ls_stream_stats(p->st, &s);
    if (moving) {
        p->last_end = LS_PULL_END_MOVED;
        ls_log_ctx(LS_LOG_INFO, PULL_CTX(p), "pull %s: leaving %s (%s)", p->id, p->target,
                   why != NULL ? why : "moved");
        if (s.subscribers == 0) {
            p->stop_why = "moved with no viewers";
            pull_finish(p);
        } else {
            p->backoff_ms = 0;
            timer_set(p->retry_timer, 0);
        }
        goto out;
    }
    pull_attempt_failed(p, silent ? LS_PULL_END_SILENT
                           : p->not_found ? LS_PULL_END_NOT_FOUND
                           : started ? LS_PULL_END_LOST : LS_PULL_END_REFUSED);
    if (p->external) {
        pull_report(p, LS_PULL_FAILED, silent ? LS_ELIMIT : err, why);
        if (p->stopping || p->finished)
            goto out;
    } else {
        ls_stats.pull_failures_total[err == LS_OK ? LS_FAIL_NOT_FOUND : LS_FAIL_UPSTREAM]++;
        if (silent)
            ls_stats.pull_timeouts_total++;
    }
    if (!p->outage_logged)
        ls_log_ctx(silent ? LS_LOG_WARNING : LS_LOG_INFO, PULL_CTX(p), "pull %s from %s lost: %s",
                   p->id, p->target, why != NULL ? why : ls_strerror(err));
    p->outage_logged = true;
    ls_stream_stats(p->st, &s);
    if (s.subscribers == 0 && !p->external) {
        p->stop_why = "link closed with no viewers";
        pull_finish(p);
        goto out;
    }
    pull_schedule_retry(p);
out:
    pull_leave(p);
}

static const struct ls_client_ops pull_client_ops = {
    .on_connected = pull_on_connected,
    .on_started = pull_on_started,
    .on_status = pull_on_status,
    .on_media = pull_on_media,
    .on_close = pull_on_close,
};

static void pull_kick_source(void *owner, const char *why)
{
    ls_pull_stop(owner, why);
}

static const char *pull_source_upstream(const void *owner)
{
    return ((const struct ls_pull *)owner)->target;
}

static const struct ls_source_ops pull_source_ops = {
    .kick = pull_kick_source,
    .upstream = pull_source_upstream,
};
