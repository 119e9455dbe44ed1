/*
 * hsprobe — checks libstream's RTMP handshake (handshake.c) against real peers.
 *
 *   hsprobe [server] PORT [--dump FILE]
 *       Listens on 127.0.0.1:PORT, accepts ONE connection, runs the server handshake,
 *       then reads the start of the chunk stream and reports whether it begins with a
 *       type-20 `connect` command (basic header, type-0 message header, then the AMF0
 *       string 0x02 0x00 0x07 "connect"). --dump writes the client's C0 C1 C2 (3073
 *       bytes) to FILE, for golden vectors. Exit 0 if the handshake completed and a
 *       connect followed, 1 otherwise.
 *   hsprobe client HOST PORT [--scheme plain|digest0|digest1] [--app APP]
 *       Runs the client handshake against a server (e.g. nginx-rtmp), then sends a minimal
 *       `connect` for APP (default "live") and waits for NetConnection.Connect.Success.
 *       Exit 0 if the handshake completed and the server accepted the connect.
 *
 * A blocking test tool: one connection, 10 s receive timeout, no libevent.
 */
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "libstream/buf.h"
#include "libstream/bytes.h"
#include "libstream/handshake.h"
#include "libstream/rtmp.h"

#define HS_LEN (1u + 2u * LS_HS_PACKET_LEN)

static int usage(void)
{
    fprintf(stderr, "usage: hsprobe [server] PORT [--dump FILE]\n"
                    "       hsprobe client HOST PORT [--scheme plain|digest0|digest1] [--app APP]\n");
    return 2;
}

static void set_timeout(int fd, int seconds)
{
    struct timeval tv = { .tv_sec = seconds, .tv_usec = 0 };
    int one = 1;
    if (setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv) == -1 ||
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv) == -1 ||
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one) == -1)
        perror("hsprobe: setsockopt");
}

static int write_all(int fd, const uint8_t *p, size_t n)
{
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w == -1) {
            if (errno == EINTR)
                continue;
            perror("hsprobe: write");
            return -1;
        }
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

/* Sends everything the handshake has pending. */
static int flush_output(int fd, struct ls_handshake *hs)
{
    const uint8_t *out;
    size_t n;
    while ((n = ls_handshake_output(hs, &out)) > 0) {
        if (write_all(fd, out, n) == -1)
            return -1;
        ls_handshake_output_consumed(hs, n);
    }
    return 0;
}

/* Reads once, appending to buf[*len..cap). Returns bytes read, 0 on EOF, -1 on error. */
static ssize_t read_some(int fd, uint8_t *buf, size_t *len, size_t cap)
{
    ssize_t r;
    if (*len == cap)
        return 0;
    do
        r = read(fd, buf + *len, cap - *len);
    while (r == -1 && errno == EINTR);
    if (r > 0)
        *len += (size_t)r;
    return r;
}

static void print_version(const char *label, uint32_t v)
{
    printf(" %s=%u.%u.%u.%u", label, v >> 24, (v >> 16) & 0xff, (v >> 8) & 0xff, v & 0xff);
}

/*
 * Runs the handshake on fd. `in` receives every byte read; on success *used is the
 * number of handshake bytes at its start and *len the number read (the rest is chunk
 * stream). Returns 0 when done, -1 on failure (reason printed).
 */
static int run_handshake(int fd, struct ls_handshake *hs, uint8_t *in, size_t cap, size_t *len,
                         size_t *used)
{
    *len = *used = 0;
    for (;;) {
        ssize_t n;
        const char *why = NULL;
        if (flush_output(fd, hs) == -1)
            return -1;
        if (ls_handshake_done(hs))
            return 0;
        n = read_some(fd, in, len, cap);
        if (n <= 0) {
            printf("handshake failed: %s after %zu bytes\n", n == 0 ? "peer closed" :
                                                             strerror(errno), *len);
            return -1;
        }
        n = ls_handshake_feed(hs, in + *used, *len - *used, &why);
        if (n < 0) {
            printf("handshake failed: %s (%s)\n", ls_strerror((int)n), why ? why : "");
            return -1;
        }
        *used += (size_t)n;
    }
}

/* Looks for a type-0 chunk carrying a type-20 message whose body starts with the AMF0
 * string "connect". Returns 1 yes, 0 no, -1 need more bytes. */
static int looks_like_connect(const uint8_t *p, size_t n, unsigned *csid, uint32_t *mlen)
{
    static const uint8_t want[] = { 0x02, 0x00, 0x07, 'c', 'o', 'n', 'n', 'e', 'c', 't' };
    size_t h;
    if (n < 1)
        return -1;
    if (p[0] >> 6 != 0)
        return 0; /* the first chunk of a stream must have a full (type 0) header */
    *csid = p[0] & 0x3f;
    h = *csid == 0 ? 2 : *csid == 1 ? 3 : 1;
    if (n < h + 11)
        return -1;
    if (*csid == 0)
        *csid = 64u + p[1];
    else if (*csid == 1)
        *csid = 64u + p[1] + 256u * p[2];
    *mlen = ls_get_be24(p + h + 3);
    if (p[h + 6] != LS_MSG_COMMAND_AMF0)
        return 0;
    if (ls_get_be24(p + h) == 0xffffff)
        h += 4; /* extended timestamp */
    h += 11;
    if (n < h + sizeof want)
        return -1;
    return memcmp(p + h, want, sizeof want) == 0;
}

