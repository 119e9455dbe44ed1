/*
 * Unit tests for tls.c (RTMPS and HTTPS listeners' TLS) and the TLS keys of the media
 * config: certificate and key checks with their messages and lines, the handshake over a
 * socketpair with an in-process client, one record per flush of a queue of many messages,
 * a record the socket cannot take while the queue is shed (messages stay whole), garbage
 * and stalled handshakes (why, metrics, handshake_timeout through ls_conn), the ClientHello
 * bound, reloads (new
 * connections get the new certificate, established ones keep working, a bad reload keeps
 * the old one, tickets resume across it) and an RTMP handshake through ls_conn over TLS.
 *
 * The client is OpenSSL over memory BIOs: the test moves the bytes between them and the
 * socket itself, so it sees every TLS record the server sends (type and length). Kernel TLS
 * is not tested here (this machine's kernel has no TLS module): the user-space path is.
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <cmocka.h>

#include <event2/event.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "libstream/buf.h"
#include "libstream/config.h"
#include "libstream/conn.h"
#include "libstream/frame.h"
#include "libstream/handshake.h"
#include "libstream/mediaconf.h"
#include "libstream/outq.h"
#include "libstream/tls.h"
#include "support/evloop.h"
#include "support/tlscert.h"

static char dir[64];
static struct tlscert_ca *ca;
static char cert1[512], key1[512], cert2[512], key2[512];

/* ---- the client: OpenSSL over memory BIOs, records counted on the way in ---- */

struct client {
    SSL_CTX *ctx;
    SSL *ssl;
    BIO *rbio, *wbio;    /* owned by ssl */
    int fd;
    uint8_t hdr[5];      /* the record header being read */
    size_t hdr_have;
    size_t body_left;    /* bytes of the current record still to come */
    unsigned records;    /* records received so far */
    size_t last_len;     /* length of the last complete record header seen */
};

static void client_init(struct client *c, int fd, SSL_SESSION *resume)
{
    memset(c, 0, sizeof *c);
    c->fd = fd;
    c->ctx = SSL_CTX_new(TLS_client_method());
    assert_non_null(c->ctx);
    assert_int_equal(SSL_CTX_load_verify_locations(c->ctx, tlscert_ca_file(ca), NULL), 1);
    SSL_CTX_set_verify(c->ctx, SSL_VERIFY_PEER, NULL);
    c->ssl = SSL_new(c->ctx);
    c->rbio = BIO_new(BIO_s_mem());
    c->wbio = BIO_new(BIO_s_mem());
    SSL_set_bio(c->ssl, c->rbio, c->wbio);
    SSL_set_connect_state(c->ssl);
    SSL_set_tlsext_host_name(c->ssl, "localhost");
    SSL_set1_host(c->ssl, "localhost");
    if (resume != NULL)
        SSL_set_session(c->ssl, resume);
}

static void client_free(struct client *c)
{
    SSL_free(c->ssl);
    SSL_CTX_free(c->ctx);
}

/* Moves bytes: our output to the socket, the socket's bytes (counted) into OpenSSL. */
static void client_pump(struct client *c)
{
    uint8_t buf[65536];
    ssize_t n;
    int m;

    while ((m = BIO_read(c->wbio, buf, sizeof buf)) > 0)
        assert_int_equal(write(c->fd, buf, (size_t)m), m);
    while ((n = recv(c->fd, buf, sizeof buf, MSG_DONTWAIT)) > 0) {
        size_t i = 0;

        while (i < (size_t)n) {
            if (c->body_left > 0) {
                size_t take = (size_t)n - i < c->body_left ? (size_t)n - i : c->body_left;

                c->body_left -= take;
                i += take;
                continue;
            }
            c->hdr[c->hdr_have++] = buf[i++];
            if (c->hdr_have == 5) {
                c->hdr_have = 0;
                c->body_left = (size_t)c->hdr[3] << 8 | c->hdr[4];
                c->last_len = c->body_left;
                c->records++;
            }
        }
        assert_int_equal(BIO_write(c->rbio, buf, (int)n), (int)n);
    }
}

/* Decrypted bytes available now (reads through the pump). */
static size_t client_read(struct client *c, uint8_t *out, size_t cap)
{
    size_t got = 0;
    int r;

    client_pump(c);
    while (got < cap && (r = SSL_read(c->ssl, out + got, (int)(cap - got))) > 0)
        got += (size_t)r;
    ERR_clear_error();
    client_pump(c); /* answers the server may need (key updates) */
    return got;
}

