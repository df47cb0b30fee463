/* Binary semaphores taken by sem_trywait that succeeds, in opposite orders
 * by two threads. A sem_trywait that takes a semaphore lock orders like a
 * blocking take: CPython's blocking Lock.acquire() is exactly such a
 * sem_trywait first, and waits only when it fails.
 * EXPECT: lock-order-inversion */
#include "probe.h"
#include <semaphore.h>
static sem_t a, b;
static void take(sem_t *s) { if (sem_trywait(s) != 0) sem_wait(s); }
static void *ab(void *x) { (void)x; take(&a); take(&b); sem_post(&b); sem_post(&a); return NULL; }
static void *ba(void *x) { (void)x; take(&b); take(&a); sem_post(&a); sem_post(&b); return NULL; }
int main(void) {
    CHECK(sem_init(&a, 0, 1)); CHECK(sem_init(&b, 0, 1));
    run_thread(ab, NULL); run_thread(ba, NULL);
    return 0;
}
