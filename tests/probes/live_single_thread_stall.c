/* A program that never starts a second thread: lockgraph starts no thread
 * of its own in it either (its liveness monitor waits until the program
 * creates a thread or blocks), so glibc keeps its single-threaded paths.
 * The program checks that it is alone after taking a few locks, then,
 * holding one, waits on a semaphore nobody will post: the monitor starts
 * at that wait, the stall is reported and the program exits 66 instead of
 * hanging. Before, the monitor ran from the start (two threads here).
 * EXPECT: stall
 * OPTIONS: stall_ms=300 */
#include "probe.h"
#include <semaphore.h>
static pthread_mutex_t m = PTHREAD_MUTEX_INITIALIZER, n = PTHREAD_MUTEX_INITIALIZER;
static sem_t never;
int main(void) {
    CHECK(sem_init(&never, 0, 0));
    for (int i = 0; i < 3; i++) {
        CHECK(pthread_mutex_lock(&m));
        CHECK(pthread_mutex_lock(&n));
        CHECK(pthread_mutex_unlock(&n));
        CHECK(pthread_mutex_unlock(&m));
    }
    int alone = threads_in_this_process();
    if (alone != 1) {
        fprintf(stderr, "live_single_thread_stall: %d threads before the wait\n", alone);
        return 4;
    }
    CHECK(pthread_mutex_lock(&m));
    sem_wait(&never); /* nobody will post */
    return 0;
}
