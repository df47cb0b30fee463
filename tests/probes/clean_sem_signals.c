/* Semaphores used as signals, never as locks, in every pattern that would
 * look like an inversion if they were: a ping-pong on two semaphores set up
 * at 0; a semaphore set up at 1 but posted by a thread that did not take it
 * (then taken in both orders with another); one posted above 1; a counting
 * semaphore (set up at 2); a process-shared one. Nothing to report.
 * EXPECT: none */
#include "probe.h"
#include <semaphore.h>
static sem_t ping, pong, handed, lock, over, counting, shared;
static void *ponger(void *x) {
    (void)x;
    for (int i = 0; i < 1000; i++) { sem_wait(&ping); sem_post(&pong); }
    return NULL;
}
/* Takes `handed`, which main posts: a signal from then on. */
static void *taker(void *x) { (void)x; sem_wait(&lock); sem_wait(&handed); sem_post(&lock); return NULL; }
/* Each takes two semaphores in the order given, then posts both. */
static void *in_order(void *x) {
    sem_t **s = x;
    sem_wait(s[0]); sem_wait(s[1]); sem_post(s[1]); sem_post(s[0]);
    return NULL;
}
static void both_orders(sem_t *x, sem_t *y) {
    sem_t *xy[2] = { x, y }, *yx[2] = { y, x };
    run_thread(in_order, xy);
    run_thread(in_order, yx);
}
int main(void) {
    pthread_t t;
    CHECK(sem_init(&ping, 0, 0)); CHECK(sem_init(&pong, 0, 0));
    CHECK(pthread_create(&t, NULL, ponger, NULL));
    for (int i = 0; i < 1000; i++) { sem_post(&ping); sem_wait(&pong); }
    CHECK(pthread_join(t, NULL));

    CHECK(sem_init(&handed, 0, 1)); CHECK(sem_init(&lock, 0, 1));
    run_thread(taker, NULL); /* lock -> handed while handed looked like a lock */
    sem_post(&handed);       /* ... but main posts what the taker took */
    both_orders(&handed, &lock);

    CHECK(sem_init(&over, 0, 1));
    sem_post(&over); /* 2: not a binary lock */
    sem_wait(&over);
    both_orders(&over, &lock);

    CHECK(sem_init(&counting, 0, 2));
    both_orders(&counting, &lock);

    CHECK(sem_init(&shared, 1, 1));
    both_orders(&shared, &lock);
    return 0;
}
