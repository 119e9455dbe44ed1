/*
 * client.c — RTMP client state machine (see client.h).
 *
 *   handshake ─▶ Set Chunk Size + connect(1) ─_result─▶ createStream(2) ─_result(id)─▶
 *   play(name) + Set Buffer Length │ publish(name, "live") ─onStatus *.Start─▶ STARTED
 *
 * An onStatus with level "error" or an _error before STARTED ends the client with that
 * code as the reason; after STARTED, statuses are only reported (UnpublishNotify and
 * PublishNotify keep a live play going).
 *
 * Dead-peer watchdog (cfg.silence_timeout_ms): from the end of the handshake, a timer
 * ticks a few times per timeout. Quiet for a third of the timeout, the client sends a
 * ping request (at most one per third); quiet for the whole timeout — no message of any
 * kind, no byte — the peer is lost. Pings tell a paused publisher (the server answers)
 * from a frozen or unreachable one (nothing answers), which is why media silence alone
 * never closes a play.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "libstream/amf0.h"
#include "libstream/buf.h"
#include "libstream/client.h"
#include "libstream/clock.h"
#include "libstream/command.h"
#include "libstream/control.h"
#include "libstream/net.h"
#include "libstream/rtmp.h"

enum client_phase {
    CL_HANDSHAKE,
    CL_CONNECTING,      /* connect sent */
    CL_CREATING,        /* createStream sent */
    CL_STARTING,        /* play/publish sent */
    CL_STARTED,
};

struct ls_client {
    struct ls_conn *conn;
    struct ls_client_config cfg;
    const struct ls_client_ops *ops;
    void *arg;
    enum ls_client_mode mode;
    enum client_phase phase;
    char *tc_url;
    char *app;
    char *name;
    uint32_t stream_id;
    struct event *start_timer;
    struct event *watch_timer;  /* dead-peer watchdog (silence_timeout_ms != 0) */
    uint64_t heard_ms;          /* last message from the peer */
    uint64_t pinged_ms;         /* last ping request we sent */
    bool timed_out;             /* closed by the watchdog */
    char reason[160];         /* why the start failed, for on_close */
};

static const struct ls_conn_ops client_conn_ops;

void ls_client_config_defaults(struct ls_client_config *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    ls_conn_config_defaults(&cfg->conn);
    cfg->conn.handshake_timeout_ms = 5000;
    cfg->start_timeout_ms = 10000;
    cfg->buffer_ms = 1000;
    cfg->flash_ver = "LNX 9,0,124,2";
}

/* Sends an AMF0 command payload, as type 17 when the client speaks AMF3 commands. */
static void client_send_command(struct ls_client *cl, uint32_t stream_id, struct ls_buf *b)
{
    int rc = ls_buf_status(b);

    if (rc == LS_OK && cl->cfg.amf3_commands && cl->phase != CL_HANDSHAKE) {
        struct ls_buf amf3;

        ls_buf_init(&amf3, 0);
        ls_buf_put_u8(&amf3, 0); /* format byte: AMF0 values follow */
        ls_buf_append(&amf3, b->data, b->len);
        rc = ls_buf_status(&amf3);
        if (rc == LS_OK)
            rc = ls_conn_send(cl->conn, LS_CSID_COMMAND, LS_MSG_COMMAND_AMF3, 0, stream_id,
                              amf3.data, amf3.len);
        ls_buf_free(&amf3);
    } else if (rc == LS_OK) {
        rc = ls_conn_send(cl->conn, LS_CSID_COMMAND, LS_MSG_COMMAND_AMF0, 0, stream_id, b->data,
                          b->len);
    }
    ls_buf_reset(b);
    if (rc != LS_OK)
        ls_conn_close(cl->conn, rc, "cannot queue command");
}

/* Sends NAME(txid, null, <the stream name>) on stream 0. */
static void client_send_named(struct ls_client *cl, struct ls_buf *b, const char *command,
                              double txid)
{
    ls_command_build_call(b, command, txid, NULL, 0);
    ls_amf0_write_cstring(b, cl->name);
    client_send_command(cl, 0, b);
}

static void client_fail(struct ls_client *cl, int err, const char *fmt, const char *detail)
{
    snprintf(cl->reason, sizeof cl->reason, fmt, detail != NULL ? detail : "");
    ls_conn_close(cl->conn, err, cl->reason);
}

/* Watchdog tick: a few per timeout, so a lost peer is noticed within about a quarter of
 * the timeout after it is due. */
static unsigned client_watch_tick_ms(const struct ls_client *cl)
{
    unsigned tick = cl->cfg.silence_timeout_ms / 4;

    return tick < 20 ? 20 : tick > 1000 ? 1000 : tick;
}

