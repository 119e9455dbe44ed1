/*
 * registry.c — spd's registry client (see registry.h; protocol in docs/protocol.md).
 * Layer: above libstream's connection (conn.h, client role) and the registry codec
 * (smdproto.h); below spd's origin, which calls it for publishers and waiting plays.
 *
 * One link per smd:
 *
 *   DOWN ─timer─▶ CONNECTING (TCP + RTMP handshake) ─▶ CHALLENGE (waiting for smd's
 *        ◀─close/timeout/refusal, back-off 0.5 s → 5 s─┐    nonce) ─▶ HELLO (hello sent,
 *                                                      └──────────────── signing it)
 *                                                                         │ _result {lease}
 *                                                              ▼
 *                        UP: re-announce every claimed id, re-watch every watched id,
 *                            ping every lease/3, answer probes
 *
 * One record per claimed id, with one slot per link (the slot index is the link's):
 *
 *   slot NONE ─register─▶ PENDING ─_result{generation}─▶ OK
 *                                 ─_error Busy─────────▶ BUSY  (owned elsewhere)
 *                                 ─_error other────────▶ FAILED
 *                                 ─link lost──────────▶ NONE  (skipped)
 *
 * A claim completes when no slot is PENDING: any BUSY → LS_EBUSY, else any FAILED →
 * LS_ELIMIT, else LS_OK (also when no smd was reachable at all). On a refusal the OK slots
 * are unregistered. An owned record whose re-announce comes back Busy, or which an smd
 * revokes with its current generation, is lost: hooks->revoked, and it is released
 * everywhere.
 *
 * Re-entrancy: user callbacks (claim and lookup answers) run from their own zero-delay
 * events; flushing and closing links are deferred to the next loop turn
 * (ls_conn_flush_later, ls_conn_close_later); so nothing frees a link or a record while a
 * loop over them is running.
 *
 * Cost per request: every table on the lookup and watch path is hashed or indexed, since
 * viewers decide how many ids are looked up. A link's pending requests are found by txid
 * in a hash table and kept in deadline order (the tick looks at the first one only); a
 * record and a lookup each list their own requests (a release or a cancel touches those
 * only). An id that every smd just reported not registered is remembered for
 * not_found_cache_ms: lookups of it are answered NotFound locally meanwhile, unless a
 * watch reports it registered (which forgets the entry at once).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>

#include <event2/event.h>

#include "libstream/buf.h"
#include "libstream/clock.h"
#include "libstream/conn.h"
#include "libstream/control.h"
#include "libstream/log.h"
#include "libstream/net.h"
#include "libstream/prom.h"
#include "libstream/resolver.h"
#include "libstream/smdlink.h"
#include "libstream/smdproto.h"
#include "libstream/streamid.h"
#include "libstream/strmap.h"
#include "registry.h"

#define REG_BACKOFF_MIN_MS 500u
#define REG_BACKOFF_MAX_MS 5000u
#define REG_REQUEST_TIMEOUT_MS 5000u  /* an smd probing an owner answers within 2 s */
#define REG_TICK_MS 250u
#define REG_DEFAULT_LEASE_MS 10000u
#define REG_DEDUP_MS 1000u
#define REG_NOT_FOUND_MAX 65536u      /* ids remembered as not registered, at most */

enum link_state { L_DOWN, L_CONNECTING, L_CHALLENGE, L_HELLO, L_UP };
enum slot_state { SLOT_NONE, SLOT_PENDING, SLOT_OK, SLOT_BUSY, SLOT_FAILED };
enum record_state { R_CLAIMING, R_OWNED };

struct reg_record;
struct spd_lookup;

struct reg_req {
    TAILQ_ENTRY(reg_req) link;  /* in the link's queue, in deadline order */
    struct ls_strmap_node by_txid; /* in the link's txid table (key: txkey) */
    char txkey[12];
    LIST_ENTRY(reg_req) owner_link; /* in its record's or lookup's list, while it has one */
    uint32_t txid;
    enum ls_smd_kind kind;
    uint64_t deadline_ms;
    struct reg_record *rec;     /* register: its record (NULL once released) */
    char id[LS_STREAM_ID_MAX + 1]; /* register/lookup: the id (an orphaned register
                                    * is unregistered when it succeeds) */
    struct spd_lookup *lookup;  /* lookup */
};

struct reg_link {
    struct spd_registry *reg;
    TAILQ_ENTRY(reg_link) next;
    unsigned slot;
    struct ls_addr addr;
    char name[LS_ADDR_STRLEN];
    enum link_state state;
    struct ls_conn *conn;
    struct ls_resolve *dns;  /* the smd's address being looked up (then connecting) */
    struct event *retry;
    unsigned backoff_ms;
    bool failing;           /* a failure was logged; quiet until it recovers */
    bool removed;           /* dropped by a reload: freed when closed */
    bool kill;              /* a close is on its way: nothing more is sent */
    uint32_t next_txid;
    uint64_t lease_ms;
    uint64_t last_ping_ms;
    uint64_t challenge_deadline_ms; /* L_CHALLENGE: the smd's challenge is due by then */
    char smd_node[LS_SMD_NODE_ID_MAX + 1];
    TAILQ_HEAD(reg_reqq, reg_req) reqs;
    struct ls_strmap reqs_by_txid;
};

struct reg_slot {
    enum slot_state state;
    uint64_t gen;
    char why[256];          /* BUSY/FAILED: the smd's answer, for the log and cb */
};

struct reg_record {
    struct ls_strmap_node node; /* in reg->records, keyed by id */
    char id[LS_STREAM_ID_MAX + 1];
    int64_t since;
    enum record_state state;
    uint64_t owner;          /* the local publisher it is for (the caller's token) */
    uint64_t prev_owner;     /* R_CLAIMING over a record another local publisher owned
                              * (a local takeover): that one, until it is gone; 0 = none */
    struct spd_claim *claim; /* R_CLAIMING: the caller's pending claim */
    struct reg_slot *slots;  /* reg->slot_cap entries */
    LIST_HEAD(, reg_req) reqs; /* register requests out for it */
};

struct spd_claim {
    struct spd_registry *reg;
    char id[LS_STREAM_ID_MAX + 1];
    uint64_t owner;
    struct reg_record *rec;  /* NULL once decided */
    void (*cb)(void *arg, int result, const char *why);
    void *arg;
    struct event *ev;        /* delivers the answer */
    int result;
    char why[256];
    LIST_ENTRY(spd_claim) next;
};

struct spd_lookup {
    struct spd_registry *reg;
    char id[LS_STREAM_ID_MAX + 1];
    void (*cb)(void *arg, int result, const char *origin, const char *node_id);
    void *arg;
    struct event *ev;
    unsigned pending;        /* requests out */
    bool any_not_found;
    bool decided;            /* answer chosen (delivery on ev) */
    bool dead;               /* cancelled or delivered: free when pending hits 0 */
    int result;
    uint64_t started_ms;
    char origin[LS_ADDR_STRLEN];
    char node_id[LS_SMD_NODE_ID_MAX + 1];
    LIST_ENTRY(spd_lookup) next;
    LIST_HEAD(, reg_req) reqs; /* its requests still out */
};

/* An id every smd just reported not registered (reg->not_found, oldest first). */
struct reg_not_found {
    struct ls_strmap_node node;
    char id[LS_STREAM_ID_MAX + 1];
    uint64_t until_ms;
    TAILQ_ENTRY(reg_not_found) age;
};

struct reg_watch {
    struct ls_strmap_node node; /* in reg->watches, keyed by id */
    char id[LS_STREAM_ID_MAX + 1];
    unsigned refs;
    char last_node[LS_SMD_NODE_ID_MAX + 1];
    char last_origin[LS_ADDR_STRLEN];
    uint64_t last_ms;
};

struct reg_counters {
    uint64_t connects, connect_failures, hello_refusals, request_timeouts;
    uint64_t claims_ok, claims_busy, claims_failed, claims_standalone;
    uint64_t revocations, reannounce_losses;
    uint64_t lookups_found, lookups_not_found, lookups_unreachable, lookups_cached;
    uint64_t probes_answered, notifications;
};

