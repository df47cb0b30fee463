/* Eight threads allocate and free while taking two locks in one order, and
 * the main thread joins them: a clean program that exercises the
 * allocator from many threads at once (tests/test_allocators.py also runs
 * it with jemalloc and tcmalloc preloaded, in both orders).
 * EXPECT: none */
#include "probe.h"
#include <string.h>
#define THREADS 8
#define ROUNDS 2000
static pthread_mutex_t a = PTHREAD_MUTEX_INITIALIZER, b = PTHREAD_MUTEX_INITIALIZER;
static void *slots[64];
static void *work(void *x) {
    unsigned seed = (unsigned)(size_t)x;
    for (int i = 0; i < ROUNDS; i++) {
        seed = seed * 1103515245u + 12345u;
        size_t size = 16 + (seed >> 16) % 4096;
        void *p = malloc(size);
        if (!p) { fprintf(stderr, "out of memory\n"); exit(3); }
        memset(p, 0x5a, size);
        pthread_mutex_lock(&a);
        pthread_mutex_lock(&b);
        void *old = slots[seed % 64];
        slots[seed % 64] = p;
        pthread_mutex_unlock(&b);
        pthread_mutex_unlock(&a);
        free(old);
    }
    return NULL;
}
int main(void) {
    pthread_t t[THREADS];
    for (size_t i = 0; i < THREADS; i++) CHECK(pthread_create(&t[i], NULL, work, (void *)(i + 1)));
    for (int i = 0; i < THREADS; i++) CHECK(pthread_join(t[i], NULL));
    for (int i = 0; i < 64; i++) free(slots[i]);
    puts("clean_malloc_threads: done");
    return 0;
}
