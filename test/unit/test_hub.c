/*
 * Unit tests for hub.c (with packet.c): streams, sources, subscribers, caches, the
 * slow-viewer policy, batching and the outgoing timeline.
 *
 * Each test subscriber owns an outq. Its flush op "writes" by moving the queued references
 * into an evbuffer (the wire) unless the test stalls it; what reached the wire is decoded
 * with libstream's chunk reader (RTMP transport) or an FLV tag walk (FLV transport), so
 * every check is on the bytes a viewer would receive. Real sequence headers and metadata
 * come from the ffmpeg fixture (test/fixtures/ffmpeg_h264_aac.flv); frames are synthetic
 * with real FLV audio/video headers.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <cmocka.h>

#include <event2/buffer.h>
#include <event2/event.h>

#include "libstream/amf.h"
#include "libstream/buf.h"
#include "libstream/chunk.h"
#include "libstream/clock.h"
#include "libstream/command.h"
#include "libstream/control.h"
#include "libstream/flv.h"
#include "libstream/hub.h"
#include "libstream/rtmp.h"
#include "libstream/stats.h"
#include "support/amf_build.h"

#define FIXTURE "test/fixtures/ffmpeg_h264_aac.flv"
#define MAX_MSGS 512

/* ---- fixture: the encoder's metadata and sequence headers ---- */

static struct ls_frame *fx_meta, *fx_vseq, *fx_aseq;

static int load_fixture(void **state)
{
    FILE *f = fopen(FIXTURE, "rb");
    static uint8_t buf[65536];
    size_t n, off = 0;
    struct ls_flv_reader *r = ls_flv_reader_new(NULL);

    (void)state;
    if (f == NULL || r == NULL)
        return -1;
    n = fread(buf, 1, sizeof buf, f);
    fclose(f);
    while (off < n) {
        struct ls_flv_event ev;
        ssize_t used = ls_flv_reader_feed(r, buf + off, n - off, &ev, NULL);

        if (used <= 0)
            break;
        off += (size_t)used;
        if (ev.type != LS_FLV_EV_TAG)
            continue;
        if (ev.tag->type == LS_MSG_DATA_AMF0 && fx_meta == NULL)
            fx_meta = ev.tag;
        else if (ev.tag->type == LS_MSG_VIDEO && fx_vseq == NULL && ev.tag->data[1] == 0)
            fx_vseq = ev.tag;
        else if (ev.tag->type == LS_MSG_AUDIO && fx_aseq == NULL && ev.tag->data[1] == 0)
            fx_aseq = ev.tag;
        else
            ls_frame_unref(ev.tag);
    }
    ls_flv_reader_free(r);
    return fx_meta != NULL && fx_vseq != NULL && fx_aseq != NULL ? 0 : -1;
}

static int free_fixture(void **state)
{
    (void)state;
    ls_frame_unref(fx_meta);
    ls_frame_unref(fx_vseq);
    ls_frame_unref(fx_aseq);
    return 0;
}

/* ---- messages a source pushes ---- */

static struct ls_frame *msg_copy(const struct ls_frame *f, uint32_t ts)
{
    struct ls_frame *m = ls_frame_new_copy(f->type, ts, 1, f->data, f->len);

    assert_non_null(m);
    return m;
}

/* Video frame: FLV VideoTagHeader (frame type, AVC), AVCPacketType 1, CTS 0, filler whose
 * first byte carries `mark` so a test can tell frames apart. */
static struct ls_frame *video(uint32_t ts, bool key, uint32_t len, uint8_t mark)
{
    struct ls_frame *m = ls_frame_new(LS_MSG_VIDEO, ts, 1, len);

    assert_true(len >= 6);
    memset(m->data, 0xEE, len);
    m->data[0] = key ? 0x17 : 0x27;
    m->data[1] = 1;
    m->data[2] = m->data[3] = m->data[4] = 0;
    m->data[5] = mark;
    return m;
}

static struct ls_frame *audio(uint32_t ts, uint32_t len, uint8_t mark)
{
    struct ls_frame *m = ls_frame_new(LS_MSG_AUDIO, ts, 1, len);

    assert_true(len >= 3);
    memset(m->data, 0xAA, len);
    m->data[0] = 0xAF; /* AAC, 44 kHz, 16 bit, stereo */
    m->data[1] = 1;    /* raw */
    m->data[2] = mark;
    return m;
}

/* "@setDataFrame" + the fixture's "onMetaData" payload, as encoders publish it. */
static struct ls_frame *set_data_frame(uint32_t ts)
{
    struct ls_buf b;
    struct ls_frame *m;

    ls_buf_init(&b, 0);
    ls_buf_put_u8(&b, 0x02);
    ls_buf_put_be16(&b, 13);
    ls_buf_append(&b, "@setDataFrame", 13);
    ls_buf_append(&b, fx_meta->data, fx_meta->len);
    assert_int_equal(ls_buf_status(&b), LS_OK);
    m = ls_frame_new_copy(LS_MSG_DATA_AMF0, ts, 1, b.data, (uint32_t)b.len);
    ls_buf_free(&b);
    return m;
}

/* An onMetaData payload with the given size and frame rate. */
static struct ls_frame *metadata(double w, double h, double fps)
{
    struct ls_amf_value obj = { 0 };
    struct ls_buf b;
    struct ls_frame *m;

    obj = amf_container(LS_AMF_ECMA_ARRAY, NULL);
    amf_add(&obj, "width", amf_num(w));
    amf_add(&obj, "height", amf_num(h));
    amf_add(&obj, "framerate", amf_num(fps));
    ls_buf_init(&b, 0);
    assert_int_equal(ls_data_build_metadata(&b, &obj), LS_OK);
    m = ls_frame_new_copy(LS_MSG_DATA_AMF0, 0, 1, b.data, (uint32_t)b.len);
    ls_buf_free(&b);
    ls_amf_clear(&obj);
    return m;
}

static void push(struct ls_stream *st, struct ls_frame *m)
{
    assert_int_equal(ls_stream_push(st, m), LS_OK);
    ls_frame_unref(m);
}

/* ---- a recording subscriber ---- */

struct rec {
    struct ls_subscriber sub;
    struct ls_outq outq;
    struct evbuffer *wire;
    bool stalled;          /* flush leaves the queue alone (a viewer that stopped reading) */
    int flushes;
    int started, stopped, interrupted;
    int too_slow;
    char slow_why[128];
};

static struct rec *rec_from(struct ls_subscriber *sub)
{
    return (struct rec *)((char *)sub - offsetof(struct rec, sub));
}

static void rec_flush(struct ls_subscriber *sub)
{
    struct rec *r = rec_from(sub);

    r->flushes++;
    if (!r->stalled)
        assert_true(ls_outq_move_to_evbuffer(&r->outq, r->wire) >= 0);
}

static void rec_event(struct ls_subscriber *sub, enum ls_source_event ev)
{
    struct rec *r = rec_from(sub);

    if (ev == LS_SOURCE_STARTED)
        r->started++;
    else if (ev == LS_SOURCE_STOPPED)
        r->stopped++;
    else
        r->interrupted++;
}

static void rec_too_slow(struct ls_subscriber *sub, const char *why)
{
    struct rec *r = rec_from(sub);

    r->too_slow++;
    snprintf(r->slow_why, sizeof r->slow_why, "%s", why);
    ls_subscriber_detach(sub); /* what owners do */
}

static const struct ls_subscriber_ops rec_ops = {
    .flush = rec_flush,
    .source_event = rec_event,
    .too_slow = rec_too_slow,
};

static struct rec *rec_new(enum ls_transport t, uint32_t stream_id)
{
    struct rec *r = calloc(1, sizeof *r);

    assert_non_null(r);
    ls_outq_init(&r->outq);
    r->wire = evbuffer_new();
    ls_subscriber_init(&r->sub, &rec_ops, &r->outq, t, stream_id);
    return r;
}

static void rec_free(struct rec *r)
{
    ls_subscriber_detach(&r->sub);
    ls_outq_clear(&r->outq);
    evbuffer_free(r->wire);
    free(r);
}

/* One message as it reached a viewer. */
struct msg {
    uint8_t type;
    uint32_t ts;
    uint32_t stream_id;
    uint32_t len;
    uint8_t b0, b1, mark; /* payload bytes 0, 1 and the test's mark (byte 5 video, 2 audio) */
    uint8_t *data;
};

struct msgs {
    size_t n;
    struct msg m[MAX_MSGS];
};

static void msgs_free(struct msgs *ms)
{
    size_t i;

    for (i = 0; i < ms->n; i++)
        free(ms->m[i].data);
    ms->n = 0;
}

static void msgs_add(struct msgs *ms, uint8_t type, uint32_t ts, uint32_t sid,
                     const uint8_t *p, uint32_t len)
{
    struct msg *m;

    assert_true(ms->n < MAX_MSGS);
    m = &ms->m[ms->n++];
    m->type = type;
    m->ts = ts;
    m->stream_id = sid;
    m->len = len;
    m->data = malloc(len + 1);
    memcpy(m->data, p, len);
    m->b0 = len > 0 ? p[0] : 0;
    m->b1 = len > 1 ? p[1] : 0;
    m->mark = type == LS_MSG_VIDEO && len > 5 ? p[5] : type == LS_MSG_AUDIO && len > 2 ? p[2] : 0;
}

