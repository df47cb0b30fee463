/* 400 threads alive at once, each nesting three locks in the same order.
 * EXPECT: none */
#include "probe.h"
#define T 400
static pthread_mutex_t a = PTHREAD_MUTEX_INITIALIZER, b = PTHREAD_MUTEX_INITIALIZER, c = PTHREAD_MUTEX_INITIALIZER;
static pthread_barrier_t all;
static void *work(void *x) {
    (void)x;
    pthread_barrier_wait(&all);
    for (int i = 0; i < 20; i++) {
        pthread_mutex_lock(&a); pthread_mutex_lock(&b); pthread_mutex_lock(&c);
        pthread_mutex_unlock(&c); pthread_mutex_unlock(&b); pthread_mutex_unlock(&a);
    }
    return NULL;
}
int main(void) {
    static pthread_t t[T];
    CHECK(pthread_barrier_init(&all, NULL, T));
    for (int i = 0; i < T; i++) CHECK(pthread_create(&t[i], NULL, work, NULL));
    for (int i = 0; i < T; i++) CHECK(pthread_join(t[i], NULL));
    return 0;
}
