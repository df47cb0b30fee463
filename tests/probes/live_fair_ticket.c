/* Eight threads share a ticket lock (a mutex, a condition variable, two
 * counters) for 3 s, with almost nothing to do in between: every thread
 * waits all the time. A ticket lock serves in order, so each thread is
 * bypassed at most seven times per turn whatever the scheduler does (the
 * program checks that bound, which its code guarantees). Nobody starves,
 * however loaded the machine.
 * EXPECT: none */
#include "probe.h"
#include <stdatomic.h>
#include <stdbool.h>
#include <time.h>
#define N 8
static pthread_mutex_t m = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t turn = PTHREAD_COND_INITIALIZER;
static unsigned long next_ticket, now_serving;
static atomic_bool stop;
static unsigned long turns[N], worst_bypass;
static void *diner(void *x) {
    long me = (long)x;
    while (!atomic_load_explicit(&stop, memory_order_relaxed)) {
        pthread_mutex_lock(&m);
        unsigned long mine = next_ticket++;
        unsigned long served_before = now_serving;
        while (mine != now_serving)
            pthread_cond_wait(&turn, &m);
        /* Turns served to others since this thread took its ticket. */
        if (now_serving - served_before > worst_bypass)
            worst_bypass = now_serving - served_before;
        turns[me]++;
        now_serving++;
        pthread_cond_broadcast(&turn);
        pthread_mutex_unlock(&m);
    }
    return NULL;
}
int main(void) {
    pthread_t t[N];
    for (long i = 0; i < N; i++) CHECK(pthread_create(&t[i], NULL, diner, (void *)i));
    struct timespec run = { 3, 0 };
    nanosleep(&run, NULL);
    atomic_store(&stop, true);
    for (int i = 0; i < N; i++) CHECK(pthread_join(t[i], NULL));
    fprintf(stderr, "worst bypass: %lu turns (bound %d)\n", worst_bypass, N - 1);
    return worst_bypass <= N - 1 ? 0 : 1;
}