/* Decodes everything on an RTMP viewer's wire (chunked at `chunk_size`) and empties it. */
static void decode_rtmp(struct rec *r, uint32_t chunk_size, struct msgs *out)
{
    size_t len = evbuffer_get_length(r->wire);
    uint8_t *bytes = malloc(len + 1);
    struct ls_chunk_reader *rd = ls_chunk_reader_new(NULL);
    struct ls_buf b;
    struct ls_frame *f = NULL;
    size_t off = 0;
    ssize_t n;

    assert_non_null(rd);
    evbuffer_remove(r->wire, bytes, len);
    /* tell the reader our chunk size the way a server would */
    ls_buf_init(&b, 0);
    ls_control_write_set_chunk_size(&b, chunk_size);
    n = ls_chunk_reader_feed(rd, b.data, b.len, &f, NULL);
    assert_int_equal(n, (ssize_t)b.len);
    assert_non_null(f);
    ls_frame_unref(f);
    ls_buf_free(&b);
    out->n = 0;
    for (;;) {
        const char *why = NULL;

        f = NULL;
        n = ls_chunk_reader_feed(rd, bytes + off, len - off, &f, &why);
        if (n < 0)
            fail_msg("chunk stream broken: %s", why != NULL ? why : "?");
        off += (size_t)n;
        if (f == NULL)
            break;
        msgs_add(out, f->type, f->timestamp, f->stream_id, f->data, f->len);
        ls_frame_unref(f);
    }
    assert_int_equal(off, len); /* nothing left half-read: whole messages only */
    ls_chunk_reader_free(rd);
    free(bytes);
}

/* Decodes an FLV viewer's wire: a run of tags (11-byte header, data, 4-byte trailer). */
static void decode_flv(struct rec *r, struct msgs *out)
{
    size_t len = evbuffer_get_length(r->wire), off = 0;
    uint8_t *p = malloc(len + 1);

    evbuffer_remove(r->wire, p, len);
    out->n = 0;
    while (off < len) {
        uint32_t size, ts, prev;

        assert_true(len - off >= 15);
        size = (uint32_t)p[off + 1] << 16 | (uint32_t)p[off + 2] << 8 | p[off + 3];
        ts = (uint32_t)p[off + 7] << 24 | (uint32_t)p[off + 4] << 16 |
             (uint32_t)p[off + 5] << 8 | p[off + 6];
        assert_true(len - off >= 15 + (size_t)size);
        assert_int_equal(p[off + 8] | p[off + 9] | p[off + 10], 0); /* StreamID 0 */
        prev = (uint32_t)p[off + 11 + size] << 24 | (uint32_t)p[off + 12 + size] << 16 |
               (uint32_t)p[off + 13 + size] << 8 | p[off + 14 + size];
        assert_int_equal(prev, size + 11);
        msgs_add(out, p[off], ts, 0, p + off + 11, size);
        off += 15 + size;
    }
    free(p);
}

/* ---- hub on an event base ---- */

static struct event_base *base;

static struct ls_hub *hub_with(bool gop, size_t queue, unsigned slow_ms, unsigned flush_ms)
{
    struct ls_hub_config cfg;
    struct ls_hub *hub;

    ls_hub_config_defaults(&cfg);
    cfg.gop_cache = gop;
    cfg.queue_max_bytes = queue;
    cfg.slow_timeout_ms = slow_ms;
    cfg.flush_interval_ms = flush_ms;
    hub = ls_hub_new(base, &cfg);
    assert_non_null(hub);
    return hub;
}

/* Runs the loop for `ms` milliseconds (timers such as the flush tick fire). */
static void run_for(unsigned ms)
{
    struct timeval tv = { ms / 1000, (ms % 1000) * 1000 };

    event_base_loopexit(base, &tv);
    event_base_dispatch(base);
}

static int kicks;
static char kick_why[128];

static void src_kick(void *owner, const char *why)
{
    struct ls_stream *st = owner;

    kicks++;
    snprintf(kick_why, sizeof kick_why, "%s", why);
    ls_stream_detach_source(st, owner, LS_SOURCE_INTERRUPTED);
}

static const struct ls_source_ops src_ops = { .kick = src_kick };

/* A stream with a source whose owner pointer is the stream itself. */
static struct ls_stream *live_stream(struct ls_hub *hub, const char *id)
{
    struct ls_stream *st = ls_hub_get(hub, id);

    assert_non_null(st);
    assert_int_equal(ls_stream_attach_source(st, LS_SOURCE_PUBLISHER, &src_ops, st), LS_OK);
    return st;
}

static int setup_base(void **state)
{
    (void)state;
    base = event_base_new();
    kicks = 0;
    return base != NULL ? 0 : -1;
}

static int teardown_base(void **state)
{
    (void)state;
    event_base_free(base);
    return 0;
}

/* Pushes the classic opening: metadata, both sequence headers, then a 2-GOP run:
 *   key(0) a(10) v(40) a(30) | key(1000) v(1040) a(1020) v(1080)        (marks 1..8) */
static void push_opening(struct ls_stream *st)
{
    push(st, set_data_frame(0));
    push(st, msg_copy(fx_vseq, 0));
    push(st, msg_copy(fx_aseq, 0));
    push(st, video(0, true, 300, 1));
    push(st, audio(10, 50, 2));
    push(st, video(40, false, 200, 3));
    push(st, audio(30, 50, 4));
    push(st, video(1000, true, 300, 5));
    push(st, video(1040, false, 200, 6));
    push(st, audio(1020, 50, 7));
    push(st, video(1080, false, 200, 8));
}

static bool is_onmetadata(const struct msg *m)
{
    return m->type == LS_MSG_DATA_AMF0 && m->len > 13 && memcmp(m->data, "\x02\x00\x0aonMetaData", 13) == 0;
}

/* ---- tests ---- */

static void test_config_defaults_and_names(void **state)
{
    struct ls_hub_config cfg, other;
    struct ls_hub *hub;

    (void)state;
    ls_hub_config_defaults(&cfg);
    assert_true(cfg.gop_cache);
    assert_int_equal(cfg.gop_cache_max_bytes, 32u << 20);
    assert_int_equal(cfg.chunk_size, 4096);
    assert_int_equal(cfg.queue_max_bytes, 4u << 20);
    assert_int_equal(cfg.slow_timeout_ms, 10000);
    assert_int_equal(cfg.flush_interval_ms, 20);
    hub = ls_hub_new(base, &cfg);
    other = cfg;
    other.chunk_size = 128;
    other.queue_max_bytes = 1234;
    ls_hub_set_config(hub, &other);
    assert_int_equal(ls_hub_config(hub)->queue_max_bytes, 1234);
    assert_int_equal(ls_hub_config(hub)->chunk_size, 4096); /* fixed for life */
    ls_hub_free(hub);
    ls_hub_free(NULL);
    assert_string_equal(ls_source_kind_name(LS_SOURCE_PUBLISHER), "publisher");
    assert_string_equal(ls_source_kind_name(LS_SOURCE_PEER), "peer");
    assert_string_equal(ls_source_kind_name(LS_SOURCE_UPSTREAM), "upstream");
    assert_string_equal(ls_source_kind_name((enum ls_source_kind)42), "unknown");
}

/* A viewer joining a live stream gets metadata (without @setDataFrame), the sequence
 * headers and the GOP since the last keyframe, at once, in order; then live messages. */
static void test_gop_cache_start(void **state)
{
    struct ls_hub *hub = hub_with(true, 1 << 20, 10000, 0);
    struct ls_stream *st = live_stream(hub, "live/a");
    struct rec *r = rec_new(LS_TRANSPORT_RTMP, 1);
    static struct msgs ms;

    (void)state;
    push_opening(st);
    assert_int_equal(ls_stream_subscribe(st, &r->sub), LS_OK);
    assert_int_equal(ls_stream_subscribe(st, &r->sub), LS_ESTATE);
    assert_int_equal(r->flushes, 1); /* the first flush is immediate */
    decode_rtmp(r, 4096, &ms);
    assert_int_equal(ms.n, 7);
    assert_true(is_onmetadata(&ms.m[0]));
    assert_int_equal(ms.m[0].len, fx_meta->len);
    assert_memory_equal(ms.m[0].data, fx_meta->data, fx_meta->len);
    assert_int_equal(ms.m[1].type, LS_MSG_VIDEO);
    assert_memory_equal(ms.m[1].data, fx_vseq->data, fx_vseq->len);
    assert_int_equal(ms.m[2].type, LS_MSG_AUDIO);
    assert_memory_equal(ms.m[2].data, fx_aseq->data, fx_aseq->len);
    assert_int_equal(ms.m[3].b0, 0x17); /* the GOP starts with its keyframe */
    assert_int_equal(ms.m[3].ts, 1000);
    assert_int_equal(ms.m[3].mark, 5);
    assert_int_equal(ms.m[4].mark, 6);
    assert_int_equal(ms.m[5].mark, 7);
    assert_int_equal(ms.m[5].type, LS_MSG_AUDIO);
    assert_int_equal(ms.m[6].mark, 8);
    assert_int_equal(ms.m[6].ts, 1080);
    for (size_t i = 0; i < ms.n; i++)
        assert_int_equal(ms.m[i].stream_id, 1);
    msgs_free(&ms);

    /* live: each push is flushed at its end with flush_interval_ms = 0 */
    push(st, video(1120, false, 200, 9));
    decode_rtmp(r, 4096, &ms);
    assert_int_equal(ms.n, 1);
    assert_int_equal(ms.m[0].mark, 9);
    assert_int_equal(ms.m[0].ts, 1120);
    msgs_free(&ms);

    /* a second keyframe restarts the cache: a later viewer starts there */
    push(st, video(2000, true, 300, 10));
    push(st, audio(2010, 50, 11));
    {
        struct rec *r2 = rec_new(LS_TRANSPORT_RTMP, 1);

        assert_int_equal(ls_stream_subscribe(st, &r2->sub), LS_OK);
        decode_rtmp(r2, 4096, &ms);
        assert_int_equal(ms.n, 5);
        assert_int_equal(ms.m[3].mark, 10);
        assert_int_equal(ms.m[4].mark, 11);
        msgs_free(&ms);
        rec_free(r2);
    }
    rec_free(r);
    ls_stream_detach_source(st, st, LS_SOURCE_STOPPED);
    assert_int_equal(ls_hub_stream_count(hub), 0);
    ls_hub_free(hub);
}

