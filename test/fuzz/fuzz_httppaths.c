/*
 * libFuzzer target for what an HTTP (and RTMP) request names: the HTTP-FLV path parser,
 * stream-id parsing from URLs and from connect/play arguments, query lookup, play tokens
 * and internal-pull signatures (streamid.c, token.c, peersig.c); and, with mode bit 0, the
 * same bytes as a raw HTTP request to an in-process HTTP server with the HTTP-FLV route
 * (http.c, httpflv.c, a server and a hub) on a private event_base.
 *
 * Input: byte 0 = mode, then NUL-separated fields: a request target or RTMP URL, an app,
 * a name, a secret, a query key (missing fields are "").
 * Invariants: what a parser accepts is a valid id (it parses again as an id) with a query
 * of bounded length, and an accepted HTTP-FLV target rebuilt from its parts parses to the
 * same id and query; a signature check answers LS_OK (naming spd or epd), LS_ENOTFOUND or
 * LS_EAUTH. For the raw request: afterwards no connection, session or stream is left, and
 * the memory the process holds (ASan's count) has not grown beyond a fixed allowance.
 */
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
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

#include <event2/event.h>

#include "libstream/http.h"
#include "libstream/httpflv.h"
#include "libstream/hub.h"
#include "libstream/log.h"
#include "libstream/peersig.h"
#include "libstream/server.h"
#include "libstream/streamid.h"
#include "libstream/streamsapi.h"
#include "libstream/token.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FIELDS 5
#define MAX_TURNS 200

static struct event_base *base;
static struct ls_hub *hub;
static struct ls_server *srv;
static struct ls_http *http;
static struct ls_httpflv *flv;
static uint16_t http_port;

static void no_log(int level, const char *line, void *arg)
{
    (void)level;
    (void)line;
    (void)arg;
}

static uint16_t free_port(void)
{
    struct sockaddr_in a = { .sin_family = AF_INET };
    socklen_t len = sizeof a;
    int fd = socket(AF_INET, SOCK_STREAM, 0);

    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd == -1 || bind(fd, (struct sockaddr *)&a, sizeof a) == -1 ||
        getsockname(fd, (struct sockaddr *)&a, &len) == -1)
        abort();
    close(fd);
    return ntohs(a.sin_port);
}

static void init_once(void)
{
    struct ls_hub_config hcfg;
    struct ls_server_config scfg;
    char listen[64];

    if (base != NULL)
        return;
    signal(SIGPIPE, SIG_IGN);
    ls_log_set_sink(no_log, NULL);
    ls_log_set_level(LS_LOG_DEBUG);
    base = event_base_new();
    ls_hub_config_defaults(&hcfg);
    hub = ls_hub_new(base, &hcfg);
    ls_server_config_defaults(&scfg);
    scfg.play_wait_timeout_ms = 0; /* nothing is live: answered at once */
    snprintf(listen, sizeof listen, "127.0.0.1:%u", free_port());
    srv = ls_server_new(base, hub, &scfg, listen);
    http_port = free_port();
    snprintf(listen, sizeof listen, "127.0.0.1:%u", http_port);
    http = ls_http_new(base, listen, "spd", "fuzz");
    flv = http != NULL && srv != NULL && ls_streamsapi_attach(http, hub) == LS_OK
              ? ls_httpflv_new(http, srv) : NULL;
    if (base == NULL || hub == NULL || srv == NULL || http == NULL || flv == NULL)
        abort();
    ls_http_set_limits(http, 4, 10000);
}

static void check_id(const struct ls_stream_ref *ref)
{
    struct ls_stream_ref again;

    if (ls_streamid_parse_id(ref->id, &again, NULL) != LS_OK || strcmp(again.id, ref->id) != 0 ||
        strlen(ref->query) > LS_STREAM_QUERY_MAX)
        abort();
}

static void check_parsers(char *const f[FIELDS])
{
    struct ls_stream_ref ref, back;
    struct ls_rtmp_url url;
    struct ls_peer_info peer;
    char target[LS_STREAM_ID_MAX + LS_STREAM_QUERY_MAX + 16], value[256];
    const char *why = NULL;
    int rc;

    if (ls_http_flv_path_parse(f[0], &ref) == LS_OK) {
        check_id(&ref);
        snprintf(target, sizeof target, "/%s.flv%s%s", ref.id, ref.query[0] ? "?" : "",
                 ref.query);
        if (ls_http_flv_path_parse(target, &back) != LS_OK || strcmp(back.id, ref.id) != 0 ||
            strcmp(back.query, ref.query) != 0)
            abort();
    }
    if (ls_rtmp_url_parse(f[0], &url) == LS_OK && ls_streamid_parse(url.app, url.name, &ref,
                                                                     &why) == LS_OK)
        check_id(&ref);
    if (ls_streamid_parse(f[1], f[2], &ref, &why) != LS_OK)
        return;
    check_id(&ref);
    (void)ls_query_get(ref.query, f[4], value, sizeof value);
    (void)ls_token_verify(f[3], ref.id, ref.query, 1700000000, &why);
    rc = ls_peersig_verify(f[3], "sp-fuzz", f[4], ref.id, ref.query, &peer);
    if (rc == LS_OK) {
        if (!peer.internal || (strcmp(peer.role, "spd") != 0 && strcmp(peer.role, "epd") != 0))
            abort();
    } else if (rc != LS_ENOTFOUND && rc != LS_EAUTH) {
        abort();
    }
}

static void turn(void)
{
    event_base_loop(base, EVLOOP_NONBLOCK);
}

/* The input as one raw HTTP request; the server must end up holding nothing. */
static void raw_request(const uint8_t *p, size_t n)
{
    struct sockaddr_in a = { .sin_family = AF_INET };
    size_t start = __sanitizer_get_current_allocated_bytes(), now;
    int fd = socket(AF_INET, SOCK_STREAM, 0), t;
    uint8_t buf[4096];

    a.sin_port = htons(http_port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd == -1 || connect(fd, (struct sockaddr *)&a, sizeof a) == -1)
        abort();
    fcntl(fd, F_SETFL, O_NONBLOCK);
    for (t = 0; t < MAX_TURNS; t++) {
        ssize_t r;

        if (n > 0) {
            ssize_t w = send(fd, p, n, MSG_NOSIGNAL);

            if (w > 0) {
                p += w;
                n -= (size_t)w;
            }
        }
        turn();
        r = recv(fd, buf, sizeof buf, 0);
        if (r == 0)
            break; /* answered and closed: one request per connection */
    }
    close(fd);
    for (t = 0; t < MAX_TURNS && ls_http_connection_count(http) > 0; t++)
        turn();
    turn();
    if (ls_http_connection_count(http) != 0 || ls_hub_stream_count(hub) != 0)
        abort();
    now = __sanitizer_get_current_allocated_bytes();
    if (now > start && now - start > (1u << 20))
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *copy, *f[FIELDS];
    size_t i, k;

    init_once();
    if (size < 1)
        return 0;
    copy = malloc(size);
    if (copy == NULL)
        return 0;
    memcpy(copy, data + 1, size - 1);
    copy[size - 1] = '\0';
    for (i = 0, k = 0; k < FIELDS; k++) {
        f[k] = copy + i;
        i += strlen(copy + i);
        if (i < size - 1)
            i++;
    }
    check_parsers(f);
    free(copy);
    if (data[0] & 1)
        raw_request(data + 1, size - 1);
    return 0;
}
