/*
 * Unit tests for reporter.c: the reports a node sends each smd, built from a real hub with
 * sources and subscribers. The first report is full; later ones carry only what changed
 * (viewers, streams gone; bytes alone every LS_REPORT_BYTES_EVERY reports); internal pulls
 * are not viewers; a resync or a failed send makes the next report full; a large table is
 * split into messages (full on the first, more on all but the last).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <event2/event.h>

#include "libstream/hub.h"
#include "libstream/nodereport.h"
#include "libstream/outq.h"
#include "libstream/reporter.h"
#include "libstream/rtmp.h"
#include "libstream/smdreport.h"

#define MAX_LINES 4096

struct line {
    enum ls_smd_line_kind kind;
    char id[LS_STREAM_ID_MAX + 1];
    uint64_t viewers, bytes_out;
};

/* Everything one report sent. */
struct got {
    unsigned messages;
    bool first_full, any_later_full;
    bool more_ok;            /* more on all but the last message */
    bool last_more;
    size_t nlines;
    struct line lines[MAX_LINES];
    struct ls_node_report node;
    unsigned nodes;
    int fail_after;          /* send fails from this message on (0 = never) */
};

static struct event_base *base;
static struct ls_hub *hub;
static struct ls_reporter *rep;
static struct ls_report_peer *peer;

static int collect(void *arg, const uint8_t *p, size_t len)
{
    struct got *g = arg;
    struct ls_smd_report r;
    struct ls_smd_report_iter it;
    struct ls_smd_report_line l;
    int rc;

    if (g->fail_after > 0 && (int)g->messages + 1 >= g->fail_after)
        return LS_EIO;
    assert_true(len <= LS_SMD_REPORT_MAX);
    assert_int_equal(ls_smd_report_decode(p, len, &r, NULL), (ssize_t)len);
    if (g->messages == 0)
        g->first_full = r.full;
    else if (r.full)
        g->any_later_full = true;
    if (g->messages > 0 && !g->last_more)
        g->more_ok = false;
    g->last_more = r.more;
    g->messages++;
    ls_smd_report_iter_init(&it, r.body, r.body_len);
    while ((rc = ls_smd_report_next(&it, &l, NULL)) == 1) {
        if (l.kind == LS_SMD_LINE_NODE) {
            assert_int_equal(ls_node_report_read(l.pairs, l.pairs_len, &g->node, NULL), LS_OK);
            g->nodes++;
            continue;
        }
        assert_true(g->nlines < MAX_LINES);
        g->lines[g->nlines].kind = l.kind;
        snprintf(g->lines[g->nlines].id, sizeof g->lines[g->nlines].id, "%s", l.id);
        g->lines[g->nlines].viewers = l.viewers;
        g->lines[g->nlines].bytes_out = l.bytes_out;
        g->nlines++;
    }
    assert_int_equal(rc, 0);
    ls_smd_report_clear(&r);
    return LS_OK;
}

static struct got *report(void)
{
    static struct got g;

    memset(&g, 0, sizeof g);
    g.more_ok = true;
    assert_int_equal(ls_report_peer_send(peer, collect, &g), LS_OK);
    assert_true(g.messages >= 1);
    assert_false(g.last_more);
    assert_true(g.more_ok);
    assert_false(g.any_later_full);
    assert_int_equal(g.nodes, 1); /* the node line, in every report */
    return &g;
}

static const struct line *find(const struct got *g, const char *id)
{
    size_t i;

    for (i = 0; i < g->nlines; i++)
        if (strcmp(g->lines[i].id, id) == 0)
            return &g->lines[i];
    return NULL;
}

/* ---- subscribers and sources that need no sockets ---- */

struct viewer {
    struct ls_subscriber sub;
    struct ls_outq outq;
};

static void v_flush(struct ls_subscriber *sub)
{
    ls_outq_clear(((struct viewer *)sub)->sub.outq); /* as if written */
}

