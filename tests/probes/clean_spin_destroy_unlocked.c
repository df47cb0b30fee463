/* Destroying spinlocks that are free: one never locked, one locked and
 * unlocked. (A free glibc spinlock on x86-64 holds 1, not 0.)
 * EXPECT: none */
#include "probe.h"
int main(void) {
    pthread_spinlock_t never, used;
    CHECK(pthread_spin_init(&never, PTHREAD_PROCESS_PRIVATE));
    CHECK(pthread_spin_init(&used, PTHREAD_PROCESS_PRIVATE));
    CHECK(pthread_spin_lock(&used));
    CHECK(pthread_spin_unlock(&used));
    CHECK(pthread_spin_destroy(&never));
    CHECK(pthread_spin_destroy(&used));
    return 0;
}
