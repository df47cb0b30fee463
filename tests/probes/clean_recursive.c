/* A recursive mutex re-taken by its owner, with another lock in between.
 * EXPECT: none */
#include "probe.h"
static pthread_mutex_t r = PTHREAD_RECURSIVE_MUTEX_INITIALIZER_NP, other = PTHREAD_MUTEX_INITIALIZER;
int main(void) {
    pthread_mutex_lock(&r); pthread_mutex_lock(&other); pthread_mutex_lock(&r);
    pthread_mutex_unlock(&r); pthread_mutex_unlock(&other); pthread_mutex_unlock(&r);
    return 0;
}
