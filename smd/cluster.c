/*
 * cluster.c — smd's view of the whole cluster: what every reporting spd and epd says
 * about its viewers, counters and health (docs/protocol.md "Reports"; docs/interface.md
 * "Cluster-wide view"). Layer: beside the registry (registry.c owns the sessions and hands
 * each one's reports here), below the HTTP API (api.c) and the status page (page.c).
 *
 * Per node: its streams as it last reported them (id → viewers, bytes), the sum of their
 * viewers, its node line (health, counters) and when it last reported. Per id, across the
 * nodes: the sum of viewers, updated by the difference each report line makes, so a
 * report costs one hash lookup per line that changed and reading the sum of an id costs
 * one lookup — plus one per node whose figures are too old to count (nodes are few).
 *
 * Counters are monotonic for Prometheus: the cluster's total is the counters retired by
 * nodes that left plus those of the nodes here. A node that comes back within
 * SMD_DEPARTED_TTL_S continues its counters (its retired share is taken back when its
 * own numbers include it), a restarted node starts again from zero on top of them.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>

#include <event2/event.h>

#include "libstream/clock.h"
#include "libstream/json.h"
#include "libstream/log.h"
#include "libstream/smdproto.h"
#include "libstream/smdreport.h"
#include "libstream/strmap.h"
#include "smd.h"

/* One id across the nodes that report it. */
struct agg {
    struct ls_strmap_node h;      /* in c->aggs */
    uint64_t viewers;             /* every node's, fresh or not */
    unsigned nodes;
    char id[];
};

/* One stream as one node reported it. */
struct cstream {
    struct ls_strmap_node h;      /* in n->streams */
    struct agg *agg;
    uint64_t viewers;
    uint64_t bytes_out;
    char id[];
};

struct smd_cnode {
    struct smd_cluster *c;
    TAILQ_ENTRY(smd_cnode) link;
    char node_id[LS_SMD_NODE_ID_MAX + 1];
    char role[LS_SMD_ROLE_MAX + 1];
    bool reporter;
    uint64_t report_ms;           /* the interval it was told at hello (the rate it keeps) */
    uint64_t joined_ms;
    uint64_t last_report_ms;      /* 0 = none yet */
    int64_t last_report_unix;
    bool in_report;               /* a report's later messages are due (`more`) */
    unsigned parts;               /* messages of the report so far */
    bool dropping;                /* ... and they are dropped with it */
    bool resync_asked;            /* resync sent; nothing more until a full report */
    uint64_t tokens_milli;        /* rate: reports it may still send at once, x1000 */
    uint64_t tokens_ms;
    struct ls_node_report health; /* its last node line */
    bool have_counters;
    bool continued;               /* counters of a former session are in c->retired */
    uint64_t counters[LS_NODE_COUNTERS];
    uint64_t former[LS_NODE_COUNTERS]; /* `continued`: what the former session left */
    struct ls_strmap streams;
    uint64_t viewers;
    bool limit_logged;
};

/* Counters of a node that left (in c->departed, by node id, oldest first). */
struct departed {
    struct ls_strmap_node h;
    TAILQ_ENTRY(departed) age;
    uint64_t until_ms;
    uint64_t counters[LS_NODE_COUNTERS];
    char node_id[LS_SMD_NODE_ID_MAX + 1];
};

struct sample {
    int64_t t;
    uint64_t requests, failures, viewers;
};

struct smd_cluster {
    struct event_base *base;
    const struct smd_conf *conf;
    TAILQ_HEAD(, smd_cnode) nodes;
    struct ls_strmap aggs;
    uint64_t retired[LS_NODE_COUNTERS];
    struct ls_strmap departed;
    TAILQ_HEAD(, departed) departed_age;
    struct event *sampler;
    struct sample history[SMD_HISTORY_LEN];
    size_t nhistory, history_next;
    struct smd_cluster_counters c;
};

