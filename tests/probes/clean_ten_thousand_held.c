/* One thread holds 10,000 locks at once, nested in one order, three times
 * over, then another thread does the same: no limit, no report, and memory
 * and time stay small (bench_held measures them against native).
 * EXPECT: none */
#include "probe.h"
#define N 10000
static pthread_mutex_t m[N];
static void *nest(void *x) {
    (void)x;
    for (int r = 0; r < 3; r++) {
        for (int i = 0; i < N; i++) pthread_mutex_lock(&m[i]);
        for (int i = N - 1; i >= 0; i--) pthread_mutex_unlock(&m[i]);
    }
    return NULL;
}
int main(void) {
    for (int i = 0; i < N; i++) CHECK(pthread_mutex_init(&m[i], NULL));
    run_thread(nest, NULL); run_thread(nest, NULL);
    return 0;
}
