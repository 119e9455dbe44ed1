/*
 * Unit tests for auth.c: the admission step (tokens and auth_url).
 *
 * The auth_url side runs against an evhttp server on loopback in the same event_base:
 * it records each POST (path, content type, form fields) and answers with the status the
 * test chose, or not at all (to exercise the deadline and cancellation). A raw TCP server
 * next to it trickles an answer a byte at a time (the total deadline) or floods headers
 * (the answer bound).
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>

#include "libstream/auth.h"
#include "libstream/clock.h"
#include "libstream/err.h"
#include "libstream/resolver.h"
#include "libstream/stats.h"
#include "libstream/streamid.h"
#include "libstream/token.h"
#include "support/fakedns.h"

static struct event_base *base;
static struct evhttp *server;
static int port;
static int answer_code;          /* 0 = never answer */
static size_t answer_body;       /* bytes of body sent with the answer */
static struct evhttp_request *held; /* a request left unanswered */
static struct evhttp_request *held_all[8]; /* every request left unanswered */
static int nheld;
static char last_path[256], last_ctype[128], last_body[1024];
static int requests;

static void server_cb(struct evhttp_request *req, void *arg)
{
    struct evbuffer *in = evhttp_request_get_input_buffer(req);
    const char *ct = evhttp_find_header(evhttp_request_get_input_headers(req), "Content-Type");
    size_t n = evbuffer_get_length(in);

    (void)arg;
    requests++;
    snprintf(last_path, sizeof last_path, "%s", evhttp_request_get_uri(req));
    snprintf(last_ctype, sizeof last_ctype, "%s", ct != NULL ? ct : "");
    if (n >= sizeof last_body)
        n = sizeof last_body - 1;
    evbuffer_copyout(in, last_body, n);
    last_body[n] = '\0';
    assert_int_equal(evhttp_request_get_command(req), EVHTTP_REQ_POST);
    if (answer_code == 0) {
        held = req;
        if (nheld < (int)(sizeof held_all / sizeof held_all[0]))
            held_all[nheld++] = req;
        return;
    }
    if (answer_body > 0) {
        struct evbuffer *body = evbuffer_new();
        char *fill = malloc(answer_body);

        memset(fill, 'x', answer_body);
        evbuffer_add(body, fill, answer_body);
        free(fill);
        evhttp_send_reply(req, answer_code, "X", body);
        evbuffer_free(body);
        return;
    }
    evhttp_send_reply(req, answer_code, "X", NULL);
}

static int setup(void **state)
{
    struct evhttp_bound_socket *bs;
    struct sockaddr_in a;
    socklen_t len = sizeof a;

    (void)state;
    base = event_base_new();
    server = evhttp_new(base);
    evhttp_set_allowed_methods(server, EVHTTP_REQ_POST);
    evhttp_set_gencb(server, server_cb, NULL);
    bs = evhttp_bind_socket_with_handle(server, "127.0.0.1", 0);
    if (bs == NULL)
        return -1;
    getsockname(evhttp_bound_socket_get_fd(bs), (struct sockaddr *)&a, &len);
    port = ntohs(a.sin_port);
    requests = 0;
    held = NULL;
    nheld = 0;
    answer_code = 200;
    answer_body = 0;
    last_body[0] = '\0';
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    evhttp_free(server);
    event_base_free(base);
    return 0;
}

struct outcome {
    int calls;
    int result;
    char why[128];
};

static void done_cb(void *arg, int result, const char *why)
{
    struct outcome *o = arg;

    o->calls++;
    o->result = result;
    snprintf(o->why, sizeof o->why, "%s", why != NULL ? why : "");
}

/* Runs the loop until the outcome arrived or `ms` passed. */
static void wait_outcome(struct outcome *o, unsigned ms)
{
    uint64_t end = ls_now_ms() + ms;

    while (o->calls == 0 && ls_now_ms() < end) {
        struct timeval tv = { 0, 10000 };

        event_base_loopexit(base, &tv);
        event_base_dispatch(base);
    }
}

static void ref_of(const char *app, const char *name, struct ls_stream_ref *ref)
{
    assert_int_equal(ls_streamid_parse(app, name, ref, NULL), LS_OK);
}

