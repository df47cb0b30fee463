/* A thread dies holding a robust mutex; the next locker gets EOWNERDEAD,
 * repairs, calls pthread_mutex_consistent and goes on. Correct: no report
 * (TSan, Helgrind and DRD all report something here).
 * EXPECT: none */
#include "probe.h"
#include <errno.h>
static pthread_mutex_t m;
static void *die_holding(void *x) { (void)x; pthread_mutex_lock(&m); return NULL; }
int main(void) {
    pthread_mutexattr_t at;
    CHECK(pthread_mutexattr_init(&at)); CHECK(pthread_mutexattr_setrobust(&at, PTHREAD_MUTEX_ROBUST));
    CHECK(pthread_mutex_init(&m, &at));
    run_thread(die_holding, NULL);
    int err = pthread_mutex_lock(&m);
    if (err != EOWNERDEAD) return 1;
    CHECK(pthread_mutex_consistent(&m));
    CHECK(pthread_mutex_unlock(&m));
    CHECK(pthread_mutex_lock(&m));
    CHECK(pthread_mutex_unlock(&m));
    return 0;
}
