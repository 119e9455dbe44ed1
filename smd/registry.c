/*
 * registry.c — smd's role: the registry sessions and the stream table (docs/protocol.md;
 * docs/architecture.md decision 6). Layer: above libstream's connection (conn.h: RTMP
 * handshake + chunk stream) and the registry protocol codec (smdproto.h).
 *
 * A session goes
 *
 *   accept ─allow? max_connections?─▶ handshake ─▶ HELLO (only `hello` accepted, within
 *   hello_timeout) ─valid signature─▶ READY (register, unregister, lookup, watch,
 *   unwatch, ping; answers to our probes) ─▶ closed: its entries and watches vanish
 *
 * and lives as long as its lease: any input renews it; silence for lease_seconds ends it.
 *
 * The stream table maps id → entry {owner session, generation, since}. Exactly one owner
 * per id. A register of an id held by another node either probes the owner for its
 * publisher's idleness (a fresh claim) or compares publisher start times (a re-announce
 * after a reconnect); the winner gets a new generation, the loser of a takeover is sent
 * `revoked` with the old one. Generations come from one counter seeded with the start
 * time, so they only ever grow — also across a restart of smd — and a message carrying an
 * old generation can always be recognised.
 *
 * Re-entrancy: nothing here closes or flushes another session's connection from inside a
 * callback. Closing and flushing are deferred to the next loop turn (ls_conn_close_later,
 * ls_conn_flush_later), so a failure while notifying watcher N cannot free watcher N+1
 * under our feet.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>
#include <event2/listener.h>

#include "libstream/buf.h"
#include "libstream/clock.h"
#include "libstream/conn.h"
#include "libstream/control.h"
#include "libstream/listener.h"
#include "libstream/log.h"
#include "libstream/net.h"
#include "libstream/nonce.h"
#include "libstream/smdlink.h"
#include "libstream/smdproto.h"
#include "libstream/smdreport.h"
#include "libstream/stats.h"
#include "libstream/strmap.h"
#include "smd.h"

#define SMD_TICK_MS 250
#define SMD_PROBE_ATTEMPTS 3   /* re-decisions after an owner changed under a probe */

_Static_assert(LS_SMD_NONCE_HEX == LS_NONCE_HEX, "the challenge is a nonce.h nonce");

/* ---- state ---- */

struct smd_session;

struct smd_entry {
    struct ls_strmap_node h;     /* in reg->entries, keyed by id */
    char id[LS_STREAM_ID_MAX + 1];
    struct smd_session *owner;
    LIST_ENTRY(smd_entry) by_owner;
    uint64_t generation;
    int64_t since;
};

struct smd_watch;

struct smd_watchers {
    struct ls_strmap_node h;     /* in reg->watchers, keyed by id */
    char id[LS_STREAM_ID_MAX + 1];
    LIST_HEAD(, smd_watch) list;
};

struct smd_watch {
    struct smd_watchers *w;
    struct smd_session *s;
    LIST_ENTRY(smd_watch) by_id;
    LIST_ENTRY(smd_watch) by_session;
};

/* A register waiting for the current owner's answer to `probe`. */
struct smd_probe {
    struct smd_registry *reg;
    char id[LS_STREAM_ID_MAX + 1];
    struct smd_session *requester;
    uint32_t req_txid;
    uint64_t takeover_idle_ms;
    int64_t since;
    unsigned attempts;
    struct smd_session *owner;
    uint32_t txid;          /* of the probe sent to the owner */
    uint64_t owner_gen;     /* the generation the probe is about */
    struct event *timer;
    LIST_ENTRY(smd_probe) by_requester;
    LIST_ENTRY(smd_probe) by_owner;
};

enum session_state { SS_HANDSHAKE, SS_HELLO, SS_READY };

struct smd_session {
    struct smd_registry *reg;
    struct ls_conn *conn;
    TAILQ_ENTRY(smd_session) link;
    enum session_state state;
    uint64_t accepted_ms;
    char peer[64];
    char node_id[LS_SMD_NODE_ID_MAX + 1];
    char advertise[LS_ADDR_STRLEN];
    char nonce[LS_NONCE_HEX + 1]; /* the challenge this connection's hello must sign */
    char role[LS_SMD_ROLE_MAX + 1]; /* "spd" | "epd" (hello; version 2 spd: "spd") */
    struct smd_cnode *cn;  /* READY: what it reports (cluster.c); NULL when memory ran out */
    int64_t since;
    uint32_t next_txid;
    LIST_HEAD(, smd_entry) entries;
    size_t nentries;
    LIST_HEAD(, smd_watch) watches;
    size_t nwatches;
    LIST_HEAD(, smd_probe) probes_in;  /* probes sent to this session (it owns the id) */
    LIST_HEAD(, smd_probe) probes_out; /* this session's registers waiting on a probe */
    bool kill;           /* closing (see the top of the file): nothing more is sent to it */
    bool lease_lapsed;
};

struct smd_registry {
    struct event_base *base;
    const struct smd_conf *conf;
    struct ls_conn_config conn_cfg;
    struct ls_listener *listener;
    struct event *tick;
    TAILQ_HEAD(, smd_session) sessions;
    size_t nsessions;
    size_t nnodes;
    size_t nwatches;
    struct ls_strmap entries;
    struct ls_strmap watchers;
    struct smd_cluster *cluster;
    uint64_t last_generation;
    bool stopping;
    struct smd_counters c;
};

static const struct ls_conn_ops session_ops;

/* ---- deferred close and flush ---- */

/* Closes `s` soon (after its queued output when after_flush). Idempotent. */
static void session_kill(struct smd_session *s, int err, const char *why, bool after_flush)
{
    if (s->kill)
        return;
    s->kill = true;
    ls_conn_close_later(s->conn, err, why, after_flush);
}

static void session_want_flush(struct smd_session *s)
{
    if (!s->kill)
        ls_conn_flush_later(s->conn);
}

/* ---- sending ---- */

