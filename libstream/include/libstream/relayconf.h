/*
 * relayconf.h — spd's relays in the configuration (docs/interface.md "Relays"): the
 * element schemas of the `push` and `pull` lists, their checks (run by the loader, so `-t`
 * reports a bad URL, an invalid app or id, or a duplicate as FILE:LINE), and the one place
 * that turns a configured URL into what an RTMP client sends.
 *
 *   push = ( { app = "live"; url = "rtmp://host[:port]/app[/prefix][?query]"; args = ""; } );
 *       every stream published under APP is also published to URL/NAME (NAME?ARGS)
 *   pull = ( { id = "APP/NAME"; url = "rtmp://host[:port]/app/name[?query]"; } );
 *       an external RTMP source kept live as the local stream ID
 */
#ifndef LIBSTREAM_RELAYCONF_H
#define LIBSTREAM_RELAYCONF_H

#include "libstream/config.h"
#include "libstream/err.h"
#include "libstream/streamid.h"

struct ls_relay_push_conf {
    char *app;    /* local app whose streams are pushed */
    char *url;    /* "rtmp://host[:port]/app[/prefix][?query]" */
    char *args;   /* appended to the pushed name as "?ARGS"; "" = none */
};

struct ls_relay_pull_conf {
    char *id;     /* local stream id "APP/NAME" */
    char *url;    /* "rtmp://host[:port]/app/name[?query]" */
};

/* Element schemas (and their checks) for LS_CONF_GROUP_LIST keys. */
extern const struct ls_conf_key ls_relay_push_keys[];
extern const struct ls_conf_key ls_relay_pull_keys[];
int ls_relay_push_check(const void *elems, size_t i, const char **key, char *why, size_t whylen);
int ls_relay_pull_check(const void *elems, size_t i, const char **key, char *why, size_t whylen);

/* Longest `args` accepted (bytes): it travels in the publish name's query. */
#define LS_RELAY_ARGS_MAX LS_STREAM_QUERY_MAX

/* What an RTMP client needs to reach a configured URL. */
struct ls_relay_target {
    char hostport[LS_ADDR_HOST_MAX + 16]; /* "host:port" ("[v6]:port") for the resolver */
    char tc_url[LS_RTMP_URL_MAX + 16];    /* sent in connect, with the URL's query */
    char app[LS_RTMP_URL_MAX + 1];        /* sent in connect, with the URL's query */
    char name[LS_RTMP_URL_MAX + LS_RELAY_ARGS_MAX + 2]; /* published/played, with "?ARGS" */
    char shown[LS_RTMP_URL_MAX + LS_STREAM_PART_MAX + 2]; /* for logs and the API: the
                                                             * URL without any query */
};

/*
 * Builds the target of a push of stream NAME to `url` (`name` non-NULL: the URL is the
 * base, NAME is appended as a path segment; a query in the URL goes with connect, on the
 * app and tcUrl as encoders send it; `args`, when not empty, becomes the name's query) or
 * of a pull from `url` (`name` NULL: the URL names the stream itself; its query stays
 * where it is written). LS_OK, or LS_EINVAL with a static reason in *why.
 */
LS_MUST_CHECK int ls_relay_target_make(const char *url, const char *name, const char *args,
                                       struct ls_relay_target *out, const char **why);

#endif /* LIBSTREAM_RELAYCONF_H */