struct spd_registry {
    struct event_base *base;
    struct ls_resolver *resolver;      /* borrowed; NULL = blocking lookups (tools) */
    char *node_id, *advertise, *secret;
    unsigned takeover_idle_ms;
    unsigned not_found_cache_ms;
    bool valid;              /* node_id and advertise can travel */
    struct spd_registry_hooks hooks;
    struct ls_conn_config conn_cfg;
    TAILQ_HEAD(, reg_link) links;
    size_t nlinks;
    unsigned slot_cap;
    bool *slot_used;
    struct ls_strmap records;          /* claimed ids */
    struct ls_strmap watches;          /* watched ids */
    struct ls_strmap not_found;        /* struct reg_not_found by id */
    TAILQ_HEAD(, reg_not_found) not_found_age;
    LIST_HEAD(, spd_claim) claims;     /* every live claim handle */
    LIST_HEAD(, spd_lookup) lookups;   /* every live lookup */
    struct event *tick;
    bool freeing;
    struct reg_counters c;
};

static const struct ls_conn_ops link_ops;
static void link_connect(struct reg_link *l);
static void on_challenge(struct reg_link *l, const struct ls_smd_msg *ch);

/* ---- deferred flush and close ---- */

static void link_kill(struct reg_link *l, const char *why)
{
    if (l->kill || l->conn == NULL)
        return;
    l->kill = true;
    ls_conn_close_later(l->conn, LS_EIO, why, false);
}

static void link_want_flush(struct reg_link *l)
{
    if (!l->kill && l->conn != NULL)
        ls_conn_flush_later(l->conn);
}

/* ---- requests ---- */

static uint32_t link_txid(struct reg_link *l)
{
    if (++l->next_txid == 0)
        l->next_txid = 1;
    return l->next_txid;
}

/* Queues `m` on an open link. LS_OK, or an error (the link is then being closed). */
static int link_send(struct reg_link *l, const struct ls_smd_msg *m)
{
    int rc;

    if (l->conn == NULL || l->kill)
        return LS_ESTATE;
    rc = ls_smdlink_send(l->conn, m);
    if (rc != LS_OK) {
        ls_log(LS_LOG_ERR, "registry %s: cannot queue %s: %s", l->name,
               ls_smd_kind_name(m->kind), ls_strerror(rc));
        link_kill(l, "cannot queue a message");
        return rc;
    }
    link_want_flush(l);
    return LS_OK;
}

/* Sends a request and records it. Returns the request, or NULL (not sent). */
static struct reg_req *link_request(struct reg_link *l, struct ls_smd_msg *m, uint64_t timeout_ms)
{
    struct reg_req *q = calloc(1, sizeof *q), *before;

    if (q == NULL)
        return NULL;
    m->txid = link_txid(l);
    q->txid = m->txid;
    snprintf(q->txkey, sizeof q->txkey, "%u", (unsigned)q->txid);
    q->by_txid.key = q->txkey;
    if (ls_strmap_find(&l->reqs_by_txid, q->txkey) != NULL || /* 2^32 requests out: never */
        ls_strmap_insert(&l->reqs_by_txid, &q->by_txid) != LS_OK) {
        free(q);
        return NULL;
    }
    if (link_send(l, m) != LS_OK) {
        ls_strmap_remove(&l->reqs_by_txid, &q->by_txid);
        free(q);
        return NULL;
    }
    q->kind = m->kind;
    q->deadline_ms = ls_now_ms() + timeout_ms;
    if (m->fields & LS_SMD_F_ID)
        memcpy(q->id, m->id, sizeof q->id);
    /* Deadline order: requests share a timeout except pings, so this walks past a ping or
     * two at most and the tick only ever looks at the first request. */
    for (before = TAILQ_LAST(&l->reqs, reg_reqq); before != NULL && before->deadline_ms > q->deadline_ms;
         before = TAILQ_PREV(before, reg_reqq, link))
        ;
    if (before != NULL)
        TAILQ_INSERT_AFTER(&l->reqs, before, q, link);
    else
        TAILQ_INSERT_HEAD(&l->reqs, q, link);
    return q;
}

/* Takes an answered or failed request out of its link's tables (not its owner's list). */
static void link_forget_request(struct reg_link *l, struct reg_req *q)
{
    TAILQ_REMOVE(&l->reqs, q, link);
    ls_strmap_remove(&l->reqs_by_txid, &q->by_txid);
}

/* Takes a request out of its record's or lookup's list (it keeps the pointer). */
static void req_leave_owner(struct reg_req *q)
{
    if (q->rec != NULL || q->lookup != NULL)
        LIST_REMOVE(q, owner_link);
}

/* ---- records ---- */

static struct reg_record *record_find(const struct spd_registry *reg, const char *id)
{
    struct ls_strmap_node *n = ls_strmap_find(&reg->records, id);

    return n != NULL ? LS_STRMAP_ENTRY(n, struct reg_record, node) : NULL;
}

/* The next record of an iteration over reg->records (which may free it), or NULL. */
static struct reg_record *record_next(struct ls_strmap_iter *it)
{
    struct ls_strmap_node *n = ls_strmap_iter_next(it);

    return n != NULL ? LS_STRMAP_ENTRY(n, struct reg_record, node) : NULL;
}

static struct reg_link *link_by_slot(const struct spd_registry *reg, unsigned slot)
{
    struct reg_link *l;

    TAILQ_FOREACH(l, &reg->links, next)
        if (l->slot == slot)
            return l;
    return NULL;
}

/* Detaches requests that still point at `r` (their answers then only clean up). */
static void record_orphan_requests(struct spd_registry *reg, struct reg_record *r)
{
    struct reg_req *q;

    (void)reg;
    while ((q = LIST_FIRST(&r->reqs)) != NULL) {
        LIST_REMOVE(q, owner_link);
        q->rec = NULL;
    }
}

static void send_unregister(struct reg_link *l, const char *id, uint64_t gen)
{
    struct ls_smd_msg m;

    if (l == NULL || l->state != L_UP)
        return;
    ls_smd_msg_init(&m, LS_SMD_UNREGISTER, 0);
    ls_smd_set_str(&m, LS_SMD_F_ID, id);
    ls_smd_set_num(&m, LS_SMD_F_GENERATION, gen);
    (void)link_request(l, &m, REG_REQUEST_TIMEOUT_MS);
}

/* Unregisters the OK slots (except `skip`), orphans pending registers, frees `r`. */
static void record_release(struct spd_registry *reg, struct reg_record *r, const struct reg_link *skip)
{
    unsigned i;

    for (i = 0; i < reg->slot_cap; i++) {
        struct reg_link *l;

        if (r->slots[i].state != SLOT_OK)
            continue;
        l = link_by_slot(reg, i);
        if (l != skip)
            send_unregister(l, r->id, r->slots[i].gen);
    }
    record_orphan_requests(reg, r);
    ls_strmap_remove(&reg->records, &r->node);
    free(r->slots);
    free(r);
}

static void claim_deliver_cb(evutil_socket_t fd, short what, void *arg)
{
    struct spd_claim *c = arg;

    (void)fd;
    (void)what;
    LIST_REMOVE(c, next);
    event_free(c->ev);
    c->cb(c->arg, c->result, c->why);
    free(c);
}

/* Decides the claim: the answer goes out from its own event. */
static void claim_decide(struct spd_claim *c, int result, const char *why)
{
    struct timeval now = { 0, 0 };

    c->rec = NULL;
    c->result = result;
    snprintf(c->why, sizeof c->why, "%s", why != NULL ? why : "");
    evtimer_add(c->ev, &now);
}

static void register_send(struct reg_link *l, struct reg_record *r, bool reannounce)
{
    struct ls_smd_msg m;
    struct reg_req *q;

    ls_smd_msg_init(&m, LS_SMD_REGISTER, 0);
    ls_smd_set_str(&m, LS_SMD_F_ID, r->id);
    ls_smd_set_num(&m, LS_SMD_F_TAKEOVER_IDLE_MS, l->reg->takeover_idle_ms);
    if (r->since > 0)
        ls_smd_set_num(&m, LS_SMD_F_SINCE, (uint64_t)r->since);
    if (reannounce) {
        m.reannounce = true;
        m.fields |= LS_SMD_F_REANNOUNCE;
    }
    q = link_request(l, &m, REG_REQUEST_TIMEOUT_MS);
    if (q == NULL) {
        r->slots[l->slot].state = SLOT_NONE;
        return;
    }
    q->rec = r;
    LIST_INSERT_HEAD(&r->reqs, q, owner_link);
    r->slots[l->slot].state = SLOT_PENDING;
}