static uint64_t report_interval_ms(const struct smd_cluster *c)
{
    return c->conf->report_interval_ms > 0 ? (uint64_t)c->conf->report_interval_ms
                                          : SMD_REPORT_INTERVAL_DEFAULT_MS;
}

static size_t max_report_streams(const struct smd_cluster *c)
{
    return c->conf->max_report_streams > 0 ? (size_t)c->conf->max_report_streams
                                          : SMD_MAX_REPORT_STREAMS_DEFAULT;
}

static bool cnode_fresh(const struct smd_cnode *n, uint64_t now)
{
    return n->last_report_ms != 0 && now - n->last_report_ms <= SMD_REPORT_FRESH_MS;
}

/* Adds without wrapping: the cluster's counters only ever grow (SMD_REPORT_COUNTER_MAX). */
static uint64_t add_sat(uint64_t a, uint64_t b)
{
    return a > UINT64_MAX - b ? UINT64_MAX : a + b;
}

/* ---- streams ---- */

static void stream_drop(struct smd_cluster *c, struct smd_cnode *n, struct cstream *cs)
{
    struct agg *a = cs->agg;

    a->viewers -= cs->viewers;
    n->viewers -= cs->viewers;
    if (--a->nodes == 0) {
        ls_strmap_remove(&c->aggs, &a->h);
        free(a);
    }
    ls_strmap_remove(&n->streams, &cs->h);
    free(cs);
}

static void streams_clear(struct smd_cluster *c, struct smd_cnode *n)
{
    struct ls_strmap_iter it;
    struct ls_strmap_node *h;

    ls_strmap_iter_init(&it, &n->streams);
    while ((h = ls_strmap_iter_next(&it)) != NULL)
        stream_drop(c, n, LS_STRMAP_ENTRY(h, struct cstream, h));
}

/* A stream line: the node's values for the id now. LS_ENOMEM leaves things as they were. */
static int stream_set(struct smd_cluster *c, struct smd_cnode *n, const char *id,
                      uint64_t viewers, uint64_t bytes_out)
{
    struct ls_strmap_node *h = ls_strmap_find(&n->streams, id);
    struct cstream *cs;

    if (h == NULL) {
        size_t len = strlen(id);
        struct agg *a;

        if (ls_strmap_count(&n->streams) >= max_report_streams(c)) {
            c->c.streams_dropped_total++;
            if (!n->limit_logged)
                ls_log(LS_LOG_WARNING, "node %s reports more than max_report_streams (%zu) "
                       "streams: the others are left out of the cluster view", n->node_id,
                       max_report_streams(c));
            n->limit_logged = true;
            return LS_OK;
        }
        h = ls_strmap_find(&c->aggs, id);
        if (h != NULL) {
            a = LS_STRMAP_ENTRY(h, struct agg, h);
        } else {
            a = calloc(1, sizeof *a + len + 1);
            if (a == NULL)
                return LS_ENOMEM;
            memcpy(a->id, id, len + 1);
            a->h.key = a->id;
            if (ls_strmap_insert(&c->aggs, &a->h) != LS_OK) {
                free(a);
                return LS_ENOMEM;
            }
        }
        cs = calloc(1, sizeof *cs + len + 1);
        if (cs != NULL) {
            memcpy(cs->id, id, len + 1);
            cs->h.key = cs->id;
        }
        if (cs == NULL || ls_strmap_insert(&n->streams, &cs->h) != LS_OK) {
            free(cs);
            if (a->nodes == 0) {
                ls_strmap_remove(&c->aggs, &a->h);
                free(a);
            }
            return LS_ENOMEM;
        }
        cs->agg = a;
        a->nodes++;
    } else {
        cs = LS_STRMAP_ENTRY(h, struct cstream, h);
    }
    if (viewers > SMD_REPORT_VIEWERS_MAX)
        viewers = SMD_REPORT_VIEWERS_MAX; /* then no sum of them can wrap */
    /* unsigned arithmetic: adding the difference is exact either way round */
    cs->agg->viewers += viewers - cs->viewers;
    n->viewers += viewers - cs->viewers;
    cs->viewers = viewers;
    cs->bytes_out = bytes_out;
    return LS_OK;
}

