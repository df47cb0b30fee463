/* T2 and T3 run at the same time (both started before either is joined);
 * T2 takes A then B, T3 waits until T2 is done with them (a flag, not a
 * join) and takes B then A. No deadlock happened, but it could have in this
 * very run: run_cycles_only=1 still reports it.
 * OPTIONS: run_cycles_only=1
 * EXPECT: lock-order-inversion */
#include "probe.h"
#include <stdatomic.h>
#include <sched.h>
static pthread_mutex_t a = PTHREAD_MUTEX_INITIALIZER, b = PTHREAD_MUTEX_INITIALIZER;
static atomic_int done;
static void *ab(void *x) { (void)x; pthread_mutex_lock(&a); pthread_mutex_lock(&b); pthread_mutex_unlock(&b); pthread_mutex_unlock(&a); atomic_store(&done, 1); return NULL; }
static void *ba(void *x) { (void)x; while (!atomic_load(&done)) sched_yield(); pthread_mutex_lock(&b); pthread_mutex_lock(&a); pthread_mutex_unlock(&a); pthread_mutex_unlock(&b); return NULL; }
int main(void) {
    pthread_t t2, t3;
    CHECK(pthread_create(&t2, NULL, ab, NULL)); CHECK(pthread_create(&t3, NULL, ba, NULL));
    CHECK(pthread_join(t2, NULL)); CHECK(pthread_join(t3, NULL));
    return 0;
}
