/*
 * session.c — the server side of one RTMP connection: the NetConnection / NetStream
 * command flow and the glue between a connection and the hub (RTMP 1.0 §7.2).
 *
 *   HANDSHAKE ─▶ AWAIT_CONNECT ─connect─▶ CONNECTED ─createStream─▶ (stream ids 1, 2, …)
 *        publish ─▶ [validate id] ─▶ [admission] ─▶ [role claim] ─▶ PUBLISHING
 *        play    ─▶ [validate id] ─▶ [admission] ─▶ subscribed: live, or waiting for a
 *                                                   source up to play_wait_timeout
 *
 * Each command is answered in one write (replies are queued, then the connection flushes
 * once its input is consumed). Refusals are RTMP statuses plus one log line with the peer
 * and the stream id; a protocol error closes this connection only.
 *
 * A connection that neither publishes nor plays has connect_timeout, counted from accept
 * and again from each return to idle (a play stopped or failed, a publish ended), whatever
 * it sends meanwhile. Everything that enters a session from outside its connection's
 * callbacks — admission and claim answers, the hub's callbacks, the session's timer, a
 * takeover's kick — holds the connection (conn.h) for its duration: a flush that fails or
 * a refusal inside closes the session only once that code is done with it.
 */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "libstream/buf.h"
#include "libstream/clock.h"
#include "libstream/command.h"
#include "libstream/control.h"
#include "libstream/log.h"
#include "libstream/nonce.h"
#include "libstream/peersig.h"
#include "libstream/rtmp.h"
#include "libstream/stats.h"
#include "libstream/vod.h"
#include "libstream/vodplay.h"
#include "server_int.h"

#define SESSION_FMS_VERSION "FMS/3,5,7,7009"
#define SESSION_MAX_STREAMS 16

enum session_phase {
    SES_AWAIT_CONNECT,
    SES_CONNECTED,
    SES_PUBLISH_PENDING, /* admission or role claim under way */
    SES_PUBLISHING,
    SES_PLAY_PENDING,    /* admission under way */
    SES_PLAYING,         /* subscribed (live, or waiting for a source) */
};

struct ls_publish_claim {
    struct ls_session *ses; /* NULL once the session is gone */
    uint64_t publisher;     /* the session's publisher token (server.h) */
};

/* Publisher tokens: one per publish request in this process, never 0, never reused. */
static uint64_t session_last_publisher;

struct ls_session {
    struct ls_server *srv;
    struct ls_conn *conn;
    LIST_ENTRY(ls_session) link;
    enum session_phase phase;

    char *app;                 /* connect's app, raw (may carry a query) */
    double object_encoding;
    uint32_t streams_created;

    struct ls_stream_ref *ref; /* the stream being published or played */
    struct ls_peer_info peer;  /* set when the play is an internal pull */
    char nonce[LS_PEERSIG_NONCE_HEX + 1]; /* this connection's challenge; "" once used */
    uint32_t stream_id;        /* message stream id of the publish or play */
    double txid;               /* transaction id of the pending publish/play */

    struct ls_auth_request *auth;
    struct ls_publish_claim *claim;
    uint64_t publisher;        /* token of the current publish request (server.h) */
    bool takeover;

    /* publishing */
    struct ls_stream *stream;

    /* playing */
    struct ls_subscriber sub;
    uint64_t accepted_ms;      /* ls_now_ms at accept: a viewer's time to first frame */
    struct event *wait_timer;
    bool play_started;         /* Play.Start sent */
    bool source_stopped;       /* UnpublishNotify sent, PublishNotify due on return */

    /* files (vod app): this connection's player, made at its first file request */
    struct ls_vodplay *vod;
    double play_start, play_duration; /* the play command's start and duration (ms) */
};

static const struct ls_conn_ops session_conn_ops;
static const struct ls_subscriber_ops session_sub_ops;
static const struct ls_source_ops session_source_ops;

/* A line about this client, rate-limited per peer address (log.h, log_rate_limit): one
 * flooding client must not turn its requests into a log storm. Under journald it carries
 * the stream (once one is named) and the peer as fields. */
#define SES_LOG(ses, level, ...)                                                            \
    ls_log_peer_ctx(LS_LOG_CTX((ses)->ref != NULL ? (ses)->ref->id : NULL,                  \
                               ls_conn_peer((ses)->conn)),                                  \
                    (level), __VA_ARGS__)

static const char *session_id(const struct ls_session *ses)
{
    return ses->ref != NULL ? ses->ref->id : "-";
}

static void session_fail(struct ls_session *ses, int err, const char *why)
{
    ls_conn_close(ses->conn, err, why);
}

/* Connected, neither publishing nor playing: connect_timeout runs (again) from now. */
static void session_idle(struct ls_session *ses)
{
    ls_conn_set_deadline(ses->conn, ses->srv->cfg.connect_timeout_ms,
                         "connect_timeout: neither publishing nor playing");
}

/* ---- sending ---- */

/* Sends a command payload on csid 3 (stream 0) or the stream's data csid. */
static void session_send_payload(struct ls_session *ses, uint32_t stream_id, uint8_t type,
                                 struct ls_buf *b)
{
    int rc = ls_buf_status(b);

    if (rc == LS_OK)
        rc = ls_conn_send(ses->conn, stream_id == 0 ? LS_CSID_COMMAND : LS_CSID_DATA, type, 0,
                          stream_id, b->data, b->len);
    ls_buf_reset(b);
    if (rc != LS_OK)
        session_fail(ses, rc, "cannot queue reply");
}

static void session_send_status(struct ls_session *ses, uint32_t stream_id, const char *level,
                                const char *code, const char *description)
{
    struct ls_buf b;

    ls_buf_init(&b, 0);
    ls_command_build_onstatus(&b, level, code, description, NULL);
    session_send_payload(ses, stream_id, LS_MSG_COMMAND_AMF0, &b);
    ls_buf_free(&b);
}

