/* pthread_cond_timedwait with an error-checking mutex that another thread
 * holds: misuse (glibc returns EPERM, and must still be the one to say so).
 * EXPECT: cond-misuse */
#include "probe.h"
#include <errno.h>
#include <semaphore.h>
#include "soon.h"
static pthread_cond_t c = PTHREAD_COND_INITIALIZER;
static pthread_mutex_t m;
static sem_t held, done;
static void *holder(void *x) {
    (void)x;
    CHECK(pthread_mutex_lock(&m));
    sem_post(&held);
    while (sem_wait(&done) != 0)
        ;
    CHECK(pthread_mutex_unlock(&m));
    return NULL;
}
int main(void) {
    pthread_mutexattr_t a;
    CHECK(pthread_mutexattr_init(&a));
    CHECK(pthread_mutexattr_settype(&a, PTHREAD_MUTEX_ERRORCHECK));
    CHECK(pthread_mutex_init(&m, &a));
    sem_init(&held, 0, 0);
    sem_init(&done, 0, 0);
    pthread_t t;
    CHECK(pthread_create(&t, NULL, holder, NULL));
    while (sem_wait(&held) != 0)
        ;
    struct timespec ts = soon_ms(5000);
    int err = pthread_cond_timedwait(&c, &m, &ts);
    sem_post(&done);
    CHECK(pthread_join(t, NULL));
    if (err != EPERM) {
        fprintf(stderr, "timedwait returned %d, not EPERM\n", err);
        return 3;
    }
    return 0;
}