static void stream_gone(struct smd_cluster *c, struct smd_cnode *n, const char *id)
{
    struct ls_strmap_node *h = ls_strmap_find(&n->streams, id);

    if (h != NULL)
        stream_drop(c, n, LS_STRMAP_ENTRY(h, struct cstream, h));
}

/* ---- counters ---- */

static void departed_remove(struct smd_cluster *c, struct departed *d)
{
    ls_strmap_remove(&c->departed, &d->h);
    TAILQ_REMOVE(&c->departed_age, d, age);
    free(d);
}

static void departed_expire(struct smd_cluster *c, uint64_t now)
{
    struct departed *d;

    while ((d = TAILQ_FIRST(&c->departed_age)) != NULL &&
           (d->until_ms <= now || ls_strmap_count(&c->departed) > SMD_DEPARTED_MAX))
        departed_remove(c, d);
}

/* Remembers what a leaving node counted (its share stays in c->retired meanwhile). */
static void departed_note(struct smd_cluster *c, const char *node_id, const uint64_t *counters)
{
    struct ls_strmap_node *h = ls_strmap_find(&c->departed, node_id);
    struct departed *d;

    if (h != NULL)
        departed_remove(c, LS_STRMAP_ENTRY(h, struct departed, h));
    d = calloc(1, sizeof *d);
    if (d == NULL)
        return; /* then a return of this node counts twice: a spike, never a decrease */
    snprintf(d->node_id, sizeof d->node_id, "%s", node_id);
    d->h.key = d->node_id;
    d->until_ms = ls_now_ms() + SMD_DEPARTED_TTL_S * 1000u;
    memcpy(d->counters, counters, sizeof d->counters);
    if (ls_strmap_insert(&c->departed, &d->h) != LS_OK) {
        free(d);
        return;
    }
    TAILQ_INSERT_TAIL(&c->departed_age, d, age);
    departed_expire(c, ls_now_ms());
}

/* A node line's counters. Everything the cluster shows only ever grows. */
static void counters_set(struct smd_cluster *c, struct smd_cnode *n, const uint64_t *fresh)
{
    unsigned i;

    for (i = 0; i < LS_NODE_COUNTERS; i++) {
        uint64_t v = fresh[i] < SMD_REPORT_COUNTER_MAX ? fresh[i] : SMD_REPORT_COUNTER_MAX;

        if (n->continued) {
            /* The first report of a node seen before: when its numbers include what it
             * left (the same process, back after a link loss), that share comes out of
             * the retired total again; when they are smaller it restarted. */
            if (v >= n->former[i])
                c->retired[i] -= n->former[i];
        } else if (n->have_counters && v < n->counters[i]) {
            /* went backwards: a reset, keep what it had */
            c->retired[i] = add_sat(c->retired[i], n->counters[i]);
        }
        n->counters[i] = v;
    }
    n->continued = false;
    n->have_counters = true;
}

/* ---- nodes ---- */

struct smd_cnode *smd_cluster_join(struct smd_cluster *c, const char *node_id, const char *role,
                                   bool reporter, uint64_t report_ms)
{
    struct smd_cnode *n = calloc(1, sizeof *n);
    struct ls_strmap_node *h;

    if (n == NULL)
        return NULL;
    if (ls_strmap_init(&n->streams) != LS_OK) {
        free(n);
        return NULL;
    }
    n->c = c;
    snprintf(n->node_id, sizeof n->node_id, "%s", node_id);
    snprintf(n->role, sizeof n->role, "%s",
             role != NULL && strcmp(role, "epd") == 0 ? "epd" : "spd");
    n->reporter = reporter;
    n->report_ms = report_ms > 0 ? report_ms : report_interval_ms(c);
    n->joined_ms = ls_now_ms();
    n->tokens_milli = SMD_REPORT_BURST * 1000u;
    n->tokens_ms = n->joined_ms;
    departed_expire(c, n->joined_ms);
    h = ls_strmap_find(&c->departed, node_id);
    if (h != NULL) {
        struct departed *d = LS_STRMAP_ENTRY(h, struct departed, h);

        n->continued = true;
        memcpy(n->former, d->counters, sizeof n->former);
        departed_remove(c, d);
    }
    TAILQ_INSERT_TAIL(&c->nodes, n, link);
    return n;
}

