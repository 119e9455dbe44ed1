/*
 * reglink.c — one registry session with one smd, from a node's side (see reglink.h;
 * docs/protocol.md). Layer: roles' tools, above the connection (conn.h, client role), the
 * registry codecs (smdproto.h, smdreport.h) and the DNS resolver; below spd's registry
 * client (claims, lookups, watches) and epd's reports.
 *
 * Requests are found by txid in a hash table and kept in deadline order, so the tick
 * looks at the first one only; requests share one timeout except pings (lease/3), so an
 * insertion walks past a ping or two at most.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "libstream/buf.h"
#include "libstream/clock.h"
#include "libstream/conn.h"
#include "libstream/control.h"
#include "libstream/log.h"
#include "libstream/net.h"
#include "libstream/reglink.h"
#include "libstream/reporter.h"
#include "libstream/resolver.h"
#include "libstream/rtmp.h"
#include "libstream/smdlink.h"

#define LINK_BACKOFF_MIN_MS 500u
#define LINK_BACKOFF_MAX_MS 5000u
#define LINK_TICK_MS 250u
#define LINK_DEFAULT_LEASE_MS 10000u
/* journald fields of a link's log lines: the smd it talks to is the peer */
#define LINK_CTX(l) LS_LOG_CTX(NULL, (l)->name)

enum link_state { L_DOWN, L_CONNECTING, L_CHALLENGE, L_HELLO, L_UP };

TAILQ_HEAD(reglink_reqq, ls_reglink_req);

struct ls_reglink {
    struct event_base *base;
    struct ls_reglink_config cfg;
    struct ls_reglink_ops ops;
    struct ls_reglink_counters spare;  /* cfg.counters when the owner gave none */
    struct ls_conn_config conn_cfg;
    struct ls_addr addr;
    char name[LS_ADDR_STRLEN];
    enum link_state state;
    struct ls_conn *conn;
    struct ls_resolve *dns;     /* the smd's address being looked up (then connecting) */
    struct event *retry;
    struct event *tick;
    struct event *report_timer;
    struct ls_report_peer *report; /* UP and reporting */
    unsigned backoff_ms;
    bool failing;               /* a failure was logged; quiet until it recovers */
    bool removed;               /* ls_reglink_remove: freed when closed */
    bool freeing;               /* ls_reglink_free: no reconnect */
    bool kill;                  /* a close is on its way: nothing more is sent */
    uint32_t next_txid;
    uint64_t lease_ms;
    uint64_t last_ping_ms;
    uint64_t challenge_deadline_ms;
    char smd_node[LS_SMD_NODE_ID_MAX + 1];
    struct reglink_reqq reqs;
    struct ls_strmap reqs_by_txid;
};

static const struct ls_conn_ops link_conn_ops;
static void link_connect(struct ls_reglink *l);

/* ---- deferred flush and close ---- */

void ls_reglink_kill(struct ls_reglink *l, const char *why)
{
    if (l->kill || l->conn == NULL)
        return;
    l->kill = true;
    ls_conn_close_later(l->conn, LS_EIO, why, false);
}

static void link_want_flush(struct ls_reglink *l)
{
    if (!l->kill && l->conn != NULL)
        ls_conn_flush_later(l->conn);
}

/* ---- sending ---- */

static uint32_t link_txid(struct ls_reglink *l)
{
    if (++l->next_txid == 0)
        l->next_txid = 1;
    return l->next_txid;
}

int ls_reglink_send(struct ls_reglink *l, const struct ls_smd_msg *m)
{
    int rc;

    if (l->conn == NULL || l->kill)
        return LS_ESTATE;
    rc = ls_smdlink_send(l->conn, m);
    if (rc != LS_OK) {
        ls_log_ctx(LS_LOG_ERR, LINK_CTX(l), "registry: smd %s: cannot queue %s: %s", l->name,
                   ls_smd_kind_name(m->kind), ls_strerror(rc));
        ls_reglink_kill(l, "cannot queue a message");
        return rc;
    }
    link_want_flush(l);
    return LS_OK;
}

