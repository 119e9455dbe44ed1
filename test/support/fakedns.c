/*
 * fakedns.c — a DNS server for tests (see fakedns.h). Layer: test support. RFC 1035 §4.1:
 *
 *   header  id(2) flags(2) qdcount(2) ancount(2) nscount(2) arcount(2)
 *   question qname (labels) qtype(2) qclass(2)
 *   answer  c0 0c (the question's name) type(2) class(2) ttl(4) rdlength(2) rdata
 *
 * The question is echoed byte for byte (evdns randomises the case of the name and checks
 * it comes back the same); names are matched without regard to case.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include <event2/event.h>

#include "support/fakedns.h"

/* The question's name as dotted text; the offset just past it, or 0 when malformed. */
static size_t qname_text(const uint8_t *p, size_t n, char *out, size_t cap)
{
    size_t off = 12, used = 0;

    while (off < n && p[off] != 0) {
        size_t len = p[off];

        if (len > 63 || off + 1 + len > n || used + len + 2 > cap)
            return 0;
        if (used > 0)
            out[used++] = '.';
        memcpy(out + used, p + off + 1, len);
        used += len;
        off += 1 + len;
    }
    if (off >= n)
        return 0;
    out[used] = '\0';
    return off + 1;
}

static void fakedns_read(evutil_socket_t fd, short what, void *arg)
{
    struct fakedns *d = arg;
    uint8_t q[512], r[600];
    struct sockaddr_storage from;
    socklen_t fromlen = sizeof from;
    char name[256];
    ssize_t n = recvfrom(fd, q, sizeof q, 0, (struct sockaddr *)&from, &fromlen);
    size_t end, len, i;
    uint16_t qtype;
    const uint32_t *ip = NULL;

    (void)what;
    if (n < 12)
        return;
    d->queries++;
    if (d->mute)
        return;
    end = qname_text(q, (size_t)n, name, sizeof name);
    if (end == 0 || end + 4 > (size_t)n)
        return;
    qtype = (uint16_t)(q[end] << 8 | q[end + 1]);
    for (i = 0; i < d->n; i++)
        if (strcasecmp(d->names[i].name, name) == 0)
            ip = &d->names[i].ipv4;
    len = end + 4;
    memcpy(r, q, len);
    r[2] = 0x81;                               /* QR, RD */
    r[3] = ip != NULL ? 0x80 : 0x83;           /* RA; NOERROR or NXDOMAIN */
    r[4] = 0, r[5] = 1;                        /* one question */
    r[6] = 0, r[7] = ip != NULL && qtype == 1 ? 1 : 0;
    memset(r + 8, 0, 4);
    if (ip != NULL && qtype == 1) {
        static const uint8_t rr[] = { 0xc0, 0x0c, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4 };

        memcpy(r + len, rr, sizeof rr);
        memcpy(r + len + sizeof rr, ip, 4);
        len += sizeof rr + 4;
    }
    (void)sendto(fd, r, len, 0, (struct sockaddr *)&from, fromlen);
}

int fakedns_start(struct fakedns *d, struct event_base *base, bool mute)
{
    struct sockaddr_in sa;
    socklen_t len = sizeof sa;

    memset(d, 0, sizeof *d);
    d->mute = mute;
    d->fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (d->fd == -1)
        return -1;
    memset(&sa, 0, sizeof sa);
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (bind(d->fd, (struct sockaddr *)&sa, sizeof sa) == -1 ||
        getsockname(d->fd, (struct sockaddr *)&sa, &len) == -1 ||
        (d->ev = event_new(base, d->fd, EV_READ | EV_PERSIST, fakedns_read, d)) == NULL ||
        event_add(d->ev, NULL) == -1) {
        fakedns_stop(d);
        return -1;
    }
    snprintf(d->addr, sizeof d->addr, "127.0.0.1:%u", (unsigned)ntohs(sa.sin_port));
    return 0;
}

int fakedns_add(struct fakedns *d, const char *name, const char *ip)
{
    struct in_addr a;

    if (d->n == FAKEDNS_NAMES || strlen(name) >= sizeof d->names[0].name ||
        inet_pton(AF_INET, ip, &a) != 1)
        return -1;
    snprintf(d->names[d->n].name, sizeof d->names[0].name, "%s", name);
    d->names[d->n].ipv4 = a.s_addr;
    d->n++;
    return 0;
}

void fakedns_stop(struct fakedns *d)
{
    if (d->ev != NULL)
        event_free(d->ev);
    d->ev = NULL;
    if (d->fd >= 0)
        close(d->fd);
    d->fd = -1;
}