static void client_watch_cb(evutil_socket_t fd, short what, void *arg)
{
    struct ls_client *cl = arg;
    uint64_t now = ls_now_ms(), quiet = now - cl->heard_ms;
    uint64_t third = cl->cfg.silence_timeout_ms / 3;

    (void)fd;
    (void)what;
    /* Bytes still arriving (a large message, slowly) are not silence either. */
    if (ls_conn_idle_ms(cl->conn) < quiet)
        quiet = ls_conn_idle_ms(cl->conn);
    if (quiet >= cl->cfg.silence_timeout_ms) {
        cl->timed_out = true;
        ls_conn_close(cl->conn, LS_ELIMIT, "upstream silent: no media and no ping answer");
        return;
    }
    if (quiet >= third && now - cl->pinged_ms >= third) {
        struct ls_buf b;

        ls_buf_init(&b, 0);
        ls_control_write_ping_request(&b, (uint32_t)now);
        cl->pinged_ms = now;
        if (ls_conn_send_buf(cl->conn, &b) != LS_OK)
            ls_conn_close(cl->conn, LS_ENOMEM, "out of memory");
        else
            ls_conn_flush(cl->conn);
        ls_buf_free(&b);
    }
}

static void client_watch_start(struct ls_client *cl)
{
    struct timeval tv;
    unsigned tick;

    if (cl->watch_timer == NULL)
        return;
    tick = client_watch_tick_ms(cl);
    tv.tv_sec = tick / 1000;
    tv.tv_usec = (tick % 1000) * 1000;
    cl->heard_ms = ls_now_ms();
    cl->pinged_ms = cl->heard_ms;
    evtimer_add(cl->watch_timer, &tv);
}

static void client_on_ready(struct ls_conn *c, void *owner)
{
    struct ls_client *cl = owner;
    struct ls_buf b;

    client_watch_start(cl);

    ls_buf_init(&b, 0);
    ls_control_write_set_chunk_size(&b, ls_conn_out_chunk_size(c));
    if (ls_conn_send_buf(c, &b) != LS_OK) {
        ls_buf_free(&b);
        ls_conn_close(c, LS_ENOMEM, "out of memory");
        return;
    }
    ls_command_build_connect(&b, 1, cl->app, cl->tc_url, cl->cfg.flash_ver,
                             cl->cfg.object_encoding);
    /* connect itself is always AMF0 (type 20), whatever the object encoding. */
    cl->phase = CL_HANDSHAKE;
    client_send_command(cl, 0, &b);
    cl->phase = CL_CONNECTING;
    ls_buf_free(&b);
    ls_conn_flush(c);
}

static void client_on_result(struct ls_client *cl, const struct ls_command *cmd)
{
    struct ls_buf b;

    ls_buf_init(&b, 0);
    if (cl->phase == CL_CONNECTING && cmd->transaction_id == 1) {
        /* The owner may read the answer (a pull's challenge) and rename what it plays. */
        if (cl->ops->on_connected != NULL)
            cl->ops->on_connected(cl, cl->arg, cmd->nargs >= 1 ? &cmd->args[0] : NULL);
        ls_control_write_window_ack_size(&b, cl->cfg.conn.window_ack_size);
        if (ls_conn_send_buf(cl->conn, &b) != LS_OK)
            ls_conn_close(cl->conn, LS_ENOMEM, "out of memory");
        if (cl->mode == LS_CLIENT_PUBLISH) {
            /* What encoders send before publishing; some ingest services wait for it.
             * Their answers (transactions 3 and 4) need nothing from us. */
            client_send_named(cl, &b, "releaseStream", 3);
            client_send_named(cl, &b, "FCPublish", 4);
        }
        ls_command_build_create_stream(&b, 2);
        client_send_command(cl, 0, &b);
        cl->phase = CL_CREATING;
    } else if (cl->phase == CL_CREATING && cmd->transaction_id == 2) {
        double id = 0;

        /* Written so that NaN fails too (a hostile upstream may send one). */
        if (cmd->nargs < 1 || cmd->args[0].type != LS_AMF_NUMBER ||
            !((id = cmd->args[0].u.number) >= 1 && id <= 1e6)) {
            ls_buf_free(&b);
            client_fail(cl, LS_EPROTO, "createStream answered without a stream id%s", NULL);
            return;
        }
        cl->stream_id = (uint32_t)id;
        if (cl->mode == LS_CLIENT_PLAY) {
            ls_command_build_play(&b, 0, cl->name, -1000, -1, true);
            client_send_command(cl, cl->stream_id, &b);
            ls_control_write_set_buffer_length(&b, cl->stream_id, cl->cfg.buffer_ms);
            if (ls_conn_send_buf(cl->conn, &b) != LS_OK)
                ls_conn_close(cl->conn, LS_ENOMEM, "out of memory");
        } else {
            ls_command_build_publish(&b, 0, cl->name, "live");
            client_send_command(cl, cl->stream_id, &b);
        }
        cl->phase = CL_STARTING;
    }
    ls_buf_free(&b);
    ls_conn_flush(cl->conn);
}