static void session_send(struct smd_session *s, const struct ls_smd_msg *m)
{
    int rc;

    if (s->kill)
        return;
    rc = ls_smdlink_send(s->conn, m);
    if (rc != LS_OK) {
        ls_log(LS_LOG_ERR, "%s: cannot queue %s: %s", s->peer, ls_smd_kind_name(m->kind),
               ls_strerror(rc));
        session_kill(s, rc, "cannot queue a message", false);
        return;
    }
    session_want_flush(s);
}

static void reply_error(struct smd_session *s, uint32_t txid, const char *code,
                        const char *description)
{
    struct ls_smd_msg m;

    if (txid == 0)
        return;
    ls_smd_msg_init(&m, LS_SMD_ERROR, txid);
    ls_smd_set_str(&m, LS_SMD_F_CODE, code);
    if (description != NULL)
        ls_smd_set_str(&m, LS_SMD_F_DESCRIPTION, description);
    session_send(s, &m);
}

static const char *session_name(const struct smd_session *s)
{
    return s->state == SS_READY ? s->node_id : "-";
}

/* ---- generations and entries ---- */

static uint64_t next_generation(struct smd_registry *reg)
{
    return ++reg->last_generation;
}

static struct smd_entry *entry_find(const struct smd_registry *reg, const char *id)
{
    struct ls_strmap_node *n = ls_strmap_find(&reg->entries, id);

    return n != NULL ? LS_STRMAP_ENTRY(n, struct smd_entry, h) : NULL;
}

static void entry_attach(struct smd_entry *e, struct smd_session *owner)
{
    e->owner = owner;
    LIST_INSERT_HEAD(&owner->entries, e, by_owner);
    owner->nentries++;
}

static void entry_detach(struct smd_entry *e)
{
    LIST_REMOVE(e, by_owner);
    e->owner->nentries--;
    e->owner = NULL;
}

static void entry_delete(struct smd_registry *reg, struct smd_entry *e)
{
    entry_detach(e);
    ls_strmap_remove(&reg->entries, &e->h);
    free(e);
}

static struct smd_watchers *watchers_find(const struct smd_registry *reg, const char *id)
{
    struct ls_strmap_node *n = ls_strmap_find(&reg->watchers, id);

    return n != NULL ? LS_STRMAP_ENTRY(n, struct smd_watchers, h) : NULL;
}

static void fill_registered(struct ls_smd_msg *m, const struct smd_entry *e)
{
    ls_smd_msg_init(m, LS_SMD_REGISTERED, 0);
    ls_smd_set_str(m, LS_SMD_F_ID, e->id);
    ls_smd_set_str(m, LS_SMD_F_ORIGIN, e->owner->advertise);
    ls_smd_set_str(m, LS_SMD_F_NODE_ID, e->owner->node_id);
    ls_smd_set_num(m, LS_SMD_F_GENERATION, e->generation);
}

/* The id was (re)registered: tell every session watching it. */
static void notify_watchers(struct smd_registry *reg, const struct smd_entry *e)
{
    struct smd_watchers *w = watchers_find(reg, e->id);
    struct smd_watch *wa;
    struct ls_smd_msg m;

    if (w == NULL)
        return;
    fill_registered(&m, e);
    LIST_FOREACH(wa, &w->list, by_id) {
        session_send(wa->s, &m);
        reg->c.notifications_total++;
    }
}

static void reply_registered_ok(struct smd_session *s, uint32_t txid, const struct smd_entry *e)
{
    struct ls_smd_msg m;

    ls_smd_msg_init(&m, LS_SMD_RESULT, txid);
    ls_smd_set_str(&m, LS_SMD_F_ID, e->id);
    ls_smd_set_num(&m, LS_SMD_F_GENERATION, e->generation);
    session_send(s, &m);
}

static void reply_busy(struct smd_session *s, uint32_t txid, const struct smd_entry *e)
{
    struct ls_smd_msg m;
    char text[LS_SMD_DESCRIPTION_MAX + 1];

    s->reg->c.refusals_busy_total++;
    ls_log_ctx(LS_LOG_INFO, LS_LOG_CTX(e->id, s->peer), "%s (%s): register %s refused: owned by "
               "%s (%s)", s->peer, session_name(s), e->id, e->owner->node_id, e->owner->advertise);
    snprintf(text, sizeof text, "published on %s", e->owner->node_id);
    ls_smd_msg_init(&m, LS_SMD_ERROR, txid);
    ls_smd_set_str(&m, LS_SMD_F_CODE, LS_SMD_CODE_BUSY);
    ls_smd_set_str(&m, LS_SMD_F_ID, e->id);
    ls_smd_set_str(&m, LS_SMD_F_NODE_ID, e->owner->node_id);
    ls_smd_set_str(&m, LS_SMD_F_ORIGIN, e->owner->advertise);
    ls_smd_set_str(&m, LS_SMD_F_DESCRIPTION, text);
    session_send(s, &m);
}

static bool over_stream_limit(struct smd_session *s, uint32_t txid)
{
    if (s->nentries < (size_t)s->reg->conf->max_streams_per_node)
        return false;
    s->reg->c.refusals_limit_total++;
    ls_log(LS_LOG_WARNING, "%s (%s): register refused: max_streams_per_node (%lld) reached",
           s->peer, session_name(s), (long long)s->reg->conf->max_streams_per_node);
    reply_error(s, txid, LS_SMD_CODE_LIMIT, "max_streams_per_node reached");
    return true;
}

/* `req` wins the id from its current owner: revoke the owner, move the entry over. */
static void takeover(struct smd_registry *reg, struct smd_entry *e, struct smd_session *req,
                     uint32_t txid, int64_t since, const char *how)
{
    struct smd_session *old = e->owner;
    uint64_t old_gen = e->generation;
    struct ls_smd_msg m;

    if (over_stream_limit(req, txid))
        return;
    ls_smd_msg_init(&m, LS_SMD_REVOKED, 0);
    ls_smd_set_str(&m, LS_SMD_F_ID, e->id);
    ls_smd_set_num(&m, LS_SMD_F_GENERATION, old_gen);
    session_send(old, &m);
    reg->c.revocations_total++;
    entry_detach(e);
    entry_attach(e, req);
    e->generation = next_generation(reg);
    e->since = since;
    reg->c.takeovers_total++;
    reg->c.registrations_total++;
    ls_log_ctx(LS_LOG_NOTICE, LS_LOG_CTX(e->id, req->peer), "%s: taken over by %s from %s (%s; "
               "generation %llu -> %llu)", e->id, req->node_id, old->node_id, how,
               (unsigned long long)old_gen, (unsigned long long)e->generation);
    reply_registered_ok(req, txid, e);
    notify_watchers(reg, e);
}

