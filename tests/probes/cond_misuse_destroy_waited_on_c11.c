/* cond_misuse_destroy_waited_on with C11's cnd_wait and cnd_destroy, which
 * glibc implements past the pthread symbols: the destroy of a condition
 * variable a thread is blocked on, unsignalled, is reported the same way.
 * EXPECT: cond-misuse
 * REPORT: T1 destroys c while 1 thread waits on it.* at main$
 */
#include "probe.h"
#include <stdbool.h>
#include <threads.h>
#include "asleep.h"
static cnd_t c;
static mtx_t m;
static bool waiting, done;
static atomic_int destroyer_tid;
static int waiter(void *x) {
    (void)x;
    CHECK(mtx_lock(&m) != thrd_success);
    waiting = true;
    while (!done)
        CHECK(cnd_wait(&c, &m) != thrd_success);
    CHECK(mtx_unlock(&m) != thrd_success);
    return 0;
}
static int end_it(void *x) {
    (void)x;
    wait_in_futex(&destroyer_tid, &((pthread_cond_t *)(void *)&c)->__data.__wrefs);
    exit(0);
}
int main(void) {
    thrd_t w, e;
    CHECK(mtx_init(&m, mtx_plain) != thrd_success);
    CHECK(cnd_init(&c) != thrd_success);
    CHECK(thrd_create(&w, waiter, NULL) != thrd_success);
    for (bool in = false; !in;) {
        CHECK(mtx_lock(&m) != thrd_success);
        in = waiting;
        CHECK(mtx_unlock(&m) != thrd_success);
    }
    CHECK(thrd_create(&e, end_it, NULL) != thrd_success);
    publish_tid(&destroyer_tid);
    cnd_destroy(&c);
    return 3; /* not reached: the destroy waits for ever */
}
