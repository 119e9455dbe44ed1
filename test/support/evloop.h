/*
 * evloop.h — driving an event loop from a test: run it until a condition holds, bounded by
 * wall time, so in-process tests of the daemons (test/unit/<daemon>/) wait on outcomes,
 * never on sleeps. Also a loopback port nobody listens on, for those tests' listeners.
 */
#ifndef LC_TEST_EVLOOP_H
#define LC_TEST_EVLOOP_H

#include <stdbool.h>
#include <stdint.h>

struct event_base;

/* Monotonic milliseconds (the clock the bounds below use). */
uint64_t evloop_now_ms(void);

/* One iteration of `base`: runs what is ready, blocking at most `max_ms` for something. */
void evloop_once(struct event_base *base, unsigned max_ms);

/* Runs `base` for `ms` of wall time (lets deferred work and timers happen). */
void evloop_run_for(struct event_base *base, unsigned ms);

/*
 * Runs `base` until `cond` holds (re-evaluated after every iteration) or `ms` of wall time
 * passed. The loop is bounded whatever the condition does; callers assert `cond` after.
 */
#define EVLOOP_WAIT(base, cond, ms)                                         \
    do {                                                                   \
        uint64_t evloop_end_ = evloop_now_ms() + (ms);                     \
        while (!(cond) && evloop_now_ms() < evloop_end_)                   \
            evloop_once((base), 10);                                       \
    } while (0)

/*
 * A TCP port on `ip` (a loopback address) that was free a moment ago: the kernel picks it
 * for a socket that is then closed. Listeners bind with SO_REUSEADDR, so it can be taken
 * again at once. 0 when no socket could be bound.
 */
uint16_t evloop_free_port(const char *ip);

#endif
