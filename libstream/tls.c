/*
 * tls.c — TLS for RTMPS and HTTPS on OpenSSL (see tls.h). Layer: connection, under
 * conn.c (RTMPS) and http.c (HTTPS); it knows sockets, outq and OpenSSL, nothing of RTMP
 * or HTTP.
 *
 * An RTMPS connection's write path, per flush (decision 2 of docs/architecture.md):
 *
 *   outq: [blob A][blob B][blob C]…   (shared references)
 *      ├─ kernel TLS on:  writev(A, B, C, …)                  the kernel encrypts
 *      └─ otherwise:      copy ≤ 16 KiB of A B C … → scratch → SSL_write → one record,
 *                         one send
 *
 * A record the socket cannot take at once stays inside OpenSSL (its bytes have left the
 * queue: they are encrypted and committed); the next write repeats SSL_write with the same
 * length, which only sends that record (OpenSSL ignores the bytes on a repeat, with
 * SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER). So a shed on the queue never touches bytes already
 * in a record, and the stream stays whole.
 *
 * Reads decrypt whole records only (the buffer always has room for one), so OpenSSL never
 * keeps decrypted bytes that a later readiness event would have to fetch.
 *
 * Metrics: the handshakes of each context are counted from OpenSSL's info callback (done,
 * resumed) and from each connection's end (never finished), through ex_data slots.
 */
#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>

#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>

#include "libstream/buf.h"
#include "libstream/prom.h"
#include "libstream/tls.h"

/* TLS 1.2: forward secrecy and AEAD only (the "intermediate" set browsers and encoders
 * share); TLS 1.3's suites are all AEAD and OpenSSL's defaults. */
#define TLS12_CIPHERS                                                                        \
    "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:"                             \
    "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"                             \
    "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305"
#define TLS_TICKET_KEYS_LEN 80 /* name, HMAC and AES keys (SSL_CTX_get_tlsext_ticket_keys) */

struct ls_tls_ctx {
    SSL_CTX *ssl_ctx;            /* for new connections; live ones hold their own reference */
    char name[16];
    size_t max_client_hello;     /* longest ClientHello accepted (see the hello guard) */
    uint64_t handshakes;         /* completed */
    uint64_t resumed;            /* ... of which resumed a session (ticket) */
    uint64_t failures;           /* connections that ended before their handshake completed */
    bool ktls;                   /* the last completed handshake got kernel TLS for sending */
    LIST_ENTRY(ls_tls_ctx) link;
};

struct ls_tls {
    SSL *ssl;
    int fd;
    size_t retry_len;            /* bytes of a record OpenSSL still holds (see the top) */
    bool established;
    bool ktls;                   /* the kernel encrypts what we send (known once established) */
    bool wants_write;            /* the handshake stopped on a full socket */
    bool failed;
    char why[128];
};

static LIST_HEAD(, ls_tls_ctx) tls_contexts = LIST_HEAD_INITIALIZER(tls_contexts);
/* ex_data slots: the context an SSL_CTX belongs to, and an SSL's "handshake counted". */
static int tls_ctx_index = -1;
static int tls_done_index = -1;
/* One record's plaintext, gathered from a queue (one loop per process: no sharing). */
static uint8_t tls_scratch[LS_TLS_RECORD_MAX];

/* ---- errors ---- */

/* OpenSSL's reason for the failure, or `fallback`; clears the error queue. */
static const char *tls_reason(const char *fallback)
{
    unsigned long e = ERR_peek_error(); /* the first: the most specific */
    const char *r = e != 0 ? ERR_reason_error_string(e) : NULL;

    ERR_clear_error();
    return r != NULL ? r : fallback;
}

static void tls_why(char *why, size_t whylen, const char *fmt, const char *a, const char *b)
{
    if (why != NULL && whylen > 0)
        snprintf(why, whylen, fmt, a, b);
}

/* Encrypted keys would make OpenSSL prompt on the terminal: refuse them instead. */
static int tls_no_password(char *buf, int size, int rwflag, void *arg)
{
    (void)buf;
    (void)size;
    (void)rwflag;
    (void)arg;
    return 0;
}

