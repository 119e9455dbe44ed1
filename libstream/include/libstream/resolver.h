/*
 * resolver.h — "host:port" to a socket address without blocking the event loop
 * (docs/architecture.md decisions 1 and 10): libevent's asynchronous resolver (evdns), one
 * per process, owned by the daemon (medianode.c for spd and epd), with a deadline on every
 * answer. Literal addresses never touch DNS. Used for the `upstream`, `advertise` and
 * `source_managers` names and, through ls_resolver_evdns, by evhttp for `auth_url` hosts.
 *
 * Every answer arrives from the event loop, never from inside ls_resolver_resolve.
 * A name that resolves to IPv4 and IPv6 addresses gives the first IPv4 one (the daemons
 * listen on IPv4 by default, and "localhost" is often ::1 first).
 */
#ifndef LIBSTREAM_RESOLVER_H
#define LIBSTREAM_RESOLVER_H

#include <stddef.h>
#include <sys/socket.h>

#include "libstream/addr.h"
#include "libstream/err.h"

struct event_base;
struct evdns_base;
struct ls_resolver;
struct ls_resolve;

struct ls_resolver_config {
    unsigned timeout_ms;                /* deadline of one name's answer (dns_timeout_ms) */
    const struct ls_addr_list *servers; /* nameservers (numeric "ip:port"); NULL or empty =
                                         * those of /etc/resolv.conf. Borrowed for the call. */
};
/* timeout 5000 ms, the system's nameservers. */
void ls_resolver_config_defaults(struct ls_resolver_config *cfg);

/*
 * A resolver on `base` (reads /etc/resolv.conf and /etc/hosts when `servers` is empty;
 * /etc/hosts also otherwise, so "localhost" works). NULL with a logged reason on failure.
 */
struct ls_resolver *ls_resolver_new(struct event_base *base, const struct ls_resolver_config *cfg);
/* A reload: new deadline (the nameservers are read at start only). */
void ls_resolver_set_timeout(struct ls_resolver *r, unsigned timeout_ms);
/*
 * Cancels every request still out, without their callbacks. libevent finishes a cancelled
 * lookup on a later loop turn: call this when stopping, let the loop run (the daemons'
 * stop grace), then ls_resolver_free.
 */
void ls_resolver_shutdown(struct ls_resolver *r);
/* Frees it (shutting down first when that was not done). NULL is ignored. */
void ls_resolver_free(struct ls_resolver *r);
/* The evdns base, for evhttp_connection_base_new (auth_url): same servers and deadline. */
struct evdns_base *ls_resolver_evdns(const struct ls_resolver *r);
/* Requests not yet finished inside libevent (answered, cancelled or not): for tests. */
size_t ls_resolver_pending(const struct ls_resolver *r);

/*
 * Answer of a lookup: LS_OK with the address (borrowed for the call; port included),
 * LS_EINVAL for text that is no "host:port", LS_ENOTFOUND when the name does not exist or
 * the nameservers fail, LS_ELIMIT when no answer came within the deadline.
 */
typedef void (*ls_resolve_cb)(void *arg, int result, const struct sockaddr *sa, socklen_t len);

/*
 * Resolves `hostport` ("10.0.0.1:1935", "[::1]:80", "name:1935"). The answer is given to
 * `cb` exactly once, from the event loop, unless cancelled first; the handle is invalid
 * once cb has run. NULL on allocation failure (cb never runs).
 */
struct ls_resolve *ls_resolver_resolve(struct ls_resolver *r, const char *hostport,
                                       ls_resolve_cb cb, void *arg);
/* No callback for this request any more. Only before its callback ran. */
void ls_resolve_cancel(struct ls_resolve *q);

#endif /* LIBSTREAM_RESOLVER_H */