/* Without the GOP cache a viewer gets the headers, then waits for a keyframe. */
static void test_no_gop_cache_waits_for_keyframe(void **state)
{
    struct ls_hub *hub = hub_with(false, 1 << 20, 10000, 0);
    struct ls_stream *st = live_stream(hub, "live/a");
    struct rec *r = rec_new(LS_TRANSPORT_RTMP, 1);
    static struct msgs ms;

    (void)state;
    push_opening(st);
    assert_int_equal(ls_stream_subscribe(st, &r->sub), LS_OK);
    decode_rtmp(r, 4096, &ms);
    assert_int_equal(ms.n, 3); /* metadata and sequence headers only */
    msgs_free(&ms);
    push(st, video(1120, false, 200, 9));  /* skipped: no keyframe yet */
    push(st, audio(1100, 50, 10));         /* audio flows */
    push(st, video(2000, true, 300, 11));  /* resumes here */
    push(st, video(2040, false, 200, 12));
    decode_rtmp(r, 4096, &ms);
    assert_int_equal(ms.n, 3);
    assert_int_equal(ms.m[0].mark, 10);
    assert_int_equal(ms.m[1].mark, 11);
    assert_int_equal(ms.m[2].mark, 12);
    msgs_free(&ms);
    assert_int_equal(r->sub.frames_dropped, 1);
    rec_free(r);
    ls_stream_detach_source(st, st, LS_SOURCE_STOPPED);
    ls_hub_free(hub);
}

/* A GOP over gop_cache_max_bytes is not cached: a new viewer waits for the next key. */
static void test_gop_cache_max_bytes(void **state)
{
    struct ls_hub_config cfg;
    struct ls_hub *hub;
    struct ls_stream *st;
    struct rec *r = rec_new(LS_TRANSPORT_RTMP, 1);
    static struct msgs ms;

    (void)state;
    ls_hub_config_defaults(&cfg);
    cfg.flush_interval_ms = 0;
    /* each cached message is charged its payload plus LS_HUB_MESSAGE_OVERHEAD */
    cfg.gop_cache_max_bytes = 1000 + 3 * LS_HUB_MESSAGE_OVERHEAD;
    hub = ls_hub_new(base, &cfg);
    st = live_stream(hub, "live/a");
    push(st, msg_copy(fx_vseq, 0));
    push(st, video(0, true, 600, 1));
    push(st, video(40, false, 300, 2)); /* 900 + 2 overheads: still cached */
    push(st, video(80, false, 300, 3)); /* 1200 + 3 overheads: over the bound, dropped */
    push(st, video(120, false, 300, 4)); /* not cached either until the next key */
    assert_int_equal(ls_stream_subscribe(st, &r->sub), LS_OK);
    decode_rtmp(r, 4096, &ms);
    assert_int_equal(ms.n, 1); /* the sequence header only */
    msgs_free(&ms);
    push(st, video(1000, true, 600, 5));
    decode_rtmp(r, 4096, &ms);
    assert_int_equal(ms.n, 1);
    assert_int_equal(ms.m[0].mark, 5);
    msgs_free(&ms);
    rec_free(r);
    ls_stream_detach_source(st, st, LS_SOURCE_STOPPED);
    ls_hub_free(hub);
}

/* An empty audio or video message (a flood of these is what a hostile publisher sends). */
static struct ls_frame *empty(uint8_t type, uint32_t ts)
{
    struct ls_frame *m = ls_frame_new(type, ts, 1, 0);

    assert_non_null(m);
    return m;
}

/*
 * One keyframe, then a flood of empty messages: the cache stops at gop_cache_max_messages,
 * and each cached message is charged LS_HUB_MESSAGE_OVERHEAD against gop_cache_max_bytes,
 * so neither bound can be walked around with messages that carry no bytes. A new viewer
 * then waits for the next keyframe.
 */
static void test_gop_cache_message_bounds(void **state)
{
    struct ls_hub_config cfg;
    struct ls_hub *hub;
    struct ls_stream *st;
    struct rec *r = rec_new(LS_TRANSPORT_RTMP, 1), *r2 = rec_new(LS_TRANSPORT_RTMP, 1);
    static struct msgs ms;
    uint32_t i;

    (void)state;
    ls_hub_config_defaults(&cfg);
    assert_int_equal(cfg.gop_cache_max_messages, 4096);
    cfg.flush_interval_ms = 0;
    cfg.gop_cache_max_messages = 16;
    hub = ls_hub_new(base, &cfg);
    st = live_stream(hub, "live/m");
    push(st, msg_copy(fx_vseq, 0));
    push(st, video(0, true, 600, 1));
    for (i = 1; i < 16; i++)
        push(st, empty(LS_MSG_VIDEO, i));
    assert_int_equal(ls_stream_subscribe(st, &r->sub), LS_OK);
    decode_rtmp(r, 4096, &ms);
    assert_int_equal(ms.n, 1 + 16); /* the header and 16 cached messages: at the bound */
    msgs_free(&ms);
    push(st, empty(LS_MSG_AUDIO, 16)); /* the 17th: over, the cache goes */
    assert_int_equal(ls_stream_subscribe(st, &r2->sub), LS_OK);
    decode_rtmp(r2, 4096, &ms);
    assert_int_equal(ms.n, 1);
    msgs_free(&ms);
    rec_free(r2);
    ls_stream_detach_source(st, st, LS_SOURCE_STOPPED);
    ls_hub_free(hub);

    /* the byte bound counts the overhead: 300 empty messages cost 300 x 256 bytes */
    ls_hub_config_defaults(&cfg);
    cfg.flush_interval_ms = 0;
    cfg.gop_cache_max_bytes = 65536;
    hub = ls_hub_new(base, &cfg);
    st = live_stream(hub, "live/o");
    push(st, msg_copy(fx_vseq, 0));
    push(st, video(0, true, 600, 1));
    for (i = 1; i <= 300; i++)
        push(st, empty(LS_MSG_VIDEO, i));
    r2 = rec_new(LS_TRANSPORT_RTMP, 1);
    assert_int_equal(ls_stream_subscribe(st, &r2->sub), LS_OK);
    decode_rtmp(r2, 4096, &ms);
    assert_int_equal(ms.n, 1); /* not cached: over 65536 bytes with the overhead */
    msgs_free(&ms);
    rec_free(r2);
    rec_free(r);
    ls_stream_detach_source(st, st, LS_SOURCE_STOPPED);
    ls_hub_free(hub);
}

/*
 * A flood at the defaults: 200000 empty messages after one keyframe. What a new viewer is
 * handed from the cache — and so what the cache holds — stays within
 * gop_cache_max_messages.
 */
static void test_gop_cache_flood(void **state)
{
    struct ls_hub *hub = hub_with(true, 4u << 20, 10000, 0);
    struct ls_stream *st = live_stream(hub, "live/f");
    struct rec *r = rec_new(LS_TRANSPORT_RTMP, 1);
    uint32_t i;

    (void)state;
    push(st, msg_copy(fx_vseq, 0));
    push(st, video(0, true, 600, 1));
    for (i = 1; i <= 200000; i++)
        push(st, empty(i % 2 ? LS_MSG_VIDEO : LS_MSG_AUDIO, i / 20));
    r->stalled = true;
    assert_int_equal(ls_stream_subscribe(st, &r->sub), LS_OK);
    assert_true(r->outq.count <= 1 + 4096);
    rec_free(r);
    ls_stream_detach_source(st, st, LS_SOURCE_STOPPED);
    ls_hub_free(hub);
}

/*
 * What tiny messages cost a viewer's queue: each queued message is charged
 * LS_HUB_QUEUE_ENTRY_OVERHEAD against viewer_queue_bytes, so a viewer that stops reading
 * a flood of empty audio messages is dropped at twice the bound counted that way — after
 * about 2 x 65536 / 76 messages, not 2 x 65536 / 12.
 */
static void test_queue_entry_overhead(void **state)
{
    struct ls_hub *hub = hub_with(false, 65536, 600000, 0);
    struct ls_stream *st = live_stream(hub, "live/q");
    struct rec *slow = rec_new(LS_TRANSPORT_RTMP, 1);
    uint32_t i, most = 0;

    (void)state;
    push(st, video(0, true, 600, 1));
    assert_int_equal(ls_stream_subscribe(st, &slow->sub), LS_OK);
    slow->stalled = true;
    for (i = 1; i <= 20000 && slow->too_slow == 0; i++) {
        push(st, empty(LS_MSG_AUDIO, i));
        if (slow->outq.count > most)
            most = slow->outq.count;
    }
    assert_int_equal(slow->too_slow, 1);
    assert_true(most <= 2 * 65536 / LS_HUB_QUEUE_ENTRY_OVERHEAD + 1);
    rec_free(slow);
    ls_stream_detach_source(st, st, LS_SOURCE_STOPPED);
    ls_hub_free(hub);
}

