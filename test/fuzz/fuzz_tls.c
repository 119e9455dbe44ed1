/*
 * libFuzzer target for the server side of a TLS connection (tls.c: what rtmps_listen
 * accepts; https_listen uses the same OpenSSL settings through libevent's bufferevent):
 * the fuzzer's bytes are what a client sends, over an AF_UNIX socket pair, into ls_tls_read
 * and the handshake it drives — garbage, truncated and malformed ClientHellos, or, after a
 * real handshake the harness performs, records that do not decrypt.
 *
 * Input: byte 0 = mode, then the client's bytes.
 *   mode bit 0: the harness first completes a TLS 1.3 (bit 3: 1.2) handshake as the
 *               client; the bytes follow it raw
 *   mode bit 1: feed the bytes in pieces of 8 * bits 4-6 + 1 bytes, one read each
 *   mode bit 2: the client closes after its bytes (EOF mid-stream); else it stalls
 * Between reads the server also writes a small queue (a connection that is established
 * answers; one that is not must not write).
 *
 * Memory: while the connection is open, what the process allocated since the input started
 * (ASan's allocator count) stays under a fixed bound (OpenSSL's connection state with one
 * handshake message at its maximum, 128 KiB, plus its buffers): a stalled or hostile
 * handshake costs a bounded amount. After ls_tls_free everything is released (LeakSanitizer).
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <sanitizer/allocator_interface.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "libstream/frame.h"
#include "libstream/outq.h"
#include "libstream/tls.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_READS 512
#define MEMORY_BOUND (512 * 1024)

static struct ls_tls_ctx *ctx;
static SSL_CTX *client_ctx;
static uint8_t scratch[4 * LS_TLS_RECORD_MAX];

/* A self-signed certificate and key in temporary files (the target needs nothing else). */
static void make_cert(char *cert, char *key, size_t cap)
{
    EVP_PKEY *k = EVP_EC_gen("P-256");
    X509 *x = X509_new();
    char dir[] = "/tmp/lc-fuzz-tls.XXXXXX";
    FILE *f;

    if (k == NULL || x == NULL || mkdtemp(dir) == NULL)
        abort();
    X509_set_version(x, 2);
    ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
    X509_gmtime_adj(X509_getm_notBefore(x), 0);
    X509_gmtime_adj(X509_getm_notAfter(x), 86400);
    X509_set_pubkey(x, k);
    X509_NAME_add_entry_by_txt(X509_get_subject_name(x), "CN", MBSTRING_ASC,
                               (const unsigned char *)"localhost", -1, -1, 0);
    X509_set_issuer_name(x, X509_get_subject_name(x));
    if (X509_sign(x, k, EVP_sha256()) == 0)
        abort();
    snprintf(cert, cap, "%s/cert.pem", dir);
    snprintf(key, cap, "%s/key.pem", dir);
    f = fopen(cert, "w");
    if (f == NULL || PEM_write_X509(f, x) != 1)
        abort();
    fclose(f);
    f = fopen(key, "w");
    if (f == NULL || PEM_write_PrivateKey(f, k, NULL, NULL, 0, NULL, NULL) != 1)
        abort();
    fclose(f);
    X509_free(x);
    EVP_PKEY_free(k);
}

static void init_once(void)
{
    char cert[128], key[128], why[256];

    if (ctx != NULL)
        return;
    signal(SIGPIPE, SIG_IGN);
    make_cert(cert, key, sizeof cert);
    ctx = ls_tls_ctx_new("fuzz", cert, key, why, sizeof why);
    client_ctx = SSL_CTX_new(TLS_client_method());
    if (ctx == NULL || client_ctx == NULL)
        abort();
    unlink(cert);
    unlink(key);
}

/* The server reads (and answers a small queue) once. False when the connection ended. */
static bool server_turn(struct ls_tls *t)
{
    struct ls_outq q;
    ssize_t n = ls_tls_read(t, scratch, sizeof scratch);
    bool alive = n > 0 || (n == -1 && errno == EAGAIN);
    struct ls_frame *f;

    if (!alive)
        return false;
    ls_outq_init(&q);
    f = ls_frame_new_copy(0, 0, 0, (const uint8_t *)"answer", 6);
    if (f == NULL || ls_outq_push(&q, f, LS_OUTQ_KEEP) != LS_OK)
        abort();
    alive = ls_tls_write(t, &q) >= 0;
    ls_outq_clear(&q);
    return alive;
}

/* A real client handshake over `fd` (its own socket end), the server reading meanwhile. */
static void client_handshake(int fd, struct ls_tls *t, bool tls12)
{
    SSL *c = SSL_new(client_ctx);
    int i;

    if (c == NULL)
        abort();
    SSL_set_fd(c, fd);
    SSL_set_connect_state(c);
    if (tls12)
        SSL_set_max_proto_version(c, TLS1_2_VERSION);
    for (i = 0; i < 50 && !SSL_is_init_finished(c); i++) {
        ERR_clear_error();
        SSL_do_handshake(c);
        if (!server_turn(t))
            break;
    }
    ERR_clear_error();
    SSL_free(c); /* the socket stays: the fuzzer's bytes follow on it */
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct ls_tls *t;
    size_t start, piece, off = 0;
    uint8_t mode;
    int sv[2], i;
    bool alive = true;

    init_once();
    if (size < 1)
        return 0;
    mode = data[0];
    data++;
    size--;
    piece = mode & 2 ? (size_t)((mode >> 4) & 7) * 8 + 1 : size;
    if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == -1)
        abort();
    fcntl(sv[0], F_SETFL, O_NONBLOCK);
    fcntl(sv[1], F_SETFL, O_NONBLOCK);
    start = __sanitizer_get_current_allocated_bytes();
    t = ls_tls_new(ctx, sv[0]);
    if (t == NULL)
        abort();
    if (mode & 1)
        client_handshake(sv[1], t, mode & 8);
    for (i = 0; i < MAX_READS && alive; i++) {
        size_t n = size - off < piece ? size - off : piece;

        if (n > 0) {
            ssize_t w = send(sv[1], data + off, n, MSG_DONTWAIT | MSG_NOSIGNAL);

            if (w > 0)
                off += (size_t)w;
        } else if (mode & 4) {
            shutdown(sv[1], SHUT_WR);
        }
        alive = server_turn(t);
        if (__sanitizer_get_current_allocated_bytes() > start + MEMORY_BOUND)
            abort(); /* a connection's TLS state grew with its input */
        if (off == size && !(mode & 4) && i > 8)
            break; /* stalled: what it holds was measured above */
        /* drain the server's answers so that its writes never block */
        while (recv(sv[1], scratch, sizeof scratch, MSG_DONTWAIT) > 0)
            ;
    }
    ls_tls_free(t);
    close(sv[0]);
    close(sv[1]);
    ERR_clear_error();
    return 0;
}
