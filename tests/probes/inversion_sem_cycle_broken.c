/* Two threads take two binary semaphores in opposite orders, first one after
 * the other (the inversion, reported), then at once, so that each holds one
 * and waits for the other. But main keeps running and, after a while,
 * posts one of them itself: the cycle was never a deadlock, since any
 * thread may post a semaphore. lockgraph must not stop the program; the
 * program ends on its own. The wait is long against deadlock_ms only so
 * that a checker that would wrongly stop it has every chance to.
 * EXPECT: lock-order-inversion
 * OPTIONS: deadlock_ms=20 */
#include "probe.h"
#include <semaphore.h>
#include <time.h>
static sem_t a, b;
static pthread_barrier_t both;
static int at_once;
/* Takes s[0], then s[1]; with at_once, only after the other thread holds
 * its first. */
static void *take_both(void *x) {
    sem_t **s = x;
    sem_wait(s[0]);
    if (at_once)
        pthread_barrier_wait(&both);
    sem_wait(s[1]);
    sem_post(s[1]); sem_post(s[0]);
    return NULL;
}
int main(void) {
    pthread_t t1, t2;
    sem_t *ab[2] = { &a, &b }, *ba[2] = { &b, &a };
    CHECK(sem_init(&a, 0, 1)); CHECK(sem_init(&b, 0, 1));
    run_thread(take_both, ab); run_thread(take_both, ba);
    at_once = 1;
    CHECK(pthread_barrier_init(&both, NULL, 2));
    CHECK(pthread_create(&t1, NULL, take_both, ab)); CHECK(pthread_create(&t2, NULL, take_both, ba));
    struct timespec tick = { 0, 10 * 1000000L };
    for (int i = 0; i < 30; i++)
        nanosleep(&tick, NULL);
    sem_post(&a); /* whoever waits for a gets it: the cycle breaks */
    CHECK(pthread_join(t1, NULL)); CHECK(pthread_join(t2, NULL));
    return 0;
}