static void session_send_control(struct ls_session *ses, struct ls_buf *b)
{
    int rc = ls_conn_send_buf(ses->conn, b);

    if (rc != LS_OK)
        session_fail(ses, rc, "cannot queue reply");
}

/* StreamBegin for our message stream, then a status on it: a stream (re)starts. */
static void session_stream_begin(struct ls_session *ses, const char *code,
                                 const char *description)
{
    struct ls_buf b;

    ls_buf_init(&b, 0);
    ls_control_write_stream_begin(&b, ses->stream_id);
    session_send_control(ses, &b);
    ls_buf_free(&b);
    session_send_status(ses, ses->stream_id, "status", code, description);
}

static void session_send_result(struct ls_session *ses, double txid)
{
    struct ls_buf b;

    if (txid == 0)
        return; /* a notification: no answer expected */
    ls_buf_init(&b, 0);
    ls_command_build_result(&b, "_result", txid, NULL, NULL);
    session_send_payload(ses, 0, LS_MSG_COMMAND_AMF0, &b);
    ls_buf_free(&b);
}

static void session_send_error(struct ls_session *ses, double txid, const char *code,
                               const char *description)
{
    struct ls_buf b;

    ls_buf_init(&b, 0);
    ls_command_build_error(&b, txid, code, description);
    session_send_payload(ses, 0, LS_MSG_COMMAND_AMF0, &b);
    ls_buf_free(&b);
}

/* ---- connect / createStream ---- */

static void session_on_connect(struct ls_session *ses, const struct ls_command *cmd)
{
    struct ls_connect_params params;
    struct ls_buf b;
    const struct ls_conn_config *cc = &ses->srv->cfg.conn;

    if (ses->phase != SES_AWAIT_CONNECT) {
        session_fail(ses, LS_EPROTO, "second connect on one connection");
        return;
    }
    if (ls_command_parse_connect(cmd, &params) != LS_OK || params.app == NULL) {
        session_send_error(ses, cmd->transaction_id, "NetConnection.Connect.Rejected",
                           "connect without an app");
        ls_conn_close_after_flush(ses->conn, LS_EPROTO, "connect without an app");
        return;
    }
    ses->app = strdup(params.app);
    if (ses->app == NULL) {
        session_fail(ses, LS_ENOMEM, "out of memory");
        return;
    }
    ses->object_encoding = params.object_encoding;
    ses->phase = SES_CONNECTED;
    /* Internal pulls sign this connection's nonce (peersig.h): no secret, no pulls. */
    if (ses->srv->cfg.cluster_secret[0] != '\0' && ls_nonce_make(ses->nonce) != LS_OK)
        ls_log(LS_LOG_ERR, "no randomness for a pull nonce: internal pulls will fail");
    SES_LOG(ses, LS_LOG_DEBUG, "%s: connect app=%s objectEncoding=%g", ls_conn_peer(ses->conn),
            ses->app, ses->object_encoding);

    /* One write: window, bandwidth, chunk size, then the result (decision 4). */
    ls_buf_init(&b, 0);
    ls_control_write_window_ack_size(&b, cc->window_ack_size);
    ls_control_write_set_peer_bandwidth(&b, cc->window_ack_size, LS_PEER_BW_DYNAMIC);
    ls_control_write_set_chunk_size(&b, ls_conn_out_chunk_size(ses->conn));
    session_send_control(ses, &b);
    if (ses->nonce[0] != '\0') {
        const char *const keys[] = { LS_PEERSIG_INFO_NONCE, LS_PEERSIG_INFO_NODE };
        const char *const values[] = { ses->nonce, ses->srv->cfg.node_id };

        ls_command_build_connect_result_with(&b, cmd->transaction_id, SESSION_FMS_VERSION, 31,
                                             ses->object_encoding, "Connection succeeded.",
                                             keys, values, 2);
    } else {
        ls_command_build_connect_result(&b, cmd->transaction_id, SESSION_FMS_VERSION, 31,
                                        ses->object_encoding, "Connection succeeded.");
    }
    session_send_payload(ses, 0, LS_MSG_COMMAND_AMF0, &b);
    ls_buf_free(&b);
}

static void session_on_create_stream(struct ls_session *ses, const struct ls_command *cmd)
{
    struct ls_buf b;

    if (ses->streams_created >= SESSION_MAX_STREAMS) {
        session_send_error(ses, cmd->transaction_id, "NetConnection.Call.Failed",
                           "too many streams on one connection");
        return;
    }
    ses->streams_created++;
    ls_buf_init(&b, 0);
    ls_command_build_create_stream_result(&b, cmd->transaction_id, ses->streams_created);
    session_send_payload(ses, 0, LS_MSG_COMMAND_AMF0, &b);
    ls_buf_free(&b);
}

/* Parses and validates the stream id of a publish or play; answers the refusal itself. */
static int session_take_ref(struct ls_session *ses, const char *name, bool publish)
{
    const char *why = NULL;

    free(ses->ref);
    ses->ref = malloc(sizeof *ses->ref);
    if (ses->ref == NULL) {
        session_fail(ses, LS_ENOMEM, "out of memory");
        return LS_ENOMEM;
    }
    if (name == NULL || ls_streamid_parse(ses->app, name, ses->ref, &why) != LS_OK) {
        free(ses->ref);
        ses->ref = NULL;
        SES_LOG(ses, LS_LOG_INFO, "%s: %s refused: bad stream id (%s)", ls_conn_peer(ses->conn),
                publish ? "publish" : "play", why != NULL ? why : "missing name");
        if (publish) {
            ls_stats.publish_failures_total[LS_FAIL_BAD_NAME]++;
            session_send_status(ses, ses->stream_id, "error", "NetStream.Publish.BadName",
                                "Invalid stream name");
        } else {
            ls_stats.play_failures_total[LS_FAIL_BAD_NAME]++;
            session_send_status(ses, ses->stream_id, "error", "NetStream.Play.BadName",
                                "Invalid stream name");
        }
        return LS_EINVAL;
    }
    return LS_OK;
}

