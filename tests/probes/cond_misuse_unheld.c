/* pthread_cond_timedwait with a mutex the caller does not hold: once with
 * a normal mutex (glibc waits anyway, and returns holding it), once with an
 * error-checking one (glibc says EPERM). Both are misuse; the calls must
 * return what glibc returns.
 * EXPECT: cond-misuse */
#include "probe.h"
#include <errno.h>
#include "soon.h"
static pthread_cond_t c = PTHREAD_COND_INITIALIZER;
int main(void) {
    pthread_mutex_t plain = PTHREAD_MUTEX_INITIALIZER, checked;
    pthread_mutexattr_t a;
    CHECK(pthread_mutexattr_init(&a));
    CHECK(pthread_mutexattr_settype(&a, PTHREAD_MUTEX_ERRORCHECK));
    CHECK(pthread_mutex_init(&checked, &a));
    struct timespec ts = soon_ms(10);
    int err = pthread_cond_timedwait(&c, &plain, &ts);
    if (err != ETIMEDOUT) {
        fprintf(stderr, "plain: %d, not ETIMEDOUT\n", err);
        return 3;
    }
    CHECK(pthread_mutex_unlock(&plain)); /* glibc gave it back locked */
    ts = soon_ms(10);
    err = pthread_cond_timedwait(&c, &checked, &ts);
    if (err != EPERM) {
        fprintf(stderr, "error-checking: %d, not EPERM\n", err);
        return 3;
    }
    return 0;
}