static void v_event(struct ls_subscriber *sub, enum ls_source_event ev)
{
    (void)sub;
    (void)ev;
}

static void v_slow(struct ls_subscriber *sub, const char *why)
{
    (void)why;
    ls_subscriber_detach(sub);
}

static const struct ls_subscriber_ops v_ops = { v_flush, v_event, v_slow };

static struct viewer *viewer_on(const char *id, bool internal)
{
    struct viewer *v = calloc(1, sizeof *v);
    struct ls_stream *st = ls_hub_get(hub, id);

    assert_non_null(v);
    assert_non_null(st);
    ls_outq_init(&v->outq);
    ls_subscriber_init(&v->sub, &v_ops, &v->outq, LS_TRANSPORT_RTMP, 1);
    v->sub.internal = internal;
    assert_int_equal(ls_stream_subscribe(st, &v->sub), LS_OK);
    return v;
}

static void viewer_free(struct viewer *v)
{
    ls_subscriber_detach(&v->sub);
    ls_outq_clear(&v->outq);
    free(v);
}

static void src_kick(void *owner, const char *why)
{
    (void)why;
    ls_stream_detach_source(owner, owner, LS_SOURCE_INTERRUPTED);
}

static const struct ls_source_ops src_ops = { .kick = src_kick };

static struct ls_stream *live(const char *id)
{
    struct ls_stream *st = ls_hub_get(hub, id);

    assert_non_null(st);
    assert_int_equal(ls_stream_attach_source(st, LS_SOURCE_PUBLISHER, &src_ops, st), LS_OK);
    return st;
}

static void push_key(struct ls_stream *st, uint32_t ts)
{
    struct ls_frame *m = ls_frame_new(LS_MSG_VIDEO, ts, 1, 200);

    memset(m->data, 0xEE, 200);
    m->data[0] = 0x17;
    m->data[1] = 1;
    assert_int_equal(ls_stream_push(st, m), LS_OK);
    ls_frame_unref(m);
}

static void upstream_hook(void *arg, char *out, size_t cap)
{
    snprintf(out, cap, "%s", (const char *)arg);
}

static int setup(void **state)
{
    struct ls_hub_config cfg;
    struct ls_reporter_hooks hooks = { upstream_hook, (void *)"10.0.0.9:1935" };

    (void)state;
    base = event_base_new();
    ls_hub_config_defaults(&cfg);
    cfg.flush_interval_ms = 0;
    hub = ls_hub_new(base, &cfg);
    rep = ls_reporter_new(hub, &hooks);
    peer = ls_report_peer_new(rep);
    return base != NULL && hub != NULL && rep != NULL && peer != NULL ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    ls_report_peer_free(peer);
    ls_reporter_free(rep);
    ls_hub_free(hub);
    event_base_free(base);
    return 0;
}

/* ---- tests ---- */

