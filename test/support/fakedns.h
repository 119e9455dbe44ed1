/*
 * fakedns.h — a DNS server for in-process tests, on the test's event loop: UDP on
 * 127.0.0.1, answering A queries for the names it was given, NOERROR with no data for
 * their other types, NXDOMAIN for every other name — or, muted, never answering at all
 * (a nameserver that drops queries, to show that nothing waits for it).
 */
#ifndef LC_TEST_FAKEDNS_H
#define LC_TEST_FAKEDNS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct event;
struct event_base;

#define FAKEDNS_NAMES 8

struct fakedns {
    int fd;
    struct event *ev;
    char addr[32];              /* "127.0.0.1:PORT", for dns_servers */
    bool mute;
    unsigned queries;           /* queries received */
    struct {
        char name[64];
        uint32_t ipv4;          /* network order */
    } names[FAKEDNS_NAMES];
    size_t n;
};

/* Starts the server (mute: it never answers). 0, or -1 when no socket could be bound. */
int fakedns_start(struct fakedns *d, struct event_base *base, bool mute);
/* `name` (no trailing dot) resolves to the IPv4 address `ip`. 0 or -1 (table full, bad ip). */
int fakedns_add(struct fakedns *d, const char *name, const char *ip);
void fakedns_stop(struct fakedns *d);

#endif
