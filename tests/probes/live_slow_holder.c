/* One thread holds a lock for 2.5 s (a long critical section); another
 * waits for it. Slow, not starved: nobody else got the lock meanwhile.
 * EXPECT: none */
#include "probe.h"
#include <time.h>
static pthread_mutex_t m = PTHREAD_MUTEX_INITIALIZER;
static pthread_barrier_t holding;
static void *holder(void *x) {
    (void)x;
    pthread_mutex_lock(&m);
    pthread_barrier_wait(&holding);
    struct timespec ts = { 2, 500000000 };
    nanosleep(&ts, NULL);
    pthread_mutex_unlock(&m);
    return NULL;
}
int main(void) {
    pthread_t t;
    CHECK(pthread_barrier_init(&holding, NULL, 2));
    CHECK(pthread_create(&t, NULL, holder, NULL));
    pthread_barrier_wait(&holding);
    pthread_mutex_lock(&m);
    pthread_mutex_unlock(&m);
    CHECK(pthread_join(t, NULL));
    return 0;
}
