/* Four workers update shared stats under one lock, doing as much work
 * inside it as outside, for 3 s: the lock is busy half the time. A reporter
 * sleeps 50 ms, then takes the same lock to read the totals, nearly always
 * waiting a little for a worker. It gets a tiny share of the lock (20
 * grants a second against the workers' hundreds of thousands), and each
 * read is passed by many grants (a glibc mutex lets a releasing worker
 * take it straight back), but it sleeps most of the time: it does not keep
 * trying, and is not starving. (With 2 ms naps it waits more than half the
 * time, passed a thousand times per read: lockgraph reports that.)
 * EXPECT: none */
#include "probe.h"
#include <stdatomic.h>
#include <stdbool.h>
#include <time.h>
#define W 4
static pthread_mutex_t stats = PTHREAD_MUTEX_INITIALIZER;
static unsigned long items[W], reports;
static atomic_bool stop;
static unsigned long work(unsigned long seed) {
    volatile unsigned long x = seed;
    for (int i = 0; i < 200; i++) x = x * 6364136223846793005ul + 1;
    return x;
}
static void *worker(void *x) {
    long me = (long)x;
    unsigned long sum = 0;
    while (!atomic_load_explicit(&stop, memory_order_relaxed)) {
        sum += work(sum);
        pthread_mutex_lock(&stats);
        items[me] += work(items[me]) & 1;
        pthread_mutex_unlock(&stats);
    }
    return (void *)sum;
}
static void *reporter(void *x) {
    (void)x;
    struct timespec nap = { 0, 50000000 };
    unsigned long total = 0;
    while (!atomic_load_explicit(&stop, memory_order_relaxed)) {
        nanosleep(&nap, NULL);
        pthread_mutex_lock(&stats);
        total = 0;
        for (int i = 0; i < W; i++) total += items[i];
        reports++;
        pthread_mutex_unlock(&stats);
    }
    return (void *)total;
}
int main(void) {
    pthread_t t[W + 1];
    for (long i = 0; i < W; i++) CHECK(pthread_create(&t[i], NULL, worker, (void *)i));
    CHECK(pthread_create(&t[W], NULL, reporter, NULL));
    struct timespec run = { 3, 0 };
    nanosleep(&run, NULL);
    atomic_store(&stop, true);
    for (int i = 0; i <= W; i++) CHECK(pthread_join(t[i], NULL));
    fprintf(stderr, "reports: %lu\n", reports);
    return 0;
}