struct ls_reglink_req *ls_reglink_request(struct ls_reglink *l, struct ls_smd_msg *m,
                                          uint64_t timeout_ms)
{
    struct ls_reglink_req *q = calloc(1, sizeof *q), *before;
    uint32_t txid;

    if (q == NULL)
        return NULL;
    txid = link_txid(l);
    m->txid = txid;
    snprintf(q->_txkey, sizeof q->_txkey, "%u", (unsigned)txid);
    q->_by_txid.key = q->_txkey;
    if (ls_strmap_find(&l->reqs_by_txid, q->_txkey) != NULL || /* 2^32 requests out: never */
        ls_strmap_insert(&l->reqs_by_txid, &q->_by_txid) != LS_OK) {
        free(q);
        return NULL;
    }
    if (ls_reglink_send(l, m) != LS_OK) {
        ls_strmap_remove(&l->reqs_by_txid, &q->_by_txid);
        free(q);
        return NULL;
    }
    q->kind = m->kind;
    q->_deadline_ms = ls_now_ms() + timeout_ms;
    if (m->fields & LS_SMD_F_ID)
        memcpy(q->id, m->id, sizeof q->id);
    for (before = TAILQ_LAST(&l->reqs, reglink_reqq);
         before != NULL && before->_deadline_ms > q->_deadline_ms;
         before = TAILQ_PREV(before, reglink_reqq, _link))
        ;
    if (before != NULL)
        TAILQ_INSERT_AFTER(&l->reqs, before, q, _link);
    else
        TAILQ_INSERT_HEAD(&l->reqs, q, _link);
    return q;
}

static void link_forget_request(struct ls_reglink *l, struct ls_reglink_req *q)
{
    TAILQ_REMOVE(&l->reqs, q, _link);
    ls_strmap_remove(&l->reqs_by_txid, &q->_by_txid);
}

/* The owner hears of a request's end; hello and ping are the link's own. */
static void link_answered(struct ls_reglink *l, struct ls_reglink_req *q,
                          const struct ls_smd_msg *m)
{
    if (q->kind != LS_SMD_HELLO && q->kind != LS_SMD_PING && l->ops.answer != NULL)
        l->ops.answer(l, l->cfg.arg, q, m);
    free(q);
}

/* Every request fails (the session is closing). */
static void link_fail_requests(struct ls_reglink *l)
{
    struct ls_reglink_req *q;

    while ((q = TAILQ_FIRST(&l->reqs)) != NULL) {
        link_forget_request(l, q);
        link_answered(l, q, NULL);
    }
}

/* ---- reports ---- */

static int link_send_report(void *arg, const uint8_t *p, size_t len)
{
    struct ls_reglink *l = arg;
    int rc;

    if (l->conn == NULL || l->kill)
        return LS_ESTATE;
    rc = ls_conn_send(l->conn, LS_CSID_COMMAND, LS_MSG_COMMAND_AMF0, 0, 0, p, len);
    if (rc != LS_OK) {
        ls_log_ctx(LS_LOG_ERR, LINK_CTX(l), "registry: smd %s: cannot queue a report: %s", l->name,
                   ls_strerror(rc));
        ls_reglink_kill(l, "cannot queue a report");
        return rc;
    }
    l->cfg.counters->reports++;
    link_want_flush(l);
    return LS_OK;
}

static void link_report(struct ls_reglink *l)
{
    int rc;

    if (l->report == NULL || l->state != L_UP || l->kill)
        return;
    rc = ls_report_peer_send(l->report, link_send_report, l);
    if (rc != LS_OK) /* a queueing failure closed the link; else the next report is full */
        ls_log_ctx(LS_LOG_WARNING, LINK_CTX(l), "registry: smd %s: report not sent: %s", l->name,
                   ls_strerror(rc));
}

static void link_report_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    link_report(arg);
}

/* The smd asks for reports every report_ms: the first one (full) goes now. */
static void link_report_start(struct ls_reglink *l, const struct ls_smd_msg *answer)
{
    struct timeval tv;

    if (l->cfg.reporter == NULL || (answer->fields & LS_SMD_F_REPORT_MS) == 0)
        return; /* an smd of version 2 knows no reports */
    l->report = ls_report_peer_new(l->cfg.reporter);
    if (l->report == NULL) {
        ls_log_ctx(LS_LOG_ERR, LINK_CTX(l), "registry: smd %s: out of memory: no reports", l->name);
        return;
    }
    tv.tv_sec = (time_t)(answer->report_ms / 1000);
    tv.tv_usec = (suseconds_t)(answer->report_ms % 1000) * 1000;
    event_del(l->report_timer);
    event_add(l->report_timer, &tv);
    link_report(l);
}

