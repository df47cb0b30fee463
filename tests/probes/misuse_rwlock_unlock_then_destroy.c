/* An rwlock is read-locked and unlocked, then unlocked once more (misuse,
 * reported), then destroyed. The extra unlock leaves glibc's reader count
 * wrapped around, so the object looks held: the destroy is not
 * destroy-locked, since nobody took it.
 * EXPECT: unlock-unlocked */
#include "probe.h"
int main(void) {
    pthread_rwlock_t rw;
    CHECK(pthread_rwlock_init(&rw, NULL));
    CHECK(pthread_rwlock_rdlock(&rw));
    CHECK(pthread_rwlock_unlock(&rw));
    pthread_rwlock_unlock(&rw);
    pthread_rwlock_destroy(&rw);
    return 0;
}