void smd_cluster_rejoin(struct smd_cluster *c, struct smd_cnode *n, const char *role,
                        bool reporter, uint64_t report_ms)
{
    if (n == NULL)
        return;
    snprintf(n->role, sizeof n->role, "%s",
             role != NULL && strcmp(role, "epd") == 0 ? "epd" : "spd");
    n->reporter = reporter;
    n->report_ms = report_ms > 0 ? report_ms : report_interval_ms(c);
}

void smd_cluster_leave(struct smd_cluster *c, struct smd_cnode *n)
{
    unsigned i;

    if (n == NULL)
        return;
    streams_clear(c, n);
    if (n->continued) {
        departed_note(c, n->node_id, n->former); /* never reported: as it left before */
    } else if (n->have_counters) {
        for (i = 0; i < LS_NODE_COUNTERS; i++)
            c->retired[i] = add_sat(c->retired[i], n->counters[i]);
        departed_note(c, n->node_id, n->counters);
    }
    TAILQ_REMOVE(&c->nodes, n, link);
    ls_strmap_free(&n->streams);
    free(n);
}

/* ---- reports ---- */

/* One more report from `n` now? One per the interval it was told (report_interval_ms at
 * its hello: a reload does not turn a node's reports into excess), SMD_REPORT_BURST at
 * once. */
static bool rate_take(struct smd_cnode *n, uint64_t now)
{
    uint64_t interval = n->report_ms;

    n->tokens_milli += (now - n->tokens_ms) * 1000u / interval;
    if (n->tokens_milli > SMD_REPORT_BURST * 1000u)
        n->tokens_milli = SMD_REPORT_BURST * 1000u;
    n->tokens_ms = now;
    if (n->tokens_milli < 1000u)
        return false;
    n->tokens_milli -= 1000u;
    return true;
}

/* The most messages one report may take: every message carries at least a hundred lines
 * of the longest stream id, and a report at most max_report_streams streams plus as many
 * gone. */
static unsigned report_parts_max(const struct smd_cluster *c)
{
    return 2 + (unsigned)(2 * max_report_streams(c) / 100);
}

/* The report being received is dropped; `resync` once per episode. */
static void report_dropped(struct smd_cluster *c, struct smd_cnode *n, bool *resync,
                           const char *why)
{
    c->c.reports_dropped_total++;
    *resync = !n->resync_asked;
    if (*resync) {
        c->c.resyncs_total++;
        ls_log(LS_LOG_WARNING, "node %s: report dropped (%s; every %llu ms at most), a full "
               "one asked for", n->node_id, why, (unsigned long long)n->report_ms);
    }
    n->resync_asked = true;
}