static int server_main(int argc, char **argv)
{
    const char *dump = NULL;
    struct sockaddr_in sa;
    int lfd, fd, one = 1, r, i;
    uint8_t in[65536];
    size_t len, used;
    unsigned csid = 0;
    uint32_t mlen = 0;
    struct ls_handshake *hs;
    long port;

    if (argc < 1)
        return usage();
    port = strtol(argv[0], NULL, 10);
    for (i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--dump") == 0 && i + 1 < argc)
            dump = argv[++i];
        else
            return usage();
    }
    if (port <= 0 || port > 65535)
        return usage();
    lfd = socket(AF_INET, SOCK_STREAM, 0);
    if (lfd == -1) {
        perror("hsprobe: socket");
        return 1;
    }
    memset(&sa, 0, sizeof sa);
    sa.sin_family = AF_INET;
    sa.sin_port = htons((uint16_t)port);
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) == -1 ||
        bind(lfd, (struct sockaddr *)&sa, sizeof sa) == -1 || listen(lfd, 1) == -1) {
        perror("hsprobe: bind/listen");
        return 1;
    }
    printf("listening on 127.0.0.1:%ld\n", port);
    fflush(stdout);
    fd = accept(lfd, NULL, NULL);
    close(lfd);
    if (fd == -1) {
        perror("hsprobe: accept");
        return 1;
    }
    set_timeout(fd, 10);
    hs = ls_handshake_new(LS_HS_SERVER);
    if (hs == NULL) {
        fprintf(stderr, "hsprobe: ls_handshake_new failed\n");
        return 1;
    }
    if (run_handshake(fd, hs, in, sizeof in, &len, &used) == -1) {
        ls_handshake_free(hs);
        close(fd);
        return 1;
    }
    printf("handshake ok scheme=%d (%s)", (int)ls_handshake_scheme(hs),
           ls_handshake_scheme_name(ls_handshake_scheme(hs)));
    print_version("client_version", ls_handshake_peer_version(hs));
    printf(" c2=%s\n", ls_handshake_check_name(ls_handshake_response_check(hs)));
    if (dump != NULL) {
        FILE *f = fopen(dump, "wb");
        if (f == NULL || fwrite(in, 1, used, f) != used || fclose(f) != 0)
            perror("hsprobe: dump");
    }
    /* The client speaks next: its first chunk should be the connect command. */
    while ((r = looks_like_connect(in + used, len - used, &csid, &mlen)) < 0)
        if (read_some(fd, in, &len, sizeof in) <= 0)
            break;
    if (r == 1)
        printf("chunk stream: type-20 connect on csid %u, %u bytes\n", csid, mlen);
    else
        printf("chunk stream: no connect (%zu bytes after the handshake, first 0x%02x)\n",
               len - used, len > used ? in[used] : 0);
    ls_handshake_free(hs);
    close(fd);
    return r == 1 ? 0 : 1;
}

/* AMF0 helpers for the one command we send. */
static void amf_string(struct ls_buf *b, const char *s)
{
    ls_buf_put_u8(b, 0x02);
    ls_buf_put_be16(b, (uint16_t)strlen(s));
    ls_buf_append(b, s, strlen(s));
}

static void amf_key(struct ls_buf *b, const char *k)
{
    ls_buf_put_be16(b, (uint16_t)strlen(k));
    ls_buf_append(b, k, strlen(k));
}

/* connect(1, {app, tcUrl}) as one type-0 chunk on csid 3, continued by type-3 chunks
 * every 128 bytes (the default chunk size). */
