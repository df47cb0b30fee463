/* 150000 live mutexes, each taken under one global lock by 4 threads, then
 * all destroyed: bounded memory, no report.
 * EXPECT: none */
#include "probe.h"
#define N 150000
static pthread_mutex_t *m;
static pthread_mutex_t global = PTHREAD_MUTEX_INITIALIZER;
static void *walk(void *x) {
    long k = (long)x;
    for (long i = k; i < N; i += 4) {
        pthread_mutex_lock(&global); pthread_mutex_lock(&m[i]);
        pthread_mutex_unlock(&m[i]); pthread_mutex_unlock(&global);
    }
    return NULL;
}
int main(void) {
    m = calloc(N, sizeof *m);
    if (!m) return 1;
    for (long i = 0; i < N; i++) CHECK(pthread_mutex_init(&m[i], NULL));
    pthread_t t[4];
    for (long k = 0; k < 4; k++) CHECK(pthread_create(&t[k], NULL, walk, (void *)k));
    for (int k = 0; k < 4; k++) CHECK(pthread_join(t[k], NULL));
    for (long i = 0; i < N; i++) CHECK(pthread_mutex_destroy(&m[i]));
    free(m);
    return 0;
}
