/* A thread times a lock of a normal mutex it already holds: it can only
 * time out. Reported as a self-deadlock, but the call must run as asked
 * (ETIMEDOUT) and the program go on: it then unlocks an unlocked mutex,
 * which must be reported too.
 * EXPECT: self-deadlock,unlock-unlocked */
#include "probe.h"
#include <errno.h>
#include "soon.h"
static pthread_mutex_t m = PTHREAD_MUTEX_INITIALIZER, other = PTHREAD_MUTEX_INITIALIZER;
int main(void) {
    CHECK(pthread_mutex_lock(&m));
    struct timespec until = soon_ms(20);
    int err = pthread_mutex_timedlock(&m, &until);
    if (err != ETIMEDOUT) {
        fprintf(stderr, "timedlock returned %d, not ETIMEDOUT\n", err);
        return 3;
    }
    CHECK(pthread_mutex_unlock(&m));
    pthread_mutex_unlock(&other);
    return 0;
}
