/* T2 takes A then B, then creates T3 and exits without being joined; main
 * joins T3, and only then takes B then A. The join of T3, created after
 * T2's order, orders T2's A -> B before main's B -> A (happens-before runs
 * through the third thread), so this run could not have deadlocked:
 * run_cycles_only=1 reports nothing. By default the cycle is reported with
 * cycle_class "ordered", naming the chain (inversion_ordered_through_a_third_thread).
 * OPTIONS: run_cycles_only=1
 * EXPECT: none */
#include "probe.h"
#include <sched.h>
static pthread_mutex_t a = PTHREAD_MUTEX_INITIALIZER, b = PTHREAD_MUTEX_INITIALIZER;
static pthread_t t3;
static int t3_ready; /* set once pthread_create has returned: t3 is usable */
static void *nothing(void *x) { return x; }
static void *t2_main(void *x) {
    (void)x;
    pthread_mutex_lock(&a); pthread_mutex_lock(&b); pthread_mutex_unlock(&b); pthread_mutex_unlock(&a);
    CHECK(pthread_create(&t3, NULL, nothing, NULL));
    __atomic_store_n(&t3_ready, 1, __ATOMIC_RELEASE);
    return NULL;
}
int main(void) {
    pthread_t t2;
    CHECK(pthread_create(&t2, NULL, t2_main, NULL));
    CHECK(pthread_detach(t2));
    /* Wait for T2's pthread_create to return, without joining T2. */
    while (!__atomic_load_n(&t3_ready, __ATOMIC_ACQUIRE))
        sched_yield();
    CHECK(pthread_join(t3, NULL));
    pthread_mutex_lock(&b); pthread_mutex_lock(&a); pthread_mutex_unlock(&a); pthread_mutex_unlock(&b);
    return 0;
}