static void link_report_stop(struct ls_reglink *l)
{
    event_del(l->report_timer);
    ls_report_peer_free(l->report);
    l->report = NULL;
}

/* ---- input ---- */

static void link_up(struct ls_reglink *l, const struct ls_smd_msg *m)
{
    l->state = L_UP;
    l->backoff_ms = LINK_BACKOFF_MIN_MS;
    l->lease_ms = (m->fields & LS_SMD_F_LEASE_SECONDS) ? m->lease_seconds * 1000
                                                        : LINK_DEFAULT_LEASE_MS;
    l->last_ping_ms = ls_now_ms();
    snprintf(l->smd_node, sizeof l->smd_node, "%s",
             (m->fields & LS_SMD_F_NODE_ID) ? m->node_id : "?");
    l->cfg.counters->connects++;
    ls_log_ctx(l->failing ? LS_LOG_NOTICE : LS_LOG_INFO, LINK_CTX(l),
               "registry: smd %s (%s) %s; lease %llus%s", l->name, l->smd_node,
               l->failing ? "reachable again" : "connected",
               (unsigned long long)(l->lease_ms / 1000),
               l->cfg.reporter == NULL ? ""
               : (m->fields & LS_SMD_F_REPORT_MS) ? "; reporting"
                                                  : "; it takes no reports (an smd of version 2?)");
    l->failing = false;
    if (l->ops.up != NULL)
        l->ops.up(l, l->cfg.arg, m);
    link_report_start(l, m);
}

static void on_answer(struct ls_reglink *l, const struct ls_smd_msg *m)
{
    struct ls_reglink_req *q;
    struct ls_strmap_node *n;
    char key[12];

    snprintf(key, sizeof key, "%u", (unsigned)m->txid);
    n = ls_strmap_find(&l->reqs_by_txid, key);
    if (n == NULL) {
        ls_log_ctx(LS_LOG_DEBUG, LINK_CTX(l),
                   "registry: smd %s: answer to no pending request", l->name);
        return;
    }
    q = LS_STRMAP_ENTRY(n, struct ls_reglink_req, _by_txid);
    link_forget_request(l, q);
    if (q->kind == LS_SMD_HELLO) {
        if (m->kind == LS_SMD_RESULT) {
            link_up(l, m);
        } else {
            l->cfg.counters->hello_refusals++;
            if (!l->failing)
                ls_log_ctx(LS_LOG_WARNING, LINK_CTX(l),
                           "registry: smd %s refused our hello: %s%s%s (check "
                           "cluster_secret and clocks)", l->name, m->code,
                           (m->fields & LS_SMD_F_DESCRIPTION) ? ": " : "",
                           (m->fields & LS_SMD_F_DESCRIPTION) ? m->description : "");
            l->failing = true;
            ls_reglink_kill(l, "hello refused");
        }
    }
    link_answered(l, q, m);
}

/* The smd's challenge: hello, signed for this connection (its nonce) and that smd. */
static void on_challenge(struct ls_reglink *l, const struct ls_smd_msg *ch)
{
    const struct ls_reglink_identity *id = l->cfg.identity;
    struct ls_smd_msg m;
    uint64_t ts = (uint64_t)ls_unix_time();

    ls_smd_msg_init(&m, LS_SMD_HELLO, 0);
    ls_smd_set_str(&m, LS_SMD_F_NODE_ID, id->node_id);
    ls_smd_set_str(&m, LS_SMD_F_ORIGIN, id->advertise);
    ls_smd_set_num(&m, LS_SMD_F_TS, ts);
    ls_smd_set_str(&m, LS_SMD_F_VERSION, LS_SMD_VERSION);
    ls_smd_set_str(&m, LS_SMD_F_NONCE, ch->nonce);
    ls_smd_set_str(&m, LS_SMD_F_ROLE, id->role);
    if (ls_smd_hello_sign(id->secret, id->node_id, id->advertise, ts, ch->nonce, ch->node_id,
                          m.sig) == LS_OK)
        m.fields |= LS_SMD_F_SIG;
    l->state = L_HELLO;
    if (ls_reglink_request(l, &m, LS_REGLINK_REQUEST_TIMEOUT_MS) == NULL)
        ls_reglink_kill(l, "cannot send hello");
}

