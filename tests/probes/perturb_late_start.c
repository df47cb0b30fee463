/* Perturbation starts a new thread late while its creator runs: for the
 * first half millisecond after pthread_create() the child must not have
 * started, however the kernel schedules them. Then the creator blocks in
 * pthread_join() and the child runs. A hold is at least a 32nd of
 * perturb_max_ms (20 ms here, which is also what the budget allows at the
 * start of a run), so only a creator that loses its core for 20 ms right
 * as pthread_create() returns could see the child start. Natively a quiet
 * machine starts the child within tens of microseconds (a loaded one may
 * be as late by itself).
 * EXPECT: none
 * OPTIONS: perturb=1:perturb_max_ms=640 */
#include "probe.h"
#include <stdatomic.h>
#include <stdbool.h>
#include <time.h>
static atomic_bool started;
static void *child(void *x) {
    (void)x;
    atomic_store(&started, true);
    return NULL;
}
static long long now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}
int main(void) {
    pthread_t t;
    CHECK(pthread_create(&t, NULL, child, NULL));
    long long until = now_ns() + 500000;
    while (now_ns() < until)
        if (atomic_load(&started)) {
            fprintf(stderr, "the child started while its creator ran\n");
            return 3;
        }
    CHECK(pthread_join(t, NULL));
    return atomic_load(&started) ? 0 : 3;
}
