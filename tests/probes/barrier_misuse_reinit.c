/* A barrier initialised twice without a destroy in between (undefined).
 * EXPECT: barrier-misuse */
#include "probe.h"
int main(void) {
    pthread_barrier_t b;
    CHECK(pthread_barrier_init(&b, NULL, 1));
    CHECK(pthread_barrier_wait(&b) == PTHREAD_BARRIER_SERIAL_THREAD ? 0 : 1);
    CHECK(pthread_barrier_init(&b, NULL, 1));
    CHECK(pthread_barrier_destroy(&b));
    return 0;
}
