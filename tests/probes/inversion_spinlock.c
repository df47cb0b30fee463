/* Spinlocks in opposite orders on two threads.
 * EXPECT: lock-order-inversion */
#include "probe.h"
static pthread_spinlock_t a, b;
static void *ab(void *x) { (void)x; pthread_spin_lock(&a); pthread_spin_lock(&b); pthread_spin_unlock(&b); pthread_spin_unlock(&a); return NULL; }
static void *ba(void *x) { (void)x; pthread_spin_lock(&b); pthread_spin_lock(&a); pthread_spin_unlock(&a); pthread_spin_unlock(&b); return NULL; }
int main(void) {
    CHECK(pthread_spin_init(&a, 0)); CHECK(pthread_spin_init(&b, 0));
    run_thread(ab, NULL); run_thread(ba, NULL); return 0;
}
