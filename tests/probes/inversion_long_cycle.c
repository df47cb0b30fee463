/* 30 threads take locks (i, i+1 mod 30): one cycle through 30 locks, longer
 * than TSan's limit of 20. Reported once.
 * EXPECT: lock-order-inversion */
#include "probe.h"
#define N 30
static pthread_mutex_t m[N];
static void *pair(void *x) {
    int i = (int)(long)x;
    pthread_mutex_lock(&m[i]); pthread_mutex_lock(&m[(i + 1) % N]);
    pthread_mutex_unlock(&m[(i + 1) % N]); pthread_mutex_unlock(&m[i]);
    return NULL;
}
int main(void) {
    for (int i = 0; i < N; i++) CHECK(pthread_mutex_init(&m[i], NULL));
    for (long i = 0; i < N; i++) run_thread(pair, (void *)i);
    return 0;
}