static void link_on_message(struct ls_conn *c, void *owner, struct ls_frame *msg)
{
    struct ls_reglink *l = owner;
    struct ls_smd_msg m;
    const char *why = "malformed message";

    (void)c;
    if (l->kill || msg->type == LS_MSG_USER_CONTROL)
        return;
    if (ls_smd_decode_frame(msg, &m, &why) != LS_OK) {
        ls_log_ctx(LS_LOG_WARNING, LINK_CTX(l),
                   "registry: smd %s sent a bad message: %s; reconnecting", l->name,
                   why);
        ls_reglink_kill(l, "protocol error");
        return;
    }
    if (l->state == L_CHALLENGE && m.kind == LS_SMD_CHALLENGE) {
        on_challenge(l, &m);
        return;
    }
    if (l->state != L_UP && !(l->state == L_HELLO &&
                              (m.kind == LS_SMD_RESULT || m.kind == LS_SMD_ERROR))) {
        if (!l->failing)
            ls_log_ctx(LS_LOG_WARNING, LINK_CTX(l),
                       "registry: smd %s sent %s %s; reconnecting", l->name,
                       ls_smd_kind_name(m.kind),
                       l->state == L_CHALLENGE ? "before its challenge"
                                               : "before the hello answer");
        ls_reglink_kill(l, "message out of order");
        return;
    }
    switch (m.kind) {
    case LS_SMD_RESULT:
    case LS_SMD_ERROR:
        on_answer(l, &m);
        break;
    case LS_SMD_RESYNC:
        /* the smd dropped a report (too fast) or lost track: everything again */
        if (l->report != NULL)
            ls_report_peer_resync(l->report);
        break;
    case LS_SMD_PROBE:
    case LS_SMD_REVOKED:
    case LS_SMD_REGISTERED:
        if (l->ops.message != NULL) {
            l->ops.message(l, l->cfg.arg, &m);
        } else if (m.kind == LS_SMD_PROBE) {
            struct ls_smd_msg r;

            ls_smd_msg_init(&r, LS_SMD_ERROR, m.txid);
            ls_smd_set_str(&r, LS_SMD_F_CODE, LS_SMD_CODE_NOT_FOUND);
            (void)ls_reglink_send(l, &r);
        }
        break;
    default: {
        struct ls_smd_msg r;

        if (m.txid == 0)
            break;
        ls_smd_msg_init(&r, LS_SMD_ERROR, m.txid);
        ls_smd_set_str(&r, LS_SMD_F_CODE, LS_SMD_CODE_UNSUPPORTED);
        (void)ls_reglink_send(l, &r);
        break;
    }
    }
}

/* The handshake is done: our chunk size; the hello waits for the smd's challenge. */
static void link_on_ready(struct ls_conn *c, void *owner)
{
    struct ls_reglink *l = owner;
    struct ls_buf b;

    ls_buf_init(&b, 0);
    ls_control_write_set_chunk_size(&b, ls_conn_out_chunk_size(c));
    if (ls_conn_send_buf(c, &b) != LS_OK) {
        ls_buf_free(&b);
        ls_reglink_kill(l, "out of memory");
        return;
    }
    ls_buf_free(&b);
    link_want_flush(l);
    l->state = L_CHALLENGE;
    l->challenge_deadline_ms = ls_now_ms() + LS_REGLINK_REQUEST_TIMEOUT_MS;
}

/* ---- connecting and closing ---- */

static void link_free_now(struct ls_reglink *l)
{
    ls_resolve_cancel(l->dns);
    link_report_stop(l);
    event_free(l->retry);
    event_free(l->tick);
    event_free(l->report_timer);
    ls_strmap_free(&l->reqs_by_txid); /* empty: every request failed with the session */
    free(l);
}

static void link_retry_later(struct ls_reglink *l)
{
    struct timeval tv;

    tv.tv_sec = l->backoff_ms / 1000;
    tv.tv_usec = (suseconds_t)(l->backoff_ms % 1000) * 1000;
    evtimer_add(l->retry, &tv);
    l->backoff_ms = l->backoff_ms * 2 > LINK_BACKOFF_MAX_MS ? LINK_BACKOFF_MAX_MS
                                                           : l->backoff_ms * 2;
}