static int wanted, unwanted;
static struct ls_stream *hook_release; /* released by the unwanted hook when set */

static int hook_wanted(void *arg, struct ls_stream *st)
{
    assert_ptr_equal(arg, &wanted);
    (void)st;
    wanted++;
    return LS_OK;
}

static void hook_unwanted(void *arg, struct ls_stream *st)
{
    (void)arg;
    unwanted++;
    if (hook_release == st) {
        hook_release = NULL;
        ls_stream_release(st); /* the role drops its hold from inside the hook */
        assert_string_equal(ls_stream_id(st), "live/held"); /* still valid here */
    }
}

/* Viewers of a stream with no source wait; the first one is announced to the role; they
 * hear STARTED/STOPPED/INTERRUPTED; the last one leaving is announced and frees it. */
static void test_waiting_subscribers_and_hooks(void **state)
{
    struct ls_hub *hub = hub_with(true, 1 << 20, 10000, 0);
    struct ls_hub_hooks hooks = { hook_wanted, hook_unwanted, &wanted };
    struct rec *a = rec_new(LS_TRANSPORT_RTMP, 1), *b = rec_new(LS_TRANSPORT_FLV, 0);
    struct ls_stream *st;
    static struct msgs ms;

    (void)state;
    wanted = unwanted = 0;
    ls_hub_set_hooks(hub, &hooks);
    st = ls_hub_get(hub, "live/w");
    assert_ptr_equal(ls_hub_get(hub, "live/w"), st);
    assert_int_equal(ls_stream_subscribe(st, &a->sub), LS_OK);
    assert_int_equal(wanted, 1);
    assert_int_equal(ls_stream_subscribe(st, &b->sub), LS_OK);
    assert_int_equal(wanted, 1);
    assert_int_equal(ls_hub_subscriber_count(hub), 2);
    assert_int_equal(a->flushes, 0); /* nothing to send yet */
    assert_false(ls_stream_has_source(st));
    assert_null(ls_stream_source_owner(st));

    assert_int_equal(ls_stream_attach_source(st, LS_SOURCE_PEER, &src_ops, st), LS_OK);
    assert_int_equal(a->started, 1);
    assert_int_equal(b->started, 1);
    assert_int_equal(ls_stream_source_kind(st), LS_SOURCE_PEER);
    push_opening(st);
    decode_rtmp(a, 4096, &ms);
    /* a waiting viewer starts at the first keyframe: metadata, headers, then everything
     * from key(0) on */
    assert_int_equal(ms.n, 11);
    assert_int_equal(ms.m[3].mark, 1);
    msgs_free(&ms);
    decode_flv(b, &ms);
    assert_int_equal(ms.n, 11);
    assert_true(is_onmetadata(&ms.m[0]));
    msgs_free(&ms);

    ls_stream_detach_source(st, st, LS_SOURCE_STOPPED);
    assert_int_equal(a->stopped, 1);
    assert_int_equal(b->stopped, 1);
    assert_ptr_equal(ls_hub_find(hub, "live/w"), st); /* kept by its viewers */
    assert_int_equal(ls_stream_attach_source(st, LS_SOURCE_UPSTREAM, &src_ops, st), LS_OK);
    ls_stream_detach_source(st, st, LS_SOURCE_INTERRUPTED);
    assert_int_equal(a->interrupted, 1);
    assert_int_equal(a->started, 2);

    ls_subscriber_detach(&a->sub);
    ls_subscriber_detach(&a->sub); /* twice is harmless */
    assert_int_equal(unwanted, 0);
    ls_subscriber_detach(&b->sub);
    assert_int_equal(unwanted, 1);
    assert_null(ls_hub_find(hub, "live/w"));
    assert_int_equal(ls_hub_stream_count(hub), 0);
    assert_int_equal(ls_hub_subscriber_count(hub), 0);
    rec_free(a);
    rec_free(b);
    ls_hub_free(hub);
}

/* A subscriber charged to the client address `ip`. */
static struct rec *rec_from_client(const char *ip)
{
    struct rec *r = rec_new(LS_TRANSPORT_RTMP, 1);
    struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(40000) };

    assert_int_equal(inet_pton(AF_INET, ip, &sa.sin_addr), 1);
    ls_subscriber_set_client(&r->sub, (const struct sockaddr *)&sa);
    assert_string_equal(r->sub.client, ip);
    return r;
}

static int refuse_wanted(void *arg, struct ls_stream *st)
{
    (void)st;
    return *(int *)arg;
}

/*
 * Streams that were never live and have viewers ("waiting": each one is upstream work a
 * viewer causes by naming an id) are bounded per hub and per client address. A play that
 * would open one more is refused (LS_ELIMIT, counted by reason) and the stream it would
 * have created is gone again; joining a stream that is already waiting, or live, is never
 * refused; a slot comes back when its stream goes live or loses its viewers. The role's
 * stream_wanted hook may refuse too (max_pulls), which undoes the subscribe.
 */
static void test_waiting_stream_bounds(void **state)
{
    struct ls_hub_config cfg;
    struct ls_hub *hub;
    struct rec *a1 = rec_from_client("10.0.0.1"), *a2 = rec_from_client("10.0.0.1"),
               *a3 = rec_from_client("10.0.0.1"), *a4 = rec_from_client("10.0.0.1"),
               *b1 = rec_from_client("10.0.0.2"), *c1 = rec_from_client("10.0.0.3"),
               *internal = rec_new(LS_TRANSPORT_RTMP, 1);
    struct ls_hub_hooks hooks = { refuse_wanted, NULL, NULL };
    int hook_rc = LS_OK;
    struct ls_stream *st;

    (void)state;
    memset(&ls_stats, 0, sizeof ls_stats);
    ls_hub_config_defaults(&cfg);
    assert_int_equal(cfg.max_waiting_streams, 2000);
    assert_int_equal(cfg.max_waiting_per_client, 64);
    cfg.max_waiting_streams = 3;
    cfg.max_waiting_per_client = 2;
    hub = ls_hub_new(base, &cfg);
    hooks.arg = &hook_rc;
    ls_hub_set_hooks(hub, &hooks);
    assert_int_equal(ls_stream_subscribe(ls_hub_get(hub, "live/r1"), &a1->sub), LS_OK);
    assert_int_equal(ls_stream_subscribe(ls_hub_get(hub, "live/r2"), &a2->sub), LS_OK);
    assert_int_equal(ls_hub_waiting_count(hub), 2);
    /* a third one from the same address: refused, and its stream does not stay */
    assert_int_equal(ls_stream_subscribe(ls_hub_get(hub, "live/r3"), &a3->sub), LS_ELIMIT);
    assert_null(a3->sub.stream);
    assert_null(ls_hub_find(hub, "live/r3"));
    assert_int_equal(ls_stats.play_limited_total[LS_LIMIT_WAITING_PER_CLIENT], 1);
    /* ... but it may join a stream that is already waiting */
    assert_int_equal(ls_stream_subscribe(ls_hub_find(hub, "live/r1"), &a3->sub), LS_OK);
    /* another address may open one more: the hub's bound */
    assert_int_equal(ls_stream_subscribe(ls_hub_get(hub, "live/r4"), &b1->sub), LS_OK);
    assert_int_equal(ls_stream_subscribe(ls_hub_get(hub, "live/r5"), &c1->sub), LS_ELIMIT);
    assert_null(ls_hub_find(hub, "live/r5"));
    assert_int_equal(ls_stats.play_limited_total[LS_LIMIT_WAITING_STREAMS], 1);
    /* uncharged subscribers (internal pulls) still count against the hub's bound */
    assert_int_equal(ls_stream_subscribe(ls_hub_get(hub, "live/r5"), &internal->sub),
                     LS_ELIMIT);
    assert_int_equal(ls_hub_waiting_count(hub), 3);
    /* r1 goes live: a slot for the hub and for 10.0.0.1 comes back */
    st = ls_hub_find(hub, "live/r1");
    assert_int_equal(ls_stream_attach_source(st, LS_SOURCE_PUBLISHER, &src_ops, st), LS_OK);
    assert_int_equal(ls_hub_waiting_count(hub), 2);
    assert_int_equal(ls_stream_subscribe(ls_hub_get(hub, "live/r6"), &a4->sub), LS_OK);
    assert_int_equal(ls_hub_waiting_count(hub), 3);
    /* a stream that was live once is not waiting when its source goes: its viewers wait
     * for a publisher that exists */
    ls_stream_detach_source(st, st, LS_SOURCE_STOPPED);
    assert_int_equal(ls_hub_waiting_count(hub), 3);
    /* r2's viewer leaves: its slot comes back */
    rec_free(a2);
    assert_null(ls_hub_find(hub, "live/r2"));
    assert_int_equal(ls_hub_waiting_count(hub), 2);
    /* the role refuses (its own bound): the subscribe is undone, the slot kept */
    hook_rc = LS_ELIMIT;
    assert_int_equal(ls_stream_subscribe(ls_hub_get(hub, "live/r7"), &c1->sub), LS_ELIMIT);
    assert_null(c1->sub.stream);
    assert_null(ls_hub_find(hub, "live/r7"));
    assert_int_equal(ls_hub_waiting_count(hub), 2);
    assert_int_equal(ls_hub_subscriber_count(hub), 4); /* a1 a3 (r1), b1 (r4), a4 (r6) */
    hook_rc = LS_OK;
    assert_int_equal(ls_stream_subscribe(ls_hub_get(hub, "live/r7"), &internal->sub), LS_OK);
    assert_int_equal(ls_hub_waiting_count(hub), 3);
    rec_free(a1);
    rec_free(a3);
    rec_free(a4);
    rec_free(b1);
    rec_free(c1);
    rec_free(internal);
    assert_int_equal(ls_hub_waiting_count(hub), 0);
    assert_int_equal(ls_hub_stream_count(hub), 0);
    ls_hub_free(hub);
}

