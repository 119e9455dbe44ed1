/*
 * report.c — the edge's part of the cluster view (docs/interface.md "Cluster-wide view"):
 * with `source_managers`, one registry link per smd (libstream's reglink.h) that says
 * hello as an epd and sends the reports of the edge's hub (reporter.h). An edge registers
 * nothing and asks nothing; without source_managers it works as before.
 *
 * Reload: smds added get a link, smds removed lose theirs, a changed node_id, advertise
 * or cluster_secret starts every session again.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>
#include <unistd.h>

#include "libstream/log.h"
#include "libstream/prom.h"
#include "libstream/reglink.h"
#include "libstream/reporter.h"
#include "libstream/smdproto.h"
#include "epd.h"

struct report_link {
    struct epd_report *r;
    struct ls_reglink *rl;
    TAILQ_ENTRY(report_link) next;
};

struct epd_report {
    struct event_base *base;
    struct ls_media_node *node;
    struct ls_reporter *reporter;
    struct ls_reglink_identity ident;
    char node_id[LS_SMD_NODE_ID_MAX + 1];
    char advertise[LS_ADDR_STRLEN];
    char *secret;
    struct ls_reglink_counters c;
    TAILQ_HEAD(, report_link) links;
};

static void report_link_removed(struct ls_reglink *rl, void *arg)
{
    struct report_link *l = arg;

    (void)rl;
    TAILQ_REMOVE(&l->r->links, l, next);
    free(l);
}

static const struct ls_reglink_ops report_link_ops = {
    .removed = report_link_removed,
};

/*
 * What smd lists as this edge's address: `advertise`, else `listen` when it names a
 * host, else this host's name with the listen port.
 */
static void report_advertise(const struct ls_media_conf *conf, char *out, size_t cap)
{
    struct ls_addr a = conf->advertise;
    char host[LS_ADDR_HOST_MAX + 1];

    if (a.port == 0) {
        a = conf->listen;
        if (strcmp(a.host, "0.0.0.0") == 0 || strcmp(a.host, "::") == 0) {
            struct ls_addr probe;
            char text[LS_ADDR_STRLEN];

            if (gethostname(host, sizeof host) == -1)
                snprintf(host, sizeof host, "localhost");
            host[sizeof host - 1] = '\0';
            snprintf(text, sizeof text, "%s:%u", host, (unsigned)a.port);
            if (ls_addr_parse(text, false, &probe) != LS_OK)
                snprintf(host, sizeof host, "localhost");
            snprintf(a.host, sizeof a.host, "%s", host);
        }
    }
    if (ls_addr_format(&a, out, cap) != LS_OK)
        out[0] = '\0';
}

/* Takes node_id, advertise and the secret from the config in force; true when they changed. */
static bool report_identity(struct epd_report *r)
{
    const struct ls_media_conf *conf = &r->node->conf;
    char adv[LS_ADDR_STRLEN];
    const char *secret = conf->cluster_secret != NULL ? conf->cluster_secret : "";
    bool changed;
    char *copy;
    struct ls_addr a;

    report_advertise(conf, adv, sizeof adv);
    changed = strcmp(r->node_id, conf->node_id) != 0 || strcmp(r->advertise, adv) != 0 ||
              r->secret == NULL || strcmp(r->secret, secret) != 0;
    copy = strdup(secret);
    if (copy == NULL)
        return false; /* keeps the old identity */
    free(r->secret);
    r->secret = copy;
    snprintf(r->node_id, sizeof r->node_id, "%s", conf->node_id);
    snprintf(r->advertise, sizeof r->advertise, "%s", adv);
    r->ident.node_id = r->node_id;
    r->ident.advertise = r->advertise;
    r->ident.secret = r->secret;
    r->ident.role = "epd";
    r->ident.valid = ls_smd_node_id_valid(conf->node_id) &&
                     strlen(conf->node_id) < sizeof r->node_id &&
                     ls_addr_parse(adv, false, &a) == LS_OK;
    if (!r->ident.valid && conf->source_managers.n > 0)
        ls_log(LS_LOG_ERR, "cluster reports disabled: node_id \"%s\" must be 1..%d characters of "
               "[A-Za-z0-9_.-] and advertise \"%s\" a host:port", conf->node_id,
               LS_SMD_NODE_ID_MAX, adv);
    return changed;
}

static struct report_link *report_link_add(struct epd_report *r, const struct ls_addr *smd)
{
    struct ls_reglink_config cfg = {
        .identity = &r->ident,
        .resolver = r->node->resolver,
        .reporter = r->reporter,
        .counters = &r->c,
        .ops = &report_link_ops,
    };
    struct report_link *l = calloc(1, sizeof *l);