/* ---- the hello guard ----
 *
 * OpenSSL reserves a buffer as long as the handshake message a ClientHello announces (up
 * to its own limit, 128 KiB) as soon as its first record has arrived, and keeps it while
 * the client sends the rest, or nothing. Real ClientHellos are a few KiB (post-quantum key
 * shares included), so a filter on each connection's read side refuses one that announces
 * more than tls_max_client_hello: a stalled handshake then costs a record, not 128 KiB.
 *
 *   socket → [guard: the first 9 bytes are the record header and the handshake header;
 *             type 1 with a length over the bound → error] → OpenSSL
 */

struct tls_guard {
    size_t max;
    uint8_t head[9];             /* record header (5) + handshake header (4) */
    size_t have;
    bool done;                   /* checked: pass everything through */
};

static BIO_METHOD *tls_guard_method;

static int tls_guard_read(BIO *b, char *out, int outl)
{
    struct tls_guard *g = BIO_get_data(b);
    BIO *next = BIO_next(b);
    int n;

    if (next == NULL || out == NULL)
        return 0;
    n = BIO_read(next, out, outl);
    BIO_clear_retry_flags(b);
    BIO_copy_next_retry(b);
    if (n <= 0 || g->done)
        return n;
    for (int i = 0; i < n && g->have < sizeof g->head; i++)
        g->head[g->have++] = (uint8_t)out[i];
    if (g->have < sizeof g->head)
        return n;
    g->done = true;
    if (g->head[0] == 22 && g->head[5] == 1 && /* handshake record, ClientHello */
        ((size_t)g->head[6] << 16 | (size_t)g->head[7] << 8 | g->head[8]) > g->max) {
        errno = EMSGSIZE;
        return -1; /* no retry: the handshake fails (tls_fail says why) */
    }
    return n;
}

static int tls_guard_write(BIO *b, const char *in, int inl)
{
    BIO *next = BIO_next(b);
    int n;

    if (next == NULL)
        return 0;
    n = BIO_write(next, in, inl);
    BIO_clear_retry_flags(b);
    BIO_copy_next_retry(b);
    return n;
}

static long tls_guard_ctrl(BIO *b, int cmd, long larg, void *parg)
{
    BIO *next = BIO_next(b);

    return next != NULL ? BIO_ctrl(next, cmd, larg, parg) : 0;
}

static int tls_guard_create(BIO *b)
{
    BIO_set_init(b, 1);
    return 1;
}

static int tls_guard_destroy(BIO *b)
{
    free(BIO_get_data(b));
    BIO_set_data(b, NULL);
    return 1;
}

static int tls_guard_init(void)
{
    BIO_METHOD *m;

    if (tls_guard_method != NULL)
        return LS_OK;
    m = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_FILTER, "livecluster ClientHello guard");
    if (m == NULL || BIO_meth_set_read(m, tls_guard_read) != 1 ||
        BIO_meth_set_write(m, tls_guard_write) != 1 ||
        BIO_meth_set_ctrl(m, tls_guard_ctrl) != 1 ||
        BIO_meth_set_create(m, tls_guard_create) != 1 ||
        BIO_meth_set_destroy(m, tls_guard_destroy) != 1) {
        BIO_meth_free(m);
        return LS_ENOMEM;
    }
    tls_guard_method = m;
    return LS_OK;
}

/* Puts a guard in front of the read side of `ssl` (whose rbio is the socket's). */
static int tls_guard_attach(SSL *ssl, size_t max)
{
    BIO *rbio = SSL_get_rbio(ssl);
    BIO *guard;
    struct tls_guard *g;

    if (rbio == NULL || (guard = BIO_new(tls_guard_method)) == NULL)
        return LS_ENOMEM;
    g = calloc(1, sizeof *g);
    if (g == NULL) {
        BIO_free(guard);
        return LS_ENOMEM;
    }
    g->max = max;
    BIO_set_data(guard, g);
    BIO_up_ref(rbio); /* the chain's reference; SSL_set0_rbio drops the SSL's own */
    BIO_push(guard, rbio);
    SSL_set0_rbio(ssl, guard);
    return LS_OK;
}

/* ---- contexts ---- */

/* The context an SSL was made from, if it still exists (a connection may outlive its
 * context at shutdown: it then counts nowhere). */
static struct ls_tls_ctx *tls_ctx_of(const SSL *ssl)
{
    void *p = SSL_CTX_get_ex_data(SSL_get_SSL_CTX(ssl), tls_ctx_index);
    struct ls_tls_ctx *ctx;

    LIST_FOREACH(ctx, &tls_contexts, link)
        if (ctx == p)
            return ctx;
    return NULL;
}