/* Without a secret or a URL everything is admitted — from the loop, never inline. */
static void test_open_admission(void **state)
{
    struct ls_auth_config cfg = { .secret = NULL, .auth_url = NULL, .timeout_ms = 1000 };
    struct ls_auth_config empty = { .secret = "", .auth_url = "", .timeout_ms = 1000 };
    struct ls_stream_ref ref;
    struct outcome o = { 0 }, o2 = { 0 };

    (void)state;
    ref_of("live", "cam", &ref);
    assert_non_null(ls_auth_check(base, &cfg, "play", &ref, "1.2.3.4:5", done_cb, &o));
    assert_non_null(ls_auth_check(base, &empty, "publish", &ref, "1.2.3.4:5", done_cb, &o2));
    assert_int_equal(o.calls, 0); /* not from inside ls_auth_check */
    wait_outcome(&o, 1000);
    wait_outcome(&o2, 1000);
    assert_int_equal(o.calls, 1);
    assert_int_equal(o.result, LS_OK);
    assert_int_equal(o2.result, LS_OK);
    assert_int_equal(requests, 0);
}

/* Tokens: missing, wrong, expired, for another id → refused with a reason; valid → ok. */
static void test_tokens(void **state)
{
    struct ls_auth_config cfg = { .secret = "s3cret", .auth_url = NULL, .timeout_ms = 1000 };
    char tok[LS_TOKEN_HEX_LEN + 1], name[256];
    long fut = (long)time(NULL) + 100, past = (long)time(NULL) - 100;
    struct {
        const char *secret, *id;
        long expires;
        int want;
    } cases[] = {
        { "s3cret", "live/cam", 0, LS_EAUTH },     /* 0: no token at all */
        { "other", "live/cam", 1, LS_EAUTH },
        { "s3cret", "live/cam", -1, LS_EAUTH },    /* expired */
        { "s3cret", "live/x", 1, LS_EAUTH },
        { "s3cret", "live/cam", 1, LS_OK },
    };
    size_t i;

    (void)state;
    for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct ls_stream_ref ref;
        struct outcome o = { 0 };
        long exp = cases[i].expires > 0 ? fut : past;

        if (cases[i].expires == 0) {
            snprintf(name, sizeof name, "cam");
        } else {
            assert_int_equal(ls_token_make(cases[i].secret, cases[i].id, exp, tok), LS_OK);
            snprintf(name, sizeof name, "cam?expires=%ld&token=%s", exp, tok);
        }
        ref_of("live", name, &ref);
        assert_non_null(ls_auth_check(base, &cfg, "play", &ref, "1.2.3.4:5", done_cb, &o));
        wait_outcome(&o, 1000);
        assert_int_equal(o.calls, 1);
        assert_int_equal(o.result, cases[i].want);
        if (cases[i].want != LS_OK)
            assert_true(o.why[0] != '\0');
    }
}

/* auth_url: the POST's fields, form-encoded; 2xx admits, anything else refuses. */
static void test_auth_url(void **state)
{
    struct ls_auth_config cfg = { .secret = NULL, .auth_url = NULL, .timeout_ms = 2000 };
    char url[128];
    struct ls_stream_ref ref;
    static const struct { int code; int want; } answers[] = {
        { 200, LS_OK }, { 204, LS_OK }, { 403, LS_EAUTH }, { 500, LS_EAUTH }, { 302, LS_EAUTH },
    };
    size_t i;

    (void)state;
    snprintf(url, sizeof url, "http://127.0.0.1:%d/check?kind=x", port);
    cfg.auth_url = url;
    ref_of("live", "cam?token=a%20b&expires=42&x=1", &ref);
    for (i = 0; i < sizeof answers / sizeof answers[0]; i++) {
        struct outcome o = { 0 };

        answer_code = answers[i].code;
        assert_non_null(ls_auth_check(base, &cfg, "publish", &ref, "10.1.2.3:4567", done_cb, &o));
        wait_outcome(&o, 3000);
        assert_int_equal(o.calls, 1);
        assert_int_equal(o.result, answers[i].want);
    }
    assert_int_equal(requests, 5);
    assert_string_equal(last_path, "/check?kind=x");
    assert_string_equal(last_ctype, "application/x-www-form-urlencoded");
    /* the token's value (percent-decoded from the URL) is form-encoded again */
    assert_string_equal(last_body, "app=live&name=cam&token=a%20b&expires=42"
                                   "&client_ip=10.1.2.3&action=publish");
    /* IPv6 peers lose brackets and port; absent parameters are sent empty */
    {
        struct outcome o = { 0 };

        answer_code = 200;
        ref_of("app", "n", &ref);
        assert_non_null(ls_auth_check(base, &cfg, "play", &ref, "[::1]:99", done_cb, &o));
        wait_outcome(&o, 3000);
        assert_int_equal(o.result, LS_OK);
        assert_string_equal(last_body, "app=app&name=n&token=&expires=&client_ip=%3A%3A1&action=play");
    }
}

