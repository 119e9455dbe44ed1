/*
 * tls.h — TLS on spd's and epd's listeners (docs/interface.md "TLS"), on OpenSSL: RTMPS
 * (`rtmps_listen`: an RTMP connection, conn.h, whose socket I/O goes through a struct
 * ls_tls) and HTTPS (`https_listen`: evhttp over libevent's OpenSSL bufferevent, made by
 * ls_tls_bufferevent_new).
 *
 * A listener's context (struct ls_tls_ctx) holds the certificate and key and the settings
 * every connection shares: TLS 1.2 and 1.3 only, ECDHE with AEAD ciphers, no
 * renegotiation, resumption by session tickets only (no per-session memory on the server;
 * the ticket keys survive a certificate reload, so clients resume across a renewal).
 * Reloading swaps the certificate for new connections; established ones keep the one they
 * shook hands with (OpenSSL counts the references).
 *
 * Kernel TLS: contexts ask OpenSSL for it (SSL_OP_ENABLE_KTLS). Where the kernel takes the
 * connection's keys after the handshake, an RTMPS connection hands its queued references
 * to the kernel with writev exactly as a plain one does (the kernel encrypts); elsewhere
 * it copies up to one record (LS_TLS_RECORD_MAX bytes) of its queue into a buffer and
 * encrypts that with one SSL_write: one record and one send per flush window, not one per
 * message (docs/architecture.md decision 2). Each listener's metrics say which path its
 * last handshake got (livecluster_tls_ktls).
 *
 * Bounds: the handshake of an RTMPS connection is bounded by handshake_timeout, an HTTPS
 * one by http_request_timeout (no request can arrive before it); what a stalled handshake
 * holds is OpenSSL's state plus one record: a ClientHello that announces more than
 * tls_max_client_hello is refused at its first record (ls_tls_ctx_set_max_client_hello).
 * An established connection holds at most one encrypted record that the socket
 * has not taken yet (OpenSSL's write buffer, released once empty); the rest of its output
 * stays in its queue by reference, under the hub's slow-viewer policy.
 */
#ifndef LIBSTREAM_TLS_H
#define LIBSTREAM_TLS_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "libstream/err.h"
#include "libstream/outq.h"

struct bufferevent;
struct event_base;
struct ls_buf;
struct ls_tls;
struct ls_tls_ctx;

/* The most plaintext one TLS record carries (RFC 8446 §5.1). */
#define LS_TLS_RECORD_MAX 16384
/* Longest ClientHello accepted unless the context says otherwise (tls_max_client_hello). */
#define LS_TLS_DEFAULT_MAX_CLIENT_HELLO 16384

/*
 * Checks that `cert` holds a PEM certificate chain and `key` (when not NULL) a PEM private
 * key that matches it. LS_OK, or LS_ECONF with one line saying why in `why` (for the
 * config loader's "FILE:LINE: message"). Reads the files.
 */
LS_MUST_CHECK int ls_tls_check_files(const char *cert, const char *key, char *why,
                                     size_t whylen);

/*
 * A listener's context: `listener` names it in metrics and logs ("rtmps", "https"; copied).
 * NULL with a reason in `why` when the files do not load (or memory is short).
 */
struct ls_tls_ctx *ls_tls_ctx_new(const char *listener, const char *cert, const char *key,
                                  char *why, size_t whylen);
/* Loads the files again for connections accepted from now on. On failure (LS_ECONF, `why`
 * filled) the certificate in use stays. */
LS_MUST_CHECK int ls_tls_ctx_reload(struct ls_tls_ctx *ctx, const char *cert, const char *key,
                                    char *why, size_t whylen);
/*
 * A ClientHello that announces more than `bytes` is refused as soon as its first record
 * arrives (OpenSSL would otherwise reserve the announced length, up to 128 KiB, for as
 * long as the client stalls). Applies to connections accepted from now on.
 */
void ls_tls_ctx_set_max_client_hello(struct ls_tls_ctx *ctx, size_t bytes);
/* Frees the context; every connection made from it must be gone. NULL is ignored. */
void ls_tls_ctx_free(struct ls_tls_ctx *ctx);
/* Appends the TLS metrics of every context of the process (nothing without one):
 * livecluster_tls_handshakes_total, _resumed_total, _handshake_failures_total and the
 * livecluster_tls_ktls gauge, each labelled {listener="…"}. */
void ls_tls_render_metrics(struct ls_buf *out);

/*
 * HTTPS: a bufferevent for evhttp_set_bevcb — libevent's OpenSSL bufferevent in accepting
 * state on a socket evhttp sets later. NULL when out of memory.
 */
struct bufferevent *ls_tls_bufferevent_new(struct ls_tls_ctx *ctx, struct event_base *base);
/* Once evhttp has given that bufferevent its socket, and before its first read: the
 * ClientHello bound (ls_tls_ctx_set_max_client_hello). LS_ENOMEM, LS_EINVAL. */
LS_MUST_CHECK int ls_tls_bufferevent_ready(struct ls_tls_ctx *ctx, struct bufferevent *bev);

/*
 * RTMPS: the server side of one connection on the non-blocking socket `fd` (borrowed: the
 * caller closes it after ls_tls_free). The handshake runs inside the first reads. NULL when
 * out of memory.
 */
struct ls_tls *ls_tls_new(struct ls_tls_ctx *ctx, int fd);
/* Frees the state (sends nothing: see ls_tls_close_notify). NULL is ignored. */
void ls_tls_free(struct ls_tls *t);
/* Sends a close_notify alert if the connection is established (best effort, no wait). */
void ls_tls_close_notify(struct ls_tls *t);
/*
 * Reads like recv(2): the handshake first, then decrypted bytes into `buf` — whole records
 * only, so nothing is left inside OpenSSL for a later readiness event to miss. Returns
 * bytes (> 0); 0 when the peer closed; -1 with errno EAGAIN (nothing now; see
 * ls_tls_wants_write), EPROTO (a TLS error: ls_tls_error says which) or the socket's error.
 * `cap` must be at least LS_TLS_RECORD_MAX.
 */
ssize_t ls_tls_read(struct ls_tls *t, void *buf, size_t cap);
/*
 * Writes `q` like ls_outq_write: returns the bytes taken (>= 0; those leave the queue) or
 * -1 with errno set (the connection is unusable). Bytes taken into a record that the
 * socket could not take yet are held by OpenSSL: ls_tls_pending is true until a later
 * call has written it, and the caller must wait for writability while it is. Called only
 * once the handshake is done (a server queues nothing before its peer spoke).
 */
ssize_t ls_tls_write(struct ls_tls *t, struct ls_outq *q);
/* A record waits for the socket (see ls_tls_write). */
bool ls_tls_pending(const struct ls_tls *t);
/* The last read stopped because the handshake could not write: read again once the
 * socket is writable. */
bool ls_tls_wants_write(const struct ls_tls *t);
/* Why the connection failed, for the close's log line (storage of `t`, valid until
 * ls_tls_free). */
const char *ls_tls_error(const struct ls_tls *t);
/* The handshake is done and the kernel encrypts what this connection sends (KTLS). */
bool ls_tls_ktls(const struct ls_tls *t);

#endif /* LIBSTREAM_TLS_H */
