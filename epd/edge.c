/*
 * edge.c — epd's role: every stream a viewer asks for is pulled ONCE from the one
 * configured upstream spd (docs/architecture.md decision 5), shared by every local viewer,
 * retried with backoff while viewers wait, and closed idle_timeout after the last one
 * leaves. Edges take no publishers. With source_managers, the edge reports its viewers to
 * every smd (report.c).
 */
#include <stdio.h>
#include <stdlib.h>

#include "libstream/config.h"
#include "libstream/log.h"
#include "libstream/medianode.h"
#include "epd.h"

struct epd_edge {
    struct ls_media_node *node;
    struct ls_pull_ops pull_ops;
    struct epd_report *report;   /* the cluster view; NULL once stopped */
};

/* What the reports name as the upstream this edge pulls from. */
static void edge_upstream_in_use(void *arg, char *out, size_t cap)
{
    struct epd_edge *e = arg;

    if (ls_addr_format(&e->node->conf.upstream, out, cap) != LS_OK)
        out[0] = '\0';
}

static void edge_reloaded(struct ls_media_node *node, void *arg)
{
    struct epd_edge *e = arg;

    (void)node;
    if (e->report != NULL)
        epd_report_reload(e->report);
}

/* The upstream is fixed: every attempt goes there. */
static void edge_resolve(struct ls_pull *p, void *arg, const char *id)
{
    struct epd_edge *e = arg;
    char upstream[LS_ADDR_STRLEN];

    (void)id;
    if (ls_addr_format(&e->node->conf.upstream, upstream, sizeof upstream) != LS_OK) {
        ls_pull_unavailable(p, "bad upstream address");
        return;
    }
    ls_pull_connect(p, upstream, NULL);
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

struct epd_edge *epd_edge_new(struct event_base *base, const char *path)
{
    struct epd_edge *e = calloc(1, sizeof *e);
    struct ls_hub_hooks hooks;
    struct ls_reporter_hooks report_hooks = { .upstream = edge_upstream_in_use, .arg = e };
    char upstream[LS_ADDR_STRLEN];

    if (e == NULL)
        return NULL;
    e->node = ls_media_node_new(base, path, "epd", ls_epd_schema, false);
    if (e->node == NULL) {
        free(e);
        return NULL;
    }
    e->pull_ops.resolve = edge_resolve;
    e->pull_ops.ended = NULL;
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
    ls_http_set_metrics(e->node->http, epd_report_metrics, e->report);
    if (ls_addr_format(&e->node->conf.upstream, upstream, sizeof upstream) == LS_OK)
        ls_log(LS_LOG_NOTICE, "edge pulls from upstream %s", upstream);
    return e;
}

int epd_edge_reload(struct epd_edge *e)
{
    return ls_media_node_reload(e->node);
}

void epd_edge_stop(struct epd_edge *e)
{
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
    free(e);
}
