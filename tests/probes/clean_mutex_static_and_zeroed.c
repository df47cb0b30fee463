/* Mutexes lockgraph never saw set up: a static initializer, zeroed heap
 * memory, and one destroyed and then set up again by assignment. All are
 * valid mutexes.
 * EXPECT: none */
#include "probe.h"
#include <string.h>
static pthread_mutex_t fixed = PTHREAD_MUTEX_INITIALIZER;
int main(void) {
    pthread_mutex_t *zeroed = calloc(1, sizeof *zeroed), again;
    if (!zeroed)
        return 3;
    CHECK(pthread_mutex_lock(&fixed));
    CHECK(pthread_mutex_unlock(&fixed));
    CHECK(pthread_mutex_lock(zeroed));
    CHECK(pthread_mutex_unlock(zeroed));
    CHECK(pthread_mutex_init(&again, NULL));
    CHECK(pthread_mutex_destroy(&again));
    again = (pthread_mutex_t)PTHREAD_MUTEX_INITIALIZER;
    CHECK(pthread_mutex_lock(&again));
    CHECK(pthread_mutex_unlock(&again));
    CHECK(pthread_mutex_destroy(&again));
    free(zeroed);
    return 0;
}
