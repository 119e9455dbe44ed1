/*
 * regpeer.h — a scripted registry peer for in-process tests: the spd side of the registry
 * protocol (smdproto.h) over one real ls_conn on loopback, speaking exactly what the test
 * says — including what a correct spd never would (a stale unregister, a probe left
 * unanswered) — and keeping everything the smd sends in an inbox the test inspects.
 *
 * It plays either side: regpeer_open connects to an smd (the peer is an spd), and
 * regpeer_listen accepts one spd's connection (the peer is an smd, answering by hand;
 * it sends the challenge itself, as an smd does, with node_id "fake-smd").
 *
 * Nothing here waits: a test sends, then runs the event loop (evloop.h) until the answer
 * or event it expects is in the inbox.
 */
#ifndef LC_TEST_REGPEER_H
#define LC_TEST_REGPEER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "libstream/smdproto.h"

struct event_base;
struct evconnlistener;
struct ls_conn;

#define REGPEER_INBOX 64

/* How the peer answers the smd's probes (every probe is also kept in the inbox). */
enum regpeer_probe_mode {
    REGPEER_IDLE,  /* _result {idle_ms: probe_idle_ms} */
    REGPEER_NONE,  /* _error NotFound: no publisher here */
    REGPEER_MUTE,  /* no answer (the test may answer the kept probe itself) */
};

struct regpeer {
    struct event_base *base;
    struct evconnlistener *listener; /* regpeer_listen: until the connection arrives */
    struct ls_conn *conn;       /* NULL once closed */
    bool ready;                 /* handshake done */
    bool challenged;            /* the smd's challenge arrived (client role), or we sent
                                 * ours (listen role) */
    char nonce[LS_SMD_NONCE_HEX + 1];      /* that challenge's nonce */
    char smd_node[LS_SMD_NODE_ID_MAX + 1]; /* and node_id */
    bool closed;                /* on_close ran */
    bool listening;             /* regpeer_listen: we play the smd */
    int close_err;
    char node_id[LS_SMD_NODE_ID_MAX + 1];
    char advertise[LS_ADDR_STRLEN];
    uint32_t next_txid;
    enum regpeer_probe_mode probe_mode;
    uint64_t probe_idle_ms;
    struct ls_smd_msg in[REGPEER_INBOX]; /* received, oldest first, not yet taken */
    size_t nin;
    bool overflow;              /* a message did not fit in the inbox (a test bug) */
    bool bad_input;             /* the smd sent something that does not decode */
    /* hello: set after open, before regpeer_hello ("" = the current version, no role) */
    char version[LS_SMD_VERSION_MAX + 1];
    char role[LS_SMD_ROLE_MAX + 1];
    /* listen role: reports the node sent (not in the inbox) */
    unsigned reports;
    unsigned reports_full;
    char last_report[4096];     /* the last report's body (truncated) */
};

/*
 * Starts connecting to the smd at `hostport` ("127.0.0.1:7935") as node `node_id`
 * advertising `advertise`. LS_OK, or an error (nothing to close then). The handshake and
 * everything after run from the event loop: wait for `ready`.
 */
int regpeer_open(struct regpeer *p, struct event_base *base, const char *hostport,
                 const char *node_id, const char *advertise);
/*
 * Listens on `hostport` and takes the first connection that arrives (server role: the
 * test plays an smd; the inbox receives what the spd sends). LS_OK or an error.
 */
int regpeer_listen(struct regpeer *p, struct event_base *base, const char *hostport);
/* Closes the connection now (on_close runs inside) and any listener; a closed peer is
 * left alone. */
void regpeer_close(struct regpeer *p);

/* Queues `m` and flushes. A request (any kind but _result/_error/revoked/registered)
 * with txid 0 gets the next txid. Returns the txid sent, or 0 when it could not go. */
uint32_t regpeer_send(struct regpeer *p, struct ls_smd_msg *m);

/* Queues one command message (type 20, stream 0) of the given payload bytes, and flushes:
 * for what the codec would refuse to build. LS_OK or an error. */
int regpeer_send_raw(struct regpeer *p, const uint8_t *payload, size_t len);

/* One report message (smdreport.h) with this body. LS_OK or an error. */
int regpeer_report(struct regpeer *p, bool full, bool more, const char *body);

/* A signed hello (secret "" when the smd has none) at UNIX time `ts`, answering the
 * challenge this connection received (wait for `challenged` first); returns its txid. */
uint32_t regpeer_hello(struct regpeer *p, const char *secret, uint64_t ts);
/* The same for another challenge: a hello captured elsewhere, or signed for another smd. */
uint32_t regpeer_hello_for(struct regpeer *p, const char *secret, uint64_t ts,
                           const char *nonce, const char *smd_node);
/* register {id, takeover_idle_ms [, since] [, reannounce]}; since 0 = absent. */
uint32_t regpeer_register(struct regpeer *p, const char *id, uint64_t takeover_idle_ms,
                          uint64_t since, bool reannounce);
/* One-field requests: unregister {id, generation} (generation ignored for the others),
 * lookup / watch / unwatch {id}, ping (id NULL). */
uint32_t regpeer_request(struct regpeer *p, enum ls_smd_kind kind, const char *id,
                         uint64_t generation);

/*
 * Takes the oldest inbox message matching: `kind` (LS_SMD_UNKNOWN = _result or _error),
 * `txid` (0 = any), `id` (NULL = any). Copies it to *out (may be NULL) and removes it.
 * False when there is none.
 */
bool regpeer_take(struct regpeer *p, enum ls_smd_kind kind, uint32_t txid, const char *id,
                  struct ls_smd_msg *out);
/* As regpeer_take, without removing. */
bool regpeer_has(const struct regpeer *p, enum ls_smd_kind kind, uint32_t txid,
                 const char *id);

#endif