static void probe_timeout_cb(evutil_socket_t fd, short what, void *arg);

static void probe_start(struct smd_registry *reg, struct smd_entry *e, struct smd_session *req,
                        uint32_t txid, uint64_t takeover_idle_ms, int64_t since,
                        unsigned attempts)
{
    struct smd_probe *p = calloc(1, sizeof *p);
    struct smd_session *owner = e->owner;
    struct timeval tv;
    struct ls_smd_msg m;

    if (p == NULL || (p->timer = evtimer_new(reg->base, probe_timeout_cb, p)) == NULL) {
        free(p);
        ls_log(LS_LOG_ERR, "%s: out of memory starting a probe", e->id);
        reply_error(req, txid, LS_SMD_CODE_BUSY, "registry out of memory");
        return;
    }
    p->reg = reg;
    memcpy(p->id, e->id, sizeof p->id);
    p->requester = req;
    p->req_txid = txid;
    p->takeover_idle_ms = takeover_idle_ms;
    p->since = since;
    p->attempts = attempts;
    p->owner = owner;
    p->owner_gen = e->generation;
    if (++owner->next_txid == 0)
        owner->next_txid = 1;
    p->txid = owner->next_txid;
    LIST_INSERT_HEAD(&owner->probes_in, p, by_owner);
    LIST_INSERT_HEAD(&req->probes_out, p, by_requester);
    tv.tv_sec = (time_t)(reg->conf->probe_timeout_ms / 1000);
    tv.tv_usec = (suseconds_t)(reg->conf->probe_timeout_ms % 1000 * 1000);
    evtimer_add(p->timer, &tv);
    reg->c.probes_total++;
    ls_log_ctx(LS_LOG_DEBUG, LS_LOG_CTX(e->id, req->peer), "%s: %s claims it; probing owner %s",
               e->id, req->node_id, owner->node_id);
    ls_smd_msg_init(&m, LS_SMD_PROBE, p->txid);
    ls_smd_set_str(&m, LS_SMD_F_ID, e->id);
    session_send(owner, &m);
}

static void probe_unlink(struct smd_probe *p)
{
    LIST_REMOVE(p, by_owner);
    LIST_REMOVE(p, by_requester);
    event_free(p->timer);
}

/* True when the requester should win a re-announce conflict: the earlier publisher. */
static bool earlier(int64_t since, const char *node, const struct smd_entry *e)
{
    return since < e->since || (since == e->since && strcmp(node, e->owner->node_id) < 0);
}

/* The register decision; re-run when the owner changed while a probe was out. */
static void register_decide(struct smd_registry *reg, struct smd_session *req, uint32_t txid,
                            const char *id, uint64_t takeover_idle_ms, int64_t since,
                            bool reannounce, unsigned attempts)
{
    struct smd_entry *e = entry_find(reg, id);

    if (e == NULL) {
        if (over_stream_limit(req, txid))
            return;
        e = calloc(1, sizeof *e);
        if (e != NULL) {
            snprintf(e->id, sizeof e->id, "%s", id);
            e->h.key = e->id;
        }
        if (e == NULL || ls_strmap_insert(&reg->entries, &e->h) != LS_OK) {
            free(e);
            ls_log(LS_LOG_ERR, "%s: out of memory registering it", id);
            reply_error(req, txid, LS_SMD_CODE_LIMIT, "registry out of memory");
            return;
        }
        entry_attach(e, req);
        e->generation = next_generation(reg);
        e->since = since;
        reg->c.registrations_total++;
        ls_log_ctx(LS_LOG_INFO, LS_LOG_CTX(id, req->peer), "%s: registered by %s at %s "
                   "(generation %llu)", id, req->node_id, req->advertise,
                   (unsigned long long)e->generation);
        reply_registered_ok(req, txid, e);
        notify_watchers(reg, e);
        return;
    }
    if (e->owner == req) {
        /* Same node again (a reconnect's re-announce, a local takeover): keep the entry. */
        reg->c.registrations_total++;
        reply_registered_ok(req, txid, e);
        return;
    }
    if (attempts == 0)
        reg->c.conflicts_total++;
    if (reannounce) {
        if (earlier(since, req->node_id, e))
            takeover(reg, e, req, txid, since, "re-announce of an earlier publisher");
        else
            reply_busy(req, txid, e);
        return;
    }
    if (attempts >= SMD_PROBE_ATTEMPTS) {
        reply_busy(req, txid, e);
        return;
    }
    probe_start(reg, e, req, txid, takeover_idle_ms, since, attempts);
}

enum probe_outcome { PROBE_IDLE, PROBE_NO_PUBLISHER, PROBE_BUSY };

static void probe_finish(struct smd_probe *p, enum probe_outcome outcome, uint64_t idle_ms)
{
    struct smd_registry *reg = p->reg;
    struct smd_entry *e = entry_find(reg, p->id);
    struct smd_session *req = p->requester;

    probe_unlink(p);
    if (req->kill) {
        /* the requester is going away: nothing to answer */
    } else if (e == NULL || e->owner != p->owner || e->generation != p->owner_gen) {
        register_decide(reg, req, p->req_txid, p->id, p->takeover_idle_ms, p->since, false,
                        p->attempts + 1);
    } else if (outcome == PROBE_NO_PUBLISHER ||
               (outcome == PROBE_IDLE && idle_ms >= p->takeover_idle_ms)) {
        takeover(reg, e, req, p->req_txid, p->since,
                 outcome == PROBE_NO_PUBLISHER ? "owner has no publisher" : "owner idle");
    } else {
        reply_busy(req, p->req_txid, e);
    }
    free(p);
}

