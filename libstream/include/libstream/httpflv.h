/*
 * httpflv.h — live HTTP-FLV on the HTTP server (http.h): GET /APP/NAME.flv plays a stream
 * of the RTMP server's hub. Viewers count against the server's max_connections, pass its
 * play admission and follow the hub's slow-viewer policy. The media node (medianode.h)
 * attaches it on spd and epd.
 */
#ifndef LIBSTREAM_HTTPFLV_H
#define LIBSTREAM_HTTPFLV_H

struct ls_http;
struct ls_httpflv;
struct ls_server;

/* Routes every path ending in ".flv" on `http` to `srv`'s hub. Both are borrowed: `srv`
 * until ls_httpflv_free, `http` keeps the route (and a pointer to us). NULL when out of
 * memory. */
struct ls_httpflv *ls_httpflv_new(struct ls_http *http, struct ls_server *srv);
/* Ends every FLV response and frees. The route stays on the HTTP server: free it right
 * before the server (ls_http_free), with no loop turn in between. */
void ls_httpflv_free(struct ls_httpflv *flv);

#endif /* LIBSTREAM_HTTPFLV_H */
