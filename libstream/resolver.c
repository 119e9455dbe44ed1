/*
 * resolver.c — asynchronous "host:port" resolution (see resolver.h). Layer: beside net.c,
 * under everything that connects out (pull.c, spd's registry client, auth.c via evhttp).
 *
 * One request:
 *
 *   literal address ──zero-delay timer──▶ answered
 *   name ──evdns_getaddrinfo──▶ evdns answer ──zero-delay timer──▶ answered
 *                          └──── deadline timer ───────────────▶ answered LS_ELIMIT
 *
 * A request is freed once both sides are done with it: the user (answered or cancelled)
 * and libevent (its getaddrinfo callback ran; after evdns_getaddrinfo_cancel that happens
 * on a later loop turn). Answers always go out from our own timer, so a callback never
 * runs inside ls_resolver_resolve, nor inside evdns.
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>

#include <event2/dns.h>
#include <event2/event.h>
#include <event2/util.h>

#include "libstream/log.h"
#include "libstream/net.h"
#include "libstream/resolver.h"

#define RESOLVER_DEFAULT_TIMEOUT_MS 5000u
#define RESOLVER_ATTEMPTS 3 /* tries per nameserver within the deadline (UDP loses packets) */

struct ls_resolve {
    struct ls_resolver *r;
    LIST_ENTRY(ls_resolve) link;
    ls_resolve_cb cb;
    void *arg;
    struct event *timer;                    /* delivery (zero delay) or the deadline */
    struct evdns_getaddrinfo_request *gai;  /* libevent's request, until its callback */
    bool in_evdns;                          /* libevent still holds us */
    bool user_done;                         /* answered or cancelled */
    bool answered;                          /* the answer is ready (timer = delivery) */
    int result;
    struct sockaddr_storage ss;
    socklen_t len;
};

struct ls_resolver {
    struct event_base *base;
    struct evdns_base *dns;
    unsigned timeout_ms;
    LIST_HEAD(, ls_resolve) reqs;
    size_t pending;
};

void ls_resolver_config_defaults(struct ls_resolver_config *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->timeout_ms = RESOLVER_DEFAULT_TIMEOUT_MS;
}

/* evdns tries each query RESOLVER_ATTEMPTS times within our deadline. */
static void resolver_apply_timeout(struct ls_resolver *r)
{
    char text[32];
    unsigned per_try = r->timeout_ms / RESOLVER_ATTEMPTS;

    snprintf(text, sizeof text, "%u.%03u", per_try / 1000, per_try % 1000);
    if (evdns_base_set_option(r->dns, "timeout:", text) != 0 ||
        evdns_base_set_option(r->dns, "attempts:", "3") != 0)
        ls_log(LS_LOG_WARNING, "resolver: cannot set the DNS timeout");
}

/* libevent's resolver reports into our log (it would print to stderr otherwise). */
static void resolver_evdns_log(int is_warn, const char *msg)
{
    ls_log(is_warn ? LS_LOG_INFO : LS_LOG_DEBUG, "resolver: %s", msg);
}

struct ls_resolver *ls_resolver_new(struct event_base *base, const struct ls_resolver_config *cfg)
{
    struct ls_resolver *r = calloc(1, sizeof *r);
    bool system = cfg->servers == NULL || cfg->servers->n == 0;
    size_t i;

    if (r == NULL)
        return NULL;
    r->base = base;
    r->timeout_ms = cfg->timeout_ms > 0 ? cfg->timeout_ms : RESOLVER_DEFAULT_TIMEOUT_MS;
    LIST_INIT(&r->reqs);
    evdns_set_log_fn(resolver_evdns_log);
    /* DISABLE_WHEN_INACTIVE: an idle resolver holds no event that keeps a loop alive. */
    r->dns = evdns_base_new(base, EVDNS_BASE_DISABLE_WHEN_INACTIVE);
    if (r->dns == NULL) {
        ls_log(LS_LOG_ERR, "resolver: out of memory");
        free(r);
        return NULL;
    }
    if (system) {
        /* A missing resolv.conf is not fatal: libevent then asks 127.0.0.1. */
        if (evdns_base_resolv_conf_parse(r->dns, DNS_OPTIONS_ALL, "/etc/resolv.conf") != 0)
            ls_log(LS_LOG_WARNING, "resolver: /etc/resolv.conf unusable; asking 127.0.0.1");
    } else {
        for (i = 0; i < cfg->servers->n; i++) {
            char text[LS_ADDR_STRLEN];

            if (ls_addr_format(&cfg->servers->v[i], text, sizeof text) != LS_OK ||
                evdns_base_nameserver_ip_add(r->dns, text) != 0) {
                ls_log(LS_LOG_ERR, "resolver: bad nameserver in dns_servers (want ip:port)");
                evdns_base_free(r->dns, 0);
                free(r);
                return NULL;
            }
        }
        if (evdns_base_load_hosts(r->dns, NULL) != 0)
            ls_log(LS_LOG_DEBUG, "resolver: no /etc/hosts");
    }
    resolver_apply_timeout(r);
    return r;
}

void ls_resolver_set_timeout(struct ls_resolver *r, unsigned timeout_ms)
{
    r->timeout_ms = timeout_ms > 0 ? timeout_ms : RESOLVER_DEFAULT_TIMEOUT_MS;
    resolver_apply_timeout(r);
}

struct evdns_base *ls_resolver_evdns(const struct ls_resolver *r)
{
    return r->dns;
}

