/*
 * registry.c — spd's registry client (see registry.h; protocol in docs/protocol.md).
 * Layer: above libstream's registry link (reglink.h: one session per smd, its hello,
 * pings, request deadlines, back-off and reports) and the registry codec (smdproto.h);
 * below spd's origin, which calls it for publishers and waiting plays.
 *
 * One link per smd; when it comes up: re-announce every claimed id, re-watch every
 * watched id; answer probes.
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
 * events; flushing and closing links are deferred to the next loop turn (reglink.h); so
 * nothing frees a link or a record while a loop over them is running.
 *
 * Cost per request: every table on the lookup and watch path is hashed or indexed, since
 * viewers decide how many ids are looked up. A link finds its requests by txid (reglink.c);
 * a record and a lookup each list their own requests (a release or a cancel touches those
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
#include "libstream/log.h"
#include "libstream/prom.h"
#include "libstream/reglink.h"
#include "libstream/resolver.h"
#include "libstream/smdproto.h"
#include "libstream/streamid.h"
#include "libstream/strmap.h"
#include "registry.h"

#define REG_REQUEST_TIMEOUT_MS LS_REGLINK_REQUEST_TIMEOUT_MS
#define REG_TICK_MS 250u
#define REG_DEDUP_MS 1000u
#define REG_NOT_FOUND_MAX 65536u      /* ids remembered as not registered, at most */

enum slot_state { SLOT_NONE, SLOT_PENDING, SLOT_OK, SLOT_BUSY, SLOT_FAILED };
enum record_state { R_CLAIMING, R_OWNED };

struct reg_record;
struct spd_lookup;

/*
 * A request is a struct ls_reglink_req (reglink.h) whose `owner` is, by its kind: a
 * register's record (NULL once released: an orphaned register that succeeds is
 * unregistered), a lookup's struct spd_lookup; `id` is the request's id.
 */

struct reg_link {
    struct spd_registry *reg;
    TAILQ_ENTRY(reg_link) next;
    unsigned slot;
    struct ls_reglink *rl;
    const char *name;       /* the smd's "host:port" (the link's) */
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
    LIST_HEAD(, ls_reglink_req) reqs; /* register requests out for it */
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
    LIST_HEAD(, ls_reglink_req) reqs; /* its requests still out */
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
    uint64_t claims_ok, claims_busy, claims_failed, claims_standalone;
    uint64_t revocations, reannounce_losses;
    uint64_t lookups_found, lookups_not_found, lookups_unreachable, lookups_cached;
    uint64_t probes_answered, notifications;
};

