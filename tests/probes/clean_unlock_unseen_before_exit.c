/* A thread takes a mutex, then releases it through a path lockgraph does
 * not see (the C library's own pthread_mutex_unlock, found with dlvsym:
 * what a library bound to glibc directly does), and exits. lockgraph still
 * believed the mutex held, and reported an abandoned lock that the mutex
 * itself contradicts (main takes it at once with trylock). The lock word
 * is asked before the report.
 * EXPECT: none
 * PARITY: native */
#include "probe.h"
#include <dlfcn.h>
static pthread_mutex_t m = PTHREAD_MUTEX_INITIALIZER;
static int (*libc_unlock)(pthread_mutex_t *);
static void *worker(void *arg) {
    (void)arg;
    CHECK(pthread_mutex_lock(&m));
    CHECK(libc_unlock(&m));
    return NULL;
}
int main(void) {
    void *libc = dlopen("libc.so.6", RTLD_NOW | RTLD_NOLOAD);
    libc_unlock = libc ? (int (*)(pthread_mutex_t *))dlvsym(libc, "pthread_mutex_unlock",
                                                             "GLIBC_2.2.5")
                       : NULL;
    if (!libc_unlock)
        return 3;
    pthread_t th;
    CHECK(pthread_create(&th, NULL, worker, NULL));
    CHECK(pthread_join(th, NULL));
    int r = pthread_mutex_trylock(&m);
    printf("trylock after the worker: %d\n", r);
    if (r == 0)
        CHECK(pthread_mutex_unlock(&m));
    return r == 0 ? 0 : 3;
}