/* A token is checked before the URL is asked: a bad token never reaches the server. */
static void test_token_then_url(void **state)
{
    char url[128];
    struct ls_auth_config cfg = { .secret = "k", .auth_url = NULL, .timeout_ms = 2000 };
    struct ls_stream_ref ref;
    struct outcome o = { 0 };

    (void)state;
    snprintf(url, sizeof url, "http://127.0.0.1:%d/", port);
    cfg.auth_url = url;
    ref_of("live", "cam?token=nope&expires=99999999999", &ref);
    assert_non_null(ls_auth_check(base, &cfg, "play", &ref, "1.2.3.4:5", done_cb, &o));
    wait_outcome(&o, 3000);
    assert_int_equal(o.result, LS_EAUTH);
    assert_int_equal(requests, 0);
}

/* No answer within timeout_ms → refused; an unreachable URL → refused; a bad URL →
 * refused without a request. */
static void test_timeout_and_unreachable(void **state)
{
    char url[128];
    struct ls_auth_config cfg = { .secret = NULL, .auth_url = NULL, .timeout_ms = 200 };
    struct ls_stream_ref ref;
    struct outcome o = { 0 }, o2 = { 0 }, o3 = { 0 };
    uint64_t t0;

    (void)state;
    ref_of("live", "cam", &ref);
    snprintf(url, sizeof url, "http://127.0.0.1:%d/slow", port);
    cfg.auth_url = url;
    answer_code = 0;
    t0 = ls_now_ms();
    assert_non_null(ls_auth_check(base, &cfg, "play", &ref, "1.2.3.4:5", done_cb, &o));
    wait_outcome(&o, 5000);
    assert_int_equal(o.result, LS_EAUTH);
    assert_string_equal(o.why, "auth_url unreachable or timed out");
    assert_true(ls_now_ms() - t0 >= 150);
    if (held != NULL)
        evhttp_send_reply(held, 200, "late", NULL); /* too late: nobody listens */
    held = NULL;

    cfg.auth_url = "http://127.0.0.1:1/";
    assert_non_null(ls_auth_check(base, &cfg, "play", &ref, "1.2.3.4:5", done_cb, &o2));
    wait_outcome(&o2, 5000);
    assert_int_equal(o2.result, LS_EAUTH);

    cfg.auth_url = "not a url";
    assert_non_null(ls_auth_check(base, &cfg, "play", &ref, "1.2.3.4:5", done_cb, &o3));
    wait_outcome(&o3, 1000);
    assert_int_equal(o3.result, LS_EAUTH);
    assert_string_equal(o3.why, "auth_url request could not be made");
}

static unsigned ticks;

static void tick_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    (void)arg;
    ticks++;
}

/*
 * auth_url with a host name is resolved on the loop through the process's resolver
 * (defect 11 of issue 10: evhttp without a dns base resolved with a blocking getaddrinfo
 * on every request). A name that resolves is asked; with a nameserver that never answers
 * the check returns at once, the loop runs on, and the answer is a refusal.
 */
