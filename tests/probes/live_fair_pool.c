/* Six workers take jobs from one mutex-protected queue for 3 s, and do
 * real work (about a microsecond of computing) between two jobs. The queue
 * lock is busy, but free most of the time: a worker that waits for it
 * waits briefly, and does not starve however the machine is loaded.
 * EXPECT: none */
#include "probe.h"
#include <stdatomic.h>
#include <stdbool.h>
#include <time.h>
#define W 6
static pthread_mutex_t queue = PTHREAD_MUTEX_INITIALIZER;
static unsigned long next_job, done[W];
static atomic_bool stop;
static void *worker(void *x) {
    long me = (long)x;
    unsigned long sum = 0;
    while (!atomic_load_explicit(&stop, memory_order_relaxed)) {
        pthread_mutex_lock(&queue);
        unsigned long job = next_job++;
        pthread_mutex_unlock(&queue);
        sum += probe_work(job, 300);
        done[me]++;
    }
    return (void *)sum;
}
int main(void) {
    pthread_t t[W];
    for (long i = 0; i < W; i++) CHECK(pthread_create(&t[i], NULL, worker, (void *)i));
    probe_run_for(&stop, 3);
    unsigned long total = 0;
    for (int i = 0; i < W; i++) {
        CHECK(pthread_join(t[i], NULL));
        total += done[i];
    }
    /* Every job taken was done: the queue hands each job out once. */
    return total == next_job ? 0 : 1;
}
