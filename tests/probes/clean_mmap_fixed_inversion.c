/* As clean_munmap_inversion, but the fresh mapping replaces the old one
 * with MAP_FIXED, without a munmap: the old mutexes are gone all the same.
 * EXPECT: none */
#include "probe.h"
#include <sys/mman.h>
static pthread_mutex_t *a, *b;
static void *nest(void *rev) {
    pthread_mutex_t *x = rev ? b : a, *y = rev ? a : b;
    pthread_mutex_lock(x); pthread_mutex_lock(y); pthread_mutex_unlock(y); pthread_mutex_unlock(x);
    return NULL;
}
int main(void) {
    void *map = mmap(NULL, 3 * 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (map == MAP_FAILED)
        return 3;
    char *p = map;
    a = (pthread_mutex_t *)map + 4096 / sizeof *a;
    b = a + 1;
    run_thread(nest, NULL);
    if (mmap(p + 4096, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED,
             -1, 0) != p + 4096)
        return 3;
    run_thread(nest, (void *)1);
    return 0;
}
