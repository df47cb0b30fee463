/* A real deadlock through three kinds of lock: a mutex, an rwlock taken for
 * writing and a spinlock, one held by each of three threads.
 * EXPECT: deadlock,lock-order-inversion */
#include "probe.h"
static pthread_mutex_t m = PTHREAD_MUTEX_INITIALIZER;
static pthread_rwlock_t rw = PTHREAD_RWLOCK_INITIALIZER;
static pthread_spinlock_t s;
static pthread_barrier_t all;
static void *t1(void *x) { (void)x; pthread_mutex_lock(&m); pthread_barrier_wait(&all); pthread_rwlock_wrlock(&rw); return NULL; }
static void *t2(void *x) { (void)x; pthread_rwlock_wrlock(&rw); pthread_barrier_wait(&all); pthread_spin_lock(&s); return NULL; }
static void *t3(void *x) { (void)x; pthread_spin_lock(&s); pthread_barrier_wait(&all); pthread_mutex_lock(&m); return NULL; }
int main(void) {
    pthread_t t[3];
    CHECK(pthread_spin_init(&s, 0));
    CHECK(pthread_barrier_init(&all, NULL, 3));
    CHECK(pthread_create(&t[0], NULL, t1, NULL)); CHECK(pthread_create(&t[1], NULL, t2, NULL)); CHECK(pthread_create(&t[2], NULL, t3, NULL));
    for (int i = 0; i < 3; i++) pthread_join(t[i], NULL);
    return 0;
}
