/* Four workers add up results under one stats lock, doing their work
 * outside it, for 3 s: the lock is taken hundreds of thousands of times a
 * second. A reporter sleeps 200 ms, then takes the same lock to read the
 * totals; its first read waits for a worker that holds the lock, so that
 * lockgraph watches it from then on. It gets a tiny share of the lock (5
 * grants a second), and when it has to wait, workers that run while it
 * waits for a CPU keep taking the lock (a glibc mutex does not hand it
 * over), but it sleeps most of the time: it does not keep trying, and is
 * not starving. (A reporter that waits for such a lock more than half the
 * time while others pass it is reported, even when it is the OS that keeps
 * it waiting.)
 * EXPECT: none */
#include "probe.h"
#include <stdatomic.h>
#include <stdbool.h>
#include <time.h>
#define W 4
static pthread_mutex_t stats = PTHREAD_MUTEX_INITIALIZER;
static unsigned long items[W], reports;
static atomic_bool stop;
static pthread_barrier_t held;
static void *worker(void *x) {
    long me = (long)x;
    unsigned long sum = 0;
    if (me == 0) {
        pthread_mutex_lock(&stats);
        pthread_barrier_wait(&held); /* the reporter comes to read */
        struct timespec ms = { 0, 1000000 };
        nanosleep(&ms, NULL);
        pthread_mutex_unlock(&stats);
    }
    while (!atomic_load_explicit(&stop, memory_order_relaxed)) {
        sum += probe_work(sum, 2000);
        pthread_mutex_lock(&stats);
        items[me]++;
        pthread_mutex_unlock(&stats);
    }
    return (void *)sum;
}
static void *reporter(void *x) {
    (void)x;
    struct timespec nap = { 0, 200000000 }, first = { 0, 300000000 };
    unsigned long total = 0;
    nanosleep(&first, NULL); /* lockgraph's monitor has seen it by now */
    pthread_barrier_wait(&held);
    while (!atomic_load_explicit(&stop, memory_order_relaxed)) {
        pthread_mutex_lock(&stats);
        total = 0;
        for (int i = 0; i < W; i++) total += items[i];
        reports++;
        pthread_mutex_unlock(&stats);
        nanosleep(&nap, NULL);
    }
    return (void *)total;
}
int main(void) {
    pthread_t t[W + 1];
    CHECK(pthread_barrier_init(&held, NULL, 2));
    for (long i = 0; i < W; i++) CHECK(pthread_create(&t[i], NULL, worker, (void *)i));
    CHECK(pthread_create(&t[W], NULL, reporter, NULL));
    probe_run_for(&stop, 3);
    for (int i = 0; i <= W; i++) CHECK(pthread_join(t[i], NULL));
    fprintf(stderr, "reports: %lu\n", reports);
    return 0;
}