int smd_cluster_report(struct smd_cluster *c, struct smd_cnode *n, const struct ls_smd_report *r,
                       bool *resync, const char **why)
{
    struct ls_smd_report_iter it;
    struct ls_smd_report_line line;
    uint64_t now = ls_now_ms();
    int rc;

    *resync = false;
    if (!n->in_report || r->full) {
        /* a report starts: within the rate, or dropped with its later messages */
        n->parts = 0;
        n->dropping = !rate_take(n, now);
        if (n->dropping) {
            report_dropped(c, n, resync, "reports faster than its interval");
        } else if (r->full) {
            n->resync_asked = false;
            streams_clear(c, n);
        }
    }
    /* The rate counts reports; a report's messages are bounded by what max_report_streams
     * streams (and as many gone) can take, so `more` cannot stand in for reports. */
    if (++n->parts > report_parts_max(c) && !n->dropping) {
        n->dropping = true;
        report_dropped(c, n, resync, "a report longer than max_report_streams allows");
    }
    n->in_report = r->more;
    if (n->dropping)
        return LS_ELIMIT;
    ls_smd_report_iter_init(&it, r->body, r->body_len);
    while ((rc = ls_smd_report_next(&it, &line, why)) == 1) {
        switch (line.kind) {
        case LS_SMD_LINE_NODE: {
            struct ls_node_report nr;

            if (ls_node_report_read(line.pairs, line.pairs_len, &nr, why) != LS_OK)
                return LS_EPROTO;
            counters_set(c, n, nr.counters);
            n->health = nr;
            break;
        }
        case LS_SMD_LINE_STREAM:
            if (stream_set(c, n, line.id, line.viewers, line.bytes_out) != LS_OK) {
                /* memory is short: the node's picture has a hole, ask for all of it */
                LS_WHY(why, "out of memory");
                n->resync_asked = true;
                *resync = true;
                c->c.resyncs_total++;
                return LS_ELIMIT;
            }
            break;
        case LS_SMD_LINE_GONE:
            stream_gone(c, n, line.id);
            break;
        }
    }
    if (rc < 0)
        return LS_EPROTO;
    c->c.reports_total++;
    if (!r->more) {
        n->last_report_ms = now;
        n->last_report_unix = ls_unix_time();
    }
    return LS_OK;
}

/* ---- views ---- */

bool smd_cnode_listed(const struct smd_cluster *c, const struct smd_cnode *n)
{
    uint64_t lease_ms = (uint64_t)c->conf->lease_seconds * 1000u, now = ls_now_ms();
    uint64_t since = n->last_report_ms != 0 ? n->last_report_ms : n->joined_ms;

    return !n->reporter || now - since <= lease_ms;
}

void smd_cnode_view(const struct smd_cluster *c, const struct smd_cnode *n,
                    struct smd_cnode_view *v)
{
    (void)c;
    v->role = n->role;
    v->reporter = n->reporter;
    v->reported = n->last_report_ms != 0;
    v->fresh = cnode_fresh(n, ls_now_ms());
    v->last_report = n->last_report_unix;
    v->viewers = n->viewers;
    v->streams = ls_strmap_count(&n->streams);
    v->health = &n->health;
}

static const struct cstream *cnode_stream(const struct smd_cnode *n, const char *id)
{
    struct ls_strmap_node *h = ls_strmap_find(&n->streams, id);

    return h != NULL ? LS_STRMAP_ENTRY(h, struct cstream, h) : NULL;
}

uint64_t smd_cluster_viewers(const struct smd_cluster *c, const char *id)
{
    struct ls_strmap_node *h = ls_strmap_find(&c->aggs, id);
    const struct smd_cnode *n;
    uint64_t now = ls_now_ms(), v;

    if (h == NULL)
        return 0;
    v = LS_STRMAP_ENTRY(h, struct agg, h)->viewers;
    /* figures too old to count come out again */
    TAILQ_FOREACH(n, &c->nodes, link) {
        const struct cstream *cs;

        if (!cnode_fresh(n, now) && (cs = cnode_stream(n, id)) != NULL)
            v -= cs->viewers;
    }
    return v;
}

void smd_cluster_split(const struct smd_cluster *c, const char *id,
                       void (*fn)(const char *node_id, const char *role, uint64_t viewers,
                                  uint64_t bytes_out, void *arg),
                       void *arg)
{
    const struct smd_cnode *n;
    uint64_t now = ls_now_ms();

    TAILQ_FOREACH(n, &c->nodes, link) {
        const struct cstream *cs;

        if (cnode_fresh(n, now) && (cs = cnode_stream(n, id)) != NULL)
            fn(n->node_id, n->role, cs->viewers, cs->bytes_out, arg);
    }
}

