/*
 * clock.h — monotonic milliseconds for timeouts and rates, and wall-clock seconds for the
 * API's "since" fields. One place, so tests and daemons agree on the clock.
 */
#ifndef LIBSTREAM_CLOCK_H
#define LIBSTREAM_CLOCK_H

#include <stdint.h>
#include <time.h>

/* Monotonic time in ms (coarse clock: cheap enough to read per message). */
static inline uint64_t ls_now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* Wall-clock UNIX seconds. */
static inline int64_t ls_unix_time(void)
{
    return (int64_t)time(NULL);
}

#endif /* LIBSTREAM_CLOCK_H */
