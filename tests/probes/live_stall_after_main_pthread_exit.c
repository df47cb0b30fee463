/* main ends with pthread_exit, and the one thread left waits on a
 * condition variable nobody will signal: a stall. The main thread stays in
 * /proc/self/task as a zombie until the process ends; it is not a thread
 * that could wake the waiter.
 * EXPECT: stall
 * OPTIONS: stall_ms=300 */
#include "probe.h"
static pthread_mutex_t m = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t never = PTHREAD_COND_INITIALIZER;
static void *waiter(void *x) {
    (void)x;
    CHECK(pthread_mutex_lock(&m));
    for (;;)
        CHECK(pthread_cond_wait(&never, &m));
}
int main(void) {
    pthread_t t;
    CHECK(pthread_create(&t, NULL, waiter, NULL));
    pthread_exit(NULL);
}
