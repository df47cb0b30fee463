/* One thread holds 200 locks at once (TSan gives up at 64), nested in one
 * order, then another thread does the same: no limit, no report.
 * EXPECT: none */
#include "probe.h"
#define N 200
static pthread_mutex_t m[N];
static void *nest(void *x) {
    (void)x;
    for (int i = 0; i < N; i++) pthread_mutex_lock(&m[i]);
    for (int i = N - 1; i >= 0; i--) pthread_mutex_unlock(&m[i]);
    return NULL;
}
int main(void) {
    for (int i = 0; i < N; i++) CHECK(pthread_mutex_init(&m[i], NULL));
    run_thread(nest, NULL); run_thread(nest, NULL);
    return 0;
}