static void probe_timeout_cb(evutil_socket_t fd, short what, void *arg)
{
    struct smd_probe *p = arg;

    (void)fd;
    (void)what;
    p->reg->c.probe_timeouts_total++;
    ls_log_ctx(LS_LOG_INFO, LS_LOG_CTX(p->id, p->owner->peer),
               "%s: owner %s did not answer the probe in time: busy", p->id, p->owner->node_id);
    probe_finish(p, PROBE_BUSY, 0);
}

/* ---- requests ---- */

/* An edge reports; it publishes nothing, so it registers nothing. */
static bool refuse_edge(struct smd_session *s, const struct ls_smd_msg *m)
{
    if (strcmp(s->role, "epd") != 0)
        return false;
    ls_log(LS_LOG_INFO, "%s (%s): %s refused: an epd registers no streams", s->peer,
           s->node_id, ls_smd_kind_name(m->kind));
    reply_error(s, m->txid, LS_SMD_CODE_INVALID, "an epd registers no streams");
    return true;
}

static void on_register(struct smd_session *s, const struct ls_smd_msg *m)
{
    int64_t since = (m->fields & LS_SMD_F_SINCE) != 0 && m->since > 0 ? (int64_t)m->since
                                                                       : ls_unix_time();

    if (refuse_edge(s, m))
        return;
    register_decide(s->reg, s, m->txid, m->id, m->takeover_idle_ms, since, m->reannounce, 0);
}

static void on_unregister(struct smd_session *s, const struct ls_smd_msg *m)
{
    struct smd_registry *reg = s->reg;
    struct smd_entry *e = entry_find(reg, m->id);
    struct ls_smd_msg r;

    if (refuse_edge(s, m))
        return;
    if (e == NULL) {
        reg->c.unregisters_missing_total++;
        reply_error(s, m->txid, LS_SMD_CODE_NOT_FOUND, "not registered");
        return;
    }
    if (e->owner != s || e->generation != m->generation) {
        reg->c.unregisters_stale_total++;
        ls_log_ctx(LS_LOG_INFO, LS_LOG_CTX(m->id, s->peer), "%s (%s): unregister %s generation "
                   "%llu ignored: current is %llu by %s", s->peer, s->node_id, m->id,
                   (unsigned long long)m->generation, (unsigned long long)e->generation,
                   e->owner->node_id);
        reply_error(s, m->txid, LS_SMD_CODE_STALE, "not the current registration");
        return;
    }
    reg->c.unregisters_ok_total++;
    ls_log_ctx(LS_LOG_INFO, LS_LOG_CTX(e->id, s->peer), "%s: unregistered by %s", e->id,
               s->node_id);
    entry_delete(reg, e);
    ls_smd_msg_init(&r, LS_SMD_RESULT, m->txid);
    ls_smd_set_str(&r, LS_SMD_F_ID, m->id);
    session_send(s, &r);
}

static void on_lookup(struct smd_session *s, const struct ls_smd_msg *m)
{
    struct smd_entry *e = entry_find(s->reg, m->id);
    struct ls_smd_msg r;

    if (e == NULL) {
        s->reg->c.lookups_missing_total++;
        reply_error(s, m->txid, LS_SMD_CODE_NOT_FOUND, "not registered");
        return;
    }
    s->reg->c.lookups_found_total++;
    ls_smd_msg_init(&r, LS_SMD_RESULT, m->txid);
    ls_smd_set_str(&r, LS_SMD_F_ID, e->id);
    ls_smd_set_str(&r, LS_SMD_F_ORIGIN, e->owner->advertise);
    ls_smd_set_str(&r, LS_SMD_F_NODE_ID, e->owner->node_id);
    ls_smd_set_num(&r, LS_SMD_F_GENERATION, e->generation);
    session_send(s, &r);
}

static struct smd_watch *watch_find(struct smd_watchers *w, const struct smd_session *s)
{
    struct smd_watch *wa;

    if (w == NULL)
        return NULL;
    LIST_FOREACH(wa, &w->list, by_id)
        if (wa->s == s)
            return wa;
    return NULL;
}

static void watch_delete(struct smd_registry *reg, struct smd_watch *wa)
{
    struct smd_watchers *w = wa->w;

    LIST_REMOVE(wa, by_id);
    LIST_REMOVE(wa, by_session);
    wa->s->nwatches--;
    reg->nwatches--;
    free(wa);
    if (LIST_EMPTY(&w->list)) {
        ls_strmap_remove(&reg->watchers, &w->h);
        free(w);
    }
}

static void reply_id(struct smd_session *s, uint32_t txid, const char *id)
{
    struct ls_smd_msg r;

    ls_smd_msg_init(&r, LS_SMD_RESULT, txid);
    ls_smd_set_str(&r, LS_SMD_F_ID, id);
    session_send(s, &r);
}

static void on_watch(struct smd_session *s, const struct ls_smd_msg *m)
{
    struct smd_registry *reg = s->reg;
    struct smd_watchers *w = watchers_find(reg, m->id);
    struct smd_watch *wa;
    struct smd_entry *e;

    if (watch_find(w, s) == NULL) {
        if (s->nwatches >= (size_t)reg->conf->max_watches_per_node) {
            reg->c.refusals_limit_total++;
            ls_log(LS_LOG_WARNING, "%s (%s): watch refused: max_watches_per_node reached",
                   s->peer, s->node_id);
            reply_error(s, m->txid, LS_SMD_CODE_LIMIT, "max_watches_per_node reached");
            return;
        }
        if (w == NULL) {
            w = calloc(1, sizeof *w);
            if (w != NULL) {
                snprintf(w->id, sizeof w->id, "%s", m->id);
                w->h.key = w->id;
                LIST_INIT(&w->list);
            }
            if (w == NULL || ls_strmap_insert(&reg->watchers, &w->h) != LS_OK) {
                free(w);
                reply_error(s, m->txid, LS_SMD_CODE_LIMIT, "registry out of memory");
                return;
            }
        }
        wa = calloc(1, sizeof *wa);
        if (wa == NULL) {
            if (LIST_EMPTY(&w->list)) {
                ls_strmap_remove(&reg->watchers, &w->h);
                free(w);
            }
            reply_error(s, m->txid, LS_SMD_CODE_LIMIT, "registry out of memory");
            return;
        }
        wa->w = w;
        wa->s = s;
        LIST_INSERT_HEAD(&w->list, wa, by_id);
        LIST_INSERT_HEAD(&s->watches, wa, by_session);
        s->nwatches++;
        reg->nwatches++;
    }
    reply_id(s, m->txid, m->id);
    /* Already registered: say so at once, so a watch never misses a registration that
     * raced with it. */
    e = entry_find(reg, m->id);
    if (e != NULL) {
        struct ls_smd_msg r;

        fill_registered(&r, e);
        session_send(s, &r);
        reg->c.notifications_total++;
    }
}

