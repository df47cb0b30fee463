/* The program of clean_ordered_through_a_third_thread, with the default
 * options: lock order is a property of the code, so the cycle is reported,
 * as "ordered" (thread creation and join kept the two orders apart).
 * REPORT: creation or join .T2 took its order. then T2 created T3, then T3 was joined by T1
 * EXPECT: lock-order-inversion */
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
    while (!__atomic_load_n(&t3_ready, __ATOMIC_ACQUIRE))
        sched_yield();
    CHECK(pthread_join(t3, NULL));
    pthread_mutex_lock(&b); pthread_mutex_lock(&a); pthread_mutex_unlock(&a); pthread_mutex_unlock(&b);
    return 0;
}
