/* A CLOCK_REALTIME deadline `ms` milliseconds from now, for the timed
 * calls of the probes. */
#ifndef PROBE_SOON_H
#define PROBE_SOON_H
#include <time.h>
static inline struct timespec
soon_ms(long ms)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_sec += ms / 1000;
    ts.tv_nsec += (ms % 1000) * 1000000L;
    if (ts.tv_nsec >= 1000000000L) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000L;
    }
    return ts;
}
#endif
