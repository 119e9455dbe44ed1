/*
 * regpeer.c — a scripted registry peer (see regpeer.h). Layer: a test client above
 * libstream's connection (conn.h, client role) and the registry codec (smdproto.h).
 */
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <event2/listener.h>

#include "libstream/buf.h"
#include "libstream/conn.h"
#include "libstream/control.h"
#include "libstream/net.h"
#include "libstream/rtmp.h"
#include "libstream/smdlink.h"
#include "libstream/smdreport.h"
#include "support/regpeer.h"

static void regpeer_on_ready(struct ls_conn *c, void *owner)
{
    struct regpeer *p = owner;
    struct ls_buf b;

    /* our chunk size is the registry's (4096): say so before the first message */
    ls_buf_init(&b, 0);
    ls_control_write_set_chunk_size(&b, ls_conn_out_chunk_size(c));
    if (ls_conn_send_buf(c, &b) != LS_OK)
        p->bad_input = true;
    ls_buf_free(&b);
    p->ready = true;
    if (p->listening) {
        /* we are the smd: challenge the spd as smd/registry.c does */
        struct ls_smd_msg m;

        snprintf(p->nonce, sizeof p->nonce, "0123456789abcdef0123456789abcdef");
        snprintf(p->smd_node, sizeof p->smd_node, "fake-smd");
        ls_smd_msg_init(&m, LS_SMD_CHALLENGE, 0);
        ls_smd_set_str(&m, LS_SMD_F_NONCE, p->nonce);
        ls_smd_set_str(&m, LS_SMD_F_NODE_ID, p->smd_node);
        ls_smd_set_str(&m, LS_SMD_F_VERSION, LS_SMD_VERSION);
        if (ls_smdlink_send(c, &m) != LS_OK)
            p->bad_input = true;
        p->challenged = true;
    }
}

static void regpeer_answer_probe(struct regpeer *p, const struct ls_smd_msg *probe)
{
    struct ls_smd_msg r;

    if (p->probe_mode == REGPEER_MUTE)
        return;
    if (p->probe_mode == REGPEER_NONE) {
        ls_smd_msg_init(&r, LS_SMD_ERROR, probe->txid);
        ls_smd_set_str(&r, LS_SMD_F_CODE, LS_SMD_CODE_NOT_FOUND);
    } else {
        ls_smd_msg_init(&r, LS_SMD_RESULT, probe->txid);
        ls_smd_set_num(&r, LS_SMD_F_IDLE_MS, p->probe_idle_ms);
    }
    (void)regpeer_send(p, &r);
}

static void regpeer_on_message(struct ls_conn *c, void *owner, struct ls_frame *f)
{
    struct regpeer *p = owner;
    struct ls_smd_msg m;

    (void)c;
    if (f->type == LS_MSG_USER_CONTROL)
        return;
    if (f->type == LS_MSG_COMMAND_AMF0 && ls_smd_report_is(f->data, f->len)) {
        struct ls_smd_report r;

        /* a node's report (we play the smd): kept as counts and the last body */
        if (ls_smd_report_decode(f->data, f->len, &r, NULL) < 0) {
            p->bad_input = true;
            return;
        }
        p->reports++;
        p->reports_full += r.full;
        snprintf(p->last_report, sizeof p->last_report, "%s", r.body);
        ls_smd_report_clear(&r);
        return;
    }
    if (ls_smd_decode_frame(f, &m, NULL) != LS_OK) {
        p->bad_input = true;
        return;
    }
    if (m.kind == LS_SMD_CHALLENGE && !p->listening) {
        snprintf(p->nonce, sizeof p->nonce, "%s", m.nonce);
        snprintf(p->smd_node, sizeof p->smd_node, "%s", m.node_id);
        p->challenged = true;
        return;
    }
    if (p->nin == REGPEER_INBOX)
        p->overflow = true;
    else
        p->in[p->nin++] = m;
    if (m.kind == LS_SMD_PROBE)
        regpeer_answer_probe(p, &m);
}

static void regpeer_on_close(struct ls_conn *c, void *owner, int err, const char *why)
{
    struct regpeer *p = owner;

    (void)c;
    (void)why;
    p->conn = NULL;
    p->closed = true;
    p->close_err = err;
}