/* An owned record reaches every UP link that does not hold it yet. */
static void record_announce_missing(struct spd_registry *reg, struct reg_record *r)
{
    struct reg_link *l;

    TAILQ_FOREACH(l, &reg->links, next)
        if (l->state == L_UP && r->slots[l->slot].state == SLOT_NONE)
            register_send(l, r, true);
}

/*
 * A local takeover's claim did not go through (refused, or its publisher left): the record
 * goes back to the publisher it was claimed from, which still publishes and is still
 * registered (smd keeps a node's entry as it is when the node registers it again). Slots
 * the failed claim could not confirm are announced again when their smd reconnects.
 */
static void record_revert(struct spd_registry *reg, struct reg_record *r)
{
    unsigned i;

    ls_log_ctx(LS_LOG_INFO, LS_LOG_CTX(r->id, NULL),
               "registry: %s stays with the publisher it was claimed from", r->id);
    r->owner = r->prev_owner;
    r->prev_owner = 0;
    r->state = R_OWNED;
    r->claim = NULL;
    for (i = 0; i < reg->slot_cap; i++)
        if (r->slots[i].state == SLOT_BUSY || r->slots[i].state == SLOT_FAILED)
            r->slots[i].state = SLOT_NONE;
}

/* A claim whose slots are all answered gets its result. */
static void claim_check(struct spd_registry *reg, struct reg_record *r)
{
    unsigned i, ok = 0;
    const struct reg_slot *busy = NULL, *failed = NULL;
    struct spd_claim *c = r->claim;

    if (r->state != R_CLAIMING)
        return;
    for (i = 0; i < reg->slot_cap; i++) {
        switch (r->slots[i].state) {
        case SLOT_PENDING:
            return;
        case SLOT_OK:
            ok++;
            break;
        case SLOT_BUSY:
            busy = &r->slots[i];
            break;
        case SLOT_FAILED:
            failed = &r->slots[i];
            break;
        case SLOT_NONE:
            break;
        }
    }
    r->claim = NULL;
    if (busy != NULL || failed != NULL) {
        const struct reg_slot *s = busy != NULL ? busy : failed;

        if (busy != NULL)
            reg->c.claims_busy++;
        else
            reg->c.claims_failed++;
        ls_log_ctx(LS_LOG_INFO, LS_LOG_CTX(r->id, NULL), "registry: claim of %s refused: %s",
                   r->id, s->why);
        if (c != NULL)
            claim_decide(c, busy != NULL ? LS_EBUSY : LS_ELIMIT, s->why);
        if (r->prev_owner != 0)
            record_revert(reg, r); /* the publisher it would have replaced keeps it */
        else
            record_release(reg, r, NULL);
        return;
    }
    r->state = R_OWNED;
    if (ok == 0) {
        reg->c.claims_standalone++;
        ls_log_ctx(LS_LOG_WARNING, LS_LOG_CTX(r->id, NULL), "registry: no smd reachable: %s "
                   "claimed locally (standalone); it is announced when an smd comes back", r->id);
    } else {
        reg->c.claims_ok++;
    }
    if (c != NULL)
        claim_decide(c, LS_OK, ok == 0 ? "no smd reachable" : NULL);
    /* smds that came up while the claim was out learn of it now */
    record_announce_missing(reg, r);
}

/* Our registration is gone (revoked, or a re-announce lost): drop the publisher. */
static void record_lost(struct spd_registry *reg, struct reg_record *r, struct reg_link *from,
                        const char *how)
{
    char id[LS_STREAM_ID_MAX + 1];
    struct spd_claim *c = r->claim;

    snprintf(id, sizeof id, "%s", r->id);
    ls_log_ctx(LS_LOG_NOTICE, LS_LOG_CTX(id, from->name),
               "registry: %s lost at smd %s: %s; dropping the local publisher", id, from->name,
               how);
    r->claim = NULL;
    if (c != NULL)
        claim_decide(c, LS_EBUSY, how);
    record_release(reg, r, from);
    if (reg->hooks.revoked != NULL)
        reg->hooks.revoked(reg->hooks.arg, id);
}

/* The answer to one of our register requests. `m` NULL = the link went away. */
static void register_answer(struct spd_registry *reg, struct reg_link *l, struct reg_req *q,
                            const struct ls_smd_msg *m)
{
    struct reg_record *r = q->rec;
    struct reg_slot *s;

    if (r == NULL) {
        /* released meanwhile: undo a registration that went through */
        if (m != NULL && m->kind == LS_SMD_RESULT && (m->fields & LS_SMD_F_GENERATION))
            send_unregister(l, q->id, m->generation);
        return;
    }
    s = &r->slots[l->slot];
    if (m == NULL) {
        s->state = SLOT_NONE;
    } else if (m->kind == LS_SMD_RESULT && (m->fields & LS_SMD_F_GENERATION)) {
        s->state = SLOT_OK;
        s->gen = m->generation;
    } else if (m->kind == LS_SMD_ERROR && strcmp(m->code, LS_SMD_CODE_BUSY) == 0) {
        s->state = SLOT_BUSY;
        snprintf(s->why, sizeof s->why, "published on %.63s (%.100s)",
                 (m->fields & LS_SMD_F_NODE_ID) ? m->node_id : "another node",
                 (m->fields & LS_SMD_F_ORIGIN) ? m->origin : "?");
    } else {
        s->state = SLOT_FAILED;
        snprintf(s->why, sizeof s->why, "smd %.100s refused it: %.31s%s%.100s", l->name,
                 m->kind == LS_SMD_ERROR ? m->code : "malformed answer",
                 (m->fields & LS_SMD_F_DESCRIPTION) ? ": " : "",
                 (m->fields & LS_SMD_F_DESCRIPTION) ? m->description : "");
    }
    if (r->state == R_CLAIMING) {
        claim_check(reg, r);
        return;
    }
    /* an owned record: the answer to a re-announce */
    if (s->state == SLOT_BUSY) {
        reg->c.reannounce_losses++;
        record_lost(reg, r, l, "an earlier publisher holds it");
    } else if (s->state == SLOT_FAILED) {
        ls_log_ctx(LS_LOG_WARNING, LS_LOG_CTX(r->id, l->name), "registry: re-announce of %s: %s",
                   r->id, s->why);
        s->state = SLOT_NONE;
    }
}

/* ---- ids known not to be registered ---- */

static void not_found_remove(struct spd_registry *reg, struct reg_not_found *nf)
{
    ls_strmap_remove(&reg->not_found, &nf->node);
    TAILQ_REMOVE(&reg->not_found_age, nf, age);
    free(nf);
}

static void not_found_forget(struct spd_registry *reg, const char *id)
{
    struct ls_strmap_node *n = ls_strmap_find(&reg->not_found, id);

    if (n != NULL)
        not_found_remove(reg, LS_STRMAP_ENTRY(n, struct reg_not_found, node));
}

/* Drops expired entries (they are in expiry order: one timeout for all). */
static void not_found_expire(struct spd_registry *reg, uint64_t now)
{
    struct reg_not_found *nf;

    while ((nf = TAILQ_FIRST(&reg->not_found_age)) != NULL && nf->until_ms <= now)
        not_found_remove(reg, nf);
}

static bool not_found_fresh(struct spd_registry *reg, const char *id)
{
    struct ls_strmap_node *n;

    not_found_expire(reg, ls_now_ms());
    n = ls_strmap_find(&reg->not_found, id);
    return n != NULL;
}

static void not_found_note(struct spd_registry *reg, const char *id)
{
    struct reg_not_found *nf;

    if (reg->not_found_cache_ms == 0 || ls_strmap_find(&reg->not_found, id) != NULL)
        return;
    if (ls_strmap_count(&reg->not_found) >= REG_NOT_FOUND_MAX)
        not_found_remove(reg, TAILQ_FIRST(&reg->not_found_age));
    nf = calloc(1, sizeof *nf);
    if (nf == NULL)
        return;
    snprintf(nf->id, sizeof nf->id, "%s", id);
    nf->node.key = nf->id;
    nf->until_ms = ls_now_ms() + reg->not_found_cache_ms;
    if (ls_strmap_insert(&reg->not_found, &nf->node) != LS_OK) {
        free(nf);
        return;
    }
    TAILQ_INSERT_TAIL(&reg->not_found_age, nf, age);
}

