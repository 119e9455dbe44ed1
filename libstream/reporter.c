/*
 * reporter.c — cluster reports from a node's hub (see reporter.h). Layer: roles' tools,
 * above the hub (hub.h) and the process counters (stats.h, nodereport.h); the registry
 * link (reglink.c) sends what it builds.
 *
 * Per smd, a table of what that smd was last told: id → viewers, bytes and when the bytes
 * were last sent. A report walks the hub once: a stream missing from the table or whose
 * viewers changed is sent; one whose only change is its bytes is sent when its bytes are
 * LS_REPORT_BYTES_EVERY reports old; entries no stream touched this round are the streams
 * that went away ("x"). The walk costs one hash lookup per stream, and what goes on the
 * wire grows with what changed.
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "libstream/buf.h"
#include "libstream/clock.h"
#include "libstream/hub.h"
#include "libstream/nodereport.h"
#include "libstream/reporter.h"
#include "libstream/smdreport.h"
#include "libstream/stats.h"
#include "libstream/strmap.h"

#define REPORT_HEALTH_MIN_MS 200u /* health is sampled at most this often (several smds) */

struct ls_reporter {
    struct ls_hub *hub;
    struct ls_reporter_hooks hooks;
    struct ls_node_report health;   /* the last sample */
    uint64_t sampled_ms;            /* when; 0 = never */
    uint64_t rate_ms, rate_bytes;   /* out_kbps: bytes_out_total at the previous sample */
};

struct sent {
    struct ls_strmap_node node;
    uint64_t bytes_out;
    uint32_t viewers;
    uint32_t bytes_round;   /* the round the bytes were last sent in */
    uint32_t seen_round;    /* the last round that found the stream in the hub */
    char id[];
};

struct ls_report_peer {
    struct ls_reporter *rep;
    struct ls_strmap sent;
    uint32_t round;
    bool full;              /* the next report is full */
};

/* One report being built: the body of the current message, flushed when full. */
struct build {
    struct ls_report_peer *peer;
    struct ls_buf body, msg;
    bool first;             /* no message of this report sent yet */
    int rc;
    int (*send)(void *arg, const uint8_t *p, size_t len);
    void *arg;
};

struct ls_reporter *ls_reporter_new(struct ls_hub *hub, const struct ls_reporter_hooks *hooks)
{
    struct ls_reporter *rep = calloc(1, sizeof *rep);

    if (rep == NULL)
        return NULL;
    rep->hub = hub;
    if (hooks != NULL)
        rep->hooks = *hooks;
    return rep;
}

void ls_reporter_free(struct ls_reporter *rep)
{
    free(rep);
}

static void sent_clear(struct ls_report_peer *peer)
{
    struct ls_strmap_iter it;
    struct ls_strmap_node *n;

    ls_strmap_iter_init(&it, &peer->sent);
    while ((n = ls_strmap_iter_next(&it)) != NULL) {
        ls_strmap_remove(&peer->sent, n);
        free(LS_STRMAP_ENTRY(n, struct sent, node));
    }
}

struct ls_report_peer *ls_report_peer_new(struct ls_reporter *rep)
{
    struct ls_report_peer *peer = calloc(1, sizeof *peer);

    if (peer == NULL)
        return NULL;
    if (ls_strmap_init(&peer->sent) != LS_OK) {
        free(peer);
        return NULL;
    }
    peer->rep = rep;
    peer->full = true;
    return peer;
}

void ls_report_peer_free(struct ls_report_peer *peer)
{
    if (peer == NULL)
        return;
    sent_clear(peer);
    ls_strmap_free(&peer->sent);
    free(peer);
}

void ls_report_peer_resync(struct ls_report_peer *peer)
{
    peer->full = true;
}

/* ---- health ---- */

static uint64_t rss_kb(void)
{
    FILE *f = fopen("/proc/self/statm", "r");
    unsigned long long size = 0, resident = 0;
    long page = sysconf(_SC_PAGESIZE);

    if (f == NULL)
        return 0;
    if (fscanf(f, "%llu %llu", &size, &resident) != 2)
        resident = 0;
    fclose(f);
    return page > 0 ? (uint64_t)resident * (uint64_t)page / 1024 : 0;
}

static uint64_t cpu_ms(void)
{
    struct rusage ru;

    if (getrusage(RUSAGE_SELF, &ru) == -1)
        return 0;
    return (uint64_t)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1000 +
           (uint64_t)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1000;
}