static void test_auth_url_host_names(void **state)
{
    struct ls_auth_config cfg = { .secret = NULL, .auth_url = NULL, .timeout_ms = 2000 };
    struct ls_resolver_config rc;
    struct ls_resolver *r;
    struct fakedns dns, mute;
    struct ls_addr ns_addr;
    struct ls_addr_list servers = { &ns_addr, 1 };
    struct ls_stream_ref ref;
    struct outcome o = { 0 }, o2 = { 0 };
    struct event *tick;
    struct timeval tv = { 0, 10000 };
    char url[128];

    (void)state;
    ref_of("live", "cam", &ref);
    assert_int_equal(fakedns_start(&dns, base, false), 0);
    assert_int_equal(fakedns_add(&dns, "auth.test", "127.0.0.1"), 0);
    assert_int_equal(ls_addr_parse(dns.addr, false, &ns_addr), LS_OK);
    ls_resolver_config_defaults(&rc);
    rc.servers = &servers;
    rc.timeout_ms = 600;
    r = ls_resolver_new(base, &rc);
    assert_non_null(r);
    cfg.dns = ls_resolver_evdns(r);
    snprintf(url, sizeof url, "http://auth.test:%d/check", port);
    cfg.auth_url = url;
    assert_non_null(ls_auth_check(base, &cfg, "play", &ref, "1.2.3.4:5", done_cb, &o));
    wait_outcome(&o, 3000);
    assert_int_equal(o.result, LS_OK);
    assert_int_equal(requests, 1);
    assert_true(dns.queries >= 1);
    ls_resolver_free(r);
    fakedns_stop(&dns);

    /* a nameserver that never answers */
    assert_int_equal(fakedns_start(&mute, base, true), 0);
    assert_int_equal(ls_addr_parse(mute.addr, false, &ns_addr), LS_OK);
    r = ls_resolver_new(base, &rc);
    assert_non_null(r);
    cfg.dns = ls_resolver_evdns(r);
    tick = event_new(base, -1, EV_PERSIST, tick_cb, NULL);
    event_add(tick, &tv);
    ticks = 0;
    assert_non_null(ls_auth_check(base, &cfg, "play", &ref, "1.2.3.4:5", done_cb, &o2));
    assert_int_equal(o2.calls, 0);
    wait_outcome(&o2, 5000);
    assert_int_equal(o2.calls, 1);
    assert_int_equal(o2.result, LS_EAUTH);
    assert_true(mute.queries >= 1);
    assert_true(ticks > 1); /* the loop ran while the name was pending */
    assert_int_equal(requests, 1);
    event_free(tick);
    ls_resolver_shutdown(r);
    wait_outcome(&o, 100); /* (o is done: just lets libevent finish the lookups) */
    ls_resolver_free(r);
    fakedns_stop(&mute);
}

/* Cancelled checks never call back: local decisions and requests in flight alike. */
static void test_cancel(void **state)
{
    char url[128];
    struct ls_auth_config local = { .secret = NULL, .auth_url = NULL, .timeout_ms = 1000 },
                          remote = { .secret = NULL, .auth_url = NULL, .timeout_ms = 2000 };
    struct ls_stream_ref ref;
    struct outcome o = { 0 }, o2 = { 0 };
    struct ls_auth_request *r;

    (void)state;
    ref_of("live", "cam", &ref);
    r = ls_auth_check(base, &local, "play", &ref, "1.2.3.4:5", done_cb, &o);
    ls_auth_cancel(r);
    snprintf(url, sizeof url, "http://127.0.0.1:%d/held", port);
    remote.auth_url = url;
    answer_code = 0;
    r = ls_auth_check(base, &remote, "play", &ref, "1.2.3.4:5", done_cb, &o2);
    while (requests == 0)
        event_base_loop(base, EVLOOP_ONCE);
    ls_auth_cancel(r);
    ls_auth_cancel(NULL);
    wait_outcome(&o, 300);
    assert_int_equal(o.calls, 0);
    assert_int_equal(o2.calls, 0);
    if (held != NULL)
        evhttp_send_reply(held, 200, "late", NULL);
    held = NULL;
}

/* ---- a raw answer server: trickles or floods its answer ---- */

struct raw_server {
    int lfd, port;
    int fds[4];
    int nfds;
    struct event *accept_ev, *tick;
    const char *answer;   /* sent `per_tick` bytes at a time, then `filler` forever */
    size_t sent, per_tick;
    char filler;
};

static void raw_accept(evutil_socket_t fd, short what, void *arg)
{
    struct raw_server *r = arg;
    int c = accept(fd, NULL, NULL);

    (void)what;
    if (c == -1)
        return;
    if (r->nfds < 4)
        r->fds[r->nfds++] = c;
    else
        close(c);
}