static void client_on_status(struct ls_client *cl, const struct ls_command *cmd)
{
    const struct ls_amf_value *info = cmd->nargs >= 1 ? &cmd->args[0] : NULL;
    const char *level = info != NULL ? ls_amf_get_string(info, "level") : NULL;
    const char *code = info != NULL ? ls_amf_get_string(info, "code") : NULL;

    if (code == NULL)
        return;
    if (cl->ops->on_status != NULL)
        cl->ops->on_status(cl, cl->arg, level != NULL ? level : "", code);
    if (cl->phase == CL_STARTING &&
        (strcmp(code, "NetStream.Play.Start") == 0 || strcmp(code, "NetStream.Publish.Start") == 0)) {
        cl->phase = CL_STARTED;
        ls_conn_set_quickack(cl->conn, false);
        if (cl->start_timer != NULL)
            event_del(cl->start_timer);
        if (cl->ops->on_started != NULL)
            cl->ops->on_started(cl, cl->arg);
    } else if (level != NULL && strcmp(level, "error") == 0) {
        client_fail(cl, LS_EPROTO, "%s", code);
    } else if (strcmp(code, "NetStream.Play.Stop") == 0 && cl->phase == CL_STARTED) {
        client_fail(cl, LS_OK, "%s", code);
    }
}

static void client_on_message(struct ls_conn *c, void *owner, struct ls_frame *msg)
{
    struct ls_client *cl = owner;
    struct ls_command cmd;
    const char *why = NULL;

    (void)c;
    cl->heard_ms = ls_now_ms(); /* anything — media, a reply, a ping answer — is life */
    switch (msg->type) {
    case LS_MSG_AUDIO:
    case LS_MSG_VIDEO:
    case LS_MSG_DATA_AMF0:
    case LS_MSG_DATA_AMF3:
    case LS_MSG_AGGREGATE:
        if (cl->phase == CL_STARTED && msg->stream_id == cl->stream_id &&
            cl->ops->on_media != NULL)
            cl->ops->on_media(cl, cl->arg, msg);
        return;
    case LS_MSG_COMMAND_AMF0:
    case LS_MSG_COMMAND_AMF3:
        break;
    default:
        return;
    }
    if (ls_command_decode(msg->data, msg->len, msg->type == LS_MSG_COMMAND_AMF3,
                          &ls_amf_default_limits, &cmd, &why) < 0) {
        client_fail(cl, LS_EPROTO, "bad command from server: %s", why);
        return;
    }
    if (strcmp(cmd.name, "_result") == 0) {
        client_on_result(cl, &cmd);
    } else if (strcmp(cmd.name, "_error") == 0) {
        const struct ls_amf_value *info = cmd.nargs >= 1 ? &cmd.args[0] : NULL;
        const char *code = info != NULL ? ls_amf_get_string(info, "code") : NULL;

        if (cl->phase != CL_STARTED && cmd.transaction_id >= 1 && cmd.transaction_id <= 2)
            client_fail(cl, LS_EPROTO, "%s", code != NULL ? code : "_error");
    } else if (strcmp(cmd.name, "onStatus") == 0) {
        client_on_status(cl, &cmd);
    }
    /* onBWDone, onFCPublish, |RtmpSampleAccess …: nothing to do */
    ls_command_free(&cmd);
}

/* Everything ls_client_start allocates but the connection. */
static void client_free(struct ls_client *cl)
{
    if (cl->start_timer != NULL)
        event_free(cl->start_timer);
    if (cl->watch_timer != NULL)
        event_free(cl->watch_timer);
    free(cl->tc_url);
    free(cl->app);
    free(cl->name);
    free(cl);
}

static void client_on_close(struct ls_conn *c, void *owner, int err, const char *why)
{
    struct ls_client *cl = owner;

    (void)c;
    if (cl->ops->on_close != NULL)
        cl->ops->on_close(cl, cl->arg, err, why);
    client_free(cl);
}

static const struct ls_conn_ops client_conn_ops = {
    .on_ready = client_on_ready,
    .on_message = client_on_message,
    .on_close = client_on_close,
};

