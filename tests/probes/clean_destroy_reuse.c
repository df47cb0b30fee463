/* T1 takes A then B. A is destroyed and a new mutex is set up at the same
 * address; T2 takes B then the new one. Different locks: no cycle.
 * EXPECT: none */
#include "probe.h"
static pthread_mutex_t slot, b = PTHREAD_MUTEX_INITIALIZER;
static void *ab(void *x) { (void)x; pthread_mutex_lock(&slot); pthread_mutex_lock(&b); pthread_mutex_unlock(&b); pthread_mutex_unlock(&slot); return NULL; }
static void *ba(void *x) { (void)x; pthread_mutex_lock(&b); pthread_mutex_lock(&slot); pthread_mutex_unlock(&slot); pthread_mutex_unlock(&b); return NULL; }
int main(void) {
    CHECK(pthread_mutex_init(&slot, NULL)); run_thread(ab, NULL);
    CHECK(pthread_mutex_destroy(&slot));
    CHECK(pthread_mutex_init(&slot, NULL)); run_thread(ba, NULL);
    return 0;
}
