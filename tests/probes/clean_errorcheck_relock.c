/* Re-locking an error-checking mutex returns EDEADLK instead of hanging;
 * the program handles it. No report, and the call is not stopped.
 * EXPECT: none */
#include "probe.h"
#include <errno.h>
int main(void) {
    pthread_mutex_t m; pthread_mutexattr_t at;
    CHECK(pthread_mutexattr_init(&at)); CHECK(pthread_mutexattr_settype(&at, PTHREAD_MUTEX_ERRORCHECK));
    CHECK(pthread_mutex_init(&m, &at));
    CHECK(pthread_mutex_lock(&m));
    if (pthread_mutex_lock(&m) != EDEADLK) return 1;
    CHECK(pthread_mutex_unlock(&m));
    CHECK(pthread_mutex_destroy(&m));
    return 0;
}