static void client_start_timeout(evutil_socket_t fd, short what, void *arg)
{
    struct ls_client *cl = arg;

    (void)fd;
    (void)what;
    if (cl->phase != CL_STARTED)
        ls_conn_close(cl->conn, LS_ELIMIT, "start timeout");
}

struct ls_client *ls_client_start(struct event_base *base, const struct sockaddr *sa,
                                  socklen_t salen, enum ls_client_mode mode, const char *tc_url,
                                  const char *app, const char *name,
                                  const struct ls_client_config *cfg,
                                  const struct ls_client_ops *ops, void *arg)
{
    struct ls_client *cl = calloc(1, sizeof *cl);
    struct timeval tv;
    int fd;

    if (cl == NULL)
        return NULL;
    cl->cfg = *cfg;
    cl->ops = ops;
    cl->arg = arg;
    cl->mode = mode;
    cl->tc_url = strdup(tc_url);
    cl->app = strdup(app);
    cl->name = strdup(name);
    cl->start_timer = evtimer_new(base, client_start_timeout, cl);
    if (cfg->silence_timeout_ms != 0)
        cl->watch_timer = event_new(base, -1, EV_PERSIST, client_watch_cb, cl);
    fd = ls_net_connect(sa, salen);
    if (cl->tc_url == NULL || cl->app == NULL || cl->name == NULL || cl->start_timer == NULL ||
        (cfg->silence_timeout_ms != 0 && cl->watch_timer == NULL) || fd == -1) {
        if (fd != -1)
            close(fd);
        client_free(cl);
        return NULL;
    }
    ls_net_set_dead_peer_timeout(fd, cfg->silence_timeout_ms);
    cl->conn = ls_conn_new(base, fd, LS_HS_CLIENT, &cl->cfg.conn, &client_conn_ops, cl);
    if (cl->conn == NULL) {
        client_free(cl);
        return NULL;
    }
    tv.tv_sec = cfg->start_timeout_ms / 1000;
    tv.tv_usec = (cfg->start_timeout_ms % 1000) * 1000;
    evtimer_add(cl->start_timer, &tv);
    /* The caller has not seen `cl` yet: a failed start closes on the next loop turn, where
     * on_close reports it like any other failed connection (closing now would free `cl`
     * before it is returned). */
    if (ls_conn_start(cl->conn) != LS_OK)
        ls_conn_close_later(cl->conn, LS_EIO, "cannot start connection", false);
    return cl;
}

void ls_client_close(struct ls_client *cl, const char *why)
{
    ls_conn_close(cl->conn, LS_OK, why);
}

void ls_client_unpublish(struct ls_client *cl, const char *why)
{
    struct ls_buf b;

    if (cl->mode != LS_CLIENT_PUBLISH || cl->phase != CL_STARTED) {
        ls_conn_close(cl->conn, LS_OK, why);
        return;
    }
    ls_buf_init(&b, 0);
    client_send_named(cl, &b, "FCUnpublish", 5);
    ls_command_build_delete_stream(&b, 6, cl->stream_id);
    client_send_command(cl, 0, &b);
    ls_buf_free(&b);
    ls_conn_close_after_flush(cl->conn, LS_OK, why); /* on_close runs later, never here */
}

uint32_t ls_client_stream_id(const struct ls_client *cl)
{
    return cl->stream_id;
}

int ls_client_send(struct ls_client *cl, const struct ls_frame *msg)
{
    uint32_t csid = msg->type == LS_MSG_AUDIO ? LS_CSID_AUDIO
                    : msg->type == LS_MSG_VIDEO ? LS_CSID_VIDEO : LS_CSID_DATA;
    int rc;

    if (cl->phase != CL_STARTED || cl->mode != LS_CLIENT_PUBLISH)
        return LS_ESTATE;
    rc = ls_conn_send(cl->conn, csid, msg->type, msg->timestamp, cl->stream_id, msg->data,
                      msg->len);
    if (rc == LS_OK)
        ls_conn_flush(cl->conn);
    return rc;
}

int ls_client_set_name(struct ls_client *cl, const char *name)
{
    char *copy;

    if (cl->phase > CL_CREATING)
        return LS_ESTATE;
    copy = strdup(name);
    if (copy == NULL)
        return LS_ENOMEM;
    free(cl->name);
    cl->name = copy;
    return LS_OK;
}

bool ls_client_started(const struct ls_client *cl)
{
    return cl->phase == CL_STARTED;
}

bool ls_client_timed_out(const struct ls_client *cl)
{
    return cl->timed_out;
}

struct ls_conn *ls_client_conn(struct ls_client *cl)
{
    return cl->conn;
}
