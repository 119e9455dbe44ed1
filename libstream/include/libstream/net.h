/*
 * net.h — sockets for the daemons: resolving "host:port" text, turning a parsed address
 * (addr.h) into a socket address, listening, and starting a non-blocking connect. The only
 * place libstream calls getaddrinfo.
 */
#ifndef LIBSTREAM_NET_H
#define LIBSTREAM_NET_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

#include "libstream/addr.h"
#include "libstream/err.h"

/*
 * Resolves `hostport` ("1.2.3.4:1935", "[::1]:80", "*:1935", "name:1935") into `out`.
 * `passive` for listening (host "*" or empty = any address). Blocking for DNS names: call
 * at start-up or on reload, not per request. LS_EINVAL for bad text, LS_ENOTFOUND when the
 * name does not resolve.
 */
int ls_net_resolve(const char *hostport, bool passive, struct sockaddr_storage *out,
                   socklen_t *out_len);
/*
 * Fills *ss and *len for a numeric host (for bind/connect). Returns LS_OK, or LS_EINVAL when
 * the host is a DNS name (resolve it with ls_net_resolve) or the address is unset.
 */
LS_MUST_CHECK int ls_net_sockaddr(const struct ls_addr *a, struct sockaddr_storage *ss,
                                  socklen_t *len);
/* A listening, non-blocking, close-on-exec TCP socket with SO_REUSEADDR, or -1 with errno. */
int ls_net_listen(const struct sockaddr *sa, socklen_t len, int backlog);
/* A non-blocking socket with connect() started (EINPROGRESS is success), or -1 with errno. */
int ls_net_connect(const struct sockaddr *sa, socklen_t len);
/* "ip:port" of a socket address into `out`. */
void ls_net_format(const struct sockaddr *sa, char *out, size_t cap);
/* The address alone ("1.2.3.4", "::1"), no port, into `out` ("" when unknown). */
void ls_net_format_host(const struct sockaddr *sa, char *out, size_t cap);
/*
 * Lets the kernel notice a peer that vanished without FIN or RST (host off, partition,
 * NAT drop) within about `timeout_ms`: TCP keepalive probes after a third of it, and
 * TCP_USER_TIMEOUT so that data left unacknowledged that long breaks the connection.
 * Best effort (a failing option is ignored). A live but frozen process still has its
 * kernel ACK: that takes an application-level check (client.h, pings).
 */
void ls_net_set_dead_peer_timeout(int fd, unsigned timeout_ms);

#endif /* LIBSTREAM_NET_H */