/* ---- publish ---- */

static void session_publish_refuse(struct ls_session *ses, enum ls_fail_reason reason,
                                   const char *code, const char *description, const char *why)
{
    ls_stats.publish_failures_total[reason]++;
    SES_LOG(ses, LS_LOG_INFO, "%s: publish %s refused: %s", ls_conn_peer(ses->conn),
            session_id(ses), why);
    session_send_status(ses, ses->stream_id, "error", code, description);
    ses->phase = SES_CONNECTED;
    /* Encoders retry on a fresh connection; keeping this one buys nothing. */
    ls_conn_close_after_flush(ses->conn, LS_OK, "publish refused");
}

static void session_publish_start(struct ls_session *ses)
{
    struct ls_hub *hub = ses->srv->hub;
    struct ls_stream *st = ls_hub_get(hub, ses->ref->id);

    if (st == NULL) {
        session_fail(ses, LS_ENOMEM, "out of memory");
        return;
    }
    /* Held across the kick: a departing pull may release the last hold on the stream. */
    ls_stream_hold(st);
    if (ls_stream_has_source(st)) {
        /* An idle local publisher (checked at request time) or a pull being replaced by a
         * real publisher: the newcomer wins. */
        ls_stream_kick_source(st, "taken over by a new publisher");
    }
    if (ls_stream_attach_source(st, LS_SOURCE_PUBLISHER, &session_source_ops, ses) != LS_OK) {
        ls_stream_release(st);
        session_publish_refuse(ses, LS_FAIL_BUSY, "NetStream.Publish.BadName",
                               "Stream already publishing", "the current source would not leave");
        return;
    }
    ls_stream_release(st);
    ses->stream = st;
    ses->phase = SES_PUBLISHING;
    ls_conn_set_quickack(ses->conn, false);
    if (ses->takeover)
        ls_stats.publish_takeovers_total++;
    ls_conn_set_deadline(ses->conn, 0, NULL);
    ls_conn_set_idle_timeout(ses->conn, ses->srv->cfg.publisher_idle_timeout_ms);
    SES_LOG(ses, LS_LOG_NOTICE, "%s: publish %s started%s", ls_conn_peer(ses->conn), ses->ref->id,
            ses->takeover ? " (took over an idle publisher)" : "");
    session_stream_begin(ses, "NetStream.Publish.Start", "Start publishing");
    if (ses->srv->hooks.publish_started != NULL)
        ses->srv->hooks.publish_started(ses->srv->hooks.arg, ses->ref->id);
}

uint64_t ls_publish_claim_publisher(const struct ls_publish_claim *claim)
{
    return claim->publisher;
}

void ls_publish_claim_done(struct ls_publish_claim *claim, int result, const char *why)
{
    struct ls_session *ses = claim->ses;
    struct ls_conn *c;

    free(claim);
    if (ses == NULL)
        return;
    c = ses->conn;
    ls_conn_hold(c);
    ses->claim = NULL;
    if (result == LS_OK) {
        session_publish_start(ses);
    } else if (result == LS_EBUSY) {
        session_publish_refuse(ses, LS_FAIL_BUSY, "NetStream.Publish.BadName",
                               "Stream already publishing", why != NULL ? why : "busy");
    } else {
        session_publish_refuse(ses, LS_FAIL_UPSTREAM, "NetStream.Publish.Failed",
                               "Cannot publish now", why != NULL ? why : "claim failed");
    }
    ls_conn_flush(c);
    ls_conn_release(c); /* may close and free the session */
}

/* Local uniqueness rule: refuse a live id unless its publisher has been idle. */
static int session_publish_local_check(struct ls_session *ses)
{
    struct ls_stream *st = ls_hub_find(ses->srv->hub, ses->ref->id);

    ses->takeover = false;
    if (st == NULL || !ls_stream_has_source(st))
        return LS_OK;
    if (ls_stream_source_kind(st) != LS_SOURCE_PUBLISHER)
        return LS_OK; /* a pulled copy yields to a real publisher (the role decides) */
    if (ls_stream_source_idle_ms(st) >= ses->srv->cfg.publish_takeover_idle_ms) {
        ses->takeover = true;
        return LS_OK;
    }
    return LS_EBUSY;
}

static void session_publish_admit(struct ls_session *ses, int result, const char *why)
{
    const struct ls_server_hooks *hooks = &ses->srv->hooks;

    ses->auth = NULL;
    if (result == LS_ELIMIT) { /* auth_max_inflight: overloaded, not unauthorised */
        session_publish_refuse(ses, LS_FAIL_LIMIT, "NetStream.Publish.Failed",
                               "Admission busy, try again", why != NULL ? why : "admission busy");
        ls_conn_flush(ses->conn);
        return;
    }
    if (result != LS_OK) {
        session_publish_refuse(ses, LS_FAIL_UNAUTHORIZED, "NetStream.Publish.Unauthorized",
                               "Authorization failed", why != NULL ? why : "not authorised");
        ls_conn_flush(ses->conn);
        return;
    }
    if (session_publish_local_check(ses) != LS_OK) {
        session_publish_refuse(ses, LS_FAIL_BUSY, "NetStream.Publish.BadName",
                               "Stream already publishing", "already publishing here");
        ls_conn_flush(ses->conn);
        return;
    }
    if (hooks->publish_claim == NULL) {
        session_publish_start(ses);
        ls_conn_flush(ses->conn);
        return;
    }
    ses->claim = calloc(1, sizeof *ses->claim);
    if (ses->claim == NULL) {
        session_fail(ses, LS_ENOMEM, "out of memory");
        return;
    }
    ses->claim->ses = ses;
    ses->claim->publisher = ses->publisher;
    hooks->publish_claim(hooks->arg, ses->claim, ses->ref->id, ses->takeover);
}

