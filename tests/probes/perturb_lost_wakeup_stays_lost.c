/* A spurious wake-up is only made while another thread runs: a waiter that
 * nobody can wake any more (the signal came first, everyone else is
 * blocked) must stay asleep under perturbation too, so that lockgraph
 * reports the stall instead of hiding the lost wake-up. Every wait may
 * wake spuriously here (perturb_spurious=100), and none may.
 * EXPECT: stall
 * OPTIONS: stall_ms=500:perturb=1:perturb_spurious=100 */
#include "probe.h"
static pthread_mutex_t m = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t ready = PTHREAD_COND_INITIALIZER;
static pthread_barrier_t signalled;
static void *waiter(void *x) {
    (void)x;
    pthread_barrier_wait(&signalled); /* the signal is already gone */
    pthread_mutex_lock(&m);
    for (;;) /* no predicate: only a wake-up of any kind gets it out */
        pthread_cond_wait(&ready, &m);
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