static void on_unwatch(struct smd_session *s, const struct ls_smd_msg *m)
{
    struct smd_watch *wa = watch_find(watchers_find(s->reg, m->id), s);

    if (wa != NULL)
        watch_delete(s->reg, wa);
    reply_id(s, m->txid, m->id);
}

/* An answer from an owner to one of our probes. */
static void on_answer(struct smd_session *s, const struct ls_smd_msg *m)
{
    struct smd_probe *p;

    LIST_FOREACH(p, &s->probes_in, by_owner)
        if (p->txid == m->txid)
            break;
    if (p == NULL) {
        ls_log(LS_LOG_DEBUG, "%s (%s): answer to no pending probe (txid %u)", s->peer,
               s->node_id, m->txid);
        return;
    }
    if (m->kind == LS_SMD_RESULT && (m->fields & LS_SMD_F_IDLE_MS) != 0)
        probe_finish(p, PROBE_IDLE, m->idle_ms);
    else if (m->kind == LS_SMD_ERROR && strcmp(m->code, LS_SMD_CODE_NOT_FOUND) == 0)
        probe_finish(p, PROBE_NO_PUBLISHER, 0);
    else
        probe_finish(p, PROBE_BUSY, 0);
}

static struct smd_session *node_session(struct smd_registry *reg, const char *node_id,
                                        const struct smd_session *except)
{
    struct smd_session *s;

    TAILQ_FOREACH(s, &reg->sessions, link)
        if (s != except && s->state == SS_READY && !s->kill && strcmp(s->node_id, node_id) == 0)
            return s;
    return NULL;
}

/* How often nodes are told to report (what the rate is checked against). */
static uint64_t report_ms(const struct smd_registry *reg)
{
    return reg->conf->report_interval_ms > 0 ? (uint64_t)reg->conf->report_interval_ms
                                            : SMD_REPORT_INTERVAL_DEFAULT_MS;
}

/* A node of protocol version 3 or later reports (a number that does not parse: no). */
static bool hello_reports(const struct ls_smd_msg *m)
{
    char *end;
    long v = strtol(m->version, &end, 10);

    return end != m->version && v >= 3;
}

static void on_hello(struct smd_session *s, const struct ls_smd_msg *m)
{
    struct smd_registry *reg = s->reg;
    const char *why = "bad signature";
    struct smd_session *old;
    struct ls_smd_msg r;
    size_t moved = 0;

    if (ls_smd_hello_verify(reg->conf->cluster_secret, m, s->nonce, reg->conf->node_id,
                            (uint64_t)ls_unix_time(), &why) != LS_OK) {
        if (strcmp(why, "timestamp out of range") == 0)
            reg->c.auth_failures_timestamp++;
        else if (strstr(why, "nonce") != NULL)
            reg->c.auth_failures_nonce++;
        else
            reg->c.auth_failures_signature++;
        ls_log_ctx(LS_LOG_WARNING, LS_LOG_CTX(NULL, s->peer),
                   "%s: hello of node %s refused: %s (%s); closing", s->peer, m->node_id, why,
                   strstr(why, "nonce") != NULL
                       ? "a replayed hello, or an spd older than this smd"
                       : "check cluster_secret and clocks");
        reply_error(s, m->txid, LS_SMD_CODE_UNAUTHORIZED, why);
        session_kill(s, LS_EAUTH, "hello refused", true);
        return;
    }
    snprintf(s->role, sizeof s->role, "%s",
             (m->fields & LS_SMD_F_ROLE) != 0 ? m->role : "spd");
    old = node_session(reg, m->node_id, s);
    if (old != NULL) {
        struct smd_entry *e;

        while ((e = LIST_FIRST(&old->entries)) != NULL) {
            entry_detach(e);
            entry_attach(e, s);
            moved++;
        }
        /* the same node, on with its counters; its next report is full anyway, and its
         * role and version are the new hello's (an upgrade, a restart as an epd) */
        s->cn = old->cn;
        old->cn = NULL;
        smd_cluster_rejoin(reg->cluster, s->cn, s->role, hello_reports(m), report_ms(reg));
        reg->c.sessions_replaced_total++;
        ls_log(LS_LOG_NOTICE, "node %s: new session from %s replaces the one from %s "
               "(%zu streams moved)", m->node_id, s->peer, old->peer, moved);
        session_kill(old, LS_OK, "replaced by a new session of the same node", false);
    }
    s->state = SS_READY;
    snprintf(s->node_id, sizeof s->node_id, "%s", m->node_id);
    snprintf(s->advertise, sizeof s->advertise, "%s", m->origin);
    s->since = ls_unix_time();
    if (s->cn == NULL)
        s->cn = smd_cluster_join(reg->cluster, s->node_id, s->role, hello_reports(m),
                                 report_ms(reg));
    if (s->cn == NULL)
        ls_log(LS_LOG_ERR, "node %s: out of memory: left out of the cluster view", s->node_id);
    reg->nnodes++;
    reg->c.hellos_total++;
    ls_log_ctx(LS_LOG_INFO, LS_LOG_CTX(NULL, s->peer), "%s: node %s (%s, advertise %s, "
               "version %s) joined", s->peer, s->node_id, s->role, s->advertise, m->version);
    ls_smd_msg_init(&r, LS_SMD_RESULT, m->txid);
    ls_smd_set_str(&r, LS_SMD_F_NODE_ID, reg->conf->node_id);
    ls_smd_set_num(&r, LS_SMD_F_LEASE_SECONDS, (uint64_t)reg->conf->lease_seconds);
    /* version 3: how often to report (a node of version 2 ignores the field) */
    ls_smd_set_num(&r, LS_SMD_F_REPORT_MS, report_ms(reg));
    session_send(s, &r);
}

