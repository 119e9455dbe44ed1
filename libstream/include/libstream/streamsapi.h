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

/* Adds the route and the gauges to `http`; `hub` is borrowed while `http` lives.
 * LS_ENOMEM when the route cannot be added. */
LS_MUST_CHECK int ls_streamsapi_attach(struct ls_http *http, struct ls_hub *hub);

#endif /* LIBSTREAM_STREAMSAPI_H */