/* ---- lookups ---- */

static struct reg_watch *watch_find(const struct spd_registry *reg, const char *id);

static void lookup_free(struct spd_lookup *lk)
{
    LIST_REMOVE(lk, next);
    if (lk->ev != NULL)
        event_free(lk->ev);
    free(lk);
}

static void lookup_deliver_cb(evutil_socket_t fd, short what, void *arg)
{
    struct spd_lookup *lk = arg;

    (void)fd;
    (void)what;
    lk->dead = true;
    lk->cb(lk->arg, lk->result, lk->result == LS_OK ? lk->origin : NULL,
           lk->result == LS_OK ? lk->node_id : NULL);
    if (lk->pending == 0)
        lookup_free(lk);
}

static void lookup_decide(struct spd_lookup *lk, int result)
{
    struct timeval now = { 0, 0 };

    if (lk->decided)
        return;
    lk->decided = true;
    lk->result = result;
    if (result == LS_OK) {
        lk->reg->c.lookups_found++;
    } else if (result == LS_ENOTFOUND) {
        const struct reg_watch *w = watch_find(lk->reg, lk->id);

        lk->reg->c.lookups_not_found++;
        /* Remembered, unless a watch reported the id registered while we asked: that
         * news is newer than some of the answers. */
        if (w == NULL || w->last_ms < lk->started_ms)
            not_found_note(lk->reg, lk->id);
    } else {
        lk->reg->c.lookups_unreachable++;
    }
    evtimer_add(lk->ev, &now);
}

static void lookup_answer(struct spd_lookup *lk, const struct ls_smd_msg *m)
{
    lk->pending--;
    if (!lk->decided && !lk->dead) {
        if (m != NULL && m->kind == LS_SMD_RESULT &&
            (m->fields & (LS_SMD_F_ORIGIN | LS_SMD_F_NODE_ID)) ==
                (LS_SMD_F_ORIGIN | LS_SMD_F_NODE_ID)) {
            snprintf(lk->origin, sizeof lk->origin, "%s", m->origin);
            snprintf(lk->node_id, sizeof lk->node_id, "%s", m->node_id);
            lookup_decide(lk, LS_OK);
        } else {
            if (m != NULL && m->kind == LS_SMD_ERROR &&
                strcmp(m->code, LS_SMD_CODE_NOT_FOUND) == 0)
                lk->any_not_found = true;
            if (lk->pending == 0)
                lookup_decide(lk, lk->any_not_found ? LS_ENOTFOUND : LS_EIO);
        }
    }
    if (lk->pending == 0 && lk->dead)
        lookup_free(lk);
}

/* ---- link input ---- */

/* Every request of the link fails (the link is closing). */
static void link_fail_requests(struct spd_registry *reg, struct reg_link *l)
{
    struct reg_req *q;

    while ((q = TAILQ_FIRST(&l->reqs)) != NULL) {
        link_forget_request(l, q);
        req_leave_owner(q);
        if (q->kind == LS_SMD_REGISTER)
            register_answer(reg, l, q, NULL);
        else if (q->kind == LS_SMD_LOOKUP && q->lookup != NULL)
            lookup_answer(q->lookup, NULL);
        free(q);
    }
}

static void link_up(struct reg_link *l, const struct ls_smd_msg *m)
{
    struct spd_registry *reg = l->reg;
    struct ls_strmap_iter it;
    struct ls_strmap_node *n;
    struct reg_record *r;
    size_t announced = 0;

    l->state = L_UP;
    l->backoff_ms = REG_BACKOFF_MIN_MS;
    l->lease_ms = (m->fields & LS_SMD_F_LEASE_SECONDS) ? m->lease_seconds * 1000
                                                        : REG_DEFAULT_LEASE_MS;
    l->last_ping_ms = ls_now_ms();
    snprintf(l->smd_node, sizeof l->smd_node, "%s",
             (m->fields & LS_SMD_F_NODE_ID) ? m->node_id : "?");
    reg->c.connects++;
    for (ls_strmap_iter_init(&it, &reg->records); (r = record_next(&it)) != NULL;) {
        if (r->state == R_OWNED && r->slots[l->slot].state == SLOT_NONE) {
            register_send(l, r, true);
            announced++;
        }
    }
    for (ls_strmap_iter_init(&it, &reg->watches); (n = ls_strmap_iter_next(&it)) != NULL;) {
        const struct reg_watch *w = LS_STRMAP_ENTRY(n, struct reg_watch, node);
        struct ls_smd_msg wm;

        ls_smd_msg_init(&wm, LS_SMD_WATCH, 0);
        ls_smd_set_str(&wm, LS_SMD_F_ID, w->id);
        (void)link_request(l, &wm, REG_REQUEST_TIMEOUT_MS);
    }
    ls_log_ctx(l->failing ? LS_LOG_NOTICE : LS_LOG_INFO, LS_LOG_CTX(NULL, l->name),
           "registry: smd %s (%s) %s; lease %llus; re-announced %zu streams", l->name,
           l->smd_node, l->failing ? "reachable again" : "connected",
           (unsigned long long)(l->lease_ms / 1000), announced);
    l->failing = false;
}

static void on_probe(struct reg_link *l, const struct ls_smd_msg *m)
{
    struct spd_registry *reg = l->reg;
    struct ls_smd_msg r;
    uint64_t idle = 0;
    int rc = reg->hooks.publisher_idle != NULL
                 ? reg->hooks.publisher_idle(reg->hooks.arg, m->id, &idle)
                 : LS_ENOTFOUND;

    reg->c.probes_answered++;
    if (rc == LS_OK) {
        ls_smd_msg_init(&r, LS_SMD_RESULT, m->txid);
        ls_smd_set_num(&r, LS_SMD_F_IDLE_MS, idle > LS_SMD_UINT_MAX ? LS_SMD_UINT_MAX : idle);
    } else {
        ls_smd_msg_init(&r, LS_SMD_ERROR, m->txid);
        ls_smd_set_str(&r, LS_SMD_F_CODE, LS_SMD_CODE_NOT_FOUND);
    }
    ls_log_ctx(LS_LOG_DEBUG, LS_LOG_CTX(m->id, l->name), "registry: smd %s probes %s: %s %llu ms",
               l->name, m->id, rc == LS_OK ? "idle" : "no publisher", (unsigned long long)idle);
    (void)link_send(l, &r);
}

static void on_revoked(struct reg_link *l, const struct ls_smd_msg *m)
{
    struct spd_registry *reg = l->reg;
    struct reg_record *r = record_find(reg, m->id);
    char how[96];

    if (r == NULL || r->slots[l->slot].state != SLOT_OK ||
        r->slots[l->slot].gen != m->generation) {
        ls_log_ctx(LS_LOG_DEBUG, LS_LOG_CTX(m->id, l->name), "registry: smd %s revoked %s "
                   "generation %llu: not ours now; ignored", l->name, m->id,
                   (unsigned long long)m->generation);
        return;
    }
    reg->c.revocations++;
    r->slots[l->slot].state = SLOT_NONE; /* that smd already gave it away */
    snprintf(how, sizeof how, "taken over (generation %llu revoked)",
             (unsigned long long)m->generation);
    record_lost(reg, r, l, how);
}

static struct reg_watch *watch_find(const struct spd_registry *reg, const char *id)
{
    struct ls_strmap_node *n = ls_strmap_find(&reg->watches, id);

    return n != NULL ? LS_STRMAP_ENTRY(n, struct reg_watch, node) : NULL;
}

static void on_registered(struct reg_link *l, const struct ls_smd_msg *m)
{
    struct spd_registry *reg = l->reg;
    struct reg_watch *w = watch_find(reg, m->id);
    uint64_t now = ls_now_ms();

    not_found_forget(reg, m->id); /* registered now: the next lookup asks again */
    if (w == NULL)
        return;
    if (strcmp(w->last_node, m->node_id) == 0 && strcmp(w->last_origin, m->origin) == 0 &&
        now - w->last_ms < REG_DEDUP_MS)
        return; /* the same news from another smd */
    snprintf(w->last_node, sizeof w->last_node, "%s", m->node_id);
    snprintf(w->last_origin, sizeof w->last_origin, "%s", m->origin);
    w->last_ms = now;
    reg->c.notifications++;
    if (reg->hooks.registered != NULL)
        reg->hooks.registered(reg->hooks.arg, m->id, m->origin, m->node_id);
}

