/* pthread_cond_timedwait takes its mutex M again before returning. T1 holds
 * A while it waits on M's condition, so M is re-taken under A (A -> M);
 * T2 takes M then A (M -> A). The re-take inside the wait closes the cycle.
 * EXPECT: lock-order-inversion */
#include "probe.h"
#include <time.h>
static pthread_mutex_t m = PTHREAD_MUTEX_INITIALIZER, a = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t c = PTHREAD_COND_INITIALIZER;
static void *waiter(void *x) {
    (void)x;
    pthread_mutex_lock(&m);
    pthread_mutex_lock(&a);
    struct timespec ts; clock_gettime(CLOCK_REALTIME, &ts); ts.tv_nsec += 1000000;
    if (ts.tv_nsec >= 1000000000) { ts.tv_sec++; ts.tv_nsec -= 1000000000; }
    pthread_cond_timedwait(&c, &m, &ts);
    pthread_mutex_unlock(&a);
    pthread_mutex_unlock(&m);
    return NULL;
}
static void *ma(void *x) { (void)x; pthread_mutex_lock(&m); pthread_mutex_lock(&a); pthread_mutex_unlock(&a); pthread_mutex_unlock(&m); return NULL; }
int main(void) { run_thread(ma, NULL); run_thread(waiter, NULL); return 0; }
