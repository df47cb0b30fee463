/* Two threads, one after the other, take two mutexes in opposite orders in
 * their thread-specific-data destructors (a per-thread cache flushed into
 * shared tables at thread exit). The destructors run while the thread
 * exits; their locks are the thread's like any other, and the inversion is
 * reported.
 * EXPECT: lock-order-inversion
 * REPORT: ^lock-order inversion.* \| at flush$
 */
#include "probe.h"
static pthread_mutex_t a = PTHREAD_MUTEX_INITIALIZER, b = PTHREAD_MUTEX_INITIALIZER;
static pthread_key_t key;
static void flush(void *p) {
    bool a_first = *(bool *)p;
    pthread_mutex_t *first = a_first ? &a : &b, *second = a_first ? &b : &a;
    CHECK(pthread_mutex_lock(first));
    CHECK(pthread_mutex_lock(second));
    CHECK(pthread_mutex_unlock(second));
    CHECK(pthread_mutex_unlock(first));
}
static void *worker(void *p) {
    CHECK(pthread_setspecific(key, p));
    return NULL;
}
int main(void) {
    static bool orders[2] = { true, false };
    CHECK(pthread_key_create(&key, flush));
    for (int i = 0; i < 2; i++) {
        pthread_t t;
        CHECK(pthread_create(&t, NULL, worker, &orders[i]));
        CHECK(pthread_join(t, NULL));
    }
    return 0;
}
