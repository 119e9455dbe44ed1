/*
 * addr.c — "host:port" addresses, CIDR networks and http:// URLs (see addr.h).
 * Layer: foundation, used by the config loader, the registry protocol and stream URLs.
 *
 * Address grammar accepted (RFC 3986 authority, restricted):
 *
 *   addr      = host ":" port
 *   host      = IPv4 | "[" IPv6 "]" | "*" (listen only) | dns-name (peer only)
 *   port      = 1*5DIGIT, value 1..65535
 *   dns-name  = label *("." label) ["."], label = 1*63(ALPHA / DIGIT / "-"), no edge "-"
 *
 * A host made only of digits and dots is an IPv4 literal or an error, never a name
 * ("10.0.0.256" must not be sent to DNS).
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "libstream/addr.h"

/* ---- addresses ---------------------------------------------------------------------- */

static bool dns_name_valid(const char *s, size_t n)
{
    size_t i, label = 0;

    if (n > 0 && s[n - 1] == '.')
        n--; /* fully-qualified form */
    if (n == 0 || n > 253)
        return false;
    for (i = 0; i < n; i++) {
        char c = s[i];

        if (c == '.') {
            if (label == 0 || s[i - 1] == '-')
                return false;
            label = 0;
        } else if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                   (c >= '0' && c <= '9') || c == '-') {
            if (c == '-' && label == 0)
                return false;
            if (++label > 63)
                return false;
        } else {
            return false;
        }
    }
    return s[n - 1] != '-';
}

static int parse_port(const char *p, uint16_t *port, const char **why)
{
    unsigned long v = 0;
    size_t i;

    if (*p == '\0') {
        LS_WHY(why, "missing port");
        return LS_EINVAL;
    }
    for (i = 0; p[i] != '\0'; i++) {
        if (p[i] < '0' || p[i] > '9' || i >= 5) {
            LS_WHY(why, "port must be a number from 1 to 65535");
            return LS_EINVAL;
        }
        v = v * 10 + (unsigned long)(p[i] - '0');
    }
    if (v < 1 || v > 65535) {
        LS_WHY(why, "port must be a number from 1 to 65535");
        return LS_EINVAL;
    }
    *port = (uint16_t)v;
    return LS_OK;
}

int ls_addr_parse_why(const char *text, bool listen, struct ls_addr *out, const char **why)
{
    const char *host, *port, *colon;
    size_t hlen;
    char buf[INET6_ADDRSTRLEN];

    if (text == NULL || text[0] == '\0') {
        LS_WHY(why, "empty address");
        return LS_EINVAL;
    }
    if (text[0] == '[') {
        struct in6_addr a6;
        const char *close = strchr(text, ']');

        if (close == NULL) {
            LS_WHY(why, "missing ']' after IPv6 address");
            return LS_EINVAL;
        }
        host = text + 1;
        hlen = (size_t)(close - host);
        if (close[1] != ':') {
            LS_WHY(why, close[1] == '\0' ? "missing port" : "expected ':' after ']'");
            return LS_EINVAL;
        }
        port = close + 2;
        if (hlen == 0 || hlen >= sizeof buf) {
            LS_WHY(why, "bad IPv6 address");
            return LS_EINVAL;
        }
        memcpy(buf, host, hlen);
        buf[hlen] = '\0';
        if (inet_pton(AF_INET6, buf, &a6) != 1) {
            LS_WHY(why, "bad IPv6 address");
            return LS_EINVAL;
        }
        if (!listen && IN6_IS_ADDR_UNSPECIFIED(&a6)) {
            LS_WHY(why, "the unspecified address cannot be a peer");
            return LS_EINVAL;
        }
    } else {
        colon = strrchr(text, ':');
        if (colon == NULL) {
            LS_WHY(why, "missing port");
            return LS_EINVAL;
        }
        host = text;
        hlen = (size_t)(colon - text);
        port = colon + 1;
        if (memchr(host, ':', hlen) != NULL) {
            LS_WHY(why, "an IPv6 address must be in brackets: [::1]:1935");
            return LS_EINVAL;
        }
        if (hlen == 0) {
            LS_WHY(why, "missing host");
            return LS_EINVAL;
        }
        if (hlen == 1 && host[0] == '*') {
            if (!listen) {
                LS_WHY(why, "'*' is only valid for listen addresses");
                return LS_EINVAL;
            }
            host = "0.0.0.0";
            hlen = 7;
        } else if (strspn(host, "0123456789.") >= hlen) {
            struct in_addr a4;

            if (hlen >= sizeof buf)
                hlen = sizeof buf - 1; /* still fails inet_pton below */
            memcpy(buf, host, hlen);
            buf[hlen] = '\0';
            if (inet_pton(AF_INET, buf, &a4) != 1) {
                LS_WHY(why, "bad IPv4 address");
                return LS_EINVAL;
            }
            if (!listen && a4.s_addr == htonl(INADDR_ANY)) {
                LS_WHY(why, "the unspecified address cannot be a peer");
                return LS_EINVAL;
            }
        } else if (listen) {
            LS_WHY(why, "a listen host must be a numeric address or '*'");
            return LS_EINVAL;
        } else if (!dns_name_valid(host, hlen)) {
            LS_WHY(why, "bad host name");
            return LS_EINVAL;
        }
    }
    if (parse_port(port, &out->port, why) != LS_OK)
        return LS_EINVAL;
    memcpy(out->host, host, hlen);
    out->host[hlen] = '\0';
    return LS_OK;
}