static const struct ls_conn_ops regpeer_ops = {
    .on_ready = regpeer_on_ready,
    .on_message = regpeer_on_message,
    .on_close = regpeer_on_close,
};

int regpeer_open(struct regpeer *p, struct event_base *base, const char *hostport,
                 const char *node_id, const char *advertise)
{
    struct ls_conn_config cfg;
    struct sockaddr_storage ss;
    socklen_t len;
    int fd, rc;

    memset(p, 0, sizeof *p);
    p->base = base;
    snprintf(p->node_id, sizeof p->node_id, "%s", node_id);
    snprintf(p->advertise, sizeof p->advertise, "%s", advertise);
    rc = ls_net_resolve(hostport, false, &ss, &len);
    if (rc != LS_OK)
        return rc;
    fd = ls_net_connect((struct sockaddr *)&ss, len);
    if (fd == -1)
        return LS_EIO;
    ls_smdlink_conn_config(&cfg);
    p->conn = ls_conn_new(base, fd, LS_HS_CLIENT, &cfg, &regpeer_ops, p);
    if (p->conn == NULL)
        return LS_ENOMEM;
    rc = ls_conn_start(p->conn);
    if (rc != LS_OK) {
        ls_conn_close(p->conn, rc, "cannot start");
        return rc;
    }
    return LS_OK;
}

static void regpeer_accept(struct evconnlistener *l, evutil_socket_t fd, struct sockaddr *sa,
                           int salen, void *arg)
{
    struct regpeer *p = arg;
    struct ls_conn_config cfg;

    (void)sa;
    (void)salen;
    /* one connection per peer: the listener's job is done */
    evconnlistener_free(l);
    p->listener = NULL;
    ls_smdlink_server_conn_config(&cfg); /* we are the smd: reports may come */
    p->conn = ls_conn_new(p->base, fd, LS_HS_SERVER, &cfg, &regpeer_ops, p);
    if (p->conn != NULL && ls_conn_start(p->conn) != LS_OK)
        ls_conn_close(p->conn, LS_EIO, "cannot start");
}

int regpeer_listen(struct regpeer *p, struct event_base *base, const char *hostport)
{
    struct sockaddr_storage ss;
    socklen_t len;
    int fd, rc;

    memset(p, 0, sizeof *p);
    p->base = base;
    p->listening = true;
    rc = ls_net_resolve(hostport, true, &ss, &len);
    if (rc != LS_OK)
        return rc;
    fd = ls_net_listen((struct sockaddr *)&ss, len, 4);
    if (fd == -1)
        return LS_EIO;
    p->listener = evconnlistener_new(base, regpeer_accept, p,
                                     LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC, -1, fd);
    if (p->listener == NULL) {
        close(fd);
        return LS_ENOMEM;
    }
    return LS_OK;
}

void regpeer_close(struct regpeer *p)
{
    if (p->listener != NULL) {
        evconnlistener_free(p->listener);
        p->listener = NULL;
    }
    if (p->conn != NULL)
        ls_conn_close(p->conn, LS_OK, "test peer closes");
}

static bool regpeer_is_request(enum ls_smd_kind kind)
{
    return kind != LS_SMD_RESULT && kind != LS_SMD_ERROR && kind != LS_SMD_REVOKED &&
           kind != LS_SMD_REGISTERED && kind != LS_SMD_RESYNC;
}

uint32_t regpeer_send(struct regpeer *p, struct ls_smd_msg *m)
{
    if (p->conn == NULL)
        return 0;
    if (m->txid == 0 && regpeer_is_request(m->kind)) {
        if (++p->next_txid == 0)
            p->next_txid = 1;
        m->txid = p->next_txid;
    }
    if (ls_smdlink_send(p->conn, m) != LS_OK)
        return 0;
    ls_conn_flush(p->conn);
    return m->txid;
}

int regpeer_send_raw(struct regpeer *p, const uint8_t *payload, size_t len)
{
    int rc;

    if (p->conn == NULL)
        return LS_ESTATE;
    rc = ls_conn_send(p->conn, 3, LS_MSG_COMMAND_AMF0, 0, 0, payload, len);
    if (rc == LS_OK)
        ls_conn_flush(p->conn);
    return rc;
}