/* ---- connection callbacks ---- */

/* The handshake is done: our chunk size, then the challenge the hello must sign (a hello
 * captured on another connection is worth nothing here). */
static void session_on_ready(struct ls_conn *c, void *owner)
{
    struct smd_session *s = owner;
    struct ls_smd_msg m;
    struct ls_buf b;

    ls_buf_init(&b, 0);
    ls_control_write_set_chunk_size(&b, ls_conn_out_chunk_size(c));
    if (ls_conn_send_buf(c, &b) != LS_OK)
        session_kill(s, LS_ENOMEM, "out of memory", false);
    ls_buf_free(&b);
    s->state = SS_HELLO;
    if (ls_nonce_make(s->nonce) != LS_OK) {
        ls_log(LS_LOG_ERR, "%s: no randomness for a challenge; closing", s->peer);
        session_kill(s, LS_EIO, "no randomness", false);
        return;
    }
    ls_smd_msg_init(&m, LS_SMD_CHALLENGE, 0);
    ls_smd_set_str(&m, LS_SMD_F_NONCE, s->nonce);
    ls_smd_set_str(&m, LS_SMD_F_NODE_ID, s->reg->conf->node_id);
    ls_smd_set_str(&m, LS_SMD_F_VERSION, LS_SMD_VERSION);
    session_send(s, &m);
}

static void protocol_error(struct smd_session *s, const char *why)
{
    s->reg->c.protocol_errors_total++;
    ls_log(LS_LOG_INFO, "%s (%s): protocol error: %s; closing", s->peer, session_name(s), why);
    session_kill(s, LS_EPROTO, why, false);
}

/* A report (its own codec: the body is larger than any other message). */
static void on_report(struct smd_session *s, const struct ls_frame *msg)
{
    struct ls_smd_report r;
    const char *why = "malformed report";
    bool resync = false;
    int rc;

    if (ls_smd_report_decode(msg->data, msg->len, &r, &why) < 0) {
        protocol_error(s, why);
        return;
    }
    rc = s->cn != NULL ? smd_cluster_report(s->reg->cluster, s->cn, &r, &resync, &why) : LS_OK;
    ls_smd_report_clear(&r);
    if (rc == LS_EPROTO) {
        protocol_error(s, why);
        return;
    }
    if (resync) {
        struct ls_smd_msg m;

        ls_smd_msg_init(&m, LS_SMD_RESYNC, 0);
        session_send(s, &m);
    }
}

static void session_on_message(struct ls_conn *c, void *owner, struct ls_frame *msg)
{
    struct smd_session *s = owner;
    struct ls_smd_msg m;
    const char *why = "malformed message";

    (void)c;
    if (s->kill || msg->type == LS_MSG_USER_CONTROL)
        return;
    if (s->state == SS_READY && msg->type == LS_MSG_COMMAND_AMF0 && msg->stream_id == 0 &&
        ls_smd_report_is(msg->data, msg->len)) {
        on_report(s, msg);
        return;
    }
    if (ls_smd_decode_frame(msg, &m, &why) != LS_OK) {
        protocol_error(s, why);
        return;
    }
    if (s->state != SS_READY) {
        if (m.kind == LS_SMD_HELLO) {
            on_hello(s, &m);
            return;
        }
        s->reg->c.auth_failures_no_hello++;
        ls_log(LS_LOG_WARNING, "%s: %s before hello: unauthenticated; closing", s->peer,
               ls_smd_kind_name(m.kind));
        reply_error(s, m.txid, LS_SMD_CODE_UNAUTHORIZED, "hello first");
        session_kill(s, LS_EAUTH, "message before hello", true);
        return;
    }
    switch (m.kind) {
    case LS_SMD_REGISTER:
        on_register(s, &m);
        break;
    case LS_SMD_UNREGISTER:
        on_unregister(s, &m);
        break;
    case LS_SMD_LOOKUP:
        on_lookup(s, &m);
        break;
    case LS_SMD_WATCH:
        on_watch(s, &m);
        break;
    case LS_SMD_UNWATCH:
        on_unwatch(s, &m);
        break;
    case LS_SMD_PING: {
        struct ls_smd_msg r;

        ls_smd_msg_init(&r, LS_SMD_RESULT, m.txid);
        session_send(s, &r);
        break;
    }
    case LS_SMD_RESULT:
    case LS_SMD_ERROR:
        on_answer(s, &m);
        break;
    case LS_SMD_UNKNOWN:
        ls_log(LS_LOG_INFO, "%s (%s): unknown command; answered Unsupported", s->peer,
               s->node_id);
        reply_error(s, m.txid, LS_SMD_CODE_UNSUPPORTED, "unknown command");
        break;
    default:
        protocol_error(s, m.kind == LS_SMD_HELLO ? "second hello" : "smd-to-spd message sent to smd");
        break;
    }
}

