/*
 * edge.c — epd's role: every stream a viewer asks for is pulled ONCE (docs/architecture.md
 * decision 5) from the first of the configured upstream spds that answers, shared by every
 * local viewer, retried with backoff while viewers wait, and closed idle_timeout after the
 * last one leaves. Edges take no publishers. With source_managers, the edge reports its
 * viewers to every smd (report.c).
 *
 * Failover (docs/interface.md "Edge upstreams and failover"): when a pull's upstream fails
 * — link lost, refused, or silent for upstream_timeout — the upstream is marked down
 * (upstream.c probes it back) and the pull's next attempt goes to the first upstream that
 * is up, while its viewers stay connected. An upstream that answers but lacks the stream
 * (NotFound) stays up; that pull tries the next one. A pull stays where it is once live,
 * even when a preferred upstream comes back: moving would cost its viewers a gap for no
 * gain in what they see. Only a reload that drops its upstream from the list moves it.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "libstream/buf.h"
#include "libstream/config.h"
#include "libstream/log.h"
#include "libstream/medianode.h"
#include "epd.h"
#include "upstream.h"

struct epd_edge {
    struct ls_media_node *node;
    struct ls_pull_ops pull_ops;
    struct epd_upstreams *upstreams;
    struct epd_report *report;   /* the cluster view; NULL once stopped */
};

static void edge_upstreams_config(const struct epd_edge *e, struct epd_upstreams_config *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->client = e->node->pull_cfg.client;
    cfg->probe_timeout_ms = (unsigned)e->node->conf.upstream_timeout * 1000;
    cfg->probe_max_ms = e->node->pull_cfg.retry_max_ms;
    cfg->resolver = e->node->resolver;
}

/* A failure that says the upstream itself is in trouble, not that it lacks the stream. */
static bool edge_failure_is_health(const struct ls_pull_attempt *a)
{
    return a->end == LS_PULL_END_LOST || a->end == LS_PULL_END_SILENT ||
           (a->end == LS_PULL_END_REFUSED && !a->answered);
}

static enum epd_switch_reason edge_switch_reason(const struct ls_pull_attempt *a)
{
    switch (a->end) {
    case LS_PULL_END_LOST: return EPD_SWITCH_LOST;
    case LS_PULL_END_SILENT: return EPD_SWITCH_SILENT;
    case LS_PULL_END_NOT_FOUND: return EPD_SWITCH_NOT_FOUND;
    case LS_PULL_END_MOVED: return EPD_SWITCH_REMOVED;
    default: return EPD_SWITCH_REFUSED;
    }
}

/* Marks the upstream down at once, so that pulls starting meanwhile avoid it too. */
static void edge_pull_failed(struct ls_pull *p, void *arg, const char *id)
{
    struct epd_edge *e = arg;
    struct ls_pull_attempt a;
    int at = epd_upstreams_find(e->upstreams, ls_pull_target(p));

    (void)id;
    ls_pull_last_attempt(p, &a);
    if (at >= 0 && edge_failure_is_health(&a))
        epd_upstreams_mark_down(e->upstreams, (size_t)at,
                                epd_switch_reason_name(edge_switch_reason(&a)));
}

/*
 * The next attempt's upstream. A switch — the pull leaving the upstream it was live on (or
 * first tried) for another — is counted and logged once per outage: while every upstream
 * fails, the pull goes on trying them in turn without a line per attempt.
 */
static void edge_resolve(struct ls_pull *p, void *arg, const char *id)
{
    struct epd_edge *e = arg;
    struct ls_pull_attempt a;
    const char *prev = ls_pull_target(p);
    int from = epd_upstreams_find(e->upstreams, prev);
    const char *next;
    size_t to;

    ls_pull_last_attempt(p, &a);
    to = epd_upstreams_choose(e->upstreams, from,
                              a.end == LS_PULL_END_NOT_FOUND ||
                                  (a.end == LS_PULL_END_REFUSED && a.answered));
    next = epd_upstreams_addr(e->upstreams, to);
    if (prev[0] != '\0' && strcmp(prev, next) != 0 &&
        (a.end == LS_PULL_END_MOVED || a.failures == 1)) {
        enum epd_switch_reason r = edge_switch_reason(&a);

        epd_upstreams_count_switch(e->upstreams, r);
        ls_log_ctx(r == EPD_SWITCH_NOT_FOUND || r == EPD_SWITCH_REMOVED ? LS_LOG_NOTICE
                                                                        : LS_LOG_WARNING,
                   LS_LOG_CTX(id, next), "pull %s: upstream switch from %s to %s (%s)", id, prev,
                   next, epd_switch_reason_name(r));
    }
    ls_pull_connect(p, next, NULL);
}

static int edge_stream_wanted(void *arg, struct ls_stream *st)
{
    struct epd_edge *e = arg;
    struct ls_pull *pull = ls_stream_role_data(st);

    if (pull != NULL) {
        ls_pull_kick(pull); /* a pull waiting out its backoff: a viewer is here, try now */
        return LS_OK;
    }
    if (ls_pull_check_limit(ls_stream_id(st), (size_t)e->node->conf.max_pulls) != LS_OK)
        return LS_ELIMIT;
    if (ls_pull_start(st, LS_SOURCE_UPSTREAM, &e->node->pull_cfg, &e->pull_ops) != LS_OK)
        ls_log(LS_LOG_ERR, "pull %s: out of memory", ls_stream_id(st));
    return LS_OK;
}

struct edge_playing {
    const struct epd_upstreams *upstreams;
    uint64_t n[LS_CONF_LIST_MAX]; /* pulls playing from the i-th upstream */
};

