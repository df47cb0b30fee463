/* The signal is sent before the waiter waits, and there is no predicate:
 * the waiter sleeps for ever while main joins it. Every thread is blocked,
 * so lockgraph reports a stall (naming the lost wakeup) and exits 66
 * instead of hanging.
 * EXPECT: stall
 * OPTIONS: stall_ms=500 */
#include "probe.h"
static pthread_mutex_t m = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t ready = PTHREAD_COND_INITIALIZER;
static pthread_barrier_t signalled;
static void *waiter(void *x) {
    (void)x;
    pthread_barrier_wait(&signalled); /* the signal is already gone */
    pthread_mutex_lock(&m);
    pthread_cond_wait(&ready, &m);
    pthread_mutex_unlock(&m);
    return NULL;
}
int main(void) {
    pthread_t t;
    CHECK(pthread_barrier_init(&signalled, NULL, 2));
    CHECK(pthread_create(&t, NULL, waiter, NULL));
    pthread_cond_signal(&ready);
    pthread_barrier_wait(&signalled);
    pthread_join(t, NULL);
    return 0;
}
