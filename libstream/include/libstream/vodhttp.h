/*
 * vodhttp.h — files over HTTP: GET /vod/NAME.flv sends DIR/NAME.flv (vod.h), whole or by
 * byte ranges, so a browser or a CDN can fetch it; HEAD answers the same headers.
 *
 *   200  the whole file: Content-Length, Accept-Ranges: bytes, Last-Modified
 *   206  one range (httprange.h; of several, the first satisfiable): Content-Range
 *   416  no satisfiable range: Content-Range: bytes * /SIZE (without the space)
 *   404  a name that is not a stream name, or no such file; 403 refused by play
 *        admission; 503 over max_connections or vod.max_viewers
 *
 * An If-Range that is not exactly the file's Last-Modified makes the answer the whole file.
 * The body leaves in LS_VOD_CHUNK pieces read on the file workers: one handed to evhttp,
 * the next read ahead, never more, so a download holds two chunks whatever the file's
 * size, and a viewer that takes no piece for slow_viewer_timeout is closed. Downloads
 * count against the RTMP server's max_connections and vod.max_viewers, and pass its play
 * admission, like HTTP-FLV viewers.
 */
#ifndef LIBSTREAM_VODHTTP_H
#define LIBSTREAM_VODHTTP_H

struct ls_http;
struct ls_server;
struct ls_vod;
struct ls_vodhttp;

/* Routes "/vod/" on `http` to the files of `vod`; `srv` lends its max_connections and play
 * admission. All borrowed until ls_vodhttp_free. NULL when out of memory. */
struct ls_vodhttp *ls_vodhttp_new(struct ls_http *http, struct ls_server *srv,
                                  struct ls_vod *vod);
/* Ends every download and frees. The route stays on the HTTP server: free this right
 * before the server (ls_http_free), with no loop turn in between. */
void ls_vodhttp_free(struct ls_vodhttp *vh);

#endif /* LIBSTREAM_VODHTTP_H */
