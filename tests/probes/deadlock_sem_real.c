/* Two threads really deadlock on two binary semaphores: each holds one and
 * waits for the other, while main waits in pthread_join. Nobody is left to
 * post either one, so the wait-for cycle is a deadlock: lockgraph reports
 * it (after the inversion) and exits 66 instead of hanging.
 * EXPECT: deadlock,lock-order-inversion */
#include "probe.h"
#include <semaphore.h>
static sem_t a, b;
static pthread_barrier_t both;
static void *ab(void *x) { (void)x; sem_wait(&a); pthread_barrier_wait(&both); sem_wait(&b); return NULL; }
static void *ba(void *x) { (void)x; sem_wait(&b); pthread_barrier_wait(&both); sem_wait(&a); return NULL; }
int main(void) {
    pthread_t t1, t2;
    CHECK(sem_init(&a, 0, 1)); CHECK(sem_init(&b, 0, 1));
    CHECK(pthread_barrier_init(&both, NULL, 2));
    CHECK(pthread_create(&t1, NULL, ab, NULL)); CHECK(pthread_create(&t2, NULL, ba, NULL));
    pthread_join(t1, NULL); pthread_join(t2, NULL);
    return 0;
}
