/* Four workers share a queue lock, taken with short trylock retries and a
 * back-off (giving up their own buffer lock), for 1.5 s. Busy, but every
 * worker keeps getting the lock: no livelock, no starvation.
 * EXPECT: none */
#include "probe.h"
#include <sched.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <time.h>
#define W 4
static pthread_mutex_t queue = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t buffer[W];
static atomic_bool stop;
static unsigned long done[W];
static void *worker(void *x) {
    long me = (long)x;
    while (!atomic_load(&stop)) {
        pthread_mutex_lock(&buffer[me]);
        if (pthread_mutex_trylock(&queue) == 0) {
            done[me]++;
            pthread_mutex_unlock(&queue);
            pthread_mutex_unlock(&buffer[me]);
        } else {
            pthread_mutex_unlock(&buffer[me]); /* back off */
            sched_yield();
        }
    }
    return NULL;
}
int main(void) {
    pthread_t t[W];
    for (long i = 0; i < W; i++) CHECK(pthread_mutex_init(&buffer[i], NULL));
    for (long i = 0; i < W; i++) CHECK(pthread_create(&t[i], NULL, worker, (void *)i));
    struct timespec ts = { 1, 500000000 };
    nanosleep(&ts, NULL);
    atomic_store(&stop, true);
    for (int i = 0; i < W; i++) CHECK(pthread_join(t[i], NULL));
    for (int i = 0; i < W; i++) if (!done[i]) return 1;
    return 0;
}