static void edge_count_playing(struct ls_stream *st, void *arg)
{
    struct edge_playing *c = arg;
    const char *up = ls_stream_source_upstream(st);
    int at = up != NULL ? epd_upstreams_find(c->upstreams, up) : -1;

    if (at >= 0 && at < LS_CONF_LIST_MAX)
        c->n[at]++;
}

static void edge_count_all_playing(struct epd_edge *e, struct edge_playing *c)
{
    memset(c, 0, sizeof *c);
    c->upstreams = e->upstreams;
    ls_hub_foreach(e->node->hub, edge_count_playing, c);
}

static void edge_metrics(struct ls_buf *out, void *arg)
{
    struct epd_edge *e = arg;
    struct edge_playing c;

    edge_count_all_playing(e, &c);
    epd_upstreams_metrics(e->upstreams, c.n, out);
    if (e->report != NULL)
        epd_report_metrics(out, e->report);
}

/* What the reports name as the upstream in use: the one most pulls play from now, or,
 * with none playing, the one the next pull would take. */
static void edge_upstream_in_use(void *arg, char *out, size_t cap)
{
    struct epd_edge *e = arg;
    struct edge_playing c;
    size_t i, best = epd_upstreams_choose(e->upstreams, -1, false);

    edge_count_all_playing(e, &c);
    for (i = 0; i < epd_upstreams_count(e->upstreams) && i < LS_CONF_LIST_MAX; i++)
        if (c.n[i] > c.n[best])
            best = i;
    snprintf(out, cap, "%s", epd_upstreams_addr(e->upstreams, best));
}

static void edge_log_upstreams(const struct epd_edge *e)
{
    char list[1024];
    size_t i, len = 0;

    list[0] = '\0';
    for (i = 0; i < epd_upstreams_count(e->upstreams) && len < sizeof list; i++)
        len += (size_t)snprintf(list + len, sizeof list - len, "%s%s", i > 0 ? ", " : "",
                                epd_upstreams_addr(e->upstreams, i));
    ls_log(LS_LOG_NOTICE, "edge pulls from upstream%s %s%s",
           epd_upstreams_count(e->upstreams) > 1 ? "s" : "", list,
           epd_upstreams_count(e->upstreams) > 1 ? " (in order of preference)" : "");
}

/* A reload took this pull's upstream off the list: it goes to one still listed. */
static void edge_move_unlisted(struct ls_stream *st, void *arg)
{
    struct epd_edge *e = arg;
    struct ls_pull *pull = ls_stream_role_data(st);

    if (pull != NULL && ls_pull_target(pull)[0] != '\0' &&
        epd_upstreams_find(e->upstreams, ls_pull_target(pull)) < 0)
        ls_pull_move(pull, "its upstream is no longer listed");
}

static void edge_reloaded(struct ls_media_node *node, void *arg)
{
    struct epd_edge *e = arg;
    struct epd_upstreams_config cfg;

    (void)node;
    edge_upstreams_config(e, &cfg);
    if (epd_upstreams_set(e->upstreams, &e->node->conf.upstream, &cfg) != LS_OK) {
        ls_log(LS_LOG_ERR, "out of memory: the upstream list keeps its previous value");
        return;
    }
    edge_log_upstreams(e);
    ls_hub_foreach(e->node->hub, edge_move_unlisted, e);
    if (e->report != NULL)
        epd_report_reload(e->report);
}

struct epd_edge *epd_edge_new(struct event_base *base, const char *path)
{
    struct epd_edge *e = calloc(1, sizeof *e);
    struct ls_hub_hooks hooks;
    struct epd_upstreams_config cfg;
    struct ls_reporter_hooks report_hooks = { .upstream = edge_upstream_in_use, .arg = e };

    if (e == NULL)
        return NULL;
    e->node = ls_media_node_new(base, path, "epd", ls_epd_schema, false);
    if (e->node == NULL) {
        free(e);
        return NULL;
    }
    e->upstreams = epd_upstreams_new(base);
    edge_upstreams_config(e, &cfg);
    if (e->upstreams == NULL ||
        epd_upstreams_set(e->upstreams, &e->node->conf.upstream, &cfg) != LS_OK) {
        ls_log(LS_LOG_ERR, "out of memory setting up the upstream list");
        epd_edge_free(e);
        return NULL;
    }
    e->pull_ops.resolve = edge_resolve;
    e->pull_ops.ended = NULL;
    e->pull_ops.failed = edge_pull_failed;
    e->pull_ops.arg = e;
    hooks.stream_wanted = edge_stream_wanted;
    hooks.stream_unwanted = ls_pull_stream_unwanted;
    hooks.arg = e;
    ls_hub_set_hooks(e->node->hub, &hooks);
    ls_hub_set_default_source_kind(e->node->hub, LS_SOURCE_UPSTREAM);
    e->report = epd_report_new(base, e->node, &report_hooks);
    if (e->report == NULL) {
        epd_edge_free(e);
        return NULL;
    }
    e->node->reloaded = edge_reloaded;
    e->node->arg = e;
    ls_http_set_metrics(e->node->http, edge_metrics, e);
    edge_log_upstreams(e);
    return e;
}

int epd_edge_reload(struct epd_edge *e)
{
    return ls_media_node_reload(e->node);
}

void epd_edge_stop(struct epd_edge *e)
{
    epd_upstreams_stop(e->upstreams);
    ls_media_node_stop(e->node);
    /* goodbye to every smd: this edge's viewers leave the cluster's sums at once */
    epd_report_free(e->report);
    e->report = NULL;
}

void epd_edge_status(struct epd_edge *e, char *out, size_t cap)
{
    ls_media_node_status(e->node, out, cap);
}

void epd_edge_free(struct epd_edge *e)
{
    if (e == NULL)
        return;
    epd_report_free(e->report);
    ls_media_node_free(e->node);
    epd_upstreams_free(e->upstreams);
    free(e);
}