static void link_on_close(struct ls_conn *c, void *owner, int err, const char *why)
{
    struct ls_reglink *l = owner;
    bool was_up = l->state == L_UP;

    (void)c;
    (void)err;
    l->conn = NULL;
    l->kill = false;
    l->state = L_DOWN;
    link_report_stop(l);
    /* the smd dropped what we registered with the session: the owner starts over */
    if (l->ops.down != NULL)
        l->ops.down(l, l->cfg.arg);
    link_fail_requests(l);
    if (l->freeing)
        return;
    if (l->removed) {
        if (l->ops.removed != NULL)
            l->ops.removed(l, l->cfg.arg);
        link_free_now(l);
        return;
    }
    if (was_up || !l->failing) {
        l->cfg.counters->connect_failures += was_up ? 0 : 1;
        ls_log_ctx(LS_LOG_WARNING, LINK_CTX(l), "registry: smd %s %s: %s; retrying%s", l->name,
                   was_up ? "lost" : "unreachable", why != NULL ? why : "closed",
                   strcmp(l->cfg.identity->role, "spd") == 0 ? " (claims go on without it)" : "");
        l->failing = true;
    } else {
        l->cfg.counters->connect_failures++;
        ls_log_ctx(LS_LOG_DEBUG, LINK_CTX(l), "registry: smd %s still unreachable: %s", l->name,
                   why != NULL ? why : "closed");
    }
    link_retry_later(l);
}

static const struct ls_conn_ops link_conn_ops = {
    .on_ready = link_on_ready,
    .on_message = link_on_message,
    .on_close = link_on_close,
};

static void link_retry_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    link_connect(arg);
}

/* Connects to the smd at `sa` (NULL: its name did not resolve); a failure to even start
 * schedules the next attempt. */
static void link_connect_to(struct ls_reglink *l, const struct sockaddr *sa, socklen_t len)
{
    int fd = -1;

    if (sa != NULL)
        fd = ls_net_connect(sa, len);
    if (fd != -1) {
        l->conn = ls_conn_new(l->base, fd, LS_HS_CLIENT, &l->conn_cfg, &link_conn_ops, l);
        if (l->conn != NULL) {
            l->state = L_CONNECTING;
            if (ls_conn_start(l->conn) == LS_OK)
                return;
            ls_conn_close(l->conn, LS_EIO, "cannot start the connection"); /* → on_close */
            return;
        }
    }
    l->cfg.counters->connect_failures++;
    if (!l->failing)
        ls_log_ctx(LS_LOG_WARNING, LINK_CTX(l),
                   "registry: cannot connect to smd %s; retrying", l->name);
    l->failing = true;
    link_retry_later(l);
}

static void link_resolved(void *arg, int result, const struct sockaddr *sa, socklen_t len)
{
    struct ls_reglink *l = arg;

    l->dns = NULL;
    if (result != LS_OK && !l->failing)
        ls_log_ctx(LS_LOG_WARNING, LINK_CTX(l), "registry: smd %s: %s", l->name,
                   result == LS_ELIMIT ? "no DNS answer in time" : "name does not resolve");
    link_connect_to(l, result == LS_OK ? sa : NULL, len);
}

/* The smd's address first, looked up on the loop when it is a name (decision 1: nothing
 * blocks), then connect. */
static void link_connect(struct ls_reglink *l)
{
    struct sockaddr_storage ss;
    socklen_t len;

    if (l->conn != NULL || l->dns != NULL || l->freeing || l->removed ||
        !l->cfg.identity->valid)
        return;
    if (l->cfg.resolver != NULL) {
        l->dns = ls_resolver_resolve(l->cfg.resolver, l->name, link_resolved, l);
        if (l->dns == NULL)
            link_connect_to(l, NULL, 0);
        return;
    }
    if (ls_net_resolve(l->name, false, &ss, &len) == LS_OK)
        link_connect_to(l, (struct sockaddr *)&ss, len);
    else
        link_connect_to(l, NULL, 0);
}

void ls_reglink_start(struct ls_reglink *l)
{
    if (!evtimer_pending(l->retry, NULL))
        link_connect(l);
}

