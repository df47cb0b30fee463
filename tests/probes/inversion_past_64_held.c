/* T2 holds 300 locks at once, nested L0 .. L299; later T3 takes L250 then
 * L120. Past 64 held locks an acquisition gets an edge from the lock right
 * below it only (as in lockdep), so L120 ~> L250 is a path of 130 edges
 * taken while holding L120: the inversion must still be found.
 * EXPECT: lock-order-inversion */
#include "probe.h"
#define N 300
static pthread_mutex_t m[N];
static void *nest(void *x) {
    (void)x;
    for (int i = 0; i < N; i++) pthread_mutex_lock(&m[i]);
    for (int i = N - 1; i >= 0; i--) pthread_mutex_unlock(&m[i]);
    return NULL;
}
static void *back(void *x) {
    (void)x;
    pthread_mutex_lock(&m[250]); pthread_mutex_lock(&m[120]);
    pthread_mutex_unlock(&m[120]); pthread_mutex_unlock(&m[250]);
    return NULL;
}
int main(void) {
    for (int i = 0; i < N; i++) CHECK(pthread_mutex_init(&m[i], NULL));
    run_thread(nest, NULL); run_thread(back, NULL);
    return 0;
}
