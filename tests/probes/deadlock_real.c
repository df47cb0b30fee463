/* Two threads really deadlock: each holds one lock and waits for the other.
 * lockgraph first sees the inverted order, then the wait-for cycle, and
 * exits 66 within about a second instead of hanging.
 * EXPECT: deadlock,lock-order-inversion */
#include "probe.h"
static pthread_mutex_t a = PTHREAD_MUTEX_INITIALIZER, b = PTHREAD_MUTEX_INITIALIZER;
static pthread_barrier_t both;
static void *ab(void *x) { (void)x; pthread_mutex_lock(&a); pthread_barrier_wait(&both); pthread_mutex_lock(&b); return NULL; }
static void *ba(void *x) { (void)x; pthread_mutex_lock(&b); pthread_barrier_wait(&both); pthread_mutex_lock(&a); return NULL; }
int main(void) {
    pthread_t t1, t2;
    CHECK(pthread_barrier_init(&both, NULL, 2));
    CHECK(pthread_create(&t1, NULL, ab, NULL)); CHECK(pthread_create(&t2, NULL, ba, NULL));
    pthread_join(t1, NULL); pthread_join(t2, NULL);
    return 0;
}