/* Streams live while they have a source, a subscriber, a hold or role data. */
static void test_stream_lifetime(void **state)
{
    struct ls_hub *hub = hub_with(true, 1 << 20, 10000, 0);
    struct ls_hub_hooks hooks = { hook_wanted, hook_unwanted, &wanted };
    struct ls_stream *st;
    struct rec *r = rec_new(LS_TRANSPORT_RTMP, 1);
    char id[300];

    (void)state;
    wanted = unwanted = 0;
    ls_hub_set_hooks(hub, &hooks);
    /* a hold */
    st = ls_hub_get(hub, "live/h");
    ls_stream_hold(st);
    ls_stream_set_role_data(st, &wanted);
    assert_ptr_equal(ls_stream_role_data(st), &wanted);
    assert_ptr_equal(ls_stream_hub(st), hub);
    ls_stream_release(st);
    /* role data (a pull) keeps the stream by itself: a release cannot take that away */
    assert_ptr_equal(ls_hub_find(hub, "live/h"), st);
    ls_stream_release(st);
    assert_ptr_equal(ls_hub_find(hub, "live/h"), st);
    ls_stream_set_role_data(st, NULL);
    assert_null(ls_hub_find(hub, "live/h"));
    /* a source */
    st = live_stream(hub, "live/s");
    ls_stream_detach_source(st, &wanted, LS_SOURCE_STOPPED); /* not the owner: no-op */
    assert_true(ls_stream_has_source(st));
    ls_stream_detach_source(st, st, LS_SOURCE_STOPPED);
    assert_null(ls_hub_find(hub, "live/s"));
    /* a hold released by the role from inside the unwanted hook */
    st = ls_hub_get(hub, "live/held");
    ls_stream_hold(st);
    assert_int_equal(ls_stream_subscribe(st, &r->sub), LS_OK);
    hook_release = st;
    ls_subscriber_detach(&r->sub);
    assert_null(hook_release);
    assert_null(ls_hub_find(hub, "live/held"));
    /* release without a hold is harmless on a stream kept by something else */
    st = live_stream(hub, "live/x");
    ls_stream_release(st);
    assert_ptr_equal(ls_hub_find(hub, "live/x"), st);
    ls_stream_detach_source(st, st, LS_SOURCE_STOPPED);
    /* ids that cannot be stored */
    memset(id, 'a', sizeof id - 1);
    id[sizeof id - 1] = '\0';
    assert_null(ls_hub_get(hub, id));
    assert_int_equal(ls_hub_stream_count(hub), 0);
    rec_free(r);
    ls_hub_free(hub);
}

static void count_stream(struct ls_stream *st, void *arg)
{
    (void)st;
    (*(int *)arg)++;
}

/* Many streams: the table grows; every stream stays findable; hub_free frees the rest. */
static void test_many_streams(void **state)
{
    struct ls_hub *hub = hub_with(true, 1 << 20, 10000, 0);
    struct ls_stream *sts[300];
    char id[32];
    int i, seen = 0;

    (void)state;
    for (i = 0; i < 300; i++) {
        snprintf(id, sizeof id, "live/s%d", i);
        sts[i] = ls_hub_get(hub, id);
        assert_non_null(sts[i]);
        ls_stream_hold(sts[i]);
    }
    assert_int_equal(ls_hub_stream_count(hub), 300);
    for (i = 0; i < 300; i++) {
        snprintf(id, sizeof id, "live/s%d", i);
        assert_ptr_equal(ls_hub_find(hub, id), sts[i]);
        assert_string_equal(ls_stream_id(sts[i]), id);
    }
    assert_null(ls_hub_find(hub, "live/s300"));
    ls_hub_foreach(hub, count_stream, &seen);
    assert_int_equal(seen, 300);
    for (i = 0; i < 150; i++)
        ls_stream_release(sts[i]);
    assert_int_equal(ls_hub_stream_count(hub), 150);
    ls_hub_free(hub); /* frees the 150 still held */
}

static void test_source_busy_and_kick(void **state)
{
    struct ls_hub *hub = hub_with(true, 1 << 20, 10000, 0);
    struct ls_stream *st = live_stream(hub, "live/k");
    struct ls_stream *other = ls_hub_get(hub, "live/k2");
    struct ls_stream_stats ss;

    (void)state;
    kicks = 0;
    assert_int_equal(ls_stream_attach_source(st, LS_SOURCE_PUBLISHER, &src_ops, &kicks), LS_EBUSY);
    assert_ptr_equal(ls_stream_source_owner(st), st);
    assert_true(ls_stream_source_idle_ms(st) < 1000);
    ls_stream_stats(st, &ss);
    assert_true(ss.uptime_ms < 1000);
    ls_stream_kick_source(other, "nothing to kick"); /* no source: no-op */
    assert_int_equal(kicks, 0);
    ls_stream_hold(st);
    ls_stream_kick_source(st, "taken over");
    assert_int_equal(kicks, 1);
    assert_string_equal(kick_why, "taken over");
    assert_false(ls_stream_has_source(st));
    ls_stream_release(st);
    ls_stream_hold(other);
    ls_stream_release(other);
    assert_int_equal(ls_hub_stream_count(hub), 0);
    ls_hub_free(hub);
}

/* A viewer whose queue passes queue_max_bytes sheds queued inter frames and skips video
 * until the next keyframe; audio keeps flowing; what it finally receives is a valid
 * stream in which no inter frame follows a gap without a keyframe first. */
static void test_slow_viewer_skips_to_keyframe(void **state)
{
    struct ls_hub *hub = hub_with(true, 10000, 60000, 0);
    struct ls_stream *st = live_stream(hub, "live/slow");
    struct rec *slow = rec_new(LS_TRANSPORT_RTMP, 1), *fast = rec_new(LS_TRANSPORT_RTMP, 1);
    static struct msgs ms, fast_ms;
    size_t i;
    uint8_t mark = 1;
    uint32_t ts = 0;

    (void)state;
    push(st, msg_copy(fx_vseq, 0));
    assert_int_equal(ls_stream_subscribe(st, &slow->sub), LS_OK);
    assert_int_equal(ls_stream_subscribe(st, &fast->sub), LS_OK);
    slow->stalled = true;
    /* key + 20 inter frames of 1000 bytes + audio: well over the 10000-byte bound */
    push(st, video(ts, true, 2000, mark++));
    for (i = 0; i < 20; i++) {
        ts += 40;
        push(st, video(ts, false, 1000, mark++));
        push(st, audio(ts, 100, mark++));
    }
    assert_true(ls_outq_bytes(&slow->outq) <= 10000);
    assert_true(slow->sub.skipping);
    assert_true(slow->sub.behind_since_ms != 0);
    assert_true(slow->sub.frames_dropped > 0);
    assert_int_equal(slow->too_slow, 0);
    ts += 40;
    push(st, video(ts, true, 2000, mark++)); /* fits after the shed: delivered */
    assert_false(slow->sub.skipping);
    /* but it has written nothing: still behind (shedding is not catching up) */
    assert_true(slow->sub.behind_since_ms != 0);
    ts += 40;
    push(st, video(ts, false, 500, mark++));
    /* the viewer reads again */
    slow->stalled = false;
    ls_subscriber_mark_dirty(&slow->sub, true);
    push(st, audio(ts + 1, 100, mark++));
    decode_rtmp(slow, 4096, &ms);
    decode_rtmp(fast, 4096, &fast_ms);
    {
        /* Every video frame the slow viewer got either directly follows the one before it
         * in the full stream (the fast viewer's), or is a keyframe. */
        size_t j, k, prev = SIZE_MAX, got_video = 0, all_video = 0;

        for (j = 0; j < fast_ms.n; j++)
            all_video += fast_ms.m[j].type == LS_MSG_VIDEO && fast_ms.m[j].b1 == 1;
        for (i = 0; i < ms.n; i++) {
            if (ms.m[i].type != LS_MSG_VIDEO || ms.m[i].b1 != 1)
                continue;
            got_video++;
            for (k = 0, j = 0; j < fast_ms.n; j++) {
                if (fast_ms.m[j].type != LS_MSG_VIDEO || fast_ms.m[j].b1 != 1)
                    continue;
                if (fast_ms.m[j].mark == ms.m[i].mark)
                    break;
                k++;
            }
            assert_true(j < fast_ms.n);
            if (prev == SIZE_MAX ? k != 0 : k != prev + 1)
                assert_int_equal(ms.m[i].b0, 0x17);
            prev = k;
        }
        assert_true(got_video > 0);
        assert_true(got_video < all_video); /* it did skip */
    }
    /* audio was never shed below the hard bound: every audio frame arrived */
    {
        int audio_frames = 0;

        for (i = 0; i < ms.n; i++)
            audio_frames += ms.m[i].type == LS_MSG_AUDIO && ms.m[i].b1 == 1;
        assert_int_equal(audio_frames, 21);
    }
    msgs_free(&ms);
    /* the fast viewer got everything: sequence header, key, 20 x (video, audio), key,
     * inter, audio */
    assert_int_equal(fast_ms.n, 1 + 1 + 40 + 3);
    msgs_free(&fast_ms);
    /* it read: the next delivery finds the queue drained and clears "behind" */
    assert_true(slow->sub.behind_since_ms != 0);
    push(st, audio(ts + 2, 100, mark++));
    assert_int_equal(slow->sub.behind_since_ms, 0);
    {
        struct ls_stream_stats ss;

        ls_stream_stats(st, &ss);
        assert_true(ss.frames_dropped >= slow->sub.frames_dropped);
        assert_int_equal(ss.subscribers, 2);
    }
    rec_free(slow);
    rec_free(fast);
    ls_stream_detach_source(st, st, LS_SOURCE_STOPPED);
    ls_hub_free(hub);
}