static void sample_health(struct ls_reporter *rep)
{
    struct ls_node_report *h = &rep->health;
    uint64_t now = ls_now_ms(), bytes = ls_stats.bytes_out_total;

    if (rep->sampled_ms != 0 && now - rep->sampled_ms < REPORT_HEALTH_MIN_MS)
        return;
    rep->sampled_ms = now;
    h->connections = ls_stats.connections;
    h->cpu_ms = cpu_ms();
    h->rss_kb = rss_kb();
    h->viewers = ls_hub_external_viewer_count(rep->hub);
    h->streams = ls_hub_stream_count(rep->hub);
    if (rep->rate_ms != 0 && now > rep->rate_ms && bytes >= rep->rate_bytes)
        h->out_kbps = (bytes - rep->rate_bytes) * 8 / (now - rep->rate_ms);
    rep->rate_ms = now;
    rep->rate_bytes = bytes;
    h->upstream[0] = '\0';
    if (rep->hooks.upstream != NULL)
        rep->hooks.upstream(rep->hooks.arg, h->upstream, sizeof h->upstream);
    ls_node_report_counters(h->counters);
}

/* ---- building ---- */

/* Sends the body collected so far as one message (`more`: the report goes on). */
static void build_flush(struct build *b, bool more)
{
    int rc;

    if (b->rc != LS_OK)
        return;
    if (ls_buf_status(&b->body) != LS_OK) {
        b->rc = ls_buf_status(&b->body);
        return;
    }
    ls_buf_reset(&b->msg);
    rc = ls_smd_report_encode(&b->msg, b->first && b->peer->full, more,
                              (const char *)b->body.data, b->body.len);
    if (rc == LS_OK)
        rc = b->send(b->arg, b->msg.data, b->msg.len);
    b->rc = rc;
    b->first = false;
    ls_buf_reset(&b->body);
}

/* Room for one more line of up to `need` bytes, flushing the current message first. */
static void build_room(struct build *b, size_t need)
{
    if (b->body.len + need > LS_SMD_REPORT_BODY_MAX)
        build_flush(b, true);
}

static void build_stream(struct ls_stream *st, void *arg)
{
    struct build *b = arg;
    struct ls_report_peer *peer = b->peer;
    const char *id = ls_stream_id(st);
    unsigned viewers = ls_stream_external_viewers(st);
    uint64_t bytes = ls_stream_bytes_out(st);
    struct ls_strmap_node *n;
    struct sent *e;

    if (b->rc != LS_OK)
        return;
    n = ls_strmap_find(&peer->sent, id);
    if (n == NULL) {
        size_t len = strlen(id);

        e = calloc(1, sizeof *e + len + 1);
        if (e == NULL) {
            b->rc = LS_ENOMEM;
            return;
        }
        memcpy(e->id, id, len + 1);
        e->node.key = e->id;
        if (ls_strmap_insert(&peer->sent, &e->node) != LS_OK) {
            free(e);
            b->rc = LS_ENOMEM;
            return;
        }
    } else {
        e = LS_STRMAP_ENTRY(n, struct sent, node);
        e->seen_round = peer->round;
        if (e->viewers == viewers &&
            (e->bytes_out == bytes || peer->round - e->bytes_round < LS_REPORT_BYTES_EVERY))
            return;
    }
    e->seen_round = peer->round;
    e->viewers = viewers;
    e->bytes_out = bytes;
    e->bytes_round = peer->round;
    build_room(b, LS_STREAM_ID_MAX + 48);
    ls_smd_report_put_stream(&b->body, id, viewers, bytes);
}

int ls_report_peer_send(struct ls_report_peer *peer,
                        int (*send)(void *arg, const uint8_t *p, size_t len), void *arg)
{
    struct ls_reporter *rep = peer->rep;
    struct ls_strmap_iter it;
    struct ls_strmap_node *n;
    struct build b;

    memset(&b, 0, sizeof b);
    b.peer = peer;
    b.first = true;
    b.send = send;
    b.arg = arg;
    ls_buf_init(&b.body, LS_SMD_REPORT_BODY_MAX);
    ls_buf_init(&b.msg, LS_SMD_REPORT_MAX);
    if (peer->full)
        sent_clear(peer); /* the smd forgets everything: every stream is new again */
    peer->round++;
    sample_health(rep);
    ls_node_report_write(&b.body, &rep->health);
    ls_hub_foreach(rep->hub, build_stream, &b);
    /* entries this round did not touch: streams the node no longer has */
    ls_strmap_iter_init(&it, &peer->sent);
    while (b.rc == LS_OK && (n = ls_strmap_iter_next(&it)) != NULL) {
        struct sent *e = LS_STRMAP_ENTRY(n, struct sent, node);

        if (e->seen_round == peer->round)
            continue;
        build_room(&b, LS_STREAM_ID_MAX + 8);
        ls_smd_report_put_gone(&b.body, e->id);
        ls_strmap_remove(&peer->sent, n);
        free(e);
    }
    build_flush(&b, false);
    ls_buf_free(&b.body);
    ls_buf_free(&b.msg);
    /* After a failure the smd's picture may have a hole: start over with everything. */
    peer->full = b.rc != LS_OK;
    return b.rc;
}