static void session_on_close(struct ls_conn *c, void *owner, int err, const char *why)
{
    struct smd_session *s = owner;
    struct smd_registry *reg = s->reg;
    struct smd_entry *e;
    struct smd_watch *wa;
    struct smd_probe *p;
    size_t dropped = 0;
    bool ours = s->kill; /* we decided to close it (and logged why) */

    (void)c;
    s->kill = true; /* no more sends to it */
    TAILQ_REMOVE(&reg->sessions, s, link);
    reg->nsessions--;
    while ((e = LIST_FIRST(&s->entries)) != NULL) {
        entry_delete(reg, e);
        dropped++;
    }
    while ((wa = LIST_FIRST(&s->watches)) != NULL)
        watch_delete(reg, wa);
    while ((p = LIST_FIRST(&s->probes_out)) != NULL) {
        probe_unlink(p);
        free(p);
    }
    /* Probes waiting on this owner: its entries are gone, so the requesters now register
     * an unowned id. */
    while ((p = LIST_FIRST(&s->probes_in)) != NULL)
        probe_finish(p, PROBE_NO_PUBLISHER, 0);
    smd_cluster_leave(reg->cluster, s->cn); /* its viewers go from the sums now */
    s->cn = NULL;
    if (!ours && (err == LS_EPROTO || err == LS_ELIMIT)) {
        /* bad handshake, chunk-stream limits, garbage: the connection's own verdict */
        reg->c.protocol_errors_total++;
        ls_log(LS_LOG_INFO, "%s (%s): protocol error: %s; closed", s->peer, session_name(s),
               why != NULL ? why : "bad input");
    }
    if (s->state == SS_READY) {
        reg->nnodes--;
        if (s->lease_lapsed)
            ls_log_ctx(LS_LOG_NOTICE, LS_LOG_CTX(NULL, s->peer), "node %s (%s): lease of %llds "
                       "lapsed; %zu streams dropped", s->node_id, s->peer,
                       (long long)reg->conf->lease_seconds, dropped);
        else
            ls_log_ctx(err == LS_OK ? LS_LOG_INFO : LS_LOG_NOTICE, LS_LOG_CTX(NULL, s->peer),
                       "node %s (%s) left: %s; %zu streams dropped", s->node_id, s->peer,
                       why != NULL ? why : "closed", dropped);
    } else if (!ours && err != LS_EPROTO && err != LS_ELIMIT) {
        ls_log(LS_LOG_DEBUG, "%s: closed before hello: %s", s->peer, why != NULL ? why : "");
    }
    free(s);
}

static const struct ls_conn_ops session_ops = {
    .on_ready = session_on_ready,
    .on_message = session_on_message,
    .on_close = session_on_close,
};

/* ---- listener and timers ---- */

/* Connections that have not said hello yet (the hello_timeout bounds how long). */
static size_t pending_hellos(const struct smd_registry *reg)
{
    const struct smd_session *s;
    size_t n = 0;

    TAILQ_FOREACH(s, &reg->sessions, link)
        n += s->state != SS_READY && !s->kill;
    return n;
}

static void accept_cb(struct evconnlistener *l, evutil_socket_t fd, struct sockaddr *sa,
                      int salen, void *arg)
{
    struct smd_registry *reg = arg;
    struct smd_session *s;
    char peer[64];

    (void)l;
    (void)salen;
    ls_net_format(sa, peer, sizeof peer);
    if (reg->stopping) {
        close(fd);
        return;
    }
    if (reg->conf->allow.n > 0 && !ls_cidr_list_match(&reg->conf->allow, sa)) {
        reg->c.denied_total++;
        ls_log_peer(peer, LS_LOG_WARNING, "%s: refused: address not in allow", peer);
        close(fd);
        return;
    }
    if (reg->nsessions >= (size_t)reg->conf->max_connections) {
        reg->c.refused_full_total++;
        ls_stats.connections_refused_total++;
        ls_log_peer(peer, LS_LOG_WARNING, "%s: refused: max_connections (%lld) reached", peer,
                    (long long)reg->conf->max_connections);
        close(fd);
        return;
    }
    /* Unauthenticated connections may hold only some of the slots, so that nodes can
     * always (re)join while someone opens connections and never says hello. */
    if (reg->conf->max_pending_hellos > 0 &&
        pending_hellos(reg) >= (size_t)reg->conf->max_pending_hellos) {
        ls_stats.connections_refused_total++;
        ls_log_peer(peer, LS_LOG_WARNING, "%s: refused: max_pending_hellos (%lld) connections "
                    "are waiting for their hello", peer, (long long)reg->conf->max_pending_hellos);
        close(fd);
        return;
    }
    s = calloc(1, sizeof *s);
    if (s == NULL) {
        close(fd);
        return;
    }
    s->reg = reg;
    s->state = SS_HANDSHAKE;
    s->accepted_ms = ls_now_ms();
    snprintf(s->peer, sizeof s->peer, "%s", peer);
    LIST_INIT(&s->entries);
    LIST_INIT(&s->watches);
    LIST_INIT(&s->probes_in);
    LIST_INIT(&s->probes_out);
    s->conn = ls_conn_new(reg->base, fd, LS_HS_SERVER, &reg->conn_cfg, &session_ops, s);
    if (s->conn == NULL) {
        free(s);
        return;
    }
    TAILQ_INSERT_TAIL(&reg->sessions, s, link);
    reg->nsessions++;
    reg->c.sessions_total++;
    if (ls_conn_start(s->conn) != LS_OK)
        ls_conn_close(s->conn, LS_EIO, "cannot start the connection"); /* frees s */
}

/* Hello deadlines and leases. */
static void tick_cb(evutil_socket_t fd, short what, void *arg)
{
    struct smd_registry *reg = arg;
    struct smd_session *s;
    uint64_t now = ls_now_ms();
    uint64_t hello_ms = (uint64_t)reg->conf->hello_timeout * 1000;
    uint64_t lease_ms = (uint64_t)reg->conf->lease_seconds * 1000;

    (void)fd;
    (void)what;
    TAILQ_FOREACH(s, &reg->sessions, link) {
        if (s->kill)
            continue;
        if (s->state != SS_READY && now - s->accepted_ms > hello_ms) {
            reg->c.auth_failures_timeout++;
            ls_log(LS_LOG_WARNING, "%s: no hello within %llds; closing", s->peer,
                   (long long)reg->conf->hello_timeout);
            session_kill(s, LS_ELIMIT, "hello timeout", false);
        } else if (s->state == SS_READY && ls_conn_idle_ms(s->conn) > lease_ms) {
            reg->c.lease_expiries_total++;
            s->lease_lapsed = true;
            session_kill(s, LS_ELIMIT, "lease lapsed", false);
        }
    }
}