static void session_publish_admitted(void *arg, int result, const char *why)
{
    struct ls_session *ses = arg;
    struct ls_conn *c = ses->conn;

    ls_conn_hold(c);
    session_publish_admit(ses, result, why);
    ls_conn_release(c); /* may close and free the session */
}

/*
 * publish and play name a stream createStream made, on a connection that does neither
 * yet: false (the connection failing with `out_of_sequence`) when not, else the command
 * now owns that stream.
 */
static bool session_stream_command(struct ls_session *ses, const struct ls_command *cmd,
                                   uint32_t stream_id, const char *out_of_sequence)
{
    if (ses->phase != SES_CONNECTED || stream_id == 0 || stream_id > ses->streams_created) {
        session_fail(ses, LS_EPROTO, out_of_sequence);
        return false;
    }
    ses->stream_id = stream_id;
    ses->txid = cmd->transaction_id;
    return true;
}

static void session_on_publish(struct ls_session *ses, const struct ls_command *cmd,
                               uint32_t stream_id)
{
    const char *name = NULL, *type = NULL;

    ls_stats.publish_requests_total++;
    if (!session_stream_command(ses, cmd, stream_id, "publish out of sequence"))
        return;
    if (!ses->srv->cfg.allow_publish) {
        ls_stats.publish_failures_total[LS_FAIL_DENIED]++;
        SES_LOG(ses, LS_LOG_INFO, "%s: publish refused: this node does not take publishers",
                ls_conn_peer(ses->conn));
        session_send_status(ses, stream_id, "error", "NetStream.Publish.Denied",
                            "Publishing is not allowed here");
        ls_conn_close_after_flush(ses->conn, LS_OK, "publish refused");
        return;
    }
    if (ls_command_parse_publish(cmd, &name, &type) != LS_OK)
        name = NULL;
    if (session_take_ref(ses, name, true) != LS_OK) {
        ls_conn_close_after_flush(ses->conn, LS_OK, "publish refused");
        return;
    }
    if (ls_vod_owns(ses->srv->vod, ses->ref)) {
        /* The vod app names files: a live stream there could never be watched. */
        ls_stats.publish_failures_total[LS_FAIL_DENIED]++;
        SES_LOG(ses, LS_LOG_INFO, "%s: publish %s refused: the %s app serves files",
                ls_conn_peer(ses->conn), ses->ref->id, LS_VOD_APP);
        session_send_status(ses, stream_id, "error", "NetStream.Publish.Denied",
                            "This app serves files; publish under another one");
        ls_conn_close_after_flush(ses->conn, LS_OK, "publish refused");
        return;
    }
    ses->phase = SES_PUBLISH_PENDING;
    ses->publisher = ++session_last_publisher;
    ses->auth = ls_auth_check(ses->srv->base, &ses->srv->cfg.publish_auth, "publish", ses->ref,
                              ls_conn_peer(ses->conn), session_publish_admitted, ses);
    if (ses->auth == NULL)
        session_fail(ses, LS_ENOMEM, "out of memory");
}

/* Ends this session's publishing; subscribers hear `ev`. */
static void session_unpublish(struct ls_session *ses, enum ls_source_event ev, const char *why)
{
    const struct ls_server_hooks *hooks = &ses->srv->hooks;
    struct ls_stream *st = ses->stream;

    if (ses->phase != SES_PUBLISHING || st == NULL)
        return;
    ses->stream = NULL;
    ses->phase = SES_CONNECTED;
    ls_conn_set_idle_timeout(ses->conn, 0);
    session_idle(ses);
    SES_LOG(ses, LS_LOG_NOTICE, "%s: publish %s stopped (%s)", ls_conn_peer(ses->conn),
            ses->ref->id, why);
    ls_stream_detach_source(st, ses, ev);
    if (hooks->publish_ended != NULL)
        hooks->publish_ended(hooks->arg, ses->ref->id, ses->publisher);
}

static void session_kick(void *owner, const char *why)
{
    struct ls_session *ses = owner;
    struct ls_conn *c = ses->conn;

    ls_conn_hold(c);
    session_unpublish(ses, LS_SOURCE_INTERRUPTED, why);
    session_send_status(ses, ses->stream_id, "error", "NetStream.Publish.BadName", why);
    ls_conn_close_after_flush(c, LS_OK, why);
    ls_conn_release(c);
}

static const struct ls_source_ops session_source_ops = {
    .kick = session_kick,
};

/* ---- play ---- */

/* An internal pull (signed, or a client claiming lc_role): not a viewer of the cluster. */
static bool session_internal_play(const struct ls_session *ses)
{
    return ses->peer.internal || ses->peer.role[0] != '\0';
}

/* Counts a failed play; internal pulls' share separately (stats.h). */
static void session_play_failed(const struct ls_session *ses, enum ls_fail_reason reason)
{
    ls_stats.play_failures_total[reason]++;
    if (session_internal_play(ses))
        ls_stats.internal_play_failures_total[reason]++;
}

static void session_play_stop(struct ls_session *ses)
{
    if (ses->wait_timer != NULL)
        event_del(ses->wait_timer);
    ls_subscriber_detach(&ses->sub);
    ls_vodplay_stop(ses->vod);
    if (ses->phase == SES_PLAYING || ses->phase == SES_PLAY_PENDING) {
        ses->phase = SES_CONNECTED;
        session_idle(ses);
    }
    ses->play_started = false;
    ses->source_stopped = false;
}

