/* A barrier of two is initialised again while a thread waits at it; then
 * the program ends (exit with the waiter still blocked).
 * EXPECT: barrier-misuse */
#include "probe.h"
#include "asleep.h"
static pthread_barrier_t b;
static atomic_int waiter_tid;
static void *wait_at(void *x) {
    (void)x;
    publish_tid(&waiter_tid);
    pthread_barrier_wait(&b);
    return NULL;
}
int main(void) {
    CHECK(pthread_barrier_init(&b, NULL, 2));
    pthread_t w;
    CHECK(pthread_create(&w, NULL, wait_at, NULL));
    wait_in_futex(&waiter_tid, (const char *)&b + 4); /* glibc's current_round */
    CHECK(pthread_barrier_init(&b, NULL, 2));
    exit(0);
}
