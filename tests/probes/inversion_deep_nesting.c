/* T2 holds 40 locks at once, nested L0 .. L39; later T3 takes L39 then L0.
 * lockgraph adds edges only from the few locks nearest the top of a held
 * stack (a thread holding k locks would otherwise add k^2/2 edges), so the
 * dependency L0 -> L39 is a path through the locks between: it must still
 * be found.
 * EXPECT: lock-order-inversion */
#include "probe.h"
#define N 40
static pthread_mutex_t m[N];
static void *nest(void *x) {
    (void)x;
    for (int i = 0; i < N; i++) pthread_mutex_lock(&m[i]);
    for (int i = N - 1; i >= 0; i--) pthread_mutex_unlock(&m[i]);
    return NULL;
}
static void *back(void *x) {
    (void)x;
    pthread_mutex_lock(&m[N - 1]); pthread_mutex_lock(&m[0]);
    pthread_mutex_unlock(&m[0]); pthread_mutex_unlock(&m[N - 1]);
    return NULL;
}
int main(void) {
    for (int i = 0; i < N; i++) CHECK(pthread_mutex_init(&m[i], NULL));
    run_thread(nest, NULL); run_thread(back, NULL);
    return 0;
}
