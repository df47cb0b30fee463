/* A thread takes a binary semaphore and then waits on it again: it waits
 * for another thread to post it, which main does after a while (running,
 * not blocked, all that time). That is a signal, not a self-deadlock, and
 * not a deadlock: lockgraph must not stop the program. The wait is long
 * against deadlock_ms only so that a checker that would wrongly stop the
 * program has every chance to; the verdict does not depend on it.
 * EXPECT: none
 * OPTIONS: deadlock_ms=20 */
#include "probe.h"
#include <semaphore.h>
#include <time.h>
static sem_t s;
static void *waiter(void *x) { (void)x; sem_wait(&s); sem_wait(&s); return NULL; }
int main(void) {
    pthread_t t;
    CHECK(sem_init(&s, 0, 1));
    CHECK(pthread_create(&t, NULL, waiter, NULL));
    struct timespec tick = { 0, 10 * 1000000L };
    for (int i = 0; i < 30; i++)
        nanosleep(&tick, NULL);
    sem_post(&s);
    CHECK(pthread_join(t, NULL));
    return 0;
}