size_t ls_resolver_pending(const struct ls_resolver *r)
{
    return r->pending;
}

/* Frees `q` once neither the user nor libevent holds it. */
static void resolve_maybe_free(struct ls_resolve *q)
{
    if (!q->user_done || q->in_evdns)
        return;
    LIST_REMOVE(q, link);
    q->r->pending--;
    event_free(q->timer);
    free(q);
}

/* Our timer: deliver a ready answer, or the deadline passed. */
static void resolve_timer_cb(evutil_socket_t fd, short what, void *arg)
{
    struct ls_resolve *q = arg;

    (void)fd;
    (void)what;
    if (q->user_done)
        return;
    if (!q->answered) {
        q->result = LS_ELIMIT; /* no answer in time: libevent's request is cancelled */
        if (q->gai != NULL)
            evdns_getaddrinfo_cancel(q->gai);
        q->gai = NULL;
    }
    q->user_done = true;
    q->cb(q->arg, q->result, q->result == LS_OK ? (struct sockaddr *)&q->ss : NULL,
          q->result == LS_OK ? q->len : 0);
    resolve_maybe_free(q);
}

static void resolve_deliver_soon(struct ls_resolve *q)
{
    struct timeval zero = { 0, 0 };

    q->answered = true;
    evtimer_del(q->timer);
    evtimer_add(q->timer, &zero);
}

/* Keeps the first IPv4 answer, else the first one. */
static void resolve_pick(struct ls_resolve *q, const struct evutil_addrinfo *ai)
{
    const struct evutil_addrinfo *pick = NULL, *it;

    for (it = ai; it != NULL; it = it->ai_next) {
        if (it->ai_addrlen > sizeof q->ss)
            continue;
        if (pick == NULL || (it->ai_family == AF_INET && pick->ai_family != AF_INET))
            pick = it;
    }
    if (pick == NULL) {
        q->result = LS_ENOTFOUND;
        return;
    }
    memcpy(&q->ss, pick->ai_addr, pick->ai_addrlen);
    q->len = (socklen_t)pick->ai_addrlen;
    q->result = LS_OK;
}

static void resolve_evdns_cb(int err, struct evutil_addrinfo *ai, void *arg)
{
    struct ls_resolve *q = arg;

    q->in_evdns = false;
    q->gai = NULL;
    if (!q->user_done && !q->answered) {
        if (err == 0 && ai != NULL)
            resolve_pick(q, ai);
        else
            q->result = LS_ENOTFOUND;
        resolve_deliver_soon(q);
    }
    if (ai != NULL)
        evutil_freeaddrinfo(ai);
    resolve_maybe_free(q);
}

struct ls_resolve *ls_resolver_resolve(struct ls_resolver *r, const char *hostport,
                                       ls_resolve_cb cb, void *arg)
{
    struct ls_resolve *q = calloc(1, sizeof *q);
    struct evutil_addrinfo hints;
    struct ls_addr a;
    char port[8];
    struct timeval tv;

    if (q == NULL)
        return NULL;
    q->r = r;
    q->cb = cb;
    q->arg = arg;
    q->timer = evtimer_new(r->base, resolve_timer_cb, q);
    if (q->timer == NULL) {
        free(q);
        return NULL;
    }
    LIST_INSERT_HEAD(&r->reqs, q, link);
    r->pending++;
    if (hostport == NULL || ls_addr_parse(hostport, false, &a) != LS_OK) {
        q->result = LS_EINVAL;
        resolve_deliver_soon(q);
        return q;
    }
    if (ls_net_sockaddr(&a, &q->ss, &q->len) == LS_OK) {
        q->result = LS_OK; /* a literal address: no DNS */
        resolve_deliver_soon(q);
        return q;
    }
    memset(&hints, 0, sizeof hints);
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_protocol = IPPROTO_TCP;
    snprintf(port, sizeof port, "%u", a.port);
    tv.tv_sec = r->timeout_ms / 1000;
    tv.tv_usec = (suseconds_t)(r->timeout_ms % 1000) * 1000;
    evtimer_add(q->timer, &tv);
    q->in_evdns = true;
    /* May answer at once (the hosts file): the callback then runs inside this call, and
     * only records the answer for the timer to deliver. */
    q->gai = evdns_getaddrinfo(r->dns, a.host, port, &hints, resolve_evdns_cb, q);
    return q;
}

void ls_resolve_cancel(struct ls_resolve *q)
{
    if (q == NULL || q->user_done)
        return;
    q->user_done = true;
    evtimer_del(q->timer);
    if (q->gai != NULL)
        evdns_getaddrinfo_cancel(q->gai); /* its callback follows on a later turn */
    q->gai = NULL;
    resolve_maybe_free(q);
}

void ls_resolver_shutdown(struct ls_resolver *r)
{
    struct ls_resolve *q, *next;

    for (q = LIST_FIRST(&r->reqs); q != NULL; q = next) {
        next = LIST_NEXT(q, link);
        ls_resolve_cancel(q);
    }
}

void ls_resolver_free(struct ls_resolver *r)
{
    struct ls_resolve *q;

    if (r == NULL)
        return;
    ls_resolver_shutdown(r);
    /* Requests libevent still holds (cancelled, its callback not run yet): failing them
     * runs their callbacks now where libevent can; ours are freed below either way. */
    evdns_base_free(r->dns, 1);
    while ((q = LIST_FIRST(&r->reqs)) != NULL) {
        q->in_evdns = false;
        resolve_maybe_free(q);
    }
    free(r);
}
