/* Unlocking a spinlock nobody holds.
 * EXPECT: unlock-unlocked */
#include "probe.h"
int main(void) {
    pthread_spinlock_t s;
    CHECK(pthread_spin_init(&s, PTHREAD_PROCESS_PRIVATE));
    pthread_spin_unlock(&s);
    return 0;
}
