/*
 * streamsapi.c — the hub's streams over HTTP (see streamsapi.h). Layer: roles' tools, on
 * top of the HTTP server (http.h) and the hub (hub.h).
 *
 *   GET /api/v1/streams → {"streams":[{"id","source","upstream","live","viewers","bytes_in",
 *                          "bytes_out","kbps_in","video_codec","width","height",
 *                          "framerate","audio_codec","frames_in","frames_dropped",
 *                          "uptime_s", <the role's fields>}]}
 *
 * A role adds its own fields to each stream (spd: "pushes", "pull") by serving the route
 * again through ls_streamsapi_attach_extra.
 */
#include <stdint.h>

#include <event2/http.h>

#include "libstream/buf.h"
#include "libstream/http.h"
#include "libstream/hub.h"
#include "libstream/json.h"
#include "libstream/streamsapi.h"

/* One listing in progress: where it writes and what the role adds. */
struct streamsapi_walk {
    struct ls_json *j;
    const struct ls_streamsapi_extra *extra; /* NULL = nothing */
};

static void streamsapi_stream_json(struct ls_stream *st, void *arg)
{
    struct streamsapi_walk *w = arg;
    struct ls_json *j = w->j;
    struct ls_stream_stats s;

    ls_stream_stats(st, &s);
    ls_json_object_begin(j);
    ls_json_kv_string(j, "id", ls_stream_id(st));
    /* Also for a stream waiting for its source: the kind it has (had, or will have). */
    ls_json_kv_string(j, "source", ls_source_kind_name(ls_stream_source_kind(st)));
    /* A pull's "host:port" while it plays (an edge's spd, an origin's peer); else null. */
    ls_json_kv_string(j, "upstream", ls_stream_source_upstream(st));
    ls_json_kv_bool(j, "live", ls_stream_has_source(st));
    ls_json_kv_uint64(j, "viewers", s.subscribers);
    ls_json_kv_uint64(j, "bytes_in", s.bytes_in);
    ls_json_kv_uint64(j, "bytes_out", s.bytes_out);
    ls_json_kv_uint64(j, "kbps_in", s.kbps_in);
    ls_json_kv_string(j, "video_codec", s.video_codec); /* null when not known yet */
    ls_json_kv_uint64(j, "width", s.width);
    ls_json_kv_uint64(j, "height", s.height);
    ls_json_kv_double(j, "framerate", s.framerate);
    ls_json_kv_string(j, "audio_codec", s.audio_codec); /* null when not known yet */
    ls_json_kv_uint64(j, "frames_in", s.frames_in);
    ls_json_kv_uint64(j, "frames_dropped", s.frames_dropped);
    ls_json_kv_uint64(j, "uptime_s", s.uptime_ms / 1000);
    if (w->extra != NULL && w->extra->fields != NULL)
        w->extra->fields(j, st, w->extra->arg);
    ls_json_object_end(j);
}

static int streamsapi_each(struct ls_json *j, void *hub)
{
    struct streamsapi_walk w = { j, NULL };

    ls_hub_foreach(hub, streamsapi_stream_json, &w);
    return LS_OK;
}

static int streamsapi_each_extra(struct ls_json *j, void *arg)
{
    const struct ls_streamsapi_extra *extra = arg;
    struct streamsapi_walk w = { j, extra };

    ls_hub_foreach(extra->hub, streamsapi_stream_json, &w);
    return LS_OK;
}

static void streamsapi_streams(struct evhttp_request *req, void *hub)
{
    ls_http_reply_json_list(req, "streams", 0, streamsapi_each, hub,
                            "cannot render the stream list");
}

static void streamsapi_streams_extra(struct evhttp_request *req, void *extra)
{
    ls_http_reply_json_list(req, "streams", 0, streamsapi_each_extra, extra,
                            "cannot render the stream list");
}

static void streamsapi_gauges(void *arg, uint64_t *streams, uint64_t *viewers)
{
    const struct ls_hub *hub = arg;

    *streams = ls_hub_stream_count(hub);
    *viewers = ls_hub_subscriber_count(hub);
}

int ls_streamsapi_attach(struct ls_http *http, struct ls_hub *hub)
{
    int rc = ls_http_route(http, "/api/v1/streams", streamsapi_streams, hub);

    if (rc == LS_OK)
        ls_http_set_gauges(http, streamsapi_gauges, hub);
    return rc;
}

int ls_streamsapi_attach_extra(struct ls_http *http, const struct ls_streamsapi_extra *extra)
{
    int rc = ls_http_route(http, "/api/v1/streams", streamsapi_streams_extra, (void *)extra);

    if (rc == LS_OK)
        ls_http_set_gauges(http, streamsapi_gauges, extra->hub);
    return rc;
}
