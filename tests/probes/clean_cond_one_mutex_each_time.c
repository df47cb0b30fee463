/* One condition variable used with mutex one, and later, once nobody waits
 * on it any more, with mutex two: allowed (the binding ends with the last
 * waiter). Also waits by several threads with the same mutex.
 * EXPECT: none */
#include "probe.h"
#include <stdbool.h>
static pthread_cond_t c = PTHREAD_COND_INITIALIZER;
static pthread_mutex_t one = PTHREAD_MUTEX_INITIALIZER, two = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t *using = &one;
static int arrived, generation;
static void *meet(void *x) {
    (void)x;
    pthread_mutex_t *m = using;
    CHECK(pthread_mutex_lock(m));
    int gen = generation;
    if (++arrived == 3) {
        arrived = 0;
        generation++;
        CHECK(pthread_cond_broadcast(&c));
    } else {
        while (gen == generation)
            CHECK(pthread_cond_wait(&c, m));
    }
    CHECK(pthread_mutex_unlock(m));
    return NULL;
}
static void round_of_three(void) {
    pthread_t t[3];
    for (int i = 0; i < 3; i++)
        CHECK(pthread_create(&t[i], NULL, meet, NULL));
    for (int i = 0; i < 3; i++)
        CHECK(pthread_join(t[i], NULL));
}
int main(void) {
    round_of_three();
    using = &two;
    round_of_three();
    return 0;
}