static void client_write(struct client *c, const void *p, size_t n)
{
    assert_int_equal(SSL_write(c->ssl, p, (int)n), (int)n);
    client_pump(c);
}

/* Runs both handshakes to the end (the server side through ls_tls_read). */
static void handshake(struct ls_tls *t, struct client *c)
{
    uint8_t buf[LS_TLS_RECORD_MAX];
    int i;

    for (i = 0; i < 200; i++) {
        ssize_t n;

        ERR_clear_error();
        SSL_do_handshake(c->ssl);
        client_pump(c);
        n = ls_tls_read(t, buf, sizeof buf);
        assert_true(n == -1 && errno == EAGAIN);
        client_pump(c);
        if (SSL_is_init_finished(c->ssl) && i > 2)
            break;
    }
    assert_true(SSL_is_init_finished(c->ssl));
    (void)client_read(c, buf, sizeof buf); /* session tickets */
}

static void socketpair_nb(int sv[2])
{
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    fcntl(sv[0], F_SETFL, O_NONBLOCK);
    fcntl(sv[1], F_SETFL, O_NONBLOCK);
}

static long peer_serial(struct client *c)
{
    X509 *x = SSL_get1_peer_certificate(c->ssl);
    long serial;

    assert_non_null(x);
    serial = ASN1_INTEGER_get(X509_get0_serialNumber(x));
    X509_free(x);
    return serial;
}

/* ---- fixtures ---- */

static int group_setup(void **state)
{
    (void)state;
    snprintf(dir, sizeof dir, "/tmp/lc-test-tls.XXXXXX");
    if (mkdtemp(dir) == NULL)
        return -1;
    ca = tlscert_ca_new(dir, "ca", "lc test CA");
    if (ca == NULL ||
        tlscert_make(ca, dir, "one", "localhost", 101, cert1, key1, sizeof cert1) != 0 ||
        tlscert_make(ca, dir, "two", "localhost", 202, cert2, key2, sizeof cert2) != 0)
        return -1;
    return 0;
}

static int group_teardown(void **state)
{
    char cmd[128];

    (void)state;
    tlscert_ca_free(ca);
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    return system(cmd) == 0 ? 0 : -1;
}

