/* Three threads meet at a barrier of two: two pass, the third starts a new
 * round nobody else will join, and main waits for it in pthread_join. A
 * stall, and the report must be about the barrier (its count, how many
 * wait at it), not about main's join.
 * OPTIONS: stall_ms=300
 * REPORT: \(T[234]: barrier b \(count 2, 1 waiting\), T1: pthread_join\).* at meet$
 * EXPECT: stall */
#include "probe.h"
static pthread_barrier_t b;
static void *meet(void *x) { pthread_barrier_wait(&b); return x; }
int main(void) {
    CHECK(pthread_barrier_init(&b, NULL, 2));
    pthread_t t[3];
    for (int i = 0; i < 3; i++)
        CHECK(pthread_create(&t[i], NULL, meet, NULL));
    for (int i = 0; i < 3; i++)
        CHECK(pthread_join(t[i], NULL));
    return 0;
}
