/*
 * addr.h — the grammar of endpoints and networks in configuration and in the registry
 * protocol: "host:port" addresses, CIDR networks and their matching, and http:// URLs.
 * Pure text and address arithmetic: no DNS, no sockets, no allocation, no global state;
 * socket addresses appear only as opaque pointers (net.h resolves, converts and connects).
 */
#ifndef LIBSTREAM_ADDR_H
#define LIBSTREAM_ADDR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "libstream/err.h"

struct sockaddr;

/* Longest host kept (a DNS name is at most 253 characters). */
#define LS_ADDR_HOST_MAX 255
/* Room for ls_addr_format(): "[" host "]:" port NUL. */
#define LS_ADDR_STRLEN (LS_ADDR_HOST_MAX + 9)

/*
 * A "host:port" endpoint. `host` is an IPv4 literal ("10.0.0.1"), an IPv6 literal without
 * brackets ("::1"), or — for peers only — a DNS name checked for syntax, resolved later by
 * the daemon. `port` is 1..65535; host "" and port 0 mean "not set".
 */
struct ls_addr {
    char host[LS_ADDR_HOST_MAX + 1];
    uint16_t port;
};

/*
 * Parses "host:port". IPv6 hosts are bracketed ("[::1]:1935"); the port is 1..65535 in
 * decimal and is required. With `listen`, the host must be numeric, or "*" which is stored
 * as "0.0.0.0" (IPv4 any; use "[::]" for the dual-stack any). Without `listen` (a peer),
 * the host may also be a DNS name (labels of [A-Za-z0-9-], 1..63 characters, not starting
 * or ending with '-', 253 at most in all, an optional final '.'), and the unspecified
 * addresses ("*", 0.0.0.0, ::) are refused. IPv6 zone ids ("%eth0") are not supported.
 * Returns LS_OK, or LS_EINVAL with *out unspecified.
 */
LS_MUST_CHECK int ls_addr_parse(const char *text, bool listen, struct ls_addr *out);
/* As ls_addr_parse(), also storing a static reason on failure in the optional *why. */
LS_MUST_CHECK int ls_addr_parse_why(const char *text, bool listen, struct ls_addr *out,
                                    const char **why);
/*
 * Writes "host:port" ("[::1]:1935" for IPv6) NUL-terminated into out[outlen]
 * (LS_ADDR_STRLEN always suffices). Returns LS_OK, or LS_ELIMIT when it does not fit
 * (out then holds a truncated, NUL-terminated string; nothing is written when outlen is 0).
 */
LS_MUST_CHECK int ls_addr_format(const struct ls_addr *a, char *out, size_t outlen);

/*
 * An IP network. IPv4-mapped IPv6 networks ("::ffff:10.0.0.0/104") are stored as the IPv4
 * network they denote, so one rule matches a peer whichever way it connected.
 */
struct ls_cidr {
    int family;       /* AF_INET or AF_INET6 */
    uint8_t addr[16]; /* network address, network byte order; first 4 bytes for IPv4 */
    uint8_t prefix;   /* 0..32 or 0..128 */
};

/*
 * Parses "10.0.0.0/8", "2001:db8::/32", or a bare address (a host route: /32 or /128).
 * A prefix longer than the family allows, a non-decimal prefix, or host bits set past
 * the prefix ("10.0.0.1/8", almost always a typo) are refused. Returns LS_OK or LS_EINVAL
 * (reason in the optional *why).
 */
LS_MUST_CHECK int ls_cidr_parse(const char *text, struct ls_cidr *out, const char **why);
/*
 * True when the peer address `sa` (AF_INET or AF_INET6; any other family never matches)
 * lies in the network. An IPv4-mapped IPv6 peer (::ffff:a.b.c.d, as a dual-stack listener
 * reports IPv4 clients) is matched as the IPv4 address a.b.c.d.
 */
bool ls_cidr_match(const struct ls_cidr *c, const struct sockaddr *sa);

/* Owned arrays (config.h fills them for LS_CONF_ADDR_LIST / LS_CONF_CIDR_LIST). */
struct ls_addr_list {
    struct ls_addr *v; /* owned; NULL when n == 0 */
    size_t n;
};
struct ls_cidr_list {
    struct ls_cidr *v; /* owned; NULL when n == 0 */
    size_t n;
};
/* True when any network of the list contains `sa`; an empty list matches nothing. */
bool ls_cidr_list_match(const struct ls_cidr_list *l, const struct sockaddr *sa);

/*
 * Checks a URL of the form "http://host[:port][/path-and-query]" (scheme case-insensitive;
 * host as for a peer address, bracketed when IPv6; port 80 when absent). "" is accepted
 * (unset). Refused with LS_EINVAL and a static reason in the optional *why: https, another
 * scheme, user information, a missing or overlong host, a bad host or port, and spaces,
 * control or non-ASCII characters in the path.
 */
LS_MUST_CHECK int ls_addr_url_check(const char *url, const char **why);
/*
 * Parses the authority of a URL: the `len` bytes at `p`, "host[:port]" (a peer address,
 * bracketed when IPv6), with `default_port` when it names none. LS_OK, or LS_EINVAL with a
 * static reason in the optional *why (a missing or overlong host, a bad host or port).
 */
LS_MUST_CHECK int ls_addr_parse_authority(const char *p, size_t len, uint16_t default_port,
                                          struct ls_addr *out, const char **why);

#endif /* LIBSTREAM_ADDR_H */