/* Behind for longer than slow_timeout_ms: dropped by the flush tick (too_slow), while the
 * other viewer is served untouched. */
static void test_slow_viewer_timeout(void **state)
{
    struct ls_hub *hub = hub_with(true, 5000, 30, 5);
    struct ls_stream *st = live_stream(hub, "live/t");
    struct rec *slow = rec_new(LS_TRANSPORT_RTMP, 1), *fast = rec_new(LS_TRANSPORT_RTMP, 1);
    static struct msgs ms;
    int i;
    uint32_t ts = 0;

    (void)state;
    push(st, video(0, true, 1000, 1));
    assert_int_equal(ls_stream_subscribe(st, &slow->sub), LS_OK);
    assert_int_equal(ls_stream_subscribe(st, &fast->sub), LS_OK);
    slow->stalled = true;
    for (i = 0; i < 40 && slow->too_slow == 0; i++) {
        ts += 40;
        push(st, video(ts, i % 10 == 9, 800, (uint8_t)i));
        run_for(5);
    }
    assert_int_equal(slow->too_slow, 1);
    assert_string_equal(slow->slow_why, "stayed behind longer than the slow-viewer timeout");
    assert_null(slow->sub.stream); /* the owner detached it */
    run_for(20);
    decode_rtmp(fast, 4096, &ms);
    assert_int_equal(ms.n, 1 + (size_t)i);
    msgs_free(&ms);
    rec_free(slow);
    rec_free(fast);
    ls_stream_detach_source(st, st, LS_SOURCE_STOPPED);
    ls_hub_free(hub);
}

/* Audio and headers past twice the bound: dropped at once, whatever the timeout. */
static void test_hard_bound(void **state)
{
    struct ls_hub *hub = hub_with(true, 2000, 600000, 50);
    struct ls_stream *st = live_stream(hub, "live/hb");
    struct rec *slow = rec_new(LS_TRANSPORT_RTMP, 1);
    int i;

    (void)state;
    assert_int_equal(ls_stream_subscribe(st, &slow->sub), LS_OK);
    slow->stalled = true;
    for (i = 0; i < 100 && slow->too_slow == 0; i++)
        push(st, audio((uint32_t)i * 20, 300, (uint8_t)i));
    assert_int_equal(slow->too_slow, 1);
    assert_true(i < 20); /* soon after 2 x 2000 bytes */
    rec_free(slow);
    ls_stream_detach_source(st, st, LS_SOURCE_STOPPED);
    ls_hub_free(hub);
}

/* flush_interval_ms batches: pushes only mark viewers dirty; one flush per tick. */
static void test_flush_batching(void **state)
{
    struct ls_hub *hub = hub_with(true, 1 << 20, 10000, 20);
    struct ls_stream *st = live_stream(hub, "live/b");
    struct rec *r = rec_new(LS_TRANSPORT_RTMP, 1);
    static struct msgs ms;
    int i;

    (void)state;
    push(st, video(0, true, 300, 1));
    assert_int_equal(ls_stream_subscribe(st, &r->sub), LS_OK);
    assert_int_equal(r->flushes, 1); /* a new viewer's first flush is immediate */
    for (i = 0; i < 5; i++)
        push(st, video(40 * (uint32_t)(i + 1), false, 100, (uint8_t)(i + 2)));
    assert_int_equal(r->flushes, 1);
    assert_int_equal(ls_outq_bytes(&r->outq) > 0, 1);
    run_for(60);
    assert_int_equal(r->flushes, 2); /* one tick for the five */
    decode_rtmp(r, 4096, &ms);
    assert_int_equal(ms.n, 6);
    msgs_free(&ms);
    run_for(40);
    assert_int_equal(r->flushes, 2); /* nothing dirty, no flush */
    /* an owner that queued its own bytes asks for a flush */
    ls_subscriber_mark_dirty(&r->sub, false);
    ls_subscriber_mark_dirty(&r->sub, false);
    run_for(40);
    assert_int_equal(r->flushes, 3);
    /* detached while dirty: never flushed by the hub afterwards */
    push(st, video(400, false, 100, 9));
    ls_subscriber_detach(&r->sub);
    run_for(40);
    assert_int_equal(r->flushes, 3);
    /* a detached subscriber asking for a flush is flushed at once */
    ls_subscriber_mark_dirty(&r->sub, false);
    assert_int_equal(r->flushes, 4);
    rec_free(r);
    ls_stream_detach_source(st, st, LS_SOURCE_STOPPED);
    ls_hub_free(hub);
}

/* A new source continues the stream's timeline just after what viewers last saw. */
static void test_timeline_rebase(void **state)
{
    struct ls_hub *hub = hub_with(true, 1 << 20, 10000, 0);
    struct ls_stream *st = live_stream(hub, "live/r");
    struct rec *r = rec_new(LS_TRANSPORT_RTMP, 1), *late;
    static struct msgs ms;
    size_t i;
    int owner_b;

    (void)state;
    assert_int_equal(ls_stream_subscribe(st, &r->sub), LS_OK);
    push(st, msg_copy(fx_vseq, 5000));
    push(st, video(5000, true, 300, 1));
    push(st, video(5040, false, 200, 2));
    push(st, audio(6000, 50, 3)); /* the last timestamp seen: 6000 */
    push(st, audio(5990, 50, 4)); /* a slightly older one does not move it back */
    ls_stream_hold(st);
    ls_stream_detach_source(st, st, LS_SOURCE_STOPPED);
    assert_int_equal(ls_stream_attach_source(st, LS_SOURCE_PUBLISHER, &src_ops, &owner_b), LS_OK);
    ls_stream_release(st);
    push(st, msg_copy(fx_vseq, 0)); /* the returning encoder restarts at 0 */
    push(st, video(0, true, 300, 5));
    push(st, video(40, false, 200, 6));
    decode_rtmp(r, 4096, &ms);
    assert_int_equal(ms.n, 8);
    assert_int_equal(ms.m[4].ts, 5990);
    assert_int_equal(ms.m[5].ts, 6001);
    assert_int_equal(ms.m[6].ts, 6001);
    assert_int_equal(ms.m[6].mark, 5);
    assert_int_equal(ms.m[7].ts, 6041);
    for (i = 1; i < ms.n; i++)
        if (ms.m[i].type == LS_MSG_VIDEO)
            assert_true(ms.m[i].ts >= ms.m[0].ts);
    msgs_free(&ms);
    /* a viewer joining now gets the new source's GOP on the same rebased timeline */
    late = rec_new(LS_TRANSPORT_RTMP, 1);
    assert_int_equal(ls_stream_subscribe(st, &late->sub), LS_OK);
    decode_rtmp(late, 4096, &ms);
    assert_int_equal(ms.n, 3);
    assert_int_equal(ms.m[1].ts, 6001);
    assert_int_equal(ms.m[2].ts, 6041);
    msgs_free(&ms);
    rec_free(late);
    rec_free(r);
    ls_stream_detach_source(st, &owner_b, LS_SOURCE_STOPPED);
    ls_hub_free(hub);
}

/*
 * A pull that moves to another upstream gets that upstream's cached metadata and sequence
 * headers, stamped at its publisher's start, then a GOP stamped at the stream's age: the
 * first frame sets the new offset, not the headers, so time goes on from where viewers
 * were instead of jumping forward by the stream's age.
 */
static void test_timeline_rebase_skips_cached_headers(void **state)
{
    struct ls_hub *hub = hub_with(true, 1 << 20, 10000, 0);
    struct ls_stream *st = live_stream(hub, "live/r2");
    struct rec *r = rec_new(LS_TRANSPORT_RTMP, 1);
    static struct msgs ms;
    int owner_b;

    (void)state;
    assert_int_equal(ls_stream_subscribe(st, &r->sub), LS_OK);
    push(st, msg_copy(fx_vseq, 0));
    push(st, video(4000, true, 300, 1));
    push(st, audio(4020, 50, 2)); /* the last timestamp seen: 4020 */
    ls_stream_hold(st);
    ls_stream_detach_source(st, st, LS_SOURCE_INTERRUPTED);
    assert_int_equal(ls_stream_attach_source(st, LS_SOURCE_UPSTREAM, &src_ops, &owner_b), LS_OK);
    ls_stream_release(st);
    push(st, metadata(320, 240, 25));          /* the new upstream's cache: from its start */
    push(st, msg_copy(fx_vseq, 0));
    push(st, msg_copy(fx_aseq, 0));
    push(st, video(70000, true, 300, 3));      /* its GOP: the stream is 70 s old there */
    push(st, audio(70010, 50, 4));
    push(st, video(70040, false, 200, 5));
    decode_rtmp(r, 4096, &ms);
    assert_int_equal(ms.n, 9);
    assert_int_equal(ms.m[2].ts, 4020);
    assert_true(is_onmetadata(&ms.m[3]));
    assert_int_equal(ms.m[3].ts, 4021);       /* the headers: just after, not at 0 */
    assert_int_equal(ms.m[4].ts, 4021);
    assert_int_equal(ms.m[5].ts, 4021);
    assert_int_equal(ms.m[6].mark, 3);
    assert_int_equal(ms.m[6].ts, 4021);       /* the keyframe continues the timeline */
    assert_int_equal(ms.m[7].ts, 4031);
    assert_int_equal(ms.m[8].ts, 4061);
    msgs_free(&ms);
    rec_free(r);
    ls_stream_detach_source(st, &owner_b, LS_SOURCE_STOPPED);
    ls_hub_free(hub);
}

