/* A mutex destroyed and then locked, unlocked and destroyed again, never
 * set up anew: glibc marks a destroyed mutex and each call fails with
 * EINVAL (or, for the destroy, does nothing); lockgraph reports the use
 * of an invalid mutex and leaves the results alone.
 * EXPECT: invalid-mutex */
#include "probe.h"
#include <errno.h>
int main(void) {
    pthread_mutex_t *m = malloc(sizeof *m);
    if (!m)
        return 3;
    CHECK(pthread_mutex_init(m, NULL));
    CHECK(pthread_mutex_lock(m));
    CHECK(pthread_mutex_unlock(m));
    CHECK(pthread_mutex_destroy(m));
    int lock = pthread_mutex_lock(m), trylock = pthread_mutex_trylock(m);
    int unlock = pthread_mutex_unlock(m), destroy = pthread_mutex_destroy(m);
    if (lock != EINVAL || trylock != EINVAL || unlock != EINVAL || destroy != 0) {
        fprintf(stderr, "results %d %d %d %d\n", lock, trylock, unlock, destroy);
        return 3;
    }
    free(m);
    return 0;
}
