/* Eight threads share a ticket lock for 3 s, with almost nothing to do in
 * between: every thread waits all the time. A thread takes its ticket with
 * an atomic increment (no lock, so nobody waits to get in line), then waits
 * for its turn under a mutex and a condition variable. The lock serves in
 * ticket order, so each thread is bypassed at most seven times per turn
 * whatever the scheduler does (the program checks that bound, which its
 * code guarantees), and once a thread's turn has come nobody else is
 * served, or wakes, until it has taken the mutex. Nobody starves, however
 * loaded the machine. (Taking the ticket under the mutex would not be fair:
 * a thread not yet in line can wait for that mutex while the others go
 * round.)
 * EXPECT: none */
#include "probe.h"
#include <stdatomic.h>
#include <stdbool.h>
#include <time.h>
#define N 8
static pthread_mutex_t m = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t turn = PTHREAD_COND_INITIALIZER;
static atomic_ulong next_ticket, now_serving;
static atomic_bool stop;
static unsigned long turns[N], worst_bypass;
static void *diner(void *x) {
    long me = (long)x;
    while (!atomic_load_explicit(&stop, memory_order_relaxed)) {
        unsigned long mine = atomic_fetch_add(&next_ticket, 1);
        unsigned long served_before = atomic_load(&now_serving);
        pthread_mutex_lock(&m);
        while (mine != atomic_load(&now_serving))
            pthread_cond_wait(&turn, &m);
        /* Turns served to others since this thread took its ticket. */
        if (mine - served_before > worst_bypass)
            worst_bypass = mine - served_before;
        turns[me]++;
        atomic_fetch_add(&now_serving, 1);
        pthread_cond_broadcast(&turn);
        pthread_mutex_unlock(&m);
    }
    return NULL;
}
int main(void) {
    pthread_t t[N];
    for (long i = 0; i < N; i++) CHECK(pthread_create(&t[i], NULL, diner, (void *)i));
    probe_run_for(&stop, 3);
    /* Every ticket taken belongs to a thread that waits for it: all are
     * served, and every thread comes back to see stop. */
    for (int i = 0; i < N; i++) CHECK(pthread_join(t[i], NULL));
    fprintf(stderr, "worst bypass: %lu turns (bound %d)\n", worst_bypass, N - 1);
    return worst_bypass <= N - 1 ? 0 : 1;
}
