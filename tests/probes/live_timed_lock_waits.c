/* Two threads wait for locks the other holds, but with deadlines (timed
 * locks of 1.5 s, longer than deadlock_ms), and main joins them: a cycle
 * and a stall only while the deadlines last, and both end by themselves.
 * No deadlock, no stall.
 * EXPECT: lock-order-inversion
 * OPTIONS: stall_ms=500 */
#include "probe.h"
#include <errno.h>
#include <time.h>
static pthread_mutex_t a = PTHREAD_MUTEX_INITIALIZER, b = PTHREAD_MUTEX_INITIALIZER;
static pthread_barrier_t both;
static void *take(pthread_mutex_t *first, pthread_mutex_t *second) {
    pthread_mutex_lock(first);
    pthread_barrier_wait(&both);
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += 1;
    until.tv_nsec += 500000000;
    if (until.tv_nsec >= 1000000000) { until.tv_sec++; until.tv_nsec -= 1000000000; }
    if (pthread_mutex_timedlock(second, &until) == 0)
        pthread_mutex_unlock(second);
    pthread_mutex_unlock(first);
    return NULL;
}
static void *ab(void *x) { (void)x; return take(&a, &b); }
static void *ba(void *x) { (void)x; return take(&b, &a); }
int main(void) {
    pthread_t t1, t2;
    CHECK(pthread_barrier_init(&both, NULL, 2));
    CHECK(pthread_create(&t1, NULL, ab, NULL)); CHECK(pthread_create(&t2, NULL, ba, NULL));
    CHECK(pthread_join(t1, NULL)); CHECK(pthread_join(t2, NULL));
    return 0;
}
