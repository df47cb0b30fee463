/* A condition variable is destroyed while a thread waits on it and nothing
 * has signalled it since that wait began (DRD's suite has this case).
 * POSIX: undefined. glibc's pthread_cond_destroy then waits until the
 * waiter leaves, which here is never, so once the destroyer is blocked in
 * it a third thread ends the program with exit(0).
 * EXPECT: cond-misuse
 * REPORT: T1 destroys c while 1 thread waits on it and no signal or broadcast has come since its wait began.* at main$
 */
#include "probe.h"
#include <stdbool.h>
#include "asleep.h"
static pthread_cond_t c = PTHREAD_COND_INITIALIZER;
static pthread_mutex_t m = PTHREAD_MUTEX_INITIALIZER;
static bool waiting, done;
static atomic_int destroyer_tid;
static void *waiter(void *x) {
    (void)x;
    CHECK(pthread_mutex_lock(&m));
    waiting = true;
    while (!done)
        CHECK(pthread_cond_wait(&c, &m));
    CHECK(pthread_mutex_unlock(&m));
    return NULL;
}
static void *end_it(void *x) {
    (void)x;
    /* glibc's destroy sleeps on the cond's waiter count, __wrefs. */
    wait_in_futex(&destroyer_tid, &c.__data.__wrefs);
    exit(0);
}
int main(void) {
    pthread_t w, e;
    CHECK(pthread_create(&w, NULL, waiter, NULL));
    /* m is free again only once the waiter is inside its wait. */
    for (bool in = false; !in;) {
        CHECK(pthread_mutex_lock(&m));
        in = waiting;
        CHECK(pthread_mutex_unlock(&m));
    }
    CHECK(pthread_create(&e, NULL, end_it, NULL));
    publish_tid(&destroyer_tid);
    pthread_cond_destroy(&c);
    return 3; /* not reached: the destroy waits for ever */
}