struct spd_registry {
    struct event_base *base;
    struct ls_resolver *resolver;      /* borrowed; NULL = blocking lookups (tools) */
    char *node_id, *advertise, *secret;
    struct ls_reglink_identity ident;  /* the strings above, borrowed by every link */
    struct ls_reporter *reporter;      /* borrowed; NULL = no reports */
    struct ls_reglink_counters link_c;
    unsigned takeover_idle_ms;
    unsigned not_found_cache_ms;
    struct spd_registry_hooks hooks;
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

/* ---- links ---- */

static bool link_up_now(const struct reg_link *l)
{
    return ls_reglink_is_up(l->rl);
}

/* Sends a request on an up link. Returns the request, or NULL (not sent). */
static struct ls_reglink_req *link_request(struct reg_link *l, struct ls_smd_msg *m,
                                           uint64_t timeout_ms)
{
    return ls_reglink_request(l->rl, m, timeout_ms);
}

/* Takes a request out of its record's or lookup's list (it keeps the pointer). */
static void req_leave_owner(struct ls_reglink_req *q)
{
    if (q->owner != NULL)
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
    struct ls_reglink_req *q;

    (void)reg;
    while ((q = LIST_FIRST(&r->reqs)) != NULL) {
        LIST_REMOVE(q, owner_link);
        q->owner = NULL;
    }
}

static void send_unregister(struct reg_link *l, const char *id, uint64_t gen)
{
    struct ls_smd_msg m;

    if (l == NULL || !link_up_now(l))
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
    struct ls_reglink_req *q;

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
    q->owner = r;
    LIST_INSERT_HEAD(&r->reqs, q, owner_link);
    r->slots[l->slot].state = SLOT_PENDING;
}

/* An owned record reaches every UP link that does not hold it yet. */
static void record_announce_missing(struct spd_registry *reg, struct reg_record *r)
{
    struct reg_link *l;

    TAILQ_FOREACH(l, &reg->links, next)
        if (link_up_now(l) && r->slots[l->slot].state == SLOT_NONE)
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
static void register_answer(struct spd_registry *reg, struct reg_link *l,
                            struct ls_reglink_req *q, const struct ls_smd_msg *m)
{
    struct reg_record *r = q->owner;
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

/* The session is up: every claimed id and every watch again (the smd forgot them). */
static void link_up(struct ls_reglink *rl, void *arg, const struct ls_smd_msg *m)
{
    struct reg_link *l = arg;
    struct spd_registry *reg = l->reg;
    struct ls_strmap_iter it;
    struct ls_strmap_node *n;
    struct reg_record *r;
    size_t announced = 0;

    (void)rl;
    (void)m;
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
    ls_log_ctx(LS_LOG_INFO, LS_LOG_CTX(NULL, l->name), "registry: smd %s: re-announced %zu streams",
               l->name, announced);
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
    (void)ls_reglink_send(l->rl, &r);
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

/* The answer to a request of ours (m NULL: it failed with the session). */
static void link_answer(struct ls_reglink *rl, void *arg, struct ls_reglink_req *q,
                        const struct ls_smd_msg *m)
{
    struct reg_link *l = arg;
    struct spd_registry *reg = l->reg;

    (void)rl;
    req_leave_owner(q);
    switch (q->kind) {
    case LS_SMD_REGISTER:
        register_answer(reg, l, q, m);
        break;
    case LS_SMD_LOOKUP:
        if (q->owner != NULL)
            lookup_answer(q->owner, m);
        break;
    case LS_SMD_WATCH:
        if (m != NULL && m->kind == LS_SMD_ERROR)
            ls_log_ctx(LS_LOG_WARNING, LS_LOG_CTX(q->id, l->name),
                       "registry: smd %s refused to watch %s: %s", l->name, q->id, m->code);
        break;
    default: /* unregister, unwatch: nothing to do */
        break;
    }
}

static void link_message(struct ls_reglink *rl, void *arg, const struct ls_smd_msg *m)
{
    struct reg_link *l = arg;

    (void)rl;
    switch (m->kind) {
    case LS_SMD_PROBE:
        on_probe(l, m);
        break;
    case LS_SMD_REVOKED:
        on_revoked(l, m);
        break;
    case LS_SMD_REGISTERED:
        on_registered(l, m);
        break;
    default:
        break;
    }
}

/* The smd dropped our entries with the session: every slot starts over (a pending one
 * when its request fails, next). */
static void link_down(struct ls_reglink *rl, void *arg)
{
    struct reg_link *l = arg;
    struct ls_strmap_iter it;
    struct reg_record *r;

    (void)rl;
    for (ls_strmap_iter_init(&it, &l->reg->records); (r = record_next(&it)) != NULL;)
        if (r->slots[l->slot].state != SLOT_PENDING)
            r->slots[l->slot].state = SLOT_NONE;
}

/* Forgets the wrapper of a link that is gone (its reglink is freed by the caller). */
static void link_forget(struct reg_link *l)
{
    struct spd_registry *reg = l->reg;
    struct ls_strmap_iter it;
    struct reg_record *r;

    reg->slot_used[l->slot] = false;
    for (ls_strmap_iter_init(&it, &reg->records); (r = record_next(&it)) != NULL;)
        memset(&r->slots[l->slot], 0, sizeof r->slots[l->slot]);
    TAILQ_REMOVE(&reg->links, l, next);
    reg->nlinks--;
    free(l);
}

static void link_removed(struct ls_reglink *rl, void *arg)
{
    (void)rl;
    link_forget(arg);
}

static const struct ls_reglink_ops link_ops = {
    .up = link_up,
    .answer = link_answer,
    .message = link_message,
    .down = link_down,
    .removed = link_removed,
};

/* ---- the tick: ids known not to be registered ---- */

static void tick_cb(evutil_socket_t fd, short what, void *arg)
{
    struct spd_registry *reg = arg;

    (void)fd;
    (void)what;
    not_found_expire(reg, ls_now_ms());
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
    struct ls_reglink_config cfg = {
        .identity = &reg->ident,
        .resolver = reg->resolver,
        .reporter = reg->reporter,
        .counters = &reg->link_c,
        .ops = &link_ops,
    };
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
    cfg.arg = l;
    l->rl = ls_reglink_new(reg->base, addr, &cfg);
    if (l->rl == NULL) {
        free(l);
        return NULL;
    }
    l->reg = reg;
    l->slot = slot;
    l->name = ls_reglink_name(l->rl);
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
    reg->ident.node_id = node;
    reg->ident.advertise = adv;
    reg->ident.secret = secret;
    reg->ident.role = "spd";
    reg->ident.valid = ls_smd_node_id_valid(node) && strlen(adv) < LS_ADDR_STRLEN &&
                       ls_addr_parse(adv, false, &a) == LS_OK;
    if (!reg->ident.valid && cfg->smds != NULL && cfg->smds->n > 0)
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
    reg->reporter = cfg->reporter;
    if (hooks != NULL)
        reg->hooks = *hooks;
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
        ls_reglink_start(l->rl);
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
            if (memcmp(&cfg->smds->v[i], ls_reglink_addr(l->rl), sizeof cfg->smds->v[i]) == 0)
                keep = true;
        if (keep) {
            if (identity)
                ls_reglink_kill(l->rl, "identity changed");
            continue;
        }
        ls_log(LS_LOG_NOTICE, "registry: smd %s removed from source_managers", l->name);
        /* freed at once, or when its session has closed (link_removed) */
        if (ls_reglink_remove(l->rl))
            link_forget(l);
    }
    for (i = 0; cfg->smds != NULL && i < cfg->smds->n; i++) {
        bool have = false;

        TAILQ_FOREACH(l, &reg->links, next)
            if (memcmp(&cfg->smds->v[i], ls_reglink_addr(l->rl), sizeof cfg->smds->v[i]) == 0)
                have = true;
        if (!have && (l = link_add(reg, &cfg->smds->v[i])) != NULL) {
            ls_log(LS_LOG_NOTICE, "registry: smd %s added to source_managers", l->name);
            ls_reglink_start(l->rl);
        }
    }
    /* a link that was waiting on a bad identity can go now */
    TAILQ_FOREACH(l, &reg->links, next)
        ls_reglink_start(l->rl);
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
        ls_reglink_free(l->rl); /* flushes the goodbyes; no reconnect */
        link_forget(l);
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
        if (link_up_now(l))
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
        if (link_up_now(l) && r->slots[l->slot].state != SLOT_PENDING)
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
        struct ls_reglink_req *q;

        if (!link_up_now(l))
            continue;
        ls_smd_msg_init(&m, LS_SMD_LOOKUP, 0);
        if (ls_smd_set_str(&m, LS_SMD_F_ID, id) != LS_OK)
            break;
        q = link_request(l, &m, REG_REQUEST_TIMEOUT_MS);
        if (q != NULL) {
            q->owner = lk;
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
    struct ls_reglink_req *q;

    if (lk == NULL)
        return;
    /* detach the requests still out: their answers then go nowhere */
    while ((q = LIST_FIRST(&lk->reqs)) != NULL) {
        LIST_REMOVE(q, owner_link);
        q->owner = NULL;
    }
    lookup_free(lk);
}

static void watch_send(struct spd_registry *reg, enum ls_smd_kind kind, const char *id)
{
    struct reg_link *l;

    TAILQ_FOREACH(l, &reg->links, next) {
        struct ls_smd_msg m;

        if (!link_up_now(l))
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
    const struct ls_reglink_counters *lc = &reg->link_c;
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
                   "Sessions established with an smd.", lc->connects);
    ls_prom_metric(out, "livecluster_registry_connect_failures_total", "counter",
                   "Failed or lost smd connections.", lc->connect_failures);
    ls_prom_metric(out, "livecluster_registry_hello_refusals_total", "counter",
                   "Hellos an smd refused (cluster_secret or clock).", lc->hello_refusals);
    ls_prom_metric(out, "livecluster_registry_request_timeouts_total", "counter",
                   "smd requests unanswered in time.", lc->request_timeouts);
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
    ls_prom_metric(out, "livecluster_registry_reports_total", "counter",
                   "Report messages sent to smds (cluster view).", lc->reports);
}