int ls_addr_parse(const char *text, bool listen, struct ls_addr *out)
{
    return ls_addr_parse_why(text, listen, out, NULL);
}

int ls_addr_format(const struct ls_addr *a, char *out, size_t outlen)
{
    int n;

    if (outlen == 0)
        return LS_ELIMIT;
    if (strchr(a->host, ':') != NULL)
        n = snprintf(out, outlen, "[%s]:%u", a->host, (unsigned)a->port);
    else
        n = snprintf(out, outlen, "%s:%u", a->host, (unsigned)a->port);
    return n >= 0 && (size_t)n < outlen ? LS_OK : LS_ELIMIT;
}

/* ---- networks ----------------------------------------------------------------------- */

static const uint8_t v4mapped_prefix[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };

int ls_cidr_parse(const char *text, struct ls_cidr *out, const char **why)
{
    char buf[INET6_ADDRSTRLEN];
    const char *slash;
    size_t alen, i, bytes;
    unsigned long prefix;
    unsigned maxbits;
    struct ls_cidr c;

    if (text == NULL || text[0] == '\0') {
        LS_WHY(why, "empty network");
        return LS_EINVAL;
    }
    slash = strchr(text, '/');
    alen = slash != NULL ? (size_t)(slash - text) : strlen(text);
    if (alen == 0 || alen >= sizeof buf) {
        LS_WHY(why, "bad address");
        return LS_EINVAL;
    }
    memcpy(buf, text, alen);
    buf[alen] = '\0';
    memset(&c, 0, sizeof c);
    if (memchr(buf, ':', alen) != NULL) {
        c.family = AF_INET6;
        maxbits = 128;
    } else {
        c.family = AF_INET;
        maxbits = 32;
    }
    if (inet_pton(c.family, buf, c.addr) != 1) {
        LS_WHY(why, c.family == AF_INET ? "bad IPv4 address" : "bad IPv6 address");
        return LS_EINVAL;
    }
    prefix = maxbits;
    if (slash != NULL) {
        const char *p = slash + 1;

        if (*p == '\0' || strlen(p) > 3 || strspn(p, "0123456789") != strlen(p)) {
            LS_WHY(why, "prefix length must be a number");
            return LS_EINVAL;
        }
        prefix = strtoul(p, NULL, 10);
        if (prefix > maxbits) {
            LS_WHY(why, c.family == AF_INET ? "prefix length must be 0..32"
                                            : "prefix length must be 0..128");
            return LS_EINVAL;
        }
    }
    c.prefix = (uint8_t)prefix;
    /* Host bits past the prefix must be zero. */
    bytes = maxbits / 8;
    for (i = prefix / 8; i < bytes; i++) {
        uint8_t mask = i == prefix / 8 ? (uint8_t)(0xffu >> (prefix % 8)) : 0xff;

        if (c.addr[i] & mask) {
            LS_WHY(why, "address has bits set past the prefix length");
            return LS_EINVAL;
        }
    }
    if (c.family == AF_INET6 && c.prefix >= 96 &&
        memcmp(c.addr, v4mapped_prefix, sizeof v4mapped_prefix) == 0) {
        memmove(c.addr, c.addr + 12, 4);
        memset(c.addr + 4, 0, 12);
        c.family = AF_INET;
        c.prefix = (uint8_t)(c.prefix - 96);
    }
    *out = c;
    return LS_OK;
}