/* Appends one FLV-style tag of an aggregate message. */
static void agg_tag(struct ls_buf *b, uint8_t type, uint32_t ts, const uint8_t *data, uint32_t len)
{
    ls_buf_put_u8(b, type);
    ls_buf_put_be24(b, len);
    ls_buf_put_be24(b, ts & 0xffffff);
    ls_buf_put_u8(b, (uint8_t)(ts >> 24));
    ls_buf_put_be24(b, 0);
    ls_buf_append(b, data, len);
    ls_buf_put_be32(b, len + 11);
}

/* An aggregate message is split into its sub-messages, re-timed on the aggregate's own
 * timestamp; types other than audio, video and data are skipped; a cut one is refused. */
static void test_aggregate(void **state)
{
    struct ls_hub *hub = hub_with(true, 1 << 20, 10000, 0);
    struct ls_stream *st = live_stream(hub, "live/agg");
    struct rec *r = rec_new(LS_TRANSPORT_RTMP, 1);
    struct ls_frame *v = video(0, true, 30, 7), *a = audio(0, 10, 8), *agg;
    static const uint8_t cmd[] = { 0x02, 0x00, 0x01, 'x' };
    static struct msgs ms;
    struct ls_buf b;

    (void)state;
    assert_int_equal(ls_stream_subscribe(st, &r->sub), LS_OK);
    ls_buf_init(&b, 0);
    agg_tag(&b, LS_MSG_VIDEO, 0x01000100, v->data, v->len); /* extended timestamp byte */
    agg_tag(&b, LS_MSG_AUDIO, 0x01000120, a->data, a->len);
    agg_tag(&b, LS_MSG_COMMAND_AMF0, 0x01000120, cmd, sizeof cmd);
    agg_tag(&b, LS_MSG_VIDEO, 0x01000140, v->data, v->len);
    assert_int_equal(ls_buf_status(&b), LS_OK);
    agg = ls_frame_new_copy(LS_MSG_AGGREGATE, 9000, 1, b.data, (uint32_t)b.len);
    assert_int_equal(ls_stream_push(st, agg), LS_OK);
    ls_frame_unref(agg);
    decode_rtmp(r, 4096, &ms);
    assert_int_equal(ms.n, 3);
    assert_int_equal(ms.m[0].type, LS_MSG_VIDEO);
    assert_int_equal(ms.m[0].ts, 9000);
    assert_int_equal(ms.m[1].type, LS_MSG_AUDIO);
    assert_int_equal(ms.m[1].ts, 9032);
    assert_int_equal(ms.m[2].ts, 9064);
    assert_memory_equal(ms.m[0].data, v->data, v->len);
    msgs_free(&ms);
    /* cut in the middle of the last tag's trailer */
    agg = ls_frame_new_copy(LS_MSG_AGGREGATE, 9000, 1, b.data, (uint32_t)b.len - 2);
    assert_int_equal(ls_stream_push(st, agg), LS_EPROTO);
    ls_frame_unref(agg);
    /* an empty aggregate is fine */
    agg = ls_frame_new(LS_MSG_AGGREGATE, 0, 1, 0);
    assert_int_equal(ls_stream_push(st, agg), LS_OK);
    ls_frame_unref(agg);
    ls_buf_free(&b);
    ls_frame_unref(v);
    ls_frame_unref(a);
    rec_free(r);
    ls_stream_detach_source(st, st, LS_SOURCE_STOPPED);
    ls_hub_free(hub);
}

/* Metadata is cached (the latest wins) and read for the API; codecs and sizes are noted;
 * other data messages flow without being cached; everything resets with the source. */
static void test_metadata_and_stats(void **state)
{
    struct ls_hub *hub = hub_with(true, 1 << 20, 10000, 0);
    struct ls_stream *st = live_stream(hub, "live/m");
    struct rec *r;
    struct ls_stream_stats ss;
    struct ls_frame *cue;
    struct ls_buf b;
    static struct msgs ms;

    (void)state;
    ls_stream_stats(st, &ss);
    assert_null(ss.video_codec);
    assert_int_equal(ss.width, 0);
    push(st, msg_copy(fx_vseq, 0)); /* the AVC configuration says 320x240 */
    ls_stream_stats(st, &ss);
    assert_string_equal(ss.video_codec, "h264");
    assert_int_equal(ss.width, 320);
    assert_int_equal(ss.height, 240);
    push(st, metadata(640, 360, 30));
    push(st, metadata(1280, 720, 25)); /* replaces the cached one */
    push(st, metadata(-5, 1e9, 5000)); /* nonsense values are not taken */
    push(st, msg_copy(fx_aseq, 0));
    push(st, audio(0, 20, 1));
    push(st, video(0, true, 100, 2));
    ls_buf_init(&b, 0);
    ls_buf_put_u8(&b, 0x02);
    ls_buf_put_be16(&b, 10);
    ls_buf_append(&b, "onCuePoint", 10);
    cue = ls_frame_new_copy(LS_MSG_DATA_AMF0, 10, 1, b.data, (uint32_t)b.len);
    ls_buf_free(&b);
    push(st, cue);
    ls_stream_stats(st, &ss);
    assert_int_equal(ss.width, 1280);
    assert_int_equal(ss.height, 720);
    assert_true(ss.framerate > 24.9 && ss.framerate < 25.1);
    assert_string_equal(ss.audio_codec, "aac");
    assert_int_equal(ss.frames_in, 4); /* audio and video messages only, headers included */
    assert_true(ss.bytes_in > fx_vseq->len + fx_aseq->len + 120);
    assert_int_equal(ss.subscribers, 0);

    r = rec_new(LS_TRANSPORT_RTMP, 1);
    assert_int_equal(ls_stream_subscribe(st, &r->sub), LS_OK);
    decode_rtmp(r, 4096, &ms);
    /* the last good metadata (the nonsense one is still the latest message: it is what
     * the encoder said) — then headers, then the GOP: key and the cue point */
    assert_true(is_onmetadata(&ms.m[0]));
    assert_int_equal(ms.n, 1 + 2 + 1);
    assert_int_equal(ms.m[3].mark, 2);
    msgs_free(&ms);
    ls_stream_stats(st, &ss);
    assert_int_equal(ss.subscribers, 1);
    assert_true(ss.bytes_out > 0);

    ls_stream_hold(st);
    ls_stream_detach_source(st, st, LS_SOURCE_STOPPED);
    ls_stream_stats(st, &ss);
    assert_null(ss.video_codec);
    assert_null(ss.audio_codec);
    assert_int_equal(ss.width, 0);
    assert_int_equal(ss.uptime_ms, 0);
    ls_stream_release(st);
    rec_free(r);
    ls_hub_free(hub);
}

/* HTTP-FLV viewers get FLV tags of the same messages; AMF3 data has no FLV form. */
static void test_flv_transport(void **state)
{
    struct ls_hub *hub = hub_with(true, 1 << 20, 10000, 0);
    struct ls_stream *st = live_stream(hub, "live/f");
    struct rec *flv = rec_new(LS_TRANSPORT_FLV, 0), *rtmp = rec_new(LS_TRANSPORT_RTMP, 1);
    static const uint8_t amf3_data[] = { 0x00, 0x02, 0x00, 0x01, 'x' };
    struct ls_frame *d3;
    static struct msgs ms;

    (void)state;
    push_opening(st);
    assert_int_equal(ls_stream_subscribe(st, &flv->sub), LS_OK);
    assert_int_equal(ls_stream_subscribe(st, &rtmp->sub), LS_OK);
    d3 = ls_frame_new_copy(LS_MSG_DATA_AMF3, 1100, 1, amf3_data, sizeof amf3_data);
    push(st, d3);
    push(st, video(0x01000000, false, 100, 9)); /* a timestamp past 24 bits */
    decode_flv(flv, &ms);
    assert_int_equal(ms.n, 3 + 4 + 1);
    assert_int_equal(ms.m[0].type, LS_FLV_TAG_SCRIPT);
    assert_true(is_onmetadata(&ms.m[0]));
    assert_int_equal(ms.m[1].type, LS_FLV_TAG_VIDEO);
    assert_memory_equal(ms.m[1].data, fx_vseq->data, fx_vseq->len);
    assert_int_equal(ms.m[3].ts, 1000);
    assert_int_equal(ms.m[7].ts, 0x01000000);
    assert_int_equal(ms.m[7].mark, 9);
    msgs_free(&ms);
    decode_rtmp(rtmp, 4096, &ms);
    assert_int_equal(ms.n, 3 + 4 + 2); /* the RTMP viewer also got the AMF3 data */
    assert_int_equal(ms.m[7].type, LS_MSG_DATA_AMF3);
    assert_int_equal(ms.m[8].ts, 0x01000000);
    msgs_free(&ms);
    rec_free(flv);
    rec_free(rtmp);
    ls_stream_detach_source(st, st, LS_SOURCE_STOPPED);
    ls_hub_free(hub);
}

