/* Every thread waits for 4 s (longer than stall_ms), but with timed waits
 * and sleeps that end by themselves: not a stall.
 * EXPECT: none */
#include "probe.h"
#include <errno.h>
#include <semaphore.h>
#include <time.h>
static pthread_mutex_t m = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t never = PTHREAD_COND_INITIALIZER;
static sem_t sem;
static struct timespec in_4s(void) {
    struct timespec ts; clock_gettime(CLOCK_REALTIME, &ts); ts.tv_sec += 4; return ts;
}
static void *cond_sleeper(void *x) {
    (void)x;
    struct timespec until = in_4s();
    pthread_mutex_lock(&m);
    while (pthread_cond_timedwait(&never, &m, &until) != ETIMEDOUT) {}
    pthread_mutex_unlock(&m);
    return NULL;
}
static void *sem_sleeper(void *x) {
    (void)x;
    struct timespec until = in_4s();
    while (sem_timedwait(&sem, &until) != 0 && errno != ETIMEDOUT) {}
    return NULL;
}
int main(void) {
    pthread_t a, b;
    CHECK(sem_init(&sem, 0, 0));
    CHECK(pthread_create(&a, NULL, cond_sleeper, NULL));
    CHECK(pthread_create(&b, NULL, sem_sleeper, NULL));
    struct timespec ts = { 4, 0 };
    nanosleep(&ts, NULL);
    CHECK(pthread_join(a, NULL));
    CHECK(pthread_join(b, NULL));
    return 0;
}
