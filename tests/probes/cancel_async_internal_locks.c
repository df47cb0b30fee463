/* Threads with asynchronous cancellation enabled keep lockgraph busy (new
 * locks, new lock orders: its lock table, graph and stack depot, each
 * behind an internal lock) and are cancelled at arbitrary moments. A
 * cancel that landed while lockgraph held an internal lock used to kill
 * the thread with it held, and the next thread that needed it (here: main,
 * doing the same work, and lockgraph's own exit) hung for ever. Async
 * cancellation in pthread calls is the program's undefined behaviour, but
 * it must not cost it lockgraph's locks: cancellation is held off while an
 * internal lock is held. The worker's own locks are robust, so that dying
 * with one held is the robust protocol's business and no report.
 * EXPECT: none */
#include "probe.h"
#include <stdatomic.h>
#include <time.h>
#define ROUNDS 24
#define LOCKS 64
static pthread_mutex_t outer[ROUNDS];
static pthread_mutex_t pool[ROUNDS][LOCKS];
static atomic_int started;
static pthread_mutexattr_t robust;
/* New locks, each taken under `out`: every pair is a new edge for the
 * graph, with a stack captured for it. */
static void churn(pthread_mutex_t *out, pthread_mutex_t *locks) {
    for (int i = 0; i < LOCKS; i++) {
        pthread_mutex_init(&locks[i], &robust);
        pthread_mutex_lock(out);
        pthread_mutex_lock(&locks[i]);
        pthread_mutex_unlock(&locks[i]);
        pthread_mutex_unlock(out);
        pthread_mutex_destroy(&locks[i]);
    }
}
static void *worker(void *x) {
    int r = (int)(size_t)x;
    pthread_setcanceltype(PTHREAD_CANCEL_ASYNCHRONOUS, NULL);
    pthread_mutex_init(&outer[r], &robust);
    atomic_store(&started, 1);
    for (;;)
        churn(&outer[r], pool[r]);
    return NULL;
}
int main(void) {
    static pthread_mutex_t mine_outer = PTHREAD_MUTEX_INITIALIZER, mine[LOCKS];
    CHECK(pthread_mutexattr_init(&robust));
    CHECK(pthread_mutexattr_setrobust(&robust, PTHREAD_MUTEX_ROBUST));
    churn(&mine_outer, mine); /* bind every call before a cancel can land in the loader */
    for (int r = 0; r < ROUNDS; r++) {
        pthread_t t;
        atomic_store(&started, 0);
        CHECK(pthread_create(&t, NULL, worker, (void *)(size_t)r));
        while (!atomic_load(&started))
            sched_yield();
        /* Let it run for 0 to 3 ms: the cancel lands somewhere different
         * every round. */
        struct timespec nap = { 0, (long)(r % 4) * 1000000L };
        nanosleep(&nap, NULL);
        CHECK(pthread_cancel(t));
        CHECK(pthread_join(t, NULL));
        churn(&mine_outer, mine); /* needs every internal lock the worker used */
    }
    puts("cancel_async_internal_locks: every internal lock came back");
    return 0;
}