uint32_t regpeer_hello_for(struct regpeer *p, const char *secret, uint64_t ts,
                           const char *nonce, const char *smd_node)
{
    struct ls_smd_msg m;

    ls_smd_msg_init(&m, LS_SMD_HELLO, 0);
    ls_smd_set_str(&m, LS_SMD_F_NODE_ID, p->node_id);
    ls_smd_set_str(&m, LS_SMD_F_ORIGIN, p->advertise);
    ls_smd_set_num(&m, LS_SMD_F_TS, ts);
    ls_smd_set_str(&m, LS_SMD_F_VERSION, p->version[0] != '\0' ? p->version : LS_SMD_VERSION);
    if (p->role[0] != '\0')
        ls_smd_set_str(&m, LS_SMD_F_ROLE, p->role);
    if (nonce[0] != '\0')
        ls_smd_set_str(&m, LS_SMD_F_NONCE, nonce);
    if (ls_smd_hello_sign(secret, p->node_id, p->advertise, ts, nonce, smd_node, m.sig) ==
        LS_OK)
        m.fields |= LS_SMD_F_SIG;
    return regpeer_send(p, &m);
}

uint32_t regpeer_hello(struct regpeer *p, const char *secret, uint64_t ts)
{
    return regpeer_hello_for(p, secret, ts, p->nonce, p->smd_node);
}

uint32_t regpeer_register(struct regpeer *p, const char *id, uint64_t takeover_idle_ms,
                          uint64_t since, bool reannounce)
{
    struct ls_smd_msg m;

    ls_smd_msg_init(&m, LS_SMD_REGISTER, 0);
    ls_smd_set_str(&m, LS_SMD_F_ID, id);
    ls_smd_set_num(&m, LS_SMD_F_TAKEOVER_IDLE_MS, takeover_idle_ms);
    if (since != 0)
        ls_smd_set_num(&m, LS_SMD_F_SINCE, since);
    if (reannounce) {
        m.reannounce = true;
        m.fields |= LS_SMD_F_REANNOUNCE;
    }
    return regpeer_send(p, &m);
}

uint32_t regpeer_request(struct regpeer *p, enum ls_smd_kind kind, const char *id,
                         uint64_t generation)
{
    struct ls_smd_msg m;

    ls_smd_msg_init(&m, kind, 0);
    if (id != NULL)
        ls_smd_set_str(&m, LS_SMD_F_ID, id);
    if (kind == LS_SMD_UNREGISTER)
        ls_smd_set_num(&m, LS_SMD_F_GENERATION, generation);
    return regpeer_send(p, &m);
}

static bool regpeer_match(const struct ls_smd_msg *m, enum ls_smd_kind kind, uint32_t txid,
                          const char *id)
{
    if (kind == LS_SMD_UNKNOWN ? m->kind != LS_SMD_RESULT && m->kind != LS_SMD_ERROR
                               : m->kind != kind)
        return false;
    if (txid != 0 && m->txid != txid)
        return false;
    return id == NULL || strcmp(m->id, id) == 0;
}

bool regpeer_has(const struct regpeer *p, enum ls_smd_kind kind, uint32_t txid,
                 const char *id)
{
    size_t i;

    for (i = 0; i < p->nin; i++)
        if (regpeer_match(&p->in[i], kind, txid, id))
            return true;
    return false;
}

bool regpeer_take(struct regpeer *p, enum ls_smd_kind kind, uint32_t txid, const char *id,
                  struct ls_smd_msg *out)
{
    size_t i;

    for (i = 0; i < p->nin; i++) {
        if (!regpeer_match(&p->in[i], kind, txid, id))
            continue;
        if (out != NULL)
            *out = p->in[i];
        memmove(&p->in[i], &p->in[i + 1], (p->nin - i - 1) * sizeof p->in[0]);
        p->nin--;
        return true;
    }
    return false;
}

int regpeer_report(struct regpeer *p, bool full, bool more, const char *body)
{
    struct ls_buf b;
    int rc;

    ls_buf_init(&b, 0);
    rc = ls_smd_report_encode(&b, full, more, body, strlen(body));
    if (rc == LS_OK)
        rc = regpeer_send_raw(p, b.data, b.len);
    ls_buf_free(&b);
    return rc;
}