/* ---- the tick: the challenge's deadline, request deadlines, pings ---- */

static void link_tick_cb(evutil_socket_t fd, short what, void *arg)
{
    struct ls_reglink *l = arg;
    struct ls_reglink_req *q;
    uint64_t now = ls_now_ms();

    (void)fd;
    (void)what;
    if (l->conn == NULL || l->kill)
        return;
    if (l->state == L_CHALLENGE && now > l->challenge_deadline_ms) {
        l->cfg.counters->request_timeouts++;
        ls_log_ctx(LS_LOG_WARNING, LINK_CTX(l),
                   "registry: smd %s sent no challenge in time (an smd of "
                   "protocol version 1?); reconnecting", l->name);
        ls_reglink_kill(l, "no challenge");
        return;
    }
    q = TAILQ_FIRST(&l->reqs); /* the earliest deadline */
    if (q != NULL && now > q->_deadline_ms) {
        l->cfg.counters->request_timeouts++;
        ls_log_ctx(LS_LOG_WARNING, LINK_CTX(l),
                   "registry: smd %s did not answer %s in time; reconnecting",
                   l->name, ls_smd_kind_name(q->kind));
        ls_reglink_kill(l, "request timeout");
    }
    if (l->state == L_UP && !l->kill && now - l->last_ping_ms >= l->lease_ms / 3) {
        struct ls_smd_msg m;

        l->last_ping_ms = now;
        ls_smd_msg_init(&m, LS_SMD_PING, 0);
        (void)ls_reglink_request(l, &m, l->lease_ms);
    }
}

/* ---- lifecycle ---- */

struct ls_reglink *ls_reglink_new(struct event_base *base, const struct ls_addr *smd,
                                  const struct ls_reglink_config *cfg)
{
    struct ls_reglink *l = calloc(1, sizeof *l);
    struct timeval tick = { 0, LINK_TICK_MS * 1000 };

    if (l == NULL)
        return NULL;
    l->base = base;
    l->cfg = *cfg;
    if (cfg->ops != NULL)
        l->ops = *cfg->ops;
    if (l->cfg.counters == NULL)
        l->cfg.counters = &l->spare;
    l->addr = *smd;
    l->backoff_ms = LINK_BACKOFF_MIN_MS;
    TAILQ_INIT(&l->reqs);
    ls_smdlink_conn_config(&l->conn_cfg);
    l->retry = evtimer_new(base, link_retry_cb, l);
    l->tick = event_new(base, -1, EV_PERSIST, link_tick_cb, l);
    l->report_timer = event_new(base, -1, EV_PERSIST, link_report_cb, l);
    if (l->retry == NULL || l->tick == NULL || l->report_timer == NULL ||
        ls_addr_format(smd, l->name, sizeof l->name) != LS_OK ||
        ls_strmap_init(&l->reqs_by_txid) != LS_OK || event_add(l->tick, &tick) == -1) {
        if (l->retry != NULL)
            event_free(l->retry);
        if (l->tick != NULL)
            event_free(l->tick);
        if (l->report_timer != NULL)
            event_free(l->report_timer);
        free(l);
        return NULL;
    }
    return l;
}

bool ls_reglink_remove(struct ls_reglink *l)
{
    l->removed = true;
    if (l->conn != NULL) {
        ls_reglink_kill(l, "removed from source_managers");
        return false;
    }
    link_free_now(l);
    return true;
}

void ls_reglink_free(struct ls_reglink *l)
{
    if (l == NULL)
        return;
    l->freeing = true;
    if (l->conn != NULL) {
        ls_conn_flush(l->conn);
        if (l->conn != NULL)
            ls_conn_close(l->conn, LS_OK, "stopping"); /* on_close: no reconnect */
    }
    link_free_now(l);
}

bool ls_reglink_is_up(const struct ls_reglink *l)
{
    return l->state == L_UP;
}

const char *ls_reglink_name(const struct ls_reglink *l)
{
    return l->name;
}

const struct ls_addr *ls_reglink_addr(const struct ls_reglink *l)
{
    return &l->addr;
}

bool ls_reglink_reporting(const struct ls_reglink *l)
{
    return l->state == L_UP && l->report != NULL;
}
