/*
 * client.h — the RTMP client side: connect → createStream → play or publish, on the
 * event loop. Used for internal pulls (an edge from its upstream, an origin from a peer),
 * by the test clients and by rtmpbench.
 *
 * Lifetime: the client owns its connection and reports exactly one on_close; after it
 * the client is freed. ls_client_close() from any callback is safe.
 */
#ifndef LIBSTREAM_CLIENT_H
#define LIBSTREAM_CLIENT_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

#include "libstream/amf.h"
#include "libstream/conn.h"
#include "libstream/err.h"
#include "libstream/frame.h"

struct event_base;
struct ls_client;

struct ls_client_config {
    struct ls_conn_config conn;
    unsigned start_timeout_ms;   /* connect to Play.Start/Publish.Start (default 10 s) */
    double object_encoding;      /* 0 or 3 */
    bool amf3_commands;          /* send commands after connect as type 17 (Flash AMF3) */
    uint32_t buffer_ms;          /* Set Buffer Length sent with play (default 1000) */
    const char *flash_ver;       /* default "LNX 9,0,124,2" */
    /*
     * Dead-peer watchdog (default 0 = off). After the handshake, a peer that sends
     * nothing at all — no media, no reply, no answer to the RTMP pings we send once it has
     * been quiet for a third of this — for this long is lost: the client closes with
     * LS_ELIMIT (ls_client_timed_out). A publisher that only pauses keeps its link: the
     * far server still answers pings. Also arms TCP keepalive and TCP_USER_TIMEOUT (net.h)
     * so that a vanished host is noticed by the kernel as well.
     */
    unsigned silence_timeout_ms;
};
void ls_client_config_defaults(struct ls_client_config *cfg);

struct ls_client_ops {
    /* connect was answered: `info` is the _result's information object (NULL when absent;
     * borrowed for the call), e.g. a node's pull challenge (peersig.h). May call
     * ls_client_set_name. NULL = not wanted. */
    void (*on_connected)(struct ls_client *cl, void *arg, const struct ls_amf_value *info);
    /* Play.Start / Publish.Start received: media flows (or may be sent). */
    void (*on_started)(struct ls_client *cl, void *arg);
    /* Every onStatus, for logs and tests (code such as "NetStream.Play.UnpublishNotify"). */
    void (*on_status)(struct ls_client *cl, void *arg, const char *level, const char *code);
    /* Audio, video and data messages of the played stream (borrowed: ref to keep). */
    void (*on_media)(struct ls_client *cl, void *arg, struct ls_frame *msg);
    /* Exactly once; err LS_OK for an orderly close. */
    void (*on_close)(struct ls_client *cl, void *arg, int err, const char *why);
};

enum ls_client_mode { LS_CLIENT_PLAY, LS_CLIENT_PUBLISH };

/*
 * Starts a client to `sa`: connect(app, tc_url) then play or publish `name` (which may
 * carry a ?query; a publisher sends releaseStream and FCPublish with it first, as
 * encoders do). Strings are copied. NULL when the socket cannot be created. Any later
 * failure, even one found before this returns, is reported by on_close from the event
 * loop, never from inside this call.
 */
struct ls_client *ls_client_start(struct event_base *base, const struct sockaddr *sa,
                                  socklen_t salen, enum ls_client_mode mode, const char *tc_url,
                                  const char *app, const char *name,
                                  const struct ls_client_config *cfg,
                                  const struct ls_client_ops *ops, void *arg);
/* Closes (on_close follows with LS_OK and `why`). */
void ls_client_close(struct ls_client *cl, const char *why);
/* A publishing client ends cleanly: FCUnpublish and deleteStream go out after what is
 * queued, then the connection closes (on_close follows, within about 2 s). Any other
 * client closes as ls_client_close. */
void ls_client_unpublish(struct ls_client *cl, const char *why);
/* The message stream id the server gave (createStream); 0 before. Media a publishing
 * owner queues itself (shared hub encodings, hub.h) must carry it. */
uint32_t ls_client_stream_id(const struct ls_client *cl);
/* Publishing: sends one media/data message on the published stream (timestamp as given). */
LS_MUST_CHECK int ls_client_send(struct ls_client *cl, const struct ls_frame *msg);
/* Replaces the name to play or publish (with its ?query); only until the play/publish is
 * sent (from on_connected, typically). LS_OK, LS_ESTATE when too late, LS_ENOMEM. */
LS_MUST_CHECK int ls_client_set_name(struct ls_client *cl, const char *name);
bool ls_client_started(const struct ls_client *cl);
/* Inside on_close: true when the client closed because the peer went silent
 * (silence_timeout_ms). */
bool ls_client_timed_out(const struct ls_client *cl);
struct ls_conn *ls_client_conn(struct ls_client *cl);

#endif /* LIBSTREAM_CLIENT_H */
