/* Two mutexes live in an anonymous mapping (zero memory is a statically
 * initialised mutex, so lockgraph sees no init). A thread takes a -> b; the
 * mapping is unmapped, a fresh one is mapped at the same address, and a
 * thread takes the new b -> a. Other mutexes: no cycle.
 * EXPECT: none */
#include "probe.h"
#include <sys/mman.h>
static pthread_mutex_t *a, *b;
static void *nest(void *rev) {
    pthread_mutex_t *x = rev ? b : a, *y = rev ? a : b;
    pthread_mutex_lock(x); pthread_mutex_lock(y); pthread_mutex_unlock(y); pthread_mutex_unlock(x);
    return NULL;
}
static void place(void *where, int flags) {
    void *p = mmap(where, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | flags, -1, 0);
    if (p == MAP_FAILED || (where && p != where)) {
        perror("mmap");
        exit(3);
    }
    a = p;
    b = a + 1;
}
int main(void) {
    place(NULL, 0);
    void *at = a;
    run_thread(nest, NULL);
    CHECK(munmap(at, 4096));
    place(at, MAP_FIXED_NOREPLACE);
    run_thread(nest, (void *)1);
    return 0;
}