/* Status messages a player expects before media (the order nginx-rtmp and FMS use). */
static void session_play_announce(struct ls_session *ses)
{
    struct ls_buf b;

    ses->play_started = true;
    ls_conn_set_quickack(ses->conn, false);
    session_stream_begin(ses, "NetStream.Play.Reset", "Playing and resetting stream");
    session_send_status(ses, ses->stream_id, "status", "NetStream.Play.Start",
                        "Started playing stream");
    ls_buf_init(&b, 0);
    ls_data_build_sample_access(&b, true, true);
    session_send_payload(ses, ses->stream_id, LS_MSG_DATA_AMF0, &b);
    ls_buf_free(&b);
    session_send_status(ses, ses->stream_id, "status", "NetStream.Data.Start",
                        "Started playing stream");
    SES_LOG(ses, LS_LOG_INFO, "%s: play %s started%s", ls_conn_peer(ses->conn), ses->ref->id,
            ses->peer.internal ? " (internal pull)" : "");
}

static void session_play_not_found(struct ls_session *ses, const char *why)
{
    session_play_failed(ses, LS_FAIL_NOT_FOUND);
    SES_LOG(ses, LS_LOG_INFO, "%s: play %s failed: %s", ls_conn_peer(ses->conn), session_id(ses),
            why);
    session_play_stop(ses);
    session_send_status(ses, ses->stream_id, "error", "NetStream.Play.StreamNotFound",
                        "Stream not found");
    ls_conn_flush(ses->conn);
}

/* Refused at a bound on upstream work (hub.h, pull.h): counted and logged, rate-limited,
 * where the bound is; the connection stays for another play. */
static void session_play_limited(struct ls_session *ses)
{
    session_play_failed(ses, LS_FAIL_LIMIT);
    session_play_stop(ses);
    session_send_status(ses, ses->stream_id, "error", "NetStream.Play.StreamNotFound",
                        "Stream not available: this server is at a limit");
    ls_conn_flush(ses->conn);
}

static void session_wait_timeout(evutil_socket_t fd, short what, void *arg)
{
    struct ls_session *ses = arg;
    struct ls_conn *c = ses->conn;

    (void)fd;
    (void)what;
    ls_conn_hold(c);
    if (ses->phase == SES_PLAYING && !ses->play_started)
        session_play_not_found(ses, "not live within play_wait_timeout");
    ls_conn_release(c);
}

/* ---- files (vod app, vodplay.h): this viewer's own source, not the hub's ---- */

static void session_vod_failed(void *arg, enum ls_fail_reason reason, const char *why)
{
    struct ls_session *ses = arg;

    if (reason == LS_FAIL_NOT_FOUND) {
        session_play_not_found(ses, why);
    } else if (reason == LS_FAIL_LIMIT) {
        SES_LOG(ses, LS_LOG_INFO, "%s: play %s refused: %s", ls_conn_peer(ses->conn),
                session_id(ses), why);
        session_play_limited(ses);
    } else {
        ls_stats.play_failures_total[LS_FAIL_INTERNAL]++;
        SES_LOG(ses, LS_LOG_WARNING, "%s: play %s failed: %s", ls_conn_peer(ses->conn),
                session_id(ses), why);
        session_play_stop(ses);
        session_send_status(ses, ses->stream_id, "error", "NetStream.Play.Failed",
                            "Cannot play the file now");
        ls_conn_flush(ses->conn);
    }
}

static void session_vod_too_slow(void *arg, const char *why)
{
    struct ls_session *ses = arg;

    ls_stats.slow_viewer_drops_total++;
    SES_LOG(ses, LS_LOG_INFO, "%s: play %s: viewer dropped: %s", ls_conn_peer(ses->conn),
            session_id(ses), why);
    session_fail(ses, LS_ELIMIT, "viewer too slow");
}

/* The connection's file player, made at its first file request. NULL: closing. */
static struct ls_vodplay *session_vod(struct ls_session *ses)
{
    const struct ls_vodplay_ops ops = {
        .failed = session_vod_failed,
        .too_slow = session_vod_too_slow,
        .arg = ses,
    };

    if (ses->vod == NULL) {
        ses->vod = ls_vodplay_new(ses->srv->vod, ses->conn, &ops);
        if (ses->vod == NULL)
            session_fail(ses, LS_ENOMEM, "out of memory");
    }
    return ses->vod;
}

/* An admitted play of the vod app. Files are served by the node that has them: an
 * internal pull (an edge, a peer origin) is not given one to relay as if live. */
static void session_play_file(struct ls_session *ses)
{
    if (ses->peer.internal) {
        session_play_not_found(ses, "files are not relayed to other nodes");
        return;
    }
    if (session_vod(ses) == NULL)
        return;
    ses->phase = SES_PLAYING;
    ls_vodplay_play(ses->vod, ses->stream_id, ses->ref, ses->play_start, ses->play_duration);
    ls_conn_flush(ses->conn);
}

/* getStreamLength: a file's duration in seconds; 0 for anything live. */
static void session_stream_length(struct ls_session *ses, const struct ls_command *cmd)
{
    struct ls_stream_ref ref;
    const char *name = NULL;
    struct ls_buf b;
    struct ls_amf_value zero = { 0 }; /* set_number clears it first */

    if (ses->srv->vod != NULL && ls_command_parse_stream_name(cmd, &name) == LS_OK &&
        ls_streamid_parse(ses->app, name, &ref, NULL) == LS_OK &&
        ls_vod_owns(ses->srv->vod, &ref)) {
        if (session_vod(ses) != NULL)
            ls_vodplay_length(ses->vod, cmd->transaction_id, &ref, &ses->srv->cfg.play_auth,
                              ls_conn_peer(ses->conn));
        return;
    }
    ls_amf_set_number(&zero, 0); /* live: no length */
    ls_buf_init(&b, 0);
    ls_command_build_result(&b, "_result", cmd->transaction_id, NULL, &zero);
    session_send_payload(ses, 0, LS_MSG_COMMAND_AMF0, &b);
    ls_buf_free(&b);
}

/* An internal pull from a peer origin may only be served from a local publisher: an spd
 * never re-exports what it pulled (decision 7). A client that merely claims to be one
 * (no cluster secret here, so nothing is verified) gets the same restriction. */
