/*
 * nodereport.c — a node's health and counters as the node line of a cluster report (see
 * nodereport.h). Layer: roles' tools, between the process counters (stats.h) and the
 * report's line format (smdreport.h); smd reads what nodes write with the same table.
 */
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "libstream/nodereport.h"
#include "libstream/smdreport.h"

/* The key of counter i ("play_requests", "fail_not_found", "start_le_250", ...). */
static void counter_key_make(unsigned i, char *out, size_t cap)
{
    if (i == LS_NODE_PLAY_REQUESTS)
        snprintf(out, cap, "play_requests");
    else if (i < LS_NODE_PLAY_START)
        snprintf(out, cap, "fail_%s",
                 ls_fail_reason_name((enum ls_fail_reason)(i - LS_NODE_PLAY_FAILURES)));
    else if (i < LS_NODE_PLAY_START + LS_PLAY_START_BUCKETS)
        snprintf(out, cap, "start_le_%u", ls_play_start_bounds_ms[i - LS_NODE_PLAY_START]);
    else if (i == LS_NODE_PLAY_START + LS_PLAY_START_BUCKETS)
        snprintf(out, cap, "start_le_inf");
    else if (i == LS_NODE_PLAY_START_SUM_MS)
        snprintf(out, cap, "start_sum_ms");
    else
        snprintf(out, cap, "start_count");
}

/* The keys, made once (they only depend on constants); smd reads every report with them. */
static const char *counter_key(unsigned i)
{
    static char keys[LS_NODE_COUNTERS][LS_SMD_REPORT_KEY_MAX + 1];
    static bool made;
    unsigned k;

    if (!made) {
        for (k = 0; k < LS_NODE_COUNTERS; k++)
            counter_key_make(k, keys[k], sizeof keys[k]);
        made = true;
    }
    return keys[i];
}

void ls_node_report_write(struct ls_buf *b, const struct ls_node_report *r)
{
    unsigned i;

    ls_smd_report_node_begin(b);
    ls_smd_report_node_num(b, "connections", r->connections);
    ls_smd_report_node_num(b, "cpu_ms", r->cpu_ms);
    ls_smd_report_node_num(b, "rss_kb", r->rss_kb);
    ls_smd_report_node_num(b, "out_kbps", r->out_kbps);
    ls_smd_report_node_num(b, "viewers", r->viewers);
    ls_smd_report_node_num(b, "streams", r->streams);
    if (r->upstream[0] != '\0')
        ls_smd_report_node_str(b, "upstream", r->upstream);
    for (i = 0; i < LS_NODE_COUNTERS; i++)
        ls_smd_report_node_num(b, counter_key(i), r->counters[i]);
    ls_smd_report_node_end(b);
}

static uint64_t *health_field(struct ls_node_report *r, const char *key)
{
    static const struct {
        const char *key;
        size_t offset;
    } health[] = {
        { "connections", offsetof(struct ls_node_report, connections) },
        { "cpu_ms", offsetof(struct ls_node_report, cpu_ms) },
        { "rss_kb", offsetof(struct ls_node_report, rss_kb) },
        { "out_kbps", offsetof(struct ls_node_report, out_kbps) },
        { "viewers", offsetof(struct ls_node_report, viewers) },
        { "streams", offsetof(struct ls_node_report, streams) },
    };
    size_t i;

    for (i = 0; i < sizeof health / sizeof health[0]; i++)
        if (strcmp(health[i].key, key) == 0)
            return (uint64_t *)((char *)r + health[i].offset);
    return NULL;
}

int ls_node_report_read(const char *pairs, size_t len, struct ls_node_report *r,
                        const char **why)
{
    const char *p = pairs, *end = pairs + len;
    struct ls_smd_report_pair pair;
    int rc;

    memset(r, 0, sizeof *r);
    while ((rc = ls_smd_report_next_pair(&p, end, &pair, why)) == 1) {
        uint64_t *f;
        unsigned i;

        if (strcmp(pair.key, "upstream") == 0) {
            struct ls_addr a;

            if (strlen(pair.value) < sizeof r->upstream &&
                ls_addr_parse(pair.value, false, &a) == LS_OK) {
                /* the whole field, so that equal reports are equal structs */
                memset(r->upstream, 0, sizeof r->upstream);
                memcpy(r->upstream, pair.value, strlen(pair.value));
            }
            continue;
        }
        if (!pair.is_num)
            continue;
        if ((f = health_field(r, pair.key)) != NULL) {
            *f = pair.num;
            continue;
        }
        /* a counter: the keys are few (about 25), a scan is as cheap as anything */
        for (i = 0; i < LS_NODE_COUNTERS; i++) {
            if (strcmp(counter_key(i), pair.key) == 0) {
                r->counters[i] = pair.num;
                break;
            }
        }
    }
    return rc < 0 ? LS_EPROTO : LS_OK;
}

void ls_node_report_counters(uint64_t counters[LS_NODE_COUNTERS])
{
    const struct ls_stats *s = &ls_stats;
    unsigned i;

    counters[LS_NODE_PLAY_REQUESTS] = s->play_requests_total - s->internal_play_requests_total;
    for (i = 0; i < LS_FAIL_COUNT; i++)
        counters[LS_NODE_PLAY_FAILURES + i] =
            s->play_failures_total[i] - s->internal_play_failures_total[i];
    for (i = 0; i <= LS_PLAY_START_BUCKETS; i++)
        counters[LS_NODE_PLAY_START + i] = s->play_start_buckets[i];
    counters[LS_NODE_PLAY_START_SUM_MS] = s->play_start_sum_ms;
    counters[LS_NODE_PLAY_START_COUNT] = s->play_start_count;
}