static void raw_tick(evutil_socket_t fd, short what, void *arg)
{
    struct raw_server *r = arg;
    char buf[65536];
    size_t n = r->per_tick < sizeof buf ? r->per_tick : sizeof buf, i, alen = strlen(r->answer);
    int k;

    (void)fd;
    (void)what;
    for (i = 0; i < n; i++, r->sent++)
        buf[i] = r->sent < alen ? r->answer[r->sent] : r->filler;
    for (k = 0; k < r->nfds; k++)
        if (send(r->fds[k], buf, n, MSG_NOSIGNAL | MSG_DONTWAIT) == -1) {
            /* the client gave up: fine */
        }
}

static void raw_start(struct raw_server *r, const char *answer, size_t per_tick, char filler,
                      unsigned tick_ms)
{
    struct sockaddr_in a;
    socklen_t len = sizeof a;
    struct timeval tv = { 0, (suseconds_t)tick_ms * 1000 };

    memset(r, 0, sizeof *r);
    r->answer = answer;
    r->per_tick = per_tick;
    r->filler = filler;
    r->lfd = socket(AF_INET, SOCK_STREAM, 0);
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(bind(r->lfd, (struct sockaddr *)&a, sizeof a), 0);
    assert_int_equal(listen(r->lfd, 8), 0);
    getsockname(r->lfd, (struct sockaddr *)&a, &len);
    r->port = ntohs(a.sin_port);
    r->accept_ev = event_new(base, r->lfd, EV_READ | EV_PERSIST, raw_accept, r);
    r->tick = event_new(base, -1, EV_PERSIST, raw_tick, r);
    event_add(r->accept_ev, NULL);
    event_add(r->tick, &tv);
}

static void raw_stop(struct raw_server *r)
{
    int k;

    event_free(r->accept_ev);
    event_free(r->tick);
    for (k = 0; k < r->nfds; k++)
        close(r->fds[k]);
    close(r->lfd);
}

/* timeout_ms is a total deadline: an answer trickling a byte every 20 ms (each read well
 * within the deadline) is still cut off at timeout_ms and refused. */
static void test_total_deadline(void **state)
{
    char url[128];
    struct ls_auth_config cfg = { .timeout_ms = 300 };
    struct ls_stream_ref ref;
    struct outcome o = { 0 };
    struct raw_server raw;
    uint64_t t0;

    (void)state;
    raw_start(&raw, "HTTP/1.1 200 OK\r\nX-Slow: ", 1, 'a', 20);
    snprintf(url, sizeof url, "http://127.0.0.1:%d/trickle", raw.port);
    cfg.auth_url = url;
    ref_of("live", "cam", &ref);
    t0 = ls_now_ms();
    assert_non_null(ls_auth_check(base, &cfg, "play", &ref, "1.2.3.4:5", done_cb, &o));
    wait_outcome(&o, 3000);
    assert_int_equal(o.calls, 1);
    assert_int_equal(o.result, LS_EAUTH);
    assert_string_equal(o.why, "auth_url unreachable or timed out");
    assert_true(ls_now_ms() - t0 >= 250);
    assert_int_equal(ls_auth_inflight(), 0);
    raw_stop(&raw);
}

/* The answer is read up to max_answer_bytes (header block and body each): a bigger body
 * or an endless header block is refused, even with a 2xx status. */
static void test_answer_bound(void **state)
{
    char url[128];
    struct ls_auth_config cfg = { .timeout_ms = 3000, .max_answer_bytes = 4096 };
    struct ls_stream_ref ref;
    struct outcome o = { 0 }, o2 = { 0 }, o3 = { 0 };
    struct raw_server raw;

    (void)state;
    snprintf(url, sizeof url, "http://127.0.0.1:%d/big", port);
    cfg.auth_url = url;
    ref_of("live", "cam", &ref);
    answer_code = 200;
    answer_body = 1000; /* within the bound: admitted */
    assert_non_null(ls_auth_check(base, &cfg, "play", &ref, "1.2.3.4:5", done_cb, &o));
    wait_outcome(&o, 3000);
    assert_int_equal(o.result, LS_OK);
    answer_body = 1 << 20; /* a 1 MiB body: refused */
    assert_non_null(ls_auth_check(base, &cfg, "play", &ref, "1.2.3.4:5", done_cb, &o2));
    wait_outcome(&o2, 3000);
    assert_int_equal(o2.calls, 1);
    assert_int_equal(o2.result, LS_EAUTH);
    assert_string_equal(o2.why, "auth_url answer too large");
    /* headers without end, 8 KiB per 10 ms: refused long before the deadline */
    raw_start(&raw, "HTTP/1.1 200 OK\r\nX-Big: ", 8192, 'b', 10);
    snprintf(url, sizeof url, "http://127.0.0.1:%d/headers", raw.port);
    assert_non_null(ls_auth_check(base, &cfg, "play", &ref, "1.2.3.4:5", done_cb, &o3));
    wait_outcome(&o3, 3000);
    assert_int_equal(o3.calls, 1);
    assert_int_equal(o3.result, LS_EAUTH);
    assert_string_equal(o3.why, "auth_url answer malformed or its header too large");
    assert_true(raw.sent < 1024 * 1024);
    assert_int_equal(ls_auth_inflight(), 0);
    raw_stop(&raw);
}