static bool session_peer_allowed(const struct ls_session *ses, const struct ls_stream *st)
{
    return strcmp(ses->peer.role, "spd") != 0 ||
           (ls_stream_has_source(st) && ls_stream_source_kind(st) == LS_SOURCE_PUBLISHER);
}

static void session_play_admit(struct ls_session *ses, int result, const char *why)
{
    struct ls_stream *st;
    struct timeval tv;
    int rc;

    ses->auth = NULL;
    if (result != LS_OK) {
        bool busy = result == LS_ELIMIT; /* auth_max_inflight: overloaded, not unauthorised */

        session_play_failed(ses, busy ? LS_FAIL_LIMIT : LS_FAIL_UNAUTHORIZED);
        SES_LOG(ses, LS_LOG_INFO, "%s: play %s refused: %s", ls_conn_peer(ses->conn),
                session_id(ses), why != NULL ? why : "not authorised");
        session_send_status(ses, ses->stream_id, "error",
                            busy ? "NetStream.Play.Failed" : "NetStream.Play.Unauthorized",
                            busy ? "Admission busy, try again" : "Authorization failed");
        ses->phase = SES_CONNECTED;
        ls_conn_close_after_flush(ses->conn, LS_OK, "play refused");
        return;
    }
    if (ls_vod_owns(ses->srv->vod, ses->ref)) {
        session_play_file(ses);
        return;
    }
    st = ls_hub_get(ses->srv->hub, ses->ref->id);
    if (st == NULL) {
        session_fail(ses, LS_ENOMEM, "out of memory");
        return;
    }
    if (!session_peer_allowed(ses, st)) {
        ls_stream_forget_if_unused(st); /* frees it again if we created it */
        session_play_not_found(ses, "no local publisher for a peer pull");
        return;
    }
    ses->phase = SES_PLAYING;
    ls_conn_set_deadline(ses->conn, 0, NULL);
    ls_subscriber_init(&ses->sub, &session_sub_ops, ls_conn_outq(ses->conn), LS_TRANSPORT_RTMP,
                       ses->stream_id);
    if (!ses->peer.internal) /* viewers are charged for the waiting streams they open */
        ls_subscriber_set_client(&ses->sub, ls_conn_peer_addr(ses->conn));
    /* The cluster counts viewers, not the links between its nodes (smd adds up every
     * node's viewers: an edge's pull is not one more); viewers' time to first frame is
     * measured from their connection. */
    ses->sub.internal = session_internal_play(ses);
    if (!ses->sub.internal)
        ses->sub.start_ms = ses->accepted_ms != 0 ? ses->accepted_ms : 1;
    if (ls_stream_has_source(st))
        session_play_announce(ses);
    rc = ls_stream_subscribe(st, &ses->sub);
    if (rc == LS_ELIMIT) {
        session_play_limited(ses);
        return;
    }
    if (rc != LS_OK) {
        session_fail(ses, LS_ESTATE, "subscribe failed");
        return;
    }
    if (!ses->play_started && ses->sub.stream != NULL) {
        if (ses->wait_timer == NULL)
            ses->wait_timer = evtimer_new(ses->srv->base, session_wait_timeout, ses);
        if (ses->wait_timer == NULL) {
            session_fail(ses, LS_ENOMEM, "out of memory");
            return;
        }
        tv.tv_sec = ses->srv->cfg.play_wait_timeout_ms / 1000;
        tv.tv_usec = (ses->srv->cfg.play_wait_timeout_ms % 1000) * 1000;
        evtimer_add(ses->wait_timer, &tv);
        SES_LOG(ses, LS_LOG_DEBUG, "%s: play %s waiting for the stream", ls_conn_peer(ses->conn),
                ses->ref->id);
    }
    ls_conn_flush(ses->conn);
}

/* The admission answer. The first flush (inside the subscribe) may find the viewer gone:
 * held, the session outlives everything below. */
static void session_play_admitted(void *arg, int result, const char *why)
{
    struct ls_session *ses = arg;
    struct ls_conn *c = ses->conn;

    ls_conn_hold(c);
    session_play_admit(ses, result, why);
    ls_conn_release(c); /* may close and free the session */
}

static void session_on_play(struct ls_session *ses, const struct ls_command *cmd,
                            uint32_t stream_id)
{
    const char *name = NULL;
    double start, duration;
    bool reset;
    struct ls_auth_config no_auth = { .secret = NULL, .auth_url = NULL };
    const struct ls_auth_config *auth = &ses->srv->cfg.play_auth;
    int rc;

    ls_stats.play_requests_total++;
    if (!session_stream_command(ses, cmd, stream_id, "play out of sequence"))
        return;
    if (ls_command_parse_play(cmd, &name, &start, &duration, &reset) != LS_OK)
        name = NULL;
    ses->play_start = start;
    ses->play_duration = duration;
    if (session_take_ref(ses, name, false) != LS_OK)
        return;
    memset(&ses->peer, 0, sizeof ses->peer);
    rc = ls_peersig_verify(ses->srv->cfg.cluster_secret, ses->srv->cfg.node_id, ses->nonce,
                           ses->ref->id, ses->ref->query, &ses->peer);
    ses->nonce[0] = '\0'; /* one play per challenge: a signature is never good twice */
    if (session_internal_play(ses))
        ls_stats.internal_play_requests_total++;
    if (rc == LS_EAUTH) {
        session_play_failed(ses, LS_FAIL_UNAUTHORIZED);
        SES_LOG(ses, LS_LOG_WARNING, "%s: internal pull of %s with a bad signature refused",
                ls_conn_peer(ses->conn), ses->ref->id);
        session_send_status(ses, stream_id, "error", "NetStream.Play.Unauthorized",
                            "Bad cluster signature");
        ls_conn_close_after_flush(ses->conn, LS_EAUTH, "bad cluster signature");
        return;
    }
    if (ses->peer.internal)
        auth = &no_auth; /* cluster links are authenticated by their signature */
    ses->phase = SES_PLAY_PENDING;
    ses->auth = ls_auth_check(ses->srv->base, auth, "play", ses->ref, ls_conn_peer(ses->conn),
                              session_play_admitted, ses);
    if (ses->auth == NULL)
        session_fail(ses, LS_ENOMEM, "out of memory");
}

