/* T2 takes A, then twelve locks by trylock, then blocks on X: no edge leads
 * into a lock taken by trylock, so the dependency A -> X must get its own
 * edge even though A is deeper than the few locks nearest the top. T3
 * takes X then A.
 * EXPECT: lock-order-inversion */
#include "probe.h"
#define N 12
static pthread_mutex_t a = PTHREAD_MUTEX_INITIALIZER, x = PTHREAD_MUTEX_INITIALIZER, t[N];
static void *forward(void *p) {
    (void)p;
    pthread_mutex_lock(&a);
    for (int i = 0; i < N; i++) CHECK(pthread_mutex_trylock(&t[i]));
    pthread_mutex_lock(&x); pthread_mutex_unlock(&x);
    for (int i = N - 1; i >= 0; i--) pthread_mutex_unlock(&t[i]);
    pthread_mutex_unlock(&a);
    return NULL;
}
static void *back(void *p) {
    (void)p;
    pthread_mutex_lock(&x); pthread_mutex_lock(&a); pthread_mutex_unlock(&a); pthread_mutex_unlock(&x);
    return NULL;
}
int main(void) {
    for (int i = 0; i < N; i++) CHECK(pthread_mutex_init(&t[i], NULL));
    run_thread(forward, NULL); run_thread(back, NULL);
    return 0;
}
