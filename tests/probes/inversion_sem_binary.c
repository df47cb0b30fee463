/* Two binary semaphores used as locks (sem_init to 1, each posted by the
 * thread that took it): two threads, one after the other, take A then B and
 * B then A. The same potential deadlock as with two mutexes.
 * EXPECT: lock-order-inversion */
#include "probe.h"
#include <semaphore.h>
static sem_t a, b;
static void *ab(void *x) { (void)x; sem_wait(&a); sem_wait(&b); sem_post(&b); sem_post(&a); return NULL; }
static void *ba(void *x) { (void)x; sem_wait(&b); sem_wait(&a); sem_post(&a); sem_post(&b); return NULL; }
int main(void) {
    CHECK(sem_init(&a, 0, 1)); CHECK(sem_init(&b, 0, 1));
    run_thread(ab, NULL); run_thread(ba, NULL);
    return 0;
}
