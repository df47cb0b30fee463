/* Four readers and a writer share a writer-preferring rwlock for 3 s, and
 * all of them go straight back for more. Once the writer waits, new readers
 * wait behind it, so it gets a turn every time the readers drain: it waits
 * all the time, and gets its share. Not starvation.
 * EXPECT: none */
#include "probe.h"
#include <stdatomic.h>
#include <stdbool.h>
#include <time.h>
#define R 4
static pthread_rwlock_t rw;
static atomic_bool stop;
static unsigned long reads[R], writes, value;
static void *reader(void *x) {
    long me = (long)x;
    unsigned long seen = 0;
    while (!atomic_load_explicit(&stop, memory_order_relaxed)) {
        pthread_rwlock_rdlock(&rw);
        seen += value;
        reads[me]++;
        pthread_rwlock_unlock(&rw);
    }
    return (void *)seen;
}
static void *writer(void *x) {
    (void)x;
    while (!atomic_load_explicit(&stop, memory_order_relaxed)) {
        pthread_rwlock_wrlock(&rw);
        value++;
        writes++;
        pthread_rwlock_unlock(&rw);
    }
    return NULL;
}
int main(void) {
    pthread_rwlockattr_t attr;
    CHECK(pthread_rwlockattr_init(&attr));
    CHECK(pthread_rwlockattr_setkind_np(&attr, PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP));
    CHECK(pthread_rwlock_init(&rw, &attr));
    pthread_t t[R + 1];
    for (long i = 0; i < R; i++) CHECK(pthread_create(&t[i], NULL, reader, (void *)i));
    CHECK(pthread_create(&t[R], NULL, writer, NULL));
    probe_run_for(&stop, 3);
    for (int i = 0; i <= R; i++) CHECK(pthread_join(t[i], NULL));
    fprintf(stderr, "writes: %lu\n", writes);
    return writes == value ? 0 : 1;
}
