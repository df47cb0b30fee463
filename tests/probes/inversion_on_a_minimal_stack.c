/* The second half of an inversion is taken on a thread made with the
 * smallest stack glibc allows (PTHREAD_STACK_MIN, 16 KiB), under 16 other
 * mutexes: a chain that deep is stored at once, so the report is built
 * there, in the lock call. Building it (symbolising: the loader's lookups, addr2line's
 * pipes) took more stack than that: the thread died of SIGSEGV and the
 * report was lost. It is built on a stack of lockgraph's own now.
 * EXPECT: lock-order-inversion
 * REPORT: ^lock-order inversion.* \| at small_stack_thread$
 */
#include "probe.h"
#include <limits.h>
static pthread_mutex_t a = PTHREAD_MUTEX_INITIALIZER, b = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t under[16];
static void *small_stack_thread(void *arg) {
    (void)arg;
    for (int i = 0; i < 16; i++)
        CHECK(pthread_mutex_lock(&under[i]));
    CHECK(pthread_mutex_lock(&b));
    CHECK(pthread_mutex_lock(&a));
    CHECK(pthread_mutex_unlock(&a));
    CHECK(pthread_mutex_unlock(&b));
    for (int i = 16; i-- > 0;)
        CHECK(pthread_mutex_unlock(&under[i]));
    return NULL;
}
int main(void) {
    for (int i = 0; i < 16; i++)
        CHECK(pthread_mutex_init(&under[i], NULL));
    CHECK(pthread_mutex_lock(&a));
    CHECK(pthread_mutex_lock(&b));
    CHECK(pthread_mutex_unlock(&b));
    CHECK(pthread_mutex_unlock(&a));
    pthread_attr_t attr;
    CHECK(pthread_attr_init(&attr));
    CHECK(pthread_attr_setstacksize(&attr, PTHREAD_STACK_MIN));
    pthread_t th;
    CHECK(pthread_create(&th, &attr, small_stack_thread, NULL));
    CHECK(pthread_join(th, NULL));
    CHECK(pthread_attr_destroy(&attr));
    return 0;
}