    if (l == NULL)
        return NULL;
    cfg.arg = l;
    l->r = r;
    l->rl = ls_reglink_new(r->base, smd, &cfg);
    if (l->rl == NULL) {
        free(l);
        return NULL;
    }
    TAILQ_INSERT_TAIL(&r->links, l, next);
    ls_reglink_start(l->rl);
    return l;
}

struct epd_report *epd_report_new(struct event_base *base, struct ls_media_node *node,
                                  const struct ls_reporter_hooks *hooks)
{
    struct epd_report *r = calloc(1, sizeof *r);
    size_t i;

    if (r == NULL)
        return NULL;
    r->base = base;
    r->node = node;
    TAILQ_INIT(&r->links);
    r->reporter = ls_reporter_new(node->hub, hooks);
    if (r->reporter == NULL) {
        free(r);
        return NULL;
    }
    (void)report_identity(r);
    for (i = 0; i < node->conf.source_managers.n; i++) {
        if (report_link_add(r, &node->conf.source_managers.v[i]) == NULL) {
            epd_report_free(r);
            return NULL;
        }
    }
    if (node->conf.source_managers.n > 0)
        ls_log(LS_LOG_NOTICE, "edge reports its viewers to %zu smd as %s (%s)",
               node->conf.source_managers.n, r->node_id, r->advertise);
    return r;
}

void epd_report_reload(struct epd_report *r)
{
    const struct ls_addr_list *smds = &r->node->conf.source_managers;
    struct report_link *l, *next;
    bool identity = report_identity(r);
    size_t i;

    for (l = TAILQ_FIRST(&r->links); l != NULL; l = next) {
        bool keep = false;

        next = TAILQ_NEXT(l, next);
        for (i = 0; i < smds->n; i++)
            if (memcmp(&smds->v[i], ls_reglink_addr(l->rl), sizeof smds->v[i]) == 0)
                keep = true;
        if (keep) {
            if (identity)
                ls_reglink_kill(l->rl, "identity changed");
            ls_reglink_start(l->rl); /* one that waited on a bad identity can go now */
            continue;
        }
        ls_log(LS_LOG_NOTICE, "registry: smd %s removed from source_managers",
               ls_reglink_name(l->rl));
        if (ls_reglink_remove(l->rl)) { /* else report_link_removed, once closed */
            TAILQ_REMOVE(&r->links, l, next);
            free(l);
        }
    }
    for (i = 0; i < smds->n; i++) {
        bool have = false;

        TAILQ_FOREACH(l, &r->links, next)
            if (memcmp(&smds->v[i], ls_reglink_addr(l->rl), sizeof smds->v[i]) == 0)
                have = true;
        if (!have && (l = report_link_add(r, &smds->v[i])) != NULL)
            ls_log(LS_LOG_NOTICE, "registry: smd %s added to source_managers",
                   ls_reglink_name(l->rl));
    }
}

void epd_report_free(struct epd_report *r)
{
    struct report_link *l;

    if (r == NULL)
        return;
    while ((l = TAILQ_FIRST(&r->links)) != NULL) {
        TAILQ_REMOVE(&r->links, l, next);
        ls_reglink_free(l->rl);
        free(l);
    }
    ls_reporter_free(r->reporter);
    free(r->secret);
    free(r);
}

size_t epd_report_up_count(const struct epd_report *r)
{
    const struct report_link *l;
    size_t n = 0;

    TAILQ_FOREACH(l, &r->links, next)
        n += ls_reglink_is_up(l->rl);
    return n;
}

void epd_report_metrics(struct ls_buf *out, void *arg)
{
    const struct epd_report *r = arg;
    size_t n = 0;
    const struct report_link *l;

    TAILQ_FOREACH(l, &r->links, next)
        n++;
    ls_prom_metric(out, "livecluster_registry_smds", "gauge", "smds in source_managers.", n);
    ls_prom_metric(out, "livecluster_registry_smds_up", "gauge", "smds with a live session.",
                   epd_report_up_count(r));
    ls_prom_metric(out, "livecluster_registry_connects_total", "counter",
                   "Sessions established with an smd.", r->c.connects);
    ls_prom_metric(out, "livecluster_registry_connect_failures_total", "counter",
                   "Failed or lost smd connections.", r->c.connect_failures);
    ls_prom_metric(out, "livecluster_registry_hello_refusals_total", "counter",
                   "Hellos an smd refused (cluster_secret or clock).", r->c.hello_refusals);
    ls_prom_metric(out, "livecluster_registry_request_timeouts_total", "counter",
                   "smd requests unanswered in time.", r->c.request_timeouts);
    ls_prom_metric(out, "livecluster_registry_reports_total", "counter",
                   "Report messages sent to smds (cluster view).", r->c.reports);
}