/* A viewer on another message stream id gets its own encoding of the same messages, and
 * large messages are chunked at the hub's chunk size (type-3 continuations). */
static void test_other_stream_id_and_chunking(void **state)
{
    struct ls_hub_config cfg;
    struct ls_hub *hub;
    struct ls_stream *st;
    struct rec *r1 = rec_new(LS_TRANSPORT_RTMP, 1), *r2 = rec_new(LS_TRANSPORT_RTMP, 2);
    struct ls_frame *big = video(40, false, 10000, 3);
    static struct msgs ms;

    (void)state;
    ls_hub_config_defaults(&cfg);
    cfg.chunk_size = 128;
    cfg.flush_interval_ms = 0;
    hub = ls_hub_new(base, &cfg);
    st = live_stream(hub, "live/id");
    push(st, video(0, true, 300, 1));
    assert_int_equal(ls_stream_subscribe(st, &r1->sub), LS_OK);
    assert_int_equal(ls_stream_subscribe(st, &r2->sub), LS_OK);
    assert_int_equal(ls_stream_push(st, big), LS_OK);
    decode_rtmp(r2, 128, &ms);
    assert_int_equal(ms.n, 2);
    assert_int_equal(ms.m[0].stream_id, 2);
    assert_int_equal(ms.m[1].stream_id, 2);
    assert_int_equal(ms.m[1].len, 10000);
    assert_memory_equal(ms.m[1].data, big->data, 10000);
    msgs_free(&ms);
    decode_rtmp(r1, 128, &ms);
    assert_int_equal(ms.n, 2);
    assert_int_equal(ms.m[1].stream_id, 1);
    assert_memory_equal(ms.m[1].data, big->data, 10000);
    msgs_free(&ms);
    ls_frame_unref(big);
    rec_free(r1);
    rec_free(r2);
    ls_stream_detach_source(st, st, LS_SOURCE_STOPPED);
    ls_hub_free(hub);
}

/* Messages the hub does not interpret: commands and control are ignored; empty or
 * unparseable audio/video still flows (as inter-frame class). */
static void test_opaque_and_ignored_messages(void **state)
{
    struct ls_hub *hub = hub_with(true, 1 << 20, 10000, 0);
    struct ls_stream *st = live_stream(hub, "live/o");
    struct rec *r = rec_new(LS_TRANSPORT_RTMP, 1);
    static const uint8_t odd_video[] = { 0x1C, 0x00 }; /* codec id 12: unknown */
    static struct msgs ms;
    struct ls_frame *m;

    (void)state;
    push(st, video(0, true, 100, 1));
    assert_int_equal(ls_stream_subscribe(st, &r->sub), LS_OK);
    decode_rtmp(r, 4096, &ms);
    msgs_free(&ms);
    m = ls_frame_new_copy(LS_MSG_COMMAND_AMF0, 0, 1, "\x02\x00\x01x", 4);
    push(st, m);
    m = ls_frame_new_copy(LS_MSG_USER_CONTROL, 0, 1, "\x00\x00\x00\x00\x00\x01", 6);
    push(st, m);
    push(st, ls_frame_new(LS_MSG_VIDEO, 40, 1, 0));
    push(st, ls_frame_new(LS_MSG_AUDIO, 40, 1, 0));
    push(st, ls_frame_new_copy(LS_MSG_VIDEO, 80, 1, odd_video, sizeof odd_video));
    push(st, ls_frame_new_copy(LS_MSG_AUDIO, 80, 1, "\x00", 1));
    decode_rtmp(r, 4096, &ms);
    assert_int_equal(ms.n, 4);
    assert_int_equal(ms.m[0].len, 0);
    assert_int_equal(ms.m[2].len, 2);
    msgs_free(&ms);
    rec_free(r);
    ls_stream_detach_source(st, st, LS_SOURCE_STOPPED);
    ls_hub_free(hub);
}

/* Internal pulls are subscribers but not the cluster's viewers; a viewer's time to first
 * frame is counted at its first keyframe, once, and never for a subscriber not timed. */
static void test_external_viewers_and_play_start(void **state)
{
    struct ls_hub *hub = hub_with(true, 1 << 20, 10000, 0);
    struct ls_stream *st = live_stream(hub, "live/ext");
    struct rec *viewer = rec_new(LS_TRANSPORT_RTMP, 1);
    struct rec *edge = rec_new(LS_TRANSPORT_RTMP, 1);
    struct rec *untimed = rec_new(LS_TRANSPORT_FLV, 0);
    struct ls_stream_stats ss;
    uint64_t count0 = ls_stats.play_start_count;

    (void)state;
    edge->sub.internal = true;
    viewer->sub.start_ms = ls_now_ms() - 100; /* connected 100 ms ago */
    assert_int_equal(ls_stream_subscribe(st, &viewer->sub), LS_OK);
    assert_int_equal(ls_stream_subscribe(st, &edge->sub), LS_OK);
    assert_int_equal(ls_stream_subscribe(st, &untimed->sub), LS_OK);
    ls_stream_stats(st, &ss);
    assert_int_equal(ss.subscribers, 3);
    assert_int_equal(ss.external_viewers, 2);
    assert_int_equal(ls_stream_external_viewers(st), 2);
    assert_int_equal(ls_hub_subscriber_count(hub), 3);
    assert_int_equal(ls_hub_external_viewer_count(hub), 2);
    /* headers and inter frames are not a first picture */
    push(st, msg_copy(fx_vseq, 0));
    push(st, video(0, false, 100, 1));
    assert_int_equal(ls_stats.play_start_count, count0);
    assert_int_not_equal(viewer->sub.start_ms, 0);
    push(st, video(40, true, 100, 2));
    assert_int_equal(ls_stats.play_start_count, count0 + 1);
    assert_int_equal(viewer->sub.start_ms, 0);
    assert_true(ls_stream_bytes_out(st) > 0);
    push(st, video(80, true, 100, 3)); /* once only */
    assert_int_equal(ls_stats.play_start_count, count0 + 1);
    ls_subscriber_detach(&edge->sub);
    assert_int_equal(ls_hub_external_viewer_count(hub), 2);
    ls_subscriber_detach(&viewer->sub);
    assert_int_equal(ls_hub_external_viewer_count(hub), 1);
    rec_free(viewer);
    rec_free(edge);
    rec_free(untimed);
    ls_stream_detach_source(st, st, LS_SOURCE_STOPPED);
    ls_hub_free(hub);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_config_defaults_and_names, setup_base, teardown_base),
        cmocka_unit_test_setup_teardown(test_gop_cache_start, setup_base, teardown_base),
        cmocka_unit_test_setup_teardown(test_no_gop_cache_waits_for_keyframe, setup_base, teardown_base),
        cmocka_unit_test_setup_teardown(test_gop_cache_max_bytes, setup_base, teardown_base),
        cmocka_unit_test_setup_teardown(test_gop_cache_message_bounds, setup_base, teardown_base),
        cmocka_unit_test_setup_teardown(test_gop_cache_flood, setup_base, teardown_base),
        cmocka_unit_test_setup_teardown(test_queue_entry_overhead, setup_base, teardown_base),
        cmocka_unit_test_setup_teardown(test_waiting_subscribers_and_hooks, setup_base, teardown_base),
        cmocka_unit_test_setup_teardown(test_waiting_stream_bounds, setup_base, teardown_base),
        cmocka_unit_test_setup_teardown(test_stream_lifetime, setup_base, teardown_base),
        cmocka_unit_test_setup_teardown(test_many_streams, setup_base, teardown_base),
        cmocka_unit_test_setup_teardown(test_source_busy_and_kick, setup_base, teardown_base),
        cmocka_unit_test_setup_teardown(test_slow_viewer_skips_to_keyframe, setup_base, teardown_base),
        cmocka_unit_test_setup_teardown(test_slow_viewer_timeout, setup_base, teardown_base),
        cmocka_unit_test_setup_teardown(test_hard_bound, setup_base, teardown_base),
        cmocka_unit_test_setup_teardown(test_flush_batching, setup_base, teardown_base),
        cmocka_unit_test_setup_teardown(test_timeline_rebase, setup_base, teardown_base),
        cmocka_unit_test_setup_teardown(test_timeline_rebase_skips_cached_headers, setup_base,
                                        teardown_base),
        cmocka_unit_test_setup_teardown(test_aggregate, setup_base, teardown_base),
        cmocka_unit_test_setup_teardown(test_metadata_and_stats, setup_base, teardown_base),
        cmocka_unit_test_setup_teardown(test_flv_transport, setup_base, teardown_base),
        cmocka_unit_test_setup_teardown(test_other_stream_id_and_chunking, setup_base, teardown_base),
        cmocka_unit_test_setup_teardown(test_opaque_and_ignored_messages, setup_base, teardown_base),
        cmocka_unit_test_setup_teardown(test_external_viewers_and_play_start, setup_base,
                                        teardown_base),
    };

    return cmocka_run_group_tests(tests, load_fixture, free_fixture);
}