/* At most max_inflight requests are open: one more check is refused at once with
 * LS_ELIMIT and no request; slots come back when answers arrive or checks are cancelled. */
static void test_inflight_cap(void **state)
{
    char url[128];
    struct ls_auth_config cfg = { .timeout_ms = 3000, .max_inflight = 2 };
    struct ls_stream_ref ref;
    struct outcome o[5] = { { 0 } };
    struct ls_auth_request *r;
    uint64_t before = ls_stats.auth_overload_total;
    int i;

    (void)state;
    snprintf(url, sizeof url, "http://127.0.0.1:%d/held", port);
    cfg.auth_url = url;
    ref_of("live", "cam", &ref);
    answer_code = 0;
    assert_non_null(ls_auth_check(base, &cfg, "play", &ref, "1.2.3.4:5", done_cb, &o[0]));
    assert_non_null(ls_auth_check(base, &cfg, "play", &ref, "1.2.3.4:5", done_cb, &o[1]));
    assert_int_equal(ls_auth_inflight(), 2);
    assert_int_equal(ls_stats.auth_inflight, 2);
    assert_non_null(ls_auth_check(base, &cfg, "play", &ref, "1.2.3.4:5", done_cb, &o[2]));
    wait_outcome(&o[2], 1000);
    assert_int_equal(o[2].result, LS_ELIMIT);
    assert_int_equal(ls_stats.auth_overload_total, before + 1);
    for (i = 0; i < 100 && requests < 2; i++)
        event_base_loop(base, EVLOOP_ONCE);
    assert_int_equal(requests, 2); /* the refused check asked nobody */
    for (i = 0; i < nheld; i++)
        evhttp_send_reply(held_all[i], 200, "OK", NULL);
    held = NULL;
    nheld = 0;
    wait_outcome(&o[0], 3000);
    wait_outcome(&o[1], 3000);
    assert_int_equal(o[0].result, LS_OK);
    assert_int_equal(o[1].result, LS_OK);
    assert_int_equal(ls_auth_inflight(), 0);
    /* a cancelled check gives its slot back too */
    r = ls_auth_check(base, &cfg, "play", &ref, "1.2.3.4:5", done_cb, &o[3]);
    assert_int_equal(ls_auth_inflight(), 1);
    ls_auth_cancel(r);
    assert_int_equal(ls_auth_inflight(), 0);
    answer_code = 200;
    assert_non_null(ls_auth_check(base, &cfg, "play", &ref, "1.2.3.4:5", done_cb, &o[4]));
    wait_outcome(&o[4], 3000);
    assert_int_equal(o[4].result, LS_OK);
    assert_int_equal(o[3].calls, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_open_admission, setup, teardown),
        cmocka_unit_test_setup_teardown(test_tokens, setup, teardown),
        cmocka_unit_test_setup_teardown(test_auth_url, setup, teardown),
        cmocka_unit_test_setup_teardown(test_token_then_url, setup, teardown),
        cmocka_unit_test_setup_teardown(test_timeout_and_unreachable, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cancel, setup, teardown),
        cmocka_unit_test_setup_teardown(test_auth_url_host_names, setup, teardown),
        cmocka_unit_test_setup_teardown(test_total_deadline, setup, teardown),
        cmocka_unit_test_setup_teardown(test_answer_bound, setup, teardown),
        cmocka_unit_test_setup_teardown(test_inflight_cap, setup, teardown),
    };

    signal(SIGPIPE, SIG_IGN); /* the evhttp server writes to clients that gave up */
    return cmocka_run_group_tests(tests, NULL, NULL);
}
