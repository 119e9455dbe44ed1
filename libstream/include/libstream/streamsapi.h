/*
 * streamsapi.h — a hub seen over HTTP: GET /api/v1/streams (every stream of the hub with
 * its source, viewers and codecs) and the livecluster_streams / livecluster_viewers gauges
 * of /metrics. The media node (medianode.h) attaches it on spd and epd; smd has its own
 * /api/v1/streams (the registry's table).
 */
#ifndef LIBSTREAM_STREAMSAPI_H
#define LIBSTREAM_STREAMSAPI_H

#include "libstream/err.h"

struct ls_http;
struct ls_hub;
struct ls_json;
struct ls_stream;

/* Adds the route and the gauges to `http`; `hub` is borrowed while `http` lives.
 * LS_ENOMEM when the route cannot be added. */
LS_MUST_CHECK int ls_streamsapi_attach(struct ls_http *http, struct ls_hub *hub);

/*
 * A role's own fields in each stream's object (spd: its pushes and pulled sources):
 * `fields` writes keys and values (ls_json_key …) into the open object of stream `st`.
 */
struct ls_streamsapi_extra {
    struct ls_hub *hub;
    void (*fields)(struct ls_json *j, struct ls_stream *st, void *arg);
    void *arg;
};
/* Serves /api/v1/streams of extra->hub with the role's fields added (replacing the route
 * ls_streamsapi_attach made). `extra` is borrowed while `http` lives. LS_ENOMEM when the
 * route cannot be added. */
LS_MUST_CHECK int ls_streamsapi_attach_extra(struct ls_http *http,
                                             const struct ls_streamsapi_extra *extra);

#endif /* LIBSTREAM_STREAMSAPI_H */
