/* A barrier of two is destroyed while a thread waits at it. glibc's
 * destroy then waits for a round that never ends, so once the destroyer is
 * blocked inside it a third thread ends the program with exit(0).
 * EXPECT: barrier-misuse */
#include "probe.h"
#include "asleep.h"
static pthread_barrier_t b;
static atomic_int waiter_tid, destroyer_tid;
/* glibc's barrier: the words `in` (offset 0) and `current_round` (4). */
#define IN_WORD ((const char *)&b)
#define ROUND_WORD ((const char *)&b + 4)
static void *wait_at(void *x) {
    (void)x;
    publish_tid(&waiter_tid);
    pthread_barrier_wait(&b);
    return NULL;
}
static void *end_it(void *x) {
    (void)x;
    wait_in_futex(&destroyer_tid, IN_WORD);
    exit(0);
}
int main(void) {
    CHECK(pthread_barrier_init(&b, NULL, 2));
    pthread_t w, e;
    CHECK(pthread_create(&w, NULL, wait_at, NULL));
    wait_in_futex(&waiter_tid, ROUND_WORD);
    CHECK(pthread_create(&e, NULL, end_it, NULL));
    publish_tid(&destroyer_tid);
    pthread_barrier_destroy(&b);
    return 3; /* not reached: the destroy waits for ever */
}