static void test_full_then_changes(void **state)
{
    struct ls_stream *a = live("live/a"), *b = live("live/b");
    struct viewer *va1, *va2, *edge, *vb;
    struct got *g;
    const struct line *l;

    (void)state;
    va1 = viewer_on("live/a", false);
    edge = viewer_on("live/a", true);
    g = report();
    assert_true(g->first_full);
    assert_int_equal(g->nlines, 2);
    l = find(g, "live/a");
    assert_non_null(l);
    assert_int_equal(l->kind, LS_SMD_LINE_STREAM);
    assert_int_equal(l->viewers, 1);          /* the edge is not a viewer */
    l = find(g, "live/b");
    assert_non_null(l);
    assert_int_equal(l->viewers, 0);
    assert_int_equal(g->node.viewers, 1);
    assert_int_equal(g->node.streams, 2);
    assert_string_equal(g->node.upstream, "10.0.0.9:1935");

    /* nothing changed: the node line alone */
    g = report();
    assert_false(g->first_full);
    assert_int_equal(g->nlines, 0);

    /* one more viewer on a, one on b; an internal pull changes nothing */
    va2 = viewer_on("live/a", false);
    vb = viewer_on("live/b", false);
    g = report();
    assert_int_equal(g->nlines, 2);
    assert_int_equal(find(g, "live/a")->viewers, 2);
    assert_int_equal(find(g, "live/b")->viewers, 1);
    viewer_free(edge);
    g = report();
    assert_int_equal(g->nlines, 0);

    /* b goes away entirely */
    viewer_free(vb);
    ls_stream_detach_source(b, b, LS_SOURCE_STOPPED);
    g = report();
    assert_int_equal(g->nlines, 1);
    assert_int_equal(g->lines[0].kind, LS_SMD_LINE_GONE);
    assert_string_equal(g->lines[0].id, "live/b");

    /* resync: everything again, flagged full */
    ls_report_peer_resync(peer);
    g = report();
    assert_true(g->first_full);
    assert_int_equal(g->nlines, 1);
    assert_int_equal(find(g, "live/a")->viewers, 2);

    viewer_free(va1);
    viewer_free(va2);
    ls_stream_detach_source(a, a, LS_SOURCE_STOPPED);
}

static void test_bytes_every_n_reports(void **state)
{
    struct ls_stream *a = live("live/bytes");
    struct viewer *v = viewer_on("live/bytes", false);
    struct got *g;
    unsigned i, seen = 0;
    uint64_t last = 0;

    (void)state;
    g = report(); /* full */
    assert_int_equal(g->nlines, 1);
    for (i = 0; i < 3 * LS_REPORT_BYTES_EVERY; i++) {
        push_key(a, 40 * (i + 1));
        g = report();
        if (g->nlines == 1) {
            seen++;
            assert_true(g->lines[0].bytes_out > last);
            last = g->lines[0].bytes_out;
        }
    }
    /* bytes changed in every round, but went out once per LS_REPORT_BYTES_EVERY */
    assert_int_equal(seen, 3);
    assert_true(last > 0 && last <= ls_stream_bytes_out(a));
    viewer_free(v);
    ls_stream_detach_source(a, a, LS_SOURCE_STOPPED);
}

static void test_split_into_messages(void **state)
{
    enum { N = 1500 };
    static struct viewer *vs[N];
    char id[64];
    struct got *g;
    size_t i;

    (void)state;
    for (i = 0; i < N; i++) {
        snprintf(id, sizeof id, "channels-with-a-long-app-name/stream-number-%zu", i);
        vs[i] = viewer_on(id, false);
    }
    g = report();
    assert_true(g->messages >= 3);
    assert_true(g->first_full);
    assert_int_equal(g->nlines, N);
    for (i = 0; i < N; i++) {
        snprintf(id, sizeof id, "channels-with-a-long-app-name/stream-number-%zu", i);
        assert_non_null(find(g, id));
    }
    for (i = 0; i < N; i++)
        viewer_free(vs[i]);
    g = report();
    assert_int_equal(g->nlines, N); /* every one gone */
    assert_int_equal(g->lines[0].kind, LS_SMD_LINE_GONE);
    g = report();
    assert_int_equal(g->nlines, 0);
}

static void test_failed_send_means_full(void **state)
{
    struct viewer *v = viewer_on("live/f", false);
    struct got g;

    (void)state;
    (void)report();
    memset(&g, 0, sizeof g);
    g.more_ok = true;
    g.fail_after = 1;
    assert_int_equal(ls_report_peer_send(peer, collect, &g), LS_EIO);
    /* what the smd missed comes back whole */
    {
        struct got *again = report();

        assert_true(again->first_full);
        assert_int_equal(again->nlines, 1);
    }
    viewer_free(v);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_full_then_changes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bytes_every_n_reports, setup, teardown),
        cmocka_unit_test_setup_teardown(test_split_into_messages, setup, teardown),
        cmocka_unit_test_setup_teardown(test_failed_send_means_full, setup, teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
