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
static void *ab(void *x) {
    (void)x;
    sem_wait(&a);
    if (at_once)
        pthread_barrier_wait(&both);
    sem_wait(&b);
    sem_post(&b); sem_post(&a);
    return NULL;
}
static void *ba(void *x) {
    (void)x;
    sem_wait(&b);
    if (at_once)
        pthread_barrier_wait(&both);
    sem_wait(&a);
    sem_post(&a); sem_post(&b);
    return NULL;
}
int main(void) {
    pthread_t t1, t2;
    CHECK(sem_init(&a, 0, 1)); CHECK(sem_init(&b, 0, 1));
    run_thread(ab, NULL); run_thread(ba, NULL);
    at_once = 1;
    CHECK(pthread_barrier_init(&both, NULL, 2));
    CHECK(pthread_create(&t1, NULL, ab, NULL)); CHECK(pthread_create(&t2, NULL, ba, NULL));
    struct timespec tick = { 0, 10 * 1000000L };
    for (int i = 0; i < 30; i++)
        nanosleep(&tick, NULL);
    sem_post(&a); /* whoever waits for a gets it: the cycle breaks */
    CHECK(pthread_join(t1, NULL)); CHECK(pthread_join(t2, NULL));
    return 0;
}