struct smd_registry *smd_registry_new(struct event_base *base, const struct smd_conf *conf)
{
    struct smd_registry *reg = calloc(1, sizeof *reg);
    char listen[LS_ADDR_STRLEN];
    struct timeval tick = { 0, SMD_TICK_MS * 1000 };
    struct timespec now;

    if (reg == NULL)
        return NULL;
    reg->base = base;
    reg->conf = conf;
    TAILQ_INIT(&reg->sessions);
    ls_smdlink_server_conn_config(&reg->conn_cfg);
    /* Generations only grow, also across restarts: seed with the clock in units of 2^-20 s
     * (2^20 per second stays below 2^53, the exact range of an AMF0 number, until the year
     * 2106). The fraction counts: an smd restarted within the same second must not start
     * below the numbers its predecessor gave. */
    clock_gettime(CLOCK_REALTIME, &now);
    reg->last_generation = ((uint64_t)now.tv_sec << 20) +
                           ((uint64_t)now.tv_nsec << 20) / 1000000000u;
    if (ls_strmap_init(&reg->entries) != LS_OK || ls_strmap_init(&reg->watchers) != LS_OK) {
        ls_log(LS_LOG_ERR, "no randomness for the registry's hash tables");
        free(reg);
        return NULL;
    }
    reg->cluster = smd_cluster_new(base, conf);
    if (reg->cluster == NULL) {
        ls_log(LS_LOG_ERR, "out of memory setting up the cluster view");
        free(reg);
        return NULL;
    }
    if (ls_addr_format(&conf->listen, listen, sizeof listen) != LS_OK) {
        ls_log(LS_LOG_ERR, "cannot format the listen address");
        smd_cluster_free(reg->cluster);
        free(reg);
        return NULL;
    }
    reg->listener = ls_listener_new(base, listen, 256, accept_cb, reg);
    if (reg->listener == NULL) {
        smd_cluster_free(reg->cluster);
        free(reg);
        return NULL;
    }
    reg->tick = event_new(base, -1, EV_PERSIST, tick_cb, reg);
    if (reg->tick == NULL || event_add(reg->tick, &tick) == -1) {
        ls_listener_free(reg->listener);
        if (reg->tick != NULL)
            event_free(reg->tick);
        smd_cluster_free(reg->cluster);
        free(reg);
        return NULL;
    }
    return reg;
}

void smd_registry_reloaded(struct smd_registry *reg)
{
    /* Leases, allow, limits and the secret are read from conf at each use, so live
     * sessions simply continue under the new values; say what is in force. */
    ls_log(LS_LOG_INFO, "registry: lease %llds, %zu allow rules, %s; reports every %llu ms "
           "(nodes connected before keep the interval they were told until they reconnect)",
           (long long)reg->conf->lease_seconds, reg->conf->allow.n,
           reg->conf->cluster_secret[0] != '\0' ? "authenticated" : "UNAUTHENTICATED",
           (unsigned long long)report_ms(reg));
}

void smd_registry_stop(struct smd_registry *reg)
{
    struct smd_session *s;

    reg->stopping = true;
    ls_listener_free(reg->listener);
    reg->listener = NULL;
    /* Closing from here is synchronous: on_close frees each session. */
    while ((s = TAILQ_FIRST(&reg->sessions)) != NULL)
        ls_conn_close(s->conn, LS_OK, "smd stopping");
}

void smd_registry_free(struct smd_registry *reg)
{
    if (reg == NULL)
        return;
    smd_registry_stop(reg);
    event_free(reg->tick);
    smd_cluster_free(reg->cluster);
    ls_strmap_free(&reg->entries);
    ls_strmap_free(&reg->watchers);
    free(reg);
}

/* ---- views for the API ---- */

size_t smd_registry_stream_count(const struct smd_registry *reg)
{
    return ls_strmap_count(&reg->entries);
}

size_t smd_registry_node_count(const struct smd_registry *reg)
{
    return reg->nnodes;
}

size_t smd_registry_watch_count(const struct smd_registry *reg)
{
    return reg->nwatches;
}

const struct smd_counters *smd_registry_counters(const struct smd_registry *reg)
{
    return &reg->c;
}

struct smd_cluster *smd_registry_cluster(const struct smd_registry *reg)
{
    return reg->cluster;
}

static int entry_cmp(const void *a, const void *b)
{
    const struct smd_entry *x = *(const struct smd_entry *const *)a;
    const struct smd_entry *y = *(const struct smd_entry *const *)b;

    return strcmp(x->id, y->id);
}

int smd_registry_foreach_entry(const struct smd_registry *reg,
                               void (*fn)(const struct smd_entry_view *e, void *arg), void *arg)
{
    struct smd_entry **all;
    struct ls_strmap_iter it;
    struct ls_strmap_node *h;
    size_t i, n = 0;

    if (ls_strmap_count(&reg->entries) == 0)
        return LS_OK;
    all = malloc(ls_strmap_count(&reg->entries) * sizeof *all);
    if (all == NULL)
        return LS_ENOMEM;
    ls_strmap_iter_init(&it, &reg->entries);
    while ((h = ls_strmap_iter_next(&it)) != NULL)
        all[n++] = LS_STRMAP_ENTRY(h, struct smd_entry, h);
    qsort(all, n, sizeof *all, entry_cmp);
    for (i = 0; i < n; i++) {
        struct smd_entry_view v = {
            .id = all[i]->id,
            .origin = all[i]->owner->advertise,
            .node_id = all[i]->owner->node_id,
            .generation = all[i]->generation,
            .since = all[i]->since,
        };

        fn(&v, arg);
    }
    free(all);
    return LS_OK;
}

void smd_registry_foreach_node(const struct smd_registry *reg,
                               void (*fn)(const struct smd_node_view *n, void *arg), void *arg)
{
    const struct smd_session *s;

    TAILQ_FOREACH(s, &reg->sessions, link) {
        struct smd_node_view v;

        if (s->state != SS_READY || s->kill)
            continue;
        v.node_id = s->node_id;
        v.advertise = s->advertise;
        v.peer = s->peer;
        v.streams = s->nentries;
        v.watches = s->nwatches;
        v.since = s->since;
        v.cnode = s->cn;
        fn(&v, arg);
    }
}
