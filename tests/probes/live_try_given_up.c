/* Main tries a busy lock once with trylock, fails, and goes on without it
 * (it never asks again), while four workers take that lock all the time
 * for 2 s. lockgraph's retry episode stays open (no grant ends it), but a
 * thread that stopped failing does not want the lock: not starvation.
 * EXPECT: none */
#include "probe.h"
#include <errno.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <time.h>
#define W 4
static pthread_mutex_t m = PTHREAD_MUTEX_INITIALIZER;
static pthread_barrier_t held;
static atomic_bool stop;
static unsigned long count[W];
static void *worker(void *x) {
    long me = (long)x;
    if (me == 0) {
        pthread_mutex_lock(&m);
        pthread_barrier_wait(&held); /* main may try now */
        pthread_barrier_wait(&held); /* main has tried */
        pthread_mutex_unlock(&m);
    }
    while (!atomic_load_explicit(&stop, memory_order_relaxed)) {
        pthread_mutex_lock(&m);
        count[me]++;
        pthread_mutex_unlock(&m);
    }
    return NULL;
}
int main(void) {
    pthread_t t[W];
    CHECK(pthread_barrier_init(&held, NULL, 2));
    for (long i = 0; i < W; i++) CHECK(pthread_create(&t[i], NULL, worker, (void *)i));
    pthread_barrier_wait(&held);
    if (pthread_mutex_trylock(&m) != EBUSY) /* worker 0 holds it */
        return 1;
    pthread_barrier_wait(&held);
    struct timespec run = { 2, 0 };
    nanosleep(&run, NULL); /* main does other things */
    atomic_store(&stop, true);
    for (int i = 0; i < W; i++) CHECK(pthread_join(t[i], NULL));
    return 0;
}