static void tls_ssl_free_cb(void *parent, void *ptr, CRYPTO_EX_DATA *ad, int idx, long argl,
                            void *argp)
{
    SSL *ssl = parent;
    struct ls_tls_ctx *ctx;

    (void)ad;
    (void)idx;
    (void)argl;
    (void)argp;
    if (ssl == NULL || ptr != NULL) /* ptr: this slot, set once the handshake was done */
        return;
    ctx = tls_ctx_of(ssl);
    if (ctx != NULL)
        ctx->failures++;
}

static void tls_info_cb(const SSL *ssl, int where, int ret)
{
    struct ls_tls_ctx *ctx;

    (void)ret;
    if (!(where & SSL_CB_HANDSHAKE_DONE) || SSL_get_ex_data(ssl, tls_done_index) != NULL)
        return;
    SSL_set_ex_data((SSL *)ssl, tls_done_index, (void *)1);
    ctx = tls_ctx_of(ssl);
    if (ctx == NULL)
        return;
    ctx->handshakes++;
    if (SSL_session_reused((SSL *)ssl))
        ctx->resumed++;
    ctx->ktls = BIO_get_ktls_send(SSL_get_wbio(ssl)) > 0;
}

static int tls_init_indexes(void)
{
    if (tls_ctx_index == -1)
        tls_ctx_index = SSL_CTX_get_ex_new_index(0, NULL, NULL, NULL, NULL);
    if (tls_done_index == -1)
        tls_done_index = SSL_get_ex_new_index(0, NULL, NULL, NULL, tls_ssl_free_cb);
    return tls_ctx_index == -1 || tls_done_index == -1 ? LS_ENOMEM : tls_guard_init();
}

/* Reads the key on its own first, so that "not a key" and "not this certificate's key"
 * are told apart. */
static int tls_use_key(SSL_CTX *c, const char *cert, const char *key, char *why, size_t whylen)
{
    BIO *b = BIO_new_file(key, "r");
    EVP_PKEY *pkey = b != NULL ? PEM_read_bio_PrivateKey(b, NULL, tls_no_password, NULL) : NULL;
    int rc = LS_OK;

    BIO_free(b);
    if (pkey == NULL) {
        tls_why(why, whylen, "\"%s\" holds no usable PEM private key: %s", key,
                tls_reason("bad key"));
        return LS_ECONF;
    }
    if (SSL_CTX_use_PrivateKey(c, pkey) != 1 || SSL_CTX_check_private_key(c) != 1) {
        ERR_clear_error();
        tls_why(why, whylen, "the key in \"%s\" does not match the certificate in \"%s\"",
                key, cert);
        rc = LS_ECONF;
    }
    EVP_PKEY_free(pkey);
    return rc;
}