static struct ls_session *session_from_sub(struct ls_subscriber *sub)
{
    return (struct ls_session *)((char *)sub - offsetof(struct ls_session, sub));
}

static void session_sub_flush(struct ls_subscriber *sub)
{
    struct ls_conn *c = session_from_sub(sub)->conn;

    ls_conn_hold(c);
    ls_conn_flush(c);
    ls_conn_release(c);
}

static void session_source_event(struct ls_session *ses, struct ls_subscriber *sub,
                                 enum ls_source_event ev)
{
    switch (ev) {
    case LS_SOURCE_STARTED:
        if (!session_peer_allowed(ses, sub->stream)) {
            /* The stream is now a pulled copy here: serving it to a peer would chain. */
            ls_conn_close_after_flush(ses->conn, LS_OK, "stream no longer published here");
            session_play_stop(ses);
            return;
        }
        if (!ses->play_started) {
            if (ses->wait_timer != NULL)
                event_del(ses->wait_timer);
            session_play_announce(ses);
        } else if (ses->source_stopped) {
            session_stream_begin(ses, "NetStream.Play.PublishNotify", "Stream is now published");
        }
        ses->source_stopped = false;
        ls_subscriber_mark_dirty(sub, true);
        break;
    case LS_SOURCE_STOPPED:
        if (ses->play_started && !ses->source_stopped) {
            ses->source_stopped = true;
            session_send_status(ses, ses->stream_id, "status", "NetStream.Play.UnpublishNotify",
                                "Stream is now unpublished");
            ls_subscriber_mark_dirty(sub, true);
        }
        break;
    case LS_SOURCE_INTERRUPTED:
        break; /* a pull is being retried: say nothing, media resumes */
    }
}

static void session_sub_source_event(struct ls_subscriber *sub, enum ls_source_event ev)
{
    struct ls_session *ses = session_from_sub(sub);
    struct ls_conn *c = ses->conn;

    ls_conn_hold(c);
    session_source_event(ses, sub, ev);
    ls_conn_release(c);
}

static void session_sub_too_slow(struct ls_subscriber *sub, const char *why)
{
    struct ls_session *ses = session_from_sub(sub);
    struct ls_conn *c = ses->conn;

    ls_stats.slow_viewer_drops_total++;
    SES_LOG(ses, LS_LOG_INFO, "%s: play %s: viewer dropped: %s", ls_conn_peer(ses->conn),
            session_id(ses), why);
    ls_conn_hold(c);
    session_fail(ses, LS_ELIMIT, "viewer too slow");
    ls_conn_release(c);
}

static const struct ls_subscriber_ops session_sub_ops = {
    .flush = session_sub_flush,
    .source_event = session_sub_source_event,
    .too_slow = session_sub_too_slow,
};

/* ---- dispatch ---- */

/* deleteStream / closeStream / FCUnpublish: end what runs on that stream id. */
static void session_end_stream(struct ls_session *ses, uint32_t stream_id, const char *why)
{
    if (ses->phase == SES_PUBLISHING && (stream_id == 0 || stream_id == ses->stream_id))
        session_unpublish(ses, LS_SOURCE_STOPPED, why);
    else if ((ses->phase == SES_PLAYING || ses->phase == SES_PLAY_PENDING) &&
             (stream_id == 0 || stream_id == ses->stream_id)) {
        if (ses->auth != NULL) {
            ls_auth_cancel(ses->auth);
            ses->auth = NULL;
        }
        session_play_stop(ses);
    }
}

static void session_on_command(struct ls_session *ses, struct ls_frame *msg)
{
    struct ls_command cmd;
    const char *why = NULL;
    const char *name = NULL;
    double id;
    ssize_t rc;

    rc = ls_command_decode(msg->data, msg->len, msg->type == LS_MSG_COMMAND_AMF3,
                           &ls_amf_default_limits, &cmd, &why);
    if (rc < 0) {
        SES_LOG(ses, LS_LOG_INFO, "%s: bad command: %s", ls_conn_peer(ses->conn),
                why != NULL ? why : ls_strerror((int)rc));
        session_fail(ses, (int)rc, why != NULL ? why : "bad command");
        return;
    }
    if (ses->phase == SES_AWAIT_CONNECT && strcmp(cmd.name, "connect") != 0) {
        ls_command_free(&cmd);
        session_fail(ses, LS_EPROTO, "command before connect");
        return;
    }
    if (strcmp(cmd.name, "connect") == 0) {
        session_on_connect(ses, &cmd);
    } else if (strcmp(cmd.name, "createStream") == 0) {
        session_on_create_stream(ses, &cmd);
    } else if (strcmp(cmd.name, "publish") == 0) {
        session_on_publish(ses, &cmd, msg->stream_id);
    } else if (strcmp(cmd.name, "play") == 0) {
        session_on_play(ses, &cmd, msg->stream_id);
    } else if (strcmp(cmd.name, "deleteStream") == 0) {
        if (ls_command_parse_delete_stream(&cmd, &id) == LS_OK && id >= 0 && id < 1e9)
            session_end_stream(ses, (uint32_t)id, "deleteStream");
    } else if (strcmp(cmd.name, "closeStream") == 0) {
        session_end_stream(ses, msg->stream_id, "closeStream");
    } else if (strcmp(cmd.name, "FCUnpublish") == 0) {
        session_send_result(ses, cmd.transaction_id);
        session_end_stream(ses, ses->phase == SES_PUBLISHING ? ses->stream_id : UINT32_MAX,
                           "FCUnpublish");
    } else if (strcmp(cmd.name, "releaseStream") == 0 || strcmp(cmd.name, "FCPublish") == 0 ||
               strcmp(cmd.name, "FCSubscribe") == 0 || strcmp(cmd.name, "_checkbw") == 0) {
        if (ls_command_parse_stream_name(&cmd, &name) == LS_OK)
            SES_LOG(ses, LS_LOG_DEBUG, "%s: %s %s", ls_conn_peer(ses->conn), cmd.name, name);
        session_send_result(ses, cmd.transaction_id);
    } else if (strcmp(cmd.name, "getStreamLength") == 0) {
        session_stream_length(ses, &cmd);
    } else if (ls_vodplay_command(ses->vod, &cmd, msg->stream_id)) {
        /* seek, pause, pauseRaw of a file playing here (vodplay.h) */
    } else if (strcmp(cmd.name, "receiveAudio") == 0 || strcmp(cmd.name, "receiveVideo") == 0 ||
               strcmp(cmd.name, "_result") == 0 || strcmp(cmd.name, "_error") == 0 ||
               strcmp(cmd.name, "onBWDone") == 0 || strcmp(cmd.name, "pause") == 0) {
        /* Acknowledged by doing nothing: live streams cannot pause or drop a track here. */
    } else {
        SES_LOG(ses, LS_LOG_DEBUG, "%s: unknown command '%s' answered with _error",
                ls_conn_peer(ses->conn), cmd.name);
        session_send_error(ses, cmd.transaction_id, "NetConnection.Call.Failed",
                           "Method not found");
    }
    ls_command_free(&cmd);
}

