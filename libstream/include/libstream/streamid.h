/*
 * streamid.h — stream ids, their query strings, and RTMP / HTTP-FLV URLs
 * (docs/interface.md "Streams and URLs").
 *
 * A stream id is "APP/NAME"; each part is 1..128 characters of [A-Za-z0-9_.-] not
 * starting with '.'. Nothing else is accepted, so an id can never name a path ("..",
 * "/", "%2e"), carry spaces or control characters, or be spelled two ways. Encoders put
 * query parameters (tokens) on either the app or the name, so both are split off and
 * merged. These functions are pure: no allocation, no global state.
 */
#ifndef LIBSTREAM_STREAMID_H
#define LIBSTREAM_STREAMID_H

#include <stddef.h>
#include <stdint.h>

#include "libstream/addr.h"
#include "libstream/err.h"

#define LS_STREAM_PART_MAX 128                          /* characters in APP or NAME */
#define LS_STREAM_ID_MAX (2 * LS_STREAM_PART_MAX + 1)   /* "APP/NAME" */
#define LS_STREAM_QUERY_MAX 1023                        /* merged query, bytes */

struct ls_stream_ref {
    char app[LS_STREAM_PART_MAX + 1];
    char name[LS_STREAM_PART_MAX + 1];
    char id[LS_STREAM_ID_MAX + 1];       /* "APP/NAME" */
    char query[LS_STREAM_QUERY_MAX + 1]; /* raw (still percent-encoded), without '?'; "" if none */
};

/*
 * Builds a validated ref from the RTMP connect `app` (e.g. "live", "live/",
 * "live?token=x") and the publish/play stream name (e.g. "cam1", "cam1?expires=1&token=ab").
 * The query after the first '?' of each is split off; one trailing '/' of the app is
 * dropped; the two queries are joined with '&' (app's first). Both strings borrowed.
 * Returns LS_OK, or LS_EINVAL with a static reason in the optional *why ("empty name",
 * "app longer than 128 characters", "name contains '/'", "name starts with '.'",
 * "name contains a character outside [A-Za-z0-9_.-]", "query longer than 1023 bytes", ...)
 * and *out unspecified.
 */
LS_MUST_CHECK int ls_streamid_parse(const char *app_part, const char *name_part,
                                    struct ls_stream_ref *out, const char **why);

/*
 * Validates an id "APP/NAME" as it travels between daemons (no query) and fills *out
 * (query ""). Returns LS_OK or LS_EINVAL (reason in the optional *why).
 */
LS_MUST_CHECK int ls_streamid_parse_id(const char *id, struct ls_stream_ref *out,
                                       const char **why);

/*
 * Looks up `key` in a query "a=1&b=2" (NULL or "" = empty) and writes its value,
 * percent-decoded ('+' is a space, as in forms) and NUL-terminated, to out[outlen].
 * Keys are compared after decoding, exactly; the first occurrence wins; "a" alone has the
 * value "". Returns LS_OK, LS_ENOTFOUND when absent, LS_ELIMIT when the decoded value does
 * not fit outlen (out is then ""), or LS_EINVAL when the value holds a malformed escape
 * ("%4", "%zz") or a NUL ("%00").
 */
LS_MUST_CHECK int ls_query_get(const char *query, const char *key, char *out, size_t outlen);

/* Longest RTMP URL accepted (bytes). */
#define LS_RTMP_URL_MAX 2047

struct ls_rtmp_url {
    char host[LS_ADDR_HOST_MAX + 1]; /* IPv6 without brackets */
    uint16_t port;                   /* 1935 unless given */
    char app[LS_RTMP_URL_MAX + 1];   /* first path segment, with any "?query" it carries */
    char name[LS_RTMP_URL_MAX + 1];  /* the rest after "APP/" (may hold '?', '/'); may be "" */
    char tc_url[LS_RTMP_URL_MAX + 9]; /* "rtmp://host:port/app", IPv6 host bracketed */
};

/*
 * Splits "rtmp://host[:port]/app[/name...]" (scheme case-insensitive; host an IPv4
 * literal, a bracketed IPv6 literal, or a DNS name; port 1..65535). The app and name are
 * only split here — feed them to ls_streamid_parse() for validation, exactly as a server
 * would receive them in connect/play. Returns LS_OK, or LS_EINVAL for another scheme, a
 * bad host or port, user information, an empty app, spaces or control characters, or a
 * URL longer than LS_RTMP_URL_MAX.
 */
LS_MUST_CHECK int ls_rtmp_url_parse(const char *url, struct ls_rtmp_url *out);

/*
 * Validates an HTTP-FLV request target "/APP/NAME.flv" with an optional "?query"
 * (the raw target, not percent-decoded: '%' is not a stream-id character anyway).
 * Returns LS_OK with *out filled (query without '?'), or LS_EINVAL.
 */
LS_MUST_CHECK int ls_http_flv_path_parse(const char *path, struct ls_stream_ref *out);

#endif /* LIBSTREAM_STREAMID_H */
