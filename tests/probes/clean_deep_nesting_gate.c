/* Both threads take a gate lock G first, then 40 locks: T2 in order
 * L0 .. L39, T3 takes L39 then L0. Every dependency of the cycle was taken
 * under G, so the two can never be inside it at once (GoodLock's gate
 * rule): nothing to report, even though the dependency L0 -> L39 is a
 * path through the locks between.
 * EXPECT: none */
#include "probe.h"
#define N 40
static pthread_mutex_t g = PTHREAD_MUTEX_INITIALIZER, m[N];
static void *nest(void *x) {
    (void)x;
    pthread_mutex_lock(&g);
    for (int i = 0; i < N; i++) pthread_mutex_lock(&m[i]);
    for (int i = N - 1; i >= 0; i--) pthread_mutex_unlock(&m[i]);
    pthread_mutex_unlock(&g);
    return NULL;
}
static void *back(void *x) {
    (void)x;
    pthread_mutex_lock(&g);
    pthread_mutex_lock(&m[N - 1]); pthread_mutex_lock(&m[0]);
    pthread_mutex_unlock(&m[0]); pthread_mutex_unlock(&m[N - 1]);
    pthread_mutex_unlock(&g);
    return NULL;
}
int main(void) {
    for (int i = 0; i < N; i++) CHECK(pthread_mutex_init(&m[i], NULL));
    run_thread(nest, NULL); run_thread(back, NULL);
    return 0;
}