/* A server SSL_CTX with our settings and `cert`/`key` loaded and matched; NULL with why. */
static SSL_CTX *tls_ctx_build(const char *cert, const char *key, char *why, size_t whylen)
{
    SSL_CTX *c;
    FILE *f;

    if (cert == NULL || cert[0] == '\0') {
        tls_why(why, whylen, "no certificate file given%s%s", "", "");
        return NULL;
    }
    if ((f = fopen(cert, "r")) == NULL) {
        tls_why(why, whylen, "cannot read certificate \"%s\": %s", cert, strerror(errno));
        return NULL;
    }
    fclose(f);
    if (key != NULL) {
        if (key[0] == '\0') {
            tls_why(why, whylen, "no key file given%s%s", "", "");
            return NULL;
        }
        if ((f = fopen(key, "r")) == NULL) {
            tls_why(why, whylen, "cannot read key \"%s\": %s", key, strerror(errno));
            return NULL;
        }
        fclose(f);
    }
    ERR_clear_error();
    c = SSL_CTX_new(TLS_server_method());
    if (c == NULL) {
        tls_why(why, whylen, "cannot create a TLS context: %s%s", tls_reason("out of memory"),
                "");
        return NULL;
    }
    SSL_CTX_set_default_passwd_cb(c, tls_no_password);
    if (SSL_CTX_set_min_proto_version(c, TLS1_2_VERSION) != 1 ||
        SSL_CTX_set_max_proto_version(c, TLS1_3_VERSION) != 1 ||
        SSL_CTX_set_cipher_list(c, TLS12_CIPHERS) != 1) {
        tls_why(why, whylen, "cannot set up TLS: %s%s", tls_reason("unsupported settings"), "");
        SSL_CTX_free(c);
        return NULL;
    }
    /* Clients that close without close_notify (most encoders and players) just closed. */
    SSL_CTX_set_options(c, SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_COMPRESSION |
                               SSL_OP_IGNORE_UNEXPECTED_EOF | SSL_OP_ENABLE_KTLS);
    /* Released buffers: an idle viewer holds no 16 KiB read and write buffers. */
    SSL_CTX_set_mode(c, SSL_MODE_RELEASE_BUFFERS | SSL_MODE_ENABLE_PARTIAL_WRITE |
                            SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
    /* Resumption by tickets only: nothing per session is kept here. */
    SSL_CTX_set_session_cache_mode(c, SSL_SESS_CACHE_OFF);
    SSL_CTX_set_num_tickets(c, 1);
    SSL_CTX_set_info_callback(c, tls_info_cb);
    if (SSL_CTX_use_certificate_chain_file(c, cert) != 1) {
        tls_why(why, whylen, "\"%s\" holds no usable PEM certificate: %s", cert,
                tls_reason("bad certificate"));
        SSL_CTX_free(c);
        return NULL;
    }
    if (key != NULL && tls_use_key(c, cert, key, why, whylen) != LS_OK) {
        SSL_CTX_free(c);
        return NULL;
    }
    return c;
}

int ls_tls_check_files(const char *cert, const char *key, char *why, size_t whylen)
{
    SSL_CTX *c = tls_ctx_build(cert, key, why, whylen);

    if (c == NULL)
        return LS_ECONF;
    SSL_CTX_free(c);
    return LS_OK;
}

struct ls_tls_ctx *ls_tls_ctx_new(const char *listener, const char *cert, const char *key,
                                  char *why, size_t whylen)
{
    struct ls_tls_ctx *ctx;

    if (tls_init_indexes() != LS_OK) {
        tls_why(why, whylen, "out of memory%s%s", "", "");
        return NULL;
    }
    ctx = calloc(1, sizeof *ctx);
    if (ctx == NULL) {
        tls_why(why, whylen, "out of memory%s%s", "", "");
        return NULL;
    }
    snprintf(ctx->name, sizeof ctx->name, "%s", listener);
    ctx->max_client_hello = LS_TLS_DEFAULT_MAX_CLIENT_HELLO;
    ctx->ssl_ctx = tls_ctx_build(cert, key, why, whylen);
    if (ctx->ssl_ctx == NULL) {
        free(ctx);
        return NULL;
    }
    SSL_CTX_set_ex_data(ctx->ssl_ctx, tls_ctx_index, ctx);
    LIST_INSERT_HEAD(&tls_contexts, ctx, link);
    return ctx;
}

int ls_tls_ctx_reload(struct ls_tls_ctx *ctx, const char *cert, const char *key, char *why,
                      size_t whylen)
{
    SSL_CTX *c = tls_ctx_build(cert, key, why, whylen);
    unsigned char keys[TLS_TICKET_KEYS_LEN];

    if (c == NULL)
        return LS_ECONF;
    /* Tickets issued before the reload still resume after it. */
    if (SSL_CTX_get_tlsext_ticket_keys(ctx->ssl_ctx, keys, sizeof keys) == 1)
        SSL_CTX_set_tlsext_ticket_keys(c, keys, sizeof keys);
    ERR_clear_error();
    SSL_CTX_set_ex_data(c, tls_ctx_index, ctx);
    SSL_CTX_free(ctx->ssl_ctx); /* connections made from it keep it until they end */
    ctx->ssl_ctx = c;
    return LS_OK;
}

void ls_tls_ctx_set_max_client_hello(struct ls_tls_ctx *ctx, size_t bytes)
{
    ctx->max_client_hello = bytes;
}

void ls_tls_ctx_free(struct ls_tls_ctx *ctx)
{
    if (ctx == NULL)
        return;
    LIST_REMOVE(ctx, link);
    SSL_CTX_set_ex_data(ctx->ssl_ctx, tls_ctx_index, NULL);
    SSL_CTX_free(ctx->ssl_ctx);
    free(ctx);
}

/* One family: a sample per context, labelled with its listener. */
static void tls_render_one(struct ls_buf *out, const char *name, const char *type,
                           const char *help, uint64_t (*value)(const struct ls_tls_ctx *))
{
    struct ls_tls_ctx *ctx;

    ls_prom_header(out, name, type, help);
    LIST_FOREACH(ctx, &tls_contexts, link) {
        const char *const labels[] = { "listener", ctx->name, NULL };

        ls_prom_sample_u64(out, name, labels, value(ctx));
    }
}

static uint64_t tls_handshakes(const struct ls_tls_ctx *c) { return c->handshakes; }
static uint64_t tls_resumed(const struct ls_tls_ctx *c) { return c->resumed; }
static uint64_t tls_failures(const struct ls_tls_ctx *c) { return c->failures; }
static uint64_t tls_ktls(const struct ls_tls_ctx *c) { return c->ktls ? 1 : 0; }

void ls_tls_render_metrics(struct ls_buf *out)
{
    if (LIST_EMPTY(&tls_contexts))
        return;
    tls_render_one(out, "livecluster_tls_handshakes_total", "counter",
                   "Completed TLS handshakes, by listener.", tls_handshakes);
    tls_render_one(out, "livecluster_tls_resumed_total", "counter",
                   "Completed TLS handshakes that resumed a session (ticket), by listener.",
                   tls_resumed);
    tls_render_one(out, "livecluster_tls_handshake_failures_total", "counter",
                   "TLS connections that ended before their handshake completed, by listener.",
                   tls_failures);
    tls_render_one(out, "livecluster_tls_ktls", "gauge",
                   "1 when the last handshake on the listener got kernel TLS for sending, "
                   "0 for user-space TLS.", tls_ktls);
}

/* ---- connections ---- */

static SSL *tls_ssl_new(struct ls_tls_ctx *ctx)
{
    SSL *ssl;

    ERR_clear_error();
    ssl = SSL_new(ctx->ssl_ctx);
    if (ssl == NULL)
        ERR_clear_error();
    return ssl;
}

int ls_tls_bufferevent_ready(struct ls_tls_ctx *ctx, struct bufferevent *bev)
{
    SSL *ssl = bufferevent_openssl_get_ssl(bev);

    return ssl != NULL ? tls_guard_attach(ssl, ctx->max_client_hello) : LS_EINVAL;
}

struct bufferevent *ls_tls_bufferevent_new(struct ls_tls_ctx *ctx, struct event_base *base)
{
    SSL *ssl = tls_ssl_new(ctx);
    struct bufferevent *bev;

    if (ssl == NULL)
        return NULL;
    bev = bufferevent_openssl_socket_new(base, -1, ssl, BUFFEREVENT_SSL_ACCEPTING,
                                         BEV_OPT_CLOSE_ON_FREE);
    if (bev == NULL) {
        SSL_free(ssl);
        return NULL;
    }
    /* A client that closes without close_notify has closed, not failed. */
    bufferevent_openssl_set_allow_dirty_shutdown(bev, 1);
    return bev;
}

struct ls_tls *ls_tls_new(struct ls_tls_ctx *ctx, int fd)
{
    struct ls_tls *t = calloc(1, sizeof *t);

    if (t == NULL)
        return NULL;
    t->fd = fd;
    t->ssl = tls_ssl_new(ctx);
    if (t->ssl == NULL || SSL_set_fd(t->ssl, fd) != 1 ||
        tls_guard_attach(t->ssl, ctx->max_client_hello) != LS_OK) {
        ERR_clear_error();
        SSL_free(t->ssl);
        free(t);
        return NULL;
    }
    SSL_set_accept_state(t->ssl);
    return t;
}

void ls_tls_free(struct ls_tls *t)
{
    if (t == NULL)
        return;
    SSL_free(t->ssl);
    ERR_clear_error();
    free(t);
}

void ls_tls_close_notify(struct ls_tls *t)
{
    if (t == NULL || !t->established || t->failed)
        return;
    ERR_clear_error();
    (void)SSL_shutdown(t->ssl);
    ERR_clear_error();
}

/*
 * Turns an SSL_* I/O failure into recv/send terms: -1 with errno EAGAIN (retry on
 * readiness), 0 (closed by the peer; reads only) or -1 with errno set and t->why filled.
 */
static ssize_t tls_fail(struct ls_tls *t, int ret, bool reading)
{
    int err = SSL_get_error(t->ssl, ret);
    int saved = errno;

    switch (err) {
    case SSL_ERROR_WANT_READ:
        ERR_clear_error();
        errno = EAGAIN;
        return -1;
    case SSL_ERROR_WANT_WRITE:
        ERR_clear_error();
        if (reading)
            t->wants_write = true;
        errno = EAGAIN;
        return -1;
    case SSL_ERROR_ZERO_RETURN:
        ERR_clear_error();
        if (reading)
            return 0;
        errno = EPIPE;
        return -1;
    case SSL_ERROR_SYSCALL:
        ERR_clear_error();
        t->failed = true;
        if (saved == 0 && reading)
            return 0; /* end of file */
        if (saved == EMSGSIZE) { /* the hello guard */
            snprintf(t->why, sizeof t->why, "TLS handshake refused: ClientHello longer than "
                     "tls_max_client_hello");
            errno = EPROTO;
            return -1;
        }
        errno = saved != 0 ? saved : EPIPE;
        snprintf(t->why, sizeof t->why, "%s", strerror(errno));
        return -1;
    default:
        t->failed = true;
        snprintf(t->why, sizeof t->why, "TLS %s: %s",
                 t->established ? "error" : "handshake failed", tls_reason("protocol error"));
        errno = EPROTO;
        return -1;
    }
}

ssize_t ls_tls_read(struct ls_tls *t, void *buf, size_t cap)
{
    uint8_t *p = buf;
    size_t got = 0;
    int r;

    t->wants_write = false;
    if (!t->established) {
        ERR_clear_error();
        r = SSL_do_handshake(t->ssl);
        if (r != 1)
            return tls_fail(t, r, true);
        t->established = true;
        t->ktls = BIO_get_ktls_send(SSL_get_wbio(t->ssl)) > 0;
    }
    /* Whole records only: stop while there is room for less than one. */
    while (cap - got >= LS_TLS_RECORD_MAX) {
        size_t room = cap - got;

        ERR_clear_error();
        r = SSL_read(t->ssl, p + got, room > INT_MAX ? INT_MAX : (int)room);
        if (r > 0) {
            got += (size_t)r;
            continue;
        }
        if (got > 0) {
            /* Hand over what we have; a failure or close shows again on the next read. */
            ERR_clear_error();
            if (SSL_get_error(t->ssl, r) == SSL_ERROR_WANT_WRITE)
                t->wants_write = true;
            break;
        }
        return tls_fail(t, r, true);
    }
    return (ssize_t)got;
}

ssize_t ls_tls_write(struct ls_tls *t, struct ls_outq *q)
{
    size_t total = 0;
    int r;

    if (!t->established) {
        errno = EAGAIN;
        return 0;
    }
    /* Kernel TLS: the queued references go to the kernel as they are — unless OpenSSL has
     * a record or a key update of its own to send first. */
    if (t->ktls && t->retry_len == 0 && SSL_get_key_update_type(t->ssl) == SSL_KEY_UPDATE_NONE)
        return ls_outq_write(q, t->fd);
    if (t->retry_len > 0) {
        ERR_clear_error();
        r = SSL_write(t->ssl, tls_scratch, (int)t->retry_len);
        if (r <= 0)
            return tls_fail(t, r, false) == -1 && errno == EAGAIN ? 0 : -1;
        t->retry_len = 0;
    }
    while (!ls_outq_empty(q)) {
        size_t n = ls_outq_copy_out(q, tls_scratch, sizeof tls_scratch);

        if (n == 0) {
            ls_outq_consume(q, 0); /* only empty blobs left */
            break;
        }
        ERR_clear_error();
        r = SSL_write(t->ssl, tls_scratch, (int)n);
        if (r > 0) {
            ls_outq_consume(q, (size_t)r);
            total += (size_t)r;
            continue;
        }
        if (tls_fail(t, r, false) == 0 || errno != EAGAIN)
            return -1;
        if (SSL_want_write(t->ssl)) {
            /* The record holds all n bytes, encrypted: committed (see the top). */
            ls_outq_consume(q, n);
            total += n;
            t->retry_len = n;
        }
        break;
    }
    return (ssize_t)total;
}

bool ls_tls_pending(const struct ls_tls *t)
{
    return t->retry_len > 0;
}

bool ls_tls_wants_write(const struct ls_tls *t)
{
    return t->wants_write;
}

const char *ls_tls_error(const struct ls_tls *t)
{
    return t->why[0] != '\0' ? t->why : "TLS error";
}

bool ls_tls_ktls(const struct ls_tls *t)
{
    return t->ktls;
}
