/* The blocking kind of crumbs: four readers keep a reader-preferring rwlock
 * (glibc's default) read-locked, overlapping, each pausing 50 us outside it
 * every 2048 reads; a writer blocks in pthread_rwlock_wrlock, writes, and
 * pauses 100 us, for 3 s. Readers may join while the writer waits, so it
 * gets the lock only when all four happen to be out at once: a few crumbs
 * a second, each ending its wait before starvation_ms. It waits nearly all
 * the time and gets a tiny share of the lock: starvation. (A polite thread
 * blocking on a plain mutex with such pauses, against greedy lockers, is a
 * borderline case: on a quiet machine it gets up to 1.4% of a fair share.)
 * EXPECT: starvation */
#include "probe.h"
#include <stdatomic.h>
#include <stdbool.h>
#include <time.h>
#define R 4
static pthread_rwlock_t rw = PTHREAD_RWLOCK_INITIALIZER;
static atomic_bool stop;
static unsigned long reads[R], writes;
static void *reader(void *x) {
    long me = (long)x;
    struct timespec out = { 0, 50000 };
    unsigned long seen = 0;
    while (!atomic_load_explicit(&stop, memory_order_relaxed)) {
        pthread_rwlock_rdlock(&rw);
        seen += probe_work(writes, 8000) & 1;
        reads[me]++;
        pthread_rwlock_unlock(&rw);
        if (reads[me] % 2048 == 0)
            nanosleep(&out, NULL);
    }
    return (void *)seen;
}
static void *writer(void *x) {
    (void)x;
    struct timespec pause = { 0, 100000 };
    while (!atomic_load_explicit(&stop, memory_order_relaxed)) {
        pthread_rwlock_wrlock(&rw);
        writes++;
        pthread_rwlock_unlock(&rw);
        nanosleep(&pause, NULL);
    }
    return NULL;
}
int main(void) {
    pthread_t t[R + 1];
    for (long i = 0; i < R; i++) CHECK(pthread_create(&t[i], NULL, reader, (void *)i));
    CHECK(pthread_create(&t[R], NULL, writer, NULL));
    probe_run_for(&stop, 3);
    unsigned long total = writes;
    for (int i = 0; i <= R; i++) CHECK(pthread_join(t[i], NULL));
    for (int i = 0; i < R; i++) total += reads[i];
    fprintf(stderr, "writer: %lu of %lu grants\n", writes, total);
    return 0;
}