static void session_on_message(struct ls_conn *c, void *owner, struct ls_frame *msg)
{
    struct ls_session *ses = owner;

    (void)c;
    switch (msg->type) {
    case LS_MSG_COMMAND_AMF0:
    case LS_MSG_COMMAND_AMF3:
        session_on_command(ses, msg);
        break;
    case LS_MSG_AUDIO:
    case LS_MSG_VIDEO:
    case LS_MSG_DATA_AMF0:
    case LS_MSG_DATA_AMF3:
    case LS_MSG_AGGREGATE:
        if (ses->phase == SES_PUBLISHING && msg->stream_id == ses->stream_id) {
            int rc = ls_stream_push(ses->stream, msg);

            if (rc == LS_ENOMEM)
                session_fail(ses, rc, "out of memory");
            else if (rc != LS_OK)
                session_fail(ses, rc, "malformed media message");
        }
        break;
    default:
        break; /* shared objects and user control events: not used by live streaming */
    }
}

/* ---- lifetime ---- */

static void session_on_close(struct ls_conn *c, void *owner, int err, const char *why)
{
    struct ls_session *ses = owner;
    struct ls_server *srv = ses->srv;

    if (ses->auth != NULL)
        ls_auth_cancel(ses->auth);
    if (ses->claim != NULL) {
        ses->claim->ses = NULL;
        if (srv->hooks.publish_claim_cancelled != NULL)
            srv->hooks.publish_claim_cancelled(srv->hooks.arg, ses->claim);
    }
    session_unpublish(ses, LS_SOURCE_STOPPED, "connection closed");
    session_play_stop(ses);
    ls_vodplay_free(ses->vod);
    if (ses->wait_timer != NULL)
        event_free(ses->wait_timer);
    if (err == LS_OK || err == LS_EIO)
        SES_LOG(ses, LS_LOG_INFO, "%s: closed (%s) %s in=%llu out=%llu", ls_conn_peer(c), why,
                session_id(ses), (unsigned long long)ls_conn_bytes_in(c),
                (unsigned long long)ls_conn_bytes_out(c));
    else
        SES_LOG(ses, err == LS_ENOMEM ? LS_LOG_ERR : LS_LOG_INFO, "%s: closed: %s (%s) %s",
                ls_conn_peer(c), why, ls_strerror(err), session_id(ses));
    LIST_REMOVE(ses, link);
    srv->nsessions--;
    srv->nconnections--;
    free(ses->app);
    free(ses->ref);
    free(ses);
}

static const struct ls_conn_ops session_conn_ops = {
    .on_ready = NULL,
    .on_message = session_on_message,
    .on_close = session_on_close,
};

void ls_session_accept(struct ls_server *srv, int fd, struct ls_tls_ctx *tls)
{
    struct ls_session *ses = calloc(1, sizeof *ses);

    if (ses == NULL) {
        close(fd);
        ls_log(LS_LOG_ERR, "out of memory accepting a connection");
        return;
    }
    ses->srv = srv;
    ses->phase = SES_AWAIT_CONNECT;
    ses->accepted_ms = ls_now_ms();
    ses->conn = ls_conn_new(srv->base, fd, LS_HS_SERVER, &srv->cfg.conn, &session_conn_ops, ses);
    if (ses->conn == NULL) {
        free(ses);
        ls_log(LS_LOG_ERR, "out of memory accepting a connection");
        return;
    }
    LIST_INSERT_HEAD(&srv->sessions, ses, link);
    srv->nsessions++;
    srv->nconnections++;
    SES_LOG(ses, LS_LOG_INFO, "%s: connected%s", ls_conn_peer(ses->conn),
            tls != NULL ? " (RTMPS)" : "");
    session_idle(ses);
    if (tls != NULL && ls_conn_use_tls(ses->conn, tls) != LS_OK)
        ls_conn_close(ses->conn, LS_ENOMEM, "out of memory");
    else if (ls_conn_start(ses->conn) != LS_OK)
        ls_conn_close(ses->conn, LS_EIO, "cannot start connection");
}

void ls_session_shutdown(struct ls_session *ses)
{
    ls_conn_close(ses->conn, LS_OK, "server shutting down");
}