static int send_connect(int fd, const char *host, const char *port, const char *app)
{
    struct ls_buf body, msg;
    char tc_url[512];
    size_t off;
    int rc;

    snprintf(tc_url, sizeof tc_url, "rtmp://%s:%s/%s", host, port, app);
    ls_buf_init(&body, 4096);
    amf_string(&body, "connect");
    ls_buf_put_u8(&body, 0x00);
    ls_buf_put_be_double(&body, 1.0);
    ls_buf_put_u8(&body, 0x03);
    amf_key(&body, "app");
    amf_string(&body, app);
    amf_key(&body, "type");
    amf_string(&body, "nonprivate");
    amf_key(&body, "tcUrl");
    amf_string(&body, tc_url);
    ls_buf_put_be16(&body, 0);
    ls_buf_put_u8(&body, 0x09);

    ls_buf_init(&msg, 8192);
    ls_buf_put_u8(&msg, LS_CSID_COMMAND); /* fmt 0 */
    ls_buf_put_be24(&msg, 0);
    ls_buf_put_be24(&msg, (uint32_t)body.len);
    ls_buf_put_u8(&msg, LS_MSG_COMMAND_AMF0);
    ls_buf_put_le32(&msg, 0);
    for (off = 0; off < body.len; off += LS_RTMP_DEFAULT_CHUNK_SIZE) {
        size_t n = body.len - off;
        if (off > 0)
            ls_buf_put_u8(&msg, 0xc0 | LS_CSID_COMMAND); /* fmt 3 */
        ls_buf_append(&msg, body.data + off, n < LS_RTMP_DEFAULT_CHUNK_SIZE ? n : LS_RTMP_DEFAULT_CHUNK_SIZE);
    }
    rc = ls_buf_status(&body) == LS_OK && ls_buf_status(&msg) == LS_OK
             ? write_all(fd, msg.data, msg.len)
             : -1;
    ls_buf_free(&body);
    ls_buf_free(&msg);
    return rc;
}

static int client_main(int argc, char **argv)
{
    struct ls_hs_options o;
    struct addrinfo hints, *ai = NULL, *a;
    const char *host, *port, *app = "live";
    uint8_t in[65536];
    size_t len, used;
    int fd = -1, i, ok = 0;
    struct ls_handshake *hs;
    static const char success[] = "NetConnection.Connect.Success";

    if (argc < 2)
        return usage();
    host = argv[0];
    port = argv[1];
    ls_handshake_options_init(&o, LS_HS_CLIENT);
    for (i = 2; i < argc; i++) {
        if (strcmp(argv[i], "--scheme") == 0 && i + 1 < argc) {
            const char *s = argv[++i];
            if (strcmp(s, "plain") == 0)
                o.scheme = LS_HS_PLAIN;
            else if (strcmp(s, "digest0") == 0)
                o.scheme = LS_HS_DIGEST0;
            else if (strcmp(s, "digest1") == 0)
                o.scheme = LS_HS_DIGEST1;
            else
                return usage();
        } else if (strcmp(argv[i], "--app") == 0 && i + 1 < argc) {
            app = argv[++i];
        } else {
            return usage();
        }
    }
    memset(&hints, 0, sizeof hints);
    hints.ai_socktype = SOCK_STREAM;
    if (getaddrinfo(host, port, &hints, &ai) != 0) {
        fprintf(stderr, "hsprobe: cannot resolve %s:%s\n", host, port);
        return 1;
    }
    for (a = ai; a != NULL; a = a->ai_next) {
        fd = socket(a->ai_family, a->ai_socktype, a->ai_protocol);
        if (fd != -1 && connect(fd, a->ai_addr, a->ai_addrlen) == 0)
            break;
        if (fd != -1)
            close(fd);
        fd = -1;
    }
    freeaddrinfo(ai);
    if (fd == -1) {
        perror("hsprobe: connect");
        return 1;
    }
    set_timeout(fd, 10);
    hs = ls_handshake_new_opts(LS_HS_CLIENT, &o);
    if (hs == NULL) {
        fprintf(stderr, "hsprobe: ls_handshake_new failed\n");
        close(fd);
        return 1;
    }
    if (run_handshake(fd, hs, in, sizeof in, &len, &used) == -1) {
        ls_handshake_free(hs);
        close(fd);
        return 1;
    }
    printf("handshake ok scheme=%d (%s) sent=%s", (int)ls_handshake_scheme(hs),
           ls_handshake_scheme_name(ls_handshake_scheme(hs)), ls_handshake_scheme_name(o.scheme));
    print_version("server_version", ls_handshake_peer_version(hs));
    printf(" s2=%s\n", ls_handshake_check_name(ls_handshake_response_check(hs)));
    if (send_connect(fd, host, port, app) == 0) {
        /* Scan the raw reply for the status code; good enough for a probe (the _result
         * fits one chunk at nginx-rtmp's chunk size). */
        while (!ok) {
            if (len - used >= sizeof success - 1 &&
                memmem(in + used, len - used, success, sizeof success - 1) != NULL)
                ok = 1;
            else if (read_some(fd, in, &len, sizeof in) <= 0)
                break;
        }
    }
    printf("connect: %s (%zu bytes received after the handshake)\n",
           ok ? "NetConnection.Connect.Success" : "no success reply", len - used);
    ls_handshake_free(hs);
    close(fd);
    return ok ? 0 : 1;
}

int main(int argc, char **argv)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    if (argc >= 2 && strcmp(argv[1], "client") == 0)
        return client_main(argc - 2, argv + 2);
    if (argc >= 2 && strcmp(argv[1], "server") == 0)
        return server_main(argc - 2, argv + 2);
    return argc >= 2 ? server_main(argc - 1, argv + 1) : usage();
}