static void on_answer(struct reg_link *l, const struct ls_smd_msg *m)
{
    struct spd_registry *reg = l->reg;
    struct reg_req *q;
    struct ls_strmap_node *n;
    char key[12];

    snprintf(key, sizeof key, "%u", (unsigned)m->txid);
    n = ls_strmap_find(&l->reqs_by_txid, key);
    if (n == NULL) {
        ls_log(LS_LOG_DEBUG, "registry: smd %s: answer to no pending request", l->name);
        return;
    }
    q = LS_STRMAP_ENTRY(n, struct reg_req, by_txid);
    link_forget_request(l, q);
    req_leave_owner(q);
    switch (q->kind) {
    case LS_SMD_HELLO:
        if (m->kind == LS_SMD_RESULT) {
            link_up(l, m);
        } else {
            reg->c.hello_refusals++;
            if (!l->failing)
                ls_log(LS_LOG_WARNING, "registry: smd %s refused our hello: %s%s%s (check "
                       "cluster_secret and clocks)", l->name, m->code,
                       (m->fields & LS_SMD_F_DESCRIPTION) ? ": " : "",
                       (m->fields & LS_SMD_F_DESCRIPTION) ? m->description : "");
            l->failing = true;
            link_kill(l, "hello refused");
        }
        break;
    case LS_SMD_REGISTER:
        register_answer(reg, l, q, m);
        break;
    case LS_SMD_LOOKUP:
        if (q->lookup != NULL)
            lookup_answer(q->lookup, m);
        break;
    case LS_SMD_WATCH:
        if (m->kind == LS_SMD_ERROR)
            ls_log_ctx(LS_LOG_WARNING, LS_LOG_CTX(q->id, l->name),
                       "registry: smd %s refused to watch %s: %s", l->name, q->id, m->code);
        break;
    default: /* ping, unregister, unwatch: nothing to do */
        break;
    }
    free(q);
}

static void link_on_message(struct ls_conn *c, void *owner, struct ls_frame *msg)
{
    struct reg_link *l = owner;
    struct ls_smd_msg m;
    const char *why = "malformed message";

    (void)c;
    if (l->kill || msg->type == LS_MSG_USER_CONTROL)
        return;
    if (ls_smd_decode_frame(msg, &m, &why) != LS_OK) {
        ls_log(LS_LOG_WARNING, "registry: smd %s sent a bad message: %s; reconnecting", l->name,
               why);
        link_kill(l, "protocol error");
        return;
    }
    if (l->state == L_CHALLENGE && m.kind == LS_SMD_CHALLENGE) {
        on_challenge(l, &m);
        return;
    }
    if (l->state != L_UP && !(l->state == L_HELLO &&
                              (m.kind == LS_SMD_RESULT || m.kind == LS_SMD_ERROR))) {
        if (!l->failing)
            ls_log(LS_LOG_WARNING, "registry: smd %s sent %s %s; reconnecting", l->name,
                   ls_smd_kind_name(m.kind), l->state == L_CHALLENGE ? "before its challenge"
                                                                    : "before the hello answer");
        link_kill(l, "message out of order");
        return;
    }
    switch (m.kind) {
    case LS_SMD_RESULT:
    case LS_SMD_ERROR:
        on_answer(l, &m);
        break;
    case LS_SMD_PROBE:
        on_probe(l, &m);
        break;
    case LS_SMD_REVOKED:
        on_revoked(l, &m);
        break;
    case LS_SMD_REGISTERED:
        on_registered(l, &m);
        break;
    default: {
        struct ls_smd_msg r;

        if (m.txid == 0)
            break;
        ls_smd_msg_init(&r, LS_SMD_ERROR, m.txid);
        ls_smd_set_str(&r, LS_SMD_F_CODE, LS_SMD_CODE_UNSUPPORTED);
        (void)link_send(l, &r);
        break;
    }
    }
}

/* The handshake is done: our chunk size; the hello waits for the smd's challenge. */
static void link_on_ready(struct ls_conn *c, void *owner)
{
    struct reg_link *l = owner;
    struct ls_buf b;

    ls_buf_init(&b, 0);
    ls_control_write_set_chunk_size(&b, ls_conn_out_chunk_size(c));
    if (ls_conn_send_buf(c, &b) != LS_OK) {
        ls_buf_free(&b);
        link_kill(l, "out of memory");
        return;
    }
    ls_buf_free(&b);
    link_want_flush(l);
    l->state = L_CHALLENGE;
    l->challenge_deadline_ms = ls_now_ms() + REG_REQUEST_TIMEOUT_MS;
}

/* The smd's challenge: hello, signed for this connection (its nonce) and that smd. */
static void on_challenge(struct reg_link *l, const struct ls_smd_msg *ch)
{
    struct spd_registry *reg = l->reg;
    struct ls_smd_msg m;
    uint64_t ts = (uint64_t)ls_unix_time();

    ls_smd_msg_init(&m, LS_SMD_HELLO, 0);
    ls_smd_set_str(&m, LS_SMD_F_NODE_ID, reg->node_id);
    ls_smd_set_str(&m, LS_SMD_F_ORIGIN, reg->advertise);
    ls_smd_set_num(&m, LS_SMD_F_TS, ts);
    ls_smd_set_str(&m, LS_SMD_F_VERSION, LS_SMD_VERSION);
    ls_smd_set_str(&m, LS_SMD_F_NONCE, ch->nonce);
    if (ls_smd_hello_sign(reg->secret, reg->node_id, reg->advertise, ts, ch->nonce,
                          ch->node_id, m.sig) == LS_OK)
        m.fields |= LS_SMD_F_SIG;
    l->state = L_HELLO;
    if (link_request(l, &m, REG_REQUEST_TIMEOUT_MS) == NULL)
        link_kill(l, "cannot send hello");
}

static void link_free(struct reg_link *l)
{
    struct spd_registry *reg = l->reg;
    struct ls_strmap_iter it;
    struct reg_record *r;

    reg->slot_used[l->slot] = false;
    for (ls_strmap_iter_init(&it, &reg->records); (r = record_next(&it)) != NULL;)
        memset(&r->slots[l->slot], 0, sizeof r->slots[l->slot]);
    ls_resolve_cancel(l->dns);
    l->dns = NULL;
    TAILQ_REMOVE(&reg->links, l, next);
    reg->nlinks--;
    event_free(l->retry);
    ls_strmap_free(&l->reqs_by_txid); /* empty: every request failed with the session */
    free(l);
}

static void link_on_close(struct ls_conn *c, void *owner, int err, const char *why)
{
    struct reg_link *l = owner;
    struct spd_registry *reg = l->reg;
    struct ls_strmap_iter it;
    struct reg_record *r;
    bool was_up = l->state == L_UP;
    struct timeval tv;

    (void)c;
    (void)err;
    l->conn = NULL;
    l->kill = false;
    l->state = L_DOWN;
    /* the smd dropped our entries with the session: every slot starts over */
    for (ls_strmap_iter_init(&it, &reg->records); (r = record_next(&it)) != NULL;)
        if (r->slots[l->slot].state != SLOT_PENDING)
            r->slots[l->slot].state = SLOT_NONE;
    link_fail_requests(reg, l);
    if (reg->freeing)
        return;
    if (l->removed) {
        link_free(l);
        return;
    }
    if (was_up || !l->failing) {
        reg->c.connect_failures += was_up ? 0 : 1;
        ls_log_ctx(LS_LOG_WARNING, LS_LOG_CTX(NULL, l->name),
                   "registry: smd %s %s: %s; retrying (claims go on without it)", l->name,
                   was_up ? "lost" : "unreachable", why != NULL ? why : "closed");
        l->failing = true;
    } else {
        reg->c.connect_failures++;
        ls_log(LS_LOG_DEBUG, "registry: smd %s still unreachable: %s", l->name,
               why != NULL ? why : "closed");
    }
    tv.tv_sec = l->backoff_ms / 1000;
    tv.tv_usec = (suseconds_t)(l->backoff_ms % 1000) * 1000;
    evtimer_add(l->retry, &tv);
    l->backoff_ms = l->backoff_ms * 2 > REG_BACKOFF_MAX_MS ? REG_BACKOFF_MAX_MS
                                                          : l->backoff_ms * 2;
}