void smd_cluster_totals(const struct smd_cluster *c, struct smd_cluster_totals *t)
{
    const struct smd_cnode *n;
    uint64_t now = ls_now_ms();
    unsigned i;

    memset(t, 0, sizeof *t);
    memcpy(t->counters, c->retired, sizeof t->counters);
    TAILQ_FOREACH(n, &c->nodes, link) {
        if (smd_cnode_listed(c, n)) {
            if (strcmp(n->role, "epd") == 0)
                t->nodes_epd++;
            else
                t->nodes_spd++;
        }
        if (cnode_fresh(n, now))
            t->viewers += n->viewers;
        /* a node that rejoined and has not reported yet is all in `retired` still */
        if (n->have_counters && !n->continued)
            for (i = 0; i < LS_NODE_COUNTERS; i++)
                t->counters[i] = add_sat(t->counters[i], n->counters[i]);
    }
}

const struct smd_cluster_counters *smd_cluster_counters(const struct smd_cluster *c)
{
    return &c->c;
}

static uint64_t failures_sum(const uint64_t *counters)
{
    uint64_t f = 0;
    unsigned i;

    for (i = 0; i < LS_FAIL_COUNT; i++)
        f += counters[LS_NODE_PLAY_FAILURES + i];
    return f;
}

/* The busiest ids (by fresh viewers): a bounded insertion sort over every id. */
static void top_json(const struct smd_cluster *c, struct ls_json *j)
{
    struct {
        const char *id;
        uint64_t viewers;
    } top[SMD_TOP_STREAMS];
    size_t ntop = 0, i;
    struct ls_strmap_iter it;
    struct ls_strmap_node *h;

    ls_strmap_iter_init(&it, &c->aggs);
    while ((h = ls_strmap_iter_next(&it)) != NULL) {
        const struct agg *a = LS_STRMAP_ENTRY(h, struct agg, h);
        uint64_t v;

        if (a->viewers == 0 || (ntop == SMD_TOP_STREAMS && a->viewers <= top[ntop - 1].viewers))
            continue;
        v = smd_cluster_viewers(c, a->id);
        if (v == 0 || (ntop == SMD_TOP_STREAMS && v <= top[ntop - 1].viewers))
            continue;
        i = ntop < SMD_TOP_STREAMS ? ntop++ : ntop - 1;
        while (i > 0 && (top[i - 1].viewers < v ||
                         (top[i - 1].viewers == v && strcmp(top[i - 1].id, a->id) > 0))) {
            top[i] = top[i - 1];
            i--;
        }
        top[i].id = a->id;
        top[i].viewers = v;
    }
    ls_json_key(j, "top");
    ls_json_array_begin(j);
    for (i = 0; i < ntop; i++) {
        ls_json_object_begin(j);
        ls_json_kv_string(j, "id", top[i].id);
        ls_json_kv_uint64(j, "viewers", top[i].viewers);
        ls_json_object_end(j);
    }
    ls_json_array_end(j);
}