static bool prefix_equal(const uint8_t *a, const uint8_t *b, unsigned prefix)
{
    unsigned full = prefix / 8, rest = prefix % 8;

    if (memcmp(a, b, full) != 0)
        return false;
    if (rest == 0)
        return true;
    return ((a[full] ^ b[full]) & (uint8_t)(0xff00u >> rest)) == 0;
}

bool ls_cidr_match(const struct ls_cidr *c, const struct sockaddr *sa)
{
    const uint8_t *peer;
    int family;

    if (sa == NULL)
        return false;
    if (sa->sa_family == AF_INET) {
        peer = (const uint8_t *)&((const struct sockaddr_in *)(const void *)sa)->sin_addr;
        family = AF_INET;
    } else if (sa->sa_family == AF_INET6) {
        peer = (const uint8_t *)&((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr;
        family = AF_INET6;
        if (memcmp(peer, v4mapped_prefix, sizeof v4mapped_prefix) == 0) {
            peer += 12;
            family = AF_INET;
        }
    } else {
        return false;
    }
    return family == c->family && prefix_equal(peer, c->addr, c->prefix);
}

bool ls_cidr_list_match(const struct ls_cidr_list *l, const struct sockaddr *sa)
{
    size_t i;

    for (i = 0; i < l->n; i++)
        if (ls_cidr_match(&l->v[i], sa))
            return true;
    return false;
}

/* ---- URLs --------------------------------------------------------------------------- */

int ls_addr_parse_authority(const char *p, size_t len, uint16_t default_port,
                            struct ls_addr *out, const char **why)
{
    char auth[LS_ADDR_HOST_MAX + 16];

    if (len == 0 || len > LS_ADDR_HOST_MAX + 8) {
        LS_WHY(why, "missing or overlong host");
        return LS_EINVAL;
    }
    memcpy(auth, p, len);
    auth[len] = '\0';
    /* No port given: the scheme's default. A bracketed IPv6 host carries ':' inside. */
    if ((auth[0] == '[' && strstr(auth, "]:") == NULL) ||
        (auth[0] != '[' && strchr(auth, ':') == NULL))
        snprintf(auth + len, sizeof auth - len, ":%u", (unsigned)default_port);
    return ls_addr_parse_why(auth, false, out, why) == LS_OK ? LS_OK : LS_EINVAL;
}

int ls_addr_url_check(const char *url, const char **why)
{
    struct ls_addr addr;
    size_t alen;
    const char *p;

    if (url[0] == '\0')
        return LS_OK;
    if (strncasecmp(url, "http://", 7) != 0) {
        LS_WHY(why, strncasecmp(url, "https://", 8) == 0 ? "https is not supported"
                                                         : "must start with http://");
        return LS_EINVAL;
    }
    p = url + 7;
    alen = strcspn(p, "/?#");
    if (memchr(p, '@', alen) != NULL) {
        LS_WHY(why, "user information is not supported");
        return LS_EINVAL;
    }
    if (ls_addr_parse_authority(p, alen, 80, &addr, why) != LS_OK)
        return LS_EINVAL;
    for (p += alen; *p != '\0'; p++) {
        if ((unsigned char)*p <= 0x20 || (unsigned char)*p >= 0x7f) {
            LS_WHY(why, "spaces, control and non-ASCII characters must be percent-encoded");
            return LS_EINVAL;
        }
    }
    return LS_OK;
}
