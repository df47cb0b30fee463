/* A barrier of three used for several rounds, destroyed once everyone has
 * left, then set up again with another count and used: all allowed.
 * EXPECT: none */
#include "probe.h"
static pthread_barrier_t b;
static void *rounds(void *x) {
    for (int i = 0; i < 5; i++)
        pthread_barrier_wait(&b);
    return x;
}
static void run(unsigned n) {
    pthread_t t[4];
    CHECK(pthread_barrier_init(&b, NULL, n));
    for (unsigned i = 0; i < n; i++)
        CHECK(pthread_create(&t[i], NULL, rounds, NULL));
    for (unsigned i = 0; i < n; i++)
        CHECK(pthread_join(t[i], NULL));
    CHECK(pthread_barrier_destroy(&b));
}
int main(void) {
    run(3);
    run(2);
    return 0;
}
