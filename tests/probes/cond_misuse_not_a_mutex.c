/* pthread_cond_timedwait given things that are not mutexes: an rwlock (cast
 * to a mutex pointer) and a pointer into the middle of a mutex. glibc waits
 * anyway; lockgraph reports both and lets the calls run.
 * EXPECT: cond-misuse */
#include "probe.h"
#include "soon.h"
static pthread_cond_t c = PTHREAD_COND_INITIALIZER;
static pthread_rwlock_t rw = PTHREAD_RWLOCK_INITIALIZER;
static pthread_mutex_t pair[2];
int main(void) {
    CHECK(pthread_rwlock_rdlock(&rw)); /* lockgraph has seen it as an rwlock */
    CHECK(pthread_rwlock_unlock(&rw));
    struct timespec ts = soon_ms(10);
    pthread_cond_timedwait(&c, (pthread_mutex_t *)(void *)&rw, &ts);
    ts = soon_ms(10);
    pthread_cond_timedwait(&c, (pthread_mutex_t *)(void *)((char *)&pair[0] + 4), &ts);
    return 0;
}