static const char *write_file(const char *name, const char *text)
{
    static char path[4][512];
    static int next;
    char *p = path[next++ % 4];
    FILE *f;

    snprintf(p, 512, "%s/%s", dir, name);
    f = fopen(p, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
    return p;
}

/* ---- certificate and key checks ---- */

static void test_check_files(void **state)
{
    char why[512];
    const char *garbage = write_file("garbage.pem", "not a certificate\n");

    (void)state;
    assert_int_equal(ls_tls_check_files(cert1, key1, why, sizeof why), LS_OK);
    assert_int_equal(ls_tls_check_files(cert1, NULL, why, sizeof why), LS_OK);

    assert_int_equal(ls_tls_check_files("/nonexistent/c.pem", key1, why, sizeof why), LS_ECONF);
    assert_non_null(strstr(why, "cannot read certificate \"/nonexistent/c.pem\""));
    assert_int_equal(ls_tls_check_files(cert1, "/nonexistent/k.pem", why, sizeof why),
                     LS_ECONF);
    assert_non_null(strstr(why, "cannot read key"));
    assert_int_equal(ls_tls_check_files(garbage, key1, why, sizeof why), LS_ECONF);
    assert_non_null(strstr(why, "holds no usable PEM certificate"));
    assert_int_equal(ls_tls_check_files(cert1, garbage, why, sizeof why), LS_ECONF);
    assert_non_null(strstr(why, "holds no usable PEM private key"));
    /* a key that is not the certificate's */
    assert_int_equal(ls_tls_check_files(cert1, key2, why, sizeof why), LS_ECONF);
    assert_non_null(strstr(why, "does not match the certificate"));
    /* a certificate given as the key */
    assert_int_equal(ls_tls_check_files(cert1, cert1, why, sizeof why), LS_ECONF);
    assert_int_equal(ls_tls_check_files("", key1, why, sizeof why), LS_ECONF);
    assert_null(ls_tls_ctx_new("t", cert1, key2, why, sizeof why));
}

/* The media config: FILE:LINE of the key at fault, for -t, start and reload alike. */
static void test_config_errors(void **state)
{
    struct ls_media_conf conf;
    char text[2048], err[512];

    (void)state;
    snprintf(text, sizeof text,
             "upstream = \"127.0.0.1:1935\";\n"
             "rtmps_listen = \"127.0.0.1:1936\";\n"
             "https_listen = \"127.0.0.1:8443\";\n"
             "tls = {\n  cert = \"%s\";\n  key = \"%s\";\n};\n", cert1, key1);
    assert_int_equal(ls_config_load_string(text, "epd.conf", ls_epd_schema, &conf, err,
                                           sizeof err), LS_OK);
    assert_int_equal(conf.rtmps_listen.port, 1936);
    assert_int_equal(conf.https_listen.port, 8443);
    assert_string_equal(conf.tls.cert, cert1);
    ls_config_free(ls_epd_schema, &conf);

    /* key does not match: the key's line */
    snprintf(text, sizeof text,
             "rtmps_listen = \"127.0.0.1:1936\";\n"
             "tls = {\n  cert = \"%s\";\n  key = \"%s\";\n};\n", cert1, key2);
    assert_int_equal(ls_config_load_string(text, "spd.conf", ls_spd_schema, &conf, err,
                                           sizeof err), LS_ECONF);
    assert_non_null(strstr(err, "spd.conf:4: 'tls.key': "));
    assert_non_null(strstr(err, "does not match the certificate"));

    /* unreadable certificate: the certificate's line */
    snprintf(text, sizeof text, "tls = {\n  key = \"%s\";\n  cert = \"/nonexistent.pem\";\n};\n",
             key1);
    assert_int_equal(ls_config_load_string(text, "spd.conf", ls_spd_schema, &conf, err,
                                           sizeof err), LS_ECONF);
    assert_non_null(strstr(err, "spd.conf:3: 'tls.cert': cannot read certificate"));

    /* a TLS listen key without tls (before or after it in the file) */
    assert_int_equal(ls_config_load_string("\n\nhttps_listen = \"127.0.0.1:8443\";\n",
                                           "spd.conf", ls_spd_schema, &conf, err, sizeof err),
                     LS_ECONF);
    assert_string_equal(err, "spd.conf:3: 'https_listen': needs tls = { cert = \"FILE\"; "
                             "key = \"FILE\"; };");
    assert_int_equal(ls_config_load_string("rtmps_listen = \"127.0.0.1:1936\";\n",
                                           "spd.conf", ls_spd_schema, &conf, err, sizeof err),
                     LS_ECONF);
    assert_non_null(strstr(err, "spd.conf:1: 'rtmps_listen': needs tls"));
    /* unset listen keys need nothing */
    assert_int_equal(ls_config_load_string("rtmps_listen = \"\"; https_listen = \"\";\n",
                                           "spd.conf", ls_spd_schema, &conf, err, sizeof err),
                     LS_OK);
    ls_config_free(ls_spd_schema, &conf);
    /* tls needs both files */
    snprintf(text, sizeof text, "tls = { cert = \"%s\"; };\n", cert1);
    assert_int_equal(ls_config_load_string(text, "spd.conf", ls_spd_schema, &conf, err,
                                           sizeof err), LS_ECONF);
    assert_non_null(strstr(err, "missing required key 'tls.key'"));
}

/* ---- connections ---- */

struct pair {
    struct ls_tls_ctx *ctx;
    struct ls_tls *t;
    struct client c;
    int sv[2];
};

static void pair_open(struct pair *p, struct ls_tls_ctx *ctx, SSL_SESSION *resume)
{
    p->ctx = ctx;
    socketpair_nb(p->sv);
    p->t = ls_tls_new(ctx, p->sv[0]);
    assert_non_null(p->t);
    client_init(&p->c, p->sv[1], resume);
    handshake(p->t, &p->c);
}

static void pair_close(struct pair *p)
{
    /* an orderly close: OpenSSL keeps only sessions that ended with close_notify
     * resumable */
    SSL_shutdown(p->c.ssl);
    ERR_clear_error();
    ls_tls_free(p->t);
    client_free(&p->c);
    close(p->sv[0]);
    close(p->sv[1]);
}

/* A blob whose bytes say which message it is: id (be16), length (be16), then the id's
 * low byte repeated. */
static struct ls_frame *message(uint16_t id, uint16_t len)
{
    struct ls_frame *f = ls_frame_new(0, 0, 0, len);

    assert_non_null(f);
    memset(f->data, (uint8_t)id, len);
    f->data[0] = (uint8_t)(id >> 8);
    f->data[1] = (uint8_t)id;
    f->data[2] = (uint8_t)(len >> 8);
    f->data[3] = (uint8_t)len;
    return f;
}

static unsigned be16_at(const uint8_t *p)
{
    return (unsigned)p[0] << 8 | p[1];
}

static void test_one_record_per_flush(void **state)
{
    struct ls_tls_ctx *ctx;
    struct pair p;
    struct ls_outq q;
    uint8_t got[8192];
    char why[256];
    unsigned before;
    size_t n;
    int i;

    (void)state;
    ctx = ls_tls_ctx_new("t", cert1, key1, why, sizeof why);
    assert_non_null(ctx);
    pair_open(&p, ctx, NULL);
    assert_false(ls_tls_ktls(p.t)); /* no TLS module in this kernel: user space */
    ls_outq_init(&q);
    for (i = 0; i < 50; i++)
        assert_int_equal(ls_outq_push(&q, message((uint16_t)i, 100), LS_OUTQ_VIDEO), LS_OK);
    before = p.c.records;
    assert_int_equal(ls_tls_write(p.t, &q), 5000);
    assert_true(ls_outq_empty(&q));
    assert_false(ls_tls_pending(p.t));
    n = client_read(&p.c, got, sizeof got);
    assert_int_equal(n, 5000);
    assert_int_equal(p.c.records - before, 1); /* fifty messages, one record */
    for (i = 0; i < 50; i++)
        assert_int_equal(be16_at(got + i * 100), i);

    /* More than a record's worth: records of LS_TLS_RECORD_MAX, in order. */
    for (i = 0; i < 40; i++)
        assert_int_equal(ls_outq_push(&q, message((uint16_t)i, 1000), LS_OUTQ_VIDEO), LS_OK);
    before = p.c.records;
    assert_int_equal(ls_tls_write(p.t, &q), 40000);
    n = client_read(&p.c, got, sizeof got);
    n += client_read(&p.c, got, sizeof got);
    assert_int_equal(p.c.records - before, 3); /* 16384 + 16384 + 7232 */
    ls_outq_clear(&q);
    pair_close(&p);
    ls_tls_ctx_free(ctx);
}

/* The socket is full mid-stream: the record OpenSSL holds goes out first, its messages
 * are never shed, and what was shed meanwhile is whole messages. */
static void test_pending_record_survives_shed(void **state)
{
    struct ls_tls_ctx *ctx;
    struct pair p;
    struct ls_outq q;
    static uint8_t stream[4 << 20];
    uint8_t buf[65536];
    size_t have = 0, off;
    char why[256];
    int small = 4096, i, rounds, kept;
    bool shed = false;

    (void)state;
    ctx = ls_tls_ctx_new("t", cert1, key1, why, sizeof why);
    assert_non_null(ctx);
    pair_open(&p, ctx, NULL);
    setsockopt(p.sv[0], SOL_SOCKET, SO_SNDBUF, &small, sizeof small);
    ls_outq_init(&q);
    for (i = 0; i < 400; i++)
        assert_int_equal(ls_outq_push(&q, message((uint16_t)i, 3000),
                                      i % 10 == 0 ? LS_OUTQ_KEEP : LS_OUTQ_VIDEO), LS_OK);
    for (rounds = 0; rounds < 10000 && (!ls_outq_empty(&q) || ls_tls_pending(p.t)); rounds++) {
        assert_true(ls_tls_write(p.t, &q) >= 0);
        if (ls_tls_pending(p.t) && !shed) {
            /* the socket is full: drop the queued video, keep the rest */
            assert_true(ls_outq_shed(&q, LS_OUTQ_VIDEO) > 0);
            shed = true;
        }
        off = client_read(&p.c, buf, sizeof buf);
        assert_true(have + off <= sizeof stream);
        memcpy(stream + have, buf, off);
        have += off;
    }
    assert_true(shed);
    assert_true(ls_outq_empty(&q));
    assert_false(ls_tls_pending(p.t));
    for (i = 0; i < 20; i++) {
        off = client_read(&p.c, buf, sizeof buf);
        memcpy(stream + have, buf, off);
        have += off;
    }
    /* whole messages, in increasing order, some shed, every one of class KEEP there */
    assert_true(have > 0 && have % 3000 == 0);
    assert_true(have < 400 * 3000);
    kept = 0;
    for (off = 0; off < have; off += 3000) {
        unsigned id = be16_at(stream + off);

        assert_int_equal(be16_at(stream + off + 2), 3000);
        assert_int_equal(stream[off + 4], (uint8_t)id);
        assert_int_equal(stream[off + 2999], (uint8_t)id);
        if (off > 0)
            assert_true(id > be16_at(stream + off - 3000));
        kept += id % 10 == 0;
    }
    assert_int_equal(kept, 40);
    ls_outq_clear(&q);
    pair_close(&p);
    ls_tls_ctx_free(ctx);
}

static void test_garbage_handshake(void **state)
{
    struct ls_tls_ctx *ctx;
    struct ls_tls *t;
    struct ls_buf m;
    uint8_t buf[LS_TLS_RECORD_MAX];
    char why[256];
    int sv[2];

    (void)state;
    ctx = ls_tls_ctx_new("garbage", cert1, key1, why, sizeof why);
    assert_non_null(ctx);
    /* not TLS at all */
    socketpair_nb(sv);
    t = ls_tls_new(ctx, sv[0]);
    assert_int_equal(write(sv[1], "GET / HTTP/1.1\r\n\r\n", 18), 18);
    assert_int_equal(ls_tls_read(t, buf, sizeof buf), -1);
    assert_int_equal(errno, EPROTO);
    assert_non_null(strstr(ls_tls_error(t), "TLS handshake failed"));
    ls_tls_free(t);
    close(sv[0]);
    close(sv[1]);
    /* a peer that never speaks */
    socketpair_nb(sv);
    t = ls_tls_new(ctx, sv[0]);
    assert_int_equal(ls_tls_read(t, buf, sizeof buf), -1);
    assert_int_equal(errno, EAGAIN);
    ls_tls_free(t);
    close(sv[0]);
    close(sv[1]);
    /* a truncated ClientHello, then the peer leaves */
    socketpair_nb(sv);
    t = ls_tls_new(ctx, sv[0]);
    assert_int_equal(write(sv[1], "\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03", 11), 11);
    assert_int_equal(ls_tls_read(t, buf, sizeof buf), -1);
    assert_int_equal(errno, EAGAIN);
    close(sv[1]);
    assert_int_equal(ls_tls_read(t, buf, sizeof buf), 0); /* closed mid-handshake */
    ls_tls_free(t);
    close(sv[0]);
    ls_buf_init(&m, 0);
    ls_tls_render_metrics(&m);
    ls_buf_append(&m, "", 1);
    assert_non_null(strstr((const char *)m.data,
                           "livecluster_tls_handshake_failures_total{listener=\"garbage\"} 3"));
    assert_non_null(strstr((const char *)m.data,
                           "livecluster_tls_handshakes_total{listener=\"garbage\"} 0"));
    assert_non_null(strstr((const char *)m.data, "livecluster_tls_ktls{listener=\"garbage\"} 0"));
    ls_buf_free(&m);
    ls_tls_ctx_free(ctx);
}

/* A ClientHello that announces more than the bound is refused at its first record; one
 * within it goes through (the handshakes above). */
static void test_client_hello_bound(void **state)
{
    struct ls_tls_ctx *ctx;
    struct ls_tls *t;
    struct client c;
    uint8_t buf[LS_TLS_RECORD_MAX], rec[5 + 4 + 40];
    char why[256];
    int sv[2];

    (void)state;
    ctx = ls_tls_ctx_new("hello", cert1, key1, why, sizeof why);
    assert_non_null(ctx);
    /* a record announcing a 100000-byte ClientHello: refused before OpenSSL reserves it */
    socketpair_nb(sv);
    t = ls_tls_new(ctx, sv[0]);
    memset(rec, 0, sizeof rec);
    memcpy(rec, "\x16\x03\x01\x00\x2c\x01\x01\x86\xa0\x03\x03", 11);
    assert_int_equal(write(sv[1], rec, sizeof rec), (ssize_t)sizeof rec);
    assert_int_equal(ls_tls_read(t, buf, sizeof buf), -1);
    assert_int_equal(errno, EPROTO);
    assert_non_null(strstr(ls_tls_error(t), "ClientHello longer than tls_max_client_hello"));
    ls_tls_free(t);
    close(sv[0]);
    close(sv[1]);
    /* a real ClientHello over a bound set below its length */
    ls_tls_ctx_set_max_client_hello(ctx, 64);
    socketpair_nb(sv);
    t = ls_tls_new(ctx, sv[0]);
    client_init(&c, sv[1], NULL);
    ERR_clear_error();
    SSL_do_handshake(c.ssl);
    client_pump(&c);
    assert_int_equal(ls_tls_read(t, buf, sizeof buf), -1);
    assert_int_equal(errno, EPROTO);
    ls_tls_free(t);
    client_free(&c);
    close(sv[0]);
    close(sv[1]);
    ls_tls_ctx_free(ctx);
}

static void test_reload(void **state)
{
    struct ls_tls_ctx *ctx;
    struct pair old, fresh, again;
    struct ls_outq q;
    SSL_SESSION *sess;
    struct ls_buf m;
    uint8_t got[256];
    char why[256];

    (void)state;
    ctx = ls_tls_ctx_new("reload", cert1, key1, why, sizeof why);
    assert_non_null(ctx);
    pair_open(&old, ctx, NULL);
    assert_int_equal(peer_serial(&old.c), 101);
    sess = SSL_get1_session(old.c.ssl);
    assert_non_null(sess);
    assert_true(SSL_SESSION_is_resumable(sess));

    /* a bad pair keeps the certificate in use */
    assert_int_equal(ls_tls_ctx_reload(ctx, cert2, key1, why, sizeof why), LS_ECONF);
    assert_non_null(strstr(why, "does not match"));
    pair_open(&fresh, ctx, NULL);
    assert_int_equal(peer_serial(&fresh.c), 101);
    pair_close(&fresh);

    assert_int_equal(ls_tls_ctx_reload(ctx, cert2, key2, why, sizeof why), LS_OK);
    pair_open(&fresh, ctx, NULL);
    assert_int_equal(peer_serial(&fresh.c), 202);
    pair_close(&fresh);

    /* the connection from before still works, on its certificate */
    ls_outq_init(&q);
    assert_int_equal(ls_outq_push(&q, message(9, 200), LS_OUTQ_KEEP), LS_OK);
    assert_int_equal(ls_tls_write(old.t, &q), 200);
    assert_int_equal(client_read(&old.c, got, sizeof got), 200);
    assert_int_equal(be16_at(got), 9);
    pair_close(&old);

    /* a ticket from before the reload resumes after it */
    pair_open(&again, ctx, sess);
    assert_true(SSL_session_reused(again.c.ssl));
    pair_close(&again);
    SSL_SESSION_free(sess);

    ls_buf_init(&m, 0);
    ls_tls_render_metrics(&m);
    ls_buf_append(&m, "", 1);
    assert_non_null(strstr((const char *)m.data,
                           "livecluster_tls_handshakes_total{listener=\"reload\"} 4"));
    assert_non_null(strstr((const char *)m.data,
                           "livecluster_tls_resumed_total{listener=\"reload\"} 1"));
    ls_buf_free(&m);
    ls_outq_clear(&q);
    ls_tls_ctx_free(ctx);
}

/* ---- through ls_conn ---- */

struct owner {
    unsigned ready, closes;
    int err;
    char why[160];
};

static void on_ready(struct ls_conn *c, void *arg)
{
    (void)c;
    ((struct owner *)arg)->ready++;
}

static void on_message(struct ls_conn *c, void *owner, struct ls_frame *msg)
{
    (void)c;
    (void)owner;
    (void)msg;
}

static void on_close(struct ls_conn *c, void *arg, int err, const char *why)
{
    struct owner *o = arg;

    (void)c;
    o->closes++;
    o->err = err;
    snprintf(o->why, sizeof o->why, "%s", why);
}

static const struct ls_conn_ops ops = {
    .on_ready = on_ready, .on_message = on_message, .on_close = on_close,
};

static struct ls_conn *tls_conn(struct event_base *base, struct ls_tls_ctx *ctx, int fd,
                                unsigned handshake_ms, struct owner *o)
{
    struct ls_conn_config cfg;
    struct ls_conn *c;

    ls_conn_config_defaults(&cfg);
    cfg.handshake_timeout_ms = handshake_ms;
    c = ls_conn_new(base, fd, LS_HS_SERVER, &cfg, &ops, o);
    assert_non_null(c);
    assert_int_equal(ls_conn_use_tls(c, ctx), LS_OK);
    assert_int_equal(ls_conn_start(c), LS_OK);
    return c;
}

/* A client that starts a TLS handshake and stops is closed at handshake_timeout. */
static void test_conn_stalled_handshake(void **state)
{
    struct event_base *base = event_base_new();
    struct ls_tls_ctx *ctx;
    struct owner o = { 0 };
    char why[256];
    int sv[2];

    (void)state;
    ctx = ls_tls_ctx_new("stall", cert1, key1, why, sizeof why);
    assert_non_null(ctx);
    socketpair_nb(sv);
    (void)tls_conn(base, ctx, sv[0], 1000, &o);
    assert_int_equal(write(sv[1], "\x16\x03\x01\x02\x00\x01", 6), 6);
    EVLOOP_WAIT(base, o.closes > 0, 5000);
    assert_int_equal(o.closes, 1);
    assert_int_equal(o.err, LS_ELIMIT);
    assert_string_equal(o.why, "handshake timeout");
    assert_int_equal(o.ready, 0);
    close(sv[1]);

    /* garbage: closed at once, with OpenSSL's reason */
    socketpair_nb(sv);
    memset(&o, 0, sizeof o);
    (void)tls_conn(base, ctx, sv[0], 10000, &o);
    assert_int_equal(write(sv[1], "\x03 not TLS at all, an RTMP C0", 29), 29);
    EVLOOP_WAIT(base, o.closes > 0, 5000);
    assert_int_equal(o.err, LS_EPROTO);
    assert_non_null(strstr(o.why, "TLS handshake failed"));
    close(sv[1]);
    event_base_free(base);
    ls_tls_ctx_free(ctx);
}

/* TLS, then the RTMP handshake inside it: on_ready, and an orderly close sends
 * close_notify. */
static void test_conn_rtmp_over_tls(void **state)
{
    struct event_base *base = event_base_new();
    struct ls_handshake *hs = ls_handshake_new(LS_HS_CLIENT);
    struct ls_tls_ctx *ctx;
    struct owner o = { 0 };
    struct client c;
    struct ls_conn *conn;
    const uint8_t *out;
    uint8_t buf[8192];
    size_t n, sent = 0;
    char why[256];
    int sv[2], i;

    (void)state;
    ctx = ls_tls_ctx_new("conn", cert1, key1, why, sizeof why);
    assert_non_null(ctx);
    socketpair_nb(sv);
    conn = tls_conn(base, ctx, sv[0], 5000, &o);
    client_init(&c, sv[1], NULL);
    for (i = 0; i < 100 && !SSL_is_init_finished(c.ssl); i++) {
        ERR_clear_error();
        SSL_do_handshake(c.ssl);
        client_pump(&c);
        evloop_once(base, 10);
        client_pump(&c);
    }
    assert_true(SSL_is_init_finished(c.ssl));
    for (i = 0; i < 500 && o.ready == 0; i++) {
        while ((n = ls_handshake_output(hs, &out)) > 0) {
            client_write(&c, out, n);
            sent += n;
            ls_handshake_output_consumed(hs, n);
        }
        evloop_once(base, 10);
        n = client_read(&c, buf, sizeof buf);
        if (n > 0)
            assert_int_equal(ls_handshake_feed(hs, buf, n, NULL), (ssize_t)n);
    }
    assert_true(ls_handshake_done(hs));
    assert_int_equal(o.ready, 1);
    assert_int_equal(ls_conn_bytes_in(conn), sent); /* C0C1 and C2, decrypted */
    ls_conn_close(conn, LS_OK, "test done");
    assert_int_equal(o.closes, 1);
    client_pump(&c);
    ERR_clear_error();
    assert_true(SSL_read(c.ssl, buf, 1) <= 0);
    assert_int_equal(SSL_get_error(c.ssl, 0), SSL_ERROR_ZERO_RETURN); /* close_notify */
    ls_handshake_free(hs);
    client_free(&c);
    close(sv[1]);
    event_base_free(base);
    ls_tls_ctx_free(ctx);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_check_files),
        cmocka_unit_test(test_config_errors),
        cmocka_unit_test(test_one_record_per_flush),
        cmocka_unit_test(test_pending_record_survives_shed),
        cmocka_unit_test(test_garbage_handshake),
        cmocka_unit_test(test_client_hello_bound),
        cmocka_unit_test(test_reload),
        cmocka_unit_test(test_conn_stalled_handshake),
        cmocka_unit_test(test_conn_rtmp_over_tls),
    };

    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