static const struct ls_conn_ops link_ops = {
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
static void link_connect_to(struct reg_link *l, const struct sockaddr *sa, socklen_t len)
{
    struct spd_registry *reg = l->reg;
    struct timeval tv;
    int fd = -1;

    if (sa != NULL)
        fd = ls_net_connect(sa, len);
    if (fd != -1) {
        l->conn = ls_conn_new(reg->base, fd, LS_HS_CLIENT, &reg->conn_cfg, &link_ops, l);
        if (l->conn != NULL) {
            l->state = L_CONNECTING;
            if (ls_conn_start(l->conn) == LS_OK)
                return;
            ls_conn_close(l->conn, LS_EIO, "cannot start the connection"); /* → on_close */
            return;
        }
    }
    reg->c.connect_failures++;
    if (!l->failing)
        ls_log(LS_LOG_WARNING, "registry: cannot connect to smd %s; retrying", l->name);
    l->failing = true;
    tv.tv_sec = l->backoff_ms / 1000;
    tv.tv_usec = (suseconds_t)(l->backoff_ms % 1000) * 1000;
    evtimer_add(l->retry, &tv);
    l->backoff_ms = l->backoff_ms * 2 > REG_BACKOFF_MAX_MS ? REG_BACKOFF_MAX_MS
                                                          : l->backoff_ms * 2;
}

static void link_resolved(void *arg, int result, const struct sockaddr *sa, socklen_t len)
{
    struct reg_link *l = arg;

    l->dns = NULL;
    if (result != LS_OK && !l->failing)
        ls_log(LS_LOG_WARNING, "registry: smd %s: %s", l->name,
               result == LS_ELIMIT ? "no DNS answer in time" : "name does not resolve");
    link_connect_to(l, result == LS_OK ? sa : NULL, len);
}

/* Starts a connection: the smd's address first, looked up on the loop when it is a name
 * (decision 1: nothing blocks), then connect. */
static void link_connect(struct reg_link *l)
{
    struct spd_registry *reg = l->reg;
    struct sockaddr_storage ss;
    socklen_t len;

    if (l->conn != NULL || l->dns != NULL || reg->freeing || !reg->valid)
        return;
    if (reg->resolver != NULL) {
        l->dns = ls_resolver_resolve(reg->resolver, l->name, link_resolved, l);
        if (l->dns == NULL)
            link_connect_to(l, NULL, 0);
        return;
    }
    if (ls_net_resolve(l->name, false, &ss, &len) == LS_OK)
        link_connect_to(l, (struct sockaddr *)&ss, len);
    else
        link_connect_to(l, NULL, 0);
}

/* ---- the tick: pings and request deadlines ---- */

static void tick_cb(evutil_socket_t fd, short what, void *arg)
{
    struct spd_registry *reg = arg;
    struct reg_link *l;
    uint64_t now = ls_now_ms();

    (void)fd;
    (void)what;
    not_found_expire(reg, now);
    TAILQ_FOREACH(l, &reg->links, next) {
        struct reg_req *q;

        if (l->conn == NULL || l->kill)
            continue;
        if (l->state == L_CHALLENGE && now > l->challenge_deadline_ms) {
            reg->c.request_timeouts++;
            ls_log(LS_LOG_WARNING, "registry: smd %s sent no challenge in time (an smd of "
                   "protocol version 1?); reconnecting", l->name);
            link_kill(l, "no challenge");
            continue;
        }
        q = TAILQ_FIRST(&l->reqs); /* the earliest deadline */
        if (q != NULL && now > q->deadline_ms) {
            reg->c.request_timeouts++;
            ls_log(LS_LOG_WARNING, "registry: smd %s did not answer %s in time; "
                   "reconnecting", l->name, ls_smd_kind_name(q->kind));
            link_kill(l, "request timeout");
        }
        if (l->state == L_UP && !l->kill && now - l->last_ping_ms >= l->lease_ms / 3) {
            struct ls_smd_msg m;

            l->last_ping_ms = now;
            ls_smd_msg_init(&m, LS_SMD_PING, 0);
            (void)link_request(l, &m, l->lease_ms);
        }
    }
}

/* ---- configuration ---- */

static int grow_slots(struct spd_registry *reg, unsigned want)
{
    struct ls_strmap_iter it;
    struct reg_record *r;
    bool *used;

    if (want <= reg->slot_cap)
        return LS_OK;
    used = realloc(reg->slot_used, want * sizeof *used);
    if (used == NULL)
        return LS_ENOMEM;
    memset(used + reg->slot_cap, 0, (want - reg->slot_cap) * sizeof *used);
    reg->slot_used = used;
    for (ls_strmap_iter_init(&it, &reg->records); (r = record_next(&it)) != NULL;) {
        struct reg_slot *s = realloc(r->slots, want * sizeof *s);

        if (s == NULL)
            return LS_ENOMEM;
        memset(s + reg->slot_cap, 0, (want - reg->slot_cap) * sizeof *s);
        r->slots = s;
    }
    reg->slot_cap = want;
    return LS_OK;
}

static struct reg_link *link_add(struct spd_registry *reg, const struct ls_addr *addr)
{
    struct reg_link *l;
    unsigned slot;

    for (slot = 0; slot < reg->slot_cap; slot++)
        if (!reg->slot_used[slot])
            break;
    if (slot == reg->slot_cap && grow_slots(reg, reg->slot_cap + 4) != LS_OK)
        return NULL;
    l = calloc(1, sizeof *l);
    if (l == NULL)
        return NULL;
    l->retry = evtimer_new(reg->base, link_retry_cb, l);
    if (l->retry == NULL || ls_addr_format(addr, l->name, sizeof l->name) != LS_OK ||
        ls_strmap_init(&l->reqs_by_txid) != LS_OK) {
        if (l->retry != NULL)
            event_free(l->retry);
        free(l);
        return NULL;
    }
    l->reg = reg;
    l->slot = slot;
    l->addr = *addr;
    l->backoff_ms = REG_BACKOFF_MIN_MS;
    TAILQ_INIT(&l->reqs);
    reg->slot_used[slot] = true;
    TAILQ_INSERT_TAIL(&reg->links, l, next);
    reg->nlinks++;
    return l;
}

static bool str_changed(const char *old, const char *fresh)
{
    return old == NULL || strcmp(old, fresh != NULL ? fresh : "") != 0;
}

/* Copies the identity; returns LS_ENOMEM when a copy fails (old values kept). */
static int set_identity(struct spd_registry *reg, const struct spd_registry_config *cfg)
{
    char *node = strdup(cfg->node_id != NULL ? cfg->node_id : "");
    char *adv = strdup(cfg->advertise != NULL ? cfg->advertise : "");
    char *secret = strdup(cfg->secret != NULL ? cfg->secret : "");
    struct ls_addr a;

    if (node == NULL || adv == NULL || secret == NULL) {
        free(node);
        free(adv);
        free(secret);
        return LS_ENOMEM;
    }
    free(reg->node_id);
    free(reg->advertise);
    free(reg->secret);
    reg->node_id = node;
    reg->advertise = adv;
    reg->secret = secret;
    reg->takeover_idle_ms = cfg->takeover_idle_ms;
    reg->valid = ls_smd_node_id_valid(node) && strlen(adv) < LS_ADDR_STRLEN &&
                 ls_addr_parse(adv, false, &a) == LS_OK;
    if (!reg->valid && cfg->smds != NULL && cfg->smds->n > 0)
        ls_log(LS_LOG_ERR, "registry disabled: node_id \"%s\" must be 1..%d characters of "
               "[A-Za-z0-9_.-] and advertise \"%s\" a host:port", node, LS_SMD_NODE_ID_MAX,
               adv);
    return LS_OK;
}

struct spd_registry *spd_registry_new(struct event_base *base,
                                      const struct spd_registry_config *cfg,
                                      const struct spd_registry_hooks *hooks)
{
    struct spd_registry *reg = calloc(1, sizeof *reg);
    struct timeval tick = { 0, REG_TICK_MS * 1000 };
    struct reg_link *l;
    size_t i;

    if (reg == NULL)
        return NULL;
    reg->base = base;
    reg->resolver = cfg->resolver;
    if (hooks != NULL)
        reg->hooks = *hooks;
    ls_smdlink_conn_config(&reg->conn_cfg);
    TAILQ_INIT(&reg->links);
    LIST_INIT(&reg->claims);
    LIST_INIT(&reg->lookups);
    TAILQ_INIT(&reg->not_found_age);
    reg->not_found_cache_ms = cfg->not_found_cache_ms;
    reg->tick = event_new(base, -1, EV_PERSIST, tick_cb, reg);
    if (ls_strmap_init(&reg->records) != LS_OK || ls_strmap_init(&reg->watches) != LS_OK ||
        ls_strmap_init(&reg->not_found) != LS_OK ||
        reg->tick == NULL || set_identity(reg, cfg) != LS_OK ||
        event_add(reg->tick, &tick) == -1) {
        spd_registry_free(reg);
        return NULL;
    }
    for (i = 0; cfg->smds != NULL && i < cfg->smds->n; i++) {
        if (link_add(reg, &cfg->smds->v[i]) == NULL) {
            spd_registry_free(reg);
            return NULL;
        }
    }
    TAILQ_FOREACH(l, &reg->links, next)
        link_connect(l);
    return reg;
}

void spd_registry_reload(struct spd_registry *reg, const struct spd_registry_config *cfg)
{
    struct reg_link *l, *next;
    bool identity = str_changed(reg->node_id, cfg->node_id) ||
                    str_changed(reg->advertise, cfg->advertise) ||
                    str_changed(reg->secret, cfg->secret);
    size_t i;

    if (set_identity(reg, cfg) != LS_OK) {
        ls_log(LS_LOG_ERR, "registry: out of memory applying the new configuration");
        return;
    }
    reg->not_found_cache_ms = cfg->not_found_cache_ms;
    for (l = TAILQ_FIRST(&reg->links); l != NULL; l = next) {
        bool keep = false;

        next = TAILQ_NEXT(l, next);
        for (i = 0; cfg->smds != NULL && i < cfg->smds->n; i++)
            if (memcmp(&cfg->smds->v[i], &l->addr, sizeof l->addr) == 0)
                keep = true;
        if (keep) {
            if (identity)
                link_kill(l, "identity changed");
            continue;
        }
        ls_log(LS_LOG_NOTICE, "registry: smd %s removed from source_managers", l->name);
        l->removed = true;
        if (l->conn != NULL)
            link_kill(l, "removed from source_managers");
        else
            link_free(l);
    }
    for (i = 0; cfg->smds != NULL && i < cfg->smds->n; i++) {
        bool have = false;

        TAILQ_FOREACH(l, &reg->links, next)
            if (!l->removed && memcmp(&cfg->smds->v[i], &l->addr, sizeof l->addr) == 0)
                have = true;
        if (!have && (l = link_add(reg, &cfg->smds->v[i])) != NULL) {
            ls_log(LS_LOG_NOTICE, "registry: smd %s added to source_managers", l->name);
            link_connect(l);
        }
    }
    /* a link that was waiting on a bad identity can go now */
    TAILQ_FOREACH(l, &reg->links, next)
        if (l->conn == NULL && !evtimer_pending(l->retry, NULL))
            link_connect(l);
}

void spd_registry_free(struct spd_registry *reg)
{
    struct reg_link *l;
    struct reg_record *r;
    struct ls_strmap_iter it;
    struct ls_strmap_node *n;
    struct spd_claim *c;
    struct spd_lookup *lk;

    if (reg == NULL)
        return;
    reg->freeing = true;
    /* Goodbyes: the session's end drops our entries anyway; an explicit unregister
     * makes it immediate and visible in the smd's log. */
    for (ls_strmap_iter_init(&it, &reg->records); (r = record_next(&it)) != NULL;) {
        if (r->state == R_OWNED)
            record_release(reg, r, NULL);
        else {
            record_orphan_requests(reg, r);
            ls_strmap_remove(&reg->records, &r->node);
            free(r->slots);
            free(r);
        }
    }
    while ((l = TAILQ_FIRST(&reg->links)) != NULL) {
        if (l->conn != NULL) {
            ls_conn_flush(l->conn);
            if (l->conn != NULL)
                ls_conn_close(l->conn, LS_OK, "spd stopping"); /* on_close: no reconnect */
        }
        link_free(l);
    }
    for (ls_strmap_iter_init(&it, &reg->watches); (n = ls_strmap_iter_next(&it)) != NULL;) {
        ls_strmap_remove(&reg->watches, n);
        free(LS_STRMAP_ENTRY(n, struct reg_watch, node));
    }
    while (!TAILQ_EMPTY(&reg->not_found_age))
        not_found_remove(reg, TAILQ_FIRST(&reg->not_found_age));
    ls_strmap_free(&reg->records);
    ls_strmap_free(&reg->watches);
    ls_strmap_free(&reg->not_found);
    while ((c = LIST_FIRST(&reg->claims)) != NULL) {
        LIST_REMOVE(c, next);
        event_free(c->ev);
        free(c);
    }
    while ((lk = LIST_FIRST(&reg->lookups)) != NULL)
        lookup_free(lk);
    if (reg->tick != NULL)
        event_free(reg->tick);
    free(reg->slot_used);
    free(reg->node_id);
    free(reg->advertise);
    free(reg->secret);
    free(reg);
}

bool spd_registry_enabled(const struct spd_registry *reg)
{
    return reg != NULL && reg->nlinks > 0;
}

size_t spd_registry_up_count(const struct spd_registry *reg)
{
    const struct reg_link *l;
    size_t n = 0;

    TAILQ_FOREACH(l, &reg->links, next)
        if (l->state == L_UP)
            n++;
    return n;
}

/* ---- claims ---- */

struct spd_claim *spd_registry_claim(struct spd_registry *reg, const char *id, int64_t since,
                                     uint64_t owner,
                                     void (*cb)(void *arg, int result, const char *why), void *arg)
{
    struct spd_claim *c = calloc(1, sizeof *c);
    struct reg_record *r;
    struct reg_link *l;
    struct ls_stream_ref ref;

    if (c == NULL)
        return NULL;
    c->reg = reg;
    c->owner = owner;
    c->cb = cb;
    c->arg = arg;
    c->ev = evtimer_new(reg->base, claim_deliver_cb, c);
    if (c->ev == NULL) {
        free(c);
        return NULL;
    }
    LIST_INSERT_HEAD(&reg->claims, c, next);
    snprintf(c->id, sizeof c->id, "%s", id != NULL ? id : "");
    if (id == NULL || ls_streamid_parse_id(id, &ref, NULL) != LS_OK) {
        claim_decide(c, LS_EINVAL, "invalid stream id");
        return c;
    }
    r = record_find(reg, id);
    if (r != NULL && r->claim != NULL) {
        claim_decide(c, LS_ESTATE, "a claim of this id is already in progress");
        return c;
    }
    if (r == NULL) {
        r = calloc(1, sizeof *r);
        if (r != NULL && reg->slot_cap > 0 &&
            (r->slots = calloc(reg->slot_cap, sizeof *r->slots)) == NULL) {
            free(r);
            r = NULL;
        }
        if (r == NULL) {
            claim_decide(c, LS_ENOMEM, "out of memory");
            return c;
        }
        snprintf(r->id, sizeof r->id, "%s", id);
        r->node.key = r->id;
        if (ls_strmap_insert(&reg->records, &r->node) != LS_OK) {
            free(r->slots);
            free(r);
            claim_decide(c, LS_ENOMEM, "out of memory");
            return c;
        }
    }
    /* A local takeover: the record stays registered (same node) and changes hands once the
     * claim succeeds; until then the publisher it belonged to can still get it back. */
    if (r->state == R_OWNED && r->owner != owner)
        r->prev_owner = r->owner;
    r->owner = owner;
    r->since = since;
    r->state = R_CLAIMING;
    r->claim = c;
    c->rec = r;
    TAILQ_FOREACH(l, &reg->links, next)
        if (l->state == L_UP && r->slots[l->slot].state != SLOT_PENDING)
            register_send(l, r, false);
    claim_check(reg, r);
    return c;
}

void spd_registry_claim_cancel(struct spd_claim *c)
{
    struct spd_registry *reg;

    if (c == NULL)
        return;
    reg = c->reg;
    if (c->rec != NULL) {
        c->rec->claim = NULL;
        if (c->rec->prev_owner != 0)
            record_revert(reg, c->rec);
        else
            record_release(reg, c->rec, NULL);
    } else if (c->result == LS_OK) {
        /* decided but not delivered: the caller no longer wants the id */
        spd_registry_release(reg, c->id, c->owner);
    }
    LIST_REMOVE(c, next);
    event_free(c->ev);
    free(c);
}

void spd_registry_release(struct spd_registry *reg, const char *id, uint64_t owner)
{
    struct reg_record *r;

    if (reg == NULL || id == NULL)
        return;
    r = record_find(reg, id);
    if (r == NULL)
        return;
    if (r->owner != owner) {
        /* Not the record's publisher: the one a local takeover replaces ends after its
         * successor claimed the id (defect 5 of issue 10), or it ended while the claim was
         * out. Either way the record is not its to release; it just cannot come back. */
        if (r->prev_owner == owner)
            r->prev_owner = 0;
        ls_log_ctx(LS_LOG_DEBUG, LS_LOG_CTX(id, NULL),
                   "registry: %s kept: it is claimed by a newer publisher", id);
        return;
    }
    if (r->prev_owner != 0) {
        /* the successor gave up before its predecessor left: the id is still in use */
        if (r->claim != NULL)
            claim_decide(r->claim, LS_ESTATE, "released while claiming");
        record_revert(reg, r);
        return;
    }
    if (r->claim != NULL)
        claim_decide(r->claim, LS_ESTATE, "released while claiming");
    r->claim = NULL;
    ls_log_ctx(LS_LOG_DEBUG, LS_LOG_CTX(id, NULL), "registry: releasing %s", id);
    record_release(reg, r, NULL);
}

/* ---- lookups and watches ---- */

struct spd_lookup *spd_registry_lookup(struct spd_registry *reg, const char *id,
    void (*cb)(void *arg, int result, const char *origin, const char *node_id), void *arg)
{
    struct spd_lookup *lk = calloc(1, sizeof *lk);
    struct timeval now = { 0, 0 };
    struct reg_link *l;

    if (lk == NULL)
        return NULL;
    lk->reg = reg;
    lk->cb = cb;
    lk->arg = arg;
    lk->started_ms = ls_now_ms();
    snprintf(lk->id, sizeof lk->id, "%s", id);
    lk->ev = evtimer_new(reg->base, lookup_deliver_cb, lk);
    if (lk->ev == NULL) {
        free(lk);
        return NULL;
    }
    LIST_INSERT_HEAD(&reg->lookups, lk, next);
    if (reg->not_found_cache_ms != 0 && not_found_fresh(reg, id)) {
        /* Just reported not registered anywhere: the smds would say the same again. A
         * watch tells us (and forgets this) the moment it is registered. */
        reg->c.lookups_cached++;
        lk->decided = true;
        lk->result = LS_ENOTFOUND;
        evtimer_add(lk->ev, &now);
        return lk;
    }
    TAILQ_FOREACH(l, &reg->links, next) {
        struct ls_smd_msg m;
        struct reg_req *q;

        if (l->state != L_UP)
            continue;
        ls_smd_msg_init(&m, LS_SMD_LOOKUP, 0);
        if (ls_smd_set_str(&m, LS_SMD_F_ID, id) != LS_OK)
            break;
        q = link_request(l, &m, REG_REQUEST_TIMEOUT_MS);
        if (q != NULL) {
            q->lookup = lk;
            LIST_INSERT_HEAD(&lk->reqs, q, owner_link);
            lk->pending++;
        }
    }
    if (lk->pending == 0)
        lookup_decide(lk, LS_EIO);
    return lk;
}

void spd_registry_lookup_cancel(struct spd_lookup *lk)
{
    struct reg_req *q;

    if (lk == NULL)
        return;
    /* detach the requests still out: their answers then go nowhere */
    while ((q = LIST_FIRST(&lk->reqs)) != NULL) {
        LIST_REMOVE(q, owner_link);
        q->lookup = NULL;
    }
    lookup_free(lk);
}

static void watch_send(struct spd_registry *reg, enum ls_smd_kind kind, const char *id)
{
    struct reg_link *l;

    TAILQ_FOREACH(l, &reg->links, next) {
        struct ls_smd_msg m;

        if (l->state != L_UP)
            continue;
        ls_smd_msg_init(&m, kind, 0);
        ls_smd_set_str(&m, LS_SMD_F_ID, id);
        (void)link_request(l, &m, REG_REQUEST_TIMEOUT_MS);
    }
}

void spd_registry_watch(struct spd_registry *reg, const char *id)
{
    struct reg_watch *w = watch_find(reg, id);
    struct ls_stream_ref ref;

    if (w != NULL) {
        w->refs++;
        return;
    }
    if (ls_streamid_parse_id(id, &ref, NULL) != LS_OK || (w = calloc(1, sizeof *w)) == NULL)
        return;
    snprintf(w->id, sizeof w->id, "%s", id);
    w->node.key = w->id;
    w->refs = 1;
    if (ls_strmap_insert(&reg->watches, &w->node) != LS_OK) {
        free(w);
        return;
    }
    watch_send(reg, LS_SMD_WATCH, id);
}

void spd_registry_unwatch(struct spd_registry *reg, const char *id)
{
    struct reg_watch *w = watch_find(reg, id);

    if (w == NULL || --w->refs > 0)
        return;
    ls_strmap_remove(&reg->watches, &w->node);
    watch_send(reg, LS_SMD_UNWATCH, w->id);
    free(w);
}

/* ---- metrics ---- */

void spd_registry_metrics(struct ls_buf *out, void *arg)
{
    const struct spd_registry *reg = arg;
    const struct reg_counters *c = &reg->c;
    static const char *const claim_results[] = { "ok", "busy", "failed", "standalone" };
    const uint64_t claims[] = { c->claims_ok, c->claims_busy, c->claims_failed,
                                c->claims_standalone };
    static const char *const lookup_results[] = { "found", "not_found", "unreachable",
                                                   "not_found_cached" };
    const uint64_t lookups[] = { c->lookups_found, c->lookups_not_found,
                                 c->lookups_unreachable, c->lookups_cached };

    ls_prom_metric(out, "livecluster_registry_smds", "gauge", "smds in source_managers.",
                   reg->nlinks);
    ls_prom_metric(out, "livecluster_registry_smds_up", "gauge", "smds with a live session.",
                   spd_registry_up_count(reg));
    ls_prom_metric(out, "livecluster_registry_connects_total", "counter",
                   "Sessions established with an smd.", c->connects);
    ls_prom_metric(out, "livecluster_registry_connect_failures_total", "counter",
                   "Failed or lost smd connections.", c->connect_failures);
    ls_prom_metric(out, "livecluster_registry_hello_refusals_total", "counter",
                   "Hellos an smd refused (cluster_secret or clock).", c->hello_refusals);
    ls_prom_metric(out, "livecluster_registry_request_timeouts_total", "counter",
                   "smd requests unanswered in time.", c->request_timeouts);
    ls_prom_counter_by(out, "livecluster_registry_claims_total", "Publisher claims, by result.",
                       "result", claim_results, claims, 4);
    ls_prom_metric(out, "livecluster_registry_revocations_total", "counter",
                   "Registrations taken over elsewhere.", c->revocations);
    ls_prom_metric(out, "livecluster_registry_reannounce_losses_total", "counter",
                   "Re-announces lost to an earlier publisher.", c->reannounce_losses);
    ls_prom_counter_by(out, "livecluster_registry_lookups_total", "Lookups, by result.", "result",
                       lookup_results, lookups, 4);
    ls_prom_metric(out, "livecluster_registry_probes_answered_total", "counter",
                   "Idleness probes answered.", c->probes_answered);
    ls_prom_metric(out, "livecluster_registry_notifications_total", "counter",
                   "Watched ids reported registered.", c->notifications);
}
