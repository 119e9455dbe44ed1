/*
 * server.h — the RTMP server shared by spd and epd: listener, sessions, the hub, the
 * admission step, and the hooks through which a role (origin or edge) joins in.
 *
 * Every publish and play goes through the same steps:
 *
 *   command → stream id validated (streamid.h) → admission (tokens, auth_url; always
 *   asynchronous) → role hook (e.g. spd registers the publisher with smd) → answered
 *
 * A play of an id that is not live waits up to play_wait_timeout for a source (the role's
 * stream_wanted hook may start a pull), then fails with NetStream.Play.StreamNotFound.
 */
#ifndef LIBSTREAM_SERVER_H
#define LIBSTREAM_SERVER_H

#include <stdbool.h>
#include <stdint.h>

#include "libstream/auth.h"
#include "libstream/conn.h"
#include "libstream/err.h"
#include "libstream/hub.h"
#include "libstream/streamid.h"

struct event_base;
struct ls_server;
struct ls_session;
struct ls_vod;
struct ls_tls_ctx;

struct ls_server_config {
    unsigned max_connections;           /* RTMP + HTTP-FLV clients; over it: refused */
    struct ls_conn_config conn;         /* handshake timeout, chunk limits, chunk size */
    unsigned connect_timeout_ms;        /* connected but neither publishing nor playing */
    unsigned publisher_idle_timeout_ms; /* publisher sending nothing is closed */
    unsigned publish_takeover_idle_ms;  /* an idle publisher is taken over after this */
    unsigned play_wait_timeout_ms;      /* play of a non-live id waits this long */
    bool allow_publish;                 /* false on edges */
    struct ls_auth_config publish_auth; /* borrowed strings; valid until the next reload */
    struct ls_auth_config play_auth;
    const char *cluster_secret;         /* verifies internal pulls; "" = nobody is one */
    const char *node_id;                /* signed into internal pulls of this node */
};
void ls_server_config_defaults(struct ls_server_config *cfg);

struct ls_publish_claim;

struct ls_server_hooks {
    /*
     * A publisher passed admission; the role decides cluster-wide (spd asks smd) and then
     * calls ls_publish_claim_done exactly once — also after publish_claim_cancelled (the
     * session went away; the answer is then ignored and the claim freed). NULL = accept
     * at once. `takeover` is true when a local publisher of the id was idle and is being
     * replaced.
     */
    void (*publish_claim)(void *arg, struct ls_publish_claim *claim, const char *id,
                          bool takeover);
    /* A claim's session went away before ls_publish_claim_done: stop the work and call
     * ls_publish_claim_done (now or later) to free the claim. */
    void (*publish_claim_cancelled)(void *arg, struct ls_publish_claim *claim);
    /* A publisher started (Publish.Start sent). */
    void (*publish_started)(void *arg, const char *id);
    /* A publisher stopped (unpublish, disconnect, takeover). `publisher` is the token its
     * claim carried (ls_publish_claim_publisher): when a new publisher of the id took over
     * here, the old one's end must not release what the new one claimed. */
    void (*publish_ended)(void *arg, const char *id, uint64_t publisher);
    void *arg;
};

/*
 * Answer to a claim: LS_OK (publish starts), LS_EBUSY (refused: BadName, id owned
 * elsewhere), LS_EAUTH / LS_EIO / other (refused with a generic failure).
 */
void ls_publish_claim_done(struct ls_publish_claim *claim, int result, const char *why);
/* The publisher behind a claim: a token unique in this process (never 0), the same one
 * publish_ended reports, so a role can tie what it claims to the session that owns it. */
uint64_t ls_publish_claim_publisher(const struct ls_publish_claim *claim);

/* Listens on `listen` (an ls_addr text "host:port"). NULL with a logged reason on failure. */
struct ls_server *ls_server_new(struct event_base *base, struct ls_hub *hub,
                                const struct ls_server_config *cfg, const char *listen);
void ls_server_free(struct ls_server *srv);
/* Also listens for RTMPS (RTMP over TLS with `tls`'s certificate, borrowed until
 * ls_server_free) on `listen`. LS_EIO with a logged reason. */
LS_MUST_CHECK int ls_server_listen_tls(struct ls_server *srv, const char *listen,
                                       struct ls_tls_ctx *tls);
void ls_server_set_hooks(struct ls_server *srv, const struct ls_server_hooks *hooks);
/* Applies a reloaded config to new requests (chunk size and listen address stay). */
void ls_server_set_config(struct ls_server *srv, const struct ls_server_config *cfg);
const struct ls_server_config *ls_server_config(const struct ls_server *srv);
struct ls_hub *ls_server_hub(const struct ls_server *srv);
struct event_base *ls_server_base(const struct ls_server *srv);
/* Plays of the vod app go to files (vod.h, vodplay.h) from now on; NULL = none (the app is
 * then a live app like any other). `vod` is borrowed until it is set again. */
void ls_server_set_vod(struct ls_server *srv, struct ls_vod *vod);
/* Stops accepting; closes every session (publishers are unpublished). */
void ls_server_shutdown(struct ls_server *srv);
unsigned ls_server_session_count(const struct ls_server *srv);
/* Counts a client connection from another transport (HTTP-FLV) against max_connections.
 * LS_ELIMIT when full. */
LS_MUST_CHECK int ls_server_connection_acquire(struct ls_server *srv);
void ls_server_connection_release(struct ls_server *srv);

#endif /* LIBSTREAM_SERVER_H */