void smd_cluster_json(const struct smd_cluster *c, struct ls_json *j)
{
    struct smd_cluster_totals t;
    char le[32];
    unsigned i;
    size_t k;

    smd_cluster_totals(c, &t);
    ls_json_kv_int64(j, "time", ls_unix_time());
    ls_json_kv_uint64(j, "viewers", t.viewers);
    ls_json_key(j, "nodes");
    ls_json_object_begin(j);
    ls_json_kv_uint64(j, "spd", t.nodes_spd);
    ls_json_kv_uint64(j, "epd", t.nodes_epd);
    ls_json_object_end(j);
    ls_json_kv_uint64(j, "play_requests", t.counters[LS_NODE_PLAY_REQUESTS]);
    ls_json_key(j, "play_failures");
    ls_json_object_begin(j);
    for (i = 0; i < LS_FAIL_COUNT; i++)
        ls_json_kv_uint64(j, ls_fail_reason_name((enum ls_fail_reason)i),
                          t.counters[LS_NODE_PLAY_FAILURES + i]);
    ls_json_object_end(j);
    ls_json_key(j, "play_start");
    ls_json_object_begin(j);
    ls_json_kv_uint64(j, "count", t.counters[LS_NODE_PLAY_START_COUNT]);
    ls_json_kv_double(j, "sum_seconds", (double)t.counters[LS_NODE_PLAY_START_SUM_MS] / 1000.0);
    ls_json_key(j, "buckets");
    ls_json_array_begin(j);
    for (i = 0; i <= LS_PLAY_START_BUCKETS; i++) {
        ls_json_object_begin(j);
        if (i < LS_PLAY_START_BUCKETS) {
            ls_json_kv_double(j, "le", ls_play_start_bounds_ms[i] / 1000.0);
        } else {
            snprintf(le, sizeof le, "+Inf");
            ls_json_kv_string(j, "le", le);
        }
        ls_json_kv_uint64(j, "count", t.counters[LS_NODE_PLAY_START + i]);
        ls_json_object_end(j);
    }
    ls_json_array_end(j);
    ls_json_object_end(j);
    ls_json_kv_uint64(j, "report_interval_ms", report_interval_ms(c));
    top_json(c, j);
    ls_json_key(j, "history");
    ls_json_array_begin(j);
    for (k = 0; k < c->nhistory; k++) {
        const struct sample *s =
            &c->history[(c->history_next + SMD_HISTORY_LEN - c->nhistory + k) % SMD_HISTORY_LEN];

        ls_json_object_begin(j);
        ls_json_kv_int64(j, "t", s->t);
        ls_json_kv_uint64(j, "requests", s->requests);
        ls_json_kv_uint64(j, "failures", s->failures);
        ls_json_kv_uint64(j, "viewers", s->viewers);
        ls_json_object_end(j);
    }
    ls_json_array_end(j);
}

/* ---- the page's history ---- */

static void sample_cb(evutil_socket_t fd, short what, void *arg)
{
    struct smd_cluster *c = arg;
    struct smd_cluster_totals t;
    struct sample *s = &c->history[c->history_next];

    (void)fd;
    (void)what;
    smd_cluster_totals(c, &t);
    s->t = ls_unix_time();
    s->requests = t.counters[LS_NODE_PLAY_REQUESTS];
    s->failures = failures_sum(t.counters);
    s->viewers = t.viewers;
    c->history_next = (c->history_next + 1) % SMD_HISTORY_LEN;
    if (c->nhistory < SMD_HISTORY_LEN)
        c->nhistory++;
    departed_expire(c, ls_now_ms());
}

/* ---- lifecycle ---- */

struct smd_cluster *smd_cluster_new(struct event_base *base, const struct smd_conf *conf)
{
    struct smd_cluster *c = calloc(1, sizeof *c);
    struct timeval step = { SMD_HISTORY_STEP_S, 0 };

    if (c == NULL)
        return NULL;
    c->base = base;
    c->conf = conf;
    TAILQ_INIT(&c->nodes);
    TAILQ_INIT(&c->departed_age);
    if (ls_strmap_init(&c->aggs) != LS_OK || ls_strmap_init(&c->departed) != LS_OK) {
        free(c);
        return NULL;
    }
    c->sampler = event_new(base, -1, EV_PERSIST, sample_cb, c);
    if (c->sampler == NULL || event_add(c->sampler, &step) == -1) {
        if (c->sampler != NULL)
            event_free(c->sampler);
        ls_strmap_free(&c->aggs);
        ls_strmap_free(&c->departed);
        free(c);
        return NULL;
    }
    sample_cb(-1, 0, c); /* the page has a first point at once */
    return c;
}

void smd_cluster_free(struct smd_cluster *c)
{
    struct smd_cnode *n;

    if (c == NULL)
        return;
    while ((n = TAILQ_FIRST(&c->nodes)) != NULL)
        smd_cluster_leave(c, n);
    while (!TAILQ_EMPTY(&c->departed_age))
        departed_remove(c, TAILQ_FIRST(&c->departed_age));
    event_free(c->sampler);
    ls_strmap_free(&c->aggs);
    ls_strmap_free(&c->departed);
    free(c);
}
